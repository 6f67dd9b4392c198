/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane object: its event loop, its ports, and the calls other
 * threads make into it (always run on the control thread through
 * evloop_call(), so port state has a single writer and needs no lock).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "vhost_ctrl_priv.h"

/*
 * SIGBUS containment (SEC-10): the handler in lib/guest_mem only swaps the
 * truncated mapping for zero pages, counts it and writes guest_mem's
 * eventfd (which nobody closes); it cannot take a port down. This runs on
 * that eventfd's edge, notices a new count and drops the ports whose memory
 * faulted. Without the eventfd it runs every VHOST_FAULT_POLL_MS instead.
 */
static void
fault_tick(void *arg)
{
	struct vhost_ctrl *ctrl = arg;
	uint64_t n = guest_mem_sigbus_count();

	if (n == ctrl->faults_seen)
		return;
	/* Read before the scan: a fault during the scan is seen next tick. */
	ctrl->faults_seen = n;
	for (unsigned int i = 0; i < VHOST_CTRL_MAX_PORTS; i++)
		if (ctrl->ports[i] != NULL)
			vhost_mem_check_faults(ctrl->ports[i]);
}

static void
fault_event(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	fault_tick(arg);
}

struct vhost_ctrl *
vhost_ctrl_create(struct rte_rcu_qsbr *qsbr, const struct vhost_ctrl_ops *ops, void *ops_ctx)
{
	struct vhost_ctrl *ctrl = calloc(1, sizeof(*ctrl));
	int ret;

	if (ctrl == NULL)
		return NULL;
	/* At start-up, so a failure shows before any front-end connects
	 * (guest_mem_region_map() would refuse every region). */
	ret = guest_mem_sigbus_init();
	if (ret != 0) {
		VUS_CTRL_LOG(ERR, "cannot install the SIGBUS handler: %s\n", strerror(-ret));
		free(ctrl);
		return NULL;
	}
	ctrl->loop = evloop_create();
	if (ctrl->loop == NULL) {
		free(ctrl);
		return NULL;
	}
	ctrl->faults_seen = guest_mem_sigbus_count();
	if (guest_mem_sigbus_fd() >= 0)
		ctrl->fault_w = evloop_watch_add(ctrl->loop, guest_mem_sigbus_fd(),
						 EPOLLIN | EPOLLET, fault_event, ctrl);
	if (ctrl->fault_w == NULL)
		ctrl->fault_t = evloop_timer_every(ctrl->loop, VHOST_FAULT_POLL_MS, fault_tick,
						   ctrl);
	if (ctrl->fault_w == NULL && ctrl->fault_t == NULL) {
		evloop_destroy(ctrl->loop);
		free(ctrl);
		return NULL;
	}
	ctrl->qsbr = qsbr;
	if (ops != NULL)
		ctrl->ops = *ops;
	ctrl->ops_ctx = ops_ctx;
	return ctrl;
}

static void
port_free(struct vhost_port *port)
{
	vhost_socket_close(port);
	vhost_dev_free(port);
	free(port);
}

void
vhost_ctrl_destroy(struct vhost_ctrl *ctrl)
{
	if (ctrl == NULL)
		return;
	for (unsigned int i = 0; i < VHOST_CTRL_MAX_PORTS; i++)
		if (ctrl->ports[i] != NULL)
			port_free(ctrl->ports[i]);
	evloop_watch_del(ctrl->fault_w);
	evloop_timer_del(ctrl->fault_t);
	evloop_destroy(ctrl->loop);
	free(ctrl);
}

struct port_add_args {
	struct vhost_ctrl *ctrl;
	const struct vhost_port_params *params;
};

