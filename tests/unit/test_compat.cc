/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * COMPAT and RING-18: the bring-up orderings of QEMU, DPDK virtio-user,
 * cloud-hypervisor and crosvm (spec §4), each with its own need_reply
 * pattern and exact reply counts, and the other front-end differences
 * (COMPAT-1..6, 8, 9; COMPAT-7 is checked on every reply by the TFE).
 */
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"

using namespace tfe;

namespace {

class Compat : public CtrlTest {
protected:
	/* Every configured ring runs and is enabled (or only pair 0). */
	void expect_running(unsigned nrings, unsigned enabled_rings)
	{
		struct vhost_port_info i = info();

		for (unsigned r = 0; r < nrings; r++) {
			ConfSnap c = conf(r);

			EXPECT_TRUE(i.rings[r].published) << "ring " << r;
			ASSERT_TRUE(c.present) << "ring " << r;
			EXPECT_EQ(c.c.enabled, r < enabled_rings) << "ring " << r;
			EXPECT_EQ(c.c.num, STD_NUM);
		}
		EXPECT_EQ(i.last_error[0], '\0') << i.last_error;
	}
};

class Compat2 : public Compat {
protected:
	Compat2() { queue_pairs_ = 2; }
};

} // namespace

TEST_F(Compat2, RING_18_COMPAT_2_QemuOrdering)
{
	for (uint64_t mask : { ALL_BITS, ~(P_ACK | P_STATUS) }) {
		for (uint64_t f : { F_BASIC | F_MQ | F_EVENT_IDX, F_BASIC | F_MQ | F_PACKED }) {
			Tfe t;
			Bringup b;

			SCOPED_TRACE("mask " + std::to_string(mask) + " features " +
				     std::to_string(f));
			b.features = f;
			b.pairs = 2;
			b.protocol_mask = mask;
			ASSERT_TRUE(connect(t));
			ASSERT_TRUE(qemu_bringup(t, b));
			EXPECT_TRUE(t.expect_silence(50)) << "exact reply count";
			expect_running(4, 4);
			struct vhost_port_info i = info();

			EXPECT_TRUE(i.has_backend_req);
			EXPECT_EQ(i.features, f);
			EXPECT_EQ(i.status, (mask & P_STATUS) ? 0xf : 0);
			t.close();
			ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
		}
	}
}

TEST_F(Compat2, RING_18_COMPAT_2_VirtioUserOrdering)
{
	for (uint64_t f : { F_BASIC | F_MQ, F_BASIC | F_MQ | F_PACKED }) {
		Tfe t;
		Bringup b;

		b.features = f;
		b.pairs = 2;
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(virtio_user_bringup(t, b));
		EXPECT_TRUE(t.expect_silence(50));
		/* Only pair 0 is enabled at start. */
		expect_running(4, 2);
		EXPECT_EQ(info().protocol_features, VIRTIO_USER_PROTOCOL);
		/* Packed: base 0x8000 is the avail half only (RING-14). */
		uint32_t base;

		ASSERT_TRUE(t.get_vring_base(0, &base));
		EXPECT_EQ(base, (f & F_PACKED) ? 0x80008000u : 0u);
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
}

TEST_F(Compat2, RING_18_COMPAT_4_ChOrdering)
{
	for (uint64_t mask : { ALL_BITS, ~P_ACK }) {
		Tfe t;
		Bringup b;

		b.features = F_BASIC | F_MQ;
		b.pairs = 2;
		b.protocol_mask = mask;
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(ch_bringup(t, b));
		EXPECT_TRUE(t.expect_silence(50));
		expect_running(4, 4);
		EXPECT_TRUE(info().has_backend_req);
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
}

TEST_F(Compat2, RING_18_COMPAT_4_CrosvmOrdering)
{
	Tfe t;
	Bringup b;

	b.features = F_BASIC | F_MQ | F_EVENT_IDX;
	b.pairs = 2;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(crosvm_bringup(t, b));
	EXPECT_TRUE(t.expect_silence(50)) << "REPLY_ACK negotiated but never used: no reply";
	expect_running(4, 4);
	EXPECT_TRUE(info().has_backend_req);
	EXPECT_TRUE(info().protocol_features & P_ACK);
}

TEST_F(Compat, COMPAT_1_DEV_6_BackendReqFdAtEveryPoint)
{
	/* QEMU: before SET_OWNER and SET_FEATURES; crosvm: before
	 * SET_FEATURES and GET_QUEUE_NUM; CH: last, after the enables. Each
	 * with and without REPLY_ACK (need_reply set only with it). */
	for (uint64_t mask : { ALL_BITS, ~P_ACK }) {
		for (int fe = 0; fe < 3; fe++) {
			Tfe t;
			Bringup b;

			SCOPED_TRACE(std::to_string(fe) +
				     (mask == ALL_BITS ? " with REPLY_ACK" : " without"));
			b.protocol_mask = mask;
			ASSERT_TRUE(connect(t));
			AssertionResult r = fe == 0   ? qemu_bringup(t, b)
					    : fe == 1 ? crosvm_bringup(t, b)
						      : ch_bringup(t, b);

			ASSERT_TRUE(r);
			EXPECT_TRUE(info().has_backend_req);
			EXPECT_TRUE(t.expect_silence(20));
			t.close();
			ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
		}
	}
}

TEST_F(Compat, COMPAT_2_OwnerFirstLastTwiceOrNever)
{
	for (int variant = 0; variant < 3; variant++) {
		Tfe t;
		Opts s;

		SCOPED_TRACE(variant);
		ASSERT_TRUE(connect(t));
		if (variant == 1) { /* first, twice */
			ASSERT_TRUE(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false));
		}
		/* std-setup sends SET_OWNER after negotiation (QEMU). */
		if (variant == 2) {
			/* Never: the same set-up without SET_OWNER at all. */
			ASSERT_TRUE(t.negotiate(P_ACK));
			ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true));
			ASSERT_TRUE(t.set_mem_table(t.mem(), true));
			for (unsigned r = 0; r < 2; r++) {
				s.need_reply_all = true;
				ASSERT_TRUE(t.setup_ring(r, s, true));
				ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, true));
			}
		} else {
			ASSERT_TRUE(t.std_setup(s));
		}
		EXPECT_TRUE(info().rings[0].published);
		EXPECT_TRUE(info().rings[1].published);
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
}

