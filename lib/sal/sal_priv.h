/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_PRIV_H
#define SAL_PRIV_H

/*
 * Private to lib/sal and its white-box tests: byte access that is safe at
 * any alignment, the Internet checksum, incremental updates, IPv4 offsets.
 */

#include <stdint.h>
#include <string.h>

#include "sal.h"
#include "sal_parse.h"

/* IPv4 header field offsets (RFC 791). */
#define SAL_IP_MIN_LEN 20
#define SAL_IP_MAX_LEN 60
#define SAL_IP_OFF_VIHL 0
#define SAL_IP_OFF_TOS 1
#define SAL_IP_OFF_TOTLEN 2
#define SAL_IP_OFF_ID 4
#define SAL_IP_OFF_FRAG 6
#define SAL_IP_OFF_TTL 8
#define SAL_IP_OFF_PROTO 9
#define SAL_IP_OFF_CSUM 10
#define SAL_IP_OFF_SRC 12
#define SAL_IP_OFF_DST 16
#define SAL_IP_FRAG_MF 0x2000
#define SAL_IP_FRAG_OFFMASK 0x1fff

/* SAL base header offsets. */
#define SAL_OFF_SRC_FLOWID 0
#define SAL_OFF_DST_FLOWID 4
#define SAL_OFF_SHL 8
#define SAL_OFF_PROTO 9
#define SAL_OFF_CSUM 10

/* Transport checksum field offsets and minimum header sizes. */
#define SAL_TCP_MIN_LEN 20
#define SAL_TCP_OFF_DOFF 12
#define SAL_TCP_OFF_CSUM 16
#define SAL_UDP_LEN 8
#define SAL_UDP_OFF_CSUM 6

static inline uint16_t
sal_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
sal_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t
sal_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
sal_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Raw 4 wire bytes as a uint32_t in network order (no conversion). */
static inline uint32_t
sal_get_raw32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
sal_put_raw32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * Ones' complement sum of len bytes, as big-endian 16-bit words starting at
 * p[0], added to sum (a running 32-bit partial sum). Loads are native and
 * the byte swap happens once at the end (RFC 1071: the sum is byte-order
 * independent); memcpy keeps every load alignment-safe.
 */
static inline uint32_t
sal_csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	uint64_t acc = 0, q;
	uint32_t w;
	uint16_t h;

	/* 8 bytes a step with end-around carry: a sum mod 2^64 - 1 is one mod
	 * 0xffff too (the compiler makes the carry an adc) */
	while (len >= 8) {
		memcpy(&q, p, 8);
		acc += q;
		acc += acc < q;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		acc += w;
		acc += acc < w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		acc += acc < h;
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		/* Trailing byte is the high half of a zero-padded big-endian word. */
		uint8_t last[2] = { p[0], 0 };

		memcpy(&h, last, 2);
		acc += h;
		acc += acc < h;
	}
	/* Fold the 64-bit native sum to 16 bits, then into big-endian value. */
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	acc = (uint16_t)((acc >> 8) | (acc << 8));
#endif
	return sum + (uint32_t)acc;
}

/* Fold a partial sum to 16 bits (no complement). */
static inline uint16_t
sal_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The Internet checksum of a buffer (complemented). */
static inline uint16_t
sal_csum(const uint8_t *p, uint32_t len)
{
	return (uint16_t)~sal_csum_fold(sal_csum_add(0, p, len));
}

/*
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit word changing from
 * m to m'. With end-around carry this gives exactly what a full recompute
 * gives for any checksum a full computation produced (never 0xffff).
 */
static inline uint16_t
sal_csum_update16(uint16_t check, uint16_t old_w, uint16_t new_w)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old_w;
	sum += new_w;
	return (uint16_t)~sal_csum_fold(sum);
}

/* Same for a 32-bit field given as raw network-order values. */
static inline uint16_t
sal_csum_update32(uint16_t check, uint32_t old_be, uint32_t new_be)
{
	uint8_t o[4], n[4];

	memcpy(o, &old_be, 4);
	memcpy(n, &new_be, 4);
	check = sal_csum_update16(check, sal_get16(o), sal_get16(n));
	return sal_csum_update16(check, sal_get16(o + 2), sal_get16(n + 2));
}

/*
 * Incremental updates in the CPU's byte order: RFC 1624 eqn. 3 as above,
 * but the ones' complement sum does not depend on byte order (RFC 1071), so
 * fields and the checksum are taken as raw words, the differences of several
 * fields are summed first and folded once. sal_csum_diff*() give the
 * difference of one field; sal_csum_apply() applies a sum of them.
 */
