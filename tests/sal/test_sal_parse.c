/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * lib/sal parser and builder: invalid arguments, the upstream captures,
 * hand-checked vectors, random round trips, truncation, one minimal packet
 * per drop reason.
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
#include "sal_parse.h"
#include "sal_priv.h"
#include "sal_test_util.h"
#include "sal_vectors.h"

#define ETH_LEN 14

static struct sal_parse_conf conf_default;

static uint32_t
ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t x[4] = { a, b, c, d };
	uint32_t v;

	memcpy(&v, x, 4);
	return v;
}

static uint32_t
be32(uint32_t host)
{
	uint8_t x[4];
	uint32_t v;

	sal_put32(x, host);
	memcpy(&v, x, 4);
	return v;
}

static int
setup(void **state)
{
	(void)state;
	return sal_parse_conf_init(&conf_default, SAL_IPPROTO_DEFAULT, 0);
}

/* ---------------------------------------------------------------- args */

static void
test_conf_init_args(void **state)
{
	struct sal_parse_conf c;

	(void)state;
	assert_int_equal(sal_parse_conf_init(NULL, 144, 0), -EINVAL);
	assert_int_equal(sal_parse_conf_init(&c, 144, 1u << 31), -EINVAL);
	assert_int_equal(sal_parse_conf_init(&c, 0, 0), -EINVAL);
	assert_int_equal(sal_parse_conf_init(&c, 255, 0), -EINVAL);
	assert_int_equal(sal_parse_conf_init(&c, 6, 0), -EINVAL);
	assert_int_equal(sal_parse_conf_init(&c, 17, 0), -EINVAL);
	assert_int_equal(sal_parse_conf_init(&c, 1, 0), -EINVAL);
	assert_int_equal(sal_parse_conf_init(&c, 253, SAL_PARSE_F_ALL), 0);
	assert_int_equal(c.ip_proto, 253);
	assert_int_equal(c.flags, SAL_PARSE_F_ALL);
}

static void
test_drop_names(void **state)
{
	int r;

	(void)state;
	assert_string_equal(sal_drop_reason_name(SAL_DROP_NONE), "NONE");
	assert_string_equal(sal_drop_reason_name(SAL_DROP_EXT_BAD_LEN), "EXT_BAD_LEN");
	assert_string_equal(sal_drop_reason_name(SAL_DROP_MAX), "UNKNOWN");
	assert_string_equal(sal_drop_reason_str((enum sal_drop_reason)1000),
		"unknown drop reason");
	/* Every code has a distinct, non-empty name and description. */
	for (r = 0; r < SAL_DROP_MAX; r++) {
		int q;

		assert_non_null(sal_drop_reason_name(r));
		assert_true(strlen(sal_drop_reason_str(r)) > 5);
		for (q = 0; q < r; q++)
			assert_string_not_equal(sal_drop_reason_name(r), sal_drop_reason_name(q));
	}
}

static void
test_build_args(void **state)
{
	struct sal_msg m;
	uint8_t buf[256], addrs[8] = { 0 };

	(void)state;
	sal_msg_init(&m);
	assert_int_equal(sal_build_len(NULL), -EINVAL);
	assert_int_equal(sal_build_len(&m), 32);
	assert_int_equal(sal_build(&m, buf, 31), -ENOSPC);
	assert_int_equal(sal_build(&m, NULL, 100), -ENOSPC);
	assert_int_equal(sal_build(&m, buf, 32), 32);

	m.flags = 1u << 7;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.flags = 0;
	m.ip_frag = 0x2000; /* MF: would be a fragment */
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ip_frag = 1;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ip_frag = 0x4000; /* DF is fine */
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), 32);
	m.ip_opt_len = 3;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ip_opt_len = 4; /* options but no pointer */
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ip_opt_len = 44;
	m.ip_opt = buf;
	assert_int_equal(sal_build_len(&m), -EINVAL);
	m.ip_opt_len = 0;

	m.n_ext = 1;
	m.ext[0].type = 5; /* unknown */
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].type = SAL_EXT_PAD; /* 13 bytes: not a multiple of 4 */
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].type = SAL_EXT_SOURCE;
	m.ext[0].u.source.n_addr = 1;
	m.ext[0].u.source.addr = addrs;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].u.source.n_addr = 2;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), 44);
	m.ext[0].u.source.addr = NULL;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].u.source.n_addr = 21;
	m.ext[0].u.source.addr = addrs;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.n_ext = 2;
	m.ext[0].type = m.ext[1].type = SAL_EXT_CONTROL; /* two CONTROL */
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].type = SAL_EXT_SERVICE;
	m.ext[1].type = SAL_EXT_SERVICE;
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), 20 + 12 + 72);
	m.n_ext = 3;
	m.ext[2].type = SAL_EXT_SERVICE; /* three SERVICE */
	assert_int_equal(sal_build(&m, buf, sizeof(buf)), -EINVAL);
	m.n_ext = 11;
	assert_int_equal(sal_build_len(&m), -EINVAL);
	m.n_ext = 0;

	m.proto = SAL_PROTO_TCP;
	m.l4 = buf;
	m.l4_len = 19; /* shorter than a TCP header */
	assert_int_equal(sal_build_len(&m), -EINVAL);
	m.proto = SAL_PROTO_UDP;
	m.l4_len = 7;
	assert_int_equal(sal_build_len(&m), -EINVAL);
	m.l4 = NULL;
	m.l4_len = 8;
	assert_int_equal(sal_build_len(&m), -EINVAL);
}

