/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/bitmap.h>: see shim.h. */
#include "../shim.h"
