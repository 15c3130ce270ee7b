// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig: save, restore and live-migrate devices through the vfio-mig
 * migration region.  See vfio-mig(1).
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrate.h"
#include "mtty-mig.h"
#include "workload.h"

/* Exit codes (vfio-mig(1), EXIT STATUS), after sysexits.h. */
enum {
	EX_OK = 0,
	EX_VERIFY = 1,		/* the workload found a difference */
	EX_USAGE = 64,		/* bad command line */
	EX_DATAERR = 65,	/* a saved device is bad, truncated, foreign */
	EX_UNAVAILABLE = 69,	/* a device cannot be used */
	EX_OSERR = 71,		/* a system call failed (fork, socket, ...) */
	EX_IOERR = 74,		/* a file, pipe or connection failed */
	EX_PROTOCOL = 76,	/* the destination refused the device stream */
};

#define MS_MAX		3600000u	/* an hour, for every MS option */
#define GUEST_MAX	(1ULL << 40)	/* what a saved device may carry */

static struct {
	bool json, quiet, progress, split, mmap, workload;
	double max_downtime_ms;
	uint64_t threshold;
	unsigned int max_iterations;
	unsigned int warmup_ms, verify_ms, mem_rate;
	unsigned int tcp_port;
	size_t guest_size;
} opt = {
	.mmap = true,
	.max_downtime_ms = 300,
	.max_iterations = 30,
	.warmup_ms = 1000,
	.verify_ms = 500,
	.mem_rate = 8,
};

static const char *prog = "vfio-mig";

/* What every JSON object names: the command and both devices. */
static struct {
	FILE *out;		/* stdout, or stderr when stdout has the data */
	const char *command;	/* NULL until known */
	char src[37], dst[37];	/* lower-case UUIDs; "" is null */
} js;

static void usage(FILE *f)
{
	fprintf(f,
"usage: vfio-mig [OPTIONS] COMMAND ARGS\n"
"\n"
"Save, restore and live-migrate VFIO mdev devices through the vfio-mig\n"
"migration region.  DEVICE is an mdev UUID (any case) or its sysfs path.\n"
"\n"
"Commands:\n"
"  info DEVICE              the region, its mode, the state and pending data\n"
"  save DEVICE FILE         save the device live into FILE ('-': stdout, not\n"
"                           a terminal); FILE is replaced only on success\n"
"  restore DEVICE FILE      restore the device from FILE ('-': stdin)\n"
"  migrate SRC DST          live-migrate SRC to DST (same process; see --split,\n"
"                           --tcp), optionally under a workload\n"
"  workload DEVICE          run the mtty-mig workload on DEVICE for a while\n"
"  check SRC DST            would DST accept SRC's stream? (migration/version\n"
"                           and migration/check in sysfs; exit 0 or 76)\n"
"\n"
"Options (numbers are decimal; BYTES take a K, M, G or T suffix):\n"
"  --max-downtime MS        stop pre-copy once the rest fits in MS (default 300)\n"
"  --threshold BYTES        ... and at most BYTES of device data remain (default 0)\n"
"  --max-iterations N       pre-copy passes at most, 1 or more (default 30)\n"
"  --workload               migrate: run the workload on SRC, continue and verify\n"
"                           it on DST (mtty-mig devices)\n"
"  --warmup MS              workload time before migrating (default 1000)\n"
"  --verify MS              workload time on DST after migrating (default 500)\n"
"  --split                  migrate: DST in a second process, over a pipe\n"
"  --tcp PORT               migrate: DST in a second process, over 127.0.0.1:PORT\n"
"                           (1 to 65535)\n"
"  --guest-mem BYTES        guest memory to map for DMA (a multiple of 4096,\n"
"                           at most 1T)\n"
"  --no-mmap                use pread/pwrite even when mmap is offered\n"
"  --json                   print the outcome, errors too, as one JSON object\n"
"  -q, --quiet              no progress line\n"
"  -h, --help               this text\n"
"  --version                the version, and the loaded engine's if any\n"
"MS is at most 3600000 (an hour).\n"
"\n"
"Exit status: 0 success, 1 verification failed, 64 usage, 65 bad saved\n"
"device, 69 device unusable, 71 system error, 74 I/O error, 76 destination\n"
"refused the stream.\n");
}

/*
 * Print @s as a JSON string: quotes, backslashes and controls escaped,
 * bytes that are not UTF-8 replaced by U+FFFD.
 */
