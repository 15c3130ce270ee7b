// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection sweep, in the manner of the kernel's iommufd_fail_nth:
 * every user-reachable operation of the devices is run once with
 * /proc/thread-self/fail-nth = 1, 2, 3, ... until it runs through without
 * reaching the injected failure, so each allocation (failslab,
 * fail_page_alloc) and user copy (fail_usercopy) on its path fails once.
 * After every injected failure the operation must have failed with a
 * clean errno and changed nothing the spec says it keeps (or absorbed the
 * failure and done its job), the device must still work, and a full
 * migration of it must succeed.  Each operation's count of injection
 * points is printed.
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION_DEBUG_FS, FAILSLAB,
 * FAIL_PAGE_ALLOC and FAULT_INJECTION_USERCOPY (the debug kernel); skips
 * elsewhere.  Creating an mdev reaches a defect of the vfio core's own
 * error path on 6.1 (scripts/debug-kernel/0001-*.patch, which the debug
 * kernel carries).  The kernel log is marked around the sweep so the VM
 * runner does not count the allocation-failure warnings it causes as a
 * report.
 *
 * FAILNTH_ONLY=TEXT sweeps only the operations whose name contains TEXT;
 * FAILNTH_VERBOSE=1 prints a line for every injection point, for example:
 *   tools/testing/vm/run --kernel debug -- \
 *     env FAILNTH_ONLY=v2 build/selftests/test_failnth
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define DEBUGFS		"/sys/kernel/debug"
#define MAX_POINTS	800	/* a sweep longer than this is a bug */
#define IOVA		(1ull << 30)
#define GUEST_SIZE	(64 * 4096)

/* v1 header offsets (struct vfio_device_migration_info) */
#define V1_STATE	0
#define V1_PENDING	8
#define V1_DATA_OFFSET	16
#define V1_DATA_SIZE	24
#define V1_RUN		VFIO_DEVICE_STATE_V1_RUNNING
#define V1_SAV		VFIO_DEVICE_STATE_V1_SAVING
#define V1_RES		VFIO_DEVICE_STATE_V1_RESUMING

struct ctx {
	struct vdev a;		/* the device under test */
	struct vdev b;		/* a second one, destination of checks */
	struct mig m;		/* a's vfio-mig region */
	struct mig mb;		/* b's */
	bool a_open;
	int datafd;		/* a v2 data fd of a, or -1 */
	int efd;
	struct stream ref;	/* a valid stream for a's type */
	struct stream got;	/* what an operation saved */
	uint64_t chunk;		/* a Get buffer's chunk not yet copied out */
	size_t fed;		/* bytes of ref a resume took so far */
	char uuid[40];		/* an mdev an operation made */
	uint8_t *map;		/* a mapping an operation made */
	/* what the spec says a failed operation keeps */
	uint32_t region_state, v1_state, v2_state;
	uint32_t v2_target;	/* the state a v2 arc asked for */
	struct dev_snap snap;
};

struct op {
	const char *name;
	/* bring the device where the operation starts (no injection) */
	void (*setup)(struct ctx *c);
	/* the operation: 0 or -errno */
	int (*run)(struct ctx *c);
	/* after success: did it do its job?  NULL: nothing to check */
	bool (*done)(struct ctx *c);
	/* after an injected failure: beyond the generic checks */
	bool (*kept)(struct ctx *c);
	/* one more errno a failure may give (a device's DMA error: EIO) */
	int also;
	/* the operation does not touch the device under test */
	bool elsewhere;
};

static int nth_fd = -1;
static int fails;
static bool verbose;	/* FAILNTH_VERBOSE=1: a line per injection point */

/* --- fault injection ----------------------------------------------------- */

static bool debugfs_write(const char *file, const char *val)
{
	char path[256];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), DEBUGFS "/%s", file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* Every allocation and user copy may fail; nothing is printed for it. */
static bool setup_injection(void)
{
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd < 0)
		return false;
	return debugfs_write("failslab/ignore-gfp-wait", "N") &&
	       debugfs_write("failslab/verbose", "0") &&
	       debugfs_write("fail_page_alloc/ignore-gfp-wait", "N") &&
	       debugfs_write("fail_page_alloc/ignore-gfp-highmem", "N") &&
	       debugfs_write("fail_page_alloc/min-order", "0") &&
	       debugfs_write("fail_page_alloc/verbose", "0") &&
	       debugfs_write("fail_usercopy/verbose", "0");
}

/* A line in the kernel log, for the VM runner (see tools/testing/vm/run). */
static void kmsg(const char *what)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, what, strlen(what)) < 0)
			t_diag("cannot write to /dev/kmsg");
		close(fd);
	}
}

static void arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		t_bail("cannot arm fail-nth: %s", strerror(errno));
}

/*
 * Disarm; true if the armed failure was injected.  Reading and disarming
 * are themselves user copies: a read that faults means the count was
 * still 1 (not injected), and a disarm that faults is repeated.
 */
static bool disarm(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	bool injected = n > 0 && buf[0] == '0';

	if (n < 0 && errno != EFAULT)
		t_bail("cannot read fail-nth: %s", strerror(errno));
	if (pwrite(nth_fd, "0", 1, 0) != 1 && pwrite(nth_fd, "0", 1, 0) != 1)
		t_bail("cannot disarm fail-nth: %s", strerror(errno));
	return injected;
}

static bool clean_errno(int err)
{
	switch (err) {
	case -ENOMEM:
	case -EFAULT:
	case -ENOSPC:
	case -EMFILE:
	case -ENFILE:
		return true;
	}
	return false;
}

/* --- device helpers ------------------------------------------------------ */

static int rw_ret(ssize_t n, size_t want)
{
	return n < 0 ? (int)n : n == (ssize_t)want ? 0 : -EIO;
}

