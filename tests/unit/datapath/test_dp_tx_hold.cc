/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split TX rings of a polling guest get their buffers back a few bursts
 * late (struct virtq_hold in virtq.h): the frames go through at once, the
 * newest VIRTQ_TX_HOLD buffers taken stay unpublished while the guest keeps
 * sending, and everything comes back once it stops, asks for interrupts, or
 * the ring leaves the datapath. What the driver finds in the used ring must
 * stay exactly DP-5 / DP-9: every buffer once, in order, whole batches.
 */
#include <climits>

#include "dp_harness.h"

using namespace dp;

namespace {

constexpr uint16_t NUM = 256; /* the smallest ring that holds: 4 x VIRTQ_TX_HOLD */
constexpr uint64_t FOREVER = UINT64_MAX / 2;

class TxHold : public DpTest, public ::testing::WithParamInterface<bool> {
protected:
	bool in_order() const { return GetParam(); }
	uint64_t features() const
	{
		return bit(VIRTQ_F_VERSION_1) | (in_order() ? bit(VIRTQ_F_IN_ORDER) : 0);
	}

	/* A polling guest (NO_INTERRUPT) and a conf that holds, as the control
	 * plane builds it for such a ring. */
	void setup(SplitRing &r, Backend &be, uint64_t hold_cycles = FOREVER)
	{
		r.set_in_order(in_order());
		r.set_no_interrupt(true);
		be.conf.tx_hold = VIRTQ_TX_HOLD;
		be.conf.tx_hold_cycles = hold_cycles;
		be.publish();
	}
	/* Post @p k frames and take them in one burst; all must go through. */
	void burst(SplitRing &r, Backend &be, unsigned k)
	{
		for (unsigned i = 0; i < k; i++)
			ids_.push_back(post_tx(r, pattern(60, (uint32_t)ids_.size())));
		EXPECT_EQ(be.tx((uint16_t)k).size(), k) << "frames are never held";
		taken_ += k;
	}
	/* A polling guest with two bursts out, both held. */
	void two_bursts_held()
	{
		setup(r, be);
		burst(r, be, 32);
		burst(r, be, 32);
		EXPECT_EQ(r.used_idx(), 0u);
		EXPECT_EQ(be.calls(), 0u);
	}
	/* The driver got every buffer back, in order, and one call or more. */
	void expect_all_back_called(uint64_t calls)
	{
		EXPECT_EQ(r.used_idx(), (uint16_t)taken_);
		EXPECT_EQ(be.calls(), calls);
		expect_back_in_order(r);
		EXPECT_EQ(back_, taken_);
	}
	/* What the driver got back so far is the first buffers posted, in order. */
	void expect_back_in_order(SplitRing &r)
	{
		for (const Used &u : r.drain_used()) {
			ASSERT_LT(back_, ids_.size());
			EXPECT_EQ(u.id, ids_[back_]) << "buffer " << back_;
			EXPECT_EQ(u.len, 0u);
			back_++;
		}
	}

	/* One polling guest's TX ring per test (set up by setup()). */
	Guest g;
	SplitRing r{ g, NUM };
	Backend be{ g, r, true, features() };
	std::vector<uint16_t> ids_;
	unsigned taken_ = 0, back_ = 0;
};

} // namespace

/* DP-5, DP-9: while the guest keeps sending, the newest VIRTQ_TX_HOLD
 * buffers (whole bursts) stay unpublished; the rest come back in order. */
TEST_P(TxHold, DP5_DP9_PollingGuestGetsBuffersBackBurstsLate)
{
	setup(r, be);
	for (int b = 0; b < 12; b++) {
		burst(r, be, 32);
		/* Bursts of 32: the last two stay out, the older ones are back. */
		unsigned held = taken_ < 2 * 32 ? taken_ : 2 * 32;

		EXPECT_EQ(r.used_idx(), (uint16_t)(taken_ - held)) << "after burst " << b;
		EXPECT_EQ(be.vq.hold.count, held);
		expect_back_in_order(r);
	}
	EXPECT_EQ(be.calls(), 0u) << "the guest asked for no interrupts";
	EXPECT_EQ(be.vq.stats.packets, taken_);
	EXPECT_FALSE(be.vq.broken);
	virtq_release_held(&be.vq, &be.conf); /* the ring leaves the datapath */
	EXPECT_EQ(r.used_idx(), (uint16_t)taken_);
	expect_back_in_order(r);
	EXPECT_EQ(back_, taken_);
}

