// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: faults a VMM developer arms per device in debugfs, to
 * see the VMM's error paths taken on demand.  Each device that registers
 * gets a directory named after it, /sys/kernel/debug/vfio_mig/<mdev uuid>/,
 * with one file per fault (Documentation/mtty-mig.rst, "Fault injection"):
 *
 *   fail_state           v2 state name: the next arc into it fails, EIO,
 *                        and the device is in ERROR (v1: state kept)
 *   fail_save_after      N: a save's reads fail with EIO once N bytes of
 *                        it were read (v1: chunks reaching past N)
 *   flip_byte            N: byte N of the next save goes out XOR 0xff
 *   fail_resume          1: the next resume refuses its first write
 *   stall_ms             T (<= 10000): the next state change the vfio
 *                        core allows (v1: the next one) sleeps T ms
 *   fail_dma_log_start   1: the next DMA_LOGGING_START fails with EIO
 *   fail_dma_log_report  1: the next DMA_LOGGING_REPORT fails with EIO
 *
 * Every fault is one-shot: it is disarmed as it is taken, and reported
 * once in the kernel log when it fires.  "none" (or 0 for the flags and
 * stall_ms) disarms.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 * the armed faults are guarded by core->faults.lock, a spinlock at the
 * level of the track lock: a debugfs write arms under it alone, so arming
 * never waits for a transition (a stalled one included), and the paths
 * that take a fault test and disarm it under it in one step, so a fault
 * fires at most once whatever races.  Nothing under it sleeps and nothing
 * is taken under it.  Each taker says with lockdep_assert_held() which
 * engine lock orders it against the device's transitions.
 *
 * Lifetime: the directory is made when the device registers and removed
 * when it unregisters, before the engine state is freed; debugfs_remove()
 * waits for file operations in progress and fails later ones with EIO, so
 * an open file never reaches a freed device.  The files' fops hold this
 * module while open.  Without debugfs the device works as ever.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_mig_compat.h>

#include "vfio_mig_priv.h"

#define FAULT_MAX_STALL_MS	10000
#define FAULT_MAX_INPUT		32

static struct dentry *fault_root;

