/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Software checksum completion and TCP segmentation (see sw_offload.h).
 *
 * Inputs come from the switch, not from a guest: the datapath (lib/virtq)
 * already checked a guest's net header and set the mbuf fields from what it
 * parsed. Still, every length here is checked against the frame before it
 * is used, so a wrong field costs one dropped frame, never a stray access.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "sw_offload.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

/* Write @p len bytes at frame offset @p off, across segments. */
static int
write_at(struct rte_mbuf *m, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *p = src;

	if (off > m->pkt_len || len > m->pkt_len - off)
		return -EINVAL;
	for (struct rte_mbuf *s = m; s != NULL && len != 0; s = s->next) {
		uint32_t k;

		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		k = s->data_len - off < len ? s->data_len - off : len;
		memcpy(rte_pktmbuf_mtod_offset(s, uint8_t *, off), p, k);
		p += k;
		len -= k;
		off = 0;
	}
	return len == 0 ? 0 : -EINVAL;
}

static inline uint16_t
fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Ones'-complement sum of bytes [off, off+len) of a chain. Not
 * rte_raw_cksum_mbuf(): DPDK 22.11's truncates the unreduced sum of a
 * segment before byte-swapping it, which loses carries when a segment
 * starts at an odd offset of the range.
 */
static int
sum_range(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint16_t *out)
{
	const struct rte_mbuf *s = m;
	uint32_t sum = 0, done = 0;

	if (off > m->pkt_len || len > m->pkt_len - off)
		return -EINVAL;
	while (s != NULL && off >= s->data_len) {
		off -= s->data_len;
		s = s->next;
	}
	while (len != 0) {
		uint32_t k;
		uint16_t part;

		if (s == NULL)
			return -EINVAL;
		k = s->data_len - off < len ? s->data_len - off : len;
		part = rte_raw_cksum(rte_pktmbuf_mtod_offset(s, const void *, off), k);
		/* A piece starting at an odd position of the range has its bytes
		 * in the other halves of the 16-bit words. */
		sum += (done & 1) ? rte_bswap16(part) : part;
		done += k;
		len -= k;
		off = 0;
		s = s->next;
	}
	*out = fold(sum);
	return 0;
}

int
sw_offload_csum_at(struct rte_mbuf *m, uint32_t start, uint32_t offset)
{
	uint16_t sum, c;

	if (start > m->pkt_len || offset > m->pkt_len - start || m->pkt_len - start - offset < 2)
		return -EINVAL;
	if (sum_range(m, start, m->pkt_len - start, &sum) != 0)
		return -EINVAL;
	c = (uint16_t)~sum;
	if (c == 0)
		c = 0xffff; /* zero means "no checksum" to UDP; same value to TCP */
	return write_at(m, start + offset, &c, sizeof(c));
}

int
sw_offload_csum(struct rte_mbuf *m)
{
	uint64_t f = m->ol_flags;
	uint32_t l4 = (uint32_t)m->l2_len + m->l3_len;
	int ret = 0;

	if (f & RTE_MBUF_F_TX_IP_CKSUM) {
		struct rte_ipv4_hdr *ip;

		if ((uint32_t)m->l2_len + sizeof(*ip) > m->data_len)
			return -EINVAL;
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
		if ((uint32_t)m->l2_len + rte_ipv4_hdr_len(ip) > m->data_len)
			return -EINVAL;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	switch (f & RTE_MBUF_F_TX_L4_MASK) {
	case RTE_MBUF_F_TX_TCP_CKSUM:
		ret = sw_offload_csum_at(m, l4, offsetof(struct rte_tcp_hdr, cksum));
		break;
	case RTE_MBUF_F_TX_UDP_CKSUM:
		ret = sw_offload_csum_at(m, l4, offsetof(struct rte_udp_hdr, dgram_cksum));
		break;
	case 0:
		break;
	default:
		return -EINVAL; /* SCTP's CRC is not a ones'-complement sum */
	}
	if (ret == 0)
		m->ol_flags &= ~SW_OFFLOAD_TX_FLAGS;
	return ret;
}

/* Append bytes [off, off+len) of @p src to the chain @p head ending at *tail. */
static int
append_from(struct rte_mbuf *head, struct rte_mbuf **tail, struct rte_mempool *mp,
	    const struct rte_mbuf *src, uint32_t off, uint32_t len)
{
	const struct rte_mbuf *s = src;

	while (s != NULL && off >= s->data_len) {
		off -= s->data_len;
		s = s->next;
	}
	while (len != 0) {
		uint32_t k, room;

		if (s == NULL)
			return -EINVAL;
		room = rte_pktmbuf_tailroom(*tail);
		if (room == 0) {
			struct rte_mbuf *nx = rte_pktmbuf_alloc(mp);

			if (nx == NULL)
				return -ENOMEM;
			(*tail)->next = nx;
			head->nb_segs++;
			*tail = nx;
			room = rte_pktmbuf_tailroom(nx);
		}
		k = s->data_len - off;
		if (k > room)
			k = room;
		if (k > len)
			k = len;
		memcpy(rte_pktmbuf_mtod_offset(*tail, uint8_t *, (*tail)->data_len),
		       rte_pktmbuf_mtod_offset(s, const uint8_t *, off), k);
		(*tail)->data_len = (uint16_t)((*tail)->data_len + k);
		head->pkt_len += k;
		off += k;
		len -= k;
		if (off == s->data_len) {
			s = s->next;
			off = 0;
		}
	}
	return 0;
}

/* The headers of one segment: lengths, sequence, flags, checksums. */
static void
fix_segment(struct rte_mbuf *s, const struct rte_mbuf *m, uint32_t idx, uint32_t nseg, uint32_t off,
	    uint32_t len)
{
	uint8_t *h = rte_pktmbuf_mtod(s, uint8_t *);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(h + m->l2_len + m->l3_len);
	uint32_t tcp_bytes = (uint32_t)m->l4_len + len;
	uint16_t raw, phdr, c;

	if (m->ol_flags & RTE_MBUF_F_TX_IPV6) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(h + m->l2_len);

		ip6->payload_len = rte_cpu_to_be_16((uint16_t)tcp_bytes);
		phdr = rte_ipv6_phdr_cksum(ip6, 0);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(h + m->l2_len);

		ip->total_length = rte_cpu_to_be_16((uint16_t)(m->l3_len + tcp_bytes));
		ip->packet_id = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->packet_id) + idx));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		phdr = rte_ipv4_phdr_cksum(ip, 0);
	}
	tcp->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->sent_seq) + off);
	if (idx + 1 != nseg)
		tcp->tcp_flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (idx != 0)
		tcp->tcp_flags &= (uint8_t)~TCP_CWR;
	tcp->cksum = 0;
	/* The whole TCP segment lies in the chain just built: cannot fail. */
	if (sum_range(s, (uint32_t)m->l2_len + m->l3_len, tcp_bytes, &raw) != 0)
		raw = 0;
	c = (uint16_t)~fold((uint32_t)raw + phdr);
	tcp->cksum = c == 0 ? 0xffff : c;
}

