/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vfio-mig selftests: KTAP output, mdev creation and
 * removal through sysfs, opening a device through the VFIO group + type1
 * container path, and region accessors.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef VFIO_TEST_H
#define VFIO_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vfio_migration.h>

#include "libvfio-mig.h"

#define MDEV_PARENT	"/sys/class/mdev_bus/mtty_mig"
#define MDEV_TYPE_1P	"mtty_mig-1port-1M"
#define MDEV_TYPE_2P	"mtty_mig-2port-1M"
#define MDEV_TYPE_16M	"mtty_mig-1port-16M"

/* --- KTAP, through kselftest.h ------------------------------------------- */

/*
 * Start the KTAP output; exits with KSFT_SKIP when the mtty_mig driver is
 * not loaded.
 */
void t_start(void);
/* Exit with KSFT_SKIP unless @path exists (@what: the module it needs). */
void t_need(const char *path, const char *what);
/* Record one test result; prints "ok N - ..." or "not ok N - ...". */
bool t_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Record a skipped test with the reason. */
void t_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a diagnostic line ("# ..."). */
void t_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Stop the program: a setup step failed. */
void t_bail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Print the plan and totals; the kselftest exit status for main(). */
int t_done(void);
/* Expect a call's result to be -1 with errno @err. */
bool t_errno(long ret, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --- sysfs and mdevs ------------------------------------------------------ */

int sysfs_write(const char *path, const char *val);
/* Read an integer from a sysfs file; -1 on error. */
long sysfs_read_long(const char *path);
/* Create an mdev of @type; fills @uuid (37 bytes).  Returns 0 or -errno. */
int mdev_create(const char *type, char *uuid);
/* The same on another parent device (@parent: its /sys/class/mdev_bus path). */
int mdev_create_on(const char *parent, const char *type, char *uuid);
int mdev_remove(const char *uuid);
bool mdev_exists(const char *uuid);
long mdev_available(const char *type);

/* --- VFIO device -------------------------------------------------------- */

/* A device opened by libvfio-mig, with its fds at hand for the tests. */
struct vdev {
	int container;
	int group;
	int fd;
	char uuid[40];
	struct vmig_dev dev;
	uint64_t dma_base;	/* BAR2 offset of the DMA registers, 0: unknown */
};

/* Open @uuid through its group and a type1v2 container.  0 or -errno. */
int vdev_open(struct vdev *v, const char *uuid);
void vdev_close(struct vdev *v);
/* Create an mdev of @type and open it; bails out on failure. */
void vdev_create_open(struct vdev *v, const char *type);
/* The same on another parent device, as mdev_create_on(). */
void vdev_create_open_on(struct vdev *v, const char *parent, const char *type);
/* Close and remove. */
void vdev_destroy(struct vdev *v);

/* The file position of @off in region @index, from region_info.offset. */
uint64_t region_pos(struct vdev *v, unsigned int index, uint64_t off);
/*
 * The same in the engine's own layout (VFIO_MIG_REGION_SHIFT of
 * include/linux/vfio_mig.h), only to aim at regions a device does not have;
 * test_config checks it against region_info.offset.
 */
uint64_t engine_pos(unsigned int index, uint64_t off);
/* pread/pwrite on a region: returns bytes moved or -errno. */
ssize_t region_read(struct vdev *v, unsigned int index, uint64_t off,
		    void *buf, size_t len);
ssize_t region_write(struct vdev *v, unsigned int index, uint64_t off,
		     const void *buf, size_t len);

uint32_t cfg_read(struct vdev *v, unsigned int off, size_t len);
void cfg_write(struct vdev *v, unsigned int off, uint32_t val, size_t len);
uint8_t uart_in(struct vdev *v, unsigned int port, unsigned int reg);
void uart_out(struct vdev *v, unsigned int port, unsigned int reg,
	      uint8_t val);

/* eventfd helpers: returns the number of events pending (0 if none). */
int efd_new(void);
uint64_t efd_drain(int efd);
/* VFIO_DEVICE_SET_IRQS with one eventfd (or -1). 0 or -errno. */
int irq_set_eventfd(struct vdev *v, unsigned int index, int efd);
/* VFIO_DEVICE_SET_IRQS with DATA_NONE. 0 or -errno. */
int irq_set_none(struct vdev *v, unsigned int index, uint32_t action,
		 uint32_t count);

/*
 * Device state the protocol tests change and compare: UART registers,
 * receive FIFO bytes, a span of device memory and the memory's digest.
 */
struct dev_snap {
	uint8_t scr, lcr, ier, rx[4];
	uint8_t mem[64];
	uint32_t digest;
};

/* CRC32C of the device memory, from the mdev's traffic/digest. */
uint32_t mdev_digest(const char *uuid);
/* Set registers, send 4 bytes (looped back) and write memory from @seed. */
void dev_fill(struct vdev *v, uint8_t seed);
/* Read the state back (pops the receive FIFO). */
void dev_snap(struct vdev *v, struct dev_snap *s);

/* Map @size bytes of fresh anonymous memory at @iova for device DMA. */
void *dma_map(struct vdev *v, uint64_t iova, size_t size);
/* The same, the device may only read it. */
void *dma_map_ro(struct vdev *v, uint64_t iova, size_t size);
/*
 * The DMA engine's register @reg (MTTYM_DMA_*), in BAR2 after the device
 * memory: pread/pwrite of @len bytes, the bytes moved or -errno.
 */
ssize_t dma_reg_read(struct vdev *v, unsigned int reg, void *buf, size_t len);
ssize_t dma_reg_write(struct vdev *v, unsigned int reg, const void *buf,
		      size_t len);
/* Program the DMA engine and run one operation; returns the status. */
uint32_t dma_run(struct vdev *v, uint32_t op, uint64_t src, uint64_t dst,
		 uint64_t len);

/* A page of user memory no access may touch (PROT_NONE): copies fault. */
void *fault_buffer(void);


/* --- the migration region --------------------------------------------- */

#define MDEV_TYPE_1P_MMAP	"mtty_mig-1port-1M-mmap"
#define MDEV_TYPE_2P_MMAP	"mtty_mig-2port-1M-mmap"
#define MDEV_TYPE_16M_MMAP	"mtty_mig-1port-16M-mmap"

struct mig {
	unsigned int index;
	uint64_t size;		/* region size */
	uint64_t data_off;	/* data section offset in the region */
	uint64_t data_size;
	bool mmap;		/* the region offers mmap */
	uint8_t *map;		/* the mapped data section, if mapped */
};

/* Find the migration region by its capability; bails out if missing. */
void mig_find(struct vdev *v, struct mig *m);
/* Map the data section (m->map); 0 or -errno. */
int mig_map(struct vdev *v, struct mig *m);
void mig_unmap(struct mig *m);

int mig_hdr_read(struct vdev *v, struct mig *m, unsigned int off,
		 void *buf, size_t len);
int mig_hdr_write(struct vdev *v, struct mig *m, unsigned int off,
		  const void *buf, size_t len);
uint64_t mig_read64(struct vdev *v, struct mig *m, unsigned int off);
int mig_set_state(struct vdev *v, struct mig *m, uint32_t state);
uint32_t mig_state(struct vdev *v, struct mig *m);

struct stream {
	uint8_t *buf;
	size_t len, cap;
};

void stream_free(struct stream *s);
/* Make room for @more bytes after s->len; bails out when out of memory. */
void stream_reserve(struct stream *s, size_t more);
/*
 * Get buffer once and append the chunk to @s (through the mapping if
 * m->map, else pread).  Returns the chunk size or -errno.
 */
long mig_get_chunk(struct vdev *v, struct mig *m, struct stream *s);
/* A whole save: SETUP, PRECOPY until drained, STOPNCOPY, SAVE_COMPLETED. */
int mig_save(struct vdev *v, struct mig *m, struct stream *s);
/*
 * Set buffer with @len bytes of @p (copied into the data section through
 * the mapping if m->map, else pwrite).  0 or -errno.
 */
int mig_put_chunk(struct vdev *v, struct mig *m, const void *p, size_t len);
/*
 * Feed @len bytes in chunks: @sizes lists chunk sizes used in turn (0
 * ends the list; a chunk never exceeds the data section).  0 or -errno of
 * the first failing Set buffer.
 */
int mig_feed(struct vdev *v, struct mig *m, const uint8_t *p, size_t len,
	     const size_t *sizes);
/* RESUME, feed, RESUME_COMPLETED, RUNNING.  0 or -errno. */
int mig_restore(struct vdev *v, struct mig *m, const uint8_t *p,
		size_t len, const size_t *sizes);

/* --- the v2 protocol (VFIO_DEVICE_FEATURE) -------------------------------- */

/* Newer than the 6.1 uAPI headers userspace builds with here. */
#define ST_STOP		1
#define ST_RUNNING	2
#define ST_STOP_COPY	3
#define ST_RESUMING	4
#define ST_RUNNING_P2P	5
#define ST_PRE_COPY	6
#define ST_PRE_COPY_P2P	7
#define MIG_PRE_COPY	(1 << 2)
#define FEATURE_MIG_DATA_SIZE	9
#define MIG_GET_PRECOPY_INFO	_IO(VFIO_TYPE, VFIO_BASE + 21)
/* VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2: flags becomes an output. */
#define FEATURE_MIG_PRECOPY_INFOV2	12
#define PAGE_REC	(16 + 8 + 4096)

struct v2_precopy_info {
	uint32_t argsz, flags;
	uint64_t initial_bytes, dirty_bytes;
};

/* What the kernel's VFIO core offers, by VFIO_DEVICE_FEATURE_PROBE. */
struct v2_caps {
	bool pre_copy;		/* MIG_DATA_SIZE, which came with PRE_COPY (6.2) */
	bool dma_logging;	/* DMA_LOGGING_START (not on 6.7+ without IOMMUFD) */
};

/* Probe on a device of its own, created and removed again. */
void v2_caps_probe(struct v2_caps *c);
/* VFIO_DEVICE_FEATURE with @len bytes of payload in and out.  0 or -errno. */
int v2_feature(struct vdev *v, uint32_t flags, void *data, size_t len);
/* SET MIG_DEVICE_STATE; *fd gets the data fd (or -1).  0 or -errno. */
int v2_set_state(struct vdev *v, uint32_t state, int *fd);
/* GET MIG_DEVICE_STATE; ~0 on error. */
uint32_t v2_get_state(struct vdev *v);
/* Read a data fd until EOF (or an error, *err) in @chunk-byte reads. */
ssize_t v2_read_all(int fd, struct stream *s, size_t chunk, int *err);
/* Write @len bytes in @chunk-byte writes.  0 or -errno. */
int v2_write_all(int fd, const uint8_t *p, size_t len, size_t chunk);
/* A whole save by STOP_COPY; the device returns to RUNNING. */
int v2_save(struct vdev *v, struct stream *s, size_t chunk);
/* RESUMING, write, then RUNNING (through STOP).  0 or -errno. */
int v2_restore(struct vdev *v, const uint8_t *p, size_t len, size_t chunk);
/* VFIO_MIG_GET_PRECOPY_INFO on a data fd.  0 or -errno. */
int v2_precopy_info(int fd, struct v2_precopy_info *pi);
/* The same with flags set to @flags on the way in. */
int v2_precopy_info_flags(int fd, struct v2_precopy_info *pi, uint32_t flags);
/*
 * DMA logging: START over [@iova, @iova + @len), REPORT of that window
 * into @bitmap, or STOP.  0 or -errno.
 */
int v2_logging(struct vdev *v, uint32_t op, uint64_t iova, uint64_t len,
	       uint64_t *bitmap);

/* Recompute the CRC of the record starting at @rec. */
void record_reseal(uint8_t *rec);
/* Offsets of the records in a stream; returns how many (at most @max). */
size_t stream_records(const uint8_t *p, size_t len, size_t *offs,
		      size_t max);

/* --- the engine's injected faults (debugfs) ------------------------------- */

#define FAULT_DIR	"/sys/kernel/debug/vfio_mig"

/* The path of one of @v's fault files. */
void fault_path(const struct vdev *v, const char *file, char *path,
		size_t len);
/* Write @val to one of @v's fault files: 0 or -errno. */
int fault_set(const struct vdev *v, const char *file, const char *val);
/* What a fault file reads, without its newline ("" on error). */
const char *fault_get(const struct vdev *v, const char *file);

#endif
