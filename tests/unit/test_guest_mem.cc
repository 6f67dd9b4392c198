/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/guest_mem on memfds: mapping, translation, overlap, overflow, short
 * files and non-memory fds (MEM-2, MEM-3, MEM-4, MEM-8, SEC-2, SEC-9, SEC-11),
 * and SIGBUS containment of a file truncated under its mapping (SEC-10).
 */
#include <gtest/gtest.h>

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "guest_mem.h"

namespace {

int memfd_seq;

struct Memfd {
	int fd = -1;
	std::string name;

	explicit Memfd(uint64_t size)
	{
		name = "vus-gm-" + std::to_string(getpid()) + "-" + std::to_string(memfd_seq++);
		fd = memfd_create(name.c_str(), MFD_CLOEXEC);
		EXPECT_GE(fd, 0);
		EXPECT_EQ(ftruncate(fd, (off_t)size), 0);
	}
	~Memfd() { close(fd); }
	int maps() const
	{
		std::ifstream in("/proc/self/maps");
		std::string line;
		int n = 0;

		while (std::getline(in, line))
			if (line.find("/memfd:" + name + " (deleted)") != std::string::npos)
				n++;
		return n;
	}
};

int
map(struct guest_mem_region *r, const Memfd &m, uint64_t gpa, uint64_t size, uint64_t uva,
    uint64_t off, std::string *why = nullptr)
{
	char err[160] = "";
	int ret = guest_mem_region_map(r, m.fd, gpa, size, uva, off, err, sizeof(err));

	if (why != nullptr)
		*why = err;
	return ret;
}

} // namespace

TEST(GuestMem, MEM_2_MapsSharedWithOffset)
{
	Memfd m(3 * 4096);
	struct guest_mem_region r;

	ASSERT_EQ(map(&r, m, 0x1000, 4096, 0x7f0000001000, 8192), 0);
	EXPECT_EQ(r.host, (uint8_t *)r.map_addr + 8192);
	EXPECT_EQ(r.map_len, 3u * 4096);
	EXPECT_EQ(m.maps(), 1);
	/* Shared with the file: a write through the mapping is in the file. */
	r.host[5] = 0xab;
	uint8_t b = 0;

	ASSERT_EQ(pread(m.fd, &b, 1, 8192 + 5), 1);
	EXPECT_EQ(b, 0xab);
	guest_mem_region_unmap(&r);
	EXPECT_EQ(r.host, nullptr);
	EXPECT_EQ(m.maps(), 0);
}

TEST(GuestMem, MEM_2_SEC_11_NeverExecAndDontDump)
{
	Memfd m(4096);
	struct guest_mem_region r;

	ASSERT_EQ(map(&r, m, 0, 4096, 0, 0), 0);
	std::ifstream in("/proc/self/smaps");
	std::string line;
	bool found = false, in_entry = false;

	while (std::getline(in, line)) {
		if (line.find("/memfd:" + m.name + " ") != std::string::npos) {
			in_entry = true;
			EXPECT_NE(line.find(" rw-s "), std::string::npos) << line;
			continue;
		}
		if (in_entry && line.rfind("VmFlags:", 0) == 0) {
			EXPECT_NE(line.find(" dd"), std::string::npos) << line;
			EXPECT_EQ(line.find(" ex"), std::string::npos) << line;
			found = true;
			in_entry = false;
		}
	}
	EXPECT_TRUE(found);
	guest_mem_region_unmap(&r);
}

TEST(GuestMem, MEM_2_LengthRoundedToBlockWhenFileAllows)
{
	Memfd big(8192), exact(100);
	struct guest_mem_region r;

	ASSERT_EQ(map(&r, big, 0, 100, 0, 0), 0);
	EXPECT_EQ(r.map_len, 4096u);
	guest_mem_region_unmap(&r);
	/* The file is shorter than a block: map only what exists. */
	ASSERT_EQ(map(&r, exact, 0, 100, 0, 0), 0);
	EXPECT_EQ(r.map_len, 100u);
	guest_mem_region_unmap(&r);
}

