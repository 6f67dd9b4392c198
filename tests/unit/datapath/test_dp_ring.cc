/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring-level behaviour: avail index and chain checks, indirect tables,
 * packed wraps, notifications, resuming at a base (DP-1, DP-2, DP-3, DP-6,
 * DP-10, DP-11, DP-13, RING-13, RING-14).
 */
#include "dp_harness.h"

#include <chrono>
#include <random>

using namespace dp;

namespace {

class RingLevel : public RingTest {};

std::vector<uint8_t>
hdr_plus(const std::vector<uint8_t> &p)
{
	std::vector<uint8_t> b = net_hdr(12);

	b.insert(b.end(), p.begin(), p.end());
	return b;
}

/* ---- DP-1: avail index ---- */

TEST_F(DpTest, DP1_AvailIndexPastRingSizeStopsRing)
{
	Guest g;
	SplitRing r(g, 16), other(g, 16);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	Backend ok(g, other, true, bit(VIRTQ_F_VERSION_1));

	/* last_avail 0, avail->idx = N + 1: impossible. */
	for (int i = 0; i < 4; i++)
		post_tx(r, pattern(60, i));
	r.set_avail_idx(17);
	auto t0 = std::chrono::steady_clock::now();
	EXPECT_TRUE(be.tx().empty());
	EXPECT_TRUE(be.vq.broken);
	EXPECT_EQ(be.drop(VIRTQ_DROP_RING_BROKEN), 1u);
	EXPECT_EQ(be.errs(), 1u) << "the error fd is signalled";
	EXPECT_EQ(r.used_idx(), 0u) << "nothing processed";
	/* Stopped: later polls return at once, without a new signal. */
	for (int i = 0; i < 1000; i++)
		EXPECT_TRUE(be.tx().empty());
	EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
	EXPECT_EQ(be.errs(), 0u);
	EXPECT_EQ(be.drop(VIRTQ_DROP_RING_BROKEN), 1u);
	EXPECT_EQ(r.used_idx(), 0u);

	/* The other ring keeps working. */
	std::vector<uint8_t> p = pattern(60, 99);
	post_tx(other, p);
	auto out = ok.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
}

TEST_F(DpTest, DP1_ExactlyNAvailableIsFine)
{
	Guest g;
	SplitRing r(g, 16);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<std::vector<uint8_t>> sent;

	for (int i = 0; i < 16; i++) {
		sent.push_back(pattern(60, i));
		post_tx(r, sent.back());
	}
	EXPECT_EQ(be.tx(32), sent);
	EXPECT_FALSE(be.vq.broken);
	EXPECT_EQ(r.used_idx(), 16u);
}

/*
 * A burst whose avail entries run past the end of the avail ring reads the
 * rest from slot 0 (the datapath copies a burst's entries at once). The
 * ring starts filled with impossible heads, so an entry read from the wrong
 * slot stops the ring instead of passing unnoticed.
 */
TEST_F(DpTest, DP1_BurstAcrossAvailRingEnd)
{
	for (bool tx : { true, false }) {
		Guest g;
		SplitRing r(g, 64);
		Backend be(g, r, tx, bit(VIRTQ_F_VERSION_1));
		std::vector<std::vector<uint8_t>> frames;
		std::vector<uint16_t> ids;

		g.fill(r.avail_gpa() + 4, 0xEE, 2 * 64);
		r.set_indices(40, 40);
		be.vq.pos.last_avail_idx = be.vq.pos.last_used_idx = 40;
		for (int i = 0; i < 40; i++) {
			frames.push_back(pattern(60 + i, i));
			ids.push_back(tx ? post_tx(r, frames.back())
					 : r.post(g.rx_buffers({ 2048 })));
		}
		if (tx) {
			EXPECT_EQ(be.tx(40), frames);
		} else {
			EXPECT_EQ(be.rx(frames), 40u);
		}
		EXPECT_FALSE(be.vq.broken) << "tx " << tx;
		auto u = r.drain_used();
		ASSERT_EQ(u.size(), 40u);
		for (size_t i = 0; i < u.size(); i++) {
			EXPECT_EQ(u[i].id, ids[i]) << "tx " << tx << " buffer " << i;
			EXPECT_EQ(u[i].slot, (uint16_t)((40 + i) % 64));
			EXPECT_EQ(u[i].len, tx ? 0u : 12u + frames[i].size());
		}
	}
}

TEST_F(DpTest, DP1_AvailIndexPastRingSizeOnRx)
{
	Guest g;
	SplitRing r(g, 16);
	Backend be(g, r, false, bit(VIRTQ_F_VERSION_1));

	r.post(g.rx_buffers({ 2048 }));
	r.set_avail_idx((uint16_t)(r.avail_idx() + 40000));
	EXPECT_EQ(be.rx({ pattern(60, 1) }), 0u);
	EXPECT_TRUE(be.vq.broken);
	EXPECT_EQ(be.errs(), 1u);
	EXPECT_EQ(r.used_idx(), 0u);
}

/* ---- DP-2: chain walking ---- */

TEST_F(DpTest, DP2_LoopsAndBadNextRejected)
{
	Guest g;
	SplitRing r(g, 1024);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> hb = hdr_plus(pattern(60, 1));
	uint64_t buf = g.alloc(hb.size());
	std::vector<uint16_t> ids;

	g.write(buf, hb);
	/* Self-loop with a real buffer. */
	*r.desc(1000) = { buf, (uint32_t)hb.size(), F_NEXT, 1000 };
	r.push_avail(1000);
	ids.push_back(1000);
	/* Self-loop of zero-length descriptors (only the step bound stops it). */
	*r.desc(1001) = { buf, 0, F_NEXT, 1001 };
	r.push_avail(1001);
	ids.push_back(1001);
	/* A 2-cycle. */
	*r.desc(1002) = { buf, 0, F_NEXT, 1003 };
	*r.desc(1003) = { buf, 0, F_NEXT, 1002 };
	r.push_avail(1002);
	ids.push_back(1002);
	/* next = N. */
	*r.desc(1004) = { buf, (uint32_t)hb.size(), F_NEXT, 1024 };
	r.push_avail(1004);
	ids.push_back(1004);
	/* next = 0xFFFF. */
	*r.desc(1005) = { buf, (uint32_t)hb.size(), F_NEXT, 0xFFFF };
	r.push_avail(1005);
	ids.push_back(1005);
	/* Then a good chain. */
	std::vector<uint8_t> p = pattern(70, 2);
	ids.push_back(post_tx(r, p));

	auto t0 = std::chrono::steady_clock::now();
	auto out = be.tx();
	EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_DESC) + be.drop(VIRTQ_DROP_CHAIN_TOO_LONG), 5u);
	EXPECT_FALSE(be.vq.broken);
}

