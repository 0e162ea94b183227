/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "flowtable.h"
#include "local.h"
#include "sal_build.h"
#include "sal_edit.h"
#include "sal_parse.h"
#include "sal_path.h"
#include "svctable.h"

/*
 * Expiry pacing: each worker ages its slice of the gateway flows a few
 * slots at a time, every SSR_FLOW_EXPIRE_PERIOD_US (a TSC deadline, so an
 * idle loop pays one compare), with a budget sized to sweep the whole slice
 * once per sweep period (below). Scanning 64 slots on every loop pass instead
 * was 43% of an idle worker's instructions.
 */
#define SSR_FLOW_EXPIRE_PERIOD_US 100
/* The sweep period: a tenth of the shortest timeout, so a flow outlives
 * its timeout by at most 10% (the cost of a sweep is per slot, so a tight
 * bound on long timeouts is bought with CPU for nothing), within these. */
#define SSR_FLOW_SWEEP_MIN_MS 100u
#define SSR_FLOW_SWEEP_MAX_MS 1000u
/* A loop slower than the period (one lcore doing the control duties too,
 * sanitizers) scans the slices it missed, up to this many at once. */
#define SSR_FLOW_EXPIRE_CATCHUP 16

static void
drop(struct ssr_worker *w, struct rte_mbuf *m, enum ssr_drop_reason why)
{
	ssr_drop(&w->stats, why, 1);
	rte_pktmbuf_free(m);
}

/* Count for the rule that matched a request (its stable slot). */
static inline void
rule_count(struct ssr_worker *w, const struct svctable_rule *rule,
		enum ssr_rule_counter c)
{
	if (likely(rule->id < w->n_rule_ctr)) {
		uint64_t *p = &w->rule_ctr[rule->id].c[c];

		/* relaxed: single writer; the control lcore sums torn-free values */
		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1,
				__ATOMIC_RELAXED);
	}
}

/* Count the target svctable_pick() chose, in the rule version's run. */
static inline void
target_count(struct ssr_worker *w, const struct svctable_rule *rule,
		const struct svctable_target *t)
{
	uint32_t e = (rule->user_flags >> SSR_RULE_RUN_SHIFT) + (uint32_t)(t - rule->tset->targets);

	if (likely(e < w->n_tgt_ctr)) {
		/* relaxed: as rule_count() */
		__atomic_store_n(&w->tgt_ctr[e],
				__atomic_load_n(&w->tgt_ctr[e], __ATOMIC_RELAXED) + 1,
				__ATOMIC_RELAXED);
	}
}

/* The per-rule counter act() bumps besides "matched" for @p rule's action
 * (a forward rule without a target bumps "dropped" instead). */
static inline enum ssr_rule_counter
action_counter(const struct svctable_rule *rule)
{
	switch (rule->action) {
	case SVCTABLE_ACTION_FORWARD:
		return SSR_RCNT_FORWARDED;
	case SVCTABLE_ACTION_DELAY:
		return SSR_RCNT_DELAYED;
	case SVCTABLE_ACTION_LOCAL:
		return SSR_RCNT_LOCAL;
	default:
		return SSR_RCNT_DROPPED;
	}
}

/* Drop a packet an edit refused, under our reason for lib/sal's. */
static void __rte_noinline
edit_refused(struct ssr_worker *w, struct rte_mbuf *m, enum sal_drop_reason r)
{
	switch (r) {
	case SAL_DROP_TTL_EXPIRED:
		drop(w, m, SSR_DROP_TTL_EXPIRED);
		return;
	case SAL_DROP_SOURCE_LOOP:
		drop(w, m, SSR_DROP_SAL_LOOP);
		return;
	default:
		/* SOURCE full, too many extensions, no room to grow */
		drop(w, m, SSR_DROP_SAL_TOO_BIG);
		return;
	}
}

/* Map a lib/sal edit verdict to our drop reasons; true when accepted.
 * Inline for the accepted case, which is every packet but a few. */
static inline bool
edit_ok(struct ssr_worker *w, struct rte_mbuf *m, enum sal_drop_reason r)
{
	if (likely(r == SAL_DROP_NONE))
		return true;
	edit_refused(w, m, r);
	return false;
}

