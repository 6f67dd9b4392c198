/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test "guest" for the lib/virtq datapath: guest RAM on memfds mapped
 * through lib/guest_mem, split and packed rings built by hand the way a
 * virtio driver lays them out (virtio 1.2 §2.7, §2.8), and a back-end
 * wrapper holding one struct virtq with a hand-made struct virtq_conf.
 *
 * The harness does its own GPA arithmetic (it never asks lib/guest_mem to
 * translate for it), so what the datapath reads and writes is checked
 * against an independent view of guest memory.
 */
#ifndef DP_HARNESS_H
#define DP_HARNESS_H

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "guest_mem.h"
#include "virtq.h"

namespace dp {

/* Descriptor flags as a driver writes them. */
constexpr uint16_t F_NEXT = 1;
constexpr uint16_t F_WRITE = 2;
constexpr uint16_t F_INDIRECT = 4;
constexpr uint16_t P_AVAIL = 1u << 7;
constexpr uint16_t P_USED = 1u << 15;
constexpr uint16_t EV_ENABLE = 0;
constexpr uint16_t EV_DISABLE = 1;
constexpr uint16_t EV_DESC = 2;

constexpr uint64_t
bit(int b)
{
	return 1ULL << b;
}

constexpr uint64_t MiB = 1ULL << 20;
constexpr uint64_t GiB = 1ULL << 30;

/* The mbuf pool of the test binary (created by the EAL environment). */
struct rte_mempool *pool();
/* Mbufs in the pool when it was created: a test that ends with fewer leaked. */
unsigned pool_size();

/* Frame bytes: a deterministic pattern that differs per seed and offset. */
std::vector<uint8_t> pattern(size_t len, uint32_t seed);

/* An mbuf (chain) holding @p bytes, in segments of at most @p seg bytes. */
struct rte_mbuf *make_mbuf(const std::vector<uint8_t> &bytes, uint32_t seg = 2048);
std::vector<uint8_t> mbuf_bytes(const struct rte_mbuf *m);

/* A descriptor as the test writes it. For split rings NEXT and next are set
 * by the ring unless it is posted raw; for packed rings id is the buffer id
 * of the chain (taken from the last descriptor). */
struct Desc {
	uint64_t addr = 0;
	uint32_t len = 0;
	uint16_t flags = 0;
	uint16_t next = 0;
	uint16_t id = 0;
};

/* Guest RAM: memfd-backed regions at fixed GPAs. */
class Guest {
public:
	struct Region {
		uint64_t gpa;
		uint64_t size;
	};

	/* Default: R0 = [0, 4 MiB) and R1 = [4 MiB, 8 MiB), two memfds that are
	 * GPA-contiguous; a hole [8 MiB, 16 MiB); R2 = [16 MiB, 18 MiB). */
	static std::vector<Region> default_layout();

	explicit Guest(std::vector<Region> layout = default_layout());
	~Guest();
	Guest(const Guest &) = delete;
	Guest &operator=(const Guest &) = delete;

	const struct guest_mem_table *table() const { return table_; }
	unsigned nregions() const { return (unsigned)regs_.size(); }
	uint64_t region_gpa(unsigned i) const { return layout_[i].gpa; }
	uint64_t region_end(unsigned i) const { return layout_[i].gpa + layout_[i].size; }
	uint64_t ram_bytes() const;

	/* Host address of [gpa, gpa+len), which must lie in one region. */
	uint8_t *host(uint64_t gpa, uint64_t len = 1) const;
	bool mapped(uint64_t gpa, uint64_t len) const;

	/* Bump allocation inside region @p r. */
	uint64_t alloc(uint64_t size, uint64_t align = 64, unsigned r = 0);

	/* Byte access across GPA-contiguous regions. */
	void write(uint64_t gpa, const void *src, size_t len) const;
	void write(uint64_t gpa, const std::vector<uint8_t> &v) const
	{
		write(gpa, v.data(), v.size());
	}
	std::vector<uint8_t> read(uint64_t gpa, size_t len) const;
	void fill(uint64_t gpa, uint8_t byte, size_t len) const;

