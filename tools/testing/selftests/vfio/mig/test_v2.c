// SPDX-License-Identifier: GPL-2.0
/*
 * The v2 protocol (VFIO_DEVICE_FEATURE, QEMU 8.0 and later): the
 * advertised flags, save and restore through the data fd in odd chunk
 * sizes, PRE_COPY with its precopy info and temporary end of stream (6.2+),
 * the stop-copy size (6.2+), a bad or incomplete stream refused on
 * RESUMING -> STOP with nothing applied, data fds that outlive their
 * session or the device fd, one front-end owning the session at a time,
 * and device DMA logging (kernels up to 6.6).
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define MEM_SIZE	(1u << 20)

static struct v2_caps caps;

static void test_flags(void)
{
	struct vdev v;
	uint64_t flags = 0;
	uint64_t want = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			(caps.pre_copy ? MIG_PRE_COPY : 0);
	int ret;

	vdev_create_open(&v, MDEV_TYPE_1P);
	ret = v2_feature(&v, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
		      &flags, sizeof(flags));
	t_ok(!ret && flags == want,
	     "migration flags %#llx: STOP_COPY, P2P%s",
	     (unsigned long long)flags, caps.pre_copy ? ", PRE_COPY" : "");
	t_ok(v2_get_state(&v) == ST_RUNNING, "default state RUNNING");
	t_ok(v2_set_state(&v, ST_RUNNING_P2P, NULL) == 0 &&
	     v2_get_state(&v) == ST_RUNNING_P2P &&
	     v2_set_state(&v, ST_STOP, NULL) == 0 && v2_get_state(&v) == ST_STOP,
	     "RUNNING -> RUNNING_P2P -> STOP");
	t_ok(region_write(&v, MTTYM_UART0_REGION, 7, "x", 1) == -EBUSY,
	     "STOP: BAR accesses refused with EBUSY");
	t_ok(v2_set_state(&v, ST_RUNNING, NULL) == 0 &&
	     region_write(&v, MTTYM_UART0_REGION, 7, "x", 1) == 1,
	     "back to RUNNING: BARs work");
	t_ok(v2_set_state(&v, 0, NULL) == -EINVAL && v2_get_state(&v) == ST_RUNNING,
	     "ERROR cannot be asked for");
	t_ok(v2_set_state(&v, 99, NULL) == -EINVAL && v2_get_state(&v) == ST_RUNNING,
	     "unknown state refused");
	vdev_destroy(&v);
}

#define PRE_COPY_PARAM "/sys/module/vfio_mig/parameters/v2_pre_copy"

/* Should a check end this program early, the next ones still get PRE_COPY. */
static void pre_copy_restore(void)
{
	sysfs_write(PRE_COPY_PARAM, "1");
}

/* v2_pre_copy=0: devices registered from then on offer no PRE_COPY. */
static void test_no_pre_copy(void)
{
	struct vdev v, w;
	uint64_t flags = 0;
	int fd = -1, ret;

	if (!caps.pre_copy) {
		t_skip("no PRE_COPY on this kernel (before 6.2)",
		       "v2_pre_copy=0 withholds PRE_COPY");
		return;
	}
	vdev_create_open(&v, MDEV_TYPE_1P);
	atexit(pre_copy_restore);
	t_ok(sysfs_write(PRE_COPY_PARAM, "0") == 0, "v2_pre_copy: 0 written");
	vdev_create_open(&w, MDEV_TYPE_1P);
	ret = v2_feature(&w, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
			 &flags, sizeof(flags));
	t_ok(!ret && flags == (VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P),
	     "v2_pre_copy=0: a new device offers STOP_COPY and P2P only (%#llx)",
	     (unsigned long long)flags);
	t_ok(v2_set_state(&w, ST_PRE_COPY, &fd) == -EINVAL &&
	     v2_get_state(&w) == ST_RUNNING,
	     "v2_pre_copy=0: RUNNING -> PRE_COPY refused, the device stays RUNNING");
	ret = v2_feature(&w, VFIO_DEVICE_FEATURE_SET | FEATURE_MIG_PRECOPY_INFOV2,
			 NULL, 0);
	if (ret == -ENOTTY)
		t_skip("the vfio core knows no MIG_PRECOPY_INFOv2 (ENOTTY)",
		       "v2_pre_copy=0: PRECOPY_INFOv2 refused");
	else
		t_ok(ret == -EINVAL,
		     "v2_pre_copy=0: PRECOPY_INFOv2 refused with EINVAL (%d)", ret);
	t_ok(v2_set_state(&v, ST_PRE_COPY, &fd) == 0 && fd >= 0 &&
	     v2_set_state(&v, ST_RUNNING, NULL) == 0,
	     "v2_pre_copy=0: a device registered before keeps PRE_COPY");
	if (fd >= 0)
		close(fd);
	t_ok(sysfs_write(PRE_COPY_PARAM, "1") == 0, "v2_pre_copy: 1 again");
	vdev_destroy(&w);
	vdev_destroy(&v);
}

