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
svc_rib_init(struct svc_rib *r)
{
	memset(r, 0, sizeof(*r));
	if (svc_rib_reserve(r, 1) != 0)
		return -ENOMEM;
	r->root = r->free_list;
	r->free_list = r->root->child[0];
	r->n_free--;
	memset(r->root, 0, sizeof(*r->root));
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
node_new(struct svc_rib *r, const struct svctable_key *key, unsigned int len)
{
	struct svc_rib_node *n = r->free_list;

	/* the caller reserved nodes: a commit never allocates here */
	r->free_list = n->child[0];
	r->n_free--;
	r->n_nodes++;
	memset(n, 0, sizeof(*n));
	n->key = *key;
	svctable_key_mask(&n->key, len);
	n->len = (uint16_t)len;
	n->flags = SVC_RIB_DIRTY;
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

struct svc_rib_node *
svc_rib_find(const struct svc_rib *r, const struct svctable_key *key,
		unsigned int len)
{
	struct svc_rib_node *x = r->root;

	while (x != NULL && x->len < len) {
		x = x->child[svc_key_bit(key, x->len)];
		if (x != NULL && x->len <= len &&
				svc_key_diff(key, &x->key, x->len) < x->len)
			return NULL;
	}
	if (x == NULL || x->len != len || x->rule == 0)
		return NULL;
	return x;
}

struct svc_rib_node *
svc_rib_mark(struct svc_rib *r, const struct svctable_key *key,
		unsigned int len)
{
	struct svc_rib_node *x = r->root;

	/* marks as it goes: a stray mark on a failed search costs only a
	 * visit by svc_rib_prune(), which clears it */
	while (x != NULL) {
		unsigned int bit;

		x->flags |= SVC_RIB_DIRTY;
		if (x->len >= len)
			break;
		bit = svc_key_bit(key, x->len);
		x->flags |= SVC_RIB_DIRTY_C(bit);
		x = x->child[bit];
		if (x != NULL && x->len <= len &&
				svc_key_diff(key, &x->key, x->len) < x->len)
			return NULL;
	}
	if (x == NULL || x->len != len || x->rule == 0)
		return NULL;
	return x;
}

struct svc_rib_node *
svc_rib_insert(struct svc_rib *r, const struct svctable_key *key,
		unsigned int len)
{
	struct svc_rib_node *x = r->root;

	for (;;) {
		struct svc_rib_node *c, *n, *b;
		unsigned int bit, lim, d;

		x->flags |= SVC_RIB_DIRTY;
		if (x->len == len)
			return x;
		bit = svc_key_bit(key, x->len);
		x->flags |= SVC_RIB_DIRTY_C(bit);
		c = x->child[bit];
		if (c == NULL) {
			n = node_new(r, key, len);
			x->child[bit] = n;
			return n;
		}
		lim = c->len < len ? c->len : len;
		d = svc_key_diff(key, &c->key, lim);
		if (d == lim) {
			if (c->len <= len) {
				x = c;
				continue;
			}
			/* the new prefix sits between x and c */
			n = node_new(r, key, len);
			n->child[svc_key_bit(&c->key, len)] = c;
			/* c may be on a path an earlier op of this commit marked */
			if (c->flags & SVC_RIB_DIRTY)
				n->flags |= SVC_RIB_DIRTY_C(svc_key_bit(&c->key, len));
			x->child[bit] = n;
			return n;
		}
		/* key and c part at bit d: a branching node takes both */
		n = node_new(r, key, len);
		b = node_new(r, key, d);
		b->flags |= SVC_RIB_DIRTY_C(svc_key_bit(key, d));
		b->child[svc_key_bit(key, d)] = n;
		b->child[svc_key_bit(&c->key, d)] = c;
		if (c->flags & SVC_RIB_DIRTY)
			b->flags |= SVC_RIB_DIRTY_C(svc_key_bit(&c->key, d));
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
			(x->child[0] != NULL && x->child[1] != NULL))
		return x;
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
