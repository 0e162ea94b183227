/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The SAL traffic generator: a world model (service map, router topology,
 * clients, flows) and one seeded PRNG. Every packet goes through lib/sal's
 * sal_build(), so the bytes are exactly what the parser accepts; the
 * generator only decides the values.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sal_build.h"
#include "trafgen.h"

#define ETH_HLEN 14
#define ETH_MIN_FRAME 60     /* without FCS */
#define ETH_FCS 4
#define TCP_HLEN 20
#define UDP_HLEN 8
#define TCP_F_SYN 0x02
#define TCP_F_PSH 0x08
#define TCP_F_ACK 0x10
#define TG_SIZE_MIN 64
#define TG_SIZE_MAX 9018
/* Rules tried for one flow before giving up on a shadowed map. */
#define TG_RULE_TRIES 16

#define TG_DIM(a) (sizeof(a) / sizeof((a)[0]))

static __thread char tg_err[256];

static const char *const kind_names[] = {
#define TG_KIND_NAME_(n, s, d) s,
	TG_KINDS(TG_KIND_NAME_)
#undef TG_KIND_NAME_
};

static const char *const kind_descs[] = {
#define TG_KIND_DESC_(n, s, d) d,
	TG_KINDS(TG_KIND_DESC_)
#undef TG_KIND_DESC_
};

static const char *const rule_kind_names[TG_RULE_KIND_MAX] = {
	[TG_RULE_RESOLVE] = "resolve",
	[TG_RULE_GATEWAY] = "gateway",
	[TG_RULE_LOCAL] = "local",
	[TG_RULE_DELAY] = "delay",
	[TG_RULE_DROP] = "drop",
};

const char *
tg_kind_name(enum tg_kind k)
{
	return (unsigned int)k < TG_KIND_MAX ? kind_names[k] : "?";
}

const char *
tg_kind_desc(enum tg_kind k)
{
	return (unsigned int)k < TG_KIND_MAX ? kind_descs[k] : "?";
}

