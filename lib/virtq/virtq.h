/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VIRTQ_H
#define VIRTQ_H

/**
 * @file
 * The datapath side of one virtqueue, and the handover through which the
 * control plane gives a ring to the poll-mode lcore that owns it.
 *
 * Handover (see doc/design.md):
 *  - The control thread builds a struct virtq_conf aside (translated ring
 *    pointers, negotiated features, memory table) and publishes it with
 *    virtq_publish(): one release store of a pointer.
 *  - The owning lcore loads the pointer once per poll (virtq_conf_get(),
 *    acquire) and uses that snapshot until its next quiescent state, which it
 *    reports to the shared rte_rcu_qsbr between polls.
 *  - After publishing, the control thread waits for a grace period
 *    (virtq_sync()) before freeing the old conf or unmapping what it pointed
 *    to. While the published pointer is NULL and a grace period has passed,
 *    the control thread alone owns struct virtq_pos (e.g. for GET_VRING_BASE);
 *    while it is non-NULL the lcore alone writes it.
 *
 * This header never includes control-plane headers; the control plane
 * includes it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

/*
 * The published pointer is a C11 atomic. C++ code (the googletest suites,
 * a C++ datapath) sees the same object as std::atomic, which has the same
 * size, alignment and lock-free representation for a pointer.
 */
#ifdef __cplusplus
#include <atomic>
#define VIRTQ_ATOMIC(type) std::atomic<type>
#define VIRTQ_LOAD_ACQUIRE(obj) std::atomic_load_explicit((obj), std::memory_order_acquire)
#else
#include <stdatomic.h>
#define VIRTQ_ATOMIC(type) _Atomic(type)
#define VIRTQ_LOAD_ACQUIRE(obj) atomic_load_explicit((obj), memory_order_acquire)
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct rte_rcu_qsbr;

/** Virtio feature bits the datapath acts on (virtio 1.2 §6, §5.1.3). */
enum virtq_feature {
	VIRTQ_F_CSUM = 0,
	VIRTQ_F_GUEST_CSUM = 1,
	VIRTQ_F_GUEST_TSO4 = 7,
	VIRTQ_F_GUEST_TSO6 = 8,
	VIRTQ_F_HOST_TSO4 = 11,
	VIRTQ_F_HOST_TSO6 = 12,
	VIRTQ_F_MRG_RXBUF = 15,
	VIRTQ_F_LOG_ALL = 26,
	VIRTQ_F_INDIRECT_DESC = 28,
	VIRTQ_F_EVENT_IDX = 29,
	VIRTQ_F_VERSION_1 = 32,
	VIRTQ_F_RING_PACKED = 34,
	VIRTQ_F_IN_ORDER = 35,
};

/** Split ring layout pointers (host virtual addresses). */
struct virtq_split {
	void *desc;  /**< struct vring_desc[num] */
	void *avail; /**< flags, idx, ring[num], used_event */
	void *used;  /**< flags, idx, ring[num], avail_event */
};

/** Packed ring layout pointers (host virtual addresses). */
struct virtq_packed {
	void *desc;         /**< struct vring_packed_desc[num] */
	void *driver_event; /**< driver event suppression area */
	void *device_event; /**< device event suppression area */
};

/**
 * Immutable configuration of a running ring, built by the control plane.
 * Never modified after virtq_publish(); replaced as a whole.
 */
struct virtq_conf {
	uint16_t num;      /**< ring size */
	bool packed;       /**< RING_PACKED negotiated */
	bool enabled;      /**< SET_VRING_ENABLE state: false = discard */
	bool tx;           /**< guest TX ring (odd index) */
	uint8_t hdr_len;   /**< virtio-net header length: 10 or 12 */
	uint64_t features; /**< negotiated virtio features */
	union {
		struct virtq_split split;
		struct virtq_packed packed_ring;
	} ring;
	int call_fd;                       /**< eventfd to notify the guest, -1 if none */
	const struct guest_mem_table *mem; /**< guest memory to translate buffers */
	/** Dirty log (LOG_ALL): host address and size in bytes, NULL if none. */
	uint8_t *log_base;
	uint64_t log_size;
	/** Guest physical address of the used ring for logging, when logged. */
	uint64_t log_used_gpa;
	bool log_used;
	/** Largest frame accepted from the guest, net header excluded. */
	uint32_t max_frame;
	/** Largest GSO frame (HOST_TSO4/6 negotiated), 0 if none. */
	uint32_t max_gso_frame;
	int err_fd; /**< eventfd signalled when the ring breaks, -1 if none */
	/**
	 * TX rings of a polling guest (struct virtq_hold): split, used entries
	 * kept back behind the ones taken; packed, buffers returned once this
	 * many are taken (0: no holding). And for how long at most once the
	 * guest stops sending, in TSC cycles.
	 */
	uint16_t tx_hold;
	uint64_t tx_hold_cycles;
};

