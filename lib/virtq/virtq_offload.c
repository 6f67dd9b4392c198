/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net header's offload fields (virtio 1.2 §5.1.6) translated to
 * and from mbuf offload flags.
 *
 * TX (guest to switch): the header is the guest's, copied once by the
 * caller; every field is checked against the frame already copied into the
 * mbuf (VNET-3, SEC-7), so nothing here reads guest memory. A header asking
 * for an offload that was not negotiated, or pointing outside the frame, is
 * a bad header: the frame is dropped and counted. A partial checksum at
 * TCP/UDP over IPv4/IPv6 becomes RTE_MBUF_F_TX_*_CKSUM, to be completed by
 * whatever port can (a guest with GUEST_CSUM, a NIC, or lib/sw_offload);
 * any other partial checksum is completed here at once. GSO frames become
 * RTE_MBUF_F_TX_TCP_SEG with tso_segsz.
 *
 * RX (switch to guest): the flags become NEEDS_CSUM / GSO fields when the
 * guest negotiated them; the caller (port) completes the rest beforehand,
 * so a frame still asking for more is refused (counted as "offload").
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "sw_offload.h"
#include "virtq_priv.h"

#define BIT(b) (1ULL << (b))

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88a8
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6

/* What the frame's own headers say (parsed from the mbuf, not the guest). */
struct l34 {
	uint16_t l2, l3;
	uint8_t l4_len;
	uint8_t proto;
	bool v6;
};

static inline uint16_t
be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint16_t
le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void
le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Ethernet (up to two tags), IPv4 or IPv6 without extension headers, TCP or
 * UDP, all inside the first segment. false: anything else. */
static bool
parse_l34(const struct rte_mbuf *m, struct l34 *p)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t n = m->data_len, off = 12, l4;
	uint16_t et;

	for (unsigned int tags = 0;; tags++) {
		if (off + 2 > n)
			return false;
		et = be16_at(d + off);
		if ((et != ETH_P_VLAN && et != ETH_P_QINQ) || tags == 2)
			break;
		off += 4;
	}
	off += 2;
	p->l2 = (uint16_t)off;
	if (et == ETH_P_IPV4) {
		if (off + 20 > n || (d[off] >> 4) != 4)
			return false;
		p->l3 = (uint16_t)((d[off] & 0xf) * 4);
		/* A fragment carries no whole L4 header to offload against. */
		if (p->l3 < 20 || off + p->l3 > n || (be16_at(d + off + 6) & 0x3fff) != 0)
			return false;
		p->proto = d[off + 9];
		p->v6 = false;
	} else if (et == ETH_P_IPV6) {
		if (off + 40 > n || (d[off] >> 4) != 6)
			return false;
		p->l3 = 40;
		p->proto = d[off + 6];
		p->v6 = true;
	} else {
		return false;
	}
	l4 = off + p->l3;
	if (p->proto == IPPROTO_TCP_) {
		if (l4 + 20 > n)
			return false;
		p->l4_len = (uint8_t)((d[l4 + 12] >> 4) * 4);
		return p->l4_len >= 20 && l4 + p->l4_len <= n;
	}
	if (p->proto == IPPROTO_UDP_) {
		p->l4_len = 8;
		return l4 + 8 <= n;
	}
	return false;
}

int
vq_tx_offload(const struct virtq_conf *c, const uint8_t *h, struct rte_mbuf *m)
{
	uint8_t gso = h[1];
	uint16_t gso_size = le16_at(h + 4), start = le16_at(h + 6), off = le16_at(h + 8);
	struct l34 p = { 0 };
	bool parsed;

	/* GSO without a partial checksum is not something a driver sends
	 * (virtio 1.2 §5.1.6.2: GSO requires NEEDS_CSUM). */
	if (!(h[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !(c->features & BIT(VIRTQ_F_CSUM)))
		return VQ_ERR(VIRTQ_DROP_BAD_HDR);
	if ((uint32_t)start + off + 2 > m->pkt_len)
		return VQ_ERR(VIRTQ_DROP_BAD_HDR);
	parsed = parse_l34(m, &p);
	if (gso != VIRTIO_NET_HDR_GSO_NONE) {
		bool v6 = gso == VIRTIO_NET_HDR_GSO_TCPV6;

		/* ECN and UDP GSO are not offered. */
		if (!(gso == VIRTIO_NET_HDR_GSO_TCPV4 && (c->features & BIT(VIRTQ_F_HOST_TSO4))) &&
		    !(gso == VIRTIO_NET_HDR_GSO_TCPV6 && (c->features & BIT(VIRTQ_F_HOST_TSO6))))
			return VQ_ERR(VIRTQ_DROP_BAD_HDR);
		if (gso_size == 0 || !parsed || p.proto != IPPROTO_TCP_ || p.v6 != v6 ||
		    start != p.l2 + p.l3 || off != TCP_CSUM_OFF)
			return VQ_ERR(VIRTQ_DROP_BAD_HDR);
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM |
			       (v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
		m->l2_len = p.l2;
		m->l3_len = p.l3;
		m->l4_len = p.l4_len;
		m->tso_segsz = gso_size;
		return VQ_OK;
	}
	if (unlikely(m->pkt_len > c->max_frame))
		return VQ_ERR(VIRTQ_DROP_TOO_BIG);
	if (parsed && start == p.l2 + p.l3 &&
	    ((p.proto == IPPROTO_TCP_ && off == TCP_CSUM_OFF) ||
	     (p.proto == IPPROTO_UDP_ && off == UDP_CSUM_OFF))) {
		m->ol_flags |= (p.proto == IPPROTO_TCP_ ? RTE_MBUF_F_TX_TCP_CKSUM
							: RTE_MBUF_F_TX_UDP_CKSUM) |
			       (p.v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
		m->l2_len = p.l2;
		m->l3_len = p.l3;
		m->l4_len = p.l4_len;
		return VQ_OK;
	}
	/* Any other place (tunnels, extension headers): complete it now, the
	 * frame is ours alone and was checked to hold the field. */
	return sw_offload_csum_at(m, start, off) == 0 ? VQ_OK : VQ_ERR(VIRTQ_DROP_BAD_HDR);
}

bool
vq_rx_hdr(const struct virtq_conf *c, const struct rte_mbuf *m, uint8_t *hdr)
{
	uint64_t f = m->ol_flags;
	uint16_t off;

	if (!(f & SW_OFFLOAD_TX_FLAGS)) {
		if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
		    (c->features & BIT(VIRTQ_F_GUEST_CSUM)))
			hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
		return true;
	}
	if (!(c->features & BIT(VIRTQ_F_GUEST_CSUM)) || (f & RTE_MBUF_F_TX_IP_CKSUM))
		return false;
	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		bool v6 = (f & RTE_MBUF_F_TX_IPV6) != 0;

		if (!(c->features & BIT(v6 ? VIRTQ_F_GUEST_TSO6 : VIRTQ_F_GUEST_TSO4)))
			return false;
		hdr[1] = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		le16_put(hdr + 2, (uint16_t)(m->l2_len + m->l3_len + m->l4_len));
		le16_put(hdr + 4, m->tso_segsz);
		off = TCP_CSUM_OFF;
	} else if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM) {
		off = TCP_CSUM_OFF;
	} else if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM) {
		off = UDP_CSUM_OFF;
	} else {
		return false;
	}
	hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	le16_put(hdr + 6, (uint16_t)(m->l2_len + m->l3_len));
	le16_put(hdr + 8, off);
	return true;
}
