/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * YAML service map -> struct ssr_config.
 *
 * libyaml's document API gives a node tree that keeps each node's start mark,
 * so every message can name file:line:column and the field path. The walk
 * never stops at the first problem: it records every error it can find and
 * only then decides, so an operator fixes a file in one pass. No DPDK here.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "sal.h"

/* Defaults, documented in config/README.md. */
#define SSR_DEF_RX_DESC 512
#define SSR_DEF_TX_DESC 512
#define SSR_DEF_SAL_PROTO 144
#define SSR_DEF_ARP_QUEUE 16
#define SSR_DEF_ARP_RETRY_MS 1000
#define SSR_DEF_ARP_LIFETIME_MS 300000
#define SSR_DEF_FLOWS_MAX 65536
#define SSR_DEF_FLOW_SYN_MS 5000
#define SSR_DEF_FLOW_EST_MS 300000
#define SSR_DEF_FLOW_CLOSING_MS 10000

#define PATH_MAX_LEN 128
#define DIM(a) (sizeof(a) / sizeof((a)[0]))

struct cfg_err {
	size_t line;
	size_t col;
	char *msg;
};

struct cfg_ctx {
	const char *name;
	yaml_document_t *doc;
	struct cfg_err *errs;
	unsigned int n_errs;
	unsigned int cap_errs;
	bool truncated;
	bool oom;
	/* ports had errors: subnet checks against them would only echo those */
	bool ports_bad;
};

/* Where each port / service came from, for cross-checks that run later. */
struct cfg_where {
	yaml_node_t *entry;
	yaml_node_t *key_node;   /* port id or prefix value */
	yaml_node_t *addr_node;  /* port address */
};

static void
cfg_add_err(struct cfg_ctx *c, size_t line, size_t col, char *msg)
{
	if (c->n_errs == SSR_CFG_MAX_ERRORS) {
		c->truncated = true;
		free(msg);
		return;
	}
	if (c->n_errs == c->cap_errs) {
		unsigned int cap = c->cap_errs == 0 ? 8 : c->cap_errs * 2;
		struct cfg_err *e = realloc(c->errs, cap * sizeof(*e));

		if (e == NULL) {
			c->oom = true;
			free(msg);
			return;
		}
		c->errs = e;
		c->cap_errs = cap;
	}
	c->errs[c->n_errs].line = line;
	c->errs[c->n_errs].col = col;
	c->errs[c->n_errs].msg = msg;
	c->n_errs++;
}

/*
 * A copy of @p s with control bytes written as C escapes (\n, \t, \xHH):
 * values are quoted verbatim and may hold newlines (block scalars), but every
 * message must stay one line for --check, the logs and a reload's reply.
 * NULL when out of memory.
 */
static char *
escape_controls(const char *s)
{
	const unsigned char *p;
	char *out, *o;

	out = malloc(strlen(s) * 4 + 1);
	if (out == NULL)
		return NULL;
	for (p = (const unsigned char *)s, o = out; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != 0x7f)
			*o++ = (char)*p;
		else if (*p == '\n')
			o += sprintf(o, "\\n");
		else if (*p == '\t')
			o += sprintf(o, "\\t");
		else if (*p == '\r')
			o += sprintf(o, "\\r");
		else
			o += sprintf(o, "\\x%02x", *p);
	}
	*o = '\0';
	return out;
}

static void __attribute__((format(printf, 4, 5)))
cfg_fail_at(struct cfg_ctx *c, yaml_mark_t mark, const char *path,
		const char *fmt, ...)
{
	char body[512];
	char *msg, *line;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (path != NULL && path[0] != '\0')
		r = asprintf(&msg, "%s:%zu:%zu: %s: %s", c->name, mark.line + 1,
				mark.column + 1, path, body);
	else
		r = asprintf(&msg, "%s:%zu:%zu: %s", c->name, mark.line + 1,
				mark.column + 1, body);
	if (r < 0) {
		c->oom = true;
		return;
	}
	line = escape_controls(msg);
	free(msg);
	if (line == NULL) {
		c->oom = true;
		return;
	}
	cfg_add_err(c, mark.line + 1, mark.column + 1, line);
}

#define cfg_fail(c, node, path, ...) \
	cfg_fail_at((c), (node)->start_mark, (path), __VA_ARGS__)

/* Paths longer than PATH_MAX_LEN are cut and end in "..." */
static void
path_fit(char *out, int r)
{
	if (r >= PATH_MAX_LEN)
		memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

static void
path_key(char *out, const char *path, const char *key)
{
	if (path[0] == '\0')
		path_fit(out, snprintf(out, PATH_MAX_LEN, "%s", key));
	else
		path_fit(out, snprintf(out, PATH_MAX_LEN, "%s.%s", path, key));
}

static void
path_idx(char *out, const char *path, unsigned int i)
{
	path_fit(out, snprintf(out, PATH_MAX_LEN, "%s[%u]", path, i));
}

static yaml_node_t *
node_at(struct cfg_ctx *c, int idx)
{
	return yaml_document_get_node(c->doc, idx);
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool
is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
			n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = scalar(n);
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* Describe what a node is, for "expected X, got Y" messages. */
static void
describe(const yaml_node_t *n, char *out, size_t len)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		snprintf(out, len, "a mapping");
		break;
	case YAML_SEQUENCE_NODE:
		snprintf(out, len, "a sequence");
		break;
	case YAML_SCALAR_NODE:
		if (is_null(n))
			snprintf(out, len, "nothing (null)");
		else if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			snprintf(out, len, "'%.60s'", scalar(n));
		else
			snprintf(out, len, "the quoted string \"%.60s\"", scalar(n));
		break;
	default:
		snprintf(out, len, "an empty node");
		break;
	}
}

static void
expected(struct cfg_ctx *c, const yaml_node_t *n, const char *path,
		const char *what)
{
	char got[96];

	describe(n, got, sizeof(got));
	cfg_fail(c, n, path, "expected %s, got %s", what, got);
}

/*
 * Collect the values of a mapping by key name. Keys must be plain scalars
 * from @keys; unknown and repeated keys are errors. vals[i] / knodes[i] stay
 * NULL for absent keys.
 */
