/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FWD_H
#define FWD_H

/**
 * @file
 * The forwarding runtime: worker lcores polling the RX queues of switch
 * ports and handing each burst to a forwarding engine (io, mac, macswap,
 * switch), testpmd-style: one file per engine, each a struct fwd_engine.
 *
 * Threads and handover:
 *  - Each worker lcore runs fwd_lcore_main() for the life of the process.
 *    Once per loop it loads its plan (which (port, queue) pairs it polls)
 *    and the port table, both immutable and RCU-published, and it reports
 *    a quiescent state to the shared rte_rcu_qsbr after every loop. During
 *    an idle sleep (fwd_params.idle_sleep_us) it is offline, holding no
 *    pointer, and grace periods do not wait for it.
 *  - The control thread changes plans and ports by publishing new ones and
 *    waiting for a grace period; a queue moving between lcores is first
 *    taken from its old owner (grace period), then given to the new one,
 *    so no two lcores ever poll, or write the guest side of, the same queue.
 *  - Each RX queue is polled by exactly one lcore: its pin, else the least
 *    loaded lcore when it appears (fwd_assign.h); fwd_rebalance() places
 *    them afresh by measured load. Each lcore has a TX queue id of its own
 *    (its index) which drivers map to a private queue (ethdev) or to the
 *    guest queue it owns, else to a lock-free handoff ring drained by the
 *    owner (vhost-user).
 *  - Load: each lcore adds the TSC cycles of every poll that returned
 *    packets to the polled queue's counter (one rte_rdtsc() per such poll,
 *    no lock, no syscall); the control thread reads the counters.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_lcore.h>

#include "fwd_assign.h"
#include "vus_port.h"

/*
 * Fields lcores share are C11 atomics; C++ (the googletest suites) sees the
 * same objects as std::atomic, of the same size and lock-free representation
 * (as in virtq.h).
 */
#ifdef __cplusplus
#include <atomic>
#define FWD_ATOMIC(type) std::atomic<type>
#else
#include <stdatomic.h>
#define FWD_ATOMIC(type) _Atomic(type)
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define FWD_BURST 32
#define FWD_MAX_PORTS 256
#define FWD_MAX_POLLS 1024
/** How often the control thread closes a load measurement interval (fwd_load_sample()). */
#define FWD_LOAD_INTERVAL_MS 1000
/** Intervals a queue's load is measured over: the last 5 s. */
#define FWD_LOAD_HISTORY 5

struct fwd_runtime;
struct fwd_lcore;
struct fwd_rxq_load;

/** Which RX queues an lcore polls (immutable once published). */
struct fwd_plan {
	uint16_t n;
	struct {
		struct vus_port *port;
		uint16_t queue;
		struct fwd_rxq_load *load; /**< where the lcore counts the queue's cycles */
	} polls[FWD_MAX_POLLS];
};

/** The ports (immutable once published); by_id[] has NULL holes. */
struct fwd_ports {
	uint16_t n; /**< ids in use: list[0..n) */
	uint16_t list[FWD_MAX_PORTS];
	struct vus_port *by_id[FWD_MAX_PORTS];
};

/** Counters of one lcore (written by it alone). */
struct fwd_lcore_stats {
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t tx_dropped;  /**< refused by the output port */
	uint64_t fwd_dropped; /**< dropped by the engine (no destination, filtered) */
	uint64_t flooded;     /**< packets sent to more than one port */
	uint64_t busy_loops;  /**< loops that moved at least one packet */
	uint64_t loops;
	uint64_t idle_sleeps; /**< sleeps after FWD_IDLE_STREAK empty loops (idle_sleep_us) */
};

/** A worker lcore of the runtime. */
struct fwd_lcore {
	struct fwd_runtime *rt;
	unsigned int lcore_id;
	uint16_t txq; /**< this lcore's TX queue id on every port */
	FWD_ATOMIC(const struct fwd_plan *) plan;
	/**
	 * Bursts of generated frames still to send to every (port, queue) of the
	 * plan before forwarding (start tx_first). Set by fwd_start_tx_first(),
	 * counted down by the lcore.
	 */
	FWD_ATOMIC(unsigned int) tx_first;
	struct fwd_lcore_stats stats;
	void *engine_data; /**< per-lcore state of the engine */
} __rte_cache_aligned;

