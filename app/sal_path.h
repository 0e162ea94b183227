/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The workers' SAL stage: SAL packets addressed to a router address.
 *
 * A burst is parsed in one sal_parse_bulk() call; connection requests (SYN
 * with dst_flowid 0, or a connectionless datagram, each with a SERVICE
 * extension) are looked up in one svctable_lookup_bulk() call, then each
 * takes its rule's action: forward (resolve mode: consistent target choice
 * keyed by client address and client flowID, sal_edit_forward(), routed
 * out; gateway mode: a flow in the flowtable, the router standing in for
 * the client), delay (handed to the control lcore, which holds it), drop or
 * no match (counted). Packets with a dst_flowid are looked up in one
 * flowtable_lookup_bulk() call and relayed (gateway mode). Everything else
 * is a counted drop.
 */

#ifndef SSR_SAL_PATH_H
#define SSR_SAL_PATH_H

#include <rte_mbuf.h>

#include "services.h"
#include "worker.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Run the SAL stage over @p n packets (n <= SSR_BURST), each an IPv4 frame
 * addressed to a router address with the SAL protocol. Takes ownership of
 * every mbuf. Owning worker only, between quiescent state reports.
 */
void
ssr_sal_burst(struct ssr_worker *w, struct rte_mbuf **pkts, unsigned int n);

/** SAL RSTs a worker sends per second at most (bursts of SSR_RST_BURST). */
#define SSR_RST_PER_SEC 1000
#define SSR_RST_BURST 64

/**
 * Answer a SAL packet that belongs to no flow with the original stack's
 * RST (sal_build_rst()), rate-limited per worker; a RST is never answered
 * and neither is a SYN (the original drops a SYN of no flow silently).
 * The caller still owns (and counts) the packet. Owning worker only.
 */
void
ssr_sal_reply_rst(struct ssr_worker *w, const uint8_t *frame,
		const struct sal_pkt *sp);

/**
 * Age this worker's gateway flows a little: call it on every loop pass.
 * It examines a slice of the worker's flow slots (and returns slots past
 * their RCU grace period to the free list) at most once per 100 us, sized
 * so the whole slice is swept once per sweep period: a tenth of the
 * shortest flow timeout, within 100 ms..1 s (500 ms with the default 5 s
 * SYN timeout). A flow idle for its state's timeout is removed at most one
 * sweep period plus one loop pass later, as long as the loop turns at least
 * every 1.6 ms (a slower loop scans the slices it missed, up to 16 at once).
 * Owning worker only.
 */
void
ssr_sal_expire(struct ssr_worker *w, uint64_t now);

/**
 * Client identity of a connection request for the consistent choice: the
 * first SOURCE address when the request already crossed a router, else the
 * IP source; both network order.
 */
static inline uint32_t
ssr_sal_client_ip(const uint8_t *frame, const struct sal_pkt *sp)
{
	return sp->n_source != 0 ? sal_pkt_source_addr(frame, sp, 0) :
		sal_pkt_ip_src(frame, sp);
}

#ifdef __cplusplus
}
#endif

#endif /* SSR_SAL_PATH_H */