static int v1_read64(struct ctx *c, unsigned int off, uint64_t *v)
{
	return rw_ret(region_read(&c->a, MTTYM_V1_REGION, off, v, 8), 8);
}

static int v1_set(struct ctx *c, uint32_t s)
{
	return rw_ret(region_write(&c->a, MTTYM_V1_REGION, V1_STATE, &s, 4), 4);
}

static uint32_t v1_state(struct ctx *c)
{
	uint32_t s = ~0u;

	region_read(&c->a, MTTYM_V1_REGION, V1_STATE, &s, 4);
	return s;
}

static int region_set(struct ctx *c, uint32_t s)
{
	return mig_set_state(&c->a, &c->m, s);
}

static int run_open(struct ctx *c);

/* Every front-end idle, no fd or mapping left from an operation. */
static void quiet(struct ctx *c)
{
	if (c->datafd >= 0)
		close(c->datafd);
	c->datafd = -1;
	if (c->map)
		munmap(c->map, c->m.data_size);
	c->map = NULL;
	if (!c->a_open && run_open(c))
		t_bail("cannot reopen the device: %s", strerror(errno));
	if (ioctl(c->a.fd, VFIO_DEVICE_RESET))
		t_bail("VFIO_DEVICE_RESET failed: %s", strerror(errno));
	stream_free(&c->got);
	c->chunk = 0;
	c->fed = 0;
}

static void record_kept(struct ctx *c)
{
	if (!c->a_open)
		return;
	c->region_state = mig_state(&c->a, &c->m);
	c->v1_state = v1_state(c);
	c->v2_state = v2_get_state(&c->a);
}

static bool states_kept(struct ctx *c)
{
	return mig_state(&c->a, &c->m) == c->region_state &&
	       v1_state(c) == c->v1_state && v2_get_state(&c->a) == c->v2_state;
}

/* The device works: a UART register and device memory answer. */
static bool usable(struct ctx *c)
{
	uint8_t b = 0;

	uart_out(&c->a, 0, UART_SCR, 0x5c);
	return uart_in(&c->a, 0, UART_SCR) == 0x5c &&
	       region_write(&c->a, MTTYM_MEM_REGION, 4096, "q", 1) == 1 &&
	       region_read(&c->a, MTTYM_MEM_REGION, 4096, &b, 1) == 1 &&
	       b == 'q';
}

/* Devices a and b are in the same state, a's scratch register @scr. */
static bool b_equals_a(struct ctx *c, uint8_t scr)
{
	struct dev_snap sa, sb;

	dev_snap(&c->a, &sa);
	dev_snap(&c->b, &sb);
	return !memcmp(&sa, &sb, sizeof(sa)) && sa.scr == scr;
}

/* A full migration of a into b through the v2 protocol works. */
static bool migrates(struct ctx *c, uint8_t seed)
{
	struct stream s = { 0 };
	bool ok;

	dev_fill(&c->a, seed);
	ok = !v2_save(&c->a, &s, 65536) &&
	     !v2_restore(&c->b, s.buf, s.len, 65536);
	stream_free(&s);
	return ok && b_equals_a(c, seed);
}

/* --- operations -------------------------------------------------------- */

static void setup_none(struct ctx *c)
{
	(void)c;
}

static void setup_filled(struct ctx *c)
{
	dev_fill(&c->a, 0x41);
}

/* The device fd itself */

static void setup_closed(struct ctx *c)
{
	dev_fill(&c->a, 0x42);
	dev_snap(&c->a, &c->snap);
	dev_fill(&c->a, 0x42);
	close(c->a.fd);
	c->a.fd = c->a.dev.fd = -1;
	c->a_open = false;
}

static int run_open(struct ctx *c)
{
	int fd = ioctl(c->a.group, VFIO_GROUP_GET_DEVICE_FD, c->a.uuid);

	if (fd < 0)
		return -errno;
	c->a.fd = c->a.dev.fd = fd;
	c->a_open = true;
	return 0;
}

/* After a failed open: open again; the device kept its state. */
static bool kept_open(struct ctx *c)
{
	struct dev_snap s;

	if (!c->a_open && run_open(c))
		return false;
	dev_snap(&c->a, &s);
	return !memcmp(&s, &c->snap, sizeof(s));
}

static bool done_open(struct ctx *c)
{
	return kept_open(c);
}

static void setup_open_session(struct ctx *c)
{
	region_set(c, VFIO_MIG_STATE_SETUP);
}

static int run_close(struct ctx *c)
{
	close(c->a.fd);
	c->a.fd = c->a.dev.fd = -1;
	c->a_open = false;
	return run_open(c);
}

/* Reopened after close: every front-end idle. */
static bool done_close(struct ctx *c)
{
	return c->a_open && mig_state(&c->a, &c->m) == VFIO_MIG_STATE_NONE &&
	       v2_get_state(&c->a) == ST_RUNNING && v1_state(c) == V1_RUN;
}

/* ioctls */

static int run_get_info(struct ctx *c)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };

	return ioctl(c->a.fd, VFIO_DEVICE_GET_INFO, &di) ? -errno :
	       di.num_regions == MTTYM_V1_REGION + 1 ? 0 : -EPROTO;
}

static int run_region_info(struct ctx *c)
{
	struct {
		struct vfio_region_info ri;
		uint8_t caps[256];
	} buf = { .ri.argsz = sizeof(buf), .ri.index = c->m.index };

	if (ioctl(c->a.fd, VFIO_DEVICE_GET_REGION_INFO, &buf))
		return -errno;
	return buf.ri.cap_offset && buf.ri.size == c->m.size ? 0 : -EPROTO;
}

