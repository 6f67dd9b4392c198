/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ACK: REPLY_ACK semantics (ACK-1..5, 7; ACK-6 with a datapath thread is in
 * test_rcu.cc), including every combination of REPLY_ACK agreed or not,
 * need_reply set or not, success or failure.
 */
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

#include "fixture.h"

using namespace tfe;

namespace {

class Ack : public CtrlTest {};

} // namespace

TEST_F(Ack, ACK_1_NeedReplyGetsExactlyOneAck)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 0, 256, true));
	EXPECT_TRUE(t.expect_ack(0));
	EXPECT_TRUE(t.expect_silence(200));
	EXPECT_EQ(info().rings[0].num, 256u);
}

TEST_F(Ack, ACK_2_NeedReplyHonouredBeforeSetFeatures)
{
	Tfe t;
	uint64_t f, p;
	int sv[2];

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &p));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_BREQ, false));
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ASSERT_TRUE(t.send(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, true, { sv[0] }));
	close(sv[0]);
	EXPECT_TRUE(t.read_reply(VHOST_USER_SET_BACKEND_REQ_FD, 8, &f, 1000)) << "within 1 s";
	EXPECT_EQ(f, 0u);
	EXPECT_TRUE(info().has_backend_req);
	EXPECT_FALSE(info().features_set);
	close(sv[1]);
}

TEST_F(Ack, ACK_3_COMPAT_4_EveryAckOnlyRequestHonoursNeedReply)
{
	Tfe t;
	uint64_t f;
	const uint64_t P = P_ACK | P_MQ | P_RARP | P_MTU | P_BREQ | P_RESET | P_SLOTS | P_STATUS |
			   P_LOG;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P, true));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC | F_LOG_ALL, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0xb, true));
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	GuestMem extra(1 << 20, 1ULL << 32, STD_UVA + (1ULL << 32));
	struct vhost_msg_mem_reg reg = {};

	reg.region = extra.region();
	ASSERT_TRUE(t.req_ok(VHOST_USER_ADD_MEM_REG, &reg, sizeof(reg), true, { extra.fd() }));
	ASSERT_TRUE(t.req_ok(VHOST_USER_REM_MEM_REG, &reg, sizeof(reg), true));
	Opts s;

	s.features = F_BASIC | F_LOG_ALL;
	s.need_reply_all = true;
	ASSERT_TRUE(t.setup_ring(0, s, true));
	int err = fds::make_eventfd();

	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_ERR, 0, true, { err }));
	close(err);
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 1, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SEND_RARP, 0x010000000002ULL, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_NET_SET_MTU, 1500, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0xf, true));
	int lfd = fds::make_eventfd();

	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_LOG_FD, nullptr, 0, true, { lfd }));
	close(lfd);
	int sv[2];

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, true, { sv[0] }));
	close(sv[0]);
	close(sv[1]);
	ASSERT_TRUE(t.req_ok(VHOST_USER_RESET_OWNER, nullptr, 0, true));
	ASSERT_TRUE(t.req_ok(VHOST_USER_RESET_DEVICE, nullptr, 0, true));
	/* Not offered: still exactly one answer, a nack. */
	uint8_t cfg[12 + 6] = {};

	ASSERT_TRUE(t.send(VHOST_USER_SET_CONFIG, cfg, sizeof(cfg), true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(t.expect_silence(200)) << "one reply per request, no more";
}

TEST_F(Ack, ACK_4_OwnReplyOnlyWithNeedReply)
{
	Tfe t;
	Opts s;

	s.protocol = P_ACK | P_MQ | P_SLOTS | P_STATUS | P_LOG;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	/* All sent at once with need_reply; an extra ack anywhere would show
	 * up as a wrong header at the next read. */
	std::vector<uint8_t> all;
	struct vhost_msg_vring_state st = { 1, 0 };
	struct vhost_msg_log l = { 4096, 0 };
	GuestMem log(4096, 0, 0);
	const uint32_t nr = VHOST_MSG_VERSION | VHOST_MSG_FLAG_NEED_REPLY;

	for (uint32_t req :
	     { VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES, VHOST_USER_GET_QUEUE_NUM,
	       VHOST_USER_GET_STATUS, VHOST_USER_GET_MAX_MEM_SLOTS }) {
		auto b = Tfe::frame(req, nr, 0, nullptr, 0);

		all.insert(all.end(), b.begin(), b.end());
	}
	auto b = Tfe::frame(VHOST_USER_GET_VRING_BASE, nr, 8, &st, 8);

	all.insert(all.end(), b.begin(), b.end());
	ASSERT_TRUE(t.send_bytes(all.data(), all.size()));
	uint64_t v;

	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_FEATURES, 8, &v));
	EXPECT_EQ(v, info().features_offered);
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_PROTOCOL_FEATURES, 8, &v));
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_QUEUE_NUM, 8, &v));
	EXPECT_EQ(v, 2u);
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_STATUS, 8, &v));
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_MAX_MEM_SLOTS, 8, &v));
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_VRING_BASE, 8, &st));
	ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), true, { log.fd() }));
	struct vhost_msg_log echo;

	EXPECT_TRUE(t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo));
	EXPECT_TRUE(t.expect_silence(200));
}

