// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the v2 protocol (VFIO_DEVICE_FEATURE with
 * MIG_DEVICE_STATE, the data fd), the one QEMU 8.0 and later speak.
 *
 * The vfio core walks the v2 state machine; each single arc it asks for
 * is carried out here on the engine's session core, the same save and
 * resume sessions and stream the region front-ends use.  A data session
 * gets an anonymous file: read() hands out the stream, write() takes it
 * in and validates it as it comes, and RESUMING -> STOP applies it only if
 * it is complete and valid (else the arc fails and nothing is applied).
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * each data file has a mutex (f->lock), taken before core->lock, that
 * serialises calls on the file and guards its chunk buffer and its link to
 * the device; user memory is copied to and from that buffer with only the
 * file's mutex held.  core->lock is held across every arc and while a file
 * stages or feeds one chunk.
 *
 * Lifetime: the engine keeps a reference to the session's file
 * (core->v2.file).  When the session ends (an arc out of it, reset, close)
 * the file is unlinked under core->lock and then cut off under its own
 * mutex once core->lock is dropped: f->core becomes NULL and the engine's
 * reference goes.  A cut-off file answers -ENODEV and never touches the
 * device again, so it holds no reference to the device: an open data fd
 * keeps neither the vfio device nor the vendor driver's module, only this
 * module (its file operations) alive.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iova_bitmap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig_compat.h>

#include "vfio_mig_priv.h"

#define V2_CHUNK	VFIO_MIG_MIN_CHUNK
#define ARC(a, b)	((a) << 8 | (b))

struct vfio_mig_v2_file {
	struct file *filp;
	struct mutex lock;
	struct vfio_mig_core *core;	/* NULL once cut off */
	struct list_head gone;	/* on core->v2.gone until cut off */
	u8 *buf;		/* V2_CHUNK bytes */
	size_t len;		/* staged bytes in @buf (saving) */
	size_t pos;		/* of which already read */
	size_t first;		/* bytes of @buf's start from the first pass */
	u64 out;		/* stream bytes read so far (saving) */
	s64 fail_at;		/* injected: reads fail from this offset, or -1 */
	s64 flip_at;		/* injected: the byte to flip, or -1 */
	bool fail_write;	/* injected: refuse the stream's first write */
	bool read_failed;	/* an injected read failure fired */
};

/*
 * Lock the device of @f if @f is still its session's file: returns the
 * device with core->lock held, or NULL (the session ended).
 */
static struct vfio_mig_core *v2_lock(struct vfio_mig_v2_file *f)
{
	struct vfio_mig_core *core = f->core;

	lockdep_assert_held(&f->lock);
	if (!core)
		return NULL;
	mutex_lock(&core->lock);
	if (core->v2.file != f) {
		mutex_unlock(&core->lock);
		return NULL;
	}
	return core;
}

/* Whether @f is still its session's file. */
static bool v2_live(struct vfio_mig_v2_file *f)
{
	struct vfio_mig_core *core = v2_lock(f);

	if (core)
		mutex_unlock(&core->lock);
	return core;
}

/* Stage the next chunk of a save.  *precopy: the device still runs. */
static int v2_stage(struct vfio_mig_v2_file *f, bool *precopy)
{
	struct vfio_mig_core *core = v2_lock(f);

	if (!core)
		return -ENODEV;
	if (WARN_ON(!core->save)) {
		/* A saving file is current only during its save session. */
		mutex_unlock(&core->lock);
		return -ENODEV;
	}
	/* The first pass is the start of the stream: a prefix of a chunk. */
	f->first = vfio_mig_save_initial(core);
	f->len = vfio_mig_save_chunk(core, f->buf, V2_CHUNK);
	f->first -= vfio_mig_save_initial(core);
	f->pos = 0;
	*precopy = !vfio_mig_save_stopped(core);
	mutex_unlock(&core->lock);
	return 0;
}

/*
 * Nothing of the chunk just staged (in PRE_COPY if @precopy) reached the
 * user: give it back to the save, so a failed read changes nothing
 * (PRE_COPY_INFO included).  Not if the device was stopped in between,
 * while this file's user copy ran: the stop numbered its records after
 * the chunk, which then stays staged for the next read.
 */
