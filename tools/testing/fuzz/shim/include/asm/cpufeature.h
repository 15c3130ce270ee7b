/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <asm/cpufeature.h>: see shim.h. */
#ifndef SHIM_ASM_CPUFEATURE_H
#define SHIM_ASM_CPUFEATURE_H

#define X86_FEATURE_XMM4_2	"sse4.2"
#define boot_cpu_has(feature)	__builtin_cpu_supports(feature)

#endif