static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', js.out);
	while (*p) {
		int n = *p < 0x80 ? 0 : *p >= 0xc2 && *p < 0xe0 ? 1 :
			*p >= 0xe0 && *p < 0xf0 ? 2 :
			*p >= 0xf0 && *p < 0xf5 ? 3 : -1;
		int i;

		for (i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = -1;
		if (n < 0) {
			fputs("\\ufffd", js.out);
			p++;
		} else if (*p == '"' || *p == '\\') {
			fprintf(js.out, "\\%c", *p++);
		} else if (*p < 0x20) {
			fprintf(js.out, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n + 1, js.out);
			p += n + 1;
		}
	}
	fputc('"', js.out);
}

static void json_str_or_null(const char *s)
{
	if (s && *s)
		json_str(s);
	else
		fputs("null", js.out);
}

/* {"ok":..,"command":..,"source":..,"destination":..: the fields follow. */
static void json_begin(bool ok)
{
	fprintf(js.out, "{\"ok\":%s,\"command\":", ok ? "true" : "false");
	json_str_or_null(js.command);
	fputs(",\"source\":", js.out);
	json_str_or_null(js.src);
	fputs(",\"destination\":", js.out);
	json_str_or_null(js.dst);
}

static void json_u64(const char *key, uint64_t v)
{
	fprintf(js.out, ",\"%s\":%llu", key, (unsigned long long)v);
}

/* A time in milliseconds; a negative one is not known: null. */
static void json_ms(const char *key, double ms)
{
	if (ms < 0)
		fprintf(js.out, ",\"%s\":null", key);
	else
		fprintf(js.out, ",\"%s\":%.3f", key, ms);
}

static void json_bool(const char *key, bool v)
{
	fprintf(js.out, ",\"%s\":%s", key, v ? "true" : "false");
}

static void json_key_str(const char *key, const char *s)
{
	fprintf(js.out, ",\"%s\":", key);
	json_str_or_null(s);
}

static void json_end(void)
{
	fputs("}\n", js.out);
}

/*
 * Fail with exit @code: one line on stderr, and with --json one object
 * with the message, the exit code and the name of @err (an errno, or 0).
 */
static void die(int code, int err, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

static void die(int code, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (opt.json) {
		json_begin(false);
		json_u64("exit", code);
		json_key_str("errno", err ? strerrorname_np(err) : NULL);
		json_key_str("error", msg);
		json_end();
	}
	if (!opt.json || js.out != stderr)
		fprintf(stderr, "%s: %s\n", prog, msg);
	exit(code);
}

/* The first command-line error; reported once --json is known. */
static char usage_error[512];

static void bad_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void bad_usage(const char *fmt, ...)
{
	va_list ap;

	if (usage_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(usage_error, sizeof(usage_error), fmt, ap);
	va_end(ap);
}

/*
 * The argument @s of option @name: decimal digits only (no sign, no octal,
 * no hex), with @sizes a K, M, G or T suffix (powers of 1024), and in
 * [@min, @max].  A bad one is a usage error, and @min is returned.
 */
static uint64_t parse_number(const char *name, const char *s, uint64_t min,
			     uint64_t max, bool sizes)
{
	const char *p = s;
	uint64_t v = 0;
	int shift = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (*p - '0')) / 10)
			goto range;
		v = v * 10 + (*p - '0');
	}
	if (sizes && p > s && *p && !p[1]) {
		const char *units = "KMGT", *u = strchr(units, *p & ~0x20);

		if (u && *u) {
			shift = 10 * (int)(u - units + 1);
			p++;
		}
	}
	if (p == s || *p) {
		bad_usage("%s: '%s' is not a decimal number%s", name, s,
			  sizes ? " (with an optional K, M, G or T suffix)" : "");
		return min;
	}
	if (v > UINT64_MAX >> shift)
		goto range;
	v <<= shift;
	if (v >= min && v <= max)
		return v;
range:
	bad_usage("%s: %s is out of range (%llu to %llu)", name, s,
		  (unsigned long long)min, (unsigned long long)max);
	return min;
}

/* Is any mdev parent device registered? */
static bool have_mdev_parent(void)
{
	DIR *dir = opendir("/sys/class/mdev_bus");
	struct dirent *e;
	bool any = false;

	while (dir && !any && (e = readdir(dir)))
		any = e->d_name[0] != '.';
	if (dir)
		closedir(dir);
	return any;
}

static void open_dev(struct vmig_dev *d, const char *id, size_t guest)
{
	int err = vmig_open(d, id, guest, opt.mmap);

	if (err == -ENOENT && !have_mdev_parent())
		die(EX_UNAVAILABLE, ENOENT,
		    "%s: no mdev bus: are the modules loaded? (no parent device in /sys/class/mdev_bus)",
		    id);
	if (err)
		die(EX_UNAVAILABLE, -err, "%s", vmig_error());
}

