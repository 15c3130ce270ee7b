// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: what every emulated mdev PCI function needs besides
 * migration, so that a vendor driver does not write it again: its mdev
 * parent, its registration (with the migration/ sysfs group that tells
 * whether another device's stream would be accepted), and a single MSI
 * vector with its eventfd.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking: core->msi_lock (spinlock) protects the MSI eventfd; it is
 * taken inside the driver's lock by vfio_mig_msi_signal(), and inside the
 * state lock by the loopback of VFIO_DEVICE_SET_IRQS.  Nothing under it
 * sleeps.
 */

#include <linux/ctype.h>
#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/mdev.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig_compat.h>

#include "vfio_mig_priv.h"

/**
 * vfio_mig_parent_register() - register an mdev driver and its parent
 * @p: the parent, zeroed
 * @name: the driver's name: the class, the parent device and the prefix
 *	of its mdev types in sysfs
 * @drv: the mdev driver
 * @types: its mdev types
 * @nr_types: entries in @types
 *
 * For the driver's module init; undo with vfio_mig_parent_unregister().
 *
 * Return: 0 or -errno, with nothing registered.
 */
int vfio_mig_parent_register(struct vfio_mig_parent *p, const char *name,
			     struct mdev_driver *drv, struct mdev_type **types,
			     unsigned int nr_types)
{
	int ret;

	ret = mdev_register_driver(drv);
	if (ret)
		return ret;
	p->class = vfio_mig_class_create(name);
	if (IS_ERR(p->class)) {
		ret = PTR_ERR(p->class);
		goto err_driver;
	}
	p->dev = device_create(p->class, NULL, 0, NULL, "%s", name);
	if (IS_ERR(p->dev)) {
		ret = PTR_ERR(p->dev);
		goto err_class;
	}
	ret = mdev_register_parent(&p->parent, p->dev, drv, types, nr_types);
	if (ret)
		goto err_device;
	return 0;

err_device:
	device_unregister(p->dev);
err_class:
	class_destroy(p->class);
err_driver:
	mdev_unregister_driver(drv);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mig_parent_register);

/**
 * vfio_mig_parent_unregister() - undo vfio_mig_parent_register()
 * @p: the parent
 * @drv: its mdev driver
 */
void vfio_mig_parent_unregister(struct vfio_mig_parent *p,
				struct mdev_driver *drv)
{
	mdev_unregister_parent(&p->parent);
	device_unregister(p->dev);
	class_destroy(p->class);
	mdev_unregister_driver(drv);
}
EXPORT_SYMBOL_GPL(vfio_mig_parent_unregister);

/* ---------------------------------------------------------------------- */
/* migration/version and migration/check: will a stream be accepted? */

/*
 * "DRIVER MAJOR.MINOR IDENTITY\n": the mdev driver's name, the stream
 * version this engine writes, and the identity bytes of the stream's
 * HEADER record in lowercase hex (nothing for an empty identity).
 */
static ssize_t version_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct vfio_mig_device *mig = dev_get_drvdata(dev);
	struct vfio_mig_core *core = mig->core;
	u8 id[VFIO_MIG_MAX_IDENTITY];
	char hex[2 * VFIO_MIG_MAX_IDENTITY + 1];
	size_t len;

	mutex_lock(&core->lock);
	len = vfio_mig_identity(core, id);
	mutex_unlock(&core->lock);
	*bin2hex(hex, id, len) = '\0';
	return sysfs_emit(buf, "%s %u.%u %s\n", dev_driver_string(dev),
			  VFIO_MIG_STREAM_MAJOR, VFIO_MIG_STREAM_MINOR, hex);
}
static DEVICE_ATTR_RO(version);

/* A decimal u16 of 1 to 5 digits, only digits, in [p, end). */
static int parse_u16(const char *p, const char *end, u16 *val)
{
	char num[6];
	size_t n = end - p, i;

	if (!n || n >= sizeof(num))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!isdigit(p[i]))
			return -EINVAL;
	memcpy(num, p, n);
	num[n] = '\0';
	return kstrtou16(num, 10, val);
}

/*
 * Accepts (the write succeeds) exactly a version string, with or without
 * its newline, of a device whose stream this device's resume accepts: the
 * same major, a minor not newer than this engine's and byte-equal
 * identity.  The driver's name must be there but is not compared: the
 * stream does not carry it, so the resume cannot refuse on it (a driver's
 * identity names its model).  Anything else, malformed or not accepted,
 * is EINVAL.  Nothing changes either way.
 */