/* Bursts of one buffer: at most VIRTQ_HOLD_BATCHES of them are held, the
 * oldest goes back when another comes in. */
TEST_P(TxHold, DP9_SmallBurstsBoundedByBatchSlots)
{
	setup(r, be);
	for (unsigned b = 0; b < 3 * VIRTQ_HOLD_BATCHES; b++) {
		burst(r, be, 1);
		unsigned held = RTE_MIN(taken_, VIRTQ_HOLD_BATCHES);

		EXPECT_EQ(r.used_idx(), (uint16_t)(taken_ - held)) << "after burst " << b;
		expect_back_in_order(r);
	}
	virtq_release_held(&be.vq, &be.conf);
	expect_back_in_order(r);
	EXPECT_EQ(back_, taken_);
}

/* Once the guest stops sending, everything held comes back: the clock is
 * looked at every 32nd empty poll, and a hold time not yet over keeps it. */
TEST_P(TxHold, DP5_IdleGuestGetsEverythingBack)
{
	setup(r, be);
	burst(r, be, 32);
	burst(r, be, 16);
	ASSERT_EQ(r.used_idx(), 0u);
	for (int p = 0; p < 100; p++)
		EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(r.used_idx(), 0u) << "the hold time is not over";

	be.conf.tx_hold_cycles = 0; /* over at once */
	be.publish();
	for (int p = 0; p < 31 && r.used_idx() == 0; p++)
		EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(r.used_idx(), (uint16_t)taken_) << "released by the 32nd empty poll at most";
	expect_back_in_order(r);
	EXPECT_EQ(back_, taken_);
	EXPECT_EQ(be.vq.hold.count, 0u);
}

/* DP-6: a guest that clears NO_INTERRUPT wants its buffers and a call now. */
TEST_P(TxHold, DP6_GuestAskingForInterruptsGetsAllAtOnce)
{
	two_bursts_held();
	r.set_no_interrupt(false);
	burst(r, be, 8);
	expect_all_back_called(1);
}

/* DP-6: a guest that stops sending and turns interrupts on (Linux does
 * when its ring fills) gets everything and a call within 32 empty polls,
 * long before the hold time is over. */
TEST_P(TxHold, DP6_WaitingGuestGetsAllOnEmptyPolls)
{
	two_bursts_held();
	r.set_no_interrupt(false);
	for (int p = 0; p < 32; p++)
		EXPECT_TRUE(be.tx(32).empty());
	expect_all_back_called(1);
}

/* A conf without holding (LOG_ALL began, say) returns what is held before
 * anything else, even from a poll that finds nothing. */
TEST_P(TxHold, DP5_HoldingSwitchedOffReturnsHeld)
{
	setup(r, be);
	burst(r, be, 32);
	ASSERT_EQ(r.used_idx(), 0u);
	be.conf.tx_hold = 0;
	be.publish();
	EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(r.used_idx(), 32u);
	burst(r, be, 8);
	EXPECT_EQ(r.used_idx(), (uint16_t)taken_) << "published at once again";
	expect_back_in_order(r);
	EXPECT_EQ(back_, taken_);
}

/* Out of mbufs, the ring is not idle (its buffers stay available) yet
 * nothing can be taken: what is held goes back. */
TEST_P(TxHold, DP5_OutOfMbufsReturnsHeld)
{
	std::vector<struct rte_mbuf *> all;
	struct rte_mbuf *m;

	setup(r, be);
	burst(r, be, 32);
	ASSERT_EQ(r.used_idx(), 0u);
	ids_.push_back(post_tx(r, pattern(60, 900)));
	while ((m = rte_pktmbuf_alloc(pool())) != nullptr)
		all.push_back(m);
	EXPECT_TRUE(be.tx(32).empty());
	EXPECT_EQ(be.drop(VIRTQ_DROP_NO_MBUF), 1u);
	EXPECT_EQ(r.used_idx(), 32u);
	expect_back_in_order(r);
	for (struct rte_mbuf *x : all)
		rte_pktmbuf_free(x);
	EXPECT_EQ(be.tx(32).size(), 1u) << "taken once mbufs are back";
}

