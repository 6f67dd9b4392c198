/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vuswitch: EAL start-up, ports, threads. See doc/design.md.
 *
 * Threads: the main lcore runs the fronts (the command file, then the
 * interactive CLI or the --stats-period lines) until `quit`, the end of
 * its input or a signal; DPDK's telemetry threads serve /vuswitch/...
 * commands; the control thread (a DPDK control thread, off the data cores)
 * runs the event loop that serves the vhost-user sockets, the forwarding
 * table's maintenance, the RX queue load measurement and automatic
 * rebalance, and every operation the fronts ask for (vus_ops.h);
 * the worker lcores forward (lib/fwd) and report quiescent states to `qsbr`.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "cli.h"
#include "evloop.h"
#include "fwd.h"
#include "fwd_switch.h"
#include "options.h"
#include "port_ethdev.h"
#include "port_vhost.h"
#include "telemetry.h"
#include "vhost_ctrl.h"
#include "virtq.h"
#include "vus_log.h"
#include "vus_ops.h"

/*
 * Forwarding table maintenance (learning, aging): at once when the table's
 * learn doorbell rings (fdb_learn_fd(): the first requests queued into an
 * empty ring), and by timer: every FDB_PERIOD_MS while new addresses and
 * moves come in; after a pass that changed nothing the period doubles up to
 * FDB_IDLE_PERIOD_MS. The control thread shares a CPU with a forwarding
 * lcore when there is no spare one (the benchmarks' two cores), and each
 * wake-up preempts that lcore: a switch whose table is learnt costs ten
 * wake-ups a second instead of a hundred. The timer is the fallback for a
 * request that slipped past the doorbell (queued while a drain was ending,
 * or within FDB_DOORBELL_GAP_MS of the last ring, the floor that keeps a
 * guest from turning the doorbell into a system call per pass):
 * it waits at most FDB_IDLE_PERIOD_MS, which the learn ring
 * (FDB_DEFAULT_LEARN_RING requests) holds.
 * Engines other than the switch never learn: once a second (aging's
 * granularity) is enough then, and the first pass after a change to the
 * switch engine comes within that second.
 */
#define FDB_PERIOD_MS 10u
#define FDB_IDLE_PERIOD_MS 100u
#define FDB_NO_SWITCH_PERIOD_MS 1000u

struct vus_app {
	struct vus_options opts;
	struct rte_rcu_qsbr *qsbr;
	struct rte_mempool *mp;
	struct vhost_ctrl *ctrl;
	struct fwd_switch *sw;
	struct fwd_runtime *rt;
	struct evloop_timer *fdb_timer;
	struct evloop_watch *fdb_doorbell;
	unsigned int fdb_period_ms;
	struct evloop_timer *load_timer;
};

static struct vus_app g_app;
/* Set by SIGINT/SIGTERM. The handler also writes a byte to g_wake (the
 * self-pipe trick), so the main lcore, asleep in poll() on its read end,
 * wakes at once whichever thread the signal was delivered to. */
static volatile sig_atomic_t g_stop;
static int g_wake[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	g_stop = 1;
	if (g_wake[1] >= 0)
		(void)!write(g_wake[1], "", 1); /* fails only when bytes are waiting */
	errno = saved;
}

/* One table pass; a pass that changed something brings the timer back
 * to FDB_PERIOD_MS. @return whether it changed something. */
static bool
fdb_pass(struct vus_app *app)
{
	struct fdb *fdb = fwd_switch_fdb(app->sw);

	if (fdb_process(fdb, fdb_now_ms(fdb)) == 0)
		return false;
	app->fdb_period_ms = FDB_PERIOD_MS;
	return true;
}

