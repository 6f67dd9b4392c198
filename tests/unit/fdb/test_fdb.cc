/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/fdb, one thread: learning, bulk lookups, aging on the injected
 * clock, moves, the size bound, VLANs, flushes, static entries, the learn
 * ring bound, iteration, counters and grace periods.
 */
#include "fdb_test.h"

#include <chrono>
#include <ctime>
#include <map>
#include <thread>
#include <tuple>
#include <vector>

#include <unistd.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace fdbt {
namespace {

using Fdb = FdbTest;

/* ---- learning ---------------------------------------------------------- */

TEST_F(Fdb, LearningSourceAppearsAfterProcess)
{
	make();
	struct fdb_key k = key(0, 1);

	EXPECT_EQ(see(k, 3), 1);
	EXPECT_EQ(lookup(k), FDB_PORT_NONE) << "the lcore must not write the table";
	EXPECT_EQ(process(), 1u);
	EXPECT_EQ(lookup(k), 3);

	struct fdb_stats st = stats();
	EXPECT_EQ(st.entries, 1u);
	EXPECT_EQ(st.learned, 1u);
	EXPECT_EQ(st.learn_requests, 1u);
	EXPECT_EQ(st.learn_drops, 0u);
}

/*
 * The learn doorbell: the requests that find the learn ring empty make
 * fdb_learn_fd() readable (one write per learning burst, however many
 * requests follow before a drain), fdb_process() resets it, and the next
 * new source after the drain rings again. A known source rings nothing.
 */
TEST_F(Fdb, LearnDoorbellRingsWhenTheRingWasEmpty)
{
	make();
	ASSERT_GE(fdb_learn_fd(fdb), 0);
	EXPECT_EQ(take_doorbell(), 0u);
	EXPECT_EQ(see(key(0, 1), 3), 1);
	EXPECT_EQ(see(key(0, 2), 3), 1);
	EXPECT_EQ(see(key(0, 3), 4), 1);
	EXPECT_EQ(take_doorbell(), 1u) << "one ring for three requests queued before a drain";
	EXPECT_EQ(see(key(0, 4), 4), 1);
	EXPECT_EQ(process(), 4u);
	EXPECT_EQ(take_doorbell(), 0u) << "fdb_process() resets the doorbell";
	EXPECT_EQ(see(key(0, 1), 3), 0) << "known";
	EXPECT_EQ(take_doorbell(), 0u);
	advance_ms(FDB_DOORBELL_GAP_MS);
	EXPECT_EQ(see(key(0, 5), 3), 1);
	EXPECT_EQ(take_doorbell(), 1u) << "the ring was drained: the next request rings";
	EXPECT_EQ(process(), 1u);
}

/* A ring skipped inside the gap is owed: a host still unknown asks again
 * with its next frames, and the first request after the gap rings although
 * the ring is not empty (without it the host waited for the owner's timer,
 * up to 100 ms of flooding in the switch benchmark). */
TEST_F(Fdb, LearnDoorbellSkippedInsideTheGapRingsAfterIt)
{
	make();
	ASSERT_GE(fdb_learn_fd(fdb), 0);
	EXPECT_EQ(see(key(0, 1), 3), 1);
	EXPECT_EQ(take_doorbell(), 1u);
	EXPECT_EQ(process(), 1u);
	EXPECT_EQ(see(key(0, 2), 4), 1);
	EXPECT_EQ(take_doorbell(), 0u) << "inside the gap";
	EXPECT_EQ(see(key(0, 2), 4), 1);
	EXPECT_EQ(take_doorbell(), 0u) << "still inside the gap";
	advance_ms(FDB_DOORBELL_GAP_MS);
	EXPECT_EQ(see(key(0, 2), 4), 1);
	EXPECT_EQ(take_doorbell(), 1u) << "owed: rings into a ring that is not empty";
	EXPECT_EQ(process(), 1u);
	EXPECT_EQ(lookup(key(0, 2)), 4u);
	advance_ms(FDB_DOORBELL_GAP_MS);
	EXPECT_EQ(see(key(0, 3), 4), 1);
	EXPECT_EQ(see(key(0, 4), 4), 1);
	EXPECT_EQ(take_doorbell(), 1u) << "paid: one ring, then the empty-ring rule again";
}

/* A guest sending ever-new source addresses: each request finds the ring
 * just drained. The lcore's system calls are bounded by the clock, not by
 * the control thread's passes; what was not rung for is still learnt. */
TEST_F(Fdb, LearnDoorbellStormRingsAtMostOncePerGap)
{
	make();
	const unsigned int per_ms = 50, ms = 4;
	uint64_t rings = 0;
	uint32_t n = 1;

	ASSERT_GE(fdb_learn_fd(fdb), 0);
	for (unsigned int t = 0; t < ms; t++) {
		for (unsigned int i = 0; i < per_ms; i++) {
			ASSERT_EQ(see(key(0, n++), 3), 1);
			rings += take_doorbell();
			/* The control thread's pass; it learns whatever is queued. */
			ASSERT_EQ(process(), 1u);
		}
		advance_ms(FDB_DOORBELL_GAP_MS);
	}
	EXPECT_EQ(rings, (uint64_t)ms) << "one ring per gap, not one per pass";
	EXPECT_EQ(stats().entries, n - 1) << "every new source learnt";
	/* A clock that went back does not silence the doorbell. */
	clock_ms -= 1000;
	EXPECT_EQ(see(key(0, n++), 3), 1);
	EXPECT_EQ(take_doorbell(), 1u);
	EXPECT_EQ(process(), 1u);
}

TEST_F(Fdb, LearningKnownSourceOnSamePortAsksNothing)
{
	make();
	struct fdb_key k = key(0, 1);

	learn(k, 3);
	EXPECT_EQ(see(k, 3), 0);
	advance_s(5);
	EXPECT_EQ(see(k, 3), 0) << "a refresh is a store, not a request";
	EXPECT_EQ(stats().learn_requests, 1u);
}

TEST_F(Fdb, LearningBurstFromOneHostAsksOnce)
{
	make();
	std::vector<struct fdb_key> keys(32, key(0, 7));
	std::vector<uint16_t> ports(32, 2);

	EXPECT_EQ(fdb_learn_bulk(fdb, keys.data(), ports.data(), 32, now()), 1);
	ports[31] = 4; /* the same host also on port 4 in the same burst */
	EXPECT_EQ(fdb_learn_bulk(fdb, keys.data(), ports.data(), 32, now()), 1);
	process();
	EXPECT_EQ(lookup(keys[0]), 4) << "the last port in the burst wins";
}

TEST_F(Fdb, LearningIgnoresMulticastZeroSourceAndNoPort)
{
	make();
	struct rte_ether_addr mc = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 } };
	struct rte_ether_addr bc = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct rte_ether_addr zero = {};
	struct fdb_key keys[4] = { fdb_key_make(0, &mc), fdb_key_make(0, &bc),
				   fdb_key_make(0, &zero), key(0, 1) };
	uint16_t ports[4] = { 1, 1, 1, FDB_PORT_NONE };

	EXPECT_EQ(fdb_learn_bulk(fdb, keys, ports, 4, now()), 0);
	process();
	EXPECT_EQ(stats().entries, 0u);
}

