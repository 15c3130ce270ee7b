/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvfio-mig: the userspace side of the vfio-mig migration region
 * (Documentation/vfio-migration.rst), a VMM's migration code in miniature.
 *
 * A struct vmig_dev is one opened device: VFIO group + type1 container,
 * the device fd, the migration region, and the "guest memory" that the
 * device reaches by DMA (anonymous memory mapped at IOVA 0).
 *
 * Functions return 0 (or a count) on success and a negative errno on
 * failure; vmig_error() then describes the failure in one line.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef LIBVFIO_MIG_H
#define LIBVFIO_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vfio_migration.h>

#define VMIG_GUEST_IOVA		0ULL
#define VMIG_PAGE		4096u

#define VMIG_MAX_REGIONS	32
#define VMIG_NO_REGION		UINT64_MAX

struct vmig_dev {
	int container, group, fd;
	char uuid[40];
	char type[64];		/* mdev type name */
	unsigned int num_regions;
	/* Each region's file offset from VFIO_DEVICE_GET_REGION_INFO. */
	uint64_t region_off[VMIG_MAX_REGIONS];
	unsigned int index;	/* migration region */
	uint64_t region_size;
	uint64_t data_off, data_size;
	bool can_mmap;		/* the device offers to map the data section */
	bool mmap;		/* the data section is mapped */
	uint8_t *map;
	uint8_t *bounce;	/* data_size bytes, when not mapped */
	uint8_t *guest;		/* guest memory, at VMIG_GUEST_IOVA */
	size_t guest_size;
	uint64_t *dirty_bits;	/* scratch for dirty-pfn chunks */
};

/* The last error's description (thread-local). */
const char *vmig_error(void);
void vmig_set_error(const char *msg);

/*
 * Check that @id is an mdev UUID, or a sysfs path ending in one, and write
 * the UUID in lower case (as sysfs names the device) into @uuid.
 * Trailing slashes of a path are ignored.  Returns 0, or -EINVAL with
 * vmig_error() saying what is wrong and @uuid the empty string.
 */
int vmig_parse_id(const char *id, char uuid[37]);

/*
 * Open the device named by @id (an mdev UUID, or a sysfs path ending in
 * one) with @guest_size bytes of guest memory (a page multiple, may be 0).
 * @use_mmap: map the data section when the device offers it.
 */
int vmig_open(struct vmig_dev *d, const char *id, size_t guest_size,
	      bool use_mmap);
void vmig_close(struct vmig_dev *d);

int vmig_set_state(struct vmig_dev *d, uint32_t state);
int vmig_get_state(struct vmig_dev *d, uint32_t *state);
/* pending[0..2]: precopy_only, compatible, postcopy_only. */
int vmig_pending(struct vmig_dev *d, uint64_t pending[3]);
int vmig_set_threshold(struct vmig_dev *d, uint64_t threshold);
const char *vmig_state_name(uint32_t state);

/* Get buffer: *buf points at the chunk (valid until the next call). */
long vmig_get_chunk(struct vmig_dev *d, const uint8_t **buf);
/* Set buffer with @len bytes (split as the data section requires). */
int vmig_put(struct vmig_dev *d, const uint8_t *p, size_t len);

/*
 * Query the device's dirty log over the whole guest memory and set a bit
 * in @bitmap (one per guest page) for every page it reports.  Returns the
 * number of dirty pages.
 */
long vmig_dirty_sync(struct vmig_dev *d, uint64_t *bitmap);

/*
 * Region access helpers for workloads and tools: @off is within region
 * @index, whose file offset came from the kernel (-EINVAL for a region the
 * device does not have, or an offset past the file's range).
 */
int vmig_region_read(struct vmig_dev *d, unsigned int index, uint64_t off,
		     void *buf, size_t len);
int vmig_region_write(struct vmig_dev *d, unsigned int index, uint64_t off,
		      const void *buf, size_t len);
uint64_t vmig_region_size(struct vmig_dev *d, unsigned int index);

/* --- the saved-device container ---------------------------------------- */

#define VMIG_FILE_MAGIC		"VFIOMIG\n"
#define VMIG_FILE_VERSION	1
#define VMIG_SEC_DEVICE		1	/* device stream bytes */
#define VMIG_SEC_GUEST		2	/* u64 first page, then pages */
#define VMIG_SEC_META		3	/* key=value lines */
#define VMIG_SEC_END		4
#define VMIG_SEC_MAX		(64u << 20)

struct vmig_file_info {
	uint64_t guest_size;
	char type[64];
};

/* Writer and reader of the container on any fd (file, pipe, socket). */
struct vmig_io {
	int fd;
	uint64_t bytes;		/* moved so far */
	int err;		/* errno of a failed read or write on fd */
	uint8_t *buf;		/* reader: the current section */
	size_t cap;
};

int vmig_write_header(struct vmig_io *io, const struct vmig_file_info *fi);
int vmig_write_section(struct vmig_io *io, uint32_t type, const void *p,
		       size_t len);
int vmig_read_header(struct vmig_io *io, struct vmig_file_info *fi);
/* Read the next section; *p points into io->buf.  Checks length and CRC. */
int vmig_read_section(struct vmig_io *io, uint32_t *type, const uint8_t **p,
		      size_t *len);
void vmig_io_free(struct vmig_io *io);

uint32_t vmig_crc32c(uint32_t crc, const void *p, size_t len);

#endif
