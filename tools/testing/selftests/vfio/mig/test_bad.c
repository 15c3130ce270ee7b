// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input: every malformed region access and ioctl gets a clear errno
 * and changes nothing.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

#define MEM_SIZE	(1u << 20)

static ssize_t raw_read(struct vdev *v, uint64_t pos, size_t len)
{
	uint8_t buf[512];
	ssize_t n = pread(v->fd, buf, len, (off_t)pos);

	return n < 0 ? -errno : n;
}

static ssize_t raw_write(struct vdev *v, uint64_t pos, size_t len)
{
	uint8_t buf[512];
	ssize_t n;

	memset(buf, 0xa5, sizeof(buf));
	n = pwrite(v->fd, buf, len, (off_t)pos);
	return n < 0 ? -errno : n;
}

/* Both directions of one access must fail with EINVAL. */
static void bad_both(struct vdev *v, uint64_t pos, size_t len,
		     const char *what)
{
	t_errno(raw_read(v, pos, len), EINVAL, "read: %s", what);
	t_errno(raw_write(v, pos, len), EINVAL, "write: %s", what);
}

/* A fingerprint of state the bad accesses must not change. */
struct snap {
	uint8_t scr, lcr, ier;
	uint64_t mem_first, mem_last;
	uint8_t cfg[256];
};

static void snapshot(struct vdev *v, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->scr = uart_in(v, 0, UART_SCR);
	s->lcr = uart_in(v, 0, UART_LCR);
	s->ier = uart_in(v, 0, UART_IER);
	region_read(v, MTTYM_MEM_REGION, 0, &s->mem_first, 8);
	region_read(v, MTTYM_MEM_REGION, MEM_SIZE - 8, &s->mem_last, 8);
	region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, 0, s->cfg, 256);
}

static void test_region_index(struct vdev *v)
{
	bad_both(v, engine_pos(MTTYM_V1_REGION + 1, 0), 4,
		 "first region index past the device's");
	bad_both(v, engine_pos(255, 0), 1, "region index 255");
	bad_both(v, engine_pos(0x7fffff, 0), 1, "largest region index");
	bad_both(v, engine_pos(VFIO_PCI_BAR1_REGION_INDEX, 0), 1,
		 "BAR1 of a one-port device");
	bad_both(v, engine_pos(VFIO_PCI_BAR4_REGION_INDEX, 0), 4,
		 "unimplemented BAR4");
	bad_both(v, engine_pos(VFIO_PCI_ROM_REGION_INDEX, 0), 4,
		 "unimplemented ROM");
	bad_both(v, engine_pos(VFIO_PCI_VGA_REGION_INDEX, 0), 1,
		 "unimplemented VGA");
}

static void test_config_bounds(struct vdev *v)
{
	unsigned int cfg = VFIO_PCI_CONFIG_REGION_INDEX;

	bad_both(v, region_pos(v, cfg, 256), 1, "config offset 256");
	bad_both(v, region_pos(v, cfg, 255), 2, "config access crossing the end");
	bad_both(v, region_pos(v, cfg, 0), 257, "config access longer than the space");
	bad_both(v, region_pos(v, cfg, 0x100000), 4, "config offset 1 MiB");
	bad_both(v, engine_pos(cfg, (1ull << 40) - 4), 4,
		 "config offset at the top of the region window");
}

static void test_uart_bounds(struct vdev *v)
{
	bad_both(v, region_pos(v, 0, 0), 2, "UART 2-byte access");
	bad_both(v, region_pos(v, 0, 4), 4, "UART 4-byte access");
	bad_both(v, region_pos(v, 0, 8), 1, "UART offset 8");
	bad_both(v, region_pos(v, 0, 7), 2, "UART access crossing the end");
}