TEST_F(Fdb, LearningRejectsOversizedBursts)
{
	make();
	std::vector<struct fdb_key> keys(FDB_BULK_MAX + 1, key(0, 1));
	std::vector<uint16_t> ports(FDB_BULK_MAX + 1, 1);

	EXPECT_EQ(fdb_learn_bulk(fdb, keys.data(), ports.data(), FDB_BULK_MAX + 1, now()), -EINVAL);
	EXPECT_EQ(fdb_learn_bulk(fdb, keys.data(), ports.data(), 0, now()), 0);
}

/* ---- bulk lookups -------------------------------------------------------- */

TEST_F(Fdb, LookupBulkReturnsPortsHitMaskAndCounts)
{
	make();
	std::vector<struct fdb_key> keys;

	for (uint32_t i = 0; i < FDB_BULK_MAX; i++) {
		keys.push_back(key(1, i));
		if (i % 2 == 0)
			see(keys.back(), (uint16_t)(i + 100));
	}
	process();

	std::vector<uint16_t> ports(FDB_BULK_MAX, 0);
	uint64_t hits = 0;
	EXPECT_EQ(fdb_lookup_bulk(fdb, keys.data(), FDB_BULK_MAX, ports.data(), &hits),
		  (int)FDB_BULK_MAX / 2);
	EXPECT_EQ(hits, 0x5555555555555555ull);
	for (uint32_t i = 0; i < FDB_BULK_MAX; i++)
		EXPECT_EQ(ports[i], i % 2 == 0 ? i + 100 : FDB_PORT_NONE) << "key " << i;

	/* 32-key bursts without a hit mask, as the datapath calls it. */
	EXPECT_EQ(fdb_lookup_bulk(fdb, keys.data(), 32, ports.data(), nullptr), 16);

	struct fdb_stats st = stats();
	EXPECT_EQ(st.lookups, FDB_BULK_MAX + 32);
	EXPECT_EQ(st.lookup_misses, FDB_BULK_MAX / 2 + 16);
}