/* sal_edit_forward() on an mbuf, then tell the mbuf what moved. */
static bool
forward_edit(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp,
		uint32_t dst, uint32_t flags)
{
	struct sal_edit_res res;
	struct sal_frame f = {
		.data = rte_pktmbuf_mtod(m, uint8_t *),
		.len = rte_pktmbuf_data_len(m),
		.headroom = rte_pktmbuf_headroom(m),
		.tailroom = rte_pktmbuf_tailroom(m),
	};

	if (!edit_ok(w, m, sal_edit_forward(&f, sp, dst, flags, &res)))
		return false;
	/* the edit moved bytes within the buffer; tell the mbuf */
	if (res.prepended != 0)
		rte_pktmbuf_prepend(m, res.prepended);
	if (res.appended != 0)
		rte_pktmbuf_append(m, res.appended);
	return true;
}

/* Router address facing @p dst (the output port's), or 0 when unroutable. */
static rte_be32_t
facing_addr(const struct ssr_router *r, rte_be32_t dst)
{
	rte_be32_t nh;
	int out = ssr_route(r, dst, &nh);

	return out < 0 ? 0 : r->port[out].addr;
}

/*
 * Gateway mode, a new request: create the flow (or find the one a
 * retransmitted SYN belongs to), then send the SYN to the target as if the
 * router were the client: IP source = the router's address facing the
 * target, src_flowid = the flow's instance-side router flowID, no SOURCE.
 */
static void
gateway_new(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp,
		const struct svctable_rule *rule, const struct svctable_target *t)
{
	struct ssr_router *r = w->r;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct flowtable_syn_key key;
	struct flowtable_result res;
	uint32_t rfid, target, len = rte_pktmbuf_pkt_len(m);
	uint64_t now = rte_rdtsc();
	rte_be32_t src;
	int ret;

	if (!sal_pkt_is_syn(sp) || sp->src_flowid == 0) {
		/* no flow to keep for a datagram: the pool is not reachable */
		drop(w, m, SSR_DROP_SAL_GATEWAY_DATAGRAM);
		return;
	}
	key.client_ip = sal_pkt_ip_src(frame, sp);
	key.client_flowid = sp->src_flowid;
	memcpy(key.nonce, frame + sp->ctrl_off + offsetof(struct sal_control_ext, nonce),
			sizeof(key.nonce));
	if (flowtable_find_syn_bulk(r->ft, w->idx, &key, 1, &rfid) & 1) {
		/* a retransmission: the flow's target, whatever the rule says now */
		if (!(flowtable_lookup_bulk(r->ft, w->idx, &rfid, &len, 1, &res, now) & 1)) {
			drop(w, m, SSR_DROP_SAL_NO_FLOW);
			return;
		}
		target = res.target;
	} else {
		if (unlikely(t == NULL)) {
			rule_count(w, rule, SSR_RCNT_DROPPED);
			drop(w, m, SSR_DROP_SAL_NO_TARGET);
			return;
		}
		target_count(w, rule, t);
		target = t->ip;
		ret = flowtable_insert(r->ft, w->idx, &key, target, now, &rfid);
		if (ret == -ENOSPC) {
			drop(w, m, SSR_DROP_SAL_FLOW_FULL);
			return;
		}
		if (ret != 0 && ret != -EEXIST) {
			drop(w, m, SSR_DROP_SAL_FLOW_MISMATCH);
			return;
		}
		if (ret == 0)
			ssr_count(&w->stats, SSR_CNT_SAL_FLOWS_CREATED, 1);
	}
	src = facing_addr(r, target);
	if (unlikely(src == 0)) {
		drop(w, m, SSR_DROP_NO_ROUTE);
		return;
	}
	if (!forward_edit(w, m, sp, target, SAL_FWD_F_NO_SOURCE))
		return;
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	sal_edit_set_ip_addrs(frame, sp, src, target);
	/* router flowIDs are numbers: on the wire in network order */
	sal_edit_set_flowids(frame, sp,
			rte_cpu_to_be_32(rfid | FLOWTABLE_RFID_INSTANCE_SIDE), 0);
	ssr_count(&w->stats, SSR_CNT_SAL_GATEWAY, 1);
	rule_count(w, rule, SSR_RCNT_FORWARDED);
	ssr_worker_output(w, m, target);
}

