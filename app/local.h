/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * Flows the router terminates itself (`action: local`): a SAL echo service.
 *
 * SAL control is lib/sal's endpoint state machine (sal_endpoint.h); this
 * module owns its timers, its packets and the transport riding in them: a
 * minimal TCP echo (handshake, in-order data echoed back at once, the
 * peer's FIN answered with ours; out-of-order data gets a duplicate ACK and
 * our own data is not retransmitted, so an echo can be lost and the client
 * retransmits; a segment of more than 1600 bytes is not echoed nor
 * acknowledged but dropped, counted as sal_local_too_big). Datagrams (no
 * CONTROL) to a local rule are not served.
 *
 * Each worker owns a table of SSR_LOCAL_FLOWS flows; a flow's SAL flowID is
 * [worker 8 | slot 16 | generation 8] (generation never 0), so the owner is
 * known from the flowID. A retransmitted SYN finds its flow through a hash
 * index keyed by (peer address, peer flowID) with a random seed, so the
 * cost stays O(1) expected however many flows are half-open. Packets are
 * matched exactly (our flowID, the peer's flowID and address), so a
 * gateway-mode flowID that happens to decode to a local slot falls through
 * to the flow table.
 */

#ifndef SSR_LOCAL_H
#define SSR_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "sal_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Local flows per worker. */
#define SSR_LOCAL_FLOWS 1024
/** Retransmission timeout of our SYN+ACK and FIN, milliseconds. */
#define SSR_LOCAL_RTO_MS 1000
/** TIME_WAIT linger, milliseconds. */
#define SSR_LOCAL_LINGER_MS 2000

struct ssr_worker;
struct ssr_local;

/** Allocate a worker's local flow table. Main lcore, before launch. NULL with rte_errno ENOMEM. */
struct ssr_local *
ssr_local_create(int socket);

/** Free it (flows hold no mbuf). After the worker stopped. NULL is a no-op. */
void
ssr_local_free(struct ssr_local *l);

/**
 * Worker that owns local flowID @p flowid (network order). Any thread.
 * Inline: the SAL stage asks for every packet that carries a flowID.
 */
static inline unsigned int
ssr_local_owner(uint32_t flowid)
{
	return rte_be_to_cpu_32(flowid) >> 24;
}

/**
 * A connection request matched a local rule: start (or, for a retransmitted
 * SYN, continue) a flow and answer. Takes the mbuf. Owning worker only.
 */
void
ssr_local_request(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp);

/**
 * A packet whose dst_flowid this worker owns: if it belongs to a live local
 * flow of this worker, handle it (taking the mbuf) and return true; else
 * return false and leave the mbuf to the caller.
 */
bool
ssr_local_packet(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp);

/** Fire due timers (retransmissions, linger). Owning worker, every loop. */
void
ssr_local_timers(struct ssr_worker *w, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif /* SSR_LOCAL_H */
