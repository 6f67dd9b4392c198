/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SEC-1: bad input only affects the ring it arrives on. One virtq after
 * another gets a hostile ring (a descriptor loop, an index or head past
 * the ring, addresses outside guest memory, runt chains, a packed chain
 * that never ends, ...) while a healthy TX/RX pair in the same guest
 * memory is polled in the same rounds, the way one lcore serves several
 * rings: guest TX dequeued, the hostile ring polled, the frames enqueued
 * into the healthy RX ring (and offered to the hostile RX ring too, as a
 * switch floods). Every healthy frame must arrive byte for byte in both
 * directions, the healthy rings never see a drop, a break or an error
 * signal, and no hostile poll stalls the round.
 */
#include "dp_harness.h"

#include <chrono>
#include <functional>

using namespace dp;

namespace {

class Isolation : public RingTest {};

Desc
desc_of(uint64_t addr, uint32_t len, uint16_t flags = 0)
{
	Desc d;

	d.addr = addr;
	d.len = len;
	d.flags = flags;
	return d;
}

std::vector<uint8_t>
hdr_plus(const std::vector<uint8_t> &p)
{
	std::vector<uint8_t> b = net_hdr(12);

	b.insert(b.end(), p.begin(), p.end());
	return b;
}

/* One bug class: what it posts on a fresh ring and what it must cause. */
struct Attack {
	const char *what;
	bool tx;     /* on a guest TX ring, else RX */
	bool breaks; /* ring-level corruption: the ring is stopped, the error fd signalled */
	std::function<void(Guest &, Ring &)> post;
};

/* Chains that are bad whatever the ring layout, posted the regular way. */
void
bad_addresses(Guest &g, Ring &r, bool tx)
{
	uint16_t f = tx ? 0 : F_WRITE;
	std::vector<Desc> h = g.tx_layout(net_hdr(12), {});
	uint64_t data = g.alloc(4096);

	r.post({ desc_of(9 * MiB, 100, f) });                 /* in the hole */
	r.post({ desc_of(0xFFFFFFFFFFFFFF00ULL, 0x200, f) }); /* addr + len wraps */
	r.post({ desc_of(data, 0xFFFFFFFFu, f) });            /* runs off the end */
	r.post({ desc_of(1ULL << 60, 4096, f) });             /* above every region */
	if (tx)
		r.post({ h[0], desc_of(12 * MiB, 100) }); /* data in the hole */
}

std::vector<Attack>
attacks(bool packed)
{
	std::vector<Attack> a;

	a.push_back({ "TX addresses outside guest memory", true, false,
		      [](Guest &g, Ring &r) { bad_addresses(g, r, true); } });
	a.push_back({ "RX addresses outside guest memory", false, false,
		      [](Guest &g, Ring &r) { bad_addresses(g, r, false); } });
	a.push_back({ "TX runt chains (header cut short, frame under 14 bytes)", true, false,
		      [](Guest &g, Ring &r) {
			      r.post(g.tx_layout(std::vector<uint8_t>(5, 0), {}));
			      r.post(g.tx_layout(hdr_plus(pattern(6, 1)), {}));
		      } });
	a.push_back({ "RX readable descriptor", false, false,
		      [](Guest &g, Ring &r) { r.post({ desc_of(g.alloc(2048), 2048) }); } });
	if (packed) {
		a.push_back({ "TX chain longer than the ring", true, true, [](Guest &g, Ring &r) {
				     std::vector<Desc> d(
					     r.num(), g.tx_layout(hdr_plus(pattern(60, 2)), {})[0]);

				     for (auto &x : d)
					     x.flags = F_NEXT;
				     static_cast<PackedRing &>(r).post_raw(d);
			     } });
		for (bool tx : { true, false })
			a.push_back(
				{ tx ? "TX buffer id past the ring" : "RX buffer id past the ring",
				  tx, true, [tx](Guest &g, Ring &r) {
					  Desc d = tx ? g.tx_layout(hdr_plus(pattern(60, 3)), {})[0]
						      : g.rx_buffers({ 2048 })[0];

					  d.id = 0xFFFF;
					  static_cast<PackedRing &>(r).post_raw({ d });
				  } });
		return a;
	}
	for (bool tx : { true, false })
		a.push_back({ tx ? "TX descriptor loops" : "RX descriptor loop", tx, false,
			      [tx](Guest &g, Ring &r) {
				      SplitRing &s = static_cast<SplitRing &>(r);
				      uint64_t buf = g.alloc(2048);
				      uint16_t f = (uint16_t)(F_NEXT | (tx ? 0 : F_WRITE));

				      g.write(buf, hdr_plus(pattern(60, 4)));
				      *s.desc(60) = { buf, 72, f, 60 };
				      *s.desc(61) = { buf, 0, f, 62 };
				      *s.desc(62) = { buf, 0, f, 61 };
				      s.push_avail(60);
				      s.push_avail(61);
			      } });
	a.push_back({ "TX next past the ring", true, false, [](Guest &g, Ring &r) {
			     SplitRing &s = static_cast<SplitRing &>(r);
			     std::vector<Desc> d = g.tx_layout(hdr_plus(pattern(60, 5)), {});

			     *s.desc(60) = { d[0].addr, d[0].len, F_NEXT, r.num() };
			     *s.desc(61) = { d[0].addr, d[0].len, F_NEXT, 0xFFFF };
			     s.push_avail(60);
			     s.push_avail(61);
		     } });
	for (bool tx : { true, false })
		a.push_back({ tx ? "TX head past the ring" : "RX head past the ring", tx, true,
			      [](Guest &, Ring &r) {
				      static_cast<SplitRing &>(r).push_avail(0xFFFF);
			      } });
	a.push_back({ "TX avail index past the ring", true, true, [](Guest &g, Ring &r) {
			     SplitRing &s = static_cast<SplitRing &>(r);

			     r.post(g.tx_layout(hdr_plus(pattern(60, 6)), {}));
			     s.set_avail_idx((uint16_t)(s.avail_idx() + r.num() + 1));
		     } });
	return a;
}

/* A healthy queue pair: frames posted on TX and RX buffers to take them. */
class Healthy {
public:
	Healthy(Guest &g, bool packed)
		: g_(g), txr_(make_ring(g, packed, 256)), rxr_(make_ring(g, packed, 256)),
		  tx(g, *txr_, true, bit(VIRTQ_F_VERSION_1)),
		  rx(g, *rxr_, false, bit(VIRTQ_F_VERSION_1))
	{
	}

