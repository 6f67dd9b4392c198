/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUSWITCH_OPTIONS_H
#define VUSWITCH_OPTIONS_H

#include <stdbool.h>

#include "vhost_ctrl.h"
#include "vus_ops.h"

#define VUS_MAX_CLI_PORTS 64

/** What the command line asks for (the part after EAL's "--"). */
struct vus_options {
	struct vhost_port_params vhost[VUS_MAX_CLI_PORTS];
	char vhost_paths[VUS_MAX_CLI_PORTS][108];
	unsigned int nvhost;
	bool defaults;       /**< no port given: the built-in default set */
	char fwd[16];        /**< forwarding engine name */
	uint16_t ethdev_rxq; /**< RX queues (RSS) per ethdev port */
	/** --vlan settings, applied once the ports exist. */
	struct vus_vlan_opt {
		uint16_t port;
		bool trunk;
		uint16_t vlan; /**< access VLAN, or trunk native (0: none) */
		uint64_t allowed[64];
	} vlans[VUS_MAX_CLI_PORTS];
	unsigned int nvlans;
	bool interactive;          /**< -i: the vuswitch> prompt on stdin */
	unsigned int stats_period; /**< --stats-period: seconds between stats lines, 0: none */
	const char *cmdline_file;  /**< --cmdline-file: commands to run at start */
	unsigned int rebalance_interval; /**< --rebalance-interval: seconds, 0: never */
	/** --rxq-lcore pins, in the order given; applied as their ports are added. */
	struct vus_rxq_pin rxq_pins[VUS_MAX_RXQ_PINS];
	unsigned int nrxq_pins;
	unsigned int idle_sleep_us; /**< --idle-sleep: fwd_params.idle_sleep_us */
};

/** Directory and ports of the built-in default. */
#define VUS_DEFAULT_DIR "/tmp/vuswitch"
#define VUS_DEFAULT_PORTS 2

/**
 * Parse application options. @return 0, or -1 after printing the problem
 * and the usage.
 */
int vus_options_parse(struct vus_options *o, int argc, char **argv);

/** Print usage to stderr. */
void vus_options_usage(const char *prog);

#endif
