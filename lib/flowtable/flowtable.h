/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef FLOWTABLE_H
#define FLOWTABLE_H

/**
 * @file
 * Gateway-mode flow table: one entry per SAL flow that the router keeps on
 * its path, found by a router-chosen flowID.
 *
 * Design (why it looks like this; lib/flowtable/README.md has the long form):
 *
 * - **FlowID translation, and the flowID is the index.** SAL demultiplexes
 *   every packet after the SYN by `dst_flowid` alone, and a client that
 *   migrates (RSYN) keeps its flowIDs but changes its address. So the router
 *   gives each gateway flow two flowIDs of its own (as NAT gives ports): the
 *   *client-side* one, which the client puts in `dst_flowid` from then on,
 *   and the *instance-side* one, which the instance uses. Both are the same
 *   32-bit word apart from bit 0 (0 = client side, 1 = instance side), so
 *   a packet's direction is known from its `dst_flowid`, with no address
 *   comparison. The rest of the word is `[worker | slot | generation]`:
 *   lookup is a shift, a bounds check and one cache line, and a client
 *   address change cannot break it because the address is not in the key.
 *   The generation (at least FLOWTABLE_MIN_GEN_BITS bits, more when the
 *   table is smaller) makes a stale flowID of a deleted flow miss; slots are
 *   reused in FIFO order so a generation wraps only after that many full
 *   turns of the free list.
 * - **Who writes.** Each worker owns a fixed slice of slots and is the only
 *   thread that inserts into, deletes from or reuses its slots: no lock and
 *   no atomic read-modify-write on the owner's path. A new flow is created
 *   on the worker that sees its SYN. Any worker can look up any flow: a
 *   per-slot sequence word, written by the owner around insert and delete and
 *   read with acquire loads, makes a reader that races either see the whole
 *   entry or miss. This was chosen over per-worker tables (an RSYN from a
 *   new address, or an RSS re-steer, lands on another queue and would miss)
 *   and over one single-writer table (a queue hop to the control lcore
 *   before every new flow is installed).
 * - **Writes by other workers** are limited to fields where any interleaving
 *   is valid, each one word stored atomically: the client address
 *   (migration, after the nonce recorded at SYN time matched), the
 *   instance's flowID (set once, 0 -> id), the state (only moves forward:
 *   SYN seen -> established -> closing), and a separate per-slot "foreign"
 *   record of packet/byte counters (atomic adds) and last-seen time (a
 *   relaxed store; two non-owners racing can leave the older of their two
 *   samples, so a flow may expire early by at most the difference between
 *   two workers' clocks in the same burst). The owner keeps its own
 *   counters and last-seen in the entry's single cache line.
 * - **Reclamation.** A deleted or expired slot is not reused until every
 *   worker has passed a quiescent state (rte_rcu_qsbr, attached by the app;
 *   the table owns no thread and no RCU variable). With no RCU variable
 *   attached a slot is reusable at once, which is right for one thread and
 *   lets unit tests run with no EAL.
 * - **Retransmitted SYNs** (`dst_flowid` 0) are found through a per-worker
 *   index keyed by (client address, client flowID, nonce). A retransmission
 *   from the same address lands on the same RSS queue, so on the same
 *   worker. If RSS re-steers between two copies of a SYN, the second worker
 *   creates a second half-open flow; consistent hashing sends it to the same
 *   instance, the unused one expires after the short half-open timeout, and
 *   it is counted in flowtable_stats.expired_syn_seen.
 * - **Full table: refuse and count** (flowtable_stats.insert_full). Evicting
 *   a live flow would silently break an established connection, and a SYN
 *   flood would evict real flows; a refused SYN costs the client only a
 *   retransmission, and half-open flows age out fast. Capacity is per worker
 *   (max_flows / n_workers each): one worker can be full while another is not.
 *
 * Threads: "owner" below means the worker whose slice holds the flow
 * (flowtable_result.owner); "any worker" means any thread passing a worker
 * id < n_workers that it alone uses, between two RCU quiescent reports when
 * RCU is attached. No call blocks.
 *
 * Time: every `now` is a caller-chosen monotonic clock in the same unit as
 * the timeouts in struct flowtable_conf (milliseconds or TSC cycles).
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct flowtable;
struct rte_rcu_qsbr;

/** Length of the SAL nonce carried in the CONTROL extension. */
#define FLOWTABLE_NONCE_LEN 8

/** Largest burst for the *_bulk calls (the hit mask is 64 bits). */
#define FLOWTABLE_BURST_MAX 64

/** Most workers a table can be split between. */
#define FLOWTABLE_MAX_WORKERS 128

