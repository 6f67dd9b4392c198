/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUSWITCH_FWD_LCORE_H
#define VUSWITCH_FWD_LCORE_H

#include "fwd.h"

struct rte_mempool;
struct rte_rcu_qsbr;

struct fwd_config {
	const struct fwd_engine *engine;
	struct vus_port **ports;
	unsigned int nports;
	struct rte_mempool *mp;
	struct rte_rcu_qsbr *qsbr; /* lcores report quiescent states here */
};

/*
 * Build the streams (port 0 <-> 1, 2 <-> 3, ...; an odd last port loops to
 * itself; queue q to queue q) and spread them over the worker lcores.
 * @return number of forwarding lcores started (0: none available).
 */
int fwd_start(const struct fwd_config *cfg);

/* Stop the lcores and wait for them. */
void fwd_stop(void);

/* Print per-stream counters. */
void fwd_print_stats(void);

#endif
