/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Private to lib/svctable (svctable.c, svc_rib.c, svc_trie.c, svc_tset.c,
 * svc_mem.c) and its white-box tests.
 *
 * Two layers, as rte_fib over rte_rib:
 * - the rib (svc_rib.c): a binary path-compressed (Patricia) tree of every
 *   prefix, the authoritative control model. Control lcore only.
 * - the trie (svc_trie.c): what workers read. An 18-bit direct root table,
 *   then multibit nodes of stride 6 with poptrie-style bitmaps (a child
 *   bitmap and a leaf-run bitmap, indexed with popcount) and path
 *   compression: a node starts at the first bit where its subtree branches or
 *   a prefix ends, wherever that is. Skipped bits are not compared on the way
 *   down ("blind descent"); instead every candidate rule met is verified
 *   against the full key at the end, deepest first. A subtree holding one
 *   prefix is a single terminal node naming the rule.
 *
 * Owner legend (pf style): [I] immutable after publish, [C] control lcore
 * only, [R] published for workers' acquire loads.
 */

#ifndef SVCTABLE_PRIV_H
#define SVCTABLE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svctable.h"

/* ---- data-plane trie ---- */

#define SVC_ROOT_BITS 18
#define SVC_ROOT_SLOTS (1u << SVC_ROOT_BITS)
#define SVC_STRIDE 6
#define SVC_FANOUT (1u << SVC_STRIDE)
/* every node consumes at least one bit past its parent's chunk */
#define SVC_MAX_DEPTH ((SVCTABLE_KEY_BITS - SVC_ROOT_BITS) / SVC_STRIDE + 2)
/* candidate tag: the value is a rule index (terminal), not a leaf position */
#define SVC_CAND_RULE (1u << 31)
/* candidate tag: every bit of its prefix was compared on the way down, so it
 * covers the key without a look at the rule (leaf positions stay below 2^30:
 * the leaf arena holds 16 per rule, at most 2^26) */
#define SVC_CAND_SURE (1u << 30)

/*
 * One trie node, 32 bytes, two per cache line. It indexes key bits
 * [pos, pos + 6) (bits past 256 read as zero).
 * - child_vec bit i: slot i has a child; children are contiguous from
 *   child_base in the node arena, in slot order.
 * - leaf_vec bit i: a new run of leaf values starts at slot i (bit 0 set
 *   whenever there are leaves); runs are contiguous from leaf_base in the
 *   leaf arena. A leaf is the rule of the longest prefix ending inside this
 *   node that covers the slot, or 0.
 * - both bitmaps 0: a terminal, the only prefix of its subtree; leaf_base
 *   holds its rule index. When every child of a node is a terminal, the
 *   children are 8-byte records instead (SVC_KIDS_PACKED, struct svc_term).
 * - fp: a fingerprint, up to 32 key bits every prefix below shares, taken
 *   just before pos (a terminal: the first SVC_TERM_FP_MAX bits at most of
 *   its prefix past its parent's chunk). A key that differs there matches nothing below, so the
 *   descent stops at once instead of running blind to the bottom and
 *   verifying rules that cannot match. It only ever compares bits on this
 *   node's own path, so a node copied under a new parent stays sound.
 */
struct svc_node {
	uint64_t child_vec;
	uint64_t leaf_vec;
	uint32_t child_base;
	uint32_t leaf_base;
	uint16_t pos;
	uint16_t fp_at;   /* first fingerprint bit (bits 0-7), length 0..32 (8-13),
			   * SVC_FP_WHOLE */
	uint32_t fp;      /* the fingerprint bits, right-aligned */
};

_Static_assert(sizeof(struct svc_node) == 32, "two trie nodes per cache line");

/*
 * fp_at flag of a terminal: its fingerprint runs to the end of its prefix.
 * A key that matches it, and whose bits before it were all compared on the
 * way down (no blind skip), lies under the prefix: the rule need not be read.
 */
#define SVC_FP_WHOLE (1u << 14)

/*
 * fp_at flag of a node whose children are all terminals: its child array
 * holds 8-byte svc_term records in the term arena, not 32-byte nodes. At a
 * million prefixes some 80% of trie nodes are terminals, and most of them
 * sit in such arrays; a terminal node uses 10 of its 32 bytes.
 */
