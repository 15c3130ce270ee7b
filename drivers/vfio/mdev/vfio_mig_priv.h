/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-mig engine internals shared by its source files: the core's private
 * state, the front-ends' state, and what each file offers the others.
 *
 * The layers, each calling only those below it:
 *   vfio_mig_main.c      init, uninit, open, close, ioctl, device-wide reset
 *   vfio_mig_region.c, vfio_mig_v1.c, vfio_mig_v2.c   the three front-ends
 *   vfio_mig_access.c    region access decoding, info, caps, mmap
 *   vfio_mig_session.c   ownership, quiesce, save/resume life cycles, the
 *                        data section
 *   vfio_mig_stream.c    the record codec
 *   vfio_mig_log.c       the dirty logs
 * and beside them what is not migration, called by vfio_mig_main.c and by
 * the drivers:
 *   vfio_mig_dev.c       mdev parent, registration, the MSI vector
 *   vfio_mig_pci.c       the emulated PCI config space
 * The access layer calls the front-ends only through region callbacks.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _VFIO_MIG_PRIV_H
#define _VFIO_MIG_PRIV_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vfio_mig.h>
#include <linux/xarray.h>

#define VFIO_MIG_HDR_PAGE	PAGE_SIZE	/* data section offset */
#define VFIO_MIG_REC_HDR	sizeof(struct vfio_mig_record_hdr)
#define VFIO_MIG_PAGE_REC	(VFIO_MIG_REC_HDR + sizeof(struct vfio_mig_mem_page) + \
				 VFIO_MIG_STREAM_PAGE_SIZE)
#define VFIO_MIG_MAX_IDENTITY	256
#define VFIO_MIG_MIN_DATA	SZ_64K
#define VFIO_MIG_MAX_DATA	SZ_256M
#define VFIO_MIG_MAX_RECORD	SZ_1M
#define VFIO_MIG_MIN_CHUNK	SZ_64K	/* a chunk buffer holds a page record */

/*
 * The key of a header access, one field or sub-struct: its offset and its
 * length.  Header decoders switch on it.
 */
#define VFIO_MIG_KEY(off, len)	((u64)(off) | (u64)(len) << 32)

/* Writer handed to ops->save_state; buf == NULL only measures. */
struct vfio_mig_stream {
	u8 *buf;
	size_t len;
	size_t cap;
	u32 seq;
	int err;
};

/*
 * The copier handed to ops->mem_read and ops->mem_write: vfio_mig_copy()
 * moves the bytes and sums them into @crc in one pass.
 */
struct vfio_mig_copy {
	u32 crc;		/* raw CRC32C so far */
	size_t done;		/* bytes moved */
	bool to_device;		/* a mem_write: prefetch the destination */
};

/* A save session: from its start to its end. */
struct vfio_mig_save {
	bool header_sent;
	u32 seq;		/* seq of the next record produced */
	u8 *state;		/* stop-time records and END, once stopped */
	size_t state_len;
	size_t state_off;	/* bytes of @state already handed out */
	u64 *taken;		/* pages the last chunk carried */
	u64 ntaken;
	u64 next_page;		/* where the search for dirty pages goes on */
	bool swept;		/* the first pass over device memory ended */
	struct {		/* the cursor before the last chunk */
		bool header_sent;
		u32 seq;
		size_t state_off;
		u64 next_page;
		bool swept;
	} undo;
};

enum vfio_mig_phase {
	VFIO_MIG_WANT_HEADER,
	VFIO_MIG_WANT_BODY,
	VFIO_MIG_DONE,
};

/* A resume session: from its start to its completion or abort. */
struct vfio_mig_resume {
	u8 hdr[sizeof(struct vfio_mig_record_hdr)];
	u32 hdr_have;
	bool in_payload;
	u32 type;
	u32 len;
	u32 have;
	u32 crc;		/* raw CRC32C of the record so far */
	u64 page_off;		/* a MEM_PAGE record's offset, once checked */
	u8 *payload;		/* kvmalloc, max_payload bytes */
	u32 max_payload;
	u32 seq;		/* seq the next record must carry */
	enum vfio_mig_phase phase;
	unsigned int next_state;	/* index into cfg.state_types */
	bool failed;
	unsigned long *received;	/* device-memory pages received */
	u64 npages;		/* bits set in @received */
	u8 *records;		/* validated driver records, max_record each */
	u32 *state_len;
};

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