	/* Writes @p bytes into new buffers of the given fragment sizes (the last
	 * one takes what is left) and returns them as readable descriptors. */
	std::vector<Desc> tx_layout(const std::vector<uint8_t> &bytes,
				    const std::vector<uint32_t> &frags, unsigned r = 0);
	/* New writable buffers of the given sizes, filled with @p fill. */
	std::vector<Desc> rx_buffers(const std::vector<uint32_t> &sizes, uint8_t fill = 0xAA,
				     unsigned r = 0);
	/* Writes an indirect table; split entries are chained with NEXT unless
	 * @p raw. @return the GPA of the table. */
	uint64_t indirect(const std::vector<Desc> &entries, bool packed, bool raw = false,
			  unsigned r = 0);

private:
	std::vector<Region> layout_;
	std::vector<int> fds_;
	std::vector<struct guest_mem_region> regs_;
	std::vector<uint64_t> bump_;
	struct guest_mem_table *table_ = nullptr;
};

/* Fragment sizes: @p total bytes in pieces of @p each. */
inline std::vector<uint32_t>
frags_of(size_t total, uint32_t each)
{
	return std::vector<uint32_t>((total + each - 1) / each, each);
}

/* The header a driver puts before a TX frame: all zero but what a test sets. */
std::vector<uint8_t> net_hdr(unsigned hdr_len, uint8_t flags = 0, uint8_t gso_type = 0);

/* One used element as the driver reads it. */
struct Used {
	uint16_t id;
	uint32_t len;
	uint16_t flags; /* packed: the descriptor flags */
	uint16_t slot;  /* split: used ring slot; packed: descriptor slot */
};

/* The driver side of a ring. */
class Ring {
public:
	Ring(Guest &g, uint16_t num, bool event_idx) : g_(g), num_(num), event_idx_(event_idx) {}
	virtual ~Ring() = default;
	virtual bool packed() const = 0;
	uint16_t num() const { return num_; }
	Guest &guest() { return g_; }

	/* Post a chain (flags: WRITE, INDIRECT; NEXT is added); returns its id.
	 * Packed: @p id < 0 picks a free id. */
	virtual uint16_t post(const std::vector<Desc> &chain, int id = -1) = 0;
	/* Descriptor slots a post() of @p ndesc descriptors needs are free. */
	virtual bool room(unsigned ndesc) const = 0;
	/* Next used element, if any. */
	virtual bool pop_used(Used *u) = 0;
	std::vector<Used> drain_used()
	{
		std::vector<Used> v;
		Used u;

		while (pop_used(&u))
			v.push_back(u);
		return v;
	}
	virtual void fill_conf(struct virtq_conf *c) const = 0;
	/* Interrupt suppression, driver side. Split: NO_INTERRUPT flag and
	 * used_event; packed: the driver event area. */
	virtual void set_no_interrupt(bool on) = 0;
	virtual void set_used_event(uint16_t idx, bool wrap = true) = 0;
	/* Read used buffers as an IN_ORDER driver does (virtio 1.2 §2.7.9,
	 * §2.8.8): one used entry may stand for a batch, every outstanding
	 * buffer up to the one it names, in the order they were made
	 * available; the next entry is read past the batch. pop_used()
	 * returns each buffer of a batch in order, the named one with the
	 * entry's len, the others with len 0, and the batch entry's slot (and,
	 * packed, its flags). The entry must name an outstanding buffer and
	 * the batch must fit in what the device published. Set before
	 * posting. */
	virtual void set_in_order(bool on) = 0;

protected:
	Guest &g_;
	uint16_t num_;
	bool event_idx_;
};

class SplitRing : public Ring {
public:
	SplitRing(Guest &g, uint16_t num, bool event_idx = false, unsigned r = 0);
	bool packed() const override { return false; }
	uint16_t post(const std::vector<Desc> &chain, int id = -1) override;
	bool room(unsigned ndesc) const override { return free_.size() >= ndesc; }
	bool pop_used(Used *u) override;
	void fill_conf(struct virtq_conf *c) const override;
	void set_no_interrupt(bool on) override;
	void set_used_event(uint16_t idx, bool wrap = true) override;

	/* Raw access for malicious rings. */
	struct RawDesc {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		uint16_t next;
	};
	RawDesc *desc(uint16_t i) { return &desc_[i]; }
	uint64_t desc_gpa(uint16_t i) const { return desc_gpa_ + 16ULL * i; }
	uint64_t used_gpa() const { return used_gpa_; }
	uint64_t avail_gpa() const { return avail_gpa_; }
	/* Put @p head in the avail ring and publish the new index. */
	void push_avail(uint16_t head);
	/* Write avail->idx directly. */
	void set_avail_idx(uint16_t idx);
	uint16_t avail_idx() const { return avail_idx_; }
	uint16_t used_idx() const;
	void set_indices(uint16_t avail, uint16_t used);
	/* Bytes of the desc table and avail ring (must never change on RX). */
	std::vector<uint8_t> driver_area() const;
	void set_in_order(bool on) override { in_order_ = on; }

private:
	RawDesc *desc_;
	volatile uint16_t *avail_;
	volatile uint16_t *used_;
	uint64_t desc_gpa_, avail_gpa_, used_gpa_;
	uint16_t avail_idx_ = 0, last_used_ = 0;
	std::vector<uint16_t> free_;
	std::map<uint16_t, std::vector<uint16_t>> chains_; /* head -> descriptors */
	bool in_order_ = false;
	std::deque<uint16_t> order_; /* in-order mode: heads made available, not yet used */
	int batch_last_ = -1;        /* in-order mode: head that ends the current batch */
	uint32_t batch_len_ = 0;
	uint16_t batch_slot_ = 0;
};

class PackedRing : public Ring {
public:
	PackedRing(Guest &g, uint16_t num, bool event_idx = false, unsigned r = 0);
	bool packed() const override { return true; }
	uint16_t post(const std::vector<Desc> &chain, int id = -1) override;
	bool room(unsigned ndesc) const override
	{
		return free_slots_ >= ndesc && !free_ids_.empty();
	}
	bool pop_used(Used *u) override;
	void fill_conf(struct virtq_conf *c) const override;
	void set_no_interrupt(bool on) override;
	void set_used_event(uint16_t idx, bool wrap = true) override;
	void set_in_order(bool on) override { in_order_ = on; }

