/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VIRTQ_PRIV_H
#define VIRTQ_PRIV_H

/*
 * Guest ring layouts and the bounded descriptor walk shared by the split and
 * packed datapaths.
 *
 * Trust model (the border between a guest and the switch): rings, descriptors
 * and buffers live in guest memory that the guest may rewrite at any moment.
 * Every field is read once into a private copy (READ_ONCE-style volatile
 * loads) and validated there; indices are checked against the ring size
 * before use; every buffer address and length is translated through
 * guest_mem (GPA ranges, 64-bit overflow-safe, split at region boundaries);
 * walks are bounded by the ring size and VIRTQ_MAX_SEGS; totals are summed in
 * 64 bits. A bad chain drops one packet (counted by reason); ring-level
 * corruption stops only that ring. Nothing here logs per packet. The
 * prefetch pass before a burst (vq_prefetch_buf) reads descriptors for
 * cache hints only: nothing it reads decides anything. RX writes a plain
 * header only where the buffer holds other bytes (vq_rx_hdr_plain): a
 * guest racing with that only gets back the bytes it wrote itself.
 */

#include <stdint.h>
#include <string.h>

#include <rte_atomic.h>
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "virtq.h"

/* Descriptor flags (virtio 1.2 §2.7.5, §2.8). */
#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_DESC_F_INDIRECT 4u
#define VRING_PACKED_F_AVAIL (1u << 7)
#define VRING_PACKED_F_USED (1u << 15)
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u
#define VRING_EVENT_F_ENABLE 0u
#define VRING_EVENT_F_DISABLE 1u
#define VRING_EVENT_F_DESC 2u

/* Mark pages [gpa, gpa+len) dirty in the migration log (LOG_ALL). */
void vq_log_write(const struct virtq_conf *c, uint64_t gpa, uint64_t len);

/* Net header fields (virtio 1.2 §5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE 0u
#define VIRTIO_NET_HDR_GSO_TCPV4 1u
#define VIRTIO_NET_HDR_GSO_TCPV6 4u

/*
 * TX: act on a net header (the caller's private copy of the guest's) for
 * the frame already in @p m: offload flags set, or the checksum completed,
 * or a drop reason (virtq_offload.c).
 */
int vq_tx_offload(const struct virtq_conf *c, const uint8_t *hdr, struct rte_mbuf *m);

/* Mbuf flags that make the RX header more than zeros. */
#define VQ_RX_HDR_FLAGS \
	(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM | \
	 RTE_MBUF_F_RX_L4_CKSUM_GOOD)

/*
 * RX: fill the offload fields of a zeroed net header for @p m from its
 * flags. false: @p m asks for an offload the guest did not negotiate (the
 * port should have completed it; the frame is dropped as "offload").
 */
bool vq_rx_hdr(const struct virtq_conf *c, const struct rte_mbuf *m, uint8_t *hdr);

/* Most segments (descriptors after region splits) one packet may use. Linux
 * uses about 19 per TX packet; DPDK caps at 256 too. */
#define VIRTQ_MAX_SEGS 256u

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_pdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vq_used {
	uint16_t flags;
	uint16_t idx;
	struct vq_used_elem ring[];
};

struct vq_event {
	uint16_t off_wrap;
	uint16_t flags;
};

/* A piece of a guest buffer, contiguous in host memory. */
struct vq_seg {
	uint8_t *host;
	uint64_t gpa;
	uint32_t len;
};

/* One descriptor chain after the walk. */
struct vq_buf {
	uint16_t id;    /* split: head index; packed: buffer id */
	uint16_t ndesc; /* packed: ring slots the chain used */
	uint16_t nseg;
	uint16_t nread; /* the first nread segments are device-readable */
	uint64_t rlen;  /* readable bytes */
	uint64_t wlen;  /* writable bytes */
	struct vq_seg seg[VIRTQ_MAX_SEGS];
};

/* Walk outcome: 0 or a drop reason + 1 (so 0 means fine). */
#define VQ_OK 0
#define VQ_ERR(reason) ((int)(reason) + 1)
#define VQ_REASON(err) ((enum virtq_drop)((err)-1))

static inline uint16_t
vq_load16(const void *p)
{
	return *(const volatile uint16_t *)p;
}

/* Copy a descriptor out of guest memory once. */
static inline void
vq_desc_read(struct vq_desc *d, const struct vq_desc *g)
{
	const volatile struct vq_desc *v = g;

	d->addr = v->addr;
	d->len = v->len;
	d->next = v->next;
	d->flags = v->flags;
}

static inline void
vq_buf_init(struct vq_buf *b)
{
	b->nseg = 0;
	b->nread = 0;
	b->rlen = 0;
	b->wlen = 0;
	b->ndesc = 0;
}

