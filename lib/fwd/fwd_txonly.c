/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * txonly: every loop, a burst of generated frames to every (port, queue)
 * the lcore polls (testpmd's txonly). What arrives is received and freed,
 * so guest TX rings and the vhost-user handoff rings keep draining.
 * The frame builder is shared with "start tx_first".
 */
#include <assert.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "fwd.h"

/* Benchmarking addresses (RFC 2544), UDP discard port. The first octet is
 * unsigned: DPDK 22.11's RTE_IPV4() shifts it as an int before its cast,
 * and 198 << 24 overflows an int (UBSan). */
#define TXONLY_SRC_IP RTE_IPV4(198u, 18, 0, 1)
#define TXONLY_DST_IP RTE_IPV4(198u, 18, 0, 2)
#define TXONLY_UDP_PORT 9

struct txonly_hdr {
	struct rte_ether_hdr eth;
	struct rte_ipv4_hdr ip;
	struct rte_udp_hdr udp;
};

/* 14 + 20 + 8 bytes, no padding: every member is 2-byte aligned. */
static_assert(sizeof(struct txonly_hdr) == 42, "txonly_hdr has padding");

/* The headers of a frame from @p out, built once per burst and copied. */
static void
txonly_template(struct txonly_hdr *h, const struct fwd_ports *ports, const struct vus_port *out)
{
	uint16_t ip_len = FWD_TXONLY_LEN - sizeof(struct rte_ether_hdr);
	const struct vus_port *peer = ports != NULL ? fwd_peer(ports, out->id) : out;

	memset(h, 0, sizeof(*h));
	h->eth.dst_addr = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0, (uint8_t)peer->id } };
	h->eth.src_addr = out->mac;
	h->eth.ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	h->ip.version_ihl = RTE_IPV4_VHL_DEF;
	h->ip.total_length = rte_cpu_to_be_16(ip_len);
	h->ip.time_to_live = 64;
	h->ip.next_proto_id = IPPROTO_UDP;
	h->ip.src_addr = rte_cpu_to_be_32(TXONLY_SRC_IP);
	h->ip.dst_addr = rte_cpu_to_be_32(TXONLY_DST_IP);
	h->ip.hdr_checksum = rte_ipv4_cksum(&h->ip);
	h->udp.src_port = rte_cpu_to_be_16(TXONLY_UDP_PORT);
	h->udp.dst_port = rte_cpu_to_be_16(TXONLY_UDP_PORT);
	h->udp.dgram_len = rte_cpu_to_be_16(ip_len - sizeof(struct rte_ipv4_hdr));
}

uint16_t
fwd_txonly_build(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *out,
		 struct rte_mbuf **pkts, uint16_t n)
{
	struct txonly_hdr h;

	if (rte_pktmbuf_alloc_bulk(fwd_mempool(lc->rt), pkts, n) != 0)
		return 0;
	txonly_template(&h, ports, out);
	for (uint16_t i = 0; i < n; i++) {
		char *d = rte_pktmbuf_append(pkts[i], FWD_TXONLY_LEN);

		/* The payload is zeros: the frame's content is not the point. */
		memcpy(d, &h, sizeof(h));
		memset(d + sizeof(h), 0, FWD_TXONLY_LEN - sizeof(h));
	}
	return n;
}

static void
txonly_poll(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *port,
	    uint16_t queue)
{
	struct rte_mbuf *pkts[FWD_BURST];

	fwd_send(lc, port, pkts, fwd_txonly_build(lc, ports, port, pkts, FWD_BURST));
}

static void
txonly_burst(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *in,
	     struct rte_mbuf **pkts, uint16_t n)
{
	rte_pktmbuf_free_bulk(pkts, n);
}

const struct fwd_engine fwd_txonly_engine = {
	.name = "txonly",
	.burst = txonly_burst,
	.poll = txonly_poll,
};
