/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * app/services.c, the rule model, without an EAL: a router with one port and
 * two fake workers whose counter arrays the test writes as a worker would.
 * Every change goes through a transaction; the svctable is checked after
 * each one (what a worker would look up and pick), and so are the model's
 * stable slots, its counters across replaces, reloads and slot reuse, the
 * events it emits and the flow resets it asks for.
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

#include <rte_byteorder.h>

#include "router.h"
#include "services.h"
#include "svctable.h"
#include "worker.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define N_WORKERS 2
#define SLOTS 64
#define TGT_CTR (SLOTS * SSR_TGT_CTR_PER_SLOT)

struct fx {
	struct ssr_router r;
	struct ssr_worker w[N_WORKERS];
	struct ssr_rules *m;
	struct ssr_event ev[64];
	char ev_change[64][32];
	unsigned int n_ev;
	uint32_t gone[64];
	unsigned int n_gone;
};

static void
on_event(void *arg, const struct ssr_event *ev)
{
	struct fx *fx = arg;

	if (fx->n_ev < 64) {
		fx->ev[fx->n_ev] = *ev;
		snprintf(fx->ev_change[fx->n_ev], sizeof(fx->ev_change[0]), "%s", ev->change);
		fx->n_ev++;
	}
}

static void
on_gone(void *arg, uint32_t addr)
{
	struct fx *fx = arg;

	if (fx->n_gone < 64)
		fx->gone[fx->n_gone++] = addr;
}

static int
setup(void **state)
{
	struct svctable_conf sc = { .max_rules = 8 };
	struct fx *fx = calloc(1, sizeof(*fx));
	unsigned int i;

	assert_non_null(fx);
	fx->r.n_ports = 1;
	fx->r.port[0].addr = rte_cpu_to_be_32(IP(192, 0, 2, 1));
	fx->r.port[0].mask = rte_cpu_to_be_32(0xffffff00);
	fx->r.n_rule_slots = SLOTS;
	fx->r.n_tgt_ctr = TGT_CTR;
	fx->r.n_workers = N_WORKERS;
	for (i = 0; i < N_WORKERS; i++) {
		fx->w[i].rule_ctr = calloc(SLOTS, sizeof(*fx->w[i].rule_ctr));
		fx->w[i].tgt_ctr = calloc(TGT_CTR, sizeof(*fx->w[i].tgt_ctr));
		fx->w[i].n_rule_ctr = SLOTS;
		fx->w[i].n_tgt_ctr = TGT_CTR;
		fx->r.workers[i] = &fx->w[i];
	}
	/* a small table: a transaction over its size must fail whole */
	fx->r.svc = svctable_create(&sc);
	assert_non_null(fx->r.svc);
	fx->m = ssr_rules_create(&fx->r);
	assert_non_null(fx->m);
	ssr_rules_set_hooks(fx->m, on_event, on_gone, fx);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	unsigned int i;

	ssr_rules_free(fx->m);
	svctable_free(fx->r.svc);
	for (i = 0; i < N_WORKERS; i++) {
		free(fx->w[i].rule_ctr);
		free(fx->w[i].tgt_ctr);
	}
	free(fx);
	return 0;
}

static struct sal_service_id
sidx(const char *hex)
{
	struct sal_service_id id;

	assert_int_equal(sal_service_id_parse(hex, &id, NULL, NULL, 0), 0);
	return id;
}

/* Load a config text as the whole rule set (what start and reload do). */
static int
load(struct fx *fx, const char *services, struct ssr_err *e)
{
	char text[4096];
	struct ssr_config *cfg;
	struct ssr_rules_txn *txn;
	int ret;

	snprintf(text, sizeof(text), "ports: [{ port: 0, address: 192.0.2.1/24 }]\n"
			"services:\n%s", services);
	cfg = ssr_config_load_string(text, strlen(text), "t.yaml", NULL);
	assert_non_null(cfg);
	memset(e, 0, sizeof(*e));
	txn = ssr_rules_begin(fx->m, "reload");
	assert_non_null(txn);
	ret = ssr_rules_replace_all(txn, cfg, e);
	if (ret == 0)
		ret = ssr_rules_commit(txn, e);
	else
		ssr_rules_abort(txn);
	ssr_config_free(cfg);
	return ret;
}

