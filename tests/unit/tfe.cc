/* SPDX-License-Identifier: BSD-3-Clause */
#include "tfe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tfe {

namespace {

uint64_t
now_ms()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, nullptr);
}

std::string
hex(uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return b;
}

std::atomic<unsigned> memfd_counter{ 0 };
std::atomic<uint64_t> eventfd_counter{ 0x5a000001 };

} // namespace

/* ------------------------------------------------------------------------ */
/* Rings                                                                    */

struct vhost_msg_vring_addr
Vring::addr(uint32_t flags, uint64_t log_gpa) const
{
	struct vhost_msg_vring_addr a = {};

	a.index = index;
	a.flags = flags;
	a.desc_user_addr = desc;
	a.used_user_addr = used;
	a.avail_user_addr = avail;
	a.log_guest_addr = log_gpa;
	return a;
}

void
Vring::split_set_desc(uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	SplitDesc d = { gpa, len, flags, next };

	memcpy(h_desc + (size_t)i * sizeof(d), &d, sizeof(d));
}

void
Vring::split_avail_push(uint16_t head)
{
	uint16_t idx = split_avail_idx();

	memcpy(h_avail + 4 + 2 * (size_t)(idx % num), &head, 2);
	__atomic_store_n((uint16_t *)(h_avail + 2), (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

uint16_t
Vring::split_avail_idx() const
{
	return __atomic_load_n((const uint16_t *)(h_avail + 2), __ATOMIC_ACQUIRE);
}

void
Vring::split_set_avail_idx(uint16_t v)
{
	__atomic_store_n((uint16_t *)(h_avail + 2), v, __ATOMIC_RELEASE);
}

uint16_t
Vring::split_used_idx() const
{
	return __atomic_load_n((const uint16_t *)(h_used + 2), __ATOMIC_ACQUIRE);
}

void
Vring::split_set_used_idx(uint16_t v)
{
	__atomic_store_n((uint16_t *)(h_used + 2), v, __ATOMIC_RELEASE);
}

void
Vring::split_used_elem(uint16_t i, uint32_t *id, uint32_t *len) const
{
	const uint8_t *e = h_used + 4 + 8 * (size_t)(i % num);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

void
Vring::packed_set_desc(uint16_t slot, uint64_t gpa, uint32_t len, uint16_t id, uint16_t flags,
		       bool wrap)
{
	PackedDesc d = { gpa, len, id, 0 };
	uint8_t *p = h_desc + (size_t)slot * sizeof(d);
	uint16_t f = (uint16_t)(flags & ~(PACKED_F_AVAIL | PACKED_F_USED));

	f |= wrap ? PACKED_F_AVAIL : PACKED_F_USED;
	memcpy(p, &d, sizeof(d));
	/* Flags last, released: the device reads them first (DP-10). */
	__atomic_store_n((uint16_t *)(p + 14), f, __ATOMIC_RELEASE);
}

bool
Vring::packed_is_used(uint16_t slot, bool wrap) const
{
	uint16_t f = __atomic_load_n((const uint16_t *)(h_desc + (size_t)slot * 16 + 14),
				     __ATOMIC_ACQUIRE);
	bool a = (f & PACKED_F_AVAIL) != 0, u = (f & PACKED_F_USED) != 0;

	return a == u && a == wrap;
}

/* ------------------------------------------------------------------------ */
/* Guest memory                                                             */

GuestMem::GuestMem(uint64_t size, uint64_t gpa, uint64_t uva, bool map)
	: size_(size), gpa_(gpa), uva_(uva)
{
	char name[64];

	snprintf(name, sizeof(name), "vus-tfe-%d-%u", (int)getpid(), memfd_counter++);
	name_ = name;
	fd_ = memfd_create(name, MFD_CLOEXEC);
	if (fd_ < 0 || ftruncate(fd_, (off_t)size) != 0) {
		ADD_FAILURE() << "memfd_create/ftruncate " << size << ": " << strerror(errno);
		return;
	}
	if (!map)
		return;
	void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
	if (p == MAP_FAILED) {
		ADD_FAILURE() << "mmap of guest memory: " << strerror(errno);
		return;
	}
	host_ = (uint8_t *)p;
}

GuestMem::~GuestMem()
{
	if (host_ != nullptr)
		munmap(host_, size_);
	if (fd_ >= 0)
		::close(fd_);
}

struct vhost_msg_region
GuestMem::region(uint64_t off, uint64_t len) const
{
	if (len == 0)
		len = size_ - off;
	return region_at(gpa_ + off, len, uva_ + off, off);
}

struct vhost_msg_region
GuestMem::region_at(uint64_t gpa, uint64_t size, uint64_t uva, uint64_t off)
{
	struct vhost_msg_region r = {};

	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = uva;
	r.mmap_offset = off;
	return r;
}

Vring
GuestMem::ring(unsigned index, uint32_t num, bool packed, uint64_t off) const
{
	Vring r;

	if (off == 0)
		off = RING_AREA + index * RING_SLOT;
	r.index = index;
	r.num = num;
	r.packed = packed;
	r.desc = uva_ + off;
	if (packed) {
		r.avail = r.desc + 16ULL * num; /* driver event area */
		r.used = r.avail + 64;          /* device event area */
	} else {
		r.avail = r.desc + 16ULL * num;
		r.used = (r.avail + 6 + 2ULL * num + 63) & ~63ULL;
	}
	if (host_ != nullptr) {
		r.h_desc = host_ + (r.desc - uva_);
		r.h_avail = host_ + (r.avail - uva_);
		r.h_used = host_ + (r.used - uva_);
	}
	return r;
}

int
GuestMem::backend_maps() const
{
	return fds::count_maps("/memfd:" + name_ + " (deleted)") - (host_ != nullptr ? 1 : 0);
}

int
GuestMem::backend_maps_dontdump_noexec() const
{
	std::ifstream in("/proc/self/smaps");
	std::string line, needle = "/memfd:" + name_ + " (deleted)";
	bool in_entry = false, noexec = false;
	int n = 0;

	while (std::getline(in, line)) {
		/* Entry headers start with a hex address range. */
		bool header = !line.empty() && isxdigit((unsigned char)line[0]) &&
			      line.find('-') != std::string::npos &&
			      line.find(':') > line.find(' ');
		if (header) {
			in_entry = line.find(needle) != std::string::npos;
			if (in_entry) {
				std::istringstream ss(line);
				std::string range, perms;

				ss >> range >> perms;
				noexec = perms.find('x') == std::string::npos;
			}
			continue;
		}
		if (in_entry && line.rfind("VmFlags:", 0) == 0) {
			if (noexec && line.find(" dd") != std::string::npos)
				n++;
			in_entry = false;
		}
	}
	return n;
}

/* ------------------------------------------------------------------------ */
/* fd and mapping accounting                                                */

namespace fds {

int
count_open()
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == nullptr)
		return -1;
	while (struct dirent *e = readdir(d))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

std::string
key_of(int fd)
{
	char path[64], target[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return "";
	target[n] = '\0';
	if (strcmp(target, "anon_inode:[eventfd]") != 0)
		return target;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	std::ifstream in(path);
	std::string line, key = "eventfd";

	/* Kernel ids are recycled once closed; the counter set by
	 * make_eventfd() is not (nothing here writes to these fds). */
	while (std::getline(in, line))
		if (line.rfind("eventfd-count:", 0) == 0 || line.rfind("eventfd-id:", 0) == 0)
			key += "|" + line;
	return key;
}

int
count_key(const std::string &key)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == nullptr || key.empty())
		return -1;
	while (struct dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);

		if (fd != dirfd(d) && key_of(fd) == key)
			n++;
	}
	closedir(d);
	return n;
}

int
make_eventfd()
{
	/* The counter is never read by the back-end (poll mode); a distinct
	 * value also identifies the fd on kernels without eventfd-id. */
	int fd = eventfd((unsigned int)(eventfd_counter++ & 0x7fffffff),
			 EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		ADD_FAILURE() << "eventfd: " << strerror(errno);
	return fd;
}

int
count_maps(const std::string &needle)
{
	std::ifstream in("/proc/self/maps");
	std::string line;
	int n = 0;

	while (std::getline(in, line))
		if (line.find(needle) != std::string::npos)
			n++;
	return n;
}

} // namespace fds

/* ------------------------------------------------------------------------ */
/* Connection                                                               */

Tfe::Tfe(std::string name) : name_(std::move(name)) {}

Tfe::~Tfe()
{
	close();
	close_listener();
	for (int fd : kick_)
		if (fd >= 0)
			::close(fd);
	for (int fd : call_)
		if (fd >= 0)
			::close(fd);
}

static int
unix_addr(const std::string &path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path.size() >= sizeof(sa->sun_path))
		return -1;
	memcpy(sa->sun_path, path.c_str(), path.size() + 1);
	return 0;
}

static void
set_send_timeout(int fd)
{
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

AssertionResult
Tfe::connect(const std::string &path, int timeout_ms)
{
	struct sockaddr_un sa;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	close();
	if (unix_addr(path, &sa) != 0)
		return AssertionFailure() << name_ << ": socket path too long: " << path;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return AssertionFailure() << name_ << ": socket: " << strerror(errno);
		if (::connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			set_send_timeout(fd);
			fd_ = fd;
			return AssertionSuccess();
		}
		int err = errno;

		::close(fd);
		if (now_ms() >= deadline)
			return AssertionFailure()
			       << name_ << ": connect " << path << ": " << strerror(err);
		sleep_ms(5);
	}
}

AssertionResult
Tfe::listen(const std::string &path)
{
	struct sockaddr_un sa;

	close_listener();
	if (unix_addr(path, &sa) != 0)
		return AssertionFailure() << name_ << ": socket path too long: " << path;
	unlink(path.c_str());
	listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd_ < 0 || bind(listen_fd_, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    ::listen(listen_fd_, 4) != 0)
		return AssertionFailure()
		       << name_ << ": listen " << path << ": " << strerror(errno);
	listen_path_ = path;
	return AssertionSuccess();
}

AssertionResult
Tfe::accept(int timeout_ms)
{
	struct pollfd p = { listen_fd_, POLLIN, 0 };

	if (listen_fd_ < 0)
		return AssertionFailure() << name_ << ": accept without listen";
	int r = poll(&p, 1, timeout_ms);

	if (r <= 0)
		return AssertionFailure() << name_ << ": no connection from the back-end within "
					  << timeout_ms << " ms";
	int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);

	if (fd < 0)
		return AssertionFailure() << name_ << ": accept: " << strerror(errno);
	close();
	set_send_timeout(fd);
	fd_ = fd;
	return AssertionSuccess();
}

