/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_TESTS_UNIT_FIXTURE_H
#define VUS_TESTS_UNIT_FIXTURE_H

/*
 * Test fixtures that run a vhost_ctrl in-process.
 *
 * CtrlTest creates a control plane, adds one port on a socket in a fresh
 * temporary directory and runs vhost_ctrl_run() on a std::thread. Control
 * plane logs go to a file of the test (printed when the test fails) so a
 * test can check that a fault was logged with the port's name.
 *
 * Ring confs are also followed through ops.ring_changed into a mirror, so
 * a test can copy the conf the datapath sees (conf(), run on the control
 * thread, where the library frees confs) and count handover events.
 *
 * RcuTest adds a real rte_rcu_qsbr (no EAL needed) and a "fake lcore"
 * thread that takes each ring's struct virtq from vhost_ctrl_ring() and,
 * like a datapath lcore, loads its conf with virtq_conf_get() once per
 * poll, reads guest memory, ring parts, the log (and optionally writes the
 * call fd) through it, and reports a quiescent state between polls. Only
 * the library's own grace periods protect it: a premature unmap crashes
 * the test, a premature free is caught by ASan, a premature close shows as
 * EBADF on the call fd.
 */

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "guest_mem.h"
#include "tfe.h"
#include "vhost_ctrl.h"
#include "virtq.h"

struct rte_rcu_qsbr;

/* Copy of a published conf and its memory table, taken on the control
 * thread (where the library cannot free it meanwhile). */
struct ConfSnap {
	bool present = false;
	struct virtq_conf c = {};
	std::vector<struct guest_mem_region> regions;
};

class CtrlTest : public ::testing::Test {
protected:
	/* Subclasses may change these in their constructor. */
	unsigned queue_pairs_ = 2; /* of the default port */
	bool client_ = false;      /* default port in client mode */
	bool with_qsbr_ = false;   /* pass a real rte_rcu_qsbr */
	bool add_default_port_ = true;

	void SetUp() override;
	void TearDown() override;

	/* A path in the test's temporary directory. */
	std::string path(const std::string &name) const { return dir_ + "/" + name; }
	/* Add a port; @return its id (asserts success). */
	int add_port(const std::string &p, bool client = false, unsigned qp = 2);
	int add_port_raw(const std::string &p, bool client, unsigned qp);
	struct vhost_port_info info(int port = -1);
	/* Poll port_info until @pred holds. */
	::testing::AssertionResult
	wait_for(const std::function<bool(const vhost_port_info &)> &pred, int port = -1,
		 int timeout_ms = 3000, const char *what = "condition");
	::testing::AssertionResult wait_conn(enum vhost_port_conn c, int port = -1,
					     int timeout_ms = 3000);
	/* Connect the TFE to the default port and wait until it is accepted. */
	::testing::AssertionResult connect(tfe::Tfe &t, int port = -1);
	/* The port recorded a fault naming @needle in last_error, and the log
	 * has a line with the port's name and @needle. */
	::testing::AssertionResult fault_logged(const std::string &needle, int port = -1);
	std::string log_text();

	/* The conf the datapath would see for (port, ring), copied. */
	ConfSnap conf(unsigned ring, int port = -1);
	/* ring_changed events seen so far. */
	unsigned ring_events() const { return ring_events_.load(); }
	/* CPU time the control thread has used, in ms (clock-tick resolution). */
	double control_cpu_ms() const;

	struct vhost_ctrl *ctrl_ = nullptr;
	struct rte_rcu_qsbr *qsbr_ = nullptr;
	int port_ = -1;
	std::string sock_;
	std::string dir_;

	/* Mirror of published confs, per port (first 4) and ring. */
	static constexpr unsigned MIRROR_PORTS = 4;
	static constexpr unsigned MIRROR_RINGS = 2 * VHOST_CTRL_MAX_QUEUE_PAIRS;
	std::atomic<const struct virtq_conf *> mirror_[MIRROR_PORTS][MIRROR_RINGS];
	std::atomic<unsigned> ring_events_{ 0 };
	std::atomic<int> link_up_{ 0 }, link_down_{ 0 };

private:
	static void on_ring_changed(void *ctx, unsigned int port, unsigned int ring,
				    const struct virtq_conf *conf);
	static void on_link_changed(void *ctx, unsigned int port, bool up);

	std::thread loop_;
	std::atomic<int> loop_tid_{ 0 };
	FILE *log_ = nullptr;
	std::string log_path_;
	bool loop_running_ = false;

protected:
	/* Hooks for RcuTest. */
	virtual void before_destroy() {}
	virtual void after_destroy() {}
};

/* CtrlTest with a real rte_rcu_qsbr and a fake lcore reading rings. */
class RcuTest : public CtrlTest {
protected:
	RcuTest() { with_qsbr_ = true; }
	void SetUp() override;
	void before_destroy() override;

	/* Statistics of the fake lcore. */
	std::atomic<uint64_t> polls_{ 0 };       /* rounds over all rings */
	std::atomic<uint64_t> conf_reads_{ 0 };  /* confs read through */
	std::atomic<uint64_t> call_errors_{ 0 }; /* writes to a closed call fd */
	std::atomic<uint64_t> bytes_sum_{ 0 };   /* keeps the reads alive */
	std::atomic<bool> write_calls_{ false }; /* signal call fds like the datapath */
	/* Wait until the lcore has completed @n more polls. */
	void wait_polls(uint64_t n);
	/* Let the fake lcore poll every ring of @port too (ports are never
	 * removed while it runs). */
	void poll_port(int port);

private:
	void lcore_main();
	void touch(const struct virtq_conf *c);

	/* Rings the fake lcore polls, from vhost_ctrl_ring(). */
	std::atomic<struct virtq *> vqs_[MIRROR_PORTS][MIRROR_RINGS];

	std::thread lcore_;
	std::atomic<bool> lcore_stop_{ false };
};

#endif /* VUS_TESTS_UNIT_FIXTURE_H */