static const struct ssr_rule *
get(struct fx *fx, const char *prefix)
{
	struct sal_service_id id;
	uint16_t bits;

	assert_int_equal(sal_service_id_parse(prefix, &id, &bits, NULL, 0), 0);
	return ssr_rules_get(fx->m, &id, bits);
}

/* The rule a worker would find for a full serviceID. */
static const struct svctable_rule *
lookup(struct fx *fx, const char *hex)
{
	struct sal_service_id id = sidx(hex);

	return svctable_lookup(fx->r.svc, (const struct svctable_key *)(const void *)&id);
}

/* Count like a worker: rule counter c of the rule, and its target @p addr. */
static void
worker_counts(struct fx *fx, unsigned int w, const char *hex, uint32_t addr, unsigned int n)
{
	const struct svctable_rule *sr = lookup(fx, hex);
	unsigned int i;

	assert_non_null(sr);
	fx->w[w].rule_ctr[sr->id].c[SSR_RCNT_MATCHED] += n;
	for (i = 0; sr->tset != NULL && i < sr->tset->n_targets; i++)
		if (sr->tset->targets[i].id == addr)
			fx->w[w].tgt_ctr[(sr->user_flags >> SSR_RULE_RUN_SHIFT) + i] += n;
}

static uint64_t
matched(struct fx *fx, const char *prefix)
{
	uint64_t c[SSR_RCNT_MAX];

	ssr_rules_counters(fx->m, get(fx, prefix), c);
	return c[SSR_RCNT_MATCHED];
}

static uint64_t
selected(struct fx *fx, const char *prefix, uint32_t addr)
{
	const struct ssr_rule *rl = get(fx, prefix);
	unsigned int i;

	for (i = 0; i < rl->n; i++)
		if (rl->tg[i].t.addr == addr)
			return ssr_rules_selected(fx->m, rl, i);
	fail_msg("no target");
	return 0;
}

static int
one(struct fx *fx, const char *change, int (*fn)(struct ssr_rules_txn *, void *,
		struct ssr_err *), void *arg, struct ssr_err *e)
{
	struct ssr_rules_txn *txn = ssr_rules_begin(fx->m, change);
	int ret;

	memset(e, 0, sizeof(*e));
	ret = fn(txn, arg, e);
	if (ret != 0) {
		ssr_rules_abort(txn);
		return ret;
	}
	return ssr_rules_commit(txn, e);
}

struct tgt_arg {
	const char *prefix;
	struct ssr_cfg_target t;
	uint32_t set;
};

static int
do_target_add(struct ssr_rules_txn *txn, void *arg, struct ssr_err *e)
{
	struct tgt_arg *a = arg;
	struct sal_service_id id;
	uint16_t bits;

	sal_service_id_parse(a->prefix, &id, &bits, NULL, 0);
	return ssr_rules_target_add(txn, &id, bits, &a->t, e);
}

static int
do_target_remove(struct ssr_rules_txn *txn, void *arg, struct ssr_err *e)
{
	struct tgt_arg *a = arg;
	struct sal_service_id id;
	uint16_t bits;

	sal_service_id_parse(a->prefix, &id, &bits, NULL, 0);
	return ssr_rules_target_remove(txn, &id, bits, a->t.addr, e);
}

static int
do_target_set(struct ssr_rules_txn *txn, void *arg, struct ssr_err *e)
{
	struct tgt_arg *a = arg;
	struct sal_service_id id;
	uint16_t bits;

	sal_service_id_parse(a->prefix, &id, &bits, NULL, 0);
	return ssr_rules_target_set(txn, &id, bits, a->t.addr, a->set, a->t.weight,
			a->t.priority, e);
}

static int
do_register(struct ssr_rules_txn *txn, void *arg, struct ssr_err *e)
{
	struct tgt_arg *a = arg;
	struct sal_service_id id;
	uint16_t bits;

	sal_service_id_parse(a->prefix, &id, &bits, NULL, 0);
	return ssr_rules_register(txn, &id, bits, &a->t, 0, SSR_ORIGIN_INBAND, e);
}

static int
do_unregister(struct ssr_rules_txn *txn, void *arg, struct ssr_err *e)
{
	struct tgt_arg *a = arg;
	struct sal_service_id id;
	uint16_t bits;

	sal_service_id_parse(a->prefix, &id, &bits, NULL, 0);
	return ssr_rules_unregister(txn, &id, bits, a->t.addr, "unregistered", e);
}

