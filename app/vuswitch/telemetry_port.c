/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry commands about ports: the list, one port's details and counters,
 * adding and removing ports, pinning RX queues; and the versions. Rules in
 * telemetry.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_version.h>

#include "telemetry_priv.h"

/* Queues a stats reply lists in full; above, only queues that saw traffic. */
#define TEL_ALL_QUEUES 8

/* --- read-only ----------------------------------------------------------------------------- */

int
tel_version(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", vus_ops_version());
	rte_tel_data_add_dict_string(d, "dpdk", rte_version());
	return 0;
}

int
tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint16_t ids[FWD_MAX_PORTS];
	int n = vus_ops_port_ids(ids, FWD_MAX_PORTS);

	rte_tel_data_start_dict(d);
	for (int i = 0; i < n; i++) {
		struct vus_port_summary s;
		struct rte_tel_data *p;
		char key[16];

		if (vus_ops_port_get(ids[i], VUS_RATE_NONE, &s, NULL) != 0 ||
		    (p = tel_new_dict()) == NULL)
			continue;
		rte_tel_data_add_dict_string(p, "name", s.name);
		rte_tel_data_add_dict_string(p, "kind", vus_port_kind_str(s.kind));
		rte_tel_data_add_dict_string(p, "link", s.link_up ? "up" : "down");
		rte_tel_data_add_dict_string(p, "state", s.state);
		rte_tel_data_add_dict_u64(p, "rx_packets", s.stats.rx_packets);
		rte_tel_data_add_dict_u64(p, "tx_packets", s.stats.tx_packets);
		snprintf(key, sizeof(key), "%u", ids[i]);
		tel_add_container(d, key, p);
	}
	return 0;
}

static void
info_vlan(struct rte_tel_data *d, const struct fwd_port_vlan *v)
{
	char list[256];

	if (v->mode == FWD_VLAN_ACCESS) {
		rte_tel_data_add_dict_string(d, "vlan_mode", "access");
		rte_tel_data_add_dict_int(d, "vlan", v->vlan);
		return;
	}
	rte_tel_data_add_dict_string(d, "vlan_mode", "trunk");
	rte_tel_data_add_dict_string(d, "vlans", vus_vlan_list_str(v->allowed, list, sizeof(list)));
	rte_tel_data_add_dict_int(d, "native_vlan", v->native);
}

static void
info_kind(struct rte_tel_data *d, const struct vus_port_summary *s)
{
	if (s->kind == VUS_PORT_VHOST) {
		rte_tel_data_add_dict_string(d, "path", s->path);
		tel_dict_flag(d, "client", s->client);
		rte_tel_data_add_dict_int(d, "vhost_id", (int)s->vhost_id);
		rte_tel_data_add_dict_int(d, "rings_running", (int)s->rings_running);
	} else {
		rte_tel_data_add_dict_string(d, "devargs", s->devargs);
		rte_tel_data_add_dict_string(d, "driver", s->driver);
		rte_tel_data_add_dict_int(d, "eth_port", s->eth_port);
		rte_tel_data_add_dict_u64(d, "speed_mbps", s->speed_mbps);
	}
}

int
tel_port_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_port_summary s;
	struct rte_tel_data *lc;
	char err[VUS_ERR_LEN], mac[RTE_ETHER_ADDR_FMT_SIZE];
	uint16_t id;

	if (!tel_param_id(params, &id, d, "/vuswitch/port/info,<port_id>"))
		return 0;
	if (vus_ops_port_get(id, VUS_RATE_NONE, &s, err) != 0)
		return tel_error(d, "%s", err);
	rte_ether_format_addr(mac, sizeof(mac), &s.mac);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "id", s.id);
	rte_tel_data_add_dict_string(d, "name", s.name);
	rte_tel_data_add_dict_string(d, "kind", vus_port_kind_str(s.kind));
	rte_tel_data_add_dict_string(d, "mac", mac);
	rte_tel_data_add_dict_string(d, "link", s.link_up ? "up" : "down");
	rte_tel_data_add_dict_string(d, "state", s.state);
	rte_tel_data_add_dict_int(d, "queues", s.nb_queues);
	info_kind(d, &s);
	info_vlan(d, &s.vlan);
	/* EAL lcore polling each RX queue, -1 for none. */
	lc = rte_tel_data_alloc();
	if (lc != NULL) {
		rte_tel_data_start_array(lc, RTE_TEL_INT_VAL);
		for (uint16_t q = 0; q < s.nb_queues && q < VUS_OPS_MAX_QUEUES; q++)
			rte_tel_data_add_array_int(lc,
						   s.lcore[q] == FWD_NO_LCORE ? -1 : s.lcore[q]);
		tel_add_container(d, "queue_lcores", lc);
	}
	/* Measured load of each RX queue, thousandths of an lcore, -1 for none yet. */
	lc = rte_tel_data_alloc();
	if (lc != NULL) {
		rte_tel_data_start_array(lc, RTE_TEL_INT_VAL);
		for (uint16_t q = 0; q < s.nb_queues && q < VUS_OPS_MAX_QUEUES; q++)
			rte_tel_data_add_array_int(lc,
						   s.load_ppm[q] < 0 ? -1 : s.load_ppm[q] / 1000);
		tel_add_container(d, "queue_load_permille", lc);
	}
	return 0;
}

