/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Unit tests of the traffic generator (no EAL): the service map's
 * longest-prefix match against a brute-force scan, size specs, pcap and
 * flow-map round trips, and generated traffic checked packet by packet:
 * lib/sal accepts every frame, SYNs land on the rule they claim (brute
 * force again), misses match nothing, frames enter the right router port
 * with the right MACs, and the same seed gives the same bytes.
 *
 * argv[1]: the e2e router config (benchmarks/e2e/router.yaml).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sal_parse.h"
#include "tg_config.h"
#include "trafgen.h"

static const char *config_path;

/* ---------------------------------------------------------------- oracle */

static bool
prefix_match(const struct tg_rule *r, const struct sal_service_id *id)
{
	unsigned int full = r->bits / 8, rem = r->bits % 8;

	if (memcmp(r->id.b, id->b, full) != 0)
		return false;
	return rem == 0 || ((r->id.b[full] ^ id->b[full]) & (0xff00u >> rem)) == 0;
}

/* Linear scan: the longest matching prefix, or -1. */
static int
brute_lookup(const struct tg_svcmap *m, const struct sal_service_id *id)
{
	int best = -1;
	uint32_t i;

	for (i = 0; i < tg_svcmap_count(m); i++) {
		const struct tg_rule *r = tg_svcmap_rule(m, i);

		if (prefix_match(r, id) && (best < 0 || r->bits > tg_svcmap_rule(m, best)->bits))
			best = (int)i;
	}
	return best;
}

/* ------------------------------------------------------------ service map */

static void
test_svcmap_args(void **state)
{
	struct tg_svcmap *m = tg_svcmap_create();
	struct sal_service_id id = { .b = { 0x12, 0x34 } };
	struct tg_target t = { .addr = htonl(0x0a000001), .weight = 1 };
	struct tg_target dead = { .addr = htonl(0x0a000001), .weight = 0 };

	(void)state;
	assert_non_null(m);
	assert_int_equal(tg_svcmap_add(m, &id, 257, TG_RULE_DROP, NULL, 0), -EINVAL);
	/* bits set past the prefix */
	assert_int_equal(tg_svcmap_add(m, &id, 8, TG_RULE_DROP, NULL, 0), -EINVAL);
	/* forward without a live target, targets on a drop rule, bad kind */
	assert_int_equal(tg_svcmap_add(m, &id, 16, TG_RULE_RESOLVE, NULL, 0), -EINVAL);
	assert_int_equal(tg_svcmap_add(m, &id, 16, TG_RULE_RESOLVE, &dead, 1), -EINVAL);
	assert_int_equal(tg_svcmap_add(m, &id, 16, TG_RULE_DROP, &t, 1), -EINVAL);
	assert_int_equal(tg_svcmap_add(m, &id, 16, TG_RULE_KIND_MAX, NULL, 0), -EINVAL);
	assert_int_equal(tg_svcmap_add(m, &id, 16, TG_RULE_RESOLVE, &t, 1), 0);
	assert_int_equal(tg_svcmap_add(m, &id, 16, TG_RULE_DROP, NULL, 0), -EEXIST);
	assert_int_equal(tg_svcmap_count(m), 1);
	assert_null(tg_svcmap_rule(m, 1));
	assert_int_equal(tg_svcmap_draw_hit(m, 1, NULL, &id), -EINVAL);
	tg_svcmap_free(m);
	tg_svcmap_free(NULL);
}

