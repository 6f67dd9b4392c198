/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Offloads end to end: the virtio-net header's checksum and GSO fields on
 * guest TX (lib/virtq: header -> mbuf flags), on guest RX (mbuf flags ->
 * header), and their completion in software (lib/sw_offload): VNET-3,
 * VNET-4, VNET-5, VNET-9, SEC-7.
 *
 * The frames are real Ethernet / IPv4 / IPv6 / TCP / UDP frames built here,
 * with the partial checksum a Linux guest leaves for NEEDS_CSUM (the folded
 * pseudo-header sum, length included). Every checksum is verified with the
 * RFC 1071 code of this file: a packet verifies when the ones'-complement
 * sum over it (pseudo header included for TCP/UDP) is 0xffff. The library's
 * own checksum functions never compute an expected value.
 */
#include "dp_harness.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include "sw_offload.h"

using namespace dp;

namespace {

/* ---- Features, header fields, flags ---- */

constexpr uint64_t V1 = bit(VIRTQ_F_VERSION_1);
constexpr uint64_t CSUM = bit(VIRTQ_F_CSUM);
constexpr uint64_t HTSO4 = bit(VIRTQ_F_HOST_TSO4);
constexpr uint64_t HTSO6 = bit(VIRTQ_F_HOST_TSO6);
constexpr uint64_t IND = bit(VIRTQ_F_INDIRECT_DESC);
constexpr uint64_t TX_ALL = V1 | CSUM | HTSO4 | HTSO6 | IND;
constexpr uint64_t GCSUM = bit(VIRTQ_F_GUEST_CSUM);
constexpr uint64_t GTSO4 = bit(VIRTQ_F_GUEST_TSO4);
constexpr uint64_t GTSO6 = bit(VIRTQ_F_GUEST_TSO6);
constexpr uint64_t MRG = bit(VIRTQ_F_MRG_RXBUF);
/* VNET-5: 65,535 + L2 (18 with a VLAN tag) for GSO frames. */
constexpr uint32_t MAX_GSO = 65535 + 18;

constexpr uint8_t NEEDS_CSUM = 1, DATA_VALID = 2;
constexpr uint8_t GSO_TCPV4 = 1, GSO_UDP = 3, GSO_TCPV6 = 4, GSO_ECN = 0x80;

constexpr uint8_t TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_ACK = 0x10, TCP_ECE = 0x40, TCP_CWR = 0x80;

constexpr uint64_t TXF = RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM |
			 RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6;

constexpr uint32_t CAP_ALL = SW_OFFLOAD_CAP_TCP_CSUM | SW_OFFLOAD_CAP_UDP_CSUM |
			     SW_OFFLOAD_CAP_IPV4_CSUM | SW_OFFLOAD_CAP_TSO4 | SW_OFFLOAD_CAP_TSO6;

/* ---- Byte order and RFC 1071 ---- */

uint16_t
get16(const std::vector<uint8_t> &v, size_t o)
{
	return (uint16_t)(v[o] << 8 | v[o + 1]);
}

uint32_t
get32(const std::vector<uint8_t> &v, size_t o)
{
	return (uint32_t)get16(v, o) << 16 | get16(v, o + 2);
}

void
put16(std::vector<uint8_t> &v, size_t o, uint16_t x)
{
	v[o] = (uint8_t)(x >> 8);
	v[o + 1] = (uint8_t)x;
}

void
put32(std::vector<uint8_t> &v, size_t o, uint32_t x)
{
	put16(v, o, (uint16_t)(x >> 16));
	put16(v, o + 2, (uint16_t)x);
}

uint16_t
le16(const std::vector<uint8_t> &v, size_t o)
{
	return (uint16_t)(v[o] | v[o + 1] << 8);
}

/* Sum of 16-bit big-endian words from @p p (an odd last byte is padded). */
uint64_t
sum_bytes(const uint8_t *p, size_t n, uint64_t s = 0)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint64_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint64_t)p[n - 1] << 8;
	return s;
}

uint16_t
fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Hex, for messages (gtest formats each streamed value on its own, so
 * std::hex would not stick). */
std::string
hex(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
	return b;
}

/* Pseudo-header sum: RFC 793/768 for IPv4, RFC 8200 §8.1 for IPv6. */
uint64_t
pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, uint32_t l4len)
{
	uint64_t s = v6 ? sum_bytes(ip + 8, 32) : sum_bytes(ip + 12, 8);

	return s + proto + (l4len >> 16) + (l4len & 0xffff);
}

/* The TCP/UDP checksum of the frame verifies (L4 = everything after l3). */
::testing::AssertionResult
l4_ok(const std::vector<uint8_t> &f, unsigned l2, unsigned l3, bool v6, uint8_t proto)
{
	if (f.size() < (size_t)l2 + l3 + 8)
		return ::testing::AssertionFailure() << "frame too short for L4";
	uint32_t n = (uint32_t)(f.size() - l2 - l3);
	uint16_t s = fold(pseudo_sum(&f[l2], v6, proto, n) + sum_bytes(&f[l2 + l3], n));

	if (s != 0xffff)
		return ::testing::AssertionFailure()
		       << "L4 checksum does not verify: sum " << hex(s);
	if (proto == 17 && get16(f, l2 + l3 + 6) == 0)
		return ::testing::AssertionFailure() << "UDP checksum 0 (means none)";
	return ::testing::AssertionSuccess();
}

/* The IPv4 header checksum at @p l2 verifies. */
::testing::AssertionResult
ipv4_ok(const std::vector<uint8_t> &f, unsigned l2)
{
	unsigned ihl = (f[l2] & 0xf) * 4u;
	uint16_t s = fold(sum_bytes(&f[l2], ihl));

	if (s != 0xffff)
		return ::testing::AssertionFailure()
		       << "IPv4 header checksum does not verify: sum " << hex(s);
	return ::testing::AssertionSuccess();
}

/*
 * NEEDS_CSUM done: the device sums [start, end) with the field still holding
 * its initial value @p init, and stores the complement there. So the sum
 * over [start, end) afterwards, plus @p init, is 0xffff. (For TCP/UDP @p init
 * is the pseudo-header sum and this is the usual check; for ICMP it is 0.)
 * Only meaningful for an even csum_offset.
 */
::testing::AssertionResult
range_ok(const std::vector<uint8_t> &f, size_t start, uint16_t init)
{
	uint16_t s = fold(sum_bytes(f.data() + start, f.size() - start) + init);

	if (s != 0xffff)
		return ::testing::AssertionFailure()
		       << "sum over [" << start << ", " << f.size() << ") + initial field "
		       << hex(init) << " is " << hex(s);
	return ::testing::AssertionSuccess();
}

/* ---- Frames ---- */

struct Spec {
	bool v6 = false;
	uint8_t proto = 6; /* 6 TCP, 17 UDP, 1 ICMP (IPv4) */
	size_t payload = 100;
	uint32_t seed = 1;
	unsigned vlans = 0;     /* 1: 802.1Q, 2: 802.1ad + 802.1Q */
	unsigned tcp_hlen = 20; /* 32: NOP NOP timestamps, as Linux sends */
	uint8_t tcp_flags = TCP_PSH | TCP_ACK;
	unsigned ip_opt = 0; /* IPv4 option bytes (NOPs), multiple of 4 */
	bool v6_ext = false; /* IPv6 hop-by-hop header before L4 */
	bool partial = true; /* L4 checksum field: pseudo-header sum, else complete */
	uint16_t ip_id = 0x1234;
	uint16_t frag = 0x4000; /* DF */
	uint32_t seq = 0x11223344;
};

struct Pkt {
	std::vector<uint8_t> b;
	unsigned l2 = 14, l3 = 20, l4 = 20;
	bool v6 = false;
	uint8_t proto = 6;

	unsigned l4off() const { return l2 + l3; }
	unsigned hl() const { return l2 + l3 + l4; }
	uint16_t csum_field() const { return proto == 6 ? 16 : proto == 17 ? 6 : 2; }
	std::vector<uint8_t> payload() const
	{
		return std::vector<uint8_t>(b.begin() + hl(), b.end());
	}
};

Pkt
build(const Spec &s)
{
	Pkt p;
	std::vector<uint8_t> &b = p.b;

	p.v6 = s.v6;
	p.proto = s.proto;
	b = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
	for (unsigned i = 0; i < s.vlans; i++) {
		uint16_t tpid = (s.vlans > 1 && i == 0) ? 0x88a8 : 0x8100;

		b.insert(b.end(),
			 { (uint8_t)(tpid >> 8), (uint8_t)tpid, 0x00, (uint8_t)(100 + i) });
	}
	b.insert(b.end(), { (uint8_t)(s.v6 ? 0x86 : 0x08), (uint8_t)(s.v6 ? 0xdd : 0x00) });
	p.l2 = (unsigned)b.size();
	p.l4 = s.proto == 6 ? s.tcp_hlen : 8;
	const uint32_t l4len = (uint32_t)(p.l4 + s.payload);
	const size_t ip = p.l2;
	if (s.v6) {
		static const uint8_t src[16] = { 0xfd, 0, 0x12, 0x34, 0,    0,    0, 0,
						 0,    0, 0,    0,    0xab, 0xcd, 0, 1 };
		static const uint8_t dst[16] = { 0xfd, 0, 0x12, 0x34, 0,    0,    0, 0,
						 0,    0, 0,    0,    0xef, 0x01, 0, 2 };

		p.l3 = 40 + (s.v6_ext ? 8 : 0);
		b.resize(ip + p.l3, 0);
		b[ip] = 0x60;
		b[ip + 1] = 0x01;
		b[ip + 2] = 0x23;
		b[ip + 3] = 0x45;
		put16(b, ip + 4, (uint16_t)(p.l3 - 40 + l4len));
		b[ip + 6] = s.v6_ext ? 0 : s.proto;
		b[ip + 7] = 64;
		memcpy(&b[ip + 8], src, 16);
		memcpy(&b[ip + 24], dst, 16);
		if (s.v6_ext) {
			b[ip + 40] = s.proto; /* next header; length 0 (8 bytes) */
			b[ip + 42] = 1;       /* PadN, 4 bytes */
			b[ip + 43] = 4;
		}
	} else {
		p.l3 = 20 + s.ip_opt;
		b.resize(ip + p.l3, 0);
		b[ip] = (uint8_t)(0x40 | p.l3 / 4);
		put16(b, ip + 2, (uint16_t)(p.l3 + l4len));
		put16(b, ip + 4, s.ip_id);
		put16(b, ip + 6, s.frag);
		b[ip + 8] = 64;
		b[ip + 9] = s.proto;
		put32(b, ip + 12, 0x0a010203);
		put32(b, ip + 16, 0x0a040506);
		for (unsigned i = 20; i < p.l3; i++)
			b[ip + i] = 1;
		put16(b, ip + 10, (uint16_t)~fold(sum_bytes(&b[ip], p.l3)));
	}
	const size_t l4 = b.size();
	b.resize(l4 + p.l4, 0);
	if (s.proto == 6) {
		put16(b, l4, 40000);
		put16(b, l4 + 2, 5201);
		put32(b, l4 + 4, s.seq);
		put32(b, l4 + 8, 0x55667788);
		b[l4 + 12] = (uint8_t)((p.l4 / 4) << 4);
		b[l4 + 13] = s.tcp_flags;
		put16(b, l4 + 14, 0xfaf0);
		for (unsigned i = 20; i < p.l4; i++)
			b[l4 + i] = 1;
		if (p.l4 >= 32) {
			b[l4 + 22] = 8;
			b[l4 + 23] = 10;
			put32(b, l4 + 24, 0xdeadbeef);
			put32(b, l4 + 28, 0x01020304);
		}
	} else if (s.proto == 17) {
		put16(b, l4, 4789);
		put16(b, l4 + 2, 53);
		put16(b, l4 + 4, (uint16_t)l4len);
	} else {
		b[l4] = 8; /* echo request */
		put16(b, l4 + 4, 0x4242);
		put16(b, l4 + 6, 1);
	}
	std::vector<uint8_t> pl = pattern(s.payload, s.seed);
	b.insert(b.end(), pl.begin(), pl.end());
	const size_t co = l4 + p.csum_field();
	const uint64_t ps = s.proto == 1 ? 0 : pseudo_sum(&b[ip], s.v6, s.proto, l4len);
	if (s.partial) {
		/* What Linux leaves for CHECKSUM_PARTIAL: ~csum_tcpudp_magic(), i.e.
		 * the folded pseudo-header sum; ICMP has no pseudo header. */
		put16(b, co, s.proto == 1 ? 0 : fold(ps));
	} else {
		uint16_t c = (uint16_t)~fold(ps + sum_bytes(&b[l4], b.size() - l4));

		put16(b, co, c == 0 ? 0xffff : c);
	}
	return p;
}