static void test_round_trip(const char *type, size_t chunk)
{
	struct vdev a, b;
	struct stream s = { };
	struct dev_snap sa, sb;
	int ret;

	vdev_create_open(&a, type);
	vdev_create_open(&b, type);
	dev_fill(&a, 0x21);
	dev_fill(&b, 0x5e);
	ret = v2_save(&a, &s, chunk);
	t_ok(!ret && s.len > MEM_SIZE, "%s: STOP_COPY stream of %zu bytes in %zu-byte reads",
	     type, s.len, chunk);
	ret = v2_restore(&b, s.buf, s.len, chunk);
	t_ok(!ret && v2_get_state(&b) == ST_RUNNING,
	     "%s: restored in %zu-byte writes, RUNNING", type, chunk);
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x21 && sa.rx[0] == 0x21,
	     "%s: destination equals source", type);
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_bad_stream(void)
{
	struct vdev a, b;
	struct stream s = { };
	struct dev_snap sb;
	char uuid[40];
	uint32_t fresh;
	int fd, ret;

	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	fresh = mdev_digest(b.uuid);	/* of power-on device memory */
	dev_fill(&a, 0x31);
	v2_save(&a, &s, 65536);

	s.buf[40] ^= 1;
	dev_fill(&b, 0x44);
	v2_set_state(&b, ST_RESUMING, &fd);
	ret = v2_write_all(fd, s.buf, s.len, 4096);
	t_ok(ret == -EINVAL, "corrupted stream: write() refused with EINVAL");
	t_ok(v2_write_all(fd, s.buf, 16, 16) == -EINVAL,
	     "after a refusal the data fd accepts nothing");
	t_ok(v2_set_state(&b, ST_STOP, NULL) == -EINVAL &&
	     v2_get_state(&b) == ST_RESUMING,
	     "RESUMING -> STOP refused, still RESUMING");
	close(fd);
	t_ok(ioctl(b.fd, VFIO_DEVICE_RESET) == 0 && v2_get_state(&b) == ST_RUNNING,
	     "VFIO_DEVICE_RESET ends the session: RUNNING");

	/*
	 * A bit of a page flipped: the page goes into the device as it comes
	 * (in pieces, here), and its record's CRC refuses it at its end.
	 * The first page record's data starts 24 bytes into it, after the
	 * 68-byte HEADER record of a 1-port device.
	 */
	s.buf[40] ^= 1;
	s.buf[68 + 24 + 3000] ^= 0x80;
	dev_fill(&b, 0x47);
	v2_set_state(&b, ST_RESUMING, &fd);
	ret = v2_write_all(fd, s.buf, s.len, 1000);
	t_ok(ret == -EINVAL, "a flipped bit in a page, written in 1000-byte pieces: refused with EINVAL");
	close(fd);
	ioctl(b.fd, VFIO_DEVICE_RESET);
	dev_snap(&b, &sb);
	t_ok(fresh != 0 && sb.scr == 0 && sb.digest == fresh,
	     "... and after the reset, nothing of its pages remains: power-on memory");
	s.buf[68 + 24 + 3000] ^= 0x80;

	dev_fill(&b, 0x45);
	v2_set_state(&b, ST_RESUMING, &fd);
	ret = v2_write_all(fd, s.buf, s.len - 1, 65536);
	t_ok(!ret, "truncated stream: its bytes are accepted as they come");
	t_ok(v2_set_state(&b, ST_STOP, NULL) == -EINVAL,
	     "an incomplete stream fails RESUMING -> STOP");
	close(fd);
	ioctl(b.fd, VFIO_DEVICE_RESET);
	dev_snap(&b, &sb);
	t_ok(fresh != 0 && sb.scr == 0 && sb.rx[0] == 0 && sb.digest == fresh,
	     "nothing of either stream remains in the device: power-on state, memory included");

	/* Pages reach device memory as they come: a close must clear them. */
	dev_fill(&b, 0x46);
	v2_set_state(&b, ST_RESUMING, &fd);
	t_ok(!v2_write_all(fd, s.buf, s.len - 1, 65536),
	     "truncated stream again, then the device is closed mid-resume");
	close(fd);
	snprintf(uuid, sizeof(uuid), "%s", b.uuid);
	vdev_close(&b);
	t_ok(vdev_open(&b, uuid) == 0 && v2_get_state(&b) == ST_RUNNING,
	     "reopened: RUNNING");
	dev_snap(&b, &sb);
	t_ok(fresh != 0 && sb.scr == 0 && sb.digest == fresh,
	     "the close left the power-on state, none of the stream's pages");
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_fds(void)
{
	struct vdev v;
	uint8_t buf[64];
	char uuid[40];
	int fd, fd2;

	vdev_create_open(&v, MDEV_TYPE_1P);
	snprintf(uuid, sizeof(uuid), "%s", v.uuid);
	v2_set_state(&v, ST_STOP_COPY, &fd);
	t_ok(fd >= 0 && pread(fd, buf, 8, 0) == -1 && errno == ESPIPE &&
	     lseek(fd, 0, SEEK_SET) == -1 && errno == ESPIPE,
	     "data fd: positioned reads and seeks get ESPIPE");
	t_ok(write(fd, buf, 8) == -1 && errno == EBADF,
	     "the saving fd is read-only");
	t_ok(read(fd, buf, sizeof(buf)) == sizeof(buf), "the saving fd reads");
	v2_set_state(&v, ST_STOP, NULL);
	t_ok(read(fd, buf, sizeof(buf)) == -1 && errno == ENODEV,
	     "after STOP_COPY -> STOP the fd answers ENODEV");
	close(fd);

	v2_set_state(&v, ST_RESUMING, &fd);
	t_ok(fd >= 0 && read(fd, buf, 8) == -1 && errno == EBADF,
	     "the resuming fd is write-only");
	v2_set_state(&v, ST_STOP_COPY, &fd2);
	t_ok(fd2 == -1 && v2_get_state(&v) == ST_RESUMING,
	     "RESUMING -> STOP_COPY refused (stream incomplete)");
	ioctl(v.fd, VFIO_DEVICE_RESET);
	t_ok(write(fd, buf, 8) == -1 && errno == ENODEV,
	     "after VFIO_DEVICE_RESET the resuming fd answers ENODEV");
	close(fd);

	/* The data fd outlives the device fd. */
	v2_set_state(&v, ST_STOP_COPY, &fd);
	vdev_close(&v);
	t_ok(read(fd, buf, sizeof(buf)) == -1 && errno == ENODEV,
	     "after the device fd is closed the data fd answers ENODEV");
	t_ok(vdev_open(&v, uuid) == 0 && v2_get_state(&v) == ST_RUNNING,
	     "reopened: RUNNING");
	close(fd);
	vdev_destroy(&v);
}

/*
 * A data fd is cut off the device when its session ends: it keeps neither
 * the device nor its memory, and answers ENODEV to everything.
 */
static void test_fd_cut_off(void)
{
	long avail = mdev_available(MDEV_TYPE_1P);
	struct v2_precopy_info pi;
	uint8_t buf[64];
	struct vdev v;
	char uuid[40];
	int fd;

	vdev_create_open(&v, MDEV_TYPE_1P);
	snprintf(uuid, sizeof(uuid), "%s", v.uuid);
	v2_set_state(&v, ST_STOP_COPY, &fd);
	t_ok(fd >= 0 && read(fd, buf, sizeof(buf)) == sizeof(buf),
	     "STOP_COPY data fd reads");
	vdev_close(&v);
	t_ok(v2_precopy_info(fd, &pi) == -ENODEV,
	     "after the device fd is closed the data fd's ioctl answers ENODEV");
	t_ok(mdev_remove(uuid) == 0 && !mdev_exists(uuid) &&
	     mdev_available(MDEV_TYPE_1P) == avail,
	     "with the data fd still open the mdev is removed and its budget returns");
	t_ok(read(fd, buf, sizeof(buf)) == -1 && errno == ENODEV,
	     "the data fd of a removed mdev answers ENODEV");
	t_ok(close(fd) == 0, "and closes cleanly");

	vdev_create_open(&v, MDEV_TYPE_1P);
	v2_set_state(&v, ST_STOP_COPY, &fd);
	v2_set_state(&v, ST_STOP, NULL);
	t_ok(v2_precopy_info(fd, &pi) == -ENODEV,
	     "after STOP_COPY -> STOP the data fd's ioctl answers ENODEV");
	pi.argsz = 8;
	t_ok(ioctl(fd, MIG_GET_PRECOPY_INFO, &pi) == -1 && errno == ENODEV &&
	     ioctl(fd, MIG_GET_PRECOPY_INFO, fault_buffer()) == -1 &&
	     errno == ENODEV,
	     "whatever its argument (argsz 8, a bad pointer)");
	close(fd);

	/* A resuming fd cut off by a reset: ENODEV before anything else. */
	v2_set_state(&v, ST_RESUMING, &fd);
	ioctl(v.fd, VFIO_DEVICE_RESET);
	t_ok(write(fd, buf, 0) == -1 && errno == ENODEV,
	     "a zero-length write on a cut-off data fd: ENODEV");
	t_ok(write(fd, fault_buffer(), 16) == -1 && errno == ENODEV,
	     "a write from a bad buffer on a cut-off data fd: ENODEV");
	close(fd);

	/* A refused stream: every later write fails, zero-length ones too. */
	v2_set_state(&v, ST_STOP, NULL);
	v2_set_state(&v, ST_RESUMING, &fd);
	memset(buf, 0xee, sizeof(buf));
	t_ok(write(fd, buf, sizeof(buf)) == -1 && errno == EINVAL &&
	     write(fd, buf, 0) == -1 && errno == EINVAL,
	     "after a refused write a zero-length write fails too (EINVAL)");
	close(fd);
	ioctl(v.fd, VFIO_DEVICE_RESET);
	vdev_destroy(&v);
}

static void test_owner(void)
{
	uint8_t junk[16] = { 0x5a };
	struct vdev v;
	struct mig m;
	uint32_t v1 = 3;
	int fd;

	vdev_create_open(&v, MDEV_TYPE_1P);
	mig_find(&v, &m);
	v2_set_state(&v, ST_STOP, NULL);
	t_ok(mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP) == -EBUSY,
	     "v2 in STOP: the vfio-mig region is busy");
	t_ok(region_write(&v, MTTYM_V1_REGION, 0, &v1, 4) == -EBUSY,
	     "v2 in STOP: the v1 region is busy");
	v2_set_state(&v, ST_RESUMING, &fd);
	t_ok(region_write(&v, m.index, m.data_off, junk, sizeof(junk)) ==
	     -EINVAL && region_write(&v, MTTYM_V1_REGION, m.data_off, junk,
				     sizeof(junk)) == -EINVAL,
	     "v2 RESUMING: neither region's data section takes writes");
	close(fd);
	ioctl(v.fd, VFIO_DEVICE_RESET);
	v2_set_state(&v, ST_RUNNING, NULL);
	t_ok(mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP) == 0,
	     "v2 back in RUNNING: the region starts a session");
	t_ok(v2_set_state(&v, ST_STOP, NULL) == -EBUSY &&
	     v2_get_state(&v) == ST_RUNNING,
	     "while the region owns the session v2 is busy");
	mig_set_state(&v, &m, VFIO_MIG_STATE_RUNNING);
	t_ok(v2_set_state(&v, ST_STOP, NULL) == 0, "session ended: v2 can stop");
	v2_set_state(&v, ST_RUNNING, NULL);
	vdev_destroy(&v);
}


