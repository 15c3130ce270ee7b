// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the upstream v1 migration region (Linux 5.8 uAPI,
 * struct vfio_device_migration_info; region type 3, subtype 1), the
 * protocol QEMU 5.2 to 7.2 speak with x-enable-migration=on.
 *
 * The v1 front-end maps the v1 device_state bits onto the engine's session
 * core (vfio_mig_session.c: the same save and resume sessions, stream,
 * data section and stop-and-copy routine the vfio-mig region uses).
 * QEMU 7.2 crashes when a plain RUNNING/STOP write or the final
 * RESUMING -> RUNNING write fails, so those never fail; a bad stream is refused where QEMU can fail the load
 * cleanly: on the data_size write that hands it over.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * core->lock is held across every header access and transition, as in
 * vfio_mig_region.c; the engine's access path copies results out holding
 * only core->access_lock and calls v1_finish() to commit or undo.  The
 * data section is served by the session core with no lock held.
 */

#include <linux/vfio.h>
#include <linux/vfio_mig_compat.h>

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

/*
 * RESUMING -> stopped or running.  A complete, valid stream is applied.
 * Anything else cannot be refused here (QEMU 7.2 dereferences NULL when
 * this write fails), so nothing of the stream is applied and the device
 * returns to its power-on state, which is what the destination had.
 */
static void v1_end_resume(struct vfio_mig_core *core)
{
	if (vfio_mig_resume_finish(core)) {
		vfio_mig_resume_fail(core);
		dev_warn_ratelimited(core->mig->vdev.dev,
				     "v1 resume left with an incomplete stream; device reset\n");
	}
}

/* A save session starts: it takes the save faults armed now. */
static void v1_save_begin(struct vfio_mig_core *core)
{
	vfio_mig_fault_save(core, &core->v1.fail_at, &core->v1.flip_at);
	core->v1.out = 0;
	core->v1.read_failed = false;
}

/* The save faults end with their session. */
static void v1_save_faults_end(struct vfio_mig_core *core)
{
	core->v1.fail_at = -1;
	core->v1.flip_at = -1;
	core->v1.read_failed = false;
}

/*
 * The arcs between valid encodings that are refused: resuming to a saving
 * state, a saving state to resuming, stop-and-copy back to pre-copy.
 */
static bool v1_refused(u32 old, u32 new)
{
	return (old == V1_RESUMING && (new & V1_SAVING)) ||
	       (new == V1_RESUMING && (old & V1_SAVING)) ||
	       (old == V1_SAVING && (new & V1_SAVING));
}

/*
 * fail_state on v1: only the writes QEMU 7.2 fails cleanly: _SAVING |
 * _RUNNING (PRE_COPY) from 0 or 1, _SAVING (STOP_COPY) from 0 or from
 * pre-copy (not from 1: QEMU 7.2 writes 1 -> 2 for savevm, and crashes if
 * it fails), _RESUMING from 0 or 1.  The write fails before doing anything.
 */
static bool v1_fault_state(struct vfio_mig_core *core, u32 old, u32 new)
{
	u32 v2_state;

	if (new == V1_RESUMING)
		v2_state = VFIO_DEVICE_STATE_RESUMING;
	else if (new == (V1_SAVING | V1_RUNNING))
		v2_state = VFIO_DEVICE_STATE_PRE_COPY;
	else if (new == V1_SAVING && old != V1_RUNNING)
		v2_state = VFIO_DEVICE_STATE_STOP_COPY;
	else
		return false;
	return vfio_mig_fault_state(core, v2_state, "v1 device_state kept");
}

static int v1_transition(struct vfio_mig_core *core, u32 new)
{
	u32 old = core->v1.state;
	int ret;

	lockdep_assert_held(&core->lock);
	if (!v1_valid(new))
		return -EINVAL;
	if (new == old)
		return 0;
	if (v1_refused(old, new))
		return -EINVAL;
	if (v1_fault_state(core, old, new))
		return -EIO;

	if (old == V1_RESUMING) {
		v1_end_resume(core);
	} else if (new == V1_RESUMING) {
		ret = vfio_mig_resume_start(core);
		if (ret)
			return ret;
		vfio_mig_quiesce(core);
		core->v1.data_size = 0;
		core->v1.fail_write = vfio_mig_fault_resume(core);
		core->v1.state = new;
		return 0;
	} else if (new & V1_SAVING) {
		/* 1->3, 0->3 pre-copy; 1->2, 0->2, 3->2 stop-and-copy. */
		if (new & V1_RUNNING) {
			ret = vfio_mig_save_start(core);
			if (ret)
				return ret;
		} else {
			ret = vfio_mig_stop_copy(core);
			if (ret)
				return ret;
		}
		if (!(old & V1_SAVING))
			v1_save_begin(core);
		core->v1.state = new;
		if (new & V1_RUNNING)
			vfio_mig_unquiesce(core);
		return 0;
	} else if (old & V1_SAVING) {
		/* Leaving the save session: the device keeps its state. */
		vfio_mig_save_drop(core);
		v1_save_faults_end(core);
	}

	/* Plain RUNNING/STOP: never fails. */
	if (new & V1_RUNNING)
		vfio_mig_unquiesce(core);
	else
		vfio_mig_quiesce(core);
	core->v1.state = new;
	return 0;
}

