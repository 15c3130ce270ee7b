// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the migration region's header and the state machine.
 *
 * The header (struct vfio_mig_info) is reached only through trapped
 * accesses of exactly one field or one sub-struct.  Each access is decoded
 * to one action (Documentation/vfio-migration.rst, "Actions"), carried out
 * under the state lock, and either succeeds completely or returns -errno
 * with nothing changed.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * mig->lock (the state lock) is held across every action and every
 * transition; the driver ops called from here take the driver's lock
 * inside it.  No user memory is touched here: the engine's access path
 * copies through a bounce buffer, holding only mig->access_lock, and then
 * calls vfio_mig_region_finish() to commit the read or, if the copy of its
 * result failed, undo it.
 */

#include <linux/mm.h>

#include "vfio_mig_priv.h"

#define S(x)	BIT(VFIO_MIG_STATE_##x)

/* Allowed arcs: from-state -> mask of to-states (self arcs are no-ops). */
static const u16 vfio_mig_arcs[VFIO_MIG_NUM_STATES] = {
	[VFIO_MIG_STATE_NONE] = S(RUNNING) | S(SETUP) | S(STOPNCOPY) |
				S(RESUME),
	[VFIO_MIG_STATE_RUNNING] = S(RUNNING) | S(SETUP) | S(STOPNCOPY) |
				   S(RESUME),
	[VFIO_MIG_STATE_SETUP] = S(PRECOPY) | S(STOPNCOPY) | S(RUNNING) |
				 S(FAILED) | S(CANCELLED),
	[VFIO_MIG_STATE_PRECOPY] = S(STOPNCOPY) | S(RUNNING) | S(FAILED) |
				   S(CANCELLED),
	[VFIO_MIG_STATE_STOPNCOPY] = S(SAVE_COMPLETED) | S(RUNNING) |
				     S(FAILED) | S(CANCELLED),
	[VFIO_MIG_STATE_SAVE_COMPLETED] = S(RUNNING) | S(NONE) | S(SETUP) |
					  S(FAILED) | S(CANCELLED),
	[VFIO_MIG_STATE_RESUME] = S(RESUME_COMPLETED) | S(FAILED) |
				  S(CANCELLED),
	[VFIO_MIG_STATE_RESUME_COMPLETED] = S(RUNNING) | S(FAILED),
	[VFIO_MIG_STATE_FAILED] = S(RUNNING) | S(NONE) | S(SETUP) | S(RESUME),
	[VFIO_MIG_STATE_CANCELLED] = S(RUNNING) | S(NONE) | S(SETUP) |
				     S(RESUME),
};

void vfio_mig_quiesce(struct vfio_mig_device *mig)
{
	lockdep_assert_held(&mig->lock);
	if (!mig->quiesced) {
		mig->cfg.ops->quiesce(mig);
		mig->quiesced = true;
	}
}

void vfio_mig_unquiesce(struct vfio_mig_device *mig)
{
	lockdep_assert_held(&mig->lock);
	if (mig->quiesced) {
		mig->quiesced = false;
		mig->cfg.ops->unquiesce(mig);
	}
}

/*
 * One front-end owns the session core at a time: it claims it before an
 * access that may start a session, and releases it once it is idle again
 * (no session, device not stopped).  Another front-end's state-changing
 * accesses meanwhile get -EBUSY.
 */
int vfio_mig_claim(struct vfio_mig_device *mig, enum vfio_mig_owner who)
{
	lockdep_assert_held(&mig->lock);
	if (mig->owner != VFIO_MIG_OWNER_NONE && mig->owner != who)
		return -EBUSY;
	mig->owner = who;
	return 0;
}

void vfio_mig_release(struct vfio_mig_device *mig, bool idle)
{
	lockdep_assert_held(&mig->lock);
	if (idle && !mig->save && !mig->resume && !mig->quiesced)
		mig->owner = VFIO_MIG_OWNER_NONE;
}

/* A new session: clear the header's fields but the stored threshold. */
static void reset_info(struct vfio_mig_device *mig)
{
	u64 threshold = mig->info.pending.threshold_size;

	memset(&mig->info, 0, sizeof(mig->info));
	mig->info.pending.threshold_size = threshold;
	mig->info.data.offset = VFIO_MIG_HDR_PAGE;
	mig->query = false;
	mig->query_done = 0;
}

/*
 * Drop any session, let the device run and return to NONE.  Used by reset
 * and close: the device keeps (reset) or loses (close) its state as the
 * driver decides; the engine only makes sure nothing is left half done.
 */
