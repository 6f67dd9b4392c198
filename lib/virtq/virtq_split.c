/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueues (virtio 1.2 §2.7): guest TX into mbufs, mbufs into guest
 * RX. The trust model is in virtq_priv.h: avail->idx, ring entries and
 * descriptors are read once, checked against the ring size, and walks are
 * bounded.
 *
 * Poll mode: we ask the guest not to kick (DP-7; suppress_kicks()) and never
 * re-enable kicks, so no kick can be missed. Used entries of a burst are published with one
 * release store of used->idx (and logged as one range); the guest is called
 * once per burst if it asked (flags or used_event, after a full barrier).
 *
 * Bursts: the avail entries of up to SPLIT_BATCH buffers are copied once
 * into a private array (each checked against the ring size before use) and
 * their descriptors prefetched; frames of the common shape (one descriptor)
 * then go through without touching the general walk. With IN_ORDER, a TX
 * burst is returned with one used entry, the id of its last buffer, and
 * used->idx advanced by the burst (virtio 1.2 §2.7.9, DP-9): every TX used
 * length is 0, so nothing is lost. A polling guest gets its TX buffers back
 * a few bursts late (struct virtq_hold in virtq.h says why); the frames
 * themselves are not delayed.
 */
#include <rte_cycles.h>
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

/* avail_event is rewritten once the ring moved this far past it. */
#define AVAIL_EVENT_REFRESH 16384u

/*
 * Poll mode needs no kick, and a driver that kicks pays for it (virtio-user:
 * a write() per burst and ring; a guest: an exit). DP-7:
 * - without EVENT_IDX, used->flags = NO_NOTIFY. Checked every burst: it
 *   shares its line with used->idx, which the burst writes anyway, and a
 *   driver that reset its ring gets it back at once;
 * - with EVENT_IDX, used->flags stays 0 and avail_event is kept just behind
 *   where we read: the driver kicks only when its avail index crosses it,
 *   and it is never more than num (<= 32768) ahead of us, so rewriting it
 *   every AVAIL_EVENT_REFRESH entries keeps it out of reach with one store
 *   per 16384 buffers instead of one per burst.
 */
static inline void
suppress_kicks(const struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r)
{
	uint16_t last = vq->pos.last_avail_idx;

	if (c->features & BIT(VIRTQ_F_EVENT_IDX)) {
		uint16_t *ev = (uint16_t *)&r->used->ring[c->num];

		if (likely((uint16_t)(last - vq_load16(ev) - 1) < AVAIL_EVENT_REFRESH))
			return;
		__atomic_store_n(ev, (uint16_t)(last - 1), __ATOMIC_RELAXED);
		vq_log_used(c, 4 + (uint64_t)c->num * sizeof(struct vq_used_elem), 2);
		return;
	}
	if (likely(vq_load16(&r->used->flags) & VRING_USED_F_NO_NOTIFY))
		return;
	__atomic_store_n(&r->used->flags, (uint16_t)VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
	vq_log_used(c, 0, 2);
}

static inline bool
need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Avail entries read (and descriptors prefetched) at once. */
#define SPLIT_BATCH 32u

/*
 * Copy the @p n (<= SPLIT_BATCH) avail entries from slot @p first on into
 * @p heads: each entry is read once; the caller checks each copy against the
 * ring size before using it. The descriptors are prefetched (masked, so a
 * bad entry never points the prefetch outside the table).
 */
static inline void
read_heads(const struct split_ring *r, uint16_t first, uint16_t *heads, uint16_t n)
{
	uint32_t s = first & r->mask, run = (uint32_t)r->mask + 1 - s;
	const uint16_t *ring = r->avail->ring;

	if (run > n)
		run = n;
	for (uint32_t k = 0; k < run; k++) {
		uint16_t h = vq_load16(&ring[s + k]);

		heads[k] = h;
		rte_prefetch0(&r->desc[h & r->mask]);
	}
	for (uint32_t k = run; k < n; k++) { /* wrapped to slot 0 */
		uint16_t h = vq_load16(&ring[k - run]);

		heads[k] = h;
		rte_prefetch0(&r->desc[h & r->mask]);
	}
}

/* Prefetch the buffers of the fast-shape chains (one descriptor whose
 * NEXT/INDIRECT/WRITE flags are @p shape) among @p heads (vq_prefetch_buf():
 * hints only; a head past the ring is masked here and stops the burst
 * later). */
static inline void
prefetch_bufs(const struct virtq_conf *c, const struct split_ring *r, const uint16_t *heads,
	      uint16_t n, uint16_t shape)
{
	for (uint16_t k = 0; k < n; k++) {
		const volatile struct vq_desc *g = &r->desc[heads[k] & r->mask];

		if ((g->flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)) ==
		    shape)
			vq_prefetch_buf(c, g->addr, g->len);
	}
}

