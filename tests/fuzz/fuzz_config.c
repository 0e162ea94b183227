/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * libFuzzer target for the YAML service-map loader (app/config.c): the input
 * is the text of a config file, given to ssr_config_load_string(). Checked:
 * - no crash, no read outside the text, no leak (ASan, LeakSanitizer), for
 *   accepted and refused configs alike;
 * - the outcome is consistent: a config comes back with no message, or NULL
 *   with errno EINVAL and at least one message (ENOMEM only with none);
 * - every message is "<name>:<line>:<column>: ..." with 1-based positions,
 *   sorted by position, at most SSR_CFG_MAX_ERRORS of them, and
 *   `truncated` set only when that many were kept;
 * - loading the same text again gives the same messages (no uninitialised
 *   or leftover state);
 * - an accepted config satisfies every invariant config.h promises the rest
 *   of the router (which never re-validates it): ranges, uniqueness,
 *   connected subnets, rule shapes, no bits past a prefix length;
 * - no accepted config holds a scalar with a NUL inside (a key or value the
 *   loader would silently cut short).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "fuzz_checks.h"
#include "sal.h"
#include "sal_parse.h"

#define NAME "fuzz.yaml"

static uint32_t
mask_of(unsigned int len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

static int
port_for(const struct ssr_config *cfg, uint32_t a)
{
	unsigned int i;

	for (i = 0; i < cfg->n_ports; i++)
		if (((a ^ cfg->ports[i].addr) & mask_of(cfg->ports[i].prefix_len)) == 0)
			return (int)i;
	return -1;
}

static bool
router_addr(const struct ssr_config *cfg, uint32_t a)
{
	unsigned int i;

	for (i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].addr == a)
			return true;
	return false;
}

static bool
mac_unicast(const uint8_t m[6])
{
	return !(m[0] & 1) && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) != 0;
}

