// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: dirty tracking.  Three logs live here:
 *
 *  - the device-memory log (mig->mem_dirty), one bit per page of device
 *    memory, set by the driver's write paths through vfio_mig_mem_dirty()
 *    and consumed by the save stream (vfio_mig_stream.c);
 *  - two guest-page logs, one bit per guest pfn the device wrote by DMA,
 *    set through vfio_mig_log_dirty(): the session log (mig->session_log),
 *    which lives exactly as long as a save session and answers the region's
 *    dirty_pfns queries, and the DMA log (mig->dma_log), which v2 device
 *    DMA logging starts, reports and stops.  The two never share bits: a
 *    report on one never clears a page the other has yet to report.  Each
 *    is sparse: an xarray of bitmap pages, each covering 32768 pfns,
 *    allocated only where the device wrote, so its size follows what was
 *    dirtied, never the IOVA space.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking (the hierarchy: Documentation/vfio-migration.rst, "Locking"):
 *   mig->lock       held by the session side (start, stop, queries).
 *   mig->track_lock (spinlock) protects the mem_dirty pointer against the
 *                   driver's write paths; bits themselves are atomic.
 *   mig->log_lock   (mutex) protects both guest-page logs.  Taken by
 *                   driver DMA paths under the driver's lock, by queries
 *                   under mig->lock, and alone by DMA logging.
 */

#include <linux/bitmap.h>
#include <linux/iova_bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "vfio_mig_priv.h"

#define LOG_PFNS_PER_PAGE	(PAGE_SIZE * BITS_PER_BYTE)

static u64 mem_pages(const struct vfio_mig_device *mig)
{
	return mig->cfg.mem_size >> PAGE_SHIFT;
}

void vfio_mig_log_init(struct vfio_mig_device *mig)
{
	spin_lock_init(&mig->track_lock);
	mutex_init(&mig->log_lock);
	xa_init(&mig->session_log.pages);
	xa_init(&mig->dma_log.pages);
}