/* Guest memory for @id: the option, or what its workload needs. */
static size_t guest_for(const char *id)
{
	struct vmig_dev d;
	size_t g;

	if (opt.guest_size)
		return opt.guest_size;
	open_dev(&d, id, 0);
	g = workload_guest_size(mttym_mem_size(vmig_region_size(&d,
							       MTTYM_MEM_REGION)));
	vmig_close(&d);
	return g;
}

static void show_progress(void *ctx, const struct vmig_stats *st,
			  uint64_t pending)
{
	(void)ctx;
	if (!opt.progress)
		return;
	fprintf(stderr,
		"\r  pass %u: %.1f MiB sent, %.1f KiB pending, %.1f MiB/s   ",
		st->iterations, (st->device_pre +
				 st->guest_pages_pre * (double)VMIG_PAGE) / 1048576.0,
		pending / 1024.0, st->bandwidth / 1048576.0);
}

static const struct vmig_policy *policy(void)
{
	static struct vmig_policy p;

	p.max_downtime_ms = opt.max_downtime_ms;
	p.threshold = opt.threshold;
	p.max_iterations = opt.max_iterations;
	return &p;
}

/* A failed vmig_save() or vmig_load(): the stream's I/O, or the device. */
static int stream_exit(const struct vmig_io *io, int device_code)
{
	return io->err ? EX_IOERR : device_code;
}

static int cmd_info(const char *id)
{
	uint64_t pend[3];
	uint32_t state;
	struct vmig_dev d;
	int err;

	open_dev(&d, id, 0);
	err = vmig_get_state(&d, &state);
	if (!err)
		err = vmig_pending(&d, pend);
	if (err)
		die(EX_UNAVAILABLE, -err, "%s: %s", d.uuid, vmig_error());
	if (opt.json) {
		json_begin(true);
		json_key_str("type", d.type);
		json_u64("region", d.index);
		json_u64("region_size", d.region_size);
		json_u64("data_offset", d.data_off);
		json_u64("data_size", d.data_size);
		json_bool("mmap", d.mmap);
		json_key_str("state", vmig_state_name(state));
		fprintf(js.out, ",\"pending\":{\"precopy_only\":%llu,"
			"\"compatible\":%llu,\"postcopy_only\":%llu}",
			(unsigned long long)pend[0],
			(unsigned long long)pend[1],
			(unsigned long long)pend[2]);
		json_end();
	} else {
		printf("device    %s (%s)\n"
		       "region    %u, %llu bytes, data section %llu bytes at %llu\n"
		       "mode      %s\n"
		       "state     %s\n"
		       "pending   precopy_only %llu, compatible %llu, postcopy_only %llu\n",
		       d.uuid, d.type, d.index,
		       (unsigned long long)d.region_size,
		       (unsigned long long)d.data_size,
		       (unsigned long long)d.data_off,
		       d.mmap ? "mmapped data section" : "trapped data section",
		       vmig_state_name(state), (unsigned long long)pend[0],
		       (unsigned long long)pend[1], (unsigned long long)pend[2]);
	}
	vmig_close(&d);
	return EX_OK;
}

/*
 * Where save writes: standard output, a file that is not a regular one
 * (a device, a FIFO) directly, or a temporary file beside the target
 * that replaces it only once the whole device is saved.
 */
struct output {
	const char *name;	/* as the user gave it */
	char target[PATH_MAX];	/* the file to replace */
	char tmp[PATH_MAX + 16];	/* "" when written directly */
	int fd;
};

/* The temporary file to remove if a signal ends the program. */
static const char *volatile tmp_on_signal;

static void remove_tmp_and_die(int sig)
{
	if (tmp_on_signal)
		unlink(tmp_on_signal);	/* async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int tmp_sigs[] = { SIGHUP, SIGINT, SIGTERM };

/* Block (@how SIG_BLOCK) or unblock the signals that remove the file. */
static void tmp_sigs_mask(int how)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(tmp_sigs) / sizeof(tmp_sigs[0]); i++)
		sigaddset(&set, tmp_sigs[i]);
	sigprocmask(how, &set, NULL);
}

static void remove_tmp_on_signals(const char *tmp)
{
	struct sigaction sa = { .sa_handler = remove_tmp_and_die };
	size_t i;

	tmp_on_signal = tmp;
	for (i = 0; i < sizeof(tmp_sigs) / sizeof(tmp_sigs[0]); i++)
		sigaction(tmp_sigs[i], &sa, NULL);
}

static const char no_tty[] =
	"save: refusing to write a saved device to a terminal; redirect standard output or name a FILE";

