// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcount-mig: a mediated PCI counter device that raises MSI, the second
 * sample driver of the vfio-mig engine; registers only, no device memory
 * (Documentation/mcount-mig.rst).  The engine (linux/vfio_mig.h) decodes
 * region accesses and does all of migration; the driver gives it its
 * identity, quiesce, two state records with their checks, and reset.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking: mcount_state.lock protects all mutable device state (config
 * space, registers, the quiesced flag).  Region callbacks, the engine's
 * ops and the traffic files take it, inside the engine's state lock when
 * the engine calls in; nothing here calls into the engine, but for
 * vfio_mig_msi_signal(), or copies user memory while holding it.
 */

#include <linux/device.h>
#include <linux/lockdep.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/sizes.h>
#include <linux/vfio.h>
#include <linux/vfio_mig.h>
#include <linux/vfio_mig_compat.h>

#include "mcount-mig.h"

#define MCOUNT_NAME		"mcount_mig"
#define MCOUNT_MAX_INSTANCES	32	/* shared by both types */
#define MCOUNT_MAX_TICKS	1000000	/* per write of traffic/tick */
/* Register slots: BAR0 offset / 8; the CMD slot always holds 0. */
#define R_STEP			(MCOUNT_STEP / 8)
#define R_CTRL			(MCOUNT_CTRL / 8)
#define R_CMD			(MCOUNT_CMD / 8)
#define R_TICKS			(MCOUNT_TICKS / 8)

struct mcount_type {
	struct mdev_type type;
	unsigned int nr;		/* counters */
};

/* MCOUNT_REC_REGS: the registers as BAR0 lays them out, little-endian. */
struct mcount_regs_rec {
	__le64 reg[MCOUNT_BAR_SIZE / 8];
} __packed;
static_assert(sizeof(struct mcount_regs_rec) == MCOUNT_REGS_LEN);

struct mcount_state {
	struct vfio_mig_device mig;	/* must be first */
	const struct mcount_type *type;
	struct mutex lock;
	struct vfio_mig_pci_config cfg;
	u64 reg[MCOUNT_BAR_SIZE / 8];	/* counters >= nr stay 0 */
	bool quiesced;
};

static struct mcount_type mcount_types[] = {
	{ .type = { .sysfs_name = "1ctr", .pretty_name = "one counter" },
	  .nr = 1 },
	{ .type = { .sysfs_name = "4ctr", .pretty_name = "four counters" },
	  .nr = 4 },
};

static struct mdev_type *mcount_mdev_types[] = {
	&mcount_types[0].type, &mcount_types[1].type,
};

static struct vfio_mig_parent mcount_parent;

static inline struct mcount_state *mig_to_state(struct vfio_mig_device *mig)
{
	return container_of(mig, struct mcount_state, mig);
}