/** A forwarding engine. */
struct fwd_engine {
	const char *name;
	/** Handle a burst received on (in, queue); send, drop or keep each mbuf. */
	void (*burst)(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *in,
		      struct rte_mbuf **pkts, uint16_t n);
	/**
	 * Optional: called once per loop for every (port, queue) the lcore
	 * polls, before its RX, whether or not anything arrives (txonly sends
	 * here).
	 */
	void (*poll)(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *port,
		     uint16_t queue);
};

extern const struct fwd_engine fwd_io_engine;
extern const struct fwd_engine fwd_mac_engine;
extern const struct fwd_engine fwd_macswap_engine;
extern const struct fwd_engine fwd_rxonly_engine;
extern const struct fwd_engine fwd_txonly_engine;

/** Length of the frames txonly and tx_first generate (testpmd's default). */
#define FWD_TXONLY_LEN 64

/**
 * Build up to @p n txonly frames for port @p out: IPv4/UDP, FWD_TXONLY_LEN
 * bytes, from the port's address to the mac engine's peer address
 * 02:00:00:00:00:<peer id>. Lcores only (mbufs from the runtime's pool).
 * @return number of mbufs written to @p pkts (fewer if the pool ran dry).
 */
uint16_t fwd_txonly_build(struct fwd_lcore *lc, const struct fwd_ports *ports, struct vus_port *out,
			  struct rte_mbuf **pkts, uint16_t n);

/** Find an engine by name; NULL if none. */
const struct fwd_engine *fwd_engine_find(const char *name);

/** Names of the engines, space separated. */
const char *fwd_engine_names(void);

/**
 * Send @p n packets to @p out on this lcore's TX queue; what the port does
 * not take is freed and counted. Engines use this for every output.
 */
void fwd_send(struct fwd_lcore *lc, struct vus_port *out, struct rte_mbuf **pkts, uint16_t n);

/** The io/mac peer of port @p id: id ^ 1 if it exists, else id itself. */
struct vus_port *fwd_peer(const struct fwd_ports *ports, uint16_t id);

/** Runtime parameters. */
struct fwd_params {
	struct rte_rcu_qsbr *qsbr; /**< lcores report quiescent states here */
	struct rte_mempool *mp;    /**< mbufs for ports that need a pool on RX */
	const struct fwd_engine *engine;
	void *engine_ctx; /**< shared engine state (e.g. the switch) */
	/**
	 * Sleep this long (microseconds, at most FWD_IDLE_SLEEP_MAX_US) after
	 * FWD_IDLE_STREAK loops in a row that moved nothing; 0: always poll.
	 * For lcores that share their CPU with other busy threads: a poller
	 * spinning on empty rings keeps the CPU for its whole time slice while
	 * the thread that would fill them waits. Costs the first packet after
	 * an idle spell up to the sleep (plus the kernel's timer slack).
	 */
	uint32_t idle_sleep_us;
};

/** Empty loops in a row before an lcore with idle_sleep_us set sleeps. */
#define FWD_IDLE_STREAK 256
/** Longest idle_sleep_us accepted. */
#define FWD_IDLE_SLEEP_MAX_US 1000

/**
 * Create the runtime over every EAL worker lcore (at most FWD_MAX_LCORES).
 * Lcores are not launched until fwd_launch().
 */
struct fwd_runtime *fwd_create(const struct fwd_params *params);

/** The idle sleep the runtime was created with (fwd_params.idle_sleep_us). */
uint32_t fwd_idle_sleep_us(const struct fwd_runtime *rt);

/** Number of forwarding lcores (worker lcores). */
unsigned int fwd_nb_lcores(const struct fwd_runtime *rt);

/** The lcore of index @p i (0..fwd_nb_lcores()-1). */
struct fwd_lcore *fwd_lcore_get(struct fwd_runtime *rt, unsigned int i);

/** Launch fwd_lcore_main on every worker lcore. */
int fwd_launch(struct fwd_runtime *rt);

/** Make the lcores return and wait for them; then free the runtime. */
void fwd_destroy(struct fwd_runtime *rt);

