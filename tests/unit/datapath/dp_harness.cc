/* SPDX-License-Identifier: BSD-3-Clause */
#include "dp_harness.h"

#include "../eal_start.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <rte_lcore.h>

namespace dp {

namespace {

/* Harness misuse (not a datapath failure): stop loudly. */
[[noreturn]] void
die(const char *what, uint64_t a = 0, uint64_t b = 0)
{
	fprintf(stderr, "dp harness: %s (0x%llx, 0x%llx)\n", what, (unsigned long long)a,
		(unsigned long long)b);
	abort();
}

/* EAL and the mbuf pool once per test binary. */
UnitEalEnv *const g_env = static_cast<UnitEalEnv *>(
	::testing::AddGlobalTestEnvironment(new UnitEalEnv("unit_datapath", 128, 8191)));

} // namespace

struct rte_mempool *
pool()
{
	return g_env->pool();
}

unsigned
pool_size()
{
	return g_env->pool_size();
}

std::vector<uint8_t>
pattern(size_t len, uint32_t seed)
{
	std::vector<uint8_t> v(len);
	uint32_t x = seed * 2654435761u + 12345;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345;
		v[i] = (uint8_t)(x >> 16);
	}
	return v;
}

struct rte_mbuf *
make_mbuf(const std::vector<uint8_t> &bytes, uint32_t seg)
{
	struct rte_mbuf *head = nullptr, *tail = nullptr;
	size_t off = 0;

	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(g_env->pool());
		uint32_t k = (uint32_t)std::min<size_t>(seg, bytes.size() - off);

		if (m == nullptr)
			die("mbuf pool empty");
		if (k > rte_pktmbuf_tailroom(m))
			die("segment larger than an mbuf", k);
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), bytes.data() + off, k);
		m->data_len = (uint16_t)k;
		off += k;
		if (head == nullptr) {
			head = m;
			head->pkt_len = 0;
		} else {
			tail->next = m;
			head->nb_segs++;
		}
		head->pkt_len += k;
		tail = m;
	} while (off < bytes.size());
	return head;
}

std::vector<uint8_t>
mbuf_bytes(const struct rte_mbuf *m)
{
	std::vector<uint8_t> v;
	uint32_t segs = 0;

	v.reserve(m->pkt_len);
	for (const struct rte_mbuf *s = m; s != nullptr; s = s->next) {
		const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);

		v.insert(v.end(), p, p + s->data_len);
		segs++;
	}
	EXPECT_EQ(v.size(), m->pkt_len) << "pkt_len differs from the sum of data_len";
	EXPECT_EQ(segs, m->nb_segs) << "nb_segs differs from the chain";
	return v;
}

/* ---- Guest ---- */

std::vector<Guest::Region>
Guest::default_layout()
{
	return { { 0, 4 * MiB }, { 4 * MiB, 4 * MiB }, { 16 * MiB, 2 * MiB } };
}

