/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FDB_TEST_H
#define FDB_TEST_H

/*
 * Shared by the fdb unit tests: a fixture owning one table with an
 * injectable clock, key builders and small wrappers around the bulk API.
 * The EAL is initialised once per binary (fdb_env.cc).
 */

#include <atomic>
#include <cstdint>

#include <gtest/gtest.h>
#include <unistd.h>

#include "fdb.h"

struct rte_rcu_qsbr;

namespace fdbt {

/* Unicast, locally administered 02:00:n>>24:n>>16:n>>8:n. */
struct rte_ether_addr mac(uint32_t n);

inline struct fdb_key
key(uint16_t vlan, uint32_t n)
{
	struct rte_ether_addr m = mac(n);

	return fdb_key_make(vlan, &m);
}

/* A qsbr variable for @p readers threads (rte_zmalloc'ed; free with rte_free). */
struct rte_rcu_qsbr *qsbr_new(unsigned int readers);

/* The clock tests move by hand; starts well above 0 so ages are positive. */
uint64_t fake_clock(void *arg);

class FdbTest : public ::testing::Test {
protected:
	std::atomic<uint64_t> clock_ms{ 1000000000 };
	struct fdb *fdb = nullptr;

	void TearDown() override;

	/* Create the table (0: defaults); fails the test on error. */
	void make(uint32_t max_entries = 0, uint32_t ring = 0, struct rte_rcu_qsbr *qsbr = nullptr,
		  uint32_t aging_s = 0);

	uint64_t now() const { return clock_ms.load(); }
	void advance_s(uint64_t s) { clock_ms += s * 1000; }
	void advance_ms(uint64_t ms) { clock_ms += ms; }

	/* One source seen on one port. @return requests queued. */
	int see(const struct fdb_key &k, uint16_t port);
	/* see() then fdb_process(). */
	void learn(const struct fdb_key &k, uint16_t port);
	unsigned int process() { return fdb_process(fdb, now()); }
	/* Port of @p k, or FDB_PORT_NONE. */
	uint16_t lookup(const struct fdb_key &k);
	struct fdb_stats stats();
	/* The learn doorbell's counter, reset: how often it rang since the
	 * last call (0 if never). */
	uint64_t take_doorbell()
	{
		uint64_t v = 0;

		return read(fdb_learn_fd(fdb), &v, sizeof(v)) == (ssize_t)sizeof(v) ? v : 0;
	}
};

} // namespace fdbt

#endif /* FDB_TEST_H */
