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
#include <sys/mman.h>

#include "svctable_priv.h"

#define RIB_CHUNK_NODES 1024

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
svc_rib_init(struct svc_rib *r, const struct svctable_rule *rules)
{
	memset(r, 0, sizeof(*r));
	r->rules = rules;
	if (svc_rib_reserve(r, 1) != 0)
		return -ENOMEM;
	r->root = r->free_list;
	r->free_list = r->root->child[0];
	r->n_free--;
	memset(r->root, 0, sizeof(*r->root)); /* rep 0: the zero key */
	r->n_nodes = 1;
	return 0;
}

void
svc_rib_fini(struct svc_rib *r)
{
	uint32_t i;

	for (i = 0; i < r->n_chunks; i++)
		free(r->chunks[i]);
	free(r->chunks);
	memset(r, 0, sizeof(*r));
}

/* chunks grow from 1024 nodes to 2 MB, which the walks want on a huge page */
#define RIB_CHUNK_MAX (2u << 20)

static size_t
chunk_bytes(uint32_t k)
{
	size_t b = (size_t)RIB_CHUNK_NODES * sizeof(struct svc_rib_node) << (k < 5 ? k : 5);

	return b < RIB_CHUNK_MAX ? b : RIB_CHUNK_MAX;
}

int
svc_rib_reserve(struct svc_rib *r, uint32_t n)
{
	while (r->n_free < n) {
		size_t bytes = chunk_bytes(r->n_chunks);
		uint32_t i, cnt = (uint32_t)(bytes / sizeof(struct svc_rib_node));
		struct svc_rib_node *c;

		if (r->n_chunks == r->cap_chunks) {
			uint32_t cap = r->cap_chunks ? r->cap_chunks * 2 : 16;
			void **p = realloc(r->chunks, cap * sizeof(*p));

			if (p == NULL)
				return -ENOMEM;
			r->chunks = p;
			r->cap_chunks = cap;
		}
		c = aligned_alloc(bytes == RIB_CHUNK_MAX ? RIB_CHUNK_MAX : 64, bytes);
		if (c == NULL)
			return -ENOMEM;
		if (bytes == RIB_CHUNK_MAX)
			/* a hint: a rib walk then misses the cache, not the TLB too */
			(void)madvise(c, bytes, MADV_HUGEPAGE);
		r->chunks[r->n_chunks++] = c;
		r->bytes += bytes;
		for (i = cnt; i-- > 0;) {
			c[i].child[0] = r->free_list;
			r->free_list = &c[i];
		}
		r->n_free += cnt;
	}
	return 0;
}

static struct svc_rib_node *
node_new(struct svc_rib *r, unsigned int len, uint32_t rep)
{
	struct svc_rib_node *n = r->free_list;

	/* the caller reserved nodes: a commit never allocates here */
	r->free_list = n->child[0];
	r->n_free--;
	r->n_nodes++;
	memset(n, 0, sizeof(*n));
	n->rep = rep;
	n->len = (uint16_t)len;
	n->flags = SVC_RIB_DIRTY | SVC_RIB_CHANGED;
	return n;
}

static void
node_del(struct svc_rib *r, struct svc_rib_node *n)
{
	n->child[0] = r->free_list;
	r->free_list = n;
	r->n_free++;
	r->n_nodes--;
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

	while (x != NULL && x->len < len)
		x = x->child[svc_key_bit(key, x->len)];
	if (x == NULL || x->len != len || x->rule == 0 ||
			svc_key_diff(key, svc_rib_key(r, x), len) < len)
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

		/* the rule to delete keys the whole path, and it is in cache:
		 * the trie build reads these keys (prune moves them on) */
		x->rep = n->rule;
		x->flags |= SVC_RIB_DIRTY;
		if (x == n) {
			n->flags |= SVC_RIB_CHANGED;
			return n;
		}
		bit = svc_key_bit(key, x->len);
		x->flags |= SVC_RIB_DIRTY_C(bit);
		x = x->child[bit];
	}
}

