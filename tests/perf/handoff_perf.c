/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cost of the lock-free handoff a vhost-user port uses when an lcore sends
 * to a guest queue another lcore owns (drivers/vhost_user): an MPSC
 * rte_ring, 32-packet bursts. Measured single-threaded (the instructions
 * of enqueue + dequeue) and with a producer and a consumer lcore (adds the
 * cache-line transfers). Prints cycles per packet; asserts nothing.
 *
 *   handoff_perf -l 0,1 --no-huge -m 64 --no-pci
 */
#include <stdatomic.h>
#include <stdio.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#define BURST 32
#define ITERS 2000000u

static struct rte_ring *g_ring;
static atomic_bool g_done;

static int
consumer(void *arg)
{
	void *objs[BURST];
	uint64_t *got = arg;

	while (!atomic_load_explicit(&g_done, memory_order_relaxed) || !rte_ring_empty(g_ring))
		*got += rte_ring_sc_dequeue_burst(g_ring, objs, BURST, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	void *objs[BURST];
	uint64_t t0, t1, got = 0, sent = 0;
	unsigned int worker;

	if (rte_eal_init(argc, argv) < 0)
		return 1;
	g_ring = rte_ring_create("handoff", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (g_ring == NULL)
		return 1;
	for (unsigned int i = 0; i < BURST; i++)
		objs[i] = (void *)(uintptr_t)(i + 1);
	t0 = rte_rdtsc();
	for (unsigned int i = 0; i < ITERS; i++) {
		rte_ring_mp_enqueue_burst(g_ring, objs, BURST, NULL);
		rte_ring_sc_dequeue_burst(g_ring, objs, BURST, NULL);
	}
	t1 = rte_rdtsc();
	printf("one thread: %.2f cycles/packet (enqueue + dequeue)\n",
	       (double)(t1 - t0) / ((double)ITERS * BURST));
	worker = rte_get_next_lcore(-1, 1, 0);
	if (worker >= RTE_MAX_LCORE) {
		printf("no second lcore: cross-core case skipped\n");
		return 0;
	}
	rte_eal_remote_launch(consumer, &got, worker);
	t0 = rte_rdtsc();
	for (unsigned int i = 0; i < ITERS; i++)
		sent += rte_ring_mp_enqueue_burst(g_ring, objs, BURST, NULL);
	atomic_store(&g_done, true);
	rte_eal_mp_wait_lcore();
	t1 = rte_rdtsc();
	printf("two lcores: %.2f cycles/packet on the producer, %lu sent, %lu received\n",
	       (double)(t1 - t0) / (double)sent, (unsigned long)sent, (unsigned long)got);
	return 0;
}