static struct rte_tel_data *
queue_dict(const struct vus_queue_stats *q, bool vhost)
{
	struct rte_tel_data *c = tel_new_dict();
	char name[64];

	if (c == NULL)
		return NULL;
	rte_tel_data_add_dict_u64(c, "packets", q->packets);
	rte_tel_data_add_dict_u64(c, "bytes", q->bytes);
	rte_tel_data_add_dict_u64(c, "dropped", q->dropped);
	if (!vhost)
		return c;
	rte_tel_data_add_dict_u64(c, "guest_notifications", q->calls);
	for (unsigned int r = 0; r < VIRTQ_DROP_MAX; r++) {
		snprintf(name, sizeof(name), "drop_%s", virtq_drop_name((enum virtq_drop)r));
		rte_tel_data_add_dict_u64(c, name, q->drops[r]);
	}
	return c;
}

static bool
queue_listed(const struct vus_port_xstats *x, uint16_t q)
{
	return x->nb_queues <= TEL_ALL_QUEUES || q == 0 || x->rx[q].packets != 0 ||
	       x->tx[q].packets != 0 || x->rx[q].dropped != 0 || x->tx[q].dropped != 0;
}

static void
stats_queues(struct rte_tel_data *d, const struct vus_port_xstats *x)
{
	struct rte_tel_data *rx = tel_new_dict(), *tx = tel_new_dict();
	bool vhost = x->kind == VUS_PORT_VHOST;
	char key[16];

	for (uint16_t q = 0; rx != NULL && tx != NULL && q < x->nb_queues; q++) {
		if (!queue_listed(x, q))
			continue;
		snprintf(key, sizeof(key), "%u", q);
		tel_add_container(rx, key, queue_dict(&x->rx[q], vhost));
		tel_add_container(tx, key, queue_dict(&x->tx[q], vhost));
	}
	tel_add_container(d, "rxq", rx);
	tel_add_container(d, "txq", tx);
}

static void
stats_xstats(struct rte_tel_data *d, const struct vus_port_xstats *x)
{
	struct rte_tel_data *c;

	if (x->nxstats == 0 || (c = tel_new_dict()) == NULL)
		return;
	for (unsigned int i = 0; i < x->nxstats; i++)
		rte_tel_data_add_dict_u64(c, x->xstats[i].name, x->xstats[i].value);
	tel_add_container(d, "xstats", c);
}

int
tel_port_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_port_xstats *x;
	struct vus_port_summary s;
	char err[VUS_ERR_LEN];
	uint16_t id;

	if (!tel_param_id(params, &id, d, "/vuswitch/port/stats,<port_id>"))
		return 0;
	if (vus_ops_port_get(id, VUS_RATE_TELEMETRY, &s, err) != 0)
		return tel_error(d, "%s", err);
	x = malloc(sizeof(*x));
	if (x == NULL || vus_ops_port_xstats(id, x, err) != 0) {
		free(x);
		return tel_error(d, "%s", x == NULL ? "out of memory" : err);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "id", id);
	rte_tel_data_add_dict_u64(d, "rx_packets", s.stats.rx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s.stats.rx_bytes);
	rte_tel_data_add_dict_u64(d, "rx_dropped", s.stats.rx_dropped);
	rte_tel_data_add_dict_u64(d, "tx_packets", s.stats.tx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s.stats.tx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_dropped", s.stats.tx_dropped);
	rte_tel_data_add_dict_u64(d, "rx_pps", s.rx_pps);
	rte_tel_data_add_dict_u64(d, "tx_pps", s.tx_pps);
	rte_tel_data_add_dict_int(d, "queues", x->nb_queues);
	stats_queues(d, x);
	stats_xstats(d, x);
	free(x);
	return 0;
}

