/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_LOG_H
#define VUS_LOG_H

/**
 * @file
 * Log types of vuswitch. Control-path code logs through VUS_CTRL_LOG
 * (type "vus.ctrl", INFO by default). Datapath code never logs per packet:
 * it counts drops by named reason; the rare datapath event that must be
 * logged (a ring marked broken) goes through VUS_DATA_LOG, rate limited.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_log.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Log type ids, registered at start-up. */
extern int vus_logtype_ctrl;
extern int vus_logtype_data;

#define VUS_CTRL_LOG(level, ...) rte_log(RTE_LOG_##level, vus_logtype_ctrl, "VUS: " __VA_ARGS__)

#define VUS_DATA_LOG(level, ...) \
	rte_log(RTE_LOG_##level, vus_logtype_data, "VUS_DATA: " __VA_ARGS__)

/**
 * A token bucket for logs a peer or guest can trigger: at most @p burst
 * lines, refilled at one line per @p interval_ms. Not thread-safe: one per
 * thread or per port.
 */
struct vus_ratelimit {
	uint64_t interval_ms;
	uint32_t burst;
	uint32_t tokens;
	uint64_t last_ms;
	uint64_t suppressed; /**< lines dropped since the last one let through */
};

#define VUS_RATELIMIT_INIT(interval, b) \
	{ \
		.interval_ms = (interval), .burst = (b), .tokens = (b), .last_ms = 0, \
		.suppressed = 0 \
	}

/**
 * Take a token. @return true if the caller may log. rl->suppressed then
 * holds how many lines were dropped before this one (reset on read by the
 * caller if it reports it).
 */
bool vus_ratelimit_ok(struct vus_ratelimit *rl);

#ifdef __cplusplus
}
#endif

#endif /* VUS_LOG_H */
