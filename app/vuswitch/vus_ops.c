/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations layer: plumbing (control-thread calls, the shutdown gate,
 * the port registry) and the names of things. Ports are in vus_ops_stats.c
 * (snapshots, counters), vus_ops_port.c (add/del, VLAN, lcore) and
 * vus_ops_vhost.c (vhost-user state, hints); forwarding and the table in
 * vus_ops_fwd.c. See vus_ops.h for the threading rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vus_ops_priv.h"

#ifndef VUS_VERSION
#define VUS_VERSION "unknown"
#endif

struct ops_state g_ops;

struct vhost_port_info g_ops_vinfo;

int
ops_fail(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, VUS_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int
ops_enter(char *err)
{
	/* Count first, then look: shutdown sets closing, then waits for the
	 * count to drop, so either it sees us or we see it. */
	atomic_fetch_add(&g_ops.inflight, 1);
	if (atomic_load(&g_ops.closing)) {
		atomic_fetch_sub(&g_ops.inflight, 1);
		return ops_fail(err, -ESHUTDOWN, "vuswitch is shutting down");
	}
	return 0;
}

void
ops_leave(void)
{
	atomic_fetch_sub(&g_ops.inflight, 1);
}

struct tramp_args {
	int (*fn)(void *);
	void *arg;
};

static int
tramp(struct vhost_ctrl *ctrl, void *arg)
{
	struct tramp_args *t = arg;

	return t->fn(t->arg);
}

int
ops_call(int (*fn)(void *), void *arg, char *err)
{
	struct tramp_args t = { .fn = fn, .arg = arg };
	int ret = ops_enter(err);

	if (ret != 0)
		return ret;
	ret = vhost_ctrl_call(g_ops.p.ctrl, tramp, &t);
	ops_leave();
	return ret;
}

int
ops_lcore_index(int lcore_id)
{
	for (unsigned int i = 0; i < fwd_nb_lcores(g_ops.p.rt); i++)
		if ((int)fwd_lcore_get(g_ops.p.rt, i)->lcore_id == lcore_id)
			return (int)i;
	return -1;
}

int
vus_ops_init(const struct vus_ops_params *p, char *err)
{
	memset(&g_ops, 0, sizeof(g_ops));
	g_ops.p = *p;
	g_ops.aging_s = FDB_DEFAULT_AGING_S;
	atomic_init(&g_ops.closing, false);
	atomic_init(&g_ops.inflight, 0);
	if (p->nb_rxq_pins > VUS_MAX_RXQ_PINS)
		return ops_fail(err, -EINVAL, "more than %u RX queue pins", VUS_MAX_RXQ_PINS);
	for (unsigned int i = 0; i < p->nb_rxq_pins; i++) {
		const struct vus_rxq_pin *pin = &p->rxq_pins[i];

		if (ops_lcore_index((int)pin->lcore_id) < 0)
			return ops_fail(err, -EINVAL,
					"%u:%u:%u: lcore %u is not a forwarding lcore "
					"(an EAL worker lcore)",
					pin->port, pin->queue, pin->lcore_id, pin->lcore_id);
		g_ops.rxq_pins[i] = *pin;
	}
	g_ops.nb_rxq_pins = p->nb_rxq_pins;
	g_ops.p.rxq_pins = g_ops.rxq_pins;
	return 0;
}

void
vus_ops_shutdown(void)
{
	atomic_store(&g_ops.closing, true);
	while (atomic_load(&g_ops.inflight) != 0)
		usleep(1000);
}

void
vus_ops_fini(void)
{
	for (unsigned int i = 0; i < FWD_MAX_PORTS; i++)
		free(g_ops.ports[i].qbase);
	memset(g_ops.ports, 0, sizeof(g_ops.ports));
}

const char *
vus_ops_version(void)
{
	return VUS_VERSION;
}

const char *
vus_port_kind_str(enum vus_port_kind k)
{
	return k == VUS_PORT_VHOST ? "vhost-user" : "ethdev";
}

static bool
vlan_bit(const uint64_t *m, unsigned int v)
{
	return (m[v >> 6] >> (v & 63)) & 1;
}

char *
vus_vlan_list_str(const uint64_t allowed[64], char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int v = 1; v < 4095 && used < len; v++) {
		unsigned int hi = v;

		if (!vlan_bit(allowed, v))
			continue;
		while (hi + 1 < 4095 && vlan_bit(allowed, hi + 1))
			hi++;
		if (hi == v)
			used += (size_t)snprintf(buf + used, len - used, "%s%u", used ? "," : "",
						 v);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "",
						 v, hi);
		v = hi;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
	return buf;
}

char *
vus_virtio_status_str(uint8_t status, char *buf, size_t len)
{
	static const char *const names[8] = { "ACKNOWLEDGE", "DRIVER", "DRIVER_OK",   "FEATURES_OK",
					      NULL,          NULL,     "NEEDS_RESET", "FAILED" };
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int b = 0; b < 8 && used < len; b++)
		if (status & (1u << b))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "",
						 names[b] != NULL ? names[b] : "?");
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
	return buf;
}

struct ops_port *
ops_port_get(uint16_t id, char *err)
{
	if (id >= FWD_MAX_PORTS || !g_ops.ports[id].used) {
		ops_fail(err, -ENOENT, "no port %u", id);
		return NULL;
	}
	return &g_ops.ports[id];
}
