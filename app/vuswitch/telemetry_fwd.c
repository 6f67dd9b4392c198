/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry commands about forwarding: lcores, the engine and its totals,
 * the forwarding table; start, stop, rebalance, flush. Rules in telemetry.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry_priv.h"

/* Table entries an fdb reply lists (the reply must fit in 16 KiB). */
#define TEL_FDB_MAX 128

/* --- forwarding and table ------------------------------------------------------------------ */

static void
lcore_counters(struct rte_tel_data *c, const struct fwd_lcore_stats *s)
{
	rte_tel_data_add_dict_u64(c, "rx_packets", s->rx_packets);
	rte_tel_data_add_dict_u64(c, "tx_packets", s->tx_packets);
	rte_tel_data_add_dict_u64(c, "tx_dropped", s->tx_dropped);
	rte_tel_data_add_dict_u64(c, "fwd_dropped", s->fwd_dropped);
	rte_tel_data_add_dict_u64(c, "flooded", s->flooded);
	rte_tel_data_add_dict_u64(c, "loops", s->loops);
	rte_tel_data_add_dict_u64(c, "busy_loops", s->busy_loops);
	rte_tel_data_add_dict_u64(c, "idle_sleeps", s->idle_sleeps);
}

static struct rte_tel_data *
lcore_dict(const struct vus_lcore_info *li, unsigned int index)
{
	struct rte_tel_data *c = tel_new_dict(), *polls = rte_tel_data_alloc();
	char pq[16];

	if (c == NULL || polls == NULL) {
		rte_tel_data_free(c);
		rte_tel_data_free(polls);
		return NULL;
	}
	rte_tel_data_add_dict_int(c, "index", (int)index);
	rte_tel_data_add_dict_int(c, "txq", li->txq);
	lcore_counters(c, &li->stats);
	rte_tel_data_add_dict_u64(c, "load_permille", li->load_ppm / 1000);
	/* "port/queue" pairs the lcore polls. */
	rte_tel_data_start_array(polls, RTE_TEL_STRING_VAL);
	for (uint16_t k = 0; k < li->npolls && k < VUS_OPS_MAX_POLLS; k++) {
		snprintf(pq, sizeof(pq), "%u/%u", li->polls[k].port, li->polls[k].queue);
		rte_tel_data_add_array_string(polls, pq);
	}
	tel_add_container(c, "polls", polls);
	return c;
}

static struct vus_fwd_info *
fwd_info(struct rte_tel_data *d)
{
	struct vus_fwd_info *fi = malloc(sizeof(*fi));
	char err[VUS_ERR_LEN];

	if (fi == NULL || vus_ops_fwd_get(fi, err) != 0) {
		tel_error(d, "%s", fi == NULL ? "out of memory" : err);
		free(fi);
		return NULL;
	}
	return fi;
}

int
tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_fwd_info *fi = fwd_info(d);
	char key[16];

	if (fi == NULL)
		return 0;
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < fi->nb_lcores; i++) {
		snprintf(key, sizeof(key), "%u", fi->lcores[i].lcore_id);
		tel_add_container(d, key, lcore_dict(&fi->lcores[i], i));
	}
	free(fi);
	return 0;
}

int
tel_fwd(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_fwd_info *fi = fwd_info(d);
	struct rte_tel_data *sw;

	if (fi == NULL)
		return 0;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "engine", fi->engine);
	tel_dict_flag(d, "running", fi->running);
	rte_tel_data_add_dict_int(d, "ports", fi->nports);
	rte_tel_data_add_dict_int(d, "lcores", (int)fi->nb_lcores);
	rte_tel_data_add_dict_int(d, "rebalance_interval_s", (int)fi->rebalance_interval_s);
	rte_tel_data_add_dict_int(d, "idle_sleep_us", (int)fi->idle_sleep_us);
	lcore_counters(d, &fi->total);
	sw = tel_new_dict();
	if (sw != NULL) {
		rte_tel_data_add_dict_u64(sw, "unicast", fi->sw.unicast);
		rte_tel_data_add_dict_u64(sw, "flooded", fi->sw.flooded);
		rte_tel_data_add_dict_u64(sw, "drop_vlan", fi->sw.drop_vlan);
		rte_tel_data_add_dict_u64(sw, "drop_same_port", fi->sw.drop_same_port);
		rte_tel_data_add_dict_u64(sw, "drop_runt", fi->sw.drop_runt);
		rte_tel_data_add_dict_u64(sw, "drop_nomem", fi->sw.drop_nomem);
		tel_add_container(d, "switch", sw);
	}
	free(fi);
	return 0;
}

static struct rte_tel_data *
fdb_entry_dict(const struct fdb_entry_info *e)
{
	struct rte_tel_data *c = tel_new_dict();
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	if (c == NULL)
		return NULL;
	rte_ether_format_addr(mac, sizeof(mac), &e->mac);
	rte_tel_data_add_dict_int(c, "vlan", e->vlan);
	rte_tel_data_add_dict_string(c, "mac", mac);
	rte_tel_data_add_dict_int(c, "port", e->port);
	tel_dict_flag(c, "static", e->is_static);
	rte_tel_data_add_dict_u64(c, "age_s", e->age_s);
	return c;
}

