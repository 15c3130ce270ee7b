// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the vfio-mig region front-end, the seed protocol: the
 * region's header, its state machine, and the dirty-pfn queries, over the
 * session core (vfio_mig_session.c).
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
 * core->lock (the state lock) is held across every action and every
 * transition; the driver ops called from here take the driver's lock
 * inside it.  No user memory is touched here but through the session's
 * data-section copy: the access path copies header results through a
 * bounce buffer, holding only core->access_lock, and then calls
 * region_finish() to commit the read or, if the copy of its result
 * failed, undo it.
 */

#include <linux/mm.h>

#include "vfio_mig_priv.h"

#define S(x)	BIT(VFIO_MIG_STATE_##x)

static bool saving(u32 state)
{
	return state == VFIO_MIG_STATE_SETUP ||
	       state == VFIO_MIG_STATE_PRECOPY ||
	       state == VFIO_MIG_STATE_STOPNCOPY;
}

/* Allowed arcs: from-state -> mask of to-states (self arcs are no-ops). */
static const u16 region_arcs[VFIO_MIG_NUM_STATES] = {
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

/* A new session: clear the header's fields but the stored threshold. */
static void reset_info(struct vfio_mig_core *core)
{
	u64 threshold = core->region.info.pending.threshold_size;

	memset(&core->region.info, 0, sizeof(core->region.info));
	core->region.info.pending.threshold_size = threshold;
	core->region.info.data.offset = VFIO_MIG_HDR_PAGE;
	core->region.query = false;
	core->region.query_done = 0;
}

static int set_state(struct vfio_mig_core *core, u32 new)
{
	u32 old = core->region.state;
	bool fresh;
	int ret;

	lockdep_assert_held(&core->lock);
	if (new >= VFIO_MIG_NUM_STATES)
		return -EINVAL;
	if (new == old)
		return 0;
	if (!(region_arcs[old] & BIT(new)))
		return -EINVAL;

	switch (new) {
	case VFIO_MIG_STATE_NONE:
	case VFIO_MIG_STATE_RUNNING:
		/* Abandon a save session; the device's state is intact. */
		vfio_mig_save_drop(core);
		vfio_mig_unquiesce(core);
		break;
	case VFIO_MIG_STATE_SETUP:
		ret = vfio_mig_save_start(core);
		if (ret)
			return ret;
		reset_info(core);
		vfio_mig_unquiesce(core);
		break;
	case VFIO_MIG_STATE_PRECOPY:
		break;
	case VFIO_MIG_STATE_STOPNCOPY:
		fresh = !core->save;
		ret = vfio_mig_stop_copy(core);
		if (ret)
			return ret;
		if (fresh)
			reset_info(core);
		break;
	case VFIO_MIG_STATE_SAVE_COMPLETED:
		vfio_mig_save_drop(core);
		break;
	case VFIO_MIG_STATE_RESUME:
		ret = vfio_mig_resume_start(core);
		if (ret)
			return ret;
		reset_info(core);
		vfio_mig_quiesce(core);
		break;
	case VFIO_MIG_STATE_RESUME_COMPLETED:
		ret = vfio_mig_resume_finish(core);
		if (ret)
			return ret;
		break;
	case VFIO_MIG_STATE_FAILED:
	case VFIO_MIG_STATE_CANCELLED:
		if (old == VFIO_MIG_STATE_RESUME ||
		    old == VFIO_MIG_STATE_RESUME_COMPLETED) {
			/* Nothing of a dropped stream stays: power-on state. */
			vfio_mig_resume_fail(core);
		} else {
			vfio_mig_save_drop(core);
		}
		vfio_mig_unquiesce(core);
		break;
	}
	core->region.state = new;
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

static void fill_pending(struct vfio_mig_core *core)
{
	u64 pre = 0, post = 0;

	if (saving(core->region.state))
		vfio_mig_save_pending(core, &pre, &post);
	core->region.info.pending.precopy_only = pre;
	core->region.info.pending.compatible = 0;
	core->region.info.pending.postcopy_only = post;
}

/*
 * Get buffer: build the next chunk in the stage, published into the data
 * section once the result reached the user; only in the save states.
 */
static int get_buffer(struct vfio_mig_core *core)
{
	struct vfio_mig_region_fe *fe = &core->region;

	if (!saving(fe->state))
		return -EINVAL;
	fe->info.data.offset = VFIO_MIG_HDR_PAGE;
	/* In SETUP nothing is due yet. */
	if (fe->state == VFIO_MIG_STATE_SETUP) {
		fe->info.data.size = 0;
		return 0;
	}
	fe->info.data.size = vfio_mig_save_chunk(core, core->stage,
						 core->cfg.data_size);
	fe->rd.chunk = true;
	fe->rd.publish = fe->info.data.size;
	return 0;
}

/* The first pfn of the query's next chunk. */
static u64 query_next(struct vfio_mig_region_fe *fe)
{
	return (fe->info.dirty_pfns.start_addr >> PAGE_SHIFT) + fe->query_done;
}

/*
 * Get dirty pfns: the query's next chunk, built at the start of the stage
 * and cleared from the session log; copied is the number of pfns it
 * covers, 0 once the query is complete.
 */
static int get_dirty(struct vfio_mig_core *core)
{
	u64 max = (core->cfg.data_size - sizeof(u64)) * BITS_PER_BYTE;
	struct vfio_mig_region_fe *fe = &core->region;
	u64 n;
	int ret;

	if (!saving(fe->state) || !fe->query)
		return -EINVAL;
	n = min(fe->info.dirty_pfns.total - fe->query_done, max);
	/* The pfn range cannot overflow: set_query() checked it. */
	ret = n ? vfio_mig_session_log_take(core, query_next(fe), n,
					    core->stage) : 0;
	if (ret)
		return ret;
	fe->undo.query = true;
	fe->undo.query_done = fe->query_done;
	fe->query_done += n;
	fe->info.dirty_pfns.copied = n;
	fe->rd.publish = DIV_ROUND_UP(n, 64) * sizeof(u64);
	return 0;
}

static int hdr_read(struct vfio_mig_core *core, u64 off, void *buf,
		    size_t count)
{
	struct vfio_mig_info *info = &core->region.info;
	int ret = 0;

	lockdep_assert_held(&core->lock);
	/* Enough to take this read back if its result cannot be copied out. */
	vfio_mig_read_begin(core, &core->region.rd);
	core->region.undo.query = false;
	core->region.undo.info = core->region.info;

	switch (VFIO_MIG_KEY(off, count)) {
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DEVICE_STATE, 4):
		info->device_state = core->region.state;
		break;
	case VFIO_MIG_KEY(VFIO_MIG_OFF_PENDING, VFIO_MIG_PENDING_SIZE):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_PRECOPY_ONLY, 8):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_COMPATIBLE, 8):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_POSTCOPY_ONLY, 8):
		fill_pending(core);
		break;
	case VFIO_MIG_KEY(VFIO_MIG_OFF_THRESHOLD_SIZE, 8):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DATA_OFFSET, 8):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_START_ADDR, 8):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_TOTAL, 8):
		break;
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DATA, VFIO_MIG_DATA_SIZE):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DATA_SIZE, 8):
		ret = get_buffer(core);
		break;
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_PFNS, VFIO_MIG_DIRTY_PFNS_SIZE):
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_COPIED, 8):
		ret = get_dirty(core);
		break;
	default:
		return -EINVAL;
	}
	if (!ret)
		memcpy(buf, (u8 *)info + off, count);
	return ret;
}