Spec
tcp4(size_t payload, uint32_t seed = 1)
{
	Spec s;
	s.payload = payload;
	s.seed = seed;
	return s;
}

Spec
tcp6(size_t payload, uint32_t seed = 1)
{
	Spec s = tcp4(payload, seed);
	s.v6 = true;
	return s;
}

Spec
udp4(size_t payload, uint32_t seed = 1)
{
	Spec s = tcp4(payload, seed);
	s.proto = 17;
	return s;
}

Spec
udp6(size_t payload, uint32_t seed = 1)
{
	Spec s = udp4(payload, seed);
	s.v6 = true;
	return s;
}

/* A GSO-sized TCP frame as Linux sends it: timestamps, CWR|ECE|ACK|PSH|FIN
 * so every flag rule of the segmentation shows. */
Spec
gso_spec(bool v6, size_t payload, uint32_t seed = 1)
{
	Spec s = v6 ? tcp6(payload, seed) : tcp4(payload, seed);
	s.tcp_hlen = 32;
	s.tcp_flags = TCP_CWR | TCP_ECE | TCP_ACK | TCP_PSH | TCP_FIN;
	s.ip_id = 0xfff0;   /* wraps during segmentation */
	s.seq = 0xffff0000; /* wraps too */
	return s;
}

Pkt
full(Spec s)
{
	s.partial = false;
	return build(s);
}

/* ---- Net headers, posting, dequeuing ---- */

std::vector<uint8_t>
vhdr(uint8_t flags, uint8_t gso, uint16_t gso_size, uint16_t start, uint16_t off, unsigned len = 12,
     uint16_t hdr_len = 0)
{
	std::vector<uint8_t> h(len, 0);

	h[0] = flags;
	h[1] = gso;
	h[2] = (uint8_t)hdr_len;
	h[3] = (uint8_t)(hdr_len >> 8);
	h[4] = (uint8_t)gso_size;
	h[5] = (uint8_t)(gso_size >> 8);
	h[6] = (uint8_t)start;
	h[7] = (uint8_t)(start >> 8);
	h[8] = (uint8_t)off;
	h[9] = (uint8_t)(off >> 8);
	return h;
}

/* The header of a partial-checksum frame, as Linux writes it. */
std::vector<uint8_t>
csum_hdr(const Pkt &p, unsigned len = 12)
{
	return vhdr(NEEDS_CSUM, 0, 0, (uint16_t)p.l4off(), p.csum_field(), len);
}

/* The header of a TSO frame, as Linux writes it. */
std::vector<uint8_t>
gso_hdr(const Pkt &p, uint16_t mss)
{
	return vhdr(NEEDS_CSUM, p.v6 ? GSO_TCPV6 : GSO_TCPV4, mss, (uint16_t)p.l4off(), 16, 12,
		    (uint16_t)p.hl());
}

uint16_t
post_frame(Ring &r, const std::vector<uint8_t> &h, const std::vector<uint8_t> &f,
	   const std::vector<uint32_t> &frags = {}, bool indirect = false)
{
	std::vector<uint8_t> bytes = h;

	bytes.insert(bytes.end(), f.begin(), f.end());
	std::vector<Desc> d = r.guest().tx_layout(bytes, frags);
	if (!indirect)
		return r.post(d);
	Desc ind;
	ind.addr = r.guest().indirect(d, r.packed());
	ind.len = (uint32_t)(16 * d.size());
	ind.flags = F_INDIRECT;
	return r.post({ ind });
}

/* The header alone, then the frame in pieces of @p each. */
std::vector<uint32_t>
hdr_then(size_t frame, uint32_t each)
{
	std::vector<uint32_t> f = { 12 };
	std::vector<uint32_t> rest = frags_of(frame, each);

	f.insert(f.end(), rest.begin(), rest.end());
	return f;
}

struct MbufFree {
	void operator()(struct rte_mbuf *m) const { rte_pktmbuf_free(m); }
};
using Mb = std::unique_ptr<struct rte_mbuf, MbufFree>;

std::vector<Mb>
dequeue(Backend &be, uint16_t n = 32)
{
	std::vector<struct rte_mbuf *> p(n);
	uint16_t k = virtq_dequeue_burst(&be.vq, virtq_conf_get(&be.vq), pool(), p.data(), n);
	std::vector<Mb> v;

	EXPECT_LE(k, n);
	for (uint16_t i = 0; i < k; i++)
		v.emplace_back(p[i]);
	return v;
}

void
tso_conf(Backend &be, uint32_t max_frame = 1518)
{
	be.conf.max_frame = max_frame;
	be.conf.max_gso_frame = MAX_GSO;
	be.publish();
}

/* An mbuf for @p p with offload flags and the header lengths of @p p. */
struct rte_mbuf *
flagged(const Pkt &p, uint64_t flags, uint16_t mss = 0, uint32_t seg = 2048)
{
	struct rte_mbuf *m = make_mbuf(p.b, seg);

	m->ol_flags |= flags;
	m->l2_len = p.l2;
	m->l3_len = p.l3;
	m->l4_len = p.l4;
	m->tso_segsz = mss;
	return m;
}

