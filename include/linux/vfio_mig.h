/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-mig engine: the library that vendor drivers of emulated (mdev) VFIO
 * PCI devices link against.  The engine owns the decoding of region
 * accesses (file offset -> region index and offset, bounds, widths), the
 * bounce buffers between user memory and the driver, the
 * VFIO_DEVICE_GET_REGION_INFO argsz protocol, and the whole migration
 * region: state machine, pending accounting, data section, dirty-pfn log,
 * stream framing and validation.  The driver describes its regions, supplies
 * per-region read/write callbacks that only ever see kernel buffers and
 * checked offsets, and a small struct vfio_mig_ops for migration.
 * Documentation/vfio-migration.rst has the driver writer's guide.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _LINUX_VFIO_MIG_H
#define _LINUX_VFIO_MIG_H

#include <linux/bits.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <uapi/linux/vfio_migration.h>

/* A region's file offset is its index shifted by this many bits. */
#define VFIO_MIG_REGION_SHIFT		40
#define VFIO_MIG_REGION_OFFSET(index)	((u64)(index) << VFIO_MIG_REGION_SHIFT)
#define VFIO_MIG_OFFSET_MASK		(VFIO_MIG_REGION_OFFSET(1) - 1)

/* Upper bound on region indexes the engine dispatches. */
#define VFIO_MIG_MAX_REGIONS		16

/*
 * Access widths.  A region whose @widths is VFIO_MIG_ANY_LENGTH accepts any
 * length at any offset inside it; otherwise @widths is a mask of the allowed
 * access sizes (VFIO_MIG_W1 .. VFIO_MIG_W8) and every access must be one of
 * them, naturally aligned.
 */
#define VFIO_MIG_ANY_LENGTH	0
#define VFIO_MIG_W1		BIT(1)
#define VFIO_MIG_W2		BIT(2)
#define VFIO_MIG_W4		BIT(4)
#define VFIO_MIG_W8		BIT(8)

struct vfio_mig_device;

/**
 * struct vfio_mig_region - one region of a device, as the driver sees it
 * @size: size in bytes; 0 means the region is not implemented
 * @flags: VFIO_REGION_INFO_FLAG_READ and/or _WRITE
 * @widths: VFIO_MIG_ANY_LENGTH or a mask of VFIO_MIG_W1.._W8
 * @quiesce: refuse accesses with -EBUSY while the device is quiesced
 * @read: fill @buf with @count bytes at @off; returns 0 or -errno
 * @write: consume @count bytes of @buf at @off; returns 0 or -errno
 * @finish: optional, for regions whose reads have side effects: called
 *	after the user copy of a successful @read's result, with @copied
 *	true to commit the read's effects, false (the copy failed) to return
 *	the region to its state before that read
 *
 * The callbacks run in process context, with mig->lock held for regions
 * marked @quiesce and no engine lock otherwise (the lock hierarchy is in
 * Documentation/vfio-migration.rst, "Locking"); @off and @count were
 * checked against @size and @widths, and @buf is a kernel buffer.
 * Callbacks of a region with VFIO_MIG_ANY_LENGTH are called with at most
 * VFIO_MIG_BOUNCE_SIZE bytes at a time.  Accesses to a region with
 * @finish are serialised by mig->access_lock, held from the callback
 * through the user copy and @finish.
 */
struct vfio_mig_region {
	u64 size;
	u32 flags;
	u32 widths;
	bool quiesce;
	int (*read)(struct vfio_mig_device *mig, unsigned int index, u64 off,
		    void *buf, size_t count);
	int (*write)(struct vfio_mig_device *mig, unsigned int index, u64 off,
		     const void *buf, size_t count);
	void (*finish)(struct vfio_mig_device *mig, unsigned int index,
		       u64 off, size_t count, bool copied);
};

#define VFIO_MIG_BOUNCE_SIZE	256

struct vfio_mig_stream;