TEST_F(Fdb, LookupBulkRejectsOversizedBursts)
{
	make();
	std::vector<struct fdb_key> keys(FDB_BULK_MAX + 1, key(0, 1));
	std::vector<uint16_t> ports(FDB_BULK_MAX + 1);
	uint64_t hits = 1;

	EXPECT_EQ(fdb_lookup_bulk(fdb, keys.data(), FDB_BULK_MAX + 1, ports.data(), &hits),
		  -EINVAL);
	EXPECT_EQ(hits, 0u);
	EXPECT_EQ(fdb_lookup_bulk(fdb, keys.data(), 0, ports.data(), &hits), 0);
}

/* ---- aging --------------------------------------------------------------- */

TEST_F(Fdb, AgingRemovesEntryAfterAgingTime)
{
	make(0, 0, nullptr, 300);
	struct fdb_key k = key(0, 1);

	learn(k, 1);
	advance_s(300);
	process();
	EXPECT_EQ(lookup(k), 1) << "idle for exactly the aging time: not yet";
	advance_s(2);
	EXPECT_EQ(process(), 1u);
	EXPECT_EQ(lookup(k), FDB_PORT_NONE);
	EXPECT_EQ(stats().aged, 1u);
	EXPECT_EQ(stats().entries, 0u);
}

TEST_F(Fdb, AgingKeepsRefreshedEntries)
{
	make(0, 0, nullptr, 300);
	struct fdb_key busy = key(0, 1), idle = key(0, 2);

	learn(busy, 1);
	learn(idle, 2);
	for (int i = 0; i < 6; i++) {
		advance_s(100);
		EXPECT_EQ(see(busy, 1), 0);
		process();
	}
	EXPECT_EQ(lookup(busy), 1);
	EXPECT_EQ(lookup(idle), FDB_PORT_NONE);
	advance_s(302);
	process();
	EXPECT_EQ(lookup(busy), FDB_PORT_NONE) << "once it stops talking, it ages too";
	EXPECT_EQ(stats().aged, 2u);
}

TEST_F(Fdb, AgingNeverRemovesStaticEntries)
{
	make(0, 0, nullptr, 10);
	struct rte_ether_addr m = mac(9);

	ASSERT_EQ(fdb_add_static(fdb, 5, &m, 7), 0);
	advance_s(1000000);
	process();
	EXPECT_EQ(lookup(fdb_key_make(5, &m)), 7);
	EXPECT_EQ(stats().aged, 0u);
}

