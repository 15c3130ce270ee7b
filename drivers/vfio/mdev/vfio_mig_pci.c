// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: an emulated PCI configuration space for engine devices.
 * The driver lays out its power-on contents with write masks once, the
 * guest's writes change only the writable bits, and an incoming config
 * record is valid only if every bit software cannot write matches the
 * power-on contents.  No locking: the driver holds its own lock around
 * these calls.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */

#include <linux/module.h>
#include <linux/string.h>
#include <linux/vfio_mig.h>

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
