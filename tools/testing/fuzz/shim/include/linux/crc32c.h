/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/crc32c.h>: see shim.h. */
#include "../shim.h"
