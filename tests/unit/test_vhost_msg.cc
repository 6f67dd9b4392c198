/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/vhost_msg: the framing rule table against the spec's message table
 * (requirement spec §2), header checks and per-request body checks.
 */
#include <gtest/gtest.h>

#include <cstring>

#include "vhost_msg.h"

namespace {

struct Row {
	uint32_t code;
	const char *name;
	enum vhost_msg_size_rule size;
	enum vhost_msg_fd_rule fds;
	enum vhost_msg_reply_kind reply;
	int gate; /* -2: not checked (the spec leaves it open) */
};

/* Written from the spec's table, not from the library's X-macro. */
const Row rows[] = {
	{ 1, "GET_FEATURES", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, -1 },
	{ 2, "SET_FEATURES", VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 3, "SET_OWNER", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 4, "RESET_OWNER", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 5, "SET_MEM_TABLE", VHOST_SIZE_MEM_TABLE, VHOST_FDS_MEM_TABLE, VHOST_REPLY_ACK, -1 },
	{ 6, "SET_LOG_BASE", VHOST_SIZE_LOG, VHOST_FDS_ONE, VHOST_REPLY_LOG, VHOST_PF_LOG_SHMFD },
	{ 7, "SET_LOG_FD", VHOST_SIZE_NONE, VHOST_FDS_ONE, VHOST_REPLY_ACK, -2 },
	{ 8, "SET_VRING_NUM", VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 9, "SET_VRING_ADDR", VHOST_SIZE_ADDR, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 10, "SET_VRING_BASE", VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 11, "GET_VRING_BASE", VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_STATE, -1 },
	{ 12, "SET_VRING_KICK", VHOST_SIZE_U64, VHOST_FDS_VRING, VHOST_REPLY_ACK, -1 },
	{ 13, "SET_VRING_CALL", VHOST_SIZE_U64, VHOST_FDS_VRING, VHOST_REPLY_ACK, -1 },
	{ 14, "SET_VRING_ERR", VHOST_SIZE_U64, VHOST_FDS_VRING, VHOST_REPLY_ACK, -1 },
	{ 15, "GET_PROTOCOL_FEATURES", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, -1 },
	{ 16, "SET_PROTOCOL_FEATURES", VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 17, "GET_QUEUE_NUM", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, -2 },
	{ 18, "SET_VRING_ENABLE", VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1 },
	{ 19, "SEND_RARP", VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, VHOST_PF_RARP },
	{ 20, "NET_SET_MTU", VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, VHOST_PF_NET_MTU },
	{ 21, "SET_BACKEND_REQ_FD", VHOST_SIZE_NONE, VHOST_FDS_ONE, VHOST_REPLY_ACK,
	  VHOST_PF_BACKEND_REQ },
	{ 22, "IOTLB_MSG", VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_U64, -2 },
	{ 34, "RESET_DEVICE", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_ACK,
	  VHOST_PF_RESET_DEVICE },
	{ 36, "GET_MAX_MEM_SLOTS", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64,
	  VHOST_PF_CONFIGURE_MEM_SLOTS },
	{ 37, "ADD_MEM_REG", VHOST_SIZE_MEM_REG, VHOST_FDS_ONE, VHOST_REPLY_ACK,
	  VHOST_PF_CONFIGURE_MEM_SLOTS },
	{ 38, "REM_MEM_REG", VHOST_SIZE_MEM_REG, VHOST_FDS_MAX_ONE, VHOST_REPLY_ACK,
	  VHOST_PF_CONFIGURE_MEM_SLOTS },
	{ 39, "SET_STATUS", VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, VHOST_PF_STATUS },
	{ 40, "GET_STATUS", VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, VHOST_PF_STATUS },
};

uint32_t
size_of_rule(enum vhost_msg_size_rule r)
{
	switch (r) {
	case VHOST_SIZE_NONE:
		return 0;
	case VHOST_SIZE_U64:
		return 8;
	case VHOST_SIZE_STATE:
		return 8;
	case VHOST_SIZE_ADDR:
		return 40;
	case VHOST_SIZE_MEM_REG:
		return 40;
	case VHOST_SIZE_LOG:
		return 16;
	default:
		return 0;
	}
}

struct vhost_msg
make(uint32_t req, uint32_t size, unsigned nfds)
{
	struct vhost_msg m;

	memset(&m, 0, sizeof(m));
	m.hdr.request = req;
	m.hdr.flags = VHOST_MSG_VERSION;
	m.hdr.size = size;
	m.nfds = nfds;
	return m;
}

} // namespace

