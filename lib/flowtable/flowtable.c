/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>

#include "flowtable.h"
#include "flowtable_priv.h"

/* Walk and get retry a slot this often while its owner rewrites it. */
#define FT_READ_RETRIES 8

static inline uint32_t
ft_ceil_log2(uint32_t x)
{
	return x <= 1 ? 0 : 32 - (uint32_t)__builtin_clz(x - 1);
}

/* Split an rfid into worker and global slot index; -1 if out of range. */
static inline int
ft_decode(const struct flowtable *ft, uint32_t rfid, uint32_t *wk, uint32_t *idx)
{
	uint32_t code = rfid >> ft->code_shift;
	uint32_t w = code >> ft->slot_bits;
	uint32_t s = code & ft->slot_mask;

	if (unlikely(w >= ft->n_workers || s >= ft->spw))
		return -1;
	*wk = w;
	*idx = w * ft->spw + s;
	return 0;
}

static inline uint32_t
ft_encode(const struct flowtable *ft, uint32_t w, uint32_t s, uint32_t gen)
{
	return (((w << ft->slot_bits) | s) << ft->code_shift) | (gen << 1);
}

/* A 64-bit mixer (xor-shift-multiply), seeded per table against flooding. */
static inline uint32_t
ft_syn_bucket(const struct flowtable *ft, uint32_t ip, uint32_t fid)
{
	uint64_t x = (((uint64_t)ip << 32) | fid) ^ ft->seed;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return (uint32_t)x & ft->syn_mask;
}

static inline uint64_t
ft_nonce(const uint8_t nonce[FLOWTABLE_NONCE_LEN])
{
	uint64_t v;

	memcpy(&v, nonce, sizeof(v));
	return v;
}

/* Single-writer counter bump: relaxed so readers on other lcores may load it. */
static inline void
ft_stat_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED); /* relaxed: one writer, readers sum */
}

/*
 * Seqlock read of a slot: 0 with *r (and *nonce) filled when the slot held
 * the live flow whose client-side rfid is ident throughout the read. A free
 * slot's ident has bit 0 set, and no rfid with bit 0 cleared matches it.
 */
static inline int
ft_read(const struct ft_entry *e, uint32_t ident, struct flowtable_result *r,
	uint64_t *nonce)
{
	uint32_t s1, s2, id, st;

	/* acquire: the field loads below happen after this load */
	s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if (unlikely(s1 & 1))
		return -1;
	id = __atomic_load_n(&e->ident, __ATOMIC_RELAXED); /* relaxed: seq orders it */
	if (id != ident)
		return -1;
	st = __atomic_load_n(&e->state, __ATOMIC_RELAXED); /* relaxed: any value valid */
	if (unlikely(st == FLOWTABLE_STATE_FREE))
		return -1;
	/* relaxed loads: the seq re-check below rejects a torn identity; the
	 * [A] fields may change at any time and every value is valid */
	r->state = (uint8_t)st;
	r->target = __atomic_load_n(&e->target, __ATOMIC_RELAXED);
	r->client_ip = __atomic_load_n(&e->client_ip, __ATOMIC_RELAXED);
	r->client_flowid = __atomic_load_n(&e->client_flowid, __ATOMIC_RELAXED);
	r->instance_flowid = __atomic_load_n(&e->instance_flowid, __ATOMIC_RELAXED);
	r->rfid = id;
	if (nonce != NULL)
		*nonce = __atomic_load_n(&e->nonce, __ATOMIC_RELAXED);
	/* acquire fence: the loads above complete before seq is read again */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	if (unlikely(s1 != s2))
		return -1;
	return 0;
}

/* Owner only: open a rewrite of the slot's identity. */
static inline void
ft_write_begin(struct ft_entry *e)
{
	/* relaxed store, then release fence: the odd value is visible before
	 * any of the field stores that follow */
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void
ft_write_end(struct ft_entry *e)
{
	/* release: every field store above is visible before the even value */
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE);
}

