/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The service table: longest-prefix match over 256-bit serviceIDs, and
 * weighted consistent choice of a target for a new flow.
 *
 * Every connection request is classified by the longest prefix of its
 * serviceID that has a rule. Prefixes are 0..256 bits long, compared from the
 * most significant bit of byte 0; a /0 rule is the default.
 *
 * Concurrency contract (one writer, many readers, no locks):
 * - **Control lcore** (one thread at a time, the single writer): every
 *   function that changes the table, plus svctable_get(), svctable_walk(),
 *   svctable_count(), svctable_memory(), svctable_reclaim(). These functions
 *   are not thread-safe among themselves: call them from one thread only.
 * - **Workers** (any number of threads): svctable_lookup_bulk(),
 *   svctable_lookup(), svctable_pick_bulk(), svctable_pick(),
 *   svctable_flow_hash(). They take no lock, do no atomic read-modify-write
 *   and never block. A rule pointer they obtain stays valid, and its content
 *   unchanged, until that worker's next quiescent state report on the
 *   rte_rcu_qsbr variable attached with svctable_rcu_attach().
 * - A commit is built aside and published with one release store, so every
 *   lookup sees the table as it was before a commit or after it, never a
 *   part of it, and never a half-made rule. A transaction switches all its
 *   keys from the old rule set to the new one at one instant: a commit of
 *   one change may store one child index inside a trie node, a commit
 *   confined to one root slot (one value of the first 18 key bits) stores
 *   that slot's entry, any other commit stores a new root pointer, which one
 *   svctable_lookup_bulk() call reads once (so the whole burst sees such a
 *   commit whole, or not at all).
 *   Lookups that start after svctable_txn_commit() returns see the commit.
 * - Memory is reclaimed only after a QSBR grace period. The library owns no
 *   thread: the control loop calls svctable_reclaim() on each pass, which
 *   never waits. With no QSBR variable attached, memory is freed at once
 *   (correct single-threaded; unit tests need no EAL).
 *
 * No EAL is needed: memory comes from mmap/malloc, not rte_malloc.
 */

#ifndef SVCTABLE_H
#define SVCTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_rcu_qsbr;

/** Bytes in a serviceID. */
#define SVCTABLE_KEY_LEN 32
/** Bits in a serviceID: the longest prefix. */
#define SVCTABLE_KEY_BITS 256
/**
 * Largest svctable_conf::max_rules. Rules are named by 25-bit indexes of
 * 32-byte units, and a reload may hold the old and the new table of 64-byte
 * rules at once: 4 units per rule.
 */
#define SVCTABLE_MAX_RULES (1u << 22)
/** Most targets one rule may carry. */
#define SVCTABLE_MAX_TARGETS 1024
/**
 * Default svctable_conf::reclaim_queue_size: about 20 ms of single-prefix
 * commits at 200k/s, so a worker that misses its quiescent reports for a
 * scheduler time slice does not stall the control lcore.
 */
#define SVCTABLE_RECLAIM_QUEUE_DEFAULT 4096
/** log2 of the consistent-hash table size of a rule with 2+ active targets. */
#define SVCTABLE_LUT_BITS 16
/** Largest svctable_lookup_bulk() batch processed in one pass (any n works). */
#define SVCTABLE_LOOKUP_BATCH 32

/** svctable_conf::flags: none defined yet; any bit outside the mask is EINVAL. */
#define SVCTABLE_F_ALL 0u

/**
 * A serviceID, or a prefix of one: 32 bytes, most significant bit first.
 * Alignment 1, so a pointer into a packet (or a struct sal_service_id, which
 * has the same layout) can be cast to it.
 */
struct svctable_key {
	uint8_t bytes[SVCTABLE_KEY_LEN]; /**< byte 0 holds bits 0..7, bit 0 = MSB */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct svctable_key) == SVCTABLE_KEY_LEN,
	"svctable_key must be exactly 32 bytes");
_Static_assert(_Alignof(struct svctable_key) == 1,
	"svctable_key must be castable from packet bytes");
#endif

