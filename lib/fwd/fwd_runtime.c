/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding runtime: lcore loops, the port table, and the plans that
 * say which lcore polls which RX queue. Threading rules are in fwd.h. The
 * control-thread functions here are not thread-safe among themselves: call
 * them from the control thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "fwd_priv.h"
#include "vus_log.h"

/* One tx_first round: a burst of generated frames to every queue of the plan. */
static void
tx_first_once(struct fwd_lcore *lc, const struct fwd_plan *plan, const struct fwd_ports *ports)
{
	for (uint16_t i = 0; plan != NULL && i < plan->n; i++) {
		struct rte_mbuf *pkts[FWD_BURST];
		struct vus_port *out = plan->polls[i].port;

		fwd_send(lc, out, pkts, fwd_txonly_build(lc, ports, out, pkts, FWD_BURST));
	}
	atomic_fetch_sub_explicit(&lc->tx_first, 1, memory_order_release);
}

/* @return false if the loop found nothing to do. */
static bool
loop_once(struct fwd_lcore *lc, const struct fwd_engine *engine)
{
	const struct fwd_plan *plan = atomic_load_explicit(&lc->plan, memory_order_acquire);
	const struct fwd_ports *ports;
	struct fwd_runtime *rt = lc->rt;
	bool busy = false;
	uint64_t t;

	ports = atomic_load_explicit(&rt->ports, memory_order_acquire);
	if (unlikely(atomic_load_explicit(&lc->tx_first, memory_order_relaxed) != 0)) {
		tx_first_once(lc, plan, ports);
		busy = plan != NULL && plan->n != 0;
	}
	if (plan == NULL)
		return false;
	/*
	 * A poll that returns packets is charged the cycles since the previous
	 * one that did (or since here): one rte_rdtsc() per busy poll and none
	 * per empty one, since timing an empty poll would about double its
	 * cost. The empty polls in between, tens of cycles each, are charged
	 * with it.
	 */
	t = rte_rdtsc();
	for (uint16_t i = 0; i < plan->n; i++) {
		struct rte_mbuf *pkts[FWD_BURST];
		struct vus_port *in = plan->polls[i].port;
		uint64_t now;
		uint16_t n;

		if (engine->poll != NULL)
			engine->poll(lc, ports, in, plan->polls[i].queue);
		/* Frames other lcores handed over for this queue's TX side. */
		if (unlikely(vus_port_drain(in, plan->polls[i].queue) != 0))
			busy = true;
		n = vus_port_rx(in, plan->polls[i].queue, rt->params.mp, pkts, FWD_BURST);
		if (n == 0)
			continue;
		busy = true;
		lc->stats.rx_packets += n;
		engine->burst(lc, ports, in, pkts, n);
		now = rte_rdtsc();
		fwd_load_add(plan->polls[i].load, now - t);
		t = now;
	}
	lc->stats.busy_loops += busy;
	/* An engine that makes its own traffic (txonly) is never idle while
	 * it has queues to send on. */
	return busy || (engine->poll != NULL && plan->n != 0);
}

/*
 * Idle for FWD_IDLE_STREAK loops: give the CPU away for a while (the caller
 * checked idle_sleep_us). Offline meanwhile, so a grace period does not wait
 * for the sleep. A system call, on the idle path only.
 */
static void
idle_sleep(struct fwd_lcore *lc, struct rte_rcu_qsbr *qs, uint32_t us)
{
	rte_rcu_qsbr_thread_offline(qs, lc->lcore_id);
	rte_delay_us_sleep(us);
	rte_rcu_qsbr_thread_online(qs, lc->lcore_id);
	lc->stats.idle_sleeps++;
}

static int
fwd_lcore_main(void *arg)
{
	struct fwd_lcore *lc = arg;
	struct fwd_runtime *rt = lc->rt;
	struct rte_rcu_qsbr *qs = rt->params.qsbr;
	const uint32_t sleep_us = rt->params.idle_sleep_us;
	unsigned int idle = 0;

	rte_rcu_qsbr_thread_register(qs, lc->lcore_id);
	rte_rcu_qsbr_thread_online(qs, lc->lcore_id);
	while (!atomic_load_explicit(&rt->quit, memory_order_relaxed)) {
		bool busy = false;

		/* Acquire: tx_first counters set before the start are seen. */
		if (likely(atomic_load_explicit(&rt->running, memory_order_acquire)))
			busy = loop_once(lc,
					 atomic_load_explicit(&rt->engine, memory_order_relaxed));
		lc->stats.loops++;
		rte_rcu_qsbr_quiescent(qs, lc->lcore_id);
		if (sleep_us != 0) {
			idle = busy ? 0 : idle + 1;
			if (unlikely(idle == FWD_IDLE_STREAK)) {
				idle = 0;
				idle_sleep(lc, qs, sleep_us);
			}
		}
	}
	rte_rcu_qsbr_thread_offline(qs, lc->lcore_id);
	rte_rcu_qsbr_thread_unregister(qs, lc->lcore_id);
	return 0;
}