TEST_F(Fdb, AgingTimeIsSettableAndZeroDisables)
{
	make();
	struct fdb_key k = key(0, 1);

	fdb_set_aging(fdb, 0);
	learn(k, 1);
	advance_s(100000);
	process();
	EXPECT_EQ(lookup(k), 1);

	fdb_set_aging(fdb, 10);
	see(k, 1); /* refresh: idle since now */
	advance_s(10);
	process();
	EXPECT_EQ(lookup(k), 1);
	advance_s(1);
	process();
	EXPECT_EQ(lookup(k), FDB_PORT_NONE);
}

TEST_F(Fdb, AgingToleratesTimestampsAheadOfTheControlClock)
{
	make(0, 0, nullptr, 300);
	struct fdb_key k = key(0, 1);
	uint16_t port = 1;

	learn(k, 1);
	/* An lcore read the clock a little later than the control thread. */
	fdb_learn_bulk(fdb, &k, &port, 1, now() + 5000);
	advance_s(1);
	process();
	EXPECT_EQ(lookup(k), 1);
}

/* ---- moves --------------------------------------------------------------- */

TEST_F(Fdb, MoveToAnotherPortUpdatesEntry)
{
	make();
	struct fdb_key k = key(3, 1);

	learn(k, 1);
	EXPECT_EQ(see(k, 2), 1) << "a move is a request";
	EXPECT_EQ(lookup(k), 1) << "until the control thread applies it";
	EXPECT_EQ(process(), 1u);
	EXPECT_EQ(lookup(k), 2);
	EXPECT_EQ(see(k, 2), 0);

	struct fdb_stats st = stats();
	EXPECT_EQ(st.moves, 1u);
	EXPECT_EQ(st.learned, 1u);
	EXPECT_EQ(st.entries, 1u);
}

TEST_F(Fdb, MoveNeverOverridesStaticEntry)
{
	make();
	struct rte_ether_addr m = mac(1);
	struct fdb_key k = fdb_key_make(0, &m);

	ASSERT_EQ(fdb_add_static(fdb, 0, &m, 1), 0);
	EXPECT_EQ(see(k, 2), 0) << "a static entry asks nothing";
	process();
	EXPECT_EQ(lookup(k), 1);
	EXPECT_EQ(stats().moves, 0u);
}

/* ---- size bound ---------------------------------------------------------- */

TEST_F(Fdb, SizeLimitRefusesNewKeysAndCountsThem)
{
	const uint32_t max = 64;
	make(max);

	for (uint32_t i = 0; i < 100; i++) {
		see(key(0, i), 1);
		process();
	}
	struct fdb_stats st = stats();
	EXPECT_EQ(st.entries, max);
	EXPECT_EQ(st.max_entries, max);
	EXPECT_EQ(st.learned, max);
	EXPECT_EQ(st.learn_full, 100 - max);
	EXPECT_EQ(lookup(key(0, 0)), 1) << "established entries are kept";
	EXPECT_EQ(lookup(key(0, 99)), FDB_PORT_NONE);

	/* Known keys still move at the bound; static adds are refused. */
	learn(key(0, 5), 2);
	EXPECT_EQ(lookup(key(0, 5)), 2);
	struct rte_ether_addr m = mac(1000);
	EXPECT_EQ(fdb_add_static(fdb, 0, &m, 1), -ENOSPC);

	/* Room comes back when an entry goes. */
	struct rte_ether_addr m0 = mac(0);
	ASSERT_EQ(fdb_del(fdb, 0, &m0), 0);
	learn(key(0, 99), 1);
	EXPECT_EQ(lookup(key(0, 99)), 1);
	EXPECT_EQ(stats().entries, max);
}