/** What a rule does with a matching connection request. */
enum svctable_action {
	SVCTABLE_ACTION_FORWARD = 0, /**< to one target chosen by svctable_pick() */
	SVCTABLE_ACTION_LOCAL,       /**< the router terminates the flow itself */
	SVCTABLE_ACTION_DELAY,       /**< hold the request and ask the controller */
	SVCTABLE_ACTION_DROP,        /**< drop (the app counts it) */
	SVCTABLE_ACTION_MAX,         /**< number of actions; not an action */
};

/**
 * One target of a FORWARD rule.
 *
 * Targets are grouped by priority: **a higher number is preferred** (as in the
 * original Serval service table; `priority: 0` everywhere gives one group).
 * New flows go to the highest-priority group that has a target with a
 * non-zero weight; within it, each target receives a share of new flows
 * proportional to its weight. Weight 0 means draining: the target receives
 * no new flows but stays in the rule, so the app can keep its existing flows.
 */
struct svctable_target {
	uint32_t ip;       /**< IPv4 address; opaque here (the app picks the byte order) */
	uint32_t id;       /**< stable id, unique within the rule; keys the hashing */
	uint16_t weight;   /**< share of new flows in its group; 0 = draining */
	uint16_t priority; /**< group; higher number preferred */
};

/** What the app asks for when it adds a rule (copied; the caller keeps its memory). */
struct svctable_rule_conf {
	enum svctable_action action;
	uint32_t id;          /**< opaque to the library (e.g. a stable counter index) */
	uint32_t user_flags;  /**< opaque to the library (e.g. resolve/gateway mode) */
	/** FORWARD only: 1..SVCTABLE_MAX_TARGETS targets, ids unique; NULL/0 otherwise. */
	const struct svctable_target *targets;
	uint32_t n_targets;
};

/**
 * A target set: the canonical target list of one or more FORWARD rules, with
 * its consistent-hash table. Rules with identical target lists share one set
 * (interned), so a set may be named by many rules. Immutable while any
 * published rule names it.
 *
 * `targets` is sorted by priority, highest first, then by id. When
 * n_active != 0 the lut (see svctable_pick()) follows the targets in memory:
 * `uint16_t[1 << lut_bits]`, found with svctable_rule_lut().
 */
struct svctable_targets {
	uint16_t n_targets;         /**< entries in targets[] (1..SVCTABLE_MAX_TARGETS) */
	uint16_t n_active;          /**< targets that receive new flows (0: no target) */
	/** log2 of the lut size: 0 (one active target) or SVCTABLE_LUT_BITS. */
	uint8_t lut_bits;
	uint8_t reserved[3];        /**< zero */
	struct svctable_target targets[]; /**< then the lut, when n_active != 0 */
};

/** A rule whose prefix_len is at most this takes 32 bytes; a longer one 64. */
#define SVCTABLE_RULE_SHORT_BITS 96

/**
 * A published rule. Immutable: the table never changes a published rule;
 * a replace publishes a new object and retires the old one.
 *
 * The object is variable-sized, so that the rules of a million prefixes do
 * not each carry a 32-byte key: a 20-byte header, then the prefix's bytes.
 * A rule with prefix_len <= SVCTABLE_RULE_SHORT_BITS is 32 bytes (12 key
 * bytes); a longer one is 64 bytes (32 key bytes, 12 unused). Each object
 * sits in its own 32- or 64-byte aligned block, so it never straddles a
 * cache line: a worker reads every field of the rule it matched, and a
 * rule across two lines cost a resolve SYN about 8% more cycles.
 *
 * Consequences for users:
 * - sizeof(struct svctable_rule) is not the size of a rule: never copy one
 *   by value, and read the prefix with svctable_rule_prefix() (prefix[] has
 *   only ceil(prefix_len / 8) meaningful bytes, and the bytes of a 32-byte
 *   rule end after prefix[11]);
 * - the targets are in the shared set `tset` (svctable_pick() chooses one).
 */
