// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig-bench: measure the migration region and print figures.  It never
 * passes or fails on a time; it reports.  Run inside the test VM by
 * `make bench`, which also keeps the CSV and JSON it writes.
 *
 *   1. save and restore throughput for 1, 16, 64 and 256 MiB of device
 *      memory, trapped and mmapped data section, beside memcpy of the same
 *      bytes in the same VM;
 *   2. downtime (stop-and-copy until the destination runs) with and without
 *      pre-copy at several device-memory dirty rates;
 *   3. dirty-pfn query rate over 1 GiB and 64 GiB of IOVA space for empty,
 *      sparse and dense logs, beside producing the same bitmap bytes;
 *   4. state-transition latency.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "migrate.h"
#include "mtty-mig.h"

#define TYPES	"/sys/class/mdev_bus/mtty_mig/mdev_supported_types/mtty_mig-"
#define MIB	(1024.0 * 1024.0)

/* Keep the compiler from dropping a copy whose result is not read. */
static void use(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static FILE *csv, *json;
static bool json_first = true;

static void record(const char *bench, const char *what, double value,
		   const char *unit)
{
	fprintf(csv, "%s,%s,%.3f,%s\n", bench, what, value, unit);
	fprintf(json, "%s\n  {\"bench\":\"%s\",\"case\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}",
		json_first ? "" : ",", bench, what, value, unit);
	json_first = false;
}

static void die(const char *what)
{
	fprintf(stderr, "vfio-mig-bench: %s: %s\n", what, vmig_error());
	exit(1);
}

static void mdev(const char *type, char *uuid)
{
	char path[256];
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "r");

	if (!f || !fgets(uuid, 40, f))
		exit(1);
	fclose(f);
	uuid[36] = 0;
	snprintf(path, sizeof(path), TYPES "%s/create", type);
	f = fopen(path, "w");
	if (!f || fputs(uuid, f) < 0 || fclose(f)) {
		fprintf(stderr, "vfio-mig-bench: cannot create a %s mdev\n", type);
		exit(1);
	}
}

/* Whether two mdevs of @type fit (a source and a destination). */
static bool two_fit(const char *type)
{
	char path[256];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), TYPES "%s/available_instances", type);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = 0;
		fclose(f);
	}
	if (n < 2)
		printf("   (%s: %ld available, two needed: load mtty_mig with mem_budget_mib=2560, as make bench does)\n",
		       type, n);
	return n >= 2;
}

static void mdev_remove(const char *uuid)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
}

static void dev_open(struct vmig_dev *d, const char *type, size_t guest,
		     bool map, char *uuid)
{
	mdev(type, uuid);
	if (vmig_open(d, uuid, guest, map))
		die(uuid);
}

static void dev_done(struct vmig_dev *d, const char *uuid)
{
	vmig_close(d);
	mdev_remove(uuid);
}

/* --- 1. throughput ----------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void save_all(struct vmig_dev *d, struct buf *b)
{
	const uint8_t *chunk;
	uint64_t pend[3];
	long n;

	b->len = 0;
	if (vmig_set_state(d, VFIO_MIG_STATE_STOPNCOPY))
		die("STOPNCOPY");
	if (vmig_pending(d, pend))
		die("pending");
	if (pend[2] > b->cap) {
		b->p = realloc(b->p, pend[2]);
		b->cap = pend[2];
		if (!b->p)
			die("out of memory");
	}
	while ((n = vmig_get_chunk(d, &chunk)) > 0) {
		if (b->len + n > b->cap)
			die("more data than announced");
		memcpy(b->p + b->len, chunk, n);
		b->len += n;
	}
	if (n < 0 || vmig_set_state(d, VFIO_MIG_STATE_SAVE_COMPLETED) ||
	    vmig_set_state(d, VFIO_MIG_STATE_RUNNING))
		die("save");
}

static void restore_all(struct vmig_dev *d, const struct buf *b)
{
	if (vmig_set_state(d, VFIO_MIG_STATE_RESUME) ||
	    vmig_put(d, b->p, b->len) ||
	    vmig_set_state(d, VFIO_MIG_STATE_RESUME_COMPLETED) ||
	    vmig_set_state(d, VFIO_MIG_STATE_RUNNING))
		die("restore");
}

/* Trapped save and restore ms per MiB, per size, for the scaling row. */
static const unsigned int tp_sizes[] = { 1, 16, 64, 256, 1024 };
#define NSIZES (sizeof(tp_sizes) / sizeof(tp_sizes[0]))
static double save_ms_mib[NSIZES], rest_ms_mib[NSIZES];