static ssize_t check_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct vfio_mig_device *mig = dev_get_drvdata(dev);
	struct vfio_mig_core *core = mig->core;
	const char *p = buf, *end = buf + count, *sp, *dot;
	u8 id[VFIO_MIG_MAX_IDENTITY], want[VFIO_MIG_MAX_IDENTITY];
	size_t len;
	u16 major, minor;

	if (count && end[-1] == '\n')
		end--;
	/* DRIVER: one or more characters, none a space or a control one */
	sp = memchr(p, ' ', end - p);
	if (!sp || sp == p)
		return -EINVAL;
	for (; p < sp; p++)
		if (!isgraph(*p))
			return -EINVAL;
	p = sp + 1;
	sp = memchr(p, ' ', end - p);
	dot = sp ? memchr(p, '.', sp - p) : NULL;
	if (!dot || parse_u16(p, dot, &major) ||
	    parse_u16(dot + 1, sp, &minor))
		return -EINVAL;
	p = sp + 1;
	mutex_lock(&core->lock);
	len = vfio_mig_identity(core, id);
	mutex_unlock(&core->lock);
	if (end - p != 2 * len || hex2bin(want, p, len) ||
	    major != VFIO_MIG_STREAM_MAJOR || minor > VFIO_MIG_STREAM_MINOR ||
	    memcmp(want, id, len))
		return -EINVAL;
	return count;
}
static DEVICE_ATTR_WO(check);

static struct attribute *migration_attrs[] = {
	&dev_attr_version.attr,
	&dev_attr_check.attr,
	NULL
};

static const struct attribute_group migration_group = {
	.name = "migration",
	.attrs = migration_attrs,
};

/**
 * vfio_mig_register() - register an engine device from mdev probe
 * @mig: the device, allocated with vfio_alloc_device()
 * @group: optional: a sysfs group to make on the mdev (its drvdata is @mig)
 *
 * Two defects of the 6.1 vfio and driver core error paths are kept out of
 * reach here (the fault-injection sweep found both): the device gets its
 * own device set before it is registered, because registration ignores a
 * failure to allocate one and the first open then dereferences a NULL
 * set; and @group is made here rather than through the driver's
 * dev_groups, because when adding dev_groups fails the driver core
 * removes them again and WARNs that they are not there.
 *
 * Makes the device's fault-injection directory in debugfs (no error if
 * that fails: the device works without it).
 *
 * Takes over the caller's reference from vfio_alloc_device(): on failure
 * it is put, and vfio_mig_unregister() puts it.
 *
 * Return: 0, or -errno with nothing registered and the device put.
 */
int vfio_mig_register(struct vfio_mig_device *mig,
		      const struct attribute_group *group)
{
	struct device *dev = mig->vdev.dev;
	int ret;

	ret = vfio_assign_device_set(&mig->vdev, mig);
	if (ret)
		goto err_put;
	dev_set_drvdata(dev, mig);
	ret = sysfs_create_group(&dev->kobj, &migration_group);
	if (ret)
		goto err_drvdata;
	if (group) {
		ret = sysfs_create_group(&dev->kobj, group);
		if (ret)
			goto err_migration;
	}
	ret = vfio_register_emulated_iommu_dev(&mig->vdev);
	if (ret)
		goto err_group;
	vfio_mig_fault_add(mig->core);
	return 0;

err_group:
	if (group)
		sysfs_remove_group(&dev->kobj, group);
err_migration:
	sysfs_remove_group(&dev->kobj, &migration_group);
err_drvdata:
	dev_set_drvdata(dev, NULL);
err_put:
	vfio_put_device(&mig->vdev);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mig_register);

/**
 * vfio_mig_unregister() - undo vfio_mig_register(), from mdev remove
 * @mig: the device
 * @group: the group passed to vfio_mig_register()
 *
 * Removing the group and the debugfs directory waits for their callers;
 * none come after.  Puts the
 * reference vfio_mig_register() took over.
 */
void vfio_mig_unregister(struct vfio_mig_device *mig,
			 const struct attribute_group *group)
{
	vfio_mig_fault_remove(mig->core);
	if (group)
		sysfs_remove_group(&mig->vdev.dev->kobj, group);
	sysfs_remove_group(&mig->vdev.dev->kobj, &migration_group);
	vfio_unregister_group_dev(&mig->vdev);
	vfio_put_device(&mig->vdev);
}
EXPORT_SYMBOL_GPL(vfio_mig_unregister);

/* ---------------------------------------------------------------------- */
/* One MSI vector (vfio_mig_config.msi) */