static void v2_unstage(struct vfio_mig_v2_file *f, bool precopy)
{
	struct vfio_mig_core *core = v2_lock(f);

	if (!core) {
		f->len = 0;
		f->pos = 0;
		f->first = 0;
		return;
	}
	if (precopy == !vfio_mig_save_stopped(core)) {
		vfio_mig_save_unchunk(core);
		f->len = 0;
		f->pos = 0;
		f->first = 0;
	}
	mutex_unlock(&core->lock);
}

/*
 * fail_save_after fires: this read and every later one fail with EIO.
 * The save session goes on as it was: the user leaves it by an arc out of
 * the save, the device keeps its state.
 */
static void v2_fault_read(struct vfio_mig_v2_file *f)
{
	struct vfio_mig_core *core;

	lockdep_assert_held(&f->lock);
	f->read_failed = true;
	f->fail_at = -1;
	core = v2_lock(f);
	if (core) {
		vfio_mig_fault_fire(core, "data fd read fails with EIO");
		mutex_unlock(&core->lock);
	}
}

/*
 * Copy @n staged bytes out to the user; flip_byte flips the byte at its
 * stream offset on the way (the staged chunk keeps the true byte, should
 * the copy fail and the chunk be taken back).
 */
static int v2_copy_out(struct vfio_mig_v2_file *f, char __user *ubuf,
		       size_t n)
{
	u8 *flip = NULL;
	int ret;

	lockdep_assert_held(&f->lock);
	if (f->flip_at >= (s64)f->out && f->flip_at < (s64)(f->out + n)) {
		flip = f->buf + f->pos + (f->flip_at - f->out);
		*flip ^= 0xff;
	}
	ret = copy_to_user(ubuf, f->buf + f->pos, n) ? -EFAULT : 0;
	if (flip) {
		*flip ^= 0xff;
		if (!ret) {
			struct vfio_mig_core *core = v2_lock(f);

			f->flip_at = -1;
			if (core) {
				vfio_mig_fault_fire(core, "a save's byte flipped");
				mutex_unlock(&core->lock);
			}
		}
	}
	return ret;
}

static ssize_t v2_read(struct file *filp, char __user *ubuf, size_t count,
		       loff_t *ppos)
{
	struct vfio_mig_v2_file *f = filp->private_data;
	bool precopy = false, fresh;
	ssize_t done = 0;
	int ret = 0;

	if (ppos)
		return -ESPIPE;
	mutex_lock(&f->lock);
	/* What is staged belongs to the session: gone once it ended. */
	if (!v2_live(f))
		ret = -ENODEV;
	else if (f->read_failed)
		ret = -EIO;
	while (count && !ret) {
		size_t n;

		fresh = f->pos == f->len;
		if (fresh) {
			ret = v2_stage(f, &precopy);
			if (ret)
				break;
			if (!f->len) {
				/* End of stream; only temporary in PRE_COPY. */
				ret = precopy ? -ENOMSG : 0;
				break;
			}
		}
		n = min(count, f->len - f->pos);
		if (f->fail_at >= 0 && f->out + n > f->fail_at) {
			n = f->fail_at - f->out;
			if (!n) {
				v2_fault_read(f);
				ret = -EIO;
				break;
			}
		}
		if (v2_copy_out(f, ubuf + done, n)) {
			if (fresh)
				v2_unstage(f, precopy);
			ret = -EFAULT;
			break;
		}
		f->pos += n;
		f->out += n;
		done += n;
		count -= n;
	}
	mutex_unlock(&f->lock);
	return done ?: ret;
}

