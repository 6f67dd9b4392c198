/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations layer: port snapshots (summary, rates, per-queue counters)
 * and clearing counters. Control thread, through ops_call(); see vus_ops.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "port_vhost.h"
#include "vus_ops_priv.h"

/* --- snapshots --------------------------------------------------------------------------- */

static void
stats_sub(struct vus_port_stats *a, const struct vus_port_stats *b)
{
	a->rx_packets -= b->rx_packets;
	a->rx_bytes -= b->rx_bytes;
	a->rx_dropped -= b->rx_dropped;
	a->tx_packets -= b->tx_packets;
	a->tx_bytes -= b->tx_bytes;
	a->tx_dropped -= b->tx_dropped;
}

/* Packets per second since this slot's previous read; then remember this one. */
static void
rates_update(struct ops_port *op, enum vus_rate_slot slot, const struct vus_port_stats *raw,
	     struct vus_port_summary *s)
{
	uint64_t now = rte_get_tsc_cycles();
	double hz = (double)rte_get_tsc_hz();

	if (slot < 0 || slot >= VUS_RATE_SLOTS)
		return;
	if (op->rate[slot].tsc != 0 && now > op->rate[slot].tsc) {
		double dt = (double)(now - op->rate[slot].tsc) / hz;

		/* A reset ethdev counts from 0 again: no negative rate. */
		if (raw->rx_packets >= op->rate[slot].rx)
			s->rx_pps = (uint64_t)((double)(raw->rx_packets - op->rate[slot].rx) / dt);
		if (raw->tx_packets >= op->rate[slot].tx)
			s->tx_pps = (uint64_t)((double)(raw->tx_packets - op->rate[slot].tx) / dt);
	}
	op->rate[slot].rx = raw->rx_packets;
	op->rate[slot].tx = raw->tx_packets;
	op->rate[slot].tsc = now;
}

static void
summary_vhost(const struct ops_port *op, struct vus_port_summary *s)
{
	const struct vhost_port_info *vi = &g_ops_vinfo;

	s->vhost_id = op->vhost_id;
	if (vhost_ctrl_port_info(g_ops.p.ctrl, op->vhost_id, &g_ops_vinfo) != 0)
		return;
	memcpy(s->path, vi->path, sizeof(s->path));
	s->path[sizeof(s->path) - 1] = '\0';
	s->client = vi->client;
	snprintf(s->state, sizeof(s->state), "%s", vhost_port_conn_str(vi->conn));
	for (unsigned int r = 0; r < vi->nrings; r++)
		s->rings_running += vi->rings[r].published;
	/* Up: a front-end and at least one queue pair the datapath runs. */
	for (unsigned int q = 0; vi->conn == VHOST_PORT_CONNECTED && q < vi->nrings / 2; q++)
		if (vi->rings[2 * q].published && vi->rings[2 * q].enabled &&
		    vi->rings[2 * q + 1].published && vi->rings[2 * q + 1].enabled)
			s->link_up = true;
}

static void
summary_ethdev(const struct ops_port *op, struct vus_port_summary *s)
{
	struct rte_eth_dev_info di;
	struct rte_eth_link link;

	s->eth_port = op->eth_port;
	snprintf(s->devargs, sizeof(s->devargs), "%s", op->devargs);
	if (rte_eth_dev_info_get(op->eth_port, &di) == 0)
		snprintf(s->driver, sizeof(s->driver), "%s", di.driver_name);
	memset(&link, 0, sizeof(link));
	rte_eth_link_get_nowait(op->eth_port, &link);
	s->link_up = link.link_status == RTE_ETH_LINK_UP;
	s->speed_mbps = link.link_speed;
	snprintf(s->state, sizeof(s->state), "%s", s->link_up ? "up" : "down");
}

