/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_ops.h"

static bool
same_prefix(const struct ssr_cfg_service *r, const struct sal_service_id *id,
		uint16_t bits)
{
	return r->prefix_bits == bits && memcmp(&r->id, id, sizeof(*id)) == 0;
}

static int
find(const struct fake_state *st, const struct sal_service_id *id,
		uint16_t bits)
{
	unsigned int i;

	for (i = 0; i < st->n_rules; i++)
		if (same_prefix(&st->rules[i], id, bits))
			return i;
	return -1;
}

int
fake_find(const struct fake_state *st, const char *prefix)
{
	struct sal_service_id id;
	uint16_t bits;

	if (sal_service_id_parse(prefix, &id, &bits, NULL, 0) != 0)
		return -1;
	return find(st, &id, bits);
}

static int
copy_rule(struct ssr_cfg_service *dst, const struct ssr_cfg_service *src)
{
	*dst = *src;
	dst->targets = NULL;
	if (src->n_targets == 0)
		return 0;
	dst->targets = malloc(SSR_CFG_MAX_TARGETS * sizeof(*dst->targets));
	if (dst->targets == NULL)
		return -ENOMEM;
	memcpy(dst->targets, src->targets, src->n_targets * sizeof(*src->targets));
	return 0;
}

static void
drop_rule(struct fake_state *st, unsigned int i)
{
	free(st->rules[i].targets);
	st->n_rules--;
	st->rules[i] = st->rules[st->n_rules];
	memcpy(st->lease[i], st->lease[st->n_rules], sizeof(st->lease[i]));
	memset(&st->rules[st->n_rules], 0, sizeof(st->rules[0]));
	memset(st->lease[st->n_rules], 0, sizeof(st->lease[0]));
}

void
fake_init(struct fake_state *st)
{
	memset(st, 0, sizeof(*st));
}

void
fake_fini(struct fake_state *st)
{
	while (st->n_rules > 0)
		drop_rule(st, st->n_rules - 1);
}

static int
find_target(const struct ssr_cfg_service *r, uint32_t addr)
{
	unsigned int i;

	for (i = 0; i < r->n_targets; i++)
		if (r->targets[i].addr == addr)
			return i;
	return -1;
}

static int
no_rule(struct ssr_mgmt_error *e, const char *field,
		const struct sal_service_id *id, uint16_t bits)
{
	char p[SSR_MGMT_PREFIX_STRLEN];

	return ssr_mgmt_error_set(e, ENOENT, field, "no rule with prefix %s",
			ssr_mgmt_prefix_str(id, bits, p, sizeof(p)));
}

/* One change; the batch path calls it too. */
static int
change(struct fake_state *st, const struct ssr_cmd *c, const char *base,
		struct ssr_mgmt_error *e)
{
	char f[160];
	int i, t;

