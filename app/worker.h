/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The per-lcore data path: RX burst -> parse/classify -> per-class stages
 * (ARP to the control lcore, ICMP echo, transit forwarding, SAL) -> buffered
 * TX with a TSC drain -> quiescent state report.
 *
 * mbuf conventions between lcores: whenever a packet is handed to another
 * lcore (control ring, TX hand-off inbox), m->port holds a *port index* into
 * r->port[] (not a DPDK port id), m->hash.fdir.hi a tag (enum ssr_tag) and
 * m->hash.fdir.lo the tag's value: the next hop (network order) for
 * SSR_TAG_MISS, the rule id for SSR_TAG_DELAY.
 */

#ifndef SSR_WORKER_H
#define SSR_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_ring.h>

#include "neigh.h"
#include "router.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a packet handed between lcores is for. */
enum ssr_tag {
	SSR_TAG_ARP = 1,  /**< to control: ARP received on port m->port */
	SSR_TAG_MISS,     /**< to control: next hop fdir.lo unresolved, out m->port */
	SSR_TAG_DELAY,    /**< to control: held by delay rule fdir.lo (its slot) */
	SSR_TAG_TX,       /**< to a worker: send out of port m->port */
	SSR_TAG_REINJECT, /**< to a worker: run the SAL stage again (released) */
	SSR_TAG_ROUTE,    /**< to a worker: an IPv4 frame the control lcore
			   *   built; route it to fdir.lo (network order) */
	SSR_TAG_PROBE,    /**< to control: a SYN-ACK to a health-probe flowID */
	SSR_TAG_REGISTER, /**< to control: an in-band registration datagram */
};

/** States of a struct ssr_mailbox. */
enum ssr_mbox_state {
	SSR_MBOX_IDLE,   /**< free: the control lcore may post */
	SSR_MBOX_POSTED, /**< a command waits; the control lcore may cancel */
	SSR_MBOX_TAKEN,  /**< the worker is running it */
	SSR_MBOX_DONE,   /**< result is valid; the control lcore sets IDLE */
};

/** Commands the control lcore hands a worker and waits for. */
enum ssr_mbox_op {
	SSR_MBOX_FLOW_DELETE = 1, /**< flowtable_delete(arg), as its owner */
};

/**
 * One command from the control lcore to a worker, answered. The state word
 * moves IDLE -> POSTED (control) -> TAKEN -> DONE (worker) -> IDLE
 * (control), or POSTED -> IDLE when the control lcore gives up before the
 * worker took it (compare-and-swap on both sides decides who wins), so a
 * command that timed out never runs later.
 */
struct ssr_mailbox {
	uint32_t state;  /**< enum ssr_mbox_state; atomics only */
	uint32_t op;     /**< enum ssr_mbox_op; written before POSTED */
	uint32_t arg;
	int32_t result;  /**< 0 or -errno; written before DONE */
} __rte_cache_aligned;

/** Tag @p m for a hand-off. */
static inline void
ssr_tag_set(struct rte_mbuf *m, enum ssr_tag tag, uint32_t val)
{
	m->hash.fdir.hi = tag;
	m->hash.fdir.lo = val;
}

/** An RX queue a worker polls. */
struct ssr_local;
struct ssr_rule_ctr;

struct ssr_rxq {
	uint16_t port_id;
	uint16_t queue;
	uint8_t pidx;   /**< index into r->port[] */
};

/** When a worker next ages flows (app/sal_path.c, ssr_sal_expire()). */
struct ssr_expire_pace {
	uint64_t next;    /**< [W] TSC of the next slice */
	uint64_t last;    /**< [W] TSC of the last slice */
	uint64_t period;  /**< [W] slice period in TSC; 0 until the first call */
	uint32_t budget;  /**< [W] flow slots scanned per slice */
};

