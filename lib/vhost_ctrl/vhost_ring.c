/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring state machine and the handover of rings to the datapath.
 *
 * A ring runs (has a published virtq_conf) when it is started (kicked and
 * not stopped), its size and addresses are known, a memory table exists,
 * its addresses translate into mapped memory, and the driver is live
 * (DRIVER_OK once STATUS was negotiated). Enabled/disabled is carried in the
 * conf: a started but disabled ring is still handed over so the datapath
 * can discard its TX (RING-10).
 *
 * vhost_rings_refresh() rebuilds every ring's conf aside, publishes all of
 * them, waits for one grace period, then frees the old confs, closes the fds
 * they referenced and unmaps memory no longer used. Replies are sent after
 * it returns, so an ack means the datapath sees the new state (ACK-6).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "vhost_ctrl_priv.h"

#define BIT(b) (1ULL << (b))

bool
vhost_ring_index_ok(const struct vhost_port *port, uint32_t index)
{
	return index < port->nrings;
}

bool
vhost_ring_is_packed(const struct vhost_port *port)
{
	return (port->dev.features & BIT(VIRTIO_F_RING_PACKED)) != 0;
}

uint32_t
vhost_ring_base(const struct vhost_port *port, unsigned int index)
{
	const struct vhost_ring *r = &port->dev.rings[index];

	if (r->base_pending)
		return r->base;
	return virtq_pos_encode(&r->vq.pos, vhost_ring_is_packed(port));
}

static bool
device_live(const struct vhost_port *port)
{
	if (!vhost_dev_has_protocol(port, VHOST_PF_STATUS))
		return true;
	return (port->dev.status & VIRTIO_STATUS_DRIVER_OK) != 0;
}

bool
vhost_ring_blocked(const struct vhost_port *port, const struct vhost_ring *r)
{
	return r->started && r->addr_set && port->dev.mem != NULL && device_live(port) &&
	       r->conf == NULL;
}

/* Translate one ring part; NULL with a logged reason if it does not fit. */
static void *
map_part(struct vhost_port *port, unsigned int idx, const char *what, uint64_t uva, uint64_t len,
	 uint64_t align)
{
	void *p;

	if (uva % align != 0) {
		vhost_port_fault(port,
				 "ring %u: %s address 0x%" PRIx64 " not %" PRIu64 "-byte aligned",
				 idx, what, uva, align);
		return NULL;
	}
	p = guest_mem_uva_range(port->dev.mem, uva, len);
	if (p == NULL)
		vhost_port_fault(port,
				 "ring %u: %s 0x%" PRIx64 "+%" PRIu64
				 " is not inside one mapped region",
				 idx, what, uva, len);
	return p;
}

static int
translate(struct vhost_port *port, unsigned int idx, struct virtq_conf *c)
{
	const struct vhost_ring *r = &port->dev.rings[idx];
	bool event_idx = (c->features & BIT(VIRTIO_F_EVENT_IDX)) != 0;

	if (c->packed) {
		c->ring.packed_ring.desc = map_part(port, idx, "descriptor ring",
						    r->addr.desc_user_addr, 16ULL * r->num, 16);
		c->ring.packed_ring.driver_event = map_part(port, idx, "driver event area",
							    r->addr.avail_user_addr, 4, 4);
		c->ring.packed_ring.device_event = map_part(port, idx, "device event area",
							    r->addr.used_user_addr, 4, 4);
		return c->ring.packed_ring.desc && c->ring.packed_ring.driver_event &&
				       c->ring.packed_ring.device_event
			       ? 0
			       : -EFAULT;
	}
	c->ring.split.desc = map_part(port, idx, "descriptor table", r->addr.desc_user_addr,
				      virtq_split_desc_size(r->num), 16);
	c->ring.split.avail = map_part(port, idx, "avail ring", r->addr.avail_user_addr,
				       virtq_split_avail_size(r->num, event_idx), 2);
	c->ring.split.used = map_part(port, idx, "used ring", r->addr.used_user_addr,
				      virtq_split_used_size(r->num, event_idx), 4);
	return c->ring.split.desc && c->ring.split.avail && c->ring.split.used ? 0 : -EFAULT;
}

