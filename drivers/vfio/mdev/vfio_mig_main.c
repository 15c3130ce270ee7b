// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: region access decoding for emulated VFIO devices, the
 * migration region's place among the device's regions (info, data
 * section, mmap), and setup.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * the region table and mig->cfg are written before the device is
 * registered and only read afterwards.  User memory is copied into and out
 * of an on-stack bounce buffer here, with no lock held except, for regions
 * with a finish callback (the migration headers), mig->access_lock, which
 * serialises their accesses from the action through the copy, so the
 * action is committed only once its result reached the user and a failed
 * copy undoes exactly that action; nothing else takes it.  Regions
 * marked quiesce are accessed under mig->lock, so an access and a state
 * transition never interleave.  The data section is copied straight
 * between the user and the section's buffer with no lock held: the buffer
 * lives as long as the device, and its mappings have no fault handler, so
 * a user buffer that is itself a mapping of the data section cannot
 * deadlock.
 */

#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig_compat.h>
#include <linux/vmalloc.h>

#include "vfio_mig_priv.h"

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

/* Call a region's callback; quiesce regions under the state lock. */
static int region_call(struct vfio_mig_device *mig,
		       const struct vfio_mig_region *r, unsigned int index,
		       u64 off, void *buf, size_t n, bool write)
{
	int ret;

	if (r->quiesce && mig->mig_index) {
		mutex_lock(&mig->lock);
		if (mig->quiesced)
			ret = -EBUSY;
		else if (write)
			ret = r->write(mig, index, off, buf, n);
		else
			ret = r->read(mig, index, off, buf, n);
		mutex_unlock(&mig->lock);
		return ret;
	}
	if (write)
		return r->write(mig, index, off, buf, n);
	return r->read(mig, index, off, buf, n);
}

/* Is @index one of the migration regions (vfio-mig or v1)? */
static bool is_mig_region(const struct vfio_mig_device *mig,
			  unsigned int index)
{
	return mig->mig_index &&
	       (index == mig->mig_index || index == mig->v1_index);
}

/*
 * Trapped access to the data section, which both migration regions show:
 * reads in any state, writes only while a resume session of the region's
 * own front-end is open (the vfio-mig region in RESUME, the v1 region in
 * resuming); a zero-length access does nothing, in any state.  No lock is
 * held across the copy (see the top).  A copy that faults part way
 * reports the bytes moved before the fault.
 */
static ssize_t data_rw(struct vfio_mig_device *mig, unsigned int index,
		       char __user *buf, size_t count, loff_t *ppos, u64 off,
		       bool write)
{
	enum vfio_mig_owner own = index == mig->v1_index ?
				  VFIO_MIG_OWNER_V1 : VFIO_MIG_OWNER_REGION;
	u8 *p = (u8 *)mig->data + (off - VFIO_MIG_HDR_PAGE);
	size_t left;
	bool ok;

	if (!count)
		return 0;
	if (write) {
		mutex_lock(&mig->lock);
		ok = mig->resume && mig->owner == own;
		mutex_unlock(&mig->lock);
		if (!ok)
			return -EINVAL;
		left = copy_from_user(p, buf, count);
	} else {
		left = copy_to_user(buf, p, count);
	}
	if (left == count)
		return -EFAULT;
	*ppos += count - left;
	return count - left;
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
 * bad user buffer (bytes already moved are reported instead, if any; a
 * read whose result could not be copied out is undone); or the callback's
 * error.
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
	if (is_mig_region(mig, index)) {
		if (off >= VFIO_MIG_HDR_PAGE)
			return data_rw(mig, index, buf, count, ppos, off,
				       write);
		if (off + count > VFIO_MIG_HDR_PAGE)
			return -EINVAL;
	}

	if (r->finish)
		mutex_lock(&mig->access_lock);
	while (done < count) {
		size_t n = min_t(size_t, count - done, sizeof(bounce));

		ret = region_piece(mig, r, index, off + done, buf + done,
				   bounce, n, write);
		if (ret)
			break;
		done += n;
	}
	if (r->finish)
		mutex_unlock(&mig->access_lock);
	*ppos += done;
	if (done)
		return done;
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mig_rw);

/*
 * Capabilities of a migration region: its type, and the mmap area (the
 * data section only, so the header is never mapped).
 */
