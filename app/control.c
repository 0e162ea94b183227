/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "control.h"
#include "flowtable.h"
#include "neigh.h"
#include "sal_parse.h"
#include "sal_path.h"
#include "services.h"
#include "svctable.h"
#include "worker.h"

RTE_LOG_REGISTER(ssr_logtype_control, user.serval.control, INFO);
#define CLOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ssr_logtype_control, "control: " fmt "\n", \
			##__VA_ARGS__)

#define CTL_BURST 64

int ssr_reload_flag;


/* Queue @p m for TX on port index @p pidx through the owning worker. */
static void
ctl_send(struct ssr_control *c, unsigned int pidx, struct rte_mbuf *m)
{
	struct ssr_router *r = c->r;
	struct ssr_worker *w = r->workers[r->port[pidx].txq_owner[0]];

	m->port = pidx;
	ssr_tag_set(m, SSR_TAG_TX, 0);
	if (rte_ring_mp_enqueue(w->inbox, m) != 0) {
		ssr_drop(&c->stats, SSR_DROP_HANDOFF_FULL, 1);
		rte_pktmbuf_free(m);
		return;
	}
	ssr_count(&c->stats, SSR_CNT_HANDOFF_OUT, 1);
}

static void
send_request(struct ssr_control *c, int s, uint64_t now)
{
	struct ssr_router *r = c->r;
	struct ssr_neigh_ctl *nc = &r->neigh->ctl[s];
	const struct ssr_port *p = &r->port[nc->port];
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;

	nc->last_req_tsc = now;
	nc->n_req++;
	m = rte_pktmbuf_alloc(p->pool);
	if (m == NULL)
		return; /* no packet lost: the scan retries */
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m,
			sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = sizeof(uint32_t);
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = p->addr;
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = r->neigh->slot[s].ip;
	ssr_count(&c->stats, SSR_CNT_GENERATED, 1);
	ctl_send(c, nc->port, m);
}

/* Send every packet waiting on slot @p s now that it has a MAC. */
static void
release_pending(struct ssr_control *c, int s, const struct rte_ether_addr *mac)
{
	struct ssr_neigh_ctl *nc = &c->r->neigh->ctl[s];
	unsigned int i;

	for (i = 0; i < nc->n_pending; i++) {
		struct rte_mbuf *m = nc->pending[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

		rte_ether_addr_copy(mac, &eth->dst_addr);
		rte_ether_addr_copy(&c->r->port[m->port].mac, &eth->src_addr);
		ssr_count(&c->stats, SSR_CNT_NEIGH_RELEASED, 1);
		ctl_send(c, m->port, m);
	}
	nc->n_pending = 0;
}

static void
drop_pending(struct ssr_control *c, int s, enum ssr_drop_reason why)
{
	struct ssr_neigh_ctl *nc = &c->r->neigh->ctl[s];

	if (nc->n_pending == 0)
		return;
	ssr_drop(&c->stats, why, nc->n_pending);
	rte_pktmbuf_free_bulk(nc->pending, nc->n_pending);
	nc->n_pending = 0;
}

static void
learn(struct ssr_control *c, int s, const struct rte_ether_addr *mac, uint64_t now)
{
	struct ssr_neigh_ctl *nc = &c->r->neigh->ctl[s];

	if (nc->is_static)
		return;
	ssr_neigh_set(c->r->neigh, s, mac);
	nc->confirmed_tsc = now;
	nc->n_req = 0;
	release_pending(c, s, mac);
}

static void
ctl_arp(struct ssr_control *c, struct rte_mbuf *m, uint64_t now)
{
	struct ssr_router *r = c->r;
	unsigned int pidx = m->port;
	const struct ssr_port *p = &r->port[pidx];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_ether_addr sha;
	rte_be32_t sip, tip;
	uint16_t op;
	bool for_us;
	int s;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
			arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
			arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
			arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		goto malformed;
	op = rte_be_to_cpu_16(arp->arp_opcode);
	if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)
		goto malformed;
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &sha);
	if (!rte_is_valid_assigned_ether_addr(&sha))
		goto malformed;
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	if (ssr_is_router_addr(r, sip)) {
		if (now - c->last_conflict_log > r->tsc_hz) {
			CLOG(WARNING, "port %u: " RTE_ETHER_ADDR_PRT_FMT
					" claims a router address in ARP", p->port_id,
					RTE_ETHER_ADDR_BYTES(&sha));
			c->last_conflict_log = now;
		}
		ssr_drop(&c->stats, SSR_DROP_ARP_CONFLICT, 1);
		rte_pktmbuf_free(m);
		return;
	}
	for_us = tip == p->addr;
	/* RFC 826: update a known sender; add it only when it talks to us */
	if (sip != 0 && ((sip ^ p->addr) & p->mask) == 0) {
		s = ssr_neigh_find(r->neigh, sip);
		if (s < 0 && for_us)
			s = ssr_neigh_get(r->neigh, sip, pidx);
		if (s >= 0)
			learn(c, s, &sha, now);
	}
	if (op == RTE_ARP_OP_REQUEST && for_us) {
		arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
		rte_ether_addr_copy(&sha, &arp->arp_data.arp_tha);
		arp->arp_data.arp_tip = sip;
		rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
		arp->arp_data.arp_sip = p->addr;
		rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
		rte_ether_addr_copy(&p->mac, &eth->src_addr);
		ssr_count(&c->stats, SSR_CNT_ARP_REPLIED, 1);
		ctl_send(c, pidx, m);
		return;
	}
	ssr_count(&c->stats, SSR_CNT_CONSUMED, 1);
	rte_pktmbuf_free(m);
	return;