TEST_F(DpTest, DP2_SEC3_HeadOutOfRangeStopsRing)
{
	for (uint16_t head : { (uint16_t)64, (uint16_t)0xFFFF }) {
		Guest g;
		SplitRing r(g, 64);
		Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
		std::vector<uint8_t> p = pattern(60, 3);

		/* One good chain first: it is still completed. */
		uint16_t id = post_tx(r, p);
		r.push_avail(head);
		post_tx(r, pattern(60, 4));
		auto out = be.tx();
		ASSERT_EQ(out.size(), 1u) << "head " << head;
		EXPECT_EQ(out[0], p);
		expect_returned(r, { id });
		EXPECT_TRUE(be.vq.broken);
		EXPECT_EQ(be.errs(), 1u);
		EXPECT_TRUE(be.tx().empty());
	}
}

TEST_F(DpTest, DP2_SEC3_RxHeadOutOfRangeStopsRing)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, false, bit(VIRTQ_F_VERSION_1));

	r.push_avail(0xFFFF);
	EXPECT_EQ(be.rx({ pattern(60, 5) }), 0u);
	EXPECT_TRUE(be.vq.broken);
	EXPECT_EQ(be.errs(), 1u);
	EXPECT_EQ(r.used_idx(), 0u);
}

TEST_F(DpTest, DP2_RxLoopRejected)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, false, bit(VIRTQ_F_VERSION_1));
	uint64_t buf = g.alloc(2048);

	g.fill(buf, 0xAA, 2048);
	*r.desc(60) = { buf, 100, F_WRITE | F_NEXT, 61 };
	*r.desc(61) = { buf + 100, 100, F_WRITE | F_NEXT, 60 };
	r.push_avail(60);
	auto good = g.rx_buffers({ 2048 });
	uint16_t gid = r.post(good);
	std::vector<uint8_t> f = pattern(60, 6);
	ASSERT_EQ(be.rx({ f }), 1u);
	auto u = r.drain_used();
	ASSERT_EQ(u.size(), 2u);
	EXPECT_EQ(u[0].id, 60u);
	EXPECT_EQ(u[0].len, 0u);
	EXPECT_EQ(u[1].id, gid);
	EXPECT_EQ(u[1].len, 72u);
	EXPECT_EQ(g.read(buf, 2048), std::vector<uint8_t>(2048, 0xAA));
}

/* ---- DP-3 / DP-11: indirect descriptors ---- */

