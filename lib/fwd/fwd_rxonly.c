/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_mbuf.h>

#include "fwd.h"

/* rxonly: receive and free (testpmd's rxonly), to measure what ports deliver
 * without any TX cost. The lcore's rx_packets counts them; they are not
 * drops: nobody asked for them to go anywhere. */
static void
rxonly_burst(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *in,
	     struct rte_mbuf **pkts, uint16_t n)
{
	rte_pktmbuf_free_bulk(pkts, n);
}

const struct fwd_engine fwd_rxonly_engine = {
	.name = "rxonly",
	.burst = rxonly_burst,
};
