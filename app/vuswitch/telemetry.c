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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>
#include <rte_version.h>

#include "telemetry.h"
#include "vhost_msg.h"
#include "vus_log.h"
#include "vus_ops.h"

/* Queues a stats reply lists in full; above, only queues that saw traffic. */
#define TEL_ALL_QUEUES 8
/* Table entries an fdb reply lists (the reply must fit in 16 KiB). */
#define TEL_FDB_MAX 128

static int
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

static int
tel_ok(struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "status", "ok");
	return 0;
}

/* A port id parameter; false (with an error reply) if missing or bad. */
static bool
param_id(const char *params, uint16_t *id, struct rte_tel_data *d, const char *usage)
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

static void
dict_flag(struct rte_tel_data *d, const char *name, bool v)
{
	rte_tel_data_add_dict_int(d, name, v ? 1 : 0);
}

/* A new dict container, or NULL. */
static struct rte_tel_data *
new_dict(void)
{
	struct rte_tel_data *c = rte_tel_data_alloc();

	if (c != NULL)
		rte_tel_data_start_dict(c);
	return c;
}

static void
add_container(struct rte_tel_data *d, const char *name, struct rte_tel_data *c)
{
	if (c != NULL && rte_tel_data_add_dict_container(d, name, c, 0) != 0)
		rte_tel_data_free(c);
}

/* --- read-only ----------------------------------------------------------------------------- */

static int
tel_version(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", vus_ops_version());
	rte_tel_data_add_dict_string(d, "dpdk", rte_version());
	return 0;
}

static int
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
		    (p = new_dict()) == NULL)
			continue;
		rte_tel_data_add_dict_string(p, "name", s.name);
		rte_tel_data_add_dict_string(p, "kind", vus_port_kind_str(s.kind));
		rte_tel_data_add_dict_string(p, "link", s.link_up ? "up" : "down");
		rte_tel_data_add_dict_string(p, "state", s.state);
		rte_tel_data_add_dict_u64(p, "rx_packets", s.stats.rx_packets);
		rte_tel_data_add_dict_u64(p, "tx_packets", s.stats.tx_packets);
		snprintf(key, sizeof(key), "%u", ids[i]);
		add_container(d, key, p);
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
		dict_flag(d, "client", s->client);
		rte_tel_data_add_dict_int(d, "vhost_id", (int)s->vhost_id);
		rte_tel_data_add_dict_int(d, "rings_running", (int)s->rings_running);
	} else {
		rte_tel_data_add_dict_string(d, "devargs", s->devargs);
		rte_tel_data_add_dict_string(d, "driver", s->driver);
		rte_tel_data_add_dict_int(d, "eth_port", s->eth_port);
		rte_tel_data_add_dict_u64(d, "speed_mbps", s->speed_mbps);
	}
}

static int
tel_port_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_port_summary s;
	struct rte_tel_data *lc;
	char err[VUS_ERR_LEN], mac[RTE_ETHER_ADDR_FMT_SIZE];
	uint16_t id;

	if (!param_id(params, &id, d, "/vuswitch/port/info,<port_id>"))
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
		add_container(d, "queue_lcores", lc);
	}
	/* Measured load of each RX queue, thousandths of an lcore, -1 for none yet. */
	lc = rte_tel_data_alloc();
	if (lc != NULL) {
		rte_tel_data_start_array(lc, RTE_TEL_INT_VAL);
		for (uint16_t q = 0; q < s.nb_queues && q < VUS_OPS_MAX_QUEUES; q++)
			rte_tel_data_add_array_int(lc,
						   s.load_ppm[q] < 0 ? -1 : s.load_ppm[q] / 1000);
		add_container(d, "queue_load_permille", lc);
	}
	return 0;
}

static struct rte_tel_data *
queue_dict(const struct vus_queue_stats *q, bool vhost)
{
	struct rte_tel_data *c = new_dict();
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
	struct rte_tel_data *rx = new_dict(), *tx = new_dict();
	bool vhost = x->kind == VUS_PORT_VHOST;
	char key[16];

	for (uint16_t q = 0; rx != NULL && tx != NULL && q < x->nb_queues; q++) {
		if (!queue_listed(x, q))
			continue;
		snprintf(key, sizeof(key), "%u", q);
		add_container(rx, key, queue_dict(&x->rx[q], vhost));
		add_container(tx, key, queue_dict(&x->tx[q], vhost));
	}
	add_container(d, "rxq", rx);
	add_container(d, "txq", tx);
}