TEST(VhostMsg, MSG_7_MSG_9_RuleTableMatchesSpec)
{
	for (const Row &r : rows) {
		const struct vhost_msg_info *i = vhost_msg_info(r.code);

		SCOPED_TRACE(r.name);
		ASSERT_NE(i->name, nullptr);
		EXPECT_STREQ(i->name, r.name);
		EXPECT_STREQ(vhost_msg_name(r.code), r.name);
		EXPECT_EQ(i->size, r.size);
		EXPECT_EQ(i->fds, r.fds);
		EXPECT_EQ(i->reply, r.reply);
		if (r.gate != -2) {
			EXPECT_EQ(i->gate, r.gate);
		}
	}
}

TEST(VhostMsg, MSG_13_UnknownCodesHaveNoRules)
{
	for (uint32_t code : { 0u, 45u, 100u, 0x7f00u, 0xffffffffu }) {
		const struct vhost_msg_info *i = vhost_msg_info(code);

		EXPECT_EQ(i->name, nullptr) << code;
		EXPECT_STREQ(vhost_msg_name(code), "UNKNOWN");
		EXPECT_EQ(i->size, VHOST_SIZE_ANY);
		EXPECT_EQ(i->fds, VHOST_FDS_ANY);
		EXPECT_EQ(i->reply, VHOST_REPLY_ACK);
		struct vhost_msg m = make(code, 24, 3);

		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_OK);
	}
}

TEST(VhostMsg, MSG_2_MSG_4_MSG_6_HeaderChecks)
{
	struct {
		uint32_t flags, size;
		enum vhost_msg_fault want;
	} cases[] = {
		{ 0x1, 0, VHOST_MSG_OK },
		{ 0x9, 8, VHOST_MSG_OK }, /* need_reply */
		{ 0x0, 0, VHOST_MSG_BAD_VERSION },
		{ 0x2, 0, VHOST_MSG_BAD_VERSION },
		{ 0x3, 0, VHOST_MSG_BAD_VERSION },
		{ 0xa, 0, VHOST_MSG_BAD_VERSION },
		{ 0x5, 0, VHOST_MSG_BAD_FLAGS },  /* reply bit in a request */
		{ 0x11, 0, VHOST_MSG_BAD_FLAGS }, /* reserved bit 4 */
		{ 0x80000001, 0, VHOST_MSG_BAD_FLAGS },
		{ 0x1, VHOST_MSG_MAX_PAYLOAD, VHOST_MSG_OK },
		{ 0x1, VHOST_MSG_MAX_PAYLOAD + 1, VHOST_MSG_TOO_LARGE },
		{ 0x1, 0xffffffffu, VHOST_MSG_TOO_LARGE },
	};

	for (const auto &c : cases) {
		struct vhost_msg_hdr h = { VHOST_USER_GET_FEATURES, c.flags, c.size };

		EXPECT_EQ(vhost_msg_check_hdr(&h), c.want)
			<< "flags " << c.flags << " size " << c.size;
	}
	/* The bound admits every legitimate net payload (MSG-6). */
	EXPECT_GE(VHOST_MSG_MAX_PAYLOAD, 8u + 8u * 32u);
	EXPECT_GE(VHOST_MSG_MAX_PAYLOAD, 12u + 256u);
	EXPECT_LE(sizeof(((struct vhost_msg *)nullptr)->payload), (size_t)VHOST_MSG_MAX_PAYLOAD);
}

TEST(VhostMsg, MSG_7_FixedSizesExact)
{
	for (const Row &r : rows) {
		if (r.size == VHOST_SIZE_ANY || r.size == VHOST_SIZE_MEM_TABLE)
			continue;
		uint32_t want = size_of_rule(r.size);
		unsigned fds = r.fds == VHOST_FDS_ONE ? 1 : 0;
		struct vhost_msg m = make(r.code, want, fds);

		SCOPED_TRACE(r.name);
		if (r.fds == VHOST_FDS_VRING)
			m.payload.u64 = VHOST_MSG_VRING_NOFD;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_OK);
		for (uint32_t bad : { want + 1, want + 8, want ? want - 1 : 4u, 4096u }) {
			m.hdr.size = bad;
			EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_SIZE) << bad;
		}
	}
}

TEST(VhostMsg, MEM_1_MemTableSizeAndFds)
{
	for (uint32_t n = 0; n <= 9; n++) {
		struct vhost_msg m = make(VHOST_USER_SET_MEM_TABLE, 8 + 32 * n, n);
		bool ok = n >= 1 && n <= 8;

		m.payload.mem.nregions = n;
		EXPECT_EQ(vhost_msg_check_body(&m), ok ? VHOST_MSG_OK : VHOST_MSG_BAD_SIZE) << n;
		if (!ok)
			continue;
		m.hdr.size = 8 + 32 * n + 1;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_SIZE);
		m.hdr.size = 8 + 32 * (n - 1);
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_SIZE);
		m.hdr.size = 8 + 32 * n;
		m.nfds = n - 1;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
		m.nfds = n + 1;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
	}
	/* A size too small to hold nregions at all. */
	struct vhost_msg m = make(VHOST_USER_SET_MEM_TABLE, 4, 0);

	EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_SIZE);
	/* nregions lying about the size (9 regions claimed, 1 sent). */
	m = make(VHOST_USER_SET_MEM_TABLE, 40, 1);
	m.payload.mem.nregions = 9;
	EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_SIZE);
}

