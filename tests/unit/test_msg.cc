/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MSG: framing and transport (MSG-1..9, 11..14). MSG-10 (fd accounting
 * under load) is in test_sec.cc with the other leak tests.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "fixture.h"

using namespace tfe;

namespace {

class Msg : public CtrlTest {};

class MsgClient : public CtrlTest {
protected:
	MsgClient() { client_ = true; }
};

long
rss_kb()
{
	std::ifstream in("/proc/self/status");
	std::string line;

	while (std::getline(in, line))
		if (line.rfind("VmRSS:", 0) == 0)
			return atol(line.c_str() + 6);
	return -1;
}

} // namespace

TEST_F(Msg, MSG_1_HeaderThenExactPayload)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	/* 12 bytes, size 0, as one write. */
	struct vhost_msg_hdr h = { VHOST_USER_GET_FEATURES, VHOST_MSG_VERSION, 0 };

	ASSERT_TRUE(t.send_bytes(&h, sizeof(h)));
	uint8_t buf[20];
	ssize_t got = 0;

	while (got < 20) {
		ssize_t n = recv(t.fd(), buf + got, sizeof(buf) - got, 0);

		ASSERT_GT(n, 0);
		got += n;
	}
	struct vhost_msg_hdr r;
	uint64_t v;

	memcpy(&r, buf, 12);
	memcpy(&v, buf + 12, 8);
	EXPECT_EQ(r.request, (uint32_t)VHOST_USER_GET_FEATURES);
	EXPECT_EQ(r.flags, 0x5u);
	EXPECT_EQ(r.size, 8u);
	EXPECT_EQ(v, info().features_offered);
	EXPECT_TRUE(t.expect_silence(100)) << "exactly 20 bytes";
}

TEST_F(Msg, MSG_2_BadVersionClosesAndIsNotExecuted)
{
	for (uint32_t version : { 0u, 2u, 3u }) {
		for (bool nr : { false, true }) {
			Tfe t;

			SCOPED_TRACE("version " + std::to_string(version) +
				     (nr ? " need_reply" : ""));
			ASSERT_TRUE(connect(t));
			ASSERT_TRUE(t.negotiate(P_ACK));
			/* SET_VRING_NUM is observable: the ring size must stay 0. */
			struct vhost_msg_vring_state s = { 0, 256 };

			ASSERT_TRUE(t.send_raw(VHOST_USER_SET_VRING_NUM,
					       version | (nr ? VHOST_MSG_FLAG_NEED_REPLY : 0), &s,
					       8));
			ASSERT_TRUE(t.expect_closed());
			EXPECT_TRUE(fault_logged("bad version"));
			EXPECT_EQ(info().rings[0].num, 0u);
		}
	}
	/* The back-end survives and serves the next front-end. */
	Tfe t;

	ASSERT_TRUE(connect(t));
	EXPECT_TRUE(t.barrier());
}

TEST_F(Msg, MSG_3_COMPAT_7_EveryReplyStrict)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	Opts s;

	s.protocol = P_ACK | P_MQ | P_SLOTS | P_STATUS | P_LOG;
	s.features |= F_LOG_ALL;
	ASSERT_TRUE(t.std_setup(s));
	for (bool nr : { false, true }) {
		uint64_t v;
		uint32_t base;

		/* read_reply checks {request, 0x5, size} and that no fd came. */
		EXPECT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &v, nr));
		EXPECT_TRUE(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &v, nr));
		EXPECT_TRUE(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &v, nr));
		EXPECT_TRUE(t.get_u64(VHOST_USER_GET_MAX_MEM_SLOTS, &v, nr));
		EXPECT_TRUE(t.get_u64(VHOST_USER_GET_STATUS, &v, nr));
		EXPECT_TRUE(t.get_vring_base(3, &base, nr));
		GuestMem log(4096, 0, 0);
		struct vhost_msg_log l = { 4096, 0 };
		struct vhost_msg_log echo;

		ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), nr, { log.fd() }));
		EXPECT_TRUE(t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo));
		EXPECT_TRUE(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, true));
		EXPECT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 2, 128, true));
		EXPECT_TRUE(t.expect_silence(50));
	}
}

