/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Unit tests of lib/svctable without the EAL: invalid arguments, function,
 * edge cases, transactions, failure atomicity, reclamation through a QSBR
 * variable driven by hand, and a differential test against a brute-force
 * reference (one hash set per prefix length).
 *
 *   test_svctable            functional tests + a short differential run
 *   test_svctable --long [seed]
 *                            the 1,000,000-operation differential run only,
 *                            from another random seed when one is given
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

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include "svctable.h"
#include "svctable_priv.h" /* white-box: svc_check() and arena limits */

static uint64_t g_diff_ops = 120000;

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t
rndn(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * n) >> 32);
}

static void
rnd_key(struct svctable_key *k)
{
	unsigned int i;

	for (i = 0; i < 32; i += 8) {
		uint64_t v = rnd();

		memcpy(k->bytes + i, &v, 8);
	}
}

static void
flip_bit(struct svctable_key *k, unsigned int i)
{
	k->bytes[i >> 3] ^= (uint8_t)(0x80u >> (i & 7));
}

static struct svctable *
mk_table(uint32_t max_rules)
{
	struct svctable_conf conf = { .max_rules = max_rules };
	struct svctable *t = svctable_create(&conf);

	assert_non_null(t);
	/* insert hints (struct svc_rib) from the first rib node on, not only
	 * past 64k nodes, so every test here runs them */
	t->rib.hint_min_nodes = 0;
	return t;
}

static void
check_table(const struct svctable *t)
{
	char msg[256];
	int ret = svc_check(t, msg, sizeof(msg));

	if (ret != 0)
		fail_msg("svc_check: %s", msg);
}

static int
ins(struct svctable *t, const struct svctable_key *k, unsigned int len,
		uint32_t id)
{
	struct svctable_rule_conf rc = {
		.action = SVCTABLE_ACTION_LOCAL, .id = id,
	};

	return svctable_insert(t, k, len, &rc);
}

static uint32_t
lookup_id(const struct svctable *t, const struct svctable_key *k)
{
	const struct svctable_rule *r = svctable_lookup(t, k);

	return r != NULL ? r->id : UINT32_MAX;
}

static struct svctable_key
key_from(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3)
{
	struct svctable_key k;
	uint64_t w[4] = { w0, w1, w2, w3 };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		uint64_t be = __builtin_bswap64(w[i]);

		memcpy(k.bytes + 8 * i, &be, 8);
	}
	return k;
}

static struct svctable_key
masked(struct svctable_key k, unsigned int len)
{
	svctable_key_mask(&k, len);
	return k;
}

/* ---------------------------------------------------- invalid arguments */

static void
test_invalid(void **state)
{
	struct svctable_conf conf = { .max_rules = 0 };
	struct svctable_target tg[2] = {
		{ .ip = 1, .id = 7, .weight = 1 }, { .ip = 2, .id = 7, .weight = 1 },
	};
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	struct svctable_key k = key_from(0x0102030405060708ull, 0, 0, 0);
	const struct svctable_rule *r;
	struct svctable *t;
	struct svctable_target *many;

	(void)state;
	assert_null(svctable_create(NULL));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(svctable_create(&conf));
	conf.max_rules = SVCTABLE_MAX_RULES + 1;
	assert_null(svctable_create(&conf));
	conf.max_rules = 16;
	conf.flags = 1;
	assert_null(svctable_create(&conf));
	assert_int_equal(rte_errno, EINVAL);

	t = mk_table(16);
	assert_int_equal(svctable_insert(NULL, &k, 64, &rc), -EINVAL);
	assert_int_equal(svctable_insert(t, NULL, 64, &rc), -EINVAL);
	assert_int_equal(svctable_insert(t, &k, 64, NULL), -EINVAL);
	assert_int_equal(svctable_insert(t, &k, 257, &rc), -EINVAL);
	/* bits set past the prefix length are an error, not silently masked */
	assert_int_equal(svctable_insert(t, &k, 60, &rc), -EINVAL);
	assert_int_equal(svctable_insert(t, &k, 64, &rc), 0);
	rc.action = SVCTABLE_ACTION_MAX;
	assert_int_equal(svctable_insert(t, &k, 64, &rc), -EINVAL);
	rc.action = SVCTABLE_ACTION_FORWARD;
	assert_int_equal(svctable_insert(t, &k, 64, &rc), -EINVAL); /* no targets */
	rc.targets = tg;
	rc.n_targets = 2;
	assert_int_equal(svctable_insert(t, &k, 64, &rc), -EINVAL); /* dup ids */
	many = calloc(SVCTABLE_MAX_TARGETS + 1, sizeof(*many));
	assert_non_null(many);
	rc.targets = many;
	rc.n_targets = SVCTABLE_MAX_TARGETS + 1;
	assert_int_equal(svctable_insert(t, &k, 64, &rc), -E2BIG);
	free(many);
	rc.action = SVCTABLE_ACTION_DROP; /* targets on a non-FORWARD rule */
	rc.targets = tg;
	rc.n_targets = 1;
	assert_int_equal(svctable_insert(t, &k, 64, &rc), -EINVAL);

	/* the failed inserts changed nothing */
	assert_int_equal(svctable_count(t), 1);
	assert_int_equal(svctable_get(t, &k, 64, &r), 0);
	assert_int_equal(r->action, SVCTABLE_ACTION_LOCAL);

	assert_int_equal(svctable_get(t, &k, 60, &r), -EINVAL);
	assert_int_equal(svctable_get(t, &k, 257, &r), -EINVAL);
	assert_int_equal(svctable_get(t, NULL, 64, &r), -EINVAL);
	assert_int_equal(svctable_get(t, &k, 64, NULL), -EINVAL);
	assert_int_equal(svctable_delete(t, &k, 60), -EINVAL);
	k = masked(k, 32);
	assert_int_equal(svctable_get(t, &k, 32, &r), -ENOENT);
	assert_int_equal(svctable_delete(t, &k, 32), -ENOENT);
	assert_int_equal(svctable_rcu_attach(t, NULL), -EINVAL);
	assert_int_equal(svctable_rcu_attach(NULL, NULL), -EINVAL);
	assert_int_equal(svctable_reclaim(NULL), -EINVAL);
	assert_int_equal(svctable_walk(t, NULL, NULL), -EINVAL);
	assert_int_equal(svctable_txn_commit(NULL), -EINVAL);
	assert_int_equal(svctable_txn_add(NULL, &k, 32, &rc), -EINVAL);
	assert_int_equal(svctable_txn_del(NULL, &k, 32), -EINVAL);
	assert_int_equal(svctable_txn_clear(NULL), -EINVAL);
	assert_null(svctable_txn_begin(NULL));
	svctable_txn_abort(NULL);
	assert_int_equal(svctable_lookup_bulk(NULL, NULL, 4, NULL), 0);
	assert_null(svctable_lookup(t, NULL));
	assert_int_equal(svctable_count(NULL), 0);
	assert_int_equal(svctable_memory(NULL, NULL), 0);
	check_table(t);
	svctable_free(t);
	svctable_free(NULL);
}

/* ---------------------------------------------------------- functions */

static void
test_basic(void **state)
{
	struct svctable *t = mk_table(64);
	struct svctable_key a = key_from(0xaabbccdd00000000ull, 0, 0, 0);
	struct svctable_key b = key_from(0xaabbccdd11223344ull, 0x5566000000000000ull, 0, 0);
	struct svctable_key q = key_from(0xaabbccdd11223344ull, 0x5566778899aabbccull, 1, 2);
	struct svctable_key got;
	struct svctable_key miss = key_from(0x1ull, 0, 0, 0);
	const struct svctable_rule *r, *r2;
	struct svctable_memory m;

	(void)state;
	assert_null(svctable_lookup(t, &q));
	assert_int_equal(ins(t, &a, 32, 1), 0);
	assert_int_equal(lookup_id(t, &q), 1);
	assert_int_equal(ins(t, &b, 80, 2), 0);
	assert_int_equal(lookup_id(t, &q), 2);
	assert_int_equal(lookup_id(t, &a), 1);
	assert_int_equal(lookup_id(t, &miss), UINT32_MAX);
	assert_int_equal(svctable_count(t), 2);

	/* replace in place: a new object with the new id, same prefix */
	assert_int_equal(svctable_get(t, &b, 80, &r), 0);
	assert_int_equal(r->id, 2);
	assert_int_equal(r->prefix_len, 80);
	svctable_rule_prefix(r, &got);
	assert_memory_equal(&got, &b, sizeof(b));
	assert_int_equal(ins(t, &b, 80, 3), 0);
	assert_int_equal(svctable_get(t, &b, 80, &r2), 0);
	assert_int_equal(r2->id, 3);
	assert_int_equal(lookup_id(t, &q), 3);
	assert_int_equal(svctable_count(t), 2);

	assert_true(svctable_memory(t, &m) > 0);
	/* /32 and /80: one 32-byte unit each */
	assert_true(m.trie_bytes > 0 && m.rule_bytes == 2 * SVC_RULE_UNIT);
	assert_int_equal(m.pending_bytes, 0); /* no QSBR: freed at once */

	assert_int_equal(svctable_delete(t, &b, 80), 0);
	assert_int_equal(lookup_id(t, &q), 1);
	assert_int_equal(svctable_delete(t, &a, 32), 0);
	assert_null(svctable_lookup(t, &q));
	assert_int_equal(svctable_count(t), 0);
	check_table(t);
	svctable_free(t);
}