/*
 * Gateway mode, a packet of a known flow (res), either direction. What it
 * writes to the flow (client address, instance flowID, state) it writes to
 * *res too, and then returns true: later packets of the flow in the same
 * burst were looked up before this one changed it, and the caller patches
 * their snapshots from *res.
 */
static bool
gateway_relay(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp,
		struct flowtable_result *res, uint64_t now)
{
	struct ssr_router *r = w->r;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	rte_be32_t ip_src = sal_pkt_ip_src(frame, sp), client = res->client_ip;
	uint32_t rfid = rte_be_to_cpu_32(sp->dst_flowid), peer_flowid;
	rte_be32_t dst, nh;
	bool wrote = false;
	int ret, out;

	if (res->from_instance) {
		if (ip_src != res->target) {
			drop(w, m, SSR_DROP_SAL_FLOW_MISMATCH);
			return false;
		}
		if (res->instance_flowid != sp->src_flowid) {
			/* the instance's first packet (its SYN-ACK) names its flowID */
			if (res->instance_flowid != 0 || !sal_pkt_is_syn(sp) ||
					flowtable_set_instance_flowid(r->ft, w->idx, rfid,
						sp->src_flowid) != 0) {
				drop(w, m, SSR_DROP_SAL_FLOW_MISMATCH);
				return false;
			}
			res->instance_flowid = sp->src_flowid;
			wrote = true;
		}
		dst = client;
		rfid = flowtable_rfid_peer(rfid);
		peer_flowid = res->client_flowid;
	} else {
		if (sp->src_flowid != res->client_flowid || res->instance_flowid == 0) {
			drop(w, m, SSR_DROP_SAL_FLOW_MISMATCH);
			return false;
		}
		if (ip_src != client) {
			/* only a migration (RSYN with the handshake's nonce) moves it */
			if (!(sp->ctrl_flags & SAL_CTRL_RSYN)) {
				drop(w, m, SSR_DROP_SAL_FLOW_MISMATCH);
				return false;
			}
			ret = flowtable_migrate(r->ft, w->idx, rfid, ip_src,
					frame + sp->ctrl_off +
					offsetof(struct sal_control_ext, nonce), now);
			if (ret != 0) {
				drop(w, m, ret == -EPERM ? SSR_DROP_SAL_NONCE_MISMATCH :
						SSR_DROP_SAL_NO_FLOW);
				return false;
			}
			ssr_count(&w->stats, SSR_CNT_SAL_MIGRATED, 1);
			res->client_ip = ip_src;
			wrote = true;
		}
		if ((sp->ctrl_flags & SAL_CTRL_ACK) &&
				res->state == FLOWTABLE_STATE_SYN_SEEN &&
				flowtable_set_state(r->ft, w->idx, rfid,
					FLOWTABLE_STATE_ESTABLISHED) == 0) {
			res->state = FLOWTABLE_STATE_ESTABLISHED;
			wrote = true;
		}
		dst = res->target;
		rfid = flowtable_rfid_peer(rfid);
		peer_flowid = res->instance_flowid;
	}
	if ((sp->ctrl_flags & (SAL_CTRL_FIN | SAL_CTRL_RST)) &&
			res->state < FLOWTABLE_STATE_CLOSING &&
			flowtable_set_state(r->ft, w->idx, rfid, FLOWTABLE_STATE_CLOSING) == 0) {
		res->state = FLOWTABLE_STATE_CLOSING;
		wrote = true;
	}
	/* one route lookup: the source is the output port's address */
	out = ssr_route(r, dst, &nh);
	if (unlikely(out < 0 || r->port[out].addr == 0)) {
		drop(w, m, SSR_DROP_NO_ROUTE);
		return wrote;
	}
	/* TTL, addresses and flowIDs in one pass, each checksum once */
	if (!edit_ok(w, m, sal_edit_relay(frame, sp, r->port[out].addr, dst,
					rte_cpu_to_be_32(rfid), peer_flowid)))
		return wrote;
	ssr_count(&w->stats, SSR_CNT_SAL_GATEWAY, 1);
	ssr_worker_output_via(w, m, (unsigned int)out, nh);
	return wrote;
}

