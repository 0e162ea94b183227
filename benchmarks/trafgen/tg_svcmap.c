/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The generator's own view of a service map: the rules, and an exact
 * longest-prefix match so that a serviceID drawn "under rule r" really
 * lands on r at the router (a longer prefix inside r would win there).
 *
 * The index is one open-addressing hash table keyed by (prefix length,
 * masked serviceID) plus the list of distinct lengths, longest first: a
 * lookup probes once per distinct length. Benchmarks' maps have few
 * lengths, so this stays fast at a million rules, and it shares no code
 * with lib/svctable (the table the router uses).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trafgen.h"

#define TG_ID_BITS 256
/* Draws before a rule is declared shadowed / a miss impossible. */
#define TG_HIT_TRIES 64
#define TG_MISS_TRIES 128

struct tg_svcmap {
	struct tg_rule *rules;
	uint32_t n;
	uint32_t cap;
	uint32_t *slot;         /* rule index + 1; 0 = empty */
	uint32_t slot_mask;     /* slots - 1 (a power of two) */
	uint16_t n_lens;
	uint16_t lens[TG_ID_BITS + 1]; /* distinct prefix lengths, longest first */
	uint8_t has_len[TG_ID_BITS + 1];
};

/* Copy of @p id with every bit past @p bits cleared. */
static void
mask_id(const struct sal_service_id *id, uint16_t bits, struct sal_service_id *out)
{
	unsigned int full = bits / 8, rem = bits % 8;

	memset(out, 0, sizeof(*out));
	memcpy(out->b, id->b, full);
	if (rem != 0)
		out->b[full] = (uint8_t)(id->b[full] & (0xff00u >> rem));
}

static uint64_t
key_hash(const struct sal_service_id *id, uint16_t bits)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ bits, w;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		memcpy(&w, id->b + 8 * i, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

/* Slot of (bits, masked id): its rule index, or -1 (and *free_slot). */
static int
find(const struct tg_svcmap *m, const struct sal_service_id *masked, uint16_t bits,
		uint32_t *free_slot)
{
	uint32_t s = (uint32_t)key_hash(masked, bits) & m->slot_mask;

	while (m->slot[s] != 0) {
		const struct tg_rule *r = &m->rules[m->slot[s] - 1];

		if (r->bits == bits && memcmp(&r->id, masked, sizeof(*masked)) == 0)
			return (int)(m->slot[s] - 1);
		s = (s + 1) & m->slot_mask;
	}
	if (free_slot != NULL)
		*free_slot = s;
	return -1;
}

static int
rehash(struct tg_svcmap *m, uint32_t slots)
{
	uint32_t *old = m->slot, i, s;

	m->slot = calloc(slots, sizeof(*m->slot));
	if (m->slot == NULL) {
		m->slot = old;
		return -ENOMEM;
	}
	m->slot_mask = slots - 1;
	for (i = 0; i < m->n; i++) {
		find(m, &m->rules[i].id, m->rules[i].bits, &s);
		m->slot[s] = i + 1;
	}
	free(old);
	return 0;
}

struct tg_svcmap *
tg_svcmap_create(void)
{
	struct tg_svcmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	if (rehash(m, 64) != 0) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void
tg_svcmap_free(struct tg_svcmap *m)
{
	uint32_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->rules[i].targets);
	free(m->rules);
	free(m->slot);
	free(m);
}

static bool
is_forward(enum tg_rule_kind k)
{
	return k == TG_RULE_RESOLVE || k == TG_RULE_GATEWAY;
}

int
tg_svcmap_add(struct tg_svcmap *m, const struct sal_service_id *id, uint16_t bits,
		enum tg_rule_kind kind, const struct tg_target *targets, uint32_t n_targets)
{
	struct sal_service_id masked;
	struct tg_rule *r;
	uint32_t s, i;
	bool live = false;
	int ret;

	if (m == NULL || id == NULL || bits > TG_ID_BITS || (unsigned int)kind >= TG_RULE_KIND_MAX)
		return -EINVAL;
	mask_id(id, bits, &masked);
	if (memcmp(&masked, id, sizeof(masked)) != 0)
		return -EINVAL;
	for (i = 0; i < n_targets; i++)
		live |= targets[i].weight != 0;
	if (is_forward(kind) != live || (!is_forward(kind) && n_targets != 0))
		return -EINVAL;
	if (find(m, &masked, bits, &s) >= 0)
		return -EEXIST;
	if (2 * (m->n + 1) > m->slot_mask + 1) {
		ret = rehash(m, 2 * (m->slot_mask + 1));
		if (ret != 0)
			return ret;
		find(m, &masked, bits, &s);
	}
	if (m->n == m->cap) {
		uint32_t cap = m->cap == 0 ? 16 : 2 * m->cap;
		struct tg_rule *nr = realloc(m->rules, cap * sizeof(*nr));

		if (nr == NULL)
			return -ENOMEM;
		m->rules = nr;
		m->cap = cap;
	}
	r = &m->rules[m->n];
	memset(r, 0, sizeof(*r));
	r->id = masked;
	r->bits = bits;
	r->kind = (uint8_t)kind;
	if (n_targets != 0) {
		r->targets = malloc(n_targets * sizeof(*r->targets));
		if (r->targets == NULL)
			return -ENOMEM;
		memcpy(r->targets, targets, n_targets * sizeof(*r->targets));
		r->n_targets = n_targets;
	}
	m->slot[s] = m->n + 1;
	m->n++;
	if (!m->has_len[bits]) {
		uint16_t j = m->n_lens;

		m->has_len[bits] = 1;
		while (j > 0 && m->lens[j - 1] < bits) {
			m->lens[j] = m->lens[j - 1];
			j--;
		}
		m->lens[j] = bits;
		m->n_lens++;
	}
	return (int)(m->n - 1);
}

uint32_t
tg_svcmap_count(const struct tg_svcmap *m)
{
	return m == NULL ? 0 : m->n;
}

const struct tg_rule *
tg_svcmap_rule(const struct tg_svcmap *m, uint32_t i)
{
	return m == NULL || i >= m->n ? NULL : &m->rules[i];
}

int
tg_svcmap_lookup(const struct tg_svcmap *m, const struct sal_service_id *id)
{
	struct sal_service_id masked;
	uint16_t i;
	int r;

	for (i = 0; i < m->n_lens; i++) {
		mask_id(id, m->lens[i], &masked);
		r = find(m, &masked, m->lens[i], NULL);
		if (r >= 0)
			return r;
	}
	return -1;
}

static void
random_id(struct tg_rng *r, struct sal_service_id *out)
{
	uint64_t w;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		w = tg_rng_next(r);
		memcpy(out->b + 8 * i, &w, sizeof(w));
	}
}