static ssize_t v2_write(struct file *filp, const char __user *ubuf,
			size_t count, loff_t *ppos)
{
	struct vfio_mig_v2_file *f = filp->private_data;
	struct vfio_mig_core *core;
	ssize_t done = 0;
	int ret = 0;

	if (ppos)
		return -ESPIPE;
	mutex_lock(&f->lock);
	core = v2_lock(f);
	if (!core) {
		mutex_unlock(&f->lock);
		return -ENODEV;
	}
	/*
	 * fail_resume: the stream is refused at its first write, as a bad
	 * first record would be; the device returns to its power-on state
	 * when the session ends, as for any refused stream.
	 */
	if (f->fail_write && count && core->resume) {
		f->fail_write = false;
		core->resume->failed = true;
		vfio_mig_fault_fire(core, "resume stream refused with EINVAL");
	}
	/* Even a zero-length write fails once the stream was refused. */
	if (!count || (core->resume && core->resume->failed))
		ret = WARN_ON(!core->resume) ? -ENODEV :
		      vfio_mig_resume_feed(core, f->buf, 0);
	mutex_unlock(&core->lock);
	while (count && !ret) {
		size_t n = min_t(size_t, count, V2_CHUNK);

		if (copy_from_user(f->buf, ubuf + done, n)) {
			ret = -EFAULT;
			break;
		}
		core = v2_lock(f);
		if (!core) {
			ret = -ENODEV;
			break;
		}
		/* A resuming file is current only during its resume session. */
		ret = WARN_ON(!core->resume) ? -ENODEV :
		      vfio_mig_resume_feed(core, f->buf, n);
		mutex_unlock(&core->lock);
		if (ret)
			break;
		done += n;
		count -= n;
	}
	mutex_unlock(&f->lock);
	return done ?: ret;
}

/*
 * Has the user opted in to VFIO_PRECOPY_INFO_REINIT (a vfio core that knows
 * VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 keeps the choice in the device)?
 */
static bool v2_precopy_flags(struct vfio_mig_core *core)
{
#ifdef VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2
	return core->mig->vdev.precopy_info_v2;
#else
	return false;
#endif
}

/*
 * VFIO_MIG_GET_PRECOPY_INFO, in PRE_COPY states only: what the next reads
 * would hand out now, split into initial_bytes (the rest of the first
 * pass: the header and one record of each page, staged or not) and
 * dirty_bytes (everything else).  flags is output only for a user who
 * opted in, and then 0: nothing here starts a new first pass.
 * -ENODEV once the file's session ended, -EINVAL outside PRE_COPY.
 */
static long v2_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	unsigned long minsz = offsetofend(struct vfio_precopy_info,
					  dirty_bytes);
	struct vfio_mig_v2_file *f = filp->private_data;
	struct vfio_mig_core *core;
	struct vfio_precopy_info info;
	u64 pre, post, init, first, staged;
	int ret = 0;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	/* A file cut off answers ENODEV, whatever the argument. */
	mutex_lock(&f->lock);
	ret = v2_live(f) ? 0 : -ENODEV;
	mutex_unlock(&f->lock);
	if (ret)
		return ret;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	mutex_lock(&f->lock);
	core = v2_lock(f);
	if (!core) {
		ret = -ENODEV;
	} else {
		if (!core->save ||
		    (core->v2.state != VFIO_DEVICE_STATE_PRE_COPY &&
		     core->v2.state != VFIO_DEVICE_STATE_PRE_COPY_P2P)) {
			ret = -EINVAL;
		} else {
			vfio_mig_save_pending(core, &pre, &post);
			init = vfio_mig_save_initial(core);
			first = f->first > f->pos ? f->first - f->pos : 0;
			staged = f->len - f->pos;
			info.initial_bytes = init + first;
			info.dirty_bytes = pre - init + staged - first;
			if (v2_precopy_flags(core))
				info.flags = 0;
		}
		mutex_unlock(&core->lock);
	}
	mutex_unlock(&f->lock);
	if (!ret && copy_to_user((void __user *)arg, &info, minsz))
		ret = -EFAULT;
	return ret;
}

