/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding table: show fdb [vlan <n>], fdb add|del, fdb flush,
 * set fdb aging.
 */
#include <inttypes.h>
#include <string.h>

#include <cmdline_parse_etheraddr.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include "cli.h"

struct cmd_fdb_result {
	cmdline_fixed_string_t w1;
	cmdline_fixed_string_t w2;
	struct rte_ether_addr mac;
	cmdline_fixed_string_t vlan_kw;
	uint16_t vlan;
	cmdline_fixed_string_t port_kw;
	uint16_t port;
	uint32_t seconds;
};

static void
print_entry(const struct fdb_entry_info *e)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE], age[16];

	rte_ether_format_addr(mac, sizeof(mac), &e->mac);
	if (e->is_static)
		snprintf(age, sizeof(age), "-");
	else
		snprintf(age, sizeof(age), "%us", e->age_s);
	cli_printf("%4u  %-17s  %4u  %-7s  %s\n", e->vlan, mac, e->port,
		   e->is_static ? "static" : "learned", age);
}

static void
cmd_show_fdb_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_fdb_result *r = parsed;
	struct vus_fdb_dump d;
	char err[VUS_ERR_LEN];

	if (vus_ops_fdb_dump(data != NULL ? r->vlan : -1, &d, err) != 0) {
		cli_fail(err);
		return;
	}
	cli_printf("VLAN  MAC address        Port  Type     Age\n");
	for (unsigned int i = 0; i < d.n; i++)
		print_entry(&d.e[i]);
	if (data != NULL)
		cli_printf("%u entries in VLAN %u; ", d.n, r->vlan);
	cli_printf("%u entries (%u static) of %u, aging %u s\n", d.stats.entries,
		   d.stats.static_entries, d.stats.max_entries, d.aging_s);
	cli_printf("learned %" PRIu64 " moved %" PRIu64 " aged %" PRIu64 " removed %" PRIu64
		   " refused (full) %" PRIu64 "\n",
		   d.stats.learned, d.stats.moves, d.stats.aged, d.stats.removed,
		   d.stats.learn_full);
	cli_printf("lookups %" PRIu64 " missed %" PRIu64 " (lcore caches %" PRIu64
		   ") learn requests %" PRIu64 " dropped %" PRIu64 " (lcore caches %" PRIu64 ")\n",
		   d.stats.lookups, d.stats.lookup_misses, d.stats.cache_hits,
		   d.stats.learn_requests, d.stats.learn_drops, d.stats.learn_cache_hits);
	vus_ops_fdb_dump_free(&d);
}

static cmdline_parse_token_string_t cmd_fdb_show = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									    w1, "show");
static cmdline_parse_token_string_t cmd_fdb_fdb2 = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									    w2, "fdb");
static cmdline_parse_token_string_t cmd_fdb_vlan = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									    vlan_kw, "vlan");
static cmdline_parse_token_num_t cmd_fdb_vid = TOKEN_NUM_INITIALIZER(struct cmd_fdb_result, vlan,
								     RTE_UINT16);

#define SHOW_FDB_HELP "show fdb [vlan <vlan>]: the forwarding table, sorted by VLAN and address"

static cmdline_parse_inst_t cmd_show_fdb = {
	.f = cmd_show_fdb_parsed,
	.data = NULL,
	.help_str = SHOW_FDB_HELP,
	.tokens = { (void *)&cmd_fdb_show, (void *)&cmd_fdb_fdb2, NULL },
};

static cmdline_parse_inst_t cmd_show_fdb_vlan = {
	.f = cmd_show_fdb_parsed,
	.data = (void *)1,
	.help_str = SHOW_FDB_HELP,
	.tokens = { (void *)&cmd_fdb_show, (void *)&cmd_fdb_fdb2, (void *)&cmd_fdb_vlan,
		    (void *)&cmd_fdb_vid, NULL },
};

/* data: NULL = add, 1 = del, 2 = del with port. */
static void
cmd_fdb_entry_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_fdb_result *r = parsed;
	char err[VUS_ERR_LEN], mac[RTE_ETHER_ADDR_FMT_SIZE];
	int ret;

	rte_ether_format_addr(mac, sizeof(mac), &r->mac);
	if (data == NULL)
		ret = vus_ops_fdb_add(&r->mac, r->vlan, r->port, err);
	else
		ret = vus_ops_fdb_del(&r->mac, r->vlan, (uintptr_t)data == 2 ? r->port : -1, err);
	if (ret != 0)
		cli_fail(err);
	else if (data == NULL)
		cli_printf("%s in VLAN %u: static on port %u\n", mac, r->vlan, r->port);
	else
		cli_printf("%s in VLAN %u: removed\n", mac, r->vlan);
}

