/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LOG: dirty-log set-up and RARP, control-plane parts (LOG-1, 2, 5 mapping
 * bounds, 6, 8 request side). Logging writes themselves are datapath.
 */
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "fixture.h"

using namespace tfe;

namespace {

class Log : public CtrlTest {
protected:
	AssertionResult set_log(Tfe &t, const GuestMem &m, uint64_t size, uint64_t off, bool nr)
	{
		struct vhost_msg_log l = { size, off }, echo;
		AssertionResult r = t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), nr, { m.fd() });

		if (r)
			r = t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo);
		if (r && memcmp(&echo, &l, sizeof(l)) != 0)
			return AssertionFailure() << "SET_LOG_BASE reply does not echo the request";
		return r;
	}
};

/* Address range of the first mapping of memfd @name. */
bool
map_range(const std::string &name, uint64_t *start, uint64_t *end)
{
	std::ifstream in("/proc/self/maps");
	std::string line;

	while (std::getline(in, line))
		if (line.find("/memfd:" + name + " (deleted)") != std::string::npos)
			return sscanf(line.c_str(), "%lx-%lx", start, end) == 2;
	return false;
}

} // namespace

TEST_F(Log, LOG_1_MigrationFeaturesOffered)
{
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.features_offered & F_LOG_ALL);
	EXPECT_TRUE(i.protocol_offered & P_LOG);
}

TEST_F(Log, LOG_2_SetLogBaseAlwaysRepliesAndReplaces)
{
	Tfe t;
	GuestMem l1(3 * 4096, 0, 0), l2(4096, 0, 0);

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK | P_LOG));
	for (bool nr : { false, true }) {
		ASSERT_TRUE(set_log(t, l1, 8192, 4096, nr));
		EXPECT_TRUE(t.expect_silence(100)) << "exactly one reply";
		EXPECT_TRUE(info().has_log);
		EXPECT_EQ(info().log_size, 8192u);
		EXPECT_EQ(l1.backend_maps(), 1);
	}
	/* A new log replaces (unmaps) the old one. */
	ASSERT_TRUE(set_log(t, l2, 4096, 0, false));
	EXPECT_EQ(l1.backend_maps(), 0);
	EXPECT_EQ(l2.backend_maps(), 1);
	EXPECT_EQ(info().log_size, 4096u);
	t.close();
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_EQ(l2.backend_maps(), 0) << "disconnect unmaps the log";
}

TEST_F(Log, LOG_2_LOG_5_BadLogDescriptionsRefused)
{
	GuestMem l(4096, 0, 0);
	int efd = fds::make_eventfd();
	struct {
		const char *what;
		uint64_t size, off;
		int fd;
		const char *fault;
	} bad[] = {
		{ "size 0", 0, 0, l.fd(), "SET_LOG_BASE size 0x0 offset 0x0 invalid" },
		{ "offset+size wraps", 4096, ~0ULL - 100, l.fd(), "invalid" },
		{ "file too short", 8192, 0, l.fd(), "log fd is not a file of 8192 bytes" },
		{ "offset past the file", 4096, 4096, l.fd(),
		  "log fd is not a file of 8192 bytes" },
		{ "not a file", 8, 0, efd, "log fd is not a file" },
	};

	for (const auto &b : bad) {
		Tfe t;
		struct vhost_msg_log d = { b.size, b.off };

		SCOPED_TRACE(b.what);
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.negotiate(P_ACK | P_LOG));
		ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &d, sizeof(d), true, { b.fd }));
		/* Its reply is not an ack: refused by closing. */
		EXPECT_TRUE(t.expect_closed());
		EXPECT_TRUE(fault_logged(b.fault));
		EXPECT_EQ(l.backend_maps(), 0);
	}
	/* LOG_SHMFD not negotiated: gated, the fd not kept. */
	Tfe t;
	struct vhost_msg_log d = { 4096, 0 };
	std::string key = fds::key_of(efd);

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &d, sizeof(d), true, { efd }));
	close(efd);
	EXPECT_TRUE(t.expect_closed());
	EXPECT_TRUE(fault_logged("LOG_SHMFD not negotiated"));
	EXPECT_EQ(fds::count_key(key), 0);
}

TEST_F(Log, LOG_5_LogMappingBounds)
{
	Tfe t;
	Opts s;
	/* Not mapped by the TFE: the only mapping is the back-end's. */
	GuestMem l(16 * 4096, 0, 0, false);

	s.protocol = P_ACK | P_LOG;
	s.features = F_BASIC | F_LOG_ALL;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_TRUE(set_log(t, l, 3 * 4096, 5 * 4096, true));
	uint64_t start, end;

	ASSERT_TRUE(map_range(l.name(), &start, &end));
	EXPECT_EQ(end - start, 8u * 4096) << "offset + size mapped, no more";
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_EQ((uint64_t)(uintptr_t)c.c.log_base, start + 5 * 4096);
	EXPECT_EQ(c.c.log_size, 3u * 4096);
	EXPECT_LE((uint64_t)(uintptr_t)c.c.log_base + c.c.log_size, end);
}

TEST_F(Log, LOG_6_ACK_6_LoggingTogglesOnRunningRings)
{
	Tfe t;
	Opts s;
	GuestMem l(4096, 0, 0);

	s.protocol = P_ACK | P_LOG;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_TRUE(set_log(t, l, 4096, 0, true));
	EXPECT_EQ(conf(0).c.log_base, nullptr) << "no LOG_ALL yet";
	/* Migration starts: +LOG_ALL, active once acked. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC | F_LOG_ALL, true));
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_NE(c.c.log_base, nullptr);
	EXPECT_EQ(c.c.log_size, 4096u);
	EXPECT_FALSE(c.c.log_used);
	/* Used-ring logging re-sent for a started ring. */
	struct vhost_msg_vring_addr a = t.ring(0).addr(VHOST_VRING_F_LOG, t.ring(0).used - STD_UVA);

	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	c = conf(0);
	EXPECT_TRUE(c.c.log_used);
	EXPECT_EQ(c.c.log_used_gpa, t.ring(0).used - STD_UVA);
	EXPECT_EQ(info().rings[0].addr_flags, VHOST_VRING_F_LOG);
	EXPECT_TRUE(info().rings[0].started) << "not a restart";
	a = t.ring(0).addr();
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	EXPECT_FALSE(conf(0).c.log_used);
	/* Migration cancelled: -LOG_ALL. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true));
	EXPECT_EQ(conf(0).c.log_base, nullptr);
	EXPECT_TRUE(conf(0).present);
}

TEST_F(Log, LOG_8_DEV_8_SendRarpRecordsMac)
{
	Tfe t;
	const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint64_t v = 0;

	memcpy(&v, mac, 6);
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	ASSERT_TRUE(t.send_u64(VHOST_USER_SEND_RARP, v, true));
	EXPECT_TRUE(t.expect_nack()) << "RARP not negotiated";
	EXPECT_FALSE(info().rarp_pending);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_RARP, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SEND_RARP, v, true));
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.rarp_pending);
	EXPECT_EQ(memcmp(i.rarp_mac, mac, 6), 0);
}
