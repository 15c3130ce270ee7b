// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: dirty tracking.  Three logs live here:
 *
 *  - the device-memory log (core->mem_dirty), one bit per page of device
 *    memory, set by the driver's write paths through vfio_mig_mem_dirty()
 *    and consumed by the save stream (vfio_mig_stream.c);
 *  - two guest-page logs, one bit per guest pfn the device wrote by DMA,
 *    set through vfio_mig_log_dirty(): the session log (core->session_log),
 *    which lives exactly as long as a save session and answers the region's
 *    dirty_pfns queries, and the DMA log (core->dma_log), which v2 device
 *    DMA logging starts, reports and stops.  The two never share bits: a
 *    report on one never clears a page the other has yet to report.  Each
 *    is sparse: an xarray of bitmap pages, each covering 32768 pfns,
 *    allocated only where the device wrote, so its size follows what was
 *    dirtied, never the IOVA space.
 *
 * The logs know no front-end: the vfio-mig region's queries and the v2
 * front-end's DMA logging call the functions at the end.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 *   core->lock       held by the session side (start, stop, queries).
 *   core->track_lock (spinlock) protects the mem_dirty pointer against
 *                    the driver's write paths; bits themselves are atomic.
 *   core->log_lock   (mutex) protects both guest-page logs.  Taken by
 *                    driver DMA paths under the driver's lock, by queries
 *                    under core->lock, and alone by DMA logging.
 */

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "vfio_mig_priv.h"

#define LOG_PFNS_PER_PAGE	(PAGE_SIZE * BITS_PER_BYTE)

static u64 mem_pages(const struct vfio_mig_core *core)
{
	return core->cfg.mem_size >> PAGE_SHIFT;
}

void vfio_mig_log_init(struct vfio_mig_core *core)
{
	spin_lock_init(&core->track_lock);
	mutex_init(&core->log_lock);
	xa_init(&core->session_log.pages);
	xa_init(&core->dma_log.pages);
}

/* Turn @log on (empty) or off (freed). */
static void log_switch(struct vfio_mig_core *core, struct vfio_mig_log *log,
		       bool on)
{
	unsigned long index;
	void *page;

	lockdep_assert_held(&core->log_lock);
	xa_for_each(&log->pages, index, page)
		free_page((unsigned long)page);
	xa_destroy(&log->pages);
	log->lost = false;
	log->on = on;
}

/*
 * Start both logs: every device-memory page counts as dirty (all of it is
 * still to be sent) and the guest-page log starts empty.
 */
int vfio_mig_track_start(struct vfio_mig_core *core)
{
	unsigned long *bits = NULL;
	u64 n = mem_pages(core);

	lockdep_assert_held(&core->lock);
	if (n) {
		bits = bitmap_zalloc(n, GFP_KERNEL_ACCOUNT);
		if (!bits)
			return -ENOMEM;
		bitmap_fill(bits, n);
	}
	spin_lock_irq(&core->track_lock);
	core->mem_dirty = bits;
	spin_unlock_irq(&core->track_lock);

	mutex_lock(&core->log_lock);
	log_switch(core, &core->session_log, true);
	mutex_unlock(&core->log_lock);
	return 0;
}

void vfio_mig_track_stop(struct vfio_mig_core *core)
{
	unsigned long *bits;

	lockdep_assert_held(&core->lock);
	spin_lock_irq(&core->track_lock);
	bits = core->mem_dirty;
	core->mem_dirty = NULL;
	spin_unlock_irq(&core->track_lock);
	bitmap_free(bits);

	mutex_lock(&core->log_lock);
	log_switch(core, &core->session_log, false);
	mutex_unlock(&core->log_lock);
}

u64 vfio_mig_mem_dirty_count(struct vfio_mig_core *core)
{
	lockdep_assert_held(&core->lock);
	if (!core->mem_dirty)
		return 0;
	return bitmap_weight(core->mem_dirty, mem_pages(core));
}

