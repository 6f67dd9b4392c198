/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dirty logging (LOG_ALL): every page the datapath writes gets its bit,
 * nothing else does, and no guest address writes outside the log
 * (LOG-3, LOG-4, LOG-5, LOG-7).
 */
#include "dp_harness.h"

#include <sys/mman.h>

#include <set>

using namespace dp;

namespace {

class Log : public RingTest {};

constexpr uint64_t PAGE = 4096;

/* A log area whose last byte is followed by an inaccessible page. */
class GuardedLog {
public:
	explicit GuardedLog(size_t bytes)
	{
		map_len_ = ((bytes + PAGE - 1) / PAGE + 1) * PAGE;
		map_ = static_cast<uint8_t *>(mmap(nullptr, map_len_, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		EXPECT_NE(map_, MAP_FAILED);
		EXPECT_EQ(mprotect(map_ + map_len_ - PAGE, PAGE, PROT_NONE), 0);
		base_ = map_ + map_len_ - PAGE - bytes;
		size_ = bytes;
	}
	~GuardedLog() { munmap(map_, map_len_); }
	uint8_t *base() const { return base_; }
	size_t size() const { return size_; }
	std::set<uint64_t> pages() const
	{
		std::set<uint64_t> s;
		for (size_t i = 0; i < size_; i++)
			for (int b = 0; b < 8; b++)
				if (base_[i] & (1u << b))
					s.insert(i * 8 + b);
		return s;
	}
	void clear() { memset(base_, 0, size_); }

private:
	uint8_t *map_, *base_;
	size_t map_len_, size_;
};

std::set<uint64_t>
pages_of(uint64_t gpa, uint64_t len)
{
	std::set<uint64_t> s;

	for (uint64_t p = gpa / PAGE; p <= (gpa + len - 1) / PAGE; p++)
		s.insert(p);
	return s;
}

void
enable_log(Backend &be, Ring &r, const GuardedLog &log, bool log_used, uint64_t used_gpa = ~0ULL)
{
	be.conf.features |= bit(VIRTQ_F_LOG_ALL);
	be.conf.log_base = log.base();
	be.conf.log_size = log.size();
	be.conf.log_used = log_used;
	if (used_gpa != ~0ULL)
		be.conf.log_used_gpa = used_gpa;
	else if (r.packed())
		be.conf.log_used_gpa = static_cast<PackedRing &>(r).desc_gpa();
	else
		be.conf.log_used_gpa = static_cast<SplitRing &>(r).used_gpa();
	be.publish();
}

/* Pages the used-area writes of entries [first, first+n) touch. */
std::set<uint64_t>
used_pages(Ring &r, uint16_t first_slot, unsigned n, const std::vector<uint16_t> &slots = {})
{
	std::set<uint64_t> s;

	if (r.packed()) {
		uint64_t d = static_cast<PackedRing &>(r).desc_gpa();
		for (uint16_t slot : slots) {
			auto p = pages_of(d + 16ULL * slot, 16);
			s.insert(p.begin(), p.end());
		}
		return s;
	}
	uint64_t u = static_cast<SplitRing &>(r).used_gpa();
	auto idx = pages_of(u + 2, 2);
	s.insert(idx.begin(), idx.end());
	for (unsigned i = 0; i < n; i++) {
		auto p = pages_of(u + 4 + 8ULL * ((first_slot + i) % r.num()), 8);
		s.insert(p.begin(), p.end());
	}
	return s;
}

TEST_P(Log, LOG3_LOG7_RxOverThreePagesAndUsedRing)
{
	for (bool mrg : { false, true }) {
		for (bool log_used : { true, false }) {
			Guest g;
			auto r = make_ring(g, packed(), 64);
			Backend be(g, *r, false,
				   bit(VIRTQ_F_VERSION_1) | (mrg ? bit(VIRTQ_F_MRG_RXBUF) : 0));
			GuardedLog log(g.region_end(2) / PAGE / 8);
			const uint64_t P = 5 * MiB; /* page-aligned, in R1 */
			std::set<uint64_t> want;

			enable_log(be, *r, log, log_used);
			std::vector<uint16_t> slots;
			if (!mrg) {
				Desc d;
				d.addr = P;
				d.len = 3 * PAGE;
				d.flags = F_WRITE;
				r->post({ d });
				slots.push_back(0);
				want = pages_of(P, 3 * PAGE);
			} else {
				/* Three 4096-byte buffers on pages P, P+2, P+4. */
				for (int i = 0; i < 3; i++) {
					Desc d;
					d.addr = P + 2 * PAGE * i;
					d.len = PAGE;
					d.flags = F_WRITE;
					r->post({ d });
					slots.push_back((uint16_t)i);
					want.insert(d.addr / PAGE);
				}
			}
			std::vector<uint8_t> f = pattern(9000, 1);
			ASSERT_EQ(be.rx({ f }), 1u);
			if (log_used) {
				auto u = used_pages(*r, 0, mrg ? 3 : 1, slots);
				want.insert(u.begin(), u.end());
			}
			/* Every bit is there when the burst returns (LOG-7): no cache. */
			EXPECT_EQ(log.pages(), want) << "mrg " << mrg << " log_used " << log_used;
			auto u = r->drain_used();
			ASSERT_EQ(u.size(), mrg ? 3u : 1u);
		}
	}
}

TEST_P(Log, LOG3_TxLogsOnlyTheUsedRing)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	GuardedLog log(g.region_end(2) / PAGE / 8);

	enable_log(be, *r, log, true);
	std::vector<uint8_t> p = pattern(5000, 2), b = net_hdr(12);
	b.insert(b.end(), p.begin(), p.end());
	Desc d;
	d.addr = 5 * MiB;
	d.len = (uint32_t)b.size();
	g.write(d.addr, b);
	r->post({ d });
	ASSERT_EQ(be.tx().size(), 1u);
	EXPECT_EQ(log.pages(), used_pages(*r, 0, 1, { 0 })) << "a guest read is not a write";
}

TEST_P(Log, LOG3_EveryFrameOfABurstLogged)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1));
	GuardedLog log(g.region_end(2) / PAGE / 8);
	std::set<uint64_t> want;
	std::vector<std::vector<uint8_t>> frames;
	std::vector<uint16_t> slots;

	enable_log(be, *r, log, false);
	/* 16 buffers at scattered pages, some across a page boundary, some
	 * in R2; single and multi-descriptor chains (both datapath paths). */
	for (int i = 0; i < 16; i++) {
		uint64_t base = (i % 2 ? 5 * MiB : 16 * MiB + 64 * 1024) + 3 * PAGE * i;
		uint64_t a = base + (i % 3 == 0 ? PAGE - 100 : 0);
		std::vector<uint8_t> f = pattern(300 + 50 * i, 10 + i);
		std::vector<Desc> ch;
		if (i % 4 == 3) {
			Desc x, y;
			x.addr = a;
			x.len = 100;
			x.flags = F_WRITE;
			y.addr = a + 2 * PAGE;
			y.len = 2000;
			y.flags = F_WRITE;
			ch = { x, y };
			auto p1 = pages_of(x.addr, 100), p2 = pages_of(y.addr, 12 + f.size() - 100);
			want.insert(p1.begin(), p1.end());
			want.insert(p2.begin(), p2.end());
		} else {
			Desc x;
			x.addr = a;
			x.len = 2048;
			x.flags = F_WRITE;
			ch = { x };
			auto p1 = pages_of(a, 12 + f.size());
			want.insert(p1.begin(), p1.end());
		}
		r->post(ch);
		frames.push_back(f);
	}
	ASSERT_EQ(be.rx(frames), 16u);
	EXPECT_EQ(log.pages(), want);
}

