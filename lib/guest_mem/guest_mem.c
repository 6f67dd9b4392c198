/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Trust model: region descriptions (gpa, size, uva, mmap_offset) and the fds
 * behind them come from the front-end and are hostile until checked here.
 * We refuse anything that overflows, a file too short to back the region
 * (touching it would raise SIGBUS), and files that are not regular memory
 * files. Mappings are never executable and are excluded from core dumps.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "guest_mem.h"

#define ERR(...) (err != NULL ? (void)snprintf(err, errlen, __VA_ARGS__) : (void)0)

static bool
add_overflows(uint64_t a, uint64_t b)
{
	return a + b < a;
}

int
guest_mem_region_map(struct guest_mem_region *r, int fd, uint64_t gpa, uint64_t size,
		     uint64_t uva, uint64_t mmap_offset, char *err, size_t errlen)
{
	struct stat st;
	uint64_t map_len, align;
	void *addr;

	memset(r, 0, sizeof(*r));
	if (size == 0) {
		ERR("region size is 0");
		return -EINVAL;
	}
	if (add_overflows(gpa, size) || add_overflows(uva, size) ||
	    add_overflows(mmap_offset, size)) {
		ERR("region gpa 0x%" PRIx64 " uva 0x%" PRIx64 " offset 0x%" PRIx64
		    " size 0x%" PRIx64 " overflows", gpa, uva, mmap_offset, size);
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
		ERR("region needs %" PRIu64 " bytes but its file has %" PRIu64,
		    map_len, (uint64_t)st.st_size);
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
	if (r->map_addr != NULL)
		munmap(r->map_addr, r->map_len);
	r->map_addr = NULL;
	r->host = NULL;
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
guest_mem_table_build(const struct guest_mem_region *regs, unsigned int n, char *err,
		      size_t errlen)
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
			    " and 0x%" PRIx64, p->gpa, p->size, q->gpa);
			goto fail;
		}
		if (pu->uva + pu->size > qu->uva) {
			ERR("regions overlap in front-end memory: uva 0x%" PRIx64 "+0x%" PRIx64
			    " and 0x%" PRIx64, pu->uva, pu->size, qu->uva);
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
