/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vuswitch: EAL start-up, ports from the command line, the control thread.
 * Threads: the main lcore waits for a signal; the control thread (a DPDK
 * control thread, off the data cores) runs the vhost-user event loop;
 * datapath lcores report quiescent states to `qsbr` (doc/design.md).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "options.h"
#include "vhost_ctrl.h"
#include "vus_log.h"

static struct vhost_ctrl *g_ctrl;

static void
on_signal(int sig)
{
	(void)sig;
	if (g_ctrl != NULL)
		vhost_ctrl_stop(g_ctrl);
}

static void *
control_thread(void *arg)
{
	int ret = vhost_ctrl_run(arg);

	if (ret != 0)
		VUS_CTRL_LOG(ERR, "control loop failed: %s\n", strerror(-ret));
	return NULL;
}

static struct rte_rcu_qsbr *
qsbr_create(void)
{
	uint32_t n = RTE_MAX_LCORE;
	size_t sz = rte_rcu_qsbr_get_memsize(n);
	struct rte_rcu_qsbr *q = rte_zmalloc("vus_qsbr", sz, RTE_CACHE_LINE_SIZE);

	if (q != NULL && rte_rcu_qsbr_init(q, n) != 0) {
		rte_free(q);
		q = NULL;
	}
	return q;
}

int
main(int argc, char **argv)
{
	struct vus_options opts;
	struct rte_rcu_qsbr *qsbr;
	pthread_t tid;
	int ret, nargs;

	nargs = rte_eal_init(argc, argv);
	if (nargs < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argv[nargs] = argv[0];
	if (vus_options_parse(&opts, argc - nargs, argv + nargs) != 0) {
		rte_eal_cleanup();
		return 2;
	}
	qsbr = qsbr_create();
	g_ctrl = qsbr != NULL ? vhost_ctrl_create(qsbr, NULL, NULL) : NULL;
	if (g_ctrl == NULL) {
		fprintf(stderr, "cannot create the control plane\n");
		rte_eal_cleanup();
		return 1;
	}
	if (opts.defaults)
		VUS_CTRL_LOG(INFO, "no --vhost-user given: default ports in %s\n", VUS_DEFAULT_DIR);
	for (unsigned int i = 0; i < opts.nvhost; i++) {
		ret = vhost_ctrl_port_add(g_ctrl, &opts.vhost[i]);
		if (ret < 0) {
			fprintf(stderr, "cannot add vhost-user port %s: %s\n", opts.vhost[i].path,
				strerror(-ret));
			vhost_ctrl_destroy(g_ctrl);
			rte_eal_cleanup();
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = rte_ctrl_thread_create(&tid, "vus-ctrl", NULL, control_thread, g_ctrl);
	if (ret != 0) {
		fprintf(stderr, "cannot start the control thread: %s\n", strerror(-ret));
		return 1;
	}
	pthread_join(tid, NULL);
	VUS_CTRL_LOG(INFO, "shutting down\n");
	vhost_ctrl_destroy(g_ctrl);
	g_ctrl = NULL;
	rte_free(qsbr);
	rte_eal_cleanup();
	return 0;
}
