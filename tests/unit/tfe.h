/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VUS_TESTS_UNIT_TFE_H
#define VUS_TESTS_UNIT_TFE_H

/*
 * A scripted vhost-user test front-end (TFE).
 *
 * It speaks the wire protocol over AF_UNIX/SOCK_STREAM with SCM_RIGHTS,
 * connecting to a server-mode port or listening for a client-mode one. It
 * can send anything (raw header fields, payload bytes, fds, split into many
 * writes or several messages in one write) and checks every reply strictly
 * (flags == 0x5, same request code, exact size, no fds: MSG-3, COMPAT-7).
 *
 * Guest memory is a memfd the TFE maps itself; rings are laid out in it by
 * the TFE. The bring-up orderings of the requirement spec (§4) are here too.
 *
 * Helpers return ::testing::AssertionResult so a test can write
 * ASSERT_TRUE(t.expect_ack(0)) and get the reason on failure.
 */

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vhost_msg.h"

namespace tfe {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

constexpr uint64_t
bit(unsigned b)
{
	return 1ULL << b;
}
constexpr uint64_t ALL_BITS = ~(uint64_t)0;

/* Feature sets front-ends commonly ack. */
constexpr uint64_t F_PROTO = bit(VHOST_USER_F_PROTOCOL_FEATURES);
constexpr uint64_t F_V1 = bit(VIRTIO_F_VERSION_1);
constexpr uint64_t F_BASIC = F_V1 | F_PROTO;
constexpr uint64_t F_PACKED = bit(VIRTIO_F_RING_PACKED);
constexpr uint64_t F_LOG_ALL = bit(VHOST_F_LOG_ALL);
constexpr uint64_t F_MRG = bit(VIRTIO_NET_F_MRG_RXBUF);
constexpr uint64_t F_EVENT_IDX = bit(VIRTIO_F_EVENT_IDX);
constexpr uint64_t F_INDIRECT = bit(VIRTIO_F_INDIRECT_DESC);
constexpr uint64_t F_MQ = bit(VIRTIO_NET_F_MQ);

constexpr uint64_t P_MQ = bit(VHOST_PF_MQ);
constexpr uint64_t P_LOG = bit(VHOST_PF_LOG_SHMFD);
constexpr uint64_t P_RARP = bit(VHOST_PF_RARP);
constexpr uint64_t P_ACK = bit(VHOST_PF_REPLY_ACK);
constexpr uint64_t P_MTU = bit(VHOST_PF_NET_MTU);
constexpr uint64_t P_BREQ = bit(VHOST_PF_BACKEND_REQ);
constexpr uint64_t P_RESET = bit(VHOST_PF_RESET_DEVICE);
constexpr uint64_t P_SLOTS = bit(VHOST_PF_CONFIGURE_MEM_SLOTS);
constexpr uint64_t P_STATUS = bit(VHOST_PF_STATUS);

/* Defaults of std-setup (spec §0). */
constexpr uint64_t STD_MEM_SIZE = 64ULL << 20;
constexpr uint64_t STD_GPA = 0;
constexpr uint64_t STD_UVA = 0x7f0000000000ULL;
constexpr uint32_t STD_NUM = 256;
/* Where rings live in the standard memory: 128 KiB per ring from 1 MiB. */
constexpr uint64_t RING_AREA = 1ULL << 20;
constexpr uint64_t RING_SLOT = 128ULL << 10;

/* Split and packed descriptor layouts (virtio 1.2 §2.7.5, §2.8.13). */
struct SplitDesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
struct PackedDesc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};
constexpr uint16_t DESC_F_NEXT = 1;
constexpr uint16_t DESC_F_WRITE = 2;
constexpr uint16_t DESC_F_INDIRECT = 4;
constexpr uint16_t PACKED_F_AVAIL = 1u << 7;
constexpr uint16_t PACKED_F_USED = 1u << 15;

