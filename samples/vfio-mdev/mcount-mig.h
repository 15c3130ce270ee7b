/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * mcount-mig: the device's guest-visible constants and its migration
 * records, shared by the driver and the userspace tests.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _MCOUNT_MIG_H
#define _MCOUNT_MIG_H

#define MCOUNT_PCI_VENDOR	0x4348
#define MCOUNT_PCI_DEVICE	0x3254
#define MCOUNT_PCI_CLASS	0x088000	/* other system peripheral */
#define MCOUNT_MSI_CAP		0x40

/* Region indexes (VFIO PCI numbering). */
#define MCOUNT_REG_REGION	0	/* BAR0: the registers below */
#define MCOUNT_MIG_REGION	9	/* the vfio-mig migration region */
#define MCOUNT_V1_REGION	10	/* the upstream v1 migration region */

/*
 * BAR0: 64 bytes of 32-bit MMIO, 4- and 8-byte naturally aligned
 * accesses; either 4-byte half of a u64 register may be accessed alone.
 */
#define MCOUNT_BAR_SIZE		64
#define MCOUNT_MAX_CTRS		4
#define MCOUNT_CTR(i)		(0x08 * (i))	/* u64 r/w, counter i */
#define MCOUNT_STEP		0x20	/* u64 r/w: added on each tick */
#define MCOUNT_CTRL		0x28	/* u32 r/w */
#define MCOUNT_CMD		0x30	/* u32 write-only */
#define MCOUNT_TICKS		0x38	/* u64 read-only: ticks so far */

#define MCOUNT_CTRL_MSI		0x1	/* raise MSI on each tick */
#define MCOUNT_CMD_TICK		1	/* every counter += STEP, TICKS++ */

/* Driver record types in the migration stream. */
#define MCOUNT_REC_CONFIG	0x100	/* the 256 config space bytes */
#define MCOUNT_REC_REGS		0x101	/* the registers, little-endian */

/* MCOUNT_REC_REGS: the BAR0 image, eight u64: ctr[4], step, ctrl, 0, ticks. */
#define MCOUNT_REGS_LEN		64
#define MCOUNT_REGS_CTR(i)	(8 * (i))
#define MCOUNT_REGS_STEP	32
#define MCOUNT_REGS_CTRL	40
#define MCOUNT_REGS_TICKS	56

#endif /* _MCOUNT_MIG_H */