TEST_P(RingLevel, DP3_DP11_IndirectTables)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	std::vector<uint8_t> p = pattern(500, 7);
	std::vector<Desc> parts = g.tx_layout(hdr_plus(p), { 12, 200, 300 });
	std::vector<uint16_t> ids;
	std::vector<std::vector<uint8_t>> want;

	/* A good table; packed entries carry garbage ids and NEXT flags,
	 * which a device ignores (DP-11). */
	std::vector<Desc> e = parts;
	if (packed())
		for (auto &x : e) {
			x.id = 0xBEEF;
			x.flags = F_NEXT;
		}
	Desc ind;
	ind.addr = g.indirect(e, packed());
	ind.len = 16 * 3;
	ind.flags = F_INDIRECT;
	ids.push_back(r->post({ ind }));
	want.push_back(p);

	/* Length 24: not a multiple of 16. Length 8 (DP-11). */
	Desc l24 = ind;
	l24.len = 24;
	ids.push_back(r->post({ l24 }));
	Desc l8 = ind;
	l8.len = 8;
	ids.push_back(r->post({ l8 }));
	/* Length 0. */
	Desc l0 = ind;
	l0.len = 0;
	ids.push_back(r->post({ l0 }));

	/* A nested indirect: the table's second entry is itself INDIRECT. */
	Desc nest;
	nest.addr = g.indirect(parts, packed());
	nest.len = 48;
	nest.flags = F_INDIRECT;
	std::vector<Desc> outer = { parts[0], nest };
	Desc n1;
	n1.addr = g.indirect(outer, packed());
	n1.len = 32;
	n1.flags = F_INDIRECT;
	ids.push_back(r->post({ n1 }));

	/* A table of 65,536 entries (1 MiB), all valid 1-byte entries. */
	std::vector<Desc> huge(65536);
	for (auto &x : huge) {
		x.addr = parts[1].addr;
		x.len = 1;
	}
	Desc hd;
	hd.addr = g.indirect(huge, packed(), false, 1);
	hd.len = 16u * 65536;
	hd.flags = F_INDIRECT;
	ids.push_back(r->post({ hd }));

	/* A table in the GPA hole, and one running past the end of R2. */
	Desc hole = ind;
	hole.addr = 12 * MiB;
	ids.push_back(r->post({ hole }));
	Desc tail = ind;
	tail.addr = g.region_end(2) - 32;
	ids.push_back(r->post({ tail }));

	/* WRITE on the referring descriptor is ignored (DP-3). */
	Desc w = ind;
	w.flags = F_INDIRECT | F_WRITE;
	ids.push_back(r->post({ w }));
	want.push_back(p);

	std::vector<std::vector<uint8_t>> got;
	for (int i = 0; i < 3; i++) {
		auto out = be.tx();
		got.insert(got.end(), out.begin(), out.end());
	}
	EXPECT_EQ(got, want);
	expect_returned(*r, ids);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_DESC), 4u) << "24, 8, 0, nested";
	EXPECT_EQ(be.drop(VIRTQ_DROP_CHAIN_TOO_LONG), 1u) << "65,536 entries";
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_ADDR), 2u) << "hole, past the region";
	EXPECT_FALSE(be.vq.broken);
}

TEST_P(RingLevel, DP3_IndirectWithoutFeatureIsAnError)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> p = pattern(100, 8);
	Desc ind;

	ind.addr = g.indirect(g.tx_layout(hdr_plus(p), {}), packed());
	ind.len = 16;
	ind.flags = F_INDIRECT;
	uint16_t a = r->post({ ind });
	uint16_t b = post_tx(*r, p);
	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(*r, { a, b });
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_DESC), 1u);
}

