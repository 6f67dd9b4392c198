/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NEG: feature and protocol-feature negotiation, and the bit-30 rules
 * (NEG-1..14). Datapath consequences (header size, ring type) are checked
 * in the conf published for the rings.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"

using namespace tfe;

namespace {

class Neg : public CtrlTest {};

class Neg4 : public CtrlTest {
protected:
	Neg4() { queue_pairs_ = 4; }
};

/* Protocol features this back-end has a handler for, and the request that
 * proves it (spec NEG-6: offered must match implemented). */
const struct {
	unsigned bit;
	uint32_t request;
} implemented[] = {
	{ VHOST_PF_MQ, VHOST_USER_GET_QUEUE_NUM },
	{ VHOST_PF_LOG_SHMFD, VHOST_USER_SET_LOG_BASE },
	{ VHOST_PF_RARP, VHOST_USER_SEND_RARP },
	{ VHOST_PF_REPLY_ACK, 0 },
	{ VHOST_PF_NET_MTU, VHOST_USER_NET_SET_MTU },
	{ VHOST_PF_BACKEND_REQ, VHOST_USER_SET_BACKEND_REQ_FD },
	{ VHOST_PF_RESET_DEVICE, VHOST_USER_RESET_DEVICE },
	{ VHOST_PF_CONFIGURE_MEM_SLOTS, VHOST_USER_GET_MAX_MEM_SLOTS },
	{ VHOST_PF_STATUS, VHOST_USER_SET_STATUS },
};

} // namespace

TEST_F(Neg, NEG_1_GetFeaturesOffersBit30AndLogAll)
{
	Tfe t;
	uint64_t f;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f)); /* size 8 checked */
	EXPECT_TRUE(f & F_PROTO);
	EXPECT_TRUE(f & F_LOG_ALL);
	EXPECT_TRUE(f & F_V1);
	EXPECT_EQ(f, info().features_offered);
}

TEST_F(Neg, NEG_2_GetFeaturesAnyTimeSameValue)
{
	Tfe t;
	uint64_t f0, f;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f0)); /* before SET_OWNER */
	Opts s;

	ASSERT_TRUE(t.std_setup(s));
	ASSERT_TRUE(info().rings[0].published);
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f)); /* rings running */
	EXPECT_EQ(f, f0);
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(0, &base));
	ASSERT_TRUE(t.get_vring_base(1, &base));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f)); /* all stopped */
	EXPECT_EQ(f, f0);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_V1, true)); /* bit 30 dropped */
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
	EXPECT_EQ(f, f0);
	/* Reconnected: still the same offer. */
	Tfe u;

	t.close();
	ASSERT_TRUE(connect(u));
	ASSERT_TRUE(u.get_u64(VHOST_USER_GET_FEATURES, &f));
	EXPECT_EQ(f, f0);
}

TEST_F(Neg, NEG_2_COMPAT_5_GetFeaturesIsABarrier)
{
	Tfe t;
	Opts s;

	s.protocol = 0; /* no REPLY_ACK: QEMU syncs with GET_FEATURES */
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	for (int i = 0; i < 20; i++) {
		uint32_t en = i & 1;

		ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_ENABLE, 0, en));
		ASSERT_TRUE(t.barrier());
		/* The reply arrived: the datapath sees the new state. */
		ConfSnap c = conf(0);

		ASSERT_TRUE(c.present);
		EXPECT_EQ(c.c.enabled, en == 1) << i;
	}
}

TEST_F(Neg, NEG_3_ProtocolFeaturesBeforeSetFeatures)
{
	Tfe t;
	uint64_t f, p;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
	ASSERT_TRUE(f & F_PROTO);
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &p));
	/* SET_PROTOCOL_FEATURES acking REPLY_ACK with need_reply (ACK-3). */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_MQ, true));
	struct vhost_port_info i = info();

	EXPECT_FALSE(i.features_set);
	EXPECT_EQ(i.protocol_features, P_ACK | P_MQ);
	EXPECT_EQ(i.conn, VHOST_PORT_CONNECTED);
	EXPECT_EQ(i.last_error[0], '\0') << i.last_error;
}

TEST_F(Neg, NEG_4_SetProtocolWithoutGet)
{
	Tfe t;
	uint64_t f;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_MQ, false));
	ASSERT_TRUE(t.set_mem_table(t.mem(), true)); /* expects ack(0) */
	EXPECT_EQ(info().nregions, 1u);
}

