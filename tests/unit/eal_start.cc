/* SPDX-License-Identifier: BSD-3-Clause */
#include "eal_start.h"

#include <unistd.h>

#include <rte_eal.h>

int
unit_eal_start(const std::string &name, unsigned mem_mb, const std::vector<std::string> &extra)
{
	std::vector<std::string> args = { name,
					  "--no-huge",
					  "-m",
					  std::to_string(mem_mb),
					  "--no-pci",
					  "--no-shconf",
					  "-l",
					  "0",
					  "--file-prefix",
					  "vus-" + name + "-" + std::to_string(getpid()),
					  "--log-level=*:error",
					  "--iova-mode=va" };
	std::vector<char *> argv;

	args.insert(args.end(), extra.begin(), extra.end());
	for (auto &a : args)
		argv.push_back(&a[0]);
	return rte_eal_init((int)argv.size(), argv.data());
}
