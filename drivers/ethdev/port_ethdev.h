/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PORT_ETHDEV_H
#define PORT_ETHDEV_H

/**
 * @file
 * A DPDK ethdev (any PMD: a NIC, net_af_packet, net_tap, net_pcap,
 * net_ring) as a switch port. Each forwarding lcore gets a TX queue of its
 * own; RX queues (RSS when more than one) are spread over the lcores like
 * any other port's.
 */

#include <stdint.h>

#include "vus_port.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mempool;

/**
 * Configure and start ethdev @p eth_port with @p nb_rxq RX queues and
 * @p nb_txq TX queues (one per forwarding lcore), and wrap it.
 * @return NULL on failure (the reason is logged).
 */
struct vus_port *port_ethdev_create(uint16_t eth_port, uint16_t switch_id, uint16_t nb_rxq,
				    uint16_t nb_txq, struct rte_mempool *mp);

#ifdef __cplusplus
}
#endif

#endif
