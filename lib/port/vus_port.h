/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_PORT_H
#define VUS_PORT_H

/**
 * @file
 * One interface for every kind of switch port (vhost-user, ethdev, ...).
 * A driver under drivers/ fills struct vus_port_ops; forwarding code calls
 * only these. Bursts in, counts out: rx returns how many mbufs it wrote;
 * tx returns how many it took (the caller frees the rest).
 *
 * rx_burst/tx_burst of one queue are called by one lcore only.
 */

#include <stdint.h>

#include <rte_ether.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct rte_mempool;
struct vus_port;

/** Port counters, summed over queues. */
struct vus_port_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
};

/** What a port driver provides. */
struct vus_port_ops {
	const char *kind; /**< "vhost-user", "ethdev", ... */
	/** Receive up to n packets from queue q into pkts (mbufs from mp). */
	uint16_t (*rx_burst)(struct vus_port *p, uint16_t q, struct rte_mempool *mp,
			     struct rte_mbuf **pkts, uint16_t n);
	/**
	 * Send up to n packets from the calling lcore, whose TX queue id is
	 * @p txq; returns how many the port took (the caller frees the rest).
	 */
	uint16_t (*tx_burst)(struct vus_port *p, uint16_t txq, struct rte_mbuf **pkts, uint16_t n);
	/**
	 * Optional: send what other lcores handed over for the TX side that
	 * the poller of RX queue @p q owns (a driver whose TX queues are not
	 * per lcore). Called by that poller before each rx_burst; returns the
	 * frames it sent, so that an lcore with only handed-over traffic is
	 * not taken for idle.
	 */
	uint16_t (*drain)(struct vus_port *p, uint16_t q);
	/**
	 * Optional: RX queue @p q is now polled by the lcore whose TX queue id
	 * is @p txq (UINT16_MAX: by none). Called by the control thread between
	 * grace periods, so the driver may give that lcore the matching TX side.
	 */
	void (*queue_owner)(struct vus_port *p, uint16_t q, uint16_t txq);
	/** Fill stats (may be called from any thread; values may lag). */
	void (*stats_get)(struct vus_port *p, struct vus_port_stats *st);
	/** Release the driver's state. */
	void (*destroy)(struct vus_port *p);
};

/** A switch port. */
struct vus_port {
	const struct vus_port_ops *ops;
	void *priv;                /**< driver state */
	uint16_t id;               /**< switch port id */
	uint16_t nb_queues;        /**< rx and tx queues */
	struct rte_ether_addr mac; /**< the port's own address */
	char name[64];
};

/** Destroy a port through its driver. NULL is ignored. */
void vus_port_destroy(struct vus_port *p);

static inline uint16_t
vus_port_rx(struct vus_port *p, uint16_t q, struct rte_mempool *mp, struct rte_mbuf **pkts,
	    uint16_t n)
{
	return p->ops->rx_burst(p, q, mp, pkts, n);
}

/** The driver's drain op for RX queue @p q's poller; 0 without one. */
static inline uint16_t
vus_port_drain(struct vus_port *p, uint16_t q)
{
	return p->ops->drain != NULL ? p->ops->drain(p, q) : 0;
}

static inline uint16_t
vus_port_tx(struct vus_port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return p->ops->tx_burst(p, q, pkts, n);
}

#ifdef __cplusplus
}
#endif

#endif /* VUS_PORT_H */
