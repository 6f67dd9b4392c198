/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/fwd: the measured load of RX queues (fwd_load.h). The lcore's counter
 * (fwd_load_add) against the control thread's intervals (fwd_load_close)
 * on a made-up TSC: a queue is measured after one whole interval, over the
 * last FWD_LOAD_HISTORY intervals, weighted by their length, never above
 * one lcore; a new port starts afresh.
 */
#include <gtest/gtest.h>

#include "fwd_load.h"

namespace {

class FwdLoad : public ::testing::Test {
protected:
	struct fwd_load ld = {};
	uint64_t tsc = 1000000;

	void TearDown() override { fwd_load_fini(&ld); }

	/* What the lcore polling (id, q) does after a busy poll. */
	void busy(uint16_t id, uint16_t q, uint64_t cycles)
	{
		fwd_load_add(fwd_load_rxq(&ld, id, q), cycles);
	}

	/* The control thread's timer, @p len TSC cycles after the previous one. */
	void close(uint64_t len = 1000)
	{
		tsc += len;
		fwd_load_close(&ld, tsc);
	}

	int32_t ppm(uint16_t id, uint16_t q = 0) { return fwd_load_ppm(&ld, id, q); }
};

TEST_F(FwdLoad, MeasuredAfterOneWholeInterval)
{
	ASSERT_EQ(fwd_load_port_add(&ld, 0, 2), 0);
	busy(0, 0, 999);
	close(); /* the first close only starts the first interval */
	EXPECT_EQ(ppm(0), -1);
	busy(0, 0, 250);
	close();
	EXPECT_EQ(ppm(0, 0), 250000) << "250 of 1000 cycles: a quarter of an lcore";
	EXPECT_EQ(ppm(0, 1), 0) << "polled, never busy: measured idle";
}

TEST_F(FwdLoad, QueueAddedWithinAnIntervalStartsAtTheNextClose)
{
	ASSERT_EQ(fwd_load_port_add(&ld, 0, 1), 0);
	close();
	ASSERT_EQ(fwd_load_port_add(&ld, 1, 1), 0);
	busy(1, 0, 400); /* part of an interval: not a measure */
	close();
	EXPECT_EQ(ppm(0), 0);
	EXPECT_EQ(ppm(1), -1);
	busy(1, 0, 100);
	close();
	EXPECT_EQ(ppm(1), 100000);
}

TEST_F(FwdLoad, OverTheLastIntervalsOnly)
{
	ASSERT_EQ(fwd_load_port_add(&ld, 3, 1), 0);
	close();
	for (uint64_t k = 1; k <= FWD_LOAD_HISTORY + 1; k++) {
		busy(3, 0, 100 * k);
		close();
	}
	/* The first interval (100) has left the window: 200 + ... + 600 over 5000. */
	static_assert(FWD_LOAD_HISTORY == 5, "the sums below assume 5 intervals");
	EXPECT_EQ(ppm(3), 400000);
}

TEST_F(FwdLoad, IntervalsWeighByTheirLength)
{
	ASSERT_EQ(fwd_load_port_add(&ld, 0, 1), 0);
	close();
	busy(0, 0, 100);
	close(1000);
	busy(0, 0, 2900);
	close(3000); /* a late timer: a longer interval */
	EXPECT_EQ(ppm(0), 750000) << "3000 cycles of 4000";
}

TEST_F(FwdLoad, NeverAboveOneLcore)
{
	ASSERT_EQ(fwd_load_port_add(&ld, 0, 1), 0);
	close();
	busy(0, 0, 1500); /* TSCs of two cores a little apart */
	close(1000);
	EXPECT_EQ(ppm(0), 1000000);
}

TEST_F(FwdLoad, LoadFollowsTheQueueNotTheLcore)
{
	/* Whoever polls the queue adds to the same counter: a move keeps the history. */
	ASSERT_EQ(fwd_load_port_add(&ld, 0, 1), 0);
	close();
	busy(0, 0, 300); /* old owner */
	busy(0, 0, 200); /* new owner, after the two grace periods */
	close();
	EXPECT_EQ(ppm(0), 500000);
}

TEST_F(FwdLoad, RemovedPortIsForgottenAndAReaddedOneStartsAfresh)
{
	ASSERT_EQ(fwd_load_port_add(&ld, 2, 1), 0);
	close();
	busy(2, 0, 800);
	close();
	ASSERT_EQ(ppm(2), 800000);
	fwd_load_port_del(&ld, 2);
	EXPECT_EQ(ppm(2), -1);
	EXPECT_EQ(fwd_load_rxq(&ld, 2, 0), nullptr);
	ASSERT_EQ(fwd_load_port_add(&ld, 2, 1), 0);
	close();
	EXPECT_EQ(ppm(2), -1);
	close();
	EXPECT_EQ(ppm(2), 0);
}

TEST_F(FwdLoad, QueuesOutOfRangeHaveNoEntry)
{
	ASSERT_EQ(fwd_load_port_add(&ld, 0, 2), 0);
	EXPECT_EQ(fwd_load_rxq(&ld, 0, 2), nullptr);
	EXPECT_EQ(fwd_load_rxq(&ld, FWD_MAX_PORTS, 0), nullptr);
	EXPECT_EQ(fwd_load_port_add(&ld, FWD_MAX_PORTS, 1), -EINVAL);
	EXPECT_EQ(ppm(0, 5), -1);
}

} // namespace
