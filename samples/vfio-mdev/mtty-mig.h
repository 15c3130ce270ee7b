/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * mtty-mig: the device's guest-visible constants, shared by the driver and
 * the userspace tools and tests.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _MTTY_MIG_H
#define _MTTY_MIG_H

#include <linux/types.h>

#define MTTYM_PCI_VENDOR	0x4348	/* WCH, as the classic mtty sample */
#define MTTYM_PCI_DEVICE	0x3253
#define MTTYM_PCI_REVISION	0x01
#define MTTYM_PCI_CLASS		0x070002	/* serial, 16550 compatible */

/* Region indexes (VFIO PCI numbering). */
#define MTTYM_UART0_REGION	0	/* BAR0: port 0, 8 I/O ports */
#define MTTYM_UART1_REGION	1	/* BAR1: port 1 on two-port types */
#define MTTYM_MEM_REGION	2	/* BAR2: device memory, DMA engine */
#define MTTYM_MIG_REGION	9	/* the vfio-mig migration region */
#define MTTYM_V1_REGION		10	/* the upstream v1 migration region */

/*
 * BAR2, a 32-bit memory BAR twice the size of the device memory (every
 * type's memory is a power of two): the device memory at offset 0, the DMA
 * engine's registers in the 4 KiB at offset mem_size, the rest reads as
 * zero and ignores writes.  One memory BAR beside the I/O BARs is what
 * Linux's 8250_pci expects of a serial card it does not know by name.
 */
#define MTTYM_DMA_SIZE		4096	/* the register block */

static inline __u64 mttym_bar2_size(__u64 mem_size)
{
	return 2 * mem_size;
}

/* Device memory size and the register block's offset, from BAR2's size. */
static inline __u64 mttym_mem_size(__u64 bar2_size)
{
	return bar2_size / 2;
}

static inline __u64 mttym_dma_base(__u64 bar2_size)
{
	return bar2_size / 2;
}

/*
 * DMA engine registers (offsets in the block at mttym_dma_base(); 4- or
 * 8-byte aligned accesses).
 * Writing MTTYM_DMA_CMD runs one operation to completion before the write
 * returns; guest memory is reached through the VFIO container's mappings
 * (IOVAs), device memory by offset.
 */
#define MTTYM_DMA_SRC		0x00	/* u64: source IOVA or device offset */
#define MTTYM_DMA_DST		0x08	/* u64: destination */
#define MTTYM_DMA_LEN		0x10	/* u64: bytes */
#define MTTYM_DMA_CMD		0x18	/* u32, write-only: an operation */
#define MTTYM_DMA_STATUS	0x1c	/* u32, read-only */
#define MTTYM_DMA_PATTERN	0x20	/* u64: fill pattern */
#define MTTYM_DMA_COUNT		0x28	/* u64, read-only: operations done */

#define MTTYM_DMA_OP_TO_DEV	1	/* guest [SRC] -> device memory [DST] */
#define MTTYM_DMA_OP_FROM_DEV	2	/* device memory [SRC] -> guest [DST] */
#define MTTYM_DMA_OP_FILL	3	/* PATTERN -> guest [DST], LEN bytes */

#define MTTYM_DMA_IDLE		0
#define MTTYM_DMA_DONE		1
#define MTTYM_DMA_ERROR		2

/* Driver record types in the migration stream. */
#define MTTYM_REC_CONFIG	0x100
#define MTTYM_REC_UART0		0x101
#define MTTYM_REC_UART1		0x102
#define MTTYM_REC_IRQ		0x103
#define MTTYM_REC_DMA		0x104

/*
 * The byte stream of traffic/fill "OFFSET LENGTH SEED": splitmix64 started
 * at SEED, each output stored as 8 little-endian bytes, so that a tool can
 * write the same incompressible bytes elsewhere (a file of guest RAM).
 */
static inline __u64 mttym_fill_next(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif /* _MTTY_MIG_H */