malformed:
	ssr_drop(&c->stats, SSR_DROP_ARP_MALFORMED, 1);
	rte_pktmbuf_free(m);
}

/* A worker found no MAC for m's next hop. */
static void
ctl_miss(struct ssr_control *c, struct rte_mbuf *m, uint64_t now)
{
	struct ssr_router *r = c->r;
	struct ssr_neigh *t = r->neigh;
	struct rte_ether_addr mac;
	struct ssr_neigh_ctl *nc;
	int s;

	s = ssr_neigh_get(t, m->hash.fdir.lo, m->port);
	if (s < 0) {
		ssr_drop(&c->stats, SSR_DROP_NEIGH_TABLE_FULL, 1);
		rte_pktmbuf_free(m);
		return;
	}
	nc = &t->ctl[s];
	if (ssr_neigh_lookup(t, m->hash.fdir.lo, &mac)) {
		/* resolved since the worker looked */
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

		rte_ether_addr_copy(&mac, &eth->dst_addr);
		rte_ether_addr_copy(&r->port[m->port].mac, &eth->src_addr);
		ssr_count(&c->stats, SSR_CNT_NEIGH_RELEASED, 1);
		ctl_send(c, m->port, m);
		return;
	}
	if (nc->pending == NULL && t->queue_len != 0) {
		nc->pending = rte_malloc("ssr_neigh_pending",
				t->queue_len * sizeof(*nc->pending), 0);
	}
	if (nc->pending == NULL || nc->n_pending >= t->queue_len) {
		ssr_drop(&c->stats, SSR_DROP_NEIGH_QUEUE_FULL, 1);
		rte_pktmbuf_free(m);
	} else {
		nc->pending[nc->n_pending++] = m;
		ssr_count(&c->stats, SSR_CNT_NEIGH_QUEUED, 1);
	}
	if (nc->n_req == 0 || (nc->n_req < SSR_ARP_MAX_TRIES &&
				now - nc->last_req_tsc >= c->retry_tsc))
		send_request(c, s, now);
}

static void reinject(struct ssr_control *c, struct rte_mbuf *m);

