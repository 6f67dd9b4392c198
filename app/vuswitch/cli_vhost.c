/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user: show vhost <port_id>, what the control plane knows of a port
 * (features by name, rings and their indices, memory, the last requests,
 * the last error) and why it may carry no traffic.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include "cli.h"
#include "vhost_msg.h"

struct cmd_vhost_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t vhost;
	uint16_t id;
};

static void
print_features(const struct vhost_port_info *vi)
{
	char names[1024];

	cli_printf("  Features offered: 0x%016" PRIx64 ": %s\n", vi->features_offered,
		   vhost_msg_feature_str(vi->features_offered, false, names, sizeof(names)));
	if (vi->features_set)
		cli_printf("  Features acked:   0x%016" PRIx64 ": %s\n", vi->features,
			   vhost_msg_feature_str(vi->features, false, names, sizeof(names)));
	else
		cli_printf("  Features acked:   none yet (no SET_FEATURES)\n");
	cli_printf("  Protocol features offered: 0x%" PRIx64 ": %s\n", vi->protocol_offered,
		   vhost_msg_feature_str(vi->protocol_offered, true, names, sizeof(names)));
	cli_printf("  Protocol features acked:   0x%" PRIx64 ": %s\n", vi->protocol_features,
		   vi->protocol_features != 0 ? vhost_msg_feature_str(vi->protocol_features, true,
								      names, sizeof(names))
					      : "none");
}

static void
print_memory(const struct vhost_port_info *vi)
{
	cli_printf("  Memory: %u region(s), %" PRIu64 " bytes mapped\n", vi->nregions,
		   vi->mapped_bytes);
	for (unsigned int k = 0; k < vi->nregions && k < VHOST_INFO_MAX_REGIONS; k++)
		cli_printf("    region %u: gpa 0x%" PRIx64 " size 0x%" PRIx64 " uva 0x%" PRIx64
			   "\n",
			   k, vi->regions[k].gpa, vi->regions[k].size, vi->regions[k].uva);
	if (vi->nregions > VHOST_INFO_MAX_REGIONS)
		cli_printf("    (%u more)\n", vi->nregions - VHOST_INFO_MAX_REGIONS);
}

static void
print_ring(const struct vus_vhost_snapshot *v, unsigned int r)
{
	const struct vhost_ring_info *ri = &v->info.rings[r];
	char lcore[16];

	if (v->ring_lcore[r] == FWD_NO_LCORE)
		snprintf(lcore, sizeof(lcore), "none");
	else
		snprintf(lcore, sizeof(lcore), "%u", v->ring_lcore[r]);
	cli_printf("  ring %u (guest %s, queue %u, lcore %s): num %u%s%s%s%s%s, base 0x%x\n", r,
		   r % 2 ? "TX" : "RX", r / 2, lcore, ri->num, ri->started ? " started" : "",
		   ri->enabled ? " enabled" : " disabled", ri->published ? " running" : "",
		   ri->broken ? " BROKEN" : "", ri->has_call ? " call" : "", ri->base);
	if (ri->idx_valid)
		cli_printf("      avail_idx %u last_avail %u used_idx %u last_used %u: "
			   "%u buffer(s) posted and not yet used\n",
			   ri->avail_idx, ri->last_avail, ri->used_idx, ri->last_used,
			   (uint16_t)(ri->avail_idx - ri->last_avail));
	else if (ri->published)
		cli_printf("      last_avail %u%s last_used %u%s (packed)\n", ri->last_avail,
			   ri->avail_wrap ? " wrap" : "", ri->last_used,
			   ri->used_wrap ? " wrap" : "");
}

