/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * DPDK telemetry commands for serval-sr (docs/telemetry.md), read with
 * DPDK's usertools/dpdk-telemetry.py over the EAL's runtime directory
 * socket (/var/run/dpdk/<file-prefix>/dpdk_telemetry.v2):
 *
 *   /serval/stats          router-wide counters (and "dropped")
 *   /serval/drops          drops by reason
 *   /serval/rules          prefixes of the rules (at most 512)
 *   /serval/rule,PREFIX    one rule: action, targets, its counters
 *   /serval/flows          flow-table gauges and counters
 *   /serval/workers        lcore of each worker
 *   /serval/worker,N       one worker's counters
 *   /serval/health         health-check counters
 *   /serval/mgmt           management-socket counters
 *
 * Telemetry callbacks run on DPDK's telemetry thread, but the rule model
 * belongs to the control lcore. So a callback posts its request and waits
 * (up to a second) while the control lcore, in ssr_telemetry_poll(),
 * fills the reply on one of its passes: the same hand-off as the workers'
 * mailbox (a request that timed out is withdrawn and never served late).
 * The control lcore only ever does a relaxed load when nobody asks.
 */

#ifndef SSR_TELEMETRY_H
#define SSR_TELEMETRY_H

#ifdef __cplusplus
extern "C" {
#endif

struct ssr_plane;
struct ssr_telemetry;

/**
 * Register the commands (once per process) and serve them from @p p.
 * Main lcore. NULL with errno (ENOMEM, or what registration failed with).
 */
struct ssr_telemetry *
ssr_telemetry_create(struct ssr_plane *p);

/**
 * Stop serving (commands then answer an error) and free. Waits for a
 * request in progress to end. NULL is a no-op. Main lcore, after the
 * control loop stopped polling.
 */
void
ssr_telemetry_free(struct ssr_telemetry *t);

/**
 * Serve a request that is waiting, if any. Control lcore, every pass.
 *
 * @return 1 if a request was served, else 0.
 */
unsigned int
ssr_telemetry_poll(struct ssr_telemetry *t);

#ifdef __cplusplus
}
#endif

#endif /* SSR_TELEMETRY_H */