static void test_precopy(void)
{
	struct vdev a, b;
	struct stream s = { };
	struct v2_precopy_info pi;
	struct dev_snap sa, sb;
	uint64_t size = 0;
	int fd, fd2, err;
	uint8_t byte = 0x77;

	if (!caps.pre_copy) {
		t_skip("the kernel probes no MIG_DATA_SIZE: no PRE_COPY (before 6.2)",
		       "PRE_COPY save and the stop-copy size");
		return;
	}
	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	dev_fill(&a, 0x61);
	err = v2_feature(&a, VFIO_DEVICE_FEATURE_GET | FEATURE_MIG_DATA_SIZE,
		      &size, sizeof(size));
	t_ok(!err && size > MEM_SIZE,
	     "MIG_DATA_SIZE: %llu bytes for a 1 MiB device",
	     (unsigned long long)size);
	t_ok(v2_set_state(&a, ST_PRE_COPY, &fd) == 0 && fd >= 0,
	     "RUNNING -> PRE_COPY opens a data fd");
	err = v2_precopy_info(fd, &pi);
	t_ok(!err && pi.initial_bytes > MEM_SIZE && !pi.dirty_bytes,
	     "precopy info: %llu initial bytes to send",
	     (unsigned long long)pi.initial_bytes);
	size = pi.initial_bytes;
	t_ok(read(fd, fault_buffer(), 4096) == -1 && errno == EFAULT &&
	     v2_precopy_info(fd, &pi) == 0 && pi.initial_bytes == size &&
	     !pi.dirty_bytes,
	     "a read into a bad buffer: EFAULT, precopy info unchanged");
	v2_read_all(fd, &s, 65536, &err);
	t_ok(err == ENOMSG && s.len > MEM_SIZE,
	     "reads %zu bytes, then ENOMSG (a temporary end)", s.len);
	t_ok(v2_precopy_info(fd, &pi) == 0 && !pi.dirty_bytes && !pi.initial_bytes,
	     "precopy info: nothing left");
	region_write(&a, MTTYM_MEM_REGION, 4096 * 3, &byte, 1);
	t_ok(v2_precopy_info(fd, &pi) == 0 && pi.dirty_bytes == PAGE_REC &&
	     !pi.initial_bytes,
	     "a device-memory write makes one page record pending (dirty_bytes)");
	dev_fill(&a, 0x62);
	t_ok(v2_set_state(&a, ST_STOP_COPY, &fd2) == 0 && fd2 == -1,
	     "PRE_COPY -> STOP_COPY keeps the same fd");
	t_ok(v2_precopy_info(fd, &pi) == -EINVAL,
	     "precopy info refused outside PRE_COPY");
	v2_read_all(fd, &s, 1000, &err);
	t_ok(!err, "stop-copy part read to EOF, %zu bytes in all", s.len);
	close(fd);
	v2_set_state(&a, ST_RUNNING, NULL);
	t_ok(v2_restore(&b, s.buf, s.len, 3000) == 0,
	     "the pre-copy stream restores");
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x62,
	     "destination equals source after PRE_COPY");
	t_ok(v2_set_state(&a, ST_PRE_COPY, &fd) == 0 &&
	     v2_set_state(&a, ST_RUNNING, NULL) == 0 &&
	     read(fd, &byte, 1) == -1 && errno == ENODEV,
	     "PRE_COPY -> RUNNING ends the session");
	close(fd);
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