/* The last reference: the engine's went when the file was cut off. */
static int v2_release(struct inode *inode, struct file *filp)
{
	struct vfio_mig_v2_file *f = filp->private_data;

	WARN_ON(f->core);
	kvfree(f->buf);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

static const struct file_operations v2_fops = {
	.owner = THIS_MODULE,
	.read = v2_read,
	.write = v2_write,
	.unlocked_ioctl = v2_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = v2_release,
};

/* A new data file; the engine keeps one reference, the caller gets one. */
static struct file *v2_open_file(struct vfio_mig_core *core, bool saving)
{
	struct vfio_mig_v2_file *f;
	struct file *filp;

	lockdep_assert_held(&core->lock);
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return ERR_PTR(-ENOMEM);
	f->buf = kvmalloc(V2_CHUNK, GFP_KERNEL_ACCOUNT);
	if (!f->buf) {
		filp = ERR_PTR(-ENOMEM);
		goto err_free;
	}
	mutex_init(&f->lock);
	INIT_LIST_HEAD(&f->gone);
	if (saving) {
		vfio_mig_fault_save(core, &f->fail_at, &f->flip_at);
	} else {
		f->fail_at = -1;
		f->flip_at = -1;
		f->fail_write = vfio_mig_fault_resume(core);
	}
	filp = anon_inode_getfile("vfio_mig", &v2_fops, f,
				  saving ? O_RDONLY : O_WRONLY);
	if (IS_ERR(filp))
		goto err_mutex;
	stream_open(filp->f_inode, filp);
	f->filp = filp;
	f->core = core;
	core->v2.file = f;
	return get_file(filp);

err_mutex:
	mutex_destroy(&f->lock);
	kvfree(f->buf);
err_free:
	kfree(f);
	return filp;
}

/*
 * End the file's session: unlink it, and queue it to be cut off by
 * vfio_mig_v2_cut_off() once core->lock is dropped.  From now on its calls
 * get -ENODEV.
 */
static void v2_end_file(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	if (core->v2.file) {
		list_add_tail(&core->v2.file->gone, &core->v2.gone);
		core->v2.file = NULL;
	}
}

/**
 * vfio_mig_v2_cut_off() - cut ended data files off the device
 * @core: the engine state, core->lock not held
 *
 * Waits for a call in progress on each file whose session ended, clears
 * its link to the device and drops the engine's reference.  Called after
 * every v2 walk and every reset, so once close_device returns no data file
 * can reach the device.
 */
void vfio_mig_v2_cut_off(struct vfio_mig_core *core)
{
	struct vfio_mig_v2_file *f, *n;
	LIST_HEAD(gone);

	mutex_lock(&core->lock);
	list_splice_init(&core->v2.gone, &gone);
	mutex_unlock(&core->lock);
	list_for_each_entry_safe(f, n, &gone, gone) {
		list_del_init(&f->gone);
		mutex_lock(&f->lock);
		f->core = NULL;
		mutex_unlock(&f->lock);
		fput(f->filp);
	}
}

/* Start a save and its file; undone completely on failure. */
static struct file *v2_save_file(struct vfio_mig_core *core, bool stopped)
{
	struct file *filp;
	int ret;

	ret = stopped ? vfio_mig_stop_copy(core) : vfio_mig_save_start(core);
	if (ret)
		return ERR_PTR(ret);
	filp = v2_open_file(core, true);
	if (IS_ERR(filp))
		vfio_mig_save_drop(core);
	return filp;
}

/* One arc of the v2 state machine, as the core's walk asks for it. */
static struct file *v2_step(struct vfio_mig_core *core, u32 next)
{
	struct file *filp;
	int ret;

	switch (ARC(core->v2.state, next)) {
	case ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RUNNING_P2P):
	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_RUNNING):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_PRE_COPY_P2P):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_PRE_COPY):
		/* The device starts no peer-to-peer DMA: nothing to do. */
		return NULL;
	case ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP):
	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_STOP):
		vfio_mig_quiesce(core);
		return NULL;
	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RUNNING):
	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RUNNING_P2P):
		vfio_mig_unquiesce(core);
		return NULL;
	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY):
		return v2_save_file(core, true);
	case ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_PRE_COPY):
	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_PRE_COPY_P2P):
		return v2_save_file(core, false);
	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_STOP_COPY):
		/* The same file goes on with the stop-time state. */
		ret = vfio_mig_stop_copy(core);
		return ret ? ERR_PTR(ret) : NULL;
	case ARC(VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_STOP):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RUNNING):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_RUNNING_P2P):
		/* Leaving a save: the device keeps its state. */
		v2_end_file(core);
		vfio_mig_save_drop(core);
		return NULL;
	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RESUMING):
		ret = vfio_mig_resume_start(core);
		if (ret)
			return ERR_PTR(ret);
		filp = v2_open_file(core, false);
		if (IS_ERR(filp))
			vfio_mig_resume_drop(core);
		return filp;
	case ARC(VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_STOP):
		/* Only a complete, valid stream is applied. */
		if (vfio_mig_resume_finish(core))
			return ERR_PTR(-EINVAL);
		v2_end_file(core);
		return NULL;
	}
	/* The core asks only for arcs of the flags we offer, all above. */
	WARN_ON(1);
	return ERR_PTR(-EINVAL);
}

