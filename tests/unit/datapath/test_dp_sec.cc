/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile guest: bad addresses and lengths, out-of-range indices, huge
 * chains, descriptors rewritten while the back-end reads them, and one test
 * per DPDK vhost CVE bug class, each building the malicious ring and
 * checking the outcome (SEC-2, SEC-3, SEC-4, SEC-5, SEC-7, MEM-4).
 */
#include "dp_harness.h"

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>

using namespace dp;

namespace {

class Sec : public RingTest {};

std::vector<uint8_t>
hdr_plus(const std::vector<uint8_t> &p, unsigned hdr_len = 12)
{
	std::vector<uint8_t> b = net_hdr(hdr_len);

	b.insert(b.end(), p.begin(), p.end());
	return b;
}

Desc
wdesc(uint64_t addr, uint32_t len)
{
	Desc d;

	d.addr = addr;
	d.len = len;
	d.flags = F_WRITE;
	return d;
}

Desc
rdesc(uint64_t addr, uint32_t len)
{
	Desc d;

	d.addr = addr;
	d.len = len;
	return d;
}

/* ---- SEC-2 ---- */

TEST_P(Sec, SEC2_BadAddressesAndLengthsTx)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<Desc> h = g.tx_layout(net_hdr(12), {});
	uint64_t data = g.alloc(4096);
	std::vector<uint16_t> ids;

	/* addr + len wraps past 2^64. */
	ids.push_back(r->post({ h[0], rdesc(0xFFFFFFFFFFFFFF00ULL, 0x200) }));
	/* len 0xFFFFFFFF at a mapped address (runs off R1 into the hole). */
	ids.push_back(r->post({ h[0], rdesc(data, 0xFFFFFFFFu) }));
	/* A GPA in the hole between R1 and R2. */
	ids.push_back(r->post({ h[0], rdesc(9 * MiB, 100) }));
	/* A GPA above every region. */
	ids.push_back(r->post({ h[0], rdesc(1ULL << 60, 100) }));
	/* The header itself in the hole. */
	ids.push_back(r->post({ rdesc(12 * MiB, 112) }));
	std::vector<uint8_t> p = pattern(100, 1);
	ids.push_back(post_tx(*r, p));
	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_ADDR), 5u);
}

TEST_P(Sec, SEC2_BadAddressesAndLengthsRx)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_MRG_RXBUF));
	uint64_t data = g.alloc(8192, 4096, 1);
	std::vector<uint16_t> ids;

	g.fill(data, 0xAA, 8192);
	ids.push_back(r->post({ wdesc(0xFFFFFFFFFFFFFF00ULL, 0x200) }));
	ids.push_back(r->post({ wdesc(data, 0xFFFFFFFFu) }));
	ids.push_back(r->post({ wdesc(data, 100), wdesc(10 * MiB, 100) }));
	ids.push_back(r->post({ wdesc(1ULL << 60, 4096) }));
	auto good = g.rx_buffers({ 2048 });
	uint16_t gid = r->post(good);
	std::vector<uint8_t> f = pattern(200, 2);
	ASSERT_EQ(be.rx({ f }), 1u);
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 5u);
	for (size_t i = 0; i < 4; i++) {
		EXPECT_EQ(u[i].id, ids[i]);
		EXPECT_EQ(u[i].len, 0u);
	}
	EXPECT_EQ(u[4].id, gid);
	EXPECT_EQ(u[4].len, 212u);
	EXPECT_EQ(g.read(data, 8192), std::vector<uint8_t>(8192, 0xAA))
		<< "the mapped part of a rejected chain was written";
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_ADDR), 4u);
}

/*
 * Random chains checked against an oracle computed here: a chain is
 * forwarded iff every byte is mapped (R0 and R1 are contiguous), the
 * readable length is header + [14, 65535], and the header asks for no
 * offload; then the frame is exactly the bytes after the header.
 */