struct svc_rib_node *
svc_rib_insert(struct svc_rib *r, const struct svctable_key *key,
		unsigned int len, uint32_t rule)
{
	struct svc_rib_node *x = r->root, *c;
	const struct svctable_key *k;
	unsigned int d;

	while (x->len < len) {
		c = x->child[svc_key_bit(key, x->len)];
		if (c == NULL)
			break;
		x = c;
	}
	/* the key agrees with every node of the path up to min(d, its len) */
	k = svc_rib_key(r, x);
	d = svc_key_diff(key, k, x->len < len ? x->len : len);
	x = r->root;
	for (;;) {
		struct svc_rib_node *n, *b;
		unsigned int bit, lim, dc;

		/* the new rule keys every node of its path, and it is in cache:
		 * the trie build reads these keys (the root's key is empty) */
		x->rep = rule;
		x->flags |= SVC_RIB_DIRTY;
		if (x->len == len) {
			x->flags |= SVC_RIB_CHANGED;
			return x;
		}
		bit = svc_key_bit(key, x->len);
		x->flags |= SVC_RIB_DIRTY_C(bit);
		c = x->child[bit];
		if (c == NULL) {
			n = node_new(r, len, rule);
			x->child[bit] = n;
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
			n->child[svc_key_bit(k, len)] = c;
			/* c may be on a path an earlier op of this commit marked */
			if (c->flags & SVC_RIB_DIRTY)
				n->flags |= SVC_RIB_DIRTY_C(svc_key_bit(k, len));
			x->child[bit] = n;
			return n;
		}
		/* key and c part at bit dc: a branching node takes both */
		n = node_new(r, len, rule);
		b = node_new(r, dc, rule);
		b->flags |= SVC_RIB_DIRTY_C(svc_key_bit(key, dc));
		b->child[svc_key_bit(key, dc)] = n;
		b->child[svc_key_bit(k, dc)] = c;
		if (c->flags & SVC_RIB_DIRTY)
			b->flags |= SVC_RIB_DIRTY_C(svc_key_bit(k, dc));
		x->child[bit] = b;
		return n;
	}
}

static struct svc_rib_node *
prune(struct svc_rib *r, struct svc_rib_node *x, uint32_t *leaks)
{
	struct svc_rib_node *only;
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (x->child[i] != NULL && (x->flags & SVC_RIB_DIRTY_C(i)))
			x->child[i] = prune(r, x->child[i], leaks);
	x->flags &= (uint16_t)~SVC_RIB_WALK_FLAGS;
	if (x == r->root || x->rule != 0 ||
			(x->child[0] != NULL && x->child[1] != NULL)) {
		/* the old rep may be a rule this commit deletes or replaces */
		x->rep = x == r->root ? 0 : x->rule != 0 ? x->rule : x->child[0] != NULL ?
			x->child[0]->rep : x->child[1] != NULL ? x->child[1]->rep : 0;
		return x;
	}
	only = x->child[0] != NULL ? x->child[0] : x->child[1];
	if (x->flags & SVC_RIB_DP_VALID)
		(*leaks)++;
	node_del(r, x);
	return only;
}

static bool
mark_dead(struct svc_rib_node *x)
{
	bool live = x->rule != 0;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (x->child[i] == NULL)
			continue;
		/* a clean subtree was canonical before the commit: it holds a
		 * rule, no need to load it */
		if (!(x->flags & SVC_RIB_DIRTY_C(i)) || mark_dead(x->child[i]))
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
	uint32_t leaks = 0;

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
	if (x->rule != 0) {
		ret = fn(x, arg);
		if (ret != 0)
			return ret;
	}
	ret = walk(x->child[0], fn, arg);
	if (ret != 0)
		return ret;
	return walk(x->child[1], fn, arg);
}

int
svc_rib_walk(const struct svc_rib *r, svc_rib_walk_fn fn, void *arg)
{
	return walk(r->root, fn, arg);
}

size_t
svc_rib_memory(const struct svc_rib *r)
{
	return r->bytes + (size_t)r->cap_chunks * sizeof(void *);
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