TEST(GuestMem, MEM_8_RejectsBadRegions)
{
	Memfd m(8192);
	struct guest_mem_region r;
	std::string why;

	EXPECT_EQ(map(&r, m, 0, 0, 0, 0, &why), -EINVAL);
	EXPECT_NE(why.find("size is 0"), std::string::npos) << why;
	EXPECT_EQ(map(&r, m, ~0ULL - 100, 4096, 0, 0, &why), -EINVAL);
	EXPECT_NE(why.find("overflows"), std::string::npos) << why;
	EXPECT_EQ(map(&r, m, 0, 4096, ~0ULL - 100, 0, &why), -EINVAL);
	EXPECT_NE(why.find("overflows"), std::string::npos) << why;
	EXPECT_EQ(map(&r, m, 0, 4096, 0, ~0ULL - 100, &why), -EINVAL);
	EXPECT_NE(why.find("overflows"), std::string::npos) << why;
	/* Short file: touching past its end would raise SIGBUS. */
	EXPECT_EQ(map(&r, m, 0, 8193, 0, 0, &why), -EINVAL);
	EXPECT_NE(why.find("8193"), std::string::npos) << why;
	EXPECT_EQ(map(&r, m, 0, 4096, 0, 4097, &why), -EINVAL);
	EXPECT_EQ(m.maps(), 0) << "a refused region stays unmapped";
}

TEST(GuestMem, SEC_9_RejectsNonMemoryFds)
{
	struct guest_mem_region r;
	char err[160];
	int efd = eventfd(0, EFD_CLOEXEC), p[2];

	ASSERT_GE(efd, 0);
	ASSERT_EQ(pipe(p), 0);
	EXPECT_EQ(guest_mem_region_map(&r, efd, 0, 4096, 0, 0, err, sizeof(err)), -EINVAL);
	EXPECT_NE(strstr(err, "not a memory file"), nullptr) << err;
	EXPECT_EQ(guest_mem_region_map(&r, p[0], 0, 4096, 0, 0, err, sizeof(err)), -EINVAL);
	EXPECT_EQ(guest_mem_region_map(&r, -1, 0, 4096, 0, 0, err, sizeof(err)), -EBADF);
	/* err may be NULL. */
	EXPECT_EQ(guest_mem_region_map(&r, efd, 0, 4096, 0, 0, nullptr, 0), -EINVAL);
	close(efd);
	close(p[0]);
	close(p[1]);
}

class Table : public ::testing::Test {
protected:
	Memfd m{ 16 * 4096 };
	struct guest_mem_region regs[4];
	unsigned n = 0;

	void add(uint64_t gpa, uint64_t size, uint64_t uva, uint64_t off)
	{
		ASSERT_EQ(map(&regs[n], m, gpa, size, uva, off), 0);
		n++;
	}
	void TearDown() override
	{
		for (unsigned i = 0; i < n; i++)
			guest_mem_region_unmap(&regs[i]);
	}
};

TEST_F(Table, MEM_3_TranslatesGpaAndUvaSeparately)
{
	/* Given out of order; uva order differs from gpa order. */
	add(0x100000, 0x2000, 0x7f0000000000, 0x4000);
	add(0x0, 0x4000, 0x7f0000100000, 0x0);
	add(0x200000, 0x1000, 0x500000, 0x8000);
	char err[160];
	struct guest_mem_table *t = guest_mem_table_build(regs, n, err, sizeof(err));

	ASSERT_NE(t, nullptr) << err;
	EXPECT_EQ(t->n, 3u);
	EXPECT_EQ(t->r[0].gpa, 0u);
	EXPECT_EQ(t->by_uva[0]->uva, 0x500000u);
	EXPECT_EQ(t->mapped_bytes, regs[0].map_len + regs[1].map_len + regs[2].map_len);

	uint64_t len = 0x100;
	uint8_t *p = (uint8_t *)guest_mem_gpa_to_hva(t, 0x100010, &len);

	EXPECT_EQ(p, regs[0].host + 0x10);
	EXPECT_EQ(len, 0x100u);
	len = 0x100;
	EXPECT_EQ(guest_mem_uva_to_hva(t, 0x7f0000000010, &len), (void *)(regs[0].host + 0x10));
	/* A gpa is not a uva: the same number does not translate both ways. */
	len = 1;
	EXPECT_EQ(guest_mem_uva_to_hva(t, 0x100010, &len), nullptr);
	len = 1;
	EXPECT_EQ(guest_mem_gpa_to_hva(t, 0x7f0000000010, &len), nullptr);
	/* Holes between regions. */
	len = 1;
	EXPECT_EQ(guest_mem_gpa_to_hva(t, 0x4000, &len), nullptr);
	len = 1;
	EXPECT_EQ(guest_mem_gpa_to_hva(t, 0x201000, &len), nullptr);
	len = 1;
	EXPECT_EQ(guest_mem_uva_to_hva(t, 0x501000, &len), nullptr);
	guest_mem_table_free(t, false, nullptr);
}