static void open_output(struct output *o, const char *file)
{
	const char *slash;
	struct stat st;
	int exists;

	memset(o, 0, sizeof(*o));
	o->name = file;
	o->fd = STDOUT_FILENO;
	if (!strcmp(file, "-"))
		return;
	/* Replace what a symbolic link points at, not the link. */
	if (!realpath(file, o->target))
		snprintf(o->target, sizeof(o->target), "%s", file);
	exists = !stat(o->target, &st);
	if (exists && !S_ISREG(st.st_mode)) {
		o->fd = open(o->target, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (o->fd < 0)
			die(EX_IOERR, errno, "%s: %s", file, strerror(errno));
		if (isatty(o->fd))
			die(EX_USAGE, 0, no_tty);
		return;
	}
	slash = strrchr(o->target, '/');
	snprintf(o->tmp, sizeof(o->tmp), "%.*s.%s.XXXXXX",
		 slash ? (int)(slash - o->target + 1) : 0, o->target,
		 slash ? slash + 1 : o->target);
	/* No signal between creating the file and arranging its removal. */
	tmp_sigs_mask(SIG_BLOCK);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd >= 0)
		remove_tmp_on_signals(o->tmp);
	tmp_sigs_mask(SIG_UNBLOCK);
	if (o->fd < 0)
		die(EX_IOERR, errno, "%s: cannot create a temporary file beside it: %s",
		    file, strerror(errno));
	if (exists && fchmod(o->fd, st.st_mode & 07777)) {
		int err = errno;

		unlink(o->tmp);
		die(EX_IOERR, err, "%s: %s", o->tmp, strerror(err));
	}
}

static void abort_output(struct output *o)
{
	if (o->tmp[0])
		unlink(o->tmp);
}

static void finish_output(struct output *o)
{
	int err = 0;

	if (o->fd == STDOUT_FILENO)
		return;
	if (o->tmp[0] && fsync(o->fd))
		err = errno;
	if (close(o->fd) && !err)
		err = errno;
	if (!err && o->tmp[0] && rename(o->tmp, o->target))
		err = errno;
	if (!err)
		tmp_on_signal = NULL;
	if (err) {
		abort_output(o);
		die(EX_IOERR, err, "%s: %s", o->name, strerror(err));
	}
}

/* The figures of a save, of a device into a file or a migration. */
static void json_save_stats(const struct vmig_stats *st)
{
	json_u64("iterations", st->iterations);
	json_bool("forced_stop", st->forced);
	json_u64("device_bytes_precopy", st->device_pre);
	json_u64("device_bytes_stop", st->device_stop);
	json_u64("guest_pages_precopy", st->guest_pages_pre);
	json_u64("guest_pages_stop", st->guest_pages_stop);
	json_ms("stop_copy_ms", st->stop_copy_ms);
	json_ms("total_ms", st->total_ms);
}

static int cmd_save(const char *id, const char *file)
{
	const struct vmig_hooks hooks = { .progress = show_progress };
	struct vmig_io io = { .fd = -1 };
	struct output out;
	struct vmig_stats st;
	struct vmig_dev d;
	int err;

	if (!strcmp(file, "-") && isatty(STDOUT_FILENO))
		die(EX_USAGE, 0, no_tty);
	open_dev(&d, id, opt.guest_size);
	open_output(&out, file);
	io.fd = out.fd;
	err = vmig_save(&d, &io, policy(), &st, &hooks);
	if (err) {
		abort_output(&out);
		die(stream_exit(&io, EX_UNAVAILABLE), -err,
		    "save failed (the device runs on): %s", vmig_error());
	}
	finish_output(&out);
	if (opt.progress)
		fprintf(stderr, "\n");
	if (opt.json) {
		json_begin(true);
		json_key_str("file", file);
		json_save_stats(&st);
		json_u64("bytes", st.bytes);
		json_end();
	} else if (!opt.quiet) {
		fprintf(stderr,
			"save: %u pre-copy pass%s%s; device %llu + %llu bytes, guest %llu + %llu pages; stop-and-copy %.1f ms\n",
			st.iterations, st.iterations == 1 ? "" : "es",
			st.forced ? " (stopped by the limit)" : "",
			(unsigned long long)st.device_pre,
			(unsigned long long)st.device_stop,
			(unsigned long long)st.guest_pages_pre,
			(unsigned long long)st.guest_pages_stop,
			st.stop_copy_ms);
	}
	vmig_close(&d);
	return EX_OK;
}

static int load_exit(const struct vmig_io *io, enum vmig_fault f)
{
	switch (f) {
	case VMIG_FAULT_INPUT:
		return stream_exit(io, EX_DATAERR);
	case VMIG_FAULT_REFUSED:
		return EX_PROTOCOL;
	case VMIG_FAULT_DEVICE:
		return EX_UNAVAILABLE;
	default:
		return EX_OK;
	}
}