TEST_F(Fdb, SizeLimitAgingMakesRoom)
{
	make(8, 0, nullptr, 60);
	for (uint32_t i = 0; i < 8; i++)
		learn(key(0, i), 1);
	learn(key(0, 100), 1);
	EXPECT_EQ(stats().learn_full, 1u);
	advance_s(61);
	process();
	learn(key(0, 100), 1);
	EXPECT_EQ(lookup(key(0, 100)), 1);
	EXPECT_EQ(stats().entries, 1u);
}

TEST_F(Fdb, SizeLimitDefaultHolds64kEntries)
{
	make();
	struct fdb_stats st = stats();
	ASSERT_EQ(st.max_entries, FDB_DEFAULT_ENTRIES);

	/* Cuckoo collisions must not make the table "full" early. */
	for (uint32_t i = 0; i < FDB_DEFAULT_ENTRIES; i++) {
		struct rte_ether_addr m = mac(i * 2654435761u);
		ASSERT_EQ(fdb_add_static(fdb, (uint16_t)(i & 0xfff), &m, (uint16_t)(i & 0x7fff)), 0)
			<< "entry " << i;
	}
	struct rte_ether_addr m = mac(0xdeadbeef);
	EXPECT_EQ(fdb_add_static(fdb, 0, &m, 1), -ENOSPC);
	EXPECT_EQ(stats().entries, FDB_DEFAULT_ENTRIES);
}

/* ---- VLANs --------------------------------------------------------------- */

TEST_F(Fdb, VlanSameMacOnTwoVlansMapsToTwoPorts)
{
	make();
	learn(key(10, 1), 1);
	learn(key(20, 1), 2);
	EXPECT_EQ(lookup(key(10, 1)), 1);
	EXPECT_EQ(lookup(key(20, 1)), 2);
	EXPECT_EQ(lookup(key(30, 1)), FDB_PORT_NONE);
	EXPECT_EQ(stats().entries, 2u);
	EXPECT_EQ(stats().moves, 0u) << "another VLAN is another key, not a move";

	struct rte_ether_addr m = mac(1);
	ASSERT_EQ(fdb_del(fdb, 10, &m), 0);
	EXPECT_EQ(lookup(key(20, 1)), 2);
}

TEST_F(Fdb, VlanIdsAreTwelveBits)
{
	make();
	struct rte_ether_addr m = mac(1);

	EXPECT_EQ(fdb_key_make(0x1005, &m).vlan, 5);
	EXPECT_EQ(fdb_add_static(fdb, 4096, &m, 1), -EINVAL);
	EXPECT_EQ(fdb_del(fdb, 4096, &m), -EINVAL);
	EXPECT_EQ(fdb_add_static(fdb, 4095, &m, 1), 0);
	EXPECT_EQ(lookup(key(4095, 1)), 1);
}

/* ---- flushes ------------------------------------------------------------- */

TEST_F(Fdb, FlushRemovesDynamicEntriesKeepsStatic)
{
	make();
	struct rte_ether_addr s = mac(100);

	learn(key(0, 1), 1);
	learn(key(0, 2), 2);
	ASSERT_EQ(fdb_add_static(fdb, 0, &s, 3), 0);
	see(key(0, 3), 1); /* pending, not yet processed */

	EXPECT_EQ(fdb_flush(fdb), 2u);
	process();
	EXPECT_EQ(lookup(key(0, 1)), FDB_PORT_NONE);
	EXPECT_EQ(lookup(key(0, 2)), FDB_PORT_NONE);
	EXPECT_EQ(lookup(key(0, 3)), FDB_PORT_NONE) << "pending requests are flushed too";
	EXPECT_EQ(lookup(key(0, 100)), 3);
	struct fdb_stats st = stats();
	EXPECT_EQ(st.entries, 1u);
	EXPECT_EQ(st.removed, 2u);

	learn(key(0, 1), 1);
	EXPECT_EQ(lookup(key(0, 1)), 1) << "learning goes on after a flush";
}

