/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user switch port. RX queue q reads the guest's TX ring 2q+1;
 * the guest's RX ring 2q is written only by the lcore that polls RX queue
 * q (its owner), so no ring ever has two writers. Another lcore sending to
 * this port hands its burst to the owner through an MPSC rte_ring, which
 * the owner drains into the guest on its next poll of queue q.
 *
 * Offloads: a frame asking for a checksum or TSO the guest did not
 * negotiate (GUEST_CSUM, GUEST_TSO4/6) is completed or segmented here,
 * just before delivery, with lib/sw_offload (VNET-9).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "port_vhost.h"
#include "sw_offload.h"
#include "virtq.h"

#define HANDOFF_SIZE 1024
#define NO_QUEUE UINT16_MAX
#define MAX_TXQ 64

struct port_vhost {
	struct virtq *rx[VHOST_CTRL_MAX_QUEUE_PAIRS]; /* guest TX rings */
	struct virtq *tx[VHOST_CTRL_MAX_QUEUE_PAIRS]; /* guest RX rings */
	struct rte_ring *handoff[VHOST_CTRL_MAX_QUEUE_PAIRS];
	/* For each lcore TX queue id: the guest queue it owns, or NO_QUEUE. */
	_Atomic uint16_t own[MAX_TXQ];
	uint16_t owner_of[VHOST_CTRL_MAX_QUEUE_PAIRS]; /* control thread's view */
};

/* What a guest takes as it is, from the features it negotiated. */
static uint32_t
guest_caps(const struct virtq_conf *c)
{
	uint32_t caps = 0;

	if (c->features & (1ULL << VIRTQ_F_GUEST_CSUM)) {
		caps |= SW_OFFLOAD_CAP_TCP_CSUM | SW_OFFLOAD_CAP_UDP_CSUM;
		if (c->features & (1ULL << VIRTQ_F_GUEST_TSO4))
			caps |= SW_OFFLOAD_CAP_TSO4;
		if (c->features & (1ULL << VIRTQ_F_GUEST_TSO6))
			caps |= SW_OFFLOAD_CAP_TSO6;
	}
	return caps;
}

/* Slow path: complete or segment what the guest cannot take, then copy. */
static void __rte_noinline
deliver_completed(struct virtq *vq, const struct virtq_conf *c, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *out[64];
	struct sw_offload_iter it;
	uint16_t k;

	sw_offload_iter_init(&it, pkts, n, guest_caps(c), pkts[0]->pool);
	while ((k = sw_offload_next(&it, out, RTE_DIM(out))) != 0) {
		virtq_enqueue_burst(vq, c, out, k);
		rte_pktmbuf_free_bulk(out, k);
	}
	/* Frames software could not complete (no mbufs, or more segments than
	 * SW_OFFLOAD_MAX_SEGS) are counted by reason. */
	vq->stats.drops[VIRTQ_DROP_NO_MBUF] += it.nomem;
	vq->stats.drops[VIRTQ_DROP_OFFLOAD] += it.dropped - it.nomem;
}