static bool in_section(struct vfio_mig_core *core, u64 off, u64 size)
{
	u64 end;

	return off >= VFIO_MIG_HDR_PAGE &&
	       !check_add_overflow(off, size, &end) &&
	       end <= vfio_mig_region_size(core);
}

/* Set buffer: hand @size bytes at @off to the resume stream. */
static int set_buffer(struct vfio_mig_core *core, u64 off, u64 size)
{
	int ret;

	if (core->region.state != VFIO_MIG_STATE_RESUME ||
	    !in_section(core, off, size))
		return -EINVAL;
	/* Even size 0 fails once the stream was refused. */
	ret = vfio_mig_resume_feed(core, (const u8 *)core->data +
				   (off - VFIO_MIG_HDR_PAGE), size);
	if (ret)
		return ret;
	core->region.info.data.offset = off;
	core->region.info.data.size = size;
	return 0;
}

/* Set up a dirty-pfn query: page-aligned start, total >= 1, no overflow. */
static int set_query(struct vfio_mig_core *core, u64 start, u64 total)
{
	u64 pages_left = (U64_MAX >> PAGE_SHIFT) - (start >> PAGE_SHIFT) + 1;

	if (!saving(core->region.state) || offset_in_page(start) ||
	    !total || total > pages_left)
		return -EINVAL;
	core->region.info.dirty_pfns.start_addr = start;
	core->region.info.dirty_pfns.total = total;
	core->region.info.dirty_pfns.copied = 0;
	core->region.query = true;
	core->region.query_done = 0;
	return 0;
}

