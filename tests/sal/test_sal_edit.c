/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * lib/sal in-place edits and the RST reply: the router-in -> router-out
 * acceptance check, scapy-made expectations, every edit drop reason, and
 * incremental checksums against full recomputation (the builder) on random
 * packets.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sal.h"
#include "sal_build.h"
#include "sal_edit.h"
#include "sal_parse.h"
#include "sal_priv.h"
#include "sal_test_util.h"
#include "sal_vectors.h"

#define ETH_LEN 14
#define HEADROOM 128
#define BUFSZ 70000

static uint32_t
ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t x[4] = { a, b, c, d };
	uint32_t v;

	memcpy(&v, x, 4);
	return v;
}

/* A fake mbuf: buffer, data offset, length. */
struct fake_mbuf {
	uint8_t *buf;
	uint32_t size;
	uint32_t off;
	uint32_t len;
};

static void
fm_load(struct fake_mbuf *m, uint32_t size, uint32_t headroom, const uint8_t *l3,
	uint32_t l3_len)
{
	m->buf = malloc(size);
	assert_non_null(m->buf);
	m->size = size;
	m->off = headroom;
	m->len = ETH_LEN + l3_len;
	memset(m->buf, 0xcc, size);
	/* A recognisable L2 header: it must travel with the frame. */
	for (uint32_t i = 0; i < 12; i++)
		m->buf[headroom + i] = (uint8_t)(0xa0 + i);
	m->buf[headroom + 12] = 0x08;
	m->buf[headroom + 13] = 0x00;
	memcpy(m->buf + headroom + ETH_LEN, l3, l3_len);
}

static void
fm_frame(struct fake_mbuf *m, struct sal_frame *f)
{
	f->data = m->buf + m->off;
	f->len = m->len;
	f->headroom = m->off;
	f->tailroom = m->size - m->off - m->len;
}

/* What the app does with the result (rte_pktmbuf_prepend / _append). */
static void
fm_apply(struct fake_mbuf *m, const struct sal_frame *f, const struct sal_edit_res *res)
{
	assert_true(res->prepended == 0 || res->appended == 0);
	m->off -= res->prepended;
	m->len += res->prepended + res->appended;
	assert_ptr_equal(f->data, m->buf + m->off);
	assert_int_equal(f->len, m->len);
	assert_int_equal(f->headroom, m->off);
	assert_int_equal(f->tailroom, m->size - m->off - m->len);
}

static void
check_l2(const struct fake_mbuf *m)
{
	for (uint32_t i = 0; i < 12; i++)
		assert_int_equal(m->buf[m->off + i], 0xa0 + i);
}

static void
parse_frame(const struct fake_mbuf *m, struct sal_pkt *p)
{
	struct sal_parse_conf c;
	enum sal_drop_reason r;

	assert_int_equal(sal_parse_conf_init(&c, SAL_IPPROTO_DEFAULT, SAL_PARSE_F_L4_CSUM), 0);
	r = sal_parse(&c, m->buf + m->off, m->len, ETH_LEN, p);
	if (r != SAL_DROP_NONE)
		fail_msg("frame rejected: %s", sal_drop_reason_name(r));
}

/*
 * Forward l3 to dst in a fake mbuf with the given room; the result must
 * equal want (from the IPv4 header on), keep L2, and leave a view equal to
 * a fresh parse of the new frame.
 */
static void
forward_expect(const uint8_t *l3, uint32_t l3_len, uint32_t headroom, uint32_t tailroom,
	uint32_t dst, const uint8_t *want, uint32_t want_len)
{
	struct fake_mbuf m;
	struct sal_frame f;
	struct sal_edit_res res;
	struct sal_pkt p, fresh;
	enum sal_drop_reason r;

	fm_load(&m, headroom + ETH_LEN + l3_len + tailroom, headroom, l3, l3_len);
	parse_frame(&m, &p);
	fm_frame(&m, &f);
	r = sal_edit_forward(&f, &p, dst, 0, &res);
	if (r != SAL_DROP_NONE)
		fail_msg("forward refused: %s", sal_drop_reason_name(r));
	assert_int_equal(p.drop, SAL_DROP_NONE);
	fm_apply(&m, &f, &res);
	assert_int_equal(res.prepended + res.appended, want_len - l3_len);
	if (headroom >= want_len - l3_len)
		assert_int_equal(res.prepended, want_len - l3_len);
	else
		assert_int_equal(res.appended, want_len - l3_len);
	check_l2(&m);
	assert_int_equal(m.len, ETH_LEN + want_len);
	if (memcmp(m.buf + m.off + ETH_LEN, want, want_len) != 0) {
		test_hexdump("edited", m.buf + m.off + ETH_LEN, want_len);
		test_hexdump("expected", want, want_len);
		fail_msg("forwarded bytes differ");
	}
	parse_frame(&m, &fresh);
	fresh.drop = p.drop;
	assert_memory_equal(&fresh, &p, sizeof(p));
	free(m.buf);
}

/* ---------------------------------------------------------- acceptance */

/*
 * The original router's behaviour, bit for bit: router-in #0 (SYN to the
 * router 198.18.1.254) forwarded to 198.18.2.2 is router-out #0. Its TCP
 * checksum changes (0xc919 -> 0xc915) although SOURCE touches neither the
 * TCP bytes nor the pseudo-header: the new IP destination is in the
 * pseudo-header (01fe -> 0202 adds 4 to the sum).
 */
