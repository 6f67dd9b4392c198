/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOST_CTRL_H
#define VHOST_CTRL_H

/**
 * @file
 * The vhost-user control plane.
 *
 * One control thread runs vhost_ctrl_run(): an epoll loop that owns every
 * vhost-user unix socket (server or client mode), reads and validates
 * messages, negotiates features and maps guest memory. Nothing here blocks
 * on a peer: sockets are non-blocking, replies that cannot be written at once
 * are queued and the connection stops being read until they drain.
 *
 * Ring configuration reaches the poll-mode lcores only through the handover
 * of lib/virtq (an RCU-published, immutable struct virtq_conf per ring and
 * rte_rcu_qsbr grace periods); see doc/design.md.
 *
 * All functions but vhost_ctrl_call() and vhost_ctrl_stop() must be called
 * on the control thread, or before vhost_ctrl_run() starts.
 */

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vhost_ctrl;
struct evloop;
struct rte_rcu_qsbr;

/** Default and highest queue pairs per vhost-user port (ring index is 8 bits). */
#define VHOST_CTRL_DEFAULT_QUEUE_PAIRS 8u
#define VHOST_CTRL_MAX_QUEUE_PAIRS 128u
/** Memory slots offered through GET_MAX_MEM_SLOTS. */
#define VHOST_CTRL_MAX_MEM_SLOTS 509u
/** Most vhost-user ports one control plane serves. */
#define VHOST_CTRL_MAX_PORTS 256u

/** How a port's socket is used. */
struct vhost_port_params {
	const char *path;         /**< unix socket path */
	bool client;              /**< connect to a listening front-end */
	unsigned int queue_pairs; /**< max queue pairs; 0 = default */
};

/** Connection state of a port. */
enum vhost_port_conn {
	VHOST_PORT_LISTENING,  /**< server mode, waiting for a front-end */
	VHOST_PORT_CONNECTING, /**< client mode, retrying with backoff */
	VHOST_PORT_CONNECTED,  /**< a front-end is attached */
};

/** Snapshot of one ring, for tests, the CLI and telemetry. */
struct vhost_ring_info {
	uint32_t num;                     /**< ring size; 0 until SET_VRING_NUM */
	bool addr_set;                    /**< SET_VRING_ADDR seen */
	bool started;                     /**< kicked and not stopped by GET_VRING_BASE */
	bool enabled;                     /**< SET_VRING_ENABLE state */
	bool published;                   /**< a virtq_conf is live for the datapath */
	bool has_kick, has_call, has_err; /**< an fd is held */
	uint32_t base;                    /**< what GET_VRING_BASE would answer now */
	uint32_t addr_flags;              /**< SET_VRING_ADDR flags (VHOST_VRING_F_LOG) */
	/** Device position (struct virtq_pos); may lag while an lcore owns it. */
	uint16_t last_avail, last_used;
	bool avail_wrap, used_wrap; /**< packed rings' wrap counters */
	bool broken;                /**< the datapath stopped the ring (corruption) */
	/**
	 * Split rings while published: the driver's avail->idx and the
	 * used->idx in guest memory. avail_idx - last_avail buffers are posted
	 * and not yet taken: the first thing to look at when there is a link
	 * but no traffic.
	 */
	bool idx_valid;
	uint16_t avail_idx, used_idx;
};

/** Outcome of one vhost-user request, as the step history records it. */
enum vhost_step_result {
	VHOST_STEP_OK,      /**< handled (acked if asked) */
	VHOST_STEP_FAILED,  /**< the handler refused a value: nack or logged */
	VHOST_STEP_REFUSED, /**< size, fds, gate or not served: nack or ignored */
	VHOST_STEP_DROPPED, /**< the connection was dropped over it */
};

/** One request of the step history. */
struct vhost_step {
	uint32_t request; /**< VHOST_USER_* code */
	uint8_t result;   /**< enum vhost_step_result */
	uint64_t at_ms;   /**< CLOCK_MONOTONIC time, ms */
};

/** Requests a port remembers, and guest memory regions a snapshot lists. */
#define VHOST_CTRL_STEPS 16u
#define VHOST_INFO_MAX_REGIONS 8u

/** Name of a step result. */
const char *vhost_step_result_str(enum vhost_step_result r);

