/* SPDX-License-Identifier: BSD-3-Clause */
#include "fixture.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_rcu_qsbr.h>

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

namespace {

void
sleep_us(unsigned us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000L };

	nanosleep(&ts, nullptr);
}

uint64_t
now_ms()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
rm_entry(const char *p, const struct stat *, int, struct FTW *)
{
	return remove(p);
}

int
which_thread(struct vhost_ctrl *, void *)
{
	return (int)gettid();
}

} // namespace

/* ------------------------------------------------------------------------ */

void
CtrlTest::on_ring_changed(void *ctx, unsigned int port, unsigned int ring,
			  const struct virtq_conf *conf)
{
	CtrlTest *self = static_cast<CtrlTest *>(ctx);

	self->ring_events_++;
	if (port >= MIRROR_PORTS || ring >= MIRROR_RINGS)
		return;
	self->mirror_[port][ring].store(conf, std::memory_order_release);
}

void
CtrlTest::on_link_changed(void *ctx, unsigned int, bool up)
{
	CtrlTest *self = static_cast<CtrlTest *>(ctx);

	if (up)
		self->link_up_++;
	else
		self->link_down_++;
}

void
CtrlTest::SetUp()
{
	char tmpl[] = "/tmp/vus-unit-XXXXXX";

	ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
	dir_ = tmpl;
	log_path_ = dir_ + "/ctrl.log";
	log_ = fopen(log_path_.c_str(), "w");
	ASSERT_NE(log_, nullptr);
	setvbuf(log_, nullptr, _IOLBF, 0);
	rte_openlog_stream(log_);
	for (auto &p : mirror_)
		for (auto &r : p)
			r.store(nullptr);
	if (with_qsbr_) {
		size_t sz = rte_rcu_qsbr_get_memsize(1);

		sz = (sz + RTE_CACHE_LINE_SIZE - 1) & ~(size_t)(RTE_CACHE_LINE_SIZE - 1);
		qsbr_ = (struct rte_rcu_qsbr *)aligned_alloc(RTE_CACHE_LINE_SIZE, sz);
		ASSERT_NE(qsbr_, nullptr);
		ASSERT_EQ(rte_rcu_qsbr_init(qsbr_, 1), 0);
	}
	struct vhost_ctrl_ops ops = {};

	ops.ring_changed = on_ring_changed;
	ops.link_changed = on_link_changed;
	ctrl_ = vhost_ctrl_create(qsbr_, &ops, this);
	ASSERT_NE(ctrl_, nullptr);
	if (add_default_port_) {
		sock_ = path("vhost.sock");
		/* Before the loop runs: called directly on this thread. */
		port_ = add_port_raw(sock_, client_, queue_pairs_);
		ASSERT_GE(port_, 0) << strerror(-port_);
	}
	loop_ = std::thread([this] {
		loop_tid_ = (int)gettid();
		vhost_ctrl_run(ctrl_);
	});
	loop_running_ = true;
	/* vhost_ctrl_call runs fn here until the loop is up: wait for that. */
	uint64_t deadline = now_ms() + 5000;

	while (loop_tid_ == 0 || vhost_ctrl_call(ctrl_, which_thread, nullptr) != loop_tid_) {
		ASSERT_LT(now_ms(), deadline) << "control loop did not start";
		sleep_us(1000);
	}
}

void
CtrlTest::TearDown()
{
	if (loop_running_) {
		vhost_ctrl_stop(ctrl_);
		loop_.join();
		loop_running_ = false;
	}
	before_destroy();
	vhost_ctrl_destroy(ctrl_);
	ctrl_ = nullptr;
	after_destroy();
	free(qsbr_);
	qsbr_ = nullptr;
	rte_openlog_stream(nullptr);
	if (log_ != nullptr)
		fclose(log_);
	log_ = nullptr;
	if (HasFailure()) {
		std::string text = log_text();
		size_t cut = text.size() > 8000 ? text.size() - 8000 : 0;

		fprintf(stderr, "---- control plane log (last %zu bytes) ----\n%s----\n",
			text.size() - cut, text.c_str() + cut);
	}
	if (!dir_.empty())
		nftw(dir_.c_str(), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
CtrlTest::add_port_raw(const std::string &p, bool client, unsigned qp)
{
	struct vhost_port_params params = {};

	params.path = p.c_str();
	params.client = client;
	params.queue_pairs = qp;
	return vhost_ctrl_port_add(ctrl_, &params);
}

int
CtrlTest::add_port(const std::string &p, bool client, unsigned qp)
{
	int id = add_port_raw(p, client, qp);

	EXPECT_GE(id, 0) << "port_add " << p << ": " << strerror(-id);
	return id;
}

struct vhost_port_info
CtrlTest::info(int port)
{
	struct vhost_port_info i;
	int ret = vhost_ctrl_port_info(ctrl_, (unsigned)(port < 0 ? port_ : port), &i);

	EXPECT_EQ(ret, 0);
	return i;
}

AssertionResult
CtrlTest::wait_for(const std::function<bool(const vhost_port_info &)> &pred, int port,
		   int timeout_ms, const char *what)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct vhost_port_info i = info(port);

		if (pred(i))
			return AssertionSuccess();
		if (now_ms() >= deadline)
			return AssertionFailure()
			       << "timed out after " << timeout_ms << " ms waiting for " << what
			       << " (port " << (port < 0 ? port_ : port) << " conn "
			       << vhost_port_conn_str(i.conn) << ", last error '" << i.last_error
			       << "')";
		sleep_us(2000);
	}
}