/*
 * An injected failure of the arc into a state: the device is in ERROR, as
 * the v2 uAPI has a device whose arc failed without a way back.  Its
 * session ends (the data file is cut off; a stream half resumed is
 * dropped and the device returns to its power-on state) and it stays as
 * quiesced or running as it was; only VFIO_DEVICE_RESET (or a close) leaves
 * ERROR, to RUNNING.
 */
static void v2_error(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	v2_end_file(core);
	vfio_mig_save_drop(core);
	if (core->resume)
		vfio_mig_resume_fail(core);
	core->v2.state = VFIO_DEVICE_STATE_ERROR;
}

/*
 * migration_set_state: walks the arcs the vfio core chooses towards
 * @new_state.  A failed arc leaves the device in the state reached before
 * it, intact.  Returns the data file when the walk opens a data session,
 * NULL when it does not, or an ERR_PTR: -EBUSY while another front-end
 * owns the session, -EINVAL for a refused arc (an incomplete or invalid
 * stream on RESUMING -> STOP), or -ENOMEM.
 */
static struct file *v2_set_state(struct vfio_device *vdev,
				 enum vfio_device_mig_state new_state)
{
	struct vfio_mig_core *core = vfio_mig_core(vdev);
	enum vfio_device_mig_state next;
	struct file *filp = NULL;
	bool stalled = false;
	int ret;

	mutex_lock(&core->lock);
	ret = vfio_mig_claim(core, VFIO_MIG_OWNER_V2);
	/*
	 * Only a reset leaves ERROR (the vfio core's walk would warn of it:
	 * it has no arcs out of ERROR).
	 */
	if (!ret && core->v2.state == VFIO_DEVICE_STATE_ERROR)
		ret = -EINVAL;
	while (!ret && core->v2.state != new_state) {
		ret = vfio_mig_get_next_state(vdev, core->v2.state, new_state,
					      &next);
		if (ret)
			break;
		/* stall_ms: before the first arc of a change the core allows */
		if (!stalled) {
			vfio_mig_fault_stall(core);
			stalled = true;
		}
		/* The core never passes through a data state. */
		if (WARN_ON(filp)) {
			ret = -EINVAL;
			break;
		}
		if (vfio_mig_fault_state(core, next, "device in ERROR")) {
			v2_error(core);
			ret = -EIO;
			break;
		}
		filp = v2_step(core, next);
		if (IS_ERR(filp)) {
			ret = PTR_ERR(filp);
			filp = NULL;
			break;
		}
		core->v2.state = next;
	}
	vfio_mig_release(core, core->v2.state == VFIO_DEVICE_STATE_RUNNING ||
			       core->v2.state == VFIO_DEVICE_STATE_RUNNING_P2P);
	mutex_unlock(&core->lock);
	vfio_mig_v2_cut_off(core);
	if (ret) {
		if (filp)
			fput(filp);
		return ERR_PTR(ret);
	}
	return filp;
}

static int v2_get_state(struct vfio_device *vdev,
			enum vfio_device_mig_state *state)
{
	struct vfio_mig_core *core = vfio_mig_core(vdev);

	mutex_lock(&core->lock);
	*state = core->v2.state;
	mutex_unlock(&core->lock);
	return 0;
}

/* migration_get_data_size (6.2+): the bytes a save from now produces. */
static int __maybe_unused v2_get_data_size(struct vfio_device *vdev,
					   unsigned long *stop_copy_length)
{
	struct vfio_mig_core *core = vfio_mig_core(vdev);

	mutex_lock(&core->lock);
	*stop_copy_length = vfio_mig_save_estimate(core);
	mutex_unlock(&core->lock);
	return 0;
}

static const struct vfio_migration_ops v2_mig_ops = {
	.migration_set_state = v2_set_state,
	.migration_get_state = v2_get_state,
	VFIO_MIG_DATA_SIZE_OP(v2_get_data_size)
};

