/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed IN_ORDER TX rings of a polling guest get their buffers back in
 * batches of tx_hold (struct virtq_hold in virtq.h): the frames go through
 * at once, the buffers come back as one used descriptor once tx_hold ring
 * slots' worth are out, and all of them once the guest stops, asks for
 * interrupts, or the ring leaves the datapath. What the driver reads must
 * stay DP-9: one used descriptor standing for every buffer up to the one
 * it names, in order.
 */
#include <climits>
#include <set>

#include "dp_harness.h"

using namespace dp;

namespace {

constexpr uint16_t NUM = 512;
constexpr uint16_t HOLD = 128; /* what the control plane sets for 512 slots */
constexpr uint64_t FOREVER = UINT64_MAX / 2;

class PackedTxHold : public DpTest {
protected:
	/* A polling IN_ORDER guest (driver events DISABLE) and a conf that
	 * holds, as the control plane builds it for such a ring. */
	void setup(uint64_t hold_cycles = FOREVER)
	{
		r.set_in_order(true);
		r.set_no_interrupt(true);
		be.conf.tx_hold = HOLD;
		be.conf.tx_hold_cycles = hold_cycles;
		be.publish();
	}
	/* Post @p k frames and take them in one burst; all must go through. */
	void burst(unsigned k)
	{
		for (unsigned i = 0; i < k; i++)
			ids_.push_back(post_tx(r, pattern(60, (uint32_t)ids_.size())));
		EXPECT_EQ(be.tx((uint16_t)k).size(), k) << "frames are never held";
		taken_ += k;
	}
	/* Buffers the driver finds back now: checked to be the next ones
	 * posted, in order, unwritten; @return how many, and in how many used
	 * descriptors (distinct slots) they came. */
	unsigned drain(unsigned *entries = nullptr)
	{
		std::set<uint16_t> slots;
		unsigned n = 0;

		for (const Used &u : r.drain_used()) {
			EXPECT_LT(back_, ids_.size());
			if (back_ < ids_.size()) {
				EXPECT_EQ(u.id, ids_[back_]) << "buffer " << back_;
			}
			EXPECT_EQ(u.len, 0u);
			EXPECT_EQ(u.flags & F_WRITE, 0);
			slots.insert(u.slot);
			back_++;
			n++;
		}
		if (entries != nullptr)
			*entries = (unsigned)slots.size();
		return n;
	}

	Guest g;
	PackedRing r{ g, NUM };
	Backend be{ g, r, true, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_IN_ORDER) };
	std::vector<uint16_t> ids_;
	unsigned taken_ = 0, back_ = 0;
};

} // namespace

/* DP-9: bursts of 32 come back four at a time, as one used descriptor. */
TEST_F(PackedTxHold, DP9_PollingGuestGetsBuffersBackInBatches)
{
	setup();
	for (int b = 1; b <= 12; b++) {
		unsigned entries = 0;

		burst(32);
		if (b % 4 != 0) {
			EXPECT_EQ(drain(), 0u) << "after burst " << b << ": held";
			EXPECT_EQ(be.vq.hold.count, (b % 4) * 32u);
			continue;
		}
		EXPECT_EQ(drain(&entries), 128u) << "after burst " << b;
		EXPECT_EQ(entries, 1u) << "one used descriptor for the four bursts";
		EXPECT_EQ(be.vq.hold.count, 0u);
	}
	EXPECT_EQ(back_, taken_);
	EXPECT_EQ(be.calls(), 0u) << "the guest asked for no interrupts";
	EXPECT_EQ(be.vq.stats.packets, taken_);
	EXPECT_FALSE(be.vq.broken);
}

/* DP-9: a back-end polling faster than the guest sends takes a few
 * buffers at a time; the guest still reads one used descriptor per
 * tx_hold of them, not one per poll. */
