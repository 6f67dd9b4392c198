/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MEM: memory table and address translation through the control plane
 * (MEM-1..3, 5..9). MEM-4 (buffers straddling regions) is a datapath
 * matter; its translation primitive is tested in test_guest_mem.cc.
 * Mappings are counted in /proc/self/maps: the back-end runs in-process.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"

using namespace tfe;

namespace {

class Mem : public CtrlTest {
protected:
	AssertionResult prep(Tfe &t, uint64_t protocol = P_ACK)
	{
		AssertionResult r = connect(t);

		if (r)
			r = t.negotiate(protocol);
		if (r)
			r = t.u64_ok(VHOST_USER_SET_FEATURES, F_BASIC, true);
		return r;
	}
	/* Start ring @index laid out in @m at offset @off (uva of @m). */
	AssertionResult start_ring(Tfe &t, unsigned index, const GuestMem &m, uint64_t off)
	{
		Vring r = m.ring(index, STD_NUM, false, off);
		struct vhost_msg_vring_addr a = r.addr();
		AssertionResult res = t.state_ok(VHOST_USER_SET_VRING_NUM, index, STD_NUM, true);

		if (res)
			res = t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true);
		if (res)
			res = t.u64_ok(VHOST_USER_SET_VRING_KICK, index, true,
				       { t.kick_fd(index) });
		return res;
	}
	/* The ring's parts lie inside one of the conf's regions. */
	::testing::AssertionResult parts_mapped(unsigned ring)
	{
		ConfSnap c = conf(ring);

		if (!c.present)
			return AssertionFailure() << "ring " << ring << " not published";
		for (void *p : { c.c.ring.split.desc, c.c.ring.split.avail, c.c.ring.split.used }) {
			bool in = false;

			for (const auto &r : c.regions)
				in |= (uint8_t *)p >= r.host && (uint8_t *)p < r.host + r.size;
			if (!in)
				return AssertionFailure()
				       << "ring " << ring << " part outside the table";
		}
		return AssertionSuccess();
	}
};

struct vhost_msg_mem_reg
reg_of(const struct vhost_msg_region &r)
{
	struct vhost_msg_mem_reg m = {};

	m.region = r;
	return m;
}

} // namespace

TEST_F(Mem, MEM_1_TableShapeChecked)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	GuestMem a(1 << 20, 1ULL << 32, STD_UVA + (1ULL << 32)),
		b(1 << 20, 2ULL << 32, STD_UVA + (2ULL << 32));
	uint8_t buf[8 + 32 * 9] = {};
	struct vhost_msg_mem_table *mt = (struct vhost_msg_mem_table *)buf;

	/* nregions 0. */
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, buf, 8, true));
	EXPECT_TRUE(t.expect_nack());
	/* nregions 9 with a consistent size and 8 fds. */
	mt->nregions = 9;
	std::vector<int> eight(8, a.fd());

	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, buf, sizeof(buf), true, eight));
	EXPECT_TRUE(t.expect_nack());
	/* 3 regions, 2 fds. */
	mt->nregions = 3;
	mt->regions[0] = a.region();
	mt->regions[1] = b.region();
	mt->regions[2] = t.mem().region();
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, buf, 8 + 32 * 3, true, { a.fd(), b.fd() }));
	EXPECT_TRUE(t.expect_nack());
	/* 2 regions claimed, 1 described. */
	mt->nregions = 2;
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, buf, 8 + 32, true, { a.fd(), b.fd() }));
	EXPECT_TRUE(t.expect_nack());
	/* The table in place is untouched, nothing else mapped. */
	EXPECT_EQ(info().nregions, 1u);
	EXPECT_EQ(t.mem().backend_maps(), 1);
	EXPECT_EQ(a.backend_maps(), 0);
	EXPECT_EQ(b.backend_maps(), 0);
}