static void mcount_cfg_init(struct mcount_state *st)
{
	struct vfio_mig_pci_config *pc = &st->cfg;

	vfio_mig_pci_config_header(pc, MCOUNT_PCI_VENDOR, MCOUNT_PCI_DEVICE, 0,
				   MCOUNT_PCI_CLASS,
				   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vfio_mig_pci_config_put(pc, PCI_BASE_ADDRESS_0,
				PCI_BASE_ADDRESS_MEM_TYPE_32, 4,
				~(u32)(MCOUNT_BAR_SIZE - 1));
	vfio_mig_pci_config_put(pc, PCI_SUBSYSTEM_ID, st->type->nr, 2, 0);
	vfio_mig_pci_config_msi(pc, MCOUNT_MSI_CAP);	/* pin 0: no INTx */
	vfio_mig_pci_config_seal(pc);
}

/* Callers make sure the device is not quiesced. */
static void mcount_tick_locked(struct mcount_state *st)
{
	unsigned int i;
	u16 msi;

	lockdep_assert_held(&st->lock);
	msi = vfio_mig_pci_config_word(&st->cfg, MCOUNT_MSI_CAP + PCI_MSI_FLAGS);
	for (i = 0; i < st->type->nr; i++)
		st->reg[i] += st->reg[R_STEP];
	st->reg[R_TICKS]++;
	if ((st->reg[R_CTRL] & MCOUNT_CTRL_MSI) && (msi & PCI_MSI_FLAGS_ENABLE))
		vfio_mig_msi_signal(&st->mig);
}

static int mcount_bar_read(struct vfio_mig_device *mig, unsigned int index,
			   u64 off, void *buf, size_t count)
{
	struct mcount_state *st = mig_to_state(mig);
	__le64 val;

	mutex_lock(&st->lock);
	val = cpu_to_le64(st->reg[off / 8] >> 8 * (off & 7));
	mutex_unlock(&st->lock);
	memcpy(buf, &val, count);	/* the low @count bytes */
	return 0;
}

static int mcount_bar_write(struct vfio_mig_device *mig, unsigned int index,
			    u64 off, const void *buf, size_t count)
{
	struct mcount_state *st = mig_to_state(mig);
	unsigned int i = off / 8, shift = 8 * (off & 4);
	u64 val;

	val = count == 8 ? get_unaligned_le64(buf) : get_unaligned_le32(buf);
	mutex_lock(&st->lock);
	if (count == 4)	/* either half of a u64 slot */
		val = (st->reg[i] & ~(0xffffffffULL << shift)) | val << shift;
	if (i == R_CMD && (u32)val == MCOUNT_CMD_TICK)
		mcount_tick_locked(st);
	else if (i == R_CTRL)
		st->reg[i] = val & MCOUNT_CTRL_MSI;
	else if (i < st->type->nr || i == R_STEP)
		st->reg[i] = val;
	mutex_unlock(&st->lock);
	return 0;
}

static size_t mcount_identity(struct vfio_mig_device *mig, u8 *buf,
			      size_t len)
{
	struct {
		char model[16];
		__le32 version, counters;
	} __packed id = {
		.model = "mcount-mig", .version = cpu_to_le32(1),
		.counters = cpu_to_le32(mig_to_state(mig)->type->nr),
	};

	if (len < sizeof(id))
		return 0;
	memcpy(buf, &id, sizeof(id));
	return sizeof(id);
}

/* Ticks run under the lock: none is in flight once it is set. */
static void mcount_quiesce(struct vfio_mig_device *mig)
{
	struct mcount_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	st->quiesced = true;
	mutex_unlock(&st->lock);
}

/* Nothing became pending meanwhile: ticks were refused. */
static void mcount_unquiesce(struct vfio_mig_device *mig)
{
	struct mcount_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	st->quiesced = false;
	mutex_unlock(&st->lock);
}

static int mcount_save_state(struct vfio_mig_device *mig,
			     struct vfio_mig_stream *s)
{
	struct mcount_state *st = mig_to_state(mig);
	struct mcount_regs_rec r;
	u8 cfg[sizeof(st->cfg.val)];
	unsigned int i;
	int ret;

	mutex_lock(&st->lock);
	memcpy(cfg, st->cfg.val, sizeof(cfg));
	for (i = 0; i < ARRAY_SIZE(r.reg); i++)
		r.reg[i] = cpu_to_le64(st->reg[i]);
	mutex_unlock(&st->lock);
	ret = vfio_mig_emit(s, MCOUNT_REC_CONFIG, cfg, sizeof(cfg));
	return ret ?: vfio_mig_emit(s, MCOUNT_REC_REGS, &r, sizeof(r));
}

static int mcount_check_record(struct vfio_mig_device *mig, u32 type,
			       const void *p, u32 len)
{
	struct mcount_state *st = mig_to_state(mig);
	const struct mcount_regs_rec *r = p;
	unsigned int i;
	int ret;

	if (type == MCOUNT_REC_CONFIG) {
		mutex_lock(&st->lock);
		ret = vfio_mig_pci_config_check(&st->cfg, p, len);
		mutex_unlock(&st->lock);
		return ret;
	}
	if (type != MCOUNT_REC_REGS || len != sizeof(*r) || r->reg[R_CMD] ||
	    le64_to_cpu(r->reg[R_CTRL]) & ~MCOUNT_CTRL_MSI)
		return -EINVAL;
	for (i = st->type->nr; i < MCOUNT_MAX_CTRS; i++)
		if (r->reg[i])
			return -EINVAL;
	return 0;
}

static void mcount_load_record(struct vfio_mig_device *mig, u32 type,
			       const void *p, u32 len)
{
	struct mcount_state *st = mig_to_state(mig);
	const struct mcount_regs_rec *r = p;
	unsigned int i;

	mutex_lock(&st->lock);
	if (type == MCOUNT_REC_CONFIG)
		memcpy(st->cfg.val, p, sizeof(st->cfg.val));
	else
		for (i = 0; i < ARRAY_SIZE(r->reg); i++)
			st->reg[i] = le64_to_cpu(r->reg[i]);
	mutex_unlock(&st->lock);
}

static void mcount_reset(struct vfio_mig_device *mig)
{
	struct mcount_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	vfio_mig_pci_config_reset(&st->cfg);
	memset(st->reg, 0, sizeof(st->reg));
	mutex_unlock(&st->lock);
}

static const struct vfio_mig_ops mcount_mig_ops = {
	.identity = mcount_identity,
	.quiesce = mcount_quiesce,
	.unquiesce = mcount_unquiesce,
	.save_state = mcount_save_state,
	.check_record = mcount_check_record,
	.load_record = mcount_load_record,
	.reset = mcount_reset,
};

static const u32 mcount_state_types[] = { MCOUNT_REC_CONFIG, MCOUNT_REC_REGS };

static const struct vfio_mig_config mcount_mig_cfg = {
	.ops = &mcount_mig_ops,
	.data_size = SZ_64K,
	.state_types = mcount_state_types,
	.nr_state_types = ARRAY_SIZE(mcount_state_types),
	.max_record = sizeof_field(struct vfio_mig_pci_config, val),
	.msi = true,
};

/*
 * The host-side traffic source, the mdev's "traffic" directory:
 *   tick   write N (1 to 1000000): N ticks, as from a host timer; EBUSY,
 *          changing nothing, while the device is quiesced
 *   state  read "ctr0 ctr1 ctr2 ctr3 step ctrl ticks", in decimal
 */
static ssize_t tick_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t len)
{
	struct mcount_state *st = mig_to_state(dev_get_drvdata(dev));
	unsigned int n, i;
	int ret;

	if (kstrtouint(buf, 10, &n) || !n || n > MCOUNT_MAX_TICKS)
		return -EINVAL;
	mutex_lock(&st->lock);
	ret = st->quiesced ? -EBUSY : 0;
	for (i = 0; !ret && i < n; i++)
		mcount_tick_locked(st);
	mutex_unlock(&st->lock);
	return ret ?: len;
}
static DEVICE_ATTR_WO(tick);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct mcount_state *st = mig_to_state(dev_get_drvdata(dev));
	u64 r[ARRAY_SIZE(st->reg)];

	mutex_lock(&st->lock);
	memcpy(r, st->reg, sizeof(r));
	mutex_unlock(&st->lock);
	return sysfs_emit(buf, "%llu %llu %llu %llu %llu %llu %llu\n", r[0],
			  r[1], r[2], r[3], r[R_STEP], r[R_CTRL], r[R_TICKS]);
}
static DEVICE_ATTR_RO(state);

