/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest RX (virtq_enqueue_burst) on split and packed rings: header sizes,
 * buffer direction, single and merged buffers, write discipline, packed
 * used-descriptor placement and buffers across regions (VNET-1, VNET-6,
 * VNET-7, VNET-8, SEC-6, DP-5, DP-12, MEM-4).
 */
#include "dp_harness.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace dp;

namespace {

class Rx : public RingTest {};

/* An RX chain as the test posted it. */
struct Chain {
	uint16_t id;
	std::vector<Desc> segs;
	uint64_t cap() const
	{
		uint64_t n = 0;
		for (auto &s : segs)
			n += s.len;
		return n;
	}
};

Chain
post_rx(Ring &r, const std::vector<uint32_t> &sizes, unsigned region = 0)
{
	Chain c;

	c.segs = r.guest().rx_buffers(sizes, 0xAA, region);
	c.id = r.post(c.segs);
	return c;
}

/* The first @p len bytes written into a chain. */
std::vector<uint8_t>
written(Guest &g, const Chain &c, uint64_t len)
{
	std::vector<uint8_t> v;

	for (auto &s : c.segs) {
		uint64_t k = std::min<uint64_t>(len - v.size(), s.len);
		auto part = g.read(s.addr, (size_t)k);

		v.insert(v.end(), part.begin(), part.end());
		if (v.size() == len)
			break;
	}
	EXPECT_EQ(v.size(), len) << "used len above the chain's capacity";
	return v;
}

/* Bytes of the chain after @p len are still the 0xAA fill. */
void
expect_untouched_after(Guest &g, const Chain &c, uint64_t len)
{
	uint64_t off = 0;

	for (auto &s : c.segs) {
		for (uint64_t i = 0; i < s.len; i++, off++) {
			if (off < len)
				continue;
			uint8_t b = g.read(s.addr + i, 1)[0];
			if (b != 0xAA) {
				ADD_FAILURE() << "byte " << off << " beyond used len " << len
					      << " was written (0x" << std::hex << (int)b << ")";
				return;
			}
		}
	}
}

std::vector<uint8_t>
with_hdr(const std::vector<uint8_t> &frame, unsigned hdr_len, uint16_t nbuf)
{
	std::vector<uint8_t> v(hdr_len, 0);

	if (hdr_len == 12) {
		v[10] = (uint8_t)nbuf;
		v[11] = (uint8_t)(nbuf >> 8);
	}
	v.insert(v.end(), frame.begin(), frame.end());
	return v;
}

TEST_P(Rx, VNET1_HeaderSizes)
{
	struct Case {
		uint64_t features;
		uint8_t hdr_len;
	};
	/* F = {VERSION_1}, {MRG_RXBUF}, {}: 12, 12, 10 (packed implies VERSION_1). */
	std::vector<Case> cases = { { bit(VIRTQ_F_VERSION_1), 12 },
				    { bit(VIRTQ_F_MRG_RXBUF), 12 } };

	if (!packed())
		cases.push_back({ 0, 10 });
	for (auto &cs : cases) {
		Guest g;
		auto r = make_ring(g, packed(), 64);
		Backend be(g, *r, false, cs.features, cs.hdr_len);
		std::vector<uint8_t> f = pattern(100, 1);
		Chain c = post_rx(*r, { 2048 });

		ASSERT_EQ(be.rx({ f }), 1u);
		auto u = r->drain_used();
		ASSERT_EQ(u.size(), 1u);
		EXPECT_EQ(u[0].id, c.id);
		EXPECT_EQ(u[0].len, cs.hdr_len + f.size()) << "header " << (int)cs.hdr_len;
		/* Header: all zero (no offloads), num_buffers 1 when present; the
		 * frame follows immediately. */
		EXPECT_EQ(written(g, c, u[0].len), with_hdr(f, cs.hdr_len, 1))
			<< "header " << (int)cs.hdr_len;
		expect_untouched_after(g, c, u[0].len);
	}
}

/*
 * VNET-1/VNET-7: a buffer that already holds the header a plain frame gets
 * (a recycled buffer: DPDK's virtio PMD leaves it so) is not written again:
 * the header line stays in the driver's cache. Shown by making the header's
 * page read-only in a child process: a write there would kill the child
 * with SIGSEGV. A header holding anything else is rewritten.
 */
TEST_P(Rx, VNET1_VNET7_HeaderInPlaceNotRewritten)
{
	std::vector<std::pair<uint64_t, uint8_t>> cases = { { bit(VIRTQ_F_VERSION_1), 12 } };

	if (!packed())
		cases.push_back({ 0, 10 });
	for (auto &cs : cases) {
		const uint8_t hl = cs.second;
		const uint64_t page = 5 *
				      MiB; /* the frame's page; the header ends right before it */
		std::vector<uint8_t> f = pattern(100, 7), want = with_hdr(f, hl, 1);

		for (bool in_place : { true, false }) {
			Guest g;
			auto r = make_ring(g, packed(), 64);
			Backend be(g, *r, false, cs.first, hl);
			Desc d;

			d.addr = page - hl;
			d.len = 2048;
			d.flags = F_WRITE;
			g.fill(d.addr, 0xAA, d.len);
			if (in_place)
				g.write(d.addr,
					std::vector<uint8_t>(want.begin(), want.begin() + hl));
			else
				g.fill(d.addr, 0x55, hl);
			r->post({ d });
			if (in_place) {
				uint8_t *hdr_page = g.host(page - 4096, 4096);

				/* Guest memory is shared with the child: what it
				 * delivers is checked here afterwards. */
				EXPECT_EXIT(
					{
						mprotect(hdr_page, 4096, PROT_READ);
						_exit(be.rx({ f }) == 1 ? 0 : 1);
					},
					::testing::ExitedWithCode(0), "")
					<< "header " << (int)hl << ": written although in place";
			} else {
				ASSERT_EQ(be.rx({ f }), 1u);
			}
			EXPECT_EQ(g.read(d.addr, want.size()), want)
				<< "header " << (int)hl << (in_place ? " in place" : " rewritten");
			EXPECT_EQ(r->drain_used().size(), 1u);
		}
	}
}

TEST_P(Rx, VNET6_ReadableDescriptorInRxChainRejected)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> f = pattern(300, 2);

