/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations layer, part 1: plumbing (control-thread calls, the
 * shutdown gate) and ports (registry, snapshots, add/del, VLAN, lcore).
 * See vus_ops.h for the threading rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "port_ethdev.h"
#include "port_vhost.h"
#include "vus_log.h"
#include "vus_ops_priv.h"

#ifndef VUS_VERSION
#define VUS_VERSION "unknown"
#endif

struct ops_state g_ops;

/* Control-thread scratch for vhost_ctrl_port_info() (too big for a stack). */
static struct vhost_port_info g_vinfo;

int
ops_fail(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, VUS_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int
ops_enter(char *err)
{
	/* Count first, then look: shutdown sets closing, then waits for the
	 * count to drop, so either it sees us or we see it. */
	atomic_fetch_add(&g_ops.inflight, 1);
	if (atomic_load(&g_ops.closing)) {
		atomic_fetch_sub(&g_ops.inflight, 1);
		return ops_fail(err, -ESHUTDOWN, "vuswitch is shutting down");
	}
	return 0;
}

void
ops_leave(void)
{
	atomic_fetch_sub(&g_ops.inflight, 1);
}

struct tramp_args {
	int (*fn)(void *);
	void *arg;
};

static int
tramp(struct vhost_ctrl *ctrl, void *arg)
{
	struct tramp_args *t = arg;

	return t->fn(t->arg);
}

int
ops_call(int (*fn)(void *), void *arg, char *err)
{
	struct tramp_args t = { .fn = fn, .arg = arg };
	int ret = ops_enter(err);

	if (ret != 0)
		return ret;
	ret = vhost_ctrl_call(g_ops.p.ctrl, tramp, &t);
	ops_leave();
	return ret;
}

/* Index of the forwarding lcore with EAL id @p lcore_id, or -1. */
static int
lcore_index(int lcore_id)
{
	for (unsigned int i = 0; i < fwd_nb_lcores(g_ops.p.rt); i++)
		if ((int)fwd_lcore_get(g_ops.p.rt, i)->lcore_id == lcore_id)
			return (int)i;
	return -1;
}

int
vus_ops_init(const struct vus_ops_params *p, char *err)
{
	memset(&g_ops, 0, sizeof(g_ops));
	g_ops.p = *p;
	g_ops.aging_s = FDB_DEFAULT_AGING_S;
	atomic_init(&g_ops.closing, false);
	atomic_init(&g_ops.inflight, 0);
	if (p->nb_rxq_pins > VUS_MAX_RXQ_PINS)
		return ops_fail(err, -EINVAL, "more than %u RX queue pins", VUS_MAX_RXQ_PINS);
	for (unsigned int i = 0; i < p->nb_rxq_pins; i++) {
		const struct vus_rxq_pin *pin = &p->rxq_pins[i];

		if (lcore_index((int)pin->lcore_id) < 0)
			return ops_fail(err, -EINVAL,
					"%u:%u:%u: lcore %u is not a forwarding lcore "
					"(an EAL worker lcore)",
					pin->port, pin->queue, pin->lcore_id, pin->lcore_id);
		g_ops.rxq_pins[i] = *pin;
	}
	g_ops.nb_rxq_pins = p->nb_rxq_pins;
	g_ops.p.rxq_pins = g_ops.rxq_pins;
	return 0;
}

void
vus_ops_shutdown(void)
{
	atomic_store(&g_ops.closing, true);
	while (atomic_load(&g_ops.inflight) != 0)
		usleep(1000);
}

void
vus_ops_fini(void)
{
	for (unsigned int i = 0; i < FWD_MAX_PORTS; i++)
		free(g_ops.ports[i].qbase);
	memset(g_ops.ports, 0, sizeof(g_ops.ports));
}

const char *
vus_ops_version(void)
{
	return VUS_VERSION;
}

const char *
vus_port_kind_str(enum vus_port_kind k)
{
	return k == VUS_PORT_VHOST ? "vhost-user" : "ethdev";
}

static bool
vlan_bit(const uint64_t *m, unsigned int v)
{
	return (m[v >> 6] >> (v & 63)) & 1;
}

char *
vus_vlan_list_str(const uint64_t allowed[64], char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int v = 1; v < 4095 && used < len; v++) {
		unsigned int hi = v;

		if (!vlan_bit(allowed, v))
			continue;
		while (hi + 1 < 4095 && vlan_bit(allowed, hi + 1))
			hi++;
		if (hi == v)
			used += (size_t)snprintf(buf + used, len - used, "%s%u", used ? "," : "",
						 v);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "",
						 v, hi);
		v = hi;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
	return buf;
}

