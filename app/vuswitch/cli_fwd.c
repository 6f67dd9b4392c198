/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding: set fwd, start [tx_first [n]], stop, show|clear fwd stats,
 * show config fwd, show lcores (testpmd's names), rebalance.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include "cli.h"

struct cmd_fwd_result {
	cmdline_fixed_string_t w1;
	cmdline_fixed_string_t w2;
	cmdline_fixed_string_t w3;
	cmdline_fixed_string_t w4;
	uint32_t n;
};

static struct vus_fwd_info *
fwd_info_get(void)
{
	struct vus_fwd_info *fi = malloc(sizeof(*fi));
	char err[VUS_ERR_LEN];

	if (fi == NULL) {
		cli_fail("out of memory");
		return NULL;
	}
	if (vus_ops_fwd_get(fi, err) != 0) {
		cli_fail(err);
		free(fi);
		return NULL;
	}
	return fi;
}

static double
busy_pct(const struct fwd_lcore_stats *s)
{
	return s->loops != 0 ? 100.0 * (double)s->busy_loops / (double)s->loops : 0.0;
}

static void
print_fwd_counters(const struct fwd_lcore_stats *s)
{
	cli_printf("  RX-packets: %-14" PRIu64 " TX-packets: %-14" PRIu64 " TX-dropped: %" PRIu64
		   "\n",
		   s->rx_packets, s->tx_packets, s->tx_dropped);
	cli_printf("  Fwd-dropped: %-13" PRIu64 " Flooded: %" PRIu64 "\n", s->fwd_dropped,
		   s->flooded);
}

static void
show_fwd_stats(void)
{
	struct vus_fwd_info *fi = fwd_info_get();

	if (fi == NULL)
		return;
	for (unsigned int i = 0; i < fi->nb_lcores; i++) {
		cli_printf("\n  ---------------------- Forward statistics for lcore %u "
			   "----------------------\n",
			   fi->lcores[i].lcore_id);
		print_fwd_counters(&fi->lcores[i].stats);
	}
	cli_printf("\n  +++++++++++++++ Accumulated forward statistics for all lcores "
		   "+++++++++++++++\n");
	print_fwd_counters(&fi->total);
	if (strcmp(fi->engine, "switch") == 0)
		cli_printf("  Switch: unicast %" PRIu64 " flooded %" PRIu64 " drop-vlan %" PRIu64
			   " drop-same-port %" PRIu64 " drop-runt %" PRIu64 " drop-nomem %" PRIu64
			   "\n",
			   fi->sw.unicast, fi->sw.flooded, fi->sw.drop_vlan, fi->sw.drop_same_port,
			   fi->sw.drop_runt, fi->sw.drop_nomem);
	cli_printf("  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++"
		   "++++++++++++++++++\n");
	free(fi);
}

static void
cmd_fwd_stats_parsed(void *parsed, struct cmdline *cl, void *data)
{
	char err[VUS_ERR_LEN];

	if (data == NULL) {
		show_fwd_stats();
		return;
	}
	if (vus_ops_fwd_clear(err) != 0)
		cli_fail(err);
	else
		cli_printf("\n  forward statistics cleared\n");
}

static cmdline_parse_token_string_t cmd_fwd_show = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									    w1, "show");
static cmdline_parse_token_string_t cmd_fwd_clear = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									     w1, "clear");
static cmdline_parse_token_string_t cmd_fwd_fwd = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									   w2, "fwd");
static cmdline_parse_token_string_t cmd_fwd_stats = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									     w3, "stats");
static cmdline_parse_token_string_t cmd_fwd_all4 = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									    w4, "all");

static cmdline_parse_inst_t cmd_show_fwd_stats = {
	.f = cmd_fwd_stats_parsed,
	.data = NULL,
	.help_str = "show fwd stats all: packets each forwarding lcore received, sent and "
		    "dropped, and the totals",
	.tokens = { (void *)&cmd_fwd_show, (void *)&cmd_fwd_fwd, (void *)&cmd_fwd_stats,
		    (void *)&cmd_fwd_all4, NULL },
};

static cmdline_parse_inst_t cmd_clear_fwd_stats = {
	.f = cmd_fwd_stats_parsed,
	.data = (void *)1,
	.help_str = "clear fwd stats all: zero the forwarding counters",
	.tokens = { (void *)&cmd_fwd_clear, (void *)&cmd_fwd_fwd, (void *)&cmd_fwd_stats,
		    (void *)&cmd_fwd_all4, NULL },
};

/* --- set fwd, start, stop ---------------------------------------------------------------- */

static void
cmd_set_fwd_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_fwd_result *r = parsed;
	char err[VUS_ERR_LEN];

	if (vus_ops_fwd_set_engine(r->w3, err) != 0)
		cli_fail(err);
	else
		cli_printf("Set %s packet forwarding mode\n", r->w3);
}