static void test_mem_bounds(struct vdev *v)
{
	unsigned int m = MTTYM_MEM_REGION;

	bad_both(v, region_pos(v, m, 0), 3, "memory width 3");
	bad_both(v, region_pos(v, m, 0), 16, "memory width 16");
	bad_both(v, region_pos(v, m, 2), 4, "memory 4 bytes at offset 2");
	bad_both(v, region_pos(v, m, 4), 8, "memory 8 bytes at offset 4");
	bad_both(v, region_pos(v, m, 1), 2, "memory 2 bytes at offset 1");
	bad_both(v, region_pos(v, m, mttym_bar2_size(MEM_SIZE)), 1,
		 "BAR2 offset = its size");
	bad_both(v, region_pos(v, m, mttym_bar2_size(MEM_SIZE) - 4), 8,
		 "BAR2 access crossing the end");
}

static void test_overflow(struct vdev *v)
{
	/* Offset + length wraps past the region window and 2^64. */
	bad_both(v, engine_pos(MTTYM_MEM_REGION, (1ull << 40) - 1), 8,
		 "offset + length past the region window");
	bad_both(v, (uint64_t)LLONG_MAX - 3, 8,
		 "position near LLONG_MAX");
	t_errno(raw_read(v, (uint64_t)LLONG_MAX, 1), EINVAL,
		"read at position LLONG_MAX");
	t_errno(raw_read(v, 1ull << 63, 1), EINVAL,
		"read at a negative position");
}

static int region_info(struct vdev *v, uint32_t argsz, uint32_t index)
{
	struct vfio_region_info ri = { .argsz = argsz, .index = index };

	return ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, &ri) ? -errno : 0;
}

static void test_info_ioctls(struct vdev *v)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	struct vfio_device_info di = { .argsz = 8 };

	t_errno(region_info(v, sizeof(struct vfio_region_info),
			    MTTYM_V1_REGION + 1), EINVAL,
		"GET_REGION_INFO index past the last region");
	t_errno(region_info(v, sizeof(struct vfio_region_info), ~0u), EINVAL,
		"GET_REGION_INFO index 0xffffffff");
	t_errno(region_info(v, 16, 0), EINVAL,
		"GET_REGION_INFO argsz below the fixed part");
	t_errno(ioctl(v->fd, VFIO_DEVICE_GET_INFO, &di), EINVAL,
		"GET_INFO argsz below the fixed part");
	ii.index = VFIO_PCI_NUM_IRQS;
	t_errno(ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii), EINVAL,
		"GET_IRQ_INFO index past the last");
	ii.index = 0;
	ii.argsz = 4;
	t_errno(ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii), EINVAL,
		"GET_IRQ_INFO argsz too small");
	t_errno(ioctl(v->fd, _IO(VFIO_TYPE, VFIO_BASE + 60)), ENOTTY,
		"unknown ioctl");
}

struct irq_req {
	struct vfio_irq_set hdr;
	int32_t data[4];
} __attribute__((packed));

static int set_irqs(struct vdev *v, uint32_t argsz, uint32_t flags,
		    uint32_t index, uint32_t start, uint32_t count,
		    int32_t fd)
{
	struct irq_req r = {
		.hdr = { .argsz = argsz, .flags = flags, .index = index,
			 .start = start, .count = count },
		.data = { fd, fd, fd, fd },
	};

	return ioctl(v->fd, VFIO_DEVICE_SET_IRQS, &r) ? -errno : 0;
}