/* The delay parameters of the rule in slot @p id now; false when it is no
 * delay rule any more. */
static bool
delay_rule(const struct ssr_control *c, uint32_t id, uint16_t *queue,
		uint32_t *timeout_ms, const struct sal_service_id **pfx, uint16_t *bits)
{
	const struct ssr_cfg_service *s = NULL;

	if (c->rules != NULL) {
		const struct ssr_rule *rl = ssr_rules_at(c->rules, id);

		if (rl != NULL)
			s = &rl->s;
	} else {
		/* no model: rule ids are indexes into the config in force */
		const struct ssr_config *cfg = c->live != NULL ? c->live : c->r->cfg;

		if (id < cfg->n_services)
			s = &cfg->services[id];
	}
	if (s == NULL || s->action != SSR_ACTION_DELAY)
		return false;
	*queue = s->delay_queue;
	*timeout_ms = s->delay_timeout_ms;
	*pfx = &s->id;
	*bits = s->prefix_bits;
	return true;
}

/* Make delay queue @p id hold @p cap packets (kept as it is while it holds
 * some); 0, or -ENOMEM. */
static int
delay_setup(struct ssr_control *c, uint32_t id, uint16_t cap, uint32_t timeout_ms)
{
	struct ssr_delay_q *q;

	if (id >= c->n_delay) {
		unsigned int n = RTE_MAX(id + 1, c->n_delay * 2);
		struct ssr_delay_q *d = rte_realloc(c->delay, n * sizeof(*d), 0);

		if (d == NULL)
			return -ENOMEM;
		memset(d + c->n_delay, 0, (n - c->n_delay) * sizeof(*d));
		c->delay = d;
		c->n_delay = n;
	}
	q = &c->delay[id];
	q->timeout_tsc = c->r->tsc_hz * timeout_ms / 1000;
	if (q->cap == cap || q->n != 0)
		return 0; /* a queue keeps its packets and size until it drains */
	rte_free(q->m);
	rte_free(q->since);
	q->m = rte_calloc("ssr_delay", cap, sizeof(*q->m), 0);
	q->since = rte_calloc("ssr_delay", cap, sizeof(*q->since), 0);
	q->head = 0;
	q->cap = cap;
	if (q->m == NULL || q->since == NULL) {
		rte_free(q->m);
		rte_free(q->since);
		q->m = NULL;
		q->since = NULL;
		q->cap = 0;
		return -ENOMEM;
	}
	return 0;
}

/* Tell the controller (subscribers of delay_miss) what is being held. */
static void
delay_event(struct ssr_control *c, struct rte_mbuf *m,
		const struct sal_service_id *pfx, uint16_t bits)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct ssr_event ev;
	struct sal_pkt sp;

	if (c->rules == NULL || sal_parse(&c->r->sal_conf, frame, rte_pktmbuf_data_len(m),
				sizeof(struct rte_ether_hdr), &sp) != SAL_DROP_NONE ||
			sp.n_service == 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = SSR_EV_DELAY_MISS;
	ev.change = "held";
	ev.has_prefix = true;
	ev.prefix = *pfx;
	ev.bits = bits;
	memcpy(&ev.service_id, sal_pkt_service_id(frame, &sp, 0), sizeof(ev.service_id));
	ev.addr = rte_be_to_cpu_32(ssr_sal_client_ip(frame, &sp));
	ssr_rules_emit(c->rules, &ev);
}

