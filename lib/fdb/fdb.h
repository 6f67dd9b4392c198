/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FDB_H
#define FDB_H

/**
 * @file
 * The L2 forwarding table: (VLAN, MAC) -> switch port id.
 *
 * Structure. An rte_hash (lock-free readers, one writer) maps the 8-byte
 * key to its port, kept in the hash's own data word so that a reader gets
 * key and port from the same slot. Beside it, an array indexed by the
 * hash's key position holds {port, flags, last_seen}: flags say whether the
 * entry is in use and whether it is static; last_seen is in whole seconds
 * of the fdb clock.
 *
 * Threads. There are two roles:
 *
 * - Datapath (any number of lcores at once): fdb_lookup_bulk(),
 *   fdb_learn_bulk() and fdb_now_ms(). They take no lock and allocate
 *   nothing. They never write the hash: fdb_learn_bulk() only refreshes
 *   last_seen of known entries (at most once a second per entry, so the
 *   lines are not bounced between cores per packet) and pushes new keys
 *   and moves as requests onto a multi-producer ring; when the ring is full
 *   the request is dropped and counted (the next frame asks again). Their
 *   one system call: the requests that find the ring empty write the
 *   doorbell eventfd (fdb_learn_fd()), once per learning burst and at most
 *   once per FDB_DOORBELL_GAP_MS (a guest sending ever-new source addresses
 *   cannot turn it into a system call per control-thread pass).
 * - Control (one thread at a time, the only writer): every other function.
 *   fdb_process() drains the learn requests into the hash and ages entries
 *   out; the owner calls it when the doorbell rings and periodically (the
 *   aging second, and as a fallback: a request queued while a drain was
 *   ending may find the ring not yet empty and not ring).
 *
 * Counters the datapath writes are per lcore (indexed by rte_lcore_id());
 * threads without an lcore id share one extra slot updated with atomics,
 * which is correct but slower, so datapath threads should be EAL lcores or
 * registered with rte_thread_register().
 *
 * Grace periods. A reader may hold a key position (inside rte_hash, or in
 * fdb_learn_bulk() between its lookup and its last_seen store) while the
 * control thread deletes that key. The slot must not be given to another
 * key before every such reader is done, or the reader would return the new
 * key's port for the old key. The hash is therefore attached to the
 * owner's rte_rcu_qsbr (fdb_params.qsbr) with rte_hash_rcu_qsbr_add() in
 * defer-queue mode: a deleted slot waits in a queue and is recycled only
 * after every registered, online reader has reported a quiescent state
 * since the delete. The control thread never blocks on readers; a slot not
 * yet recycled is simply not available (which is why the hash has some
 * headroom above max_entries). Datapath threads must be registered with
 * that qsbr and report quiescent states only between fdb calls (as they
 * already do between polls). Deleting clears the position's array entry at
 * once, so a reader that still holds the position sees "not in use" rather
 * than stale data. A port returned by fdb_lookup_bulk() is therefore always
 * a port the key was mapped to at some point.
 *
 * Full table. At max_entries, new keys are refused and counted (learn_full)
 * rather than evicting the oldest dynamic entry: refusal is O(1) on the
 * control thread, and a host flooding random source addresses cannot push
 * the established hosts out of the table (their frames keep being
 * forwarded; only the unknown sources' destinations are flooded). Room
 * comes back as entries age out. Static entries count against the bound.
 *
 * Port removal. Before fdb_flush_port(), the owner must make sure no lcore
 * still receives from the port (otherwise its sources may be learned
 * again). Ports returned by lookups may still name a port that is being
 * removed: the forwarding code checks its port table anyway.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fdb;
struct rte_rcu_qsbr;

/** Port id meaning "no port": a lookup miss. Never a valid table value. */
#define FDB_PORT_NONE UINT16_MAX

/** Maximum keys per fdb_lookup_bulk() / fdb_learn_bulk() call. */
#define FDB_BULK_MAX 64u

/** Default table size (entries). */
#define FDB_DEFAULT_ENTRIES 65536u

