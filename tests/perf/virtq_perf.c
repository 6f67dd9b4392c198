/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datapath micro-benchmark: one thread plays both the guest driver and
 * the back-end over split or packed rings in memfd "guest" memory, so the
 * back-end's cost per packet can be counted repeatably (callgrind counts
 * instructions; rdtsc gives cycles on a quiet core). Not a test: it
 * asserts nothing about time; it only checks that packets went through.
 *
 *   virtq_perf [split|packed] [mrg|nomrg] [frame bytes] [iterations] [inorder]
 *
 * inorder negotiates IN_ORDER, as DPDK's virtio-user does by default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "guest_mem.h"
#include "virtq.h"

#define NUM 1024u
#define BURST 32u
#define RXBUF 2048u
#define MEM_SIZE (64u << 20)

/* Guest layout: rings at fixed offsets, buffers after them. */
#define TX_DESC 0x0000000u
#define TX_AVAIL 0x0010000u
#define TX_USED 0x0020000u
#define RX_DESC 0x0040000u
#define RX_AVAIL 0x0050000u
#define RX_USED 0x0060000u
#define TX_BUFS 0x0100000u
#define RX_BUFS 0x1000000u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t a, b; /* split: flags, next; packed: id, flags */
};

static uint8_t *g_mem;

static void
put16(uint32_t off, uint16_t v)
{
	memcpy(g_mem + off, &v, 2);
}

static uint16_t
get16(uint32_t off)
{
	uint16_t v;

	memcpy(&v, g_mem + off, 2);
	return v;
}

static void
conf_init(struct virtq_conf *c, const struct guest_mem_table *t, bool packed, bool mrg,
	  bool in_order, bool tx, uint32_t d, uint32_t a, uint32_t u)
{
	memset(c, 0, sizeof(*c));
	c->num = NUM;
	c->packed = packed;
	c->enabled = true;
	c->tx = tx;
	c->hdr_len = 12;
	c->features = (1ULL << VIRTQ_F_VERSION_1) | (mrg ? 1ULL << VIRTQ_F_MRG_RXBUF : 0) |
		      (packed ? 1ULL << VIRTQ_F_RING_PACKED : 0) |
		      (in_order ? 1ULL << VIRTQ_F_IN_ORDER : 0);
	c->ring.split.desc = g_mem + d;
	c->ring.split.avail = g_mem + a;
	c->ring.split.used = g_mem + u;
	c->call_fd = -1;
	c->err_fd = -1;
	c->mem = t;
	c->max_frame = 65535;
}

/* The guest posts one burst on both rings (split). */
static void
split_post(uint16_t *tx_avail, uint16_t *rx_avail)
{
	*tx_avail = (uint16_t)(*tx_avail + BURST);
	*rx_avail = (uint16_t)(*rx_avail + BURST);
	__atomic_store_n((uint16_t *)(g_mem + TX_AVAIL + 2), *tx_avail, __ATOMIC_RELEASE);
	__atomic_store_n((uint16_t *)(g_mem + RX_AVAIL + 2), *rx_avail, __ATOMIC_RELEASE);
}

static void
split_setup(uint32_t frame)
{
	for (uint32_t i = 0; i < NUM; i++) {
		struct desc *t = (struct desc *)(g_mem + TX_DESC) + i;
		struct desc *r = (struct desc *)(g_mem + RX_DESC) + i;

		t->addr = TX_BUFS + i * 2048ull;
		t->len = 12 + frame;
		t->a = 0;
		r->addr = RX_BUFS + i * (uint64_t)RXBUF;
		r->len = RXBUF;
		r->a = 2; /* WRITE */
		put16(TX_AVAIL + 4 + 2 * i, (uint16_t)i);
		put16(RX_AVAIL + 4 + 2 * i, (uint16_t)i);
		memset(g_mem + t->addr + 12, 0x5a, frame);
	}
	put16(TX_AVAIL, 1); /* NO_INTERRUPT */
	put16(RX_AVAIL, 1);
}

