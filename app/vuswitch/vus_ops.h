/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_OPS_H
#define VUS_OPS_H

/**
 * @file
 * The operations layer: everything the fronts (interactive CLI, command
 * file, telemetry, --stats-period) can ask of the switch, in one place.
 *
 * Threads. The fronts run on the main lcore (CLI, command file, stats) and
 * on DPDK's telemetry threads. Ports, plans, the forwarding table and the
 * VLAN table have one writer, the control thread, and some of what is read
 * here (the port table, the plans) is freed by it. So every function below
 * runs its body on the control thread through vhost_ctrl_call() and copies
 * what it reads into the caller's structures; the caller formats them.
 * Before the control loop runs (start-up), calls run directly.
 *
 * Errors. Every function validates all its arguments before it changes
 * anything, so a refused request changes nothing; it returns -errno and
 * writes a one-line reason into @p err (VUS_ERR_LEN bytes), which the
 * fronts print or return as is.
 *
 * Counters are those since the last clear (vus_ops_port_clear(),
 * vus_ops_fwd_clear()); rates are computed from the previous read by the
 * same front (enum vus_rate_slot), as testpmd's "show port stats".
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "fdb.h"
#include "fwd.h"
#include "fwd_switch.h"
#include "vhost_ctrl.h"
#include "virtq.h"
#include "vus_port.h"

struct rte_mempool;

/** Size of the reason buffer every operation fills on failure. */
#define VUS_ERR_LEN 160
/** Most queues per port the snapshots carry. */
#define VUS_OPS_MAX_QUEUES VHOST_CTRL_MAX_QUEUE_PAIRS
/** Most ethdev extended statistics a snapshot carries. */
#define VUS_OPS_MAX_XSTATS 256
/** Most (port, queue) polls per lcore a snapshot carries. */
#define VUS_OPS_MAX_POLLS 256

/** Kinds of switch port. */
enum vus_port_kind {
	VUS_PORT_VHOST,  /**< vhost-user (drivers/vhost_user) */
	VUS_PORT_ETHDEV, /**< DPDK ethdev (drivers/ethdev) */
};

/** Who reads rates: each front has its own previous read. */
enum vus_rate_slot {
	VUS_RATE_NONE = -1, /**< no rates */
	VUS_RATE_CLI = 0,
	VUS_RATE_TELEMETRY,
	VUS_RATE_PERIOD, /**< --stats-period */
	VUS_RATE_SLOTS,
};

/** Most --rxq-lcore pins. */
#define VUS_MAX_RXQ_PINS 256

/**
 * A standing RX queue pin (--rxq-lcore PORT:QUEUE:LCORE): applied each time
 * a port with id @p port is added (at start or later), if it has that queue.
 */
struct vus_rxq_pin {
	uint16_t port;
	uint16_t queue;
	unsigned int lcore_id; /**< EAL lcore id of a forwarding lcore */
};

/** What the operations work on (owned by the application). */
struct vus_ops_params {
	struct vhost_ctrl *ctrl;
	struct fwd_runtime *rt;
	struct fwd_switch *sw;
	struct rte_mempool *mp; /**< mbufs for ethdev RX queues */
	uint16_t ethdev_rxq;    /**< RX queues of ethdevs added at run time */
	/** Seconds between automatic rebalances (vus_ops_fwd_tick()); 0: none. */
	unsigned int rebalance_interval_s;
	/** Standing pins (copied), applied in order: a later one for the same queue wins. */
	const struct vus_rxq_pin *rxq_pins;
	unsigned int nb_rxq_pins; /**< at most VUS_MAX_RXQ_PINS */
};

/**
 * Initialise the layer. @return 0, or -EINVAL (with the reason in @p err)
 * if a standing pin names an lcore that is not a forwarding lcore.
 */
int vus_ops_init(const struct vus_ops_params *p, char *err);

/**
 * Refuse new operations (-ESHUTDOWN) and wait for running ones to return.
 * Call before stopping the control loop: afterwards no front reaches into
 * the switch.
 */
void vus_ops_shutdown(void);

/** Free the layer's state (after vus_ops_shutdown()). */
void vus_ops_fini(void);

/** The vuswitch version string. */
const char *vus_ops_version(void);

/** Name of a port kind: "vhost-user" or "ethdev". */
const char *vus_port_kind_str(enum vus_port_kind k);

/** A VLAN bitmap as a list of ranges ("10,20,30-40"; "none" if empty). @return buf */
char *vus_vlan_list_str(const uint64_t allowed[64], char *buf, size_t len);

/** Names of the virtio status bits set in @p status, space separated. @return buf */
char *vus_virtio_status_str(uint8_t status, char *buf, size_t len);

/* --- ports ------------------------------------------------------------------------------- */

