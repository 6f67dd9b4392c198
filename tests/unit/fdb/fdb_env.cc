/* SPDX-License-Identifier: BSD-3-Clause */
#include "fdb_test.h"

#include <unistd.h>

#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace fdbt {

namespace {

/*
 * EAL once per test binary (rte_hash and rte_ring need it): no hugepages,
 * no PCI, one lcore, a private file prefix so test binaries running in
 * parallel never share a runtime directory.
 */
class EalEnv : public ::testing::Environment {
public:
	void SetUp() override
	{
		std::string prefix = "vus-fdb-" + std::to_string(getpid());
		std::vector<std::string> args = { "unit_fdb", "--no-huge",
						  "-m",       "128",
						  "--no-pci", "-l",
						  "0",        "--file-prefix",
						  prefix,     "--log-level=*:error" };
		std::vector<char *> argv;

		for (auto &a : args)
			argv.push_back(&a[0]);
		ASSERT_GE(rte_eal_init((int)argv.size(), argv.data()), 0) << "rte_eal_init failed";
	}
	void TearDown() override { rte_eal_cleanup(); }
};

::testing::Environment *const eal_env = ::testing::AddGlobalTestEnvironment(new EalEnv);

} // namespace

struct rte_ether_addr
mac(uint32_t n)
{
	struct rte_ether_addr m = { { 0x02, 0x00, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
				      (uint8_t)(n >> 8), (uint8_t)n } };

	return m;
}

struct rte_rcu_qsbr *
qsbr_new(unsigned int readers)
{
	size_t sz = rte_rcu_qsbr_get_memsize(readers);
	auto *v = static_cast<struct rte_rcu_qsbr *>(
		rte_zmalloc("fdb_test_qsbr", sz, RTE_CACHE_LINE_SIZE));

	if (v != nullptr && rte_rcu_qsbr_init(v, readers) != 0) {
		rte_free(v);
		v = nullptr;
	}
	return v;
}

uint64_t
fake_clock(void *arg)
{
	return static_cast<std::atomic<uint64_t> *>(arg)->load();
}

void
FdbTest::TearDown()
{
	fdb_destroy(fdb);
	fdb = nullptr;
}

void
FdbTest::make(uint32_t max_entries, uint32_t ring, struct rte_rcu_qsbr *qsbr, uint32_t aging_s)
{
	struct fdb_params p = {};

	p.max_entries = max_entries;
	p.learn_ring_size = ring;
	p.aging_s = aging_s;
	p.socket_id = SOCKET_ID_ANY;
	p.qsbr = qsbr;
	p.now_ms = fake_clock;
	p.clock_arg = &clock_ms;
	fdb = fdb_create(&p);
	ASSERT_NE(fdb, nullptr) << "fdb_create: " << rte_strerror(rte_errno);
}

int
FdbTest::see(const struct fdb_key &k, uint16_t port)
{
	return fdb_learn_bulk(fdb, &k, &port, 1, now());
}

void
FdbTest::learn(const struct fdb_key &k, uint16_t port)
{
	see(k, port);
	process();
}

uint16_t
FdbTest::lookup(const struct fdb_key &k)
{
	uint16_t port = 0;

	EXPECT_GE(fdb_lookup_bulk(fdb, &k, 1, &port, nullptr), 0);
	return port;
}

struct fdb_stats
FdbTest::stats()
{
	struct fdb_stats st;

	fdb_stats_get(fdb, &st);
	return st;
}

} // namespace fdbt