TEST_F(DpTest, DP3_SplitIndirectRules)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	std::vector<uint8_t> p = pattern(400, 9);
	std::vector<Desc> parts = g.tx_layout(hdr_plus(p), { 6, 6, 100, 300 });
	std::vector<uint16_t> ids;
	std::vector<std::vector<uint8_t>> want;

	/* 2 direct descriptors + 1 indirect: must work. */
	Desc ind;
	ind.addr = g.indirect({ parts[2], parts[3] }, false);
	ind.len = 32;
	ind.flags = F_INDIRECT;
	ids.push_back(r.post({ parts[0], parts[1], ind }));
	want.push_back(p);

	/* INDIRECT together with NEXT. */
	uint16_t h = 50;
	*r.desc(h) = { ind.addr, 32, F_INDIRECT | F_NEXT, 51 };
	*r.desc(51) = { parts[0].addr, 12, 0, 0 };
	r.push_avail(h);
	ids.push_back(h);

	/* next inside the table points past it (relative, bounded). The
	 * memory right after the table holds a plausible entry with the rest
	 * of the frame: a walk that went there would deliver it. */
	std::vector<Desc> t = { parts[0], parts[1], parts[2], parts[3] };
	t[0].flags = F_NEXT;
	t[0].next = 1;
	t[1].flags = F_NEXT;
	t[1].next = 3; /* the table is 3 entries long; entry 3 lies beyond it */
	t[2] = t[3] = g.tx_layout(p, {})[0]; /* the whole payload, no NEXT */
	Desc bn;
	bn.addr = g.indirect(t, false, true);
	bn.len = 48;
	bn.flags = F_INDIRECT;
	ids.push_back(r.post({ bn }));

	/* Table entries chained out of order (next is table-relative):
	 * 0 -> 3 -> 2 -> 1. */
	Desc od;
	od.len = 64;
	od.flags = F_INDIRECT;
	std::vector<Desc> o2 = { parts[0], parts[3], parts[2], parts[1] };
	o2[0].flags = F_NEXT;
	o2[0].next = 3;
	o2[3].flags = F_NEXT;
	o2[3].next = 2;
	o2[2].flags = F_NEXT;
	o2[2].next = 1;
	od.addr = g.indirect(o2, false, true);
	ids.push_back(r.post({ od }));
	want.push_back(p);

	/* A loop inside the table: header -> payload -> header ... Each
	 * entry is visited once before the loop closes, so only the NEXT
	 * flag on the last step shows it. */
	std::vector<Desc> lp = { parts[0], parts[1] };
	lp[0].flags = F_NEXT;
	lp[0].next = 1;
	lp[1].flags = F_NEXT;
	lp[1].next = 0;
	lp[0].len = 12;
	lp[0].addr = g.tx_layout(net_hdr(12), {})[0].addr;
	lp[1].len = 100;
	lp[1].addr = parts[2].addr;
	Desc ld;
	ld.addr = g.indirect(lp, false, true);
	ld.len = 32;
	ld.flags = F_INDIRECT;
	ids.push_back(r.post({ ld }));

	auto out = be.tx();
	EXPECT_EQ(out, want);
	expect_returned(r, ids);
	EXPECT_EQ(be.drops_total(), 3u);
	EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_DESC), 3u) << "INDIRECT|NEXT, next past the table, loop";
}

TEST_P(RingLevel, DP11_IndirectRxBuffers)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false,
		   bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC) | bit(VIRTQ_F_MRG_RXBUF));
	std::vector<Desc> bufs = g.rx_buffers({ 300, 300, 1000 });
	Desc ind;

	ind.addr = g.indirect(bufs, packed());
	ind.len = 48;
	ind.flags = F_INDIRECT;
	uint16_t id = r->post({ ind });
	std::vector<uint8_t> f = pattern(1200, 10);
	ASSERT_EQ(be.rx({ f }), 1u);
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].id, id);
	EXPECT_EQ(u[0].len, 1212u);
	std::vector<uint8_t> all;
	for (auto &b : bufs) {
		auto part = g.read(b.addr, b.len);
		all.insert(all.end(), part.begin(), part.end());
	}
	std::vector<uint8_t> want = net_hdr(12);
	want[10] = 1;
	want.insert(want.end(), f.begin(), f.end());
	EXPECT_TRUE(std::equal(want.begin(), want.end(), all.begin()));
	EXPECT_EQ(all[1212], 0xAA);
	/* The indirect table itself was not written. */
	std::vector<uint8_t> tbl = g.read(ind.addr, 48);
	uint64_t a0;
	memcpy(&a0, tbl.data(), 8);
	EXPECT_EQ(a0, bufs[0].addr);
}

/* DPDK's virtio PMD leaves WRITE set on the entries of its packed TX
 * indirect tables; the device only reads a TX ring, so there the flag is
 * ignored. An RX table keeps its directions (VNET-6). */
TEST_F(DpTest, DP11_PackedTxIndirectWriteFlagIgnored)
{
	Guest g;
	PackedRing r(g, 64), rx(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	Backend rb(g, rx, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_INDIRECT_DESC));
	std::vector<uint8_t> p = pattern(300, 11);
	std::vector<Desc> parts = g.tx_layout(hdr_plus(p), { 12, 300 });

	for (auto &x : parts)
		x.flags = F_WRITE;
	Desc ind;
	ind.addr = g.indirect(parts, true);
	ind.len = 32;
	ind.flags = F_INDIRECT;
	uint16_t id = r.post({ ind });
	std::vector<uint8_t> tbl = g.read(ind.addr, 32), hdr = g.read(parts[0].addr, 12);
	auto out = be.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	expect_returned(r, { id });
	EXPECT_EQ(g.read(ind.addr, 32), tbl) << "the table was written";
	EXPECT_EQ(g.read(parts[0].addr, 12), hdr) << "a TX buffer was written";

	/* RX: a readable entry in the table still rejects the buffer. */
	std::vector<Desc> rb_parts = g.rx_buffers({ 100, 2000 });
	rb_parts[0].flags = 0;
	Desc rind;
	rind.addr = g.indirect(rb_parts, true);
	rind.len = 32;
	rind.flags = F_INDIRECT;
	uint16_t rid = rx.post({ rind });
	EXPECT_EQ(rb.rx({ pattern(60, 12) }), 0u);
	auto u = rx.drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].id, rid);
	EXPECT_EQ(u[0].len, 0u);
	EXPECT_EQ(rb.drop(VIRTQ_DROP_BAD_DESC), 1u);
}