TEST_P(Sec, SEC2_SEC7_FuzzTxAgainstOracle)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::mt19937_64 rng(packed() ? 7 : 8);
	/* Data areas: the end of R0 running into R1, and the end of R2. */
	const uint64_t a0 = g.region_end(0) - 64 * 1024, a2 = g.region_end(2) - 64 * 1024;
	auto gpa = [&]() -> uint64_t {
		switch (rng() % 10) {
		case 0:
			return 9 * MiB + rng() % MiB; /* hole */
		case 1:
			return ~0ULL - rng() % 4096; /* wraps */
		case 2:
			return g.region_end(2) - rng() % 256; /* end of R2 */
		case 3:
			return a2 + rng() % (64 * 1024);
		default:
			return a0 + rng() % (128 * 1024); /* R0..R1 */
		}
	};
	auto len = [&]() -> uint32_t {
		switch (rng() % 12) {
		case 0:
			return 0;
		case 1:
			return 0xFFFFFFFFu;
		case 2:
			return (uint32_t)(rng() % 13);
		case 3:
			return (uint32_t)(rng() % 100000);
		default:
			return (uint32_t)(rng() % 3000);
		}
	};
	{
		std::vector<uint8_t> fillv = pattern(128 * 1024, 3);
		g.write(a0, fillv);
		g.write(a2, pattern(64 * 1024, 4));
	}
	/* A zero-length range touches nothing; R0 and R1 form [0, 8 MiB). */
	auto range_ok = [&](uint64_t a, uint32_t l) {
		if (l == 0)
			return true;
		if (a + l < a)
			return false;
		if (a < g.region_end(1))
			return a + l <= g.region_end(1);
		return g.mapped(a, l);
	};
	uint64_t forwarded = 0, dropped = 0;
	for (int it = 0; it < 1500; it++) {
		unsigned nd = 1 + (unsigned)(rng() % 6);
		std::vector<Desc> d;
		bool ok = true;
		uint64_t rlen = 0;
		std::vector<uint8_t> bytes;

		for (unsigned k = 0; k < nd; k++) {
			Desc x = rdesc(gpa(), len());
			/* Make a header the oracle accepts most of the time. */
			if (k == 0 && rng() % 4 != 0) {
				std::vector<uint8_t> h = net_hdr(
					12, (uint8_t)(rng() % 8 == 0 ? 1 : (rng() % 2) * 2),
					(uint8_t)(rng() % 8 == 0 ? 1 + rng() % 4 : 0));
				h[4] = (uint8_t)rng(); /* gso_size, hdr_len, csum: ignored */
				h[2] = (uint8_t)rng();
				h[6] = (uint8_t)rng();
				h[10] = (uint8_t)rng();
				x.addr = g.alloc(12, 4, 2);
				x.len = 12;
				g.write(x.addr, h);
			}
			if (!range_ok(x.addr, x.len))
				ok = false;
			else if (x.len != 0) {
				auto b = g.read(x.addr, x.len);
				bytes.insert(bytes.end(), b.begin(), b.end());
			}
			rlen += x.len;
			d.push_back(x);
		}
		if (ok && (rlen < 12 || rlen - 12 < 14 || rlen - 12 > 65535))
			ok = false;
		if (ok && ((bytes[0] & 1) || bytes[1] != 0))
			ok = false;
		uint16_t id = r->post(d);
		auto out = be.tx(1);
		auto u = r->drain_used();
		ASSERT_EQ(u.size(), 1u);
		EXPECT_EQ(u[0].id, id);
		EXPECT_EQ(u[0].len, 0u);
		if (ok) {
			ASSERT_EQ(out.size(), 1u) << "iteration " << it;
			EXPECT_TRUE(std::equal(out[0].begin(), out[0].end(), bytes.begin() + 12) &&
				    out[0].size() == bytes.size() - 12)
				<< "iteration " << it;
			forwarded++;
		} else {
			EXPECT_TRUE(out.empty()) << "iteration " << it;
			dropped++;
		}
	}
	EXPECT_EQ(be.vq.stats.packets, forwarded);
	EXPECT_EQ(be.drops_total(), dropped);
	EXPECT_GT(forwarded, 100u);
	EXPECT_GT(dropped, 100u);
}

/* ---- SEC-3 ---- */

TEST_F(DpTest, SEC3_PackedIdOutOfRangeStopsRing)
{
	for (uint16_t id : { (uint16_t)0xFFFF, (uint16_t)64 }) {
		for (bool tx : { true, false }) {
			Guest g;
			PackedRing r(g, 64);
			Backend be(g, r, tx, bit(VIRTQ_F_VERSION_1));
			Desc d = tx ? g.tx_layout(hdr_plus(pattern(60, 1)), {})[0]
				    : g.rx_buffers({ 2048 })[0];

			d.id = id;
			r.post_raw({ d });
			if (tx) {
				EXPECT_TRUE(be.tx().empty());
			} else {
				EXPECT_EQ(be.rx({ pattern(60, 2) }), 0u);
			}
			EXPECT_TRUE(be.vq.broken) << "id " << id;
			EXPECT_EQ(be.errs(), 1u);
			EXPECT_EQ(r.desc(0)->flags & (P_AVAIL | P_USED), P_AVAIL)
				<< "nothing written back";
			if (!tx) {
				EXPECT_EQ(g.read(d.addr, 2048), std::vector<uint8_t>(2048, 0xAA));
			}
		}
	}
}

TEST_F(DpTest, SEC3_PackedChainLongerThanRing)
{
	Guest g;
	PackedRing r(g, 16);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<Desc> d(16, g.tx_layout(hdr_plus(pattern(60, 1)), {})[0]);

	/* Every slot has NEXT: the chain never ends. */
	for (auto &x : d)
		x.flags = F_NEXT;
	r.post_raw(d);
	EXPECT_TRUE(be.tx().empty());
	EXPECT_TRUE(be.vq.broken);
	EXPECT_EQ(be.errs(), 1u);
}

/* ---- SEC-4 ---- */