char *
vus_virtio_status_str(uint8_t status, char *buf, size_t len)
{
	static const char *const names[8] = { "ACKNOWLEDGE", "DRIVER", "DRIVER_OK",   "FEATURES_OK",
					      NULL,          NULL,     "NEEDS_RESET", "FAILED" };
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int b = 0; b < 8 && used < len; b++)
		if (status & (1u << b))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "",
						 names[b] != NULL ? names[b] : "?");
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
	return buf;
}

struct ops_port *
ops_port_get(uint16_t id, char *err)
{
	if (id >= FWD_MAX_PORTS || !g_ops.ports[id].used) {
		ops_fail(err, -ENOENT, "no port %u", id);
		return NULL;
	}
	return &g_ops.ports[id];
}

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
	const struct vhost_port_info *vi = &g_vinfo;

	s->vhost_id = op->vhost_id;
	if (vhost_ctrl_port_info(g_ops.p.ctrl, op->vhost_id, &g_vinfo) != 0)
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

/* --- adding and removing ports ----------------------------------------------------------- */

/*
 * The standing pins (--rxq-lcore) of new port @p id, in the order given. A
 * pin of a queue the port does not have never applies; one that fails
 * (no memory) leaves the queue where it was put.
 */
static void
rxq_pins_apply(uint16_t id, const struct vus_port *p)
{
	for (unsigned int i = 0; i < g_ops.nb_rxq_pins; i++) {
		const struct vus_rxq_pin *pin = &g_ops.rxq_pins[i];
		int idx = lcore_index((int)pin->lcore_id);
		int ret;

		if (pin->port != id)
			continue;
		if (pin->queue >= p->nb_queues) {
			VUS_CTRL_LOG(
				INFO,
				"port %u: has %u RX queue(s), --rxq-lcore %u:%u:%u not applied\n",
				id, p->nb_queues, pin->port, pin->queue, pin->lcore_id);
			continue;
		}
		ret = idx < 0 ? -EINVAL : fwd_queue_pin(g_ops.p.rt, id, pin->queue, (uint16_t)idx);
		if (ret != 0)
			VUS_CTRL_LOG(WARNING, "port %u: RX queue %u not pinned to lcore %u: %s\n",
				     id, pin->queue, pin->lcore_id, strerror(-ret));
		else
			VUS_CTRL_LOG(INFO,
				     "port %u: RX queue %u pinned to lcore %u (--rxq-lcore)\n", id,
				     pin->queue, pin->lcore_id);
	}
}

/* Enter a port the runtime accepted into the registry. */
static int
registry_add(struct vus_port *p, int id, enum vus_port_kind kind, struct virtq_stats *qbase)
{
	struct ops_port *op = &g_ops.ports[id];

	memset(op, 0, sizeof(*op));
	op->used = true;
	op->kind = kind;
	op->port = p;
	op->qbase = qbase;
	return id;
}

struct add_args {
	const char *path;
	bool client;
	unsigned int queue_pairs;
	const char *devargs;
	uint16_t eth_port;
	char *err;
};

static int
do_add_vhost(void *arg)
{
	struct add_args *a = arg;
	struct vhost_port_params vp = { .path = a->path,
					.client = a->client,
					.queue_pairs = a->queue_pairs };
	struct virtq_stats *qbase;
	struct vus_port *p;
	int vid, id;

	vid = vhost_ctrl_port_add(g_ops.p.ctrl, &vp);
	if (vid == -EEXIST)
		return ops_fail(a->err, vid, "%s is already a port's socket", a->path);
	if (vid < 0)
		return ops_fail(a->err, vid, "cannot open %s: %s", a->path, strerror(-vid));
	p = port_vhost_create(g_ops.p.ctrl, (unsigned int)vid, 0);
	qbase = p != NULL ? calloc(2u * p->nb_queues, sizeof(*qbase)) : NULL;
	id = qbase != NULL ? fwd_port_add(g_ops.p.rt, p) : -ENOMEM;
	if (id < 0) {
		/* Undo in reverse: nothing of the port stays. */
		free(qbase);
		vus_port_destroy(p);
		vhost_ctrl_port_del(g_ops.p.ctrl, (unsigned int)vid);
		return ops_fail(a->err, id, "cannot add %s: %s", a->path, strerror(-id));
	}
	registry_add(p, id, VUS_PORT_VHOST, qbase);
	g_ops.ports[id].vhost_id = (unsigned int)vid;
	VUS_CTRL_LOG(INFO, "port %d: vhost-user %s%s added\n", id, a->path,
		     a->client ? " (client)" : "");
	rxq_pins_apply((uint16_t)id, p);
	return id;
}