/* The v2 state names fail_state accepts, by enum vfio_device_mig_state. */
static const char * const state_names[] = {
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
	[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
};

static const char * const fault_names[VFIO_MIG_NR_FAULTS] = {
	[VFIO_MIG_FAULT_STATE] = "fail_state",
	[VFIO_MIG_FAULT_SAVE_AFTER] = "fail_save_after",
	[VFIO_MIG_FAULT_FLIP_BYTE] = "flip_byte",
	[VFIO_MIG_FAULT_RESUME] = "fail_resume",
	[VFIO_MIG_FAULT_STALL_MS] = "stall_ms",
	[VFIO_MIG_FAULT_DMA_LOG_START] = "fail_dma_log_start",
	[VFIO_MIG_FAULT_DMA_LOG_REPORT] = "fail_dma_log_report",
};

/* Faults whose value is a flag: 0 or 1. */
static bool fault_is_flag(unsigned int kind)
{
	return kind == VFIO_MIG_FAULT_RESUME ||
	       kind == VFIO_MIG_FAULT_DMA_LOG_START ||
	       kind == VFIO_MIG_FAULT_DMA_LOG_REPORT;
}

void vfio_mig_fault_init(struct vfio_mig_core *core)
{
	unsigned int i;

	spin_lock_init(&core->faults.lock);
	for (i = 0; i < VFIO_MIG_NR_FAULTS; i++) {
		core->faults.armed[i] = false;
		core->faults.file[i].core = core;
		core->faults.file[i].kind = i;
	}
}

/* Test and disarm fault @kind; *val gets its value if it was armed. */
static bool fault_take(struct vfio_mig_core *core, unsigned int kind,
		       u64 *val)
{
	bool armed;

	spin_lock(&core->faults.lock);
	armed = core->faults.armed[kind];
	if (armed) {
		core->faults.armed[kind] = false;
		if (val)
			*val = core->faults.val[kind];
	}
	spin_unlock(&core->faults.lock);
	return armed;
}

static void fault_report(struct vfio_mig_core *core, const char *what)
{
	dev_info(core->mig->vdev.dev, "vfio_mig: fault injected: %s\n", what);
}

/**
 * vfio_mig_fault_state() - whether the arc into @next is to fail
 * @core: the engine state, core->lock held (the arc is being walked)
 * @next: the v2 state the arc leads to (a v1 write: its v2 name)
 * @outcome: what then becomes of the device, for the kernel log
 *
 * Return: true once, for the first arc into the armed state.
 */
bool vfio_mig_fault_state(struct vfio_mig_core *core, u32 next,
			  const char *outcome)
{
	bool hit = false;

	lockdep_assert_held(&core->lock);
	spin_lock(&core->faults.lock);
	if (core->faults.armed[VFIO_MIG_FAULT_STATE] &&
	    core->faults.val[VFIO_MIG_FAULT_STATE] == next) {
		core->faults.armed[VFIO_MIG_FAULT_STATE] = false;
		hit = true;
	}
	spin_unlock(&core->faults.lock);
	if (hit)
		dev_info(core->mig->vdev.dev,
			 "vfio_mig: fault injected: arc into %s fails, %s\n",
			 state_names[next], outcome);
	return hit;
}

/**
 * vfio_mig_fault_stall() - sleep as stall_ms asks, once
 * @core: the engine state, core->lock held: the device's calls wait as
 *	they would for a slow device (arming does not: it takes no engine
 *	lock)
 */
void vfio_mig_fault_stall(struct vfio_mig_core *core)
{
	u64 ms;

	lockdep_assert_held(&core->lock);
	if (!fault_take(core, VFIO_MIG_FAULT_STALL_MS, &ms) || !ms)
		return;
	dev_info(core->mig->vdev.dev,
		 "vfio_mig: fault injected: state change stalls %llu ms\n", ms);
	msleep(ms);
}

/**
 * vfio_mig_fault_save() - the save faults for a save that starts
 * @core: the engine state, core->lock held (the save session starts)
 * @fail_at: the stream offset where reads start failing, or -1
 * @flip_at: the stream offset of the byte to flip, or -1
 */
void vfio_mig_fault_save(struct vfio_mig_core *core, s64 *fail_at,
			 s64 *flip_at)
{
	u64 v;

	lockdep_assert_held(&core->lock);
	*fail_at = fault_take(core, VFIO_MIG_FAULT_SAVE_AFTER, &v) ? v : -1;
	*flip_at = fault_take(core, VFIO_MIG_FAULT_FLIP_BYTE, &v) ? v : -1;
}

/**
 * vfio_mig_fault_resume() - whether a resume that starts is to be refused
 * @core: the engine state, core->lock held (the resume session starts)
 */
bool vfio_mig_fault_resume(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	return fault_take(core, VFIO_MIG_FAULT_RESUME, NULL);
}

/**
 * vfio_mig_fault_fire() - report a fault latched into a session, as it fires
 * @core: the engine state
 * @what: what happens
 */
void vfio_mig_fault_fire(struct vfio_mig_core *core, const char *what)
{
	fault_report(core, what);
}

/**
 * vfio_mig_fault_dma_log() - whether a DMA logging call is to fail
 * @core: the engine state, no lock needed: the flag is taken atomically
 *	and the call it fails does nothing else
 * @report: a REPORT (else a START)
 */
bool vfio_mig_fault_dma_log(struct vfio_mig_core *core, bool report)
{
	if (!fault_take(core, report ? VFIO_MIG_FAULT_DMA_LOG_REPORT :
			VFIO_MIG_FAULT_DMA_LOG_START, NULL))
		return false;
	fault_report(core, report ? "DMA_LOGGING_REPORT fails with EIO" :
		     "DMA_LOGGING_START fails with EIO");
	return true;
}

/* ---------------------------------------------------------------------- */
/* debugfs */

static ssize_t fault_read(struct file *filp, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	struct vfio_mig_fault_file *ff = filp->private_data;
	struct vfio_mig_core *core = ff->core;
	unsigned int kind = ff->kind;
	char buf[FAULT_MAX_INPUT];
	bool armed;
	u64 val;
	int len;

	spin_lock(&core->faults.lock);
	armed = core->faults.armed[kind];
	val = core->faults.val[kind];
	spin_unlock(&core->faults.lock);
	if (fault_is_flag(kind))
		len = scnprintf(buf, sizeof(buf), "%d\n", armed);
	else if (kind == VFIO_MIG_FAULT_STALL_MS)
		len = scnprintf(buf, sizeof(buf), "%llu\n", armed ? val : 0);
	else if (!armed)
		len = scnprintf(buf, sizeof(buf), "none\n");
	else if (kind == VFIO_MIG_FAULT_STATE)
		len = scnprintf(buf, sizeof(buf), "%s\n", state_names[val]);
	else
		len = scnprintf(buf, sizeof(buf), "%llu\n", val);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

/* Whether the device offers the v2 state @state (its migration_flags). */
static bool state_offered(struct vfio_mig_core *core, u64 state)
{
	u32 flags = core->mig->vdev.migration_flags;

	if ((state == VFIO_DEVICE_STATE_PRE_COPY ||
	     state == VFIO_DEVICE_STATE_PRE_COPY_P2P) &&
	    !(flags & VFIO_MIGRATION_PRE_COPY))
		return false;
	if ((state == VFIO_DEVICE_STATE_RUNNING_P2P ||
	     state == VFIO_DEVICE_STATE_PRE_COPY_P2P) &&
	    !(flags & VFIO_MIGRATION_P2P))
		return false;
	return true;
}

/* Parse @buf for fault @kind: *armed and *val, or -EINVAL. */
static int fault_parse(unsigned int kind, const char *buf, bool *armed,
		       u64 *val)
{
	unsigned int i;
	int ret;

	*val = 0;
	if (kind == VFIO_MIG_FAULT_STATE ||
	    kind == VFIO_MIG_FAULT_SAVE_AFTER ||
	    kind == VFIO_MIG_FAULT_FLIP_BYTE) {
		if (sysfs_streq(buf, "none")) {
			*armed = false;
			return 0;
		}
	}
	if (kind == VFIO_MIG_FAULT_STATE) {
		for (i = 0; i < ARRAY_SIZE(state_names); i++) {
			if (state_names[i] && sysfs_streq(buf, state_names[i])) {
				*armed = true;
				*val = i;
				return 0;
			}
		}
		return -EINVAL;
	}
	ret = kstrtou64(buf, 0, val);
	if (ret)
		return -EINVAL;
	if (fault_is_flag(kind) && *val > 1)
		return -EINVAL;
	if (kind == VFIO_MIG_FAULT_STALL_MS && *val > FAULT_MAX_STALL_MS)
		return -EINVAL;
	if ((kind == VFIO_MIG_FAULT_SAVE_AFTER ||
	     kind == VFIO_MIG_FAULT_FLIP_BYTE) && *val > S64_MAX)
		return -EINVAL;
	*armed = kind == VFIO_MIG_FAULT_SAVE_AFTER ||
		 kind == VFIO_MIG_FAULT_FLIP_BYTE || *val;
	return 0;
}

static ssize_t fault_write(struct file *filp, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	struct vfio_mig_fault_file *ff = filp->private_data;
	struct vfio_mig_core *core = ff->core;
	char buf[FAULT_MAX_INPUT];
	bool armed;
	u64 val;
	int ret;

	/* One whole value per write, from the start. */
	if (*ppos || !count || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	ret = fault_parse(ff->kind, buf, &armed, &val);
	if (ret)
		return ret;
	/* A state the device does not offer could never be entered. */
	if (ff->kind == VFIO_MIG_FAULT_STATE && armed &&
	    !state_offered(core, val))
		return -EINVAL;
	spin_lock(&core->faults.lock);
	core->faults.armed[ff->kind] = armed;
	core->faults.val[ff->kind] = val;
	spin_unlock(&core->faults.lock);
	return count;
}

static const struct file_operations fault_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = fault_read,
	.write = fault_write,
	.llseek = default_llseek,
};

/**
 * vfio_mig_fault_add() - the device's fault directory, as it registers
 * @core: the engine state
 *
 * Failures are ignored: a device without its directory works the same.
 */
void vfio_mig_fault_add(struct vfio_mig_core *core)
{
	struct dentry *dir;
	unsigned int i;

	if (IS_ERR_OR_NULL(fault_root))
		return;
	dir = debugfs_create_dir(dev_name(core->mig->vdev.dev), fault_root);
	if (IS_ERR(dir))
		return;
	for (i = 0; i < VFIO_MIG_NR_FAULTS; i++)
		debugfs_create_file(fault_names[i], 0600, dir,
				    &core->faults.file[i], &fault_fops);
	core->faults.dir = dir;
}

/**
 * vfio_mig_fault_remove() - remove the device's fault directory
 * @core: the engine state
 *
 * Waits for calls in progress on its files; later calls on files still
 * open fail with EIO.  The armed faults go with the engine state.
 */
void vfio_mig_fault_remove(struct vfio_mig_core *core)
{
	debugfs_remove(core->faults.dir);
	core->faults.dir = NULL;
}

void vfio_mig_fault_module_init(void)
{
	fault_root = debugfs_create_dir("vfio_mig", NULL);
}

void vfio_mig_fault_module_exit(void)
{
	debugfs_remove(fault_root);
	fault_root = NULL;
}