struct svctable_rule {
	/** The rule's target set; NULL unless FORWARD. */
	const struct svctable_targets *tset;
	uint32_t id;                /**< from svctable_rule_conf::id */
	uint32_t user_flags;        /**< from svctable_rule_conf::user_flags */
	uint16_t prefix_len;        /**< 0..256 */
	uint8_t action;             /**< enum svctable_action */
	uint8_t reserved;           /**< zero */
	/**
	 * The prefix's first ceil(prefix_len / 8) bytes, most significant bit
	 * first; bits past prefix_len are zero. Read it whole with
	 * svctable_rule_prefix().
	 */
	uint8_t prefix[];
};

#ifndef __cplusplus
_Static_assert(offsetof(struct svctable_rule, prefix) == 20,
	"a 32-byte rule holds 12 key bytes");
_Static_assert(32 - 20 == SVCTABLE_RULE_SHORT_BITS / 8,
	"SVCTABLE_RULE_SHORT_BITS is what a 32-byte rule holds");
#endif

/**
 * A rule's prefix as a whole key: its stored bytes, zero-filled to 32.
 *
 * Thread: any (a worker, between quiescent state reports, for a rule it
 * looked up).
 *
 * @param rule
 *   A rule from the table (svctable_get(), a lookup, a walk); not NULL.
 * @param out
 *   Out: the prefix, bits past prefix_len zero (a valid svctable_txn_add()
 *   prefix with length rule->prefix_len).
 */
static inline void
svctable_rule_prefix(const struct svctable_rule *rule, struct svctable_key *out)
{
	if (rule->prefix_len > SVCTABLE_RULE_SHORT_BITS) {
		memcpy(out->bytes, rule->prefix, SVCTABLE_KEY_LEN);
	} else {
		memcpy(out->bytes, rule->prefix, SVCTABLE_RULE_SHORT_BITS / 8);
		memset(out->bytes + SVCTABLE_RULE_SHORT_BITS / 8, 0,
				SVCTABLE_KEY_LEN - SVCTABLE_RULE_SHORT_BITS / 8);
	}
}

/**
 * A rule's consistent-hash table (see svctable_pick()): 2^lut_bits indexes
 * into tset->targets[], stored right after them.
 *
 * Thread: any.
 *
 * @return
 *   The table, or NULL when the rule has no active target (or is not
 *   FORWARD).
 */
static inline const uint16_t *
svctable_rule_lut(const struct svctable_rule *rule)
{
	const struct svctable_targets *ts = rule->tset;

	if (ts == NULL || ts->n_active == 0)
		return NULL;
	return (const uint16_t *)(const void *)(ts->targets + ts->n_targets);
}

/** Table configuration for svctable_create(). */
struct svctable_conf {
	uint32_t max_rules;   /**< 1..SVCTABLE_MAX_RULES; beyond it commits fail with ENOSPC */
	/**
	 * Commits that may wait for a grace period at once (0: the default,
	 * SVCTABLE_RECLAIM_QUEUE_DEFAULT). When the queue is full, a commit
	 * fails with -EAGAIN until svctable_reclaim() frees some.
	 */
	uint32_t reclaim_queue_size;
	/**
	 * NUMA socket for the table's memory. Advisory: memory is mmap'd and
	 * placed on first touch by the control lcore, which should run on it.
	 */
	int socket_id;
	uint32_t flags;       /**< SVCTABLE_F_* (none yet: must be 0) */
};

/** Memory held by a table, in bytes (see svctable_memory()). */
struct svctable_memory {
	size_t trie_bytes;     /**< data-plane trie: root table, nodes, leaf arrays */
	size_t rule_bytes;     /**< published rule objects */
	size_t target_bytes;   /**< target sets with their lookup tables (shared) */
	size_t rib_bytes;      /**< control model (prefix tree, intern table) */
	size_t pending_bytes;  /**< retired, waiting for a grace period */
	size_t free_bytes;     /**< freed arena memory kept for reuse */
	size_t reserved_bytes; /**< virtual address space reserved (not all resident) */
};

/** Opaque table handle. */
struct svctable;
/** Opaque transaction handle. */
struct svctable_txn;