static void
stats_xstats(struct rte_tel_data *d, const struct vus_port_xstats *x)
{
	struct rte_tel_data *c;

	if (x->nxstats == 0 || (c = new_dict()) == NULL)
		return;
	for (unsigned int i = 0; i < x->nxstats; i++)
		rte_tel_data_add_dict_u64(c, x->xstats[i].name, x->xstats[i].value);
	add_container(d, "xstats", c);
}

static int
tel_port_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_port_xstats *x;
	struct vus_port_summary s;
	char err[VUS_ERR_LEN];
	uint16_t id;

	if (!param_id(params, &id, d, "/vuswitch/port/stats,<port_id>"))
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

/* --- vhost-user ---------------------------------------------------------------------------- */

static struct rte_tel_data *
feature_names(uint64_t bits, bool proto)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	char name[16];

	if (a == NULL)
		return NULL;
	rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
	for (unsigned int b = 0; b < 64; b++) {
		const char *n = proto ? vhost_protocol_feature_name(b) : virtio_feature_name(b);

		if (!(bits & (1ULL << b)))
			continue;
		if (n == NULL) {
			snprintf(name, sizeof(name), "bit%u", b);
			n = name;
		}
		rte_tel_data_add_array_string(a, n);
	}
	return a;
}

static void
vhost_features(struct rte_tel_data *d, const struct vhost_port_info *vi)
{
	rte_tel_data_add_dict_u64(d, "features_offered", vi->features_offered);
	rte_tel_data_add_dict_u64(d, "features", vi->features);
	dict_flag(d, "features_set", vi->features_set);
	add_container(d, "feature_names", feature_names(vi->features, false));
	rte_tel_data_add_dict_u64(d, "protocol_offered", vi->protocol_offered);
	rte_tel_data_add_dict_u64(d, "protocol_features", vi->protocol_features);
	add_container(d, "protocol_names", feature_names(vi->protocol_features, true));
	rte_tel_data_add_dict_int(d, "status", vi->status);
	rte_tel_data_add_dict_int(d, "mtu", vi->mtu);
}

static struct rte_tel_data *
ring_dict(const struct vus_vhost_snapshot *v, unsigned int r)
{
	const struct vhost_ring_info *ri = &v->info.rings[r];
	struct rte_tel_data *c = new_dict();

	if (c == NULL)
		return NULL;
	rte_tel_data_add_dict_string(c, "guest", r % 2 ? "tx" : "rx");
	rte_tel_data_add_dict_int(c, "queue", (int)(r / 2));
	rte_tel_data_add_dict_int(c, "num", (int)ri->num);
	dict_flag(c, "started", ri->started);
	dict_flag(c, "enabled", ri->enabled);
	dict_flag(c, "running", ri->published);
	dict_flag(c, "broken", ri->broken);
	dict_flag(c, "kick", ri->has_kick);
	dict_flag(c, "call", ri->has_call);
	rte_tel_data_add_dict_u64(c, "base", ri->base);
	rte_tel_data_add_dict_int(c, "last_avail", ri->last_avail);
	rte_tel_data_add_dict_int(c, "last_used", ri->last_used);
	if (ri->idx_valid) {
		rte_tel_data_add_dict_int(c, "avail_idx", ri->avail_idx);
		rte_tel_data_add_dict_int(c, "used_idx", ri->used_idx);
	}
	rte_tel_data_add_dict_int(c, "lcore",
				  v->ring_lcore[r] == FWD_NO_LCORE ? -1 : v->ring_lcore[r]);
	return c;
}

static void
vhost_rings(struct rte_tel_data *d, const struct vus_vhost_snapshot *v)
{
	struct rte_tel_data *rings = new_dict();
	char key[16];

	for (unsigned int r = 0; rings != NULL && r < v->info.nrings; r++) {
		const struct vhost_ring_info *ri = &v->info.rings[r];

		/* As show vhost: rings the front-end never touched are left out. */
		if (ri->num == 0 && !ri->started && !ri->enabled && !ri->published)
			continue;
		snprintf(key, sizeof(key), "%u", r);
		add_container(rings, key, ring_dict(v, r));
	}
	add_container(d, "rings", rings);
}