void
ssr_sal_reply_rst(struct ssr_worker *w, const uint8_t *frame, const struct sal_pkt *sp)
{
	const struct ssr_router *r = w->r;
	rte_be32_t dst = sal_pkt_ip_src(frame, sp), nh;
	uint64_t now = rte_rdtsc(), gap = r->tsc_hz / SSR_RST_PER_SEC;
	struct rte_ether_hdr *eth;
	struct rte_mbuf *m;
	int out, len;

	/* never answer a RST; a SYN (or SYN-ACK) that matches nothing is
	 * dropped silently, as the original does */
	if (sp->ctrl_flags & (SAL_CTRL_RST | SAL_CTRL_SYN))
		return;
	/* token bucket in TSC: one RST per gap, SSR_RST_BURST saved up */
	if (w->rst_next + gap * SSR_RST_BURST < now)
		w->rst_next = now - gap * SSR_RST_BURST;
	if (w->rst_next > now) {
		ssr_count(&w->stats, SSR_CNT_SAL_RST_LIMITED, 1);
		return;
	}
	w->rst_next += gap;
	out = ssr_route(r, dst, &nh);
	if (out < 0)
		return; /* nowhere to send it: the packet's drop says enough */
	m = rte_pktmbuf_alloc(r->port[out].pool);
	if (m == NULL)
		return;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + SAL_RST_LEN);
	len = eth == NULL ? -ENOSPC : sal_build_rst(frame, sp, 64,
			(uint16_t)rte_rdtsc(), (uint8_t *)(eth + 1), SAL_RST_LEN);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ssr_count(&w->stats, SSR_CNT_GENERATED, 1);
	ssr_count(&w->stats, SSR_CNT_SAL_RST_SENT, 1);
	ssr_worker_output(w, m, dst);
}

/* Hand a packet to another worker's SAL stage (its local flows). */
static void
reinject_to(struct ssr_worker *w, struct rte_mbuf *m, unsigned int owner)
{
	ssr_tag_set(m, SSR_TAG_REINJECT, 0);
	if (unlikely(rte_ring_mp_enqueue(w->r->workers[owner]->inbox, m) != 0)) {
		drop(w, m, SSR_DROP_HANDOFF_FULL);
		return;
	}
	ssr_count(&w->stats, SSR_CNT_HANDOFF_OUT, 1);
}

/* A resolved request: rewrite toward the target (picked for the burst)
 * and send it. */
static void
resolve(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp,
		const struct svctable_rule *rule, const struct svctable_target *t)
{
	if (unlikely(t == NULL)) {
		rule_count(w, rule, SSR_RCNT_DROPPED);
		drop(w, m, SSR_DROP_SAL_NO_TARGET);
		return;
	}
	target_count(w, rule, t);
	if (!forward_edit(w, m, sp, t->ip, 0))
		return;
	ssr_count(&w->stats, SSR_CNT_SAL_RESOLVED, 1);
	rule_count(w, rule, SSR_RCNT_FORWARDED);
	ssr_worker_output(w, m, t->ip);
}

static void
act(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp,
		const struct svctable_rule *rule, const struct svctable_target *t)
{
	if (rule == NULL) {
		drop(w, m, SSR_DROP_SAL_NO_SERVICE);
		return;
	}
	rule_count(w, rule, SSR_RCNT_MATCHED);
	switch (rule->action) {
	case SVCTABLE_ACTION_FORWARD:
		if (rule->user_flags & SSR_RULE_F_GATEWAY)
			gateway_new(w, m, sp, rule, t);
		else
			resolve(w, m, sp, rule, t);
		return;
	case SVCTABLE_ACTION_DELAY:
		ssr_tag_set(m, SSR_TAG_DELAY, rule->id);
		ssr_count(&w->stats, SSR_CNT_SAL_DELAYED, 1);
		rule_count(w, rule, SSR_RCNT_DELAYED);
		ssr_worker_to_control(w, m);
		return;
	case SVCTABLE_ACTION_LOCAL:
		rule_count(w, rule, SSR_RCNT_LOCAL);
		ssr_local_request(w, m, sp);
		return;
	default:
		rule_count(w, rule, SSR_RCNT_DROPPED);
		drop(w, m, SSR_DROP_SAL_RULE_DROP);
		return;
	}
}