/* @p prefix's first @p bits bits, random bits after them. */
static void
under_prefix(const struct sal_service_id *prefix, uint16_t bits, struct tg_rng *r,
		struct sal_service_id *out)
{
	struct sal_service_id rnd, keep;
	unsigned int i;

	random_id(r, &rnd);
	mask_id(&rnd, bits, &keep);
	for (i = 0; i < sizeof(out->b); i++)
		out->b[i] = (uint8_t)(prefix->b[i] | (rnd.b[i] ^ keep.b[i]));
}

int
tg_svcmap_draw_hit(const struct tg_svcmap *m, uint32_t rule, struct tg_rng *r,
		struct sal_service_id *out)
{
	unsigned int t;

	if (m == NULL || rule >= m->n)
		return -EINVAL;
	for (t = 0; t < TG_HIT_TRIES; t++) {
		under_prefix(&m->rules[rule].id, m->rules[rule].bits, r, out);
		if (tg_svcmap_lookup(m, out) == (int)rule)
			return 0;
	}
	return -ENOENT;
}

int
tg_svcmap_draw_miss(const struct tg_svcmap *m, struct tg_rng *r, struct sal_service_id *out)
{
	const struct tg_rule *rule;
	unsigned int t, bit;

	if (m == NULL)
		return -EINVAL;
	for (t = 0; t < TG_MISS_TRIES; t++) {
		if (m->n != 0 && (t & 1) == 0) {
			/* near miss: shares all but one bit of a real prefix */
			rule = &m->rules[tg_rng_below(r, m->n)];
			if (rule->bits == 0)
				continue;
			under_prefix(&rule->id, rule->bits, r, out);
			bit = tg_rng_below(r, rule->bits);
			out->b[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
		} else {
			random_id(r, out);
		}
		if (tg_svcmap_lookup(m, out) < 0)
			return 0;
	}
	return -ENOENT;
}