int
sw_offload_tso(const struct rte_mbuf *m, struct rte_mempool *mp, struct rte_mbuf **out,
	       uint16_t max, uint32_t *pos)
{
	uint64_t f = m->ol_flags;
	uint32_t hl = (uint32_t)m->l2_len + m->l3_len + m->l4_len;
	uint32_t mss = m->tso_segsz, payload, nseg;
	bool v6 = (f & RTE_MBUF_F_TX_IPV6) != 0;
	uint16_t n = 0;

	if (!(f & RTE_MBUF_F_TX_TCP_SEG) || mss == 0 || m->l4_len < sizeof(struct rte_tcp_hdr) ||
	    hl > m->data_len || (!v6 && !(f & RTE_MBUF_F_TX_IPV4)))
		return -EINVAL;
	/* IPv6 extension headers would need their own walk: not produced by
	 * our parser, so not accepted here either. */
	if (v6 ? m->l3_len != sizeof(struct rte_ipv6_hdr) : m->l3_len < sizeof(struct rte_ipv4_hdr))
		return -EINVAL;
	payload = m->pkt_len - hl;
	nseg = payload == 0 ? 1 : (payload + mss - 1) / mss;
	if (nseg > SW_OFFLOAD_MAX_SEGS)
		return -EINVAL;
	while (n < max && *pos < nseg) {
		uint32_t i = *pos, off = i * mss;
		uint32_t len = payload - off < mss ? payload - off : mss;
		struct rte_mbuf *s = rte_pktmbuf_alloc(mp), *tail = s;
		uint8_t *h;
		int ret = -ENOMEM;

		if (s == NULL || (h = (uint8_t *)rte_pktmbuf_append(s, (uint16_t)hl)) == NULL) {
			ret = s == NULL ? -ENOMEM : -EINVAL;
			goto fail;
		}
		memcpy(h, rte_pktmbuf_mtod(m, const uint8_t *), hl);
		ret = append_from(s, &tail, mp, m, hl + off, len);
		if (ret != 0)
			goto fail;
		fix_segment(s, m, i, nseg, off, len);
		s->vlan_tci = m->vlan_tci;
		s->port = m->port;
		out[n++] = s;
		(*pos)++;
		continue;
fail:
		rte_pktmbuf_free(s);
		rte_pktmbuf_free_bulk(out, n);
		return ret;
	}
	return n;
}

void
sw_offload_iter_init(struct sw_offload_iter *it, struct rte_mbuf **pkts, uint16_t n, uint32_t caps,
		     struct rte_mempool *mp)
{
	*it = (struct sw_offload_iter){ .pkts = pkts, .n = n, .caps = caps, .mp = mp };
}

static bool
writable(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
			return false;
	return true;
}

static void
drop_input(struct sw_offload_iter *it, int err)
{
	rte_pktmbuf_free(it->pkts[it->i]);
	it->pkts[it->i] = NULL;
	it->dropped++;
	if (err == -ENOMEM)
		it->nomem++;
	it->i++;
	it->pos = 0;
}

uint16_t
sw_offload_next(struct sw_offload_iter *it, struct rte_mbuf **out, uint16_t max)
{
	uint16_t k = 0;

	while (k < max && it->i < it->n) {
		struct rte_mbuf *m = it->pkts[it->i];
		int r;

		if (!sw_offload_pending(m, it->caps)) {
			out[k++] = m;
			it->i++;
			continue;
		}
		if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
			r = sw_offload_tso(m, it->mp, out + k, (uint16_t)(max - k), &it->pos);
			if (r < 0) {
				drop_input(it, r);
				continue;
			}
			k = (uint16_t)(k + r);
			it->segments += (uint64_t)r;
			if (k < max) { /* room left: every segment is out */
				rte_pktmbuf_free(m);
				it->i++;
				it->pos = 0;
			}
			continue;
		}
		if (!writable(m)) {
			/* A flooded frame may be shared: complete a copy. */
			struct rte_mbuf *c = rte_pktmbuf_copy(m, it->mp, 0, UINT32_MAX);

			if (c == NULL) {
				drop_input(it, -ENOMEM);
				continue;
			}
			rte_pktmbuf_free(m);
			it->pkts[it->i] = m = c;
		}
		if (sw_offload_csum(m) != 0) {
			drop_input(it, -EINVAL);
			continue;
		}
		it->completed++;
		out[k++] = m;
		it->i++;
	}
	return k;
}
