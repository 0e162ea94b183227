/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Weighted consistent target choice (svctable_pick), no EAL:
 * - the lut follows the formula documented in svctable.h (an independent
 *   oracle rebuilds entries);
 * - over 1,000,000 flows each target's share matches its weight share within
 *   a tolerance derived from the table size (stated below);
 * - removing one of N targets moves ~1/N of flows, all of them from the
 *   removed target; adding one moves ~1/(N+1), all of them to the new one;
 * - draining (weight 0) moves no flow that was not on the drained target;
 * - priority groups fall through when every weight is 0; no target at all
 *   gives NULL.
 */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svctable.h"

#define N_FLOWS 1000000u

static uint64_t *g_hash; /* N_FLOWS flow hashes */

static uint64_t rng_state = 0xfeedfacecafebeefull;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int
setup(void **state)
{
	uint32_t i;

	(void)state;
	g_hash = malloc(N_FLOWS * sizeof(*g_hash));
	if (g_hash == NULL)
		return -1;
	for (i = 0; i < N_FLOWS; i++) {
		uint64_t r = rnd();

		/* client address and flowID: what identifies a SAL flow */
		g_hash[i] = svctable_flow_hash((uint32_t)(r >> 32), (uint32_t)r);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(g_hash);
	return 0;
}

static struct svctable *
mk_table(void)
{
	struct svctable_conf conf = { .max_rules = 64 };
	struct svctable *t = svctable_create(&conf);

	assert_non_null(t);
	return t;
}

/* install a FORWARD rule at a /32 of its own and return it */
static const struct svctable_rule *
fwd_rule(struct svctable *t, uint32_t which, const struct svctable_target *tg,
		uint32_t n)
{
	struct svctable_rule_conf rc = {
		.action = SVCTABLE_ACTION_FORWARD, .id = which,
		.targets = tg, .n_targets = n,
	};
	struct svctable_key k;
	const struct svctable_rule *r;

	memset(&k, 0, sizeof(k));
	k.bytes[0] = (uint8_t)(which >> 8);
	k.bytes[1] = (uint8_t)which;
	k.bytes[3] = 1;
	assert_int_equal(svctable_insert(t, &k, 32, &rc), 0);
	assert_int_equal(svctable_get(t, &k, 32, &r), 0);
	return r;
}

static void
equal_targets(struct svctable_target *tg, uint32_t n, uint32_t id0)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		tg[i].ip = 0x0a000001u + i;
		tg[i].id = id0 + i;
		tg[i].weight = 1;
		tg[i].priority = 0;
	}
}

/* the formula in svctable.h, written again from the text */
static uint64_t
oracle_hash(uint32_t a, uint32_t b)
{
	uint64_t x = ((uint64_t)a << 32 | b) ^ 0x5356435441424c45ull;

	x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 32);
}

static uint32_t
oracle_owner(const struct svctable_target *tg, uint32_t n, uint32_t j)
{
	double best = 0;
	uint32_t owner = UINT32_MAX, i, lowest = UINT32_MAX;

	for (i = 0; i < n; i++) {
		uint64_t h;
		double u, score;

		if (tg[i].weight == 0)
			continue;
		h = oracle_hash(tg[i].id, j);
		u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
		score = -log(u) / tg[i].weight;
		if (owner == UINT32_MAX || score < best ||
				(score == best && tg[i].id < lowest)) {
			best = score;
			owner = tg[i].id;
			lowest = tg[i].id;
		}
	}
	return owner;
}

static void
test_formula(void **state)
{
	struct svctable *t = mk_table();
	struct svctable_target tg[5] = {
		{ .ip = 1, .id = 900, .weight = 3, .priority = 2 },
		{ .ip = 2, .id = 17, .weight = 1, .priority = 2 },
		{ .ip = 3, .id = 4242, .weight = 7, .priority = 2 },
		{ .ip = 4, .id = 5, .weight = 9, .priority = 1 },  /* lower group */
		{ .ip = 5, .id = 6, .weight = 0, .priority = 2 },  /* draining */
	};
	const struct svctable_rule *r = fwd_rule(t, 1, tg, 5);
	uint32_t j, i;

	(void)state;
	assert_int_equal(svctable_flow_hash(0x0a000001, 77), oracle_hash(0x0a000001, 77));
	assert_int_equal(r->tset->n_targets, 5);
	assert_int_equal(r->tset->n_active, 3);
	assert_int_equal(r->tset->lut_bits, SVCTABLE_LUT_BITS);
	/* sorted: priority 2 first (higher number preferred), by id */
	assert_int_equal(r->tset->targets[0].id, 6);
	assert_int_equal(r->tset->targets[1].id, 17);
	assert_int_equal(r->tset->targets[2].id, 900);
	assert_int_equal(r->tset->targets[3].id, 4242);
	assert_int_equal(r->tset->targets[4].id, 5);
	for (j = 0; j < (1u << SVCTABLE_LUT_BITS); j += 7) {
		/* the preferred group: priority 2, draining member included */
		struct svctable_target grp[4] = { tg[0], tg[1], tg[2], tg[4] };

		assert_int_equal(r->tset->targets[svctable_rule_lut(r)[j]].id,
				oracle_owner(grp, 4, j));
	}
	/* pick = lut[top 16 bits] */
	for (i = 0; i < 1000; i++) {
		uint64_t h = g_hash[i];

		assert_ptr_equal(svctable_pick(r, h),
				&r->tset->targets[svctable_rule_lut(r)[h >> 48]]);
	}
	svctable_free(t);
}