void
Tfe::close()
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = -1;
}

void
Tfe::close_listener()
{
	if (listen_fd_ >= 0) {
		::close(listen_fd_);
		unlink(listen_path_.c_str());
	}
	listen_fd_ = -1;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                  */

std::vector<uint8_t>
Tfe::frame(uint32_t req, uint32_t flags, uint32_t size, const void *payload, size_t len)
{
	std::vector<uint8_t> b(VHOST_MSG_HDR_SIZE + len);
	struct vhost_msg_hdr h = { req, flags, size };

	memcpy(b.data(), &h, sizeof(h));
	if (len != 0)
		memcpy(b.data() + VHOST_MSG_HDR_SIZE, payload, len);
	return b;
}

AssertionResult
Tfe::send_bytes(const void *buf, size_t len, const std::vector<int> &fds)
{
	const uint8_t *p = (const uint8_t *)buf;
	size_t off = 0;
	bool first = true;

	if (fd_ < 0)
		return AssertionFailure() << name_ << ": send while not connected";
	while (off < len || first) {
		struct iovec iov = { (void *)(p + off), len - off };
		struct msghdr mh = {};
		std::vector<char> cbuf;

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (first && !fds.empty()) {
			cbuf.assign(CMSG_SPACE(fds.size() * sizeof(int)), 0);
			mh.msg_control = cbuf.data();
			mh.msg_controllen = cbuf.size();
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
			memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
		}
		ssize_t n = sendmsg(fd_, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return AssertionFailure() << name_ << ": sendmsg: " << strerror(errno);
		off += (size_t)n;
		first = false;
		if (len == 0)
			break;
	}
	return AssertionSuccess();
}

AssertionResult
Tfe::send_split(const void *buf, size_t len, size_t chunk, const std::vector<int> &fds)
{
	const uint8_t *p = (const uint8_t *)buf;

	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		AssertionResult r = send_bytes(p + off, n, off == 0 ? fds : std::vector<int>());

		if (!r)
			return r;
	}
	return AssertionSuccess();
}

AssertionResult
Tfe::send_raw(uint32_t req, uint32_t flags, const void *payload, size_t len,
	      const std::vector<int> &fds, int64_t size_field)
{
	uint32_t size = size_field < 0 ? (uint32_t)len : (uint32_t)size_field;
	std::vector<uint8_t> b = frame(req, flags, size, payload, len);

	last_req_ = req;
	return send_bytes(b.data(), b.size(), fds);
}

AssertionResult
Tfe::send(uint32_t req, const void *payload, uint32_t size, bool need_reply,
	  const std::vector<int> &fds)
{
	uint32_t flags = VHOST_MSG_VERSION | (need_reply ? VHOST_MSG_FLAG_NEED_REPLY : 0);

	return send_raw(req, flags, payload, size, fds);
}

AssertionResult
Tfe::send_u64(uint32_t req, uint64_t v, bool need_reply, const std::vector<int> &fds)
{
	return send(req, &v, sizeof(v), need_reply, fds);
}

AssertionResult
Tfe::send_state(uint32_t req, uint32_t index, uint32_t num, bool need_reply)
{
	struct vhost_msg_vring_state s = { index, num };

	return send(req, &s, sizeof(s), need_reply);
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

AssertionResult
Tfe::wait_readable(int timeout_ms, bool *readable)
{
	struct pollfd p = { fd_, POLLIN, 0 };
	int r;

	if (fd_ < 0)
		return AssertionFailure() << name_ << ": not connected";
	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return AssertionFailure() << name_ << ": poll: " << strerror(errno);
	*readable = r > 0;
	return AssertionSuccess();
}

/* Read exactly @len bytes; fails on timeout, EOF or fds attached (a reply
 * never carries fds: rust-vmm front-ends reject them, COMPAT-7). */
static AssertionResult
read_exact(int fd, void *buf, size_t len, int timeout_ms, const std::string &who)
{
	uint8_t *p = (uint8_t *)buf;
	size_t got = 0;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	while (got < len) {
		uint64_t now = now_ms();
		struct pollfd pf = { fd, POLLIN, 0 };

		if (now >= deadline)
			return AssertionFailure() << who << ": timed out after " << timeout_ms
						  << " ms with " << got << "/" << len << " bytes";
		if (poll(&pf, 1, (int)(deadline - now)) <= 0)
			continue;
		union {
			char b[CMSG_SPACE(16 * sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { p + got, len - got };
		struct msghdr mh = {};

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.b;
		mh.msg_controllen = sizeof(cbuf.b);
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return AssertionFailure() << who << ": recv: " << strerror(errno);
		if (n == 0)
			return AssertionFailure()
			       << who << ": connection closed by the back-end after " << got << "/"
			       << len << " bytes";
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != nullptr;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t i = 0; i < k; i++) {
					int f;

					memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
					::close(f);
				}
				return AssertionFailure()
				       << who << ": reply carries " << k << " fd(s)";
			}
		}
		got += (size_t)n;
	}
	return AssertionSuccess();
}

AssertionResult
Tfe::read_reply(uint32_t req, uint32_t size, void *out, int timeout_ms)
{
	struct vhost_msg_hdr h;
	std::string who = name_ + " reply to " + vhost_msg_name(req) + " (" + std::to_string(req) +
			  ")";
	AssertionResult r = read_exact(fd_, &h, sizeof(h), timeout_ms, who);

	if (!r)
		return r;
	if (h.request != req || h.flags != VHOST_MSG_REPLY_FLAGS || h.size != size) {
		AssertionResult f = AssertionFailure();

		f << who << ": bad header {request " << h.request << " ("
		  << vhost_msg_name(h.request) << "), flags " << hex(h.flags) << ", size " << h.size
		  << "}, want {" << req << ", 0x5, " << size << "}";
		if (h.size <= 64) {
			uint8_t junk[64];

			if (read_exact(fd_, junk, h.size, 200, who))
				if (h.size == 8) {
					uint64_t v;

					memcpy(&v, junk, 8);
					f << " (payload u64 " << hex(v) << ")";
				}
		}
		return f;
	}
	return read_exact(fd_, out, size, timeout_ms, who);
}

AssertionResult
Tfe::expect_ack(uint64_t v)
{
	return expect_ack_to(last_req_, v);
}

AssertionResult
Tfe::expect_ack_to(uint32_t req, uint64_t v)
{
	uint64_t got;
	AssertionResult r = read_reply(req, 8, &got);

	if (!r)
		return r;
	if (got != v)
		return AssertionFailure() << name_ << ": " << vhost_msg_name(req) << " acked with "
					  << hex(got) << ", want " << hex(v);
	return AssertionSuccess();
}

AssertionResult
Tfe::expect_nack()
{
	return expect_nack_to(last_req_);
}

AssertionResult
Tfe::expect_nack_to(uint32_t req)
{
	uint64_t got;
	AssertionResult r = read_reply(req, 8, &got);

	if (!r)
		return r;
	if (got == 0)
		return AssertionFailure()
		       << name_ << ": " << vhost_msg_name(req) << " acked with 0, want a nack";
	return AssertionSuccess();
}

AssertionResult
Tfe::expect_silence(int ms)
{
	bool readable;
	AssertionResult r = wait_readable(ms, &readable);

	if (!r)
		return r;
	if (!readable)
		return AssertionSuccess();
	struct vhost_msg_hdr h;
	ssize_t n = recv(fd_, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);

	if (n == 0)
		return AssertionFailure() << name_ << ": expected silence, the back-end closed";
	if (n == (ssize_t)sizeof(h))
		return AssertionFailure()
		       << name_ << ": expected silence, got {request " << h.request << " ("
		       << vhost_msg_name(h.request) << "), flags " << hex(h.flags) << ", size "
		       << h.size << "}";
	return AssertionFailure() << name_ << ": expected silence, " << n << " bytes readable";
}

AssertionResult
Tfe::expect_closed(int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		bool readable;
		uint64_t now = now_ms();
		AssertionResult r = wait_readable(now < deadline ? (int)(deadline - now) : 0,
						  &readable);

		if (!r)
			return r;
		if (!readable)
			return AssertionFailure()
			       << name_ << ": connection still open after " << timeout_ms << " ms";
		struct vhost_msg_hdr h;
		ssize_t n = recv(fd_, &h, sizeof(h), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			close();
			return AssertionSuccess();
		}
		if (n > 0)
			return AssertionFailure()
			       << name_ << ": expected a close, got data (request "
			       << (n == (ssize_t)sizeof(h) ? h.request : 0) << ", " << n
			       << " bytes)";
	}
}

/* ------------------------------------------------------------------------ */
/* Request + reply                                                          */

AssertionResult
Tfe::get_u64(uint32_t req, uint64_t *out, bool need_reply)
{
	AssertionResult r = send(req, nullptr, 0, need_reply);

	if (!r)
		return r;
	return read_reply(req, 8, out);
}

AssertionResult
Tfe::get_vring_base(uint32_t index, uint32_t *out, bool need_reply)
{
	struct vhost_msg_vring_state s;
	AssertionResult r = send_state(VHOST_USER_GET_VRING_BASE, index, 0, need_reply);

	if (!r)
		return r;
	r = read_reply(VHOST_USER_GET_VRING_BASE, sizeof(s), &s);
	if (!r)
		return r;
	if (s.index != index)
		return AssertionFailure() << name_ << ": GET_VRING_BASE reply for ring " << s.index
					  << ", asked " << index;
	*out = s.num;
	return AssertionSuccess();
}

AssertionResult
Tfe::req_ok(uint32_t req, const void *payload, uint32_t size, bool need_reply,
	    const std::vector<int> &fds)
{
	AssertionResult r = send(req, payload, size, need_reply, fds);

	if (!r || !need_reply)
		return r;
	return expect_ack(0);
}

AssertionResult
Tfe::u64_ok(uint32_t req, uint64_t v, bool need_reply, const std::vector<int> &fds)
{
	return req_ok(req, &v, sizeof(v), need_reply, fds);
}

AssertionResult
Tfe::state_ok(uint32_t req, uint32_t index, uint32_t num, bool need_reply)
{
	struct vhost_msg_vring_state s = { index, num };

	return req_ok(req, &s, sizeof(s), need_reply);
}

AssertionResult
Tfe::barrier()
{
	uint64_t f;

	return get_u64(VHOST_USER_GET_FEATURES, &f);
}

/* ------------------------------------------------------------------------ */
/* Memory and rings                                                         */

GuestMem &
Tfe::mem()
{
	if (mem_ == nullptr)
		mem_.reset(new GuestMem(STD_MEM_SIZE));
	return *mem_;
}

AssertionResult
Tfe::set_mem_table(const std::vector<struct vhost_msg_region> &regions, const std::vector<int> &fds,
		   bool need_reply)
{
	struct vhost_msg_mem_table mt = {};
	uint32_t n = (uint32_t)regions.size();

	if (n > VHOST_MSG_MAX_TABLE_REGIONS)
		return AssertionFailure() << "set_mem_table: use send_raw for " << n << " regions";
	mt.nregions = n;
	for (uint32_t i = 0; i < n; i++)
		mt.regions[i] = regions[i];
	return req_ok(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32 * n, need_reply, fds);
}

AssertionResult
Tfe::set_mem_table(const GuestMem &m, bool need_reply)
{
	return set_mem_table({ m.region() }, { m.fd() }, need_reply);
}

Vring &
Tfe::ring(unsigned index, uint32_t num, bool packed)
{
	if (rings_.size() <= index)
		rings_.resize(index + 1);
	Vring &r = rings_[index];

	if (r.num != num || r.packed != packed || r.h_desc == nullptr)
		r = mem().ring(index, num, packed);
	return r;
}

int
Tfe::kick_fd(unsigned index)
{
	if (kick_.size() <= index)
		kick_.resize(index + 1, -1);
	if (kick_[index] < 0)
		kick_[index] = fds::make_eventfd();
	return kick_[index];
}

int
Tfe::call_fd(unsigned index)
{
	if (call_.size() <= index)
		call_.resize(index + 1, -1);
	if (call_[index] < 0)
		call_[index] = fds::make_eventfd();
	return call_[index];
}

AssertionResult
Tfe::setup_ring(unsigned index, const Opts &s, bool call)
{
	bool nr = s.need_reply_all;
	Vring &r = ring(index, s.num, (s.features & F_PACKED) != 0);
	struct vhost_msg_vring_addr a = r.addr();
	AssertionResult res = state_ok(VHOST_USER_SET_VRING_NUM, index, s.num, nr);

	if (res)
		res = state_ok(VHOST_USER_SET_VRING_BASE, index, s.base, nr);
	if (res)
		res = req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), nr);
	if (res && call)
		res = u64_ok(VHOST_USER_SET_VRING_CALL, index, nr, { call_fd(index) });
	if (res)
		res = u64_ok(VHOST_USER_SET_VRING_KICK, index, nr, { kick_fd(index) });
	return res;
}

