/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The operations layer: adding and removing ports (vhost-user, ethdev),
 * their VLAN mode and which lcore polls their queues. Control thread,
 * through ops_call(); see vus_ops.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_ethdev.h>

#include "port_ethdev.h"
#include "port_vhost.h"
#include "vus_log.h"
#include "vus_ops_priv.h"

/* --- adding and removing ports ----------------------------------------------------------- */

/*
 * The standing pins (--rxq-lcore) of new port @p id, in the order given. A
 * pin of a queue the port does not have never applies; one that fails
 * (no memory) leaves the queue where it was put.
 */
static void
rxq_pins_apply(uint16_t id, const struct vus_port *p)
{
	for (unsigned int i = 0; i < g_ops.nb_rxq_pins; i++) {
		const struct vus_rxq_pin *pin = &g_ops.rxq_pins[i];
		int idx = ops_lcore_index((int)pin->lcore_id);
		int ret;

		if (pin->port != id)
			continue;
		if (pin->queue >= p->nb_queues) {
			VUS_CTRL_LOG(
				INFO,
				"port %u: has %u RX queue(s), --rxq-lcore %u:%u:%u not applied\n",
				id, p->nb_queues, pin->port, pin->queue, pin->lcore_id);
			continue;
		}
		ret = idx < 0 ? -EINVAL : fwd_queue_pin(g_ops.p.rt, id, pin->queue, (uint16_t)idx);
		if (ret != 0)
			VUS_CTRL_LOG(WARNING, "port %u: RX queue %u not pinned to lcore %u: %s\n",
				     id, pin->queue, pin->lcore_id, strerror(-ret));
		else
			VUS_CTRL_LOG(INFO,
				     "port %u: RX queue %u pinned to lcore %u (--rxq-lcore)\n", id,
				     pin->queue, pin->lcore_id);
	}
}

/* Enter a port the runtime accepted into the registry. */
static int
registry_add(struct vus_port *p, int id, enum vus_port_kind kind, struct virtq_stats *qbase)
{
	struct ops_port *op = &g_ops.ports[id];

	memset(op, 0, sizeof(*op));
	op->used = true;
	op->kind = kind;
	op->port = p;
	op->qbase = qbase;
	return id;
}

struct add_args {
	const char *path;
	bool client;
	unsigned int queue_pairs;
	const char *devargs;
	uint16_t eth_port;
	char *err;
};

static int
do_add_vhost(void *arg)
{
	struct add_args *a = arg;
	struct vhost_port_params vp = { .path = a->path,
					.client = a->client,
					.queue_pairs = a->queue_pairs };
	struct virtq_stats *qbase;
	struct vus_port *p;
	int vid, id;

	vid = vhost_ctrl_port_add(g_ops.p.ctrl, &vp);
	if (vid == -EEXIST)
		return ops_fail(a->err, vid, "%s is already a port's socket", a->path);
	if (vid < 0)
		return ops_fail(a->err, vid, "cannot open %s: %s", a->path, strerror(-vid));
	p = port_vhost_create(g_ops.p.ctrl, (unsigned int)vid, 0);
	qbase = p != NULL ? calloc(2u * p->nb_queues, sizeof(*qbase)) : NULL;
	id = qbase != NULL ? fwd_port_add(g_ops.p.rt, p) : -ENOMEM;
	if (id < 0) {
		/* Undo in reverse: nothing of the port stays. */
		free(qbase);
		vus_port_destroy(p);
		vhost_ctrl_port_del(g_ops.p.ctrl, (unsigned int)vid);
		return ops_fail(a->err, id, "cannot add %s: %s", a->path, strerror(-id));
	}
	registry_add(p, id, VUS_PORT_VHOST, qbase);
	g_ops.ports[id].vhost_id = (unsigned int)vid;
	VUS_CTRL_LOG(INFO, "port %d: vhost-user %s%s added\n", id, a->path,
		     a->client ? " (client)" : "");
	rxq_pins_apply((uint16_t)id, p);
	return id;
}

