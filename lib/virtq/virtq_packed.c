/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed virtqueues (virtio 1.2 §2.8). The trust model is in virtq_priv.h:
 * a descriptor's flags are read first (acquire), the rest only once it is
 * seen available, each field once; chains are bounded by the ring size;
 * buffer ids are checked against it. The ring size need not be a power of
 * two: positions wrap by comparison.
 *
 * Used descriptors of a burst are written in order at the used position;
 * the first one's flags are stored last (release), so the driver sees the
 * whole burst at once. With IN_ORDER, TX buffers are returned as one used
 * descriptor at the first one's position naming the last (virtio 1.2
 * §2.8.8, DP-9): the driver skips the rest, so it reads one cache line of
 * the ring per return instead of one per four buffers, and the lines it
 * refills stay in its cache. A polling guest gets one such return per
 * tx_hold buffers, not one per poll (struct virtq_hold says why). RX keeps
 * one used descriptor per buffer: the driver needs each length. Poll mode:
 * the device event area says DISABLE, so the driver does not kick.
 */
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "virtq_priv.h"

#define BIT(b) (1ULL << (b))

struct packed_pos {
	uint16_t idx;
	bool wrap;
};

static inline void
pos_advance(struct packed_pos *p, uint16_t n, uint16_t num)
{
	p->idx = (uint16_t)(p->idx + n);
	if (p->idx >= num) {
		p->idx = (uint16_t)(p->idx - num);
		p->wrap = !p->wrap;
	}
}

static inline bool
desc_avail(uint16_t flags, bool wrap)
{
	return ((flags & VRING_PACKED_F_AVAIL) != 0) == wrap &&
	       ((flags & VRING_PACKED_F_USED) != 0) != wrap;
}

/* Chain at @p at: 1 and a filled @p b if a chain is available, 0 if not,
 * or a negative drop result (VQ_ERR negated) for a bad chain; b->ndesc
 * then says how many slots to skip. -INT_MAX: the ring is broken. */
#define WALK_BROKEN (-0x7fff)

