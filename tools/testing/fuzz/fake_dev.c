// SPDX-License-Identifier: GPL-2.0
/*
 * A vendor driver for the fuzzers: the engine's ops over plain memory.
 * The first two configurations have mtty-mig's identity, record types and
 * lengths (1port-1M and 2port-1M), so streams saved from real mtty-mig
 * devices are valid inputs; the others are small.  Every record it loads
 * must have passed its own check: loading one that does not aborts, which
 * is the invariant the stream fuzzer guards.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#include "fake_dev.h"

#include <linux/vfio_mig.h>
#include <linux/vfio_mig_compat.h>

#define REC_CONFIG	0x100
#define REC_UART0	0x101
#define REC_UART1	0x102
#define REC_IRQ		0x103
#define REC_DMA		0x104
#define UART_LEN	27

static const u32 types_1p[] = { REC_CONFIG, REC_UART0, REC_IRQ, REC_DMA };
static const u32 types_2p[] = { REC_CONFIG, REC_UART0, REC_UART1, REC_IRQ,
				REC_DMA };

static const struct fake_config {
	const char *model;
	unsigned int ports;
	u64 mem_size;
	u64 data_size;
} configs[FAKE_CONFIGS] = {
	{ "mtty-mig", 1, SZ_1M, SZ_1M },	/* as mtty_mig-1port-1M */
	{ "mtty-mig", 2, SZ_1M, SZ_1M },	/* as mtty_mig-2port-1M */
	{ "fuzz-dev", 1, 4 * PAGE_SIZE, SZ_64K },
	{ "fuzz-dev", 2, 0, SZ_64K },		/* no device memory */
};

static struct fake_dev *to_fake(struct vfio_mig_device *mig)
{
	return container_of(mig, struct fake_dev, mig);
}

static size_t fake_identity(struct vfio_mig_device *mig, u8 *buf, size_t len)
{
	struct fake_dev *d = to_fake(mig);
	struct {
		char model[16];
		__le32 version;
		__le32 ports;
		__le64 mem_size;
		__le32 features;
	} __packed id = {
		.version = cpu_to_le32(2),	/* mtty-mig's since BAR3 went */
		.ports = cpu_to_le32(d->ports),
		.mem_size = cpu_to_le64(d->mem_size),
		.features = cpu_to_le32(1),
	};

	memcpy(id.model, d->model, strlen(d->model));
	if (len < sizeof(id))
		return 0;
	memcpy(buf, &id, sizeof(id));
	return sizeof(id);
}

static void fake_quiesce(struct vfio_mig_device *mig)
{
	struct fake_dev *d = to_fake(mig);

	lockdep_assert_held(&mig->core->lock);
	assert(!d->quiesced);
	d->quiesced = true;
}

static void fake_unquiesce(struct vfio_mig_device *mig)
{
	struct fake_dev *d = to_fake(mig);

	lockdep_assert_held(&mig->core->lock);
	assert(d->quiesced);
	d->quiesced = false;
}

static int fake_save_state(struct vfio_mig_device *mig,
			   struct vfio_mig_stream *s)
{
	struct fake_dev *d = to_fake(mig);
	unsigned int i;

	lockdep_assert_held(&mig->core->lock);
	vfio_mig_emit(s, REC_CONFIG, d->cfg, sizeof(d->cfg));
	for (i = 0; i < d->ports; i++)
		vfio_mig_emit(s, REC_UART0 + i, d->uart[i], UART_LEN);
	vfio_mig_emit(s, REC_IRQ, d->irq, sizeof(d->irq));
	return vfio_mig_emit(s, REC_DMA, d->dma, sizeof(d->dma));
}

