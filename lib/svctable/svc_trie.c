/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The data-plane trie: built by the control lcore from the rib, read by
 * workers without locks (layout in svctable_priv.h).
 *
 * The trie is a function of the set of prefixes: a node starts at the first
 * event (a prefix's last bit, or a bit where the subtree branches) of its
 * subtree and covers 6 bits. Each rib node that heads a trie node remembers
 * where that node lives (dp_idx) and owns its child and leaf arrays. A commit
 * marks the rib paths it changed DIRTY and rebuilds only trie nodes headed
 * on those paths, copying everything else by value (path copying): the new
 * nodes are written aside and the root entry (or the root pointer) is
 * published last. The arrays the new version no longer uses are retired and
 * freed after a grace period.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_prefetch.h>

#include "svctable_priv.h"

/* ---------------------------------------------------------------- build */

void
svc_build_init(struct svc_build *b, struct svctable *t)
{
	memset(b, 0, sizeof(*b));
	b->t = t;
	svc_vec_init(&b->retire, sizeof(struct svc_retire));
	if (t->n_retire_stash != 0)
		svc_vec_take(&b->retire, &t->retire_stash[--t->n_retire_stash]);
	svc_vec_take(&b->fresh, &t->keep_fresh);
	svc_vec_take(&b->fixup, &t->keep_fixup);
	svc_vec_take(&b->slots, &t->keep_slots);
	b->new_default = t->root->default_rule;
}

void
svc_build_fini(struct svc_build *b)
{
	uint32_t i;

	struct svctable *t = b->t;

	for (i = 0; i < b->slots.n; i++)
		t->slot_map[((struct svc_slot *)svc_vec_at(&b->slots, i))->at] = 0;
	/* a big commit's map goes: the next one starts small again */
	if (t->slot_map_bits > SVC_SLOT_MAP_KEEP_BITS) {
		free(t->slot_map);
		t->slot_map = NULL;
		t->slot_map_bits = 0;
	}
	/* the retire list is usually handed to the reclaim queue by now */
	svc_retire_stash(b->t, &b->retire);
	svc_vec_keep(&b->t->keep_fresh, &b->fresh);
	svc_vec_keep(&b->t->keep_fixup, &b->fixup);
	svc_vec_keep(&b->t->keep_slots, &b->slots);
}

/* an arena ran out: worth a retry only if retired memory is on its way back */
static int
arena_full(const struct svctable *t)
{
	return t->rq_count != 0 ? -EAGAIN : -ENOMEM;
}

static int
push_retire(struct svc_build *b, uint32_t kind, uint32_t idx, uint32_t n)
{
	struct svc_retire *r = svc_vec_push(&b->retire);

	if (r == NULL)
		return -ENOMEM;
	r->kind = kind;
	r->n = n;
	r->ptr = NULL;
	r->idx = idx;
	return 0;
}

static int
push_fixup(struct svc_build *b, struct svc_rib_node *n, uint32_t idx, bool incl)
{
	struct svc_fixup *f = svc_vec_push(&b->fixup);

	if (f == NULL)
		return -ENOMEM;
	f->node = n;
	f->dp_idx = idx;
	f->flags = incl ? SVC_RIB_DP_INCL : 0;
	return 0;
}

/* the arena of an array kind: SVC_RETIRE_NODES, _LEAVES or _TERMS */
static struct svc_arena *
kind_arena(struct svctable *t, uint32_t kind)
{
	return kind == SVC_RETIRE_NODES ? &t->node_arena :
		kind == SVC_RETIRE_TERMS ? &t->term_arena : &t->leaf_arena;
}

static uint32_t
alloc_fresh(struct svc_build *b, uint32_t kind, uint32_t n, int *err)
{
	struct svc_arena *a = kind_arena(b->t, kind);
	struct svc_fresh *f;
	uint32_t idx;

	f = svc_vec_push(&b->fresh);
	if (f == NULL) {
		*err = -ENOMEM;
		return 0;
	}
	idx = svc_arena_alloc(a, n);
	if (idx == 0) {
		b->fresh.n--;
		*err = arena_full(b->t);
		return 0;
	}
	f->kind = kind;
	f->idx = idx;
	f->n = n;
	return idx;
}

static inline const struct svc_node *
node_at(const struct svctable *t, uint32_t idx)
{
	return &t->nodes[idx];
}

/* the arena kind of v's child array */
static inline uint32_t
kids_kind(const struct svc_node *v)
{
	return (v->fp_at & SVC_KIDS_PACKED) ? SVC_RETIRE_TERMS : SVC_RETIRE_NODES;
}

/* the dp_idx tag of v's children */
static inline uint32_t
kids_tag(const struct svc_node *v)
{
	return (v->fp_at & SVC_KIDS_PACKED) ? SVC_DP_TERM : 0;
}

/* a terminal node's value as a record (its fingerprint fits: see rebuild()) */
static inline struct svc_term
term_pack(const struct svc_node *v)
{
	struct svc_term r = {
		.fp = v->fp,
		.fp_len = svc_fp_len(v->fp_at),
		.whole = (v->fp_at & SVC_FP_WHOLE) != 0,
		.from = svc_fp_from(v->fp_at),
		.rule = v->leaf_base,
	};

	return r;
}

static inline struct svc_node
term_node(const struct svc_term *r)
{
	struct svc_node v;

	memset(&v, 0, sizeof(v));
	v.leaf_base = r->rule;
	v.fp_at = (uint16_t)(r->from | r->fp_len << 8 | (r->whole ? SVC_FP_WHOLE : 0));
	v.fp = r->fp;
	return v;
}

/* the value of the trie node a rib node heads (a record if dp_idx is tagged) */
static inline struct svc_node
head_node(const struct svctable *t, uint32_t dp_idx)
{
	if (dp_idx & SVC_DP_TERM)
		return term_node(&t->terms[dp_idx & ~SVC_DP_TERM]);
	return *node_at(t, dp_idx);
}

static inline const void *
head_addr(const struct svctable *t, uint32_t dp_idx)
{
	if (dp_idx & SVC_DP_TERM)
		return &t->terms[dp_idx & ~SVC_DP_TERM];
	return node_at(t, dp_idx);
}

static int
retire_arrays(struct svc_build *b, const struct svc_node *v)
{
	int ret = 0;

	if (v->child_vec != 0)
		ret = push_retire(b, kids_kind(v), v->child_base,
				(uint32_t)__builtin_popcountll(v->child_vec));
	if (ret == 0 && v->leaf_vec != 0)
		ret = push_retire(b, SVC_RETIRE_LEAVES, v->leaf_base,
				(uint32_t)__builtin_popcountll(v->leaf_vec));
	return ret;
}

/* x no longer heads a trie node: its arrays go */
static int
retire_cache(struct svc_build *b, struct svc_rib_node *x)
{
	int ret;

	if (!(x->flags & SVC_RIB_DP_VALID))
		return 0;
	/* a record is a terminal: it owns no arrays */
	ret = x->dp_idx & SVC_DP_TERM ? 0 : retire_arrays(b, node_at(b->t, x->dp_idx));
	if (ret == 0)
		ret = push_fixup(b, x, 0, false);
	return ret;
}

/* every node of a dead subtree is pruned after the commit: none may keep
 * trie arrays */
static int
retire_dead(struct svc_build *b, struct svc_rib_node *x)
{
	unsigned int i;
	int ret;

	if (x == NULL)
		return 0;
	ret = retire_cache(b, x);
	for (i = 0; i < 2 && ret == 0; i++)
		if (svc_rib_kid(x, i) != NULL && (x->flags & SVC_RIB_DIRTY_C(i)))
			ret = retire_dead(b, svc_rib_kid(x, i));
	return ret;
}

/* a child that survives this commit (DEAD ones are pruned right after) */
static inline struct svc_rib_node *
live_child(const struct svc_rib_node *x, unsigned int i)
{
	struct svc_rib_node *c = svc_rib_kid(x, i);

	return c != NULL && !(c->flags & SVC_RIB_DEAD) ? c : NULL;
}

static inline unsigned int
nchildren(const struct svc_rib_node *x)
{
	return (live_child(x, 0) != NULL) + (live_child(x, 1) != NULL);
}

/*
 * Rib nodes whose keys fill() needs: a node holds no key, its rep rule does,
 * so the keys are read in one batch after the walk, their loads overlapped.
 */
struct fill_keys {
	/* nodes whose prefix ends in the chunk: in walk order, ancestors
	 * first (at most 2^7 - 1 nodes have lengths c..c+6) */
	struct svc_rib_node *leaf[2 * SVC_FANOUT];
	unsigned int n_leaf;
	/* heads of the child regions: at most one per slot */
	struct svc_rib_node *top[SVC_FANOUT];
	unsigned int n_top;
};

/*
 * What fill() does with one rib node it meets: y itself, or a child of a
 * node inside the chunk [c, c + 6). Each node is classified in the round
 * after the one that found it, so its prefetch has had a round to land.
 */
static int
fill_one(struct svc_build *b, struct svc_rib_node *x, bool head, bool incl,
		unsigned int c, struct fill_keys *fk, struct svc_rib_node **next,
		unsigned int *nn)
{
	unsigned int end = c + SVC_STRIDE;
	unsigned int i;
	int ret;

	if (!head) {
		if (x->flags & SVC_RIB_DEAD)
			/* a dead subtree may still head trie nodes: they go */
			return retire_dead(b, x);
		if (x->len > end || (x->len == end && svc_rib_rule(x) == 0)) {
			fk->top[fk->n_top++] = x;
			/* a clean head is copied later: its node is wanted */
			if (x->flags & SVC_RIB_DP_VALID)
				rte_prefetch0(head_addr(b->t, x->dp_idx));
			return 0;
		}
		if (x->len < end) {
			ret = retire_cache(b, x);
			if (ret != 0)
				return ret;
		}
	}
	if (incl && svc_rib_rule(x) != 0)
		fk->leaf[fk->n_leaf++] = x;
	if (x->len >= end) {
		/* only a prefix ending exactly at end: its subtree hangs below */
		if (nchildren(x) != 0) {
			fk->top[fk->n_top++] = x;
			return 0;
		}
		ret = retire_cache(b, x);
		for (i = 0; i < 2 && ret == 0; i++)
			ret = retire_dead(b, svc_rib_kid(x, i));
		return ret;
	}
	for (i = 0; i < 2; i++)
		if (svc_rib_kid(x, i) != NULL)
			next[(*nn)++] = svc_rib_kid(x, i);
	return 0;
}

/*
 * Collect the leaves and the child regions of the node covering bits
 * [c, c + 6) headed by y, walking the rib nodes inside the chunk breadth
 * first: the children of a whole level are prefetched together, so the walk
 * waits for memory once per level instead of once per node. leaf[] is set
 * only when a prefix ends in the chunk (*n_leaf != 0), and tops[i] only
 * where bit i of *top_mask is.
 */
static int
fill(struct svc_build *b, struct svc_rib_node *y, bool incl, unsigned int c,
		const struct svc_node *old, uint32_t leaf[SVC_FANOUT], unsigned int *n_leaf,
		struct svc_rib_node *tops[SVC_FANOUT], uint64_t *top_mask)
{
	const struct svc_rib *rib = &b->t->rib;
	unsigned int end = c + SVC_STRIDE;
	struct svc_rib_node *lvl[2][2 * SVC_FANOUT];
	uint8_t old_slot[SVC_FANOUT];
	struct svctable_key kb;
	struct fill_keys fk;
	unsigned int n = 1, cur = 0, i, j, n_old = 0;
	int ret;

	fk.n_leaf = 0;
	fk.n_top = 0;
	lvl[0][0] = y;
	while (n != 0) {
		unsigned int nn = 0;

		for (i = 0; i < n; i++) {
			struct svc_rib_node *x = lvl[cur][i];

			if (svc_rib_kid(x, 0) != NULL)
				rte_prefetch0(svc_rib_kid(x, 0));
			if (svc_rib_kid(x, 1) != NULL)
				rte_prefetch0(svc_rib_kid(x, 1));
		}
		for (i = 0; i < n; i++) {
			struct svc_rib_node *x = lvl[cur][i];

			ret = fill_one(b, x, x == y, x == y ? incl : true, c, &fk,
					lvl[cur ^ 1], &nn);
			if (ret != 0)
				return ret;
		}
		cur ^= 1;
		n = nn;
	}
	/* a clean head still heads a child of y's old node over the same
	 * chunk: its slot is known there, its key (a cache miss) is not needed */
	if (old != NULL && old->pos != c)
		old = NULL;
	if (old != NULL) {
		uint64_t m = old->child_vec;

		/* the slot of each of the old node's children, in order */
		for (n_old = 0; m != 0; m &= m - 1)
			old_slot[n_old++] = (uint8_t)__builtin_ctzll(m);
	}
	*top_mask = 0;
	for (i = 0, j = 0; i < fk.n_top; i++) {
		struct svc_rib_node *z = fk.top[i];
		/* a head of the other kind (node or record) leaves k huge */
		uint32_t k = old != NULL ? (z->dp_idx ^ kids_tag(old)) - old->child_base : 0;

		if (old != NULL && (z->flags & (SVC_RIB_DIRTY | SVC_RIB_DP_VALID)) ==
				SVC_RIB_DP_VALID && k < n_old) {
			unsigned int slot = old_slot[k];

			tops[slot] = z;
			*top_mask |= 1ull << slot;
		} else {
			fk.top[j++] = z;
			rte_prefetch0(svc_rib_rep(rib, z));
		}
	}
	fk.n_top = j;
	for (i = 0; i < fk.n_leaf; i++)
		rte_prefetch0(svc_rib_rep(rib, fk.leaf[i]));
	*n_leaf = fk.n_leaf;
	if (fk.n_leaf != 0)
		memset(leaf, 0, SVC_FANOUT * sizeof(leaf[0]));
	for (j = 0; j < fk.n_leaf; j++) {
		const struct svc_rib_node *x = fk.leaf[j];
		unsigned int l = x->len;
		unsigned int lo = svc_key_bits(svc_rib_key(rib, x, &kb), c, l - c) << (end - l);

		/* ancestors come first: longer prefixes overwrite */
		for (i = lo; i < lo + (1u << (end - l)); i++)
			leaf[i] = svc_rib_rule(x);
	}
	for (j = 0; j < fk.n_top; j++) {
		unsigned int slot = svc_key_bits(svc_rib_key(rib, fk.top[j], &kb), c,
				SVC_STRIDE);

		tops[slot] = fk.top[j];
		*top_mask |= 1ull << slot;
	}
	return 0;
}

static int build_region(struct svc_build *b, struct svc_rib_node *y,
		unsigned int d, bool chain, struct svc_node *out,
		struct svc_rib_node **top, bool *incl_out);

/* a child region built ahead of its parent's rebuild */
struct svc_pre {
	struct svc_rib_node *z;               /* the head it was built for */
	struct svc_node v;
	struct svc_rib_node *top;
	bool incl;
	int ret;
};

/*
 * Does the change under y leave y's chunk as it was, but for the region of
 * one child, headed by the same rib node at the same slot as before? Then
 * that child is the only thing to rebuild here; its head is returned. Only
 * the path of DIRTY nodes is read (in cache since the rib was changed).
 */
static struct svc_rib_node *
one_top(const struct svc_build *b, const struct svc_rib_node *y, bool incl,
		unsigned int c, const struct svc_node *old)
{
	const struct svc_rib_node *x = y;
	unsigned int end = c + SVC_STRIDE, slot;
	struct svctable_key kb;
	uint64_t below;

	if (old->pos != c || old->child_vec == 0 ||
			((y->flags & SVC_RIB_DP_INCL) != 0) != incl)
		return NULL;
	for (;;) {
		uint16_t dc = x->flags & (SVC_RIB_DIRTY_C(0) | SVC_RIB_DIRTY_C(1));
		struct svc_rib_node *z;

		/* a new or changed prefix, or two changes: leaves or slots move */
		if ((x->flags & SVC_RIB_CHANGED) || x->len >= end ||
				(dc != SVC_RIB_DIRTY_C(0) && dc != SVC_RIB_DIRTY_C(1)))
			return NULL;
		z = svc_rib_kid(x, dc == SVC_RIB_DIRTY_C(1));
		if (z == NULL || (z->flags & (SVC_RIB_DEAD | SVC_RIB_CHANGED)))
			return NULL;
		if (z->len < end || (z->len == end && svc_rib_rule(z) != 0)) {
			x = z;
			continue;
		}
		/* z heads a region; it must be the one at its slot already */
		slot = svc_key_bits(svc_rib_key(&b->t->rib, z, &kb), c, SVC_STRIDE);
		below = old->child_vec & ((1ull << slot) - 1);
		if (!(z->flags & SVC_RIB_DP_VALID) || !((old->child_vec >> slot) & 1) ||
				z->dp_idx != ((old->child_base +
				(uint32_t)__builtin_popcountll(below)) | kids_tag(old)))
			return NULL;
		return z;
	}
}

/*
 * Build a fresh trie node headed by y (its subtree changed, or it heads a
 * node for the first time). The arrays of y's previous node are retired,
 * except a leaf array with the same content, which is kept.
 */
/* the fingerprint of a node whose key bits [from, to) are shared below */
static void
set_fp(const struct svc_rib *rib, struct svc_node *v, const struct svc_rib_node *y,
		unsigned int from, unsigned int to)
{
	unsigned int len = to - from > 32 ? 32 : to - from;
	struct svctable_key kb;

	if (len == 0)
		return;
	/* a long skip: the bits right before `to` tell siblings apart best */
	if (to - from > 32)
		from = to - 32;
	v->fp_at = (uint16_t)(from | len << 8);
	v->fp = svc_key_bits32(svc_rib_key(rib, y, &kb), from, len);
}

static int
rebuild(struct svc_build *b, struct svc_rib_node *y, unsigned int d, bool incl,
		bool chain, struct svc_node *out)
{
	struct svc_pre pre = { .z = NULL };
	uint32_t leaf[SVC_FANOUT];
	struct svc_rib_node *tops[SVC_FANOUT];
	struct svc_node vals[SVC_FANOUT];
	struct svc_rib_node *vtop[SVC_FANOUT];
	bool vincl[SVC_FANOUT];
	uint32_t runs[SVC_FANOUT];
	struct svctable *t = b->t;
	struct svc_node old, v;
	uint64_t child_vec = 0, leaf_vec = 0, top_mask, m;
	unsigned int c, i, k = 0, nr = 0, n_leaf;
	bool old_valid = (y->flags & SVC_RIB_DP_VALID) != 0, reuse_leaves;
	int ret;

	if (old_valid) {
		old = head_node(t, y->dp_idx);
		/* compared with the new leaves at the end */
		if (old.leaf_vec != 0)
			rte_prefetch0(&t->leaves[old.leaf_base]);
	}
	memset(&v, 0, sizeof(v));
	if (incl && nchildren(y) == 0) {
		for (i = 0; i < 2; i++) {
			ret = retire_dead(b, svc_rib_kid(y, i));
			if (ret != 0)
				return ret;
		}
		v.leaf_base = svc_rib_rule(y); /* terminal */
		/* a terminal checks the first bits of its prefix past d: no more
		 * than a packed record holds, so it can be one */
		set_fp(&t->rib, &v, y, d, d + (y->len - d > SVC_TERM_FP_MAX ?
				SVC_TERM_FP_MAX : y->len - d));
		if (y->len - d <= SVC_TERM_FP_MAX && d < SVCTABLE_KEY_BITS)
			v.fp_at = (uint16_t)(v.fp_at | d | SVC_FP_WHOLE);
		if (old_valid) {
			ret = retire_arrays(b, &old);
			if (ret != 0)
				return ret;
		}
		*out = v;
		return 1;
	}

	c = incl ? y->len - 1u : y->len;
	if (chain && old_valid && !b->inplace_used)
		pre.z = one_top(b, y, incl, c, &old);
	if (pre.z != NULL) {
		pre.ret = build_region(b, pre.z, c + SVC_STRIDE, true, &pre.v, &pre.top,
				&pre.incl);
		if (pre.ret < 0)
			return pre.ret;
		/* the change below was stored in place: nothing to do here */
		if (pre.ret > 0 && pre.top == pre.z &&
				pre.incl == ((pre.z->flags & SVC_RIB_DP_INCL) != 0)) {
			struct svc_node was = head_node(t, pre.z->dp_idx);

			if (memcmp(&pre.v, &was, sizeof(was)) == 0) {
				*out = old;
				return 1;
			}
		}
	}
	ret = fill(b, y, incl, c, old_valid ? &old : NULL, leaf, &n_leaf, tops,
			&top_mask);
	if (ret != 0)
		return ret;
	for (m = top_mask; m != 0; m &= m - 1) {
		i = (unsigned int)__builtin_ctzll(m);
		if (tops[i] == pre.z) {
			/* built above: its retires and fixups are queued */
			ret = pre.ret;
			vals[k] = pre.v;
			vtop[k] = pre.top;
			vincl[k] = pre.incl;
			pre.z = NULL;
		} else {
			ret = build_region(b, tops[i], c + SVC_STRIDE, false, &vals[k],
					&vtop[k], &vincl[k]);
		}
		if (ret < 0)
			return ret;
		if (ret > 0) {
			child_vec |= 1ull << i;
			k++;
		}
	}
	for (i = 0; n_leaf != 0 && i < SVC_FANOUT; i++)
		if (leaf[i] != 0)
			break;
	if (n_leaf != 0 && i < SVC_FANOUT) {
		for (i = 0; i < SVC_FANOUT; i++)
			if (i == 0 || leaf[i] != leaf[i - 1]) {
				leaf_vec |= 1ull << i;
				runs[nr++] = leaf[i];
			}
	}
	reuse_leaves = old_valid && leaf_vec != 0 && old.leaf_vec == leaf_vec &&
		memcmp(&t->leaves[old.leaf_base], runs, nr * sizeof(runs[0])) == 0;

	v.child_vec = child_vec;
	v.leaf_vec = leaf_vec;
	v.pos = (uint16_t)c;
	set_fp(&t->rib, &v, y, d, c);
	if (k != 0) {
		bool packed = true;
		uint32_t tag = 0;

		for (i = 0; i < k && packed; i++)
			packed = (vals[i].child_vec | vals[i].leaf_vec) == 0 &&
				svc_fp_len(vals[i].fp_at) <= SVC_TERM_FP_MAX;
		if (packed) {
			struct svc_term *dst;

			v.child_base = alloc_fresh(b, SVC_RETIRE_TERMS, k, &ret);
			if (v.child_base == 0)
				return ret;
			dst = svc_arena_ptr(&t->term_arena, v.child_base);
			for (i = 0; i < k; i++)
				dst[i] = term_pack(&vals[i]);
			v.fp_at |= SVC_KIDS_PACKED;
			tag = SVC_DP_TERM;
		} else {
			v.child_base = alloc_fresh(b, SVC_RETIRE_NODES, k, &ret);
			if (v.child_base == 0)
				return ret;
			memcpy(svc_arena_ptr(&t->node_arena, v.child_base), vals,
					k * sizeof(vals[0]));
		}
		for (i = 0; i < k; i++) {
			ret = push_fixup(b, vtop[i], (v.child_base + i) | tag, vincl[i]);
			if (ret != 0)
				return ret;
		}
	}
	if (reuse_leaves) {
		v.leaf_base = old.leaf_base;
	} else if (nr != 0) {
		v.leaf_base = alloc_fresh(b, SVC_RETIRE_LEAVES, nr, &ret);
		if (v.leaf_base == 0)
			return ret;
		memcpy(svc_arena_ptr(&t->leaf_arena, v.leaf_base), runs,
				nr * sizeof(runs[0]));
	}
	if (pre.z != NULL)
		return -EFAULT; /* one_top() and fill() disagree: cannot happen */
	ret = 0;
	if (old_valid) {
		if (old.child_vec != 0)
			ret = push_retire(b, kids_kind(&old), old.child_base,
					(uint32_t)__builtin_popcountll(old.child_vec));
		if (ret == 0 && old.leaf_vec != 0 && !reuse_leaves)
			ret = push_retire(b, SVC_RETIRE_LEAVES, old.leaf_base,
					(uint32_t)__builtin_popcountll(old.leaf_vec));
		if (ret != 0)
			return ret;
	}
	/* every node above passed one_top() and this one differs only in its
	 * child array: publish by storing child_base in the live node */
	if (chain && old_valid && !b->inplace_used && old.child_vec == v.child_vec &&
			old.leaf_vec == v.leaf_vec && old.leaf_base == v.leaf_base &&
			old.pos == v.pos && old.fp_at == v.fp_at && old.fp == v.fp &&
			old.child_base != v.child_base) {
		b->inplace_used = true;
		b->inplace_node = y->dp_idx;
		b->inplace_base = v.child_base;
		*out = old;
		return 1;
	}
	*out = v;
	return 1;
}

/*
 * The trie node for the region of events at bits >= d whose topmost rib
 * node is y. Returns 1 with the node value in *out and its head in *top
 * (and whether the head's own prefix is included), 0 if the region is
 * empty, or -errno.
 */
static int
build_region(struct svc_build *b, struct svc_rib_node *y, unsigned int d,
		bool chain, struct svc_node *out, struct svc_rib_node **top,
		bool *incl_out)
{
	unsigned int i;
	bool incl;
	int ret;

	/* nodes without an event of their own here pass the region down */
	for (;;) {
		incl = svc_rib_rule(y) != 0 && y->len > d;
		if (incl || nchildren(y) == 2)
			break;
		ret = retire_cache(b, y);
		if (ret != 0)
			return ret;
		for (i = 0; i < 2; i++)
			if (svc_rib_kid(y, i) != NULL && live_child(y, i) == NULL) {
				ret = retire_dead(b, svc_rib_kid(y, i));
				if (ret != 0)
					return ret;
			}
		if (nchildren(y) == 0)
			return 0;
		y = live_child(y, 0) != NULL ? live_child(y, 0) : live_child(y, 1);
		chain = false; /* the head moved: the parent rebuilds */
	}
	*top = y;
	*incl_out = incl;
	if ((y->flags & (SVC_RIB_DP_VALID | SVC_RIB_DIRTY)) == SVC_RIB_DP_VALID &&
			((y->flags & SVC_RIB_DP_INCL) != 0) == incl) {
		/* unchanged subtree: the published node is still right */
		*out = head_node(b->t, y->dp_idx);
		return 1;
	}
	return rebuild(b, y, d, incl, chain, out);
}

static inline uint32_t
slot_hash(uint32_t s, unsigned int bits)
{
	/* multiplicative: slots one page apart share their low bits */
	return (s * 2654435761u) >> (32 - bits);
}

/* the entry this commit made for slot s, or NULL */
static struct svc_slot *
slot_find(const struct svc_build *b, uint32_t s)
{
	const struct svctable *t = b->t;
	uint32_t mask, i, p;

	if (t->slot_map == NULL)
		return NULL;
	mask = (1u << t->slot_map_bits) - 1;
	for (i = slot_hash(s, t->slot_map_bits); (p = t->slot_map[i]) != 0; i = (i + 1) & mask) {
		struct svc_slot *e = svc_vec_at(&b->slots, p - 1);

		if (e->slot == s)
			return e;
	}
	return NULL;
}

/* double the slot map (at most half full) and place every entry again */
static int
slot_map_grow(struct svc_build *b)
{
	struct svctable *t = b->t;
	unsigned int bits = t->slot_map_bits != 0 ? t->slot_map_bits + 1 : 6;
	uint32_t *map = calloc((size_t)1 << bits, sizeof(*map));
	uint32_t mask = (1u << bits) - 1, i, j;

	if (map == NULL)
		return -ENOMEM;
	for (j = 0; j < b->slots.n; j++) {
		struct svc_slot *e = svc_vec_at(&b->slots, j);

		for (i = slot_hash(e->slot, bits); map[i] != 0; i = (i + 1) & mask)
			;
		map[i] = j + 1;
		e->at = i;
	}
	free(t->slot_map);
	t->slot_map = map;
	t->slot_map_bits = bits;
	return 0;
}

/* slot s's entry in this commit, made from the live one on first touch;
 * the pointer holds until the next touch() */
static struct svc_slot *
touch(struct svc_build *b, uint32_t s)
{
	struct svctable *t = b->t;
	struct svc_slot *e = slot_find(b, s);
	uint32_t mask, i;

	if (e != NULL)
		return e;
	if ((b->slots.n + 1) * 2 > (1u << t->slot_map_bits) && slot_map_grow(b) != 0)
		return NULL;
	e = svc_vec_push(&b->slots);
	if (e == NULL)
		return NULL;
	mask = (1u << t->slot_map_bits) - 1;
	for (i = slot_hash(s, t->slot_map_bits); t->slot_map[i] != 0; i = (i + 1) & mask)
		;
	t->slot_map[i] = b->slots.n;
	e->entry = *svc_root_slot(t->root, s);
	e->slot = s;
	e->flags = 0;
	e->at = i;
	return e;
}

static int
leaves_fill(struct svc_build *b, const struct svc_rib_node *x, uint32_t inh)
{
	unsigned int i;
	int ret;

	if (x == NULL || x->len > SVC_ROOT_BITS)
		return 0;
	if (svc_rib_rule(x) != 0) {
		struct svctable_key kb;
		uint32_t lo = svc_key_bits(svc_rib_key(&b->t->rib, x, &kb), 0, x->len) <<
			(SVC_ROOT_BITS - x->len);
		uint32_t n = 1u << (SVC_ROOT_BITS - x->len), s;

		inh = svc_rib_rule(x);
		for (s = lo; s < lo + n; s++) {
			struct svc_slot *e = touch(b, s);

			if (e == NULL)
				return -ENOMEM;
			e->entry = svc_entry_with_leaf(e->entry, inh);
		}
	}
	for (i = 0; i < 2; i++) {
		ret = leaves_fill(b, svc_rib_kid(x, i), inh);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int
svc_build_leaves(struct svc_build *b, const struct svctable_key *key,
		unsigned int len)
{
	const struct svc_rib_node *x = b->t->rib.root;
	uint32_t inh = 0, lo, n, s;
	struct svctable_key kb;
	struct svc_slot *e;

	if (len == 0) {
		const struct svc_rib_node *r = b->t->rib.root;

		b->new_default = svc_rib_rule(r);
		b->default_changed = svc_rib_rule(r) != b->t->root->default_rule;
		return 0;
	}
	if (len > SVC_ROOT_BITS)
		return 0;
	/* the best shorter prefix (1..len-1 bits) on the way down */
	while (x != NULL && x->len < len) {
		unsigned int lim;

		if (svc_rib_rule(x) != 0 && x->len >= 1)
			inh = svc_rib_rule(x);
		x = svc_rib_kid(x, svc_key_bit(key, x->len));
		if (x == NULL)
			break;
		lim = x->len < len ? x->len : len;
		if (svc_key_diff(key, svc_rib_key(&b->t->rib, x, &kb), lim) < lim)
			x = NULL;
	}
	lo = svc_key_bits(key, 0, len) << (SVC_ROOT_BITS - len);
	n = 1u << (SVC_ROOT_BITS - len);
	/* ranges nest: a shorter prefix done before covered this one */
	e = slot_find(b, lo);
	if (e != NULL && (e->flags & SVC_SLOT_LEAVES))
		return 0;
	for (s = lo; s < lo + n; s++) {
		e = touch(b, s);
		if (e == NULL)
			return -ENOMEM;
		e->entry = svc_entry_with_leaf(e->entry, inh);
		e->flags |= SVC_SLOT_LEAVES;
	}
	return leaves_fill(b, x, inh);
}

int
svc_build_slot(struct svc_build *b, uint32_t s)
{
	struct svctable *t = b->t;
	struct svc_rib_node *x = t->rib.root, *y = NULL, *top = NULL, *h;
	uint32_t old_child, new_child = 0;
	unsigned int fp_len = 0, fp = 0;
	struct svctable_key kb;
	struct svc_node v;
	struct svc_slot *sl;
	uint64_t *e;
	bool incl = false;
	int ret = 0;

	sl = touch(b, s);
	if (sl == NULL)
		return -ENOMEM;
	e = &sl->entry; /* no other slot is touched below */
	/* the region's old node, wanted after the descent below */
	if (svc_entry_child(*e) != 0)
		rte_prefetch0(node_at(t, svc_entry_child(*e)));
	/* the region top: first rib node on the slot's path reaching bit 18
	 * (a blind descent: one key comparison settles the whole path), from
	 * the slot's hint when there is one */
	h = svc_rib_hint(&t->rib, s);
	if (h != NULL)
		x = h;
	while (x != NULL && x->len < SVC_ROOT_BITS) {
		if (x->len < SVC_HINT_BITS)
			h = x;
		x = svc_rib_kid(x, (s >> (SVC_ROOT_BITS - 1 - x->len)) & 1);
	}
	if (x != NULL && svc_key_bits(svc_rib_key(&t->rib, x, &kb), 0, SVC_ROOT_BITS) == s) {
		y = x;
		/* the path to y is the slot's: its last node above bit 16 is the
		 * hint (if the commit is undone, the prune that removes a node
		 * it made drops the hints naming it) */
		svc_rib_hint_set(&t->rib, s, h);
	}
	old_child = svc_entry_child(*e);
	if (y != NULL)
		ret = build_region(b, y, SVC_ROOT_BITS, b->inplace_ok, &v, &top, &incl);
	if (ret < 0)
		return ret;
	if (ret > 0) {
		if (old_child != 0 &&
				memcmp(node_at(t, old_child), &v, sizeof(v)) == 0) {
			new_child = old_child;
		} else {
			new_child = alloc_fresh(b, SVC_RETIRE_NODES, 1, &ret);
			if (new_child == 0)
				return ret;
			*(struct svc_node *)svc_arena_ptr(&t->node_arena, new_child) = v;
		}
		ret = push_fixup(b, top, new_child, incl);
		if (ret != 0)
			return ret;
	}
	if (old_child != 0 && new_child != old_child) {
		ret = push_retire(b, SVC_RETIRE_NODES, old_child, 1);
		if (ret != 0)
			return ret;
	}
	if (new_child != 0) {
		/* every prefix under top shares its bits [18, top->len): a
		 * branching head's own bit is where they part */
		fp_len = top->len - SVC_ROOT_BITS < SVC_ENTRY_FP_MAX ?
			top->len - SVC_ROOT_BITS : SVC_ENTRY_FP_MAX;
		if (fp_len != 0)
			fp = svc_key_bits(svc_rib_key(&t->rib, top, &kb), SVC_ROOT_BITS,
					fp_len);
	}
	*e = svc_entry_make(new_child, svc_entry_leaf(*e), fp_len, fp);
	return 0;
}

/* free what svc_build_prepare() allocated for a copied root */
static void
free_new_root(struct svc_build *b)
{
	uint64_t m;

	if (b->new_root == NULL)
		return;
	for (m = b->new_pages; m != 0; m &= m - 1)
		free(b->new_root->page[__builtin_ctzll(m)]);
	free(b->new_root);
	b->new_root = NULL;
	b->new_pages = 0;
}

int
svc_build_prepare(struct svc_build *b)
{
	struct svctable *t = b->t;
	uint32_t i;

	b->n_changes = b->default_changed + b->inplace_used;
	for (i = 0; i < b->slots.n; i++) {
		const struct svc_slot *e = svc_vec_at(&b->slots, i);

		b->n_changes += e->entry != *svc_root_slot(t->root, e->slot);
	}
	/* an in-place store leaves every node above, and the root, as is */
	if (b->inplace_used && b->n_changes != 1)
		return -EFAULT;
	/* one changed word can be stored in place; more need a new root so a
	 * burst never sees half of a commit */
	b->copy_root = b->n_changes > 1;
	if (b->copy_root) {
		b->new_root = aligned_alloc(64, sizeof(struct svc_root));
		if (b->new_root == NULL)
			return -ENOMEM;
		memcpy(b->new_root, t->root, sizeof(struct svc_root));
		b->new_pages = 0;
		for (i = 0; i < b->slots.n; i++) {
			const struct svc_slot *e = svc_vec_at(&b->slots, i);
			uint32_t pg = e->slot >> SVC_PAGE_BITS;
			uint64_t *copy;

			if (e->entry == *svc_root_slot(t->root, e->slot) ||
					(b->new_pages >> pg) & 1)
				continue;
			copy = aligned_alloc(64, SVC_PAGE_BYTES);
			if (copy == NULL) {
				free_new_root(b);
				return -ENOMEM;
			}
			memcpy(copy, t->root->page[pg], SVC_PAGE_BYTES);
			b->new_root->page[pg] = copy;
			b->new_pages |= 1ull << pg;
		}
	}
	/* publish must not fail: room for the old root's and pages' retires */
	return svc_vec_reserve(&b->retire, b->retire.n + 1 +
			(uint32_t)__builtin_popcountll(b->new_pages));
}

void
svc_build_publish(struct svc_build *b)
{
	struct svctable *t = b->t;
	struct svc_root *root = t->root;
	uint64_t m;
	uint32_t i;

	if (b->inplace_used) {
		struct svc_node *nd = svc_arena_ptr(&t->node_arena, b->inplace_node);

		/* release: the new child array is written before a worker can
		 * load its index (paired with the acquire in step()) */
		__atomic_store_n(&nd->child_base, b->inplace_base, __ATOMIC_RELEASE);
		t->n_inplace++;
		return;
	}
	if (!b->copy_root) {
		for (i = 0; i < b->slots.n; i++) {
			const struct svc_slot *sl = svc_vec_at(&b->slots, i);
			uint64_t *e = svc_root_slot(root, sl->slot);

			if (sl->entry != *e)
				/* release: the nodes below are written before
				 * any worker can load this entry */
				__atomic_store_n(e, sl->entry, __ATOMIC_RELEASE);
		}
		if (b->default_changed)
			/* release: the rule object is complete before it is seen */
			__atomic_store_n(&root->default_rule, b->new_default,
					__ATOMIC_RELEASE);
		return;
	}
	/* every changed entry lies in a page copied by svc_build_prepare();
	 * an unchanged one may lie in a page still shared with the live root,
	 * which workers read: it is not written at all */
	for (i = 0; i < b->slots.n; i++) {
		const struct svc_slot *sl = svc_vec_at(&b->slots, i);

		if (sl->entry != *svc_root_slot(root, sl->slot))
			*svc_root_slot(b->new_root, sl->slot) = sl->entry;
	}
	b->new_root->default_rule = b->new_default;
	/* release: the whole new root and everything below it are written
	 * before a worker can load the pointer */
	__atomic_store_n(&t->root, b->new_root, __ATOMIC_RELEASE);
	for (m = b->new_pages; m != 0; m &= m - 1) {
		struct svc_retire *r = svc_vec_push(&b->retire); /* reserved */

		r->kind = SVC_RETIRE_PAGE;
		r->n = 0;
		r->ptr = root->page[__builtin_ctzll(m)];
	}
	b->new_root = NULL;
	b->new_pages = 0;
	{
		struct svc_retire *r = svc_vec_push(&b->retire); /* reserved */

		r->kind = SVC_RETIRE_ROOT;
		r->n = 0;
		r->ptr = root;
	}
}

void
svc_build_apply_fixups(struct svc_build *b)
{
	uint32_t i;

	for (i = 0; i < b->fixup.n; i++) {
		struct svc_fixup *f = svc_vec_at(&b->fixup, i);
		struct svc_rib_node *n = f->node;

		n->flags &= (uint16_t)~(SVC_RIB_DP_VALID | SVC_RIB_DP_INCL);
		if (f->dp_idx != 0) {
			n->dp_idx = f->dp_idx;
			n->flags |= SVC_RIB_DP_VALID | f->flags;
		}
	}
}

void
svc_build_rollback(struct svc_build *b)
{
	struct svctable *t = b->t;
	uint32_t i;

	/* never published: no worker can hold these, free at once */
	for (i = 0; i < b->fresh.n; i++) {
		struct svc_fresh *f = svc_vec_at(&b->fresh, i);

		svc_arena_free(kind_arena(t, f->kind), f->idx, f->n);
	}
	free_new_root(b);
	b->inplace_used = false;
	b->fresh.n = 0;
	b->retire.n = 0;
	b->fixup.n = 0;
}

/* ------------------------------------------------------- table memory */

int
svc_trie_init(struct svctable *t)
{
	uint32_t pg;

	t->root = aligned_alloc(64, sizeof(struct svc_root));
	if (t->root == NULL)
		return -ENOMEM;
	memset(t->root, 0, sizeof(*t->root));
	for (pg = 0; pg < SVC_PAGES; pg++) {
		t->root->page[pg] = aligned_alloc(64, SVC_PAGE_BYTES);
		if (t->root->page[pg] == NULL)
			return -ENOMEM; /* svc_trie_fini() frees what was made */
		memset(t->root->page[pg], 0, SVC_PAGE_BYTES);
	}
	return 0;
}

void
svc_trie_fini(struct svctable *t)
{
	uint32_t pg;

	if (t->root != NULL)
		for (pg = 0; pg < SVC_PAGES; pg++)
			free(t->root->page[pg]);
	free(t->root);
	free(t->slot_map);
	t->root = NULL;
	t->slot_map = NULL;
	t->slot_map_bits = 0;
}

void
svc_free_item(struct svctable *t, const struct svc_retire *it)
{
	switch (it->kind) {
	case SVC_RETIRE_NODES:
		svc_arena_free(&t->node_arena, it->idx, it->n);
		break;
	case SVC_RETIRE_LEAVES:
		svc_arena_free(&t->leaf_arena, it->idx, it->n);
		break;
	case SVC_RETIRE_TERMS:
		svc_arena_free(&t->term_arena, it->idx, it->n);
		break;
	case SVC_RETIRE_RULE:
		svc_arena_free(&t->rule_arena, it->idx, it->n);
		break;
	case SVC_RETIRE_TSET:
		svc_tset_free(it->ptr);
		break;
	case SVC_RETIRE_ROOT:
	case SVC_RETIRE_PAGE:
		free(it->ptr);
		break;
	}
}

size_t
svc_item_bytes(const struct svctable *t, const struct svc_retire *it)
{
	switch (it->kind) {
	case SVC_RETIRE_NODES:
		return t->node_arena.unit * it->n;
	case SVC_RETIRE_LEAVES:
		return t->leaf_arena.unit * it->n;
	case SVC_RETIRE_TERMS:
		return t->term_arena.unit * it->n;
	case SVC_RETIRE_RULE:
		return t->rule_arena.unit * it->n;
	case SVC_RETIRE_TSET:
		return ((const struct svc_tset *)it->ptr)->bytes;
	case SVC_RETIRE_ROOT:
		return sizeof(struct svc_root);
	case SVC_RETIRE_PAGE:
		return SVC_PAGE_BYTES;
	}
	return 0;
}

/* --------------------------------------------------------------- lookup */

struct lk_state {
	uint64_t w[5];                 /* key, host-order words; w[4] = 0 */
	uint32_t node;                 /* next node, 0 = descent over */
	uint32_t sure;                 /* root leaf or /0: needs no check */
	uint32_t seen;                 /* key bits [0, seen) were all compared */
	uint32_t ncand;
	uint32_t cand[SVC_MAX_DEPTH + 1];
};

static inline uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

static inline uint32_t
load_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

/* the top n bits of a word, n clamped to 0..64 */
static inline uint64_t
mask_top(int n)
{
	unsigned int c = n < 0 ? 0 : n > 64 ? 64 : (unsigned int)n;

	return (~0ull << ((64 - c) & 63)) & -(uint64_t)(c != 0);
}

/*
 * Does the key lie under the rule's prefix? Only the rule's own bytes are
 * read (its neighbour may be freed, or poisoned under ASan): key bits 0..95
 * at +20..+31 of every rule, bits 96..255 at +32..+51 of a 64-byte one.
 * One branch, on the size class: a short prefix is compared with one
 * 128-bit shift instead of masks. (A /tmp harness, 4096 rules in random
 * order: 10.5 cycles per check with /48../96 rules and 16 with a quarter
 * long ones, against 19.5 for a branchless masked compare of all four
 * words and 21-26 for the loop over 64-byte rules this replaces.)
 */
static inline bool
rule_covers(const struct svctable_rule *r, const uint64_t w[5])
{
	const uint8_t *p = r->prefix;
	const uint8_t *q = p + SVCTABLE_RULE_SHORT_BITS / 8;
	int len = r->prefix_len;
	uint64_t d0 = w[0] ^ load_be64(p);
	uint64_t d1 = w[1] ^ (uint64_t)load_be32(p + 8) << 32;
	uint64_t d;

	if (likely(len <= SVCTABLE_RULE_SHORT_BITS))
		/* the top len bits of d0:d1 (two shifts: each stays below 128;
		 * d1's low half, key bits 96..127, is shifted out) */
		return ((((unsigned __int128)d0 << 64 | d1) >> (127 - len)) >> 1) == 0;
	d = d0 | ((d1 ^ load_be32(q)) & mask_top(len - 64));
	d |= (w[2] ^ load_be64(q + 4)) & mask_top(len - 128);
	d |= (w[3] ^ load_be64(q + 12)) & mask_top(len - 192);
	return d == 0;
}

/* bits [at, at + len) of the key, 1 <= len <= 32 (w[4] reads as zero) */
static inline uint32_t
key_window(const uint64_t w[5], unsigned int at, unsigned int len)
{
	unsigned int i = at >> 6;
	unsigned __int128 x = (unsigned __int128)w[i] << 64 | w[i + 1];

	return (uint32_t)((x << (at & 63)) >> (128 - len));
}

/* a terminal record: the same test as a terminal node's */
static inline void
step_term(const struct svctable *t, struct lk_state *s)
{
	const struct svc_term r = t->terms[s->node & ~SVC_DP_TERM];
	unsigned int from = r.from, len = r.fp_len;

	s->node = 0;
	if (len != 0 && key_window(s->w, from, len) != r.fp)
		return;
	if (from <= s->seen && from + len > s->seen)
		s->seen = from + len;
	if (r.whole && s->seen >= from + len) {
		s->cand[s->ncand++] = r.rule | SVC_CAND_RULE | SVC_CAND_SURE;
	} else {
		s->cand[s->ncand++] = r.rule | SVC_CAND_RULE;
		rte_prefetch0(svc_rule(t, r.rule));
	}
}

static inline void
step(const struct svctable *t, struct lk_state *s)
{
	const struct svc_node *nd;
	uint64_t cv, lv;
	uint16_t fpa;
	unsigned int pos, i, off, chunk, from, len;
	uint32_t sure;

	if (s->node & SVC_DP_TERM) {
		step_term(t, s);
		return;
	}
	nd = &t->nodes[s->node];
	cv = nd->child_vec;
	lv = nd->leaf_vec;
	fpa = nd->fp_at;
	from = svc_fp_from(fpa);
	len = svc_fp_len(fpa);

	/* the key leaves the path in bits every prefix below shares: stop */
	if (len != 0 && key_window(s->w, from, len) != nd->fp) {
		s->node = 0;
		return;
	}
	/* compared bits stay a run from bit 0 unless a skip was blind */
	if (from <= s->seen && from + len > s->seen)
		s->seen = from + len;
	if (unlikely((cv | lv) == 0)) {
		/* terminal: the only prefix below */
		if ((fpa & SVC_FP_WHOLE) && s->seen >= from + len) {
			s->cand[s->ncand++] = nd->leaf_base | SVC_CAND_RULE | SVC_CAND_SURE;
		} else {
			s->cand[s->ncand++] = nd->leaf_base | SVC_CAND_RULE;
			rte_prefetch0(svc_rule(t, nd->leaf_base));
		}
		s->node = 0;
		return;
	}
	pos = nd->pos;
	i = pos >> 6;
	off = pos & 63;
	chunk = (unsigned int)(((unsigned __int128)s->w[i] << 64 | s->w[i + 1]) >>
			(122 - off)) & (SVC_FANOUT - 1);
	/* a leaf's prefix ends inside this chunk: sure if all before it was seen */
	sure = pos <= s->seen ? SVC_CAND_SURE : 0;
	if (sure)
		s->seen = pos + SVC_STRIDE;
	if (lv != 0) {
		uint32_t li = nd->leaf_base +
			(uint32_t)__builtin_popcountll(lv & (~0ull >> (63 - chunk))) - 1;

		s->cand[s->ncand++] = li | sure;
		rte_prefetch0(&t->leaves[li]);
	}
	if ((cv >> chunk) & 1) {
		/* acquire: a commit may store child_base in place, after writing
		 * the array it names */
		uint32_t ci = __atomic_load_n(&nd->child_base, __ATOMIC_ACQUIRE) +
			(uint32_t)__builtin_popcountll(cv & ((1ull << chunk) - 1));

		if (fpa & SVC_KIDS_PACKED) {
			s->node = ci | SVC_DP_TERM;
			rte_prefetch0(&t->terms[ci]);
		} else {
			s->node = ci;
			rte_prefetch0(&t->nodes[ci]);
		}
	} else {
		s->node = 0;
	}
}

/* the rule a candidate names (0: an empty leaf), SVC_CAND_SURE kept */
static inline uint32_t
cand_rule(const struct svctable *t, uint32_t c)
{
	uint32_t r;

	if (c & SVC_CAND_RULE)
		return c & ~SVC_CAND_RULE;
	r = t->leaves[c & ~SVC_CAND_SURE];
	return r != 0 ? r | (c & SVC_CAND_SURE) : 0;
}

static void
lookup_batch(const struct svctable *t, const struct svc_root *root,
		const struct svctable_key *const keys[], uint32_t n,
		const struct svctable_rule *out[], uint32_t *hits)
{
	struct lk_state st[SVCTABLE_LOOKUP_BATCH];
	uint64_t w0[SVCTABLE_LOOKUP_BATCH];
	uint8_t act[SVCTABLE_LOOKUP_BATCH], deep[SVCTABLE_LOOKUP_BATCH];
	/* acquire pairs with the release store of a single-change commit */
	uint32_t dflt = __atomic_load_n(&root->default_rule, __ATOMIC_ACQUIRE);
	uint32_t i, j, na = 0, nd;

	/* only the first word picks the root entry; most keys that match
	 * nothing end there, so the other three are read for the rest only */
	for (i = 0; i < n; i++) {
		w0[i] = load_be64(keys[i]->bytes);
		rte_prefetch0(svc_root_slot(root, (uint32_t)(w0[i] >> (64 - SVC_ROOT_BITS))));
	}
	for (i = 0; i < n; i++) {
		/* acquire: the nodes below an entry were written before it */
		uint64_t e = __atomic_load_n(svc_root_slot(root,
				(uint32_t)(w0[i] >> (64 - SVC_ROOT_BITS))), __ATOMIC_ACQUIRE);
		unsigned int fpl = svc_entry_fp_len(e);
		uint32_t sure = svc_entry_leaf(e) != 0 ? svc_entry_leaf(e) : dflt;
		uint32_t node = svc_entry_child(e);
		struct lk_state *s;
		const uint8_t *k;

		/* key bits [16, 16 + fpl) against what every prefix below shares */
		if (fpl != 0 && ((w0[i] << SVC_ROOT_BITS) >> (64 - fpl)) != svc_entry_fp(e))
			node = 0;
		if (node == 0) {
			out[i] = sure != 0 ? svc_rule(t, sure) : NULL;
			*hits += sure != 0;
			continue;
		}
		rte_prefetch0(&t->nodes[node]);
		s = &st[i];
		k = keys[i]->bytes;
		s->w[0] = w0[i];
		s->w[1] = load_be64(k + 8);
		s->w[2] = load_be64(k + 16);
		s->w[3] = load_be64(k + 24);
		s->w[4] = 0;
		s->sure = sure;
		s->seen = SVC_ROOT_BITS + fpl;
		s->node = node;
		s->ncand = 0;
		act[na++] = (uint8_t)i;
	}
	nd = na;
	memcpy(deep, act, nd);
	/* one level of every key per round: the loads of a round overlap */
	while (na != 0) {
		uint32_t nn = 0;

		for (j = 0; j < na; j++) {
			struct lk_state *s = &st[act[j]];

			step(t, s);
			if (s->node != 0)
				act[nn++] = act[j];
		}
		na = nn;
	}
	/* the deepest non-empty candidate usually decides: find it for every
	 * key and prefetch its rule before checking any, unless it is sure */
	for (j = 0; j < nd; j++) {
		struct lk_state *s = &st[deep[j]];

		s->node = 0;
		while (s->ncand > 0) {
			s->node = cand_rule(t, s->cand[--s->ncand]);
			if (s->node != 0) {
				if (!(s->node & SVC_CAND_SURE))
					rte_prefetch0(svc_rule(t, s->node));
				break;
			}
		}
	}
	for (j = 0; j < nd; j++) {
		struct lk_state *s = &st[deep[j]];
		uint32_t r = s->node;

		/* deepest first: the first candidate that covers the key wins */
		while (r != 0 && !(r & SVC_CAND_SURE) && !rule_covers(svc_rule(t, r), s->w)) {
			r = 0;
			while (s->ncand > 0 && r == 0)
				r = cand_rule(t, s->cand[--s->ncand]);
		}
		r &= ~SVC_CAND_SURE;
		if (r == 0)
			r = s->sure;
		out[deep[j]] = r != 0 ? svc_rule(t, r) : NULL;
		*hits += r != 0;
	}
}

uint32_t
svctable_lookup_bulk(const struct svctable *t,
		const struct svctable_key *const keys[], uint32_t n,
		const struct svctable_rule *rules[])
{
	const struct svc_root *root;
	uint32_t hits = 0, i;

	if (unlikely(t == NULL || keys == NULL || rules == NULL))
		return 0;
	/* acquire: a batch commit's new root is complete before it is seen;
	 * one load per call so a burst sees one version of a batch commit */
	root = __atomic_load_n(&t->root, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i += SVCTABLE_LOOKUP_BATCH) {
		uint32_t m = n - i < SVCTABLE_LOOKUP_BATCH ?
			n - i : SVCTABLE_LOOKUP_BATCH;

		lookup_batch(t, root, keys + i, m, rules + i, &hits);
	}
	return hits;
}

const struct svctable_rule *
svctable_lookup(const struct svctable *t, const struct svctable_key *key)
{
	const struct svctable_rule *r = NULL;

	if (key == NULL)
		return NULL;
	svctable_lookup_bulk(t, &key, 1, &r);
	return r;
}

uint32_t
svctable_pick_bulk(const struct svctable_rule *const rules[],
		const uint64_t hashes[], uint32_t n,
		const struct svctable_target *targets[])
{
	const uint16_t *ent[SVCTABLE_LOOKUP_BATCH];
	uint32_t i, j, m, got = 0;

	if (unlikely(rules == NULL || hashes == NULL || targets == NULL))
		return 0;
	for (i = 0; i < n; i += m) {
		m = n - i < SVCTABLE_LOOKUP_BATCH ? n - i : SVCTABLE_LOOKUP_BATCH;
		/* the lut entries first, prefetched; the counts and lut_bits sit
		 * behind rule->tset, so each is found once, here */
		for (j = 0; j < m; j++) {
			const struct svctable_rule *r = rules[i + j];
			const uint16_t *lut = r != NULL ? svctable_rule_lut(r) : NULL;

			ent[j] = lut != NULL ?
				&lut[(hashes[i + j] >> 1) >> (63 - r->tset->lut_bits)] : NULL;
			if (ent[j] != NULL)
				rte_prefetch0(ent[j]);
		}
		/* as svctable_pick() */
		for (j = 0; j < m; j++) {
			targets[i + j] = ent[j] != NULL ?
				&rules[i + j]->tset->targets[*ent[j]] : NULL;
			got += ent[j] != NULL;
		}
	}
	return got;
}

/* ---------------------------------------------------------------- check */

struct check_ctx {
	const struct svctable *t;
	uint8_t *nmap;                 /* node units seen */
	uint8_t *lmap;                 /* leaf units seen */
	uint8_t *tmap;                 /* term units seen */
	uint64_t nodes;                /* reachable node units */
	uint64_t leaves;
	uint64_t terms;
	uint64_t heads;                /* reachable nodes (each needs a rib head) */
	uint8_t *live;                 /* rules some rib node holds */
	char *msg;
	size_t msglen;
	int err;
};

static void
check_fail(struct check_ctx *c, const char *what, uint64_t a, uint64_t b)
{
	if (c->err == 0)
		snprintf(c->msg, c->msglen, "%s (%llu, %llu)", what,
				(unsigned long long)a, (unsigned long long)b);
	c->err = -EFAULT;
}

static void
mark(struct check_ctx *c, uint8_t *map, uint32_t cap, uint32_t idx, uint32_t n,
		const char *what)
{
	uint32_t i;

	if (idx == 0 || (uint64_t)idx + n > cap) {
		check_fail(c, what, idx, n);
		return;
	}
	for (i = idx; i < idx + n; i++) {
		if (map[i >> 3] & (1u << (i & 7)))
			check_fail(c, what, i, n);
		map[i >> 3] |= (uint8_t)(1u << (i & 7));
	}
}

static void
check_node(struct check_ctx *c, const struct svc_node *v, unsigned int depth)
{
	const struct svctable *t = c->t;
	uint32_t nc = (uint32_t)__builtin_popcountll(v->child_vec);
	uint32_t nl = (uint32_t)__builtin_popcountll(v->leaf_vec);
	uint32_t i;

	c->heads++;
	if (depth > SVC_MAX_DEPTH) {
		check_fail(c, "trie too deep", depth, 0);
		return;
	}
	if ((v->child_vec | v->leaf_vec) == 0) {
		if (v->leaf_base == 0 || v->leaf_base >= t->rule_arena.top)
			check_fail(c, "terminal without rule", v->leaf_base, 0);
		else if ((v->fp_at & SVC_FP_WHOLE) && svc_fp_from(v->fp_at) +
				svc_fp_len(v->fp_at) != svc_rule(t, v->leaf_base)->prefix_len)
			check_fail(c, "whole fingerprint short of its prefix", v->leaf_base,
					v->fp_at);
		return;
	}
	if (v->leaf_vec != 0 && !(v->leaf_vec & 1))
		check_fail(c, "leaf runs do not start at slot 0", v->leaf_vec, 0);
	if (nl != 0) {
		mark(c, c->lmap, t->leaf_arena.cap, v->leaf_base, nl, "leaf array");
		c->leaves += nl;
	}
	if (nc != 0 && (v->fp_at & SVC_KIDS_PACKED)) {
		mark(c, c->tmap, t->term_arena.cap, v->child_base, nc, "term array");
		c->terms += nc;
		for (i = 0; i < nc && c->err == 0; i++) {
			struct svc_node tv = term_node(&t->terms[v->child_base + i]);

			check_node(c, &tv, depth + 1);
			if ((tv.child_vec | tv.leaf_vec) != 0 || svc_fp_from(tv.fp_at) +
					svc_fp_len(tv.fp_at) > SVCTABLE_KEY_BITS)
				check_fail(c, "bad term record", v->child_base + i, tv.fp_at);
		}
	} else if (nc != 0) {
		mark(c, c->nmap, t->node_arena.cap, v->child_base, nc, "child array");
		c->nodes += nc;
		for (i = 0; i < nc && c->err == 0; i++)
			check_node(c, &t->nodes[v->child_base + i], depth + 1);
	}
}

/* name the first reachable node that no rib node heads */
static bool
find_orphan(struct check_ctx *c, const uint8_t *hmap, uint32_t idx)
{
	const struct svc_node *v = &c->t->nodes[idx];
	uint32_t i, nc = (uint32_t)__builtin_popcountll(v->child_vec);

	if (!(hmap[idx >> 3] & (1u << (idx & 7)))) {
		snprintf(c->msg, c->msglen, "node %u (pos %u, child_vec %#llx, "
				"leaf_vec %#llx, leaf_base %u) has no rib head", idx,
				v->pos, (unsigned long long)v->child_vec,
				(unsigned long long)v->leaf_vec, v->leaf_base);
		return true;
	}
	/* records are not followed: hmap covers the node arena only */
	for (i = 0; i < nc && !(v->fp_at & SVC_KIDS_PACKED); i++)
		if (find_orphan(c, hmap, v->child_base + i))
			return true;
	return false;
}

static void
mark_heads(const struct svc_rib_node *x, uint8_t *hmap)
{
	if (x == NULL)
		return;
	if ((x->flags & SVC_RIB_DP_VALID) && !(x->dp_idx & SVC_DP_TERM))
		hmap[x->dp_idx >> 3] |= (uint8_t)(1u << (x->dp_idx & 7));
	mark_heads(svc_rib_kid(x, 0), hmap);
	mark_heads(svc_rib_kid(x, 1), hmap);
}

/* the rules rib nodes hold, and the rib nodes shorter than 16 bits */
static void
mark_live(const struct svc_rib *r, const struct svc_rib_node *x, uint8_t *live,
		uint8_t *short_nodes)
{
	uint32_t idx;

	if (x == NULL)
		return;
	if (x->has_rule)
		live[x->rep >> 3] |= (uint8_t)(1u << (x->rep & 7));
	if (x->len < SVC_HINT_BITS) {
		idx = svc_rib_idx(r, x);
		short_nodes[idx >> 3] |= (uint8_t)(1u << (idx & 7));
	}
	mark_live(r, svc_rib_kid(x, 0), live, short_nodes);
	mark_live(r, svc_rib_kid(x, 1), live, short_nodes);
}

/* a hint names a node of the rib shorter than 16 bits on its slots' path */
static void
check_hints(struct check_ctx *c, const uint8_t *short_nodes)
{
	const struct svc_rib *r = &c->t->rib;
	struct svctable_key kb;
	uint32_t s;

	for (s = 0; s < SVC_ROOT_SLOTS && c->err == 0; s++) {
		const struct svc_rib_node *h = svc_rib_hint(r, s);
		uint32_t idx;

		if (h == NULL)
			continue;
		idx = svc_rib_idx(r, h);
		if (!(short_nodes[idx >> 3] & (1u << (idx & 7))))
			check_fail(c, "hint names no rib node above bit 16", s, idx);
		else if (h->len != 0 && svc_key_bits(svc_rib_key(r, h, &kb), 0, h->len) !=
				s >> (SVC_ROOT_BITS - h->len))
			check_fail(c, "hint off its slot's path", s, h->len);
	}
}

static int
check_rib(const struct svc_rib_node *x, void *arg)
{
	(void)x;
	(*(uint64_t *)arg)++;
	return 0;
}

static void
check_heads(struct check_ctx *c, const struct svc_rib_node *x, uint64_t *heads)
{
	struct svctable_key kx, kc;
	unsigned int i;

	if (x == NULL)
		return;
	if (x->flags & SVC_RIB_WALK_FLAGS)
		check_fail(c, "commit flags left on rib node", x->len, x->flags);
	if (x != c->t->rib.root && svc_rib_rule(x) == 0 && nchildren(x) != 2)
		check_fail(c, "rib node without purpose", x->len, nchildren(x));
	/* rep names a live rule at least as long: with the children's keys
	 * agreeing with it (below), that rule lies in the subtree */
	if (x != c->t->rib.root && !x->has_rule &&
			(!(c->live[x->rep >> 3] & (1u << (x->rep & 7))) ||
			svc_rule(c->t, x->rep)->prefix_len <= x->len))
		check_fail(c, "rib node keyed by no live rule below it", x->len, x->rep);
	for (i = 0; i < 2; i++)
		if (svc_rib_kid(x, i) != NULL && (svc_rib_kid(x, i)->len <= x->len ||
				svc_key_bit(svc_rib_key(&c->t->rib, svc_rib_kid(x, i), &kc),
					x->len) != i ||
				svc_key_diff(&kc, svc_rib_key(&c->t->rib, x, &kx), x->len) <
					x->len))
			check_fail(c, "rib child misplaced", x->len, i);
	if (x->flags & SVC_RIB_DP_VALID) {
		bool term = (x->dp_idx & SVC_DP_TERM) != 0;
		uint32_t idx = x->dp_idx & ~SVC_DP_TERM;
		const uint8_t *map = term ? c->tmap : c->nmap;

		(*heads)++;
		if (idx == 0 || idx >= (term ? c->t->term_arena.cap : c->t->node_arena.cap) ||
				!(map[idx >> 3] & (1u << (idx & 7))))
			check_fail(c, "rib head points at no live node", x->len, x->dp_idx);
		else if (term && svc_rib_rule(x) != c->t->terms[idx].rule)
			check_fail(c, "rib head's record names another rule", x->len, idx);
	}
	check_heads(c, svc_rib_kid(x, 0), heads);
	check_heads(c, svc_rib_kid(x, 1), heads);
}

/* the units of the rules rib nodes hold */
static void
mark_rules(struct check_ctx *c, uint8_t *map, const struct svc_rib_node *x,
		uint64_t *units)
{
	if (x == NULL || c->err != 0)
		return;
	if (x->has_rule) {
		const struct svctable_rule *r = svc_rule(c->t, x->rep);
		uint32_t n = svc_rule_units(r->prefix_len);

		if (r->prefix_len != x->len)
			check_fail(c, "rule length differs from its rib node", x->rep,
					r->prefix_len);
		else if (n == 2 && (x->rep & 1))
			check_fail(c, "two-unit rule straddles a line", x->rep, 0);
		mark(c, map, c->t->rule_arena.cap, x->rep, n, "rule units");
		*units += n;
	}
	mark_rules(c, map, svc_rib_kid(x, 0), units);
	mark_rules(c, map, svc_rib_kid(x, 1), units);
}

/* every rule arena unit is a rule's, waiting for a grace period, or free,
 * exactly once, in runs of the rule's size */
static void
check_rule_units(struct check_ctx *c)
{
	const struct svctable *t = c->t;
	const struct svc_arena *a = &t->rule_arena;
	uint8_t *map = calloc(a->cap / 8 + 1, 1);
	uint64_t live = 0, pend = 0, nfree = 0;
	uint32_t q, i, len;

	if (map == NULL) {
		check_fail(c, "out of memory", 0, 0);
		return;
	}
	mark_rules(c, map, t->rib.root, &live);
	for (q = 0; q < t->rq_count && c->err == 0; q++) {
		const struct svc_retire_batch *rb = &t->rq[(t->rq_head + q) % t->rq_size];

		for (i = 0; i < rb->n; i++) {
			const struct svc_retire *it = &rb->items[i];

			if (it->kind != SVC_RETIRE_RULE)
				continue;
			/* retired, not freed: its length is still there */
			if (it->n != svc_rule_units(svc_rule(t, it->idx)->prefix_len))
				check_fail(c, "pending rule of the wrong size", it->idx, it->n);
			mark(c, map, a->cap, it->idx, it->n, "pending rule");
			pend += it->n;
		}
	}
	for (len = 1; len <= SVC_ARENA_MAX_RUN && c->err == 0; len++) {
		uint32_t idx = a->free_head[len];

		if (idx != 0 && len > 2)
			check_fail(c, "rule arena run longer than a rule", idx, len);
		while (idx != 0 && c->err == 0) {
			if (len == 2 && (idx & 1))
				check_fail(c, "free two-unit run at an odd unit", idx, 0);
			mark(c, map, a->cap, idx, len, "free rule run");
			nfree += len;
			idx = *(const uint32_t *)(const void *)((const uint8_t *)
				svc_arena_ptr(a, idx) + a->unit * len - sizeof(uint32_t));
		}
	}
	free(map);
	if (c->err == 0 && live + pend != a->live)
		check_fail(c, "rule units leaked", live + pend, a->live);
	if (c->err == 0 && live + pend + nfree != a->top - 1u)
		check_fail(c, "rule units unaccounted", live + pend + nfree, a->top - 1u);
}

int
svc_check(const struct svctable *t, char *msg, size_t msglen)
{
	struct check_ctx c = { .t = t, .msg = msg, .msglen = msglen };
	uint64_t pend[3] = { 0 }, freed[3] = { 0 }, rules = 0, heads = 0;
	const struct svc_arena *arenas[3] = { &t->node_arena, &t->leaf_arena, &t->term_arena };
	const char *const names[3] = { "node", "leaf", "term" };
	uint8_t *maps[3];
	uint64_t reached[3];
	uint32_t i, s, q;
	uint8_t *hmap;

	if (msglen > 0)
		msg[0] = '\0';
	c.nmap = calloc(t->node_arena.cap / 8 + 1, 1);
	c.lmap = calloc(t->leaf_arena.cap / 8 + 1, 1);
	c.tmap = calloc(t->term_arena.cap / 8 + 1, 1);
	if (c.nmap == NULL || c.lmap == NULL || c.tmap == NULL) {
		free(c.nmap);
		free(c.lmap);
		free(c.tmap);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	for (s = 0; s < SVC_ROOT_SLOTS && c.err == 0; s++) {
		uint32_t child = svc_entry_child(*svc_root_slot(t->root, s));

		if (child == 0)
			continue;
		mark(&c, c.nmap, t->node_arena.cap, child, 1, "root child");
		c.nodes++;
		check_node(&c, &t->nodes[child], 1);
	}
	/* heads must point at reachable nodes: check before marking the rest */
	c.live = calloc(t->rule_arena.cap / 8 + 1, 1);
	hmap = calloc(t->rib.arena.cap / 8 + 1, 1);
	if (c.live == NULL || hmap == NULL)
		check_fail(&c, "out of memory", 0, 0);
	else
		mark_live(&t->rib, t->rib.root, c.live, hmap);
	if (c.err == 0)
		check_hints(&c, hmap);
	if (c.err == 0)
		check_heads(&c, t->rib.root, &heads);
	free(c.live);
	free(hmap);
	if (c.err == 0 && heads != c.heads) {
		uint8_t *hmap = calloc(t->node_arena.cap / 8 + 1, 1);

		check_fail(&c, "rib heads vs trie nodes", heads, c.heads);
		if (hmap != NULL) {
			mark_heads(t->rib.root, hmap);
			for (s = 0; s < SVC_ROOT_SLOTS; s++) {
				uint32_t child = svc_entry_child(*svc_root_slot(t->root, s));

				if (child != 0 && find_orphan(&c, hmap, child))
					break;
			}
			free(hmap);
		}
	}
	maps[0] = c.nmap;
	maps[1] = c.lmap;
	maps[2] = c.tmap;
	for (q = 0; q < t->rq_count; q++) {
		const struct svc_retire_batch *rb = &t->rq[(t->rq_head + q) % t->rq_size];

		for (i = 0; i < rb->n; i++) {
			const struct svc_retire *it = &rb->items[i];
			int k = it->kind == SVC_RETIRE_NODES ? 0 :
				it->kind == SVC_RETIRE_LEAVES ? 1 :
				it->kind == SVC_RETIRE_TERMS ? 2 : -1;

			if (k >= 0) {
				mark(&c, maps[k], arenas[k]->cap, it->idx, it->n, "pending units");
				pend[k] += it->n;
			}
		}
	}
	for (i = 0; i < 3; i++) {
		const struct svc_arena *a = arenas[i];
		uint32_t len;

		for (len = 1; len <= SVC_ARENA_MAX_RUN; len++) {
			uint32_t idx = a->free_head[len];

			while (idx != 0 && c.err == 0) {
				mark(&c, maps[i], a->cap, idx, len, "free run");
				freed[i] += len;
				idx = *(const uint32_t *)(const void *)((const uint8_t *)
					svc_arena_ptr(a, idx) + a->unit * len - sizeof(uint32_t));
			}
		}
	}
	reached[0] = c.nodes;
	reached[1] = c.leaves;
	reached[2] = c.terms;
	for (i = 0; i < 3 && c.err == 0; i++) {
		char what[40];

		if (reached[i] + pend[i] != arenas[i]->live) {
			snprintf(what, sizeof(what), "%s units leaked", names[i]);
			check_fail(&c, what, reached[i] + pend[i], arenas[i]->live);
		} else if (reached[i] + pend[i] + freed[i] != arenas[i]->top - 1u) {
			snprintf(what, sizeof(what), "%s units unaccounted", names[i]);
			check_fail(&c, what, reached[i] + pend[i] + freed[i],
					arenas[i]->top - 1u);
		}
	}
	svc_rib_walk(&t->rib, check_rib, &rules);
	if (c.err == 0 && rules != t->count)
		check_fail(&c, "rule count", rules, t->count);
	if (c.err == 0)
		check_rule_units(&c);
	free(c.nmap);
	free(c.lmap);
	free(c.tmap);
	return c.err;
}