/**
 * Create a table.
 *
 * Thread: control lcore. Needs no EAL.
 *
 * @param conf
 *   Configuration; not kept.
 * @return
 *   The table, or NULL with rte_errno set: EINVAL (conf NULL, max_rules 0 or
 *   too large, unknown flags), ENOMEM.
 */
struct svctable *
svctable_create(const struct svctable_conf *conf);

/**
 * Free a table and everything it holds, including memory still waiting for
 * a grace period. Abort open transactions first. No worker may use the
 * table any more (stop them, or wait with rte_rcu_qsbr_synchronize(),
 * before calling this).
 *
 * Thread: control lcore. NULL is a no-op.
 */
void
svctable_free(struct svctable *t);

/**
 * Attach the app's QSBR variable. From then on, retired memory is freed by
 * svctable_reclaim() only after every registered worker has reported a
 * quiescent state. Attach before any worker reads the table.
 *
 * Thread: control lcore.
 *
 * @return
 *   0, -EINVAL (t or v NULL), -EEXIST (already attached).
 */
int
svctable_rcu_attach(struct svctable *t, struct rte_rcu_qsbr *v);

/**
 * Free what earlier commits retired, as far as grace periods have ended.
 * Never waits for a worker. Call it on every pass of the control loop.
 *
 * Thread: control lcore.
 *
 * @return
 *   The number of commits whose memory was freed (>= 0), -EINVAL (t NULL).
 */
int
svctable_reclaim(struct svctable *t);

/**
 * Commits still waiting for a grace period.
 *
 * Thread: control lcore.
 */
uint32_t
svctable_reclaim_pending(const struct svctable *t);

/**
 * Begin a transaction (pf style): stage adds and deletes, then commit them
 * all at one instant or not at all. Nothing is visible before the commit.
 * The transaction records the table version; if another commit lands first,
 * this one's commit fails with -EBUSY.
 *
 * Thread: control lcore.
 *
 * @return
 *   A transaction, or NULL with rte_errno set: EINVAL (t NULL), ENOMEM.
 */
struct svctable_txn *
svctable_txn_begin(struct svctable *t);

/**
 * Stage an insert, or a replace if the prefix exists (or is staged). A later
 * operation on the same prefix in the same transaction supersedes it.
 *
 * Thread: control lcore.
 *
 * @param prefix
 *   The prefix; bits past @p len must be zero (see svctable_key_mask()).
 * @param len
 *   Prefix length in bits, 0..256.
 * @param rc
 *   The rule; copied.
 * @return
 *   0; -EINVAL (NULL argument, len > 256, bits set past len, bad action,
 *   FORWARD without targets or with duplicate target ids, targets on a
 *   non-FORWARD rule); -E2BIG (more than SVCTABLE_MAX_TARGETS targets);
 *   -ENOMEM. On error nothing is staged.
 */
int
svctable_txn_add(struct svctable_txn *txn, const struct svctable_key *prefix,
		unsigned int len, const struct svctable_rule_conf *rc);

/**
 * Stage the deletion of a prefix that exists in the table (and is not
 * deleted earlier in this transaction) or is added earlier in it. Deleting a
 * prefix removes only its own rule: longer prefixes under it stay.
 *
 * Thread: control lcore.
 *
 * @return
 *   0; -EINVAL (NULL, len > 256, bits set past len); -ENOENT (no such
 *   prefix as this transaction sees the table); -ENOMEM.
 */
int
svctable_txn_del(struct svctable_txn *txn, const struct svctable_key *prefix,
		unsigned int len);

/**
 * Stage the removal of every rule, as a config reload does before it adds
 * the new set. Operations staged earlier in this transaction are dropped;
 * adds staged after it survive. Readers switch from the whole old set to the
 * whole new set at commit.
 *
 * Thread: control lcore.
 *
 * @return
 *   0, -EINVAL (txn NULL).
 */
int
svctable_txn_clear(struct svctable_txn *txn);

