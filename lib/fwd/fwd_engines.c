/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "fwd.h"
#include "fwd_switch.h"

/* Every engine, in the order `--fwd` and `set fwd` list them. */
static const struct fwd_engine *const engines[] = {
	&fwd_switch_engine,  /* L2 learning switch with VLANs */
	&fwd_io_engine,      /* to the peer port, unchanged */
	&fwd_mac_engine,     /* to the peer, MAC addresses rewritten */
	&fwd_macswap_engine, /* to the peer, MAC addresses swapped */
	&fwd_rxonly_engine,  /* received and freed */
	&fwd_txonly_engine,  /* generated frames out, received ones freed */
};

const struct fwd_engine *
fwd_engine_find(const char *name)
{
	for (unsigned int i = 0; i < RTE_DIM(engines); i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

const char *
fwd_engine_names(void)
{
	return "switch io mac macswap rxonly txonly";
}
