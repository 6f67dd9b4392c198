/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Trust model: region descriptions (gpa, size, uva, mmap_offset) and the fds
 * behind them come from the front-end and are hostile until checked here.
 * We refuse anything that overflows, a file too short to back the region
 * (touching it would raise SIGBUS), and files that are not regular memory
 * files. Mappings are never executable and are excluded from core dumps.
 *
 * SIGBUS containment (SEC-10). The size check above holds only at map time:
 * the front-end keeps the fd and can ftruncate() it later, and the next
 * access to a page past the new end raises SIGBUS, which by default kills
 * the whole switch (every VM). So every mapping of a peer's file is entered
 * in a registry, a fixed array searched by a SIGBUS handler:
 *
 *  - Entry: a state word (low 3 bits: FREE, CLAIMED, LIVE, FIXING, FAULTED;
 *    the rest a generation bumped at every claim, so a stale read of a
 *    reused entry never matches: no ABA), start and length. All fields are
 *    lock-free atomics; the handler takes no lock and allocates nothing.
 *  - Add (any thread, after mmap): CAS an entry FREE -> CLAIMED, store start
 *    and length, raise the high-water mark, then store LIVE with release.
 *    A handler that loads LIVE with acquire sees start and length.
 *  - Handler (faulting thread): for each entry below the high-water mark,
 *    load the state, then start and length, then re-load the state (a
 *    seqlock-style check that the three belong together). If the fault
 *    address is inside: LIVE -> CAS to FIXING (the CAS fails if the entry
 *    changed since it was read), mmap an anonymous private zero mapping with
 *    MAP_FIXED over the whole mapping, store FAULTED, count it, return: the
 *    faulting instruction retries and reads zeros. FAULTED: another thread
 *    already replaced it, just retry. FIXING: wait for that thread.
 *  - Remove (before munmap, never after): wait while the entry is FIXING,
 *    then CAS it to FREE. Only then munmap.
 *
 * Why the handler can never map zeros over an address already reused by an
 * unrelated mapping: the handler maps only while it holds the entry in
 * FIXING, which it got by a CAS from the very LIVE state word it read the
 * bounds with. Removal turns the entry FREE before munmap and waits out a
 * FIXING holder, so once munmap runs (and the address can be reused) no
 * handler holds the entry and none can take it: its CAS from the old state
 * fails and it re-reads FREE. A handler that already replaced the pages
 * leaves them for munmap, which then unmaps the zero pages instead.
 * Removal and RCU: the owners remove a region only after the grace period
 * that ends every lcore's use of it (lib/virtq handover), and a lcore inside
 * this handler has not reached its quiescent state, so on the datapath the
 * wait for FIXING is never even reached; it covers faults from threads
 * outside RCU (the control thread, tests).
 *
 * Faults not in a LIVE, FIXING or FAULTED entry, signals sent with kill(),
 * and other SIGBUS codes (hardware memory errors) go to the previous
 * handler, or to the default action (the process dies with SIGBUS as it
 * would have without us), so real bugs still crash.
 *
 * mmap() and madvise() are not on POSIX's async-signal-safe list; they are
 * issued as raw system calls here (syscall(2)), which on Linux touch no
 * libc state and no sanitizer interceptor.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_pause.h>

#include "guest_mem.h"

#define ERR(...) (err != NULL ? (void)snprintf(err, errlen, __VA_ARGS__) : (void)0)

/* ---- SIGBUS registry ---------------------------------------------------- */

/* The handler relies on these being lock-free (a lock inside a signal
 * handler can deadlock against the interrupted thread). */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_POINTER_LOCK_FREE == 2,
	       "registry atomics must be lock-free");

enum guard_kind {
	G_FREE = 0,
	G_CLAIMED = 1, /* being filled by guest_mem_guard_add() */
	G_LIVE = 2,    /* guarded mapping */
	G_FIXING = 3,  /* a handler is replacing the pages */
	G_FAULTED = 4, /* replaced by zero pages */
};

