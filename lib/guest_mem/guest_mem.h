/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GUEST_MEM_H
#define GUEST_MEM_H

/**
 * @file
 * Guest memory as a back-end sees it: regions mapped from fds a front-end
 * sent, and translation of guest-physical (descriptor buffers) and
 * front-end-virtual (ring addresses) ranges to host pointers.
 *
 * Trust: every number here comes from a peer. guest_mem_region_map() checks
 * sizes, overflow and the file behind the fd before mapping;
 * guest_mem_table_build() rejects overlaps. Translations return how many
 * bytes are contiguous from the address, so callers never run past a
 * mapping.
 *
 * A table is immutable once built. The control plane builds a new one aside
 * and swaps it in (lib/virtq handover); regions are unmapped only after no
 * lcore can still use them.
 *
 * SIGBUS containment (SEC-10): a front-end can shrink the file behind a
 * region after we mapped it, and any later access to the pages past the new
 * end raises SIGBUS. Every mapping made here is entered in a fixed registry
 * that a SIGBUS handler searches; the handler replaces the faulting mapping
 * with zero pages, marks it faulted and lets the access retry. The owner
 * polls guest_mem_region_faulted() and drops the peer. Faults outside the
 * registry go to the previous handler (or the default action), so real bugs
 * still crash. Details and the ordering rules are in guest_mem.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One mapped region. */
struct guest_mem_region {
	uint64_t gpa;         /**< guest physical start */
	uint64_t size;        /**< bytes */
	uint64_t uva;         /**< front-end virtual start */
	uint64_t mmap_offset; /**< offset of the region in its fd */
	uint8_t *host;        /**< host address of gpa */
	void *map_addr;       /**< start of the mmap (for munmap) */
	size_t map_len;       /**< length of the mmap */
	uint32_t dups;        /**< further ADD_MEM_REG of the same region: control-thread
			     *   bookkeeping, the one field changed in a live table */
	uint32_t guard;       /**< SIGBUS registry entry + 1 (0: none), see guest_mem_guard_add() */
};

/** An immutable, sorted set of regions. */
struct guest_mem_table {
	unsigned int n;                         /**< number of regions */
	uint64_t mapped_bytes;                  /**< sum of map_len */
	const struct guest_mem_region **by_uva; /**< regions sorted by uva */
	struct guest_mem_region r[];            /**< regions sorted by gpa */
};

/**
 * Validate a region description and map it from @p fd (MAP_SHARED,
 * read/write, never exec, excluded from core dumps).
 * Rejects: size 0; gpa+size, uva+size or mmap_offset+size overflow; an fd
 * that is not a regular file (memfd, hugetlbfs, tmpfs); a file shorter than
 * mmap_offset + size. The fd is not closed.
 * @param err  receives a reason on failure.
 * @return 0 or -errno.
 */
int guest_mem_region_map(struct guest_mem_region *r, int fd, uint64_t gpa, uint64_t size,
			 uint64_t uva, uint64_t mmap_offset, char *err, size_t errlen);

/** Unmap a region mapped by guest_mem_region_map() (and drop its guard). */
void guest_mem_region_unmap(struct guest_mem_region *r);

/**
 * True once an access to the region raised SIGBUS (its file was truncated
 * under the mapping) and the handler replaced its pages with zeros. Stays
 * true until the region is unmapped. Any thread; lock-free.
 */
bool guest_mem_region_faulted(const struct guest_mem_region *r);

/**
 * Registry entries for SIGBUS containment: one per live mapping of a file a
 * peer controls. Enough for every port's memory slots and dirty log with
 * tables in flight (checked where the limits are, in lib/vhost_ctrl); the
 * array is address space only, touched as far as it is used.
 */
#define GUEST_MEM_GUARD_SLOTS (1u << 18)

/**
 * Install the SIGBUS handler, once per process (later calls return the
 * first result). guest_mem_region_map() calls it; owners call it early so
 * a failure shows at start-up. The previous SIGBUS action is kept and
 * called for every fault outside a registered mapping.
 * @return 0 or -errno.
 */
int guest_mem_sigbus_init(void);