uint64_t
csum_flags(const Pkt &p)
{
	return (p.proto == 6 ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM) |
	       (p.v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
}

uint64_t
tso_flags(const Pkt &p)
{
	return RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM |
	       (p.v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
}

uint32_t
nsegs(const Pkt &p, uint32_t mss)
{
	size_t pl = p.b.size() - p.hl();

	return pl == 0 ? 1 : (uint32_t)((pl + mss - 1) / mss);
}

/*
 * Segment @p i of @p n that TSO cut from @p o with MSS @p mss, checked
 * against the original field by field: the payload slice; the headers
 * equal but for IPv4 total length and id (+i), IPv6 payload length, TCP
 * sequence (+i * mss) and flags (FIN/PSH on the last only, CWR on the first
 * only); IPv4 header and TCP checksums verified by this file's code.
 */
void
check_segment(const Pkt &o, uint32_t mss, uint32_t i, uint32_t n, const std::vector<uint8_t> &f)
{
	SCOPED_TRACE("segment " + std::to_string(i) + " of " + std::to_string(n));
	const size_t payload = o.b.size() - o.hl(), off = (size_t)i * mss;
	ASSERT_LE(off, payload);
	const size_t len = std::min<size_t>(mss, payload - off);
	ASSERT_EQ(f.size(), o.hl() + len);
	EXPECT_TRUE(std::equal(f.begin() + o.hl(), f.end(), o.b.begin() + (long)(o.hl() + off)))
		<< "payload slice differs";

	std::vector<uint8_t> want(o.b.begin(), o.b.begin() + o.hl());
	std::vector<uint8_t> have(f.begin(), f.begin() + o.hl());
	const size_t ip = o.l2, tcp = o.l2 + o.l3;
	if (o.v6) {
		put16(want, ip + 4, (uint16_t)(o.l3 - 40 + o.l4 + len));
	} else {
		put16(want, ip + 2, (uint16_t)(o.l3 + o.l4 + len));
		put16(want, ip + 4, (uint16_t)(get16(o.b, ip + 4) + i));
		EXPECT_TRUE(ipv4_ok(f, o.l2));
		put16(want, ip + 10, 0);
		put16(have, ip + 10, 0);
	}
	put32(want, tcp + 4, get32(o.b, tcp + 4) + (uint32_t)off);
	uint8_t fl = o.b[tcp + 13];
	if (i + 1 != n)
		fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (i != 0)
		fl &= (uint8_t)~TCP_CWR;
	want[tcp + 13] = fl;
	put16(want, tcp + 16, 0);
	put16(have, tcp + 16, 0);
	EXPECT_EQ(have, want) << "segment headers";
	EXPECT_TRUE(l4_ok(f, o.l2, o.l3, o.v6, 6));
}

/* All segments of @p o, in order, checked and reassembled. */
void
check_segments(const Pkt &o, uint32_t mss, const std::vector<std::vector<uint8_t>> &segs)
{
	const uint32_t n = nsegs(o, mss);
	std::vector<uint8_t> joined;

	ASSERT_EQ(segs.size(), n) << "segment count for MSS " << mss;
	for (uint32_t i = 0; i < n; i++) {
		check_segment(o, mss, i, n, segs[i]);
		EXPECT_LE(segs[i].size() - o.hl(), mss);
		joined.insert(joined.end(), segs[i].begin() + o.hl(), segs[i].end());
	}
	EXPECT_EQ(joined, o.payload()) << "payloads do not reassemble to the original";
}

/* Run @p in through sw_offload_iter for @p caps, @p max at a time. */
struct IterOut {
	std::vector<Mb> out;
	uint64_t dropped = 0, segments = 0, completed = 0;
};

IterOut
complete(std::vector<struct rte_mbuf *> in, uint32_t caps, uint16_t max = 32)
{
	struct sw_offload_iter it;
	std::vector<struct rte_mbuf *> buf(max);
	IterOut r;
	uint16_t k;
	unsigned calls = 0;

	sw_offload_iter_init(&it, in.data(), (uint16_t)in.size(), caps, pool());
	while ((k = sw_offload_next(&it, buf.data(), max)) != 0) {
		EXPECT_LE(k, max);
		for (uint16_t i = 0; i < k; i++)
			r.out.emplace_back(buf[i]);
		if (++calls > 100000) {
			ADD_FAILURE() << "sw_offload_next never finishes";
			break;
		}
	}
	/* Once done, it stays done. */
	EXPECT_EQ(sw_offload_next(&it, buf.data(), max), 0u);
	r.dropped = it.dropped;
	r.segments = it.segments;
	r.completed = it.completed;
	return r;
}

/* ---- Guest RX side ---- */

struct RxChain {
	uint16_t id;
	std::vector<Desc> segs;
};

using Posted = std::map<uint16_t, RxChain>;

void
post_rx(Ring &r, Posted &posted, unsigned count, uint32_t size)
{
	for (unsigned i = 0; i < count; i++) {
		RxChain c;

		c.segs = r.guest().rx_buffers({ size });
		c.id = r.post(c.segs);
		posted[c.id] = c;
	}
}

std::vector<uint8_t>
read_chain(Guest &g, const RxChain &c, uint32_t len)
{
	std::vector<uint8_t> v;

	for (auto &s : c.segs) {
		uint32_t k = std::min<uint32_t>((uint32_t)(len - v.size()), s.len);
		std::vector<uint8_t> part = g.read(s.addr, k);

		v.insert(v.end(), part.begin(), part.end());
	}
	EXPECT_EQ(v.size(), len) << "used len above the chain's capacity";
	return v;
}

struct Got {
	std::vector<uint8_t> hdr, frame;
	uint16_t nbuf = 1;
};

/* What the guest received: used elements read back, merged buffers joined. */
std::vector<Got>
received(Ring &r, Posted &posted, unsigned hdr_len, bool mrg)
{
	std::vector<Got> out;
	std::vector<Used> u = r.drain_used();

	for (size_t i = 0; i < u.size();) {
		std::vector<uint8_t> bytes;
		uint16_t n = 1;

		for (uint16_t k = 0; k < n; k++) {
			if (i + k >= u.size()) {
				ADD_FAILURE() << "num_buffers " << n << " but only " << u.size() - i
					      << " used elements";
				return out;
			}
			auto it = posted.find(u[i + k].id);
			if (it == posted.end()) {
				ADD_FAILURE() << "used id " << u[i + k].id << " was not posted";
				return out;
			}
			std::vector<uint8_t> part = read_chain(r.guest(), it->second, u[i + k].len);
			posted.erase(it);
			bytes.insert(bytes.end(), part.begin(), part.end());
			if (k == 0) {
				if (bytes.size() < hdr_len) {
					ADD_FAILURE() << "used len below the header";
					return out;
				}
				if (hdr_len == 12)
					n = num_buffers(bytes);
				if (!mrg) {
					EXPECT_EQ(n, 1u) << "num_buffers without MRG_RXBUF";
				}
				if (n == 0) {
					ADD_FAILURE() << "num_buffers 0";
					return out;
				}
			}
		}
		Got g;
		g.hdr.assign(bytes.begin(), bytes.begin() + hdr_len);
		g.frame.assign(bytes.begin() + hdr_len, bytes.end());
		g.nbuf = n;
		out.push_back(g);
		i += n;
	}
	return out;
}

uint16_t
enqueue(Backend &be, const std::vector<struct rte_mbuf *> &ms)
{
	return virtq_enqueue_burst(&be.vq, virtq_conf_get(&be.vq), ms.data(), (uint16_t)ms.size());
}

class Offload : public RingTest {};
class OffloadSw : public DpTest {};
class OffloadLegacy : public DpTest {};

/* ======================================================================
 * 1. TX: a partial TCP/UDP checksum becomes mbuf flags; the frame is
 *    forwarded as written.
 * ====================================================================== */

TEST_P(Offload, VNET3_VNET4_TxPartialChecksumBecomesMbufFlags)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, V1 | CSUM);
	struct Case {
		const char *name;
		Spec s;
	};
	std::vector<Case> cases;
	cases.push_back({ "TCPv4", tcp4(1000, 1) });
	cases.push_back({ "UDPv6", udp6(1000, 2) });
	{
		Spec s = tcp4(1000, 3);
		s.vlans = 1;
		cases.push_back({ "VLAN TCPv4", s });
		s = udp6(700, 4);
		s.vlans = 1;
		cases.push_back({ "VLAN UDPv6", s });
		s = tcp4(500, 5);
		s.vlans = 2;
		cases.push_back({ "QinQ TCPv4", s });
		s = tcp6(900, 6);
		s.tcp_hlen = 32;
		cases.push_back({ "TCPv6 with timestamps", s });
		s = udp4(300, 7);
		s.ip_opt = 8;
		cases.push_back({ "UDPv4 with IP options", s });
		cases.push_back({ "UDPv4 no payload", udp4(0, 8) });
		cases.push_back({ "TCPv4 3000 bytes (mbuf chain)", tcp4(3000, 9) });
	}
	/* One descriptor (fast path); header alone; header split in two and
	 * the L2/L3 headers over several descriptors (general path). */
	const std::vector<std::vector<uint32_t>> layouts = { {}, { 12, 1 }, { 5, 7, 9, 13, 1 } };
	uint64_t n = 0;

	for (auto &cs : cases) {
		for (size_t l = 0; l < layouts.size(); l++) {
			SCOPED_TRACE(std::string(cs.name) + ", layout " + std::to_string(l));
			Pkt p = build(cs.s);
			uint16_t id = post_frame(*r, csum_hdr(p), p.b, layouts[l]);
			auto out = dequeue(be);

			expect_returned(*r, { id });
			ASSERT_EQ(out.size(), 1u);
			struct rte_mbuf *m = out[0].get();
			EXPECT_EQ(mbuf_bytes(m), p.b)
				<< "the frame is forwarded as the guest wrote it";
			EXPECT_EQ(m->ol_flags & TXF, csum_flags(p));
			EXPECT_EQ((unsigned)m->l2_len, p.l2);
			EXPECT_EQ((unsigned)m->l3_len, p.l3);
			EXPECT_EQ((unsigned)m->l4_len, p.l4);
			n++;
		}
	}
	EXPECT_EQ(be.drops_total(), 0u);
	EXPECT_EQ(be.vq.stats.packets, n);
}

/* ======================================================================
 * 2. TX: a partial checksum anywhere else is completed at once.
 * ====================================================================== */

TEST_P(Offload, VNET4_TxChecksumElsewhereCompletedInSoftware)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, V1 | CSUM);
	struct Case {
		const char *name;
		std::vector<uint8_t> frame;
		uint16_t start, off;
		std::vector<uint8_t> want; /* exact result, when known independently */
	};
	std::vector<Case> cases;
	{
		/* A checksum inside a UDP payload (an inner header), odd start. */
		Pkt u = build(udp4(600, 11));
		cases.push_back(
			{ "inside UDP payload", u.b, (uint16_t)(u.l4off() + 8 + 13), 6, {} });
		/* ICMP: no pseudo header; the result is the complete frame. */
		Spec s = tcp4(400, 12);
		s.proto = 1;
		Pkt ic = build(s);
		cases.push_back({ "ICMP echo", ic.b, (uint16_t)ic.l4off(), 2, full(s).b });
		/* TCP behind an IPv6 hop-by-hop header: not parsed as TCP, still
		 * completed right (the field holds the pseudo-header sum). */
		s = tcp6(800, 13);
		s.v6_ext = true;
		Pkt ext = build(s);
		cases.push_back({ "TCPv6 after an extension header", ext.b, (uint16_t)ext.l4off(),
				  16, full(s).b });
		/* An IPv4 fragment (MF) carrying TCP. */
		s = tcp4(700, 14);
		s.frag = 0x2000;
		Pkt fr = build(s);
		cases.push_back(
			{ "TCPv4 first fragment", fr.b, (uint16_t)fr.l4off(), 16, full(s).b });
		/* 5000 bytes: the sum crosses mbuf segments (inner header at an
		 * even offset). */
		Pkt big = build(udp4(5000 - 42, 15));
		cases.push_back(
			{ "across mbuf segments", big.b, (uint16_t)(big.l4off() + 8 + 20), 6, {} });
		/* The field is the last two bytes of the frame (the limit). */
		std::vector<uint8_t> raw = pattern(100, 16);
		raw[12] = 0x88;
		raw[13] = 0xb5;
		cases.push_back({ "field at the very end", raw, 14, 84, {} });
		/* csum_offset 0: the field is at csum_start itself. */
		cases.push_back({ "offset 0", raw, 20, 0, {} });
	}
	const std::vector<std::vector<uint32_t>> layouts = { {}, { 5, 7, 9, 1 } };

	for (auto &cs : cases) {
		for (size_t l = 0; l < layouts.size(); l++) {
			SCOPED_TRACE(std::string(cs.name) + ", layout " + std::to_string(l));
			uint16_t id = post_frame(*r, vhdr(NEEDS_CSUM, 0, 0, cs.start, cs.off),
						 cs.frame, layouts[l]);
			auto out = dequeue(be);

			expect_returned(*r, { id });
			ASSERT_EQ(out.size(), 1u);
			struct rte_mbuf *m = out[0].get();
			std::vector<uint8_t> got = mbuf_bytes(m);
			ASSERT_EQ(got.size(), cs.frame.size());
			EXPECT_EQ(m->ol_flags & TXF, 0u) << "completed: no offload flag left";
			EXPECT_TRUE(range_ok(got, cs.start, get16(cs.frame, cs.start + cs.off)));
			/* Only the two bytes of the field changed. */
			std::vector<uint8_t> a = got, b = cs.frame;
			a[cs.start + cs.off] = b[cs.start + cs.off] = 0;
			a[cs.start + cs.off + 1] = b[cs.start + cs.off + 1] = 0;
			EXPECT_EQ(a, b) << "bytes outside the checksum field changed";
			if (!cs.want.empty()) {
				EXPECT_EQ(got, cs.want)
					<< "differs from the independently checksummed frame";
			}
		}
	}
	EXPECT_EQ(be.drops_total(), 0u);
}

/* ======================================================================
 * 3. TX: headers asking for what was not negotiated, or pointing outside
 *    the frame, are dropped and counted; the buffers are returned.
 * ====================================================================== */

