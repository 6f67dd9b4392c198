/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SW_OFFLOAD_H
#define SW_OFFLOAD_H

/**
 * @file
 * Software completion of transmit offloads, for destinations that cannot
 * take a frame as it is: a partial TCP/UDP checksum is completed, a TSO
 * frame is cut into MSS-sized TCP segments with every checksum valid.
 *
 * The mbuf convention (DPDK's, which virtio shares for checksums):
 *  - RTE_MBUF_F_TX_TCP_CKSUM / RTE_MBUF_F_TX_UDP_CKSUM with l2_len and
 *    l3_len: the L4 checksum field holds the pseudo-header sum; the rest of
 *    the L4 checksum is to be done.
 *  - RTE_MBUF_F_TX_TCP_SEG with l2_len, l3_len, l4_len and tso_segsz: a TCP
 *    frame of up to 64 KiB to be cut into segments of tso_segsz payload
 *    bytes. The checksum field is not read: each segment's checksum is
 *    computed from scratch, so the sender's pseudo-header convention (virtio
 *    includes the length, DPDK's TSO does not) does not matter here.
 *  - RTE_MBUF_F_TX_IPV4 / RTE_MBUF_F_TX_IPV6 say which IP header sits at
 *    l2_len; RTE_MBUF_F_TX_IP_CKSUM asks for the IPv4 header checksum.
 *
 * This is the slow path of a port's transmit: it allocates and copies.
 * Callers check sw_offload_pending_burst() first, which costs one OR per
 * packet when nothing is pending.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Offloads a destination can take itself. */
enum sw_offload_cap {
	SW_OFFLOAD_CAP_TCP_CSUM = 1u << 0,  /**< partial TCP checksums */
	SW_OFFLOAD_CAP_UDP_CSUM = 1u << 1,  /**< partial UDP checksums */
	SW_OFFLOAD_CAP_IPV4_CSUM = 1u << 2, /**< IPv4 header checksums */
	SW_OFFLOAD_CAP_TSO4 = 1u << 3,      /**< TCP segmentation over IPv4 */
	SW_OFFLOAD_CAP_TSO6 = 1u << 4,      /**< TCP segmentation over IPv6 */
};

/** The mbuf flags this library can act on. */
#define SW_OFFLOAD_TX_FLAGS (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM)

/** Segments one TSO frame may become; a smaller MSS makes the frame a drop. */
#define SW_OFFLOAD_MAX_SEGS 1024u

/** Offloads @p m asks for that a destination with @p caps cannot take. */
static inline bool
sw_offload_pending(const struct rte_mbuf *m, uint32_t caps)
{
	uint64_t f = m->ol_flags;
	uint32_t need = 0;

	if (likely(!(f & SW_OFFLOAD_TX_FLAGS)))
		return false;
	if (f & RTE_MBUF_F_TX_TCP_SEG)
		need |= (f & RTE_MBUF_F_TX_IPV6) ? SW_OFFLOAD_CAP_TSO6 : SW_OFFLOAD_CAP_TSO4;
	else if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM)
		need |= SW_OFFLOAD_CAP_TCP_CSUM;
	else if ((f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM)
		need |= SW_OFFLOAD_CAP_UDP_CSUM;
	else if (f & RTE_MBUF_F_TX_L4_MASK)
		return true; /* SCTP or reserved: nothing takes it here */
	if (f & RTE_MBUF_F_TX_IP_CKSUM)
		need |= SW_OFFLOAD_CAP_IPV4_CSUM;
	return (need & ~caps) != 0;
}

/** Whether any packet of a burst needs software completion. */
static inline bool
sw_offload_pending_burst(struct rte_mbuf *const *pkts, uint16_t n, uint32_t caps)
{
	uint64_t any = 0;

	for (uint16_t i = 0; i < n; i++)
		any |= pkts[i]->ol_flags;
	if (likely(!(any & SW_OFFLOAD_TX_FLAGS)))
		return false;
	for (uint16_t i = 0; i < n; i++)
		if (sw_offload_pending(pkts[i], caps))
			return true;
	return false;
}

/**
 * Complete a ones'-complement checksum in place, as virtio's NEEDS_CSUM
 * asks: sum the bytes from @p start to the end of the frame (the field
 * already holds the pseudo-header sum) and store the complement at
 * @p start + @p offset. A zero result is stored as 0xffff (RFC 768).
 * @p m must be writable (refcnt 1, direct).
 * @return 0, or -EINVAL when the field does not lie inside the frame.
 */
int sw_offload_csum_at(struct rte_mbuf *m, uint32_t start, uint32_t offset);

/**
 * Complete the checksums @p m's flags ask for (L4, IPv4 header) and clear
 * those flags. Not for TSO frames (see sw_offload_tso()).
 * @p m must be writable.
 * @return 0, or -EINVAL when the header lengths do not fit the frame.
 */
int sw_offload_csum(struct rte_mbuf *m);

/**
 * Cut a TSO frame into TCP segments, each a new mbuf (chain) from @p mp
 * with no offload flags left: IPv4 total length, id and header checksum,
 * IPv6 payload length, TCP sequence number, flags (FIN/PSH on the last
 * segment only, CWR on the first only) and checksum all set. The payload
 * is cut from byte @p *pos of the TCP payload; up to @p max segments are
 * written and *pos advances past them, so a caller can drain a frame in
 * chunks. @p m itself is not changed.
 * @return number of segments written (0 when *pos reached the end), or
 * -EINVAL (headers not in the first segment, no MSS, too many segments)
 * or -ENOMEM.
 */
int sw_offload_tso(const struct rte_mbuf *m, struct rte_mempool *mp, struct rte_mbuf **out,
		   uint16_t max, uint32_t *pos);

/**
 * Walks a burst for a destination with given capabilities, handing out
 * frames the destination can take: untouched ones, completed ones and
 * the segments of TSO frames. Every input mbuf is consumed: handed out,
 * or freed once its segments are out, or freed and counted as dropped.
 */
struct sw_offload_iter {
	struct rte_mbuf **pkts;
	uint16_t n;
	uint16_t i;   /**< next input */
	uint32_t pos; /**< TSO payload offset inside pkts[i] */
	uint32_t caps;
	struct rte_mempool *mp; /**< for copies and segments */
	uint64_t dropped;       /**< inputs dropped (no memory, bad headers) */
	uint64_t nomem;         /**< of those, for want of mbufs */
	uint64_t segments;      /**< segments produced */
	uint64_t completed;     /**< checksums completed */
};

/** Start walking @p pkts[0..n) for a destination with @p caps. */
void sw_offload_iter_init(struct sw_offload_iter *it, struct rte_mbuf **pkts, uint16_t n,
			  uint32_t caps, struct rte_mempool *mp);

/**
 * Write up to @p max frames ready for the destination to @p out.
 * @return how many; 0 once every input is consumed.
 */
uint16_t sw_offload_next(struct sw_offload_iter *it, struct rte_mbuf **out, uint16_t max);

#ifdef __cplusplus
}
#endif

#endif /* SW_OFFLOAD_H */