static int
walk(const struct virtq_conf *c, struct vq_pdesc *ring, struct packed_pos at, struct vq_buf *b)
{
	uint16_t num = c->num;
	int err = VQ_OK;

	vq_buf_init(b);
	for (;;) {
		uint16_t flags = __atomic_load_n(&ring[at.idx].flags, __ATOMIC_ACQUIRE);
		const volatile struct vq_pdesc *g = &ring[at.idx];
		struct vq_pdesc d;

		if (!desc_avail(flags, at.wrap))
			return b->ndesc == 0 ? 0
					     : WALK_BROKEN; /* a chain is made available whole */
		d.addr = g->addr; /* each field read once, after the flags */
		d.len = g->len;
		d.id = g->id;
		d.flags = flags;
		b->ndesc++;
		b->id = d.id; /* the last descriptor's id names the buffer */
		pos_advance(&at, 1, num);
		if (err == VQ_OK) {
			if (d.flags & VRING_DESC_F_INDIRECT) {
				if (!(c->features & BIT(VIRTQ_F_INDIRECT_DESC)) ||
				    (d.flags & VRING_DESC_F_NEXT) || b->nseg != 0)
					err = VQ_ERR(VIRTQ_DROP_BAD_DESC);
				else
					err = vq_walk_indirect(c, b, d.addr, d.len, true);
			} else {
				err = vq_buf_add(b, c->mem, d.addr, d.len,
						 (d.flags & VRING_DESC_F_WRITE) != 0);
			}
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (b->ndesc >= num)
			return WALK_BROKEN;
	}
	if (b->id >= num)
		return WALK_BROKEN;
	return err == VQ_OK ? 1 : -err;
}

/* The used side of a burst. Positions live here, not in the virtq, while
 * the burst runs: stores into guest memory through other pointers would
 * otherwise make the compiler reload and store them per packet. */
struct used_batch {
	struct vq_pdesc *ring;
	struct packed_pos at; /* next used position; back to vq->pos in flush_used() */
	uint16_t first_idx;
	uint16_t first_flags;
	uint16_t last_id; /* one_entry: the buffer the burst's entry names */
	uint32_t slots;   /* one_entry: ring slots it stands for */
	bool any;
	bool one_entry; /* IN_ORDER TX: the burst is one used descriptor */
};

static inline void
put_used(const struct virtq_conf *c, struct used_batch *ub, uint16_t id, uint32_t len,
	 uint16_t ndesc)
{
	struct vq_pdesc *d = &ub->ring[ub->at.idx];
	uint16_t flags = ub->at.wrap ? (VRING_PACKED_F_AVAIL | VRING_PACKED_F_USED) : 0;

	if (len != 0)
		flags |= VRING_DESC_F_WRITE;
	if (ub->one_entry) {
		/* Written once in flush_used(), len 0: TX only. The slots
		 * after the first keep what the driver wrote. */
		RTE_ASSERT(len == 0);
		ub->last_id = id;
		ub->slots += ndesc;
		if (!ub->any) {
			ub->any = true;
			ub->first_idx = ub->at.idx;
			ub->first_flags = flags;
		}
		pos_advance(&ub->at, ndesc, c->num);
		return;
	}
	d->id = id;
	d->len = len;
	if (!ub->any) {
		ub->any = true;
		ub->first_idx = ub->at.idx;
		ub->first_flags = flags;
	} else {
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
	}
	if (unlikely(c->log_base != NULL))
		vq_log_used(c, (uint64_t)ub->at.idx * sizeof(*d), sizeof(*d));
	pos_advance(&ub->at, ndesc, c->num);
}

static bool
need_call(const struct virtq_conf *c, struct virtq *vq, uint16_t old)
{
	const struct vq_event *ev = c->ring.packed_ring.driver_event;
	uint16_t flags = vq_load16(&ev->flags), new_idx = vq->pos.last_used_idx;
	uint16_t off_wrap, off;

	if (flags != VRING_EVENT_F_DESC || !(c->features & BIT(VIRTQ_F_EVENT_IDX)))
		return flags != VRING_EVENT_F_DISABLE;
	off_wrap = vq_load16(&ev->off_wrap);
	off = off_wrap & 0x7fff;
	/* Compare on one line of 2*num positions (virtio 1.2 §2.8.10). */
	if (new_idx <= old)
		old = (uint16_t)(old - c->num);
	if (((off_wrap >> 15) != 0) != vq->pos.used_wrap)
		off = (uint16_t)(off - c->num);
	return (uint16_t)(new_idx - off - 1) < (uint16_t)(new_idx - old);
}

static void
flush_used(struct virtq *vq, const struct virtq_conf *c, struct used_batch *ub, uint16_t old)
{
	if (!ub->any)
		return;
	vq->pos.last_used_idx = ub->at.idx;
	vq->pos.used_wrap = ub->at.wrap;
	if (ub->one_entry) {
		struct vq_pdesc *d = &ub->ring[ub->first_idx];

		d->id = ub->last_id;
		d->len = 0;
		if (unlikely(c->log_base != NULL))
			vq_log_used(c, (uint64_t)ub->first_idx * sizeof(*d), sizeof(*d));
	}
	__atomic_store_n(&ub->ring[ub->first_idx].flags, ub->first_flags, __ATOMIC_RELEASE);
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (need_call(c, vq, old))
		vq_call(vq, c);
}

static inline void
suppress_kicks(const struct virtq_conf *c)
{
	struct vq_event *ev = c->ring.packed_ring.device_event;

	if (vq_load16(&ev->flags) != VRING_EVENT_F_DISABLE)
		ev->flags = VRING_EVENT_F_DISABLE;
}

/*
 * Held TX buffers (struct virtq_hold): IN_ORDER only, so what is held is
 * one used descriptor to be, kept in vq->hold between polls while
 * vq->pos.last_used_idx already points past the slots it stands for.
 */

/* The driver wants a call for used buffers: anything but DISABLE (holding
 * never runs with EVENT_IDX). */
static inline bool
wants_call(const struct virtq_conf *c)
{
	const struct vq_event *ev = c->ring.packed_ring.driver_event;

	return vq_load16(&ev->flags) != VRING_EVENT_F_DISABLE;
}

/* Put the held buffers into @p ub, to go back with the burst's.
 * @return the used position last published (need_call()'s old). */
static inline uint16_t
hold_resume(const struct virtq *vq, struct used_batch *ub)
{
	const struct virtq_hold *h = &vq->hold;

	ub->any = true;
	ub->one_entry = true;
	ub->slots = h->count;
	ub->first_idx = h->used_slot;
	ub->first_flags = h->used_flags;
	ub->last_id = h->last_id;
	return h->used_slot;
}

/* Return what @p ub stands for (held buffers included) and forget the hold. */
static void
hold_release(struct virtq *vq, const struct virtq_conf *c, struct used_batch *ub, uint16_t old)
{
	flush_used(vq, c, ub, old);
	ub->any = false;
	ub->slots = 0;
	if (unlikely(vq->hold.count != 0))
		memset(&vq->hold, 0, sizeof(vq->hold));
}

/* A TX poll starts with what is held in @p ub, unless holding was switched
 * off (LOG_ALL): then that goes back first. @return need_call()'s old. */
static inline uint16_t
hold_begin(struct virtq *vq, const struct virtq_conf *c, struct used_batch *ub)
{
	uint16_t old;

	if (likely(vq->hold.count == 0))
		return vq->pos.last_used_idx;
	old = hold_resume(vq, ub);
	if (c->tx_hold != 0 && (c->features & BIT(VIRTQ_F_IN_ORDER)))
		return old;
	hold_release(vq, c, ub, old);
	ub->one_entry = (c->features & BIT(VIRTQ_F_IN_ORDER)) != 0;
	return vq->pos.last_used_idx;
}

/* After a TX burst: keep its buffers out while fewer than tx_hold slots'
 * worth, the guest polls and the ring is sound; else return them all. */
static inline void
hold_or_release(struct virtq *vq, const struct virtq_conf *c, struct used_batch *ub, uint16_t old)
{
	struct virtq_hold *h = &vq->hold;

	if (!ub->any || !ub->one_entry || ub->slots >= c->tx_hold || vq->broken || wants_call(c)) {
		hold_release(vq, c, ub, old);
		return;
	}
	h->count = (uint16_t)ub->slots;
	h->used_slot = ub->first_idx;
	h->used_flags = ub->first_flags;
	h->last_id = ub->last_id;
	h->idle_tsc = 0;
	h->empty_polls = 0;
	vq->pos.last_used_idx = ub->at.idx;
	vq->pos.used_wrap = ub->at.wrap;
}

/* An empty poll while holding: as the split rings' hold_idle(), everything
 * goes back once the guest sent nothing for tx_hold_cycles (the clock read
 * every 32nd empty poll only) or now wants a call. */
static void
hold_idle(struct virtq *vq, const struct virtq_conf *c, struct used_batch *ub, uint16_t old)
{
	struct virtq_hold *h = &vq->hold;

	if ((++h->empty_polls & 31) != 0)
		return;
	if (!wants_call(c)) {
		uint64_t now = rte_rdtsc();

		if (h->idle_tsc == 0)
			h->idle_tsc = now;
		if (now - h->idle_tsc < c->tx_hold_cycles)
			return;
	}
	hold_release(vq, c, ub, old);
}

void
vq_packed_release_held(struct virtq *vq, const struct virtq_conf *c)
{
	struct used_batch ub = { .ring = c->ring.packed_ring.desc,
				 .at = { vq->pos.last_used_idx, vq->pos.used_wrap } };

	hold_release(vq, c, &ub, hold_resume(vq, &ub));
}

/* Prefetch the buffers of the fast-shape chains (one descriptor whose
 * NEXT/INDIRECT/WRITE flags are @p shape) among the next @p n positions
 * (vq_prefetch_buf(): hints only). */
static inline void
prefetch_bufs(const struct virtq_conf *c, struct packed_pos at, uint16_t n, uint16_t shape)
{
	const struct vq_pdesc *ring = c->ring.packed_ring.desc;

	for (uint16_t i = 0; i < n; i++) {
		const volatile struct vq_pdesc *g = &ring[at.idx];
		uint16_t flags = __atomic_load_n(&ring[at.idx].flags, __ATOMIC_ACQUIRE);

		if (!desc_avail(flags, at.wrap))
			return;
		/* Other shapes are skipped, not a stop: a mixed burst still
		 * gets the buffers after them prefetched. */
		if ((flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)) ==
		    shape)
			vq_prefetch_buf(c, g->addr, g->len);
		pos_advance(&at, 1, c->num);
	}
}

