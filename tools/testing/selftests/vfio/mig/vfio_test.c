// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the vfio-mig selftests.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "vfio_test.h"
#include "mtty-mig.h"
#include "kselftest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

/*
 * The TAP helpers print KTAP through the kernel's kselftest.h (of the
 * kernel under test), so the counts and exit codes are kselftest's own.
 */
bool t_ok(bool cond, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cond)
		ksft_test_result_pass("%s\n", msg);
	else
		ksft_test_result_fail("%s\n", msg);
	fflush(stdout);
	return cond;
}

void t_skip(const char *reason, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_test_result_skip("%s: %s\n", msg, reason);
	fflush(stdout);
}

void t_diag(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s\n", msg);
	fflush(stdout);
}

void t_bail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	ksft_exit_fail_msg("%s\n", msg);
	exit(KSFT_FAIL);	/* not reached */
}

void t_need(const char *path, const char *what)
{
	if (access(path, F_OK))
		ksft_exit_skip("%s is not loaded (no %s): modprobe it first\n",
			       what, path);
}

void t_start(void)
{
	ksft_print_header();
	t_need(MDEV_PARENT, "mtty_mig");
	fflush(stdout);
}

int t_done(void)
{
	unsigned int fail = ksft_get_fail_cnt();

	ksft_set_plan(ksft_test_num());
	ksft_print_cnts();
	fflush(stdout);
	if (fail)
		return KSFT_FAIL;
	if (!ksft_get_pass_cnt() && ksft_get_xskip_cnt())
		return KSFT_SKIP;
	return KSFT_PASS;
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

int mdev_create_on(const char *parent, const char *type, char *uuid)
{
	char path[256];
	int err = new_uuid(uuid);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s/create",
		 parent, type);
	return sysfs_write(path, uuid);
}

int mdev_create(const char *type, char *uuid)
{
	return mdev_create_on(MDEV_PARENT, type, uuid);
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
	int err = vmig_open(&v->dev, uuid, 0, false);

	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
	/* mtty-mig's DMA registers (dma_base()); 0 for another device. */
	v->dma_base = err ? 0 : mttym_dma_base(vmig_region_size(&v->dev,
							       MTTYM_MEM_REGION));
	v->container = v->dev.container;
	v->group = v->dev.group;
	v->fd = v->dev.fd;
	return err;
}

void vdev_close(struct vdev *v)
{
	vmig_close(&v->dev);
	v->fd = v->group = v->container = -1;
}

void vdev_create_open(struct vdev *v, const char *type)
{
	vdev_create_open_on(v, MDEV_PARENT, type);
}

