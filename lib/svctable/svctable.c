/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Front end of the service table: argument checks, transactions, commit
 * (validate, build aside, publish, retire) and QSBR reclamation.
 *
 * A commit runs in phases so that a failure changes nothing:
 *  1. validate: staleness, reclaim-queue room, capacity;
 *  2. allocate: target sets, rule objects, rib nodes (all fallible);
 *  3. apply to the rib with an undo record (cannot fail);
 *  4. rebuild the changed trie paths aside (fallible: undone on failure);
 *  5. publish with one release store, then retire the old memory.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include "svctable_priv.h"

/* measured: 56-byte rules (6 of 8 across two lines) cost a resolve SYN at 1M
 * rules about 8% more cycles than 64-byte ones: a rule is one aligned 32- or
 * 64-byte block, its header and key bytes inside it */
_Static_assert(offsetof(struct svctable_rule, prefix) + SVCTABLE_RULE_SHORT_BITS / 8 ==
		SVC_RULE_UNIT, "a short rule is one unit");
_Static_assert(offsetof(struct svctable_rule, prefix) + SVCTABLE_KEY_LEN <=
		2 * SVC_RULE_UNIT, "a long rule is two units");
/* arena capacities (below) must fit the root entry's index fields */
_Static_assert(8ull * SVCTABLE_MAX_RULES + 256 < (1ull << SVC_ENTRY_CHILD_BITS),
		"node indexes fit a root entry");
_Static_assert(SVC_RULE_UNITS_MAX(SVCTABLE_MAX_RULES) < (1ull << SVC_ENTRY_RULE_BITS),
		"rule indexes fit a root entry");

enum { OP_NONE, OP_ADD, OP_DEL };

/* largest op map a kept transaction keeps (entries) */
#define TXN_MAP_KEEP 64

/* an add learns whether it replaces while it is applied: no extra search */
#define IN_RIB_UNKNOWN 2

struct svc_op {
	struct svctable_key key;
	uint16_t len;
	uint8_t kind;
	uint8_t in_rib;            /* in the committed table: 0, 1, IN_RIB_UNKNOWN */
	uint8_t action;
	uint32_t id;
	uint32_t user_flags;
	struct svctable_target *targets; /* owned, canonical */
	uint32_t n_targets;
	/* commit scratch */
	uint32_t new_rule;
	uint32_t old_rule;
	struct svc_tset *tset;
	struct svc_rib_node *node;
};

struct svctable_txn {
	struct svctable *t;
	uint64_t base_version;
	struct svc_vec ops;        /* struct svc_op */
	uint32_t *map;             /* open addressing: op index + 1, 0 = empty */
	uint32_t map_mask;
	uint32_t short_lens;       /* bit L: an op of length L <= 16 (commit) */
	bool clear;
};

/* ------------------------------------------------------------ create */

