/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RING-2, RING-4 and LOG-9 with the real datapath. Whether a ring is processed is
 * decided by two pieces together: the control plane publishes a conf only
 * for a started ring, and the datapath skips a ring without one. So these
 * tests run the control plane with the scripted front-end (tfe.h) and a
 * thread that polls both rings of the port every round like a forwarding
 * lcore (virtq_dequeue_burst() on the guest TX ring with whatever conf is
 * published, NULL included; what it takes is looped into the guest's RX
 * ring), reporting quiescent states to the control plane's rte_rcu_qsbr.
 * Nothing here ever writes a kick eventfd: vuswitch polls.
 */
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "eal_env.h"
#include "fixture.h"

using namespace tfe;

namespace {

/* Where the buffers live in the standard guest memory (rings are below 8 MiB). */
constexpr uint64_t RX_BUFS = 8ULL << 20;
constexpr uint64_t TX_BUFS = 16ULL << 20;
constexpr uint32_t BUF_LEN = 2048;
constexpr uint32_t HDR_LEN = 12; /* VERSION_1 */
constexpr uint32_t FRAME_LEN = 64;
constexpr uint16_t NFRAMES = 8;
/* SET_VRING_BASE of a fresh ring: packed rings start with both wrap counters set. */
constexpr uint32_t PACKED_BASE = 0x80008000u;

uint64_t
now_ms()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* An eventfd of the test's own, starting at 0, so "signalled" is simply
 * "readable" (the TFE's own fds carry a recognisable counter). */
struct EvFd {
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	~EvFd() { close(fd); }
	/* Counter value, reset to 0; 0 when never written. */
	uint64_t take()
	{
		uint64_t v = 0;

		return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
	}
};

uint8_t
frame_byte(unsigned frame, uint32_t off)
{
	return (uint8_t)(0x40 + frame * 13 + off * 7);
}

class RingDp : public CtrlTest, public ::testing::WithParamInterface<bool> {
protected:
	RingDp() { with_qsbr_ = true; }

	bool packed() const { return GetParam(); }
	uint64_t features() const
	{
		return F_BASIC | (packed() ? F_PACKED : 0) |
		       (in_order_ ? bit(VIRTIO_F_IN_ORDER) : 0);
	}
	bool in_order_ = false; /* set before prep() */

	/* Connected, negotiated, owner, features and memory table set, call
	 * (and for TX error) fds given: everything a ring needs but itself. */
	AssertionResult prep(Tfe &t)
	{
		AssertionResult r = connect(t);

		if (r)
			r = t.negotiate(P_ACK);
		if (r)
			r = t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, true);
		if (r)
			r = t.u64_ok(VHOST_USER_SET_FEATURES, features(), true);
		if (r)
			r = t.set_mem_table(t.mem(), true);
		for (unsigned i = 0; r && i < 2; i++)
			r = t.u64_ok(VHOST_USER_SET_VRING_CALL, i, true, { call_[i].fd });
		if (r)
			r = t.u64_ok(VHOST_USER_SET_VRING_ERR, 1, true, { err_tx_.fd });
		return r;
	}

	/* NUM, BASE (@base, or a fresh ring's), ADDR and (if @enable) ENABLE
	 * of ring @i: configured, not started. */
	AssertionResult configure(Tfe &t, unsigned i, bool enable = true, int64_t base = -1)
	{
		Vring &v = t.ring(i, STD_NUM, packed());
		struct vhost_msg_vring_addr a = v.addr();
		AssertionResult r = t.state_ok(VHOST_USER_SET_VRING_NUM, i, STD_NUM, true);

		if (base < 0)
			base = packed() ? PACKED_BASE : 0;
		if (r)
			r = t.state_ok(VHOST_USER_SET_VRING_BASE, i, (uint32_t)base, true);
		if (r)
			r = t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), true);
		/* Enabled while stopped (remembered, RING-1): the kick alone is
		 * what starts the ring, and a started ring is never disabled,
		 * which would make it discard TX (RING-10). */
		if (r && enable)
			r = t.state_ok(VHOST_USER_SET_VRING_ENABLE, i, 1, true);
		return r;
	}

	/* SET_VRING_KICK with an eventfd of the test's own that nobody ever
	 * writes (its counter stays 0: never readable); acked, so the datapath
	 * sees the started ring when this returns (ACK-6). */
	AssertionResult start(Tfe &t, unsigned i)
	{
		return t.u64_ok(VHOST_USER_SET_VRING_KICK, i, true, { kick_[i].fd });
	}

	/* Buffer k of a ring: descriptor (and packed slot and id) k. */
	void post(Vring &v, uint16_t k, uint64_t gpa, uint32_t len, uint16_t flags)
	{
		if (packed()) {
			v.packed_set_desc(k, gpa, len, k, flags, true);
		} else {
			v.split_set_desc(k, gpa, len, flags);
			v.split_avail_push(k);
		}
	}
	void post_rx(Tfe &t)
	{
		for (uint16_t k = 0; k < NFRAMES; k++) {
			memset(t.mem().host() + RX_BUFS + k * BUF_LEN, 0xAA, BUF_LEN);
			post(t.ring(0), k, RX_BUFS + k * BUF_LEN, BUF_LEN, DESC_F_WRITE);
		}
	}
	/* TX frames @first .. @first + NFRAMES - 1 (descriptor k, frame k). */
	void post_tx(Tfe &t, uint16_t first = 0)
	{
		for (uint16_t k = first; k < first + NFRAMES; k++) {
			uint8_t *b = t.mem().host() + TX_BUFS + k * BUF_LEN;

			memset(b, 0, HDR_LEN);
			for (uint32_t i = 0; i < FRAME_LEN; i++)
				b[HDR_LEN + i] = frame_byte(k, i);
			post(t.ring(1), k, TX_BUFS + k * BUF_LEN, HDR_LEN + FRAME_LEN, 0);
		}
	}

	/* Buffers the device has returned on ring @v so far. */
	uint16_t used(const Vring &v) const
	{
		uint16_t n = 0;

		if (!packed())
			return v.split_used_idx();
		while (n < 2 * NFRAMES && v.packed_is_used(n, true)) {
			uint32_t id, len;

			/* IN_ORDER: one used descriptor stands for every buffer
			 * up to the one it names (buffer k sits in slot k). */
			used_elem(v, n, &id, &len);
			n = in_order_ && id >= n ? (uint16_t)(id + 1) : (uint16_t)(n + 1);
		}
		return n;
	}
	/* Used element @i: buffer id and written length. */
	void used_elem(const Vring &v, uint16_t i, uint32_t *id, uint32_t *len) const
	{
		if (!packed()) {
			v.split_used_elem(i, id, len);
			return;
		}
		PackedDesc d;

		memcpy(&d, v.h_desc + (size_t)i * sizeof(d), sizeof(d));
		*id = d.id;
		*len = d.len;
	}

	/* TX frames @first .. went round into the RX buffers, byte for byte
	 * (the TX frames before @first were taken and went nowhere). */
	AssertionResult looped_back(Tfe &t, uint16_t first = 0)
	{
		const uint8_t *h = t.mem().host();

		if (used(t.ring(1)) != first + NFRAMES || used(t.ring(0)) != NFRAMES)
			return AssertionFailure()
			       << "tx used " << used(t.ring(1)) << " of " << first + NFRAMES
			       << ", rx used " << used(t.ring(0)) << " of " << NFRAMES;
		for (uint16_t i = 0; i < NFRAMES; i++) {
			uint32_t id, len;

			used_elem(t.ring(0), i, &id, &len);
			if (id >= NFRAMES || len != HDR_LEN + FRAME_LEN)
				return AssertionFailure()
				       << "rx used " << i << ": id " << id << " len " << len;
			/* Frames arrive in TX order; RX buffers are used in order. */
			const uint8_t *f = h + RX_BUFS + (uint64_t)id * BUF_LEN + HDR_LEN;

			for (uint32_t b = 0; b < FRAME_LEN; b++)
				if (f[b] != frame_byte(first + i, b))
					return AssertionFailure() << "frame " << i << " byte " << b;
		}
		return AssertionSuccess();
	}

	/* Slot @s of ring @v counted over all laps: descriptor (and buffer
	 * id) s % STD_NUM; a packed ring's wrap counter starts at 1. */
	void post_at(Vring &v, uint32_t s, uint64_t gpa, uint32_t len, uint16_t flags)
	{
		uint16_t k = (uint16_t)(s % STD_NUM);

		if (packed()) {
			v.packed_set_desc(k, gpa, len, k, flags, (s / STD_NUM) % 2 == 0);
		} else {
			v.split_set_desc(k, gpa, len, flags);
			v.split_avail_push(k);
		}
	}
	/* Buffers ring @v has returned, counted over all laps (< 65536); a
	 * packed ring is read from slot @from on, all before known returned. */
	uint32_t used_total(const Vring &v, uint32_t from) const
	{
		if (!packed())
			return v.split_used_idx();
		uint32_t n = from;

		while (n < from + STD_NUM &&
		       v.packed_is_used((uint16_t)(n % STD_NUM), (n / STD_NUM) % 2 == 0))
			n++;
		return n;
	}
	/* Byte @off of the frame sent from slot @s (all laps): the slot
	 * number first, so a frame of another lap never looks the same. */
	static uint8_t slot_frame_byte(uint32_t s, uint32_t off)
	{
		return off < 4 ? (uint8_t)(s >> (8 * off)) : frame_byte(s, off);
	}
	/* One round of the migration test: @n RX buffers and @n TX frames
	 * (frame numbers = slots) from slot @first on; every frame must land,
	 * byte for byte, in the RX buffer of the same slot, and each ring must
	 * have returned exactly first + n buffers. */
	AssertionResult forward_round(Tfe &t, uint32_t first, uint32_t n)
	{
		uint8_t *h = t.mem().host();

		for (uint32_t s = first; s < first + n; s++) {
			uint64_t k = s % STD_NUM;
			uint8_t *b = h + TX_BUFS + k * BUF_LEN;

			memset(h + RX_BUFS + k * BUF_LEN, 0xAA, BUF_LEN);
			post_at(t.ring(0), s, RX_BUFS + k * BUF_LEN, BUF_LEN, DESC_F_WRITE);
			memset(b, 0, HDR_LEN);
			for (uint32_t i = 0; i < FRAME_LEN; i++)
				b[HDR_LEN + i] = slot_frame_byte(s, i);
			post_at(t.ring(1), s, TX_BUFS + k * BUF_LEN, HDR_LEN + FRAME_LEN, 0);
		}
		uint64_t deadline = now_ms() + 3000;

		while (used_total(t.ring(0), first) < first + n) {
			if (now_ms() > deadline)
				return AssertionFailure() << "slots " << first << "..: rx used "
							  << used_total(t.ring(0), first);
			usleep(100);
		}
		AssertionResult r = wait_rounds(2); /* anything extra would show now */

		if (!r)
			return r;
		for (unsigned ring = 0; ring < 2; ring++)
			if (used_total(t.ring(ring), first) != first + n)
				return AssertionFailure() << "ring " << ring << " returned "
							  << used_total(t.ring(ring), first)
							  << " buffers, not " << first + n;
		for (uint32_t s = first; s < first + n; s++) {
			uint32_t id, len;

			used_elem(t.ring(0), (uint16_t)(s % STD_NUM), &id, &len);
			if (id != s % STD_NUM || len != HDR_LEN + FRAME_LEN)
				return AssertionFailure()
				       << "rx slot " << s << ": id " << id << " len " << len;
			const uint8_t *f = h + RX_BUFS + (uint64_t)id * BUF_LEN + HDR_LEN;

			for (uint32_t b = 0; b < FRAME_LEN; b++)
				if (f[b] != slot_frame_byte(s, b))
					return AssertionFailure()
					       << "rx slot " << s << " byte " << b;
		}
		return AssertionSuccess();
	}

	void start_lcore()
	{
		for (unsigned r = 0; r < 2; r++) {
			vq_[r] = vhost_ctrl_ring(ctrl_, (unsigned)port_, r);
			ASSERT_NE(vq_[r], nullptr);
		}
		lcore_.start(qsbr_, [this] {
			int64_t b = budget_.load();

			if (b == 0)
				return; /* idle, still reporting quiescent states */
			if (b > 0)
				budget_.fetch_sub(1);
			if (loop_queue_pair(vq_[1], vq_[0]) == nullptr)
				tx_unpublished_++;
			rounds_++;
		});
	}
	/* Wait until ring @v has returned @n buffers. */
	AssertionResult wait_used(const Vring &v, uint16_t n)
	{
		uint64_t deadline = now_ms() + 3000;

		while (used(v) < n) {
			if (now_ms() > deadline)
				return AssertionFailure() << "ring " << v.index << ": " << used(v)
							  << " of " << n << " used";
			usleep(100);
		}
		return AssertionSuccess();
	}
	/* Wait until the lcore has completed @n more rounds. */
	AssertionResult wait_rounds(uint64_t n)
	{
		uint64_t goal = rounds_.load() + n, deadline = now_ms() + 3000;

		while (rounds_.load() < goal) {
			if (now_ms() > deadline)
				return AssertionFailure() << "the lcore stopped polling";
			usleep(100);
		}
		return AssertionSuccess();
	}

	void before_destroy() override { lcore_.stop(); }

	EvFd call_[2], err_tx_, kick_[2];
	/* Rounds over both rings, and rounds that found no conf on guest TX. */
	std::atomic<uint64_t> rounds_{ 0 }, tx_unpublished_{ 0 };
	/* Rounds the lcore may still run (-1: no limit). */
	std::atomic<int64_t> budget_{ -1 };
	struct virtq *vq_[2] = {};