TEST_P(Sec, SEC4_HugeChainsRejectedQuickly)
{
	/* A sparse 7 GiB region at 4 GiB: 0x80000000-byte descriptors map. */
	Guest g({ { 0, 4 * MiB }, { 4 * GiB, 7 * GiB } });
	auto r = make_ring(g, packed(), 64);
	auto rx = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	Backend rb(g, *rx, false, bit(VIRTQ_F_VERSION_1));
	std::vector<Desc> h = g.tx_layout(net_hdr(12), {});
	const uint64_t big = 4 * GiB;
	std::vector<uint16_t> ids;
	auto t0 = std::chrono::steady_clock::now();

	/* TX: 3 x 0x80000000 bytes = 6 GiB; would overflow a 32-bit total. */
	ids.push_back(
		r->post({ h[0], rdesc(big, 0x80000000u), rdesc(big + 0x80000000ULL, 0x80000000u),
			  rdesc(big + 0x100000000ULL, 0x80000000u) }));
	/* Two of them: 4 GiB exactly, 0 in 32 bits. */
	ids.push_back(
		r->post({ rdesc(big, 0x80000000u), rdesc(big + 0x80000000ULL, 0x80000000u) }));
	/* A 32,768-entry indirect table of 1-byte entries. */
	std::vector<Desc> e(32768, rdesc(h[0].addr, 1));
	Desc ind;
	ind.addr = g.indirect(e, packed());
	ind.len = 16u * 32768;
	ind.flags = F_INDIRECT;
	ids.push_back(r->post({ ind }));
	std::vector<uint8_t> p = pattern(100, 5);
	ids.push_back(post_tx(*r, p));
	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drops_total(), 3u);

	/* RX: a chain of 3 x 0x80000000 writable bytes is over 2^32 - 1 in
	 * total: rejected, nothing written. */
	std::vector<uint8_t> before = g.read(big, 4096);
	uint16_t bad = rx->post({ wdesc(big, 0x80000000u), wdesc(big + 0x80000000ULL, 0x80000000u),
				  wdesc(big + 0x100000000ULL, 0x80000000u) });
	auto good = g.rx_buffers({ 2048 });
	uint16_t gid = rx->post(good);
	ASSERT_EQ(rb.rx({ pattern(100, 6) }), 1u);
	auto u = rx->drain_used();
	ASSERT_EQ(u.size(), 2u);
	EXPECT_EQ(u[0].id, bad);
	EXPECT_EQ(u[0].len, 0u);
	EXPECT_EQ(u[1].id, gid);
	EXPECT_EQ(u[1].len, 112u);
	EXPECT_EQ(g.read(big, 4096), before);
	EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

/* ---- SEC-5: descriptors rewritten while the back-end reads them ---- */

TEST_P(Sec, SEC5_DescriptorFlipperTx)
{
	Guest g;
	const uint16_t num = 64;
	auto r = make_ring(g, packed(), num);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint64_t> buf(num);
	std::vector<std::vector<uint8_t>> payload(num);
	std::atomic<bool> stop{ false };

	/* Slot i always holds buffer i: the only valid (addr, len) pair. */
	for (uint16_t i = 0; i < num; i++) {
		payload[i] = pattern(100 + i, 1000 + i);
		buf[i] = g.alloc(2048);
		g.write(buf[i], hdr_plus(payload[i]));
	}
	std::thread flip([&] {
		std::mt19937 rng(5);
		while (!stop.load(std::memory_order_relaxed)) {
			uint16_t i = (uint16_t)(rng() % num);
			uint64_t addr;
			uint32_t len;

			switch (rng() % 3) {
			case 0:
				addr = 10 * MiB;
				break;
			default:
				addr = buf[i];
				break;
			}
			switch (rng() % 4) {
			case 0:
				len = 0xFFFFFFFFu;
				break;
			case 1:
				len = 20;
				break;
			default:
				len = 112 + i;
				break;
			}
			if (packed()) {
				auto *d = static_cast<PackedRing *>(r.get())->desc(i);
				__atomic_store_n(&d->addr, addr, __ATOMIC_RELAXED);
				__atomic_store_n(&d->len, len, __ATOMIC_RELAXED);
			} else {
				auto *d = static_cast<SplitRing *>(r.get())->desc(i);
				__atomic_store_n(&d->addr, addr, __ATOMIC_RELAXED);
				__atomic_store_n(&d->len, len, __ATOMIC_RELAXED);
			}
		}
	});
	uint64_t posted = 0, delivered = 0;
	uint16_t next_slot = 0;
	/* Enough chains to see both outcomes many times; the deadline only
	 * bounds a starved run (the flipper competes for the CPUs). */
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
	while ((posted < 10000 || delivered == 0 || be.drops_total() == 0) &&
	       std::chrono::steady_clock::now() < deadline) {
		/* Post up to 16 chains into their own slots, then process. */
		std::vector<uint16_t> slots;
		for (int k = 0; k < 16; k++) {
			uint16_t s = next_slot;
			if (packed()) {
				Desc d = rdesc(buf[s], 112 + s);
				d.id = s;
				static_cast<PackedRing *>(r.get())->post_raw({ d });
			} else {
				auto *sr = static_cast<SplitRing *>(r.get());
				*sr->desc(s) = { buf[s], 112u + s, 0, 0 };
				sr->push_avail(s);
			}
			slots.push_back(s);
			next_slot = (uint16_t)((next_slot + 1) % num);
			posted++;
		}
		auto out = be.tx(16);
		auto u = r->drain_used();
		ASSERT_EQ(u.size(), 16u);
		/* Only (buf[s], 112 + s) is valid: whatever got through is
		 * exactly the frame of its slot, in order. */
		size_t k = 0;
		for (auto &o : out) {
			while (k < slots.size() && o != payload[slots[k]])
				k++;
			ASSERT_LT(k, slots.size()) << "a delivered frame matches no posted chain";
			k++;
		}
		for (size_t j = 0; j < u.size(); j++) {
			EXPECT_EQ(u[j].id, slots[j]);
			/* Packed: the flipper may rewrite len after the device did. */
			if (!packed()) {
				EXPECT_EQ(u[j].len, 0u);
			}
		}
		delivered += out.size();
	}
	stop = true;
	flip.join();
	EXPECT_EQ(be.vq.stats.packets + be.drops_total(), posted);
	EXPECT_EQ(be.vq.stats.packets, delivered);
	EXPECT_FALSE(be.vq.broken);
	EXPECT_GE(posted, 10000u);
	EXPECT_GT(delivered, 0u);
	EXPECT_GT(be.drops_total(), 0u);
}

