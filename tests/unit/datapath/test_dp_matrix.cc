/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The feature matrix: split/packed x MRG_RXBUF x INDIRECT_DESC x EVENT_IDX
 * x IN_ORDER. Each combination runs TX and RX traffic in random bursts and
 * descriptor layouts and checks, per burst, the bytes delivered (byte for
 * byte), used ids and lengths, num_buffers, and the notification decision
 * against a model of the driver's suppression setting (DP-4, DP-5, DP-6,
 * DP-9, DP-10, DP-11, DP-12, DP-13, VNET-7, VNET-8).
 */
#include "dp_harness.h"

#include <deque>
#include <map>
#include <random>
#include <tuple>

using namespace dp;

namespace {

using Combo = std::tuple<bool, bool, bool, bool, bool>; /* packed, mrg, ind, evt, ord */

class Matrix : public DpTest, public ::testing::WithParamInterface<Combo> {
protected:
	bool packed() const { return std::get<0>(GetParam()); }
	bool mrg() const { return std::get<1>(GetParam()); }
	bool ind() const { return std::get<2>(GetParam()); }
	bool evt() const { return std::get<3>(GetParam()); }
	bool ord() const { return std::get<4>(GetParam()); }
	uint64_t features() const
	{
		return bit(VIRTQ_F_VERSION_1) | (mrg() ? bit(VIRTQ_F_MRG_RXBUF) : 0) |
		       (ind() ? bit(VIRTQ_F_INDIRECT_DESC) : 0) |
		       (evt() ? bit(VIRTQ_F_EVENT_IDX) : 0) | (ord() ? bit(VIRTQ_F_IN_ORDER) : 0);
	}
	uint16_t num() const { return packed() ? 50 : 64; } /* packed: not a power of 2 */
};

std::string
combo_name(const ::testing::TestParamInfo<Combo> &i)
{
	std::string s = std::get<0>(i.param) ? "packed" : "split";

	s += std::get<1>(i.param) ? "_mrg" : "_nomrg";
	s += std::get<2>(i.param) ? "_ind" : "_direct";
	s += std::get<3>(i.param) ? "_evtidx" : "_flags";
	s += std::get<4>(i.param) ? "_inorder" : "";
	return s;
}

/*
 * The driver's interrupt suppression for one burst, chosen at random, and
 * the call the device owes for it (virtio 1.2 §2.7.7, §2.8.10): computed
 * here by walking the positions the burst used, not by the device's
 * formula.
 */
class Suppress {
public:
	Suppress(Ring &r, bool evt, std::mt19937 &rng) : r_(r), evt_(evt), rng_(rng) {}

	void before()
	{
		old_ = position();
		mode_ = (int)(rng_() % 3);
		if (!r_.packed()) {
			auto &s = static_cast<SplitRing &>(r_);
			s.set_no_interrupt(rng_() % 2);
			no_int_ = false;
			if (!evt_) {
				no_int_ = mode_ == 0;
				s.set_no_interrupt(no_int_);
			}
			event_ = old_ + (rng_() % 12) - 2;
			if (evt_)
				s.set_used_event((uint16_t)event_);
			return;
		}
		auto &p = static_cast<PackedRing &>(r_);
		if (mode_ == 2 && !evt_)
			mode_ = 0; /* DESC only with EVENT_IDX */
		if (mode_ == 2) {
			int64_t e = (int64_t)old_ + (int64_t)(rng_() % 12) - 2;
			event_ = e < 0 ? old_ : (uint64_t)e;
			uint16_t off = (uint16_t)(event_ % p.num());
			bool wrap = (event_ / p.num()) % 2 == 0;
			p.set_driver_event(EV_DESC, (uint16_t)(off | (wrap ? 0x8000 : 0)));
		} else {
			p.set_driver_event(mode_ == 0 ? EV_DISABLE : EV_ENABLE, 0);
		}
	}

	/* After the burst's used entries were drained. */
	uint64_t expected() const
	{
		uint64_t now = position();

		if (now == old_)
			return 0;
		if (!r_.packed()) {
			if (!evt_)
				return no_int_ ? 0 : 1;
			for (uint16_t k = (uint16_t)old_; k != (uint16_t)now; k++)
				if (k == (uint16_t)event_)
					return 1;
			return 0;
		}
		if (mode_ == 0)
			return 0;
		if (mode_ == 1)
			return 1;
		return event_ >= old_ && event_ < now ? 1 : 0;
	}

private:
	uint64_t position() const
	{
		if (r_.packed())
			return static_cast<PackedRing &>(r_).used_linear();
		return static_cast<SplitRing &>(r_).used_idx();
	}