/* tx_one_desc() and rx_one_desc() result: nothing available at the position. */
#define RX_NONE (-2)

/*
 * Fast path: the chain at @p at is one plain descriptor. Takes it (frame in
 * @p m, or a drop result) and returns it used; VQ_SLOW when the general walk
 * must decide, RX_NONE when nothing is available.
 */
static __rte_always_inline int
tx_one_desc(const struct virtq_conf *c, struct used_batch *ub, struct packed_pos *at,
	    struct rte_mbuf *m)
{
	struct vq_pdesc *ring = c->ring.packed_ring.desc;
	const volatile struct vq_pdesc *g = &ring[at->idx];
	uint16_t flags = __atomic_load_n(&ring[at->idx].flags, __ATOMIC_ACQUIRE);
	uint16_t id;
	int ret;

	if (!desc_avail(flags, at->wrap))
		return RX_NONE;
	if (unlikely(flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)))
		return VQ_SLOW;
	id = g->id;
	if (unlikely(id >= c->num))
		return VQ_SLOW; /* the walk breaks the ring */
	ret = vq_tx_simple(c, g->addr, g->len, m);
	if (ret == VQ_SLOW)
		return VQ_SLOW;
	pos_advance(at, 1, c->num);
	put_used(c, ub, id, 0, 1);
	return ret;
}

