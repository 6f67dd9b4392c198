/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding lcore loop itself (fwd_lcore_main() in fwd_runtime.c), on
 * a real EAL worker lcore: a runtime with one worker polls one port of a
 * driver written here, whose RX hands out as many frames as the test asks
 * and whose drain op reports frames "handed over by other lcores" when the
 * test says so (the rxonly engine frees what it receives; nothing is sent). What is checked is what an
 * operator sees in /vuswitch/lcores: loops, busy loops, idle sleeps and
 * packets.
 *
 * The rules (fwd.h, fwd_params.idle_sleep_us):
 *  - with idle_sleep_us set, an lcore sleeps once per FWD_IDLE_STREAK
 *    loops in a row that moved nothing;
 *  - a loop that received a frame, or whose drain sent one, is busy and
 *    starts the streak again;
 *  - with idle_sleep_us 0 it never sleeps.
 * No test asserts a time: only counts, and that the lcore made progress.
 * The lcore writes its counters with plain stores (as in production, where
 * telemetry reads them the same way); the test reads each with a relaxed
 * 64-bit atomic load.
 */
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include <gtest/gtest.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "../eal_start.h"
#include "fwd.h"
#include "vus_port.h"

namespace {

/* lcores 0 (this thread) and 1 (the worker) on the first two CPUs this
 * process may use, or both on the one it has: "-l 0,1" would fail where
 * CPU 1 is not in the affinity mask. */
std::string
lcore_map()
{
	cpu_set_t set;
	int cpus[2] = { 0, 0 }, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus[n++] = c;
	if (n == 1)
		cpus[1] = cpus[0];
	return "0@" + std::to_string(cpus[0]) + ",1@" + std::to_string(cpus[1]);
}

UnitEalEnv *const g_env = static_cast<UnitEalEnv *>(::testing::AddGlobalTestEnvironment(
	new UnitEalEnv("unit_fwd_lcore", 64, 2047, {}, lcore_map())));

/* The test port's state, shared between the test thread and the lcore. */
struct ScriptPort {
	std::atomic<uint64_t> rx_to_give{ 0 };  /* frames RX still hands out */
	std::atomic<uint16_t> drain_sends{ 0 }; /* what each drain call reports */
	std::atomic<uint64_t> rx_calls{ 0 };
	/* The lcore's idle_sleeps, read by the lcore itself (in these
	 * callbacks) at the first and the last call that had work: sleeps in
	 * between would have been taken with work coming in. */
	const uint64_t *lcore_sleeps = nullptr;
	std::atomic<int64_t> sleeps_first_work{ -1 }, sleeps_last_work{ -1 };
	struct vus_port port = {};

