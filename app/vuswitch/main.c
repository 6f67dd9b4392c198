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
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "fwd_lcore.h"
#include "options.h"
#include "port_vhost.h"
#include "vhost_ctrl.h"
#include "vus_log.h"

/* mbufs only carry packets between two copies: a small pool serves all. */
#define VUS_MBUFS 8191
#define VUS_MBUF_CACHE 256

static struct vhost_ctrl *g_ctrl;
static struct vus_port *g_ports[VUS_MAX_CLI_PORTS];
static unsigned int g_nports;

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

/* Switch ports over the vhost-user ports, and the forwarding lcores.
 * @return lcores started, 0 if none (control only), <0 on error. */
static int
start_forwarding(const struct vus_options *opts, struct rte_rcu_qsbr *qsbr)
{
	struct fwd_config cfg = { .engine = fwd_engine_find(opts->fwd), .qsbr = qsbr };
	int n;

	for (unsigned int i = 0; i < opts->nvhost; i++) {
		g_ports[i] = port_vhost_create(g_ctrl, i, (uint16_t)i);
		if (g_ports[i] == NULL) {
			VUS_CTRL_LOG(ERR, "cannot create switch port %u\n", i);
			return -1;
		}
		g_nports++;
	}
	cfg.ports = g_ports;
	cfg.nports = g_nports;
	cfg.mp = rte_pktmbuf_pool_create("vus_mbufs", VUS_MBUFS, VUS_MBUF_CACHE, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (cfg.mp == NULL) {
		VUS_CTRL_LOG(ERR, "cannot create the mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	n = fwd_start(&cfg);
	if (n == 0)
		VUS_CTRL_LOG(INFO, "no worker lcore: control plane only, no forwarding\n");
	else
		VUS_CTRL_LOG(INFO, "forwarding (%s) on %d lcore(s)\n", opts->fwd, n);
	return n;
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
	ret = start_forwarding(&opts, qsbr);
	pthread_join(tid, NULL);
	VUS_CTRL_LOG(INFO, "shutting down\n");
	if (ret > 0) {
		fwd_stop();
		fwd_print_stats();
	}
	for (unsigned int i = 0; i < g_nports; i++)
		vus_port_destroy(g_ports[i]);
	vhost_ctrl_destroy(g_ctrl);
	g_ctrl = NULL;
	rte_free(qsbr);
	rte_eal_cleanup();
	return 0;
}