private:
	Lcore lcore_;
};

/* First byte where @a and @b differ, or -1. */
long
first_difference(const std::vector<uint8_t> &a, const uint8_t *b)
{
	if (memcmp(a.data(), b, a.size()) == 0)
		return -1;
	for (size_t i = 0; i < a.size(); i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

} // namespace

/*
 * A TX ring with NUM, BASE, ADDR, CALL, ERR and even ENABLE but no
 * SET_VRING_KICK, with frames posted, while the lcore polls it every round:
 * for 500 ms not one byte of guest memory changes (no used->idx, no used
 * element, no flags or event written), no call or error is signalled and
 * nothing reaches the RX ring. SET_VRING_KICK then starts it and the same
 * frames go through: they were waiting on a stopped ring, not lost.
 */
TEST_P(RingDp, RING_2_ConfiguredNeverKickedRingUntouched)
{
	Tfe t("never-kicked");

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(configure(t, 0));
	ASSERT_TRUE(start(t, 0));
	ASSERT_TRUE(configure(t, 1));
	post_rx(t);
	post_tx(t);
	ASSERT_TRUE(info().rings[0].published) << "the RX ring runs: frames would land there";
	/* Taken before the lcore starts: its very first poll is watched too. */
	const std::vector<uint8_t> before(t.mem().host(), t.mem().host() + t.mem().size());

	start_lcore();
	const uint64_t r0 = rounds_.load(), u0 = tx_unpublished_.load();

	usleep(500 * 1000);
	const uint64_t rounds = rounds_.load() - r0;

	/* The lcore was polling the ring throughout; it is the missing conf
	 * that kept it away. */
	EXPECT_GT(rounds, 100u);
	EXPECT_EQ(tx_unpublished_.load() - u0, rounds);
	EXPECT_EQ(first_difference(before, t.mem().host()), -1)
		<< "guest memory changed while the TX ring was never started";
	EXPECT_EQ(used(t.ring(1)), 0u);
	EXPECT_EQ(call_[1].take(), 0u) << "call on the stopped ring";
	EXPECT_EQ(call_[0].take(), 0u) << "call on RX: something was forwarded";
	EXPECT_EQ(err_tx_.take(), 0u);
	EXPECT_EQ(vq_[1]->stats.packets, 0u);
	struct vhost_port_info i = info();

	EXPECT_FALSE(i.rings[1].started);
	EXPECT_FALSE(i.rings[1].published);
	EXPECT_EQ(i.rings[1].last_avail, 0);

	/* Started: the waiting frames are taken, the guest is called. */
	ASSERT_TRUE(start(t, 1));
	ASSERT_TRUE(wait_rounds(2));
	EXPECT_TRUE(looped_back(t));
	EXPECT_GT(call_[1].take(), 0u);
	EXPECT_EQ(err_tx_.take(), 0u);
}

/*
 * Buffers posted on both rings before either was started (and kicks never
 * written) are processed as soon as SET_VRING_KICK is acked: the first
 * round of the lcore that sees the conf forwards every TX frame into the
 * RX buffers; nothing waits for an eventfd write. The spec allows 100 ms;
 * a poll-mode back-end needs one round, which is the stricter check.
 */
TEST_P(RingDp, RING_4_BuffersPostedBeforeStartTakenWithoutKick)
{
	Tfe t("posted-early");

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(configure(t, 0));
	ASSERT_TRUE(configure(t, 1));
	post_rx(t);
	post_tx(t);
	start_lcore();
	/* The lcore is already polling (nothing published yet) when the rings
	 * start, as with a guest whose kicks were written before a reconnect. */
	ASSERT_TRUE(wait_rounds(10));
	ASSERT_TRUE(start(t, 0));
	ASSERT_TRUE(start(t, 1));
	const uint64_t acked = now_ms();

	/* The round in progress at the ack already loads the new conf (the
	 * ack follows a grace period), so one completed round is enough. */
	ASSERT_TRUE(wait_rounds(1));
	EXPECT_TRUE(looped_back(t))
		<< "after the first round, " << now_ms() - acked << " ms after the kick was acked";
	EXPECT_GT(call_[0].take(), 0u) << "the guest is told about its RX buffers";
	EXPECT_GT(call_[1].take(), 0u);
	EXPECT_EQ(err_tx_.take(), 0u);
	EXPECT_EQ(vq_[1]->stats.packets, NFRAMES);
}

/*
 * "And on enable": an RX ring started while disabled keeps the buffers
 * posted on it (frames for it are dropped meanwhile, RING-10); once
 * SET_VRING_ENABLE(1) is acked, frames fill exactly those buffers, with
 * no kick written and no buffer posted after the enable.
 */
TEST_P(RingDp, RING_4_RxBuffersPostedWhileDisabledUsedOnEnable)
{
	Tfe t("enabled-late");

	ASSERT_TRUE(prep(t));
	ASSERT_TRUE(configure(t, 0, false));
	ASSERT_TRUE(start(t, 0));
	ASSERT_TRUE(configure(t, 1));
	ASSERT_TRUE(start(t, 1));
	ASSERT_FALSE(info().rings[0].enabled);
	post_rx(t);
	post_tx(t);
	start_lcore();
	/* Taken from TX, dropped at the disabled RX ring. */
	ASSERT_TRUE(wait_used(t.ring(1), NFRAMES));
	ASSERT_TRUE(wait_rounds(1));
	EXPECT_EQ(used(t.ring(0)), 0u);
	EXPECT_EQ(vq_[0]->stats.drops[VIRTQ_DROP_DISABLED], NFRAMES);
	EXPECT_EQ(t.mem().host()[RX_BUFS], 0xAA) << "a disabled ring wrote an RX buffer";

	ASSERT_TRUE(t.state_ok(VHOST_USER_SET_VRING_ENABLE, 0, 1, true));
	post_tx(t, NFRAMES);
	ASSERT_TRUE(wait_used(t.ring(0), NFRAMES));
	EXPECT_TRUE(looped_back(t, NFRAMES));
	EXPECT_GT(call_[0].take(), 0u);
	EXPECT_EQ(vq_[0]->stats.drops[VIRTQ_DROP_DISABLED], NFRAMES) << "nothing dropped after";
}

/*
 * LOG-9: a migration's destination resumes both rings exactly where the
 * source stopped. The source forwards 264 frames (a packed ring wraps
 * once), is stopped by GET_VRING_BASE on both rings and its guest memory
 * is copied; then the front-end goes away. A destination session (a new
 * connection: the port starts from nothing, as a new back-end would) gets
 * the copy as its memory and SET_VRING_BASE with the source's values, and
 * forwarding goes on: each following frame taken once and delivered once,
 * into the RX buffer of its slot, byte for byte; the used counts exact (a
 * split ring's used->idx re-read from the copy, a packed ring's indices
 * and wrap counters from the message), and the destination goes on past
 * another lap (the wrap counters turn again). Checked by hand against both
 * mutations: a back-end that starts a split ring at 0 sees 288 buffers
 * made available, more than the ring holds, and stops it; one that takes
 * a fresh packed base waits on slots that are already used. A limit: this
 * source stops with every buffer it took returned (avail and used halves of
 * a packed base equal), so a destination that read only one half would
 * pass; a split destination given a base other than used->idx logs it and
 * follows used->idx (vhost_ring.c), which the log check below catches.
 */
TEST_P(RingDp, LOG_9_DestinationResumesAtSourceBases)
{
	constexpr uint32_t BATCH = 24, SOURCE = 11 * BATCH, DEST = 11 * BATCH;
	uint32_t base[2];
	std::vector<uint8_t> snapshot;

	{
		Tfe src("source");

		ASSERT_TRUE(prep(src));
		for (unsigned i = 0; i < 2; i++) {
			ASSERT_TRUE(configure(src, i));
			ASSERT_TRUE(start(src, i));
		}
		start_lcore();
		for (uint32_t s = 0; s < SOURCE; s += BATCH)
			ASSERT_TRUE(forward_round(src, s, BATCH));
		for (unsigned i = 0; i < 2; i++)
			ASSERT_TRUE(src.get_vring_base(i, &base[i]));
		snapshot.assign(src.mem().host(), src.mem().host() + src.mem().size());
	}
	/* What the source answered: split, the next avail index; packed,
	 * slot 8 of the second lap (wrap counters 0) in both halves. */
	const uint32_t want = packed() ? (SOURCE % STD_NUM) * 0x10001u : SOURCE;

	EXPECT_EQ(base[0], want);
	EXPECT_EQ(base[1], want);
	ASSERT_TRUE(wait_conn(VHOST_PORT_LISTENING));

	Tfe dst("destination");

	memcpy(dst.mem().host(), snapshot.data(), snapshot.size());
	ASSERT_TRUE(prep(dst));
	for (unsigned i = 0; i < 2; i++) {
		ASSERT_TRUE(configure(dst, i, true, base[i]));
		ASSERT_TRUE(start(dst, i));
		EXPECT_EQ(info().rings[i].base, base[i]) << "ring " << i << " before traffic";
	}
	EXPECT_EQ(log_text().find("differs from base"), std::string::npos) << log_text();
	for (uint32_t s = SOURCE; s < SOURCE + DEST; s += BATCH)
		ASSERT_TRUE(forward_round(dst, s, BATCH));
	/* A port's counters go on across sessions, like an interface's. */
	EXPECT_EQ(vq_[1]->stats.packets, SOURCE + DEST);
	EXPECT_EQ(err_tx_.take(), 0u);
}

/*
 * RING-5 with DP-6's TX hold: GET_VRING_BASE returns every buffer the
 * device took, also those a polling guest's split TX ring had held back,
 * while the lcore that took them is alive and polling. The lcore runs one
 * round (8 frames taken and delivered) and then keeps only reporting
 * quiescent states, so nothing on the datapath releases what it held:
 * neither ring has returned any of the 8 (the hold is on: interrupts off,
 * no EVENT_IDX, 256 slots; the packed ring with IN_ORDER). After
 * GET_VRING_BASE both have returned all 8, in order (packed: one used
 * descriptor naming the last, DP-9), and the base is the next avail
 * position. Checked by hand: without the control thread's release at
 * withdraw (vhost_ring.c) both rings stay at 0.
 */
TEST_P(RingDp, RING_5_DP_6_HeldTxBuffersReturnedAtGetVringBase)
{
	Tfe t;
	uint32_t base = 0;

	budget_ = 0;
	in_order_ = packed();
	ASSERT_TRUE(prep(t));
	for (unsigned i = 0; i < 2; i++) {
		ASSERT_TRUE(configure(t, i));
		ASSERT_TRUE(start(t, i));
	}
	start_lcore();
	post_rx(t);
	post_tx(t);
	/* A polling guest: no interrupts wanted on TX (split: NO_INTERRUPT;
	 * packed: the driver event area's flags, after off_wrap, DISABLE). */
	__atomic_store_n((uint16_t *)(t.ring(1).h_avail + (packed() ? 2 : 0)), 1, __ATOMIC_RELEASE);
	budget_ = 1;
	ASSERT_TRUE(wait_rounds(1));
	ASSERT_TRUE(wait_used(t.ring(0), NFRAMES));
	EXPECT_EQ(used(t.ring(1)), 0) << "a polling guest's newest TX buffers are held";
	ASSERT_TRUE(t.get_vring_base(1, &base));
	EXPECT_EQ(base, packed() ? (NFRAMES | 0x8000u) * 0x10001u : NFRAMES);
	if (packed()) {
		uint32_t id, len;

		ASSERT_EQ(used(t.ring(1)), NFRAMES)
			<< "every buffer taken is back before the reply";
		used_elem(t.ring(1), 0, &id, &len);
		EXPECT_EQ(id, NFRAMES - 1u) << "one used descriptor names the last of the 8";
		EXPECT_EQ(len, 0u);
		EXPECT_FALSE(t.ring(1).packed_is_used(1, true)) << "and stands for all of them";
		EXPECT_TRUE(looped_back(t));
		return;
	}
	ASSERT_EQ(used(t.ring(1)), NFRAMES) << "every buffer taken is back before the reply";
	for (uint16_t i = 0; i < NFRAMES; i++) {
		uint32_t id, len;

		used_elem(t.ring(1), i, &id, &len);
		EXPECT_EQ(id, i) << "used " << i;
		EXPECT_EQ(len, 0u) << "used " << i;
	}
	EXPECT_TRUE(looped_back(t));
}

INSTANTIATE_TEST_SUITE_P(Rings, RingDp, ::testing::Bool(),
			 [](const ::testing::TestParamInfo<bool> &i) {
				 return std::string(i.param ? "packed" : "split");
			 });
