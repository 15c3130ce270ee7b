// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's injectable faults (debugfs, vfio_mig/<uuid>/): strict
 * parsing that arms nothing on bad input, each fault's outcome through the
 * v2 protocol (the failing call's errno, the source intact, a destination
 * that refuses and is left at power-on state), one shot each, and the
 * directory's life: gone with the device, files held open across the
 * device's removal and the driver's unload.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define ST_ERROR	0
/* The first page record's data: after the 68-byte HEADER of a 1-port device. */
#define PAGE_BYTE	(68 + 24 + 3000)

static struct v2_caps caps;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void test_parse(void)
{
	static const struct {
		const char *file, *val;
	} bad[] = {
		{ "fail_state", "BOGUS" }, { "fail_state", "running" },
		{ "fail_state", "ERROR" }, { "fail_state", "STOP STOP" },
		{ "fail_state", "" },
		{ "fail_save_after", "-1" }, { "fail_save_after", "12abc" },
		{ "fail_save_after", "x" },
		{ "flip_byte", "99999999999999999999999" }, { "flip_byte", " " },
		{ "fail_resume", "2" }, { "fail_resume", "yes" },
		{ "stall_ms", "10001" }, { "stall_ms", "-5" },
		{ "fail_dma_log_start", "3" }, { "fail_dma_log_report", "on" },
	};
	static const struct {
		const char *file, *idle;
	} files[] = {
		{ "fail_state", "none" }, { "fail_save_after", "none" },
		{ "flip_byte", "none" }, { "fail_resume", "0" },
		{ "stall_ms", "0" }, { "fail_dma_log_start", "0" },
		{ "fail_dma_log_report", "0" },
	};
	char path[256];
	struct stat st;
	struct vdev v;
	bool ok = true;
	size_t i;

	vdev_create_open(&v, MDEV_TYPE_1P);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fault_path(&v, files[i].file, path, sizeof(path));
		if (stat(path, &st) || (st.st_mode & 0777) != 0600 ||
		    strcmp(fault_get(&v, files[i].file), files[i].idle)) {
			t_diag("%s: mode %o, reads '%s'", files[i].file,
			       st.st_mode & 0777, fault_get(&v, files[i].file));
			ok = false;
		}
	}
	t_ok(ok, "seven fault files, mode 0600, none armed");
	ok = true;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = fault_set(&v, bad[i].file, bad[i].val);

		if (ret != -EINVAL) {
			t_diag("%s <- '%s': %d", bad[i].file, bad[i].val, ret);
			ok = false;
		}
	}
	t_ok(ok, "%zu bad values refused with EINVAL",
	     sizeof(bad) / sizeof(bad[0]));
	ok = true;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		ok &= !strcmp(fault_get(&v, files[i].file), files[i].idle);
	t_ok(ok, "... and nothing is armed");
	t_ok(fault_set(&v, "fail_state", "RUNNING_P2P\n") == 0 &&
	     !strcmp(fault_get(&v, "fail_state"), "RUNNING_P2P") &&
	     fault_set(&v, "fail_state", "none") == 0 &&
	     !strcmp(fault_get(&v, "fail_state"), "none"),
	     "fail_state reads back what is armed; none disarms");
	/* A state the device does not offer could never fail: refused. */
	if (caps.pre_copy)
		t_ok(fault_set(&v, "fail_state", "PRE_COPY_P2P") == 0 &&
		     !strcmp(fault_get(&v, "fail_state"), "PRE_COPY_P2P") &&
		     fault_set(&v, "fail_state", "none") == 0,
		     "fail_state takes PRE_COPY_P2P, which the device offers");
	else
		t_ok(fault_set(&v, "fail_state", "PRE_COPY_P2P") == -EINVAL &&
		     fault_set(&v, "fail_state", "PRE_COPY") == -EINVAL &&
		     !strcmp(fault_get(&v, "fail_state"), "none"),
		     "fail_state refuses PRE_COPY and PRE_COPY_P2P on a device without PRE_COPY");
	t_ok(fault_set(&v, "flip_byte", "0x10") == 0 &&
	     !strcmp(fault_get(&v, "flip_byte"), "16") &&
	     fault_set(&v, "flip_byte", "none") == 0 &&
	     fault_set(&v, "stall_ms", "10000") == 0 &&
	     !strcmp(fault_get(&v, "stall_ms"), "10000") &&
	     fault_set(&v, "stall_ms", "0") == 0,
	     "numbers read back; none disarms flip_byte, 0 stall_ms");
	vdev_destroy(&v);
}