static bool
reg_allowed(const struct ssr_router *r, rte_be32_t a)
{
	unsigned int i;

	for (i = 0; i < r->n_reg_allow; i++)
		if ((a & r->reg_allow[i][1]) == r->reg_allow[i][0])
			return true;
	return false;
}

/*
 * An in-band registration datagram (to the router's control serviceID):
 * from an allowed host it goes to the control lcore, else it is dropped.
 * The IP source is who sent it (SAL routers keep it), so it is what the
 * allow list judges; a SOURCE extension, which anyone can write, must name
 * an allowed host too, as its first address becomes the target.
 */
static void
registration(struct ssr_worker *w, struct rte_mbuf *m, const uint8_t *frame,
		const struct sal_pkt *sp)
{
	const struct ssr_router *r = w->r;

	if (!reg_allowed(r, sal_pkt_ip_src(frame, sp)) ||
			(sp->n_source != 0 && !reg_allowed(r, sal_pkt_source_addr(frame, sp, 0)))) {
		drop(w, m, SSR_DROP_SAL_REG_DENIED);
		return;
	}
	ssr_tag_set(m, SSR_TAG_REGISTER, 0);
	ssr_worker_to_control(w, m);
}

/* A datagram from a host's control serviceID to the router's: two SERVICE
 * extensions, the first the router's (the transport is checked later). */
static inline bool
is_registration(const struct ssr_router *r, const uint8_t *frame,
		const struct sal_pkt *sp)
{
	return r->reg_enabled && sp->ctrl_off == 0 && sp->n_service == 2 &&
		memcmp(sal_pkt_service_id(frame, sp, 0), &r->reg_sid,
				sizeof(r->reg_sid)) == 0;
}

/* A SYN-ACK to a health-probe flowID while probes are out. */
static inline bool
is_probe_answer(const struct ssr_router *r, const struct sal_pkt *sp)
{
	return unlikely((rte_be_to_cpu_32(sp->dst_flowid) & SSR_PROBE_FLOWID_MASK) ==
			SSR_PROBE_FLOWID_TAG) &&
		(sp->ctrl_flags & (SAL_CTRL_SYN | SAL_CTRL_ACK)) ==
			(SAL_CTRL_SYN | SAL_CTRL_ACK) &&
		/* relaxed: a switch the control lcore flips; no data rides on it */
		__atomic_load_n(&r->probes_on, __ATOMIC_RELAXED) != 0;
}

/*
 * Packet i of the burst's flow class changed its flow (a migration, the
 * instance's flowID, the state), and fres[i] says how. The burst's later
 * packets of the same flow were looked up before that: give them the new
 * values, so that data right behind an RSYN in one burst is judged against
 * the migrated address, as it would be one burst later. Rare (handshakes
 * and migrations), so a scan of the rest of the burst is cheap enough.
 */
static void
patch_later(const uint32_t *rfids, uint64_t hits, struct flowtable_result *fres,
		unsigned int i, unsigned int n_flow)
{
	uint32_t flow = rfids[i] & ~FLOWTABLE_RFID_INSTANCE_SIDE;
	unsigned int j;

	for (j = i + 1; j < n_flow; j++) {
		if (!(hits & (UINT64_C(1) << j)) ||
				(rfids[j] & ~FLOWTABLE_RFID_INSTANCE_SIDE) != flow)
			continue;
		fres[j].client_ip = fres[i].client_ip;
		fres[j].instance_flowid = fres[i].instance_flowid;
		fres[j].state = fres[i].state;
	}
}