/** Fewest generation bits a router flowID may have (see flowtable_create). */
#define FLOWTABLE_MIN_GEN_BITS 4

/** Bit 0 of a router flowID: set on the instance-side flowID. */
#define FLOWTABLE_RFID_INSTANCE_SIDE 1u

/** Flags allowed in flowtable_conf.flags (none defined yet; must be 0). */
#define FLOWTABLE_F_ALL 0u

/**
 * Flow state. It only moves forward: a state change to an earlier state is
 * ignored, so workers may report what they see in any order.
 */
enum flowtable_state {
	FLOWTABLE_STATE_FREE = 0,        /**< no flow (never reported for a hit) */
	FLOWTABLE_STATE_SYN_SEEN = 1,    /**< SYN forwarded, handshake not done */
	FLOWTABLE_STATE_ESTABLISHED = 2, /**< client acknowledged the handshake */
	FLOWTABLE_STATE_CLOSING = 3,     /**< FIN or RST seen: short timeout */
	FLOWTABLE_STATE_MAX,
};

/** Table parameters for flowtable_create(). */
struct flowtable_conf {
	const char *name;    /**< for logs and the DPDK heap; may be NULL */
	uint32_t max_flows;  /**< total flows, split evenly over the workers */
	uint32_t n_workers;  /**< 1..FLOWTABLE_MAX_WORKERS */
	int socket_id;       /**< NUMA socket for the memory, or SOCKET_ID_ANY */
	uint32_t flags;      /**< FLOWTABLE_F_* bits; must be within FLOWTABLE_F_ALL */
	/** Idle timeouts per state in `now` units, all > 0; index by enum
	 * flowtable_state (the FREE slot is unused). Keep SYN_SEEN and CLOSING
	 * short: they hold slots for flows that may never carry data. */
	uint64_t timeout[FLOWTABLE_STATE_MAX];
};

/** What a SYN identifies its flow by (the SYN index key and insert input). */
struct flowtable_syn_key {
	uint32_t client_ip;      /**< client IPv4 address, network order */
	uint32_t client_flowid;  /**< the SYN's src_flowid; never 0 */
	uint8_t nonce[FLOWTABLE_NONCE_LEN]; /**< the SYN's CONTROL nonce */
};

/** A consistent snapshot of one flow, as a lookup hit returns it. */
struct flowtable_result {
	uint32_t target;          /**< the app's target index given at insert */
	uint32_t client_ip;       /**< client's current address (network order) */
	uint32_t client_flowid;   /**< client's own flowID */
	uint32_t instance_flowid; /**< instance's own flowID; 0 until learned */
	uint32_t rfid;            /**< client-side router flowID of the flow */
	uint16_t owner;           /**< worker that owns (and may delete) the flow */
	uint8_t state;            /**< enum flowtable_state */
	uint8_t from_instance;    /**< 1: the looked-up flowID was instance-side */
};

/** Everything about one flow, for the CLI (flowtable_walk / flowtable_get). */
struct flowtable_flow_info {
	struct flowtable_result r; /**< identity and forwarding data */
	uint8_t nonce[FLOWTABLE_NONCE_LEN]; /**< the nonce recorded at SYN time */
	uint64_t last_seen;        /**< latest packet time, `now` units */
	uint64_t pkts;             /**< packets counted by lookups, both sides */
	uint64_t bytes;            /**< bytes counted by lookups, both sides */
};

/** Table counters, summed over workers. Monotonic except `flows`. */
struct flowtable_stats {
	uint64_t flows;            /**< live flows now */
	uint64_t capacity;         /**< slots in all (per worker: / n_workers) */
	uint64_t inserts;          /**< flows created */
	uint64_t insert_full;      /**< inserts refused: worker's slice full */
	uint64_t insert_exists;    /**< inserts refused: same SYN key and nonce live */
	uint64_t deletes;          /**< flows deleted by flowtable_delete */
	uint64_t expired;          /**< flows removed by flowtable_expire */
	uint64_t expired_syn_seen; /**< of those, half-open (never established) */
	uint64_t lookups;          /**< flowIDs looked up */
	uint64_t lookup_misses;    /**< of those, unknown or stale */
	uint64_t foreign_hits;     /**< hits on flows owned by another worker */
	uint64_t migrations;       /**< client address changes accepted */
	uint64_t nonce_mismatch;   /**< migrations refused: wrong nonce */
	uint64_t reclaim_pending;  /**< freed slots waiting for an RCU grace period */
};

