/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_CTRL_PRIV_H
#define VHOST_CTRL_PRIV_H

/*
 * Internal state of the control plane. Everything here is owned by the
 * control thread; the datapath sees only struct virtq (lib/virtq) and the
 * immutable confs published into it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "guest_mem.h"
#include "vhost_ctrl.h"
#include "vhost_msg.h"
#include "virtq.h"
#include "vus_log.h"

/* Ring sizes (virtio 1.2 §2.7: at most 32768). */
#define VHOST_RING_MAX_NUM 32768u
/* Total guest memory one port may map (virtual address space). */
#define VHOST_MAX_MAPPED_BYTES (1ULL << 40)
/* fds waiting for a grace period before close (2 per ring at most per refresh). */
#define VHOST_DEFERRED_FDS (4u * 2u * VHOST_CTRL_MAX_QUEUE_PAIRS)
/* Client-mode reconnect backoff. */
#define VHOST_RETRY_MIN_MS 100u
#define VHOST_RETRY_MAX_MS 2000u
/* Size of the pending-reply buffer: one reply at a time (reads pause while it drains). */
#define VHOST_TXBUF_SIZE 1024u
/* How often the control thread looks for guest memory the SIGBUS handler
 * contained (SEC-10). The region reads zeros meanwhile, so this only bounds
 * how long a truncating front-end stays connected. */
#define VHOST_FAULT_POLL_MS 100u

/* Every mapping of a front-end's file has a SIGBUS guard entry (lib/guest_mem):
 * each port's memory slots, the table regions a SET_MEM_TABLE maps before
 * the old table goes, and the old and new dirty log. A full registry would
 * let one port's front-end deny memory to every other port. */
_Static_assert(GUEST_MEM_GUARD_SLOTS >= VHOST_CTRL_MAX_PORTS * (VHOST_CTRL_MAX_MEM_SLOTS +
								VHOST_MSG_MAX_TABLE_REGIONS + 2),
	       "SIGBUS registry smaller than the mappings the control plane may hold");

/* Control-side state of one ring. */
struct vhost_ring {
	uint32_t num; /* SET_VRING_NUM, 0 = not set */
	struct vhost_msg_vring_addr addr;
	bool addr_set;
	uint32_t base;     /* raw SET_VRING_BASE value */
	bool base_pending; /* base not yet applied to vq.pos */
	int kick_fd, call_fd, err_fd;
	bool started;            /* kicked, not stopped by GET_VRING_BASE */
	bool enabled;            /* SET_VRING_ENABLE */
	bool broken_logged;      /* translation failure already logged */
	struct virtq_conf *conf; /* what vq.conf points to (owned here) */
	struct virtq vq;         /* shared with the owning lcore */
};

/* Negotiated state of one connection; reset whenever a front-end connects. */
struct vhost_dev {
	uint64_t features;
	bool features_set;
	uint64_t protocol;
	bool owner;
	uint8_t status;
	uint16_t mtu;
	uint8_t rarp_mac[6];
	bool rarp_pending;
	int backend_req_fd;
	int log_fd;
	struct guest_mem_table *mem;
	void *log_map;
	size_t log_map_len;
	uint32_t log_guard; /* SIGBUS guard of log_map */
	uint8_t *log_base;
	uint64_t log_size;
	struct vhost_ring *rings; /* port->nrings entries */
};

/* A message being read: header, payload and fds arrive in pieces. */
struct vhost_rx {
	struct vhost_msg msg;
	size_t have; /* bytes of header + payload read so far */
};

struct vhost_port {
	struct vhost_ctrl *ctrl;
	unsigned int id;
	char path[108];
	char name[140]; /* "port N (path)", for log lines */
	bool client;
	unsigned int queue_pairs;
	unsigned int nrings;
	enum vhost_port_conn conn;
	int listen_fd;
	struct evloop_watch *listen_w;
	int sock_fd;
	struct evloop_watch *sock_w;
	struct evloop_timer *retry_t;
	unsigned int retry_ms;
	struct vhost_rx rx;
	uint8_t txbuf[VHOST_TXBUF_SIZE];
	size_t tx_len;
	uint64_t features_base;   /* what this port offers by configuration */
	uint64_t features_pinned; /* acked before: kept offered across reconnects */
	unsigned int connections;
	char last_error[160];
	/* The last VHOST_CTRL_STEPS requests: a ring, steps_n counts them all. */
	struct vhost_step steps[VHOST_CTRL_STEPS];
	unsigned int steps_n;
	struct vus_ratelimit log_rl; /* for lines a front-end can trigger in a loop */
	int deferred_fds[VHOST_DEFERRED_FDS];
	unsigned int ndeferred;
	struct vhost_dev dev;
};

