/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "config.h"
#include "flowtable.h"
#include "health.h"
#include "mgmt.h"
#include "plane.h"
#include "router.h"
#include "sal.h"
#include "services.h"
#include "telemetry.h"
#include "worker.h"

/* How long a telemetry client waits for the control lcore (ns). */
#define TEL_WAIT_NS 1000000000ull
#define TEL_NAP_NS 50000

enum { TEL_IDLE, TEL_POSTED, TEL_TAKEN, TEL_DONE };

struct ssr_telemetry {
	struct ssr_plane *p;
	uint32_t state;           /* atomics only: the hand-off */
	const char *cmd;          /* written before POSTED */
	const char *params;
	struct rte_tel_data *d;
	int result;               /* written before DONE */
};

/* The commands stay registered for the process's life (DPDK cannot take
 * one back): they find the router through this, under the lock. */
static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ssr_telemetry *tel_live;
static bool tel_registered;

/* ---- filling replies (control lcore) ---- */

static void
fill_stats(struct ssr_plane *p, struct rte_tel_data *d, bool drops)
{
	struct ssr_stats sum;
	unsigned int i;

	ssr_plane_totals(p, &sum);
	rte_tel_data_start_dict(d);
	if (!drops) {
		for (i = 0; i < SSR_CNT_MAX; i++)
			rte_tel_data_add_dict_u64(d, ssr_counter_name(i), sum.cnt[i]);
		rte_tel_data_add_dict_u64(d, "dropped", ssr_stats_dropped(&sum));
		return;
	}
	for (i = 0; i < SSR_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(d, ssr_drop_name(i), sum.drop[i]);
}

struct rules_ctx {
	struct rte_tel_data *d;
	unsigned int n;
};

static int
add_rule_name(const struct ssr_rule *rl, void *arg)
{
	struct rules_ctx *x = arg;
	char buf[SAL_SERVICE_ID_STRLEN];

	if (x->n == RTE_TEL_MAX_ARRAY_ENTRIES)
		return 1;
	rte_tel_data_add_array_string(x->d, ssr_mgmt_prefix_str(&rl->s.id,
				rl->s.prefix_bits, buf, sizeof(buf)));
	x->n++;
	return 0;
}

static int
fill_rule(struct ssr_plane *p, const char *params, struct rte_tel_data *d)
{
	struct ssr_rules *m = ssr_plane_rules(p);
	struct sal_service_id id;
	const struct ssr_rule *rl;
	uint64_t c[SSR_RCNT_MAX];
	uint16_t bits;
	unsigned int i, down = 0;

	if (params == NULL || sal_service_id_parse(params, &id, &bits, NULL, 0) != 0)
		return -EINVAL;
	rl = ssr_rules_get(m, &id, bits);
	if (rl == NULL)
		return -ENOENT;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "prefix", params);
	rte_tel_data_add_dict_string(d, "action", ssr_action_name(rl->s.action));
	if (rl->s.action == SSR_ACTION_FORWARD) {
		struct rte_tel_data *t = rte_tel_data_alloc();

		rte_tel_data_add_dict_string(d, "mode", ssr_mode_name(rl->s.mode));
		rte_tel_data_add_dict_u64(d, "targets", rl->n);
		for (i = 0; i < rl->n; i++)
			down += rl->s.health.enabled && rl->tg[i].health == SSR_HEALTH_DOWN;
		rte_tel_data_add_dict_u64(d, "targets_down", down);
		if (t != NULL) {
			rte_tel_data_start_array(t, RTE_TEL_U64_VAL);
			for (i = 0; i < rl->n && i < RTE_TEL_MAX_ARRAY_ENTRIES; i++)
				rte_tel_data_add_array_u64(t, ssr_rules_selected(m, rl, i));
			rte_tel_data_add_dict_container(d, "selected", t, 0);
		}
	}
	ssr_rules_counters(m, rl, c);
	for (i = 0; i < SSR_RCNT_MAX; i++)
		rte_tel_data_add_dict_u64(d, ssr_rule_counter_name(i), c[i]);
	return 0;
}

