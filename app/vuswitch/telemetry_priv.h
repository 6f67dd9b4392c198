/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUSWITCH_TELEMETRY_PRIV_H
#define VUSWITCH_TELEMETRY_PRIV_H

/*
 * Shared by the telemetry files (telemetry.c has the rules every reply
 * follows): reply helpers, and the command callbacks the table of
 * telemetry.c registers. Callbacks run on DPDK's telemetry threads.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_telemetry.h>

#include "vus_ops.h"

/* Reply {"error": "<formatted>"}; returns 0 (a reply, not a failure). */
int tel_error(struct rte_tel_data *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reply {"status": "ok"}, to which the caller may add fields. */
int tel_ok(struct rte_tel_data *d);
/* A port id parameter; false (with an error reply) if missing or bad. */
bool tel_param_id(const char *params, uint16_t *id, struct rte_tel_data *d, const char *usage);
/* Add name: 0/1. */
void tel_dict_flag(struct rte_tel_data *d, const char *name, bool v);
/* A new dict container, or NULL. */
struct rte_tel_data *tel_new_dict(void);
/* Add container @p c (may be NULL) as @p name; freed if it cannot be. */
void tel_add_container(struct rte_tel_data *d, const char *name, struct rte_tel_data *c);

/* telemetry_port.c */
int tel_version(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_port_info(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_port_stats(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_port_add(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_port_del(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_port_rxq_lcore(const char *cmd, const char *params, struct rte_tel_data *d);

/* telemetry_vhost.c */
int tel_vhost(const char *cmd, const char *params, struct rte_tel_data *d);

/* telemetry_fwd.c */
int tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_fwd(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_fdb(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_fdb_flush(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_fwd_start(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_fwd_stop(const char *cmd, const char *params, struct rte_tel_data *d);
int tel_fwd_rebalance(const char *cmd, const char *params, struct rte_tel_data *d);

#endif /* VUSWITCH_TELEMETRY_PRIV_H */