/** One worker; cache-aligned, written only by its lcore while running. */
struct ssr_worker {
	unsigned int idx;                 /**< [I] 0..n_workers-1 */
	unsigned int lcore;               /**< [I] */
	struct ssr_router *r;             /**< [I] */
	unsigned int n_rxq;               /**< [I] */
	struct ssr_rxq rxq[SSR_CFG_MAX_PORTS]; /**< [I] at most one per port */
	int16_t txq[SSR_CFG_MAX_PORTS];   /**< [I] own TX queue per port, or -1 */
	uint16_t tx_owner[SSR_CFG_MAX_PORTS]; /**< [I] hand-off target if txq < 0 */
	struct rte_eth_dev_tx_buffer *txb[SSR_CFG_MAX_PORTS]; /**< [W] */
	struct rte_ring *inbox;           /**< MP/SC: packets for our TX queues */
	uint64_t last_drain;              /**< [W] TSC of the last TX flush */
	unsigned int qs_id;               /**< [I] QSBR thread id */
	struct ssr_local *local;          /**< [W] flows the router terminates */
	uint64_t rst_next;                /**< [W] RST rate limit: next free slot */
	struct ssr_expire_pace expire;    /**< [W] flow aging schedule */
	struct ssr_rule_ctr *rule_ctr;    /**< [W] per rule slot (services.h) */
	uint32_t n_rule_ctr;              /**< [I] entries in rule_ctr */
	uint32_t n_tgt_ctr;               /**< [I] entries in tgt_ctr */
	uint64_t *tgt_ctr;                /**< [W] per target-counter entry */
	struct rte_ring *cmd;             /**< control -> worker: flows to delete
					   *   (SP/SC, flowIDs as pointers) */
	struct ssr_mailbox mbox;          /**< control -> worker: one command
					   *   waited for (flows.delete) */
	struct ssr_stats stats;           /**< [W] */
} __rte_cache_aligned;

/**
 * Allocate worker @p idx for @p lcore: TX buffers, inbox, queue lists from
 * r->port[]. Main lcore, before launch.
 *
 * @return
 *   The worker, or NULL with rte_errno (ENOMEM, EEXIST for the ring name).
 */
struct ssr_worker *
ssr_worker_create(struct ssr_router *r, unsigned int idx,
		unsigned int lcore);

/** Free a worker (after ssr_worker_finish()). NULL is a no-op. */
void
ssr_worker_free(struct ssr_worker *w);

/**
 * One pass: poll every RX queue once, process, drain the inbox, flush TX if
 * due, report quiescence. The worker's own lcore (or the main lcore in
 * single-lcore mode).
 *
 * @return
 *   Packets received in this pass.
 */
unsigned int
ssr_worker_poll(struct ssr_worker *w);

/**
 * Classify and handle @p n packets received on port index @p pidx (the body
 * of ssr_worker_poll() for one RX burst, without the RX counter): forward,
 * terminate, hand to the control core or drop and count each one. Every
 * mbuf is consumed. Output is buffered; it leaves at the next flush. The
 * worker's own lcore; exposed so the in-process pipeline benchmark drives
 * the real path with pre-built bursts.
 */
void
ssr_worker_process_burst(struct ssr_worker *w, unsigned int pidx,
		struct rte_mbuf **pkts, unsigned int n);

/** lcore entry point: ssr_worker_poll() until a stop is requested. */
int
ssr_worker_main(void *arg);

/** ssr_worker_tx()'s slow part: send port @p pidx's full TX buffer. Owning lcore only. */
void
ssr_worker_tx_flush(struct ssr_worker *w, unsigned int pidx);

/**
 * ssr_worker_tx()'s other slow part: hand @p m to the worker that owns
 * port @p pidx's TX queue (or count a drop when its inbox is full). Owning
 * lcore only.
 */
void
ssr_worker_tx_handoff(struct ssr_worker *w, unsigned int pidx, struct rte_mbuf *m);

/**
 * Send @p m out of port index @p pidx: our TX buffer, or the owner's inbox.
 * Owning lcore only. Inline, a store and a compare per packet: the burst
 * send is out of line (rte_eth_tx_buffer() inlines all of it, and the
 * registers that takes were saved and restored for every packet buffered,
 * when one in SSR_BURST sends).
 */
static inline void
ssr_worker_tx(struct ssr_worker *w, unsigned int pidx, struct rte_mbuf *m)
{
	struct rte_eth_dev_tx_buffer *b = w->txb[pidx];

	if (unlikely(w->txq[pidx] < 0)) {
		ssr_worker_tx_handoff(w, pidx, m);
		return;
	}
	b->pkts[b->length++] = m;
	if (unlikely(b->length >= b->size))
		ssr_worker_tx_flush(w, pidx);
}