static bool
cfg_map(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		const char *const keys[], unsigned int nkeys,
		yaml_node_t *vals[], yaml_node_t *knodes[])
{
	yaml_node_pair_t *p;
	unsigned int i;

	for (i = 0; i < nkeys; i++) {
		vals[i] = NULL;
		if (knodes != NULL)
			knodes[i] = NULL;
	}
	if (n->type != YAML_MAPPING_NODE) {
		expected(c, n, path, "a mapping");
		return false;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(c, p->key);
		yaml_node_t *v = node_at(c, p->value);
		char kp[PATH_MAX_LEN];

		if (k == NULL || v == NULL)
			continue;
		if (k->type != YAML_SCALAR_NODE) {
			cfg_fail(c, k, path, "keys must be plain strings");
			continue;
		}
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i], scalar(k)) == 0)
				break;
		path_key(kp, path, scalar(k));
		if (i == nkeys) {
			char list[256];
			size_t off = 0;
			unsigned int j;

			list[0] = '\0';
			for (j = 0; j < nkeys && off < sizeof(list); j++)
				off += snprintf(list + off, sizeof(list) - off,
						"%s%s", j ? ", " : "", keys[j]);
			cfg_fail(c, k, kp, "unknown key (expected one of: %s)", list);
			continue;
		}
		if (vals[i] != NULL) {
			yaml_node_t *first = knodes != NULL ? knodes[i] : vals[i];

			cfg_fail(c, k, kp, "duplicate key (first at line %zu)",
					first->start_mark.line + 1);
			continue;
		}
		vals[i] = v;
		if (knodes != NULL)
			knodes[i] = k;
	}
	return true;
}

static bool
cfg_require(struct cfg_ctx *c, yaml_node_t *map, const char *path,
		const char *key, const yaml_node_t *val)
{
	if (val != NULL)
		return true;
	if (path[0] == '\0')
		cfg_fail(c, map, "", "'%s' is required", key);
	else
		cfg_fail(c, map, path, "'%s' is required", key);
	return false;
}

/* A plain decimal integer, range-checked. */
static bool
cfg_int(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		long long min, long long max, long long *out)
{
	const char *s, *d;
	long long v;
	char *end;

	if (n->type != YAML_SCALAR_NODE ||
			n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
			is_null(n)) {
		expected(c, n, path, "an integer");
		return false;
	}
	s = scalar(n);
	d = s + (s[0] == '-' || s[0] == '+');
	if (*d == '\0' || strspn(d, "0123456789") != strlen(d)) {
		expected(c, n, path, "an integer");
		return false;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || v < min || v > max) {
		cfg_fail(c, n, path, "%s is outside %lld..%lld", s, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool
cfg_string(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		const char *what, const char **out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		expected(c, n, path, what);
		return false;
	}
	*out = scalar(n);
	return true;
}

static bool
parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	/* inet_pton takes exactly four decimal parts and no leading zeros */
	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

static uint32_t
mask_of(unsigned int len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

static bool
cfg_ipv4(struct cfg_ctx *c, yaml_node_t *n, const char *path, uint32_t *out)
{
	const char *s;

	if (!cfg_string(c, n, path, "an IPv4 address", &s))
		return false;
	if (!parse_ipv4(s, out)) {
		cfg_fail(c, n, path, "'%s' is not an IPv4 address (a.b.c.d)", s);
		return false;
	}
	return true;
}

static bool
cfg_unicast(struct cfg_ctx *c, yaml_node_t *n, const char *path, uint32_t *out)
{
	if (!cfg_ipv4(c, n, path, out))
		return false;
	if (!ssr_ipv4_is_unicast(*out)) {
		cfg_fail(c, n, path, "%s is not a unicast host address", scalar(n));
		return false;
	}
	return true;
}

/* "a.b.c.d/len"; host bits are the caller's business. */
static bool
cfg_cidr(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		unsigned int min_len, uint32_t *addr, uint8_t *len)
{
	char buf[32];
	const char *s, *slash;
	char *end;
	unsigned long l;

	if (!cfg_string(c, n, path, "an IPv4 prefix (a.b.c.d/len)", &s))
		return false;
	slash = strchr(s, '/');
	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf)) {
		cfg_fail(c, n, path, "'%s' is not an IPv4 prefix (a.b.c.d/len)", s);
		return false;
	}
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (!parse_ipv4(buf, addr)) {
		cfg_fail(c, n, path, "'%s' is not an IPv4 address (a.b.c.d)", buf);
		return false;
	}
	errno = 0;
	l = strtoul(slash + 1, &end, 10);
	if (slash[1] == '\0' || !isdigit((unsigned char)slash[1]) ||
			*end != '\0' || errno != 0 || l < min_len || l > 32) {
		cfg_fail(c, n, path, "prefix length '%s' is outside %u..32",
				slash + 1, min_len);
		return false;
	}
	*len = l;
	return true;
}

static bool
cfg_mac(struct cfg_ctx *c, yaml_node_t *n, const char *path, uint8_t mac[6])
{
	const char *s;
	unsigned int i;

	if (!cfg_string(c, n, path, "a MAC address", &s))
		return false;
	for (i = 0; i < 6; i++) {
		const char *p = s + i * 3;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
				p[2] != (i == 5 ? '\0' : ':'))
			break;
		mac[i] = strtoul((char[3]){ p[0], p[1], '\0' }, NULL, 16);
	}
	if (i != 6) {
		cfg_fail(c, n, path, "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", s);
		return false;
	}
	if ((mac[0] & 1) ||
			(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0) {
		cfg_fail(c, n, path, "%s is not a unicast MAC address", s);
		return false;
	}
	return true;
}

/* "<n>ms", "<n>s", "<n>m" or "<n>h", stored in milliseconds. */
static bool
cfg_duration(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		uint32_t min_ms, uint32_t max_ms, uint32_t *out)
{
	const char *s;
	char *end;
	unsigned long long v, mul;

	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		expected(c, n, path, "a duration (e.g. 500ms, 5s, 2m, 1h)");
		return false;
	}
	s = scalar(n);
	errno = 0;
	v = isdigit((unsigned char)s[0]) ? strtoull(s, &end, 10) : 0;
	if (!isdigit((unsigned char)s[0]) || errno != 0) {
		expected(c, n, path, "a duration (e.g. 500ms, 5s, 2m, 1h)");
		return false;
	}
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else {
		cfg_fail(c, n, path, "'%s' needs a unit: ms, s, m or h", s);
		return false;
	}
	if (v > max_ms / mul + 1 || v * mul < min_ms || v * mul > max_ms) {
		cfg_fail(c, n, path, "%s is outside %" PRIu32 "ms..%" PRIu32 "ms",
				s, min_ms, max_ms);
		return false;
	}
	*out = v * mul;
	return true;
}