static void
summary_fill(uint16_t id, struct ops_port *op, enum vus_rate_slot slot, struct vus_port_summary *s)
{
	struct vus_port *p = op->port;
	struct vus_port_stats raw;

	memset(s, 0, sizeof(*s));
	s->id = id;
	s->kind = op->kind;
	snprintf(s->name, sizeof(s->name), "%s", p->name);
	s->mac = p->mac;
	s->nb_queues = p->nb_queues;
	if (op->kind == VUS_PORT_VHOST)
		summary_vhost(op, s);
	else
		summary_ethdev(op, s);
	fwd_switch_get_vlan(g_ops.p.sw, id, &s->vlan);
	for (uint16_t q = 0; q < VUS_OPS_MAX_QUEUES; q++) {
		uint16_t idx = q < p->nb_queues ? fwd_queue_owner(g_ops.p.rt, id, q) : FWD_NO_LCORE;
		struct fwd_lcore *lc = idx != FWD_NO_LCORE ? fwd_lcore_get(g_ops.p.rt, idx) : NULL;

		s->lcore[q] = lc != NULL ? (uint16_t)lc->lcore_id : FWD_NO_LCORE;
		s->load_ppm[q] = q < p->nb_queues ? fwd_queue_load(g_ops.p.rt, id, q) : -1;
	}
	p->ops->stats_get(p, &raw);
	s->stats = raw;
	stats_sub(&s->stats, &op->base);
	rates_update(op, slot, &raw, s);
}

struct port_get_args {
	uint16_t id;
	enum vus_rate_slot slot;
	struct vus_port_summary *s;
	uint16_t *ids;
	unsigned int max;
	char *err;
};

static int
do_port_ids(void *arg)
{
	struct port_get_args *a = arg;
	unsigned int n = 0;

	for (uint16_t id = 0; id < FWD_MAX_PORTS && n < a->max; id++)
		if (g_ops.ports[id].used)
			a->ids[n++] = id;
	return (int)n;
}

int
vus_ops_port_ids(uint16_t *ids, unsigned int max)
{
	struct port_get_args a = { .ids = ids, .max = max };
	int ret = ops_call(do_port_ids, &a, NULL);

	return ret < 0 ? 0 : ret;
}

static int
do_port_get(void *arg)
{
	struct port_get_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);

	if (op == NULL)
		return -ENOENT;
	summary_fill(a->id, op, a->slot, a->s);
	return 0;
}

int
vus_ops_port_get(uint16_t id, enum vus_rate_slot slot, struct vus_port_summary *s, char *err)
{
	struct port_get_args a = { .id = id, .slot = slot, .s = s, .err = err };

	return ops_call(do_port_get, &a, err);
}

/* --- per-queue counters ------------------------------------------------------------------ */

static void
queue_from_virtq(struct vus_queue_stats *q, const struct virtq_stats *vs,
		 const struct virtq_stats *base)
{
	q->packets = vs->packets - base->packets;
	q->bytes = vs->bytes - base->bytes;
	q->calls = vs->calls - base->calls;
	q->dropped = 0;
	for (unsigned int r = 0; r < VIRTQ_DROP_MAX; r++) {
		q->drops[r] = vs->drops[r] - base->drops[r];
		q->dropped += q->drops[r];
	}
}

static void
xstats_vhost(const struct ops_port *op, struct vus_port_xstats *x)
{
	struct vus_port *p = op->port;
	uint16_t n = RTE_MIN(p->nb_queues, (uint16_t)VUS_OPS_MAX_QUEUES);

	x->nb_queues = n;
	for (uint16_t q = 0; q < n; q++) {
		queue_from_virtq(&x->rx[q], port_vhost_ring_stats(p, q, true), &op->qbase[q]);
		queue_from_virtq(&x->tx[q], port_vhost_ring_stats(p, q, false),
				 &op->qbase[p->nb_queues + q]);
	}
}