struct vhost_ctrl {
	struct evloop *loop;
	struct rte_rcu_qsbr *qsbr;
	struct vhost_ctrl_ops ops;
	void *ops_ctx;
	struct vhost_port *ports[VHOST_CTRL_MAX_PORTS];
	struct evloop_watch *fault_w; /* guest_mem_sigbus_fd() edges, */
	struct evloop_timer *fault_t; /* or a VHOST_FAULT_POLL_MS tick without it */
	uint64_t faults_seen;         /* guest_mem_sigbus_count() at the last look */
};

/* Log a fault of this port: always to last_error, to the log rate-limited. */
void vhost_port_fault(struct vhost_port *port, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define PORT_LOG(port, level, fmt, ...) \
	VUS_CTRL_LOG(level, "%s: " fmt "\n", (port)->name, ##__VA_ARGS__)

/* vhost_socket.c */
int vhost_socket_open(struct vhost_port *port);
void vhost_socket_close(struct vhost_port *port);
void vhost_conn_drop(struct vhost_port *port, const char *why);
int vhost_send_reply(struct vhost_port *port, uint32_t request, const void *payload, uint32_t size);

/* vhost_dispatch.c */
void vhost_dispatch(struct vhost_port *port, struct vhost_msg *msg);
void vhost_step_record(struct vhost_port *port, uint32_t request, enum vhost_step_result r);

/* vhost_device.c */
int vhost_dev_init(struct vhost_port *port);
void vhost_dev_reset(struct vhost_port *port, bool keep_connection_state);
void vhost_dev_free(struct vhost_port *port);
uint64_t vhost_dev_offered_features(const struct vhost_port *port);
uint64_t vhost_dev_offered_protocol(const struct vhost_port *port);
bool vhost_dev_has_protocol(const struct vhost_port *port, unsigned int bit);
void vhost_defer_close(struct vhost_port *port, int fd);
void vhost_replace_fd(struct vhost_port *port, int *slot, int fd);

/* vhost_handlers_mem.c */
/* Drop the connection if SIGBUS hit the port's guest memory or dirty log. */
void vhost_mem_check_faults(struct vhost_port *port);

/* vhost_ring.c */
int vhost_rings_refresh(struct vhost_port *port, struct guest_mem_table *old_mem);
bool vhost_ring_index_ok(const struct vhost_port *port, uint32_t index);
bool vhost_ring_is_packed(const struct vhost_port *port);
/* Started and configured, but its addresses do not translate. */
bool vhost_ring_blocked(const struct vhost_port *port, const struct vhost_ring *r);
uint32_t vhost_ring_base(const struct vhost_port *port, unsigned int index);

/* Handlers: one per request, in vhost_handlers_*.c. Return 0 or -errno;
 * reply-bearing handlers fill *reply and *reply_size. */
struct vhost_reply {
	union {
		uint64_t u64;
		struct vhost_msg_vring_state state;
		struct vhost_msg_log log;
	};
	uint32_t size;
};

typedef int (*vhost_handler_fn)(struct vhost_port *port, struct vhost_msg *msg,
				struct vhost_reply *reply);

#define VHOST_HANDLERS(X) \
	X(GET_FEATURES, get_features) \
	X(SET_FEATURES, set_features) \
	X(SET_OWNER, set_owner) \
	X(RESET_OWNER, reset_owner) \
	X(SET_MEM_TABLE, set_mem_table) \
	X(SET_LOG_BASE, set_log_base) \
	X(SET_LOG_FD, set_log_fd) \
	X(SET_VRING_NUM, set_vring_num) \
	X(SET_VRING_ADDR, set_vring_addr) \
	X(SET_VRING_BASE, set_vring_base) \
	X(GET_VRING_BASE, get_vring_base) \
	X(SET_VRING_KICK, set_vring_kick) \
	X(SET_VRING_CALL, set_vring_call) \
	X(SET_VRING_ERR, set_vring_err) \
	X(GET_PROTOCOL_FEATURES, get_protocol_features) \
	X(SET_PROTOCOL_FEATURES, set_protocol_features) \
	X(GET_QUEUE_NUM, get_queue_num) \
	X(SET_VRING_ENABLE, set_vring_enable) \
	X(SEND_RARP, send_rarp) \
	X(NET_SET_MTU, net_set_mtu) \
	X(SET_BACKEND_REQ_FD, set_backend_req_fd) \
	X(RESET_DEVICE, reset_device) \
	X(GET_MAX_MEM_SLOTS, get_max_mem_slots) \
	X(ADD_MEM_REG, add_mem_reg) \
	X(REM_MEM_REG, rem_mem_reg) \
	X(SET_STATUS, set_status) \
	X(GET_STATUS, get_status)

#define VHOST_HANDLER_DECL(req, fn) \
	int vhost_handle_##fn(struct vhost_port *port, struct vhost_msg *msg, \
			      struct vhost_reply *reply);
VHOST_HANDLERS(VHOST_HANDLER_DECL)
#undef VHOST_HANDLER_DECL

#endif /* VHOST_CTRL_PRIV_H */
