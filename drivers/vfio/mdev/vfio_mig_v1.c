// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the upstream v1 migration region (Linux 5.8 uAPI,
 * struct vfio_device_migration_info; region type 3, subtype 1), the
 * protocol QEMU 5.2 to 7.2 speak with x-enable-migration=on.
 *
 * The v1 front-end maps the v1 device_state bits onto the engine's session
 * core (the same save and resume sessions, stream, data section buffer and
 * dirty logs the vfio-mig region uses).  QEMU 7.2 crashes when a plain
 * RUNNING/STOP write or the final RESUMING -> RUNNING write fails, so
 * those never fail; a bad stream is refused where QEMU can fail the load
 * cleanly: on the data_size write that hands it over.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * mig->lock is held across every header access and transition, as in
 * vfio_mig_region.c; the engine's access path copies results out holding
 * only mig->access_lock and calls vfio_mig_v1_finish() to commit or undo.
 * The data section is served by the access path with no lock held.
 */

#include <linux/vfio.h>

#include "vfio_mig_priv.h"

#define V1_RUNNING	VFIO_DEVICE_STATE_V1_RUNNING
#define V1_SAVING	VFIO_DEVICE_STATE_V1_SAVING
#define V1_RESUMING	VFIO_DEVICE_STATE_V1_RESUMING
#define V1_MASK		VFIO_DEVICE_STATE_MASK

#define V1_OFF(field)	offsetof(struct vfio_device_migration_info, field)

/* Valid v1 encodings: 0-4 (5, 7 are invalid and 6 is the error state). */
static bool v1_valid(u32 s)
{
	return !(s & ~V1_MASK) && s <= V1_RESUMING;
}

/* Enter stop-and-copy: quiesce and serialise the stop-time state. */
static int v1_stop_copy(struct vfio_mig_device *mig, bool was_running)
{
	bool fresh = !mig->save;
	int ret;

	if (fresh) {
		ret = vfio_mig_save_start(mig);
		if (ret)
			return ret;
	}
	vfio_mig_quiesce(mig);
	ret = vfio_mig_save_stop(mig);
	if (ret) {
		if (fresh)
			vfio_mig_save_drop(mig);
		if (was_running)
			vfio_mig_unquiesce(mig);
		return ret;
	}
	return 0;
}

/*
 * RESUMING -> stopped or running.  A complete, valid stream is applied.
 * Anything else cannot be refused here (QEMU 7.2 dereferences NULL when
 * this write fails), so nothing of the stream is applied and the device
 * returns to its power-on state, which is what the destination had.
 */
static void v1_end_resume(struct vfio_mig_device *mig)
{
	if (vfio_mig_resume_finish(mig)) {
		vfio_mig_resume_drop(mig);
		mig->cfg.ops->reset(mig);
		pr_warn_ratelimited("vfio-mig: v1 resume left with an incomplete stream; device reset\n");
	}
}

static int v1_transition(struct vfio_mig_device *mig, u32 new)
{
	u32 old = mig->v1.state;
	int ret;

	lockdep_assert_held(&mig->lock);
	if (!v1_valid(new))
		return -EINVAL;
	if (new == old)
		return 0;

	if (old == V1_RESUMING) {
		if (new & V1_SAVING)
			return -EINVAL;
		v1_end_resume(mig);
	} else if (new == V1_RESUMING) {
		if (old & V1_SAVING)
			return -EINVAL;
		ret = vfio_mig_resume_start(mig);
		if (ret)
			return ret;
		vfio_mig_quiesce(mig);
		mig->v1.data_size = 0;
		mig->v1.state = new;
		return 0;
	} else if (new & V1_SAVING) {
		/* 1->3, 0->3 pre-copy; 1->2, 0->2, 3->2 stop-and-copy. */
		if (old == V1_SAVING)
			return -EINVAL;	/* back from stop-and-copy */
		if (new & V1_RUNNING) {
			ret = vfio_mig_save_start(mig);
			if (ret)
				return ret;
		} else {
			ret = v1_stop_copy(mig, old & V1_RUNNING);
			if (ret)
				return ret;
		}
		mig->v1.state = new;
		if (new & V1_RUNNING)
			vfio_mig_unquiesce(mig);
		return 0;
	} else if (old & V1_SAVING) {
		/* Leaving the save session: the device keeps its state. */
		vfio_mig_save_drop(mig);
	}

	/* Plain RUNNING/STOP: never fails. */
	if (new & V1_RUNNING)
		vfio_mig_unquiesce(mig);
	else
		vfio_mig_quiesce(mig);
	mig->v1.state = new;
	return 0;
}

/* A failed write changes nothing; any other consumes a handed-out chunk. */
static int v1_set_state(struct vfio_mig_device *mig, u32 new)
{
	int ret = v1_transition(mig, new);

	if (!ret)
		mig->v1.staged = false;
	return ret;
}

