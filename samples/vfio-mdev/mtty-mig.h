/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * mtty-mig: the device's guest-visible constants, shared by the driver and
 * the userspace tools and tests.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifndef _MTTY_MIG_H
#define _MTTY_MIG_H

#define MTTYM_PCI_VENDOR	0x4348	/* WCH, as the classic mtty sample */
#define MTTYM_PCI_DEVICE	0x3253
#define MTTYM_PCI_REVISION	0x01
#define MTTYM_PCI_CLASS		0x070002	/* serial, 16550 compatible */

/* Region indexes (VFIO PCI numbering). */
#define MTTYM_UART0_REGION	0	/* BAR0: port 0, 8 I/O ports */
#define MTTYM_UART1_REGION	1	/* BAR1: port 1 on two-port types */
#define MTTYM_MEM_REGION	2	/* BAR2: device memory, 32-bit MMIO */

#endif /* _MTTY_MIG_H */