	/* Readable 100 bytes + writable 2000 bytes. */
	Chain bad;
	bad.segs = g.rx_buffers({ 100, 2000 });
	bad.segs[0].flags = 0;
	bad.id = r->post(bad.segs);
	/* A readable-only chain too. */
	Chain bad2;
	bad2.segs = g.rx_buffers({ 2000 });
	bad2.segs[0].flags = 0;
	bad2.id = r->post(bad2.segs);
	Chain good = post_rx(*r, { 2048 });

	ASSERT_EQ(be.rx({ f }), 1u);
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 3u);
	EXPECT_EQ(u[0].id, bad.id);
	EXPECT_EQ(u[0].len, 0u);
	EXPECT_EQ(u[1].id, bad2.id);
	EXPECT_EQ(u[1].len, 0u);
	EXPECT_EQ(u[2].id, good.id);
	EXPECT_EQ(u[2].len, 12 + f.size());
	EXPECT_EQ(written(g, good, u[2].len), with_hdr(f, 12, 1));
	/* Nothing was written into the rejected chains. */
	expect_untouched_after(g, bad, 0);
	expect_untouched_after(g, bad2, 0);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_DESC), 2u);
}

TEST_P(Rx, VNET7_NoMergeOneBufferPerFrame)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	Chain c = post_rx(*r, { 1526 });
	std::vector<uint8_t> big = pattern(2000, 3), f = pattern(1000, 4);

	/* Too big for the buffer: dropped, never truncated; the buffer stays. */
	EXPECT_EQ(be.rx({ big }), 0u);
	EXPECT_TRUE(r->drain_used().empty());
	expect_untouched_after(g, c, 0);
	EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_BIG), 1u);

	/* A 1000-byte frame then uses that buffer: num_buffers 1, len 1012. */
	ASSERT_EQ(be.rx({ f }), 1u);
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].id, c.id);
	EXPECT_EQ(u[0].len, 1012u);
	auto w = written(g, c, 1012);
	EXPECT_EQ(num_buffers(w), 1u);
	EXPECT_EQ(w, with_hdr(f, 12, 1));
	expect_untouched_after(g, c, 1012);

	/* A multi-descriptor chain is still one buffer. */
	Chain c2 = post_rx(*r, { 500, 300, 1000 });
	std::vector<uint8_t> f2 = pattern(1700, 5);
	ASSERT_EQ(be.rx({ f2 }), 1u);
	u = r->drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].len, 1712u);
	EXPECT_EQ(written(g, c2, 1712), with_hdr(f2, 12, 1));
	expect_untouched_after(g, c2, 1712);
}

