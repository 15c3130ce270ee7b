// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: region access decoding for emulated VFIO devices.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking: the engine keeps no mutable state of its own in this file.  The
 * region table of a struct vfio_mig_device is written by the driver before
 * the device is registered and only read afterwards.  User memory is copied
 * into and out of an on-stack bounce buffer here, with no lock held, so a
 * driver callback never runs copy_{to,from}_user() and never holds its own
 * lock across a user copy.
 */

#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig.h>

static bool vfio_mig_width_ok(u32 widths, u64 off, size_t count)
{
	if (widths == VFIO_MIG_ANY_LENGTH)
		return true;
	if (count > 8 || !(widths & BIT(count)))
		return false;
	return (off & (count - 1)) == 0;
}

/**
 * vfio_mig_check_access() - decode and validate one region access
 * @mig: the device
 * @pos: file position of the access, as passed to read/write
 * @count: length of the access in bytes
 * @write: true for a write
 * @index: returns the region index
 * @off: returns the offset inside the region
 *
 * Checks, without overflow, that @pos names an implemented region that
 * allows the direction, that [@off, @off + @count) lies inside it and that
 * the length and alignment are allowed.  A zero @count is valid for any
 * region that passes the other checks.
 *
 * Return: 0, or -EINVAL if the access must be refused.
 */
int vfio_mig_check_access(const struct vfio_mig_device *mig, loff_t pos,
			  size_t count, bool write, unsigned int *index,
			  u64 *off)
{
	const struct vfio_mig_region *r;
	u64 idx, o, end;

	if (pos < 0)
		return -EINVAL;
	idx = (u64)pos >> VFIO_MIG_REGION_SHIFT;
	o = (u64)pos & VFIO_MIG_OFFSET_MASK;
	if (idx >= mig->num_regions)
		return -EINVAL;
	r = &mig->regions[idx];
	if (!r->size)
		return -EINVAL;
	if (!(r->flags & (write ? VFIO_REGION_INFO_FLAG_WRITE :
				  VFIO_REGION_INFO_FLAG_READ)))
		return -EINVAL;
	if (check_add_overflow(o, (u64)count, &end) || end > r->size)
		return -EINVAL;
	if (count && !vfio_mig_width_ok(r->widths, o, count))
		return -EINVAL;
	*index = idx;
	*off = o;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_check_access);

/**
 * vfio_mig_rw() - serve a read(2) or write(2) on the device file
 * @mig: the device
 * @buf: user buffer
 * @count: length in bytes
 * @ppos: file position; advanced by the bytes transferred
 * @write: true for write(2)
 *
 * Validates the whole access with vfio_mig_check_access() before touching
 * anything, then moves the data through a bounce buffer and the region's
 * callback.  An access to a width-restricted region is one callback call.
 *
 * Return: @count on success; -EINVAL for a refused access; -EFAULT for a
 * bad user buffer (bytes already moved are reported instead, if any); or
 * the callback's error.
 */
ssize_t vfio_mig_rw(struct vfio_mig_device *mig, char __user *buf,
		    size_t count, loff_t *ppos, bool write)
{
	u8 bounce[VFIO_MIG_BOUNCE_SIZE];
	const struct vfio_mig_region *r;
	unsigned int index;
	size_t done = 0;
	u64 off;
	int ret;

	ret = vfio_mig_check_access(mig, *ppos, count, write, &index, &off);
	if (ret)
		return ret;
	r = &mig->regions[index];

	while (done < count) {
		size_t n = min_t(size_t, count - done, sizeof(bounce));

		if (write) {
			if (copy_from_user(bounce, buf + done, n)) {
				ret = -EFAULT;
				break;
			}
			ret = r->write(mig, index, off + done, bounce, n);
		} else {
			ret = r->read(mig, index, off + done, bounce, n);
			if (!ret && copy_to_user(buf + done, bounce, n))
				ret = -EFAULT;
		}
		if (ret)
			break;
		done += n;
	}
	*ppos += done;
	if (done)
		return done;
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mig_rw);

/**
 * vfio_mig_get_region_info() - serve VFIO_DEVICE_GET_REGION_INFO
 * @mig: the device
 * @arg: user pointer to struct vfio_region_info
 *
 * Implements the argsz protocol: argsz below the fixed part or an unknown
 * index is -EINVAL; a region that is not implemented reports size 0 and no
 * flags.
 *
 * Return: 0, -EINVAL or -EFAULT.
 */
long vfio_mig_get_region_info(struct vfio_mig_device *mig, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;
	const struct vfio_mig_region *r;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= mig->num_regions)
		return -EINVAL;
	r = &mig->regions[info.index];
	info.offset = VFIO_MIG_REGION_OFFSET(info.index);
	info.size = r->size;
	info.flags = r->size ? r->flags : 0;
	info.cap_offset = 0;
	if (copy_to_user(arg, &info, minsz))
		return -EFAULT;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_get_region_info);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The vfio-mig authors");
MODULE_DESCRIPTION("vfio-mig engine: migration support library for emulated VFIO devices");