TEST(VhostMsg, MSG_9_FdCountRules)
{
	struct vhost_msg m = make(VHOST_USER_GET_FEATURES, 0, 1);

	EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
	for (uint32_t req :
	     { VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR }) {
		m = make(req, 8, 0);
		m.payload.u64 = 3;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT) << "no fd, bit 8 clear";
		m.nfds = 1;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_OK);
		m.nfds = 2;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
		m.payload.u64 = 3 | VHOST_MSG_VRING_NOFD;
		m.nfds = 0;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_OK);
		m.nfds = 1;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT) << "fd with bit 8";
	}
	for (uint32_t req : { VHOST_USER_SET_LOG_FD, VHOST_USER_SET_BACKEND_REQ_FD }) {
		m = make(req, 0, 0);
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
		m.nfds = 2;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
		m.nfds = 1;
		EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_OK);
	}
	m = make(VHOST_USER_ADD_MEM_REG, 40, 0);
	EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
	m = make(VHOST_USER_REM_MEM_REG, 40, 0);
	EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_OK);
	m.nfds = 1; /* MAY be accepted (then closed unused) */
	EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_OK);
	m.nfds = 2;
	EXPECT_EQ(vhost_msg_check_body(&m), VHOST_MSG_BAD_FD_COUNT);
}

TEST(VhostMsg, NEG_6_FaultAndFeatureNames)
{
	for (int f = VHOST_MSG_OK; f <= VHOST_MSG_BAD_FD_COUNT; f++) {
		EXPECT_STRNE(vhost_msg_fault_str((enum vhost_msg_fault)f), "?");
	}
	EXPECT_STREQ(virtio_feature_name(VHOST_USER_F_PROTOCOL_FEATURES), "PROTOCOL_FEATURES");
	EXPECT_STREQ(vhost_protocol_feature_name(VHOST_PF_REPLY_ACK), "REPLY_ACK");
	EXPECT_EQ(vhost_protocol_feature_name(VHOST_PF_MAX), nullptr);
	EXPECT_EQ(virtio_feature_name(64), nullptr);

	char buf[128];

	vhost_msg_feature_str((1ULL << 0) | (1ULL << 30) | (1ULL << 63), false, buf, sizeof(buf));
	EXPECT_STREQ(buf, "CSUM PROTOCOL_FEATURES bit63");
	vhost_msg_feature_str((1ULL << VHOST_PF_MQ) | (1ULL << 40), true, buf, sizeof(buf));
	EXPECT_STREQ(buf, "MQ bit40");
	vhost_msg_feature_str(0, true, buf, sizeof(buf));
	EXPECT_STREQ(buf, "");
	/* A short buffer is cut, never overrun, and always terminated. */
	memset(buf, 'x', sizeof(buf));
	vhost_msg_feature_str(~0ULL, false, buf, 6);
	EXPECT_LT(strlen(buf), 6u);
	EXPECT_EQ(buf[6], 'x');
}

TEST(VhostMsg, ACK_1_NeedReplyBit)
{
	struct vhost_msg m = make(VHOST_USER_SET_OWNER, 0, 0);

	EXPECT_FALSE(vhost_msg_need_reply(&m));
	m.hdr.flags |= VHOST_MSG_FLAG_NEED_REPLY;
	EXPECT_TRUE(vhost_msg_need_reply(&m));
	EXPECT_EQ(VHOST_MSG_REPLY_FLAGS, 0x5u);
	EXPECT_EQ(sizeof(struct vhost_msg_hdr), (size_t)VHOST_MSG_HDR_SIZE);
	EXPECT_EQ(sizeof(struct vhost_msg_vring_addr), 40u);
	EXPECT_EQ(sizeof(struct vhost_msg_region), 32u);
	EXPECT_EQ(sizeof(struct vhost_msg_mem_reg), 40u);
	EXPECT_EQ(sizeof(struct vhost_msg_log), 16u);
	/* used precedes avail in SET_VRING_ADDR (RING-12). */
	EXPECT_LT(offsetof(struct vhost_msg_vring_addr, used_user_addr),
		  offsetof(struct vhost_msg_vring_addr, avail_user_addr));
}