AssertionResult
Tfe::negotiate(uint64_t protocol, bool get_protocol)
{
	AssertionResult r = get_u64(VHOST_USER_GET_FEATURES, &features_offered);

	if (!r || !(features_offered & F_PROTO))
		return r;
	if (get_protocol) {
		r = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &protocol_offered);
		if (!r)
			return r;
	}
	protocol_acked = protocol;
	r = u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, protocol, false);
	/* Handled before the caller looks at the port's state. */
	return r ? barrier() : r;
}

AssertionResult
Tfe::std_setup(const Opts &s)
{
	bool nr = s.need_reply_all;
	AssertionResult r = negotiate(s.protocol);

	if (r)
		r = req_ok(VHOST_USER_SET_OWNER, nullptr, 0, nr);
	for (unsigned i = 0; r && i < s.nrings; i++)
		r = u64_ok(VHOST_USER_SET_VRING_CALL, i, nr, { call_fd(i) });
	if (r)
		r = u64_ok(VHOST_USER_SET_FEATURES, s.features, nr);
	if (r)
		r = set_mem_table(mem(), nr || (s.protocol & P_ACK));
	for (unsigned i = 0; r && i < s.nrings; i++) {
		r = setup_ring(i, s);
		if (r && (s.features & F_PROTO) && !s.skip_enable)
			r = state_ok(VHOST_USER_SET_VRING_ENABLE, i, 1, nr);
	}
	if (r)
		r = barrier();
	if (!r)
		r << " (in std-setup)";
	return r;
}

