/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Two lcores, rte_rcu_qsbr attached: a reader lcore looks up continuously
 * while the writer churns single inserts/deletes and swaps batches.
 *
 * Every result is checked against a window of versions: the writer
 * publishes `pending[i]` before it commits a change to service i and
 * `committed[i]` after, so a lookup that read committed[i] = c before and
 * pending[i] = p after may see only versions c..p. Even versions mean the
 * service's own rule (its id encodes the version), odd versions mean it is
 * deleted and its parent prefix answers. Anything else is a third value.
 * Most services also have a grandparent 16 bits up, so that their changes
 * are published by a store into a live trie node (required to happen).
 *
 * Sixteen services change only in batch transactions that rewrite all of
 * them to one generation; the reader looks all sixteen up in one bulk call
 * and requires one generation (the "one instant" of a commit).
 *
 * Memory is sized so that progress needs reclamation: the rule arena holds
 * 2 * max_rules + 64 objects and the reclaim queue 16 commits, while the
 * writer commits tens of thousands of changes. Under ASan, freed arena
 * memory is poisoned, so a reader touching memory freed too early is caught.
 *
 * Args: EAL args, then optionally `-- <seconds>` (default 8).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>

#include "svctable.h"
#include "svctable_priv.h" /* white-box: svc_check() at the end */

#define N_CHURN 48
#define N_BATCH 16
#define N_QUERY 4            /* query keys per churn service */
#define MAX_RULES 176        /* 48 + 48 parents + 40 grandparents + 16 */

#define ID_PARENT 0x40000000u
#define ID_GRAND 0x20000000u
#define ID_BATCH 0x80000000u

static struct svctable *g_t;
static struct rte_rcu_qsbr *g_qsv;
static volatile bool g_stop;

/* [writer] publishes, [reader] reads with acquire */
static uint32_t pending[N_CHURN], committed[N_CHURN];
static uint32_t bpending, bcommitted;

static struct svctable_key churn_key[N_CHURN];
static unsigned int churn_len[N_CHURN];
static struct svctable_key churn_query[N_CHURN][N_QUERY];
static struct svctable_key batch_key[N_BATCH];
static struct svctable_key batch_query[N_BATCH];

static uint64_t rng = 0x0ddba11cafef00dull;

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
rnd_key(struct svctable_key *k)
{
	unsigned int i;

	for (i = 0; i < 32; i += 8) {
		uint64_t v = rnd(&rng);

		memcpy(k->bytes + i, &v, 8);
	}
}

/* a key under prefix (p, len) with random bits after it */
static void
under(struct svctable_key *q, const struct svctable_key *p, unsigned int len)
{
	struct svctable_key tail;
	unsigned int i;

	rnd_key(&tail);
	*q = *p;
	for (i = len; i < 256; i++)
		if ((tail.bytes[i >> 3] >> (7 - (i & 7))) & 1)
			q->bytes[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
}

static uint32_t
churn_id(uint32_t i, uint32_t v)
{
	return i << 20 | (v & 0xfffff);
}

/* ------------------------------------------------------------ reader */

struct reader_stats {
	uint64_t lookups;
	uint64_t batch_checks;
	uint64_t errors;
	char first_error[200];
};

static struct reader_stats g_rs;

static void
reader_error(const char *fmt, unsigned int a, unsigned int b, unsigned int c)
{
	if (g_rs.errors++ == 0)
		snprintf(g_rs.first_error, sizeof(g_rs.first_error), fmt, a, b, c);
}

static bool
window_has(uint32_t lo, uint32_t hi, bool odd)
{
	uint32_t v;

	for (v = lo; v <= hi; v++)
		if ((v & 1) == odd)
			return true;
	return false;
}

static int
reader(void *arg)
{
	unsigned int id = rte_lcore_id();
	const struct svctable_key *keys[N_BATCH + 32];
	const struct svctable_rule *res[N_BATCH + 32];
	uint32_t c0[N_BATCH + 32], svc[N_BATCH + 32];
	uint64_t s = 0xabcdef;
	unsigned int i;

	(void)arg;
	rte_rcu_qsbr_thread_register(g_qsv, id);
	rte_rcu_qsbr_thread_online(g_qsv, id);
	for (i = 0; i < N_BATCH; i++)
		keys[i] = &batch_query[i];
	while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
		uint32_t gc0, gp1, g = UINT32_MAX;

		for (i = N_BATCH; i < N_BATCH + 32; i++) {
			uint64_t r = rnd(&s);

			svc[i] = (uint32_t)(r % N_CHURN);
			keys[i] = &churn_query[svc[i]][(r >> 32) % N_QUERY];
			c0[i] = __atomic_load_n(&committed[svc[i]], __ATOMIC_ACQUIRE);
		}
		gc0 = __atomic_load_n(&bcommitted, __ATOMIC_ACQUIRE);
		svctable_lookup_bulk(g_t, keys, N_BATCH + 32, res);
		gp1 = __atomic_load_n(&bpending, __ATOMIC_ACQUIRE);

		for (i = 0; i < N_BATCH; i++) {
			uint32_t rid;

			if (res[i] == NULL) {
				reader_error("batch key %u: no rule", i, 0, 0);
				continue;
			}
			rid = res[i]->id;
			if ((rid & ID_BATCH) == 0 || ((rid >> 24) & 0x3f) != i) {
				reader_error("batch key %u: foreign id %#x", i, rid, 0);
				continue;
			}
			if (g == UINT32_MAX)
				g = rid & 0xffffff;
			if ((rid & 0xffffff) != g)
				reader_error("batch torn: key %u generation %u vs %u",
						i, rid & 0xffffff, g);
		}
		if (g != UINT32_MAX && (g < gc0 || g > gp1))
			reader_error("batch generation %u outside %u..%u", g, gc0, gp1);
		g_rs.batch_checks++;

		for (i = N_BATCH; i < N_BATCH + 32; i++) {
			uint32_t k = svc[i];
			uint32_t p1 = __atomic_load_n(&pending[k], __ATOMIC_ACQUIRE);
			const struct svctable_rule *r = res[i];

			if (r == NULL) {
				reader_error("service %u: no rule (window %u..)", k, c0[i], 0);
				continue;
			}
			/* reading the object: ASan reports it if it was freed early */
			if (r->id == (ID_PARENT | k)) {
				if (!window_has(c0[i], p1, true))
					reader_error("service %u: parent seen, window %u..%u",
							k, c0[i], p1);
			} else if ((r->id >> 20) == k && (r->id & 1) == 0 &&
					r->prefix_len == churn_len[k]) {
				uint32_t v = r->id & 0xfffff;

				if (v < (c0[i] & 0xfffff) || v > (p1 & 0xfffff))
					reader_error("service %u: version %u outside window",
							k, v, 0);
			} else {
				reader_error("service %u: third value id %#x len %u", k,
						r->id, r->prefix_len);
			}
		}
		g_rs.lookups += N_BATCH + 32;
		/* bottom of the loop: no rule pointer survives this line */
		rte_rcu_qsbr_quiescent(g_qsv, id);
	}
	rte_rcu_qsbr_thread_offline(g_qsv, id);
	rte_rcu_qsbr_thread_unregister(g_qsv, id);
	return 0;
}