/** A port as "show port info" shows it. */
struct vus_port_summary {
	uint16_t id;
	enum vus_port_kind kind;
	char name[64];
	struct rte_ether_addr mac;
	uint16_t nb_queues;
	bool link_up;   /**< vhost: front-end connected and a ring pair running */
	char state[16]; /**< vhost: listening/connecting/connected; ethdev: up/down */
	/* vhost-user */
	unsigned int vhost_id; /**< vhost_ctrl port id */
	char path[108];
	bool client;
	unsigned int rings_running; /**< rings handed to the datapath */
	/* ethdev */
	uint16_t eth_port;
	char devargs[128];
	char driver[32];
	uint32_t speed_mbps;
	/** VLAN mode (struct fwd_port_vlan). */
	struct fwd_port_vlan vlan;
	/** EAL lcore id polling each RX queue, or FWD_NO_LCORE. */
	uint16_t lcore[VUS_OPS_MAX_QUEUES];
	/** Measured load of each RX queue (fwd_queue_load()): millionths of an lcore, -1 none yet. */
	int32_t load_ppm[VUS_OPS_MAX_QUEUES];
	struct vus_port_stats stats; /**< since the last clear */
	uint64_t rx_pps, tx_pps;     /**< since the slot's previous read (0 on the first) */
};

/** One queue's counters. rx: from the port (guest TX ring); tx: to it. */
struct vus_queue_stats {
	uint64_t packets, bytes, dropped;
	uint64_t calls;                 /**< vhost: guest notifications */
	uint64_t drops[VIRTQ_DROP_MAX]; /**< vhost: per reason (lib/virtq) */
};

/** A port's per-queue and extended counters ("show port xstats"). */
struct vus_port_xstats {
	uint16_t id;
	enum vus_port_kind kind;
	uint16_t nb_queues; /**< queues below (ethdev: at most 16, RTE_ETHDEV_QUEUE_STAT_CNTRS) */
	struct vus_queue_stats rx[VUS_OPS_MAX_QUEUES], tx[VUS_OPS_MAX_QUEUES];
	unsigned int nxstats; /**< ethdev: rte_eth_xstats */
	struct {
		char name[64];
		uint64_t value;
	} xstats[VUS_OPS_MAX_XSTATS];
};

/** Ids of the ports, ascending. @return their number (at most @p max). */
int vus_ops_port_ids(uint16_t *ids, unsigned int max);

/** Snapshot of port @p id; rates for @p slot. @return 0 or -ENOENT. */
int vus_ops_port_get(uint16_t id, enum vus_rate_slot slot, struct vus_port_summary *s, char *err);

/** Per-queue and extended counters of port @p id. @return 0 or -ENOENT. */
int vus_ops_port_xstats(uint16_t id, struct vus_port_xstats *x, char *err);

/** Zero the counters of port @p id, or of every port if @p id < 0. */
int vus_ops_port_clear(int id, char *err);

/**
 * Add a vhost-user port (server mode unless @p client) with at most
 * @p queue_pairs queue pairs (0: default). @return the switch port id.
 */
int vus_ops_port_add_vhost(const char *path, bool client, unsigned int queue_pairs, char *err);

/**
 * Probe a device with @p devargs (rte_dev_probe: "net_null0,no-rx=1", a PCI
 * address, ...) and make its ethdev a port. @return the switch port id.
 */
int vus_ops_port_add_ethdev(const char *devargs, char *err);

/** Make already probed ethdev @p eth_port a port (start-up). @return its id. */
int vus_ops_port_attach_ethdev(uint16_t eth_port, char *err);

/**
 * Remove port @p id: no lcore polls or sends to it, the switch forgets it,
 * its driver is destroyed, then its vhost-user socket closed or its device
 * removed (rte_dev_remove).
 */
int vus_ops_port_del(uint16_t id, char *err);

/** Port @p id to access mode in @p vlan (1..4094). */
int vus_ops_port_vlan_access(uint16_t id, uint16_t vlan, char *err);

/** Port @p id to trunk mode for @p list ("10,20,30-40"), native @p native (0: none). */
int vus_ops_port_vlan_trunk(uint16_t id, const char *list, uint16_t native, char *err);

/** Pin every RX queue of port @p id to EAL lcore @p lcore_id (< 0: automatic). */
int vus_ops_port_lcore(uint16_t id, int lcore_id, char *err);

/**
 * Pin RX queue @p queue of port @p id to EAL lcore @p lcore_id (< 0:
 * automatic again: the queue stays where it is until a rebalance); the
 * port's other queues are left as they are.
 * @return the EAL lcore now polling the queue, or -errno.
 */
int vus_ops_port_rxq_lcore(uint16_t id, uint16_t queue, int lcore_id, char *err);

/**
 * Parse an lcore argument: an EAL lcore id, or "auto" (*@p lcore_id = -1).
 * @return 0, or -EINVAL with the reason in @p err.
 */
int vus_lcore_arg_parse(const char *s, int *lcore_id, char *err);

/** What "show vhost" shows. */
struct vus_vhost_snapshot {
	uint16_t id; /**< switch port id */
	struct vhost_port_info info;
	uint16_t ring_lcore[2 * VHOST_CTRL_MAX_QUEUE_PAIRS]; /**< polling EAL lcore, per ring */
	uint64_t now_ms;  /**< CLOCK_MONOTONIC, to age the steps */
	bool fwd_running; /**< forwarding started */
};

