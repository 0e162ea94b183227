/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The management operations (docs/management.md) on the router: every
 * struct ssr_cmd the socket server validated becomes a rule-model
 * transaction, a query of the model, the flow table or the counters, or a
 * reload. Nothing here blocks, except flows.delete, which waits for the
 * flow's owner worker a bounded time (SSR_PLANE_FLOW_DELETE_US).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "control.h"
#include "flowtable.h"
#include "health.h"
#include "mgmt.h"
#include "plane.h"
#include "registry.h"
#include "router.h"
#include "services.h"
#include "telemetry.h"
#include "worker.h"

RTE_LOG_REGISTER(ssr_logtype_plane, user.serval.mgmt, INFO);
#define PLOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ssr_logtype_plane, "mgmt: " fmt "\n", \
			##__VA_ARGS__)

struct ssr_plane {
	struct ssr_router *r;
	struct ssr_control *ctl;
	struct ssr_rules *rules;
	struct ssr_mgmt *mgmt;
	struct ssr_health *health;
	struct ssr_registry *registry;
	struct ssr_telemetry *tel;
	uint64_t mgmt_period;     /* TSC */
	uint64_t next_mgmt;       /* TSC */
};

static const char *const flow_states[] = {
	[FLOWTABLE_STATE_FREE] = "free",
	[FLOWTABLE_STATE_SYN_SEEN] = "syn_seen",
	[FLOWTABLE_STATE_ESTABLISHED] = "established",
	[FLOWTABLE_STATE_CLOSING] = "closing",
};

/* ---- small JSON helpers ---- */

static json_t *
ipv4_json(uint32_t host_order)
{
	return ssr_mgmt_json_ipv4(host_order);
}

static json_t *
prefix_json(const struct sal_service_id *id, uint16_t bits)
{
	char buf[SSR_MGMT_PREFIX_STRLEN];

	return json_string(ssr_mgmt_prefix_str(id, bits, buf, sizeof(buf)));
}

/* A serviceID in its shortest text form (no length). */
static json_t *
sid_short_json(const struct sal_service_id *id)
{
	char buf[SSR_MGMT_PREFIX_STRLEN], *slash;

	ssr_mgmt_prefix_str(id, 256, buf, sizeof(buf));
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	return json_string(buf);
}

/* Set o[key] = v (stolen); false on failure (v released). */
static bool
jset(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0;
}

static int
nomem(struct ssr_mgmt_error *e)
{
	return ssr_mgmt_error_set(e, ENOMEM, NULL, "out of memory");
}

/* An ssr_err from the model as the wire error; @p base prefixes the field
 * ("ops[3]" inside a batch). */
static int
model_error(struct ssr_mgmt_error *me, const struct ssr_err *e, int ret,
		const char *base)
{
	char field[160];
	int err = e->err != 0 ? e->err : -ret;

	if (base != NULL && base[0] != '\0')
		snprintf(field, sizeof(field), "%s%s%s", base, e->field[0] ? "." : "",
				e->field);
	else
		snprintf(field, sizeof(field), "%s", e->field);
	return ssr_mgmt_error_set(me, err, field[0] ? field : NULL, "%s",
			e->msg[0] ? e->msg : strerror(err));
}

/* ---- events ---- */

static const char *
origin_wire(uint8_t o)
{
	return o == SSR_ORIGIN_INBAND ? "inband" : "socket";
}

static void
plane_event(void *arg, const struct ssr_event *ev)
{
	static const uint32_t bits[] = {
		[SSR_EV_DELAY_MISS] = 1u << SSR_MGMT_EVENT_DELAY_MISS_BIT,
		[SSR_EV_RULE] = 1u << SSR_MGMT_EVENT_RULE_BIT,
		[SSR_EV_LEASE] = 1u << SSR_MGMT_EVENT_LEASE_BIT,
		[SSR_EV_HEALTH] = 1u << SSR_MGMT_EVENT_HEALTH_BIT,
	};
	struct ssr_plane *p = arg;
	json_t *o = NULL;
	bool ok = true;

	if (p->mgmt == NULL || (unsigned int)ev->kind >= RTE_DIM(bits) ||
			ssr_mgmt_subscribers(p->mgmt, bits[ev->kind]) == 0)
		return;
	switch (ev->kind) {
	case SSR_EV_DELAY_MISS:
		o = json_pack("{s:s}", "event", "delay_miss");
		ok = o != NULL && jset(o, "service_id", sid_short_json(&ev->service_id)) &&
			jset(o, "prefix", prefix_json(&ev->prefix, ev->bits)) &&
			jset(o, "client", ipv4_json(ev->addr));
		break;
	case SSR_EV_RULE:
		o = json_pack("{s:s, s:s}", "event", "rule", "change", ev->change);
		ok = o != NULL && (!ev->has_prefix ||
				jset(o, "prefix", prefix_json(&ev->prefix, ev->bits)));
		break;
	case SSR_EV_LEASE:
		o = json_pack("{s:s, s:s, s:s}", "event", "lease", "change", ev->change,
				"origin", origin_wire(ev->origin));
		ok = o != NULL && jset(o, "prefix", prefix_json(&ev->prefix, ev->bits)) &&
			jset(o, "address", ipv4_json(ev->addr));
		break;
	case SSR_EV_HEALTH:
		o = json_pack("{s:s, s:s}", "event", "health", "state", ev->change);
		ok = o != NULL && jset(o, "prefix", prefix_json(&ev->prefix, ev->bits)) &&
			jset(o, "address", ipv4_json(ev->addr));
		break;
	}
	if (o != NULL && ok)
		ssr_mgmt_publish_event(p->mgmt, o);
	json_decref(o);
}