/*
 * DMA logging is cut to the window asked for, ends with the open and with
 * a reset, and is apart from the region's session log.
 */
/*
 * PRECOPY_INFO's two counts through a first pass: initial_bytes starts at
 * the header and every page and only decreases, a page written behind the
 * pass is dirty_bytes, one ahead of it is still part of the pass, and each
 * read takes exactly its bytes off the sum.
 */
static void test_precopy_counts(void)
{
	const uint64_t pages = MEM_SIZE / 4096;
	struct v2_precopy_info first, pi;
	uint64_t sum, init, reads = 0;
	bool falls = true, exact = true, info = true;
	uint8_t byte = 0x5a;
	static uint8_t buf[4096];
	struct vdev a;
	ssize_t n;
	int fd, err;

	if (!caps.pre_copy) {
		t_skip("no PRE_COPY on this kernel (before 6.2)",
		       "PRE_COPY's initial_bytes and dirty_bytes");
		return;
	}
	vdev_create_open(&a, MDEV_TYPE_1P);
	t_ok(v2_set_state(&a, ST_PRE_COPY, &fd) == 0 && fd >= 0,
	     "counts: RUNNING -> PRE_COPY");
	err = v2_precopy_info(fd, &first);
	t_ok(!err && !first.dirty_bytes &&
	     first.initial_bytes > pages * PAGE_REC &&
	     first.initial_bytes < pages * PAGE_REC + 4096,
	     "counts: PRE_COPY starts with initial_bytes %llu (the header and %llu page records), dirty_bytes 0",
	     (unsigned long long)first.initial_bytes,
	     (unsigned long long)pages);
	n = read(fd, buf, sizeof(buf));
	t_ok(n == (ssize_t)sizeof(buf) && v2_precopy_info(fd, &pi) == 0 &&
	     pi.initial_bytes == first.initial_bytes - sizeof(buf) &&
	     !pi.dirty_bytes,
	     "counts: a 4 KiB read takes 4 KiB off initial_bytes");
	region_write(&a, MTTYM_MEM_REGION, MEM_SIZE - 1, &byte, 1);
	t_ok(v2_precopy_info(fd, &pi) == 0 && !pi.dirty_bytes &&
	     pi.initial_bytes == first.initial_bytes - sizeof(buf),
	     "counts: a write to the last page, ahead of the first pass, changes neither");
	region_write(&a, MTTYM_MEM_REGION, 0, &byte, 1);
	t_ok(v2_precopy_info(fd, &pi) == 0 && pi.dirty_bytes == PAGE_REC &&
	     pi.initial_bytes == first.initial_bytes - sizeof(buf),
	     "counts: a write to page 0, behind the first pass, is one dirty page record");
	init = pi.initial_bytes;
	sum = pi.initial_bytes + pi.dirty_bytes;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		reads++;
		if (v2_precopy_info(fd, &pi)) {
			info = false;
			break;
		}
		falls &= pi.initial_bytes <= init;
		exact &= pi.initial_bytes + pi.dirty_bytes == sum - n;
		init = pi.initial_bytes;
		sum = pi.initial_bytes + pi.dirty_bytes;
	}
	t_ok(n == -1 && errno == ENOMSG && info,
	     "counts: %llu more reads, then ENOMSG", (unsigned long long)reads);
	t_ok(falls, "counts: initial_bytes never rose");
	t_ok(exact, "counts: each read took its own size off initial_bytes + dirty_bytes");
	t_ok(!pi.initial_bytes && !pi.dirty_bytes,
	     "counts: both 0 at the temporary end");
	region_write(&a, MTTYM_MEM_REGION, 4096 * 7, &byte, 1);
	t_ok(v2_precopy_info(fd, &pi) == 0 && !pi.initial_bytes &&
	     pi.dirty_bytes == PAGE_REC,
	     "counts: after the first pass a write is dirty_bytes only");
	close(fd);
	v2_set_state(&a, ST_RUNNING, NULL);
	vdev_destroy(&a);
}

