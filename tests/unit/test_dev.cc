/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DEV: device-level requests (DEV-1..4, 6, 8). DEV-5 (inflight) and DEV-7
 * (IOTLB) are not offered by this back-end; their refusal is checked under
 * DEV-8 and MSG-13.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"

using namespace tfe;

namespace {

class Dev : public CtrlTest {};

int
channel(std::string *key)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	close(sv[1]);
	*key = fds::key_of(sv[0]);
	return sv[0];
}

} // namespace

TEST_F(Dev, DEV_1_NetSetMtuRange)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK | P_MTU));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_NET_SET_MTU, 9000, true));
	EXPECT_EQ(info().mtu, 9000);
	for (uint64_t bad : { 10ULL, 67ULL, 65536ULL, 1ULL << 40 }) {
		ASSERT_TRUE(t.send_u64(VHOST_USER_NET_SET_MTU, bad, true));
		EXPECT_TRUE(t.expect_nack()) << bad;
		EXPECT_EQ(info().mtu, 9000) << bad;
	}
	EXPECT_TRUE(fault_logged("outside 68..65535"));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_NET_SET_MTU, 68, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_NET_SET_MTU, 65535, true));
	EXPECT_EQ(info().mtu, 65535);
	EXPECT_TRUE(info().features_offered & bit(VIRTIO_NET_F_MTU));
}

TEST_F(Dev, DEV_2_ConfigSpaceNotOffered)
{
	Tfe t;
	uint8_t cfg[12] = {};

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	EXPECT_FALSE(t.protocol_offered & bit(VHOST_PF_CONFIG));
	for (uint32_t req : { VHOST_USER_GET_CONFIG, VHOST_USER_SET_CONFIG }) {
		ASSERT_TRUE(t.send(req, cfg, sizeof(cfg), true));
		EXPECT_TRUE(t.expect_nack()) << vhost_msg_name(req);
	}
}

TEST_F(Dev, DEV_3_StatusGatesTheRings)
{
	Tfe t;
	Opts s;
	uint64_t st;

	s.protocol = P_ACK | P_STATUS;
	s.base = 3;
	t.ring(0).split_set_used_idx(3);
	t.ring(1).split_set_used_idx(3);
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	/* Every ring set up, no DRIVER_OK: not running. */
	EXPECT_FALSE(info().rings[0].published);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0xb, true));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_STATUS, &st));
	EXPECT_EQ(st, 0xbu);
	EXPECT_FALSE(info().rings[0].published);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0xf, true));
	EXPECT_TRUE(info().rings[0].published);
	EXPECT_TRUE(info().rings[1].published);
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_STATUS, &st));
	EXPECT_EQ(st, 0xfu);
	EXPECT_EQ(info().status, 0xf);
	/* Status 0 (QEMU's stop): withdrawn, ring positions kept. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0, true));
	EXPECT_FALSE(info().rings[0].published);
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(base, 3u) << "the position is kept, not reset";
	/* Not a status byte. */
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_STATUS, 0x100, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("is not a status byte"));
}

TEST_F(Dev, DEV_3_WithoutStatusRingsRunAtOnce)
{
	Tfe t;
	Opts s;

	s.protocol = P_ACK;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	EXPECT_TRUE(info().rings[0].published);
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_STATUS, 0xf, true));
	EXPECT_TRUE(t.expect_nack()) << "STATUS not negotiated";
	ASSERT_TRUE(t.send(VHOST_USER_GET_STATUS, nullptr, 0, true));
	EXPECT_TRUE(t.expect_closed()) << "a u64 reply cannot say no: closed";
}

