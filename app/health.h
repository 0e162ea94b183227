/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * Active health checks of forward rules' targets, the Serval way.
 *
 * For each target of a rule with a `health` section, every interval_ms the
 * control lcore builds a SAL connection request for the rule's serviceID
 * (CONTROL with SYN, SERVICE with the rule's prefix, a TCP SYN behind) from
 * the router's address facing the target, straight to the target, and hands
 * it to a worker to route. Its src_flowid is a probe flowID (top byte 0xff,
 * bit 0 clear: see SSR_PROBE_FLOWID_TAG), so the target's SYN-ACK comes back
 * to the router with that dst_flowid; the worker's SAL stage hands such
 * packets to the control lcore while probes are out. A SYN-ACK from the
 * target within timeout_ms whose SAL ackno acknowledges the probe's random
 * verno counts as alive (any other is dropped and counted as
 * sal_probe_bad_ack, and the probe waits on), and the half-open flow on the
 * target is reset at once with the original stack's RST (sal_build_rst()).
 *
 * `fall` misses in a row mark a target down, `rise` answers in a row mark
 * it up again; an unchecked target counts as up. A target that is down is
 * published with weight 0 (no new flows; the rest of its priority set, or
 * a lower one, takes them) through a rule-model transaction, with a health
 * event; its existing gateway-mode flows stay (on_down: keep) or are
 * removed (on_down: reset).
 *
 * Threads: control lcore only.
 */

#ifndef SSR_HEALTH_H
#define SSR_HEALTH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct ssr_control;
struct ssr_rules;

/** Probes out at once at most (more wait for the next pass). */
#define SSR_HEALTH_MAX_PROBES 32768

/** Health-check counters. */
struct ssr_health_stats {
	uint64_t probes;        /**< SYNs sent */
	uint64_t answers;       /**< SYN-ACKs in time */
	uint64_t timeouts;      /**< probes unanswered within timeout_ms */
	uint64_t late;          /**< SYN-ACKs of no probe out (late, forged) */
	uint64_t bad_ack;       /**< SYN-ACKs to a probe out that do not
				 *   acknowledge its SYN (SAL ackno != verno + 1) */
	uint64_t unroutable;    /**< probes not sent: no route, no mbuf */
	uint64_t marked_down;
	uint64_t marked_up;
	uint32_t outstanding;   /**< probes out now */
};

struct ssr_health;

/** Create the checker. Main lcore. NULL with errno ENOMEM. */
struct ssr_health *
ssr_health_create(struct ssr_control *c, struct ssr_rules *m);

/** Free it. NULL is a no-op. */
void
ssr_health_free(struct ssr_health *h);

/**
 * Send the probes that are due, count the ones that timed out, and commit
 * the verdicts (one transaction per call). Every control pass.
 */
void
ssr_health_poll(struct ssr_health *h, uint64_t now_ms);

/**
 * A SYN-ACK to a probe flowID (SSR_TAG_PROBE): an ssr_control_pkt_fn.
 * Takes the mbuf.
 */
void
ssr_health_packet(void *arg, struct rte_mbuf *m, uint64_t now);

/** Copy the counters. */
void
ssr_health_get_stats(const struct ssr_health *h, struct ssr_health_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* SSR_HEALTH_H */