TEST_P(Sec, SEC5_DescriptorFlipperRx)
{
	Guest g;
	const uint16_t num = 64;
	auto r = make_ring(g, packed(), num);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	std::vector<uint64_t> buf(num);
	std::atomic<bool> stop{ false };
	const uint32_t guard = 256, cap = 2048;

	/* Each buffer sits between two guard zones the back-end must not touch. */
	uint64_t area = g.alloc(num * (cap + 2 * guard), 64, 1);
	g.fill(area, 0x55, num * (cap + 2 * guard));
	for (uint16_t i = 0; i < num; i++)
		buf[i] = area + i * (cap + 2 * guard) + guard;
	std::thread flip([&] {
		std::mt19937 rng(6);
		while (!stop.load(std::memory_order_relaxed)) {
			uint16_t i = (uint16_t)(rng() % num);
			uint64_t addr;
			uint32_t len;

			switch (rng() % 4) {
			case 0:
				addr = 10 * MiB;
				break;
			default:
				addr = buf[i];
				break;
			}
			switch (rng() % 4) {
			case 0:
				len = 0xFFFFFFFFu;
				break;
			case 1:
				len = 16;
				break;
			default:
				len = cap;
				break;
			}
			if (packed()) {
				auto *d = static_cast<PackedRing *>(r.get())->desc(i);
				__atomic_store_n(&d->addr, addr, __ATOMIC_RELAXED);
				__atomic_store_n(&d->len, len, __ATOMIC_RELAXED);
			} else {
				auto *d = static_cast<SplitRing *>(r.get())->desc(i);
				__atomic_store_n(&d->addr, addr, __ATOMIC_RELAXED);
				__atomic_store_n(&d->len, len, __ATOMIC_RELAXED);
			}
		}
	});
	uint64_t posted = 0, whole_seen = 0, none_seen = 0;
	uint16_t next_slot = 0;
	unsigned outstanding = 0;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
	std::set<std::vector<uint8_t>> frames;
	std::vector<std::vector<uint8_t>> burst;
	for (int i = 0; i < 8; i++) {
		burst.push_back(pattern(1000, 77 + i));
		std::vector<uint8_t> w = net_hdr(12);
		w[10] = 1;
		w.insert(w.end(), burst.back().begin(), burst.back().end());
		frames.insert(w);
	}
	while ((posted < 2000 || whole_seen == 0 || none_seen == 0) &&
	       std::chrono::steady_clock::now() < deadline) {
		while (outstanding < num) {
			uint16_t s = next_slot;
			g.fill(buf[s], 0xAA, cap);
			if (packed()) {
				Desc d = wdesc(buf[s], cap);
				d.id = s;
				static_cast<PackedRing *>(r.get())->post_raw({ d });
			} else {
				auto *sr = static_cast<SplitRing *>(r.get());
				*sr->desc(s) = { buf[s], cap, F_WRITE, 0 };
				sr->push_avail(s);
			}
			next_slot = (uint16_t)((next_slot + 1) % num);
			outstanding++;
			posted++;
		}
		be.rx(burst);
		auto used = r->drain_used();
		/* The head buffer may be flipped too small (kept, no MRG): let
		 * the flipper move on. */
		if (used.empty())
			std::this_thread::yield();
		for (auto &u : used) {
			/* Either one whole frame was written, or nothing. Packed:
			 * the flipper may rewrite len after the device did, so
			 * only split rings check len. */
			auto w = g.read(buf[u.id], 1012);
			bool whole = frames.count(w) == 1;
			outstanding--;
			whole_seen += whole;
			none_seen += !whole;
			ASSERT_TRUE(whole || w == std::vector<uint8_t>(1012, 0xAA))
				<< "buffer " << u.id << " holds a partial or foreign write";
			EXPECT_EQ(g.read(buf[u.id] + 1012, cap - 1012),
				  std::vector<uint8_t>(cap - 1012, 0xAA));
			if (!packed()) {
				EXPECT_EQ(u.len, whole ? 1012u : 0u);
			}
		}
		if (be.vq.broken)
			break;
	}
	stop = true;
	flip.join();
	/* Guard zones intact. */
	for (uint16_t i = 0; i < num; i++) {
		EXPECT_EQ(g.read(buf[i] - guard, guard), std::vector<uint8_t>(guard, 0x55));
		EXPECT_EQ(g.read(buf[i] + cap, guard), std::vector<uint8_t>(guard, 0x55));
	}
	EXPECT_FALSE(be.vq.broken);
	EXPECT_GE(posted, 2000u);
	EXPECT_GT(whole_seen, 0u);
	EXPECT_GT(none_seen, 0u);
}