/* Append [gpa, gpa+len) to the buffer, split at region boundaries. */
static inline int
vq_buf_add(struct vq_buf *b, const struct guest_mem_table *mem, uint64_t gpa, uint32_t len,
	   bool write)
{
	if (unlikely(!write && b->wlen != 0))
		return VQ_ERR(VIRTQ_DROP_BAD_DESC); /* readable after writable */
	if (unlikely(gpa + len < gpa))
		return VQ_ERR(VIRTQ_DROP_BAD_ADDR);
	while (len != 0) {
		uint64_t got = len;
		uint8_t *p;

		if (unlikely(b->nseg == VIRTQ_MAX_SEGS))
			return VQ_ERR(VIRTQ_DROP_CHAIN_TOO_LONG);
		p = guest_mem_gpa_to_hva(mem, gpa, &got);
		if (unlikely(p == NULL))
			return VQ_ERR(VIRTQ_DROP_BAD_ADDR);
		b->seg[b->nseg].host = p;
		b->seg[b->nseg].gpa = gpa;
		b->seg[b->nseg].len = (uint32_t)got;
		b->nseg++;
		if (write) {
			b->wlen += got;
		} else {
			b->rlen += got;
			b->nread++;
		}
		gpa += got;
		len -= (uint32_t)got;
	}
	return VQ_OK;
}

/*
 * Walk an indirect table at [addr, addr+len): len must be a non-zero
 * multiple of 16 within one region, at most VIRTQ_MAX_SEGS entries; entries
 * chain by `next` (split) or sequentially (packed), never indirect again.
 */
int vq_walk_indirect(const struct virtq_conf *c, struct vq_buf *b, uint64_t addr, uint32_t len,
		     bool packed);

/*
 * Frame bytes between guest memory and mbufs. Small copies stay inline
 * (rte_memcpy, as DPDK is built: SSE for -march=corei7); large ones go to
 * glibc's memcpy, which picks its AVX2 / AVX-512 / rep-movsb variant for
 * this CPU at load time (ifunc), with an SSE2 fallback: the run-time SIMD
 * choice without a dispatcher of our own.
 */
#define VQ_COPY_INLINE_MAX 256u

static __rte_always_inline void
vq_copy(void *dst, const void *src, uint32_t len)
{
	if (len <= VQ_COPY_INLINE_MAX)
		rte_memcpy(dst, src, len);
	else
		memcpy(dst, src, len);
}

/* Log a used-ring write at byte @p offset of the used area. */
static inline void
vq_log_used(const struct virtq_conf *c, uint64_t offset, uint64_t len)
{
	uint64_t gpa = c->log_used_gpa + offset;

	/* The log address is the front-end's: one near 2^64 must not wrap
	 * around to page 0 (LOG-4: skipped instead). */
	if (unlikely(c->log_base != NULL) && c->log_used && gpa >= offset && gpa + len > gpa)
		vq_log_write(c, gpa, len);
}

/* Notify the guest (eventfd write); counted. */
void vq_call(struct virtq *vq, const struct virtq_conf *c);

/* Stop processing a corrupted ring; signal its error fd. */
void vq_break(struct virtq *vq, const struct virtq_conf *c, const char *what);

/* Count a drop. */
static inline void
vq_drop(struct virtq *vq, enum virtq_drop reason)
{
	vq->stats.drops[reason]++;
}

/* Copy a TX chain (readable part, net header skipped) into a new mbuf chain.
 * @return VQ_OK with *out set, or a drop reason. */
int vq_copy_to_mbuf(const struct virtq_conf *c, const struct vq_buf *b, struct rte_mempool *mp,
		    struct rte_mbuf *m, struct rte_mbuf **out);

/*
 * What rte_pktmbuf_reset() does, for an mbuf straight from its pool
 * (rte_mempool_get_bulk): such an mbuf already has refcnt 1, nb_segs 1 and
 * next NULL (rte_mbuf_raw_alloc's contract), so only the rest is written,
 * right before the mbuf is filled.
 */
static __rte_always_inline void
vq_mbuf_fresh(struct rte_mbuf *m)
{
	m->data_off = (uint16_t)RTE_MIN((uint16_t)RTE_PKTMBUF_HEADROOM, m->buf_len);
	m->port = RTE_MBUF_PORT_INVALID;
	m->ol_flags &= RTE_MBUF_F_EXTERNAL;
	m->packet_type = 0;
	m->pkt_len = 0;
	m->data_len = 0;
	m->vlan_tci = 0;
	m->vlan_tci_outer = 0;
	m->tx_offload = 0;
}