static void bench_throughput(void)
{
	const unsigned int *sizes = tp_sizes;
	struct buf b = { 0 };
	unsigned int i, mode;

	printf("\n1. Save and restore throughput (stop-and-copy of all device memory)\n");
	printf("   %-8s %-8s %12s %12s %12s %9s %9s\n", "memory", "section",
	       "save MiB/s", "restore MiB/s", "memcpy MiB/s", "save/cpy",
	       "rest/cpy");
	for (i = 0; i < NSIZES; i++) {
		/* 1 GiB: trapped only (there is no such mmap type). */
		for (mode = 0; mode < (sizes[i] < 1024 ? 2 : 1); mode++) {
			char type[32], su[40], du[40], what[64];
			struct vmig_dev s, d;
			double t0, ts, tr, tm, ms;
			uint8_t *copy;

			if (sizes[i] < 1024)
				snprintf(type, sizeof(type), "1port-%uM%s",
					 sizes[i], mode ? "-mmap" : "");
			else
				snprintf(type, sizeof(type), "1port-%uG",
					 sizes[i] / 1024);
			if (!two_fit(type))
				continue;
			dev_open(&s, type, 0, mode, su);
			dev_open(&d, type, 0, mode, du);
			t0 = vmig_now_ms();
			save_all(&s, &b);
			ts = vmig_now_ms() - t0;
			t0 = vmig_now_ms();
			restore_all(&d, &b);
			tr = vmig_now_ms() - t0;
			copy = malloc(b.len);
			if (!copy)
				die("out of memory");
			memset(copy, 1, b.len);	/* fault it in first */
			t0 = vmig_now_ms();
			memcpy(copy, b.p, b.len);
			use(copy);
			tm = vmig_now_ms() - t0;
			ms = b.len / MIB / (tm / 1e3);
			printf("   %4u MiB %-8s %12.1f %12.1f %12.1f %8.0f%% %8.0f%%\n",
			       sizes[i], mode ? "mmapped" : "trapped",
			       b.len / MIB / (ts / 1e3), b.len / MIB / (tr / 1e3),
			       ms, 100 * tm / ts, 100 * tm / tr);
			snprintf(what, sizeof(what), "%uMiB-%s", sizes[i],
				 mode ? "mmap" : "trapped");
			record("save_MiBps", what, b.len / MIB / (ts / 1e3), "MiB/s");
			record("restore_MiBps", what, b.len / MIB / (tr / 1e3), "MiB/s");
			record("memcpy_MiBps", what, ms, "MiB/s");
			if (!mode) {
				save_ms_mib[i] = ts / sizes[i];
				rest_ms_mib[i] = tr / sizes[i];
			}
			free(copy);
			dev_done(&s, su);
			dev_done(&d, du);
		}
	}
	free(b.p);
	if (!save_ms_mib[NSIZES - 1])
		return;	/* no 1 GiB figure: said in the table above */

	printf("\n1c. Scaling: trapped save and restore time per MiB (flat is the goal)\n");
	printf("   %-14s", "MiB");
	for (i = 1; i < NSIZES; i++)
		printf(" %9u", sizes[i]);
	printf(" %12s\n", "1024/16");
	printf("   %-14s", "save ms/MiB");
	for (i = 1; i < NSIZES; i++)
		printf(" %9.2f", save_ms_mib[i]);
	printf(" %12.2f\n", save_ms_mib[NSIZES - 1] / save_ms_mib[1]);
	printf("   %-14s", "restore ms/MiB");
	for (i = 1; i < NSIZES; i++)
		printf(" %9.2f", rest_ms_mib[i]);
	printf(" %12.2f\n", rest_ms_mib[NSIZES - 1] / rest_ms_mib[1]);
	record("scaling_save_ratio", "1024MiB/16MiB",
	       save_ms_mib[NSIZES - 1] / save_ms_mib[1], "ratio");
	record("scaling_restore_ratio", "1024MiB/16MiB",
	       rest_ms_mib[NSIZES - 1] / rest_ms_mib[1], "ratio");
}