/**
 * Register [start, start+len), a MAP_SHARED mapping of a peer's file, for
 * containment. Regions mapped by guest_mem_region_map() are registered
 * already; this is for other mappings (the dirty log).
 * @return the guard handle (> 0), or -ENOSPC when the registry is full.
 */
int guest_mem_guard_add(void *start, size_t len);

/**
 * Remove a guard before munmap() of its mapping (never after: see
 * guest_mem.c). Waits while a handler is replacing the pages. A handle of
 * 0, or one whose entry no longer holds @p start, is ignored.
 */
void guest_mem_guard_del(uint32_t guard, const void *start);

/** True if the guarded mapping at @p start faulted (as guest_mem_region_faulted()). */
bool guest_mem_guard_faulted(uint32_t guard, const void *start);

/** SIGBUS faults contained so far in this process. */
uint64_t guest_mem_sigbus_count(void);

/**
 * An eventfd the SIGBUS handler writes after each contained fault, for
 * watching instead of polling guest_mem_sigbus_count(); -1 before
 * guest_mem_sigbus_init() or if it could not be made. Process-wide and
 * never closed. Watch it edge-triggered (EPOLLIN | EPOLLET) and do not
 * read it: each write then wakes every watcher, and it stays readable
 * (an epoll_ctl(ADD) after a fault reports it at once, so a fault just
 * before the watch is not missed). Compare guest_mem_sigbus_count() with
 * the count last seen to know whether anything happened.
 */
int guest_mem_sigbus_fd(void);

/** Registry entries in use (live mappings), for tests and statistics. */
unsigned int guest_mem_guard_count(void);

/**
 * Build a table from @p n mapped regions (copied). Rejects overlapping
 * guest-physical or front-end-virtual ranges.
 * @return the table, or NULL with a reason in @p err.
 */
struct guest_mem_table *guest_mem_table_build(const struct guest_mem_region *regs, unsigned int n,
					      char *err, size_t errlen);

/**
 * Free a table. With @p unmap, also unmap every region that is not in
 * @p keep (which may be NULL): the regions a newer table took over stay.
 */
void guest_mem_table_free(struct guest_mem_table *t, bool unmap,
			  const struct guest_mem_table *keep);

/** True if the table has a region with the same mapping as @p r. */
bool guest_mem_table_has_mapping(const struct guest_mem_table *t, const void *map_addr);

/**
 * Translate guest-physical @p gpa. On success *len is lowered to the bytes
 * contiguous in host memory from gpa (at most the asked *len).
 * @return host pointer, or NULL if gpa is not mapped.
 */
static inline void *
guest_mem_gpa_to_hva(const struct guest_mem_table *t, uint64_t gpa, uint64_t *len)
{
	unsigned int lo = 0, hi = t->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct guest_mem_region *r = &t->r[mid];

		if (gpa < r->gpa) {
			hi = mid;
		} else if (gpa - r->gpa >= r->size) {
			lo = mid + 1;
		} else {
			uint64_t avail = r->size - (gpa - r->gpa);

			if (*len > avail)
				*len = avail;
			return r->host + (gpa - r->gpa);
		}
	}
	return NULL;
}

/**
 * Translate front-end-virtual @p uva, as guest_mem_gpa_to_hva().
 */
static inline void *
guest_mem_uva_to_hva(const struct guest_mem_table *t, uint64_t uva, uint64_t *len)
{
	unsigned int lo = 0, hi = t->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct guest_mem_region *r = t->by_uva[mid];

		if (uva < r->uva) {
			hi = mid;
		} else if (uva - r->uva >= r->size) {
			lo = mid + 1;
		} else {
			uint64_t avail = r->size - (uva - r->uva);

			if (*len > avail)
				*len = avail;
			return r->host + (uva - r->uva);
		}
	}
	return NULL;
}

/**
 * Translate a whole range [uva, uva+len) that must lie in one region.
 * @return host pointer, or NULL if any byte is unmapped or len is 0.
 */
static inline void *
guest_mem_uva_range(const struct guest_mem_table *t, uint64_t uva, uint64_t len)
{
	uint64_t got = len;
	void *p;

	if (len == 0 || uva + len < uva)
		return NULL;
	p = guest_mem_uva_to_hva(t, uva, &got);
	return (p != NULL && got == len) ? p : NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* GUEST_MEM_H */
