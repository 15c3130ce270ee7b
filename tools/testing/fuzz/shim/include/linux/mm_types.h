/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/mm_types.h>: see shim.h. */
#include "../shim.h"