int
tel_fdb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct rte_tel_data *table;
	struct vus_fdb_dump dump;
	char err[VUS_ERR_LEN], key[8], *end;
	long vlan = -1;

	if (params != NULL && params[0] != '\0') {
		vlan = strtol(params, &end, 10);
		if (*end != '\0' || vlan < 0 || vlan > 4095)
			return tel_error(d, "expected a VLAN (0..4095), got '%s'", params);
	}
	if (vus_ops_fdb_dump((int)vlan, &dump, err) != 0)
		return tel_error(d, "%s", err);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "entries", dump.stats.entries);
	rte_tel_data_add_dict_u64(d, "static_entries", dump.stats.static_entries);
	rte_tel_data_add_dict_u64(d, "max_entries", dump.stats.max_entries);
	rte_tel_data_add_dict_u64(d, "aging_s", dump.aging_s);
	rte_tel_data_add_dict_u64(d, "learned", dump.stats.learned);
	rte_tel_data_add_dict_u64(d, "moves", dump.stats.moves);
	rte_tel_data_add_dict_u64(d, "aged", dump.stats.aged);
	rte_tel_data_add_dict_u64(d, "removed", dump.stats.removed);
	rte_tel_data_add_dict_u64(d, "learn_full", dump.stats.learn_full);
	rte_tel_data_add_dict_u64(d, "lookups", dump.stats.lookups);
	rte_tel_data_add_dict_u64(d, "lookup_misses", dump.stats.lookup_misses);
	rte_tel_data_add_dict_u64(d, "lookup_cache_hits", dump.stats.cache_hits);
	rte_tel_data_add_dict_u64(d, "learn_requests", dump.stats.learn_requests);
	rte_tel_data_add_dict_u64(d, "learn_drops", dump.stats.learn_drops);
	rte_tel_data_add_dict_u64(d, "learn_cache_hits", dump.stats.learn_cache_hits);
	rte_tel_data_add_dict_u64(d, "matching", dump.n);
	rte_tel_data_add_dict_u64(d, "listed", RTE_MIN(dump.n, (unsigned int)TEL_FDB_MAX));
	table = tel_new_dict();
	for (unsigned int i = 0; table != NULL && i < dump.n && i < TEL_FDB_MAX; i++) {
		snprintf(key, sizeof(key), "%u", i);
		tel_add_container(table, key, fdb_entry_dict(&dump.e[i]));
	}
	tel_add_container(d, "table", table);
	vus_ops_fdb_dump_free(&dump);
	return 0;
}

int
tel_fdb_flush(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN];
	int n;

	if (params != NULL && params[0] != '\0')
		return tel_error(d, "/vuswitch/fdb/flush takes no parameter");
	n = vus_ops_fdb_flush(err);
	if (n < 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "removed", n);
	return 0;
}

int
tel_fwd_start(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN], *end;
	unsigned long n = 0;

	if (params != NULL && strcmp(params, "tx_first") == 0) {
		n = 1;
	} else if (params != NULL && strncmp(params, "tx_first=", 9) == 0) {
		n = strtoul(params + 9, &end, 10);
		if (*end != '\0' || n < 1 || n > 1024)
			return tel_error(d, "tx_first bursts must be 1..1024, got '%s'",
					 params + 9);
	} else if (params != NULL && params[0] != '\0') {
		return tel_error(d, "usage: /vuswitch/fwd/start[,tx_first[=<n>]]");
	}
	if (vus_ops_fwd_start((uint32_t)n, err) != 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	rte_tel_data_add_dict_int(d, "tx_first", (int)n);
	return 0;
}

int
tel_fwd_stop(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[VUS_ERR_LEN];

	if (params != NULL && params[0] != '\0')
		return tel_error(d, "/vuswitch/fwd/stop takes no parameter");
	if (vus_ops_fwd_stop(err) != 0)
		return tel_error(d, "%s", err);
	return tel_ok(d);
}

int
tel_fwd_rebalance(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct fwd_rebalance_result r;
	char err[VUS_ERR_LEN];

	if (params != NULL && params[0] != '\0')
		return tel_error(d, "/vuswitch/fwd/rebalance takes no parameter");
	if (vus_ops_fwd_rebalance(&r, err) != 0)
		return tel_error(d, "%s", err);
	tel_ok(d);
	tel_dict_flag(d, "applied", r.applied);
	rte_tel_data_add_dict_int(d, "moved", (int)r.moved);
	rte_tel_data_add_dict_u64(d, "busiest_before_permille", r.max_before / 1000);
	rte_tel_data_add_dict_u64(d, "busiest_after_permille", r.max_after / 1000);
	return 0;
}