static inline void
ft_free_push(const struct flowtable *ft, struct ft_worker *wk, uint32_t s)
{
	uint32_t pos = wk->free_head + wk->free_count;

	if (pos >= ft->spw)
		pos -= ft->spw;
	wk->free_ring[pos] = s;
	wk->free_count++;
}

static inline uint32_t
ft_free_pop(const struct flowtable *ft, struct ft_worker *wk)
{
	uint32_t s = wk->free_ring[wk->free_head];

	if (++wk->free_head == ft->spw)
		wk->free_head = 0;
	wk->free_count--;
	return s;
}

/* Move slots whose grace period has passed from limbo to the free ring. */
static void
ft_reclaim(const struct flowtable *ft, struct ft_worker *wk)
{
	while (wk->batch_count > 0) {
		struct ft_batch *b = &wk->batch[wk->batch_head];
		uint32_t i;

		if (rte_rcu_qsbr_check(ft->qsv, b->token, false) != 1)
			break;
		for (i = 0; i < b->count; i++) {
			ft_free_push(ft, wk, wk->limbo[wk->limbo_head]);
			if (++wk->limbo_head == ft->spw)
				wk->limbo_head = 0;
		}
		/* relaxed: stats readers only */
		__atomic_store_n(&wk->limbo_count, wk->limbo_count - b->count,
			__ATOMIC_RELAXED);
		if (++wk->batch_head == FT_BATCHES)
			wk->batch_head = 0;
		wk->batch_count--;
	}
}

/* Take one RCU token for every slot retired since the last seal. */
static void
ft_seal(const struct flowtable *ft, struct ft_worker *wk)
{
	uint64_t token;

	if (wk->unsealed == 0)
		return;
	token = rte_rcu_qsbr_start(ft->qsv);
	if (wk->batch_count == FT_BATCHES) {
		/* merge into the newest batch: a later token only waits longer */
		uint32_t last = (wk->batch_head + FT_BATCHES - 1) % FT_BATCHES;

		wk->batch[last].token = token;
		wk->batch[last].count += wk->unsealed;
	} else {
		uint32_t pos = (wk->batch_head + wk->batch_count) % FT_BATCHES;

		wk->batch[pos].token = token;
		wk->batch[pos].count = wk->unsealed;
		wk->batch_count++;
	}
	wk->unsealed = 0;
}

/* Owner only: take a live slot out of the table (caller seals). */
static void
ft_remove(struct flowtable *ft, uint32_t w, uint32_t s)
{
	struct ft_worker *wk = &ft->workers[w];
	uint32_t idx = w * ft->spw + s;
	struct ft_entry *e = &ft->entries[idx];
	uint32_t *link;

	ft_write_begin(e);
	/* relaxed stores inside the seq window (ft_write_begin/end order them) */
	__atomic_store_n(&e->ident, e->ident | 1, __ATOMIC_RELAXED);
	__atomic_store_n(&e->state, FLOWTABLE_STATE_FREE, __ATOMIC_RELAXED);
	ft_write_end(e);

	link = &wk->syn_heads[ft_syn_bucket(ft, ft->far[idx].syn_ip, e->client_flowid)];
	while (*link != FT_NIL) {
		if (*link == s) {
			*link = e->syn_next;
			break;
		}
		link = &ft->entries[w * ft->spw + *link].syn_next;
	}
	e->syn_next = FT_NIL;

	if (ft->qsv == NULL) {
		ft_free_push(ft, wk, s);
		return;
	}
	{
		uint32_t pos = wk->limbo_head + wk->limbo_count;

		if (pos >= ft->spw)
			pos -= ft->spw;
		wk->limbo[pos] = s;
	}
	/* relaxed: stats readers only */
	__atomic_store_n(&wk->limbo_count, wk->limbo_count + 1, __ATOMIC_RELAXED);
	wk->unsealed++;
}

/* Pick the memory source: the DPDK heap when it can, else the C heap. */
static void *
ft_mem_alloc(const char *name, size_t size, int socket_id, int *from_rte)
{
	void *p;

	p = rte_zmalloc_socket(name, size, RTE_CACHE_LINE_SIZE, socket_id);
	if (p != NULL) {
		*from_rte = 1;
		return p;
	}
	if (posix_memalign(&p, RTE_CACHE_LINE_SIZE, size) != 0)
		return NULL;
	memset(p, 0, size);
	*from_rte = 0;
	return p;
}