static bool
cfg_seq(struct cfg_ctx *c, yaml_node_t *n, const char *path)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		expected(c, n, path, "a sequence");
		return false;
	}
	return true;
}

static unsigned int
seq_len(const yaml_node_t *n)
{
	return n->data.sequence.items.top - n->data.sequence.items.start;
}

static yaml_node_t *
seq_item(struct cfg_ctx *c, const yaml_node_t *n, unsigned int i)
{
	return node_at(c, n->data.sequence.items.start[i]);
}

/* ---- sections ---- */

static void
parse_ports(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg,
		struct cfg_where *where)
{
	static const char *const keys[] = {
		"port", "address", "mac", "rx_desc", "tx_desc",
	};
	unsigned int i, nitems;

	if (!cfg_seq(c, n, "ports"))
		return;
	nitems = seq_len(n);
	if (nitems == 0) {
		cfg_fail(c, n, "ports", "at least one port is required");
		return;
	}
	if (nitems > SSR_CFG_MAX_PORTS) {
		cfg_fail(c, n, "ports", "%u ports listed, at most %u", nitems,
				SSR_CFG_MAX_PORTS);
		return;
	}
	cfg->ports = calloc(nitems, sizeof(*cfg->ports));
	if (cfg->ports == NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < nitems; i++) {
		yaml_node_t *e = seq_item(c, n, i);
		yaml_node_t *v[DIM(keys)];
		struct ssr_cfg_port *p = &cfg->ports[cfg->n_ports];
		char path[PATH_MAX_LEN], kp[PATH_MAX_LEN];
		bool ok = true;
		long long x;

		path_idx(path, "ports", i);
		if (!cfg_map(c, e, path, keys, DIM(keys), v, NULL))
			continue;
		ok &= cfg_require(c, e, path, "port", v[0]);
		ok &= cfg_require(c, e, path, "address", v[1]);
		p->rx_desc = SSR_DEF_RX_DESC;
		p->tx_desc = SSR_DEF_TX_DESC;
		p->line = e->start_mark.line + 1;
		if (v[0] != NULL) {
			path_key(kp, path, "port");
			if (cfg_int(c, v[0], kp, 0, SSR_CFG_MAX_PORT_ID, &x))
				p->port_id = x;
			else
				ok = false;
		}
		if (v[1] != NULL) {
			path_key(kp, path, "address");
			if (cfg_cidr(c, v[1], kp, 1, &p->addr, &p->prefix_len)) {
				uint32_t m = mask_of(p->prefix_len);

				if (!ssr_ipv4_is_unicast(p->addr)) {
					cfg_fail(c, v[1], kp, "%s is not a unicast host address",
							scalar(v[1]));
					ok = false;
				} else if (p->prefix_len <= 30 &&
						((p->addr & ~m) == 0 || (p->addr & ~m) == ~m)) {
					cfg_fail(c, v[1], kp, "%s is the subnet's "
							"network or broadcast address",
							scalar(v[1]));
					ok = false;
				}
			} else {
				ok = false;
			}
		}
		if (v[2] != NULL) {
			path_key(kp, path, "mac");
			ok &= cfg_mac(c, v[2], kp, p->mac);
			p->has_mac = true;
		}
		if (v[3] != NULL) {
			path_key(kp, path, "rx_desc");
			if (cfg_int(c, v[3], kp, 64, 4096, &x))
				p->rx_desc = x;
			else
				ok = false;
		}
		if (v[4] != NULL) {
			path_key(kp, path, "tx_desc");
			if (cfg_int(c, v[4], kp, 64, 4096, &x))
				p->tx_desc = x;
			else
				ok = false;
		}
		if (!ok)
			continue;
		where[cfg->n_ports].entry = e;
		where[cfg->n_ports].key_node = v[0];
		where[cfg->n_ports].addr_node = v[1];
		cfg->n_ports++;
	}
}

/* Index of the port whose subnet holds @a, or -1. */
static int
port_for(const struct ssr_config *cfg, uint32_t a)
{
	unsigned int i;

	for (i = 0; i < cfg->n_ports; i++) {
		uint32_t m = mask_of(cfg->ports[i].prefix_len);

		if ((a & m) == (cfg->ports[i].addr & m))
			return i;
	}
	return -1;
}

static bool
is_router_addr(const struct ssr_config *cfg, uint32_t a)
{
	unsigned int i;

	for (i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].addr == a)
			return true;
	return false;
}

static void
check_ports(struct cfg_ctx *c, struct ssr_config *cfg, struct cfg_where *where)
{
	unsigned int i, j;

	for (i = 1; i < cfg->n_ports; i++) {
		for (j = 0; j < i; j++) {
			struct ssr_cfg_port *a = &cfg->ports[i], *b = &cfg->ports[j];
			uint8_t len = a->prefix_len < b->prefix_len ?
				a->prefix_len : b->prefix_len;
			char path[PATH_MAX_LEN], kp[PATH_MAX_LEN];
			snprintf(path, sizeof(path), "ports[%u]", i);
			if (a->port_id == b->port_id) {
				path_key(kp, path, "port");
				cfg_fail(c, where[i].key_node, kp,
						"duplicate port %u (first at line %u)",
						a->port_id, b->line);
				break;
			}
			if (((a->addr ^ b->addr) & mask_of(len)) == 0) {
				path_key(kp, path, "address");
				cfg_fail(c, where[i].addr_node, kp,
						"subnet overlaps port %u's (line %u)",
						b->port_id, b->line);
				break;
			}
		}
	}
}