/**
 * struct vfio_mig_ops - what a vendor driver provides for migration
 * @identity: write the bytes that identify the device's model and
 *	configuration into @buf (at most @len) and return their count; a
 *	destination accepts only a stream whose identity is byte-equal to its
 *	own
 * @quiesce: stop the device: no DMA, no interrupts, no change of state
 * @unquiesce: let it run again (and deliver what became pending)
 * @save_state: emit the stop-time state with vfio_mig_emit(), one record
 *	per entry of state_types, in that order; called quiesced, or while
 *	running to measure (then the bytes are discarded)
 * @check_record: validate one incoming state record completely (length,
 *	every index, count and value); 0 or -EINVAL.  Nothing is applied.
 * @load_record: apply one record that passed @check_record; cannot fail
 * @reset: return the device to its power-on state
 * @mem_read: copy device memory out (optional: devices without memory
 *	leave @mem_read, @mem_write and mem_size unset)
 * @mem_write: copy device memory in
 *
 * Every op runs in process context with the engine's state lock held; the
 * ops take the driver's own lock as needed and must not call back into the
 * engine functions that take the state lock.  They may reach guest memory
 * through vfio_dma_rw() (Documentation/vfio-migration.rst, "Locking").
 */
struct vfio_mig_ops {
	size_t (*identity)(struct vfio_mig_device *mig, u8 *buf, size_t len);
	void (*quiesce)(struct vfio_mig_device *mig);
	void (*unquiesce)(struct vfio_mig_device *mig);
	int (*save_state)(struct vfio_mig_device *mig,
			  struct vfio_mig_stream *s);
	int (*check_record)(struct vfio_mig_device *mig, u32 type,
			    const void *p, u32 len);
	void (*load_record)(struct vfio_mig_device *mig, u32 type,
			    const void *p, u32 len);
	void (*reset)(struct vfio_mig_device *mig);
	void (*mem_read)(struct vfio_mig_device *mig, u64 off, void *buf,
			 size_t len);
	void (*mem_write)(struct vfio_mig_device *mig, u64 off,
			  const void *buf, size_t len);
};

/**
 * struct vfio_mig_config - a device's migration parameters
 * @ops: the driver's callbacks
 * @data_size: size of the data section in bytes (page multiple, >= 64 KiB)
 * @mmap: whether the data section may be mmapped
 * @mem_size: device memory in bytes (page multiple), 0 for none
 * @state_types: the driver record types of the stop-time state, in order
 * @nr_state_types: entries in @state_types
 * @max_record: the longest driver record payload, in bytes
 */
struct vfio_mig_config {
	const struct vfio_mig_ops *ops;
	u64 data_size;
	bool mmap;
	u64 mem_size;
	const u32 *state_types;
	unsigned int nr_state_types;
	u32 max_record;
};

struct vfio_mig_save;
struct vfio_mig_resume;
struct vfio_mig_v2_file;

/**
 * struct vfio_mig_log - a log of guest pages written by device DMA
 * @pages: bitmap pages, each covering 32768 pfns, indexed by pfn / 32768
 * @on: the log records DMA writes
 * @lost: a bitmap page could not be allocated; reports fail with -EIO
 */
struct vfio_mig_log {
	struct xarray pages;
	bool on;
	bool lost;
};

/* The protocol front-end that owns the session core, if any. */
enum vfio_mig_owner {
	VFIO_MIG_OWNER_NONE,
	VFIO_MIG_OWNER_REGION,	/* the vfio-mig region */
	VFIO_MIG_OWNER_V1,	/* the upstream v1 region (QEMU <= 7.2) */
	VFIO_MIG_OWNER_V2,	/* VFIO_DEVICE_FEATURE (QEMU >= 8.0) */
};

/**
 * struct vfio_mig_device - the engine's per-device state
 * @regions: region descriptions, indexed by VFIO region index
 * @num_regions: number of regions reported by VFIO_DEVICE_GET_INFO
 * @cfg: migration parameters (when @mig_index is non-zero)
 * @mig_index: the migration region's index, 0 when there is none
 * @v1_index: the v1 migration region's index (@mig_index + 1)
 * @data: the data section's buffer (vmalloc_user, device lifetime)
 * @stage: as large as @data: where a header read builds the section's
 *	next contents, copied into @data only once the read's result
 *	reached the user
 * @lock: the state lock: everything below up to @track_lock
 * @owner: the front-end whose session this is (one at a time)
 * @state: device_state of the vfio-mig region
 * @quiesced: BAR accesses are refused
 * @info: the header's stored fields (threshold, data, dirty_pfns)
 * @query: a dirty-pfn query is set up
 * @query_done: pfns of the query already reported
 * @save: the save session, or NULL
 * @resume: the resume session, or NULL
 * @v1: the v1 region's device_state, whether a chunk is handed out, and
 *	its data_size
 * @v2: the v2 device state, the open data file, if any, and the files
 *	whose session ended, to be cut off once @lock is dropped
 * @undo: what the header read in progress changed, so that it can be
 *	undone when its result cannot be copied out, and how many bytes of
 *	@stage it publishes into the data section once it was (valid while
 *	@gen is unchanged)
 * @gen: bumped whenever a session starts or ends
 * @access_lock: serialises header accesses of the migration regions, from
 *	the action through its user copy and its commit or undo; taken
 *	before @lock
 * @track_lock: protects @mem_dirty (taken from driver write paths)
 * @mem_dirty: device-memory pages written since last sent, or NULL
 * @log_lock: protects @session_log and @dma_log
 * @session_log: guest pages written during the current save session
 * @dma_log: guest pages written since v2 DMA logging started
 *
 * Embedded in the driver's device structure; the driver fills @regions
 * and calls vfio_mig_init() before the device is registered.
 */