static void
test_edges(void **state)
{
	struct svctable *t = mk_table(1024);
	struct svctable_key zero = key_from(0, 0, 0, 0);
	struct svctable_key full = key_from(~0ull, ~0ull, ~0ull, ~0ull);
	struct svctable_key full1 = full;
	struct svctable_key k, p;
	unsigned int len;

	(void)state;
	/* /0 is the default */
	assert_int_equal(ins(t, &zero, 0, 100), 0);
	assert_int_equal(lookup_id(t, &full), 100);
	assert_int_equal(lookup_id(t, &zero), 100);
	/* /256 exact, and its neighbour that differs only in the last bit */
	flip_bit(&full1, 255);
	assert_int_equal(ins(t, &full, 256, 1), 0);
	assert_int_equal(lookup_id(t, &full), 1);
	assert_int_equal(lookup_id(t, &full1), 100);
	assert_int_equal(ins(t, &full1, 256, 2), 0);
	assert_int_equal(lookup_id(t, &full), 1);
	assert_int_equal(lookup_id(t, &full1), 2);
	/* a /255 covering both: the /256s still win, other keys do not exist */
	p = masked(full, 255);
	assert_int_equal(ins(t, &p, 255, 3), 0);
	assert_int_equal(lookup_id(t, &full), 1);
	assert_int_equal(svctable_delete(t, &full, 256), 0);
	assert_int_equal(lookup_id(t, &full), 3);
	assert_int_equal(lookup_id(t, &full1), 2);

	/* nested prefixes at every length along one path */
	k = key_from(0x0123456789abcdefull, 0xfedcba9876543210ull,
			0x0f1e2d3c4b5a6978ull, 0x8877665544332211ull);
	for (len = 1; len <= 256; len++) {
		p = masked(k, len);
		assert_int_equal(ins(t, &p, len, 1000 + len), 0);
	}
	assert_int_equal(lookup_id(t, &k), 1256);
	for (len = 256; len >= 1; len--) {
		struct svctable_key q = k;

		/* a key that leaves the path at bit len-1 matches the /len-1 */
		flip_bit(&q, len - 1);
		assert_int_equal(lookup_id(t, &q), len == 1 ? 100 : 1000 + len - 1);
	}
	check_table(t);
	/* delete a prefix with children: the children stay */
	p = masked(k, 40);
	assert_int_equal(svctable_delete(t, &p, 40), 0);
	assert_int_equal(lookup_id(t, &k), 1256);
	{
		struct svctable_key q = k;

		flip_bit(&q, 40); /* leaves the path right after /40 */
		assert_int_equal(lookup_id(t, &q), 1039);
	}
	/* delete everything odd, leaving gaps */
	for (len = 1; len <= 256; len += 2) {
		p = masked(k, len);
		assert_int_equal(svctable_delete(t, &p, len), 0);
	}
	for (len = 2; len <= 256; len += 2) {
		struct svctable_key q = k;

		if (len < 256)
			flip_bit(&q, len); /* leaves after /len (even) */
		assert_int_equal(lookup_id(t, &q), len == 40 ? 1038 : 1000 + len);
	}
	check_table(t);
	/* prefixes that differ only in their last bit, at several lengths */
	for (len = 17; len <= 256; len += 29) {
		struct svctable_key x = masked(full, len), y = x;

		flip_bit(&y, len - 1);
		assert_int_equal(ins(t, &x, len, 5000 + len), 0);
		assert_int_equal(ins(t, &y, len, 6000 + len), 0);
		assert_int_equal(lookup_id(t, &x), 5000 + len);
		assert_int_equal(lookup_id(t, &y), 6000 + len);
	}
	check_table(t);
	svctable_free(t);
}

static void
test_full_table(void **state)
{
	struct svctable *t = mk_table(8);
	struct svctable_key k[10];
	struct svctable_txn *txn;
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_DROP, .id = 9 };
	unsigned int i;

	(void)state;
	for (i = 0; i < 10; i++)
		k[i] = key_from((uint64_t)(i + 1) << 40, 0, 0, 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(ins(t, &k[i], 24, i), 0);
	assert_int_equal(ins(t, &k[8], 24, 8), -ENOSPC);
	assert_int_equal(svctable_count(t), 8);
	assert_null(svctable_lookup(t, &k[8]));
	for (i = 0; i < 8; i++)
		assert_int_equal(lookup_id(t, &k[i]), i);
	/* replacing at full capacity is fine */
	assert_int_equal(ins(t, &k[0], 24, 50), 0);
	/* a txn that deletes one and adds one fits; one that adds two does not */
	txn = svctable_txn_begin(t);
	assert_int_equal(svctable_txn_add(txn, &k[8], 24, &rc), 0);
	assert_int_equal(svctable_txn_add(txn, &k[9], 24, &rc), 0);
	assert_int_equal(svctable_txn_del(txn, &k[1], 24), 0);
	assert_int_equal(svctable_txn_commit(txn), -ENOSPC);
	/* failed commit changed nothing; the txn is intact and can be fixed */
	assert_int_equal(svctable_count(t), 8);
	assert_null(svctable_lookup(t, &k[8]));
	assert_int_equal(lookup_id(t, &k[1]), 1);
	check_table(t);
	assert_int_equal(svctable_txn_del(txn, &k[2], 24), 0);
	assert_int_equal(svctable_txn_commit(txn), 0);
	assert_int_equal(svctable_count(t), 8);
	assert_int_equal(lookup_id(t, &k[8]), 9);
	assert_null(svctable_lookup(t, &k[1]));
	check_table(t);
	svctable_free(t);
}

struct walk_acc {
	unsigned int n;
	unsigned int stop_at;
	struct svctable_key last;
	unsigned int last_len;
	int order_ok;
};

/* prefix order: compare bit by bit, a prefix before anything under it */
static int
prefix_before(const struct svctable_key *a, unsigned int la,
		const struct svctable_key *b, unsigned int lb)
{
	unsigned int i, lim = la < lb ? la : lb;

	for (i = 0; i < lim; i++) {
		unsigned int x = (a->bytes[i >> 3] >> (7 - (i & 7))) & 1;
		unsigned int y = (b->bytes[i >> 3] >> (7 - (i & 7))) & 1;

		if (x != y)
			return x < y;
	}
	return la < lb;
}

static int
walk_cb(const struct svctable_rule *r, void *arg)
{
	struct walk_acc *w = arg;
	struct svctable_key k;

	svctable_rule_prefix(r, &k);
	if (w->n > 0 && !prefix_before(&w->last, w->last_len, &k, r->prefix_len))
		w->order_ok = 0;
	w->last = k;
	w->last_len = r->prefix_len;
	w->n++;
	return w->n == w->stop_at ? 42 : 0;
}

static void
test_walk(void **state)
{
	struct svctable *t = mk_table(256);
	struct walk_acc w = { .order_ok = 1 };
	unsigned int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		struct svctable_key k;
		unsigned int len = rndn(257);

		rnd_key(&k);
		k = masked(k, len);
		if (i % 3 == 0)
			k.bytes[0] = 0x42;
		k = masked(k, len);
		assert_int_not_equal(ins(t, &k, len, i), -EINVAL);
	}
	assert_int_equal(svctable_walk(t, walk_cb, &w), 0);
	assert_int_equal(w.n, svctable_count(t));
	assert_true(w.order_ok);
	memset(&w, 0, sizeof(w));
	w.order_ok = 1;
	w.stop_at = 5;
	assert_int_equal(svctable_walk(t, walk_cb, &w), 42);
	assert_int_equal(w.n, 5);
	svctable_free(t);
}

static void
test_key_mask(void **state)
{
	struct svctable_key k, z;

	(void)state;
	memset(&k, 0xff, sizeof(k));
	svctable_key_mask(&k, 13);
	assert_int_equal(k.bytes[0], 0xff);
	assert_int_equal(k.bytes[1], 0xf8);
	memset(&z, 0, sizeof(z));
	assert_memory_equal(k.bytes + 2, z.bytes, 30);
	memset(&k, 0xff, sizeof(k));
	svctable_key_mask(&k, 300);
	assert_int_equal(k.bytes[31], 0xff);
	svctable_key_mask(&k, 0);
	assert_memory_equal(&k, &z, sizeof(k));
}

/* ------------------------------------------------------- transactions */

static void
test_txn(void **state)
{
	struct svctable *t = mk_table(1024);
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	struct svctable_txn *x, *y;
	struct svctable_key k[64];
	unsigned int i;

	(void)state;
	for (i = 0; i < 64; i++)
		k[i] = key_from((uint64_t)i << 56 | (uint64_t)i << 20, 0, 0, 0);
	for (i = 0; i < 32; i++)
		assert_int_equal(ins(t, &k[i], 48, i), 0);

	/* nothing is visible before commit; abort drops everything */
	x = svctable_txn_begin(t);
	assert_non_null(x);
	rc.id = 500;
	assert_int_equal(svctable_txn_add(x, &k[40], 48, &rc), 0);
	assert_int_equal(svctable_txn_del(x, &k[0], 48), 0);
	assert_null(svctable_lookup(t, &k[40]));
	assert_int_equal(lookup_id(t, &k[0]), 0);
	svctable_txn_abort(x);
	assert_null(svctable_lookup(t, &k[40]));

	/* stale: another commit lands first */
	x = svctable_txn_begin(t);
	y = svctable_txn_begin(t);
	assert_int_equal(svctable_txn_add(x, &k[41], 48, &rc), 0);
	assert_int_equal(svctable_txn_add(y, &k[42], 48, &rc), 0);
	assert_int_equal(svctable_txn_commit(y), 0);
	assert_int_equal(svctable_txn_commit(x), -EBUSY);
	assert_null(svctable_lookup(t, &k[41]));
	svctable_txn_abort(x);
	assert_int_equal(lookup_id(t, &k[42]), 500);

	/* staging semantics */
	x = svctable_txn_begin(t);
	assert_int_equal(svctable_txn_del(x, &k[50], 48), -ENOENT);
	assert_int_equal(svctable_txn_add(x, &k[50], 48, &rc), 0);
	assert_int_equal(svctable_txn_del(x, &k[50], 48), 0); /* add+del of new: nothing */
	assert_int_equal(svctable_txn_del(x, &k[50], 48), -ENOENT);
	assert_int_equal(svctable_txn_del(x, &k[1], 48), 0);
	assert_int_equal(svctable_txn_del(x, &k[1], 48), -ENOENT);
	rc.id = 777;
	assert_int_equal(svctable_txn_add(x, &k[1], 48, &rc), 0); /* del+add: replace */
	rc.id = 778;
	assert_int_equal(svctable_txn_add(x, &k[2], 48, &rc), 0);
	rc.id = 779;
	assert_int_equal(svctable_txn_add(x, &k[2], 48, &rc), 0); /* later op wins */
	assert_int_equal(svctable_txn_commit(x), 0);
	assert_null(svctable_lookup(t, &k[50]));
	assert_int_equal(lookup_id(t, &k[1]), 777);
	assert_int_equal(lookup_id(t, &k[2]), 779);
	assert_int_equal(svctable_count(t), 33);

	/* a reload: clear, then the new set; one instant */
	x = svctable_txn_begin(t);
	assert_int_equal(svctable_txn_add(x, &k[60], 48, &rc), 0);
	assert_int_equal(svctable_txn_clear(x), 0); /* drops the add above */
	for (i = 10; i < 20; i++) {
		rc.id = 2000 + i;
		assert_int_equal(svctable_txn_add(x, &k[i], 48, &rc), 0);
	}
	assert_int_equal(svctable_txn_del(x, &k[25], 48), -ENOENT); /* cleared already */
	assert_int_equal(svctable_txn_commit(x), 0);
	assert_int_equal(svctable_count(t), 10);
	for (i = 0; i < 64; i++) {
		if (i >= 10 && i < 20)
			assert_int_equal(lookup_id(t, &k[i]), 2000 + i);
		else
			assert_null(svctable_lookup(t, &k[i]));
	}
	check_table(t);

	/* an empty transaction commits to nothing */
	x = svctable_txn_begin(t);
	assert_int_equal(svctable_txn_commit(x), 0);
	assert_int_equal(svctable_count(t), 10);
	svctable_free(t);
}

