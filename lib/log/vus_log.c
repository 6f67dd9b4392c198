/* SPDX-License-Identifier: BSD-3-Clause */
#include <time.h>

#include "vus_log.h"

RTE_LOG_REGISTER(vus_logtype_ctrl, vus.ctrl, INFO);
RTE_LOG_REGISTER(vus_logtype_data, vus.data, WARNING);

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool
vus_ratelimit_ok(struct vus_ratelimit *rl)
{
	uint64_t now = now_ms();

	if (rl->last_ms == 0)
		rl->last_ms = now;
	if (rl->interval_ms != 0 && now - rl->last_ms >= rl->interval_ms) {
		uint64_t refill = (now - rl->last_ms) / rl->interval_ms;

		rl->tokens = refill >= rl->burst ? rl->burst : rl->tokens + (uint32_t)refill;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last_ms = now;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens--;
	return true;
}
