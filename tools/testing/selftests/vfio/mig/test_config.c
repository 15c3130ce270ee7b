// SPDX-License-Identifier: GPL-2.0
/*
 * Config space, BAR sizing, MSI capability and the info ioctls of mtty-mig.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "mtty-mig.h"
#include "vfio_test.h"

/* Size a 32-bit BAR the standard way: write all ones, read the mask back. */
static uint32_t bar_size(struct vdev *v, unsigned int bar, uint32_t *flags)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t orig = cfg_read(v, off, 4), mask;

	cfg_write(v, off, 0xffffffff, 4);
	mask = cfg_read(v, off, 4);
	cfg_write(v, off, orig, 4);
	if (!mask) {
		*flags = 0;
		return 0;
	}
	if (mask & PCI_BASE_ADDRESS_SPACE_IO) {
		*flags = mask & ~PCI_BASE_ADDRESS_IO_MASK;
		return ~(mask & PCI_BASE_ADDRESS_IO_MASK) + 1;
	}
	*flags = mask & ~PCI_BASE_ADDRESS_MEM_MASK;
	return ~(mask & PCI_BASE_ADDRESS_MEM_MASK) + 1;
}

static void region_info(struct vdev *v, unsigned int index,
			struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(v->fd, VFIO_DEVICE_GET_REGION_INFO, ri))
		t_bail("GET_REGION_INFO %u: %s", index, strerror(errno));
}

static void test_ids(struct vdev *v, unsigned int ports)
{
	t_ok(cfg_read(v, PCI_VENDOR_ID, 2) == MTTYM_PCI_VENDOR &&
	     cfg_read(v, PCI_DEVICE_ID, 2) == MTTYM_PCI_DEVICE,
	     "%up: vendor and device ID", ports);
	t_ok(cfg_read(v, PCI_CLASS_REVISION, 4) ==
	     (MTTYM_PCI_CLASS << 8 | MTTYM_PCI_REVISION),
	     "%up: class code serial/16550 and revision", ports);
	t_ok(cfg_read(v, PCI_HEADER_TYPE, 1) == PCI_HEADER_TYPE_NORMAL &&
	     (cfg_read(v, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST),
	     "%up: type 0 header with a capability list", ports);
	t_ok(cfg_read(v, PCI_SUBSYSTEM_VENDOR_ID, 2) == MTTYM_PCI_VENDOR &&
	     cfg_read(v, PCI_SUBSYSTEM_ID, 2) == ports,
	     "%up: subsystem ID gives the port count", ports);
	cfg_write(v, PCI_VENDOR_ID, 0x12345678, 4);
	cfg_write(v, PCI_CLASS_REVISION, 0, 4);
	t_ok(cfg_read(v, PCI_VENDOR_ID, 2) == MTTYM_PCI_VENDOR &&
	     cfg_read(v, PCI_CLASS_REVISION, 4) ==
	     (MTTYM_PCI_CLASS << 8 | MTTYM_PCI_REVISION),
	     "%up: read-only IDs ignore writes", ports);
	t_ok(cfg_read(v, PCI_INTERRUPT_PIN, 1) == 1,
	     "%up: interrupt pin INTA", ports);
}

static void test_command(struct vdev *v)
{
	cfg_write(v, PCI_COMMAND, 0xffff, 2);
	t_ok(cfg_read(v, PCI_COMMAND, 2) ==
	     (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	      PCI_COMMAND_INTX_DISABLE),
	     "command register keeps only IO, MEM, MASTER, INTX_DISABLE");
	cfg_write(v, PCI_COMMAND, 0, 2);
	t_ok(cfg_read(v, PCI_COMMAND, 2) == 0, "command register clears");
}

static void test_bars(struct vdev *v, unsigned int ports)
{
	struct vfio_region_info ri;
	uint32_t flags, size;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		size = bar_size(v, i, &flags);
		if (i < ports)
			t_ok(size == 8 && flags == PCI_BASE_ADDRESS_SPACE_IO,
			     "%up: BAR%u is 8 I/O ports (size %u flags %#x)",
			     ports, i, size, flags);
		else
			t_ok(size == 0, "%up: BAR%u is not implemented",
			     ports, i);
	}
	region_info(v, MTTYM_MEM_REGION, &ri);
	size = bar_size(v, 2, &flags);
	t_ok(size == ri.size && size == mttym_bar2_size(1 << 20) &&
	     flags == PCI_BASE_ADDRESS_MEM_TYPE_32,
	     "%up: BAR2 is 32-bit MMIO of the region's size, twice the memory (%u)",
	     ports, size);
	for (i = 3; i < 6; i++) {
		size = bar_size(v, i, &flags);
		if (size)
			break;
	}
	t_ok(i == 6, "%up: BAR3-5 are not implemented", ports);

	cfg_write(v, PCI_BASE_ADDRESS_2, 0xfe000000, 4);
	cfg_write(v, PCI_BASE_ADDRESS_0, 0xc0a1, 4);
	t_ok(cfg_read(v, PCI_BASE_ADDRESS_2, 4) == 0xfe000000 &&
	     cfg_read(v, PCI_BASE_ADDRESS_0, 4) == 0xc0a1,
	     "%up: programmed BAR addresses read back (low bits fixed)",
	     ports);
}

