/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: port add vhost-user|ethdev, port del, set port ... vlan|lcore|rxq.
 */
#include <string.h>

#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include "cli.h"

/* --- port add / del ---------------------------------------------------------------------- */

struct cmd_add_result {
	cmdline_fixed_string_t port;
	cmdline_fixed_string_t add;
	cmdline_fixed_string_t kind;
	cmdline_fixed_string_t arg; /* socket path or devargs */
	cmdline_fixed_string_t client;
	cmdline_fixed_string_t queues;
	uint16_t nq;
};

/* data: bit 0 = client given, bit 1 = queues given. */
static void
cmd_add_vhost_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_add_result *r = parsed;
	uintptr_t flags = (uintptr_t)data;
	bool client = (flags & 1) != 0;
	unsigned int nq = (flags & 2) != 0 ? r->nq : 0;
	char err[VUS_ERR_LEN];
	int id;

	if ((flags & 2) != 0 && (nq < 1 || nq > VHOST_CTRL_MAX_QUEUE_PAIRS)) {
		cli_failf("queues must be 1..%u, got %u", VHOST_CTRL_MAX_QUEUE_PAIRS, nq);
		return;
	}
	id = vus_ops_port_add_vhost(r->arg, client, nq, err);
	if (id < 0)
		cli_fail(err);
	else
		cli_printf("Port %d added: vhost-user %s (%s)\n", id, r->arg,
			   client ? "client" : "server");
}

static cmdline_parse_token_string_t cmd_add_port = TOKEN_STRING_INITIALIZER(struct cmd_add_result,
									    port, "port");
static cmdline_parse_token_string_t cmd_add_add = TOKEN_STRING_INITIALIZER(struct cmd_add_result,
									   add, "add");
static cmdline_parse_token_string_t cmd_add_vhost = TOKEN_STRING_INITIALIZER(struct cmd_add_result,
									     kind, "vhost-user");
static cmdline_parse_token_string_t cmd_add_arg = TOKEN_STRING_INITIALIZER(struct cmd_add_result,
									   arg, NULL);
static cmdline_parse_token_string_t cmd_add_client = TOKEN_STRING_INITIALIZER(struct cmd_add_result,
									      client, "client");
static cmdline_parse_token_string_t cmd_add_queues = TOKEN_STRING_INITIALIZER(struct cmd_add_result,
									      queues, "queues");
static cmdline_parse_token_num_t cmd_add_nq = TOKEN_NUM_INITIALIZER(struct cmd_add_result, nq,
								    RTE_UINT16);

#define ADD_VHOST_HELP \
	"port add vhost-user <path> [client] [queues <n>]: add a vhost-user port on unix " \
	"socket path (server mode unless client; at most n queue pairs, default 8)"

static cmdline_parse_inst_t cmd_add_vhost_plain = {
	.f = cmd_add_vhost_parsed,
	.data = (void *)0,
	.help_str = ADD_VHOST_HELP,
	.tokens = { (void *)&cmd_add_port, (void *)&cmd_add_add, (void *)&cmd_add_vhost,
		    (void *)&cmd_add_arg, NULL },
};

static cmdline_parse_inst_t cmd_add_vhost_client = {
	.f = cmd_add_vhost_parsed,
	.data = (void *)1,
	.help_str = ADD_VHOST_HELP,
	.tokens = { (void *)&cmd_add_port, (void *)&cmd_add_add, (void *)&cmd_add_vhost,
		    (void *)&cmd_add_arg, (void *)&cmd_add_client, NULL },
};

static cmdline_parse_inst_t cmd_add_vhost_queues = {
	.f = cmd_add_vhost_parsed,
	.data = (void *)2,
	.help_str = ADD_VHOST_HELP,
	.tokens = { (void *)&cmd_add_port, (void *)&cmd_add_add, (void *)&cmd_add_vhost,
		    (void *)&cmd_add_arg, (void *)&cmd_add_queues, (void *)&cmd_add_nq, NULL },
};

static cmdline_parse_inst_t cmd_add_vhost_client_queues = {
	.f = cmd_add_vhost_parsed,
	.data = (void *)3,
	.help_str = ADD_VHOST_HELP,
	.tokens = { (void *)&cmd_add_port, (void *)&cmd_add_add, (void *)&cmd_add_vhost,
		    (void *)&cmd_add_arg, (void *)&cmd_add_client, (void *)&cmd_add_queues,
		    (void *)&cmd_add_nq, NULL },
};

static void
cmd_add_ethdev_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_add_result *r = parsed;
	char err[VUS_ERR_LEN];
	int id = vus_ops_port_add_ethdev(r->arg, err);

	if (id < 0)
		cli_fail(err);
	else
		cli_printf("Port %d added: ethdev %s\n", id, r->arg);
}

