/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>

#include "fdb.h"
#include "fdb_priv.h"
#include "vus_log.h"

_Static_assert(sizeof(struct fdb_key) == 8, "fdb_key must be 8 bytes without padding");
_Static_assert(sizeof(struct fdb_req) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(FDB_BULK_MAX <= RTE_HASH_LOOKUP_BULK_MAX, "one rte_hash bulk call per burst");

/* Slots beyond max_entries, so that slots deleted but still waiting for a
 * grace period do not make the table look full. */
#define FDB_HEADROOM_MIN 64u

static inline void *
port_to_data(uint16_t port)
{
	return (void *)(uintptr_t)port;
}

static inline uint16_t
data_to_port(const void *data)
{
	return (uint16_t)(uintptr_t)data;
}

static inline uint32_t
ms_to_s(uint64_t ms)
{
	return (uint32_t)(ms / 1000);
}

/* Signed, so a timestamp slightly ahead of "now" (another lcore read the
 * clock later) is young rather than 136 years old. */
static inline int32_t
age_s(uint32_t now_s, uint32_t then_s)
{
	return (int32_t)(now_s - then_s);
}

/*
 * The default clock: the TSC in milliseconds. The datapath reads the clock
 * once per burst to stamp what it learns; clock_gettime() there was a libc
 * call (a system call where the kernel's clock source is not the TSC) in
 * the hot path, 0.8 % of a switch lcore's samples at 64 B. EAL measured the
 * TSC's rate at start; a multiply and shift replaces the division.
 */
static uint64_t
tsc_ms(void *arg)
{
	const struct rte_reciprocal_u64 *per_ms = arg;

	return rte_reciprocal_divide_u64(rte_get_tsc_cycles(), per_ms);
}

uint64_t
fdb_now_ms(const struct fdb *fdb)
{
	return fdb->now_ms(fdb->clock_arg);
}

/* ---------------------------------------------------------------------------
 * Datapath
 */

static inline void
key_ptrs(const struct fdb_key *keys, unsigned int n, const void **kp)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		kp[i] = &keys[i];
}

int
fdb_lookup_bulk(struct fdb *fdb, const struct fdb_key *keys, unsigned int n, uint16_t *ports,
		uint64_t *hit_mask)
{
	const void *kp[FDB_BULK_MAX];
	void *data[FDB_BULK_MAX];
	struct fdb_lcore_stats *st;
	uint64_t hits = 0;
	unsigned int i, nb_hits;
	bool shared;

	if (unlikely(n == 0 || n > FDB_BULK_MAX)) {
		if (hit_mask != NULL)
			*hit_mask = 0;
		return n == 0 ? 0 : -EINVAL;
	}
	key_ptrs(keys, n, kp);
	/* The port lives in the hash's data word, read with the key: no
	 * second cache miss on the entry array. */
	rte_hash_lookup_bulk_data(fdb->h, kp, n, &hits, data);
	for (i = 0; i < n; i++)
		ports[i] = (hits >> i) & 1 ? data_to_port(data[i]) : FDB_PORT_NONE;
	if (hit_mask != NULL)
		*hit_mask = hits;

	nb_hits = (unsigned int)__builtin_popcountll(hits);
	st = my_stats(fdb, &shared);
	stat_add(&st->lookups, n, shared);
	if (nb_hits != n)
		stat_add(&st->lookup_misses, n - nb_hits, shared);
	return (int)nb_hits;
}

/* A source address worth learning: unicast, not all-zero, on a real port. */
static inline bool
learnable(const struct fdb_key *k, uint16_t port)
{
	return likely(port != FDB_PORT_NONE) && likely(rte_is_unicast_ether_addr(&k->mac)) &&
	       likely(!rte_is_zero_ether_addr(&k->mac));
}

/*
 * Queue a request once per burst: a burst of frames from a new host asks
 * once; if the key shows up on two ports in one burst, the last one wins.
 */
static inline unsigned int
req_add(struct fdb_req *req, unsigned int nreq, const struct fdb_key *k, uint16_t port)
{
	unsigned int j;

	for (j = 0; j < nreq; j++) {
		if (memcmp(&req[j].key, k, sizeof(*k)) == 0) {
			req[j].port = port;
			return nreq;
		}
	}
	req[nreq].key = *k;
	req[nreq].port = port;
	req[nreq].pad = 0;
	return nreq + 1;
}