/** Control-plane snapshot of vhost-user port @p id. @return 0, -ENOENT or -EINVAL. */
int vus_ops_vhost_get(uint16_t id, struct vus_vhost_snapshot *v, char *err);

/** Longest hint, and most hints, vus_vhost_hints() gives. */
#define VUS_HINT_LEN 128
#define VUS_MAX_HINTS 8

/**
 * Why a vhost-user port may carry no traffic, read from a snapshot: no
 * front-end, nothing negotiated, no ring started, a ring disabled or
 * broken, a guest that posts no RX buffers, a queue no lcore polls,
 * forwarding stopped. @return number of hints written (at least 1).
 */
unsigned int vus_vhost_hints(const struct vus_vhost_snapshot *v, char hints[][VUS_HINT_LEN],
			     unsigned int max);

/* --- forwarding -------------------------------------------------------------------------- */

/** One forwarding lcore. */
struct vus_lcore_info {
	unsigned int lcore_id;
	uint16_t txq;
	struct fwd_lcore_stats stats; /**< since the last clear */
	uint16_t npolls;              /**< polls in its plan */
	struct {
		uint16_t port, queue;
		int32_t load_ppm;   /**< fwd_queue_load(): millionths of an lcore, -1 none yet */
	} polls[VUS_OPS_MAX_POLLS]; /**< the first VUS_OPS_MAX_POLLS */
	uint64_t load_ppm;          /**< sum of the measured loads of every queue it polls */
};

/** The forwarding configuration and counters. */
struct vus_fwd_info {
	char engine[16];
	bool running;
	uint16_t nports;
	unsigned int nb_lcores;
	struct vus_lcore_info lcores[FWD_MAX_LCORES];
	struct fwd_lcore_stats total;      /**< sum over lcores */
	struct fwd_switch_stats sw;        /**< the switch engine's (since clear) */
	unsigned int rebalance_interval_s; /**< automatic rebalance period, 0: none */
	uint32_t idle_sleep_us;            /**< --idle-sleep, 0: the lcores always poll */
};

/** Snapshot of the forwarding runtime. */
int vus_ops_fwd_get(struct vus_fwd_info *fi, char *err);

/** Zero the lcore and switch counters. */
int vus_ops_fwd_clear(char *err);

/** Select the engine; only while stopped (-EBUSY). */
int vus_ops_fwd_set_engine(const char *name, char *err);

/**
 * Start forwarding; with @p tx_first > 0, after that many bursts of
 * generated frames per polled queue (testpmd's "start tx_first"), and wait
 * (up to 2 s) until the lcores sent them. -EALREADY if running.
 */
int vus_ops_fwd_start(uint32_t tx_first, char *err);

/** Stop forwarding. -EALREADY if stopped. */
int vus_ops_fwd_stop(char *err);

/**
 * Place every unpinned RX queue afresh by measured load and move those that
 * change lcore (fwd_rebalance()), if that lowers the busiest lcore's load (or,
 * with no load, evens the queue counts). -ENOTSUP without forwarding lcores.
 */
int vus_ops_fwd_rebalance(struct fwd_rebalance_result *r, char *err);

/** Gain in the busiest lcore's load an automatic rebalance needs (percent). */
#define VUS_AUTO_REBALANCE_GAIN_PCT 25

/**
 * Control thread, every FWD_LOAD_INTERVAL_MS: close a load measurement
 * interval and, every rebalance_interval_s, rebalance if that lowers the
 * busiest lcore's load by more than VUS_AUTO_REBALANCE_GAIN_PCT percent.
 */
void vus_ops_fwd_tick(void);

/* --- forwarding table -------------------------------------------------------------------- */

/** The table, or one VLAN of it, sorted by VLAN then address. */
struct vus_fdb_dump {
	struct fdb_stats stats;
	uint32_t aging_s;
	unsigned int n;           /**< entries below */
	struct fdb_entry_info *e; /**< free with vus_ops_fdb_dump_free() */
};

/** Read the table (@p vlan < 0: every VLAN). */
int vus_ops_fdb_dump(int vlan, struct vus_fdb_dump *d, char *err);
void vus_ops_fdb_dump_free(struct vus_fdb_dump *d);

/** Add a static entry (VLAN 1..4094, existing port). */
int vus_ops_fdb_add(const struct rte_ether_addr *mac, uint16_t vlan, uint16_t port, char *err);

/** Remove an entry; with @p port >= 0 only if it is on that port. */
int vus_ops_fdb_del(const struct rte_ether_addr *mac, uint16_t vlan, int port, char *err);

/** Remove every learned entry. @return entries removed. */
int vus_ops_fdb_flush(char *err);

/** Set the aging time in seconds (0: never). */
int vus_ops_fdb_aging(uint32_t seconds, char *err);

#endif /* VUS_OPS_H */