static void
test_router_in_out(void **state)
{
	struct test_pcap in, out;
	const uint8_t *want;
	uint32_t in_len, want_len;

	(void)state;
	assert_int_equal(test_pcap_load_upstream("router-in.pcap", &in), 0);
	assert_int_equal(test_pcap_load_upstream("router-out.pcap", &out), 0);
	in_len = in.frames[0].len - ETH_LEN;
	want = out.frames[0].data + ETH_LEN;
	want_len = out.frames[0].len - ETH_LEN;
	assert_int_equal(want_len, in_len + 12);
	assert_int_equal(sal_get16(want + 88 + 12 + 16), 0xc915);
	assert_int_equal(sal_get16(in.frames[0].data + ETH_LEN + 88 + 16), 0xc919);

	/* mbuf default: 128 bytes of headroom, headers move to the front */
	forward_expect(in.frames[0].data + ETH_LEN, in_len, HEADROOM, 0,
		ip4(198, 18, 2, 2), want, want_len);
	/* no headroom: the TCP part moves to the tail */
	forward_expect(in.frames[0].data + ETH_LEN, in_len, 0, 64,
		ip4(198, 18, 2, 2), want, want_len);
	/* exactly enough either way */
	forward_expect(in.frames[0].data + ETH_LEN, in_len, 12, 0,
		ip4(198, 18, 2, 2), want, want_len);
	forward_expect(in.frames[0].data + ETH_LEN, in_len, 11, 12,
		ip4(198, 18, 2, 2), want, want_len);
	test_pcap_free(&in);
	test_pcap_free(&out);
}

/* A second router appends its own address to SOURCE (scapy-made oracle). */
static void
test_forward_append_source(void **state)
{
	(void)state;
	forward_expect(vec_syn_source, sizeof(vec_syn_source), HEADROOM, 0,
		ip4(10, 0, 7, 7), vec_syn_source_fwd, sizeof(vec_syn_source_fwd));
	forward_expect(vec_syn_source, sizeof(vec_syn_source), 3, 4,
		ip4(10, 0, 7, 7), vec_syn_source_fwd, sizeof(vec_syn_source_fwd));
}

/* A datagram: new SOURCE after both SERVICE, UDP checksum updated. */
static void
test_forward_dgram(void **state)
{
	(void)state;
	forward_expect(vec_dgram, sizeof(vec_dgram), HEADROOM, 0,
		ip4(192, 0, 2, 99), vec_dgram_fwd, sizeof(vec_dgram_fwd));
	forward_expect(vec_dgram, sizeof(vec_dgram), 0, 100,
		ip4(192, 0, 2, 99), vec_dgram_fwd, sizeof(vec_dgram_fwd));
}

/* SOURCE not last (a PAD group follows it): the insertion stays inside. */
static void
test_forward_source_not_last(void **state)
{
	static uint8_t addrs[12], store[64];
	struct sal_msg m, want;
	uint8_t in[256], out[256];
	int n_in, n_out;

	(void)state;
	sal_msg_init(&m);
	m.ip_src = ip4(10, 1, 1, 1);
	m.ip_dst = ip4(10, 1, 1, 2);
	m.proto = SAL_PROTO_TCP;
	m.n_ext = 6;
	m.ext[0].type = SAL_EXT_PAD;
	m.ext[1].type = SAL_EXT_SOURCE;
	m.ext[1].u.source.n_addr = 2;
	memcpy(addrs, (uint8_t[]){ 10, 1, 1, 1, 10, 9, 9, 9 }, 8);
	m.ext[1].u.source.addr = addrs;
	m.ext[2].type = m.ext[3].type = m.ext[4].type = SAL_EXT_PAD;
	m.ext[5].type = SAL_EXT_CONTROL;
	m.ext[5].u.control.flags = SAL_CTRL_SYN;
	memset(store, 0, sizeof(store));
	store[12] = 0x50;
	m.l4 = store;
	m.l4_len = 20;
	n_in = sal_build(&m, in, sizeof(in));
	assert_true(n_in > 0);

	want = m;
	want.ip_ttl = 63;
	want.ip_dst = ip4(10, 2, 2, 2);
	want.ext[1].u.source.n_addr = 3;
	memcpy(addrs + 8, (uint8_t[]){ 10, 1, 1, 2 }, 4);
	n_out = sal_build(&want, out, sizeof(out));
	assert_int_equal(n_out, n_in + 4);
	forward_expect(in, (uint32_t)n_in, HEADROOM, 0, ip4(10, 2, 2, 2), out, (uint32_t)n_out);
	forward_expect(in, (uint32_t)n_in, 0, 4, ip4(10, 2, 2, 2), out, (uint32_t)n_out);
}

/* --------------------------------------------------------- edit drops */