/* Write used entry @p slot (not yet published); logged by publish_used(). */
static inline void
put_used(const struct split_ring *r, uint16_t slot, uint32_t id, uint32_t len)
{
	struct vq_used_elem e = { .id = id, .len = len };

	/* One 8-byte store: the ring is only 4-byte aligned, hence memcpy. */
	memcpy(&r->used->ring[slot & r->mask], &e, sizeof(e));
}

/* Log @p n used entries written from used slot @p first on (two ranges
 * when they wrap). */
static void
log_used_entries(const struct virtq_conf *c, const struct split_ring *r, uint16_t first, uint16_t n)
{
	uint32_t start = first & r->mask;
	uint32_t k = n;

	if (start + k > c->num) {
		vq_log_used(c, 4, (uint64_t)(start + k - c->num) * sizeof(struct vq_used_elem));
		k = c->num - start;
	}
	vq_log_used(c, 4 + (uint64_t)start * sizeof(struct vq_used_elem),
		    (uint64_t)k * sizeof(struct vq_used_elem));
}

/* Publish @p n used buffers whose @p written entries were written from
 * last_used_idx on; call if asked. */
static void
publish_used(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r, uint16_t n,
	     uint16_t written)
{
	uint16_t old = vq->pos.last_used_idx, new_idx = (uint16_t)(old + n);
	bool call;

	__atomic_store_n(&r->used->idx, new_idx, __ATOMIC_RELEASE);
	vq->pos.last_used_idx = new_idx;
	if (unlikely(c->log_base != NULL)) {
		log_used_entries(c, r, old, written);
		vq_log_used(c, 2, 2); /* used->idx */
	}
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (c->features & BIT(VIRTQ_F_EVENT_IDX))
		call = need_event(vq_load16(&r->avail->ring[c->num]), new_idx, old);
	else
		call = !(vq_load16(&r->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (call)
		vq_call(vq, c);
}

/* Publish the @p k oldest held batches (their entries are written). */
static void
release_batches(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r,
		unsigned int k)
{
	struct virtq_hold *h = &vq->hold;
	uint16_t n = 0;

	for (unsigned int b = 0; b < k; b++) {
		n = (uint16_t)(n + h->batch[h->first]);
		h->first = (uint8_t)((h->first + 1) % VIRTQ_HOLD_BATCHES);
	}
	h->nb = (uint8_t)(h->nb - k);
	h->count = (uint16_t)(h->count - n);
	/* One batch under IN_ORDER is one entry; several are logged whole. */
	publish_used(vq, c, r, n, (k == 1 && (c->features & BIT(VIRTQ_F_IN_ORDER))) ? 1 : n);
}

/*
 * A TX burst of @p n buffers was taken and its used entries written: keep
 * the newest tx_hold of them back (struct virtq_hold), publish the rest.
 * Batches are published whole.
 */
static void
hold_used(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r, uint16_t n)
{
	struct virtq_hold *h = &vq->hold;
	unsigned int k = 0;
	uint16_t left;

	if (unlikely(h->nb == VIRTQ_HOLD_BATCHES))
		release_batches(vq, c, r, 1);
	h->batch[(h->first + h->nb) % VIRTQ_HOLD_BATCHES] = n;
	h->nb++;
	h->count = (uint16_t)(h->count + n);
	h->idle_tsc = 0;
	h->empty_polls = 0;
	/* A guest that wants interrupts gets its buffers back at once; so do
	 * the good ones before a bad entry that broke the ring (DP-9 as
	 * without holding: nothing is written to the ring after this). */
	if (unlikely(!(vq_load16(&r->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT) || vq->broken)) {
		release_batches(vq, c, r, h->nb);
		return;
	}
	left = h->count;
	while (k < h->nb && left - h->batch[(h->first + k) % VIRTQ_HOLD_BATCHES] >= c->tx_hold) {
		left = (uint16_t)(left - h->batch[(h->first + k) % VIRTQ_HOLD_BATCHES]);
		k++;
	}
	if (k != 0)
		release_batches(vq, c, r, k);
}

/* An empty poll while holding: once the guest has sent nothing for
 * tx_hold_cycles, or now waits for a call (a driver that stopped on a full
 * ring and turned interrupts on), give everything back. Looked at every
 * 32nd empty poll only; the idle time counts from the first such look, so
 * bursts never read the clock. */
static void
hold_idle(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r)
{
	struct virtq_hold *h = &vq->hold;
	uint64_t now;

	if ((++h->empty_polls & 31) != 0)
		return;
	if (!(vq_load16(&r->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT)) {
		release_batches(vq, c, r, h->nb);
		return;
	}
	now = rte_rdtsc();
	if (h->idle_tsc == 0)
		h->idle_tsc = now;
	if (now - h->idle_tsc >= c->tx_hold_cycles)
		release_batches(vq, c, r, h->nb);
}

void
vq_split_release_held(struct virtq *vq, const struct virtq_conf *c)
{
	struct split_ring r;

	ring_of(c, &r);
	release_batches(vq, c, &r, vq->hold.nb);
}

/* TX chain @p head (< num) into @p *slot's mbuf by the general walk. Out
 * of line: the burst loop keeps a small frame. @return VQ_OK or a drop
 * result. */
static __rte_noinline int
tx_general(const struct virtq_conf *c, const struct split_ring *r, struct rte_mempool *mp,
	   uint16_t head, struct rte_mbuf **slot)
{
	struct vq_buf b;
	int ret;

	vq_buf_init(&b);
	ret = walk(c, r, head, &b);
	if (ret == VQ_OK)
		ret = vq_tx_lengths_ok(c, &b);
	if (ret == VQ_OK && unlikely(!c->enabled))
		ret = VQ_ERR(VIRTQ_DROP_DISABLED);
	if (ret == VQ_OK)
		ret = vq_copy_to_mbuf(c, &b, mp, *slot, slot);
	return ret;
}

/* TX chain @p head (< num) into @p *slot's mbuf: fast shape first, else
 * the general walk. @return VQ_OK or a drop result. */
static __rte_always_inline int
tx_one(const struct virtq_conf *c, const struct split_ring *r, struct rte_mempool *mp,
       uint16_t head, struct rte_mbuf **slot)
{
	struct vq_desc d;
	int ret = VQ_SLOW;

	vq_desc_read(&d, &r->desc[head]);
	if (likely(!(d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE))))
		ret = vq_tx_simple(c, d.addr, d.len, *slot);
	if (likely(ret != VQ_SLOW))
		return ret;
	return tx_general(c, r, mp, head, slot);
}

uint16_t
vq_split_dequeue(struct virtq *vq, const struct virtq_conf *c, struct rte_mempool *mp,
		 struct rte_mbuf **pkts, uint16_t n)
{
	const bool in_order = (c->features & BIT(VIRTQ_F_IN_ORDER)) != 0;
	const uint16_t avail_idx = vq->pos.last_avail_idx;
	uint16_t used_idx; /* where this burst's used entries go: after the held ones */
	uint16_t heads[SPLIT_BATCH];
	uint16_t got = 0, i = 0, count, last = 0;
	uint64_t bytes = 0;
	struct split_ring r;
	int avail;

	ring_of(c, &r);
	/* Holding was switched off (LOG_ALL, EVENT_IDX): give back what is held. */
	if (unlikely(vq->hold.count != 0 && c->tx_hold == 0))
		release_batches(vq, c, &r, vq->hold.nb);
	suppress_kicks(vq, c, &r);
	avail = avail_count(vq, c, &r);
	if (avail <= 0) {
		if (unlikely(vq->hold.count != 0) && !vq->broken)
			hold_idle(vq, c, &r);
		return 0;
	}
	count = (uint16_t)avail < n ? (uint16_t)avail : n;
	/* Never more buffers out than the used ring has slots: a guest that
	 * made more available than it owns must not have the entries of held
	 * buffers overwritten. Unreachable for an honest one (held < tx_hold +
	 * a burst). */
	if (unlikely(count > c->num - vq->hold.count))
		count = (uint16_t)(c->num - vq->hold.count);
	if (unlikely(count == 0)) {
		/* Every used slot is a held entry: give them back now, or this
		 * ring (never idle: its avail count stays up) would not move. */
		release_batches(vq, c, &r, vq->hold.nb);
		return 0;
	}
	if (unlikely(rte_mempool_get_bulk(mp, (void **)pkts, count) != 0)) {
		vq_drop(vq, VIRTQ_DROP_NO_MBUF);
		/* No idle look while out of mbufs: what is held goes back. */
		if (unlikely(vq->hold.count != 0))
			release_batches(vq, c, &r, vq->hold.nb);
		return 0; /* the guest's buffers wait for the next poll */
	}
	used_idx = (uint16_t)(vq->pos.last_used_idx + vq->hold.count);
	while (i < count) {
		uint16_t nb = (uint16_t)RTE_MIN((unsigned int)(count - i), SPLIT_BATCH);

		read_heads(&r, (uint16_t)(avail_idx + i), heads, nb);
		prefetch_bufs(c, &r, heads, nb, 0);
		for (uint16_t j = 0; j < nb; j++, i++) {
			uint16_t head = heads[j];
			int ret;

			if (unlikely(head >= c->num)) {
				/* An impossible head cannot even be returned: stop here. */
				vq_break(vq, c, "avail ring entry past the ring size");
				goto done;
			}
			vq_mbuf_fresh(pkts[got]);
			ret = tx_one(c, &r, mp, head, &pkts[got]);
			if (!in_order)
				put_used(&r, (uint16_t)(used_idx + i), head, 0);
			last = head;
			if (unlikely(ret != VQ_OK)) {
				vq_drop(vq, VQ_REASON(ret));
				vq_mbuf_recycle(pkts[got]); /* stays for the next chain */
				continue;
			}
			bytes += pkts[got]->pkt_len;
			got++;
		}
	}
done:
	/* Give back the mbufs taken beyond what was delivered: untouched, or
	 * recycled (one segment again), so they go back as they came. */
	if (got != count)
		rte_mempool_put_bulk(mp, (void **)&pkts[got], (unsigned int)(count - got));
	if (i != 0) {
		vq->pos.last_avail_idx = (uint16_t)(avail_idx + i);
		/* IN_ORDER: one entry, the last buffer, stands for all i (len 0). */
		if (in_order)
			put_used(&r, used_idx, last, 0);
		if (c->tx_hold != 0)
			hold_used(vq, c, &r, i);
		else
			publish_used(vq, c, &r, i, in_order ? 1 : i);
	}
	vq->stats.bytes += bytes;
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
		ch[nch].wlen = b->wlen - before > need ? (uint32_t)need
						       : (uint32_t)(b->wlen - before);
		nch++;
		if (unlikely(ret != VQ_OK)) {
			vq_drop(vq, VQ_REASON(ret));
			return -(int)nch - 1;
		}
		cap = b->wlen;
	}
	return nch;
}

/*
 * RX fast shape: one plain writable descriptor for the whole frame. The
 * header size is tested here so that each call below is compiled for a
 * known size (a fixed-size header write instead of a variable one).
 * @return the used length, or 0 when the general path must take the frame.
 */
static __rte_always_inline uint32_t
rx_one_simple(const struct virtq_conf *c, const struct split_ring *r, uint16_t head,
	      const struct rte_mbuf *m)
{
	struct vq_desc d;

	vq_desc_read(&d, &r->desc[head]);
	if (unlikely((d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)) !=
		     VRING_DESC_F_WRITE))
		return 0;
	if (likely(c->hdr_len == 12))
		return vq_rx_simple(c, d.addr, d.len, m);
	return vq_rx_simple(c, d.addr, d.len, m);
}

/* rx_general() outcomes. */
enum rx_step {
	RX_DONE,    /* delivered */
	RX_DROPPED, /* dropped, the buffers kept for the next frame */
	RX_RETRY,   /* bad chains returned unused: try the frame again */
	RX_NO_BUF,  /* not enough guest buffers (or the ring stopped) */
};

/* Frame @p m by the general path: chains from avail slot @p first on (@p
 * left available), used entries written from used slot @p slot on, their
 * count in *nused. Out of line: the burst loop keeps a small frame. */
static __rte_noinline enum rx_step
rx_general(struct virtq *vq, const struct virtq_conf *c, const struct split_ring *r,
	   const struct rte_mbuf *m, uint16_t first, uint16_t left, uint16_t slot, uint16_t *nused)
{
	struct vq_rxchain ch[VIRTQ_MAX_RX_CHAINS];
	bool mrg = (c->features & BIT(VIRTQ_F_MRG_RXBUF)) != 0;
	struct vq_buf b;
	int k;

	*nused = 0;
	if (unlikely(!vq_rx_offload_ok(c, m))) {
		vq_drop(vq, VIRTQ_DROP_OFFLOAD);
		return RX_DROPPED;
	}
	k = take_rx_chains(vq, c, r, first, left, (uint64_t)c->hdr_len + m->pkt_len, &b, ch, mrg);
	if (k == 0)
		return RX_NO_BUF;
	if (k == RX_FRAME_TOO_BIG) {
		vq_drop(vq, VIRTQ_DROP_TOO_BIG);
		return RX_DROPPED;
	}
	if (k < 0) {
		/* A bad chain: it and those before it go back unused. */
		for (int j = 0; j < -k - 1; j++)
			put_used(r, (uint16_t)(slot + j), ch[j].id, 0);
		*nused = (uint16_t)(-k - 1);
		return RX_RETRY;
	}
	vq_copy_from_mbuf(c, m, &b, ch, (uint16_t)k);
	for (int j = 0; j < k; j++)
		put_used(r, (uint16_t)(slot + j), ch[j].id, ch[j].written);
	*nused = (uint16_t)k;
	return RX_DONE;
}

uint16_t
vq_split_enqueue(struct virtq *vq, const struct virtq_conf *c, struct rte_mbuf *const *pkts,
		 uint16_t n)
{
	const uint16_t avail_idx = vq->pos.last_avail_idx, used_idx = vq->pos.last_used_idx;
	uint16_t heads[SPLIT_BATCH];
	uint16_t taken = 0, delivered = 0, i = 0, prefetched = 0;
	uint64_t bytes = 0;
	struct split_ring r;
	int avail;

	ring_of(c, &r);
	suppress_kicks(vq, c, &r);
	avail = avail_count(vq, c, &r);
	if (avail < 0)
		return 0;
	while (i < n) {
		uint16_t nb, j, used;
		enum rx_step step;

		/* Fast: frames that each fit the one descriptor of a buffer. */
		nb = (uint16_t)RTE_MIN((unsigned int)(n - i), SPLIT_BATCH);
		if (nb > avail - taken)
			nb = (uint16_t)(avail - taken);
		read_heads(&r, (uint16_t)(avail_idx + taken), heads, nb);
		/* After a frame of the general path the heads are read again
		 * from there: prefetch only those not prefetched yet. */
		if (taken + nb > prefetched) {
			uint16_t skip = prefetched > taken ? (uint16_t)(prefetched - taken) : 0;

			prefetch_bufs(c, &r, heads + skip, (uint16_t)(nb - skip),
				      VRING_DESC_F_WRITE);
			prefetched = (uint16_t)(taken + nb);
		}
		for (j = 0; j < nb; j++) {
			const struct rte_mbuf *m = pkts[i + j];
			uint16_t head = heads[j];
			uint32_t wrote;

			if (unlikely(head >= c->num))
				break; /* the general path stops the ring */
			wrote = rx_one_simple(c, &r, head, m);
			if (unlikely(wrote == 0))
				break;
			put_used(&r, (uint16_t)(used_idx + taken + j), head, wrote);
			bytes += m->pkt_len;
		}
		i = (uint16_t)(i + j);
		taken = (uint16_t)(taken + j);
		delivered = (uint16_t)(delivered + j);
		if (likely(j == nb) && nb != 0)
			continue;
		/* General: frame i needs a walk, several buffers, or finds none. */
		step = rx_general(vq, c, &r, pkts[i], (uint16_t)(avail_idx + taken),
				  (uint16_t)(avail - taken), (uint16_t)(used_idx + taken), &used);
		if (step == RX_NO_BUF)
			break; /* the rest of the burst waits */
		taken = (uint16_t)(taken + used);
		if (step == RX_RETRY)
			continue;
		if (step == RX_DONE) {
			delivered++;
			bytes += pkts[i]->pkt_len;
		}
		i++;
	}
	vq->stats.drops[VIRTQ_DROP_NO_GUEST_BUF] += (uint16_t)(n - i);
	if (taken != 0) {
		vq->pos.last_avail_idx = (uint16_t)(avail_idx + taken);
		publish_used(vq, c, &r, taken, taken);
	}
	vq->stats.bytes += bytes;
	vq->stats.packets += delivered;
	return delivered;
}