static int cmd_restore(const char *id, const char *file)
{
	struct vmig_io io = { .fd = STDIN_FILENO };
	enum vmig_fault fault;
	struct vmig_stats st;
	struct vmig_dev d;
	int err;

	if (strcmp(file, "-")) {
		io.fd = open(file, O_RDONLY | O_CLOEXEC);
		if (io.fd < 0)
			die(EX_IOERR, errno, "%s: %s", file, strerror(errno));
	}
	open_dev(&d, id, opt.guest_size);
	err = vmig_load(&d, &io, &st, NULL, 0, &fault);
	if (err)
		die(load_exit(&io, fault), -err, "restore failed: %s",
		    vmig_error());
	if (opt.json) {
		json_begin(true);
		json_key_str("file", file);
		json_u64("bytes", st.bytes);
		json_u64("guest_pages", st.guest_pages_pre);
		json_ms("total_ms", st.total_ms);
		json_end();
	} else if (!opt.quiet) {
		fprintf(stderr, "restore: %llu bytes, %llu guest pages, %.1f ms; the device runs\n",
			(unsigned long long)st.bytes,
			(unsigned long long)st.guest_pages_pre, st.total_ms);
	}
	vmig_io_free(&io);
	vmig_close(&d);
	return EX_OK;
}

/* --- migrate --------------------------------------------------------------- */

/* What the destination reports, in memory shared with a second process. */
struct dst_report {
	double t_running;	/* when it ran; -1: it did not */
	int rc, err;		/* exit code, errno */
	char error[768];
};

struct dst_job {
	const char *id;
	int fd;
	struct vmig_dev dev;
	struct vmig_stats st;
	enum vmig_fault fault;
	char meta[1024];
	struct workload w;
	struct dst_report *rep;
};

static void pause_workload(void *ctx, char *meta, size_t len)
{
	workload_pause(ctx, meta, len);
}

/* The destination's side: load, then verify the workload if asked. */
static void run_destination(struct dst_job *j)
{
	struct vmig_io io = { .fd = j->fd };
	struct dst_report *r = j->rep;
	int err;

	err = vmig_load(&j->dev, &io, &j->st, j->meta, sizeof(j->meta),
			&j->fault);
	if (err) {
		r->rc = load_exit(&io, j->fault);
		r->err = -err;
		snprintf(r->error, sizeof(r->error),
			 "migration failed at the destination (the source runs on): %s",
			 vmig_error());
		/*
		 * Cut the stream: the source's next write fails, and it rolls
		 * back at once rather than after sending all it has.
		 */
		shutdown(j->fd, SHUT_RDWR);
	} else {
		r->t_running = j->st.t_running;
		if (opt.workload &&
		    workload_verify(&j->w, &j->dev, j->meta, opt.verify_ms)) {
			r->rc = EX_VERIFY;
			snprintf(r->error, sizeof(r->error),
				 "verification failed: %s", j->w.error);
		}
	}
	vmig_io_free(&io);
	close(j->fd);
}

static void *dst_thread(void *arg)
{
	run_destination(arg);
	return NULL;
}

/* The destination as a second process: open, load, report, exit. */
static void run_child(struct dst_job *j, size_t guest)
{
	int err = vmig_open(&j->dev, j->id, guest, opt.mmap);

	if (err) {
		j->rep->rc = EX_UNAVAILABLE;
		j->rep->err = -err;
		snprintf(j->rep->error, sizeof(j->rep->error),
			 "destination: %s", vmig_error());
		_exit(EX_UNAVAILABLE);
	}
	run_destination(j);
	_exit(j->rep->rc);
}

static int tcp_listen(unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (void *)&a, sizeof(a)) || listen(s, 1)) {
		close(s);
		return -1;
	}
	return s;
}

static int tcp_connect(unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s >= 0 && connect(s, (void *)&a, sizeof(a))) {
		close(s);
		s = -1;
	}
	return s;
}

