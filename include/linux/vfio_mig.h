/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-mig engine: a VFIO core device for emulated (mdev) PCI functions,
 * in the manner of vfio_pci_core_device.  A vendor driver embeds struct
 * vfio_mig_device (which embeds struct vfio_device) first in its own device
 * structure, describes its regions, and names the engine's vfio_device_ops
 * functions in its ops table.  The engine owns the decoding of region
 * accesses, the bounce buffers between user memory and the driver,
 * VFIO_DEVICE_GET_INFO, _GET_REGION_INFO and _RESET, and the whole of
 * migration through three protocols (the vfio-mig region, the upstream v1
 * region, and VFIO_DEVICE_FEATURE): state machines, pending accounting,
 * the data section, dirty logs, stream framing and validation.  The driver
 * supplies region callbacks that see only kernel buffers and checked
 * offsets, and a small struct vfio_mig_ops.  Documentation/vfio-migration.rst
 * has the driver writer's guide.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _LINUX_VFIO_MIG_H
#define _LINUX_VFIO_MIG_H

#include <linux/bits.h>
#include <linux/mdev.h>
#include <linux/types.h>
#include <linux/vfio.h>
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

#define VFIO_MIG_BOUNCE_SIZE	256

struct vfio_mig_device;
struct vfio_mig_core;
struct vfio_mig_stream;
struct vfio_mig_copy;
struct vfio_info_cap;
struct vm_area_struct;

/**
 * struct vfio_mig_region - one region of a device
 * @size: size in bytes; 0 means the region is not implemented
 * @flags: VFIO_REGION_INFO_FLAG_READ, _WRITE and (with @mmap) _MMAP
 * @widths: VFIO_MIG_ANY_LENGTH or a mask of VFIO_MIG_W1.._W8
 * @quiesce: refuse accesses with -EBUSY while the device is quiesced
 * @read: fill @buf with @count bytes at @off; returns 0 or -errno
 * @write: consume @count bytes of @buf at @off; returns 0 or -errno
 * @finish: optional, for regions whose reads have side effects: called
 *	after the user copy of a successful @read's result, with @copied
 *	true to commit the read's effects, false (the copy failed) to return
 *	the region to its state before that read
 * @direct_off: with @direct, where the directly served part starts
 * @direct: optional: serves accesses at or above @direct_off with the
 *	user's buffer itself (for memory that lives as long as the device);
 *	returns the bytes moved or -errno.  An access that straddles
 *	@direct_off is refused.
 * @caps: optional: append the region's capabilities for
 *	VFIO_DEVICE_GET_REGION_INFO
 * @mmap: optional: map [@off, @off + the mapping's length) of the region;
 *	called for shared, non-executable mappings of regions with
 *	VFIO_REGION_INFO_FLAG_MMAP only
 *
 * @read and @write run in process context, under the engine's state lock
 * for regions marked @quiesce and with no engine lock otherwise (the lock
 * hierarchy is in Documentation/vfio-migration.rst, "Locking"); @off and
 * @count were checked against @size and @widths, and @buf is a kernel
 * buffer.  Callbacks of a region with VFIO_MIG_ANY_LENGTH see at most
 * VFIO_MIG_BOUNCE_SIZE bytes at a time.  Accesses to a region with
 * @finish are serialised, from the callback through the user copy and
 * @finish.  The engine's own migration regions use every hook; a driver's
 * regions usually need only the first six fields.
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
	u64 direct_off;
	ssize_t (*direct)(struct vfio_mig_device *mig, unsigned int index,
			  u64 off, char __user *buf, size_t count, bool write);
	int (*caps)(struct vfio_mig_device *mig, unsigned int index,
		    struct vfio_info_cap *caps);
	int (*mmap)(struct vfio_mig_device *mig, unsigned int index, u64 off,
		    struct vm_area_struct *vma);
};

/**
 * struct vfio_mig_ops - what a vendor driver provides
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
 * @mem_read: copy the @len bytes of device memory at @off into @buf
 *	(optional: devices without memory leave @mem_read, @mem_write and
 *	mem_size unset).  The bytes move with vfio_mig_copy(@c, ...), never
 *	memcpy(): the engine sums them in the pass that copies them.  Call it
 *	once, or in order for the pieces of memory that is not contiguous.
 * @mem_write: copy @len bytes of @buf into device memory at @off, with
 *	vfio_mig_copy(@c, ...) the same way (@off and @len need not be
 *	page-aligned)
 * @open: optional, called by vfio_mig_open_device() after the engine
 *	opened; may fail with -errno
 * @close: optional, called by vfio_mig_close_device() once every
 *	migration session of the open ended
 * @ioctl: optional: the device ioctls the engine does not serve (it
 *	serves GET_INFO, GET_REGION_INFO and RESET), such as the IRQ ones
 *
 * The migration ops and @reset run in process context with the engine's
 * state lock held; they take the driver's own lock as needed and must not
 * call back into the engine functions that take the state lock.  They may
 * reach guest memory through vfio_dma_rw().  @open, @close and @ioctl run
 * with no engine lock held (Documentation/vfio-migration.rst, "Locking").
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
			 size_t len, struct vfio_mig_copy *c);
	void (*mem_write)(struct vfio_mig_device *mig, u64 off,
			  const void *buf, size_t len, struct vfio_mig_copy *c);
	int (*open)(struct vfio_mig_device *mig);
	void (*close)(struct vfio_mig_device *mig);
	long (*ioctl)(struct vfio_mig_device *mig, unsigned int cmd,
		      unsigned long arg);
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
 * @msi: the engine serves the IRQ ioctls for a device whose one interrupt
 *	is a single MSI vector (no INTx); the driver raises it with
 *	vfio_mig_msi_signal().  Without it the driver's ioctl op serves them.
 *
 * vfio_mig_init() copies the structure; @ops and @state_types must stay
 * valid as long as the device.
 */
