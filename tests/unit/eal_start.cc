/* SPDX-License-Identifier: BSD-3-Clause */
#include "eal_start.h"

#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

void
UnitEalEnv::SetUp()
{
	std::vector<std::string> args = {
		name_, "--no-huge", "-m", std::to_string(mem_mb_), "--no-pci", "--no-shconf",
		/* "0@2,1@3" maps lcores to CPUs: --lcores */
		lcores_.find('@') != std::string::npos ? "--lcores" : "-l", lcores_,
		"--file-prefix", "vus-" + name_ + "-" + std::to_string(getpid()),
		"--log-level=*:error", "--iova-mode=va"
	};
	std::vector<char *> argv;

	args.insert(args.end(), extra_.begin(), extra_.end());
	for (auto &a : args)
		argv.push_back(&a[0]);
	ASSERT_GE(rte_eal_init((int)argv.size(), argv.data()), 0) << "rte_eal_init failed";
	pool_ = rte_pktmbuf_pool_create((name_ + "_pool").c_str(), pool_size_, 0, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ASSERT_NE(pool_, nullptr);
}

void
UnitEalEnv::TearDown()
{
	rte_mempool_free(pool_);
	pool_ = nullptr;
	rte_eal_cleanup();
}