static cmdline_parse_token_string_t cmd_set_fwd_set = TOKEN_STRING_INITIALIZER(
	struct cmd_fwd_result, w1, "set");
static cmdline_parse_token_string_t cmd_set_fwd_mode = TOKEN_STRING_INITIALIZER(
	struct cmd_fwd_result, w3, "switch#io#mac#macswap#rxonly#txonly");

static cmdline_parse_inst_t cmd_set_fwd = {
	.f = cmd_set_fwd_parsed,
	.help_str = "set fwd switch|io|mac|macswap|rxonly|txonly: the forwarding engine "
		    "(while stopped)",
	.tokens = { (void *)&cmd_set_fwd_set, (void *)&cmd_fwd_fwd, (void *)&cmd_set_fwd_mode,
		    NULL },
};

/* data: 0 = start, 1 = start tx_first, 2 = start tx_first <n>. */
static void
cmd_start_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_fwd_result *r = parsed;
	uintptr_t kind = (uintptr_t)data;
	uint32_t bursts = kind == 0 ? 0 : kind == 1 ? 1 : r->n;
	char err[VUS_ERR_LEN];

	if (kind == 2 && bursts == 0) {
		cli_fail("tx_first needs at least 1 burst");
		return;
	}
	if (vus_ops_fwd_start(bursts, err) != 0)
		cli_fail(err);
	else if (bursts != 0)
		cli_printf("Forwarding started after %u burst(s) of %u frames per queue\n", bursts,
			   FWD_BURST);
	else
		cli_printf("Forwarding started\n");
}

static cmdline_parse_token_string_t cmd_start_start = TOKEN_STRING_INITIALIZER(
	struct cmd_fwd_result, w1, "start");
static cmdline_parse_token_string_t cmd_start_txf = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									     w2, "tx_first");
static cmdline_parse_token_num_t cmd_start_n = TOKEN_NUM_INITIALIZER(struct cmd_fwd_result, n,
								     RTE_UINT32);

#define START_HELP \
	"start [tx_first [<n>]]: start forwarding; tx_first: each lcore first sends n " \
	"(default 1) bursts of 64-byte frames to every queue it polls"

static cmdline_parse_inst_t cmd_start = {
	.f = cmd_start_parsed,
	.data = (void *)0,
	.help_str = START_HELP,
	.tokens = { (void *)&cmd_start_start, NULL },
};

static cmdline_parse_inst_t cmd_start_tx_first = {
	.f = cmd_start_parsed,
	.data = (void *)1,
	.help_str = START_HELP,
	.tokens = { (void *)&cmd_start_start, (void *)&cmd_start_txf, NULL },
};

static cmdline_parse_inst_t cmd_start_tx_first_n = {
	.f = cmd_start_parsed,
	.data = (void *)2,
	.help_str = START_HELP,
	.tokens = { (void *)&cmd_start_start, (void *)&cmd_start_txf, (void *)&cmd_start_n, NULL },
};

static void
cmd_stop_parsed(void *parsed, struct cmdline *cl, void *data)
{
	char err[VUS_ERR_LEN];

	if (vus_ops_fwd_stop(err) != 0) {
		cli_fail(err);
		return;
	}
	cli_printf("Forwarding stopped\n");
	show_fwd_stats();
}

static cmdline_parse_token_string_t cmd_stop_stop = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									     w1, "stop");

static cmdline_parse_inst_t cmd_stop = {
	.f = cmd_stop_parsed,
	.help_str = "stop: stop forwarding (ports stay up) and show the forward statistics",
	.tokens = { (void *)&cmd_stop_stop, NULL },
};

/* --- show config fwd, show lcores -------------------------------------------------------- */

/* Where the io/mac/macswap engines send what queue (port, q) receives. */
static void
print_dest(const char *engine, uint16_t port, const uint16_t *ids, int nids)
{
	int peer = port;

	if (strcmp(engine, "switch") == 0) {
		cli_printf(" -> switch (by destination MAC and VLAN)\n");
		return;
	}
	if (strcmp(engine, "rxonly") == 0 || strcmp(engine, "txonly") == 0) {
		cli_printf(" -> freed%s\n", engine[0] == 't' ? "; TX: generated frames" : "");
		return;
	}
	for (int i = 0; i < nids; i++)
		if (ids[i] == (port ^ 1))
			peer = port ^ 1;
	cli_printf(" -> TX P=%d\n", peer);
}