static size_t
ft_align(size_t x)
{
	return RTE_ALIGN_CEIL(x, RTE_CACHE_LINE_SIZE);
}

struct flowtable *
flowtable_create(const struct flowtable_conf *conf)
{
	size_t off_workers, off_entries, off_far, off_free, off_limbo, off_syn, size;
	uint32_t nw, spw, wbits, sbits, gbits, nsyn, w, s, i;
	struct flowtable *ft;
	uint64_t total;
	int from_rte;
	uint8_t *mem;

	if (conf == NULL || conf->max_flows == 0 || conf->n_workers == 0 ||
			conf->n_workers > FLOWTABLE_MAX_WORKERS ||
			(conf->flags & ~FLOWTABLE_F_ALL) != 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	for (i = FLOWTABLE_STATE_SYN_SEEN; i < FLOWTABLE_STATE_MAX; i++) {
		if (conf->timeout[i] == 0) {
			rte_errno = EINVAL;
			return NULL;
		}
	}
	nw = conf->n_workers;
	spw = (uint32_t)(((uint64_t)conf->max_flows + nw - 1) / nw);
	wbits = ft_ceil_log2(nw);
	sbits = ft_ceil_log2(spw);
	if (wbits + sbits + 1 + FLOWTABLE_MIN_GEN_BITS > 32) {
		rte_errno = EINVAL;
		return NULL;
	}
	gbits = RTE_MIN(31 - wbits - sbits, (uint32_t)FT_MAX_GEN_BITS);
	nsyn = 1u << ft_ceil_log2(spw);
	total = (uint64_t)nw * spw;

	off_workers = ft_align(sizeof(*ft));
	off_entries = off_workers + ft_align(sizeof(struct ft_worker) * nw);
	off_far = off_entries + ft_align(sizeof(struct ft_entry) * total);
	off_free = off_far + ft_align(sizeof(struct ft_far) * total);
	off_limbo = off_free + ft_align(sizeof(uint32_t) * total);
	off_syn = off_limbo + ft_align(sizeof(uint32_t) * total);
	size = off_syn + ft_align(sizeof(uint32_t) * (uint64_t)nsyn * nw);

	mem = ft_mem_alloc(conf->name != NULL ? conf->name : "flowtable", size,
		conf->socket_id, &from_rte);
	if (mem == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	ft = (struct flowtable *)mem;
	ft->workers = (struct ft_worker *)(mem + off_workers);
	ft->entries = (struct ft_entry *)(mem + off_entries);
	ft->far = (struct ft_far *)(mem + off_far);
	ft->n_workers = nw;
	ft->spw = spw;
	ft->slot_bits = sbits;
	ft->slot_mask = (uint32_t)((1ull << sbits) - 1);
	ft->code_shift = gbits + 1;
	ft->gen_mask = (uint32_t)((1ull << gbits) - 1);
	ft->syn_mask = nsyn - 1;
	ft->from_rte = from_rte;
	ft->seed = rte_rand();
	ft->mem_size = size;
	memcpy(ft->timeout, conf->timeout, sizeof(ft->timeout));
	snprintf(ft->name, sizeof(ft->name), "%s",
		conf->name != NULL ? conf->name : "flowtable");

	for (w = 0; w < nw; w++) {
		struct ft_worker *wk = &ft->workers[w];

		wk->free_ring = (uint32_t *)(mem + off_free) + (size_t)w * spw;
		wk->limbo = (uint32_t *)(mem + off_limbo) + (size_t)w * spw;
		wk->syn_heads = (uint32_t *)(mem + off_syn) + (size_t)w * nsyn;
		for (s = 0; s < spw; s++) {
			struct ft_entry *e = &ft->entries[(size_t)w * spw + s];

			/* free, generation 0: the first flow gets generation 1 */
			e->ident = 1;
			e->syn_next = FT_NIL;
			wk->free_ring[s] = s;
		}
		wk->free_count = spw;
		for (s = 0; s < nsyn; s++)
			wk->syn_heads[s] = FT_NIL;
	}
	return ft;
}

void
flowtable_free(struct flowtable *ft)
{
	if (ft == NULL)
		return;
	if (ft->from_rte)
		rte_free(ft);
	else
		free(ft);
}

int
flowtable_rcu_attach(struct flowtable *ft, struct rte_rcu_qsbr *v)
{
	if (ft == NULL || v == NULL)
		return -EINVAL;
	if (ft->qsv != NULL)
		return -EEXIST;
	ft->qsv = v;
	return 0;
}

uint64_t
flowtable_lookup_bulk(struct flowtable *ft, unsigned int worker,
		const uint32_t rfids[], const uint32_t pkt_len[], uint32_t n,
		struct flowtable_result res[], uint64_t now)
{
	uint32_t idx[FLOWTABLE_BURST_MAX];
	uint16_t own[FLOWTABLE_BURST_MAX];
	uint64_t valid = 0, hits = 0, mine = 0, foreign = 0, m;
	struct ft_worker *wk;
	uint32_t i;

	if (unlikely(ft == NULL || rfids == NULL || res == NULL ||
			worker >= ft->n_workers || n > FLOWTABLE_BURST_MAX))
		return 0;
	wk = &ft->workers[worker];

	/* Stage 1: decode every flowID and start all the cache misses. */
	for (i = 0; i < n; i++) {
		uint32_t w;

		if (ft_decode(ft, rfids[i], &w, &idx[i]) != 0)
			continue;
		own[i] = (uint16_t)w;
		valid |= UINT64_C(1) << i;
		rte_prefetch0(&ft->entries[idx[i]]);
		if (w != worker)
			rte_prefetch0(&ft->far[idx[i]]);
	}

	/* Stage 2: validate and copy out. */
	for (m = valid; m != 0; m &= m - 1) {
		struct flowtable_result r;

		i = (uint32_t)__builtin_ctzll(m);
		if (ft_read(&ft->entries[idx[i]], rfids[i] & ~FLOWTABLE_RFID_INSTANCE_SIDE,
				&r, NULL) != 0)
			continue;
		r.owner = own[i];
		r.from_instance = (uint8_t)(rfids[i] & FLOWTABLE_RFID_INSTANCE_SIDE);
		res[i] = r;
		hits |= UINT64_C(1) << i;
		/* a mask, not a branch per packet: owners and foreigners mix
		 * unpredictably within a burst */
		mine |= (uint64_t)(own[i] == worker) << i;
	}

	/* Stage 3: the owner's counters, plain single-writer stores. */
	for (m = hits & mine; m != 0; m &= m - 1) {
		struct ft_entry *e;

		i = (uint32_t)__builtin_ctzll(m);
		e = &ft->entries[idx[i]];
		/* relaxed stores: single writer; walk/expire read them */
		__atomic_store_n(&e->pkts, e->pkts + 1, __ATOMIC_RELAXED);
		if (pkt_len != NULL)
			__atomic_store_n(&e->bytes, e->bytes + pkt_len[i], __ATOMIC_RELAXED);
		if (now > e->last_seen)
			__atomic_store_n(&e->last_seen, now, __ATOMIC_RELAXED);
	}

	/* Stage 4: other workers' flows, through the foreign record. */
	for (m = hits & ~mine; m != 0; m &= m - 1) {
		struct ft_far *f;

		i = (uint32_t)__builtin_ctzll(m);
		f = &ft->far[idx[i]];
		/* relaxed RMW: several non-owners may add at once; only the
		 * totals matter */
		__atomic_fetch_add(&f->pkts, 1, __ATOMIC_RELAXED);
		if (pkt_len != NULL)
			__atomic_fetch_add(&f->bytes, pkt_len[i], __ATOMIC_RELAXED);
		/* relaxed load/store: a racing store may leave the other
		 * worker's slightly older sample (documented) */
		if (now > __atomic_load_n(&f->last_seen, __ATOMIC_RELAXED))
			__atomic_store_n(&f->last_seen, now, __ATOMIC_RELAXED);
		foreign++;
	}

	ft_stat_add(&wk->st.lookups, n);
	ft_stat_add(&wk->st.lookup_misses, n - (uint32_t)__builtin_popcountll(hits));
	if (foreign != 0)
		ft_stat_add(&wk->st.foreign_hits, foreign);
	return hits;
}

/* Owner only: local slot of a live flow with this SYN key, or FT_NIL. */
static uint32_t
ft_syn_find(const struct flowtable *ft, uint32_t w, uint32_t ip, uint32_t fid,
	uint64_t nonce)
{
	const struct ft_worker *wk = &ft->workers[w];
	uint32_t s = wk->syn_heads[ft_syn_bucket(ft, ip, fid)];
	uint32_t steps = 0;

	while (s != FT_NIL && steps++ < ft->spw) {
		size_t idx = (size_t)w * ft->spw + s;
		const struct ft_entry *e = &ft->entries[idx];

		/* the owner reads its own [S]/[W] fields; client_ip is [A] and
		 * must still be the SYN's address (no migration since) */
		if ((e->ident & 1) == 0 && e->client_flowid == fid &&
				e->nonce == nonce &&
				__atomic_load_n(&e->client_ip, __ATOMIC_RELAXED) == ip &&
				ft->far[idx].syn_ip == ip) /* other cache line: last */
			return s;
		s = e->syn_next;
	}
	return FT_NIL;
}

uint64_t
flowtable_find_syn_bulk(struct flowtable *ft, unsigned int worker,
		const struct flowtable_syn_key keys[], uint32_t n,
		uint32_t rfids[])
{
	uint64_t hits = 0;
	uint32_t i, s;

	if (unlikely(ft == NULL || keys == NULL || rfids == NULL ||
			worker >= ft->n_workers || n > FLOWTABLE_BURST_MAX))
		return 0;
	for (i = 0; i < n; i++) {
		s = ft_syn_find(ft, worker, keys[i].client_ip, keys[i].client_flowid,
			ft_nonce(keys[i].nonce));
		if (s == FT_NIL)
			continue;
		rfids[i] = ft->entries[(size_t)worker * ft->spw + s].ident;
		hits |= UINT64_C(1) << i;
	}
	return hits;
}

int
flowtable_insert(struct flowtable *ft, unsigned int worker,
		const struct flowtable_syn_key *key, uint32_t target,
		uint64_t now, uint32_t *rfid)
{
	struct ft_worker *wk;
	struct ft_entry *e;
	struct ft_far *f;
	uint32_t s, gen, id, b;
	uint64_t nonce;
	size_t idx;

	if (ft == NULL || key == NULL || rfid == NULL || worker >= ft->n_workers ||
			key->client_flowid == 0)
		return -EINVAL;
	wk = &ft->workers[worker];
	nonce = ft_nonce(key->nonce);

	s = ft_syn_find(ft, worker, key->client_ip, key->client_flowid, nonce);
	if (s != FT_NIL) {
		*rfid = ft->entries[(size_t)worker * ft->spw + s].ident;
		ft_stat_add(&wk->st.insert_exists, 1);
		return -EEXIST;
	}
	if (wk->free_count == 0 && ft->qsv != NULL)
		ft_reclaim(ft, wk);
	if (wk->free_count == 0) {
		ft_stat_add(&wk->st.insert_full, 1);
		return -ENOSPC;
	}

	s = ft_free_pop(ft, wk);
	idx = (size_t)worker * ft->spw + s;
	e = &ft->entries[idx];
	f = &ft->far[idx];
	gen = ((e->ident >> 1) & ft->gen_mask) + 1;
	if (gen > ft->gen_mask)
		gen = 1; /* never 0: a generation-0 client-side rfid could be 0 */
	id = ft_encode(ft, worker, s, gen);

	ft_write_begin(e);
	/* relaxed stores inside the seq window; no reader of an older flow can
	 * still be writing here: RCU held the slot back until they were done */
	__atomic_store_n(&e->client_ip, key->client_ip, __ATOMIC_RELAXED);
	__atomic_store_n(&e->client_flowid, key->client_flowid, __ATOMIC_RELAXED);
	__atomic_store_n(&e->instance_flowid, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->target, target, __ATOMIC_RELAXED);
	__atomic_store_n(&e->nonce, nonce, __ATOMIC_RELAXED);
	__atomic_store_n(&e->last_seen, now, __ATOMIC_RELAXED);
	__atomic_store_n(&e->pkts, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->pkts, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->last_seen, 0, __ATOMIC_RELAXED);
	f->syn_ip = key->client_ip;
	__atomic_store_n(&e->state, FLOWTABLE_STATE_SYN_SEEN, __ATOMIC_RELAXED);
	__atomic_store_n(&e->ident, id, __ATOMIC_RELAXED);
	ft_write_end(e);

	b = ft_syn_bucket(ft, key->client_ip, key->client_flowid);
	e->syn_next = wk->syn_heads[b];
	wk->syn_heads[b] = s;

	ft_stat_add(&wk->st.inserts, 1);
	*rfid = id;
	return 0;
}

/* Validate a flowID for a single-flow call; 0 with *idx and *w on success. */
static inline int
ft_find(const struct flowtable *ft, uint32_t rfid, uint32_t *w, uint32_t *idx,
	struct flowtable_result *r, uint64_t *nonce)
{
	if (ft_decode(ft, rfid, w, idx) != 0)
		return -ENOENT;
	if (ft_read(&ft->entries[*idx], rfid & ~FLOWTABLE_RFID_INSTANCE_SIDE, r,
			nonce) != 0)
		return -ENOENT;
	return 0;
}

int
flowtable_set_state(struct flowtable *ft, unsigned int worker, uint32_t rfid,
		enum flowtable_state state)
{
	struct flowtable_result r;
	struct ft_entry *e;
	uint32_t w, idx, cur;

	if (ft == NULL || worker >= ft->n_workers ||
			(int)state <= FLOWTABLE_STATE_FREE ||
			(int)state >= FLOWTABLE_STATE_MAX)
		return -EINVAL;
	if (ft_find(ft, rfid, &w, &idx, &r, NULL) != 0)
		return -ENOENT;
	e = &ft->entries[idx];
	cur = r.state;
	while (cur < (uint32_t)state) {
		/* relaxed CAS: the state word stands alone; failing on FREE
		 * keeps a racing delete from being undone */
		if (__atomic_compare_exchange_n(&e->state, &cur, (uint32_t)state,
				false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return 0;
		if (cur == FLOWTABLE_STATE_FREE)
			return -ENOENT;
	}
	return 0;
}

int
flowtable_set_instance_flowid(struct flowtable *ft, unsigned int worker,
		uint32_t rfid, uint32_t instance_flowid)
{
	struct flowtable_result r;
	uint32_t w, idx, cur = 0;

	if (ft == NULL || worker >= ft->n_workers || instance_flowid == 0)
		return -EINVAL;
	if (ft_find(ft, rfid, &w, &idx, &r, NULL) != 0)
		return -ENOENT;
	/* relaxed CAS: set once, from 0; readers take either value */
	if (__atomic_compare_exchange_n(&ft->entries[idx].instance_flowid, &cur,
			instance_flowid, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return 0;
	return cur == instance_flowid ? 0 : -EEXIST;
}

int
flowtable_migrate(struct flowtable *ft, unsigned int worker, uint32_t rfid,
		uint32_t new_client_ip, const uint8_t nonce[FLOWTABLE_NONCE_LEN],
		uint64_t now)
{
	struct flowtable_result r;
	struct ft_worker *wk;
	struct ft_entry *e;
	uint32_t w, idx;
	uint64_t rec;

	if (ft == NULL || nonce == NULL || worker >= ft->n_workers ||
			new_client_ip == 0 || (rfid & FLOWTABLE_RFID_INSTANCE_SIDE) != 0)
		return -EINVAL;
	wk = &ft->workers[worker];
	if (ft_find(ft, rfid, &w, &idx, &r, &rec) != 0)
		return -ENOENT;
	if (rec != ft_nonce(nonce)) {
		ft_stat_add(&wk->st.nonce_mismatch, 1);
		return -EPERM;
	}
	e = &ft->entries[idx];
	/* relaxed: one aligned word, readers take the old or the new address */
	__atomic_store_n(&e->client_ip, new_client_ip, __ATOMIC_RELAXED);
	if (w == worker) {
		if (now > e->last_seen)
			__atomic_store_n(&e->last_seen, now, __ATOMIC_RELAXED); /* [W] */
	} else {
		struct ft_far *f = &ft->far[idx];

		/* relaxed: same racy max as a lookup by a non-owner */
		if (now > __atomic_load_n(&f->last_seen, __ATOMIC_RELAXED))
			__atomic_store_n(&f->last_seen, now, __ATOMIC_RELAXED);
	}
	ft_stat_add(&wk->st.migrations, 1);
	return 0;
}

int
flowtable_delete(struct flowtable *ft, unsigned int worker, uint32_t rfid)
{
	struct flowtable_result r;
	struct ft_worker *wk;
	uint32_t w, idx;

	if (ft == NULL || worker >= ft->n_workers)
		return -EINVAL;
	if (ft_find(ft, rfid, &w, &idx, &r, NULL) != 0)
		return -ENOENT;
	if (w != worker)
		return -EXDEV;
	wk = &ft->workers[worker];
	ft_remove(ft, w, idx - w * ft->spw);
	if (ft->qsv != NULL)
		ft_seal(ft, wk);
	ft_stat_add(&wk->st.deletes, 1);
	return 0;
}

uint32_t
flowtable_expire(struct flowtable *ft, unsigned int worker, uint64_t now,
		uint32_t budget)
{
	struct ft_worker *wk;
	uint32_t n = 0, n_syn = 0, s;

	if (ft == NULL || worker >= ft->n_workers)
		return 0;
	wk = &ft->workers[worker];
	if (ft->qsv != NULL)
		ft_reclaim(ft, wk);
	if (budget > ft->spw)
		budget = ft->spw;

	s = wk->cursor;
	while (budget-- > 0) {
		size_t idx = (size_t)worker * ft->spw + s;
		struct ft_entry *e = &ft->entries[idx];
		uint32_t st;

		/* relaxed: the state may move forward under us; either timeout
		 * is a valid reading of "now" */
		st = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
		if ((e->ident & 1) == 0 && st != FLOWTABLE_STATE_FREE) {
			uint64_t far_seen = __atomic_load_n(&ft->far[idx].last_seen,
				__ATOMIC_RELAXED); /* relaxed: any sample is a valid one */
			uint64_t last = RTE_MAX(e->last_seen, far_seen);

			if (now >= last && now - last >= ft->timeout[st]) {
				ft_remove(ft, worker, s);
				n++;
				if (st == FLOWTABLE_STATE_SYN_SEEN)
					n_syn++;
			}
		}
		if (++s == ft->spw)
			s = 0;
	}
	wk->cursor = s;
	if (n != 0) {
		if (ft->qsv != NULL)
			ft_seal(ft, wk);
		ft_stat_add(&wk->st.expired, n);
		ft_stat_add(&wk->st.expired_syn_seen, n_syn);
	}
	return n;
}

/* Fill an info snapshot of the flow ident from its slot. */
static int
ft_info(const struct flowtable *ft, uint32_t idx, uint32_t ident,
	struct flowtable_flow_info *info)
{
	const struct ft_entry *e = &ft->entries[idx];
	const struct ft_far *f = &ft->far[idx];
	struct flowtable_result r;
	uint64_t nonce, pkts, bytes, seen, fseen;
	uint32_t s1, tries;

	for (tries = 0; tries < FT_READ_RETRIES; tries++) {
		s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE); /* acquire: pairs with write_end */
		if (ft_read(e, ident, &r, &nonce) != 0) {
			if ((s1 & 1) == 0 &&
					__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) == s1)
				return -ENOENT; /* stable, and not that flow */
			rte_pause();
			continue;
		}
		/* relaxed: counters are independent words, read as they are */
		pkts = __atomic_load_n(&e->pkts, __ATOMIC_RELAXED) +
			__atomic_load_n(&f->pkts, __ATOMIC_RELAXED);
		bytes = __atomic_load_n(&e->bytes, __ATOMIC_RELAXED) +
			__atomic_load_n(&f->bytes, __ATOMIC_RELAXED);
		seen = __atomic_load_n(&e->last_seen, __ATOMIC_RELAXED);
		fseen = __atomic_load_n(&f->last_seen, __ATOMIC_RELAXED);
		/* acquire fence: the counter loads above belong to this flow */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s1)
			continue;
		r.owner = (uint16_t)(idx / ft->spw);
		r.from_instance = 0;
		info->r = r;
		memcpy(info->nonce, &nonce, sizeof(info->nonce));
		info->last_seen = RTE_MAX(seen, fseen);
		info->pkts = pkts;
		info->bytes = bytes;
		return 0;
	}
	return -ENOENT;
}

int
flowtable_get(const struct flowtable *ft, uint32_t rfid,
		struct flowtable_flow_info *info)
{
	uint32_t w, idx, id;

	if (ft == NULL || info == NULL)
		return -EINVAL;
	if (ft_decode(ft, rfid, &w, &idx) != 0)
		return -ENOENT;
	id = rfid & ~FLOWTABLE_RFID_INSTANCE_SIDE;
	if (ft_info(ft, idx, id, info) != 0)
		return -ENOENT;
	info->r.from_instance = (uint8_t)(rfid & FLOWTABLE_RFID_INSTANCE_SIDE);
	return 0;
}

int
flowtable_walk(const struct flowtable *ft, flowtable_walk_cb cb, void *arg)
{
	struct flowtable_flow_info info;
	uint64_t total, idx;
	int ret;

	if (ft == NULL || cb == NULL)
		return -EINVAL;
	total = (uint64_t)ft->n_workers * ft->spw;
	for (idx = 0; idx < total; idx++) {
		/* relaxed: a hint; ft_info validates it under the seq word */
		uint32_t id = __atomic_load_n(&ft->entries[idx].ident, __ATOMIC_RELAXED);

		if ((id & 1) != 0 || ft_info(ft, (uint32_t)idx, id, &info) != 0)
			continue;
		ret = cb(&info, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static inline uint64_t
ft_ld(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED); /* relaxed: a monotonic counter */
}

int
flowtable_stats_get(const struct flowtable *ft, struct flowtable_stats *stats)
{
	uint32_t w;

	if (ft == NULL || stats == NULL)
		return -EINVAL;
	memset(stats, 0, sizeof(*stats));
	for (w = 0; w < ft->n_workers; w++) {
		const struct ft_worker *wk = &ft->workers[w];
		const struct ft_wstats *st = &wk->st;

		stats->inserts += ft_ld(&st->inserts);
		stats->insert_full += ft_ld(&st->insert_full);
		stats->insert_exists += ft_ld(&st->insert_exists);
		stats->deletes += ft_ld(&st->deletes);
		stats->expired += ft_ld(&st->expired);
		stats->expired_syn_seen += ft_ld(&st->expired_syn_seen);
		stats->lookups += ft_ld(&st->lookups);
		stats->lookup_misses += ft_ld(&st->lookup_misses);
		stats->foreign_hits += ft_ld(&st->foreign_hits);
		stats->migrations += ft_ld(&st->migrations);
		stats->nonce_mismatch += ft_ld(&st->nonce_mismatch);
		stats->reclaim_pending += __atomic_load_n(&wk->limbo_count,
			__ATOMIC_RELAXED); /* relaxed: a gauge */
	}
	/* inserts are read after removals could have been counted for them,
	 * so a racing reader may see flows briefly one low, never negative */
	stats->flows = stats->inserts >= stats->deletes + stats->expired ?
		stats->inserts - stats->deletes - stats->expired : 0;
	stats->capacity = (uint64_t)ft->n_workers * ft->spw;
	return 0;
}

size_t
flowtable_memory(const struct flowtable *ft)
{
	return ft == NULL ? 0 : ft->mem_size;
}
