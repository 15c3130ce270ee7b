// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the vfio-mig selftests.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "vfio_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

static int t_num, t_pass, t_fail, t_skipped;

static void t_vline(const char *prefix, const char *fmt, va_list ap,
		    const char *suffix)
{
	printf("%s %d - ", prefix, ++t_num);
	vprintf(fmt, ap);
	printf("%s\n", suffix);
	fflush(stdout);
}

bool t_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vline(cond ? "ok" : "not ok", fmt, ap, "");
	va_end(ap);
	if (cond)
		t_pass++;
	else
		t_fail++;
	return cond;
}

void t_skip(const char *reason, const char *fmt, ...)
{
	char suffix[256];
	va_list ap;

	snprintf(suffix, sizeof(suffix), " # SKIP %s", reason);
	va_start(ap, fmt);
	t_vline("ok", fmt, ap, suffix);
	va_end(ap);
	t_skipped++;
}

void t_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void t_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

void t_start(void)
{
	printf("TAP version 13\n");
	fflush(stdout);
}

int t_done(void)
{
	printf("1..%d\n", t_num);
	printf("# %d passed, %d failed, %d skipped\n", t_pass, t_fail,
	       t_skipped);
	fflush(stdout);
	return t_fail ? 1 : 0;
}

bool t_errno(long ret, int err, const char *fmt, ...)
{
	bool good = ret < 0 && (ret == -err || (ret == -1 && errno == err));
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!good)
		t_diag("expected %s, got %ld (%s)", strerror(err), ret,
		       ret == -1 ? strerror(errno) : ret < 0 ?
		       strerror((int)-ret) : "success");
	return t_ok(good, "%s", msg);
}

int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

long sysfs_read_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 0);
}

static int new_uuid(char *uuid)
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, uuid, 36);
	close(fd);
	if (n != 36)
		return -EIO;
	uuid[36] = 0;
	return 0;
}

int mdev_create(const char *type, char *uuid)
{
	char path[256];
	int err = new_uuid(uuid);

	if (err)
		return err;
	snprintf(path, sizeof(path), MDEV_PARENT "/mdev_supported_types/%s/create",
		 type);
	return sysfs_write(path, uuid);
}

int mdev_remove(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	return sysfs_write(path, "1");
}

bool mdev_exists(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s", uuid);
	return access(path, F_OK) == 0;
}

long mdev_available(const char *type)
{
	char path[256];

	snprintf(path, sizeof(path),
		 MDEV_PARENT "/mdev_supported_types/%s/available_instances",
		 type);
	return sysfs_read_long(path);
}

int vdev_open(struct vdev *v, const char *uuid)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[512], link[256];
	const char *group;
	ssize_t n;
	int err;

	memset(v, 0, sizeof(*v));
	v->container = v->group = v->fd = -1;
	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group",
		 uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	group = strrchr(link, '/');
	group = group ? group + 1 : link;

	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	v->group = open(path, O_RDWR);
	if (v->group < 0)
		goto fail;
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &status))
		goto fail;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		goto fail;
	}
	v->container = open("/dev/vfio/vfio", O_RDWR);
	if (v->container < 0)
		goto fail;
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		errno = ENODEV;
		goto fail;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		goto fail;
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		goto fail;
	v->fd = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (v->fd < 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	vdev_close(v);
	return err;
}

void vdev_close(struct vdev *v)
{
	if (v->fd >= 0)
		close(v->fd);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->fd = v->group = v->container = -1;
}

void vdev_create_open(struct vdev *v, const char *type)
{
	char uuid[40];
	int err = mdev_create(type, uuid);

	if (err)
		t_bail("cannot create an mdev of type %s: %s", type,
		       strerror(-err));
	err = vdev_open(v, uuid);
	if (err)
		t_bail("cannot open mdev %s: %s", uuid, strerror(-err));
}

void vdev_destroy(struct vdev *v)
{
	int err;

	vdev_close(v);
	err = mdev_remove(v->uuid);
	if (err)
		t_bail("cannot remove mdev %s: %s", v->uuid, strerror(-err));
}

uint64_t region_pos(unsigned int index, uint64_t off)
{
	return ((uint64_t)index << 40) + off;
}

ssize_t region_read(struct vdev *v, unsigned int index, uint64_t off,
		    void *buf, size_t len)
{
	ssize_t n = pread(v->fd, buf, len, (off_t)region_pos(index, off));

	return n < 0 ? -errno : n;
}

ssize_t region_write(struct vdev *v, unsigned int index, uint64_t off,
		     const void *buf, size_t len)
{
	ssize_t n = pwrite(v->fd, buf, len, (off_t)region_pos(index, off));

	return n < 0 ? -errno : n;
}

uint32_t cfg_read(struct vdev *v, unsigned int off, size_t len)
{
	uint8_t b[4] = { 0 };
	ssize_t n = region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, off, b, len);

	if (n != (ssize_t)len)
		t_bail("config read at 0x%x failed: %zd", off, n);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

void cfg_write(struct vdev *v, unsigned int off, uint32_t val, size_t len)
{
	uint8_t b[4] = { val, val >> 8, val >> 16, val >> 24 };
	ssize_t n = region_write(v, VFIO_PCI_CONFIG_REGION_INDEX, off, b, len);

	if (n != (ssize_t)len)
		t_bail("config write at 0x%x failed: %zd", off, n);
}

uint8_t uart_in(struct vdev *v, unsigned int port, unsigned int reg)
{
	uint8_t b;
	ssize_t n = region_read(v, VFIO_PCI_BAR0_REGION_INDEX + port, reg,
				&b, 1);

	if (n != 1)
		t_bail("UART read port %u reg %u failed: %zd", port, reg, n);
	return b;
}

void uart_out(struct vdev *v, unsigned int port, unsigned int reg,
	      uint8_t val)
{
	ssize_t n = region_write(v, VFIO_PCI_BAR0_REGION_INDEX + port, reg,
				 &val, 1);

	if (n != 1)
		t_bail("UART write port %u reg %u failed: %zd", port, reg, n);
}

int efd_new(void)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (efd < 0)
		t_bail("eventfd: %s", strerror(errno));
	return efd;
}

uint64_t efd_drain(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

int irq_set_eventfd(struct vdev *v, unsigned int index, int efd)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} __attribute__((packed)) s = {
		.hdr = {
			.argsz = sizeof(s),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = index,
			.start = 0,
			.count = 1,
		},
		.fd = efd,
	};

	return ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &s) ? -errno : 0;
}

int irq_set_none(struct vdev *v, unsigned int index, uint32_t action,
		 uint32_t count)
{
	struct vfio_irq_set s = {
		.argsz = sizeof(s),
		.flags = VFIO_IRQ_SET_DATA_NONE | action,
		.index = index,
		.start = 0,
		.count = count,
	};

	return ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &s) ? -errno : 0;
}