TEST_F(Mem, MEM_2_COMPAT_6_TwoRegionsFromOneMemfd)
{
	/* The QEMU/x86 pattern: GPA 0..2 GiB at offset 0, GPA 4..5 GiB at
	 * offset 2 GiB of the same file (sparse). */
	const uint64_t G = 1ULL << 30;
	GuestMem m(3 * G, 0, STD_UVA);
	Tfe t;

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(t.set_mem_table({ GuestMem::region_at(0, 2 * G, STD_UVA, 0),
				      GuestMem::region_at(4 * G, G, STD_UVA + 2 * G, 2 * G) },
				    { m.fd(), m.fd() }, true));
	EXPECT_EQ(info().nregions, 2u);
	EXPECT_EQ(m.backend_maps(), 2);
	EXPECT_EQ(m.backend_maps_dontdump_noexec(), 2) << "rw, never exec, excluded from dumps";
	ASSERT_TRUE(start_ring(t, 0, m, 1 << 20));
	ASSERT_TRUE(start_ring(t, 1, m, 2 * G + (1 << 20)));
	EXPECT_TRUE(parts_mapped(0));
	EXPECT_TRUE(parts_mapped(1));
	/* Host base of each region = its map + mmap_offset. */
	ConfSnap c = conf(1);

	ASSERT_EQ(c.regions.size(), 2u);
	EXPECT_EQ(c.regions[1].gpa, 4 * G);
	EXPECT_EQ(c.regions[1].host, (uint8_t *)c.regions[1].map_addr + 2 * G);
	EXPECT_EQ((uint8_t *)c.c.ring.split.desc, c.regions[1].host + (1 << 20));
	/* The ring memory is shared with the TFE's view of the file. */
	m.host()[2 * G + (1 << 20)] = 0x5a;
	EXPECT_EQ(*(volatile uint8_t *)c.c.ring.split.desc, 0x5a);
}

TEST_F(Mem, MEM_3_RingAddressesAreFrontEndVirtual)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	/* Given as guest-physical addresses: not found. */
	Vring r = t.mem().ring(0, STD_NUM, false);
	struct vhost_msg_vring_addr a = r.addr();

	a.desc_user_addr -= STD_UVA;
	a.avail_user_addr -= STD_UVA;
	a.used_user_addr -= STD_UVA;
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_NUM, 0, STD_NUM, true));
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	ASSERT_TRUE(t.send_u64(VHOST_USER_SET_VRING_KICK, 0, true, { t.kick_fd(0) }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_FALSE(info().rings[0].published);
	EXPECT_TRUE(fault_logged("not inside one mapped region"));
	/* As front-end virtual addresses: the ring runs. */
	a = r.addr();
	ASSERT_TRUE(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true));
	EXPECT_TRUE(parts_mapped(0));
}

TEST_F(Mem, MEM_5_ACK_6_TableReplacedWhileRingsRun)
{
	Tfe t;
	Opts s;

	ASSERT_TRUE(connect(t));
	ASSERT_TRUE(t.std_setup(s));
	ASSERT_EQ(t.mem().backend_maps(), 1);
	/* Hot-plug: the whole table again plus a new region. */
	GuestMem plug(1 << 20, 1ULL << 32, STD_UVA + (1ULL << 32));

	ASSERT_TRUE(t.set_mem_table({ t.mem().region(), plug.region() },
				    { t.mem().fd(), plug.fd() }, true));
	/* After the ack: the new table is live, the old mapping gone. */
	EXPECT_EQ(info().nregions, 2u);
	EXPECT_EQ(t.mem().backend_maps(), 1) << "old mapping of the same file unmapped";
	EXPECT_EQ(plug.backend_maps(), 1);
	EXPECT_TRUE(parts_mapped(0));
	EXPECT_TRUE(parts_mapped(1));
	EXPECT_EQ(conf(0).regions.size(), 2u);
	/* Unplug. */
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	EXPECT_EQ(plug.backend_maps(), 0);
	EXPECT_EQ(t.mem().backend_maps(), 1);
	EXPECT_TRUE(parts_mapped(0));
}