/* A delay rule matched m: hold it (bounded per rule). */
static void
ctl_delay(struct ssr_control *c, struct rte_mbuf *m, uint64_t now)
{
	uint32_t id = m->hash.fdir.lo, timeout_ms;
	const struct sal_service_id *pfx;
	struct ssr_delay_q *q;
	uint16_t cap, bits;

	if (!delay_rule(c, id, &cap, &timeout_ms, &pfx, &bits)) {
		/* the rule changed since the worker looked: ask again */
		reinject(c, m);
		return;
	}
	if (delay_setup(c, id, cap, timeout_ms) != 0 || c->delay[id].cap == 0 ||
			c->delay[id].n == c->delay[id].cap) {
		ssr_drop(&c->stats, SSR_DROP_SAL_DELAY_FULL, 1);
		rte_pktmbuf_free(m);
		return;
	}
	q = &c->delay[id];
	q->m[(q->head + q->n) % q->cap] = m;
	q->since[(q->head + q->n) % q->cap] = now;
	q->n++;
	delay_event(c, m, pfx, bits);
}

/* Send a held request back through a worker's SAL stage. */
static void
reinject(struct ssr_control *c, struct rte_mbuf *m)
{
	struct ssr_router *r = c->r;
	struct ssr_worker *w = r->workers[c->next_worker++ % r->n_workers];

	ssr_tag_set(m, SSR_TAG_REINJECT, 0);
	if (rte_ring_mp_enqueue(w->inbox, m) != 0) {
		ssr_drop(&c->stats, SSR_DROP_HANDOFF_FULL, 1);
		rte_pktmbuf_free(m);
		return;
	}
	ssr_count(&c->stats, SSR_CNT_SAL_DELAY_RELEASED, 1);
	ssr_count(&c->stats, SSR_CNT_HANDOFF_OUT, 1);
}

void
ssr_control_route(struct ssr_control *c, struct rte_mbuf *m, rte_be32_t dst)
{
	struct ssr_router *r = c->r;
	rte_be32_t nh;
	int out = ssr_route(r, dst, &nh);
	struct ssr_worker *w = r->workers[out >= 0 ? r->port[out].txq_owner[0] : 0];

	ssr_tag_set(m, SSR_TAG_ROUTE, dst);
	if (rte_ring_mp_enqueue(w->inbox, m) != 0) {
		ssr_drop(&c->stats, SSR_DROP_HANDOFF_FULL, 1);
		rte_pktmbuf_free(m);
		return;
	}
	ssr_count(&c->stats, SSR_CNT_HANDOFF_OUT, 1);
}

void
ssr_control_reset_flows(struct ssr_control *c, uint32_t addr)
{
	unsigned int i;

	if (c->r->ft == NULL)
		return;
	for (i = 0; i < c->n_reset; i++)
		if (c->reset[i] == addr)
			return;
	if (c->n_reset == SSR_RESET_MAX) {
		c->reset_overflow = true;
		return;
	}
	c->reset[c->n_reset++] = addr;
}

struct reset_walk {
	struct ssr_control *c;
	unsigned int posted;
	bool full;
};

static int
reset_one(const struct flowtable_flow_info *f, void *arg)
{
	struct reset_walk *x = arg;
	struct ssr_control *c = x->c;
	uint32_t target = rte_be_to_cpu_32(f->r.target);
	unsigned int i;
	bool hit = false;

	for (i = 0; i < c->n_reset && !hit; i++)
		hit = c->reset[i] == target;
	if (!hit && c->reset_overflow)
		/* too many were asked for at once: every target nobody
		 * serves any more */
		hit = c->rules != NULL && !ssr_rules_gateway_target(c->rules, target);
	if (!hit || f->r.owner >= c->r->n_workers)
		return 0;
	if (ssr_worker_post_delete(c->r->workers[f->r.owner], f->r.rfid) != 0) {
		x->full = true;
		return 1;
	}
	x->posted++;
	return 0;
}

/* Walk the flow table once for every address asked for since the last walk
 * (a walk reads every slot: batch them). A full command ring stops the walk;
 * the next pass walks again. */
