/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueues (virtio 1.2 §2.7): guest TX into mbufs, mbufs into guest
 * RX. The trust model is in virtq_priv.h: avail->idx, ring entries and
 * descriptors are read once, checked against the ring size, and walks are
 * bounded.
 *
 * Poll mode: we ask the guest not to kick (used->flags NO_NOTIFY, or an
 * avail_event it never crosses with EVENT_IDX) and never re-enable kicks, so
 * no kick can be missed. Used entries of a burst are published with one
 * release store of used->idx; the guest is called once per burst if it
 * asked (flags or used_event, after a full barrier).
 */
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "virtq_priv.h"

#define BIT(b) (1ULL << (b))

struct split_ring {
	struct vq_desc *desc;
	struct vq_avail *avail;
	struct vq_used *used;
	uint16_t mask;
};

static inline void
ring_of(const struct virtq_conf *c, struct split_ring *r)
{
	r->desc = c->ring.split.desc;
	r->avail = c->ring.split.avail;
	r->used = c->ring.split.used;
	r->mask = (uint16_t)(c->num - 1);
}

/* Entries the guest made available, or -1 if avail->idx is impossible. */
static inline int
avail_count(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r)
{
	uint16_t idx = __atomic_load_n(&r->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - vq->pos.last_avail_idx);

	if (unlikely(n > c->num)) {
		vq_break(vq, c, "avail index moved past the ring size");
		return -1;
	}
	return n;
}

/* Walk the chain at @p head (already < num), appending to @p b. */
static int
walk(const struct virtq_conf *c, const struct split_ring *r, uint16_t head, struct vq_buf *b)
{
	uint32_t idx = head, steps = 0;

	for (;;) {
		struct vq_desc d;
		int ret;

		vq_desc_read(&d, &r->desc[idx]);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (unlikely(!(c->features & BIT(VIRTQ_F_INDIRECT_DESC)) ||
				     (d.flags & VRING_DESC_F_NEXT)))
				return VQ_ERR(VIRTQ_DROP_BAD_DESC);
			/* The referring descriptor's WRITE flag is ignored (DP-3). */
			return vq_walk_indirect(c, b, d.addr, d.len, false);
		}
		ret = vq_buf_add(b, c->mem, d.addr, d.len, (d.flags & VRING_DESC_F_WRITE) != 0);
		if (unlikely(ret != VQ_OK))
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return VQ_OK;
		/* A chain never has more descriptors than the ring: loops end here. */
		if (unlikely(d.next >= c->num || ++steps >= c->num))
			return VQ_ERR(VIRTQ_DROP_BAD_DESC);
		idx = d.next;
	}
}

