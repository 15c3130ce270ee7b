// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized stress of the engine and mtty-mig, seeded and time-bounded.
 *
 * Several processes, each with a few threads, issue random operations at
 * once on their devices through all three front-ends (the vfio-mig
 * region, the v1 region, v2 and its data fds), with resets, closing and
 * reopening the device, mmap and munmap of the data section, BAR and DMA
 * accesses, the traffic source, DMA logging, mdev creation and removal,
 * and attempts to unload the modules.  Every call must return success or
 * an errno the specification allows; nothing may hang (a watchdog) or
 * splat (the VM runner).  Every few seconds each process stops its
 * threads at a quiet point and checks the invariant: its devices reset
 * to idle, and each migrates into the other (through a front-end chosen
 * in turn) with the state comparing equal.
 *
 * The seed is printed; the same seed replays the same operation streams
 * (their interleaving is the scheduler's).
 *
 * usage: test_stress [SECONDS [SEED]]   (or STRESS_SECONDS=, SEED=; 60 s)
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define PROCS		2
#define THREADS		3
#define QUIET_EVERY	10	/* seconds between quiet points */
#define GUEST		(1ull << 30)
#define GUEST_SIZE	(64 * 4096)
#define NOPS		24

/* One device and what the threads share of it. */
struct sdev {
	struct vdev v;
	struct mig m;
	pthread_rwlock_t lock;	/* write: close/reopen, mmap/munmap */
	pthread_mutex_t fd_lock;
	int datafd;		/* the last v2 data fd, or -1 */
	uint8_t *map;		/* the mapped data section, or NULL */
};

/* What a worker process reports, in memory shared with the parent. */
struct report {
	atomic_long calls;
	atomic_long unexpected;
	atomic_long quiet_ok;
	atomic_long quiet_bad;
	atomic_long by_op[NOPS];
	char first_bad[160];	/* the first unexpected result */
	char quiet_why[160];	/* the first failed quiet point */
};

struct worker {
	struct sdev dev[2];	/* the two devices the threads hammer */
	struct vdev pin;	/* held open throughout: no module unloads */
	struct report *rep;
	struct stream ref;	/* a valid stream for the devices' type */
	atomic_bool quiet;	/* threads: stop at the barrier */
	atomic_bool done;
	pthread_barrier_t barrier;
	unsigned int proc;
	uint64_t seed;
	unsigned int quiet_no;
};

static struct v2_caps caps;

/* xorshift64*: one stream per thread, from the seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

/* What racing calls may answer: their spec errnos. */
static bool allowed(long ret)
{
	switch (ret) {
	case 0:
	case -EINVAL:
	case -EBUSY:
	case -ENODEV:
	case -EBADF:
	case -ENOMSG:
	case -ENOSPC:
	case -EEXIST:
	case -ENOENT:
	case -EWOULDBLOCK:
	case -ESPIPE:
	case -EIO:
		return true;
	}
	return ret > 0;
}

static void note(struct worker *w, unsigned int op, long ret)
{
	atomic_fetch_add(&w->rep->calls, 1);
	atomic_fetch_add(&w->rep->by_op[op], 1);
	if (allowed(ret))
		return;
	if (atomic_fetch_add(&w->rep->unexpected, 1) == 0)
		snprintf(w->rep->first_bad, sizeof(w->rep->first_bad),
			 "operation %u returned %ld (%s)", op, ret,
			 ret < 0 ? strerror((int)-ret) : "?");
}

static long ret_of(long r)
{
	return r < 0 ? -errno : r;
}

static void sdev_create(struct sdev *d, const char *type)
{
	vdev_create_open(&d->v, type);
	mig_find(&d->v, &d->m);
	dma_map(&d->v, GUEST, GUEST_SIZE);
	pthread_rwlock_init(&d->lock, NULL);
	pthread_mutex_init(&d->fd_lock, NULL);
	d->datafd = -1;
	d->map = NULL;
}

/* Swap in a new v2 data fd (closing the old), or take a dup of it. */
static void set_datafd(struct sdev *d, int fd)
{
	pthread_mutex_lock(&d->fd_lock);
	if (d->datafd >= 0)
		close(d->datafd);
	d->datafd = fd;
	pthread_mutex_unlock(&d->fd_lock);
}

static int dup_datafd(struct sdev *d)
{
	int fd;

	pthread_mutex_lock(&d->fd_lock);
	fd = d->datafd >= 0 ? dup(d->datafd) : -1;
	pthread_mutex_unlock(&d->fd_lock);
	return fd;
}

static const char *traffic_line(uint64_t *s, unsigned int which, char *buf,
				size_t len)
{
	switch (which) {
	case 0:
		snprintf(buf, len, "0 %u %u", 1 + (unsigned int)rnd_below(s, 16),
			 (unsigned int)rnd_below(s, 256));
		return "rx";
	case 1:
		snprintf(buf, len, "%llu %u 7",
			 (unsigned long long)rnd_below(s, 1 << 20),
			 1 + (unsigned int)rnd_below(s, 4096));
		return "mem";
	default:
		snprintf(buf, len, "%llu %llu 4096",
			 (unsigned long long)rnd_below(s, 255) * 4096,
			 (unsigned long long)GUEST + rnd_below(s, 63) * 4096);
		return "dma";
	}
}

/* One random operation on one of the worker's devices. */
static void one_op(struct worker *w, uint64_t *s)
{
	struct sdev *d = &w->dev[rnd_below(s, 2)];
	unsigned int op = rnd_below(s, NOPS);
	uint8_t buf[8192];
	uint64_t q[3];
	char path[160], line[64];
	long ret = 0;
	int fd;

	if (op == 12 || op == 13) {
		/* Close and reopen, mmap or munmap: alone on the device. */
		pthread_rwlock_wrlock(&d->lock);
		if (op == 12) {
			/*
			 * Close the device for real: a mapping holds the
			 * device file, so it goes first.  The group and
			 * container stay, with the guest memory mapped.
			 */
			set_datafd(d, -1);
			if (d->map)
				munmap(d->map, d->m.data_size);
			d->map = NULL;
			close(d->v.fd);
			fd = ioctl(d->v.group, VFIO_GROUP_GET_DEVICE_FD,
				   d->v.uuid);
			if (fd < 0)
				t_bail("reopening %s: %s", d->v.uuid,
				       strerror(errno));
			d->v.fd = d->v.dev.fd = fd;
			ret = 0;
		} else if (d->map) {
			ret = munmap(d->map, d->m.data_size) ? -errno : 0;
			d->map = NULL;
		} else if (d->m.mmap) {
			void *p = mmap(NULL, d->m.data_size,
				       PROT_READ | PROT_WRITE, MAP_SHARED,
				       d->v.fd, (off_t)region_pos(&d->v, d->m.index,
								  d->m.data_off));

			ret = p == MAP_FAILED ? -errno : 0;
			d->map = p == MAP_FAILED ? NULL : p;
		}
		pthread_rwlock_unlock(&d->lock);
		note(w, op, ret);
		return;
	}

	pthread_rwlock_rdlock(&d->lock);
	switch (op) {
	case 0:
	case 1:		/* a vfio-mig state, valid or not */
		ret = mig_set_state(&d->v, &d->m,
				    rnd_below(s, VFIO_MIG_NUM_STATES + 1));
		break;
	case 2: {	/* a header read: pending, Get buffer, a query chunk */
		static const unsigned int offs[] = {
			VFIO_MIG_OFF_PENDING, VFIO_MIG_OFF_DATA,
			VFIO_MIG_OFF_DATA_SIZE, VFIO_MIG_OFF_DIRTY_COPIED,
			VFIO_MIG_OFF_DEVICE_STATE,
		};
		static const unsigned int lens[] = { 32, 16, 8, 8, 4 };
		unsigned int i = rnd_below(s, 5);

		ret = mig_hdr_read(&d->v, &d->m, offs[i], buf, lens[i]);
		break;
	}
	case 3:		/* Set buffer: a piece of a valid stream, or noise */
		if (rnd_below(s, 2)) {
			size_t off = rnd_below(s, w->ref.len);
			size_t n = 1 + rnd_below(s, 65536);

			if (n > w->ref.len - off)
				n = w->ref.len - off;
			ret = mig_put_chunk(&d->v, &d->m, w->ref.buf + off, n);
		} else {
			memset(buf, (int)rnd(s), 64);
			ret = mig_put_chunk(&d->v, &d->m, buf, 64);
		}
		break;
	case 4:		/* the data section, trapped */
		ret = region_read(&d->v, d->m.index, d->m.data_off +
				  rnd_below(s, d->m.data_size - sizeof(buf)),
				  buf, 1 + rnd_below(s, sizeof(buf)));
		break;
	case 5:		/* a dirty-pfn query */
		q[0] = GUEST;
		q[1] = 1 + rnd_below(s, 128);
		q[2] = 0;
		ret = mig_hdr_write(&d->v, &d->m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24);
		break;
	case 6: {	/* a v1 state, valid or not */
		uint32_t st = rnd_below(s, 8);

		ret = region_write(&d->v, MTTYM_V1_REGION, 0, &st, 4);
		break;
	}
	case 7:		/* v1 reads: pending, data_offset, data_size */
		ret = region_read(&d->v, MTTYM_V1_REGION,
				  8 + 8 * rnd_below(s, 3), buf, 8);
		break;
	case 8:		/* a v1 data_size write */
		q[0] = rnd_below(s, 3) ? 0 : rnd_below(s, 1 << 20);
		ret = region_write(&d->v, MTTYM_V1_REGION, 24, q, 8);
		break;
	case 9:
	case 10: {	/* a v2 state; keep a data fd it returns */
		int nfd = -1;

		ret = v2_set_state(&d->v, 1 + rnd_below(s, 7), &nfd);
		if (nfd >= 0)
			set_datafd(d, nfd);
		break;
	}
	case 11:	/* v2 data fd I/O, or closing it */
		fd = dup_datafd(d);
		if (fd < 0)
			break;
		switch (rnd_below(s, 3)) {
		case 0:
			ret = ret_of(read(fd, buf, 1 + rnd_below(s, sizeof(buf))));
			break;
		case 1:
			ret = ret_of(write(fd, w->ref.buf,
					   1 + rnd_below(s, sizeof(buf))));
			break;
		default:
			set_datafd(d, -1);
			break;
		}
		close(fd);
		break;
	case 14:	/* VFIO_DEVICE_RESET, now and then */
		if (!rnd_below(s, 4))
			ret = ret_of(ioctl(d->v.fd, VFIO_DEVICE_RESET));
		break;
	case 15:	/* touch the mapping */
		if (d->map)
			d->map[rnd_below(s, d->m.data_size)] ^= 1;
		break;
	case 16:	/* the UART */
		ret = region_read(&d->v, MTTYM_UART0_REGION, rnd_below(s, 8),
				  buf, 1);
		if (ret >= 0)
			ret = region_write(&d->v, MTTYM_UART0_REGION,
					   UART_TX, buf, 1);
		break;
	case 17:	/* device memory */
		q[0] = rnd(s);
		ret = region_write(&d->v, MTTYM_MEM_REGION,
				   rnd_below(s, (1 << 20) / 8) * 8, q, 8);
		break;
	case 18:	/* the DMA engine, into guest memory */
		ret = dma_run(&d->v, 1 + rnd_below(s, 3),
			      rnd_below(s, 255) * 4096,
			      GUEST + rnd_below(s, 60) * 4096,
			      1 + rnd_below(s, 3 * 4096));
		ret = ret == MTTYM_DMA_DONE || ret == MTTYM_DMA_ERROR ||
		      ret == 0 ? 0 : -EPROTO;
		break;
	case 19: {	/* the traffic source */
		const char *f = traffic_line(s, rnd_below(s, 3), line,
					     sizeof(line));

		snprintf(path, sizeof(path),
			 "/sys/bus/mdev/devices/%s/traffic/%s", d->v.uuid, f);
		ret = sysfs_write(path, line);
		break;
	}
	case 20: {	/* an mdev created and removed again */
		char uuid[40];

		ret = mdev_create(MDEV_TYPE_1P, uuid);
		if (!ret)
			ret = mdev_remove(uuid);
		break;
	}
	case 21:	/* a module unload: refused, devices are open */
		ret = syscall(SYS_delete_module, rnd_below(s, 2) ? "mtty_mig" :
			      "vfio_mig", O_NONBLOCK) ? -errno : -EPROTO;
		if (ret == -EWOULDBLOCK)
			ret = 0;
		break;
	case 22:	/* v2 DMA logging, where the kernel has it */
		if (caps.dma_logging) {
			uint64_t bits[1];
			static const uint32_t ops[] = {
				VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
				VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
			};

			ret = v2_logging(&d->v, ops[rnd_below(s, 3)], GUEST,
					 64 * 4096, bits);
		}
		break;
	default:	/* the region's data section by pwrite */
		memset(buf, (int)rnd(s), 256);
		ret = region_write(&d->v, d->m.index, d->m.data_off +
				   rnd_below(s, 4096), buf, 256);
		break;
	}
	pthread_rwlock_unlock(&d->lock);
	note(w, op, ret);
}

struct thread_arg {
	struct worker *w;
	uint64_t seed;
};

static void *hammer(void *arg)
{
	struct thread_arg *a = arg;
	struct worker *w = a->w;
	uint64_t s = a->seed;

	while (!atomic_load(&w->done)) {
		if (atomic_load(&w->quiet)) {
			pthread_barrier_wait(&w->barrier);	/* stopped */
			pthread_barrier_wait(&w->barrier);	/* go on */
			continue;
		}
		one_op(w, &s);
	}
	return NULL;
}

/* Back to idle: no data fd, every front-end reset. */
static bool idle(struct sdev *d)
{
	uint32_t v1 = 0;

	set_datafd(d, -1);
	if (ioctl(d->v.fd, VFIO_DEVICE_RESET))
		return false;
	region_read(&d->v, MTTYM_V1_REGION, 0, &v1, 4);
	return mig_state(&d->v, &d->m) == VFIO_MIG_STATE_NONE &&
	       v2_get_state(&d->v) == ST_RUNNING &&
	       v1 == VFIO_DEVICE_STATE_V1_RUNNING;
}

/* Migrate @a into @b through front-end @how; 0 or -errno. */
static int migrate(struct sdev *a, struct sdev *b, unsigned int how)
{
	static const size_t whole[] = { 0 };
	struct stream st = { 0 };
	int err;

	if (how == 0) {
		err = mig_save(&a->v, &a->m, &st);
		if (!err)
			err = mig_set_state(&a->v, &a->m, VFIO_MIG_STATE_RUNNING);
		if (!err)
			err = mig_restore(&b->v, &b->m, st.buf, st.len, whole);
	} else {
		err = v2_save(&a->v, &st, how == 1 ? 65536 : 4099);
		if (!err)
			err = v2_restore(&b->v, st.buf, st.len, 65536);
	}
	stream_free(&st);
	return err;
}

/* The quiet point's invariant, on this worker's devices. */
static void quiet_check(struct worker *w)
{
	struct sdev *a = &w->dev[w->quiet_no % 2], *b = &w->dev[1 - w->quiet_no % 2];
	uint8_t seed = 0x10 + w->quiet_no % 200;
	struct dev_snap sa, sb;
	char why[160] = "";
	int err;

	if (!idle(a) || !idle(b)) {
		snprintf(why, sizeof(why), "a device did not reset to idle");
	} else {
		dev_fill(&a->v, seed);
		err = migrate(a, b, w->quiet_no % 3);
		dev_snap(&a->v, &sa);
		dev_snap(&b->v, &sb);
		if (err)
			snprintf(why, sizeof(why), "migration %u failed: %s",
				 w->quiet_no % 3, strerror(-err));
		else if (memcmp(&sa, &sb, sizeof(sa)) || sa.scr != seed)
			snprintf(why, sizeof(why),
				 "after migration %u the state differs",
				 w->quiet_no % 3);
	}
	if (why[0]) {
		if (atomic_fetch_add(&w->rep->quiet_bad, 1) == 0)
			snprintf(w->rep->quiet_why, sizeof(w->rep->quiet_why),
				 ": quiet point %u: %s", w->quiet_no, why);
	} else {
		atomic_fetch_add(&w->rep->quiet_ok, 1);
	}
	w->quiet_no++;
}

static int work(struct worker *w, unsigned int seconds)
{
	struct thread_arg args[THREADS];
	pthread_t th[THREADS];
	time_t end = time(NULL) + seconds, next;
	unsigned int i;

	/* A process that hangs is killed, and the parent says so. */
	alarm(seconds + 300);
	sdev_create(&w->dev[0], MDEV_TYPE_1P_MMAP);
	sdev_create(&w->dev[1], MDEV_TYPE_1P);
	vdev_create_open(&w->pin, MDEV_TYPE_2P);
	dev_fill(&w->dev[1].v, 0x3e);
	if (v2_save(&w->dev[1].v, &w->ref, 65536))
		t_bail("cannot save a reference stream");
	pthread_barrier_init(&w->barrier, NULL, THREADS + 1);
	for (i = 0; i < THREADS; i++) {
		args[i].w = w;
		args[i].seed = w->seed ^ (0x9e3779b97f4a7c15ull * (w->proc * THREADS + i + 1));
		if (pthread_create(&th[i], NULL, hammer, &args[i]))
			t_bail("pthread_create failed");
	}
	while (time(NULL) < end) {
		next = time(NULL) + QUIET_EVERY;
		while (time(NULL) < next && time(NULL) < end)
			usleep(100000);
		atomic_store(&w->quiet, true);
		pthread_barrier_wait(&w->barrier);
		atomic_store(&w->quiet, false);
		quiet_check(w);
		if (time(NULL) >= end)
			atomic_store(&w->done, true);
		pthread_barrier_wait(&w->barrier);
	}
	atomic_store(&w->done, true);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		set_datafd(&w->dev[i], -1);
		if (w->dev[i].map)
			munmap(w->dev[i].map, w->dev[i].m.data_size);
		vdev_destroy(&w->dev[i].v);
	}
	vdev_destroy(&w->pin);
	stream_free(&w->ref);
	return 0;
}

