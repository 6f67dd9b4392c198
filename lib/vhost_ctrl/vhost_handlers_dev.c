/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-wide requests: feature and protocol-feature negotiation, owner,
 * status, MTU, RARP, the back-end channel and resets. Payload sizes and fd
 * counts were checked by the dispatcher; values are checked here.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "vhost_ctrl_priv.h"

#define BIT(b) (1ULL << (b))

static bool
any_ring_started(const struct vhost_port *port)
{
	for (unsigned int i = 0; i < port->nrings; i++)
		if (port->dev.rings[i].started)
			return true;
	return false;
}

int
vhost_handle_get_features(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	reply->u64 = vhost_dev_offered_features(port);
	reply->size = sizeof(uint64_t);
	return 0;
}

int
vhost_handle_set_features(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	struct vhost_dev *dev = &port->dev;
	uint64_t f = msg->payload.u64;
	uint64_t unoffered = f & ~vhost_dev_offered_features(port);
	char names[512];

	if (unoffered != 0) {
		vhost_port_fault(port,
				 "SET_FEATURES 0x%" PRIx64 " has bits not offered: 0x%" PRIx64, f,
				 unoffered);
		return -EINVAL;
	}
	/* Only LOG_ALL may change under running rings (migration start/stop). */
	if (dev->features_set && any_ring_started(port) &&
	    ((f ^ dev->features) & ~BIT(VHOST_F_LOG_ALL)) != 0) {
		vhost_port_fault(port,
				 "SET_FEATURES 0x%" PRIx64 " changes features while rings run", f);
		return -EBUSY;
	}
	if (!dev->features_set || f != dev->features)
		PORT_LOG(port, INFO, "features acked 0x%016" PRIx64 ": %s", f,
			 vhost_msg_feature_str(f, false, names, sizeof(names)));
	dev->features = f;
	dev->features_set = true;
	port->features_pinned |= f;
	/* Without bit 30, rings are enabled at once (vhost-user.rst "Ring states"). */
	if (!(f & BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
		for (unsigned int i = 0; i < port->nrings; i++)
			dev->rings[i].enabled = true;
	vhost_rings_refresh(port, NULL);
	return 0;
}

int
vhost_handle_get_protocol_features(struct vhost_port *port, struct vhost_msg *msg,
				   struct vhost_reply *reply)
{
	/* Legal before SET_FEATURES: GET_FEATURES always offers bit 30 (NEG-3). */
	reply->u64 = vhost_dev_offered_protocol(port);
	reply->size = sizeof(uint64_t);
	return 0;
}

int
vhost_handle_set_protocol_features(struct vhost_port *port, struct vhost_msg *msg,
				   struct vhost_reply *reply)
{
	uint64_t pf = msg->payload.u64;
	uint64_t unoffered = pf & ~vhost_dev_offered_protocol(port);
	char names[256];

	if (unoffered != 0) {
		vhost_port_fault(port,
				 "SET_PROTOCOL_FEATURES 0x%" PRIx64
				 " has bits not offered: 0x%" PRIx64,
				 pf, unoffered);
		return -EINVAL;
	}
	if (pf != port->dev.protocol)
		PORT_LOG(port, INFO, "protocol features acked 0x%" PRIx64 ": %s", pf,
			 vhost_msg_feature_str(pf, true, names, sizeof(names)));
	port->dev.protocol = pf;
	return 0;
}

int
vhost_handle_set_owner(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	/* Sent first (virtio-user) or after negotiation (QEMU), maybe twice. */
	port->dev.owner = true;
	return 0;
}

int
vhost_handle_reset_owner(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	/* Deprecated: disable the rings, keep the connection's state (DEV-4). */
	for (unsigned int i = 0; i < port->nrings; i++)
		port->dev.rings[i].enabled = false;
	vhost_rings_refresh(port, NULL);
	return 0;
}

int
vhost_handle_get_queue_num(struct vhost_port *port, struct vhost_msg *msg,
			   struct vhost_reply *reply)
{
	/* Net: the maximum number of queue pairs (MQ-2). */
	reply->u64 = port->queue_pairs;
	reply->size = sizeof(uint64_t);
	return 0;
}

int
vhost_handle_set_status(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	uint64_t v = msg->payload.u64;
	uint8_t old = port->dev.status;

	if (v > 0xff) {
		vhost_port_fault(port, "SET_STATUS 0x%" PRIx64 " is not a status byte", v);
		return -EINVAL;
	}
	port->dev.status = (uint8_t)v;
	/* Status 0 stops the device but keeps ring positions: QEMU sends it
	 * before GET_VRING_BASE and needs the real bases back. */
	if (old != port->dev.status)
		PORT_LOG(port, INFO, "status 0x%02x", port->dev.status);
	vhost_rings_refresh(port, NULL);
	return 0;
}

int
vhost_handle_get_status(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	reply->u64 = port->dev.status;
	reply->size = sizeof(uint64_t);
	return 0;
}

int
vhost_handle_net_set_mtu(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	uint64_t mtu = msg->payload.u64;

	if (mtu < 68 || mtu > 65535) {
		vhost_port_fault(port, "NET_SET_MTU %" PRIu64 " outside 68..65535", mtu);
		return -EINVAL;
	}
	port->dev.mtu = (uint16_t)mtu;
	PORT_LOG(port, INFO, "mtu %u", port->dev.mtu);
	return 0;
}

int
vhost_handle_send_rarp(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	uint8_t *mac = port->dev.rarp_mac;

	memcpy(mac, msg->payload.raw, 6);
	port->dev.rarp_pending = true;
	/* Sent into the switch by the lcore owning queue 0's TX ring (LOG-8). */
	virtq_request_rarp(&port->dev.rings[1].vq, mac);
	PORT_LOG(port, INFO, "RARP requested for %02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	return 0;
}

int
vhost_handle_set_backend_req_fd(struct vhost_port *port, struct vhost_msg *msg,
				struct vhost_reply *reply)
{
	/* Accepted at any point, before SET_FEATURES too (QEMU, COMPAT-1). */
	/* Not used by the datapath: the old fd can go at once. */
	if (port->dev.backend_req_fd >= 0)
		close(port->dev.backend_req_fd);
	port->dev.backend_req_fd = msg->fds[0];
	msg->fds[0] = -1;
	return 0;
}

int
vhost_handle_reset_device(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	PORT_LOG(port, INFO, "device reset by the front-end");
	vhost_dev_reset(port, true);
	return 0;
}