/*
 * VFIO_PRECOPY_INFO_REINIT's opt-in (VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2,
 * taken by the vfio core): without it flags comes back as passed, with it
 * flags is output and 0 (the engine never starts a new first pass); the
 * opt-in ends with the device's close.
 */
static void test_precopy_flags(void)
{
	struct v2_precopy_info pi;
	struct vdev a;
	char uuid[sizeof(a.uuid)];
	int fd = -1, ret;

	if (!caps.pre_copy) {
		t_skip("no PRE_COPY on this kernel (before 6.2)",
		       "PRECOPY_INFOv2 and the flags field");
		return;
	}
	vdev_create_open(&a, MDEV_TYPE_1P);
	ret = v2_feature(&a, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			 FEATURE_MIG_PRECOPY_INFOV2, NULL, 0);
	if (ret == -ENOTTY) {
		t_skip("the vfio core knows no MIG_PRECOPY_INFOv2 (ENOTTY)",
		       "PRECOPY_INFOv2 and the flags field");
		vdev_destroy(&a);
		return;
	}
	t_ok(!ret, "PRECOPY_INFOv2: probed for SET (%d)", ret);
	t_ok(v2_set_state(&a, ST_PRE_COPY, &fd) == 0 &&
	     v2_precopy_info_flags(fd, &pi, 0xa5a5a5a5) == 0 &&
	     pi.flags == 0xa5a5a5a5,
	     "PRECOPY_INFOv2: without the opt-in flags comes back as passed");
	t_ok(v2_feature(&a, VFIO_DEVICE_FEATURE_SET | FEATURE_MIG_PRECOPY_INFOV2,
			NULL, 0) == 0 &&
	     v2_precopy_info_flags(fd, &pi, 0xa5a5a5a5) == 0 && pi.flags == 0 &&
	     pi.initial_bytes > MEM_SIZE,
	     "PRECOPY_INFOv2: opted in, flags is 0 (no REINIT) and the counts as before");
	if (fd >= 0)
		close(fd);
	v2_set_state(&a, ST_RUNNING, NULL);
	snprintf(uuid, sizeof(uuid), "%s", a.uuid);
	vdev_close(&a);
	fd = -1;
	if (vdev_open(&a, uuid))
		t_bail("cannot open %s again", uuid);
	t_ok(v2_set_state(&a, ST_PRE_COPY, &fd) == 0 &&
	     v2_precopy_info_flags(fd, &pi, 0x3c) == 0 && pi.flags == 0x3c,
	     "PRECOPY_INFOv2: the opt-in ends when the device is closed");
	if (fd >= 0)
		close(fd);
	v2_set_state(&a, ST_RUNNING, NULL);
	vdev_destroy(&a);
}

