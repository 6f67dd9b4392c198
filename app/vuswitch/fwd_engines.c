/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "fwd.h"

static const struct fwd_engine *const engines[] = {
	&fwd_io_engine,
	&fwd_mac_engine,
	&fwd_macswap_engine,
};

const struct fwd_engine *
fwd_engine_find(const char *name)
{
	for (unsigned int i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

const char *
fwd_engine_names(void)
{
	return "io mac macswap";
}
