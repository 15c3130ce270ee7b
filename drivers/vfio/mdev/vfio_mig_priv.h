/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-mig engine internals shared by its source files.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _VFIO_MIG_PRIV_H
#define _VFIO_MIG_PRIV_H

#include <linux/vfio_mig.h>

#define VFIO_MIG_HDR_PAGE	PAGE_SIZE	/* data section offset */
#define VFIO_MIG_REC_HDR	sizeof(struct vfio_mig_record_hdr)
#define VFIO_MIG_PAGE_REC	(VFIO_MIG_REC_HDR + sizeof(struct vfio_mig_mem_page) + \
				 VFIO_MIG_STREAM_PAGE_SIZE)
#define VFIO_MIG_MAX_IDENTITY	256
#define VFIO_MIG_MIN_DATA	SZ_64K
#define VFIO_MIG_MAX_DATA	SZ_256M
#define VFIO_MIG_MAX_RECORD	SZ_1M
#define VFIO_MIG_MIN_CHUNK	SZ_64K	/* a chunk buffer holds a page record */

/* Writer handed to ops->save_state; buf == NULL only measures. */
struct vfio_mig_stream {
	u8 *buf;
	size_t len;
	size_t cap;
	u32 seq;
	int err;
};

/* A save session: from SETUP (or STOPNCOPY) to its end. */
struct vfio_mig_save {
	bool header_sent;
	u32 seq;		/* seq of the next record produced */
	u8 *state;		/* stop-time records and END, once stopped */
	size_t state_len;
	size_t state_off;	/* bytes of @state already handed out */
	u64 *taken;		/* pages the last chunk carried */
	u64 ntaken;
	struct {		/* the cursor before the last chunk */
		bool header_sent;
		u32 seq;
		size_t state_off;
	} undo;
};

enum vfio_mig_phase {
	VFIO_MIG_WANT_HEADER,
	VFIO_MIG_WANT_BODY,
	VFIO_MIG_DONE,
};

/* A resume session: from RESUME to RESUME_COMPLETED or its abort. */
struct vfio_mig_resume {
	u8 hdr[sizeof(struct vfio_mig_record_hdr)];
	u32 hdr_have;
	bool in_payload;
	u32 type;
	u32 len;
	u32 have;
	u8 *payload;		/* kvmalloc, max_payload bytes */
	u32 max_payload;
	u32 seq;		/* seq the next record must carry */
	enum vfio_mig_phase phase;
	unsigned int next_state;	/* index into cfg.state_types */
	bool failed;
	u8 *shadow;		/* device memory as received (vmalloc) */
	unsigned long *received;	/* pages of @shadow received */
	u64 npages;		/* bits set in @received */
	u8 *records;		/* validated driver records, max_record each */
	u32 *state_len;
};

static inline u64 vfio_mig_region_size(const struct vfio_mig_device *mig)
{
	return VFIO_MIG_HDR_PAGE + mig->cfg.data_size;
}

static inline bool vfio_mig_saving(u32 state)
{
	return state == VFIO_MIG_STATE_SETUP ||
	       state == VFIO_MIG_STATE_PRECOPY ||
	       state == VFIO_MIG_STATE_STOPNCOPY;
}

/* vfio_mig_region.c: the session core's helpers and the vfio-mig region */
void vfio_mig_quiesce(struct vfio_mig_device *mig);
void vfio_mig_unquiesce(struct vfio_mig_device *mig);
int vfio_mig_claim(struct vfio_mig_device *mig, enum vfio_mig_owner who);
void vfio_mig_release(struct vfio_mig_device *mig, bool idle);
int vfio_mig_region_read(struct vfio_mig_device *mig, unsigned int index,
			 u64 off, void *buf, size_t count);
int vfio_mig_region_write(struct vfio_mig_device *mig, unsigned int index,
			  u64 off, const void *buf, size_t count);
void vfio_mig_region_finish(struct vfio_mig_device *mig, unsigned int index,
			    u64 off, size_t count, bool copied);

/* vfio_mig_v1.c */
int vfio_mig_v1_read(struct vfio_mig_device *mig, unsigned int index,
		     u64 off, void *buf, size_t count);
int vfio_mig_v1_write(struct vfio_mig_device *mig, unsigned int index,
		      u64 off, const void *buf, size_t count);
void vfio_mig_v1_finish(struct vfio_mig_device *mig, unsigned int index,
			u64 off, size_t count, bool copied);
void vfio_mig_v1_reset(struct vfio_mig_device *mig);

/* vfio_mig_v2.c */
void vfio_mig_v2_reset(struct vfio_mig_device *mig);
void vfio_mig_v2_cut_off(struct vfio_mig_device *mig);

/* vfio_mig_stream.c */
u32 vfio_mig_crc(const struct vfio_mig_record_hdr *h, const void *p, u32 len);
int vfio_mig_save_start(struct vfio_mig_device *mig);
void vfio_mig_save_drop(struct vfio_mig_device *mig);
int vfio_mig_save_stop(struct vfio_mig_device *mig);
void vfio_mig_save_pending(struct vfio_mig_device *mig, u64 *precopy,
			   u64 *postcopy);
u64 vfio_mig_save_estimate(struct vfio_mig_device *mig);
u64 vfio_mig_save_chunk(struct vfio_mig_device *mig, u8 *dst, u64 cap);
void vfio_mig_save_unchunk(struct vfio_mig_device *mig);
int vfio_mig_resume_start(struct vfio_mig_device *mig);
void vfio_mig_resume_drop(struct vfio_mig_device *mig);
int vfio_mig_resume_feed(struct vfio_mig_device *mig, const u8 *src,
			 u64 size);
int vfio_mig_resume_finish(struct vfio_mig_device *mig);

/* vfio_mig_log.c */
int vfio_mig_track_start(struct vfio_mig_device *mig);
void vfio_mig_track_stop(struct vfio_mig_device *mig);
u64 vfio_mig_mem_dirty_count(struct vfio_mig_device *mig);
int vfio_mig_query_chunk(struct vfio_mig_device *mig, u64 *copied);
void vfio_mig_query_undo(struct vfio_mig_device *mig, u64 done);
void vfio_mig_log_init(struct vfio_mig_device *mig);

#endif /* _VFIO_MIG_PRIV_H */
