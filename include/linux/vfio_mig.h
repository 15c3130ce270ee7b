/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-mig engine: the library that vendor drivers of emulated (mdev) VFIO
 * PCI devices link against.  The engine owns the decoding of region
 * accesses (file offset -> region index and offset, bounds, widths), the
 * bounce buffers between user memory and the driver, and the
 * VFIO_DEVICE_GET_REGION_INFO argsz protocol.  The driver describes its
 * regions and supplies per-region read/write callbacks that only ever see
 * kernel buffers and offsets that were already checked.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _LINUX_VFIO_MIG_H
#define _LINUX_VFIO_MIG_H

#include <linux/types.h>
#include <linux/bits.h>

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
 * @read: fill @buf with @count bytes at @off; returns 0 or -errno
 * @write: consume @count bytes of @buf at @off; returns 0 or -errno
 *
 * The callbacks run in process context with no engine lock held; @off and
 * @count were checked against @size and @widths, and @buf is a kernel
 * buffer.  Callbacks of a region with VFIO_MIG_ANY_LENGTH are called with at
 * most VFIO_MIG_BOUNCE_SIZE bytes at a time.
 */
struct vfio_mig_region {
	u64 size;
	u32 flags;
	u32 widths;
	int (*read)(struct vfio_mig_device *mig, unsigned int index, u64 off,
		    void *buf, size_t count);
	int (*write)(struct vfio_mig_device *mig, unsigned int index, u64 off,
		     const void *buf, size_t count);
};

#define VFIO_MIG_BOUNCE_SIZE	256

/**
 * struct vfio_mig_device - the engine's per-device state
 * @regions: region descriptions, indexed by VFIO region index
 * @num_regions: number of regions reported by VFIO_DEVICE_GET_INFO
 *
 * Embedded in the driver's device structure; the driver fills @regions
 * before the device is registered and does not change them afterwards.
 */
struct vfio_mig_device {
	struct vfio_mig_region regions[VFIO_MIG_MAX_REGIONS];
	unsigned int num_regions;
};

int vfio_mig_check_access(const struct vfio_mig_device *mig, loff_t pos,
			  size_t count, bool write, unsigned int *index,
			  u64 *off);
ssize_t vfio_mig_rw(struct vfio_mig_device *mig, char __user *buf,
		    size_t count, loff_t *ppos, bool write);
long vfio_mig_get_region_info(struct vfio_mig_device *mig,
			      void __user *arg);

#endif /* _LINUX_VFIO_MIG_H */