/*
 * True if the entry at @p pos already says "key on port" (or is static):
 * then refresh last_seen at most once a second and ask nothing. *here
 * tells whether the entry names this very port.
 */
static inline bool
known_here(struct fdb *fdb, int32_t pos, uint16_t port, uint32_t now_s, bool *here)
{
	struct fdb_entry *e = &fdb->ent[pos];
	uint16_t fl = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	uint16_t ep = __atomic_load_n(&e->port, __ATOMIC_RELAXED);

	*here = (fl & FDB_F_USED) && ep == port;
	if (fl & FDB_F_STATIC)
		return true;
	if (unlikely(!*here))
		return false;
	if (unlikely(age_s(now_s, __atomic_load_n(&e->last_seen, __ATOMIC_RELAXED)) > 0))
		__atomic_store_n(&e->last_seen, now_s, __ATOMIC_RELAXED);
	return true;
}

/*
 * Wake the control thread, at most once per FDB_DOORBELL_GAP_MS. Without the
 * floor a guest could make an lcore pay a system call per control-thread
 * pass: frames with ever-new source addresses find the ring freshly drained
 * each time. A ring skipped inside the gap is owed: the next request after
 * the gap rings even into a ring that is not empty (a host not yet learnt
 * keeps asking with every burst); a request nobody follows waits for the
 * owner's timer (fdb.h: fdb_process() is also called periodically). Lcores
 * race on the compare-and-swap: one of them rings. A clock that went back
 * more than the gap (an injected one) does not silence the doorbell.
 */