#define SVC_KIDS_PACKED (1u << 15)

/* a terminal's fingerprint is at most this long, so it fits a record */
#define SVC_TERM_FP_MAX 24

/*
 * A terminal in a packed child array: the same content as a terminal node
 * (rule, fingerprint start, length and SVC_FP_WHOLE, fingerprint), in one
 * word. Self-contained like a node, so a record copied into a new array
 * (its parent rebuilt elsewhere) stays sound.
 */
struct svc_term {
	uint64_t fp : SVC_TERM_FP_MAX;  /* key bits [from, from + fp_len), right-aligned */
	uint64_t fp_len : 5;            /* 0..SVC_TERM_FP_MAX */
	uint64_t whole : 1;             /* SVC_FP_WHOLE */
	uint64_t from : 8;
	uint64_t rule : 25;
	uint64_t unused : 1;
};

_Static_assert(sizeof(struct svc_term) == 8, "eight terminal records per cache line");

/*
 * Tag of a rib node's dp_idx (and of a lookup's next node): the index is a
 * record in the term arena, not a node.
 */
#define SVC_DP_TERM (1u << 31)

static inline unsigned int
svc_fp_from(uint16_t fp_at)
{
	return fp_at & 0xffu;
}

static inline unsigned int
svc_fp_len(uint16_t fp_at)
{
	return (fp_at >> 8) & 0x3fu;
}

/*
 * The root: the /0 rule and one entry per value of key bits [0, 18). An
 * entry is one 64-bit word, so one load gives a consistent view:
 *   bits  0..26  child node index (0 = none; it sits alone in a 1-node array)
 *   bits 27..51  rule of the longest prefix of length 1..18 covering the slot
 *   bits 52..55  fingerprint length, 0..8
 *   bits 56..63  fingerprint: key bits [18, 18 + length) every prefix under
 *                the child shares, so most keys that match nothing there are
 *                turned away without loading the child
 * 18 bits, not 16: a key that matches nothing usually ends at its entry, and
 * four times the entries leave a quarter as many with a child to descend to.
 * The entries live in pages, so a commit that changes several of them (a
 * short prefix spans up to 2^18 / 2^len) copies only the pages it changes,
 * not all 2 MB; a page pointer is read from the root's own lines (in L1).
 */
#define SVC_PAGE_BITS 12
#define SVC_PAGE_SLOTS (1u << SVC_PAGE_BITS)
#define SVC_PAGE_BYTES (SVC_PAGE_SLOTS * sizeof(uint64_t))
#define SVC_PAGES (SVC_ROOT_SLOTS >> SVC_PAGE_BITS)

struct svc_root {
	uint32_t default_rule;         /* [R] the /0 rule, 0 = none */
	uint32_t pad[15];
	uint64_t *page[SVC_PAGES];     /* [I] pages of entries; an entry is [R] */
};

_Static_assert(SVC_PAGES <= 64, "a commit tracks the pages it copies in one word");

static inline uint64_t *
svc_root_slot(const struct svc_root *r, uint32_t s)
{
	return &r->page[s >> SVC_PAGE_BITS][s & (SVC_PAGE_SLOTS - 1)];
}

#define SVC_ENTRY_CHILD_BITS 27
#define SVC_ENTRY_RULE_BITS 25
#define SVC_ENTRY_FP_MAX 8

static inline uint32_t
svc_entry_child(uint64_t e)
{
	return (uint32_t)(e & ((1u << SVC_ENTRY_CHILD_BITS) - 1));
}

static inline uint32_t
svc_entry_leaf(uint64_t e)
{
	return (uint32_t)(e >> SVC_ENTRY_CHILD_BITS) & ((1u << SVC_ENTRY_RULE_BITS) - 1);
}

static inline unsigned int
svc_entry_fp_len(uint64_t e)
{
	return (unsigned int)(e >> 52) & 0xf;
}

static inline unsigned int
svc_entry_fp(uint64_t e)
{
	return (unsigned int)(e >> 56);
}

static inline uint64_t
svc_entry_make(uint32_t child, uint32_t leaf, unsigned int fp_len, unsigned int fp)
{
	return (uint64_t)child | (uint64_t)leaf << SVC_ENTRY_CHILD_BITS |
		(uint64_t)fp_len << 52 | (uint64_t)fp << 56;
}