TEST_F(Table, MEM_4_SEC_2_LengthClippedAtRegionEnd)
{
	add(0x0, 0x1000, 0x10000, 0x0);
	add(0x1000, 0x1000, 0x11000, 0x1000); /* gpa- and uva-contiguous */
	char err[160];
	struct guest_mem_table *t = guest_mem_table_build(regs, n, err, sizeof(err));

	ASSERT_NE(t, nullptr) << err;
	uint64_t len = 0x100;
	void *p = guest_mem_gpa_to_hva(t, 0xf80, &len);

	EXPECT_EQ(p, (void *)(regs[0].host + 0xf80));
	EXPECT_EQ(len, 0x80u) << "a buffer crossing regions is translated piecewise";
	len = 0x80;
	EXPECT_EQ(guest_mem_gpa_to_hva(t, 0x1000, &len), (void *)regs[1].host);
	/* Whole-range lookups (ring parts) must fit in one region. */
	EXPECT_EQ(guest_mem_uva_range(t, 0x10f80, 0x100), nullptr);
	EXPECT_EQ(guest_mem_uva_range(t, 0x10f00, 0x100), (void *)(regs[0].host + 0xf00));
	EXPECT_EQ(guest_mem_uva_range(t, 0x11000, 0x1000), (void *)regs[1].host);
	EXPECT_EQ(guest_mem_uva_range(t, 0x11001, 0x1000), nullptr);
	EXPECT_EQ(guest_mem_uva_range(t, 0x10000, 0), nullptr);
	EXPECT_EQ(guest_mem_uva_range(t, ~0ULL - 4, 0x10), nullptr) << "wrapping range";
	len = ~0ULL;
	EXPECT_NE(guest_mem_gpa_to_hva(t, 0x10, &len), nullptr);
	EXPECT_EQ(len, 0x1000u - 0x10);
	guest_mem_table_free(t, false, nullptr);
}

TEST_F(Table, MEM_8_OverlapsRejected)
{
	char err[160];

	add(0x0, 0x2000, 0x10000, 0x0);
	add(0x1000, 0x1000, 0x20000, 0x2000); /* gpa overlaps */
	EXPECT_EQ(guest_mem_table_build(regs, n, err, sizeof(err)), nullptr);
	EXPECT_NE(strstr(err, "overlap in guest memory"), nullptr) << err;
	guest_mem_region_unmap(&regs[1]);
	n = 1;
	add(0x4000, 0x1000, 0x11000, 0x2000); /* uva overlaps */
	EXPECT_EQ(guest_mem_table_build(regs, n, err, sizeof(err)), nullptr);
	EXPECT_NE(strstr(err, "overlap in front-end memory"), nullptr) << err;
	guest_mem_region_unmap(&regs[1]);
	n = 1;
	add(0x2000, 0x1000, 0x12000, 0x2000); /* adjacent: fine */
	struct guest_mem_table *t = guest_mem_table_build(regs, n, err, sizeof(err));

	EXPECT_NE(t, nullptr) << err;
	guest_mem_table_free(t, false, nullptr);
}

