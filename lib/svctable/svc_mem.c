/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Arenas and scratch vectors for lib/svctable (control lcore only).
 *
 * Arenas are reserved once with mmap(MAP_NORESERVE): the base never moves,
 * so workers can index them while the control lcore allocates, and only
 * touched pages become resident, on transparent huge pages where the system
 * offers them. No EAL is needed. Under AddressSanitizer a
 * freed run is poisoned, so a worker reading memory freed before its grace
 * period ended is reported.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "svctable_priv.h"

#if defined(__SANITIZE_ADDRESS__)
#define SVC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SVC_ASAN 1
#endif
#endif

#ifdef SVC_ASAN
#include <sanitizer/asan_interface.h>
#define svc_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define svc_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define svc_poison(p, n) do { (void)(p); (void)(n); } while (0)
#define svc_unpoison(p, n) do { (void)(p); (void)(n); } while (0)
#endif

int
svc_arena_init(struct svc_arena *a, size_t unit, uint32_t cap)
{
	size_t bytes = unit * (size_t)cap;
	void *p;

	memset(a, 0, sizeof(*a));
	if (unit < sizeof(uint32_t) || cap < 2)
		return -EINVAL;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	/* workers index these arenas at random: 2 MB pages spare them a TLB
	 * miss per level where transparent huge pages are available (a hint:
	 * failure only costs speed) */
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	a->base = p;
	a->unit = unit;
	a->cap = cap;
	a->top = 1; /* index 0 means "none" everywhere */
	return 0;
}

void
svc_arena_fini(struct svc_arena *a)
{
	if (a->base == NULL)
		return;
	svc_unpoison(a->base, a->unit * (size_t)a->cap);
	munmap(a->base, a->unit * (size_t)a->cap);
	memset(a, 0, sizeof(*a));
}

/* the free-list link lives in the last 4 bytes of a freed run, so that the
 * fields workers read first are the ones poisoned */
static inline uint32_t *
link_of(struct svc_arena *a, uint32_t idx, uint32_t n)
{
	return (uint32_t *)(void *)((uint8_t *)svc_arena_ptr(a, idx) +
			a->unit * n - sizeof(uint32_t));
}

uint32_t
svc_arena_alloc(struct svc_arena *a, uint32_t n)
{
	uint32_t idx;

	if (n == 0 || n > SVC_ARENA_MAX_RUN)
		return 0;
	idx = a->free_head[n];
	if (idx != 0) {
		svc_unpoison(svc_arena_ptr(a, idx), a->unit * n);
		a->free_head[n] = *link_of(a, idx, n);
		a->free_units -= n;
	} else if (a->cap - a->top >= n) {
		idx = a->top;
		a->top += n;
	} else {
		uint32_t m;

		/* address space used up: split a longer free run */
		for (m = n + 1; m <= SVC_ARENA_MAX_RUN; m++)
			if (a->free_head[m] != 0)
				break;
		if (m > SVC_ARENA_MAX_RUN)
			return 0;
		idx = a->free_head[m];
		svc_unpoison(svc_arena_ptr(a, idx), a->unit * m);
		a->free_head[m] = *link_of(a, idx, m);
		a->free_units -= m;
		a->live += m;
		svc_arena_free(a, idx + n, m - n);
		return idx;
	}
	a->live += n;
	return idx;
}

void
svc_arena_free(struct svc_arena *a, uint32_t idx, uint32_t n)
{
	size_t bytes = a->unit * n;

	if (idx == 0 || n == 0)
		return;
	*link_of(a, idx, n) = a->free_head[n];
	a->free_head[n] = idx;
	a->live -= n;
	a->free_units += n;
	if (bytes > 8)
		svc_poison(svc_arena_ptr(a, idx), bytes - 8);
}

/*
 * Join the free single units that pair up (2i, 2i + 1) into free runs of
 * two. Only when the bump region is used up: a scan of the whole list.
 */
