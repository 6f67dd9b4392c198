/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The L2 switch engine. Per burst: classify each frame into a VLAN by the
 * input port's mode (popping a trunk tag), report the sources for learning
 * (the table learns off the hot path, lib/fdb), look the destinations up
 * in bulk, group the frames per output port and send each group as one
 * burst, tagging on the way out where the output port is a trunk.
 * Unknown unicast, broadcast and multicast go to every other port of the
 * VLAN: the last port gets the frame itself, the others copies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "fdb_cache.h"
#include "fwd_switch.h"

#define VLAN_BITMAP_WORDS 64

struct vlan_table {
	struct fwd_port_vlan port[FWD_MAX_PORTS];
};

/* Per-lcore scratch and counters (indexed by the lcore's TX queue id). */
struct sw_lcore {
	struct rte_mbuf *out[FWD_MAX_PORTS][FWD_BURST];
	uint16_t nout[FWD_MAX_PORTS];
	uint16_t touched[FWD_MAX_PORTS];
	uint16_t ntouched;
	struct fdb_cache *cache; /* NULL: straight to the table */
	struct fwd_switch_stats stats;
} __rte_cache_aligned;

struct fwd_switch {
	struct fdb *fdb;
	struct rte_rcu_qsbr *qsbr;
	struct rte_mempool *mp;
	_Atomic(const struct vlan_table *) vlans;
	struct sw_lcore *lcores; /* FWD_MAX_LCORES */
};

static inline bool
vlan_allowed(const struct fwd_port_vlan *pv, uint16_t vlan)
{
	if (pv->mode == FWD_VLAN_ACCESS)
		return vlan == pv->vlan;
	return (pv->allowed[vlan >> 6] >> (vlan & 63)) & 1;
}

static void
vlan_default(struct fwd_port_vlan *pv)
{
	memset(pv, 0, sizeof(*pv));
	pv->mode = FWD_VLAN_ACCESS;
	pv->vlan = FWD_DEFAULT_VLAN;
}

static void
caches_free(struct fwd_switch *sw)
{
	if (sw->lcores == NULL)
		return;
	for (unsigned int l = 0; l < FWD_MAX_LCORES; l++)
		fdb_cache_free(sw->lcores[l].cache);
}

struct fwd_switch *
fwd_switch_create(const struct fdb_params *fdb_params, struct rte_rcu_qsbr *qsbr,
		  struct rte_mempool *mp)
{
	struct fwd_switch *sw = rte_zmalloc("fwd_switch", sizeof(*sw), RTE_CACHE_LINE_SIZE);
	struct vlan_table *vt = rte_zmalloc("fwd_vlans", sizeof(*vt), RTE_CACHE_LINE_SIZE);
	unsigned int nb_caches;

	if (sw == NULL || vt == NULL)
		goto fail;
	sw->lcores = rte_zmalloc("fwd_sw_lcores", sizeof(struct sw_lcore) * FWD_MAX_LCORES,
				 RTE_CACHE_LINE_SIZE);
	sw->fdb = fdb_create(fdb_params);
	if (sw->lcores == NULL || sw->fdb == NULL)
		goto fail;
	/* A forwarding lcore's index is below the EAL's lcore count: one
	 * table cache each (64 KiB) rather than FWD_MAX_LCORES of them. */
	nb_caches = RTE_MIN(rte_lcore_count(), (unsigned int)FWD_MAX_LCORES);
	for (unsigned int l = 0; l < nb_caches; l++) {
		sw->lcores[l].cache = fdb_cache_create(sw->fdb, 0, fdb_params->socket_id);
		if (sw->lcores[l].cache == NULL)
			goto fail;
	}
	for (unsigned int p = 0; p < FWD_MAX_PORTS; p++)
		vlan_default(&vt->port[p]);
	atomic_init(&sw->vlans, vt);
	sw->qsbr = qsbr;
	sw->mp = mp;
	return sw;
fail:
	if (sw != NULL) {
		caches_free(sw);
		fdb_destroy(sw->fdb);
		rte_free(sw->lcores);
	}
	rte_free(sw);
	rte_free(vt);
	return NULL;
}

void
fwd_switch_destroy(struct fwd_switch *sw)
{
	if (sw == NULL)
		return;
	caches_free(sw);
	fdb_destroy(sw->fdb);
	rte_free((void *)(uintptr_t)atomic_load(&sw->vlans));
	rte_free(sw->lcores);
	rte_free(sw);
}

struct fdb *
fwd_switch_fdb(struct fwd_switch *sw)
{
	return sw->fdb;
}