static void
cmd_show_config_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct vus_fwd_info *fi = fwd_info_get();
	uint16_t ids[FWD_MAX_PORTS];
	int nids = vus_ops_port_ids(ids, FWD_MAX_PORTS);

	if (fi == NULL)
		return;
	cli_printf("%s packet forwarding - ports=%u - lcores=%u - %s\n", fi->engine, fi->nports,
		   fi->nb_lcores, fi->running ? "running" : "stopped");
	for (unsigned int i = 0; i < fi->nb_lcores; i++) {
		const struct vus_lcore_info *li = &fi->lcores[i];

		cli_printf("Logical Core %u (TX queue %u) polls %u queue(s):\n", li->lcore_id,
			   li->txq, li->npolls);
		for (uint16_t k = 0; k < li->npolls && k < VUS_OPS_MAX_POLLS; k++) {
			cli_printf("  RX P=%u/Q=%u", li->polls[k].port, li->polls[k].queue);
			print_dest(fi->engine, li->polls[k].port, ids, nids);
		}
	}
	if (fi->nb_lcores == 0)
		cli_printf("No forwarding lcore: run with -l and two or more cores\n");
	free(fi);
}

static cmdline_parse_token_string_t cmd_config_config = TOKEN_STRING_INITIALIZER(
	struct cmd_fwd_result, w2, "config");
static cmdline_parse_token_string_t cmd_config_fwd = TOKEN_STRING_INITIALIZER(struct cmd_fwd_result,
									      w3, "fwd");

static cmdline_parse_inst_t cmd_show_config = {
	.f = cmd_show_config_parsed,
	.help_str = "show config fwd: the engine, the lcores and which queues each one polls",
	.tokens = { (void *)&cmd_fwd_show, (void *)&cmd_config_config, (void *)&cmd_config_fwd,
		    NULL },
};

static void
cmd_show_lcores_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct vus_fwd_info *fi = fwd_info_get();

	if (fi == NULL)
		return;
	for (unsigned int i = 0; i < fi->nb_lcores; i++) {
		const struct vus_lcore_info *li = &fi->lcores[i];
		const struct fwd_lcore_stats *s = &li->stats;

		cli_printf("lcore %u: TX queue %u, polls %u queue(s):", li->lcore_id, li->txq,
			   li->npolls);
		for (uint16_t k = 0; k < li->npolls && k < VUS_OPS_MAX_POLLS; k++)
			cli_printf(" %u/%u", li->polls[k].port, li->polls[k].queue);
		cli_printf("\n  rx %" PRIu64 " tx %" PRIu64 " tx-dropped %" PRIu64
			   " fwd-dropped %" PRIu64 " flooded %" PRIu64 " loops %" PRIu64
			   " busy %.1f%% load %.1f%% idle-sleeps %" PRIu64 "\n",
			   s->rx_packets, s->tx_packets, s->tx_dropped, s->fwd_dropped, s->flooded,
			   s->loops, busy_pct(s), (double)li->load_ppm / 1e4, s->idle_sleeps);
	}
	if (fi->nb_lcores == 0)
		cli_printf("No forwarding lcore: run with -l and two or more cores\n");
	free(fi);
}

static cmdline_parse_token_string_t cmd_lcores_lcores = TOKEN_STRING_INITIALIZER(
	struct cmd_fwd_result, w2, "lcores");

static cmdline_parse_inst_t cmd_show_lcores = {
	.f = cmd_show_lcores_parsed,
	.help_str = "show lcores: each forwarding lcore, the port/queue pairs it polls and "
		    "its counters",
	.tokens = { (void *)&cmd_fwd_show, (void *)&cmd_lcores_lcores, NULL },
};

/* --- rebalance --------------------------------------------------------------------------- */

static void
cmd_rebalance_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct fwd_rebalance_result r;
	char err[VUS_ERR_LEN];

	if (vus_ops_fwd_rebalance(&r, err) != 0)
		cli_fail(err);
	else if (r.applied)
		cli_printf("Rebalanced: %u queue(s) moved, busiest lcore %.1f%% -> %.1f%%\n",
			   r.moved, (double)r.max_before / 1e4, (double)r.max_after / 1e4);
	else
		cli_printf("Nothing moved: no assignment does better (busiest lcore %.1f%%)\n",
			   (double)r.max_before / 1e4);
}

static cmdline_parse_token_string_t cmd_rebalance_w = TOKEN_STRING_INITIALIZER(
	struct cmd_fwd_result, w1, "rebalance");

static cmdline_parse_inst_t cmd_rebalance = {
	.f = cmd_rebalance_parsed,
	.help_str = "rebalance: spread the unpinned RX queues over the lcores by measured load",
	.tokens = { (void *)&cmd_rebalance_w, NULL },
};

static cmdline_parse_inst_t *const fwd_cmds[] = {
	&cmd_set_fwd,
	&cmd_start,
	&cmd_start_tx_first,
	&cmd_start_tx_first_n,
	&cmd_stop,
	&cmd_show_fwd_stats,
	&cmd_clear_fwd_stats,
	&cmd_show_config,
	&cmd_show_lcores,
	&cmd_rebalance,
	NULL,
};

const struct cli_group cli_fwd_group = {
	.title = "Forwarding",
	.cmds = fwd_cmds,
};
