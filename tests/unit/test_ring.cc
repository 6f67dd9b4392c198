/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RING: the ring state machine and vring configuration, as far as the
 * control plane shows it (port_info and the conf published to the
 * datapath). RING-10 and RING-17 need the datapath; RING-2 and RING-4 run
 * with it in test_ring_dp.cc.
 * RING-18 (the four front-end orderings) is in test_compat.cc.
 */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fixture.h"

using namespace tfe;

namespace {

class Ring : public CtrlTest {
protected:
	/* Connected, protocol negotiated, features set, memory table sent. */
	AssertionResult prep(Tfe &t, uint64_t features = F_BASIC, uint64_t protocol = P_ACK)
	{
		AssertionResult r = connect(t);

		if (r)
			r = t.negotiate(protocol);
		if (r)
			r = t.u64_ok(VHOST_USER_SET_FEATURES, features, true);
		if (r)
			r = t.set_mem_table(t.mem(), true);
		return r;
	}
	Opts opts(uint64_t features = F_BASIC, uint32_t num = STD_NUM, uint32_t base = 0)
	{
		Opts s;

		s.features = features;
		s.num = num;
		s.base = base;
		s.need_reply_all = true;
		return s;
	}
};

} // namespace

TEST_F(Ring, RING_1_StartsStoppedDisabledEnableRemembered)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	struct vhost_port_info i = info();

	for (unsigned r = 0; r < i.nrings; r++) {
		EXPECT_FALSE(i.rings[r].started) << r;
		EXPECT_FALSE(i.rings[r].enabled) << r;
		EXPECT_FALSE(i.rings[r].published) << r;
	}
	/* Enabled while stopped: remembered. */
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 1, true));
	EXPECT_TRUE(info().rings[0].enabled);
	EXPECT_FALSE(info().rings[0].published);
	/* Started by the kick, enabled without another SET_VRING_ENABLE. */
	ASSERT_TRUE(t.setup_ring(0, opts()));
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_TRUE(c.c.enabled);
	EXPECT_TRUE(info().rings[0].started);
}

TEST_F(Ring, RING_3_KickStartsRing)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	Vring &r0 = t.ring(0);
	struct vhost_msg_vring_addr a = r0.addr();

	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, STD_NUM, true));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_BASE, 0, 0, true));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	EXPECT_FALSE(info().rings[0].published) << "NUM/ADDR/BASE alone do not start";
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, 0, true, { t.kick_fd(0) }));
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.rings[0].started);
	EXPECT_TRUE(i.rings[0].has_kick);
	EXPECT_TRUE(i.rings[0].published);
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_EQ(c.c.num, STD_NUM);
	EXPECT_FALSE(c.c.tx);
	EXPECT_EQ(c.c.mem == nullptr, false);
	/* The translated parts point into the mapped region. */
	ASSERT_EQ(c.regions.size(), 1u);
	uint8_t *h = c.regions[0].host;

	EXPECT_EQ((uint8_t *)c.c.ring.split.desc, h + (r0.desc - STD_UVA));
	EXPECT_EQ((uint8_t *)c.c.ring.split.avail, h + (r0.avail - STD_UVA));
	EXPECT_EQ((uint8_t *)c.c.ring.split.used, h + (r0.used - STD_UVA));
	/* With the no-fd flag: started at once, polled. */
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 1, STD_NUM, true));
	a = t.ring(1).addr();
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, 1 | VHOST_MSG_VRING_NOFD, true));
	i = info();
	EXPECT_TRUE(i.rings[1].started);
	EXPECT_FALSE(i.rings[1].has_kick);
	EXPECT_TRUE(i.rings[1].published);
	EXPECT_TRUE(conf(1).c.tx);
}

TEST_F(Ring, RING_5_GetVringBaseStopsSplit)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	t.ring(0).split_set_used_idx(7);
	ASSERT_TRUE(t.setup_ring(0, opts(F_BASIC, STD_NUM, 7)));
	ASSERT_TRUE(info().rings[0].published);
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(base, 7u);
	struct vhost_port_info i = info();

	EXPECT_FALSE(i.rings[0].started);
	EXPECT_FALSE(i.rings[0].published);
	EXPECT_FALSE(i.rings[0].has_kick);
	EXPECT_FALSE(conf(0).present) << "withdrawn from the datapath before the reply";
}