TEST_F(Ack, ACK_5_FailuresAreNacked)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK | P_MTU));
	/* Bad index. */
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 1000, 256, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("ring index 1000 out of range"));
	/* Invalid MTU. */
	ASSERT_TRUE(t.send_u64(VHOST_USER_NET_SET_MTU, 10, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("NET_SET_MTU 10 outside"));
	EXPECT_EQ(info().mtu, 0);
	/* Wrong fd count: a one-region table without its fd. */
	struct vhost_msg_mem_table mt = {};

	mt.nregions = 1;
	mt.regions[0] = t.mem().region();
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 40, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("wrong number of fds"));
	/* Unsupported request. */
	ASSERT_TRUE(t.send(VHOST_USER_POSTCOPY_ADVISE, nullptr, 0, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("POSTCOPY_ADVISE"));
	/* mmap impossible: the file is shorter than the region. */
	GuestMem small(4096);

	mt.regions[0] = small.region(0, 8192);
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 40, true, { small.fd() }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("8192 bytes but its file has 4096"));
	EXPECT_EQ(info().nregions, 0u);
	EXPECT_EQ(small.backend_maps(), 0);
}

TEST_F(Ack, ACK_7_NeedReplyWithoutReplyAck)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(0));
	ASSERT_EQ(info().protocol_features, 0u);
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 0, 256, true));
	EXPECT_TRUE(t.expect_ack(0)) << "need_reply honoured as DPDK does";
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 0, 0, true));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 1, 128, false));
	EXPECT_TRUE(t.expect_silence(200));
	EXPECT_TRUE(t.barrier()) << "stream still in sync";
	EXPECT_EQ(info().rings[1].num, 128u);
}

/* ------------------------------------------------------------------------ */
/* REPLY_ACK agreed or not x need_reply or not x success or failure, on
 * several ack-only requests. */