int
vus_ops_port_add_vhost(const char *path, bool client, unsigned int queue_pairs, char *err)
{
	struct add_args a = {
		.path = path, .client = client, .queue_pairs = queue_pairs, .err = err
	};

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(g_vinfo.path))
		return ops_fail(err, -EINVAL, "socket path must be 1..%zu characters",
				sizeof(g_vinfo.path) - 1);
	if (queue_pairs > VHOST_CTRL_MAX_QUEUE_PAIRS)
		return ops_fail(err, -EINVAL, "queues must be 1..%u", VHOST_CTRL_MAX_QUEUE_PAIRS);
	return ops_call(do_add_vhost, &a, err);
}

static int
attach_ethdev(uint16_t eth, const char *devargs, char *err)
{
	uint16_t nl = (uint16_t)fwd_nb_lcores(g_ops.p.rt);
	uint16_t ntx = nl != 0 ? nl : 1;
	struct vus_port *p = port_ethdev_create(eth, 0, g_ops.p.ethdev_rxq, ntx, g_ops.p.mp);
	int id = p != NULL ? fwd_port_add(g_ops.p.rt, p) : -EIO;

	if (id < 0) {
		vus_port_destroy(p);
		return ops_fail(err, id, "ethdev %u: cannot start it (see the log)", eth);
	}
	registry_add(p, id, VUS_PORT_ETHDEV, NULL);
	VUS_CTRL_LOG(INFO, "port %d: ethdev %s added\n", id, p->name);
	g_ops.ports[id].eth_port = eth;
	g_ops.ports[id].eth_txq = ntx;
	snprintf(g_ops.ports[id].devargs, sizeof(g_ops.ports[id].devargs), "%s", devargs);
	rxq_pins_apply((uint16_t)id, p);
	return id;
}

static int
do_attach_ethdev(void *arg)
{
	struct add_args *a = arg;
	char name[RTE_ETH_NAME_MAX_LEN];

	if (rte_eth_dev_get_name_by_port(a->eth_port, name) != 0)
		snprintf(name, sizeof(name), "eth%u", a->eth_port);
	return attach_ethdev(a->eth_port, name, a->err);
}

int
vus_ops_port_attach_ethdev(uint16_t eth_port, char *err)
{
	struct add_args a = { .eth_port = eth_port, .err = err };

	return ops_call(do_attach_ethdev, &a, err);
}

static bool
eth_is_attached(uint16_t eth)
{
	for (unsigned int i = 0; i < FWD_MAX_PORTS; i++)
		if (g_ops.ports[i].used && g_ops.ports[i].kind == VUS_PORT_ETHDEV &&
		    g_ops.ports[i].eth_port == eth)
			return true;
	return false;
}

/* Undo a probe: close the ethdev and detach its device. */
static void
unprobe(uint16_t eth)
{
	struct rte_eth_dev_info di;

	if (rte_eth_dev_info_get(eth, &di) != 0)
		return;
	rte_eth_dev_close(eth);
	rte_dev_remove(di.device);
}