TEST_F(Fdb, FlushPortRemovesOnlyThatPortStaticIncluded)
{
	make();
	struct rte_ether_addr s1 = mac(100), s2 = mac(101);

	learn(key(0, 1), 1);
	learn(key(1, 1), 1);
	learn(key(0, 2), 2);
	ASSERT_EQ(fdb_add_static(fdb, 0, &s1, 1), 0);
	ASSERT_EQ(fdb_add_static(fdb, 0, &s2, 2), 0);
	see(key(0, 3), 1); /* pending for the port going away */
	see(key(0, 4), 2); /* pending for another port */

	EXPECT_EQ(fdb_flush_port(fdb, 1), 3u);
	process();
	EXPECT_EQ(lookup(key(0, 1)), FDB_PORT_NONE);
	EXPECT_EQ(lookup(key(1, 1)), FDB_PORT_NONE);
	EXPECT_EQ(lookup(key(0, 100)), FDB_PORT_NONE);
	EXPECT_EQ(lookup(key(0, 3)), FDB_PORT_NONE);
	EXPECT_EQ(lookup(key(0, 2)), 2);
	EXPECT_EQ(lookup(key(0, 101)), 2);
	EXPECT_EQ(lookup(key(0, 4)), 2);
	struct fdb_stats st = stats();
	EXPECT_EQ(st.entries, 3u);
	EXPECT_EQ(st.static_entries, 1u);
}

/* ---- static entries ------------------------------------------------------ */

TEST_F(Fdb, StaticAddAndDelete)
{
	make();
	struct rte_ether_addr m = mac(1);

	ASSERT_EQ(fdb_add_static(fdb, 0, &m, 4), 0);
	EXPECT_EQ(lookup(key(0, 1)), 4);
	EXPECT_EQ(stats().static_entries, 1u);
	ASSERT_EQ(fdb_add_static(fdb, 0, &m, 5), 0) << "re-adding changes the port";
	EXPECT_EQ(lookup(key(0, 1)), 5);
	EXPECT_EQ(stats().entries, 1u);
	EXPECT_EQ(stats().static_entries, 1u);

	EXPECT_EQ(fdb_del(fdb, 0, &m), 0);
	EXPECT_EQ(lookup(key(0, 1)), FDB_PORT_NONE);
	EXPECT_EQ(fdb_del(fdb, 0, &m), -ENOENT);
	struct fdb_stats st = stats();
	EXPECT_EQ(st.entries, 0u);
	EXPECT_EQ(st.static_entries, 0u);
	EXPECT_EQ(st.removed, 1u);

	EXPECT_EQ(fdb_add_static(fdb, 0, &m, FDB_PORT_NONE), -EINVAL);
}

TEST_F(Fdb, StaticAddOverridesLearnedEntry)
{
	make(0, 0, nullptr, 10);
	struct rte_ether_addr m = mac(1);

	learn(key(0, 1), 1);
	ASSERT_EQ(fdb_add_static(fdb, 0, &m, 2), 0);
	EXPECT_EQ(lookup(key(0, 1)), 2);
	EXPECT_EQ(stats().entries, 1u);
	advance_s(100);
	process();
	EXPECT_EQ(lookup(key(0, 1)), 2) << "now static: does not age";
}

TEST_F(Fdb, DeleteDynamicEntry)
{
	make();
	struct rte_ether_addr m = mac(1);

	learn(key(0, 1), 1);
	EXPECT_EQ(fdb_del(fdb, 0, &m), 0);
	EXPECT_EQ(lookup(key(0, 1)), FDB_PORT_NONE);
	EXPECT_EQ(see(key(0, 1), 1), 1) << "a deleted source is learned again";
}

/* ---- learn ring bound ---------------------------------------------------- */