static int cmd_migrate(const char *src_id, const char *dst_id)
{
	struct vmig_hooks hooks = { .progress = show_progress };
	static struct dst_job job;
	struct vmig_io io = { .fd = -1 };
	size_t guest = guest_for(src_id);
	struct vmig_stats st;
	struct workload w = { 0 };
	struct dst_report *rep;
	struct vmig_dev src;
	pthread_t th;
	pid_t child = -1;
	int sv[2], err, status;
	double downtime;

	open_dev(&src, src_id, guest);
	memset(&job, 0, sizeof(job));
	job.id = dst_id;
	rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED)
		die(EX_OSERR, errno, "mmap: %s", strerror(errno));
	rep->t_running = -1;
	job.rep = rep;

	if (opt.tcp_port) {
		int ls = tcp_listen(opt.tcp_port);

		if (ls < 0)
			die(EX_OSERR, errno, "listen on 127.0.0.1:%u: %s",
			    opt.tcp_port, strerror(errno));
		child = fork();
		if (child < 0)
			die(EX_OSERR, errno, "fork: %s", strerror(errno));
		if (child == 0) {
			vmig_close(&src);
			job.fd = accept(ls, NULL, NULL);
			close(ls);
			if (job.fd < 0) {
				rep->rc = EX_OSERR;
				rep->err = errno;
				snprintf(rep->error, sizeof(rep->error),
					 "destination: accept: %s",
					 strerror(errno));
				_exit(EX_OSERR);
			}
			run_child(&job, guest);
		}
		close(ls);
		io.fd = tcp_connect(opt.tcp_port);
		if (io.fd < 0)
			die(EX_OSERR, errno, "connect to 127.0.0.1:%u: %s",
			    opt.tcp_port, strerror(errno));
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			die(EX_OSERR, errno, "socketpair: %s", strerror(errno));
		io.fd = sv[0];
		job.fd = sv[1];
		if (opt.split) {
			child = fork();
			if (child < 0)
				die(EX_OSERR, errno, "fork: %s", strerror(errno));
			if (child == 0) {
				vmig_close(&src);
				close(sv[0]);
				run_child(&job, guest);
			}
			close(sv[1]);
		} else {
			open_dev(&job.dev, dst_id, guest);
		}
	}
	if (opt.workload) {
		if (workload_start(&w, &src, opt.mem_rate))
			die(EX_UNAVAILABLE, 0, "%s: %s", src.uuid, w.error);
		hooks.stop = pause_workload;
		hooks.ctx = &w;
		usleep(opt.warmup_ms * 1000);
	}
	if (child < 0 && (errno = pthread_create(&th, NULL, dst_thread, &job)))
		die(EX_OSERR, errno, "pthread_create: %s", strerror(errno));

	err = vmig_save(&src, &io, policy(), &st, &hooks);
	if (err) {
		char msg[512];
		int code = stream_exit(&io, EX_UNAVAILABLE);

		snprintf(msg, sizeof(msg), "%s", vmig_error());
		if (opt.workload && w.started) {
			char meta[512];

			workload_pause(&w, meta, sizeof(meta));
		}
		shutdown(io.fd, SHUT_RDWR);
		close(io.fd);
		if (child > 0)
			waitpid(child, &status, 0);
		else
			pthread_join(th, NULL);
		/* The destination's own failure says more. */
		if (rep->rc)
			die(rep->rc, rep->err, "%s", rep->error);
		die(code, -err, "migration failed (the source runs on): %s",
		    msg);
	}
	close(io.fd);
	if (child > 0) {
		if (waitpid(child, &status, 0) < 0)
			die(EX_OSERR, errno, "waitpid: %s", strerror(errno));
		if (!rep->rc && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			rep->rc = EX_OSERR;
			snprintf(rep->error, sizeof(rep->error),
				 "the destination process ended abnormally (status %d)",
				 status);
		}
	} else {
		pthread_join(th, NULL);
	}
	/* CLOCK_MONOTONIC is one clock for both processes; -1: unknown. */
	downtime = rep->t_running > 0 ? rep->t_running - st.t_stop : -1;
	if (rep->rc) {
		/* The destination refused: the source takes over again. */
		vmig_set_state(&src, VFIO_MIG_STATE_RUNNING);
		die(rep->rc, rep->err, "%s", rep->error);
	}
	munmap(rep, sizeof(*rep));
	if (opt.progress)
		fprintf(stderr, "\n");
	if (opt.json) {
		json_begin(true);
		json_key_str("mode", opt.tcp_port ? "tcp" :
			     opt.split ? "split" : "threads");
		if (opt.tcp_port)
			json_u64("port", opt.tcp_port);
		else
			json_key_str("port", NULL);
		json_save_stats(&st);
		json_ms("downtime_ms", downtime);
		json_bool("verified", opt.workload);
		json_end();
	} else if (!opt.quiet) {
		printf("migrated %s -> %s\n", src.uuid, js.dst);
		printf("  pre-copy:      %u pass%s%s, device %.1f KiB, guest %llu pages\n",
		       st.iterations, st.iterations == 1 ? "" : "es",
		       st.forced ? " (stopped by the limit)" : "",
		       st.device_pre / 1024.0,
		       (unsigned long long)st.guest_pages_pre);
		printf("  stop-and-copy: device %.1f KiB, guest %llu pages, %.1f ms\n",
		       st.device_stop / 1024.0,
		       (unsigned long long)st.guest_pages_stop, st.stop_copy_ms);
		if (downtime >= 0)
			printf("  downtime:      %.1f ms (source stopped to destination running)\n",
			       downtime);
		printf("  total:         %.1f ms, %.1f MiB through the %s\n",
		       st.total_ms, st.bytes / 1048576.0,
		       opt.tcp_port ? "TCP connection" :
		       opt.split ? "pipe to the second process" : "in-process pipe");
		if (opt.workload)
			printf("  verified:      UART sequence unbroken (%llu bytes before the stop), device and guest memory equal at the stop point\n",
			       (unsigned long long)w.rx);
	}
	if (child < 0)
		vmig_close(&job.dev);
	vmig_close(&src);
	return EX_OK;
}

