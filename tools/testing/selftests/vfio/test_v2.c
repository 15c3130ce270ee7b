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
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

/* Newer than the 6.1 uAPI headers userspace builds with here. */
#define ST_STOP		1
#define ST_RUNNING	2
#define ST_STOP_COPY	3
#define ST_RESUMING	4
#define ST_RUNNING_P2P	5
#define ST_PRE_COPY	6
#define ST_PRE_COPY_P2P	7
#define MIG_PRE_COPY	(1 << 2)
#define FEATURE_MIG_DATA_SIZE	9
#define MIG_GET_PRECOPY_INFO	_IO(VFIO_TYPE, VFIO_BASE + 21)
#define PAGE_REC	(16 + 8 + 4096)
#define MEM_SIZE	(1u << 20)

struct precopy_info {
	uint32_t argsz, flags;
	uint64_t initial_bytes, dirty_bytes;
};

static unsigned int kernel;	/* major * 100 + minor */

static int feature(struct vdev *v, uint32_t flags, void *data, size_t len)
{
	struct {
		struct vfio_device_feature f;
		uint8_t data[64];
	} buf = { .f.argsz = sizeof(buf.f) + len, .f.flags = flags };

	if (len)
		memcpy(buf.data, data, len);
	if (ioctl(v->fd, VFIO_DEVICE_FEATURE, &buf))
		return -errno;
	if (len)
		memcpy(data, buf.data, len);
	return 0;
}

/* SET MIG_DEVICE_STATE; *fd gets the data fd (or -1).  0 or -errno. */
static int set_state(struct vdev *v, uint32_t state, int *fd)
{
	struct vfio_device_feature_mig_state ms = { .device_state = state };
	int ret = feature(v, VFIO_DEVICE_FEATURE_SET |
			  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));

	if (fd)
		*fd = ret ? -1 : ms.data_fd;
	else if (!ret && ms.data_fd >= 0)
		close(ms.data_fd);
	return ret;
}

static uint32_t get_state(struct vdev *v)
{
	struct vfio_device_feature_mig_state ms = { };

	if (feature(v, VFIO_DEVICE_FEATURE_GET |
		    VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms)))
		return ~0u;
	return ms.device_state;
}

/* Read the data fd until EOF (or an error) in @chunk-byte reads. */
static ssize_t read_all(int fd, struct stream *s, size_t chunk, int *err)
{
	ssize_t total = 0, n;

	*err = 0;
	for (;;) {
		if (s->len + chunk > s->cap) {
			s->cap = (s->len + chunk) * 2;
			s->buf = realloc(s->buf, s->cap);
		}
		n = read(fd, s->buf + s->len, chunk);
		if (n < 0) {
			*err = errno;
			return total;
		}
		if (!n)
			return total;
		s->len += n;
		total += n;
	}
}

static int write_all(int fd, const uint8_t *p, size_t len, size_t chunk)
{
	while (len) {
		size_t n = len < chunk ? len : chunk;
		ssize_t w = write(fd, p, n);

		if (w < 0)
			return -errno;
		p += w;
		len -= w;
	}
	return 0;
}

/* A whole save by STOP_COPY; the device returns to RUNNING. */
static int save(struct vdev *v, struct stream *s, size_t chunk)
{
	int fd, err, ret;

	ret = set_state(v, ST_STOP_COPY, &fd);
	if (ret)
		return ret;
	read_all(fd, s, chunk, &err);
	close(fd);
	ret = set_state(v, ST_STOP, NULL) ?: set_state(v, ST_RUNNING, NULL);
	return err ? -err : ret;
}

/* RESUMING, write, then RUNNING (through STOP).  0 or -errno. */
static int restore(struct vdev *v, const uint8_t *p, size_t len, size_t chunk)
{
	int fd, ret;

	ret = set_state(v, ST_RESUMING, &fd);
	if (ret)
		return ret;
	ret = write_all(fd, p, len, chunk);
	close(fd);
	return ret ?: set_state(v, ST_RUNNING, NULL);
}