/** Snapshot of a port, for tests, the CLI and telemetry. */
struct vhost_port_info {
	char path[108];
	bool client;
	enum vhost_port_conn conn;
	unsigned int queue_pairs;  /**< configured max */
	uint64_t features_offered; /**< GET_FEATURES answer */
	uint64_t features;         /**< acked by SET_FEATURES */
	bool features_set;         /**< SET_FEATURES seen */
	uint64_t protocol_offered;
	uint64_t protocol_features; /**< acked by SET_PROTOCOL_FEATURES */
	uint8_t status;             /**< SET_STATUS value */
	uint16_t mtu;               /**< NET_SET_MTU, 0 if none */
	uint8_t rarp_mac[6];        /**< last SEND_RARP MAC */
	bool rarp_pending;
	bool has_backend_req; /**< SET_BACKEND_REQ_FD fd held */
	bool has_log;         /**< SET_LOG_BASE mapped */
	uint64_t log_size;
	unsigned int nregions;
	uint64_t mapped_bytes; /**< guest memory mapped */
	/** The first VHOST_INFO_MAX_REGIONS regions, by guest address. */
	struct {
		uint64_t gpa, size, uva;
	} regions[VHOST_INFO_MAX_REGIONS];
	unsigned int connections; /**< front-ends accepted so far */
	unsigned int nrings;      /**< 2 * queue_pairs */
	struct vhost_ring_info rings[2 * VHOST_CTRL_MAX_QUEUE_PAIRS];
	char last_error[160]; /**< last fault seen on this port */
	/** The last requests received (across connections), oldest first. */
	struct vhost_step steps[VHOST_CTRL_STEPS];
	unsigned int nsteps;
};

/**
 * Callbacks to the owner (the switch), run on the control thread after the
 * datapath has seen the change (the grace period has passed).
 */
struct vhost_ctrl_ops {
	/** A ring's conf was published (conf != NULL) or withdrawn (NULL). */
	void (*ring_changed)(void *ctx, unsigned int port, unsigned int ring,
			     const struct virtq_conf *conf);
	/** A front-end connected (up) or went away (!up). */
	void (*link_changed)(void *ctx, unsigned int port, bool up);
};

/**
 * Create a control plane.
 * @param qsbr  grace-period detector the datapath lcores report to; NULL
 *              when no lcore reads rings (tests, control-only runs).
 * @param ops   owner callbacks, may be NULL.
 * @return NULL on allocation failure.
 */
struct vhost_ctrl *vhost_ctrl_create(struct rte_rcu_qsbr *qsbr, const struct vhost_ctrl_ops *ops,
				     void *ops_ctx);

/** Close every port and free the control plane. The loop must not run. */
void vhost_ctrl_destroy(struct vhost_ctrl *ctrl);

/**
 * Add a port: bind and listen (server) or start connecting (client).
 * A stale socket file at @p path is removed in server mode.
 * @return the port id (>= 0) or -errno.
 */
int vhost_ctrl_port_add(struct vhost_ctrl *ctrl, const struct vhost_port_params *params);

/**
 * The datapath side of ring @p ring of @p port, for the lcore that will own
 * it. The pointer stays valid until the port is removed; the lcore reads
 * the ring only through virtq_conf_get() (lib/virtq handover).
 * @return NULL if the port or ring does not exist.
 */
struct virtq *vhost_ctrl_ring(struct vhost_ctrl *ctrl, unsigned int port, unsigned int ring);

/** Remove a port: stop its rings, unmap its memory, close its sockets. */
int vhost_ctrl_port_del(struct vhost_ctrl *ctrl, unsigned int port);

/** Fill @p info with the port's current state. @return 0 or -ENOENT. */
int vhost_ctrl_port_info(struct vhost_ctrl *ctrl, unsigned int port, struct vhost_port_info *info);

/**
 * Run the event loop until vhost_ctrl_stop(). Call on the control thread.
 * @return 0, or -errno if the loop could not wait.
 */
int vhost_ctrl_run(struct vhost_ctrl *ctrl);

/** Ask the loop to return. Safe from any thread and from signal handlers. */
void vhost_ctrl_stop(struct vhost_ctrl *ctrl);

/**
 * Run fn(ctrl, arg) on the control thread and wait for it to return; runs it
 * directly when the loop is not running. Safe from any other thread.
 * @return fn's return value.
 */
int vhost_ctrl_call(struct vhost_ctrl *ctrl, int (*fn)(struct vhost_ctrl *, void *), void *arg);

/**
 * The event loop the control plane runs on, so the owner can attach its
 * own fds and timers to the same control thread (lib/evloop).
 */
struct evloop *vhost_ctrl_loop(struct vhost_ctrl *ctrl);

/** Name of a connection state. */
const char *vhost_port_conn_str(enum vhost_port_conn conn);

#ifdef __cplusplus
}
#endif

#endif /* VHOST_CTRL_H */
