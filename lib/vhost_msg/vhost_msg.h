/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_MSG_H
#define VHOST_MSG_H

/**
 * @file
 * The vhost-user wire format (QEMU docs/interop/vhost-user.rst): message
 * header, payload layouts, request codes, feature bits, and the per-request
 * rules a back-end checks before it acts (payload size, fd count, reply kind).
 *
 * This library holds no state and does no I/O, so the framing rules can be
 * unit-tested and fuzzed on their own.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Header flags. */
#define VHOST_MSG_VERSION 0x1u
#define VHOST_MSG_VERSION_MASK 0x3u
#define VHOST_MSG_FLAG_REPLY 0x4u
#define VHOST_MSG_FLAG_NEED_REPLY 0x8u
/** Flags of every reply we send: version 1 | reply. */
#define VHOST_MSG_REPLY_FLAGS (VHOST_MSG_VERSION | VHOST_MSG_FLAG_REPLY)

/** Size of the header on the wire. */
#define VHOST_MSG_HDR_SIZE 12u
/** Largest payload accepted; bigger headers close the connection (MSG-6). */
#define VHOST_MSG_MAX_PAYLOAD 4096u
/** Most fds one message may carry (SET_MEM_TABLE's 8 regions). */
#define VHOST_MSG_MAX_FDS 8u
/** Regions in one SET_MEM_TABLE. */
#define VHOST_MSG_MAX_TABLE_REGIONS 8u

/** Bits of the u64 of SET_VRING_KICK/CALL/ERR. */
#define VHOST_MSG_VRING_IDX_MASK 0xffu
#define VHOST_MSG_VRING_NOFD 0x100u

/** Flag bit of vhost_msg_vring_addr.flags: log used-ring writes. */
#define VHOST_VRING_F_LOG 0x1u

/** Message header. Integers are in host byte order. */
struct vhost_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

/** Payload of SET/GET_VRING_NUM/BASE and SET_VRING_ENABLE. */
struct vhost_msg_vring_state {
	uint32_t index;
	uint32_t num;
};

/** Payload of SET_VRING_ADDR. Note: used precedes avail. */
struct vhost_msg_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

/** One memory region description. */
struct vhost_msg_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

/** Payload of SET_MEM_TABLE (header part; regions follow). */
struct vhost_msg_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_msg_region regions[VHOST_MSG_MAX_TABLE_REGIONS];
};

/** Payload of ADD_MEM_REG and REM_MEM_REG. */
struct vhost_msg_mem_reg {
	uint64_t padding;
	struct vhost_msg_region region;
};

/** Payload of SET_LOG_BASE (with LOG_SHMFD). */
struct vhost_msg_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
};

/** A whole message as the control plane holds it after reading. */
struct vhost_msg {
	struct vhost_msg_hdr hdr;
	union {
		uint64_t u64;
		struct vhost_msg_vring_state state;
		struct vhost_msg_vring_addr addr;
		struct vhost_msg_mem_table mem;
		struct vhost_msg_mem_reg reg;
		struct vhost_msg_log log;
		uint8_t raw[VHOST_MSG_MAX_PAYLOAD];
	} payload;
	int fds[VHOST_MSG_MAX_FDS];
	unsigned int nfds;
};

/** Rule for a request's payload size. */
enum vhost_msg_size_rule {
	VHOST_SIZE_NONE,      /**< size 0 */
	VHOST_SIZE_U64,       /**< 8 */
	VHOST_SIZE_STATE,     /**< vring state, 8 */
	VHOST_SIZE_ADDR,      /**< vring addr, 40 */
	VHOST_SIZE_MEM_TABLE, /**< 8 + 32 * nregions, nregions 1..8 */
	VHOST_SIZE_MEM_REG,   /**< 40 */
	VHOST_SIZE_LOG,       /**< 16 */
	VHOST_SIZE_ANY,       /**< not checked here (unserved requests) */
};

