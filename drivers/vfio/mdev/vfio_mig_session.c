// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the session core the three front-ends share.
 *
 * One front-end at a time owns the core (claim, release).  Under it the
 * core runs the device's quiesce state, the save session (from its start,
 * through the one stop-and-copy routine, to its end) and the resume
 * session (from its start to a complete stream applied at once, or to the
 * one "resume failed" path that returns the device to its power-on state),
 * and keeps the data section both migration regions show.  The record
 * codec is in vfio_mig_stream.c and the dirty logs in vfio_mig_log.c; the
 * front-ends decide when to call what, and nothing here knows them.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * core->lock (the state lock) is held across every function here but the
 * data-section copies, which hold no lock: the section's buffer lives as
 * long as the device and its mappings have no fault handler, so a user
 * buffer that is itself a mapping of the section cannot deadlock.  The
 * driver's ops called from here take the driver's lock inside the state
 * lock.
 */

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig_compat.h>
#include <linux/vmalloc.h>

#include "vfio_mig_priv.h"

void vfio_mig_session_init(struct vfio_mig_core *core)
{
	mutex_init(&core->lock);
	mutex_init(&core->access_lock);
	core->owner = VFIO_MIG_OWNER_NONE;
}

/*
 * Enter a quiesce region's access: with the state lock held and the
 * device running (true), or not at all (false: the device is quiesced).
 */
bool vfio_mig_session_gate(struct vfio_mig_core *core)
{
	mutex_lock(&core->lock);
	if (core->quiesced) {
		mutex_unlock(&core->lock);
		return false;
	}
	return true;
}

void vfio_mig_session_ungate(struct vfio_mig_core *core)
{
	mutex_unlock(&core->lock);
}

void vfio_mig_quiesce(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	if (!core->quiesced) {
		core->cfg.ops->quiesce(core->mig);
		core->quiesced = true;
	}
}

void vfio_mig_unquiesce(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	if (core->quiesced) {
		core->quiesced = false;
		core->cfg.ops->unquiesce(core->mig);
	}
}

/*
 * One front-end owns the session core at a time: it claims it before an
 * access that may start a session, and releases it once it is idle again
 * (no session, device not stopped).  Another front-end's state-changing
 * accesses meanwhile get -EBUSY.
 */
int vfio_mig_claim(struct vfio_mig_core *core, enum vfio_mig_owner who)
{
	lockdep_assert_held(&core->lock);
	if (core->owner != VFIO_MIG_OWNER_NONE && core->owner != who)
		return -EBUSY;
	core->owner = who;
	return 0;
}

void vfio_mig_release(struct vfio_mig_core *core, bool idle)
{
	lockdep_assert_held(&core->lock);
	if (idle && !core->save && !core->resume && !core->quiesced)
		core->owner = VFIO_MIG_OWNER_NONE;
}

/* ---------------------------------------------------------------------- */
/* Save */

int vfio_mig_save_start(struct vfio_mig_core *core)
{
	struct vfio_mig_save *save;
	int ret;

	lockdep_assert_held(&core->lock);
	if (WARN_ON(core->save || core->resume))
		return -EBUSY;
	save = kzalloc(sizeof(*save), GFP_KERNEL_ACCOUNT);
	if (!save)
		return -ENOMEM;
	save->taken = kvmalloc_array(vfio_mig_max_taken(core) ?: 1,
				     sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!save->taken) {
		ret = -ENOMEM;
		goto err_save;
	}
	ret = vfio_mig_track_start(core);
	if (ret)
		goto err_taken;
	core->save = save;
	core->gen++;
	return 0;

err_taken:
	kvfree(save->taken);
err_save:
	kfree(save);
	return ret;
}

/* End the save session, if any; the device keeps its state. */
void vfio_mig_save_drop(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	if (!core->save)
		return;
	vfio_mig_track_stop(core);
	kvfree(core->save->state);
	kvfree(core->save->taken);
	kfree(core->save);
	core->save = NULL;
	core->gen++;
}

/*
 * The device is quiesced: serialise the stop-time state now, with the
 * sequence numbers it will carry after the header (if still unsent) and
 * every page still dirty.
 */
static int save_stop(struct vfio_mig_core *core)
{
	struct vfio_mig_save *save = core->save;
	size_t size;
	u32 seq;
	u8 *buf;
	int ret;

	ret = vfio_mig_state_size(core, &size);
	if (ret)
		return ret;
	buf = kvmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	seq = save->seq + !save->header_sent +
	      (u32)vfio_mig_mem_dirty_count(core);
	ret = vfio_mig_state_save(core, buf, size, seq);
	if (ret) {
		kvfree(buf);
		return ret;
	}
	save->state = buf;
	save->state_len = size;
	save->state_off = 0;
	return 0;
}

