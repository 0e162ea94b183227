/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * Neighbour (ARP) table: one writer (the control lcore), lock-free readers
 * (the workers).
 *
 * Shape, and why it needs no RCU: a fixed array of slots with open
 * addressing. A slot's key (the IPv4 address) is written once, with a release
 * store after its value, and never changes or goes away until the table is
 * freed at shutdown; the value is one 64-bit word (MAC plus a valid bit),
 * replaced whole with a release store. A reader therefore sees, for a given
 * address, either nothing, or a complete old or new MAC: never a torn entry
 * and never freed memory, so there is nothing to reclaim. "Forgetting" an
 * entry stores value 0 (unresolved) and keeps the key. The price is a fixed
 * capacity (SSR_NEIGH_SLOTS, filled to 3/4 at most); a full table is a
 * counted drop.
 *
 * Control-side state (static flag, request timing, packets waiting for the
 * MAC) lives in a parallel array the workers never touch.
 */

#ifndef SSR_NEIGH_H
#define SSR_NEIGH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Slots in the table (power of two). */
#define SSR_NEIGH_SLOTS 4096
/** Most entries: 3/4 of the slots keeps probe chains short. */
#define SSR_NEIGH_MAX (SSR_NEIGH_SLOTS / 4 * 3)
/** Bit set in a value word that holds a MAC. */
#define SSR_NEIGH_VALID (UINT64_C(1) << 63)

/** What workers read. */
struct ssr_neigh_slot {
	rte_be32_t ip;  /**< [R] 0 = free; written once */
	uint32_t pad;
	uint64_t val;   /**< [R] MAC in the low 48 bits | SSR_NEIGH_VALID, or 0 */
};

/** Control-lcore state of a slot. */
struct ssr_neigh_ctl {
	bool is_static;          /**< from the config: never aged or replaced */
	uint8_t port;            /**< port index the neighbour is on */
	uint8_t n_req;           /**< requests sent since the last answer */
	uint64_t last_req_tsc;   /**< when the last request went out */
	uint64_t confirmed_tsc;  /**< when the MAC was last learned or confirmed */
	struct rte_mbuf **pending; /**< packets waiting for the MAC */
	uint16_t n_pending;
};

/** The table. */
struct ssr_neigh {
	struct ssr_neigh_slot slot[SSR_NEIGH_SLOTS]; /**< [R] */
	struct ssr_neigh_ctl ctl[SSR_NEIGH_SLOTS];   /**< [C] */
	uint32_t used[SSR_NEIGH_MAX];                /**< [C] slots in use */
	uint32_t n_used;                             /**< [C] */
	uint16_t queue_len;                          /**< [I] pending bound */
};

/** Home slot of @p ip (before masking). Any thread. */
static inline uint32_t
ssr_neigh_hash(rte_be32_t ip)
{
	/* multiplicative hash; the top bits are the best mixed */
	return (uint32_t)(ip * UINT32_C(2654435761)) >> 20;
}

/**
 * Look up the MAC of @p ip. Any worker, lock-free, at any time.
 *
 * @return
 *   true and @p mac filled when resolved, false otherwise.
 */
static inline bool
ssr_neigh_lookup(const struct ssr_neigh *t, rte_be32_t ip, struct rte_ether_addr *mac)
{
	uint32_t h = ssr_neigh_hash(ip) & (SSR_NEIGH_SLOTS - 1);
	unsigned int n;

	for (n = 0; n < SSR_NEIGH_SLOTS; n++, h = (h + 1) & (SSR_NEIGH_SLOTS - 1)) {
		/* acquire: pairs with the release store of the key in insert */
		rte_be32_t k = __atomic_load_n(&t->slot[h].ip, __ATOMIC_ACQUIRE);
		uint64_t v;

		if (k == 0)
			return false;
		if (k != ip)
			continue;
		/* acquire: pairs with ssr_neigh_set(); the word is self-contained */
		v = __atomic_load_n(&t->slot[h].val, __ATOMIC_ACQUIRE);
		if (!(v & SSR_NEIGH_VALID))
			return false;
		/* byte 0 of the MAC is bits 47..40: shifted to the top and
		 * stored big-endian, the word's first 6 bytes are the MAC (a
		 * byte swap and two stores, not six shifts and byte stores) */
		v = rte_cpu_to_be_64(v << 16);
		memcpy(mac->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
		return true;
	}
	return false;
}

/**
 * Create an empty table on @p socket. Control lcore.
 *
 * @return
 *   The table, or NULL with rte_errno ENOMEM.
 */
struct ssr_neigh *
ssr_neigh_create(int socket, uint16_t queue_len);

/** Free the table (pending packets must have been drained). NULL is a no-op. */
void
ssr_neigh_free(struct ssr_neigh *t);

/**
 * Slot of @p ip, inserting an unresolved entry for port @p port when absent.
 * Control lcore only.
 *
 * @return
 *   The slot index, -ENOSPC when the table is full, -EINVAL for ip 0.
 */
int
ssr_neigh_get(struct ssr_neigh *t, rte_be32_t ip, uint8_t port);

/** Slot of @p ip or -ENOENT. Control lcore only. */
int
ssr_neigh_find(const struct ssr_neigh *t, rte_be32_t ip);

/**
 * Publish @p mac for slot @p s (NULL: forget the MAC). Control lcore only.
 */
void
ssr_neigh_set(struct ssr_neigh *t, int s, const struct rte_ether_addr *mac);

#ifdef __cplusplus
}
#endif

#endif /* SSR_NEIGH_H */
