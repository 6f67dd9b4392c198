/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "fwd.h"

/* mac: destination = the peer's default address 02:00:00:00:00:<peer id>,
 * source = the output port's address (testpmd's mac). */
static void
mac_burst(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *in,
	  struct rte_mbuf **pkts, uint16_t n)
{
	struct vus_port *out = fwd_peer(ports, in->id);
	struct rte_ether_addr peer = { { 0x02, 0, 0, 0, 0, (uint8_t)out->id } };

	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);

		rte_ether_addr_copy(&peer, &eh->dst_addr);
		rte_ether_addr_copy(&out->mac, &eh->src_addr);
	}
	fwd_send(lc, out, pkts, n);
}

const struct fwd_engine fwd_mac_engine = {
	.name = "mac",
	.burst = mac_burst,
};
