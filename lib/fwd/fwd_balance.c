/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who polls which RX queue: the runtime's side of the assignment policy
 * (fwd_assign.h). It collects every queue's pin, owner and measured load,
 * asks fwd_assign() for owners and hands them to fwd_move(). Control thread
 * only, as the rest of the runtime's control functions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "fwd_priv.h"

/*
 * Below this load of the busiest lcore an automatic rebalance does nothing:
 * moving queues off an lcore that is mostly idle gains no throughput, and
 * few packets make noisy loads. Millionths of an lcore (10%).
 */
#define AUTO_MIN_LOAD 100000

static uint16_t
nb_rxq(const struct vus_port *p)
{
	return RTE_MIN(p->nb_queues, (uint16_t)FWD_MAX_QUEUES);
}

/* One fwd_assign() input per RX queue of every port, in port list order. */
static struct fwd_assign_rxq *
collect(const struct fwd_runtime *rt, const struct fwd_ports *ports, unsigned int *n)
{
	struct fwd_assign_rxq *in;
	unsigned int total = 0, k = 0;

	for (uint16_t i = 0; i < ports->n; i++)
		total += nb_rxq(ports->by_id[ports->list[i]]);
	in = malloc((total != 0 ? total : 1) * sizeof(*in));
	if (in == NULL)
		return NULL;
	for (uint16_t i = 0; i < ports->n; i++) {
		uint16_t id = ports->list[i];

		for (uint16_t q = 0; q < nb_rxq(ports->by_id[id]); q++, k++) {
			int32_t ppm = fwd_load_ppm(&rt->load, id, q);

			in[k].load = ppm < 0 ? 0 : (uint64_t)ppm;
			in[k].measured = ppm >= 0;
			in[k].pin = rt->pin[id][q];
			in[k].owner = rt->owner[id][q];
		}
	}
	*n = total;
	return in;
}

/* fwd_assign()'s answer, in collect()'s order, as [port id][queue]. */
static void
scatter(const struct fwd_ports *ports, const uint16_t *out,
	uint16_t want[FWD_MAX_PORTS][FWD_MAX_QUEUES])
{
	unsigned int k = 0;

	memset(want, 0xff, sizeof(uint16_t) * FWD_MAX_PORTS * FWD_MAX_QUEUES);
	for (uint16_t i = 0; i < ports->n; i++) {
		uint16_t id = ports->list[i];

		for (uint16_t q = 0; q < nb_rxq(ports->by_id[id]); q++)
			want[id][q] = out[k++];
	}
}

int
fwd_balance_keep(struct fwd_runtime *rt, const struct fwd_ports *ports,
		 uint16_t want[FWD_MAX_PORTS][FWD_MAX_QUEUES])
{
	unsigned int n = 0;
	struct fwd_assign_rxq *in = collect(rt, ports, &n);
	uint16_t *out = malloc((n != 0 ? n : 1) * sizeof(*out));
	int ret = -ENOMEM;

	if (in != NULL && out != NULL)
		ret = fwd_assign(in, n, rt->nb_lcores, true, out);
	if (ret == 0)
		scatter(ports, out, want);
	else
		memcpy(want, rt->owner, sizeof(rt->owner));
	free(in);
	free(out);
	return ret;
}

int
fwd_rebalance(struct fwd_runtime *rt, unsigned int min_gain_pct, struct fwd_rebalance_result *res)
{
	static uint16_t want[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	const struct fwd_ports *ports = fwd_ports_get(rt);
	struct fwd_assign_cost cur, next;
	struct fwd_assign_rxq *in;
	uint16_t *out;
	unsigned int n = 0;
	int ret = -ENOMEM;

	memset(res, 0, sizeof(*res));
	if (rt->nb_lcores == 0)
		return -ENOTSUP;
	if (ports == NULL)
		return 0;
	in = collect(rt, ports, &n);
	out = malloc((n != 0 ? n : 1) * sizeof(*out));
	if (in != NULL && out != NULL)
		ret = fwd_assign(in, n, rt->nb_lcores, false, out);
	if (ret != 0)
		goto out;
	fwd_assign_cost(in, n, rt->nb_lcores, NULL, &cur);
	fwd_assign_cost(in, n, rt->nb_lcores, out, &next);
	res->max_before = res->max_after = cur.max_load;
	if (min_gain_pct != 0 && cur.max_load < AUTO_MIN_LOAD)
		goto out;
	if (!fwd_assign_better(&cur, &next, min_gain_pct))
		goto out;
	for (unsigned int k = 0; k < n; k++)
		res->moved += out[k] != in[k].owner;
	scatter(ports, out, want);
	ret = fwd_move(rt, ports, want);
	if (ret == 0) {
		res->applied = true;
		res->max_after = next.max_load;
	} else {
		res->moved = 0;
	}
out:
	free(in);
	free(out);
	return ret;
}

void
fwd_load_sample(struct fwd_runtime *rt)
{
	fwd_load_close(&rt->load, rte_rdtsc());
}

int32_t
fwd_queue_load(const struct fwd_runtime *rt, uint16_t id, uint16_t queue)
{
	return fwd_load_ppm(&rt->load, id, queue);
}