TEST_F(Table, MEM_9_FreeUnmapsOnlyWhatTheNewTableDropped)
{
	char err[160];

	add(0x0, 0x1000, 0x10000, 0x0);
	add(0x1000, 0x1000, 0x11000, 0x1000);
	struct guest_mem_table *old = guest_mem_table_build(regs, 2, err, sizeof(err));
	struct guest_mem_table *keep = guest_mem_table_build(regs, 1, err, sizeof(err));

	ASSERT_NE(old, nullptr);
	ASSERT_NE(keep, nullptr);
	EXPECT_TRUE(guest_mem_table_has_mapping(keep, regs[0].map_addr));
	EXPECT_FALSE(guest_mem_table_has_mapping(keep, regs[1].map_addr));
	EXPECT_FALSE(guest_mem_table_has_mapping(nullptr, regs[0].map_addr));
	EXPECT_EQ(m.maps(), 2);
	guest_mem_table_free(old, true, keep);
	EXPECT_EQ(m.maps(), 1) << "region 1 unmapped, region 0 kept for the new table";
	guest_mem_table_free(keep, true, nullptr);
	EXPECT_EQ(m.maps(), 0);
	n = 0; /* all unmapped */
}

TEST(GuestMem, MEM_1_EmptyTable)
{
	char err[160];
	struct guest_mem_region none[1] = {};
	struct guest_mem_table *t = guest_mem_table_build(none, 0, err, sizeof(err));

	ASSERT_NE(t, nullptr);
	uint64_t len = 1;

	EXPECT_EQ(guest_mem_gpa_to_hva(t, 0, &len), nullptr);
	EXPECT_EQ(guest_mem_uva_range(t, 0, 1), nullptr);
	guest_mem_table_free(t, true, nullptr);
	guest_mem_table_free(nullptr, true, nullptr);
}

/* ---- SEC-10: SIGBUS containment ----------------------------------------- */

namespace {

#ifdef __SANITIZE_ADDRESS__
constexpr bool UNDER_ASAN = true;
#else
constexpr bool UNDER_ASAN = false;
#endif

uint8_t
peek(const uint8_t *p)
{
	return *(const volatile uint8_t *)p;
}

void
poke(uint8_t *p, uint8_t v)
{
	*(volatile uint8_t *)p = v;
}

/*
 * Run @p body in a forked child with its stderr in a pipe. @return the
 * wait status; @p err receives what the child wrote to stderr.
 */
template <typename F>
int
in_child(F body, std::string *err)
{
	int p[2];

	if (pipe(p) != 0)
		return -1;
	fflush(nullptr);
	pid_t pid = fork();

	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		body();
		_exit(0); /* survived: the parent reports it */
	}
	close(p[1]);
	char buf[4096];
	ssize_t n;

	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		err->append(buf, (size_t)n);
	close(p[0]);
	int status = 0;

	waitpid(pid, &status, 0);
	return status;
}

/* Died of the fault: SIGBUS (default action) or SIGSEGV; under ASan its own
 * handler, which ours chains to, reports the BUS and exits non-zero. */
::testing::AssertionResult
died_of_fault(int status, const std::string &err)
{
	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGBUS || WTERMSIG(status) == SIGSEGV))
		return ::testing::AssertionSuccess();
	if (UNDER_ASAN &&
	    (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) &&
	    err.find("AddressSanitizer") != std::string::npos &&
	    err.find("BUS") != std::string::npos)
		return ::testing::AssertionSuccess();
	return ::testing::AssertionFailure()
	       << "child " << (WIFSIGNALED(status) ? "killed by signal " : "exited with ")
	       << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status))
	       << "; stderr: " << err;
}

} // namespace