TEST_P(Offload, VNET3_SEC7_TxBadOffloadHeadersDropped)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, TX_ALL);
	tso_conf(be);
	Pkt t4 = build(tcp4(1000, 21)), t6 = build(tcp6(1000, 22)), u4 = build(udp4(1000, 23));
	const uint16_t len = (uint16_t)t4.b.size();
	struct Case {
		const char *name;
		uint64_t features;
		std::vector<uint8_t> hdr;
		const Pkt *p;
	};
	const std::vector<Case> cases = {
		{ "NEEDS_CSUM without CSUM", V1 | IND, csum_hdr(t4), &t4 },
		{ "NEEDS_CSUM without CSUM (UDPv4)", V1 | HTSO4 | HTSO6, csum_hdr(u4), &u4 },
		{ "csum field one byte past the end", TX_ALL,
		  vhdr(NEEDS_CSUM, 0, 0, (uint16_t)(len - 2), 1), &t4 },
		{ "csum_start past the end", TX_ALL, vhdr(NEEDS_CSUM, 0, 0, (uint16_t)(len + 1), 0),
		  &t4 },
		{ "csum_start and offset 0xffff", TX_ALL, vhdr(NEEDS_CSUM, 0, 0, 0xffff, 0xffff),
		  &t4 },
		{ "csum_offset past the end", TX_ALL,
		  vhdr(NEEDS_CSUM, 0, 0, 34, (uint16_t)(len - 35)), &t4 },
		{ "GSO TCPV4 without HOST_TSO4", V1 | CSUM | HTSO6, gso_hdr(t4, 1448), &t4 },
		{ "GSO TCPV6 without HOST_TSO6", V1 | CSUM | HTSO4, gso_hdr(t6, 1448), &t6 },
		{ "GSO TCPV4 without CSUM", V1 | HTSO4 | HTSO6, gso_hdr(t4, 1448), &t4 },
		{ "GSO gso_size 0", TX_ALL, gso_hdr(t4, 0), &t4 },
		{ "GSO TCPV4 | ECN", TX_ALL,
		  vhdr(NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 1448, (uint16_t)t4.l4off(), 16), &t4 },
		{ "GSO UDP", TX_ALL, vhdr(NEEDS_CSUM, GSO_UDP, 1448, (uint16_t)u4.l4off(), 6),
		  &u4 },
		{ "GSO TCPV6 on an IPv4 frame", TX_ALL,
		  vhdr(NEEDS_CSUM, GSO_TCPV6, 1448, (uint16_t)t4.l4off(), 16), &t4 },
		{ "GSO TCPV4 on an IPv6 frame", TX_ALL,
		  vhdr(NEEDS_CSUM, GSO_TCPV4, 1448, (uint16_t)t6.l4off(), 16), &t6 },
		{ "GSO TCPV4 on a UDP frame", TX_ALL,
		  vhdr(NEEDS_CSUM, GSO_TCPV4, 1448, (uint16_t)u4.l4off(), 6), &u4 },
		{ "GSO TCPV4 without NEEDS_CSUM", TX_ALL, vhdr(0, GSO_TCPV4, 1448, 0, 0), &t4 },
		{ "GSO unknown type 2", TX_ALL, vhdr(NEEDS_CSUM, 2, 1448, (uint16_t)t4.l4off(), 16),
		  &t4 },
	};
	const std::vector<std::vector<uint32_t>> layouts = { {}, { 12, 1 }, { 3, 9, 40, 1 } };
	uint64_t drops = 0;

	for (auto &cs : cases) {
		be.conf.features = cs.features;
		be.publish();
		for (size_t l = 0; l < layouts.size(); l++) {
			SCOPED_TRACE(std::string(cs.name) + ", layout " + std::to_string(l));
			uint16_t id = post_frame(*r, cs.hdr, cs.p->b, layouts[l]);
			auto out = dequeue(be);

			EXPECT_TRUE(out.empty()) << "a bad header was forwarded";
			expect_returned(*r, { id });
			drops++;
			EXPECT_EQ(be.drop(VIRTQ_DROP_BAD_HDR), drops);
			EXPECT_EQ(be.drops_total(), drops);
		}
	}
	/* The ring goes on: a good frame follows. */
	be.conf.features = TX_ALL;
	be.publish();
	uint16_t id = post_frame(*r, csum_hdr(t4), t4.b);
	auto out = dequeue(be);
	expect_returned(*r, { id });
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(mbuf_bytes(out[0].get()), t4.b);
	EXPECT_FALSE(be.vq.broken);
}

/*
 * SEC-7: random header fields over random frames (TCP/UDP over IPv4/IPv6,
 * ICMP, tagged, truncated, garbage), CSUM and HOST_TSO4/6 negotiated, random
 * descriptor layouts. Every chain comes back with len 0; each frame is
 * either delivered or counted; what is delivered is consistent with its
 * header; and the software completion of every delivered frame gives valid
 * checksums (or the frame is counted as dropped there, when its MSS would
 * make more than SW_OFFLOAD_MAX_SEGS segments).
 */
TEST_P(Offload, SEC7_VNET3_TxHeaderFuzz)
{
	Guest g({ { 0, 64 * MiB } });
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, TX_ALL);
	tso_conf(be);
	std::mt19937 rng(packed() ? 71 : 72);
	uint64_t delivered = 0, dropped = 0, flagged_csum = 0, flagged_tso = 0, sw_done = 0,
		 tso_segments = 0, tso_too_many = 0;

	for (int it = 0; it < 3000; it++) {
		SCOPED_TRACE("iteration " + std::to_string(it));
		Spec s;
		unsigned kind = rng() % 9;
		bool garbage = kind == 8, truncated = false;
		s.seed = (uint32_t)it;
		s.v6 = kind & 1;
		s.proto = kind < 4 ? 6 : kind < 6 ? 17 : 6;
		s.vlans = kind == 6 ? 1 + rng() % 2 : 0;
		if (kind == 7) {
			s.v6 = false;
			s.proto = 1;
		}
		if (s.proto == 6 && rng() % 2)
			s.tcp_hlen = 32;
		if (!s.v6 && rng() % 8 == 0)
			s.ip_opt = 4 * (1 + rng() % 4);
		if (s.proto == 6 && rng() % 4 == 0)
			s.payload = 1500 + rng() % 18000; /* GSO-sized */
		else
			s.payload = rng() % 1500;
		Pkt p = build(s);
		if (garbage) {
			p.b = pattern(14 + rng() % 1500, (uint32_t)it);
			p.b[12] = 0x88;
			p.b[13] = 0xb5;
		} else if (rng() % 12 == 0) {
			/* Cut inside the headers: never a valid L4 header. */
			p.b.resize(14 + rng() % (p.hl() - 14));
			truncated = true;
		}
		const size_t size = p.b.size();
		const bool known = !garbage && !truncated && p.proto != 1;

		/* The header. */
		uint8_t flags;
		switch (rng() % 8) {
		case 0:
			flags = 0;
			break;
		case 1:
			flags = DATA_VALID;
			break;
		case 2:
			flags = NEEDS_CSUM | 0x80;
			break;
		case 3:
			flags = (uint8_t)rng();
			break;
		default:
			flags = NEEDS_CSUM;
			break;
		}
		uint8_t gso;
		switch (rng() % 10) {
		case 6:
			gso = GSO_TCPV4;
			break;
		case 7:
			gso = GSO_TCPV6;
			break;
		case 8:
			gso = GSO_UDP;
			break;
		case 9:
			gso = (uint8_t)rng();
			break;
		default:
			gso = 0;
			break;
		}
		if (size > 1518 && rng() % 2)
			gso = p.v6 ? GSO_TCPV6 : GSO_TCPV4;
		uint16_t gso_size;
		switch (rng() % 6) {
		case 0:
			gso_size = 0;
			break;
		case 1:
			gso_size = (uint16_t)(1 + rng() % 64);
			break;
		case 2:
			gso_size = (uint16_t)rng();
			break;
		default:
			gso_size = 1448;
			break;
		}
		uint16_t start;
		switch (rng() % 6) {
		case 0:
			start = (uint16_t)(rng() % (size + 4));
			break;
		case 1:
			start = (uint16_t)rng();
			break;
		case 2:
			start = (uint16_t)(size - 2);
			break;
		default:
			start = (uint16_t)p.l4off();
			break;
		}
		uint16_t off;
		switch (rng() % 6) {
		case 0:
			off = (uint16_t)(rng() % 64);
			break;
		case 1:
			off = (uint16_t)rng();
			break;
		case 2:
			off = 0;
			break;
		default:
			off = p.csum_field();
			break;
		}
		std::vector<uint8_t> h = vhdr(flags, gso, gso_size, start, off, 12,
					      (uint16_t)rng());
		h[10] = (uint8_t)rng();
		h[11] = (uint8_t)rng();

		std::vector<uint32_t> lay;
		switch (rng() % 4) {
		case 0:
			break;
		case 1:
			lay = { 12, 1 };
			break;
		case 2:
			lay = { (uint32_t)(1 + rng() % 11), 1 + (uint32_t)(rng() % 40), 1 };
			break;
		default:
			lay = frags_of(size + 12, (uint32_t)(100 + rng() % 1500));
			break;
		}
		uint16_t id = post_frame(*r, h, p.b, lay);
		uint64_t before = be.drops_total();
		auto out = dequeue(be, 4);
		auto u = r->drain_used();
		ASSERT_EQ(u.size(), 1u);
		EXPECT_EQ(u[0].id, id);
		EXPECT_EQ(u[0].len, 0u);
		ASSERT_EQ(out.size() + (be.drops_total() - before), 1u)
			<< "a frame must be delivered or counted, once";

		const bool needs = flags & NEEDS_CSUM;
		if (out.empty()) {
			dropped++;
			/* A header asking for nothing never makes a drop (VNET-3:
			 * unknown flag bits, hdr_len, csum fields are ignored). */
			EXPECT_FALSE(!needs && gso == 0 && size <= 1518)
				<< "a plain frame was dropped";
			continue;
		}
		delivered++;
		struct rte_mbuf *m = out[0].get();
		std::vector<uint8_t> got = mbuf_bytes(m);
		ASSERT_EQ(got.size(), size);
		const uint64_t f = m->ol_flags;
		EXPECT_TRUE(gso == 0 || gso == GSO_TCPV4 || gso == GSO_TCPV6)
			<< "GSO type " << (int)gso << " delivered";
		if (needs) {
			EXPECT_LE((size_t)start + off + 2, size)
				<< "checksum field outside the frame";
		}
		if (gso == 0) {
			EXPECT_LE(size, 1518u) << "non-GSO frame above max_frame";
		}
		if (gso != 0) {
			EXPECT_TRUE(needs);
			EXPECT_TRUE(f & RTE_MBUF_F_TX_TCP_SEG) << "GSO frame without TCP_SEG";
		}
		if (f & RTE_MBUF_F_TX_TCP_SEG) {
			flagged_tso++;
			EXPECT_TRUE(gso == GSO_TCPV4 ? (be.conf.features & HTSO4)
						     : (be.conf.features & HTSO6));
			EXPECT_GT(gso_size, 0u);
			EXPECT_EQ((unsigned)m->tso_segsz, gso_size);
			ASSERT_TRUE(known && p.proto == 6) << "TCP_SEG on a frame that is not TCP";
			EXPECT_EQ(p.v6, gso == GSO_TCPV6);
			EXPECT_EQ(got, p.b);
		} else if (f & RTE_MBUF_F_TX_L4_MASK) {
			flagged_csum++;
			ASSERT_TRUE(known) << "L4 flag on a frame that is not TCP/UDP";
			EXPECT_TRUE(needs);
			EXPECT_EQ((f & RTE_MBUF_F_TX_L4_MASK),
				  p.proto == 6 ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
			EXPECT_EQ(start, p.l4off());
			EXPECT_EQ(off, p.csum_field());
			EXPECT_EQ(got, p.b);
		} else if (needs) {
			/* Completed at once: only the field changed, and it verifies
			 * (an odd csum_offset has no checksum meaning: not checked). */
			if (off % 2 == 0) {
				EXPECT_TRUE(range_ok(got, start, get16(p.b, start + off)));
			}
			std::vector<uint8_t> a = got, b = p.b;
			a[start + off] = b[start + off] = a[start + off + 1] = b[start + off + 1] =
				0;
			EXPECT_EQ(a, b);
		} else {
			EXPECT_EQ(got, p.b);
		}
		if (f & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK)) {
			EXPECT_EQ((unsigned)m->l2_len, p.l2);
			EXPECT_EQ((unsigned)m->l3_len, p.l3);
			EXPECT_EQ((unsigned)m->l4_len, p.l4);
			EXPECT_EQ(f & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6),
				  p.v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
		} else {
			EXPECT_EQ(f & TXF, 0u);
			continue;
		}

		/* What a port does for a destination without offloads. */
		const bool tso = f & RTE_MBUF_F_TX_TCP_SEG;
		const uint32_t want_segs = tso ? nsegs(p, gso_size) : 1;
		IterOut io = complete({ out[0].release() }, 0, 64);
		if (tso && want_segs > SW_OFFLOAD_MAX_SEGS) {
			EXPECT_EQ(io.dropped, 1u);
			EXPECT_TRUE(io.out.empty());
			tso_too_many++;
			continue;
		}
		EXPECT_EQ(io.dropped, 0u);
		ASSERT_EQ(io.out.size(), want_segs);
		for (auto &o : io.out) {
			std::vector<uint8_t> seg = mbuf_bytes(o.get());
			EXPECT_EQ(o->ol_flags & SW_OFFLOAD_TX_FLAGS, 0u);
			EXPECT_TRUE(l4_ok(seg, p.l2, p.l3, p.v6, p.proto));
			if (!p.v6) {
				EXPECT_TRUE(ipv4_ok(seg, p.l2));
			}
		}
		if (tso) {
			std::vector<std::vector<uint8_t>> segs;
			for (auto &o : io.out)
				segs.push_back(mbuf_bytes(o.get()));
			check_segments(p, gso_size, segs);
			tso_segments += io.out.size();
		} else {
			EXPECT_EQ(mbuf_bytes(io.out[0].get()), full(s).b);
		}
		sw_done++;
	}
	EXPECT_EQ(delivered + dropped, 3000u);
	EXPECT_EQ(be.vq.stats.packets, delivered);
	/* The fuzz reached every outcome. */
	EXPECT_GT(flagged_csum, 50u);
	EXPECT_GT(flagged_tso, 20u);
	EXPECT_GT(dropped, 300u);
	EXPECT_GT(delivered, 1000u);
	EXPECT_GT(tso_too_many, 0u);
	EXPECT_FALSE(be.vq.broken);
	printf("fuzz (%s): %llu delivered (%llu csum-flagged, %llu TSO: %llu segments, %llu over "
	       "the segment cap), %llu dropped, %llu completed in software\n",
	       packed() ? "packed" : "split", (unsigned long long)delivered,
	       (unsigned long long)flagged_csum, (unsigned long long)flagged_tso,
	       (unsigned long long)tso_segments, (unsigned long long)tso_too_many,
	       (unsigned long long)dropped, (unsigned long long)sw_done);
}

