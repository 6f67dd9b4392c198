/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest TX (virtq_dequeue_burst) on split and packed rings: descriptor
 * layouts, the net header, length checks, per-chain errors and disabled
 * rings (DP-4, DP-14, DP-15, VNET-2, VNET-3, VNET-5, RING-10).
 */
#include "dp_harness.h"

#include <cstring>
#include <utility>

using namespace dp;

namespace {

class Tx : public RingTest {};

TEST_P(Tx, DP4_VNET2_LayoutsForwardIdentically)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> p = pattern(200, 1);
	const std::vector<std::vector<uint32_t>> layouts = {
		{ 12, 200 },      /* header alone + data */
		{},               /* header and data in one descriptor */
		frags_of(212, 3), /* 3-byte fragments (71 descriptors) */
		{ 5, 7, 200 },    /* header split 5 + 7 (VNET-2) */
		frags_of(12, 1),  /* header 1 byte at a time, data last */
		{ 20, 100, 92 },  /* header + part of the data together */
	};

	for (size_t i = 0; i < layouts.size(); i++) {
		std::vector<uint32_t> f = layouts[i];

		if (i == 4)
			f.push_back(200);
		uint16_t id = post_tx(*r, p, f);
		auto out = be.tx();

		ASSERT_EQ(out.size(), 1u) << "layout " << i;
		EXPECT_EQ(out[0], p) << "layout " << i << ": frame differs (header not stripped?)";
		expect_returned(*r, { id });
	}
	EXPECT_EQ(be.drops_total(), 0u);
	EXPECT_EQ(be.vq.stats.packets, layouts.size());
	EXPECT_EQ(be.vq.stats.bytes, 200 * layouts.size());
}

TEST_P(Tx, DP4_WritableBeforeReadableRejected)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> bytes = net_hdr(12), p = pattern(100, 2);

	bytes.insert(bytes.end(), p.begin(), p.end());
	std::vector<Desc> chain = g.rx_buffers({ 64 });
	std::vector<Desc> data = g.tx_layout(bytes, {});
	chain.insert(chain.end(), data.begin(), data.end());
	uint16_t bad = r->post(chain);
	uint16_t good = post_tx(*r, p);

	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, { bad, good });
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_DESC), 1u);
	/* The writable buffer was not written either. */
	EXPECT_EQ(g.read(chain[0].addr, 64), std::vector<uint8_t>(64, 0xAA));
}

TEST_P(Tx, VNET3_OffloadHeaderWithoutFeatureDropped)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> p = pattern(100, 3);
	std::vector<uint16_t> ids;

	/* NEEDS_CSUM with csum_start/offset past the end of the frame. */
	std::vector<uint8_t> h1 = net_hdr(12, 1, 0);
	h1[6] = 0xf0; /* csum_start 0xf0 */
	h1[8] = 0x40; /* csum_offset 0x40 */
	h1.insert(h1.end(), p.begin(), p.end());
	ids.push_back(r->post(g.tx_layout(h1, {})));
	/* TCPv4 GSO (gso_type 1, gso_size 1448) without HOST_TSO4. */
	std::vector<uint8_t> h2 = net_hdr(12, 0, 1);
	h2[4] = 0xa8;
	h2[5] = 0x05;
	h2.insert(h2.end(), p.begin(), p.end());
	ids.push_back(r->post(g.tx_layout(h2, { 3, 9, 112 })));
	/* Fields a device must ignore: num_buffers, DATA_VALID (2) and an
	 * unknown flag bit, hdr_len, csum fields without NEEDS_CSUM. */
	std::vector<uint8_t> h3 = net_hdr(12, 0x02 | 0x80, 0);
	h3[2] = 0xff;
	h3[3] = 0xff;
	h3[6] = 0xff;
	h3[10] = 0x34;
	h3[11] = 0x12;
	h3.insert(h3.end(), p.begin(), p.end());
	ids.push_back(r->post(g.tx_layout(h3, {})));

	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_HDR), 2u);

	/* The same headers in the other layouts: header alone + data, and
	 * header and data in one descriptor. */
	ids = { r->post(g.tx_layout(h1, { 12, 100 })), r->post(g.tx_layout(h2, {})),
		r->post(g.tx_layout(h1, { 1, 11, 50, 50 })),
		r->post(g.tx_layout(h3, { 12, 100 })) };
	out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_HDR), 5u);
}