/**
 * Route @p m (an IPv4 frame whose TTL is already dealt with) to @p dst:
 * output port, next hop, MACs, then TX or the control lcore on a neighbour
 * miss. Owning lcore only.
 *
 * @return
 *   true when sent or held for ARP, false when dropped (no route, counted).
 */
bool
ssr_worker_output(struct ssr_worker *w, struct rte_mbuf *m, rte_be32_t dst);

/**
 * ssr_worker_output_via()'s slow part: no MAC for next hop @p nh yet, so
 * the control lcore holds @p m until ARP answers. Owning lcore only.
 */
void
ssr_worker_neigh_miss(struct ssr_worker *w, struct rte_mbuf *m, unsigned int out,
		rte_be32_t nh);

/**
 * ssr_worker_output() with the route already looked up (ssr_route()), for
 * a caller that needed it before: MACs, then TX or the control lcore on a
 * neighbour miss. Owning lcore only. Inline: it runs for every packet sent.
 *
 * @param out  output port index, as ssr_route() returned it (>= 0)
 * @param nh   next hop, as ssr_route() gave it
 */
static inline void
ssr_worker_output_via(struct ssr_worker *w, struct rte_mbuf *m, unsigned int out,
		rte_be32_t nh)
{
	const struct ssr_router *r = w->r;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (unlikely(!ssr_neigh_lookup(r->neigh, nh, &eth->dst_addr))) {
		ssr_worker_neigh_miss(w, m, out, nh);
		return;
	}
	rte_ether_addr_copy(&r->port[out].mac, &eth->src_addr);
	ssr_worker_tx(w, out, m);
}

/** Hand @p m to the control lcore (tagged by the caller); counted. */
void
ssr_worker_to_control(struct ssr_worker *w, struct rte_mbuf *m);

/** Slots of each worker's command ring (flows to delete). */
#define SSR_CMD_RING_SIZE 4096
/** Commands a worker takes from its ring per loop at most. */
#define SSR_CMD_BUDGET 64

/**
 * Ask worker @p w to delete gateway flow @p rfid, which it owns, without
 * waiting (flowtable_delete() is the owner's alone). Control lcore.
 *
 * @return 0, or -ENOBUFS when the worker's command ring is full (try
 *   again on a later pass).
 */
int
ssr_worker_post_delete(struct ssr_worker *w, uint32_t rfid);

/**
 * Run command @p op on worker @p w and wait up to @p timeout_us for its
 * result. When @p w runs on the calling lcore (one lcore: the worker loop
 * and the control duties share it) the command runs at once. A command the
 * worker did not take in time is withdrawn: it never runs later. Control
 * lcore only.
 *
 * @return 0 with *result the command's, -EBUSY (another command is
 *   pending), -ETIMEDOUT (withdrawn, nothing done).
 */
int
ssr_worker_call(struct ssr_worker *w, enum ssr_mbox_op op, uint32_t arg,
		unsigned int timeout_us, int32_t *result);

/**
 * After the worker's lcore has returned: move everything left in its inbox
 * to the TX buffers and flush them. Main lcore.
 *
 * @return
 *   Packets still in the inbox afterwards (non-zero only if a peer keeps
 *   enqueuing).
 */
unsigned int
ssr_worker_finish(struct ssr_worker *w);

/**
 * Adjust an Internet checksum (network order) for a 16-bit word changed
 * from @p old to @p new (both network order), as RFC 1624 eqn. 3.
 */
static inline uint16_t
ssr_cksum_adjust(uint16_t ck, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~rte_be_to_cpu_16(ck) +
		(uint16_t)~rte_be_to_cpu_16(old) + rte_be_to_cpu_16(new);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return rte_cpu_to_be_16((uint16_t)~s);
}

/** As ssr_cksum_adjust() for a 32-bit field (e.g. an IPv4 address). */
static inline uint16_t
ssr_cksum_adjust32(uint16_t ck, uint32_t old, uint32_t new)
{
	ck = ssr_cksum_adjust(ck, (uint16_t)old, (uint16_t)new);
	return ssr_cksum_adjust(ck, (uint16_t)(old >> 16), (uint16_t)(new >> 16));
}

#ifdef __cplusplus
}
#endif

#endif /* SSR_WORKER_H */