Guest::Guest(std::vector<Region> layout) : layout_(std::move(layout))
{
	char err[160] = "";

	for (size_t i = 0; i < layout_.size(); i++) {
		std::string name = "vus-dp-" + std::to_string(getpid()) + "-" + std::to_string(i);
		int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
		struct guest_mem_region r;

		if (fd < 0 || ftruncate(fd, (off_t)layout_[i].size) != 0)
			die("memfd", layout_[i].size);
		if (guest_mem_region_map(&r, fd, layout_[i].gpa, layout_[i].size,
					 0x7f0000000000ULL + layout_[i].gpa, 0, err,
					 sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			die("guest_mem_region_map", layout_[i].gpa, layout_[i].size);
		}
		fds_.push_back(fd);
		regs_.push_back(r);
		bump_.push_back(0);
	}
	table_ = guest_mem_table_build(regs_.data(), (unsigned)regs_.size(), err, sizeof(err));
	if (table_ == nullptr) {
		fprintf(stderr, "%s\n", err);
		die("guest_mem_table_build");
	}
}

Guest::~Guest()
{
	guest_mem_table_free(table_, false, nullptr);
	for (auto &r : regs_)
		guest_mem_region_unmap(&r);
	for (int fd : fds_)
		close(fd);
}

uint64_t
Guest::ram_bytes() const
{
	uint64_t n = 0;

	for (auto &l : layout_)
		n += l.size;
	return n;
}

bool
Guest::mapped(uint64_t gpa, uint64_t len) const
{
	for (auto &l : layout_)
		if (gpa >= l.gpa && gpa - l.gpa < l.size && len <= l.size - (gpa - l.gpa))
			return true;
	return false;
}

uint8_t *
Guest::host(uint64_t gpa, uint64_t len) const
{
	for (size_t i = 0; i < layout_.size(); i++) {
		const Region &l = layout_[i];

		if (gpa >= l.gpa && gpa - l.gpa < l.size && len <= l.size - (gpa - l.gpa))
			return regs_[i].host + (gpa - l.gpa);
	}
	die("host(): range not in one region", gpa, len);
}

uint64_t
Guest::alloc(uint64_t size, uint64_t align, unsigned r)
{
	uint64_t off = (bump_[r] + align - 1) & ~(align - 1);

	if (off + size > layout_[r].size)
		die("guest region full", r, size);
	bump_[r] = off + size;
	return layout_[r].gpa + off;
}

void
Guest::write(uint64_t gpa, const void *src, size_t len) const
{
	const uint8_t *s = static_cast<const uint8_t *>(src);

	while (len != 0) {
		size_t k = 1;

		/* Largest piece inside the region holding gpa. */
		for (auto &l : layout_)
			if (gpa >= l.gpa && gpa - l.gpa < l.size)
				k = (size_t)std::min<uint64_t>(len, l.size - (gpa - l.gpa));
		memcpy(host(gpa, k), s, k);
		s += k;
		gpa += k;
		len -= k;
	}
}

std::vector<uint8_t>
Guest::read(uint64_t gpa, size_t len) const
{
	std::vector<uint8_t> v(len);
	size_t done = 0;

	while (done < len) {
		size_t k = 1;

		for (auto &l : layout_)
			if (gpa >= l.gpa && gpa - l.gpa < l.size)
				k = (size_t)std::min<uint64_t>(len - done, l.size - (gpa - l.gpa));
		memcpy(v.data() + done, host(gpa, k), k);
		gpa += k;
		done += k;
	}
	return v;
}

void
Guest::fill(uint64_t gpa, uint8_t byte, size_t len) const
{
	std::vector<uint8_t> v(len, byte);

	write(gpa, v);
}

std::vector<Desc>
Guest::tx_layout(const std::vector<uint8_t> &bytes, const std::vector<uint32_t> &frags, unsigned r)
{
	size_t nf = frags.empty() ? 1 : frags.size(), off = 0;
	std::vector<Desc> d;

	for (size_t i = 0; i < nf; i++) {
		size_t left = bytes.size() - off;
		uint32_t k = (uint32_t)(i + 1 < nf ? std::min<size_t>(frags[i], left) : left);
		Desc x;

		x.addr = alloc(k ? k : 1, 8, r);
		x.len = k;
		write(x.addr, bytes.data() + off, k);
		d.push_back(x);
		off += k;
	}
	return d;
}

std::vector<Desc>
Guest::rx_buffers(const std::vector<uint32_t> &sizes, uint8_t fillb, unsigned r)
{
	std::vector<Desc> d;

	for (uint32_t s : sizes) {
		Desc x;
		x.addr = alloc(s ? s : 1, 64, r);
		x.len = s;
		x.flags = F_WRITE;
		fill(x.addr, fillb, s);
		d.push_back(x);
	}
	return d;
}

uint64_t
Guest::indirect(const std::vector<Desc> &e, bool packed, bool raw, unsigned r)
{
	uint64_t gpa = alloc(16 * e.size(), 16, r);

	for (size_t i = 0; i < e.size(); i++) {
		uint8_t *p = host(gpa + 16 * i, 16);
		uint16_t flags = e[i].flags, next = e[i].next;

		memcpy(p, &e[i].addr, 8);
		memcpy(p + 8, &e[i].len, 4);
		if (packed) {
			memcpy(p + 12, &e[i].id, 2);
			memcpy(p + 14, &flags, 2);
		} else {
			if (!raw) {
				flags = (uint16_t)(flags | (i + 1 < e.size() ? F_NEXT : 0));
				next = (uint16_t)(i + 1);
			}
			memcpy(p + 12, &flags, 2);
			memcpy(p + 14, &next, 2);
		}
	}
	return gpa;
}

std::vector<uint8_t>
net_hdr(unsigned hdr_len, uint8_t flags, uint8_t gso_type)
{
	std::vector<uint8_t> h(hdr_len, 0);

	h[0] = flags;
	h[1] = gso_type;
	return h;
}

/* ---- Split ring ---- */

SplitRing::SplitRing(Guest &g, uint16_t num, bool event_idx, unsigned r) : Ring(g, num, event_idx)
{
	desc_gpa_ = g.alloc(16ULL * num, 16, r);
	avail_gpa_ = g.alloc(6 + 2ULL * num, 2, r);
	used_gpa_ = g.alloc(6 + 8ULL * num, 4, r);
	g.fill(desc_gpa_, 0, 16ULL * num);
	g.fill(avail_gpa_, 0, 6 + 2ULL * num);
	g.fill(used_gpa_, 0, 6 + 8ULL * num);
	desc_ = reinterpret_cast<RawDesc *>(g.host(desc_gpa_, 16ULL * num));
	avail_ = reinterpret_cast<volatile uint16_t *>(g.host(avail_gpa_, 6 + 2ULL * num));
	used_ = reinterpret_cast<volatile uint16_t *>(g.host(used_gpa_, 6 + 8ULL * num));
	for (int i = num - 1; i >= 0; i--)
		free_.push_back((uint16_t)i);
}

uint16_t
SplitRing::post(const std::vector<Desc> &chain, int)
{
	std::vector<uint16_t> idx;

	if (chain.empty() || chain.size() > free_.size())
		die("split post: no room", chain.size(), free_.size());
	for (size_t i = 0; i < chain.size(); i++) {
		idx.push_back(free_.back());
		free_.pop_back();
	}
	for (size_t i = 0; i < chain.size(); i++) {
		RawDesc *d = &desc_[idx[i]];

		d->addr = chain[i].addr;
		d->len = chain[i].len;
		d->next = i + 1 < chain.size() ? idx[i + 1] : 0;
		d->flags = (uint16_t)(chain[i].flags | (i + 1 < chain.size() ? F_NEXT : 0));
	}
	chains_[idx[0]] = idx;
	push_avail(idx[0]);
	return idx[0];
}

void
SplitRing::push_avail(uint16_t head)
{
	avail_[2 + (avail_idx_ % num_)] = head;
	avail_idx_++;
	if (in_order_)
		order_.push_back(head);
	__atomic_store_n(const_cast<uint16_t *>(&avail_[1]), avail_idx_, __ATOMIC_RELEASE);
}

void
SplitRing::set_avail_idx(uint16_t idx)
{
	avail_idx_ = idx;
	__atomic_store_n(const_cast<uint16_t *>(&avail_[1]), idx, __ATOMIC_RELEASE);
}

uint16_t
SplitRing::used_idx() const
{
	return __atomic_load_n(const_cast<uint16_t *>(&used_[1]), __ATOMIC_ACQUIRE);
}

void
SplitRing::set_indices(uint16_t avail, uint16_t used)
{
	avail_idx_ = avail;
	last_used_ = used;
	avail_[1] = avail;
	used_[1] = used;
}

bool
SplitRing::pop_used(Used *u)
{
	const volatile uint32_t *ring;
	uint16_t published = used_idx();

	if (last_used_ == published)
		return false;
	ring = reinterpret_cast<const volatile uint32_t *>(
		reinterpret_cast<volatile uint8_t *>(const_cast<uint16_t *>(used_)) + 4);
	if (in_order_ && batch_last_ < 0 && !order_.empty()) {
		uint16_t slot = (uint16_t)(last_used_ % num_);
		uint32_t id = ring[2 * slot];
		auto it = std::find(order_.begin(), order_.end(), (uint16_t)id);

		EXPECT_TRUE(id < num_ && it != order_.end())
			<< "IN_ORDER: used id " << id << " at slot " << slot
			<< " is not outstanding";
		if (id < num_ && it != order_.end()) {
			uint16_t batch = (uint16_t)(it - order_.begin() + 1);

			EXPECT_LE(batch, (uint16_t)(published - last_used_))
				<< "IN_ORDER: a batch of " << batch
				<< " buffers ends past used->idx";
			batch_last_ = (int)id;
			batch_len_ = ring[2 * slot + 1];
			batch_slot_ = slot;
		}
	}
	if (batch_last_ >= 0) {
		u->id = order_.front();
		order_.pop_front();
		u->slot = batch_slot_;
		u->len = u->id == batch_last_ ? batch_len_ : 0;
		if (u->id == batch_last_)
			batch_last_ = -1;
	} else {
		u->slot = (uint16_t)(last_used_ % num_);
		u->id = (uint16_t)ring[2 * u->slot];
		u->len = ring[2 * u->slot + 1];
		EXPECT_LT(ring[2 * u->slot], num_) << "used id out of range";
	}
	u->flags = 0;
	last_used_++;
	auto it = chains_.find(u->id);
	if (it != chains_.end()) {
		for (uint16_t i : it->second)
			free_.push_back(i);
		chains_.erase(it);
	}
	return true;
}

void
SplitRing::fill_conf(struct virtq_conf *c) const
{
	c->num = num_;
	c->packed = false;
	c->ring.split.desc = desc_;
	c->ring.split.avail = const_cast<uint16_t *>(avail_);
	c->ring.split.used = const_cast<uint16_t *>(used_);
}

void
SplitRing::set_no_interrupt(bool on)
{
	avail_[0] = on ? 1 : 0;
}

void
SplitRing::set_used_event(uint16_t idx, bool)
{
	avail_[2 + num_] = idx;
}

std::vector<uint8_t>
SplitRing::driver_area() const
{
	std::vector<uint8_t> v = g_.read(desc_gpa_, 16ULL * num_);
	std::vector<uint8_t> a = g_.read(avail_gpa_, 6 + 2ULL * num_);

	v.insert(v.end(), a.begin(), a.end());
	return v;
}

/* ---- Packed ring ---- */

PackedRing::PackedRing(Guest &g, uint16_t num, bool event_idx, unsigned r)
	: Ring(g, num, event_idx), free_slots_(num)
{
	desc_gpa_ = g.alloc(16ULL * num, 16, r);
	uint64_t drv = g.alloc(4, 4, r), dev = g.alloc(4, 4, r);

	g.fill(desc_gpa_, 0, 16ULL * num);
	g.fill(drv, 0, 4);
	g.fill(dev, 0, 4);
	desc_ = reinterpret_cast<RawDesc *>(g.host(desc_gpa_, 16ULL * num));
	drv_ev_ = reinterpret_cast<volatile uint16_t *>(g.host(drv, 4));
	dev_ev_ = reinterpret_cast<volatile uint16_t *>(g.host(dev, 4));
	for (int i = num - 1; i >= 0; i--)
		free_ids_.push_back((uint16_t)i);
}

uint16_t
PackedRing::post(const std::vector<Desc> &chain, int id)
{
	std::vector<Desc> c = chain;
	uint16_t bid;

	if (chain.empty() || chain.size() > free_slots_)
		die("packed post: no room", chain.size(), free_slots_);
	if (id < 0) {
		if (free_ids_.empty())
			die("packed post: no free id");
		bid = free_ids_.back();
		free_ids_.pop_back();
	} else {
		bid = (uint16_t)id;
		for (size_t i = 0; i < free_ids_.size(); i++)
			if (free_ids_[i] == bid) {
				free_ids_.erase(free_ids_.begin() + (long)i);
				break;
			}
	}
	for (size_t i = 0; i < c.size(); i++) {
		c[i].id = bid;
		if (i + 1 < c.size())
			c[i].flags |= F_NEXT;
	}
	post_raw(c);
	return bid;
}

uint16_t
PackedRing::post_raw(const std::vector<Desc> &c)
{
	uint16_t first = next_, first_flags = 0;

	for (size_t i = 0; i < c.size(); i++) {
		RawDesc *d = &desc_[next_];
		uint16_t flags = (uint16_t)(c[i].flags & ~(P_AVAIL | P_USED));

		flags |= wrap_ ? P_AVAIL : P_USED;
		d->addr = c[i].addr;
		d->len = c[i].len;
		d->id = c[i].id;
		if (i == 0)
			first_flags = flags;
		else
			__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
		if (++next_ == num_) {
			next_ = 0;
			wrap_ = !wrap_;
		}
	}
	/* The first descriptor's flags last: the chain appears whole. */
	__atomic_store_n(&desc_[first].flags, first_flags, __ATOMIC_RELEASE);
	free_slots_ -= (unsigned)c.size();
	ndesc_[c.back().id] = (uint16_t)c.size();
	if (in_order_)
		order_.push_back(c.back().id);
	return first;
}

/* Give buffer @p id back to the driver and move the used position past its
 * slots. false: it was not outstanding. */
bool
PackedRing::take(uint16_t id)
{
	uint16_t n = 1;
	auto it = ndesc_.find(id);
	bool ok = it != ndesc_.end();

	if (!ok) {
		ADD_FAILURE() << "used id " << id << " was not posted";
	} else {
		n = it->second;
		ndesc_.erase(it);
		free_ids_.insert(free_ids_.begin(), id);
	}
	free_slots_ += n;
	used_lin_ += n;
	used_pos_ = (uint16_t)(used_pos_ + n);
	if (used_pos_ >= num_) {
		used_pos_ = (uint16_t)(used_pos_ - num_);
		used_wrap_ = !used_wrap_;
	}
	return ok;
}

bool
PackedRing::pop_used(Used *u)
{
	if (batch_last_ < 0) {
		uint16_t flags = __atomic_load_n(&desc_[used_pos_].flags, __ATOMIC_ACQUIRE);

		if (((flags & P_AVAIL) != 0) != used_wrap_ || ((flags & P_USED) != 0) != used_wrap_)
			return false;
		u->id = desc_[used_pos_].id;
		u->len = desc_[used_pos_].len;
		u->flags = flags;
		u->slot = used_pos_;
		if (!in_order_) {
			take(u->id);
			return true;
		}
		/* IN_ORDER: the entry ends a batch that starts at the oldest
		 * outstanding buffer. */
		auto it = std::find(order_.begin(), order_.end(), u->id);
		if (it == order_.end()) {
			ADD_FAILURE() << "IN_ORDER: used id " << u->id << " at slot " << u->slot
				      << " is not outstanding";
			take(u->id);
			return true;
		}
		batch_last_ = u->id;
		batch_ = *u;
	}
	u->id = order_.front();
	order_.pop_front();
	u->len = u->id == batch_last_ ? batch_.len : 0;
	u->flags = batch_.flags;
	u->slot = batch_.slot;
	if (u->id == batch_last_)
		batch_last_ = -1;
	take(u->id);
	return true;
}

void
PackedRing::set_position(uint16_t slot, bool wrap, struct virtq_pos *dev)
{
	/* What a ring that really got here holds: slots before @p slot were
	 * used in this lap (AVAIL = USED = wrap), the rest in the last lap
	 * (AVAIL = USED = !wrap). Neither side mistakes them for new. */
	for (uint16_t i = 0; i < num_; i++)
		desc_[i].flags = (i < slot) == wrap ? (P_AVAIL | P_USED) : 0;
	next_ = used_pos_ = slot;
	wrap_ = used_wrap_ = wrap;
	dev->last_avail_idx = dev->last_used_idx = slot;
	dev->avail_wrap = dev->used_wrap = wrap;
}

void
PackedRing::fill_conf(struct virtq_conf *c) const
{
	c->num = num_;
	c->packed = true;
	c->ring.packed_ring.desc = desc_;
	c->ring.packed_ring.driver_event = const_cast<uint16_t *>(drv_ev_);
	c->ring.packed_ring.device_event = const_cast<uint16_t *>(dev_ev_);
}

void
PackedRing::set_driver_event(uint16_t flags, uint16_t off_wrap)
{
	drv_ev_[0] = off_wrap;
	drv_ev_[1] = flags;
}

void
PackedRing::set_no_interrupt(bool on)
{
	drv_ev_[1] = on ? EV_DISABLE : EV_ENABLE;
}

void
PackedRing::set_used_event(uint16_t idx, bool wrap)
{
	set_driver_event(EV_DESC, (uint16_t)(idx | (wrap ? 0x8000 : 0)));
}

uint16_t
PackedRing::device_event_flags() const
{
	return dev_ev_[1];
}

std::vector<uint8_t>
PackedRing::driver_event_bytes() const
{
	std::vector<uint8_t> v(4);

	memcpy(v.data(), const_cast<uint16_t *>(drv_ev_), 4);
	return v;
}

std::unique_ptr<Ring>
make_ring(Guest &g, bool packed, uint16_t num, bool event_idx)
{
	if (packed)
		return std::unique_ptr<Ring>(new PackedRing(g, num, event_idx));
	return std::unique_ptr<Ring>(new SplitRing(g, num, event_idx));
}

/* ---- Back-end ---- */

Backend::Backend(Guest &g, Ring &r, bool tx, uint64_t features, uint8_t hdr_len) : ring_(r)
{
	call_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	err_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (call_fd_ < 0 || err_fd_ < 0)
		die("eventfd");
	if (r.packed())
		features |= bit(VIRTQ_F_RING_PACKED) | bit(VIRTQ_F_VERSION_1);
	conf.enabled = true;
	conf.tx = tx;
	conf.hdr_len = hdr_len;
	conf.features = features;
	r.fill_conf(&conf);
	conf.call_fd = call_fd_;
	conf.err_fd = err_fd_;
	conf.mem = g.table();
	conf.max_frame = 65535;
	conf.log_base = nullptr;
	vq.pos.avail_wrap = vq.pos.used_wrap = r.packed();
	publish();
}

Backend::~Backend()
{
	virtq_publish(&vq, nullptr);
	close(call_fd_);
	close(err_fd_);
}

void
Backend::publish()
{
	virtq_publish(&vq, &conf);
}

std::vector<std::vector<uint8_t>>
Backend::tx(uint16_t n)
{
	std::vector<struct rte_mbuf *> pkts(n);
	std::vector<std::vector<uint8_t>> out;
	uint16_t got = virtq_dequeue_burst(&vq, virtq_conf_get(&vq), g_env->pool(), pkts.data(), n);

	EXPECT_LE(got, n);
	for (uint16_t i = 0; i < got; i++) {
		out.push_back(mbuf_bytes(pkts[i]));
		rte_pktmbuf_free(pkts[i]);
	}
	return out;
}

uint16_t
Backend::rx(const std::vector<std::vector<uint8_t>> &frames, uint32_t seg)
{
	std::vector<struct rte_mbuf *> m;
	uint16_t got;

	for (auto &f : frames)
		m.push_back(make_mbuf(f, seg));
	got = virtq_enqueue_burst(&vq, virtq_conf_get(&vq), m.data(), (uint16_t)m.size());
	for (auto *x : m)
		rte_pktmbuf_free(x);
	return got;
}

static uint64_t
read_counter(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

uint64_t
Backend::calls()
{
	return read_counter(call_fd_);
}

uint64_t
Backend::errs()
{
	return read_counter(err_fd_);
}

uint64_t
Backend::drops_total() const
{
	uint64_t n = 0;

	for (unsigned i = 0; i < VIRTQ_DROP_MAX; i++)
		n += vq.stats.drops[i];
	return n;
}

void
DpTest::TearDown()
{
	EXPECT_EQ(rte_mempool_avail_count(g_env->pool()), g_env->pool_size()) << "mbufs leaked";
}

void
expect_returned(Ring &r, const std::vector<uint16_t> &ids)
{
	std::vector<Used> u = r.drain_used();

	ASSERT_EQ(u.size(), ids.size());
	for (size_t i = 0; i < u.size(); i++) {
		EXPECT_EQ(u[i].id, ids[i]) << "used element " << i;
		EXPECT_EQ(u[i].len, 0u) << "TX buffers are returned with len 0, element " << i;
		if (r.packed()) {
			EXPECT_FALSE(u[i].flags & F_WRITE) << "nothing was written, element " << i;
		}
	}
}

} // namespace dp