/* ------------------------------------------------------------------------ */
/* Front-end orderings (spec §4)                                            */

static int
backend_channel()
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	/* The TFE keeps neither end: the back-end holds one, the other is
	 * closed so writes to the channel would fail, not block. */
	::close(sv[1]);
	return sv[0];
}

static AssertionResult
send_backend_req_fd(Tfe &t, bool nr)
{
	int fd = backend_channel();
	AssertionResult r = t.req_ok(VHOST_USER_SET_BACKEND_REQ_FD, nullptr, 0, nr, { fd });

	::close(fd);
	return r;
}

#define STEP(expr) \
	do { \
		AssertionResult r_ = (expr); \
		if (!r_) \
			return r_ << " [at " << #expr << "]"; \
	} while (0)

AssertionResult
qemu_bringup(Tfe &t, const Bringup &b)
{
	unsigned nrings = 2 * b.pairs;
	uint64_t qn = 0, slots = 0, st = 0;
	Opts s;

	s.features = b.features;
	s.num = b.num;
	s.base = (b.features & F_PACKED) ? 0x80008000u : 0;
	/* vhost_dev_init, once per queue pair on the same socket. */
	for (unsigned pair = 0; pair < b.pairs; pair++) {
		STEP(t.get_u64(VHOST_USER_GET_FEATURES, &t.features_offered));
		STEP(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &t.protocol_offered));
		uint64_t p = QEMU_PROTOCOL & t.protocol_offered & b.protocol_mask;

		t.protocol_acked = p;
		STEP(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, p, false));
		if (p & P_MQ) {
			STEP(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &qn));
			if (qn < b.pairs)
				return AssertionFailure()
				       << "GET_QUEUE_NUM " << qn << " < " << b.pairs;
		}
		if (p & P_SLOTS)
			STEP(t.get_u64(VHOST_USER_GET_MAX_MEM_SLOTS, &slots));
		if (pair == 0 && (p & P_BREQ))
			STEP(send_backend_req_fd(t, (p & P_ACK) != 0));
		STEP(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false));
		STEP(t.get_u64(VHOST_USER_GET_FEATURES, &t.features_offered));
		for (unsigned r = 2 * pair; r < 2 * pair + 2; r++) {
			STEP(t.u64_ok(VHOST_USER_SET_VRING_CALL, r, false, { t.call_fd(r) }));
			int err = fds::make_eventfd();
			AssertionResult res = t.u64_ok(VHOST_USER_SET_VRING_ERR, r, false, { err });

			::close(err);
			STEP(res);
		}
	}
	bool ack = (t.protocol_acked & P_ACK) != 0;
	bool status = (t.protocol_acked & P_STATUS) != 0;

	/* Guest driver load: queue pair count set before the features. */
	for (unsigned r = 0; r < nrings; r++)
		STEP(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, r < 2 ? 1 : 0, ack));
	/* vhost_dev_start per pair: SET_FEATURES each time. */
	for (unsigned pair = 0; pair < b.pairs; pair++)
		STEP(t.u64_ok(VHOST_USER_SET_FEATURES, b.features, false));
	if (status) {
		STEP(t.get_u64(VHOST_USER_GET_STATUS, &st));
		STEP(t.u64_ok(VHOST_USER_SET_STATUS,
			      st | VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK,
			      ack));
	}
	STEP(t.set_mem_table(t.mem(), ack));
	for (unsigned r = 0; r < nrings; r++) {
		s.need_reply_all = false;
		STEP(t.setup_ring(r, s));
		STEP(t.u64_ok(VHOST_USER_SET_VRING_CALL, r, false, { t.call_fd(r) }));
	}
	for (unsigned r = 0; r < nrings; r++)
		STEP(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, ack));
	if (status)
		STEP(t.u64_ok(VHOST_USER_SET_STATUS, 0xf, ack));
	if (!ack)
		STEP(t.barrier());
	return AssertionSuccess();
}