/**
 * Validate everything, then apply the whole transaction at one instant.
 * Validation covers staleness, capacity and memory; a failed commit changes
 * nothing in the table.
 *
 * On success the transaction is freed. On failure it stays open and
 * unchanged: retry the commit (after svctable_reclaim() for -EAGAIN) or call
 * svctable_txn_abort().
 *
 * Thread: control lcore.
 *
 * @return
 *   0; -EINVAL (txn NULL); -EBUSY (another commit landed since begin);
 *   -ENOSPC (more than max_rules rules would result); -EAGAIN (the reclaim
 *   queue or an arena is full of memory still in a grace period: call
 *   svctable_reclaim() and retry); -ENOMEM.
 */
int
svctable_txn_commit(struct svctable_txn *txn);

/**
 * Drop a transaction and everything it staged. NULL is a no-op.
 *
 * Thread: control lcore.
 */
void
svctable_txn_abort(struct svctable_txn *txn);

/**
 * Insert or replace one rule: a transaction of one operation.
 *
 * Thread: control lcore.
 *
 * @return
 *   0, or the errors of svctable_txn_add() and svctable_txn_commit()
 *   (never -EBUSY). On error the table is unchanged.
 */
int
svctable_insert(struct svctable *t, const struct svctable_key *prefix,
		unsigned int len, const struct svctable_rule_conf *rc);

/**
 * Delete one rule: a transaction of one operation.
 *
 * Thread: control lcore.
 *
 * @return
 *   0, or the errors of svctable_txn_del() and svctable_txn_commit()
 *   (never -EBUSY). On error the table is unchanged.
 */
int
svctable_delete(struct svctable *t, const struct svctable_key *prefix,
		unsigned int len);

/**
 * Exact-match read of the committed table.
 *
 * Thread: control lcore. The rule stays valid until a commit replaces or
 * deletes it and svctable_reclaim() (or, with no QSBR variable, that commit)
 * frees it.
 *
 * @param rule
 *   Set to the rule on success.
 * @return
 *   0; -EINVAL (NULL, len > 256, bits set past len); -ENOENT.
 */
int
svctable_get(const struct svctable *t, const struct svctable_key *prefix,
		unsigned int len, const struct svctable_rule **rule);

/**
 * Longest-prefix match of a burst of serviceIDs.
 *
 * Thread: any worker, between quiescent state reports (or the control
 * lcore). Lock-free: no lock, no atomic read-modify-write, no allocation.
 *
 * @param keys
 *   n non-NULL pointers to full 256-bit serviceIDs (may point into packets).
 * @param n
 *   Any count; processed SVCTABLE_LOOKUP_BATCH at a time.
 * @param rules
 *   Out: the matching rule for each key, or NULL when no prefix matches.
 *   Valid until this worker's next quiescent state report.
 * @return
 *   The number of keys that matched a rule.
 */
uint32_t
svctable_lookup_bulk(const struct svctable *t,
		const struct svctable_key *const keys[], uint32_t n,
		const struct svctable_rule *rules[]);

/**
 * Longest-prefix match of one serviceID (control paths and tests; workers
 * use svctable_lookup_bulk()).
 *
 * Thread: as svctable_lookup_bulk().
 *
 * @return
 *   The matching rule, or NULL.
 */
const struct svctable_rule *
svctable_lookup(const struct svctable *t, const struct svctable_key *key);

/**
 * Hash of what identifies a client flow, for svctable_pick(): the client's
 * IPv4 address and its SAL flowID, never ports. Both are taken as the
 * numbers the app passes (serval-sr passes the wire fields converted with
 * rte_be_to_cpu_32()). Defined exactly, so a test oracle can recompute it:
 *
 *     x = (ip << 32 | flow_id) ^ 0x5356435441424c45
 *     x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15
 *     x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9
 *     x = x ^ (x >> 32)                          (all mod 2^64)
 *
 * Thread: any.
 */
static inline uint64_t
svctable_flow_hash(uint32_t client_ip, uint32_t flow_id)
{
	uint64_t x = ((uint64_t)client_ip << 32 | flow_id) ^ 0x5356435441424c45ull;

	x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 32);
}