/* An edit that fails must leave frame, room and view exactly as they were. */
static void
forward_refused(const uint8_t *l3, uint32_t l3_len, uint32_t headroom, uint32_t tailroom,
	uint32_t dst, uint32_t flags, enum sal_drop_reason want)
{
	struct fake_mbuf m;
	struct sal_frame f, f0;
	struct sal_edit_res res;
	struct sal_pkt p, p0;
	enum sal_drop_reason r;
	uint8_t *copy;

	fm_load(&m, headroom + ETH_LEN + l3_len + tailroom, headroom, l3, l3_len);
	copy = malloc(m.size);
	assert_non_null(copy);
	memcpy(copy, m.buf, m.size);
	parse_frame(&m, &p);
	p0 = p;
	fm_frame(&m, &f);
	f0 = f;
	r = sal_edit_forward(&f, &p, dst, flags, &res);
	if (r != want)
		fail_msg("want %s, got %s", sal_drop_reason_name(want), sal_drop_reason_name(r));
	assert_int_equal(p.drop, want);
	p.drop = p0.drop;
	assert_memory_equal(&p, &p0, sizeof(p));
	assert_memory_equal(&f, &f0, sizeof(f));
	assert_int_equal(res.prepended, 0);
	assert_int_equal(res.appended, 0);
	assert_memory_equal(m.buf, copy, m.size);
	free(copy);
	free(m.buf);
}

static void
test_forward_ttl(void **state)
{
	uint8_t v[sizeof(vec_syn)];

	(void)state;
	memcpy(v, vec_syn, sizeof(v));
	v[SAL_IP_OFF_TTL] = 1;
	test_fix_csums(v, sizeof(v));
	forward_refused(v, sizeof(v), HEADROOM, 0, ip4(1, 2, 3, 4), 0, SAL_DROP_TTL_EXPIRED);
	v[SAL_IP_OFF_TTL] = 0;
	test_fix_csums(v, sizeof(v));
	forward_refused(v, sizeof(v), HEADROOM, 0, ip4(1, 2, 3, 4), 0, SAL_DROP_TTL_EXPIRED);
}

static void
test_forward_keep_ttl(void **state)
{
	struct fake_mbuf m;
	struct sal_frame f;
	struct sal_edit_res res;
	struct sal_pkt p;
	uint8_t v[sizeof(vec_syn)];

	(void)state;
	memcpy(v, vec_syn, sizeof(v));
	v[SAL_IP_OFF_TTL] = 1;
	test_fix_csums(v, sizeof(v));
	fm_load(&m, 512, HEADROOM, v, sizeof(v));
	parse_frame(&m, &p);
	fm_frame(&m, &f);
	assert_int_equal(sal_edit_forward(&f, &p, ip4(1, 2, 3, 4), SAL_FWD_F_KEEP_TTL |
		SAL_FWD_F_NO_SOURCE, &res), SAL_DROP_NONE);
	fm_apply(&m, &f, &res);
	assert_int_equal(res.prepended + res.appended, 0);
	assert_int_equal(m.buf[m.off + ETH_LEN + SAL_IP_OFF_TTL], 1);
	assert_int_equal(sal_pkt_ip_dst(m.buf + m.off, &p), ip4(1, 2, 3, 4));
	/* shl, SAL bytes unchanged; checksums still valid */
	assert_memory_equal(m.buf + m.off + p.sal_off, vec_syn + 20, 68);
	parse_frame(&m, &p);
	free(m.buf);
}