void vdev_create_open_on(struct vdev *v, const char *parent, const char *type)
{
	char uuid[40];
	int err = mdev_create_on(parent, type, uuid);

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

uint64_t region_pos(struct vdev *v, unsigned int index, uint64_t off)
{
	if (index >= v->dev.num_regions ||
	    v->dev.region_off[index] == VMIG_NO_REGION)
		t_bail("device %s has no region %u", v->uuid, index);
	return v->dev.region_off[index] + off;
}

uint64_t engine_pos(unsigned int index, uint64_t off)
{
	return ((uint64_t)index << 40) + off;
}

ssize_t region_read(struct vdev *v, unsigned int index, uint64_t off,
		    void *buf, size_t len)
{
	ssize_t n = pread(v->fd, buf, len, (off_t)region_pos(v, index, off));

	return n < 0 ? -errno : n;
}

ssize_t region_write(struct vdev *v, unsigned int index, uint64_t off,
		     const void *buf, size_t len)
{
	ssize_t n = pwrite(v->fd, buf, len, (off_t)region_pos(v, index, off));

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

uint32_t mdev_digest(const char *uuid)
{
	char path[128], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/traffic/digest",
		 uuid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return (uint32_t)strtoul(buf, NULL, 16);
}

void dev_fill(struct vdev *v, uint8_t seed)
{
	uint8_t mem[64];
	unsigned int i;

	uart_out(v, 0, UART_SCR, seed);
	uart_out(v, 0, UART_LCR, 0x03);
	uart_out(v, 0, UART_IER, 0x01);
	uart_out(v, 0, UART_FCR, UART_FCR_ENABLE_FIFO);
	for (i = 0; i < 4; i++)
		uart_out(v, 0, UART_TX, seed + i);	/* looped back */
	for (i = 0; i < sizeof(mem); i++)
		mem[i] = seed ^ i;
	region_write(v, MTTYM_MEM_REGION, 4096 * 7, mem, sizeof(mem));
}

void dev_snap(struct vdev *v, struct dev_snap *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->digest = mdev_digest(v->uuid);
	s->scr = uart_in(v, 0, UART_SCR);
	s->lcr = uart_in(v, 0, UART_LCR);
	s->ier = uart_in(v, 0, UART_IER);
	for (i = 0; i < 4; i++)
		s->rx[i] = uart_in(v, 0, UART_RX);
	region_read(v, MTTYM_MEM_REGION, 4096 * 7, s->mem, sizeof(s->mem));
}

static void *dma_map_flags(struct vdev *v, uint64_t iova, size_t size,
			   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_bail("mmap of %zu bytes failed", size);
	memset(p, 0, size);
	map.vaddr = (uintptr_t)p;
	if (ioctl(v->container, VFIO_IOMMU_MAP_DMA, &map))
		t_bail("VFIO_IOMMU_MAP_DMA at %#llx: %s",
		       (unsigned long long)iova, strerror(errno));
	return p;
}

void *dma_map(struct vdev *v, uint64_t iova, size_t size)
{
	return dma_map_flags(v, iova, size,
			     VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
}

void *dma_map_ro(struct vdev *v, uint64_t iova, size_t size)
{
	return dma_map_flags(v, iova, size, VFIO_DMA_MAP_FLAG_READ);
}

/* BAR2's size gives the registers' place (vdev_open() read it). */
static uint64_t dma_base(struct vdev *v)
{
	if (!v->dma_base) {
		uint64_t size = vmig_region_size(&v->dev, MTTYM_MEM_REGION);

		if (!size)
			t_bail("device %s has no BAR2", v->uuid);
		v->dma_base = mttym_dma_base(size);
	}
	return v->dma_base;
}

ssize_t dma_reg_read(struct vdev *v, unsigned int reg, void *buf, size_t len)
{
	return region_read(v, MTTYM_MEM_REGION, dma_base(v) + reg, buf, len);
}

ssize_t dma_reg_write(struct vdev *v, unsigned int reg, const void *buf,
		      size_t len)
{
	return region_write(v, MTTYM_MEM_REGION, dma_base(v) + reg, buf, len);
}

uint32_t dma_run(struct vdev *v, uint32_t op, uint64_t src, uint64_t dst,
		 uint64_t len)
{
	uint32_t status = 0;

	if (dma_reg_write(v, MTTYM_DMA_SRC, &src, 8) != 8 ||
	    dma_reg_write(v, MTTYM_DMA_DST, &dst, 8) != 8 ||
	    dma_reg_write(v, MTTYM_DMA_LEN, &len, 8) != 8 ||
	    dma_reg_write(v, MTTYM_DMA_CMD, &op, 4) != 4 ||
	    dma_reg_read(v, MTTYM_DMA_STATUS, &status, 4) != 4)
		return 0;
	return status;
}

void *fault_buffer(void)
{
	static void *page;

	if (!page) {
		page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
		if (page == MAP_FAILED)
			t_bail("mmap of a PROT_NONE page failed");
	}
	return page;
}

void v2_caps_probe(struct v2_caps *c)
{
	struct vdev v;

	vdev_create_open(&v, MDEV_TYPE_1P);
	c->pre_copy = !v2_feature(&v, VFIO_DEVICE_FEATURE_PROBE |
				  VFIO_DEVICE_FEATURE_GET |
				  FEATURE_MIG_DATA_SIZE, NULL, 0);
	c->dma_logging = !v2_feature(&v, VFIO_DEVICE_FEATURE_PROBE |
				     VFIO_DEVICE_FEATURE_SET |
				     VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				     NULL, 0);
	vdev_destroy(&v);
	t_diag("VFIO_DEVICE_FEATURE_PROBE: MIG_DATA_SIZE (PRE_COPY) %s, DMA logging %s",
	       c->pre_copy ? "yes" : "no", c->dma_logging ? "yes" : "no");
}

void mig_find(struct vdev *v, struct mig *m)
{
	memset(m, 0, sizeof(*m));
	m->index = v->dev.index;
	m->size = v->dev.region_size;
	m->data_off = v->dev.data_off;
	m->data_size = v->dev.data_size;
	m->mmap = v->dev.can_mmap;
	if (!m->index)
		t_bail("no migration region");
}

int mig_map(struct vdev *v, struct mig *m)
{
	void *p = mmap(NULL, m->data_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       v->fd, (off_t)region_pos(v, m->index, m->data_off));

	if (p == MAP_FAILED)
		return -errno;
	m->map = p;
	return 0;
}

void mig_unmap(struct mig *m)
{
	if (m->map)
		munmap(m->map, m->data_size);
	m->map = NULL;
}

int mig_hdr_read(struct vdev *v, struct mig *m, unsigned int off,
		 void *buf, size_t len)
{
	ssize_t n = region_read(v, m->index, off, buf, len);

	return n < 0 ? (int)n : n == (ssize_t)len ? 0 : -EIO;
}

int mig_hdr_write(struct vdev *v, struct mig *m, unsigned int off,
		  const void *buf, size_t len)
{
	ssize_t n = region_write(v, m->index, off, buf, len);

	return n < 0 ? (int)n : n == (ssize_t)len ? 0 : -EIO;
}

uint64_t mig_read64(struct vdev *v, struct mig *m, unsigned int off)
{
	uint64_t val = 0;

	if (mig_hdr_read(v, m, off, &val, 8))
		t_bail("migration header read at %u failed", off);
	return val;
}

int mig_set_state(struct vdev *v, struct mig *m, uint32_t state)
{
	return mig_hdr_write(v, m, VFIO_MIG_OFF_DEVICE_STATE, &state, 4);
}

uint32_t mig_state(struct vdev *v, struct mig *m)
{
	uint32_t state;

	if (mig_hdr_read(v, m, VFIO_MIG_OFF_DEVICE_STATE, &state, 4))
		t_bail("device_state read failed");
	return state;
}

void stream_free(struct stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

void stream_reserve(struct stream *s, size_t more)
{
	if (s->len + more <= s->cap)
		return;
	s->cap = (s->len + more) * 2;
	s->buf = realloc(s->buf, s->cap);
	if (!s->buf)
		t_bail("out of memory");
}

long mig_get_chunk(struct vdev *v, struct mig *m, struct stream *s)
{
	uint64_t data[2];
	int err = mig_hdr_read(v, m, VFIO_MIG_OFF_DATA, data, sizeof(data));
	ssize_t n;

	if (err)
		return err;
	if (!data[1])
		return 0;
	if (data[0] < m->data_off || data[1] > m->size - data[0])
		return -ERANGE;
	stream_reserve(s, data[1]);
	if (m->map) {
		memcpy(s->buf + s->len, m->map + (data[0] - m->data_off),
		       data[1]);
	} else {
		n = region_read(v, m->index, data[0], s->buf + s->len,
				data[1]);
		if (n != (ssize_t)data[1])
			return n < 0 ? n : -EIO;
	}
	s->len += data[1];
	return (long)data[1];
}

int mig_save(struct vdev *v, struct mig *m, struct stream *s)
{
	long n;
	int err;

	err = mig_set_state(v, m, VFIO_MIG_STATE_SETUP);
	if (!err)
		err = mig_set_state(v, m, VFIO_MIG_STATE_PRECOPY);
	while (!err && mig_read64(v, m, VFIO_MIG_OFF_PRECOPY_ONLY)) {
		n = mig_get_chunk(v, m, s);
		if (n <= 0)
			err = n ? (int)n : -EPROTO;
	}
	if (!err)
		err = mig_set_state(v, m, VFIO_MIG_STATE_STOPNCOPY);
	while (!err && (n = mig_get_chunk(v, m, s)) != 0)
		if (n < 0)
			err = (int)n;
	if (!err && mig_read64(v, m, VFIO_MIG_OFF_POSTCOPY_ONLY))
		err = -EPROTO;
	if (!err)
		err = mig_set_state(v, m, VFIO_MIG_STATE_SAVE_COMPLETED);
	return err;
}

int mig_put_chunk(struct vdev *v, struct mig *m, const void *p, size_t len)
{
	uint64_t data[2] = { m->data_off, len };
	ssize_t n;

	if (m->map) {
		memcpy(m->map, p, len);
	} else {
		n = region_write(v, m->index, m->data_off, p, len);
		if (n != (ssize_t)len)
			return n < 0 ? (int)n : -EIO;
	}
	return mig_hdr_write(v, m, VFIO_MIG_OFF_DATA, data, sizeof(data));
}

int mig_feed(struct vdev *v, struct mig *m, const uint8_t *p, size_t len,
	     const size_t *sizes)
{
	size_t done = 0, i = 0;
	int err = 0;

	while (!err && done < len) {
		size_t n = sizes[i] ? sizes[i] : m->data_size;

		if (sizes[i] && sizes[i + 1])
			i++;
		else if (sizes[i])
			i = 0;
		if (n > m->data_size)
			n = m->data_size;
		if (n > len - done)
			n = len - done;
		err = mig_put_chunk(v, m, p + done, n);
		done += n;
	}
	return err;
}

int mig_restore(struct vdev *v, struct mig *m, const uint8_t *p,
		size_t len, const size_t *sizes)
{
	int err = mig_set_state(v, m, VFIO_MIG_STATE_RESUME);

	if (!err)
		err = mig_feed(v, m, p, len, sizes);
	if (!err)
		err = mig_set_state(v, m, VFIO_MIG_STATE_RESUME_COMPLETED);
	if (!err)
		err = mig_set_state(v, m, VFIO_MIG_STATE_RUNNING);
	return err;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void record_reseal(uint8_t *rec)
{
	uint32_t len = le32(rec + 4), crc;

	memset(rec + 12, 0, 4);
	crc = vmig_crc32c(0, rec, 16);
	crc = vmig_crc32c(crc, rec + 16, len);
	rec[12] = crc;
	rec[13] = crc >> 8;
	rec[14] = crc >> 16;
	rec[15] = crc >> 24;
}

size_t stream_records(const uint8_t *p, size_t len, size_t *offs,
		      size_t max)
{
	size_t off = 0, n = 0;

	while (off + 16 <= len && n < max) {
		offs[n++] = off;
		off += 16 + (size_t)le32(p + off + 4);
	}
	return n;
}

/* --- the v2 protocol ------------------------------------------------------- */

int v2_feature(struct vdev *v, uint32_t flags, void *data, size_t len)
{
	struct {
		struct vfio_device_feature f;
		uint8_t data[64];
	} buf = { .f.argsz = sizeof(buf.f) + len, .f.flags = flags };

	if (len > sizeof(buf.data))
		return -EINVAL;
	if (len)
		memcpy(buf.data, data, len);
	if (ioctl(v->fd, VFIO_DEVICE_FEATURE, &buf))
		return -errno;
	if (len)
		memcpy(data, buf.data, len);
	return 0;
}

int v2_set_state(struct vdev *v, uint32_t state, int *fd)
{
	struct vfio_device_feature_mig_state ms = { .device_state = state };
	int ret = v2_feature(v, VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms,
			     sizeof(ms));

	if (fd)
		*fd = ret ? -1 : ms.data_fd;
	else if (!ret && ms.data_fd >= 0)
		close(ms.data_fd);
	return ret;
}

uint32_t v2_get_state(struct vdev *v)
{
	struct vfio_device_feature_mig_state ms = { };

	if (v2_feature(v, VFIO_DEVICE_FEATURE_GET |
		       VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms)))
		return ~0u;
	return ms.device_state;
}

ssize_t v2_read_all(int fd, struct stream *s, size_t chunk, int *err)
{
	ssize_t total = 0, n;

	*err = 0;
	for (;;) {
		stream_reserve(s, chunk);
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

int v2_write_all(int fd, const uint8_t *p, size_t len, size_t chunk)
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

int v2_save(struct vdev *v, struct stream *s, size_t chunk)
{
	int fd, err, ret;

	ret = v2_set_state(v, ST_STOP_COPY, &fd);
	if (ret)
		return ret;
	v2_read_all(fd, s, chunk, &err);
	close(fd);
	ret = v2_set_state(v, ST_STOP, NULL) ?:
	      v2_set_state(v, ST_RUNNING, NULL);
	return err ? -err : ret;
}

int v2_restore(struct vdev *v, const uint8_t *p, size_t len, size_t chunk)
{
	int fd, ret;

	ret = v2_set_state(v, ST_RESUMING, &fd);
	if (ret)
		return ret;
	ret = v2_write_all(fd, p, len, chunk);
	close(fd);
	return ret ?: v2_set_state(v, ST_RUNNING, NULL);
}

int v2_precopy_info_flags(int fd, struct v2_precopy_info *pi, uint32_t flags)
{
	memset(pi, 0, sizeof(*pi));
	pi->argsz = sizeof(*pi);
	pi->flags = flags;
	return ioctl(fd, MIG_GET_PRECOPY_INFO, pi) ? -errno : 0;
}

int v2_precopy_info(int fd, struct v2_precopy_info *pi)
{
	return v2_precopy_info_flags(fd, pi, 0);
}

int v2_logging(struct vdev *v, uint32_t op, uint64_t iova, uint64_t len,
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
		return v2_feature(v, VFIO_DEVICE_FEATURE_GET | op, &rep,
				  sizeof(rep));
	if (op == VFIO_DEVICE_FEATURE_DMA_LOGGING_START)
		return v2_feature(v, VFIO_DEVICE_FEATURE_SET | op, &ctl,
				  sizeof(ctl));
	return v2_feature(v, VFIO_DEVICE_FEATURE_SET | op, NULL, 0);
}

/* --- the engine's injected faults (debugfs) --------------------------------- */

void fault_path(const struct vdev *v, const char *file, char *path,
		size_t len)
{
	snprintf(path, len, FAULT_DIR "/%s/%s", v->uuid, file);
}

int fault_set(const struct vdev *v, const char *file, const char *val)
{
	char path[256];

	fault_path(v, file, path, sizeof(path));
	return sysfs_write(path, val);
}

const char *fault_get(const struct vdev *v, const char *file)
{
	static char buf[64];
	char path[256];
	ssize_t n;
	int fd;

	buf[0] = 0;
	fault_path(v, file, path, sizeof(path));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}