	snprintf(f, sizeof(f), "%s%sprefix", base, base[0] ? "." : "");
	switch (c->type) {
	case SSR_CMD_RULE_ADD:
	case SSR_CMD_RULE_REPLACE:
		i = find(st, &c->rule.id, c->rule.prefix_bits);
		if (i >= 0 && c->type == SSR_CMD_RULE_ADD)
			return ssr_mgmt_error_set(e, EEXIST, f, "a rule with this prefix "
					"exists (use rule.replace)");
		if (i >= 0) {
			free(st->rules[i].targets);
			memset(st->lease[i], 0, sizeof(st->lease[i]));
		} else {
			if (st->n_rules == FAKE_MAX_RULES)
				return ssr_mgmt_error_set(e, ENOSPC, NULL, "rule table full");
			i = st->n_rules++;
		}
		return copy_rule(&st->rules[i], &c->rule);
	case SSR_CMD_RULE_DELETE:
		i = find(st, &c->prefix.id, c->prefix.bits);
		if (i < 0)
			return no_rule(e, f, &c->prefix.id, c->prefix.bits);
		drop_rule(st, i);
		return 0;
	case SSR_CMD_TARGET_ADD:
	case SSR_CMD_TARGET_REMOVE:
	case SSR_CMD_TARGET_SET:
	case SSR_CMD_REGISTER:
	case SSR_CMD_REFRESH:
	case SSR_CMD_UNREGISTER:
		i = find(st, &c->target.prefix.id, c->target.prefix.bits);
		if (i < 0 && c->type == SSR_CMD_REGISTER) {
			struct ssr_cfg_service r = {
				.id = c->target.prefix.id,
				.prefix_bits = c->target.prefix.bits,
				.action = SSR_ACTION_FORWARD,
			};

			if (st->n_rules == FAKE_MAX_RULES)
				return ssr_mgmt_error_set(e, ENOSPC, NULL, "rule table full");
			i = st->n_rules++;
			if (copy_rule(&st->rules[i], &r) != 0 ||
					(st->rules[i].targets = calloc(SSR_CFG_MAX_TARGETS,
						sizeof(struct ssr_cfg_target))) == NULL)
				return -ENOMEM;
		}
		if (i < 0)
			return no_rule(e, f, &c->target.prefix.id, c->target.prefix.bits);
		if (st->rules[i].action != SSR_ACTION_FORWARD)
			return ssr_mgmt_error_set(e, EINVAL, f, "the rule is %s, not forward",
					ssr_action_name(st->rules[i].action));
		t = find_target(&st->rules[i], c->target.target.addr);
		snprintf(f, sizeof(f), "%s%saddress", base, base[0] ? "." : "");
		if (c->type == SSR_CMD_TARGET_ADD || c->type == SSR_CMD_REGISTER) {
			if (t >= 0 && c->type == SSR_CMD_TARGET_ADD)
				return ssr_mgmt_error_set(e, EEXIST, f, "already a target");
			if (t < 0) {
				if (st->rules[i].n_targets == SSR_CFG_MAX_TARGETS)
					return ssr_mgmt_error_set(e, ENOSPC, f, "rule has %u "
							"targets", SSR_CFG_MAX_TARGETS);
				t = st->rules[i].n_targets++;
			}
			st->rules[i].targets[t] = c->target.target;
			st->lease[i][t] = c->type == SSR_CMD_REGISTER ? c->target.lease_s : 0;
			return 0;
		}
		if (t < 0 || (c->type == SSR_CMD_REFRESH && st->lease[i][t] == 0))
			return ssr_mgmt_error_set(e, ENOENT, f, "not a %s of this rule",
					c->type == SSR_CMD_REFRESH ? "registered target" :
					"target");
		if (c->type == SSR_CMD_TARGET_SET) {
			if (c->target.set & SSR_CMD_SET_WEIGHT)
				st->rules[i].targets[t].weight = c->target.target.weight;
			if (c->target.set & SSR_CMD_SET_PRIORITY)
				st->rules[i].targets[t].priority = c->target.target.priority;
			return 0;
		}
		if (c->type == SSR_CMD_REFRESH) {
			if (c->target.set & SSR_CMD_SET_LEASE)
				st->lease[i][t] = c->target.lease_s;
			return 0;
		}
		if (st->rules[i].n_targets == 1)
			return ssr_mgmt_error_set(e, EBUSY, f, "the last target of a rule; "
					"delete the rule instead");
		st->rules[i].n_targets--;
		st->rules[i].targets[t] = st->rules[i].targets[st->rules[i].n_targets];
		st->lease[i][t] = st->lease[i][st->rules[i].n_targets];
		return 0;
	default:
		return -ENOTSUP;
	}
}

static void
snapshot_free(struct ssr_cfg_service *rules, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		free(rules[i].targets);
	free(rules);
}