TEST_P(Tx, VNET5_LengthChecks)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint16_t> ids;

	/* An 11-byte chain (shorter than the header). */
	ids.push_back(r->post(g.tx_layout(pattern(11, 4), {})));
	/* A 70,000-byte chain. */
	ids.push_back(post_tx(*r, pattern(70000 - 12, 5), { 12, 40000, 29988 }));
	/* Header + 13 bytes: below the 14-byte Ethernet header. */
	ids.push_back(post_tx(*r, pattern(13, 6)));
	auto out = be.tx();
	EXPECT_TRUE(out.empty()) << "nothing may be forwarded";
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_SHORT_HDR), 1u);
	EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_BIG), 1u);
	EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_SHORT), 1u);

	/* The limits themselves pass: 14 bytes and max_frame bytes. */
	std::vector<uint8_t> small = pattern(14, 7), big = pattern(65535, 8);
	ids = { post_tx(*r, small), post_tx(*r, big, { 12, 30000, 35535 }) };
	out = be.tx();
	ASSERT_EQ(out.size(), 2u);
	EXPECT_EQ(out[0], small);
	EXPECT_EQ(out[1], big);
	expect_returned(*r, ids);

	/* A lower max_frame (MTU negotiated) is honoured: 1514 + 4 passes, 1519 not. */
	be.conf.max_frame = 1518;
	be.publish();
	std::vector<uint8_t> ok = pattern(1518, 9);
	ids = { post_tx(*r, pattern(1519, 10)), post_tx(*r, ok) };
	out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], ok);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_BIG), 2u);
}

TEST_P(Tx, DP14_ChainOver256DescriptorsDroppedNextForwarded)
{
	Guest g;
	auto r = make_ring(g, packed(), 512);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> p19 = pattern(1500, 11), next = pattern(60, 12);

	/* A Linux-like 19-descriptor chain is fine. */
	uint16_t a = post_tx(*r, p19, frags_of(1512, 80));
	/* 300 descriptors of 1 byte: over the 256-segment cap. */
	uint16_t b = post_tx(*r, pattern(288, 13), frags_of(300, 1));
	uint16_t c = post_tx(*r, next);
	auto out = be.tx();
	ASSERT_EQ(out.size(), 2u);
	EXPECT_EQ(out[0], p19);
	EXPECT_EQ(out[1], next);
	expect_returned(*r, { a, b, c });
	EXPECT_EQ(be.drop(VIRTQ_DROP_CHAIN_TOO_LONG), 1u);
	EXPECT_FALSE(be.vq.broken);
}

TEST_P(Tx, DP15_OneBadChainAmong100)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<std::vector<uint8_t>> sent;
	std::vector<uint16_t> ids;

	for (int i = 0; i < 100; i++) {
		std::vector<uint8_t> p = pattern(64 + i, 100 + i);

		if (i == 37) {
			/* Payload in the GPA hole between R1 and R2. */
			std::vector<Desc> d = g.tx_layout(net_hdr(12), {});
			Desc hole;
			hole.addr = 10 * MiB;
			hole.len = (uint32_t)p.size();
			d.push_back(hole);
			ids.push_back(r->post(d));
			continue;
		}
		ids.push_back(post_tx(
			*r, p, i % 2 ? std::vector<uint32_t>{ 12, 30 } : std::vector<uint32_t>{}));
		sent.push_back(p);
	}
	std::vector<std::vector<uint8_t>> got;
	for (int k = 0; k < 10 && got.size() < sent.size(); k++) {
		auto out = be.tx(32);
		got.insert(got.end(), out.begin(), out.end());
	}
	EXPECT_EQ(got, sent) << "99 frames forwarded in order";
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_ADDR), 1u);
	EXPECT_EQ(be.drops_total(), 1u);
	EXPECT_FALSE(be.vq.broken);
	EXPECT_EQ(be.errs(), 0u) << "a per-chain error does not signal the error fd";
}

TEST_P(Tx, RING10_DisabledRingConsumesTxWithoutForwarding)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint16_t> ids;

	be.conf.enabled = false;
	be.publish();
	for (int i = 0; i < 3; i++)
		ids.push_back(post_tx(*r, pattern(100, 20 + i)));
	auto out = be.tx();
	EXPECT_TRUE(out.empty());
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_DISABLED), 3u);
	EXPECT_EQ(be.vq.stats.packets, 0u);

	/* Enabled again: traffic flows. */
	be.conf.enabled = true;
	be.publish();
	std::vector<uint8_t> p = pattern(100, 30);
	ids = { post_tx(*r, p) };
	out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, ids);
}

