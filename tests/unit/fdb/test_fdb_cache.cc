/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/fdb's per-lcore cache (fdb_cache.h), one thread: it answers as the
 * table does, never remembers a miss, forgets what the table deleted or
 * moved (del, flushes, aging, learning moves, static entries), spares the
 * table known sources within a second without changing aging, and stays
 * right when keys collide in a tiny cache.
 */
#include "fdb_test.h"

#include <vector>

#include <rte_errno.h>
#include <rte_memory.h>

#include "fdb_cache.h"

namespace fdbt {
namespace {

class FdbCache : public FdbTest {
protected:
	struct fdb_cache *cache = nullptr;

	void TearDown() override
	{
		fdb_cache_free(cache);
		FdbTest::TearDown();
	}

	void make_cache(uint32_t entries = 0, uint32_t aging_s = 0)
	{
		make(0, 0, nullptr, aging_s);
		cache = fdb_cache_create(fdb, entries, SOCKET_ID_ANY);
		ASSERT_NE(cache, nullptr);
	}

	uint16_t clookup(const struct fdb_key &k)
	{
		uint16_t p = 0;

		EXPECT_GE(fdb_cache_lookup_bulk(cache, &k, 1, &p), 0);
		return p;
	}

	int csee(const struct fdb_key &k, uint16_t port)
	{
		return fdb_cache_learn_bulk(cache, &k, &port, 1, now());
	}
};

TEST_F(FdbCache, AnswersAsTheTableAndCountsItsHits)
{
	make_cache();
	std::vector<struct fdb_key> keys;

	for (uint32_t i = 0; i < FDB_BULK_MAX; i++) {
		keys.push_back(key(3, i));
		if (i % 3 != 0)
			learn(keys.back(), (uint16_t)(i % 7));
	}
	unsigned int known = 0;
	std::vector<uint16_t> want(FDB_BULK_MAX), got(FDB_BULK_MAX, 0);
	ASSERT_GE(fdb_lookup_bulk(fdb, keys.data(), FDB_BULK_MAX, want.data(), nullptr), 0);
	for (uint16_t p : want)
		known += p != FDB_PORT_NONE;
	struct fdb_stats before = stats();

	for (int pass = 0; pass < 2; pass++) {
		EXPECT_EQ(fdb_cache_lookup_bulk(cache, keys.data(), FDB_BULK_MAX, got.data()),
			  (int)known);
		EXPECT_EQ(got, want) << "pass " << pass;
	}
	struct fdb_stats st = stats();
	EXPECT_EQ(st.lookups - before.lookups, 2u * FDB_BULK_MAX);
	EXPECT_EQ(st.lookup_misses - before.lookup_misses, 2u * (FDB_BULK_MAX - known));
	EXPECT_EQ(st.cache_hits - before.cache_hits, (uint64_t)known)
		<< "the first pass fills the cache, the second is answered from it";
}

TEST_F(FdbCache, NeverRemembersAMiss)
{
	make_cache();
	struct fdb_key k = key(1, 1);

	EXPECT_EQ(clookup(k), FDB_PORT_NONE);
	learn(k, 4); /* adding a key does not bump the generation */
	EXPECT_EQ(clookup(k), 4) << "a host learned after a miss is found at once";
}

TEST_F(FdbCache, ForgetsADeletedKey)
{
	make_cache();
	struct fdb_key k = key(1, 1), other = key(1, 2);

	learn(k, 4);
	learn(other, 5);
	ASSERT_EQ(clookup(k), 4);
	ASSERT_EQ(clookup(other), 5);
	ASSERT_EQ(fdb_del(fdb, 1, &k.mac), 0);
	EXPECT_EQ(clookup(k), FDB_PORT_NONE);
	EXPECT_EQ(clookup(other), 5);
}

TEST_F(FdbCache, FollowsAMoveLearnedThroughIt)
{
	make_cache();
	struct fdb_key k = key(2, 9);

	learn(k, 1);
	EXPECT_EQ(csee(k, 1), 0) << "known on its port: nothing to ask";
	EXPECT_EQ(clookup(k), 1);
	EXPECT_EQ(csee(k, 2), 1) << "the cache knows port 1; port 2 must still be reported";
	EXPECT_EQ(clookup(k), 1) << "not moved before the control thread applies it";
	process();
	EXPECT_EQ(clookup(k), 2);
	EXPECT_EQ(stats().moves, 1u);
}

TEST_F(FdbCache, FollowsAStaticEntryOverALearnedOne)
{
	make_cache();
	struct fdb_key k = key(7, 3);

	learn(k, 1);
	ASSERT_EQ(clookup(k), 1);
	ASSERT_EQ(fdb_add_static(fdb, 7, &k.mac, 6), 0);
	EXPECT_EQ(clookup(k), 6);
}

TEST_F(FdbCache, ForgetsFlushedAndAgedEntries)
{
	make_cache(0, 10);
	struct fdb_key a = key(1, 1), b = key(1, 2), c = key(1, 3);

	learn(a, 1);
	learn(b, 2);
	learn(c, 3);
	ASSERT_EQ(clookup(a), 1);
	ASSERT_EQ(clookup(b), 2);
	ASSERT_EQ(clookup(c), 3);

	EXPECT_EQ(fdb_flush_port(fdb, 2), 1u);
	EXPECT_EQ(clookup(b), FDB_PORT_NONE);
	EXPECT_EQ(clookup(a), 1);

	advance_s(5);
	EXPECT_EQ(csee(c, 3), 0); /* c keeps talking, a does not */
	process();
	advance_s(7);
	process();
	EXPECT_EQ(clookup(a), FDB_PORT_NONE) << "aged out: the cache must not keep it";
	EXPECT_EQ(clookup(c), 3);

	EXPECT_EQ(fdb_flush(fdb), 1u);
	EXPECT_EQ(clookup(c), FDB_PORT_NONE);
}

TEST_F(FdbCache, SparesTheTableWithinASecondOnly)
{
	make_cache();
	struct fdb_key k = key(4, 4);

	learn(k, 1);
	advance_ms(100); /* 0.1 s into a second */
	EXPECT_EQ(csee(k, 1), 0);
	EXPECT_EQ(stats().learn_cache_hits, 0u) << "first time: the table refreshes it";
	advance_ms(800);
	EXPECT_EQ(csee(k, 1), 0);
	EXPECT_EQ(stats().learn_cache_hits, 1u) << "same second: the cache answers";
	advance_ms(200);
	EXPECT_EQ(csee(k, 1), 0);
	EXPECT_EQ(stats().learn_cache_hits, 1u) << "a new second: the table again";
	EXPECT_EQ(csee(k, 1), 0);
	EXPECT_EQ(stats().learn_cache_hits, 2u);
}

TEST_F(FdbCache, KeepsATalkingHostFromAgingAndLetsASilentOneGo)
{
	make_cache(0, 10);
	struct fdb_key k = key(5, 5);

	learn(k, 2);
	for (int i = 0; i < 60; i++) { /* 30 s of traffic, aging is 10 s */
		advance_ms(500);
		EXPECT_EQ(csee(k, 2), 0);
		process();
	}
	EXPECT_EQ(lookup(k), 2) << "the cache must not stop last_seen refreshes";
	EXPECT_EQ(stats().aged, 0u);
	advance_s(12);
	process();
	EXPECT_EQ(clookup(k), FDB_PORT_NONE);
	EXPECT_EQ(stats().aged, 1u);
}

TEST_F(FdbCache, NewHostsAreStillReported)
{
	make_cache();
	std::vector<struct fdb_key> keys;
	std::vector<uint16_t> ports;

	for (uint32_t i = 0; i < 32; i++) {
		keys.push_back(key(6, i));
		ports.push_back((uint16_t)(i % 4));
	}
	EXPECT_EQ(fdb_cache_learn_bulk(cache, keys.data(), ports.data(), 32, now()), 32);
	EXPECT_EQ(process(), 32u);
	for (uint32_t i = 0; i < 32; i++)
		EXPECT_EQ(clookup(keys[i]), ports[i]);
}

TEST_F(FdbCache, CollisionsInATinyCacheNeverMixKeysUp)
{
	make_cache(4);
	std::vector<struct fdb_key> keys;
	std::vector<uint16_t> want;

	for (uint32_t i = 0; i < FDB_BULK_MAX; i++) {
		keys.push_back(key((uint16_t)(i % 5), i * 7919));
		want.push_back((uint16_t)(100 + i));
		learn(keys.back(), want.back());
	}
	std::vector<uint16_t> got(FDB_BULK_MAX);
	for (int pass = 0; pass < 3; pass++) {
		ASSERT_EQ(fdb_cache_lookup_bulk(cache, keys.data(), FDB_BULK_MAX, got.data()),
			  (int)FDB_BULK_MAX);
		EXPECT_EQ(got, want) << "pass " << pass;
		for (uint32_t i = 0; i < FDB_BULK_MAX; i += 5)
			EXPECT_EQ(clookup(keys[i]), want[i]);
	}
	EXPECT_LE(stats().cache_hits, 4u * 3u + FDB_BULK_MAX / 5 * 3u)
		<< "4 slots cannot hold 64 keys";
}

TEST_F(FdbCache, RejectsBadSizes)
{
	make();
	rte_errno = 0;
	EXPECT_EQ(fdb_cache_create(fdb, 3, SOCKET_ID_ANY), nullptr);
	EXPECT_EQ(rte_errno, EINVAL);
	EXPECT_EQ(fdb_cache_create(nullptr, 0, SOCKET_ID_ANY), nullptr);
	cache = fdb_cache_create(fdb, 0, SOCKET_ID_ANY);
	ASSERT_NE(cache, nullptr);
	std::vector<struct fdb_key> keys(FDB_BULK_MAX + 1, key(0, 1));
	std::vector<uint16_t> ports(FDB_BULK_MAX + 1, 1);
	EXPECT_EQ(fdb_cache_lookup_bulk(cache, keys.data(), FDB_BULK_MAX + 1, ports.data()),
		  -EINVAL);
	EXPECT_EQ(fdb_cache_learn_bulk(cache, keys.data(), ports.data(), FDB_BULK_MAX + 1, now()),
		  -EINVAL);
	EXPECT_EQ(fdb_cache_lookup_bulk(cache, keys.data(), 0, ports.data()), 0);
}

} // namespace
} // namespace fdbt