uint16_t
vq_packed_dequeue(struct virtq *vq, const struct virtq_conf *c, struct rte_mempool *mp,
		  struct rte_mbuf **pkts, uint16_t n)
{
	struct vq_pdesc *ring = c->ring.packed_ring.desc;
	struct used_batch ub = { .ring = ring,
				 .at = { vq->pos.last_used_idx, vq->pos.used_wrap },
				 .one_entry = (c->features & BIT(VIRTQ_F_IN_ORDER)) != 0 };
	struct packed_pos at = { vq->pos.last_avail_idx, vq->pos.avail_wrap };
	uint16_t old, got = 0, limit;
	uint64_t bytes = 0;
	bool full = false; /* a ring's worth of slots stands for one descriptor */
	struct vq_buf b;

	suppress_kicks(c);
	old = hold_begin(vq, c, &ub);
	/* An empty poll takes no mbufs: most polls of an idle queue are. */
	if (!desc_avail(__atomic_load_n(&ring[at.idx].flags, __ATOMIC_ACQUIRE), at.wrap)) {
		if (unlikely(vq->hold.count != 0) && !vq->broken)
			hold_idle(vq, c, &ub, old);
		return 0;
	}
	/* One used descriptor stands for at most a ring of slots: a guest
	 * making more available than it got back cannot move the position
	 * past the one it waits on. Every buffer takes a slot or more, so the
	 * burst is cut to the slots left, and a chain's extra slots come off
	 * the rest of it (limit): one-slot buffers need no check. */
	if (unlikely(ub.slots + n > c->num))
		n = (uint16_t)(c->num - ub.slots);
	limit = n;
	prefetch_bufs(c, at, n, 0);
	if (unlikely(rte_mempool_get_bulk(mp, (void **)pkts, n) != 0)) {
		vq_drop(vq, VIRTQ_DROP_NO_MBUF);
		/* No idle look while out of mbufs: what is held goes back. */
		hold_release(vq, c, &ub, old);
		return 0;
	}
	for (uint16_t i = 0; i < limit; i++) {
		struct rte_mbuf *m = pkts[got];
		int ret;

		vq_mbuf_fresh(m);
		ret = tx_one_desc(c, &ub, &at, m);

		if (likely(ret != VQ_SLOW)) {
			if (ret == RX_NONE)
				break;
			if (unlikely(ret != VQ_OK)) {
				vq_drop(vq, VQ_REASON(ret));
				vq_mbuf_recycle(m);
				continue;
			}
			bytes += m->pkt_len;
			got++;
			continue;
		}
		ret = walk(c, ring, at, &b);
		if (ret == 0)
			break;
		if (ret == WALK_BROKEN) {
			vq_break(vq, c, "packed chain not made available whole, or bad id");
			break;
		}
		if (unlikely(ub.slots + b.ndesc > c->num)) {
			full = true; /* not taken while buffers are held */
			break;
		}
		pos_advance(&at, b.ndesc, c->num);
		ret = ret < 0 ? -ret : vq_tx_lengths_ok(c, &b);
		if (ret == VQ_OK && unlikely(!c->enabled))
			ret = VQ_ERR(VIRTQ_DROP_DISABLED);
		if (ret == VQ_OK)
			ret = vq_copy_to_mbuf(c, &b, mp, m, &pkts[got]);
		put_used(c, &ub, b.id, 0, b.ndesc);
		if (unlikely(ub.slots + (uint32_t)(limit - i - 1) > c->num))
			limit = (uint16_t)(i + 1 + c->num - ub.slots);
		if (unlikely(ret != VQ_OK)) {
			vq_drop(vq, VQ_REASON(ret));
			vq_mbuf_recycle(m);
			continue;
		}
		bytes += pkts[got]->pkt_len;
		got++;
	}
	/* Untouched or recycled (one segment again): they go back as they came. */
	if (got != n)
		rte_mempool_put_bulk(mp, (void **)&pkts[got], (unsigned int)(n - got));
	vq->pos.last_avail_idx = at.idx;
	vq->pos.avail_wrap = at.wrap;
	if (c->tx_hold != 0 && !full)
		hold_or_release(vq, c, &ub, old);
	else
		hold_release(vq, c, &ub, old);
	vq->stats.bytes += bytes;
	vq->stats.packets += got;
	return got;
}