TEST_P(Tx, RING10_DisabledRingLeavesRxBuffersAlone)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	std::vector<Desc> buf = g.rx_buffers({ 2048 });

	be.conf.enabled = false;
	be.publish();
	r->post(buf);
	EXPECT_EQ(be.rx({ pattern(100, 31) }), 0u);
	EXPECT_TRUE(r->drain_used().empty());
	EXPECT_EQ(g.read(buf[0].addr, 2048), std::vector<uint8_t>(2048, 0xAA));
	EXPECT_EQ(be.calls(), 0u);
}

TEST_P(Tx, NoMbufLeavesChainsForLater)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> p = pattern(3000, 40);
	std::vector<struct rte_mbuf *> hold;

	/* Empty the pool: nothing is consumed, the chain waits. */
	for (;;) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool());
		if (m == nullptr)
			break;
		hold.push_back(m);
	}
	uint16_t id = post_tx(*r, p);
	EXPECT_TRUE(be.tx().empty());
	EXPECT_TRUE(r->drain_used().empty()) << "a chain without an mbuf is not consumed";
	EXPECT_GE(be.drop(VIRTQ_DROP_NO_MBUF), 1u);
	for (auto *m : hold)
		rte_pktmbuf_free(m);
	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, { id });
}

INSTANTIATE_TEST_SUITE_P(Rings, Tx, ::testing::Bool(), ring_kind);

/* Split TX with IN_ORDER: what the guest finds in the used ring. */
class TxInOrder : public DpTest {
protected:
	static constexpr uint32_t UNTOUCHED = 0xEEEEEEEE;

	/*
	 * The opening bursts of both DP-9 tests: 8 buffers (every 5th frame a
	 * runt, dropped but returned) taken at once, then 5 taken as 3 (a burst
	 * cut short by n: its entry names the last buffer taken) and 2.
	 * @p post(k) posts k buffers, @p expect_burst(first, count, what)
	 * checks the entry of buffers [first, first + count).
	 */
	template <class Post, class Expect>
	static void first_bursts(Backend &be, const std::vector<std::vector<uint8_t>> &sent,
				 Post post, Expect expect_burst)
	{
		post(8);
		auto out = be.tx(32);
		ASSERT_EQ(out.size(), 7u);
		EXPECT_EQ(out, std::vector<std::vector<uint8_t>>(sent.begin(), sent.begin() + 7));
		EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_SHORT), 1u);
		expect_burst(0, 8, "burst of 8 with a runt");
		post(5);
		EXPECT_EQ(be.tx(3).size(), 2u); /* the second is a runt */
		expect_burst(8, 3, "3 of 5");
		EXPECT_EQ(be.tx(32).size(), 2u);
		expect_burst(11, 2, "the 2 left");
	}

	/* The end of both DP-9 tests: the driver got every buffer back once,
	 * in order, len 0, and @p frames frames went through a healthy ring. */
	static void expect_driver_view(const Backend &be, const std::vector<Used> &back,
				       const std::vector<uint16_t> &ids, size_t frames)
	{
		ASSERT_EQ(back.size(), ids.size());
		for (size_t i = 0; i < back.size(); i++) {
			EXPECT_EQ(back[i].id, ids[i]) << "buffer " << i;
			EXPECT_EQ(back[i].len, 0u);
		}
		EXPECT_EQ(be.vq.stats.packets, frames);
		EXPECT_FALSE(be.vq.broken);
	}

	/* The raw used entry at @p slot: id, len. */
	static std::pair<uint32_t, uint32_t> entry(Guest &g, SplitRing &r, uint16_t slot)
	{
		std::vector<uint8_t> b = g.read(r.used_gpa() + 4 + 8ULL * slot, 8);
		uint32_t v[2];

		memcpy(v, b.data(), 8);
		return { v[0], v[1] };
	}
};

/*
 * DP-9: a TX burst is returned with one used entry, at the slot where the
 * burst starts, naming the last buffer of the burst (len 0), with used->idx
 * advanced by the whole burst; the entries behind it are not written. A
 * dropped chain inside the burst is part of it. An IN_ORDER driver that
 * reads the ring that way gets every buffer back in order.
 */
