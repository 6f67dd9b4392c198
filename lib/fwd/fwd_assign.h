/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FWD_ASSIGN_H
#define FWD_ASSIGN_H

/**
 * @file
 * Which lcore polls which RX queue, decided from the queues' measured loads
 * (OVS's pmd-rxq-assign=cycles): pinned queues go to their lcore, then the
 * others, heaviest first, each to the lcore with the least load so far
 * (greedy LPT: the busiest lcore ends within 4/3 of the best possible).
 *
 * Pure functions (no DPDK, no global state) so the policy is unit-tested on
 * its own; lib/fwd feeds them the loads it measures (fwd_balance.c).
 */

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FWD_MAX_LCORES 64
#define FWD_NO_LCORE UINT16_MAX

/** One RX queue to place. */
struct fwd_assign_rxq {
	/** Measured load, in any unit proportional to the cycles the queue takes per second. */
	uint64_t load;
	/** Lcore index it must go to, or FWD_NO_LCORE (also if the index is out of range). */
	uint16_t pin;
	/** Lcore index polling it now, or FWD_NO_LCORE. */
	uint16_t owner;
	/**
	 * False: no measurement yet (a new queue). It then counts as the mean
	 * of the measured queues, so it neither attracts nor repels others;
	 * with nothing measured every queue weighs the same and the lcores
	 * get equal numbers of queues.
	 */
	bool measured;
};

/**
 * Choose an lcore for each of the @p n queues of @p q among @p nb_lcores.
 * Pinned queues go to their lcore. With @p keep, unpinned queues that have
 * an owner keep it (nothing moves when a port comes or a pin goes) and only
 * the others are placed; without, every unpinned queue is placed afresh (a
 * rebalance). Queues are placed by load descending (ties: input order), each
 * on the lcore with the least load so far (ties: fewer queues, then the lower
 * index), counting what is already there.
 * @param[out] out lcore index per queue.
 * @return 0, -EINVAL (@p nb_lcores 0 or above FWD_MAX_LCORES) or -ENOMEM.
 */
int fwd_assign(const struct fwd_assign_rxq *q, unsigned int n, unsigned int nb_lcores, bool keep,
	       uint16_t *out);

/** How loaded an assignment leaves the lcores. */
struct fwd_assign_cost {
	uint64_t max_load;       /**< load of the busiest lcore (the unit of .load) */
	unsigned int max_queues; /**< most queues on one lcore */
};

/**
 * The cost of giving queue i to lcore @p owner[i] (FWD_NO_LCORE: nobody;
 * @p owner NULL: each queue's .owner), with queues not measured counted as
 * in fwd_assign().
 */
void fwd_assign_cost(const struct fwd_assign_rxq *q, unsigned int n, unsigned int nb_lcores,
		     const uint16_t *owner, struct fwd_assign_cost *cost);

/**
 * Whether moving from @p cur to @p next is worth it. With @p min_gain_pct 0
 * (asked for): any lower busiest-lcore load, or the same load with fewer
 * queues on the fullest lcore (no traffic: spreading by count). Otherwise
 * (automatic): only if the busiest lcore's load drops by more than
 * @p min_gain_pct percent, so measurement noise does not move queues back
 * and forth.
 */
bool fwd_assign_better(const struct fwd_assign_cost *cur, const struct fwd_assign_cost *next,
		       unsigned int min_gain_pct);

#ifdef __cplusplus
}
#endif

#endif /* FWD_ASSIGN_H */
