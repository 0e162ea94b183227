/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include "router.h"
#include "services.h"
#include "svctable.h"
#include "worker.h"

/*
 * Grace-period work queued at most before a commit says busy: a floor, plus
 * room for the largest transaction the slots allow (a reload replacing every
 * rule: each of up to 2 x n_slots staged changes retires a slot and a run),
 * so a service map of any size the slots hold can be loaded in one commit.
 */
#define RETIRE_MIN 65536
/* Lease expiry is checked this often (ms). */
#define LEASE_SCAN_MS 50
/* Size classes of target-counter runs: 1, 2, 4, ... SSR_CFG_MAX_TARGETS. */
#define RUN_CLASSES 7

_Static_assert(SSR_CFG_MAX_SERVICES <= SVCTABLE_MAX_RULES,
		"every service a config may list fits the service table");
_Static_assert(1u << (RUN_CLASSES - 1) == SSR_CFG_MAX_TARGETS,
		"the largest run holds a full rule");

static const char *const rcnt_names[SSR_RCNT_MAX] = {
#define SSR_RCNT_NAME_(n, s, d) [SSR_RCNT_##n] = s,
	SSR_RULE_COUNTERS(SSR_RCNT_NAME_)
#undef SSR_RCNT_NAME_
};

const char *
ssr_rule_counter_name(enum ssr_rule_counter c)
{
	return (unsigned int)c < SSR_RCNT_MAX ? rcnt_names[c] : "?";
}

const char *
ssr_origin_name(enum ssr_target_origin o)
{
	switch (o) {
	case SSR_ORIGIN_CONFIG:
		return "config";
	case SSR_ORIGIN_LEASE:
		return "lease";
	case SSR_ORIGIN_INBAND:
		return "inband";
	}
	return "?";
}

const char *
ssr_health_state_name(enum ssr_health_state s)
{
	switch (s) {
	case SSR_HEALTH_UNKNOWN:
		return "unknown";
	case SSR_HEALTH_UP:
		return "up";
	case SSR_HEALTH_DOWN:
		return "down";
	}
	return "?";
}

uint64_t
ssr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the model ---- */

/* Work that waits for a grace period (FIFO: a run before its slot). */
struct retire {
	uint64_t token;
	uint32_t slot;     /* RUN: rule it belonged to; SLOT: the slot */
	uint32_t run;      /* RUN: base */
	uint8_t is_run;
	uint8_t cls;
	uint8_t n;         /* RUN: addresses below */
	uint32_t *addr;    /* RUN: address at each position (malloc) */
};

/* Address -> how many gateway-mode rules target it (flows keep their
 * target by address only). Open addressing, backward-shift deletion. */
struct addr_ref {
	uint32_t addr;     /* 0: empty (0.0.0.0 is never a target) */
	uint32_t n;
};

struct ssr_rules {
	struct ssr_router *r;         /* [I] */
	struct svctable *t;           /* [I] */
	uint32_t n_slots;             /* [I] */
	struct ssr_rule **slot;       /* committed rule per slot, or NULL */
	uint32_t *free_slot;          /* stack of reusable slots */
	uint32_t n_free_slot;
	uint32_t next_slot;           /* never-used slots start here */
	uint64_t (*rbase)[SSR_RCNT_MAX]; /* counter baseline per slot */
	uint32_t n_tgt;               /* [I] target-counter entries */
	uint64_t *tbase;              /* counter baseline per entry */
	uint32_t run_bump;            /* never-used entries start here */
	uint32_t *run_free[RUN_CLASSES];
	uint32_t run_nfree[RUN_CLASSES];
	uint32_t run_cap[RUN_CLASSES];
	struct retire *ret;           /* ring of pending grace-period work */
	uint32_t ret_head, ret_n, ret_cap;
	struct addr_ref *gw;          /* gateway target references */
	uint32_t gw_cap, gw_n;
	ssr_event_fn ev;
	ssr_flows_gone_fn gone;
	void *hook_arg;
	uint64_t next_lease_scan;
	uint32_t n_leased;
	uint32_t n_rules;
	struct ssr_rules_stats st;
};

/* A staged rule: the new state of one prefix (NULL: deleted). */
struct stage {
	struct sal_service_id id;
	uint16_t bits;
	const struct ssr_rule *old;   /* committed version, or NULL */
	struct ssr_rule *nw;          /* staged version, or NULL (deleted) */
	uint32_t new_slot;            /* allocated at commit: undo on failure */
	uint32_t new_run;             /* allocated at commit: undo on failure */
	uint8_t new_run_cls;
	uint8_t alloc;                /* bit 0: slot allocated, bit 1: run */
};

/* A lease or health event to send once the commit succeeded. */
struct pending_ev {
	enum ssr_event_kind kind;
	const char *change;
	struct sal_service_id id;
	uint16_t bits;
	uint32_t addr;
	uint8_t origin;
};

struct ssr_rules_txn {
	struct ssr_rules *m;
	const char *change;
	bool replace_all;         /* committed rules not staged are deleted */
	struct stage *st;
	uint32_t n, cap;
	uint32_t *map;            /* prefix hash -> index + 1 */
	uint32_t map_cap;
	struct pending_ev *evs;
	uint32_t n_evs, cap_evs;
};

/* ---- small helpers ---- */

static int __attribute__((format(printf, 4, 5)))
err_set(struct ssr_err *e, int err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (err < 0)
		err = -err;
	if (e != NULL && e->err == 0) {
		e->err = err;
		snprintf(e->field, sizeof(e->field), "%s", field != NULL ? field : "");
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -err;
}

static char *
pfx_str(const struct sal_service_id *id, uint16_t bits, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int nb, i;
	size_t off = 0;

	for (nb = sizeof(id->b); nb > 1 && id->b[nb - 1] == 0; nb--)
		;
	for (i = 0; i < nb && off + 2 < len; i++) {
		buf[off++] = hex[id->b[i] >> 4];
		buf[off++] = hex[id->b[i] & 0xf];
	}
	snprintf(buf + off, len - off, "/%u", (unsigned int)bits);
	return buf;
}

static char *
ip_str(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
			a & 0xff);
	return buf;
}

static bool
same_prefix(const struct sal_service_id *a, uint16_t abits,
		const struct sal_service_id *b, uint16_t bbits)
{
	return abits == bbits && memcmp(a, b, sizeof(*a)) == 0;
}