/* A broken ring is not written to, held entries included (SEC-3). */
TEST_P(TxHold, SEC3_BrokenRingNotReleased)
{
	setup(r, be);
	burst(r, be, 32);
	r.set_avail_idx((uint16_t)(r.avail_idx() + NUM + 1)); /* impossible: breaks the ring */
	EXPECT_TRUE(be.tx(32).empty());
	ASSERT_TRUE(be.vq.broken);
	virtq_release_held(&be.vq, &be.conf);
	EXPECT_EQ(r.used_idx(), 0u);
	EXPECT_EQ(be.vq.hold.count, 0u) << "forgotten: the restart starts afresh";
}

INSTANTIATE_TEST_SUITE_P(Split, TxHold, ::testing::Bool(),
			 [](const ::testing::TestParamInfo<bool> &i) {
				 return i.param ? "in_order" : "any_order";
			 });

/*
 * SEC-3: a guest that makes more buffers available than it owns (heads it
 * has not got back) cannot make the back-end overwrite the used entries of
 * buffers it holds: it takes no more than the used ring has free slots.
 */
namespace {

/* A polling guest's 200 TX buffers taken in one burst and all held, then
 * the same heads made available again, in reverse: 200 more "available"
 * buffers than the guest owns. */
class OverPost : public DpTest {
protected:
	void SetUp() override
	{
		r.set_no_interrupt(true);
		be.conf.tx_hold = VIRTQ_TX_HOLD;
		be.conf.tx_hold_cycles = FOREVER;
		be.publish();
		for (unsigned i = 0; i < 200; i++)
			ids.push_back(post_tx(r, pattern(60, i)));
		ASSERT_EQ(be.tx(200).size(), 200u);
		ASSERT_EQ(be.vq.hold.count, 200u) << "one batch of 200, all held";
		for (unsigned i = 0; i < 200; i++)
			r.push_avail(ids[199 - i]);
	}

	Guest g;
	SplitRing r{ g, NUM };
	Backend be{ g, r, true, bit(VIRTQ_F_VERSION_1) };
	std::vector<uint16_t> ids;
};

} // namespace

TEST_F(OverPost, SEC3_TxHoldNeverOverwritesHeldEntries)
{
	EXPECT_EQ(be.tx(200).size(), (size_t)(NUM - 200)) << "only as many as free used slots";
	virtq_release_held(&be.vq, &be.conf);
	auto back = r.drain_used();
	ASSERT_EQ(back.size(), (size_t)NUM);
	for (unsigned s = 0; s < 200; s++)
		EXPECT_EQ(back[s].id, ids[s]) << "held entry " << s << " kept";
	EXPECT_FALSE(be.vq.broken);
}

/*
 * SEC-3, the other half: once the held entries fill the used ring (the
 * guest above made more available than it owns), the next poll gives them
 * all back instead of leaving the ring stuck: it is never idle (its avail
 * count stays up), so the idle release would never come.
 */
TEST_F(OverPost, SEC3_TxHoldFullUsedRingReleasedNotStuck)
{
	ASSERT_EQ(be.tx(200).size(), (size_t)(NUM - 200));
	ASSERT_EQ(be.vq.hold.count, NUM) << "the used ring is all held entries";
	EXPECT_EQ(be.tx(200).size(), 0u) << "no slot to take more into";
	EXPECT_EQ(be.vq.hold.count, 0u);
	auto back = r.drain_used();
	ASSERT_EQ(back.size(), (size_t)NUM) << "all held entries published";
	for (unsigned s = 0; s < 200; s++)
		EXPECT_EQ(back[s].id, ids[s]) << "entry " << s;
	EXPECT_FALSE(be.vq.broken);
}