static void
parse_neighbors(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg)
{
	static const char *const keys[] = { "ip", "mac" };
	unsigned int i, nitems;

	if (!cfg_seq(c, n, "neighbors"))
		return;
	nitems = seq_len(n);
	if (nitems == 0)
		return;
	cfg->neighbors = calloc(nitems, sizeof(*cfg->neighbors));
	if (cfg->neighbors == NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < nitems; i++) {
		yaml_node_t *e = seq_item(c, n, i);
		yaml_node_t *v[2];
		struct ssr_cfg_neighbor *nb = &cfg->neighbors[cfg->n_neighbors];
		char path[PATH_MAX_LEN], kp[PATH_MAX_LEN];
		bool ok = true;
		unsigned int j;

		path_idx(path, "neighbors", i);
		if (!cfg_map(c, e, path, keys, 2, v, NULL))
			continue;
		ok &= cfg_require(c, e, path, "ip", v[0]);
		ok &= cfg_require(c, e, path, "mac", v[1]);
		if (v[0] != NULL) {
			path_key(kp, path, "ip");
			if (!cfg_unicast(c, v[0], kp, &nb->ip)) {
				ok = false;
			} else if (!c->ports_bad && port_for(cfg, nb->ip) < 0) {
				cfg_fail(c, v[0], kp, "%s is not in a connected subnet",
						scalar(v[0]));
				ok = false;
			} else if (is_router_addr(cfg, nb->ip)) {
				cfg_fail(c, v[0], kp, "%s is the router's own address",
						scalar(v[0]));
				ok = false;
			} else {
				for (j = 0; j < cfg->n_neighbors; j++) {
					if (cfg->neighbors[j].ip == nb->ip) {
						cfg_fail(c, v[0], kp, "duplicate neighbour %s",
								scalar(v[0]));
						ok = false;
						break;
					}
				}
			}
		}
		if (v[1] != NULL) {
			path_key(kp, path, "mac");
			ok &= cfg_mac(c, v[1], kp, nb->mac);
		}
		if (ok)
			cfg->n_neighbors++;
	}
}

/* Reachable: in a connected subnet, or there is a gateway to send it to. */
static bool
check_reachable(struct cfg_ctx *c, const struct ssr_config *cfg,
		yaml_node_t *n, const char *path, uint32_t a)
{
	if (is_router_addr(cfg, a)) {
		cfg_fail(c, n, path, "%s is the router's own address", scalar(n));
		return false;
	}
	if (port_for(cfg, a) < 0 && !cfg->has_gateway && !c->ports_bad) {
		cfg_fail(c, n, path,
				"%s is not in a connected subnet and no gateway is set",
				scalar(n));
		return false;
	}
	return true;
}

static void
parse_sal(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg)
{
	static const char *const keys[] = { "ip_protocol" };
	yaml_node_t *v[1];
	long long x;

	if (!cfg_map(c, n, "sal", keys, 1, v, NULL))
		return;
	if (v[0] != NULL) {
		if (!cfg_int(c, v[0], "sal.ip_protocol", 1, 254, &x))
			return;
		if (x == 1 || x == 6 || x == 17) {
			cfg_fail(c, v[0], "sal.ip_protocol",
					"%lld is ICMP, TCP or UDP, not a SAL protocol", x);
			return;
		}
		cfg->sal_ip_protocol = x;
	}
}

static void
parse_arp(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg)
{
	static const char *const keys[] = { "queue", "retry", "lifetime" };
	yaml_node_t *v[3];
	long long x;

	if (!cfg_map(c, n, "arp", keys, 3, v, NULL))
		return;
	if (v[0] != NULL && cfg_int(c, v[0], "arp.queue", 0, 1024, &x))
		cfg->arp.queue = x;
	if (v[1] != NULL)
		cfg_duration(c, v[1], "arp.retry", 10, 60000, &cfg->arp.retry_ms);
	if (v[2] != NULL)
		cfg_duration(c, v[2], "arp.lifetime", 1000, 86400000,
				&cfg->arp.lifetime_ms);
}

static void
parse_flows(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg)
{
	static const char *const keys[] = { "max", "timeouts" };
	static const char *const tkeys[] = { "syn", "established", "closing" };
	yaml_node_t *v[2], *t[3];
	long long x;

	if (!cfg_map(c, n, "flows", keys, 2, v, NULL))
		return;
	if (v[0] != NULL && cfg_int(c, v[0], "flows.max", 1, 1 << 24, &x))
		cfg->flows.max = x;
	if (v[1] == NULL || !cfg_map(c, v[1], "flows.timeouts", tkeys, 3, t, NULL))
		return;
	if (t[0] != NULL)
		cfg_duration(c, t[0], "flows.timeouts.syn", 100, 3600000,
				&cfg->flows.syn_timeout_ms);
	if (t[1] != NULL)
		cfg_duration(c, t[1], "flows.timeouts.established", 1000, 86400000,
				&cfg->flows.established_timeout_ms);
	if (t[2] != NULL)
		cfg_duration(c, t[2], "flows.timeouts.closing", 100, 3600000,
				&cfg->flows.closing_timeout_ms);
}

static bool
cfg_id_list(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		uint32_t **out, unsigned int *nout)
{
	unsigned int i, nitems;

	if (!cfg_seq(c, n, path))
		return false;
	nitems = seq_len(n);
	if (nitems == 0)
		return true;
	*out = calloc(nitems, sizeof(**out));
	if (*out == NULL) {
		c->oom = true;
		return false;
	}
	for (i = 0; i < nitems; i++) {
		char ip[PATH_MAX_LEN];
		long long x;

		path_idx(ip, path, i);
		if (cfg_int(c, seq_item(c, n, i), ip, 0, UINT32_MAX - 1, &x))
			(*out)[(*nout)++] = x;
	}
	return true;
}

static void
parse_mgmt(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg)
{
	static const char *const keys[] = { "socket", "allow_uids", "allow_gids" };
	yaml_node_t *v[3];
	const char *s;
	uint32_t *ids = NULL;
	unsigned int nids = 0, i;

	if (!cfg_map(c, n, "management", keys, 3, v, NULL))
		return;
	cfg->mgmt.enabled = true;
	if (v[0] != NULL && cfg_string(c, v[0], "management.socket", "a path", &s)) {
		if (s[0] != '/' || strlen(s) >= 108) {
			cfg_fail(c, v[0], "management.socket",
					"'%s' must be an absolute path under 108 bytes", s);
		} else {
			free(cfg->mgmt.socket);
			cfg->mgmt.socket = strdup(s);
			if (cfg->mgmt.socket == NULL)
				c->oom = true;
		}
	}
	if (v[1] != NULL && cfg_id_list(c, v[1], "management.allow_uids",
				&ids, &nids)) {
		cfg->mgmt.allow_uids = calloc(nids + 1, sizeof(uid_t));
		if (cfg->mgmt.allow_uids == NULL)
			c->oom = true;
		else
			for (i = 0; i < nids; i++)
				cfg->mgmt.allow_uids[cfg->mgmt.n_allow_uids++] = ids[i];
	}
	free(ids);
	ids = NULL;
	nids = 0;
	if (v[2] != NULL && cfg_id_list(c, v[2], "management.allow_gids",
				&ids, &nids)) {
		cfg->mgmt.allow_gids = calloc(nids + 1, sizeof(gid_t));
		if (cfg->mgmt.allow_gids == NULL)
			c->oom = true;
		else
			for (i = 0; i < nids; i++)
				cfg->mgmt.allow_gids[cfg->mgmt.n_allow_gids++] = ids[i];
	}
	free(ids);
}

