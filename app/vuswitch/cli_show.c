/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port information and counters: show port info|stats|xstats, clear port
 * stats (testpmd's names and layout), and the --stats-period line.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cmdline_parse_string.h>

#include "cli.h"

struct cmd_port_result {
	cmdline_fixed_string_t verb;
	cmdline_fixed_string_t port;
	cmdline_fixed_string_t what;
	cmdline_fixed_string_t sel;
};

static void
print_vlan(const struct fwd_port_vlan *v)
{
	char list[256];

	if (v->mode == FWD_VLAN_ACCESS) {
		cli_printf("VLAN: access %u\n", v->vlan);
		return;
	}
	cli_printf("VLAN: trunk %s", vus_vlan_list_str(v->allowed, list, sizeof(list)));
	if (v->native != 0)
		cli_printf(" native %u", v->native);
	cli_printf("\n");
}

static void
print_queue_lcores(const struct vus_port_summary *s)
{
	cli_printf("Queue lcores:");
	for (uint16_t q = 0; q < s->nb_queues && q < VUS_OPS_MAX_QUEUES; q++) {
		if (s->lcore[q] == FWD_NO_LCORE)
			cli_printf(" %u:-", q);
		else
			cli_printf(" %u:%u", q, s->lcore[q]);
	}
	cli_printf("\n");
}

/* Share of an lcore's cycles each queue's busy polls took lately; "-": not
 * measured yet (a queue needs one whole measurement interval). */
static void
print_queue_loads(const struct vus_port_summary *s)
{
	cli_printf("Queue loads:");
	for (uint16_t q = 0; q < s->nb_queues && q < VUS_OPS_MAX_QUEUES; q++) {
		if (s->load_ppm[q] < 0)
			cli_printf(" %u:-", q);
		else
			cli_printf(" %u:%.1f%%", q, (double)s->load_ppm[q] / 1e4);
	}
	cli_printf("\n");
}

static void
show_info(uint16_t id)
{
	struct vus_port_summary s;
	char err[VUS_ERR_LEN], mac[RTE_ETHER_ADDR_FMT_SIZE];

	if (vus_ops_port_get(id, VUS_RATE_NONE, &s, err) != 0) {
		cli_fail(err);
		return;
	}
	rte_ether_format_addr(mac, sizeof(mac), &s.mac);
	cli_printf("\n********************* Infos for port %u *********************\n", id);
	cli_printf("Name: %s\nKind: %s\nMAC address: %s\n", s.name, vus_port_kind_str(s.kind), mac);
	if (s.kind == VUS_PORT_VHOST) {
		cli_printf("Socket: %s (%s)\nConnection: %s\n", s.path,
			   s.client ? "client" : "server", s.state);
		cli_printf("Link status: %s\nRings running: %u\n", s.link_up ? "up" : "down",
			   s.rings_running);
	} else {
		cli_printf("Device: %s\nDriver: %s\nEthdev port: %u\n", s.devargs, s.driver,
			   s.eth_port);
		cli_printf("Link status: %s\nLink speed: %u Mbps\n", s.state, s.speed_mbps);
	}
	cli_printf("RX queues: %u\n", s.nb_queues);
	print_queue_lcores(&s);
	print_queue_loads(&s);
	print_vlan(&s.vlan);
}

static void
show_stats(uint16_t id)
{
	struct vus_port_summary s;
	char err[VUS_ERR_LEN];

	if (vus_ops_port_get(id, VUS_RATE_CLI, &s, err) != 0) {
		cli_fail(err);
		return;
	}
	cli_printf("\n  ######################## statistics for port %u (%s) "
		   "########################\n",
		   id, s.name);
	cli_printf("  RX-packets: %-10" PRIu64 " RX-dropped: %-10" PRIu64 " RX-bytes:  %" PRIu64
		   "\n",
		   s.stats.rx_packets, s.stats.rx_dropped, s.stats.rx_bytes);
	cli_printf("  TX-packets: %-10" PRIu64 " TX-dropped: %-10" PRIu64 " TX-bytes:  %" PRIu64
		   "\n",
		   s.stats.tx_packets, s.stats.tx_dropped, s.stats.tx_bytes);
	cli_printf("\n  Throughput (since last show)\n");
	cli_printf("  Rx-pps: %12" PRIu64 "\n  Tx-pps: %12" PRIu64 "\n", s.rx_pps, s.tx_pps);
	cli_printf("  ##################################################"
		   "##########################\n");
}

static void
print_queue(const char *dir, uint16_t q, const struct vus_queue_stats *qs, bool vhost)
{
	cli_printf("%s_q%u_packets: %" PRIu64 "\n", dir, q, qs->packets);
	cli_printf("%s_q%u_bytes: %" PRIu64 "\n", dir, q, qs->bytes);
	cli_printf("%s_q%u_dropped: %" PRIu64 "\n", dir, q, qs->dropped);
	if (!vhost)
		return;
	cli_printf("%s_q%u_guest_notifications: %" PRIu64 "\n", dir, q, qs->calls);
	for (unsigned int r = 0; r < VIRTQ_DROP_MAX; r++)
		cli_printf("%s_q%u_drop_%s: %" PRIu64 "\n", dir, q,
			   virtq_drop_name((enum virtq_drop)r), qs->drops[r]);
}

static bool
queue_idle(const struct vus_queue_stats *qs)
{
	return qs->packets == 0 && qs->bytes == 0 && qs->dropped == 0 && qs->calls == 0;
}

static void
show_xstats(uint16_t id)
{
	struct vus_port_xstats *x = malloc(sizeof(*x));
	char err[VUS_ERR_LEN];
	unsigned int idle = 0;

	if (x == NULL) {
		cli_fail("out of memory");
		return;
	}
	if (vus_ops_port_xstats(id, x, err) != 0) {
		cli_fail(err);
		free(x);
		return;
	}
	cli_printf("###### extended statistics for port %u\n", id);
	for (uint16_t q = 0; q < x->nb_queues; q++) {
		/* Queue 0 always (it names every counter); others once they count. */
		if (q > 0 && queue_idle(&x->rx[q]) && queue_idle(&x->tx[q])) {
			idle++;
			continue;
		}
		print_queue("rx", q, &x->rx[q], x->kind == VUS_PORT_VHOST);
		print_queue("tx", q, &x->tx[q], x->kind == VUS_PORT_VHOST);
	}
	if (idle != 0)
		cli_printf("(%u more queue(s), every counter 0)\n", idle);
	for (unsigned int i = 0; i < x->nxstats; i++)
		cli_printf("%s: %" PRIu64 "\n", x->xstats[i].name, x->xstats[i].value);
	free(x);
}

/* Run @p fn for port @p sel (a number) or every port ("all"). */
static void
for_ports(const char *sel, void (*fn)(uint16_t))
{
	uint16_t ids[FWD_MAX_PORTS];
	int id, n;

	if (cli_port_sel(sel, &id) != 0)
		return;
	if (id >= 0) {
		fn((uint16_t)id);
		return;
	}
	n = vus_ops_port_ids(ids, FWD_MAX_PORTS);
	if (n == 0)
		cli_printf("no ports\n");
	for (int i = 0; i < n; i++)
		fn(ids[i]);
}

static void
cmd_show_port_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_port_result *r = parsed;

	if (strcmp(r->what, "info") == 0)
		for_ports(r->sel, show_info);
	else if (strcmp(r->what, "stats") == 0)
		for_ports(r->sel, show_stats);
	else
		for_ports(r->sel, show_xstats);
}