/* Build a new VLAN table with one port changed, publish it, free the old. */
static int
vlan_update(struct fwd_switch *sw, uint16_t port, const struct fwd_port_vlan *pv)
{
	const struct vlan_table *old = atomic_load(&sw->vlans);
	struct vlan_table *vt;

	if (port >= FWD_MAX_PORTS)
		return -EINVAL;
	vt = rte_malloc("fwd_vlans", sizeof(*vt), RTE_CACHE_LINE_SIZE);
	if (vt == NULL)
		return -ENOMEM;
	memcpy(vt, old, sizeof(*vt));
	vt->port[port] = *pv;
	atomic_store(&sw->vlans, vt);
	if (sw->qsbr != NULL)
		rte_rcu_qsbr_synchronize(sw->qsbr, RTE_QSBR_THRID_INVALID);
	rte_free((void *)(uintptr_t)old);
	/* Addresses learned under the old mode may no longer be reachable. */
	fdb_flush_port(sw->fdb, port);
	return 0;
}

int
fwd_switch_set_access(struct fwd_switch *sw, uint16_t port, uint16_t vlan)
{
	struct fwd_port_vlan pv;

	if (vlan == 0 || vlan > 4094)
		return -EINVAL;
	vlan_default(&pv);
	pv.vlan = vlan;
	return vlan_update(sw, port, &pv);
}

int
fwd_switch_set_trunk(struct fwd_switch *sw, uint16_t port, const uint64_t allowed[64],
		     uint16_t native)
{
	struct fwd_port_vlan pv;

	if (native > 4094)
		return -EINVAL;
	memset(&pv, 0, sizeof(pv));
	pv.mode = FWD_VLAN_TRUNK;
	pv.native = native;
	memcpy(pv.allowed, allowed, sizeof(pv.allowed));
	pv.allowed[0] &= ~1ULL;          /* VLAN 0 is not a VLAN */
	pv.allowed[63] &= ~(1ULL << 63); /* nor is 4095 */
	if (native != 0)
		pv.allowed[native >> 6] |= 1ULL << (native & 63);
	return vlan_update(sw, port, &pv);
}

int
fwd_vlan_list_parse(const char *s, uint64_t allowed[64])
{
	memset(allowed, 0, 64 * sizeof(uint64_t));
	if (s == NULL || *s == '\0')
		return -EINVAL;
	while (*s != '\0') {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end == s || lo < 1 || lo > 4094)
			return -EINVAL;
		s = end;
		if (*s == '-') {
			hi = strtoul(s + 1, &end, 10);
			if (end == s + 1 || hi < lo || hi > 4094)
				return -EINVAL;
			s = end;
		}
		for (unsigned long v = lo; v <= hi; v++)
			allowed[v >> 6] |= 1ULL << (v & 63);
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -EINVAL;
	}
	return 0;
}

void
fwd_switch_get_vlan(const struct fwd_switch *sw, uint16_t port, struct fwd_port_vlan *out)
{
	const struct vlan_table *vt = atomic_load(&((struct fwd_switch *)(uintptr_t)sw)->vlans);

	if (port < FWD_MAX_PORTS)
		*out = vt->port[port];
	else
		vlan_default(out);
}

void
fwd_switch_port_removed(struct fwd_switch *sw, uint16_t port)
{
	struct fwd_port_vlan pv;

	vlan_default(&pv);
	vlan_update(sw, port, &pv);
}

void
fwd_switch_stats_get(const struct fwd_switch *sw, struct fwd_switch_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int l = 0; l < FWD_MAX_LCORES; l++) {
		const struct fwd_switch_stats *s = &sw->lcores[l].stats;

		st->unicast += s->unicast;
		st->flooded += s->flooded;
		st->drop_vlan += s->drop_vlan;
		st->drop_same_port += s->drop_same_port;
		st->drop_runt += s->drop_runt;
		st->drop_nomem += s->drop_nomem;
	}
}

/* The frame's VLAN on input port @p pv, its tag popped; 0 = drop it. */
static inline uint16_t
classify(struct rte_mbuf *m, const struct fwd_port_vlan *pv)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (unlikely(eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN))) {
		const struct rte_vlan_hdr *vh = (const struct rte_vlan_hdr *)(eh + 1);
		uint16_t vlan = rte_be_to_cpu_16(vh->vlan_tci) & 0xfff;

		if (m->data_len < sizeof(*eh) + sizeof(*vh) || pv->mode != FWD_VLAN_TRUNK ||
		    vlan == 0 || vlan == 4095 || !vlan_allowed(pv, vlan) || rte_vlan_strip(m) != 0)
			return 0;
		/* Offload header lengths follow the tag (rte_vlan_insert adds it
		 * back on a trunk). */
		if (unlikely(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)) &&
		    m->l2_len >= sizeof(*eh) + sizeof(*vh))
			m->l2_len = (uint8_t)(m->l2_len - sizeof(*vh));
		return vlan;
	}
	if (pv->mode == FWD_VLAN_ACCESS)
		return pv->vlan;
	return pv->native;
}