/* the same entry with another leaf rule */
static inline uint64_t
svc_entry_with_leaf(uint64_t e, uint32_t leaf)
{
	return svc_entry_make(svc_entry_child(e), leaf, svc_entry_fp_len(e),
			svc_entry_fp(e));
}

/* ---- arenas (svc_mem.c) ---- */

/* largest array: one node's children or leaf runs */
#define SVC_ARENA_MAX_RUN SVC_FANOUT

/*
 * A reserved (mmap, MAP_NORESERVE) array of fixed-size units, handing out
 * runs of 1..64 units by index. Index 0 is never handed out. Freed runs go
 * to a free list per run length (no coalescing: the mix of lengths is
 * stable under churn). Indexes, not pointers, keep nodes small, and the
 * base never moves, so workers index it without a lock.
 */
struct svc_arena {
	uint8_t *base;     /* [I] */
	size_t unit;       /* [I] bytes per unit */
	uint32_t cap;      /* [I] units reserved */
	uint32_t top;      /* [C] first never-used unit */
	uint32_t free_head[SVC_ARENA_MAX_RUN + 1]; /* [C] by run length */
	uint64_t live;     /* [C] units handed out and not freed */
	uint64_t free_units; /* [C] units on free lists */
};

int svc_arena_init(struct svc_arena *a, size_t unit, uint32_t cap);
void svc_arena_fini(struct svc_arena *a);
/* returns 0 when full */
uint32_t svc_arena_alloc(struct svc_arena *a, uint32_t n);
void svc_arena_free(struct svc_arena *a, uint32_t idx, uint32_t n);
/*
 * A run of two units at an even index (0 when full): with 32-byte units on
 * a page-aligned base, it never straddles a 64-byte line. An arena that uses
 * it holds runs of one and two units only (so every free run of two is even);
 * when the bump region is used up, free single units that pair up are joined.
 */
uint32_t svc_arena_alloc_pair(struct svc_arena *a);

static inline void *
svc_arena_ptr(const struct svc_arena *a, uint32_t idx)
{
	return a->base + (size_t)idx * a->unit;
}

/* a growable array of fixed-size elements (control side scratch) */
struct svc_vec {
	void *a;
	uint32_t n;
	uint32_t cap;
	uint32_t esz;
};

void svc_vec_init(struct svc_vec *v, uint32_t esz);
void svc_vec_fini(struct svc_vec *v);
/* returns a pointer to the new (uninitialised) element, or NULL */
void *svc_vec_push(struct svc_vec *v);
int svc_vec_reserve(struct svc_vec *v, uint32_t n);

/*
 * Vectors kept from one commit to the next, so that a commit of a few
 * operations (the usual one) calls no allocator. A vector a big commit grew
 * past SVC_VEC_KEEP_MAX elements is freed instead, so its memory goes back.
 */
#define SVC_VEC_KEEP_MAX 1024
/* *v takes the kept storage of *keep (or starts empty) */
void svc_vec_take(struct svc_vec *v, struct svc_vec *keep);
/* *keep takes the storage of *v back (or it is freed); *v is left empty */
void svc_vec_keep(struct svc_vec *keep, struct svc_vec *v);
/* keep a retire array for a later commit (or free it); *v is left empty */
void svc_retire_stash(struct svctable *t, struct svc_vec *v);

static inline void *
svc_vec_at(const struct svc_vec *v, uint32_t i)
{
	return (uint8_t *)v->a + (size_t)i * v->esz;
}

/* ---- rules ---- */

/*
 * Rules live in an arena of 32-byte units and are named by the index of
 * their first unit (25 bits, in root entries, trie terminals and leaves,
 * and rib `rep`). A rule of prefix_len <= SVCTABLE_RULE_SHORT_BITS takes
 * one unit, a longer one two, at an even index (svc_arena_alloc_pair()).
 */
#define SVC_RULE_UNIT 32
/* units for max_rules rules, all 64 bytes, old and new table of a reload */
#define SVC_RULE_UNITS_MAX(max_rules) (4ull * (max_rules) + 128)