	void saw_work()
	{
		int64_t v = (int64_t)*lcore_sleeps;

		if (sleeps_first_work.load() < 0)
			sleeps_first_work = v;
		sleeps_last_work = v;
	}
	int64_t sleeps_during_work() const
	{
		return sleeps_last_work.load() - sleeps_first_work.load();
	}
};

ScriptPort *
script_of(struct vus_port *p)
{
	return static_cast<ScriptPort *>(p->priv);
}

uint16_t
script_rx(struct vus_port *p, uint16_t, struct rte_mempool *mp, struct rte_mbuf **pkts, uint16_t n)
{
	ScriptPort *s = script_of(p);
	uint64_t want = s->rx_to_give.load();

	s->rx_calls++;
	if (want == 0)
		return 0;
	if (want < n)
		n = (uint16_t)want;
	if (rte_pktmbuf_alloc_bulk(mp, pkts, n) != 0)
		return 0;
	for (uint16_t i = 0; i < n; i++) {
		pkts[i]->data_len = 64;
		pkts[i]->pkt_len = 64;
		memset(rte_pktmbuf_mtod(pkts[i], void *), 0, 64);
	}
	s->saw_work();
	s->rx_to_give -= n;
	return n;
}

uint16_t
script_tx(struct vus_port *p, uint16_t, struct rte_mbuf **pkts, uint16_t n)
{
	/* Not called: rxonly sends nothing. Takes and frees, as a port would. */
	(void)p;
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

uint16_t
script_drain(struct vus_port *p, uint16_t)
{
	ScriptPort *s = script_of(p);

	uint16_t sent = s->drain_sends.load();

	if (sent != 0)
		s->saw_work();
	return sent;
}

void
script_stats(struct vus_port *, struct vus_port_stats *st)
{
	memset(st, 0, sizeof(*st));
}

void
script_destroy(struct vus_port *)
{
}

const struct vus_port_ops script_ops = {
	.kind = "script",
	.rx_burst = script_rx,
	.tx_burst = script_tx,
	.drain = script_drain,
	.queue_owner = nullptr,
	.stats_get = script_stats,
	.destroy = script_destroy,
};

class FwdLcore : public ::testing::Test {
protected:
	/* A runtime over the one worker lcore, rxonly, the script port added
	 * (so its queue is polled) and forwarding started. */
	void run(uint32_t idle_sleep_us)
	{
		size_t sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);

		qsbr_ = static_cast<struct rte_rcu_qsbr *>(
			rte_zmalloc("fwd_lcore_qsbr", sz, RTE_CACHE_LINE_SIZE));
		ASSERT_NE(qsbr_, nullptr);
		ASSERT_EQ(rte_rcu_qsbr_init(qsbr_, RTE_MAX_LCORE), 0);
		struct fwd_params params = {};

		params.qsbr = qsbr_;
		params.mp = g_env->pool();
		params.engine = &fwd_rxonly_engine;
		params.idle_sleep_us = idle_sleep_us;
		rt_ = fwd_create(&params);
		ASSERT_NE(rt_, nullptr);
		ASSERT_EQ(fwd_nb_lcores(rt_), 1u) << "EAL started with lcores 0,1";
		ASSERT_EQ(fwd_launch(rt_), 0);
		sp_.lcore_sleeps = &fwd_lcore_get(rt_, 0)->stats.idle_sleeps;
		sp_.port.ops = &script_ops;
		sp_.port.priv = &sp_;
		sp_.port.nb_queues = 1;
		snprintf(sp_.port.name, sizeof(sp_.port.name), "script0");
		int id = fwd_port_add(rt_, &sp_.port);

		ASSERT_GE(id, 0);
		port_id_ = (uint16_t)id;
		fwd_set_running(rt_, true);
	}

	void TearDown() override
	{
		if (rt_ != nullptr) {
			fwd_set_running(rt_, false);
			fwd_port_del(rt_, port_id_);
			fwd_destroy(rt_);
		}
		rte_free(qsbr_);
		EXPECT_EQ(rte_mempool_avail_count(g_env->pool()), g_env->pool_size())
			<< "every frame handed to the lcore went back to the pool";
	}

	/* A copy of the lcore's counters (written by it alone). loops and
	 * idle_sleeps are compared with each other: read again until no sleep
	 * ended between the two loads (this thread may be preempted there). */
	struct fwd_lcore_stats stats() const
	{
		const struct fwd_lcore *lc = fwd_lcore_get(rt_, 0);
		struct fwd_lcore_stats s = {};
		uint64_t sleeps;

		do {
			sleeps = __atomic_load_n(&lc->stats.idle_sleeps, __ATOMIC_RELAXED);
			s.loops = __atomic_load_n(&lc->stats.loops, __ATOMIC_RELAXED);
			s.idle_sleeps = __atomic_load_n(&lc->stats.idle_sleeps, __ATOMIC_RELAXED);
		} while (s.idle_sleeps != sleeps);
		s.rx_packets = __atomic_load_n(&lc->stats.rx_packets, __ATOMIC_RELAXED);
		s.busy_loops = __atomic_load_n(&lc->stats.busy_loops, __ATOMIC_RELAXED);
		return s;
	}

	/* Wait until the lcore has polled the port @n more times. */
	::testing::AssertionResult wait_polls(uint64_t n)
	{
		uint64_t goal = sp_.rx_calls.load() + n;

		for (int i = 0; i < 5000 && sp_.rx_calls.load() < goal; i++)
			usleep(1000);
		if (sp_.rx_calls.load() < goal)
			return ::testing::AssertionFailure() << "the lcore stopped polling";
		return ::testing::AssertionSuccess();
	}

	struct rte_rcu_qsbr *qsbr_ = nullptr;
	struct fwd_runtime *rt_ = nullptr;
	ScriptPort sp_;
	uint16_t port_id_ = 0;
};

} // namespace