/*
 * A header read with side effects, between its action and the user copy
 * of its result: the session generation it ran in, whether it produced a
 * chunk of the stream, and how many bytes of the stage it publishes into
 * the data section once its result reached the user.
 */
struct vfio_mig_read {
	u64 gen;
	bool chunk;
	size_t publish;
};

/* The vfio-mig region front-end (vfio_mig_region.c). */
struct vfio_mig_region_fe {
	u32 state;		/* its device_state */
	struct vfio_mig_info info;	/* the header's stored fields */
	bool query;		/* a dirty-pfn query is set up */
	u64 query_done;		/* pfns of the query already reported */
	struct vfio_mig_read rd;
	struct {		/* what the read in progress changed */
		bool query;
		u64 query_done;
		struct vfio_mig_info info;
	} undo;
};

/* The v1 front-end (vfio_mig_v1.c). */
struct vfio_mig_v1_fe {
	u32 state;		/* the v1 device_state */
	bool staged;		/* a chunk is handed out */
	u64 data_size;
	u64 out;		/* stream bytes of this save handed out */
	s64 fail_at;		/* injected: chunks past this offset fail, or -1 */
	s64 flip_at;		/* injected: the byte to flip, or -1 */
	bool read_failed;	/* fail_at fired: every staging read fails */
	bool flipped;		/* the read being served flipped a byte */
	bool fail_write;	/* injected: refuse the first data_size write */
	struct vfio_mig_read rd;
	struct {
		bool staged;
		u64 data_size;
		u64 out;
		s64 flip_at;
	} undo;
};

struct vfio_mig_v2_file;

/* The faults of debugfs (vfio_mig_fault.c), by their file. */
enum {
	VFIO_MIG_FAULT_STATE,
	VFIO_MIG_FAULT_SAVE_AFTER,
	VFIO_MIG_FAULT_FLIP_BYTE,
	VFIO_MIG_FAULT_RESUME,
	VFIO_MIG_FAULT_STALL_MS,
	VFIO_MIG_FAULT_DMA_LOG_START,
	VFIO_MIG_FAULT_DMA_LOG_REPORT,
	VFIO_MIG_NR_FAULTS
};

struct vfio_mig_fault_file {
	struct vfio_mig_core *core;
	unsigned int kind;
};

/**
 * struct vfio_mig_faults - the faults armed on a device
 * @lock: guards @armed and @val (a spinlock: nothing sleeps under it)
 * @armed: the fault is armed
 * @val: its value: a state, a stream offset, milliseconds
 * @file: each debugfs file's private data
 * @dir: the device's debugfs directory, or NULL or an ERR_PTR
 */
struct vfio_mig_faults {
	spinlock_t lock;
	bool armed[VFIO_MIG_NR_FAULTS];
	u64 val[VFIO_MIG_NR_FAULTS];
	struct vfio_mig_fault_file file[VFIO_MIG_NR_FAULTS];
	struct dentry *dir;
};

/* The v2 front-end (vfio_mig_v2.c). */
struct vfio_mig_v2_fe {
	u32 state;		/* enum vfio_device_mig_state */
	struct vfio_mig_v2_file *file;	/* the session's data file */
	struct list_head gone;	/* files to cut off once @lock is dropped */
};