TEST_F(Msg, MSG_4_ReplyOrReservedFlagBitsRejected)
{
	for (uint32_t flags : { 0x5u, 0xdu, 0x11u, 0x40000001u }) {
		Tfe t;

		SCOPED_TRACE("flags " + std::to_string(flags));
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, 256, true));
		struct vhost_msg_vring_state s = { 0, 512 };

		ASSERT_TRUE(t.send_raw(VHOST_USER_SET_VRING_NUM, flags, &s, sizeof(s)));
		/* Close (chosen here) or nack; never a changed ring. */
		uint64_t v;
		AssertionResult closed = t.expect_closed(1000);

		if (!closed) {
			ASSERT_TRUE(t.read_reply(VHOST_USER_SET_VRING_NUM, 8, &v));
			EXPECT_NE(v, 0u);
			EXPECT_EQ(info().rings[0].num, 256u);
		}
		EXPECT_TRUE(fault_logged("reply or reserved bits"));
	}
}

TEST_F(Msg, MSG_5_UnknownRequestKeepsFraming)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	uint8_t junk[24];

	memset(junk, 0xee, sizeof(junk));
	for (bool nr : { true, false }) {
		std::vector<uint8_t> b = Tfe::frame(
			0x7f00, VHOST_MSG_VERSION | (nr ? VHOST_MSG_FLAG_NEED_REPLY : 0),
			sizeof(junk), junk, sizeof(junk));
		std::vector<uint8_t> g = Tfe::frame(VHOST_USER_GET_FEATURES, VHOST_MSG_VERSION, 0,
						    nullptr, 0);

		b.insert(b.end(), g.begin(), g.end());
		ASSERT_TRUE(t.send_bytes(b.data(), b.size()));
		if (nr) {
			ASSERT_TRUE(t.expect_nack_to(0x7f00));
		}
		uint64_t f;

		ASSERT_TRUE(t.read_reply(VHOST_USER_GET_FEATURES, 8, &f));
		EXPECT_EQ(f, info().features_offered);
	}
	EXPECT_TRUE(fault_logged("UNKNOWN (32512) refused"));
}

TEST_F(Msg, MSG_6_OversizeHeaderClosesWithoutAllocating)
{
	long before = rss_kb();

	for (uint32_t size : { 0xffffffffu, VHOST_MSG_MAX_PAYLOAD + 1 }) {
		Tfe t;

		ASSERT_TRUE(connect(t));
		struct vhost_msg_hdr h = { VHOST_USER_SET_OWNER, VHOST_MSG_VERSION, size };

		ASSERT_TRUE(t.send_bytes(&h, sizeof(h)));
		ASSERT_TRUE(t.expect_closed());
		EXPECT_TRUE(fault_logged("payload size above limit"));
	}
	EXPECT_LT(rss_kb() - before, 16 * 1024) << "RSS grew after huge size fields";
	/* The largest accepted size is consumed and framing holds. */
	Tfe t;

	ASSERT_TRUE(connect(t));
	std::vector<uint8_t> big(VHOST_MSG_MAX_PAYLOAD, 0x11);

	ASSERT_TRUE(t.send_raw(0x7f01, VHOST_MSG_VERSION | VHOST_MSG_FLAG_NEED_REPLY, big.data(),
			       big.size()));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(t.barrier());
}

TEST_F(Msg, MSG_7_SizeMismatchNackOrClose)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	uint8_t four[4] = { 0, 0, 0, 1 };

	ASSERT_TRUE(t.send(VHOST_USER_SET_VRING_NUM, four, sizeof(four), true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(info().rings[0].num, 0u);
	EXPECT_TRUE(fault_logged("payload size does not match"));
	struct vhost_msg_vring_addr a = t.ring(0).addr();

	ASSERT_TRUE(t.send(VHOST_USER_SET_VRING_ADDR, &a, 32, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_FALSE(info().rings[0].addr_set);
	/* A payload on a request that takes none. */
	ASSERT_TRUE(t.send(VHOST_USER_SET_OWNER, four, sizeof(four), true));
	EXPECT_TRUE(t.expect_nack());
	/* The stream is intact after each nack. */
	EXPECT_TRUE(t.barrier());
	/* Without need_reply the front-end would not notice: closed. */
	ASSERT_TRUE(t.send(VHOST_USER_SET_VRING_NUM, four, sizeof(four), false));
	EXPECT_TRUE(t.expect_closed());
}

TEST_F(Msg, MSG_8_EightFdsMapNineRejectedNoneKept)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	std::vector<std::unique_ptr<GuestMem>> mems;
	std::vector<struct vhost_msg_region> regions;
	std::vector<int> fdv;

	for (unsigned i = 0; i < 8; i++) {
		mems.emplace_back(
			new GuestMem(1 << 20, (uint64_t)i << 24, STD_UVA + ((uint64_t)i << 24)));
		regions.push_back(mems.back()->region());
		fdv.push_back(mems.back()->fd());
	}
	ASSERT_TRUE(t.set_mem_table(regions, fdv, true));
	EXPECT_EQ(info().nregions, 8u);
	for (auto &m : mems) {
		EXPECT_EQ(m->backend_maps(), 1);
	}

	/* Nine fds on one message. */
	std::vector<int> nine;
	std::vector<std::string> keys;

	for (unsigned i = 0; i < 9; i++) {
		nine.push_back(fds::make_eventfd());
		keys.push_back(fds::key_of(nine.back()));
	}
	struct vhost_msg_mem_table mt = {};

	mt.nregions = 8;
	for (unsigned i = 0; i < 8; i++)
		mt.regions[i] = regions[i];
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32 * 8, true, nine));
	for (int fd : nine)
		close(fd);
	AssertionResult closed = t.expect_closed();

	if (!closed) {
		EXPECT_TRUE(t.expect_nack());
	}
	EXPECT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	for (const std::string &k : keys) {
		EXPECT_EQ(fds::count_key(k), 0) << "back-end kept " << k;
	}
	for (auto &m : mems) {
		EXPECT_EQ(m->backend_maps(), 0) << "disconnect unmaps";
	}
	EXPECT_TRUE(fault_logged("fds"));
}

