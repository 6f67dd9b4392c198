/* SPDX-License-Identifier: BSD-3-Clause */
#include "eal_env.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "eal_start.h"
#include "virtq.h"

namespace {

/* vus.* at info: some tests read the port's log lines. */
UnitEalEnv *const g_env = static_cast<UnitEalEnv *>(::testing::AddGlobalTestEnvironment(
	new UnitEalEnv("unit_ctrl_dp", 64, 2047, { "--log-level=vus.*:info" })));

} // namespace

struct rte_mempool *
unit_eal_pool()
{
	return g_env->pool();
}

void
Lcore::start(struct rte_rcu_qsbr *qsbr, std::function<void()> round)
{
	stop_ = false;
	thread_ = std::thread([this, qsbr, round] {
		rte_rcu_qsbr_thread_register(qsbr, 0);
		rte_rcu_qsbr_thread_online(qsbr, 0);
		while (!stop_.load()) {
			round();
			rte_rcu_qsbr_quiescent(qsbr, 0);
			usleep(20);
		}
		rte_rcu_qsbr_thread_offline(qsbr, 0);
		rte_rcu_qsbr_thread_unregister(qsbr, 0);
	});
}

void
Lcore::stop()
{
	stop_ = true;
	if (thread_.joinable())
		thread_.join();
}

const struct virtq_conf *
loop_queue_pair(struct virtq *tx, struct virtq *rx)
{
	struct rte_mbuf *pkts[32];
	const struct virtq_conf *tc = virtq_conf_get(tx);
	uint16_t n = virtq_dequeue_burst(tx, tc, g_env->pool(), pkts, 32);
	const struct virtq_conf *rc = n != 0 ? virtq_conf_get(rx) : nullptr;

	if (rc != nullptr)
		virtq_enqueue_burst(rx, rc, pkts, n);
	rte_pktmbuf_free_bulk(pkts, n);
	return tc;
}
