/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/vfio.h>: the uapi header, then shim.h. */
#ifndef SHIM_LINUX_VFIO_H
#define SHIM_LINUX_VFIO_H

#include_next <linux/vfio.h>
#include "../shim.h"

#endif
