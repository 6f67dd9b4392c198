/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQ: multiqueue, control-plane parts (MQ-1..6). Steering over enabled
 * pairs (MQ-5 RX side) belongs to the datapath.
 */
#include <errno.h>

#include "fixture.h"

using namespace tfe;

namespace {

class Mq : public CtrlTest {
protected:
	Mq() { queue_pairs_ = 4; }
};

} // namespace

TEST_F(Mq, MQ_1_QueueNumRightAfterProtocolFeatures)
{
	Tfe t;
	uint64_t f, p, qn;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_FEATURES, &f));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &p));
	EXPECT_TRUE(p & P_MQ);
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &qn)); /* size 8 */
	EXPECT_EQ(qn, 4u);
}

TEST_F(Mq, MQ_2_QueueNumIsMaxPairs)
{
	for (unsigned qp : { 1u, 4u, 128u }) {
		std::string p = path("qp" + std::to_string(qp) + ".sock");
		int id = add_port(p, false, qp);
		Tfe t;
		uint64_t qn;

		ASSERT_GE(id, 0);
		ASSERT_TRUE(connect(t, id));
		ASSERT_TRUE(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &qn));
		EXPECT_EQ(qn, qp);
		EXPECT_EQ(info(id).nrings, 2 * qp);
	}
	int def = add_port(path("default.sock"), false, 0);

	EXPECT_EQ(info(def).queue_pairs, VHOST_CTRL_DEFAULT_QUEUE_PAIRS);
	/* 8-bit ring index: never more than 128 pairs. */
	EXPECT_EQ(add_port_raw(path("too-many.sock"), false, VHOST_CTRL_MAX_QUEUE_PAIRS + 1),
		  -EINVAL);
}

TEST_F(Mq, MQ_3_RING_18_QemuStyleFourPairs)
{
	Tfe t;
	Bringup b;

	b.features = F_BASIC | F_MQ;
	b.pairs = 4;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(qemu_bringup(t, b));
	struct vhost_port_info i = info();

	EXPECT_EQ(i.nregions, 1u) << "device-wide requests once";
	for (unsigned r = 0; r < 8; r++) {
		EXPECT_TRUE(i.rings[r].published) << r;
		EXPECT_TRUE(i.rings[r].enabled) << r;
		ConfSnap c = conf(r);

		ASSERT_TRUE(c.present);
		EXPECT_EQ(c.c.tx, (r & 1) == 1) << "rx_k = 2k, tx_k = 2k+1";
	}
}

TEST_F(Mq, MQ_4_PairZeroAloneIsOperational)
{
	Tfe t;
	Opts s;

	s.features = F_BASIC | F_MQ;
	s.protocol = P_ACK | P_MQ;
	s.nrings = 2;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.rings[0].published);
	EXPECT_TRUE(i.rings[1].published);
	for (unsigned r = 2; r < 8; r++) {
		EXPECT_FALSE(i.rings[r].published) << r;
	}
	EXPECT_TRUE(conf(0).c.enabled);
}

TEST_F(Mq, MQ_5_PairCountChangedByEnableOnly)
{
	Tfe t;
	Opts s;

	s.features = F_BASIC | F_MQ;
	s.protocol = P_ACK | P_MQ;
	s.nrings = 8;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	unsigned events = ring_events();

	for (unsigned r = 4; r < 8; r++) {
		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 0, true));
	}
	EXPECT_GT(ring_events(), events);
	struct vhost_port_info i = info();

	for (unsigned r = 0; r < 8; r++) {
		ConfSnap c = conf(r);

		EXPECT_TRUE(i.rings[r].started) << "no ring restart";
		ASSERT_TRUE(c.present) << r;
		EXPECT_EQ(c.c.enabled, r < 4) << r;
	}
	for (unsigned r = 4; r < 8; r++) {
		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, true));
	}
	for (unsigned r = 0; r < 8; r++) {
		EXPECT_TRUE(conf(r).c.enabled) << r;
	}
}

TEST_F(Mq, MQ_6_SinglePairWithoutMqFeature)
{
	Tfe t;
	Opts s;

	/* MQ offered (4 pairs) with its CTRL_VQ prerequisite. */
	uint64_t f = info().features_offered;

	EXPECT_TRUE(f & F_MQ);
	EXPECT_TRUE(f & bit(VIRTIO_NET_F_CTRL_VQ));
	/* F without MQ: ring 1 messages and the enable of pair 0 accepted. */
	s.features = F_BASIC;
	s.need_reply_all = true;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	EXPECT_TRUE(conf(0).present);
	EXPECT_TRUE(conf(1).present);
	EXPECT_TRUE(conf(1).c.enabled);
	/* One pair configured: no MQ offered at all. */
	int one = add_port(path("one.sock"), false, 1);

	EXPECT_FALSE(info(one).features_offered & F_MQ);
}
