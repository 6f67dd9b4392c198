/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/fdb micro-benchmark (not a test): cycles per key of
 * fdb_lookup_bulk() in 32-key bursts over tables of 1k and 64k entries,
 * all hits and all misses, and of fdb_learn_bulk() for known sources (the
 * datapath's steady state). For comparison it also times the two ways of
 * getting a port out of a bare rte_hash of the same kind: the port in the
 * hash's data word (what lib/fdb does) and positions plus a side array.
 *
 *   fdb_bench [EAL arguments]
 *
 * Without arguments: --no-huge, one lcore, a private file prefix. Pass e.g.
 * "-l 1 --file-prefix fdbb" to run on hugepages on a quiet core.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "fdb.h"
#include "fdb_cache.h"

#define BURST 32u
#define QUERIES 32768u /* keys per pass: 256 KiB, cycled */
#define PASSES 201u

static struct fdb_key *g_table_keys; /* the keys in the table */
static struct fdb_key *g_query;      /* what the bursts look up */

static void
make_keys(struct fdb_key *k, uint32_t n, uint64_t salt)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t r = rte_rand() ^ salt;
		struct rte_ether_addr m = { { 0x02, (uint8_t)(r >> 8), (uint8_t)(r >> 16),
					      (uint8_t)(r >> 24), (uint8_t)(i >> 8), (uint8_t)i } };

		/* The last two bytes and the VLAN keep the keys distinct. */
		k[i] = fdb_key_make((uint16_t)((i >> 16) | ((r & 0xf) << 4)), &m);
	}
}

static void
make_query(uint32_t n, bool hits)
{
	for (uint32_t i = 0; i < QUERIES; i++) {
		g_query[i] = g_table_keys[rte_rand_max(n)];
		if (!hits)
			g_query[i].mac.addr_bytes[0] = 0x06; /* never in the table */
	}
}

typedef void (*burst_fn)(void *ctx, const struct fdb_key *keys);

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Cycles per key, median of PASSES timed passes over the queries. A pass
 * is short (~100 us), so on a shared machine most passes run unpreempted
 * and the median ignores the ones that were not.
 */
static double
measure(burst_fn fn, void *ctx)
{
	uint64_t t[PASSES];

	for (uint32_t q = 0; q < QUERIES; q += BURST) /* warm up */
		fn(ctx, &g_query[q]);
	for (uint32_t p = 0; p < PASSES; p++) {
		uint64_t t0 = rte_rdtsc_precise();

		for (uint32_t q = 0; q < QUERIES; q += BURST)
			fn(ctx, &g_query[q]);
		t[p] = rte_rdtsc_precise() - t0;
	}
	qsort(t, PASSES, sizeof(t[0]), cmp_u64);
	return (double)t[PASSES / 2] / QUERIES;
}

static volatile uint16_t g_sink;

static void
fdb_lookup_burst(void *ctx, const struct fdb_key *keys)
{
	uint16_t ports[BURST];

	fdb_lookup_bulk(ctx, keys, BURST, ports, NULL);
	g_sink = ports[BURST - 1];
}

static void
fdb_learn_burst(void *ctx, const struct fdb_key *keys)
{
	static const uint16_t ports[BURST]; /* all on port 0, as added */

	fdb_learn_bulk(ctx, keys, ports, BURST, 1000);
}

static void
cache_lookup_burst(void *ctx, const struct fdb_key *keys)
{
	uint16_t ports[BURST];

	fdb_cache_lookup_bulk(ctx, keys, BURST, ports);
	g_sink = ports[BURST - 1];
}

static void
cache_learn_burst(void *ctx, const struct fdb_key *keys)
{
	static const uint16_t ports[BURST];

	fdb_cache_learn_bulk(ctx, keys, ports, BURST, 1000);
}

struct raw {
	struct rte_hash *h;
	uint16_t *port_by_pos;
};

static void
raw_data_burst(void *ctx, const struct fdb_key *keys)
{
	struct raw *r = ctx;
	const void *kp[BURST];
	void *data[BURST];
	uint64_t hits;

	for (uint32_t i = 0; i < BURST; i++)
		kp[i] = &keys[i];
	rte_hash_lookup_bulk_data(r->h, kp, BURST, &hits, data);
	g_sink = (uint16_t)(uintptr_t)data[0] + (uint16_t)hits;
}

static void
raw_pos_burst(void *ctx, const struct fdb_key *keys)
{
	struct raw *r = ctx;
	const void *kp[BURST];
	int32_t pos[BURST];
	uint16_t acc = 0;

	for (uint32_t i = 0; i < BURST; i++)
		kp[i] = &keys[i];
	rte_hash_lookup_bulk(r->h, kp, BURST, pos);
	for (uint32_t i = 0; i < BURST; i++)
		acc += pos[i] >= 0 ? r->port_by_pos[pos[i]] : 0;
	g_sink = acc;
}

