/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "port_ethdev.h"
#include "sw_offload.h"
#include "vus_log.h"

#define RX_DESC 1024
#define TX_DESC 1024

struct port_ethdev {
	uint16_t eth_port;
	uint32_t caps;               /* checksum offloads the NIC was set up for */
	_Atomic uint64_t sw_dropped; /* frames software completion had to drop */
};

static uint16_t
eth_rx(struct vus_port *p, uint16_t q, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n)
{
	(void)mp; /* the PMD fills from the pool given at queue setup */
	return rte_eth_rx_burst(((struct port_ethdev *)p->priv)->eth_port, q, pkts, n);
}

/*
 * Slow path: frames with offloads the NIC was not set up for are completed
 * in software (checksums) or cut into segments (TSO: the NIC's TSO is not
 * used, since DPDK wants the pseudo-header sum without the length and
 * virtio senders put it with). Takes every frame; what the NIC refuses is
 * freed and counted as dropped.
 */
static uint16_t __rte_noinline
eth_tx_completed(struct port_ethdev *pe, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *out[64];
	struct sw_offload_iter it;
	uint64_t lost = 0;
	uint16_t k;

	sw_offload_iter_init(&it, pkts, n, pe->caps, pkts[0]->pool);
	while ((k = sw_offload_next(&it, out, RTE_DIM(out))) != 0) {
		uint16_t sent = rte_eth_tx_burst(pe->eth_port, txq, out, k);

		if (sent < k) {
			rte_pktmbuf_free_bulk(out + sent, (unsigned int)(k - sent));
			lost += (uint64_t)(k - sent);
		}
	}
	lost += it.dropped;
	if (lost != 0)
		atomic_fetch_add_explicit(&pe->sw_dropped, lost, memory_order_relaxed);
	return n;
}

static uint16_t
eth_tx(struct vus_port *p, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	struct port_ethdev *pe = p->priv;

	if (unlikely(sw_offload_pending_burst(pkts, n, pe->caps)))
		return eth_tx_completed(pe, txq, pkts, n);
	return rte_eth_tx_burst(pe->eth_port, txq, pkts, n);
}

static void
eth_stats(struct vus_port *p, struct vus_port_stats *st)
{
	struct rte_eth_stats s;

	memset(st, 0, sizeof(*st));
	if (rte_eth_stats_get(((struct port_ethdev *)p->priv)->eth_port, &s) != 0)
		return;
	st->rx_packets = s.ipackets;
	st->rx_bytes = s.ibytes;
	st->rx_dropped = s.imissed + s.ierrors + s.rx_nombuf;
	st->tx_packets = s.opackets;
	st->tx_bytes = s.obytes;
	st->tx_dropped = s.oerrors +
			 atomic_load_explicit(&((struct port_ethdev *)p->priv)->sw_dropped,
					      memory_order_relaxed);
}

static void
eth_destroy(struct vus_port *p)
{
	struct port_ethdev *pe = p->priv;

	rte_eth_dev_stop(pe->eth_port);
	rte_eth_dev_close(pe->eth_port);
	free(pe);
	free(p);
}

static const struct vus_port_ops ethdev_ops = {
	.kind = "ethdev",
	.rx_burst = eth_rx,
	.tx_burst = eth_tx,
	.stats_get = eth_stats,
	.destroy = eth_destroy,
};

/* Checksum offloads the NIC can take from the switch. */
static uint32_t
csum_caps(const struct rte_eth_dev_info *info, uint64_t *offloads)
{
	static const struct {
		uint64_t nic;
		uint32_t cap;
	} map[] = {
		{ RTE_ETH_TX_OFFLOAD_TCP_CKSUM, SW_OFFLOAD_CAP_TCP_CSUM },
		{ RTE_ETH_TX_OFFLOAD_UDP_CKSUM, SW_OFFLOAD_CAP_UDP_CSUM },
		{ RTE_ETH_TX_OFFLOAD_IPV4_CKSUM, SW_OFFLOAD_CAP_IPV4_CSUM },
	};
	uint32_t caps = 0;

	*offloads = 0;
	for (unsigned int i = 0; i < RTE_DIM(map); i++)
		if (info->tx_offload_capa & map[i].nic) {
			*offloads |= map[i].nic;
			caps |= map[i].cap;
		}
	return caps;
}

static int
configure(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, struct rte_mempool *mp, uint32_t *caps)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	int ret, socket = rte_eth_dev_socket_id(port);

	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		return ret;
	if (nb_rxq > info.max_rx_queues)
		nb_rxq = info.max_rx_queues;
	if (nb_rxq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP |
						    RTE_ETH_RSS_UDP) &
						   info.flow_type_rss_offloads;
	}
	if (nb_txq > info.max_tx_queues)
		return -ENOTSUP; /* lcores would have to share a queue: a lock */
	*caps = csum_caps(&info, &conf.txmode.offloads);
	ret = rte_eth_dev_configure(port, nb_rxq, nb_txq, &conf);
	for (uint16_t q = 0; ret == 0 && q < nb_rxq; q++)
		ret = rte_eth_rx_queue_setup(port, q, RX_DESC, socket < 0 ? 0 : (unsigned)socket,
					     NULL, mp);
	for (uint16_t q = 0; ret == 0 && q < nb_txq; q++)
		ret = rte_eth_tx_queue_setup(port, q, TX_DESC, socket < 0 ? 0 : (unsigned)socket,
					     NULL);
	if (ret == 0)
		ret = rte_eth_promiscuous_enable(port);
	if (ret == 0 || ret == -ENOTSUP)
		ret = rte_eth_dev_start(port);
	return ret < 0 ? ret : nb_rxq;
}

struct vus_port *
port_ethdev_create(uint16_t eth_port, uint16_t switch_id, uint16_t nb_rxq, uint16_t nb_txq,
		   struct rte_mempool *mp)
{
	struct vus_port *p = calloc(1, sizeof(*p));
	struct port_ethdev *pe = calloc(1, sizeof(*pe));
	char name[RTE_ETH_NAME_MAX_LEN];
	int ret;

	if (p == NULL || pe == NULL)
		goto fail;
	ret = configure(eth_port, nb_rxq ? nb_rxq : 1, nb_txq ? nb_txq : 1, mp, &pe->caps);
	if (ret < 0) {
		VUS_CTRL_LOG(ERR, "ethdev %u: cannot start: %s\n", eth_port, rte_strerror(-ret));
		goto fail;
	}
	pe->eth_port = eth_port;
	p->ops = &ethdev_ops;
	p->priv = pe;
	p->id = switch_id;
	p->nb_queues = (uint16_t)ret;
	rte_eth_macaddr_get(eth_port, &p->mac);
	if (rte_eth_dev_get_name_by_port(eth_port, name) != 0)
		snprintf(name, sizeof(name), "eth%u", eth_port);
	snprintf(p->name, sizeof(p->name), "%s", name);
	/* The switch port id is given when the port joins the switch. */
	VUS_CTRL_LOG(INFO,
		     "ethdev %s: %u rx queue(s), %u tx queue(s), tx checksum offload:%s%s%s%s\n",
		     name, p->nb_queues, nb_txq, pe->caps & SW_OFFLOAD_CAP_TCP_CSUM ? " tcp" : "",
		     pe->caps & SW_OFFLOAD_CAP_UDP_CSUM ? " udp" : "",
		     pe->caps & SW_OFFLOAD_CAP_IPV4_CSUM ? " ipv4" : "",
		     pe->caps == 0 ? " none (completed in software)" : "");
	return p;
fail:
	free(pe);
	free(p);
	return NULL;
}