/**
 * Create a flow table.
 *
 * Each worker gets ceil(max_flows / n_workers) slots. The router flowID has
 * ceil(log2(n_workers)) worker bits, ceil(log2(slots per worker)) slot
 * bits, bit 0 for the side, and the rest as generation bits, which must be
 * at least FLOWTABLE_MIN_GEN_BITS (so max_flows is at most 2^27 for
 * one worker).
 *
 * Memory comes from the DPDK heap when the EAL is up and has room, else from
 * the C heap (so unit tests need no EAL).
 *
 * Thread: control lcore (any thread), before workers use the table.
 *
 * @return the table, or NULL with rte_errno set:
 *   EINVAL  conf NULL, max_flows or n_workers 0 or too big, a timeout 0,
 *           unknown flags, or too few generation bits left;
 *   ENOMEM  out of memory.
 */
struct flowtable *
flowtable_create(const struct flowtable_conf *conf);

/**
 * Free a table and all its memory. NULL is a no-op.
 *
 * Thread: control lcore, after every worker has stopped using the table.
 */
void
flowtable_free(struct flowtable *ft);

/**
 * Attach an RCU QSBR variable: from then on a deleted or expired slot is
 * reused only after every registered reader has reported quiescence. The
 * app creates the variable, registers its workers and reports quiescence
 * once per loop where it holds no result it still needs to act on.
 *
 * Thread: control lcore, once, before workers use the table.
 *
 * @return 0; -EINVAL if ft or v is NULL; -EEXIST if one is attached already.
 */
int
flowtable_rcu_attach(struct flowtable *ft, struct rte_rcu_qsbr *v);

/**
 * Look up a burst of router flowIDs (the packets' `dst_flowid`s).
 *
 * A hit copies a consistent snapshot of the flow into res[i], counts the
 * packet (and pkt_len[i] bytes when pkt_len is not NULL) and refreshes the
 * flow's last-seen time to `now`. A miss (0, unknown slot, stale generation,
 * a flow being deleted) leaves res[i] untouched. Either side's flowID hits.
 *
 * The table checks only the router flowID. The worker should still compare
 * the packet with the result (src_flowid against client_flowid or a known
 * instance_flowid, the IP source against client_ip or the target's address)
 * and treat a mismatch, other than an RSYN to be checked by
 * flowtable_migrate(), as a miss.
 *
 * Thread: any worker.
 *
 * @param worker  the caller's worker id (< n_workers)
 * @param n       <= FLOWTABLE_BURST_MAX
 * @return hit mask (bit i set: rfids[i] found); 0 when ft, rfids or res is
 *   NULL, worker is out of range or n > FLOWTABLE_BURST_MAX.
 */
uint64_t
flowtable_lookup_bulk(struct flowtable *ft, unsigned int worker,
		const uint32_t rfids[], const uint32_t pkt_len[], uint32_t n,
		struct flowtable_result res[], uint64_t now);

/**
 * Find the flows a burst of SYNs belong to (retransmissions), by
 * (client_ip, client_flowid, nonce), in the calling worker's own index.
 * Matches a live flow in any state, unless its client has migrated away
 * from that address. Touches no counter and no last-seen time: look the
 * returned flowID up with flowtable_lookup_bulk() to count the packet.
 *
 * Thread: any worker, for its own slice.
 *
 * @param rfids  out: client-side router flowID for each hit
 * @return hit mask; 0 on bad arguments as for flowtable_lookup_bulk().
 */
uint64_t
flowtable_find_syn_bulk(struct flowtable *ft, unsigned int worker,
		const struct flowtable_syn_key keys[], uint32_t n,
		uint32_t rfids[]);

/**
 * Create a flow for a SYN in the calling worker's slice, state SYN_SEEN,
 * with last-seen `now` and no instance flowID yet.
 *
 * Thread: any worker; the caller becomes the flow's owner.
 *
 * @param rfid  out: the flow's client-side router flowID (the instance-side
 *   one is rfid | FLOWTABLE_RFID_INSTANCE_SIDE); on -EEXIST, the live flow's
 * @return 0; -EINVAL (NULL argument, worker out of range, client_flowid 0);
 *   -EEXIST (this worker already has a live flow with the same key and nonce,
 *   counted); -ENOSPC (no free slot in this worker's slice, counted).
 */
int
flowtable_insert(struct flowtable *ft, unsigned int worker,
		const struct flowtable_syn_key *key, uint32_t target,
		uint64_t now, uint32_t *rfid);

/**
 * Move a flow forward to `state` (ESTABLISHED when the client acknowledges
 * the handshake, CLOSING on FIN or RST, which switches it to the closing
 * timeout). A request for the current or an earlier state changes nothing.
 *
 * Thread: any worker.
 *
 * @param rfid  either side's router flowID
 * @return 0 (the flow is now at or past `state`); -EINVAL (bad state or
 *   argument); -ENOENT (no such live flow).
 */