/**
 * Choose the target for a new flow of a FORWARD rule: one table read.
 *
 * The lut of the rule's target set (tset) has 2^lut_bits entries, each the
 * index of an active target of the set's preferred group; the flow goes to
 * tset->targets[lut[top lut_bits bits of the hash]] (entry 0 when lut_bits
 * is 0).
 *
 * How the control core fills the lut (weighted rendezvous per entry, chosen
 * over Maglev's permutation fill because it gives *strict* minimal
 * disruption; exact, so a test oracle can rebuild it): entry j goes to the
 * active target t minimising -ln(u) / t.weight, where
 * u = ((h >> 11) + 0.5) / 2^53 and h = svctable_flow_hash(t.id, j)
 * (ties: lower id). Consequences:
 * - draining or removing a target moves only the entries it owned: no other
 *   flow moves; adding a target moves only the entries it wins (about
 *   weight/total of them);
 * - each target's share matches its weight share up to table granularity:
 *   relative standard deviation about sqrt((1 - p) / (p * 2^16)) for a
 *   target with share p (1.2% for one of 10 equal targets).
 *
 * Size: one entry (lut_bits 0) for a single active target, else always
 * 2^SVCTABLE_LUT_BITS entries, 128 KiB, whatever the number of targets: a
 * size that followed the target count would remap most flows whenever it
 * changed. Rules with identical target lists share one lut (interned).
 *
 * Thread: any.
 *
 * @return
 *   The target, or NULL if @p rule is NULL, not FORWARD, or has no active
 *   target (every weight 0: the app counts a drop).
 */
static inline const struct svctable_target *
svctable_pick(const struct svctable_rule *rule, uint64_t hash)
{
	const uint16_t *lut;

	if (rule == NULL)
		return NULL;
	lut = svctable_rule_lut(rule);
	if (lut == NULL)
		return NULL;
	/* (h >> 1) >> (63 - bits) is the top `bits` bits, and 0 for bits == 0 */
	return &rule->tset->targets[lut[(hash >> 1) >> (63 - rule->tset->lut_bits)]];
}

/**
 * svctable_pick() over a burst, with the lut reads prefetched.
 *
 * Thread: any worker, between quiescent state reports.
 *
 * @param rules
 *   n rules (NULL entries allowed), e.g. from svctable_lookup_bulk().
 * @param hashes
 *   n flow hashes from svctable_flow_hash().
 * @param targets
 *   Out: the chosen target for each, or NULL (see svctable_pick()).
 * @return
 *   The number of non-NULL targets.
 */
uint32_t
svctable_pick_bulk(const struct svctable_rule *const rules[],
		const uint64_t hashes[], uint32_t n,
		const struct svctable_target *targets[]);

/**
 * Callback for svctable_walk(). Return 0 to continue, anything else to stop
 * the walk, which then returns that value.
 */
typedef int (*svctable_walk_fn)(const struct svctable_rule *rule, void *arg);

/**
 * Visit every committed rule in prefix order: by bits, most significant
 * first, and a prefix before the longer prefixes under it (for CLI listing).
 * The callback must not change the table.
 *
 * Thread: control lcore.
 *
 * @return
 *   0 after visiting all, the callback's non-zero value if it stopped the
 *   walk, or -EINVAL (t or fn NULL).
 */
int
svctable_walk(const struct svctable *t, svctable_walk_fn fn, void *arg);

/**
 * Number of committed rules.
 *
 * Thread: control lcore.
 */
uint32_t
svctable_count(const struct svctable *t);

/**
 * Memory used by the table.
 *
 * Thread: control lcore.
 *
 * @param m
 *   Out: the breakdown; may be NULL.
 * @return
 *   trie + rule + target + rib + pending bytes (resident use; 0 for NULL t).
 */
size_t
svctable_memory(const struct svctable *t, struct svctable_memory *m);

/**
 * Clear the bits of @p key past @p len (len > 256 is treated as 256), so a
 * full serviceID plus a length becomes a valid prefix.
 *
 * Thread: any.
 */
void
svctable_key_mask(struct svctable_key *key, unsigned int len);

#ifdef __cplusplus
}
#endif

#endif /* SVCTABLE_H */