struct svctable *
svctable_create(const struct svctable_conf *conf)
{
	struct svctable *t;
	uint32_t n;

	if (conf == NULL || conf->max_rules == 0 ||
			conf->max_rules > SVCTABLE_MAX_RULES ||
			(conf->flags & ~SVCTABLE_F_ALL) != 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	n = conf->max_rules;
	t = aligned_alloc(64, sizeof(*t));
	if (t == NULL)
		goto nomem;
	memset(t, 0, sizeof(*t));
	t->max_rules = n;
	t->rq_size = conf->reclaim_queue_size ? conf->reclaim_queue_size :
		SVCTABLE_RECLAIM_QUEUE_DEFAULT;
	/*
	 * Worst case per committed table: 2 trie nodes, 3 leaves and one
	 * terminal record per prefix (every node consumes a prefix end or a
	 * branching; a record is the one prefix of its subtree). Reserve
	 * room for the old and the new version of a whole-table reload plus
	 * what waits for reclamation; reservations cost address space only.
	 */
	if (svc_arena_init(&t->node_arena, sizeof(struct svc_node), 8 * n + 256) != 0 ||
			svc_arena_init(&t->leaf_arena, sizeof(uint32_t), 16 * n + 256) != 0 ||
			svc_arena_init(&t->term_arena, sizeof(struct svc_term), 4 * n + 256) != 0 ||
			svc_arena_init(&t->rule_arena, SVC_RULE_UNIT,
				(uint32_t)SVC_RULE_UNITS_MAX(n)) != 0)
		goto free_table;
	if (svc_rib_init(&t->rib, t->rule_arena.base, SVC_RIB_MAX_NODES(n)) != 0)
		goto free_table;
	if (svc_tset_table_init(&t->tsets) != 0)
		goto free_table;
	if (svc_trie_init(t) != 0)
		goto free_table;
	t->rq = calloc(t->rq_size, sizeof(*t->rq));
	if (t->rq == NULL)
		goto free_table;
	svc_vec_init(&t->keep_fresh, sizeof(struct svc_fresh));
	svc_vec_init(&t->keep_fixup, sizeof(struct svc_fixup));
	svc_vec_init(&t->keep_slots, sizeof(struct svc_slot));
	svc_vec_init(&t->keep_order, sizeof(uint32_t));
	t->nodes = (const struct svc_node *)t->node_arena.base;
	t->leaves = (const uint32_t *)(const void *)t->leaf_arena.base;
	t->terms = (const struct svc_term *)(const void *)t->term_arena.base;
	t->rule_base = t->rule_arena.base;
	return t;

free_table:
	svctable_free(t);
nomem:
	rte_errno = ENOMEM;
	return NULL;
}

void
svc_retire_stash(struct svctable *t, struct svc_vec *v)
{
	if (v->a != NULL && v->cap <= SVC_VEC_KEEP_MAX &&
			t->n_retire_stash < SVC_RETIRE_STASH) {
		t->retire_stash[t->n_retire_stash] = *v;
		t->retire_stash[t->n_retire_stash++].n = 0;
		svc_vec_init(v, sizeof(struct svc_retire));
	} else {
		svc_vec_fini(v);
	}
}

static void
free_batch(struct svctable *t, struct svc_retire_batch *b)
{
	struct svc_vec v = {
		.a = b->items, .n = 0, .cap = b->cap, .esz = sizeof(struct svc_retire),
	};
	uint32_t i;

	for (i = 0; i < b->n; i++)
		svc_free_item(t, &b->items[i]);
	svc_retire_stash(t, &v);
	t->pending_bytes -= b->bytes;
	memset(b, 0, sizeof(*b));
}

void
svctable_free(struct svctable *t)
{
	if (t == NULL)
		return;
	while (t->rq != NULL && t->rq_count != 0) {
		free_batch(t, &t->rq[t->rq_head]);
		t->rq_head = (t->rq_head + 1) % t->rq_size;
		t->rq_count--;
	}
	free(t->rq);
	while (t->n_retire_stash > 0)
		svc_vec_fini(&t->retire_stash[--t->n_retire_stash]);
	svc_vec_fini(&t->keep_fresh);
	svc_vec_fini(&t->keep_fixup);
	svc_vec_fini(&t->keep_slots);
	svc_vec_fini(&t->keep_order);
	if (t->txn_cache != NULL) {
		svc_vec_fini(&t->txn_cache->ops);
		free(t->txn_cache->map);
		free(t->txn_cache);
	}
	svc_trie_fini(t);
	svc_tset_table_fini(&t->tsets);
	svc_rib_fini(&t->rib);
	svc_arena_fini(&t->rule_arena);
	svc_arena_fini(&t->leaf_arena);
	svc_arena_fini(&t->term_arena);
	svc_arena_fini(&t->node_arena);
	free(t);
}

int
svctable_rcu_attach(struct svctable *t, struct rte_rcu_qsbr *v)
{
	if (t == NULL || v == NULL)
		return -EINVAL;
	if (t->qsv != NULL)
		return -EEXIST;
	t->qsv = v;
	return 0;
}

int
svctable_reclaim(struct svctable *t)
{
	int n = 0;

	if (t == NULL)
		return -EINVAL;
	while (t->rq_count != 0) {
		struct svc_retire_batch *b = &t->rq[t->rq_head];

		/* non-blocking: stop at the first batch still in its grace period */
		if (t->qsv != NULL && rte_rcu_qsbr_check(t->qsv, b->token, false) != 1)
			break;
		free_batch(t, b);
		t->rq_head = (t->rq_head + 1) % t->rq_size;
		t->rq_count--;
		n++;
	}
	return n;
}

uint32_t
svctable_reclaim_pending(const struct svctable *t)
{
	return t != NULL ? t->rq_count : 0;
}

/* ------------------------------------------------------- transactions */

static uint32_t
op_hash(const struct svctable_key *k, unsigned int len)
{
	uint64_t h = len * 0x9e3779b97f4a7c15ull;
	unsigned int i;

	for (i = 0; i < SVCTABLE_KEY_LEN; i += 8) {
		uint64_t w;

		memcpy(&w, k->bytes + i, sizeof(w));
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static struct svc_op *
op_at(const struct svctable_txn *txn, uint32_t i)
{
	return svc_vec_at(&txn->ops, i);
}

/* the slot holding (k, len), or the empty slot where it would go */
static uint32_t *
map_slot(const struct svctable_txn *txn, const struct svctable_key *k,
		unsigned int len)
{
	uint32_t i = op_hash(k, len) & txn->map_mask;

	for (;; i = (i + 1) & txn->map_mask) {
		uint32_t *s = &txn->map[i];
		struct svc_op *op;

		if (*s == 0)
			return s;
		op = op_at(txn, *s - 1);
		if (op->len == len && memcmp(&op->key, k, sizeof(*k)) == 0)
			return s;
	}
}

static int
map_grow(struct svctable_txn *txn)
{
	uint32_t size = txn->map ? (txn->map_mask + 1) * 2 : 16;
	uint32_t i;

	free(txn->map);
	txn->map = calloc(size, sizeof(*txn->map));
	if (txn->map == NULL) {
		txn->map_mask = 0;
		return -ENOMEM;
	}
	txn->map_mask = size - 1;
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		*map_slot(txn, &op->key, op->len) = i + 1;
	}
	return 0;
}

struct svctable_txn *
svctable_txn_begin(struct svctable *t)
{
	struct svctable_txn *txn;

	if (t == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (t->txn_cache != NULL) {
		/* reset when it ended: no ops, an empty map */
		txn = t->txn_cache;
		t->txn_cache = NULL;
	} else {
		txn = calloc(1, sizeof(*txn));
		if (txn == NULL) {
			rte_errno = ENOMEM;
			return NULL;
		}
		txn->t = t;
		svc_vec_init(&txn->ops, sizeof(struct svc_op));
	}
	txn->base_version = t->version;
	txn->short_lens = 0;
	txn->clear = false;
	t->open_txns++;
	return txn;
}

static void
ops_free(struct svctable_txn *txn)
{
	uint32_t i;

	for (i = 0; i < txn->ops.n; i++)
		free(op_at(txn, i)->targets);
	txn->ops.n = 0;
	if (txn->map != NULL)
		memset(txn->map, 0, (txn->map_mask + 1) * sizeof(*txn->map));
}

void
svctable_txn_abort(struct svctable_txn *txn)
{
	struct svctable *t;

	if (txn == NULL)
		return;
	t = txn->t;
	ops_free(txn);
	t->open_txns--;
	/* kept for the next one unless a big transaction grew it; a map
	 * larger than a few ops need would cost a clear per transaction */
	if (t->txn_cache == NULL && txn->ops.cap <= SVC_VEC_KEEP_MAX) {
		if (txn->map_mask >= TXN_MAP_KEEP) {
			free(txn->map);
			txn->map = NULL;
			txn->map_mask = 0;
		}
		t->txn_cache = txn;
		return;
	}
	svc_vec_fini(&txn->ops);
	free(txn->map);
	free(txn);
}

static int
check_prefix(const struct svctable_key *prefix, unsigned int len)
{
	if (prefix == NULL || len > SVCTABLE_KEY_BITS || !svc_key_valid(prefix, len))
		return -EINVAL;
	return 0;
}

/* find the op for (prefix, len) or make room for a new one */
static int
stage(struct svctable_txn *txn, const struct svctable_key *prefix,
		unsigned int len, struct svc_op **opp, uint32_t **slotp)
{
	int ret;

	if (txn->map == NULL || (txn->ops.n + 1) * 2 > txn->map_mask + 1) {
		ret = map_grow(txn);
		if (ret != 0)
			return ret;
	}
	*slotp = map_slot(txn, prefix, len);
	*opp = **slotp != 0 ? op_at(txn, **slotp - 1) : NULL;
	return 0;
}

static bool
op_in_rib(struct svctable_txn *txn, struct svc_op *op)
{
	if (op->in_rib == IN_RIB_UNKNOWN)
		op->in_rib = svc_rib_find(&txn->t->rib, &op->key, op->len) != NULL;
	return op->in_rib;
}

static struct svc_op *
new_op(struct svctable_txn *txn, uint32_t *slot,
		const struct svctable_key *prefix, unsigned int len)
{
	struct svc_op *op = svc_vec_push(&txn->ops);

	if (op == NULL)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->key = *prefix;
	op->len = (uint16_t)len;
	op->in_rib = IN_RIB_UNKNOWN;
	if (slot != NULL)
		*slot = txn->ops.n;
	return op;
}

int
svctable_txn_add(struct svctable_txn *txn, const struct svctable_key *prefix,
		unsigned int len, const struct svctable_rule_conf *rc)
{
	struct svctable_target *copy = NULL;
	struct svc_op *op;
	uint32_t *slot;
	int ret;

	if (txn == NULL || rc == NULL)
		return -EINVAL;
	ret = check_prefix(prefix, len);
	if (ret != 0)
		return ret;
	if ((unsigned int)rc->action >= SVCTABLE_ACTION_MAX)
		return -EINVAL;
	if (rc->action == SVCTABLE_ACTION_FORWARD) {
		if (rc->targets == NULL || rc->n_targets == 0)
			return -EINVAL;
		if (rc->n_targets > SVCTABLE_MAX_TARGETS)
			return -E2BIG;
		copy = malloc(rc->n_targets * sizeof(*copy));
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, rc->targets, rc->n_targets * sizeof(*copy));
		ret = svc_targets_canon(copy, rc->n_targets);
		if (ret != 0)
			goto free_copy;
	} else if (rc->targets != NULL || rc->n_targets != 0) {
		return -EINVAL;
	}
	ret = stage(txn, prefix, len, &op, &slot);
	if (ret != 0)
		goto free_copy;
	if (op == NULL) {
		op = new_op(txn, slot, prefix, len);
		if (op == NULL) {
			ret = -ENOMEM;
			goto free_copy;
		}
	}
	free(op->targets);
	op->kind = OP_ADD;
	op->action = (uint8_t)rc->action;
	op->id = rc->id;
	op->user_flags = rc->user_flags;
	op->targets = copy;
	op->n_targets = copy != NULL ? rc->n_targets : 0;
	return 0;

free_copy:
	free(copy);
	return ret;
}

int
svctable_txn_del(struct svctable_txn *txn, const struct svctable_key *prefix,
		unsigned int len)
{
	struct svc_op *op;
	uint32_t *slot;
	int ret;

	if (txn == NULL)
		return -EINVAL;
	ret = check_prefix(prefix, len);
	if (ret != 0)
		return ret;
	ret = stage(txn, prefix, len, &op, &slot);
	if (ret != 0)
		return ret;
	if (op != NULL) {
		if (op->kind != OP_ADD)
			return -ENOENT;
		free(op->targets);
		op->targets = NULL;
		op->n_targets = 0;
		/* an add of a new prefix then its delete is nothing at all */
		op->kind = op_in_rib(txn, op) && !txn->clear ? OP_DEL : OP_NONE;
		return 0;
	}
	/* after a clear, every committed prefix not re-added is already gone */
	if (txn->clear || svc_rib_find(&txn->t->rib, prefix, len) == NULL)
		return -ENOENT;
	op = new_op(txn, slot, prefix, len);
	if (op == NULL)
		return -ENOMEM;
	op->kind = OP_DEL;
	op->in_rib = 1;
	return 0;
}

int
svctable_txn_clear(struct svctable_txn *txn)
{
	if (txn == NULL)
		return -EINVAL;
	ops_free(txn);
	txn->clear = true;
	return 0;
}

/* ------------------------------------------------------------- commit */

struct clear_ctx {
	struct svctable_txn *txn;
	int err;
};

static int
clear_one(const struct svc_rib_node *n, void *arg)
{
	struct clear_ctx *cc = arg;
	struct svctable_txn *txn = cc->txn;
	struct svctable_key key;
	struct svc_op *op;

	/* a node with a rule is keyed by it: its bits past len are zero */
	svctable_rule_prefix(svc_rule(txn->t, svc_rib_rule(n)), &key);
	if (txn->map != NULL && *map_slot(txn, &key, n->len) != 0)
		return 0; /* re-added (or staged) after the clear */
	op = svc_vec_push(&txn->ops);
	if (op == NULL) {
		cc->err = -ENOMEM;
		return 1;
	}
	memset(op, 0, sizeof(*op));
	op->key = key;
	op->len = n->len;
	op->kind = OP_DEL;
	op->in_rib = 1;
	return 0;
}

static void
rule_fill(struct svctable *t, const struct svc_op *op)
{
	struct svctable_rule *r = svc_arena_ptr(&t->rule_arena, op->new_rule);

	/* the key bytes past the prefix stay zero: lookups and svc_rib_key()
	 * read whole words */
	memset(r, 0, svc_rule_units(op->len) * SVC_RULE_UNIT);
	r->tset = op->tset != NULL ? &op->tset->pub : NULL;
	r->id = op->id;
	r->user_flags = op->user_flags;
	r->prefix_len = op->len;
	r->action = op->action;
	memcpy(r->prefix, op->key.bytes, (op->len + 7u) / 8);
}

static int
slot_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* rebuild the trie for every changed prefix; the rib holds the new state */
static int
build(struct svctable_txn *txn, struct svc_build *b)
{
	struct svc_vec slots;
	uint32_t i, prev = UINT32_MAX, n_ops = 0;
	bool deep = false;
	unsigned int len;
	int ret = 0;

	svc_vec_take(&slots, &txn->t->keep_order);
	/* one change below the root table may be published by one store in
	 * place (see struct svc_build): with more, the stores would not be
	 * one instant */
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		if (op->kind != OP_NONE) {
			n_ops++;
			deep = op->len > SVC_ROOT_BITS;
		}
	}
	b->inplace_ok = n_ops == 1 && deep;
	/* short prefixes first, shortest first: a recomputed range covers
	 * every range nested in it */
	for (len = 0; len <= SVC_ROOT_BITS && ret == 0; len++) {
		if (!(txn->short_lens & (1u << len)))
			continue;
		for (i = 0; i < txn->ops.n && ret == 0; i++) {
			struct svc_op *op = op_at(txn, i);

			if (op->kind != OP_NONE && op->len == len)
				ret = svc_build_leaves(b, &op->key, op->len);
		}
	}
	for (i = 0; i < txn->ops.n && ret == 0; i++) {
		struct svc_op *op = op_at(txn, i);

		if (op->kind == OP_NONE)
			continue;
		if (op->len >= SVC_ROOT_BITS) {
			uint32_t *s = svc_vec_push(&slots);

			if (s == NULL)
				ret = -ENOMEM;
			else
				*s = svc_key_bits(&op->key, 0, SVC_ROOT_BITS);
		}
	}
	if (ret == 0 && slots.n > 1)
		qsort(slots.a, slots.n, sizeof(uint32_t), slot_cmp);
	for (i = 0; i < slots.n && ret == 0; i++) {
		uint32_t s = *(uint32_t *)svc_vec_at(&slots, i);

		if (s != prev)
			ret = svc_build_slot(b, s);
		prev = s;
	}
	svc_vec_keep(&txn->t->keep_order, &slots);
	if (ret == 0)
		ret = svc_build_prepare(b);
	/* retiring the old rules and sets after publish must not fail */
	if (ret == 0)
		ret = svc_vec_reserve(&b->retire, b->retire.n + 2 * txn->ops.n + 1);
	return ret;
}

static void
retire_push(struct svc_build *b, uint32_t kind, uint32_t idx, uint32_t n, void *ptr)
{
	struct svc_retire *r = svc_vec_push(&b->retire); /* reserved by build() */

	r->kind = kind;
	r->n = n;
	if (ptr != NULL)
		r->ptr = ptr;
	else
		r->idx = idx;
}

/* hand the retired memory to the reclaim queue (or free it now) */
static void
retire_batch(struct svctable *t, struct svc_build *b)
{
	struct svc_retire_batch *rb;
	size_t bytes = 0;
	uint32_t i;

	if (b->retire.n == 0)
		return;
	if (t->qsv == NULL) {
		/* no reader can exist without a QSBR variable: free at once */
		for (i = 0; i < b->retire.n; i++)
			svc_free_item(t, svc_vec_at(&b->retire, i));
		b->retire.n = 0;
		return;
	}
	for (i = 0; i < b->retire.n; i++)
		bytes += svc_item_bytes(t, svc_vec_at(&b->retire, i));
	rb = &t->rq[(t->rq_head + t->rq_count) % t->rq_size]; /* room checked */
	/* start() after the publishing store: readers that saw the old
	 * version have not yet reported this token */
	rb->token = rte_rcu_qsbr_start(t->qsv);
	rb->items = b->retire.a;
	rb->n = b->retire.n;
	rb->cap = b->retire.cap;
	rb->bytes = bytes;
	t->rq_count++;
	t->pending_bytes += bytes;
	svc_vec_init(&b->retire, sizeof(struct svc_retire));
}

int
svctable_txn_commit(struct svctable_txn *txn)
{
	struct svctable *t;
	struct svc_build b;
	uint32_t n_staged, n_add = 0, n_new = 0, n_del = 0, n_applied = 0, i;
	int ret;

	if (txn == NULL)
		return -EINVAL;
	t = txn->t;
	if (txn->base_version != t->version)
		return -EBUSY; /* another commit landed since begin */
	if (t->qsv != NULL) {
		svctable_reclaim(t);
		if (t->rq_count == t->rq_size)
			return -EAGAIN;
	}
	n_staged = txn->ops.n;
	txn->short_lens = 0;
	if (txn->clear) {
		struct clear_ctx cc = { .txn = txn, .err = 0 };

		svc_rib_walk(&t->rib, clear_one, &cc);
		ret = cc.err;
		if (ret != 0)
			goto truncate;
	}
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		n_add += op->kind == OP_ADD;
		n_new += op->kind == OP_ADD && op->in_rib != 1; /* at most */
		n_del += op->kind == OP_DEL;
		if (op->kind != OP_NONE && op->len <= SVC_ROOT_BITS)
			txn->short_lens |= 1u << op->len;
	}
	/* the exact count is known once applied; this bound decides early */
	if ((uint64_t)t->count + n_new - n_del > t->max_rules) {
		n_new = 0;
		for (i = 0; i < txn->ops.n; i++) {
			struct svc_op *op = op_at(txn, i);

			n_new += op->kind == OP_ADD && !op_in_rib(txn, op);
		}
		if ((uint64_t)t->count + n_new - n_del > t->max_rules) {
			ret = -ENOSPC;
			goto truncate;
		}
	}
	if (n_add + n_del == 0) {
		svctable_txn_abort(txn); /* nothing to change */
		return 0;
	}

	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		if (op->kind != OP_ADD || op->n_targets == 0)
			continue;
		op->tset = svc_tset_get(&t->tsets, op->targets, op->n_targets);
		if (op->tset == NULL) {
			ret = -ENOMEM;
			goto put_tsets;
		}
	}
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		if (op->kind != OP_ADD)
			continue;
		op->new_rule = svc_rule_units(op->len) == 1 ?
			svc_arena_alloc(&t->rule_arena, 1) :
			svc_arena_alloc_pair(&t->rule_arena);
		if (op->new_rule == 0) {
			ret = t->rq_count != 0 ? -EAGAIN : -ENOMEM;
			goto free_rules;
		}
		rule_fill(t, op);
	}
	ret = svc_rib_reserve(&t->rib, 2 * n_add);
	if (ret != 0)
		goto free_rules;
	/* inserts may start below the root only where nothing is deleted
	 * (see struct svc_rib) */
	t->rib.hints_ok = n_del == 0;

	for (i = 0; i < txn->ops.n; i++, n_applied++) {
		struct svc_op *op = op_at(txn, i);

		if (op->kind == OP_NONE)
			continue;
		op->node = op->kind == OP_ADD ?
			svc_rib_insert(&t->rib, &op->key, op->len, op->new_rule) :
			svc_rib_mark(&t->rib, &op->key, op->len);
		if (op->node == NULL) {
			ret = -ENOENT; /* cannot happen: validated while staging */
			goto undo_rib;
		}
		op->old_rule = svc_rib_rule(op->node);
		svc_rib_set_rule(op->node, op->new_rule);
		if (op->kind == OP_ADD)
			op->in_rib = op->old_rule != 0;
	}
	n_new = 0;
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		n_new += op->kind == OP_ADD && !op->in_rib;
	}

	t->rib.hints_ok = false;
	/* only deletes leave rule-less subtrees behind */
	if (n_del != 0)
		svc_rib_mark_dead(&t->rib);
	svc_build_init(&b, t);
	ret = build(txn, &b);
	if (ret != 0)
		goto rollback;

	/* nothing below can fail */
	svc_build_publish(&b);
	t->version++;
	t->count = t->count + n_new - n_del;
	svc_build_apply_fixups(&b);
	svc_rib_prune(&t->rib);
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);
		const struct svctable_rule *old;

		if (op->kind == OP_NONE || op->old_rule == 0)
			continue;
		old = svc_rule(t, op->old_rule);
		retire_push(&b, SVC_RETIRE_RULE, op->old_rule,
				svc_rule_units(old->prefix_len), NULL);
		if (old->tset != NULL && svc_tset_put(&t->tsets, svc_tset_of(old->tset)))
			retire_push(&b, SVC_RETIRE_TSET, 0, 1, svc_tset_of(old->tset));
		/* the rule's reference now belongs to the rule */
		op->tset = NULL;
	}
	retire_batch(t, &b);
	svc_build_fini(&b);
	svctable_txn_abort(txn);
	return 0;

