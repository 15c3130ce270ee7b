// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig: save, restore and live-migrate devices through the vfio-mig
 * migration region.  See vfio-mig(1).
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrate.h"
#include "workload.h"

/* Exit codes (vfio-mig(1), EXIT STATUS). */
enum {
	EX_OK = 0,
	EX_USAGE = 1,		/* bad command line */
	EX_DEVICE = 2,		/* a device cannot be used */
	EX_INPUT = 3,		/* a saved device is bad, truncated, foreign */
	EX_REFUSED = 4,		/* the destination refused the device stream */
	EX_VERIFY = 5,		/* the workload found a difference */
	EX_SYSTEM = 6,		/* I/O or system error */
};

static struct {
	bool json, quiet, progress, split, mmap, workload;
	double max_downtime_ms;
	uint64_t threshold;
	unsigned int max_iterations;
	unsigned int warmup_ms, verify_ms, mem_rate;
	int tcp_port;
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

static void usage(FILE *f)
{
	fprintf(f,
"usage: vfio-mig [OPTIONS] COMMAND ARGS\n"
"\n"
"Save, restore and live-migrate VFIO mdev devices through the vfio-mig\n"
"migration region.  DEVICE is an mdev UUID or its sysfs path.\n"
"\n"
"Commands:\n"
"  info DEVICE              the region, its mode, the state and pending data\n"
"  save DEVICE FILE         save the device live into FILE ('-': stdout)\n"
"  restore DEVICE FILE      restore the device from FILE ('-': stdin)\n"
"  migrate SRC DST          live-migrate SRC to DST (same process; see --split,\n"
"                           --tcp), optionally under a workload\n"
"  workload DEVICE          run the mtty-mig workload on DEVICE for a while\n"
"\n"
"Options:\n"
"  --max-downtime MS        stop pre-copy once the rest fits in MS (default 300)\n"
"  --threshold BYTES        ... and at most BYTES of device data remain (default 0)\n"
"  --max-iterations N       pre-copy passes at most (default 30)\n"
"  --workload               migrate: run the workload on SRC, continue and verify\n"
"                           it on DST (mtty-mig devices)\n"
"  --warmup MS              workload time before migrating (default 1000)\n"
"  --verify MS              workload time on DST after migrating (default 500)\n"
"  --split                  migrate: DST in a second process, over a pipe\n"
"  --tcp PORT               migrate: DST in a second process, over 127.0.0.1:PORT\n"
"  --guest-mem BYTES        guest memory to map for DMA (K/M/G suffixes)\n"
"  --no-mmap                use pread/pwrite even when mmap is offered\n"
"  --json                   print the result as one JSON object\n"
"  -q, --quiet              no progress line\n"
"  -h, --help               this text\n"
"  --version                the version, and the loaded engine's if any\n"
"\n"
"Exit status: 0 success, 1 usage, 2 device unusable, 3 bad saved device,\n"
"4 destination refused the stream, 5 verification failed, 6 system error.\n");
}

static void die(int code, const char *what, const char *why)
	__attribute__((noreturn));

/* Print @s as a JSON string body: quotes, backslashes, controls escaped. */
static void json_str(const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
}

static void die(int code, const char *what, const char *why)
{
	if (opt.json) {
		printf("{\"ok\":false,\"exit\":%d,\"error\":\"", code);
		json_str(what);
		printf(": ");
		json_str(why);
		printf("\"}\n");
	}
	fprintf(stderr, "%s: %s: %s\n", prog, what, why);
	exit(code);
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || v % VMIG_PAGE)
		die(EX_USAGE, "bad size", s);
	return v;
}

static unsigned long parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end)
		die(EX_USAGE, what, "not a number");
	return v;
}

static void open_dev(struct vmig_dev *d, const char *id, size_t guest)
{
	if (vmig_open(d, id, guest, opt.mmap))
		die(EX_DEVICE, id, vmig_error());
}