static void
vhost_memory(struct rte_tel_data *d, const struct vhost_port_info *vi)
{
	struct rte_tel_data *regs = new_dict();
	char key[16];

	rte_tel_data_add_dict_int(d, "nregions", (int)vi->nregions);
	rte_tel_data_add_dict_u64(d, "mapped_bytes", vi->mapped_bytes);
	for (unsigned int k = 0; regs != NULL && k < vi->nregions && k < VHOST_INFO_MAX_REGIONS;
	     k++) {
		struct rte_tel_data *c = new_dict();

		if (c == NULL)
			break;
		rte_tel_data_add_dict_u64(c, "gpa", vi->regions[k].gpa);
		rte_tel_data_add_dict_u64(c, "size", vi->regions[k].size);
		rte_tel_data_add_dict_u64(c, "uva", vi->regions[k].uva);
		snprintf(key, sizeof(key), "%u", k);
		add_container(regs, key, c);
	}
	add_container(d, "regions", regs);
}

static void
vhost_steps(struct rte_tel_data *d, const struct vus_vhost_snapshot *v)
{
	struct rte_tel_data *steps = new_dict();
	char key[16];

	for (unsigned int k = 0; steps != NULL && k < v->info.nsteps; k++) {
		const struct vhost_step *st = &v->info.steps[k];
		struct rte_tel_data *c = new_dict();

		if (c == NULL)
			break;
		rte_tel_data_add_dict_string(c, "request", vhost_msg_name(st->request));
		rte_tel_data_add_dict_string(
			c, "result", vhost_step_result_str((enum vhost_step_result)st->result));
		rte_tel_data_add_dict_u64(c, "age_ms",
					  v->now_ms >= st->at_ms ? v->now_ms - st->at_ms : 0);
		snprintf(key, sizeof(key), "%u", k);
		add_container(steps, key, c);
	}
	add_container(d, "steps", steps);
}

static void
vhost_hints(struct rte_tel_data *d, const struct vus_vhost_snapshot *v)
{
	char hints[VUS_MAX_HINTS][VUS_HINT_LEN];
	unsigned int n = vus_vhost_hints(v, hints, VUS_MAX_HINTS);
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a == NULL)
		return;
	rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
	for (unsigned int k = 0; k < n; k++)
		rte_tel_data_add_array_string(a, hints[k]);
	add_container(d, "hints", a);
}

static int
tel_vhost(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_vhost_snapshot *v;
	const struct vhost_port_info *vi;
	char err[VUS_ERR_LEN];
	uint16_t id;

	if (!param_id(params, &id, d, "/vuswitch/vhost,<port_id>"))
		return 0;
	v = malloc(sizeof(*v));
	if (v == NULL || vus_ops_vhost_get(id, v, err) != 0) {
		free(v);
		return tel_error(d, "%s", v == NULL ? "out of memory" : err);
	}
	vi = &v->info;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "id", id);
	rte_tel_data_add_dict_string(d, "path", vi->path);
	dict_flag(d, "client", vi->client);
	rte_tel_data_add_dict_string(d, "conn", vhost_port_conn_str(vi->conn));
	rte_tel_data_add_dict_int(d, "connections", (int)vi->connections);
	rte_tel_data_add_dict_int(d, "queue_pairs", (int)vi->queue_pairs);
	vhost_features(d, vi);
	vhost_memory(d, vi);
	vhost_rings(d, v);
	rte_tel_data_add_dict_string(d, "last_error", vi->last_error);
	vhost_steps(d, v);
	vhost_hints(d, v);
	free(v);
	return 0;
}

/* --- forwarding and table ------------------------------------------------------------------ */

static void
lcore_counters(struct rte_tel_data *c, const struct fwd_lcore_stats *s)
{
	rte_tel_data_add_dict_u64(c, "rx_packets", s->rx_packets);
	rte_tel_data_add_dict_u64(c, "tx_packets", s->tx_packets);
	rte_tel_data_add_dict_u64(c, "tx_dropped", s->tx_dropped);
	rte_tel_data_add_dict_u64(c, "fwd_dropped", s->fwd_dropped);
	rte_tel_data_add_dict_u64(c, "flooded", s->flooded);
	rte_tel_data_add_dict_u64(c, "loops", s->loops);
	rte_tel_data_add_dict_u64(c, "busy_loops", s->busy_loops);
	rte_tel_data_add_dict_u64(c, "idle_sleeps", s->idle_sleeps);
}