static int
do_delete(struct ssr_rules_txn *txn, void *arg, struct ssr_err *e)
{
	struct sal_service_id id;
	uint16_t bits;

	sal_service_id_parse(arg, &id, &bits, NULL, 0);
	return ssr_rules_delete(txn, &id, bits, e);
}

/* ---- tests ---- */

static void
test_load_and_lookup(void **state)
{
	struct fx *fx = *state;
	const struct svctable_rule *sr;
	const struct ssr_rule *rl;
	struct ssr_err e;

	assert_int_equal(load(fx,
		"  - { prefix: \"4001/16\", action: forward, mode: gateway, targets:\n"
		"      [{ address: 192.0.2.10, weight: 3 }, { address: 192.0.2.11, priority: 1 }] }\n"
		"  - { prefix: \"dead/16\", action: drop }\n", &e), 0);
	rl = get(fx, "4001/16");
	assert_non_null(rl);
	assert_true(rl->base);
	assert_int_equal(rl->n, 2);
	sr = lookup(fx, "4001aa");
	assert_non_null(sr);
	assert_int_equal(sr->id, rl->slot);
	assert_int_equal(sr->user_flags & SSR_RULE_F_GATEWAY, SSR_RULE_F_GATEWAY);
	assert_int_equal(sr->user_flags >> SSR_RULE_RUN_SHIFT, rl->run);
	assert_true(rl->run >= SSR_TGT_SINK_RUN);
	/* published order: priority first, then address; positions follow it */
	assert_int_equal(sr->tset->targets[0].id, IP(192, 0, 2, 11));
	assert_int_equal(rl->tg[1].pos, 0);
	assert_int_equal(rl->tg[0].pos, 1);
	assert_int_equal(sr->tset->targets[0].ip, rte_cpu_to_be_32(IP(192, 0, 2, 11)));
	assert_int_equal(lookup(fx, "dead0001")->action, SVCTABLE_ACTION_DROP);
	assert_null(lookup(fx, "5001"));
	assert_int_equal(fx->n_ev, 1);
	assert_int_equal(fx->ev[0].kind, SSR_EV_RULE);
	assert_string_equal(fx->ev_change[0], "reload");
	assert_false(fx->ev[0].has_prefix);
}

static void
test_errors_change_nothing(void **state)
{
	struct fx *fx = *state;
	struct ssr_cfg_service s;
	struct ssr_cfg_target t[2] = {
		{ IP(192, 0, 2, 10), 1, 0 }, { IP(10, 0, 0, 1), 1, 0 },
	};
	struct tgt_arg a = { "4001/16", { IP(192, 0, 2, 12), 1, 0 }, 0 };
	struct ssr_rules_txn *txn;
	struct ssr_err e;
	unsigned int slot;

	assert_int_equal(load(fx, "  - { prefix: \"4001/16\", action: forward, targets: "
				"[{ address: 192.0.2.10 }] }\n", &e), 0);
	slot = get(fx, "4001/16")->slot;
	/* add of an existing prefix */
	memset(&s, 0, sizeof(s));
	s.id = sidx("4001");
	s.prefix_bits = 16;
	s.action = SSR_ACTION_DROP;
	txn = ssr_rules_begin(fx->m, "rule.add");
	memset(&e, 0, sizeof(e));
	assert_int_equal(ssr_rules_put(txn, &s, true, &e), -EEXIST);
	assert_string_equal(e.field, "prefix");
	ssr_rules_abort(txn);
	/* an unreachable target (no gateway), named by its field */
	s.id = sidx("4002");
	s.action = SSR_ACTION_FORWARD;
	s.targets = t;
	s.n_targets = 2;
	txn = ssr_rules_begin(fx->m, "rule.add");
	memset(&e, 0, sizeof(e));
	assert_int_equal(ssr_rules_put(txn, &s, true, &e), -EINVAL);
	assert_string_equal(e.field, "targets[1].address");
	ssr_rules_abort(txn);
	/* the router's own address */
	a.t.addr = IP(192, 0, 2, 1);
	assert_int_equal(one(fx, "target.add", do_target_add, &a, &e), -EINVAL);
	/* the last target */
	a.t.addr = IP(192, 0, 2, 10);
	assert_int_equal(one(fx, "target.remove", do_target_remove, &a, &e), -EINVAL);
	a.t.addr = IP(192, 0, 2, 99);
	assert_int_equal(one(fx, "target.remove", do_target_remove, &a, &e), -ENOENT);
	assert_string_equal(e.field, "address");
	assert_int_equal(one(fx, "rule.delete", do_delete, "4009/16", &e), -ENOENT);
	/* nothing moved */
	assert_int_equal(get(fx, "4001/16")->slot, slot);
	assert_int_equal(get(fx, "4001/16")->n, 1);
	assert_null(get(fx, "4002/16"));

	/* a transaction the svctable refuses (8 rules at most) changes nothing:
	 * seven more adds fit, the eighth goes over */
	txn = ssr_rules_begin(fx->m, "batch");
	s.action = SSR_ACTION_DROP;
	s.targets = NULL;
	s.n_targets = 0;
	for (unsigned int i = 0; i < 8; i++) {
		char hex[8];

		snprintf(hex, sizeof(hex), "50%02x", i);
		s.id = sidx(hex);
		memset(&e, 0, sizeof(e));
		assert_int_equal(ssr_rules_put(txn, &s, true, &e), 0);
	}
	memset(&e, 0, sizeof(e));
	assert_int_equal(ssr_rules_commit(txn, &e), -ENOSPC);
	assert_null(get(fx, "5000/16"));
	assert_non_null(get(fx, "4001/16"));
	assert_int_equal(get(fx, "4001/16")->slot, slot);
	assert_non_null(lookup(fx, "4001aa"));
	assert_null(lookup(fx, "5000"));
}