static void test_fail_state(void)
{
	struct dev_snap sa;
	char uuid[40];
	uint32_t digest;
	struct vdev a;
	int fd = -1, ret;

	vdev_create_open(&a, MDEV_TYPE_1P);
	dev_fill(&a, 0x52);
	digest = mdev_digest(a.uuid);
	t_ok(fault_set(&a, "fail_state", "STOP_COPY") == 0 &&
	     v2_set_state(&a, ST_STOP, NULL) == 0,
	     "fail_state STOP_COPY armed; RUNNING -> STOP works");
	ret = v2_set_state(&a, ST_STOP_COPY, &fd);
	t_ok(ret == -EIO && fd < 0, "STOP -> STOP_COPY fails with EIO (%d), no data fd",
	     ret);
	t_ok(v2_get_state(&a) == ST_ERROR, "the device reads ERROR");
	t_ok(!strcmp(fault_get(&a, "fail_state"), "none"), "the fault is spent");
	t_ok(v2_set_state(&a, ST_RUNNING, NULL) == -EINVAL &&
	     v2_get_state(&a) == ST_ERROR,
	     "from ERROR a state change is refused (EINVAL), still ERROR");
	/* A close leaves ERROR with the device's state kept. */
	snprintf(uuid, sizeof(uuid), "%s", a.uuid);
	vdev_close(&a);
	t_ok(vdev_open(&a, uuid) == 0 && v2_get_state(&a) == ST_RUNNING &&
	     mdev_digest(a.uuid) == digest,
	     "close and reopen: RUNNING, device memory intact");
	dev_snap(&a, &sa);
	t_ok(sa.scr == 0x52 && sa.rx[0] == 0x52, "... registers and FIFO intact");

	dev_fill(&a, 0x53);
	t_ok(fault_set(&a, "fail_state", "STOP") == 0 &&
	     v2_set_state(&a, ST_STOP_COPY, &fd) == -EIO &&
	     v2_get_state(&a) == ST_ERROR,
	     "fail_state STOP: RUNNING -> STOP_COPY fails on its way, ERROR");
	t_ok(ioctl(a.fd, VFIO_DEVICE_RESET) == 0 && v2_get_state(&a) == ST_RUNNING,
	     "VFIO_DEVICE_RESET leaves ERROR: RUNNING");
	dev_fill(&a, 0x54);
	digest = mdev_digest(a.uuid);
	ret = v2_set_state(&a, ST_STOP_COPY, &fd);
	t_ok(!ret && fd >= 0, "one shot: STOP_COPY next time");
	if (fd >= 0)
		close(fd);
	t_ok(v2_set_state(&a, ST_RUNNING, NULL) == 0 &&
	     mdev_digest(a.uuid) == digest, "back to RUNNING, memory intact");

	/* A resume cut short by ERROR. */
	t_ok(v2_set_state(&a, ST_STOP, NULL) == 0 &&
	     fault_set(&a, "fail_state", "STOP") == 0 &&
	     v2_set_state(&a, ST_RESUMING, &fd) == 0, "RESUMING with fail_state STOP");
	if (fd >= 0)
		close(fd);
	t_ok(v2_set_state(&a, ST_RUNNING, NULL) == -EIO &&
	     v2_get_state(&a) == ST_ERROR, "RESUMING -> STOP fails with EIO, ERROR");
	ioctl(a.fd, VFIO_DEVICE_RESET);
	vdev_destroy(&a);
}

