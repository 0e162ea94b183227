/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The control plane hung on the control lcore: the management socket
 * (app/mgmt) wired to the rule model, the health checker, in-band
 * registration and DPDK telemetry.
 *
 * ssr_plane_poll() runs on every pass of the control loop and never blocks:
 * it polls the management socket about once a millisecond (one epoll_wait
 * with a zero timeout), answers a pending telemetry request, runs the
 * health checker and the rule model's housekeeping (grace periods, lease
 * expiry). Every management operation is applied here, on the control
 * lcore, through the same rule-model transactions as SIGHUP reloads.
 *
 * Threads: control lcore only, except where noted.
 */

#ifndef SSR_PLANE_H
#define SSR_PLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ssr_router;
struct ssr_control;
struct ssr_rules;
struct ssr_config;
struct ssr_mgmt_ops;

/** The management socket is polled this often (microseconds). */
#define SSR_PLANE_MGMT_PERIOD_US 1000
/** flows.delete waits this long for the owner worker (microseconds). */
#define SSR_PLANE_FLOW_DELETE_US 50000

/** What the plane serves. */
struct ssr_plane_conf {
	struct ssr_router *r;
	struct ssr_control *ctl;
	struct ssr_rules *rules;
	const struct ssr_config *cfg; /**< start-up config: management,
				       *   registration */
	bool telemetry;               /**< register /serval/... commands */
};

struct ssr_plane;

/**
 * Create the plane: the management socket when cfg->mgmt.enabled, the
 * registry when cfg->registration.enabled, the health checker, and the
 * telemetry commands. Installs the control hooks and the rule model's
 * event sink. Main lcore, before launch.
 *
 * @return the plane, or NULL with errno (what ssr_mgmt_create() failed
 *   with, ENOMEM).
 */
struct ssr_plane *
ssr_plane_create(const struct ssr_plane_conf *conf);

/** Close the socket, free everything. NULL is a no-op. Main lcore. */
void
ssr_plane_free(struct ssr_plane *p);

/**
 * One pass: the management socket when due, a telemetry request, health
 * checks, rule-model housekeeping. Never blocks.
 *
 * @return requests and packets of work done (0: idle).
 */
unsigned int
ssr_plane_poll(struct ssr_plane *p);

/**
 * Router-wide counters: every worker's and the control lcore's, summed
 * (relaxed reads of live counters).
 */
void
ssr_plane_totals(const struct ssr_plane *p, struct ssr_stats *sum);

struct ssr_mgmt;
struct ssr_health;

/** What the plane serves (for telemetry). Control lcore. */
struct ssr_router *
ssr_plane_router(const struct ssr_plane *p);
struct ssr_rules *
ssr_plane_rules(const struct ssr_plane *p);
struct ssr_mgmt *
ssr_plane_mgmt(const struct ssr_plane *p);
struct ssr_health *
ssr_plane_health(const struct ssr_plane *p);

/** The operations table the management server calls (tests use it). */
const struct ssr_mgmt_ops *
ssr_plane_ops(void);

#ifdef __cplusplus
}
#endif

#endif /* SSR_PLANE_H */