int main(int argc, char **argv)
{
	const char *env_secs = getenv("STRESS_SECONDS");
	const char *env_seed = getenv("SEED");
	unsigned int seconds = 60, i, ok = 0;
	struct report *rep;
	pid_t pid[PROCS];
	uint64_t seed;

	if (argc > 1)
		seconds = strtoul(argv[1], NULL, 0);
	else if (env_secs)
		seconds = strtoul(env_secs, NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	else if (env_seed)
		seed = strtoull(env_seed, NULL, 0);
	else
		seed = (uint64_t)time(NULL) << 16 ^ (uint64_t)getpid();
	if (!seconds || !seed) {
		fprintf(stderr, "usage: test_stress [SECONDS [SEED]] (both > 0)\n");
		return 2;
	}
	t_start();
	v2_caps_probe(&caps);
	t_diag("seed %llu, %u s, %d processes of %d threads (replay: SEED=%llu)",
	       (unsigned long long)seed, seconds, PROCS, THREADS,
	       (unsigned long long)seed);
	rep = mmap(NULL, PROCS * sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED)
		t_bail("mmap failed");
	memset(rep, 0, PROCS * sizeof(*rep));
	fflush(stdout);
	for (i = 0; i < PROCS; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			t_bail("fork failed");
		if (!pid[i]) {
			struct worker *w = calloc(1, sizeof(*w));

			if (!w)
				_exit(3);
			w->rep = &rep[i];
			w->proc = i;
			w->seed = seed;
			_exit(work(w, seconds));
		}
	}
	for (i = 0; i < PROCS; i++) {
		struct report *r = &rep[i];
		int status = 0;

		waitpid(pid[i], &status, 0);
		ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		t_ok(ok, "process %u ran to the end (%s %d)", i,
		     WIFSIGNALED(status) ? "signal" : "status",
		     WIFSIGNALED(status) ? WTERMSIG(status) :
					   WEXITSTATUS(status));
		t_ok(atomic_load(&r->calls) > 100 && !atomic_load(&r->unexpected),
		     "process %u: %ld racing calls, %ld with an errno the spec does not allow%s%s",
		     i, atomic_load(&r->calls), atomic_load(&r->unexpected),
		     r->first_bad[0] ? ": " : "", r->first_bad);
		{
			char line[NOPS * 8] = "";
			unsigned int o;
			size_t n = 0;

			for (o = 0; o < NOPS; o++)
				n += snprintf(line + n, sizeof(line) - n, " %ld",
					      atomic_load(&r->by_op[o]));
			t_diag("process %u, calls by operation:%s", i, line);
		}
		t_ok(atomic_load(&r->quiet_ok) > 0 && !atomic_load(&r->quiet_bad),
		     "process %u: %ld quiet points migrated correctly, %ld failed%s",
		     i, atomic_load(&r->quiet_ok), atomic_load(&r->quiet_bad),
		     r->quiet_why);
	}
	return t_done();
}