static void test_flags(void)
{
	struct vdev v;
	uint64_t flags = 0;
	uint64_t want = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			(kernel >= 602 ? MIG_PRE_COPY : 0);
	int ret;

	vdev_create_open(&v, MDEV_TYPE_1P);
	ret = feature(&v, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
		      &flags, sizeof(flags));
	t_ok(!ret && flags == want,
	     "migration flags %#llx: STOP_COPY, P2P%s",
	     (unsigned long long)flags, kernel >= 602 ? ", PRE_COPY" : "");
	t_ok(get_state(&v) == ST_RUNNING, "default state RUNNING");
	t_ok(set_state(&v, ST_RUNNING_P2P, NULL) == 0 &&
	     get_state(&v) == ST_RUNNING_P2P &&
	     set_state(&v, ST_STOP, NULL) == 0 && get_state(&v) == ST_STOP,
	     "RUNNING -> RUNNING_P2P -> STOP");
	t_ok(region_write(&v, MTTYM_UART0_REGION, 7, "x", 1) == -EBUSY,
	     "STOP: BAR accesses refused with EBUSY");
	t_ok(set_state(&v, ST_RUNNING, NULL) == 0 &&
	     region_write(&v, MTTYM_UART0_REGION, 7, "x", 1) == 1,
	     "back to RUNNING: BARs work");
	t_ok(set_state(&v, 0, NULL) == -EINVAL && get_state(&v) == ST_RUNNING,
	     "ERROR cannot be asked for");
	t_ok(set_state(&v, 99, NULL) == -EINVAL && get_state(&v) == ST_RUNNING,
	     "unknown state refused");
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
	ret = save(&a, &s, chunk);
	t_ok(!ret && s.len > MEM_SIZE, "%s: STOP_COPY stream of %zu bytes in %zu-byte reads",
	     type, s.len, chunk);
	ret = restore(&b, s.buf, s.len, chunk);
	t_ok(!ret && get_state(&b) == ST_RUNNING,
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
	int fd, ret;

	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	dev_fill(&a, 0x31);
	save(&a, &s, 65536);

	s.buf[40] ^= 1;
	dev_fill(&b, 0x44);
	set_state(&b, ST_RESUMING, &fd);
	ret = write_all(fd, s.buf, s.len, 4096);
	t_ok(ret == -EINVAL, "corrupted stream: write() refused with EINVAL");
	t_ok(write_all(fd, s.buf, 16, 16) == -EINVAL,
	     "after a refusal the data fd accepts nothing");
	t_ok(set_state(&b, ST_STOP, NULL) == -EINVAL &&
	     get_state(&b) == ST_RESUMING,
	     "RESUMING -> STOP refused, still RESUMING");
	close(fd);
	t_ok(ioctl(b.fd, VFIO_DEVICE_RESET) == 0 && get_state(&b) == ST_RUNNING,
	     "VFIO_DEVICE_RESET ends the session: RUNNING");

	s.buf[40] ^= 1;
	dev_fill(&b, 0x45);
	set_state(&b, ST_RESUMING, &fd);
	ret = write_all(fd, s.buf, s.len - 1, 65536);
	t_ok(!ret, "truncated stream: its bytes are accepted as they come");
	t_ok(set_state(&b, ST_STOP, NULL) == -EINVAL,
	     "an incomplete stream fails RESUMING -> STOP");
	close(fd);
	ioctl(b.fd, VFIO_DEVICE_RESET);
	dev_snap(&b, &sb);
	t_ok(sb.scr == 0 && sb.rx[0] == 0,
	     "nothing of either stream reached the device");
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
	set_state(&v, ST_STOP_COPY, &fd);
	t_ok(fd >= 0 && pread(fd, buf, 8, 0) == -1 && errno == ESPIPE &&
	     lseek(fd, 0, SEEK_SET) == -1 && errno == ESPIPE,
	     "data fd: positioned reads and seeks get ESPIPE");
	t_ok(write(fd, buf, 8) == -1 && errno == EBADF,
	     "the saving fd is read-only");
	t_ok(read(fd, buf, sizeof(buf)) == sizeof(buf), "the saving fd reads");
	set_state(&v, ST_STOP, NULL);
	t_ok(read(fd, buf, sizeof(buf)) == -1 && errno == ENODEV,
	     "after STOP_COPY -> STOP the fd answers ENODEV");
	close(fd);

	set_state(&v, ST_RESUMING, &fd);
	t_ok(fd >= 0 && read(fd, buf, 8) == -1 && errno == EBADF,
	     "the resuming fd is write-only");
	set_state(&v, ST_STOP_COPY, &fd2);
	t_ok(fd2 == -1 && get_state(&v) == ST_RESUMING,
	     "RESUMING -> STOP_COPY refused (stream incomplete)");
	ioctl(v.fd, VFIO_DEVICE_RESET);
	t_ok(write(fd, buf, 8) == -1 && errno == ENODEV,
	     "after VFIO_DEVICE_RESET the resuming fd answers ENODEV");
	close(fd);

	/* The data fd outlives the device fd. */
	set_state(&v, ST_STOP_COPY, &fd);
	vdev_close(&v);
	t_ok(read(fd, buf, sizeof(buf)) == -1 && errno == ENODEV,
	     "after the device fd is closed the data fd answers ENODEV");
	t_ok(vdev_open(&v, uuid) == 0 && get_state(&v) == ST_RUNNING,
	     "reopened: RUNNING");
	close(fd);
	vdev_destroy(&v);
}

static void test_owner(void)
{
	struct vdev v;
	struct mig m;
	uint32_t v1 = 3;

	vdev_create_open(&v, MDEV_TYPE_1P);
	mig_find(&v, &m);
	set_state(&v, ST_STOP, NULL);
	t_ok(mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP) == -EBUSY,
	     "v2 in STOP: the vfio-mig region is busy");
	t_ok(region_write(&v, MTTYM_V1_REGION, 0, &v1, 4) == -EBUSY,
	     "v2 in STOP: the v1 region is busy");
	set_state(&v, ST_RUNNING, NULL);
	t_ok(mig_set_state(&v, &m, VFIO_MIG_STATE_SETUP) == 0,
	     "v2 back in RUNNING: the region starts a session");
	t_ok(set_state(&v, ST_STOP, NULL) == -EBUSY &&
	     get_state(&v) == ST_RUNNING,
	     "while the region owns the session v2 is busy");
	mig_set_state(&v, &m, VFIO_MIG_STATE_RUNNING);
	t_ok(set_state(&v, ST_STOP, NULL) == 0, "session ended: v2 can stop");
	set_state(&v, ST_RUNNING, NULL);
	vdev_destroy(&v);
}