static inline uint32_t
svc_rule_units(unsigned int prefix_len)
{
	return prefix_len > SVCTABLE_RULE_SHORT_BITS ? 2 : 1;
}

static inline const struct svctable_rule *
svc_rule_at(const uint8_t *base, uint32_t idx)
{
	return (const struct svctable_rule *)(const void *)(base + (size_t)idx * SVC_RULE_UNIT);
}

/* ---- rib (svc_rib.c) ---- */

#define SVC_RIB_DIRTY      0x1 /* this node or one below changed in the open commit */
#define SVC_RIB_DP_VALID   0x2 /* heads a trie node at dp_idx, and owns its arrays */
#define SVC_RIB_DP_INCL    0x4 /* that node includes this node's own prefix */
#define SVC_RIB_DEAD       0x8 /* DIRTY and no rule left below: pruned after the commit */
/* child i is DIRTY: kept in the parent so walks along dirty paths never
 * load the clean sibling (a cache miss per level) */
#define SVC_RIB_DIRTY_C(i) (0x10u << (i))
/* DIRTY, and made or given another rule by the open commit */
#define SVC_RIB_CHANGED    0x40
#define SVC_RIB_WALK_FLAGS (SVC_RIB_DIRTY | SVC_RIB_DEAD | SVC_RIB_DIRTY_C(0) | \
		SVC_RIB_DIRTY_C(1) | SVC_RIB_CHANGED)

/*
 * A rib node: a prefix (has_rule) or a branching point (no rule, two
 * children), 16 bytes, four per cache line: every commit walks the rib, and
 * at a million prefixes it is far bigger than the cache, so its size is its
 * speed as well as its memory. Children differ from the node at bit `len`.
 *
 * The node holds no key: its first `len` bits are those of the prefix of
 * `rep`, a rule somewhere in its subtree (its own rule when it has one).
 * Every rule's prefix is already stored in its rule object, so a second copy
 * per node would double the rib for nothing. A commit may leave `rep` of a
 * rule-less node naming a rule it deletes (still allocated: rules are
 * retired only after svc_rib_prune()), and svc_rib_prune() points it at a
 * live rule again on every path the commit touched, before any rule is
 * retired.
 *
 * Children are 27-bit signed offsets, in nodes, from the node itself (0:
 * none). Every node sits in one arena of at most 2^25 + 64 nodes (two per
 * prefix of both the old and the new table of a full reload), so any two
 * are less than 2^26 apart, and a child is found without the arena base.
 */
#define SVC_RIB_KID_BITS 27

struct svc_rib_node {
	union {
		struct {
			uint64_t kid0 : SVC_RIB_KID_BITS;
			uint64_t kid1 : SVC_RIB_KID_BITS;
			uint64_t len : 9;          /* 0..256 */
			uint64_t has_rule : 1;     /* rep is this node's own rule */
		};
		uint64_t link;
	};
	uint32_t rep : 25;                         /* a rule index */
	uint32_t flags : 7;                        /* SVC_RIB_* */
	uint32_t dp_idx;                           /* node arena index, if DP_VALID */
};

_Static_assert(sizeof(struct svc_rib_node) == 16, "four rib nodes per cache line");
_Static_assert(4ull * SVCTABLE_MAX_RULES + 64 < (1ull << (SVC_RIB_KID_BITS - 1)),
		"a child offset spans the whole rib arena");
_Static_assert(SVC_RULE_UNITS_MAX(SVCTABLE_MAX_RULES) < (1ull << 25),
		"rep holds any rule index");
_Static_assert(SVC_RULE_UNITS_MAX(SVCTABLE_MAX_RULES) < (1ull << 25),
		"a terminal record (struct svc_term) holds any rule index");

/* the rib arena's size for a table of max_rules */
#define SVC_RIB_MAX_NODES(max_rules) (4u * (max_rules) + 64)

/* child i of x, or NULL */
static inline struct svc_rib_node *
svc_rib_kid(const struct svc_rib_node *x, unsigned int i)
{
	/* child i's offset is bits [27i, 27i + 27) of link: shift them to the
	 * top, then back down arithmetically to sign-extend */
	int64_t off = (int64_t)(x->link << (64 - SVC_RIB_KID_BITS * (i + 1))) >>
		(64 - SVC_RIB_KID_BITS);

	return off == 0 ? NULL : (struct svc_rib_node *)(uintptr_t)(x + off);
}