static void
ring_doorbell(struct fdb *fdb, uint64_t now)
{
	uint64_t next = __atomic_load_n(&fdb->doorbell_next_ms, __ATOMIC_RELAXED);
	const uint64_t one = 1;

	if (fdb->doorbell < 0)
		return;
	if (now < next && next - now <= FDB_DOORBELL_GAP_MS) {
		/* Stored once per gap, not per request: lcores share the line. */
		if (!__atomic_load_n(&fdb->doorbell_owed, __ATOMIC_RELAXED))
			__atomic_store_n(&fdb->doorbell_owed, true, __ATOMIC_RELAXED);
		return;
	}
	if (!__atomic_compare_exchange_n(&fdb->doorbell_next_ms, &next, now + FDB_DOORBELL_GAP_MS,
					 false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	/* Cleared before the write: a skip after this sets it again. */
	__atomic_store_n(&fdb->doorbell_owed, false, __ATOMIC_RELAXED);
	(void)!write(fdb->doorbell, &one, sizeof(one));
}

int
fdb_learn_bulk_here(struct fdb *fdb, const struct fdb_key *keys, const uint16_t *ports,
		    unsigned int n, uint64_t now, uint64_t *here_mask)
{
	const void *kp[FDB_BULK_MAX];
	int32_t pos[FDB_BULK_MAX];
	struct fdb_req req[FDB_BULK_MAX];
	struct fdb_lcore_stats *st;
	uint32_t now_s = ms_to_s(now);
	unsigned int i, nreq = 0, enq, free_after;
	uint64_t mask = 0;
	bool shared;

	*here_mask = 0;
	if (unlikely(n == 0 || n > FDB_BULK_MAX))
		return n == 0 ? 0 : -EINVAL;
	key_ptrs(keys, n, kp);
	rte_hash_lookup_bulk(fdb->h, kp, n, pos);
	for (i = 0; i < n; i++) {
		bool here;

		if (unlikely(!learnable(&keys[i], ports[i])))
			continue;
		if (likely(pos[i] >= 0) &&
		    likely(known_here(fdb, pos[i], ports[i], now_s, &here))) {
			mask |= (uint64_t)here << i;
			continue;
		}
		nreq = req_add(req, nreq, &keys[i], ports[i]);
	}
	*here_mask = mask;
	if (likely(nreq == 0))
		return 0;

	enq = rte_ring_mp_enqueue_burst_elem(fdb->learn, req, sizeof(req[0]), nreq, &free_after);
	/* The first requests since the ring was last drained wake the control
	 * thread: one system call per learning burst, not per frame. */
	if (unlikely(enq != 0) && (free_after + enq == fdb->learn_cap ||
				   __atomic_load_n(&fdb->doorbell_owed, __ATOMIC_RELAXED)))
		ring_doorbell(fdb, now);
	st = my_stats(fdb, &shared);
	stat_add(&st->learn_requests, enq, shared);
	if (unlikely(enq != nreq))
		stat_add(&st->learn_drops, nreq - enq, shared);
	return (int)enq;
}

int
fdb_learn_bulk(struct fdb *fdb, const struct fdb_key *keys, const uint16_t *ports, unsigned int n,
	       uint64_t now)
{
	uint64_t here;

	return fdb_learn_bulk_here(fdb, keys, ports, n, now, &here);
}

/* ---------------------------------------------------------------------------
 * Control thread
 */

static bool
vlan_ok(uint16_t vlan)
{
	return vlan <= 0xfff;
}

/* Publish an entry for a key just added (or changed) at @p pos. flags go
 * last with release, so a reader that sees USED also sees port/last_seen. */
static void
entry_set(struct fdb *fdb, int32_t pos, uint16_t port, uint16_t flags, uint32_t now_s)
{
	struct fdb_entry *e = &fdb->ent[pos];

	__atomic_store_n(&e->port, port, __ATOMIC_RELAXED);
	__atomic_store_n(&e->last_seen, now_s, __ATOMIC_RELAXED);
	__atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
}

/* A reader still holding the position now sees "not in use". The slot
 * itself is recycled by the hash after a grace period (or at once without
 * qsbr, see fdb_params.qsbr). */
static void
entry_clear(struct fdb *fdb, int32_t pos)
{
	struct fdb_entry *e = &fdb->ent[pos];

	__atomic_store_n(&e->flags, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&e->port, FDB_PORT_NONE, __ATOMIC_RELAXED);
}

/*
 * A key was just deleted or moved: bump the generation so that every
 * per-lcore cache forgets what it remembered (fdb_cache.h). Release: a
 * cache that sees the new generation also sees the changed table. Done
 * where the table changes, so no control call can forget it.
 */
static inline void
gen_bump(struct fdb *fdb)
{
	__atomic_fetch_add(&fdb->gen, 1, __ATOMIC_RELEASE);
}

/* Remove @p key; -ENOENT if absent. Keeps the counts right. */
static int
del_key(struct fdb *fdb, const struct fdb_key *key)
{
	int32_t pos = rte_hash_del_key(fdb->h, key);

	if (pos < 0)
		return pos;
	if (fdb->ent[pos].flags & FDB_F_STATIC)
		fdb->static_entries--;
	entry_clear(fdb, pos);
	fdb->entries--;
	gen_bump(fdb);
	if (fdb->qsbr == NULL)
		rte_hash_free_key_with_position(fdb->h, pos);
	return 0;
}

/* Remove the key at @p pos (a walk over the entry array found it). */
static void
del_pos(struct fdb *fdb, int32_t pos)
{
	struct fdb_key key;
	void *kp;

	if (rte_hash_get_key_with_position(fdb->h, pos, &kp) != 0) {
		/* Cannot happen while USED is in sync with the hash. */
		entry_clear(fdb, pos);
		return;
	}
	memcpy(&key, kp, sizeof(key));
	del_key(fdb, &key);
}

/*
 * Add a new key. The port goes into the hash's data word atomically with
 * the key; the entry array follows (a reader that finds the key before the
 * entry is published merely asks to learn it again).
 * @return the position, or -ENOSPC.
 */
static int32_t
add_key(struct fdb *fdb, const struct fdb_key *key, uint16_t port, uint16_t flags, uint32_t now_s)
{
	int32_t pos;

	if (fdb->entries >= fdb->max_entries)
		return -ENOSPC;
	if (rte_hash_add_key_data(fdb->h, key, port_to_data(port)) != 0)
		return -ENOSPC; /* every spare slot still waits for a grace period */
	pos = rte_hash_lookup(fdb->h, key);
	RTE_ASSERT(pos >= 0);
	entry_set(fdb, pos, port, flags, now_s);
	fdb->entries++;
	if (flags & FDB_F_STATIC)
		fdb->static_entries++;
	return pos;
}

/* Point an existing key at @p port: the hash first (what lookups read),
 * then the entry (what learning compares against). */
static void
set_port(struct fdb *fdb, const struct fdb_key *key, int32_t pos, uint16_t port, uint16_t flags,
	 uint32_t now_s)
{
	rte_hash_add_key_data(fdb->h, key, port_to_data(port));
	entry_set(fdb, pos, port, flags, now_s);
	gen_bump(fdb);
}

/* Apply one learn request. @return 1 if the table changed. */
static unsigned int
learn_one(struct fdb *fdb, const struct fdb_req *r, uint32_t now_s)
{
	int32_t pos = rte_hash_lookup(fdb->h, &r->key);
	struct fdb_entry *e;

	if (pos < 0) {
		if (add_key(fdb, &r->key, r->port, FDB_F_USED, now_s) < 0) {
			fdb->learn_full++;
			return 0;
		}
		fdb->learned++;
		return 1;
	}
	e = &fdb->ent[pos];
	if (e->flags & FDB_F_STATIC)
		return 0;
	if (e->port == r->port) {
		/* Duplicate request (several lcores or bursts asked). */
		__atomic_store_n(&e->last_seen, now_s, __ATOMIC_RELAXED);
		return 0;
	}
	set_port(fdb, &r->key, pos, r->port, FDB_F_USED, now_s);
	fdb->moves++;
	return 1;
}

#define DRAIN_ALL UINT32_MAX

/*
 * Drain the learn ring. Requests for @p skip_port (or all of them, with
 * @p discard) are dropped instead of applied.
 */
static unsigned int
drain(struct fdb *fdb, uint32_t now_s, uint32_t skip_port, bool discard)
{
	struct fdb_req req[32];
	unsigned int i, n, changed = 0;

	while ((n = rte_ring_sc_dequeue_burst_elem(fdb->learn, req, sizeof(req[0]), RTE_DIM(req),
						   NULL)) != 0) {
		if (discard)
			continue;
		for (i = 0; i < n; i++) {
			if (req[i].port != skip_port)
				changed += learn_one(fdb, &req[i], now_s);
		}
	}
	return changed;
}

static unsigned int
age_pass(struct fdb *fdb, uint32_t now_s)
{
	unsigned int n = 0;
	uint32_t pos;

	for (pos = 0; pos < fdb->nb_pos; pos++) {
		const struct fdb_entry *e = &fdb->ent[pos];

		if ((e->flags & (FDB_F_USED | FDB_F_STATIC)) != FDB_F_USED)
			continue;
		/* "More than aging_s": last_seen is whole seconds, so an entry
		 * is never dropped before it was idle for the aging time. */
		if (age_s(now_s, __atomic_load_n(&e->last_seen, __ATOMIC_RELAXED)) >
		    (int32_t)fdb->aging_s) {
			del_pos(fdb, (int32_t)pos);
			n++;
		}
	}
	fdb->aged += n;
	return n;
}

int
fdb_learn_fd(const struct fdb *fdb)
{
	return fdb->doorbell;
}

unsigned int
fdb_process(struct fdb *fdb, uint64_t now)
{
	uint32_t now_s = ms_to_s(now);
	unsigned int changed;
	uint64_t rung;

	/* Reset the doorbell first (EAGAIN: not rung): a request queued from
	 * here on rings it again, or is drained below. */
	if (fdb->doorbell >= 0)
		(void)!read(fdb->doorbell, &rung, sizeof(rung));
	/* What a skipped ring was owed for is drained below. */
	__atomic_store_n(&fdb->doorbell_owed, false, __ATOMIC_RELAXED);
	changed = drain(fdb, now_s, DRAIN_ALL, false);

	/* Ages are whole seconds: one pass a second is enough. */
	if (fdb->aging_s != 0 && age_s(now_s, fdb->last_age_s) >= 1) {
		fdb->last_age_s = now_s;
		changed += age_pass(fdb, now_s);
	}
	return changed;
}

void
fdb_set_aging(struct fdb *fdb, uint32_t aging_s)
{
	fdb->aging_s = RTE_MIN(aging_s, (uint32_t)INT32_MAX);
}

int
fdb_add_static(struct fdb *fdb, uint16_t vlan, const struct rte_ether_addr *mac, uint16_t port)
{
	const uint16_t flags = FDB_F_USED | FDB_F_STATIC;
	struct fdb_key key;
	uint32_t now_s;
	int32_t pos;

	if (!vlan_ok(vlan) || port == FDB_PORT_NONE)
		return -EINVAL;
	key = fdb_key_make(vlan, mac);
	now_s = ms_to_s(fdb_now_ms(fdb));
	pos = rte_hash_lookup(fdb->h, &key);
	if (pos < 0)
		return add_key(fdb, &key, port, flags, now_s) < 0 ? -ENOSPC : 0;
	if (!(fdb->ent[pos].flags & FDB_F_STATIC))
		fdb->static_entries++;
	set_port(fdb, &key, pos, port, flags, now_s);
	return 0;
}

int
fdb_del(struct fdb *fdb, uint16_t vlan, const struct rte_ether_addr *mac)
{
	struct fdb_key key;
	int ret;

	if (!vlan_ok(vlan))
		return -EINVAL;
	key = fdb_key_make(vlan, mac);
	ret = del_key(fdb, &key);
	if (ret == 0)
		fdb->removed++;
	return ret;
}

/* Remove every used entry @p match accepts. */
static unsigned int
remove_if(struct fdb *fdb, bool (*match)(const struct fdb_entry *e, uint16_t port), uint16_t port)
{
	unsigned int n = 0;
	uint32_t pos;

	for (pos = 0; pos < fdb->nb_pos; pos++) {
		const struct fdb_entry *e = &fdb->ent[pos];

		if ((e->flags & FDB_F_USED) && match(e, port)) {
			del_pos(fdb, (int32_t)pos);
			n++;
		}
	}
	fdb->removed += n;
	return n;
}

static bool
is_dynamic(const struct fdb_entry *e, uint16_t port)
{
	RTE_SET_USED(port);
	return !(e->flags & FDB_F_STATIC);
}

static bool
on_port(const struct fdb_entry *e, uint16_t port)
{
	return e->port == port;
}

unsigned int
fdb_flush(struct fdb *fdb)
{
	drain(fdb, 0, DRAIN_ALL, true);
	return remove_if(fdb, is_dynamic, 0);
}

unsigned int
fdb_flush_port(struct fdb *fdb, uint16_t port)
{
	drain(fdb, ms_to_s(fdb_now_ms(fdb)), port, false);
	return remove_if(fdb, on_port, port);
}

int
fdb_iterate(struct fdb *fdb, fdb_iter_cb cb, void *arg)
{
	uint32_t now_s = ms_to_s(fdb_now_ms(fdb));
	struct fdb_entry_info info;
	uint32_t pos;
	int ret;

	for (pos = 0; pos < fdb->nb_pos; pos++) {
		const struct fdb_entry *e = &fdb->ent[pos];
		struct fdb_key key;
		int32_t age;
		void *kp;

		if (!(e->flags & FDB_F_USED) ||
		    rte_hash_get_key_with_position(fdb->h, (int32_t)pos, &kp) != 0)
			continue;
		memcpy(&key, kp, sizeof(key));
		age = age_s(now_s, __atomic_load_n(&e->last_seen, __ATOMIC_RELAXED));
		info.vlan = key.vlan;
		info.mac = key.mac;
		info.port = e->port;
		info.is_static = (e->flags & FDB_F_STATIC) != 0;
		info.age_s = info.is_static || age < 0 ? 0 : (uint32_t)age;
		ret = cb(&info, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

void
fdb_stats_get(struct fdb *fdb, struct fdb_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->entries = fdb->entries;
	st->static_entries = fdb->static_entries;
	st->max_entries = fdb->max_entries;
	st->learned = fdb->learned;
	st->moves = fdb->moves;
	st->aged = fdb->aged;
	st->learn_full = fdb->learn_full;
	st->removed = fdb->removed;
	for (i = 0; i <= RTE_MAX_LCORE; i++) {
		const struct fdb_lcore_stats *l = &fdb->lstats[i];

		st->lookups += __atomic_load_n(&l->lookups, __ATOMIC_RELAXED);
		st->lookup_misses += __atomic_load_n(&l->lookup_misses, __ATOMIC_RELAXED);
		st->learn_requests += __atomic_load_n(&l->learn_requests, __ATOMIC_RELAXED);
		st->learn_drops += __atomic_load_n(&l->learn_drops, __ATOMIC_RELAXED);
		st->cache_hits += __atomic_load_n(&l->cache_hits, __ATOMIC_RELAXED);
		st->learn_cache_hits += __atomic_load_n(&l->learn_cache_hits, __ATOMIC_RELAXED);
	}
}

/* ---------------------------------------------------------------------------
 * Creation
 */

static struct rte_hash *
hash_create(const char *name, uint32_t slots, int socket_id, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = slots,
		.key_len = sizeof(struct fdb_key),
		.hash_func = NULL,                          /* CRC32 on x86 */
		.hash_func_init_val = (uint32_t)rte_rand(), /* keys come from the wire */
		.socket_id = socket_id,
		/* EXT_TABLE: cuckoo collisions never make the table full
		 * before it holds `slots` keys. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash_rcu_config rc = {
		.v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ, /* never block the control thread */
	};
	struct rte_hash *h = rte_hash_create(&hp);

	if (h == NULL || qsbr == NULL)
		return h;
	if (rte_hash_rcu_qsbr_add(h, &rc) != 0) {
		rte_hash_free(h);
		return NULL;
	}
	return h;
}

static int
fdb_alloc_parts(struct fdb *fdb, const struct fdb_params *p, uint32_t ring_size)
{
	static uint32_t seq; /* unique memzone names */
	uint32_t id = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
	uint32_t slots = fdb->max_entries + RTE_MAX(fdb->max_entries / 8, FDB_HEADROOM_MIN);
	char name[RTE_HASH_NAMESIZE];

	snprintf(name, sizeof(name), "fdb%u", id);
	fdb->h = hash_create(name, slots, p->socket_id, p->qsbr);
	if (fdb->h == NULL)
		return -rte_errno;
	fdb->nb_pos = (uint32_t)rte_hash_max_key_id(fdb->h);
	fdb->ent = rte_zmalloc_socket("fdb_ent", sizeof(*fdb->ent) * fdb->nb_pos,
				      RTE_CACHE_LINE_SIZE, p->socket_id);
	fdb->lstats = rte_zmalloc_socket("fdb_stats", sizeof(*fdb->lstats) * (RTE_MAX_LCORE + 1),
					 RTE_CACHE_LINE_SIZE, p->socket_id);
	if (fdb->ent == NULL || fdb->lstats == NULL)
		return -ENOMEM;
	snprintf(name, sizeof(name), "fdbl%u", id);
	fdb->learn = rte_ring_create_elem(name, sizeof(struct fdb_req), ring_size, p->socket_id,
					  RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (fdb->learn == NULL)
		return -rte_errno;
	fdb->learn_cap = rte_ring_get_capacity(fdb->learn);
	/* Optional: without it the owner's periodic fdb_process() still learns. */
	fdb->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return 0;
}

struct fdb *
fdb_create(const struct fdb_params *p)
{
	uint32_t ring_size;
	struct fdb *fdb;
	int ret;

	if (p == NULL || p->max_entries > RTE_HASH_ENTRIES_MAX / 2 || p->aging_s > INT32_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	fdb = rte_zmalloc_socket("fdb", sizeof(*fdb), RTE_CACHE_LINE_SIZE, p->socket_id);
	if (fdb == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	fdb->doorbell = -1;
	fdb->max_entries = p->max_entries ? p->max_entries : FDB_DEFAULT_ENTRIES;
	fdb->aging_s = p->aging_s ? p->aging_s : FDB_DEFAULT_AGING_S;
	fdb->qsbr = p->qsbr;
	if (p->now_ms != NULL) {
		fdb->now_ms = p->now_ms;
		fdb->clock_arg = p->clock_arg;
	} else {
		/* EAL measured the rate at start (rte_zmalloc above needs EAL). */
		fdb->tsc_per_ms = rte_reciprocal_value_u64(
			RTE_MAX(rte_get_tsc_hz() / 1000, (uint64_t)1));
		fdb->now_ms = tsc_ms;
		fdb->clock_arg = &fdb->tsc_per_ms;
	}
	ring_size = p->learn_ring_size ? p->learn_ring_size : FDB_DEFAULT_LEARN_RING;

	ret = fdb_alloc_parts(fdb, p, ring_size);
	if (ret != 0) {
		VUS_CTRL_LOG(ERR, "fdb: cannot create a table of %u entries: %s\n",
			     fdb->max_entries, rte_strerror(-ret));
		fdb_destroy(fdb);
		rte_errno = -ret;
		return NULL;
	}
	fdb->last_age_s = ms_to_s(fdb_now_ms(fdb));
	for (uint32_t i = 0; i < fdb->nb_pos; i++)
		fdb->ent[i].port = FDB_PORT_NONE;
	return fdb;
}

void
fdb_destroy(struct fdb *fdb)
{
	if (fdb == NULL)
		return;
	rte_ring_free(fdb->learn);
	if (fdb->doorbell >= 0)
		close(fdb->doorbell);
	rte_hash_free(fdb->h); /* also frees its RCU defer queue */
	rte_free(fdb->lstats);
	rte_free(fdb->ent);
	rte_free(fdb);
}
