/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The control model: a binary path-compressed (Patricia) tree of every
 * prefix. Control lcore only; workers never see it.
 *
 * Commits change it in two steps so that a failed commit can be undone
 * without allocating: inserts take nodes reserved beforehand, deletes only
 * clear a node's rule, and svc_rib_prune() removes the nodes left without a
 * purpose once the commit has either succeeded or been rolled back.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "svctable_priv.h"

static inline uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

unsigned int
svc_key_diff(const struct svctable_key *a, const struct svctable_key *b,
		unsigned int limit)
{
	unsigned int w;

	for (w = 0; w < 4 && w * 64 < limit; w++) {
		uint64_t x = load_be64(a->bytes + 8 * w) ^ load_be64(b->bytes + 8 * w);

		if (x != 0) {
			unsigned int d = w * 64 + (unsigned int)__builtin_clzll(x);

			return d < limit ? d : limit;
		}
	}
	return limit;
}

bool
svc_key_valid(const struct svctable_key *k, unsigned int len)
{
	unsigned int i;

	if (len > SVCTABLE_KEY_BITS)
		return false;
	for (i = len; i < SVCTABLE_KEY_BITS; i++) {
		if ((i & 7) == 0) {
			/* whole bytes at a time once aligned */
			unsigned int b;

			for (b = i >> 3; b < SVCTABLE_KEY_LEN; b++)
				if (k->bytes[b] != 0)
					return false;
			return true;
		}
		if (svc_key_bit(k, i))
			return false;
	}
	return true;
}

int
svc_rib_init(struct svc_rib *r, const uint8_t *rule_base, uint32_t max_nodes)
{
	uint32_t idx;
	int ret;

	memset(r, 0, sizeof(*r));
	r->rule_base = rule_base;
	ret = svc_arena_init(&r->arena, sizeof(struct svc_rib_node), max_nodes + 1);
	if (ret != 0)
		return ret;
	idx = svc_arena_alloc(&r->arena, 1);
	if (idx == 0) {
		svc_arena_fini(&r->arena);
		return -ENOMEM;
	}
	r->root = svc_arena_ptr(&r->arena, idx);
	memset(r->root, 0, sizeof(*r->root)); /* rep 0: the zero key */
	svc_vec_init(&r->starts, sizeof(struct svc_rib_node *));
	r->hint_min_nodes = SVC_HINT_MIN_NODES;
	return 0;
}

void
svc_rib_fini(struct svc_rib *r)
{
	unsigned int pg;

	for (pg = 0; pg < sizeof(r->hint) / sizeof(r->hint[0]); pg++)
		free(r->hint[pg]);
	svc_vec_fini(&r->starts);
	svc_arena_fini(&r->arena);
	memset(r, 0, sizeof(*r));
}

int
svc_rib_reserve(struct svc_rib *r, uint32_t n)
{
	/* the arena is sized for the worst commit: this only guards that */
	if (r->arena.cap - r->arena.top + r->arena.free_units < n)
		return -ENOSPC;
	/* an insert that starts at a hint records it, and must not fail */
	return svc_vec_reserve(&r->starts, r->starts.n + n);
}

#define HINT_PAGE_SIZE (1u << SVC_HINT_PAGE_BITS)

struct svc_rib_node *
svc_rib_hint(const struct svc_rib *r, uint32_t s)
{
	uint32_t v = s >> (SVC_ROOT_BITS - SVC_HINT_BITS);
	const uint32_t *pg = r->hint[v >> SVC_HINT_PAGE_BITS];
	uint32_t idx = pg != NULL ? pg[v & (HINT_PAGE_SIZE - 1)] : 0;

	return idx != 0 ? svc_arena_ptr(&r->arena, idx) : NULL;
}

void
svc_rib_hint_set(struct svc_rib *r, uint32_t s, const struct svc_rib_node *x)
{
	uint32_t v = s >> (SVC_ROOT_BITS - SVC_HINT_BITS);
	uint32_t **pg = &r->hint[v >> SVC_HINT_PAGE_BITS];

	if (*pg == NULL) {
		if (x == NULL || r->arena.live < r->hint_min_nodes)
			return;
		*pg = calloc(HINT_PAGE_SIZE, sizeof(**pg));
		if (*pg == NULL)
			return;
	}
	(*pg)[v & (HINT_PAGE_SIZE - 1)] = x != NULL ? svc_rib_idx(r, x) : 0;
}

