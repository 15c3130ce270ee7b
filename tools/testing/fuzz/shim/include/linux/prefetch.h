/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/prefetch.h>: see shim.h. */
#ifndef SHIM_LINUX_PREFETCH_H
#define SHIM_LINUX_PREFETCH_H

#define L1_CACHE_BYTES		64
#define prefetch(p)		__builtin_prefetch((p), 0)
#define prefetchw(p)		__builtin_prefetch((p), 1)

#endif