static void
fdb_tick(void *arg)
{
	struct vus_app *app = arg;

	/* A pass that changed nothing: wait longer next time. */
	if (!fdb_pass(app)) {
		if (fwd_get_engine(app->rt) != &fwd_switch_engine)
			app->fdb_period_ms = FDB_NO_SWITCH_PERIOD_MS;
		else
			app->fdb_period_ms = RTE_MIN(2 * app->fdb_period_ms, FDB_IDLE_PERIOD_MS);
	}
	app->fdb_timer = evloop_timer_add(vhost_ctrl_loop(app->ctrl), app->fdb_period_ms, fdb_tick,
					  app);
}

/* The learn doorbell rang: learn now (fdb_process() resets it). */
static void
fdb_rung(void *arg, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	fdb_pass(arg);
}

/* RX queue loads, and the automatic rebalance: on the control thread, which
 * owns the assignment. */
static void
load_tick(void *arg)
{
	struct vus_app *app = arg;

	vus_ops_fwd_tick();
	app->load_timer = evloop_timer_add(vhost_ctrl_loop(app->ctrl), FWD_LOAD_INTERVAL_MS,
					   load_tick, app);
}

static void *
control_thread(void *arg)
{
	struct vus_app *app = arg;
	struct evloop *loop = vhost_ctrl_loop(app->ctrl);
	int ret;

	app->fdb_period_ms = FDB_PERIOD_MS;
	app->fdb_timer = evloop_timer_add(loop, FDB_PERIOD_MS, fdb_tick, app);
	if (fdb_learn_fd(fwd_switch_fdb(app->sw)) >= 0)
		app->fdb_doorbell = evloop_watch_add(loop, fdb_learn_fd(fwd_switch_fdb(app->sw)),
						     EPOLLIN, fdb_rung, app);
	/* The first tick starts the first measurement interval. */
	vus_ops_fwd_tick();
	app->load_timer = evloop_timer_add(loop, FWD_LOAD_INTERVAL_MS, load_tick, app);
	ret = vhost_ctrl_run(app->ctrl);
	if (ret != 0)
		VUS_CTRL_LOG(ERR, "control loop failed: %s\n", strerror(-ret));
	evloop_watch_del(app->fdb_doorbell);
	evloop_timer_del(app->fdb_timer);
	evloop_timer_del(app->load_timer);
	return NULL;
}

static struct rte_rcu_qsbr *
qsbr_create(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	struct rte_rcu_qsbr *q = rte_zmalloc("vus_qsbr", sz, RTE_CACHE_LINE_SIZE);

	if (q != NULL && rte_rcu_qsbr_init(q, RTE_MAX_LCORE) != 0) {
		rte_free(q);
		q = NULL;
	}
	return q;
}

/* mbufs: RX rings of every ethdev queue, TX rings, per-lcore caches and
 * what is in flight between two copies. */
static struct rte_mempool *
mempool_create(const struct vus_options *o)
{
	unsigned int n = 8192, neth = rte_eth_dev_count_avail();
	unsigned int nl = rte_lcore_count();

	n += neth * (o->ethdev_rxq + nl) * 1024u + nl * 512u;
	return rte_pktmbuf_pool_create("vus_mbufs", n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
}

static int
add_ports(struct vus_app *app)
{
	char err[VUS_ERR_LEN];
	uint16_t eth;

	/* Through the operations layer, so the fronts know every port. */
	for (unsigned int i = 0; i < app->opts.nvhost; i++) {
		const struct vhost_port_params *vp = &app->opts.vhost[i];

		if (vus_ops_port_add_vhost(vp->path, vp->client, vp->queue_pairs, err) < 0) {
			fprintf(stderr, "cannot add vhost-user port %s: %s\n", vp->path, err);
			return -1;
		}
	}
	/* Every probed ethdev is a switch port, as in testpmd. */
	RTE_ETH_FOREACH_DEV (eth) {
		if (vus_ops_port_attach_ethdev(eth, err) < 0) {
			fprintf(stderr, "%s\n", err);
			return -EIO;
		}
	}
	return 0;
}

static int
print_fdb_entry(const struct fdb_entry_info *e, void *arg)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	(void)arg;
	rte_ether_format_addr(mac, sizeof(mac), &e->mac);
	printf("fdb: vlan %u %s port %u %s age %us\n", e->vlan, mac, e->port,
	       e->is_static ? "static" : "learned", e->age_s);
	return 0;
}

