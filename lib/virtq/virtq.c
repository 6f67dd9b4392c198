/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_rcu_qsbr.h>

#include "virtq.h"

/* Split ring parts (virtio 1.2 §2.7): 16-byte descriptors; avail has
 * flags, idx, ring[num] (+ used_event); used has flags, idx, 8-byte
 * elements (+ avail_event). */
uint64_t
virtq_split_desc_size(uint32_t num)
{
	return 16ULL * num;
}

uint64_t
virtq_split_avail_size(uint32_t num, bool event_idx)
{
	return 4 + 2ULL * num + (event_idx ? 2 : 0);
}

uint64_t
virtq_split_used_size(uint32_t num, bool event_idx)
{
	return 4 + 8ULL * num + (event_idx ? 2 : 0);
}

uint16_t
virtq_split_used_idx(const struct virtq_conf *conf)
{
	const volatile uint16_t *used = conf->ring.split.used;

	return used[1];
}

const struct virtq_conf *
virtq_publish(struct virtq *vq, const struct virtq_conf *conf)
{
	return atomic_exchange_explicit(&vq->conf, conf, memory_order_acq_rel);
}

void
virtq_sync(struct rte_rcu_qsbr *qsbr)
{
	if (qsbr != NULL)
		rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
}

uint32_t
virtq_pos_encode(const struct virtq_pos *pos, bool packed)
{
	if (!packed)
		return pos->last_avail_idx;
	return (uint32_t)(pos->last_avail_idx & 0x7fff) | ((uint32_t)pos->avail_wrap << 15) |
	       ((uint32_t)(pos->last_used_idx & 0x7fff) << 16) | ((uint32_t)pos->used_wrap << 31);
}

void
virtq_pos_decode(struct virtq_pos *pos, uint32_t num, bool packed)
{
	if (!packed) {
		pos->last_avail_idx = (uint16_t)num;
		pos->last_used_idx = (uint16_t)num;
		pos->avail_wrap = pos->used_wrap = false;
		return;
	}
	pos->last_avail_idx = num & 0x7fff;
	pos->avail_wrap = (num >> 15) & 1;
	if ((num >> 16) == 0) {
		/* virtio-user sends only the avail half on a fresh start. */
		pos->last_used_idx = pos->last_avail_idx;
		pos->used_wrap = pos->avail_wrap;
	} else {
		pos->last_used_idx = (num >> 16) & 0x7fff;
		pos->used_wrap = (num >> 31) & 1;
	}
}