/* ---- DP-10: packed ring of 300 through many wraps ---- */

TEST_F(DpTest, DP10_PackedRing300TenThousandFrames)
{
	Guest g;
	PackedRing tr(g, 300), rr(g, 300);
	Backend tx(g, tr, true, bit(VIRTQ_F_VERSION_1));
	Backend rx(g, rr, false, bit(VIRTQ_F_VERSION_1));
	std::mt19937 rng(10);
	const int frames = 10000;

	/* Buffers per id, reused. */
	std::vector<uint64_t> txbuf(300), rxbuf(300);
	for (int i = 0; i < 300; i++) {
		txbuf[i] = g.alloc(1600, 64, 1);
		rxbuf[i] = g.alloc(1600, 64, 1);
	}

	/* TX: chains of 1..3 descriptors so chain starts do not line up. */
	std::vector<std::vector<uint8_t>> pending;
	int posted = 0, done = 0;
	while (done < frames) {
		while (posted < frames) {
			unsigned nd = 1 + rng() % 3;
			if (!tr.room(nd))
				break;
			std::vector<uint8_t> p = pattern(60 + rng() % 1400, posted),
					     b = hdr_plus(p);
			/* Split the bytes into nd descriptors of one buffer. */
			uint16_t id = 0;
			std::vector<Desc> d(nd);
			size_t off = 0;
			for (unsigned k = 0; k < nd; k++) {
				size_t len = k + 1 < nd ? b.size() / nd : b.size() - off;
				d[k].len = (uint32_t)len;
				off += len;
			}
			/* Which id will the ring pick? Write after posting is too
			 * late; use an explicit id from our own counter. */
			id = (uint16_t)(posted % 300);
			off = 0;
			for (unsigned k = 0; k < nd; k++) {
				d[k].addr = txbuf[id] + off;
				off += d[k].len;
			}
			g.write(txbuf[id], b);
			tr.post(d, id);
			pending.push_back(p);
			posted++;
		}
		auto out = tx.tx((uint16_t)(1 + rng() % 32));
		for (auto &o : out) {
			ASSERT_EQ(o, pending[done]) << "frame " << done;
			done++;
		}
		for (auto &u : tr.drain_used())
			ASSERT_EQ(u.len, 0u);
	}
	EXPECT_EQ(tx.vq.stats.packets, (uint64_t)frames);
	EXPECT_EQ(tx.drops_total(), 0u);

	/* RX the same way. */
	std::vector<uint16_t> rx_ids;
	std::vector<std::vector<uint8_t>> sent;
	posted = 0;
	done = 0;
	int checked = 0;
	std::vector<std::pair<uint16_t, std::vector<uint8_t>>> inflight;
	while (checked < frames) {
		while (rr.room(2)) {
			uint16_t id = (uint16_t)(posted++ % 300);
			unsigned nd = 1 + rng() % 2;
			std::vector<Desc> d(nd);
			d[0].addr = rxbuf[id];
			d[0].len = nd == 1 ? 1600 : 700;
			d[0].flags = F_WRITE;
			if (nd == 2) {
				d[1].addr = rxbuf[id] + 700;
				d[1].len = 900;
				d[1].flags = F_WRITE;
			}
			rr.post(d, id);
			rx_ids.push_back(id);
		}
		std::vector<std::vector<uint8_t>> burst;
		unsigned n = 1 + rng() % 16;
		for (unsigned i = 0; i < n && done + (int)i < frames; i++)
			burst.push_back(pattern(60 + rng() % 1500, 50000 + done + i));
		uint16_t got = rx.rx(burst);
		ASSERT_EQ(got, burst.size());
		done += got;
		for (auto &u : rr.drain_used()) {
			ASSERT_LT((size_t)checked, rx_ids.size());
			EXPECT_EQ(u.id, rx_ids[checked]);
			const auto &f = burst[(size_t)(checked - (done - got))];
			ASSERT_EQ(u.len, 12 + f.size());
			auto w = g.read(rxbuf[u.id] + 12, f.size());
			ASSERT_EQ(w, f) << "frame " << checked;
			checked++;
		}
	}
	EXPECT_EQ(rx.vq.stats.packets, (uint64_t)frames);
	EXPECT_EQ(rx.drops_total(), 0u);
	/* Many wraps happened: 10,000 chains of 1..3 slots on 300 slots. */
	EXPECT_EQ(tr.device_event_flags(), EV_DISABLE) << "kicks are suppressed";
}