static void test_fail_save_after(void)
{
	struct stream s = { }, s2 = { };
	struct dev_snap sa, sb;
	struct vdev a, b;
	uint32_t digest;
	int fd = -1, err = 0;
	char one;

	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	dev_fill(&a, 0x61);
	digest = mdev_digest(a.uuid);
	t_ok(fault_set(&a, "fail_save_after", "100000") == 0 &&
	     !strcmp(fault_get(&a, "fail_save_after"), "100000"),
	     "fail_save_after 100000 armed");
	v2_set_state(&a, ST_STOP_COPY, &fd);
	v2_read_all(fd, &s, 4096, &err);
	t_ok(err == EIO && s.len == 100000,
	     "reads fail with EIO after exactly 100000 bytes (%zu, %s)", s.len,
	     strerror(err));
	t_ok(read(fd, &one, 1) == -1 && errno == EIO, "... and go on failing");
	close(fd);
	t_ok(v2_set_state(&a, ST_STOP, NULL) == 0 &&
	     v2_set_state(&a, ST_RUNNING, NULL) == 0 &&
	     mdev_digest(a.uuid) == digest,
	     "the source leaves the save and runs, memory intact");
	t_ok(v2_save(&a, &s2, 4096) == 0 && s2.len > s.len &&
	     !memcmp(s.buf, s2.buf, s.len),
	     "one shot: the next save succeeds, same bytes up to the failure");
	t_ok(v2_restore(&b, s2.buf, s2.len, 65536) == 0, "... and restores");
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x61,
	     "destination equals the source");
	stream_free(&s);
	stream_free(&s2);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_flip_byte(void)
{
	struct stream s = { }, s2 = { };
	struct dev_snap sa, sb;
	struct vdev a, b;
	uint32_t fresh, digest;
	size_t i, diff = 0, where = 0;
	char val[32];
	int fd = -1, ret;

	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	fresh = mdev_digest(b.uuid);
	dev_fill(&a, 0x71);
	digest = mdev_digest(a.uuid);
	snprintf(val, sizeof(val), "%d", PAGE_BYTE);
	t_ok(fault_set(&a, "flip_byte", val) == 0, "flip_byte %s armed", val);
	t_ok(v2_save(&a, &s, 999) == 0 && v2_save(&a, &s2, 4096) == 0 &&
	     s.len == s2.len, "two saves, same length");
	for (i = 0; i < s.len; i++) {
		if (s.buf[i] != s2.buf[i]) {
			diff++;
			where = i;
		}
	}
	t_ok(diff == 1 && where == PAGE_BYTE &&
	     (s.buf[where] ^ s2.buf[where]) == 0xff,
	     "the first differs from the second in one byte, at %zu, by 0xff (%zu)",
	     where, diff);
	t_ok(mdev_digest(a.uuid) == digest, "the source's memory is intact");
	dev_fill(&b, 0x72);
	v2_set_state(&b, ST_RESUMING, &fd);
	ret = v2_write_all(fd, s.buf, s.len, 4096);
	t_ok(ret == -EINVAL, "the destination refuses the flipped stream: EINVAL");
	t_ok(v2_set_state(&b, ST_STOP, NULL) == -EINVAL &&
	     v2_get_state(&b) == ST_RESUMING, "RESUMING -> STOP refused");
	close(fd);
	ioctl(b.fd, VFIO_DEVICE_RESET);
	dev_snap(&b, &sb);
	t_ok(fresh != 0 && sb.scr == 0 && sb.digest == fresh,
	     "the destination is left at power-on state");
	t_ok(v2_restore(&b, s2.buf, s2.len, 65536) == 0,
	     "one shot: the second stream restores");
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x71,
	     "destination equals the source");
	stream_free(&s);
	stream_free(&s2);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_fail_resume(void)
{
	struct stream s = { };
	struct dev_snap sa, sb;
	struct vdev a, b;
	uint32_t fresh;
	int fd = -1, ret;

	vdev_create_open(&a, MDEV_TYPE_1P);
	vdev_create_open(&b, MDEV_TYPE_1P);
	fresh = mdev_digest(b.uuid);
	dev_fill(&a, 0x81);
	v2_save(&a, &s, 65536);
	dev_fill(&b, 0x82);
	t_ok(fault_set(&b, "fail_resume", "1") == 0 &&
	     !strcmp(fault_get(&b, "fail_resume"), "1"), "fail_resume armed");
	t_ok(v2_set_state(&b, ST_RESUMING, &fd) == 0 &&
	     !strcmp(fault_get(&b, "fail_resume"), "0"),
	     "RESUMING: the fault is taken by the session");
	ret = v2_write_all(fd, s.buf, s.len, 65536);
	t_ok(ret == -EINVAL, "a valid stream's first write refused with EINVAL");
	t_ok(v2_write_all(fd, s.buf, 16, 16) == -EINVAL,
	     "the data fd accepts nothing more");
	t_ok(v2_set_state(&b, ST_STOP, NULL) == -EINVAL &&
	     v2_get_state(&b) == ST_RESUMING, "RESUMING -> STOP refused");
	close(fd);
	t_ok(ioctl(b.fd, VFIO_DEVICE_RESET) == 0 && v2_get_state(&b) == ST_RUNNING,
	     "reset: RUNNING");
	dev_snap(&b, &sb);
	t_ok(fresh != 0 && sb.scr == 0 && sb.digest == fresh,
	     "the destination is at power-on state");
	t_ok(v2_restore(&b, s.buf, s.len, 65536) == 0,
	     "one shot: the same stream restores next time");
	dev_snap(&a, &sa);
	dev_snap(&b, &sb);
	t_ok(!memcmp(&sa, &sb, sizeof(sa)) && sa.scr == 0x81,
	     "destination equals the source");
	stream_free(&s);
	vdev_destroy(&a);
	vdev_destroy(&b);
}