static cmdline_parse_token_string_t cmd_add_ethdev = TOKEN_STRING_INITIALIZER(struct cmd_add_result,
									      kind, "ethdev");

static cmdline_parse_inst_t cmd_add_ethdev_inst = {
	.f = cmd_add_ethdev_parsed,
	.help_str = "port add ethdev <devargs>: probe a device (e.g. net_null0,no-rx=1, "
		    "net_tap0,iface=t0, a PCI address) and add its ethdev",
	.tokens = { (void *)&cmd_add_port, (void *)&cmd_add_add, (void *)&cmd_add_ethdev,
		    (void *)&cmd_add_arg, NULL },
};

struct cmd_del_result {
	cmdline_fixed_string_t port;
	cmdline_fixed_string_t del;
	uint16_t id;
};

static void
cmd_del_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_del_result *r = parsed;
	char err[VUS_ERR_LEN];

	if (vus_ops_port_del(r->id, err) != 0)
		cli_fail(err);
	else
		cli_printf("Port %u removed\n", r->id);
}

static cmdline_parse_token_string_t cmd_del_port = TOKEN_STRING_INITIALIZER(struct cmd_del_result,
									    port, "port");
static cmdline_parse_token_string_t cmd_del_del = TOKEN_STRING_INITIALIZER(struct cmd_del_result,
									   del, "del");
static cmdline_parse_token_num_t cmd_del_id = TOKEN_NUM_INITIALIZER(struct cmd_del_result, id,
								    RTE_UINT16);

static cmdline_parse_inst_t cmd_del = {
	.f = cmd_del_parsed,
	.help_str = "port del <port_id>: remove a port (its socket is closed, its device "
		    "detached)",
	.tokens = { (void *)&cmd_del_port, (void *)&cmd_del_del, (void *)&cmd_del_id, NULL },
};

/* --- set port ---------------------------------------------------------------------------- */

struct cmd_set_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t port;
	uint16_t id;
	cmdline_fixed_string_t what; /* vlan | lcore | rxq */
	cmdline_fixed_string_t mode; /* access | trunk | lcore id | auto */
	cmdline_fixed_string_t list;
	cmdline_fixed_string_t native;
	uint16_t vlan;
	uint16_t native_vlan;
	uint16_t queue;
	cmdline_fixed_string_t lcore; /* after rxq <queue_id> */
};

static cmdline_parse_token_string_t cmd_set_set = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									   set, "set");
static cmdline_parse_token_string_t cmd_set_port = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									    port, "port");
static cmdline_parse_token_num_t cmd_set_id = TOKEN_NUM_INITIALIZER(struct cmd_set_result, id,
								    RTE_UINT16);
static cmdline_parse_token_string_t cmd_set_vlan = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									    what, "vlan");
static cmdline_parse_token_string_t cmd_set_access = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									      mode, "access");
static cmdline_parse_token_num_t cmd_set_vid = TOKEN_NUM_INITIALIZER(struct cmd_set_result, vlan,
								     RTE_UINT16);
static cmdline_parse_token_string_t cmd_set_trunk = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									     mode, "trunk");
static cmdline_parse_token_string_t cmd_set_list = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									    list, NULL);
static cmdline_parse_token_string_t cmd_set_native = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									      native, "native");
static cmdline_parse_token_num_t cmd_set_native_vid = TOKEN_NUM_INITIALIZER(
	struct cmd_set_result, native_vlan, RTE_UINT16);
static cmdline_parse_token_string_t cmd_set_lcore = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									     what, "lcore");
static cmdline_parse_token_string_t cmd_set_lcore_id = TOKEN_STRING_INITIALIZER(
	struct cmd_set_result, mode, NULL);
static cmdline_parse_token_string_t cmd_set_rxq = TOKEN_STRING_INITIALIZER(struct cmd_set_result,
									   what, "rxq");
static cmdline_parse_token_num_t cmd_set_queue = TOKEN_NUM_INITIALIZER(struct cmd_set_result, queue,
								       RTE_UINT16);
static cmdline_parse_token_string_t cmd_set_rxq_lcore = TOKEN_STRING_INITIALIZER(
	struct cmd_set_result, lcore, "lcore");

#define SET_VLAN_HELP \
	"set port <port_id> vlan access <vlan> | trunk <list> [native <vlan>]: untagged in " \
	"one VLAN, or tagged for a list such as 10,20,30-40 (native: untagged VLAN)"