/*
 * A failed write changes nothing; any other consumes a handed-out chunk.
 * stall_ms: a write of an arc the engine allows sleeps first.
 */
static int v1_set_state(struct vfio_mig_core *core, u32 new)
{
	u32 old = core->v1.state;
	int ret;

	if (v1_valid(new) && new != old && !v1_refused(old, new))
		vfio_mig_fault_stall(core);
	ret = v1_transition(core, new);

	if (!ret)
		core->v1.staged = false;
	return ret;
}

static u64 v1_pending(struct vfio_mig_core *core)
{
	u64 pre, post;

	/* Reading pending_bytes marks a handed-out chunk consumed. */
	core->v1.staged = false;
	if (!(core->v1.state & V1_SAVING))
		return 0;
	vfio_mig_save_pending(core, &pre, &post);
	/* In pre-copy only what a chunk would carry now counts. */
	return core->v1.state & V1_RUNNING ? pre : pre + post;
}

/*
 * data_offset or data_size read while saving: stage the next chunk, built
 * in the stage and published into the data section once the read's
 * result reached the user.  The save faults act here: a chunk reaching
 * past fail_save_after is taken back and the read fails, as every later
 * staging read of the save does; flip_byte flips its byte in the stage.
 */
static int v1_stage(struct vfio_mig_core *core)
{
	struct vfio_mig_v1_fe *fe = &core->v1;
	u64 size;

	if (!(fe->state & V1_SAVING) || fe->staged)
		return 0;
	if (fe->read_failed)
		return -EIO;
	size = vfio_mig_save_chunk(core, core->stage, core->cfg.data_size);
	if (fe->fail_at >= 0 && fe->out + size > fe->fail_at) {
		vfio_mig_save_unchunk(core);
		fe->fail_at = -1;
		fe->read_failed = true;
		vfio_mig_fault_fire(core, "v1 save chunk read fails with EIO");
		return -EIO;
	}
	if (fe->flip_at >= (s64)fe->out && fe->flip_at < (s64)(fe->out + size)) {
		((u8 *)core->stage)[fe->flip_at - fe->out] ^= 0xff;
		fe->flip_at = -1;
		fe->flipped = true;	/* reported once the read reached the user */
	}
	fe->data_size = size;
	fe->out += size;
	fe->staged = true;
	fe->rd.chunk = true;
	fe->rd.publish = size;
	return 0;
}

static int v1_hdr_read(struct vfio_mig_core *core, u64 off, void *buf,
		       size_t count)
{
	u64 v;

	lockdep_assert_held(&core->lock);
	/* Enough to take this read back if its result cannot be copied out. */
	vfio_mig_read_begin(core, &core->v1.rd);
	core->v1.undo.staged = core->v1.staged;
	core->v1.undo.data_size = core->v1.data_size;
	core->v1.undo.out = core->v1.out;
	core->v1.undo.flip_at = core->v1.flip_at;

	switch (VFIO_MIG_KEY(off, count)) {
	case VFIO_MIG_KEY(V1_OFF(device_state), 4):
		memcpy(buf, &core->v1.state, 4);
		return 0;
	case VFIO_MIG_KEY(V1_OFF(reserved), 4):
		memset(buf, 0, 4);
		return 0;
	case VFIO_MIG_KEY(V1_OFF(pending_bytes), 8):
		v = v1_pending(core);
		break;
	case VFIO_MIG_KEY(V1_OFF(data_offset), 8):
		if (v1_stage(core))
			return -EIO;
		v = VFIO_MIG_HDR_PAGE;
		break;
	case VFIO_MIG_KEY(V1_OFF(data_size), 8):
		if (v1_stage(core))
			return -EIO;
		v = core->v1.data_size;
		break;
	default:
		return -EINVAL;
	}
	memcpy(buf, &v, 8);
	return 0;
}

