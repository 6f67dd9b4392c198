/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RECONNECT: clean state per connection, teardown at any point, device
 * restarts on one socket, server re-accept and client-mode reconnect
 * (RECONNECT-1, 2, 4, 5, 6; MSG-14 for the client role).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include "fixture.h"

using namespace tfe;

namespace {

class Reconnect : public CtrlTest {};

class ReconnectClient : public CtrlTest {
protected:
	ReconnectClient() { client_ = true; }
};

void
sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, nullptr);
}

/* std-setup as a list of single messages, to cut it anywhere. */
std::vector<std::function<AssertionResult(Tfe &)>>
std_steps(const GuestMem &log)
{
	std::vector<std::function<AssertionResult(Tfe &)>> v;

	v.push_back([](Tfe &t) {
		uint64_t f;
		return t.get_u64(VHOST_USER_GET_FEATURES, &f);
	});
	v.push_back([](Tfe &t) {
		uint64_t p;
		return t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &p);
	});
	v.push_back([](Tfe &t) {
		return t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_LOG, false);
	});
	v.push_back([](Tfe &t) { return t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false); });
	for (unsigned r = 0; r < 2; r++)
		v.push_back([r](Tfe &t) {
			return t.u64_ok(VHOST_USER_SET_VRING_CALL, r, false, { t.call_fd(r) });
		});
	v.push_back([](Tfe &t) {
		return t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC | F_LOG_ALL, false);
	});
	v.push_back([](Tfe &t) { return t.set_mem_table(t.mem(), false); });
	for (unsigned r = 0; r < 2; r++) {
		v.push_back([r](Tfe &t) {
			return t.state_ok(VHOST_USER_SET_VRING_NUM, r, STD_NUM, false);
		});
		v.push_back(
			[r](Tfe &t) { return t.state_ok(VHOST_USER_SET_VRING_BASE, r, 0, false); });
		v.push_back([r](Tfe &t) {
			struct vhost_msg_vring_addr a = t.ring(r).addr();

			return t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), false);
		});
		v.push_back([r](Tfe &t) {
			return t.u64_ok(VHOST_USER_SET_VRING_KICK, r, false, { t.kick_fd(r) });
		});
		v.push_back([r](Tfe &t) {
			return t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, false);
		});
	}
	v.push_back([&log](Tfe &t) {
		struct vhost_msg_log l = { 4096, 0 }, echo;
		AssertionResult r = t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), false,
					   { log.fd() });

		return r ? t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo) : r;
	});
	v.push_back([](Tfe &t) {
		uint32_t b;
		return t.get_vring_base(0, &b);
	});
	return v;
}

} // namespace

TEST_F(Reconnect, RECONNECT_1_NewConnectionStartsClean)
{
	Tfe t;
	Opts s;
	int sv[2];

	s.protocol = P_ACK | P_BREQ | P_MTU | P_LOG;
	s.base = 9;
	t.ring(0).split_set_used_idx(9);
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, true, { sv[0] }));
	close(sv[0]);
	close(sv[1]);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_NET_SET_MTU, 1500, true));
	ASSERT_EQ(t.mem().backend_maps(), 1);
	t.close();
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	/* New connection: only GET_FEATURES + SET_PROTOCOL_FEATURES(0). */
	uint64_t f;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, 0, false));
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_EQ(base, 0u) << "not the old base";
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 1, 128, true));
	EXPECT_TRUE(t.expect_ack(0)) << "need_reply per the no-REPLY_ACK policy (ACK-7)";
	EXPECT_EQ(t.mem().backend_maps(), 0) << "old mappings gone";
	struct vhost_port_info i = info();

	EXPECT_EQ(i.protocol_features, 0u);
	EXPECT_FALSE(i.features_set);
	EXPECT_EQ(i.nregions, 0u);
	EXPECT_FALSE(i.has_backend_req);
	EXPECT_FALSE(i.has_log);
	EXPECT_EQ(i.mtu, 0);
	for (unsigned r = 0; r < i.nrings; r++) {
		EXPECT_FALSE(i.rings[r].started);
		EXPECT_FALSE(i.rings[r].published);
		EXPECT_FALSE(i.rings[r].has_kick || i.rings[r].has_call || i.rings[r].has_err);
	}
	EXPECT_EQ(link_up_.load(), 2);
	EXPECT_EQ(link_down_.load(), 1);
}

