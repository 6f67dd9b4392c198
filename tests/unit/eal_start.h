/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_TESTS_UNIT_EAL_START_H
#define VUS_TESTS_UNIT_EAL_START_H

#include <string>
#include <vector>

#include <gtest/gtest.h>

struct rte_mempool;

/*
 * DPDK's EAL and one mbuf pool, once per unit test binary (a gtest
 * Environment: register it with ::testing::AddGlobalTestEnvironment).
 * EAL: no hugepages (mem_mb of ordinary memory), no PCI, no shared config,
 * lcores @p lcores (default: lcore 0 only; a map such as "0@2,1@3" goes
 * to --lcores), IOVA as VA, logs at error
 * level, a file prefix of the binary's name and pid (test binaries run in
 * parallel never share a runtime directory), then @p extra (e.g. a log
 * level for a type). Pool: @p pool_size mbufs of the default size.
 */
class UnitEalEnv : public ::testing::Environment {
public:
	UnitEalEnv(std::string name, unsigned mem_mb, unsigned pool_size,
		   std::vector<std::string> extra = {}, std::string lcores = "0")
		: name_(std::move(name)), mem_mb_(mem_mb), pool_size_(pool_size),
		  extra_(std::move(extra)), lcores_(std::move(lcores))
	{
	}
	void SetUp() override;
	void TearDown() override;
	struct rte_mempool *pool() const { return pool_; }
	unsigned pool_size() const { return pool_size_; }

private:
	std::string name_;
	unsigned mem_mb_, pool_size_;
	std::vector<std::string> extra_;
	std::string lcores_;
	struct rte_mempool *pool_ = nullptr;
};

#endif /* VUS_TESTS_UNIT_EAL_START_H */