int
vus_ops_port_add_vhost(const char *path, bool client, unsigned int queue_pairs, char *err)
{
	struct add_args a = {
		.path = path, .client = client, .queue_pairs = queue_pairs, .err = err
	};

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(g_ops_vinfo.path))
		return ops_fail(err, -EINVAL, "socket path must be 1..%zu characters",
				sizeof(g_ops_vinfo.path) - 1);
	if (queue_pairs > VHOST_CTRL_MAX_QUEUE_PAIRS)
		return ops_fail(err, -EINVAL, "queues must be 1..%u", VHOST_CTRL_MAX_QUEUE_PAIRS);
	return ops_call(do_add_vhost, &a, err);
}

static int
attach_ethdev(uint16_t eth, const char *devargs, char *err)
{
	uint16_t nl = (uint16_t)fwd_nb_lcores(g_ops.p.rt);
	uint16_t ntx = nl != 0 ? nl : 1;
	struct vus_port *p = port_ethdev_create(eth, 0, g_ops.p.ethdev_rxq, ntx, g_ops.p.mp);
	int id = p != NULL ? fwd_port_add(g_ops.p.rt, p) : -EIO;

	if (id < 0) {
		vus_port_destroy(p);
		return ops_fail(err, id, "ethdev %u: cannot start it (see the log)", eth);
	}
	registry_add(p, id, VUS_PORT_ETHDEV, NULL);
	VUS_CTRL_LOG(INFO, "port %d: ethdev %s added\n", id, p->name);
	g_ops.ports[id].eth_port = eth;
	g_ops.ports[id].eth_txq = ntx;
	snprintf(g_ops.ports[id].devargs, sizeof(g_ops.ports[id].devargs), "%s", devargs);
	rxq_pins_apply((uint16_t)id, p);
	return id;
}

static int
do_attach_ethdev(void *arg)
{
	struct add_args *a = arg;
	char name[RTE_ETH_NAME_MAX_LEN];

	if (rte_eth_dev_get_name_by_port(a->eth_port, name) != 0)
		snprintf(name, sizeof(name), "eth%u", a->eth_port);
	return attach_ethdev(a->eth_port, name, a->err);
}

int
vus_ops_port_attach_ethdev(uint16_t eth_port, char *err)
{
	struct add_args a = { .eth_port = eth_port, .err = err };

	return ops_call(do_attach_ethdev, &a, err);
}

static bool
eth_is_attached(uint16_t eth)
{
	for (unsigned int i = 0; i < FWD_MAX_PORTS; i++)
		if (g_ops.ports[i].used && g_ops.ports[i].kind == VUS_PORT_ETHDEV &&
		    g_ops.ports[i].eth_port == eth)
			return true;
	return false;
}

/* Undo a probe: close the ethdev and detach its device. */
static void
unprobe(uint16_t eth)
{
	struct rte_eth_dev_info di;

	if (rte_eth_dev_info_get(eth, &di) != 0)
		return;
	rte_eth_dev_close(eth);
	rte_dev_remove(di.device);
}

static int
do_add_ethdev(void *arg)
{
	struct add_args *a = arg;
	bool before[RTE_MAX_ETHPORTS] = { false };
	uint16_t eth, found = RTE_MAX_ETHPORTS;
	int ret;

	RTE_ETH_FOREACH_DEV (eth)
		before[eth] = true;
	ret = rte_dev_probe(a->devargs);
	if (ret < 0)
		return ops_fail(a->err, ret,
				"cannot probe '%s': unknown driver, bad arguments "
				"or device in use (error %d)",
				a->devargs, ret);
	RTE_ETH_FOREACH_DEV (eth)
		if (!before[eth] && !eth_is_attached(eth) && found == RTE_MAX_ETHPORTS)
			found = eth;
	if (found == RTE_MAX_ETHPORTS)
		return ops_fail(a->err, -ENODEV, "'%s' was probed but gave no new ethdev",
				a->devargs);
	ret = attach_ethdev(found, a->devargs, a->err);
	if (ret < 0)
		unprobe(found);
	else
		VUS_CTRL_LOG(INFO, "port %d: ethdev %s added\n", ret, a->devargs);
	return ret;
}