TEST_F(Reconnect, RECONNECT_2_DisconnectAtEveryMessage)
{
	GuestMem log(4096, 0, 0);
	auto steps = std_steps(log);
	Tfe t;

	t.mem();
	t.kick_fd(0), t.kick_fd(1), t.call_fd(0), t.call_fd(1);
	const int baseline = fds::count_open();

	for (size_t k = 0; k <= steps.size(); k++) {
		for (bool sync : { false, true }) {
			SCOPED_TRACE("after " + std::to_string(k) + " messages" +
				     (sync ? ", synced" : ""));
			ASSERT_TRUE(connect(t));
			for (size_t i = 0; i < k; i++) {
				ASSERT_TRUE(steps[i](t));
			}
			if (sync) {
				ASSERT_TRUE(t.barrier());
			}
			t.close();
			ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
			EXPECT_EQ(fds::count_open(), baseline);
			EXPECT_EQ(t.mem().backend_maps(), 0);
			struct vhost_port_info i = info();

			EXPECT_FALSE(i.rings[0].published || i.rings[1].published);
			EXPECT_FALSE(i.has_log);
			EXPECT_FALSE(conf(0).present);
		}
	}
}

TEST_F(Reconnect, RECONNECT_2_MSG_10_ThousandCyclesNoFdLeak)
{
	Tfe t;
	Opts s;

	s.need_reply_all = false;
	t.mem();
	t.kick_fd(0), t.call_fd(0);
	const int baseline = fds::count_open();
	const int maps = fds::count_maps("/memfd:");

	for (int i = 0; i < 1000; i++) {
		ASSERT_TRUE(connect(t)) << i;
		ASSERT_TRUE(t.negotiate(P_ACK));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, false));
		ASSERT_TRUE(t.set_mem_table(t.mem(), true));
		ASSERT_TRUE(t.setup_ring(0, s, true));
		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 1, true)) << i;
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING)) << i;
	}
	EXPECT_EQ(fds::count_open(), baseline);
	EXPECT_EQ(fds::count_maps("/memfd:"), maps);
	EXPECT_EQ(info().connections, 1000u);
}

TEST_F(Reconnect, RECONNECT_4_ChRestoreWithoutGetProtocolFeatures)
{
	for (bool packed : { false, true }) {
		Tfe t;
		uint64_t f;
		uint64_t feats = F_BASIC | (packed ? F_PACKED : 0);
		const uint32_t base = packed ? 0x00058005u : 0;

		SCOPED_TRACE(packed ? "packed" : "split");
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false));
		ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_MQ, false));
		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, true)) << "re-sent";
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, feats, true));
		ASSERT_TRUE(t.set_mem_table(t.mem(), true));
		for (unsigned r = 0; r < 2; r++) {
			Vring &ring = t.ring(r, STD_NUM, packed);
			struct vhost_msg_vring_addr a = ring.addr();

			ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, r, STD_NUM, true));
			ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
			ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_BASE, r, base, true));
			ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, r, true, { t.call_fd(r) }));
			ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, r, true, { t.kick_fd(r) }));
			ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, true));
		}
		EXPECT_TRUE(info().rings[0].published);
		EXPECT_TRUE(info().rings[1].published);
		uint32_t got;

		/* Packed rings resume from the given indices and wrap counters. */
		ASSERT_TRUE(t.get_vring_base(0, &got));
		EXPECT_EQ(got, packed ? base : 0u);
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
}

TEST_F(Reconnect, RECONNECT_5_QemuDeviceRestartOnSameSocket)
{
	Tfe t;
	Opts s;

	s.protocol = P_ACK | P_STATUS;
	ASSERT_TRUE(connect(t));
	for (uint64_t f : { F_BASIC, F_BASIC | F_MRG | F_EVENT_IDX, F_BASIC | F_PACKED }) {
		SCOPED_TRACE(f);
		s.features = f;
		ASSERT_TRUE(t.std_setup(s));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0xf, true));
		ASSERT_TRUE(info().rings[0].published);
		EXPECT_EQ(conf(0).c.features, f);
		EXPECT_EQ(conf(0).c.packed, (f & F_PACKED) != 0);
		/* QEMU stop: status 0, then GET_VRING_BASE for each ring. */
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0, true));
		for (unsigned r = 0; r < 2; r++) {
			uint32_t b;

			ASSERT_TRUE(t.get_vring_base(r, &b));
		}
		EXPECT_FALSE(info().rings[0].published);
	}
}