/* ======================================================================
 * 4. TX: 64 KiB GSO frames over many descriptors; length limits.
 * ====================================================================== */

TEST_P(Offload, VNET4_VNET5_TxGso64KiBFrames)
{
	Guest g({ { 0, 32 * MiB } });
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, true, TX_ALL);
	tso_conf(be, 1518);
	struct Case {
		const char *name;
		Spec s;
		uint16_t mss;
	};
	Spec vl = gso_spec(false, 65535 - 20 - 32, 33);
	vl.vlans = 1; /* 18 + 65535 = max_gso_frame exactly */
	const std::vector<Case> cases = {
		{ "TCPv4 64 KiB", gso_spec(false, 65000, 31), 1448 },
		{ "TCPv6 64 KiB", gso_spec(true, 65000, 32), 1428 },
		{ "VLAN TCPv4 at max_gso_frame", vl, 1448 },
	};

	for (auto &cs : cases) {
		Pkt p = build(cs.s);
		struct Layout {
			const char *name;
			std::vector<uint32_t> frags;
			bool indirect;
		};
		const std::vector<Layout> layouts = {
			{ "header alone + 1500-byte pieces", hdr_then(p.b.size(), 1500), false },
			{ "one descriptor", {}, false },
			{ "indirect table of 4 KiB pieces", frags_of(p.b.size() + 12, 4096), true },
			{ "header split + 1000-byte pieces",
			  [&] {
				  std::vector<uint32_t> f = { 7, 5 };
				  auto rest = frags_of(p.b.size(), 1000);
				  f.insert(f.end(), rest.begin(), rest.end());
				  return f;
			  }(),
			  false },
		};
		for (auto &l : layouts) {
			SCOPED_TRACE(std::string(cs.name) + ", " + l.name);
			uint16_t id = post_frame(*r, gso_hdr(p, cs.mss), p.b, l.frags, l.indirect);
			auto out = dequeue(be);

			expect_returned(*r, { id });
			ASSERT_EQ(out.size(), 1u);
			struct rte_mbuf *m = out[0].get();
			EXPECT_EQ(m->pkt_len, p.b.size());
			EXPECT_GT(m->nb_segs, 1u) << "one multi-segment mbuf";
			EXPECT_EQ(mbuf_bytes(m), p.b);
			EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
			EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6),
				  p.v6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
			/* TCP_SEG implies TCP_CKSUM in DPDK; no other L4 or IP checksum. */
			uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
			EXPECT_TRUE(l4 == 0 || l4 == RTE_MBUF_F_TX_TCP_CKSUM);
			EXPECT_FALSE(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
			EXPECT_EQ((unsigned)m->tso_segsz, cs.mss);
			EXPECT_EQ((unsigned)m->l2_len, p.l2);
			EXPECT_EQ((unsigned)m->l3_len, p.l3);
			EXPECT_EQ((unsigned)m->l4_len, p.l4);
		}
	}
	EXPECT_EQ(be.drops_total(), 0u);

	/* Length limits (VNET-5). */
	Pkt big = build(tcp4(3000 - 54, 34));
	ASSERT_EQ(big.b.size(), 3000u);
	Pkt at = build(tcp4(1518 - 54, 35));
	Spec over = gso_spec(false, 70000 - 66, 36);
	Pkt huge = build(over); /* IPv4 length wraps: dropped on length first */
	ASSERT_EQ(huge.b.size(), 70000u);
	Spec one_more = vl;
	one_more.payload++;
	Pkt p1 = build(one_more);
	ASSERT_EQ(p1.b.size(), MAX_GSO + 1);
	std::vector<uint16_t> ids = {
		post_frame(*r, net_hdr(12), big.b, { 12, 1 }),   /* plain 3000 */
		post_frame(*r, csum_hdr(big), big.b, { 12, 1 }), /* partial csum 3000 */
		post_frame(*r, csum_hdr(big), big.b),            /* one descriptor */
		post_frame(*r, gso_hdr(huge, 1448), huge.b, hdr_then(70000, 4096)), /* GSO 70000 */
		post_frame(*r, gso_hdr(p1, 1448), p1.b, hdr_then(p1.b.size(), 4096)), /* max + 1 */
		post_frame(*r, csum_hdr(at), at.b), /* 1518: fine */
	};
	auto out = dequeue(be);
	expect_returned(*r, ids);
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(mbuf_bytes(out[0].get()), at.b);
	EXPECT_EQ(be.drop(VIRTQ_DROP_TOO_BIG), 5u);
	EXPECT_EQ(be.drops_total(), 5u);

	/* Without HOST_TSO (max_gso_frame 0), a 64 KiB GSO frame is dropped. */
	be.conf.features = V1 | CSUM | IND;
	be.conf.max_gso_frame = 0;
	be.publish();
	Pkt p = build(gso_spec(false, 65000, 37));
	ids = { post_frame(*r, gso_hdr(p, 1448), p.b, hdr_then(p.b.size(), 4096)) };
	EXPECT_TRUE(dequeue(be).empty());
	expect_returned(*r, ids);
	EXPECT_EQ(be.drops_total(), 6u);
}

/* ======================================================================
 * 5. lib/sw_offload: TSO, checksum completion, the iterator.
 * ====================================================================== */

std::vector<std::vector<uint8_t>>
bytes_of(const std::vector<struct rte_mbuf *> &v)
{
	std::vector<std::vector<uint8_t>> out;

	for (auto *m : v)
		out.push_back(mbuf_bytes(m));
	return out;
}

void
free_all(std::vector<struct rte_mbuf *> &v)
{
	for (auto *m : v)
		rte_pktmbuf_free(m);
	v.clear();
}

TEST_F(OffloadSw, VNET4_TsoSegments64KiBFrame)
{
	struct Case {
		const char *name;
		Spec s;
		uint16_t mss;
		uint32_t in_seg; /* input mbuf segment size */
	};
	Spec v4 = gso_spec(false, 65000, 41), v6 = gso_spec(true, 65000, 42);
	Spec vlan = v4;
	vlan.vlans = 1;
	Spec opts = v4;
	opts.ip_opt = 12;
	opts.tcp_hlen = 60;
	const std::vector<Case> cases = {
		{ "TCPv4 mss 1448", v4, 1448, 2048 },
		{ "TCPv4 mss 1448, input in 1000-byte segments", v4, 1448, 1000 },
		{ "TCPv4 jumbo mss 8948", v4, 8948, 2048 },
		{ "TCPv6 mss 1428", v6, 1428, 2048 },
		{ "TCPv6 jumbo mss 8948, input in 777-byte segments", v6, 8948, 777 },
		{ "VLAN TCPv4 mss 1448", vlan, 1448, 2048 },
		{ "TCPv4 IP and TCP options, mss 1000", opts, 1000, 1500 },
		{ "payload a multiple of the MSS", gso_spec(false, 1448 * 10, 43), 1448, 2048 },
		{ "payload below the MSS", gso_spec(true, 500, 44), 1448, 2048 },
		{ "no payload", gso_spec(false, 0, 45), 1448, 2048 },
	};

	for (auto &cs : cases) {
		SCOPED_TRACE(cs.name);
		Pkt p = build(cs.s);
		Mb m(flagged(p, tso_flags(p), cs.mss, cs.in_seg));
		const uint32_t n = nsegs(p, cs.mss);
		std::vector<struct rte_mbuf *> out(SW_OFFLOAD_MAX_SEGS);
		uint32_t pos = 0;

		int k = sw_offload_tso(m.get(), pool(), out.data(), (uint16_t)out.size(), &pos);
		ASSERT_EQ(k, (int)n);
		EXPECT_EQ(pos, n);
		out.resize((size_t)k);
		for (auto *s : out) {
			EXPECT_EQ(s->ol_flags & TXF, 0u) << "no offload flag left";
			if (p.hl() + cs.mss > 2048 && s != out.back()) {
				EXPECT_GT(s->nb_segs, 1u) << "a jumbo segment is a chain";
			}
		}
		check_segments(p, cs.mss, bytes_of(out));
		EXPECT_EQ(mbuf_bytes(m.get()), p.b) << "the input frame changed";
		EXPECT_EQ(m->ol_flags, tso_flags(p));
		/* At the end: nothing more. */
		std::vector<struct rte_mbuf *> more(8);
		EXPECT_EQ(sw_offload_tso(m.get(), pool(), more.data(), 4, &pos), 0);
		std::vector<std::vector<uint8_t>> whole = bytes_of(out);
		free_all(out);

		/* Chunked: 7 (then 1) at a time, *pos advancing, same result. */
		for (uint16_t max : { 7, 1 }) {
			std::vector<std::vector<uint8_t>> parts;
			uint32_t cpos = 0;
			int got;

			while ((got = sw_offload_tso(m.get(), pool(), more.data(), max, &cpos)) >
			       0) {
				ASSERT_LE(got, (int)max);
				std::vector<struct rte_mbuf *> v(more.begin(), more.begin() + got);
				auto b = bytes_of(v);
				parts.insert(parts.end(), b.begin(), b.end());
				free_all(v);
				EXPECT_EQ(cpos, parts.size());
			}
			EXPECT_EQ(got, 0);
			EXPECT_EQ(parts, whole) << "chunks of " << max;
		}
	}
}