int
vus_ops_port_add_ethdev(const char *devargs, char *err)
{
	struct add_args a = { .devargs = devargs, .err = err };

	if (devargs == NULL || devargs[0] == '\0' || strlen(devargs) >= 128)
		return ops_fail(err, -EINVAL, "devargs must be 1..127 characters");
	return ops_call(do_add_ethdev, &a, err);
}

struct del_args {
	uint16_t id;
	char *err;
};

static int
do_port_del(void *arg)
{
	struct del_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);
	struct rte_device *dev = NULL;
	struct rte_eth_dev_info di;
	struct vus_port *p;

	if (op == NULL)
		return -ENOENT;
	/* After fwd_port_del() no lcore polls or sends to the port. */
	p = fwd_port_del(g_ops.p.rt, a->id);
	fwd_switch_port_removed(g_ops.p.sw, a->id);
	if (op->kind == VUS_PORT_ETHDEV && rte_eth_dev_info_get(op->eth_port, &di) == 0)
		dev = di.device;
	vus_port_destroy(p);
	if (op->kind == VUS_PORT_VHOST)
		vhost_ctrl_port_del(g_ops.p.ctrl, op->vhost_id);
	else if (dev != NULL && rte_dev_remove(dev) != 0)
		VUS_CTRL_LOG(WARNING, "port %u: device of ethdev %u not removed\n", a->id,
			     op->eth_port);
	free(op->qbase);
	memset(op, 0, sizeof(*op));
	VUS_CTRL_LOG(INFO, "port %u: removed\n", a->id);
	return 0;
}

int
vus_ops_port_del(uint16_t id, char *err)
{
	struct del_args a = { .id = id, .err = err };

	return ops_call(do_port_del, &a, err);
}

/* --- port settings ----------------------------------------------------------------------- */

struct vlan_args {
	uint16_t id;
	bool trunk;
	uint16_t vlan; /* access VLAN or trunk native */
	uint64_t allowed[64];
	int lcore_id;
	int queue; /* lcore: one RX queue, or -1 for all */
	char *err;
};

static int
do_port_vlan(void *arg)
{
	struct vlan_args *a = arg;
	int ret;

	if (ops_port_get(a->id, a->err) == NULL)
		return -ENOENT;
	ret = a->trunk ? fwd_switch_set_trunk(g_ops.p.sw, a->id, a->allowed, a->vlan)
		       : fwd_switch_set_access(g_ops.p.sw, a->id, a->vlan);
	if (ret != 0)
		return ops_fail(a->err, ret, "port %u: VLAN mode not changed: %s", a->id,
				strerror(-ret));
	return 0;
}

int
vus_ops_port_vlan_access(uint16_t id, uint16_t vlan, char *err)
{
	struct vlan_args a = { .id = id, .vlan = vlan, .err = err };

	if (vlan < 1 || vlan > 4094)
		return ops_fail(err, -EINVAL, "VLAN must be 1..4094, got %u", vlan);
	return ops_call(do_port_vlan, &a, err);
}

int
vus_ops_port_vlan_trunk(uint16_t id, const char *list, uint16_t native, char *err)
{
	struct vlan_args a = { .id = id, .trunk = true, .vlan = native, .err = err };

	if (fwd_vlan_list_parse(list, a.allowed) != 0)
		return ops_fail(err, -EINVAL,
				"bad VLAN list '%s': expected e.g. 10,20,30-40 "
				"(VLANs 1..4094)",
				list != NULL ? list : "");
	if (native > 4094)
		return ops_fail(err, -EINVAL, "native VLAN must be 1..4094, got %u", native);
	return ops_call(do_port_vlan, &a, err);
}