/*
 * BAR2's parts: device memory up to mem_size, the DMA registers in the
 * next 4 KiB (4- and 8-byte accesses only), zeros above them.
 */
static void test_bar2_layout(struct vdev *v)
{
	uint64_t mem = 1 << 20, base = mttym_dma_base(mttym_bar2_size(mem));
	uint64_t q = 0x1122334455667788ULL, got = 0;
	uint8_t b = 0x5a;
	uint32_t d;

	t_ok(base == mem, "BAR2: the DMA registers start at mem_size (%#llx)",
	     (unsigned long long)base);
	region_write(v, MTTYM_MEM_REGION, mem - 8, &q, 8);
	region_read(v, MTTYM_MEM_REGION, mem - 8, &got, 8);
	t_ok(got == q, "BAR2: the last word of device memory is memory");
	t_ok(region_write(v, MTTYM_MEM_REGION, base + MTTYM_DMA_PATTERN, &q,
			  8) == 8 &&
	     dma_reg_read(v, MTTYM_DMA_PATTERN, &got, 8) == 8 && got == q &&
	     dma_reg_read(v, MTTYM_DMA_PATTERN + 4, &d, 4) == 4 &&
	     d == 0x11223344,
	     "BAR2: PATTERN at mem_size + 0x20 holds its value, halves too");
	t_ok(region_read(v, MTTYM_MEM_REGION, base + MTTYM_DMA_COUNT, &b,
			 1) == -EINVAL &&
	     region_write(v, MTTYM_MEM_REGION, base + MTTYM_DMA_PATTERN, &b,
			  1) == -EINVAL &&
	     region_write(v, MTTYM_MEM_REGION, base + MTTYM_DMA_PATTERN, &b,
			  2) == -EINVAL,
	     "BAR2: 1- and 2-byte register accesses get EINVAL");
	t_ok(region_write(v, MTTYM_MEM_REGION, base + MTTYM_DMA_SIZE, &q,
			  8) == 8 &&
	     region_read(v, MTTYM_MEM_REGION, base + MTTYM_DMA_SIZE, &got,
			 8) == 8 && got == 0 &&
	     region_read(v, MTTYM_MEM_REGION, 2 * mem - 1, &b, 1) == 1 &&
	     b == 0,
	     "BAR2: above the registers, writes are ignored and reads are 0");
	got = 0;
	dma_reg_write(v, MTTYM_DMA_PATTERN, &got, 8);
	region_write(v, MTTYM_MEM_REGION, mem - 8, &got, 8);
}

static void test_msi(struct vdev *v)
{
	unsigned int cap = cfg_read(v, PCI_CAPABILITY_LIST, 1);
	uint16_t flags;

	t_ok(cap >= 0x40 && cap < 0x100 &&
	     cfg_read(v, cap + PCI_CAP_LIST_ID, 1) == PCI_CAP_ID_MSI &&
	     cfg_read(v, cap + PCI_CAP_LIST_NEXT, 1) == 0,
	     "MSI capability is the only capability (at %#x)", cap);
	if (cap < 0x40 || cap >= 0x100)
		return;
	flags = cfg_read(v, cap + PCI_MSI_FLAGS, 2);
	t_ok((flags & PCI_MSI_FLAGS_64BIT) && !(flags & PCI_MSI_FLAGS_QMASK),
	     "MSI: 64-bit address, one vector");
	cfg_write(v, cap + PCI_MSI_FLAGS, 0xffff, 2);
	flags = cfg_read(v, cap + PCI_MSI_FLAGS, 2);
	t_ok(flags == (PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE),
	     "MSI: only the enable bit is writable (%#x)", flags);
	cfg_write(v, cap + PCI_MSI_ADDRESS_LO, 0xfee00003, 4);
	cfg_write(v, cap + PCI_MSI_ADDRESS_HI, 0x12345678, 4);
	cfg_write(v, cap + PCI_MSI_DATA_64, 0x4041, 2);
	t_ok(cfg_read(v, cap + PCI_MSI_ADDRESS_LO, 4) == 0xfee00000 &&
	     cfg_read(v, cap + PCI_MSI_ADDRESS_HI, 4) == 0x12345678 &&
	     cfg_read(v, cap + PCI_MSI_DATA_64, 2) == 0x4041,
	     "MSI: address and data registers hold their values");
}