static int run_irq_info(struct ctx *c)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii),
				    .index = VFIO_PCI_MSI_IRQ_INDEX };

	return ioctl(c->a.fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) ? -errno :
	       ii.count == 1 ? 0 : -EPROTO;
}

static int run_set_irqs(struct ctx *c)
{
	return irq_set_eventfd(&c->a, VFIO_PCI_MSI_IRQ_INDEX, c->efd);
}

static int run_reset(struct ctx *c)
{
	return ioctl(c->a.fd, VFIO_DEVICE_RESET) ? -errno : 0;
}

static bool done_reset(struct ctx *c)
{
	return done_close(c) && uart_in(&c->a, 0, UART_SCR) == 0;
}

/* The vfio-mig region */

static int run_r_setup(struct ctx *c)
{
	return region_set(c, VFIO_MIG_STATE_SETUP);
}

static void setup_r_setup(struct ctx *c)
{
	dev_fill(&c->a, 0x43);
	region_set(c, VFIO_MIG_STATE_SETUP);
}

static int run_r_precopy(struct ctx *c)
{
	return region_set(c, VFIO_MIG_STATE_PRECOPY);
}

static void setup_r_precopy(struct ctx *c)
{
	setup_r_setup(c);
	region_set(c, VFIO_MIG_STATE_PRECOPY);
}

static int run_r_stopncopy(struct ctx *c)
{
	return region_set(c, VFIO_MIG_STATE_STOPNCOPY);
}

static void setup_r_stopped(struct ctx *c)
{
	setup_r_precopy(c);
	region_set(c, VFIO_MIG_STATE_STOPNCOPY);
}

static int run_r_completed(struct ctx *c)
{
	return region_set(c, VFIO_MIG_STATE_SAVE_COMPLETED);
}

static int run_r_cancel(struct ctx *c)
{
	return region_set(c, VFIO_MIG_STATE_CANCELLED);
}

/* Copy out a chunk a Get buffer handed out. */
static int region_take(struct ctx *c)
{
	uint64_t n = c->chunk;

	c->chunk = 0;
	stream_reserve(&c->got, n);
	if (rw_ret(region_read(&c->a, c->m.index, c->m.data_off,
			       c->got.buf + c->got.len, n), n))
		return -EIO;
	c->got.len += n;
	return 0;
}

/* Get buffer until the stream ends, then restore it into b. */
static bool region_finish_save(struct ctx *c)
{
	long n = 1;

	if (c->chunk && region_take(c))
		return false;
	while (n > 0 && mig_state(&c->a, &c->m) == VFIO_MIG_STATE_PRECOPY &&
	       mig_read64(&c->a, &c->m, VFIO_MIG_OFF_PRECOPY_ONLY))
		n = mig_get_chunk(&c->a, &c->m, &c->got);
	if (n < 0)
		return false;
	if (mig_state(&c->a, &c->m) != VFIO_MIG_STATE_STOPNCOPY &&
	    region_set(c, VFIO_MIG_STATE_STOPNCOPY))
		return false;
	while ((n = mig_get_chunk(&c->a, &c->m, &c->got)) > 0)
		;
	if (n < 0 || region_set(c, VFIO_MIG_STATE_SAVE_COMPLETED) ||
	    region_set(c, VFIO_MIG_STATE_RUNNING))
		return false;
	if (mig_restore(&c->b, &c->mb, c->got.buf, c->got.len,
			(const size_t[]){ 0 }))
		return false;
	return b_equals_a(c, 0x43);
}

/* Get buffer alone: the header read that stages the next chunk. */
static int run_r_get_buffer(struct ctx *c)
{
	uint64_t data[2];
	int err = mig_hdr_read(&c->a, &c->m, VFIO_MIG_OFF_DATA, data,
			       sizeof(data));

	if (!err)
		c->chunk = data[1];
	return err;
}

static int run_r_pending(struct ctx *c)
{
	uint64_t p[4];

	return mig_hdr_read(&c->a, &c->m, VFIO_MIG_OFF_PENDING, p, sizeof(p));
}

static void setup_r_query(struct ctx *c)
{
	setup_r_setup(c);
	dma_run(&c->a, MTTYM_DMA_OP_FILL, 0, IOVA + 3 * 4096, 8);
}

/* The bitmap a query chunk left in the data section: page 3 alone. */
static int query_bits(struct ctx *c)
{
	uint64_t bits = 0;
	int err = rw_ret(region_read(&c->a, c->m.index, c->m.data_off, &bits,
				     8), 8);

	return err ?: bits == 1ull << 3 ? 0 : -EPROTO;
}

static int run_r_query(struct ctx *c)
{
	uint64_t q[3] = { IOVA, 64, 0 }, copied = 0;
	int err;

	err = mig_hdr_write(&c->a, &c->m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24) ?:
	      mig_hdr_read(&c->a, &c->m, VFIO_MIG_OFF_DIRTY_COPIED, &copied, 8);
	if (err)
		return err;
	if (copied != 64)
		return -EPROTO;
	c->chunk = copied;
	return query_bits(c);
}

/*
 * After a failure: if the chunk was handed out, the data section still
 * holds it; if not, the query was undone and page 3 is still dirty.
 */
static bool kept_query(struct ctx *c)
{
	return c->chunk ? query_bits(c) == 0 : run_r_query(c) == 0;
}

static void setup_r_resume(struct ctx *c)
{
	dev_snap(&c->a, &c->snap);
}

static int run_r_resume(struct ctx *c)
{
	return region_set(c, VFIO_MIG_STATE_RESUME);
}

static void setup_r_resuming(struct ctx *c)
{
	region_set(c, VFIO_MIG_STATE_RESUME);
}