/* One ring laid out in guest memory by the TFE. */
struct Vring {
	unsigned index = 0;
	uint32_t num = 0;
	bool packed = false;
	/* Front-end virtual addresses, as SET_VRING_ADDR carries them. For a
	 * packed ring avail/used are the driver/device event areas. */
	uint64_t desc = 0, avail = 0, used = 0;
	/* The same parts as the TFE sees them. */
	uint8_t *h_desc = nullptr, *h_avail = nullptr, *h_used = nullptr;

	struct vhost_msg_vring_addr addr(uint32_t flags = 0, uint64_t log_gpa = 0) const;

	/* Split ring. */
	void split_set_desc(uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags,
			    uint16_t next = 0);
	void split_avail_push(uint16_t head);
	uint16_t split_avail_idx() const;
	void split_set_avail_idx(uint16_t v);
	uint16_t split_used_idx() const;
	void split_set_used_idx(uint16_t v);
	void split_used_elem(uint16_t i, uint32_t *id, uint32_t *len) const;

	/* Packed ring: make slot available (AVAIL = wrap, USED = !wrap). */
	void packed_set_desc(uint16_t slot, uint64_t gpa, uint32_t len, uint16_t id, uint16_t flags,
			     bool wrap);
	bool packed_is_used(uint16_t slot, bool wrap) const;
};

/* Guest memory backed by one memfd that the TFE maps itself. */
class GuestMem {
public:
	/* A memfd of @size bytes named uniquely; mapped here unless @map is
	 * false (huge sparse files that only the back-end maps). */
	explicit GuestMem(uint64_t size, uint64_t gpa = STD_GPA, uint64_t uva = STD_UVA,
			  bool map = true);
	~GuestMem();
	GuestMem(const GuestMem &) = delete;
	GuestMem &operator=(const GuestMem &) = delete;

	int fd() const { return fd_; }
	uint64_t size() const { return size_; }
	uint64_t gpa() const { return gpa_; }
	uint64_t uva() const { return uva_; }
	uint8_t *host() const { return host_; }
	const std::string &name() const { return name_; }

	/* Region description of [off, off+len) of the file (len 0: to the end). */
	struct vhost_msg_region region(uint64_t off = 0, uint64_t len = 0) const;
	/* Same with explicit addresses (several regions from one file). */
	static struct vhost_msg_region region_at(uint64_t gpa, uint64_t size, uint64_t uva,
						 uint64_t off);

	/* Lay out ring @index of @num entries at @off (RING_AREA + index *
	 * RING_SLOT when off is 0). Addresses use this memory's uva. */
	Vring ring(unsigned index, uint32_t num, bool packed, uint64_t off = 0) const;

	/* How many mappings of this memfd the process has beyond the TFE's own
	 * (the back-end's, since the back-end runs in-process). */
	int backend_maps() const;
	/* Same, restricted to mappings marked "dd" (MADV_DONTDUMP) and with
	 * no exec bit, from /proc/self/smaps. */
	int backend_maps_dontdump_noexec() const;

private:
	int fd_ = -1;
	uint64_t size_, gpa_, uva_;
	uint8_t *host_ = nullptr;
	std::string name_;
};

/* Identify open files, to prove fds and mappings are released. */
namespace fds {
/* Number of open fds of this process. */
int count_open();
/* A key naming what @fd refers to: "socket:[ino]", "/memfd:x (deleted)",
 * or for an eventfd its counter (unique from make_eventfd(), as long as
 * nobody writes to it) and kernel id. */
std::string key_of(int fd);
/* How many open fds of this process refer to @key. */
int count_key(const std::string &key);
/* An eventfd with a recognisable counter (unique per call). */
int make_eventfd();
/* Number of mappings in /proc/self/maps whose line contains @needle. */
int count_maps(const std::string &needle);
} // namespace fds