/* ---- DPDK vhost CVE bug classes ---- */

/* CVE-2018-1059: a descriptor whose range is only partly mapped. */
TEST_P(Sec, CVE_2018_1059_PartialTranslation)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	auto rx = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	Backend rb(g, *rx, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	std::vector<Desc> h = g.tx_layout(net_hdr(12), {});
	uint64_t end2 = g.region_end(2), end1 = g.region_end(1);
	std::vector<uint16_t> ids;

	/* TX: the last 100 bytes of R2 plus 100 unmapped; R1 into the hole;
	 * an indirect table half mapped. */
	ids.push_back(r->post({ h[0], rdesc(end2 - 100, 200) }));
	ids.push_back(r->post({ h[0], rdesc(end1 - 50, 100) }));
	Desc ind;
	ind.addr = end2 - 16;
	ind.len = 32;
	ind.flags = F_INDIRECT;
	ids.push_back(r->post({ ind }));
	std::vector<uint8_t> p = pattern(80, 1);
	ids.push_back(post_tx(*r, p));
	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_ADDR), 3u);

	/* RX: the mapped part of a partly mapped buffer is never written. */
	g.fill(end2 - 100, 0xAA, 100);
	g.fill(end1 - 50, 0xAA, 50);
	uint16_t a = rx->post({ wdesc(end2 - 100, 200) });
	uint16_t b = rx->post({ wdesc(end1 - 50, 2000) });
	auto good = g.rx_buffers({ 2048 });
	uint16_t c = rx->post(good);
	ASSERT_EQ(rb.rx({ pattern(60, 2) }), 1u);
	auto u = rx->drain_used();
	ASSERT_EQ(u.size(), 3u);
	EXPECT_EQ(u[0].id, a);
	EXPECT_EQ(u[0].len, 0u);
	EXPECT_EQ(u[1].id, b);
	EXPECT_EQ(u[1].len, 0u);
	EXPECT_EQ(u[2].id, c);
	EXPECT_EQ(u[2].len, 72u);
	EXPECT_EQ(g.read(end2 - 100, 100), std::vector<uint8_t>(100, 0xAA));
	EXPECT_EQ(g.read(end1 - 50, 50), std::vector<uint8_t>(50, 0xAA));
}

/* CVE-2020-10723: index truncation. Split: free-running indices across
 * 65535 on the largest ring; packed: positions at the end of a 32768 ring. */
TEST_F(DpTest, CVE_2020_10723_SplitIndicesNear65535)
{
	Guest g;
	SplitRing r(g, 32768);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<std::vector<uint8_t>> sent;

	r.set_indices(65530, 65530);
	be.vq.pos.last_avail_idx = be.vq.pos.last_used_idx = 65530;
	for (int i = 0; i < 12; i++) {
		sent.push_back(pattern(60, i));
		post_tx(r, sent.back());
	}
	EXPECT_EQ(be.tx(), sent);
	EXPECT_EQ(r.used_idx(), 6u);
	auto u = r.drain_used();
	ASSERT_EQ(u.size(), 12u);
	for (int i = 0; i < 12; i++)
		EXPECT_EQ(u[i].slot, (uint16_t)(65530 + i) % 32768);
	EXPECT_FALSE(be.vq.broken);

	/* A full ring of 32768 entries at once is legal... */
	for (int i = 0; i < 32768; i++)
		post_tx(r, pattern(14, 9), {}, 12, 1);
	uint64_t n = 0;
	for (int i = 0; i < 2000 && n < 32768; i++)
		n += be.tx(32).size();
	EXPECT_EQ(n, 32768u);
	EXPECT_FALSE(be.vq.broken);
	/* ... one more is not. */
	r.drain_used();
	r.set_avail_idx((uint16_t)(r.avail_idx() + 32769));
	EXPECT_TRUE(be.tx().empty());
	EXPECT_TRUE(be.vq.broken);
}