/* Take chains for @p need bytes from @p *at on; see the split version.
 * @return chains (>0), 0: out of buffers, -1: cannot fit (no MRG_RXBUF),
 * -(k+1): chain k is bad, chains before it and it go back unused. */
static int
take_rx_chains(struct virtq *vq, const struct virtq_conf *c, struct packed_pos at, uint64_t need,
	       struct vq_buf *b, struct vq_rxchain *ch, bool mrg)
{
	struct vq_pdesc *ring = c->ring.packed_ring.desc;
	uint64_t cap = 0;
	uint16_t nch = 0;
	struct vq_buf one;

	vq_buf_init(b);
	while (cap < need) {
		int ret;

		if ((!mrg && nch == 1) || nch == VIRTQ_MAX_RX_CHAINS)
			return -1;
		ret = walk(c, ring, at, &one);
		if (ret == 0)
			return 0;
		if (ret == WALK_BROKEN) {
			vq_break(vq, c, "packed chain not made available whole, or bad id");
			return 0;
		}
		ch[nch].id = one.id;
		ch[nch].ndesc = one.ndesc;
		nch++;
		pos_advance(&at, one.ndesc, c->num);
		/* Writable only, not empty, at most 2^32 - 1 bytes (SEC-4). */
		if (ret < 0 || one.rlen != 0 || one.wlen == 0 || one.wlen > UINT32_MAX ||
		    b->nseg + one.nseg > VIRTQ_MAX_SEGS) {
			vq_drop(vq, ret < 0 ? VQ_REASON(-ret) : VIRTQ_DROP_BAD_DESC);
			return -(int)nch - 1;
		}
		memcpy(&b->seg[b->nseg], one.seg, one.nseg * sizeof(one.seg[0]));
		b->nseg = (uint16_t)(b->nseg + one.nseg);
		ch[nch - 1].wlen = one.wlen > need ? (uint32_t)need : (uint32_t)one.wlen;
		b->wlen += one.wlen;
		cap = b->wlen;
	}
	return nch;
}