static int
fill_worker(struct ssr_plane *p, const char *params, struct rte_tel_data *d)
{
	const struct ssr_router *r = ssr_plane_router(p);
	const struct ssr_stats *s;
	unsigned long n;
	unsigned int i;
	char *end;

	if (params == NULL || params[0] < '0' || params[0] > '9')
		return -EINVAL;
	n = strtoul(params, &end, 10);
	if (*end != '\0' || n >= r->n_workers)
		return -ENOENT;
	s = &r->workers[n]->stats;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "lcore", r->workers[n]->lcore);
	for (i = 0; i < SSR_CNT_MAX; i++)
		/* relaxed: a counter its worker owns */
		rte_tel_data_add_dict_u64(d, ssr_counter_name(i),
				__atomic_load_n(&s->cnt[i], __ATOMIC_RELAXED));
	for (i = 0; i < SSR_DROP_MAX; i++)
		/* relaxed: as above */
		rte_tel_data_add_dict_u64(d, ssr_drop_name(i),
				__atomic_load_n(&s->drop[i], __ATOMIC_RELAXED));
	return 0;
}

static int
fill(struct ssr_plane *p, const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ssr_router *r = ssr_plane_router(p);
	unsigned int i;

	if (strcmp(cmd, "/serval/stats") == 0) {
		fill_stats(p, d, false);
	} else if (strcmp(cmd, "/serval/drops") == 0) {
		fill_stats(p, d, true);
	} else if (strcmp(cmd, "/serval/rules") == 0) {
		struct rules_ctx x = { .d = d };

		rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
		ssr_rules_walk(ssr_plane_rules(p), add_rule_name, &x);
	} else if (strcmp(cmd, "/serval/rule") == 0) {
		return fill_rule(p, params, d);
	} else if (strcmp(cmd, "/serval/flows") == 0) {
		struct flowtable_stats fs;

		memset(&fs, 0, sizeof(fs));
		if (r->ft != NULL)
			flowtable_stats_get(r->ft, &fs);
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_u64(d, "active", fs.flows);
		rte_tel_data_add_dict_u64(d, "capacity", fs.capacity);
		rte_tel_data_add_dict_u64(d, "inserts", fs.inserts);
		rte_tel_data_add_dict_u64(d, "insert_full", fs.insert_full);
		rte_tel_data_add_dict_u64(d, "deletes", fs.deletes);
		rte_tel_data_add_dict_u64(d, "expired", fs.expired);
		rte_tel_data_add_dict_u64(d, "migrations", fs.migrations);
	} else if (strcmp(cmd, "/serval/workers") == 0) {
		rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
		for (i = 0; i < r->n_workers; i++)
			rte_tel_data_add_array_u64(d, r->workers[i]->lcore);
	} else if (strcmp(cmd, "/serval/worker") == 0) {
		return fill_worker(p, params, d);
	} else if (strcmp(cmd, "/serval/health") == 0) {
		struct ssr_health_stats hs;

		ssr_health_get_stats(ssr_plane_health(p), &hs);
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_u64(d, "probes", hs.probes);
		rte_tel_data_add_dict_u64(d, "answers", hs.answers);
		rte_tel_data_add_dict_u64(d, "timeouts", hs.timeouts);
		rte_tel_data_add_dict_u64(d, "late", hs.late);
		rte_tel_data_add_dict_u64(d, "bad_ack", hs.bad_ack);
		rte_tel_data_add_dict_u64(d, "marked_down", hs.marked_down);
		rte_tel_data_add_dict_u64(d, "marked_up", hs.marked_up);
		rte_tel_data_add_dict_u64(d, "outstanding", hs.outstanding);
	} else if (strcmp(cmd, "/serval/mgmt") == 0) {
		struct ssr_mgmt_stats ms;

		memset(&ms, 0, sizeof(ms));
		if (ssr_plane_mgmt(p) != NULL)
			ssr_mgmt_get_stats(ssr_plane_mgmt(p), &ms);
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_u64(d, "enabled", ssr_plane_mgmt(p) != NULL);
		rte_tel_data_add_dict_u64(d, "clients", ms.clients);
		rte_tel_data_add_dict_u64(d, "subscribers", ms.subscribers);
		rte_tel_data_add_dict_u64(d, "accepted", ms.accepted);
		rte_tel_data_add_dict_u64(d, "requests", ms.requests);
		rte_tel_data_add_dict_u64(d, "errors", ms.errors);
		rte_tel_data_add_dict_u64(d, "events_sent", ms.events_sent);
	} else {
		return -ENOTSUP;
	}
	return 0;
}