static int
do_add_ethdev(void *arg)
{
	struct add_args *a = arg;
	bool before[RTE_MAX_ETHPORTS] = { false };
	uint16_t eth, found = RTE_MAX_ETHPORTS;
	int ret;

	RTE_ETH_FOREACH_DEV (eth)
		before[eth] = true;
	ret = rte_dev_probe(a->devargs);
	if (ret < 0)
		return ops_fail(a->err, ret,
				"cannot probe '%s': unknown driver, bad arguments "
				"or device in use (error %d)",
				a->devargs, ret);
	RTE_ETH_FOREACH_DEV (eth)
		if (!before[eth] && !eth_is_attached(eth) && found == RTE_MAX_ETHPORTS)
			found = eth;
	if (found == RTE_MAX_ETHPORTS)
		return ops_fail(a->err, -ENODEV, "'%s' was probed but gave no new ethdev",
				a->devargs);
	ret = attach_ethdev(found, a->devargs, a->err);
	if (ret < 0)
		unprobe(found);
	else
		VUS_CTRL_LOG(INFO, "port %d: ethdev %s added\n", ret, a->devargs);
	return ret;
}

int
vus_ops_port_add_ethdev(const char *devargs, char *err)
{
	struct add_args a = { .devargs = devargs, .err = err };

	if (devargs == NULL || devargs[0] == '\0' || strlen(devargs) >= 128)
		return ops_fail(err, -EINVAL, "devargs must be 1..127 characters");
	return ops_call(do_add_ethdev, &a, err);
}

struct del_args {
	uint16_t id;
	char *err;
};

static int
do_port_del(void *arg)
{
	struct del_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);
	struct rte_device *dev = NULL;
	struct rte_eth_dev_info di;
	struct vus_port *p;

	if (op == NULL)
		return -ENOENT;
	/* After fwd_port_del() no lcore polls or sends to the port. */
	p = fwd_port_del(g_ops.p.rt, a->id);
	fwd_switch_port_removed(g_ops.p.sw, a->id);
	if (op->kind == VUS_PORT_ETHDEV && rte_eth_dev_info_get(op->eth_port, &di) == 0)
		dev = di.device;
	vus_port_destroy(p);
	if (op->kind == VUS_PORT_VHOST)
		vhost_ctrl_port_del(g_ops.p.ctrl, op->vhost_id);
	else if (dev != NULL && rte_dev_remove(dev) != 0)
		VUS_CTRL_LOG(WARNING, "port %u: device of ethdev %u not removed\n", a->id,
			     op->eth_port);
	free(op->qbase);
	memset(op, 0, sizeof(*op));
	VUS_CTRL_LOG(INFO, "port %u: removed\n", a->id);
	return 0;
}

int
vus_ops_port_del(uint16_t id, char *err)
{
	struct del_args a = { .id = id, .err = err };

	return ops_call(do_port_del, &a, err);
}

/* --- port settings ----------------------------------------------------------------------- */

struct vlan_args {
	uint16_t id;
	bool trunk;
	uint16_t vlan; /* access VLAN or trunk native */
	uint64_t allowed[64];
	int lcore_id;
	int queue; /* lcore: one RX queue, or -1 for all */
	char *err;
};

static int
do_port_vlan(void *arg)
{
	struct vlan_args *a = arg;
	int ret;

	if (ops_port_get(a->id, a->err) == NULL)
		return -ENOENT;
	ret = a->trunk ? fwd_switch_set_trunk(g_ops.p.sw, a->id, a->allowed, a->vlan)
		       : fwd_switch_set_access(g_ops.p.sw, a->id, a->vlan);
	if (ret != 0)
		return ops_fail(a->err, ret, "port %u: VLAN mode not changed: %s", a->id,
				strerror(-ret));
	return 0;
}

int
vus_ops_port_vlan_access(uint16_t id, uint16_t vlan, char *err)
{
	struct vlan_args a = { .id = id, .vlan = vlan, .err = err };

	if (vlan < 1 || vlan > 4094)
		return ops_fail(err, -EINVAL, "VLAN must be 1..4094, got %u", vlan);
	return ops_call(do_port_vlan, &a, err);
}

int
vus_ops_port_vlan_trunk(uint16_t id, const char *list, uint16_t native, char *err)
{
	struct vlan_args a = { .id = id, .trunk = true, .vlan = native, .err = err };

	if (fwd_vlan_list_parse(list, a.allowed) != 0)
		return ops_fail(err, -EINVAL,
				"bad VLAN list '%s': expected e.g. 10,20,30-40 "
				"(VLANs 1..4094)",
				list != NULL ? list : "");
	if (native > 4094)
		return ops_fail(err, -EINVAL, "native VLAN must be 1..4094, got %u", native);
	return ops_call(do_port_vlan, &a, err);
}