TEST_F(Neg, NEG_5_UnofferedProtocolBitsNeverEnabled)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_PROTOCOL_FEATURES, P_ACK | P_MQ | bit(40), true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(info().protocol_features, P_ACK);
	EXPECT_TRUE(fault_logged("has bits not offered"));
	/* Silently refused without need_reply: still not enabled. */
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_PROTOCOL_FEATURES, P_MQ | P_RARP | bit(40)));
	ASSERT_TRUE(t.barrier());
	EXPECT_EQ(info().protocol_features, P_ACK);
	/* Later requests follow the acked set: RARP is still gated. */
	uint64_t mac = 0x010000000002ULL;

	ASSERT_TRUE(t.send_u64(VHOST_USER_SEND_RARP, mac, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_FALSE(info().rarp_pending);
	uint64_t qn;

	EXPECT_TRUE(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &qn));
	EXPECT_EQ(qn, 2u);
}

TEST_F(Neg, NEG_6_OfferedProtocolMatchesImplemented)
{
	Tfe t;
	uint64_t p, known = 0;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(0));
	p = t.protocol_offered;
	EXPECT_EQ(p, info().protocol_offered);
	for (const auto &i : implemented)
		known |= bit(i.bit);
	EXPECT_EQ(p & ~known, 0u) << "offered protocol features without a handler";
	/* The recommended net set. */
	for (uint64_t b : { P_MQ, P_LOG, P_RARP, P_ACK, P_MTU }) {
		EXPECT_TRUE(p & b) << b;
	}
	/* Never offered unless implemented. */
	for (unsigned b : { VHOST_PF_PAGEFAULT, VHOST_PF_CROSS_ENDIAN, VHOST_PF_CRYPTO_SESSION,
			    VHOST_PF_XEN_MMAP, VHOST_PF_SHARED_OBJECT, VHOST_PF_HOST_NOTIFIER,
			    VHOST_PF_BACKEND_SEND_FD, VHOST_PF_INFLIGHT_SHMFD,
			    VHOST_PF_DEVICE_STATE, VHOST_PF_CONFIG })
		EXPECT_FALSE(p & bit(b)) << vhost_protocol_feature_name(b);
	if (p & bit(VHOST_PF_INBAND_NOTIFICATIONS)) {
		EXPECT_TRUE(p & P_BREQ);
		EXPECT_TRUE(p & P_ACK);
	}
	/* Each offered bit, once acked, has its request served. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, p, false));
	uint64_t v;

	EXPECT_TRUE(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &v));
	EXPECT_TRUE(t.get_u64(VHOST_USER_GET_MAX_MEM_SLOTS, &v));
	EXPECT_TRUE(t.u64_ok(VHOST_USER_SEND_RARP, 0x020000000001ULL, true));
	EXPECT_TRUE(t.u64_ok(VHOST_USER_NET_SET_MTU, 1500, true));
	EXPECT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0x1, true));
	int sv[2];

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	EXPECT_TRUE(t.req_ok(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, true, { sv[0] }));
	close(sv[0]);
	close(sv[1]);
	GuestMem log(4096, 0, 0);
	struct vhost_msg_log l = { 4096, 0 }, echo;

	ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), false, { log.fd() }));
	EXPECT_TRUE(t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo));
	EXPECT_TRUE(t.req_ok(VHOST_USER_RESET_DEVICE, nullptr, 0, true));
	/* In-band notifications are not offered: acking them is refused. */
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
			       p | bit(VHOST_PF_INBAND_NOTIFICATIONS), true));
	EXPECT_TRUE(t.expect_nack());
}

TEST_F(Neg, NEG_7_SetFeaturesRecordsOfferedSubsetOnly)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	uint64_t offered = t.features_offered;
	uint64_t bad = bit(VIRTIO_NET_F_HOST_UFO);

	ASSERT_FALSE(offered & bad);
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_FEATURES, F_BASIC | bad, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_FALSE(info().features_set);
	EXPECT_TRUE(fault_logged("has bits not offered"));
	/* An offered subset: recorded, and the rings derive from it alone. */
	Opts s;

	s.features = F_BASIC | F_PACKED | F_EVENT_IDX | F_MRG;
	s.need_reply_all = true;
	ASSERT_TRUE(t.std_setup(s));
	struct vhost_port_info i = info();

	EXPECT_EQ(i.features, s.features);
	EXPECT_TRUE(i.features_set);
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_EQ(c.c.features, s.features);
	EXPECT_TRUE(c.c.packed);
	EXPECT_EQ(c.c.hdr_len, 12);
}