int
tg_kind_from_name(const char *s)
{
	int k;

	for (k = 0; k < TG_KIND_MAX; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *
tg_rule_kind_name(enum tg_rule_kind k)
{
	return (unsigned int)k < TG_RULE_KIND_MAX ? rule_kind_names[k] : "?";
}

const char *
tg_last_error(void)
{
	return tg_err;
}

/* ------------------------------------------------------------------ PRNG */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void
tg_rng_seed(struct tg_rng *r, uint64_t seed)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
tg_rng_next(struct tg_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

uint32_t
tg_rng_below(struct tg_rng *r, uint32_t n)
{
	/* multiply-shift: bias below 2^-32, irrelevant for traffic */
	return n == 0 ? 0 : (uint32_t)(((tg_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static uint32_t
rng_nonzero32(struct tg_rng *r)
{
	uint32_t v;

	do {
		v = (uint32_t)tg_rng_next(r);
	} while (v == 0);
	return v;
}

/* -------------------------------------------------------------- topology */

int
tg_topo_facing(const struct tg_topo *t, uint32_t ip)
{
	uint32_t i;

	for (i = 0; i < t->n_ports; i++)
		if (((ip ^ t->port[i].addr) & t->port[i].mask) == 0)
			return (int)i;
	if (!t->has_gateway)
		return -1;
	for (i = 0; i < t->n_ports; i++)
		if (((t->gateway ^ t->port[i].addr) & t->port[i].mask) == 0)
			return (int)i;
	return -1;
}

/* L2 source of a frame from @p ip: the MAC of the router's next hop to it. */
static const uint8_t *
l2_source(const struct tg_topo *t, uint32_t ip)
{
	uint32_t hop = ip, i;
	int p;

	for (p = -1, i = 0; i < t->n_ports; i++)
		if (((ip ^ t->port[i].addr) & t->port[i].mask) == 0)
			p = (int)i;
	if (p < 0 && t->has_gateway)
		hop = t->gateway;
	for (i = 0; i < t->n_neigh; i++)
		if (t->neigh[i].ip == hop)
			return t->neigh[i].mac;
	return t->default_mac;
}

/* ----------------------------------------------------------------- sizes */

static int
size_value(const char *s, char **end, uint16_t *out)
{
	unsigned long v;

	errno = 0;
	v = strtoul(s, end, 10);
	if (errno != 0 || *end == s || v < TG_SIZE_MIN || v > TG_SIZE_MAX)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int
tg_sizes_parse(const char *s, struct tg_sizes *out)
{
	char *end;
	unsigned long w;

	memset(out, 0, sizeof(*out));
	if (strcmp(s, "imix") == 0)
		s = "64:7,570:4,1518:1";
	if (size_value(s, &end, &out->lo) != 0)
		return -EINVAL;
	if (*end == '-') {
		if (size_value(end + 1, &end, &out->hi) != 0 || *end != '\0' ||
				out->hi < out->lo)
			return -EINVAL;
		return 0;
	}
	for (;;) {
		if (out->n == TG_MAX_SIZES)
			return -EINVAL;
		out->size[out->n] = out->lo;
		out->weight[out->n] = 1;
		if (*end == ':') {
			errno = 0;
			w = strtoul(end + 1, &end, 10);
			if (errno != 0 || w == 0 || w > 65535)
				return -EINVAL;
			out->weight[out->n] = (uint16_t)w;
		}
		out->n++;
		if (*end == '\0')
			break;
		if (*end != ',' || size_value(end + 1, &end, &out->lo) != 0)
			return -EINVAL;
	}
	out->lo = out->hi = 0;
	return 0;
}

static uint32_t
draw_size(const struct tg_sizes *s, struct tg_rng *r)
{
	uint32_t total = 0, x, i;

	if (s->n == 0)
		return s->lo + tg_rng_below(r, (uint32_t)(s->hi - s->lo) + 1);
	if (s->n == 1)
		return s->size[0];
	for (i = 0; i < s->n; i++)
		total += s->weight[i];
	x = tg_rng_below(r, total);
	for (i = 0; i < s->n; i++) {
		if (x < s->weight[i])
			return s->size[i];
		x -= s->weight[i];
	}
	return s->size[s->n - 1];
}

/* ------------------------------------------------------------- generator */

void
tg_conf_init(struct tg_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->seed = 1;
	c->n_flows = 4096;
	c->n_clients = 1024;
	c->client_net = htonl(0x64400000); /* 100.64.0.0/10 */
	c->client_bits = 10;
	c->transport = SAL_PROTO_TCP;
	c->syn_rules = TG_RULE_ALL;
	c->sizes.n = 1;
	c->sizes.size[0] = 64;
	c->sizes.weight[0] = 1;
}

/* A flow of the resolve world (the router keeps no state for it). */
struct tg_flow {
	struct sal_service_id sid;
	uint32_t client_idx;
	uint32_t client_flowid;   /* network order */
	uint32_t instance_flowid; /* network order */
	uint32_t target;          /* network order; 0 without a forward rule */
	uint32_t isn;
	uint32_t inst_isn;
	uint32_t seq;             /* next TCP sequence number, client side */
	uint32_t inst_seq;
	int32_t rule;
	uint8_t nonce[SAL_NONCE_LEN];
};

/* Per gateway flow: where the client is now. */
struct tg_gwstate {
	uint32_t cur_ip;  /* network order */
	uint32_t verno;   /* next SAL control sequence number */
};

struct tg {
	struct tg_conf c;
	struct tg_rng rng;
	struct tg_flow *flows;
	uint32_t *fwd;           /* flows with a target */
	uint32_t n_fwd;
	struct tg_gwstate *gws;
	uint32_t finish_next;    /* tg_finish() cursor */
	uint32_t cursor;         /* next flow when sequential */
	uint32_t weight_total;
	uint16_t ip_id;
	uint8_t payload[TG_FRAME_MAX];
	uint8_t l4[TG_FRAME_MAX];
};

static int __attribute__((format(printf, 2, 3)))
fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tg_err, sizeof(tg_err), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

static uint32_t
client_addr(const struct tg *g, uint32_t idx)
{
	/* hosts 1..n of the client network, in order: RSS mixes them anyway */
	return htonl(ntohl(g->c.client_net) + 1 + idx);
}

/* A target of @p rule: weighted among the highest priority set in use. */
static uint32_t
pick_target(const struct tg_rule *rule, struct tg_rng *r)
{
	uint32_t best = 0, total = 0, x, i;
	bool any = false;

	for (i = 0; i < rule->n_targets; i++) {
		if (rule->targets[i].weight == 0)
			continue;
		if (!any || rule->targets[i].priority > best)
			best = rule->targets[i].priority;
		any = true;
	}
	for (i = 0; i < rule->n_targets; i++)
		if (rule->targets[i].weight != 0 && rule->targets[i].priority == best)
			total += rule->targets[i].weight;
	x = tg_rng_below(r, total);
	for (i = 0; i < rule->n_targets; i++) {
		if (rule->targets[i].weight == 0 || rule->targets[i].priority != best)
			continue;
		if (x < rule->targets[i].weight)
			return rule->targets[i].addr;
		x -= rule->targets[i].weight;
	}
	return rule->targets[0].addr;
}

static bool
kind_used(const struct tg_conf *c, enum tg_kind k)
{
	return c->weight[k] != 0;
}

static int
check_conf(const struct tg_conf *c, uint32_t *eligible, uint32_t *n_eligible)
{
	static const enum tg_kind map_kinds[] = {
		TG_KIND_SYN, TG_KIND_MISS, TG_KIND_ACK, TG_KIND_DATA_C2S, TG_KIND_DATA_S2C,
		TG_KIND_RSYN,
	};
	uint32_t total = 0, hosts, i, n = 0;
	bool need_map = false;
	const struct tg_rule *rule;

	for (i = 0; i < TG_KIND_MAX; i++)
		total += c->weight[i];
	if (total == 0)
		return fail(EINVAL, "no packet kind has a weight");
	if (c->topo == NULL || c->topo->n_ports == 0 || c->topo->n_ports > TG_MAX_PORTS)
		return fail(EINVAL, "the topology needs 1..8 router ports");
	if (c->transport != SAL_PROTO_TCP && c->transport != SAL_PROTO_UDP)
		return fail(EINVAL, "transport must be TCP (6) or UDP (17)");
	if (c->n_flows == 0 || c->n_clients == 0)
		return fail(EINVAL, "flows and clients must be at least 1");
	if (c->client_bits < 1 || c->client_bits > 30)
		return fail(EINVAL, "the client network must be /1../30");
	hosts = (uint32_t)((1ull << (32 - c->client_bits)) - 2);
	if (c->n_clients > hosts)
		return fail(EINVAL, "more clients than addresses in the client network");
	if ((kind_used(c, TG_KIND_RSYN) || kind_used(c, TG_KIND_GW_RSYN)) && c->n_clients < 2)
		return fail(EINVAL, "RSYN kinds need at least 2 client addresses");
	if (c->sizes.n == 0 && (c->sizes.lo < TG_SIZE_MIN || c->sizes.hi > TG_SIZE_MAX ||
				c->sizes.hi < c->sizes.lo))
		return fail(EINVAL, "bad size range");
	for (i = 0; i < c->sizes.n; i++)
		if (c->sizes.size[i] < TG_SIZE_MIN || c->sizes.size[i] > TG_SIZE_MAX ||
				c->sizes.weight[i] == 0)
			return fail(EINVAL, "bad size list");
	for (i = 0; i < TG_DIM(map_kinds); i++)
		need_map |= kind_used(c, map_kinds[i]);
	if (need_map && c->map == NULL)
		return fail(EINVAL, "SYN, miss and transit kinds need a service map");
	if ((kind_used(c, TG_KIND_GW_DATA_C2S) || kind_used(c, TG_KIND_GW_DATA_S2C) ||
				kind_used(c, TG_KIND_GW_RSYN)) && c->n_gw == 0)
		return fail(EINVAL, "gateway kinds need a flow map (ssr-blast --handshake)");
	if (!need_map)
		return 0;
	for (i = 0; i < tg_svcmap_count(c->map); i++) {
		rule = tg_svcmap_rule(c->map, i);
		if (c->syn_rules & TG_RULE_BIT(rule->kind))
			eligible[n++] = i;
	}
	*n_eligible = n;
	if (kind_used(c, TG_KIND_MISS)) {
		struct sal_service_id probe;
		struct tg_rng r;

		/* a private PRNG: the packet sequence must not depend on this probe */
		tg_rng_seed(&r, c->seed ^ 0x6d697373u);
		if (tg_svcmap_draw_miss(c->map, &r, &probe) != 0)
			return fail(ENOENT, "no serviceID misses every rule (a 0/0 rule?)");
	}
	if (n == 0 && (kind_used(c, TG_KIND_SYN) || kind_used(c, TG_KIND_ACK) ||
				kind_used(c, TG_KIND_DATA_C2S) || kind_used(c, TG_KIND_DATA_S2C) ||
				kind_used(c, TG_KIND_RSYN)))
		return fail(EINVAL, "no rule of the chosen kinds in the service map");
	for (i = 0; i < c->n_clients; i++) {
		uint32_t a = htonl(ntohl(c->client_net) + 1 + i);

		if (tg_topo_facing(c->topo, a) < 0)
			return fail(EINVAL, "client addresses are not routable (no subnet, "
					"no gateway)");
	}
	return 0;
}

static int
make_flows(struct tg *g, const uint32_t *eligible, uint32_t n_eligible)
{
	const struct tg_rule *rule;
	struct tg_flow *f;
	uint32_t i, t;
	int ret = -ENOENT;

	g->flows = calloc(g->c.n_flows, sizeof(*g->flows));
	g->fwd = calloc(g->c.n_flows, sizeof(*g->fwd));
	if (g->flows == NULL || g->fwd == NULL)
		return fail(ENOMEM, "out of memory for flows");
	for (i = 0; i < g->c.n_flows; i++) {
		f = &g->flows[i];
		f->client_idx = tg_rng_below(&g->rng, g->c.n_clients);
		f->client_flowid = rng_nonzero32(&g->rng);
		f->instance_flowid = rng_nonzero32(&g->rng);
		f->isn = (uint32_t)tg_rng_next(&g->rng);
		f->inst_isn = (uint32_t)tg_rng_next(&g->rng);
		f->seq = (uint32_t)tg_rng_next(&g->rng);
		f->inst_seq = (uint32_t)tg_rng_next(&g->rng);
		for (t = 0; t < SAL_NONCE_LEN; t++)
			f->nonce[t] = (uint8_t)tg_rng_next(&g->rng);
		f->rule = -1;
		if (n_eligible == 0)
			continue;
		for (t = 0; t < TG_RULE_TRIES; t++) {
			f->rule = (int32_t)eligible[tg_rng_below(&g->rng, n_eligible)];
			ret = tg_svcmap_draw_hit(g->c.map, (uint32_t)f->rule, &g->rng, &f->sid);
			if (ret == 0)
				break;
		}
		if (ret != 0)
			return fail(ENOENT, "no serviceID lands on rule %d: longer prefixes "
					"cover it (shadowed)", f->rule);
		rule = tg_svcmap_rule(g->c.map, (uint32_t)f->rule);
		if (rule->n_targets != 0) {
			f->target = pick_target(rule, &g->rng);
			if (tg_topo_facing(g->c.topo, f->target) < 0)
				return fail(EINVAL, "a target is not routable (no subnet, no "
						"gateway)");
			g->fwd[g->n_fwd++] = i;
		}
	}
	if (g->n_fwd == 0 && (kind_used(&g->c, TG_KIND_ACK) ||
				kind_used(&g->c, TG_KIND_DATA_C2S) ||
				kind_used(&g->c, TG_KIND_DATA_S2C) || kind_used(&g->c, TG_KIND_RSYN)))
		return fail(EINVAL, "transit kinds need flows to forward rules (with "
				"targets) among the SYN rule kinds");
	return 0;
}

struct tg *
tg_create(const struct tg_conf *c)
{
	uint32_t *eligible = NULL, n_eligible = 0, i;
	struct tg *g;

	tg_err[0] = '\0';
	if (c == NULL) {
		fail(EINVAL, "no configuration");
		return NULL;
	}
	if (c->map != NULL) {
		eligible = calloc(tg_svcmap_count(c->map) + 1, sizeof(*eligible));
		if (eligible == NULL) {
			fail(ENOMEM, "out of memory");
			return NULL;
		}
	}
	if (check_conf(c, eligible, &n_eligible) != 0) {
		free(eligible);
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		free(eligible);
		fail(ENOMEM, "out of memory");
		return NULL;
	}
	g->c = *c;
	tg_rng_seed(&g->rng, c->seed);
	for (i = 0; i < TG_KIND_MAX; i++)
		g->weight_total += c->weight[i];
	for (i = 0; i < sizeof(g->payload); i++)
		g->payload[i] = (uint8_t)(i * 7 + 0x20);
	if (make_flows(g, eligible, n_eligible) != 0)
		goto fail;
	free(eligible);
	eligible = NULL;
	if (c->n_gw != 0) {
		g->gws = calloc(c->n_gw, sizeof(*g->gws));
		if (g->gws == NULL) {
			fail(ENOMEM, "out of memory");
			goto fail;
		}
		for (i = 0; i < c->n_gw; i++) {
			if (tg_topo_facing(c->topo, c->gw[i].client_ip) < 0 ||
					tg_topo_facing(c->topo, c->gw[i].target) < 0) {
				fail(EINVAL, "a flow-map address is not routable");
				goto fail;
			}
			g->gws[i].cur_ip = c->gw[i].client_ip;
			g->gws[i].verno = (uint32_t)tg_rng_next(&g->rng);
		}
	}
	return g;
fail:
	free(eligible);
	tg_free(g);
	return NULL;
}

void
tg_free(struct tg *g)
{
	if (g == NULL)
		return;
	free(g->flows);
	free(g->fwd);
	free(g->gws);
	free(g);
}

/* What one packet is, before it becomes bytes. */
struct tg_spec {
	uint32_t src, dst;           /* network order */
	uint32_t src_flowid, dst_flowid;
	uint8_t ctrl_flags;          /* 0: no CONTROL extension */
	uint32_t verno, ackno;
	const uint8_t *nonce;
	const struct sal_service_id *sid; /* NULL: no SERVICE extension */
	uint8_t tcp_flags;
	uint32_t tcp_seq, tcp_ack;
	uint32_t *seq_advance;       /* add the payload length here */
	int port;                    /* router port the frame enters */
	const uint8_t *l2_src;
	uint32_t flow;
};

static int
emit(struct tg *g, const struct tg_spec *s, uint32_t wire_size, uint8_t *buf, uint32_t cap)
{
	const struct tg_topo *t = g->c.topo;
	struct sal_msg m;
	uint32_t l4h = g->c.transport == SAL_PROTO_TCP ? TCP_HLEN : UDP_HLEN;
	uint32_t shl_bytes, hdr, want, pay;
	int len;

	sal_msg_init(&m);
	m.ip_src = s->src;
	m.ip_dst = s->dst;
	m.ip_id = g->ip_id++;
	m.ip_proto = t->sal_proto;
	m.src_flowid = s->src_flowid;
	m.dst_flowid = s->dst_flowid;
	m.proto = g->c.transport;
	if (s->ctrl_flags != 0) {
		struct sal_ext_spec *e = &m.ext[m.n_ext++];

		e->type = SAL_EXT_CONTROL;
		e->u.control.flags = s->ctrl_flags;
		e->u.control.verno = s->verno;
		e->u.control.ackno = s->ackno;
		memcpy(e->u.control.nonce, s->nonce, SAL_NONCE_LEN);
	}
	if (s->sid != NULL) {
		struct sal_ext_spec *e = &m.ext[m.n_ext++];

		e->type = SAL_EXT_SERVICE;
		e->u.service = *s->sid;
	}
	shl_bytes = SAL_BASE_LEN + (s->ctrl_flags != 0 ? SAL_CONTROL_EXT_LEN : 0) +
		(s->sid != NULL ? SAL_SERVICE_EXT_LEN : 0);
	hdr = ETH_HLEN + 20 + shl_bytes + l4h;
	want = wire_size - ETH_FCS;
	if (want < ETH_MIN_FRAME)
		want = ETH_MIN_FRAME;
	pay = want > hdr ? want - hdr : 0;
	if (hdr + pay > TG_FRAME_MAX)
		pay = TG_FRAME_MAX - hdr;

	memset(g->l4, 0, l4h);
	if (g->c.transport == SAL_PROTO_TCP) {
		uint32_t seq = htonl(s->tcp_seq), ack = htonl(s->tcp_ack);

		/* SAL demultiplexes by flowID: TCP ports are always 0 */
		memcpy(g->l4 + 4, &seq, 4);
		memcpy(g->l4 + 8, &ack, 4);
		g->l4[12] = 5 << 4;
		g->l4[13] = s->tcp_flags;
		g->l4[14] = 0xff;
		g->l4[15] = 0xff;
	} else {
		g->l4[4] = (uint8_t)((UDP_HLEN + pay) >> 8);
		g->l4[5] = (uint8_t)(UDP_HLEN + pay);
	}
	memcpy(g->l4 + l4h, g->payload, pay);
	m.l4 = g->l4;
	m.l4_len = l4h + pay;
	if (s->seq_advance != NULL)
		*s->seq_advance += pay;

	if (cap < ETH_HLEN)
		return -ENOSPC;
	len = sal_build(&m, buf + ETH_HLEN, cap - ETH_HLEN);
	if (len < 0)
		return len;
	memcpy(buf, t->port[s->port].mac, 6);
	memcpy(buf + 6, s->l2_src, 6);
	buf[12] = 0x08;
	buf[13] = 0x00;
	return len + ETH_HLEN;
}

/* A flow index below @p n: the next in order, or a random one. */
static uint32_t
pick(struct tg *g, uint32_t n)
{
	if (g->c.sequential)
		return g->cursor++ % n;
	return tg_rng_below(&g->rng, n);
}

static enum tg_kind
draw_kind(struct tg *g)
{
	uint32_t x = tg_rng_below(&g->rng, g->weight_total), k;

	for (k = 0; k < TG_KIND_MAX; k++) {
		if (x < g->c.weight[k])
			return (enum tg_kind)k;
		x -= g->c.weight[k];
	}
	return TG_KIND_SYN;
}

/* A client address other than @p cur. */
static uint32_t
other_client(struct tg *g, uint32_t cur)
{
	uint32_t a = client_addr(g, tg_rng_below(&g->rng, g->c.n_clients));

	if (a == cur)
		a = client_addr(g, (ntohl(a) - ntohl(g->c.client_net)) % g->c.n_clients);
	return a;
}

/* Fill @p s for a client-side packet of the resolve world. */
static void
client_side(struct tg *g, struct tg_spec *s, uint32_t src, uint32_t dst)
{
	s->src = src;
	s->dst = dst;
	s->port = tg_topo_facing(g->c.topo, src);
	s->l2_src = l2_source(g->c.topo, src);
}

int
tg_next(struct tg *g, uint8_t *buf, uint32_t cap, struct tg_meta *meta)
{
	const struct tg_topo *t = g->c.topo;
	enum tg_kind k = draw_kind(g);
	uint32_t size, fi = 0, cli;
	struct sal_service_id miss;
	struct tg_spec s;
	struct tg_flow *f;
	int32_t rule = -1;
	int len;

	memset(&s, 0, sizeof(s));
	switch (k) {
	case TG_KIND_SYN:
	case TG_KIND_MISS:
		fi = pick(g, g->c.n_flows);
		f = &g->flows[fi];
		cli = client_addr(g, f->client_idx);
		client_side(g, &s, cli, t->port[tg_topo_facing(t, cli)].addr);
		s.src_flowid = f->client_flowid;
		s.ctrl_flags = SAL_CTRL_SYN;
		s.verno = f->isn;
		s.nonce = f->nonce;
		s.tcp_flags = TCP_F_SYN;
		s.tcp_seq = f->seq;
		if (k == TG_KIND_SYN) {
			s.sid = &f->sid;
			rule = f->rule;
		} else {
			if (tg_svcmap_draw_miss(g->c.map, &g->rng, &miss) != 0) {
				/* checked possible at create; a map this dense is a misuse */
				errno = ENOENT;
				return -ENOENT;
			}
			s.sid = &miss;
		}
		break;
	case TG_KIND_ACK:
	case TG_KIND_DATA_C2S:
	case TG_KIND_RSYN:
		fi = g->fwd[pick(g, g->n_fwd)];
		f = &g->flows[fi];
		cli = client_addr(g, f->client_idx);
		if (k == TG_KIND_RSYN)
			cli = other_client(g, cli);
		client_side(g, &s, cli, f->target);
		s.src_flowid = f->client_flowid;
		s.dst_flowid = f->instance_flowid;
		s.tcp_seq = f->seq;
		s.tcp_ack = f->inst_seq;
		s.nonce = f->nonce;
		if (k == TG_KIND_ACK) {
			s.ctrl_flags = SAL_CTRL_ACK;
			s.verno = f->isn + 1;
			s.ackno = f->inst_isn + 1;
			s.sid = &f->sid;
			s.tcp_flags = TCP_F_ACK;
		} else if (k == TG_KIND_RSYN) {
			s.ctrl_flags = SAL_CTRL_RSYN;
			s.verno = f->isn + 2;
			s.ackno = f->inst_isn + 1;
			s.tcp_flags = TCP_F_ACK;
		} else {
			s.tcp_flags = TCP_F_ACK | TCP_F_PSH;
			s.seq_advance = &f->seq;
		}
		break;
	case TG_KIND_DATA_S2C:
		fi = g->fwd[pick(g, g->n_fwd)];
		f = &g->flows[fi];
		s.src = f->target;
		s.dst = client_addr(g, f->client_idx);
		s.port = tg_topo_facing(t, s.src);
		s.l2_src = l2_source(t, s.src);
		s.src_flowid = f->instance_flowid;
		s.dst_flowid = f->client_flowid;
		s.tcp_flags = TCP_F_ACK | TCP_F_PSH;
		s.tcp_seq = f->inst_seq;
		s.tcp_ack = f->seq;
		s.seq_advance = &f->inst_seq;
		break;
	case TG_KIND_GW_DATA_C2S:
	case TG_KIND_GW_RSYN: {
		const struct tg_gwflow *gf;
		struct tg_gwstate *st;

		fi = pick(g, g->c.n_gw);
		gf = &g->c.gw[fi];
		st = &g->gws[fi];
		if (k == TG_KIND_GW_RSYN) {
			st->cur_ip = other_client(g, st->cur_ip);
			s.ctrl_flags = SAL_CTRL_RSYN;
			s.verno = st->verno++;
			s.nonce = gf->nonce;
		}
		client_side(g, &s, st->cur_ip, t->port[tg_topo_facing(t, st->cur_ip)].addr);
		s.src_flowid = gf->client_flowid;
		s.dst_flowid = htonl(gf->rfid);
		s.tcp_flags = TCP_F_ACK | (k == TG_KIND_GW_RSYN ? 0 : TCP_F_PSH);
		break;
	}
	case TG_KIND_GW_DATA_S2C: {
		const struct tg_gwflow *gf;

		fi = pick(g, g->c.n_gw);
		gf = &g->c.gw[fi];
		s.src = gf->target;
		s.port = tg_topo_facing(t, s.src);
		s.dst = t->port[s.port].addr;
		s.l2_src = l2_source(t, s.src);
		s.src_flowid = gf->instance_flowid;
		s.dst_flowid = htonl(gf->rfid | 1);
		s.tcp_flags = TCP_F_ACK | TCP_F_PSH;
		break;
	}
	default:
		errno = EINVAL;
		return -EINVAL;
	}
	size = draw_size(&g->c.sizes, &g->rng);
	len = emit(g, &s, size, buf, cap);
	if (len < 0)
		return len;
	if (meta != NULL) {
		meta->kind = (uint8_t)k;
		meta->port = (uint8_t)s.port;
		meta->rule = rule;
		meta->flow = fi;
		meta->len = (uint32_t)len;
	}
	return len;
}

int
tg_finish(struct tg *g, uint8_t *buf, uint32_t cap, struct tg_meta *meta)
{
	const struct tg_topo *t = g->c.topo;
	const struct tg_gwflow *gf;
	struct tg_gwstate *st;
	struct tg_spec s;
	int len;

	while (g->finish_next < g->c.n_gw &&
			g->gws[g->finish_next].cur_ip == g->c.gw[g->finish_next].client_ip)
		g->finish_next++;
	if (g->finish_next >= g->c.n_gw)
		return 0;
	gf = &g->c.gw[g->finish_next];
	st = &g->gws[g->finish_next];
	memset(&s, 0, sizeof(s));
	client_side(g, &s, gf->client_ip, t->port[tg_topo_facing(t, gf->client_ip)].addr);
	s.src_flowid = gf->client_flowid;
	s.dst_flowid = htonl(gf->rfid);
	s.ctrl_flags = SAL_CTRL_RSYN;
	s.verno = st->verno++;
	s.nonce = gf->nonce;
	s.tcp_flags = TCP_F_ACK;
	len = emit(g, &s, draw_size(&g->c.sizes, &g->rng), buf, cap);
	if (len < 0)
		return len;
	st->cur_ip = gf->client_ip;
	if (meta != NULL) {
		meta->kind = TG_KIND_GW_RSYN;
		meta->port = (uint8_t)s.port;
		meta->rule = -1;
		meta->flow = g->finish_next;
		meta->len = (uint32_t)len;
	}
	g->finish_next++;
	return len;
}
