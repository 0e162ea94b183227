/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef FLOWTABLE_PRIV_H
#define FLOWTABLE_PRIV_H

/*
 * Private layout of the flow table. Only lib/flowtable/ and its own white-box
 * tests and benchmark include this.
 *
 * Ownership legend:
 *   [I] immutable after flowtable_create (qsv: set once before workers run)
 *   [W] written by the owning worker only (plain or relaxed atomic stores)
 *   [A] written by any worker with an atomic store/add/CAS on that one word
 *   [S] written by the owning worker only, under the entry's seq word
 */

#include <stdint.h>

#include <rte_common.h>

#include "flowtable.h"

/* End of a SYN index chain, and "no slot". */
#define FT_NIL UINT32_MAX

/* RCU batches a worker keeps before merging new ones into the newest. */
#define FT_BATCHES 64

/* Largest generation field; keeps the index shift below 32. */
#define FT_MAX_GEN_BITS 30

/*
 * One flow: exactly one cache line, everything a lookup by the owner reads
 * or writes. Bit 0 of ident is set while the slot is free; the generation in
 * bits 1.. survives so the next flow in the slot gets the next one.
 */
struct ft_entry {
	uint32_t seq;             /* [W] odd while ident/identity fields change */
	uint32_t ident;           /* [S] client-side rfid; bit 0 set = free */
	uint32_t client_ip;       /* [A] migration stores it (network order) */
	uint32_t client_flowid;   /* [S] */
	uint32_t instance_flowid; /* [A] CAS 0 -> id, once */
	uint32_t target;          /* [S] */
	uint32_t state;           /* [A] forward-only CAS; owner stores FREE under seq */
	uint32_t syn_next;        /* [W] SYN index chain (local slot), owner only */
	uint64_t nonce;           /* [S] the SYN's 8 nonce bytes, as stored */
	uint64_t last_seen;       /* [W] owner's latest packet time */
	uint64_t pkts;            /* [W] packets the owner counted */
	uint64_t bytes;           /* [W] bytes the owner counted */
} __rte_cache_aligned;

/*
 * What other workers record for a flow, kept off the owner's cache line so
 * the owner's path touches one line and needs no atomic read-modify-write.
 */
struct ft_far {
	uint64_t pkts;       /* [A] atomic add */
	uint64_t bytes;      /* [A] atomic add */
	uint64_t last_seen;  /* [A] relaxed store, racy max (see flowtable.h) */
	uint32_t syn_ip;     /* [W] client address at insert: SYN index bucket */
	uint32_t pad;
};

/* Counters of one worker: [W] by that worker, relaxed loads by any reader. */
struct ft_wstats {
	uint64_t inserts;
	uint64_t insert_full;
	uint64_t insert_exists;
	uint64_t deletes;
	uint64_t expired;
	uint64_t expired_syn_seen;
	uint64_t lookups;
	uint64_t lookup_misses;
	uint64_t foreign_hits;
	uint64_t migrations;
	uint64_t nonce_mismatch;
};

/* Slots freed before one RCU token was taken. */
struct ft_batch {
	uint64_t token;
	uint32_t count;
};

/* Everything one worker owns besides its slots. All [W]. */
struct ft_worker {
	uint32_t *free_ring;   /* local slot numbers ready for reuse (FIFO) */
	uint32_t free_head;
	uint32_t free_count;
	uint32_t *limbo;       /* freed, waiting for their RCU grace period (FIFO) */
	uint32_t limbo_head;
	uint32_t limbo_count;  /* also read by stats (relaxed) */
	uint32_t unsealed;     /* tail of limbo not yet covered by a batch */
	uint32_t batch_head;
	uint32_t batch_count;
	uint32_t cursor;       /* next local slot flowtable_expire looks at */
	uint32_t *syn_heads;   /* SYN index buckets: first local slot or FT_NIL */
	struct ft_batch batch[FT_BATCHES];
	struct ft_wstats st;
} __rte_cache_aligned;

struct flowtable {
	struct ft_entry *entries;  /* [I] n_workers * spw, worker-major */
	struct ft_far *far;        /* [I] same indexing */
	struct ft_worker *workers; /* [I] */
	struct rte_rcu_qsbr *qsv;  /* [I] NULL: reuse slots at once */
	uint32_t n_workers;        /* [I] */
	uint32_t spw;              /* [I] slots per worker */
	uint32_t slot_bits;        /* [I] */
	uint32_t slot_mask;        /* [I] */
	uint32_t code_shift;       /* [I] gen bits + 1: rfid >> this = worker|slot */
	uint32_t gen_mask;         /* [I] */
	uint32_t syn_mask;         /* [I] SYN buckets per worker - 1 */
	int from_rte;              /* [I] memory from the DPDK heap, not libc */
	uint64_t seed;             /* [I] SYN index hash seed */
	uint64_t timeout[FLOWTABLE_STATE_MAX]; /* [I] */
	size_t mem_size;           /* [I] */
	char name[32];             /* [I] */
};

#endif /* FLOWTABLE_PRIV_H */
