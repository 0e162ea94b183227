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

struct ssr_control;
struct ssr_rules;
struct ssr_err;
struct rte_mbuf;

/**
 * Handler for a packet a worker handed over with a tag the control lcore
 * does not process itself (health-probe answers, registrations). It owns
 * the mbuf and counts what it does with it.
 */
typedef void (*ssr_control_pkt_fn)(void *arg, struct rte_mbuf *m, uint64_t now);

/** Most addresses whose flows wait to be reset at once. */
#define SSR_RESET_MAX 256

/** Control-lcore state. */
struct ssr_control {
	struct ssr_router *r;     /**< [I] */
	struct ssr_rules *rules;  /**< [I] the rule model, or NULL (harnesses
				   *   that load rules with ssr_services_apply) */
	ssr_control_pkt_fn on_probe;    /**< SSR_TAG_PROBE packets, or NULL */
	ssr_control_pkt_fn on_register; /**< SSR_TAG_REGISTER packets, or NULL */
	void *hook_arg;
	uint32_t reset[SSR_RESET_MAX]; /**< [C] flows to these targets go */
	unsigned int n_reset;
	bool reset_overflow;      /**< [C] more were asked: reset them all */
	uint64_t retry_tsc;       /**< [I] arp.retry in TSC cycles */
	uint64_t lifetime_tsc;    /**< [I] arp.lifetime in TSC cycles */
	uint64_t scan_tsc;        /**< [I] SSR_ARP_SCAN_US in TSC cycles */
	uint64_t last_scan;       /**< [C] */
	uint64_t last_conflict_log; /**< [C] rate-limits the ARP conflict warning */
	struct ssr_delay_q *delay; /**< [C] one per rule slot (svctable rule id) */
	unsigned int n_delay;     /**< [C] entries in delay */
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

/**
 * What ssr_control_reload_file() did, for the management socket.
 */
struct ssr_reload_result {
	struct ssr_config_errors errs; /**< the file's errors (caller frees) */
	unsigned int rules;            /**< rules in force afterwards */
	char msg[256];                 /**< on failure: why, one line */
	int err;                       /**< positive errno of the failure */
};

/**
 * Reload from @p path (NULL: c->reload_path), as SIGHUP does, and say what
 * happened in @p res. The running rules stay on any error. Control lcore.
 *
 * @return 0, -EINVAL (file errors in res->errs), -ENOENT/-EACCES (cannot
 *   read), or the commit's error.
 */
int
ssr_control_reload_file(struct ssr_control *c, const char *path,
		struct ssr_reload_result *res);

/**
 * Remove every gateway-mode flow to @p addr (host order) soon: the control
 * lcore finds them and each owner worker deletes its own. Control lcore.
 */
void
ssr_control_reset_flows(struct ssr_control *c, uint32_t addr);

/**
 * Send a frame the control lcore built (an Ethernet header, its MACs still
 * to fill, then IPv4) toward @p dst (network order): the worker owning TX
 * on the route's port routes it, resolving the next hop. The caller counts
 * it as generated; a full hand-off ring is a counted drop. Control lcore.
 */
void
ssr_control_route(struct ssr_control *c, struct rte_mbuf *m, rte_be32_t dst);

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
