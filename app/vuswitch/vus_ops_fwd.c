/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations layer: the forwarding runtime (engine, start, stop,
 * lcores) and the forwarding table. See vus_ops.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vus_log.h"
#include "vus_ops_priv.h"

/* How long "start tx_first" waits for the lcores to send their bursts. */
#define TX_FIRST_WAIT_MS 2000
/* Most bursts "start tx_first N" accepts (32768 frames per queue). */
#define TX_FIRST_MAX 1024

static void
lstats_sub(struct fwd_lcore_stats *a, const struct fwd_lcore_stats *b)
{
	a->rx_packets -= b->rx_packets;
	a->tx_packets -= b->tx_packets;
	a->tx_dropped -= b->tx_dropped;
	a->fwd_dropped -= b->fwd_dropped;
	a->flooded -= b->flooded;
	a->busy_loops -= b->busy_loops;
	a->loops -= b->loops;
	a->idle_sleeps -= b->idle_sleeps;
}

static void
lstats_add(struct fwd_lcore_stats *a, const struct fwd_lcore_stats *b)
{
	a->rx_packets += b->rx_packets;
	a->tx_packets += b->tx_packets;
	a->tx_dropped += b->tx_dropped;
	a->fwd_dropped += b->fwd_dropped;
	a->flooded += b->flooded;
	a->busy_loops += b->busy_loops;
	a->loops += b->loops;
	a->idle_sleeps += b->idle_sleeps;
}

static void
swstats_sub(struct fwd_switch_stats *a, const struct fwd_switch_stats *b)
{
	a->unicast -= b->unicast;
	a->flooded -= b->flooded;
	a->drop_vlan -= b->drop_vlan;
	a->drop_same_port -= b->drop_same_port;
	a->drop_runt -= b->drop_runt;
	a->drop_nomem -= b->drop_nomem;
}

/* The lcore's plan: the control thread frees plans, so it may read them. */
static void
lcore_fill(unsigned int i, struct vus_lcore_info *li)
{
	struct fwd_lcore *lc = fwd_lcore_get(g_ops.p.rt, i);
	const struct fwd_plan *plan = atomic_load(&lc->plan);

	li->lcore_id = lc->lcore_id;
	li->txq = lc->txq;
	li->stats = lc->stats;
	lstats_sub(&li->stats, &g_ops.lbase[i]);
	li->npolls = plan != NULL ? plan->n : 0;
	li->load_ppm = 0;
	for (uint16_t k = 0; k < li->npolls; k++) {
		uint16_t id = plan->polls[k].port->id, q = plan->polls[k].queue;
		int32_t load = fwd_queue_load(g_ops.p.rt, id, q);

		li->load_ppm += load > 0 ? (uint64_t)load : 0;
		if (k >= VUS_OPS_MAX_POLLS)
			continue;
		li->polls[k].port = id;
		li->polls[k].queue = q;
		li->polls[k].load_ppm = load;
	}
}

struct fwd_args {
	struct vus_fwd_info *fi;
	const char *name;
	uint32_t tx_first;
	struct fwd_rebalance_result *rb;
	char *err;
};

static int
do_fwd_get(void *arg)
{
	struct fwd_args *a = arg;
	struct vus_fwd_info *fi = a->fi;
	const struct fwd_ports *ports = fwd_ports_get(g_ops.p.rt);

	memset(fi, 0, sizeof(*fi));
	snprintf(fi->engine, sizeof(fi->engine), "%s", fwd_get_engine(g_ops.p.rt)->name);
	fi->running = fwd_is_running(g_ops.p.rt);
	fi->nports = ports != NULL ? ports->n : 0;
	fi->nb_lcores = fwd_nb_lcores(g_ops.p.rt);
	for (unsigned int i = 0; i < fi->nb_lcores; i++) {
		lcore_fill(i, &fi->lcores[i]);
		lstats_add(&fi->total, &fi->lcores[i].stats);
	}
	fwd_switch_stats_get(g_ops.p.sw, &fi->sw);
	swstats_sub(&fi->sw, &g_ops.swbase);
	fi->rebalance_interval_s = g_ops.p.rebalance_interval_s;
	fi->idle_sleep_us = fwd_idle_sleep_us(g_ops.p.rt);
	return 0;
}