TEST_P(Log, LOG4_UsedLogAddressOutsideMemoryTable)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, bit(VIRTQ_F_VERSION_1));
	GuardedLog log(g.region_end(2) / PAGE / 8);
	const uint64_t where = 12 * MiB; /* in the hole: not guest RAM */

	enable_log(be, *r, log, true, where);
	post_tx(*r, pattern(60, 3));
	ASSERT_EQ(be.tx().size(), 1u);
	std::set<uint64_t> want;
	if (packed()) {
		want = pages_of(where, 16);
	} else {
		auto a = pages_of(where + 2, 2), b = pages_of(where + 4, 8);
		want.insert(a.begin(), a.end());
		want.insert(b.begin(), b.end());
	}
	EXPECT_EQ(log.pages(), want);

	/* A log address whose bits are past the end of the log: skipped. */
	log.clear();
	enable_log(be, *r, log, true, 1ULL << 40);
	post_tx(*r, pattern(60, 4));
	ASSERT_EQ(be.tx().size(), 1u);
	EXPECT_TRUE(log.pages().empty());
	/* And one at the very top of the address space. */
	enable_log(be, *r, log, true, ~0ULL - 8);
	post_tx(*r, pattern(60, 5));
	ASSERT_EQ(be.tx().size(), 1u);
	EXPECT_TRUE(log.pages().empty());
}