TEST_F(Dev, DEV_4_ResetDeviceKeepsConnection)
{
	Tfe t;
	Opts s;
	std::string key;
	int ch = channel(&key);

	s.protocol = P_ACK | P_RESET | P_BREQ | P_MTU;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, true, { ch }));
	close(ch);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_NET_SET_MTU, 1500, true));
	unsigned conns = info().connections;

	ASSERT_TRUE(t.req_ok(VHOST_USER_RESET_DEVICE, nullptr, 0, true));
	struct vhost_port_info i = info();

	EXPECT_EQ(i.conn, VHOST_PORT_CONNECTED);
	EXPECT_EQ(i.connections, conns);
	EXPECT_FALSE(i.features_set);
	EXPECT_EQ(i.nregions, 0u);
	EXPECT_EQ(i.mtu, 0);
	EXPECT_EQ(t.mem().backend_maps(), 0);
	for (unsigned r = 0; r < i.nrings; r++) {
		EXPECT_FALSE(i.rings[r].started);
		EXPECT_FALSE(i.rings[r].enabled);
		EXPECT_FALSE(i.rings[r].published);
		EXPECT_FALSE(i.rings[r].has_call);
		EXPECT_EQ(i.rings[r].num, 0u);
	}
	/* Connection state kept: protocol features and back-end channel. */
	EXPECT_EQ(i.protocol_features, s.protocol);
	EXPECT_TRUE(i.has_backend_req);
	EXPECT_EQ(fds::count_key(key), 1);
	/* A fresh set-up on the same socket works. */
	ASSERT_TRUE(t.std_setup(s));
	EXPECT_TRUE(info().rings[0].published);
	EXPECT_TRUE(info().rings[1].published);
}

TEST_F(Dev, DEV_4_ResetOwnerOnlyDisablesRings)
{
	Tfe t;
	Opts s;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_TRUE(t.req_ok(VHOST_USER_RESET_OWNER, nullptr, 0, true));
	uint64_t f;

	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f)) << "still answered";
	struct vhost_port_info i = info();

	EXPECT_EQ(i.conn, VHOST_PORT_CONNECTED);
	EXPECT_FALSE(i.rings[0].enabled);
	EXPECT_FALSE(conf(0).c.enabled);
	EXPECT_EQ(i.nregions, 1u) << "no teardown of the connection's state";
	EXPECT_TRUE(i.features_set);
}

TEST_F(Dev, DEV_6_COMPAT_1_BackendChannelStoredAndReplaced)
{
	for (bool nr : { false, true }) {
		Tfe t;
		std::string k1, k2;
		int c1 = channel(&k1), c2 = channel(&k2);
		uint64_t f, p;

		SCOPED_TRACE(nr ? "need_reply" : "no need_reply");
		ASSERT_TRUE(connect(t));
		/* QEMU: right after protocol negotiation, before SET_OWNER. */
		ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
		ASSERT_TRUE(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &p));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_BREQ, false));
		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, nr, { c1 }));
		close(c1);
		ASSERT_TRUE(t.barrier());
		EXPECT_TRUE(info().has_backend_req);
		EXPECT_EQ(fds::count_key(k1), 1);
		/* A new channel replaces (closes) the old one. */
		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, nr, { c2 }));
		close(c2);
		ASSERT_TRUE(t.barrier());
		EXPECT_EQ(fds::count_key(k1), 0);
		EXPECT_EQ(fds::count_key(k2), 1);
		/* Disconnect closes it. */
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
		EXPECT_EQ(fds::count_key(k2), 0);
	}
}

TEST_F(Dev, DEV_8_UnackedGatedRequestsRefused)
{
	Tfe t;
	std::string key;
	int ch = channel(&key);
	GuestMem extra(1 << 20, 1ULL << 32, STD_UVA + (1ULL << 32));
	struct vhost_msg_mem_reg reg = {};

	reg.region = extra.region();
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK)); /* nothing else acked */
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	ASSERT_TRUE(t.send_u64(VHOST_USER_NET_SET_MTU, 1500, true));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, true, { ch }));
	close(ch);
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send(VHOST_USER_RESET_DEVICE, nullptr, 0, true));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send(VHOST_USER_ADD_MEM_REG, &reg, sizeof(reg), true, { extra.fd() }));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send(VHOST_USER_REM_MEM_REG, &reg, sizeof(reg), true));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_STATUS, 0xf, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("protocol feature STATUS not negotiated"));
	/* None was executed. */
	struct vhost_port_info i = info();

	EXPECT_EQ(i.mtu, 0);
	EXPECT_FALSE(i.has_backend_req);
	EXPECT_EQ(fds::count_key(key), 0);
	EXPECT_EQ(i.nregions, 1u);
	EXPECT_EQ(extra.backend_maps(), 0);
	EXPECT_EQ(i.status, 0);
	/* Requests with a u64 reply of their own cannot be nacked: closed. */
	ASSERT_TRUE(t.send(VHOST_USER_GET_MAX_MEM_SLOTS, nullptr, 0, true));
	EXPECT_TRUE(t.expect_closed());
}