static void test_dma_logging_rules(void)
{
	const uint64_t iova = 1ull << 30, size = 64 * 4096, guard = 0x5a5a5a5a5a5a5a5aull;
	uint64_t words[3] = { guard, 0, guard }, bitmap[1], got[4];
	uint64_t q[3] = { iova, 64, 0 }, copied;
	struct vdev v;
	struct mig m;
	char uuid[40];

	if (!caps.dma_logging) {
		t_skip("the kernel probes no DMA logging (6.7+ without IOMMUFD)",
		       "DMA logging windows, lifetime and separation");
		return;
	}
	vdev_create_open(&v, MDEV_TYPE_1P);
	snprintf(uuid, sizeof(uuid), "%s", v.uuid);
	mig_find(&v, &m);
	dma_map(&v, iova, size);
	v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size, NULL);
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova, 8 * 4096);
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova + 100,
			size - 4096, &words[1]) == -EINVAL &&
	     words[0] == guard && words[1] == 0 && words[2] == guard,
	     "a REPORT window that is not page aligned: EINVAL, nothing written");
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova,
			size - 100, &words[1]) == -EINVAL && words[1] == 0,
	     "a REPORT length that is not page aligned: EINVAL");
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			iova + 2 * 4096, 4096, &words[1]) == 0 &&
	     words[0] == guard && words[1] == 1 && words[2] == guard,
	     "a one-page window in a dirty span reports that page alone");
	words[1] = 0;
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
			&words[1]) == 0 && words[1] == 0xfb,
	     "the rest of the span is still dirty (%#llx)",
	     (unsigned long long)words[1]);

	/* Close without STOP: the next opener finds logging off. */
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova + 20 * 4096, 8);
	vdev_close(&v);
	if (vdev_open(&v, uuid))
		t_bail("cannot reopen %s", uuid);
	dma_map(&v, iova, size);
	bitmap[0] = 0;
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
			bitmap) == -EINVAL && bitmap[0] == 0,
	     "logging left on by the last user ended with its close");

	v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size, NULL);
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova + 7 * 4096, 8);
	ioctl(v.fd, VFIO_DEVICE_RESET);
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
			bitmap) == -EINVAL && bitmap[0] == 0,
	     "VFIO_DEVICE_RESET ends DMA logging");

	/* The region's session log and the DMA log never share bits. */
	mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP);
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova + 10 * 4096, 8);
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size,
			NULL) == 0, "DMA logging starts during a region save session");
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova + 11 * 4096, 8);
	mig_hdr_write(&v, &m, VFIO_MIG_OFF_DIRTY_PFNS, q, 24);
	copied = 0;
	mig_hdr_read(&v, &m, VFIO_MIG_OFF_DIRTY_COPIED, &copied, 8);
	region_read(&v, m.index, m.data_off, got, 8);
	t_ok(copied == 64 && got[0] == (3ull << 10),
	     "the region still reports the page dirtied before START (%#llx)",
	     (unsigned long long)got[0]);
	bitmap[0] = 0;
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
			bitmap) == 0 && bitmap[0] == 1ull << 11,
	     "and the region's query left the DMA log's page (%#llx)",
	     (unsigned long long)bitmap[0]);
	mig_set_state(&v, &m, VFIO_MIG_STATE_CANCELLED);
	v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, 0, 0, NULL);
	vdev_destroy(&v);
}

