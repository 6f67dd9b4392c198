/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PORT_VHOST_H
#define PORT_VHOST_H

/**
 * @file
 * The vhost-user switch port: queue q receives from the guest's TX ring
 * 2q+1 and sends into its RX ring 2q, through lib/virtq.
 */

#include "vhost_ctrl.h"
#include "vus_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Create the switch port of vhost-user port @p vhost_id of @p ctrl.
 * @return NULL on failure.
 */
struct vus_port *port_vhost_create(struct vhost_ctrl *ctrl, unsigned int vhost_id,
				   uint16_t switch_id);

/** Per-ring datapath counters of queue @p q (rx: the guest TX ring). */
const struct virtq_stats *port_vhost_ring_stats(struct vus_port *p, uint16_t q, bool rx);

#ifdef __cplusplus
}
#endif

#endif
