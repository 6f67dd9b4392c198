/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUSWITCH_FWD_H
#define VUSWITCH_FWD_H

/*
 * Forwarding engines and streams, testpmd-style: a stream moves packets
 * from (rx port, queue) to (tx port, queue); an engine may touch a burst in
 * between. One file per engine; each registers a struct fwd_engine.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vus_port.h"

#define FWD_BURST 32
#define FWD_MAX_STREAMS 1024

struct fwd_stream {
	struct vus_port *rx_port;
	struct vus_port *tx_port;
	uint16_t rx_queue;
	uint16_t tx_queue;
	struct rte_ether_addr peer_mac; /* mac engine: destination */
	uint64_t rx_packets, tx_packets, tx_dropped;
};

struct fwd_engine {
	const char *name;
	/* Change a burst in place before it is sent. NULL: io. */
	void (*process)(struct fwd_stream *fs, struct rte_mbuf **pkts, uint16_t n);
};

extern const struct fwd_engine fwd_io_engine;
extern const struct fwd_engine fwd_mac_engine;
extern const struct fwd_engine fwd_macswap_engine;

/* Find an engine by name; NULL if none. */
const struct fwd_engine *fwd_engine_find(const char *name);

/* Names of all engines, space separated. */
const char *fwd_engine_names(void);

#endif
