/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding lcores. Each stream, hence each rx queue, belongs to exactly
 * one lcore. An lcore loads ring confs only inside the port drivers' burst
 * calls and reports a quiescent state after every pass over its streams,
 * which is what lets the control thread swap confs and unmap memory.
 */
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "fwd_lcore.h"
#include "vus_log.h"

struct lcore_streams {
	struct fwd_stream *streams[FWD_MAX_STREAMS];
	unsigned int n;
};

static struct fwd_stream g_streams[FWD_MAX_STREAMS];
static unsigned int g_nstreams;
static struct lcore_streams g_lcores[RTE_MAX_LCORE];
static struct fwd_config g_cfg;
static atomic_bool g_stop;

static void
stream_poll(struct fwd_stream *fs, const struct fwd_engine *engine, struct rte_mempool *mp)
{
	struct rte_mbuf *pkts[FWD_BURST];
	uint16_t n = vus_port_rx(fs->rx_port, fs->rx_queue, mp, pkts, FWD_BURST), sent;

	if (n == 0)
		return;
	fs->rx_packets += n;
	if (engine->process != NULL)
		engine->process(fs, pkts, n);
	sent = vus_port_tx(fs->tx_port, fs->tx_queue, pkts, n);
	fs->tx_packets += sent;
	if (unlikely(sent < n)) {
		fs->tx_dropped += (uint16_t)(n - sent);
		rte_pktmbuf_free_bulk(&pkts[sent], (unsigned int)(n - sent));
	}
}

static int
lcore_loop(void *arg)
{
	struct lcore_streams *ls = arg;
	unsigned int id = rte_lcore_id();
	const struct fwd_engine *engine = g_cfg.engine;

	rte_rcu_qsbr_thread_register(g_cfg.qsbr, id);
	rte_rcu_qsbr_thread_online(g_cfg.qsbr, id);
	while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		for (unsigned int i = 0; i < ls->n; i++)
			stream_poll(ls->streams[i], engine, g_cfg.mp);
		rte_rcu_qsbr_quiescent(g_cfg.qsbr, id);
	}
	rte_rcu_qsbr_thread_offline(g_cfg.qsbr, id);
	rte_rcu_qsbr_thread_unregister(g_cfg.qsbr, id);
	return 0;
}

static void
build_streams(const struct fwd_config *cfg)
{
	g_nstreams = 0;
	for (unsigned int p = 0; p < cfg->nports; p++) {
		unsigned int peer = (p ^ 1) < cfg->nports ? (p ^ 1) : p;
		struct vus_port *rx = cfg->ports[p], *tx = cfg->ports[peer];

		for (uint16_t q = 0; q < rx->nb_queues && q < tx->nb_queues; q++) {
			struct fwd_stream *fs;

			if (g_nstreams == FWD_MAX_STREAMS)
				return;
			fs = &g_streams[g_nstreams++];
			*fs = (struct fwd_stream){ .rx_port = rx, .tx_port = tx, .rx_queue = q,
						   .tx_queue = q };
			/* testpmd's default peer addresses: 02:00:00:00:00:<port> */
			fs->peer_mac = (struct rte_ether_addr){ { 0x02, 0, 0, 0, 0,
								  (uint8_t)peer } };
		}
	}
}

int
fwd_start(const struct fwd_config *cfg)
{
	unsigned int lcore, nworkers = 0, i = 0;

	g_cfg = *cfg;
	atomic_store(&g_stop, false);
	build_streams(cfg);
	RTE_LCORE_FOREACH_WORKER(lcore)
		g_lcores[lcore].n = 0, nworkers++;
	if (nworkers == 0)
		return 0;
	/* Round robin: every stream, hence every rx queue, on exactly one lcore. */
	while (i < g_nstreams) {
		RTE_LCORE_FOREACH_WORKER(lcore) {
			if (i == g_nstreams)
				break;
			g_lcores[lcore].streams[g_lcores[lcore].n++] = &g_streams[i++];
		}
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		VUS_CTRL_LOG(INFO, "lcore %u forwards %u stream(s) (%s)\n", lcore,
			     g_lcores[lcore].n, cfg->engine->name);
		rte_eal_remote_launch(lcore_loop, &g_lcores[lcore], lcore);
	}
	return (int)nworkers;
}

void
fwd_stop(void)
{
	atomic_store(&g_stop, true);
	rte_eal_mp_wait_lcore();
}

void
fwd_print_stats(void)
{
	for (unsigned int i = 0; i < g_nstreams; i++) {
		struct fwd_stream *fs = &g_streams[i];

		printf("stream %s q%u -> %s q%u: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64
		       "\n", fs->rx_port->name, fs->rx_queue, fs->tx_port->name, fs->tx_queue,
		       fs->rx_packets, fs->tx_packets, fs->tx_dropped);
	}
}
