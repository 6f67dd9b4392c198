/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>

#include <rte_mbuf.h>

#include "port_vhost.h"
#include "virtq.h"

struct port_vhost {
	struct virtq *rx[VHOST_CTRL_MAX_QUEUE_PAIRS]; /* guest TX rings */
	struct virtq *tx[VHOST_CTRL_MAX_QUEUE_PAIRS]; /* guest RX rings */
	uint64_t tx_dropped;
};

static uint16_t
vhost_rx(struct vus_port *p, uint16_t q, struct rte_mempool *mp, struct rte_mbuf **pkts,
	 uint16_t n)
{
	struct virtq *vq = ((struct port_vhost *)p->priv)->rx[q];

	return virtq_dequeue_burst(vq, virtq_conf_get(vq), mp, pkts, n);
}

static uint16_t
vhost_tx(struct vus_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct virtq *vq = ((struct port_vhost *)p->priv)->tx[q];
	const struct virtq_conf *c = virtq_conf_get(vq);

	/* The guest gets copies: every mbuf is taken and freed here; frames
	 * that found no guest buffer are counted by the ring. */
	if (likely(c != NULL))
		virtq_enqueue_burst(vq, c, pkts, n);
	else
		vq->stats.drops[VIRTQ_DROP_NO_GUEST_BUF] += n;
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
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
vhost_destroy(struct vus_port *p)
{
	free(p->priv);
	free(p);
}

static const struct vus_port_ops vhost_ops = {
	.kind = "vhost-user",
	.rx_burst = vhost_rx,
	.tx_burst = vhost_tx,
	.stats_get = vhost_stats,
	.destroy = vhost_destroy,
};

struct vus_port *
port_vhost_create(struct vhost_ctrl *ctrl, unsigned int vhost_id, uint16_t switch_id)
{
	struct vhost_port_info *info = malloc(sizeof(*info));
	struct vus_port *p = calloc(1, sizeof(*p));
	struct port_vhost *pv = calloc(1, sizeof(*pv));

	if (info == NULL || p == NULL || pv == NULL ||
	    vhost_ctrl_port_info(ctrl, vhost_id, info) != 0)
		goto fail;
	p->ops = &vhost_ops;
	p->priv = pv;
	p->id = switch_id;
	p->nb_queues = (uint16_t)info->queue_pairs;
	/* A locally administered address per port, as testpmd's peers. */
	p->mac = (struct rte_ether_addr){ { 0x02, 0, 0, 0, (uint8_t)(switch_id >> 8),
					    (uint8_t)switch_id } };
	snprintf(p->name, sizeof(p->name), "vhost%u", vhost_id);
	for (uint16_t q = 0; q < p->nb_queues; q++) {
		pv->tx[q] = vhost_ctrl_ring(ctrl, vhost_id, 2u * q);
		pv->rx[q] = vhost_ctrl_ring(ctrl, vhost_id, 2u * q + 1);
		if (pv->tx[q] == NULL || pv->rx[q] == NULL)
			goto fail;
	}
	free(info);
	return p;
fail:
	free(info);
	free(pv);
	free(p);
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