TEST_P(Rx, VNET8_MergedBuffers)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_MRG_RXBUF));
	std::vector<uint8_t> f = pattern(9000, 6);
	std::vector<Chain> ch;

	/* Only 3 buffers: none is consumed, the frame does not fit. */
	for (int i = 0; i < 3; i++)
		ch.push_back(post_rx(*r, { 1024 }));
	EXPECT_EQ(be.rx({ f }), 0u);
	EXPECT_TRUE(r->drain_used().empty()) << "a partial frame was published";
	for (auto &c : ch)
		expect_untouched_after(g, c, 0);
	EXPECT_EQ(be.drop(VIRTQ_DROP_NO_GUEST_BUF), 1u);

	for (int i = 0; i < 13; i++)
		ch.push_back(post_rx(*r, { 1024 }));

	/* A watcher plays the driver: whenever it sees the first buffer
	 * used, all nine must be visible. */
	std::atomic<bool> stop{ false };
	std::atomic<int> partial{ 0 };
	std::thread watch([&] {
		while (!stop.load()) {
			if (!packed()) {
				auto *sr = static_cast<SplitRing *>(r.get());
				uint16_t idx = sr->used_idx();
				if (idx != 0 && idx != 9)
					partial++;
			} else {
				auto *pr = static_cast<PackedRing *>(r.get());
				auto used = [&](uint16_t s) {
					uint16_t fl = __atomic_load_n(&pr->desc(s)->flags,
								      __ATOMIC_ACQUIRE);
					return (fl & P_AVAIL) && (fl & P_USED);
				};
				if (used(0))
					for (uint16_t s = 1; s < 9; s++)
						if (!used(s))
							partial++;
			}
		}
	});
	uint16_t got = be.rx({ f }, 1500);
	stop = true;
	watch.join();
	ASSERT_EQ(got, 1u);
	EXPECT_EQ(partial.load(), 0) << "the driver saw a partial publication";

	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 9u);
	std::vector<uint8_t> all;
	for (size_t i = 0; i < 9; i++) {
		EXPECT_EQ(u[i].id, ch[i].id);
		EXPECT_EQ(u[i].len, i < 8 ? 1024u : 9012u - 8 * 1024) << "buffer " << i;
		auto w = written(g, ch[i], u[i].len);
		all.insert(all.end(), w.begin(), w.end());
		expect_untouched_after(g, ch[i], u[i].len);
	}
	EXPECT_EQ(num_buffers(all), 9u);
	EXPECT_EQ(all, with_hdr(f, 12, 9)) << "header only in the first buffer, then the frame";
	/* The remaining 7 buffers are untouched and still available. */
	for (size_t i = 9; i < ch.size(); i++)
		expect_untouched_after(g, ch[i], 0);
	std::vector<uint8_t> f2 = pattern(60, 7);
	ASSERT_EQ(be.rx({ f2 }), 1u);
	u = r->drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].id, ch[9].id);
	EXPECT_EQ(written(g, ch[9], u[0].len), with_hdr(f2, 12, 1));
}

TEST_P(Rx, VNET8_MergedBuffersOfMixedSizesAndChains)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_MRG_RXBUF));
	/* Buffers: a 3-descriptor chain, a tiny one, a big one. */
	std::vector<Chain> ch = { post_rx(*r, { 100, 200, 300 }), post_rx(*r, { 20 }),
				  post_rx(*r, { 8000 }) };
	std::vector<uint8_t> f = pattern(3000, 8);

	ASSERT_EQ(be.rx({ f }, 700), 1u);
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 3u);
	EXPECT_EQ(u[0].len, 600u);
	EXPECT_EQ(u[1].len, 20u);
	EXPECT_EQ(u[2].len, 3012u - 620);
	std::vector<uint8_t> all;
	for (size_t i = 0; i < 3; i++) {
		auto w = written(g, ch[i], u[i].len);
		all.insert(all.end(), w.begin(), w.end());
		expect_untouched_after(g, ch[i], u[i].len);
	}
	EXPECT_EQ(all, with_hdr(f, 12, 3));
}