static void test_stall(void)
{
	struct vdev a;
	double t0, t1, t2;
	int ret;

	vdev_create_open(&a, MDEV_TYPE_1P);
	t_ok(fault_set(&a, "stall_ms", "600") == 0, "stall_ms 600 armed");
	t0 = now_ms();
	ret = v2_set_state(&a, ST_STOP, NULL);
	t1 = now_ms();
	t_ok(!ret && v2_get_state(&a) == ST_STOP && t1 - t0 >= 600 &&
	     !strcmp(fault_get(&a, "stall_ms"), "0"),
	     "RUNNING -> STOP took %.0f ms, happened, and spent the stall",
	     t1 - t0);
	/* A change the core refuses does not spend it. */
	t_ok(fault_set(&a, "stall_ms", "600") == 0 &&
	     v2_set_state(&a, 99, NULL) < 0 &&
	     !strcmp(fault_get(&a, "stall_ms"), "600") &&
	     v2_get_state(&a) == ST_STOP,
	     "a refused state change (state 99) leaves stall_ms armed");
	t_ok(fault_set(&a, "stall_ms", "0") == 0, "0 disarms it");
	ret = v2_set_state(&a, ST_RUNNING, NULL);
	t2 = now_ms();
	t_ok(!ret && v2_get_state(&a) == ST_RUNNING,
	     "STOP -> RUNNING, unstalled (%.0f ms)", t2 - t1);
	vdev_destroy(&a);
}

