/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Target sets and their consistent-hash tables (control lcore only).
 *
 * The table (lut) of a set maps the top bits of a flow hash to one active
 * target of the preferred group. Entry j goes to the active target with the
 * smallest -ln(u)/weight, u drawn from hash(target id, j): weighted
 * rendezvous hashing per entry. Maglev's permutation fill balances a little
 * better but moves some flows of *other* targets when one is drained or
 * removed; per-entry rendezvous moves exactly the entries the changed target
 * owned, which is what draining promises. svctable.h documents the formula so
 * test oracles can rebuild a table independently.
 *
 * Sets are interned: rules with identical lists share one allocation (a
 * config with a million services on a few pools holds a few tables).
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svctable_priv.h"

static int
target_cmp(const void *pa, const void *pb)
{
	const struct svctable_target *a = pa, *b = pb;

	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return 0;
}

int
svc_targets_canon(struct svctable_target *v, uint32_t n)
{
	uint32_t i, j;

	if (n == 0)
		return -EINVAL;
	if (n > SVCTABLE_MAX_TARGETS)
		return -E2BIG;
	qsort(v, n, sizeof(*v), target_cmp);
	/* ids key the hashing: a duplicate would make two targets one */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (v[i].id == v[j].id)
				return -EINVAL;
	return 0;
}

static uint64_t
list_hash(const struct svctable_target *v, uint32_t n)
{
	uint64_t h = 0x6a09e667f3bcc909ull ^ n;
	uint32_t i;

	for (i = 0; i < n; i++) {
		uint64_t x = (uint64_t)v[i].ip << 32 | v[i].id;

		h = (h ^ svctable_flow_hash((uint32_t)(x >> 32), (uint32_t)x)) *
			0x9e3779b97f4a7c15ull;
		h ^= (uint64_t)v[i].weight << 16 | v[i].priority;
		h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
	}
	return h ^ (h >> 32);
}

int
svc_tset_table_init(struct svc_tset_table *tt)
{
	memset(tt, 0, sizeof(*tt));
	tt->buckets = calloc(64, sizeof(*tt->buckets));
	if (tt->buckets == NULL)
		return -ENOMEM;
	tt->mask = 63;
	tt->bytes = 64 * sizeof(*tt->buckets);
	return 0;
}

void
svc_tset_table_fini(struct svc_tset_table *tt)
{
	uint32_t i;

	if (tt->buckets == NULL)
		return;
	for (i = 0; i <= tt->mask; i++) {
		struct svc_tset *s = tt->buckets[i];

		while (s != NULL) {
			struct svc_tset *next = s->next;

			svc_tset_free(s);
			s = next;
		}
	}
	free(tt->buckets);
	memset(tt, 0, sizeof(*tt));
}

static void
grow(struct svc_tset_table *tt)
{
	uint32_t nmask = tt->mask * 2 + 1;
	struct svc_tset **nb = calloc((size_t)nmask + 1, sizeof(*nb));
	uint32_t i;

	if (nb == NULL)
		return; /* a longer chain is only slower */
	for (i = 0; i <= tt->mask; i++) {
		struct svc_tset *s = tt->buckets[i];

		while (s != NULL) {
			struct svc_tset *next = s->next;

			s->next = nb[s->hash & nmask];
			nb[s->hash & nmask] = s;
			s = next;
		}
	}
	tt->bytes += ((size_t)nmask - tt->mask) * sizeof(*nb);
	free(tt->buckets);
	tt->buckets = nb;
	tt->mask = nmask;
}

/*
 * One size for every set with two or more active targets: a flow's entry
 * index must not depend on how many targets there are, or adding one
 * target would remap most flows instead of about 1/N of them. A single
 * active target needs no table (every entry would name it, so going from
 * one target to two still moves only the flows the new one wins).
 */
static unsigned int
lut_bits_for(uint32_t n_active)
{
	return n_active <= 1 ? 0 : SVCTABLE_LUT_BITS;
}

static void
lut_fill(struct svc_tset *s, uint16_t *lut, uint32_t first, uint32_t end)
{
	uint32_t size = 1u << s->pub.lut_bits;
	uint32_t j, i;

	for (j = 0; j < size; j++) {
		double best = 0;
		uint32_t owner = UINT32_MAX;

		for (i = first; i < end; i++) {
			const struct svctable_target *tg = &s->pub.targets[i];
			uint64_t h;
			double u, score;

			if (tg->weight == 0)
				continue;
			h = svctable_flow_hash(tg->id, j);
			u = ((double)(h >> 11) + 0.5) * 0x1p-53;
			score = -log(u) / tg->weight;
			/* strict <: a tie keeps the lower id (targets are sorted by id) */
			if (owner == UINT32_MAX || score < best) {
				best = score;
				owner = i;
			}
		}
		lut[j] = (uint16_t)owner;
	}
}

static struct svc_tset *
tset_build(const struct svctable_target *v, uint32_t n)
{
	uint32_t first = 0, end = 0, n_active = 0, i;
	size_t bytes, lut_off;
	struct svc_tset *s;
	unsigned int bits;

	/* the preferred group: highest priority with an active target */
	for (i = 0; i < n; i = end) {
		uint32_t act = 0;

		for (end = i; end < n && v[end].priority == v[i].priority; end++)
			act += v[end].weight != 0;
		if (act != 0) {
			first = i;
			n_active = act;
			break;
		}
	}
	bits = lut_bits_for(n_active);
	/* right after the targets: svctable_rule_lut() finds it there */
	lut_off = offsetof(struct svc_tset, pub.targets) + (size_t)n * sizeof(*v);
	bytes = lut_off + (n_active ? sizeof(uint16_t) << bits : 0);
	bytes = (bytes + 63) & ~(size_t)63;
	s = aligned_alloc(64, bytes);
	if (s == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->pub.n_targets = (uint16_t)n;
	s->pub.n_active = (uint16_t)n_active;
	s->pub.lut_bits = (uint8_t)bits;
	s->bytes = bytes;
	memcpy(s->pub.targets, v, (size_t)n * sizeof(*v));
	if (n_active != 0)
		lut_fill(s, (uint16_t *)(void *)((uint8_t *)s + lut_off), first, end);
	return s;
}

struct svc_tset *
svc_tset_get(struct svc_tset_table *tt, const struct svctable_target *v,
		uint32_t n)
{
	uint64_t h = list_hash(v, n);
	struct svc_tset *s;

	for (s = tt->buckets[h & tt->mask]; s != NULL; s = s->next)
		if (s->hash == h && s->pub.n_targets == n &&
				memcmp(s->pub.targets, v, (size_t)n * sizeof(*v)) == 0) {
			s->refcnt++;
			return s;
		}
	s = tset_build(v, n);
	if (s == NULL)
		return NULL;
	s->hash = h;
	s->refcnt = 1;
	s->next = tt->buckets[h & tt->mask];
	tt->buckets[h & tt->mask] = s;
	tt->bytes += s->bytes;
	if (++tt->n > tt->mask)
		grow(tt);
	return s;
}

bool
svc_tset_put(struct svc_tset_table *tt, struct svc_tset *s)
{
	struct svc_tset **pp;

	if (--s->refcnt != 0)
		return false;
	for (pp = &tt->buckets[s->hash & tt->mask]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	tt->n--;
	tt->bytes -= s->bytes;
	return true;
}

void
svc_tset_free(struct svc_tset *s)
{
	free(s);
}