/* ------------------------------------------------------------ upstream */

static const uint8_t sid_16385[32] = { 0x00, 0x00, 0x40, 0x01 };

/* Parse every frame of a capture, check what holds for all, re-emit. */
static void
check_capture(const char *name, uint32_t expect_n)
{
	struct test_pcap cap;
	struct sal_parse_conf l4conf;
	uint32_t i;

	assert_int_equal(sal_parse_conf_init(&l4conf, SAL_IPPROTO_DEFAULT,
		SAL_PARSE_F_L4_CSUM), 0);
	assert_int_equal(test_pcap_load_upstream(name, &cap), 0);
	assert_int_equal(cap.n, expect_n);
	for (i = 0; i < cap.n; i++) {
		const uint8_t *f = cap.frames[i].data;
		uint32_t len = cap.frames[i].len;
		struct sal_pkt pkt;
		struct sal_msg m;
		uint8_t out[2048];
		uint32_t s, fid;
		int n;

		assert_true(len > ETH_LEN);
		assert_int_equal(f[12], 0x08); /* IPv4 EtherType */
		assert_int_equal(f[13], 0x00);
		n = sal_parse(&l4conf, f, len, ETH_LEN, &pkt);
		if (n != SAL_DROP_NONE)
			fail_msg("%s #%u rejected: %s", name, i, sal_drop_reason_name(n));
		assert_true(sal_verify_ip_csum(f, &pkt));
		assert_true(sal_verify_sal_csum(f, &pkt));
		assert_true(sal_verify_l4_csum(f, &pkt));
		assert_int_equal(pkt.l3_off, ETH_LEN);
		assert_int_equal(pkt.sal_off, ETH_LEN + 20);
		assert_int_equal(pkt.l4_off, pkt.sal_off + pkt.shl * 4);
		assert_int_equal(pkt.ip_len, len - ETH_LEN);
		assert_int_equal(pkt.proto, SAL_PROTO_TCP);
		/* FlowIDs are the two hosts' small counters, 0 only in the SYN. */
		fid = pkt.src_flowid;
		assert_true(fid == be32(2) || fid == be32(3));
		fid = pkt.dst_flowid;
		assert_true(fid == be32(2) || fid == be32(3) ||
			(fid == 0 && pkt.ctrl_flags == SAL_CTRL_SYN));
		for (s = 0; s < pkt.n_service; s++)
			assert_memory_equal(sal_pkt_service_id(f, &pkt, s)->b, sid_16385, 32);
		assert_null(sal_pkt_service_id(f, &pkt, pkt.n_service));
		/* Control-only packets: CONTROL and nothing after the SAL header. */
		if (pkt.l4_len == 0) {
			assert_int_not_equal(pkt.ctrl_off, 0);
			assert_int_equal(pkt.shl, 8);
		} else {
			assert_true(pkt.l4_len >= 20);
			/* TCP ports are always 0: demultiplexing is by flowID. */
			assert_int_equal(sal_get32(f + pkt.l4_off), 0);
		}
		/* Only SYN and SYN+ACK carry a SOURCE list: client, router, server. */
		if (pkt.n_source > 0) {
			assert_true(sal_pkt_is_syn(&pkt));
			assert_int_equal(sal_pkt_source_addr(f, &pkt, 0), ip4(198, 18, 1, 1));
		}

		/* build(parse(bytes)) == bytes */
		assert_int_equal(sal_msg_from_pkt(f, &pkt, &m), 0);
		n = sal_build(&m, out, sizeof(out));
		assert_int_equal(n, pkt.ip_len);
		if (memcmp(out, f + ETH_LEN, (size_t)n) != 0) {
			test_hexdump("captured", f + ETH_LEN, (uint32_t)n);
			test_hexdump("rebuilt", out, (uint32_t)n);
			fail_msg("%s #%u: re-emitted bytes differ", name, i);
		}
	}
	test_pcap_free(&cap);
}

static void
test_upstream_handshake(void **state)
{
	(void)state;
	check_capture("handshake-direct.pcap", 16);
}

static void
test_upstream_router_in(void **state)
{
	(void)state;
	check_capture("router-in.pcap", 39);
}

static void
test_upstream_router_out(void **state)
{
	(void)state;
	check_capture("router-out.pcap", 39);
}