/* take every free run out of an arena, so only the bump region is left */
struct held {
	uint32_t idx[4096];
	uint32_t len[4096];
	uint32_t n;
};

static void
hold_free(struct svc_arena *a, struct held *h)
{
	uint32_t len;

	h->n = 0;
	for (len = 1; len <= SVC_ARENA_MAX_RUN; len++)
		while (a->free_head[len] != 0 && h->n < 4096) {
			h->idx[h->n] = svc_arena_alloc(a, len);
			h->len[h->n++] = len;
		}
	assert_true(h->n < 4096);
}

static void
release_held(struct svc_arena *a, struct held *h)
{
	while (h->n > 0) {
		h->n--;
		svc_arena_free(a, h->idx[h->n], h->len[h->n]);
	}
}

/* a commit that fails in the trie build changes nothing */
static void
test_commit_failure(void **state)
{
	static struct held hn, hl;
	struct svctable *t = mk_table(4096);
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	struct svctable_key keys[300];
	unsigned int lens[300];
	struct svctable_txn *x;
	uint32_t ncap, lcap, i;

	(void)state;
	for (i = 0; i < 300; i++) {
		rnd_key(&keys[i]);
		keys[i].bytes[0] = (uint8_t)(i & 3); /* a few root slots, deep trees */
		keys[i].bytes[1] = 0;
		lens[i] = 24 + rndn(233);
		keys[i] = masked(keys[i], lens[i]);
	}
	for (i = 0; i < 200; i++) {
		rc.id = i;
		assert_int_equal(svctable_insert(t, &keys[i], lens[i], &rc), 0);
	}
	check_table(t);
	ncap = t->node_arena.cap;
	lcap = t->leaf_arena.cap;
	for (i = 0; i < 6; i++) {
		uint32_t before = svctable_count(t);
		unsigned int j;

		x = svctable_txn_begin(t);
		for (j = 200; j < 300; j++) {
			/* longer each round (bits past lens[j] are zero): the newest wins */
			unsigned int len = lens[j] + i > 256 ? 256 : lens[j] + i;
			struct svctable_key k = masked(keys[j], len);

			rc.id = 10000 * (i + 1) + j;
			assert_int_equal(svctable_txn_add(x, &k, len, &rc), 0);
		}
		assert_int_equal(svctable_txn_del(x, &keys[i], lens[i]), 0);
		/* exhaust one arena, leaving a little room: the build must fail
		 * part way and undo itself */
		hold_free(&t->node_arena, &hn);
		hold_free(&t->leaf_arena, &hl);
		if (i & 1)
			t->node_arena.cap = t->node_arena.top + i * 5;
		else
			t->leaf_arena.cap = t->leaf_arena.top + i * 5;
		assert_int_equal(svctable_txn_commit(x), -ENOMEM);
		t->node_arena.cap = ncap;
		t->leaf_arena.cap = lcap;
		release_held(&t->node_arena, &hn);
		release_held(&t->leaf_arena, &hl);
		assert_int_equal(svctable_count(t), before);
		check_table(t);
		assert_int_equal(lookup_id(t, &keys[i]), i);
		for (j = 200; j < 300; j++) {
			const struct svctable_rule *r = svctable_lookup(t, &keys[j]);

			assert_true(r == NULL || r->id < 10000 * (i + 1));
		}
		/* with the room back, the same transaction commits */
		assert_int_equal(svctable_txn_commit(x), 0);
		check_table(t);
		assert_int_not_equal(lookup_id(t, &keys[i]), i);
		for (j = 200; j < 300; j++)
			assert_int_equal(lookup_id(t, &keys[j]), 10000 * (i + 1) + j);
	}
	svctable_free(t);
}

/*
 * Inserts below the root table start at the slot's hint (struct svc_rib)
 * instead of the rib's root. Hinted inserts, replaces (which take the whole
 * path), an insert-only commit that fails and is undone, and deletes of
 * short prefixes whose nodes were hints must all leave the table right.
 */
static void
test_hints(void **state)
{
	static struct held hn;
	struct svctable *t = mk_table(4096);
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	struct svctable_key keys[400], shorts[8];
	unsigned int lens[400];
	struct svctable_txn *x;
	uint64_t starts;
	uint32_t i, ncap;

	(void)state;
	/* short prefixes first: rib nodes above bit 16 that hints can name */
	for (i = 0; i < 8; i++) {
		rnd_key(&shorts[i]);
		shorts[i].bytes[0] = (uint8_t)((i & 3) + 4);
		shorts[i].bytes[1] = (uint8_t)((i >> 2) << 4);
		shorts[i] = masked(shorts[i], 12);
		rc.id = 50000 + i;
		assert_int_equal(svctable_insert(t, &shorts[i], 12, &rc), 0);
	}
	for (i = 0; i < 400; i++) {
		rnd_key(&keys[i]);
		/* a few slots under the shorts; some of the second half in new
		 * slots (sorted first), so the failing commit below makes nodes
		 * above bit 18 before it fails */
		keys[i].bytes[0] = (uint8_t)((i & 3) + (i >= 200 && (i & 8) ? 0 : 4));
		keys[i].bytes[1] = (uint8_t)((i & 4) << 2);
		/* long enough that no prefix here covers another's key */
		lens[i] = 40 + rndn(217);
		keys[i] = masked(keys[i], lens[i]);
	}
	starts = t->rib.hint_starts;
	for (i = 0; i < 200; i++) {
		rc.id = i;
		assert_int_equal(svctable_insert(t, &keys[i], lens[i], &rc), 0);
	}
	check_table(t);
	/* all but the first insert under each slot found a hint */
	assert_true(t->rib.hint_starts - starts >= 150);
	for (i = 0; i < 200; i++)
		assert_int_equal(lookup_id(t, &keys[i]), i);

	/* replaces: the old rule goes, every node stays keyed by a live one */
	for (i = 0; i < 200; i += 3) {
		rc.id = 1000 + i;
		assert_int_equal(svctable_insert(t, &keys[i], lens[i], &rc), 0);
	}
	check_table(t);
	for (i = 0; i < 200; i++)
		assert_int_equal(lookup_id(t, &keys[i]), i % 3 == 0 ? 1000 + i : i);

	/* an insert-only commit that fails part way is undone */
	x = svctable_txn_begin(t);
	for (i = 200; i < 400; i++) {
		rc.id = i;
		assert_int_equal(svctable_txn_add(x, &keys[i], lens[i], &rc), 0);
	}
	ncap = t->node_arena.cap;
	hold_free(&t->node_arena, &hn);
	t->node_arena.cap = t->node_arena.top + 7;
	starts = t->rib.hint_starts;
	assert_int_equal(svctable_txn_commit(x), -ENOMEM);
	assert_true(t->rib.hint_starts > starts);
	t->node_arena.cap = ncap;
	release_held(&t->node_arena, &hn);
	check_table(t);
	for (i = 200; i < 400; i++) {
		const struct svctable_rule *r = svctable_lookup(t, &keys[i]);

		assert_true(r == NULL || r->id < 200 || r->id >= 1000);
	}
	assert_int_equal(svctable_txn_commit(x), 0);
	check_table(t);
	for (i = 200; i < 400; i++)
		assert_int_equal(lookup_id(t, &keys[i]), i);

	/* deleting the shorts removes nodes hints may name */
	for (i = 0; i < 4; i++)
		assert_int_equal(svctable_delete(t, &shorts[i], 12), 0);
	check_table(t);
	for (i = 0; i < 400; i++) {
		/* exact services under the same slots: the longest match */
		rnd_key(&keys[i]);
		keys[i].bytes[0] = (uint8_t)(i & 3);
		keys[i].bytes[1] = (uint8_t)((i & 4) << 2);
		rc.id = 2000 + i;
		assert_int_equal(svctable_insert(t, &keys[i], 256, &rc), 0);
	}
	check_table(t);
	for (i = 0; i < 400; i++)
		assert_int_equal(lookup_id(t, &keys[i]), 2000 + i);
	svctable_free(t);
}

/* ------------------------------------------------ reclamation (QSBR) */

/*
 * A table attached to a fresh two-reader QSBR variable whose reader 0 (this
 * thread) is online; free(*v) after svctable_free().
 */