static int
pair_singles(struct svc_arena *a)
{
	size_t nbytes = a->cap / 8 + 1, i;
	uint8_t *seen = calloc(nbytes, 1);
	uint32_t idx, next, joined = 0;

	if (seen == NULL)
		return -ENOMEM;
	for (idx = a->free_head[1]; idx != 0; idx = *link_of(a, idx, 1))
		seen[idx >> 3] |= (uint8_t)(1u << (idx & 7));
	/* relink the units that have no free partner; the others are joined
	 * below, once no link of theirs is still to be read */
	idx = a->free_head[1];
	a->free_head[1] = 0;
	for (; idx != 0; idx = next) {
		uint32_t even = idx & ~1u;

		next = *link_of(a, idx, 1);
		if (((seen[even >> 3] >> (even & 7)) & 3) != 3) {
			*link_of(a, idx, 1) = a->free_head[1];
			a->free_head[1] = idx;
		}
	}
	for (i = 0; i < nbytes; i++) {
		/* bit j set: units 8i + j (j even) and 8i + j + 1 are both free */
		unsigned int m = seen[i] & (seen[i] >> 1) & 0x55u;

		for (; m != 0; m &= m - 1) {
			uint32_t even = (uint32_t)(i * 8) + (uint32_t)__builtin_ctz(m);

			svc_unpoison(svc_arena_ptr(a, even), a->unit * 2);
			a->free_units -= 2;
			a->live += 2;
			svc_arena_free(a, even, 2);
			joined++;
		}
	}
	free(seen);
	return joined != 0 ? 0 : -ENOSPC;
}

uint32_t
svc_arena_alloc_pair(struct svc_arena *a)
{
	uint32_t idx = a->free_head[2];

	if (idx == 0 && a->cap - a->top >= 2 + (a->top & 1)) {
		/* an odd top unit goes to the single units' list */
		if (a->top & 1) {
			a->live++;
			svc_arena_free(a, a->top++, 1);
		}
		idx = a->top;
		a->top += 2;
		a->live += 2;
		return idx;
	}
	if (idx == 0 && pair_singles(a) == 0)
		idx = a->free_head[2];
	if (idx == 0)
		return 0;
	svc_unpoison(svc_arena_ptr(a, idx), a->unit * 2);
	a->free_head[2] = *link_of(a, idx, 2);
	a->free_units -= 2;
	a->live += 2;
	return idx;
}

void
svc_vec_init(struct svc_vec *v, uint32_t esz)
{
	v->a = NULL;
	v->n = 0;
	v->cap = 0;
	v->esz = esz;
}

void
svc_vec_fini(struct svc_vec *v)
{
	free(v->a);
	v->a = NULL;
	v->n = 0;
	v->cap = 0;
}

int
svc_vec_reserve(struct svc_vec *v, uint32_t n)
{
	uint32_t cap = v->cap ? v->cap : 16;
	void *p;

	if (n <= v->cap)
		return 0;
	while (cap < n) {
		if (cap > UINT32_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(v->a, (size_t)cap * v->esz);
	if (p == NULL)
		return -ENOMEM;
	v->a = p;
	v->cap = cap;
	return 0;
}

void *
svc_vec_push(struct svc_vec *v)
{
	if (v->n == v->cap && svc_vec_reserve(v, v->n + 1) != 0)
		return NULL;
	return svc_vec_at(v, v->n++);
}

void
svc_vec_take(struct svc_vec *v, struct svc_vec *keep)
{
	*v = *keep;
	v->n = 0;
	svc_vec_init(keep, v->esz);
}

void
svc_vec_keep(struct svc_vec *keep, struct svc_vec *v)
{
	if (keep->a == NULL && v->cap <= SVC_VEC_KEEP_MAX) {
		*keep = *v;
		keep->n = 0;
	} else {
		svc_vec_fini(v);
	}
	svc_vec_init(v, v->esz);
}