static void
parse_registration(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg)
{
	static const char *const keys[] = { "allow" };
	yaml_node_t *v[1];
	unsigned int i, nitems;

	if (!cfg_map(c, n, "registration", keys, 1, v, NULL))
		return;
	cfg->registration.enabled = true;
	if (!cfg_require(c, n, "registration", "allow", v[0]) ||
			!cfg_seq(c, v[0], "registration.allow"))
		return;
	nitems = seq_len(v[0]);
	if (nitems == 0)
		return;
	cfg->registration.allow = calloc(nitems, sizeof(*cfg->registration.allow));
	if (cfg->registration.allow == NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < nitems; i++) {
		struct ssr_cfg_ipv4_prefix *p =
			&cfg->registration.allow[cfg->registration.n_allow];
		yaml_node_t *e = seq_item(c, v[0], i);
		char path[PATH_MAX_LEN];

		path_idx(path, "registration.allow", i);
		if (!cfg_cidr(c, e, path, 0, &p->addr, &p->len))
			continue;
		if (p->addr & ~mask_of(p->len)) {
			cfg_fail(c, e, path, "%s has bits set beyond /%u", scalar(e),
					p->len);
			continue;
		}
		cfg->registration.n_allow++;
	}
}

static bool
parse_enum(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		const char *const names[], unsigned int nnames, const char *list,
		unsigned int *out)
{
	unsigned int i;

	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		for (i = 0; i < nnames; i++) {
			if (strcmp(scalar(n), names[i]) == 0) {
				*out = i;
				return true;
			}
		}
		cfg_fail(c, n, path, "'%s' is not one of: %s", scalar(n), list);
		return false;
	}
	expected(c, n, path, list);
	return false;
}

static const char *const action_names[] = {
	[SSR_ACTION_FORWARD] = "forward",
	[SSR_ACTION_LOCAL] = "local",
	[SSR_ACTION_DELAY] = "delay",
	[SSR_ACTION_DROP] = "drop",
};

static const char *const mode_names[] = {
	[SSR_MODE_RESOLVE] = "resolve",
	[SSR_MODE_GATEWAY] = "gateway",
};

const char *
ssr_action_name(enum ssr_action a)
{
	return (unsigned int)a < DIM(action_names) ?
		action_names[a] : "?";
}

const char *
ssr_mode_name(enum ssr_mode m)
{
	return (unsigned int)m < DIM(mode_names) ? mode_names[m] : "?";
}

static void
parse_targets(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		const struct ssr_config *cfg, struct ssr_cfg_service *svc)
{
	static const char *const keys[] = { "address", "weight", "priority" };
	unsigned int i, j, nitems;
	bool any_weight = false;

	if (!cfg_seq(c, n, path))
		return;
	nitems = seq_len(n);
	if (nitems == 0) {
		cfg_fail(c, n, path, "action forward needs at least one target");
		return;
	}
	if (nitems > SSR_CFG_MAX_TARGETS) {
		cfg_fail(c, n, path, "%u targets listed, at most %u", nitems,
				SSR_CFG_MAX_TARGETS);
		return;
	}
	svc->targets = calloc(nitems, sizeof(*svc->targets));
	if (svc->targets == NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < nitems; i++) {
		yaml_node_t *e = seq_item(c, n, i);
		struct ssr_cfg_target *t = &svc->targets[svc->n_targets];
		char tp[PATH_MAX_LEN], kp[PATH_MAX_LEN];
		yaml_node_t *v[3];
		bool ok = true;
		long long x;

		path_idx(tp, path, i);
		if (!cfg_map(c, e, tp, keys, 3, v, NULL))
			continue;
		t->weight = 1;
		t->priority = 0;
		ok &= cfg_require(c, e, tp, "address", v[0]);
		if (v[0] != NULL) {
			path_key(kp, tp, "address");
			if (!cfg_unicast(c, v[0], kp, &t->addr) ||
					!check_reachable(c, cfg, v[0], kp, t->addr)) {
				ok = false;
			} else {
				for (j = 0; j < svc->n_targets; j++) {
					if (svc->targets[j].addr == t->addr) {
						cfg_fail(c, v[0], kp, "duplicate target %s",
								scalar(v[0]));
						ok = false;
						break;
					}
				}
			}
		}
		if (v[1] != NULL) {
			path_key(kp, tp, "weight");
			if (cfg_int(c, v[1], kp, 0, UINT16_MAX, &x))
				t->weight = x;
			else
				ok = false;
		}
		if (v[2] != NULL) {
			path_key(kp, tp, "priority");
			if (cfg_int(c, v[2], kp, 0, UINT16_MAX, &x))
				t->priority = x;
			else
				ok = false;
		}
		if (!ok)
			continue;
		any_weight |= t->weight > 0;
		svc->n_targets++;
	}
	if (svc->n_targets == nitems && !any_weight)
		cfg_fail(c, n, path,
				"every target has weight 0; at least one needs a weight > 0");
}

static void
parse_delay(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		struct ssr_cfg_service *svc)
{
	static const char *const keys[] = { "queue", "timeout_ms" };
	char kp[PATH_MAX_LEN];
	yaml_node_t *v[2];
	long long x;

	if (!cfg_map(c, n, path, keys, 2, v, NULL))
		return;
	if (v[0] != NULL) {
		path_key(kp, path, "queue");
		if (cfg_int(c, v[0], kp, 1, SSR_CFG_DELAY_MAX_QUEUE, &x))
			svc->delay_queue = x;
	}
	if (v[1] != NULL) {
		path_key(kp, path, "timeout_ms");
		if (cfg_int(c, v[1], kp, 1, SSR_CFG_DELAY_MAX_TIMEOUT_MS, &x))
			svc->delay_timeout_ms = x;
	}
}

static const char *const policy_names[] = {
	[SSR_HEALTH_KEEP] = "keep",
	[SSR_HEALTH_RESET] = "reset",
};

const char *
ssr_health_policy_name(enum ssr_health_policy p)
{
	return (unsigned int)p < DIM(policy_names) ? policy_names[p] : "?";
}