static struct svctable *
table_with_rcu(const struct svctable_conf *conf, struct rte_rcu_qsbr **v)
{
	size_t sz = rte_rcu_qsbr_get_memsize(2);
	struct svctable *t;

	*v = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
	assert_non_null(*v);
	assert_int_equal(rte_rcu_qsbr_init(*v, 2), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(*v, 0), 0);
	rte_rcu_qsbr_thread_online(*v, 0);
	t = svctable_create(conf);
	assert_non_null(t);
	assert_int_equal(svctable_rcu_attach(t, *v), 0);
	return t;
}

static void
test_reclaim(void **state)
{
	struct svctable_conf conf = { .max_rules = 64, .reclaim_queue_size = 4 };
	struct svctable_key k = key_from(0xabcdef0000000000ull, 0, 0, 0);
	struct svctable_memory m;
	struct rte_rcu_qsbr *v;
	struct svctable *t;
	unsigned int i;

	(void)state;
	t = table_with_rcu(&conf, &v);
	assert_int_equal(svctable_rcu_attach(t, v), -EEXIST);

	assert_int_equal(ins(t, &k, 24, 0), 0);
	/* each replace retires the old rule: 4 fill the queue */
	for (i = 1; i <= 4; i++)
		assert_int_equal(ins(t, &k, 24, i), 0);
	assert_int_equal(svctable_reclaim_pending(t), 4);
	svctable_memory(t, &m);
	assert_true(m.pending_bytes >= 4 * SVC_RULE_UNIT);
	/* the reader has not passed a quiescent state: nothing can be freed,
	 * and a fifth change is refused rather than lost */
	assert_int_equal(svctable_reclaim(t), 0);
	assert_int_equal(ins(t, &k, 24, 5), -EAGAIN);
	assert_int_equal(lookup_id(t, &k), 4);
	check_table(t);

	rte_rcu_qsbr_quiescent(v, 0);
	assert_int_equal(svctable_reclaim(t), 4);
	assert_int_equal(svctable_reclaim_pending(t), 0);
	svctable_memory(t, &m);
	assert_int_equal(m.pending_bytes, 0);
	assert_int_equal(ins(t, &k, 24, 5), 0);
	assert_int_equal(lookup_id(t, &k), 5);
	check_table(t);

	/* the rule arena holds 4 * max_rules + 128 units: without grace
	 * periods ending, churn stops with -EAGAIN, never with a lost update */
	rte_rcu_qsbr_thread_offline(v, 0);
	rte_rcu_qsbr_thread_unregister(v, 0);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(ins(t, &k, 24, 100 + i), 0);
		svctable_reclaim(t);
	}
	assert_int_equal(lookup_id(t, &k), 1099);
	/* free with batches still queued: no leak (ASan checks) */
	assert_int_equal(rte_rcu_qsbr_thread_register(v, 1), 0);
	rte_rcu_qsbr_thread_online(v, 1);
	assert_int_equal(ins(t, &k, 24, 7), 0);
	assert_int_equal(svctable_reclaim_pending(t), 1);
	svctable_free(t);
	free(v);
}

/* ---------------------------------------- memory reuse across commits */

/*
 * Freed memory is reused, and only once its grace period is over: a rule
 * slot a replace retires comes back for a later rule after the reader's
 * quiescent report, never before. Scratch the commits keep (the ended
 * transaction, retire lists) is reused by the next commit and bounded.
 */
static void
test_reuse(void **state)
{
	struct svctable_conf conf = { .max_rules = 8192 };
	struct svctable_key k = key_from(0x5e7c000000000000ull, 0, 0, 0);
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_DROP };
	const struct svctable_rule *r[4], *got;
	struct svctable_txn *txn, *kept;
	struct rte_rcu_qsbr *v;
	struct svctable *t;
	unsigned int i, j;

	(void)state;
	t = table_with_rcu(&conf, &v);

	/* a rule slot is not reused while a reader may hold it */
	assert_int_equal(ins(t, &k, 20, 1), 0);
	assert_int_equal(svctable_get(t, &k, 20, &r[0]), 0);
	for (i = 1; i < 4; i++) {
		assert_int_equal(ins(t, &k, 20, 1 + i), 0);
		assert_int_equal(svctable_get(t, &k, 20, &r[i]), 0);
		for (j = 0; j < i; j++)
			assert_true(r[i] != r[j]);
	}
	assert_int_equal(svctable_reclaim(t), 0);
	check_table(t);
	/* grace period over: the retired slots come back */
	rte_rcu_qsbr_quiescent(v, 0);
	assert_int_equal(svctable_reclaim(t), 3);
	assert_int_equal(svctable_reclaim_pending(t), 0);
	assert_int_equal(ins(t, &k, 20, 9), 0);
	assert_int_equal(svctable_get(t, &k, 20, &got), 0);
	assert_true(got == r[0] || got == r[1] || got == r[2]);
	assert_int_equal(lookup_id(t, &k), 9);
	check_table(t);

	/* the ended transaction is kept and handed to the next begin */
	kept = t->txn_cache;
	assert_non_null(kept);
	txn = svctable_txn_begin(t);
	assert_ptr_equal(txn, kept);
	assert_null(t->txn_cache);
	/* a big one is freed when it ends, not kept */
	for (i = 0; i < 2 * SVC_VEC_KEEP_MAX; i++) {
		struct svctable_key kk = key_from(0x7100000000000000ull | (uint64_t)i << 20,
				0, 0, 0);

		rc.id = 100 + i;
		assert_int_equal(svctable_txn_add(txn, &kk, 44, &rc), 0);
	}
	assert_int_equal(svctable_txn_commit(txn), 0);
	assert_null(t->txn_cache);
	assert_int_equal(svctable_count(t), 1 + 2 * SVC_VEC_KEEP_MAX);
	check_table(t);

	/* churn with reclamation: retire lists are reused and bounded */
	for (i = 0; i < 3000; i++) {
		if (i % 3 == 0)
			rte_rcu_qsbr_quiescent(v, 0);
		svctable_reclaim(t);
		assert_int_equal(ins(t, &k, 20 + i % 8, 1000 + i), 0);
		assert_true(t->n_retire_stash <= SVC_RETIRE_STASH);
	}
	assert_non_null(t->txn_cache);
	rte_rcu_qsbr_quiescent(v, 0);
	svctable_reclaim(t);
	assert_int_equal(svctable_reclaim_pending(t), 0);
	/* the freed batches' lists wait for the next commits */
	assert_true(t->n_retire_stash > 0);
	check_table(t);
	svctable_free(t);
	free(v);
}

/* ------------------------------------------- one-store commits in place */

/*
 * A single change deep in the trie is published by storing one child index
 * into a live node (no new path above it, no root store). Lookups see each
 * change at once, the nodes it replaced wait for a grace period, and the
 * trie and the rib stay consistent (svc_check).
 */
static void
test_inplace(void **state)
{
	struct svctable_conf conf = { .max_rules = 4096 };
	const uint64_t base = 0xa1b2c3d4e5f60000ull;
	struct rte_rcu_qsbr *v;
	struct svctable *t;
	uint64_t before;
	unsigned int i, j, n = 0;

	(void)state;
	t = table_with_rcu(&conf, &v);

	/* three levels of multibit nodes under one root slot */
	for (i = 0; i < 16; i++) {
		struct svctable_key k = key_from(base, (uint64_t)i << 58, 0, 0);

		assert_int_equal(ins(t, &k, 128, i), 0);
		for (j = 0; j < 8; j++) {
			k = key_from(base, (uint64_t)i << 58, (uint64_t)j << 58, 0);
			assert_int_equal(ins(t, &k, 192, 100 + 8 * i + j), 0);
		}
	}
	rte_rcu_qsbr_quiescent(v, 0);
	svctable_reclaim(t);
	check_table(t);

	/* single inserts and deletes at the bottom, no grace period ending */
	before = t->n_inplace;
	for (i = 0; i < 16; i++) {
		for (j = 0; j < 8; j += 3) {
			struct svctable_key k = key_from(base, (uint64_t)i << 58,
					(uint64_t)j << 58, 0x5ull << 40);
			struct svctable_key q = key_from(base, (uint64_t)i << 58,
					(uint64_t)j << 58, 0x5ull << 40 | 1);

			assert_int_equal(ins(t, &k, 256, 1000 + n), 0);
			assert_int_equal(lookup_id(t, &k), 1000 + n);
			/* its neighbour under the same /192 still gets the /192 */
			assert_int_equal(lookup_id(t, &q), 100 + 8 * i + j);
			n++;
		}
	}
	/* most of them: the node above each change differs only in its
	 * child array */
	assert_true(t->n_inplace - before >= n / 2);
	assert_true(t->n_inplace - before <= n);
	assert_true(svctable_reclaim_pending(t) >= n);
	check_table(t);
	for (i = 0; i < 16; i++) {
		for (j = 0; j < 8; j += 3) {
			struct svctable_key k = key_from(base, (uint64_t)i << 58,
					(uint64_t)j << 58, 0x5ull << 40);

			assert_int_equal(svctable_delete(t, &k, 256), 0);
			assert_int_equal(lookup_id(t, &k), 100 + 8 * i + j);
		}
	}
	check_table(t);
	rte_rcu_qsbr_quiescent(v, 0);
	svctable_reclaim(t);
	assert_int_equal(svctable_reclaim_pending(t), 0);
	assert_int_equal(svctable_count(t), 16 * 9);
	check_table(t);
	svctable_free(t);
	free(v);
}

/*
 * Terminals whose siblings are all terminals live in 8-byte records
 * (SVC_KIDS_PACKED): they must answer as terminal nodes do, turn into nodes
 * when a prefix appears under one of them, and stay right when their parent
 * is rebuilt over another chunk (a record says where its fingerprint
 * starts, so a copy under the new parent is still sound).
 */
static struct svctable_key
packed_key(unsigned int i, unsigned int len)
{
	/* a /100 provider, eight children parting in bits 100..102, tails
	 * that differ from child to child */
	uint64_t tail = 0x9e3779b97f4a7c15ull * (i + 1);

	return masked(key_from(0x0123456789abcdefull, 0xfedcba9870000000ull |
			(uint64_t)i << 25 | (tail >> 42), tail, tail ^ 0xffull << 56),
			len);
}

