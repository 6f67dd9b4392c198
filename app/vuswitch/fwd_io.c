/* SPDX-License-Identifier: BSD-3-Clause */
#include "fwd.h"

/* io: packets leave as they came (testpmd's io). */
const struct fwd_engine fwd_io_engine = {
	.name = "io",
	.process = NULL,
};