void
ssr_cfg_health_defaults(struct ssr_cfg_health *h)
{
	memset(h, 0, sizeof(*h));
	h->interval_ms = SSR_CFG_HEALTH_DEFAULT_INTERVAL_MS;
	h->timeout_ms = SSR_CFG_HEALTH_DEFAULT_TIMEOUT_MS;
	h->fall = SSR_CFG_HEALTH_DEFAULT_FALL;
	h->rise = SSR_CFG_HEALTH_DEFAULT_RISE;
	h->on_down = SSR_HEALTH_KEEP;
}

static void
parse_health(struct cfg_ctx *c, yaml_node_t *n, const char *path,
		struct ssr_cfg_health *h)
{
	static const char *const keys[] = {
		"interval_ms", "timeout_ms", "fall", "rise", "on_down",
	};
	char kp[PATH_MAX_LEN];
	yaml_node_t *v[DIM(keys)];
	unsigned int e_val;
	long long x;

	if (!cfg_map(c, n, path, keys, DIM(keys), v, NULL))
		return;
	h->enabled = true;
	if (v[0] != NULL) {
		path_key(kp, path, "interval_ms");
		if (cfg_int(c, v[0], kp, SSR_CFG_HEALTH_MIN_INTERVAL_MS,
					SSR_CFG_HEALTH_MAX_INTERVAL_MS, &x))
			h->interval_ms = x;
	}
	if (v[1] != NULL) {
		path_key(kp, path, "timeout_ms");
		if (cfg_int(c, v[1], kp, SSR_CFG_HEALTH_MIN_TIMEOUT_MS,
					SSR_CFG_HEALTH_MAX_INTERVAL_MS, &x))
			h->timeout_ms = x;
	}
	if (v[2] != NULL) {
		path_key(kp, path, "fall");
		if (cfg_int(c, v[2], kp, 1, SSR_CFG_HEALTH_MAX_COUNT, &x))
			h->fall = x;
	}
	if (v[3] != NULL) {
		path_key(kp, path, "rise");
		if (cfg_int(c, v[3], kp, 1, SSR_CFG_HEALTH_MAX_COUNT, &x))
			h->rise = x;
	}
	if (v[4] != NULL) {
		path_key(kp, path, "on_down");
		if (parse_enum(c, v[4], kp, policy_names, DIM(policy_names),
					"keep, reset", &e_val))
			h->on_down = e_val;
	}
	if (h->timeout_ms > h->interval_ms) {
		path_key(kp, path, "timeout_ms");
		cfg_fail(c, v[1] != NULL ? v[1] : n, kp,
				"%" PRIu32 " is longer than interval_ms (%" PRIu32 ")",
				h->timeout_ms, h->interval_ms);
	}
}

static void
parse_services(struct cfg_ctx *c, yaml_node_t *n, struct ssr_config *cfg,
		yaml_node_t **prefix_nodes)
{
	static const char *const keys[] = {
		"prefix", "action", "mode", "targets", "delay", "health",
	};
	unsigned int i, nitems;

	if (!cfg_seq(c, n, "services"))
		return;
	nitems = seq_len(n);
	if (nitems == 0)
		return;
	if (nitems > SSR_CFG_MAX_SERVICES) {
		cfg_fail(c, n, "services", "%u services listed, at most %u", nitems,
				SSR_CFG_MAX_SERVICES);
		return;
	}
	cfg->services = calloc(nitems, sizeof(*cfg->services));
	if (cfg->services == NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < nitems; i++) {
		yaml_node_t *e = seq_item(c, n, i);
		struct ssr_cfg_service *svc = &cfg->services[cfg->n_services];
		char path[PATH_MAX_LEN], kp[PATH_MAX_LEN];
		yaml_node_t *v[DIM(keys)], *k[DIM(keys)];
		unsigned int e_val;
		bool ok = true, have_action = false;
		unsigned int errs_before = c->n_errs;

		path_idx(path, "services", i);
		if (!cfg_map(c, e, path, keys, DIM(keys), v, k))
			continue;
		svc->line = e->start_mark.line + 1;
		svc->mode = SSR_MODE_RESOLVE;
		svc->delay_queue = SSR_CFG_DELAY_DEFAULT_QUEUE;
		svc->delay_timeout_ms = SSR_CFG_DELAY_DEFAULT_TIMEOUT_MS;
		ssr_cfg_health_defaults(&svc->health);
		ok &= cfg_require(c, e, path, "prefix", v[0]);
		ok &= cfg_require(c, e, path, "action", v[1]);
		if (v[0] != NULL) {
			char why[SAL_ERRLEN];
			const char *s;

			path_key(kp, path, "prefix");
			if (!cfg_string(c, v[0], kp, "a serviceID prefix (HEX/BITS)", &s)) {
				ok = false;
			} else if (sal_service_id_parse(s, &svc->id, &svc->prefix_bits,
						why, sizeof(why)) != 0) {
				cfg_fail(c, v[0], kp, "%s", why);
				ok = false;
			}
		}
		if (v[1] != NULL) {
			path_key(kp, path, "action");
			if (parse_enum(c, v[1], kp, action_names, 4,
						"forward, local, delay, drop", &e_val)) {
				svc->action = e_val;
				have_action = true;
			} else {
				ok = false;
			}
		}
		if (v[2] != NULL) {
			path_key(kp, path, "mode");
			if (parse_enum(c, v[2], kp, mode_names, 2, "resolve, gateway",
						&e_val))
				svc->mode = e_val;
			else
				ok = false;
			if (have_action && svc->action != SSR_ACTION_FORWARD) {
				cfg_fail(c, k[2], kp, "only applies to action forward");
				ok = false;
			}
		}
		if (v[3] != NULL) {
			path_key(kp, path, "targets");
			if (have_action && svc->action != SSR_ACTION_FORWARD) {
				cfg_fail(c, k[3], kp, "targets are only allowed with "
						"action forward, not %s",
						action_names[svc->action]);
				ok = false;
			} else {
				parse_targets(c, v[3], kp, cfg, svc);
			}
		} else if (have_action && svc->action == SSR_ACTION_FORWARD) {
			cfg_fail(c, e, path, "action forward needs 'targets'");
			ok = false;
		}
		if (v[4] != NULL) {
			path_key(kp, path, "delay");
			if (have_action && svc->action != SSR_ACTION_DELAY) {
				cfg_fail(c, k[4], kp, "only applies to action delay");
				ok = false;
			} else {
				parse_delay(c, v[4], kp, svc);
			}
		}
		if (v[5] != NULL) {
			path_key(kp, path, "health");
			if (have_action && svc->action != SSR_ACTION_FORWARD) {
				cfg_fail(c, k[5], kp, "only applies to action forward");
				ok = false;
			} else {
				parse_health(c, v[5], kp, &svc->health);
			}
		}
		if (!ok || c->n_errs != errs_before) {
			free(svc->targets);
			memset(svc, 0, sizeof(*svc));
			continue;
		}
		prefix_nodes[cfg->n_services] = v[0];
		cfg->n_services++;
	}
}

