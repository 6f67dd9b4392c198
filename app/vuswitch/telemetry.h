/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUSWITCH_TELEMETRY_H
#define VUSWITCH_TELEMETRY_H

/**
 * @file
 * The /vuswitch/... commands of DPDK's telemetry socket (doc/telemetry.md).
 */

/**
 * Register every command with rte_telemetry. Call once the operations
 * layer is initialised; the commands answer {"error": ...} after
 * vus_ops_shutdown().
 * @return 0, or -1 if some command could not be registered (logged).
 */
int vus_telemetry_register(void);

#endif /* VUSWITCH_TELEMETRY_H */
