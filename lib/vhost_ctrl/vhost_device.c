/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-connection device state: what is offered, what was negotiated, and
 * the reset that returns it all to the initial state (on connect, on
 * disconnect, on RESET_DEVICE).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost_ctrl_priv.h"

#define BIT(b) (1ULL << (b))

/*
 * Virtio features offered. The checksum and TSO offloads are honoured on
 * the way out (VNET-4, VNET-9): a destination that cannot take a partial
 * checksum or a 64 KiB TCP frame gets it completed or segmented in software
 * (lib/sw_offload). ECN, UFO and USO are not offered. MAC and the control
 * queue contents are the front-end's business (QEMU, virtio-user and CH
 * handle the control queue themselves).
 */
static const uint64_t offered_features = BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
					 BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
					 BIT(VIRTIO_NET_F_GUEST_TSO4) |
					 BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_MTU) |
					 BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_STATUS) |
					 BIT(VIRTIO_NET_F_CTRL_VQ) |
					 BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VHOST_F_LOG_ALL) |
					 BIT(VIRTIO_F_ANY_LAYOUT) | BIT(VIRTIO_F_INDIRECT_DESC) |
					 BIT(VIRTIO_F_EVENT_IDX) |
					 BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
					 BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_RING_PACKED) |
					 BIT(VIRTIO_F_IN_ORDER);

/* Protocol features offered: each one implemented by a handler here. */
static const uint64_t offered_protocol = BIT(VHOST_PF_MQ) | BIT(VHOST_PF_LOG_SHMFD) |
					 BIT(VHOST_PF_RARP) | BIT(VHOST_PF_REPLY_ACK) |
					 BIT(VHOST_PF_NET_MTU) | BIT(VHOST_PF_BACKEND_REQ) |
					 BIT(VHOST_PF_RESET_DEVICE) |
					 BIT(VHOST_PF_CONFIGURE_MEM_SLOTS) | BIT(VHOST_PF_STATUS);

int
vhost_dev_init(struct vhost_port *port)
{
	struct vhost_dev *dev = &port->dev;

	port->features_base = offered_features;
	/* MQ needs more than one pair to mean anything; virtio-user keys on it. */
	if (port->queue_pairs > 1)
		port->features_base |= BIT(VIRTIO_NET_F_MQ);
	dev->rings = calloc(port->nrings, sizeof(dev->rings[0]));
	if (dev->rings == NULL)
		return -ENOMEM;
	dev->backend_req_fd = dev->log_fd = -1;
	for (unsigned int i = 0; i < port->nrings; i++) {
		struct vhost_ring *r = &dev->rings[i];

		r->kick_fd = r->call_fd = r->err_fd = -1;
		atomic_init(&r->vq.conf, NULL);
	}
	return 0;
}

uint64_t
vhost_dev_offered_features(const struct vhost_port *port)
{
	return port->features_base | port->features_pinned;
}

uint64_t
vhost_dev_offered_protocol(const struct vhost_port *port)
{
	return offered_protocol;
}

bool
vhost_dev_has_protocol(const struct vhost_port *port, unsigned int bit)
{
	return (port->dev.protocol & BIT(bit)) != 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
vhost_defer_close(struct vhost_port *port, int fd)
{
	if (fd < 0)
		return;
	if (port->ndeferred < VHOST_DEFERRED_FDS) {
		port->deferred_fds[port->ndeferred++] = fd;
		return;
	}
	/* Cannot happen with the bound above; never leak, wait instead. */
	virtq_sync(port->ctrl->qsbr);
	close(fd);
}

void
vhost_replace_fd(struct vhost_port *port, int *slot, int fd)
{
	vhost_defer_close(port, *slot);
	*slot = fd;
}

static void
unmap_log(struct vhost_dev *dev)
{
	if (dev->log_map != NULL) {
		guest_mem_guard_del(dev->log_guard, dev->log_map); /* before munmap */
		munmap(dev->log_map, dev->log_map_len);
	}
	dev->log_guard = 0;
	dev->log_map = NULL;
	dev->log_base = NULL;
	dev->log_map_len = 0;
	dev->log_size = 0;
}

void
vhost_dev_reset(struct vhost_port *port, bool keep_connection_state)
{
	struct vhost_dev *dev = &port->dev;
	struct guest_mem_table *mem = dev->mem;

	/* Withdraw every ring from the datapath first, then free. */
	for (unsigned int i = 0; i < port->nrings; i++)
		dev->rings[i].started = false;
	dev->mem = NULL;
	vhost_rings_refresh(port, NULL);
	guest_mem_table_free(mem, true, NULL);
	unmap_log(dev);
	close_fd(&dev->log_fd);
	for (unsigned int i = 0; i < port->nrings; i++) {
		struct vhost_ring *r = &dev->rings[i];

		close_fd(&r->kick_fd);
		close_fd(&r->call_fd);
		close_fd(&r->err_fd);
		/* Withdrawn above: the vq is ours. Its address and counters stay
		 * (lcores keep the pointer; counters live as long as the port). */
		r->num = 0;
		memset(&r->addr, 0, sizeof(r->addr));
		r->addr_set = false;
		r->base = 0;
		r->base_pending = false;
		r->enabled = false;
		r->broken_logged = false;
		memset(&r->vq.pos, 0, sizeof(r->vq.pos));
		memset(&r->vq.hold, 0, sizeof(r->vq.hold));
		r->vq.broken = false;
		atomic_store(&r->vq.rarp, 0);
	}
	dev->features = 0;
	dev->features_set = false;
	dev->status = 0;
	dev->mtu = 0;
	dev->rarp_pending = false;
	memset(dev->rarp_mac, 0, sizeof(dev->rarp_mac));
	if (!keep_connection_state) {
		dev->protocol = 0;
		dev->owner = false;
		close_fd(&dev->backend_req_fd);
	}
}

void
vhost_dev_free(struct vhost_port *port)
{
	if (port->dev.rings == NULL)
		return;
	vhost_dev_reset(port, false);
	free(port->dev.rings);
	port->dev.rings = NULL;
}

void
vhost_port_fault(struct vhost_port *port, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(port->last_error, sizeof(port->last_error), fmt, ap);
	va_end(ap);
	if (vus_ratelimit_ok(&port->log_rl)) {
		if (port->log_rl.suppressed != 0) {
			PORT_LOG(port, WARNING, "(%" PRIu64 " similar lines suppressed)",
				 port->log_rl.suppressed);
			port->log_rl.suppressed = 0;
		}
		PORT_LOG(port, WARNING, "%s", port->last_error);
	}
}