/* Fast path: one plain writable descriptor that holds the whole frame:
 * VQ_OK (delivered and used), VQ_SLOW, or RX_NONE. */
static __rte_always_inline int
rx_one_desc(const struct virtq_conf *c, struct used_batch *ub, struct packed_pos *at,
	    const struct rte_mbuf *m)
{
	struct vq_pdesc *ring = c->ring.packed_ring.desc;
	const volatile struct vq_pdesc *g = &ring[at->idx];
	uint16_t flags = __atomic_load_n(&ring[at->idx].flags, __ATOMIC_ACQUIRE);
	uint32_t wrote;
	uint16_t id;

	if (!desc_avail(flags, at->wrap))
		return RX_NONE;
	if ((flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)) !=
	    VRING_DESC_F_WRITE)
		return VQ_SLOW;
	id = g->id;
	if (unlikely(id >= c->num))
		return VQ_SLOW;
	wrote = vq_rx_simple(c, g->addr, g->len, m);
	if (wrote == 0)
		return VQ_SLOW;
	pos_advance(at, 1, c->num);
	put_used(c, ub, id, wrote, 1);
	return VQ_OK;
}

uint16_t
vq_packed_enqueue(struct virtq *vq, const struct virtq_conf *c, struct rte_mbuf *const *pkts,
		  uint16_t n)
{
	struct vq_rxchain ch[VIRTQ_MAX_RX_CHAINS];
	struct used_batch ub = { .ring = c->ring.packed_ring.desc,
				 .at = { vq->pos.last_used_idx, vq->pos.used_wrap } };
	struct packed_pos at = { vq->pos.last_avail_idx, vq->pos.avail_wrap };
	bool mrg = (c->features & BIT(VIRTQ_F_MRG_RXBUF)) != 0;
	uint16_t old = vq->pos.last_used_idx, delivered = 0, i;
	uint64_t bytes = 0;
	struct vq_buf b;

	suppress_kicks(c);
	prefetch_bufs(c, at, n, VRING_DESC_F_WRITE);
	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		int k = rx_one_desc(c, &ub, &at, m), nput;

		if (likely(k != VQ_SLOW)) {
			if (k == RX_NONE)
				break;
			delivered++;
			bytes += m->pkt_len;
			continue;
		}
		if (unlikely(!vq_rx_offload_ok(c, m))) {
			vq_drop(vq, VIRTQ_DROP_OFFLOAD);
			continue;
		}
		k = take_rx_chains(vq, c, at, (uint64_t)c->hdr_len + m->pkt_len, &b, ch, mrg);
		nput = k > 0 ? k : -k - 1;
		if (k == 0)
			break;
		if (k == -1) {
			vq_drop(vq, VIRTQ_DROP_TOO_BIG);
			continue;
		}
		if (k > 0) {
			vq_copy_from_mbuf(c, m, &b, ch, (uint16_t)k);
			delivered++;
			bytes += m->pkt_len;
		}
		for (int j = 0; j < nput; j++) {
			put_used(c, &ub, ch[j].id, k > 0 ? ch[j].written : 0, ch[j].ndesc);
			pos_advance(&at, ch[j].ndesc, c->num);
		}
		if (k < 0)
			i--; /* retry this frame with the next buffers */
	}
	vq->stats.drops[VIRTQ_DROP_NO_GUEST_BUF] += (uint16_t)(n - i);
	vq->pos.last_avail_idx = at.idx;
	vq->pos.avail_wrap = at.wrap;
	flush_used(vq, c, &ub, old);
	vq->stats.bytes += bytes;
	vq->stats.packets += delivered;
	return delivered;
}
