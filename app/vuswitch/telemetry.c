/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The telemetry front: /vuswitch/... commands on DPDK's telemetry socket
 * (dpdk-telemetry.py, devtools/vuswitch-telemetry.py, any JSON client).
 * Callbacks run on DPDK's telemetry threads, one per client, possibly at
 * the same time: they only call the operations layer (which runs the work
 * on the control thread) and keep no shared scratch.
 *
 * Every reply is a JSON object. Numbers are JSON numbers (flags are 0/1);
 * a bad parameter or a refused change answers {"error": "<reason>"}; a
 * change that succeeded answers {"status": "ok", ...}.
 *
 * This file has the reply helpers and the command table; the commands are
 * in telemetry_port.c (versions; ports: list, details, counters, add, del,
 * RX queue pins), telemetry_vhost.c (vhost-user state) and telemetry_fwd.c (lcores,
 * forwarding, table).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "telemetry.h"
#include "telemetry_priv.h"
#include "vus_log.h"

int
tel_error(struct rte_tel_data *d, const char *fmt, ...)
{
	char msg[VUS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "error", msg);
	return 0;
}

int
tel_ok(struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "status", "ok");
	return 0;
}

/* A port id parameter; false (with an error reply) if missing or bad. */
bool
tel_param_id(const char *params, uint16_t *id, struct rte_tel_data *d, const char *usage)
{
	char *end;
	unsigned long v;

	if (params == NULL || params[0] == '\0') {
		tel_error(d, "usage: %s", usage);
		return false;
	}
	v = strtoul(params, &end, 10);
	if (params[0] < '0' || params[0] > '9' || *end != '\0' || v >= FWD_MAX_PORTS) {
		tel_error(d, "expected a port id (0..%u), got '%s'", FWD_MAX_PORTS - 1, params);
		return false;
	}
	*id = (uint16_t)v;
	return true;
}

void
tel_dict_flag(struct rte_tel_data *d, const char *name, bool v)
{
	rte_tel_data_add_dict_int(d, name, v ? 1 : 0);
}

/* A new dict container, or NULL. */
struct rte_tel_data *
tel_new_dict(void)
{
	struct rte_tel_data *c = rte_tel_data_alloc();

	if (c != NULL)
		rte_tel_data_start_dict(c);
	return c;
}

void
tel_add_container(struct rte_tel_data *d, const char *name, struct rte_tel_data *c)
{
	if (c != NULL && rte_tel_data_add_dict_container(d, name, c, 0) != 0)
		rte_tel_data_free(c);
}

/* Help texts must stay below 64 characters (rte_telemetry). */
static const struct {
	const char *cmd;
	telemetry_cb fn;
	const char *help;
} g_cmds[] = {
	{ "/vuswitch/version", tel_version, "vuswitch and DPDK versions. No parameters" },
	{ "/vuswitch/ports", tel_ports, "Ports by id: kind, link, packets. No parameters" },
	{ "/vuswitch/port/info", tel_port_info, "Port details. Parameter: port id" },
	{ "/vuswitch/port/stats", tel_port_stats, "Counters, rates, per queue. Param: port id" },
	{ "/vuswitch/vhost", tel_vhost, "vhost-user state, rings, requests. Param: port id" },
	{ "/vuswitch/fdb", tel_fdb, "Forwarding table. Parameter: optional VLAN" },
	{ "/vuswitch/lcores", tel_lcores, "Forwarding lcores, polls, counters. No params" },
	{ "/vuswitch/fwd", tel_fwd, "Engine, running, totals. No parameters" },
	{ "/vuswitch/port/add", tel_port_add, "CHANGES: add vhost-user,<path>.. or ethdev,<args>" },
	{ "/vuswitch/port/del", tel_port_del, "CHANGES: remove a port. Parameter: port id" },
	{ "/vuswitch/port/rxq_lcore", tel_port_rxq_lcore,
	  "CHANGES: pin an RX queue. Param: port,queue,lcore|auto" },
	{ "/vuswitch/fdb/flush", tel_fdb_flush, "CHANGES: remove learned entries. No params" },
	{ "/vuswitch/fwd/start", tel_fwd_start,
	  "CHANGES: start forwarding. Param: [tx_first[=n]]" },
	{ "/vuswitch/fwd/stop", tel_fwd_stop, "CHANGES: stop forwarding. No parameters" },
	{ "/vuswitch/fwd/rebalance", tel_fwd_rebalance,
	  "CHANGES: move RX queues by measured load. No params" },
};

int
vus_telemetry_register(void)
{
	int failed = 0;

	for (unsigned int i = 0; i < RTE_DIM(g_cmds); i++) {
		int ret = rte_telemetry_register_cmd(g_cmds[i].cmd, g_cmds[i].fn, g_cmds[i].help);

		if (ret != 0) {
			VUS_CTRL_LOG(WARNING, "telemetry: cannot register %s: %s\n", g_cmds[i].cmd,
				     strerror(-ret));
			failed++;
		}
	}
	return failed != 0 ? -1 : 0;
}