/* The rest of ref, from c->fed, in data-section-sized Set buffers. */
static int run_r_feed(struct ctx *c)
{
	while (c->fed < c->ref.len) {
		uint64_t n = c->ref.len - c->fed, data[2];
		int err;

		if (n > c->m.data_size)
			n = c->m.data_size;
		data[0] = c->m.data_off;
		data[1] = n;
		err = rw_ret(region_write(&c->a, c->m.index, c->m.data_off,
					  c->ref.buf + c->fed, n), n) ?:
		      mig_hdr_write(&c->a, &c->m, VFIO_MIG_OFF_DATA, data,
				    sizeof(data));
		if (err)
			return err;
		c->fed += n;
	}
	return 0;
}

static bool done_resumed(struct ctx *c);

static bool done_feed(struct ctx *c)
{
	return !region_set(c, VFIO_MIG_STATE_RESUME_COMPLETED) &&
	       done_resumed(c);
}

/* A failed Set buffer consumed nothing: the rest of the stream goes in. */
static bool kept_feed(struct ctx *c)
{
	return mig_state(&c->a, &c->m) == VFIO_MIG_STATE_RESUME &&
	       !run_r_feed(c) && done_feed(c);
}

static void setup_r_fed(struct ctx *c)
{
	region_set(c, VFIO_MIG_STATE_RESUME);
	if (run_r_feed(c))
		t_bail("feeding the reference stream failed");
}

static int run_r_resume_completed(struct ctx *c)
{
	return region_set(c, VFIO_MIG_STATE_RESUME_COMPLETED);
}

/* The resumed device, running again, has the reference state. */
static bool resumed(struct ctx *c)
{
	struct dev_snap s;

	dev_snap(&c->a, &s);
	return s.scr == 0x77;
}

static bool done_resumed(struct ctx *c)
{
	return !region_set(c, VFIO_MIG_STATE_RUNNING) && resumed(c);
}

static int run_data_pwrite(struct ctx *c)
{
	return rw_ret(region_write(&c->a, c->m.index, c->m.data_off,
				   c->ref.buf, 8192), 8192);
}

static int run_data_pread(struct ctx *c)
{
	uint8_t buf[8192];

	return rw_ret(region_read(&c->a, c->m.index, c->m.data_off, buf,
				  sizeof(buf)), sizeof(buf));
}

/* The v1 region */

static int run_v1_precopy(struct ctx *c)
{
	return v1_set(c, V1_SAV | V1_RUN);
}

static void setup_v1_precopy(struct ctx *c)
{
	dev_fill(&c->a, 0x43);
	v1_set(c, V1_SAV | V1_RUN);
}

static int run_v1_stopcopy(struct ctx *c)
{
	return v1_set(c, V1_SAV);
}

static void setup_v1_stopcopy(struct ctx *c)
{
	setup_v1_precopy(c);
	v1_set(c, V1_SAV);
}

static int run_v1_stop(struct ctx *c)
{
	return v1_set(c, 0);
}

static int run_v1_pending(struct ctx *c)
{
	uint64_t v;

	return v1_read64(c, V1_PENDING, &v);
}

static int run_v1_stage(struct ctx *c)
{
	uint64_t off, size;

	return v1_read64(c, V1_DATA_OFFSET, &off) ?:
	       v1_read64(c, V1_DATA_SIZE, &size);
}

/*
 * Save the rest through v1, as QEMU 7.2 does (a staged chunk is copied
 * out before pending_bytes or a state write consumes it), pre-copy first
 * if that is where the device is, and restore the stream into b.
 */
static bool v1_finish_save(struct ctx *c)
{
	uint64_t pend, size;
	int err = 0;

	while (!err) {
		err = v1_read64(c, V1_DATA_SIZE, &size);
		if (!err && size) {
			stream_reserve(&c->got, size);
			err = rw_ret(region_read(&c->a, MTTYM_V1_REGION, 4096,
						 c->got.buf + c->got.len, size),
				     size);
			c->got.len += size;
		}
		if (!err)
			err = v1_read64(c, V1_PENDING, &pend);
		if (err || pend)
			continue;
		if (v1_state(c) != (V1_SAV | V1_RUN))
			break;
		err = v1_set(c, V1_SAV);
	}
	if (err || v1_set(c, 0) || v1_set(c, V1_RUN) ||
	    v2_restore(&c->b, c->got.buf, c->got.len, 65536))
		return false;
	return b_equals_a(c, 0x43);
}

static int run_v1_resuming(struct ctx *c)
{
	return v1_set(c, V1_RES);
}

static void setup_v1_resuming(struct ctx *c)
{
	dev_snap(&c->a, &c->snap);
	v1_set(c, V1_RES);
}

/* The rest of ref, from c->fed: a chunk, then its data_size write. */
static int run_v1_feed(struct ctx *c)
{
	while (c->fed < c->ref.len) {
		uint64_t n = c->ref.len - c->fed;
		int err;

		if (n > c->m.data_size)
			n = c->m.data_size;
		err = rw_ret(region_write(&c->a, MTTYM_V1_REGION, 4096,
					  c->ref.buf + c->fed, n), n) ?:
		      rw_ret(region_write(&c->a, MTTYM_V1_REGION, V1_DATA_SIZE,
					  &n, 8), 8);
		if (err)
			return err;
		c->fed += n;
	}
	return 0;
}

static bool done_v1_feed(struct ctx *c)
{
	return !v1_set(c, V1_RUN) && resumed(c);
}

/* A failed write consumed nothing: the rest of the stream goes in. */
static bool kept_v1_feed(struct ctx *c)
{
	return v1_state(c) == V1_RES && !run_v1_feed(c) && done_v1_feed(c);
}

