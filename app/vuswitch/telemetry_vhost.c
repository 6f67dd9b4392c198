/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The /vuswitch/vhost command: a vhost-user port's negotiation, rings,
 * memory, recent requests and hints. Rules in telemetry.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "telemetry_priv.h"
#include "vhost_msg.h"

/* --- vhost-user ---------------------------------------------------------------------------- */

static struct rte_tel_data *
feature_names(uint64_t bits, bool proto)
{
	struct rte_tel_data *a = rte_tel_data_alloc();
	char name[16];

	if (a == NULL)
		return NULL;
	rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
	for (unsigned int b = 0; b < 64; b++) {
		const char *n = proto ? vhost_protocol_feature_name(b) : virtio_feature_name(b);

		if (!(bits & (1ULL << b)))
			continue;
		if (n == NULL) {
			snprintf(name, sizeof(name), "bit%u", b);
			n = name;
		}
		rte_tel_data_add_array_string(a, n);
	}
	return a;
}

static void
vhost_features(struct rte_tel_data *d, const struct vhost_port_info *vi)
{
	rte_tel_data_add_dict_u64(d, "features_offered", vi->features_offered);
	rte_tel_data_add_dict_u64(d, "features", vi->features);
	tel_dict_flag(d, "features_set", vi->features_set);
	tel_add_container(d, "feature_names", feature_names(vi->features, false));
	rte_tel_data_add_dict_u64(d, "protocol_offered", vi->protocol_offered);
	rte_tel_data_add_dict_u64(d, "protocol_features", vi->protocol_features);
	tel_add_container(d, "protocol_names", feature_names(vi->protocol_features, true));
	rte_tel_data_add_dict_int(d, "status", vi->status);
	rte_tel_data_add_dict_int(d, "mtu", vi->mtu);
}

static struct rte_tel_data *
ring_dict(const struct vus_vhost_snapshot *v, unsigned int r)
{
	const struct vhost_ring_info *ri = &v->info.rings[r];
	struct rte_tel_data *c = tel_new_dict();

	if (c == NULL)
		return NULL;
	rte_tel_data_add_dict_string(c, "guest", r % 2 ? "tx" : "rx");
	rte_tel_data_add_dict_int(c, "queue", (int)(r / 2));
	rte_tel_data_add_dict_int(c, "num", (int)ri->num);
	tel_dict_flag(c, "started", ri->started);
	tel_dict_flag(c, "enabled", ri->enabled);
	tel_dict_flag(c, "running", ri->published);
	tel_dict_flag(c, "broken", ri->broken);
	tel_dict_flag(c, "kick", ri->has_kick);
	tel_dict_flag(c, "call", ri->has_call);
	rte_tel_data_add_dict_u64(c, "base", ri->base);
	rte_tel_data_add_dict_int(c, "last_avail", ri->last_avail);
	rte_tel_data_add_dict_int(c, "last_used", ri->last_used);
	if (ri->idx_valid) {
		rte_tel_data_add_dict_int(c, "avail_idx", ri->avail_idx);
		rte_tel_data_add_dict_int(c, "used_idx", ri->used_idx);
	}
	rte_tel_data_add_dict_int(c, "lcore",
				  v->ring_lcore[r] == FWD_NO_LCORE ? -1 : v->ring_lcore[r]);
	return c;
}

static void
vhost_rings(struct rte_tel_data *d, const struct vus_vhost_snapshot *v)
{
	struct rte_tel_data *rings = tel_new_dict();
	char key[16];

	for (unsigned int r = 0; rings != NULL && r < v->info.nrings; r++) {
		const struct vhost_ring_info *ri = &v->info.rings[r];

		/* As show vhost: rings the front-end never touched are left out. */
		if (ri->num == 0 && !ri->started && !ri->enabled && !ri->published)
			continue;
		snprintf(key, sizeof(key), "%u", r);
		tel_add_container(rings, key, ring_dict(v, r));
	}
	tel_add_container(d, "rings", rings);
}

static void
vhost_memory(struct rte_tel_data *d, const struct vhost_port_info *vi)
{
	struct rte_tel_data *regs = tel_new_dict();
	char key[16];

	rte_tel_data_add_dict_int(d, "nregions", (int)vi->nregions);
	rte_tel_data_add_dict_u64(d, "mapped_bytes", vi->mapped_bytes);
	for (unsigned int k = 0; regs != NULL && k < vi->nregions && k < VHOST_INFO_MAX_REGIONS;
	     k++) {
		struct rte_tel_data *c = tel_new_dict();

		if (c == NULL)
			break;
		rte_tel_data_add_dict_u64(c, "gpa", vi->regions[k].gpa);
		rte_tel_data_add_dict_u64(c, "size", vi->regions[k].size);
		rte_tel_data_add_dict_u64(c, "uva", vi->regions[k].uva);
		snprintf(key, sizeof(key), "%u", k);
		tel_add_container(regs, key, c);
	}
	tel_add_container(d, "regions", regs);
}

static void
vhost_steps(struct rte_tel_data *d, const struct vus_vhost_snapshot *v)
{
	struct rte_tel_data *steps = tel_new_dict();
	char key[16];

	for (unsigned int k = 0; steps != NULL && k < v->info.nsteps; k++) {
		const struct vhost_step *st = &v->info.steps[k];
		struct rte_tel_data *c = tel_new_dict();

		if (c == NULL)
			break;
		rte_tel_data_add_dict_string(c, "request", vhost_msg_name(st->request));
		rte_tel_data_add_dict_string(
			c, "result", vhost_step_result_str((enum vhost_step_result)st->result));
		rte_tel_data_add_dict_u64(c, "age_ms",
					  v->now_ms >= st->at_ms ? v->now_ms - st->at_ms : 0);
		snprintf(key, sizeof(key), "%u", k);
		tel_add_container(steps, key, c);
	}
	tel_add_container(d, "steps", steps);
}

static void
vhost_hints(struct rte_tel_data *d, const struct vus_vhost_snapshot *v)
{
	char hints[VUS_MAX_HINTS][VUS_HINT_LEN];
	unsigned int n = vus_vhost_hints(v, hints, VUS_MAX_HINTS);
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a == NULL)
		return;
	rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
	for (unsigned int k = 0; k < n; k++)
		rte_tel_data_add_array_string(a, hints[k]);
	tel_add_container(d, "hints", a);
}

int
tel_vhost(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vus_vhost_snapshot *v;
	const struct vhost_port_info *vi;
	char err[VUS_ERR_LEN];
	uint16_t id;

	if (!tel_param_id(params, &id, d, "/vuswitch/vhost,<port_id>"))
		return 0;
	v = malloc(sizeof(*v));
	if (v == NULL || vus_ops_vhost_get(id, v, err) != 0) {
		free(v);
		return tel_error(d, "%s", v == NULL ? "out of memory" : err);
	}
	vi = &v->info;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "id", id);
	rte_tel_data_add_dict_string(d, "path", vi->path);
	tel_dict_flag(d, "client", vi->client);
	rte_tel_data_add_dict_string(d, "conn", vhost_port_conn_str(vi->conn));
	rte_tel_data_add_dict_int(d, "connections", (int)vi->connections);
	rte_tel_data_add_dict_int(d, "queue_pairs", (int)vi->queue_pairs);
	vhost_features(d, vi);
	vhost_memory(d, vi);
	vhost_rings(d, v);
	rte_tel_data_add_dict_string(d, "last_error", vi->last_error);
	vhost_steps(d, v);
	vhost_hints(d, v);
	free(v);
	return 0;
}