struct vfio_mig_config {
	const struct vfio_mig_ops *ops;
	u64 data_size;
	bool mmap;
	u64 mem_size;
	const u32 *state_types;
	unsigned int nr_state_types;
	u32 max_record;
	bool msi;
};

struct vfio_mig_pci_config;

/**
 * struct vfio_mig_device - the engine's core device
 * @vdev: the vfio device; first, so that vfio_alloc_device() can place
 *	a driver structure that starts with this one
 * @regions: region descriptions, indexed by VFIO region index; the driver
 *	fills its own before vfio_mig_init(), which appends the migration
 *	regions
 * @num_regions: number of regions VFIO_DEVICE_GET_INFO reports: at least
 *	VFIO_PCI_NUM_REGIONS; the migration regions get the indexes
 *	@num_regions and @num_regions + 1 at vfio_mig_init()
 * @pci: optional: a config space the engine serves as the PCI config
 *	region (masked writes), under @pci_lock; set before vfio_mig_init()
 * @pci_lock: the driver's lock that protects @pci
 * @core: the engine's private state (sessions, front-ends, logs)
 */
struct vfio_mig_device {
	struct vfio_device vdev;
	struct vfio_mig_region regions[VFIO_MIG_MAX_REGIONS];
	unsigned int num_regions;
	struct vfio_mig_pci_config *pci;
	struct mutex *pci_lock;
	struct vfio_mig_core *core;
};

/* Life cycle: from the driver's vfio_device_ops .init and .release. */
int vfio_mig_init(struct vfio_mig_device *mig,
		  const struct vfio_mig_config *cfg);
void vfio_mig_uninit(struct vfio_mig_device *mig);

/* For the driver's vfio_device_ops table, by name. */
int vfio_mig_open_device(struct vfio_device *vdev);
void vfio_mig_close_device(struct vfio_device *vdev);
ssize_t vfio_mig_read(struct vfio_device *vdev, char __user *buf,
		      size_t count, loff_t *ppos);