static void setup_v1_fed(struct ctx *c)
{
	v1_set(c, V1_RES);
	if (run_v1_feed(c))
		t_bail("feeding the reference stream through v1 failed");
}

static int run_v1_run(struct ctx *c)
{
	return v1_set(c, V1_RUN);
}

/* The v2 protocol */

static int run_v2(struct ctx *c, uint32_t state)
{
	int fd = -1, err;

	c->v2_target = state;
	err = v2_set_state(&c->a, state, &fd);

	if (fd >= 0)
		c->datafd = fd;
	return err;
}

static int run_v2_stop(struct ctx *c)
{
	return run_v2(c, ST_STOP);
}

static void setup_v2_stop(struct ctx *c)
{
	dev_fill(&c->a, 0x43);
	v2_set_state(&c->a, ST_STOP, NULL);
}

static int run_v2_stop_copy(struct ctx *c)
{
	return run_v2(c, ST_STOP_COPY);
}

/*
 * When the vfio core cannot copy the result of a state change back to
 * the user, the arc has still happened (Documentation/vfio-migration.rst,
 * part 3): either state is right, the others' are kept.
 */
static bool kept_v2_arc(struct ctx *c)
{
	uint32_t s = v2_get_state(&c->a);

	return (s == c->v2_state || s == c->v2_target) &&
	       mig_state(&c->a, &c->m) == c->region_state &&
	       v1_state(c) == c->v1_state;
}

static void setup_v2_saving(struct ctx *c)
{
	setup_v2_stop(c);
	run_v2(c, ST_STOP_COPY);
}

static int run_v2_read(struct ctx *c)
{
	int err;

	v2_read_all(c->datafd, &c->got, 65536, &err);
	return -err;
}

/* A failed read delivered nothing twice: read on and restore. */
static bool v2_finish_save(struct ctx *c)
{
	int err;

	v2_read_all(c->datafd, &c->got, 65536, &err);
	if (err || v2_set_state(&c->a, ST_STOP, NULL) ||
	    v2_set_state(&c->a, ST_RUNNING, NULL) ||
	    v2_restore(&c->b, c->got.buf, c->got.len, 65536))
		return false;
	return b_equals_a(c, 0x43);
}

static int run_v2_leave_save(struct ctx *c)
{
	return run_v2(c, ST_STOP);
}

static int run_v2_resuming(struct ctx *c)
{
	return run_v2(c, ST_RESUMING);
}


static void setup_v2_resuming(struct ctx *c)
{
	dev_snap(&c->a, &c->snap);
	v2_set_state(&c->a, ST_STOP, NULL);
	run_v2(c, ST_RESUMING);
}

/* The rest of ref, from c->fed, in 64 KiB writes. */
static int run_v2_write(struct ctx *c)
{
	while (c->fed < c->ref.len) {
		size_t n = c->ref.len - c->fed;
		ssize_t w;

		w = write(c->datafd, c->ref.buf + c->fed, n < 65536 ? n : 65536);
		if (w < 0)
			return -errno;
		c->fed += w;
	}
	return 0;
}

static bool done_v2_write(struct ctx *c)
{
	return !v2_set_state(&c->a, ST_STOP, NULL) &&
	       !v2_set_state(&c->a, ST_RUNNING, NULL) && resumed(c);
}

/* A failed write took nothing: the rest of the stream goes in. */
static bool kept_v2_write(struct ctx *c)
{
	return !run_v2_write(c) && done_v2_write(c);
}

static void setup_v2_written(struct ctx *c)
{
	setup_v2_resuming(c);
	if (run_v2_write(c))
		t_bail("writing the reference stream failed");
}

static int run_v2_resume_done(struct ctx *c)
{
	return run_v2(c, ST_STOP);
}

static int run_v2_running(struct ctx *c)
{
	return run_v2(c, ST_RUNNING);
}

static int run_log_start(struct ctx *c)
{
	return v2_logging(&c->a, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, IOVA,
			  GUEST_SIZE, NULL);
}

static void setup_logging(struct ctx *c)
{
	run_log_start(c);
	dma_run(&c->a, MTTYM_DMA_OP_FILL, 0, IOVA + 5 * 4096, 8);
}

static int run_log_report(struct ctx *c)
{
	uint64_t bits = 0;
	int err = v2_logging(&c->a, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			     IOVA, GUEST_SIZE, &bits);

	return err ?: bits == 1ull << 5 ? 0 : -EPROTO;
}

static int run_log_stop(struct ctx *c)
{
	return v2_logging(&c->a, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, 0, 0,
			  NULL);
}

/* mmap of the data section (a's type has mmap) */

static int run_mmap(struct ctx *c)
{
	void *p = mmap(NULL, c->m.data_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       c->a.fd, (off_t)region_pos(&c->a, c->m.index, c->m.data_off));

	if (p == MAP_FAILED)
		return -errno;
	c->map = p;
	return 0;
}

/* BARs: the UART, device memory and the DMA engine */

static int run_uart(struct ctx *c)
{
	uint8_t v = 0x6b;

	return rw_ret(region_write(&c->a, MTTYM_UART0_REGION, UART_SCR, &v, 1),
		      1) ?:
	       rw_ret(region_read(&c->a, MTTYM_UART0_REGION, UART_SCR, &v, 1),
		      1) ?: v == 0x6b ? 0 : -EPROTO;
}

static int run_mem(struct ctx *c)
{
	uint64_t v = 0x1122334455667788ull, r = 0;

	return rw_ret(region_write(&c->a, MTTYM_MEM_REGION, 8192, &v, 8), 8) ?:
	       rw_ret(region_read(&c->a, MTTYM_MEM_REGION, 8192, &r, 8), 8) ?:
	       r == v ? 0 : -EPROTO;
}