/* a node shorter than 16 bits with this key is removed: the hints under it
 * may name it (a node made on the path leaves a hint on the path: a start
 * above it costs a load or two, nothing else) */
static void
hints_drop(struct svc_rib *r, const struct svctable_key *key, unsigned int len)
{
	uint32_t lo, n, v;

	if (len >= SVC_HINT_BITS)
		return;
	lo = len != 0 ? svc_key_bits(key, 0, len) << (SVC_HINT_BITS - len) : 0;
	n = 1u << (SVC_HINT_BITS - len);
	for (v = lo; v < lo + n; v += HINT_PAGE_SIZE) {
		uint32_t *pg = r->hint[v >> SVC_HINT_PAGE_BITS];

		if (pg != NULL)
			memset(pg + (v & (HINT_PAGE_SIZE - 1)), 0,
					(n < HINT_PAGE_SIZE ? n : HINT_PAGE_SIZE) * sizeof(*pg));
	}
}

static struct svc_rib_node *
node_new(struct svc_rib *r, unsigned int len, uint32_t rep)
{
	/* the caller reserved nodes: a commit never fails here */
	struct svc_rib_node *n = svc_arena_ptr(&r->arena, svc_arena_alloc(&r->arena, 1));

	memset(n, 0, sizeof(*n));
	n->rep = rep;
	n->len = len;
	n->flags = SVC_RIB_DIRTY | SVC_RIB_CHANGED;
	return n;
}

static void
node_del(struct svc_rib *r, struct svc_rib_node *n)
{
	svc_arena_free(&r->arena, svc_rib_idx(r, n), 1);
}

/*
 * Descents are blind: they follow the key's bit at each node's length and
 * compare keys once, at the end. Every node on the way holds a prefix of
 * the last node's key, so that one comparison settles the whole path, and
 * the nodes' keys (their rep rules, elsewhere in memory) are loaded once per
 * descent rather than once per level.
 */
struct svc_rib_node *
svc_rib_find(const struct svc_rib *r, const struct svctable_key *key,
		unsigned int len)
{
	struct svc_rib_node *x = r->root;
	struct svctable_key kb;

	while (x != NULL && x->len < len)
		x = svc_rib_kid(x, svc_key_bit(key, x->len));
	if (x == NULL || x->len != len || svc_rib_rule(x) == 0 ||
			svc_key_diff(key, svc_rib_key(r, x, &kb), len) < len)
		return NULL;
	return x;
}

struct svc_rib_node *
svc_rib_mark(struct svc_rib *r, const struct svctable_key *key,
		unsigned int len)
{
	struct svc_rib_node *n = svc_rib_find(r, key, len), *x = r->root;

	if (n == NULL)
		return NULL;
	/* the path is in cache now */
	for (;;) {
		unsigned int bit;

		/* the rule to delete keys the rule-less nodes of the path, and
		 * it is in cache: the trie build reads these keys (prune moves
		 * them on); a node with a rule is keyed by it */
		if (!x->has_rule)
			x->rep = n->rep;
		x->flags |= SVC_RIB_DIRTY;
		if (x == n) {
			n->flags |= SVC_RIB_CHANGED;
			return n;
		}
		bit = svc_key_bit(key, x->len);
		x->flags |= SVC_RIB_DIRTY_C(bit);
		x = svc_rib_kid(x, bit);
	}
}

/*
 * Insert below `start`, a node on the key's path (the root, or a hint).
 * From a hint (`from_hint`), an existing prefix is left alone and NULL
 * returned: replacing its rule retires the old one, which nodes above the
 * hint may be keyed by, so the caller takes the whole path instead.
 */