/* ---------------------------------------------------------------------- */
/* Device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*) */

/*
 * log_start: an empty DMA log that records every DMA write until
 * log_stop, a reset or close; -EBUSY if logging is on already (the log is
 * kept).  The ranges the user names are not needed: reports are clipped
 * to what is asked.
 */
static int v2_log_start(struct vfio_device *vdev,
			struct rb_root_cached *ranges, u32 nnodes,
			u64 *page_size)
{
	*page_size = PAGE_SIZE;
	if (vfio_mig_fault_dma_log(vfio_mig_core(vdev), false))
		return -EIO;
	return vfio_mig_dma_log_start(vfio_mig_core(vdev));
}

static int v2_log_stop(struct vfio_device *vdev)
{
	vfio_mig_dma_log_stop(vfio_mig_core(vdev));
	return 0;
}

struct report_out {
	struct iova_bitmap *dirty;
	u64 first, last;	/* the window asked for, inclusive */
};

/* Report one logged page, clipped to the window. */
static void report_set(void *arg, u64 pfn)
{
	struct report_out *r = arg;
	u64 lo = max(pfn << PAGE_SHIFT, r->first);
	u64 hi = min((pfn << PAGE_SHIFT) + PAGE_SIZE - 1, r->last);

	if (lo <= hi)
		iova_bitmap_set(r->dirty, lo, hi - lo + 1);
}

/*
 * log_read_and_clear: report and clear the logged pages in [@iova, @iova +
 * @length), setting no bit outside that window.  -EINVAL if logging is
 * off, or the range is empty, wraps or is not page aligned; -EIO if the
 * log could not record every page.
 */
static int v2_log_read_and_clear(struct vfio_device *vdev,
				 unsigned long iova, unsigned long length,
				 struct iova_bitmap *dirty)
{
	struct report_out r = { .dirty = dirty, .first = iova };

	if (!length || !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(length) ||
	    check_add_overflow((u64)iova, (u64)length - 1, &r.last))
		return -EINVAL;
	if (vfio_mig_fault_dma_log(vfio_mig_core(vdev), true))
		return -EIO;
	return vfio_mig_dma_log_take(vfio_mig_core(vdev), iova >> PAGE_SHIFT,
				     (r.last >> PAGE_SHIFT) + 1, report_set,
				     &r);
}

static const struct vfio_log_ops v2_log_ops = {
	.log_start = v2_log_start,
	.log_stop = v2_log_stop,
	.log_read_and_clear = v2_log_read_and_clear,
};

/*
 * QEMU has no switch for a device's pre-copy (its x-allow-pre-copy patch
 * was never merged), so the engine has one: a stop-copy-only device to
 * compare against, or to test a VMM's other path.
 */
static bool v2_pre_copy = true;
module_param(v2_pre_copy, bool, 0644);
MODULE_PARM_DESC(v2_pre_copy,
		 "offer PRE_COPY to v2 clients (kernels 6.2 on); read as each device registers");

/* Offer the v2 protocol: the vfio core's migration and logging ops. */
void vfio_mig_v2_setup(struct vfio_mig_core *core)
{
	struct vfio_device *vdev = &core->mig->vdev;

	INIT_LIST_HEAD(&core->v2.gone);
	core->v2.state = VFIO_DEVICE_STATE_RUNNING;
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
		(VFIO_MIG_HAVE_PRE_COPY && READ_ONCE(v2_pre_copy) ?
		 VFIO_MIGRATION_PRE_COPY : 0);
	vdev->mig_ops = &v2_mig_ops;
	/* Where the kernel cannot report device dirty pages, none are. */
	if (VFIO_MIG_HAVE_DMA_LOGGING)
		vdev->log_ops = &v2_log_ops;
}

/*
 * Device-wide reset and close: end the file, stop DMA logging (it never
 * outlives the open), back to RUNNING.  The caller runs
 * vfio_mig_v2_cut_off() after dropping core->lock.
 */
void vfio_mig_v2_abort(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	v2_end_file(core);
	vfio_mig_dma_log_stop(core);
	core->v2.state = VFIO_DEVICE_STATE_RUNNING;
}