TEST_F(Msg, MSG_9_FdCountMismatchNoLeak)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	/* SET_VRING_CALL, bit 8 clear, no fd. */
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_CALL, 0, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("wrong number of fds"));
	EXPECT_FALSE(info().rings[0].has_call);
	/* SET_VRING_CALL with bit 8 and an fd anyway. */
	int efd = fds::make_eventfd();
	std::string key = fds::key_of(efd);

	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_CALL, 0 | VHOST_MSG_VRING_NOFD, true, { efd }));
	close(efd);
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(fds::count_key(key), 0);
	/* Two fds on SET_VRING_KICK. */
	int a = fds::make_eventfd(), b = fds::make_eventfd();
	std::string ka = fds::key_of(a), kb = fds::key_of(b);

	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 1, true, { a, b }));
	close(a);
	close(b);
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(fds::count_key(ka) + fds::count_key(kb), 0);
	EXPECT_FALSE(info().rings[1].has_kick);
	/* GET_FEATURES with an fd: its reply is not an ack, so a close (or a
	 * nack) - and the fd is not kept either way. */
	efd = fds::make_eventfd();
	key = fds::key_of(efd);
	ASSERT_TRUE(t.send(VHOST_USER_GET_FEATURES, nullptr, 0, false, { efd }));
	close(efd);
	EXPECT_TRUE(t.expect_closed());
	EXPECT_EQ(fds::count_key(key), 0);
}

TEST_F(Msg, MSG_11_SplitAndCoalescedStream)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	/* SET_MEM_TABLE one byte per write, its fd on the first byte. */
	struct vhost_msg_mem_table mt = {};

	mt.nregions = 1;
	mt.regions[0] = t.mem().region();
	std::vector<uint8_t> b = Tfe::frame(VHOST_USER_SET_MEM_TABLE,
					    VHOST_MSG_VERSION | VHOST_MSG_FLAG_NEED_REPLY, 40, &mt,
					    40);

	ASSERT_TRUE(t.send_split(b.data(), b.size(), 1, { t.mem().fd() }));
	EXPECT_TRUE(t.expect_ack_to(VHOST_USER_SET_MEM_TABLE, 0));
	EXPECT_EQ(info().nregions, 1u);
	/* Three messages in one write, handled in order. */
	std::vector<uint8_t> all;
	struct vhost_msg_vring_state num = { 0, 256 }, base = { 0, 5 }, get = { 0, 0 };

	for (auto &part : { Tfe::frame(VHOST_USER_SET_VRING_NUM, 9, 8, &num, 8),
			    Tfe::frame(VHOST_USER_SET_VRING_BASE, 9, 8, &base, 8),
			    Tfe::frame(VHOST_USER_GET_VRING_BASE, 1, 8, &get, 8) })
		all.insert(all.end(), part.begin(), part.end());
	ASSERT_TRUE(t.send_bytes(all.data(), all.size()));
	EXPECT_TRUE(t.expect_ack_to(VHOST_USER_SET_VRING_NUM, 0));
	EXPECT_TRUE(t.expect_ack_to(VHOST_USER_SET_VRING_BASE, 0));
	struct vhost_msg_vring_state st;

	ASSERT_TRUE(t.read_reply(VHOST_USER_GET_VRING_BASE, 8, &st));
	EXPECT_EQ(st.num, 5u);
	/* A header cut 5 + 7 with a pause, payload after another pause. */
	b = Tfe::frame(VHOST_USER_SET_VRING_NUM, 9, 8, &num, 8);
	ASSERT_TRUE(t.send_bytes(b.data(), 5));
	EXPECT_TRUE(t.expect_silence(50));
	ASSERT_TRUE(t.send_bytes(b.data() + 5, 7));
	EXPECT_TRUE(t.expect_silence(50));
	ASSERT_TRUE(t.send_bytes(b.data() + 12, 8));
	EXPECT_TRUE(t.expect_ack_to(VHOST_USER_SET_VRING_NUM, 0));
}