static int precopy_info(int fd, struct precopy_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->argsz = sizeof(*pi);
	return ioctl(fd, MIG_GET_PRECOPY_INFO, pi) ? -errno : 0;
}

static void test_precopy(void)
{
	struct vdev a, b;
	struct stream s = { };
	struct precopy_info pi;
	struct dev_snap sa, sb;
	uint64_t size = 0;
	int fd, fd2, err;
	uint8_t byte = 0x77;

	if (kernel < 602) {
		t_skip("PRE_COPY and MIG_DATA_SIZE arrived in 6.2",
		       "PRE_COPY save and the stop-copy size");
		return;
	}
	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	dev_fill(&a, 0x61);
	err = feature(&a, VFIO_DEVICE_FEATURE_GET | FEATURE_MIG_DATA_SIZE,
		      &size, sizeof(size));
	t_ok(!err && size > MEM_SIZE,
	     "MIG_DATA_SIZE: %llu bytes for a 1 MiB device",
	     (unsigned long long)size);
	t_ok(set_state(&a, ST_PRE_COPY, &fd) == 0 && fd >= 0,
	     "RUNNING -> PRE_COPY opens a data fd");
	err = precopy_info(fd, &pi);
	t_ok(!err && pi.dirty_bytes > MEM_SIZE,
	     "precopy info: %llu bytes to send", (unsigned long long)pi.dirty_bytes);
	read_all(fd, &s, 65536, &err);
	t_ok(err == ENOMSG && s.len > MEM_SIZE,
	     "reads %zu bytes, then ENOMSG (a temporary end)", s.len);
	t_ok(precopy_info(fd, &pi) == 0 && !pi.dirty_bytes && !pi.initial_bytes,
	     "precopy info: nothing left");
	region_write(&a, MTTYM_MEM_REGION, 4096 * 3, &byte, 1);
	t_ok(precopy_info(fd, &pi) == 0 && pi.dirty_bytes == PAGE_REC,
	     "a device-memory write makes one page record pending");
	dev_fill(&a, 0x62);
	t_ok(set_state(&a, ST_STOP_COPY, &fd2) == 0 && fd2 == -1,
	     "PRE_COPY -> STOP_COPY keeps the same fd");
	t_ok(precopy_info(fd, &pi) == -EINVAL,
	     "precopy info refused outside PRE_COPY");
	read_all(fd, &s, 1000, &err);
	t_ok(!err, "stop-copy part read to EOF, %zu bytes in all", s.len);
	close(fd);
	set_state(&a, ST_RUNNING, NULL);
	t_ok(restore(&b, s.buf, s.len, 3000) == 0,
	     "the pre-copy stream restores");
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x62,
	     "destination equals source after PRE_COPY");
	t_ok(set_state(&a, ST_PRE_COPY, &fd) == 0 &&
	     set_state(&a, ST_RUNNING, NULL) == 0 &&
	     read(fd, &byte, 1) == -1 && errno == ENODEV,
	     "PRE_COPY -> RUNNING ends the session");
	close(fd);
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static int logging(struct vdev *v, uint32_t op, uint64_t iova, uint64_t len,
		   uint64_t *bitmap)
{
	struct vfio_device_feature_dma_logging_range range = {
		.iova = iova, .length = len,
	};
	struct vfio_device_feature_dma_logging_control ctl = {
		.page_size = 4096, .num_ranges = 1,
		.ranges = (uintptr_t)&range,
	};
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = iova, .length = len, .page_size = 4096,
		.bitmap = (uintptr_t)bitmap,
	};

	if (op == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT)
		return feature(v, VFIO_DEVICE_FEATURE_GET | op, &rep, sizeof(rep));
	if (op == VFIO_DEVICE_FEATURE_DMA_LOGGING_START)
		return feature(v, VFIO_DEVICE_FEATURE_SET | op, &ctl, sizeof(ctl));
	return feature(v, VFIO_DEVICE_FEATURE_SET | op, NULL, 0);
}