/** virtq_conf.tx_hold the control plane sets where holding applies. */
#define VIRTQ_TX_HOLD 64u
/** The same for packed IN_ORDER rings (at most a quarter of the ring). */
#define VIRTQ_TX_HOLD_PACKED 128u
/** Longest a held entry waits once the guest stopped sending (us). */
#define VIRTQ_TX_HOLD_US 100u
/** Batches (dequeue calls) a held range may span. */
#define VIRTQ_HOLD_BATCHES 8u

/**
 * TX buffers taken but not yet given back to the guest.
 *
 * Why: DPDK's virtio PMD frees sent mbufs when more than (ring size - TX
 * free threshold) of them are used, about a thousand at once with its
 * defaults. Such a bulk free overflows its mempool cache, and its RX refill
 * then takes cold mbufs from the pool's ring: measured, the guest loses a
 * third of its speed against a back-end that returns buffers at once. When
 * at least its threshold (32 by default) stays unreturned, it frees a burst
 * at a time instead, from a hot cache. So for a guest that polls (it asked
 * for no interrupts and has no EVENT_IDX) the last VIRTQ_TX_HOLD buffers
 * taken stay unpublished while it keeps sending; their frames are already
 * forwarded, only the buffers' return waits. Entries are released whole
 * batches at a time (an IN_ORDER batch has one entry standing for all its
 * buffers), all of them once no buffer came in for tx_hold_cycles or the
 * guest asks for interrupts (looked at with every burst and every 32nd
 * empty poll, which alone reads the clock), and by virtq_release_held()
 * when the ring leaves the datapath.
 *
 * Packed IN_ORDER rings hold another way. The same PMD frees only what
 * its next burst needs there, reading used descriptors one at a time, and
 * one IN_ORDER descriptor stands for a whole batch. Returned per poll, the
 * batches are what this back-end took per poll: a few buffers at a time,
 * as it polls faster than the driver sends and catches its bursts half
 * written. The driver then reads many used descriptors, each a line this
 * core wrote, to free one burst, and used writes land in descriptor lines
 * it is still writing. So the buffers taken go back as one used
 * descriptor once tx_hold ring slots' worth are out (positions below);
 * idle, interrupts and withdrawal release them as above. Measured by the
 * rate, not the mechanism: doc/performance.md has the A/B runs.
 */
struct virtq_hold {
	uint64_t idle_tsc;                  /**< when seen idle first, 0 while busy */
	uint16_t count;                     /**< buffers (packed: slots) not yet returned */
	uint16_t empty_polls;               /**< polls that found nothing since */
	uint8_t nb;                         /**< split: batches held */
	uint8_t first;                      /**< split: oldest batch in batch[] */
	uint16_t batch[VIRTQ_HOLD_BATCHES]; /**< split: buffers per held batch */
	uint16_t used_slot;                 /**< packed: where the used descriptor goes */
	uint16_t used_flags;                /**< packed: its flags (the wrap it is in) */
	uint16_t last_id;                   /**< packed: the last buffer id it names */
};

/** Ring position: owned by the lcore while published, else by control. */
struct virtq_pos {
	uint16_t last_avail_idx;
	uint16_t last_used_idx;
	bool avail_wrap; /**< packed: avail wrap counter */
	bool used_wrap;  /**< packed: used wrap counter */
};

/**
 * Reasons a packet or a guest buffer is dropped; each has a counter.
 * X(ENUM, "name").
 */
#define VIRTQ_DROP_REASONS(X) \
	X(NO_GUEST_BUF, "no_guest_buffer")  /* RX: no (or too small) guest buffer */ \
	X(BAD_ADDR, "bad_address")          /* a buffer outside guest memory */ \
	X(CHAIN_TOO_LONG, "chain_too_long") /* more segments than we walk */ \
	X(BAD_DESC, "bad_descriptor")       /* direction, indirect or next invalid */ \
	X(SHORT_HDR, "short_header")        /* TX chain shorter than the net header */ \
	X(BAD_HDR, "bad_net_header")        /* TX header asks for what was not negotiated */ \
	X(TOO_SHORT, "frame_too_short")     /* TX frame below 14 bytes */ \
	X(TOO_BIG, "frame_too_big")         /* above the largest frame */ \
	X(NO_MBUF, "no_mbuf")               /* TX: mempool empty */ \
	X(OFFLOAD, \
	  "offload_unsupported")      /* RX: an offload neither the guest nor software can do */ \
	X(DISABLED, "ring_disabled")  /* consumed while disabled (RING-10) */ \
	X(RING_BROKEN, "ring_broken") /* ring-level corruption: ring stopped */