static void
test_counters_survive(void **state)
{
	struct fx *fx = *state;
	struct tgt_arg a = { "4001/16", { IP(192, 0, 2, 12), 1, 0 }, 0 };
	const char *rules =
		"  - { prefix: \"4001/16\", action: forward, targets:\n"
		"      [{ address: 192.0.2.10 }, { address: 192.0.2.11 }] }\n";
	struct ssr_err e;
	unsigned int slot, run;
	uint64_t s10, s11;

	assert_int_equal(load(fx, rules, &e), 0);
	slot = get(fx, "4001/16")->slot;
	run = get(fx, "4001/16")->run;
	worker_counts(fx, 0, "4001aa", IP(192, 0, 2, 10), 5);
	worker_counts(fx, 1, "4001bb", IP(192, 0, 2, 11), 7);
	assert_int_equal(matched(fx, "4001/16"), 12);
	assert_int_equal(selected(fx, "4001/16", IP(192, 0, 2, 10)), 5);
	assert_int_equal(selected(fx, "4001/16", IP(192, 0, 2, 11)), 7);

	/* a weight change keeps the layout: same run */
	a.t.addr = IP(192, 0, 2, 10);
	a.t.weight = 0;
	a.set = SSR_TARGET_SET_WEIGHT;
	assert_int_equal(one(fx, "target.drain", do_target_set, &a, &e), 0);
	assert_int_equal(get(fx, "4001/16")->run, run);
	assert_int_equal(lookup(fx, "4001aa")->tset->targets[0].weight, 0);

	/* a new target changes the layout: a new run, the totals carry over */
	a.t.addr = IP(192, 0, 2, 12);
	a.t.weight = 1;
	assert_int_equal(one(fx, "target.add", do_target_add, &a, &e), 0);
	assert_int_not_equal(get(fx, "4001/16")->run, run);
	assert_int_equal(get(fx, "4001/16")->slot, slot);
	assert_int_equal(selected(fx, "4001/16", IP(192, 0, 2, 10)), 5);
	assert_int_equal(selected(fx, "4001/16", IP(192, 0, 2, 11)), 7);
	assert_int_equal(selected(fx, "4001/16", IP(192, 0, 2, 12)), 0);
	/* a worker still counting in the old run (before its grace period):
	 * the late counts land on their target after it */
	fx->w[0].tgt_ctr[run + 1] += 2; /* .11 was at position 1 */
	ssr_rules_poll(fx->m, 0);
	assert_int_equal(selected(fx, "4001/16", IP(192, 0, 2, 11)), 9);
	worker_counts(fx, 1, "4001aa", IP(192, 0, 2, 12), 3);
	assert_int_equal(selected(fx, "4001/16", IP(192, 0, 2, 12)), 3);

	/* a reload keeps the slot and every counter (the file drops .12) */
	assert_int_equal(load(fx, rules, &e), 0);
	assert_int_equal(get(fx, "4001/16")->slot, slot);
	assert_int_equal(matched(fx, "4001/16"), 15);
	s10 = selected(fx, "4001/16", IP(192, 0, 2, 10));
	s11 = selected(fx, "4001/16", IP(192, 0, 2, 11));
	assert_int_equal(s10, 5);
	assert_int_equal(s11, 9);
	assert_int_equal(get(fx, "4001/16")->tg[0].t.weight, 1); /* the file's */

	/* a deleted rule's slot comes back with counters from zero */
	assert_int_equal(one(fx, "rule.delete", do_delete, "4001/16", &e), 0);
	ssr_rules_poll(fx->m, 0);
	assert_int_equal(load(fx, "  - { prefix: \"4003/16\", action: drop }\n", &e), 0);
	assert_int_equal(get(fx, "4003/16")->slot, slot);
	assert_int_equal(matched(fx, "4003/16"), 0);
	worker_counts(fx, 0, "4003aa", 0, 4);
	assert_int_equal(matched(fx, "4003/16"), 4);
}