static void
reset_poll(struct ssr_control *c)
{
	struct reset_walk x = { .c = c };

	if (c->n_reset == 0 && !c->reset_overflow)
		return;
	flowtable_walk(c->r->ft, reset_one, &x);
	if (x.full)
		return;
	if (x.posted != 0)
		CLOG(INFO, "reset %u gateway flow(s) of %u target(s)%s", x.posted,
				c->n_reset, c->reset_overflow ? " and more" : "");
	c->n_reset = 0;
	c->reset_overflow = false;
}

/* Does the rule now matching m's serviceID take it (not delay any more)? */
static bool
released(struct ssr_control *c, struct rte_mbuf *m)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct svctable_rule *rule;
	struct sal_pkt sp;

	if (sal_parse(&c->r->sal_conf, frame, rte_pktmbuf_data_len(m),
				sizeof(struct rte_ether_hdr), &sp) != SAL_DROP_NONE ||
			sp.n_service == 0)
		return true; /* cannot happen (a worker parsed it): let it be dropped */
	/* the control lcore reclaims svctable memory itself: the rule stays
	 * valid for this call */
	rule = svctable_lookup(c->r->svc, (const struct svctable_key *)(const void *)
			sal_pkt_service_id(frame, &sp, 0));
	return rule == NULL || rule->action != SVCTABLE_ACTION_DELAY;
}

static void
scan_delay(struct ssr_control *c, uint64_t now)
{
	unsigned int i, k;

	for (i = 0; i < c->n_delay; i++) {
		struct ssr_delay_q *q = &c->delay[i];
		uint16_t n = q->n, kept = 0;

		if (n == 0)
			continue;
		for (k = 0; k < n; k++) {
			uint16_t at = (q->head + k) % q->cap;
			struct rte_mbuf *m = q->m[at];

			if (now - q->since[at] >= q->timeout_tsc) {
				ssr_drop(&c->stats, SSR_DROP_SAL_DELAY_TIMEOUT, 1);
				rte_pktmbuf_free(m);
			} else if (released(c, m)) {
				reinject(c, m);
			} else {
				/* compact in place: kept <= k, order preserved */
				uint16_t to = (q->head + kept) % q->cap;

				q->m[to] = m;
				q->since[to] = q->since[at];
				kept++;
			}
		}
		q->n = kept;
	}
}

static void
scan(struct ssr_control *c, uint64_t now)
{
	struct ssr_neigh *t = c->r->neigh;
	uint32_t i;

	for (i = 0; i < t->n_used; i++) {
		int s = t->used[i];
		struct ssr_neigh_ctl *nc = &t->ctl[s];
		/* relaxed: the control lcore is the only writer of this word */
		bool valid = __atomic_load_n(&t->slot[s].val, __ATOMIC_RELAXED) &
			SSR_NEIGH_VALID;

		if (nc->is_static)
			continue;
		if (!valid) {
			if (nc->n_pending == 0 || now - nc->last_req_tsc < c->retry_tsc)
				continue;
			if (nc->n_req >= SSR_ARP_MAX_TRIES) {
				drop_pending(c, s, SSR_DROP_NEIGH_UNRESOLVED);
				nc->n_req = 0;
			} else {
				send_request(c, s, now);
			}
			continue;
		}
		if (now - nc->confirmed_tsc < c->lifetime_tsc)
			continue;
		if (nc->n_req != 0 && now - nc->last_req_tsc < c->retry_tsc)
			continue;
		if (nc->n_req >= SSR_ARP_MAX_TRIES) {
			/* stale and unanswered: forget it; the next packet asks again */
			ssr_neigh_set(t, s, NULL);
			nc->n_req = 0;
		} else {
			/* still in use meanwhile: confirm it */
			send_request(c, s, now);
		}
	}
}