void
fwd_send(struct fwd_lcore *lc, struct vus_port *out, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	if (n == 0)
		return;
	sent = vus_port_tx(out, lc->txq, pkts, n);
	lc->stats.tx_packets += sent;
	if (unlikely(sent < n)) {
		lc->stats.tx_dropped += (uint16_t)(n - sent);
		rte_pktmbuf_free_bulk(&pkts[sent], (unsigned int)(n - sent));
	}
}

struct vus_port *
fwd_peer(const struct fwd_ports *ports, uint16_t id)
{
	uint16_t peer = id ^ 1;

	if (peer < FWD_MAX_PORTS && ports->by_id[peer] != NULL)
		return ports->by_id[peer];
	return ports->by_id[id];
}

struct fwd_runtime *
fwd_create(const struct fwd_params *params)
{
	struct fwd_runtime *rt;
	unsigned int lcore;

	if (params->idle_sleep_us > FWD_IDLE_SLEEP_MAX_US) {
		rte_errno = EINVAL;
		return NULL;
	}
	rt = rte_zmalloc("fwd_runtime", sizeof(*rt), RTE_CACHE_LINE_SIZE);
	if (rt == NULL)
		return NULL;
	rt->params = *params;
	atomic_init(&rt->engine, params->engine);
	memset(rt->owner, 0xff, sizeof(rt->owner));
	memset(rt->pin, 0xff, sizeof(rt->pin));
	RTE_LCORE_FOREACH_WORKER (lcore) {
		struct fwd_lcore *lc;

		if (rt->nb_lcores == FWD_MAX_LCORES)
			break;
		lc = &rt->lcores[rt->nb_lcores];
		lc->rt = rt;
		lc->lcore_id = lcore;
		lc->txq = (uint16_t)rt->nb_lcores;
		rt->nb_lcores++;
	}
	return rt;
}

uint32_t
fwd_idle_sleep_us(const struct fwd_runtime *rt)
{
	return rt->params.idle_sleep_us;
}

unsigned int
fwd_nb_lcores(const struct fwd_runtime *rt)
{
	return rt->nb_lcores;
}

struct fwd_lcore *
fwd_lcore_get(struct fwd_runtime *rt, unsigned int i)
{
	return i < rt->nb_lcores ? &rt->lcores[i] : NULL;
}

int
fwd_launch(struct fwd_runtime *rt)
{
	for (unsigned int i = 0; i < rt->nb_lcores; i++) {
		int ret = rte_eal_remote_launch(fwd_lcore_main, &rt->lcores[i],
						rt->lcores[i].lcore_id);

		if (ret != 0)
			return ret;
	}
	return 0;
}

void
fwd_set_running(struct fwd_runtime *rt, bool running)
{
	atomic_store(&rt->running, running);
	/* After a stop, no lcore is inside a burst when this returns. */
	if (running)
		return;
	rte_rcu_qsbr_synchronize(rt->params.qsbr, RTE_QSBR_THRID_INVALID);
	/* tx_first bursts not sent by now are forgotten, as testpmd's. */
	for (unsigned int l = 0; l < rt->nb_lcores; l++)
		atomic_store(&rt->lcores[l].tx_first, 0);
}

bool
fwd_is_running(const struct fwd_runtime *rt)
{
	return atomic_load(&rt->running);
}

int
fwd_start_tx_first(struct fwd_runtime *rt, uint32_t bursts)
{
	if (fwd_is_running(rt))
		return -EBUSY;
	for (unsigned int l = 0; l < rt->nb_lcores; l++)
		atomic_store_explicit(&rt->lcores[l].tx_first, bursts, memory_order_relaxed);
	fwd_set_running(rt, true);
	return 0;
}

uint32_t
fwd_tx_first_pending(const struct fwd_runtime *rt)
{
	uint32_t n = 0;

	for (unsigned int l = 0; l < rt->nb_lcores; l++)
		n += atomic_load(&((struct fwd_runtime *)(uintptr_t)rt)->lcores[l].tx_first);
	return n;
}

struct rte_mempool *
fwd_mempool(const struct fwd_runtime *rt)
{
	return rt->params.mp;
}

int
fwd_set_engine(struct fwd_runtime *rt, const struct fwd_engine *engine)
{
	if (fwd_is_running(rt))
		return -EBUSY;
	atomic_store(&rt->engine, engine);
	return 0;
}

const struct fwd_engine *
fwd_get_engine(const struct fwd_runtime *rt)
{
	return atomic_load(&((struct fwd_runtime *)(uintptr_t)rt)->engine);
}