static void
count_picks(const struct svctable_rule *r, uint32_t *cnt, uint32_t max_id)
{
	const struct svctable_rule *rules[64];
	const struct svctable_target *out[64];
	uint32_t i, j;

	memset(cnt, 0, (max_id + 1) * sizeof(*cnt));
	for (j = 0; j < 64; j++)
		rules[j] = r;
	for (i = 0; i < N_FLOWS; i += 64) {
		uint32_t n = N_FLOWS - i < 64 ? N_FLOWS - i : 64;

		assert_int_equal(svctable_pick_bulk(rules, g_hash + i, n, out), n);
		for (j = 0; j < n; j++) {
			assert_true(out[j]->id <= max_id);
			cnt[out[j]->id]++;
		}
	}
}

/*
 * Stated tolerance: a target with weight share p gets p * 2^16 lut entries
 * give or take a binomial spread, relative sd sqrt((1-p)/(p*2^16)); 1M flows
 * add sd sqrt((1-p)/(p*1e6)). We assert every share within 5 combined
 * standard deviations (about 9% relative for p = 0.1, 1.5% for p = 0.5).
 */
static void
check_shares(const uint32_t *cnt, const struct svctable_target *tg, uint32_t n)
{
	uint32_t i, wsum = 0;

	for (i = 0; i < n; i++)
		wsum += tg[i].weight;
	for (i = 0; i < n; i++) {
		double p = (double)tg[i].weight / wsum;
		double got = (double)cnt[tg[i].id] / N_FLOWS;
		double sd = sqrt((1 - p) / (p * 65536.0) + (1 - p) / (p * N_FLOWS));
		double rel = (got - p) / p;

		print_message("  target %u weight %u: share %.4f want %.4f (%+.2f%%, "
				"bound %.2f%%)\n", tg[i].id, tg[i].weight, got, p,
				100 * rel, 500 * sd);
		assert_true(fabs(rel) <= 5 * sd);
	}
}

static void
test_distribution(void **state)
{
	struct svctable *t = mk_table();
	struct svctable_target w4[4] = {
		{ .ip = 1, .id = 1, .weight = 1 }, { .ip = 2, .id = 2, .weight = 2 },
		{ .ip = 3, .id = 3, .weight = 3 }, { .ip = 4, .id = 4, .weight = 4 },
	};
	struct svctable_target eq[10], skew[3] = {
		{ .ip = 1, .id = 1, .weight = 1000 }, { .ip = 2, .id = 2, .weight = 10 },
		{ .ip = 3, .id = 3, .weight = 100 },
	};
	uint32_t cnt[16];

	(void)state;
	count_picks(fwd_rule(t, 1, w4, 4), cnt, 15);
	check_shares(cnt, w4, 4);
	equal_targets(eq, 10, 1);
	count_picks(fwd_rule(t, 2, eq, 10), cnt, 15);
	check_shares(cnt, eq, 10);
	count_picks(fwd_rule(t, 3, skew, 3), cnt, 15);
	check_shares(cnt, skew, 3);
	svctable_free(t);
}

/* fraction of flows whose target differs between two rules; every moved
 * flow must satisfy the predicate */
static double
moved(const struct svctable_rule *a, const struct svctable_rule *b,
		int (*ok)(uint32_t from, uint32_t to, uint32_t arg), uint32_t arg)
{
	uint32_t i, n = 0;

	for (i = 0; i < N_FLOWS; i++) {
		const struct svctable_target *x = svctable_pick(a, g_hash[i]);
		const struct svctable_target *y = svctable_pick(b, g_hash[i]);

		assert_non_null(x);
		assert_non_null(y);
		if (x->id != y->id) {
			if (!ok(x->id, y->id, arg))
				fail_msg("flow %u moved %u -> %u", i, x->id, y->id);
			n++;
		}
	}
	return (double)n / N_FLOWS;
}