/* --- 1b. kernel memory of a resume -------------------------------------- */

/* Kernel memory that a resume session can take: vmalloc and slab (large
 * kmallocs included), in KiB, from /proc/meminfo. */
static long kernel_kib(void)
{
	char line[128];
	long v, sum = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmallocUsed: %ld kB", &v) == 1 ||
		    sscanf(line, "Slab: %ld kB", &v) == 1)
			sum += v;
	if (f)
		fclose(f);
	return f ? sum : -1;
}

/*
 * The engine charges its allocations (GFP_KERNEL_ACCOUNT) to the caller's
 * memory cgroup; kmalloc()s above two pages come from the page allocator
 * and show in neither VmallocUsed nor Slab.  So this process moves into a
 * cgroup of its own (cgroup2 mounted at /sys/fs/cgroup if nothing is) and
 * reads its memory.current: every page charged, user pages included
 * (none are made while measuring), in steps of the per-CPU charge batch.
 */
#define CGROOT		"/sys/fs/cgroup"
#define CGROUP2_MAGIC	0x63677270	/* CGROUP2_SUPER_MAGIC */
#define SYSFS_MAGIC_	0x62656572	/* SYSFS_MAGIC: nothing mounted */

static char memcg[128];		/* ours, while we are in it */
static char memcg_home[640];	/* where we came from */
static const char *memcg_why = "";

static int put_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int ok = f && fputs(s, f) >= 0;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -1;
}

static void memcg_leave(void)
{
	char pid[24];

	if (!memcg[0])
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	put_file(memcg_home, pid);
	rmdir(memcg);
	memcg[0] = 0;
}

/*
 * Into a cgroup of our own under a cgroup2 hierarchy: the one mounted at
 * /sys/fs/cgroup, or one mounted there if nothing is (the test VM).  Not
 * on a v1 or hybrid layout.  memcg_leave() (also at exit) moves back.
 */
static int memcg_enter(void)
{
	char line[512], pid[24], path[sizeof(memcg) + 32];
	struct statfs fs;
	FILE *f;

	if (statfs(CGROOT, &fs)) {
		memcg_why = "no " CGROOT;
		return -1;
	}
	if (fs.f_type == SYSFS_MAGIC_ &&
	    mount("cgroup2", CGROOT, "cgroup2", 0, NULL)) {
		memcg_why = "cannot mount cgroup2";
		return -1;
	} else if (fs.f_type != SYSFS_MAGIC_ && fs.f_type != CGROUP2_MAGIC) {
		memcg_why = CGROOT " is not cgroup2 (v1 or hybrid)";
		return -1;
	}
	snprintf(memcg_home, sizeof(memcg_home), CGROOT "/cgroup.procs");
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(memcg_home, sizeof(memcg_home), CGROOT "%s/cgroup.procs",
				 strcmp(line + 3, "/") ? line + 3 : "");
		}
	}
	if (f)
		fclose(f);
	/* Our cgroup hangs off the root, where +memory can be enabled. */
	put_file(CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(memcg, sizeof(memcg), CGROOT "/vfio-mig-bench.%d", (int)getpid());
	if (mkdir(memcg, 0755)) {
		memcg_why = "cannot make a cgroup";
		memcg[0] = 0;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/memory.current", memcg);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (access(path, R_OK)) {
		memcg_why = "no memory controller";
		rmdir(memcg);
		memcg[0] = 0;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", memcg);
	if (put_file(path, pid)) {
		memcg_why = "cannot join the cgroup";
		rmdir(memcg);
		memcg[0] = 0;
		return -1;
	}
	atexit(memcg_leave);
	return 0;
}

static long memcg_kib(void)
{
	char path[sizeof(memcg) + 16];
	long long v = -1024;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", memcg);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1024;
		fclose(f);
	}
	return v / 1024;
}