TEST_F(Neg, NEG_8_WithoutBit30RingsEnabledAtOnce)
{
	Tfe t;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK));
	/* Rings started before SET_FEATURES, never enabled. */
	Opts s;

	s.features = F_V1;
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	ASSERT_TRUE(t.setup_ring(0, s, true));
	ASSERT_TRUE(t.setup_ring(1, s, true));
	ASSERT_TRUE(t.barrier());
	EXPECT_FALSE(info().rings[0].enabled);
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_V1, true));
	struct vhost_port_info i = info();

	for (unsigned r = 0; r < i.nrings; r++) {
		EXPECT_TRUE(i.rings[r].enabled) << r;
	}
	for (unsigned r = 0; r < 2; r++) {
		ConfSnap c = conf(r);

		ASSERT_TRUE(c.present) << r;
		EXPECT_TRUE(c.c.enabled) << r;
	}
}

TEST_F(Neg, NEG_8_WithBit30RingsWaitForEnable)
{
	Tfe t;
	Opts s;

	s.skip_enable = true;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	for (unsigned r = 0; r < 2; r++) {
		ConfSnap c = conf(r);

		ASSERT_TRUE(c.present) << "started rings are handed over (RING-10)";
		EXPECT_FALSE(c.c.enabled) << r;
		EXPECT_FALSE(info().rings[r].enabled);
	}
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 1, true));
	EXPECT_TRUE(conf(0).c.enabled);
	EXPECT_FALSE(conf(1).c.enabled);
}

TEST_F(Neg4, NEG_9_RepeatedSetFeaturesKeepsState)
{
	Tfe t;
	Opts s;

	s.features = F_BASIC | F_MQ;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.negotiate(P_ACK | P_MQ));
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	for (unsigned pair = 0; pair < 4; pair++) {
		/* Once per queue pair, as QEMU's per-pair vhost_dev does. */
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, s.features, true));
		for (unsigned r = 2 * pair; r < 2 * pair + 2; r++) {
			ASSERT_TRUE(t.setup_ring(r, s, true));
			ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, true));
		}
	}
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, s.features, true));
	struct vhost_port_info i = info();

	EXPECT_EQ(i.nregions, 1u);
	for (unsigned r = 0; r < 8; r++) {
		EXPECT_TRUE(i.rings[r].published) << r;
		EXPECT_TRUE(i.rings[r].enabled) << r;
		EXPECT_EQ(i.rings[r].num, STD_NUM) << r;
	}
}

TEST_F(Neg, NEG_10_FeatureChangesWhileRunning)
{
	Tfe t;
	Opts s;
	const uint64_t legacy = F_PROTO; /* no VERSION_1, no MRG_RXBUF */

	s.features = legacy;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_EQ(conf(0).c.hdr_len, 10);
	/* LOG_ALL may toggle under running rings (migration). */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, legacy | F_LOG_ALL, true));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, legacy, true));
	/* Anything else is refused while a ring runs. */
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_FEATURES, legacy | F_MRG, true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_EQ(info().features, legacy);
	EXPECT_EQ(conf(0).c.hdr_len, 10);
	EXPECT_TRUE(fault_logged("changes features while rings run"));
	/* All rings stopped (driver reload): a new set is accepted. */
	uint32_t base;

	ASSERT_TRUE(t.get_vring_base(0, &base));
	ASSERT_TRUE(t.get_vring_base(1, &base));
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, legacy | F_MRG, true));
	s.features = legacy | F_MRG;
	ASSERT_TRUE(t.setup_ring(0, s));
	ASSERT_TRUE(t.setup_ring(1, s));
	ASSERT_TRUE(t.barrier());
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_EQ(c.c.hdr_len, 12) << "the new header size is used";
	EXPECT_EQ(c.c.features, legacy | F_MRG);
}