TEST_F(OffloadSw, VNET4_TsoRefusesWhatItCannotCut)
{
	Pkt p = build(gso_spec(false, 65000, 51));
	std::vector<struct rte_mbuf *> out(SW_OFFLOAD_MAX_SEGS + 8);
	uint32_t pos;

	/* No MSS; no TCP_SEG; l4_len below a TCP header; headers beyond the
	 * first segment; IPv6 with an l3_len that is not 40. */
	{
		Mb m(flagged(p, tso_flags(p), 0));
		pos = 0;
		EXPECT_EQ(sw_offload_tso(m.get(), pool(), out.data(), 64, &pos), -EINVAL);
		m->tso_segsz = 1448;
		m->ol_flags = RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
		EXPECT_EQ(sw_offload_tso(m.get(), pool(), out.data(), 64, &pos), -EINVAL);
		m->ol_flags = tso_flags(p);
		m->l4_len = 12;
		EXPECT_EQ(sw_offload_tso(m.get(), pool(), out.data(), 64, &pos), -EINVAL);
	}
	{
		Pkt q = build(gso_spec(false, 3000, 55));
		Mb m(flagged(q, tso_flags(q), 1448, 40)); /* 66 bytes of headers over 2 segments */
		pos = 0;
		EXPECT_EQ(sw_offload_tso(m.get(), pool(), out.data(), 64, &pos), -EINVAL);
	}
	{
		Pkt p6 = build(gso_spec(true, 5000, 52));
		Mb m(flagged(p6, tso_flags(p6), 1448));
		m->l3_len = 48;
		pos = 0;
		EXPECT_EQ(sw_offload_tso(m.get(), pool(), out.data(), 64, &pos), -EINVAL);
	}
	/* SW_OFFLOAD_MAX_SEGS segments are fine; one more is refused. */
	{
		Pkt q = build(gso_spec(false, 63 * SW_OFFLOAD_MAX_SEGS, 53));
		Mb m(flagged(q, tso_flags(q), 63));
		pos = 0;
		int k = sw_offload_tso(m.get(), pool(), out.data(), (uint16_t)out.size(), &pos);
		ASSERT_EQ(k, (int)SW_OFFLOAD_MAX_SEGS);
		std::vector<struct rte_mbuf *> v(out.begin(), out.begin() + k);
		check_segments(q, 63, bytes_of(v));
		free_all(v);

		Pkt q1 = build(gso_spec(false, 63 * SW_OFFLOAD_MAX_SEGS + 1, 54));
		Mb m1(flagged(q1, tso_flags(q1), 63));
		pos = 0;
		EXPECT_EQ(sw_offload_tso(m1.get(), pool(), out.data(), (uint16_t)out.size(), &pos),
			  -EINVAL);
	}
	/* Out of mbufs half way: -ENOMEM and nothing leaked (the fixture
	 * counts the pool). */
	{
		Mb m(flagged(p, tso_flags(p), 1448));
		std::vector<struct rte_mbuf *> hold;
		for (;;) {
			struct rte_mbuf *x = rte_pktmbuf_alloc(pool());
			if (x == nullptr)
				break;
			hold.push_back(x);
		}
		/* Leave room for 10 segments of 45. */
		for (int i = 0; i < 10; i++) {
			rte_pktmbuf_free(hold.back());
			hold.pop_back();
		}
		pos = 0;
		EXPECT_EQ(sw_offload_tso(m.get(), pool(), out.data(), 64, &pos), -ENOMEM);
		EXPECT_EQ(rte_mempool_avail_count(pool()), 10u)
			<< "segments of a failed call leaked";
		free_all(hold);
		EXPECT_EQ(mbuf_bytes(m.get()), p.b);
	}
}

/* A frame with a partial L4 checksum, in mbufs of @p seg bytes. */
struct CsumCase {
	const char *name;
	Spec s;
	uint32_t seg;
};

/* sw_offload_csum completes each case into the frame built with full
 * checksums (checked by the test's own RFC 1071 code) and clears the flags. */
static void
expect_csum_completed(const std::vector<CsumCase> &cases)
{
	for (auto &cs : cases) {
		SCOPED_TRACE(cs.name);
		Pkt p = build(cs.s);
		Mb m(flagged(p, csum_flags(p), 0, cs.seg));

		ASSERT_EQ(sw_offload_csum(m.get()), 0);
		std::vector<uint8_t> got = mbuf_bytes(m.get());
		EXPECT_EQ(got, full(cs.s).b);
		EXPECT_TRUE(l4_ok(got, p.l2, p.l3, p.v6, p.proto));
		EXPECT_EQ(m->ol_flags & SW_OFFLOAD_TX_FLAGS, 0u);
	}
}

TEST_F(OffloadSw, VNET4_SoftwareChecksumCompletion)
{
	Spec vlan = tcp4(1200, 61);
	vlan.vlans = 1;
	Spec opt = udp4(333, 62);
	opt.ip_opt = 8;
	const std::vector<CsumCase> cases = {
		{ "TCPv4", tcp4(1000, 63), 2048 },
		{ "UDPv6", udp6(1001, 64), 2048 },
		{ "VLAN TCPv4", vlan, 2048 },
		{ "UDPv4 with IP options", opt, 2048 },
		{ "TCPv6 over 1000-byte segments", tcp6(5000, 65), 1000 },
		{ "UDPv4 over 2048-byte segments", udp4(4000, 66), 2048 },
	};

	expect_csum_completed(cases);

	/* IPv4 header checksum asked for too (zeroed by the sender). */
	{
		Spec s = udp4(200, 67);
		Pkt p = build(s);
		std::vector<uint8_t> z = p.b;
		put16(z, p.l2 + 10, 0);
		Mb m(make_mbuf(z));
		m->ol_flags = csum_flags(p) | RTE_MBUF_F_TX_IP_CKSUM;
		m->l2_len = p.l2;
		m->l3_len = p.l3;
		ASSERT_EQ(sw_offload_csum(m.get()), 0);
		std::vector<uint8_t> got = mbuf_bytes(m.get());
		EXPECT_EQ(got, full(s).b);
		EXPECT_TRUE(ipv4_ok(got, p.l2));
		EXPECT_EQ(m->ol_flags & SW_OFFLOAD_TX_FLAGS, 0u);
	}

	/* A UDP checksum that computes to 0 is sent as 0xffff (RFC 768). */
	{
		Spec s = udp4(100, 68);
		Pkt p = build(s);
		const size_t l4 = p.l4off(), last = p.b.size() - 2;
		std::vector<uint8_t> b = p.b;
		put16(b, last, 0);
		put16(b, l4 + 6, 0);
		uint16_t s0 = fold(pseudo_sum(&b[p.l2], false, 17, (uint32_t)(b.size() - l4)) +
				   sum_bytes(&b[l4], b.size() - l4));
		put16(b, last, (uint16_t)(0xffff - s0)); /* now the sum is 0xffff: checksum 0 */
		ASSERT_EQ(fold(pseudo_sum(&b[p.l2], false, 17, (uint32_t)(b.size() - l4)) +
			       sum_bytes(&b[l4], b.size() - l4)),
			  0xffff);
		put16(b, l4 + 6, fold(pseudo_sum(&b[p.l2], false, 17, (uint32_t)(b.size() - l4))));
		Mb m(make_mbuf(b));
		m->ol_flags = csum_flags(p);
		m->l2_len = p.l2;
		m->l3_len = p.l3;
		ASSERT_EQ(sw_offload_csum(m.get()), 0);
		std::vector<uint8_t> got = mbuf_bytes(m.get());
		EXPECT_EQ(get16(got, l4 + 6), 0xffff);
		EXPECT_TRUE(l4_ok(got, p.l2, p.l3, false, 17));
	}

	/* sw_offload_csum_at: the field must lie inside the frame. */
	{
		std::vector<uint8_t> raw = pattern(301, 69);
		Mb m(make_mbuf(raw, 100));
		EXPECT_EQ(sw_offload_csum_at(m.get(), 300, 0), -EINVAL);
		EXPECT_EQ(sw_offload_csum_at(m.get(), 302, 0), -EINVAL);
		EXPECT_EQ(sw_offload_csum_at(m.get(), 0, 300), -EINVAL);
		EXPECT_EQ(sw_offload_csum_at(m.get(), 0xffffffffu, 0xffffffffu), -EINVAL);
		EXPECT_EQ(sw_offload_csum_at(m.get(), 1, 0xffffffffu), -EINVAL);
		EXPECT_EQ(mbuf_bytes(m.get()), raw) << "a refused call wrote";
		/* Over three segments, the field in the third. */
		ASSERT_EQ(sw_offload_csum_at(m.get(), 50, 160), 0);
		std::vector<uint8_t> got = mbuf_bytes(m.get());
		EXPECT_TRUE(range_ok(got, 50, get16(raw, 210)));
		got[210] = raw[210];
		got[211] = raw[211];
		EXPECT_EQ(got, raw);
		raw = got;
		std::vector<uint8_t> before = mbuf_bytes(m.get());
		ASSERT_EQ(sw_offload_csum_at(m.get(), 299, 0), 0);
		EXPECT_TRUE(range_ok(mbuf_bytes(m.get()), 299, get16(before, 299)));
	}
	/* An L4 flag with headers beyond the frame is refused. */
	{
		Pkt p = build(tcp4(0, 70));
		Mb m(flagged(p, csum_flags(p)));
		m->l3_len = 40; /* the field would be past the end */
		EXPECT_EQ(sw_offload_csum(m.get()), -EINVAL);
		EXPECT_EQ(mbuf_bytes(m.get()), p.b);
	}
}