static void
xstats_ethdev_list(uint16_t eth, struct vus_port_xstats *x)
{
	int n = rte_eth_xstats_get(eth, NULL, 0);
	struct rte_eth_xstat_name *names = n > 0 ? calloc((size_t)n, sizeof(*names)) : NULL;
	struct rte_eth_xstat *vals = n > 0 ? calloc((size_t)n, sizeof(*vals)) : NULL;

	/* The device may have more than we carry: the first VUS_OPS_MAX_XSTATS. */
	if (names != NULL && vals != NULL && rte_eth_xstats_get_names(eth, names, n) == n &&
	    rte_eth_xstats_get(eth, vals, n) == n) {
		for (int i = 0; i < n && x->nxstats < VUS_OPS_MAX_XSTATS; i++) {
			if (vals[i].id >= (uint64_t)n)
				continue;
			snprintf(x->xstats[x->nxstats].name, sizeof(x->xstats[0].name), "%s",
				 names[vals[i].id].name);
			x->xstats[x->nxstats++].value = vals[i].value;
		}
	}
	free(names);
	free(vals);
}

static void
xstats_ethdev(const struct ops_port *op, struct vus_port_xstats *x)
{
	uint16_t n = RTE_MAX(op->port->nb_queues, op->eth_txq);
	struct rte_eth_stats st;

	n = RTE_MIN(n, (uint16_t)RTE_ETHDEV_QUEUE_STAT_CNTRS);
	x->nb_queues = n;
	if (rte_eth_stats_get(op->eth_port, &st) == 0) {
		for (uint16_t q = 0; q < n; q++) {
			x->rx[q].packets = st.q_ipackets[q];
			x->rx[q].bytes = st.q_ibytes[q];
			x->rx[q].dropped = st.q_errors[q];
			x->tx[q].packets = st.q_opackets[q];
			x->tx[q].bytes = st.q_obytes[q];
		}
	}
	xstats_ethdev_list(op->eth_port, x);
}

struct xstats_args {
	uint16_t id;
	struct vus_port_xstats *x;
	char *err;
};

static int
do_port_xstats(void *arg)
{
	struct xstats_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);

	if (op == NULL)
		return -ENOENT;
	memset(a->x, 0, sizeof(*a->x));
	a->x->id = a->id;
	a->x->kind = op->kind;
	if (op->kind == VUS_PORT_VHOST)
		xstats_vhost(op, a->x);
	else
		xstats_ethdev(op, a->x);
	return 0;
}

int
vus_ops_port_xstats(uint16_t id, struct vus_port_xstats *x, char *err)
{
	struct xstats_args a = { .id = id, .x = x, .err = err };

	return ops_call(do_port_xstats, &a, err);
}

static void
clear_one(struct ops_port *op)
{
	struct vus_port *p = op->port;

	if (op->kind == VUS_PORT_ETHDEV) {
		/* What testpmd's "clear port stats" does: the device counts anew. */
		rte_eth_stats_reset(op->eth_port);
		rte_eth_xstats_reset(op->eth_port);
		return;
	}
	p->ops->stats_get(p, &op->base);
	for (uint16_t q = 0; q < p->nb_queues; q++) {
		op->qbase[q] = *port_vhost_ring_stats(p, q, true);
		op->qbase[p->nb_queues + q] = *port_vhost_ring_stats(p, q, false);
	}
}

struct clear_args {
	int id;
	char *err;
};

static int
do_port_clear(void *arg)
{
	struct clear_args *a = arg;

	if (a->id >= 0) {
		struct ops_port *op = ops_port_get((uint16_t)a->id, a->err);

		if (op == NULL)
			return -ENOENT;
		clear_one(op);
		return 0;
	}
	for (uint16_t id = 0; id < FWD_MAX_PORTS; id++)
		if (g_ops.ports[id].used)
			clear_one(&g_ops.ports[id]);
	return 0;
}

int
vus_ops_port_clear(int id, char *err)
{
	struct clear_args a = { .id = id, .err = err };

	if (id >= FWD_MAX_PORTS)
		return ops_fail(err, -ENOENT, "no port %d", id);
	return ops_call(do_port_clear, &a, err);
}