	struct RawDesc {
		uint64_t addr;
		uint32_t len;
		uint16_t id;
		uint16_t flags;
	};
	RawDesc *desc(uint16_t i) { return &desc_[i]; }
	uint64_t desc_gpa() const { return desc_gpa_; }
	/* Write a chain without touching the id bookkeeping: descriptors as
	 * given (flags get AVAIL/USED for the current wrap, NEXT is NOT added),
	 * first flags last. @return the first slot. */
	uint16_t post_raw(const std::vector<Desc> &chain);
	void set_driver_event(uint16_t flags, uint16_t off_wrap);
	uint16_t device_event_flags() const;
	std::vector<uint8_t> driver_event_bytes() const;
	/* Move an empty ring (driver and device sides) to @p slot, @p wrap. */
	void set_position(uint16_t slot, bool wrap, struct virtq_pos *dev);
	uint16_t next_slot() const { return next_; }
	bool avail_wrap() const { return wrap_; }
	/* Used positions the driver has passed since the start (slots, not
	 * chains): lap = used_linear() / num, wrap = lap is even. */
	uint64_t used_linear() const { return used_lin_; }

private:
	RawDesc *desc_;
	volatile uint16_t *drv_ev_, *dev_ev_;
	uint64_t desc_gpa_;
	uint16_t next_ = 0, used_pos_ = 0;
	bool wrap_ = true, used_wrap_ = true;
	uint64_t used_lin_ = 0;
	unsigned free_slots_;
	std::vector<uint16_t> free_ids_;
	std::map<uint16_t, uint16_t> ndesc_; /* id -> slots */
	bool in_order_ = false;
	std::deque<uint16_t> order_; /* in-order mode: ids made available, not yet used */
	int batch_last_ = -1;        /* in-order mode: id that ends the current batch */
	Used batch_{};               /* in-order mode: the batch's used descriptor */
	bool take(uint16_t id);
};

std::unique_ptr<Ring> make_ring(Guest &g, bool packed, uint16_t num, bool event_idx = false);

/* The back-end: one virtq with a conf built as the control plane would. */
class Backend {
public:
	Backend(Guest &g, Ring &r, bool tx, uint64_t features, uint8_t hdr_len = 12);
	~Backend();
	Backend(const Backend &) = delete;
	Backend &operator=(const Backend &) = delete;

	struct virtq vq {};
	struct virtq_conf conf {};

	/* Publish (again, after changing conf). */
	void publish();
	/* Dequeue one burst; the frames are copied out and the mbufs freed. */
	std::vector<std::vector<uint8_t>> tx(uint16_t n = 32);
	/* Enqueue frames (mbufs built from them and freed after). */
	uint16_t rx(const std::vector<std::vector<uint8_t>> &frames, uint32_t seg = 2048);
	/* Notifications since the last call (eventfd counters). */
	uint64_t calls();
	uint64_t errs();
	uint64_t drop(enum virtq_drop r) const { return vq.stats.drops[r]; }
	uint64_t drops_total() const;

private:
	Ring &ring_;
	int call_fd_, err_fd_;
};

/* A fixture that checks no mbuf was leaked. */
class DpTest : public ::testing::Test {
protected:
	void TearDown() override;
};

/* Tests run on both ring layouts: the parameter is "packed". */
class RingTest : public DpTest, public ::testing::WithParamInterface<bool> {
protected:
	bool packed() const { return GetParam(); }
};

inline std::string
ring_kind(const ::testing::TestParamInfo<bool> &i)
{
	return i.param ? "packed" : "split";
}

/* Post a TX frame (header + payload) laid out in fragments. @return its id. */
inline uint16_t
post_tx(Ring &r, const std::vector<uint8_t> &payload, const std::vector<uint32_t> &frags = {},
	unsigned hdr_len = 12, unsigned region = 0)
{
	std::vector<uint8_t> bytes = net_hdr(hdr_len);

	bytes.insert(bytes.end(), payload.begin(), payload.end());
	return r.post(r.guest().tx_layout(bytes, frags, region));
}

/* Every used element of a TX ring has len 0, names the chains @p ids in
 * order and (packed) carries no WRITE flag: the buffers came back unwritten. */
void expect_returned(Ring &r, const std::vector<uint16_t> &ids);

/* num_buffers of an RX header. */
inline uint16_t
num_buffers(const std::vector<uint8_t> &hdr)
{
	return (uint16_t)(hdr[10] | (hdr[11] << 8));
}

} // namespace dp

#endif /* DP_HARNESS_H */