/**
 * vfio_mig_stop_copy() - enter stop-and-copy
 * @core: the engine state, locked
 *
 * The one stop-and-copy routine of every front-end: starts a save session
 * if none runs, quiesces the device and serialises its stop-time state.
 * On failure everything is as before: a session started here is dropped
 * and a device that was running runs again.
 *
 * Return: 0, -ENOMEM, or the driver's error.
 */
int vfio_mig_stop_copy(struct vfio_mig_core *core)
{
	bool fresh = !core->save, was_quiesced = core->quiesced;
	int ret;

	lockdep_assert_held(&core->lock);
	if (fresh) {
		ret = vfio_mig_save_start(core);
		if (ret)
			return ret;
	}
	vfio_mig_quiesce(core);
	ret = save_stop(core);
	if (ret)
		goto err_unquiesce;
	return 0;

err_unquiesce:
	if (!was_quiesced)
		vfio_mig_unquiesce(core);
	if (fresh)
		vfio_mig_save_drop(core);
	return ret;
}

/* Whether the save session is past its stop (the device is stopped). */
bool vfio_mig_save_stopped(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	return core->save && core->save->state;
}

/* ---------------------------------------------------------------------- */
/* Resume */

int vfio_mig_resume_start(struct vfio_mig_core *core)
{
	unsigned int n = core->cfg.nr_state_types;
	u64 pages = core->cfg.mem_size >> PAGE_SHIFT;
	struct vfio_mig_resume *r;

	lockdep_assert_held(&core->lock);
	if (WARN_ON(core->save || core->resume))
		return -EBUSY;
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	r->max_payload = vfio_mig_max_payload(core);
	r->payload = kvmalloc(r->max_payload, GFP_KERNEL_ACCOUNT);
	if (!r->payload)
		goto err_free;
	/* Room for every state record now: feeding never allocates. */
	r->records = kvmalloc_array(n ?: 1, core->cfg.max_record ?: 1,
				    GFP_KERNEL_ACCOUNT);
	if (!r->records)
		goto err_free;
	r->state_len = kcalloc(n ?: 1, sizeof(*r->state_len),
			       GFP_KERNEL_ACCOUNT);
	if (!r->state_len)
		goto err_free;
	/*
	 * Received pages go straight into the quiesced device (no copy of
	 * device memory is kept): the session's memory is this bitmap, a
	 * record's payload and the driver's records, whatever the device's
	 * size.
	 */
	if (pages) {
		r->received = bitmap_zalloc(pages, GFP_KERNEL_ACCOUNT);
		if (!r->received)
			goto err_free;
	}
	core->resume = r;
	core->gen++;
	return 0;

err_free:
	/* Each of these frees NULL, and r was zeroed. */
	kfree(r->state_len);
	kvfree(r->records);
	kvfree(r->payload);
	kfree(r);
	return -ENOMEM;
}

/*
 * Free the resume session, if any.  Pages it received are in the device
 * already: unless the stream was applied, the caller returns the device
 * to its power-on state (vfio_mig_resume_fail()).
 */
void vfio_mig_resume_drop(struct vfio_mig_core *core)
{
	struct vfio_mig_resume *r = core->resume;

	lockdep_assert_held(&core->lock);
	if (!r)
		return;
	bitmap_free(r->received);
	kvfree(r->records);
	kfree(r->state_len);
	kvfree(r->payload);
	kfree(r);
	core->resume = NULL;
	core->gen++;
}

/**
 * vfio_mig_resume_finish() - complete a valid stream: apply its records
 * @core: the engine state, locked, with a resume session
 *
 * Device memory arrived page by page while the stream was fed; the
 * driver's records, checked and staged, are applied here at once.
 *
 * Return: 0 and the session ended, or -EINVAL (the stream is incomplete
 * or was refused) and the session kept.
 */
int vfio_mig_resume_finish(struct vfio_mig_core *core)
{
	struct vfio_mig_resume *r = core->resume;
	const struct vfio_mig_ops *ops = core->cfg.ops;
	unsigned int i;

	lockdep_assert_held(&core->lock);
	if (WARN_ON(!r))
		return -EINVAL;
	if (!vfio_mig_resume_complete(core))
		return -EINVAL;
	for (i = 0; i < core->cfg.nr_state_types; i++)
		ops->load_record(core->mig, core->cfg.state_types[i],
				 vfio_mig_resume_record(core, i),
				 r->state_len[i]);
	vfio_mig_resume_drop(core);
	return 0;
}