static uint32_t
prefix_hash(const struct sal_service_id *id, uint16_t bits)
{
	uint64_t h = 0xcbf29ce484222325ull ^ bits;
	unsigned int i;

	for (i = 0; i < sizeof(id->b); i++)
		h = (h ^ id->b[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

static int
rule_find_target(const struct ssr_rule *rl, uint32_t addr)
{
	unsigned int i;

	for (i = 0; i < rl->n; i++)
		if (rl->tg[i].t.addr == addr)
			return i;
	return -1;
}

static struct ssr_rule *
rule_dup(const struct ssr_rule *src)
{
	struct ssr_rule *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	*d = *src;
	d->s.targets = NULL;
	d->s.n_targets = 0;
	d->tg = calloc(SSR_CFG_MAX_TARGETS, sizeof(*d->tg));
	if (d->tg == NULL) {
		free(d);
		return NULL;
	}
	memcpy(d->tg, src->tg, src->n * sizeof(*d->tg));
	return d;
}

static void
rule_free(struct ssr_rule *rl)
{
	if (rl == NULL)
		return;
	free(rl->tg);
	free(rl);
}

static uint16_t
effective_weight(const struct ssr_rule *rl, const struct ssr_target *t)
{
	if (rl->s.health.enabled && t->health == SSR_HEALTH_DOWN)
		return 0;
	return t->t.weight;
}

static bool
is_gateway(const struct ssr_rule *rl)
{
	return rl != NULL && rl->s.action == SSR_ACTION_FORWARD &&
		rl->s.mode == SSR_MODE_GATEWAY;
}

/* ---- counters ---- */

static uint64_t
sum_tgt(const struct ssr_rules *m, uint32_t entry)
{
	const struct ssr_router *r = m->r;
	uint64_t s = 0;
	unsigned int w;

	for (w = 0; w < r->n_workers; w++)
		if (r->workers[w]->tgt_ctr != NULL && entry < r->workers[w]->n_tgt_ctr)
			/* relaxed: a monotonic counter its worker owns */
			s += __atomic_load_n(&r->workers[w]->tgt_ctr[entry], __ATOMIC_RELAXED);
	return s;
}

static void
sum_rule(const struct ssr_rules *m, uint32_t slot, uint64_t out[SSR_RCNT_MAX])
{
	const struct ssr_router *r = m->r;
	unsigned int w, k;

	memset(out, 0, SSR_RCNT_MAX * sizeof(out[0]));
	for (w = 0; w < r->n_workers; w++) {
		const struct ssr_worker *wk = r->workers[w];

		if (wk->rule_ctr == NULL || slot >= wk->n_rule_ctr)
			continue;
		for (k = 0; k < SSR_RCNT_MAX; k++)
			/* relaxed: as sum_tgt() */
			out[k] += __atomic_load_n(&wk->rule_ctr[slot].c[k], __ATOMIC_RELAXED);
	}
}

void
ssr_rules_counters(const struct ssr_rules *m, const struct ssr_rule *rule,
		uint64_t out[SSR_RCNT_MAX])
{
	unsigned int k;

	sum_rule(m, rule->slot, out);
	for (k = 0; k < SSR_RCNT_MAX; k++)
		out[k] -= m->rbase[rule->slot][k];
}

uint64_t
ssr_rules_selected(const struct ssr_rules *m, const struct ssr_rule *rule,
		unsigned int i)
{
	const struct ssr_target *t = &rule->tg[i];
	uint32_t e;

	if (i >= rule->n || rule->s.action != SSR_ACTION_FORWARD ||
			rule->run < SSR_TGT_SINK_RUN)
		return t->selected_acc;
	e = rule->run + t->pos;
	return t->selected_acc + (sum_tgt(m, e) - m->tbase[e]);
}

/* ---- slots and runs ---- */

static int
slot_alloc(struct ssr_rules *m, uint32_t *slot)
{
	uint32_t s;

	if (m->n_free_slot > 0)
		s = m->free_slot[--m->n_free_slot];
	else if (m->next_slot < m->n_slots)
		s = m->next_slot++;
	else
		return -ENOSPC;
	/* nobody counts into a slot that is not published: the sums are still */
	sum_rule(m, s, m->rbase[s]);
	*slot = s;
	return 0;
}

static void
slot_unalloc(struct ssr_rules *m, uint32_t s)
{
	m->free_slot[m->n_free_slot++] = s;
}

static unsigned int
run_class(unsigned int n)
{
	unsigned int c = 0;

	while ((1u << c) < n)
		c++;
	return c;
}

static int
run_push(struct ssr_rules *m, unsigned int cls, uint32_t base)
{
	if (m->run_nfree[cls] == m->run_cap[cls]) {
		uint32_t cap = m->run_cap[cls] ? m->run_cap[cls] * 2 : 64;
		uint32_t *p = realloc(m->run_free[cls], cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		m->run_free[cls] = p;
		m->run_cap[cls] = cap;
	}
	m->run_free[cls][m->run_nfree[cls]++] = base;
	return 0;
}

/* A baselined run of 2^cls entries, or 0 (the shared sink) when none is free. */
static uint32_t
run_alloc(struct ssr_rules *m, unsigned int cls)
{
	uint32_t base, i, len = 1u << cls;

	if (m->run_nfree[cls] > 0)
		base = m->run_free[cls][--m->run_nfree[cls]];
	else if (m->run_bump + len <= m->n_tgt && m->run_bump + len <= SSR_RULE_RUN_MAX) {
		base = m->run_bump;
		m->run_bump += len;
	} else {
		m->st.run_exhausted++;
		return 0;
	}
	for (i = 0; i < len; i++)
		m->tbase[base + i] = sum_tgt(m, base + i);
	return base;
}

static void
run_unalloc(struct ssr_rules *m, uint32_t base, unsigned int cls)
{
	if (base >= SSR_TGT_SINK_RUN && run_push(m, cls, base) != 0)
		m->st.run_exhausted++; /* leaked to the allocator, still correct */
}

/* ---- gateway target references ---- */

static uint32_t
gw_hash(uint32_t a)
{
	return (a * 0x9e3779b1u) >> 7;
}

static int
gw_grow(struct ssr_rules *m)
{
	uint32_t cap = m->gw_cap ? m->gw_cap * 2 : 256, i;
	struct addr_ref *old = m->gw, *nw = calloc(cap, sizeof(*nw));

	if (nw == NULL)
		return -ENOMEM;
	for (i = 0; i < m->gw_cap; i++) {
		uint32_t h;

		if (old[i].addr == 0)
			continue;
		for (h = gw_hash(old[i].addr) & (cap - 1); nw[h].addr != 0; h = (h + 1) & (cap - 1))
			;
		nw[h] = old[i];
	}
	free(old);
	m->gw = nw;
	m->gw_cap = cap;
	return 0;
}

static struct addr_ref *
gw_find(const struct ssr_rules *m, uint32_t addr)
{
	uint32_t h;

	if (m->gw_cap == 0)
		return NULL;
	for (h = gw_hash(addr) & (m->gw_cap - 1); m->gw[h].addr != 0;
			h = (h + 1) & (m->gw_cap - 1))
		if (m->gw[h].addr == addr)
			return &m->gw[h];
	return NULL;
}

static void
gw_ref(struct ssr_rules *m, uint32_t addr)
{
	struct addr_ref *a = gw_find(m, addr);
	uint32_t h;

	if (a != NULL) {
		a->n++;
		return;
	}
	if ((m->gw_n + 1) * 2 > m->gw_cap && gw_grow(m) != 0)
		return; /* out of memory: flows to it are then never reset */
	for (h = gw_hash(addr) & (m->gw_cap - 1); m->gw[h].addr != 0;
			h = (h + 1) & (m->gw_cap - 1))
		;
	m->gw[h].addr = addr;
	m->gw[h].n = 1;
	m->gw_n++;
}

/* Drop one reference; true when nothing refers to the address any more. */
static bool
gw_unref(struct ssr_rules *m, uint32_t addr)
{
	struct addr_ref *a = gw_find(m, addr);
	uint32_t i, j, h;

	if (a == NULL)
		return false;
	if (--a->n > 0)
		return false;
	/* backward-shift deletion keeps every probe chain intact */
	i = a - m->gw;
	for (j = (i + 1) & (m->gw_cap - 1); m->gw[j].addr != 0; j = (j + 1) & (m->gw_cap - 1)) {
		h = gw_hash(m->gw[j].addr) & (m->gw_cap - 1);
		if (((j - h) & (m->gw_cap - 1)) >= ((j - i) & (m->gw_cap - 1))) {
			m->gw[i] = m->gw[j];
			i = j;
		}
	}
	m->gw[i].addr = 0;
	m->gw[i].n = 0;
	m->gw_n--;
	return true;
}

bool
ssr_rules_gateway_target(const struct ssr_rules *m, uint32_t addr)
{
	return gw_find(m, addr) != NULL;
}

/* ---- grace periods ---- */

static uint64_t
retire_limit(const struct ssr_rules *m)
{
	return RETIRE_MIN + 4 * (uint64_t)m->n_slots;
}

static int
retire_push(struct ssr_rules *m, const struct retire *x)
{
	if (m->ret_n == m->ret_cap) {
		uint64_t cap = m->ret_cap ? (uint64_t)m->ret_cap * 2 : 256;
		struct retire *nr;
		uint32_t i;

		if (m->ret_cap >= retire_limit(m))
			return -EBUSY;
		cap = RTE_MIN(cap, retire_limit(m));
		nr = calloc(cap, sizeof(*nr));
		if (nr == NULL)
			return -ENOMEM;
		for (i = 0; i < m->ret_n; i++)
			nr[i] = m->ret[(m->ret_head + i) % m->ret_cap];
		free(m->ret);
		m->ret = nr;
		m->ret_head = 0;
		m->ret_cap = (uint32_t)cap;
	}
	m->ret[(m->ret_head + m->ret_n) % m->ret_cap] = *x;
	m->ret_n++;
	return 0;
}

static uint64_t
grace_token(const struct ssr_rules *m)
{
	return m->r->qsv != NULL ? rte_rcu_qsbr_start(m->r->qsv) : 0;
}

static void
retire_finish(struct ssr_rules *m, struct retire *x)
{
	unsigned int i;

	if (!x->is_run) {
		slot_unalloc(m, x->slot);
		return;
	}
	/* the last counts of a version no worker can see any more */
	for (i = 0; i < x->n; i++) {
		uint32_t e = x->run + i;
		uint64_t v = sum_tgt(m, e) - m->tbase[e];
		struct ssr_rule *rl = x->slot < m->n_slots ? m->slot[x->slot] : NULL;
		int k = rl != NULL ? rule_find_target(rl, x->addr[i]) : -1;

		if (k >= 0)
			rl->tg[k].selected_acc += v;
	}
	free(x->addr);
	run_unalloc(m, x->run, x->cls);
}

static void
retire_poll(struct ssr_rules *m)
{
	while (m->ret_n > 0) {
		struct retire *x = &m->ret[m->ret_head];

		if (m->r->qsv != NULL && rte_rcu_qsbr_check(m->r->qsv, x->token, false) != 1)
			break;
		retire_finish(m, x);
		m->ret_head = (m->ret_head + 1) % m->ret_cap;
		m->ret_n--;
	}
}

/* ---- create / free ---- */

struct ssr_rules *
ssr_rules_create(struct ssr_router *r)
{
	struct ssr_rules *m;

	if (r == NULL || r->svc == NULL || r->n_rule_slots == 0 ||
			r->n_tgt_ctr <= SSR_TGT_SINK_RUN) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto nomem;
	m->r = r;
	m->t = r->svc;
	m->n_slots = r->n_rule_slots;
	m->n_tgt = r->n_tgt_ctr;
	m->slot = calloc(m->n_slots, sizeof(*m->slot));
	m->free_slot = calloc(m->n_slots, sizeof(*m->free_slot));
	m->rbase = calloc(m->n_slots, sizeof(*m->rbase));
	m->tbase = calloc(m->n_tgt, sizeof(*m->tbase));
	if (m->slot == NULL || m->free_slot == NULL || m->rbase == NULL ||
			m->tbase == NULL)
		goto nomem;
	m->run_bump = SSR_TGT_SINK_RUN;
	return m;
nomem:
	ssr_rules_free(m);
	errno = ENOMEM;
	return NULL;
}

void
ssr_rules_free(struct ssr_rules *m)
{
	unsigned int i;

	if (m == NULL)
		return;
	for (i = 0; m->slot != NULL && i < m->n_slots; i++)
		rule_free(m->slot[i]);
	for (i = 0; i < m->ret_n; i++)
		free(m->ret[(m->ret_head + i) % m->ret_cap].addr);
	for (i = 0; i < RUN_CLASSES; i++)
		free(m->run_free[i]);
	free(m->ret);
	free(m->gw);
	free(m->slot);
	free(m->free_slot);
	free(m->rbase);
	free(m->tbase);
	free(m);
}

void
ssr_rules_set_hooks(struct ssr_rules *m, ssr_event_fn ev, ssr_flows_gone_fn gone,
		void *arg)
{
	m->ev = ev;
	m->gone = gone;
	m->hook_arg = arg;
}

void
ssr_rules_emit(struct ssr_rules *m, const struct ssr_event *ev)
{
	if (m != NULL && m->ev != NULL)
		m->ev(m->hook_arg, ev);
}

/* ---- lookups ---- */

const struct ssr_rule *
ssr_rules_at(const struct ssr_rules *m, uint32_t slot)
{
	return slot < m->n_slots ? m->slot[slot] : NULL;
}

const struct ssr_rule *
ssr_rules_get(const struct ssr_rules *m, const struct sal_service_id *id,
		uint16_t bits)
{
	const struct svctable_rule *sr;
	const struct ssr_rule *rl;

	if (bits > SVCTABLE_KEY_BITS || svctable_get(m->t, (const struct svctable_key *)
				(const void *)id, bits, &sr) != 0)
		return NULL;
	rl = ssr_rules_at(m, sr->id);
	return rl != NULL && same_prefix(&rl->s.id, rl->s.prefix_bits, id, bits) ? rl : NULL;
}

const struct ssr_rule *
ssr_rules_resolve(const struct ssr_rules *m, const struct sal_service_id *sid,
		bool use_pick, uint32_t client_ip, uint32_t flowid,
		const struct ssr_target **target)
{
	const struct svctable_rule *sr;
	const struct svctable_target *st;
	const struct ssr_rule *rl;
	int k;

	if (target != NULL)
		*target = NULL;
	/* the control lcore reclaims svctable memory itself: sr stays valid */
	sr = svctable_lookup(m->t, (const struct svctable_key *)(const void *)sid);
	if (sr == NULL)
		return NULL;
	rl = ssr_rules_at(m, sr->id);
	if (rl == NULL || !use_pick || target == NULL)
		return rl;
	st = svctable_pick(sr, svctable_flow_hash(client_ip, flowid));
	if (st == NULL)
		return rl;
	k = rule_find_target(rl, st->id);
	*target = k >= 0 ? &rl->tg[k] : NULL;
	return rl;
}

uint32_t
ssr_rules_slots_used(const struct ssr_rules *m)
{
	return m->next_slot;
}

struct ssr_target *
ssr_rules_target_mut(struct ssr_rules *m, uint32_t slot, unsigned int i)
{
	struct ssr_rule *rl = slot < m->n_slots ? m->slot[slot] : NULL;

	return rl != NULL && i < rl->n ? &rl->tg[i] : NULL;
}

struct walk_ctx {
	const struct ssr_rules *m;
	ssr_rules_walk_fn fn;
	void *arg;
};

static int
walk_one(const struct svctable_rule *sr, void *arg)
{
	struct walk_ctx *w = arg;
	const struct ssr_rule *rl = ssr_rules_at(w->m, sr->id);

	return rl != NULL ? w->fn(rl, w->arg) : 0;
}

int
ssr_rules_walk(const struct ssr_rules *m, ssr_rules_walk_fn fn, void *arg)
{
	struct walk_ctx w = { .m = m, .fn = fn, .arg = arg };

	return svctable_walk(m->t, walk_one, &w);
}

void
ssr_rules_get_stats(const struct ssr_rules *m, struct ssr_rules_stats *st)
{
	*st = m->st;
	st->rules = m->n_rules;
	st->leased = m->n_leased;
	st->retire_pending = m->ret_n;
}

/* ---- transactions: staging ---- */

struct ssr_rules_txn *
ssr_rules_begin(struct ssr_rules *m, const char *change)
{
	struct ssr_rules_txn *txn;

	if (m == NULL) {
		errno = EINVAL;
		return NULL;
	}
	txn = calloc(1, sizeof(*txn));
	if (txn == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	txn->m = m;
	txn->change = change != NULL ? change : "change";
	return txn;
}

void
ssr_rules_abort(struct ssr_rules_txn *txn)
{
	uint32_t i;

	if (txn == NULL)
		return;
	for (i = 0; i < txn->n; i++)
		rule_free(txn->st[i].nw);
	free(txn->st);
	free(txn->map);
	free(txn->evs);
	free(txn);
}

static int
map_grow(struct ssr_rules_txn *txn)
{
	uint32_t cap = txn->map_cap ? txn->map_cap * 2 : 64, i;
	uint32_t *map = calloc(cap, sizeof(*map));

	if (map == NULL)
		return -ENOMEM;
	for (i = 0; i < txn->n; i++) {
		uint32_t h = prefix_hash(&txn->st[i].id, txn->st[i].bits) & (cap - 1);

		while (map[h] != 0)
			h = (h + 1) & (cap - 1);
		map[h] = i + 1;
	}
	free(txn->map);
	txn->map = map;
	txn->map_cap = cap;
	return 0;
}

static struct stage *
stage_find(const struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits)
{
	uint32_t h;

	if (txn->map_cap == 0)
		return NULL;
	for (h = prefix_hash(id, bits) & (txn->map_cap - 1); txn->map[h] != 0;
			h = (h + 1) & (txn->map_cap - 1)) {
		struct stage *s = &txn->st[txn->map[h] - 1];

		if (same_prefix(&s->id, s->bits, id, bits))
			return s;
	}
	return NULL;
}

static struct stage *
stage_new(struct ssr_rules_txn *txn, const struct sal_service_id *id, uint16_t bits,
		const struct ssr_rule *old)
{
	struct stage *s;
	uint32_t h;

	if ((txn->n + 1) * 2 > txn->map_cap && map_grow(txn) != 0)
		return NULL;
	if (txn->n == txn->cap) {
		uint32_t cap = txn->cap ? txn->cap * 2 : 8;
		struct stage *st = realloc(txn->st, cap * sizeof(*st));

		if (st == NULL)
			return NULL;
		txn->st = st;
		txn->cap = cap;
	}
	s = &txn->st[txn->n];
	memset(s, 0, sizeof(*s));
	s->id = *id;
	s->bits = bits;
	s->old = old;
	for (h = prefix_hash(id, bits) & (txn->map_cap - 1); txn->map[h] != 0;
			h = (h + 1) & (txn->map_cap - 1))
		;
	txn->map[h] = ++txn->n;
	return s;
}

/* The rule of a prefix as this transaction sees it (NULL: none). */
static const struct ssr_rule *
view(const struct ssr_rules_txn *txn, const struct sal_service_id *id, uint16_t bits)
{
	const struct stage *s = stage_find(txn, id, bits);

	if (s != NULL)
		return s->nw;
	if (txn->replace_all)
		return NULL;
	return ssr_rules_get(txn->m, id, bits);
}

/* The staged copy of a prefix's rule to modify (created from the committed
 * one on first use); NULL with *err when there is none or out of memory. */
static struct ssr_rule *
writable(struct ssr_rules_txn *txn, const struct sal_service_id *id, uint16_t bits,
		int *err)
{
	struct stage *s = stage_find(txn, id, bits);
	const struct ssr_rule *cur;
	struct ssr_rule *copy;

	*err = -ENOENT;
	if (s != NULL)
		return s->nw;
	cur = txn->replace_all ? NULL : ssr_rules_get(txn->m, id, bits);
	if (cur == NULL)
		return NULL;
	*err = -ENOMEM;
	copy = rule_dup(cur);
	if (copy == NULL)
		return NULL;
	s = stage_new(txn, id, bits, cur);
	if (s == NULL) {
		rule_free(copy);
		return NULL;
	}
	s->nw = copy;
	return copy;
}

/* Stage @p nw (owned) as the new state of its prefix, replacing whatever
 * was staged. */
static int
stage_set(struct ssr_rules_txn *txn, const struct sal_service_id *id, uint16_t bits,
		struct ssr_rule *nw)
{
	struct stage *s = stage_find(txn, id, bits);

	if (s == NULL) {
		const struct ssr_rule *old = ssr_rules_get(txn->m, id, bits);

		s = stage_new(txn, id, bits, old);
		if (s == NULL) {
			rule_free(nw);
			return -ENOMEM;
		}
	} else if (s->nw != nw) {
		rule_free(s->nw);
	}
	s->nw = nw;
	return 0;
}

static int
queue_ev(struct ssr_rules_txn *txn, enum ssr_event_kind kind, const char *change,
		const struct sal_service_id *id, uint16_t bits, uint32_t addr, uint8_t origin)
{
	struct pending_ev *p;

	if (txn->n_evs == txn->cap_evs) {
		uint32_t cap = txn->cap_evs ? txn->cap_evs * 2 : 8;

		p = realloc(txn->evs, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		txn->evs = p;
		txn->cap_evs = cap;
	}
	p = &txn->evs[txn->n_evs++];
	p->kind = kind;
	p->change = change;
	p->id = *id;
	p->bits = bits;
	p->addr = addr;
	p->origin = origin;
	return 0;
}

/* A target the router can send to: routable and not its own address. */
static int
check_target(const struct ssr_rules_txn *txn, uint32_t addr, const char *field,
		struct ssr_err *e)
{
	const struct ssr_router *r = txn->m->r;
	rte_be32_t nh, a = rte_cpu_to_be_32(addr);
	char ip[16];
	unsigned int i;

	if (!ssr_ipv4_is_unicast(addr))
		return err_set(e, EINVAL, field, "%s is not a unicast host address",
				ip_str(addr, ip, sizeof(ip)));
	for (i = 0; i < r->n_ports; i++)
		if (r->port[i].addr == a)
			return err_set(e, EINVAL, field, "%s is the router's own address",
					ip_str(addr, ip, sizeof(ip)));
	if (ssr_route(r, a, &nh) < 0)
		return err_set(e, EINVAL, field, "%s is not reachable: not in a "
				"connected subnet, and no gateway", ip_str(addr, ip, sizeof(ip)));
	return 0;
}

static struct ssr_rule *
rule_from_cfg(const struct ssr_cfg_service *s)
{
	struct ssr_rule *rl = calloc(1, sizeof(*rl));
	unsigned int i;

	if (rl == NULL)
		return NULL;
	rl->tg = calloc(SSR_CFG_MAX_TARGETS, sizeof(*rl->tg));
	if (rl->tg == NULL) {
		free(rl);
		return NULL;
	}
	rl->s = *s;
	rl->s.targets = NULL;
	rl->s.n_targets = 0;
	rl->s.line = 0;
	if (s->action != SSR_ACTION_FORWARD)
		memset(&rl->s.health, 0, sizeof(rl->s.health));
	rl->base = true;
	for (i = 0; s->action == SSR_ACTION_FORWARD && i < s->n_targets &&
			i < SSR_CFG_MAX_TARGETS; i++) {
		rl->tg[i].t = s->targets[i];
		rl->tg[i].origin = SSR_ORIGIN_CONFIG;
	}
	rl->n = i;
	return rl;
}

/*
 * The new configured rule @p nw replaces @p old: keep old's registered
 * targets, and the health state and counters of every target both have.
 * Registrations that do not fit (not forward, address taken, full) are
 * dropped with an "unregistered" event.
 */
static int
merge_old(struct ssr_rules_txn *txn, struct ssr_rule *nw, const struct ssr_rule *old)
{
	unsigned int i;
	int k;

	if (old == NULL)
		return 0;
	for (i = 0; i < old->n; i++) {
		const struct ssr_target *o = &old->tg[i];

		k = rule_find_target(nw, o->t.addr);
		if (k >= 0 && o->origin != SSR_ORIGIN_CONFIG &&
				queue_ev(txn, SSR_EV_LEASE, "unregistered", &old->s.id,
					old->s.prefix_bits, o->t.addr, o->origin) != 0)
			return -ENOMEM;
		if (k >= 0) {
			if (nw->s.health.enabled && old->s.health.enabled)
				nw->tg[k].health = o->health;
			nw->tg[k].probe = o->probe;
			nw->tg[k].selected_acc = o->selected_acc;
			continue;
		}
		if (o->origin == SSR_ORIGIN_CONFIG)
			continue;
		if (nw->s.action != SSR_ACTION_FORWARD || nw->n >= SSR_CFG_MAX_TARGETS) {
			if (queue_ev(txn, SSR_EV_LEASE, "unregistered", &old->s.id,
						old->s.prefix_bits, o->t.addr, o->origin) != 0)
				return -ENOMEM;
			continue;
		}
		nw->tg[nw->n] = *o;
		if (!(nw->s.health.enabled && old->s.health.enabled))
			nw->tg[nw->n].health = SSR_HEALTH_UNKNOWN;
		nw->n++;
	}
	return 0;
}

/*
 * Stage the rule @p s describes in place of @p old (or as new when NULL),
 * keeping the registrations, health state and counters of the running rule.
 */
static int
stage_from_cfg(struct ssr_rules_txn *txn, const struct ssr_cfg_service *s,
		const struct ssr_rule *old, struct ssr_err *e)
{
	struct ssr_rule *nw = rule_from_cfg(s);
	int ret;

	if (nw == NULL)
		return err_set(e, ENOMEM, NULL, "out of memory");
	ret = merge_old(txn, nw, old);
	if (ret != 0) {
		rule_free(nw);
		return err_set(e, ret, NULL, "out of memory");
	}
	ret = stage_set(txn, &s->id, s->prefix_bits, nw);
	return ret != 0 ? err_set(e, ret, NULL, "out of memory") : 0;
}

int
ssr_rules_put(struct ssr_rules_txn *txn, const struct ssr_cfg_service *s,
		bool must_be_new, struct ssr_err *e)
{
	const struct ssr_rule *cur = view(txn, &s->id, s->prefix_bits);
	char field[64];
	unsigned int i;
	int ret;

	if (must_be_new && cur != NULL && cur->base)
		return err_set(e, EEXIST, "prefix", "a rule with this prefix exists "
				"(use rule.replace)");
	if (s->prefix_bits > SVCTABLE_KEY_BITS)
		return err_set(e, EINVAL, "prefix", "length %u is outside 0..256",
				s->prefix_bits);
	if (s->action == SSR_ACTION_FORWARD) {
		if (s->n_targets == 0 || s->n_targets > SSR_CFG_MAX_TARGETS)
			return err_set(e, EINVAL, "targets", "a forward rule needs 1..%u "
					"targets", SSR_CFG_MAX_TARGETS);
		for (i = 0; i < s->n_targets; i++) {
			snprintf(field, sizeof(field), "targets[%u].address", i);
			ret = check_target(txn, s->targets[i].addr, field, e);
			if (ret != 0)
				return ret;
		}
	}
	return stage_from_cfg(txn, s, cur, e);
}

/* Lease events for every registration a deleted rule takes with it. */
static int
events_for_gone_registrations(struct ssr_rules_txn *txn, const struct ssr_rule *rl,
		const char *change)
{
	unsigned int i;

	for (i = 0; i < rl->n; i++)
		if (rl->tg[i].origin != SSR_ORIGIN_CONFIG &&
				queue_ev(txn, SSR_EV_LEASE, change, &rl->s.id,
					rl->s.prefix_bits, rl->tg[i].t.addr,
					rl->tg[i].origin) != 0)
			return -ENOMEM;
	return 0;
}

int
ssr_rules_delete(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, struct ssr_err *e)
{
	const struct ssr_rule *cur = view(txn, id, bits);
	char pfx[SAL_SERVICE_ID_STRLEN];
	int ret;

	if (cur == NULL)
		return err_set(e, ENOENT, "prefix", "no rule with prefix %s",
				pfx_str(id, bits, pfx, sizeof(pfx)));
	if (events_for_gone_registrations(txn, cur, "unregistered") != 0)
		return err_set(e, ENOMEM, NULL, "out of memory");
	ret = stage_set(txn, id, bits, NULL);
	return ret != 0 ? err_set(e, ret, NULL, "out of memory") : 0;
}

/* The writable forward rule of a prefix, or an error naming why not. */
static struct ssr_rule *
forward_rule(struct ssr_rules_txn *txn, const struct sal_service_id *id, uint16_t bits,
		struct ssr_err *e)
{
	char pfx[SAL_SERVICE_ID_STRLEN];
	const struct ssr_rule *cur = view(txn, id, bits);
	struct ssr_rule *rl;
	int err;

	if (cur == NULL) {
		err_set(e, ENOENT, "prefix", "no rule with prefix %s",
				pfx_str(id, bits, pfx, sizeof(pfx)));
		return NULL;
	}
	if (cur->s.action != SSR_ACTION_FORWARD) {
		err_set(e, EINVAL, "prefix", "the rule of %s is a %s rule, not forward",
				pfx_str(id, bits, pfx, sizeof(pfx)),
				ssr_action_name(cur->s.action));
		return NULL;
	}
	rl = writable(txn, id, bits, &err);
	if (rl == NULL)
		err_set(e, err, NULL, "out of memory");
	return rl;
}

static int
no_target(const struct sal_service_id *id, uint16_t bits, uint32_t addr,
		const char *what, struct ssr_err *e)
{
	char pfx[SAL_SERVICE_ID_STRLEN], ip[16];

	return err_set(e, ENOENT, "address", "%s is not %s of %s",
			ip_str(addr, ip, sizeof(ip)), what, pfx_str(id, bits, pfx, sizeof(pfx)));
}

int
ssr_rules_target_add(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, const struct ssr_cfg_target *t, struct ssr_err *e)
{
	struct ssr_rule *rl;
	char ip[16];
	int ret;

	ret = check_target(txn, t->addr, "address", e);
	if (ret != 0)
		return ret;
	rl = forward_rule(txn, id, bits, e);
	if (rl == NULL)
		return -e->err;
	if (rule_find_target(rl, t->addr) >= 0)
		return err_set(e, EEXIST, "address", "%s is a target already",
				ip_str(t->addr, ip, sizeof(ip)));
	if (rl->n >= SSR_CFG_MAX_TARGETS)
		return err_set(e, ENOSPC, "address", "the rule has %u targets, the most "
				"a rule may have", SSR_CFG_MAX_TARGETS);
	memset(&rl->tg[rl->n], 0, sizeof(rl->tg[0]));
	rl->tg[rl->n].t = *t;
	rl->tg[rl->n].origin = SSR_ORIGIN_CONFIG;
	rl->n++;
	return 0;
}

/* Take target k out of rule rl (order of the others kept). */
static void
remove_at(struct ssr_rule *rl, unsigned int k)
{
	memmove(&rl->tg[k], &rl->tg[k + 1], (rl->n - k - 1) * sizeof(rl->tg[0]));
	rl->n--;
}

int
ssr_rules_target_remove(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, struct ssr_err *e)
{
	struct ssr_rule *rl = forward_rule(txn, id, bits, e);
	int k;

	if (rl == NULL)
		return -e->err;
	k = rule_find_target(rl, addr);
	if (k < 0)
		return no_target(id, bits, addr, "a target", e);
	if (rl->n == 1 && rl->base)
		return err_set(e, EINVAL, "address", "the last target of a forward "
				"rule cannot go (delete the rule instead)");
	if (rl->tg[k].origin != SSR_ORIGIN_CONFIG &&
			queue_ev(txn, SSR_EV_LEASE, "unregistered", id, bits, addr,
				rl->tg[k].origin) != 0)
		return err_set(e, ENOMEM, NULL, "out of memory");
	remove_at(rl, k);
	if (rl->n == 0)
		return stage_set(txn, id, bits, NULL);
	return 0;
}

int
ssr_rules_target_set(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, uint32_t set, uint16_t weight,
		uint16_t priority, struct ssr_err *e)
{
	struct ssr_rule *rl = forward_rule(txn, id, bits, e);
	int k;

	if (rl == NULL)
		return -e->err;
	k = rule_find_target(rl, addr);
	if (k < 0)
		return no_target(id, bits, addr, "a target", e);
	if (set & SSR_TARGET_SET_WEIGHT)
		rl->tg[k].t.weight = weight;
	if (set & SSR_TARGET_SET_PRIORITY)
		rl->tg[k].t.priority = priority;
	return 0;
}

int
ssr_rules_register(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, const struct ssr_cfg_target *t, uint32_t lease_s,
		enum ssr_target_origin origin, struct ssr_err *e)
{
	const struct ssr_rule *cur = view(txn, id, bits);
	uint64_t until = lease_s != 0 ? ssr_now_ms() + (uint64_t)lease_s * 1000 : 0;
	struct ssr_rule *rl;
	char ip[16];
	int ret, k;

	ret = check_target(txn, t->addr, "address", e);
	if (ret != 0)
		return ret;
	if (cur == NULL) {
		struct ssr_cfg_service s;

		memset(&s, 0, sizeof(s));
		s.id = *id;
		s.prefix_bits = bits;
		s.action = SSR_ACTION_FORWARD;
		s.mode = SSR_MODE_RESOLVE;
		s.delay_queue = SSR_CFG_DELAY_DEFAULT_QUEUE;
		s.delay_timeout_ms = SSR_CFG_DELAY_DEFAULT_TIMEOUT_MS;
		rl = rule_from_cfg(&s);
		if (rl == NULL)
			return err_set(e, ENOMEM, NULL, "out of memory");
		rl->base = false;
		ret = stage_set(txn, id, bits, rl);
		if (ret != 0)
			return err_set(e, ret, NULL, "out of memory");
	} else {
		rl = forward_rule(txn, id, bits, e);
		if (rl == NULL)
			return -e->err;
	}
	k = rule_find_target(rl, t->addr);
	if (k >= 0 && rl->tg[k].origin == SSR_ORIGIN_CONFIG)
		return err_set(e, EEXIST, "address", "%s is a configured target of this "
				"rule, not a registered one", ip_str(t->addr, ip, sizeof(ip)));
	if (k >= 0) {
		rl->tg[k].t.weight = t->weight;
		rl->tg[k].t.priority = t->priority;
		rl->tg[k].lease_s = lease_s;
		rl->tg[k].lease_until_ms = until;
		rl->tg[k].origin = origin;
		return queue_ev(txn, SSR_EV_LEASE, "refreshed", id, bits, t->addr,
				origin) != 0 ? err_set(e, ENOMEM, NULL, "out of memory") : 0;
	}
	if (rl->n >= SSR_CFG_MAX_TARGETS)
		return err_set(e, ENOSPC, "address", "the rule has %u targets, the most "
				"a rule may have", SSR_CFG_MAX_TARGETS);
	memset(&rl->tg[rl->n], 0, sizeof(rl->tg[0]));
	rl->tg[rl->n].t = *t;
	rl->tg[rl->n].origin = origin;
	rl->tg[rl->n].lease_s = lease_s;
	rl->tg[rl->n].lease_until_ms = until;
	rl->n++;
	return queue_ev(txn, SSR_EV_LEASE, "registered", id, bits, t->addr, origin) != 0 ?
		err_set(e, ENOMEM, NULL, "out of memory") : 0;
}

/* The registered target @p addr of a prefix, writable; NULL with e set. */
static struct ssr_target *
registered(struct ssr_rules_txn *txn, const struct sal_service_id *id, uint16_t bits,
		uint32_t addr, struct ssr_rule **rlp, struct ssr_err *e)
{
	const struct ssr_rule *cur = view(txn, id, bits);
	struct ssr_rule *rl;
	int k, err;

	if (cur == NULL || cur->s.action != SSR_ACTION_FORWARD ||
			(k = rule_find_target(cur, addr)) < 0 ||
			cur->tg[k].origin == SSR_ORIGIN_CONFIG) {
		no_target(id, bits, addr, "registered for", e);
		return NULL;
	}
	rl = writable(txn, id, bits, &err);
	if (rl == NULL) {
		err_set(e, err, NULL, "out of memory");
		return NULL;
	}
	*rlp = rl;
	return &rl->tg[k];
}

int
ssr_rules_refresh(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, uint32_t lease_s, struct ssr_err *e)
{
	struct ssr_rule *rl;
	struct ssr_target *t = registered(txn, id, bits, addr, &rl, e);

	if (t == NULL)
		return -e->err;
	if (lease_s != 0)
		t->lease_s = lease_s;
	if (t->lease_s != 0)
		t->lease_until_ms = ssr_now_ms() + (uint64_t)t->lease_s * 1000;
	return queue_ev(txn, SSR_EV_LEASE, "refreshed", id, bits, addr, t->origin) != 0 ?
		err_set(e, ENOMEM, NULL, "out of memory") : 0;
}

int
ssr_rules_unregister(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, const char *change, struct ssr_err *e)
{
	struct ssr_rule *rl;
	struct ssr_target *t = registered(txn, id, bits, addr, &rl, e);

	if (t == NULL)
		return -e->err;
	if (queue_ev(txn, SSR_EV_LEASE, change, id, bits, addr, t->origin) != 0)
		return err_set(e, ENOMEM, NULL, "out of memory");
	remove_at(rl, t - rl->tg);
	if (rl->n == 0)
		return stage_set(txn, id, bits, NULL);
	return 0;
}

int
ssr_rules_readdress(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t old_addr, uint32_t new_addr, struct ssr_err *e)
{
	struct ssr_rule *rl;
	struct ssr_target *t;
	char ip[16];
	int ret;

	ret = check_target(txn, new_addr, "address", e);
	if (ret != 0)
		return ret;
	t = registered(txn, id, bits, old_addr, &rl, e);
	if (t == NULL)
		return -e->err;
	if (old_addr != new_addr && rule_find_target(rl, new_addr) >= 0)
		return err_set(e, EEXIST, "address", "%s is a target already",
				ip_str(new_addr, ip, sizeof(ip)));
	t->t.addr = new_addr;
	t->health = SSR_HEALTH_UNKNOWN;
	memset(&t->probe, 0, sizeof(t->probe));
	if (queue_ev(txn, SSR_EV_LEASE, "unregistered", id, bits, old_addr,
				t->origin) != 0 ||
			queue_ev(txn, SSR_EV_LEASE, "registered", id, bits, new_addr,
				t->origin) != 0)
		return err_set(e, ENOMEM, NULL, "out of memory");
	return 0;
}

int
ssr_rules_set_health(struct ssr_rules_txn *txn, uint32_t slot, uint32_t addr,
		enum ssr_health_state st, struct ssr_err *e)
{
	const struct ssr_rule *cur = ssr_rules_at(txn->m, slot);
	struct ssr_rule *rl;
	int k, err;

	if (cur == NULL)
		return err_set(e, ENOENT, NULL, "no rule in slot %u", slot);
	rl = writable(txn, &cur->s.id, cur->s.prefix_bits, &err);
	if (rl == NULL)
		return err_set(e, err, NULL, "no rule in slot %u", slot);
	k = rule_find_target(rl, addr);
	if (k < 0)
		return no_target(&rl->s.id, rl->s.prefix_bits, addr, "a target", e);
	if (rl->tg[k].health != st && st != SSR_HEALTH_UNKNOWN &&
			(rl->tg[k].health != SSR_HEALTH_UNKNOWN || st == SSR_HEALTH_DOWN) &&
			queue_ev(txn, SSR_EV_HEALTH, ssr_health_state_name(st), &rl->s.id,
				rl->s.prefix_bits, addr, 0) != 0)
		return err_set(e, ENOMEM, NULL, "out of memory");
	rl->tg[k].health = st;
	return 0;
}

struct replace_ctx {
	struct ssr_rules_txn *txn;
	int ret;
};

/* Carry each committed rule's registrations into the reload. */
static int
stage_registrations(const struct ssr_rule *old, void *arg)
{
	struct replace_ctx *x = arg;
	struct ssr_rule *nw;
	unsigned int i;

	for (i = 0; i < old->n; i++)
		if (old->tg[i].origin != SSR_ORIGIN_CONFIG)
			break;
	if (i == old->n)
		return 0;
	/* a registration-only rule, as if the file did not list the prefix */
	nw = rule_dup(old);
	if (nw == NULL) {
		x->ret = -ENOMEM;
		return 1;
	}
	nw->base = false;
	nw->n = 0;
	if (nw->s.action != SSR_ACTION_FORWARD) {
		rule_free(nw);
		return 0;
	}
	memset(&nw->s.health, 0, sizeof(nw->s.health));
	nw->s.mode = SSR_MODE_RESOLVE;
	for (i = 0; i < old->n; i++)
		if (old->tg[i].origin != SSR_ORIGIN_CONFIG) {
			nw->tg[nw->n] = old->tg[i];
			nw->tg[nw->n].health = SSR_HEALTH_UNKNOWN;
			nw->n++;
		}
	x->ret = stage_set(x->txn, &old->s.id, old->s.prefix_bits, nw);
	return x->ret != 0;
}

int
ssr_rules_replace_all(struct ssr_rules_txn *txn, const struct ssr_config *cfg,
		struct ssr_err *e)
{
	struct replace_ctx x = { .txn = txn };
	unsigned int i;
	int ret;

	if (txn->n != 0 || txn->replace_all)
		return err_set(e, EINVAL, NULL, "a reload must be a transaction of its own");
	ssr_rules_walk(txn->m, stage_registrations, &x);
	if (x.ret != 0)
		return err_set(e, x.ret, NULL, "out of memory");
	txn->replace_all = true;
	for (i = 0; i < cfg->n_services; i++) {
		const struct ssr_cfg_service *s = &cfg->services[i];
		const struct ssr_rule *old = ssr_rules_get(txn->m, &s->id, s->prefix_bits);

		ret = stage_from_cfg(txn, s, old, e);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* ---- commit ---- */

static int
cmp_layout(const void *a, const void *b, void *arg)
{
	const struct ssr_target *tg = arg;
	const struct ssr_target *x = &tg[*(const uint16_t *)a];
	const struct ssr_target *y = &tg[*(const uint16_t *)b];

	/* lib/svctable publishes targets by priority, highest first, then by
	 * id (our address, host order) */
	if (x->t.priority != y->t.priority)
		return x->t.priority > y->t.priority ? -1 : 1;
	return x->t.addr < y->t.addr ? -1 : x->t.addr > y->t.addr;
}

/* Give each target of @p rl its position in the published order. */
static void
set_positions(struct ssr_rule *rl)
{
	uint16_t order[SSR_CFG_MAX_TARGETS];
	unsigned int i;

	for (i = 0; i < rl->n; i++)
		order[i] = i;
	qsort_r(order, rl->n, sizeof(order[0]), cmp_layout, rl->tg);
	for (i = 0; i < rl->n; i++)
		rl->tg[order[i]].pos = i;
}

static bool
same_layout(const struct ssr_rule *a, const struct ssr_rule *b)
{
	unsigned int i;
	int k;

	if (a->n != b->n || a->s.action != SSR_ACTION_FORWARD ||
			b->s.action != SSR_ACTION_FORWARD)
		return false;
	for (i = 0; i < a->n; i++) {
		k = rule_find_target(b, a->tg[i].t.addr);
		if (k < 0 || b->tg[k].pos != a->tg[i].pos)
			return false;
	}
	return true;
}

static void
undo_allocs(struct ssr_rules_txn *txn)
{
	uint32_t i;

	for (i = 0; i < txn->n; i++) {
		struct stage *s = &txn->st[i];

		if (s->alloc & 2)
			run_unalloc(txn->m, s->new_run, s->new_run_cls);
		if (s->alloc & 1)
			slot_unalloc(txn->m, s->new_slot);
		s->alloc = 0;
	}
}

/* Stage one prefix into the svctable transaction. */
static int
stage_svc(struct ssr_rules_txn *txn, struct svctable_txn *st, struct stage *s,
		struct svctable_target *tg)
{
	static const enum svctable_action action_map[] = {
		[SSR_ACTION_FORWARD] = SVCTABLE_ACTION_FORWARD,
		[SSR_ACTION_LOCAL] = SVCTABLE_ACTION_LOCAL,
		[SSR_ACTION_DELAY] = SVCTABLE_ACTION_DELAY,
		[SSR_ACTION_DROP] = SVCTABLE_ACTION_DROP,
	};
	struct ssr_rules *m = txn->m;
	struct ssr_rule *nw = s->nw;
	struct svctable_rule_conf rc;
	unsigned int i;
	int ret;

	if (nw == NULL)
		return s->old != NULL ? svctable_txn_del(st,
				(const struct svctable_key *)(const void *)&s->id, s->bits) : 0;
	if (s->old != NULL) {
		nw->slot = s->old->slot;
	} else {
		ret = slot_alloc(m, &nw->slot);
		if (ret != 0)
			return ret;
		s->new_slot = nw->slot;
		s->alloc |= 1;
	}
	memset(&rc, 0, sizeof(rc));
	rc.action = action_map[nw->s.action];
	rc.id = nw->slot;
	nw->run = 0;
	if (nw->s.action == SSR_ACTION_FORWARD) {
		set_positions(nw);
		if (s->old != NULL && same_layout(nw, s->old)) {
			nw->run = s->old->run;
		} else {
			unsigned int cls = run_class(nw->n);

			nw->run = run_alloc(m, cls);
			if (nw->run != 0) {
				s->new_run = nw->run;
				s->new_run_cls = cls;
				s->alloc |= 2;
			}
		}
		for (i = 0; i < nw->n; i++) {
			tg[i].ip = rte_cpu_to_be_32(nw->tg[i].t.addr);
			tg[i].id = nw->tg[i].t.addr;
			tg[i].weight = effective_weight(nw, &nw->tg[i]);
			tg[i].priority = nw->tg[i].t.priority;
		}
		rc.targets = tg;
		rc.n_targets = nw->n;
		rc.user_flags = (nw->s.mode == SSR_MODE_GATEWAY ? SSR_RULE_F_GATEWAY : 0) |
			nw->run << SSR_RULE_RUN_SHIFT;
	}
	return svctable_txn_add(st, (const struct svctable_key *)(const void *)&s->id,
			s->bits, &rc);
}

/* Retire the published run of @p old (its rule: @p slot) after folding
 * what it counted so far into @p into's targets. */
static int
retire_run(struct ssr_rules *m, const struct ssr_rule *old, struct ssr_rule *into,
		uint64_t token)
{
	struct retire x;
	unsigned int i;

	if (old->s.action != SSR_ACTION_FORWARD || old->run < SSR_TGT_SINK_RUN)
		return 0;
	memset(&x, 0, sizeof(x));
	x.token = token;
	x.is_run = 1;
	x.slot = old->slot;
	x.run = old->run;
	x.cls = run_class(old->n);
	x.n = old->n;
	x.addr = calloc(old->n, sizeof(*x.addr));
	for (i = 0; i < old->n; i++) {
		uint32_t e = old->run + old->tg[i].pos;
		uint64_t v = sum_tgt(m, e) - m->tbase[e];
		int k = into != NULL ? rule_find_target(into, old->tg[i].t.addr) : -1;

		/* what was counted so far goes to the total now (monotonic
		 * reads); the grace period adds the rest */
		m->tbase[e] += v;
		if (k >= 0)
			into->tg[k].selected_acc += v;
		if (x.addr != NULL)
			x.addr[old->tg[i].pos] = old->tg[i].t.addr;
	}
	if (x.addr == NULL)
		x.n = 0;
	return retire_push(m, &x);
}

/* Account a committed prefix: gateway references, leases, rule count. */
static void
account(struct ssr_rules *m, const struct ssr_rule *rl, int sign, uint32_t *gone,
		unsigned int *n_gone, unsigned int max_gone)
{
	unsigned int i;

	if (rl == NULL)
		return;
	m->n_rules += sign;
	for (i = 0; i < rl->n; i++) {
		if (rl->tg[i].origin != SSR_ORIGIN_CONFIG)
			m->n_leased += sign;
		if (!is_gateway(rl))
			continue;
		if (sign > 0)
			gw_ref(m, rl->tg[i].t.addr);
		else if (gw_unref(m, rl->tg[i].t.addr) && *n_gone < max_gone)
			gone[(*n_gone)++] = rl->tg[i].t.addr;
	}
}

static void
emit_pending(struct ssr_rules_txn *txn)
{
	struct ssr_rules *m = txn->m;
	struct ssr_event ev;
	uint32_t i;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SSR_EV_RULE;
	ev.change = txn->change;
	/* a batch names no single prefix, even when it touched one */
	if (txn->n == 1 && !txn->replace_all && strcmp(txn->change, "batch") != 0) {
		ev.has_prefix = true;
		ev.prefix = txn->st[0].id;
		ev.bits = txn->st[0].bits;
	}
	ssr_rules_emit(m, &ev);
	for (i = 0; i < txn->n_evs; i++) {
		const struct pending_ev *p = &txn->evs[i];

		memset(&ev, 0, sizeof(ev));
		ev.kind = p->kind;
		ev.change = p->change;
		ev.has_prefix = true;
		ev.prefix = p->id;
		ev.bits = p->bits;
		ev.addr = p->addr;
		ev.origin = p->origin;
		ssr_rules_emit(m, &ev);
	}
}

/* Health "reset": flows to a target just marked down go. */
static void
health_resets(struct ssr_rules_txn *txn)
{
	struct ssr_rules *m = txn->m;
	uint32_t i;
	unsigned int k;

	if (m->gone == NULL)
		return;
	for (i = 0; i < txn->n; i++) {
		const struct stage *s = &txn->st[i];
		const struct ssr_rule *nw = s->nw;

		if (!is_gateway(nw) || !nw->s.health.enabled ||
				nw->s.health.on_down != SSR_HEALTH_RESET)
			continue;
		for (k = 0; k < nw->n; k++) {
			int j;

			if (nw->tg[k].health != SSR_HEALTH_DOWN)
				continue;
			j = s->old != NULL ? rule_find_target(s->old, nw->tg[k].t.addr) : -1;
			if (j >= 0 && s->old->tg[j].health == SSR_HEALTH_DOWN)
				continue; /* down before: reset then */
			m->gone(m->hook_arg, nw->tg[k].t.addr);
		}
	}
}

int
ssr_rules_commit(struct ssr_rules_txn *txn, struct ssr_err *e)
{
	struct ssr_rules *m;
	struct svctable_target *tg = NULL;
	struct svctable_txn *st = NULL;
	uint32_t gone[256], i;
	unsigned int n_gone = 0, k;
	uint64_t token;
	int ret;

	if (txn == NULL)
		return err_set(e, EINVAL, NULL, "no transaction");
	m = txn->m;
	if (txn->replace_all) {
		/* every committed rule the reload does not stage goes */
		for (k = 0; k < m->n_slots; k++) {
			const struct ssr_rule *rl = m->slot[k];

			if (rl == NULL || stage_find(txn, &rl->s.id, rl->s.prefix_bits) != NULL)
				continue;
			if (stage_new(txn, &rl->s.id, rl->s.prefix_bits, rl) == NULL) {
				ret = err_set(e, ENOMEM, NULL, "out of memory");
				goto out;
			}
		}
	}
	/* staged entries created before a prefix existed learn their old rule
	 * now (view() may have seen none at staging time) */
	for (i = 0; i < txn->n; i++)
		if (txn->st[i].old == NULL)
			txn->st[i].old = ssr_rules_get(m, &txn->st[i].id, txn->st[i].bits);
	if (m->ret_n + 2 * (uint64_t)txn->n > retire_limit(m)) {
		retire_poll(m);
		if (m->ret_n + 2 * (uint64_t)txn->n > retire_limit(m)) {
			ret = err_set(e, EBUSY, NULL, "earlier changes still wait for the "
					"workers (a grace period); retry");
			goto out;
		}
	}
	tg = calloc(SSR_CFG_MAX_TARGETS, sizeof(*tg));
	st = svctable_txn_begin(m->t);
	if (tg == NULL || st == NULL) {
		ret = err_set(e, ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < txn->n; i++) {
		struct stage *s = &txn->st[i];
		char pfx[SAL_SERVICE_ID_STRLEN];

		if (s->nw == NULL && s->old == NULL)
			continue;
		ret = stage_svc(txn, st, s, tg);
		if (ret != 0) {
			pfx_str(&s->id, s->bits, pfx, sizeof(pfx));
			if (ret == -ENOSPC)
				err_set(e, ENOSPC, NULL, "%s: no free rule slot (%u rules)",
						pfx, m->n_slots);
			else
				err_set(e, ret, NULL, "%s: the service table refused the rule: %s",
						pfx, strerror(-ret));
			goto fail;
		}
	}
	ret = svctable_txn_commit(st);
	if (ret == -EAGAIN) {
		/* memory still in a grace period: free what we may and try once more */
		svctable_reclaim(m->t);
		ret = svctable_txn_commit(st);
	}
	if (ret != 0) {
		m->st.commit_errors++;
		if (ret == -EAGAIN)
			err_set(e, EBUSY, NULL, "the service table still waits for the "
					"workers to release earlier rules; retry");
		else
			err_set(e, ret, NULL, "the service table refused the change: %s",
					strerror(-ret));
		if (ret == -EAGAIN)
			ret = -EBUSY;
		goto fail;
	}
	st = NULL;
	/* published: now the model follows. Resets compare old and new health,
	 * so they go first, while the old versions still exist. */
	token = grace_token(m);
	health_resets(txn);
	for (i = 0; i < txn->n; i++) {
		struct stage *s = &txn->st[i];
		struct ssr_rule *old = (struct ssr_rule *)(uintptr_t)s->old;

		if (old != NULL && (s->nw == NULL || s->nw->run != old->run))
			retire_run(m, old, s->nw, token);
		account(m, old, -1, gone, &n_gone, RTE_DIM(gone));
		account(m, s->nw, +1, gone, &n_gone, RTE_DIM(gone));
		if (old != NULL) {
			m->slot[old->slot] = NULL;
			if (s->nw == NULL) {
				struct retire x = { .token = token, .slot = old->slot };

				retire_push(m, &x);
				m->st.rules_removed++;
			}
		} else if (s->nw != NULL) {
			m->st.rules_added++;
		}
		if (s->nw != NULL)
			m->slot[s->nw->slot] = s->nw;
		rule_free(old);
		/* the model owns the new version now */
		s->old = NULL;
		s->nw = NULL;
	}
	m->st.commits++;
	for (i = 0; i < n_gone; i++)
		if (m->gone != NULL && gw_find(m, gone[i]) == NULL)
			m->gone(m->hook_arg, gone[i]);
	emit_pending(txn);
	ret = 0;
	goto out;
fail:
	undo_allocs(txn);
out:
	svctable_txn_abort(st);
	free(tg);
	ssr_rules_abort(txn);
	return ret;
}

/* ---- housekeeping ---- */

static void
expire_leases(struct ssr_rules *m, uint64_t now)
{
	struct ssr_rules_txn *txn = NULL;
	struct ssr_err e;
	uint32_t s, n = 0;
	unsigned int i;

	for (s = 0; s < m->next_slot && n < 1024; s++) {
		const struct ssr_rule *rl = m->slot[s];

		if (rl == NULL)
			continue;
		for (i = 0; i < rl->n; i++) {
			const struct ssr_target *t = &rl->tg[i];

			if (t->origin == SSR_ORIGIN_CONFIG || t->lease_until_ms == 0 ||
					t->lease_until_ms > now)
				continue;
			if (txn == NULL)
				txn = ssr_rules_begin(m, "lease.expire");
			if (txn == NULL)
				return;
			memset(&e, 0, sizeof(e));
			if (ssr_rules_unregister(txn, &rl->s.id, rl->s.prefix_bits,
						t->t.addr, "expired", &e) == 0)
				n++;
		}
	}
	if (txn == NULL)
		return;
	memset(&e, 0, sizeof(e));
	ssr_rules_commit(txn, &e); /* on failure the next scan tries again */
}

void
ssr_rules_poll(struct ssr_rules *m, uint64_t now_ms)
{
	retire_poll(m);
	if (m->n_leased != 0 && now_ms >= m->next_lease_scan) {
		m->next_lease_scan = now_ms + LEASE_SCAN_MS;
		expire_leases(m, now_ms);
	}
}

/* ---- without the model ---- */

uint32_t
ssr_services_slots(const struct ssr_config *cfg)
{
	return cfg->n_services > SSR_RULE_MIN_SLOTS ? cfg->n_services :
		SSR_RULE_MIN_SLOTS;
}

struct svctable *
ssr_services_create(const struct ssr_config *cfg, int socket)
{
	struct svctable_conf conf = {
		.max_rules = ssr_services_slots(cfg),
		.socket_id = socket,
	};

	return svctable_create(&conf);
}

int
ssr_services_apply(struct svctable *t, const struct ssr_config *cfg,
		char *err, size_t errlen)
{
	static const enum svctable_action action_map[] = {
		[SSR_ACTION_FORWARD] = SVCTABLE_ACTION_FORWARD,
		[SSR_ACTION_LOCAL] = SVCTABLE_ACTION_LOCAL,
		[SSR_ACTION_DELAY] = SVCTABLE_ACTION_DELAY,
		[SSR_ACTION_DROP] = SVCTABLE_ACTION_DROP,
	};
	struct svctable_target *tg = NULL;
	struct svctable_txn *txn;
	unsigned int i, j;
	int ret;

	txn = svctable_txn_begin(t);
	if (txn == NULL) {
		snprintf(err, errlen, "cannot begin a service table transaction: %s",
				strerror(rte_errno));
		return -rte_errno;
	}
	ret = svctable_txn_clear(txn);
	if (ret != 0)
		goto abort;
	tg = calloc(SSR_CFG_MAX_TARGETS, sizeof(*tg));
	if (tg == NULL) {
		ret = -ENOMEM;
		goto abort;
	}
	for (i = 0; i < cfg->n_services; i++) {
		const struct ssr_cfg_service *s = &cfg->services[i];
		struct svctable_rule_conf rc = {
			.action = action_map[s->action],
			.id = i,
			.user_flags = s->action == SSR_ACTION_FORWARD &&
				s->mode == SSR_MODE_GATEWAY ? SSR_RULE_F_GATEWAY : 0,
		};

		for (j = 0; j < s->n_targets; j++) {
			tg[j].ip = rte_cpu_to_be_32(s->targets[j].addr);
			tg[j].id = s->targets[j].addr;
			tg[j].weight = s->targets[j].weight;
			tg[j].priority = s->targets[j].priority;
		}
		if (s->action == SSR_ACTION_FORWARD) {
			rc.targets = tg;
			rc.n_targets = s->n_targets;
		}
		ret = svctable_txn_add(txn, (const struct svctable_key *)(const void *)&s->id,
				s->prefix_bits, &rc);
		if (ret != 0) {
			snprintf(err, errlen, "%s:%u: services[%u]: %s", cfg->source,
					s->line, i, strerror(-ret));
			goto abort_quiet;
		}
	}
	free(tg);
	tg = NULL;
	ret = svctable_txn_commit(txn);
	if (ret != 0)
		goto abort;
	return 0;
abort:
	snprintf(err, errlen, "%s: service table update failed: %s", cfg->source,
			strerror(-ret));
abort_quiet:
	free(tg);
	svctable_txn_abort(txn);
	return ret;
}