TEST_F(DpTest, CVE_2020_10723_PackedPositionsAtRingEnd)
{
	Guest g;
	PackedRing r(g, 32768);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<std::vector<uint8_t>> sent;
	std::vector<uint16_t> ids;

	virtq_publish(&be.vq, nullptr);
	r.set_position(32760, false, &be.vq.pos);
	be.publish();
	/* 3-descriptor chains from slot 32760 (wrap 0) across the end. */
	for (int i = 0; i < 6; i++) {
		sent.push_back(pattern(100, i));
		ids.push_back(post_tx(r, sent.back(), { 12, 50, 50 }));
	}
	EXPECT_EQ(be.tx(), sent);
	auto u = r.drain_used();
	ASSERT_EQ(u.size(), 6u);
	for (int i = 0; i < 6; i++) {
		uint32_t lin = 32760 + 3 * i;
		EXPECT_EQ(u[i].slot, lin % 32768);
		EXPECT_EQ(u[i].id, ids[i]);
		/* Wrap 0 in the first lap here, 1 after it. */
		EXPECT_EQ(u[i].flags & (P_AVAIL | P_USED), lin < 32768 ? 0 : P_AVAIL | P_USED);
	}
	EXPECT_EQ(be.vq.pos.last_avail_idx, 10u);
	EXPECT_TRUE(be.vq.pos.avail_wrap);
	EXPECT_EQ(virtq_pos_encode(&be.vq.pos, true), 10u | 0x8000u | (10u << 16) | 0x80000000u);
}

TEST_F(DpTest, CVE_2020_10723_PackedOddSizeWraps)
{
	/* Sizes that are not powers of two: positions compare, never mask. */
	for (uint16_t num : { (uint16_t)3, (uint16_t)255, (uint16_t)257, (uint16_t)32767 }) {
		Guest g;
		PackedRing r(g, num);
		Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));

		virtq_publish(&be.vq, nullptr);
		r.set_position((uint16_t)(num - 1), true, &be.vq.pos);
		be.publish();
		for (int lap = 0; lap < 3 * num && lap < 600; lap++) {
			std::vector<uint8_t> p = pattern(60, lap);
			uint16_t id = post_tx(r, p);
			auto out = be.tx();
			ASSERT_EQ(out.size(), 1u) << "num " << num << " step " << lap;
			EXPECT_EQ(out[0], p);
			auto u = r.drain_used();
			ASSERT_EQ(u.size(), 1u);
			EXPECT_EQ(u[0].id, id);
		}
		EXPECT_FALSE(be.vq.broken);
	}
}

/* CVE-2020-10725: one unmapped descriptor inside a batch of 8. */
TEST_P(Sec, CVE_2020_10725_UnmappedDescriptorInBatch)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	auto rx = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	Backend rb(g, *rx, false, bit(VIRTQ_F_VERSION_1));
	std::vector<std::vector<uint8_t>> sent;
	std::vector<uint16_t> ids;

	for (int i = 0; i < 8; i++) {
		std::vector<uint8_t> p = pattern(64, i);
		if (i == 2) {
			ids.push_back(r->post({ rdesc(9 * MiB, 76) }));
			continue;
		}
		ids.push_back(post_tx(*r, p));
		sent.push_back(p);
	}
	EXPECT_EQ(be.tx(8), sent);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_ADDR), 1u);

	/* RX: chain 5 of 8 unmapped; 8 frames find 7 good buffers. */
	std::vector<std::vector<Desc>> bufs;
	ids.clear();
	for (int i = 0; i < 8; i++) {
		bufs.push_back(i == 5 ? std::vector<Desc>{ wdesc(10 * MiB, 2048) }
				      : g.rx_buffers({ 2048 }));
		ids.push_back(rx->post(bufs.back()));
	}
	std::vector<std::vector<uint8_t>> frames;
	for (int i = 0; i < 8; i++)
		frames.push_back(pattern(100, 10 + i));
	EXPECT_EQ(rb.rx(frames), 7u);
	auto u = rx->drain_used();
	ASSERT_EQ(u.size(), 8u);
	for (int i = 0, f = 0; i < 8; i++) {
		EXPECT_EQ(u[i].id, ids[i]);
		if (i == 5) {
			EXPECT_EQ(u[i].len, 0u);
			continue;
		}
		EXPECT_EQ(u[i].len, 112u);
		EXPECT_EQ(g.read(bufs[i][0].addr + 12, 100), frames[f]) << "buffer " << i;
		f++;
	}
	EXPECT_EQ(rb.drop(VIRTQ_DROP_BAD_ADDR), 1u);
	EXPECT_EQ(rb.drop(VIRTQ_DROP_NO_GUEST_BUF), 1u);
}