static void
test_packed(void **state)
{
	struct svctable *t = mk_table(64);
	struct svctable_key p = packed_key(0, 100), k, q;
	unsigned int i;

	(void)state;
	assert_int_equal(ins(t, &p, 100, 99), 0);
	for (i = 0; i < 8; i++) {
		k = packed_key(i, 200);
		assert_int_equal(ins(t, &k, 200, i), 0);
	}
	check_table(t);
	/* the eight terminals are records; the /100 node is a node */
	assert_int_equal(t->term_arena.live, 8);
	for (i = 0; i < 8; i++) {
		k = packed_key(i, 256);
		assert_int_equal(lookup_id(t, &k), i);
		/* off the fingerprint (bit 110), and past it (bit 199) */
		q = k;
		flip_bit(&q, 110);
		assert_int_equal(lookup_id(t, &q), 99);
		q = k;
		flip_bit(&q, 199);
		assert_int_equal(lookup_id(t, &q), 99);
		/* a longer key under the prefix: its own bits past 200 vary */
		q = k;
		flip_bit(&q, 230);
		assert_int_equal(lookup_id(t, &q), i);
	}

	/* a prefix under child 3: its array holds a node again */
	k = packed_key(3, 220);
	k.bytes[26] ^= 0x10; /* bit 211 */
	assert_int_equal(ins(t, &k, 220, 33), 0);
	check_table(t);
	/* the seven others are nodes now; the /220 alone is a record */
	assert_int_equal(t->term_arena.live, 1);
	assert_int_equal(lookup_id(t, &k), 33);
	q = packed_key(3, 256);
	assert_int_equal(lookup_id(t, &q), 3);
	q = packed_key(5, 256);
	assert_int_equal(lookup_id(t, &q), 5);
	assert_int_equal(svctable_delete(t, &k, 220), 0);
	check_table(t);
	assert_int_equal(t->term_arena.live, 8);

	/* without the /100, the children's node starts at bit 100, not 99:
	 * records copied under it keep their fingerprints' start */
	assert_int_equal(svctable_delete(t, &p, 100), 0);
	check_table(t);
	for (i = 0; i < 8; i++) {
		k = packed_key(i, 256);
		assert_int_equal(lookup_id(t, &k), i);
		q = k;
		flip_bit(&q, 110);
		assert_int_equal(lookup_id(t, &q), UINT32_MAX);
		q = k;
		flip_bit(&q, 199);
		assert_int_equal(lookup_id(t, &q), UINT32_MAX);
	}
	assert_int_equal(ins(t, &p, 100, 99), 0);
	check_table(t);
	for (i = 0; i < 8; i++) {
		k = packed_key(i, 200);
		assert_int_equal(svctable_delete(t, &k, 200), 0);
		q = packed_key(i, 256);
		assert_int_equal(lookup_id(t, &q), 99);
	}
	check_table(t);
	assert_int_equal(t->term_arena.live, 0);
	svctable_free(t);
}

/*
 * A commit that changes several root entries is built aside: it publishes a
 * new root whose changed pages are copies, while the root a reader may still
 * hold keeps every entry and page it had (until a grace period frees them),
 * and pages the commit did not change stay shared.
 */
static void
test_root_pages(void **state)
{
	struct svctable_conf conf = { .max_rules = 64 };
	struct rte_rcu_qsbr *v;
	const struct svc_root *old;
	struct svctable *t;
	struct svctable_key k = key_from(0x1230000000000000ull, 0, 0, 0);
	struct svctable_key deep = key_from(0x9870000000000000ull, 0, 0, 0);
	uint64_t old_entries[4];
	uint32_t s = (uint32_t)(0x1230000000000000ull >> (64 - SVC_ROOT_BITS));
	uint32_t far = (uint32_t)(0x9870000000000000ull >> (64 - SVC_ROOT_BITS));
	unsigned int i, pg = s >> SVC_PAGE_BITS;

	(void)state;
	t = table_with_rcu(&conf, &v);

	/* a deep rule in another page: its entry must survive the copy */
	assert_int_equal(ins(t, &deep, 64, 1), 0);
	old = t->root;
	for (i = 0; i < 4; i++)
		old_entries[i] = *svc_root_slot(old, s + i);
	/* a /16 spans four 18-bit slots, all in one page */
	assert_int_equal(ins(t, &k, 16, 2), 0);
	assert_ptr_not_equal(t->root, old);
	assert_ptr_not_equal(t->root->page[pg], old->page[pg]);
	assert_ptr_equal(t->root->page[far >> SVC_PAGE_BITS], old->page[far >> SVC_PAGE_BITS]);
	for (i = 0; i < 4; i++) {
		assert_true(*svc_root_slot(old, s + i) == old_entries[i]);
		assert_true(*svc_root_slot(t->root, s + i) != old_entries[i]);
	}
	assert_int_equal(lookup_id(t, &k), 2);
	assert_int_equal(lookup_id(t, &deep), 1);
	check_table(t);
	/* the old root and its replaced page wait for the grace period */
	assert_true(svctable_reclaim_pending(t) > 0);
	rte_rcu_qsbr_quiescent(v, 0);
	svctable_reclaim(t);
	assert_int_equal(svctable_reclaim_pending(t), 0);
	svctable_free(t);
	free(v);
}

/* ------------------------------------------- rule sizes (32 and 64 bytes) */

/* a rule is one aligned 32- or 64-byte block: it never straddles a line */
static void
assert_rule_block(const struct svctable_rule *r)
{
	uintptr_t a = (uintptr_t)(const void *)r;

	assert_int_equal(a % (r->prefix_len > SVCTABLE_RULE_SHORT_BITS ? 64 : 32), 0);
}

/* does prefix (k, len) cover key q? (bit by bit: an oracle) */
static bool
covers(const struct svctable_key *k, unsigned int len, const struct svctable_key *q)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		if (((k->bytes[i >> 3] ^ q->bytes[i >> 3]) >> (7 - (i & 7))) & 1)
			return false;
	return true;
}

/* the id of the longest of n prefixes covering q (ids are positions), or
 * UINT32_MAX */
static uint32_t
oracle_best(const struct svctable_key *keys, const unsigned int *lens,
		const bool *live, unsigned int n, const struct svctable_key *q)
{
	uint32_t best = UINT32_MAX;
	unsigned int i;

	for (i = 0; i < n; i++)
		if ((live == NULL || live[i]) && covers(&keys[i], lens[i], q) &&
				(best == UINT32_MAX || lens[i] > lens[best]))
			best = i;
	return best;
}

/* q with the bits past len set from fill (the prefix's own bits kept) */
static struct svctable_key
under(const struct svctable_key *k, unsigned int len, const struct svctable_key *fill)
{
	struct svctable_key q = *fill, m = *fill;
	unsigned int i;

	/* m: fill's bits before len; q ^ m: fill's bits past len */
	svctable_key_mask(&m, len);
	for (i = 0; i < SVCTABLE_KEY_LEN; i++)
		q.bytes[i] = (uint8_t)((q.bytes[i] ^ m.bytes[i]) | k->bytes[i]);
	return q;
}

struct size_walk {
	const struct svctable_key *keys;
	const unsigned int *lens;
	unsigned int n;
	int bad;
};

static int
size_walk_cb(const struct svctable_rule *r, void *arg)
{
	struct size_walk *w = arg;
	struct svctable_key k;

	svctable_rule_prefix(r, &k);
	if (r->id >= 64 || r->prefix_len != w->lens[r->id] ||
			memcmp(&k, &w->keys[r->id], sizeof(k)) != 0)
		w->bad++;
	w->n++;
	return 0;
}

/*
 * Prefixes on both sides of the size boundary (/96 in 32 bytes, /97 in 64)
 * and at the ends come back whole: from svctable_get(), through
 * svctable_rule_prefix() (zero-filled to 32 bytes) and from the walk. A key
 * under each finds it, and a key with any one bit of its prefix flipped
 * finds what an oracle says (a shorter rule or nothing), in single and in
 * bulk lookups. The stored bytes are mostly ones, so a byte read from the
 * wrong place shows.
 */