static void test_set_irqs(struct vdev *v)
{
	const uint32_t full = sizeof(struct irq_req);
	const uint32_t one = sizeof(struct vfio_irq_set) + 4;
	const uint32_t trig_efd = VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER;
	const uint32_t intx = VFIO_PCI_INTX_IRQ_INDEX;
	int efd = efd_new(), closed;

	t_errno(set_irqs(v, full, trig_efd, VFIO_PCI_NUM_IRQS, 0, 1, efd),
		EINVAL, "SET_IRQS index past the last");
	t_errno(set_irqs(v, full, trig_efd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1,
			 efd), EINVAL, "SET_IRQS on MSI-X (no vectors)");
	t_errno(set_irqs(v, full, trig_efd, intx, 1, 1, efd), EINVAL,
		"SET_IRQS start past the vectors");
	t_errno(set_irqs(v, full, trig_efd, intx, 0, 2, efd), EINVAL,
		"SET_IRQS count past the vectors");
	t_errno(set_irqs(v, full, trig_efd, intx, 1, UINT32_MAX, efd), EINVAL,
		"SET_IRQS start + count overflowing");
	t_errno(set_irqs(v, full, VFIO_IRQ_SET_DATA_EVENTFD |
			 VFIO_IRQ_SET_ACTION_TRIGGER |
			 VFIO_IRQ_SET_ACTION_MASK, intx, 0, 1, efd), EINVAL,
		"SET_IRQS with two actions");
	t_errno(set_irqs(v, full, VFIO_IRQ_SET_DATA_EVENTFD |
			 VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
			 intx, 0, 1, efd), EINVAL,
		"SET_IRQS with two data types");
	t_errno(set_irqs(v, full, VFIO_IRQ_SET_DATA_NONE, intx, 0, 1, efd),
		EINVAL, "SET_IRQS with no action");
	t_errno(set_irqs(v, full, trig_efd | (1u << 12), intx, 0, 1, efd),
		EINVAL, "SET_IRQS with an unknown flag");
	t_errno(set_irqs(v, one - 1, trig_efd, intx, 0, 1, efd), EINVAL,
		"SET_IRQS argsz too small for its data");
	t_errno(set_irqs(v, 8, trig_efd, intx, 0, 1, efd), EINVAL,
		"SET_IRQS argsz below the header");
	t_errno(set_irqs(v, full, trig_efd, intx, 0, 0, efd), EINVAL,
		"SET_IRQS eventfd with count 0");
	t_errno(set_irqs(v, full, VFIO_IRQ_SET_DATA_NONE |
			 VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSI_IRQ_INDEX, 0,
			 1, 0), EINVAL, "SET_IRQS mask on MSI");
	t_errno(set_irqs(v, full, VFIO_IRQ_SET_DATA_EVENTFD |
			 VFIO_IRQ_SET_ACTION_UNMASK, intx, 0, 1, efd), EINVAL,
		"SET_IRQS unmask through an eventfd");
	t_errno(set_irqs(v, full, trig_efd, intx, 0, 1, -2), EINVAL,
		"SET_IRQS eventfd -2");
	closed = dup(efd);
	close(closed);
	t_errno(set_irqs(v, full, trig_efd, intx, 0, 1, closed), EBADF,
		"SET_IRQS with a closed fd");
	t_errno(set_irqs(v, full, trig_efd, intx, 0, 1, v->fd), EINVAL,
		"SET_IRQS with an fd that is not an eventfd");
	close(efd);
}

int main(void)
{
	struct snap before, after;
	uint64_t q = 0x0102030405060708ull;
	struct vdev v;

	t_start();
	vdev_create_open(&v, MDEV_TYPE_1P);
	/* Put recognisable state everywhere the bad accesses could land. */
	uart_out(&v, 0, UART_SCR, 0x3c);
	uart_out(&v, 0, UART_LCR, 0x03);
	uart_out(&v, 0, UART_IER, 0x01);
	region_write(&v, MTTYM_MEM_REGION, 0, &q, 8);
	region_write(&v, MTTYM_MEM_REGION, MEM_SIZE - 8, &q, 8);
	snapshot(&v, &before);

	test_region_index(&v);
	test_config_bounds(&v);
	test_uart_bounds(&v);
	test_mem_bounds(&v);
	test_overflow(&v);
	test_info_ioctls(&v);
	test_set_irqs(&v);

	snapshot(&v, &after);
	t_ok(memcmp(&before, &after, sizeof(before)) == 0,
	     "no refused access changed device state");
	t_ok(raw_read(&v, region_pos(&v, MTTYM_MEM_REGION, 0), 0) == 0,
	     "a zero-length access at a valid position returns 0");
	vdev_destroy(&v);
	return t_done();
}