static struct svc_rib_node *
insert_below(struct svc_rib *r, struct svc_rib_node *start,
		const struct svctable_key *key, unsigned int len, uint32_t rule,
		bool from_hint)
{
	struct svc_rib_node *x = start, *c;
	const struct svctable_key *k;
	struct svctable_key kb;
	unsigned int d;

	while (x->len < len) {
		c = svc_rib_kid(x, svc_key_bit(key, x->len));
		if (c == NULL)
			break;
		x = c;
	}
	/* the key agrees with every node of the path up to min(d, its len) */
	k = svc_rib_key(r, x, &kb);
	d = svc_key_diff(key, k, x->len < len ? x->len : len);
	x = start;
	for (;;) {
		struct svc_rib_node *n, *b;
		unsigned int bit, lim, dc;

		/* the new rule keys the rule-less nodes of its path, and it is
		 * in cache: the trie build reads these keys (the root's key is
		 * empty); a node with a rule is keyed by it, and a hint keeps
		 * its key (it is not pruned: nothing would move it back if the
		 * commit were undone) */
		if (!x->has_rule && !(from_hint && x == start))
			x->rep = rule;
		x->flags |= SVC_RIB_DIRTY;
		if (x->len == len) {
			/* the marks made so far are on the whole path too */
			if (from_hint && x->has_rule)
				return NULL;
			x->flags |= SVC_RIB_CHANGED;
			return x;
		}
		bit = svc_key_bit(key, x->len);
		x->flags |= SVC_RIB_DIRTY_C(bit);
		c = svc_rib_kid(x, bit);
		if (c == NULL) {
			n = node_new(r, len, rule);
			svc_rib_set_kid(x, bit, n);
			return n;
		}
		lim = c->len < len ? c->len : len;
		dc = d < lim ? d : lim;
		if (dc == lim) {
			if (c->len <= len) {
				x = c;
				continue;
			}
			/* the new prefix sits between x and c (c's key is k's
			 * up to c->len > len) */
			n = node_new(r, len, rule);
			svc_rib_set_kid(n, svc_key_bit(k, len), c);
			/* c may be on a path an earlier op of this commit marked */
			if (c->flags & SVC_RIB_DIRTY)
				n->flags |= SVC_RIB_DIRTY_C(svc_key_bit(k, len));
			svc_rib_set_kid(x, bit, n);
			return n;
		}
		/* key and c part at bit dc: a branching node takes both */
		n = node_new(r, len, rule);
		b = node_new(r, dc, rule);
		b->flags |= SVC_RIB_DIRTY_C(svc_key_bit(key, dc));
		svc_rib_set_kid(b, svc_key_bit(key, dc), n);
		svc_rib_set_kid(b, svc_key_bit(k, dc), c);
		if (c->flags & SVC_RIB_DIRTY)
			b->flags |= SVC_RIB_DIRTY_C(svc_key_bit(k, dc));
		svc_rib_set_kid(x, bit, b);
		return n;
	}
}

struct svc_rib_node *
svc_rib_insert(struct svc_rib *r, const struct svctable_key *key,
		unsigned int len, uint32_t rule)
{
	struct svc_rib_node *h, *n;

	if (r->hints_ok && len > SVC_ROOT_BITS &&
			(h = svc_rib_hint(r, svc_key_bits(key, 0, SVC_ROOT_BITS))) != NULL) {
		n = insert_below(r, h, key, len, rule, true);
		if (n != NULL) {
			/* reserved by svc_rib_reserve() */
			*(struct svc_rib_node **)svc_vec_push(&r->starts) = h;
			r->hint_starts++;
			return n;
		}
	}
	return insert_below(r, r->root, key, len, rule, false);
}