void *
fwd_engine_ctx(const struct fwd_runtime *rt)
{
	return rt->params.engine_ctx;
}

const struct fwd_ports *
fwd_ports_get(const struct fwd_runtime *rt)
{
	return atomic_load(&((struct fwd_runtime *)(uintptr_t)rt)->ports);
}

static void
build_plans(const struct fwd_runtime *rt, const struct fwd_ports *ports,
	    uint16_t own[FWD_MAX_PORTS][FWD_MAX_QUEUES], struct fwd_plan **plans)
{
	for (unsigned int l = 0; l < rt->nb_lcores; l++)
		plans[l]->n = 0;
	for (uint16_t i = 0; i < ports->n; i++) {
		uint16_t id = ports->list[i];
		struct vus_port *p = ports->by_id[id];

		for (uint16_t q = 0; q < p->nb_queues && q < FWD_MAX_QUEUES; q++) {
			struct fwd_plan *pl;

			if (own[id][q] >= rt->nb_lcores)
				continue;
			pl = plans[own[id][q]];
			if (pl->n == FWD_MAX_POLLS)
				continue;
			pl->polls[pl->n].port = p;
			pl->polls[pl->n].queue = q;
			pl->polls[pl->n].load = fwd_load_rxq(&rt->load, id, q);
			pl->n++;
		}
	}
}

/* Publish plans built from @p own; free the old ones after a grace period. */
static int
publish_plans(struct fwd_runtime *rt, const struct fwd_ports *ports,
	      uint16_t own[FWD_MAX_PORTS][FWD_MAX_QUEUES])
{
	struct fwd_plan *plans[FWD_MAX_LCORES];
	const struct fwd_plan *old[FWD_MAX_LCORES];

	for (unsigned int l = 0; l < rt->nb_lcores; l++) {
		plans[l] = rte_zmalloc("fwd_plan", sizeof(struct fwd_plan), RTE_CACHE_LINE_SIZE);
		if (plans[l] == NULL) {
			while (l-- > 0)
				rte_free(plans[l]);
			return -ENOMEM;
		}
	}
	build_plans(rt, ports, own, plans);
	for (unsigned int l = 0; l < rt->nb_lcores; l++)
		old[l] = atomic_exchange(&rt->lcores[l].plan, plans[l]);
	rte_rcu_qsbr_synchronize(rt->params.qsbr, RTE_QSBR_THRID_INVALID);
	for (unsigned int l = 0; l < rt->nb_lcores; l++)
		rte_free((void *)(uintptr_t)old[l]);
	return 0;
}

static void
tell_owner(const struct fwd_runtime *rt, struct vus_port *p, uint16_t q, uint16_t owner)
{
	uint16_t txq = UINT16_MAX;

	if (owner < rt->nb_lcores && owner < FWD_MAX_LCORES)
		txq = rt->lcores[owner].txq;
	if (p->ops->queue_owner != NULL)
		p->ops->queue_owner(p, q, txq);
}

/*
 * Move to the assignment @p want in two steps, each followed by a grace
 * period: first every queue changing hands leaves its old lcore, then it
 * joins its new one. In between nobody polls it.
 */