/* Options of the bring-up scripts. */
struct Opts {
	uint64_t features = F_BASIC; /* SET_FEATURES value (F) */
	uint64_t protocol = P_ACK;   /* SET_PROTOCOL_FEATURES value (P) */
	unsigned nrings = 2;         /* rings configured: 0 .. nrings-1 */
	uint32_t num = STD_NUM;
	uint32_t base = 0;           /* SET_VRING_BASE value (packed: 0x8000 style) */
	bool need_reply_all = false; /* need_reply on every ack-only request */
	bool skip_enable = false;    /* no SET_VRING_ENABLE even with bit 30 */
};

class Tfe {
public:
	explicit Tfe(std::string name = "tfe");
	~Tfe();
	Tfe(const Tfe &) = delete;
	Tfe &operator=(const Tfe &) = delete;

	/* --- connection ---------------------------------------------------- */
	/* Connect to a server-mode port, retrying until the socket exists. */
	AssertionResult connect(const std::string &path, int timeout_ms = 3000);
	/* Listen at @path for a client-mode port; accept() takes its connection. */
	AssertionResult listen(const std::string &path);
	AssertionResult accept(int timeout_ms = 5000);
	void close();
	void close_listener();
	bool connected() const { return fd_ >= 0; }
	int fd() const { return fd_; }

	/* --- sending ------------------------------------------------------- */
	/* Encode a message: header fields as given, then @len payload bytes. */
	static std::vector<uint8_t> frame(uint32_t req, uint32_t flags, uint32_t size,
					  const void *payload, size_t len);
	/* One sendmsg of @len bytes, @fds attached (SCM_RIGHTS) to the first. */
	AssertionResult send_bytes(const void *buf, size_t len, const std::vector<int> &fds = {});
	/* The same bytes in writes of @chunk bytes; fds go with the first. */
	AssertionResult send_split(const void *buf, size_t len, size_t chunk,
				   const std::vector<int> &fds = {});
	/* A message with raw header fields (size field = payload length unless
	 * @size_field is given). */
	AssertionResult send_raw(uint32_t req, uint32_t flags, const void *payload, size_t len,
				 const std::vector<int> &fds = {}, int64_t size_field = -1);
	/* A well-formed request: flags version 1, need_reply if asked. */
	AssertionResult send(uint32_t req, const void *payload = nullptr, uint32_t size = 0,
			     bool need_reply = false, const std::vector<int> &fds = {});
	AssertionResult send_u64(uint32_t req, uint64_t v, bool need_reply = false,
				 const std::vector<int> &fds = {});
	AssertionResult send_state(uint32_t req, uint32_t index, uint32_t num,
				   bool need_reply = false);

	/* --- replies (strict format checks on every one) ------------------- */
	/* Read one reply to @req of exactly @size payload bytes into @out. */
	AssertionResult read_reply(uint32_t req, uint32_t size, void *out, int timeout_ms = 3000);
	/* u64 ack to the last request sent (spec "expect-ack(v)"). */
	AssertionResult expect_ack(uint64_t v);
	AssertionResult expect_ack_to(uint32_t req, uint64_t v);
	/* A non-zero u64 ack. */
	AssertionResult expect_nack();
	AssertionResult expect_nack_to(uint32_t req);
	/* Nothing readable for @ms milliseconds. */
	AssertionResult expect_silence(int ms = 200);
	/* The back-end closes the connection within @timeout_ms. */
	AssertionResult expect_closed(int timeout_ms = 3000);
	uint32_t last_request() const { return last_req_; }

	/* --- request + reply ----------------------------------------------- */
	AssertionResult get_u64(uint32_t req, uint64_t *out, bool need_reply = false);
	AssertionResult get_vring_base(uint32_t index, uint32_t *out, bool need_reply = false);
	/* Send an ack-only request; with @need_reply expect ack(0). */
	AssertionResult req_ok(uint32_t req, const void *payload, uint32_t size, bool need_reply,
			       const std::vector<int> &fds = {});
	AssertionResult u64_ok(uint32_t req, uint64_t v, bool need_reply,
			       const std::vector<int> &fds = {});
	AssertionResult state_ok(uint32_t req, uint32_t index, uint32_t num, bool need_reply);
	/* GET_FEATURES round trip: everything sent before has been handled. */
	AssertionResult barrier();