TEST(GuestMem, SEC_10_TruncatedMemfdReadsZerosAndIsFlagged)
{
	Memfd m(4 * 4096), other(4096);
	struct guest_mem_region r, o;

	ASSERT_EQ(map(&r, m, 0, 4 * 4096, 0x10000, 0), 0);
	ASSERT_EQ(map(&o, other, 0x100000, 4096, 0x200000, 0), 0);
	const unsigned guards = guest_mem_guard_count();
	const uint64_t faults = guest_mem_sigbus_count();

	memset(r.host, 0xab, 4 * 4096);
	poke(o.host, 0xcd);
	EXPECT_FALSE(guest_mem_region_faulted(&r));
	/* The front-end shrinks the file under our mapping. */
	ASSERT_EQ(ftruncate(m.fd, 0), 0);
	EXPECT_EQ(peek(r.host + 3 * 4096 + 7), 0) << "the faulting read retried on zero pages";
	EXPECT_TRUE(guest_mem_region_faulted(&r));
	EXPECT_EQ(guest_mem_sigbus_count(), faults + 1);
	/* The whole region was replaced: later accesses do not fault again,
	 * writes land in private memory, not in the front-end's file. */
	EXPECT_EQ(peek(r.host), 0);
	poke(r.host + 5, 0x11);
	EXPECT_EQ(peek(r.host + 5), 0x11);
	EXPECT_EQ(guest_mem_sigbus_count(), faults + 1);
	struct stat st;

	ASSERT_EQ(fstat(m.fd, &st), 0);
	EXPECT_EQ(st.st_size, 0);
	EXPECT_EQ(m.maps(), 0) << "the file is no longer mapped";
	/* Another region is untouched. */
	EXPECT_FALSE(guest_mem_region_faulted(&o));
	EXPECT_EQ(peek(o.host), 0xcd);
	EXPECT_EQ(guest_mem_guard_count(), guards);
	/* Unmapping drops the guard, faulted or not. */
	guest_mem_region_unmap(&r);
	EXPECT_FALSE(guest_mem_region_faulted(&r));
	EXPECT_EQ(guest_mem_guard_count(), guards - 1);
	guest_mem_region_unmap(&o);
	EXPECT_EQ(guest_mem_guard_count(), guards - 2);
}

/*
 * The control thread waits on guest_mem_sigbus_fd() instead of polling the
 * count: every contained fault is an edge for every edge-triggered watcher
 * (two epoll sets here, as two control loops), none comes without a fault,
 * and a watch added after a fault reports the fd readable at once.
 */
TEST(GuestMem, SEC_10_EachContainedFaultWakesEveryWatcher)
{
	ASSERT_EQ(guest_mem_sigbus_init(), 0);
	const int fd = guest_mem_sigbus_fd();

	ASSERT_GE(fd, 0);
	int ep[2] = { epoll_create1(EPOLL_CLOEXEC), epoll_create1(EPOLL_CLOEXEC) };
	auto edges = [&](int e) {
		struct epoll_event ev[4];

		return epoll_wait(e, ev, 4, 0);
	};

	for (int e : ep) {
		struct epoll_event ev = {};

		ev.events = EPOLLIN | EPOLLET;
		ASSERT_EQ(epoll_ctl(e, EPOLL_CTL_ADD, fd, &ev), 0);
		edges(e); /* readable already if an earlier test faulted */
		EXPECT_EQ(edges(e), 0) << "an edge without a fault";
	}
	for (int round = 0; round < 2; round++) {
		Memfd m(4096);
		struct guest_mem_region r;

		ASSERT_EQ(map(&r, m, 0, 4096, 0x10000, 0), 0);
		ASSERT_EQ(ftruncate(m.fd, 0), 0);
		EXPECT_EQ(peek(r.host + 9), 0);
		for (int e : ep) {
			EXPECT_EQ(edges(e), 1) << "round " << round;
			EXPECT_EQ(edges(e), 0) << "round " << round << ": one edge per fault";
		}
		guest_mem_region_unmap(&r);
	}
	/* A watcher that comes late sees the fd readable at once. */
	int late = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {};

	ev.events = EPOLLIN | EPOLLET;
	ASSERT_EQ(epoll_ctl(late, EPOLL_CTL_ADD, fd, &ev), 0);
	EXPECT_EQ(edges(late), 1);
	for (int e : { ep[0], ep[1], late })
		close(e);
}

