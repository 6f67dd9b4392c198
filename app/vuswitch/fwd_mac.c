/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "fwd.h"

/* mac: destination = the peer's address, source = the tx port's (testpmd's mac). */
static void
mac_process(struct fwd_stream *fs, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);

		rte_ether_addr_copy(&fs->peer_mac, &eh->dst_addr);
		rte_ether_addr_copy(&fs->tx_port->mac, &eh->src_addr);
	}
}

const struct fwd_engine fwd_mac_engine = {
	.name = "mac",
	.process = mac_process,
};