/* Make a partly filled mbuf fresh again (free what was chained to it). */
static inline void
vq_mbuf_recycle(struct rte_mbuf *m)
{
	if (m->next != NULL) {
		rte_pktmbuf_free(m->next);
		m->next = NULL;
	}
	rte_pktmbuf_reset(m);
}

/* Largest TX frame a chain may hold before its header is read: GSO frames
 * may exceed max_frame (VNET-5); vq_tx_hdr_apply() holds the others to it. */
static inline uint32_t
vq_max_tx_frame(const struct virtq_conf *c)
{
	return c->max_gso_frame > c->max_frame ? c->max_gso_frame : c->max_frame;
}

/* Check a TX chain's lengths; a drop reason or VQ_OK. */
static inline int
vq_tx_lengths_ok(const struct virtq_conf *c, const struct vq_buf *b)
{
	if (unlikely(b->rlen < c->hdr_len))
		return VQ_ERR(VIRTQ_DROP_SHORT_HDR);
	if (unlikely(b->rlen - c->hdr_len < 14))
		return VQ_ERR(VIRTQ_DROP_TOO_SHORT);
	if (unlikely(b->rlen - c->hdr_len > vq_max_tx_frame(c)))
		return VQ_ERR(VIRTQ_DROP_TOO_BIG);
	return VQ_OK;
}

/* RX: false when @p m asks for an offload the guest did not negotiate. */
static __rte_always_inline bool
vq_rx_offload_ok(const struct virtq_conf *c, const struct rte_mbuf *m)
{
	uint8_t hdr[12] = { 0 };

	return likely(!(m->ol_flags & VQ_RX_HDR_FLAGS)) || vq_rx_hdr(c, m, hdr);
}

/* TX: the header says nothing (the common case), or let vq_tx_offload act. */
static __rte_always_inline int
vq_tx_hdr_apply(const struct virtq_conf *c, const uint8_t *hdr, struct rte_mbuf *m)
{
	if (likely(!(hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) && hdr[1] == VIRTIO_NET_HDR_GSO_NONE))
		return likely(m->pkt_len <= c->max_frame) ? VQ_OK : VQ_ERR(VIRTQ_DROP_TOO_BIG);
	return vq_tx_offload(c, hdr, m);
}

/*
 * Prefetch the start of a guest buffer (its net header's line and the
 * frame's first line) ahead of a burst. The driver wrote the buffer last,
 * so the first touch is a miss on the other core's cache: prefetched for a
 * whole burst at once, the misses overlap instead of coming frame after
 * frame (80 % of a 64B packed TX burst's time was the copy's first load).
 * A hint only: the caller read @p gpa for this alone, the burst reads the
 * descriptor again, once, for real; a prefetch never faults, and the
 * address comes through the memory table anyway.
 */
static __rte_always_inline void
vq_prefetch_buf(const struct virtq_conf *c, uint64_t gpa, uint32_t len)
{
	uint64_t got = len;
	const uint8_t *p = guest_mem_gpa_to_hva(c->mem, gpa, &got);

	if (p != NULL) {
		rte_prefetch0(p);
		rte_prefetch0(p + c->hdr_len);
	}
}

/* Fast paths for the common shapes; the general walk handles the rest. */
#define VQ_SLOW (-1)

/*
 * TX: one plain readable descriptor that holds header and frame inside one
 * region, and fits one mbuf. @return VQ_OK (frame in @p m), a drop result,
 * or VQ_SLOW when the general path must decide.
 */
static __rte_always_inline int
vq_tx_simple(const struct virtq_conf *c, uint64_t addr, uint32_t len, struct rte_mbuf *m)
{
	uint64_t got = len;
	const uint8_t *p;
	uint8_t hdr[12];
	uint32_t frame;

	if (unlikely(len < (uint32_t)c->hdr_len + 14 || len - c->hdr_len > c->max_frame ||
		     len - c->hdr_len > rte_pktmbuf_tailroom(m)))
		return VQ_SLOW;
	p = guest_mem_gpa_to_hva(c->mem, addr, &got);
	if (unlikely(p == NULL || got != len))
		return VQ_SLOW;
	if (unlikely(!c->enabled))
		return VQ_ERR(VIRTQ_DROP_DISABLED);
	/* The header is copied once and checked from the copy (VNET-3); the
	 * barrier keeps the compiler from reading guest memory again. */
	memcpy(hdr, p, 10);
	rte_compiler_barrier();
	frame = len - c->hdr_len;
	vq_copy(rte_pktmbuf_mtod(m, uint8_t *), p + c->hdr_len, frame);
	m->data_len = (uint16_t)frame;
	m->pkt_len = frame;
	return vq_tx_hdr_apply(c, hdr, m);
}