int
vus_ops_fwd_get(struct vus_fwd_info *fi, char *err)
{
	struct fwd_args a = { .fi = fi, .err = err };

	return ops_call(do_fwd_get, &a, err);
}

static int
do_fwd_clear(void *arg)
{
	for (unsigned int i = 0; i < fwd_nb_lcores(g_ops.p.rt); i++)
		g_ops.lbase[i] = fwd_lcore_get(g_ops.p.rt, i)->stats;
	fwd_switch_stats_get(g_ops.p.sw, &g_ops.swbase);
	return 0;
}

int
vus_ops_fwd_clear(char *err)
{
	return ops_call(do_fwd_clear, NULL, err);
}

static int
do_set_engine(void *arg)
{
	struct fwd_args *a = arg;
	const struct fwd_engine *e = fwd_engine_find(a->name);

	if (fwd_is_running(g_ops.p.rt))
		return ops_fail(a->err, -EBUSY, "forwarding is running: stop it first");
	fwd_set_engine(g_ops.p.rt, e);
	VUS_CTRL_LOG(INFO, "forwarding engine: %s\n", e->name);
	return 0;
}

int
vus_ops_fwd_set_engine(const char *name, char *err)
{
	struct fwd_args a = { .name = name, .err = err };

	if (name == NULL || fwd_engine_find(name) == NULL)
		return ops_fail(err, -EINVAL, "unknown forwarding mode '%s' (known: %s)",
				name != NULL ? name : "", fwd_engine_names());
	return ops_call(do_set_engine, &a, err);
}

static int
do_fwd_start(void *arg)
{
	struct fwd_args *a = arg;

	if (fwd_is_running(g_ops.p.rt))
		return ops_fail(a->err, -EALREADY, "forwarding already started");
	if (a->tx_first > 0 && fwd_nb_lcores(g_ops.p.rt) == 0)
		return ops_fail(a->err, -ENOTSUP, "tx_first needs a forwarding lcore");
	if (a->tx_first > 0)
		return fwd_start_tx_first(g_ops.p.rt, a->tx_first);
	fwd_set_running(g_ops.p.rt, true);
	return 0;
}

int
vus_ops_fwd_start(uint32_t tx_first, char *err)
{
	struct fwd_args a = { .tx_first = tx_first, .err = err };
	int ret;

	if (tx_first > TX_FIRST_MAX)
		return ops_fail(err, -EINVAL, "tx_first bursts must be 1..%u", TX_FIRST_MAX);
	ret = ops_enter(err);
	if (ret != 0)
		return ret;
	ret = ops_call(do_fwd_start, &a, err);
	/* Wait here, not on the control thread, which must keep serving. */
	for (int ms = 0; ret == 0 && ms < TX_FIRST_WAIT_MS; ms++) {
		if (fwd_tx_first_pending(g_ops.p.rt) == 0)
			break;
		usleep(1000);
	}
	ops_leave();
	return ret;
}

static int
do_fwd_stop(void *arg)
{
	struct fwd_args *a = arg;

	if (!fwd_is_running(g_ops.p.rt))
		return ops_fail(a->err, -EALREADY, "forwarding not started");
	fwd_set_running(g_ops.p.rt, false);
	return 0;
}

int
vus_ops_fwd_stop(char *err)
{
	struct fwd_args a = { .err = err };

	return ops_call(do_fwd_stop, &a, err);
}

static void
log_rebalance(const char *what, const struct fwd_rebalance_result *r)
{
	VUS_CTRL_LOG(INFO, "%s: %u queue(s) moved, busiest lcore %.1f%% -> %.1f%%\n", what,
		     r->moved, (double)r->max_before / 1e4, (double)r->max_after / 1e4);
}