TEST_F(OffloadSw, VNET4_VNET9_IterMixedBurstAndCaps)
{
	const uint32_t TCPC = SW_OFFLOAD_CAP_TCP_CSUM, UDPC = SW_OFFLOAD_CAP_UDP_CSUM,
		       IPC = SW_OFFLOAD_CAP_IPV4_CSUM, T4 = SW_OFFLOAD_CAP_TSO4,
		       T6 = SW_OFFLOAD_CAP_TSO6;
	const std::vector<uint32_t> capsets = { 0,       TCPC | UDPC,           TCPC | UDPC | T4,
						T4 | T6, TCPC | UDPC | T4 | T6, CAP_ALL };
	Spec s_plain = tcp4(800, 81), s_tcp4 = tcp4(700, 82), s_udp6 = udp6(500, 84),
	     s_tcp6 = tcp6(900, 85), s_udp4 = udp4(300, 87), s_mseg = tcp4(5000, 88);
	s_plain.partial = false;
	s_udp4.ip_opt = 4;
	Spec s_big4 = gso_spec(false, 65000, 83), s_big6 = gso_spec(true, 20000, 86);
	Pkt plain = build(s_plain), t4 = build(s_tcp4), big4 = build(s_big4), u6 = build(s_udp6),
	    t6 = build(s_tcp6), big6 = build(s_big6), u4 = build(s_udp4), mseg = build(s_mseg);
	std::vector<uint8_t> u4z = u4.b;
	put16(u4z, u4.l2 + 10, 0); /* IPv4 header checksum left to do */

	enum Kind {
		PLAIN,
		CSUM_K,
		TSO_K,
		BAD_TSO
	};
	struct In {
		Kind kind;
		uint32_t needs;
		const Pkt *p;
		uint16_t mss;
		std::vector<uint8_t> want; /* completed frame */
	};
	const std::vector<In> ins = {
		{ PLAIN, 0, &plain, 0, plain.b },
		{ CSUM_K, TCPC, &t4, 0, full(s_tcp4).b },
		{ TSO_K, T4, &big4, 1448, {} },
		{ CSUM_K, UDPC, &u6, 0, full(s_udp6).b }, /* a clone */
		{ CSUM_K, TCPC, &t6, 0, full(s_tcp6).b }, /* shared: refcnt 2 */
		{ TSO_K, T6, &big6, 1428, {} },
		{ BAD_TSO, T4, &t4, 0, {} }, /* MSS 0 */
		{ CSUM_K, UDPC | IPC, &u4, 0, full(s_udp4).b },
		{ CSUM_K, TCPC, &mseg, 0, full(s_mseg).b }, /* 3 segments */
	};

	for (uint32_t caps : capsets) {
		for (uint16_t max : { 1, 16, 64 }) {
			SCOPED_TRACE("caps 0x" + std::to_string(caps) + ", max " +
				     std::to_string(max));
			struct rte_mbuf *orig_u6 = flagged(u6, csum_flags(u6));
			struct rte_mbuf *shared = flagged(t6, csum_flags(t6));
			std::vector<struct rte_mbuf *> in = {
				make_mbuf(plain.b),
				flagged(t4, csum_flags(t4)),
				flagged(big4, tso_flags(big4), 1448),
				rte_pktmbuf_clone(orig_u6, pool()),
				shared,
				flagged(big6, tso_flags(big6), 1428),
				flagged(t4, tso_flags(t4), 0),
				flagged(u4, csum_flags(u4) | RTE_MBUF_F_TX_IP_CKSUM),
				flagged(mseg, csum_flags(mseg), 0, 2048),
			};
			ASSERT_NE(in[3], nullptr);
			/* u4 with its IPv4 header checksum zeroed. */
			memcpy(rte_pktmbuf_mtod(in[7], uint8_t *), u4z.data(), u4z.size());
			rte_mbuf_refcnt_update(shared, 1); /* someone else holds it too */
			std::vector<uint64_t> flags_in;
			for (auto *m : in)
				flags_in.push_back(m->ol_flags);
			const std::vector<struct rte_mbuf *> ptrs = in;

			/* Pending: my reading of the caps, not the library's. */
			bool any_pending = false;
			for (auto &x : ins)
				any_pending |= (x.needs & ~caps) != 0;
			EXPECT_EQ(sw_offload_pending_burst(in.data(), (uint16_t)in.size(), caps),
				  any_pending);
			EXPECT_FALSE(sw_offload_pending_burst(in.data(), 1, caps)) << "plain frame";

			IterOut io = complete(in, caps, max);
			size_t j = 0;
			uint64_t dropped = 0, segments = 0, completed = 0;
			for (size_t i = 0; i < ins.size(); i++) {
				SCOPED_TRACE("input " + std::to_string(i));
				const In &x = ins[i];
				const bool pending = (x.needs & ~caps) != 0;
				if (!pending) {
					ASSERT_LT(j, io.out.size());
					EXPECT_EQ(io.out[j].get(), ptrs[i]) << "taken as it is";
					EXPECT_EQ(io.out[j]->ol_flags, flags_in[i]);
					j++;
					continue;
				}
				switch (x.kind) {
				case PLAIN:
					break;
				case CSUM_K: {
					ASSERT_LT(j, io.out.size());
					struct rte_mbuf *o = io.out[j++].get();
					if (i == 3 || i == 4) {
						EXPECT_NE(o, ptrs[i]) << "a shared frame is copied";
					}
					EXPECT_EQ(mbuf_bytes(o), x.want);
					EXPECT_EQ(o->ol_flags & SW_OFFLOAD_TX_FLAGS, 0u);
					completed++;
					break;
				}
				case TSO_K: {
					const uint32_t n = nsegs(*x.p, x.mss);
					ASSERT_LE(j + n, io.out.size());
					std::vector<std::vector<uint8_t>> segs;
					for (uint32_t k = 0; k < n; k++) {
						EXPECT_EQ(io.out[j + k]->ol_flags &
								  SW_OFFLOAD_TX_FLAGS,
							  0u);
						segs.push_back(mbuf_bytes(io.out[j + k].get()));
					}
					check_segments(*x.p, x.mss, segs);
					j += n;
					segments += n;
					break;
				}
				case BAD_TSO:
					dropped++;
					break;
				}
			}
			EXPECT_EQ(j, io.out.size()) << "more frames out than expected";
			EXPECT_EQ(io.dropped, dropped);
			EXPECT_EQ(io.segments, segments);
			EXPECT_EQ(io.completed, completed);
			/* The clone's original and the shared frame are untouched. */
			EXPECT_EQ(mbuf_bytes(orig_u6), u6.b) << "a clone's data was modified";
			EXPECT_EQ(orig_u6->ol_flags, csum_flags(u6));
			EXPECT_EQ(mbuf_bytes(shared), t6.b) << "a shared frame was modified";
			io.out.clear();
			rte_pktmbuf_free(orig_u6);
			rte_pktmbuf_free(shared);
		}
	}
}

/*
 * Checksums over mbuf chains whose segments hold an odd number of bytes of
 * the summed range (an odd csum_start in a frame longer than one mbuf, or
 * odd-sized segments). RFC 1071 sums are byte-order independent only for
 * words at even offsets: a segment starting at an odd offset of the range
 * must have its partial sum byte-swapped, carries included.
 */
TEST_F(OffloadSw, VNET4_ChecksumAcrossOddLengthSegments)
{
	const std::vector<CsumCase> cases = {
		{ "TCPv6 over 999-byte segments", tcp6(5000, 65), 999 },
		{ "UDPv4 over 301-byte segments", udp4(4000, 66), 301 },
		{ "TCPv4 over 2047-byte segments", tcp4(3000, 67), 2047 },
	};

	expect_csum_completed(cases);
	/* sw_offload_csum_at with an odd start; the field across a boundary. */
	std::vector<uint8_t> raw = pattern(301, 69);
	Mb m(make_mbuf(raw, 100));
	ASSERT_EQ(sw_offload_csum_at(m.get(), 51, 48), 0);
	std::vector<uint8_t> got = mbuf_bytes(m.get());
	EXPECT_TRUE(range_ok(got, 51, get16(raw, 99)));
	got[99] = raw[99];
	got[100] = raw[100];
	EXPECT_EQ(got, raw) << "bytes outside the field changed";
}

/* The same through the datapath: a guest's NEEDS_CSUM at an odd csum_start
 * in a 5000-byte frame (mbufs of 2048 bytes: 2048 - 43 bytes in the first). */
TEST_P(Offload, VNET4_TxOddChecksumStartAcrossMbufSegments)
{
	Guest g;
	auto r = make_ring(g, packed(), 64);
	Backend be(g, *r, true, V1 | CSUM);
	Pkt big = build(udp4(5000 - 42, 15));
	const uint16_t start = 43, off = 4;

	uint16_t id = post_frame(*r, vhdr(NEEDS_CSUM, 0, 0, start, off), big.b, { 12, 1 });
	auto out = dequeue(be);
	expect_returned(*r, { id });
	ASSERT_EQ(out.size(), 1u);
	ASSERT_GT(out[0]->nb_segs, 1u);
	std::vector<uint8_t> got = mbuf_bytes(out[0].get());
	EXPECT_TRUE(range_ok(got, start, get16(big.b, start + off)));
	got[start + off] = big.b[start + off];
	got[start + off + 1] = big.b[start + off + 1];
	EXPECT_EQ(got, big.b);
}

/* ======================================================================
 * 6. Guest RX: mbuf flags become the header's offload fields.
 * ====================================================================== */

TEST_P(Offload, VNET9_RxPartialChecksumToGuestWithCsum)
{
	Guest g;
	auto r = make_ring(g, packed(), 256);
	Backend be(g, *r, false, V1 | GCSUM);
	Spec vl = udp6(700, 92);
	vl.vlans = 1;
	const std::vector<Spec> specs = { tcp4(1000, 91), vl, tcp4(5000, 93), udp4(3000, 94) };
	Posted posted;

	for (auto &s : specs) {
		SCOPED_TRACE("payload " + std::to_string(s.payload));
		Pkt p = build(s);
		/* 2048: one buffer, a one-segment mbuf takes the fast path; the
		 * larger ones are mbuf chains into an 8 KiB buffer. */
		post_rx(*r, posted, 1, p.b.size() + 12 <= 2048 ? 2048 : 8192);
		Mb m(flagged(p, csum_flags(p)));
		ASSERT_EQ(enqueue(be, { m.get() }), 1u);
		auto got = received(*r, posted, 12, false);
		ASSERT_EQ(got.size(), 1u);
		const auto &h = got[0].hdr;
		EXPECT_EQ(h[0], NEEDS_CSUM);
		EXPECT_EQ(h[1], 0u) << "gso_type";
		EXPECT_EQ(le16(h, 4), 0u) << "gso_size";
		EXPECT_EQ(le16(h, 6), p.l4off()) << "csum_start";
		EXPECT_EQ(le16(h, 8), p.csum_field()) << "csum_offset";
		EXPECT_EQ(got[0].frame, p.b) << "the frame reaches the guest as it is";
		/* What the guest's stack does with it: complete at csum_start +
		 * csum_offset; then the checksum verifies. */
		std::vector<uint8_t> f = got[0].frame;
		const size_t st = le16(h, 6), fo = st + le16(h, 8);
		put16(f, fo, (uint16_t)~fold(sum_bytes(&f[st], f.size() - st)));
		EXPECT_TRUE(l4_ok(f, p.l2, p.l3, p.v6, p.proto));
	}
	EXPECT_EQ(be.drops_total(), 0u);
}

TEST_P(Offload, VNET9_RxTsoToGuestWithTso)
{
	struct Case {
		const char *name;
		uint64_t features;
		Spec s;
		uint16_t mss;
	};
	Spec vl = gso_spec(false, 60000, 103);
	vl.vlans = 1;
	const std::vector<Case> cases = {
		{ "TCPv4, merged buffers", V1 | GCSUM | GTSO4 | MRG, gso_spec(false, 65000, 101),
		  1448 },
		{ "TCPv6, merged buffers", V1 | GCSUM | GTSO4 | GTSO6 | MRG,
		  gso_spec(true, 65000, 102), 1428 },
		{ "VLAN TCPv4, merged buffers", V1 | GCSUM | GTSO4 | MRG, vl, 1448 },
		{ "TCPv4, one big buffer", V1 | GCSUM | GTSO4, gso_spec(false, 65000, 104), 1448 },
	};

	/* Each case on a fresh ring. */
	for (auto &cs : cases) {
		SCOPED_TRACE(cs.name);
		Guest g2({ { 0, 32 * MiB } });
		auto r2 = make_ring(g2, packed(), 256);
		Backend be(g2, *r2, false, cs.features);
		const bool mrg = cs.features & MRG;
		Pkt p = build(cs.s);
		Posted posted;
		if (mrg)
			post_rx(*r2, posted, 40, 2048);
		else
			post_rx(*r2, posted, 1, 66000);
		Mb m(flagged(p, tso_flags(p), cs.mss));
		ASSERT_EQ(enqueue(be, { m.get() }), 1u);
		auto got = received(*r2, posted, 12, mrg);
		ASSERT_EQ(got.size(), 1u);
		const auto &h = got[0].hdr;
		EXPECT_EQ(h[0], NEEDS_CSUM);
		EXPECT_EQ(h[1], p.v6 ? GSO_TCPV6 : GSO_TCPV4);
		EXPECT_EQ(le16(h, 2), p.hl());
		EXPECT_EQ(le16(h, 4), cs.mss);
		EXPECT_EQ(le16(h, 6), p.l4off());
		EXPECT_EQ(le16(h, 8), 16u);
		EXPECT_EQ(got[0].nbuf, mrg ? (12 + p.b.size() + 2047) / 2048 : 1u);
		EXPECT_EQ(got[0].frame, p.b);
		EXPECT_EQ(be.drops_total(), 0u);
	}
}