static void
test_registrations(void **state)
{
	struct fx *fx = *state;
	struct tgt_arg a = { "4444/32", { IP(192, 0, 2, 50), 1, 0 }, 0 };
	struct ssr_rules_stats st;
	struct ssr_err e;

	/* a registration creates a rule of its own */
	assert_int_equal(one(fx, "register", do_register, &a, &e), 0);
	assert_non_null(get(fx, "4444/32"));
	assert_false(get(fx, "4444/32")->base);
	assert_int_equal(get(fx, "4444/32")->tg[0].origin, SSR_ORIGIN_INBAND);
	assert_int_equal(fx->ev[fx->n_ev - 1].kind, SSR_EV_LEASE);
	assert_string_equal(fx->ev_change[fx->n_ev - 1], "registered");
	/* a reload that does not list the prefix keeps it */
	assert_int_equal(load(fx, "  - { prefix: \"dead/16\", action: drop }\n", &e), 0);
	assert_non_null(get(fx, "4444/32"));
	/* one that makes it a forward rule merges the registration in */
	assert_int_equal(load(fx, "  - { prefix: \"4444/32\", action: forward, targets: "
				"[{ address: 192.0.2.10 }] }\n", &e), 0);
	assert_true(get(fx, "4444/32")->base);
	assert_int_equal(get(fx, "4444/32")->n, 2);
	assert_int_equal(lookup(fx, "4444")->tset->n_targets, 2);
	ssr_rules_get_stats(fx->m, &st);
	assert_int_equal(st.leased, 1);
	/* a configured target cannot be registered */
	a.t.addr = IP(192, 0, 2, 10);
	assert_int_equal(one(fx, "register", do_register, &a, &e), -EEXIST);
	assert_int_equal(one(fx, "unregister", do_unregister, &a, &e), -ENOENT);
	/* one that makes it a drop rule drops the registration, with an event */
	fx->n_ev = 0;
	assert_int_equal(load(fx, "  - { prefix: \"4444/32\", action: drop }\n", &e), 0);
	assert_int_equal(get(fx, "4444/32")->n, 0);
	assert_int_equal(fx->n_ev, 2);
	assert_string_equal(fx->ev_change[1], "unregistered");
	assert_int_equal(fx->ev[1].addr, IP(192, 0, 2, 50));
	a.t.addr = IP(192, 0, 2, 50);
	assert_int_equal(one(fx, "register", do_register, &a, &e), -EINVAL);
	/* the last registration takes a registration-only rule with it */
	assert_int_equal(one(fx, "register", do_register,
				&(struct tgt_arg){ "4445/32", { IP(192, 0, 2, 51), 1, 0 }, 0 }, &e), 0);
	assert_int_equal(one(fx, "unregister", do_unregister,
				&(struct tgt_arg){ "4445/32", { IP(192, 0, 2, 51), 1, 0 }, 0 }, &e), 0);
	assert_null(get(fx, "4445/32"));
	assert_null(lookup(fx, "4445"));
}