static void
test_forward_loop(void **state)
{
	uint8_t v[sizeof(vec_syn_source)];

	(void)state;
	/* vec_syn_source lists 10.0.0.1 and 10.0.5.5; address it to 10.0.5.5 */
	memcpy(v, vec_syn_source, sizeof(v));
	memcpy(v + SAL_IP_OFF_DST, (uint8_t[]){ 10, 0, 5, 5 }, 4);
	test_fix_csums(v, sizeof(v));
	forward_refused(v, sizeof(v), HEADROOM, 0, ip4(10, 0, 7, 7), 0, SAL_DROP_SOURCE_LOOP);
	memcpy(v + SAL_IP_OFF_DST, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	test_fix_csums(v, sizeof(v));
	forward_refused(v, sizeof(v), HEADROOM, 0, ip4(10, 0, 7, 7), 0, SAL_DROP_SOURCE_LOOP);
}

static int
build_with_source(uint8_t *out, uint32_t n_addr, uint8_t *addrs)
{
	struct sal_msg m;
	uint32_t i;

	sal_msg_init(&m);
	m.ip_src = ip4(10, 0, 0, 1);
	m.ip_dst = ip4(10, 0, 0, 200);
	m.proto = SAL_PROTO_TCP;
	m.n_ext = 1;
	m.ext[0].type = SAL_EXT_SOURCE;
	m.ext[0].u.source.n_addr = (uint8_t)n_addr;
	for (i = 0; i < n_addr; i++)
		memcpy(addrs + 4 * i, (uint8_t[]){ 10, 0, 1, (uint8_t)i }, 4);
	m.ext[0].u.source.addr = addrs;
	return sal_build(&m, out, 512);
}

static void
test_forward_source_too_long(void **state)
{
	uint8_t v[512], addrs[80];
	int n;

	(void)state;
	n = build_with_source(v, 20, addrs);
	assert_true(n > 0);
	forward_refused(v, (uint32_t)n, HEADROOM, 0, ip4(10, 0, 7, 7), 0,
		SAL_DROP_SOURCE_TOO_LONG);
	/* 19 addresses: the 20th fits */
	n = build_with_source(v, 19, addrs);
	assert_true(n > 0);
	{
		struct fake_mbuf m;
		struct sal_frame f;
		struct sal_edit_res res;
		struct sal_pkt p;

		fm_load(&m, 1024, HEADROOM, v, (uint32_t)n);
		parse_frame(&m, &p);
		fm_frame(&m, &f);
		assert_int_equal(sal_edit_forward(&f, &p, ip4(10, 0, 7, 7), 0, &res), 0);
		fm_apply(&m, &f, &res);
		assert_int_equal(p.n_source, 20);
		assert_int_equal(sal_pkt_source_addr(m.buf + m.off, &p, 19), ip4(10, 0, 0, 200));
		parse_frame(&m, &p);
		free(m.buf);
	}
}

static void
test_forward_too_many_ext(void **state)
{
	struct sal_msg m;
	uint8_t v[512];
	int n, i;

	(void)state;
	sal_msg_init(&m);
	m.proto = SAL_PROTO_TCP;
	m.n_ext = 10; /* 8 PADs + 2 ADDRESS: no room for an 11th */
	for (i = 0; i < 8; i++)
		m.ext[i].type = SAL_EXT_PAD;
	m.ext[8].type = m.ext[9].type = SAL_EXT_ADDRESS;
	n = sal_build(&m, v, sizeof(v));
	assert_true(n > 0);
	forward_refused(v, (uint32_t)n, HEADROOM, 0, ip4(10, 0, 7, 7), 0, SAL_DROP_EXT_TOO_MANY);
	/* the same packet may still be forwarded without SOURCE */
	{
		struct fake_mbuf fm;
		struct sal_frame f;
		struct sal_edit_res res;
		struct sal_pkt p;

		fm_load(&fm, 1024, HEADROOM, v, (uint32_t)n);
		parse_frame(&fm, &p);
		fm_frame(&fm, &f);
		assert_int_equal(sal_edit_forward(&f, &p, ip4(10, 0, 7, 7),
			SAL_FWD_F_NO_SOURCE, &res), 0);
		fm_apply(&fm, &f, &res);
		parse_frame(&fm, &p);
		free(fm.buf);
	}
}

static void
test_forward_too_long(void **state)
{
	static uint8_t addrs[240], payload[65535], v[70000];
	struct sal_msg m;
	int n, i;

	(void)state;
	/* shl 255: 12 + 4 ADDRESS of 252 bytes; a SOURCE would make it 258 */
	sal_msg_init(&m);
	m.proto = SAL_PROTO_TCP;
	m.n_ext = 4;
	for (i = 0; i < 4; i++) {
		m.ext[i].type = SAL_EXT_ADDRESS;
		m.ext[i].u.address.n_addr = 60;
		m.ext[i].u.address.addr = addrs;
	}
	n = sal_build(&m, v, sizeof(v));
	assert_int_equal(n, 20 + 1020);
	forward_refused(v, (uint32_t)n, HEADROOM, 0, ip4(10, 0, 7, 7), 0, SAL_DROP_EDIT_TOO_LONG);

	/* IPv4 total length 65520 behind 14 bytes of L2: 12 more bytes would
	 * put the IP end past the 16-bit offsets of the view */
	sal_msg_init(&m);
	m.proto = 99;
	m.l4 = payload;
	m.l4_len = 65520 - 32;
	n = sal_build(&m, v, sizeof(v));
	assert_int_equal(n, 65520);
	forward_refused(v, (uint32_t)n, HEADROOM, 0, ip4(10, 0, 7, 7), 0, SAL_DROP_EDIT_TOO_LONG);
}

static void
test_forward_no_room(void **state)
{
	(void)state;
	forward_refused(vec_syn, sizeof(vec_syn), 11, 11, ip4(10, 0, 7, 7), 0,
		SAL_DROP_EDIT_NO_ROOM);
	forward_refused(vec_syn_source, sizeof(vec_syn_source), 3, 3, ip4(10, 0, 7, 7), 0,
		SAL_DROP_EDIT_NO_ROOM);
}

static void
test_forward_bad_arg(void **state)
{
	struct fake_mbuf m;
	struct sal_frame f;
	struct sal_edit_res res = { 1, 1 };
	struct sal_pkt p;

	(void)state;
	fm_load(&m, 512, HEADROOM, vec_syn, sizeof(vec_syn));
	parse_frame(&m, &p);
	fm_frame(&m, &f);
	assert_int_equal(sal_edit_forward(&f, &p, 0, 1u << 9, &res), SAL_DROP_EDIT_BAD_ARG);
	assert_int_equal(res.prepended + res.appended, 0);
	/* a view that was never accepted */
	assert_int_equal(test_parse_l3(vec_syn, 10, &p), SAL_DROP_IP_TRUNCATED);
	assert_int_equal(sal_edit_forward(&f, &p, 0, 0, &res), SAL_DROP_EDIT_BAD_ARG);
	/* a frame shorter than the view says */
	parse_frame(&m, &p);
	f.len = 40;
	assert_int_equal(sal_edit_forward(&f, &p, 0, 0, &res), SAL_DROP_EDIT_BAD_ARG);
	free(m.buf);
}

/* ------------------------------------------------------------ rewrites */

static void
test_dec_ttl(void **state)
{
	uint8_t v[sizeof(vec_data)];
	struct sal_pkt p;
	int i;

	(void)state;
	memcpy(v, vec_data, sizeof(v));
	assert_int_equal(test_parse_l3(v, sizeof(v), &p), 0);
	for (i = 64; i > 1; i--) {
		assert_int_equal(sal_edit_dec_ttl(v, &p), SAL_DROP_NONE);
		assert_int_equal(v[SAL_IP_OFF_TTL], i - 1);
		assert_true(sal_verify_ip_csum(v, &p));
	}
	assert_int_equal(sal_edit_dec_ttl(v, &p), SAL_DROP_TTL_EXPIRED);
	assert_int_equal(v[SAL_IP_OFF_TTL], 1);
	assert_true(sal_verify_ip_csum(v, &p));
	/* Everything but TTL and checksum is as it was. */
	assert_memory_equal(v + 12, vec_data + 12, sizeof(v) - 12);
}

/* UDP checksum 0 means none was sent: address rewrites keep it 0. */
static void
test_udp_zero_csum(void **state)
{
	uint8_t v[sizeof(vec_dgram)];
	struct sal_pkt p;

	(void)state;
	memcpy(v, vec_dgram, sizeof(v));
	sal_put16(v + 20 + 84 + 6, 0);
	assert_int_equal(test_parse_l3(v, sizeof(v), &p), 0);
	sal_edit_set_ip_addrs(v, &p, ip4(1, 1, 1, 1), ip4(2, 2, 2, 2));
	assert_int_equal(sal_get16(v + 20 + 84 + 6), 0);
	assert_true(sal_verify_ip_csum(v, &p));
	assert_true(sal_verify_l4_csum(v, &p));
}

/*
 * Random packets: every edit equals what a full rebuild gives (the builder
 * recomputes all checksums from scratch), in both room modes.
 */
static void
test_random_edits_vs_rebuild(void **state)
{
	static uint8_t store[4096], built[70000], want[70000], addrs[96];
	struct test_rng rng;
	uint32_t iter, n_fwd = 0, n_loop = 0, n_app = 0, n_new = 0;

	(void)state;
	test_rng_seed(&rng, 0xed17);
	for (iter = 0; iter < 1500; iter++) {
		struct sal_msg m, w;
		struct sal_pkt p, fresh;
		struct fake_mbuf fm;
		struct sal_frame f;
		struct sal_edit_res res;
		enum sal_drop_reason r, expect = SAL_DROP_NONE;
		uint32_t dst, old_dst, headroom, i, src_idx = SAL_MAX_EXT;
		int n, wn = 0;

		test_random_msg(&rng, &m, store);
		/* Mostly forwardable TTLs; sometimes an address list with a loop. */
		if (m.ip_ttl < 2 && test_rng_below(&rng, 4))
			m.ip_ttl = (uint8_t)(2 + test_rng_below(&rng, 250));
		n = sal_build(&m, built, sizeof(built));
		assert_true(n > 0);
		for (i = 0; i < m.n_ext; i++)
			if (m.ext[i].type == SAL_EXT_SOURCE)
				src_idx = i;
		old_dst = m.ip_dst;
		if (src_idx < SAL_MAX_EXT && test_rng_below(&rng, 8) == 0) {
			/* make the destination one of the listed addresses */
			const uint8_t *a = m.ext[src_idx].u.source.addr;

			memcpy(&old_dst, a + 4 * test_rng_below(&rng,
				m.ext[src_idx].u.source.n_addr), 4);
			m.ip_dst = old_dst;
			n = sal_build(&m, built, sizeof(built));
		}
		dst = (uint32_t)test_rng_next(&rng);

		/* The oracle: the same message edited, then built from scratch. */
		w = m;
		w.ip_ttl--;
		w.ip_dst = dst;
		if (m.ip_ttl <= 1) {
			expect = SAL_DROP_TTL_EXPIRED;
		} else if (src_idx < SAL_MAX_EXT) {
			struct sal_ext_spec *e = &w.ext[src_idx];

			for (i = 0; i < e->u.source.n_addr; i++)
				if (memcmp((const uint8_t *)e->u.source.addr + 4 * i, &old_dst, 4) == 0)
					expect = SAL_DROP_SOURCE_LOOP;
			if (expect == SAL_DROP_NONE && e->u.source.n_addr == SAL_SOURCE_MAX_ADDRS)
				expect = SAL_DROP_SOURCE_TOO_LONG;
			memcpy(addrs, e->u.source.addr, 4u * e->u.source.n_addr);
			memcpy(addrs + 4 * e->u.source.n_addr, &old_dst, 4);
			e->u.source.n_addr++;
			e->u.source.addr = addrs;
		} else if (m.n_ext == SAL_MAX_EXT) {
			expect = SAL_DROP_EXT_TOO_MANY;
		} else {
			struct sal_ext_spec *e = &w.ext[w.n_ext++];

			memset(e, 0, sizeof(*e));
			e->type = SAL_EXT_SOURCE;
			e->u.source.n_addr = 2;
			memcpy(addrs, &m.ip_src, 4);
			memcpy(addrs + 4, &old_dst, 4);
			e->u.source.addr = addrs;
		}
		if (expect == SAL_DROP_NONE) {
			wn = sal_build(&w, want, sizeof(want));
			if (wn == -EINVAL)
				expect = SAL_DROP_EDIT_TOO_LONG; /* shl would pass 255 */
			else
				assert_true(wn > n);
		}

		headroom = test_rng_below(&rng, 2) ? HEADROOM : 0;
		fm_load(&fm, headroom + ETH_LEN + (uint32_t)n + 16, headroom, built, (uint32_t)n);
		assert_int_equal(sal_parse(&(struct sal_parse_conf){ .ip_proto = 144 },
			fm.buf + fm.off, fm.len, ETH_LEN, &p), SAL_DROP_NONE);
		fm_frame(&fm, &f);
		r = sal_edit_forward(&f, &p, dst, 0, &res);
		if (r != expect)
			fail_msg("iteration %u: want %s, got %s", iter, sal_drop_reason_name(expect),
				sal_drop_reason_name(r));
		if (r == SAL_DROP_NONE) {
			fm_apply(&fm, &f, &res);
			check_l2(&fm);
			assert_int_equal(fm.len, ETH_LEN + (uint32_t)wn);
			if (memcmp(fm.buf + fm.off + ETH_LEN, want, (size_t)wn) != 0) {
				test_hexdump("edited", fm.buf + fm.off + ETH_LEN, (uint32_t)wn);
				test_hexdump("rebuilt", want, (uint32_t)wn);
				fail_msg("iteration %u: edit differs from a full rebuild", iter);
			}
			parse_frame(&fm, &fresh);
			fresh.drop = p.drop;
			assert_memory_equal(&fresh, &p, sizeof(p));
			n_fwd++;
			if (src_idx < SAL_MAX_EXT)
				n_app++;
			else
				n_new++;
		} else if (r == SAL_DROP_SOURCE_LOOP) {
			n_loop++;
		}
		free(fm.buf);
	}
	assert_true(n_fwd > 800);
	assert_true(n_loop > 10);
	assert_true(n_app > 200);
	assert_true(n_new > 200);
}

/* new addresses and flowIDs for a rewrite of m's frame */
struct rewrite {
	uint32_t src, dst, src_flowid, dst_flowid;
};

/* mostly new values, a third kept, and now and then the ones' complement
 * corners (an all-ones and a zero word) */
static struct rewrite
draw_rewrite(struct test_rng *rng, const struct sal_msg *m)
{
	struct rewrite w;

	w.src = test_rng_below(rng, 3) ? (uint32_t)test_rng_next(rng) : m->ip_src;
	w.dst = test_rng_below(rng, 3) ? (uint32_t)test_rng_next(rng) : m->ip_dst;
	w.src_flowid = test_rng_below(rng, 3) ? (uint32_t)test_rng_next(rng) : m->src_flowid;
	w.dst_flowid = test_rng_below(rng, 3) ? (uint32_t)test_rng_next(rng) : m->dst_flowid;
	if (test_rng_below(rng, 16) == 0)
		w.src = 0xffffffffu;
	if (test_rng_below(rng, 16) == 0)
		w.dst = 0;
	return w;
}

/* the edited frame must be what sal_build() makes of m rewritten by w */
static void
expect_rebuild(struct sal_msg *m, const struct rewrite *w, const uint8_t *edited,
		int n, const char *what, uint32_t iter)
{
	static uint8_t want[70000];

	m->ip_src = w->src;
	m->ip_dst = w->dst;
	m->src_flowid = w->src_flowid;
	m->dst_flowid = w->dst_flowid;
	assert_int_equal(sal_build(m, want, sizeof(want)), n);
	if (memcmp(edited, want, (size_t)n) != 0) {
		test_hexdump(what, edited, (uint32_t)n);
		test_hexdump("rebuilt", want, (uint32_t)n);
		fail_msg("iteration %u: %s frame differs from a full rebuild", iter, what);
	}
}

/* Address and flowID rewrites against a full rebuild. */
static void
test_random_rewrites_vs_rebuild(void **state)
{
	static uint8_t store[4096], built[70000];
	struct test_rng rng;
	uint32_t iter;

	(void)state;
	test_rng_seed(&rng, 0x9a7e);
	for (iter = 0; iter < 2000; iter++) {
		struct sal_msg m;
		struct sal_pkt p;
		struct rewrite w;
		int n;

		test_random_msg(&rng, &m, store);
		n = sal_build(&m, built, sizeof(built));
		assert_true(n > 0);
		assert_int_equal(test_parse_l3(built, (uint32_t)n, &p), SAL_DROP_NONE);
		w = draw_rewrite(&rng, &m);
		sal_edit_set_ip_addrs(built, &p, w.src, w.dst);
		sal_edit_set_flowids(built, &p, w.src_flowid, w.dst_flowid);
		assert_int_equal(p.src_flowid, w.src_flowid);
		assert_int_equal(p.dst_flowid, w.dst_flowid);
		expect_rebuild(&m, &w, built, n, "rewritten", iter);
	}
}

/*
 * sal_edit_relay() against a full rebuild and against the three edits it
 * stands for; TTL 1 leaves the frame and the view as they were.
 */
static void
test_random_relay_vs_rebuild(void **state)
{
	static uint8_t store[4096], built[70000], three[70000];
	struct test_rng rng;
	uint32_t iter, expired = 0;

	(void)state;
	test_rng_seed(&rng, 0x7e1a);
	for (iter = 0; iter < 2000; iter++) {
		struct sal_msg m;
		struct sal_pkt p, p3, before;
		struct rewrite w;
		int n;

		test_random_msg(&rng, &m, store);
		if (test_rng_below(&rng, 8) == 0)
			m.ip_ttl = (uint8_t)test_rng_below(&rng, 2);
		n = sal_build(&m, built, sizeof(built));
		assert_true(n > 0);
		assert_int_equal(test_parse_l3(built, (uint32_t)n, &p), SAL_DROP_NONE);
		w = draw_rewrite(&rng, &m);
		memcpy(three, built, (size_t)n);
		p3 = p;
		before = p;
		if (m.ip_ttl <= 1) {
			assert_int_equal(sal_edit_relay(built, &p, w.src, w.dst,
					w.src_flowid, w.dst_flowid), SAL_DROP_TTL_EXPIRED);
			assert_memory_equal(built, three, (size_t)n);
			assert_memory_equal(&p, &before, sizeof(p));
			expired++;
			continue;
		}
		assert_int_equal(sal_edit_relay(built, &p, w.src, w.dst, w.src_flowid,
				w.dst_flowid), SAL_DROP_NONE);
		assert_int_equal(p.src_flowid, w.src_flowid);
		assert_int_equal(p.dst_flowid, w.dst_flowid);
		assert_int_equal(sal_edit_dec_ttl(three, &p3), SAL_DROP_NONE);
		sal_edit_set_ip_addrs(three, &p3, w.src, w.dst);
		sal_edit_set_flowids(three, &p3, w.src_flowid, w.dst_flowid);
		assert_memory_equal(built, three, (size_t)n);
		assert_memory_equal(&p, &p3, sizeof(p));
		m.ip_ttl--;
		expect_rebuild(&m, &w, built, n, "relayed", iter);
	}
	assert_true(expired > 50);
}

/*
 * A UDP checksum whose full computation is 0 goes on the wire as 0xffff;
 * the incremental update must do the same. Search a destination address
 * for which that happens, then compare with a full rebuild.
 */
static void
test_udp_csum_wraps_to_ffff(void **state)
{
	struct sal_pkt p;
	struct sal_msg m;
	uint8_t v[sizeof(vec_dgram)], want[sizeof(vec_dgram)];
	uint32_t d, dst = 0;
	int found = 0;

	(void)state;
	assert_int_equal(test_parse_l3(vec_dgram, sizeof(vec_dgram), &p), 0);
	assert_int_equal(sal_msg_from_pkt(vec_dgram, &p, &m), 0);
	for (d = 0; d < 200000 && !found; d++) {
		m.ip_dst = ip4(192, 0, (uint8_t)(d >> 8), (uint8_t)d) ^ (d >> 16);
		assert_int_equal(sal_build(&m, want, sizeof(want)), sizeof(want));
		if (sal_get16(want + 20 + 84 + 6) == 0xffff) {
			dst = m.ip_dst;
			found = 1;
		}
	}
	assert_true(found);
	memcpy(v, vec_dgram, sizeof(v));
	sal_edit_set_ip_addrs(v, &p, sal_pkt_ip_src(v, &p), dst);
	assert_memory_equal(v, want, sizeof(v));
}

/* White-box: the checksum sum against a byte-at-a-time reference. */
static uint16_t
ref_csum(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0, i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
test_csum_reference(void **state)
{
	static uint8_t buf[4096];
	struct test_rng rng;
	uint32_t i;

	(void)state;
	test_rng_seed(&rng, 77);
	for (i = 0; i < 3000; i++) {
		uint32_t off = test_rng_below(&rng, 8), len = test_rng_below(&rng, 2048);

		test_rng_bytes(&rng, buf, off + len);
		if (i % 7 == 0)
			memset(buf + off, 0xff, len); /* carries everywhere */
		assert_int_equal(sal_csum(buf + off, len), ref_csum(buf + off, len));
	}
}

/* White-box: RFC 1624 update for every new value of one word. */
static void
test_csum_update_exhaustive(void **state)
{
	uint8_t w[8];
	struct test_rng rng;
	uint32_t round, v;

	(void)state;
	test_rng_seed(&rng, 1624);
	for (round = 0; round < 6; round++) {
		uint16_t c0;

		test_rng_bytes(&rng, w, sizeof(w));
		if (round == 0)
			memset(w, 0xff, sizeof(w));
		if (round == 1)
			memset(w, 0, sizeof(w));
		c0 = sal_csum(w, sizeof(w));
		for (v = 0; v <= 0xffff; v++) {
			uint8_t x[8];
			uint16_t inc;

			memcpy(x, w, sizeof(x));
			sal_put16(x + 2, (uint16_t)v);
			inc = sal_csum_update16(c0, sal_get16(w + 2), (uint16_t)v);
			/* equal to a full recomputation, unless every word is zero,
			 * where only 0xffff can be a full result */
			if (memcmp(x, (uint8_t[8]){ 0 }, 8) == 0)
				assert_true(inc == 0 || inc == 0xffff); /* +0 and -0 */
			else if (inc != sal_csum(x, sizeof(x)))
				fail_msg("round %u, word 0x%04x: incremental 0x%04x, full 0x%04x",
					round, v, inc, sal_csum(x, sizeof(x)));
		}
	}
}

/* ----------------------------------------------------------------- RST */

static void
check_rst(const uint8_t *v, uint32_t len, uint8_t want_flags, uint32_t want_verno,
	uint32_t want_ackno)
{
	struct sal_pkt p, r;
	uint8_t out[128];
	int n;

	assert_int_equal(test_parse_l3(v, len, &p), SAL_DROP_NONE);
	n = sal_build_rst(v, &p, 64, 0x4242, out, sizeof(out));
	assert_int_equal(n, SAL_RST_LEN);
	assert_int_equal(test_parse_l3(out, (uint32_t)n, &r), SAL_DROP_NONE);
	assert_int_equal(sal_pkt_ip_src(out, &r), sal_pkt_ip_dst(v, &p));
	assert_int_equal(sal_pkt_ip_dst(out, &r), sal_pkt_ip_src(v, &p));
	assert_int_equal(out[SAL_IP_OFF_TTL], 64);
	assert_int_equal(sal_get16(out + SAL_IP_OFF_ID), 0x4242);
	assert_int_equal(r.src_flowid, p.dst_flowid);
	assert_int_equal(r.dst_flowid, p.src_flowid);
	assert_int_equal(r.proto, p.proto);
	assert_int_equal(r.shl, 8);
	assert_int_equal(r.n_ext, 1);
	assert_int_equal(r.l4_len, 0);
	assert_int_equal(r.ctrl_flags, want_flags);
	assert_int_equal(sal_pkt_verno(out, &r), want_verno);
	assert_int_equal(sal_pkt_ackno(out, &r), want_ackno);
	if (p.ctrl_off)
		assert_memory_equal(out + r.ctrl_off + 12, v + p.ctrl_off + 12, 8);
	else
		assert_memory_equal(out + r.ctrl_off + 12, (uint8_t[8]){ 0 }, 8);
	/* never a RST for a RST */
	assert_int_equal(sal_build_rst(out, &r, 64, 1, out + 64, 64), -EINVAL);
	assert_int_equal(sal_build_rst(v, &p, 64, 1, out, SAL_RST_LEN - 1), -ENOSPC);
}

static void
test_rst(void **state)
{
	uint8_t v[sizeof(vec_syn)];

	(void)state;
	/* data packet, no CONTROL: RST|ACK, ackno 0 */
	check_rst(vec_data, sizeof(vec_data), SAL_CTRL_RST | SAL_CTRL_ACK, 0, 0);
	/* SYN: ackno = verno + 1 (the SYN takes a sequence number) */
	check_rst(vec_syn, sizeof(vec_syn), SAL_CTRL_RST | SAL_CTRL_ACK, 0, 0xd62b4ddb);
	/* FIN: likewise + 1 */
	check_rst(vec_fin, sizeof(vec_fin), SAL_CTRL_RST | SAL_CTRL_ACK, 0, 0xf00a63f2);
	/* SYN+ACK: verno = its ackno, no ACK flag */
	check_rst(vec_synack_source, sizeof(vec_synack_source), SAL_CTRL_RST, 0xd62b4ddb, 0);
	/* SYN+FIN (odd, but both count) */
	memcpy(v, vec_syn, sizeof(v));
	v[34] = SAL_CTRL_SYN | SAL_CTRL_FIN;
	test_fix_csums(v, sizeof(v));
	check_rst(v, sizeof(v), SAL_CTRL_RST | SAL_CTRL_ACK, 0, 0xd62b4ddc);
}

static void
test_rst_args(void **state)
{
	struct sal_pkt p;
	uint8_t out[128];

	(void)state;
	assert_int_equal(test_parse_l3(vec_syn, 30, &p), SAL_DROP_IP_TRUNCATED);
	assert_int_equal(sal_build_rst(vec_syn, &p, 64, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(sal_build_rst(NULL, &p, 64, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(sal_build_rst(vec_syn, NULL, 64, 0, out, sizeof(out)), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_in_out),
		cmocka_unit_test(test_forward_append_source),
		cmocka_unit_test(test_forward_dgram),
		cmocka_unit_test(test_forward_source_not_last),
		cmocka_unit_test(test_forward_ttl),
		cmocka_unit_test(test_forward_keep_ttl),
		cmocka_unit_test(test_forward_loop),
		cmocka_unit_test(test_forward_source_too_long),
		cmocka_unit_test(test_forward_too_many_ext),
		cmocka_unit_test(test_forward_too_long),
		cmocka_unit_test(test_forward_no_room),
		cmocka_unit_test(test_forward_bad_arg),
		cmocka_unit_test(test_dec_ttl),
		cmocka_unit_test(test_udp_zero_csum),
		cmocka_unit_test(test_random_edits_vs_rebuild),
		cmocka_unit_test(test_random_rewrites_vs_rebuild),
		cmocka_unit_test(test_random_relay_vs_rebuild),
		cmocka_unit_test(test_udp_csum_wraps_to_ffff),
		cmocka_unit_test(test_csum_reference),
		cmocka_unit_test(test_csum_update_exhaustive),
		cmocka_unit_test(test_rst),
		cmocka_unit_test(test_rst_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