static void setup_dma(struct ctx *c)
{
	region_set(c, VFIO_MIG_STATE_SETUP);
}

/*
 * A DMA fill programmed through its registers in BAR2.  A register access fails with an
 * errno; a vfio_dma_rw() that failed shows as STATUS error (-EIO here).
 */
static int run_dma(struct ctx *c)
{
	uint64_t regs[3] = { 0, IOVA + 8 * 4096, 3 * 4096 };
	uint32_t op = MTTYM_DMA_OP_FILL, st = 0;
	struct vdev *v = &c->a;

	return rw_ret(dma_reg_write(v, MTTYM_DMA_SRC, regs, 8), 8) ?:
	       rw_ret(dma_reg_write(v, MTTYM_DMA_DST, regs + 1, 8), 8) ?:
	       rw_ret(dma_reg_write(v, MTTYM_DMA_LEN, regs + 2, 8), 8) ?:
	       rw_ret(dma_reg_write(v, MTTYM_DMA_CMD, &op, 4), 4) ?:
	       rw_ret(dma_reg_read(v, MTTYM_DMA_STATUS, &st, 4), 4) ?:
	       st == MTTYM_DMA_DONE ? 0 : st == MTTYM_DMA_ERROR ? -EIO : -EPROTO;
}

/* After a failed DMA the same DMA works, and a query answers. */
static bool kept_dma(struct ctx *c)
{
	uint64_t q[3] = { IOVA, 64, 0 }, copied = 0;
	int err;

	if (run_dma(c))
		return false;
	err = mig_hdr_write(&c->a, &c->m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24) ?:
	      mig_hdr_read(&c->a, &c->m, VFIO_MIG_OFF_DIRTY_COPIED, &copied, 8);
	/* A log page lost to the failure makes queries say so (EIO). */
	return (!err && copied == 64) || err == -EIO;
}

/* sysfs: mdev creation and the traffic source */

/* Writing a UUID made beforehand to the type's create file. */
static int run_create(struct ctx *c)
{
	return sysfs_write(MDEV_PARENT "/mdev_supported_types/" MDEV_TYPE_1P
			   "/create", c->uuid);
}

/*
 * devtmpfs makes a device's node on a best-effort basis: when that fails
 * (an allocation of the creating task), device_add() still succeeds.  Make
 * a missing /dev/vfio/N of the mdev's group from sysfs.
 */
static void make_group_node(const char *uuid)
{
	char path[512], link[256], num[32];
	unsigned int maj, min;
	const char *group;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group",
		 uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = 0;
	group = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	snprintf(path, sizeof(path), "/sys/class/vfio/%s/dev", group);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(num, sizeof(num), f) && sscanf(num, "%u:%u", &maj, &min) == 2) {
		snprintf(path, sizeof(path), "/dev/vfio/%s", group);
		if (!mknod(path, S_IFCHR | 0600, makedev(maj, min)))
			t_diag("made %s, which devtmpfs dropped", path);
	}
	fclose(f);
}

/* Open the mdev an operation made: 0 or -errno. */
static int open_made(struct ctx *c, struct vdev *v)
{
	int err;

	if (!mdev_exists(c->uuid))
		return -ENOENT;
	err = vdev_open(v, c->uuid);
	if (err == -ENOENT) {
		make_group_node(c->uuid);
		err = vdev_open(v, c->uuid);
	}
	return err;
}

/* The new mdev opens and works; then it goes again. */
static bool done_create(struct ctx *c)
{
	struct vdev v;
	bool ok = false;
	int err = open_made(c, &v);

	if (!err) {
		uart_out(&v, 0, UART_SCR, 0x3d);
		ok = uart_in(&v, 0, UART_SCR) == 0x3d;
		vdev_close(&v);
	}
	if (!ok)
		t_diag("created mdev %s: %s", c->uuid,
		       err ? strerror(-err) : "does not work");
	return mdev_remove(c->uuid) == 0 && ok;
}

static long avail_before;

static void setup_create(struct ctx *c)
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY);

	if (fd < 0 || read(fd, c->uuid, 36) != 36)
		t_bail("cannot make a UUID");
	close(fd);
	c->uuid[36] = 0;
	avail_before = mdev_available(MDEV_TYPE_1P);
}

static bool kept_create(struct ctx *c)
{
	return !mdev_exists(c->uuid) &&
	       mdev_available(MDEV_TYPE_1P) == avail_before;
}

/*
 * The second sample driver's mdev: the engine's registration, its MSI
 * and config region serve it.  Once made it opens, its registers work
 * and its MSI eventfd can be set; then it goes again.
 */
#define MCOUNT_PARENT	"/sys/class/mdev_bus/mcount_mig"
#define MCOUNT_TYPE	"mcount_mig-4ctr"

static int run_create_mcount(struct ctx *c)
{
	return sysfs_write(MCOUNT_PARENT "/mdev_supported_types/" MCOUNT_TYPE
			   "/create", c->uuid);
}

static bool done_create_mcount(struct ctx *c)
{
	uint64_t step = 0x1234, got = 0;
	struct vdev v;
	bool ok = false;
	int err = open_made(c, &v);

	if (!err) {
		ok = region_write(&v, 0, 0x20, &step, 8) == 8 &&
		     region_read(&v, 0, 0x20, &got, 8) == 8 && got == step &&
		     !irq_set_eventfd(&v, VFIO_PCI_MSI_IRQ_INDEX, c->efd);
		vdev_close(&v);
	}
	if (!ok)
		t_diag("created mcount mdev %s: %s", c->uuid,
		       err ? strerror(-err) : "does not work");
	return mdev_remove(c->uuid) == 0 && ok;
}

static bool kept_create_mcount(struct ctx *c)
{
	return !mdev_exists(c->uuid);
}