static int
port_add(void *arg)
{
	struct port_add_args *a = arg;
	struct vhost_ctrl *ctrl = a->ctrl;
	const struct vhost_port_params *p = a->params;
	unsigned int qp = p->queue_pairs ? p->queue_pairs : VHOST_CTRL_DEFAULT_QUEUE_PAIRS;
	struct vhost_port *port;
	unsigned int id;
	int ret;

	if (p->path == NULL || p->path[0] == '\0' || strlen(p->path) >= sizeof(port->path) ||
	    qp > VHOST_CTRL_MAX_QUEUE_PAIRS)
		return -EINVAL;
	for (id = 0; id < VHOST_CTRL_MAX_PORTS; id++) {
		if (ctrl->ports[id] == NULL)
			break;
		if (strcmp(ctrl->ports[id]->path, p->path) == 0)
			return -EEXIST;
	}
	for (unsigned int j = id; j < VHOST_CTRL_MAX_PORTS; j++)
		if (ctrl->ports[j] != NULL && strcmp(ctrl->ports[j]->path, p->path) == 0)
			return -EEXIST;
	if (id == VHOST_CTRL_MAX_PORTS)
		return -ENOSPC;
	port = calloc(1, sizeof(*port));
	if (port == NULL)
		return -ENOMEM;
	port->ctrl = ctrl;
	port->id = id;
	snprintf(port->path, sizeof(port->path), "%s", p->path);
	snprintf(port->name, sizeof(port->name), "port %u (%s)", id, p->path);
	port->client = p->client;
	port->queue_pairs = qp;
	port->nrings = 2 * qp;
	port->listen_fd = port->sock_fd = -1;
	port->log_rl = (struct vus_ratelimit)VUS_RATELIMIT_INIT(1000, 20);
	ret = vhost_dev_init(port);
	if (ret == 0)
		ret = vhost_socket_open(port);
	if (ret != 0) {
		PORT_LOG(port, ERR, "cannot open: %s", strerror(-ret));
		port_free(port);
		return ret;
	}
	ctrl->ports[id] = port;
	return (int)id;
}

int
vhost_ctrl_port_add(struct vhost_ctrl *ctrl, const struct vhost_port_params *params)
{
	struct port_add_args a = { .ctrl = ctrl, .params = params };

	return evloop_call(ctrl->loop, port_add, &a);
}

struct ring_args {
	struct vhost_ctrl *ctrl;
	unsigned int port, ring;
	struct virtq *vq;
};

static int
ring_get(void *arg)
{
	struct ring_args *a = arg;
	struct vhost_port *port;

	if (a->port >= VHOST_CTRL_MAX_PORTS || a->ctrl->ports[a->port] == NULL)
		return -ENOENT;
	port = a->ctrl->ports[a->port];
	if (a->ring >= port->nrings)
		return -ENOENT;
	a->vq = &port->dev.rings[a->ring].vq;
	return 0;
}

struct virtq *
vhost_ctrl_ring(struct vhost_ctrl *ctrl, unsigned int port, unsigned int ring)
{
	struct ring_args a = { .ctrl = ctrl, .port = port, .ring = ring };

	return evloop_call(ctrl->loop, ring_get, &a) == 0 ? a.vq : NULL;
}

struct port_args {
	struct vhost_ctrl *ctrl;
	unsigned int port;
	struct vhost_port_info *info;
};

static int
port_del(void *arg)
{
	struct port_args *a = arg;
	struct vhost_port *port;

	if (a->port >= VHOST_CTRL_MAX_PORTS || a->ctrl->ports[a->port] == NULL)
		return -ENOENT;
	port = a->ctrl->ports[a->port];
	a->ctrl->ports[a->port] = NULL;
	PORT_LOG(port, INFO, "removed");
	port_free(port);
	return 0;
}

int
vhost_ctrl_port_del(struct vhost_ctrl *ctrl, unsigned int port)
{
	struct port_args a = { .ctrl = ctrl, .port = port };

	return evloop_call(ctrl->loop, port_del, &a);
}

static void
fill_ring_info(const struct vhost_port *port, unsigned int i, struct vhost_ring_info *ri)
{
	const struct vhost_ring *r = &port->dev.rings[i];

	ri->num = r->num;
	ri->addr_set = r->addr_set;
	ri->started = r->started;
	ri->enabled = r->enabled;
	ri->published = r->conf != NULL;
	ri->has_kick = r->kick_fd >= 0;
	ri->has_call = r->call_fd >= 0;
	ri->has_err = r->err_fd >= 0;
	ri->base = vhost_ring_base(port, i);
	ri->addr_flags = r->addr.flags;
	ri->last_avail = r->vq.pos.last_avail_idx;
	ri->last_used = r->vq.pos.last_used_idx;
	ri->avail_wrap = r->vq.pos.avail_wrap;
	ri->used_wrap = r->vq.pos.used_wrap;
	ri->broken = r->vq.broken;
	/* Confs are freed and memory unmapped by this thread only, so a
	 * published conf's ring pointers are valid here. */
	if (r->conf != NULL && !r->conf->packed) {
		const volatile uint16_t *avail = r->conf->ring.split.avail;
		const volatile uint16_t *used = r->conf->ring.split.used;

		ri->idx_valid = true;
		ri->avail_idx = avail[1];
		ri->used_idx = used[1];
	}
}

