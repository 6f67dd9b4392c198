/* SPDX-License-Identifier: BSD-3-Clause */
#include <stddef.h>

#include "vus_port.h"

void
vus_port_destroy(struct vus_port *p)
{
	if (p != NULL)
		p->ops->destroy(p);
}