/*
 * The device's migration/version string (without its newline) into @buf,
 * or exit: a device without one is not served by the vfio-mig engine.
 */
static void read_version(const char *uuid, char *buf, size_t size)
{
	char dir[80], path[128];
	ssize_t n;
	int fd;

	snprintf(dir, sizeof(dir), "/sys/bus/mdev/devices/%s", uuid);
	snprintf(path, sizeof(path), "%s/migration/version", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!have_mdev_parent())
			die(EX_UNAVAILABLE, ENOENT,
			    "%s: no mdev bus: are the modules loaded? (no parent device in /sys/class/mdev_bus)",
			    uuid);
		if (access(dir, F_OK))
			die(EX_UNAVAILABLE, ENOENT, "%s: no such mdev", uuid);
		die(EX_UNAVAILABLE, ENOENT,
		    "%s: no migration/version: not a vfio-mig device, or its engine is too old",
		    uuid);
	}
	if (fd < 0)
		die(EX_UNAVAILABLE, errno, "%s: %s", path, strerror(errno));
	n = read(fd, buf, size - 1);
	if (n < 0)
		die(EX_UNAVAILABLE, errno, "%s: %s", path, strerror(errno));
	close(fd);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/*
 * Would DST accept SRC's stream?  SRC's migration/version written to DST's
 * migration/check: the write succeeds, or fails with EINVAL for no.
 */
static int cmd_check(void)
{
	char sv[1024], dv[1024], path[128];
	ssize_t n;
	int fd, err;

	read_version(js.src, sv, sizeof(sv));
	read_version(js.dst, dv, sizeof(dv));
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/migration/check",
		 js.dst);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die(EX_UNAVAILABLE, errno, "%s: %s", path, strerror(errno));
	n = write(fd, sv, strlen(sv));
	err = n < 0 ? errno : 0;
	close(fd);
	if (err && err != EINVAL)
		die(EX_UNAVAILABLE, err, "%s: %s", path, strerror(err));
	if (opt.json) {
		json_begin(!err);
		json_bool("compatible", !err);
		if (err)
			json_u64("exit", EX_PROTOCOL);
		json_key_str("src_version", sv);
		json_key_str("dst_version", dv);
		json_end();
	} else {
		printf("source       %s\n"
		       "destination  %s\n"
		       "%s\n", sv, dv, err ?
		       "incompatible: the destination would refuse the source's stream" :
		       "compatible: the destination accepts the source's stream");
	}
	return err ? EX_PROTOCOL : EX_OK;
}

static int cmd_workload(const char *id)
{
	struct vmig_dev d;
	struct workload w;
	char meta[512];

	open_dev(&d, id, guest_for(id));
	if (workload_start(&w, &d, opt.mem_rate))
		die(EX_UNAVAILABLE, 0, "%s: %s", d.uuid, w.error);
	usleep(opt.warmup_ms * 1000);
	workload_pause(&w, meta, sizeof(meta));
	if (w.error[0])
		die(EX_VERIFY, 0, "workload: %s", w.error);
	if (opt.json) {
		json_begin(true);
		json_u64("bytes", w.rx);
		json_u64("memory_writes", w.mem_writes);
		json_u64("dma_ops", w.dma_ops);
		json_end();
	} else if (!opt.quiet) {
		printf("workload: %llu UART bytes, %llu memory writes, %llu DMA operations\n",
		       (unsigned long long)w.rx,
		       (unsigned long long)w.mem_writes,
		       (unsigned long long)w.dma_ops);
	}
	vmig_close(&d);
	return EX_OK;
}

/* --version: this client's, and the engine module's when it is loaded. */
static int print_version(void)
{
	char engine[64] = "";
	FILE *f = fopen("/sys/module/vfio_mig/version", "r");

	if (f) {
		if (!fgets(engine, sizeof(engine), f))
			engine[0] = 0;
		engine[strcspn(engine, "\n")] = 0;
		fclose(f);
	}
	printf("vfio-mig %s\n", VFIO_MIG_VERSION);
	if (engine[0])
		printf("engine (vfio_mig module) %s\n", engine);
	return EX_OK;
}

/* The commands, and what each argument is: a source, a destination, a file. */
enum arg { SRC = 1, DST, FILE_ARG };