/* The meter's check: what a full 1 MiB pipe (accounted pages) shows. */
static long memcg_pipe_kib(void)
{
	static char chunk[65536];
	long before, after;
	int p[2], i;

	if (pipe(p))
		return -1;
	before = memcg_kib();
	if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	memset(chunk, 0x5a, sizeof(chunk));
	for (i = 0; i < 16; i++)
		if (write(p[1], chunk, sizeof(chunk)) != sizeof(chunk))
			break;
	after = memcg_kib();
	close(p[0]);
	close(p[1]);
	return after - before;
}

static void bench_resume_memory(void)
{
	static const unsigned int sizes[] = { 16, 64, 256, 1024 };
	struct buf b = { 0 };
	unsigned int i;

	bool cg = !memcg_enter();

	printf("\n1b. Extra kernel memory while a resume session holds a whole stream\n");
	printf("   (memcg: this process's memory.current, in steps of the per-CPU charge\n"
	       "    batch of 256 KiB; VmallocUsed + Slab from /proc/meminfo; the least\n"
	       "    of three resumes)\n");
	printf("   %-8s %14s %14s %14s\n", "memory", "memcg KiB", "vmalloc+slab", "of the device");
	if (!cg)
		printf("   (no memory cgroup: %s)\n", memcg_why);
	else
		printf("   (the meter's check: a full 1 MiB pipe shows %ld KiB)\n",
		       memcg_pipe_kib());
	for (i = 0; i < 4; i++) {
		char type[32], su[40], du[40], what[32];
		struct vmig_dev s, d;
		long before, during, cg0, cg1, kmin = 0, cmin = 0;
		int rep;

		if (sizes[i] < 1024)
			snprintf(type, sizeof(type), "1port-%uM", sizes[i]);
		else
			snprintf(type, sizeof(type), "1port-1G");
		if (!two_fit(type))
			continue;
		dev_open(&s, type, 0, 0, su);
		dev_open(&d, type, 0, 0, du);
		save_all(&s, &b);
		/*
		 * The whole stream in and checked, not yet applied: the
		 * session at its largest.  The least of three resumes, as
		 * anything else the kernel does meanwhile only adds.
		 */
		for (rep = 0; rep < 3; rep++) {
			sync();
			before = kernel_kib();
			cg0 = cg ? memcg_kib() : 0;
			if (vmig_set_state(&d, VFIO_MIG_STATE_RESUME) ||
			    vmig_put(&d, b.p, b.len))
				die("resume");
			cg1 = cg ? memcg_kib() : 0;
			during = kernel_kib();
			if (vmig_set_state(&d, VFIO_MIG_STATE_RESUME_COMPLETED) ||
			    vmig_set_state(&d, VFIO_MIG_STATE_RUNNING))
				die("resume completed");
			kmin = rep && kmin < during - before ? kmin : during - before;
			cmin = rep && cmin < cg1 - cg0 ? cmin : cg1 - cg0;
		}
		printf("   %4u MiB %14ld %14ld %13.2f%%\n", sizes[i], cmin, kmin,
		       100.0 * (cmin > kmin ? cmin : kmin) / (sizes[i] * 1024.0));
		snprintf(what, sizeof(what), "%uMiB", sizes[i]);
		if (cg)
			record("resume_extra_memcg_KiB", what, cmin, "KiB");
		record("resume_extra_kernel_KiB", what, kmin, "KiB");
		dev_done(&s, su);
		dev_done(&d, du);
	}
	if (cg)
		memcg_leave();
	free(b.p);
}

/* --- 2. downtime ------------------------------------------------------- */

struct dirtier {
	struct vmig_dev *d;
	unsigned int rate;	/* page writes per second */
	atomic_bool stop;
	uint64_t writes;
};

