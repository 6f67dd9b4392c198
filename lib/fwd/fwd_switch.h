/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FWD_SWITCH_H
#define FWD_SWITCH_H

/**
 * @file
 * The L2 switch engine: learns (VLAN, source MAC) -> port, forwards by
 * (VLAN, destination MAC), floods unknown unicast, broadcast and multicast
 * to every other port of the VLAN, and pushes or pops 802.1Q tags per port
 * mode (access: untagged in VLAN N; trunk: tagged for an allowed list, with
 * an optional untagged native VLAN).
 *
 * Configuration (control thread) is published with RCU like everything the
 * lcores read: a new VLAN table is built aside, swapped in, and the old one
 * freed after a grace period.
 */

#include <stdbool.h>
#include <stdint.h>

#include "fdb.h"
#include "fwd.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fwd_switch;
struct rte_mempool;
struct rte_rcu_qsbr;

/** Port VLAN modes. */
enum fwd_vlan_mode {
	FWD_VLAN_ACCESS = 0, /**< untagged frames, all in one VLAN */
	FWD_VLAN_TRUNK = 1,  /**< tagged frames of allowed VLANs (+ native untagged) */
};

/** VLAN configuration of one port. */
struct fwd_port_vlan {
	uint8_t mode;         /**< enum fwd_vlan_mode */
	uint16_t vlan;        /**< access VLAN (1..4094) */
	uint16_t native;      /**< trunk native VLAN, 0 = none (untagged dropped) */
	uint64_t allowed[64]; /**< trunk: bit v set = VLAN v allowed */
};

/** Default VLAN of every port: access VLAN 1. */
#define FWD_DEFAULT_VLAN 1

/**
 * Create the switch (its forwarding table uses @p fdb_params).
 * @param mp  pool for the copies flooding needs.
 */
struct fwd_switch *fwd_switch_create(const struct fdb_params *fdb_params, struct rte_rcu_qsbr *qsbr,
				     struct rte_mempool *mp);

/** Free the switch (lcores must no longer run its engine). */
void fwd_switch_destroy(struct fwd_switch *sw);

/** The switch's forwarding table. */
struct fdb *fwd_switch_fdb(struct fwd_switch *sw);

/** Set port @p port to access mode in @p vlan (1..4094). @return 0 or -errno. */
int fwd_switch_set_access(struct fwd_switch *sw, uint16_t port, uint16_t vlan);

/**
 * Set port @p port to trunk mode carrying the VLANs in @p allowed (bitmap of
 * 4096 bits), with @p native (0 = none) sent and received untagged.
 */
int fwd_switch_set_trunk(struct fwd_switch *sw, uint16_t port, const uint64_t allowed[64],
			 uint16_t native);

/**
 * Parse a VLAN list such as "10,20,30-40" into a 4096-bit map (cleared
 * first). VLANs must be 1..4094. @return 0, or -EINVAL (nothing usable).
 */
int fwd_vlan_list_parse(const char *s, uint64_t allowed[64]);

/** Read a port's VLAN configuration. */
void fwd_switch_get_vlan(const struct fwd_switch *sw, uint16_t port, struct fwd_port_vlan *out);

/** A port left the switch: forget its addresses and reset its VLAN mode. */
void fwd_switch_port_removed(struct fwd_switch *sw, uint16_t port);

/** Engine counters, summed over lcores. */
struct fwd_switch_stats {
	uint64_t unicast;        /**< sent to the one port the table named */
	uint64_t flooded;        /**< sent to every other port of the VLAN */
	uint64_t drop_vlan;      /**< VLAN not allowed on the input port */
	uint64_t drop_same_port; /**< destination is the input port */
	uint64_t drop_runt;      /**< shorter than an Ethernet header */
	uint64_t drop_nomem;     /**< a flood copy could not be made */
};

void fwd_switch_stats_get(const struct fwd_switch *sw, struct fwd_switch_stats *st);

/** The engine; its runtime's engine_ctx must be the struct fwd_switch. */
extern const struct fwd_engine fwd_switch_engine;

#ifdef __cplusplus
}
#endif

#endif /* FWD_SWITCH_H */
