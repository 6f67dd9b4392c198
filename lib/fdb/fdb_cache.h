/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FDB_CACHE_H
#define FDB_CACHE_H

/**
 * @file
 * A per-lcore exact-match cache in front of the forwarding table.
 *
 * Why. A switched burst asks the table twice per frame: once to learn the
 * source, once to look up the destination. Both are rte_hash bulk lookups
 * (~40-50 cycles a key, lib/fdb's fdb_bench); most frames belong to a few
 * busy (VLAN, MAC) pairs an lcore sees again and again. The cache answers
 * those from a small direct-mapped array the lcore owns (one CRC32 and one
 * 8-byte compare), and hands only its misses to the table.
 *
 * What it remembers. Only answers the table gave: key -> port for keys the
 * table holds (never misses, so a host learned a moment later is found at
 * once), and for sources, the second in which learning last refreshed the
 * key's last_seen, so a known source on its own port costs nothing more
 * in the same second and one table visit the next (what fdb_learn_bulk()
 * itself does: aging is unchanged).
 *
 * Staying right. The table bumps a generation after deleting or moving a
 * key (aging, flushes, fdb_del, a MAC move, a static entry over a learned
 * one); every cache call compares it first and, if it moved, forgets every
 * entry. So a cached port is never older than the control call that
 * changed it: the same guarantee as a bulk lookup that ran just before
 * the change. Adding keys does not bump it.
 *
 * Threads. One cache per datapath thread; the calls are datapath calls
 * (no lock, no syscall, no allocation) with the same rules as
 * fdb_lookup_bulk() / fdb_learn_bulk(). Create and free on the control
 * thread, while no lcore uses it.
 */

#include <stdint.h>

#include "fdb.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fdb_cache;

/** Default cache size in entries (16 bytes each: 64 KiB). */
#define FDB_CACHE_DEFAULT_ENTRIES 4096u

/**
 * Create a cache for @p fdb.
 * @param entries  a power of two, 0 for FDB_CACHE_DEFAULT_ENTRIES
 * @return the cache, or NULL with rte_errno set (EINVAL, ENOMEM)
 */
struct fdb_cache *fdb_cache_create(struct fdb *fdb, uint32_t entries, int socket_id);

/** Free a cache (NULL is ignored). */
void fdb_cache_free(struct fdb_cache *c);

/**
 * fdb_lookup_bulk() through the cache: same arguments and result.
 * @return number of hits, or -EINVAL if n > FDB_BULK_MAX
 */
int fdb_cache_lookup_bulk(struct fdb_cache *c, const struct fdb_key *keys, unsigned int n,
			  uint16_t *ports);

/**
 * fdb_learn_bulk() through the cache: same arguments and result; keys the
 * cache knows on the same port and refreshed in this second of @p now are
 * not passed on.
 */
int fdb_cache_learn_bulk(struct fdb_cache *c, const struct fdb_key *keys, const uint16_t *ports,
			 unsigned int n, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif /* FDB_CACHE_H */
