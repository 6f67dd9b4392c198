/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Self-tests of the test front-end: message encoding, ring layouts as the
 * virtio spec defines them (so later datapath tests can rely on them), and
 * the fd identification the leak tests use.
 */
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "tfe.h"

using namespace tfe;

TEST(Tfe, MSG_1_FrameIsHeaderThenPayload)
{
	uint64_t v = 0x0102030405060708ULL;
	std::vector<uint8_t> b = Tfe::frame(VHOST_USER_SET_FEATURES, 9, 8, &v, 8);
	uint32_t w[3];

	ASSERT_EQ(b.size(), 20u);
	memcpy(w, b.data(), 12);
	EXPECT_EQ(w[0], (uint32_t)VHOST_USER_SET_FEATURES);
	EXPECT_EQ(w[1], 9u);
	EXPECT_EQ(w[2], 8u);
	EXPECT_EQ(memcmp(b.data() + 12, &v, 8), 0) << "host byte order";
	/* The size field may lie about the payload. */
	b = Tfe::frame(1, 1, 0xffffffffu, nullptr, 0);
	EXPECT_EQ(b.size(), 12u);
}

TEST(Tfe, RING_12_SplitLayout)
{
	GuestMem m(4 << 20);
	Vring r = m.ring(2, 256, false);

	EXPECT_EQ(r.desc, STD_UVA + RING_AREA + 2 * RING_SLOT);
	EXPECT_EQ(r.avail, r.desc + 16 * 256);
	EXPECT_GE(r.used, r.avail + 6 + 2 * 256);
	EXPECT_EQ(r.used % 4, 0u);
	struct vhost_msg_vring_addr a = r.addr(VHOST_VRING_F_LOG, 0x1234);

	EXPECT_EQ(a.index, 2u);
	EXPECT_EQ(a.flags, VHOST_VRING_F_LOG);
	EXPECT_EQ(a.used_user_addr, r.used);
	EXPECT_EQ(a.avail_user_addr, r.avail);
	EXPECT_EQ(a.log_guest_addr, 0x1234u);
	/* Descriptors and the avail ring as a driver writes them. */
	r.split_set_desc(3, 0xabc000, 1500, DESC_F_WRITE | DESC_F_NEXT, 4);
	SplitDesc d;

	memcpy(&d, r.h_desc + 3 * 16, 16);
	EXPECT_EQ(d.addr, 0xabc000u);
	EXPECT_EQ(d.len, 1500u);
	EXPECT_EQ(d.flags, DESC_F_WRITE | DESC_F_NEXT);
	EXPECT_EQ(d.next, 4);
	r.split_set_avail_idx(255);
	r.split_avail_push(3);
	r.split_avail_push(7);
	uint16_t e;

	EXPECT_EQ(r.split_avail_idx(), 257);
	memcpy(&e, r.h_avail + 4 + 2 * 255, 2);
	EXPECT_EQ(e, 3);
	memcpy(&e, r.h_avail + 4, 2);
	EXPECT_EQ(e, 7) << "wraps at num";
	/* A used element as a device writes it. */
	uint32_t id = 9, len = 60, gid, glen;

	memcpy(r.h_used + 4 + 8 * 5, &id, 4);
	memcpy(r.h_used + 4 + 8 * 5 + 4, &len, 4);
	r.split_used_elem(256 + 5, &gid, &glen);
	EXPECT_EQ(gid, 9u);
	EXPECT_EQ(glen, 60u);
	r.split_set_used_idx(40000);
	EXPECT_EQ(r.split_used_idx(), 40000);
}

TEST(Tfe, RING_12_PackedLayoutAndWrap)
{
	GuestMem m(4 << 20);
	Vring r = m.ring(0, 300, true);

	EXPECT_EQ(r.avail, r.desc + 16 * 300) << "driver event area";
	EXPECT_EQ(r.used % 4, 0u);
	r.packed_set_desc(299, 0x1000, 64, 17, DESC_F_WRITE, true);
	PackedDesc d;

	memcpy(&d, r.h_desc + 299 * 16, 16);
	EXPECT_EQ(d.id, 17);
	EXPECT_EQ(d.len, 64u);
	EXPECT_EQ(d.flags, DESC_F_WRITE | PACKED_F_AVAIL) << "AVAIL = wrap, USED = !wrap";
	EXPECT_FALSE(r.packed_is_used(299, true));
	/* The device marks it used: AVAIL = USED = wrap. */
	d.flags |= PACKED_F_USED;
	memcpy(r.h_desc + 299 * 16, &d, 16);
	EXPECT_TRUE(r.packed_is_used(299, true));
	EXPECT_FALSE(r.packed_is_used(299, false));
	r.packed_set_desc(0, 0x2000, 64, 18, 0, false);
	memcpy(&d, r.h_desc, 16);
	EXPECT_EQ(d.flags, PACKED_F_USED) << "second lap: AVAIL = 0, USED = 1";
}

TEST(Tfe, MSG_10_FdKeysIdentifyOpenFiles)
{
	int a = fds::make_eventfd(), b = fds::make_eventfd(), c = dup(a), sv[2];
	GuestMem m(4096);

	EXPECT_NE(fds::key_of(a), fds::key_of(b));
	EXPECT_EQ(fds::key_of(a), fds::key_of(c));
	EXPECT_EQ(fds::count_key(fds::key_of(a)), 2);
	close(c);
	EXPECT_EQ(fds::count_key(fds::key_of(a)), 1);
	EXPECT_NE(fds::key_of(m.fd()).find(m.name()), std::string::npos);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	EXPECT_EQ(fds::key_of(sv[0]).rfind("socket:[", 0), 0u);
	EXPECT_NE(fds::key_of(sv[0]), fds::key_of(sv[1]));
	int n = fds::count_open();

	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(fds::count_open(), n - 2);
	EXPECT_EQ(m.backend_maps(), 0) << "the TFE's own mapping is not counted";
	close(a);
	close(b);
}