static void test_dma_log(void)
{
	const uint64_t iova = 1ull << 30, size = 64 * 4096;
	uint64_t bitmap[1] = { 0 };
	struct vdev v;
	int ret;

	if (!caps.dma_logging) {
		t_skip("the kernel probes no DMA logging (6.7+ without IOMMUFD)",
		       "fail_dma_log_start and fail_dma_log_report");
		return;
	}
	vdev_create_open(&v, MDEV_TYPE_1P);
	dma_map(&v, iova, size);
	t_ok(fault_set(&v, "fail_dma_log_start", "1") == 0 &&
	     v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size,
			NULL) == -EIO, "fail_dma_log_start: START fails with EIO");
	t_ok(v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, iova, size,
			NULL) == 0, "one shot: START works next time");
	dma_run(&v, MTTYM_DMA_OP_FILL, 0, iova + 2 * 4096, 4096);
	t_ok(fault_set(&v, "fail_dma_log_report", "1") == 0 &&
	     v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
			bitmap) == -EIO, "fail_dma_log_report: REPORT fails with EIO");
	ret = v2_logging(&v, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, iova, size,
			 bitmap);
	t_ok(!ret && bitmap[0] == 1ull << 2,
	     "one shot: the next REPORT has the page the failed one kept (%#llx)",
	     (unsigned long long)bitmap[0]);
	vdev_destroy(&v);
}

/* Faults armed, files open: removing the device is clean. */
static void test_lifetime(void)
{
	char path[256], dir[128], buf[16], cmd[600];
	const char *top = getenv("VFIO_MIG_TOP");
	const char *ko = getenv("VFIO_MIG_MODULES");
	struct stat st;
	struct vdev v;
	int fd;

	vdev_create_open(&v, MDEV_TYPE_1P);
	snprintf(dir, sizeof(dir), FAULT_DIR "/%s", v.uuid);
	fault_set(&v, "fail_state", "STOP");
	fault_set(&v, "fail_save_after", "10");
	fault_set(&v, "stall_ms", "10000");
	fault_set(&v, "fail_resume", "1");
	fault_path(&v, "fail_state", path, sizeof(path));
	fd = open(path, O_RDWR);
	vdev_destroy(&v);
	t_ok(!mdev_exists(v.uuid) && stat(dir, &st) == -1 && errno == ENOENT,
	     "the mdev removed with faults armed: its directory is gone");
	t_ok(fd >= 0 && read(fd, buf, sizeof(buf)) == -1 && errno == EIO &&
	     write(fd, "STOP", 4) == -1 && errno == EIO,
	     "a file held open across the removal answers EIO");
	if (fd >= 0)
		close(fd);

	/* The driver unloads under an open file of a device it had. */
	if (!ko && !top) {
		t_skip("VFIO_MIG_TOP unset: where mtty-mig.ko is, to load it again",
		       "mtty_mig unloads under an open fault file");
		return;
	}
	if (ko)
		snprintf(cmd, sizeof(cmd), "insmod %s/mtty-mig.ko", ko);
	else
		snprintf(cmd, sizeof(cmd), "insmod %s/samples/vfio-mdev/mtty-mig.ko",
			 top);
	if (mdev_create(MDEV_TYPE_1P, v.uuid))
		t_bail("cannot create an mdev");
	fault_path(&v, "flip_byte", path, sizeof(path));
	fd = open(path, O_RDWR);
	t_ok(fd >= 0 && write(fd, "5", 1) == 1, "a new device, its flip_byte open and armed");
	t_ok(system("rmmod mtty_mig") == 0 && !mdev_exists(v.uuid),
	     "mtty_mig unloads with the file open");
	t_ok(fd >= 0 && read(fd, buf, sizeof(buf)) == -1 && errno == EIO,
	     "the open file answers EIO");
	if (fd >= 0)
		close(fd);
	t_ok(system(cmd) == 0 && access(MDEV_PARENT, F_OK) == 0,
	     "mtty_mig loads again");
}

int main(void)
{
	t_start();
	t_need(FAULT_DIR, "debugfs with vfio_mig's fault directory");
	v2_caps_probe(&caps);
	test_parse();
	test_fail_state();
	test_fail_save_after();
	test_flip_byte();
	test_fail_resume();
	test_stall();
	test_dma_log();
	test_lifetime();
	return t_done();
}