static inline bool
need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Publish @p n used entries written from last_used_idx; call if asked. */
static void
publish_used(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r,
	     uint16_t n)
{
	uint16_t old = vq->pos.last_used_idx, new_idx = (uint16_t)(old + n);
	bool call;

	__atomic_store_n(&r->used->idx, new_idx, __ATOMIC_RELEASE);
	vq->pos.last_used_idx = new_idx;
	if (unlikely(c->log_base != NULL))
		vq_log_used(c, 2, 2); /* used->idx */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (c->features & BIT(VIRTQ_F_EVENT_IDX))
		call = need_event(vq_load16(&r->avail->ring[c->num]), new_idx, old);
	else
		call = !(vq_load16(&r->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (call)
		vq_call(vq, c);
}

static inline void
put_used(const struct virtq_conf *c, const struct split_ring *r, uint16_t slot, uint32_t id,
	 uint32_t len)
{
	struct vq_used_elem *e = &r->used->ring[slot & r->mask];

	e->id = id;
	e->len = len;
	if (unlikely(c->log_base != NULL))
		vq_log_used(c, 4 + (uint64_t)(slot & r->mask) * sizeof(*e), sizeof(*e));
}

/* Check a TX chain's lengths; a drop reason or VQ_OK. */
static inline int
tx_lengths_ok(const struct virtq_conf *c, const struct vq_buf *b)
{
	if (unlikely(b->rlen < c->hdr_len))
		return VQ_ERR(VIRTQ_DROP_SHORT_HDR);
	if (unlikely(b->rlen - c->hdr_len < 14))
		return VQ_ERR(VIRTQ_DROP_TOO_SHORT);
	if (unlikely(b->rlen - c->hdr_len > vq_max_tx_frame(c)))
		return VQ_ERR(VIRTQ_DROP_TOO_BIG);
	return VQ_OK;
}

uint16_t
vq_split_dequeue(struct virtq *vq, const struct virtq_conf *c, struct rte_mempool *mp,
		 struct rte_mbuf **pkts, uint16_t n)
{
	struct split_ring r;
	struct vq_buf b;
	uint16_t got = 0, i, count;
	int avail;

	ring_of(c, &r);
	avail = avail_count(vq, c, &r);
	if (avail <= 0)
		return 0;
	count = (uint16_t)avail < n ? (uint16_t)avail : n;
	if (unlikely(rte_pktmbuf_alloc_bulk(mp, pkts, count) != 0)) {
		vq_drop(vq, VIRTQ_DROP_NO_MBUF);
		return 0; /* the guest's buffers wait for the next poll */
	}
	for (i = 0; i < count; i++) {
		uint16_t slot = (uint16_t)(vq->pos.last_avail_idx + i);
		uint16_t head = vq_load16(&r.avail->ring[slot & r.mask]);
		struct rte_mbuf *m = pkts[got];
		struct vq_desc d;
		int ret;

		if (unlikely(head >= c->num)) {
			/* An impossible head cannot even be returned: stop here. */
			vq_break(vq, c, "avail ring entry past the ring size");
			break;
		}
		if (i + 1 < count)
			rte_prefetch0(&r.desc[vq_load16(&r.avail->ring[(slot + 1) & r.mask]) &
					      r.mask]);
		vq_desc_read(&d, &r.desc[head]);
		ret = VQ_SLOW;
		if (likely(!(d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT |
					VRING_DESC_F_WRITE))))
			ret = vq_tx_simple(c, d.addr, d.len, m);
		if (ret == VQ_SLOW) {
			vq_buf_init(&b);
			ret = walk(c, &r, head, &b);
			if (ret == VQ_OK)
				ret = tx_lengths_ok(c, &b);
			if (ret == VQ_OK && unlikely(!c->enabled))
				ret = VQ_ERR(VIRTQ_DROP_DISABLED);
			if (ret == VQ_OK)
				ret = vq_copy_to_mbuf(c, &b, mp, m, &pkts[got]);
		}
		put_used(c, &r, (uint16_t)(vq->pos.last_used_idx + i), head, 0);
		if (unlikely(ret != VQ_OK)) {
			vq_drop(vq, VQ_REASON(ret));
			vq_mbuf_recycle(m); /* stays at pkts[got] for the next chain */
			continue;
		}
		vq->stats.bytes += pkts[got]->pkt_len;
		got++;
	}
	/* Give back the mbufs allocated beyond what was delivered. */
	for (uint16_t k = got; k < count; k++)
		rte_pktmbuf_free(pkts[k]);
	vq->pos.last_avail_idx = (uint16_t)(vq->pos.last_avail_idx + i);
	if (i != 0)
		publish_used(vq, c, &r, i);
	vq->stats.packets += got;
	return got;
}

/* An RX chain: device-writable only (VNET-6), with room for something, and
 * at most 2^32 - 1 bytes like any chain (virtio 1.2 §2.7.5.2, SEC-4). */
static int
walk_rx(const struct virtq_conf *c, const struct split_ring *r, uint16_t head, struct vq_buf *b)
{
	uint64_t before = b->wlen;
	int ret = walk(c, r, head, b);

	if (ret == VQ_OK &&
	    unlikely(b->rlen != 0 || b->wlen == before || b->wlen - before > UINT32_MAX))
		ret = VQ_ERR(VIRTQ_DROP_BAD_DESC);
	return ret;
}

/* take_rx_chains() result: the frame can never fit one buffer (no MRG_RXBUF). */
#define RX_FRAME_TOO_BIG (-1)

/* Take guest RX chains for a frame of @p need bytes (header included) from
 * avail slot @p first on. @return chains taken (>0); 0 if the avail ring has
 * too few buffers; RX_FRAME_TOO_BIG; or -(k + 1), k >= 1, when the k-th chain
 * is bad: the k chains go back unused. */
static int
take_rx_chains(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r,
	       uint16_t first, uint16_t avail, uint64_t need, struct vq_buf *b,
	       struct vq_rxchain *ch, bool mrg)
{
	uint64_t cap = 0;
	uint16_t nch = 0;

	vq_buf_init(b);
	while (cap < need) {
		uint16_t head;
		uint64_t before = b->wlen;
		int ret;

		if (!mrg && nch == 1)
			return RX_FRAME_TOO_BIG;
		if (nch == avail)
			return 0;
		if (nch == VIRTQ_MAX_RX_CHAINS)
			return RX_FRAME_TOO_BIG;
		head = vq_load16(&r->avail->ring[(uint16_t)(first + nch) & r->mask]);
		if (unlikely(head >= c->num)) {
			vq_break(vq, c, "avail ring entry past the ring size");
			return 0;
		}
		ch[nch].id = head;
		ret = walk_rx(c, r, head, b);
		ch[nch].wlen = b->wlen - before > need ? (uint32_t)need : (uint32_t)(b->wlen - before);
		nch++;
		if (unlikely(ret != VQ_OK)) {
			vq_drop(vq, VQ_REASON(ret));
			return -(int)nch - 1;
		}
		cap = b->wlen;
	}
	return nch;
}

uint16_t
vq_split_enqueue(struct virtq *vq, const struct virtq_conf *c, struct rte_mbuf *const *pkts,
		 uint16_t n)
{
	struct vq_rxchain ch[VIRTQ_MAX_RX_CHAINS];
	bool mrg = (c->features & BIT(VIRTQ_F_MRG_RXBUF)) != 0;
	uint16_t taken = 0, delivered = 0, i;
	struct split_ring r;
	struct vq_buf b;
	int avail;

	ring_of(c, &r);
	avail = avail_count(vq, c, &r);
	if (avail < 0)
		return 0;
	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		uint16_t first = (uint16_t)(vq->pos.last_avail_idx + taken);
		int k;

		if (likely(taken < avail)) {
			uint16_t head = vq_load16(&r.avail->ring[first & r.mask]);
			struct vq_desc d;
			uint32_t wrote = 0;

			if (likely(head < c->num)) {
				vq_desc_read(&d, &r.desc[head]);
				if ((d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT |
						VRING_DESC_F_WRITE)) == VRING_DESC_F_WRITE)
					wrote = vq_rx_simple(c, d.addr, d.len, m);
			}
			if (likely(wrote != 0)) {
				put_used(c, &r, (uint16_t)(vq->pos.last_used_idx + taken), head,
					 wrote);
				taken++;
				delivered++;
				vq->stats.bytes += m->pkt_len;
				continue;
			}
		}
		if (unlikely(!vq_rx_offload_ok(c, m))) {
			vq_drop(vq, VIRTQ_DROP_OFFLOAD);
			continue;
		}
		k = take_rx_chains(vq, c, &r, first, (uint16_t)(avail - taken),
				   (uint64_t)c->hdr_len + m->pkt_len, &b, ch, mrg);
		if (k == 0)
			break; /* out of guest buffers: the rest of the burst waits */
		if (k == RX_FRAME_TOO_BIG) {
			vq_drop(vq, VIRTQ_DROP_TOO_BIG); /* buffer kept for the next frame */
			continue;
		}
		if (k < 0) {
			/* A bad chain: it and those before it go back unused. */
			for (int j = 0; j < -k - 1; j++)
				put_used(c, &r, (uint16_t)(vq->pos.last_used_idx + taken + j),
					 ch[j].id, 0);
			taken = (uint16_t)(taken - k - 1);
			i--; /* retry this frame with the next buffers */
			continue;
		}
		vq_copy_from_mbuf(c, m, &b, ch, (uint16_t)k);
		for (int j = 0; j < k; j++)
			put_used(c, &r, (uint16_t)(vq->pos.last_used_idx + taken + j), ch[j].id,
				 ch[j].written);
		taken = (uint16_t)(taken + k);
		delivered++;
		vq->stats.bytes += m->pkt_len;
	}
	vq->stats.drops[VIRTQ_DROP_NO_GUEST_BUF] += (uint16_t)(n - i);
	if (taken != 0) {
		vq->pos.last_avail_idx = (uint16_t)(vq->pos.last_avail_idx + taken);
		publish_used(vq, c, &r, taken);
	}
	vq->stats.packets += delivered;
	return delivered;
}