static int
cmp_service(const void *a, const void *b, void *arg)
{
	const struct ssr_config *cfg = arg;
	const struct ssr_cfg_service *s = &cfg->services[*(const unsigned int *)a];
	const struct ssr_cfg_service *t = &cfg->services[*(const unsigned int *)b];
	int r;

	if (s->prefix_bits != t->prefix_bits)
		return s->prefix_bits < t->prefix_bits ? -1 : 1;
	r = memcmp(&s->id, &t->id, sizeof(s->id));
	if (r != 0)
		return r;
	/* stable: the earlier entry first, so the later one is reported */
	return *(const unsigned int *)a < *(const unsigned int *)b ? -1 : 1;
}

static void
check_services(struct cfg_ctx *c, struct ssr_config *cfg,
		yaml_node_t **prefix_nodes)
{
	unsigned int *order, i, first;

	if (cfg->n_services < 2)
		return;
	order = malloc(cfg->n_services * sizeof(*order));
	if (order == NULL) {
		c->oom = true;
		return;
	}
	for (i = 0; i < cfg->n_services; i++)
		order[i] = i;
	/* qsort_r (glibc): the comparator gets the config, no global state, so
	 * two loads (a reload beside a --check) may run at once */
	qsort_r(order, cfg->n_services, sizeof(*order), cmp_service, cfg);
	for (i = 1, first = 0; i < cfg->n_services; i++) {
		struct ssr_cfg_service *a = &cfg->services[order[first]];
		struct ssr_cfg_service *b = &cfg->services[order[i]];
		char path[PATH_MAX_LEN];

		if (a->prefix_bits != b->prefix_bits ||
				memcmp(&a->id, &b->id, sizeof(a->id)) != 0) {
			first = i;
			continue;
		}
		snprintf(path, sizeof(path), "services[%u].prefix", order[i]);
		cfg_fail(c, prefix_nodes[order[i]], path,
				"duplicate prefix '%s' (first at line %u)",
				scalar(prefix_nodes[order[i]]), a->line);
	}
	free(order);
}

static void
set_defaults(struct ssr_config *cfg)
{
	cfg->sal_ip_protocol = SSR_DEF_SAL_PROTO;
	cfg->arp.queue = SSR_DEF_ARP_QUEUE;
	cfg->arp.retry_ms = SSR_DEF_ARP_RETRY_MS;
	cfg->arp.lifetime_ms = SSR_DEF_ARP_LIFETIME_MS;
	cfg->flows.max = SSR_DEF_FLOWS_MAX;
	cfg->flows.syn_timeout_ms = SSR_DEF_FLOW_SYN_MS;
	cfg->flows.established_timeout_ms = SSR_DEF_FLOW_EST_MS;
	cfg->flows.closing_timeout_ms = SSR_DEF_FLOW_CLOSING_MS;
}

static void
parse_root(struct cfg_ctx *c, yaml_node_t *root, struct ssr_config *cfg)
{
	enum {
		K_PORTS, K_NEIGHBORS, K_GATEWAY, K_SAL, K_ARP, K_FLOWS,
		K_SERVICES, K_MGMT, K_REG, K_N
	};
	static const char *const keys[K_N] = {
		[K_PORTS] = "ports",
		[K_NEIGHBORS] = "neighbors",
		[K_GATEWAY] = "gateway",
		[K_SAL] = "sal",
		[K_ARP] = "arp",
		[K_FLOWS] = "flows",
		[K_SERVICES] = "services",
		[K_MGMT] = "management",
		[K_REG] = "registration",
	};
	struct cfg_where where[SSR_CFG_MAX_PORTS];
	yaml_node_t *v[K_N];
	yaml_node_t **prefix_nodes = NULL;

	if (is_null(root)) {
		cfg_fail(c, root, "", "the configuration is empty; 'ports' is required");
		return;
	}
	if (!cfg_map(c, root, "", keys, K_N, v, NULL))
		return;
	if (cfg_require(c, root, "", "ports", v[K_PORTS])) {
		unsigned int before = c->n_errs;

		parse_ports(c, v[K_PORTS], cfg, where);
		check_ports(c, cfg, where);
		c->ports_bad = c->n_errs != before;
	} else {
		c->ports_bad = true;
	}
	if (v[K_GATEWAY] != NULL &&
			cfg_unicast(c, v[K_GATEWAY], "gateway", &cfg->gateway)) {
		if (is_router_addr(cfg, cfg->gateway))
			cfg_fail(c, v[K_GATEWAY], "gateway",
					"%s is the router's own address", scalar(v[K_GATEWAY]));
		else if (!c->ports_bad && port_for(cfg, cfg->gateway) < 0)
			cfg_fail(c, v[K_GATEWAY], "gateway",
					"%s is not in a connected subnet", scalar(v[K_GATEWAY]));
		else
			cfg->has_gateway = true;
	}
	if (v[K_NEIGHBORS] != NULL)
		parse_neighbors(c, v[K_NEIGHBORS], cfg);
	if (v[K_SAL] != NULL)
		parse_sal(c, v[K_SAL], cfg);
	if (v[K_ARP] != NULL)
		parse_arp(c, v[K_ARP], cfg);
	if (v[K_FLOWS] != NULL)
		parse_flows(c, v[K_FLOWS], cfg);
	if (v[K_MGMT] != NULL)
		parse_mgmt(c, v[K_MGMT], cfg);
	if (v[K_REG] != NULL)
		parse_registration(c, v[K_REG], cfg);
	if (v[K_SERVICES] != NULL && v[K_SERVICES]->type == YAML_SEQUENCE_NODE) {
		prefix_nodes = calloc(seq_len(v[K_SERVICES]) + 1, sizeof(*prefix_nodes));
		if (prefix_nodes == NULL) {
			c->oom = true;
			return;
		}
	}
	if (v[K_SERVICES] != NULL) {
		parse_services(c, v[K_SERVICES], cfg, prefix_nodes);
		check_services(c, cfg, prefix_nodes);
	}
	free(prefix_nodes);
}

