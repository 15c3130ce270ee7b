// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the core device.  Setup and teardown, open and close,
 * the device ioctls the engine serves, and the device-wide reset.  This is
 * the only file that knows all three migration front-ends: it puts their
 * regions in the table and resets each of them.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * the device-wide reset holds core->lock across every front-end's reset
 * and the driver's reset op, then cuts ended v2 data files off with no
 * engine lock held.  open, close and the driver's ioctl op run with no
 * engine lock held.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig_compat.h>
#include <linux/vmalloc.h>

#include "vfio_mig_priv.h"

/* Each one a programmer error of the driver, reported once. */
static int check_config(const struct vfio_mig_device *mig,
			const struct vfio_mig_config *cfg)
{
	const struct vfio_mig_ops *ops = cfg->ops;

	/* The migration regions come after the PCI ones, where QEMU looks. */
	if (WARN_ON(mig->num_regions < VFIO_PCI_NUM_REGIONS ||
		    mig->num_regions + 2 > VFIO_MIG_MAX_REGIONS))
		return -EINVAL;
	if (WARN_ON(!ops))
		return -EINVAL;
	if (WARN_ON(!ops->identity || !ops->save_state ||
		    !ops->check_record || !ops->load_record))
		return -EINVAL;
	if (WARN_ON(!ops->quiesce || !ops->unquiesce || !ops->reset))
		return -EINVAL;
	if (WARN_ON(cfg->data_size < VFIO_MIG_MIN_DATA ||
		    cfg->data_size > VFIO_MIG_MAX_DATA ||
		    !PAGE_ALIGNED(cfg->data_size)))
		return -EINVAL;
	if (WARN_ON(!PAGE_ALIGNED(cfg->mem_size)))
		return -EINVAL;
	if (WARN_ON(cfg->mem_size && (!ops->mem_read || !ops->mem_write)))
		return -EINVAL;
	if (WARN_ON(cfg->nr_state_types && !cfg->state_types))
		return -EINVAL;
	if (WARN_ON(cfg->max_record > VFIO_MIG_MAX_RECORD))
		return -EINVAL;
	if (WARN_ON(mig->pci && (!mig->pci_lock ||
		    mig->regions[VFIO_PCI_CONFIG_REGION_INDEX].size)))
		return -EINVAL;
	return 0;
}

/**
 * vfio_mig_init() - make a device an engine device
 * @mig: the device, with the driver's regions already described
 * @cfg: migration parameters; copied
 *
 * Call from the driver's vfio_device_ops .init.  Appends the two
 * migration regions after the driver's, the vfio-mig region and the
 * upstream v1 region (for QEMU 5.2 to 7.2), allocates the data section
 * they share, and offers the v2 protocol to the vfio core (migration
 * flags, migration and DMA-logging ops).  Undo with vfio_mig_uninit().
 *
 * Return: 0, -EINVAL for a bad @cfg (with a warning: a driver bug), or
 * -ENOMEM.
 */
int vfio_mig_init(struct vfio_mig_device *mig,
		  const struct vfio_mig_config *cfg)
{
	struct vfio_mig_core *core;
	int ret;

	BUILD_BUG_ON(PAGE_SIZE != VFIO_MIG_STREAM_PAGE_SIZE);
	ret = check_config(mig, cfg);
	if (ret)
		return ret;
	core = kzalloc(sizeof(*core), GFP_KERNEL_ACCOUNT);
	if (!core)
		return -ENOMEM;
	core->data = vmalloc_user(cfg->data_size);
	if (!core->data)
		goto err_core;
	core->stage = vmalloc(cfg->data_size);
	if (!core->stage)
		goto err_data;

	core->mig = mig;
	core->cfg = *cfg;
	vfio_mig_session_init(core);
	vfio_mig_log_init(core);
	vfio_mig_fault_init(core);
	spin_lock_init(&core->msi_lock);
	if (mig->pci)
		vfio_mig_pci_region_setup(mig,
				&mig->regions[VFIO_PCI_CONFIG_REGION_INDEX]);
	core->mig_index = mig->num_regions++;
	core->v1_index = mig->num_regions++;
	vfio_mig_region_setup(core, &mig->regions[core->mig_index]);
	vfio_mig_v1_setup(core, &mig->regions[core->v1_index]);
	vfio_mig_v2_setup(core);
	mig->core = core;
	return 0;

err_data:
	vfree(core->data);
err_core:
	kfree(core);
	return -ENOMEM;
}
EXPORT_SYMBOL_GPL(vfio_mig_init);

/* Abort every front-end's session; the caller holds core->lock. */
static void reset_locked(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	vfio_mig_session_abort(core);
	vfio_mig_region_abort(core);
	vfio_mig_v1_abort(core);
	vfio_mig_v2_abort(core);
}

/*
 * The device-wide migration reset, for open, close and uninit: drops a
 * save or resume session of every front-end, stops DMA logging, lets the
 * device run, returns each front-end to its first state and cuts every v2
 * data file off the device (they answer -ENODEV from then on).  The device
 * keeps its own state.
 */