void
ssr_sal_burst(struct ssr_worker *w, struct rte_mbuf **pkts, unsigned int n)
{
	const struct ssr_router *r = w->r;
	const uint8_t *frames[SSR_BURST];
	uint32_t lens[SSR_BURST];
	uint16_t l3[SSR_BURST];
	struct sal_pkt sp[SSR_BURST];
	const struct svctable_key *keys[SSR_BURST];
	const struct svctable_rule *rules[SSR_BURST];
	const struct svctable_target *picks[SSR_BURST];
	uint64_t hashes[SSR_BURST];
	struct flowtable_result fres[SSR_BURST];
	uint32_t rfids[SSR_BURST], flen[SSR_BURST];
	unsigned int req[SSR_BURST], flow[SSR_BURST];
	unsigned int i, n_req = 0, n_flow = 0;
	uint64_t hits, now;

	if (unlikely(n == 0 || n > SSR_BURST))
		return;
	for (i = 0; i < n; i++) {
		frames[i] = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		lens[i] = rte_pktmbuf_data_len(pkts[i]);
		l3[i] = sizeof(struct rte_ether_hdr);
	}
	sal_parse_bulk(&r->sal_conf, frames, lens, l3, n, sp);

	/* classify: connection requests go to the service table */
	for (i = 0; i < n; i++) {
		const struct sal_pkt *p = &sp[i];

		if (unlikely(p->drop != SAL_DROP_NONE)) {
			ssr_drop_sal(&w->stats, p->drop);
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		if (p->dst_flowid == 0 && p->n_service != 0 &&
				(sal_pkt_is_syn(p) || p->ctrl_off == 0)) {
			if (unlikely(is_registration(r, frames[i], p))) {
				registration(w, pkts[i], frames[i], p);
				continue;
			}
			keys[n_req] = (const struct svctable_key *)(const void *)
				sal_pkt_service_id(frames[i], p, 0);
			req[n_req++] = i;
			continue;
		}
		if (p->dst_flowid != 0 && is_probe_answer(r, p)) {
			ssr_tag_set(pkts[i], SSR_TAG_PROBE, 0);
			ssr_worker_to_control(w, pkts[i]);
			continue;
		}
		if (p->dst_flowid != 0 && ssr_local_owner(p->dst_flowid) == w->idx &&
				ssr_local_packet(w, pkts[i], &sp[i]))
			continue; /* a flow the router terminates */
		if (p->dst_flowid != 0 && r->ft != NULL) {
			/* flows through the router exist in gateway mode only */
			rfids[n_flow] = rte_be_to_cpu_32(p->dst_flowid);
			flen[n_flow] = rte_pktmbuf_pkt_len(pkts[i]);
			flow[n_flow++] = i;
			continue;
		}
		/* the original answers a packet of no flow and no rule with RST */
		ssr_sal_reply_rst(w, frames[i], p);
		drop(w, pkts[i], p->dst_flowid != 0 ? SSR_DROP_SAL_NO_FLOW :
				SSR_DROP_SAL_NOT_SYN);
	}
	if (n_flow != 0) {
		now = rte_rdtsc();
		hits = flowtable_lookup_bulk(r->ft, w->idx, rfids, flen, n_flow, fres, now);
		for (i = 0; i < n_flow; i++) {
			unsigned int owner;

			if (likely(hits & (UINT64_C(1) << i))) {
				if (gateway_relay(w, pkts[flow[i]], &sp[flow[i]], &fres[i], now))
					patch_later(rfids, hits, fres, i, n_flow);
				continue;
			}
			owner = ssr_local_owner(sp[flow[i]].dst_flowid);
			if (owner != w->idx && owner < r->n_workers) {
				/* maybe a local flow of another worker: its owner decides */
				reinject_to(w, pkts[flow[i]], owner);
			} else {
				ssr_sal_reply_rst(w, frames[flow[i]], &sp[flow[i]]);
				drop(w, pkts[flow[i]], SSR_DROP_SAL_NO_FLOW);
			}
		}
	}
	if (n_req == 0)
		return;
	svctable_lookup_bulk(r->svc, keys, n_req, rules);
	/* the consistent choice for the whole burst, its lut reads prefetched
	 * (a rule version just published has a cold lut); keyed by client
	 * address and client flowID, so a retransmitted SYN is not split */
	for (i = 0; i < n_req; i++) {
		const uint8_t *f = frames[req[i]];

		if (rules[i] != NULL)
			rte_prefetch0(rules[i]);
		hashes[i] = svctable_flow_hash(
				rte_be_to_cpu_32(ssr_sal_client_ip(f, &sp[req[i]])),
				rte_be_to_cpu_32(sp[req[i]].src_flowid));
	}
	/* the rules' counter lines: with many rules each is a cache miss of
	 * its own, taken here for the whole burst instead of one by one in
	 * act(). An entry is 40 bytes and may span two lines: fetch the lines
	 * of the two counters act() will bump (matched and the action's), not
	 * the whole entry; a forward rule's pair is adjacent, one line for 7
	 * slots in 8 (a rule whose pick finds no target bumps "dropped"
	 * instead of "forwarded": rare, and only a miss then) */
	for (i = 0; i < n_req; i++)
		if (rules[i] != NULL && likely(rules[i]->id < w->n_rule_ctr)) {
			const struct ssr_rule_ctr *c = &w->rule_ctr[rules[i]->id];

			rte_prefetch0(&c->c[SSR_RCNT_MATCHED]);
			rte_prefetch0(&c->c[action_counter(rules[i])]);
		}
	svctable_pick_bulk(rules, hashes, n_req, picks);
	for (i = 0; i < n_req; i++) {
		uint32_t e;

		if (picks[i] == NULL)
			continue;
		e = (rules[i]->user_flags >> SSR_RULE_RUN_SHIFT) +
			(uint32_t)(picks[i] - rules[i]->tset->targets);
		if (likely(e < w->n_tgt_ctr))
			rte_prefetch0(&w->tgt_ctr[e]);
	}
	for (i = 0; i < n_req; i++)
		act(w, pkts[req[i]], &sp[req[i]], rules[i], picks[i]);
}

static void
pace_init(struct ssr_expire_pace *p, const struct ssr_router *r)
{
	/* the table gives each worker ceil(max / n_workers) slots */
	const struct ssr_cfg_flows *fl = &r->cfg->flows;
	uint64_t spw = ((uint64_t)fl->max + r->n_workers - 1) / r->n_workers;
	uint32_t shortest = RTE_MIN(fl->syn_timeout_ms,
			RTE_MIN(fl->established_timeout_ms, fl->closing_timeout_ms));
	uint64_t sweep_ms = RTE_MIN(RTE_MAX(shortest / 10, SSR_FLOW_SWEEP_MIN_MS),
			SSR_FLOW_SWEEP_MAX_MS);
	uint64_t slices = sweep_ms * 1000 / SSR_FLOW_EXPIRE_PERIOD_US;

	p->next = 0;
	p->last = 0;
	p->period = RTE_MAX(r->tsc_hz / 1000000 * SSR_FLOW_EXPIRE_PERIOD_US, UINT64_C(1));
	p->budget = (uint32_t)RTE_MAX((spw + slices - 1) / slices, UINT64_C(1));
}

void
ssr_sal_expire(struct ssr_worker *w, uint64_t now)
{
	struct ssr_expire_pace *p = &w->expire;
	uint64_t due;

	if (likely(now < p->next))
		return;
	if (w->r->ft == NULL)
		return;
	if (unlikely(p->period == 0))
		pace_init(p, w->r);
	/* the slices due since the last one, so the sweep keeps its pace */
	due = RTE_MIN((now - p->last) / p->period, (uint64_t)SSR_FLOW_EXPIRE_CATCHUP);
	due = RTE_MAX(due, UINT64_C(1));
	p->last = now;
	p->next = now + p->period;
	flowtable_expire(w->r->ft, w->idx, now, p->budget * (uint32_t)due);
	ssr_count(&w->stats, SSR_CNT_FLOW_AGING, 1);
}
