/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-mig: every difference between the supported kernels (6.1, 6.12,
 * 7.3) in one place.  Code elsewhere calls these helpers and never tests
 * LINUX_VERSION_CODE itself.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _LINUX_VFIO_MIG_COMPAT_H
#define _LINUX_VFIO_MIG_COMPAT_H

#include <linux/crc32.h>
#include <linux/crc32c.h>
#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/version.h>
#include <linux/vfio.h>

/* 6.12 moved the unaligned accessors from asm/ to linux/. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * bin2hex() and hex2bin(): in kernel.h up to 6.1, in linux/hex.h since,
 * which kernel.h stopped including by 7.3.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#include <linux/hex.h>
#endif

/*
 * The kernel's CRC32C: libcrc32c's crc32c() up to 6.14 (the best CRC32C
 * driver registered: crc32c_impl() names it on 6.1), from 6.15 the CRC
 * library's, which has architecture code (crc32_optimizations() says
 * whether this CPU uses it).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0) || IS_ENABLED(CONFIG_LIBCRC32C)
#define VFIO_MIG_KERNEL_CRC32C	1
#else
#define VFIO_MIG_KERNEL_CRC32C	0	/* a kernel built without libcrc32c */
#endif

static inline u32 vfio_mig_crc32c_kernel(u32 crc, const void *p, size_t len)
{
#if VFIO_MIG_KERNEL_CRC32C
	return crc32c(crc, p, len);
#else
	return crc;	/* never chosen: VFIO_MIG_KERNEL_CRC32C is 0 */
#endif
}

static inline const char *vfio_mig_crc32c_kernel_name(void)
{
#if !VFIO_MIG_KERNEL_CRC32C
	return "none";
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	return crc32_optimizations() & CRC32C_OPTIMIZATION ?
	       "architecture code" : "generic code";
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	return crc32c_impl();
#else
	return "libcrc32c";
#endif
}

/* 6.8: eventfd_signal() lost its count argument. */
static inline void vfio_mig_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * 6.2: the vfio core frees a vfio_device itself after the driver's release
 * op; before, the release op had to end with vfio_free_device().
 */
static inline void vfio_mig_free_device(struct vfio_device *vdev)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	vfio_free_device(vdev);
#endif
}

/* 6.4: class_create() lost its owner argument. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define vfio_mig_class_create(name)	class_create(name)
#else
#define vfio_mig_class_create(name)	class_create(THIS_MODULE, name)
#endif

/* 6.3: vma->vm_flags became read-only; it changes through helpers. */
static inline void vfio_mig_vm_flags_mod(struct vm_area_struct *vma,
					 unsigned long set,
					 unsigned long clear)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/*
 * 6.2: with IOMMUFD built, devices registered through
 * vfio_register_emulated_iommu_dev() must carry the emulated iommufd ops.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0) && IS_ENABLED(CONFIG_IOMMUFD)
#define VFIO_MIG_IOMMUFD_OPS						\
	.bind_iommufd = vfio_iommufd_emulated_bind,			\
	.unbind_iommufd = vfio_iommufd_emulated_unbind,			\
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,		\
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
#else
#define VFIO_MIG_IOMMUFD_OPS
#endif

/*
 * 6.19: the vfio core answers VFIO_DEVICE_GET_REGION_INFO itself and asks
 * the driver through .get_region_info_caps; before, the driver's .ioctl
 * answered it.  Drivers list both; the kernel uses the one it knows.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define VFIO_MIG_REGION_INFO_OP(fn)	.get_region_info_caps = (fn),
#else
#define VFIO_MIG_REGION_INFO_OP(fn)
#endif

/*
 * 6.2: v2 migration gained PRE_COPY (states 6 and 7, the flag, the
 * precopy-info ioctl on the data fd) and the stop-copy data-size query.
 * On 6.1 the names below exist only so the engine compiles; the core
 * never asks for them because the flag is not offered.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define VFIO_MIG_HAVE_PRE_COPY		1
#define VFIO_MIG_DATA_SIZE_OP(fn)	.migration_get_data_size = (fn),
#else
#define VFIO_MIG_HAVE_PRE_COPY		0
#define VFIO_MIG_DATA_SIZE_OP(fn)
#define VFIO_DEVICE_STATE_PRE_COPY	6
#define VFIO_DEVICE_STATE_PRE_COPY_P2P	7
#define VFIO_MIGRATION_PRE_COPY		(1 << 2)
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO	_IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

/*
 * Device DMA logging reports through iova_bitmap_set(), which the vfio
 * module exports up to 6.6.  From 6.7 it lives in iommufd and is built
 * only with CONFIG_IOMMUFD_DRIVER, which the Debian kernels leave off:
 * there the driver offers no log_ops and QEMU uses the type1 container's
 * dirty tracking (with enable-migration=on).
 */
#define VFIO_MIG_HAVE_DMA_LOGGING \
	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0))

#endif /* _LINUX_VFIO_MIG_COMPAT_H */