/**
 * vfio_mig_mem_dirty() - note a write to device memory
 * @mig: the device
 * @off: offset of the write in device memory
 * @len: its length
 *
 * Called by the driver after every change to device memory, by any path
 * (BAR writes, DMA into device memory).  Cheap when no save session runs.
 * May be called under the driver's own locks, including spinlocks.
 */
void vfio_mig_mem_dirty(struct vfio_mig_device *mig, u64 off, u64 len)
{
	struct vfio_mig_core *core = mig->core;
	u64 first, last, end;
	unsigned long flags;

	if (!len || check_add_overflow(off, len, &end) ||
	    end > core->cfg.mem_size)
		return;
	first = off >> PAGE_SHIFT;
	last = (end - 1) >> PAGE_SHIFT;
	spin_lock_irqsave(&core->track_lock, flags);
	if (core->mem_dirty) {
		if (first == last)
			set_bit(first, core->mem_dirty);
		else
			bitmap_set(core->mem_dirty, first, last - first + 1);
	}
	spin_unlock_irqrestore(&core->track_lock, flags);
}
EXPORT_SYMBOL_GPL(vfio_mig_mem_dirty);

/* Set the bits of pfns [@pfn, @last] in @log; marks it lost on ENOMEM. */
static void log_set(struct vfio_mig_log *log, u64 pfn, u64 last)
{
	while (pfn <= last) {
		unsigned long index = pfn / LOG_PFNS_PER_PAGE;
		u64 base = (u64)index * LOG_PFNS_PER_PAGE;
		u64 stop = min_t(u64, last, base + LOG_PFNS_PER_PAGE - 1);
		unsigned long *bits = xa_load(&log->pages, index);

		if (!bits) {
			bits = (unsigned long *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
			if (!bits || xa_err(xa_store(&log->pages, index, bits,
						     GFP_KERNEL_ACCOUNT))) {
				free_page((unsigned long)bits);
				log->lost = true;
				return;
			}
		}
		bitmap_set(bits, pfn - base, stop - pfn + 1);
		if (stop == U64_MAX)
			return;
		pfn = stop + 1;
	}
}

/**
 * vfio_mig_log_dirty() - note a device DMA write to guest memory
 * @mig: the device
 * @iova: the guest I/O virtual address written
 * @len: the length written
 *
 * Called by the driver after each DMA write into guest memory (through
 * vfio_dma_rw()), also when the write failed part way: every guest page
 * the span touches may have changed.  Records them in each guest-page log
 * that is on; does nothing otherwise.  Process context only: it may
 * allocate.
 */
void vfio_mig_log_dirty(struct vfio_mig_device *mig, u64 iova, u64 len)
{
	struct vfio_mig_core *core = mig->core;
	u64 end;

	if (!len || check_add_overflow(iova, len - 1, &end))
		return;
	mutex_lock(&core->log_lock);
	if (core->session_log.on)
		log_set(&core->session_log, iova >> PAGE_SHIFT,
			end >> PAGE_SHIFT);
	if (core->dma_log.on)
		log_set(&core->dma_log, iova >> PAGE_SHIFT, end >> PAGE_SHIFT);
	mutex_unlock(&core->log_lock);
}
EXPORT_SYMBOL_GPL(vfio_mig_log_dirty);

/*
 * Report and clear the logged pfns of @log in [@start, @end): @fn is
 * called for each, with the log lock held.  -EIO if the log lost pages.
 */
static int log_take(struct vfio_mig_core *core, struct vfio_mig_log *log,
		    u64 start, u64 end, void (*fn)(void *arg, u64 pfn),
		    void *arg)
{
	unsigned long index, *bits;
	u64 pfn;

	lockdep_assert_held(&core->log_lock);
	if (log->lost)
		return -EIO;
	xa_for_each_range(&log->pages, index, bits, start / LOG_PFNS_PER_PAGE,
			  (end - 1) / LOG_PFNS_PER_PAGE) {
		u64 base = (u64)index * LOG_PFNS_PER_PAGE;
		u64 lo = max(start, base) - base;
		u64 hi = min(end - base, (u64)LOG_PFNS_PER_PAGE);

		for (pfn = find_next_bit(bits, hi, lo); pfn < hi;
		     pfn = find_next_bit(bits, hi, pfn + 1)) {
			fn(arg, base + pfn);
			__clear_bit(pfn, bits);
		}
	}
	return 0;
}

struct query_out {
	u64 *bits;
	u64 start;
};

static void query_set(void *arg, u64 pfn)
{
	struct query_out *q = arg;
	u64 bit = pfn - q->start;

	q->bits[bit / 64] |= 1ULL << (bit % 64);
}

/*
 * Report and clear the session log's pfns [@first, @first + @n) into
 * @bits (bit i for pfn @first + i, u64 words, zeroed here), for a
 * dirty_pfns query; @first + @n must not overflow.
 */
int vfio_mig_session_log_take(struct vfio_mig_core *core, u64 first, u64 n,
			      u64 *bits)
{
	struct query_out q = { .bits = bits, .start = first };
	int ret;

	lockdep_assert_held(&core->lock);
	memset(bits, 0, DIV_ROUND_UP(n, 64) * sizeof(u64));
	mutex_lock(&core->log_lock);
	ret = log_take(core, &core->session_log, first, first + n, query_set,
		       &q);
	mutex_unlock(&core->log_lock);
	return ret;
}

/*
 * Give back what vfio_mig_session_log_take() reported into @bits: the
 * pfns are logged again.  The log's bitmap pages are never freed during
 * a session, so nothing is allocated here.
 */
void vfio_mig_session_log_put(struct vfio_mig_core *core, u64 first, u64 n,
			      const u64 *bits)
{
	const unsigned long *set = (const unsigned long *)bits;
	u64 i;

	lockdep_assert_held(&core->lock);
	mutex_lock(&core->log_lock);
	/* Word by word: a large query chunk is mostly empty words. */
	for (i = find_first_bit(set, n); i < n;
	     i = find_next_bit(set, n, i + 1)) {
		u64 pfn = first + i;
		unsigned long *page = xa_load(&core->session_log.pages,
					      pfn / LOG_PFNS_PER_PAGE);

		if (page)
			set_bit(pfn % LOG_PFNS_PER_PAGE, page);
	}
	mutex_unlock(&core->log_lock);
}

/*
 * Device DMA logging (the v2 front-end's VFIO_DEVICE_FEATURE_DMA_LOGGING_*):
 * a log apart from the session log, so that it neither disturbs nor is
 * disturbed by a save session of any front-end.
 */

/* Start an empty DMA log; -EBUSY if it is on already (it is kept). */
int vfio_mig_dma_log_start(struct vfio_mig_core *core)
{
	int ret = -EBUSY;

	mutex_lock(&core->log_lock);
	if (!core->dma_log.on) {
		log_switch(core, &core->dma_log, true);
		ret = 0;
	}
	mutex_unlock(&core->log_lock);
	return ret;
}

void vfio_mig_dma_log_stop(struct vfio_mig_core *core)
{
	mutex_lock(&core->log_lock);
	log_switch(core, &core->dma_log, false);
	mutex_unlock(&core->log_lock);
}

/*
 * Report and clear the DMA log's pfns in [@first, @end): @fn is called for
 * each.  -EINVAL if logging is off, -EIO if the log lost pages.
 */
int vfio_mig_dma_log_take(struct vfio_mig_core *core, u64 first, u64 end,
			  void (*fn)(void *arg, u64 pfn), void *arg)
{
	int ret = -EINVAL;

	mutex_lock(&core->log_lock);
	if (core->dma_log.on)
		ret = log_take(core, &core->dma_log, first, end, fn, arg);
	mutex_unlock(&core->log_lock);
	return ret;
}
