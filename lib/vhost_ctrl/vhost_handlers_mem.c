/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory requests: SET_MEM_TABLE, ADD/REM_MEM_REG, GET_MAX_MEM_SLOTS,
 * and the dirty log (SET_LOG_BASE, SET_LOG_FD).
 *
 * New tables are built aside (regions mapped and checked by lib/guest_mem),
 * then swapped in by vhost_rings_refresh(), which re-translates the rings,
 * waits for the datapath to let go of the old table and only then unmaps
 * what the new table does not use (MEM-5). A failed request leaves the old
 * table in place and unmaps whatever it had mapped.
 *
 * Every mapping of a front-end's file (regions and the dirty log) carries a
 * SIGBUS guard (lib/guest_mem, SEC-10): if the front-end truncates the file
 * later, an access past the end reads zeros instead of killing the switch,
 * and vhost_mem_check_faults() disconnects the port.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost_ctrl_priv.h"

static int
map_region(struct vhost_port *port, struct guest_mem_region *out, const struct vhost_msg_region *in,
	   int fd)
{
	char err[160];
	int ret = guest_mem_region_map(out, fd, in->guest_phys_addr, in->memory_size,
				       in->userspace_addr, in->mmap_offset, err, sizeof(err));

	if (ret != 0)
		vhost_port_fault(port, "memory region gpa 0x%" PRIx64 ": %s", in->guest_phys_addr,
				 err);
	return ret;
}

/* Build a table from @p regs and install it; on failure unmap @p fresh
 * (the regions mapped by this request) and keep the old table. */
static int
install_table(struct vhost_port *port, struct guest_mem_region *regs, unsigned int n,
	      struct guest_mem_region *fresh, unsigned int nfresh)
{
	struct guest_mem_table *t, *old = port->dev.mem;
	char err[160];

	t = guest_mem_table_build(regs, n, err, sizeof(err));
	if (t != NULL && t->mapped_bytes > VHOST_MAX_MAPPED_BYTES) {
		snprintf(err, sizeof(err), "%" PRIu64 " bytes of guest memory exceed the limit",
			 t->mapped_bytes);
		guest_mem_table_free(t, false, NULL);
		t = NULL;
	}
	if (t == NULL) {
		vhost_port_fault(port, "memory table refused: %s", err);
		for (unsigned int i = 0; i < nfresh; i++)
			guest_mem_region_unmap(&fresh[i]);
		return -EINVAL;
	}
	port->dev.mem = t;
	vhost_rings_refresh(port, old);
	PORT_LOG(port, INFO, "memory table: %u region(s), %" PRIu64 " bytes mapped", t->n,
		 t->mapped_bytes);
	return 0;
}

int
vhost_handle_set_mem_table(struct vhost_port *port, struct vhost_msg *msg,
			   struct vhost_reply *reply)
{
	const struct vhost_msg_mem_table *mt = &msg->payload.mem;
	struct guest_mem_region regs[VHOST_MSG_MAX_TABLE_REGIONS];
	unsigned int n = mt->nregions; /* 1..8, == nfds: checked by the dispatcher */

	for (unsigned int i = 0; i < n; i++) {
		if (map_region(port, &regs[i], &mt->regions[i], msg->fds[i]) != 0) {
			for (unsigned int j = 0; j < i; j++)
				guest_mem_region_unmap(&regs[j]);
			return -EINVAL;
		}
	}
	return install_table(port, regs, n, regs, n);
}

int
vhost_handle_get_max_mem_slots(struct vhost_port *port, struct vhost_msg *msg,
			       struct vhost_reply *reply)
{
	reply->u64 = VHOST_CTRL_MAX_MEM_SLOTS;
	reply->size = sizeof(uint64_t);
	return 0;
}

int
vhost_handle_add_mem_reg(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	struct guest_mem_table *cur = port->dev.mem;
	const struct vhost_msg_region *in = &msg->payload.reg.region;
	unsigned int n = cur != NULL ? cur->n : 0;
	struct guest_mem_region *regs;
	int ret;

	/*
	 * QEMU sends ADD_MEM_REG once per queue pair (each of its vhost devices
	 * keeps its own view of what it sent), so the same region arrives again
	 * with every further pair: count it instead of mapping it twice. Only
	 * the control thread reads the count, so the live table is updated in
	 * place.
	 */
	for (unsigned int i = 0; i < n; i++) {
		struct guest_mem_region *r = &cur->r[i];

		if (r->gpa == in->guest_phys_addr && r->size == in->memory_size &&
		    r->uva == in->userspace_addr && r->mmap_offset == in->mmap_offset) {
			r->dups++;
			PORT_LOG(port, DEBUG,
				 "ADD_MEM_REG: region gpa 0x%" PRIx64
				 " already mapped, now added %u times",
				 r->gpa, r->dups + 1);
			return 0;
		}
	}
	if (n >= VHOST_CTRL_MAX_MEM_SLOTS) {
		vhost_port_fault(port, "ADD_MEM_REG: all %u memory slots in use",
				 VHOST_CTRL_MAX_MEM_SLOTS);
		return -ENOSPC;
	}
	regs = calloc(n + 1, sizeof(*regs));
	if (regs == NULL)
		return -ENOMEM;
	if (n != 0)
		memcpy(regs, cur->r, n * sizeof(*regs));
	ret = map_region(port, &regs[n], &msg->payload.reg.region, msg->fds[0]);
	if (ret == 0)
		ret = install_table(port, regs, n + 1, &regs[n], 1);
	free(regs);
	return ret;
}