/* Packed: the guest makes NUM descriptors available per lap. */
static void
packed_post(uint32_t d, uint16_t *pos, bool *wrap, bool rx, uint32_t frame)
{
	for (uint32_t k = 0; k < BURST; k++) {
		struct desc *x = (struct desc *)(g_mem + d) + *pos;
		uint16_t f = (uint16_t)((*wrap ? 1u << 7 : 1u << 15) | (rx ? 2u : 0u));

		x->addr = (rx ? RX_BUFS + *pos * (uint64_t)RXBUF : TX_BUFS + *pos * 2048ull);
		x->len = rx ? RXBUF : 12 + frame;
		x->a = *pos;
		__atomic_store_n(&x->b, f, __ATOMIC_RELEASE);
		if (++*pos == NUM) {
			*pos = 0;
			*wrap = !*wrap;
		}
	}
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0],    "--no-huge",     "-m",       "64",
			"--no-pci", "--file-prefix", "vus-perf", "--log-level=*:error" };
	bool packed = argc > 1 && strcmp(argv[1], "packed") == 0;
	bool mrg = !(argc > 2 && strcmp(argv[2], "nomrg") == 0);
	uint32_t frame = argc > 3 ? (uint32_t)atoi(argv[3]) : 64;
	uint64_t iters = argc > 4 ? strtoull(argv[4], NULL, 10) : 200000;
	bool in_order = argc > 5 && strcmp(argv[5], "inorder") == 0;
	struct guest_mem_region reg;
	struct guest_mem_table *t;
	struct virtq_conf ctx, crx;
	struct virtq vtx, vrx;
	struct rte_mempool *mp;
	uint16_t tx_avail = 0, rx_avail = 0, tpos = 0, rpos = 0;
	bool twrap = true, rwrap = true;
	uint64_t moved = 0, start, cycles;
	int fd;

	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("perf", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	fd = memfd_create("guest", 0);
	if (mp == NULL || fd < 0 || ftruncate(fd, MEM_SIZE) != 0 ||
	    guest_mem_region_map(&reg, fd, 0, MEM_SIZE, 0x7f0000000000ull, 0, NULL, 0) != 0)
		return 1;
	t = guest_mem_table_build(&reg, 1, NULL, 0);
	g_mem = reg.host;
	memset(&vtx, 0, sizeof(vtx));
	memset(&vrx, 0, sizeof(vrx));
	conf_init(&ctx, t, packed, mrg, in_order, true, TX_DESC, TX_AVAIL, TX_USED);
	conf_init(&crx, t, packed, mrg, in_order, false, RX_DESC, RX_AVAIL, RX_USED);
	vtx.pos.avail_wrap = vtx.pos.used_wrap = true;
	vrx.pos.avail_wrap = vrx.pos.used_wrap = true;
	if (!packed)
		split_setup(frame);
	for (uint32_t i = 0; i < NUM; i++)
		memset(g_mem + TX_BUFS + i * 2048ull + 12, 0x5a, frame);
	start = rte_rdtsc();
	for (uint64_t it = 0; it < iters; it++) {
		struct rte_mbuf *pkts[BURST];
		uint16_t n;

		if (packed) {
			packed_post(TX_DESC, &tpos, &twrap, false, frame);
			packed_post(RX_DESC, &rpos, &rwrap, true, frame);
		} else {
			split_post(&tx_avail, &rx_avail);
		}
		n = virtq_dequeue_burst(&vtx, &ctx, mp, pkts, BURST);
		moved += virtq_enqueue_burst(&vrx, &crx, pkts, n);
		rte_pktmbuf_free_bulk(pkts, n);
	}
	cycles = rte_rdtsc() - start;
	printf("%s %s%s %uB: %" PRIu64 " packets, %.1f cycles/packet, drops rx %" PRIu64 "\n",
	       packed ? "packed" : "split", mrg ? "mrg" : "nomrg", in_order ? " inorder" : "",
	       frame, moved, moved ? (double)cycles / (double)moved : 0.0,
	       vrx.stats.drops[VIRTQ_DROP_NO_GUEST_BUF]);
	(void)get16;
	return moved == iters * BURST ? 0 : 2;
}