static cmdline_parse_token_string_t cmd_show_port_show = TOKEN_STRING_INITIALIZER(
	struct cmd_port_result, verb, "show");
static cmdline_parse_token_string_t cmd_show_port_port = TOKEN_STRING_INITIALIZER(
	struct cmd_port_result, port, "port");
static cmdline_parse_token_string_t cmd_show_port_what = TOKEN_STRING_INITIALIZER(
	struct cmd_port_result, what, "info#stats#xstats");
static cmdline_parse_token_string_t cmd_show_port_sel = TOKEN_STRING_INITIALIZER(
	struct cmd_port_result, sel, NULL);

static cmdline_parse_inst_t cmd_show_port = {
	.f = cmd_show_port_parsed,
	.help_str = "show port info|stats|xstats all|<port_id>: port information, counters "
		    "and rates, per-queue counters with drop reasons",
	.tokens = { (void *)&cmd_show_port_show, (void *)&cmd_show_port_port,
		    (void *)&cmd_show_port_what, (void *)&cmd_show_port_sel, NULL },
};

static void
clear_one(uint16_t id)
{
	char err[VUS_ERR_LEN];

	if (vus_ops_port_clear(id, err) != 0)
		cli_fail(err);
	else
		cli_printf("\n  NIC statistics for port %u cleared\n", id);
}

static void
cmd_clear_port_parsed(void *parsed, struct cmdline *cl, void *data)
{
	for_ports(((struct cmd_port_result *)parsed)->sel, clear_one);
}

static cmdline_parse_token_string_t cmd_clear_port_clear = TOKEN_STRING_INITIALIZER(
	struct cmd_port_result, verb, "clear");
static cmdline_parse_token_string_t cmd_clear_port_stats = TOKEN_STRING_INITIALIZER(
	struct cmd_port_result, what, "stats");

static cmdline_parse_inst_t cmd_clear_port = {
	.f = cmd_clear_port_parsed,
	.help_str = "clear port stats all|<port_id>: zero the port counters",
	.tokens = { (void *)&cmd_clear_port_clear, (void *)&cmd_show_port_port,
		    (void *)&cmd_clear_port_stats, (void *)&cmd_show_port_sel, NULL },
};

static cmdline_parse_inst_t *const show_cmds[] = { &cmd_show_port, &cmd_clear_port, NULL };

const struct cli_group cli_show_group = {
	.title = "Ports: information and counters",
	.cmds = show_cmds,
};

void
cli_stats_line(void)
{
	uint16_t ids[FWD_MAX_PORTS];
	int n = vus_ops_port_ids(ids, FWD_MAX_PORTS);

	for (int i = 0; i < n; i++) {
		struct vus_port_summary s;

		if (vus_ops_port_get(ids[i], VUS_RATE_PERIOD, &s, NULL) != 0)
			continue;
		cli_printf("port %u %s: rx %.3f Mpps tx %.3f Mpps rx-dropped %" PRIu64
			   " tx-dropped %" PRIu64 " link %s\n",
			   s.id, s.name, (double)s.rx_pps / 1e6, (double)s.tx_pps / 1e6,
			   s.stats.rx_dropped, s.stats.tx_dropped, s.link_up ? "up" : "down");
	}
	fflush(stdout);
}