/**
 * struct vfio_mig_core - the engine's private per-device state
 * @mig: the device, for the driver's callbacks
 * @cfg: migration parameters
 * @mig_index: the vfio-mig region's index
 * @v1_index: the v1 migration region's index (@mig_index + 1)
 * @data: the data section's buffer (vmalloc_user, device lifetime)
 * @stage: as large as @data: where a header read builds the section's
 *	next contents, copied into @data only once the read's result
 *	reached the user
 * @lock: the state lock: everything below up to @access_lock
 * @owner: the front-end whose session this is (one at a time)
 * @quiesced: the device is stopped; quiesce regions are refused
 * @gen: bumped whenever a session starts or ends
 * @save: the save session, or NULL
 * @resume: the resume session, or NULL
 * @region: the vfio-mig region front-end's state
 * @v1: the v1 front-end's state
 * @v2: the v2 front-end's state
 * @access_lock: serialises accesses to regions with a finish callback,
 *	from the action through its user copy and its commit or undo;
 *	taken before @lock
 * @msi_lock: protects @msi
 * @msi: the MSI vector's eventfd (with cfg.msi), or NULL
 * @track_lock: protects @mem_dirty (taken from driver write paths)
 * @mem_dirty: device-memory pages written since last sent, or NULL
 * @log_lock: protects @session_log and @dma_log
 * @session_log: guest pages written during the current save session
 * @dma_log: guest pages written since device DMA logging started
 * @faults: the faults armed in debugfs (its own lock)
 */
struct vfio_mig_core {
	struct vfio_mig_device *mig;
	struct vfio_mig_config cfg;
	unsigned int mig_index;
	unsigned int v1_index;
	void *data;
	void *stage;

	struct mutex lock;
	enum vfio_mig_owner owner;
	bool quiesced;
	u64 gen;
	struct vfio_mig_save *save;
	struct vfio_mig_resume *resume;
	struct vfio_mig_region_fe region;
	struct vfio_mig_v1_fe v1;
	struct vfio_mig_v2_fe v2;

	struct mutex access_lock;

	spinlock_t msi_lock;
	struct eventfd_ctx *msi;

	spinlock_t track_lock;
	unsigned long *mem_dirty;

	struct mutex log_lock;
	struct vfio_mig_log session_log;
	struct vfio_mig_log dma_log;

	struct vfio_mig_faults faults;
};

static inline struct vfio_mig_core *vfio_mig_core(struct vfio_device *vdev)
{
	return container_of(vdev, struct vfio_mig_device, vdev)->core;
}

static inline u64 vfio_mig_region_size(const struct vfio_mig_core *core)
{
	return VFIO_MIG_HDR_PAGE + core->cfg.data_size;
}

/* vfio_mig_access.c */
long vfio_mig_get_region_info(struct vfio_mig_device *mig, void __user *arg);

/* vfio_mig_session.c */
void vfio_mig_session_init(struct vfio_mig_core *core);
bool vfio_mig_session_gate(struct vfio_mig_core *core);
void vfio_mig_session_ungate(struct vfio_mig_core *core);
int vfio_mig_claim(struct vfio_mig_core *core, enum vfio_mig_owner who);
void vfio_mig_release(struct vfio_mig_core *core, bool idle);
void vfio_mig_quiesce(struct vfio_mig_core *core);
void vfio_mig_unquiesce(struct vfio_mig_core *core);
int vfio_mig_save_start(struct vfio_mig_core *core);
void vfio_mig_save_drop(struct vfio_mig_core *core);
int vfio_mig_stop_copy(struct vfio_mig_core *core);
bool vfio_mig_save_stopped(struct vfio_mig_core *core);
int vfio_mig_resume_start(struct vfio_mig_core *core);
void vfio_mig_resume_drop(struct vfio_mig_core *core);
int vfio_mig_resume_finish(struct vfio_mig_core *core);
void vfio_mig_resume_fail(struct vfio_mig_core *core);
void vfio_mig_session_abort(struct vfio_mig_core *core);
void vfio_mig_read_begin(struct vfio_mig_core *core,
			 struct vfio_mig_read *rd);
bool vfio_mig_read_end(struct vfio_mig_core *core, struct vfio_mig_read *rd,
		       bool copied);
ssize_t vfio_mig_data_rw(struct vfio_mig_core *core, enum vfio_mig_owner own,
			 u64 off, char __user *buf, size_t count, bool write);
int vfio_mig_data_caps(struct vfio_mig_core *core, u32 type, u32 subtype,
		       struct vfio_info_cap *caps);
int vfio_mig_data_mmap(struct vfio_mig_core *core, u64 off,
		       struct vm_area_struct *vma);

/* vfio_mig_crc.c */
int vfio_mig_crc_choose(const char *name);
u32 vfio_mig_crc32c_copy(u32 crc, void *dst, const void *src, size_t len,
			 bool to_far);