/* Guest memory for @id: the option, or what its workload needs. */
static size_t guest_for(const char *id)
{
	struct vmig_dev d;
	size_t g;

	if (opt.guest_size)
		return opt.guest_size;
	if (vmig_open(&d, id, 0, false))
		die(EX_DEVICE, id, vmig_error());
	g = workload_guest_size(vmig_region_size(&d, 2));
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

static int cmd_info(const char *id)
{
	uint64_t pend[3];
	uint32_t state;
	struct vmig_dev d;

	open_dev(&d, id, 0);
	if (vmig_get_state(&d, &state) || vmig_pending(&d, pend))
		die(EX_DEVICE, id, vmig_error());
	if (opt.json)
		printf("{\"ok\":true,\"device\":\"%s\",\"type\":\"%s\",\"region\":%u,"
		       "\"region_size\":%llu,\"data_offset\":%llu,\"data_size\":%llu,"
		       "\"mmap\":%s,\"state\":\"%s\",\"pending\":{\"precopy_only\":%llu,"
		       "\"compatible\":%llu,\"postcopy_only\":%llu}}\n",
		       d.uuid, d.type, d.index,
		       (unsigned long long)d.region_size,
		       (unsigned long long)d.data_off,
		       (unsigned long long)d.data_size, d.mmap ? "true" : "false",
		       vmig_state_name(state), (unsigned long long)pend[0],
		       (unsigned long long)pend[1], (unsigned long long)pend[2]);
	else
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
	vmig_close(&d);
	return EX_OK;
}

static void print_save(const char *what, const struct vmig_stats *st)
{
	if (opt.progress)
		fprintf(stderr, "\n");
	if (opt.json) {
		printf("{\"ok\":true,\"command\":\"%s\",\"iterations\":%u,"
		       "\"forced_stop\":%s,\"device_bytes_precopy\":%llu,"
		       "\"device_bytes_stop\":%llu,\"guest_pages_precopy\":%llu,"
		       "\"guest_pages_stop\":%llu,\"stop_copy_ms\":%.3f,"
		       "\"total_ms\":%.3f,\"bytes\":%llu}\n", what,
		       st->iterations, st->forced ? "true" : "false",
		       (unsigned long long)st->device_pre,
		       (unsigned long long)st->device_stop,
		       (unsigned long long)st->guest_pages_pre,
		       (unsigned long long)st->guest_pages_stop,
		       st->stop_copy_ms, st->total_ms,
		       (unsigned long long)st->bytes);
	} else if (!opt.quiet) {
		fprintf(stderr,
			"%s: %u pre-copy pass%s%s; device %llu + %llu bytes, guest %llu + %llu pages; stop-and-copy %.1f ms\n",
			what, st->iterations, st->iterations == 1 ? "" : "es",
			st->forced ? " (stopped by the limit)" : "",
			(unsigned long long)st->device_pre,
			(unsigned long long)st->device_stop,
			(unsigned long long)st->guest_pages_pre,
			(unsigned long long)st->guest_pages_stop,
			st->stop_copy_ms);
	}
}

static int open_output(const char *file)
{
	int fd;

	if (!strcmp(file, "-"))
		return STDOUT_FILENO;
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(EX_SYSTEM, file, strerror(errno));
	return fd;
}

static int cmd_save(const char *id, const char *file)
{
	const struct vmig_hooks hooks = { .progress = show_progress };
	struct vmig_io io = { .fd = -1 };
	struct vmig_stats st;
	struct vmig_dev d;

	if (!strcmp(file, "-"))
		opt.json = false;	/* stdout carries the data */
	open_dev(&d, id, opt.guest_size);
	io.fd = open_output(file);
	if (vmig_save(&d, &io, policy(), &st, &hooks)) {
		if (io.fd != STDOUT_FILENO)
			unlink(file);
		die(EX_SYSTEM, "save failed (the device runs on)", vmig_error());
	}
	if (io.fd != STDOUT_FILENO && close(io.fd))
		die(EX_SYSTEM, file, strerror(errno));
	print_save("save", &st);
	vmig_close(&d);
	return EX_OK;
}

static int load_exit(enum vmig_fault f)
{
	switch (f) {
	case VMIG_FAULT_INPUT:
		return EX_INPUT;
	case VMIG_FAULT_REFUSED:
		return EX_REFUSED;
	case VMIG_FAULT_DEVICE:
		return EX_DEVICE;
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

	if (strcmp(file, "-")) {
		io.fd = open(file, O_RDONLY | O_CLOEXEC);
		if (io.fd < 0)
			die(EX_INPUT, file, strerror(errno));
	}
	open_dev(&d, id, opt.guest_size);
	if (vmig_load(&d, &io, &st, NULL, 0, &fault))
		die(load_exit(fault), "restore failed", vmig_error());
	if (opt.json)
		printf("{\"ok\":true,\"command\":\"restore\",\"bytes\":%llu,"
		       "\"guest_pages\":%llu,\"total_ms\":%.3f}\n",
		       (unsigned long long)st.bytes,
		       (unsigned long long)st.guest_pages_pre, st.total_ms);
	else if (!opt.quiet)
		fprintf(stderr, "restore: %llu bytes, %llu guest pages, %.1f ms; the device runs\n",
			(unsigned long long)st.bytes,
			(unsigned long long)st.guest_pages_pre, st.total_ms);
	vmig_io_free(&io);
	vmig_close(&d);
	return EX_OK;
}

/* --- migrate --------------------------------------------------------------- */

struct dst_job {
	const char *id;
	int fd;
	struct vmig_dev dev;
	struct vmig_stats st;
	enum vmig_fault fault;
	char meta[1024];
	char error[512];
	char verify_error[256];
	int rc;
	struct workload w;
};

static void pause_workload(void *ctx, char *meta, size_t len)
{
	workload_pause(ctx, meta, len);
}

/* The destination's side: load, then verify the workload if asked. */
static void run_destination(struct dst_job *j)
{
	struct vmig_io io = { .fd = j->fd };

	j->rc = EX_OK;
	if (vmig_load(&j->dev, &io, &j->st, j->meta, sizeof(j->meta),
		      &j->fault)) {
		snprintf(j->error, sizeof(j->error), "%s", vmig_error());
		j->rc = load_exit(j->fault);
		/* Drain the rest so the source can finish and roll back. */
		while (read(j->fd, j->meta, sizeof(j->meta)) > 0)
			;
	} else if (opt.workload &&
		   workload_verify(&j->w, &j->dev, j->meta, opt.verify_ms)) {
		snprintf(j->verify_error, sizeof(j->verify_error), "%s",
			 j->w.error);
		j->rc = EX_VERIFY;
	}
	vmig_io_free(&io);
	close(j->fd);
}

static void *dst_thread(void *arg)
{
	run_destination(arg);
	return NULL;
}

static int tcp_listen(int port)
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

static int tcp_connect(int port)
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
	struct vmig_dev src;
	pthread_t th;
	pid_t child = -1;
	int sv[2], save_err, rc, status;
	double downtime, *t_running;

	if (!strcmp(src_id, dst_id))
		die(EX_USAGE, "migrate", "source and destination are the same device");
	open_dev(&src, src_id, guest);
	memset(&job, 0, sizeof(job));
	job.id = dst_id;
	/* Where a destination process leaves the time it started running. */
	t_running = mmap(NULL, sizeof(*t_running), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t_running == MAP_FAILED)
		die(EX_SYSTEM, "mmap", strerror(errno));
	*t_running = -1;

	if (opt.tcp_port) {
		int ls = tcp_listen(opt.tcp_port);

		if (ls < 0)
			die(EX_SYSTEM, "listen on 127.0.0.1", strerror(errno));
		child = fork();
		if (child < 0)
			die(EX_SYSTEM, "fork", strerror(errno));
		if (child == 0) {
			vmig_close(&src);
			job.fd = accept(ls, NULL, NULL);
			close(ls);
			if (job.fd < 0)
				_exit(EX_SYSTEM);
			if (vmig_open(&job.dev, dst_id, guest, opt.mmap)) {
				fprintf(stderr, "%s: %s: %s\n", prog, dst_id,
					vmig_error());
				_exit(EX_DEVICE);
			}
			run_destination(&job);
			*t_running = job.st.t_running;
			if (job.rc)
				fprintf(stderr, "%s: destination: %s%s\n", prog,
					job.error, job.verify_error);
			_exit(job.rc);
		}
		close(ls);
		io.fd = tcp_connect(opt.tcp_port);
		if (io.fd < 0)
			die(EX_SYSTEM, "connect to 127.0.0.1", strerror(errno));
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			die(EX_SYSTEM, "socketpair", strerror(errno));
		io.fd = sv[0];
		job.fd = sv[1];
		if (opt.split) {
			child = fork();
			if (child < 0)
				die(EX_SYSTEM, "fork", strerror(errno));
			if (child == 0) {
				vmig_close(&src);
				close(sv[0]);
				if (vmig_open(&job.dev, dst_id, guest, opt.mmap)) {
					fprintf(stderr, "%s: %s: %s\n", prog,
						dst_id, vmig_error());
					_exit(EX_DEVICE);
				}
				run_destination(&job);
				*t_running = job.st.t_running;
				if (job.rc)
					fprintf(stderr, "%s: destination: %s%s\n",
						prog, job.error,
						job.verify_error);
				_exit(job.rc);
			}
			close(sv[1]);
		} else {
			open_dev(&job.dev, dst_id, guest);
		}
	}
	if (opt.workload) {
		if (workload_start(&w, &src, opt.mem_rate))
			die(EX_DEVICE, src_id, w.error);
		hooks.stop = pause_workload;
		hooks.ctx = &w;
		usleep(opt.warmup_ms * 1000);
	}
	if (child < 0 && pthread_create(&th, NULL, dst_thread, &job))
		die(EX_SYSTEM, "pthread_create", strerror(errno));

	save_err = vmig_save(&src, &io, policy(), &st, &hooks);
	if (save_err) {
		char msg[512];

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
		die(EX_SYSTEM, "migration failed (the source runs on)", msg);
	}
	close(io.fd);
	if (child > 0) {
		if (waitpid(child, &status, 0) < 0)
			die(EX_SYSTEM, "waitpid", strerror(errno));
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SYSTEM;
	} else {
		pthread_join(th, NULL);
		rc = job.rc;
		*t_running = job.st.t_running;
	}
	/* CLOCK_MONOTONIC is one clock for both processes. */
	downtime = *t_running > 0 ? *t_running - st.t_stop : -1;
	munmap(t_running, sizeof(*t_running));
	if (rc) {
		/* The destination refused: the source takes over again. */
		vmig_set_state(&src, VFIO_MIG_STATE_RUNNING);
		if (child > 0)
			die(rc, "migration failed at the destination",
			    "see the destination's message above");
		die(rc, rc == EX_VERIFY ? "verification failed" :
			"migration failed at the destination (the source runs on)",
		    rc == EX_VERIFY ? job.verify_error : job.error);
	}
	if (opt.progress)
		fprintf(stderr, "\n");
	if (opt.json) {
		printf("{\"ok\":true,\"command\":\"migrate\",\"mode\":\"%s\","
		       "\"iterations\":%u,\"forced_stop\":%s,"
		       "\"device_bytes_precopy\":%llu,\"device_bytes_stop\":%llu,"
		       "\"guest_pages_precopy\":%llu,\"guest_pages_stop\":%llu,"
		       "\"stop_copy_ms\":%.3f,\"downtime_ms\":%.3f,"
		       "\"total_ms\":%.3f,\"verified\":%s}\n",
		       opt.tcp_port ? "tcp" : opt.split ? "split" : "threads",
		       st.iterations, st.forced ? "true" : "false",
		       (unsigned long long)st.device_pre,
		       (unsigned long long)st.device_stop,
		       (unsigned long long)st.guest_pages_pre,
		       (unsigned long long)st.guest_pages_stop,
		       st.stop_copy_ms, downtime, st.total_ms,
		       opt.workload ? "true" : "false");
	} else if (!opt.quiet) {
		printf("migrated %s -> %s\n", src.uuid, dst_id);
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

static int cmd_workload(const char *id)
{
	struct vmig_dev d;
	struct workload w;
	char meta[512];

	open_dev(&d, id, guest_for(id));
	if (workload_start(&w, &d, opt.mem_rate))
		die(EX_DEVICE, id, w.error);
	usleep(opt.warmup_ms * 1000);
	workload_pause(&w, meta, sizeof(meta));
	if (w.error[0])
		die(EX_VERIFY, "workload", w.error);
	if (opt.json)
		printf("{\"ok\":true,\"command\":\"workload\",\"bytes\":%llu,"
		       "\"memory_writes\":%llu,\"dma_ops\":%llu}\n",
		       (unsigned long long)w.rx,
		       (unsigned long long)w.mem_writes,
		       (unsigned long long)w.dma_ops);
	else if (!opt.quiet)
		printf("workload: %llu UART bytes, %llu memory writes, %llu DMA operations\n",
		       (unsigned long long)w.rx,
		       (unsigned long long)w.mem_writes,
		       (unsigned long long)w.dma_ops);
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
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'D': opt.max_downtime_ms = parse_num(optarg, "--max-downtime"); break;
		case 'T': opt.threshold = parse_num(optarg, "--threshold"); break;
		case 'I': opt.max_iterations = parse_num(optarg, "--max-iterations"); break;
		case 'w': opt.workload = true; break;
		case 'W': opt.warmup_ms = parse_num(optarg, "--warmup"); break;
		case 'V': opt.verify_ms = parse_num(optarg, "--verify"); break;
		case 's': opt.split = true; break;
		case 'p': opt.tcp_port = parse_num(optarg, "--tcp"); break;
		case 'g': opt.guest_size = parse_size(optarg); break;
		case 'n': opt.mmap = false; break;
		case 'j': opt.json = true; break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'v': return print_version();
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (opt.tcp_port < 0 || opt.tcp_port > 65535 || !opt.max_iterations)
		die(EX_USAGE, "options", "out of range");
	opt.progress = !opt.quiet && !opt.json && isatty(STDERR_FILENO);
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "info") && argc == 1)
		return cmd_info(argv[0]);
	if (!strcmp(cmd, "save") && argc == 2)
		return cmd_save(argv[0], argv[1]);
	if (!strcmp(cmd, "restore") && argc == 2)
		return cmd_restore(argv[0], argv[1]);
	if (!strcmp(cmd, "migrate") && argc == 2)
		return cmd_migrate(argv[0], argv[1]);
	if (!strcmp(cmd, "workload") && argc == 1)
		return cmd_workload(argv[0]);
	fprintf(stderr, "%s: unknown command or wrong arguments: %s (see --help)\n",
		prog, cmd);
	return EX_USAGE;
}