static void test_whole_read(struct vdev *v)
{
	uint8_t buf[256];
	uint32_t id;

	t_ok(region_read(v, VFIO_PCI_CONFIG_REGION_INDEX, 0, buf,
			 sizeof(buf)) == sizeof(buf),
	     "the whole config space reads in one pread");
	id = buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24;
	t_ok(id == (MTTYM_PCI_DEVICE << 16 | MTTYM_PCI_VENDOR),
	     "bulk read agrees with field reads");
}

static void test_info(struct vdev *v, unsigned int ports)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info ri;
	struct vfio_irq_info ii;
	bool good = true;
	unsigned int i;
	int ret;

	ret = ioctl(v->fd, VFIO_DEVICE_GET_INFO, &di);
	t_ok(ret == 0 &&
	     (di.flags & VFIO_DEVICE_FLAGS_PCI) &&
	     (di.flags & VFIO_DEVICE_FLAGS_RESET) &&
	     di.num_regions == MTTYM_V1_REGION + 1 &&
	     di.num_irqs == VFIO_PCI_NUM_IRQS,
	     "%up: GET_INFO: PCI, resettable, %u regions, %u irqs", ports,
	     di.num_regions, di.num_irqs);

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		uint64_t want = 0;

		if (i == VFIO_PCI_CONFIG_REGION_INDEX)
			want = 256;
		else if (i < ports)
			want = 8;
		else if (i == MTTYM_MEM_REGION)
			want = mttym_bar2_size(1 << 20);
		region_info(v, i, &ri);
		if (ri.size != want || ri.offset != engine_pos(i, 0) ||
		    (want && (ri.flags & 3) != 3) || (!want && ri.flags)) {
			t_diag("region %u: size %llu offset %#llx flags %#x",
			       i, (unsigned long long)ri.size,
			       (unsigned long long)ri.offset, ri.flags);
			good = false;
		}
	}
	t_ok(good, "%up: GET_REGION_INFO sizes, offsets and flags", ports);

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		uint32_t count = i == VFIO_PCI_INTX_IRQ_INDEX ||
				 i == VFIO_PCI_MSI_IRQ_INDEX;

		memset(&ii, 0, sizeof(ii));
		ii.argsz = sizeof(ii);
		ii.index = i;
		if (ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) ||
		    ii.count != count ||
		    (count && !(ii.flags & VFIO_IRQ_INFO_EVENTFD)))
			break;
		if (i == VFIO_PCI_INTX_IRQ_INDEX &&
		    !(ii.flags & VFIO_IRQ_INFO_MASKABLE))
			break;
	}
	t_ok(i == VFIO_PCI_NUM_IRQS,
	     "%up: GET_IRQ_INFO: one INTx (maskable), one MSI, no others",
	     ports);
}

static void test_reset(struct vdev *v)
{
	cfg_write(v, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	cfg_write(v, PCI_BASE_ADDRESS_2, 0xfe000000, 4);
	t_ok(ioctl(v->fd, VFIO_DEVICE_RESET) == 0 &&
	     cfg_read(v, PCI_COMMAND, 2) == 0 &&
	     cfg_read(v, PCI_BASE_ADDRESS_2, 4) == 0,
	     "VFIO_DEVICE_RESET returns config space to power-on values");
}

int main(void)
{
	struct vdev v1, v2;

	t_start();
	vdev_create_open(&v1, MDEV_TYPE_1P);
	vdev_create_open(&v2, MDEV_TYPE_2P);

	test_ids(&v1, 1);
	test_ids(&v2, 2);
	test_command(&v1);
	test_bars(&v1, 1);
	test_bars(&v2, 2);
	test_bar2_layout(&v1);
	test_msi(&v1);
	test_whole_read(&v1);
	test_info(&v1, 1);
	test_info(&v2, 2);
	test_reset(&v1);

	vdev_destroy(&v1);
	vdev_destroy(&v2);
	return t_done();
}
