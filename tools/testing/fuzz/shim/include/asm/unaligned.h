/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <asm/unaligned.h>: see shim.h. */
#include "../shim.h"