rollback:
	svc_build_rollback(&b);
	svc_build_fini(&b);
undo_rib:
	t->rib.hints_ok = false;
	while (n_applied-- > 0) {
		struct svc_op *op = op_at(txn, n_applied);

		if (op->node != NULL)
			svc_rib_set_rule(op->node, op->old_rule);
		op->node = NULL;
		op->old_rule = 0;
	}
	svc_rib_prune(&t->rib);
free_rules:
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		/* never published: free at once */
		if (op->new_rule != 0)
			svc_arena_free(&t->rule_arena, op->new_rule,
					svc_rule_units(op->len));
		op->new_rule = 0;
	}
put_tsets:
	for (i = 0; i < txn->ops.n; i++) {
		struct svc_op *op = op_at(txn, i);

		/* a set that drops to zero here was made by this commit */
		if (op->tset != NULL && svc_tset_put(&t->tsets, op->tset))
			svc_tset_free(op->tset);
		op->tset = NULL;
	}
truncate:
	txn->ops.n = n_staged; /* drop the deletes a clear added */
	return ret;
}

int
svctable_insert(struct svctable *t, const struct svctable_key *prefix,
		unsigned int len, const struct svctable_rule_conf *rc)
{
	struct svctable_txn *txn = svctable_txn_begin(t);
	int ret;

	if (txn == NULL)
		return -rte_errno;
	ret = svctable_txn_add(txn, prefix, len, rc);
	if (ret == 0)
		ret = svctable_txn_commit(txn);
	if (ret != 0)
		svctable_txn_abort(txn);
	return ret;
}