static int
do_fwd_rebalance(void *arg)
{
	struct fwd_args *a = arg;
	int ret;

	if (fwd_nb_lcores(g_ops.p.rt) == 0)
		return ops_fail(a->err, -ENOTSUP, "no forwarding lcore (EAL -l has one core)");
	ret = fwd_rebalance(g_ops.p.rt, 0, a->rb);
	if (ret != 0)
		return ops_fail(a->err, ret, "rebalance failed: %s", strerror(-ret));
	if (a->rb->applied)
		log_rebalance("rebalance", a->rb);
	return 0;
}

int
vus_ops_fwd_rebalance(struct fwd_rebalance_result *r, char *err)
{
	struct fwd_args a = { .rb = r, .err = err };

	memset(r, 0, sizeof(*r));
	return ops_call(do_fwd_rebalance, &a, err);
}

void
vus_ops_fwd_tick(void)
{
	unsigned int every = g_ops.p.rebalance_interval_s * 1000u / FWD_LOAD_INTERVAL_MS;
	struct fwd_rebalance_result r;

	fwd_load_sample(g_ops.p.rt);
	if (every == 0 || ++g_ops.load_ticks < every)
		return;
	g_ops.load_ticks = 0;
	if (fwd_nb_lcores(g_ops.p.rt) > 1 &&
	    fwd_rebalance(g_ops.p.rt, VUS_AUTO_REBALANCE_GAIN_PCT, &r) == 0 && r.applied)
		log_rebalance("automatic rebalance", &r);
}

/* --- forwarding table -------------------------------------------------------------------- */

struct fdb_args {
	int vlan;
	struct vus_fdb_dump *d;
	unsigned int cap;
	struct rte_ether_addr mac;
	int port;
	uint32_t aging_s;
	bool found;
	char *err;
};

static int
collect(const struct fdb_entry_info *e, void *arg)
{
	struct fdb_args *a = arg;
	struct vus_fdb_dump *d = a->d;

	if (a->vlan >= 0 && e->vlan != a->vlan)
		return 0;
	if (d->n == a->cap) {
		unsigned int cap = a->cap != 0 ? 2 * a->cap : 256;
		struct fdb_entry_info *ne = realloc(d->e, cap * sizeof(*ne));

		if (ne == NULL)
			return -ENOMEM;
		d->e = ne;
		a->cap = cap;
	}
	d->e[d->n++] = *e;
	return 0;
}

static int
entry_cmp(const void *x, const void *y)
{
	const struct fdb_entry_info *a = x, *b = y;

	if (a->vlan != b->vlan)
		return a->vlan < b->vlan ? -1 : 1;
	return memcmp(&a->mac, &b->mac, sizeof(a->mac));
}

static int
do_fdb_dump(void *arg)
{
	struct fdb_args *a = arg;
	struct fdb *fdb = fwd_switch_fdb(g_ops.p.sw);
	int ret;

	memset(a->d, 0, sizeof(*a->d));
	fdb_stats_get(fdb, &a->d->stats);
	a->d->aging_s = g_ops.aging_s;
	ret = fdb_iterate(fdb, collect, a);
	if (ret != 0) {
		vus_ops_fdb_dump_free(a->d);
		return ops_fail(a->err, ret, "out of memory");
	}
	if (a->d->n > 1)
		qsort(a->d->e, a->d->n, sizeof(*a->d->e), entry_cmp);
	return 0;
}

int
vus_ops_fdb_dump(int vlan, struct vus_fdb_dump *d, char *err)
{
	struct fdb_args a = { .vlan = vlan, .d = d, .err = err };

	memset(d, 0, sizeof(*d));
	if (vlan > 4095)
		return ops_fail(err, -EINVAL, "VLAN must be 0..4095, got %d", vlan);
	return ops_call(do_fdb_dump, &a, err);
}