static int mig_region_caps(struct vfio_mig_device *mig, unsigned int index,
			   struct vfio_info_cap *caps)
{
	bool v1 = index == mig->v1_index;
	struct vfio_region_info_cap_type type = {
		.header.id = VFIO_REGION_INFO_CAP_TYPE,
		.header.version = 1,
		.type = v1 ? VFIO_REGION_TYPE_MIGRATION_DEPRECATED :
			     VFIO_MIG_REGION_TYPE,
		.subtype = v1 ? VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED :
				VFIO_MIG_REGION_SUBTYPE,
	};
	struct {
		struct vfio_region_info_cap_sparse_mmap sparse;
		struct vfio_region_sparse_mmap_area area;
	} sp = {
		.sparse.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP,
		.sparse.header.version = 1,
		.sparse.nr_areas = 1,
		.area.offset = VFIO_MIG_HDR_PAGE,
		.area.size = mig->cfg.data_size,
	};
	int ret;

	ret = vfio_info_add_capability(caps, &type.header, sizeof(type));
	if (ret || !mig->cfg.mmap)
		return ret;
	return vfio_info_add_capability(caps, &sp.sparse.header, sizeof(sp));
}

/**
 * vfio_mig_region_info() - describe one region
 * @mig: the device
 * @info: in: index; out: size, offset, flags (the fixed part)
 * @caps: capabilities to append the region's to
 *
 * The driver's .get_region_info_caps on kernels whose core answers
 * VFIO_DEVICE_GET_REGION_INFO itself; vfio_mig_get_region_info() on
 * older ones.  A region that is not implemented has size 0 and no flags.
 *
 * Return: 0, -EINVAL for an unknown index, or -ENOMEM.
 */
int vfio_mig_region_info(struct vfio_mig_device *mig,
			 struct vfio_region_info *info,
			 struct vfio_info_cap *caps)
{
	const struct vfio_mig_region *r;
	int ret;

	if (info->index >= mig->num_regions)
		return -EINVAL;
	r = &mig->regions[info->index];
	info->offset = VFIO_MIG_REGION_OFFSET(info->index);
	info->size = r->size;
	info->flags = r->size ? r->flags : 0;
	if (!is_mig_region(mig, info->index))
		return 0;
	ret = mig_region_caps(mig, info->index, caps);
	if (!ret)
		info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mig_region_info);

/**
 * vfio_mig_get_region_info() - serve VFIO_DEVICE_GET_REGION_INFO
 * @mig: the device
 * @arg: user pointer to struct vfio_region_info
 *
 * Implements the argsz protocol around vfio_mig_region_info(): argsz below
 * the fixed part or an unknown index is -EINVAL; when argsz is too small
 * for the capability chain, argsz returns the size needed and cap_offset
 * stays 0.
 *
 * Return: 0, -EINVAL, -ENOMEM or -EFAULT.
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
	ret = vfio_mig_region_info(mig, &info, &caps);
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
EXPORT_SYMBOL_GPL(vfio_mig_get_region_info);

/**
 * vfio_mig_mmap() - serve mmap(2) on the device file
 * @mig: the device
 * @vma: the new mapping
 *
 * Only a migration region's data section can be mapped, only when the
 * device offers it, only shared, and only inside the section.  The mapping
 * shows the section's buffer, which lives as long as the device, so it
 * stays valid across state changes, reset and close.
 *
 * Return: 0 or -EINVAL.
 */
int vfio_mig_mmap(struct vfio_mig_device *mig, struct vm_area_struct *vma)
{
	u64 pos = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start, off, end;

	if (!mig->mig_index || !mig->cfg.mmap)
		return -EINVAL;
	if (vma->vm_pgoff > (U64_MAX >> PAGE_SHIFT) ||
	    !is_mig_region(mig, pos >> VFIO_MIG_REGION_SHIFT))
		return -EINVAL;
	off = pos & VFIO_MIG_OFFSET_MASK;
	if (!(vma->vm_flags & VM_SHARED) || (vma->vm_flags & VM_EXEC) ||
	    off < VFIO_MIG_HDR_PAGE || check_add_overflow(off, len, &end) ||
	    end > vfio_mig_region_size(mig))
		return -EINVAL;
	vfio_mig_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYEXEC);
	return remap_vmalloc_range(vma, mig->data,
				   (off - VFIO_MIG_HDR_PAGE) >> PAGE_SHIFT);
}
EXPORT_SYMBOL_GPL(vfio_mig_mmap);

