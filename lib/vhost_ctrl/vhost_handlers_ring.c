/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-ring requests. Every ring index is checked against the port's ring
 * count before use (RING-20); fd-carrying requests address rings with the
 * low 8 bits of their u64 only and refuse any other reserved bit.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost_ctrl_priv.h"

static struct vhost_ring *
ring_of(struct vhost_port *port, const char *req, uint32_t index)
{
	if (!vhost_ring_index_ok(port, index)) {
		vhost_port_fault(port, "%s: ring index %u out of range (port has %u rings)", req,
				 index, port->nrings);
		return NULL;
	}
	return &port->dev.rings[index];
}

/* A started ring reconfigured without GET_VRING_BASE first: stop it
 * implicitly (older cloud-hypervisor does this, COMPAT-3). */
static void
implicit_stop(struct vhost_port *port, struct vhost_ring *r)
{
	if (!r->started)
		return;
	r->started = false;
	vhost_rings_refresh(port, NULL);
}

int
vhost_handle_set_vring_num(struct vhost_port *port, struct vhost_msg *msg,
			   struct vhost_reply *reply)
{
	struct vhost_ring *r = ring_of(port, "SET_VRING_NUM", msg->payload.state.index);
	uint32_t num = msg->payload.state.num;
	bool split_known = port->dev.features_set && !vhost_ring_is_packed(port);

	if (r == NULL)
		return -EINVAL;
	if (num == 0 || num > VHOST_RING_MAX_NUM || (split_known && (num & (num - 1)) != 0)) {
		vhost_port_fault(port, "SET_VRING_NUM: ring %u size %u invalid",
				 msg->payload.state.index, num);
		return -EINVAL;
	}
	implicit_stop(port, r);
	r->num = num;
	return 0;
}

int
vhost_handle_set_vring_addr(struct vhost_port *port, struct vhost_msg *msg,
			    struct vhost_reply *reply)
{
	const struct vhost_msg_vring_addr *a = &msg->payload.addr;
	struct vhost_ring *r = ring_of(port, "SET_VRING_ADDR", a->index);

	if (r == NULL)
		return -EINVAL;
	if (a->flags & ~VHOST_VRING_F_LOG) {
		vhost_port_fault(port, "SET_VRING_ADDR: ring %u unknown flags 0x%x", a->index,
				 a->flags);
		return -EINVAL;
	}
	/* Stored raw, translated when the ring runs. It may be re-sent for a
	 * running ring to switch used-ring logging (LOG-6): re-publish. */
	r->addr = *a;
	r->addr_set = true;
	if (!r->started)
		return 0;
	vhost_rings_refresh(port, NULL);
	return vhost_ring_blocked(port, r) ? -EFAULT : 0;
}

int
vhost_handle_set_vring_base(struct vhost_port *port, struct vhost_msg *msg,
			    struct vhost_reply *reply)
{
	struct vhost_ring *r = ring_of(port, "SET_VRING_BASE", msg->payload.state.index);

	if (r == NULL)
		return -EINVAL;
	implicit_stop(port, r);
	/* Applied when the ring starts, once the ring type is known. */
	r->base = msg->payload.state.num;
	r->base_pending = true;
	return 0;
}

int
vhost_handle_get_vring_base(struct vhost_port *port, struct vhost_msg *msg,
			    struct vhost_reply *reply)
{
	uint32_t index = msg->payload.state.index;
	struct vhost_ring *r = ring_of(port, "GET_VRING_BASE", index);

	if (r == NULL)
		return -EINVAL;
	/* Stop: withdraw from the datapath; after the grace period the
	 * position is ours to read (RING-5). */
	r->started = false;
	vhost_defer_close(port, r->kick_fd);
	r->kick_fd = -1;
	vhost_rings_refresh(port, NULL);
	reply->state.index = index;
	reply->state.num = vhost_ring_base(port, index);
	reply->size = sizeof(reply->state);
	PORT_LOG(port, INFO, "ring %u stopped at base 0x%x", index, reply->state.num);
	return 0;
}

