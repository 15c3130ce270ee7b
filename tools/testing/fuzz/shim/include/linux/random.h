/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/random.h>: see shim.h. */
#include "../shim.h"