/* Nothing to do: one sleep per FWD_IDLE_STREAK empty loops, no more loops
 * than the sleeps account for, none of them busy. */
TEST_F(FwdLcore, IdleLcoreSleepsOncePerStreak)
{
	ASSERT_NO_FATAL_FAILURE(run(50));
	ASSERT_TRUE(wait_polls(20 * FWD_IDLE_STREAK));
	struct fwd_lcore_stats s = stats();

	EXPECT_GE(s.idle_sleeps, 10u);
	/* Loops counted before the port was polled (no plan yet) are idle too. */
	EXPECT_LE(s.loops, (s.idle_sleeps + 1) * FWD_IDLE_STREAK);
	EXPECT_GE(s.loops, s.idle_sleeps * FWD_IDLE_STREAK);
	EXPECT_EQ(s.busy_loops, 0u);
	EXPECT_EQ(s.rx_packets, 0u);
}

/* Without idle_sleep_us the lcore never sleeps, however long it idles. */
TEST_F(FwdLcore, NoSleepWhenIdleSleepIsOff)
{
	ASSERT_NO_FATAL_FAILURE(run(0));
	ASSERT_TRUE(wait_polls(20 * FWD_IDLE_STREAK));
	struct fwd_lcore_stats s = stats();

	EXPECT_EQ(s.idle_sleeps, 0u);
}

/*
 * An lcore whose only work is frames other lcores handed over (its RX
 * queue empty, the drain op sending) is busy in every loop that drains
 * and never sleeps: with the drain left out of the busy test it would
 * sleep with handed-over traffic waiting. Once the drain stops sending,
 * the same lcore goes back to sleeping.
 */
TEST_F(FwdLcore, HandedOverFramesKeepLcoreAwake)
{
	sp_.drain_sends = 1;
	ASSERT_NO_FATAL_FAILURE(run(50));
	ASSERT_TRUE(wait_polls(20 * FWD_IDLE_STREAK));
	EXPECT_EQ(sp_.sleeps_during_work(), 0);
	/* The loop that made the last counted poll may not have counted
	 * itself busy yet. */
	EXPECT_GE(stats().busy_loops, 20u * FWD_IDLE_STREAK - 1);

	sp_.drain_sends = 0;
	const uint64_t sleeps = stats().idle_sleeps;

	ASSERT_TRUE(wait_polls(20 * FWD_IDLE_STREAK));
	EXPECT_GE(stats().idle_sleeps - sleeps, 10u);
}

/*
 * Traffic: every frame received is counted and the loops that received
 * are busy. A frame every loop keeps the lcore awake; after the last one
 * it sleeps again.
 */
TEST_F(FwdLcore, TrafficCountedAndEndsTheStreak)
{
	constexpr uint64_t FRAMES = 100000;

	ASSERT_NO_FATAL_FAILURE(run(50));
	sp_.rx_to_give = FRAMES;
	for (int i = 0; i < 5000 && sp_.rx_to_give.load() != 0; i++)
		usleep(1000);
	ASSERT_EQ(sp_.rx_to_give.load(), 0u) << "the lcore stopped receiving";
	ASSERT_TRUE(wait_polls(2));
	struct fwd_lcore_stats s = stats();

	EXPECT_EQ(s.rx_packets, FRAMES);
	/* FWD_BURST frames per busy loop: no loop took fewer while there was more. */
	EXPECT_EQ(s.busy_loops, (FRAMES + FWD_BURST - 1) / FWD_BURST);
	/* While frames came in every loop, no sleep. */
	EXPECT_EQ(sp_.sleeps_during_work(), 0);
	ASSERT_TRUE(wait_polls(20 * FWD_IDLE_STREAK));
	EXPECT_GE(stats().idle_sleeps - s.idle_sleeps, 10u);
}