int
vhost_handle_rem_mem_reg(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	const struct vhost_msg_region *want = &msg->payload.reg.region;
	struct guest_mem_table *cur = port->dev.mem;
	struct guest_mem_region *regs;
	unsigned int n = 0;
	bool found = false;
	int ret;

	if (cur == NULL || cur->n == 0) {
		vhost_port_fault(port, "REM_MEM_REG: no memory table");
		return -ENOENT;
	}
	/* A region added more than once goes away with its last removal. */
	for (unsigned int i = 0; i < cur->n; i++) {
		struct guest_mem_region *r = &cur->r[i];

		if (r->gpa == want->guest_phys_addr && r->uva == want->userspace_addr &&
		    r->size == want->memory_size && r->dups > 0) {
			r->dups--;
			return 0;
		}
	}
	regs = calloc(cur->n, sizeof(*regs));
	if (regs == NULL)
		return -ENOMEM;
	/* Matched by gpa, user address and size; mmap_offset is ignored (MEM-6). */
	for (unsigned int i = 0; i < cur->n; i++) {
		const struct guest_mem_region *r = &cur->r[i];

		if (!found && r->gpa == want->guest_phys_addr && r->uva == want->userspace_addr &&
		    r->size == want->memory_size)
			found = true;
		else
			regs[n++] = *r;
	}
	if (!found) {
		vhost_port_fault(port, "REM_MEM_REG: no region gpa 0x%" PRIx64 " size 0x%" PRIx64,
				 want->guest_phys_addr, want->memory_size);
		free(regs);
		return -ENOENT;
	}
	ret = install_table(port, regs, n, NULL, 0);
	free(regs);
	return ret;
}

int
vhost_handle_set_log_base(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	struct vhost_dev *dev = &port->dev;
	uint64_t size = msg->payload.log.mmap_size, off = msg->payload.log.mmap_offset;
	void *old_map = dev->log_map;
	size_t old_len = dev->log_map_len;
	uint32_t old_guard = dev->log_guard;
	struct stat st;
	void *map;
	int guard;

	if (size == 0 || off + size < off || off + size > SIZE_MAX) {
		vhost_port_fault(port,
				 "SET_LOG_BASE size 0x%" PRIx64 " offset 0x%" PRIx64 " invalid",
				 size, off);
		return -EINVAL;
	}
	if (fstat(msg->fds[0], &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < off + size) {
		vhost_port_fault(port, "SET_LOG_BASE: log fd is not a file of %" PRIu64 " bytes",
				 off + size);
		return -EINVAL;
	}
	map = mmap(NULL, (size_t)(off + size), PROT_READ | PROT_WRITE, MAP_SHARED, msg->fds[0], 0);
	if (map == MAP_FAILED) {
		vhost_port_fault(port, "SET_LOG_BASE: mmap failed: %s", strerror(errno));
		return -errno;
	}
	/* The datapath writes the log: a truncated log file must not kill us. */
	guard = guest_mem_guard_add(map, (size_t)(off + size));
	if (guard < 0) {
		munmap(map, (size_t)(off + size));
		vhost_port_fault(port, "SET_LOG_BASE: no SIGBUS guard entry left");
		return guard;
	}
	dev->log_guard = (uint32_t)guard;
	dev->log_map = map;
	dev->log_map_len = (size_t)(off + size);
	dev->log_base = (uint8_t *)map + off;
	dev->log_size = size;
	vhost_rings_refresh(port, NULL);
	if (old_map != NULL) {
		guest_mem_guard_del(old_guard, old_map); /* before munmap: lib/guest_mem */
		munmap(old_map, old_len);
	}
	PORT_LOG(port, INFO, "dirty log: %" PRIu64 " bytes", size);
	/* Always answered; echo the description (LOG-2). */
	reply->log = msg->payload.log;
	reply->size = sizeof(reply->log);
	return 0;
}

int
vhost_handle_set_log_fd(struct vhost_port *port, struct vhost_msg *msg, struct vhost_reply *reply)
{
	if (port->dev.log_fd >= 0)
		close(port->dev.log_fd);
	port->dev.log_fd = msg->fds[0];
	msg->fds[0] = -1;
	return 0;
}

void
vhost_mem_check_faults(struct vhost_port *port)
{
	const struct guest_mem_table *mem = port->dev.mem;
	char why[sizeof(port->last_error)];

	why[0] = '\0';
	for (unsigned int i = 0; mem != NULL && i < mem->n; i++) {
		if (guest_mem_region_faulted(&mem->r[i])) {
			snprintf(why, sizeof(why),
				 "guest memory region %u (gpa 0x%" PRIx64
				 ") truncated by the front-end: SIGBUS contained, disconnecting",
				 i, mem->r[i].gpa);
			break;
		}
	}
	if (why[0] == '\0' && port->dev.log_map != NULL &&
	    guest_mem_guard_faulted(port->dev.log_guard, port->dev.log_map))
		snprintf(why, sizeof(why),
			 "dirty log truncated by the front-end: SIGBUS contained, disconnecting");
	if (why[0] == '\0')
		return;
	/* The region reads zeros until the reset below unmaps it, so nothing
	 * the datapath does with it meanwhile reaches another port. */
	vhost_port_fault(port, "%s", why);
	vhost_conn_drop(port, NULL);
}