/* Specific fields of the first three packets of the routed flow. */
static void
test_upstream_fields(void **state)
{
	struct test_pcap in, out;
	struct sal_pkt p;
	const uint8_t *f;

	(void)state;
	assert_int_equal(test_pcap_load_upstream("router-in.pcap", &in), 0);
	assert_int_equal(test_pcap_load_upstream("router-out.pcap", &out), 0);

	/* router-in #0: the SYN to the router */
	f = in.frames[0].data;
	assert_int_equal(sal_parse(&conf_default, f, in.frames[0].len, ETH_LEN, &p), 0);
	assert_int_equal(p.ctrl_flags, SAL_CTRL_SYN);
	assert_int_equal(p.shl, 17);
	assert_int_equal(p.n_ext, 2);
	assert_int_equal(p.n_service, 1);
	assert_int_equal(p.n_source, 0);
	assert_int_equal(p.src_flowid, be32(2));
	assert_int_equal(p.dst_flowid, 0);
	assert_int_equal(sal_pkt_verno(f, &p), 0xd62b4dda);
	assert_int_equal(sal_pkt_ip_dst(f, &p), ip4(198, 18, 1, 254));
	assert_int_equal(p.l4_len, 28);

	/* router-out #0: the same SYN after resolution, SOURCE appended */
	f = out.frames[0].data;
	assert_int_equal(sal_parse(&conf_default, f, out.frames[0].len, ETH_LEN, &p), 0);
	assert_int_equal(p.shl, 20);
	assert_int_equal(p.n_ext, 3);
	assert_int_equal(sal_pkt_ext_type(f, &p, 2), SAL_EXT_SOURCE);
	assert_int_equal(p.n_source, 2);
	assert_int_equal(sal_pkt_source_addr(f, &p, 0), ip4(198, 18, 1, 1));
	assert_int_equal(sal_pkt_source_addr(f, &p, 1), ip4(198, 18, 1, 254));
	assert_int_equal(sal_pkt_ip_dst(f, &p), ip4(198, 18, 2, 2));

	/* router-in #1: SYN+ACK straight from the server, SOURCE x3 */
	f = in.frames[1].data;
	assert_int_equal(sal_parse(&conf_default, f, in.frames[1].len, ETH_LEN, &p), 0);
	assert_int_equal(p.ctrl_flags, SAL_CTRL_SYN | SAL_CTRL_ACK);
	assert_int_equal(p.n_service, 0);
	assert_int_equal(p.n_source, 3);
	assert_int_equal(sal_pkt_source_addr(f, &p, 2), ip4(198, 18, 2, 2));
	assert_int_equal(p.src_flowid, be32(3));
	assert_int_equal(p.dst_flowid, be32(2));
	assert_int_equal(sal_pkt_ackno(f, &p), 0xd62b4ddb);

	/* router-in #2: the client's ACK carries SERVICE again */
	f = in.frames[2].data;
	assert_int_equal(sal_parse(&conf_default, f, in.frames[2].len, ETH_LEN, &p), 0);
	assert_int_equal(p.ctrl_flags, SAL_CTRL_ACK);
	assert_int_equal(p.n_service, 1);
	assert_int_equal(p.l4_len, 20);

	test_pcap_free(&in);
	test_pcap_free(&out);
}

/* Bulk parse gives the same views as single parses. */
static void
test_upstream_bulk(void **state)
{
	struct test_pcap cap;
	const uint8_t *frames[64];
	uint32_t lens[64], i, ok;
	uint16_t offs[64];
	struct sal_pkt pkts[64], one;
	uint8_t bad[64];

	(void)state;
	assert_int_equal(test_pcap_load_upstream("router-in.pcap", &cap), 0);
	for (i = 0; i < cap.n; i++) {
		frames[i] = cap.frames[i].data;
		lens[i] = cap.frames[i].len;
		offs[i] = ETH_LEN;
	}
	/* Append a broken one: a frame cut inside the SAL header. */
	memcpy(bad, cap.frames[0].data, sizeof(bad));
	frames[cap.n] = bad;
	lens[cap.n] = 40;
	offs[cap.n] = ETH_LEN;
	ok = sal_parse_bulk(&conf_default, frames, lens, offs, cap.n + 1, pkts);
	assert_int_equal(ok, cap.n);
	for (i = 0; i < cap.n; i++) {
		assert_int_equal(sal_parse(&conf_default, frames[i], lens[i], ETH_LEN, &one), 0);
		assert_memory_equal(&one, &pkts[i], sizeof(one));
	}
	assert_int_equal(pkts[cap.n].drop, SAL_DROP_IP_TRUNCATED);
	assert_int_equal(sal_parse_bulk(&conf_default, frames, lens, offs, 0, pkts), 0);
	test_pcap_free(&cap);
}

/* ------------------------------------------------------------- vectors */

static void
parse_vec(const uint8_t *v, uint32_t len, struct sal_pkt *p)
{
	enum sal_drop_reason r = test_parse_l3(v, len, p);

	if (r != SAL_DROP_NONE)
		fail_msg("vector rejected: %s", sal_drop_reason_name(r));
	assert_int_equal(p->drop, SAL_DROP_NONE);
}

static void
test_vec_syn(void **state)
{
	struct sal_pkt p;

	(void)state;
	parse_vec(vec_syn, sizeof(vec_syn), &p);
	assert_int_equal(p.l3_off, 0);
	assert_int_equal(p.sal_off, 20);
	assert_int_equal(p.shl, 17);
	assert_int_equal(p.ctrl_off, 32);
	assert_int_equal(p.service_off[0], 52);
	assert_int_equal(p.ext_off[0], 32);
	assert_int_equal(p.ext_off[1], 52);
	assert_int_equal(p.l4_off, 88);
	assert_int_equal(p.l4_len, 28);
	assert_int_equal(p.ctrl_flags, SAL_CTRL_SYN);
	assert_true(sal_pkt_is_syn(&p));
	assert_int_equal(p.n_ext, 2);
	assert_int_equal(p.n_service, 1);
	assert_int_equal(p.n_source, 0);
	assert_int_equal(p.source_off, 0);
	assert_int_equal(sal_pkt_verno(vec_syn, &p), 0xd62b4dda);
	assert_int_equal(sal_pkt_ackno(vec_syn, &p), 0);
	assert_memory_equal(sal_pkt_service_id(vec_syn, &p, 0), sid_16385, 32);
	assert_int_equal(sal_pkt_ext_type(vec_syn, &p, 0), SAL_EXT_CONTROL);
	assert_int_equal(sal_pkt_ext_type(vec_syn, &p, 1), SAL_EXT_SERVICE);
}