void
vus_ops_fdb_dump_free(struct vus_fdb_dump *d)
{
	free(d->e);
	d->e = NULL;
	d->n = 0;
}

static int
do_fdb_add(void *arg)
{
	struct fdb_args *a = arg;
	int ret;

	if (ops_port_get((uint16_t)a->port, a->err) == NULL)
		return -ENOENT;
	ret = fdb_add_static(fwd_switch_fdb(g_ops.p.sw), (uint16_t)a->vlan, &a->mac,
			     (uint16_t)a->port);
	if (ret == -ENOSPC)
		return ops_fail(a->err, ret, "the table is full");
	if (ret != 0)
		return ops_fail(a->err, ret, "not added: %s", strerror(-ret));
	return 0;
}

static int
check_entry(const struct rte_ether_addr *mac, uint16_t vlan, char *err)
{
	if (vlan < 1 || vlan > 4094)
		return ops_fail(err, -EINVAL, "VLAN must be 1..4094, got %u", vlan);
	if (!rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac))
		return ops_fail(err, -EINVAL, "entries are for unicast addresses");
	return 0;
}

int
vus_ops_fdb_add(const struct rte_ether_addr *mac, uint16_t vlan, uint16_t port, char *err)
{
	struct fdb_args a = { .vlan = vlan, .mac = *mac, .port = port, .err = err };
	int ret = check_entry(mac, vlan, err);

	return ret != 0 ? ret : ops_call(do_fdb_add, &a, err);
}

static int
find_entry(const struct fdb_entry_info *e, void *arg)
{
	struct fdb_args *a = arg;

	if (e->vlan != a->vlan || !rte_is_same_ether_addr(&e->mac, &a->mac))
		return 0;
	a->found = true;
	a->port = a->port < 0 || e->port == a->port ? -1 : e->port;
	return 1;
}

static int
do_fdb_del(void *arg)
{
	struct fdb_args *a = arg;
	struct fdb *fdb = fwd_switch_fdb(g_ops.p.sw);
	int want = a->port;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	rte_ether_format_addr(mac, sizeof(mac), &a->mac);
	fdb_iterate(fdb, find_entry, a);
	if (!a->found)
		return ops_fail(a->err, -ENOENT, "no entry for %s in VLAN %d", mac, a->vlan);
	/* find_entry left the entry's port in a->port if it is not the one asked for. */
	if (a->port >= 0)
		return ops_fail(a->err, -ENOENT, "%s in VLAN %d is on port %d, not %d", mac,
				a->vlan, a->port, want);
	return fdb_del(fdb, (uint16_t)a->vlan, &a->mac);
}

int
vus_ops_fdb_del(const struct rte_ether_addr *mac, uint16_t vlan, int port, char *err)
{
	struct fdb_args a = { .vlan = vlan, .mac = *mac, .port = port, .err = err };
	int ret = check_entry(mac, vlan, err);

	return ret != 0 ? ret : ops_call(do_fdb_del, &a, err);
}

static int
do_fdb_flush(void *arg)
{
	return (int)fdb_flush(fwd_switch_fdb(g_ops.p.sw));
}

int
vus_ops_fdb_flush(char *err)
{
	return ops_call(do_fdb_flush, NULL, err);
}

static int
do_fdb_aging(void *arg)
{
	struct fdb_args *a = arg;

	fdb_set_aging(fwd_switch_fdb(g_ops.p.sw), a->aging_s);
	g_ops.aging_s = a->aging_s;
	return 0;
}

int
vus_ops_fdb_aging(uint32_t seconds, char *err)
{
	struct fdb_args a = { .aging_s = seconds, .err = err };

	if (seconds > 1000000)
		return ops_fail(err, -EINVAL, "aging must be 0..1000000 s (0: never)");
	return ops_call(do_fdb_aging, &a, err);
}