#define G_KIND(s) ((unsigned int)((s) % 8u))
#define G_GEN(s) ((s) >> 3)
#define G_STATE(gen, kind) (((gen) << 3) | (uint64_t)(kind))

struct guard {
	_Atomic uint64_t state;
	_Atomic uintptr_t start;
	_Atomic size_t len;
};

static struct guard guards[GUEST_MEM_GUARD_SLOTS];
/* Entries [0, guards_hw) may be in use; only grows, so the handler scans
 * what was ever used rather than the whole array. */
static _Atomic unsigned int guards_hw;
static _Atomic uint64_t sigbus_contained;

static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;
static int sigbus_init_ret;
/* Written once before our handler is installed, read by it. */
static struct sigaction sigbus_prev;
/* Written (1) after each contained fault, so the control thread need not
 * poll the count; made once with the handler and never closed, so the
 * handler never writes to an fd that another thread closed. -1 if none. */
static int sigbus_efd = -1;

static bool
guard_in_use(unsigned int kind)
{
	return kind == G_LIVE || kind == G_FIXING || kind == G_FAULTED;
}

int
guest_mem_guard_add(void *start, size_t len)
{
	for (unsigned int i = 0; i < GUEST_MEM_GUARD_SLOTS; i++) {
		struct guard *g = &guards[i];
		uint64_t s = atomic_load_explicit(&g->state, memory_order_relaxed);
		uint64_t gen = G_GEN(s) + 1;
		unsigned int hw;

		if (G_KIND(s) != G_FREE || !atomic_compare_exchange_strong_explicit(
						   &g->state, &s, G_STATE(gen, G_CLAIMED),
						   memory_order_acquire, memory_order_relaxed))
			continue;
		atomic_store_explicit(&g->start, (uintptr_t)start, memory_order_relaxed);
		atomic_store_explicit(&g->len, len, memory_order_relaxed);
		hw = atomic_load_explicit(&guards_hw, memory_order_relaxed);
		while (hw < i + 1 && !atomic_compare_exchange_weak_explicit(&guards_hw, &hw, i + 1,
									    memory_order_release,
									    memory_order_relaxed))
			;
		/* Publishes start and len (and the high-water mark) to handlers. */
		atomic_store_explicit(&g->state, G_STATE(gen, G_LIVE), memory_order_release);
		return (int)i + 1;
	}
	return -ENOSPC;
}

/* The state of entry @p guard if it guards @p start, else 0 (FREE). */
static uint64_t
guard_state(uint32_t guard, const void *start)
{
	struct guard *g;

	if (guard == 0 || guard > GUEST_MEM_GUARD_SLOTS)
		return 0;
	g = &guards[guard - 1];
	for (;;) {
		uint64_t s = atomic_load_explicit(&g->state, memory_order_acquire);
		uintptr_t st = atomic_load_explicit(&g->start, memory_order_relaxed);

		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&g->state, memory_order_relaxed) != s)
			continue;
		return guard_in_use(G_KIND(s)) && st == (uintptr_t)start ? s : 0;
	}
}

void
guest_mem_guard_del(uint32_t guard, const void *start)
{
	for (;;) {
		uint64_t s = guard_state(guard, start);

		if (s == 0)
			return; /* not ours: a stale copy of the region, or no guard */
		if (G_KIND(s) == G_FIXING) {
			/* A handler on another thread is mid-replacement: a few
			 * system calls, it never blocks. */
			rte_pause();
			continue;
		}
		if (atomic_compare_exchange_strong_explicit(
			    &guards[guard - 1].state, &s, G_STATE(G_GEN(s), G_FREE),
			    memory_order_acq_rel, memory_order_relaxed))
			return;
	}
}

bool
guest_mem_guard_faulted(uint32_t guard, const void *start)
{
	return G_KIND(guard_state(guard, start)) == G_FAULTED;
}