TEST_F(Ring, RING_5_RING_14_GetVringBasePackedEncoding)
{
	/* avail 5 wrap 1, used 3 wrap 0: both halves as given (QEMU). */
	for (uint32_t base : { 0x00038005u, 0x80058005u, 0x80008000u }) {
		Tfe t;

		SCOPED_TRACE(base);
		ASSERT_TRUE(prep(t, F_BASIC | F_PACKED));
		ASSERT_TRUE(t.setup_ring(0, opts(F_BASIC | F_PACKED, STD_NUM, base)));
		ASSERT_TRUE(info().rings[0].published);
		uint32_t got;

		ASSERT_TRUE(t.get_vring_base(0, &got));
		EXPECT_EQ(got, base);
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
}

TEST_F(Ring, RING_14_PackedBaseLowHalfOnly)
{
	Tfe t;

	ASSERT_TRUE(prep(t, F_BASIC | F_PACKED));
	/* virtio-user's fresh start: 0x8000 (avail 0 wrap 1, used half 0). */
	ASSERT_TRUE(t.setup_ring(0, opts(F_BASIC | F_PACKED, STD_NUM, 0x8000)));
	uint32_t got;

	ASSERT_TRUE(t.get_vring_base(0, &got));
	EXPECT_EQ(got, 0x80008000u) << "used index and wrap derived from the avail half";
	/* A position outside the ring is refused at start. */
	struct vhost_msg_vring_addr a = t.ring(1, STD_NUM, true).addr();

	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 1, STD_NUM, true));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_BASE, 1, 0x8000 | 300, true));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 1, true, { t.kick_fd(1) }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_FALSE(info().rings[1].published);
	EXPECT_TRUE(fault_logged("outside a ring of 256"));
}

TEST_F(Ring, RING_6_OldKickClosedRestartNeedsNewKick)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(t.setup_ring(0, opts()));
	std::string kick = fds::key_of(t.kick_fd(0));

	ASSERT_EQ(fds::count_key(kick), 2) << "the TFE's and the back-end's";
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(fds::count_key(kick), 1) << "the back-end closed its kick fd";
	ASSERT_EQ(eventfd_write(t.kick_fd(0), 1), 0);
	ASSERT_TRUE(t.barrier());
	EXPECT_FALSE(info().rings[0].published) << "the old kick does not restart";
	/* Reconfigure and restart at N. */
	t.ring(0).split_set_used_idx(42);
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_BASE, 0, 42, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0, true, { t.call_fd(0) }));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, 0, true, { t.kick_fd(0) }));
	EXPECT_TRUE(info().rings[0].published);
	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(base, 42u);
}

TEST_F(Ring, RING_7_AllStoppedIsSuspended)
{
	Tfe t;
	Opts s;

	ASSERT_TRUE(connect(t));
	s.nrings = 4;
	ASSERT_TRUE(t.std_setup(s));
	for (unsigned r = 0; r < 4; r++) {
		ASSERT_TRUE(info().rings[r].published) << r;
	}
	for (unsigned r = 0; r < 4; r++) {
		uint32_t base;

		ASSERT_TRUE(t.get_vring_base(r, &base));
	}
	struct vhost_port_info i = info();

	for (unsigned r = 0; r < 4; r++) {
		EXPECT_FALSE(i.rings[r].published) << r;
		EXPECT_FALSE(conf(r).present) << r;
	}
	uint64_t f;

	EXPECT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f)) << "messages still answered";
	EXPECT_TRUE(t.expect_silence(100)) << "nothing sent by a suspended device";
}

TEST_F(Ring, RING_8_GetVringBaseOfUnstartedRing)
{
	Tfe t;
	uint32_t base;

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_BASE, 0, 7, true));
	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(base, 7u);
	ASSERT_TRUE(t.get_vring_base(3, &base)) << "never configured, in range";
	EXPECT_EQ(base, 0u);
}

