// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: an emulated PCI configuration space for engine devices.
 * The driver lays out its power-on contents with write masks once, the
 * guest's writes change only the writable bits, and an incoming config
 * record is valid only if every bit software cannot write matches the
 * power-on contents.  The helpers take no lock: the driver holds its own
 * around them.  A device that sets mig->pci gets its config region served
 * here, under mig->pci_lock.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/string.h>
#include <linux/vfio.h>

#include "vfio_mig_priv.h"

/**
 * vfio_mig_pci_config_put() - lay out one field of the power-on contents
 * @pc: the config space
 * @off: the field's offset
 * @val: its value, little-endian in config space
 * @len: its length, 1 to 4 bytes; @off + @len at most 256
 * @wmask: the bits of the field software may write
 */
void vfio_mig_pci_config_put(struct vfio_mig_pci_config *pc, unsigned int off,
			     u32 val, unsigned int len, u32 wmask)
{
	unsigned int i;

	if (WARN_ON(len > 4 || off + len > sizeof(pc->val)))
		return;
	for (i = 0; i < len; i++) {
		pc->val[off + i] = val >> (8 * i);
		pc->wmask[off + i] = wmask >> (8 * i);
	}
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_put);

/**
 * vfio_mig_pci_config_header() - lay out a type 0 header's identity
 * @pc: the config space
 * @vendor: vendor ID, also the subsystem vendor ID
 * @device: device ID
 * @revision: revision ID
 * @class: class code (base, sub-class, programming interface)
 * @command: the bits of the command register software may write
 *
 * The interrupt line is writable; the BARs, the subsystem ID, the
 * interrupt pin and capabilities are the driver's to lay out.
 */
void vfio_mig_pci_config_header(struct vfio_mig_pci_config *pc, u16 vendor,
				u16 device, u8 revision, u32 class,
				u16 command)
{
	vfio_mig_pci_config_put(pc, PCI_VENDOR_ID, vendor, 2, 0);
	vfio_mig_pci_config_put(pc, PCI_DEVICE_ID, device, 2, 0);
	vfio_mig_pci_config_put(pc, PCI_COMMAND, 0, 2, command);
	vfio_mig_pci_config_put(pc, PCI_REVISION_ID, revision, 1, 0);
	vfio_mig_pci_config_put(pc, PCI_CLASS_PROG, class, 3, 0);
	vfio_mig_pci_config_put(pc, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL, 1,
				0);
	vfio_mig_pci_config_put(pc, PCI_SUBSYSTEM_VENDOR_ID, vendor, 2, 0);
	vfio_mig_pci_config_put(pc, PCI_INTERRUPT_LINE, 0, 1, 0xff);
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_header);

/**
 * vfio_mig_pci_config_msi() - lay out an MSI capability, the only one
 * @pc: the config space
 * @cap: its offset
 *
 * One vector, 64-bit address: of the flags only the enable bit is
 * writable; address and data are.  The capability list points at it.
 */
void vfio_mig_pci_config_msi(struct vfio_mig_pci_config *pc, u8 cap)
{
	vfio_mig_pci_config_put(pc, PCI_STATUS, PCI_STATUS_CAP_LIST, 2, 0);
	vfio_mig_pci_config_put(pc, PCI_CAPABILITY_LIST, cap, 1, 0);
	vfio_mig_pci_config_put(pc, cap + PCI_CAP_LIST_ID, PCI_CAP_ID_MSI, 1,
				0);
	vfio_mig_pci_config_put(pc, cap + PCI_CAP_LIST_NEXT, 0, 1, 0);
	vfio_mig_pci_config_put(pc, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT, 2,
				PCI_MSI_FLAGS_ENABLE);
	vfio_mig_pci_config_put(pc, cap + PCI_MSI_ADDRESS_LO, 0, 4, 0xfffffffc);
	vfio_mig_pci_config_put(pc, cap + PCI_MSI_ADDRESS_HI, 0, 4, 0xffffffff);
	vfio_mig_pci_config_put(pc, cap + PCI_MSI_DATA_64, 0, 2, 0xffff);
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_msi);

/**
 * vfio_mig_pci_config_seal() - keep the current contents as power-on state
 * @pc: the config space, laid out with vfio_mig_pci_config_put()
 */
void vfio_mig_pci_config_seal(struct vfio_mig_pci_config *pc)
{
	memcpy(pc->reset, pc->val, sizeof(pc->reset));
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_seal);

/**
 * vfio_mig_pci_config_reset() - return to the power-on contents
 * @pc: the config space
 */
void vfio_mig_pci_config_reset(struct vfio_mig_pci_config *pc)
{
	memcpy(pc->val, pc->reset, sizeof(pc->val));
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_reset);

/**
 * vfio_mig_pci_config_write() - a guest write, masked
 * @pc: the config space
 * @off: offset, with @count checked by the engine against the region
 * @buf: the bytes written
 * @count: their number
 */
void vfio_mig_pci_config_write(struct vfio_mig_pci_config *pc, u64 off,
			       const void *buf, size_t count)
{
	const u8 *src = buf;
	size_t i;

	for (i = 0; i < count && off + i < sizeof(pc->val); i++) {
		u8 m = pc->wmask[off + i];

		pc->val[off + i] = (pc->val[off + i] & ~m) | (src[i] & m);
	}
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_write);

/**
 * vfio_mig_pci_config_check() - validate an incoming config record
 * @pc: the destination's config space
 * @rec: the record's payload
 * @len: its length
 *
 * Return: 0 if @rec is a whole config space whose read-only bits equal the
 * power-on contents, else -EINVAL.
 */
int vfio_mig_pci_config_check(const struct vfio_mig_pci_config *pc,
			      const void *rec, u32 len)
{
	const u8 *b = rec;
	unsigned int i;

	if (len != sizeof(pc->val))
		return -EINVAL;
	for (i = 0; i < sizeof(pc->val); i++) {
		u8 fixed = ~pc->wmask[i];

		if ((b[i] & fixed) != (pc->reset[i] & fixed))
			return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_check);

/**
 * vfio_mig_pci_config_word() - read a 16-bit field
 * @pc: the config space
 * @off: its offset (at most 254)
 *
 * Return: the field's current value.
 */
u16 vfio_mig_pci_config_word(const struct vfio_mig_pci_config *pc,
			     unsigned int off)
{
	if (WARN_ON(off > sizeof(pc->val) - 2))
		return 0;
	return pc->val[off] | pc->val[off + 1] << 8;
}
EXPORT_SYMBOL_GPL(vfio_mig_pci_config_word);

/* The config region of a device with mig->pci: read and masked write. */
static int config_read(struct vfio_mig_device *mig, unsigned int index,
		       u64 off, void *buf, size_t count)
{
	mutex_lock(mig->pci_lock);
	memcpy(buf, mig->pci->val + off, count);
	mutex_unlock(mig->pci_lock);
	return 0;
}

static int config_write(struct vfio_mig_device *mig, unsigned int index,
			u64 off, const void *buf, size_t count)
{
	mutex_lock(mig->pci_lock);
	vfio_mig_pci_config_write(mig->pci, off, buf, count);
	mutex_unlock(mig->pci_lock);
	return 0;
}

void vfio_mig_pci_region_setup(struct vfio_mig_device *mig,
			       struct vfio_mig_region *r)
{
	*r = (struct vfio_mig_region) {
		.size = sizeof(mig->pci->val),
		.flags = VFIO_REGION_INFO_FLAG_READ |
			 VFIO_REGION_INFO_FLAG_WRITE,
		.widths = VFIO_MIG_ANY_LENGTH,
		.read = config_read,
		.write = config_write,
	};
}