TEST_F(PackedTxHold, DP9_SmallBurstsReturnedAsOneDescriptor)
{
	unsigned entries = 0;

	setup();
	for (int b = 0; b < 25; b++)
		burst(5);
	EXPECT_EQ(drain(), 0u) << "125 of 128: held";
	burst(5);
	EXPECT_EQ(drain(&entries), 130u);
	EXPECT_EQ(entries, 1u);
	virtq_release_held(&be.vq, &be.conf);
	EXPECT_EQ(drain(), 0u) << "nothing left to release";
}

/* Once the guest stops sending, everything held comes back: the clock is
 * looked at every 32nd empty poll, and a hold time not yet over keeps it. */
TEST_F(PackedTxHold, DP5_IdleGuestGetsEverythingBack)
{
	unsigned entries = 0;

	setup();
	burst(32);
	burst(16);
	for (int p = 0; p < 100; p++)
		EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(drain(), 0u) << "the hold time is not over";

	be.conf.tx_hold_cycles = 0; /* over at once */
	be.publish();
	for (int p = 0; p < 32; p++)
		EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(drain(&entries), 48u) << "released by the 32nd empty poll at most";
	EXPECT_EQ(entries, 1u);
	EXPECT_EQ(be.vq.hold.count, 0u);
	EXPECT_EQ(be.calls(), 0u);
}

/* DP-6: a guest that turns interrupts on wants its buffers and a call now,
 * with the next burst or within 32 empty polls. */
TEST_F(PackedTxHold, DP6_GuestAskingForInterruptsGetsAllAtOnce)
{
	setup();
	burst(32);
	burst(32);
	ASSERT_EQ(drain(), 0u);
	r.set_no_interrupt(false);
	burst(8);
	EXPECT_EQ(drain(), 72u);
	EXPECT_EQ(be.calls(), 1u);

	r.set_no_interrupt(true);
	burst(32);
	ASSERT_EQ(drain(), 0u);
	r.set_no_interrupt(false);
	for (int p = 0; p < 32; p++)
		EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(drain(), 32u);
	EXPECT_EQ(be.calls(), 1u);
}

/* A conf without holding (LOG_ALL began, say) returns what is held before
 * anything else, even from a poll that finds nothing; RING-5: so does the
 * control thread when the ring leaves the datapath. */
TEST_F(PackedTxHold, DP5_RING5_HeldReturnedWhenHoldingStops)
{
	setup();
	burst(32);
	ASSERT_EQ(drain(), 0u);
	be.conf.tx_hold = 0;
	be.publish();
	EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(drain(), 32u);
	burst(8);
	EXPECT_EQ(drain(), 8u) << "returned per burst again";

	be.conf.tx_hold = HOLD;
	be.publish();
	burst(8);
	ASSERT_EQ(drain(), 0u);
	virtq_release_held(&be.vq, &be.conf);
	EXPECT_EQ(drain(), 8u);
	EXPECT_EQ(be.vq.hold.count, 0u);
	EXPECT_EQ(back_, taken_);
}

/* SEC-3, DP-9: a bad chain that breaks the ring returns the buffers held
 * before it in that same poll, as without holding; after that nothing is
 * written to the ring. */
TEST_F(PackedTxHold, SEC3_BadChainReturnsHeldBeforeIt)
{
	std::vector<Desc> d = g.tx_layout(pattern(72, 9), {});
	unsigned entries = 0;

	setup();
	burst(32);
	ASSERT_EQ(drain(), 0u);
	for (unsigned i = 0; i < 5; i++) /* good frames in the same poll */
		ids_.push_back(post_tx(r, pattern(60, 500 + i)));
	d[0].id = NUM; /* an id past the ring breaks it */
	r.post_raw(d);
	EXPECT_EQ(be.tx(32).size(), 5u);
	ASSERT_TRUE(be.vq.broken);
	EXPECT_EQ(drain(&entries), 37u) << "the held ones and the good ones of the poll";
	EXPECT_EQ(entries, 1u);
	EXPECT_EQ(be.vq.hold.count, 0u);
	virtq_release_held(&be.vq, &be.conf);
	EXPECT_FALSE(r.desc(37)->flags & P_USED) << "the bad slot as the guest wrote it";
}