/* The step history (oldest first) and the first memory regions. */
static void
fill_history(const struct vhost_port *port, struct vhost_port_info *info)
{
	const struct guest_mem_table *mem = port->dev.mem;
	unsigned int n = port->steps_n < VHOST_CTRL_STEPS ? port->steps_n : VHOST_CTRL_STEPS;

	for (unsigned int k = 0; k < n; k++)
		info->steps[k] = port->steps[(port->steps_n - n + k) % VHOST_CTRL_STEPS];
	info->nsteps = n;
	for (unsigned int k = 0; mem != NULL && k < mem->n && k < VHOST_INFO_MAX_REGIONS; k++) {
		info->regions[k].gpa = mem->r[k].gpa;
		info->regions[k].size = mem->r[k].size;
		info->regions[k].uva = mem->r[k].uva;
	}
}

static int
port_info(void *arg)
{
	struct port_args *a = arg;
	const struct vhost_port *port;
	const struct vhost_dev *dev;
	struct vhost_port_info *info = a->info;

	if (a->port >= VHOST_CTRL_MAX_PORTS || a->ctrl->ports[a->port] == NULL)
		return -ENOENT;
	port = a->ctrl->ports[a->port];
	dev = &port->dev;
	memset(info, 0, sizeof(*info));
	snprintf(info->path, sizeof(info->path), "%s", port->path);
	info->client = port->client;
	info->conn = port->conn;
	info->queue_pairs = port->queue_pairs;
	info->features_offered = vhost_dev_offered_features(port);
	info->features = dev->features;
	info->features_set = dev->features_set;
	info->protocol_offered = vhost_dev_offered_protocol(port);
	info->protocol_features = dev->protocol;
	info->status = dev->status;
	info->mtu = dev->mtu;
	memcpy(info->rarp_mac, dev->rarp_mac, sizeof(info->rarp_mac));
	info->rarp_pending = dev->rarp_pending;
	info->has_backend_req = dev->backend_req_fd >= 0;
	info->has_log = dev->log_base != NULL;
	info->log_size = dev->log_size;
	info->nregions = dev->mem != NULL ? dev->mem->n : 0;
	info->mapped_bytes = dev->mem != NULL ? dev->mem->mapped_bytes : 0;
	info->connections = port->connections;
	info->nrings = port->nrings;
	for (unsigned int i = 0; i < port->nrings; i++)
		fill_ring_info(port, i, &info->rings[i]);
	snprintf(info->last_error, sizeof(info->last_error), "%s", port->last_error);
	fill_history(port, info);
	return 0;
}

int
vhost_ctrl_port_info(struct vhost_ctrl *ctrl, unsigned int port, struct vhost_port_info *info)
{
	struct port_args a = { .ctrl = ctrl, .port = port, .info = info };

	return evloop_call(ctrl->loop, port_info, &a);
}

int
vhost_ctrl_run(struct vhost_ctrl *ctrl)
{
	return evloop_run(ctrl->loop);
}

void
vhost_ctrl_stop(struct vhost_ctrl *ctrl)
{
	evloop_stop(ctrl->loop);
}

struct call_args {
	struct vhost_ctrl *ctrl;
	int (*fn)(struct vhost_ctrl *, void *);
	void *arg;
};

static int
call_tramp(void *arg)
{
	struct call_args *a = arg;

	return a->fn(a->ctrl, a->arg);
}

int
vhost_ctrl_call(struct vhost_ctrl *ctrl, int (*fn)(struct vhost_ctrl *, void *), void *arg)
{
	struct call_args a = { .ctrl = ctrl, .fn = fn, .arg = arg };

	return evloop_call(ctrl->loop, call_tramp, &a);
}

struct evloop *
vhost_ctrl_loop(struct vhost_ctrl *ctrl)
{
	return ctrl->loop;
}

const char *
vhost_port_conn_str(enum vhost_port_conn conn)
{
	switch (conn) {
	case VHOST_PORT_LISTENING:
		return "listening";
	case VHOST_PORT_CONNECTING:
		return "connecting";
	case VHOST_PORT_CONNECTED:
		return "connected";
	}
	return "?";
}