static struct rte_tel_data *
lcore_dict(const struct vus_lcore_info *li, unsigned int index)
{
	struct rte_tel_data *c = new_dict(), *polls = rte_tel_data_alloc();
	char pq[16];

	if (c == NULL || polls == NULL) {
		rte_tel_data_free(c);
		rte_tel_data_free(polls);
		return NULL;
	}
	rte_tel_data_add_dict_int(c, "index", (int)index);
	rte_tel_data_add_dict_int(c, "txq", li->txq);
	lcore_counters(c, &li->stats);
	rte_tel_data_add_dict_u64(c, "load_permille", li->load_ppm / 1000);
	/* "port/queue" pairs the lcore polls. */
	rte_tel_data_start_array(polls, RTE_TEL_STRING_VAL);
	for (uint16_t k = 0; k < li->npolls && k < VUS_OPS_MAX_POLLS; k++) {
		snprintf(pq, sizeof(pq), "%u/%u", li->polls[k].port, li->polls[k].queue);
		rte_tel_data_add_array_string(polls, pq);
	}
	add_container(c, "polls", polls);
	return c;
}

static struct vus_fwd_info *
fwd_info(struct rte_tel_data *d)
{
	struct vus_fwd_info *fi = malloc(sizeof(*fi));
	char err[VUS_ERR_LEN];

	if (fi == NULL || vus_ops_fwd_get(fi, err) != 0) {
		tel_error(d, "%s", fi == NULL ? "out of memory" : err);
		free(fi);
		return NULL;
	}
	return fi;
}

static int
tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_fwd_info *fi = fwd_info(d);
	char key[16];

	if (fi == NULL)
		return 0;
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < fi->nb_lcores; i++) {
		snprintf(key, sizeof(key), "%u", fi->lcores[i].lcore_id);
		add_container(d, key, lcore_dict(&fi->lcores[i], i));
	}
	free(fi);
	return 0;
}

static int
tel_fwd(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_fwd_info *fi = fwd_info(d);
	struct rte_tel_data *sw;

	if (fi == NULL)
		return 0;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "engine", fi->engine);
	dict_flag(d, "running", fi->running);
	rte_tel_data_add_dict_int(d, "ports", fi->nports);
	rte_tel_data_add_dict_int(d, "lcores", (int)fi->nb_lcores);
	rte_tel_data_add_dict_int(d, "rebalance_interval_s", (int)fi->rebalance_interval_s);
	rte_tel_data_add_dict_int(d, "idle_sleep_us", (int)fi->idle_sleep_us);
	lcore_counters(d, &fi->total);
	sw = new_dict();
	if (sw != NULL) {
		rte_tel_data_add_dict_u64(sw, "unicast", fi->sw.unicast);
		rte_tel_data_add_dict_u64(sw, "flooded", fi->sw.flooded);
		rte_tel_data_add_dict_u64(sw, "drop_vlan", fi->sw.drop_vlan);
		rte_tel_data_add_dict_u64(sw, "drop_same_port", fi->sw.drop_same_port);
		rte_tel_data_add_dict_u64(sw, "drop_runt", fi->sw.drop_runt);
		rte_tel_data_add_dict_u64(sw, "drop_nomem", fi->sw.drop_nomem);
		add_container(d, "switch", sw);
	}
	free(fi);
	return 0;
}

static struct rte_tel_data *
fdb_entry_dict(const struct fdb_entry_info *e)
{
	struct rte_tel_data *c = new_dict();
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	if (c == NULL)
		return NULL;
	rte_ether_format_addr(mac, sizeof(mac), &e->mac);
	rte_tel_data_add_dict_int(c, "vlan", e->vlan);
	rte_tel_data_add_dict_string(c, "mac", mac);
	rte_tel_data_add_dict_int(c, "port", e->port);
	dict_flag(c, "static", e->is_static);
	rte_tel_data_add_dict_u64(c, "age_s", e->age_s);
	return c;
}