static struct attribute *mcount_traffic_attrs[] = {
	&dev_attr_tick.attr, &dev_attr_state.attr, NULL,
};

static const struct attribute_group mcount_traffic_group = {
	.name = "traffic",
	.attrs = mcount_traffic_attrs,
};

static int mcount_init_dev(struct vfio_device *vdev)
{
	struct mcount_state *st = container_of(vdev, struct mcount_state,
					       mig.vdev);
	int ret;

	st->type = container_of(to_mdev_device(vdev->dev)->type,
				struct mcount_type, type);
	mutex_init(&st->lock);
	mcount_cfg_init(st);
	st->mig.pci = &st->cfg;
	st->mig.pci_lock = &st->lock;
	st->mig.num_regions = VFIO_PCI_NUM_REGIONS;
	st->mig.regions[VFIO_PCI_BAR0_REGION_INDEX] = (struct vfio_mig_region) {
		.size = MCOUNT_BAR_SIZE,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.widths = VFIO_MIG_W4 | VFIO_MIG_W8, .quiesce = true,
		.read = mcount_bar_read, .write = mcount_bar_write,
	};
	ret = vfio_mig_init(&st->mig, &mcount_mig_cfg);
	if (ret)
		mutex_destroy(&st->lock);
	return ret;
}

static void mcount_release_dev(struct vfio_device *vdev)
{
	struct vfio_mig_device *mig = container_of(vdev, struct vfio_mig_device,
						   vdev);

	vfio_mig_uninit(mig);
	mutex_destroy(&mig_to_state(mig)->lock);
	/* Last: it frees the state on kernels where the core does not. */
	vfio_mig_free_device(vdev);
}

static const struct vfio_device_ops mcount_dev_ops = {
	.name = "vfio-mcount-mig",
	.init = mcount_init_dev,
	.release = mcount_release_dev,
	.open_device = vfio_mig_open_device,
	.close_device = vfio_mig_close_device,
	.read = vfio_mig_read,
	.write = vfio_mig_write,
	.mmap = vfio_mig_mmap,
	.ioctl = vfio_mig_ioctl,
	VFIO_MIG_REGION_INFO_OP(vfio_mig_get_region_info_caps)
	VFIO_MIG_IOMMUFD_OPS
};

static int mcount_probe(struct mdev_device *mdev)
{
	struct mcount_state *st;

	st = vfio_alloc_device(mcount_state, mig.vdev, &mdev->dev,
			       &mcount_dev_ops);
	if (IS_ERR(st))
		return PTR_ERR(st);
	return vfio_mig_register(&st->mig, &mcount_traffic_group);
}

static void mcount_remove(struct mdev_device *mdev)
{
	vfio_mig_unregister(dev_get_drvdata(&mdev->dev), &mcount_traffic_group);
}

static struct mdev_driver mcount_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.max_instances = MCOUNT_MAX_INSTANCES,	/* counted by the mdev core */
	.driver = {
		.name = MCOUNT_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
	},
	.probe = mcount_probe,
	.remove = mcount_remove,
};

static int __init mcount_init(void)
{
	return vfio_mig_parent_register(&mcount_parent, MCOUNT_NAME,
					&mcount_driver, mcount_mdev_types,
					ARRAY_SIZE(mcount_mdev_types));
}

static void __exit mcount_exit(void)
{
	vfio_mig_parent_unregister(&mcount_parent, &mcount_driver);
}

module_init(mcount_init);
module_exit(mcount_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(VFIO_MIG_VERSION);
MODULE_AUTHOR("The vfio-mig authors");
MODULE_DESCRIPTION("mcount-mig: mediated PCI counter device with MSI");
