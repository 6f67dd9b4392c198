/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "fwd.h"

/* macswap: source and destination exchanged, to the peer (testpmd's macswap). */
static void
macswap_burst(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *in,
	      struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		struct rte_ether_addr t = eh->dst_addr;

		eh->dst_addr = eh->src_addr;
		eh->src_addr = t;
	}
	fwd_send(lc, fwd_peer(ports, in->id), pkts, n);
}

const struct fwd_engine fwd_macswap_engine = {
	.name = "macswap",
	.burst = macswap_burst,
};