static int v1_hdr_write(struct vfio_mig_core *core, u64 off,
			const void *buf, size_t count)
{
	u32 state;
	u64 size;
	int ret;

	switch (VFIO_MIG_KEY(off, count)) {
	case VFIO_MIG_KEY(V1_OFF(device_state), 4):
		memcpy(&state, buf, 4);
		return v1_set_state(core, state);
	case VFIO_MIG_KEY(V1_OFF(reserved), 4):
		return 0;
	case VFIO_MIG_KEY(V1_OFF(data_size), 8):
		/* The bytes at data_offset are the next part of the stream. */
		memcpy(&size, buf, 8);
		if (core->v1.state != V1_RESUMING || size > core->cfg.data_size)
			return -EINVAL;
		/* fail_resume: refused at the first write, as a bad record. */
		if (core->v1.fail_write && core->resume) {
			core->v1.fail_write = false;
			core->resume->failed = true;
			vfio_mig_fault_fire(core, "v1 resume stream refused with EINVAL");
		}
		/* Even size 0 fails once the stream was refused. */
		ret = vfio_mig_resume_feed(core, core->data, size);
		if (!ret)
			core->v1.data_size = size;
		return ret;
	}
	return -EINVAL;
}

/* Region callbacks for the v1 header page; the data section is direct. */
static int v1_read(struct vfio_mig_device *mig, unsigned int index, u64 off,
		   void *buf, size_t count)
{
	struct vfio_mig_core *core = mig->core;
	int ret;

	if (off + count > sizeof(struct vfio_device_migration_info))
		return -EINVAL;
	mutex_lock(&core->lock);
	ret = v1_hdr_read(core, off, buf, count);
	mutex_unlock(&core->lock);
	return ret;
}

/*
 * A header read's result reached the user: publish the chunk it staged.
 * Or it could not be copied out: take the read back, the data section
 * untouched.
 */
static void v1_finish(struct vfio_mig_device *mig, unsigned int index,
		      u64 off, size_t count, bool copied)
{
	struct vfio_mig_core *core = mig->core;

	mutex_lock(&core->lock);
	if (vfio_mig_read_end(core, &core->v1.rd, copied)) {
		core->v1.staged = core->v1.undo.staged;
		core->v1.data_size = core->v1.undo.data_size;
		core->v1.out = core->v1.undo.out;
		core->v1.flip_at = core->v1.undo.flip_at;
	} else if (core->v1.flipped) {
		vfio_mig_fault_fire(core, "a v1 save's byte flipped");
	}
	core->v1.flipped = false;
	mutex_unlock(&core->lock);
}

static int v1_write(struct vfio_mig_device *mig, unsigned int index,
		    u64 off, const void *buf, size_t count)
{
	struct vfio_mig_core *core = mig->core;
	int ret;

	if (off + count > sizeof(struct vfio_device_migration_info))
		return -EINVAL;
	mutex_lock(&core->lock);
	ret = vfio_mig_claim(core, VFIO_MIG_OWNER_V1);
	if (!ret)
		ret = v1_hdr_write(core, off, buf, count);
	vfio_mig_release(core, core->v1.state == V1_RUNNING);
	mutex_unlock(&core->lock);
	return ret;
}

static ssize_t v1_direct(struct vfio_mig_device *mig, unsigned int index,
			 u64 off, char __user *buf, size_t count, bool write)
{
	return vfio_mig_data_rw(mig->core, VFIO_MIG_OWNER_V1, off, buf, count,
				write);
}

static int v1_caps(struct vfio_mig_device *mig, unsigned int index,
		   struct vfio_info_cap *caps)
{
	return vfio_mig_data_caps(mig->core,
				  VFIO_REGION_TYPE_MIGRATION_DEPRECATED,
				  VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED,
				  caps);
}

static int v1_mmap(struct vfio_mig_device *mig, unsigned int index, u64 off,
		   struct vm_area_struct *vma)
{
	return vfio_mig_data_mmap(mig->core, off, vma);
}

/* Describe the v1 region for the device's region table. */
void vfio_mig_v1_setup(struct vfio_mig_core *core, struct vfio_mig_region *r)
{
	*r = (struct vfio_mig_region) {
		.size = vfio_mig_region_size(core),
		.flags = VFIO_REGION_INFO_FLAG_READ |
			 VFIO_REGION_INFO_FLAG_WRITE |
			 (core->cfg.mmap ? VFIO_REGION_INFO_FLAG_MMAP : 0),
		.widths = VFIO_MIG_ANY_LENGTH,
		.read = v1_read,
		.write = v1_write,
		.finish = v1_finish,
		.direct_off = VFIO_MIG_HDR_PAGE,
		.direct = v1_direct,
		.caps = v1_caps,
		.mmap = v1_mmap,
	};
	core->v1.state = V1_RUNNING;
	v1_save_faults_end(core);
}

/* Device-wide reset and close: v1 returns to its default, running. */
void vfio_mig_v1_abort(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	core->v1.state = V1_RUNNING;
	core->v1.staged = false;
	core->v1.data_size = 0;
	core->v1.fail_write = false;
	v1_save_faults_end(core);
}
