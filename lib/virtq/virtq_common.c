/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parts shared by the split and packed datapaths: indirect tables, copies
 * between guest segments and mbufs, the dirty log, notifications.
 * The trust model is in virtq_priv.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_memcpy.h>

#include "virtq_priv.h"
#include "vus_log.h"

static const char *const drop_names[VIRTQ_DROP_MAX] = {
#define VIRTQ_DROP_NAME(e, name) [VIRTQ_DROP_##e] = name,
	VIRTQ_DROP_REASONS(VIRTQ_DROP_NAME)
#undef VIRTQ_DROP_NAME
};

const char *
virtq_drop_name(enum virtq_drop reason)
{
	return (unsigned int)reason < VIRTQ_DROP_MAX ? drop_names[reason] : "?";
}

#define RARP_PENDING (1ULL << 63)
#define RARP_FRAME_LEN 60

void
virtq_request_rarp(struct virtq *vq, const uint8_t mac[6])
{
	uint64_t v = RARP_PENDING;

	for (unsigned int i = 0; i < 6; i++)
		v |= (uint64_t)mac[i] << (8 * i);
	atomic_store_explicit(&vq->rarp, v, memory_order_release);
}

/* A broadcast RARP request from @p v's MAC (ethertype 0x8035, RFC 903). */
static struct rte_mbuf *
rarp_frame(struct rte_mempool *mp, uint64_t v)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *f, mac[6];

	if (m == NULL)
		return NULL;
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(v >> (8 * i));
	f = (uint8_t *)rte_pktmbuf_append(m, RARP_FRAME_LEN);
	if (f == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(f, 0, RARP_FRAME_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x80, f[13] = 0x35; /* RARP */
	f[14] = 0x00, f[15] = 0x01; /* hardware: Ethernet */
	f[16] = 0x08, f[17] = 0x00; /* protocol: IPv4 */
	f[18] = 6, f[19] = 4;       /* address lengths */
	f[20] = 0x00, f[21] = 0x03; /* reverse request */
	memcpy(f + 22, mac, 6);     /* sender hardware address */
	memcpy(f + 32, mac, 6);     /* target hardware address */
	return m;
}

uint16_t
virtq_dequeue_burst(struct virtq *vq, const struct virtq_conf *c, struct rte_mempool *mp,
		    struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t rarp = atomic_load_explicit(&vq->rarp, memory_order_relaxed);
	uint16_t k = 0;

	if (unlikely(c == NULL || vq->broken))
		return 0;
	if (unlikely(rarp != 0) && n != 0 && atomic_compare_exchange_strong(&vq->rarp, &rarp, 0)) {
		pkts[0] = rarp_frame(mp, rarp);
		k = pkts[0] != NULL;
	}
	return (uint16_t)(k + (c->packed
				       ? vq_packed_dequeue(vq, c, mp, pkts + k, (uint16_t)(n - k))
				       : vq_split_dequeue(vq, c, mp, pkts + k, (uint16_t)(n - k))));
}

uint16_t
virtq_enqueue_burst(struct virtq *vq, const struct virtq_conf *c, struct rte_mbuf *const *pkts,
		    uint16_t n)
{
	if (unlikely(c == NULL || vq->broken || !c->enabled)) {
		/* The caller frees the frames: count them, or they vanish. */
		if (c != NULL)
			vq->stats.drops[vq->broken ? VIRTQ_DROP_RING_BROKEN
						   : VIRTQ_DROP_DISABLED] += n;
		return 0;
	}
	return c->packed ? vq_packed_enqueue(vq, c, pkts, n) : vq_split_enqueue(vq, c, pkts, n);
}

void
virtq_release_held(struct virtq *vq, const struct virtq_conf *c)
{
	if (c == NULL || vq->hold.count == 0 || vq->broken) {
		memset(&vq->hold, 0, sizeof(vq->hold));
		return;
	}
	if (c->packed)
		vq_packed_release_held(vq, c);
	else
		vq_split_release_held(vq, c);
}

int
vq_walk_indirect(const struct virtq_conf *c, struct vq_buf *b, uint64_t addr, uint32_t len,
		 bool packed)
{
	uint64_t got = len;
	const uint8_t *table;
	uint32_t n = len / sizeof(struct vq_desc), i = 0, steps = 0;

	if (unlikely(len == 0 || len % sizeof(struct vq_desc) != 0))
		return VQ_ERR(VIRTQ_DROP_BAD_DESC);
	if (unlikely(n > VIRTQ_MAX_SEGS))
		return VQ_ERR(VIRTQ_DROP_CHAIN_TOO_LONG);
	table = guest_mem_gpa_to_hva(c->mem, addr, &got);
	if (unlikely(table == NULL || got != len))
		return VQ_ERR(VIRTQ_DROP_BAD_ADDR);
	for (;;) {
		struct vq_desc d;
		bool write;
		int ret;

		/* The guest picks the table's address, aligned or not: each
		 * entry is copied once by bytes; the barrier keeps the compiler
		 * from reading guest memory again instead of the copy. */
		if (packed) {
			/* Packed entries are laid out addr, len, id, flags. */
			struct vq_pdesc p;

			memcpy(&p, table + (size_t)i * sizeof(p), sizeof(p));
			rte_compiler_barrier();
			d.addr = p.addr;
			d.len = p.len;
			d.flags = p.flags;
			d.next = 0;
		} else {
			memcpy(&d, table + (size_t)i * sizeof(d), sizeof(d));
			rte_compiler_barrier();
		}
		if (unlikely(d.flags & VRING_DESC_F_INDIRECT))
			return VQ_ERR(VIRTQ_DROP_BAD_DESC);
		/* DPDK's virtio PMD presets every entry of its packed TX indirect
		 * tables with WRITE and never clears it on entry 0, the net header
		 * (DPDK's vhost ignores directions on TX). The device only reads a
		 * guest TX ring, so there a packed indirect entry's WRITE flag is
		 * ignored; RX stays strict (VNET-6). */
		write = (d.flags & VRING_DESC_F_WRITE) != 0 && !(packed && c->tx);
		ret = vq_buf_add(b, c->mem, d.addr, d.len, write);
		if (unlikely(ret != VQ_OK))
			return ret;
		if (++steps == n) {
			/* Every entry used once: a split entry asking for more
			 * closes a loop. */
			if (unlikely(!packed && (d.flags & VRING_DESC_F_NEXT)))
				return VQ_ERR(VIRTQ_DROP_BAD_DESC);
			return VQ_OK;
		}
		if (packed) {
			i++; /* packed tables are sequential; NEXT and ids are ignored */
			continue;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return VQ_OK;
		if (unlikely(d.next >= n))
			return VQ_ERR(VIRTQ_DROP_BAD_DESC);
		i = d.next;
	}
}

void
vq_log_write(const struct virtq_conf *c, uint64_t gpa, uint64_t len)
{
	uint64_t page, last;

	if (c->log_base == NULL || len == 0)
		return;
	page = gpa / 4096;
	last = (gpa + len - 1) / 4096;
	for (; page <= last; page++) {
		/* Bounded by the log size: guest addresses never write past it. */
		if (unlikely(page / 8 >= c->log_size))
			return;
		__atomic_fetch_or(&c->log_base[page / 8], (uint8_t)(1u << (page % 8)),
				  __ATOMIC_RELAXED);
	}
}

void
vq_call(struct virtq *vq, const struct virtq_conf *c)
{
	uint64_t one = 1;

	if (c->call_fd < 0)
		return;
	/* Non-blocking by construction (the control plane checks the fd);
	 * a full counter or pipe just loses a spurious notification. */
	if (write(c->call_fd, &one, sizeof(one)) == sizeof(one))
		vq->stats.calls++;
}

void
vq_break(struct virtq *vq, const struct virtq_conf *c, const char *what)
{
	static struct vus_ratelimit rl = VUS_RATELIMIT_INIT(1000, 5);
	uint64_t one = 1;

	vq->broken = true;
	vq_drop(vq, VIRTQ_DROP_RING_BROKEN);
	if (c->err_fd >= 0 && write(c->err_fd, &one, sizeof(one)) < 0) {
		/* nothing more to do: the ring is stopped either way */
	}
	if (vus_ratelimit_ok(&rl))
		VUS_DATA_LOG(WARNING, "ring of %u entries stopped: %s\n", c->num, what);
}

int
vq_copy_to_mbuf(const struct virtq_conf *c, const struct vq_buf *b, struct rte_mempool *mp,
		struct rte_mbuf *m, struct rte_mbuf **out)
{
	struct rte_mbuf *cur = m;
	uint32_t skip = c->hdr_len, room;
	uint8_t hdr[12];
	uint8_t *dst;

	m->pkt_len = 0;
	m->data_len = 0;
	dst = rte_pktmbuf_mtod(m, uint8_t *);
	room = rte_pktmbuf_tailroom(m);
	for (uint16_t i = 0; i < b->nread; i++) {
		const uint8_t *src = b->seg[i].host;
		uint32_t len = b->seg[i].len;

		if (skip != 0) {
			uint32_t s = len < skip ? len : skip;

			/* The header is copied once and checked from the copy. */
			memcpy(hdr + (c->hdr_len - skip), src, s);
			src += s;
			len -= s;
			skip -= s;
		}
		while (len != 0) {
			uint32_t k;

			if (room == 0) {
				struct rte_mbuf *next = rte_pktmbuf_alloc(mp);

				if (unlikely(next == NULL))
					return VQ_ERR(VIRTQ_DROP_NO_MBUF);
				cur->next = next;
				m->nb_segs++;
				cur = next;
				dst = rte_pktmbuf_mtod(cur, uint8_t *);
				room = rte_pktmbuf_tailroom(cur);
			}
			k = len < room ? len : room;
			vq_copy(dst, src, k);
			dst += k;
			src += k;
			len -= k;
			room -= k;
			cur->data_len += (uint16_t)k;
			m->pkt_len += k;
		}
	}
	*out = m;
	/* The header's offload fields are checked against the frame now that
	 * it is ours (VNET-3, SEC-7). */
	return vq_tx_hdr_apply(c, hdr, m);
}

void
vq_copy_from_mbuf(const struct virtq_conf *c, const struct rte_mbuf *m, const struct vq_buf *b,
		  struct vq_rxchain *ch, uint16_t nch)
{
	uint8_t hdr[12] = { 0 };
	const uint8_t *src = hdr;
	uint32_t src_left = c->hdr_len;
	const struct rte_mbuf *ms = NULL;
	uint16_t seg = 0, chain = 0;
	uint32_t seg_off = 0, chain_left = ch[0].wlen;

	/* The caller checked that the guest takes what @p m asks (vq_rx_hdr). */
	(void)vq_rx_hdr(c, m, hdr);
	/* num_buffers follows the 10-byte legacy header (VNET-1). */
	if (c->hdr_len == 12) {
		hdr[10] = (uint8_t)nch;
		hdr[11] = (uint8_t)(nch >> 8);
	}
	for (uint16_t i = 0; i < nch; i++)
		ch[i].written = 0;
	for (;;) {
		uint32_t k;

		if (src_left == 0) {
			ms = ms == NULL ? m : ms->next;
			if (ms == NULL)
				break;
			src = rte_pktmbuf_mtod(ms, const uint8_t *);
			src_left = ms->data_len;
			continue;
		}
		while (chain_left == 0 && chain + 1 < nch)
			chain_left = ch[++chain].wlen;
		if (unlikely(chain_left == 0))
			break; /* capacity was checked: not reached */
		if (seg_off == b->seg[seg].len) {
			if (seg + 1 == b->nseg)
				break; /* capacity was checked: not reached */
			seg++;
			seg_off = 0;
		}
		k = src_left;
		if (k > b->seg[seg].len - seg_off)
			k = b->seg[seg].len - seg_off;
		if (k > chain_left)
			k = chain_left;
		vq_copy(b->seg[seg].host + seg_off, src, k);
		vq_log_write(c, b->seg[seg].gpa + seg_off, k);
		seg_off += k;
		src += k;
		src_left -= k;
		chain_left -= k;
		ch[chain].written += k;
	}
}