int
svctable_delete(struct svctable *t, const struct svctable_key *prefix,
		unsigned int len)
{
	struct svctable_txn *txn = svctable_txn_begin(t);
	int ret;

	if (txn == NULL)
		return -rte_errno;
	ret = svctable_txn_del(txn, prefix, len);
	if (ret == 0)
		ret = svctable_txn_commit(txn);
	if (ret != 0)
		svctable_txn_abort(txn);
	return ret;
}

/* ------------------------------------------------------------ reading */

int
svctable_get(const struct svctable *t, const struct svctable_key *prefix,
		unsigned int len, const struct svctable_rule **rule)
{
	const struct svc_rib_node *n;
	int ret;

	if (t == NULL || rule == NULL)
		return -EINVAL;
	ret = check_prefix(prefix, len);
	if (ret != 0)
		return ret;
	n = svc_rib_find(&t->rib, prefix, len);
	if (n == NULL)
		return -ENOENT;
	*rule = svc_rule(t, svc_rib_rule(n));
	return 0;
}

struct walk_ctx {
	const struct svctable *t;
	svctable_walk_fn fn;
	void *arg;
};

static int
walk_one(const struct svc_rib_node *n, void *arg)
{
	struct walk_ctx *w = arg;

	return w->fn(svc_rule(w->t, svc_rib_rule(n)), w->arg);
}