bool
guest_mem_region_faulted(const struct guest_mem_region *r)
{
	return r->map_addr != NULL && guest_mem_guard_faulted(r->guard, r->map_addr);
}

uint64_t
guest_mem_sigbus_count(void)
{
	return atomic_load_explicit(&sigbus_contained, memory_order_acquire);
}

int
guest_mem_sigbus_fd(void)
{
	return sigbus_efd;
}

unsigned int
guest_mem_guard_count(void)
{
	unsigned int hw = atomic_load_explicit(&guards_hw, memory_order_acquire), n = 0;

	for (unsigned int i = 0; i < hw; i++)
		if (G_KIND(atomic_load_explicit(&guards[i].state, memory_order_relaxed)) != G_FREE)
			n++;
	return n;
}

/*
 * Called from the SIGBUS handler. @return true if @p addr is in a guarded
 * mapping, which now holds zero pages.
 */
static bool
guard_contain(uintptr_t addr)
{
	unsigned int hw = atomic_load_explicit(&guards_hw, memory_order_acquire);

	for (unsigned int i = 0; i < hw; i++) {
		struct guard *g = &guards[i];

		for (;;) {
			uint64_t s = atomic_load_explicit(&g->state, memory_order_acquire);
			uintptr_t st;
			size_t len;
			long ret;

			if (!guard_in_use(G_KIND(s)))
				break;
			st = atomic_load_explicit(&g->start, memory_order_relaxed);
			len = atomic_load_explicit(&g->len, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&g->state, memory_order_relaxed) != s)
				continue; /* changed while read: read it again */
			if (addr - st >= len)
				break; /* not this one (also when addr < st) */
			if (G_KIND(s) == G_FAULTED)
				return true; /* replaced already: the retry reads zeros */
			if (G_KIND(s) == G_FIXING) {
				rte_pause(); /* another thread is replacing it */
				continue;
			}
			if (!atomic_compare_exchange_strong_explicit(
				    &g->state, &s, G_STATE(G_GEN(s), G_FIXING),
				    memory_order_acquire, memory_order_relaxed))
				continue;
			/* The whole mapping, not just the page: the region is lost
			 * to its port anyway, and one replacement means one fault. */
			/* Every argument a long: syscall() reads them as such. */
			ret = syscall(
				SYS_mmap, (long)st, (long)len, (long)(PROT_READ | PROT_WRITE),
				(long)(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE),
				-1L, 0L);
			if (ret == -1 || (uintptr_t)ret != st) {
				/* Cannot contain it: crash as we would have. */
				atomic_store_explicit(&g->state, s, memory_order_release);
				return false;
			}
			/* What the datapath writes there now is other ports' traffic. */
			(void)syscall(SYS_madvise, (long)st, (long)len, (long)MADV_DONTDUMP);
			atomic_store_explicit(&g->state, G_STATE(G_GEN(s), G_FAULTED),
					      memory_order_release);
			/* After FAULTED: whoever sees the count see the flag. */
			atomic_fetch_add_explicit(&sigbus_contained, 1, memory_order_release);
			if (sigbus_efd >= 0) {
				const uint64_t one = 1;

				/* write() is async-signal-safe; non-blocking, and
				 * the counter is never read: 2^64 - 2 faults fit. */
				(void)!write(sigbus_efd, &one, sizeof(one));
			}
			return true;
		}
	}
	return false;
}

