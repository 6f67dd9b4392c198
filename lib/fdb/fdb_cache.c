/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-lcore exact-match cache in front of the table (fdb_cache.h says
 * why and what it remembers). Direct-mapped: a key has one slot, chosen by
 * a CRC32 of its 8 bytes with a per-cache random seed (keys come from the
 * wire; a host that makes its addresses collide with another's only sends
 * that one back to the table, at the table's usual cost).
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "fdb_cache.h"
#include "fdb_priv.h"

struct fdb_cache_entry {
	uint64_t key;  /* the fdb_key's 8 bytes */
	uint16_t port; /* FDB_PORT_NONE: empty */
	uint16_t pad;
	uint32_t seen; /* 1 + the second learning last went to the table; 0: never */
};

struct fdb_cache {
	struct fdb *fdb;
	uint32_t mask;
	uint32_t seed;
	uint32_t gen; /* the table generation the entries belong to */
	struct fdb_cache_entry e[] __rte_cache_aligned;
};

_Static_assert(sizeof(struct fdb_cache_entry) == 16, "four entries per cache line");

static inline uint64_t
key_bits(const struct fdb_key *k)
{
	uint64_t v;

	memcpy(&v, k, sizeof(v));
	return v;
}

static inline struct fdb_cache_entry *
slot_of(struct fdb_cache *c, uint64_t key)
{
	return &c->e[rte_hash_crc_8byte(key, c->seed) & c->mask];
}

/* Every byte 0xff: port FDB_PORT_NONE (empty), a key fdb_key_make() never
 * builds (VLAN bits past 12), seen never equal to a second + 1 we use. */
static void
cache_clear(struct fdb_cache *c)
{
	memset(c->e, 0xff, sizeof(c->e[0]) * ((size_t)c->mask + 1));
}

/* Forget everything if the table deleted or moved a key since last time. */
static inline void
cache_sync(struct fdb_cache *c)
{
	uint32_t g = fdb_gen(c->fdb);

	if (unlikely(g != c->gen)) {
		cache_clear(c);
		c->gen = g;
	}
}

static inline void
entry_fill(struct fdb_cache_entry *e, uint64_t key, uint16_t port, uint32_t seen)
{
	e->key = key;
	e->port = port;
	e->seen = seen;
}

struct fdb_cache *
fdb_cache_create(struct fdb *fdb, uint32_t entries, int socket_id)
{
	struct fdb_cache *c;

	if (entries == 0)
		entries = FDB_CACHE_DEFAULT_ENTRIES;
	if (fdb == NULL || !rte_is_power_of_2(entries) || entries > (1u << 24)) {
		rte_errno = EINVAL;
		return NULL;
	}
	c = rte_malloc_socket("fdb_cache", sizeof(*c) + sizeof(c->e[0]) * entries,
			      RTE_CACHE_LINE_SIZE, socket_id);
	if (c == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	c->fdb = fdb;
	c->mask = entries - 1;
	c->seed = (uint32_t)rte_rand();
	c->gen = fdb_gen(fdb);
	cache_clear(c);
	return c;
}

void
fdb_cache_free(struct fdb_cache *c)
{
	rte_free(c);
}

int
fdb_cache_lookup_bulk(struct fdb_cache *c, const struct fdb_key *keys, unsigned int n,
		      uint16_t *ports)
{
	struct fdb_key miss[FDB_BULK_MAX];
	struct fdb_cache_entry *slot[FDB_BULK_MAX];
	uint16_t miss_port[FDB_BULK_MAX];
	uint8_t miss_idx[FDB_BULK_MAX];
	unsigned int i, nm = 0, hits = 0;
	struct fdb_lcore_stats *st;
	bool shared;
	int found;

	if (unlikely(n == 0 || n > FDB_BULK_MAX))
		return n == 0 ? 0 : -EINVAL;
	cache_sync(c);
	for (i = 0; i < n; i++) {
		uint64_t k = key_bits(&keys[i]);
		struct fdb_cache_entry *e = slot_of(c, k);

		if (likely(e->key == k && e->port != FDB_PORT_NONE)) {
			ports[i] = e->port;
			hits++;
			continue;
		}
		slot[nm] = e;
		miss_idx[nm] = (uint8_t)i;
		miss[nm++] = keys[i];
	}
	if (likely(hits != 0)) {
		st = my_stats(c->fdb, &shared);
		stat_add(&st->lookups, hits, shared);
		stat_add(&st->cache_hits, hits, shared);
	}
	if (likely(nm == 0))
		return (int)hits;
	found = fdb_lookup_bulk(c->fdb, miss, nm, miss_port, NULL);
	for (i = 0; i < nm; i++) {
		ports[miss_idx[i]] = miss_port[i];
		if (miss_port[i] != FDB_PORT_NONE)
			entry_fill(slot[i], key_bits(&miss[i]), miss_port[i], 0);
	}
	return (int)hits + RTE_MAX(found, 0);
}

int
fdb_cache_learn_bulk(struct fdb_cache *c, const struct fdb_key *keys, const uint16_t *ports,
		     unsigned int n, uint64_t now)
{
	struct fdb_key ask[FDB_BULK_MAX];
	struct fdb_cache_entry *slot[FDB_BULK_MAX];
	uint16_t ask_port[FDB_BULK_MAX];
	uint32_t seen = (uint32_t)(now / 1000) + 1;
	unsigned int i, na = 0;
	uint64_t here;
	int ret;

	if (unlikely(n == 0 || n > FDB_BULK_MAX))
		return n == 0 ? 0 : -EINVAL;
	cache_sync(c);
	for (i = 0; i < n; i++) {
		uint64_t k = key_bits(&keys[i]);
		struct fdb_cache_entry *e = slot_of(c, k);

		/* Known on this port, last_seen already refreshed this second. */
		if (likely(e->key == k && e->port == ports[i] && e->seen == seen))
			continue;
		slot[na] = e;
		ask_port[na] = ports[i];
		ask[na++] = keys[i];
	}
	if (likely(na != n)) {
		struct fdb_lcore_stats *st;
		bool shared;

		st = my_stats(c->fdb, &shared);
		stat_add(&st->learn_cache_hits, n - na, shared);
	}
	if (likely(na == 0))
		return 0;
	ret = fdb_learn_bulk_here(c->fdb, ask, ask_port, na, now, &here);
	/* The table maps these keys to the port they came in on, and
	 * refreshed them: remember both until the next second. */
	for (i = 0; here != 0; i++, here >>= 1)
		if (here & 1)
			entry_fill(slot[i], key_bits(&ask[i]), ask_port[i], seen);
	return ret;
}