/**
 * vfio_mig_msi_signal() - raise the device's MSI
 * @mig: the device
 *
 * Signals the eventfd the user set, if any.  The driver calls it only
 * while its device is not quiesced and MSI is enabled in its config space.
 * Any context; may be called under the driver's locks.
 */
void vfio_mig_msi_signal(struct vfio_mig_device *mig)
{
	struct vfio_mig_core *core = mig->core;
	unsigned long flags;

	spin_lock_irqsave(&core->msi_lock, flags);
	if (core->msi)
		vfio_mig_eventfd_signal(core->msi);
	spin_unlock_irqrestore(&core->msi_lock, flags);
}
EXPORT_SYMBOL_GPL(vfio_mig_msi_signal);

/**
 * vfio_mig_eventfd_get() - the eventfd a VFIO_DEVICE_SET_IRQS request names
 * @fd: the request's fd, -1 for none
 * @ctx: returns a reference to its context, or NULL for -1
 *
 * Return: 0, -EINVAL for an fd below -1, or eventfd_ctx_fdget()'s error.
 */
int vfio_mig_eventfd_get(s32 fd, struct eventfd_ctx **ctx)
{
	*ctx = NULL;
	if (fd < -1)
		return -EINVAL;
	if (fd >= 0) {
		*ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(*ctx)) {
			int ret = PTR_ERR(*ctx);

			*ctx = NULL;
			return ret;
		}
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_eventfd_get);

/* Replace the MSI eventfd with @ctx (may be NULL); put the old one. */
static void msi_swap(struct vfio_mig_core *core, struct eventfd_ctx *ctx)
{
	spin_lock_irq(&core->msi_lock);
	swap(ctx, core->msi);
	spin_unlock_irq(&core->msi_lock);
	if (ctx)
		eventfd_ctx_put(ctx);
}

void vfio_mig_msi_release(struct vfio_mig_core *core)
{
	msi_swap(core, NULL);
}

/**
 * vfio_mig_irq_info() - serve VFIO_DEVICE_GET_IRQ_INFO
 * @arg: the user's struct vfio_irq_info
 * @intx: the device has INTx (maskable, automasked) besides its MSI
 *
 * For a device with one MSI vector and, with @intx, INTx: what the engine
 * answers for cfg.msi, and what a driver that serves the IRQ ioctls
 * itself (for INTx) answers with it.
 *
 * Return: 0, -EFAULT, or -EINVAL for a short argsz or an unknown index.
 */
long vfio_mig_irq_info(void __user *arg, bool intx)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	info.count = 0;
	info.flags = 0;
	if (info.index == VFIO_PCI_MSI_IRQ_INDEX) {
		info.count = 1;
		info.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
	} else if (info.index == VFIO_PCI_INTX_IRQ_INDEX && intx) {
		info.count = 1;
		info.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
			     VFIO_IRQ_INFO_AUTOMASKED;
	}
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_irq_info);

/*
 * VFIO_DEVICE_SET_IRQS for the MSI vector, action TRIGGER only: an eventfd
 * (-1 clears it), DATA_NONE with count 0 to tear it down, or DATA_NONE or
 * a true DATA_BOOL to fire it from userspace (not while quiesced).
 */
long vfio_mig_set_irqs(struct vfio_mig_core *core, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct eventfd_ctx *ctx = NULL;
	struct vfio_irq_set hdr;
	s32 data = 0;		/* one fd, or one bool in its first byte */
	size_t size = 0;
	u32 type;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (vfio_set_irqs_validate_and_prepare(&hdr,
			hdr.index == VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_NUM_IRQS,
			&size) || size > sizeof(data))
		return -EINVAL;
	type = hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	if (hdr.index != VFIO_PCI_MSI_IRQ_INDEX ||
	    (hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER ||
	    (!hdr.count && type != VFIO_IRQ_SET_DATA_NONE))
		return -EINVAL;
	if (size && copy_from_user(&data, arg + minsz, size))
		return -EFAULT;
	if (type == VFIO_IRQ_SET_DATA_EVENTFD) {
		int ret = vfio_mig_eventfd_get(data, &ctx);

		if (ret)
			return ret;
		msi_swap(core, ctx);
	} else if (!hdr.count) {
		msi_swap(core, NULL);
	} else if (type == VFIO_IRQ_SET_DATA_NONE || *(u8 *)&data) {
		/* Loopback; a quiesced device raises nothing. */
		mutex_lock(&core->lock);
		if (!core->quiesced)
			vfio_mig_msi_signal(core->mig);
		mutex_unlock(&core->lock);
	}
	return 0;
}