/* CVE-2022-2132: runt chains, and a header spread over many descriptors. */
TEST_P(Sec, CVE_2022_2132_RuntChainsAndSplitHeaders)
{
	for (unsigned hl : { 12u, 10u }) {
		if (packed() && hl == 10)
			continue;
		Guest g;
		auto r = make_ring(g, packed(), 256);
		Backend be(g, *r, true, hl == 12 ? bit(VIRTQ_F_VERSION_1) : 0, (uint8_t)hl);
		std::vector<uint8_t> p = pattern(60, hl);
		std::vector<std::vector<uint8_t>> want;
		std::vector<uint16_t> ids;

		/* Runts: 4 + 4 + 1 bytes; zero-length descriptors only; a header
		 * one byte short; exactly a header and nothing else. */
		ids.push_back(r->post(g.tx_layout(pattern(9, 1), { 4, 4, 1 })));
		ids.push_back(r->post(
			{ rdesc(g.alloc(8), 0), rdesc(g.alloc(8), 0), rdesc(g.alloc(8), 0) }));
		ids.push_back(r->post(g.tx_layout(net_hdr(hl - 1), {})));
		ids.push_back(r->post(g.tx_layout(net_hdr(hl), { 1, 1 })));
		/* Header over hl one-byte descriptors with zero-length ones between. */
		std::vector<Desc> d;
		auto hb = hdr_plus(p, hl);
		for (unsigned i = 0; i < hl; i++) {
			d.push_back(g.tx_layout({ hb[i] }, {})[0]);
			d.push_back(rdesc(g.alloc(1), 0));
		}
		auto rest = g.tx_layout(p, { 7, 53 });
		d.insert(d.end(), rest.begin(), rest.end());
		ids.push_back(r->post(d));
		want.push_back(p);
		/* Header split 3 + rest-of-header-and-some-data. */
		ids.push_back(r->post(g.tx_layout(hb, { 3, hl - 3 + 20 })));
		want.push_back(p);
		auto out = be.tx();
		EXPECT_EQ(out, want) << "hdr " << hl;
		expect_returned(*r, ids);
		EXPECT_EQ(be.drop(VIRTQ_DROP_SHORT_HDR), 3u) << "hdr " << hl;
		EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_SHORT), 1u) << "hdr " << hl;
	}
}

TEST_P(Sec, CVE_2022_2132_RxHeaderOverSeveralDescriptors)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	std::vector<Desc> b = g.rx_buffers({ 3, 3, 1, 5, 2000 });
	uint16_t id = r->post(b);
	std::vector<uint8_t> f = pattern(500, 3);

	ASSERT_EQ(be.rx({ f }), 1u);
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].id, id);
	EXPECT_EQ(u[0].len, 512u);
	std::vector<uint8_t> all;
	for (auto &x : b) {
		auto part = g.read(x.addr, x.len);
		all.insert(all.end(), part.begin(), part.end());
	}
	std::vector<uint8_t> want = net_hdr(12);
	want[10] = 1;
	want.insert(want.end(), f.begin(), f.end());
	EXPECT_TRUE(std::equal(want.begin(), want.end(), all.begin()));
	EXPECT_EQ(all[512], 0xAA);
}

/* CVE-2026-86566: RX descriptors shorter than the header; a copy length
 * computed as len - hdr_len would underflow. */
TEST_P(Sec, CVE_2026_86566_RxBuffersShorterThanHeader)
{
	/* Without MRG_RXBUF: the frame cannot fit, nothing is written. */
	{
		Guest g;
		auto r = make_ring(g, packed(), 64);
		Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
		uint64_t area = g.alloc(64);
		g.fill(area, 0x55, 64);
		Desc d = wdesc(area + 16, 4);
		g.fill(d.addr, 0xAA, 4);
		r->post({ d });
		EXPECT_EQ(be.rx({ pattern(60, 1) }), 0u);
		EXPECT_TRUE(r->drain_used().empty()) << "the buffer stays for a later frame";
		EXPECT_EQ(g.read(area + 16, 4), std::vector<uint8_t>(4, 0xAA));
		EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_BIG), 1u);
		/* A zero-length writable buffer is rejected and returned. */
		Guest g2;
		auto r2 = make_ring(g2, packed(), 64);
		Backend b2(g2, *r2, false, bit(VIRTQ_F_VERSION_1));
		uint16_t z = r2->post({ wdesc(g2.alloc(8), 0) });
		EXPECT_EQ(b2.rx({ pattern(60, 1) }), 0u);
		auto u = r2->drain_used();
		ASSERT_EQ(u.size(), 1u);
		EXPECT_EQ(u[0].id, z);
		EXPECT_EQ(u[0].len, 0u);
	}
	/* With MRG_RXBUF: 4-byte buffers; 72 bytes take 18 of them. */
	{
		Guest g;
		auto r = make_ring(g, packed(), 64);
		Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_MRG_RXBUF));
		uint64_t area = g.alloc(20 * 16);
		std::vector<uint16_t> ids;
		g.fill(area, 0x55, 20 * 16);
		for (int i = 0; i < 20; i++) {
			g.fill(area + 16 * i + 4, 0xAA, 4);
			ids.push_back(r->post({ wdesc(area + 16 * i + 4, 4) }));
		}
		std::vector<uint8_t> f = pattern(60, 2);
		ASSERT_EQ(be.rx({ f }), 1u);
		auto u = r->drain_used();
		ASSERT_EQ(u.size(), 18u);
		std::vector<uint8_t> all;
		for (int i = 0; i < 18; i++) {
			EXPECT_EQ(u[i].id, ids[i]);
			EXPECT_EQ(u[i].len, 4u);
			auto part = g.read(area + 16 * i + 4, 4);
			all.insert(all.end(), part.begin(), part.end());
		}
		std::vector<uint8_t> want = net_hdr(12);
		want[10] = 18;
		want.insert(want.end(), f.begin(), f.end());
		EXPECT_EQ(all, want);
		/* Guards around every buffer intact; the last 2 unused. */
		for (int i = 0; i < 20; i++) {
			EXPECT_EQ(g.read(area + 16 * i, 4), std::vector<uint8_t>(4, 0x55));
			EXPECT_EQ(g.read(area + 16 * i + 8, 8), std::vector<uint8_t>(8, 0x55));
		}
		EXPECT_EQ(g.read(area + 16 * 18 + 4, 4), std::vector<uint8_t>(4, 0xAA));
	}
}