static int traffic(struct ctx *c, const char *file, const char *line)
{
	char path[160];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/traffic/%s",
		 c->a.uuid, file);
	return sysfs_write(path, line);
}

static int run_rx(struct ctx *c)
{
	return traffic(c, "rx", "0 4 33");
}

static int run_tmem(struct ctx *c)
{
	return traffic(c, "mem", "4096 100 7");
}

static int run_tdma(struct ctx *c)
{
	return traffic(c, "dma", "0 1073741824 4096");
}

static int run_digest(struct ctx *c)
{
	char path[160], buf[16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/traffic/digest",
		 c->a.uuid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	n = n < 0 ? -errno : n == 9 ? 0 : -EPROTO;
	close(fd);
	return (int)n;
}

#define OP(n, s, r, d, k)	{ n, s, r, d, k, 0, false }
#define OP_DMA(n, s, r, d, k)	{ n, s, r, d, k, -EIO, false }
#define OP_ELSEWHERE(n, s, r, d, k)	{ n, s, r, d, k, 0, true }

static const struct op ops[] = {
	OP("open the device fd", setup_closed, run_open, done_open, kept_open),
	OP("close the device fd mid-session", setup_open_session, run_close,
	   done_close, done_close),
	OP("VFIO_DEVICE_GET_INFO", setup_none, run_get_info, NULL, NULL),
	OP("VFIO_DEVICE_GET_REGION_INFO (caps)", setup_none, run_region_info,
	   NULL, NULL),
	OP("VFIO_DEVICE_GET_IRQ_INFO", setup_none, run_irq_info, NULL, NULL),
	OP("VFIO_DEVICE_SET_IRQS (MSI eventfd)", setup_none, run_set_irqs,
	   NULL, NULL),
	OP("VFIO_DEVICE_RESET mid-session", setup_r_setup, run_reset,
	   done_reset, NULL),
	OP("region: RUNNING -> SETUP", setup_filled, run_r_setup, NULL, NULL),
	OP("region: SETUP -> PRECOPY", setup_r_setup, run_r_precopy, NULL,
	   NULL),
	OP("region: pending", setup_r_precopy, run_r_pending, NULL, NULL),
	OP("region: Get buffer in PRECOPY", setup_r_precopy, run_r_get_buffer,
	   region_finish_save, region_finish_save),
	OP("region: PRECOPY -> STOPNCOPY", setup_r_precopy, run_r_stopncopy,
	   region_finish_save, region_finish_save),
	OP("region: RUNNING -> STOPNCOPY", setup_filled, run_r_stopncopy, NULL,
	   NULL),
	OP("region: Get buffer in STOPNCOPY", setup_r_stopped,
	   run_r_get_buffer, region_finish_save, region_finish_save),
	OP("region: STOPNCOPY -> SAVE_COMPLETED", setup_r_stopped,
	   run_r_completed, NULL, NULL),
	OP("region: STOPNCOPY -> CANCELLED", setup_r_stopped, run_r_cancel,
	   NULL, NULL),
	OP("region: dirty-pfn query", setup_r_query, run_r_query, NULL,
	   kept_query),
	OP("region: RUNNING -> RESUME", setup_r_resume, run_r_resume, NULL,
	   NULL),
	OP("region: data section pwrite", setup_r_resuming, run_data_pwrite,
	   NULL, NULL),
	OP("region: data section pread", setup_r_precopy, run_data_pread, NULL,
	   NULL),
	OP("region: Set buffer (the whole stream)", setup_r_resuming,
	   run_r_feed, done_feed, kept_feed),
	OP("region: RESUME -> RESUME_COMPLETED", setup_r_fed,
	   run_r_resume_completed, done_resumed, NULL),
	OP("v1: running -> pre-copy", setup_filled, run_v1_precopy, NULL,
	   NULL),
	OP("v1: pending_bytes", setup_v1_precopy, run_v1_pending, NULL, NULL),
	OP("v1: stage a chunk in pre-copy", setup_v1_precopy, run_v1_stage,
	   v1_finish_save, v1_finish_save),
	OP("v1: pre-copy -> stop-and-copy", setup_v1_precopy, run_v1_stopcopy,
	   v1_finish_save, v1_finish_save),
	OP("v1: stage a chunk in stop-and-copy", setup_v1_stopcopy,
	   run_v1_stage, v1_finish_save, v1_finish_save),
	OP("v1: stop-and-copy -> stopped", setup_v1_stopcopy, run_v1_stop,
	   NULL, NULL),
	OP("v1: running -> resuming", setup_r_resume, run_v1_resuming, NULL,
	   NULL),
	OP("v1: data_size writes (the whole stream)", setup_v1_resuming,
	   run_v1_feed, done_v1_feed, kept_v1_feed),
	OP("v1: resuming -> running", setup_v1_fed, run_v1_run, resumed,
	   NULL),
	OP("v2: RUNNING -> STOP", setup_filled, run_v2_stop, NULL, kept_v2_arc),
	OP("v2: STOP -> STOP_COPY (data fd)", setup_v2_stop, run_v2_stop_copy,
	   NULL, kept_v2_arc),
	OP("v2: data fd read", setup_v2_saving, run_v2_read, NULL,
	   v2_finish_save),
	OP("v2: STOP_COPY -> STOP", setup_v2_saving, run_v2_leave_save, NULL,
	   kept_v2_arc),
	OP("v2: STOP -> RESUMING (data fd)", setup_v2_stop, run_v2_resuming,
	   NULL, kept_v2_arc),
	OP("v2: data fd write (the whole stream)", setup_v2_resuming,
	   run_v2_write, done_v2_write, kept_v2_write),
	OP("v2: RESUMING -> STOP", setup_v2_written, run_v2_resume_done, NULL,
	   kept_v2_arc),
	OP("v2: STOP -> RUNNING", setup_v2_stop, run_v2_running, NULL,
	   kept_v2_arc),
	OP("v2: DMA logging START", setup_none, run_log_start, NULL, NULL),
	OP("v2: DMA logging REPORT", setup_logging, run_log_report, NULL,
	   NULL),
	OP("v2: DMA logging STOP", setup_logging, run_log_stop, NULL, NULL),
	OP("mmap of the data section", setup_none, run_mmap, NULL, NULL),
	OP("BAR0: UART write and read", setup_none, run_uart, NULL, NULL),
	OP("BAR2: device memory write and read", setup_r_setup, run_mem, NULL,
	   NULL),
	OP_DMA("BAR2: DMA fill during a save session", setup_dma, run_dma, NULL,
	       kept_dma),
	OP_ELSEWHERE("sysfs: create an mdev", setup_create, run_create,
		     done_create, kept_create),
	OP_ELSEWHERE("sysfs: create an mcount-mig mdev", setup_create,
		     run_create_mcount, done_create_mcount, kept_create_mcount),
	OP("traffic: rx", setup_none, run_rx, NULL, NULL),
	OP("traffic: mem", setup_r_setup, run_tmem, NULL, NULL),
	OP_DMA("traffic: dma", setup_none, run_tdma, NULL, NULL),
	OP("traffic: digest", setup_none, run_digest, NULL, NULL),
};

static struct v2_caps caps;

/*
 * The ops above that some kernels do not serve: DMA logging, where the
 * kernel's VFIO core probes it (not on 6.7+ without IOMMUFD).
 */
static bool op_served(const struct op *op)
{
	return op->run != run_log_start && op->run != run_log_report &&
	       op->run != run_log_stop ? true : caps.dma_logging;
}

/* Sweep one operation; returns its number of injection points. */
static unsigned int sweep(struct ctx *c, const struct op *op)
{
	unsigned int n;
	char why[160];
	int err;

	for (n = 1; n <= MAX_POINTS; n++) {
		bool injected, ok = true;

		op->setup(c);
		record_kept(c);
		arm(n);
		err = op->run(c);
		injected = disarm();
		/* An operation that failed to reopen the device: reopen. */
		if (!c->a_open && run_open(c))
			t_bail("cannot reopen the device: %s", strerror(errno));
		if (verbose)
			t_diag("%s: point %u %s, %s", op->name, n,
			       injected ? "injected" : "not reached",
			       err ? strerror(-err) : "success");
		if (!injected) {
			/* The whole path ran: the op must have done its job. */
			if (err || (op->done && !op->done(c))) {
				snprintf(why, sizeof(why), "without injection: %s",
					 err ? strerror(-err) : "wrong result");
				ok = false;
			}
		} else if (err && !clean_errno(err) && err != op->also) {
			snprintf(why, sizeof(why), "point %u: errno %s", n,
				 strerror(-err));
			ok = false;
		} else if (err && !(op->kept ? op->kept(c) : states_kept(c))) {
			snprintf(why, sizeof(why),
				 "point %u (%s): state not kept", n,
				 strerror(-err));
			ok = false;
		} else if (!err && op->done && !op->done(c)) {
			snprintf(why, sizeof(why),
				 "point %u absorbed, but wrong result", n);
			ok = false;
		}
		quiet(c);
		if (ok && injected && !op->elsewhere && !usable(c)) {
			snprintf(why, sizeof(why), "point %u: device unusable", n);
			ok = false;
		}
		if (ok && injected && !op->elsewhere && !migrates(c, n)) {
			snprintf(why, sizeof(why),
				 "point %u: a migration afterwards failed", n);
			ok = false;
		}
		quiet(c);
		if (!ok) {
			t_ok(false, "%s: %s", op->name, why);
			fails++;
			return n;
		}
		if (!injected)
			break;
	}
	t_ok(n <= MAX_POINTS, "%s: %u injection point%s, each failed cleanly",
	     op->name, n - 1, n == 2 ? "" : "s");
	return n - 1;
}

int main(void)
{
	struct ctx c = { .datafd = -1 };
	unsigned int i, total = 0;
	const char *only;

	t_start();
	if (!setup_injection()) {
		t_skip("this kernel has no fail-nth or fault-injection debugfs (use KVER=debug)",
		       "fault-injection sweep");
		return t_done();
	}
	v2_caps_probe(&caps);
	vdev_create_open(&c.a, MDEV_TYPE_1P_MMAP);
	vdev_create_open(&c.b, MDEV_TYPE_1P_MMAP);
	c.a_open = true;
	mig_find(&c.a, &c.m);
	mig_find(&c.b, &c.mb);
	dma_map(&c.a, IOVA, GUEST_SIZE);
	c.efd = efd_new();
	dev_fill(&c.b, 0x77);
	if (v2_save(&c.b, &c.ref, 65536))
		t_bail("cannot save a reference stream");

	only = getenv("FAILNTH_ONLY");
	verbose = getenv("FAILNTH_VERBOSE") != NULL;
	kmsg("vfio-mig: fault injection sweep begins\n");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (only && !strstr(ops[i].name, only))
			continue;
		else if (op_served(&ops[i]))
			total += sweep(&c, &ops[i]);
		else
			t_skip("no DMA logging on 6.7+ kernels here", "%s",
			       ops[i].name);
	kmsg("vfio-mig: fault injection sweep ends\n");
	t_diag("%u injection points in all", total);

	stream_free(&c.ref);
	close(c.efd);
	vdev_destroy(&c.a);
	vdev_destroy(&c.b);
	return t_done();
}
