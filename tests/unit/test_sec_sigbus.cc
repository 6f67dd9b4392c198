/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SEC-10 at the control-plane level: a front-end truncates the memfd behind
 * its guest memory (or its dirty log) while the port runs. The access that
 * faults, from a datapath thread or from the control thread, reads zeros;
 * that port alone is disconnected with a log line naming it and the fault;
 * another port keeps forwarding throughout.
 *
 * The datapath here is the real one: a thread polls each port's first queue
 * pair with virtq_dequeue_burst() / virtq_enqueue_burst() (guest TX looped
 * back into the same guest's RX), reports quiescent states to the control
 * plane's rte_rcu_qsbr like a forwarding lcore, and needs an EAL for its
 * mbuf pool (eal_env.h).
 */
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "eal_env.h"
#include "fixture.h"

using namespace tfe;

namespace {

uint64_t
now_ms()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Where the frames live in the standard guest memory (rings are below 8 MiB). */
constexpr uint64_t RX_BUFS = 8ULL << 20;
constexpr uint64_t TX_BUFS = 16ULL << 20;
constexpr uint32_t BUF_LEN = 2048;
constexpr uint32_t HDR_LEN = 12; /* VERSION_1 */
constexpr uint32_t FRAME_LEN = 64;

class Sigbus : public CtrlTest {
protected:
	Sigbus() { with_qsbr_ = true; }

	/* Start the datapath thread on queue pair 0 of @ports. */
	void start_datapath(const std::vector<int> &ports)
	{
		for (size_t i = 0; i < ports.size() && i < MIRROR_PORTS; i++) {
			for (unsigned r = 0; r < 2; r++) {
				struct virtq *vq = vhost_ctrl_ring(ctrl_, (unsigned)ports[i], r);

				ASSERT_NE(vq, nullptr);
				vqs_[i][r] = vq;
			}
			polled_[i] = ports[i];
		}
		nports_ = (unsigned)ports.size();
		lcore_.start(qsbr_, [this] { round(); });
	}

	/* Polls of port @p (its TX ring had a conf) so far. */
	uint64_t polls(int p) const
	{
		for (unsigned i = 0; i < nports_; i++)
			if (polled_[i] == p)
				return polls_[i].load();
		return 0;
	}

	/*
	 * Post @n RX buffers and @n TX frames on queue pair 0 of @t's guest and
	 * wait until every frame came back into the RX buffers, intact.
	 */
	AssertionResult loop_frames(Tfe &t, uint16_t *seq, unsigned n, uint32_t seed)
	{
		Vring &rx = t.ring(0), &tx = t.ring(1);
		uint8_t *h = t.mem().host();
		uint16_t rx0 = rx.split_used_idx(), tx0 = tx.split_used_idx();

		for (unsigned i = 0; i < n; i++) {
			uint16_t k = (uint16_t)((*seq + i) % STD_NUM);
			uint64_t rg = RX_BUFS + (uint64_t)k * BUF_LEN,
				 tg = TX_BUFS + (uint64_t)k * BUF_LEN;

			memset(h + rg, 0xAA, BUF_LEN);
			rx.split_set_desc(k, rg, BUF_LEN, DESC_F_WRITE);
			rx.split_avail_push(k);
			memset(h + tg, 0, HDR_LEN);
			for (uint32_t b = 0; b < FRAME_LEN; b++)
				h[tg + HDR_LEN + b] = (uint8_t)(seed + i + b * 7);
			tx.split_set_desc(k, tg, HDR_LEN + FRAME_LEN, 0);
			tx.split_avail_push(k);
		}
		uint64_t deadline = now_ms() + 3000;

		while ((uint16_t)(rx.split_used_idx() - rx0) < n ||
		       (uint16_t)(tx.split_used_idx() - tx0) < n) {
			if (now_ms() > deadline)
				return AssertionFailure()
				       << "frames not looped back: tx used "
				       << (uint16_t)(tx.split_used_idx() - tx0) << "/" << n
				       << ", rx used " << (uint16_t)(rx.split_used_idx() - rx0);
			usleep(1000);
		}
		for (unsigned i = 0; i < n; i++) {
			uint32_t id, len;

			rx.split_used_elem((uint16_t)(rx0 + i), &id, &len);
			if (len != HDR_LEN + FRAME_LEN)
				return AssertionFailure() << "frame " << i << ": used len " << len;
			const uint8_t *f = h + RX_BUFS + (uint64_t)id * BUF_LEN + HDR_LEN;
			unsigned j = (unsigned)(id - *seq) % STD_NUM;

			for (uint32_t b = 0; b < FRAME_LEN; b++)
				if (f[b] != (uint8_t)(seed + j + b * 7))
					return AssertionFailure()
					       << "frame " << i << " byte " << b << " differs";
		}
		*seq = (uint16_t)(*seq + n);
		return AssertionSuccess();
	}

	void before_destroy() override { lcore_.stop(); }

private:
	void round()
	{
		for (unsigned i = 0; i < nports_; i++)
			if (loop_queue_pair(vqs_[i][1], vqs_[i][0]) != nullptr)
				polls_[i]++;
	}

	struct virtq *vqs_[MIRROR_PORTS][2] = {};
	int polled_[MIRROR_PORTS] = {};
	std::atomic<uint64_t> polls_[MIRROR_PORTS] = {};
	unsigned nports_ = 0;
	Lcore lcore_;
};

const char *const TRUNCATED =
	"guest memory region 0 (gpa 0x0) truncated by the front-end: SIGBUS contained, disconnecting";

} // namespace

TEST_F(Sigbus, SEC_10_TruncatedGuestMemoryDisconnectsOnlyThatPort)
{
	int b_port = add_port(path("b.sock"), false, 2);
	Tfe a("truncating"), b("healthy");
	uint16_t a_seq = 0, b_seq = 0;

	ASSERT_TRUE(connect(a));
	ASSERT_TRUE(a.std_setup(Opts()));
	ASSERT_TRUE(connect(b, b_port));
	ASSERT_TRUE(b.std_setup(Opts()));
	start_datapath({ port_, b_port });
	ASSERT_TRUE(loop_frames(a, &a_seq, 8, 1));
	ASSERT_TRUE(loop_frames(b, &b_seq, 8, 2));
	const uint64_t faults = guest_mem_sigbus_count();
	const unsigned guards = guest_mem_guard_count();

	/* From here the test never touches A's memory (its own mapping would
	 * fault, outside any guest mapping). The datapath's next poll of A
	 * reads the avail ring: SIGBUS. */
	ASSERT_EQ(ftruncate(a.mem().fd(), 0), 0);
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_TRUE(a.expect_closed());
	EXPECT_GE(guest_mem_sigbus_count(), faults + 1);
	EXPECT_TRUE(fault_logged(TRUNCATED));
	EXPECT_EQ(guest_mem_guard_count(), guards - 1) << "A's region unmapped, its guard gone";
	EXPECT_FALSE(info().rings[1].published);
	/* B never stopped: still connected, still forwarding. */
	EXPECT_EQ(info(b_port).conn, VHOST_PORT_CONNECTED);
	EXPECT_EQ(std::string(info(b_port).last_error), "");
	for (int i = 0; i < 4; i++) {
		ASSERT_TRUE(loop_frames(b, &b_seq, 32, 10 + i)) << i;
	}
	ASSERT_TRUE(b.barrier());
	/* A's port is not broken for good: a front-end with intact memory
	 * connects again and forwards. */
	Tfe a2("reconnected");
	uint16_t a2_seq = 0;

	ASSERT_TRUE(connect(a2));
	ASSERT_TRUE(a2.std_setup(Opts()));
	ASSERT_TRUE(loop_frames(a2, &a2_seq, 8, 3));
	EXPECT_GT(polls(port_), 0u);
}

TEST_F(Sigbus, SEC_10_ControlThreadFaultContained)
{
	/* No datapath: the control thread is the one to touch the truncated
	 * memory (port info reads the published rings' avail and used index). */
	int b_port = add_port(path("b.sock"), false, 2);
	Tfe a("truncating"), b("healthy");

	ASSERT_TRUE(connect(a));
	ASSERT_TRUE(a.std_setup(Opts()));
	ASSERT_TRUE(connect(b, b_port));
	ASSERT_TRUE(b.std_setup(Opts()));
	const uint64_t faults = guest_mem_sigbus_count();

	ASSERT_EQ(ftruncate(a.mem().fd(), 0), 0);
	struct vhost_port_info i = info();

	EXPECT_EQ(guest_mem_sigbus_count(), faults + 1);
	EXPECT_TRUE(i.rings[0].idx_valid);
	EXPECT_EQ(i.rings[0].avail_idx, 0) << "the faulting read saw zeros";
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_TRUE(a.expect_closed());
	EXPECT_TRUE(fault_logged(TRUNCATED));
	EXPECT_EQ(info(b_port).conn, VHOST_PORT_CONNECTED);
	EXPECT_TRUE(info(b_port).rings[0].published);
	EXPECT_TRUE(b.barrier());
}

TEST_F(Sigbus, SEC_10_TruncatedDirtyLogDisconnects)
{
	/* The datapath writes the dirty log for every RX buffer it fills. */
	int b_port = add_port(path("b.sock"), false, 2);
	Tfe a("truncating-log"), b("healthy");
	GuestMem log(4096, 0, 0);
	struct vhost_msg_log l = { 4096, 0 }, echo;
	Opts s;
	uint16_t a_seq = 0, b_seq = 0;

	s.protocol = P_ACK | P_LOG;
	s.features = F_BASIC | F_LOG_ALL;
	ASSERT_TRUE(connect(a));
	ASSERT_TRUE(a.std_setup(s));
	ASSERT_TRUE(a.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), false, { log.fd() }));
	ASSERT_TRUE(a.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo));
	ASSERT_TRUE(connect(b, b_port));
	ASSERT_TRUE(b.std_setup(Opts()));
	start_datapath({ port_, b_port });
	ASSERT_TRUE(loop_frames(a, &a_seq, 4, 1));
	EXPECT_NE(log.host()[(RX_BUFS / 4096) / 8], 0) << "the datapath logged the RX buffers";
	const uint64_t faults = guest_mem_sigbus_count();

	/* Guest memory stays intact; only the log file shrinks. The frames
	 * posted now make the datapath write the log. */
	ASSERT_EQ(ftruncate(log.fd(), 0), 0);
	Vring &rx = a.ring(0), &tx = a.ring(1);
	uint8_t *h = a.mem().host();
	uint16_t k = a_seq % STD_NUM;

	rx.split_set_desc(k, RX_BUFS, BUF_LEN, DESC_F_WRITE);
	rx.split_avail_push(k);
	memset(h + TX_BUFS, 0, HDR_LEN + FRAME_LEN);
	tx.split_set_desc(k, TX_BUFS, HDR_LEN + FRAME_LEN, 0);
	tx.split_avail_push(k);
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_TRUE(a.expect_closed());
	EXPECT_GE(guest_mem_sigbus_count(), faults + 1);
	EXPECT_TRUE(fault_logged(
		"dirty log truncated by the front-end: SIGBUS contained, disconnecting"));
	EXPECT_EQ(log.backend_maps(), 0);
	EXPECT_EQ(info(b_port).conn, VHOST_PORT_CONNECTED);
	ASSERT_TRUE(loop_frames(b, &b_seq, 32, 7));
}
