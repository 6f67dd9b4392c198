/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_TESTS_UNIT_EAL_START_H
#define VUS_TESTS_UNIT_EAL_START_H

#include <string>
#include <vector>

/*
 * Start DPDK's EAL once for a unit test binary named @p name: no
 * hugepages (@p mem_mb of ordinary memory), no PCI, no shared config,
 * lcore 0, IOVA as VA, logs at error level, and a file prefix of the
 * binary's name and pid, so test binaries run in parallel never share a
 * runtime directory. @p extra comes last (e.g. a log level for a type).
 * @return rte_eal_init()'s result.
 */
int unit_eal_start(const std::string &name, unsigned mem_mb,
		   const std::vector<std::string> &extra = {});

#endif /* VUS_TESTS_UNIT_EAL_START_H */