namespace {

struct Case {
	const char *name;
	const char *fault; /* what last_error must name on failure */
	/* Send the request; returns its code. */
	std::function<AssertionResult(Tfe &, bool need_reply, bool succeed)> send;
	/* Its effect is visible iff it succeeded. */
	std::function<bool(const vhost_port_info &)> applied;
};

class AckMatrix : public CtrlTest,
		  public ::testing::WithParamInterface<std::tuple<bool, bool, bool>> {};

std::vector<Case>
cases(GuestMem &good, GuestMem &shortfile)
{
	return {
		{ "SET_VRING_NUM", "SET_VRING_NUM: ring 0 size 0 invalid",
		  [](Tfe &t, bool nr, bool ok) {
			  return t.send_state(VHOST_USER_SET_VRING_NUM, 0, ok ? 256 : 0, nr);
		  },
		  [](const vhost_port_info &i) { return i.rings[0].num == 256; } },
		{ "SET_VRING_BASE", "ring index 999 out of range",
		  [](Tfe &t, bool nr, bool ok) {
			  return t.send_state(VHOST_USER_SET_VRING_BASE, ok ? 1 : 999, 7, nr);
		  },
		  [](const vhost_port_info &i) { return i.rings[1].base == 7; } },
		{ "SET_VRING_ENABLE", "value 2 is neither 0 nor 1",
		  [](Tfe &t, bool nr, bool ok) {
			  return t.send_state(VHOST_USER_SET_VRING_ENABLE, 2, ok ? 1 : 2, nr);
		  },
		  [](const vhost_port_info &i) { return i.rings[2].enabled; } },
		{ "NET_SET_MTU", "NET_SET_MTU 10 outside",
		  [](Tfe &t, bool nr, bool ok) {
			  return t.send_u64(VHOST_USER_NET_SET_MTU, ok ? 1500 : 10, nr);
		  },
		  [](const vhost_port_info &i) { return i.mtu == 1500; } },
		{ "SET_FEATURES", "has bits not offered",
		  [](Tfe &t, bool nr, bool ok) {
			  return t.send_u64(VHOST_USER_SET_FEATURES,
					    F_BASIC | (ok ? 0 : bit(VIRTIO_NET_F_HOST_UFO)), nr);
		  },
		  [](const vhost_port_info &i) { return i.features_set; } },
		{ "SET_MEM_TABLE", "bytes but its file has 4096",
		  [&good, &shortfile](Tfe &t, bool nr, bool ok) {
			  GuestMem &m = ok ? good : shortfile;
			  struct vhost_msg_mem_table mt = {};

			  mt.nregions = 1;
			  mt.regions[0] = m.region(0, good.size());
			  return t.send(VHOST_USER_SET_MEM_TABLE, &mt, 40, nr, { m.fd() });
		  },
		  [](const vhost_port_info &i) { return i.nregions == 1; } },
		{ "SET_VRING_CALL", "SET_VRING_CALL: reserved bits",
		  [](Tfe &t, bool nr, bool ok) {
			  int fd = fds::make_eventfd();
			  /* Failure: a reserved bit in the u64. */
			  AssertionResult r = t.send_u64(VHOST_USER_SET_VRING_CALL,
							 ok ? 3 : 3 | 0x400, nr, { fd });

			  close(fd);
			  return r;
		  },
		  [](const vhost_port_info &i) { return i.rings[3].has_call; } },
	};
}

} // namespace

TEST_P(AckMatrix, ACK_1_ACK_5_ACK_7_ReplyAckCombinations)
{
	bool agreed = std::get<0>(GetParam());
	bool need_reply = std::get<1>(GetParam());
	bool succeed = std::get<2>(GetParam());
	GuestMem good(1 << 20), shortfile(4096);

	for (const Case &c : cases(good, shortfile)) {
		Tfe t;

		SCOPED_TRACE(c.name);
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.negotiate(P_MTU | (agreed ? P_ACK : 0)));
		ASSERT_EQ(info().protocol_features & P_ACK, agreed ? P_ACK : 0);
		ASSERT_TRUE(c.send(t, need_reply, succeed));
		uint32_t req = t.last_request();

		if (need_reply) {
			if (succeed) {
				EXPECT_TRUE(t.expect_ack(0));
			} else {
				EXPECT_TRUE(t.expect_nack());
			}
		}
		EXPECT_TRUE(t.expect_silence(need_reply ? 20 : 50)) << "exactly one reply or none";
		/* Still in sync, and the effect matches the outcome. */
		ASSERT_TRUE(t.barrier());
		struct vhost_port_info i = info();

		EXPECT_EQ(c.applied(i), succeed);
		if (succeed) {
			EXPECT_EQ(i.last_error[0], '\0') << i.last_error;
		} else {
			EXPECT_TRUE(fault_logged(c.fault)) << vhost_msg_name(req);
		}
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
		/* A fresh port state for the next case: the fault is per connection. */
		vhost_ctrl_port_del(ctrl_, (unsigned)port_);
		port_ = add_port(sock_, false, 2);
	}
}

INSTANTIATE_TEST_SUITE_P(
	All, AckMatrix, ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Bool()),
	[](const ::testing::TestParamInfo<AckMatrix::ParamType> &p) {
		return std::string(std::get<0>(p.param) ? "ReplyAck" : "NoReplyAck") +
		       (std::get<1>(p.param) ? "_NeedReply" : "_NoNeedReply") +
		       (std::get<2>(p.param) ? "_Success" : "_Failure");
	});