int
ssr_control_init(struct ssr_control *c, struct ssr_router *r)
{
	const struct ssr_config *cfg = r->cfg;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->r = r;
	c->retry_tsc = r->tsc_hz * cfg->arp.retry_ms / 1000;
	c->lifetime_tsc = r->tsc_hz * cfg->arp.lifetime_ms / 1000;
	c->scan_tsc = r->tsc_hz * SSR_ARP_SCAN_US / 1000000;
	for (i = 0; i < cfg->n_neighbors; i++) {
		rte_be32_t ip = rte_cpu_to_be_32(cfg->neighbors[i].ip);
		struct rte_ether_addr mac;
		int port = ssr_connected_port(r, ip);
		int s;

		if (port < 0)
			return -EINVAL; /* the config loader guarantees a subnet */
		s = ssr_neigh_get(r->neigh, ip, port);
		if (s < 0)
			return s;
		memcpy(mac.addr_bytes, cfg->neighbors[i].mac, RTE_ETHER_ADDR_LEN);
		ssr_neigh_set(r->neigh, s, &mac);
		r->neigh->ctl[s].is_static = true;
	}
	return 0;
}

static unsigned int
take_ring(struct ssr_control *c, uint64_t now)
{
	struct rte_mbuf *pkts[CTL_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(c->r->ctl_ring, (void **)pkts, CTL_BURST, NULL);
	if (n == 0)
		return 0;
	ssr_count(&c->stats, SSR_CNT_FROM_WORKERS, n);
	for (i = 0; i < n; i++) {
		switch (pkts[i]->hash.fdir.hi) {
		case SSR_TAG_ARP:
			ctl_arp(c, pkts[i], now);
			break;
		case SSR_TAG_MISS:
			ctl_miss(c, pkts[i], now);
			break;
		case SSR_TAG_DELAY:
			ctl_delay(c, pkts[i], now);
			break;
		case SSR_TAG_PROBE:
			if (c->on_probe != NULL) {
				c->on_probe(c->hook_arg, pkts[i], now);
			} else {
				ssr_drop(&c->stats, SSR_DROP_SAL_PROBE_STRAY, 1);
				rte_pktmbuf_free(pkts[i]);
			}
			break;
		case SSR_TAG_REGISTER:
			if (c->on_register != NULL) {
				c->on_register(c->hook_arg, pkts[i], now);
			} else {
				ssr_drop(&c->stats, SSR_DROP_SAL_REG_MALFORMED, 1);
				rte_pktmbuf_free(pkts[i]);
			}
			break;
		default:
			/* cannot happen: every sender tags */
			ssr_drop(&c->stats, SSR_DROP_CONTROL_RING_FULL, 1);
			rte_pktmbuf_free(pkts[i]);
			break;
		}
	}
	return n;
}

unsigned int
ssr_control_poll(struct ssr_control *c)
{
	uint64_t now = rte_rdtsc();
	unsigned int n = take_ring(c, now);

	if (now - c->last_scan >= c->scan_tsc) {
		scan(c, now);
		scan_delay(c, now);
		reset_poll(c);
		c->last_scan = now;
	}
	/* relaxed: a flag set by the signal handler, polled here */
	if (__atomic_load_n(&ssr_reload_flag, __ATOMIC_RELAXED)) {
		__atomic_store_n(&ssr_reload_flag, 0, __ATOMIC_RELAXED);
		ssr_control_reload(c);
	}
	svctable_reclaim(c->r->svc);
	return n;
}

void
ssr_control_finish(struct ssr_control *c)
{
	struct ssr_neigh *t = c->r->neigh;
	uint32_t i;

	while (take_ring(c, rte_rdtsc()) != 0)
		;
	for (i = 0; i < t->n_used; i++)
		drop_pending(c, t->used[i], SSR_DROP_SHUTDOWN);
	for (i = 0; i < c->n_delay; i++) {
		struct ssr_delay_q *q = &c->delay[i];

		while (q->n != 0) {
			ssr_drop(&c->stats, SSR_DROP_SHUTDOWN, 1);
			rte_pktmbuf_free(q->m[q->head]);
			q->head = (q->head + 1) % q->cap;
			q->n--;
		}
	}
}

/* snprintf that may cut a message at its buffer's end, by design. */
static void __attribute__((format(printf, 3, 4)))
msgfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int
ssr_control_reload_file(struct ssr_control *c, const char *path,
		struct ssr_reload_result *res)
{
	const struct ssr_config *old = c->live != NULL ? c->live : c->r->cfg;
	struct ssr_config *cfg;
	char err[256];
	int ret;

	memset(res, 0, sizeof(*res));
	if (path == NULL)
		path = c->reload_path;
	if (path == NULL) {
		snprintf(res->msg, sizeof(res->msg), "no file to reload");
		res->err = EINVAL;
		return -EINVAL;
	}
	cfg = ssr_config_load_file(path, &res->errs);
	if (cfg == NULL) {
		ret = errno == ENOMEM ? -ENOMEM : errno == EINVAL ? -EINVAL :
			-(errno != 0 ? errno : EINVAL);
		msgfmt(res->msg, sizeof(res->msg), "%s has %u error%s; the running "
				"rules are unchanged", path, res->errs.n,
				res->errs.n == 1 ? "" : "s");
		res->err = -ret;
		return ret;
	}
	if (cfg->n_ports != old->n_ports || cfg->n_neighbors != old->n_neighbors ||
			cfg->gateway != old->gateway ||
			cfg->sal_ip_protocol != old->sal_ip_protocol ||
			memcmp(cfg->ports, old->ports, cfg->n_ports * sizeof(*cfg->ports)) != 0)
		CLOG(WARNING, "reload: only 'services' is applied; ports, "
				"neighbours, gateway and sal changes need a restart");
	if (c->rules != NULL) {
		struct ssr_rules_txn *txn = ssr_rules_begin(c->rules, "reload");
		struct ssr_err e;

		memset(&e, 0, sizeof(e));
		ret = txn == NULL ? -ENOMEM : ssr_rules_replace_all(txn, cfg, &e);
		if (ret == 0)
			ret = ssr_rules_commit(txn, &e);
		else
			ssr_rules_abort(txn);
		if (ret != 0)
			msgfmt(err, sizeof(err), "%s: %s%s%s", path, e.field,
					e.field[0] != '\0' ? ": " : "",
					e.msg[0] != '\0' ? e.msg : strerror(-ret));
	} else {
		ret = ssr_services_apply(c->r->svc, cfg, err, sizeof(err));
	}
	if (ret != 0) {
		msgfmt(res->msg, sizeof(res->msg), "%s; the running rules are "
				"unchanged", err);
		res->err = -ret;
		ssr_config_free(cfg);
		return ret;
	}
	res->rules = cfg->n_services;
	if (c->rules != NULL) {
		struct ssr_rules_stats st;

		ssr_rules_get_stats(c->rules, &st);
		res->rules = st.rules;
	}
	ssr_config_free(c->live);
	c->live = cfg;
	return 0;
}

int
ssr_control_reload(struct ssr_control *c)
{
	struct ssr_reload_result res;
	unsigned int i;
	int ret;

	ret = ssr_control_reload_file(c, NULL, &res);
	for (i = 0; i < res.errs.n; i++)
		CLOG(ERR, "reload: %s", res.errs.msgs[i]);
	if (ret != 0)
		CLOG(ERR, "reload: %s", res.msg);
	else
		CLOG(NOTICE, "reload: %u service rule(s) from %s in force", res.rules,
				c->reload_path);
	ssr_config_errors_free(&res.errs);
	return ret;
}

void
ssr_control_free(struct ssr_control *c)
{
	unsigned int i;

	for (i = 0; i < c->n_delay; i++) {
		rte_free(c->delay[i].m);
		rte_free(c->delay[i].since);
	}
	rte_free(c->delay);
	c->delay = NULL;
	c->n_delay = 0;
	ssr_config_free(c->live);
	c->live = NULL;
}