static void
test_vec_data(void **state)
{
	struct sal_pkt p;

	(void)state;
	parse_vec(vec_data, sizeof(vec_data), &p);
	assert_int_equal(p.shl, 3);
	assert_int_equal(p.n_ext, 0);
	assert_int_equal(p.ctrl_off, 0);
	assert_int_equal(p.ctrl_flags, 0);
	assert_false(sal_pkt_is_syn(&p));
	assert_int_equal(sal_pkt_verno(vec_data, &p), 0);
	assert_int_equal(p.src_flowid, be32(2));
	assert_int_equal(p.dst_flowid, be32(3));
	assert_int_equal(p.l4_off, 32);
	assert_int_equal(p.l4_len, 20);
}

static void
test_vec_fin(void **state)
{
	struct sal_pkt p;

	(void)state;
	parse_vec(vec_fin, sizeof(vec_fin), &p);
	assert_int_equal(p.proto, SAL_PROTO_TCP);
	assert_int_equal(p.ctrl_flags, SAL_CTRL_FIN);
	assert_int_equal(p.l4_len, 0);
	assert_int_equal(p.l4_off, 52);
	assert_true(sal_verify_l4_csum(vec_fin, &p)); /* nothing to verify */
	assert_int_equal(sal_pkt_verno(vec_fin, &p), 0xf00a63f1);
	assert_int_equal(sal_pkt_ackno(vec_fin, &p), 0xd62b4ddb);
}

static void
test_vec_synack_source(void **state)
{
	struct sal_pkt p;

	(void)state;
	parse_vec(vec_synack_source, sizeof(vec_synack_source), &p);
	assert_int_equal(p.ctrl_flags, SAL_CTRL_SYN | SAL_CTRL_ACK);
	assert_int_equal(p.source_off, 52);
	assert_int_equal(p.n_source, 3);
	assert_int_equal(sal_pkt_source_addr(vec_synack_source, &p, 0), ip4(198, 18, 1, 1));
	assert_int_equal(sal_pkt_source_addr(vec_synack_source, &p, 1), ip4(198, 18, 1, 254));
	assert_int_equal(sal_pkt_source_addr(vec_synack_source, &p, 2), ip4(198, 18, 2, 2));
	assert_int_equal(p.l4_off, 68);
}

static void
test_vec_dgram(void **state)
{
	static const uint8_t sid_88888[32] = { 0x00, 0x01, 0x5b, 0x38 };
	static const uint8_t sid_55555[32] = { 0x00, 0x00, 0xd9, 0x03 };
	struct sal_pkt p;

	(void)state;
	parse_vec(vec_dgram, sizeof(vec_dgram), &p);
	assert_int_equal(p.proto, SAL_PROTO_UDP);
	assert_int_equal(p.n_service, 2);
	assert_int_equal(p.ctrl_off, 0);
	assert_memory_equal(sal_pkt_service_id(vec_dgram, &p, 0), sid_88888, 32);
	assert_memory_equal(sal_pkt_service_id(vec_dgram, &p, 1), sid_55555, 32);
	assert_int_equal(p.l4_len, 12);
	assert_true(sal_verify_l4_csum(vec_dgram, &p));
}

/* Every vector re-emits byte for byte and verifies its transport checksum. */
static void
test_vec_reemit(void **state)
{
	struct sal_parse_conf c;
	uint32_t i;

	(void)state;
	assert_int_equal(sal_parse_conf_init(&c, 144, SAL_PARSE_F_L4_CSUM), 0);
	for (i = 0; i < sal_nb_vectors; i++) {
		struct sal_pkt p;
		struct sal_msg m;
		uint8_t out[256];

		if (sal_parse(&c, sal_vectors[i].bytes, sal_vectors[i].len, 0, &p) != 0)
			fail_msg("vector %s: %s", sal_vectors[i].name,
				sal_drop_reason_name(p.drop));
		assert_int_equal(sal_msg_from_pkt(sal_vectors[i].bytes, &p, &m), 0);
		assert_int_equal(sal_build(&m, out, sizeof(out)), (int)sal_vectors[i].len);
		assert_memory_equal(out, sal_vectors[i].bytes, sal_vectors[i].len);
	}
}

/* The SAL protocol number is configurable: 144 then stops being SAL. */
static void
test_other_ip_proto(void **state)
{
	struct sal_parse_conf c;
	struct sal_pkt p;
	uint8_t v[sizeof(vec_data)];

	(void)state;
	memcpy(v, vec_data, sizeof(v));
	assert_int_equal(sal_parse_conf_init(&c, 253, 0), 0);
	assert_int_equal(sal_parse(&c, v, sizeof(v), 0, &p), SAL_DROP_NOT_SAL);
	v[SAL_IP_OFF_PROTO] = 253;
	test_fix_csums(v, sizeof(v));
	assert_int_equal(sal_parse(&c, v, sizeof(v), 0, &p), SAL_DROP_NONE);
	assert_int_equal(test_parse_l3(v, sizeof(v), &p), SAL_DROP_NOT_SAL);
}

