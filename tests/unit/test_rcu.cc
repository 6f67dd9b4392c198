/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control-to-datapath handover under a running "fake lcore" (RcuTest):
 * memory is never unmapped, confs never freed and call fds never closed
 * while the datapath may still use them (MEM-5, MEM-9, ACK-6, RING-15,
 * LOG-2), across table swaps, resets and disconnects. Run under ASan too.
 */
#include <unistd.h>

#include "fixture.h"

using namespace tfe;

namespace {

class Rcu : public RcuTest {};

#ifdef __SANITIZE_ADDRESS__
constexpr int SCALE = 4; /* fewer rounds under ASan */
#else
constexpr int SCALE = 1;
#endif

} // namespace

TEST_F(Rcu, MEM_5_MEM_9_TableSwappedUnderDatapath)
{
	Tfe t;
	Opts s;
	GuestMem other(STD_MEM_SIZE);

	s.nrings = 4;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	wait_polls(2);
	uint64_t reads = conf_reads_.load();

	for (int i = 0; i < 400 / SCALE; i++) {
		const GuestMem &next = (i & 1) ? t.mem() : other;
		const GuestMem &prev = (i & 1) ? other : t.mem();

		ASSERT_TRUE(t.set_mem_table(next, true)) << i;
		/* Acked: the old mapping is gone, the rings read the new one. */
		ASSERT_EQ(prev.backend_maps(), 0) << i;
		ASSERT_EQ(next.backend_maps(), 1) << i;
		if (i % 50 == 0)
			wait_polls(1);
	}
	for (unsigned r = 0; r < 4; r++) {
		EXPECT_TRUE(info().rings[r].published);
	}
	EXPECT_GT(conf_reads_.load(), reads) << "the fake lcore read through the confs";
}

TEST_F(Rcu, MEM_9_RECONNECT_2_TeardownUnderDatapath)
{
	GuestMem log(4096, 0, 0);
	struct vhost_msg_log l = { 4096, 0 }, echo;

	for (int i = 0; i < 120 / SCALE; i++) {
		Tfe t;
		Opts s;

		s.protocol = P_ACK | P_RESET | P_LOG;
		s.features = F_BASIC | F_LOG_ALL | ((i % 3 == 2) ? F_PACKED : 0);
		s.base = (i % 3 == 2) ? 0x8000 : 0;
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.std_setup(s));
		ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), false, { log.fd() }));
		ASSERT_TRUE(t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo));
		ASSERT_TRUE(conf(0).present);
		wait_polls(1);
		if (i % 2 == 0) {
			ASSERT_TRUE(t.req_ok(VHOST_USER_RESET_DEVICE, nullptr, 0, true));
			EXPECT_EQ(t.mem().backend_maps(), 0);
		}
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
		ASSERT_EQ(t.mem().backend_maps(), 0);
		ASSERT_EQ(log.backend_maps(), 0);
	}
	EXPECT_GT(conf_reads_.load(), 0u);
}

TEST_F(Rcu, ACK_6_EnableVisibleToDatapathAtAck)
{
	Tfe t;
	Opts s;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	for (int i = 0; i < 2000 / SCALE; i++) {
		bool en = i & 1;

		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, en, true));
		/* What the datapath loads from now on. */
		ConfSnap c = conf(0);

		ASSERT_TRUE(c.present);
		ASSERT_EQ(c.c.enabled, en) << i;
	}
}

TEST_F(Rcu, RING_15_CallFdSwapNeverClosedUnderDatapath)
{
	Tfe t;
	Opts s;

	s.nrings = 4;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	write_calls_ = true;
	for (int i = 0; i < 3000 / SCALE; i++) {
		int fd = fds::make_eventfd();

		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, (uint64_t)(i % 4), i % 16 == 0,
				     { fd }));
		close(fd);
	}
	ASSERT_TRUE(t.barrier());
	wait_polls(2);
	write_calls_ = false;
	EXPECT_EQ(call_errors_.load(), 0u) << "the datapath wrote to a closed call fd";
}

TEST_F(Rcu, LOG_2_LOG_6_LogReplacedUnderDatapath)
{
	Tfe t;
	Opts s;
	GuestMem a(8192, 0, 0), b(4096, 0, 0);

	s.protocol = P_ACK | P_LOG;
	s.features = F_BASIC | F_LOG_ALL;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	uint64_t last = 0;

	for (int i = 0; i < 300 / SCALE; i++) {
		const GuestMem &next = (i & 1) ? a : b;
		const GuestMem &prev = (i & 1) ? b : a;
		struct vhost_msg_log l = { next.size(), 0 }, echo;

		ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), false, { next.fd() }));
		ASSERT_TRUE(t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo));
		ASSERT_EQ(prev.backend_maps(), 0) << i;
		last = next.size();
		/* Used-ring logging switched on and off on a running ring. */
		struct vhost_msg_vring_addr addr = t.ring(1).addr((i & 2) ? VHOST_VRING_F_LOG : 0,
								  0x1000);

		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), true));
	}
	EXPECT_EQ(conf(0).c.log_size, last);
}