TEST(GuestMem, SEC_10_PartialTruncationReplacesTheWholeRegion)
{
	Memfd m(3 * 4096);
	struct guest_mem_region r;

	ASSERT_EQ(map(&r, m, 0, 3 * 4096, 0, 0), 0);
	memset(r.host, 0x5a, 3 * 4096);
	ASSERT_EQ(ftruncate(m.fd, 4096), 0);
	/* What is still backed reads as before and does not fault. */
	EXPECT_EQ(peek(r.host + 100), 0x5a);
	EXPECT_FALSE(guest_mem_region_faulted(&r));
	/* Past the new end: the fault replaces the region as a whole (the
	 * port is lost anyway; one fault, one flag). */
	EXPECT_EQ(peek(r.host + 2 * 4096), 0);
	EXPECT_TRUE(guest_mem_region_faulted(&r));
	EXPECT_EQ(peek(r.host + 100), 0);
	guest_mem_region_unmap(&r);
}

TEST(GuestMem, SEC_10_OffsetRegionFlaggedThroughItsMapping)
{
	/* The region starts 8 KiB into the file; the mapping starts at 0. */
	Memfd m(4 * 4096);
	struct guest_mem_region r;

	ASSERT_EQ(map(&r, m, 0x1000, 2 * 4096, 0x7f0000001000, 2 * 4096), 0);
	ASSERT_EQ(ftruncate(m.fd, 4096), 0);
	EXPECT_EQ(peek(r.host), 0);
	EXPECT_TRUE(guest_mem_region_faulted(&r));
	guest_mem_region_unmap(&r);
}

TEST(GuestMem, SEC_10_FaultOutsideGuestMemoryStillKills)
{
	/* The handler is installed (a guest region is live) but the fault is in
	 * a mapping guest_mem does not know: it must still be fatal. */
	Memfd guest(4096), plain(2 * 4096);
	struct guest_mem_region r;

	ASSERT_EQ(map(&r, guest, 0, 4096, 0, 0), 0);
	uint8_t *p = (uint8_t *)mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
				     plain.fd, 0);

	ASSERT_NE(p, MAP_FAILED);
	std::string err;
	int status = in_child(
		[&] {
			if (ftruncate(plain.fd, 0) == 0)
				(void)peek(p + 4096);
		},
		&err);

	EXPECT_TRUE(died_of_fault(status, err));
	/* A SIGBUS sent, not raised by a fault, is not contained either. */
	err.clear();
	status = in_child([] { kill(getpid(), SIGBUS); }, &err);
	EXPECT_TRUE(WIFSIGNALED(status) ||
		    (UNDER_ASAN && WIFEXITED(status) && WEXITSTATUS(status) != 0))
		<< "status 0x" << std::hex << status << " stderr: " << err;
	/* And the guest region itself still works in the parent. */
	EXPECT_FALSE(guest_mem_region_faulted(&r));
	munmap(p, 2 * 4096);
	guest_mem_region_unmap(&r);
}

namespace {

void
marker_handler(int, siginfo_t *, void *)
{
	static const char msg[] = "previous SIGBUS handler ran\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(42);
}

/* In a fresh process: a handler of its own first, then guest memory (which
 * installs ours on top), then a fault in a mapping that is not guest memory. */
[[noreturn]] void
foreign_fault_after_own_handler()
{
	struct sigaction sa;
	Memfd guest(4096), plain(4096);
	struct guest_mem_region r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = marker_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, nullptr);
	if (map(&r, guest, 0, 4096, 0, 0) != 0)
		_exit(1);
	uint8_t *p = (uint8_t *)mmap(nullptr, 4096, PROT_READ, MAP_SHARED, plain.fd, 0);

	if (p == MAP_FAILED || ftruncate(plain.fd, 0) != 0)
		_exit(2);
	(void)peek(p);
	_exit(3);
}

} // namespace

TEST(GuestMem, SEC_10_PreviousHandlerGetsForeignFaults)
{
	/* "threadsafe" re-executes the test binary for the death statement, so
	 * the child has not installed our handler yet (a forked child would
	 * inherit it from the earlier tests): the handler that was there first
	 * must be called for faults that are not ours. */
	GTEST_FLAG_SET(death_test_style, "threadsafe");
	EXPECT_EXIT(foreign_fault_after_own_handler(), ::testing::ExitedWithCode(42),
		    "previous SIGBUS handler ran");
	GTEST_FLAG_SET(death_test_style, "fast");
}

