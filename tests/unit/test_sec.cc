/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SEC and MSG-10: hostile front-ends. fd accounting under load, a
 * deterministic message fuzzer, resource caps, and isolation between
 * ports (SEC-8, SEC-9, SEC-11, SEC-12). The fd counts are of this process,
 * which hosts the back-end.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>

#include "fixture.h"

using namespace tfe;

namespace {

class Sec : public CtrlTest {};

/* Read and drop whatever the back-end sent. @return false on EOF. */
bool
drain(Tfe &t)
{
	uint8_t buf[4096];

	for (;;) {
		ssize_t n = recv(t.fd(), buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n == 0)
			return false;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	}
}

double
elapsed_ms(std::chrono::steady_clock::time_point since)
{
	return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
		.count();
}

} // namespace

TEST_F(Sec, MSG_10_TenThousandCallFdsMixedWithMalformed)
{
	Tfe t;
	Opts s;

	/* The TFE's own long-lived fds exist before the baseline. */
	t.mem();
	for (unsigned r = 0; r < 4; r++) {
		t.kick_fd(r);
		t.call_fd(r);
	}
	const int baseline = fds::count_open();

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	const int connected = fds::count_open();

	for (int i = 0; i < 10000; i++) {
		int fd = fds::make_eventfd();

		ASSERT_TRUE(
			t.send_u64(VHOST_USER_SET_VRING_CALL, (uint64_t)(i % 4), false, { fd }));
		close(fd);
		if (i % 100 == 17) {
			int a = fds::make_eventfd(), b = fds::make_eventfd();

			ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 1, true, { a, b }));
			close(a);
			close(b);
			ASSERT_TRUE(t.expect_nack());
		} else if (i % 100 == 53) {
			struct vhost_msg_mem_table mt = {};
			int a = fds::make_eventfd(), b = fds::make_eventfd(),
			    c = fds::make_eventfd();

			mt.nregions = 1;
			mt.regions[0] = t.mem().region();
			ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 40, true, { a, b, c }));
			close(a);
			close(b);
			close(c);
			ASSERT_TRUE(t.expect_nack());
		} else if (i % 100 == 71) {
			int a = fds::make_eventfd();

			ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_ERR, 2 | (1ULL << 20), true,
					       { a }));
			close(a);
			ASSERT_TRUE(t.expect_nack());
		} else if (i % 2500 == 2499) {
			/* An fd on a reply-bearing request: the back-end closes. */
			int a = fds::make_eventfd();

			ASSERT_TRUE(t.send(VHOST_USER_GET_FEATURES, nullptr, 0, false, { a }));
			close(a);
			ASSERT_TRUE(t.expect_closed());
			ASSERT_TRUE(connect(t));
			ASSERT_TRUE(t.std_setup(s));
		}
		if (i % 500 == 499) {
			ASSERT_TRUE(t.barrier());
			/* One call fd per ring at most, plus the message in flight. */
			ASSERT_LE(fds::count_open(), connected + 4)
				<< "after " << i + 1 << " messages";
		}
	}
	ASSERT_TRUE(t.barrier());
	EXPECT_LE(fds::count_open(), connected + 2) << "call fds of rings 2 and 3 added";
	t.close();
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_EQ(fds::count_open(), baseline);
}

