#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The `make demo` script, run inside the test VM: create two mtty-mig
# devices, put a workload on the first, live-migrate it to the second with
# the vfio-mig CLI (the destination in a second process), and let the
# workload carry on and verify there.

set -e
V=${VFIO_MIG_TOP:?run through the VM runner}/build/tools/vfio-mig
T=/sys/class/mdev_bus/mtty_mig/mdev_supported_types

A=$(cat /proc/sys/kernel/random/uuid)
B=$(cat /proc/sys/kernel/random/uuid)
echo "$A" >"$T/mtty_mig-1port-1M-mmap/create"
echo "$B" >"$T/mtty_mig-1port-1M/create"

echo "vfio-mig demo: live migration of an mtty-mig device ($(uname -r))"
echo "  source:      $A (mmapped data section)"
echo "  destination: $B (trapped data section)"
echo "  workload:    UART traffic with sequence numbers, device-memory writes"
echo "               and DMA into guest memory, 2 s before the migration"
echo
"$V" migrate --workload --warmup 2000 --verify 1000 --split "$A" "$B"
echo "demo done: the workload carried on on the destination for 1 s after the migration."
echo 1 >"/sys/bus/mdev/devices/$A/remove"
echo 1 >"/sys/bus/mdev/devices/$B/remove"