/*
 * SEC-3: a guest that makes available slots it has not got back cannot
 * move the device past the slot its held buffers' used descriptor goes to:
 * one used descriptor stands for at most a ring of slots.
 */
TEST_F(PackedTxHold, SEC3_OverPostingStopsAtHeldSlot)
{
	setup();
	burst(40);
	ASSERT_EQ(be.vq.hold.count, 40u);
	/* 472 honest buffers fill the ring, then 40 more in slots 0..39,
	 * which the device still holds. */
	for (unsigned i = 0; i < NUM - 40u; i++)
		ids_.push_back(post_tx(r, pattern(60, 1000 + i)));
	for (uint16_t i = 0; i < 40; i++) {
		std::vector<uint8_t> bytes = net_hdr(12), frame = pattern(60, 2000 + i);
		std::vector<Desc> d;

		bytes.insert(bytes.end(), frame.begin(), frame.end());
		d = g.tx_layout(bytes, {});
		d[0].id = i;
		r.post_raw(d);
	}
	EXPECT_EQ(be.tx(NUM).size(), (size_t)(NUM - 40)) << "not past the held slot";
	EXPECT_EQ(be.vq.hold.count, 0u) << "a ring's worth is returned";
	EXPECT_EQ(r.desc(0)->id, ids_[NUM - 1]) << "one descriptor for all 512";
	EXPECT_EQ(r.desc(0)->flags, P_AVAIL | P_USED) << "used in the first lap";
	EXPECT_FALSE(be.vq.broken);
	EXPECT_EQ(be.vq.pos.last_avail_idx, 0u);
	EXPECT_FALSE(be.vq.pos.avail_wrap) << "stopped at the start of the second lap";
}

/*
 * SEC-3, the chain version: a chain longer than the slots left before the
 * held descriptor's waits, and what is held goes back at once instead of
 * being kept (the guest is never idle: its chain stays available, so only
 * this release makes progress). Such a chain reaches into the held slots,
 * which the guest did not own: the returned descriptor overwrites its
 * tail, and the next poll finds the chain cut short and stops the ring.
 */
TEST_F(PackedTxHold, SEC3_LongChainPastHeldSlotReleasesFirst)
{
	const unsigned ndesc = NUM - 20 + 1;
	std::vector<uint32_t> frags(ndesc, 1);
	std::vector<uint8_t> bytes = net_hdr(12), frame = pattern(600, 77);
	std::vector<Desc> d;
	unsigned entries = 0;

	setup();
	burst(20);
	ASSERT_EQ(be.vq.hold.count, 20u);
	bytes.insert(bytes.end(), frame.begin(), frame.end());
	d = g.tx_layout(bytes, frags);
	ASSERT_EQ(d.size(), ndesc);
	for (unsigned i = 0; i < ndesc; i++) {
		d[i].id = 100;
		if (i + 1 < ndesc)
			d[i].flags |= F_NEXT;
	}
	r.post_raw(d);
	EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(drain(&entries), 20u) << "held buffers back, not kept";
	EXPECT_EQ(entries, 1u);
	EXPECT_EQ(be.vq.hold.count, 0u);
	EXPECT_EQ(be.vq.pos.last_avail_idx, 20u) << "the chain not taken yet";
	EXPECT_TRUE(be.tx(32).empty());
	EXPECT_TRUE(be.vq.broken) << "chain not made available whole";
	EXPECT_EQ(be.vq.pos.last_avail_idx, 20u);
	EXPECT_EQ(drain(), 0u) << "nothing more written";
}

/* Holding across the end of the ring: the descriptor goes to the first
 * held slot with that lap's flags, and the next one to the next lap's. */