TEST(GuestMem, SEC_10_ConcurrentFaultsMapsAndUnmaps)
{
	/* Threads map, truncate, fault and unmap their own regions while the
	 * others do the same: entries are claimed and freed under handlers
	 * searching the registry. Two threads fault on one shared region too. */
	constexpr int THREADS = 4;
	const int rounds = UNDER_ASAN ? 50 : 200;
	const uint64_t faults = guest_mem_sigbus_count();
	const unsigned guards = guest_mem_guard_count();
	std::atomic<int> bad{ 0 };
	std::vector<std::thread> th;

	for (int t = 0; t < THREADS; t++)
		th.emplace_back([&, t] {
			for (int i = 0; i < rounds; i++) {
				Memfd m(2 * 4096);
				struct guest_mem_region r;

				if (map(&r, m, 0, 2 * 4096, 0, 0) != 0) {
					bad++;
					return;
				}
				poke(r.host + 4096, (uint8_t)(t + 1));
				if (ftruncate(m.fd, (t & 1) ? 0 : 4096) != 0 ||
				    peek(r.host + 4096 + 9) != 0 || !guest_mem_region_faulted(&r))
					bad++;
				guest_mem_region_unmap(&r);
			}
		});
	{
		Memfd m(64 * 4096);
		struct guest_mem_region r;
		std::atomic<bool> go{ false };

		ASSERT_EQ(map(&r, m, 0, 64 * 4096, 0, 0), 0);
		ASSERT_EQ(ftruncate(m.fd, 0), 0);
		std::thread a([&] {
			while (!go) {
			}
			if (peek(r.host + 7) != 0)
				bad++;
		});
		std::thread b([&] {
			while (!go) {
			}
			if (peek(r.host + 63 * 4096) != 0)
				bad++;
		});

		go = true;
		a.join();
		b.join();
		EXPECT_TRUE(guest_mem_region_faulted(&r));
		guest_mem_region_unmap(&r);
	}
	for (auto &x : th)
		x.join();
	EXPECT_EQ(bad.load(), 0);
	EXPECT_EQ(guest_mem_sigbus_count(), faults + (uint64_t)(THREADS * rounds) + 1)
		<< "one contained fault per region, however many threads hit it";
	EXPECT_EQ(guest_mem_guard_count(), guards);
}

TEST(GuestMem, SEC_10_GuardsOfOtherMappings)
{
	/* The dirty log is mapped by lib/vhost_ctrl and guarded through the
	 * public calls. */
	Memfd m(2 * 4096);
	void *p = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);

	ASSERT_NE(p, MAP_FAILED);
	ASSERT_EQ(guest_mem_sigbus_init(), 0);
	int g = guest_mem_guard_add(p, 2 * 4096);

	ASSERT_GT(g, 0);
	EXPECT_FALSE(guest_mem_guard_faulted((uint32_t)g, p));
	ASSERT_EQ(ftruncate(m.fd, 0), 0);
	poke((uint8_t *)p + 4096, 1);
	EXPECT_TRUE(guest_mem_guard_faulted((uint32_t)g, p));
	/* A handle with another address (a stale copy) neither matches nor frees. */
	EXPECT_FALSE(guest_mem_guard_faulted((uint32_t)g, (uint8_t *)p + 4096));
	const unsigned n = guest_mem_guard_count();

	guest_mem_guard_del((uint32_t)g, (uint8_t *)p + 4096);
	EXPECT_EQ(guest_mem_guard_count(), n);
	guest_mem_guard_del((uint32_t)g, p);
	EXPECT_EQ(guest_mem_guard_count(), n - 1);
	EXPECT_FALSE(guest_mem_guard_faulted((uint32_t)g, p));
	guest_mem_guard_del(0, p); /* no guard: ignored */
	munmap(p, 2 * 4096);
}