/* Turn @log on (empty) or off (freed). */
static void log_switch(struct vfio_mig_device *mig, struct vfio_mig_log *log,
		       bool on)
{
	unsigned long index;
	void *page;

	lockdep_assert_held(&mig->log_lock);
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
int vfio_mig_track_start(struct vfio_mig_device *mig)
{
	unsigned long *bits = NULL;
	u64 n = mem_pages(mig);

	lockdep_assert_held(&mig->lock);
	if (n) {
		bits = bitmap_zalloc(n, GFP_KERNEL_ACCOUNT);
		if (!bits)
			return -ENOMEM;
		bitmap_fill(bits, n);
	}
	spin_lock_irq(&mig->track_lock);
	mig->mem_dirty = bits;
	spin_unlock_irq(&mig->track_lock);

	mutex_lock(&mig->log_lock);
	log_switch(mig, &mig->session_log, true);
	mutex_unlock(&mig->log_lock);
	mig->query = false;
	return 0;
}

void vfio_mig_track_stop(struct vfio_mig_device *mig)
{
	unsigned long *bits;

	lockdep_assert_held(&mig->lock);
	spin_lock_irq(&mig->track_lock);
	bits = mig->mem_dirty;
	mig->mem_dirty = NULL;
	spin_unlock_irq(&mig->track_lock);
	bitmap_free(bits);

	mutex_lock(&mig->log_lock);
	log_switch(mig, &mig->session_log, false);
	mutex_unlock(&mig->log_lock);
	mig->query = false;
}

u64 vfio_mig_mem_dirty_count(struct vfio_mig_device *mig)
{
	lockdep_assert_held(&mig->lock);
	if (!mig->mem_dirty)
		return 0;
	return bitmap_weight(mig->mem_dirty, mem_pages(mig));
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
	u64 first, last, end;
	unsigned long flags;

	if (!len || check_add_overflow(off, len, &end) ||
	    end > mig->cfg.mem_size)
		return;
	first = off >> PAGE_SHIFT;
	last = (end - 1) >> PAGE_SHIFT;
	spin_lock_irqsave(&mig->track_lock, flags);
	if (mig->mem_dirty) {
		if (first == last)
			set_bit(first, mig->mem_dirty);
		else
			bitmap_set(mig->mem_dirty, first, last - first + 1);
	}
	spin_unlock_irqrestore(&mig->track_lock, flags);
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
	u64 end;

	if (!len || check_add_overflow(iova, len - 1, &end))
		return;
	mutex_lock(&mig->log_lock);
	if (mig->session_log.on)
		log_set(&mig->session_log, iova >> PAGE_SHIFT,
			end >> PAGE_SHIFT);
	if (mig->dma_log.on)
		log_set(&mig->dma_log, iova >> PAGE_SHIFT, end >> PAGE_SHIFT);
	mutex_unlock(&mig->log_lock);
}
EXPORT_SYMBOL_GPL(vfio_mig_log_dirty);

/*
 * Report and clear the logged pfns of @log in [@start, @end): @fn is
 * called for each, with the log lock held.  -EIO if the log lost pages.
 */
static int log_take(struct vfio_mig_device *mig, struct vfio_mig_log *log,
		    u64 start, u64 end, void (*fn)(void *arg, u64 pfn),
		    void *arg)
{
	unsigned long index, *bits;
	u64 pfn;

	lockdep_assert_held(&mig->log_lock);
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
 * Produce the next chunk of the current dirty_pfns query at the start of
 * the stage (the caller publishes it into the data section) and clear
 * what it reports.  *copied is the number of pfns the chunk covers; 0 once
 * the query is complete.
 */
int vfio_mig_query_chunk(struct vfio_mig_device *mig, u64 *copied)
{
	u64 max = (mig->cfg.data_size - sizeof(u64)) * BITS_PER_BYTE;
	struct query_out q = { .bits = mig->stage };
	u64 n;
	int ret;

	lockdep_assert_held(&mig->lock);
	if (!mig->query)
		return -EINVAL;
	n = min(mig->info.dirty_pfns.total - mig->query_done, max);
	*copied = n;
	if (!n)
		return 0;
	q.start = (mig->info.dirty_pfns.start_addr >> PAGE_SHIFT) +
		  mig->query_done;

	memset(q.bits, 0, DIV_ROUND_UP(n, 64) * sizeof(u64));
	mutex_lock(&mig->log_lock);
	/* start + n cannot overflow: checked when the query was set up. */
	ret = log_take(mig, &mig->session_log, q.start, q.start + n,
		       query_set, &q);
	if (!ret)
		mig->query_done += n;
	mutex_unlock(&mig->log_lock);
	return ret;
}

/*
 * Take back the query chunk just produced, which reported the pfns from
 * @done on: its bits, still in the stage, go back into the session log
 * and the query resumes at @done.  The log's bitmap pages are never freed
 * during a session, so nothing is allocated here.
 */
void vfio_mig_query_undo(struct vfio_mig_device *mig, u64 done)
{
	const unsigned long *bits = mig->stage;
	u64 start, n, i;

	lockdep_assert_held(&mig->lock);
	if (WARN_ON(!mig->query || done > mig->query_done))
		return;
	start = (mig->info.dirty_pfns.start_addr >> PAGE_SHIFT) + done;
	n = mig->query_done - done;
	mutex_lock(&mig->log_lock);
	for (i = find_first_bit(bits, n); i < n; i = find_next_bit(bits, n, i + 1)) {
		u64 pfn = start + i;
		unsigned long *page = xa_load(&mig->session_log.pages,
					      pfn / LOG_PFNS_PER_PAGE);

		if (page)
			set_bit(pfn % LOG_PFNS_PER_PAGE, page);
	}
	mutex_unlock(&mig->log_lock);
	mig->query_done = done;
}

/* ---------------------------------------------------------------------- */
/* v2 device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*) */

/**
 * vfio_mig_v2_log_start() - serve vfio_log_ops.log_start
 * @mig: the device
 * @page_size: in: the page size asked for; out: the one used (PAGE_SIZE)
 *
 * Starts an empty DMA log that records every DMA write until
 * vfio_mig_v2_log_stop(), a reset or close.  It is apart from the session
 * log, so it neither disturbs nor is disturbed by a save session of any
 * front-end.  The ranges the user names are not needed: reports are
 * clipped to what is asked.
 *
 * Return: 0, or -EBUSY if logging is already on (the log is kept).
 */
int vfio_mig_v2_log_start(struct vfio_mig_device *mig, u64 *page_size)
{
	int ret = -EBUSY;

	mutex_lock(&mig->log_lock);
	if (!mig->dma_log.on) {
		log_switch(mig, &mig->dma_log, true);
		ret = 0;
	}
	mutex_unlock(&mig->log_lock);
	*page_size = PAGE_SIZE;
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mig_v2_log_start);

/**
 * vfio_mig_v2_log_stop() - serve vfio_log_ops.log_stop
 * @mig: the device
 *
 * Also called on reset and close: logging never outlives the open.
 *
 * Return: 0.
 */
int vfio_mig_v2_log_stop(struct vfio_mig_device *mig)
{
	mutex_lock(&mig->log_lock);
	log_switch(mig, &mig->dma_log, false);
	mutex_unlock(&mig->log_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_v2_log_stop);

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

/**
 * vfio_mig_v2_log_read_and_clear() - serve vfio_log_ops.log_read_and_clear
 * @mig: the device
 * @iova: start of the range asked for, a multiple of PAGE_SIZE
 * @length: its length, a multiple of PAGE_SIZE
 * @dirty: the bitmap to report into
 *
 * Reports and clears the logged pages in [@iova, @iova + @length), and
 * sets no bit outside that window.
 *
 * Return: 0; -EINVAL if logging is off, or the range is empty, wraps or
 * is not page aligned; -EIO if the log could not record every page.
 */
int vfio_mig_v2_log_read_and_clear(struct vfio_mig_device *mig,
				   unsigned long iova, unsigned long length,
				   struct iova_bitmap *dirty)
{
	struct report_out r = { .dirty = dirty, .first = iova };
	int ret = -EINVAL;

	if (!length || !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(length) ||
	    check_add_overflow((u64)iova, (u64)length - 1, &r.last))
		return -EINVAL;
	mutex_lock(&mig->log_lock);
	if (mig->dma_log.on)
		ret = log_take(mig, &mig->dma_log, iova >> PAGE_SHIFT,
			       (r.last >> PAGE_SHIFT) + 1, report_set, &r);
	mutex_unlock(&mig->log_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mig_v2_log_read_and_clear);