/* IPv4 options are honoured: the SAL header starts at IHL * 4. */
static void
test_ip_options(void **state)
{
	static const uint8_t opts[8] = { 0x01, 0x01, 0x01, 0x00, 0x94, 0x04, 0x00, 0x00 };
	struct sal_pkt p, q;
	struct sal_msg m;
	uint8_t buf[256];
	int n;

	(void)state;
	parse_vec(vec_syn, sizeof(vec_syn), &p);
	assert_int_equal(sal_msg_from_pkt(vec_syn, &p, &m), 0);
	m.ip_opt = opts;
	m.ip_opt_len = sizeof(opts);
	n = sal_build(&m, buf, sizeof(buf));
	assert_int_equal(n, sizeof(vec_syn) + 8);
	assert_int_equal(buf[0], 0x47);
	parse_vec(buf, (uint32_t)n, &q);
	assert_int_equal(q.sal_off, 28);
	assert_int_equal(q.ctrl_off, 40);
	assert_int_equal(q.l4_len, 28);
	/* The same SAL and TCP bytes; the TCP checksum does not see options. */
	assert_memory_equal(buf + 28, vec_syn + 20, sizeof(vec_syn) - 20);
}

/* Ethernet padding past the IPv4 total length is ignored. */
static void
test_trailing_padding(void **state)
{
	uint8_t f[128];
	struct sal_pkt p;

	(void)state;
	memset(f, 0xee, sizeof(f));
	memcpy(f + ETH_LEN, vec_fin, sizeof(vec_fin));
	assert_int_equal(sal_parse(&conf_default, f, ETH_LEN + sizeof(vec_fin) + 10,
		ETH_LEN, &p), SAL_DROP_NONE);
	assert_int_equal(p.ip_len, sizeof(vec_fin));
	assert_int_equal(p.l4_len, 0);
}

/* ---------------------------------------------------------- round trip */

static void
test_random_roundtrip(void **state)
{
	struct test_rng rng;
	static uint8_t store[4096], buf[70000];
	uint32_t iter, with_l4 = 0, with_opts = 0, max_ext = 0;

	(void)state;
	test_rng_seed(&rng, 0x5a15a1);
	for (iter = 0; iter < 3000; iter++) {
		struct sal_msg m, back;
		struct sal_pkt p;
		int n, n2;

		test_random_msg(&rng, &m, store);
		n = sal_build(&m, buf, sizeof(buf));
		if (n < 0)
			fail_msg("iteration %u: valid random message refused (%d)", iter, n);
		assert_int_equal(n, sal_build_len(&m));
		if (test_parse_l3(buf, (uint32_t)n, &p) != SAL_DROP_NONE) {
			test_hexdump("built", buf, (uint32_t)n);
			fail_msg("iteration %u: parser rejects a built packet: %s", iter,
				sal_drop_reason_name(p.drop));
		}
		assert_true(sal_verify_l4_csum(buf, &p));
		assert_int_equal(p.n_ext, m.n_ext);
		assert_int_equal(sal_msg_from_pkt(buf, &p, &back), 0);
		if (!test_msg_equal(&m, &back))
			fail_msg("iteration %u: parse(build(x)) != x", iter);
		/* And the other way: build(parse(bytes)) == bytes. */
		n2 = sal_build(&back, buf + 35000, 35000);
		assert_int_equal(n2, n);
		assert_memory_equal(buf + 35000, buf, (size_t)n);
		with_l4 += m.l4_len > 0;
		with_opts += m.ip_opt_len > 0;
		if (m.n_ext > max_ext)
			max_ext = m.n_ext;
	}
	/* The generator really covers the space it claims to. */
	assert_true(with_l4 > 1000);
	assert_true(with_opts > 300);
	assert_int_equal(max_ext, SAL_MAX_EXT);
}

/* ---------------------------------------------------------- truncation */

/*
 * Cut the SYN (IP 20 + SAL 68 + TCP 28) at every length, two ways: only
 * the frame (the IP total length then lies), or the frame and the IP total
 * length with checksums fixed (the cut reaches the SAL checks).
 */
static void
test_truncate_syn(void **state)
{
	uint8_t f[ETH_LEN + sizeof(vec_syn)];
	uint32_t cut;

	(void)state;
	memset(f, 0, ETH_LEN);
	memcpy(f + ETH_LEN, vec_syn, sizeof(vec_syn));
	for (cut = 0; cut < sizeof(f); cut++) {
		struct sal_pkt p;
		uint8_t *g = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */

		assert_non_null(g);
		memcpy(g, f, cut);
		assert_int_equal(sal_parse(&conf_default, g, cut, ETH_LEN, &p),
			SAL_DROP_IP_TRUNCATED);
		assert_int_equal(p.drop, SAL_DROP_IP_TRUNCATED);
		free(g);
	}
	for (cut = 0; cut <= sizeof(vec_syn); cut++) {
		enum sal_drop_reason want, got;
		struct sal_pkt p;
		uint8_t *g = malloc(cut ? cut : 1);

		assert_non_null(g);
		memcpy(g, vec_syn, cut);
		if (cut >= 4)
			sal_put16(g + SAL_IP_OFF_TOTLEN, (uint16_t)cut);
		test_fix_csums(g, cut);
		if (cut < 20)
			want = SAL_DROP_IP_TRUNCATED;
		else if (cut < 20 + 12)
			want = SAL_DROP_SAL_TRUNCATED;
		else if (cut < 20 + 68)
			want = SAL_DROP_SHL_PAST_PACKET;
		else if (cut == 20 + 68)
			want = SAL_DROP_NONE; /* a control-only SYN is well formed */
		else if (cut < sizeof(vec_syn))
			want = SAL_DROP_L4_BAD_HDR; /* < 20 bytes, or < data offset 28 */
		else
			want = SAL_DROP_NONE;
		got = test_parse_l3(g, cut, &p);
		if (got != want)
			fail_msg("cut at %u: want %s, got %s", cut, sal_drop_reason_name(want),
				sal_drop_reason_name(got));
		free(g);
	}
}