TEST_F(Mem, MEM_6_MemSlotsAddRemove)
{
	Tfe t;
	uint64_t slots;

	ASSERT_TRUE(prep(t, P_ACK | P_SLOTS));
	ASSERT_TRUE(t.get_u64(VHOST_USER_GET_MAX_MEM_SLOTS, &slots));
	EXPECT_EQ(slots, (uint64_t)VHOST_CTRL_MAX_MEM_SLOTS);
	EXPECT_LE(slots, 512u) << "QEMU caps at 512";
	std::vector<std::unique_ptr<GuestMem>> m;

	for (unsigned i = 0; i < 3; i++) {
		m.emplace_back(
			new GuestMem(1 << 20, (uint64_t)i << 32, STD_UVA + ((uint64_t)i << 32)));
		struct vhost_msg_mem_reg r = reg_of(m[i]->region());

		ASSERT_TRUE(t.req_ok(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), true, { m[i]->fd() }));
	}
	EXPECT_EQ(info().nregions, 3u);
	ASSERT_TRUE(start_ring(t, 0, *m[1], 0x1000));
	EXPECT_TRUE(info().rings[0].published);
	/* Remove the middle one, a stray fd attached, mmap_offset differing:
	 * matched by gpa + user address + size only. */
	int stray = fds::make_eventfd();
	std::string key = fds::key_of(stray);
	struct vhost_msg_mem_reg r = reg_of(m[1]->region());

	r.region.mmap_offset = 0x12345000;
	ASSERT_TRUE(t.req_ok(VHOST_USER_REM_MEM_REG, &r, sizeof(r), true, { stray }));
	close(stray);
	EXPECT_EQ(fds::count_key(key), 0) << "stray fd closed unused";
	EXPECT_EQ(info().nregions, 2u);
	EXPECT_EQ(m[1]->backend_maps(), 0);
	EXPECT_EQ(m[0]->backend_maps(), 1);
	EXPECT_EQ(m[2]->backend_maps(), 1);
	/* The ring that lived there was withdrawn safely. */
	EXPECT_FALSE(info().rings[0].published);
	EXPECT_TRUE(fault_logged("not inside one mapped region"));
	/* Unknown region: nack. */
	ASSERT_TRUE(t.send(VHOST_USER_REM_MEM_REG, &r, sizeof(r), true));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("REM_MEM_REG: no region"));
	/* ADD without its fd, or overlapping: nack, nothing mapped. */
	GuestMem o(1 << 20, 0, STD_UVA + (8ULL << 32));
	struct vhost_msg_mem_reg ro = reg_of(o.region());

	ASSERT_TRUE(t.send(VHOST_USER_ADD_MEM_REG, &ro, sizeof(ro), true));
	EXPECT_TRUE(t.expect_nack());
	ASSERT_TRUE(t.send(VHOST_USER_ADD_MEM_REG, &ro, sizeof(ro), true, { o.fd() }));
	EXPECT_TRUE(t.expect_nack()) << "gpa 0 overlaps region 0";
	EXPECT_EQ(o.backend_maps(), 0);
	EXPECT_EQ(info().nregions, 2u);
}

TEST_F(Mem, MEM_6_SEC_11_SlotLimitIsReal)
{
	Tfe t;

	ASSERT_TRUE(prep(t, P_ACK | P_SLOTS));
	GuestMem m(4096ULL * (VHOST_CTRL_MAX_MEM_SLOTS + 1), 0, STD_UVA, false);

	for (unsigned i = 0; i < VHOST_CTRL_MAX_MEM_SLOTS; i++) {
		struct vhost_msg_mem_reg r = reg_of(
			GuestMem::region_at(4096ULL * i, 4096, STD_UVA + 4096ULL * i, 4096ULL * i));

		ASSERT_TRUE(
			t.req_ok(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), i % 64 == 0, { m.fd() }))
			<< i;
	}
	ASSERT_TRUE(t.barrier());
	EXPECT_EQ(info().nregions, VHOST_CTRL_MAX_MEM_SLOTS);
	struct vhost_msg_mem_reg r = reg_of(GuestMem::region_at(
		4096ULL * VHOST_CTRL_MAX_MEM_SLOTS, 4096,
		STD_UVA + 4096ULL * VHOST_CTRL_MAX_MEM_SLOTS, 4096ULL * VHOST_CTRL_MAX_MEM_SLOTS));

	ASSERT_TRUE(t.send(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), true, { m.fd() }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("memory slots in use"));
	EXPECT_EQ(m.backend_maps(), (int)VHOST_CTRL_MAX_MEM_SLOTS);
	t.close();
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_EQ(m.backend_maps(), 0);
}

TEST_F(Mem, MEM_7_RingsWaitForTheTable)
{
	Tfe t;

	ASSERT_TRUE(prep(t));
	/* Everything that needs no memory is accepted before the table. */
	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_CALL, 0, true, { t.call_fd(0) }));
	int err = fds::make_eventfd();

	ASSERT_TRUE(t.u64_ok(VHOST_USER_SET_VRING_ERR, 0, true, { err }));
	close(err);
	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 1, true));
	ASSERT_TRUE(start_ring(t, 0, t.mem(), RING_AREA));
	struct vhost_port_info i = info();

	EXPECT_TRUE(i.rings[0].started);
	EXPECT_FALSE(i.rings[0].published) << "no translation without a table";
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	EXPECT_TRUE(parts_mapped(0)) << "runs once the table arrives";
}

