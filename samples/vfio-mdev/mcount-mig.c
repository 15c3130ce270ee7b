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
 * space, registers, the quiesced flag, the MSI eventfd).  Region callbacks,
 * the engine's ops, ioctls and the traffic files take it, inside the
 * engine's state lock when the engine calls in; nothing here calls into
 * the engine or copies user memory while holding it.
 */

#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/sizes.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig.h>
#include <linux/vfio_mig_compat.h>

#include "mcount-mig.h"

#define MCOUNT_NAME		"mcount_mig"
#define MCOUNT_CFG_SIZE		256
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

/* MCOUNT_REC_REGS */
struct mcount_regs_rec {
	__le64 ctr[MCOUNT_MAX_CTRS];
	__le64 step;
	__le32 ctrl;
	__le64 ticks;
} __packed;
static_assert(sizeof(struct mcount_regs_rec) == MCOUNT_REGS_LEN);

struct mcount_state {
	struct vfio_mig_device mig;	/* must be first */
	const struct mcount_type *type;
	struct mutex lock;
	struct vfio_mig_pci_config cfg;
	u64 reg[MCOUNT_BAR_SIZE / 8];	/* counters >= nr stay 0 */
	bool quiesced;
	struct eventfd_ctx *msi_trigger;
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

static struct {
	struct class *class;
	struct device *dev;
	struct mdev_parent parent;
} mcount_parent;

static inline struct mcount_state *mig_to_state(struct vfio_mig_device *mig)
{
	return container_of(mig, struct mcount_state, mig);
}

static void mcount_cfg_init(struct mcount_state *st)
{
	static const struct { u8 off, len; u32 val, wmask; } f[] = {
		{ PCI_VENDOR_ID, 2, MCOUNT_PCI_VENDOR, 0 },
		{ PCI_DEVICE_ID, 2, MCOUNT_PCI_DEVICE, 0 },
		{ PCI_COMMAND, 2, 0, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER },
		{ PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0 },
		{ PCI_CLASS_PROG, 3, MCOUNT_PCI_CLASS, 0 },
		{ PCI_BASE_ADDRESS_0, 4, PCI_BASE_ADDRESS_MEM_TYPE_32,
		  ~(u32)(MCOUNT_BAR_SIZE - 1) },
		{ PCI_SUBSYSTEM_VENDOR_ID, 2, MCOUNT_PCI_VENDOR, 0 },
		{ PCI_CAPABILITY_LIST, 1, MCOUNT_MSI_CAP, 0 },
		{ PCI_INTERRUPT_LINE, 1, 0, 0xff },	/* pin 0: no INTx */
		/* MSI: one vector, 64-bit; of the flags only the enable bit. */
		{ MCOUNT_MSI_CAP + PCI_CAP_LIST_ID, 1, PCI_CAP_ID_MSI, 0 },
		{ MCOUNT_MSI_CAP + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT,
		  PCI_MSI_FLAGS_ENABLE },
		{ MCOUNT_MSI_CAP + PCI_MSI_ADDRESS_LO, 4, 0, 0xfffffffc },
		{ MCOUNT_MSI_CAP + PCI_MSI_ADDRESS_HI, 4, 0, 0xffffffff },
		{ MCOUNT_MSI_CAP + PCI_MSI_DATA_64, 2, 0, 0xffff },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(f); i++)
		vfio_mig_pci_config_put(&st->cfg, f[i].off, f[i].val, f[i].len,
					f[i].wmask);
	vfio_mig_pci_config_put(&st->cfg, PCI_SUBSYSTEM_ID, st->type->nr, 2, 0);
	vfio_mig_pci_config_seal(&st->cfg);
}

static int mcount_cfg_read(struct vfio_mig_device *mig, unsigned int index,
			   u64 off, void *buf, size_t count)
{
	struct mcount_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	memcpy(buf, st->cfg.val + off, count);
	mutex_unlock(&st->lock);
	return 0;
}

static int mcount_cfg_write(struct vfio_mig_device *mig, unsigned int index,
			    u64 off, const void *buf, size_t count)
{
	struct mcount_state *st = mig_to_state(mig);

	mutex_lock(&st->lock);
	vfio_mig_pci_config_write(&st->cfg, off, buf, count);
	mutex_unlock(&st->lock);
	return 0;
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
	if ((st->reg[R_CTRL] & MCOUNT_CTRL_MSI) && st->msi_trigger &&
	    (msi & PCI_MSI_FLAGS_ENABLE))
		vfio_mig_eventfd_signal(st->msi_trigger);
}

static int mcount_bar_read(struct vfio_mig_device *mig, unsigned int index,
			   u64 off, void *buf, size_t count)
{
	struct mcount_state *st = mig_to_state(mig);
	u64 val;

	mutex_lock(&st->lock);
	val = st->reg[off / 8] >> 8 * (off & 7);
	mutex_unlock(&st->lock);
	if (count == 8)
		put_unaligned_le64(val, buf);
	else
		put_unaligned_le32(val, buf);
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

static long mcount_get_irq_info(void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	info.count = info.index == VFIO_PCI_MSI_IRQ_INDEX;
	info.flags = info.count ? VFIO_IRQ_INFO_EVENTFD |
				  VFIO_IRQ_INFO_NORESIZE : 0;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/* MSI only: set or clear its eventfd, tear it down, or fire it. */
static long mcount_set_irqs(struct mcount_state *st, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct eventfd_ctx *ctx = NULL;
	struct vfio_irq_set hdr;
	s32 fd = 0;	/* the data: one fd, or one bool in its first byte */
	size_t size = 0;
	u32 type;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	type = hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	if (vfio_set_irqs_validate_and_prepare(&hdr,
			hdr.index == VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_NUM_IRQS,
			&size) || size > sizeof(fd) ||
	    (hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER ||
	    (!hdr.count && type != VFIO_IRQ_SET_DATA_NONE))
		return -EINVAL;
	if (size && copy_from_user(&fd, arg + minsz, size))
		return -EFAULT;
	if (type == VFIO_IRQ_SET_DATA_EVENTFD && fd >= 0) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	} else if (type == VFIO_IRQ_SET_DATA_EVENTFD && fd != -1) {
		return -EINVAL;
	}
	mutex_lock(&st->lock);
	if (type == VFIO_IRQ_SET_DATA_EVENTFD || !hdr.count)
		swap(ctx, st->msi_trigger);
	else if ((type == VFIO_IRQ_SET_DATA_NONE || fd) && st->msi_trigger &&
		 !st->quiesced)
		vfio_mig_eventfd_signal(st->msi_trigger);	/* loopback */
	mutex_unlock(&st->lock);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

static long mcount_ioctl(struct vfio_mig_device *mig, unsigned int cmd,
			 unsigned long arg)
{
	if (cmd == VFIO_DEVICE_GET_IRQ_INFO)
		return mcount_get_irq_info((void __user *)arg);
	if (cmd == VFIO_DEVICE_SET_IRQS)
		return mcount_set_irqs(mig_to_state(mig), (void __user *)arg);
	return -ENOTTY;
}

/* On close and on release. */
static void mcount_close(struct vfio_mig_device *mig)
{
	struct mcount_state *st = mig_to_state(mig);
	struct eventfd_ctx *ctx = NULL;

	mutex_lock(&st->lock);
	swap(ctx, st->msi_trigger);
	mutex_unlock(&st->lock);
	if (ctx)
		eventfd_ctx_put(ctx);
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
	u8 cfg[MCOUNT_CFG_SIZE];
	unsigned int i;
	int ret;

	mutex_lock(&st->lock);
	memcpy(cfg, st->cfg.val, sizeof(cfg));
	for (i = 0; i < MCOUNT_MAX_CTRS; i++)
		r.ctr[i] = cpu_to_le64(st->reg[i]);
	r.step = cpu_to_le64(st->reg[R_STEP]);
	r.ctrl = cpu_to_le32(st->reg[R_CTRL]);
	r.ticks = cpu_to_le64(st->reg[R_TICKS]);
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
	if (type != MCOUNT_REC_REGS || len != sizeof(*r) ||
	    le32_to_cpu(r->ctrl) & ~MCOUNT_CTRL_MSI)
		return -EINVAL;
	for (i = st->type->nr; i < MCOUNT_MAX_CTRS; i++)
		if (r->ctr[i])
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
	if (type == MCOUNT_REC_CONFIG) {
		memcpy(st->cfg.val, p, sizeof(st->cfg.val));
	} else {
		for (i = 0; i < MCOUNT_MAX_CTRS; i++)
			st->reg[i] = le64_to_cpu(r->ctr[i]);
		st->reg[R_STEP] = le64_to_cpu(r->step);
		st->reg[R_CTRL] = le32_to_cpu(r->ctrl);
		st->reg[R_TICKS] = le64_to_cpu(r->ticks);
	}
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
	.close = mcount_close,
	.ioctl = mcount_ioctl,
};

static const u32 mcount_state_types[] = { MCOUNT_REC_CONFIG, MCOUNT_REC_REGS };

static const struct vfio_mig_config mcount_mig_cfg = {
	.ops = &mcount_mig_ops,
	.data_size = SZ_64K,
	.mmap = false,
	.mem_size = 0,
	.state_types = mcount_state_types,
	.nr_state_types = ARRAY_SIZE(mcount_state_types),
	.max_record = MCOUNT_CFG_SIZE,
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
	struct mcount_state *st = dev_get_drvdata(dev);
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
	struct mcount_state *st = dev_get_drvdata(dev);
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
	const u32 rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vfio_mig_region *r = st->mig.regions;
	int ret;

	st->type = container_of(to_mdev_device(vdev->dev)->type,
				struct mcount_type, type);
	mutex_init(&st->lock);
	mcount_cfg_init(st);
	st->mig.num_regions = VFIO_PCI_NUM_REGIONS;
	r[VFIO_PCI_BAR0_REGION_INDEX] = (struct vfio_mig_region) {
		.size = MCOUNT_BAR_SIZE, .flags = rw,
		.widths = VFIO_MIG_W4 | VFIO_MIG_W8, .quiesce = true,
		.read = mcount_bar_read, .write = mcount_bar_write,
	};
	r[VFIO_PCI_CONFIG_REGION_INDEX] = (struct vfio_mig_region) {
		.size = MCOUNT_CFG_SIZE, .flags = rw,
		.widths = VFIO_MIG_ANY_LENGTH,
		.read = mcount_cfg_read, .write = mcount_cfg_write,
	};
	ret = vfio_mig_init(&st->mig, &mcount_mig_cfg);
	if (ret)
		goto err_mutex;
	return 0;

err_mutex:
	mutex_destroy(&st->lock);
	return ret;
}

static void mcount_release_dev(struct vfio_device *vdev)
{
	struct vfio_mig_device *mig = container_of(vdev, struct vfio_mig_device,
						   vdev);

	vfio_mig_uninit(mig);
	mcount_close(mig);
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

/*
 * As in mtty-mig, two 6.1 core defects are kept out of reach: the traffic
 * group is made here, not through dev_groups (a failed add of those WARNs
 * when the core removes them), and the device set is assigned here, as
 * registration ignores a failure to allocate one.
 */
static int mcount_probe(struct mdev_device *mdev)
{
	struct mcount_state *st;
	int ret;

	st = vfio_alloc_device(mcount_state, mig.vdev, &mdev->dev,
			       &mcount_dev_ops);
	if (IS_ERR(st))
		return PTR_ERR(st);
	ret = vfio_assign_device_set(&st->mig.vdev, st);
	if (ret)
		goto err_put;
	dev_set_drvdata(&mdev->dev, st);
	ret = sysfs_create_group(&mdev->dev.kobj, &mcount_traffic_group);
	if (ret)
		goto err_drvdata;
	ret = vfio_register_emulated_iommu_dev(&st->mig.vdev);
	if (ret)
		goto err_group;
	return 0;

err_group:
	sysfs_remove_group(&mdev->dev.kobj, &mcount_traffic_group);
err_drvdata:
	dev_set_drvdata(&mdev->dev, NULL);
err_put:
	vfio_put_device(&st->mig.vdev);
	return ret;
}

static void mcount_remove(struct mdev_device *mdev)
{
	struct mcount_state *st = dev_get_drvdata(&mdev->dev);

	/* Waits for the traffic files' callers; none come after. */
	sysfs_remove_group(&mdev->dev.kobj, &mcount_traffic_group);
	vfio_unregister_group_dev(&st->mig.vdev);
	vfio_put_device(&st->mig.vdev);
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
	int ret;

	ret = mdev_register_driver(&mcount_driver);
	if (ret)
		return ret;
	mcount_parent.class = vfio_mig_class_create(MCOUNT_NAME);
	if (IS_ERR(mcount_parent.class)) {
		ret = PTR_ERR(mcount_parent.class);
		goto err_driver;
	}
	mcount_parent.dev = device_create(mcount_parent.class, NULL, 0, NULL,
					  MCOUNT_NAME);
	if (IS_ERR(mcount_parent.dev)) {
		ret = PTR_ERR(mcount_parent.dev);
		goto err_class;
	}
	ret = mdev_register_parent(&mcount_parent.parent, mcount_parent.dev,
				   &mcount_driver, mcount_mdev_types,
				   ARRAY_SIZE(mcount_mdev_types));
	if (ret)
		goto err_device;
	return 0;

err_device:
	device_unregister(mcount_parent.dev);
err_class:
	class_destroy(mcount_parent.class);
err_driver:
	mdev_unregister_driver(&mcount_driver);
	return ret;
}

static void __exit mcount_exit(void)
{
	mdev_unregister_parent(&mcount_parent.parent);
	device_unregister(mcount_parent.dev);
	class_destroy(mcount_parent.class);
	mdev_unregister_driver(&mcount_driver);
}

module_init(mcount_init);
module_exit(mcount_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The vfio-mig authors");
MODULE_DESCRIPTION("mcount-mig: mediated PCI counter device with MSI");