AssertionResult
virtio_user_bringup(Tfe &t, const Bringup &b)
{
	unsigned nrings = 2 * b.pairs;
	Opts s;

	s.features = b.features;
	s.num = b.num;
	/* virtio-user sends only the avail half for packed rings. */
	s.base = (b.features & F_PACKED) ? 0x8000u : 0;
	STEP(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false));
	STEP(t.get_u64(VHOST_USER_GET_FEATURES, &t.features_offered));
	STEP(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &t.protocol_offered));
	uint64_t p = VIRTIO_USER_PROTOCOL & t.protocol_offered & b.protocol_mask;
	bool ack = (p & P_ACK) != 0;

	t.protocol_acked = p;
	STEP(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, p, false));
	for (unsigned r = 0; r < nrings; r++)
		STEP(t.u64_ok(VHOST_USER_SET_VRING_CALL, r, false, { t.call_fd(r) }));
	STEP(t.u64_ok(VHOST_USER_SET_FEATURES, b.features, false));
	STEP(t.set_mem_table(t.mem(), ack));
	for (unsigned r = 0; r < nrings; r++)
		STEP(t.setup_ring(r, s));
	if (b.features & F_PROTO)
		for (unsigned r = 0; r < 2; r++)
			STEP(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, false));
	if (p & P_STATUS)
		STEP(t.u64_ok(VHOST_USER_SET_STATUS, 0xf, ack));
	STEP(t.barrier());
	return AssertionSuccess();
}