static struct svc_rib_node *
prune(struct svc_rib *r, struct svc_rib_node *x, uint32_t *leaks)
{
	struct svc_rib_node *only;
	struct svctable_key kb;
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (svc_rib_kid(x, i) != NULL && (x->flags & SVC_RIB_DIRTY_C(i)))
			svc_rib_set_kid(x, i, prune(r, svc_rib_kid(x, i), leaks));
	x->flags &= (uint16_t)~SVC_RIB_WALK_FLAGS;
	if (x == r->root || svc_rib_rule(x) != 0 ||
			(svc_rib_kid(x, 0) != NULL && svc_rib_kid(x, 1) != NULL)) {
		/* the old rep of a rule-less node may be a rule this commit
		 * deletes: a child's is live (the root's key is empty) */
		if (!x->has_rule)
			x->rep = x == r->root ? 0 : svc_rib_kid(x, 0)->rep;
		return x;
	}
	only = svc_rib_kid(x, 0) != NULL ? svc_rib_kid(x, 0) : svc_rib_kid(x, 1);
	if (x->flags & SVC_RIB_DP_VALID)
		(*leaks)++;
	/* its rep is still allocated: rules go only after the prune */
	hints_drop(r, svc_rib_key(r, x, &kb), x->len);
	node_del(r, x);
	return only;
}

static bool
mark_dead(struct svc_rib_node *x)
{
	bool live = svc_rib_rule(x) != 0;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (svc_rib_kid(x, i) == NULL)
			continue;
		/* a clean subtree was canonical before the commit: it holds a
		 * rule, no need to load it */
		if (!(x->flags & SVC_RIB_DIRTY_C(i)) || mark_dead(svc_rib_kid(x, i)))
			live = true;
	}
	if (live)
		x->flags &= (uint16_t)~SVC_RIB_DEAD;
	else
		x->flags |= SVC_RIB_DEAD;
	return live;
}

void
svc_rib_mark_dead(struct svc_rib *r)
{
	mark_dead(r->root);
}

uint32_t
svc_rib_prune(struct svc_rib *r)
{
	uint32_t leaks = 0, i;

	/* first the paths that started at hints: no node there is removed
	 * but those the commit made, none of which is a hint; a start on a
	 * whole path too is finished by the prune from the root */
	for (i = 0; i < r->starts.n; i++) {
		struct svc_rib_node *h = *(struct svc_rib_node **)svc_vec_at(&r->starts, i);
		unsigned int c;

		for (c = 0; c < 2; c++)
			if (h->flags & SVC_RIB_DIRTY_C(c))
				svc_rib_set_kid(h, c, prune(r, svc_rib_kid(h, c), &leaks));
		h->flags &= (uint16_t)~SVC_RIB_WALK_FLAGS;
	}
	r->starts.n = 0;
	/* room reserved for a big commit goes back */
	if (r->starts.cap > SVC_VEC_KEEP_MAX)
		svc_vec_fini(&r->starts);
	if (r->root->flags & SVC_RIB_DIRTY)
		prune(r, r->root, &leaks);
	return leaks;
}

static int
walk(const struct svc_rib_node *x, svc_rib_walk_fn fn, void *arg)
{
	int ret;

	if (x == NULL)
		return 0;
	if (svc_rib_rule(x) != 0) {
		ret = fn(x, arg);
		if (ret != 0)
			return ret;
	}
	ret = walk(svc_rib_kid(x, 0), fn, arg);
	if (ret != 0)
		return ret;
	return walk(svc_rib_kid(x, 1), fn, arg);
}

int
svc_rib_walk(const struct svc_rib *r, svc_rib_walk_fn fn, void *arg)
{
	return walk(r->root, fn, arg);
}

size_t
svc_rib_memory(const struct svc_rib *r)
{
	size_t bytes = r->arena.live * r->arena.unit;
	unsigned int pg;

	for (pg = 0; pg < sizeof(r->hint) / sizeof(r->hint[0]); pg++)
		if (r->hint[pg] != NULL)
			bytes += HINT_PAGE_SIZE * sizeof(uint32_t);
	return bytes + (size_t)r->starts.cap * r->starts.esz;
}

void
svctable_key_mask(struct svctable_key *key, unsigned int len)
{
	unsigned int byte;

	if (key == NULL || len >= SVCTABLE_KEY_BITS)
		return;
	byte = len >> 3;
	if (len & 7)
		key->bytes[byte++] &= (uint8_t)(0xff00u >> (len & 7));
	memset(key->bytes + byte, 0, SVCTABLE_KEY_LEN - byte);
}