int
vus_lcore_arg_parse(const char *s, int *lcore_id, char *err)
{
	char *end = NULL;
	long v = -1;

	if (s == NULL)
		return ops_fail(err, -EINVAL, "expected an lcore id or auto");
	if (strcmp(s, "auto") == 0) {
		*lcore_id = -1;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9')
		v = strtol(s, &end, 10);
	if (v < 0 || v >= RTE_MAX_LCORE || *end != '\0')
		return ops_fail(err, -EINVAL, "expected an lcore id or auto, got '%s'", s);
	*lcore_id = (int)v;
	return 0;
}

/* The EAL lcore polling RX queue @p q of port @p id, or -1. */
static int
owner_lcore(uint16_t id, uint16_t q)
{
	uint16_t idx = fwd_queue_owner(g_ops.p.rt, id, q);
	struct fwd_lcore *lc = idx != FWD_NO_LCORE ? fwd_lcore_get(g_ops.p.rt, idx) : NULL;

	return lc != NULL ? (int)lc->lcore_id : -1;
}

/*
 * Pin RX queues [first, last) of port @p id to lcore index @p idx
 * (FWD_NO_LCORE: automatic). Validated by the caller.
 */
static int
pin_queues(uint16_t id, uint16_t first, uint16_t last, uint16_t idx, char *err)
{
	for (uint16_t q = first; q < last; q++) {
		int ret = fwd_queue_pin(g_ops.p.rt, id, q, idx);

		if (ret != 0)
			return ops_fail(err, ret, "port %u queue %u: %s", id, q, strerror(-ret));
	}
	return 0;
}

/* Pin one queue (a->queue >= 0) or every queue of a port to a->lcore_id. */
static int
do_port_lcore(void *arg)
{
	struct vlan_args *a = arg;
	struct ops_port *op = ops_port_get(a->id, a->err);
	int idx = a->lcore_id < 0 ? FWD_NO_LCORE : ops_lcore_index(a->lcore_id);
	uint16_t nq;
	int ret;

	if (op == NULL)
		return -ENOENT;
	if (fwd_nb_lcores(g_ops.p.rt) == 0)
		return ops_fail(a->err, -ENOTSUP, "no forwarding lcore (EAL -l has one core)");
	if (idx < 0)
		return ops_fail(a->err, -EINVAL,
				"lcore %d is not a forwarding lcore "
				"(see show lcores)",
				a->lcore_id);
	nq = op->port->nb_queues;
	if (a->queue < 0)
		return pin_queues(a->id, 0, nq, (uint16_t)idx, a->err);
	if (a->queue >= nq)
		return ops_fail(a->err, -ENOENT, "port %u has %u RX queue(s): no queue %d", a->id,
				nq, a->queue);
	ret = pin_queues(a->id, (uint16_t)a->queue, (uint16_t)(a->queue + 1), (uint16_t)idx,
			 a->err);
	if (ret != 0)
		return ret;
	ret = owner_lcore(a->id, (uint16_t)a->queue);
	return ret >= 0 ? ret
			: ops_fail(a->err, -EIO, "port %u queue %d: polled by no lcore", a->id,
				   a->queue);
}

int
vus_ops_port_lcore(uint16_t id, int lcore_id, char *err)
{
	struct vlan_args a = { .id = id, .lcore_id = lcore_id, .queue = -1, .err = err };

	return ops_call(do_port_lcore, &a, err);
}

int
vus_ops_port_rxq_lcore(uint16_t id, uint16_t queue, int lcore_id, char *err)
{
	struct vlan_args a = { .id = id, .lcore_id = lcore_id, .queue = queue, .err = err };

	return ops_call(do_port_lcore, &a, err);
}
