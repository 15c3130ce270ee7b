/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/eventfd.h>: see shim.h. */
#include "../shim.h"
