// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: region access for emulated VFIO devices.  Decodes file
 * offsets into region index and offset, checks bounds and widths without
 * overflow, moves data between user memory and region callbacks through
 * a bounce buffer, and answers region info and mmap.  It knows no region
 * in particular: the migration regions plug in through the same callbacks
 * as the driver's own (struct vfio_mig_region).
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * the region table is written before the device is registered and only
 * read afterwards.  User memory is copied into and out of the on-stack
 * bounce buffer with no lock held except, for regions with a finish
 * callback, core->access_lock, which serialises their accesses from the
 * action through the copy, so the action is committed only once its
 * result reached the user and a failed copy undoes exactly that action.
 * Regions marked quiesce are called through the session gate (the state
 * lock held, refused while the device is quiesced), so an access and a
 * state transition never interleave.  A region's direct callback gets the
 * user buffer with no lock held.
 */

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "vfio_mig_priv.h"

static bool width_ok(u32 widths, u64 off, size_t count)
{
	if (widths == VFIO_MIG_ANY_LENGTH)
		return true;
	if (count > 8 || !(widths & BIT(count)))
		return false;
	return (off & (count - 1)) == 0;
}

/*
 * Decode and validate one access of @count bytes at file position @pos:
 * an implemented region that allows the direction, [@off, @off + @count)
 * inside it, an allowed length and alignment.  A zero @count is valid for
 * any region that passes the other checks.  0 or -EINVAL.
 */
static int check_access(const struct vfio_mig_device *mig, loff_t pos,
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
	if (count && !width_ok(r->widths, o, count))
		return -EINVAL;
	*index = idx;
	*off = o;
	return 0;
}

/* Call a region's callback; quiesce regions through the session gate. */
static int region_call(struct vfio_mig_device *mig,
		       const struct vfio_mig_region *r, unsigned int index,
		       u64 off, void *buf, size_t n, bool write)
{
	int ret;

	if (r->quiesce && !vfio_mig_session_gate(mig->core))
		return -EBUSY;
	if (write)
		ret = r->write(mig, index, off, buf, n);
	else
		ret = r->read(mig, index, off, buf, n);
	if (r->quiesce)
		vfio_mig_session_ungate(mig->core);
	return ret;
}

/* One bounce-sized piece of a callback-served access. */
static int region_piece(struct vfio_mig_device *mig,
			const struct vfio_mig_region *r, unsigned int index,
			u64 off, char __user *ubuf, u8 *bounce, size_t n,
			bool write)
{
	int ret;

	if (write) {
		if (copy_from_user(bounce, ubuf, n))
			return -EFAULT;
		return region_call(mig, r, index, off, bounce, n, true);
	}
	ret = region_call(mig, r, index, off, bounce, n, false);
	if (ret)
		return ret;
	/* Stage, copy out, then commit (or take it back). */
	ret = copy_to_user(ubuf, bounce, n) ? -EFAULT : 0;
	if (r->finish)
		r->finish(mig, index, off, n, !ret);
	return ret;
}

/*
 * Serve a read(2) or write(2) of @count bytes at *@ppos: validated whole
 * before anything is touched, then moved through the bounce buffer and
 * the region's callback (one call for a width-restricted region), or
 * handed to the region's direct callback.  Returns the bytes moved
 * (advancing *@ppos), -EINVAL for a refused access, -EFAULT for a bad
 * user buffer when nothing moved (a read whose result could not be
 * copied out is undone), or the callback's error.
 */
static ssize_t access_rw(struct vfio_mig_device *mig, char __user *buf,
			 size_t count, loff_t *ppos, bool write)
{
	u8 bounce[VFIO_MIG_BOUNCE_SIZE];
	const struct vfio_mig_region *r;
	unsigned int index;
	size_t done = 0;
	ssize_t moved;
	u64 off;
	int ret;

	ret = check_access(mig, *ppos, count, write, &index, &off);
	if (ret)
		return ret;
	r = &mig->regions[index];
	if (r->direct && off >= r->direct_off) {
		moved = r->direct(mig, index, off, buf, count, write);
		if (moved > 0)
			*ppos += moved;
		return moved;
	}
	if (r->direct && off + count > r->direct_off)
		return -EINVAL;

	if (r->finish)
		mutex_lock(&mig->core->access_lock);
	while (done < count) {
		size_t n = min_t(size_t, count - done, sizeof(bounce));

		ret = region_piece(mig, r, index, off + done, buf + done,
				   bounce, n, write);
		if (ret)
			break;
		done += n;
	}
	if (r->finish)
		mutex_unlock(&mig->core->access_lock);
	*ppos += done;
	if (done)
		return done;
	return ret;
}

/**
 * vfio_mig_read() - the vfio_device_ops .read of an engine device
 * @vdev: the device
 * @buf: user buffer
 * @count: length in bytes
 * @ppos: file position; advanced by the bytes read
 *
 * Return: the bytes read; -EINVAL for a refused access; -EFAULT for a bad
 * buffer when nothing was read; or the region's error.
 */