TEST_F(Ring, RING_9_EnableValuesAndTiming)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	/* Before SET_FEATURES: accepted. */
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 1, 1, true));
	EXPECT_TRUE(info().rings[1].enabled);
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_ENABLE, 1, 2, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(info().rings[1].enabled) << "an invalid value changes nothing";
	EXPECT_TRUE(fault_logged("neither 0 nor 1"));
	/* After SET_FEATURES without bit 30: accepted, never fatal. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_V1, true));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 1, 0, true));
	EXPECT_FALSE(info().rings[1].enabled);
}

TEST_F(Ring, RING_11_RingSizeLimits)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	for (uint32_t bad : { 0u, 300u, 65536u, 32769u }) {
		ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 0, bad, true));
		EXPECT_TRUE(t.expect_nack()) << bad;
		EXPECT_EQ(info().rings[0].num, 0u) << bad;
	}
	EXPECT_TRUE(fault_logged("SET_VRING_NUM: ring 0 size 32769 invalid"));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, 32768, true));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, 1, true));
	/* Packed: any size up to 32768, and the ring runs with it. */
	Tfe p;

	t.close();
	ASSERT_TRUE(prep(p, F_BASIC | F_PACKED));
	ASSERT_TRUE(p.setup_ring(0, opts(F_BASIC | F_PACKED, 300, 0x8000)));
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_EQ(c.c.num, 300);
	EXPECT_TRUE(c.c.packed);
	ASSERT_TRUE(p.send_state(VHOST_USER_SET_VRING_NUM, 1, 32769, true));
	EXPECT_TRUE(p.expect_nack());
}

TEST_F(Ring, RING_12_AddressFlagsAndExtentChecked)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	struct vhost_msg_vring_addr a = t.ring(0).addr(0x2);

	ASSERT_TRUE(t.send(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_FALSE(info().rings[0].addr_set);
	EXPECT_TRUE(fault_logged("unknown flags 0x2"));
	/* A used ring running 8 bytes past the end of the only region. */
	uint64_t used_len = 4 + 8ULL * STD_NUM;

	a = t.ring(0).addr();
	a.used_user_addr = STD_UVA + STD_MEM_SIZE - used_len + 8;
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, STD_NUM, true));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true)) << "stored raw";
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 0, true, { t.kick_fd(0) }));
	uint64_t v;

	ASSERT_TRUE(t.read_reply(VHOST_USER_SET_VRING_KICK, 8, &v));
	EXPECT_NE(v, 0u) << "MAY be nacked: this back-end does";
	EXPECT_FALSE(info().rings[0].published);
	EXPECT_TRUE(fault_logged("used ring"));
	/* Fixed by a new SET_VRING_ADDR: the ring runs. */
	a.used_user_addr -= 8;
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	EXPECT_TRUE(info().rings[0].published);
	/* Misaligned descriptor table. */
	a = t.ring(1).addr();
	a.desc_user_addr += 8;
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 1, STD_NUM, true));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 1, true, { t.kick_fd(1) }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_FALSE(info().rings[1].published);
	EXPECT_TRUE(fault_logged("not 16-byte aligned"));
	/* An address outside every region. */
	a = t.ring(1).addr();
	a.avail_user_addr = 0x1000;
	ASSERT_TRUE(t.send(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	EXPECT_TRUE(t.expect_nack()) << "re-sent for a started ring: translated at once";
	EXPECT_FALSE(info().rings[1].published);
	EXPECT_TRUE(fault_logged("avail ring 0x1000"));
}

TEST_F(Ring, RING_12_COMPAT_9_EventIdxExtendsRingParts)
{
	/* The used ring ends exactly at the region end without EVENT_IDX; its
	 * avail_event field would lie outside with EVENT_IDX. */
	for (bool event_idx : { false, true }) {
		Tfe t;
		uint64_t f = F_BASIC | (event_idx ? F_EVENT_IDX : 0);

		ASSERT_TRUE(prep(t, f));
		struct vhost_msg_vring_addr a = t.ring(0).addr();

		a.used_user_addr = STD_UVA + STD_MEM_SIZE - (4 + 8ULL * STD_NUM);
		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, STD_NUM, true));
		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
		ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 0, false, { t.kick_fd(0) }));
		ASSERT_TRUE(t.barrier());
		EXPECT_EQ(info().rings[0].published, !event_idx) << "EVENT_IDX " << event_idx;
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
}

/*
 * DP-5, DP-6 (struct virtq_hold in virtq.h): the datapath may hold back TX
 * buffers only on rings of at least 4 x VIRTQ_TX_HOLD buffers whose guest
 * has no EVENT_IDX (with it the guest says when it wants to hear) and no
 * dirty log; split rings VIRTQ_TX_HOLD of them, packed ones only with
 * IN_ORDER (one used descriptor for all) and up to a quarter of the ring,
 * VIRTQ_TX_HOLD_PACKED at most. Every other conf returns them at once.
 */