/* Hand a fault that is not ours to whoever had SIGBUS before us. */
static void
sigbus_chain(int sig, siginfo_t *si, void *uctx)
{
	const struct sigaction *p = &sigbus_prev;
	struct sigaction dfl;

	if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction != NULL) {
		p->sa_sigaction(sig, si, uctx);
		return;
	}
	if (!(p->sa_flags & SA_SIGINFO) && p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
		p->sa_handler(sig);
		return;
	}
	/* Default action (a fault cannot be ignored either): restore it. A
	 * fault then repeats when the instruction retries and kills us with
	 * SIGBUS; a signal that was sent is sent again, and is delivered as
	 * soon as this handler returns. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	if (si == NULL || si->si_code <= 0)
		raise(sig);
}

static void
sigbus_handler(int sig, siginfo_t *si, void *uctx)
{
	int saved_errno = errno;

	/* BUS_ADRERR is the code of an access past the end of a file. */
	if (si != NULL && si->si_code == BUS_ADRERR && guard_contain((uintptr_t)si->si_addr)) {
		errno = saved_errno;
		return;
	}
	errno = saved_errno;
	sigbus_chain(sig, si, uctx);
}

static void
sigbus_install(void)
{
	struct sigaction sa;

	/* Read the previous action first and install second, so the handler
	 * never runs before sigbus_prev is complete. */
	if (sigaction(SIGBUS, NULL, &sigbus_prev) != 0) {
		sigbus_init_ret = -errno;
		return;
	}
	sigbus_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* optional: -1 is fine */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigbus_handler;
	/* No SA_NODEFER: a SIGBUS inside the handler kills at once instead of
	 * recursing. SA_ONSTACK: usable on an alternate stack if one is set. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) != 0)
		sigbus_init_ret = -errno;
}

int
guest_mem_sigbus_init(void)
{
	pthread_once(&sigbus_once, sigbus_install);
	return sigbus_init_ret;
}

/* ---- Regions ------------------------------------------------------------ */

static bool
add_overflows(uint64_t a, uint64_t b)
{
	return a + b < a;
}

int
guest_mem_region_map(struct guest_mem_region *r, int fd, uint64_t gpa, uint64_t size, uint64_t uva,
		     uint64_t mmap_offset, char *err, size_t errlen)
{
	struct stat st;
	uint64_t map_len, align;
	void *addr;
	int guard, ret;

	memset(r, 0, sizeof(*r));
	ret = guest_mem_sigbus_init();
	if (ret != 0) {
		ERR("cannot install the SIGBUS handler: %s", strerror(-ret));
		return ret;
	}
	if (size == 0) {
		ERR("region size is 0");
		return -EINVAL;
	}
	if (add_overflows(gpa, size) || add_overflows(uva, size) ||
	    add_overflows(mmap_offset, size)) {
		ERR("region gpa 0x%" PRIx64 " uva 0x%" PRIx64 " offset 0x%" PRIx64
		    " size 0x%" PRIx64 " overflows",
		    gpa, uva, mmap_offset, size);
		return -EINVAL;
	}
	if (fstat(fd, &st) != 0) {
		ERR("fstat of region fd failed: %s", strerror(errno));
		return -EBADF;
	}
	if (!S_ISREG(st.st_mode)) {
		ERR("region fd is not a memory file (mode 0%o)", (unsigned int)st.st_mode);
		return -EINVAL;
	}
	map_len = mmap_offset + size;
	if ((uint64_t)st.st_size < map_len) {
		ERR("region needs %" PRIu64 " bytes but its file has %" PRIu64, map_len,
		    (uint64_t)st.st_size);
		return -EINVAL;
	}
	/* hugetlbfs needs lengths in whole huge pages; st_blksize is the page size. */
	align = st.st_blksize > 0 ? (uint64_t)st.st_blksize : 4096;
	if ((align & (align - 1)) == 0 && map_len % align != 0) {
		uint64_t rounded = (map_len + align - 1) & ~(align - 1);

		if (rounded <= (uint64_t)st.st_size)
			map_len = rounded;
	}
	if (map_len > SIZE_MAX) {
		ERR("region too large to map");
		return -ENOMEM;
	}
	addr = mmap(NULL, (size_t)map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED) {
		ERR("mmap of %" PRIu64 " bytes failed: %s", map_len, strerror(errno));
		return -errno;
	}
	(void)madvise(addr, (size_t)map_len, MADV_DONTDUMP);
	/* Guarded before anyone can touch it: only the caller has the address. */
	guard = guest_mem_guard_add(addr, (size_t)map_len);
	if (guard < 0) {
		munmap(addr, (size_t)map_len);
		ERR("no SIGBUS guard entry left for the region (%u in use)",
		    guest_mem_guard_count());
		return guard;
	}
	r->guard = (uint32_t)guard;
	r->gpa = gpa;
	r->size = size;
	r->uva = uva;
	r->mmap_offset = mmap_offset;
	r->map_addr = addr;
	r->map_len = (size_t)map_len;
	r->host = (uint8_t *)addr + mmap_offset;
	return 0;
}

void
guest_mem_region_unmap(struct guest_mem_region *r)
{
	if (r->map_addr != NULL) {
		/* Guard first: see the top of this file. */
		guest_mem_guard_del(r->guard, r->map_addr);
		munmap(r->map_addr, r->map_len);
	}
	r->map_addr = NULL;
	r->host = NULL;
	r->guard = 0;
}

static int
cmp_gpa(const void *a, const void *b)
{
	const struct guest_mem_region *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static int
cmp_uva(const void *a, const void *b)
{
	const struct guest_mem_region *x = *(const struct guest_mem_region *const *)a;
	const struct guest_mem_region *y = *(const struct guest_mem_region *const *)b;

	return x->uva < y->uva ? -1 : x->uva > y->uva;
}

struct guest_mem_table *
guest_mem_table_build(const struct guest_mem_region *regs, unsigned int n, char *err, size_t errlen)
{
	struct guest_mem_table *t;

	t = calloc(1, sizeof(*t) + n * sizeof(t->r[0]));
	if (t == NULL) {
		ERR("out of memory");
		return NULL;
	}
	t->by_uva = calloc(n ? n : 1, sizeof(t->by_uva[0]));
	if (t->by_uva == NULL) {
		free(t);
		ERR("out of memory");
		return NULL;
	}
	t->n = n;
	memcpy(t->r, regs, n * sizeof(t->r[0]));
	qsort(t->r, n, sizeof(t->r[0]), cmp_gpa);
	for (unsigned int i = 0; i < n; i++) {
		t->by_uva[i] = &t->r[i];
		t->mapped_bytes += t->r[i].map_len;
	}
	qsort(t->by_uva, n, sizeof(t->by_uva[0]), cmp_uva);
	for (unsigned int i = 1; i < n; i++) {
		const struct guest_mem_region *p = &t->r[i - 1], *q = &t->r[i];
		const struct guest_mem_region *pu = t->by_uva[i - 1], *qu = t->by_uva[i];

		if (p->gpa + p->size > q->gpa) {
			ERR("regions overlap in guest memory: gpa 0x%" PRIx64 "+0x%" PRIx64
			    " and 0x%" PRIx64,
			    p->gpa, p->size, q->gpa);
			goto fail;
		}
		if (pu->uva + pu->size > qu->uva) {
			ERR("regions overlap in front-end memory: uva 0x%" PRIx64 "+0x%" PRIx64
			    " and 0x%" PRIx64,
			    pu->uva, pu->size, qu->uva);
			goto fail;
		}
	}
	return t;
fail:
	free(t->by_uva);
	free(t);
	return NULL;
}

bool
guest_mem_table_has_mapping(const struct guest_mem_table *t, const void *map_addr)
{
	if (t == NULL)
		return false;
	for (unsigned int i = 0; i < t->n; i++)
		if (t->r[i].map_addr == map_addr)
			return true;
	return false;
}

void
guest_mem_table_free(struct guest_mem_table *t, bool unmap, const struct guest_mem_table *keep)
{
	if (t == NULL)
		return;
	if (unmap) {
		for (unsigned int i = 0; i < t->n; i++)
			if (!guest_mem_table_has_mapping(keep, t->r[i].map_addr))
				guest_mem_region_unmap(&t->r[i]);
	}
	free(t->by_uva);
	free(t);
}