/* ---- DP-7: split kick suppression ---- */

namespace {
uint16_t
used_flags(Guest &g, SplitRing &r)
{
	auto b = g.read(r.used_gpa(), 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

uint16_t
avail_event(Guest &g, SplitRing &r)
{
	auto b = g.read(r.used_gpa() + 4 + 8ULL * r.num(), 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

/* The driver's test before it kicks (virtio 1.2 §2.7.10). */
bool
driver_kicks(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}
} // namespace

TEST_F(DpTest, DP7_SplitNoNotifyWithoutEventIdx)
{
	for (bool tx : { true, false }) {
		Guest g;
		SplitRing r(g, 64);
		Backend be(g, r, tx, bit(VIRTQ_F_VERSION_1));

		EXPECT_EQ(used_flags(g, r), 0u);
		if (tx)
			EXPECT_TRUE(be.tx().empty());
		else
			EXPECT_EQ(be.rx({ pattern(60, 1) }), 0u);
		EXPECT_EQ(used_flags(g, r), 1u)
			<< (tx ? "TX" : "RX") << ": an idle poll already asks for no kick";
		/* A driver that rewrites its ring gets the flag back on the next poll. */
		uint16_t zero = 0;
		g.write(r.used_gpa(), &zero, 2);
		if (tx) {
			post_tx(r, pattern(60, 2));
			EXPECT_EQ(be.tx().size(), 1u);
		} else {
			r.post(g.rx_buffers({ 2048 }));
			EXPECT_EQ(be.rx({ pattern(60, 3) }), 1u);
		}
		EXPECT_EQ(used_flags(g, r), 1u);
	}
}

TEST_F(DpTest, DP7_SplitAvailEventKeepsThePollingBackEndKickFree)
{
	for (bool tx : { true, false }) {
		Guest g;
		SplitRing r(g, 256, true);
		Backend be(g, r, tx, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_EVENT_IDX));
		std::mt19937 rng(7);
		unsigned kicks = 0, event_writes = 0;
		/* One buffer posted again and again: guest memory is allocated once. */
		std::vector<uint8_t> frame = net_hdr(12);
		auto payload = pattern(60, 5);
		frame.insert(frame.end(), payload.begin(), payload.end());
		const std::vector<Desc> buf = tx ? g.tx_layout(frame, {}) : g.rx_buffers({ 2048 });
		uint16_t ev = avail_event(g, r);

		/* The first poll starts the ring (that is what the first kick is for). */
		if (tx)
			EXPECT_TRUE(be.tx().empty());
		else
			EXPECT_EQ(be.rx({ pattern(60, 1) }), 0u);
		for (unsigned done = 0; done < 200000;) {
			unsigned n = 1 + rng() % 32;
			uint16_t old = r.avail_idx();

			for (unsigned i = 0; i < n; i++)
				r.post(buf);
			/* The driver reads avail_event after publishing (it is fenced). */
			uint16_t now = avail_event(g, r);
			kicks += driver_kicks(now, r.avail_idx(), old);
			event_writes += now != ev;
			ev = now;
			if (tx) {
				ASSERT_EQ(be.tx(32).size(), n);
			} else {
				std::vector<std::vector<uint8_t>> f(n, pattern(60, 9));
				ASSERT_EQ(be.rx(f), n);
			}
			r.drain_used();
			done += n;
		}
		EXPECT_EQ(kicks, 0u) << (tx ? "TX" : "RX") << ": a polled ring never needs a kick";
		EXPECT_EQ(used_flags(g, r), 0u) << "with EVENT_IDX the flags must stay 0";
		EXPECT_LE(event_writes, 200000u / 16384u + 2u)
			<< "avail_event is rewritten rarely, not per burst";
		EXPECT_GE(event_writes, 200000u / 16384u - 1u) << "and kept moving with the ring";
	}
}

/* ---- DP-6: split call decisions ---- */

TEST_F(DpTest, DP6_SplitNoInterruptFlag)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));