/* Checks of the same kind as mtty-mig's: lengths, counts, flags. */
static int fake_check(const struct fake_dev *d, u32 type, const u8 *p,
		      u32 len)
{
	unsigned int i;

	switch (type) {
	case REC_CONFIG:
		return len == sizeof(d->cfg) ? 0 : -EINVAL;
	case REC_UART0:
	case REC_UART1:
		if (len != UART_LEN || type - REC_UART0 >= d->ports ||
		    p[16] > 16 || p[26] > 1)
			return -EINVAL;
		for (i = p[16]; i < 16; i++)
			if (p[i])
				return -EINVAL;
		return 0;
	case REC_IRQ:
		return len == 2 && p[0] <= 1 && p[1] <= 1 ? 0 : -EINVAL;
	case REC_DMA:
		return len == sizeof(d->dma) && get_unaligned_le64(p + 40) <= 2 ?
		       0 : -EINVAL;
	}
	return -EINVAL;
}

static int fake_check_record(struct vfio_mig_device *mig, u32 type,
			     const void *p, u32 len)
{
	lockdep_assert_held(&mig->core->lock);
	return fake_check(to_fake(mig), type, p, len);
}

static void fake_load_record(struct vfio_mig_device *mig, u32 type,
			     const void *p, u32 len)
{
	struct fake_dev *d = to_fake(mig);

	lockdep_assert_held(&mig->core->lock);
	/* The engine applies only what passed the check. */
	if (fake_check(d, type, p, len))
		abort();
	switch (type) {
	case REC_CONFIG:
		memcpy(d->cfg, p, len);
		break;
	case REC_UART0:
	case REC_UART1:
		memcpy(d->uart[type - REC_UART0], p, len);
		break;
	case REC_IRQ:
		memcpy(d->irq, p, len);
		break;
	case REC_DMA:
		memcpy(d->dma, p, len);
		break;
	}
	d->loaded++;
}

static void fake_reset(struct vfio_mig_device *mig)
{
	struct fake_dev *d = to_fake(mig);

	lockdep_assert_held(&mig->core->lock);
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->uart, 0, sizeof(d->uart));
	memset(d->irq, 0, sizeof(d->irq));
	memset(d->dma, 0, sizeof(d->dma));
	if (d->mem)
		memset(d->mem, 0, d->mem_size);
}

static void fake_mem_read(struct vfio_mig_device *mig, u64 off, void *buf,
			  size_t len, struct vfio_mig_copy *c)
{
	struct fake_dev *d = to_fake(mig);

	assert(off <= d->mem_size && len <= d->mem_size - off);
	vfio_mig_copy(c, buf, d->mem + off, len);
}

static void fake_mem_write(struct vfio_mig_device *mig, u64 off,
			   const void *buf, size_t len, struct vfio_mig_copy *c)
{
	struct fake_dev *d = to_fake(mig);

	/* Pages of a stream reach only a quiesced device. */
	assert(d->quiesced);
	assert(off <= d->mem_size && len <= d->mem_size - off);
	vfio_mig_copy(c, d->mem + off, buf, len);
}

static const struct vfio_mig_ops fake_ops = {
	.identity = fake_identity,
	.quiesce = fake_quiesce,
	.unquiesce = fake_unquiesce,
	.save_state = fake_save_state,
	.check_record = fake_check_record,
	.load_record = fake_load_record,
	.reset = fake_reset,
	.mem_read = fake_mem_read,
	.mem_write = fake_mem_write,
};

/* Region callbacks: a register byte array, device memory, config space. */

static u8 *region_bytes(struct fake_dev *d, unsigned int index)
{
	return index == 0 ? d->regs : index == 2 ? d->mem : d->cfg;
}

static int fake_region_read(struct vfio_mig_device *mig, unsigned int index,
			    u64 off, void *buf, size_t count)
{
	struct fake_dev *d = to_fake(mig);

	assert(off + count <= mig->regions[index].size);
	memcpy(buf, region_bytes(d, index) + off, count);
	return 0;
}

static int fake_region_write(struct vfio_mig_device *mig,
			     unsigned int index, u64 off, const void *buf,
			     size_t count)
{
	struct fake_dev *d = to_fake(mig);

	assert(off + count <= mig->regions[index].size);
	memcpy(region_bytes(d, index) + off, buf, count);
	if (index == 2)
		vfio_mig_mem_dirty(mig, off, count);
	return 0;
}