/* Copy a burst into guest RX ring q; the mbufs are freed (the guest got copies). */
static void
deliver(struct virtq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	const struct virtq_conf *c = virtq_conf_get(vq);

	if (unlikely(c == NULL)) {
		vq->stats.drops[VIRTQ_DROP_NO_GUEST_BUF] += n;
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	if (unlikely(sw_offload_pending_burst(pkts, n, guest_caps(c)))) {
		deliver_completed(vq, c, pkts, n);
		return;
	}
	virtq_enqueue_burst(vq, c, pkts, n);
	rte_pktmbuf_free_bulk(pkts, n);
}

/* The poller of queue q also delivers what other lcores handed over. */
static uint16_t
vhost_drain(struct vus_port *p, uint16_t q)
{
	struct port_vhost *pv = p->priv;
	struct rte_mbuf *h[32];
	unsigned int k;

	if (likely(rte_ring_empty(pv->handoff[q])))
		return 0;
	k = rte_ring_sc_dequeue_burst(pv->handoff[q], (void **)h, 32, NULL);
	deliver(pv->tx[q], h, (uint16_t)k);
	return (uint16_t)k;
}

static uint16_t
vhost_rx(struct vus_port *p, uint16_t q, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n)
{
	struct virtq *vq = ((struct port_vhost *)p->priv)->rx[q];

	return virtq_dequeue_burst(vq, virtq_conf_get(vq), mp, pkts, n);
}

static uint16_t
vhost_tx(struct vus_port *p, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct port_vhost *pv = p->priv;
	uint16_t q = txq < MAX_TXQ ? atomic_load_explicit(&pv->own[txq], memory_order_relaxed)
				   : NO_QUEUE;
	unsigned int k;

	if (likely(q != NO_QUEUE)) {
		deliver(pv->tx[q], pkts, n);
		return n;
	}
	/* Not an owner here: hand over to the owner of a queue the guest uses. */
	q = (uint16_t)(txq % p->nb_queues);
	if (virtq_conf_get(pv->tx[q]) == NULL)
		q = 0;
	k = rte_ring_mp_enqueue_burst(pv->handoff[q], (void **)pkts, n, NULL);
	return (uint16_t)k;
}

static void
vhost_queue_owner(struct vus_port *p, uint16_t q, uint16_t txq)
{
	struct port_vhost *pv = p->priv;

	/* The control thread calls this between grace periods (lib/fwd): an
	 * lcore writes a guest queue directly only while it polls that queue. */
	pv->owner_of[q] = txq;
	for (uint16_t t = 0; t < MAX_TXQ; t++) {
		uint16_t first = NO_QUEUE;

		for (uint16_t k = 0; k < p->nb_queues && first == NO_QUEUE; k++)
			if (pv->owner_of[k] == t)
				first = k;
		atomic_store(&pv->own[t], first);
	}
}

static void
add_ring(const struct virtq_stats *s, uint64_t *pk, uint64_t *by, uint64_t *dr)
{
	*pk += s->packets;
	*by += s->bytes;
	for (unsigned int i = 0; i < VIRTQ_DROP_MAX; i++)
		*dr += s->drops[i];
}

static void
vhost_stats(struct vus_port *p, struct vus_port_stats *st)
{
	struct port_vhost *pv = p->priv;

	*st = (struct vus_port_stats){ 0 };
	for (uint16_t q = 0; q < p->nb_queues; q++) {
		add_ring(&pv->rx[q]->stats, &st->rx_packets, &st->rx_bytes, &st->rx_dropped);
		add_ring(&pv->tx[q]->stats, &st->tx_packets, &st->tx_bytes, &st->tx_dropped);
	}
}

static void
free_port(struct vus_port *p)
{
	struct port_vhost *pv = p->priv;

	if (pv != NULL) {
		for (uint16_t q = 0; q < VHOST_CTRL_MAX_QUEUE_PAIRS; q++) {
			struct rte_mbuf *m;

			while (pv->handoff[q] != NULL &&
			       rte_ring_dequeue(pv->handoff[q], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(pv->handoff[q]);
		}
		free(pv);
	}
	free(p);
}

static const struct vus_port_ops vhost_ops = {
	.kind = "vhost-user",
	.rx_burst = vhost_rx,
	.tx_burst = vhost_tx,
	.queue_owner = vhost_queue_owner,
	.drain = vhost_drain,
	.stats_get = vhost_stats,
	.destroy = free_port,
};

struct vus_port *
port_vhost_create(struct vhost_ctrl *ctrl, unsigned int vhost_id, uint16_t switch_id)
{
	struct vhost_port_info *info = malloc(sizeof(*info));
	struct vus_port *p = calloc(1, sizeof(*p));
	struct port_vhost *pv = calloc(1, sizeof(*pv));
	char name[RTE_RING_NAMESIZE];

	if (info == NULL || p == NULL || pv == NULL ||
	    vhost_ctrl_port_info(ctrl, vhost_id, info) != 0)
		goto fail;
	p->ops = &vhost_ops;
	p->priv = pv;
	p->id = switch_id;
	p->nb_queues = (uint16_t)info->queue_pairs;
	/* A locally administered address per vhost port, as testpmd's peers. */
	p->mac = (struct rte_ether_addr){ { 0x02, 0, 0, 0, (uint8_t)(vhost_id >> 8),
					    (uint8_t)vhost_id } };
	snprintf(p->name, sizeof(p->name), "vhost%u", vhost_id);
	for (uint16_t t = 0; t < MAX_TXQ; t++)
		atomic_init(&pv->own[t], NO_QUEUE);
	for (uint16_t q = 0; q < VHOST_CTRL_MAX_QUEUE_PAIRS; q++)
		pv->owner_of[q] = NO_QUEUE;
	for (uint16_t q = 0; q < p->nb_queues; q++) {
		pv->tx[q] = vhost_ctrl_ring(ctrl, vhost_id, 2u * q);
		pv->rx[q] = vhost_ctrl_ring(ctrl, vhost_id, 2u * q + 1);
		snprintf(name, sizeof(name), "vho%u_%u", vhost_id, q);
		pv->handoff[q] = rte_ring_create(name, HANDOFF_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
		if (pv->tx[q] == NULL || pv->rx[q] == NULL || pv->handoff[q] == NULL)
			goto fail;
	}
	free(info);
	return p;
fail:
	free(info);
	if (p == NULL) {
		free(pv);
		return NULL;
	}
	p->priv = pv;
	free_port(p);
	return NULL;
}

const struct virtq_stats *
port_vhost_ring_stats(struct vus_port *p, uint16_t q, bool rx)
{
	struct port_vhost *pv = p->priv;

	if (q >= p->nb_queues)
		return NULL;
	return rx ? &pv->rx[q]->stats : &pv->tx[q]->stats;
}