static void dma_fill(struct vdev *v, uint64_t iova, uint64_t len)
{
	uint64_t regs[3] = { 0, iova, len };
	uint32_t op = MTTYM_DMA_OP_FILL;

	region_write(v, MTTYM_DMA_REGION, MTTYM_DMA_SRC, regs, 8);
	region_write(v, MTTYM_DMA_REGION, MTTYM_DMA_DST, &regs[1], 8);
	region_write(v, MTTYM_DMA_REGION, MTTYM_DMA_LEN, &regs[2], 8);
	region_write(v, MTTYM_DMA_REGION, MTTYM_DMA_CMD, &op, 4);
}

static void test_dma_logging(void)
{
	const uint64_t iova = 1ull << 30, size = 64 * 4096;
	uint64_t bitmap[1] = { 0 };
	struct stream s = { };
	struct vdev v;
	int ret;

	if (kernel >= 607) {
		t_skip("no iova_bitmap export on this kernel (6.7+ without IOMMUFD)",
		       "device DMA logging");
		return;
	}
	vdev_create_open(&v, MDEV_TYPE_1P);
	dma_map(&v, iova, size);
	t_ok(logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) < 0, "REPORT before START refused");
	t_ok(logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size,
		     NULL) == 0, "DMA logging starts (4 KiB pages)");
	dma_fill(&v, iova + 5 * 4096 + 100, 2 * 4096);
	ret = logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		      bitmap);
	t_ok(!ret && bitmap[0] == (0x7ull << 5),
	     "a DMA over pages 5-7 reports exactly those (%#llx)",
	     (unsigned long long)bitmap[0]);
	bitmap[0] = 0;
	t_ok(logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) == 0 && bitmap[0] == 0,
	     "a report clears what it reported");
	save(&v, &s, 65536);
	stream_free(&s);
	dma_fill(&v, iova + 63 * 4096, 4096);
	t_ok(logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) == 0 && bitmap[0] == 1ull << 63,
	     "a save session in between leaves the log alone");
	t_ok(logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, 0, 0, NULL) == 0 &&
	     logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
		     bitmap) < 0,
	     "after STOP reports are refused");
	vdev_destroy(&v);
}

int main(void)
{
	struct utsname u;
	unsigned int maj = 0, min = 0;

	uname(&u);
	sscanf(u.release, "%u.%u", &maj, &min);
	kernel = maj * 100 + min;
	t_start();
	test_flags();
	test_round_trip(MDEV_TYPE_1P, 4096);
	test_round_trip(MDEV_TYPE_2P, 999);
	test_bad_stream();
	test_fds();
	test_owner();
	test_precopy();
	test_dma_logging();
	return t_done();
}