	Ring &r_;
	bool evt_;
	std::mt19937 &rng_;
	uint64_t old_ = 0, event_ = 0;
	int mode_ = 0;
	bool no_int_ = false;
};

std::vector<uint8_t>
hdr_plus(const std::vector<uint8_t> &p)
{
	std::vector<uint8_t> b = net_hdr(12);

	b.insert(b.end(), p.begin(), p.end());
	return b;
}

TEST_P(Matrix, DP4_DP5_DP6_DP9_DP13_VNET7_VNET8_Traffic)
{
	Guest g;
	std::mt19937 rng(std::hash<std::string>()(combo_name({ GetParam(), 0 })) & 0xffffffff);
	auto tr = make_ring(g, packed(), num(), evt());
	auto rr = make_ring(g, packed(), num(), evt());
	if (ord()) {
		/* The guest reads the used rings as an IN_ORDER driver: a TX burst
		 * may come back as one used entry (DP-9). */
		tr->set_in_order(true);
		rr->set_in_order(true);
	}
	Backend tx(g, *tr, true, features());
	Backend rx(g, *rr, false, features());
	const int frames = 300;

	/* ---- TX ---- */
	std::deque<std::vector<uint8_t>> want;
	std::deque<uint16_t> posted_ids;
	int posted = 0, got = 0, layouts[5] = {};
	uint64_t calls = 0;
	Suppress tsup(*tr, evt(), rng);
	while (got < frames) {
		while (posted < frames) {
			unsigned pick = rng() % 20;
			size_t len = pick == 0  ? 9000
				     : pick < 4 ? 14 + rng() % 47
						: 14 + rng() % 1501;
			std::vector<uint8_t> p = pattern(len, 7000 + posted), b = hdr_plus(p);
			int layout = (int)(rng() % (ind() ? (packed() ? 4 : 5) : 3));
			std::vector<Desc> chain;

			if (layout == 2 && len > 60)
				layout = 1;
			switch (layout) {
			case 0: /* one descriptor */
				chain = g.tx_layout(b, {}, 1);
				break;
			case 1: /* header alone + data */
				chain = g.tx_layout(b, { 12, (uint32_t)len }, 1);
				break;
			case 2: /* 3-byte fragments */
				chain = g.tx_layout(b, frags_of(b.size(), 3), 1);
				break;
			case 3: { /* indirect: header + data in two pieces */
				auto parts = g.tx_layout(
					b, { 12, (uint32_t)len / 2, (uint32_t)len }, 1);
				Desc d;
				d.addr = g.indirect(parts, packed(), false, 1);
				d.len = (uint32_t)(16 * parts.size());
				d.flags = F_INDIRECT;
				chain = { d };
				break;
			}
			default: { /* split: 2 direct + 1 indirect */
				auto parts = g.tx_layout(b, { 5, 7, (uint32_t)len }, 1);
				Desc d;
				d.addr = g.indirect({ parts[2] }, false, false, 1);
				d.len = 16;
				d.flags = F_INDIRECT;
				chain = { parts[0], parts[1], d };
				break;
			}
			}
			if (!tr->room((unsigned)chain.size()))
				break;
			layouts[layout]++;
			posted_ids.push_back(tr->post(chain));
			want.push_back(p);
			posted++;
		}
		tsup.before();
		auto out = tx.tx((uint16_t)(1 + rng() % 16));
		for (auto &o : out) {
			ASSERT_FALSE(want.empty());
			ASSERT_EQ(o, want.front()) << "TX frame " << got;
			want.pop_front();
			got++;
		}
		auto used = tr->drain_used();
		ASSERT_EQ(used.size(), out.size()) << "every chain taken is returned";
		for (auto &u : used) {
			EXPECT_EQ(u.len, 0u);
			if (packed()) {
				EXPECT_FALSE(u.flags & F_WRITE);
			}
			if (ord()) {
				EXPECT_EQ(u.id, posted_ids.front())
					<< "IN_ORDER: used in ring order";
			}
			posted_ids.pop_front();
		}
		uint64_t c = tx.calls();
		ASSERT_EQ(c, tsup.expected()) << "TX call decision after frame " << got;
		calls += c;
	}
	EXPECT_EQ(tx.vq.stats.packets, (uint64_t)frames);
	EXPECT_EQ(tx.drops_total(), 0u);
	EXPECT_EQ(tx.vq.stats.calls, calls);
	EXPECT_GT(layouts[0] * layouts[1] * layouts[2], 0);

	/* ---- RX ---- */
	struct Buf {
		uint16_t id;
		std::vector<Desc> segs;
		uint64_t cap;
	};
	std::deque<Buf> bufs;
	Suppress rsup(*rr, evt(), rng);
	int sent = 0;
	const uint32_t unit = mrg() ? 512 : 2048;
	auto post_buf = [&]() -> bool {
		int kind = (int)(rng() % (ind() ? 3 : 2));
		std::vector<Desc> segs, chain;

		if (kind == 0)
			segs = g.rx_buffers({ unit });
		else
			segs = g.rx_buffers({ unit / 2 - 56, unit / 2 + 56 });
		chain = segs;
		if (kind == 2) {
			Desc d;
			d.addr = g.indirect(segs, packed());
			d.len = (uint32_t)(16 * segs.size());
			d.flags = F_INDIRECT;
			chain = { d };
		}
		if (!rr->room((unsigned)chain.size()))
			return false;
		bufs.push_back({ rr->post(chain), segs, unit });
		return true;
	};
	while (sent < frames) {
		while (post_buf()) {
		}
		/* A burst the posted buffers can hold. */
		std::vector<std::vector<uint8_t>> burst;
		size_t need = 0, n = 1 + rng() % 8;
		while (burst.size() < n && sent + (int)burst.size() < frames) {
			size_t len = 14 + rng() % (mrg() ? 3000 : 2023);
			size_t k = mrg() ? (12 + len + unit - 1) / unit : 1;
			if (need + k > bufs.size())
				break;
			need += k;
			burst.push_back(pattern(len, 9000 + sent + (int)burst.size()));
		}
		ASSERT_FALSE(burst.empty());
		rsup.before();
		ASSERT_EQ(rx.rx(burst, 1 + rng() % 2048), burst.size());
		auto used = rr->drain_used();
		size_t k = 0;
		for (auto &f : burst) {
			std::vector<uint8_t> all;
			uint16_t nb = 0;
			size_t first = k;
			do {
				ASSERT_LT(k, used.size());
				ASSERT_FALSE(bufs.empty());
				/* IN_ORDER: the oldest buffer; otherwise any posted one. */
				auto it = bufs.begin();
				if (!ord())
					while (it != bufs.end() && it->id != used[k].id)
						it++;
				ASSERT_TRUE(it != bufs.end())
					<< "used id " << used[k].id << " not posted";
				EXPECT_EQ(used[k].id, it->id) << "IN_ORDER: used in ring order";
				Buf b = *it;
				bufs.erase(it);
				ASSERT_LE(used[k].len, b.cap);
				if (packed()) {
					EXPECT_TRUE(used[k].flags & F_WRITE);
				}
				uint64_t left = used[k].len;
				for (auto &s : b.segs) {
					uint64_t take = std::min<uint64_t>(left, s.len);
					auto part = g.read(s.addr, s.len);
					all.insert(all.end(), part.begin(),
						   part.begin() + (long)take);
					EXPECT_TRUE(
						std::all_of(part.begin() + (long)take, part.end(),
							    [](uint8_t x) { return x == 0xAA; }))
						<< "bytes beyond the used len were written";
					left -= take;
				}
				if (k == first)
					nb = num_buffers(all);
				k++;
			} while (k - first < nb);
			std::vector<uint8_t> w = net_hdr(12);
			w[10] = (uint8_t)nb;
			w[11] = (uint8_t)(nb >> 8);
			w.insert(w.end(), f.begin(), f.end());
			ASSERT_EQ(all, w) << "RX frame " << sent;
			if (!mrg()) {
				EXPECT_EQ(nb, 1u);
			}
			for (size_t j = first; j + 1 < k; j++)
				EXPECT_EQ(used[j].len, unit) << "all buffers but the last are full";
			EXPECT_EQ(nb, mrg() ? (12 + f.size() + unit - 1) / unit : 1u);
			sent++;
		}
		EXPECT_EQ(k, used.size());
		ASSERT_EQ(rx.calls(), rsup.expected()) << "RX call decision after frame " << sent;
	}
	EXPECT_EQ(rx.vq.stats.packets, (uint64_t)frames);
	EXPECT_EQ(rx.drops_total(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Features, Matrix,
			 ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Bool(),
					    ::testing::Bool(), ::testing::Bool()),
			 combo_name);

} // namespace