static void
test_rule_sizes(void **state)
{
	static const unsigned int lens[] = {
		8, 18, 19, 50, 64, 65, 90, 95, 96, 97, 98, 128, 160, 192, 255, 256,
		96, 97, 256,
	};
	enum { N = sizeof(lens) / sizeof(lens[0]), NQ = 4096 };
	static struct svctable_key q[NQ];
	static const struct svctable_rule *out[NQ];
	static uint32_t want[NQ];
	struct svctable *t = mk_table(64);
	struct svctable_key keys[N], ones, zeros, rk, got;
	struct size_walk w = { .keys = keys, .lens = lens, .n = 0 };
	struct svctable_memory m;
	size_t rule_bytes = 0;
	unsigned int i, b, nq = 0, hits = 0;

	(void)state;
	memset(&ones, 0xff, sizeof(ones));
	memset(&zeros, 0, sizeof(zeros));
	for (i = 0; i < N; i++) {
		memset(&keys[i], 0xff, sizeof(keys[i]));
		/* the last three are nested under others: the same first bits */
		if (i < N - 3) {
			rnd_key(&rk);
			memcpy(keys[i].bytes, rk.bytes, 3);
		} else {
			memcpy(keys[i].bytes, keys[i - 3].bytes, 3);
			keys[i].bytes[29] = (uint8_t)i; /* the /256 differs at its end */
		}
		keys[i] = masked(keys[i], lens[i]);
		assert_int_equal(ins(t, &keys[i], lens[i], i), 0);
		rule_bytes += lens[i] > SVCTABLE_RULE_SHORT_BITS ? 64 : 32;
	}
	check_table(t);
	assert_int_equal(svctable_count(t), N);
	svctable_memory(t, &m);
	assert_int_equal(m.rule_bytes, rule_bytes);
	for (i = 0; i < N; i++) {
		const struct svctable_rule *r;

		assert_int_equal(svctable_get(t, &keys[i], lens[i], &r), 0);
		assert_int_equal(r->id, i);
		assert_int_equal(r->prefix_len, lens[i]);
		assert_null(r->tset);
		assert_rule_block(r);
		memset(&got, 0xa5, sizeof(got));
		svctable_rule_prefix(r, &got);
		assert_memory_equal(&got, &keys[i], sizeof(got));
	}
	assert_int_equal(svctable_walk(t, size_walk_cb, &w), 0);
	assert_int_equal(w.n, N);
	assert_int_equal(w.bad, 0);

	for (i = 0; i < N; i++) {
		q[nq++] = under(&keys[i], lens[i], &ones);
		q[nq++] = under(&keys[i], lens[i], &zeros);
		rnd_key(&rk);
		q[nq++] = under(&keys[i], lens[i], &rk);
		for (b = 0; b < lens[i]; b++) {
			assert_true(nq < NQ);
			q[nq] = under(&keys[i], lens[i], b & 1 ? &ones : &rk);
			flip_bit(&q[nq++], b);
		}
	}
	for (i = 0; i < nq; i++) {
		want[i] = oracle_best(keys, lens, NULL, N, &q[i]);
		assert_int_equal(lookup_id(t, &q[i]), want[i]);
		hits += want[i] != UINT32_MAX;
	}
	/* the last bit of /96, /97 and /256 is what tells these apart (zeros
	 * past the prefix: the longer rules nested here are all ones) */
	for (i = 0; i < N; i++) {
		if (lens[i] != 96 && lens[i] != 97 && lens[i] != 256)
			continue;
		rk = under(&keys[i], lens[i], &zeros);
		assert_int_equal(lookup_id(t, &rk), i);
		flip_bit(&rk, lens[i] - 1);
		assert_int_not_equal(lookup_id(t, &rk), i);
	}
	/* in bursts, as workers look up */
	for (i = 0; i < nq; i += 77) {
		const struct svctable_key *kp[77];
		unsigned int j, n = nq - i < 77 ? nq - i : 77, nh = 0;

		for (j = 0; j < n; j++) {
			kp[j] = &q[i + j];
			nh += want[i + j] != UINT32_MAX;
		}
		assert_int_equal(svctable_lookup_bulk(t, kp, n, out + i), nh);
		for (j = 0; j < n; j++)
			assert_int_equal(out[i + j] != NULL ? out[i + j]->id : UINT32_MAX,
					want[i + j]);
	}
	assert_true(hits > 0 && hits < nq);
	svctable_free(t);
}

/* the arena unit of a rule */
static uint32_t
unit_of(const struct svctable *t, const struct svctable_rule *r)
{
	return (uint32_t)(((const uint8_t *)(const void *)r - t->rule_base) / SVC_RULE_UNIT);
}

static const struct svctable_rule *
get_rule(const struct svctable *t, const struct svctable_key *k, unsigned int len)
{
	const struct svctable_rule *r = NULL;

	assert_int_equal(svctable_get(t, k, len, &r), 0);
	return r;
}

/* keys under m (/len) and with one of its bits flipped: k8 (the /8 above
 * it) or nothing */
static void
check_under_k8(const struct svctable *t, const struct svctable_key *m,
		unsigned int len, uint32_t id)
{
	struct svctable_key ones, zeros, q;
	unsigned int b;

	memset(&ones, 0xff, sizeof(ones));
	memset(&zeros, 0, sizeof(zeros));
	q = under(m, len, &ones);
	assert_int_equal(lookup_id(t, &q), id);
	q = under(m, len, &zeros);
	assert_int_equal(lookup_id(t, &q), id);
	for (b = 0; b < len; b++) {
		q = under(m, len, b & 1 ? &ones : &zeros);
		flip_bit(&q, b);
		assert_int_equal(lookup_id(t, &q), b < 8 ? UINT32_MAX : 100);
	}
	/* a key that shares only the first 8 bits: the /8 */
	q = under(m, 8, &ones);
	assert_int_equal(lookup_id(t, &q), 100);
}

/*
 * A lookup verifies a candidate against its rule's own bytes only: 32-byte
 * rules (a /60 and a /96, both verified against the key: their terminals
 * compare 32 bits at most) between rules whose stored key bytes are all
 * ones, and then between freed units (poisoned under ASan, so a read past
 * the rule fails the test there), match exactly the keys under them.
 */
static void
test_rule_neighbours(void **state)
{
	struct svctable *t = mk_table(64);
	struct svctable_key ones[4], k8, m60, m96, rk;
	const struct svctable_rule *r[4], *r60, *r96;
	unsigned int i;

	(void)state;
	k8 = key_from(0x5a00000000000000ull, 0, 0, 0);
	rnd_key(&rk);
	m60 = masked(under(&k8, 8, &rk), 60);
	rnd_key(&rk);
	m96 = masked(under(&k8, 8, &rk), 96);
	for (i = 0; i < 4; i++) {
		/* all ones but a byte that tells them apart */
		memset(&ones[i], 0xff, sizeof(ones[i]));
		ones[i].bytes[0] = (uint8_t)(0xf0 + i);
		ones[i] = masked(ones[i], 96);
	}
	/* a fresh arena hands out units in order: ones, m60, ones, m96, ones */
	assert_int_equal(ins(t, &ones[0], 96, 10), 0);
	assert_int_equal(ins(t, &m60, 60, 60), 0);
	assert_int_equal(ins(t, &ones[1], 96, 11), 0);
	assert_int_equal(ins(t, &m96, 96, 96), 0);
	assert_int_equal(ins(t, &ones[2], 96, 12), 0);
	assert_int_equal(ins(t, &k8, 8, 100), 0);
	for (i = 0; i < 3; i++)
		r[i] = get_rule(t, &ones[i], 96);
	r60 = get_rule(t, &m60, 60);
	r96 = get_rule(t, &m96, 96);
	assert_int_equal(unit_of(t, r60), unit_of(t, r[0]) + 1);
	assert_int_equal(unit_of(t, r[1]), unit_of(t, r60) + 1);
	assert_int_equal(unit_of(t, r96), unit_of(t, r[1]) + 1);
	assert_int_equal(unit_of(t, r[2]), unit_of(t, r96) + 1);
	check_under_k8(t, &m60, 60, 60);
	check_under_k8(t, &m96, 96, 96);
	/* the neighbours go: their units are freed (no QSBR variable) */
	for (i = 0; i < 3; i++)
		assert_int_equal(svctable_delete(t, &ones[i], 96), 0);
	check_under_k8(t, &m60, 60, 60);
	check_under_k8(t, &m96, 96, 96);
	/* and come back as other rules in the same units */
	assert_int_equal(ins(t, &ones[3], 96, 13), 0);
	check_under_k8(t, &m60, 60, 60);
	check_under_k8(t, &m96, 96, 96);
	check_table(t);
	svctable_free(t);
}

/*
 * Churn with short and long rules, under a QSBR variable so that retired
 * rules of both sizes wait in the reclaim queue: inserts, replaces, deletes
 * and transactions that swap a /96 for the /97 below it (32 bytes for 64)
 * and back. svc_check() accounts for every rule unit (held, pending in runs
 * of the retired rule's size, or free) and the lookups agree with an
 * oracle throughout.
 */
static void
test_rule_churn_sizes(void **state)
{
	enum { N = 200 };
	struct svctable_conf conf = { .max_rules = 256, .reclaim_queue_size = 64 };
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	static struct svctable_key keys[N];
	static unsigned int lens[N];
	static bool live[N];
	struct svctable_memory m;
	struct rte_rcu_qsbr *v;
	struct svctable *t;
	unsigned int i, op;
	size_t want = 0;

	(void)state;
	t = table_with_rcu(&conf, &v);
	for (i = 0; i < N; i++) {
		rnd_key(&keys[i]);
		keys[i].bytes[0] = (uint8_t)(i & 7); /* a few slots: shared paths */
		/* even i: a /96 or /97 (the swap pair i, i + 1); odd i: anything */
		if (i % 4 == 0)
			lens[i] = 96;
		else if (i % 4 == 1)
			lens[i] = 97;
		else
			lens[i] = 19 + rndn(238);
		if (i % 4 == 1)
			memcpy(keys[i].bytes, keys[i - 1].bytes, 12); /* /97 under the /96 */
		keys[i] = masked(keys[i], lens[i]);
	}
	for (op = 0; op < 3000; op++) {
		unsigned int c = rndn(10);
		int ret;

		i = rndn(N);
		if (op % 4 == 0)
			rte_rcu_qsbr_quiescent(v, 0);
		if (c < 3 && i % 4 < 2) {
			/* swap the /96 and the /97 of a pair in one transaction */
			unsigned int a = i & ~3u, bb = a + 1;
			unsigned int from = live[a] ? a : bb, to = live[a] ? bb : a;
			struct svctable_txn *x = svctable_txn_begin(t);

			assert_non_null(x);
			if (live[from])
				assert_int_equal(svctable_txn_del(x, &keys[from], lens[from]), 0);
			rc.id = to;
			assert_int_equal(svctable_txn_add(x, &keys[to], lens[to], &rc), 0);
			ret = svctable_txn_commit(x);
			if (ret == 0) {
				live[from] = false;
				live[to] = true;
			} else {
				assert_int_equal(ret, -EAGAIN);
				svctable_txn_abort(x);
			}
		} else if (c < 7 || !live[i]) {
			/* insert or replace */
			rc.id = i;
			ret = svctable_insert(t, &keys[i], lens[i], &rc);
			if (ret == 0)
				live[i] = true;
			else
				assert_int_equal(ret, -EAGAIN);
		} else {
			ret = svctable_delete(t, &keys[i], lens[i]);
			if (ret == 0)
				live[i] = false;
			else
				assert_int_equal(ret, -EAGAIN);
		}
		if (op % 100 == 0) {
			check_table(t);
			for (i = 0; i < N; i++) {
				struct svctable_key q;

				rnd_key(&q);
				q = under(&keys[i], lens[i], &q);
				assert_int_equal(lookup_id(t, &q),
						oracle_best(keys, lens, live, N, &q));
			}
		}
	}
	rte_rcu_qsbr_quiescent(v, 0);
	svctable_reclaim(t);
	check_table(t);
	/* 32 bytes per rule of at most 96 bits, 64 for the others */
	for (i = 0; i < N; i++)
		if (live[i])
			want += lens[i] > SVCTABLE_RULE_SHORT_BITS ? 64 : 32;
	svctable_memory(t, &m);
	assert_int_equal(m.rule_bytes, want);
	svctable_free(t);
	free(v);
}