AssertionResult
CtrlTest::wait_conn(enum vhost_port_conn c, int port, int timeout_ms)
{
	return wait_for([c](const vhost_port_info &i) { return i.conn == c; }, port, timeout_ms,
			vhost_port_conn_str(c));
}

AssertionResult
CtrlTest::connect(tfe::Tfe &t, int port)
{
	struct vhost_port_info before = info(port);
	AssertionResult r = wait_for(
		[](const vhost_port_info &i) { return i.conn == VHOST_PORT_LISTENING; }, port, 3000,
		"the port to listen");

	if (!r)
		return r;
	r = t.connect(before.path);
	if (!r)
		return r;
	unsigned n = before.connections;

	return wait_for(
		[n](const vhost_port_info &i) {
			return i.conn == VHOST_PORT_CONNECTED && i.connections > n;
		},
		port, 3000, "the connection to be accepted");
}

double
CtrlTest::control_cpu_ms() const
{
	std::string p = "/proc/self/task/" + std::to_string(loop_tid_.load()) + "/stat";
	std::ifstream in(p);
	std::string stat;

	std::getline(in, stat);
	/* Fields after the command name (which may hold spaces): state is
	 * field 3, utime 14, stime 15. */
	size_t rp = stat.rfind(')');

	if (rp == std::string::npos)
		return -1;
	std::istringstream ss(stat.substr(rp + 2));
	std::string f;
	unsigned long utime = 0, stime = 0;

	for (int i = 3; i <= 15 && ss >> f; i++) {
		if (i == 14)
			utime = std::stoul(f);
		if (i == 15)
			stime = std::stoul(f);
	}
	return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

std::string
CtrlTest::log_text()
{
	std::ifstream in(log_path_);
	std::stringstream ss;

	ss << in.rdbuf();
	return ss.str();
}

AssertionResult
CtrlTest::fault_logged(const std::string &needle, int port)
{
	struct vhost_port_info i = info(port);
	std::string name = "port " + std::to_string(port < 0 ? port_ : port) + " (" + i.path + ")";

	if (std::string(i.last_error).find(needle) == std::string::npos)
		return AssertionFailure()
		       << "last_error '" << i.last_error << "' does not name '" << needle << "'";
	std::istringstream in(log_text());
	std::string line;

	while (std::getline(in, line))
		if (line.find(name) != std::string::npos && line.find(needle) != std::string::npos)
			return AssertionSuccess();
	return AssertionFailure() << "no log line names '" << name << "' and '" << needle << "'";
}

namespace {

struct SnapArgs {
	const std::atomic<const struct virtq_conf *> *slot;
	ConfSnap *out;
};

int
snap_on_ctrl(struct vhost_ctrl *, void *arg)
{
	SnapArgs *a = static_cast<SnapArgs *>(arg);
	const struct virtq_conf *c = a->slot->load(std::memory_order_acquire);

	a->out->present = c != nullptr;
	if (c == nullptr)
		return 0;
	a->out->c = *c;
	if (c->mem != nullptr)
		for (unsigned i = 0; i < c->mem->n; i++)
			a->out->regions.push_back(c->mem->r[i]);
	return 0;
}

} // namespace

ConfSnap
CtrlTest::conf(unsigned ring, int port)
{
	ConfSnap s;
	unsigned p = (unsigned)(port < 0 ? port_ : port);

	if (p >= MIRROR_PORTS || ring >= MIRROR_RINGS) {
		ADD_FAILURE() << "conf(" << ring << ", " << p << ") outside the mirror";
		return s;
	}
	SnapArgs a = { &mirror_[p][ring], &s };

	vhost_ctrl_call(ctrl_, snap_on_ctrl, &a);
	return s;
}

/* ------------------------------------------------------------------------ */
/* Fake lcore                                                               */

void
RcuTest::SetUp()
{
	for (auto &p : vqs_)
		for (auto &r : p)
			r.store(nullptr);
	CtrlTest::SetUp();
	if (HasFatalFailure())
		return;
	poll_port(port_);
	lcore_ = std::thread([this] { lcore_main(); });
	wait_polls(1);
}

void
RcuTest::poll_port(int port)
{
	struct vhost_port_info i = info(port);

	ASSERT_LT((unsigned)port, MIRROR_PORTS);
	for (unsigned r = 0; r < i.nrings && r < MIRROR_RINGS; r++) {
		struct virtq *vq = vhost_ctrl_ring(ctrl_, (unsigned)port, r);

		ASSERT_NE(vq, nullptr) << "ring " << r;
		vqs_[port][r].store(vq);
	}
	EXPECT_EQ(vhost_ctrl_ring(ctrl_, (unsigned)port, i.nrings), nullptr);
}

void
RcuTest::before_destroy()
{
	/* vhost_ctrl_destroy frees the struct virtq array the fake lcore reads
	 * (a real lcore has had the port removed from its plan by then; ASan
	 * caught this one under load). Rings torn down under the lcore are
	 * covered by MEM_9_RECONNECT_2_TeardownUnderDatapath. */
	lcore_stop_ = true;
	if (lcore_.joinable())
		lcore_.join();
}

void
RcuTest::wait_polls(uint64_t n)
{
	uint64_t target = polls_.load() + n;
	uint64_t deadline = now_ms() + 5000;

	while (polls_.load() < target) {
		if (now_ms() > deadline) {
			ADD_FAILURE() << "fake lcore stalled";
			return;
		}
		sleep_us(100);
	}
}

static inline uint8_t
peek(const void *p, uint64_t off)
{
	return *((const volatile uint8_t *)p + off);
}

void
RcuTest::touch(const struct virtq_conf *c)
{
	uint64_t sum = c->num + c->enabled;

	if (c->packed) {
		sum += peek(c->ring.packed_ring.desc, 0) +
		       peek(c->ring.packed_ring.desc, 16ULL * c->num - 1);
		sum += peek(c->ring.packed_ring.driver_event, 3) +
		       peek(c->ring.packed_ring.device_event, 3);
	} else {
		sum += peek(c->ring.split.desc, 0) + peek(c->ring.split.desc, 16ULL * c->num - 1);
		sum += peek(c->ring.split.avail, 2) + peek(c->ring.split.used, 2);
	}
	for (unsigned i = 0; c->mem != nullptr && i < c->mem->n; i++) {
		const struct guest_mem_region *r = &c->mem->r[i];

		sum += peek(r->host, 0) + peek(r->host, r->size - 1);
	}
	if (c->log_base != nullptr && c->log_size != 0)
		sum += peek(c->log_base, 0) + peek(c->log_base, c->log_size - 1);
	if (write_calls_.load(std::memory_order_relaxed) && c->call_fd >= 0 &&
	    eventfd_write(c->call_fd, 1) != 0 && errno == EBADF)
		call_errors_++;
	bytes_sum_.fetch_add(sum, std::memory_order_relaxed);
	conf_reads_.fetch_add(1, std::memory_order_relaxed);
}

void
RcuTest::lcore_main()
{
	std::vector<const struct virtq_conf *> held;

	rte_rcu_qsbr_thread_register(qsbr_, 0);
	rte_rcu_qsbr_thread_online(qsbr_, 0);
	while (!lcore_stop_.load()) {
		held.clear();
		for (unsigned p = 0; p < MIRROR_PORTS; p++)
			for (unsigned r = 0; r < MIRROR_RINGS; r++) {
				struct virtq *vq = vqs_[p][r].load(std::memory_order_acquire);
				const struct virtq_conf *c = vq != nullptr ? virtq_conf_get(vq)
									   : nullptr;

				if (c != nullptr) {
					touch(c);
					held.push_back(c);
				}
			}
		/* Keep using the snapshot for a while, as a poll over a burst
		 * would: a conf or mapping released under us shows here. */
		sleep_us(20);
		for (const struct virtq_conf *c : held)
			touch(c);
		rte_rcu_qsbr_quiescent(qsbr_, 0);
		polls_++;
	}
	rte_rcu_qsbr_thread_offline(qsbr_, 0);
	rte_rcu_qsbr_thread_unregister(qsbr_, 0);
}
