/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * Data-path counters: one X-macro list for the packet counters and one for
 * the drop reasons, each producing the enum and the names. Every lcore
 * (workers and the control lcore) owns one cache-aligned struct ssr_stats of
 * plain uint64_t that only it writes; the control lcore sums them. Nobody
 * ever resets a counter.
 *
 * Invariant, once every ring and queue has drained (at shutdown), over the
 * sum of all lcores:
 *
 *     rx + generated == tx + consumed + dropped (sum of all reasons)
 *
 * and to_control == from_workers, handoff_out == handoff_in. Every mbuf that
 * enters (received or built) leaves in exactly one of the right-hand columns.
 */

#ifndef SSR_STATS_H
#define SSR_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>

#include "sal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Packet counters: name, description. */
#define SSR_COUNTERS(_) \
	_(RX, "received from a port") \
	_(GENERATED, "built by the router (ARP requests, RSTs, local replies)") \
	_(TX, "accepted by a port for transmission") \
	_(CONSUMED, "ended at the router (ARP, local flows)") \
	_(TO_CONTROL, "handed by a worker to the control lcore") \
	_(FROM_WORKERS, "taken by the control lcore from workers") \
	_(HANDOFF_OUT, "handed to the worker owning the TX queue") \
	_(HANDOFF_IN, "taken from another lcore for TX") \
	_(ARP_REPLIED, "ARP requests for a router address answered") \
	_(ICMP_ECHO_REPLIED, "ICMP echo requests answered") \
	_(FORWARDED, "transit IPv4 packets forwarded") \
	_(NEIGH_QUEUED, "held while the next hop was resolved") \
	_(NEIGH_RELEASED, "released after the next hop resolved") \
	_(SAL_RESOLVED, "SAL connection requests resolved to a target") \
	_(SAL_GATEWAY, "SAL packets relayed in gateway mode") \
	_(SAL_FLOWS_CREATED, "gateway-mode flows created") \
	_(SAL_MIGRATED, "gateway-mode client migrations accepted") \
	_(SAL_RST_SENT, "SAL RSTs sent for packets of no flow") \
	_(SAL_RST_LIMITED, "SAL RSTs not sent: over the rate limit") \
	_(SAL_LOCAL, "SAL packets handled by the local endpoint") \
	_(SAL_DELAYED, "SAL connection requests held by a delay rule") \
	_(SAL_DELAY_RELEASED, "held SAL requests released by a new rule") \
	_(SAL_REGISTRATIONS, "in-band registration messages handled") \
	_(HEALTH_PROBES, "health-check SYNs sent to targets") \
	_(HEALTH_ANSWERS, "health-check SYN-ACKs received in time") \
	_(FLOW_AGING, "flow-table aging slices run (paced, 100 us apart at least)")

/** Drop reasons: name, description. */
#define SSR_DROP_REASONS(_) \
	_(RUNT, "frame too short or multi-segment") \
	_(OTHER_HOST, "unicast frame for another MAC") \
	_(L2_MULTICAST, "Ethernet multicast frame") \
	_(ETHERTYPE, "EtherType neither IPv4 nor ARP") \
	_(IP_MALFORMED, "malformed IPv4 header") \
	_(IP_CHECKSUM, "bad IPv4 header checksum") \
	_(IP_MARTIAN, "impossible IPv4 source address") \
	_(IP_BROADCAST, "IPv4 broadcast or multicast, not forwarded") \
	_(TTL_EXPIRED, "TTL expired in transit") \
	_(NO_ROUTE, "no route (no connected subnet, no gateway)") \
	_(LOCAL_PROTO, "to the router, protocol not served") \
	_(LOCAL_FRAGMENT, "fragment addressed to the router") \
	_(ICMP_MALFORMED, "bad ICMP to the router") \
	_(ARP_MALFORMED, "malformed or unsupported ARP") \
	_(ARP_CONFLICT, "ARP claims a router address") \
	_(NEIGH_QUEUE_FULL, "next-hop resolution queue full") \
	_(NEIGH_UNRESOLVED, "next hop did not answer ARP") \
	_(NEIGH_TABLE_FULL, "neighbour table full") \
	_(CONTROL_RING_FULL, "control ring full") \
	_(HANDOFF_FULL, "TX hand-off ring full") \
	_(NOMBUF, "no mbuf for a reply or request") \
	_(TX_FULL, "port TX queue full") \
	_(SHUTDOWN, "still queued at shutdown") \
	_(SAL_MALFORMED, "malformed SAL header") \
	_(SAL_NO_SERVICE, "no serviceID prefix matched") \
	_(SAL_NO_TARGET, "forward rule with every target at weight 0") \
	_(SAL_RULE_DROP, "a drop rule matched") \
	_(SAL_LOOP, "router address already in SOURCE (loop)") \
	_(SAL_TOO_BIG, "no room to add the SOURCE extension") \
	_(SAL_NOT_SYN, "SAL to the router that is no connection request") \
	_(SAL_NO_FLOW, "gateway-mode packet matching no flow") \
	_(SAL_FLOW_MISMATCH, "flowIDs or address do not match the flow") \
	_(SAL_NONCE_MISMATCH, "migration (RSYN) with the wrong nonce") \
	_(SAL_GATEWAY_DATAGRAM, "connectionless datagram for a gateway-mode rule") \
	_(SAL_FLOW_FULL, "flow table full") \
	_(SAL_DELAY_FULL, "delay queue full") \
	_(SAL_DELAY_TIMEOUT, "delayed request timed out") \
	_(SAL_LOCAL_UNSUPPORTED, "datagram for a local rule (flows only)") \
	_(SAL_LOCAL_REJECTED, "local flow: the SAL endpoint refused the packet") \
	_(SAL_LOCAL_TOO_BIG, "local flow: TCP segment too long to echo (> 1600 bytes)") \
	_(SAL_REG_DENIED, "registration from a host outside registration.allow") \
	_(SAL_REG_MALFORMED, "malformed in-band registration message") \
	_(SAL_PROBE_STRAY, "SYN-ACK to a health-probe flowID of no probe") \
	_(SAL_PROBE_BAD_ACK, "health-probe SYN-ACK not acknowledging the probe")