/** Default aging time (seconds). */
#define FDB_DEFAULT_AGING_S 300u

/** Default size of the learn-request ring. */
#define FDB_DEFAULT_LEARN_RING 4096u

/**
 * Minimum time between two rings of the learn doorbell (fdb clock, ms):
 * bounds the system calls a stream of new source addresses can cost an
 * lcore to a thousand a second.
 */
#define FDB_DOORBELL_GAP_MS 1u

/**
 * A table key. Build it with fdb_key_make(): the VLAN id must be 12 bits
 * and the struct has no padding, so all 8 bytes are significant.
 */
struct fdb_key {
	struct rte_ether_addr mac; /**< the address */
	uint16_t vlan;             /**< VLAN id, 0..4095 (0: untagged) */
};

/** Make a key; the VLAN id is masked to 12 bits. */
static inline struct fdb_key
fdb_key_make(uint16_t vlan, const struct rte_ether_addr *mac)
{
	struct fdb_key k;

	k.mac = *mac;
	k.vlan = vlan & 0xfff;
	return k;
}

/** Clock: milliseconds of a monotonic clock. */
typedef uint64_t (*fdb_clock_fn)(void *arg);

/** Creation parameters; a zero size or time means its default. */
struct fdb_params {
	uint32_t max_entries;     /**< bound on entries (FDB_DEFAULT_ENTRIES) */
	uint32_t aging_s;         /**< aging time in s (FDB_DEFAULT_AGING_S) */
	uint32_t learn_ring_size; /**< learn requests in flight (FDB_DEFAULT_LEARN_RING) */
	int socket_id;            /**< memory's NUMA socket, or SOCKET_ID_ANY */
	/**
	 * Grace-period detector the datapath lcores report to. NULL only if no
	 * datapath call ever runs concurrently with a control call (tests):
	 * deleted slots are then reused at once.
	 */
	struct rte_rcu_qsbr *qsbr;
	fdb_clock_fn now_ms; /**< clock; NULL: the TSC in ms (monotonic) */
	void *clock_arg;     /**< passed to now_ms */
};

/** One entry, as fdb_iterate() shows it. */
struct fdb_entry_info {
	uint16_t vlan;
	struct rte_ether_addr mac;
	uint16_t port;
	bool is_static;
	uint32_t age_s; /**< seconds since last seen (0 for static entries) */
};

/** Counters; datapath ones are summed over lcores and may lag. */
struct fdb_stats {
	uint32_t entries;          /**< entries in the table now */
	uint32_t static_entries;   /**< of which static */
	uint32_t max_entries;      /**< the bound */
	uint64_t learned;          /**< new dynamic entries added */
	uint64_t moves;            /**< dynamic entries moved to another port */
	uint64_t aged;             /**< dynamic entries removed by aging */
	uint64_t learn_full;       /**< learn requests refused: table full */
	uint64_t removed;          /**< entries removed by del, flush, flush_port */
	uint64_t lookups;          /**< keys looked up (fdb_lookup_bulk, fdb_cache_lookup_bulk) */
	uint64_t lookup_misses;    /**< of which not found */
	uint64_t cache_hits;       /**< of which answered by a per-lcore cache (fdb_cache.h) */
	uint64_t learn_requests;   /**< requests queued by fdb_learn_bulk */
	uint64_t learn_drops;      /**< requests dropped: learn ring full */
	uint64_t learn_cache_hits; /**< sources a per-lcore cache found known and fresh */
};

/**
 * Create a table. Needs the EAL (memory comes from rte_malloc).
 * Control thread.
 * @return the table, or NULL with rte_errno set (EINVAL, ENOMEM, ...).
 */
struct fdb *fdb_create(const struct fdb_params *params);

/**
 * Destroy a table. NULL is ignored. Control thread, once no datapath
 * thread can call into the table any more.
 */
void fdb_destroy(struct fdb *fdb);

/**
 * The fdb clock in milliseconds (the injected one, if any). Any thread.
 * Datapath callers read it once per poll loop, not per packet.
 */