unsigned int
ssr_telemetry_poll(struct ssr_telemetry *t)
{
	uint32_t expect = TEL_POSTED;

	/* relaxed: a hint; the CAS below acquires what the request wrote */
	if (__atomic_load_n(&t->state, __ATOMIC_RELAXED) != TEL_POSTED)
		return 0;
	if (!__atomic_compare_exchange_n(&t->state, &expect, TEL_TAKEN, false,
				__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	t->result = fill(t->p, t->cmd, t->params, t->d);
	/* release: the reply is complete before the client sees DONE */
	__atomic_store_n(&t->state, TEL_DONE, __ATOMIC_RELEASE);
	return 1;
}

/* ---- the telemetry thread ---- */

static int
tel_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct timespec nap = { .tv_nsec = TEL_NAP_NS };
	struct ssr_telemetry *t;
	uint64_t waited = 0;
	uint32_t st;
	int ret;

	pthread_mutex_lock(&tel_lock);
	t = tel_live;
	if (t == NULL) {
		pthread_mutex_unlock(&tel_lock);
		return -ENODEV;
	}
	t->cmd = cmd;
	t->params = params != NULL && params[0] != '\0' ? params : NULL;
	t->d = d;
	/* release: the request is written before the control lcore takes it */
	__atomic_store_n(&t->state, TEL_POSTED, __ATOMIC_RELEASE);
	for (;;) {
		/* acquire: pairs with the control lcore's release of DONE */
		st = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
		if (st == TEL_DONE)
			break;
		if (st == TEL_POSTED && waited >= TEL_WAIT_NS) {
			uint32_t expect = TEL_POSTED;

			/* relaxed: withdrawing publishes nothing */
			if (__atomic_compare_exchange_n(&t->state, &expect, TEL_IDLE,
						false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				pthread_mutex_unlock(&tel_lock);
				return -ETIMEDOUT;
			}
			continue;
		}
		nanosleep(&nap, NULL);
		waited += TEL_NAP_NS;
	}
	ret = t->result;
	/* relaxed: the control lcore never touches an IDLE request */
	__atomic_store_n(&t->state, TEL_IDLE, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&tel_lock);
	return ret;
}

static const struct {
	const char *cmd;
	const char *help;
} tel_cmds[] = {
	{ "/serval/stats", "serval-sr counters summed over every lcore. No parameters" },
	{ "/serval/drops", "serval-sr drops by reason. No parameters" },
	{ "/serval/rules", "serval-sr rule prefixes (at most 512). No parameters" },
	{ "/serval/rule", "One serval-sr rule and its counters. Parameter: HEX/BITS" },
	{ "/serval/flows", "serval-sr gateway flow table. No parameters" },
	{ "/serval/workers", "lcore of each serval-sr worker. No parameters" },
	{ "/serval/worker", "One serval-sr worker's counters. Parameter: worker index" },
	{ "/serval/health", "serval-sr health-check counters. No parameters" },
	{ "/serval/mgmt", "serval-sr management socket counters. No parameters" },
};

struct ssr_telemetry *
ssr_telemetry_create(struct ssr_plane *p)
{
	struct ssr_telemetry *t;
	unsigned int i;
	int ret;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->p = p;
	pthread_mutex_lock(&tel_lock);
	if (!tel_registered) {
		for (i = 0; i < RTE_DIM(tel_cmds); i++) {
			ret = rte_telemetry_register_cmd(tel_cmds[i].cmd, tel_cb,
					tel_cmds[i].help);
			if (ret != 0) {
				pthread_mutex_unlock(&tel_lock);
				free(t);
				errno = -ret;
				return NULL;
			}
		}
		tel_registered = true;
	}
	tel_live = t;
	pthread_mutex_unlock(&tel_lock);
	return t;
}

void
ssr_telemetry_free(struct ssr_telemetry *t)
{
	if (t == NULL)
		return;
	/* a client holding the lock finishes (or times out) first */
	pthread_mutex_lock(&tel_lock);
	if (tel_live == t)
		tel_live = NULL;
	pthread_mutex_unlock(&tel_lock);
	free(t);
}