TEST_F(TxInOrder, DP9_OneUsedEntryPerBurst)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_IN_ORDER));
	std::vector<uint16_t> ids;
	std::vector<std::vector<uint8_t>> sent;
	std::vector<Used> back; /* what the driver got back, in order */

	r.set_in_order(true);
	g.fill(r.used_gpa() + 4, 0xEE, 8 * 64);
	auto post = [&](int k) {
		for (int i = 0; i < k; i++) {
			size_t n = ids.size();
			/* Every 5th frame is a runt (dropped, still returned). */
			std::vector<uint8_t> p = pattern(n % 5 == 4 ? 10 : 60 + n, (uint32_t)n);
			ids.push_back(post_tx(r, p));
			if (n % 5 != 4)
				sent.push_back(p);
		}
	};
	auto expect_burst = [&](uint16_t first, uint16_t count, const char *what) {
		EXPECT_EQ(r.used_idx(), (uint16_t)(first + count)) << what;
		auto e = entry(g, r, first % 64);
		EXPECT_EQ(e.first, ids[first + count - 1u]) << what << ": the last buffer";
		EXPECT_EQ(e.second, 0u) << what;
		for (uint16_t k = 1; k < count; k++) {
			auto x = entry(g, r, (uint16_t)((first + k) % 64));
			EXPECT_EQ(x.first, UNTOUCHED) << what << ": slot " << (first + k) % 64;
			EXPECT_EQ(x.second, UNTOUCHED) << what << ": slot " << (first + k) % 64;
		}
		EXPECT_EQ(be.calls(), 1u) << what << ": one call per burst";
		auto u = r.drain_used();
		EXPECT_EQ(u.size(), count) << what;
		back.insert(back.end(), u.begin(), u.end());
	};

	first_bursts(be, sent, post, expect_burst);

	/* Bursts across the end of the ring (slot 63 to 0). */
	post(48);
	EXPECT_EQ(be.tx(32).size(), 25u);
	expect_burst(13, 32, "32");
	g.fill(r.used_gpa() + 4, 0xEE, 8 * 64);
	post(10);
	EXPECT_EQ(be.tx(32).size(), 21u);
	expect_burst(45, 26, "across the ring end");

	expect_driver_view(be, back, ids, sent.size());
}

/* Without IN_ORDER every buffer gets its own entry (DP-5). */
TEST_F(TxInOrder, DP5_WithoutInOrderOneEntryPerBuffer)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint16_t> ids;

	g.fill(r.used_gpa() + 4, 0xEE, 8 * 64);
	for (int i = 0; i < 6; i++)
		ids.push_back(post_tx(r, pattern(i == 2 ? 10 : 100, i)));
	EXPECT_EQ(be.tx(32).size(), 5u);
	EXPECT_EQ(r.used_idx(), 6u);
	for (uint16_t k = 0; k < 6; k++) {
		auto e = entry(g, r, k);
		EXPECT_EQ(e.first, ids[k]) << "slot " << k;
		EXPECT_EQ(e.second, 0u) << "slot " << k;
	}
}

/*
 * DP-9 with a hostile ring (SEC-3): an avail entry past the ring size in
 * the middle of a burst stops the ring there; the buffers before it are
 * returned as one entry naming the last good one, and nothing names the
 * bad entry.
 */
TEST_F(TxInOrder, DP9_SEC3_BadHeadMidBurst)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_IN_ORDER));
	std::vector<uint16_t> ids;

	g.fill(r.used_gpa() + 4, 0xEE, 8 * 64);
	for (int i = 0; i < 3; i++)
		ids.push_back(post_tx(r, pattern(80, i)));
	r.push_avail(64);
	post_tx(r, pattern(80, 9));
	EXPECT_EQ(be.tx(32).size(), 3u);
	EXPECT_TRUE(be.vq.broken);
	EXPECT_EQ(be.errs(), 1u);
	EXPECT_EQ(r.used_idx(), 3u);
	auto e = entry(g, r, 0);
	EXPECT_EQ(e.first, ids[2]);
	EXPECT_EQ(e.second, 0u);
	for (uint16_t k = 1; k < 5; k++)
		EXPECT_EQ(entry(g, r, k).first, UNTOUCHED) << "slot " << k;
	EXPECT_TRUE(be.tx(32).empty()) << "a stopped ring stays stopped";
}

/*
 * DP-9, packed ring: a TX burst comes back as one used descriptor at the
 * burst's first slot, naming its last buffer, len 0, no WRITE flag; the
 * slots behind it keep what the driver wrote, and the next burst's entry
 * sits right after the slots the burst covered (chains of several
 * descriptors and dropped chains included, across the end of a ring of odd
 * size). An IN_ORDER driver gets every buffer back once, in order.
 */