TEST_F(PackedTxHold, DP9_HeldAcrossRingEnd)
{
	unsigned entries = 0;

	r.set_position(NUM - 10, true, &be.vq.pos);
	setup();
	for (int b = 0; b < 16; b++)
		burst(8);
	EXPECT_EQ(drain(&entries), 128u);
	EXPECT_EQ(entries, 1u);
	EXPECT_EQ(r.desc(NUM - 10)->flags, P_AVAIL | P_USED) << "first lap's used flags";
	EXPECT_EQ(r.desc(NUM - 10)->id, ids_[127]);
	for (int b = 0; b < 16; b++)
		burst(8);
	EXPECT_EQ(drain(&entries), 128u);
	EXPECT_EQ(entries, 1u);
	EXPECT_EQ(r.desc(118)->flags, 0) << "second lap's used flags";
	EXPECT_EQ(r.desc(118)->id, ids_[255]);
}

/* Out of mbufs, the ring is not idle (buffers stay available) yet nothing
 * can be taken: what is held goes back. */
TEST_F(PackedTxHold, DP5_OutOfMbufsReturnsHeld)
{
	std::vector<struct rte_mbuf *> all;
	struct rte_mbuf *m;

	setup();
	burst(16);
	ASSERT_EQ(drain(), 0u);
	ids_.push_back(post_tx(r, pattern(60, 900)));
	while ((m = rte_pktmbuf_alloc(pool())) != nullptr)
		all.push_back(m);
	EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(be.drop(VIRTQ_DROP_NO_MBUF), 1u);
	EXPECT_EQ(drain(), 16u);
	for (struct rte_mbuf *x : all)
		rte_pktmbuf_free(x);
	EXPECT_EQ(be.tx(32).size(), 1u) << "taken once mbufs are back";
}

/* SEC-3 with a chain in the burst: its extra slots count against the
 * ring's worth one descriptor may stand for, so the one-slot buffers
 * after it stop at the held slot too. */
TEST_F(PackedTxHold, SEC3_ChainThenOverPostStopsAtHeldSlot)
{
	const unsigned ndesc = 480;
	std::vector<uint32_t> frags(ndesc, 1);
	std::vector<uint8_t> bytes = net_hdr(12), frame = pattern(600, 78);
	std::vector<Desc> d;

	setup();
	burst(20);
	bytes.insert(bytes.end(), frame.begin(), frame.end());
	d = g.tx_layout(bytes, frags);
	for (unsigned i = 0; i < ndesc; i++) {
		d[i].id = 100;
		if (i + 1 < ndesc)
			d[i].flags |= F_NEXT;
	}
	r.post_raw(d); /* slots 20..499, dropped when taken: too many segments */
	for (unsigned i = 0; i < 12; i++)
		ids_.push_back(post_tx(r, pattern(60, 3000 + i))); /* slots 500..511 */
	for (uint16_t i = 0; i < 19; i++) {                        /* slots 0..18: still held */
		std::vector<uint8_t> b = net_hdr(12), f = pattern(60, 4000 + i);

		b.insert(b.end(), f.begin(), f.end());
		d = g.tx_layout(b, {});
		d[0].id = i;
		r.post_raw(d);
	}
	EXPECT_EQ(be.tx(32).size(), 12u) << "not past the held slot";
	EXPECT_EQ(be.drop(VIRTQ_DROP_CHAIN_TOO_LONG), 1u);
	EXPECT_EQ(be.vq.hold.count, 0u) << "a ring's worth is returned";
	EXPECT_EQ(r.desc(0)->id, ids_.back());
	EXPECT_EQ(r.desc(0)->flags, P_AVAIL | P_USED);
	EXPECT_EQ(be.vq.pos.last_avail_idx, 0u);
	EXPECT_FALSE(be.vq.pos.avail_wrap);
}
