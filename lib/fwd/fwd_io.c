/* SPDX-License-Identifier: BSD-3-Clause */
#include "fwd.h"

/* io: to the peer port unchanged (testpmd's io). */
static void
io_burst(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *in,
	 struct rte_mbuf **pkts, uint16_t n)
{
	fwd_send(lc, fwd_peer(ports, in->id), pkts, n);
}

const struct fwd_engine fwd_io_engine = {
	.name = "io",
	.burst = io_burst,
};