ssize_t vfio_mig_read(struct vfio_device *vdev, char __user *buf,
		      size_t count, loff_t *ppos)
{
	struct vfio_mig_device *mig = container_of(vdev, struct vfio_mig_device,
						   vdev);

	return access_rw(mig, buf, count, ppos, false);
}
EXPORT_SYMBOL_GPL(vfio_mig_read);

/**
 * vfio_mig_write() - the vfio_device_ops .write of an engine device
 * @vdev: the device
 * @buf: user buffer
 * @count: length in bytes
 * @ppos: file position; advanced by the bytes written
 *
 * Return: as vfio_mig_read(), for bytes written.
 */
ssize_t vfio_mig_write(struct vfio_device *vdev, const char __user *buf,
		       size_t count, loff_t *ppos)
{
	struct vfio_mig_device *mig = container_of(vdev, struct vfio_mig_device,
						   vdev);

	return access_rw(mig, (char __user *)buf, count, ppos, true);
}
EXPORT_SYMBOL_GPL(vfio_mig_write);

/* Describe region @info->index: the fixed part, and its capabilities. */
static int region_info(struct vfio_mig_device *mig,
		       struct vfio_region_info *info,
		       struct vfio_info_cap *caps)
{
	const struct vfio_mig_region *r;
	size_t before = caps->size;
	int ret;

	if (info->index >= mig->num_regions)
		return -EINVAL;
	r = &mig->regions[info->index];
	info->offset = VFIO_MIG_REGION_OFFSET(info->index);
	info->size = r->size;
	info->flags = r->size ? r->flags : 0;
	if (!r->size || !r->caps)
		return 0;
	ret = r->caps(mig, info->index, caps);
	if (!ret && caps->size != before)
		info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
	return ret;
}

/**
 * vfio_mig_get_region_info_caps() - the vfio_device_ops
 *	.get_region_info_caps of an engine device (kernels 6.19 and later)
 * @vdev: the device
 * @info: in: index; out: size, offset, flags (the fixed part)
 * @caps: capabilities to append the region's to
 *
 * A region that is not implemented has size 0 and no flags.
 *
 * Return: 0, -EINVAL for an unknown index, or -ENOMEM.
 */
int vfio_mig_get_region_info_caps(struct vfio_device *vdev,
				  struct vfio_region_info *info,
				  struct vfio_info_cap *caps)
{
	return region_info(container_of(vdev, struct vfio_mig_device, vdev),
			   info, caps);
}
EXPORT_SYMBOL_GPL(vfio_mig_get_region_info_caps);

/*
 * VFIO_DEVICE_GET_REGION_INFO on kernels whose core leaves it to the
 * driver: the argsz protocol around region_info().  argsz below the fixed
 * part or an unknown index is -EINVAL; when argsz is too small for the
 * capability chain, argsz returns the size needed and cap_offset stays 0.
 */
long vfio_mig_get_region_info(struct vfio_mig_device *mig, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_info_cap caps = { };
	struct vfio_region_info info;
	int ret;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.cap_offset = 0;
	ret = region_info(mig, &info, &caps);
	if (ret)
		goto out;
	if (caps.size) {
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(arg + sizeof(info), caps.buf,
					 caps.size)) {
				ret = -EFAULT;
				goto out;
			}
			info.cap_offset = sizeof(info);
		}
	}
	if (copy_to_user(arg, &info, minsz))
		ret = -EFAULT;
out:
	kfree(caps.buf);
	return ret;
}

/*
 * mmap(2) of the device file: only a region that offers it, only shared,
 * never executable; the region's callback checks the range and maps it.
 */
static int map(struct vfio_mig_device *mig, struct vm_area_struct *vma)
{
	const struct vfio_mig_region *r;
	u64 pos, index;

	if (vma->vm_pgoff > (U64_MAX >> PAGE_SHIFT))
		return -EINVAL;
	pos = (u64)vma->vm_pgoff << PAGE_SHIFT;
	index = pos >> VFIO_MIG_REGION_SHIFT;
	if (index >= mig->num_regions)
		return -EINVAL;
	r = &mig->regions[index];
	if (!r->size || !r->mmap || !(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED) || (vma->vm_flags & VM_EXEC))
		return -EINVAL;
	return r->mmap(mig, index, pos & VFIO_MIG_OFFSET_MASK, vma);
}

/**
 * vfio_mig_mmap() - the vfio_device_ops .mmap of an engine device
 * @vdev: the device
 * @vma: the new mapping
 *
 * Return: 0 or -EINVAL.
 */
int vfio_mig_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	return map(container_of(vdev, struct vfio_mig_device, vdev), vma);
}
EXPORT_SYMBOL_GPL(vfio_mig_mmap);
