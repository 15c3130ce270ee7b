/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * The vfio-mig migration region: a device-specific VFIO region through which
 * userspace drives a device's live migration.  Documentation/
 * vfio-migration.rst is the specification; this header is its binary form.
 *
 * The values and the layout are those of the November 2018 "VFIO KABI for
 * migration interface" proposal.  Every identifier carries the VFIO_MIG_ /
 * vfio_mig_ prefix, because the proposal's own names collide with
 * <linux/vfio.h> since Linux 5.8.  This header may be included before or
 * after <linux/vfio.h>.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _UAPI_LINUX_VFIO_MIGRATION_H
#define _UAPI_LINUX_VFIO_MIGRATION_H

#include <linux/types.h>

/* Region type and subtype, announced with VFIO_REGION_INFO_CAP_TYPE. */
#define VFIO_MIG_REGION_TYPE		(1 << 30)
#define VFIO_MIG_REGION_SUBTYPE		(1)

/* Values of vfio_mig_info.device_state. */
#define VFIO_MIG_STATE_NONE			0
#define VFIO_MIG_STATE_RUNNING			1
#define VFIO_MIG_STATE_SETUP			2
#define VFIO_MIG_STATE_PRECOPY			3
#define VFIO_MIG_STATE_STOPNCOPY		4
#define VFIO_MIG_STATE_SAVE_COMPLETED		5
#define VFIO_MIG_STATE_RESUME			6
#define VFIO_MIG_STATE_RESUME_COMPLETED		7
#define VFIO_MIG_STATE_FAILED			8
#define VFIO_MIG_STATE_CANCELLED		9
#define VFIO_MIG_NUM_STATES			10

/*
 * The header at offset 0 of the region.  Packed, host byte order.  Accesses
 * are legal only as one whole field at its own offset and width, or as one
 * whole sub-struct (pending, data, dirty_pfns).
 */
struct vfio_mig_info {
	__u32 device_state;
	struct {
		__u64 precopy_only;
		__u64 compatible;
		__u64 postcopy_only;
		__u64 threshold_size;
	} pending;
	struct {
		__u64 offset;
		__u64 size;
	} data;
	struct {
		__u64 start_addr;
		__u64 total;
		__u64 copied;
	} dirty_pfns;
} __attribute__((packed));

/* Field offsets and sizes, for clients that access the header by hand. */
#define VFIO_MIG_OFF_DEVICE_STATE	0
#define VFIO_MIG_OFF_PENDING		4
#define VFIO_MIG_OFF_PRECOPY_ONLY	4
#define VFIO_MIG_OFF_COMPATIBLE		12
#define VFIO_MIG_OFF_POSTCOPY_ONLY	20
#define VFIO_MIG_OFF_THRESHOLD_SIZE	28
#define VFIO_MIG_OFF_DATA		36
#define VFIO_MIG_OFF_DATA_OFFSET	36
#define VFIO_MIG_OFF_DATA_SIZE		44
#define VFIO_MIG_OFF_DIRTY_PFNS		52
#define VFIO_MIG_OFF_DIRTY_START_ADDR	52
#define VFIO_MIG_OFF_DIRTY_TOTAL	60
#define VFIO_MIG_OFF_DIRTY_COPIED	68
#define VFIO_MIG_INFO_SIZE		76

#define VFIO_MIG_PENDING_SIZE		32
#define VFIO_MIG_DATA_SIZE		16
#define VFIO_MIG_DIRTY_PFNS_SIZE	24

#define __VFIO_MIG_AT(field, off)					\
	_Static_assert(__builtin_offsetof(struct vfio_mig_info, field) == (off), \
		       "vfio_mig_info." #field " is not at " #off)
__VFIO_MIG_AT(device_state, VFIO_MIG_OFF_DEVICE_STATE);
__VFIO_MIG_AT(pending, VFIO_MIG_OFF_PENDING);
__VFIO_MIG_AT(pending.precopy_only, VFIO_MIG_OFF_PRECOPY_ONLY);
__VFIO_MIG_AT(pending.compatible, VFIO_MIG_OFF_COMPATIBLE);
__VFIO_MIG_AT(pending.postcopy_only, VFIO_MIG_OFF_POSTCOPY_ONLY);
__VFIO_MIG_AT(pending.threshold_size, VFIO_MIG_OFF_THRESHOLD_SIZE);
__VFIO_MIG_AT(data, VFIO_MIG_OFF_DATA);
__VFIO_MIG_AT(data.offset, VFIO_MIG_OFF_DATA_OFFSET);
__VFIO_MIG_AT(data.size, VFIO_MIG_OFF_DATA_SIZE);
__VFIO_MIG_AT(dirty_pfns, VFIO_MIG_OFF_DIRTY_PFNS);
__VFIO_MIG_AT(dirty_pfns.start_addr, VFIO_MIG_OFF_DIRTY_START_ADDR);
__VFIO_MIG_AT(dirty_pfns.total, VFIO_MIG_OFF_DIRTY_TOTAL);
__VFIO_MIG_AT(dirty_pfns.copied, VFIO_MIG_OFF_DIRTY_COPIED);
_Static_assert(sizeof(struct vfio_mig_info) == VFIO_MIG_INFO_SIZE,
	       "struct vfio_mig_info is not 76 bytes");

/*
 * The device data stream (opaque to clients; see the specification):
 * records of a 16-byte little-endian header followed by a payload.
 */
#define VFIO_MIG_STREAM_MAGIC		0x4d5453474d4f4656ULL	/* "VFOMGSTM" */
#define VFIO_MIG_STREAM_MAJOR		1
#define VFIO_MIG_STREAM_MINOR		0

struct vfio_mig_record_hdr {
	__le32 type;
	__le32 length;		/* payload bytes after this header */
	__le32 seq;		/* 0 for the first record, then +1 */
	__le32 crc;		/* CRC32C of this header (crc = 0) and payload */
};
_Static_assert(sizeof(struct vfio_mig_record_hdr) == 16,
	       "struct vfio_mig_record_hdr is not 16 bytes");

/* Record types defined by the engine; drivers use 0x100 and above. */
#define VFIO_MIG_REC_HEADER		1
#define VFIO_MIG_REC_MEM_PAGE		2
#define VFIO_MIG_REC_END		3
#define VFIO_MIG_REC_DRIVER_BASE	0x100

/* Payload of VFIO_MIG_REC_HEADER; driver identity bytes follow it. */
struct vfio_mig_stream_header {
	__le64 magic;
	__le16 major;
	__le16 minor;
	__le32 identity_len;
};
_Static_assert(sizeof(struct vfio_mig_stream_header) == 16,
	       "struct vfio_mig_stream_header is not 16 bytes");

/* Payload of VFIO_MIG_REC_MEM_PAGE: the page's offset, then 4096 bytes. */
#define VFIO_MIG_STREAM_PAGE_SIZE	4096
struct vfio_mig_mem_page {
	__le64 offset;
};

#endif /* _UAPI_LINUX_VFIO_MIGRATION_H */