static inline void
svc_rib_set_kid(struct svc_rib_node *x, unsigned int i, const struct svc_rib_node *c)
{
	uint64_t off = c == NULL ? 0 :
		(uint64_t)(c - x) & ((1ull << SVC_RIB_KID_BITS) - 1);

	if (i == 0)
		x->kid0 = off;
	else
		x->kid1 = off;
}

/* x's own rule, 0 for a branching point */
static inline uint32_t
svc_rib_rule(const struct svc_rib_node *x)
{
	return x->has_rule ? x->rep : 0;
}

/* give x its own rule, or take it away (0): rep then keeps naming the old
 * rule, which stays allocated until svc_rib_prune() has moved reps off it */
static inline void
svc_rib_set_rule(struct svc_rib_node *x, uint32_t rule)
{
	x->has_rule = rule != 0;
	if (rule != 0)
		x->rep = rule;
}

/*
 * An insert below the root table need not start at the rib's root: about
 * half of a descent at a million prefixes (some 15 dependent cache misses)
 * lies above bit 18, where the path of a root slot rarely changes. A hint
 * names, per value of the first 16 key bits, a node shorter than 16 bits on
 * their path (0: not known): the deepest one when a root slot under it was
 * last built, which sets it. Any node on the path will do, so only removing
 * a node shorter than 16 bits drops the hints under it. Hints take 4 bytes
 * per 16-bit value, in 4 KB pages made on first use, and only once the rib
 * has SVC_HINT_MIN_NODES nodes: a small rib is in the cache anyway.
 *
 * An insert that starts at a hint leaves the nodes above it unmarked, so
 * svc_rib_prune() starts there too (struct svc_rib::starts). Only commits
 * without deletes may do so (struct svc_rib::hints_ok): a delete can take a
 * node's purpose away, and a replace retires a rule that nodes above the
 * hint may be keyed by; those take the whole path.
 */
#define SVC_HINT_BITS 16
#define SVC_HINT_PAGE_BITS 10
#define SVC_HINT_MIN_NODES (1u << 16)

struct svc_rib {
	struct svc_rib_node *root;        /* len 0, never removed */
	const uint8_t *rule_base;         /* [I] rule arena base: the keys */
	struct svc_arena arena;           /* the nodes, in runs of one */
	/* node arena index per root slot, in pages made on first use */
	uint32_t *hint[1u << (SVC_HINT_BITS - SVC_HINT_PAGE_BITS)];
	uint32_t hint_min_nodes;          /* SVC_HINT_MIN_NODES (tests lower it) */
	bool hints_ok;                    /* the open commit may start at hints */
	uint64_t hint_starts;             /* inserts that did (for tests) */
	struct svc_vec starts;            /* struct svc_rib_node *, where it did */
};

/* x's index in the rib arena */
static inline uint32_t
svc_rib_idx(const struct svc_rib *r, const struct svc_rib_node *x)
{
	return (uint32_t)(x - (const struct svc_rib_node *)(const void *)r->arena.base);
}

/* the rule that keys x (rep), for a prefetch before svc_rib_key() */
static inline const struct svctable_rule *
svc_rib_rep(const struct svc_rib *r, const struct svc_rib_node *x)
{
	/* rule 0 is never handed out: its (zeroed) unit keys the root */
	return svc_rule_at(r->rule_base, x->rep);
}

/*
 * The node's key, copied into *buf (returned): bits [0, len) are valid,
 * later bits are not zero. A copy, not a pointer into the rule: the key
 * helpers read whole 8-byte words, and a 32-byte rule holds only 12 key
 * bytes, so they would read its neighbour's.
 */
static inline const struct svctable_key *
svc_rib_key(const struct svc_rib *r, const struct svc_rib_node *x,
		struct svctable_key *buf)
{
	svctable_rule_prefix(svc_rib_rep(r, x), buf);
	return buf;
}

/* rule_base: the rule arena base, whose unit 0 reads as zeros; room for
 * max_nodes nodes (SVC_RIB_MAX_NODES()) */