/** Rule for a request's file descriptors. */
enum vhost_msg_fd_rule {
	VHOST_FDS_NONE,      /**< no fd */
	VHOST_FDS_ONE,       /**< exactly one fd */
	VHOST_FDS_VRING,     /**< one fd, or none when VHOST_MSG_VRING_NOFD */
	VHOST_FDS_MEM_TABLE, /**< one per region */
	VHOST_FDS_MAX_ONE,   /**< zero or one; an fd given is closed unused */
	VHOST_FDS_ANY,       /**< unserved requests: all closed */
};

/** What a request answers with, whatever need_reply says. */
enum vhost_msg_reply_kind {
	VHOST_REPLY_ACK,   /**< none of its own: u64 ack if need_reply */
	VHOST_REPLY_U64,   /**< u64 */
	VHOST_REPLY_STATE, /**< vring state */
	VHOST_REPLY_LOG,   /**< 16-byte echo of the log description */
};

/**
 * Every front-end request a net back-end can meet:
 * X(code, NAME, size rule, fd rule, reply kind, protocol feature gate or -1).
 * The gate is the protocol feature that must have been acked before the
 * request is served; -1 means always.
 */
#define VHOST_MSG_REQUESTS(X) \
	X(1, GET_FEATURES, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, -1) \
	X(2, SET_FEATURES, VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(3, SET_OWNER, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(4, RESET_OWNER, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(5, SET_MEM_TABLE, VHOST_SIZE_MEM_TABLE, VHOST_FDS_MEM_TABLE, VHOST_REPLY_ACK, -1) \
	X(6, SET_LOG_BASE, VHOST_SIZE_LOG, VHOST_FDS_ONE, VHOST_REPLY_LOG, VHOST_PF_LOG_SHMFD) \
	X(7, SET_LOG_FD, VHOST_SIZE_NONE, VHOST_FDS_ONE, VHOST_REPLY_ACK, VHOST_PF_LOG_SHMFD) \
	X(8, SET_VRING_NUM, VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(9, SET_VRING_ADDR, VHOST_SIZE_ADDR, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(10, SET_VRING_BASE, VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(11, GET_VRING_BASE, VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_STATE, -1) \
	X(12, SET_VRING_KICK, VHOST_SIZE_U64, VHOST_FDS_VRING, VHOST_REPLY_ACK, -1) \
	X(13, SET_VRING_CALL, VHOST_SIZE_U64, VHOST_FDS_VRING, VHOST_REPLY_ACK, -1) \
	X(14, SET_VRING_ERR, VHOST_SIZE_U64, VHOST_FDS_VRING, VHOST_REPLY_ACK, -1) \
	X(15, GET_PROTOCOL_FEATURES, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, -1) \
	X(16, SET_PROTOCOL_FEATURES, VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(17, GET_QUEUE_NUM, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, -1) \
	X(18, SET_VRING_ENABLE, VHOST_SIZE_STATE, VHOST_FDS_NONE, VHOST_REPLY_ACK, -1) \
	X(19, SEND_RARP, VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, VHOST_PF_RARP) \
	X(20, NET_SET_MTU, VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, VHOST_PF_NET_MTU) \
	X(21, SET_BACKEND_REQ_FD, VHOST_SIZE_NONE, VHOST_FDS_ONE, VHOST_REPLY_ACK, \
	  VHOST_PF_BACKEND_REQ) \
	X(22, IOTLB_MSG, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_U64, -1) \
	X(23, SET_VRING_ENDIAN, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(24, GET_CONFIG, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(25, SET_CONFIG, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(26, CREATE_CRYPTO_SESSION, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(27, CLOSE_CRYPTO_SESSION, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(28, POSTCOPY_ADVISE, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(29, POSTCOPY_LISTEN, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(30, POSTCOPY_END, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(31, GET_INFLIGHT_FD, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(32, SET_INFLIGHT_FD, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(33, GPU_SET_SOCKET, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(34, RESET_DEVICE, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_ACK, \
	  VHOST_PF_RESET_DEVICE) \
	X(35, VRING_KICK, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(36, GET_MAX_MEM_SLOTS, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, \
	  VHOST_PF_CONFIGURE_MEM_SLOTS) \
	X(37, ADD_MEM_REG, VHOST_SIZE_MEM_REG, VHOST_FDS_ONE, VHOST_REPLY_ACK, \
	  VHOST_PF_CONFIGURE_MEM_SLOTS) \
	X(38, REM_MEM_REG, VHOST_SIZE_MEM_REG, VHOST_FDS_MAX_ONE, VHOST_REPLY_ACK, \
	  VHOST_PF_CONFIGURE_MEM_SLOTS) \
	X(39, SET_STATUS, VHOST_SIZE_U64, VHOST_FDS_NONE, VHOST_REPLY_ACK, VHOST_PF_STATUS) \
	X(40, GET_STATUS, VHOST_SIZE_NONE, VHOST_FDS_NONE, VHOST_REPLY_U64, VHOST_PF_STATUS) \
	X(41, GET_SHARED_OBJECT, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(42, SET_DEVICE_STATE_FD, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(43, CHECK_DEVICE_STATE, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1) \
	X(44, GET_SHMEM_CONFIG, VHOST_SIZE_ANY, VHOST_FDS_ANY, VHOST_REPLY_ACK, -1)

/** Protocol feature bits. */
enum vhost_protocol_feature {
	VHOST_PF_MQ = 0,
	VHOST_PF_LOG_SHMFD = 1,
	VHOST_PF_RARP = 2,
	VHOST_PF_REPLY_ACK = 3,
	VHOST_PF_NET_MTU = 4,
	VHOST_PF_BACKEND_REQ = 5,
	VHOST_PF_CROSS_ENDIAN = 6,
	VHOST_PF_CRYPTO_SESSION = 7,
	VHOST_PF_PAGEFAULT = 8,
	VHOST_PF_CONFIG = 9,
	VHOST_PF_BACKEND_SEND_FD = 10,
	VHOST_PF_HOST_NOTIFIER = 11,
	VHOST_PF_INFLIGHT_SHMFD = 12,
	VHOST_PF_RESET_DEVICE = 13,
	VHOST_PF_INBAND_NOTIFICATIONS = 14,
	VHOST_PF_CONFIGURE_MEM_SLOTS = 15,
	VHOST_PF_STATUS = 16,
	VHOST_PF_XEN_MMAP = 17,
	VHOST_PF_SHARED_OBJECT = 18,
	VHOST_PF_DEVICE_STATE = 19,
	VHOST_PF_MAX
};

/** Request codes, from VHOST_MSG_REQUESTS. */
enum vhost_msg_request {
#define VHOST_MSG_ENUM(code, name, size, fds, reply, gate) VHOST_USER_##name = code,
	VHOST_MSG_REQUESTS(VHOST_MSG_ENUM)
#undef VHOST_MSG_ENUM
	VHOST_USER_MAX
};

/** Virtio and vhost feature bits a net back-end meets. */
enum virtio_feature_bit {
	VIRTIO_NET_F_CSUM = 0,
	VIRTIO_NET_F_GUEST_CSUM = 1,
	VIRTIO_NET_F_MTU = 3,
	VIRTIO_NET_F_MAC = 5,
	VIRTIO_NET_F_GUEST_TSO4 = 7,
	VIRTIO_NET_F_GUEST_TSO6 = 8,
	VIRTIO_NET_F_GUEST_ECN = 9,
	VIRTIO_NET_F_GUEST_UFO = 10,
	VIRTIO_NET_F_HOST_TSO4 = 11,
	VIRTIO_NET_F_HOST_TSO6 = 12,
	VIRTIO_NET_F_HOST_ECN = 13,
	VIRTIO_NET_F_HOST_UFO = 14,
	VIRTIO_NET_F_MRG_RXBUF = 15,
	VIRTIO_NET_F_STATUS = 16,
	VIRTIO_NET_F_CTRL_VQ = 17,
	VIRTIO_NET_F_CTRL_RX = 18,
	VIRTIO_NET_F_CTRL_VLAN = 19,
	VIRTIO_NET_F_GUEST_ANNOUNCE = 21,
	VIRTIO_NET_F_MQ = 22,
	VIRTIO_F_NOTIFY_ON_EMPTY = 24,
	VHOST_F_LOG_ALL = 26,
	VIRTIO_F_ANY_LAYOUT = 27,
	VIRTIO_F_INDIRECT_DESC = 28,
	VIRTIO_F_EVENT_IDX = 29,
	VHOST_USER_F_PROTOCOL_FEATURES = 30,
	VIRTIO_F_VERSION_1 = 32,
	VIRTIO_F_ACCESS_PLATFORM = 33,
	VIRTIO_F_RING_PACKED = 34,
	VIRTIO_F_IN_ORDER = 35,
	VIRTIO_F_ORDER_PLATFORM = 36,
	VIRTIO_F_SR_IOV = 37,
	VIRTIO_F_NOTIFICATION_DATA = 38,
	VIRTIO_F_RING_RESET = 40,
	VIRTIO_NET_F_HOST_USO = 56,
	VIRTIO_NET_F_HASH_REPORT = 57,
	VIRTIO_NET_F_RSS = 60,
};

/** Virtio device status bits (SET_STATUS). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x1u
#define VIRTIO_STATUS_DRIVER 0x2u
#define VIRTIO_STATUS_DRIVER_OK 0x4u
#define VIRTIO_STATUS_FEATURES_OK 0x8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/** Static description of one request code. */
struct vhost_msg_info {
	const char *name; /**< e.g. "SET_MEM_TABLE"; NULL: unknown code */
	enum vhost_msg_size_rule size;
	enum vhost_msg_fd_rule fds;
	enum vhost_msg_reply_kind reply;
	int gate; /**< protocol feature bit, or -1 */
};

/** Outcome of a framing check; each has a name for log lines. */
enum vhost_msg_fault {
	VHOST_MSG_OK = 0,
	VHOST_MSG_BAD_VERSION,  /**< flags & 3 != 1 */
	VHOST_MSG_BAD_FLAGS,    /**< reply bit or reserved bits in a request */
	VHOST_MSG_TOO_LARGE,    /**< size above VHOST_MSG_MAX_PAYLOAD */
	VHOST_MSG_BAD_SIZE,     /**< size does not match the request type */
	VHOST_MSG_BAD_FD_COUNT, /**< fds do not match the request type */
};

/**
 * Look up the static rules of a request code.
 * @return the description; its name is NULL for codes we do not know.
 */
const struct vhost_msg_info *vhost_msg_info(uint32_t request);

/** Name of a request code for log lines ("UNKNOWN" when not known). */
const char *vhost_msg_name(uint32_t request);

/** Name of a fault for log lines. */
const char *vhost_msg_fault_str(enum vhost_msg_fault fault);

/**
 * Check a header as soon as its 12 bytes are in: version, flags and size
 * bound. A fault here means the stream cannot be trusted: disconnect.
 */
enum vhost_msg_fault vhost_msg_check_hdr(const struct vhost_msg_hdr *hdr);

/**
 * Check a complete message's payload size and fd count against its request
 * type. The stream is intact after a fault here (the payload was consumed),
 * so the request can be refused with a nack.
 */
enum vhost_msg_fault vhost_msg_check_body(const struct vhost_msg *msg);

/** True if the request has need_reply set. */
static inline bool
vhost_msg_need_reply(const struct vhost_msg *msg)
{
	return (msg->hdr.flags & VHOST_MSG_FLAG_NEED_REPLY) != 0;
}

/** Name of a virtio feature bit, or NULL if it has none. */
const char *virtio_feature_name(unsigned int bit);

/** Name of a protocol feature bit, or NULL if it has none. */
const char *vhost_protocol_feature_name(unsigned int bit);

/**
 * Write the names of the bits set in @p bits, space separated, into @p buf;
 * unnamed bits are written as "bitN". Always NUL-terminates.
 * @param proto true for protocol features, false for virtio features.
 * @return buf
 */
char *vhost_msg_feature_str(uint64_t bits, bool proto, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VHOST_MSG_H */