static inline void
out_add(struct sw_lcore *sl, uint16_t port, struct rte_mbuf *m)
{
	if (sl->nout[port] == 0)
		sl->touched[sl->ntouched++] = port;
	sl->out[port][sl->nout[port]++] = m;
}

/* Every other port of the VLAN gets the frame: copies, then the frame. */
static void
flood(struct fwd_switch *sw, struct sw_lcore *sl, const struct fwd_ports *ports,
      const struct vlan_table *vt, uint16_t in, struct rte_mbuf *m, uint16_t vlan)
{
	uint16_t last = FWD_MAX_PORTS;

	for (uint16_t i = 0; i < ports->n; i++) {
		uint16_t p = ports->list[i];

		if (p == in || !vlan_allowed(&vt->port[p], vlan))
			continue;
		if (last != FWD_MAX_PORTS) {
			struct rte_mbuf *c = rte_pktmbuf_copy(m, sw->mp, 0, UINT32_MAX);

			if (unlikely(c == NULL)) {
				sl->stats.drop_nomem++;
				continue;
			}
			c->vlan_tci = vlan;
			out_add(sl, last, c);
		}
		last = p;
	}
	if (last == FWD_MAX_PORTS) {
		rte_pktmbuf_free(m);
		return;
	}
	out_add(sl, last, m);
	sl->stats.flooded++;
}

/* Send every group; trunk ports get the VLAN tag back unless native. */
static void
flush_out(struct fwd_lcore *lc, struct sw_lcore *sl, const struct fwd_ports *ports,
	  const struct vlan_table *vt)
{
	for (uint16_t t = 0; t < sl->ntouched; t++) {
		uint16_t p = sl->touched[t], n = sl->nout[p], k = 0;
		const struct fwd_port_vlan *pv = &vt->port[p];

		for (uint16_t i = 0; i < n; i++) {
			struct rte_mbuf *m = sl->out[p][i];

			if (pv->mode == FWD_VLAN_TRUNK && m->vlan_tci != pv->native &&
			    unlikely(rte_vlan_insert(&m) != 0)) {
				rte_pktmbuf_free(m);
				sl->stats.drop_nomem++;
				continue;
			}
			sl->out[p][k++] = m;
		}
		fwd_send(lc, ports->by_id[p], sl->out[p], k);
		sl->nout[p] = 0;
	}
	sl->ntouched = 0;
}

static void
switch_burst(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *in,
	     struct rte_mbuf **pkts, uint16_t n)
{
	struct fwd_switch *sw = fwd_engine_ctx(lc->rt);
	struct sw_lcore *sl = &sw->lcores[lc->txq];
	const struct vlan_table *vt = atomic_load_explicit(&sw->vlans, memory_order_acquire);
	const struct fwd_port_vlan *ipv = &vt->port[in->id];
	struct fdb_key src[FWD_BURST], dst[FWD_BURST];
	uint16_t src_port[FWD_BURST], out[FWD_BURST], k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eh;
		uint16_t vlan;

		if (unlikely(m->data_len < sizeof(struct rte_ether_hdr))) {
			sl->stats.drop_runt++;
			rte_pktmbuf_free(m);
			continue;
		}
		vlan = classify(m, ipv);
		if (unlikely(vlan == 0)) {
			sl->stats.drop_vlan++;
			rte_pktmbuf_free(m);
			continue;
		}
		m->vlan_tci = vlan;
		eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		src[k] = fdb_key_make(vlan, &eh->src_addr);
		dst[k] = fdb_key_make(vlan, &eh->dst_addr);
		src_port[k] = in->id;
		pkts[k++] = m;
	}
	if (k == 0)
		return;
	if (likely(sl->cache != NULL)) {
		fdb_cache_learn_bulk(sl->cache, src, src_port, k, fdb_now_ms(sw->fdb));
		fdb_cache_lookup_bulk(sl->cache, dst, k, out);
	} else {
		fdb_learn_bulk(sw->fdb, src, src_port, k, fdb_now_ms(sw->fdb));
		fdb_lookup_bulk(sw->fdb, dst, k, out, NULL);
	}
	for (uint16_t i = 0; i < k; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t o = out[i], vlan = (uint16_t)m->vlan_tci;

		if (o == FDB_PORT_NONE || rte_is_multicast_ether_addr(&dst[i].mac) ||
		    o >= FWD_MAX_PORTS || ports->by_id[o] == NULL) {
			flood(sw, sl, ports, vt, in->id, m, vlan);
		} else if (unlikely(o == in->id || !vlan_allowed(&vt->port[o], vlan))) {
			sl->stats.drop_same_port++;
			rte_pktmbuf_free(m);
		} else {
			out_add(sl, o, m);
			sl->stats.unicast++;
		}
	}
	flush_out(lc, sl, ports, vt);
}

const struct fwd_engine fwd_switch_engine = {
	.name = "switch",
	.burst = switch_burst,
};