/*
 * RX: the header of a frame without offloads: zero, num_buffers = 1 when it
 * is there (VNET-7). Each part is written only where the buffer holds
 * something else. A driver that recycles its buffers finds its last header
 * there (DPDK's virtio PMD clears a TX header field by field, the same way,
 * and leaves num_buffers alone): the line then stays shared instead of
 * being taken into this core's cache, and the driver's next read of it is
 * not a miss. The header sits on a cache line of its own before the frame
 * (data_off 128, 12-byte header), so that is one miss per frame saved on
 * the driver's core, which sets the pace at 64 bytes. A guest rewriting its
 * own buffer meanwhile only gets the header it wrote: nothing here trusts
 * what was read. Reading a device-writable buffer goes against a SHOULD
 * NOT of virtio 1.2 §2.7.5.1 (it is allowed, not recommended); rte_vhost
 * reads its RX headers the same way, and only these 12 bytes are read.
 */
static __rte_always_inline void
vq_rx_hdr_plain(uint8_t *p, uint8_t hdr_len)
{
	uint64_t head, zero = 0;

	memcpy(&head, p, sizeof(head)); /* flags .. csum_start */
	if (head != 0)
		memcpy(p, &zero, sizeof(zero));
	if (hdr_len == 12) {
		/* csum_offset 0, num_buffers 1 (little endian) */
		uint32_t tail, want = rte_cpu_to_le_32(1u << 16);

		memcpy(&tail, p + 8, sizeof(tail));
		if (tail != want)
			memcpy(p + 8, &want, sizeof(want));
	} else {
		uint16_t tail, zero16 = 0;

		memcpy(&tail, p + 8, sizeof(tail));
		if (tail != 0)
			memcpy(p + 8, &zero16, sizeof(zero16));
	}
}

/*
 * RX: one plain writable descriptor with room for header and frame, from a
 * one-segment mbuf. @return bytes written (the used length), or 0 when the
 * general path must take it.
 */
static __rte_always_inline uint32_t
vq_rx_simple(const struct virtq_conf *c, uint64_t addr, uint32_t len, const struct rte_mbuf *m)
{
	uint32_t need = c->hdr_len + m->pkt_len;
	uint64_t got = len;
	uint8_t *p;

	if (unlikely(m->nb_segs != 1 || len < need))
		return 0;
	p = guest_mem_gpa_to_hva(c->mem, addr, &got);
	if (unlikely(p == NULL || got != len))
		return 0;
	if (likely(!(m->ol_flags & VQ_RX_HDR_FLAGS))) {
		vq_rx_hdr_plain(p, c->hdr_len);
	} else {
		uint8_t hdr[12] = { 0 };

		if (!vq_rx_hdr(c, m, hdr))
			return 0; /* the general path counts the drop */
		hdr[10] = 1;
		memcpy(p, hdr, c->hdr_len);
	}
	vq_copy(p + c->hdr_len, rte_pktmbuf_mtod(m, const uint8_t *), m->pkt_len);
	if (unlikely(c->log_base != NULL))
		vq_log_write(c, addr, need);
	return need;
}

/* Most guest RX buffers one frame may fill with MRG_RXBUF. */
#define VIRTQ_MAX_RX_CHAINS 128u

/* A guest RX buffer taken for the frame being delivered. */
struct vq_rxchain {
	uint16_t id;
	uint16_t ndesc;   /* packed: ring slots */
	uint32_t wlen;    /* capacity */
	uint32_t written; /* bytes written (used len) */
};

/* Copy a frame, preceded by a net header (zero but num_buffers = @p nch),
 * into the writable segments of @p b, which hold the chains @p ch in order;
 * every chain but the last is filled to capacity. Logs dirty pages. */
void vq_copy_from_mbuf(const struct virtq_conf *c, const struct rte_mbuf *m, const struct vq_buf *b,
		       struct vq_rxchain *ch, uint16_t nch);

/* Split and packed implementations. */
uint16_t vq_split_dequeue(struct virtq *vq, const struct virtq_conf *c, struct rte_mempool *mp,
			  struct rte_mbuf **pkts, uint16_t n);
uint16_t vq_split_enqueue(struct virtq *vq, const struct virtq_conf *c,
			  struct rte_mbuf *const *pkts, uint16_t n);
uint16_t vq_packed_dequeue(struct virtq *vq, const struct virtq_conf *c, struct rte_mempool *mp,
			   struct rte_mbuf **pkts, uint16_t n);
uint16_t vq_packed_enqueue(struct virtq *vq, const struct virtq_conf *c,
			   struct rte_mbuf *const *pkts, uint16_t n);
/* virtq_release_held() for a sound ring that holds something. */
void vq_split_release_held(struct virtq *vq, const struct virtq_conf *c);
void vq_packed_release_held(struct virtq *vq, const struct virtq_conf *c);

#endif /* VIRTQ_PRIV_H */