/* ------------------------------------------------------------ writer */

struct writer_stats {
	uint64_t commits;
	uint64_t batches;
	uint64_t again;
	uint64_t reclaimed;
};

static struct writer_stats g_ws;

static int
retry(int ret)
{
	if (ret == -EAGAIN) {
		g_ws.again++;
		g_ws.reclaimed += (uint64_t)svctable_reclaim(g_t);
		rte_pause();
	}
	return ret;
}

static int
churn_one(uint32_t i)
{
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	uint32_t v = committed[i] + 1;
	int ret;

	/* release: a reader that sees pending >= v may meet version v */
	__atomic_store_n(&pending[i], v, __ATOMIC_RELEASE);
	do {
		if (v & 1) {
			ret = svctable_delete(g_t, &churn_key[i], churn_len[i]);
		} else {
			rc.id = churn_id(i, v);
			ret = svctable_insert(g_t, &churn_key[i], churn_len[i], &rc);
		}
	} while (retry(ret) == -EAGAIN);
	if (ret != 0)
		return ret;
	__atomic_store_n(&committed[i], v, __ATOMIC_RELEASE);
	g_ws.commits++;
	return 0;
}

static int
batch_swap(void)
{
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_DROP };
	uint32_t g = bcommitted + 1, i;
	struct svctable_txn *x = svctable_txn_begin(g_t);
	int ret = 0;

	if (x == NULL)
		return -rte_errno;
	for (i = 0; i < N_BATCH && ret == 0; i++) {
		rc.id = ID_BATCH | i << 24 | (g & 0xffffff);
		ret = svctable_txn_add(x, &batch_key[i], 64, &rc);
	}
	if (ret != 0) {
		svctable_txn_abort(x);
		return ret;
	}
	__atomic_store_n(&bpending, g, __ATOMIC_RELEASE);
	do
		ret = svctable_txn_commit(x);
	while (retry(ret) == -EAGAIN);
	if (ret != 0) {
		svctable_txn_abort(x);
		return ret;
	}
	__atomic_store_n(&bcommitted, g, __ATOMIC_RELEASE);
	g_ws.commits++;
	g_ws.batches++;
	return 0;
}