/** Start (true) or stop (false) forwarding; lcores keep reporting quiescence. */
void fwd_set_running(struct fwd_runtime *rt, bool running);
bool fwd_is_running(const struct fwd_runtime *rt);

/**
 * Start forwarding after each lcore sent @p bursts bursts of FWD_BURST
 * generated frames (fwd_txonly_build) to every (port, queue) it polls:
 * testpmd's "start tx_first". The lcores send them, so a vhost-user guest
 * RX ring is still written only by its owner. Control thread.
 * @return 0, or -EBUSY if already running.
 */
int fwd_start_tx_first(struct fwd_runtime *rt, uint32_t bursts);

/** tx_first bursts not sent yet, summed over lcores. Any thread. */
uint32_t fwd_tx_first_pending(const struct fwd_runtime *rt);

/** The pool mbufs are taken from (received and generated frames). */
struct rte_mempool *fwd_mempool(const struct fwd_runtime *rt);

/** Change the engine. Only while stopped. @return 0 or -EBUSY. */
int fwd_set_engine(struct fwd_runtime *rt, const struct fwd_engine *engine);
const struct fwd_engine *fwd_get_engine(const struct fwd_runtime *rt);
void *fwd_engine_ctx(const struct fwd_runtime *rt);

/**
 * Add a port (control thread). Its RX queues are spread over the lcores.
 * @return its switch port id, or -errno.
 */
int fwd_port_add(struct fwd_runtime *rt, struct vus_port *port);

/**
 * Remove a port (control thread): no lcore polls or sends to it when this
 * returns, so the caller may destroy it. @return the port, NULL if none.
 */
struct vus_port *fwd_port_del(struct fwd_runtime *rt, uint16_t id);

/**
 * The current port table (control thread, or an lcore within a loop). Like
 * an lcore's plan (struct fwd_lcore.plan), it is freed by the control thread
 * only, so the control thread may read both at any time.
 */
const struct fwd_ports *fwd_ports_get(const struct fwd_runtime *rt);

/**
 * Pin RX queue @p queue of port @p id to lcore index @p lcore_idx
 * (FWD_NO_LCORE: automatic again). Applied at once, without stopping the
 * other queues. @return 0 or -errno.
 */
int fwd_queue_pin(struct fwd_runtime *rt, uint16_t id, uint16_t queue, uint16_t lcore_idx);

/** The lcore index polling RX queue @p queue of port @p id, or FWD_NO_LCORE. */
uint16_t fwd_queue_owner(const struct fwd_runtime *rt, uint16_t id, uint16_t queue);

/**
 * Close a load measurement interval. The control thread calls it every
 * FWD_LOAD_INTERVAL_MS; the loads are those of the last FWD_LOAD_HISTORY
 * intervals.
 */
void fwd_load_sample(struct fwd_runtime *rt);

/**
 * Measured load of RX queue @p queue of port @p id: the TSC cycles its polls
 * that returned packets took over the last FWD_LOAD_HISTORY intervals, in
 * millionths of those intervals' length (1000000: a whole lcore). -1 when
 * not measured yet (a queue needs one whole interval). Control thread.
 */
int32_t fwd_queue_load(const struct fwd_runtime *rt, uint16_t id, uint16_t queue);

/** What fwd_rebalance() found and did. */
struct fwd_rebalance_result {
	bool applied;        /**< the new assignment is in place */
	unsigned int moved;  /**< queues that changed lcore */
	uint64_t max_before; /**< busiest lcore's load before, millionths of an lcore */
	uint64_t max_after;  /**< after (= before if not applied) */
};

/**
 * Place every unpinned RX queue afresh by measured load (fwd_assign(), queues
 * not measured yet counting as the mean) and move them there, each with the
 * two-step handover, if fwd_assign_better() says it is worth it with
 * @p min_gain_pct (0, asked for: any improvement). With @p min_gain_pct > 0
 * (automatic) also only if the busiest lcore is at least 10% loaded: below
 * that nothing is gained and few packets make noisy loads. Control thread.
 * @return 0 (see @p res), -ENOTSUP without lcores, -ENOMEM.
 */
int fwd_rebalance(struct fwd_runtime *rt, unsigned int min_gain_pct,
		  struct fwd_rebalance_result *res);

#ifdef __cplusplus
}
#endif

#endif /* FWD_H */