static int
cmp_err(const void *a, const void *b)
{
	const struct cfg_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

void
ssr_config_free(struct ssr_config *cfg)
{
	unsigned int i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n_services; i++)
		free(cfg->services[i].targets);
	free(cfg->services);
	free(cfg->ports);
	free(cfg->neighbors);
	free(cfg->mgmt.socket);
	free(cfg->mgmt.allow_uids);
	free(cfg->mgmt.allow_gids);
	free(cfg->registration.allow);
	free(cfg->source);
	free(cfg);
}

void
ssr_config_errors_free(struct ssr_config_errors *errs)
{
	unsigned int i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
	errs->truncated = false;
}

static void
syntax_error(struct cfg_ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem != NULL ? p->problem : "cannot parse";

	if (p->error == YAML_MEMORY_ERROR) {
		c->oom = true;
		return;
	}
	if (p->context != NULL)
		cfg_fail_at(c, p->problem_mark, NULL,
				"YAML syntax error: %s %s (line %zu, column %zu)",
				problem, p->context, p->context_mark.line + 1,
				p->context_mark.column + 1);
	else
		cfg_fail_at(c, p->problem_mark, NULL, "YAML syntax error: %s",
				problem);
}

/*
 * The walk reads scalars as C strings: a NUL from an escape ("\0", "\x00",
 * "\u0000") would silently cut a value ("192.0.2.1/24\0junk"). Refuse every
 * such scalar first; the walk would only report on the cut values.
 */
static bool
refuse_nul_scalars(struct cfg_ctx *c, yaml_document_t *doc)
{
	yaml_node_t *n;
	bool found = false;

	for (n = doc->nodes.start; n < doc->nodes.top; n++) {
		if (n->type != YAML_SCALAR_NODE ||
				strlen(scalar(n)) == n->data.scalar.length)
			continue;
		cfg_fail(c, n, NULL, "a value contains a NUL character (after \"%.60s\")",
				scalar(n));
		found = true;
	}
	return found;
}

static struct ssr_config *
load(const char *text, size_t len, const char *name,
		struct ssr_config_errors *errs)
{
	struct cfg_ctx c = { .name = name };
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	struct ssr_config *cfg;
	yaml_node_t *root;
	unsigned int i;
	int err = 0;

	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return NULL;
	cfg->source = strdup(name);
	if (cfg->source == NULL || !yaml_parser_initialize(&parser)) {
		free(cfg->source);
		free(cfg);
		errno = ENOMEM;
		return NULL;
	}
	set_defaults(cfg);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	c.doc = &doc;
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(&c, &parser);
		goto done_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		yaml_mark_t m = { 0, 0, 0 };

		cfg_fail_at(&c, m, NULL,
				"the configuration is empty; 'ports' is required");
		goto done_doc;
	}
	if (refuse_nul_scalars(&c, &doc))
		goto done_doc;
	parse_root(&c, root, cfg);
	if (!yaml_parser_load(&parser, &extra)) {
		syntax_error(&c, &parser);
	} else {
		if (yaml_document_get_root_node(&extra) != NULL)
			cfg_fail_at(&c, extra.start_mark, NULL,
					"only one YAML document is allowed");
		yaml_document_delete(&extra);
	}
done_doc:
	yaml_document_delete(&doc);
done_parser:
	yaml_parser_delete(&parser);

	if (c.oom)
		err = ENOMEM;
	else if (c.n_errs > 0)
		err = EINVAL;
	/* insertion sort: stable, so equal positions keep discovery order */
	for (i = 1; i < c.n_errs; i++) {
		struct cfg_err e = c.errs[i];
		unsigned int j = i;

		while (j > 0 && cmp_err(&c.errs[j - 1], &e) > 0) {
			c.errs[j] = c.errs[j - 1];
			j--;
		}
		c.errs[j] = e;
	}
	if (errs != NULL && c.n_errs > 0) {
		errs->n = 0;
		errs->msgs = calloc(c.n_errs, sizeof(char *));
		if (errs->msgs == NULL && err == 0)
			err = ENOMEM;
		errs->truncated = c.truncated;
	}
	for (i = 0; i < c.n_errs; i++) {
		if (errs != NULL && errs->msgs != NULL)
			errs->msgs[errs->n++] = c.errs[i].msg;
		else
			free(c.errs[i].msg);
	}
	free(c.errs);
	if (err != 0) {
		ssr_config_free(cfg);
		errno = err;
		return NULL;
	}
	if (cfg->mgmt.enabled && cfg->mgmt.socket == NULL) {
		cfg->mgmt.socket = strdup(SSR_CFG_DEFAULT_SOCKET);
		if (cfg->mgmt.socket == NULL) {
			ssr_config_free(cfg);
			errno = ENOMEM;
			return NULL;
		}
	}
	return cfg;
}

struct ssr_config *
ssr_config_load_string(const char *text, size_t len, const char *name,
		struct ssr_config_errors *errs)
{
	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	if (text == NULL || name == NULL) {
		errno = EINVAL;
		return NULL;
	}
	return load(text, len, name, errs);
}

struct ssr_config *
ssr_config_load_file(const char *path, struct ssr_config_errors *errs)
{
	struct ssr_config *cfg = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int err;

	if (errs != NULL)
		memset(errs, 0, sizeof(*errs));
	if (path == NULL) {
		errno = EINVAL;
		return NULL;
	}
	f = fopen(path, "r");
	if (f == NULL)
		goto fail_open;
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nb;

			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > (64u << 20)) {
				errno = EFBIG;
				goto fail_read;
			}
			nb = realloc(buf, cap);
			if (nb == NULL) {
				errno = ENOMEM;
				goto fail_read;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				errno = EIO;
				goto fail_read;
			}
			break;
		}
	}
	fclose(f);
	cfg = load(buf, len, path, errs);
	err = errno;
	free(buf);
	errno = err;
	return cfg;

fail_read:
	err = errno;
	fclose(f);
	free(buf);
	errno = err;
fail_open:
	err = errno;
	if (errs != NULL) {
		errs->msgs = calloc(1, sizeof(char *));
		if (errs->msgs != NULL &&
				asprintf(&errs->msgs[0], "%s: cannot read: %s", path,
					strerror(err)) >= 0)
			errs->n = 1;
	}
	errno = err;
	return NULL;
}