#define SSR_CNT_ENUM(name, desc) SSR_CNT_##name,
enum ssr_counter {
	SSR_COUNTERS(SSR_CNT_ENUM)
	SSR_CNT_MAX
};
#undef SSR_CNT_ENUM

#define SSR_DROP_ENUM(name, desc) SSR_DROP_##name,
enum ssr_drop_reason {
	SSR_DROP_REASONS(SSR_DROP_ENUM)
	SSR_DROP_MAX
};
#undef SSR_DROP_ENUM

/** One lcore's counters. [W] owning lcore writes; control lcore reads. */
struct ssr_stats {
	uint64_t cnt[SSR_CNT_MAX];
	uint64_t drop[SSR_DROP_MAX];
	/** Detail of SSR_DROP_SAL_MALFORMED by lib/sal's reason (not summed). */
	uint64_t sal_reason[SAL_DROP_MAX];
} __rte_cache_aligned;

/**
 * Add to a counter. Owning lcore only. The relaxed load/store pair is a plain
 * increment on x86; it tells readers and sanitizers the field is shared.
 */
static inline void
ssr_count(struct ssr_stats *s, enum ssr_counter c, uint64_t n)
{
	/* relaxed: single writer; the control lcore only needs a torn-free value */
	__atomic_store_n(&s->cnt[c], __atomic_load_n(&s->cnt[c], __ATOMIC_RELAXED) + n,
			__ATOMIC_RELAXED);
}

/** Count @p n drops for @p r. Owning lcore only. */
static inline void
ssr_drop(struct ssr_stats *s, enum ssr_drop_reason r, uint64_t n)
{
	/* relaxed: as ssr_count() */
	__atomic_store_n(&s->drop[r], __atomic_load_n(&s->drop[r], __ATOMIC_RELAXED) + n,
			__ATOMIC_RELAXED);
}

/** Count one malformed SAL packet with lib/sal's reason. Owning lcore only. */
static inline void
ssr_drop_sal(struct ssr_stats *s, enum sal_drop_reason r)
{
	ssr_drop(s, SSR_DROP_SAL_MALFORMED, 1);
	if ((unsigned int)r < SAL_DROP_MAX)
		/* relaxed: as ssr_count() */
		__atomic_store_n(&s->sal_reason[r],
				__atomic_load_n(&s->sal_reason[r], __ATOMIC_RELAXED) + 1,
				__ATOMIC_RELAXED);
}

/** Read one counter of another lcore. Any lcore. */
static inline uint64_t
ssr_stats_read(const struct ssr_stats *s, enum ssr_counter c)
{
	/* relaxed: a monotonic counter; no ordering with other data is implied */
	return __atomic_load_n(&s->cnt[c], __ATOMIC_RELAXED);
}

/** Name of a counter ("rx"), "?" out of range. Any thread. */
const char *
ssr_counter_name(enum ssr_counter c);

/** Description of a counter, "?" out of range. Any thread. */
const char *
ssr_counter_desc(enum ssr_counter c);

/** Name of a drop reason ("ttl_expired"), "?" out of range. Any thread. */
const char *
ssr_drop_name(enum ssr_drop_reason r);

/** Description of a drop reason, "?" out of range. Any thread. */
const char *
ssr_drop_desc(enum ssr_drop_reason r);

/**
 * Add every counter of @p src into @p sum (relaxed loads). Control lcore, or
 * any thread once the owners have stopped.
 */
void
ssr_stats_add(struct ssr_stats *sum, const struct ssr_stats *src);

/** Sum of all drop reasons of @p s. Any thread (reads plain fields). */
uint64_t
ssr_stats_dropped(const struct ssr_stats *s);

/**
 * Print the non-zero counters of @p s (rx and tx always), indented by two
 * spaces, one `name: value` per line: counters, `dropped`, `drop.<reason>`,
 * then `sal_malformed.<REASON>`. Any thread once the owners have stopped.
 */
void
ssr_stats_print(FILE *f, const char *title, const struct ssr_stats *s);

/**
 * Check the invariant above on a sum. Any thread.
 *
 * @return
 *   Non-zero when it holds.
 */
int
ssr_stats_balanced(const struct ssr_stats *sum);

#ifdef __cplusplus
}
#endif

#endif /* SSR_STATS_H */