/* ------------------------------------------------------ drop reasons */

/*
 * Minimal base: IPv4 (20) + SAL base header (12), shl 3, protocol TCP and
 * no transport bytes, then `ext` extension bytes (shl grows to cover them)
 * and `l4` transport bytes. Checksums are fixed afterwards by the caller.
 */
static uint32_t
mk(uint8_t *buf, const uint8_t *ext, uint32_t ext_len, uint8_t proto, const uint8_t *l4,
	uint32_t l4_len)
{
	uint32_t tot = 20 + 12 + ext_len + l4_len;

	memset(buf, 0, tot);
	buf[0] = 0x45;
	sal_put16(buf + 2, (uint16_t)tot);
	buf[8] = 64;
	buf[9] = SAL_IPPROTO_DEFAULT;
	sal_put32(buf + 12, 0x0a000001);
	sal_put32(buf + 16, 0x0a000002);
	sal_put32(buf + 20, 7);
	buf[28] = (uint8_t)((12 + ext_len) / 4);
	buf[29] = proto;
	if (ext_len)
		memcpy(buf + 32, ext, ext_len);
	if (l4_len)
		memcpy(buf + 32 + ext_len, l4, l4_len);
	test_fix_csums(buf, tot);
	return tot;
}

static void
expect_drop(const uint8_t *buf, uint32_t len, enum sal_drop_reason want)
{
	struct sal_pkt p;
	enum sal_drop_reason got = test_parse_l3(buf, len, &p);

	if (got != want)
		fail_msg("want %s, got %s", sal_drop_reason_name(want), sal_drop_reason_name(got));
	assert_int_equal(p.drop, want);
}

static void
test_drop_ip(void **state)
{
	uint8_t b[128];
	uint32_t n;

	(void)state;
	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_NONE); /* the base itself is fine */

	expect_drop(b, 19, SAL_DROP_IP_TRUNCATED);
	expect_drop(b, n - 1, SAL_DROP_IP_TRUNCATED); /* total length says 32 */

	b[0] = 0x65; /* version 6 */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_IP_BAD_VERSION);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[0] = 0x44; /* IHL 4 */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_IP_BAD_IHL);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[0] = 0x4f; /* IHL 15 = 60 bytes, the frame has 32 */
	expect_drop(b, n, SAL_DROP_IP_TRUNCATED);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	sal_put16(b + 2, 19); /* total length below IHL */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_IP_BAD_TOTLEN);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[10] ^= 0x01;
	expect_drop(b, n, SAL_DROP_IP_BAD_CSUM);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[9] = 6; /* plain TCP is not SAL */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_NOT_SAL);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	sal_put16(b + 6, 0x2000); /* MF */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_IP_FRAGMENT);
	sal_put16(b + 6, 0x0001); /* offset 8 */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_IP_FRAGMENT);
	sal_put16(b + 6, 0x4000); /* DF alone is fine */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_NONE);
}

static void
test_drop_ip_csum_skip(void **state)
{
	struct sal_parse_conf c;
	struct sal_pkt p;
	uint8_t b[64];
	uint32_t n;

	(void)state;
	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[10] ^= 0x01;
	b[30] ^= 0x01;
	assert_int_equal(sal_parse_conf_init(&c, 144, SAL_PARSE_F_NO_IP_CSUM), 0);
	assert_int_equal(sal_parse(&c, b, n, 0, &p), SAL_DROP_SAL_BAD_CSUM);
	assert_int_equal(sal_parse_conf_init(&c, 144,
		SAL_PARSE_F_NO_IP_CSUM | SAL_PARSE_F_NO_SAL_CSUM), 0);
	assert_int_equal(sal_parse(&c, b, n, 0, &p), SAL_DROP_NONE);
	assert_false(sal_verify_ip_csum(b, &p));
	assert_false(sal_verify_sal_csum(b, &p));
}

static void
test_drop_sal_base(void **state)
{
	uint8_t b[128];
	uint32_t n;

	(void)state;
	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	sal_put16(b + 2, 31); /* IP payload of 11 bytes */
	test_fix_csums(b, 31);
	expect_drop(b, 31, SAL_DROP_SAL_TRUNCATED);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[28] = 2;
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_SHL_TOO_SMALL);
	b[28] = 0;
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_SHL_TOO_SMALL);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[28] = 4; /* 16 bytes of SAL header in a 12-byte payload */
	test_fix_csums(b, n);
	expect_drop(b, n, SAL_DROP_SHL_PAST_PACKET);

	n = mk(b, NULL, 0, SAL_PROTO_TCP, NULL, 0);
	b[31] ^= 0x80;
	expect_drop(b, n, SAL_DROP_SAL_BAD_CSUM);
}

static void
test_drop_ext_too_many(void **state)
{
	uint8_t b[128], ext[16];
	uint32_t n;

	(void)state;
	memset(ext, 0, sizeof(ext)); /* PADs */
	n = mk(b, ext, 8, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_NONE); /* 8 PADs */
	n = mk(b, ext, 12, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_TOO_MANY); /* the 11th of 12 PADs */
}