	/* Post @n frames of varied sizes and as many RX buffers. */
	void post(unsigned n)
	{
		for (unsigned i = 0; i < n; i++, seq_++) {
			sent_.push_back(pattern(60 + (seq_ * 97) % 1400, 1000 + seq_));
			tx_ids_.push_back(post_tx(*txr_, sent_.back(), { 40, 300 }));
			Desc b = g_.rx_buffers({ 2048 })[0];

			rx_addr_[rxr_->post({ b })] = b.addr;
		}
	}
	/* The frames the TX ring gave match what was posted, in order. */
	::testing::AssertionResult taken(const std::vector<std::vector<uint8_t>> &out)
	{
		if (out != sent_)
			return ::testing::AssertionFailure()
			       << out.size() << " frames taken of " << sent_.size()
			       << " posted, or not byte for byte";
		std::vector<Used> u = txr_->drain_used();

		if (u.size() != tx_ids_.size())
			return ::testing::AssertionFailure() << u.size() << " TX buffers returned";
		for (size_t i = 0; i < u.size(); i++)
			if (u[i].id != tx_ids_[i] || u[i].len != 0)
				return ::testing::AssertionFailure() << "TX used element " << i;
		tx_ids_.clear();
		return ::testing::AssertionSuccess();
	}
	/* Each sent frame is in an RX buffer with its header, byte for byte. */
	::testing::AssertionResult delivered()
	{
		std::vector<Used> u = rxr_->drain_used();

		if (u.size() != sent_.size())
			return ::testing::AssertionFailure()
			       << u.size() << " RX buffers used for " << sent_.size() << " frames";
		for (size_t i = 0; i < u.size(); i++) {
			auto it = rx_addr_.find(u[i].id);

			if (it == rx_addr_.end() || u[i].len != 12 + sent_[i].size())
				return ::testing::AssertionFailure()
				       << "RX used element " << i << ": id " << u[i].id << " len "
				       << u[i].len;
			if (g_.read(it->second + 12, sent_[i].size()) != sent_[i])
				return ::testing::AssertionFailure()
				       << "RX frame " << i << " differs";
			rx_addr_.erase(it);
		}
		sent_.clear();
		return ::testing::AssertionSuccess();
	}

private:
	Guest &g_;
	std::unique_ptr<Ring> txr_, rxr_;
	std::vector<std::vector<uint8_t>> sent_;
	std::vector<uint16_t> tx_ids_;
	std::map<uint16_t, uint64_t> rx_addr_;
	unsigned seq_ = 0;

public:
	Backend tx, rx;
};

TEST_P(Isolation, SEC1_HostileRingBesideHealthyPair)
{
	Guest g;
	Healthy ok(g, packed());
	std::chrono::steady_clock::duration hostile_time{};
	unsigned frames = 0;

	for (const Attack &at : attacks(packed())) {
		SCOPED_TRACE(at.what);
		auto hr = make_ring(g, packed(), 64);
		Backend bad(g, *hr, at.tx, bit(VIRTQ_F_VERSION_1));

		at.post(g, *hr);
		/* Several rounds: a stopped ring must stay harmless too. */
		for (int round = 0; round < 3; round++) {
			ok.post(4);
			auto out = ok.tx.tx();

			ASSERT_TRUE(ok.taken(out)) << "round " << round;
			auto t0 = std::chrono::steady_clock::now();

			if (at.tx) {
				EXPECT_TRUE(bad.tx().empty()) << "a hostile chain was forwarded";
			} else {
				EXPECT_EQ(bad.rx(out), 0u) << "a hostile RX chain took a frame";
			}
			hostile_time += std::chrono::steady_clock::now() - t0;
			ASSERT_EQ(ok.rx.rx(out), out.size()) << "round " << round;
			ASSERT_TRUE(ok.delivered()) << "round " << round;
			frames += (unsigned)out.size();
		}
		EXPECT_EQ(bad.vq.broken, at.breaks);
		EXPECT_EQ(bad.errs(), at.breaks ? 1u : 0u);
		if (!at.breaks) {
			EXPECT_GT(bad.drops_total(), 0u) << "bad chains are dropped and counted";
		}
		EXPECT_EQ(bad.vq.stats.packets, 0u);
		/* The healthy pair: untouched by what happened next to it. */
		EXPECT_FALSE(ok.tx.vq.broken);
		EXPECT_FALSE(ok.rx.vq.broken);
		EXPECT_EQ(ok.tx.drops_total() + ok.rx.drops_total(), 0u);
		EXPECT_EQ(ok.tx.errs() + ok.rx.errs(), 0u);
	}
	EXPECT_EQ(ok.tx.vq.stats.packets, frames);
	EXPECT_EQ(ok.rx.vq.stats.packets, frames);
	/* No stall of the shared thread: the hostile polls stay cheap. */
	EXPECT_LT(hostile_time, std::chrono::seconds(2));
}

INSTANTIATE_TEST_SUITE_P(Rings, Isolation, ::testing::Bool(), ring_kind);

} // namespace