int svc_rib_init(struct svc_rib *r, const uint8_t *rule_base, uint32_t max_nodes);
void svc_rib_fini(struct svc_rib *r);
/* make sure n nodes can be created without allocating */
int svc_rib_reserve(struct svc_rib *r, uint32_t n);
/* the hint for root slot s (see struct svc_rib), or NULL */
struct svc_rib_node *svc_rib_hint(const struct svc_rib *r, uint32_t s);
/* set it to x (len < SVC_HINT_BITS; a hint that cannot be stored is simply
 * not there) */
void svc_rib_hint_set(struct svc_rib *r, uint32_t s, const struct svc_rib_node *x);
struct svc_rib_node *svc_rib_find(const struct svc_rib *r,
		const struct svctable_key *key, unsigned int len);
/* find or create the node for (key, len), marking the path DIRTY; rule
 * (already filled in, with prefix key) keys the nodes it creates; needs 2
 * reserved nodes */
struct svc_rib_node *svc_rib_insert(struct svc_rib *r,
		const struct svctable_key *key, unsigned int len, uint32_t rule);
/* find (key, len) and mark the path DIRTY; NULL if absent */
struct svc_rib_node *svc_rib_mark(struct svc_rib *r,
		const struct svctable_key *key, unsigned int len);
/* mark DEAD the DIRTY nodes with no rule in their subtree, so the trie
 * build sees the rib as it will be once pruned */
void svc_rib_mark_dead(struct svc_rib *r);
/* remove rule-less nodes with fewer than two children on DIRTY paths, point
 * `rep` of the nodes there at live rules and clear DIRTY and DEAD; returns
 * the number of removed nodes that still had DP_VALID set (a leak: 0
 * whenever the trie build is right) */
uint32_t svc_rib_prune(struct svc_rib *r);
typedef int (*svc_rib_walk_fn)(const struct svc_rib_node *n, void *arg);
int svc_rib_walk(const struct svc_rib *r, svc_rib_walk_fn fn, void *arg);
size_t svc_rib_memory(const struct svc_rib *r);

/* key helpers (control side; bits past 256 read as zero) */
static inline unsigned int
svc_key_bit(const struct svctable_key *k, unsigned int i)
{
	return i < SVCTABLE_KEY_BITS ? (k->bytes[i >> 3] >> (7 - (i & 7))) & 1 : 0;
}

/* bits [pos, pos + n) as a number, 1 <= n <= 32 */
static inline uint32_t
svc_key_bits32(const struct svctable_key *k, unsigned int pos, unsigned int n)
{
	unsigned int b = pos >> 3, i;
	uint64_t v = 0;

	for (i = 0; i < 5; i++)
		v = v << 8 | (b + i < SVCTABLE_KEY_LEN ? k->bytes[b + i] : 0);
	return (uint32_t)((v << (24 + (pos & 7))) >> (64 - n));
}

/* bits [pos, pos + n) as a number, 1 <= n <= 16 */
static inline unsigned int
svc_key_bits(const struct svctable_key *k, unsigned int pos, unsigned int n)
{
	unsigned int b = pos >> 3, i;
	uint32_t v = 0;

	for (i = 0; i < 4; i++)
		v = v << 8 | (b + i < SVCTABLE_KEY_LEN ? k->bytes[b + i] : 0);
	return (uint32_t)(v << (pos & 7)) >> (32 - n);
}

/* first bit index < limit where a and b differ, or limit */
unsigned int svc_key_diff(const struct svctable_key *a,
		const struct svctable_key *b, unsigned int limit);
bool svc_key_valid(const struct svctable_key *k, unsigned int len);

/* ---- target sets (svc_tset.c) ---- */

/*
 * A canonical target list with its consistent-hash table, shared (interned)
 * by every rule with the same list. Immutable once a rule using it is
 * published; freed after a grace period once no rule uses it.
 */
struct svc_tset {
	struct svc_tset *next;    /* [C] intern chain */
	uint64_t hash;            /* [C] */
	uint32_t refcnt;          /* [C] rules using it, committed or being committed */
	size_t bytes;             /* [C] allocation size */
	/* [I] what rules point at: counts, then the targets (sorted: priority
	 * desc, id asc), then the lut; last, as its targets run on */
	struct svctable_targets pub;
};

