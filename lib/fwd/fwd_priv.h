/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FWD_PRIV_H
#define FWD_PRIV_H

/*
 * Inside lib/fwd: the runtime's state, shared by fwd_runtime.c (lcore loops,
 * ports, plans, the two-step move) and fwd_balance.c (who polls what, and
 * the loads that decide it). Everything below `lcores` is control-thread
 * state.
 */

#include "fwd.h"
#include "fwd_load.h"

/* RX queues per port the runtime polls. */
#define FWD_MAX_QUEUES 128

struct fwd_runtime {
	struct fwd_params params;
	_Atomic(const struct fwd_engine *) engine;
	_Atomic(const struct fwd_ports *) ports;
	atomic_bool running;
	atomic_bool quit;
	unsigned int nb_lcores;
	struct fwd_lcore lcores[FWD_MAX_LCORES];
	/* Control-thread state: who polls what, and what was pinned. */
	uint16_t owner[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	uint16_t pin[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	struct fwd_load load;
};

/*
 * Move to the assignment @p want (lcore index per [port id][queue]) in two
 * steps, each followed by a grace period (fwd_runtime.c).
 */
int fwd_move(struct fwd_runtime *rt, const struct fwd_ports *ports,
	     uint16_t want[FWD_MAX_PORTS][FWD_MAX_QUEUES]);

/*
 * The owner of every queue of @p ports when something changed (a port, a
 * pin): pins, then current owners kept, then new queues to the least loaded
 * lcore (fwd_balance.c). On -ENOMEM @p want is the current owners.
 */
int fwd_balance_keep(struct fwd_runtime *rt, const struct fwd_ports *ports,
		     uint16_t want[FWD_MAX_PORTS][FWD_MAX_QUEUES]);

#endif /* FWD_PRIV_H */