static cmdline_parse_token_string_t cmd_fdb_fdb = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									   w1, "fdb");
static cmdline_parse_token_string_t cmd_fdb_add = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									   w2, "add");
static cmdline_parse_token_string_t cmd_fdb_del = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									   w2, "del");
static cmdline_parse_token_etheraddr_t cmd_fdb_mac = TOKEN_ETHERADDR_INITIALIZER(
	struct cmd_fdb_result, mac);
static cmdline_parse_token_string_t cmd_fdb_port = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									    port_kw, "port");
static cmdline_parse_token_num_t cmd_fdb_pid = TOKEN_NUM_INITIALIZER(struct cmd_fdb_result, port,
								     RTE_UINT16);

static cmdline_parse_inst_t cmd_fdb_add_inst = {
	.f = cmd_fdb_entry_parsed,
	.data = NULL,
	.help_str = "fdb add <mac> vlan <vlan> port <port_id>: a static entry (never ages, "
		    "never moves)",
	.tokens = { (void *)&cmd_fdb_fdb, (void *)&cmd_fdb_add, (void *)&cmd_fdb_mac,
		    (void *)&cmd_fdb_vlan, (void *)&cmd_fdb_vid, (void *)&cmd_fdb_port,
		    (void *)&cmd_fdb_pid, NULL },
};

#define FDB_DEL_HELP \
	"fdb del <mac> vlan <vlan> [port <port_id>]: remove an entry (with port: only if it " \
	"is on that port)"

static cmdline_parse_inst_t cmd_fdb_del_inst = {
	.f = cmd_fdb_entry_parsed,
	.data = (void *)1,
	.help_str = FDB_DEL_HELP,
	.tokens = { (void *)&cmd_fdb_fdb, (void *)&cmd_fdb_del, (void *)&cmd_fdb_mac,
		    (void *)&cmd_fdb_vlan, (void *)&cmd_fdb_vid, NULL },
};

static cmdline_parse_inst_t cmd_fdb_del_port = {
	.f = cmd_fdb_entry_parsed,
	.data = (void *)2,
	.help_str = FDB_DEL_HELP,
	.tokens = { (void *)&cmd_fdb_fdb, (void *)&cmd_fdb_del, (void *)&cmd_fdb_mac,
		    (void *)&cmd_fdb_vlan, (void *)&cmd_fdb_vid, (void *)&cmd_fdb_port,
		    (void *)&cmd_fdb_pid, NULL },
};

static void
cmd_fdb_flush_parsed(void *parsed, struct cmdline *cl, void *data)
{
	char err[VUS_ERR_LEN];
	int n = vus_ops_fdb_flush(err);

	if (n < 0)
		cli_fail(err);
	else
		cli_printf("%d learned entries removed\n", n);
}

static cmdline_parse_token_string_t cmd_fdb_flush = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									     w2, "flush");

static cmdline_parse_inst_t cmd_fdb_flush_inst = {
	.f = cmd_fdb_flush_parsed,
	.help_str = "fdb flush: remove every learned entry (static ones stay)",
	.tokens = { (void *)&cmd_fdb_fdb, (void *)&cmd_fdb_flush, NULL },
};

static void
cmd_fdb_aging_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_fdb_result *r = parsed;
	char err[VUS_ERR_LEN];

	if (vus_ops_fdb_aging(r->seconds, err) != 0)
		cli_fail(err);
	else if (r->seconds == 0)
		cli_printf("Aging disabled\n");
	else
		cli_printf("Aging time %u s\n", r->seconds);
}

static cmdline_parse_token_string_t cmd_fdb_set = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									   w1, "set");
static cmdline_parse_token_string_t cmd_fdb_aging = TOKEN_STRING_INITIALIZER(struct cmd_fdb_result,
									     vlan_kw, "aging");
static cmdline_parse_token_num_t cmd_fdb_seconds = TOKEN_NUM_INITIALIZER(struct cmd_fdb_result,
									 seconds, RTE_UINT32);

static cmdline_parse_inst_t cmd_fdb_aging_inst = {
	.f = cmd_fdb_aging_parsed,
	.help_str = "set fdb aging <seconds>: learned entries unseen that long are removed "
		    "(0: never)",
	.tokens = { (void *)&cmd_fdb_set, (void *)&cmd_fdb_fdb2, (void *)&cmd_fdb_aging,
		    (void *)&cmd_fdb_seconds, NULL },
};

static cmdline_parse_inst_t *const fdb_cmds[] = {
	&cmd_show_fdb,     &cmd_show_fdb_vlan,  &cmd_fdb_add_inst,   &cmd_fdb_del_inst,
	&cmd_fdb_del_port, &cmd_fdb_flush_inst, &cmd_fdb_aging_inst, NULL,
};

const struct cli_group cli_fdb_group = {
	.title = "Forwarding table",
	.cmds = fdb_cmds,
};