TEST_F(Fdb, LearnRingOverflowIsDroppedAndCounted)
{
	make(0, 16);
	uint32_t queued = 0;

	for (uint32_t i = 0; i < 40; i += 8) {
		struct fdb_key keys[8];
		uint16_t ports[8];

		for (uint32_t j = 0; j < 8; j++) {
			keys[j] = key(0, i + j);
			ports[j] = 1;
		}
		queued += (uint32_t)fdb_learn_bulk(fdb, keys, ports, 8, now());
	}
	EXPECT_EQ(queued, 16u);
	struct fdb_stats st = stats();
	EXPECT_EQ(st.learn_requests, 16u);
	EXPECT_EQ(st.learn_drops, 24u);

	process();
	EXPECT_EQ(stats().entries, 16u);
	see(key(0, 39), 1);
	process();
	EXPECT_EQ(lookup(key(0, 39)), 1) << "a dropped source is learned from a later frame";
}

/* ---- iteration ----------------------------------------------------------- */

TEST_F(Fdb, IterateShowsEveryEntryWithAge)
{
	make();
	struct rte_ether_addr s = mac(50);
	using Row = std::tuple<uint16_t, uint16_t, bool, uint32_t>; /* vlan, port, static, age */
	std::map<uint32_t, Row> seen;

	learn(key(7, 1), 1);
	advance_s(30);
	learn(key(8, 2), 2);
	ASSERT_EQ(fdb_add_static(fdb, 9, &s, 3), 0);
	advance_s(5);

	auto cb = [](const struct fdb_entry_info *e, void *arg) -> int {
		auto *m = static_cast<std::map<uint32_t, Row> *>(arg);
		uint32_t n = (uint32_t)e->mac.addr_bytes[2] << 24 | e->mac.addr_bytes[3] << 16 |
			     e->mac.addr_bytes[4] << 8 | e->mac.addr_bytes[5];

		(*m)[n] = Row(e->vlan, e->port, e->is_static, e->age_s);
		return 0;
	};
	ASSERT_EQ(fdb_iterate(fdb, cb, &seen), 0);
	ASSERT_EQ(seen.size(), 3u);
	EXPECT_EQ(seen[1], Row(7, 1, false, 35));
	EXPECT_EQ(seen[2], Row(8, 2, false, 5));
	EXPECT_EQ(seen[50], Row(9, 3, true, 0));

	int calls = 0;
	auto stop = [](const struct fdb_entry_info *, void *arg) -> int {
		++*static_cast<int *>(arg);
		return 42;
	};
	EXPECT_EQ(fdb_iterate(fdb, stop, &calls), 42);
	EXPECT_EQ(calls, 1);
}

/* ---- counters ------------------------------------------------------------ */

TEST_F(Fdb, CountersFromManyThreadsAddUp)
{
	make();
	const int threads = 4, rounds = 1000;
	learn(key(0, 1), 1);

	/* Two lcore-registered threads (own slots) and two plain threads
	 * (the shared atomic slot). */
	std::vector<std::thread> ts;
	for (int t = 0; t < threads; t++) {
		ts.emplace_back([this, t] {
			bool reg = t % 2 == 0 && rte_thread_register() == 0;
			struct fdb_key ks[2] = { key(0, 1), key(0, 2) };
			uint16_t ports[2];

			for (int r = 0; r < rounds; r++)
				fdb_lookup_bulk(fdb, ks, 2, ports, nullptr);
			if (reg)
				rte_thread_unregister();
		});
	}
	for (auto &t : ts)
		t.join();
	struct fdb_stats st = stats();
	EXPECT_EQ(st.lookups, (uint64_t)threads * rounds * 2);
	EXPECT_EQ(st.lookup_misses, (uint64_t)threads * rounds);
}

/* ---- grace periods ------------------------------------------------------- */

/*
 * A reader that has not reported a quiescent state since a delete may still
 * hold the deleted key's position: the slot must not be handed to another
 * key. With a reader stuck, deletes use up the spare slots until adds fail
 * (refused, counted); one quiescent report frees them all.
 */
