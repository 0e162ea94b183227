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

/** Requests held for one delay rule, oldest first (a ring). */
struct ssr_delay_q {
	struct rte_mbuf **m;    /**< cap slots */
	uint64_t *since;        /**< TSC when each was queued */
	uint16_t cap;
	uint16_t head;
	uint16_t n;
	uint64_t timeout_tsc;
};

/** Control-lcore state. */
struct ssr_control {
	struct ssr_router *r;     /**< [I] */
	uint64_t retry_tsc;       /**< [I] arp.retry in TSC cycles */
	uint64_t lifetime_tsc;    /**< [I] arp.lifetime in TSC cycles */
	uint64_t scan_tsc;        /**< [I] SSR_ARP_SCAN_US in TSC cycles */
	uint64_t last_scan;       /**< [C] */
	uint64_t last_conflict_log; /**< [C] rate-limits the ARP conflict warning */
	struct ssr_delay_q *delay; /**< [C] one per config rule (index = rule id) */
	unsigned int n_delay;     /**< [C] */
	unsigned int next_worker; /**< [C] round robin for released requests */
	const char *reload_path;  /**< [C] config file re-read on SIGHUP */
	struct ssr_config *live;  /**< [C] config of the rules in force, if reloaded */
	struct ssr_stats stats;   /**< [C] */
};

/** Set by SIGHUP; the control loop reloads the services. */
extern int ssr_reload_flag;

/**
 * Set up the control state and install the static neighbours of the config
 * into r->neigh. Main lcore, before launch.
 *
 * @return
 *   0, -ENOSPC (more static neighbours than the table holds), -ENOMEM.
 */
int
ssr_control_init(struct ssr_control *c, struct ssr_router *r);

/**
 * Re-read c->reload_path and replace the service rules with its services
 * in one transaction. A file with errors, or a failed commit, changes
 * nothing (the errors are logged). Only `services` is applied: other
 * changed sections are reported and wait for a restart. Control lcore.
 *
 * @return
 *   0, or -EINVAL (errors in the file), or the svctable error.
 */
int
ssr_control_reload(struct ssr_control *c);

/** Free what ssr_control_init() allocated (after ssr_control_finish()). */
void
ssr_control_free(struct ssr_control *c);

/**
 * One pass: take what workers handed over, run the neighbour scan if due.
 * Control lcore only.
 *
 * @return
 *   Packets taken from the control ring.
 */
unsigned int
ssr_control_poll(struct ssr_control *c);

/**
 * After the workers stopped: process what is left in the control ring, then
 * drop (counted, reason shutdown) every packet still waiting for ARP.
 * Main lcore.
 */
void
ssr_control_finish(struct ssr_control *c);

#ifdef __cplusplus
}
#endif

#endif /* SSR_CONTROL_H */