TEST_P(Rx, SEC6_WriteDiscipline)
{
	for (bool mrg : { false, true }) {
		Guest g;
		auto r = make_ring(g, packed(), 128);
		Backend be(g, *r, false,
			   bit(VIRTQ_F_VERSION_1) | (mrg ? bit(VIRTQ_F_MRG_RXBUF) : 0));
		std::vector<Chain> ch;
		std::vector<std::vector<uint8_t>> frames;

		for (int i = 0; i < 40; i++)
			ch.push_back(post_rx(*r, { 700, 1400 }));
		for (int i = 0; i < 20; i++)
			frames.push_back(pattern(mrg ? 14 + 211 * i : 14 + 101 * i, 50 + i));
		std::vector<uint8_t> before;
		if (packed())
			before = static_cast<PackedRing *>(r.get())->driver_event_bytes();
		else
			before = static_cast<SplitRing *>(r.get())->driver_area();

		/* Small mbuf segments: the mbuf tails must not leak either. */
		ASSERT_EQ(be.rx(frames, 333), frames.size());
		auto u = r->drain_used();
		size_t k = 0;
		for (auto &f : frames) {
			std::vector<uint8_t> all;
			uint16_t n = 0;
			do {
				ASSERT_LT(k, u.size());
				ASSERT_EQ(u[k].id, ch[k].id);
				auto w = written(g, ch[k], u[k].len);
				all.insert(all.end(), w.begin(), w.end());
				expect_untouched_after(g, ch[k], u[k].len);
				if (packed()) {
					EXPECT_TRUE(u[k].flags & F_WRITE);
				}
				if (n == 0)
					n = num_buffers(w);
				k++;
			} while (all.size() < f.size() + 12 && k < u.size());
			EXPECT_EQ(all, with_hdr(f, 12, n)) << "mrg " << mrg;
			if (!mrg) {
				EXPECT_EQ(n, 1u);
			}
		}
		EXPECT_EQ(k, u.size());
		for (; k < ch.size(); k++)
			expect_untouched_after(g, ch[k], 0);
		if (packed())
			EXPECT_EQ(static_cast<PackedRing *>(r.get())->driver_event_bytes(), before)
				<< "the driver event area was written";
		else
			EXPECT_EQ(static_cast<SplitRing *>(r.get())->driver_area(), before)
				<< "the descriptor table or avail ring was written";
	}
}

TEST_P(Rx, DP5_UsedIdAndLenPerBuffer)
{
	Guest g;
	auto r = make_ring(g, packed(), 16);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	std::vector<Chain> ch;

	/* Three rounds through a 16-entry ring, buffers of varying size. */
	for (int round = 0; round < 3; round++) {
		std::vector<std::vector<uint8_t>> frames;

		ch.clear();
		for (int i = 0; i < 16; i++) {
			ch.push_back(post_rx(*r, { (uint32_t)(200 + 50 * i) }));
			frames.push_back(pattern(100 + 40 * i, 1000 * round + i));
		}
		ASSERT_EQ(be.rx(frames), 16u);
		auto u = r->drain_used();
		ASSERT_EQ(u.size(), 16u);
		for (int i = 0; i < 16; i++) {
			EXPECT_EQ(u[i].id, ch[i].id);
			EXPECT_EQ(u[i].len, 12 + frames[i].size());
			EXPECT_EQ(written(g, ch[i], u[i].len), with_hdr(frames[i], 12, 1));
		}
		if (!packed()) {
			EXPECT_EQ(static_cast<SplitRing *>(r.get())->used_idx(), 16 * (round + 1));
		}
	}
	EXPECT_EQ(be.vq.stats.packets, 48u);
}