int
fwd_move(struct fwd_runtime *rt, const struct fwd_ports *ports,
	 uint16_t want[FWD_MAX_PORTS][FWD_MAX_QUEUES])
{
	static uint16_t mid[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	int ret;

	memcpy(mid, rt->owner, sizeof(mid));
	for (uint16_t i = 0; i < ports->n; i++) {
		uint16_t id = ports->list[i];
		struct vus_port *p = ports->by_id[id];

		for (uint16_t q = 0; q < p->nb_queues && q < FWD_MAX_QUEUES; q++) {
			if (mid[id][q] != want[id][q] && mid[id][q] != FWD_NO_LCORE) {
				mid[id][q] = FWD_NO_LCORE;
				tell_owner(rt, p, q, FWD_NO_LCORE);
			}
		}
	}
	ret = publish_plans(rt, ports, mid);
	if (ret != 0)
		return ret;
	for (uint16_t i = 0; i < ports->n; i++) {
		uint16_t id = ports->list[i];
		struct vus_port *p = ports->by_id[id];

		for (uint16_t q = 0; q < p->nb_queues && q < FWD_MAX_QUEUES; q++)
			if (mid[id][q] != want[id][q])
				tell_owner(rt, p, q, want[id][q]);
	}
	ret = publish_plans(rt, ports, want);
	if (ret == 0)
		memcpy(rt->owner, want, sizeof(rt->owner));
	return ret;
}

/* After a change of ports or pins: pins applied, the other queues stay. */
static int
replan(struct fwd_runtime *rt, const struct fwd_ports *ports)
{
	static uint16_t want[FWD_MAX_PORTS][FWD_MAX_QUEUES];
	int ret, mret;

	if (rt->nb_lcores == 0)
		return 0;
	/* Even without memory to decide, the move must happen: a port being
	 * removed leaves the plans either way. */
	ret = fwd_balance_keep(rt, ports, want);
	mret = fwd_move(rt, ports, want);
	return ret != 0 ? ret : mret;
}

static struct fwd_ports *
ports_copy(const struct fwd_ports *cur)
{
	struct fwd_ports *np = rte_zmalloc("fwd_ports", sizeof(*np), RTE_CACHE_LINE_SIZE);

	if (np != NULL && cur != NULL)
		memcpy(np, cur, sizeof(*np));
	return np;
}

static void
ports_swap(struct fwd_runtime *rt, struct fwd_ports *np)
{
	const struct fwd_ports *old = atomic_exchange(&rt->ports, np);

	rte_rcu_qsbr_synchronize(rt->params.qsbr, RTE_QSBR_THRID_INVALID);
	rte_free((void *)(uintptr_t)old);
}

int
fwd_port_add(struct fwd_runtime *rt, struct vus_port *port)
{
	struct fwd_ports *np = ports_copy(fwd_ports_get(rt));
	uint16_t id;

	if (np == NULL)
		return -ENOMEM;
	for (id = 0; id < FWD_MAX_PORTS && np->by_id[id] != NULL; id++)
		;
	if (id == FWD_MAX_PORTS) {
		rte_free(np);
		return -ENOSPC;
	}
	/* The lcores count the queues' cycles here from their first poll. */
	if (fwd_load_port_add(&rt->load, id, RTE_MIN(port->nb_queues, FWD_MAX_QUEUES)) != 0) {
		rte_free(np);
		return -ENOMEM;
	}
	port->id = id;
	np->by_id[id] = port;
	np->list[np->n++] = id;
	for (uint16_t q = 0; q < FWD_MAX_QUEUES; q++)
		rt->owner[id][q] = rt->pin[id][q] = FWD_NO_LCORE;
	/* Visible as a destination first, then polled. */
	ports_swap(rt, np);
	replan(rt, np);
	return id;
}

struct vus_port *
fwd_port_del(struct fwd_runtime *rt, uint16_t id)
{
	const struct fwd_ports *cur = fwd_ports_get(rt);
	struct fwd_ports *np;
	struct vus_port *port;
	uint16_t k = 0;

	if (cur == NULL || id >= FWD_MAX_PORTS || cur->by_id[id] == NULL)
		return NULL;
	port = cur->by_id[id];
	np = ports_copy(cur);
	if (np == NULL)
		return NULL;
	np->by_id[id] = NULL;
	for (uint16_t i = 0; i < cur->n; i++)
		if (cur->list[i] != id)
			np->list[k++] = cur->list[i];
	np->n = k;
	/* Not polled any more, then not a destination any more. */
	replan(rt, np);
	ports_swap(rt, np);
	for (uint16_t q = 0; q < FWD_MAX_QUEUES; q++)
		rt->owner[id][q] = rt->pin[id][q] = FWD_NO_LCORE;
	/* No plan points to its counters any more, and a grace period passed. */
	fwd_load_port_del(&rt->load, id);
	return port;
}

int
fwd_queue_pin(struct fwd_runtime *rt, uint16_t id, uint16_t queue, uint16_t lcore_idx)
{
	const struct fwd_ports *ports = fwd_ports_get(rt);

	if (ports == NULL || id >= FWD_MAX_PORTS || ports->by_id[id] == NULL ||
	    queue >= ports->by_id[id]->nb_queues || queue >= FWD_MAX_QUEUES)
		return -ENOENT;
	if (lcore_idx != FWD_NO_LCORE && lcore_idx >= rt->nb_lcores)
		return -EINVAL;
	rt->pin[id][queue] = lcore_idx;
	return replan(rt, ports);
}

uint16_t
fwd_queue_owner(const struct fwd_runtime *rt, uint16_t id, uint16_t queue)
{
	if (id >= FWD_MAX_PORTS || queue >= FWD_MAX_QUEUES)
		return FWD_NO_LCORE;
	return rt->owner[id][queue];
}

void
fwd_destroy(struct fwd_runtime *rt)
{
	if (rt == NULL)
		return;
	atomic_store(&rt->quit, true);
	rte_eal_mp_wait_lcore();
	for (unsigned int l = 0; l < rt->nb_lcores; l++)
		rte_free((void *)(uintptr_t)atomic_load(&rt->lcores[l].plan));
	rte_free((void *)(uintptr_t)atomic_load(&rt->ports));
	fwd_load_fini(&rt->load);
	rte_free(rt);
}
