/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations layer: a vhost-user port's negotiated state and rings as
 * one snapshot, and the hints an operator gets from it. See vus_ops.h.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "vus_ops_priv.h"

/* --- vhost-user ---------------------------------------------------------------------------- */

struct vhost_args {
	uint16_t id;
	struct vus_vhost_snapshot *v;
	char *err;
};

static int
do_vhost_get(void *arg)
{
	struct vhost_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);
	struct timespec ts;
	int ret;

	if (op == NULL)
		return -ENOENT;
	if (op->kind != VUS_PORT_VHOST)
		return ops_fail(a->err, -EINVAL, "port %u is not a vhost-user port", a->id);
	ret = vhost_ctrl_port_info(g_ops.p.ctrl, op->vhost_id, &a->v->info);
	if (ret != 0)
		return ops_fail(a->err, ret, "port %u: no vhost-user state", a->id);
	a->v->id = a->id;
	/* Ring 2q+1 is RX queue q; its owner also writes ring 2q (port_vhost.c). */
	for (unsigned int r = 0; r < a->v->info.nrings; r++) {
		uint16_t q = (uint16_t)(r / 2);
		uint16_t idx = fwd_queue_owner(g_ops.p.rt, a->id, q);
		struct fwd_lcore *lc = idx != FWD_NO_LCORE ? fwd_lcore_get(g_ops.p.rt, idx) : NULL;

		a->v->ring_lcore[r] = lc != NULL ? (uint16_t)lc->lcore_id : FWD_NO_LCORE;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	a->v->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	a->v->fwd_running = fwd_is_running(g_ops.p.rt);
	return 0;
}

int
vus_ops_vhost_get(uint16_t id, struct vus_vhost_snapshot *v, char *err)
{
	struct vhost_args a = { .id = id, .v = v, .err = err };

	return ops_call(do_vhost_get, &a, err);
}

/* --- hints --------------------------------------------------------------------------------- */

#define HINT(...) \
	do { \
		if (n < max) \
			snprintf(hints[n++], VUS_HINT_LEN, __VA_ARGS__); \
	} while (0)

/* Port-level reasons: connection, negotiation, memory, no ring started. */
static unsigned int
hints_port(const struct vus_vhost_snapshot *v, char hints[][VUS_HINT_LEN], unsigned int max)
{
	const struct vhost_port_info *vi = &v->info;
	unsigned int n = 0, running = 0;

	for (unsigned int r = 0; r < vi->nrings; r++)
		running += vi->rings[r].published;
	if (vi->conn != VHOST_PORT_CONNECTED)
		HINT("no front-end connected (%s %s)", vhost_port_conn_str(vi->conn),
		     vi->client ? "to the socket" : "on the socket");
	else if (!vi->features_set)
		HINT("front-end connected but features not negotiated yet (no SET_FEATURES)");
	else if (vi->nregions == 0)
		HINT("no guest memory table yet (no SET_MEM_TABLE)");
	else if (running == 0 && (vi->protocol_features & (1ULL << 16)) != 0 &&
		 (vi->status & 0x4) == 0)
		HINT("no ring running: the driver has not set DRIVER_OK (status 0x%x)", vi->status);
	else if (running == 0)
		HINT("no ring running: the front-end has not started any (SET_VRING_KICK)");
	return n;
}

/* Ring-level reasons for the rings that run. */
static unsigned int
hints_rings(const struct vus_vhost_snapshot *v, char hints[][VUS_HINT_LEN], unsigned int max)
{
	const struct vhost_port_info *vi = &v->info;
	unsigned int n = 0;

	for (unsigned int r = 0; r < vi->nrings; r++) {
		const struct vhost_ring_info *ri = &vi->rings[r];

		if (!ri->published)
			continue;
		if (ri->broken)
			HINT("ring %u is broken: stopped after a bad descriptor or address "
			     "(see the last error)",
			     r);
		else if (!ri->enabled)
			HINT("ring %u is disabled (SET_VRING_ENABLE 0): its packets are discarded",
			     r);
		else if (r % 2 == 0 && ri->idx_valid && ri->avail_idx == ri->last_avail)
			HINT("ring %u (guest RX): no free buffer posted by the guest; packets to it "
			     "are dropped (no_guest_buffer)",
			     r);
		if (v->ring_lcore[r] == FWD_NO_LCORE && r % 2 == 1)
			HINT("queue %u is not polled by any lcore (no forwarding lcore)", r / 2);
	}
	return n;
}

unsigned int
vus_vhost_hints(const struct vus_vhost_snapshot *v, char hints[][VUS_HINT_LEN], unsigned int max)
{
	unsigned int n = hints_port(v, hints, max);

	if (n == 0)
		n = hints_rings(v, hints, max);
	if (!v->fwd_running && n < max)
		snprintf(hints[n++], VUS_HINT_LEN, "forwarding is stopped (start)");
	if (n == 0 && max > 0)
		snprintf(hints[n++], VUS_HINT_LEN,
			 "rings running; if no traffic flows, look at the drop reasons "
			 "(show port xstats) and the table (show fdb)");
	return n;
}