/* Exactly 10 extensions pass, exactly 11 do not (PAD counts as one). */
static void
test_drop_ext_eleven(void **state)
{
	uint8_t b[256], ext[128];
	struct sal_pkt p;
	uint32_t n;

	(void)state;
	memset(ext, 0, sizeof(ext));
	/* 8 PADs, CONTROL, SERVICE: 10 extensions, 8 + 20 + 36 bytes */
	ext[8] = 0x10;
	ext[9] = 20;
	ext[28] = 0x20;
	ext[29] = 36;
	n = mk(b, ext, 64, SAL_PROTO_TCP, NULL, 0);
	assert_int_equal(test_parse_l3(b, n, &p), SAL_DROP_NONE);
	assert_int_equal(p.n_ext, 10);
	assert_int_equal(p.ext_off[9], 32 + 28);
	assert_int_equal(p.ctrl_off, 32 + 8);
	/* ... plus a SOURCE: the 11th */
	ext[64] = 0x40;
	ext[65] = 12;
	n = mk(b, ext, 76, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_TOO_MANY);
}

static void
test_drop_ext_unknown(void **state)
{
	uint8_t b[128], ext[4] = { 0x50, 0x04, 0x00, 0x00 };
	uint32_t n;

	(void)state;
	n = mk(b, ext, 4, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_UNKNOWN);
	ext[0] = 0xf0;
	n = mk(b, ext, 4, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_UNKNOWN);
	ext[0] = 0x0f; /* PAD with reserved bits: accepted as the original does */
	ext[1] = ext[2] = ext[3] = 0;
	n = mk(b, ext, 4, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_NONE);
}

static void
test_drop_ext_leftover(void **state)
{
	/* Three PADs, then a CONTROL type byte with no room for its length. */
	uint8_t b[128], ext[4] = { 0x00, 0x00, 0x00, 0x10 };
	uint32_t n;

	(void)state;
	n = mk(b, ext, 4, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_LEFTOVER);
}

