/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FDB_PRIV_H
#define FDB_PRIV_H

/*
 * lib/fdb internals shared by the table (fdb.c) and the per-lcore cache in
 * front of it (fdb_cache.c). Not installed, not included outside lib/fdb.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_reciprocal.h>

#include "fdb.h"

/* Entry flags. Only the control thread writes them. */
#define FDB_F_USED 0x1u   /* the position holds a key */
#define FDB_F_STATIC 0x2u /* never aged, never moved by learning */

/*
 * Per key position. The datapath reads port/flags and stores last_seen; the
 * control thread writes everything. 8 bytes, so a cache line covers 8
 * positions and the aging pass reads the array sequentially.
 */
struct fdb_entry {
	uint16_t port;
	uint16_t flags;
	uint32_t last_seen; /* seconds of the fdb clock */
};

/* A learn request, lcore -> control thread (12 bytes, a ring element). */
struct fdb_req {
	struct fdb_key key;
	uint16_t port;
	uint16_t pad;
};

/* Counters one lcore writes; a line of its own to avoid false sharing. */
struct fdb_lcore_stats {
	uint64_t lookups;
	uint64_t lookup_misses;
	uint64_t learn_requests;
	uint64_t learn_drops;
	uint64_t cache_hits;
	uint64_t learn_cache_hits;
} __rte_cache_aligned;

struct fdb {
	/* Read by the datapath, written only at creation. */
	struct rte_hash *h;
	struct fdb_entry *ent;
	struct rte_ring *learn;
	unsigned int learn_cap;         /* the ring's capacity */
	int doorbell;                   /* eventfd, -1 if none: see fdb_learn_fd() */
	struct fdb_lcore_stats *lstats; /* RTE_MAX_LCORE + 1 (the shared slot) */
	fdb_clock_fn now_ms;
	void *clock_arg;
	struct rte_reciprocal_u64 tsc_per_ms; /* the default clock's divisor */

	/*
	 * Generation: bumped (release) by the control thread after each change
	 * that can make a remembered key -> port answer wrong (a key deleted or
	 * moved); adding a key cannot, so learning new hosts leaves it alone.
	 * Per-lcore caches (fdb_cache.c) read it once per call (acquire) and
	 * forget everything when it moved. A line of its own: the datapath
	 * reads it per burst, the control thread writes it rarely.
	 */
	uint32_t gen __rte_cache_aligned;

	/*
	 * The learn doorbell's floor, written by lcores only when they learn
	 * (not per burst), so on a line of its own, away from the pointers
	 * every burst reads. next_ms: the fdb clock before which the doorbell
	 * is not rung again. owed: a ring was skipped inside the gap; the next
	 * request after it rings even if the ring is not empty.
	 */
	uint64_t doorbell_next_ms __rte_cache_aligned;
	bool doorbell_owed;

	/* Control thread only, away from the lines the datapath reads. */
	struct rte_rcu_qsbr *qsbr __rte_cache_aligned;
	uint32_t nb_pos; /* positions the hash can return */
	uint32_t max_entries;
	uint32_t entries;
	uint32_t static_entries;
	uint32_t aging_s;    /* 0: aging off */
	uint32_t last_age_s; /* time of the last aging pass */
	uint64_t learned;
	uint64_t moves;
	uint64_t aged;
	uint64_t learn_full;
	uint64_t removed;
};

/*
 * Counters of the calling thread. EAL lcores and registered threads own a
 * slot and add without atomics; anything else shares the last slot.
 */
static inline struct fdb_lcore_stats *
my_stats(struct fdb *fdb, bool *shared)
{
	unsigned int id = rte_lcore_id();

	*shared = unlikely(id >= RTE_MAX_LCORE);
	return &fdb->lstats[*shared ? RTE_MAX_LCORE : id];
}

/* Single writer per slot: a relaxed load and store, no locked instruction.
 * The atomics only keep fdb_stats_get()'s concurrent reads well defined. */
static inline void
stat_add(uint64_t *c, uint64_t v, bool shared)
{
	if (likely(!shared))
		__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/*
 * fdb_learn_bulk(), also reporting in @p here which keys the table already
 * maps to the port they were seen on (bit i for keys[i]): the cache may
 * remember those.
 */
int fdb_learn_bulk_here(struct fdb *fdb, const struct fdb_key *keys, const uint16_t *ports,
			unsigned int n, uint64_t now, uint64_t *here);

/* The generation the cache compares against (see struct fdb.gen). */
static inline uint32_t
fdb_gen(const struct fdb *fdb)
{
	return __atomic_load_n(&fdb->gen, __ATOMIC_ACQUIRE);
}

#endif /* FDB_PRIV_H */
