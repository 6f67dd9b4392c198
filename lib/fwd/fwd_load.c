/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Measured load of the RX queues: the control thread's side (fwd_load.h).
 * Plain C and libc memory (no EAL needed), so the arithmetic is unit-tested
 * on its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd_load.h"

int
fwd_load_port_add(struct fwd_load *ld, uint16_t id, uint16_t nb_queues)
{
	if (id >= FWD_MAX_PORTS)
		return -EINVAL;
	fwd_load_port_del(ld, id);
	if (nb_queues == 0)
		return 0;
	/* Whole lines: sizeof() is a multiple of the alignment. */
	ld->q[id] = aligned_alloc(RTE_CACHE_LINE_SIZE, nb_queues * sizeof(struct fwd_rxq_load));
	if (ld->q[id] == NULL)
		return -ENOMEM;
	memset(ld->q[id], 0, nb_queues * sizeof(struct fwd_rxq_load));
	ld->nq[id] = nb_queues;
	return 0;
}

void
fwd_load_port_del(struct fwd_load *ld, uint16_t id)
{
	if (id >= FWD_MAX_PORTS)
		return;
	free(ld->q[id]);
	ld->q[id] = NULL;
	ld->nq[id] = 0;
}

struct fwd_rxq_load *
fwd_load_rxq(const struct fwd_load *ld, uint16_t id, uint16_t q)
{
	if (id >= FWD_MAX_PORTS || q >= ld->nq[id])
		return NULL;
	return &ld->q[id][q];
}

void
fwd_load_close(struct fwd_load *ld, uint64_t now)
{
	bool first = ld->last == 0;

	if (!first)
		ld->tsc[ld->pos] = now - ld->last;
	for (unsigned int id = 0; id < FWD_MAX_PORTS; id++) {
		for (uint16_t q = 0; q < ld->nq[id]; q++) {
			struct fwd_rxq_load *l = &ld->q[id][q];
			uint64_t cur = atomic_load_explicit(&l->cycles, memory_order_relaxed);

			/* A queue added within this interval was measured over part
			 * of it only: its first interval starts now. */
			if (!first && l->primed) {
				l->hist[ld->pos] = cur - l->base;
				if (l->nhist < FWD_LOAD_HISTORY)
					l->nhist++;
			}
			l->base = cur;
			l->primed = true;
		}
	}
	if (!first)
		ld->pos = (ld->pos + 1) % FWD_LOAD_HISTORY;
	ld->last = now;
}

int32_t
fwd_load_ppm(const struct fwd_load *ld, uint16_t id, uint16_t q)
{
	const struct fwd_rxq_load *l = fwd_load_rxq(ld, id, q);
	uint64_t cycles = 0, tsc = 0;
	double ppm;

	if (l == NULL || l->nhist == 0)
		return -1;
	for (unsigned int k = 1; k <= l->nhist; k++) {
		unsigned int i = (ld->pos + FWD_LOAD_HISTORY - k) % FWD_LOAD_HISTORY;

		cycles += l->hist[i];
		tsc += ld->tsc[i];
	}
	if (tsc == 0)
		return 0;
	/* TSCs of different cores may disagree a little: never above one lcore. */
	ppm = (double)cycles * 1e6 / (double)tsc;
	return ppm >= 1e6 ? 1000000 : (int32_t)ppm;
}

void
fwd_load_fini(struct fwd_load *ld)
{
	for (uint16_t id = 0; id < FWD_MAX_PORTS; id++)
		fwd_load_port_del(ld, id);
}