TEST_P(Offload, VNET9_RxOffloadTheGuestLacksIsRefused)
{
	struct Case {
		const char *name;
		uint64_t features;
		Spec s;
		uint64_t (*flags)(const Pkt &);
		uint16_t mss;
	};
	const std::vector<Case> cases = {
		{ "TCP csum, no GUEST_CSUM", V1, tcp4(1000, 111), csum_flags, 0 },
		{ "TCP csum chain, no GUEST_CSUM", V1 | MRG, tcp4(5000, 112), csum_flags, 0 },
		{ "UDPv6 csum, no GUEST_CSUM", V1 | MRG, udp6(800, 113), csum_flags, 0 },
		{ "TSO4, no GUEST_CSUM", V1 | MRG | GTSO4, gso_spec(false, 65000, 114), tso_flags,
		  1448 },
		{ "TSO4, no GUEST_TSO4", V1 | MRG | GCSUM | GTSO6, gso_spec(false, 65000, 115),
		  tso_flags, 1448 },
		{ "TSO6, no GUEST_TSO6", V1 | MRG | GCSUM | GTSO4, gso_spec(true, 65000, 116),
		  tso_flags, 1428 },
	};

	for (auto &cs : cases) {
		SCOPED_TRACE(cs.name);
		Guest g({ { 0, 16 * MiB } });
		auto r = make_ring(g, packed(), 256);
		Backend be(g, *r, false, cs.features);
		const bool mrg = cs.features & MRG;
		Posted posted;
		post_rx(*r, posted, 4, 8192);
		Pkt p = build(cs.s), q = full(tcp4(200, 117));
		Mb bad(flagged(p, cs.flags(p), cs.mss)), good(make_mbuf(q.b));

		/* The refused frame takes no buffer; the next one gets the first. */
		ASSERT_EQ(enqueue(be, { bad.get(), good.get() }), 1u);
		EXPECT_EQ(be.drop(VIRTQ_DROP_OFFLOAD), 1u);
		EXPECT_EQ(be.drops_total(), 1u);
		auto got = received(*r, posted, 12, mrg);
		ASSERT_EQ(got.size(), 1u);
		EXPECT_EQ(got[0].frame, q.b);
		EXPECT_EQ(got[0].hdr[0], 0u);
		EXPECT_EQ(got[0].hdr[1], 0u);
		/* The buffers left are untouched. */
		for (auto &kv : posted)
			EXPECT_EQ(g.read(kv.second.segs[0].addr, 8192),
				  std::vector<uint8_t>(8192, 0xAA));
	}
}

TEST_P(Offload, VNET9_RxDataValidOnlyWithGuestCsum)
{
	struct Case {
		uint64_t rx_flags;
		bool guest_csum;
		uint8_t want;
	};
	const std::vector<Case> cases = {
		{ RTE_MBUF_F_RX_L4_CKSUM_GOOD, true, DATA_VALID },
		{ RTE_MBUF_F_RX_L4_CKSUM_GOOD, false, 0 },
		{ RTE_MBUF_F_RX_L4_CKSUM_BAD, true, 0 },
		{ RTE_MBUF_F_RX_L4_CKSUM_NONE, true, 0 },
		{ RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, true, 0 },
		{ RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD, true, DATA_VALID },
	};

	for (size_t i = 0; i < cases.size(); i++) {
		for (size_t payload : { 1000, 5000 }) {
			SCOPED_TRACE("case " + std::to_string(i) + ", payload " +
				     std::to_string(payload));
			Guest g;
			auto r = make_ring(g, packed(), 64);
			Backend be(g, *r, false, V1 | (cases[i].guest_csum ? GCSUM : 0));
			Posted posted;
			post_rx(*r, posted, 1, 8192);
			Pkt p = full(tcp4(payload, 120));
			Mb m(make_mbuf(p.b));
			m->ol_flags |= cases[i].rx_flags;
			ASSERT_EQ(enqueue(be, { m.get() }), 1u);
			auto got = received(*r, posted, 12, false);
			ASSERT_EQ(got.size(), 1u);
			std::vector<uint8_t> want_hdr(12, 0);
			want_hdr[0] = cases[i].want;
			want_hdr[10] = 1;
			EXPECT_EQ(got[0].hdr, want_hdr);
			EXPECT_EQ(got[0].frame, p.b);
		}
	}
}

/* The legacy 10-byte header (no VERSION_1, no MRG_RXBUF): split rings only. */
TEST_F(OffloadLegacy, VNET1_VNET9_RxLegacyHeader)
{
	Guest g({ { 0, 16 * MiB } });
	auto r = make_ring(g, false, 64);
	Backend be(g, *r, false, GCSUM | GTSO4, 10);
	Posted posted;
	Pkt c = build(tcp4(1000, 131)), t = build(gso_spec(false, 30000, 132)),
	    v = full(udp4(500, 133));

	post_rx(*r, posted, 3, 32768);
	Mb mc(flagged(c, csum_flags(c))), mt(flagged(t, tso_flags(t), 1448)), mv(make_mbuf(v.b));
	mv->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	ASSERT_EQ(enqueue(be, { mc.get(), mt.get(), mv.get() }), 3u);
	auto got = received(*r, posted, 10, false);
	ASSERT_EQ(got.size(), 3u);
	EXPECT_EQ(got[0].hdr, vhdr(NEEDS_CSUM, 0, 0, (uint16_t)c.l4off(), 16, 10));
	EXPECT_EQ(got[0].frame, c.b);
	EXPECT_EQ(got[1].hdr,
		  vhdr(NEEDS_CSUM, GSO_TCPV4, 1448, (uint16_t)t.l4off(), 16, 10, (uint16_t)t.hl()));
	EXPECT_EQ(got[1].frame, t.b);
	EXPECT_EQ(got[2].hdr, vhdr(DATA_VALID, 0, 0, 0, 0, 10));
	EXPECT_EQ(got[2].frame, v.b);

	/* The TX side reads a 10-byte header too. */
	Guest gt;
	auto rt = make_ring(gt, false, 64);
	Backend tx(gt, *rt, true, CSUM, 10);
	uint16_t id = post_frame(*rt, csum_hdr(c, 10), c.b, { 4, 6, 20, 1 });
	auto out = dequeue(tx);
	expect_returned(*rt, { id });
	ASSERT_EQ(out.size(), 1u);
	EXPECT_EQ(mbuf_bytes(out[0].get()), c.b);
	EXPECT_EQ(out[0]->ol_flags & TXF, csum_flags(c));
}

/* ======================================================================
 * 7. VNET-4 / VNET-9 end to end at the library level: guest A's 64 KiB
 *    partial-checksum TSO frame reaches guest B (no offloads) as MSS-sized
 *    frames with valid checksums and flags 0.
 * ====================================================================== */

TEST_P(Offload, VNET4_VNET9_GuestGsoSegmentedForGuestWithoutOffloads)
{
	for (bool bpacked : { false, true }) {
		SCOPED_TRACE(bpacked ? "to a packed ring" : "to a split ring");
		Guest ga({ { 0, 32 * MiB } }), gb;
		auto ra = make_ring(ga, packed(), 256);
		auto rb = make_ring(gb, bpacked, 256);
		Backend a(ga, *ra, true, TX_ALL);
		tso_conf(a, 1518);
		Backend b(gb, *rb, false, V1); /* no GUEST_CSUM, no GUEST_TSO */
		Spec s4 = gso_spec(false, 65000, 141), s6 = gso_spec(true, 30000, 142),
		     su = udp4(1000, 143), sp = tcp4(800, 144);
		sp.partial = false;
		Pkt big4 = build(s4), big6 = build(s6), u = build(su), plain = build(sp);

		std::vector<uint16_t> ids = {
			post_frame(*ra, gso_hdr(big4, 1448), big4.b, hdr_then(big4.b.size(), 1500)),
			post_frame(*ra, gso_hdr(big6, 1428), big6.b,
				   frags_of(big6.b.size() + 12, 4096), true),
			post_frame(*ra, csum_hdr(u), u.b),
			post_frame(*ra, net_hdr(12), plain.b),
		};
		auto in = dequeue(a);
		expect_returned(*ra, ids);
		ASSERT_EQ(in.size(), 4u);
		std::vector<struct rte_mbuf *> raw;
		for (auto &m : in)
			raw.push_back(m.release());

		/* The port's slow path for a guest without offloads (caps 0):
		 * complete and segment, deliver in bursts of 32. */
		Posted posted;
		post_rx(*rb, posted, 128, 2048);
		struct sw_offload_iter it;
		struct rte_mbuf *out[32];
		uint16_t k;
		unsigned delivered = 0;
		sw_offload_iter_init(&it, raw.data(), (uint16_t)raw.size(), 0, pool());
		while ((k = sw_offload_next(&it, out, 32)) != 0) {
			delivered += virtq_enqueue_burst(&b.vq, virtq_conf_get(&b.vq), out, k);
			rte_pktmbuf_free_bulk(out, k);
		}
		const uint32_t n4 = nsegs(big4, 1448), n6 = nsegs(big6, 1428);
		EXPECT_EQ(n4, 45u);
		EXPECT_EQ(n6, 22u);
		EXPECT_EQ(delivered, n4 + n6 + 2);
		EXPECT_EQ(it.dropped, 0u);
		EXPECT_EQ(it.segments, n4 + n6);
		EXPECT_EQ(it.completed, 1u);
		EXPECT_EQ(b.drops_total(), 0u);

		auto got = received(*rb, posted, 12, false);
		ASSERT_EQ(got.size(), n4 + n6 + 2);
		std::vector<uint8_t> zero_hdr(12, 0);
		zero_hdr[10] = 1;
		std::vector<std::vector<uint8_t>> s4segs, s6segs;
		for (size_t i = 0; i < got.size(); i++) {
			SCOPED_TRACE("frame " + std::to_string(i));
			EXPECT_EQ(got[i].hdr, zero_hdr) << "flags 0, gso NONE (VNET-9)";
			EXPECT_LE(got[i].frame.size(), 1514u) << "above the wire MTU";
			if (i < n4)
				s4segs.push_back(got[i].frame);
			else if (i < n4 + n6)
				s6segs.push_back(got[i].frame);
		}
		check_segments(big4, 1448, s4segs);
		check_segments(big6, 1428, s6segs);
		EXPECT_EQ(got[n4 + n6].frame, full(su).b);
		EXPECT_TRUE(l4_ok(got[n4 + n6].frame, u.l2, u.l3, false, 17));
		EXPECT_EQ(got[n4 + n6 + 1].frame, plain.b);
	}
}

INSTANTIATE_TEST_SUITE_P(Rings, Offload, ::testing::Bool(), ring_kind);

} // namespace