/*
 * The rule arena hands out 64-byte rules at even units only (on a
 * page-aligned base: never across a line). When its bump region is used
 * up, free 32-byte units that pair up make a 64-byte rule, and units that
 * do not pair up do not (white-box on the arena, then through a table).
 */
static void
test_rule_arena_pairs(void **state)
{
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_DROP };
	struct svctable_key keys[20], lk;
	const struct svctable_rule *r;
	struct svc_arena a;
	struct svctable *t;
	uint32_t i, cap;

	(void)state;
	assert_int_equal(svc_arena_init(&a, SVC_RULE_UNIT, 12), 0);
	/* top is 1: the pair starts at 2, unit 1 waits on the single list */
	assert_int_equal(svc_arena_alloc_pair(&a), 2);
	assert_int_equal(a.free_head[1], 1);
	assert_int_equal(svc_arena_alloc(&a, 1), 1);
	assert_int_equal(svc_arena_alloc(&a, 1), 4);
	assert_int_equal(svc_arena_alloc_pair(&a), 6);
	assert_int_equal(svc_arena_alloc(&a, 1), 5);
	for (i = 8; i < 12; i++)
		assert_int_equal(svc_arena_alloc(&a, 1), i);
	assert_int_equal(a.live, 11);
	assert_int_equal(svc_arena_alloc(&a, 1), 0);
	assert_int_equal(svc_arena_alloc_pair(&a), 0);
	/* singles without a free partner: 1 (unit 0 is never free), 4, 9 */
	svc_arena_free(&a, 1, 1);
	svc_arena_free(&a, 4, 1);
	svc_arena_free(&a, 9, 1);
	assert_int_equal(svc_arena_alloc_pair(&a), 0);
	assert_int_equal(a.free_units, 3);
	/* 5 frees 4's partner */
	svc_arena_free(&a, 5, 1);
	assert_int_equal(svc_arena_alloc_pair(&a), 4);
	assert_int_equal(a.free_units, 2);
	assert_int_equal(a.live, 9);
	/* the ones left are still handed out one by one */
	i = svc_arena_alloc(&a, 1);
	assert_true(i == 1 || i == 9);
	assert_int_equal(svc_arena_alloc(&a, 1), 10 - i);
	assert_int_equal(svc_arena_alloc(&a, 1), 0);
	svc_arena_fini(&a);

	/* through a table: 20 short rules, then no bump room left */
	t = mk_table(64);
	for (i = 0; i < 20; i++) {
		keys[i] = key_from((uint64_t)(i + 1) << 56 | 0xabcdef, 0, 0, 0);
		rc.id = i;
		assert_int_equal(svctable_insert(t, &keys[i], 64, &rc), 0);
		assert_int_equal(unit_of(t, get_rule(t, &keys[i], 64)), i + 1);
	}
	cap = t->rule_arena.cap;
	t->rule_arena.cap = t->rule_arena.top;
	lk = key_from(0x7777777777777777ull, 0x7777777777777777ull, 0x77ull << 56, 0);
	/* units 3 and 7 free, their partners 2 and 6 held: no room for /200 */
	assert_int_equal(svctable_delete(t, &keys[2], 64), 0);
	assert_int_equal(svctable_delete(t, &keys[6], 64), 0);
	rc.id = 99;
	assert_int_equal(svctable_insert(t, &lk, 200, &rc), -ENOMEM);
	assert_int_equal(svctable_count(t), 18);
	assert_int_equal(lookup_id(t, &lk), UINT32_MAX);
	check_table(t);
	/* unit 2 freed too: 2 and 3 pair up */
	assert_int_equal(svctable_delete(t, &keys[1], 64), 0);
	assert_int_equal(svctable_insert(t, &lk, 200, &rc), 0);
	r = get_rule(t, &lk, 200);
	assert_int_equal(unit_of(t, r), 2);
	assert_rule_block(r);
	assert_int_equal(lookup_id(t, &lk), 99);
	check_table(t);
	/* unit 7 alone: a short rule still fits */
	assert_int_equal(svctable_insert(t, &keys[1], 64, &rc), 0);
	assert_int_equal(unit_of(t, get_rule(t, &keys[1], 64)), 7);
	check_table(t);
	t->rule_arena.cap = cap;
	svctable_free(t);
}

/* ------------------------------------------------------ differential */

/* brute-force reference: one open-addressing set of (masked key, len); a
 * lookup probes every length present, longest first */
struct ref_ent {
	uint64_t w[4];          /* the key as big-endian words */
	uint16_t len;
	uint8_t used;           /* 0 empty, 1 used, 2 tombstone */
	uint32_t id;
	uint32_t pos;           /* index in ref.live */
};

struct ref {
	struct ref_ent *tab;
	uint32_t mask;
	uint32_t n;
	uint32_t per_len[SVCTABLE_KEY_BITS + 1];
	struct ref_ent **live;  /* for picking existing prefixes */
};

static void
key_words(const struct svctable_key *k, uint64_t w[4])
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		memcpy(&w[i], k->bytes + 8 * i, 8);
		w[i] = __builtin_bswap64(w[i]);
	}
}

/* w masked to len bits */
static void
mask_words(const uint64_t w[4], unsigned int len, uint64_t m[4])
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (len >= 64 * (i + 1))
			m[i] = w[i];
		else if (len <= 64 * i)
			m[i] = 0;
		else
			m[i] = w[i] & ~(~0ull >> (len - 64 * i));
	}
}

static uint32_t
ref_hash(const uint64_t m[4], unsigned int len)
{
	uint64_t h = len * 0x9e3779b97f4a7c15ull;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		h = (h ^ m[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return (uint32_t)h;
}

static struct svctable_key
ent_key(const struct ref_ent *e)
{
	struct svctable_key k;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		uint64_t be = __builtin_bswap64(e->w[i]);

		memcpy(k.bytes + 8 * i, &be, 8);
	}
	return k;
}

static struct ref_ent *
ref_find_w(struct ref *r, const uint64_t m[4], unsigned int len, bool make)
{
	uint32_t i = ref_hash(m, len) & r->mask;

	for (;; i = (i + 1) & r->mask) {
		struct ref_ent *e = &r->tab[i];

		if (e->used == 0)
			return make ? e : NULL;
		/* tombstones are skipped; new entries go to empty slots only */
		if (e->used == 1 && e->len == len && e->w[0] == m[0] &&
				e->w[1] == m[1] && e->w[2] == m[2] && e->w[3] == m[3])
			return e;
	}
}

static struct ref_ent *
ref_find(struct ref *r, const struct svctable_key *k, unsigned int len, bool make)
{
	uint64_t w[4];

	key_words(k, w);
	return ref_find_w(r, w, len, make);
}

static void
ref_set(struct ref *r, const struct svctable_key *k, unsigned int len, uint32_t id)
{
	struct ref_ent *e = ref_find(r, k, len, false);

	if (e == NULL) {
		e = ref_find(r, k, len, true);
		key_words(k, e->w);
		e->len = (uint16_t)len;
		e->used = 1;
		e->pos = r->n;
		r->live[r->n++] = e;
		r->per_len[len]++;
	}
	e->id = id;
}

static void
ref_del(struct ref *r, const struct svctable_key *k, unsigned int len)
{
	struct ref_ent *e = ref_find(r, k, len, false);

	assert_non_null(e);
	r->live[e->pos] = r->live[--r->n];
	r->live[e->pos]->pos = e->pos;
	e->used = 2;
	r->per_len[len]--;
}

static uint32_t
ref_lookup(struct ref *r, const struct svctable_key *k)
{
	uint64_t w[4], m[4];
	int len;

	key_words(k, w);
	for (len = SVCTABLE_KEY_BITS; len >= 0; len--) {
		struct ref_ent *e;

		if (r->per_len[len] == 0)
			continue;
		mask_words(w, (unsigned int)len, m);
		e = ref_find_w(r, m, (unsigned int)len, false);
		if (e != NULL)
			return e->id;
	}
	return UINT32_MAX;
}

/* the generator: clustered around a few bases, plus uniform noise */
static struct svctable_key bases[6];

static unsigned int
gen_len(void)
{
	uint32_t c = rndn(100);

	if (c < 8)
		return rndn(19);             /* 0..18: root leaves and /0 */
	if (c < 18)
		return 14 + rndn(12);        /* around the root table's 18 bits */
	if (c < 28)
		return SVCTABLE_KEY_BITS;    /* exact services */
	if (c < 36)
		return 250 + rndn(7);        /* near the end */
	if (c < 42)
		return 93 + rndn(8);         /* around the 32/64-byte rule boundary */
	return 17 + rndn(240);
}

static void
gen_prefix(struct svctable_key *k, unsigned int *lenp, const struct ref *r)
{
	unsigned int len = gen_len();
	uint32_t c = rndn(100);

	if (c < 30) {
		rnd_key(k);
	} else if (c < 45 && r->n > 0) {
		/* near an existing prefix: same bits, another length, a late flip */
		const struct ref_ent *e = r->live[rndn(r->n)];
		struct svctable_key tail;
		unsigned int i;

		*k = ent_key(e);
		rnd_key(&tail);
		for (i = e->len; i < SVCTABLE_KEY_BITS; i++)
			if ((tail.bytes[i >> 3] >> (7 - (i & 7))) & 1)
				flip_bit(k, i);
		if (len > 0 && rndn(2))
			flip_bit(k, len - 1 - rndn(len < 8 ? len : 8));
	} else {
		unsigned int flips = rndn(4), i;

		*k = bases[rndn(6)];
		for (i = 0; i < flips && len > 0; i++)
			flip_bit(k, len - 1 - rndn(len < 24 ? len : 24));
	}
	*k = masked(*k, len);
	*lenp = len;
}

static void
gen_query(struct svctable_key *k, const struct ref *r)
{
	uint32_t c = rndn(100);
	struct svctable_key tail;
	unsigned int i;

	rnd_key(&tail);
	if (c < 50 && r->n > 0) {
		/* under an existing prefix: a hit, unless a flip makes it a miss */
		const struct ref_ent *e = r->live[rndn(r->n)];

		*k = ent_key(e);
		for (i = e->len; i < SVCTABLE_KEY_BITS; i++)
			if ((tail.bytes[i >> 3] >> (7 - (i & 7))) & 1)
				flip_bit(k, i);
		if (c < 15 && e->len > 0)
			flip_bit(k, rndn(e->len));
	} else if (c < 80) {
		unsigned int keep = rndn(257);

		*k = bases[rndn(6)];
		for (i = keep; i < SVCTABLE_KEY_BITS; i++)
			if ((tail.bytes[i >> 3] >> (7 - (i & 7))) & 1)
				flip_bit(k, i);
	} else {
		*k = tail;
	}
}

static void
diff_compare(struct svctable *t, struct ref *r, unsigned int n, uint64_t *lookups)
{
	struct svctable_key keys[40];
	const struct svctable_key *kp[40];
	const struct svctable_rule *res[40];
	uint32_t hits, want_hits = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		gen_query(&keys[i], r);
		kp[i] = &keys[i];
	}
	hits = svctable_lookup_bulk(t, kp, n, res);
	for (i = 0; i < n; i++) {
		uint32_t want = ref_lookup(r, &keys[i]);
		uint32_t got = res[i] != NULL ? res[i]->id : UINT32_MAX;

		if (got != want)
			fail_msg("lookup %llu: got id %u want %u",
					(unsigned long long)*lookups + i, got, want);
		want_hits += want != UINT32_MAX;
	}
	assert_int_equal(hits, want_hits);
	*lookups += n;
}

