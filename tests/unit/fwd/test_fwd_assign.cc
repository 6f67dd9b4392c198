/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/fwd: which lcore polls which RX queue (fwd_assign.h). Pinned queues
 * first, then the others heaviest first, each to the least loaded lcore;
 * queues not measured yet count as the mean; with no load the lcores get
 * equal numbers of queues; the cost and the "worth moving" rule that keep
 * rebalances from churning.
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <vector>

#include "fwd_assign.h"

namespace {

constexpr uint16_t NONE = FWD_NO_LCORE;

struct fwd_assign_rxq
rxq(uint64_t load, uint16_t pin = NONE, uint16_t owner = NONE, bool measured = true)
{
	struct fwd_assign_rxq q = {};

	q.load = load;
	q.pin = pin;
	q.owner = owner;
	q.measured = measured;
	return q;
}

struct fwd_assign_rxq
unmeasured(uint16_t owner = NONE)
{
	return rxq(0, NONE, owner, false);
}

std::vector<uint16_t>
assign(const std::vector<struct fwd_assign_rxq> &q, unsigned int nb_lcores, bool keep = false)
{
	std::vector<uint16_t> out(q.size(), 0xbeef);

	EXPECT_EQ(fwd_assign(q.data(), (unsigned int)q.size(), nb_lcores, keep, out.data()), 0);
	return out;
}

struct fwd_assign_cost
cost(const std::vector<struct fwd_assign_rxq> &q, unsigned int nb_lcores,
     const std::vector<uint16_t> &owner)
{
	struct fwd_assign_cost c;

	fwd_assign_cost(q.data(), (unsigned int)q.size(), nb_lcores, owner.data(), &c);
	return c;
}

std::vector<unsigned int>
counts(const std::vector<uint16_t> &out, unsigned int nb_lcores)
{
	std::vector<unsigned int> c(nb_lcores, 0);

	for (uint16_t o : out)
		c.at(o)++;
	return c;
}

/* ---- placement ------------------------------------------------------------------------ */

TEST(FwdAssign, HeaviestFirstEachToTheLeastLoadedLcore)
{
	/* Sorted: 70 (q1), 50 (q4), 40 (q2), 30 (q3), 10 (q0).
	 * 70 -> L0; 50 -> L1; 40 -> L1 (50 < 70) = 90; 30 -> L0 (70 < 90) = 100;
	 * 10 -> L1 (90 < 100) = 100. */
	std::vector<struct fwd_assign_rxq> q = { rxq(10), rxq(70), rxq(40), rxq(30), rxq(50) };

	EXPECT_EQ(assign(q, 2), (std::vector<uint16_t>{ 1, 0, 1, 0, 1 }));
	EXPECT_EQ(cost(q, 2, assign(q, 2)).max_load, 100u);
}

TEST(FwdAssign, TwoHeavyQueuesOnOneLcoreAreSplit)
{
	/* The system test's case: both busy queues on lcore 0, idle ones anywhere. */
	std::vector<struct fwd_assign_rxq> q = { rxq(0, NONE, 1), rxq(0, NONE, 1),
						 rxq(500, NONE, 0), rxq(480, NONE, 0) };
	std::vector<uint16_t> out = assign(q, 2);
	struct fwd_assign_cost before = cost(q, 2, { 1, 1, 0, 0 }), after = cost(q, 2, out);

	EXPECT_NE(out[2], out[3]);
	EXPECT_EQ(before.max_load, 980u);
	EXPECT_EQ(after.max_load, 500u);
	EXPECT_TRUE(fwd_assign_better(&before, &after, 25));
}

TEST(FwdAssign, PinnedQueuesGoToTheirLcoreWhateverTheLoad)
{
	std::vector<struct fwd_assign_rxq> q = { rxq(900, 1), rxq(800, 1), rxq(10), rxq(10) };
	std::vector<uint16_t> out = assign(q, 3);

	EXPECT_EQ(out[0], 1);
	EXPECT_EQ(out[1], 1);
	/* The pinned load weighs on lcore 1: the light queues go to 0 and 2. */
	EXPECT_NE(out[2], 1);
	EXPECT_NE(out[3], 1);
	EXPECT_NE(out[2], out[3]);
}

TEST(FwdAssign, PinnedLoadCountsBeforeTheOthersArePlaced)
{
	/* Lcore 0 carries a pinned 100: the unpinned 60 and 50 both fit beside it
	 * on lcore 1 (60 -> L1, then 50 -> L1 since 60 < 100). */
	std::vector<struct fwd_assign_rxq> q = { rxq(60), rxq(100, 0), rxq(50) };

	EXPECT_EQ(assign(q, 2), (std::vector<uint16_t>{ 1, 0, 1 }));
}

TEST(FwdAssign, PinToAMissingLcoreIsIgnored)
{
	std::vector<struct fwd_assign_rxq> q = { rxq(10, 7), rxq(10, 7) };
	std::vector<uint16_t> out = assign(q, 2);

	EXPECT_LT(out[0], 2);
	EXPECT_LT(out[1], 2);
	EXPECT_NE(out[0], out[1]);
}

/* ---- no load, no measurement ---------------------------------------------------------- */

TEST(FwdAssign, NoMeasurementSpreadsByCount)
{
	std::vector<struct fwd_assign_rxq> q(7, unmeasured());
	std::vector<uint16_t> out = assign(q, 3);

	/* Equal loads: input order, each to the lcore with the fewest queues. */
	EXPECT_EQ(out, (std::vector<uint16_t>{ 0, 1, 2, 0, 1, 2, 0 }));
	EXPECT_EQ(counts(out, 3), (std::vector<unsigned int>{ 3, 2, 2 }));
}

TEST(FwdAssign, NoTrafficSpreadsByCount)
{
	/* Measured, but idle: every load is 0. */
	std::vector<struct fwd_assign_rxq> q(8, rxq(0));
	std::vector<unsigned int> c = counts(assign(q, 3), 3);

	EXPECT_LE(*std::max_element(c.begin(), c.end()) - *std::min_element(c.begin(), c.end()),
		  1u);
}

TEST(FwdAssign, UnmeasuredQueueCountsAsTheMeanMeasuredLoad)
{
	/* Measured 100, 90, 20: mean 70. Sorted 100, 90, 70 (new), 20:
	 * 100 -> L0, 90 -> L1, new -> L1 (90 < 100) = 160, 20 -> L0.
	 * Counted as 0 the new queue would go to L0; as the heaviest, to L0 first. */
	std::vector<struct fwd_assign_rxq> q = { rxq(100), rxq(90), rxq(20), unmeasured() };
	std::vector<uint16_t> out = assign(q, 2);

	EXPECT_EQ(out, (std::vector<uint16_t>{ 0, 1, 0, 1 }));
	EXPECT_EQ(cost(q, 2, out).max_load, 160u);
}

/* ---- keeping owners (a port added, a pin removed) ------------------------------------- */

TEST(FwdAssign, KeepLeavesOwnedQueuesAndPlacesNewOnesByLoad)
{
	/* Lcore 0: one queue at 90; lcore 1: three at 10. A new queue (mean 30)
	 * goes to lcore 1, which has more queues but less load. */
	std::vector<struct fwd_assign_rxq> q = { rxq(90, NONE, 0), rxq(10, NONE, 1),
						 rxq(10, NONE, 1), rxq(10, NONE, 1), unmeasured() };

	EXPECT_EQ(assign(q, 2, true), (std::vector<uint16_t>{ 0, 1, 1, 1, 1 }));
}

TEST(FwdAssign, KeepStillAppliesPins)
{
	std::vector<struct fwd_assign_rxq> q = { rxq(10, 1, 0), rxq(10, NONE, 0) };

	EXPECT_EQ(assign(q, 2, true), (std::vector<uint16_t>{ 1, 0 }));
}

TEST(FwdAssign, KeepWithoutLoadMatchesSpreadingByCount)
{
	/* Lcore 0 has 2 queues, lcore 1 none: four new queues fill lcore 1 first. */
	std::vector<struct fwd_assign_rxq> q = { unmeasured(0), unmeasured(0), unmeasured(),
						 unmeasured(),  unmeasured(),  unmeasured() };

	EXPECT_EQ(assign(q, 2, true), (std::vector<uint16_t>{ 0, 0, 1, 1, 0, 1 }));
}

/* ---- rebalance: owners ignored, same input same answer --------------------------------- */

TEST(FwdAssign, RebalanceIgnoresCurrentOwners)
{
	std::vector<struct fwd_assign_rxq> a = { rxq(50, NONE, 1), rxq(40, NONE, 1),
						 rxq(30, NONE, 1) };
	std::vector<struct fwd_assign_rxq> b = { rxq(50), rxq(40), rxq(30) };

	EXPECT_EQ(assign(a, 2), assign(b, 2));
}

TEST(FwdAssign, RebalanceTwiceMovesNothingTheSecondTime)
{
	std::vector<struct fwd_assign_rxq> q = { rxq(300, NONE, 0), rxq(250, NONE, 0),
						 rxq(5, NONE, 1),   rxq(120, NONE, 0),
						 rxq(0, NONE, 1),   unmeasured(0) };
	std::vector<uint16_t> first = assign(q, 2);
	struct fwd_assign_cost before = cost(q, 2, { 0, 0, 1, 0, 1, 0 });
	struct fwd_assign_cost after = cost(q, 2, first);

	ASSERT_TRUE(fwd_assign_better(&before, &after, 0));
	for (size_t i = 0; i < q.size(); i++)
		q[i].owner = first[i];
	std::vector<uint16_t> second = assign(q, 2);
	struct fwd_assign_cost again = cost(q, 2, second);

	EXPECT_EQ(second, first);
	EXPECT_FALSE(fwd_assign_better(&after, &again, 0));
	EXPECT_FALSE(fwd_assign_better(&after, &again, 25));
}

/* LPT's guarantee against the best assignment, found by trying them all. */
TEST(FwdAssign, BusiestLcoreWithinFourThirdsOfTheBest)
{
	std::mt19937 rng(12345);

	for (int round = 0; round < 300; round++) {
		unsigned int m = 2 + rng() % 2, n = 1 + rng() % 8;
		std::vector<struct fwd_assign_rxq> q;

		for (unsigned int i = 0; i < n; i++)
			q.push_back(rxq(rng() % 1000));
		uint64_t lpt = cost(q, m, assign(q, m)).max_load, best = UINT64_MAX;
		std::vector<uint16_t> own(n, 0);
		unsigned int total = 1;

		for (unsigned int i = 0; i < n; i++)
			total *= m;
		for (unsigned int code = 0; code < total; code++) {
			for (unsigned int i = 0, c = code; i < n; i++, c /= m)
				own[i] = (uint16_t)(c % m);
			best = std::min(best, cost(q, m, own).max_load);
		}
		/* (4/3 - 1/(3m)) * best, in integers. */
		EXPECT_LE(lpt * 3 * m, best * (4 * m - 1)) << "round " << round;
	}
}

TEST(FwdAssign, RefusesNoLcoreOrTooMany)
{
	std::vector<struct fwd_assign_rxq> q(2, rxq(1));
	uint16_t out[2];

	EXPECT_EQ(fwd_assign(q.data(), 2, 0, false, out), -EINVAL);
	EXPECT_EQ(fwd_assign(q.data(), 2, FWD_MAX_LCORES + 1, false, out), -EINVAL);
	EXPECT_EQ(fwd_assign(q.data(), 0, 2, false, out), 0);
}

/* ---- cost and the decision -------------------------------------------------------------- */

TEST(FwdAssign, CostIsTheBusiestLcoreAndTheFullestOne)
{
	std::vector<struct fwd_assign_rxq> q = { rxq(50, NONE, 0), rxq(10, NONE, 1),
						 rxq(10, NONE, 1), rxq(10, NONE, 1),
						 rxq(99, NONE, NONE) };
	struct fwd_assign_cost c;

	/* NULL: the queues' own owners; an unowned queue weighs on nobody. */
	fwd_assign_cost(q.data(), (unsigned int)q.size(), 2, nullptr, &c);
	EXPECT_EQ(c.max_load, 50u);
	EXPECT_EQ(c.max_queues, 3u);
}

TEST(FwdAssign, AskedForRebalanceTakesAnyGainOrAnEvenerCount)
{
	struct fwd_assign_cost cur = { 1000, 3 }, lower = { 999, 3 }, evener = { 1000, 2 },
			       same = { 1000, 3 }, worse = { 1001, 1 };

	EXPECT_TRUE(fwd_assign_better(&cur, &lower, 0));
	EXPECT_TRUE(fwd_assign_better(&cur, &evener, 0));
	EXPECT_FALSE(fwd_assign_better(&cur, &same, 0));
	EXPECT_FALSE(fwd_assign_better(&cur, &worse, 0));
}

TEST(FwdAssign, AutomaticRebalanceNeedsMoreThanTheThreshold)
{
	struct fwd_assign_cost cur = { 1000, 4 }, small = { 760, 2 }, exact = { 750, 2 },
			       enough = { 749, 4 }, evener = { 1000, 2 };

	EXPECT_FALSE(fwd_assign_better(&cur, &small, 25));
	EXPECT_FALSE(fwd_assign_better(&cur, &exact, 25));
	EXPECT_TRUE(fwd_assign_better(&cur, &enough, 25));
	EXPECT_FALSE(fwd_assign_better(&cur, &evener, 25)) << "counts alone never move queues";
}

} // namespace