TEST_F(Mem, MEM_8_SEC_9_RegionSanity)
{
	Tfe t;
	GuestMem small(4096);
	const uint64_t top = ~0ULL - 0xfff;

	ASSERT_TRUE(prep(t));
	struct {
		const char *what;
		struct vhost_msg_region r;
		const char *fault;
	} bad[] = {
		{ "larger than its memfd", small.region(0, 8192), "but its file has 4096" },
		{ "size 0", GuestMem::region_at(0, 0, STD_UVA, 0), "size is 0" },
		{ "gpa overflow", GuestMem::region_at(top, 4096 * 2, STD_UVA, 0), "overflows" },
		{ "uva overflow", GuestMem::region_at(0, 4096, top + 1, 0), "overflows" },
		{ "offset overflow", GuestMem::region_at(0, 4096, STD_UVA, top + 1), "overflows" },
	};

	for (const auto &b : bad) {
		SCOPED_TRACE(b.what);
		struct vhost_msg_mem_table mt = {};

		mt.nregions = 1;
		mt.regions[0] = b.r;
		ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 40, true, { small.fd() }));
		EXPECT_TRUE(t.expect_nack());
		EXPECT_TRUE(fault_logged(b.fault));
		EXPECT_EQ(info().nregions, 0u);
	}
	/* Overlapping guest-physical ranges. */
	GuestMem a(1 << 20, 0, STD_UVA), b(1 << 20, 0x80000, STD_UVA + (1ULL << 32));
	struct vhost_msg_mem_table mt = {};

	mt.nregions = 2;
	mt.regions[0] = a.region();
	mt.regions[1] = b.region();
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, true, { a.fd(), b.fd() }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("regions overlap in guest memory"));
	EXPECT_EQ(a.backend_maps() + b.backend_maps(), 0) << "a refused table is unmapped";
	/* Overlapping front-end ranges. */
	mt.regions[1].guest_phys_addr = 1ULL << 32;
	mt.regions[1].userspace_addr = STD_UVA + 4096;
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, true, { a.fd(), b.fd() }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("regions overlap in front-end memory"));
	/* Fds that are not memory files (SEC-9). */
	int efd = fds::make_eventfd(), p[2], sv[2];

	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int fd : { efd, p[0], sv[0] }) {
		mt.nregions = 1;
		mt.regions[0] = GuestMem::region_at(0, 4096, STD_UVA, 0);
		ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 40, true, { fd }));
		EXPECT_TRUE(t.expect_nack());
		EXPECT_TRUE(fault_logged("not a memory file"));
	}
	for (int fd : { efd, p[0], p[1], sv[0], sv[1] })
		close(fd);
	EXPECT_EQ(info().nregions, 0u);
	EXPECT_EQ(small.backend_maps(), 0);
}

TEST_F(Mem, MEM_9_NewTableRetranslatesOldUnmapped)
{
	Tfe t;
	Opts s;

	ASSERT_TRUE(connect(t));
	s.protocol = P_ACK | P_RESET;
	ASSERT_TRUE(t.std_setup(s));
	ConfSnap before = conf(0);

	ASSERT_TRUE(before.present);
	/* Same addresses, other file: the host pointers must change. */
	GuestMem other(STD_MEM_SIZE);

	ASSERT_TRUE(t.set_mem_table(other, true));
	ConfSnap after = conf(0);

	ASSERT_TRUE(after.present);
	ASSERT_EQ(after.regions.size(), 1u);
	EXPECT_NE(after.regions[0].host, before.regions[0].host);
	EXPECT_EQ((uint8_t *)after.c.ring.split.desc,
		  after.regions[0].host + (t.ring(0).desc - STD_UVA));
	EXPECT_EQ(t.mem().backend_maps(), 0) << "old table unmapped";
	EXPECT_EQ(other.backend_maps(), 1);
	/* RESET_DEVICE unmaps. */
	ASSERT_TRUE(t.req_ok(VHOST_USER_RESET_DEVICE, nullptr, 0, true));
	EXPECT_EQ(other.backend_maps(), 0);
	EXPECT_FALSE(conf(0).present);
	/* Disconnect unmaps. */
	ASSERT_TRUE(t.set_mem_table(t.mem(), true));
	EXPECT_EQ(t.mem().backend_maps(), 1);
	t.close();
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));
	EXPECT_EQ(t.mem().backend_maps(), 0);
}

TEST_F(Mem, SEC_11_TotalMappedBytesCapped)
{
	/* Two regions of one sparse file adding up to more than 1 TiB of
	 * mappings: refused, nothing left mapped. */
	const uint64_t G = 1ULL << 30;
	GuestMem huge(700 * G, 0, STD_UVA, false);
	Tfe t;

	ASSERT_TRUE(prep(t));
	struct vhost_msg_mem_table mt = {};

	mt.nregions = 2;
	mt.regions[0] = GuestMem::region_at(0, 350 * G, 0x100000000000ULL, 0);
	mt.regions[1] = GuestMem::region_at(400 * G, 300 * G, 0x200000000000ULL, 400 * G);
	ASSERT_TRUE(t.send(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, true, { huge.fd(), huge.fd() }));
	EXPECT_TRUE(t.expect_nack());
	EXPECT_TRUE(fault_logged("exceed the limit"));
	EXPECT_EQ(huge.backend_maps(), 0);
	EXPECT_EQ(info().nregions, 0u);
}