static const struct command {
	const char *name, *args;
	enum arg arg[2];
} commands[] = {
	{ "info", "DEVICE", { SRC } },
	{ "save", "DEVICE FILE", { SRC, FILE_ARG } },
	{ "restore", "DEVICE FILE", { DST, FILE_ARG } },
	{ "migrate", "SRC DST", { SRC, DST } },
	{ "check", "SRC DST", { SRC, DST } },
	{ "workload", "DEVICE", { SRC } },
};

/* Check the command and its arguments; note the devices for --json. */
static const struct command *parse_command(int argc, char **argv)
{
	const struct command *c = NULL;
	size_t i;
	int n;

	if (argc < 1) {
		bad_usage("no command given (see --help)");
		return NULL;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].name))
			c = &commands[i];
	if (!c) {
		bad_usage("unknown command '%s' (see --help)", argv[0]);
		return NULL;
	}
	js.command = c->name;
	n = c->arg[1] ? 2 : 1;
	if (argc - 1 != n)
		bad_usage("%s takes %s (see --help)", c->name, c->args);
	for (i = 0; i < 2 && (int)i < argc - 1; i++) {
		char *uuid = c->arg[i] == SRC ? js.src :
			     c->arg[i] == DST ? js.dst : NULL;

		if (uuid && vmig_parse_id(argv[1 + i], uuid))
			bad_usage("%s", vmig_error());
		if (c->arg[i] == FILE_ARG && !strcmp(c->name, "save") &&
		    !strcmp(argv[1 + i], "-"))
			js.out = stderr;	/* stdout carries the data */
	}
	if (!strcmp(c->name, "migrate") && !strcmp(js.src, js.dst))
		bad_usage("migrate: source and destination are the same device");
	return c;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-downtime", required_argument, NULL, 'D' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "max-iterations", required_argument, NULL, 'I' },
		{ "workload", no_argument, NULL, 'w' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "verify", required_argument, NULL, 'V' },
		{ "split", no_argument, NULL, 's' },
		{ "tcp", required_argument, NULL, 'p' },
		{ "guest-mem", required_argument, NULL, 'g' },
		{ "no-mmap", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ }
	};
	const struct command *cmd;
	char o[32];
	int c, li;

	js.out = stdout;
	opterr = 0;
	while ((li = -1,
		c = getopt_long(argc, argv, ":qh", longopts, &li)) != -1) {
		/* The option's name, for messages. */
		snprintf(o, sizeof(o), "--%s", li >= 0 ? longopts[li].name : "");
		switch (c) {
		case 'D':
			opt.max_downtime_ms = parse_number(o, optarg, 0, MS_MAX, false);
			break;
		case 'T':
			opt.threshold = parse_number(o, optarg, 0, UINT64_MAX, true);
			break;
		case 'I':
			opt.max_iterations = parse_number(o, optarg, 1, UINT_MAX, false);
			break;
		case 'W':
			opt.warmup_ms = parse_number(o, optarg, 0, MS_MAX, false);
			break;
		case 'V':
			opt.verify_ms = parse_number(o, optarg, 0, MS_MAX, false);
			break;
		case 'p':
			opt.tcp_port = parse_number(o, optarg, 1, 65535, false);
			break;
		case 'g':
			opt.guest_size = parse_number(o, optarg, VMIG_PAGE,
						      GUEST_MAX, true);
			if (opt.guest_size % VMIG_PAGE)
				bad_usage("%s: %s is not a multiple of 4096",
					  o, optarg);
			break;
		case 'w': opt.workload = true; break;
		case 's': opt.split = true; break;
		case 'n': opt.mmap = false; break;
		case 'j': opt.json = true; break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'v': return print_version();
		case ':':
			bad_usage("option %s needs an argument (see --help)",
				  argv[optind - 1]);
			break;
		default:
			if (optopt)
				bad_usage("unknown option '-%c' (see --help)", optopt);
			else
				bad_usage("unknown option '%s' (see --help)",
					  argv[optind - 1]);
			break;
		}
	}
	cmd = parse_command(argc - optind, argv + optind);
	if (usage_error[0])
		die(EX_USAGE, 0, "%s", usage_error);
	opt.progress = !opt.quiet && !opt.json && isatty(STDERR_FILENO);
	signal(SIGPIPE, SIG_IGN);
	argv += optind + 1;
	if (!strcmp(cmd->name, "info"))
		return cmd_info(argv[0]);
	if (!strcmp(cmd->name, "save"))
		return cmd_save(argv[0], argv[1]);
	if (!strcmp(cmd->name, "restore"))
		return cmd_restore(argv[0], argv[1]);
	if (!strcmp(cmd->name, "migrate"))
		return cmd_migrate(argv[0], argv[1]);
	if (!strcmp(cmd->name, "check"))
		return cmd_check();
	return cmd_workload(argv[0]);
}