TEST_P(Log, LOG5_LogSizedForHalfOfGuestRam)
{
	/* 8 MiB of guest RAM; a log for the lower 4 MiB only (128 bytes),
	 * followed by an inaccessible page. */
	Guest g({ { 0, 4 * MiB }, { 4 * MiB, 4 * MiB } });
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, false, bit(VIRTQ_F_VERSION_1) | bit(VIRTQ_F_MRG_RXBUF));
	GuardedLog log(4 * MiB / PAGE / 8);
	std::vector<std::vector<uint8_t>> frames;

	enable_log(be, *r, log, false);
	/* RX into the upper half, up to its last byte, and across the middle. */
	std::vector<uint64_t> at = { 6 * MiB, 8 * MiB - 4000, 4 * MiB - 1000 };
	for (uint64_t a : at) {
		Desc d;
		d.addr = a;
		d.len = 4000;
		d.flags = F_WRITE;
		r->post({ d });
		frames.push_back(pattern(3000, (uint32_t)a));
	}
	/* A merged frame over the upper half. */
	for (int i = 0; i < 4; i++) {
		Desc d;
		d.addr = 7 * MiB + 8192ULL * i;
		d.len = 1024;
		d.flags = F_WRITE;
		r->post({ d });
	}
	frames.push_back(pattern(4000, 9));
	ASSERT_EQ(be.rx(frames), 4u);
	/* Only the lower half of the straddling buffer has bits. */
	EXPECT_EQ(log.pages(), pages_of(4 * MiB - 1000, 1000));
	auto u = r->drain_used();
	ASSERT_EQ(u.size(), 7u);
	EXPECT_EQ(g.read(8 * MiB - 4000 + 12, 3000), frames[1]);
}

INSTANTIATE_TEST_SUITE_P(Rings, Log, ::testing::Bool(), ring_kind);

class LogSplit : public DpTest {};

/* The used entries of a burst are logged as one range, in two pieces when
 * the burst wraps around the end of the ring (LOG-3). The used ring is
 * logged at a GPA where used->idx ends a page, so slot 0 has a page of its
 * own. */