static bool
size_ok(struct vhost_port *port, unsigned int idx, bool packed)
{
	uint32_t num = port->dev.rings[idx].num;

	if (num == 0 || num > VHOST_RING_MAX_NUM || (!packed && (num & (num - 1)) != 0)) {
		vhost_port_fault(port, "ring %u: size %u invalid for a %s ring", idx, num,
				 packed ? "packed" : "split");
		return false;
	}
	return true;
}

/* Build the conf a ring should run with, or NULL if it should not run. */
static struct virtq_conf *
build_conf(struct vhost_port *port, unsigned int idx)
{
	struct vhost_dev *dev = &port->dev;
	struct vhost_ring *r = &dev->rings[idx];
	bool packed = vhost_ring_is_packed(port);
	struct virtq_conf *c;

	if (!r->started || !r->addr_set || dev->mem == NULL || !device_live(port) ||
	    !size_ok(port, idx, packed))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->num = (uint16_t)r->num;
	c->packed = packed;
	c->enabled = r->enabled;
	c->tx = (idx & 1) != 0;
	c->features = dev->features;
	c->hdr_len = (dev->features & (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF))) ? 12
											       : 10;
	c->call_fd = r->call_fd;
	c->err_fd = r->err_fd;
	c->mem = dev->mem;
	/* Largest frame a guest may send: MTU + Ethernet and VLAN headers when
	 * negotiated (DEV-1, VNET-5), else the largest IP packet. */
	c->max_frame = dev->mtu != 0 && (dev->features & BIT(VIRTIO_NET_F_MTU)) ? dev->mtu + 18u
										: 65535u;
	/* GSO frames may be up to 64 KiB of IP plus L2 whatever the MTU (VNET-5). */
	if (dev->features & (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6)))
		c->max_gso_frame = 65535u + 18u;
	if (dev->features & BIT(VHOST_F_LOG_ALL)) {
		c->log_base = dev->log_base;
		c->log_size = dev->log_size;
		c->log_used = (r->addr.flags & VHOST_VRING_F_LOG) != 0;
		c->log_used_gpa = r->addr.log_guest_addr;
	}
	/* Guest TX buffers come back a few bursts late (split) or in batches
	 * (packed IN_ORDER) to a guest that polls (virtq.h, struct
	 * virtq_hold): not with EVENT_IDX (it asks when to be told), nor while
	 * logging (migration wants the ring settled), nor in small rings,
	 * where the held share would be large: a quarter at most. */
	if (c->tx && (!packed || (dev->features & BIT(VIRTIO_F_IN_ORDER))) &&
	    !(dev->features & (BIT(VIRTIO_F_EVENT_IDX) | BIT(VHOST_F_LOG_ALL))) &&
	    c->num >= 4 * VIRTQ_TX_HOLD) {
		c->tx_hold = packed ? RTE_MIN(VIRTQ_TX_HOLD_PACKED, c->num / 4u) : VIRTQ_TX_HOLD;
		c->tx_hold_cycles = rte_get_tsc_hz() / 1000000 * VIRTQ_TX_HOLD_US;
	}
	if (translate(port, idx, c) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

/* Apply SET_VRING_BASE and the used index in guest memory before a ring
 * first runs; the control thread owns vq.pos while nothing is published. */
static int
prepare_start(struct vhost_port *port, unsigned int idx, const struct virtq_conf *c)
{
	struct vhost_ring *r = &port->dev.rings[idx];
	struct virtq_pos *pos = &r->vq.pos;

	r->vq.broken = false; /* a restart clears a broken ring (DP-15) */
	memset(&r->vq.hold, 0, sizeof(r->vq.hold));
	if (r->base_pending) {
		virtq_pos_decode(pos, r->base, c->packed);
		r->base_pending = false;
	}
	if (c->packed) {
		if (pos->last_avail_idx >= r->num || pos->last_used_idx >= r->num) {
			vhost_port_fault(port, "ring %u: base 0x%x outside a ring of %u", idx,
					 virtq_pos_encode(pos, true), r->num);
			return -EINVAL;
		}
		return 0;
	}
	/* Split: the used index lives in guest memory (RING-13). */
	pos->last_used_idx = virtq_split_used_idx(c);
	if (pos->last_used_idx != pos->last_avail_idx) {
		PORT_LOG(port, WARNING,
			 "ring %u: used index %u differs from base %u: resuming at the used index",
			 idx, pos->last_used_idx, pos->last_avail_idx);
		pos->last_avail_idx = pos->last_used_idx;
	}
	return 0;
}

/* A started ring that cannot run for want of memory says so once: a
 * front-end without shared memory otherwise looks merely idle. */
static void
explain_waiting(struct vhost_port *port, unsigned int idx)
{
	struct vhost_ring *r = &port->dev.rings[idx];

	if (r->conf != NULL || !r->started || port->dev.mem != NULL || !device_live(port)) {
		if (r->conf != NULL)
			r->broken_logged = false;
		return;
	}
	if (!r->broken_logged)
		vhost_port_fault(port,
				 "ring %u started but no memory table was sent: "
				 "is guest memory shared (share=on)?",
				 idx);
	r->broken_logged = true;
}

static void
log_change(struct vhost_port *port, unsigned int idx, const struct virtq_conf *old,
	   const struct virtq_conf *c)
{
	if (c != NULL && (old == NULL || old->enabled != c->enabled))
		PORT_LOG(port, INFO, "ring %u running: num %u %s %s", idx, port->dev.rings[idx].num,
			 c->packed ? "packed" : "split", c->enabled ? "enabled" : "disabled");
	else if (c == NULL && old != NULL)
		PORT_LOG(port, DEBUG, "ring %u withdrawn from the datapath", idx);
}

int
vhost_rings_refresh(struct vhost_port *port, struct guest_mem_table *old_mem)
{
	struct vhost_ctrl *ctrl = port->ctrl;
	struct vhost_dev *dev = &port->dev;
	struct virtq_conf *old[2 * VHOST_CTRL_MAX_QUEUE_PAIRS];
	int ret = 0;

	for (unsigned int i = 0; i < port->nrings; i++) {
		struct vhost_ring *r = &dev->rings[i];
		struct virtq_conf *c = build_conf(port, i);

		if (c != NULL && r->conf == NULL && prepare_start(port, i, c) != 0) {
			free(c);
			c = NULL;
			ret = -EINVAL;
		}
		old[i] = r->conf;
		r->conf = c;
		virtq_publish(&r->vq, c);
	}
	virtq_sync(ctrl->qsbr);
	for (unsigned int i = 0; i < port->nrings; i++) {
		struct vhost_ring *r = &dev->rings[i];

		/* Withdrawn: return what the lcore held back, in the ring
		 * it ran on (its memory is freed only below). */
		if (old[i] != NULL && r->conf == NULL)
			virtq_release_held(&r->vq, old[i]);
		log_change(port, i, old[i], r->conf);
		explain_waiting(port, i);
		if (ctrl->ops.ring_changed != NULL && (old[i] != NULL || r->conf != NULL))
			ctrl->ops.ring_changed(ctrl->ops_ctx, port->id, i, r->conf);
		free(old[i]);
	}
	for (unsigned int i = 0; i < port->ndeferred; i++)
		close(port->deferred_fds[i]);
	port->ndeferred = 0;
	guest_mem_table_free(old_mem, true, dev->mem);
	return ret != 0 ? ret : 0;
}