static void *dirty_thread(void *arg)
{
	struct dirtier *t = arg;
	uint64_t pages = mttym_mem_size(vmig_region_size(t->d, MTTYM_MEM_REGION)) /
			 VMIG_PAGE;
	double start = vmig_now_ms();

	while (!atomic_load(&t->stop)) {
		double due = (vmig_now_ms() - start) / 1e3 * t->rate;

		while (t->writes < due) {
			uint64_t off = (t->writes * 2654435761u % pages) * VMIG_PAGE;

			vmig_region_write(t->d, MTTYM_MEM_REGION, off, &t->writes, 8);
			t->writes++;
		}
		usleep(1000);
	}
	return NULL;
}

static void bench_downtime(void)
{
	static const unsigned int rates[] = { 0, 1000, 10000 };
	unsigned int i, pre;

	printf("\n2. Downtime, 16 MiB device memory (stop-and-copy until the destination runs)\n");
	printf("   %-12s %-12s %8s %12s\n", "dirty rate", "pre-copy", "passes",
	       "downtime ms");
	for (i = 0; i < 3; i++) {
		for (pre = 0; pre < 2; pre++) {
			struct vmig_dev s, d;
			struct dirtier t = { 0 };
			struct buf b = { 0 };
			const uint8_t *chunk;
			char su[40], du[40], what[64];
			unsigned int passes = 0;
			pthread_t th;
			double t0, dt;
			uint64_t pend[3];
			long n;

			dev_open(&s, "1port-16M-mmap", 0, true, su);
			dev_open(&d, "1port-16M-mmap", 0, true, du);
			t.d = &s;
			t.rate = rates[i];
			pthread_create(&th, NULL, dirty_thread, &t);
			usleep(200000);
			b.cap = 64 << 20;
			b.p = malloc(b.cap);
			if (pre) {
				if (vmig_set_state(&s, VFIO_MIG_STATE_SETUP) ||
				    vmig_set_state(&s, VFIO_MIG_STATE_PRECOPY))
					die("pre-copy");
				if (vmig_set_state(&d, VFIO_MIG_STATE_RESUME))
					die("RESUME");
				/* Each pass takes what was pending at its start. */
				do {
					uint64_t sent = 0;

					passes++;
					vmig_pending(&s, pend);
					while (sent < pend[0] &&
					       (n = vmig_get_chunk(&s, &chunk)) > 0) {
						if (vmig_put(&d, chunk, n))
							die("put");
						sent += n;
					}
					vmig_pending(&s, pend);
				} while (pend[0] > 64 * 4120 && passes < 10);
			}
			atomic_store(&t.stop, true);
			pthread_join(th, NULL);
			t0 = vmig_now_ms();
			if (vmig_set_state(&s, VFIO_MIG_STATE_STOPNCOPY))
				die("STOPNCOPY");
			if (!pre && vmig_set_state(&d, VFIO_MIG_STATE_RESUME))
				die("RESUME");
			while ((n = vmig_get_chunk(&s, &chunk)) > 0)
				if (vmig_put(&d, chunk, n))
					die("put");
			if (vmig_set_state(&d, VFIO_MIG_STATE_RESUME_COMPLETED) ||
			    vmig_set_state(&d, VFIO_MIG_STATE_RUNNING))
				die("resume");
			dt = vmig_now_ms() - t0;
			printf("   %6u/s    %-12s %8u %12.1f\n", rates[i],
			       pre ? "yes" : "no", passes, dt);
			snprintf(what, sizeof(what), "%upps-%s", rates[i],
				 pre ? "precopy" : "stopcopy");
			record("downtime_ms", what, dt, "ms");
			free(b.p);
			dev_done(&s, su);
			dev_done(&d, du);
		}
	}
}

/* --- 3. dirty-pfn queries ---------------------------------------------- */