static void
run_differential(uint64_t total_ops)
{
	const uint32_t max_rules = 3000;
	struct svctable *t = mk_table(max_rules);
	struct svctable_rule_conf rc = { .action = SVCTABLE_ACTION_LOCAL };
	struct ref r = { 0 };
	uint64_t ops = 0, lookups = 0, muts = 0, txns = 0, fails = 0;
	uint32_t next_id = 1;
	unsigned int i;

	r.mask = (1u << 14) - 1; /* small enough for L2; tombstones shed below */
	r.tab = calloc(r.mask + 1, sizeof(*r.tab));
	r.live = calloc(max_rules + 64, sizeof(*r.live));
	assert_non_null(r.tab);
	assert_non_null(r.live);
	for (i = 0; i < 6; i++)
		rnd_key(&bases[i]);

	while (ops < total_ops) {
		uint32_t c = rndn(100);
		bool want_big = r.n < max_rules / 2;
		struct svctable_key k;
		unsigned int len;
		int ret;

		if (c < 50) {
			/* lookups: compared key by key */
			unsigned int n = 1 + rndn(8);

			diff_compare(t, &r, n, &lookups);
			ops += n;
			continue;
		}
		ops++;
		muts++;
		if (c < (want_big ? 85u : 72u)) {
			gen_prefix(&k, &len, &r);
			rc.id = next_id++;
			rc.action = (enum svctable_action)rndn(SVCTABLE_ACTION_MAX);
			if (rc.action == SVCTABLE_ACTION_FORWARD)
				rc.action = SVCTABLE_ACTION_LOCAL;
			ret = svctable_insert(t, &k, len, &rc);
			if (ret == -ENOSPC) {
				assert_int_equal(r.n, max_rules);
				assert_null(ref_find(&r, &k, len, false));
				fails++;
			} else {
				assert_int_equal(ret, 0);
				ref_set(&r, &k, len, rc.id);
			}
		} else if (c < 95) {
			if (r.n > 0 && rndn(10) < 8) {
				struct ref_ent *e = r.live[rndn(r.n)];

				k = ent_key(e);
				len = e->len;
				assert_int_equal(svctable_delete(t, &k, len), 0);
				ref_del(&r, &k, len);
			} else {
				gen_prefix(&k, &len, &r);
				ret = svctable_delete(t, &k, len);
				if (ref_find(&r, &k, len, false) != NULL) {
					assert_int_equal(ret, 0);
					ref_del(&r, &k, len);
				} else {
					assert_int_equal(ret, -ENOENT);
				}
			}
		} else {
			/* a transaction of up to 24 ops: commit, abort or go stale */
			struct svctable_txn *x = svctable_txn_begin(t);
			struct {
				struct svctable_key k;
				unsigned int len;
				uint32_t id;
				int del;
			} st[24];
			unsigned int n = 1 + rndn(24), j, ns = 0;
			uint32_t fate = rndn(10);

			assert_non_null(x);
			for (j = 0; j < n; j++) {
				if (rndn(3) == 0 && r.n > 0) {
					struct ref_ent *e = r.live[rndn(r.n)];

					k = ent_key(e);
					ret = svctable_txn_del(x, &k, e->len);
					if (ret == 0) {
						st[ns].k = ent_key(e);
						st[ns].len = e->len;
						st[ns].del = 1;
						ns++;
					} else {
						/* deleted earlier in this txn */
						assert_int_equal(ret, -ENOENT);
					}
				} else {
					gen_prefix(&k, &len, &r);
					rc.id = next_id++;
					assert_int_equal(svctable_txn_add(x, &k, len, &rc), 0);
					st[ns].k = k;
					st[ns].len = len;
					st[ns].id = rc.id;
					st[ns].del = 0;
					ns++;
				}
			}
			ops += n;
			if (fate == 0) {
				svctable_txn_abort(x);
			} else if (fate == 1) {
				struct svctable_key s = key_from(0x5151515100000000ull, 0, 0, 0);

				/* another commit lands first: stale */
				rc.id = next_id++;
				ret = svctable_insert(t, &s, 32, &rc);
				if (ret == 0) {
					ref_set(&r, &s, 32, rc.id);
				} else {
					struct ref_ent *e = r.live[rndn(r.n)];

					assert_int_equal(ret, -ENOSPC);
					k = ent_key(e);
					len = e->len;
					assert_int_equal(svctable_delete(t, &k, len), 0);
					ref_del(&r, &k, len);
				}
				assert_int_equal(svctable_txn_commit(x), -EBUSY);
				svctable_txn_abort(x);
			} else {
				/* mirror into a copy of the reference, adopt if committed */
				uint32_t before = r.n, adds = 0;

				for (j = 0; j < ns; j++)
					adds += !st[j].del;
				ret = svctable_txn_commit(x);
				if (ret == 0) {
					for (j = 0; j < ns; j++) {
						if (st[j].del) {
							if (ref_find(&r, &st[j].k, st[j].len,
									false))
								ref_del(&r, &st[j].k,
										st[j].len);
						} else {
							ref_set(&r, &st[j].k, st[j].len, st[j].id);
						}
					}
					txns++;
				} else {
					assert_int_equal(ret, -ENOSPC);
					assert_true(before + adds > max_rules - 24);
					svctable_txn_abort(x);
					fails++;
				}
			}
		}
		assert_int_equal(svctable_count(t), r.n);
		if (muts % 1000 == 0) {
			/* rebuild the reference hash to shed tombstones */
			struct ref_ent *copy = calloc(r.n + 1, sizeof(*copy));
			uint32_t n = r.n, j;

			assert_non_null(copy);
			for (j = 0; j < n; j++)
				copy[j] = *r.live[j];
			memset(r.tab, 0, (r.mask + 1) * sizeof(*r.tab));
			memset(r.per_len, 0, sizeof(r.per_len));
			r.n = 0;
			for (j = 0; j < n; j++) {
				struct svctable_key ck = ent_key(&copy[j]);

				ref_set(&r, &ck, copy[j].len, copy[j].id);
			}
			free(copy);
			check_table(t);
		}
	}
	check_table(t);
	print_message("differential: %llu ops (%llu lookups compared, %llu changes, "
			"%llu txns, %llu refused full), %u rules at end\n",
			(unsigned long long)ops, (unsigned long long)lookups,
			(unsigned long long)muts, (unsigned long long)txns,
			(unsigned long long)fails, r.n);
	assert_true(ops >= total_ops);
	free(r.tab);
	free(r.live);
	svctable_free(t);
}

static void
test_differential(void **state)
{
	(void)state;
	run_differential(g_diff_ops);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest all[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_key_mask),
		cmocka_unit_test(test_txn),
		cmocka_unit_test(test_commit_failure),
		cmocka_unit_test(test_reclaim),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_inplace),
		cmocka_unit_test(test_root_pages),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_rule_sizes),
		cmocka_unit_test(test_rule_neighbours),
		cmocka_unit_test(test_rule_churn_sizes),
		cmocka_unit_test(test_rule_arena_pairs),
		cmocka_unit_test(test_differential),
	};
	const struct CMUnitTest longrun[] = {
		cmocka_unit_test(test_differential),
	};

	if (argc > 1 && strcmp(argv[1], "--long") == 0) {
		g_diff_ops = 1000000;
		if (argc > 2) {
			char *end;

			rng_state = strtoull(argv[2], &end, 0);
			if (*end != '\0') {
				fprintf(stderr, "bad seed '%s'\n", argv[2]);
				return 2;
			}
			printf("seed %#llx\n", (unsigned long long)rng_state);
		}
		return cmocka_run_group_tests_name("svctable_long", longrun, NULL, NULL);
	}
	return cmocka_run_group_tests_name("svctable", all, NULL, NULL);
}