enum virtq_drop {
#define VIRTQ_DROP_ENUM(e, name) VIRTQ_DROP_##e,
	VIRTQ_DROP_REASONS(VIRTQ_DROP_ENUM)
#undef VIRTQ_DROP_ENUM
	VIRTQ_DROP_MAX
};

/** Name of a drop reason, for counters. */
const char *virtq_drop_name(enum virtq_drop reason);

/** Per-ring datapath counters (written by the owning lcore only). */
struct virtq_stats {
	uint64_t packets; /**< delivered to the guest (RX) or taken from it (TX) */
	uint64_t bytes;   /**< frame bytes, net header excluded */
	uint64_t calls;   /**< guest notifications sent */
	uint64_t drops[VIRTQ_DROP_MAX];
};

/** One virtqueue as the datapath sees it. */
struct virtq {
	VIRTQ_ATOMIC(const struct virtq_conf *) conf; /**< NULL: not processed */
	struct virtq_pos pos;
	bool broken; /**< corruption seen: not processed until restarted */
	/**
	 * RARP to announce (SEND_RARP, after migration): MAC in bits 0-47,
	 * bit 63 set while pending. Set by the control thread on the TX ring
	 * of queue 0; the lcore sends the frame into the switch as if the
	 * guest had sent it, then clears it.
	 */
	VIRTQ_ATOMIC(uint64_t) rarp;
	struct virtq_hold hold; /**< owned like pos */
	struct virtq_stats stats;
};

/** Load the published conf for one poll (acquire). NULL: skip the ring. */
static inline const struct virtq_conf *
virtq_conf_get(struct virtq *vq)
{
	return VIRTQ_LOAD_ACQUIRE(&vq->conf);
}

/**
 * Publish a new conf (may be NULL to withdraw the ring). The old pointer is
 * returned; it may still be in use until virtq_sync() returns.
 */
const struct virtq_conf *virtq_publish(struct virtq *vq, const struct virtq_conf *conf);

/**
 * Wait until every lcore registered with @p qsbr has passed a quiescent
 * state, so nothing published before this call is still in use.
 * Returns at once when @p qsbr is NULL (no datapath threads).
 */
void virtq_sync(struct rte_rcu_qsbr *qsbr);

/**
 * Encode the position as GET_VRING_BASE answers it: split rings give the
 * next avail index; packed rings give avail index | wrap << 15 and used index
 * | wrap << 31 in the high half.
 */
uint32_t virtq_pos_encode(const struct virtq_pos *pos, bool packed);

/**
 * Set the position from SET_VRING_BASE. For packed rings with a zero high
 * half (DPDK virtio-user), the used position is derived from the avail one.
 * Split rings take only the avail index: the used index is read from guest
 * memory when the ring starts.
 */
void virtq_pos_decode(struct virtq_pos *pos, uint32_t num, bool packed);

/** Bytes the split-ring parts need: desc, avail, used (with event fields). */
uint64_t virtq_split_desc_size(uint32_t num);
uint64_t virtq_split_avail_size(uint32_t num, bool event_idx);
uint64_t virtq_split_used_size(uint32_t num, bool event_idx);

/** Ask the lcore owning @p vq (a TX ring) to announce @p mac with a RARP. */
void virtq_request_rarp(struct virtq *vq, const uint8_t mac[6]);

/** Read used->idx of a split ring (used when the ring starts). */
uint16_t virtq_split_used_idx(const struct virtq_conf *conf);

/**
 * Give back the TX buffers a ring holds (struct virtq_hold).
 * Control thread, once the ring was withdrawn from the datapath (after
 * virtq_sync()) and while @p conf, the conf it ran with, and its memory
 * are still valid. Nothing is written to a broken ring.
 */
void virtq_release_held(struct virtq *vq, const struct virtq_conf *conf);

struct rte_mbuf;
struct rte_mempool;

/**
 * Take up to @p n packets the guest transmitted on a TX ring (odd index) into
 * mbufs from @p mp. Buffers are returned to the guest in the used ring
 * (length 0); bad ones are dropped and counted. Call only from the lcore
 * owning @p vq, with the conf it loaded for this poll.
 * @return number of mbufs written to @p pkts.
 */
uint16_t virtq_dequeue_burst(struct virtq *vq, const struct virtq_conf *c, struct rte_mempool *mp,
			     struct rte_mbuf **pkts, uint16_t n);

/**
 * Copy up to @p n packets into the guest's RX ring (even index). The mbufs
 * stay the caller's (copied, never freed here).
 * @return number of packets delivered; the rest found no guest buffer.
 */
uint16_t virtq_enqueue_burst(struct virtq *vq, const struct virtq_conf *c,
			     struct rte_mbuf *const *pkts, uint16_t n);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_H */