static void
test_svcmap_lpm_oracle(void **state)
{
	struct tg_svcmap *m = tg_svcmap_create();
	struct sal_service_id id, base, probe;
	struct tg_rng r;
	unsigned int i, bits;
	int ret, hits = 0;

	(void)state;
	assert_non_null(m);
	tg_rng_seed(&r, 42);
	/* nested prefixes share a few bases so that matches overlap */
	for (i = 0; i < 3000; i++) {
		memset(&base, 0, sizeof(base));
		base.b[0] = (uint8_t)tg_rng_below(&r, 4);
		base.b[1] = (uint8_t)tg_rng_below(&r, 4);
		for (bits = 16; bits < 32; bits++)
			base.b[bits / 8] |= (uint8_t)(tg_rng_next(&r) & 1) << (7 - bits % 8);
		bits = 16 + tg_rng_below(&r, 241);
		memset(&id, 0, sizeof(id));
		memcpy(id.b, base.b, 4);
		for (unsigned int b = 32; b < bits; b++)
			id.b[b / 8] |= (uint8_t)(tg_rng_next(&r) & 1) << (7 - b % 8);
		/* clear bits past the prefix (the map refuses them) */
		for (unsigned int b = bits; b < 256; b++)
			id.b[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
		ret = tg_svcmap_add(m, &id, (uint16_t)bits, TG_RULE_DROP, NULL, 0);
		assert_true(ret >= 0 || ret == -EEXIST);
	}
	for (i = 0; i < 20000; i++) {
		memset(&probe, 0, sizeof(probe));
		for (unsigned int b = 0; b < 32; b++)
			probe.b[b] = (uint8_t)tg_rng_next(&r);
		probe.b[0] &= 3;
		probe.b[1] &= 3;
		if (i & 1)
			probe = tg_svcmap_rule(m, tg_rng_below(&r, tg_svcmap_count(m)))->id;
		ret = tg_svcmap_lookup(m, &probe);
		assert_int_equal(ret, brute_lookup(m, &probe));
		hits += ret >= 0;
	}
	assert_true(hits > 10000);
	/* draws: a hit lands where it says, a miss matches nothing */
	for (i = 0; i < 2000; i++) {
		uint32_t rule = tg_rng_below(&r, tg_svcmap_count(m));

		if (tg_svcmap_draw_hit(m, rule, &r, &probe) == 0)
			assert_int_equal(brute_lookup(m, &probe), (int)rule);
		assert_int_equal(tg_svcmap_draw_miss(m, &r, &probe), 0);
		assert_int_equal(brute_lookup(m, &probe), -1);
	}
	/* a 0/0 rule leaves nothing to miss */
	memset(&id, 0, sizeof(id));
	assert_true(tg_svcmap_add(m, &id, 0, TG_RULE_DROP, NULL, 0) >= 0);
	assert_int_equal(tg_svcmap_draw_miss(m, &r, &probe), -ENOENT);
	tg_svcmap_free(m);
}

static void
test_shadowed_rule(void **state)
{
	struct tg_svcmap *m = tg_svcmap_create();
	struct sal_service_id id = { .b = { 0x80 } }, out;
	struct tg_rng r;

	(void)state;
	tg_rng_seed(&r, 1);
	/* 80/1 covers 80/1's both halves: nothing is left for the /1 */
	assert_int_equal(tg_svcmap_add(m, &id, 1, TG_RULE_DROP, NULL, 0), 0);
	assert_int_equal(tg_svcmap_add(m, &id, 2, TG_RULE_DROP, NULL, 0), 1);
	id.b[0] = 0xc0;
	assert_int_equal(tg_svcmap_add(m, &id, 2, TG_RULE_DROP, NULL, 0), 2);
	assert_int_equal(tg_svcmap_draw_hit(m, 0, &r, &out), -ENOENT);
	assert_int_equal(tg_svcmap_draw_hit(m, 2, &r, &out), 0);
	assert_int_equal(tg_svcmap_lookup(m, &out), 2);
	tg_svcmap_free(m);
}

/* ----------------------------------------------------------------- sizes */

static void
test_sizes(void **state)
{
	struct tg_sizes s;

	(void)state;
	assert_int_equal(tg_sizes_parse("64", &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.size[0], 64);
	assert_int_equal(tg_sizes_parse("64-1518", &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.lo, 64);
	assert_int_equal(s.hi, 1518);
	assert_int_equal(tg_sizes_parse("imix", &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.size[1], 570);
	assert_int_equal(s.weight[0], 7);
	assert_int_equal(tg_sizes_parse("64,128:3,256", &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.weight[1], 3);
	assert_int_equal(tg_sizes_parse("63", &s), -EINVAL);
	assert_int_equal(tg_sizes_parse("9019", &s), -EINVAL);
	assert_int_equal(tg_sizes_parse("1518-64", &s), -EINVAL);
	assert_int_equal(tg_sizes_parse("64,", &s), -EINVAL);
	assert_int_equal(tg_sizes_parse("64:0", &s), -EINVAL);
	assert_int_equal(tg_sizes_parse("abc", &s), -EINVAL);
	assert_int_equal(tg_sizes_parse("64,64,64,64,64,64,64,64,64,64,64,64,64,64,64,64,64",
				&s), -EINVAL);
}

/* ---------------------------------------------------------------- world */

struct world {
	struct ssr_config *cfg;
	struct tg_svcmap *map;
	struct tg_topo topo;
	struct tg_neigh *neigh;
};

static void
world_load(struct world *w)
{
	struct ssr_config_errors errs = { 0 };
	uint32_t macless;

	memset(w, 0, sizeof(*w));
	w->cfg = ssr_config_load_file(config_path, &errs);
	if (w->cfg == NULL)
		fail_msg("%s: %s", config_path, errs.n ? errs.msgs[0] : "cannot load");
	w->map = tg_svcmap_create();
	assert_non_null(w->map);
	assert_int_equal(tg_from_config(w->cfg, w->map, &w->topo, &w->neigh, &macless), 0);
	assert_int_equal(macless, 0);
	assert_int_equal(tg_svcmap_count(w->map), w->cfg->n_services);
}

static void
world_free(struct world *w)
{
	free(w->neigh);
	tg_svcmap_free(w->map);
	ssr_config_free(w->cfg);
}

/* A flow map shaped like ssr-blast's, for gateway targets of the config. */
static struct tg_gwflow *
fake_gwmap(const struct world *w, uint32_t n)
{
	struct tg_gwflow *f = calloc(n, sizeof(*f));
	uint32_t i;

	assert_non_null(f);
	for (i = 0; i < n; i++) {
		f[i].client_ip = htonl(0x64400000 + 1 + i % 50);
		f[i].client_flowid = htonl(0x1000 + i);
		f[i].rfid = 2 * (i + 1);
		f[i].target = htonl(0xc6130014 + (i & 1)); /* 198.19.0.20/21 */
		f[i].instance_flowid = htonl(0x2000 + i);
		f[i].nonce[0] = (uint8_t)i;
		f[i].nonce[7] = 0x5a;
	}
	(void)w;
	return f;
}

struct run_stats {
	uint32_t kind[TG_KIND_MAX];
	uint32_t port[TG_MAX_PORTS];
};

/*
 * Generate @p n packets (plus tg_finish()) and check every one. Returns a
 * 64-bit FNV-1a hash of all the bytes, for the determinism checks.
 */
static uint64_t
run_checked(const struct world *w, struct tg_conf *c, uint32_t n, struct run_stats *rs)
{
	struct sal_parse_conf pc;
	struct sal_pkt sp;
	struct tg_meta meta;
	struct tg *g;
	uint8_t *buf = malloc(TG_FRAME_MAX);
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t i, j;
	int len;

	assert_non_null(buf);
	memset(rs, 0, sizeof(*rs));
	assert_int_equal(sal_parse_conf_init(&pc, w->topo.sal_proto, SAL_PARSE_F_L4_CSUM), 0);
	c->map = w->map;
	c->topo = &w->topo;
	g = tg_create(c);
	if (g == NULL)
		fail_msg("tg_create: %s", tg_last_error());
	for (i = 0;; i++) {
		len = i < n ? tg_next(g, buf, TG_FRAME_MAX, &meta) :
			tg_finish(g, buf, TG_FRAME_MAX, &meta);
		if (len == 0)
			break;
		assert_true(len >= 60);
		assert_int_equal((uint32_t)len, meta.len);
		assert_true(meta.port < w->topo.n_ports);
		/* every frame is addressed to the router port it enters */
		assert_memory_equal(buf, w->topo.port[meta.port].mac, 6);
		if (sal_parse(&pc, buf, (uint32_t)len, 14, &sp) != SAL_DROP_NONE)
			fail_msg("packet %u (%s) rejected: %s", i, tg_kind_name(meta.kind),
					sal_drop_reason_str(sp.drop));
		/* no Ethernet padding needed: IP fills the frame */
		assert_int_equal(sp.ip_len + 14, len);
		switch (meta.kind) {
		case TG_KIND_SYN:
			assert_true(sal_pkt_is_syn(&sp));
			assert_int_equal(sp.dst_flowid, 0);
			assert_int_equal(sal_pkt_ip_dst(buf, &sp), w->topo.port[meta.port].addr);
			assert_int_equal(brute_lookup(w->map, sal_pkt_service_id(buf, &sp, 0)),
					meta.rule);
			assert_true(c->syn_rules &
					TG_RULE_BIT(tg_svcmap_rule(w->map, meta.rule)->kind));
			break;
		case TG_KIND_MISS:
			assert_true(sal_pkt_is_syn(&sp));
			assert_int_equal(brute_lookup(w->map, sal_pkt_service_id(buf, &sp, 0)), -1);
			break;
		case TG_KIND_ACK:
			assert_int_equal(sp.ctrl_flags, SAL_CTRL_ACK);
			assert_int_equal(sp.n_service, 1);
			/* fall through */
		case TG_KIND_DATA_C2S:
		case TG_KIND_DATA_S2C:
		case TG_KIND_RSYN:
			/* transit: addressed past the router, both flowIDs known */
			for (j = 0; j < w->topo.n_ports; j++)
				assert_int_not_equal(sal_pkt_ip_dst(buf, &sp), w->topo.port[j].addr);
			assert_int_not_equal(sp.dst_flowid, 0);
			assert_int_not_equal(sp.src_flowid, 0);
			if (meta.kind == TG_KIND_RSYN)
				assert_int_equal(sp.ctrl_flags, SAL_CTRL_RSYN);
			if (meta.kind == TG_KIND_DATA_C2S || meta.kind == TG_KIND_DATA_S2C)
				assert_int_equal(sp.shl, 3);
			break;
		case TG_KIND_GW_DATA_C2S:
		case TG_KIND_GW_DATA_S2C:
		case TG_KIND_GW_RSYN: {
			const struct tg_gwflow *gf = &c->gw[meta.flow];
			bool s2c = meta.kind == TG_KIND_GW_DATA_S2C;

			assert_int_equal(sal_pkt_ip_dst(buf, &sp), w->topo.port[meta.port].addr);
			assert_int_equal(ntohl(sp.dst_flowid), gf->rfid | (s2c ? 1 : 0));
			assert_int_equal(sp.src_flowid, s2c ? gf->instance_flowid : gf->client_flowid);
			if (s2c)
				assert_int_equal(sal_pkt_ip_src(buf, &sp), gf->target);
			if (meta.kind == TG_KIND_GW_RSYN)
				assert_memory_equal(buf + sp.ctrl_off + 12, gf->nonce, SAL_NONCE_LEN);
			break;
		}
		default:
			fail_msg("unknown kind %u", meta.kind);
		}
		rs->kind[meta.kind]++;
		rs->port[meta.port]++;
		for (j = 0; j < (uint32_t)len; j++)
			h = (h ^ buf[j]) * 0x100000001b3ull;
	}
	tg_free(g);
	free(buf);
	return h;
}

static void
test_generate_mix(void **state)
{
	static const char *const kinds[] = { "syn", "miss", "ack", "data-c2s", "data-s2c",
		"rsyn" };
	struct run_stats rs;
	struct world w;
	struct tg_conf c;
	unsigned int i;

	(void)state;
	world_load(&w);
	tg_conf_init(&c);
	for (i = 0; i < 6; i++)
		c.weight[tg_kind_from_name(kinds[i])] = 1;
	assert_int_equal(tg_sizes_parse("64-1518", &c.sizes), 0);
	run_checked(&w, &c, 20000, &rs);
	for (i = 0; i < 6; i++)
		assert_true(rs.kind[tg_kind_from_name(kinds[i])] > 2500);
	/* client-side kinds enter port 0, instance-side port 1 */
	assert_int_equal(rs.port[1], rs.kind[TG_KIND_DATA_S2C]);
	/* UDP transport and 64-byte frames */
	c.transport = SAL_PROTO_UDP;
	assert_int_equal(tg_sizes_parse("64", &c.sizes), 0);
	run_checked(&w, &c, 5000, &rs);
	world_free(&w);
}

static void
test_syn_rule_filter(void **state)
{
	struct run_stats rs;
	struct world w;
	struct tg_conf c;

	(void)state;
	world_load(&w);
	tg_conf_init(&c);
	c.weight[TG_KIND_SYN] = 1;
	c.syn_rules = TG_RULE_BIT(TG_RULE_GATEWAY);
	run_checked(&w, &c, 3000, &rs);   /* asserts each SYN's rule kind */
	assert_int_equal(rs.kind[TG_KIND_SYN], 3000);
	/* transit needs forward rules among the SYN kinds */
	c.syn_rules = TG_RULE_BIT(TG_RULE_DROP);
	c.weight[TG_KIND_DATA_C2S] = 1;
	c.map = w.map;
	c.topo = &w.topo;
	assert_null(tg_create(&c));
	assert_int_equal(errno, EINVAL);
	assert_true(strstr(tg_last_error(), "forward") != NULL);
	world_free(&w);
}

static void
test_gateway(void **state)
{
	struct run_stats rs;
	struct world w;
	struct tg_conf c;

	(void)state;
	world_load(&w);
	tg_conf_init(&c);
	c.weight[TG_KIND_GW_DATA_C2S] = 10;
	c.weight[TG_KIND_GW_DATA_S2C] = 10;
	c.weight[TG_KIND_GW_RSYN] = 1;
	c.map = w.map;
	c.topo = &w.topo;
	/* no flow map: refused with a reason */
	assert_null(tg_create(&c));
	assert_true(strstr(tg_last_error(), "flow map") != NULL);
	c.gw = fake_gwmap(&w, 300);
	c.n_gw = 300;
	run_checked(&w, &c, 20000, &rs);
	assert_true(rs.kind[TG_KIND_GW_RSYN] > 100);
	assert_true(rs.kind[TG_KIND_GW_DATA_S2C] > 5000);
	free((void *)(uintptr_t)c.gw);
	world_free(&w);
}

/* Client data after a migration comes from the new address; the tail
 * RSYNs bring every flow home, so a looped replay stays consistent. */
static void
test_gateway_migration_consistent(void **state)
{
	struct sal_parse_conf pc;
	struct sal_pkt sp;
	struct tg_meta meta;
	struct world w;
	struct tg_conf c;
	struct tg *g;
	uint32_t *cur, i, n_gw = 40;
	uint8_t buf[TG_FRAME_MAX];
	int len;

	(void)state;
	world_load(&w);
	tg_conf_init(&c);
	c.weight[TG_KIND_GW_DATA_C2S] = 3;
	c.weight[TG_KIND_GW_RSYN] = 1;
	c.map = w.map;
	c.topo = &w.topo;
	c.gw = fake_gwmap(&w, n_gw);
	c.n_gw = n_gw;
	cur = calloc(n_gw, sizeof(*cur));
	for (i = 0; i < n_gw; i++)
		cur[i] = c.gw[i].client_ip;
	assert_int_equal(sal_parse_conf_init(&pc, 144, 0), 0);
	g = tg_create(&c);
	assert_non_null(g);
	for (i = 0;; i++) {
		len = i < 4000 ? tg_next(g, buf, sizeof(buf), &meta) :
			tg_finish(g, buf, sizeof(buf), &meta);
		if (len == 0)
			break;
		assert_int_equal(sal_parse(&pc, buf, (uint32_t)len, 14, &sp), SAL_DROP_NONE);
		if (meta.kind == TG_KIND_GW_RSYN) {
			assert_int_not_equal(sal_pkt_ip_src(buf, &sp), cur[meta.flow]);
			cur[meta.flow] = sal_pkt_ip_src(buf, &sp);
		} else {
			assert_int_equal(sal_pkt_ip_src(buf, &sp), cur[meta.flow]);
		}
	}
	for (i = 0; i < n_gw; i++)
		assert_int_equal(cur[i], c.gw[i].client_ip);
	tg_free(g);
	free(cur);
	free((void *)(uintptr_t)c.gw);
	world_free(&w);
}

static void
test_determinism(void **state)
{
	struct run_stats rs;
	struct world w;
	struct tg_conf c;
	uint64_t a, b, d;

	(void)state;
	world_load(&w);
	tg_conf_init(&c);
	c.weight[TG_KIND_SYN] = 5;
	c.weight[TG_KIND_MISS] = 1;
	c.weight[TG_KIND_DATA_C2S] = 5;
	c.weight[TG_KIND_DATA_S2C] = 5;
	assert_int_equal(tg_sizes_parse("imix", &c.sizes), 0);
	c.seed = 7;
	a = run_checked(&w, &c, 5000, &rs);
	b = run_checked(&w, &c, 5000, &rs);
	c.seed = 8;
	d = run_checked(&w, &c, 5000, &rs);
	assert_true(a == b);
	assert_true(a != d);
	world_free(&w);
}

/* --sequential: n SYNs over n flows name every flow exactly once */
static void
test_sequential(void **state)
{
	struct tg_meta meta;
	struct world w;
	struct tg_conf c;
	struct tg *g;
	uint8_t buf[TG_FRAME_MAX];
	uint8_t *seen;
	uint32_t i, n = 777;

	(void)state;
	world_load(&w);
	tg_conf_init(&c);
	c.weight[TG_KIND_SYN] = 1;
	c.n_flows = n;
	c.sequential = true;
	c.map = w.map;
	c.topo = &w.topo;
	g = tg_create(&c);
	assert_non_null(g);
	seen = calloc(n, 1);
	for (i = 0; i < n; i++) {
		assert_true(tg_next(g, buf, sizeof(buf), &meta) > 0);
		assert_int_equal(meta.flow, i);
		seen[meta.flow]++;
	}
	for (i = 0; i < n; i++)
		assert_int_equal(seen[i], 1);
	free(seen);
	tg_free(g);
	world_free(&w);
}

static void
test_create_errors(void **state)
{
	struct world w;
	struct tg_conf c;

	(void)state;
	world_load(&w);
	tg_conf_init(&c);
	c.map = w.map;
	c.topo = &w.topo;
	assert_null(tg_create(&c));               /* no weights */
	assert_int_equal(errno, EINVAL);
	c.weight[TG_KIND_RSYN] = 1;
	c.n_clients = 1;
	assert_null(tg_create(&c));               /* RSYN needs two addresses */
	c.n_clients = 5000;
	c.client_bits = 20;                       /* 4094 hosts */
	assert_null(tg_create(&c));
	c.client_bits = 10;
	c.transport = 1;
	assert_null(tg_create(&c));
	c.transport = SAL_PROTO_TCP;
	c.map = NULL;
	assert_null(tg_create(&c));
	assert_true(strstr(tg_last_error(), "service map") != NULL);
	assert_null(tg_create(NULL));
	world_free(&w);
}

/* ------------------------------------------------------------ file I/O */

static void
test_pcap_roundtrip(void **state)
{
	char path[] = "/tmp/test_trafgen_XXXXXX";
	struct tg_pcap_writer *wr;
	struct tg_capture cap;
	uint8_t frame[200];
	unsigned int i;
	FILE *fp;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	wr = tg_pcap_open(path);
	assert_non_null(wr);
	for (i = 0; i < 100; i++) {
		memset(frame, (int)i, sizeof(frame));
		assert_int_equal(tg_pcap_write(wr, frame, 60 + i, i), 0);
	}
	assert_int_equal(tg_pcap_close(wr), 0);
	assert_int_equal(tg_pcap_load(path, &cap), 0);
	assert_int_equal(cap.n, 100);
	for (i = 0; i < 100; i++) {
		assert_int_equal(cap.frames[i].len, 60 + i);
		assert_int_equal(cap.frames[i].data[0], i);
		assert_int_equal(cap.frames[i].data[59 + i], i);
	}
	tg_capture_free(&cap);
	/* a truncated record is refused, not half-read */
	assert_int_equal(truncate(path, 24 + 16 + 60 + 16 + 10), 0);
	assert_int_equal(tg_pcap_load(path, &cap), -EINVAL);
	assert_int_equal(cap.n, 0);
	/* a bad magic */
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("this is no pcap file at all", fp);
	fclose(fp);
	assert_int_equal(tg_pcap_load(path, &cap), -EINVAL);
	unlink(path);
	assert_int_equal(tg_pcap_load(path, &cap), -ENOENT);
}

static void
test_gwmap_roundtrip(void **state)
{
	char path[] = "/tmp/test_trafgen_XXXXXX", err[256];
	struct tg_gwflow in[3], *out;
	uint32_t n, i;
	FILE *fp;
	int fd;

	(void)state;
	memset(in, 0, sizeof(in));
	for (i = 0; i < 3; i++) {
		in[i].client_ip = htonl(0x64400001 + i);
		in[i].client_flowid = htonl(0xdeadbe00 + i);
		in[i].rfid = 0x100 * (i + 1);
		in[i].target = htonl(0xc6130014);
		in[i].instance_flowid = htonl(0x77 + i);
		memset(in[i].nonce, 0xa0 + (int)i, SAL_NONCE_LEN);
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fprintf(fp, "# comment\n\n");
	for (i = 0; i < 3; i++)
		assert_int_equal(tg_gwmap_write(fp, &in[i]), 0);
	fclose(fp);
	assert_int_equal(tg_gwmap_load(path, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(in, out, sizeof(in));
	free(out);
	/* a bad line says where */
	fp = fopen(path, "a");
	fprintf(fp, "100.64.0.9 00000001 00000003 198.19.0.20 00000002 0011223344556677\n");
	fclose(fp);
	assert_int_equal(tg_gwmap_load(path, &out, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":6:"));
	assert_null(out);
	unlink(path);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_svcmap_args),
		cmocka_unit_test(test_svcmap_lpm_oracle),
		cmocka_unit_test(test_shadowed_rule),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_generate_mix),
		cmocka_unit_test(test_syn_rule_filter),
		cmocka_unit_test(test_gateway),
		cmocka_unit_test(test_gateway_migration_consistent),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_pcap_roundtrip),
		cmocka_unit_test(test_gwmap_roundtrip),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s ROUTER_CONFIG.yaml\n", argv[0]);
		return 2;
	}
	config_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
