/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * In-band service registration, as hosts running the original Serval stack
 * send it (shared/docs/sal-wire.md, "In-band registration").
 *
 * A host's daemon sends a connectionless SAL datagram (two SERVICE
 * extensions, UDP) from its control serviceID (55555) to the router's
 * (88888), carrying an 8-byte message header (type, return value, total
 * length in network order, transaction id) and a 40-byte body (flags, pad,
 * prefix bits with 0 meaning 256, service flags, IPv4 address, serviceID).
 * The worker's SAL stage recognises such a datagram (no CONTROL, two
 * SERVICE extensions, the first the router's control serviceID; a datagram
 * with one SERVICE extension is an ordinary request), drops it when its IP
 * source, or the first SOURCE address if it carries one, lies outside
 * `registration.allow` (counted sal_reg_denied), and hands the rest to the
 * control lcore, where this module turns them into rule-model changes:
 *
 * - REGISTER (type 0): the host (SOURCE[0], else the IP source) becomes a
 *   target (weight 1, priority 0, no lease) of the forward rule of
 *   serviceID/prefix, which is created when the prefix has no rule;
 *   registering again changes nothing but is answered OK;
 * - REGISTER with flags bit 0 (re-register after an address change): the
 *   target at the body's address (the host's *old* one) moves to the
 *   host's current address (registered afresh when the old one is unknown);
 * - UNREGISTER (type 1): the host's registered target goes (the rule too,
 *   when it was created by registrations alone and none are left).
 *
 * The original router's reply is not described by the wire notes; serval-sr
 * answers every message it could parse with the same 48 bytes, return
 * value set (0 OK, 1 ERROR, 2 NOENTRY, 3 MALFORMED), as a connectionless
 * SAL datagram back to the sender: from the router's address the request
 * was sent to, SERVICE extensions swapped (the host's serviceID first),
 * UDP ports swapped. docs/management.md ("In-band registration") has it.
 * Messages too short to carry a header are dropped (sal_reg_malformed)
 * without a reply; other types are answered ERROR.
 *
 * Threads: control lcore only.
 */

#ifndef SSR_REGISTRY_H
#define SSR_REGISTRY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct ssr_control;
struct ssr_rules;

/** The router's and hosts' control serviceIDs (first 4 bytes, big-endian). */
#define SSR_REG_ROUTER_SID 88888u
#define SSR_REG_HOST_SID 55555u

/** Message header and REGISTER/UNREGISTER sizes. */
#define SSR_REG_HDR_LEN 8
#define SSR_REG_MSG_LEN 48

/** Message types of the original stack that serval-sr serves. */
#define SSR_REG_T_REGISTER 0
#define SSR_REG_T_UNREGISTER 1
/** Highest type the original stack defines (DUMMY). */
#define SSR_REG_T_MAX 14

/** Return values. */
#define SSR_REG_OK 0
#define SSR_REG_ERROR 1
#define SSR_REG_NOENTRY 2
#define SSR_REG_MALFORMED 3

/** REGISTER flags: a re-register after an address change. */
#define SSR_REG_F_READDRESS 0x01

/** In-band registration counters. */
struct ssr_registry_stats {
	uint64_t registered;    /**< REGISTERs applied (new targets) */
	uint64_t refreshed;     /**< REGISTERs of a target registered already */
	uint64_t readdressed;   /**< re-registers that moved a target */
	uint64_t unregistered;  /**< UNREGISTERs applied */
	uint64_t refused;       /**< messages answered ERROR or NOENTRY */
	uint64_t malformed;     /**< answered MALFORMED, or dropped (too short) */
	uint64_t replies;       /**< replies sent */
};

struct ssr_registry;

/**
 * Create the registry. Main lcore. NULL with errno ENOMEM.
 */
struct ssr_registry *
ssr_registry_create(struct ssr_control *c, struct ssr_rules *m);

/** Free it. NULL is a no-op. */
void
ssr_registry_free(struct ssr_registry *g);

/**
 * Handle one registration datagram a worker handed over (SSR_TAG_REGISTER):
 * an ssr_control_pkt_fn. Takes the mbuf.
 */
void
ssr_registry_packet(void *arg, struct rte_mbuf *m, uint64_t now);

/** Copy the counters. */
void
ssr_registry_get_stats(const struct ssr_registry *g, struct ssr_registry_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* SSR_REGISTRY_H */