/* CVE-2026-93683: the indirect descriptor's len (and the table's entries)
 * rewritten while the back-end walks. Every value the flipper writes but
 * the original makes the chain invalid, so whatever is delivered must be
 * the exact frame. */
TEST_P(Sec, CVE_2026_93683_IndirectLenRewrittenDuringWalk)
{
	Guest g;
	const uint16_t num = 32;
	auto r = make_ring(g, packed(), num);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	std::vector<uint64_t> table(num);
	std::vector<uint8_t> p = pattern(300, 4);
	std::vector<Desc> parts = g.tx_layout(hdr_plus(p), { 12, 300 });
	std::atomic<bool> stop{ false };

	for (uint16_t i = 0; i < num; i++)
		table[i] = g.indirect(parts, packed());
	std::thread flip([&] {
		std::mt19937 rng(9);
		const uint32_t bad_len[] = { 16, 24, 8, 0, 0xFFFFFFF0u, 16 * 300 };
		while (!stop.load(std::memory_order_relaxed)) {
			uint16_t i = (uint16_t)(rng() % num);
			uint32_t len = rng() % 2 ? 32 : bad_len[rng() % 6];
			uint32_t elen = rng() % 2 ? 300 : 0xFFFFFFF0u;

			if (packed())
				__atomic_store_n(&static_cast<PackedRing *>(r.get())->desc(i)->len,
						 len, __ATOMIC_RELAXED);
			else
				__atomic_store_n(&static_cast<SplitRing *>(r.get())->desc(i)->len,
						 len, __ATOMIC_RELAXED);
			/* The table's second entry len (offset 16 + 8). */
			__atomic_store_n(reinterpret_cast<uint32_t *>(g.host(table[i] + 24, 4)),
					 elen, __ATOMIC_RELAXED);
		}
	});
	uint64_t posted = 0, delivered = 0;
	uint16_t slot = 0;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
	while ((posted < 10000 || delivered == 0 || be.drops_total() == 0) &&
	       std::chrono::steady_clock::now() < deadline) {
		for (int k = 0; k < 8; k++) {
			/* Re-arm the table entry, then post slot -> table[slot]. */
			__atomic_store_n(reinterpret_cast<uint32_t *>(g.host(table[slot] + 24, 4)),
					 300u, __ATOMIC_RELAXED);
			if (packed()) {
				Desc d;
				d.addr = table[slot];
				d.len = 32;
				d.flags = F_INDIRECT;
				d.id = slot;
				static_cast<PackedRing *>(r.get())->post_raw({ d });
			} else {
				auto *sr = static_cast<SplitRing *>(r.get());
				*sr->desc(slot) = { table[slot], 32, F_INDIRECT, 0 };
				sr->push_avail(slot);
			}
			slot = (uint16_t)((slot + 1) % num);
			posted++;
		}
		auto out = be.tx(8);
		for (auto &o : out)
			ASSERT_EQ(o, p) << "a delivered frame differs from the guest's";
		delivered += out.size();
		auto u = r->drain_used();
		ASSERT_EQ(u.size(), 8u);
		/* Packed: the flipper rewrites len after the device did. */
		for (auto &x : u) {
			if (!packed()) {
				EXPECT_EQ(x.len, 0u);
			}
		}
	}
	stop = true;
	flip.join();
	EXPECT_EQ(be.vq.stats.packets, delivered);
	EXPECT_EQ(be.vq.stats.packets + be.drops_total(), posted);
	EXPECT_FALSE(be.vq.broken);
	EXPECT_GT(delivered, 0u);
	EXPECT_GT(be.drops_total(), 0u);
}

/* Guest-chosen alignment: an indirect table at an odd address is legal
 * memory and must be read without undefined behaviour (UBSan build). */
TEST_P(Sec, SEC2_MisalignedIndirectTable)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	std::vector<uint8_t> p = pattern(200, 5);
	std::vector<Desc> parts = g.tx_layout(hdr_plus(p), { 12, 200 });
	uint64_t t = g.alloc(64, 16) + 3;
	std::vector<uint8_t> raw(32, 0);

	for (int i = 0; i < 2; i++) {
		memcpy(&raw[16 * i], &parts[i].addr, 8);
		memcpy(&raw[16 * i + 8], &parts[i].len, 4);
		if (!packed() && i == 0) {
			uint16_t f = F_NEXT, n = 1;
			memcpy(&raw[12], &f, 2);
			memcpy(&raw[14], &n, 2);
		}
	}
	g.write(t, raw);
	Desc d;
	d.addr = t;
	d.len = 32;
	d.flags = F_INDIRECT;
	uint16_t id = r->post({ d });
	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, { id });
}

INSTANTIATE_TEST_SUITE_P(Rings, Sec, ::testing::Bool(), ring_kind);

} // namespace