struct svc_tset_table {
	struct svc_tset **buckets;
	uint32_t mask;
	uint32_t n;
	size_t bytes;             /* sum of live tset allocations */
};

int svc_tset_table_init(struct svc_tset_table *tt);
/* frees every tset still interned */
void svc_tset_table_fini(struct svc_tset_table *tt);
/* canonicalise, validate and sort a list in place: 0, -EINVAL, -E2BIG */
int svc_targets_canon(struct svctable_target *v, uint32_t n);
/* find or build the set for a canonical list; takes a reference */
struct svc_tset *svc_tset_get(struct svc_tset_table *tt,
		const struct svctable_target *v, uint32_t n);
/* drop a reference; returns true when it was the last (the set is then
 * unlinked and the caller frees it, after a grace period if published) */
bool svc_tset_put(struct svc_tset_table *tt, struct svc_tset *s);
void svc_tset_free(struct svc_tset *s);

/* the set a rule's tset belongs to */
static inline struct svc_tset *
svc_tset_of(const struct svctable_targets *pub)
{
	return (struct svc_tset *)(void *)((uint8_t *)(uintptr_t)pub -
			offsetof(struct svc_tset, pub));
}

/* ---- retire queue ---- */

enum svc_retire_kind {
	SVC_RETIRE_NODES,
	SVC_RETIRE_LEAVES,
	SVC_RETIRE_TERMS,
	SVC_RETIRE_RULE,
	SVC_RETIRE_TSET,
	SVC_RETIRE_ROOT,
	SVC_RETIRE_PAGE,
};

struct svc_retire {
	uint32_t kind;
	uint32_t n;        /* units, for arenas */
	union {
		uint32_t idx;
		void *ptr;
	};
};

struct svc_retire_batch {
	uint64_t token;
	struct svc_retire *items;
	uint32_t n;
	uint32_t cap;      /* items allocated */
	size_t bytes;
};

/* freed retire arrays kept for the next commits' retire lists */
#define SVC_RETIRE_STASH 16

/* ---- the table ---- */

struct svctable {
	/* read by workers: first cache line, written only at create */
	struct svc_root *root;                /* [R] swapped by batch commits */
	const struct svc_node *nodes;         /* [I] node arena base */
	const uint32_t *leaves;               /* [I] leaf arena base */
	const uint8_t *rule_base;             /* [I] rule arena base (svc_rule()) */
	const struct svc_term *terms;         /* [I] term arena base */

	/* control lcore only from here on: a separate line, so control
	 * writes never invalidate the workers' line */
	_Alignas(64) struct svc_arena node_arena;  /* [C] */
	struct svc_arena leaf_arena;          /* [C] */
	struct svc_arena term_arena;          /* [C] units of one svc_term */
	struct svc_arena rule_arena;          /* [C] SVC_RULE_UNIT units, runs of 1-2 */
	struct svc_rib rib;                   /* [C] */
	struct svc_tset_table tsets;          /* [C] */
	struct rte_rcu_qsbr *qsv;             /* [C] */
	struct svc_retire_batch *rq;          /* [C] reclaim queue (ring) */
	uint32_t rq_size;                     /* [C] */
	uint32_t rq_head;                     /* [C] oldest */
	uint32_t rq_count;                    /* [C] */
	size_t pending_bytes;                 /* [C] */
	uint64_t version;                     /* [C] bumped by every commit */
	uint32_t count;                       /* [C] committed rules */
	uint32_t max_rules;                   /* [I] */
	uint32_t open_txns;                   /* [C] */
	/* [C] root slot -> 1 + its index in svc_build::slots during a commit
	 * (0: untouched), open addressing; kept while small */
	uint32_t *slot_map;
	uint32_t slot_map_bits;               /* [C] log2 of its size, 0: none */
	/* [C] kept across commits (see svc_vec_take()) */
	struct svctable_txn *txn_cache;       /* an ended transaction, reset */
	struct svc_vec keep_fresh;            /* struct svc_fresh */
	struct svc_vec keep_fixup;            /* struct svc_fixup */
	struct svc_vec keep_slots;            /* struct svc_slot, svc_build::slots */
	struct svc_vec keep_order;            /* uint32_t, slots to rebuild */
	struct svc_vec retire_stash[SVC_RETIRE_STASH]; /* struct svc_retire */
	uint32_t n_retire_stash;
	uint64_t n_inplace;                   /* [C] commits published in place */
};