/**
 * vfio_mig_init() - add the migration region to a device
 * @mig: the device, with its other regions already described
 * @cfg: migration parameters; copied
 *
 * Appends the two migration regions after the driver's regions, the
 * vfio-mig region and the upstream v1 region (for QEMU 5.2 to 7.2), and
 * allocates the data section they share.  Call before the device is
 * registered; undo with vfio_mig_uninit().
 *
 * Return: 0, -EINVAL for a bad @cfg, or -ENOMEM.
 */
int vfio_mig_init(struct vfio_mig_device *mig,
		  const struct vfio_mig_config *cfg)
{
	const struct vfio_mig_ops *ops = cfg->ops;
	struct vfio_mig_region *r;

	BUILD_BUG_ON(PAGE_SIZE != VFIO_MIG_STREAM_PAGE_SIZE);
	if (mig->num_regions + 2 > VFIO_MIG_MAX_REGIONS || !ops ||
	    !ops->identity || !ops->quiesce || !ops->unquiesce ||
	    !ops->save_state || !ops->check_record || !ops->load_record ||
	    !ops->reset || cfg->data_size < VFIO_MIG_MIN_DATA ||
	    cfg->data_size > VFIO_MIG_MAX_DATA ||
	    !PAGE_ALIGNED(cfg->data_size) || !PAGE_ALIGNED(cfg->mem_size) ||
	    (cfg->mem_size && (!ops->mem_read || !ops->mem_write)) ||
	    (cfg->nr_state_types && !cfg->state_types) ||
	    cfg->max_record > VFIO_MIG_MAX_RECORD)
		return -EINVAL;

	mig->data = vmalloc_user(cfg->data_size);
	if (!mig->data)
		return -ENOMEM;
	mig->stage = vmalloc(cfg->data_size);
	if (!mig->stage) {
		vfree(mig->data);
		mig->data = NULL;
		return -ENOMEM;
	}
	mig->cfg = *cfg;
	mutex_init(&mig->lock);
	mutex_init(&mig->access_lock);
	INIT_LIST_HEAD(&mig->v2.gone);
	vfio_mig_log_init(mig);
	mig->state = VFIO_MIG_STATE_NONE;
	mig->info.data.offset = VFIO_MIG_HDR_PAGE;
	mig->owner = VFIO_MIG_OWNER_NONE;
	mig->v1.state = VFIO_DEVICE_STATE_V1_RUNNING;
	mig->v2.state = VFIO_DEVICE_STATE_RUNNING;

	mig->mig_index = mig->num_regions++;
	mig->v1_index = mig->num_regions++;
	r = &mig->regions[mig->mig_index];
	*r = (struct vfio_mig_region) {
		.size = vfio_mig_region_size(mig),
		.flags = VFIO_REGION_INFO_FLAG_READ |
			 VFIO_REGION_INFO_FLAG_WRITE |
			 (cfg->mmap ? VFIO_REGION_INFO_FLAG_MMAP : 0),
		.widths = VFIO_MIG_ANY_LENGTH,
		.read = vfio_mig_region_read,
		.write = vfio_mig_region_write,
		.finish = vfio_mig_region_finish,
	};
	mig->regions[mig->v1_index] = *r;
	mig->regions[mig->v1_index].read = vfio_mig_v1_read;
	mig->regions[mig->v1_index].write = vfio_mig_v1_write;
	mig->regions[mig->v1_index].finish = vfio_mig_v1_finish;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_init);

/**
 * vfio_mig_uninit() - release what vfio_mig_init() set up
 * @mig: the device, no longer open
 */
void vfio_mig_uninit(struct vfio_mig_device *mig)
{
	if (!mig->mig_index)
		return;
	vfio_mig_reset(mig);
	vfree(mig->stage);
	mig->stage = NULL;
	vfree(mig->data);
	mig->data = NULL;
	mutex_destroy(&mig->log_lock);
	mutex_destroy(&mig->access_lock);
	mutex_destroy(&mig->lock);
}
EXPORT_SYMBOL_GPL(vfio_mig_uninit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The vfio-mig authors");
MODULE_DESCRIPTION("vfio-mig engine: migration support library for emulated VFIO devices");