static int
batch(struct fake_state *st, const struct ssr_cmd *c, struct ssr_mgmt_error *e)
{
	struct ssr_cfg_service *saved;
	uint32_t (*saved_lease)[SSR_CFG_MAX_TARGETS];
	unsigned int n = st->n_rules, i;
	int r = 0;

	saved = calloc(FAKE_MAX_RULES, sizeof(*saved));
	saved_lease = malloc(sizeof(st->lease));
	if (saved == NULL || saved_lease == NULL) {
		free(saved);
		free(saved_lease);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		copy_rule(&saved[i], &st->rules[i]);
	memcpy(saved_lease, st->lease, sizeof(st->lease));
	for (i = 0; i < c->batch.n && r == 0; i++) {
		char base[32];

		snprintf(base, sizeof(base), "ops[%u]", i);
		r = change(st, &c->batch.cmds[i], base, e);
	}
	if (r != 0) {
		/* all or nothing: put the rule set back */
		fake_fini(st);
		memcpy(st->rules, saved, n * sizeof(*saved));
		memcpy(st->lease, saved_lease, sizeof(st->lease));
		st->n_rules = n;
		free(saved);
	} else {
		snapshot_free(saved, n);
	}
	free(saved_lease);
	return r;
}

static json_t *
rule_json(const struct fake_state *st, unsigned int i)
{
	json_t *o = ssr_mgmt_json_rule(&st->rules[i]);
	json_t *ts = json_object_get(o, "targets");
	unsigned int t;

	for (t = 0; ts != NULL && t < st->rules[i].n_targets; t++)
		if (st->lease[i][t] != 0)
			json_object_set_new(json_array_get(ts, t), "lease_s",
					json_integer(st->lease[i][t]));
	json_object_set_new(o, "counters", json_pack("{s:i, s:i}",
				"matched", 10 * (int)i + 7, "dropped", (int)i));
	return o;
}

static int
lpm(const struct fake_state *st, const struct sal_service_id *id)
{
	int best = -1;
	unsigned int i, b;

	for (i = 0; i < st->n_rules; i++) {
		const struct ssr_cfg_service *r = &st->rules[i];
		bool match = true;

		for (b = 0; b < r->prefix_bits && match; b++)
			match = ((id->b[b / 8] ^ r->id.b[b / 8]) & (0x80 >> (b % 8))) == 0;
		if (match && (best < 0 || r->prefix_bits > st->rules[best].prefix_bits))
			best = i;
	}
	return best;
}

static int
resolve(const struct fake_state *st, const struct ssr_cmd *c, json_t *res)
{
	const struct ssr_cfg_service *r;
	char idtxt[SAL_SERVICE_ID_STRLEN];
	int i = lpm(st, &c->resolve.id);
	int pick = -1;
	unsigned int t;

	sal_service_id_format(&c->resolve.id, -1, idtxt, sizeof(idtxt));
	json_object_set_new(res, "service_id", json_string(idtxt));
	if (i < 0) {
		json_object_set_new(res, "rule", json_null());
		json_object_set_new(res, "target", json_null());
		json_object_set_new(res, "verdict", json_string("no_match"));
		return 0;
	}
	r = &st->rules[i];
	json_object_set_new(res, "rule", ssr_mgmt_json_rule(r));
	json_object_set_new(res, "verdict", json_string(ssr_action_name(r->action)));
	for (t = 0; t < r->n_targets; t++)
		if (r->targets[t].weight > 0 && (pick < 0 ||
				r->targets[t].priority > r->targets[pick].priority))
			pick = t;
	json_object_set_new(res, "target", pick < 0 ? json_null() :
			ssr_mgmt_json_target(&r->targets[pick]));
	return 0;
}

static json_t *
flow_json(uint32_t id)
{
	return json_pack("{s:I, s:s, s:I, s:s, s:I, s:s, s:s, s:I, s:I, s:I}",
			"flow_id", (json_int_t)id, "client", "198.51.100.7",
			"client_flow_id", (json_int_t)(1000 + id),
			"target", "192.0.2.10", "instance_flow_id", (json_int_t)(2000 + id),
			"state", "established", "prefix", "4001/16",
			"idle_ms", (json_int_t)id * 10, "packets", (json_int_t)id * 3,
			"bytes", (json_int_t)id * 300);
}

static int
stats(const struct fake_state *st, json_t *res)
{
	json_t *rules = json_array(), *targets = json_array();
	char p[SSR_MGMT_PREFIX_STRLEN];
	unsigned int i, t;

	for (i = 0; i < st->n_rules; i++) {
		const struct ssr_cfg_service *r = &st->rules[i];

		ssr_mgmt_prefix_str(&r->id, r->prefix_bits, p, sizeof(p));
		json_array_append_new(rules, json_pack("{s:s, s:{s:i, s:i}}",
				"prefix", p, "counters", "matched", 10 * (int)i + 7,
				"dropped", (int)i));
		for (t = 0; t < r->n_targets; t++)
			json_array_append_new(targets, json_pack("{s:s, s:o, s:{s:i}}",
					"prefix", p, "address",
					ssr_mgmt_json_ipv4(r->targets[t].addr),
					"counters", "selected", 5 + (int)t));
	}
	json_object_set_new(res, "counters", json_pack("{s:i, s:i, s:i}",
				"rx", 100, "tx", 90, "sal_resolved", 40));
	json_object_set_new(res, "drops", json_pack("{s:i, s:i}",
				"sal_no_service", 3, "ttl_expired", 7));
	json_object_set_new(res, "ports", json_pack("[{s:i, s:{s:i, s:i}}, "
				"{s:i, s:{s:i, s:i}}]",
				"port", 0, "counters", "rx_packets", 60, "tx_packets", 50,
				"port", 1, "counters", "rx_packets", 40, "tx_packets", 40));
	json_object_set_new(res, "workers", json_pack("[{s:i, s:i, s:{s:i}, "
				"s:{s:i}}]", "worker", 0, "lcore", 1, "counters", "rx", 100,
				"drops", "sal_no_service", 3));
	json_object_set_new(res, "rules", rules);
	json_object_set_new(res, "targets", targets);
	json_object_set_new(res, "flows", json_pack("{s:{s:i, s:i}}", "gauges",
				"active", (int)st->n_flows, "capacity", 65536));
	return 0;
}

static int
fake_apply(void *ctx, const struct ssr_cmd *c, const struct ssr_mgmt_peer *peer,
		json_t *res, struct ssr_mgmt_error *e)
{
	struct fake_state *st = ctx;
	char p[SSR_MGMT_PREFIX_STRLEN];
	unsigned int i, n;
	int r = 0;

	st->applied++;
	st->last = c->type;
	st->last_peer = *peer;
	switch (c->type) {
	case SSR_CMD_RULE_ADD:
	case SSR_CMD_RULE_REPLACE:
	case SSR_CMD_RULE_DELETE:
	case SSR_CMD_TARGET_ADD:
	case SSR_CMD_TARGET_REMOVE:
	case SSR_CMD_TARGET_SET:
	case SSR_CMD_REGISTER:
	case SSR_CMD_REFRESH:
	case SSR_CMD_UNREGISTER:
		r = change(st, c, "", e);
		break;
	case SSR_CMD_BATCH:
		r = batch(st, c, e);
		if (r == 0)
			json_object_set_new(res, "applied", json_integer(c->batch.n));
		break;
	case SSR_CMD_RULES_LIST:
		json_object_set_new(res, "rules", json_array());
		for (i = 0; i < st->n_rules; i++)
			if (!c->rules.has_prefix || same_prefix(&st->rules[i],
						&c->rules.prefix.id, c->rules.prefix.bits))
				json_array_append_new(json_object_get(res, "rules"),
						rule_json(st, i));
		break;
	case SSR_CMD_RESOLVE:
		r = resolve(st, c, res);
		break;
	case SSR_CMD_FLOWS_LIST:
		n = st->n_flows < c->flows.limit ? st->n_flows : c->flows.limit;
		json_object_set_new(res, "flows", json_array());
		for (i = 1; i <= n; i++)
			json_array_append_new(json_object_get(res, "flows"), flow_json(i));
		json_object_set_new(res, "truncated", json_boolean(n < st->n_flows));
		break;
	case SSR_CMD_FLOWS_SHOW:
	case SSR_CMD_FLOWS_DELETE:
		if (c->flow.flow_id > st->n_flows)
			return ssr_mgmt_error_set(e, ENOENT, "flow_id", "no flow %u",
					c->flow.flow_id);
		if (c->type == SSR_CMD_FLOWS_SHOW)
			json_object_set_new(res, "flow", flow_json(c->flow.flow_id));
		else
			json_object_set_new(res, "deleted", json_integer(1));
		break;
	case SSR_CMD_STATS:
		r = stats(st, res);
		break;
	case SSR_CMD_RELOAD:
		if (c->reload.path != NULL && strstr(c->reload.path, "bad") != NULL) {
			r = ssr_mgmt_error_set(e, EINVAL, "path", "%s has 2 errors; the "
					"running rules are unchanged", c->reload.path);
			e->details = json_pack("[s, s]",
					"bad.yaml:3:13: services[0].prefix: 'zz/8': not hex",
					"bad.yaml:9:7: services[1].action: 'x' is not one of: "
					"forward, local, delay, drop");
			break;
		}
		json_object_set_new(res, "path", json_string(c->reload.path ?
					c->reload.path : "/etc/serval-sr/serval-sr.yaml"));
		json_object_set_new(res, "rules", json_integer(st->n_rules));
		break;
	default:
		return -ENOTSUP;
	}
	if (r == 0 && c->type <= SSR_CMD_TARGET_SET && c->type >= SSR_CMD_RULE_ADD)
		st->changes++;
	if (r == 0 && (c->type == SSR_CMD_BATCH || c->type == SSR_CMD_REGISTER ||
				c->type == SSR_CMD_UNREGISTER || c->type == SSR_CMD_REFRESH))
		st->changes++;
	if (r == 0 && st->srv != NULL && c->type >= SSR_CMD_RULE_ADD &&
			c->type <= SSR_CMD_TARGET_SET) {
		const struct sal_service_id *id = c->type <= SSR_CMD_RULE_REPLACE ?
			&c->rule.id : c->type == SSR_CMD_RULE_DELETE ? &c->prefix.id :
			&c->target.prefix.id;
		uint16_t bits = c->type <= SSR_CMD_RULE_REPLACE ? c->rule.prefix_bits :
			c->type == SSR_CMD_RULE_DELETE ? c->prefix.bits :
			c->target.prefix.bits;
		json_t *ev = json_pack("{s:s, s:s, s:s}", "event", "rule", "change",
				ssr_cmd_name(c->type), "prefix",
				ssr_mgmt_prefix_str(id, bits, p, sizeof(p)));

		ssr_mgmt_publish_event(st->srv, ev);
		json_decref(ev);
	}
	return r;
}

const struct ssr_mgmt_ops fake_ops = {
	.apply = fake_apply,
};