TEST_F(Sec, SEC_8_RandomMessagesNeverCrash)
{
	std::mt19937_64 rng(0x5eed);
	auto pick = [&rng](uint64_t n) { return n ? rng() % n : 0; };
	GuestMem fz(1 << 20, 0, STD_UVA);
	int p[2];

	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	const int baseline = fds::count_open();
	const uint64_t interesting[] = { 0,
					 1,
					 2,
					 7,
					 255,
					 256,
					 300,
					 4096,
					 32768,
					 65536,
					 1 << 20,
					 STD_UVA,
					 STD_UVA + 4096,
					 ~0ULL,
					 ~0ULL - 4095,
					 1ULL << 63 };
	auto value = [&]() -> uint64_t {
		return pick(3) ? interesting[pick(sizeof(interesting) / sizeof(interesting[0]))]
			       : rng();
	};
	unsigned sent = 0, drops = 0;
	const unsigned total = 20000;

	/* A new connection whenever the back-end drops one, until @total
	 * messages have been sent. */
	while (sent < total) {
		Tfe t("fuzz");

		ASSERT_TRUE(connect(t));
		if (pick(4) != 0) {
			/* Usually get through negotiation so gated handlers run. */
			uint64_t pf = pick(2) ? 0x1ffffULL & info().protocol_offered : value();

			ASSERT_TRUE(t.negotiate(pf & info().protocol_offered));
			if (pick(2)) {
				ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES,
						     value() & info().features_offered, false));
			}
			if (pick(2)) {
				ASSERT_TRUE(t.set_mem_table(t.mem(), false));
			}
		}
		while (t.connected() && sent < total) {
			uint32_t req;
			uint64_t r = pick(10);

			if (r < 7)
				req = 1 + (uint32_t)pick(44);
			else if (r < 9)
				req = (uint32_t)pick(60);
			else
				req = (uint32_t)rng();
			uint32_t flags = pick(60) ? VHOST_MSG_VERSION | (pick(2) ? 8 : 0)
						  : (uint32_t)rng();
			const struct vhost_msg_info *mi = vhost_msg_info(req);
			alignas(8) uint8_t payload[8 + 32 * 9];
			size_t len;

			for (auto &b : payload)
				b = (uint8_t)rng();
			/* Fill typed fields with values that reach the handlers. */
			uint64_t *q = (uint64_t *)payload;

			for (size_t i = 0; i < sizeof(payload) / 8; i++)
				if (pick(2))
					q[i] = value();
			if (pick(2)) {
				uint32_t *w = (uint32_t *)payload;

				w[0] = (uint32_t)pick(6); /* index or nregions */
				if (mi->fds == VHOST_FDS_VRING)
					q[0] = pick(6) | (pick(3) ? 0 : VHOST_MSG_VRING_NOFD);
			}
			switch (pick(4) ? mi->size : VHOST_SIZE_ANY) {
			case VHOST_SIZE_NONE:
				len = 0;
				break;
			case VHOST_SIZE_U64:
			case VHOST_SIZE_STATE:
				len = 8;
				break;
			case VHOST_SIZE_ADDR:
			case VHOST_SIZE_MEM_REG:
				len = 40;
				break;
			case VHOST_SIZE_LOG:
				len = 16;
				break;
			case VHOST_SIZE_MEM_TABLE:
				len = 8 + 32 * (payload[0] % 10);
				break;
			default:
				len = pick(sizeof(payload) + 1);
				break;
			}
			if (len > sizeof(payload))
				len = sizeof(payload);
			std::vector<int> fdv;
			unsigned nfds = pick(5) ? (mi->fds == VHOST_FDS_NONE
							   ? 0
							   : 1 + (unsigned)pick(2))
						: (unsigned)pick(10);

			for (unsigned i = 0; i < nfds; i++) {
				int choice = (int)pick(4);

				fdv.push_back(choice == 0   ? fds::make_eventfd()
					      : choice == 1 ? dup(fz.fd())
					      : choice == 2 ? dup(p[1])
							    : dup(t.mem().fd()));
			}
			AssertionResult ok = t.send_raw(req, flags, payload, len, fdv);

			for (int fd : fdv)
				close(fd);
			sent++;
			if (!ok || !drain(t)) {
				drops++;
				t.close();
			}
		}
	}
	/* The port survives and serves a well-behaved front-end. */
	{
		Tfe t;

		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.std_setup(Opts()));
		EXPECT_TRUE(info().rings[0].published);
	}
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_EQ(fz.backend_maps(), 0);
	EXPECT_EQ(fds::count_open(), baseline) << "fds leaked after " << sent << " random messages";
	close(p[0]);
	close(p[1]);
	RecordProperty("messages", (int)sent);
	RecordProperty("connections_dropped", (int)drops);
}

TEST_F(Sec, SEC_9_PipeAcceptedAsCallFd)
{
	Tfe t;
	Opts s;
	int p[2];

	ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	std::string key = fds::key_of(p[1]); /* both ends share it */

	ASSERT_EQ(fds::count_key(key), 2);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0, true, { p[1] }));
	EXPECT_EQ(fds::count_key(key), 3) << "the back-end keeps the write end";
	EXPECT_EQ(fds::key_of(conf(0).c.call_fd), key);
	close(p[0]);
	close(p[1]);
	t.close();
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_EQ(fds::count_key(key), 0);
}