static int
from_is(uint32_t from, uint32_t to, uint32_t arg)
{
	(void)to;
	return from == arg;
}

static int
to_is(uint32_t from, uint32_t to, uint32_t arg)
{
	(void)from;
	return to == arg;
}

static void
test_disruption(void **state)
{
	struct svctable *t = mk_table();
	static const uint32_t sizes[] = { 2, 5, 10, 33 };
	struct svctable_target tg[40];
	uint32_t s;

	(void)state;
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s];
		const struct svctable_rule *full, *less, *more;
		double f;

		equal_targets(tg, n + 1, 100);
		full = fwd_rule(t, 10 * s + 1, tg, n);
		more = fwd_rule(t, 10 * s + 2, tg, n + 1);
		/* remove the middle one */
		tg[n / 2] = tg[n - 1];
		less = fwd_rule(t, 10 * s + 3, tg, n - 1);
		f = moved(full, less, from_is, 100 + n / 2);
		print_message("  remove 1 of %u: %.4f of flows moved (1/N = %.4f)\n",
				n, f, 1.0 / n);
		/* only the removed target's flows move: its share, 1/N +- 10% */
		assert_true(f > 0.9 / n && f < 1.1 / n);
		f = moved(full, more, to_is, 100 + n);
		print_message("  add 1 to %u: %.4f of flows moved (1/(N+1) = %.4f)\n",
				n, f, 1.0 / (n + 1));
		assert_true(f > 0.9 / (n + 1) && f < 1.1 / (n + 1));
	}
	svctable_free(t);
}

static void
test_draining(void **state)
{
	struct svctable *t = mk_table();
	struct svctable_target tg[8];
	const struct svctable_rule *a, *d, *back;
	double f;
	uint32_t i;

	(void)state;
	equal_targets(tg, 8, 1);
	tg[2].weight = 3;
	a = fwd_rule(t, 1, tg, 8);
	tg[5].weight = 0; /* drain target 6 */
	d = fwd_rule(t, 2, tg, 8);
	assert_int_equal(d->tset->n_targets, 8); /* still in the rule */
	assert_int_equal(d->tset->n_active, 7);
	f = moved(a, d, from_is, 6);
	print_message("  drain 1 of 8: %.4f of flows moved, all from it\n", f);
	for (i = 0; i < N_FLOWS; i++)
		assert_int_not_equal(svctable_pick(d, g_hash[i])->id, 6);
	/* undrain: the same flows come back, nothing else moves */
	tg[5].weight = 1;
	back = fwd_rule(t, 3, tg, 8);
	f = moved(d, back, to_is, 6);
	assert_true(f > 0);
	for (i = 0; i < N_FLOWS; i += 3)
		assert_int_equal(svctable_pick(back, g_hash[i])->id,
				svctable_pick(a, g_hash[i])->id);
	svctable_free(t);
}

static void
test_groups(void **state)
{
	struct svctable *t = mk_table();
	struct svctable_target tg[4] = {
		{ .ip = 1, .id = 1, .weight = 0, .priority = 9 },
		{ .ip = 2, .id = 2, .weight = 0, .priority = 9 },
		{ .ip = 3, .id = 3, .weight = 5, .priority = 1 },
		{ .ip = 4, .id = 4, .weight = 0, .priority = 1 },
	};
	const struct svctable_rule *r, *none, *one;
	const struct svctable_rule *rules[3];
	const struct svctable_target *out[3];
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_DELAY };
	struct svctable_key k;
	uint32_t i;

	(void)state;
	/* the preferred group is all draining: fall through to priority 1 */
	r = fwd_rule(t, 1, tg, 4);
	assert_int_equal(r->tset->n_active, 1);
	assert_int_equal(r->tset->lut_bits, 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(svctable_pick(r, g_hash[i])->id, 3);
	/* every weight 0: no target, the app counts a drop */
	tg[2].weight = 0;
	none = fwd_rule(t, 2, tg, 4);
	assert_int_equal(none->tset->n_active, 0);
	assert_null(svctable_rule_lut(none));
	assert_null(svctable_pick(none, g_hash[0]));
	/* a live higher group wins over a lower one */
	tg[1].weight = 2;
	tg[2].weight = 5;
	one = fwd_rule(t, 3, tg, 4);
	for (i = 0; i < 1000; i++)
		assert_int_equal(svctable_pick(one, g_hash[i])->id, 2);
	/* not FORWARD, or no rule: NULL */
	memset(&k, 0, sizeof(k));
	k.bytes[0] = 0x77;
	assert_int_equal(svctable_insert(t, &k, 8, &rc), 0);
	rules[0] = svctable_lookup(t, &k);
	assert_non_null(rules[0]);
	rules[1] = NULL;
	rules[2] = one;
	assert_int_equal(svctable_pick_bulk(rules, g_hash, 3, out), 1);
	assert_null(out[0]);
	assert_null(out[1]);
	assert_int_equal(out[2]->id, 2);
	assert_int_equal(svctable_pick_bulk(NULL, g_hash, 3, out), 0);
	svctable_free(t);
}