/* Common part of SET_VRING_KICK/CALL/ERR: index, reserved bits, the fd. */
static struct vhost_ring *
vring_fd_msg(struct vhost_port *port, struct vhost_msg *msg, const char *req, int *fd)
{
	uint64_t v = msg->payload.u64;

	*fd = -1;
	if (v & ~(uint64_t)(VHOST_MSG_VRING_IDX_MASK | VHOST_MSG_VRING_NOFD)) {
		vhost_port_fault(port, "%s: reserved bits set in 0x%" PRIx64, req, v);
		return NULL;
	}
	if (!(v & VHOST_MSG_VRING_NOFD)) {
		*fd = msg->fds[0];
		msg->fds[0] = -1;
	}
	return ring_of(port, req, (uint32_t)(v & VHOST_MSG_VRING_IDX_MASK));
}

int
vhost_handle_set_vring_kick(struct vhost_port *port, struct vhost_msg *msg,
			    struct vhost_reply *reply)
{
	int fd;
	struct vhost_ring *r = vring_fd_msg(port, msg, "SET_VRING_KICK", &fd);

	if (r == NULL) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	/* Poll mode: the kick fd is kept (and closed on stop) but not read;
	 * receipt of SET_VRING_KICK starts the ring (RING-3). */
	vhost_replace_fd(port, &r->kick_fd, fd);
	r->started = true;
	vhost_rings_refresh(port, NULL);
	return vhost_ring_blocked(port, r) ? -EFAULT : 0;
}

/* True for an eventfd or a pipe/FIFO, made non-blocking here: a front-end
 * can fill a pipe, or push an eventfd's counter to its maximum, and a
 * blocking write would then stall the lcore. */
static bool
fd_never_blocks_writer(int fd)
{
	struct stat st;
	char link[64], target[64];
	ssize_t n;
	int fl;

	if (fstat(fd, &st) != 0)
		return false;
	if (!S_ISFIFO(st.st_mode)) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			return false;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") != 0)
			return false;
	}
	fl = fcntl(fd, F_GETFL);
	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

int
vhost_handle_set_vring_call(struct vhost_port *port, struct vhost_msg *msg,
			    struct vhost_reply *reply)
{
	int fd;
	struct vhost_ring *r = vring_fd_msg(port, msg, "SET_VRING_CALL", &fd);

	if (r == NULL) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	/* An lcore writes to it: a pipe must not block it when full (SEC-9).
	 * eventfds never block on write short of counter overflow. */
	if (fd >= 0 && !fd_never_blocks_writer(fd)) {
		vhost_port_fault(port, "SET_VRING_CALL: ring fd is neither an eventfd nor a pipe");
		close(fd);
		return -EINVAL;
	}
	/* The old fd may be in use by the lcore: closed after the grace period. */
	vhost_replace_fd(port, &r->call_fd, fd);
	vhost_rings_refresh(port, NULL);
	return 0;
}

int
vhost_handle_set_vring_err(struct vhost_port *port, struct vhost_msg *msg,
			   struct vhost_reply *reply)
{
	int fd;
	struct vhost_ring *r = vring_fd_msg(port, msg, "SET_VRING_ERR", &fd);

	if (r == NULL) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	/* Written by the lcore that finds the ring broken: same rule as CALL. */
	if (fd >= 0 && !fd_never_blocks_writer(fd)) {
		vhost_port_fault(port, "SET_VRING_ERR: ring fd is neither an eventfd nor a pipe");
		close(fd);
		return -EINVAL;
	}
	/* The datapath signals it when the ring breaks: swap like CALL. */
	vhost_replace_fd(port, &r->err_fd, fd);
	vhost_rings_refresh(port, NULL);
	return 0;
}

int
vhost_handle_set_vring_enable(struct vhost_port *port, struct vhost_msg *msg,
			      struct vhost_reply *reply)
{
	struct vhost_ring *r = ring_of(port, "SET_VRING_ENABLE", msg->payload.state.index);
	uint32_t num = msg->payload.state.num;

	if (r == NULL)
		return -EINVAL;
	if (num > 1) {
		vhost_port_fault(port, "SET_VRING_ENABLE: ring %u value %u is neither 0 nor 1",
				 msg->payload.state.index, num);
		return -EINVAL;
	}
	/* Accepted before SET_FEATURES and on stopped rings (RING-1, RING-9). */
	r->enabled = num == 1;
	vhost_rings_refresh(port, NULL);
	return 0;
}