struct vfio_mig_device {
	struct vfio_mig_region regions[VFIO_MIG_MAX_REGIONS];
	unsigned int num_regions;
	struct vfio_mig_config cfg;
	unsigned int mig_index;
	unsigned int v1_index;
	void *data;
	void *stage;

	struct mutex lock;
	enum vfio_mig_owner owner;
	u32 state;
	bool quiesced;
	struct vfio_mig_info info;
	bool query;
	u64 query_done;
	struct vfio_mig_save *save;
	struct vfio_mig_resume *resume;
	struct {
		u32 state;
		bool staged;
		u64 data_size;
	} v1;
	struct {
		u32 state;
		struct vfio_mig_v2_file *file;
		struct list_head gone;
	} v2;
	struct {
		u64 gen;
		bool chunk;
		bool query;
		u64 query_done;
		struct vfio_mig_info info;
		bool v1_staged;
		u64 v1_data_size;
		size_t publish;
	} undo;
	u64 gen;
	struct mutex access_lock;

	spinlock_t track_lock;
	unsigned long *mem_dirty;

	struct mutex log_lock;
	struct vfio_mig_log session_log;
	struct vfio_mig_log dma_log;
};

int vfio_mig_init(struct vfio_mig_device *mig,
		  const struct vfio_mig_config *cfg);
void vfio_mig_uninit(struct vfio_mig_device *mig);
void vfio_mig_reset(struct vfio_mig_device *mig);
int vfio_mig_mmap(struct vfio_mig_device *mig, struct vm_area_struct *vma);
int vfio_mig_emit(struct vfio_mig_stream *s, u32 type, const void *p,
		  u32 len);
void vfio_mig_mem_dirty(struct vfio_mig_device *mig, u64 off, u64 len);
void vfio_mig_log_dirty(struct vfio_mig_device *mig, u64 iova, u64 len);

int vfio_mig_check_access(const struct vfio_mig_device *mig, loff_t pos,
			  size_t count, bool write, unsigned int *index,
			  u64 *off);
ssize_t vfio_mig_rw(struct vfio_mig_device *mig, char __user *buf,
		    size_t count, loff_t *ppos, bool write);
struct vfio_region_info;
struct vfio_info_cap;
int vfio_mig_region_info(struct vfio_mig_device *mig,
			 struct vfio_region_info *info,
			 struct vfio_info_cap *caps);
long vfio_mig_get_region_info(struct vfio_mig_device *mig,
			      void __user *arg);

/*
 * The v2 protocol (VFIO_DEVICE_FEATURE, QEMU >= 8.0): the driver's
 * vfio_migration_ops and vfio_log_ops call these.
 */
struct vfio_device;
struct iova_bitmap;
u32 vfio_mig_v2_flags(void);
struct file *vfio_mig_v2_set_state(struct vfio_mig_device *mig,
				   struct vfio_device *vdev, u32 new_state);
int vfio_mig_v2_get_state(struct vfio_mig_device *mig, u32 *state);
int vfio_mig_v2_get_data_size(struct vfio_mig_device *mig,
			      unsigned long *stop_copy_length);
int vfio_mig_v2_log_start(struct vfio_mig_device *mig, u64 *page_size);
int vfio_mig_v2_log_stop(struct vfio_mig_device *mig);
int vfio_mig_v2_log_read_and_clear(struct vfio_mig_device *mig,
				   unsigned long iova, unsigned long length,
				   struct iova_bitmap *dirty);

#endif /* _LINUX_VFIO_MIG_H */