static inline uint64_t
sal_csum_diff32(uint32_t old_raw, uint32_t new_raw)
{
	return (uint64_t)(uint32_t)~old_raw + new_raw;
}

static inline uint64_t
sal_csum_diff16(uint16_t old_raw, uint16_t new_raw)
{
	return (uint64_t)(uint16_t)~old_raw + new_raw;
}

static inline uint16_t
sal_get_raw16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
sal_put_raw16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* A raw 16-bit checksum after adding @p diff (a sum of sal_csum_diff*()):
 * never 0xffff from a checksum a full computation produced, as
 * sal_csum_update16(). */
static inline uint16_t
sal_csum_adjust(uint16_t check_raw, uint64_t diff)
{
	uint64_t acc = (uint16_t)~check_raw + diff;

	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* Apply @p diff to the checksum stored at @p c. */
static inline void
sal_csum_apply(uint8_t *c, uint64_t diff)
{
	sal_put_raw16(c, sal_csum_adjust(sal_get_raw16(c), diff));
}

/*
 * Raw words made of wire bytes in registers. An edit computes the new
 * value of a word it changes here rather than reading it back after byte
 * stores: a wider load of bytes just stored separately cannot be forwarded
 * from the store buffer and stalls until they reach the cache.
 */
static inline uint16_t
sal_raw16_of(uint8_t b0, uint8_t b1)
{
	uint8_t b[2] = { b0, b1 };
	uint16_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

static inline uint32_t
sal_raw32_of(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	uint8_t b[4] = { b0, b1, b2, b3 };
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

/* @p w (raw) with its byte @p i (0: the first on the wire) set to @p v. */
static inline uint16_t
sal_raw16_with(uint16_t w, unsigned int i, uint8_t v)
{
	uint8_t b[2];

	memcpy(b, &w, sizeof(b));
	b[i & 1] = v;
	memcpy(&w, b, sizeof(w));
	return w;
}

/* The raw (network-order) form of a host-order 16-bit value. */
static inline uint16_t
sal_raw16_be(uint16_t v)
{
	return sal_raw16_of((uint8_t)(v >> 8), (uint8_t)v);
}

/* Partial sum of the IPv4 pseudo-header for a transport segment. */
static inline uint32_t
sal_pseudo_sum(const uint8_t *l3, uint8_t proto, uint32_t l4_len)
{
	uint32_t sum;

	sum = sal_csum_add(0, l3 + SAL_IP_OFF_SRC, 8);
	sum += proto;
	sum += l4_len & 0xffff;
	sum += l4_len >> 16;
	return sum;
}

/* Where the transport checksum sits, or -1 when lib/sal cannot tell. */
static inline int
sal_l4_csum_off(uint8_t proto, uint32_t l4_len)
{
	if (proto == SAL_PROTO_TCP && l4_len >= SAL_TCP_MIN_LEN)
		return SAL_TCP_OFF_CSUM;
	if (proto == SAL_PROTO_UDP && l4_len >= SAL_UDP_LEN)
		return SAL_UDP_OFF_CSUM;
	return -1;
}

/*
 * Full transport checksum of l4 (l4_len bytes) with the pseudo-header from
 * l3, written into the segment. UDP transmits a computed 0 as 0xffff.
 * No-op for packets without a known transport header.
 */
static inline void
sal_l4_csum_set(const uint8_t *l3, uint8_t proto, uint8_t *l4, uint32_t l4_len)
{
	int off = sal_l4_csum_off(proto, l4_len);
	uint16_t c;

	if (off < 0)
		return;
	sal_put16(l4 + off, 0);
	c = (uint16_t)~sal_csum_fold(sal_csum_add(sal_pseudo_sum(l3, proto, l4_len), l4, l4_len));
	if (proto == SAL_PROTO_UDP && c == 0)
		c = 0xffff;
	sal_put16(l4 + off, c);
}

/* Recompute the IPv4 header checksum in place. */
static inline void
sal_ip_csum_set(uint8_t *l3)
{
	uint32_t hlen = (uint32_t)(l3[0] & 0x0f) * 4;

	sal_put16(l3 + SAL_IP_OFF_CSUM, 0);
	sal_put16(l3 + SAL_IP_OFF_CSUM, sal_csum(l3, hlen));
}

/* Recompute the SAL checksum over shl * 4 bytes in place. */
static inline void
sal_sal_csum_set(uint8_t *sal)
{
	sal_put16(sal + SAL_OFF_CSUM, 0);
	sal_put16(sal + SAL_OFF_CSUM, sal_csum(sal, (uint32_t)sal[SAL_OFF_SHL] * 4));
}

#endif /* SAL_PRIV_H */