AssertionResult
ch_bringup(Tfe &t, const Bringup &b)
{
	unsigned nrings = 2 * b.pairs;
	uint64_t qn = 0, f = 0;

	STEP(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false));
	STEP(t.get_u64(VHOST_USER_GET_FEATURES, &t.features_offered));
	STEP(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &t.protocol_offered));
	uint64_t p = CH_PROTOCOL & t.protocol_offered & b.protocol_mask;

	t.protocol_acked = p;
	STEP(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, p, false));
	STEP(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &qn));
	/* From here CH sets need_reply on every request, GETs included. */
	bool nr = (p & P_ACK) != 0;

	STEP(t.get_u64(VHOST_USER_GET_FEATURES, &f, nr));
	STEP(t.u64_ok(VHOST_USER_SET_FEATURES, b.features, nr));
	STEP(t.set_mem_table(t.mem(), nr));
	for (unsigned r = 0; r < nrings; r++)
		STEP(t.state_ok(VHOST_USER_SET_VRING_NUM, r, b.num, nr));
	for (unsigned r = 0; r < nrings; r++) {
		Vring &ring = t.ring(r, b.num, (b.features & F_PACKED) != 0);
		struct vhost_msg_vring_addr a = ring.addr();

		STEP(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), nr));
		STEP(t.state_ok(VHOST_USER_SET_VRING_BASE, r,
				(b.features & F_PACKED) ? 0x80008000u : 0, nr));
		STEP(t.u64_ok(VHOST_USER_SET_VRING_CALL, r, nr, { t.call_fd(r) }));
		STEP(t.u64_ok(VHOST_USER_SET_VRING_KICK, r, nr, { t.kick_fd(r) }));
	}
	for (unsigned r = 0; r < nrings; r++)
		STEP(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, nr));
	if (p & P_BREQ)
		STEP(send_backend_req_fd(t, nr));
	if (!nr)
		STEP(t.barrier());
	return AssertionSuccess();
}