static struct fake_dev *fake_dev_new(const struct fake_config *c)
{
	const u32 rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfio_mig_config cfg = {
		.ops = &fake_ops,
		.data_size = c->data_size,
		.mem_size = c->mem_size,
		.state_types = c->ports == 1 ? types_1p : types_2p,
		.nr_state_types = c->ports == 1 ? 4 : 5,
		.max_record = 256,
	};
	struct fake_dev *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	d->model = c->model;
	d->ports = c->ports;
	d->mem_size = c->mem_size;
	if (c->mem_size) {
		d->mem = calloc(1, c->mem_size);
		if (!d->mem)
			abort();
	}
	d->mig.num_regions = VFIO_PCI_NUM_REGIONS;
	d->mig.regions[0] = (struct vfio_mig_region) {
		.size = sizeof(d->regs), .flags = rw, .widths = VFIO_MIG_W1,
		.quiesce = true,
		.read = fake_region_read, .write = fake_region_write,
	};
	d->mig.regions[2] = (struct vfio_mig_region) {
		.size = c->mem_size, .flags = rw,
		.widths = VFIO_MIG_W1 | VFIO_MIG_W2 | VFIO_MIG_W4 | VFIO_MIG_W8,
		.quiesce = true,
		.read = fake_region_read, .write = fake_region_write,
	};
	d->mig.regions[VFIO_PCI_CONFIG_REGION_INDEX] = (struct vfio_mig_region) {
		.size = sizeof(d->cfg), .flags = rw,
		.widths = VFIO_MIG_ANY_LENGTH,
		.read = fake_region_read, .write = fake_region_write,
	};
	if (vfio_mig_init(&d->mig, &cfg))
		abort();
	return d;
}

/*
 * What module load does, but with no time to measure: the table.  A
 * program may choose another implementation afterwards.
 */
__attribute__((constructor)) static void fake_crc_init(void)
{
	vfio_mig_crc_choose("table");
}

struct fake_dev *fake_dev_create(unsigned int config)
{
	return fake_dev_new(&configs[config % FAKE_CONFIGS]);
}

struct fake_dev *fake_dev_create_mem(u64 mem_size, u64 data_size)
{
	const struct fake_config c = { "mtty-mig", 1, mem_size, data_size };

	return fake_dev_new(&c);
}

size_t fake_dev_save(struct fake_dev *d, u8 **buf, size_t *cap)
{
	struct vfio_mig_core *core = d->mig.core;
	size_t len = 0;
	u64 n;

	mutex_lock(&core->lock);
	if (vfio_mig_stop_copy(core))
		abort();
	do {
		if (*cap - len < core->cfg.data_size) {
			*cap = 2 * *cap + core->cfg.data_size;
			*buf = realloc(*buf, *cap);
			if (!*buf)
				abort();
		}
		n = vfio_mig_save_chunk(core, *buf + len, core->cfg.data_size);
		len += n;
	} while (n);
	vfio_mig_save_drop(core);
	vfio_mig_unquiesce(core);
	mutex_unlock(&core->lock);
	return len;
}

void fake_dev_destroy(struct fake_dev *d)
{
	vfio_mig_uninit(&d->mig);
	free(d->mem);
	free(d);
}

/*
 * Neither the v2 front-end nor the mdev and MSI glue (vfio_mig_dev.c) is
 * built into the fuzzers: their hooks.  The fake device has no MSI.
 */

void vfio_mig_msi_release(struct vfio_mig_core *core)
{
	assert(!core->msi);
}

long vfio_mig_irq_info(void __user *arg, bool intx)
{
	abort();
}

long vfio_mig_set_irqs(struct vfio_mig_core *core, void __user *arg)
{
	abort();
}

void vfio_mig_v2_setup(struct vfio_mig_core *core)
{
	INIT_LIST_HEAD(&core->v2.gone);
	core->v2.state = VFIO_DEVICE_STATE_RUNNING;
}

void vfio_mig_v2_abort(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	assert(!core->v2.file);
	vfio_mig_dma_log_stop(core);
	core->v2.state = VFIO_DEVICE_STATE_RUNNING;
}

void vfio_mig_v2_cut_off(struct vfio_mig_core *core)
{
	assert(!core->lock.held);
}