static int hdr_write(struct vfio_mig_core *core, u64 off, const void *buf,
		     size_t count)
{
	struct vfio_mig_info *info = &core->region.info;
	u32 state;

	switch (VFIO_MIG_KEY(off, count)) {
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DEVICE_STATE, 4):
		memcpy(&state, buf, sizeof(state));
		return set_state(core, state);
	case VFIO_MIG_KEY(VFIO_MIG_OFF_THRESHOLD_SIZE, 8):
		info->pending.threshold_size = get_u64(buf);
		return 0;
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DATA, VFIO_MIG_DATA_SIZE):
		return set_buffer(core, get_u64(buf), get_u64(buf + 8));
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DATA_OFFSET, 8):
		if (core->region.state != VFIO_MIG_STATE_RESUME ||
		    !in_section(core, get_u64(buf), 0))
			return -EINVAL;
		info->data.offset = get_u64(buf);
		return 0;
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DATA_SIZE, 8):
		return set_buffer(core, info->data.offset, get_u64(buf));
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_PFNS, VFIO_MIG_DIRTY_PFNS_SIZE):
		return set_query(core, get_u64(buf), get_u64(buf + 8));
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_START_ADDR, 8):
		if (!saving(core->region.state) ||
		    offset_in_page(get_u64(buf)))
			return -EINVAL;
		/* A new start invalidates the query until total is written. */
		info->dirty_pfns.start_addr = get_u64(buf);
		info->dirty_pfns.total = 0;
		core->region.query = false;
		return 0;
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_TOTAL, 8):
		return set_query(core, info->dirty_pfns.start_addr,
				 get_u64(buf));
	case VFIO_MIG_KEY(VFIO_MIG_OFF_DIRTY_COPIED, 8):
		return 0;	/* read-only; writes are ignored */
	}
	return -EINVAL;
}

/*
 * Region callbacks.  The header page is trapped; the data section is
 * served directly by the session core (vfio_mig_data_rw()).
 */
static int region_read(struct vfio_mig_device *mig, unsigned int index,
		       u64 off, void *buf, size_t count)
{
	struct vfio_mig_core *core = mig->core;
	int ret;

	if (off >= VFIO_MIG_INFO_SIZE) {
		/* The gap up to the data section reads as zeros. */
		memset(buf, 0, count);
		return 0;
	}
	mutex_lock(&core->lock);
	ret = hdr_read(core, off, buf, count);
	mutex_unlock(&core->lock);
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
static void region_finish(struct vfio_mig_device *mig, unsigned int index,
			  u64 off, size_t count, bool copied)
{
	struct vfio_mig_core *core = mig->core;
	struct vfio_mig_region_fe *fe = &core->region;

	if (off >= VFIO_MIG_INFO_SIZE)
		return;
	mutex_lock(&core->lock);
	if (vfio_mig_read_end(core, &fe->rd, copied)) {
		if (fe->undo.query) {
			vfio_mig_session_log_put(core,
				(fe->info.dirty_pfns.start_addr >> PAGE_SHIFT) +
				fe->undo.query_done,
				fe->query_done - fe->undo.query_done,
				core->stage);
			fe->query_done = fe->undo.query_done;
		}
		fe->info = fe->undo.info;
	}
	mutex_unlock(&core->lock);
}

static int region_write(struct vfio_mig_device *mig, unsigned int index,
			u64 off, const void *buf, size_t count)
{
	struct vfio_mig_core *core = mig->core;
	int ret;

	if (off >= VFIO_MIG_INFO_SIZE)
		return -EINVAL;
	mutex_lock(&core->lock);
	ret = vfio_mig_claim(core, VFIO_MIG_OWNER_REGION);
	if (!ret)
		ret = hdr_write(core, off, buf, count);
	vfio_mig_release(core, true);
	mutex_unlock(&core->lock);
	return ret;
}

static ssize_t region_direct(struct vfio_mig_device *mig, unsigned int index,
			     u64 off, char __user *buf, size_t count,
			     bool write)
{
	return vfio_mig_data_rw(mig->core, VFIO_MIG_OWNER_REGION, off, buf,
				count, write);
}

static int region_caps(struct vfio_mig_device *mig, unsigned int index,
		       struct vfio_info_cap *caps)
{
	return vfio_mig_data_caps(mig->core, VFIO_MIG_REGION_TYPE,
				  VFIO_MIG_REGION_SUBTYPE, caps);
}

static int region_mmap(struct vfio_mig_device *mig, unsigned int index,
		       u64 off, struct vm_area_struct *vma)
{
	return vfio_mig_data_mmap(mig->core, off, vma);
}

/* Describe the vfio-mig region for the device's region table. */
void vfio_mig_region_setup(struct vfio_mig_core *core,
			   struct vfio_mig_region *r)
{
	*r = (struct vfio_mig_region) {
		.size = vfio_mig_region_size(core),
		.flags = VFIO_REGION_INFO_FLAG_READ |
			 VFIO_REGION_INFO_FLAG_WRITE |
			 (core->cfg.mmap ? VFIO_REGION_INFO_FLAG_MMAP : 0),
		.widths = VFIO_MIG_ANY_LENGTH,
		.read = region_read,
		.write = region_write,
		.finish = region_finish,
		.direct_off = VFIO_MIG_HDR_PAGE,
		.direct = region_direct,
		.caps = region_caps,
		.mmap = region_mmap,
	};
	core->region.state = VFIO_MIG_STATE_NONE;
	core->region.info.data.offset = VFIO_MIG_HDR_PAGE;
}

/* Device-wide reset and close: back to NONE, every field cleared. */
void vfio_mig_region_abort(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	core->region.state = VFIO_MIG_STATE_NONE;
	reset_info(core);
	core->region.info.pending.threshold_size = 0;
}