static void
print_ring(const char *dir, uint16_t q, const struct virtq_stats *vs)
{
	printf("  queue %u %s: packets %" PRIu64 " bytes %" PRIu64, q, dir, vs->packets, vs->bytes);
	for (unsigned int r = 0; r < VIRTQ_DROP_MAX; r++)
		if (vs->drops[r] != 0)
			printf(" %s %" PRIu64, virtq_drop_name(r), vs->drops[r]);
	printf("\n");
}

static bool
ring_active(const struct virtq_stats *vs)
{
	if (vs->packets != 0)
		return true;
	for (unsigned int r = 0; r < VIRTQ_DROP_MAX; r++)
		if (vs->drops[r] != 0)
			return true;
	return false;
}

/* Per-queue counters: which queues carried traffic, and why drops happened. */
static void
print_vhost_queues(struct vus_port *p)
{
	for (uint16_t q = 0; q < p->nb_queues; q++) {
		const struct virtq_stats *rx = port_vhost_ring_stats(p, q, true);
		const struct virtq_stats *tx = port_vhost_ring_stats(p, q, false);

		if (!ring_active(rx) && !ring_active(tx))
			continue;
		print_ring("rx", q, rx);
		print_ring("tx", q, tx);
	}
}

static void
print_stats(struct vus_app *app)
{
	const struct fwd_ports *ports = fwd_ports_get(app->rt);
	struct fwd_switch_stats ss;
	struct fdb_stats fs;

	for (uint16_t i = 0; ports != NULL && i < ports->n; i++) {
		struct vus_port *p = ports->by_id[ports->list[i]];
		struct vus_port_stats st;

		p->ops->stats_get(p, &st);
		printf("port %u %s: rx-packets %" PRIu64 " rx-bytes %" PRIu64 " rx-dropped %" PRIu64
		       " tx-packets %" PRIu64 " tx-bytes %" PRIu64 " tx-dropped %" PRIu64 "\n",
		       p->id, p->name, st.rx_packets, st.rx_bytes, st.rx_dropped, st.tx_packets,
		       st.tx_bytes, st.tx_dropped);
		if (strcmp(p->ops->kind, "vhost-user") == 0)
			print_vhost_queues(p);
	}
	fdb_iterate(fwd_switch_fdb(app->sw), print_fdb_entry, NULL);
	fdb_stats_get(fwd_switch_fdb(app->sw), &fs);
	printf("fdb-stats: lookups %" PRIu64 " missed %" PRIu64 " cache-hits %" PRIu64
	       " learn-requests %" PRIu64 " learn-cache-hits %" PRIu64 "\n",
	       fs.lookups, fs.lookup_misses, fs.cache_hits, fs.learn_requests, fs.learn_cache_hits);
	fwd_switch_stats_get(app->sw, &ss);
	printf("switch: unicast %" PRIu64 " flooded %" PRIu64 " drop-vlan %" PRIu64
	       " drop-same-port %" PRIu64 "\n",
	       ss.unicast, ss.flooded, ss.drop_vlan, ss.drop_same_port);
	fflush(stdout);
}

static int
apply_vlans(struct vus_app *app)
{
	const struct fwd_ports *ports = fwd_ports_get(app->rt);

	for (unsigned int i = 0; i < app->opts.nvlans; i++) {
		const struct vus_vlan_opt *v = &app->opts.vlans[i];
		int ret;

		if (ports == NULL || v->port >= FWD_MAX_PORTS || ports->by_id[v->port] == NULL) {
			fprintf(stderr, "--vlan: no port %u\n", v->port);
			return -1;
		}
		ret = v->trunk ? fwd_switch_set_trunk(app->sw, v->port, v->allowed, v->vlan)
			       : fwd_switch_set_access(app->sw, v->port, v->vlan);
		if (ret != 0)
			return ret;
		VUS_CTRL_LOG(INFO, "port %u: %s VLAN %u\n", v->port,
			     v->trunk ? "trunk, native" : "access", v->vlan);
	}
	return 0;
}