static struct raw
raw_create(uint32_t n)
{
	static unsigned int seq;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = n + (n / 8 > 64 ? n / 8 : 64),
		.key_len = sizeof(struct fdb_key),
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct raw r;

	snprintf(name, sizeof(name), "bench%u", seq++);
	r.h = rte_hash_create(&hp);
	r.port_by_pos = rte_zmalloc(NULL, sizeof(uint16_t) * rte_hash_max_key_id(r.h), 64);
	if (r.h == NULL || r.port_by_pos == NULL) {
		fprintf(stderr, "raw hash: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		rte_hash_add_key_data(r.h, &g_table_keys[i], (void *)(uintptr_t)i);
		r.port_by_pos[rte_hash_lookup(r.h, &g_table_keys[i])] = (uint16_t)i;
	}
	return r;
}

static void
run(uint32_t n)
{
	struct fdb_params p = { .max_entries = n, .socket_id = SOCKET_ID_ANY };
	double hz = (double)rte_get_tsc_hz();
	struct fdb *fdb = fdb_create(&p);
	struct fdb_stats st;
	struct raw raw;

	if (fdb == NULL) {
		fprintf(stderr, "fdb_create: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	make_keys(g_table_keys, n, (uint64_t)n << 32);
	for (uint32_t i = 0; i < n; i++) {
		/* Dynamic entries on port 0 (learned at t=1 s, aging never runs). */
		fdb_learn_bulk(fdb, &g_table_keys[i], &(uint16_t){ 0 }, 1, 1000);
		if (i % 1024 == 1023)
			fdb_process(fdb, 1000);
	}
	fdb_process(fdb, 1000);
	fdb_stats_get(fdb, &st);
	if (st.entries != n) {
		fprintf(stderr, "table has %u entries, expected %u\n", st.entries, n);
		exit(1);
	}

	make_query(n, true);
	double hit = measure(fdb_lookup_burst, fdb);
	double learn = measure(fdb_learn_burst, fdb);
	raw = raw_create(n);
	double rdata = measure(raw_data_burst, &raw);
	double rpos = measure(raw_pos_burst, &raw);
	make_query(n, false);
	double miss = measure(fdb_lookup_burst, fdb);
	/* The per-lcore cache over a working set that fits it (1k hosts). */
	struct fdb_cache *c = fdb_cache_create(fdb, 0, SOCKET_ID_ANY);
	if (c == NULL)
		exit(1);
	make_query(RTE_MIN(n, 1024u), true);
	double chit = measure(cache_lookup_burst, c);
	double clearn = measure(cache_learn_burst, c);
	fdb_cache_free(c);

	printf("%6u entries: lookup_bulk hit %6.1f cyc/key (%5.1f ns, %6.0f cyc/burst), "
	       "miss %6.1f cyc/key; learn_bulk (known) %6.1f cyc/key\n",
	       n, hit, hit * 1e9 / hz, hit * BURST, miss, learn);
	printf("%6s          bare rte_hash: port in data word %6.1f cyc/key, positions + array "
	       "%6.1f cyc/key\n",
	       "", rdata, rpos);
	printf("%6s          per-lcore cache, 1k hosts: lookup %6.1f cyc/key, learn (known) "
	       "%6.1f cyc/key\n",
	       "", chit, clearn);

	rte_hash_free(raw.h);
	rte_free(raw.port_by_pos);
	fdb_destroy(fdb);
}

/* The datapath reads the default clock once per burst: what does it cost? */
static void
clock_cost(void)
{
	struct fdb_params p = { .max_entries = 64, .socket_id = SOCKET_ID_ANY };
	struct fdb *fdb = fdb_create(&p);
	uint64_t t[PASSES], sum = 0;

	if (fdb == NULL)
		exit(1);
	for (uint32_t i = 0; i < PASSES; i++) {
		uint64_t t0 = rte_rdtsc_precise();

		for (uint32_t j = 0; j < 1024; j++)
			sum += fdb_now_ms(fdb);
		t[i] = rte_rdtsc_precise() - t0;
	}
	qsort(t, PASSES, sizeof(t[0]), cmp_u64);
	g_sink = (uint16_t)sum;
	printf("fdb_now_ms (default clock: TSC): %.1f cycles per call\n",
	       (double)t[PASSES / 2] / 1024);
	fdb_destroy(fdb);
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char *def[] = {
		argv[0], "--no-huge",          "-m", "256", "--no-pci", "-l", "0", "--file-prefix",
		prefix,  "--log-level=*:error"
	};

	snprintf(prefix, sizeof(prefix), "vus-fdb-bench-%d", (int)getpid());
	if (argc > 1 ? rte_eal_init(argc, argv) < 0 : rte_eal_init(RTE_DIM(def), def) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	g_table_keys = calloc(FDB_DEFAULT_ENTRIES, sizeof(*g_table_keys));
	g_query = calloc(QUERIES, sizeof(*g_query));
	if (g_table_keys == NULL || g_query == NULL)
		return 1;
	printf("fdb_bench: %u-key bursts, TSC %.2f GHz, median of %u passes of %u keys\n", BURST,
	       (double)rte_get_tsc_hz() / 1e9, PASSES, QUERIES);
	run(1024);
	run(FDB_DEFAULT_ENTRIES);
	clock_cost();
	free(g_table_keys);
	free(g_query);
	rte_eal_cleanup();
	return 0;
}
