/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/fdb under concurrency: the control thread learns, moves, ages,
 * deletes and flushes while two reader threads do bulk lookups and learn
 * in a tight loop, reporting quiescent states to the table's qsbr between
 * bursts. Every port a lookup returns must be one the key was given at
 * some point (never another key's: that is what reusing a slot before the
 * grace period would produce). Run it under ASan/UBSan too.
 */
#include "fdb_test.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace fdbt {
namespace {

constexpr uint32_t kKeys = 256; /* key i: VLAN i % 4, MAC n = i */
constexpr uint32_t kGens = 255; /* ports of key i: i << 8 | gen, gen < 255 */
constexpr unsigned kReaders = 2;
/* Run at least this long and this much; on a loaded machine (2 cores,
 * 3 busy threads), the counts matter more than the time. */
constexpr auto kMinTime = std::chrono::milliseconds(1000);
constexpr auto kMaxTime = std::chrono::seconds(60);
constexpr uint64_t kMinWriterOps = 20000;
constexpr uint64_t kMinReaderBursts = 20000; /* each */

struct Shared {
	/* Bit g of valid[i]: port (i << 8 | g) was offered for key i. Set
	 * before the port can reach the table. */
	std::atomic<uint64_t> valid[kKeys][4] = {};
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> bad{ 0 };
	std::atomic<uint64_t> first_bad{ 0 }; /* key << 16 | port */
	std::atomic<uint64_t> hits{ 0 };
	std::atomic<uint64_t> bursts[kReaders] = {};
};

uint64_t
xorshift(uint64_t &s)
{
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

struct fdb_key
key_of(uint32_t i)
{
	return key((uint16_t)(i % 4), i);
}

uint16_t
offer(Shared &sh, uint32_t i, uint64_t &rnd)
{
	uint32_t g = (uint32_t)(xorshift(rnd) % kGens);

	sh.valid[i][g / 64].fetch_or(1ull << (g % 64));
	return (uint16_t)(i << 8 | g);
}

bool
was_valid(Shared &sh, uint32_t i, uint16_t port)
{
	uint32_t g = port & 0xff;

	return (port >> 8) == i && g < kGens && (sh.valid[i][g / 64].load() >> (g % 64)) & 1;
}

void
check(Shared &sh, uint32_t i, uint16_t port)
{
	if (was_valid(sh, i, port))
		return;
	if (sh.bad.fetch_add(1) == 0)
		sh.first_bad = (uint64_t)i << 16 | port;
}

/* A datapath lcore: 32-key lookups, some learning, a quiescent report per
 * loop, now and then offline for a while as an idle lcore would be. */
void
reader(struct fdb *fdb, struct rte_rcu_qsbr *v, unsigned int tid, Shared &sh)
{
	uint64_t rnd = 0x9e3779b97f4a7c15ull * (tid + 1);
	bool reg = rte_thread_register() == 0;
	uint64_t loops = 0;

	rte_rcu_qsbr_thread_register(v, tid);
	rte_rcu_qsbr_thread_online(v, tid);
	while (!sh.stop.load(std::memory_order_relaxed)) {
		struct fdb_key keys[32];
		uint32_t idx[32];
		uint16_t ports[32];
		uint64_t hit = 0;

		for (int j = 0; j < 32; j++) {
			idx[j] = (uint32_t)(xorshift(rnd) % kKeys);
			keys[j] = key_of(idx[j]);
		}
		int n = fdb_lookup_bulk(fdb, keys, 32, ports, &hit);
		for (int j = 0; j < 32; j++) {
			if ((hit >> j) & 1)
				check(sh, idx[j], ports[j]);
			else if (ports[j] != FDB_PORT_NONE)
				sh.bad++;
		}
		sh.hits += (uint64_t)n;

		if (loops % 4 == 0) {
			for (int j = 0; j < 8; j++)
				ports[j] = offer(sh, idx[j], rnd);
			fdb_learn_bulk(fdb, keys, ports, 8, fdb_now_ms(fdb));
		}
		rte_rcu_qsbr_quiescent(v, tid);
		sh.bursts[tid].store(++loops, std::memory_order_relaxed);
		if (loops % 4096 == 0) {
			rte_rcu_qsbr_thread_offline(v, tid);
			std::this_thread::yield();
			rte_rcu_qsbr_thread_online(v, tid);
		}
	}
	rte_rcu_qsbr_thread_offline(v, tid);
	rte_rcu_qsbr_thread_unregister(v, tid);
	if (reg)
		rte_thread_unregister();
}

struct IterCheck {
	Shared *sh;
	uint64_t entries;
};

int
iter_check(const struct fdb_entry_info *e, void *arg)
{
	auto *c = static_cast<IterCheck *>(arg);
	uint32_t i = (uint32_t)e->mac.addr_bytes[4] << 8 | e->mac.addr_bytes[5];

	EXPECT_EQ(e->vlan, i % 4);
	check(*c->sh, i, e->port);
	c->entries++;
	return 0;
}

TEST_F(FdbTest, ConcurrentLookupsSeeOnlyPortsTheKeyHad)
{
	auto sh = std::make_unique<Shared>();
	struct rte_rcu_qsbr *v = qsbr_new(kReaders);
	ASSERT_NE(v, nullptr);
	/* Small table (slots are recycled all the time), short aging. */
	make(512, 256, v, 2);

	std::vector<std::thread> readers;
	for (unsigned t = 0; t < kReaders; t++)
		readers.emplace_back(reader, fdb, v, t, std::ref(*sh));

	uint64_t rnd = 12345, ops = 0, statics = 0, dels = 0, flushes = 0;
	auto start = std::chrono::steady_clock::now();
	auto enough = [&] {
		auto t = std::chrono::steady_clock::now() - start;

		if (t > kMaxTime)
			return true;
		for (unsigned r = 0; r < kReaders; r++)
			if (sh->bursts[r].load() < kMinReaderBursts)
				return false;
		return ops >= kMinWriterOps && t >= kMinTime;
	};
	while (ops % 256 != 0 || !enough()) {
		uint32_t i = (uint32_t)(xorshift(rnd) % kKeys);
		struct rte_ether_addr m = mac(i);
		uint32_t op = (uint32_t)(xorshift(rnd) % 100);

		ops++;
		if (op < 50) {
			process();
		} else if (op < 65) {
			uint16_t port = offer(*sh, i, rnd);

			statics += fdb_add_static(fdb, (uint16_t)(i % 4), &m, port) == 0;
		} else if (op < 90) {
			dels += fdb_del(fdb, (uint16_t)(i % 4), &m) == 0;
		} else if (op < 92) {
			uint16_t p = lookup(key_of(i));
			if (p != FDB_PORT_NONE)
				flushes += fdb_flush_port(fdb, p) > 0;
		} else if (op < 93) {
			fdb_flush(fdb);
		} else if (op < 94) {
			IterCheck c = { sh.get(), 0 };
			fdb_iterate(fdb, iter_check, &c);
		} else {
			advance_ms(xorshift(rnd) % 300);
		}
		if (ops % 64 == 0)
			std::this_thread::yield(); /* 2 cores, 3 threads: let readers run */
	}
	sh->stop = true;
	for (auto &t : readers)
		t.join();

	struct fdb_stats st = stats();
	EXPECT_EQ(sh->bad.load(), 0u) << "first bad: key " << (sh->first_bad >> 16) << " port "
				      << (sh->first_bad & 0xffff);
	uint64_t bursts = 0;
	for (unsigned r = 0; r < kReaders; r++) {
		EXPECT_GE(sh->bursts[r].load(), kMinReaderBursts) << "reader " << r;
		bursts += sh->bursts[r].load();
	}
	EXPECT_GE(ops, kMinWriterOps);
	EXPECT_GT(sh->hits.load(), 0u);
	EXPECT_GT(st.learned, 0u);
	EXPECT_GT(st.moves, 0u);
	EXPECT_GT(st.aged, 0u);
	EXPECT_GT(dels, 0u);
	RecordProperty("writer_ops", std::to_string(ops));
	RecordProperty("reader_bursts", std::to_string(bursts));
	printf("writer ops %llu (static %llu, del %llu, flush_port %llu); reader bursts %llu, "
	       "hits %llu; learned %llu moves %llu aged %llu full %llu drops %llu\n",
	       (unsigned long long)ops, (unsigned long long)statics, (unsigned long long)dels,
	       (unsigned long long)flushes, (unsigned long long)bursts,
	       (unsigned long long)sh->hits.load(), (unsigned long long)st.learned,
	       (unsigned long long)st.moves, (unsigned long long)st.aged,
	       (unsigned long long)st.learn_full, (unsigned long long)st.learn_drops);

	/* Quiet now: the table agrees with itself. */
	IterCheck c = { sh.get(), 0 };
	fdb_iterate(fdb, iter_check, &c);
	EXPECT_EQ(c.entries, stats().entries);
	EXPECT_EQ(sh->bad.load(), 0u);

	fdb_destroy(fdb);
	fdb = nullptr;
	rte_free(v);
}

} // namespace
} // namespace fdbt