/* rule idx of t (0: the zeroed unit, a rule of length 0) */
static inline const struct svctable_rule *
svc_rule(const struct svctable *t, uint32_t idx)
{
	return svc_rule_at(t->rule_base, idx);
}

/* ---- trie build (svc_trie.c) ---- */

/*
 * A root entry a commit touches, with its new value. A commit keeps only
 * the entries it touches (in svc_build::slots, found through
 * svctable::slot_map), not a copy of all 2^18: a table of a thousand rules
 * should not carry 2 MB of commit scratch.
 */
struct svc_slot {
	uint64_t entry;                       /* the new value */
	uint32_t slot : 24;                   /* root slot */
	uint32_t flags : 8;                   /* SVC_SLOT_* */
	uint32_t at;                          /* its place in the slot map */
};

#define SVC_SLOT_LEAVES 0x1 /* its leaf was recomputed by this commit */
/* a slot map this big (in entries) is freed after its commit */
#define SVC_SLOT_MAP_KEEP_BITS 12

struct svc_fixup {
	struct svc_rib_node *node;
	uint32_t dp_idx;                      /* 0: no longer heads a node */
	uint16_t flags;                       /* DP_INCL or 0 */
};

struct svc_fresh {
	uint32_t kind;                        /* SVC_RETIRE_NODES / _LEAVES / _TERMS */
	uint32_t idx;
	uint32_t n;
};

/* what one commit's trie update needs and produces */
struct svc_build {
	struct svctable *t;
	struct svc_vec retire;                /* struct svc_retire, freed after publish */
	struct svc_vec fresh;                 /* struct svc_fresh, freed on failure */
	struct svc_vec fixup;                 /* struct svc_fixup, applied after publish */
	struct svc_vec slots;                 /* struct svc_slot, the touched entries */
	uint32_t new_default;
	bool default_changed;
	bool copy_root;
	struct svc_root *new_root;            /* when copy_root */
	uint64_t new_pages;                   /* pages of new_root that are copies */
	uint32_t n_changes;
	/*
	 * A commit of one change may be published by one store into a live
	 * node instead: when a rebuilt node differs from its published self
	 * only in child_base, that word is stored in place and every node
	 * above it stays as it is (no copy, no root entry store).
	 */
	bool inplace_ok;                      /* this commit may */
	bool inplace_used;                    /* it does: */
	uint32_t inplace_node;                /* node arena index */
	uint32_t inplace_base;                /* its new child_base */
};

void svc_build_init(struct svc_build *b, struct svctable *t);
void svc_build_fini(struct svc_build *b);
/* after the rib holds the new state: recompute root leaves over the prefix
 * (1 <= len <= 16) */
int svc_build_leaves(struct svc_build *b, const struct svctable_key *key,
		unsigned int len);
/* rebuild the region of a root slot */
int svc_build_slot(struct svc_build *b, uint32_t slot);
/* decide how to publish; allocates a new root if needed */
int svc_build_prepare(struct svc_build *b);
/* one release store (or one per changed slot when only one changed) */
void svc_build_publish(struct svc_build *b);
/* after publish: set the rib's trie bookkeeping */
void svc_build_apply_fixups(struct svc_build *b);
/* on failure: free every array this build allocated */
void svc_build_rollback(struct svc_build *b);

int svc_trie_init(struct svctable *t);
void svc_trie_fini(struct svctable *t);
/* free one retired item now */
void svc_free_item(struct svctable *t, const struct svc_retire *it);
size_t svc_item_bytes(const struct svctable *t, const struct svc_retire *it);

/*
 * White-box check for tests: every arena unit is reachable from the
 * published trie exactly once, pending reclamation, or free; the rib is
 * canonical and its bookkeeping matches the trie. Returns 0 or -EFAULT,
 * with a reason in msg.
 */
int svc_check(const struct svctable *t, char *msg, size_t msglen);

#endif /* SVCTABLE_PRIV_H */
