/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RX queue to lcore assignment by measured load: the policy alone, without
 * the runtime (fwd_assign.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "fwd_assign.h"

/* A queue waiting for an lcore, with the load it counts for. */
struct todo {
	uint64_t load;
	unsigned int idx;
};

/* Heaviest first; equal loads in input order, so the result is the same
 * for the same input (qsort is not stable). */
static int
todo_cmp(const void *x, const void *y)
{
	const struct todo *a = x, *b = y;

	if (a->load != b->load)
		return a->load > b->load ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* What a queue without a measurement counts for: the mean measured load. */
static uint64_t
unmeasured_load(const struct fwd_assign_rxq *q, unsigned int n)
{
	uint64_t sum = 0;
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (q[i].measured) {
			sum += q[i].load;
			k++;
		}
	}
	return k != 0 ? sum / k : 0;
}

static uint64_t
load_of(const struct fwd_assign_rxq *r, uint64_t unmeasured)
{
	return r->measured ? r->load : unmeasured;
}

/* Least load, then fewest queues (so equal loads, zero included, spread by
 * count), then the lowest index. */
static unsigned int
least_loaded(const uint64_t *load, const unsigned int *count, unsigned int nb_lcores)
{
	unsigned int best = 0;

	for (unsigned int l = 1; l < nb_lcores; l++)
		if (load[l] < load[best] || (load[l] == load[best] && count[l] < count[best]))
			best = l;
	return best;
}

int
fwd_assign(const struct fwd_assign_rxq *q, unsigned int n, unsigned int nb_lcores, bool keep,
	   uint16_t *out)
{
	uint64_t load[FWD_MAX_LCORES] = { 0 };
	unsigned int count[FWD_MAX_LCORES] = { 0 };
	uint64_t unmeasured;
	struct todo *todo;
	unsigned int m = 0;

	if (nb_lcores == 0 || nb_lcores > FWD_MAX_LCORES)
		return -EINVAL;
	if (n == 0)
		return 0;
	todo = malloc(n * sizeof(*todo));
	if (todo == NULL)
		return -ENOMEM;
	unmeasured = unmeasured_load(q, n);
	/* Pinned and kept queues first: they weigh on their lcore before any choice. */
	for (unsigned int i = 0; i < n; i++) {
		uint16_t o = FWD_NO_LCORE;

		if (q[i].pin < nb_lcores)
			o = q[i].pin;
		else if (keep && q[i].owner < nb_lcores)
			o = q[i].owner;
		out[i] = o;
		if (o == FWD_NO_LCORE) {
			todo[m].load = load_of(&q[i], unmeasured);
			todo[m++].idx = i;
			continue;
		}
		load[o] += load_of(&q[i], unmeasured);
		count[o]++;
	}
	qsort(todo, m, sizeof(*todo), todo_cmp);
	for (unsigned int k = 0; k < m; k++) {
		unsigned int l = least_loaded(load, count, nb_lcores);

		out[todo[k].idx] = (uint16_t)l;
		load[l] += todo[k].load;
		count[l]++;
	}
	free(todo);
	return 0;
}

void
fwd_assign_cost(const struct fwd_assign_rxq *q, unsigned int n, unsigned int nb_lcores,
		const uint16_t *owner, struct fwd_assign_cost *cost)
{
	uint64_t load[FWD_MAX_LCORES] = { 0 };
	unsigned int count[FWD_MAX_LCORES] = { 0 };
	uint64_t unmeasured = unmeasured_load(q, n);

	cost->max_load = 0;
	cost->max_queues = 0;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t o = owner != NULL ? owner[i] : q[i].owner;

		if (o >= nb_lcores || o >= FWD_MAX_LCORES)
			continue;
		load[o] += load_of(&q[i], unmeasured);
		count[o]++;
		if (load[o] > cost->max_load)
			cost->max_load = load[o];
		if (count[o] > cost->max_queues)
			cost->max_queues = count[o];
	}
}

bool
fwd_assign_better(const struct fwd_assign_cost *cur, const struct fwd_assign_cost *next,
		  unsigned int min_gain_pct)
{
	if (min_gain_pct == 0)
		return next->max_load < cur->max_load ||
		       (next->max_load == cur->max_load && next->max_queues < cur->max_queues);
	if (next->max_load >= cur->max_load)
		return false;
	/* In floating point: any unit, no overflow. */
	return (double)(cur->max_load - next->max_load) * 100.0 >
	       (double)cur->max_load * (double)min_gain_pct;
}