static int
setup_table(void)
{
	struct svctable_conf conf = {
		.max_rules = MAX_RULES, .reclaim_queue_size = 16,
		.socket_id = (int)rte_socket_id(),
	};
	static const unsigned int lens[] = { 20, 40, 64, 100, 160, 256 };
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	size_t sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	unsigned int i, j;
	int ret;

	g_qsv = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
	if (g_qsv == NULL || rte_rcu_qsbr_init(g_qsv, RTE_MAX_LCORE) != 0)
		return -ENOMEM;
	g_t = svctable_create(&conf);
	if (g_t == NULL)
		return -rte_errno;
	ret = svctable_rcu_attach(g_t, g_qsv);
	for (i = 0; i < N_CHURN && ret == 0; i++) {
		struct svctable_key parent;

		rnd_key(&churn_key[i]);
		churn_len[i] = lens[i % 6];
		svctable_key_mask(&churn_key[i], churn_len[i]);
		/* the parent answers while the service is deleted; /12 parents
		 * live in the root table, the others in the trie */
		parent = churn_key[i];
		svctable_key_mask(&parent, churn_len[i] - 8);
		rc.id = ID_PARENT | i;
		ret = svctable_insert(g_t, &parent, churn_len[i] - 8, &rc);
		/* a grandparent heads the parent's node from above: a change
		 * to the service is published by one store in place (the
		 * parent's node is rebuilt, the grandparent's changes only
		 * its child array) */
		if (ret == 0 && churn_len[i] >= 40) {
			svctable_key_mask(&parent, churn_len[i] - 16);
			rc.id = ID_GRAND | i;
			ret = svctable_insert(g_t, &parent, churn_len[i] - 16, &rc);
		}
		if (ret == 0) {
			rc.id = churn_id(i, 0);
			ret = svctable_insert(g_t, &churn_key[i], churn_len[i], &rc);
		}
		for (j = 0; j < N_QUERY; j++)
			under(&churn_query[i][j], &churn_key[i], churn_len[i]);
	}
	for (i = 0; i < N_BATCH; i++) {
		rnd_key(&batch_key[i]);
		svctable_key_mask(&batch_key[i], 64);
		under(&batch_query[i], &batch_key[i], 64);
	}
	if (ret == 0)
		ret = batch_swap();
	return ret;
}

int
main(int argc, char **argv)
{
	unsigned int reader_lcore, seconds = 8;
	uint64_t deadline, s = 42;
	char msg[256];
	int ret, args;

	args = rte_eal_init(argc, argv);
	if (args < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (rte_lcore_count() < 2) {
		printf("skipped: needs 2 lcores, have %u\n", rte_lcore_count());
		rte_eal_cleanup();
		return 77;
	}
	if (argc - args > 1)
		seconds = (unsigned int)atoi(argv[args + 1]);
	ret = setup_table();
	if (ret != 0) {
		fprintf(stderr, "setup: %s\n", strerror(-ret));
		return 1;
	}
	reader_lcore = rte_get_next_lcore(-1, 1, 0);
	rte_eal_remote_launch(reader, NULL, reader_lcore);

	deadline = rte_get_timer_cycles() + seconds * rte_get_timer_hz();
	while (ret == 0 && rte_get_timer_cycles() < deadline) {
		unsigned int n;

		for (n = 0; n < 64 && ret == 0; n++) {
			uint64_t r = rnd(&s);

			ret = r % 16 == 0 ? batch_swap() : churn_one((uint32_t)(r >> 32) % N_CHURN);
		}
		g_ws.reclaimed += (uint64_t)svctable_reclaim(g_t);
	}
	__atomic_store_n(&g_stop, true, __ATOMIC_RELAXED);
	rte_eal_wait_lcore(reader_lcore);
	/* the reader is offline: everything can go now */
	g_ws.reclaimed += (uint64_t)svctable_reclaim(g_t);

	printf("writer: %llu commits (%llu batch swaps), %llu -EAGAIN retries, "
			"%llu batches freed by the loop's reclaim calls\n",
			(unsigned long long)g_ws.commits, (unsigned long long)g_ws.batches,
			(unsigned long long)g_ws.again, (unsigned long long)g_ws.reclaimed);
	printf("writer: %llu commits published in place\n",
			(unsigned long long)g_t->n_inplace);
	printf("reader: %llu lookups, %llu batch checks, %llu errors\n",
			(unsigned long long)g_rs.lookups,
			(unsigned long long)g_rs.batch_checks,
			(unsigned long long)g_rs.errors);
	if (ret != 0) {
		fprintf(stderr, "FAIL: writer stopped: %s\n", strerror(-ret));
		return 1;
	}
	if (g_rs.errors != 0) {
		fprintf(stderr, "FAIL: reader: %s\n", g_rs.first_error);
		return 1;
	}
	if (g_rs.lookups == 0 || g_rs.batch_checks == 0) {
		fprintf(stderr, "FAIL: the reader made no progress\n");
		return 1;
	}
	/* without reclamation the writer would have stopped long before */
	if (g_ws.commits <= 2 * MAX_RULES + 64 || g_ws.reclaimed == 0) {
		fprintf(stderr, "FAIL: too few commits (%llu) to prove reclamation\n",
				(unsigned long long)g_ws.commits);
		return 1;
	}
	if (g_t->n_inplace == 0) {
		fprintf(stderr, "FAIL: no commit was published in place\n");
		return 1;
	}
	if (svctable_reclaim_pending(g_t) != 0 || svc_check(g_t, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "FAIL: table check: %s (pending %u)\n", msg,
				svctable_reclaim_pending(g_t));
		return 1;
	}
	svctable_free(g_t);
	free(g_qsv);
	rte_eal_cleanup();
	printf("PASS\n");
	return 0;
}