static void
test_health_and_flow_resets(void **state)
{
	struct fx *fx = *state;
	struct ssr_rules_txn *txn;
	const struct svctable_rule *sr;
	const struct ssr_rule *rl;
	struct ssr_err e;
	unsigned int i, slot;

	assert_int_equal(load(fx,
		"  - prefix: \"4001/16\"\n"
		"    action: forward\n"
		"    mode: gateway\n"
		"    targets: [{ address: 192.0.2.10 }, { address: 192.0.2.11 }]\n"
		"    health: { on_down: reset }\n"
		"  - prefix: \"4002/16\"\n"
		"    action: forward\n"
		"    mode: gateway\n"
		"    targets: [{ address: 192.0.2.11 }]\n", &e), 0);
	assert_true(ssr_rules_gateway_target(fx->m, IP(192, 0, 2, 10)));
	rl = get(fx, "4001/16");
	slot = rl->slot; /* a commit replaces the rule object: keep only its slot */
	/* down: published with weight 0, an event, its flows reset */
	fx->n_ev = 0;
	txn = ssr_rules_begin(fx->m, "health");
	assert_int_equal(ssr_rules_set_health(txn, slot, IP(192, 0, 2, 10),
				SSR_HEALTH_DOWN, &e), 0);
	assert_int_equal(ssr_rules_commit(txn, &e), 0);
	sr = lookup(fx, "4001aa");
	for (i = 0; i < sr->tset->n_targets; i++)
		assert_int_equal(sr->tset->targets[i].weight,
				sr->tset->targets[i].id == IP(192, 0, 2, 10) ? 0 : 1);
	assert_int_equal(sr->tset->n_active, 1);
	assert_int_equal(fx->n_ev, 2);
	assert_int_equal(fx->ev[1].kind, SSR_EV_HEALTH);
	assert_string_equal(fx->ev_change[1], "down");
	assert_int_equal(fx->n_gone, 1);
	assert_int_equal(fx->gone[0], IP(192, 0, 2, 10));
	/* the configured weight is kept: up again restores it */
	assert_int_equal(get(fx, "4001/16")->tg[0].t.weight, 1);
	txn = ssr_rules_begin(fx->m, "health");
	assert_int_equal(ssr_rules_set_health(txn, slot, IP(192, 0, 2, 10),
				SSR_HEALTH_UP, &e), 0);
	assert_int_equal(ssr_rules_commit(txn, &e), 0);
	assert_int_equal(lookup(fx, "4001aa")->tset->n_active, 2);
	assert_int_equal(fx->n_gone, 1);

	/* a removed gateway target: its flows go, unless another gateway rule
	 * still sends to it */
	assert_int_equal(one(fx, "target.remove", do_target_remove,
				&(struct tgt_arg){ "4001/16", { IP(192, 0, 2, 11), 0, 0 }, 0 }, &e), 0);
	assert_int_equal(fx->n_gone, 1);
	assert_int_equal(one(fx, "target.remove", do_target_remove,
				&(struct tgt_arg){ "4001/16", { IP(192, 0, 2, 10), 0, 0 }, 0 }, &e),
			-EINVAL);
	assert_int_equal(one(fx, "rule.delete", do_delete, "4001/16", &e), 0);
	assert_int_equal(fx->n_gone, 2);
	assert_int_equal(fx->gone[1], IP(192, 0, 2, 10));
	assert_false(ssr_rules_gateway_target(fx->m, IP(192, 0, 2, 10)));
	assert_int_equal(one(fx, "rule.delete", do_delete, "4002/16", &e), 0);
	assert_int_equal(fx->n_gone, 3);
	assert_int_equal(fx->gone[2], IP(192, 0, 2, 11));
}

static void
test_resolve_is_the_workers_pick(void **state)
{
	struct fx *fx = *state;
	const struct ssr_target *t;
	const struct svctable_rule *sr;
	struct sal_service_id id = sidx("4001aa");
	struct ssr_err e;
	uint32_t f;

	assert_int_equal(load(fx, "  - { prefix: \"4001/16\", action: forward, targets:\n"
				"      [{ address: 192.0.2.10, weight: 3 }, { address: 192.0.2.11 },\n"
				"       { address: 192.0.2.12 }] }\n", &e), 0);
	sr = lookup(fx, "4001aa");
	for (f = 1; f < 500; f++) {
		const struct svctable_target *w = svctable_pick(sr,
				svctable_flow_hash(IP(198, 51, 100, 7), f));

		assert_non_null(ssr_rules_resolve(fx->m, &id, true, IP(198, 51, 100, 7), f, &t));
		assert_non_null(t);
		assert_int_equal(t->t.addr, w->id);
	}
	assert_null(ssr_rules_resolve(fx->m, &(struct sal_service_id){ .b = { 0x50 } },
				true, 1, 1, &t));
	assert_null(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_survive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_and_flow_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_is_the_workers_pick, setup,
				teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