int
vus_lcore_arg_parse(const char *s, int *lcore_id, char *err)
{
	char *end = NULL;
	long v = -1;

	if (s == NULL)
		return ops_fail(err, -EINVAL, "expected an lcore id or auto");
	if (strcmp(s, "auto") == 0) {
		*lcore_id = -1;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9')
		v = strtol(s, &end, 10);
	if (v < 0 || v >= RTE_MAX_LCORE || *end != '\0')
		return ops_fail(err, -EINVAL, "expected an lcore id or auto, got '%s'", s);
	*lcore_id = (int)v;
	return 0;
}

/* The EAL lcore polling RX queue @p q of port @p id, or -1. */
static int
owner_lcore(uint16_t id, uint16_t q)
{
	uint16_t idx = fwd_queue_owner(g_ops.p.rt, id, q);
	struct fwd_lcore *lc = idx != FWD_NO_LCORE ? fwd_lcore_get(g_ops.p.rt, idx) : NULL;

	return lc != NULL ? (int)lc->lcore_id : -1;
}

/*
 * Pin RX queues [first, last) of port @p id to lcore index @p idx
 * (FWD_NO_LCORE: automatic). Validated by the caller.
 */
static int
pin_queues(uint16_t id, uint16_t first, uint16_t last, uint16_t idx, char *err)
{
	for (uint16_t q = first; q < last; q++) {
		int ret = fwd_queue_pin(g_ops.p.rt, id, q, idx);

		if (ret != 0)
			return ops_fail(err, ret, "port %u queue %u: %s", id, q, strerror(-ret));
	}
	return 0;
}

/* Pin one queue (a->queue >= 0) or every queue of a port to a->lcore_id. */
static int
do_port_lcore(void *arg)
{
	struct vlan_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);
	int idx = a->lcore_id < 0 ? FWD_NO_LCORE : lcore_index(a->lcore_id);
	uint16_t nq;
	int ret;

	if (op == NULL)
		return -ENOENT;
	if (fwd_nb_lcores(g_ops.p.rt) == 0)
		return ops_fail(a->err, -ENOTSUP, "no forwarding lcore (EAL -l has one core)");
	if (idx < 0)
		return ops_fail(a->err, -EINVAL,
				"lcore %d is not a forwarding lcore "
				"(see show lcores)",
				a->lcore_id);
	nq = op->port->nb_queues;
	if (a->queue < 0)
		return pin_queues(a->id, 0, nq, (uint16_t)idx, a->err);
	if (a->queue >= nq)
		return ops_fail(a->err, -ENOENT, "port %u has %u RX queue(s): no queue %d", a->id,
				nq, a->queue);
	ret = pin_queues(a->id, (uint16_t)a->queue, (uint16_t)(a->queue + 1), (uint16_t)idx,
			 a->err);
	if (ret != 0)
		return ret;
	ret = owner_lcore(a->id, (uint16_t)a->queue);
	return ret >= 0 ? ret
			: ops_fail(a->err, -EIO, "port %u queue %d: polled by no lcore", a->id,
				   a->queue);
}

int
vus_ops_port_lcore(uint16_t id, int lcore_id, char *err)
{
	struct vlan_args a = { .id = id, .lcore_id = lcore_id, .queue = -1, .err = err };

	return ops_call(do_port_lcore, &a, err);
}

int
vus_ops_port_rxq_lcore(uint16_t id, uint16_t queue, int lcore_id, char *err)
{
	struct vlan_args a = { .id = id, .lcore_id = lcore_id, .queue = queue, .err = err };

	return ops_call(do_port_lcore, &a, err);
}

/* --- vhost-user ---------------------------------------------------------------------------- */

struct vhost_args {
	uint16_t id;
	struct vus_vhost_snapshot *v;
	char *err;
};