	/* --- guest memory and rings ---------------------------------------- */
	/* The std-setup memory (64 MiB, gpa 0, uva 0x7f0000000000), made on
	 * first use and kept across connections. */
	GuestMem &mem();
	/* SET_MEM_TABLE of the given regions; fds in region order. */
	AssertionResult set_mem_table(const std::vector<struct vhost_msg_region> &regions,
				      const std::vector<int> &fds, bool need_reply);
	AssertionResult set_mem_table(const GuestMem &m, bool need_reply);
	/* Ring @index in mem() at its standard slot, kept by the TFE. */
	Vring &ring(unsigned index, uint32_t num = STD_NUM, bool packed = false);
	/* Per-ring eventfds owned by the TFE, made on first use. */
	int kick_fd(unsigned index);
	int call_fd(unsigned index);
	/* NUM, BASE, ADDR, KICK (+CALL if @call) for one ring. */
	AssertionResult setup_ring(unsigned index, const Opts &s, bool call = false);

	/* --- scripts -------------------------------------------------------- */
	/* std-setup(F, P) per spec §0 (QEMU-like). */
	AssertionResult std_setup(const Opts &s);
	/* Feature negotiation part: GET_FEATURES, GET/SET_PROTOCOL_FEATURES,
	 * then a GET_FEATURES round trip so the port state can be checked. */
	AssertionResult negotiate(uint64_t protocol, bool get_protocol = true);

	uint64_t features_offered = 0; /* last GET_FEATURES answer */
	uint64_t protocol_offered = 0; /* last GET_PROTOCOL_FEATURES answer */
	uint64_t protocol_acked = 0;   /* last SET_PROTOCOL_FEATURES sent */

private:
	AssertionResult wait_readable(int timeout_ms, bool *readable);

	std::string name_;
	int fd_ = -1;
	int listen_fd_ = -1;
	std::string listen_path_;
	uint32_t last_req_ = 0;
	std::unique_ptr<GuestMem> mem_;
	std::vector<Vring> rings_;
	std::vector<int> kick_, call_;
};

/* The bring-up sequences of real front-ends (spec §4), each with the
 * front-end's own need_reply pattern. @pairs queue pairs are configured. */
struct Bringup {
	uint64_t features = F_BASIC;
	unsigned pairs = 1;
	uint32_t num = STD_NUM;
	uint64_t protocol_mask = ALL_BITS; /* drop bits the front-end would ask for */
};
AssertionResult qemu_bringup(Tfe &t, const Bringup &b);
AssertionResult virtio_user_bringup(Tfe &t, const Bringup &b);
AssertionResult ch_bringup(Tfe &t, const Bringup &b);
AssertionResult crosvm_bringup(Tfe &t, const Bringup &b);

/* Protocol features each front-end asks for (ANDed with the offer). */
constexpr uint64_t QEMU_PROTOCOL = 0x1fdffULL;
constexpr uint64_t VIRTIO_USER_PROTOCOL = P_MQ | P_ACK | P_STATUS;
constexpr uint64_t CH_PROTOCOL = P_MQ | P_ACK | P_BREQ | P_SLOTS | P_LOG |
				 bit(VHOST_PF_INFLIGHT_SHMFD);
constexpr uint64_t CROSVM_PROTOCOL = P_MQ | bit(VHOST_PF_CONFIG) | P_BREQ | P_ACK | P_SLOTS |
				     bit(VHOST_PF_BACKEND_SEND_FD);

} // namespace tfe

#endif /* VUS_TESTS_UNIT_TFE_H */