TEST_F(TxInOrder, DP9_PackedOneUsedDescriptorPerBurst)
{
	Guest g;
	PackedRing r(g, 50);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_IN_ORDER));
	std::vector<uint16_t> ids;
	std::vector<uint16_t> slots; /* ring slots each posted chain takes */
	std::vector<std::vector<uint8_t>> sent;
	std::vector<Used> back;
	uint64_t linear = 0; /* slots posted since the start */

	r.set_in_order(true);
	auto post = [&](int k) {
		size_t frames = sent.size();

		for (int i = 0; i < k; i++) {
			size_t n = ids.size();
			bool runt = n % 5 == 4;
			/* Every 3rd frame in two descriptors (header, data). */
			std::vector<uint32_t> frags;
			std::vector<uint8_t> p = pattern(runt ? 10 : 60 + n, (uint32_t)n);

			if (n % 3 == 2 && !runt)
				frags = { 12, (uint32_t)p.size() };
			ids.push_back(post_tx(r, p, frags));
			slots.push_back(frags.empty() ? 1 : 2);
			if (!runt)
				sent.push_back(p);
		}
		return sent.size() - frames;
	};
	/* Buffers [first, first + count) were taken as one burst. */
	auto expect_burst = [&](size_t first, size_t count, const char *what) {
		uint16_t slot = (uint16_t)(linear % 50), covered = 0;

		for (size_t k = first; k < first + count; k++)
			covered = (uint16_t)(covered + slots[k]);
		auto *d = r.desc(slot);
		bool wrap = (linear / 50) % 2 == 0;
		uint16_t used = wrap ? (P_AVAIL | P_USED) : 0;
		EXPECT_EQ(d->flags & (P_AVAIL | P_USED | F_WRITE), used) << what;
		EXPECT_EQ(d->id, ids[first + count - 1]) << what << ": names the last buffer";
		EXPECT_EQ(d->len, 0u) << what;
		for (uint16_t k = 1; k < covered; k++) {
			auto *x = r.desc((uint16_t)((slot + k) % 50));
			bool w = ((linear + k) / 50) % 2 == 0;
			EXPECT_EQ(x->flags & (P_AVAIL | P_USED), w ? P_AVAIL : P_USED)
				<< what << ": slot " << (slot + k) % 50 << " still as posted";
		}
		EXPECT_EQ(be.calls(), 1u) << what << ": one call per burst";
		auto u = r.drain_used();
		EXPECT_EQ(u.size(), count) << what;
		back.insert(back.end(), u.begin(), u.end());
		linear += covered;
		EXPECT_EQ(r.used_linear(), linear) << what;
	};

	first_bursts(be, sent, post, expect_burst);

	/* 17 slots used so far: 24 chains take 30 more slots, then 30 chains
	 * take 38, across the ring end into the second lap. */
	size_t frames = post(24);
	EXPECT_EQ(be.tx(32).size(), frames);
	expect_burst(13, 24, "24 chains");
	ASSERT_EQ(linear, 47u);
	frames = post(30);
	EXPECT_EQ(be.tx(32).size(), frames);
	expect_burst(37, 30, "across the ring end");
	ASSERT_EQ(linear, 85u);

	expect_driver_view(be, back, ids, sent.size());
}

/*
 * DP-9 with a hostile packed ring (SEC-3): a buffer id past the ring in the
 * middle of an IN_ORDER burst stops the ring there; the chains before it
 * come back as one used descriptor naming the last good one, and the bad
 * slot and those before it (but the first) stay as the driver wrote them.
 */
TEST_F(TxInOrder, DP9_SEC3_PackedBadIdMidBurst)
{
	Guest g;
	PackedRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_IN_ORDER));
	std::vector<uint16_t> ids;

	r.set_in_order(true);
	for (int i = 0; i < 3; i++)
		ids.push_back(post_tx(r, pattern(80, i)));
	std::vector<uint8_t> b = net_hdr(12), p = pattern(80, 9);
	b.insert(b.end(), p.begin(), p.end());
	Desc bad = g.tx_layout(b, {})[0];
	bad.id = 64;
	r.post_raw({ bad });
	post_tx(r, pattern(80, 10));
	EXPECT_EQ(be.tx(32).size(), 3u);
	EXPECT_TRUE(be.vq.broken);
	EXPECT_EQ(be.errs(), 1u);
	EXPECT_EQ(r.desc(0)->flags & (P_AVAIL | P_USED | F_WRITE), P_AVAIL | P_USED);
	EXPECT_EQ(r.desc(0)->id, ids[2]) << "names the last good chain";
	EXPECT_EQ(r.desc(0)->len, 0u);
	for (uint16_t k = 1; k < 5; k++)
		EXPECT_EQ(r.desc(k)->flags & (P_AVAIL | P_USED), P_AVAIL) << "slot " << k;
	auto u = r.drain_used();
	ASSERT_EQ(u.size(), 3u);
	for (size_t i = 0; i < 3; i++)
		EXPECT_EQ(u[i].id, ids[i]);
	EXPECT_TRUE(be.tx(32).empty()) << "a stopped ring stays stopped";
}

} // namespace