static int
do_vhost_get(void *arg)
{
	struct vhost_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);
	struct timespec ts;
	int ret;

	if (op == NULL)
		return -ENOENT;
	if (op->kind != VUS_PORT_VHOST)
		return ops_fail(a->err, -EINVAL, "port %u is not a vhost-user port", a->id);
	ret = vhost_ctrl_port_info(g_ops.p.ctrl, op->vhost_id, &a->v->info);
	if (ret != 0)
		return ops_fail(a->err, ret, "port %u: no vhost-user state", a->id);
	a->v->id = a->id;
	/* Ring 2q+1 is RX queue q; its owner also writes ring 2q (port_vhost.c). */
	for (unsigned int r = 0; r < a->v->info.nrings; r++) {
		uint16_t q = (uint16_t)(r / 2);
		uint16_t idx = fwd_queue_owner(g_ops.p.rt, a->id, q);
		struct fwd_lcore *lc = idx != FWD_NO_LCORE ? fwd_lcore_get(g_ops.p.rt, idx) : NULL;

		a->v->ring_lcore[r] = lc != NULL ? (uint16_t)lc->lcore_id : FWD_NO_LCORE;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	a->v->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	a->v->fwd_running = fwd_is_running(g_ops.p.rt);
	return 0;
}

int
vus_ops_vhost_get(uint16_t id, struct vus_vhost_snapshot *v, char *err)
{
	struct vhost_args a = { .id = id, .v = v, .err = err };

	return ops_call(do_vhost_get, &a, err);
}

/* --- hints --------------------------------------------------------------------------------- */

#define HINT(...) \
	do { \
		if (n < max) \
			snprintf(hints[n++], VUS_HINT_LEN, __VA_ARGS__); \
	} while (0)

/* Port-level reasons: connection, negotiation, memory, no ring started. */
static unsigned int
hints_port(const struct vus_vhost_snapshot *v, char hints[][VUS_HINT_LEN], unsigned int max)
{
	const struct vhost_port_info *vi = &v->info;
	unsigned int n = 0, running = 0;

	for (unsigned int r = 0; r < vi->nrings; r++)
		running += vi->rings[r].published;
	if (vi->conn != VHOST_PORT_CONNECTED)
		HINT("no front-end connected (%s %s)", vhost_port_conn_str(vi->conn),
		     vi->client ? "to the socket" : "on the socket");
	else if (!vi->features_set)
		HINT("front-end connected but features not negotiated yet (no SET_FEATURES)");
	else if (vi->nregions == 0)
		HINT("no guest memory table yet (no SET_MEM_TABLE)");
	else if (running == 0 && (vi->protocol_features & (1ULL << 16)) != 0 &&
		 (vi->status & 0x4) == 0)
		HINT("no ring running: the driver has not set DRIVER_OK (status 0x%x)", vi->status);
	else if (running == 0)
		HINT("no ring running: the front-end has not started any (SET_VRING_KICK)");
	return n;
}

/* Ring-level reasons for the rings that run. */
static unsigned int
hints_rings(const struct vus_vhost_snapshot *v, char hints[][VUS_HINT_LEN], unsigned int max)
{
	const struct vhost_port_info *vi = &v->info;
	unsigned int n = 0;

	for (unsigned int r = 0; r < vi->nrings; r++) {
		const struct vhost_ring_info *ri = &vi->rings[r];

		if (!ri->published)
			continue;
		if (ri->broken)
			HINT("ring %u is broken: stopped after a bad descriptor or address "
			     "(see the last error)",
			     r);
		else if (!ri->enabled)
			HINT("ring %u is disabled (SET_VRING_ENABLE 0): its packets are discarded",
			     r);
		else if (r % 2 == 0 && ri->idx_valid && ri->avail_idx == ri->last_avail)
			HINT("ring %u (guest RX): no free buffer posted by the guest; packets to it "
			     "are dropped (no_guest_buffer)",
			     r);
		if (v->ring_lcore[r] == FWD_NO_LCORE && r % 2 == 1)
			HINT("queue %u is not polled by any lcore (no forwarding lcore)", r / 2);
	}
	return n;
}

unsigned int
vus_vhost_hints(const struct vus_vhost_snapshot *v, char hints[][VUS_HINT_LEN], unsigned int max)
{
	unsigned int n = hints_port(v, hints, max);

	if (n == 0)
		n = hints_rings(v, hints, max);
	if (!v->fwd_running && n < max)
		snprintf(hints[n++], VUS_HINT_LEN, "forwarding is stopped (start)");
	if (n == 0 && max > 0)
		snprintf(hints[n++], VUS_HINT_LEN,
			 "rings running; if no traffic flows, look at the drop reasons "
			 "(show port xstats) and the table (show fdb)");
	return n;
}