static int
tel_fdb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct rte_tel_data *table;
	struct vus_fdb_dump dump;
	char err[VUS_ERR_LEN], key[8], *end;
	long vlan = -1;

	if (params != NULL && params[0] != '\0') {
		vlan = strtol(params, &end, 10);
		if (*end != '\0' || vlan < 0 || vlan > 4095)
			return tel_error(d, "expected a VLAN (0..4095), got '%s'", params);
	}
	if (vus_ops_fdb_dump((int)vlan, &dump, err) != 0)
		return tel_error(d, "%s", err);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "entries", dump.stats.entries);
	rte_tel_data_add_dict_u64(d, "static_entries", dump.stats.static_entries);
	rte_tel_data_add_dict_u64(d, "max_entries", dump.stats.max_entries);
	rte_tel_data_add_dict_u64(d, "aging_s", dump.aging_s);
	rte_tel_data_add_dict_u64(d, "learned", dump.stats.learned);
	rte_tel_data_add_dict_u64(d, "moves", dump.stats.moves);
	rte_tel_data_add_dict_u64(d, "aged", dump.stats.aged);
	rte_tel_data_add_dict_u64(d, "removed", dump.stats.removed);
	rte_tel_data_add_dict_u64(d, "learn_full", dump.stats.learn_full);
	rte_tel_data_add_dict_u64(d, "lookups", dump.stats.lookups);
	rte_tel_data_add_dict_u64(d, "lookup_misses", dump.stats.lookup_misses);
	rte_tel_data_add_dict_u64(d, "lookup_cache_hits", dump.stats.cache_hits);
	rte_tel_data_add_dict_u64(d, "learn_requests", dump.stats.learn_requests);
	rte_tel_data_add_dict_u64(d, "learn_drops", dump.stats.learn_drops);
	rte_tel_data_add_dict_u64(d, "learn_cache_hits", dump.stats.learn_cache_hits);
	rte_tel_data_add_dict_u64(d, "matching", dump.n);
	rte_tel_data_add_dict_u64(d, "listed", RTE_MIN(dump.n, (unsigned int)TEL_FDB_MAX));
	table = new_dict();
	for (unsigned int i = 0; table != NULL && i < dump.n && i < TEL_FDB_MAX; i++) {
		snprintf(key, sizeof(key), "%u", i);
		add_container(table, key, fdb_entry_dict(&dump.e[i]));
	}
	add_container(d, "table", table);
	vus_ops_fdb_dump_free(&dump);
	return 0;
}

/* --- changes --------------------------------------------------------------------------------- */

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
	if (id < 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "port", id);
	return 0;
}

static int
tel_port_add(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char buf[512], err[VUS_ERR_LEN];
	int id;

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
	id = vus_ops_port_add_ethdev(buf + 7, err);
	if (id < 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "port", id);
	return 0;
}

static int
tel_port_del(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN];
	uint16_t id;

	if (!param_id(params, &id, d, "/vuswitch/port/del,<port_id>"))
		return 0;
	if (vus_ops_port_del(id, err) != 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "port", id);
	return 0;
}

#define RXQ_LCORE_USAGE "usage: /vuswitch/port/rxq_lcore,<port_id>,<queue_id>,<lcore_id>|auto"

static int
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
	if (!param_id(port, &id, d, RXQ_LCORE_USAGE))
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
	dict_flag(d, "pinned", lc >= 0);
	rte_tel_data_add_dict_int(d, "lcore", owner);
	return 0;
}

static int
tel_fdb_flush(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN];
	int n;

	if (params != NULL && params[0] != '\0')
		return tel_error(d, "/vuswitch/fdb/flush takes no parameter");
	n = vus_ops_fdb_flush(err);
	if (n < 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "removed", n);
	return 0;
}

static int
tel_fwd_start(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN], *end;
	unsigned long n = 0;

	if (params != NULL && strcmp(params, "tx_first") == 0) {
		n = 1;
	} else if (params != NULL && strncmp(params, "tx_first=", 9) == 0) {
		n = strtoul(params + 9, &end, 10);
		if (*end != '\0' || n < 1 || n > 1024)
			return tel_error(d, "tx_first bursts must be 1..1024, got '%s'",
					 params + 9);
	} else if (params != NULL && params[0] != '\0') {
		return tel_error(d, "usage: /vuswitch/fwd/start[,tx_first[=<n>]]");
	}
	if (vus_ops_fwd_start((uint32_t)n, err) != 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "tx_first", (int)n);
	return 0;
}

static int
tel_fwd_stop(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN];

	if (params != NULL && params[0] != '\0')
		return tel_error(d, "/vuswitch/fwd/stop takes no parameter");
	if (vus_ops_fwd_stop(err) != 0)
		return tel_error(d, "%s", err);
	return tel_ok(d);
}

static int
tel_fwd_rebalance(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct fwd_rebalance_result r;
	char err[VUS_ERR_LEN];

	if (params != NULL && params[0] != '\0')
		return tel_error(d, "/vuswitch/fwd/rebalance takes no parameter");
	if (vus_ops_fwd_rebalance(&r, err) != 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	dict_flag(d, "applied", r.applied);
	rte_tel_data_add_dict_int(d, "moved", (int)r.moved);
	rte_tel_data_add_dict_u64(d, "busiest_before_permille", r.max_before / 1000);
	rte_tel_data_add_dict_u64(d, "busiest_after_permille", r.max_after / 1000);
	return 0;
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