static void vfio_mig_abort_locked(struct vfio_mig_device *mig)
{
	lockdep_assert_held(&mig->lock);
	vfio_mig_save_drop(mig);
	vfio_mig_resume_drop(mig);
	vfio_mig_unquiesce(mig);
	mig->state = VFIO_MIG_STATE_NONE;
	vfio_mig_v1_reset(mig);
	vfio_mig_v2_reset(mig);
	/* v2 DMA logging does not outlive the open either. */
	vfio_mig_v2_log_stop(mig);
	mig->owner = VFIO_MIG_OWNER_NONE;
	mig->gen++;
	reset_info(mig);
	mig->info.pending.threshold_size = 0;
	memset(mig->data, 0, mig->cfg.data_size);
}

static int set_state(struct vfio_mig_device *mig, u32 new)
{
	u32 old = mig->state;
	bool fresh = false;
	int ret;

	lockdep_assert_held(&mig->lock);
	if (new >= VFIO_MIG_NUM_STATES)
		return -EINVAL;
	if (new == old)
		return 0;
	if (!(vfio_mig_arcs[old] & BIT(new)))
		return -EINVAL;

	switch (new) {
	case VFIO_MIG_STATE_NONE:
	case VFIO_MIG_STATE_RUNNING:
		/* Abandon a save session; the device's state is intact. */
		vfio_mig_save_drop(mig);
		vfio_mig_unquiesce(mig);
		break;
	case VFIO_MIG_STATE_SETUP:
		ret = vfio_mig_save_start(mig);
		if (ret)
			return ret;
		reset_info(mig);
		vfio_mig_unquiesce(mig);
		break;
	case VFIO_MIG_STATE_PRECOPY:
		break;
	case VFIO_MIG_STATE_STOPNCOPY:
		if (!mig->save) {
			ret = vfio_mig_save_start(mig);
			if (ret)
				return ret;
			fresh = true;
		}
		vfio_mig_quiesce(mig);
		ret = vfio_mig_save_stop(mig);
		if (ret) {
			vfio_mig_unquiesce(mig);
			if (fresh)
				vfio_mig_save_drop(mig);
			return ret;
		}
		if (fresh)
			reset_info(mig);
		break;
	case VFIO_MIG_STATE_SAVE_COMPLETED:
		vfio_mig_save_drop(mig);
		break;
	case VFIO_MIG_STATE_RESUME:
		ret = vfio_mig_resume_start(mig);
		if (ret)
			return ret;
		reset_info(mig);
		vfio_mig_quiesce(mig);
		break;
	case VFIO_MIG_STATE_RESUME_COMPLETED:
		ret = vfio_mig_resume_finish(mig);
		if (ret)
			return ret;
		break;
	case VFIO_MIG_STATE_FAILED:
	case VFIO_MIG_STATE_CANCELLED:
		if (old == VFIO_MIG_STATE_RESUME ||
		    old == VFIO_MIG_STATE_RESUME_COMPLETED) {
			/* Nothing of a dropped stream stays: power-on state. */
			vfio_mig_resume_drop(mig);
			mig->cfg.ops->reset(mig);
		} else {
			vfio_mig_save_drop(mig);
		}
		vfio_mig_unquiesce(mig);
		break;
	}
	mig->state = new;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Header accesses */

static u64 get_u64(const void *buf)
{
	u64 v;

	memcpy(&v, buf, sizeof(v));
	return v;
}

static void fill_pending(struct vfio_mig_device *mig)
{
	u64 pre = 0, post = 0;

	if (vfio_mig_saving(mig->state))
		vfio_mig_save_pending(mig, &pre, &post);
	mig->info.pending.precopy_only = pre;
	mig->info.pending.compatible = 0;
	mig->info.pending.postcopy_only = post;
}

/*
 * Get buffer: build the next chunk in the stage, published into the data
 * section once the result reached the user; only in the save states.
 */
static int get_buffer(struct vfio_mig_device *mig)
{
	if (!vfio_mig_saving(mig->state))
		return -EINVAL;
	mig->info.data.offset = VFIO_MIG_HDR_PAGE;
	/* In SETUP nothing is due yet. */
	if (mig->state == VFIO_MIG_STATE_SETUP) {
		mig->info.data.size = 0;
		return 0;
	}
	mig->info.data.size = vfio_mig_save_chunk(mig, mig->stage,
						  mig->cfg.data_size);
	mig->undo.chunk = true;
	mig->undo.publish = mig->info.data.size;
	return 0;
}

static int get_dirty(struct vfio_mig_device *mig)
{
	u64 copied, done = mig->query_done;
	int ret;

	if (!vfio_mig_saving(mig->state))
		return -EINVAL;
	ret = vfio_mig_query_chunk(mig, &copied);
	if (ret)
		return ret;
	mig->info.dirty_pfns.copied = copied;
	mig->undo.query = true;
	mig->undo.query_done = done;
	mig->undo.publish = DIV_ROUND_UP(copied, 64) * sizeof(u64);
	return 0;
}

static int hdr_read(struct vfio_mig_device *mig, u64 off, void *buf,
		    size_t count)
{
	struct vfio_mig_info *info = &mig->info;
	int ret = 0;

	lockdep_assert_held(&mig->lock);
	/* Enough to take this read back if its result cannot be copied out. */
	mig->undo.gen = mig->gen;
	mig->undo.chunk = false;
	mig->undo.query = false;
	mig->undo.info = mig->info;
	mig->undo.publish = 0;

	switch (off | (u64)count << 32) {
	case VFIO_MIG_OFF_DEVICE_STATE | 4ULL << 32:
		info->device_state = mig->state;
		break;
	case VFIO_MIG_OFF_PENDING | (u64)VFIO_MIG_PENDING_SIZE << 32:
	case VFIO_MIG_OFF_PRECOPY_ONLY | 8ULL << 32:
	case VFIO_MIG_OFF_COMPATIBLE | 8ULL << 32:
	case VFIO_MIG_OFF_POSTCOPY_ONLY | 8ULL << 32:
		fill_pending(mig);
		break;
	case VFIO_MIG_OFF_THRESHOLD_SIZE | 8ULL << 32:
	case VFIO_MIG_OFF_DATA_OFFSET | 8ULL << 32:
	case VFIO_MIG_OFF_DIRTY_START_ADDR | 8ULL << 32:
	case VFIO_MIG_OFF_DIRTY_TOTAL | 8ULL << 32:
		break;
	case VFIO_MIG_OFF_DATA | (u64)VFIO_MIG_DATA_SIZE << 32:
	case VFIO_MIG_OFF_DATA_SIZE | 8ULL << 32:
		ret = get_buffer(mig);
		break;
	case VFIO_MIG_OFF_DIRTY_PFNS | (u64)VFIO_MIG_DIRTY_PFNS_SIZE << 32:
	case VFIO_MIG_OFF_DIRTY_COPIED | 8ULL << 32:
		ret = get_dirty(mig);
		break;
	default:
		return -EINVAL;
	}
	if (!ret)
		memcpy(buf, (u8 *)info + off, count);
	return ret;
}

static bool in_section(struct vfio_mig_device *mig, u64 off, u64 size)
{
	u64 end;

	return off >= VFIO_MIG_HDR_PAGE &&
	       !check_add_overflow(off, size, &end) &&
	       end <= vfio_mig_region_size(mig);
}

/* Set buffer: hand @size bytes at @off to the resume stream. */
static int set_buffer(struct vfio_mig_device *mig, u64 off, u64 size)
{
	int ret;

	if (mig->state != VFIO_MIG_STATE_RESUME || !in_section(mig, off, size))
		return -EINVAL;
	/* Even size 0 fails once the stream was refused. */
	ret = vfio_mig_resume_feed(mig, (const u8 *)mig->data +
				   (off - VFIO_MIG_HDR_PAGE), size);
	if (ret)
		return ret;
	mig->info.data.offset = off;
	mig->info.data.size = size;
	return 0;
}

/* Set up a dirty-pfn query: page-aligned start, total >= 1, no overflow. */
static int set_query(struct vfio_mig_device *mig, u64 start, u64 total)
{
	u64 pages_left = (U64_MAX >> PAGE_SHIFT) - (start >> PAGE_SHIFT) + 1;

	if (!vfio_mig_saving(mig->state) || offset_in_page(start) ||
	    !total || total > pages_left)
		return -EINVAL;
	mig->info.dirty_pfns.start_addr = start;
	mig->info.dirty_pfns.total = total;
	mig->info.dirty_pfns.copied = 0;
	mig->query = true;
	mig->query_done = 0;
	return 0;
}

static int hdr_write(struct vfio_mig_device *mig, u64 off, const void *buf,
		     size_t count)
{
	struct vfio_mig_info *info = &mig->info;
	u32 state;

	switch (off | (u64)count << 32) {
	case VFIO_MIG_OFF_DEVICE_STATE | 4ULL << 32:
		memcpy(&state, buf, sizeof(state));
		return set_state(mig, state);
	case VFIO_MIG_OFF_THRESHOLD_SIZE | 8ULL << 32:
		info->pending.threshold_size = get_u64(buf);
		return 0;
	case VFIO_MIG_OFF_DATA | (u64)VFIO_MIG_DATA_SIZE << 32:
		return set_buffer(mig, get_u64(buf), get_u64(buf + 8));
	case VFIO_MIG_OFF_DATA_OFFSET | 8ULL << 32:
		if (mig->state != VFIO_MIG_STATE_RESUME ||
		    !in_section(mig, get_u64(buf), 0))
			return -EINVAL;
		info->data.offset = get_u64(buf);
		return 0;
	case VFIO_MIG_OFF_DATA_SIZE | 8ULL << 32:
		return set_buffer(mig, info->data.offset, get_u64(buf));
	case VFIO_MIG_OFF_DIRTY_PFNS | (u64)VFIO_MIG_DIRTY_PFNS_SIZE << 32:
		return set_query(mig, get_u64(buf), get_u64(buf + 8));
	case VFIO_MIG_OFF_DIRTY_START_ADDR | 8ULL << 32:
		if (!vfio_mig_saving(mig->state) ||
		    offset_in_page(get_u64(buf)))
			return -EINVAL;
		/* A new start invalidates the query until total is written. */
		info->dirty_pfns.start_addr = get_u64(buf);
		info->dirty_pfns.total = 0;
		mig->query = false;
		return 0;
	case VFIO_MIG_OFF_DIRTY_TOTAL | 8ULL << 32:
		return set_query(mig, info->dirty_pfns.start_addr,
				 get_u64(buf));
	case VFIO_MIG_OFF_DIRTY_COPIED | 8ULL << 32:
		return 0;	/* read-only; writes are ignored */
	}
	return -EINVAL;
}

/*
 * Region callbacks for the header page.  The data section is served by the
 * engine's access path directly (vfio_mig_main.c).
 */
int vfio_mig_region_read(struct vfio_mig_device *mig, unsigned int index,
			 u64 off, void *buf, size_t count)
{
	int ret;

	if (off >= VFIO_MIG_INFO_SIZE) {
		/* The gap up to the data section reads as zeros. */
		if (off + count > VFIO_MIG_HDR_PAGE)
			return -EINVAL;
		memset(buf, 0, count);
		return 0;
	}
	mutex_lock(&mig->lock);
	ret = hdr_read(mig, off, buf, count);
	mutex_unlock(&mig->lock);
	return ret;
}

/*
 * The result of a header read reached the user (@copied): publish what it
 * built in the stage into the data section.  Or it could not be copied
 * out: take the read back (a Get buffer's chunk, a query's chunk, the
 * stored fields), so the data section is untouched and the next read
 * produces the same result.  Nothing to do once a session started or
 * ended in between (a reset).
 */
void vfio_mig_region_finish(struct vfio_mig_device *mig, unsigned int index,
			    u64 off, size_t count, bool copied)
{
	mutex_lock(&mig->lock);
	if (mig->undo.gen == mig->gen && off < VFIO_MIG_INFO_SIZE) {
		if (copied) {
			memcpy(mig->data, mig->stage, mig->undo.publish);
		} else {
			if (mig->undo.chunk)
				vfio_mig_save_unchunk(mig);
			if (mig->undo.query)
				vfio_mig_query_undo(mig, mig->undo.query_done);
			mig->info = mig->undo.info;
		}
	}
	mutex_unlock(&mig->lock);
}

int vfio_mig_region_write(struct vfio_mig_device *mig, unsigned int index,
			  u64 off, const void *buf, size_t count)
{
	int ret;

	if (off >= VFIO_MIG_INFO_SIZE)
		return -EINVAL;
	mutex_lock(&mig->lock);
	ret = vfio_mig_claim(mig, VFIO_MIG_OWNER_REGION);
	if (!ret)
		ret = hdr_write(mig, off, buf, count);
	vfio_mig_release(mig, true);
	mutex_unlock(&mig->lock);
	return ret;
}

/**
 * vfio_mig_reset() - abort any migration session
 * @mig: the device
 *
 * For VFIO_DEVICE_RESET, open_device and close_device: drops a save or
 * resume session of every front-end, stops v2 DMA logging, lets the device
 * run, returns the region to state NONE, and cuts every v2 data file off
 * the device (they answer -ENODEV from then on).  Call it before resetting
 * the device itself, without holding the driver's lock.
 */
void vfio_mig_reset(struct vfio_mig_device *mig)
{
	if (!mig->mig_index)
		return;
	mutex_lock(&mig->lock);
	vfio_mig_abort_locked(mig);
	mutex_unlock(&mig->lock);
	vfio_mig_v2_cut_off(mig);
}
EXPORT_SYMBOL_GPL(vfio_mig_reset);
