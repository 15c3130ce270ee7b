// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-only check of the uAPI header: built with -Wall -Wextra -Werror
 * once on its own and once after <linux/vfio.h> (AFTER_VFIO defined), so
 * its names cannot collide with the system's.
 *
 * Copyright (c) 2026 The vfio-mig authors
 */
#ifdef AFTER_VFIO
#include <linux/vfio.h>
#endif
#include <linux/vfio_migration.h>

int vfio_mig_uapi_check(void);

int vfio_mig_uapi_check(void)
{
	struct vfio_mig_info info = { .device_state = VFIO_MIG_STATE_NONE };

	return (int)sizeof(info) + VFIO_MIG_REGION_SUBTYPE;
}