TEST_P(Rx, MEM4_BufferStraddlesContiguousRegions)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	uint64_t boundary = g.region_end(0);

	ASSERT_EQ(boundary, g.region_gpa(1));
	/* One RX descriptor across the R0/R1 boundary. */
	Chain c;
	Desc d;
	d.addr = boundary - 700;
	d.len = 2000;
	d.flags = F_WRITE;
	g.fill(d.addr, 0xAA, d.len);
	c.segs = { d };
	c.id = r->post(c.segs);
	std::vector<uint8_t> f = pattern(1500, 9);
	ASSERT_EQ(be.rx({ f }), 1u);
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].len, 1512u);
	EXPECT_EQ(written(g, c, 1512), with_hdr(f, 12, 1));
	expect_untouched_after(g, c, 1512);

	/* And a TX descriptor across it. */
	auto t = make_ring(g, packed(), 64);
	Backend tb(g, *t, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> p = pattern(3000, 10), bytes = net_hdr(12);
	bytes.insert(bytes.end(), p.begin(), p.end());
	Desc td;
	td.addr = boundary - 1000;
	td.len = (uint32_t)bytes.size();
	g.write(td.addr, bytes);
	t->post({ td });
	auto out = tb.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
}

/* DP-12: 3-descriptor RX chains in a 16-slot packed ring, across a wrap. */
TEST_F(DpTest, DP12_PackedUsedDescriptorPlacement)
{
	Guest g;
	PackedRing r(g, 16);
	Backend be(g, r, false, bit(VIRTQ_F_VERSION_1));
	struct Posted {
		uint16_t id, slot;
		bool wrap;
		Chain c;
	};
	std::vector<Posted> posted;
	auto post = [&](int n) {
		for (int i = 0; i < n; i++) {
			Posted p;
			p.slot = r.next_slot();
			p.wrap = r.avail_wrap();
			p.c.segs = g.rx_buffers({ 400, 400, 1200 });
			p.id = p.c.id = r.post(p.c.segs, 15 - (int)posted.size() % 16);
			posted.push_back(p);
		}
	};
	auto check = [&](size_t from, size_t n) {
		std::vector<std::vector<uint8_t>> frames;
		std::vector<uint8_t> table_before = g.read(r.desc_gpa(), 16 * 16);

		for (size_t i = 0; i < n; i++)
			frames.push_back(pattern(1500, (uint32_t)(from + i)));
		ASSERT_EQ(be.rx(frames), n);
		std::vector<uint8_t> table_after = g.read(r.desc_gpa(), 16 * 16);
		/* Only the first slot of each chain was written. */
		for (uint16_t s = 0; s < 16; s++) {
			bool first = false;
			for (size_t i = from; i < from + n; i++)
				first |= posted[i].slot == s;
			if (!first) {
				EXPECT_TRUE(std::equal(table_before.begin() + 16 * s,
						       table_before.begin() + 16 * s + 16,
						       table_after.begin() + 16 * s))
					<< "slot " << s
					<< " is not the first of a chain but was written";
			}
		}
		for (size_t i = from; i < from + n; i++) {
			const Posted &p = posted[i];
			auto *d = r.desc(p.slot);
			uint16_t want = (uint16_t)((p.wrap ? (P_AVAIL | P_USED) : 0) | F_WRITE);

			EXPECT_EQ(d->id, p.id) << "chain " << i;
			EXPECT_EQ(d->len, 1512u) << "chain " << i;
			EXPECT_EQ(d->flags, want) << "chain " << i << " slot " << p.slot;
			EXPECT_EQ(written(g, p.c, 1512), with_hdr(frames[i - from], 12, 1));
		}
		auto u = r.drain_used();
		ASSERT_EQ(u.size(), n);
		for (size_t i = 0; i < n; i++) {
			EXPECT_EQ(u[i].slot, posted[from + i].slot);
			EXPECT_EQ(u[i].id, posted[from + i].id);
		}
	};

	post(5); /* slots 0..14, wrap 1 */
	check(0, 5);
	post(3); /* slots 15,0,1 (wraps inside the chain), 2..4, 5..7 with wrap 0 */
	EXPECT_EQ(posted[5].slot, 15u);
	EXPECT_TRUE(posted[5].wrap);
	EXPECT_EQ(posted[6].slot, 2u);
	EXPECT_FALSE(posted[6].wrap);
	check(5, 3);
	EXPECT_EQ(be.vq.pos.last_used_idx, 8u);
	EXPECT_FALSE(be.vq.pos.used_wrap);
	EXPECT_EQ(be.vq.pos.last_avail_idx, 8u);
	EXPECT_FALSE(be.vq.pos.avail_wrap);
}

INSTANTIATE_TEST_SUITE_P(Rings, Rx, ::testing::Bool(), ring_kind);

} // namespace