static void reset_sessions(struct vfio_mig_core *core)
{
	mutex_lock(&core->lock);
	reset_locked(core);
	mutex_unlock(&core->lock);
	vfio_mig_v2_cut_off(core);
}

/**
 * vfio_mig_uninit() - release what vfio_mig_init() set up
 * @mig: the device, no longer open
 *
 * Call from the driver's vfio_device_ops .release.
 */
void vfio_mig_uninit(struct vfio_mig_device *mig)
{
	struct vfio_mig_core *core = mig->core;

	if (!core)
		return;
	reset_sessions(core);
	vfio_mig_msi_release(core);
	vfree(core->stage);
	vfree(core->data);
	mutex_destroy(&core->log_lock);
	mutex_destroy(&core->access_lock);
	mutex_destroy(&core->lock);
	kfree(core);
	mig->core = NULL;
}
EXPORT_SYMBOL_GPL(vfio_mig_uninit);

/**
 * vfio_mig_open_device() - the vfio_device_ops .open_device
 * @vdev: the device
 *
 * A migration session never spans opens: starts from a clean engine,
 * then calls the driver's open op, if any.
 *
 * Return: 0, or the driver's error.
 */
int vfio_mig_open_device(struct vfio_device *vdev)
{
	struct vfio_mig_core *core = vfio_mig_core(vdev);

	reset_sessions(core);
	return core->cfg.ops->open ? core->cfg.ops->open(core->mig) : 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_open_device);

/**
 * vfio_mig_close_device() - the vfio_device_ops .close_device
 * @vdev: the device
 *
 * Ends every migration session of the open and cuts its data files off,
 * drops the MSI eventfd, then calls the driver's close op, if any.  The
 * device keeps its state.
 */
void vfio_mig_close_device(struct vfio_device *vdev)
{
	struct vfio_mig_core *core = vfio_mig_core(vdev);

	reset_sessions(core);
	vfio_mig_msi_release(core);
	if (core->cfg.ops->close)
		core->cfg.ops->close(core->mig);
}
EXPORT_SYMBOL_GPL(vfio_mig_close_device);

static long get_info(struct vfio_mig_device *mig, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = mig->num_regions;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/*
 * VFIO_DEVICE_RESET: every session ends (as on close) and the device
 * returns to its power-on state, both under the state lock so that no
 * transition sees one without the other.
 */
static long device_reset(struct vfio_mig_core *core)
{
	mutex_lock(&core->lock);
	reset_locked(core);
	core->cfg.ops->reset(core->mig);
	mutex_unlock(&core->lock);
	vfio_mig_v2_cut_off(core);
	return 0;
}

/**
 * vfio_mig_ioctl() - the vfio_device_ops .ioctl
 * @vdev: the device
 * @cmd: the ioctl
 * @arg: its argument
 *
 * Serves VFIO_DEVICE_GET_INFO (a PCI device with reset, the region table,
 * the PCI IRQ indexes), VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET,
 * and for a device with cfg.msi the IRQ ioctls; passes any other ioctl to
 * the driver's ioctl op.
 *
 * Return: 0 or the ioctl's result, -EINVAL or -EFAULT for a bad argument,
 * -ENOTTY for an ioctl nobody serves.
 */
long vfio_mig_ioctl(struct vfio_device *vdev, unsigned int cmd,
		    unsigned long arg)
{
	struct vfio_mig_device *mig = container_of(vdev, struct vfio_mig_device,
						   vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return get_info(mig, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return vfio_mig_get_region_info(mig, uarg);
	case VFIO_DEVICE_RESET:
		return device_reset(mig->core);
	case VFIO_DEVICE_GET_IRQ_INFO:
		if (mig->core->cfg.msi)
			return vfio_mig_irq_info(uarg, false);
		break;
	case VFIO_DEVICE_SET_IRQS:
		if (mig->core->cfg.msi)
			return vfio_mig_set_irqs(mig->core, uarg);
		break;
	}
	if (mig->core->cfg.ops->ioctl)
		return mig->core->cfg.ops->ioctl(mig, cmd, arg);
	return -ENOTTY;
}
EXPORT_SYMBOL_GPL(vfio_mig_ioctl);

static int __init vfio_mig_module_init(void)
{
	int ret = vfio_mig_crc_init();

	if (!ret)
		vfio_mig_fault_module_init();
	return ret;
}
module_init(vfio_mig_module_init);

static void __exit vfio_mig_module_exit(void)
{
	vfio_mig_fault_module_exit();
}
module_exit(vfio_mig_module_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(VFIO_MIG_VERSION);
/* The devices open through a type1 container: have it loaded first. */
MODULE_SOFTDEP("pre: vfio_iommu_type1");
MODULE_AUTHOR("The vfio-mig authors");
MODULE_DESCRIPTION("vfio-mig engine: a VFIO core device with live migration for emulated PCI functions");