static void
test_interning(void **state)
{
	struct svctable *t = mk_table();
	struct svctable_target a[3], b[3];
	const struct svctable_rule *ra, *rb;
	struct svctable_memory m1, m2;

	(void)state;
	equal_targets(a, 3, 1);
	b[0] = a[2];
	b[1] = a[0];
	b[2] = a[1];
	ra = fwd_rule(t, 1, a, 3);
	svctable_memory(t, &m1);
	rb = fwd_rule(t, 2, b, 3); /* same list, another order */
	svctable_memory(t, &m2);
	assert_ptr_equal(svctable_rule_lut(ra), svctable_rule_lut(rb));
	assert_ptr_equal(ra->tset, rb->tset);
	assert_int_equal(m1.target_bytes, m2.target_bytes);
	assert_true(m1.target_bytes >= (2u << SVCTABLE_LUT_BITS));
	svctable_free(t);
}

/*
 * svctable_pick_bulk() is svctable_pick() over a burst: for bursts that
 * end inside and across its batches, with rules of every kind mixed (a
 * 65536-entry lut, one active target, no active target, not FORWARD, a
 * long /200 prefix, NULL).
 */
static void
test_bulk_is_pick(void **state)
{
	enum { N = 100 };
	struct svctable *t = mk_table();
	struct svctable_target tg[6], drained[2];
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	const struct svctable_rule *kinds[6], *rules[N];
	const struct svctable_target *out[N];
	struct svctable_key k;
	uint32_t i, n, want;

	(void)state;
	equal_targets(tg, 6, 10);
	equal_targets(drained, 2, 50);
	drained[0].weight = 0;
	drained[1].weight = 0;
	kinds[0] = fwd_rule(t, 1, tg, 6);
	kinds[1] = fwd_rule(t, 2, tg, 1);
	kinds[2] = fwd_rule(t, 3, drained, 2);
	memset(&k, 0, sizeof(k));
	k.bytes[0] = 0x99;
	assert_int_equal(svctable_insert(t, &k, 8, &rc), 0);
	kinds[3] = svctable_lookup(t, &k);
	assert_non_null(kinds[3]);
	kinds[4] = NULL;
	memset(&k, 0x5c, sizeof(k));
	svctable_key_mask(&k, 200);
	rc.action = SVCTABLE_ACTION_FORWARD;
	rc.targets = &tg[2];
	rc.n_targets = 3;
	assert_int_equal(svctable_insert(t, &k, 200, &rc), 0);
	assert_int_equal(svctable_get(t, &k, 200, &kinds[5]), 0);
	assert_int_equal(kinds[5]->tset->lut_bits, SVCTABLE_LUT_BITS);
	for (i = 0; i < N; i++)
		rules[i] = kinds[(i * 7 + i / 6) % 6];
	for (n = 1; n <= N; n += n < 40 ? 1 : 13) {
		want = 0;
		memset(out, 0xee, sizeof(out));
		for (i = 0; i < n; i++)
			want += svctable_pick(rules[i], g_hash[n + i]) != NULL;
		assert_int_equal(svctable_pick_bulk(rules, g_hash + n, n, out), want);
		for (i = 0; i < n; i++)
			assert_ptr_equal(out[i], svctable_pick(rules[i], g_hash[n + i]));
		/* nothing past the burst is written */
		assert_true(n == N || out[n] == (const void *)(uintptr_t)0xeeeeeeeeeeeeeeeeull);
	}
	svctable_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formula),
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_disruption),
		cmocka_unit_test(test_draining),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_interning),
		cmocka_unit_test(test_bulk_is_pick),
	};

	return cmocka_run_group_tests_name("svctable_pick", tests, setup, teardown);
}
