/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/mdev.h>: what vfio_mig.h names of it. */
#ifndef SHIM_LINUX_MDEV_H
#define SHIM_LINUX_MDEV_H

struct mdev_parent {
	int unused;
};

#endif