int
flowtable_set_state(struct flowtable *ft, unsigned int worker,
		uint32_t rfid, enum flowtable_state state);

/**
 * Record the instance's own flowID (the `src_flowid` of its SYN+ACK), which
 * the router then writes as `dst_flowid` toward the instance. Set once.
 *
 * Thread: any worker.
 *
 * @return 0 (recorded, or the same id was recorded already); -EINVAL (bad
 *   argument, flowid 0); -ENOENT (no such live flow); -EEXIST (a different
 *   flowID is recorded already: nothing changed).
 */
int
flowtable_set_instance_flowid(struct flowtable *ft, unsigned int worker,
		uint32_t rfid, uint32_t instance_flowid);

/**
 * Client migration (RSYN from a new address on the client-side flowID):
 * change the flow's client address when `nonce` equals the one recorded at
 * SYN time. Readers see the old or the new address, never a mix. The
 * migration counts as a packet seen at `now` for aging.
 *
 * Thread: any worker (the RSYN's new address may hash to any queue).
 *
 * @param rfid  the client-side router flowID (the RSYN's dst_flowid)
 * @return 0 (migrated, counted); -EINVAL (bad argument, instance-side
 *   flowID, address 0); -ENOENT (no such live flow); -EPERM (nonce
 *   mismatch: nothing changed, counted in nonce_mismatch; drop the RSYN).
 */
int
flowtable_migrate(struct flowtable *ft, unsigned int worker, uint32_t rfid,
		uint32_t new_client_ip, const uint8_t nonce[FLOWTABLE_NONCE_LEN],
		uint64_t now);

/**
 * Delete a flow now (readers racing with it either hit the whole old entry
 * or miss). Other workers move a flow to CLOSING instead and let its owner
 * expire it.
 *
 * Thread: the flow's owner only.
 *
 * @return 0; -EINVAL (bad argument); -ENOENT (no such live flow); -EXDEV
 *   (the caller is not the owner: nothing changed).
 */
int
flowtable_delete(struct flowtable *ft, unsigned int worker, uint32_t rfid);

/**
 * Incremental aging of the calling worker's slice: examine up to `budget`
 * slots from where the previous call stopped (wrapping), and delete every
 * flow idle for at least its state's timeout. Also returns slots whose RCU
 * grace period has passed to the free list. A flow idle for its timeout is
 * removed within one more sweep of the slice (slots per worker / budget
 * calls).
 *
 * Thread: any worker, for its own slice; call it once per loop or so.
 *
 * @return flows expired by this call (0 on bad arguments).
 */
uint32_t
flowtable_expire(struct flowtable *ft, unsigned int worker, uint64_t now,
		uint32_t budget);

/**
 * Snapshot one flow by either side's router flowID.
 *
 * Thread: any thread (reads only).
 *
 * @return 0; -EINVAL (NULL argument); -ENOENT (no such live flow).
 */
int
flowtable_get(const struct flowtable *ft, uint32_t rfid,
		struct flowtable_flow_info *info);

/**
 * Walk callback: return 0 to go on, anything else to stop the walk.
 */
typedef int (*flowtable_walk_cb)(const struct flowtable_flow_info *info,
		void *arg);

/**
 * Call cb on a snapshot of every live flow, worker by worker, slot by slot.
 * Flows inserted or deleted during the walk may or may not be seen; no flow
 * is reported twice. Slow (it reads every slot): for the CLI.
 *
 * Thread: any thread (reads only).
 *
 * @return 0 after the whole table; the callback's non-zero value if it
 *   stopped the walk; -EINVAL if ft or cb is NULL.
 */
int
flowtable_walk(const struct flowtable *ft, flowtable_walk_cb cb, void *arg);

/**
 * Sum the counters of all workers.
 *
 * Thread: any thread (relaxed reads; each counter is exact, the set is not
 * one instant).
 *
 * @return 0; -EINVAL if ft or stats is NULL.
 */
int
flowtable_stats_get(const struct flowtable *ft, struct flowtable_stats *stats);

/**
 * Bytes of memory the table holds (structure, slots, indexes, free lists).
 *
 * Thread: any thread. Returns 0 for NULL.
 */
size_t
flowtable_memory(const struct flowtable *ft);

/**
 * The other side's router flowID of the same flow: the client-side and
 * instance-side flowIDs differ only in bit 0.
 */
static inline uint32_t
flowtable_rfid_peer(uint32_t rfid)
{
	return rfid ^ FLOWTABLE_RFID_INSTANCE_SIDE;
}

#ifdef __cplusplus
}
#endif

#endif /* FLOWTABLE_H */