/* No bit set past the prefix length. */
static bool
prefix_clean(const struct sal_service_id *id, unsigned int bits)
{
	unsigned int i;

	for (i = bits; i < 256; i++)
		if (id->b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static void
check_ports(const struct ssr_config *cfg)
{
	unsigned int i, j;

	check(cfg->n_ports >= 1 && cfg->n_ports <= SSR_CFG_MAX_PORTS && cfg->ports != NULL);
	for (i = 0; i < cfg->n_ports; i++) {
		const struct ssr_cfg_port *p = &cfg->ports[i];
		uint32_t host = p->addr & ~mask_of(p->prefix_len);

		check(p->port_id <= SSR_CFG_MAX_PORT_ID);
		check(p->prefix_len >= 1 && p->prefix_len <= 32);
		check(unicast(p->addr));
		if (p->prefix_len <= 30)
			check(host != 0 && host != ~mask_of(p->prefix_len));
		check(p->rx_desc >= 64 && p->rx_desc <= 4096);
		check(p->tx_desc >= 64 && p->tx_desc <= 4096);
		if (p->has_mac)
			check(mac_unicast(p->mac));
		for (j = 0; j < i; j++) {
			const struct ssr_cfg_port *q = &cfg->ports[j];
			unsigned int len = p->prefix_len < q->prefix_len ?
				p->prefix_len : q->prefix_len;

			check(p->port_id != q->port_id);
			check(((p->addr ^ q->addr) & mask_of(len)) != 0);
		}
	}
}

static void
check_neighbors(const struct ssr_config *cfg)
{
	unsigned int i, j;

	for (i = 0; i < cfg->n_neighbors; i++) {
		const struct ssr_cfg_neighbor *n = &cfg->neighbors[i];

		check(unicast(n->ip));
		check(port_for(cfg, n->ip) >= 0);
		check(!router_addr(cfg, n->ip));
		check(mac_unicast(n->mac));
		for (j = 0; j < i; j++)
			check(cfg->neighbors[j].ip != n->ip);
	}
	if (cfg->has_gateway) {
		check(unicast(cfg->gateway));
		check(port_for(cfg, cfg->gateway) >= 0);
		check(!router_addr(cfg, cfg->gateway));
	}
}

static void
check_globals(const struct ssr_config *cfg)
{
	struct sal_parse_conf pc;
	unsigned int i;

	check(cfg->source != NULL && strcmp(cfg->source, NAME) == 0);
	/* the router refuses to start on a protocol lib/sal refuses */
	check(sal_parse_conf_init(&pc, cfg->sal_ip_protocol, 0) == 0);
	check(cfg->arp.queue <= 1024);
	check(cfg->arp.retry_ms >= 10 && cfg->arp.retry_ms <= 60000);
	check(cfg->arp.lifetime_ms >= 1000 && cfg->arp.lifetime_ms <= 86400000);
	check(cfg->flows.max >= 1 && cfg->flows.max <= (1u << 24));
	check(cfg->flows.syn_timeout_ms >= 100 && cfg->flows.syn_timeout_ms <= 3600000);
	check(cfg->flows.established_timeout_ms >= 1000 &&
		cfg->flows.established_timeout_ms <= 86400000);
	check(cfg->flows.closing_timeout_ms >= 100 &&
		cfg->flows.closing_timeout_ms <= 3600000);
	if (cfg->mgmt.enabled) {
		check(cfg->mgmt.socket != NULL && cfg->mgmt.socket[0] == '/');
		/* sun_path is 108 bytes, NUL included */
		check(strlen(cfg->mgmt.socket) < 108);
		for (i = 0; i < cfg->mgmt.n_allow_uids; i++)
			check(cfg->mgmt.allow_uids[i] != (uid_t)-1);
		for (i = 0; i < cfg->mgmt.n_allow_gids; i++)
			check(cfg->mgmt.allow_gids[i] != (gid_t)-1);
	} else {
		check(cfg->mgmt.socket == NULL && cfg->mgmt.n_allow_uids == 0 &&
			cfg->mgmt.n_allow_gids == 0);
	}
	if (cfg->registration.enabled) {
		for (i = 0; i < cfg->registration.n_allow; i++) {
			const struct ssr_cfg_ipv4_prefix *p = &cfg->registration.allow[i];

			check(p->len <= 32);
			check((p->addr & ~mask_of(p->len)) == 0);
		}
	} else {
		check(cfg->registration.n_allow == 0);
	}
}

static void
check_services(const struct ssr_config *cfg)
{
	unsigned int i, j;

	for (i = 0; i < cfg->n_services; i++) {
		const struct ssr_cfg_service *s = &cfg->services[i];
		bool any_weight = false;

		check(s->prefix_bits <= 256);
		check(prefix_clean(&s->id, s->prefix_bits));
		check(s->line >= 1);
		check_health(&s->health, s->action == SSR_ACTION_FORWARD);
		for (j = 0; j < i; j++)
			check(cfg->services[j].prefix_bits != s->prefix_bits ||
				memcmp(&cfg->services[j].id, &s->id, sizeof(s->id)) != 0);
		switch (s->action) {
		case SSR_ACTION_FORWARD:
			check(s->mode == SSR_MODE_RESOLVE || s->mode == SSR_MODE_GATEWAY);
			check(s->n_targets >= 1 && s->n_targets <= SSR_CFG_MAX_TARGETS);
			check(s->targets != NULL);
			for (j = 0; j < s->n_targets; j++) {
				const struct ssr_cfg_target *t = &s->targets[j];
				unsigned int k;

				check(unicast(t->addr));
				check(!router_addr(cfg, t->addr));
				check(port_for(cfg, t->addr) >= 0 || cfg->has_gateway);
				for (k = 0; k < j; k++)
					check(s->targets[k].addr != t->addr);
				any_weight |= t->weight > 0;
			}
			check(any_weight);
			break;
		case SSR_ACTION_DELAY:
			check(s->delay_queue >= 1 && s->delay_queue <= 4096);
			check(s->delay_timeout_ms >= 1 && s->delay_timeout_ms <= 600000);
			/* fall through */
		case SSR_ACTION_LOCAL:
		case SSR_ACTION_DROP:
			check(s->mode == SSR_MODE_RESOLVE);
			check(s->n_targets == 0 && s->targets == NULL);
			break;
		default:
			check(0);
		}
	}
}

/* "NAME:line:col: " with both numbers >= 1; returns (line, col). */
static void
check_message(const char *m, unsigned long *line, unsigned long *col)
{
	const char *p;
	char *end;

	check(m != NULL);
	check(strncmp(m, NAME ":", sizeof(NAME)) == 0);
	p = m + sizeof(NAME);
	*line = strtoul(p, &end, 10);
	check(end != p && *end == ':' && *line >= 1);
	p = end + 1;
	*col = strtoul(p, &end, 10);
	check(end != p && end[0] == ':' && end[1] == ' ' && *col >= 1);
	check(end[2] != '\0');
	/* one message per line (--check, logs, the reload reply's details) */
	check(strpbrk(m, "\r\n") == NULL);
}

static void
check_errors(const struct ssr_config_errors *e)
{
	unsigned long pl = 0, pc = 0, l, c;
	unsigned int i;

	check(e->n <= SSR_CFG_MAX_ERRORS);
	check(!e->truncated || e->n == SSR_CFG_MAX_ERRORS);
	for (i = 0; i < e->n; i++) {
		check_message(e->msgs[i], &l, &c);
		check(l > pl || (l == pl && c >= pc));
		pl = l;
		pc = c;
	}
}

/*
 * true when libyaml reads the text as one document holding a scalar with a
 * NUL inside ("\0", "\x00", "\u0000" escapes): C code reading it as a string
 * would see a shorter value, so such a map must be refused, not truncated.
 */
static bool
has_nul_scalar(const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *n;
	bool found = false;

	check(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (yaml_parser_load(&p, &doc)) {
		for (n = doc.nodes.start; n < doc.nodes.top; n++)
			if (n->type == YAML_SCALAR_NODE &&
					strlen((const char *)n->data.scalar.value) !=
					n->data.scalar.length)
				found = true;
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&p);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssr_config_errors e1, e2;
	struct ssr_config *cfg, *again;
	char *text;
	unsigned int i;
	int err;

	/* an exact-size copy: a read past the text is an ASan report */
	text = malloc(size == 0 ? 1 : size);
	check(text != NULL);
	memcpy(text, data, size);

	errno = 0;
	cfg = ssr_config_load_string(text, size, NAME, &e1);
	err = errno;
	check_errors(&e1);
	if (cfg != NULL) {
		check(e1.n == 0);
		check(!has_nul_scalar(text, size));
		check_ports(cfg);
		check_neighbors(cfg);
		check_globals(cfg);
		check_services(cfg);
	} else {
		check(err == EINVAL || err == ENOMEM);
		check(err != EINVAL || e1.n >= 1);
	}

	again = ssr_config_load_string(text, size, NAME, &e2);
	check((again == NULL) == (cfg == NULL));
	check(e2.n == e1.n && e2.truncated == e1.truncated);
	for (i = 0; i < e1.n; i++)
		check(strcmp(e1.msgs[i], e2.msgs[i]) == 0);

	ssr_config_free(again);
	ssr_config_free(cfg);
	ssr_config_errors_free(&e2);
	ssr_config_errors_free(&e1);
	free(text);
	return 0;
}