uint64_t fdb_now_ms(const struct fdb *fdb);

/**
 * Look up @p n keys. Datapath.
 * @param keys     n keys
 * @param n        0..FDB_BULK_MAX
 * @param ports    out: n ports; FDB_PORT_NONE for a miss
 * @param hit_mask out, optional: bit i set if keys[i] was found
 * @return number of hits, or -EINVAL if n > FDB_BULK_MAX
 */
int fdb_lookup_bulk(struct fdb *fdb, const struct fdb_key *keys, unsigned int n, uint16_t *ports,
		    uint64_t *hit_mask);

/**
 * Report @p n source addresses seen on ports @p ports. Datapath.
 * Known keys on the same port get last_seen refreshed (if it is older than
 * the current second); unknown keys and keys seen on another port are
 * queued as learn requests for fdb_process() (each once per call). Static
 * entries, multicast and all-zero source addresses and FDB_PORT_NONE are
 * ignored.
 * @param now  fdb_now_ms() of the current poll loop
 * @return number of requests queued, or -EINVAL if n > FDB_BULK_MAX
 */
int fdb_learn_bulk(struct fdb *fdb, const struct fdb_key *keys, const uint16_t *ports,
		   unsigned int n, uint64_t now);

/**
 * Apply queued learn requests (add new keys, move keys to their new port)
 * and, once a second, age out dynamic entries not seen for longer than the
 * aging time. Control thread, periodically.
 * @param now  fdb_now_ms()
 * @return number of entries added, moved or aged by this call
 */
unsigned int fdb_process(struct fdb *fdb, uint64_t now);

/**
 * The learn doorbell: an eventfd that becomes readable when learn requests
 * were queued into an empty ring, no sooner than FDB_DOORBELL_GAP_MS after
 * it was last rung (a ring skipped within the gap is rung by the next
 * request after it; with none, the owner's periodic fdb_process() learns).
 * Watch it (EPOLLIN) and call fdb_process(), which resets it. -1 if it
 * could not be made (then only the periodic calls learn). Closed by
 * fdb_destroy().
 */
int fdb_learn_fd(const struct fdb *fdb);

/**
 * Set the aging time; 0 disables aging. Takes effect at the next aging
 * pass. Control thread.
 */
void fdb_set_aging(struct fdb *fdb, uint32_t aging_s);

/**
 * Add a static entry, or make an existing entry static on @p port. Static
 * entries never age and learning never moves them. Control thread.
 * @return 0, -EINVAL (vlan > 4095, port FDB_PORT_NONE), -ENOSPC (table full)
 */
int fdb_add_static(struct fdb *fdb, uint16_t vlan, const struct rte_ether_addr *mac, uint16_t port);

/**
 * Remove an entry, static or dynamic. Control thread.
 * @return 0, -EINVAL (vlan > 4095), -ENOENT
 */
int fdb_del(struct fdb *fdb, uint16_t vlan, const struct rte_ether_addr *mac);

/**
 * Remove every dynamic entry and discard the learn requests not yet
 * processed. Static entries stay. Control thread.
 * @return entries removed
 */
unsigned int fdb_flush(struct fdb *fdb);

/**
 * Remove every entry, static or dynamic, on @p port (the port is going
 * away). Pending learn requests for the port are discarded, the others
 * applied first. Control thread; see "Port removal" above.
 * @return entries removed
 */
unsigned int fdb_flush_port(struct fdb *fdb, uint16_t port);

/** Called by fdb_iterate() per entry; non-zero stops the walk. */
typedef int (*fdb_iter_cb)(const struct fdb_entry_info *e, void *arg);

/**
 * Call @p cb for every entry (for "show fdb"), in table order. Control
 * thread; @p cb must not change the table.
 * @return 0, or the first non-zero value cb returned
 */
int fdb_iterate(struct fdb *fdb, fdb_iter_cb cb, void *arg);

/** Fill @p st. Control thread (datapath counters may lag). */
void fdb_stats_get(struct fdb *fdb, struct fdb_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* FDB_H */