TEST_F(Ring, DP5_DP6_TxHoldOnlyWhereItApplies)
{
	constexpr uint64_t F_IN_ORDER = bit(VIRTIO_F_IN_ORDER);
	struct Case {
		uint64_t features;
		uint32_t num;
		uint32_t hold;
	};
	const Case cases[] = {
		{ F_BASIC, STD_NUM, VIRTQ_TX_HOLD },
		{ F_BASIC | F_EVENT_IDX, STD_NUM, 0 },
		{ F_BASIC | F_PACKED, STD_NUM, 0 },
		{ F_BASIC | F_PACKED | F_IN_ORDER, STD_NUM, STD_NUM / 4 },
		{ F_BASIC | F_PACKED | F_IN_ORDER, 1024, VIRTQ_TX_HOLD_PACKED },
		{ F_BASIC | F_PACKED | F_IN_ORDER | F_EVENT_IDX, STD_NUM, 0 },
		{ F_BASIC | F_PACKED | F_IN_ORDER | F_LOG_ALL, STD_NUM, 0 },
		{ F_BASIC | F_LOG_ALL, STD_NUM, 0 },
		{ F_BASIC, 4 * VIRTQ_TX_HOLD / 2, 0 },
		{ F_BASIC | F_PACKED | F_IN_ORDER, 4 * VIRTQ_TX_HOLD / 2, 0 },
	};

	static_assert(STD_NUM >= 4 * VIRTQ_TX_HOLD, "the standard ring holds");
	static_assert(STD_NUM / 4 < VIRTQ_TX_HOLD_PACKED, "a quarter of it, packed");
	for (const Case &k : cases) {
		Tfe t;

		ASSERT_TRUE(prep(t, k.features));
		for (unsigned r = 0; r < 2; r++)
			ASSERT_TRUE(
				t.setup_ring(r, opts(k.features, k.num,
						     (k.features & F_PACKED) ? 0x80008000u : 0)));
		ASSERT_TRUE(conf(0).present && conf(1).present) << std::hex << k.features;
		EXPECT_EQ(conf(0).c.tx_hold, 0u) << "RX rings never hold";
		EXPECT_EQ(conf(1).c.tx_hold, k.hold)
			<< std::hex << k.features << std::dec << " num " << k.num;
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
}

TEST_F(Ring, RING_13_SplitUsedIndexReadFromGuestMemory)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	Vring &r = t.ring(0);

	r.split_set_avail_idx(102);
	r.split_set_used_idx(100);
	ASSERT_TRUE(t.setup_ring(0, opts(F_BASIC, STD_NUM, 100)));
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(base, 100u);
	/* A base that disagrees with used->idx: resume at used->idx, as DPDK
	 * reconciles (RECONNECT-3), never at 0 or at the base. */
	r.split_set_used_idx(100);
	ASSERT_TRUE(t.setup_ring(0, opts(F_BASIC, STD_NUM, 5)));
	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(base, 100u);
	EXPECT_NE(log_text().find("used index 100 differs from base 5"), std::string::npos);
}

TEST_F(Ring, RING_15_CallFdReplacedOldClosed)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(t.setup_ring(0, opts(), true));
	int a = t.call_fd(0);
	std::string ka = fds::key_of(a);
	ConfSnap c1 = conf(0);

	ASSERT_TRUE(c1.present);
	ASSERT_GE(c1.c.call_fd, 0);
	EXPECT_EQ(fds::key_of(c1.c.call_fd), ka) << "the conf carries the call fd";
	int b = fds::make_eventfd();
	std::string kb = fds::key_of(b);

	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0, true, { b }));
	close(b);
	ConfSnap c2 = conf(0);

	ASSERT_TRUE(c2.present);
	EXPECT_EQ(fds::key_of(c2.c.call_fd), kb);
	EXPECT_EQ(fds::count_key(ka), 1) << "old call fd closed in the back-end";
	EXPECT_EQ(fds::count_key(kb), 1);
	/* No call fd: no notifications. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0 | VHOST_MSG_VRING_NOFD, true));
	EXPECT_EQ(conf(0).c.call_fd, -1);
	EXPECT_FALSE(info().rings[0].has_call);
	EXPECT_EQ(fds::count_key(kb), 0);
	/* Reserved bits refused, the fd closed. */
	int d = fds::make_eventfd();
	std::string kd = fds::key_of(d);

	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_CALL, 0 | (1ULL << 9), true, { d }));
	close(d);
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(fds::count_key(kd), 0);
	/* The error fd is kept, and closed when replaced. */
	int e1 = fds::make_eventfd(), e2 = fds::make_eventfd();
	std::string k1 = fds::key_of(e1), k2 = fds::key_of(e2);

	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_ERR, 0, true, { e1 }));
	EXPECT_TRUE(info().rings[0].has_err);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_ERR, 0, true, { e2 }));
	close(e1);
	close(e2);
	EXPECT_EQ(fds::count_key(k1), 0);
	EXPECT_EQ(fds::count_key(k2), 1);
}