static u64 v1_pending(struct vfio_mig_device *mig)
{
	u64 pre, post;

	/* Reading pending_bytes marks a handed-out chunk consumed. */
	mig->v1.staged = false;
	if (!(mig->v1.state & V1_SAVING))
		return 0;
	vfio_mig_save_pending(mig, &pre, &post);
	/* In pre-copy only what a chunk would carry now counts. */
	return mig->v1.state & V1_RUNNING ? pre : pre + post;
}

/*
 * data_offset or data_size read while saving: stage the next chunk, built
 * in the stage and published into the data section once the read's
 * result reached the user.
 */
static void v1_stage(struct vfio_mig_device *mig)
{
	if ((mig->v1.state & V1_SAVING) && !mig->v1.staged) {
		mig->v1.data_size = vfio_mig_save_chunk(mig, mig->stage,
							 mig->cfg.data_size);
		mig->v1.staged = true;
		mig->undo.chunk = true;
		mig->undo.publish = mig->v1.data_size;
	}
}

static int v1_hdr_read(struct vfio_mig_device *mig, u64 off, void *buf,
		       size_t count)
{
	u64 v;

	lockdep_assert_held(&mig->lock);
	/* Enough to take this read back if its result cannot be copied out. */
	mig->undo.gen = mig->gen;
	mig->undo.chunk = false;
	mig->undo.publish = 0;
	mig->undo.v1_staged = mig->v1.staged;
	mig->undo.v1_data_size = mig->v1.data_size;

	switch (off | (u64)count << 32) {
	case V1_OFF(device_state) | 4ULL << 32:
		memcpy(buf, &mig->v1.state, 4);
		return 0;
	case V1_OFF(reserved) | 4ULL << 32:
		memset(buf, 0, 4);
		return 0;
	case V1_OFF(pending_bytes) | 8ULL << 32:
		v = v1_pending(mig);
		break;
	case V1_OFF(data_offset) | 8ULL << 32:
		v1_stage(mig);
		v = VFIO_MIG_HDR_PAGE;
		break;
	case V1_OFF(data_size) | 8ULL << 32:
		v1_stage(mig);
		v = mig->v1.data_size;
		break;
	default:
		return -EINVAL;
	}
	memcpy(buf, &v, 8);
	return 0;
}

static int v1_hdr_write(struct vfio_mig_device *mig, u64 off,
			const void *buf, size_t count)
{
	u32 state;
	u64 size;
	int ret;

	switch (off | (u64)count << 32) {
	case V1_OFF(device_state) | 4ULL << 32:
		memcpy(&state, buf, 4);
		return v1_set_state(mig, state);
	case V1_OFF(reserved) | 4ULL << 32:
		return 0;
	case V1_OFF(data_size) | 8ULL << 32:
		/* The bytes at data_offset are the next part of the stream. */
		memcpy(&size, buf, 8);
		if (mig->v1.state != V1_RESUMING || size > mig->cfg.data_size)
			return -EINVAL;
		/* Even size 0 fails once the stream was refused. */
		ret = vfio_mig_resume_feed(mig, mig->data, size);
		if (!ret)
			mig->v1.data_size = size;
		return ret;
	}
	return -EINVAL;
}

/* Region callbacks for the v1 header page. */
int vfio_mig_v1_read(struct vfio_mig_device *mig, unsigned int index,
		     u64 off, void *buf, size_t count)
{
	int ret;

	if (off + count > sizeof(struct vfio_device_migration_info))
		return -EINVAL;
	mutex_lock(&mig->lock);
	ret = v1_hdr_read(mig, off, buf, count);
	mutex_unlock(&mig->lock);
	return ret;
}

/*
 * A header read's result reached the user: publish the chunk it staged.
 * Or it could not be copied out: take the read back, the data section
 * untouched.
 */
void vfio_mig_v1_finish(struct vfio_mig_device *mig, unsigned int index,
			u64 off, size_t count, bool copied)
{
	mutex_lock(&mig->lock);
	if (mig->undo.gen == mig->gen) {
		if (copied) {
			memcpy(mig->data, mig->stage, mig->undo.publish);
		} else {
			if (mig->undo.chunk)
				vfio_mig_save_unchunk(mig);
			mig->v1.staged = mig->undo.v1_staged;
			mig->v1.data_size = mig->undo.v1_data_size;
		}
	}
	mutex_unlock(&mig->lock);
}

int vfio_mig_v1_write(struct vfio_mig_device *mig, unsigned int index,
		      u64 off, const void *buf, size_t count)
{
	int ret;

	if (off + count > sizeof(struct vfio_device_migration_info))
		return -EINVAL;
	mutex_lock(&mig->lock);
	ret = vfio_mig_claim(mig, VFIO_MIG_OWNER_V1);
	if (!ret)
		ret = v1_hdr_write(mig, off, buf, count);
	vfio_mig_release(mig, mig->v1.state == V1_RUNNING);
	mutex_unlock(&mig->lock);
	return ret;
}

/* Called on abort (reset, close): v1 returns to its default, running. */
void vfio_mig_v1_reset(struct vfio_mig_device *mig)
{
	lockdep_assert_held(&mig->lock);
	mig->v1.state = V1_RUNNING;
	mig->v1.staged = false;
	mig->v1.data_size = 0;
}