static long mem_free_kib(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* One query over @pfns pages; the bitmap is read through the mapping. */
static double query_once(struct vmig_dev *d, uint64_t pfns)
{
	uint64_t q[3] = { 0, pfns, 0 }, copied;
	double t0 = vmig_now_ms();

	if (vmig_region_write(d, d->index, VFIO_MIG_OFF_DIRTY_PFNS, q, 24))
		die("query");
	do {
		if (vmig_region_read(d, d->index, VFIO_MIG_OFF_DIRTY_COPIED,
				     &copied, 8))
			die("copied");
		use(d->map);
	} while (copied);
	return vmig_now_ms() - t0;
}

static void dma_fill(struct vmig_dev *d, uint64_t iova, uint64_t len)
{
	uint64_t r = mttym_dma_base(vmig_region_size(d, MTTYM_MEM_REGION));
	uint32_t op = MTTYM_DMA_OP_FILL;

	vmig_region_write(d, MTTYM_MEM_REGION, r + MTTYM_DMA_DST, &iova, 8);
	vmig_region_write(d, MTTYM_MEM_REGION, r + MTTYM_DMA_LEN, &len, 8);
	vmig_region_write(d, MTTYM_MEM_REGION, r + MTTYM_DMA_CMD, &op, 4);
}

static void bench_queries(void)
{
	static const uint64_t spaces[] = { 1ULL << 30, 64ULL << 30 };
	const size_t window = 64 << 20;
	struct vmig_dev d;
	char u[40];
	unsigned int s, kind;

	printf("\n3. Dirty-pfn queries (whole IOVA space, read and clear)\n");
	printf("   %-7s %-7s %10s %14s %14s %12s\n", "space", "log", "query ms",
	       "bitmap MiB/s", "memset MiB/s", "mem delta KiB");
	dev_open(&d, "1port-1M-mmap", window, true, u);
	for (s = 0; s < 2; s++) {
		uint64_t pfns = spaces[s] / VMIG_PAGE, bytes = pfns / 8;
		uint8_t *scratch = malloc(bytes);
		double tm, t0;

		t0 = vmig_now_ms();
		memset(scratch, 0, bytes);
		use(scratch);
		tm = vmig_now_ms() - t0;
		for (kind = 0; kind < 3; kind++) {
			static const char *const names[] = { "empty", "sparse", "dense" };
			char what[64];
			long before;
			double t;
			unsigned int i;

			if (vmig_set_state(&d, VFIO_MIG_STATE_SETUP))
				die("SETUP");
			if (kind == 1)
				for (i = 0; i < 16; i++)
					dma_fill(&d, i * (window / 16), 8);
			if (kind == 2)
				dma_fill(&d, 0, window);
			before = mem_free_kib();
			t = query_once(&d, pfns);
			printf("   %3llu GiB %-7s %10.2f %14.1f %14.1f %12ld\n",
			       (unsigned long long)(spaces[s] >> 30), names[kind],
			       t, bytes / MIB / (t / 1e3), bytes / MIB / (tm / 1e3),
			       before - mem_free_kib());
			snprintf(what, sizeof(what), "%lluGiB-%s",
				 (unsigned long long)(spaces[s] >> 30), names[kind]);
			record("query_ms", what, t, "ms");
			record("query_bitmap_MiBps", what, bytes / MIB / (t / 1e3), "MiB/s");
			if (vmig_set_state(&d, VFIO_MIG_STATE_CANCELLED) ||
			    vmig_set_state(&d, VFIO_MIG_STATE_RUNNING))
				die("CANCELLED");
		}
		record("memset_MiBps", spaces[s] >> 30 == 1 ? "1GiB" : "64GiB",
		       bytes / MIB / (tm / 1e3), "MiB/s");
		free(scratch);
	}
	dev_done(&d, u);
}

/* --- 4. transitions ---------------------------------------------------- */

static void bench_transitions(void)
{
	static const struct { const char *name; uint32_t path[4]; } loops[] = {
		{ "RUNNING>SETUP>CANCELLED>RUNNING",
		  { VFIO_MIG_STATE_SETUP, VFIO_MIG_STATE_CANCELLED,
		    VFIO_MIG_STATE_RUNNING, 0 } },
		{ "RUNNING>STOPNCOPY>RUNNING",
		  { VFIO_MIG_STATE_STOPNCOPY, VFIO_MIG_STATE_RUNNING, 0, 0 } },
		{ "RUNNING>RESUME>CANCELLED>RUNNING",
		  { VFIO_MIG_STATE_RESUME, VFIO_MIG_STATE_CANCELLED,
		    VFIO_MIG_STATE_RUNNING, 0 } },
	};
	struct vmig_dev d;
	unsigned int l, i, k;
	char u[40];

	printf("\n4. State-transition latency (1 MiB device memory, 200 loops)\n");
	dev_open(&d, "1port-1M", 0, false, u);
	vmig_set_state(&d, VFIO_MIG_STATE_RUNNING);
	for (l = 0; l < 3; l++) {
		double t0 = vmig_now_ms(), us;
		unsigned int steps = 0;

		for (i = 0; i < 200; i++)
			for (k = 0; k < 4 && loops[l].path[k]; k++, steps++)
				if (vmig_set_state(&d, loops[l].path[k]))
					die(loops[l].name);
		us = (vmig_now_ms() - t0) * 1e3 / steps;
		printf("   %-34s %8.1f us per transition\n", loops[l].name, us);
		record("transition_us", loops[l].name, us, "us");
	}
	dev_done(&d, u);
}

/*
 * The CRC32C the engine chose at load (crc32c_impl) and the rates it
 * measured, from its kernel log line ("crc32c: table N MB/s, crc32c N
 * MB/s (DRIVER), x86 N MB/s: using X", each implementation the machine
 * has, or why there was no choice).
 */
static void bench_crc(void)
{
	static const char *const names[] = { "table", "crc32c", "x86" };
	static char log[1 << 20];
	char impl[32] = "?", key[16], *line = NULL, *p, *e;
	unsigned long long rate[3] = { 0 };
	FILE *f = fopen("/sys/module/vfio_mig/parameters/crc32c_impl", "r");
	unsigned int i;
	int n;

	if (f) {
		if (fscanf(f, "%31s", impl) != 1)
			snprintf(impl, sizeof(impl), "?");
		fclose(f);
	}
	printf("\n0. The engine's CRC32C (chosen at module load)\n");
	printf("   crc32c_impl: %s\n", impl);
	record("crc32c_impl", impl, 1, "chosen");
	n = klogctl(3, log, sizeof(log) - 1);	/* SYSLOG_ACTION_READ_ALL */
	if (n < 0) {
		printf("   kernel log: unreadable (%s)\n", strerror(errno));
		return;
	}
	log[n] = 0;
	for (p = log; (p = strstr(p, "vfio_mig: crc32c: ")); p++)
		line = p;
	if (!line) {
		printf("   kernel log: no crc32c line\n");
		return;
	}
	e = strchr(line, '\n');
	if (e)
		*e = 0;
	printf("   kernel log: %s\n", line);
	for (i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "%s %s ", i ? "," : ":", names[i]);
		p = strstr(line, key);
		if (!p || sscanf(p + strlen(key), "%llu MB/s", &rate[i]) != 1)
			continue;
		record("crc32c_rate", names[i], rate[i], "MB/s");
	}
	for (i = 1; i < 3; i++)
		if (rate[0] && rate[i])
			printf("   %s/table: %.2f\n", names[i],
			       (double)rate[i] / rate[0]);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	char path[512];

	if (argc > 2 || (argc == 2 && !strcmp(argv[1], "--help"))) {
		printf("usage: vfio-mig-bench [OUTDIR]\n"
		       "Measure the vfio-mig migration region; print a table and\n"
		       "write OUTDIR/bench.csv and OUTDIR/bench.json.\n");
		return argc > 2;
	}
	snprintf(path, sizeof(path), "%s/bench.csv", dir);
	csv = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	json = fopen(path, "w");
	if (!csv || !json) {
		perror("vfio-mig-bench: output");
		return 1;
	}
	fprintf(csv, "bench,case,value,unit\n");
	fprintf(json, "[");
	printf("vfio-mig benchmarks (figures, not pass/fail)\n");
	bench_crc();
	bench_throughput();
	bench_resume_memory();
	bench_downtime();
	bench_queries();
	bench_transitions();
	fprintf(json, "\n]\n");
	fclose(csv);
	fclose(json);
	return 0;
}