TEST_F(Ring, RING_16_CallAcceptedAtAnyPoint)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	/* Before SET_FEATURES and SET_MEM_TABLE (QEMU masked notifier,
	 * virtio-user). */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0, true, { t.call_fd(0) }));
	EXPECT_TRUE(info().rings[0].has_call);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true));
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	ASSERT_TRUE(t.setup_ring(0, opts()));
	/* After KICK, and repeatedly while running. */
	std::vector<std::string> old;

	for (int i = 0; i < 100; i++) {
		int fd = fds::make_eventfd();

		old.push_back(fds::key_of(fd));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0, i % 10 == 0, { fd }));
		close(fd);
	}
	ASSERT_TRUE(t.barrier());
	EXPECT_TRUE(info().rings[0].published);
	EXPECT_EQ(fds::count_key(old.back()), 1);
	old.pop_back();
	int held = 0;

	for (const std::string &k : old)
		held += fds::count_key(k);
	EXPECT_EQ(held, 0) << "replaced call fds are closed";
}

TEST_F(Ring, RING_17_KickBurstDoesNotBusyLoopTheControlThread)
{
	Tfe t;
	int p[2];

	ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(Opts()));
	/* A pipe is a valid kick fd (platforms without eventfd). */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, 1, true, { p[0] }));
	EXPECT_TRUE(info().rings[1].published);
	for (int i = 0; i < 100000; i++)
		ASSERT_EQ(eventfd_write(t.kick_fd(0), 1), 0);
	char junk[4096] = {};

	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	/* Poll mode: a stale readable kick fd must not wake the control
	 * thread over and over. */
	double c0 = control_cpu_ms();

	usleep(300 * 1000);
	EXPECT_LT(control_cpu_ms() - c0, 60.0) << "control thread busy on kick fds";
	EXPECT_TRUE(t.barrier());
	EXPECT_TRUE(info().rings[0].published);
	close(p[0]);
	close(p[1]);
}

TEST_F(Ring, RING_19_OneRingRestartsOthersKeepRunning)
{
	Tfe t;
	Opts s;

	s.nrings = 4;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	t.ring(1).split_set_used_idx(9);
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(1, &base));
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.rings[0].published);
	EXPECT_FALSE(i.rings[1].published);
	EXPECT_TRUE(i.rings[2].published);
	EXPECT_TRUE(i.rings[3].published);
	/* Reconfigure tx0 with a new size and restart it at the returned base. */
	ASSERT_TRUE(t.setup_ring(1, opts(F_BASIC, 128, base)));
	i = info();
	for (unsigned r = 0; r < 4; r++) {
		EXPECT_TRUE(i.rings[r].published) << r;
	}
	EXPECT_EQ(i.rings[1].num, 128u);
	EXPECT_EQ(i.rings[0].num, STD_NUM);
	EXPECT_EQ(conf(1).c.num, 128);
}

TEST_F(Ring, RING_20_IndicesValidated)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 0xffffffffu, 256, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("ring index 4294967295 out of range"));
	struct vhost_msg_vring_addr a = t.ring(0).addr();

	a.index = 256;
	ASSERT_TRUE(t.send(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_ENABLE, 4, 1, true));
	EXPECT_TRUE(t.expect_nack()) << "4 rings on this port";
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_BASE, 99, 0, true));
	EXPECT_TRUE(t.expect_nack());
	/* Fd messages: 8-bit index in range of the field but not of the port. */
	int fd = fds::make_eventfd();
	std::string key = fds::key_of(fd);

	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 255, true, { fd }));
	close(fd);
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(fds::count_key(key), 0);
	EXPECT_TRUE(fault_logged("SET_VRING_KICK: ring index 255 out of range"));
	/* GET_VRING_BASE has a reply of its own: a bad index closes. */
	ASSERT_TRUE(t.send_state(VHOST_USER_GET_VRING_BASE, 4, 0, true));
	EXPECT_TRUE(t.expect_closed());
}