TEST_F(LogSplit, LOG3_UsedEntriesAcrossTheRingEnd)
{
	Guest g;
	SplitRing r(g, 1024);
	Backend be(g, r, false, bit(VIRTQ_F_VERSION_1));
	GuardedLog log(g.region_end(2) / PAGE / 8);
	const uint64_t V = 3 * MiB - 4; /* the used ring's GPA for the log */
	std::vector<std::vector<uint8_t>> frames;
	std::set<uint64_t> want = pages_of(V + 2, 2);

	r.set_indices(1020, 1020);
	be.vq.pos.last_avail_idx = be.vq.pos.last_used_idx = 1020;
	enable_log(be, r, log, true, V);
	for (int i = 0; i < 8; i++) {
		Desc d;
		d.addr = 5 * MiB + 2 * PAGE * i;
		d.len = 2048;
		d.flags = F_WRITE;
		r.post({ d });
		frames.push_back(pattern(100, i));
		auto p = pages_of(d.addr, 12 + 100);
		want.insert(p.begin(), p.end());
	}
	ASSERT_EQ(be.rx(frames), 8u);
	for (unsigned k = 0; k < 8; k++)
		want.insert((V + 4 + 8ULL * ((1020 + k) % 1024)) / PAGE);
	EXPECT_EQ(want.count(V / PAGE + 1), 1u) << "slot 0 is on a page of its own";
	EXPECT_EQ(log.pages(), want);
	EXPECT_EQ(r.drain_used().size(), 8u);
}

/* IN_ORDER TX: the one used entry of a burst is logged, and only it (the
 * slots behind it are not written); without IN_ORDER every entry is. */
TEST_F(LogSplit, LOG3_InOrderTxBurstLogsItsEntry)
{
	for (bool in_order : { false, true }) {
		Guest g;
		SplitRing r(g, 1024);
		Backend be(g, r, true,
			   bit(VIRTQ_F_VERSION_1) | (in_order ? bit(VIRTQ_F_IN_ORDER) : 0));
		GuardedLog log(g.region_end(2) / PAGE / 8);
		/* Start 8 entries before the second page boundary of the used
		 * ring: the burst's entries cover two pages, its first one not. */
		uint64_t u = r.used_gpa(), boundary = (u / PAGE + 2) * PAGE;
		uint16_t first = (uint16_t)((boundary - (u + 4)) / 8 - 8);

		r.set_indices(first, first);
		be.vq.pos.last_avail_idx = be.vq.pos.last_used_idx = first;
		enable_log(be, r, log, true);
		for (int i = 0; i < 40; i++)
			post_tx(r, pattern(60, i));
		ASSERT_EQ(be.tx(32).size(), 32u);
		ASSERT_NE(used_pages(r, first, 1), used_pages(r, first, 32));
		EXPECT_EQ(log.pages(), used_pages(r, first, in_order ? 1 : 32))
			<< "in_order " << in_order;
	}
}

/* The same on a packed ring: the burst's one used descriptor is logged,
 * the slots behind it, which the device does not write, are not. */
class LogPacked : public DpTest {};

TEST_F(LogPacked, LOG3_PackedInOrderTxBurstLogsItsEntry)
{
	for (bool in_order : { false, true }) {
		Guest g;
		PackedRing r(g, 1024);
		Backend be(g, r, true,
			   bit(VIRTQ_F_VERSION_1) | (in_order ? bit(VIRTQ_F_IN_ORDER) : 0));
		GuardedLog log(g.region_end(2) / PAGE / 8);
		/* 8 slots before a page boundary of the descriptor table. */
		uint64_t d = r.desc_gpa(), boundary = (d / PAGE + 2) * PAGE;
		uint16_t first = (uint16_t)((boundary - d) / 16 - 8);
		std::vector<uint16_t> slots;

		r.set_in_order(in_order);
		r.set_position(first, true, &be.vq.pos);
		enable_log(be, r, log, true);
		for (int i = 0; i < 40; i++)
			post_tx(r, pattern(60, i));
		ASSERT_EQ(be.tx(32).size(), 32u);
		for (uint16_t k = 0; k < (in_order ? 1 : 32); k++)
			slots.push_back((uint16_t)(first + k));
		ASSERT_NE(used_pages(r, 0, 0, { first }),
			  used_pages(r, 0, 0, { first, (uint16_t)(first + 31) }));
		EXPECT_EQ(log.pages(), used_pages(r, 0, 0, slots)) << "in_order " << in_order;
		EXPECT_EQ(r.drain_used().size(), 32u);
	}
}

} // namespace