static void test_dma_logging(void)
{
	const uint64_t iova = 1ull << 30, size = 64 * 4096;
	uint64_t bitmap[1] = { 0 };
	struct stream s = { };
	struct vdev v;
	int ret;

	if (!caps.dma_logging) {
		t_skip("the kernel probes no DMA logging (6.7+ without IOMMUFD)",
		       "device DMA logging");
		return;
	}
	vdev_create_open(&v, MDEV_TYPE_1P);
	dma_map(&v, iova, size);
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) < 0, "REPORT before START refused");
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size,
		     NULL) == 0, "DMA logging starts (4 KiB pages)");
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova + 5 * 4096 + 100, 2 * 4096);
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size,
			NULL) == -EBUSY,
	     "a second START while logging is on: EBUSY");
	ret = v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		      bitmap);
	t_ok(!ret && bitmap[0] == (0x7ull << 5),
	     "a DMA over pages 5-7 reports exactly those, the log kept (%#llx)",
	     (unsigned long long)bitmap[0]);
	bitmap[0] = 0;
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) == 0 && bitmap[0] == 0,
	     "a report clears what it reported");
	v2_save(&v, &s, 65536);
	stream_free(&s);
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova + 63 * 4096, 4096);
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) == 0 && bitmap[0] == 1ull << 63,
	     "a save session in between leaves the log alone");
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, 0, 0, NULL) == 0 &&
	     v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) < 0,
	     "after STOP reports are refused");
	vdev_destroy(&v);
}

int main(void)
{
	t_start();
	v2_caps_probe(&caps);
	test_flags();
	test_round_trip(MDEV_TYPE_1P, 4096);
	test_round_trip(MDEV_TYPE_2P, 999);
	test_bad_stream();
	test_fds();
	test_fd_cut_off();
	test_owner();
	test_precopy();
	test_precopy_counts();
	test_precopy_flags();
	test_no_pre_copy();
	test_dma_logging();
	test_dma_logging_rules();
	return t_done();
}