TEST_F(Msg, MSG_12_InOrderOneReplyEach)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_MQ));
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 0, 256, false));
	EXPECT_TRUE(t.expect_silence(200));
	std::vector<uint8_t> all;

	for (uint32_t req :
	     { VHOST_USER_GET_FEATURES, VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES,
	       VHOST_USER_GET_FEATURES, VHOST_USER_GET_QUEUE_NUM }) {
		auto f = Tfe::frame(req, VHOST_MSG_VERSION, 0, nullptr, 0);

		all.insert(all.end(), f.begin(), f.end());
	}
	ASSERT_TRUE(t.send_bytes(all.data(), all.size()));
	uint64_t v;

	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_FEATURES, 8, &v));
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_FEATURES, 8, &v));
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_PROTOCOL_FEATURES, 8, &v));
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_FEATURES, 8, &v));
	EXPECT_TRUE(t.read_reply(VHOST_USER_GET_QUEUE_NUM, 8, &v));
	EXPECT_EQ(v, 2u);
	EXPECT_TRUE(t.expect_silence(200)) << "nothing unsolicited";
}

TEST_F(Msg, MSG_13_DEV_8_UnservedRequestsRefused)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	uint8_t payload[24] = {};

	/* Not offered: ENDIAN, CONFIG, crypto, postcopy, inflight, GPU,
	 * in-band kick, shared object, device state, shmem. */
	for (uint32_t req :
	     { 23u, 24u, 25u, 26u, 27u, 28u, 29u, 30u, 31u, 32u, 33u, 35u, 41u, 42u, 43u, 44u }) {
		SCOPED_TRACE(vhost_msg_name(req));
		ASSERT_TRUE(t.send(req, payload, sizeof(payload), true));
		EXPECT_TRUE(t.expect_nack());
		ASSERT_TRUE(t.send(req, payload, sizeof(payload), false));
		EXPECT_TRUE(t.barrier()) << "ignored without need_reply, framing kept";
	}
	/* IOTLB_MSG always gets a u64 answer, need_reply or not (ACK-7). */
	ASSERT_TRUE(t.send(VHOST_USER_IOTLB_MSG, payload, sizeof(payload), false));
	EXPECT_TRUE(t.expect_nack());
	/* An fd on an unserved request is closed. */
	int efd = fds::make_eventfd();
	std::string key = fds::key_of(efd);

	ASSERT_TRUE(t.send(VHOST_USER_SET_INFLIGHT_FD, payload, sizeof(payload), true, { efd }));
	close(efd);
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(fds::count_key(key), 0);
	EXPECT_TRUE(fault_logged("not served by a net back-end"));
}

TEST_F(MsgClient, MSG_14_ClientModeStdSetup)
{
	Tfe t;

	ASSERT_TRUE(t.listen(sock_));
	ASSERT_TRUE(t.accept());
	ASSERT_TRUE(wait_conn(VHOST_PORT_CONNECTED));
	EXPECT_TRUE(info().client);
	ASSERT_TRUE(t.std_setup(Opts()));
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.rings[0].published);
	EXPECT_TRUE(i.rings[1].published);
	EXPECT_EQ(i.nregions, 1u);
}

TEST_F(Msg, MSG_14_ServerModeStdSetup)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	EXPECT_FALSE(info().client);
	ASSERT_TRUE(t.std_setup(Opts()));
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.rings[0].published);
	EXPECT_TRUE(i.rings[1].published);
	EXPECT_EQ(i.nregions, 1u);
}
