/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_OPS_PRIV_H
#define VUS_OPS_PRIV_H

/*
 * State of the operations layer, shared by its files: vus_ops.c (plumbing,
 * registry), vus_ops_stats.c, vus_ops_port.c, vus_ops_vhost.c (ports) and
 * vus_ops_fwd.c (forwarding, table). Everything but `closing` and
 * `inflight` is read and written on the control thread only.
 */

#include <stdarg.h>
#include <stdatomic.h>

#include "vus_ops.h"

/* A switch port as the operations know it: the registry entry. */
struct ops_port {
	bool used;
	enum vus_port_kind kind;
	struct vus_port *port;
	unsigned int vhost_id; /* vhost: vhost_ctrl port id */
	uint16_t eth_port;     /* ethdev: port id */
	uint16_t eth_txq;      /* ethdev: TX queues configured */
	char devargs[128];     /* ethdev: what was probed, or its name */
	/* vhost: counters at the last clear (ethdevs are reset instead). */
	struct vus_port_stats base;
	struct virtq_stats *qbase; /* rx rings [0, n), then tx rings [n, 2n) */
	struct {
		uint64_t rx, tx, tsc;
	} rate[VUS_RATE_SLOTS];
};

struct ops_state {
	struct vus_ops_params p;
	struct ops_port ports[FWD_MAX_PORTS];
	struct fwd_lcore_stats lbase[FWD_MAX_LCORES]; /* lcore counters at the last clear */
	struct fwd_switch_stats swbase;
	uint32_t aging_s;
	unsigned int load_ticks; /* vus_ops_fwd_tick() calls since the last automatic rebalance */
	struct vus_rxq_pin rxq_pins[VUS_MAX_RXQ_PINS]; /* --rxq-lcore, applied on port add */
	unsigned int nb_rxq_pins;
	atomic_bool closing;
	atomic_uint inflight;
};

extern struct ops_state g_ops;

/* Control-thread scratch for vhost_ctrl_port_info() (too big for a stack). */
extern struct vhost_port_info g_ops_vinfo;

/* Write the reason into err (may be NULL) and return ret. */
int ops_fail(char *err, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Enter / leave the layer (refused once shutting down). */
int ops_enter(char *err);
void ops_leave(void);

/* Run fn(arg) on the control thread, inside ops_enter()/ops_leave(). */
int ops_call(int (*fn)(void *), void *arg, char *err);

/* Index of the forwarding lcore with EAL id @p lcore_id, or -1. */
int ops_lcore_index(int lcore_id);

/* Control thread: the registry entry of port id, or NULL with a reason. */
struct ops_port *ops_port_get(uint16_t id, char *err);

#endif /* VUS_OPS_PRIV_H */