static void
cmd_set_vlan_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_set_result *r = parsed;
	char err[VUS_ERR_LEN];
	int ret;

	if (strcmp(r->mode, "access") == 0)
		ret = vus_ops_port_vlan_access(r->id, r->vlan, err);
	else
		ret = vus_ops_port_vlan_trunk(r->id, r->list, data != NULL ? r->native_vlan : 0,
					      err);
	if (ret != 0)
		cli_fail(err);
	else
		cli_printf("Port %u: VLAN mode set\n", r->id);
}

static cmdline_parse_inst_t cmd_set_vlan_access = {
	.f = cmd_set_vlan_parsed,
	.help_str = SET_VLAN_HELP,
	.tokens = { (void *)&cmd_set_set, (void *)&cmd_set_port, (void *)&cmd_set_id,
		    (void *)&cmd_set_vlan, (void *)&cmd_set_access, (void *)&cmd_set_vid, NULL },
};

static cmdline_parse_inst_t cmd_set_vlan_trunk = {
	.f = cmd_set_vlan_parsed,
	.data = NULL,
	.help_str = SET_VLAN_HELP,
	.tokens = { (void *)&cmd_set_set, (void *)&cmd_set_port, (void *)&cmd_set_id,
		    (void *)&cmd_set_vlan, (void *)&cmd_set_trunk, (void *)&cmd_set_list, NULL },
};

static cmdline_parse_inst_t cmd_set_vlan_trunk_native = {
	.f = cmd_set_vlan_parsed,
	.data = (void *)1,
	.help_str = SET_VLAN_HELP,
	.tokens = { (void *)&cmd_set_set, (void *)&cmd_set_port, (void *)&cmd_set_id,
		    (void *)&cmd_set_vlan, (void *)&cmd_set_trunk, (void *)&cmd_set_list,
		    (void *)&cmd_set_native, (void *)&cmd_set_native_vid, NULL },
};

static void
cmd_set_lcore_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_set_result *r = parsed;
	char err[VUS_ERR_LEN];
	int lcore;

	if (vus_lcore_arg_parse(r->mode, &lcore, err) != 0 ||
	    vus_ops_port_lcore(r->id, lcore, err) != 0)
		cli_fail(err);
	else if (lcore < 0)
		cli_printf("Port %u: queues spread over the lcores\n", r->id);
	else
		cli_printf("Port %u: every queue polled by lcore %d\n", r->id, lcore);
}

static cmdline_parse_inst_t cmd_set_lcore_inst = {
	.f = cmd_set_lcore_parsed,
	.help_str = "set port <port_id> lcore <lcore_id>|auto: poll every RX queue of the port "
		    "from one forwarding lcore (auto: spread again)",
	.tokens = { (void *)&cmd_set_set, (void *)&cmd_set_port, (void *)&cmd_set_id,
		    (void *)&cmd_set_lcore, (void *)&cmd_set_lcore_id, NULL },
};

static void
cmd_set_rxq_lcore_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_set_result *r = parsed;
	char err[VUS_ERR_LEN];
	int lcore, owner = -EINVAL;

	if (vus_lcore_arg_parse(r->mode, &lcore, err) == 0)
		owner = vus_ops_port_rxq_lcore(r->id, r->queue, lcore, err);
	if (owner < 0)
		cli_fail(err);
	else if (lcore < 0)
		cli_printf("Port %u RX queue %u: unpinned, stays on lcore %d until a rebalance\n",
			   r->id, r->queue, owner);
	else
		cli_printf("Port %u RX queue %u: polled by lcore %d\n", r->id, r->queue, owner);
}

static cmdline_parse_inst_t cmd_set_rxq_lcore_inst = {
	.f = cmd_set_rxq_lcore_parsed,
	.help_str = "set port <port_id> rxq <queue_id> lcore <lcore_id>|auto: poll one RX queue "
		    "from one forwarding lcore (auto: unpin it)",
	.tokens = { (void *)&cmd_set_set, (void *)&cmd_set_port, (void *)&cmd_set_id,
		    (void *)&cmd_set_rxq, (void *)&cmd_set_queue, (void *)&cmd_set_rxq_lcore,
		    (void *)&cmd_set_lcore_id, NULL },
};

static cmdline_parse_inst_t *const port_cmds[] = {
	&cmd_add_vhost_plain,         &cmd_add_vhost_client,   &cmd_add_vhost_queues,
	&cmd_add_vhost_client_queues, &cmd_add_ethdev_inst,    &cmd_del,
	&cmd_set_vlan_access,         &cmd_set_vlan_trunk,     &cmd_set_vlan_trunk_native,
	&cmd_set_lcore_inst,          &cmd_set_rxq_lcore_inst, NULL,
};

const struct cli_group cli_port_group = {
	.title = "Ports: adding, removing, settings",
	.cmds = port_cmds,
};