TEST_F(Neg, NEG_11_OfferedFeatureDependencies)
{
	/* prerequisite lists: a feature needs at least one of them (§2.2.2, §5.1.3.1). */
	const struct {
		unsigned feature;
		std::vector<unsigned> needs_any;
	} deps[] = {
		{ VIRTIO_NET_F_GUEST_TSO4, { VIRTIO_NET_F_GUEST_CSUM } },
		{ VIRTIO_NET_F_GUEST_TSO6, { VIRTIO_NET_F_GUEST_CSUM } },
		{ VIRTIO_NET_F_GUEST_UFO, { VIRTIO_NET_F_GUEST_CSUM } },
		{ VIRTIO_NET_F_GUEST_ECN, { VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6 } },
		{ VIRTIO_NET_F_HOST_TSO4, { VIRTIO_NET_F_CSUM } },
		{ VIRTIO_NET_F_HOST_TSO6, { VIRTIO_NET_F_CSUM } },
		{ VIRTIO_NET_F_HOST_UFO, { VIRTIO_NET_F_CSUM } },
		{ VIRTIO_NET_F_HOST_USO, { VIRTIO_NET_F_CSUM } },
		{ VIRTIO_NET_F_HOST_ECN, { VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6 } },
		{ VIRTIO_NET_F_CTRL_RX, { VIRTIO_NET_F_CTRL_VQ } },
		{ VIRTIO_NET_F_CTRL_VLAN, { VIRTIO_NET_F_CTRL_VQ } },
		{ VIRTIO_NET_F_GUEST_ANNOUNCE, { VIRTIO_NET_F_CTRL_VQ } },
		{ VIRTIO_NET_F_MQ, { VIRTIO_NET_F_CTRL_VQ } },
		{ VIRTIO_NET_F_RSS, { VIRTIO_NET_F_CTRL_VQ } },
		{ VIRTIO_F_RING_RESET, { VIRTIO_F_VERSION_1 } },
		{ VIRTIO_F_RING_PACKED, { VIRTIO_F_VERSION_1 } },
	};
	int one = add_port(path("one.sock"), false, 1);

	for (int port : { port_, one }) {
		uint64_t f = info(port).features_offered;

		for (const auto &d : deps) {
			if (!(f & bit(d.feature)))
				continue;
			bool ok = false;

			for (unsigned n : d.needs_any)
				ok |= (f & bit(n)) != 0;
			EXPECT_TRUE(ok) << virtio_feature_name(d.feature)
					<< " offered without its prerequisite";
		}
	}
	/* MQ only when more than one pair is configured. */
	EXPECT_TRUE(info(port_).features_offered & F_MQ);
	EXPECT_FALSE(info(one).features_offered & F_MQ);
}

TEST_F(Neg, NEG_12_Version1OfferedLegacyWorks)
{
	Tfe t;
	Opts s;

	ASSERT_TRUE(connect(t));
	EXPECT_TRUE(info().features_offered & F_V1);
	EXPECT_FALSE(info().protocol_offered & bit(VHOST_PF_CROSS_ENDIAN));
	s.features = F_PROTO; /* legacy, no MRG_RXBUF */
	ASSERT_TRUE(t.std_setup(s));
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_EQ(c.c.hdr_len, 10);
	EXPECT_FALSE(c.c.packed);
}

TEST_F(Neg, NEG_13_NoFeaturesTheTransportCannotHonour)
{
	uint64_t f = info().features_offered;

	for (unsigned b : { (unsigned)VIRTIO_F_NOTIFICATION_DATA, 39u /* NOTIF_CONFIG_DATA */,
			    (unsigned)VIRTIO_F_SR_IOV, (unsigned)VIRTIO_F_ORDER_PLATFORM,
			    (unsigned)VIRTIO_F_ACCESS_PLATFORM })
		EXPECT_FALSE(f & bit(b)) << b;
	/* The offloads the switch honours (VNET-4, VNET-9: completed or
	 * segmented in software where a destination cannot) are offered... */
	for (unsigned b :
	     { VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
	       VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6 })
		EXPECT_TRUE(f & bit(b)) << virtio_feature_name(b);
	/* ...and those it does not handle are not. */
	for (unsigned b : { VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_ECN,
			    VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_HOST_USO })
		EXPECT_FALSE(f & bit(b)) << virtio_feature_name(b);
}

TEST_F(Neg, NEG_14_MinimalSubsetRuns)
{
	Tfe t;
	Opts s;

	s.features = F_V1 | F_PROTO;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	for (unsigned r = 0; r < 2; r++) {
		ConfSnap c = conf(r);

		ASSERT_TRUE(c.present) << r;
		EXPECT_TRUE(c.c.enabled);
		EXPECT_EQ(c.c.features, s.features);
		EXPECT_EQ(c.c.hdr_len, 12);
		EXPECT_EQ(c.c.tx, r == 1);
	}
}