static void
test_drop_ext_bad_len(void **state)
{
	uint8_t b[256], ext[128];
	uint32_t n;

	(void)state;
	memset(ext, 0, sizeof(ext));
	/* CONTROL of 24 bytes (must be exactly 20) */
	ext[0] = 0x10;
	ext[1] = 24;
	n = mk(b, ext, 24, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	/* CONTROL with length 0 and 1 (no endless walk) */
	ext[1] = 0;
	n = mk(b, ext, 4, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	ext[1] = 1;
	n = mk(b, ext, 4, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	/* SERVICE of 32 or 40 bytes (must be 36) */
	ext[0] = 0x20;
	ext[1] = 32;
	n = mk(b, ext, 32, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	ext[1] = 40;
	n = mk(b, ext, 40, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	/* CONTROL of 16 (shorter than its fixed part) */
	ext[0] = 0x10;
	ext[1] = 16;
	n = mk(b, ext, 16, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	/* SOURCE with one address (needs two) */
	ext[0] = 0x40;
	ext[1] = 8;
	n = mk(b, ext, 8, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	/* SOURCE of 13 bytes + 3 PADs: not 4 + 4n */
	ext[1] = 13;
	n = mk(b, ext, 16, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	/* ADDRESS of 14 bytes + 2 PADs: not 12 + 4n; ADDRESS of 8: too short */
	ext[0] = 0x30;
	ext[1] = 14;
	n = mk(b, ext, 16, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	ext[1] = 8;
	n = mk(b, ext, 8, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_BAD_LEN);
	/* ADDRESS of 12 (no address) and 16 are fine */
	ext[1] = 12;
	n = mk(b, ext, 12, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_NONE);
	ext[1] = 16;
	n = mk(b, ext, 16, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_NONE);
}

static void
test_drop_ext_past_shl(void **state)
{
	uint8_t b[128], ext[32] = { 0x10, 20 };
	uint32_t n;

	(void)state;
	/* CONTROL of 20 bytes, but shl (7) covers only 16 after the base
	 * header; its last 4 bytes open the (UDP) transport part. */
	n = mk(b, ext, 16, SAL_PROTO_UDP, ext + 16, 4 + 8);
	assert_int_equal(b[28], 7);
	expect_drop(b, n, SAL_DROP_EXT_PAST_SHL);
}

static void
test_drop_ext_dups(void **state)
{
	uint8_t b[512], ext[256];
	uint32_t n;

	(void)state;
	memset(ext, 0, sizeof(ext));
	ext[0] = ext[20] = 0x10;
	ext[1] = ext[21] = 20;
	n = mk(b, ext, 40, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_DUP_CONTROL);

	memset(ext, 0, sizeof(ext));
	ext[0] = ext[36] = ext[72] = 0x20;
	ext[1] = ext[37] = ext[73] = 36;
	n = mk(b, ext, 72, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_NONE); /* two are allowed */
	n = mk(b, ext, 108, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_TOO_MANY_SERVICE);

	memset(ext, 0, sizeof(ext));
	ext[0] = ext[12] = 0x40;
	ext[1] = ext[13] = 12;
	n = mk(b, ext, 24, SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_EXT_DUP_SOURCE);
}

static void
test_drop_source_too_long(void **state)
{
	uint8_t b[256], ext[128];
	uint32_t n;

	(void)state;
	memset(ext, 0, sizeof(ext));
	ext[0] = 0x40;
	ext[1] = (uint8_t)SAL_SOURCE_EXT_LEN(20);
	n = mk(b, ext, SAL_SOURCE_EXT_LEN(20), SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_NONE);
	ext[1] = (uint8_t)SAL_SOURCE_EXT_LEN(21);
	n = mk(b, ext, SAL_SOURCE_EXT_LEN(21), SAL_PROTO_TCP, NULL, 0);
	expect_drop(b, n, SAL_DROP_SOURCE_TOO_LONG);
}

static void
test_drop_l4(void **state)
{
	uint8_t b[256], l4[64];
	uint32_t n;

	(void)state;
	memset(l4, 0, sizeof(l4));
	l4[12] = 0x50;
	n = mk(b, NULL, 0, SAL_PROTO_TCP, l4, 19);
	expect_drop(b, n, SAL_DROP_L4_BAD_HDR);
	n = mk(b, NULL, 0, SAL_PROTO_TCP, l4, 20);
	expect_drop(b, n, SAL_DROP_NONE);
	l4[12] = 0x40; /* data offset 16 bytes */
	n = mk(b, NULL, 0, SAL_PROTO_TCP, l4, 20);
	expect_drop(b, n, SAL_DROP_L4_BAD_HDR);
	l4[12] = 0x60; /* data offset 24 bytes in a 20-byte segment */
	n = mk(b, NULL, 0, SAL_PROTO_TCP, l4, 20);
	expect_drop(b, n, SAL_DROP_L4_BAD_HDR);
	n = mk(b, NULL, 0, SAL_PROTO_UDP, l4, 7);
	expect_drop(b, n, SAL_DROP_L4_BAD_HDR);
	n = mk(b, NULL, 0, SAL_PROTO_UDP, l4, 8);
	expect_drop(b, n, SAL_DROP_NONE);
	n = mk(b, NULL, 0, 99, l4, 1); /* unknown transport: not checked */
	expect_drop(b, n, SAL_DROP_NONE);
}

static void
test_drop_l4_csum(void **state)
{
	struct sal_parse_conf c;
	struct sal_pkt p;
	uint8_t b[sizeof(vec_dgram)];

	(void)state;
	assert_int_equal(sal_parse_conf_init(&c, 144, SAL_PARSE_F_L4_CSUM), 0);
	memcpy(b, vec_dgram, sizeof(b));
	assert_int_equal(sal_parse(&c, b, sizeof(b), 0, &p), SAL_DROP_NONE);
	b[sizeof(b) - 1] ^= 0x01; /* payload bit flip */
	assert_int_equal(sal_parse(&c, b, sizeof(b), 0, &p), SAL_DROP_L4_BAD_CSUM);
	/* Without the flag the parser does not look at the payload. */
	assert_int_equal(test_parse_l3(b, sizeof(b), &p), SAL_DROP_NONE);
	assert_false(sal_verify_l4_csum(b, &p));
	/* UDP checksum 0: none sent, nothing to verify. */
	sal_put16(b + 20 + 84 + 6, 0);
	assert_int_equal(sal_parse(&c, b, sizeof(b), 0, &p), SAL_DROP_NONE);
}

/* Every single-bit flip of the SYN is rejected or re-emits exactly. */
static void
test_bitflips(void **state)
{
	uint8_t b[sizeof(vec_syn)], out[256];
	uint32_t i, accepted = 0;

	(void)state;
	for (i = 0; i < sizeof(vec_syn) * 8; i++) {
		struct sal_pkt p;
		struct sal_msg m;

		memcpy(b, vec_syn, sizeof(b));
		b[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
		if (test_parse_l3(b, sizeof(b), &p) != SAL_DROP_NONE)
			continue;
		/* Only the TCP part (unverified by default) can change unnoticed. */
		assert_true(i / 8 >= 88);
		accepted++;
		assert_int_equal(sal_msg_from_pkt(b, &p, &m), 0);
		m.flags = SAL_BUILD_F_RAW_L4;
		assert_int_equal(sal_build(&m, out, sizeof(out)), (int)sizeof(b));
		assert_memory_equal(out, b, sizeof(b));
	}
	assert_true(accepted > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_init_args),
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_build_args),
		cmocka_unit_test(test_upstream_handshake),
		cmocka_unit_test(test_upstream_router_in),
		cmocka_unit_test(test_upstream_router_out),
		cmocka_unit_test(test_upstream_fields),
		cmocka_unit_test(test_upstream_bulk),
		cmocka_unit_test(test_vec_syn),
		cmocka_unit_test(test_vec_data),
		cmocka_unit_test(test_vec_fin),
		cmocka_unit_test(test_vec_synack_source),
		cmocka_unit_test(test_vec_dgram),
		cmocka_unit_test(test_vec_reemit),
		cmocka_unit_test(test_other_ip_proto),
		cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_trailing_padding),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_truncate_syn),
		cmocka_unit_test(test_drop_ip),
		cmocka_unit_test(test_drop_ip_csum_skip),
		cmocka_unit_test(test_drop_sal_base),
		cmocka_unit_test(test_drop_ext_too_many),
		cmocka_unit_test(test_drop_ext_eleven),
		cmocka_unit_test(test_drop_ext_unknown),
		cmocka_unit_test(test_drop_ext_leftover),
		cmocka_unit_test(test_drop_ext_bad_len),
		cmocka_unit_test(test_drop_ext_past_shl),
		cmocka_unit_test(test_drop_ext_dups),
		cmocka_unit_test(test_drop_source_too_long),
		cmocka_unit_test(test_drop_l4),
		cmocka_unit_test(test_drop_l4_csum),
		cmocka_unit_test(test_bitflips),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