/* --rxq-lcore pins of ports that do not exist yet wait for them: say so. */
static void
note_rxq_pins(struct vus_app *app)
{
	const struct fwd_ports *ports = fwd_ports_get(app->rt);

	for (unsigned int i = 0; i < app->opts.nrxq_pins; i++) {
		const struct vus_rxq_pin *pin = &app->opts.rxq_pins[i];

		if (ports != NULL && ports->by_id[pin->port] != NULL)
			continue;
		VUS_CTRL_LOG(INFO,
			     "--rxq-lcore %u:%u:%u: no port %u yet (applied if one is added)\n",
			     pin->port, pin->queue, pin->lcore_id, pin->port);
	}
}

static int
setup(struct vus_app *app)
{
	struct fdb_params fp;
	struct fwd_params rp = { 0 };
	struct vus_ops_params ops;
	char err[VUS_ERR_LEN];

	app->qsbr = qsbr_create();
	app->mp = mempool_create(&app->opts);
	if (app->qsbr == NULL || app->mp == NULL) {
		fprintf(stderr, "cannot allocate: %s\n", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	app->ctrl = vhost_ctrl_create(app->qsbr, NULL, NULL);
	memset(&fp, 0, sizeof(fp));
	fp.qsbr = app->qsbr;
	app->sw = fwd_switch_create(&fp, app->qsbr, app->mp);
	rp.qsbr = app->qsbr;
	rp.mp = app->mp;
	rp.engine = fwd_engine_find(app->opts.fwd);
	rp.engine_ctx = app->sw;
	rp.idle_sleep_us = app->opts.idle_sleep_us;
	app->rt = app->ctrl != NULL && app->sw != NULL ? fwd_create(&rp) : NULL;
	if (app->rt == NULL) {
		fprintf(stderr, "cannot create the control plane or the switch\n");
		return -ENOMEM;
	}
	if (fwd_nb_lcores(app->rt) == 0)
		VUS_CTRL_LOG(INFO, "no worker lcore: control plane only, no forwarding\n");
	ops.ctrl = app->ctrl;
	ops.rt = app->rt;
	ops.sw = app->sw;
	ops.mp = app->mp;
	ops.ethdev_rxq = app->opts.ethdev_rxq;
	ops.rebalance_interval_s = app->opts.rebalance_interval;
	ops.rxq_pins = app->opts.rxq_pins;
	ops.nb_rxq_pins = app->opts.nrxq_pins;
	if (vus_ops_init(&ops, err) != 0) {
		fprintf(stderr, "--rxq-lcore: %s\n", err);
		return -EINVAL;
	}
	if (add_ports(app) != 0)
		return -1;
	note_rxq_pins(app);
	return apply_vlans(app);
}

/* No SA_RESTART: a blocking read in a front returns on the signal. */
static void
signals_install(void)
{
	struct sigaction sa;

	/* Without the pipe, wait_stop() falls back to looking every 200 ms. */
	if (pipe2(g_wake, O_NONBLOCK | O_CLOEXEC) != 0)
		g_wake[0] = g_wake[1] = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Without -i: sleep until a signal, printing the stats line every period_s
 * seconds if asked to. No periodic wake-up otherwise: this thread runs on
 * the main lcore's CPU, which a forwarding lcore may share.
 */
static void
wait_stop(unsigned int period_s)
{
	uint64_t next = monotonic_ms() + (uint64_t)period_s * 1000;

	while (!g_stop) {
		struct pollfd pfd = { .fd = g_wake[0], .events = POLLIN };
		uint64_t now = monotonic_ms();
		int timeout = -1;
		char buf[16];

		if (period_s != 0)
			timeout = next > now ? (int)RTE_MIN(next - now, (uint64_t)INT32_MAX) : 0;
		if (g_wake[0] < 0 && (timeout < 0 || timeout > 200))
			timeout = 200;
		/* Drain the pipe; g_stop says why we woke. */
		if (poll(&pfd, g_wake[0] >= 0 ? 1 : 0, timeout) > 0)
			(void)!read(g_wake[0], buf, sizeof(buf));
		if (!g_stop && period_s != 0 && monotonic_ms() >= next) {
			cli_stats_line();
			next += (uint64_t)period_s * 1000;
		}
	}
}

/*
 * The main lcore's work once everything runs: the command file, then the
 * prompt or the wait for a signal. Returns when vuswitch should stop.
 */
static void
run_fronts(struct vus_app *app)
{
	const struct vus_options *o = &app->opts;
	bool cli = o->interactive || o->cmdline_file != NULL;

	if (vus_telemetry_register() != 0)
		VUS_CTRL_LOG(WARNING, "some telemetry commands are not available\n");
	if (cli && cli_init() != 0) {
		fprintf(stderr, "cannot create the command line\n");
		return;
	}
	if (o->cmdline_file != NULL)
		cli_run_file(o->cmdline_file);
	if (o->interactive && !cli_quit_requested())
		cli_run(&g_stop);
	else if (!cli_quit_requested())
		wait_stop(o->stats_period);
	if (cli)
		cli_fini();
}

int
main(int argc, char **argv)
{
	struct vus_app *app = &g_app;
	static struct fwd_ports ports;
	pthread_t tid;
	int ret, nargs;

	nargs = rte_eal_init(argc, argv);
	if (nargs < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argv[nargs] = argv[0];
	if (vus_options_parse(&app->opts, argc - nargs, argv + nargs) != 0) {
		rte_eal_cleanup();
		return 2;
	}
	/* Command output on stdout, logs on stderr: scripts can tell them apart. */
	if (app->opts.interactive || app->opts.cmdline_file != NULL || app->opts.stats_period != 0)
		rte_openlog_stream(stderr);
	if (app->opts.defaults)
		VUS_CTRL_LOG(INFO, "no --vhost-user given: default ports in %s\n", VUS_DEFAULT_DIR);
	if (setup(app) != 0) {
		rte_eal_cleanup();
		return 1;
	}
	signals_install();
	fwd_launch(app->rt);
	fwd_set_running(app->rt, true);
	VUS_CTRL_LOG(INFO, "forwarding (%s) on %u lcore(s)\n", app->opts.fwd,
		     fwd_nb_lcores(app->rt));
	if (app->opts.rebalance_interval != 0)
		VUS_CTRL_LOG(INFO, "automatic rebalance every %u s\n",
			     app->opts.rebalance_interval);
	ret = rte_ctrl_thread_create(&tid, "vus-ctrl", NULL, control_thread, app);
	if (ret != 0) {
		fprintf(stderr, "cannot start the control thread: %s\n", strerror(-ret));
		return 1;
	}
	run_fronts(app);
	/* No front reaches into the switch from here on. */
	vus_ops_shutdown();
	vhost_ctrl_stop(app->ctrl);
	pthread_join(tid, NULL);
	VUS_CTRL_LOG(INFO, "shutting down\n");
	fwd_set_running(app->rt, false);
	print_stats(app);
	ports = *fwd_ports_get(app->rt);
	fwd_destroy(app->rt);
	for (uint16_t i = 0; i < ports.n; i++)
		vus_port_destroy(ports.by_id[ports.list[i]]);
	vus_ops_fini();
	vhost_ctrl_destroy(app->ctrl);
	fwd_switch_destroy(app->sw);
	rte_eal_cleanup();
	return 0;
}