TEST_F(Reconnect, RECONNECT_5_COMPAT_3_ChCrosvmResetOnSameSocket)
{
	Tfe t;
	Opts s;

	ASSERT_TRUE(connect(t));
	for (uint64_t f : { F_BASIC | F_MRG, F_BASIC, F_BASIC | F_INDIRECT }) {
		SCOPED_TRACE(f);
		s.features = f;
		s.need_reply_all = true;
		ASSERT_TRUE(t.std_setup(s));
		EXPECT_TRUE(conf(1).c.enabled);
		EXPECT_EQ(conf(1).c.features, f);
		/* Reset: SET_VRING_ENABLE(0) then GET_VRING_BASE per ring. */
		for (unsigned r = 0; r < 2; r++) {
			uint32_t b;

			ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 0, true));
			ASSERT_TRUE(t.get_vring_base(r, &b));
		}
		struct vhost_port_info i = info();

		EXPECT_FALSE(i.rings[0].published || i.rings[1].published);
		EXPECT_FALSE(i.rings[0].enabled || i.rings[1].enabled);
	}
}

TEST_F(Reconnect, RECONNECT_6_ServerReacceptsHundredTimes)
{
	Tfe t;

	t.mem();
	const int baseline = fds::count_open();

	for (int i = 0; i < 100; i++) {
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.negotiate(P_ACK));
		ASSERT_TRUE(t.set_mem_table(t.mem(), true));
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
	EXPECT_EQ(info().connections, 100u);
	EXPECT_EQ(fds::count_open(), baseline);
}

TEST_F(Reconnect, RECONNECT_6_ImmediateReconnectServed)
{
	/* A front-end that reconnects at once (a restarted QEMU) must not be
	 * turned away because the old connection's EOF is still queued. */
	for (int i = 0; i < 200; i++) {
		Tfe t;

		ASSERT_TRUE(t.connect(sock_)) << i;
		ASSERT_TRUE(t.negotiate(P_ACK)) << "connection " << i;
	}
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
}

TEST_F(Reconnect, RECONNECT_6_StaleSocketFileReplaced)
{
	std::string p = path("stale.sock");
	struct sockaddr_un sa = {};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p.c_str());
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays: a killed back-end's leftover */
	int id = add_port(p, false, 1);
	Tfe t;

	ASSERT_GE(id, 0);
	ASSERT_TRUE(connect(t, id));
	EXPECT_TRUE(t.barrier());
	/* A path that is not a socket is never removed. */
	std::string q = path("regular-file");
	FILE *f = fopen(q.c_str(), "w");

	ASSERT_NE(f, nullptr);
	fclose(f);
	EXPECT_LT(add_port_raw(q, false, 1), 0);
	EXPECT_EQ(access(q.c_str(), F_OK), 0);
}

TEST_F(ReconnectClient, RECONNECT_6_ClientReconnectsAfterFrontEndCloses)
{
	Tfe t;

	ASSERT_TRUE(t.listen(sock_));
	ASSERT_TRUE(t.accept());
	ASSERT_TRUE(t.std_setup(Opts()));
	EXPECT_TRUE(info().rings[0].published);
	for (unsigned n = 2; n <= 6; n++) {
		t.close(); /* the listener stays */
		ASSERT_TRUE(t.accept(3000)) << "reconnect " << n;
		ASSERT_TRUE(wait_for([n](const vhost_port_info &i) {
			return i.conn == VHOST_PORT_CONNECTED && i.connections == n;
		}));
		struct vhost_port_info i = info();

		EXPECT_EQ(i.nregions, 0u) << "clean state";
		EXPECT_FALSE(i.rings[0].published);
		ASSERT_TRUE(t.std_setup(Opts()));
		EXPECT_TRUE(info().rings[0].published);
	}
}

TEST_F(ReconnectClient, RECONNECT_6_ClientListenerAppearsLate)
{
	Tfe t;

	sleep_ms(700);
	EXPECT_EQ(info().conn, VHOST_PORT_CONNECTING);
	EXPECT_EQ(info().connections, 0u);
	ASSERT_TRUE(t.listen(sock_));
	auto t0 = std::chrono::steady_clock::now();

	/* Backoff is bounded (2 s at most between attempts). */
	ASSERT_TRUE(t.accept(3000));
	EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
		  3.0);
	ASSERT_TRUE(wait_conn(VHOST_PORT_CONNECTED));
	EXPECT_TRUE(t.barrier());
	/* The listener goes away too: the port keeps retrying, then connects. */
	t.close();
	t.close_listener();
	ASSERT_TRUE(wait_conn(VHOST_PORT_CONNECTING));
	sleep_ms(300);
	ASSERT_TRUE(t.listen(sock_));
	ASSERT_TRUE(t.accept(3000));
	EXPECT_TRUE(t.barrier());
	EXPECT_EQ(info().connections, 2u);
}