int
svctable_walk(const struct svctable *t, svctable_walk_fn fn, void *arg)
{
	struct walk_ctx w = { .t = t, .fn = fn, .arg = arg };

	if (t == NULL || fn == NULL)
		return -EINVAL;
	return svc_rib_walk(&t->rib, walk_one, &w);
}

uint32_t
svctable_count(const struct svctable *t)
{
	return t != NULL ? t->count : 0;
}

size_t
svctable_memory(const struct svctable *t, struct svctable_memory *m)
{
	struct svctable_memory mm;
	size_t pend_trie = 0, pend_rules = 0;
	uint32_t q, i;

	memset(&mm, 0, sizeof(mm));
	if (t == NULL) {
		if (m != NULL)
			*m = mm;
		return 0;
	}
	for (q = 0; q < t->rq_count; q++) {
		const struct svc_retire_batch *rb = &t->rq[(t->rq_head + q) % t->rq_size];

		for (i = 0; i < rb->n; i++) {
			const struct svc_retire *it = &rb->items[i];

			if (it->kind == SVC_RETIRE_NODES || it->kind == SVC_RETIRE_LEAVES ||
					it->kind == SVC_RETIRE_TERMS)
				pend_trie += svc_item_bytes(t, it);
			else if (it->kind == SVC_RETIRE_RULE)
				pend_rules += svc_item_bytes(t, it);
		}
	}
	mm.trie_bytes = sizeof(struct svc_root) + SVC_PAGES * SVC_PAGE_BYTES +
		t->node_arena.live * t->node_arena.unit +
		t->leaf_arena.live * t->leaf_arena.unit +
		t->term_arena.live * t->term_arena.unit - pend_trie;
	mm.rule_bytes = t->rule_arena.live * t->rule_arena.unit - pend_rules;
	mm.target_bytes = t->tsets.bytes;
	mm.rib_bytes = svc_rib_memory(&t->rib) +
		(t->slot_map != NULL ? sizeof(uint32_t) << t->slot_map_bits : 0) +
		t->rq_size * sizeof(*t->rq) + sizeof(*t);
	mm.pending_bytes = t->pending_bytes;
	mm.free_bytes = t->node_arena.free_units * t->node_arena.unit +
		t->leaf_arena.free_units * t->leaf_arena.unit +
		t->term_arena.free_units * t->term_arena.unit +
		t->rule_arena.free_units * t->rule_arena.unit +
		t->rib.arena.free_units * t->rib.arena.unit;
	mm.reserved_bytes = t->node_arena.unit * t->node_arena.cap +
		t->leaf_arena.unit * t->leaf_arena.cap +
		t->term_arena.unit * t->term_arena.cap +
		t->rule_arena.unit * t->rule_arena.cap +
		t->rib.arena.unit * t->rib.arena.cap;
	if (m != NULL)
		*m = mm;
	return mm.trie_bytes + mm.rule_bytes + mm.target_bytes + mm.rib_bytes +
		mm.pending_bytes;
}