ssize_t vfio_mig_write(struct vfio_device *vdev, const char __user *buf,
		       size_t count, loff_t *ppos);
int vfio_mig_mmap(struct vfio_device *vdev, struct vm_area_struct *vma);
long vfio_mig_ioctl(struct vfio_device *vdev, unsigned int cmd,
		    unsigned long arg);
int vfio_mig_get_region_info_caps(struct vfio_device *vdev,
				  struct vfio_region_info *info,
				  struct vfio_info_cap *caps);

/* For the driver's migration ops and data paths. */
int vfio_mig_emit(struct vfio_mig_stream *s, u32 type, const void *p,
		  u32 len);
void vfio_mig_mem_dirty(struct vfio_mig_device *mig, u64 off, u64 len);
u32 vfio_mig_crc32c(u32 crc, const void *p, size_t len);
void vfio_mig_copy(struct vfio_mig_copy *c, void *dst, const void *src,
		   size_t len);
void vfio_mig_log_dirty(struct vfio_mig_device *mig, u64 iova, u64 len);
void vfio_mig_msi_signal(struct vfio_mig_device *mig);
long vfio_mig_irq_info(void __user *arg, bool intx);
struct eventfd_ctx;
int vfio_mig_eventfd_get(s32 fd, struct eventfd_ctx **ctx);

/* For the driver's mdev probe and remove. */
struct attribute_group;
int vfio_mig_register(struct vfio_mig_device *mig,
		      const struct attribute_group *group);
void vfio_mig_unregister(struct vfio_mig_device *mig,
			 const struct attribute_group *group);

/**
 * struct vfio_mig_parent - an mdev parent device of its own class
 * @class: the class, named as the parent
 * @dev: the parent device, /sys/class/mdev_bus/<name>
 * @parent: the mdev core's parent
 */
struct vfio_mig_parent {
	struct class *class;
	struct device *dev;
	struct mdev_parent parent;
};

struct mdev_driver;
struct mdev_type;
int vfio_mig_parent_register(struct vfio_mig_parent *p, const char *name,
			     struct mdev_driver *drv, struct mdev_type **types,
			     unsigned int nr_types);
void vfio_mig_parent_unregister(struct vfio_mig_parent *p,
				struct mdev_driver *drv);

/**
 * struct vfio_mig_pci_config - an emulated PCI configuration space
 * @val: the current contents
 * @wmask: per byte, the bits software may write
 * @reset: the power-on contents, as vfio_mig_pci_config_seal() kept them
 *
 * Lay it out with vfio_mig_pci_config_put() and seal it once, before the
 * device is registered; from then on @wmask and @reset never change and
 * only @val does, under the driver's lock.
 */
struct vfio_mig_pci_config {
	u8 val[256];
	u8 wmask[256];
	u8 reset[256];
};

void vfio_mig_pci_config_put(struct vfio_mig_pci_config *pc, unsigned int off,
			     u32 val, unsigned int len, u32 wmask);
void vfio_mig_pci_config_header(struct vfio_mig_pci_config *pc, u16 vendor,
				u16 device, u8 revision, u32 class,
				u16 command);
void vfio_mig_pci_config_msi(struct vfio_mig_pci_config *pc, u8 cap);
void vfio_mig_pci_config_seal(struct vfio_mig_pci_config *pc);
void vfio_mig_pci_config_reset(struct vfio_mig_pci_config *pc);
void vfio_mig_pci_config_write(struct vfio_mig_pci_config *pc, u64 off,
			       const void *buf, size_t count);
int vfio_mig_pci_config_check(const struct vfio_mig_pci_config *pc,
			      const void *rec, u32 len);
u16 vfio_mig_pci_config_word(const struct vfio_mig_pci_config *pc,
			     unsigned int off);

#endif /* _LINUX_VFIO_MIG_H */