static void
print_rings(const struct vus_vhost_snapshot *v)
{
	const struct vhost_port_info *vi = &v->info;
	unsigned int running = 0, shown = 0;

	for (unsigned int r = 0; r < vi->nrings; r++)
		running += vi->rings[r].published;
	cli_printf("  Rings: %u of %u running\n", running, vi->nrings);
	for (unsigned int r = 0; r < vi->nrings; r++) {
		const struct vhost_ring_info *ri = &vi->rings[r];

		/* Rings the front-end never touched would only be noise. */
		if (ri->num == 0 && !ri->started && !ri->enabled && !ri->published)
			continue;
		print_ring(v, r);
		shown++;
	}
	if (shown < vi->nrings)
		cli_printf("  (%u ring(s) not configured by the front-end)\n", vi->nrings - shown);
}

static void
print_steps(const struct vus_vhost_snapshot *v)
{
	const struct vhost_port_info *vi = &v->info;

	cli_printf("  Last error: %s\n", vi->last_error[0] != '\0' ? vi->last_error : "none");
	cli_printf("  Last requests (oldest first):%s\n", vi->nsteps == 0 ? " none" : "");
	for (unsigned int k = 0; k < vi->nsteps; k++) {
		const struct vhost_step *st = &vi->steps[k];
		uint64_t age = v->now_ms >= st->at_ms ? v->now_ms - st->at_ms : 0;

		cli_printf("    %6" PRIu64 ".%03" PRIu64 " s ago  %-24s %s\n", age / 1000,
			   age % 1000, vhost_msg_name(st->request),
			   vhost_step_result_str((enum vhost_step_result)st->result));
	}
}

static void
cmd_show_vhost_parsed(void *parsed, struct cmdline *cl, void *data)
{
	struct cmd_vhost_result *r = parsed;
	struct vus_vhost_snapshot *v = malloc(sizeof(*v));
	char err[VUS_ERR_LEN], hints[VUS_MAX_HINTS][VUS_HINT_LEN], status[96];
	const struct vhost_port_info *vi;
	unsigned int nh;

	if (v == NULL || vus_ops_vhost_get(r->id, v, err) != 0) {
		cli_fail(v == NULL ? "out of memory" : err);
		free(v);
		return;
	}
	vi = &v->info;
	cli_printf("vhost-user port %u: %s (%s), %s\n", r->id, vi->path,
		   vi->client ? "client" : "server", vhost_port_conn_str(vi->conn));
	cli_printf("  Connections: %u  Queue pairs: %u\n", vi->connections, vi->queue_pairs);
	print_features(vi);
	cli_printf("  Status: 0x%x (%s)  MTU: %u\n", vi->status,
		   vus_virtio_status_str(vi->status, status, sizeof(status)), vi->mtu);
	print_memory(vi);
	print_rings(v);
	print_steps(v);
	nh = vus_vhost_hints(v, hints, VUS_MAX_HINTS);
	for (unsigned int k = 0; k < nh; k++)
		cli_printf("  %s %s\n", k == 0 ? "Hint:" : "     ", hints[k]);
	free(v);
}

static cmdline_parse_token_string_t cmd_vhost_show = TOKEN_STRING_INITIALIZER(
	struct cmd_vhost_result, show, "show");
static cmdline_parse_token_string_t cmd_vhost_vhost = TOKEN_STRING_INITIALIZER(
	struct cmd_vhost_result, vhost, "vhost");
static cmdline_parse_token_num_t cmd_vhost_id = TOKEN_NUM_INITIALIZER(struct cmd_vhost_result, id,
								      RTE_UINT16);

static cmdline_parse_inst_t cmd_show_vhost = {
	.f = cmd_show_vhost_parsed,
	.help_str = "show vhost <port_id>: negotiated features, rings (state, size, indices, "
		    "lcore), memory, last requests and error, and why traffic may not flow",
	.tokens = { (void *)&cmd_vhost_show, (void *)&cmd_vhost_vhost, (void *)&cmd_vhost_id,
		    NULL },
};

static cmdline_parse_inst_t *const vhost_cmds[] = { &cmd_show_vhost, NULL };

const struct cli_group cli_vhost_group = {
	.title = "vhost-user",
	.cmds = vhost_cmds,
};