	/* flags = 0: one call per batch. */
	for (int b = 0; b < 3; b++) {
		for (int i = 0; i < 5; i++)
			post_tx(r, pattern(60, i));
		EXPECT_EQ(be.tx().size(), 5u);
		EXPECT_EQ(be.calls(), 1u) << "batch " << b;
		r.drain_used();
	}
	/* An empty poll: no call. */
	EXPECT_TRUE(be.tx().empty());
	EXPECT_EQ(be.calls(), 0u);
	/* NO_INTERRUPT: none. */
	r.set_no_interrupt(true);
	for (int i = 0; i < 5; i++)
		post_tx(r, pattern(60, i));
	EXPECT_EQ(be.tx().size(), 5u);
	EXPECT_EQ(be.calls(), 0u);
	EXPECT_EQ(be.vq.stats.calls, 3u);
}

TEST_F(DpTest, DP6_SplitUsedEvent)
{
	for (bool one_by_one : { true, false }) {
		Guest g;
		SplitRing r(g, 64, true);
		Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_EVENT_IDX));

		r.set_used_event(5);
		r.set_no_interrupt(true); /* ignored with EVENT_IDX */
		for (int i = 0; i < 10; i++)
			post_tx(r, pattern(60, i));
		uint64_t calls = 0;
		int when = -1;
		for (int i = 0; i < 10; i++) {
			EXPECT_EQ(be.tx(one_by_one ? 1 : 32).size(), one_by_one ? 1u : 10u);
			uint64_t c = be.calls();
			if (c != 0 && when < 0)
				when = i;
			calls += c;
			if (!one_by_one)
				break;
		}
		EXPECT_EQ(r.used_idx(), 10u);
		EXPECT_EQ(calls, 1u) << "exactly one call after used 0..9";
		if (one_by_one) {
			EXPECT_EQ(when, 5) << "the call comes when entry 5 is used";
		}
	}
}

TEST_F(DpTest, DP6_SplitUsedEventAcrossIndexWrap)
{
	Guest g;
	SplitRing r(g, 64, true);
	Backend be(g, r, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_EVENT_IDX));

	/* Indices near 65535: the comparison is modulo 2^16. */
	r.set_indices(65530, 65530);
	be.vq.pos.last_avail_idx = be.vq.pos.last_used_idx = 65530;
	r.set_used_event(2); /* wants a call when entry 2 (after the wrap) is used */
	for (int i = 0; i < 12; i++)
		r.post(g.rx_buffers({ 2048 }));
	uint64_t calls = 0;
	for (int i = 0; i < 12; i++) {
		ASSERT_EQ(be.rx({ pattern(60, i) }), 1u);
		uint64_t c = be.calls();
		EXPECT_EQ(c, i == 8 ? 1u : 0u) << "entry " << (uint16_t)(65530 + i);
		calls += c;
	}
	EXPECT_EQ(calls, 1u);
	EXPECT_EQ(r.used_idx(), (uint16_t)(65530 + 12));
}

/* ---- DP-13: packed event suppression ---- */

TEST_F(DpTest, DP13_PackedDisableEnable)
{
	Guest g;
	PackedRing r(g, 32);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));

	r.set_driver_event(EV_DISABLE, 0);
	for (int i = 0; i < 40; i++) {
		post_tx(r, pattern(60, i));
		EXPECT_EQ(be.tx().size(), 1u);
		r.drain_used();
	}
	EXPECT_EQ(be.calls(), 0u) << "DISABLE: no calls";
	EXPECT_EQ(r.device_event_flags(), EV_DISABLE) << "kicks suppressed by the device";
	r.set_driver_event(EV_ENABLE, 0);
	for (int i = 0; i < 3; i++) {
		post_tx(r, pattern(60, i));
		post_tx(r, pattern(60, i));
		EXPECT_EQ(be.tx().size(), 2u);
		EXPECT_EQ(be.calls(), 1u) << "ENABLE: a call per batch";
		r.drain_used();
	}
	EXPECT_TRUE(be.tx().empty());
	EXPECT_EQ(be.calls(), 0u) << "no call without used descriptors";
}

TEST_F(DpTest, DP13_PackedDescEvent)
{
	for (bool wrap : { true, false }) {
		Guest g;
		PackedRing r(g, 16, true);
		Backend be(g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_EVENT_IDX));

		/* DESC: slot 7 with the given wrap counter. */
		r.set_used_event(7, wrap);
		std::vector<int> calls_at;
		for (int i = 0; i < 32; i++) {
			post_tx(r, pattern(60, i));
			EXPECT_EQ(be.tx().size(), 1u);
			if (be.calls() != 0)
				calls_at.push_back(i);
			r.drain_used();
		}
		/* First lap has wrap 1, second wrap 0. */
		EXPECT_EQ(calls_at, std::vector<int>{ wrap ? 7 : 16 + 7 }) << "wrap " << wrap;
	}
}

