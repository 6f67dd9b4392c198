/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FWD_LOAD_H
#define FWD_LOAD_H

/*
 * Inside lib/fwd: the measured load of every RX queue.
 *
 * The lcore polling a queue adds to the queue's cycle counter the TSC cycles
 * of each poll that returned packets (fwd_load_add(), from the hot loop).
 * The control thread closes an interval every FWD_LOAD_INTERVAL_MS
 * (fwd_load_close()): it keeps what each queue took in each of the last
 * FWD_LOAD_HISTORY intervals, and a queue's load is their sum over the
 * intervals' length. The history belongs to the queue, not to the lcore,
 * so it follows a queue that moves and a rebalance does not reset it.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "fwd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One RX queue, on a cache line of its own: lcores polling neighbouring
 * queues of the same port do not share the line. */
struct fwd_rxq_load {
	/*
	 * Written by the lcore that polls the queue, and by no other: a queue
	 * changes lcore across two grace periods, which also order the last
	 * write of the old owner before the first of the new one. Read by the
	 * control thread.
	 */
	FWD_ATOMIC(uint64_t) cycles;
	/* Control thread only; written once per interval, so sharing the
	 * lcore's line costs one miss a second. */
	uint64_t base;                   /* cycles at the last close */
	uint64_t hist[FWD_LOAD_HISTORY]; /* cycles per interval, indexed as fwd_load.tsc */
	uint8_t nhist;                   /* valid entries, the newest at fwd_load.pos - 1 */
	bool primed;                     /* base taken at a close: the next one counts */
} __rte_cache_aligned;

/* Every port's queues (control thread; lcores reach a queue's entry through
 * their plan). */
struct fwd_load {
	struct fwd_rxq_load *q[FWD_MAX_PORTS];
	uint16_t nq[FWD_MAX_PORTS];
	uint64_t tsc[FWD_LOAD_HISTORY]; /* length of each interval, TSC cycles */
	uint64_t last;                  /* TSC at the last close, 0 before the first */
	unsigned int pos;               /* next entry of the rings */
};

/* Lcore: add @p cycles to a queue it polls. One writer, so a relaxed load
 * and store: no locked instruction in the hot loop. */
static inline void
fwd_load_add(struct fwd_rxq_load *l, uint64_t cycles)
{
#ifdef __cplusplus
	l->cycles.store(l->cycles.load(std::memory_order_relaxed) + cycles,
			std::memory_order_relaxed);
#else
	atomic_store_explicit(&l->cycles,
			      atomic_load_explicit(&l->cycles, memory_order_relaxed) + cycles,
			      memory_order_relaxed);
#endif
}

/* Control thread: entries for the @p nb_queues queues of port @p id. */
int fwd_load_port_add(struct fwd_load *ld, uint16_t id, uint16_t nb_queues);

/* Control thread, once no lcore polls the port: free its entries. */
void fwd_load_port_del(struct fwd_load *ld, uint16_t id);

/* The entry of queue @p q of port @p id, NULL if none. */
struct fwd_rxq_load *fwd_load_rxq(const struct fwd_load *ld, uint16_t id, uint16_t q);

/* Control thread: close the interval ending at TSC @p now. */
void fwd_load_close(struct fwd_load *ld, uint64_t now);

/* Load of queue @p q of port @p id in millionths of an lcore, -1 before
 * its first whole interval. */
int32_t fwd_load_ppm(const struct fwd_load *ld, uint16_t id, uint16_t q);

/* Free every entry. */
void fwd_load_fini(struct fwd_load *ld);

#ifdef __cplusplus
}
#endif

#endif /* FWD_LOAD_H */