TEST_F(Compat, COMPAT_3_StopAndPauseVariants)
{
	Tfe t;
	Opts s;
	uint32_t base;

	s.need_reply_all = true;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	/* QEMU: GET_VRING_BASE only, then a full ring set-up. */
	ASSERT_TRUE(t.get_vring_base(0, &base));
	EXPECT_FALSE(info().rings[0].published);
	ASSERT_TRUE(t.setup_ring(0, s));
	EXPECT_TRUE(conf(0).present);
	EXPECT_TRUE(conf(0).c.enabled) << "enable state survives a stop";
	/* CH/crosvm: SET_VRING_ENABLE(0), then GET_VRING_BASE. */
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 1, 0, true));
	ASSERT_TRUE(t.get_vring_base(1, &base));
	EXPECT_FALSE(info().rings[1].published);
	ASSERT_TRUE(t.setup_ring(1, s));
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 1, 1, true));
	EXPECT_TRUE(conf(1).c.enabled);
	/* CH pause/resume: enable alone; the ring stays started. */
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 0, true));
	EXPECT_TRUE(info().rings[0].started);
	EXPECT_FALSE(conf(0).c.enabled);
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 1, true));
	EXPECT_TRUE(conf(0).c.enabled);
	/* Older CH: a full set-up re-sent on a started ring, no stop:
	 * an implicit stop and reconfigure (new size here). */
	Opts s2 = s;

	s2.num = 128;
	ASSERT_TRUE(t.setup_ring(0, s2));
	ConfSnap c = conf(0);

	ASSERT_TRUE(c.present);
	EXPECT_EQ(c.c.num, 128);
	EXPECT_TRUE(c.c.enabled);
}

TEST_F(Compat, COMPAT_5_GetFeaturesBarrierWithoutReplyAck)
{
	Tfe t;
	Opts s;
	GuestMem log(4096, 0, 0);
	struct vhost_msg_log l = { 4096, 0 }, echo;

	s.protocol = P_LOG; /* no REPLY_ACK */
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_TRUE(t.send(VHOST_USER_SET_LOG_BASE, &l, sizeof(l), false, { log.fd() }));
	ASSERT_TRUE(t.read_reply(VHOST_USER_SET_LOG_BASE, sizeof(echo), &echo));
	/* SET_VRING_ENABLE, then the barrier. */
	ASSERT_TRUE(t.send_state(VHOST_USER_SET_VRING_ENABLE, 0, 0));
	ASSERT_TRUE(t.barrier());
	EXPECT_FALSE(conf(0).c.enabled);
	/* SET_FEATURES(+LOG_ALL), then the barrier. */
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_FEATURES, F_BASIC | F_LOG_ALL));
	ASSERT_TRUE(t.barrier());
	EXPECT_NE(conf(0).c.log_base, nullptr);
	/* SET_VRING_ADDR(+F_LOG), then the barrier. */
	struct vhost_msg_vring_addr a = t.ring(1).addr(VHOST_VRING_F_LOG, 0x2000);

	ASSERT_TRUE(t.send(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a)));
	ASSERT_TRUE(t.barrier());
	EXPECT_TRUE(conf(1).c.log_used);
	EXPECT_EQ(conf(1).c.log_used_gpa, 0x2000u);
}

