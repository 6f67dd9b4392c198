/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_TESTS_UNIT_EAL_ENV_H
#define VUS_TESTS_UNIT_EAL_ENV_H

/*
 * Pieces for the control-plane suites that run the real datapath beside
 * the control plane: a thread calling virtq_dequeue_burst() /
 * virtq_enqueue_burst() under the control plane's rte_rcu_qsbr, like a
 * forwarding lcore. The datapath needs an mbuf pool, so an EAL, which the
 * other control-plane suites do without: linking eal_env.cc into a test
 * binary registers a gtest Environment that starts it once (--no-huge, a
 * private file prefix, vus.* logs at info level for the tests that read
 * log lines).
 */

#include <atomic>
#include <functional>
#include <thread>

struct rte_mempool;
struct rte_rcu_qsbr;
struct virtq;
struct virtq_conf;

/* The binary's mbuf pool (2047 mbufs of the default size). */
struct rte_mempool *unit_eal_pool();

/*
 * A thread that polls like a datapath lcore: registered with @qsbr as
 * thread 0, it runs @round until stopped and reports a quiescent state
 * after each round. Stop it before the ports go: their teardown then
 * waits for no lcore.
 */
class Lcore {
public:
	~Lcore() { stop(); }
	void start(struct rte_rcu_qsbr *qsbr, std::function<void()> round);
	void stop();

private:
	std::thread thread_;
	std::atomic<bool> stop_{ false };
};

/*
 * One loopback poll of a queue pair, as drivers/vhost_user polls: guest TX
 * taken with the conf published now, handed over as it is (NULL: not
 * running, nothing read), and what was taken copied into the guest's RX.
 * @return the TX conf the poll used.
 */
const struct virtq_conf *loop_queue_pair(struct virtq *tx, struct virtq *rx);

#endif /* VUS_TESTS_UNIT_EAL_ENV_H */
