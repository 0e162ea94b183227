/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The control lcore's duties: ARP (answer for the router's addresses, learn
 * neighbours, resolve next hops with bounded per-next-hop queues and
 * rate-limited requests, age learned entries) and, at shutdown, draining.
 *
 * Workers hand it ARP packets and next-hop misses through r->ctl_ring; it is
 * the only writer of the neighbour table. It never transmits itself: packets
 * it releases or builds go to the inbox of the worker owning a TX queue on
 * the output port. It runs on the main lcore, alone or interleaved with the
 * worker loop when the EAL gave a single lcore.
 */

#ifndef SSR_CONTROL_H
#define SSR_CONTROL_H

#include <stdint.h>

#include "router.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Requests sent for one next hop before its waiting packets are dropped. */
#define SSR_ARP_MAX_TRIES 3
/** Period of the neighbour scan (retries, ageing), microseconds. */
#define SSR_ARP_SCAN_US 10000

/** Control-lcore state. */
struct ssr_control {
	struct ssr_router *r;     /**< [I] */
	uint64_t retry_tsc;       /**< [I] arp.retry in TSC cycles */
	uint64_t lifetime_tsc;    /**< [I] arp.lifetime in TSC cycles */
	uint64_t scan_tsc;        /**< [I] SSR_ARP_SCAN_US in TSC cycles */
	uint64_t last_scan;       /**< [C] */
	uint64_t last_conflict_log; /**< [C] rate-limits the ARP conflict warning */
	struct ssr_stats stats;   /**< [C] */
};

/**
 * Set up the control state and install the static neighbours of the config
 * into r->neigh. Main lcore, before launch.
 *
 * @return
 *   0, or -ENOSPC (more static neighbours than the table holds).
 */
int ssr_control_init(struct ssr_control *c, struct ssr_router *r);

/**
 * One pass: take what workers handed over, run the neighbour scan if due.
 * Control lcore only.
 *
 * @return
 *   Packets taken from the control ring.
 */
unsigned int ssr_control_poll(struct ssr_control *c);

/**
 * After the workers stopped: process what is left in the control ring, then
 * drop (counted, reason shutdown) every packet still waiting for ARP.
 * Main lcore.
 */
void ssr_control_finish(struct ssr_control *c);

#ifdef __cplusplus
}
#endif

#endif /* SSR_CONTROL_H */
