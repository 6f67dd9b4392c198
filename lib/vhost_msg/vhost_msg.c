/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framing rules of vhost-user requests. Everything checked here comes from
 * an untrusted front-end: header fields are checked before the payload is
 * read (vhost_msg_check_hdr), payload size and fd count before any handler
 * runs (vhost_msg_check_body). Handlers can then rely on the payload layout
 * of their request type, but not on any value in it.
 */
#include <stdio.h>
#include <string.h>

#include "vhost_msg.h"

static const struct vhost_msg_info msg_table[VHOST_USER_MAX] = {
#define VHOST_MSG_INFO(code, nm, sz, fd, rep, gt) \
	[code] = { .name = #nm, .size = sz, .fds = fd, .reply = rep, .gate = gt },
	VHOST_MSG_REQUESTS(VHOST_MSG_INFO)
#undef VHOST_MSG_INFO
};

static const struct vhost_msg_info unknown_info = {
	.name = NULL,
	.size = VHOST_SIZE_ANY,
	.fds = VHOST_FDS_ANY,
	.reply = VHOST_REPLY_ACK,
	.gate = -1,
};

const struct vhost_msg_info *
vhost_msg_info(uint32_t request)
{
	if (request >= VHOST_USER_MAX || msg_table[request].name == NULL)
		return &unknown_info;
	return &msg_table[request];
}

const char *
vhost_msg_name(uint32_t request)
{
	const char *name = vhost_msg_info(request)->name;

	return name != NULL ? name : "UNKNOWN";
}

const char *
vhost_msg_fault_str(enum vhost_msg_fault fault)
{
	switch (fault) {
	case VHOST_MSG_OK:
		return "ok";
	case VHOST_MSG_BAD_VERSION:
		return "bad version in header flags";
	case VHOST_MSG_BAD_FLAGS:
		return "reply or reserved bits set in a request";
	case VHOST_MSG_TOO_LARGE:
		return "payload size above limit";
	case VHOST_MSG_BAD_SIZE:
		return "payload size does not match the request";
	case VHOST_MSG_BAD_FD_COUNT:
		return "wrong number of fds for the request";
	}
	return "?";
}

enum vhost_msg_fault
vhost_msg_check_hdr(const struct vhost_msg_hdr *hdr)
{
	const uint32_t known = VHOST_MSG_VERSION_MASK | VHOST_MSG_FLAG_NEED_REPLY;

	if ((hdr->flags & VHOST_MSG_VERSION_MASK) != VHOST_MSG_VERSION)
		return VHOST_MSG_BAD_VERSION;
	if ((hdr->flags & ~known) != 0)
		return VHOST_MSG_BAD_FLAGS;
	if (hdr->size > VHOST_MSG_MAX_PAYLOAD)
		return VHOST_MSG_TOO_LARGE;
	return VHOST_MSG_OK;
}

static bool
size_ok(const struct vhost_msg *msg, enum vhost_msg_size_rule rule)
{
	uint32_t size = msg->hdr.size;

	switch (rule) {
	case VHOST_SIZE_NONE:
		return size == 0;
	case VHOST_SIZE_U64:
		return size == sizeof(uint64_t);
	case VHOST_SIZE_STATE:
		return size == sizeof(struct vhost_msg_vring_state);
	case VHOST_SIZE_ADDR:
		return size == sizeof(struct vhost_msg_vring_addr);
	case VHOST_SIZE_MEM_REG:
		return size == sizeof(struct vhost_msg_mem_reg);
	case VHOST_SIZE_LOG:
		return size == sizeof(struct vhost_msg_log);
	case VHOST_SIZE_MEM_TABLE: {
		uint32_t n;

		if (size < 8)
			return false;
		n = msg->payload.mem.nregions;
		return n >= 1 && n <= VHOST_MSG_MAX_TABLE_REGIONS &&
		       size == 8 + n * sizeof(struct vhost_msg_region);
	}
	case VHOST_SIZE_ANY:
		return true;
	}
	return false;
}

static bool
fds_ok(const struct vhost_msg *msg, enum vhost_msg_fd_rule rule)
{
	switch (rule) {
	case VHOST_FDS_NONE:
		return msg->nfds == 0;
	case VHOST_FDS_ONE:
		return msg->nfds == 1;
	case VHOST_FDS_VRING:
		return msg->nfds == ((msg->payload.u64 & VHOST_MSG_VRING_NOFD) ? 0u : 1u);
	case VHOST_FDS_MEM_TABLE:
		return msg->nfds == msg->payload.mem.nregions;
	case VHOST_FDS_MAX_ONE:
		return msg->nfds <= 1;
	case VHOST_FDS_ANY:
		return true;
	}
	return false;
}

enum vhost_msg_fault
vhost_msg_check_body(const struct vhost_msg *msg)
{
	const struct vhost_msg_info *info = vhost_msg_info(msg->hdr.request);

	if (!size_ok(msg, info->size))
		return VHOST_MSG_BAD_SIZE;
	if (!fds_ok(msg, info->fds))
		return VHOST_MSG_BAD_FD_COUNT;
	return VHOST_MSG_OK;
}

static const char *const virtio_names[64] = {
	[VIRTIO_NET_F_CSUM] = "CSUM",
	[VIRTIO_NET_F_GUEST_CSUM] = "GUEST_CSUM",
	[VIRTIO_NET_F_MTU] = "MTU",
	[VIRTIO_NET_F_MAC] = "MAC",
	[VIRTIO_NET_F_GUEST_TSO4] = "GUEST_TSO4",
	[VIRTIO_NET_F_GUEST_TSO6] = "GUEST_TSO6",
	[VIRTIO_NET_F_GUEST_ECN] = "GUEST_ECN",
	[VIRTIO_NET_F_GUEST_UFO] = "GUEST_UFO",
	[VIRTIO_NET_F_HOST_TSO4] = "HOST_TSO4",
	[VIRTIO_NET_F_HOST_TSO6] = "HOST_TSO6",
	[VIRTIO_NET_F_HOST_ECN] = "HOST_ECN",
	[VIRTIO_NET_F_HOST_UFO] = "HOST_UFO",
	[VIRTIO_NET_F_MRG_RXBUF] = "MRG_RXBUF",
	[VIRTIO_NET_F_STATUS] = "STATUS",
	[VIRTIO_NET_F_CTRL_VQ] = "CTRL_VQ",
	[VIRTIO_NET_F_CTRL_RX] = "CTRL_RX",
	[VIRTIO_NET_F_CTRL_VLAN] = "CTRL_VLAN",
	[VIRTIO_NET_F_GUEST_ANNOUNCE] = "GUEST_ANNOUNCE",
	[VIRTIO_NET_F_MQ] = "MQ",
	[VIRTIO_F_NOTIFY_ON_EMPTY] = "NOTIFY_ON_EMPTY",
	[VHOST_F_LOG_ALL] = "LOG_ALL",
	[VIRTIO_F_ANY_LAYOUT] = "ANY_LAYOUT",
	[VIRTIO_F_INDIRECT_DESC] = "INDIRECT_DESC",
	[VIRTIO_F_EVENT_IDX] = "EVENT_IDX",
	[VHOST_USER_F_PROTOCOL_FEATURES] = "PROTOCOL_FEATURES",
	[VIRTIO_F_VERSION_1] = "VERSION_1",
	[VIRTIO_F_ACCESS_PLATFORM] = "ACCESS_PLATFORM",
	[VIRTIO_F_RING_PACKED] = "RING_PACKED",
	[VIRTIO_F_IN_ORDER] = "IN_ORDER",
	[VIRTIO_F_ORDER_PLATFORM] = "ORDER_PLATFORM",
	[VIRTIO_F_SR_IOV] = "SR_IOV",
	[VIRTIO_F_NOTIFICATION_DATA] = "NOTIFICATION_DATA",
	[VIRTIO_F_RING_RESET] = "RING_RESET",
	[VIRTIO_NET_F_HOST_USO] = "HOST_USO",
	[VIRTIO_NET_F_HASH_REPORT] = "HASH_REPORT",
	[VIRTIO_NET_F_RSS] = "RSS",
};

static const char *const protocol_names[VHOST_PF_MAX] = {
	[VHOST_PF_MQ] = "MQ",
	[VHOST_PF_LOG_SHMFD] = "LOG_SHMFD",
	[VHOST_PF_RARP] = "RARP",
	[VHOST_PF_REPLY_ACK] = "REPLY_ACK",
	[VHOST_PF_NET_MTU] = "NET_MTU",
	[VHOST_PF_BACKEND_REQ] = "BACKEND_REQ",
	[VHOST_PF_CROSS_ENDIAN] = "CROSS_ENDIAN",
	[VHOST_PF_CRYPTO_SESSION] = "CRYPTO_SESSION",
	[VHOST_PF_PAGEFAULT] = "PAGEFAULT",
	[VHOST_PF_CONFIG] = "CONFIG",
	[VHOST_PF_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
	[VHOST_PF_HOST_NOTIFIER] = "HOST_NOTIFIER",
	[VHOST_PF_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
	[VHOST_PF_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_PF_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
	[VHOST_PF_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
	[VHOST_PF_STATUS] = "STATUS",
	[VHOST_PF_XEN_MMAP] = "XEN_MMAP",
	[VHOST_PF_SHARED_OBJECT] = "SHARED_OBJECT",
	[VHOST_PF_DEVICE_STATE] = "DEVICE_STATE",
};

const char *
virtio_feature_name(unsigned int bit)
{
	return bit < 64 ? virtio_names[bit] : NULL;
}

const char *
vhost_protocol_feature_name(unsigned int bit)
{
	return bit < VHOST_PF_MAX ? protocol_names[bit] : NULL;
}

char *
vhost_msg_feature_str(uint64_t bits, bool proto, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (unsigned int b = 0; b < 64 && off < len; b++) {
		const char *name;
		int n;

		if (!(bits & (1ULL << b)))
			continue;
		name = proto ? vhost_protocol_feature_name(b) : virtio_feature_name(b);
		if (name != NULL)
			n = snprintf(buf + off, len - off, "%s%s", off ? " " : "", name);
		else
			n = snprintf(buf + off, len - off, "%sbit%u", off ? " " : "", b);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}