TEST_F(Fdb, GracePeriodDeletedSlotsWaitForReaders)
{
	struct rte_rcu_qsbr *v = qsbr_new(1);
	ASSERT_NE(v, nullptr);
	ASSERT_EQ(rte_rcu_qsbr_thread_register(v, 0), 0);
	rte_rcu_qsbr_thread_online(v, 0);
	make(8, 0, v);

	uint32_t n = 0, refused_at = 0;
	for (; n < 1000 && refused_at == 0; n++) {
		struct rte_ether_addr m = mac(n);

		if (fdb_add_static(fdb, 0, &m, 1) != 0)
			refused_at = n;
		else
			ASSERT_EQ(fdb_del(fdb, 0, &m), 0);
	}
	EXPECT_GT(refused_at, 8u) << "headroom beyond max_entries";
	EXPECT_LT(refused_at, 1000u) << "deleted slots were reused without a grace period";
	EXPECT_EQ(stats().entries, 0u);

	rte_rcu_qsbr_quiescent(v, 0);
	struct rte_ether_addr m = mac(5000);
	EXPECT_EQ(fdb_add_static(fdb, 0, &m, 1), 0) << "slots come back after the grace period";

	rte_rcu_qsbr_thread_offline(v, 0);
	rte_rcu_qsbr_thread_unregister(v, 0);
	fdb_destroy(fdb);
	fdb = nullptr;
	rte_free(v);
}

TEST_F(Fdb, CreateRejectsBadParameters)
{
	struct fdb_params p = {};

	p.aging_s = UINT32_MAX;
	EXPECT_EQ(fdb_create(&p), nullptr);
	EXPECT_EQ(fdb_create(nullptr), nullptr);
	fdb_destroy(nullptr);
}

/* The default clock (no now_ms given) is the TSC in ms: it must run at the
 * rate of CLOCK_MONOTONIC, never backwards, so that aging in seconds means
 * seconds. A wrong divisor (Hz instead of kHz, say) is off by 1000x. */
static uint64_t
monotonic_ms()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

TEST(FdbClock, DefaultClockRunsAtMonotonicRate)
{
	struct fdb_params p = {};
	p.socket_id = SOCKET_ID_ANY;
	struct fdb *f = fdb_create(&p);
	ASSERT_NE(f, nullptr);

	ASSERT_GE(rte_get_tsc_hz(), 1000u) << "no TSC rate: the test would check the fallback";
	/* Both clocks read at one instant: the fdb clock between two monotonic
	 * reads less than 1 ms apart (retried if the thread was descheduled). */
	auto pair = [f](uint64_t *fdb_ms, uint64_t *mono_ms) {
		for (int tries = 0; tries < 100; tries++) {
			uint64_t a = monotonic_ms();
			*fdb_ms = fdb_now_ms(f);
			*mono_ms = monotonic_ms();
			if (*mono_ms - a <= 1)
				return true;
		}
		return false;
	};
	uint64_t f0, m0, f1, m1;
	ASSERT_TRUE(pair(&f0, &m0));
	uint64_t prev = f0;
	for (int i = 0; i < 40; i++) { /* 400 ms in steps, checking order */
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
		uint64_t t = fdb_now_ms(f);
		EXPECT_GE(t, prev) << "the clock went backwards";
		prev = t;
	}
	ASSERT_TRUE(pair(&f1, &m1));
	int64_t df = (int64_t)(f1 - f0), dm = (int64_t)(m1 - m0);
	EXPECT_GE(dm, 400);
	/* 1 ms per pair of reads plus rounding, and 1 % for the TSC rate EAL
	 * measured (off by 0.5 % at most). */
	EXPECT_NEAR((double)df, (double)dm, 4.0 + dm / 100.0);
	fdb_destroy(f);
}

} // namespace
} // namespace fdbt