AssertionResult
crosvm_bringup(Tfe &t, const Bringup &b)
{
	unsigned nrings = 2 * b.pairs;
	uint64_t qn = 0;

	if (b.features & F_PACKED)
		return AssertionFailure() << "crosvm never negotiates RING_PACKED";
	STEP(t.req_ok(VHOST_USER_SET_OWNER, nullptr, 0, false));
	STEP(t.get_u64(VHOST_USER_GET_FEATURES, &t.features_offered));
	STEP(t.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES, &t.protocol_offered));
	uint64_t p = CROSVM_PROTOCOL & t.protocol_offered & b.protocol_mask;

	t.protocol_acked = p;
	STEP(t.u64_ok(VHOST_USER_SET_PROTOCOL_FEATURES, p, false));
	if (p & P_BREQ)
		STEP(send_backend_req_fd(t, false));
	STEP(t.get_u64(VHOST_USER_GET_QUEUE_NUM, &qn));
	STEP(t.u64_ok(VHOST_USER_SET_FEATURES, b.features, false));
	STEP(t.set_mem_table(t.mem(), false));
	for (unsigned r = 0; r < nrings; r++) {
		Vring &ring = t.ring(r, b.num, false);
		struct vhost_msg_vring_addr a = ring.addr();

		STEP(t.state_ok(VHOST_USER_SET_VRING_NUM, r, b.num, false));
		STEP(t.req_ok(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), false));
		STEP(t.state_ok(VHOST_USER_SET_VRING_BASE, r, 0, false));
		STEP(t.u64_ok(VHOST_USER_SET_VRING_CALL, r, false, { t.call_fd(r) }));
		STEP(t.u64_ok(VHOST_USER_SET_VRING_KICK, r, false, { t.kick_fd(r) }));
		STEP(t.state_ok(VHOST_USER_SET_VRING_ENABLE, r, 1, false));
	}
	/* crosvm never asks for acks: a GET_FEATURES round trip shows that
	 * everything before it was handled, and without a single reply. */
	STEP(t.barrier());
	return AssertionSuccess();
}

#undef STEP

} // namespace tfe