TEST_F(Sec, SEC_9_CallAndErrFdsNeverBlockTheDatapath)
{
	Tfe t;
	int efd = eventfd(0, EFD_CLOEXEC), p[2]; /* both blocking */

	ASSERT_GE(efd, 0);
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(Opts()));
	for (uint32_t req : { VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR }) {
		for (int fd : { efd, p[1] }) {
			ASSERT_EQ(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), 0);
			ASSERT_TRUE(t.u64_ok(req, 1, true, { fd })) << vhost_msg_name(req);
			/* File status flags are shared with the back-end's copy. */
			EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK) << vhost_msg_name(req);
		}
	}
	/* A full pipe and an eventfd at its maximum: EAGAIN, not a stall. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0, true, { efd }));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 1, true, { p[1] }));
	int c0 = conf(0).c.call_fd, c1 = conf(1).c.call_fd;
	uint64_t one = 1, max = 0xfffffffffffffffeULL;
	char junk[4096] = {};

	ASSERT_TRUE(fcntl(c0, F_GETFL) & O_NONBLOCK);
	ASSERT_TRUE(fcntl(c1, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(write(efd, &max, sizeof(max)), (ssize_t)sizeof(max));
	EXPECT_EQ(write(c0, &one, sizeof(one)), -1);
	EXPECT_EQ(errno, EAGAIN);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	EXPECT_EQ(write(c1, &one, sizeof(one)), -1);
	EXPECT_EQ(errno, EAGAIN);
	close(efd);
	close(p[0]);
	close(p[1]);
}

TEST_F(Sec, SEC_9_CallAndErrFdsMustBeEventfdOrPipe)
{
	Tfe t;
	GuestMem m(4096);
	int sv[2];

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(Opts()));
	std::string km = fds::key_of(m.fd()), ks = fds::key_of(sv[0]);

	for (uint32_t req : { VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR }) {
		for (int fd : { m.fd(), sv[0] }) {
			ASSERT_TRUE(t.send_u64(req, 1, true, { fd }));
			EXPECT_TRUE(t.expect_nack()) << vhost_msg_name(req);
			EXPECT_TRUE(fault_logged("neither an eventfd nor a pipe"));
		}
	}
	EXPECT_EQ(fds::count_key(km), 1) << "not kept";
	EXPECT_EQ(fds::count_key(ks), 1);
	EXPECT_FALSE(info().rings[1].has_err);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(Sec, SEC_11_RingCountAndSizeCapped)
{
	int big = add_port(path("big.sock"), false, VHOST_CTRL_MAX_QUEUE_PAIRS);
	Tfe t;

	ASSERT_EQ(info(big).nrings, 256u);
	ASSERT_TRUE(connect(t, big));
	ASSERT_TRUE(t.negotiate(P_ACK));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 255, 32768, true));
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 255, 32768 * 2, true));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_NUM, 256, 256, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(add_port_raw(path("bigger.sock"), false, VHOST_CTRL_MAX_QUEUE_PAIRS + 1),
		  -EINVAL);
}

TEST_F(Sec, SEC_12_HalfHeaderOnOnePortOthersServed)
{
	int b_port = add_port(path("b.sock"), false, 2);
	Tfe a("hostile"), b("healthy");

	ASSERT_TRUE(connect(a));
	struct vhost_msg_hdr h = { VHOST_USER_GET_FEATURES, VHOST_MSG_VERSION, 0 };

	ASSERT_TRUE(a.send_bytes(&h, 6)); /* half a header, then silence */
	ASSERT_TRUE(connect(b, b_port));
	auto t0 = std::chrono::steady_clock::now();

	ASSERT_TRUE(b.std_setup(Opts()));
	EXPECT_LT(elapsed_ms(t0), 1000.0);
	EXPECT_TRUE(info(b_port).rings[0].published);
	EXPECT_TRUE(a.expect_silence(50));
	EXPECT_EQ(info().conn, VHOST_PORT_CONNECTED) << "the hostile port just waits";
	/* The rest of the header: port A resumes. */
	ASSERT_TRUE(a.send_bytes((uint8_t *)&h + 6, 6));
	uint64_t f;

	EXPECT_TRUE(a.read_reply(VHOST_USER_GET_FEATURES, 8, &f));
}

TEST_F(Sec, SEC_12_FrontEndNotReadingRepliesStallsOnlyItself)
{
	int b_port = add_port(path("b.sock"), false, 2);
	Tfe a("not-reading"), b("healthy");

	ASSERT_TRUE(connect(a));
	ASSERT_EQ(fcntl(a.fd(), F_SETFL, fcntl(a.fd(), F_GETFL) | O_NONBLOCK), 0);
	struct vhost_msg_hdr h = { VHOST_USER_GET_FEATURES, VHOST_MSG_VERSION, 0 };
	unsigned sent = 0;

	/* Until both directions are full and A's sends would block. */
	for (; sent < 1000000; sent++) {
		ssize_t n = send(a.fd(), &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		ASSERT_EQ(n, (ssize_t)sizeof(h)) << strerror(errno);
	}
	ASSERT_LT(sent, 1000000u) << "the back-end never stopped reading";
	ASSERT_TRUE(connect(b, b_port));
	auto t0 = std::chrono::steady_clock::now();

	ASSERT_TRUE(b.std_setup(Opts()));
	uint64_t f;

	for (int i = 0; i < 100; i++) {
		ASSERT_TRUE(b.get_u64(VHOST_USER_GET_FEATURES, &f));
	}
	EXPECT_LT(elapsed_ms(t0), 1000.0);
	EXPECT_EQ(info().conn, VHOST_PORT_CONNECTED);
	/* A reads everything: every request answered, in order, intact. */
	ASSERT_EQ(fcntl(a.fd(), F_SETFL, fcntl(a.fd(), F_GETFL) & ~O_NONBLOCK), 0);
	for (unsigned i = 0; i < sent; i++) {
		ASSERT_TRUE(a.read_reply(VHOST_USER_GET_FEATURES, 8, &f)) << i << "/" << sent;
	}
	EXPECT_TRUE(a.expect_silence(50));
	EXPECT_TRUE(a.barrier());
}