int vfio_mig_crc_init(void);

/* vfio_mig_stream.c */
u32 vfio_mig_crc(const struct vfio_mig_record_hdr *h, const void *p, u32 len);
size_t vfio_mig_identity(struct vfio_mig_core *core, u8 *buf);
int vfio_mig_state_size(struct vfio_mig_core *core, size_t *size);
int vfio_mig_state_save(struct vfio_mig_core *core, u8 *buf, size_t size,
			u32 seq);
u32 vfio_mig_max_payload(const struct vfio_mig_core *core);
u64 vfio_mig_max_taken(const struct vfio_mig_core *core);
void vfio_mig_save_pending(struct vfio_mig_core *core, u64 *precopy,
			   u64 *postcopy);
u64 vfio_mig_save_initial(struct vfio_mig_core *core);
u64 vfio_mig_save_estimate(struct vfio_mig_core *core);
u64 vfio_mig_save_chunk(struct vfio_mig_core *core, u8 *dst, u64 cap);
void vfio_mig_save_unchunk(struct vfio_mig_core *core);
int vfio_mig_resume_feed(struct vfio_mig_core *core, const u8 *src,
			 u64 size);
bool vfio_mig_resume_complete(struct vfio_mig_core *core);
const u8 *vfio_mig_resume_record(struct vfio_mig_core *core, unsigned int i);

/* vfio_mig_log.c */
void vfio_mig_log_init(struct vfio_mig_core *core);
int vfio_mig_track_start(struct vfio_mig_core *core);
void vfio_mig_track_stop(struct vfio_mig_core *core);
u64 vfio_mig_mem_dirty_count(struct vfio_mig_core *core);
int vfio_mig_session_log_take(struct vfio_mig_core *core, u64 first, u64 n,
			      u64 *bits);
void vfio_mig_session_log_put(struct vfio_mig_core *core, u64 first, u64 n,
			      const u64 *bits);
int vfio_mig_dma_log_start(struct vfio_mig_core *core);
void vfio_mig_dma_log_stop(struct vfio_mig_core *core);
int vfio_mig_dma_log_take(struct vfio_mig_core *core, u64 first, u64 end,
			  void (*fn)(void *arg, u64 pfn), void *arg);

/* vfio_mig_dev.c and vfio_mig_pci.c, for vfio_mig_main.c */
void vfio_mig_msi_release(struct vfio_mig_core *core);
long vfio_mig_set_irqs(struct vfio_mig_core *core, void __user *arg);
void vfio_mig_pci_region_setup(struct vfio_mig_device *mig,
			       struct vfio_mig_region *r);

/* vfio_mig_fault.c */
void vfio_mig_fault_init(struct vfio_mig_core *core);
void vfio_mig_fault_add(struct vfio_mig_core *core);
void vfio_mig_fault_remove(struct vfio_mig_core *core);
void vfio_mig_fault_module_init(void);
void vfio_mig_fault_module_exit(void);
bool vfio_mig_fault_state(struct vfio_mig_core *core, u32 next,
			  const char *outcome);
void vfio_mig_fault_stall(struct vfio_mig_core *core);
void vfio_mig_fault_save(struct vfio_mig_core *core, s64 *fail_at,
			 s64 *flip_at);
bool vfio_mig_fault_resume(struct vfio_mig_core *core);
void vfio_mig_fault_fire(struct vfio_mig_core *core, const char *what);
bool vfio_mig_fault_dma_log(struct vfio_mig_core *core, bool report);

/* The front-ends, for vfio_mig_main.c */
void vfio_mig_region_setup(struct vfio_mig_core *core,
			   struct vfio_mig_region *r);
void vfio_mig_region_abort(struct vfio_mig_core *core);
void vfio_mig_v1_setup(struct vfio_mig_core *core, struct vfio_mig_region *r);
void vfio_mig_v1_abort(struct vfio_mig_core *core);
void vfio_mig_v2_setup(struct vfio_mig_core *core);
void vfio_mig_v2_abort(struct vfio_mig_core *core);
void vfio_mig_v2_cut_off(struct vfio_mig_core *core);

#endif /* _VFIO_MIG_PRIV_H */
