/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "port_ethdev.h"
#include "vus_log.h"

#define RX_DESC 1024
#define TX_DESC 1024

struct port_ethdev {
	uint16_t eth_port;
};

static uint16_t
eth_rx(struct vus_port *p, uint16_t q, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n)
{
	(void)mp; /* the PMD fills from the pool given at queue setup */
	return rte_eth_rx_burst(((struct port_ethdev *)p->priv)->eth_port, q, pkts, n);
}

static uint16_t
eth_tx(struct vus_port *p, uint16_t txq, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(((struct port_ethdev *)p->priv)->eth_port, txq, pkts, n);
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
	st->tx_dropped = s.oerrors;
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

static int
configure(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, struct rte_mempool *mp)
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
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	if (nb_txq > info.max_tx_queues)
		return -ENOTSUP; /* lcores would have to share a queue: a lock */
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
	ret = configure(eth_port, nb_rxq ? nb_rxq : 1, nb_txq ? nb_txq : 1, mp);
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
	VUS_CTRL_LOG(INFO, "ethdev %s: %u rx queue(s), %u tx queue(s)\n", name, p->nb_queues,
		     nb_txq);
	return p;
fail:
	free(pe);
	free(p);
	return NULL;
}