TEST_F(DpTest, DP13_PackedDescEventInsideBatch)
{
	Guest g;
	PackedRing r(g, 16, true);
	Backend be(g, r, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_EVENT_IDX));

	/* 3-slot chains: positions 0,3,6,9,... ; event at 7 lies inside the
	 * chain at 6..8, which is used in the second batch. */
	r.set_used_event(7, true);
	for (int i = 0; i < 5; i++)
		r.post(g.rx_buffers({ 500, 500, 1000 }));
	ASSERT_EQ(be.rx({ pattern(60, 1), pattern(60, 2) }), 2u); /* positions 0..5 */
	EXPECT_EQ(be.calls(), 0u);
	ASSERT_EQ(be.rx({ pattern(60, 3), pattern(60, 4) }), 2u); /* positions 6..11 */
	EXPECT_EQ(be.calls(), 1u);
	ASSERT_EQ(be.rx({ pattern(60, 5) }), 1u);
	EXPECT_EQ(be.calls(), 0u);
}

/* ---- RING-13 / RING-14: the datapath side of resuming at a base ---- */

TEST_F(DpTest, RING13_SplitResumesAtUsedIndexFromMemory)
{
	Guest g;
	SplitRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));
	std::vector<uint8_t> a = pattern(60, 1), b = pattern(61, 2);

	virtq_publish(&be.vq, nullptr);
	/* avail->idx = 102, used->idx = 100, base 100. */
	r.set_indices(100, 100);
	post_tx(r, a);
	post_tx(r, b);
	ASSERT_EQ(r.avail_idx(), 102u);
	virtq_pos_decode(&be.vq.pos, 100, false);
	be.vq.pos.last_used_idx = virtq_split_used_idx(&be.conf);
	EXPECT_EQ(be.vq.pos.last_used_idx, 100u);
	be.publish();
	auto out = be.tx();
	ASSERT_EQ(out.size(), 2u);
	EXPECT_EQ(out[0], a);
	EXPECT_EQ(out[1], b);
	EXPECT_TRUE(be.tx().empty()) << "slots processed exactly once";
	EXPECT_EQ(r.used_idx(), 102u);
	auto u = r.drain_used();
	ASSERT_EQ(u.size(), 2u);
	EXPECT_EQ(u[0].slot, 100 % 64);
	EXPECT_EQ(u[1].slot, 101 % 64);
	EXPECT_EQ(virtq_pos_encode(&be.vq.pos, false), 102u);
}

TEST_F(DpTest, RING14_PackedBaseLowHalfOnly)
{
	Guest g;
	PackedRing r(g, 64);
	Backend be(g, r, true, bit(VIRTQ_F_VERSION_1));

	virtq_publish(&be.vq, nullptr);
	be.vq.pos = {};
	virtq_pos_decode(&be.vq.pos, 0x00008000, true);
	be.publish();
	post_tx(r, pattern(60, 1));
	ASSERT_EQ(be.tx().size(), 1u);
	EXPECT_EQ(r.desc(0)->flags & (P_AVAIL | P_USED), P_AVAIL | P_USED)
		<< "first used descriptor in slot 0 with AVAIL=USED=1";
	EXPECT_EQ(virtq_pos_encode(&be.vq.pos, true), 0x80018001u);
}

TEST_F(DpTest, RING14_PackedBaseBothHalves)
{
	Guest g;
	PackedRing r(g, 8);
	uint32_t base;
	{
		Backend a(g, r, true, bit(VIRTQ_F_VERSION_1));
		/* 13 chains: the position is now slot 5 with wrap 0. */
		for (int i = 0; i < 13; i++) {
			post_tx(r, pattern(60, i));
			ASSERT_EQ(a.tx().size(), 1u);
			r.drain_used();
		}
		base = virtq_pos_encode(&a.vq.pos, true);
		EXPECT_EQ(base, 5u | (5u << 16));
	}
	/* A new back-end takes the whole base. */
	Backend b(g, r, true, bit(VIRTQ_F_VERSION_1));
	virtq_publish(&b.vq, nullptr);
	virtq_pos_decode(&b.vq.pos, base, true);
	b.publish();
	std::vector<uint8_t> p = pattern(60, 77);
	uint16_t id = post_tx(r, p);
	auto out = b.tx();
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(out[0], p);
	auto u = r.drain_used();
	ASSERT_EQ(u.size(), 1u);
	EXPECT_EQ(u[0].slot, 5u);
	EXPECT_EQ(u[0].id, id);
	EXPECT_EQ(u[0].flags & (P_AVAIL | P_USED), 0) << "wrap 0";
}

INSTANTIATE_TEST_SUITE_P(Rings, RingLevel, ::testing::Bool(), ring_kind);

} // namespace