/* --- changes --------------------------------------------------------------------------------- */

/* The reply to a port change: its port id, or the reason it failed. */
static int
reply_port(struct rte_tel_data *d, int id, const char *err)
{
	if (id < 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "port", id);
	return 0;
}

static int
add_vhost(char *rest, struct rte_tel_data *d)
{
	char *save = NULL, *path = strtok_r(rest, ",", &save), *opt, *end, err[VUS_ERR_LEN];
	unsigned long qp = 0;
	bool client = false;
	int id;

	if (path == NULL)
		return tel_error(d, "usage: /vuswitch/port/add,vhost-user,<path>[,client]"
				    "[,queues=<n>]");
	while ((opt = strtok_r(NULL, ",", &save)) != NULL) {
		if (strcmp(opt, "client") == 0) {
			client = true;
		} else if (strncmp(opt, "queues=", 7) == 0) {
			qp = strtoul(opt + 7, &end, 10);
			if (*end != '\0' || qp < 1 || qp > VHOST_CTRL_MAX_QUEUE_PAIRS)
				return tel_error(d, "queues must be 1..%u, got '%s'",
						 VHOST_CTRL_MAX_QUEUE_PAIRS, opt + 7);
		} else {
			return tel_error(d, "unknown option '%s' (client, queues=<n>)", opt);
		}
	}
	id = vus_ops_port_add_vhost(path, client, (unsigned int)qp, err);
	return reply_port(d, id, err);
}

int
tel_port_add(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char buf[512], err[VUS_ERR_LEN];

	if (params == NULL || strlen(params) >= sizeof(buf))
		return tel_error(d, "usage: /vuswitch/port/add,vhost-user,<path>[,client]"
				    "[,queues=<n>] or /vuswitch/port/add,ethdev,<devargs>");
	snprintf(buf, sizeof(buf), "%s", params);
	if (strncmp(buf, "vhost-user,", 11) == 0)
		return add_vhost(buf + 11, d);
	if (strncmp(buf, "ethdev,", 7) != 0)
		return tel_error(d, "expected vhost-user,<path>... or ethdev,<devargs>, got '%s'",
				 params);
	/* devargs keep their own commas. */
	return reply_port(d, vus_ops_port_add_ethdev(buf + 7, err), err);
}

int
tel_port_del(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN];
	uint16_t id;

	if (!tel_param_id(params, &id, d, "/vuswitch/port/del,<port_id>"))
		return 0;
	return reply_port(d, vus_ops_port_del(id, err) != 0 ? -1 : id, err);
}

#define RXQ_LCORE_USAGE "usage: /vuswitch/port/rxq_lcore,<port_id>,<queue_id>,<lcore_id>|auto"

int
tel_port_rxq_lcore(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char buf[64], err[VUS_ERR_LEN], *save = NULL, *port, *queue, *lcore, *end;
	unsigned long q;
	uint16_t id;
	int lc, owner;

	if (params == NULL || strlen(params) >= sizeof(buf))
		return tel_error(d, RXQ_LCORE_USAGE);
	snprintf(buf, sizeof(buf), "%s", params);
	port = strtok_r(buf, ",", &save);
	queue = strtok_r(NULL, ",", &save);
	lcore = strtok_r(NULL, ",", &save);
	if (port == NULL || queue == NULL || lcore == NULL || strtok_r(NULL, ",", &save) != NULL)
		return tel_error(d, RXQ_LCORE_USAGE);
	if (!tel_param_id(port, &id, d, RXQ_LCORE_USAGE))
		return 0;
	q = strtoul(queue, &end, 10);
	if (queue[0] < '0' || queue[0] > '9' || *end != '\0' || q > UINT16_MAX)
		return tel_error(d, "expected a queue id, got '%s'", queue);
	if (vus_lcore_arg_parse(lcore, &lc, err) != 0)
		return tel_error(d, "%s", err);
	owner = vus_ops_port_rxq_lcore(id, (uint16_t)q, lc, err);
	if (owner < 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "port", id);
	rte_tel_data_add_dict_int(d, "queue", (int)q);
	tel_dict_flag(d, "pinned", lc >= 0);
	rte_tel_data_add_dict_int(d, "lcore", owner);
	return 0;
}