TEST_F(Compat, COMPAT_6_MemoryTableShapes)
{
	/* QEMU: 3 regions of one memfd around the legacy VGA hole and the
	 * 4 GiB hole, non-zero mmap_offset. */
	{
		Tfe t;
		GuestMem m(48 << 20, 0, STD_UVA);

		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.negotiate(P_ACK));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true));
		ASSERT_TRUE(t.set_mem_table({ GuestMem::region_at(0, 0xa0000, STD_UVA, 0),
					      GuestMem::region_at(0xc0000, (32 << 20) - 0xc0000,
								  STD_UVA + 0xc0000, 0xc0000),
					      GuestMem::region_at(1ULL << 32, 16 << 20,
								  STD_UVA + (32 << 20), 32 << 20) },
					    { m.fd(), m.fd(), m.fd() }, true));
		for (unsigned r = 0; r < 2; r++) {
			Vring ring = m.ring(r, STD_NUM, false, r == 0 ? 0x100000 : (40 << 20));
			struct vhost_msg_vring_addr a = ring.addr();

			ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, r, STD_NUM, true));
			ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
			ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, r, true, { t.kick_fd(r) }));
		}
		EXPECT_EQ(info().nregions, 3u);
		EXPECT_TRUE(conf(0).present);
		EXPECT_TRUE(conf(1).present);
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
	/* virtio-user: IOVA as VA (gpa == user address), 8 regions. */
	{
		Tfe t;
		std::vector<std::unique_ptr<GuestMem>> m;
		std::vector<struct vhost_msg_region> regs;
		std::vector<int> fdv;

		for (unsigned i = 0; i < 8; i++) {
			uint64_t va = 0x7f1000000000ULL + ((uint64_t)i << 30);

			m.emplace_back(new GuestMem(2 << 20, va, va));
			regs.push_back(m.back()->region());
			fdv.push_back(m.back()->fd());
		}
		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.negotiate(VIRTIO_USER_PROTOCOL));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true));
		ASSERT_TRUE(t.set_mem_table(regs, fdv, true));
		Vring ring = m[7]->ring(0, STD_NUM, false, 0x1000);
		struct vhost_msg_vring_addr a = ring.addr();

		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, STD_NUM, true));
		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, 0, true, { t.kick_fd(0) }));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_STATUS, 0xf, true));
		EXPECT_TRUE(conf(0).present);
		EXPECT_EQ(info().nregions, 8u);
		t.close();
		ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	}
	/* CH: one region per RAM zone, more through ADD_MEM_REG. crosvm:
	 * a shared-memory offset as mmap_offset. */
	{
		Tfe t;
		GuestMem zone(4 << 20, 0, STD_UVA),
			shm(8 << 20, 1ULL << 32, STD_UVA + (1ULL << 32));

		ASSERT_TRUE(connect(t));
		ASSERT_TRUE(t.negotiate(P_ACK | P_SLOTS));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true));
		ASSERT_TRUE(t.set_mem_table(zone, true));
		struct vhost_msg_mem_reg reg = {};

		reg.region = GuestMem::region_at(1ULL << 32, 4 << 20, STD_UVA + (1ULL << 32),
						 4 << 20);
		ASSERT_TRUE(
			t.req_ok(VHOST_USER_ADD_MEM_REG, &reg, sizeof(reg), true, { shm.fd() }));
		/* The ring lives in the added region, 4 MiB into its file. */
		Vring ring = shm.ring(0, STD_NUM, false, 0x1000);
		struct vhost_msg_vring_addr a = ring.addr();

		ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, STD_NUM, true));
		ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
		ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_KICK, 0, true, { t.kick_fd(0) }));
		ConfSnap c = conf(0);

		ASSERT_TRUE(c.present);
		ASSERT_EQ(c.regions.size(), 2u);
		EXPECT_EQ((uint8_t *)c.c.ring.split.desc,
			  (uint8_t *)c.regions[1].map_addr + (4 << 20) + 0x1000);
	}
}

TEST_F(Compat, COMPAT_8_NoBit30ThenEnableStillAccepted)
{
	Tfe t;
	Opts s;

	s.features = F_V1; /* protocol features negotiated, bit 30 not acked */
	s.protocol = P_ACK;
	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	EXPECT_TRUE(conf(0).c.enabled) << "enabled at SET_FEATURES (NEG-8)";
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 0, true));
	EXPECT_FALSE(conf(0).c.enabled) << "RX stops";
	EXPECT_TRUE(conf(1).c.enabled);
}

TEST_F(Compat, COMPAT_9_FeatureMatrix)
{
	for (bool packed : { false, true }) {
		for (unsigned combo = 0; combo < 8; combo++) {
			uint64_t f = F_BASIC | (packed ? F_PACKED : 0) |
				     ((combo & 1) ? F_INDIRECT : 0) |
				     ((combo & 2) ? F_EVENT_IDX : 0) | ((combo & 4) ? F_MRG : 0);
			Tfe t;
			Opts s;

			SCOPED_TRACE(std::string(packed ? "packed " : "split ") +
				     std::to_string(combo));
			s.features = f;
			s.base = packed ? 0x80008000u : 0;
			ASSERT_TRUE(connect(t));
			ASSERT_TRUE(t.std_setup(s));
			for (unsigned r = 0; r < 2; r++) {
				ConfSnap c = conf(r);

				ASSERT_TRUE(c.present);
				EXPECT_EQ(c.c.features, f);
				EXPECT_EQ(c.c.packed, packed);
				EXPECT_EQ(c.c.hdr_len, 12);
				EXPECT_TRUE(c.c.enabled);
			}
			t.close();
			ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
		}
	}
}