static void
plane_flows_gone(void *arg, uint32_t addr)
{
	struct ssr_plane *p = arg;

	ssr_control_reset_flows(p->ctl, addr);
}

/* ---- rules ---- */

/* A model rule as a plain service (targets borrowed from @p tg). */
static void
as_service(const struct ssr_rule *rl, struct ssr_cfg_service *s,
		struct ssr_cfg_target *tg)
{
	unsigned int i;

	*s = rl->s;
	for (i = 0; i < rl->n; i++)
		tg[i] = rl->tg[i].t;
	s->targets = tg;
	s->n_targets = rl->n;
}

static json_t *
rule_json(const struct ssr_plane *p, const struct ssr_rule *rl, bool counters)
{
	struct ssr_cfg_target tg[SSR_CFG_MAX_TARGETS];
	struct ssr_cfg_service s;
	uint64_t now = ssr_now_ms();
	json_t *o, *ts;
	unsigned int i;

	as_service(rl, &s, tg);
	o = ssr_mgmt_json_rule(&s);
	if (o == NULL)
		return NULL;
	if (!rl->base && !jset(o, "registered_only", json_true()))
		goto fail;
	ts = json_object_get(o, "targets");
	for (i = 0; ts != NULL && i < rl->n; i++) {
		const struct ssr_target *t = &rl->tg[i];
		json_t *to = json_array_get(ts, i);

		if (t->origin != SSR_ORIGIN_CONFIG &&
				!jset(to, "origin", json_string(origin_wire(t->origin))))
			goto fail;
		if (t->lease_until_ms != 0 && !jset(to, "lease_s", json_integer(
					t->lease_until_ms > now ?
					(t->lease_until_ms - now + 999) / 1000 : 0)))
			goto fail;
		if (rl->s.health.enabled && !jset(to, "health", json_string(
					t->health == SSR_HEALTH_DOWN ? "down" : "up")))
			goto fail;
	}
	if (counters) {
		uint64_t c[SSR_RCNT_MAX];
		json_t *co = json_object();

		if (!jset(o, "counters", co))
			goto fail;
		ssr_rules_counters(p->rules, rl, c);
		for (i = 0; i < SSR_RCNT_MAX; i++)
			if (!jset(co, ssr_rule_counter_name(i), json_integer(c[i])))
				goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

struct list_ctx {
	const struct ssr_plane *p;
	json_t *arr;
	bool failed;
};

static int
list_one(const struct ssr_rule *rl, void *arg)
{
	struct list_ctx *x = arg;

	if (json_array_append_new(x->arr, rule_json(x->p, rl, true)) != 0) {
		x->failed = true;
		return 1;
	}
	return 0;
}

static int
op_rules_list(struct ssr_plane *p, const struct ssr_cmd *cmd, json_t *result,
		struct ssr_mgmt_error *e)
{
	struct list_ctx x = { .p = p, .arr = json_array() };

	if (!jset(result, "rules", x.arr))
		return nomem(e);
	if (cmd->rules.has_prefix) {
		const struct ssr_rule *rl = ssr_rules_get(p->rules, &cmd->rules.prefix.id,
				cmd->rules.prefix.bits);

		if (rl != NULL)
			list_one(rl, &x);
	} else {
		ssr_rules_walk(p->rules, list_one, &x);
	}
	return x.failed ? nomem(e) : 0;
}

/* Stage one rule or target change of a command; 0 or -errno with e set. */
static int
stage_cmd(struct ssr_plane *p, struct ssr_rules_txn *txn, const struct ssr_cmd *c,
		struct ssr_mgmt_error *me, const char *base)
{
	const struct ssr_cmd_target *t = &c->target;
	struct ssr_err e;
	uint32_t set = 0;
	int ret;

	(void)p;
	memset(&e, 0, sizeof(e));
	switch (c->type) {
	case SSR_CMD_RULE_ADD:
	case SSR_CMD_RULE_REPLACE:
		ret = ssr_rules_put(txn, &c->rule, c->type == SSR_CMD_RULE_ADD, &e);
		break;
	case SSR_CMD_RULE_DELETE:
		ret = ssr_rules_delete(txn, &c->prefix.id, c->prefix.bits, &e);
		break;
	case SSR_CMD_TARGET_ADD:
		ret = ssr_rules_target_add(txn, &t->prefix.id, t->prefix.bits, &t->target, &e);
		break;
	case SSR_CMD_TARGET_REMOVE:
		ret = ssr_rules_target_remove(txn, &t->prefix.id, t->prefix.bits,
				t->target.addr, &e);
		break;
	case SSR_CMD_TARGET_SET:
		if (t->set & SSR_CMD_SET_WEIGHT)
			set |= SSR_TARGET_SET_WEIGHT;
		if (t->set & SSR_CMD_SET_PRIORITY)
			set |= SSR_TARGET_SET_PRIORITY;
		ret = ssr_rules_target_set(txn, &t->prefix.id, t->prefix.bits,
				t->target.addr, set, t->target.weight, t->target.priority, &e);
		break;
	case SSR_CMD_REGISTER:
		ret = ssr_rules_register(txn, &t->prefix.id, t->prefix.bits, &t->target,
				t->lease_s, SSR_ORIGIN_LEASE, &e);
		break;
	case SSR_CMD_REFRESH:
		ret = ssr_rules_refresh(txn, &t->prefix.id, t->prefix.bits,
				t->target.addr, t->lease_s, &e);
		break;
	case SSR_CMD_UNREGISTER:
		ret = ssr_rules_unregister(txn, &t->prefix.id, t->prefix.bits,
				t->target.addr, "unregistered", &e);
		break;
	default:
		return ssr_mgmt_error_set(me, ENOTSUP, NULL, "%s cannot change rules",
				ssr_cmd_name(c->type));
	}
	return ret != 0 ? model_error(me, &e, ret, base) : 0;
}

/* A single change, or a batch: one transaction either way. */
static int
op_change(struct ssr_plane *p, const struct ssr_cmd *cmd, json_t *result,
		struct ssr_mgmt_error *me)
{
	struct ssr_rules_txn *txn;
	struct ssr_err e;
	unsigned int i;
	int ret = 0;

	txn = ssr_rules_begin(p->rules, ssr_cmd_name(cmd->type));
	if (txn == NULL)
		return nomem(me);
	if (cmd->type == SSR_CMD_BATCH) {
		for (i = 0; i < cmd->batch.n && ret == 0; i++) {
			char base[32];

			snprintf(base, sizeof(base), "ops[%u]", i);
			ret = stage_cmd(p, txn, &cmd->batch.cmds[i], me, base);
		}
	} else {
		/* a register of a target registered already is a refresh: its
		 * lease starts again, which is what the client asked for */
		ret = stage_cmd(p, txn, cmd, me, NULL);
	}
	if (ret != 0) {
		ssr_rules_abort(txn);
		return ret;
	}
	memset(&e, 0, sizeof(e));
	ret = ssr_rules_commit(txn, &e);
	if (ret != 0)
		return model_error(me, &e, ret, NULL);
	if (cmd->type == SSR_CMD_BATCH &&
			!jset(result, "applied", json_integer(cmd->batch.n)))
		return nomem(me);
	return 0;
}

/* ---- resolve ---- */

static int
op_resolve(struct ssr_plane *p, const struct ssr_cmd *cmd, json_t *result,
		struct ssr_mgmt_error *e)
{
	const struct ssr_cmd_resolve *rv = &cmd->resolve;
	const struct ssr_target *t = NULL;
	const struct ssr_rule *rl;
	char sid[SAL_SERVICE_ID_STRLEN];
	const char *verdict;
	bool pick = rv->has_client && rv->has_client_flow_id;

	sal_service_id_format(&rv->id, -1, sid, sizeof(sid));
	if (!jset(result, "service_id", json_string(sid)))
		return nomem(e);
	rl = ssr_rules_resolve(p->rules, &rv->id, pick, rv->client, rv->client_flow_id,
			&t);
	if (rl == NULL) {
		verdict = "no_match";
	} else if (rl->s.action == SSR_ACTION_FORWARD) {
		unsigned int i;
		bool active = false;

		for (i = 0; i < rl->n; i++)
			active |= rl->tg[i].t.weight > 0 && !(rl->s.health.enabled &&
					rl->tg[i].health == SSR_HEALTH_DOWN);
		verdict = active ? "forward" : "no_target";
	} else {
		verdict = ssr_action_name(rl->s.action);
	}
	if (!jset(result, "rule", rl != NULL ? rule_json(p, rl, false) : json_null()) ||
			!jset(result, "target", t != NULL ? ssr_mgmt_json_target(&t->t) :
				json_null()) ||
			!jset(result, "verdict", json_string(verdict)))
		return nomem(e);
	if (rl != NULL && rl->s.action == SSR_ACTION_FORWARD && !pick &&
			!jset(result, "note", json_string("give client and client_flow_id "
					"for the target that SYN would get")))
		return nomem(e);
	return 0;
}

/* ---- flows ---- */

/* Gateway rules' targets, for the prefix of each flow (flows keep only
 * their target address). */
struct gw_map {
	uint32_t *addr;
	const struct ssr_rule **rule;
	unsigned int n, cap;
};

static int
gw_collect(const struct ssr_rule *rl, void *arg)
{
	struct gw_map *g = arg;
	unsigned int i;

	if (rl->s.action != SSR_ACTION_FORWARD || rl->s.mode != SSR_MODE_GATEWAY)
		return 0;
	for (i = 0; i < rl->n; i++) {
		if (g->n == g->cap) {
			unsigned int cap = g->cap ? g->cap * 2 : 64;
			uint32_t *a = realloc(g->addr, cap * sizeof(*a));
			const struct ssr_rule **r;

			if (a == NULL)
				return 1;
			g->addr = a;
			r = realloc(g->rule, cap * sizeof(*r));
			if (r == NULL)
				return 1;
			g->rule = r;
			g->cap = cap;
		}
		g->addr[g->n] = rl->tg[i].t.addr;
		g->rule[g->n] = rl;
		g->n++;
	}
	return 0;
}

static const struct ssr_rule *
gw_rule_of(const struct gw_map *g, uint32_t addr)
{
	unsigned int i;

	for (i = 0; i < g->n; i++)
		if (g->addr[i] == addr)
			return g->rule[i];
	return NULL;
}

static json_t *
flow_json(const struct ssr_plane *p, const struct flowtable_flow_info *f,
		const struct ssr_rule *rl)
{
	uint64_t now = rte_rdtsc(), ms = p->r->tsc_hz / 1000;
	json_t *o;

	o = json_pack("{s:I, s:o, s:I, s:o, s:I, s:s, s:I, s:I, s:I, s:i}",
			"flow_id", (json_int_t)f->r.rfid,
			"client", ipv4_json(rte_be_to_cpu_32(f->r.client_ip)),
			"client_flow_id", (json_int_t)rte_be_to_cpu_32(f->r.client_flowid),
			"target", ipv4_json(rte_be_to_cpu_32(f->r.target)),
			"instance_flow_id", (json_int_t)rte_be_to_cpu_32(f->r.instance_flowid),
			"state", f->r.state < RTE_DIM(flow_states) ? flow_states[f->r.state] : "?",
			"idle_ms", (json_int_t)(now > f->last_seen ? (now - f->last_seen) / ms : 0),
			"packets", (json_int_t)f->pkts,
			"bytes", (json_int_t)f->bytes,
			"worker", (int)f->r.owner);
	if (o != NULL && rl != NULL && !jset(o, "prefix",
				prefix_json(&rl->s.id, rl->s.prefix_bits))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct flows_ctx {
	const struct ssr_plane *p;
	const struct ssr_cmd_flows *f;
	const struct gw_map *g;
	const struct ssr_rule *want_rule;
	json_t *arr;
	unsigned int n;
	bool truncated;
	bool failed;
};

static int
flows_one(const struct flowtable_flow_info *info, void *arg)
{
	struct flows_ctx *x = arg;
	uint32_t target = rte_be_to_cpu_32(info->r.target);
	const struct ssr_rule *rl = gw_rule_of(x->g, target);

	if (x->f->has_target && target != x->f->target)
		return 0;
	if (x->f->has_prefix) {
		unsigned int i;
		bool in = false;

		for (i = 0; x->want_rule != NULL && i < x->want_rule->n; i++)
			in |= x->want_rule->tg[i].t.addr == target;
		if (!in)
			return 0;
		rl = x->want_rule;
	}
	if (x->n == x->f->limit) {
		x->truncated = true;
		return 1;
	}
	if (json_array_append_new(x->arr, flow_json(x->p, info, rl)) != 0) {
		x->failed = true;
		return 1;
	}
	x->n++;
	return 0;
}

static int
op_flows_list(struct ssr_plane *p, const struct ssr_cmd *cmd, json_t *result,
		struct ssr_mgmt_error *e)
{
	struct gw_map g = { 0 };
	struct flows_ctx x = { .p = p, .f = &cmd->flows, .g = &g, .arr = json_array() };
	int ret = 0;

	if (!jset(result, "flows", x.arr))
		return nomem(e);
	if (p->r->ft == NULL)
		return jset(result, "truncated", json_false()) ? 0 : nomem(e);
	ssr_rules_walk(p->rules, gw_collect, &g);
	if (cmd->flows.has_prefix) {
		x.want_rule = ssr_rules_get(p->rules, &cmd->flows.prefix.id,
				cmd->flows.prefix.bits);
		if (x.want_rule == NULL) {
			char pfx[SSR_MGMT_PREFIX_STRLEN];

			ret = ssr_mgmt_error_set(e, ENOENT, "prefix", "no rule with prefix %s",
					ssr_mgmt_prefix_str(&cmd->flows.prefix.id,
						cmd->flows.prefix.bits, pfx, sizeof(pfx)));
			goto out;
		}
	}
	flowtable_walk(p->r->ft, flows_one, &x);
	if (x.failed || !jset(result, "truncated", json_boolean(x.truncated)))
		ret = nomem(e);
out:
	free(g.addr);
	free(g.rule);
	return ret;
}

static int
op_flow(struct ssr_plane *p, const struct ssr_cmd *cmd, json_t *result,
		struct ssr_mgmt_error *e)
{
	struct flowtable_flow_info info;
	struct gw_map g = { 0 };
	int32_t res = 0;
	int ret;

	if (p->r->ft == NULL ||
			flowtable_get(p->r->ft, cmd->flow.flow_id, &info) != 0)
		return ssr_mgmt_error_set(e, ENOENT, "flow_id", "no flow %" PRIu32,
				cmd->flow.flow_id);
	if (cmd->type == SSR_CMD_FLOWS_SHOW) {
		json_t *f;

		ssr_rules_walk(p->rules, gw_collect, &g);
		f = flow_json(p, &info, gw_rule_of(&g, rte_be_to_cpu_32(info.r.target)));
		free(g.addr);
		free(g.rule);
		return jset(result, "flow", f) ? 0 : nomem(e);
	}
	if (info.r.owner >= p->r->n_workers)
		return ssr_mgmt_error_set(e, EIO, "flow_id", "flow %" PRIu32 " has no "
				"owner worker", cmd->flow.flow_id);
	/* only the owner may delete: hand it over and wait for its answer */
	ret = ssr_worker_call(p->r->workers[info.r.owner], SSR_MBOX_FLOW_DELETE,
			info.r.rfid, SSR_PLANE_FLOW_DELETE_US, &res);
	if (ret == -ETIMEDOUT)
		return ssr_mgmt_error_set(e, ETIMEDOUT, "flow_id", "worker %u did not "
				"take the deletion in time; nothing was deleted",
				info.r.owner);
	if (ret == -EBUSY)
		return ssr_mgmt_error_set(e, EBUSY, "flow_id", "worker %u is busy with "
				"another command; retry", info.r.owner);
	if (res == -ENOENT)
		return ssr_mgmt_error_set(e, ENOENT, "flow_id", "no flow %" PRIu32
				" (it ended meanwhile)", cmd->flow.flow_id);
	if (res != 0)
		return ssr_mgmt_error_set(e, -res, "flow_id", "cannot delete flow %"
				PRIu32 ": %s", cmd->flow.flow_id, strerror(-res));
	return jset(result, "deleted", json_integer(1)) ? 0 : nomem(e);
}

/* ---- stats ---- */

void
ssr_plane_totals(const struct ssr_plane *p, struct ssr_stats *sum)
{
	unsigned int i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < p->r->n_workers; i++)
		ssr_stats_add(sum, &p->r->workers[i]->stats);
	ssr_stats_add(sum, &p->ctl->stats);
}

/* {"counters": {...}, "drops": {...}} members of @p o from @p s. */
static bool
stats_members(json_t *o, const struct ssr_stats *s, bool zero_drops)
{
	json_t *c = json_object(), *d = json_object();
	unsigned int i;

	if (!jset(o, "counters", c) || !jset(o, "drops", d))
		return false;
	for (i = 0; i < SSR_CNT_MAX; i++)
		/* relaxed: a monotonic counter */
		if (!jset(c, ssr_counter_name(i), json_integer(
					__atomic_load_n(&s->cnt[i], __ATOMIC_RELAXED))))
			return false;
	for (i = 0; i < SSR_DROP_MAX; i++) {
		/* relaxed: as above */
		uint64_t v = __atomic_load_n(&s->drop[i], __ATOMIC_RELAXED);

		if ((v != 0 || zero_drops) && !jset(d, ssr_drop_name(i), json_integer(v)))
			return false;
	}
	return true;
}

struct stats_rules_ctx {
	const struct ssr_plane *p;
	json_t *rules;
	json_t *targets;
	bool failed;
};

static int
stats_rule(const struct ssr_rule *rl, void *arg)
{
	struct stats_rules_ctx *x = arg;
	uint64_t c[SSR_RCNT_MAX];
	json_t *o, *co;
	unsigned int i;

	o = json_object();
	co = json_object();
	if (json_array_append_new(x->rules, o) != 0 ||
			!jset(o, "prefix", prefix_json(&rl->s.id, rl->s.prefix_bits)) ||
			!jset(o, "counters", co))
		goto fail;
	ssr_rules_counters(x->p->rules, rl, c);
	for (i = 0; i < SSR_RCNT_MAX; i++)
		if (!jset(co, ssr_rule_counter_name(i), json_integer(c[i])))
			goto fail;
	for (i = 0; rl->s.action == SSR_ACTION_FORWARD && i < rl->n; i++) {
		const struct ssr_target *t = &rl->tg[i];
		json_t *to = json_object();

		if (json_array_append_new(x->targets, to) != 0 ||
				!jset(to, "prefix", prefix_json(&rl->s.id, rl->s.prefix_bits)) ||
				!jset(to, "address", ipv4_json(t->t.addr)) ||
				!jset(to, "counters", json_pack("{s:I, s:I, s:I}",
						"selected", (json_int_t)ssr_rules_selected(
							x->p->rules, rl, i),
						"probes", (json_int_t)t->probe.sent,
						"probe_answers", (json_int_t)t->probe.answered)) ||
				!jset(to, "gauges", json_pack("{s:i, s:i, s:i}",
						"weight", (int)t->t.weight,
						"priority", (int)t->t.priority,
						"up", rl->s.health.enabled &&
						t->health == SSR_HEALTH_DOWN ? 0 : 1)))
			goto fail;
	}
	return 0;
fail:
	if (json_array_size(x->rules) == 0 || json_array_get(x->rules,
				json_array_size(x->rules) - 1) != o)
		json_decref(o);
	x->failed = true;
	return 1;
}

static bool
stats_ports(const struct ssr_plane *p, json_t *arr)
{
	unsigned int i;

	for (i = 0; i < p->r->n_ports; i++) {
		struct rte_eth_stats st;
		json_t *o;

		if (!p->r->port[i].started ||
				rte_eth_stats_get(p->r->port[i].port_id, &st) != 0)
			memset(&st, 0, sizeof(st));
		o = json_pack("{s:i, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
				"port", (int)p->r->port[i].port_id,
				"counters",
				"rx_packets", (json_int_t)st.ipackets,
				"tx_packets", (json_int_t)st.opackets,
				"rx_bytes", (json_int_t)st.ibytes,
				"tx_bytes", (json_int_t)st.obytes,
				"rx_missed", (json_int_t)st.imissed,
				"rx_errors", (json_int_t)st.ierrors,
				"tx_errors", (json_int_t)st.oerrors,
				"rx_nombuf", (json_int_t)st.rx_nombuf);
		if (json_array_append_new(arr, o) != 0)
			return false;
	}
	return true;
}

static int
op_stats(struct ssr_plane *p, json_t *result, struct ssr_mgmt_error *e)
{
	struct stats_rules_ctx x = { .p = p };
	struct ssr_rules_stats rs;
	struct ssr_health_stats hs;
	struct ssr_stats sum;
	json_t *ports, *workers, *g;
	unsigned int i;

	ssr_plane_totals(p, &sum);
	if (!stats_members(result, &sum, true))
		return nomem(e);
	ssr_rules_get_stats(p->rules, &rs);
	memset(&hs, 0, sizeof(hs));
	if (p->health != NULL)
		ssr_health_get_stats(p->health, &hs);
	g = json_pack("{s:I, s:I, s:I, s:I, s:I}",
			"rules", (json_int_t)rs.rules,
			"registered_targets", (json_int_t)rs.leased,
			"grace_pending", (json_int_t)rs.retire_pending,
			"probes_outstanding", (json_int_t)hs.outstanding,
			"workers", (json_int_t)p->r->n_workers);
	if (!jset(result, "gauges", g))
		return nomem(e);
	ports = json_array();
	workers = json_array();
	x.rules = json_array();
	x.targets = json_array();
	if (!jset(result, "ports", ports) || !jset(result, "workers", workers) ||
			!jset(result, "rules", x.rules) || !jset(result, "targets", x.targets) ||
			!stats_ports(p, ports))
		return nomem(e);
	for (i = 0; i < p->r->n_workers; i++) {
		json_t *o = json_pack("{s:i, s:i}", "worker", (int)i,
				"lcore", (int)p->r->workers[i]->lcore);

		if (json_array_append_new(workers, o) != 0 ||
				!stats_members(o, &p->r->workers[i]->stats, false))
			return nomem(e);
	}
	{
		json_t *o = json_pack("{s:s, s:i}", "worker", "control",
				"lcore", (int)rte_get_main_lcore());

		if (json_array_append_new(workers, o) != 0 ||
				!stats_members(o, &p->ctl->stats, false))
			return nomem(e);
	}
	ssr_rules_walk(p->rules, stats_rule, &x);
	if (x.failed)
		return nomem(e);
	if (p->r->ft != NULL) {
		struct flowtable_stats fs;

		flowtable_stats_get(p->r->ft, &fs);
		if (!jset(result, "flows", json_pack("{s:{s:I, s:I}, s:{s:I, s:I, s:I, "
						"s:I, s:I, s:I, s:I, s:I}}",
						"gauges",
						"active", (json_int_t)fs.flows,
						"capacity", (json_int_t)fs.capacity,
						"counters",
						"inserts", (json_int_t)fs.inserts,
						"insert_full", (json_int_t)fs.insert_full,
						"deletes", (json_int_t)fs.deletes,
						"expired", (json_int_t)fs.expired,
						"lookups", (json_int_t)fs.lookups,
						"lookup_misses", (json_int_t)fs.lookup_misses,
						"migrations", (json_int_t)fs.migrations,
						"nonce_mismatch", (json_int_t)fs.nonce_mismatch)))
			return nomem(e);
	}
	if (!jset(result, "control", json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, "
					"s:I, s:I, s:I, s:I}}", "counters",
					"commits", (json_int_t)rs.commits,
					"commit_errors", (json_int_t)rs.commit_errors,
					"rules_added", (json_int_t)rs.rules_added,
					"rules_removed", (json_int_t)rs.rules_removed,
					"counter_runs_exhausted", (json_int_t)rs.run_exhausted,
					"health_probes", (json_int_t)hs.probes,
					"health_answers", (json_int_t)hs.answers,
					"health_timeouts", (json_int_t)hs.timeouts,
					"health_late", (json_int_t)hs.late,
					"health_bad_ack", (json_int_t)hs.bad_ack)))
		return nomem(e);
	if (p->registry != NULL) {
		struct ssr_registry_stats gs;

		ssr_registry_get_stats(p->registry, &gs);
		if (!jset(result, "registry", json_pack("{s:{s:I, s:I, s:I, s:I, s:I, "
						"s:I, s:I}}", "counters",
						"registered", (json_int_t)gs.registered,
						"refreshed", (json_int_t)gs.refreshed,
						"readdressed", (json_int_t)gs.readdressed,
						"unregistered", (json_int_t)gs.unregistered,
						"refused", (json_int_t)gs.refused,
						"malformed", (json_int_t)gs.malformed,
						"replies", (json_int_t)gs.replies)))
			return nomem(e);
	}
	return 0;
}

/* ---- reload ---- */

static int
op_reload(struct ssr_plane *p, const struct ssr_cmd *cmd, json_t *result,
		struct ssr_mgmt_error *e)
{
	struct ssr_reload_result res;
	const char *path = cmd->reload.path != NULL ? cmd->reload.path :
		p->ctl->reload_path;
	unsigned int i;
	int ret;

	ret = ssr_control_reload_file(p->ctl, cmd->reload.path, &res);
	if (ret != 0) {
		json_t *details = json_array();

		for (i = 0; details != NULL && i < res.errs.n; i++)
			json_array_append_new(details, json_string(res.errs.msgs[i]));
		if (res.errs.truncated && details != NULL)
			json_array_append_new(details, json_string("... more errors "
						"not shown"));
		ssr_config_errors_free(&res.errs);
		ret = ssr_mgmt_error_set(e, res.err != 0 ? res.err : -ret,
				cmd->reload.path != NULL ? "path" : NULL, "%s", res.msg);
		if (e->details == NULL)
			e->details = details;
		else
			json_decref(details);
		PLOG(WARNING, "reload: %s", res.msg);
		return ret;
	}
	ssr_config_errors_free(&res.errs);
	PLOG(NOTICE, "reload: %u rule(s) from %s in force", res.rules, path);
	if (!jset(result, "path", json_string(path)) ||
			!jset(result, "rules", json_integer(res.rules)))
		return nomem(e);
	return 0;
}

/* ---- the ops table ---- */

static int
plane_apply(void *ctx, const struct ssr_cmd *cmd, const struct ssr_mgmt_peer *peer,
		json_t *result, struct ssr_mgmt_error *e)
{
	struct ssr_plane *p = ctx;

	(void)peer;
	switch (cmd->type) {
	case SSR_CMD_RULE_ADD:
	case SSR_CMD_RULE_REPLACE:
	case SSR_CMD_RULE_DELETE:
	case SSR_CMD_TARGET_ADD:
	case SSR_CMD_TARGET_REMOVE:
	case SSR_CMD_TARGET_SET:
	case SSR_CMD_REGISTER:
	case SSR_CMD_REFRESH:
	case SSR_CMD_UNREGISTER:
	case SSR_CMD_BATCH:
		return op_change(p, cmd, result, e);
	case SSR_CMD_RULES_LIST:
		return op_rules_list(p, cmd, result, e);
	case SSR_CMD_RESOLVE:
		return op_resolve(p, cmd, result, e);
	case SSR_CMD_FLOWS_LIST:
		return op_flows_list(p, cmd, result, e);
	case SSR_CMD_FLOWS_SHOW:
	case SSR_CMD_FLOWS_DELETE:
		return op_flow(p, cmd, result, e);
	case SSR_CMD_STATS:
		return op_stats(p, result, e);
	case SSR_CMD_RELOAD:
		return op_reload(p, cmd, result, e);
	default:
		return -ENOTSUP;
	}
}

static const struct ssr_mgmt_ops plane_ops = { .apply = plane_apply };

struct ssr_router *
ssr_plane_router(const struct ssr_plane *p)
{
	return p->r;
}

struct ssr_rules *
ssr_plane_rules(const struct ssr_plane *p)
{
	return p->rules;
}

struct ssr_mgmt *
ssr_plane_mgmt(const struct ssr_plane *p)
{
	return p->mgmt;
}

struct ssr_health *
ssr_plane_health(const struct ssr_plane *p)
{
	return p->health;
}

const struct ssr_mgmt_ops *
ssr_plane_ops(void)
{
	return &plane_ops;
}

/* ---- life cycle ---- */

/* The control lcore's packet hooks take one argument, the plane. */
static void
plane_probe(void *arg, struct rte_mbuf *m, uint64_t now)
{
	struct ssr_plane *p = arg;

	ssr_health_packet(p->health, m, now);
}

static void
plane_register(void *arg, struct rte_mbuf *m, uint64_t now)
{
	struct ssr_plane *p = arg;

	ssr_registry_packet(p->registry, m, now);
}

struct ssr_plane *
ssr_plane_create(const struct ssr_plane_conf *conf)
{
	struct ssr_plane *p;
	int err;

	if (conf == NULL || conf->r == NULL || conf->ctl == NULL || conf->rules == NULL ||
			conf->cfg == NULL) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	p->r = conf->r;
	p->ctl = conf->ctl;
	p->rules = conf->rules;
	p->mgmt_period = p->r->tsc_hz / 1000000 * SSR_PLANE_MGMT_PERIOD_US;
	ssr_rules_set_hooks(p->rules, plane_event, plane_flows_gone, p);
	p->health = ssr_health_create(p->ctl, p->rules);
	if (p->health == NULL)
		goto fail;
	p->ctl->on_probe = plane_probe;
	if (conf->cfg->registration.enabled) {
		p->registry = ssr_registry_create(p->ctl, p->rules);
		if (p->registry == NULL)
			goto fail;
		p->ctl->on_register = plane_register;
	}
	p->ctl->hook_arg = p;
	if (conf->cfg->mgmt.enabled) {
		struct ssr_mgmt_conf mc = {
			.access = &conf->cfg->mgmt,
			.ops = &plane_ops,
			.ctx = p,
		};

		p->mgmt = ssr_mgmt_create(&mc);
		if (p->mgmt == NULL) {
			err = errno;
			PLOG(ERR, "management socket %s: %s", conf->cfg->mgmt.socket,
					strerror(err));
			errno = err;
			goto fail;
		}
		PLOG(INFO, "management socket %s listening", conf->cfg->mgmt.socket);
	}
	if (conf->telemetry) {
		p->tel = ssr_telemetry_create(p);
		if (p->tel == NULL)
			PLOG(WARNING, "telemetry commands not registered: %s",
					strerror(errno));
	}
	return p;
fail:
	err = errno;
	ssr_plane_free(p);
	errno = err != 0 ? err : ENOMEM;
	return NULL;
}

void
ssr_plane_free(struct ssr_plane *p)
{
	if (p == NULL)
		return;
	if (p->ctl != NULL) {
		p->ctl->on_probe = NULL;
		p->ctl->on_register = NULL;
		p->ctl->hook_arg = NULL;
	}
	if (p->rules != NULL)
		ssr_rules_set_hooks(p->rules, NULL, NULL, NULL);
	ssr_telemetry_free(p->tel);
	ssr_mgmt_destroy(p->mgmt);
	ssr_health_free(p->health);
	ssr_registry_free(p->registry);
	free(p);
}

unsigned int
ssr_plane_poll(struct ssr_plane *p)
{
	uint64_t now = rte_rdtsc(), ms = ssr_now_ms();
	unsigned int work = 0;
	int n;

	if (p->mgmt != NULL && now >= p->next_mgmt) {
		n = ssr_mgmt_poll(p->mgmt, 0);
		/* busy: come back on the next pass (requests may be waiting past
		 * the per-poll budget); idle: one epoll_wait a millisecond */
		p->next_mgmt = n > 0 ? now : now + p->mgmt_period;
		if (n > 0)
			work += n;
	}
	if (p->tel != NULL)
		work += ssr_telemetry_poll(p->tel);
	ssr_health_poll(p->health, ms);
	ssr_rules_poll(p->rules, ms);
	return work;
}