/*
 * The one "resume failed" path: the session ends and, since nothing of
 * a dropped stream may stay (its pages went into device memory as they
 * arrived), the device returns to its power-on state.
 */
void vfio_mig_resume_fail(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	vfio_mig_resume_drop(core);
	core->cfg.ops->reset(core->mig);
}

/*
 * Drop any session and let the device run: for reset and close.  A save
 * leaves the device's state as it is; a resume not applied leaves it in
 * its power-on state.  The caller resets the front-ends.
 */
void vfio_mig_session_abort(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	vfio_mig_save_drop(core);
	if (core->resume)
		vfio_mig_resume_fail(core);
	vfio_mig_unquiesce(core);
	core->owner = VFIO_MIG_OWNER_NONE;
	core->gen++;
	memset(core->data, 0, core->cfg.data_size);
}

/* ---------------------------------------------------------------------- */
/* Header reads with side effects, and the data section */

/* A header read starts: nothing to publish or take back yet. */
void vfio_mig_read_begin(struct vfio_mig_core *core, struct vfio_mig_read *rd)
{
	lockdep_assert_held(&core->lock);
	rd->gen = core->gen;
	rd->chunk = false;
	rd->publish = 0;
}

/*
 * The read's result reached the user (@copied): publish what it built in
 * the stage into the data section.  Or it could not be copied out: take
 * its chunk back, and return true so that the front-end restores its own
 * fields.  Nothing to do once a session started or ended in between.
 */
bool vfio_mig_read_end(struct vfio_mig_core *core, struct vfio_mig_read *rd,
		       bool copied)
{
	lockdep_assert_held(&core->lock);
	if (rd->gen != core->gen)
		return false;
	if (copied) {
		memcpy(core->data, core->stage, rd->publish);
		return false;
	}
	if (rd->chunk)
		vfio_mig_save_unchunk(core);
	return true;
}

/*
 * Trapped access to the data section at region offset @off: reads in any
 * state, writes only while a resume session of front-end @own is open; a
 * zero-length access does nothing, in any state.  No lock is held across
 * the copy (see the top).  A copy that faults part way reports the bytes
 * moved before the fault.
 */
ssize_t vfio_mig_data_rw(struct vfio_mig_core *core, enum vfio_mig_owner own,
			 u64 off, char __user *buf, size_t count, bool write)
{
	u8 *p = (u8 *)core->data + (off - VFIO_MIG_HDR_PAGE);
	size_t left;
	bool ok;

	if (!count)
		return 0;
	if (write) {
		mutex_lock(&core->lock);
		ok = core->resume && core->owner == own;
		mutex_unlock(&core->lock);
		if (!ok)
			return -EINVAL;
		left = copy_from_user(p, buf, count);
	} else {
		left = copy_to_user(buf, p, count);
	}
	if (left == count)
		return -EFAULT;
	return count - left;
}

/*
 * A migration region's capabilities: its type, and the mmap area (the
 * data section only, so the header is never mapped).
 */
int vfio_mig_data_caps(struct vfio_mig_core *core, u32 type, u32 subtype,
		       struct vfio_info_cap *caps)
{
	struct vfio_region_info_cap_type cap_type = {
		.header.id = VFIO_REGION_INFO_CAP_TYPE,
		.header.version = 1,
		.type = type,
		.subtype = subtype,
	};
	struct {
		struct vfio_region_info_cap_sparse_mmap sparse;
		struct vfio_region_sparse_mmap_area area;
	} sp = {
		.sparse.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP,
		.sparse.header.version = 1,
		.sparse.nr_areas = 1,
		.area.offset = VFIO_MIG_HDR_PAGE,
		.area.size = core->cfg.data_size,
	};
	int ret;

	ret = vfio_info_add_capability(caps, &cap_type.header,
				       sizeof(cap_type));
	if (ret || !core->cfg.mmap)
		return ret;
	return vfio_info_add_capability(caps, &sp.sparse.header, sizeof(sp));
}

/*
 * Map the data section from region offset @off on.  The mapping shows the
 * section's buffer, which lives as long as the device, so it stays valid
 * across state changes, reset and close.
 */
int vfio_mig_data_mmap(struct vfio_mig_core *core, u64 off,
		       struct vm_area_struct *vma)
{
	u64 len = vma->vm_end - vma->vm_start, end;

	if (off < VFIO_MIG_HDR_PAGE || check_add_overflow(off, len, &end) ||
	    end > vfio_mig_region_size(core))
		return -EINVAL;
	vfio_mig_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYEXEC);
	return remap_vmalloc_range(vma, core->data,
				   (off - VFIO_MIG_HDR_PAGE) >> PAGE_SHIFT);
}
