/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "control.h"
#include "health.h"
#include "sal_build.h"
#include "sal_parse.h"
#include "services.h"
#include "stats.h"

RTE_LOG_REGISTER(ssr_logtype_health, user.serval.health, INFO);
#define HLOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ssr_logtype_health, "health: " fmt "\n", \
			##__VA_ARGS__)

/* Rules are scanned for due probes and timeouts this often (ms). */
#define SCAN_MS 5
#define TCP_HDR_LEN 20
#define PROBE_IDX_BITS 15
#define PROBE_GEN_SHIFT 16

_Static_assert(SSR_HEALTH_MAX_PROBES == 1u << PROBE_IDX_BITS,
		"probe index bits 1..15 of the flowID");

/* One probe out: whom it asked, and when. */
struct probe {
	uint32_t slot;      /* rule slot */
	uint32_t addr;      /* target, host order */
	uint32_t flowid;    /* host order; 0: entry free */
	uint32_t verno;     /* the SYN's SAL verno: the answer acknowledges it */
	uint64_t deadline;  /* ms: the scan releases it by then, or the sweep */
};

struct ssr_health {
	struct ssr_control *c;
	struct ssr_rules *m;
	struct probe *p;          /* by index */
	uint16_t *free;           /* stack of free indexes */
	uint32_t n_free;
	uint8_t *gen;             /* generation per index */
	uint64_t next_scan;
	uint64_t next_sweep;
	uint16_t ip_id;
	struct ssr_health_stats st;
};

struct ssr_health *
ssr_health_create(struct ssr_control *c, struct ssr_rules *m)
{
	struct ssr_health *h = calloc(1, sizeof(*h));
	uint32_t i;

	if (h == NULL)
		goto nomem;
	h->c = c;
	h->m = m;
	h->p = calloc(SSR_HEALTH_MAX_PROBES, sizeof(*h->p));
	h->free = calloc(SSR_HEALTH_MAX_PROBES, sizeof(*h->free));
	h->gen = calloc(SSR_HEALTH_MAX_PROBES, sizeof(*h->gen));
	if (h->p == NULL || h->free == NULL || h->gen == NULL)
		goto nomem;
	for (i = 0; i < SSR_HEALTH_MAX_PROBES; i++)
		h->free[h->n_free++] = SSR_HEALTH_MAX_PROBES - 1 - i;
	return h;
nomem:
	ssr_health_free(h);
	errno = ENOMEM;
	return NULL;
}

void
ssr_health_free(struct ssr_health *h)
{
	if (h == NULL)
		return;
	free(h->p);
	free(h->free);
	free(h->gen);
	free(h);
}

void
ssr_health_get_stats(const struct ssr_health *h, struct ssr_health_stats *st)
{
	*st = h->st;
	st->outstanding = SSR_HEALTH_MAX_PROBES - h->n_free;
}

static uint32_t
probe_index(uint32_t flowid)
{
	return (flowid >> 1) & (SSR_HEALTH_MAX_PROBES - 1);
}

static void
probe_release(struct ssr_health *h, uint32_t idx)
{
	h->p[idx].flowid = 0;
	h->free[h->n_free++] = idx;
}

/* Probes whose target left the rules are never timed out by the scan:
 * free them once well past their deadline. */
static void
sweep(struct ssr_health *h, uint64_t now_ms)
{
	uint32_t i;

	if (now_ms < h->next_sweep || h->n_free == SSR_HEALTH_MAX_PROBES)
		return;
	h->next_sweep = now_ms + 1000;
	for (i = 0; i < SSR_HEALTH_MAX_PROBES; i++)
		if (h->p[i].flowid != 0 && now_ms > h->p[i].deadline + 1000)
			probe_release(h, i);
}

/* Build and send one probe; the flowID, or 0 when it could not go. */
static uint32_t
probe_send(struct ssr_health *h, const struct ssr_rule *rl, uint32_t addr,
		uint64_t now_ms)
{
	struct ssr_control *c = h->c;
	struct ssr_router *r = c->r;
	rte_be32_t dst = rte_cpu_to_be_32(addr), nh;
	uint8_t tcp[TCP_HDR_LEN];
	uint32_t idx, flowid, seq;
	struct sal_msg msg;
	struct rte_mbuf *m;
	uint8_t *buf;
	int out, len;

	out = ssr_route(r, dst, &nh);
	if (out < 0 || h->n_free == 0)
		return 0;
	m = rte_pktmbuf_alloc(r->port[out].pool);
	if (m == NULL)
		return 0;
	idx = h->free[--h->n_free];
	h->gen[idx]++;
	flowid = SSR_PROBE_FLOWID_TAG | (uint32_t)h->gen[idx] << PROBE_GEN_SHIFT | idx << 1;
	h->p[idx].slot = rl->slot;
	h->p[idx].addr = addr;
	h->p[idx].flowid = flowid;
	h->p[idx].deadline = now_ms + rl->s.health.timeout_ms;

	sal_msg_init(&msg);
	msg.ip_src = r->port[out].addr;
	msg.ip_dst = dst;
	msg.ip_id = h->ip_id++;
	msg.ip_proto = r->sal_proto;
	msg.src_flowid = rte_cpu_to_be_32(flowid);
	msg.proto = SAL_PROTO_TCP;
	msg.n_ext = 2;
	msg.ext[0].type = SAL_EXT_CONTROL;
	msg.ext[0].u.control.flags = SAL_CTRL_SYN;
	/* random: a SYN-ACK that acknowledges it saw this SYN */
	h->p[idx].verno = (uint32_t)rte_rand();
	msg.ext[0].u.control.verno = h->p[idx].verno;
	seq = (uint32_t)rte_rand();
	{
		uint64_t nonce = rte_rand();

		memcpy(msg.ext[0].u.control.nonce, &nonce, sizeof(nonce));
	}
	msg.ext[1].type = SAL_EXT_SERVICE;
	msg.ext[1].u.service = rl->s.id;
	/* a plain TCP SYN rides behind, as a Serval client's connect() sends */
	memset(tcp, 0, sizeof(tcp));
	tcp[4] = seq >> 24;
	tcp[5] = seq >> 16;
	tcp[6] = seq >> 8;
	tcp[7] = seq;
	tcp[12] = (TCP_HDR_LEN / 4) << 4;
	tcp[13] = 0x02; /* SYN */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	msg.l4 = tcp;
	msg.l4_len = sizeof(tcp);
	buf = (uint8_t *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + 128);
	len = buf == NULL ? -ENOSPC : sal_build(&msg, buf + RTE_ETHER_HDR_LEN, 128);
	if (len < 0) {
		rte_pktmbuf_free(m);
		probe_release(h, idx);
		return 0;
	}
	rte_pktmbuf_trim(m, 128 - len);
	((struct rte_ether_hdr *)buf)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ssr_count(&c->stats, SSR_CNT_GENERATED, 1);
	ssr_count(&c->stats, SSR_CNT_HEALTH_PROBES, 1);
	h->st.probes++;
	ssr_control_route(c, m, dst);
	return flowid;
}

/* A verdict to commit after the scan. */
struct verdict {
	uint32_t slot;
	uint32_t addr;
	enum ssr_health_state st;
};

static void
commit_verdicts(struct ssr_health *h, const struct verdict *v, unsigned int n)
{
	struct ssr_rules_txn *txn;
	struct ssr_err e;
	unsigned int i;

	if (n == 0)
		return;
	txn = ssr_rules_begin(h->m, "health");
	if (txn == NULL)
		return;
	memset(&e, 0, sizeof(e));
	for (i = 0; i < n; i++) {
		if (ssr_rules_set_health(txn, v[i].slot, v[i].addr, v[i].st, &e) != 0) {
			ssr_rules_abort(txn);
			return;
		}
	}
	if (ssr_rules_commit(txn, &e) != 0) {
		/* the runs that decided stay: the next scan decides again */
		HLOG(WARNING, "verdicts not applied yet: %s", e.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		if (v[i].st == SSR_HEALTH_DOWN)
			h->st.marked_down++;
		else
			h->st.marked_up++;
		HLOG(NOTICE, "target %u.%u.%u.%u is %s", v[i].addr >> 24,
				(v[i].addr >> 16) & 0xff, (v[i].addr >> 8) & 0xff,
				v[i].addr & 0xff, ssr_health_state_name(v[i].st));
	}
}

void
ssr_health_poll(struct ssr_health *h, uint64_t now_ms)
{
	struct verdict v[64];
	unsigned int nv = 0, i;
	uint32_t s, used;
	bool any = false;

	if (now_ms < h->next_scan)
		return;
	h->next_scan = now_ms + SCAN_MS;
	used = ssr_rules_slots_used(h->m);
	for (s = 0; s < used; s++) {
		const struct ssr_rule *rl = ssr_rules_at(h->m, s);
		const struct ssr_cfg_health *hc;

		if (rl == NULL || rl->s.action != SSR_ACTION_FORWARD ||
				!rl->s.health.enabled)
			continue;
		hc = &rl->s.health;
		any = true;
		for (i = 0; i < rl->n; i++) {
			struct ssr_target *t = ssr_rules_target_mut(h->m, s, i);
			struct ssr_probe *p = &t->probe;

			if (p->flowid != 0 && now_ms - p->sent_ms >= hc->timeout_ms) {
				uint32_t idx = probe_index(p->flowid);

				if (h->p[idx].flowid == p->flowid)
					probe_release(h, idx);
				p->flowid = 0;
				p->fail_run++;
				p->ok_run = 0;
				h->st.timeouts++;
			}
			if (p->flowid == 0 && now_ms >= p->next_ms) {
				p->next_ms = now_ms + hc->interval_ms;
				p->flowid = probe_send(h, rl, t->t.addr, now_ms);
				p->sent_ms = now_ms;
				if (p->flowid != 0) {
					p->sent++;
				} else {
					/* no way to reach it now: a miss */
					h->st.unroutable++;
					p->fail_run++;
					p->ok_run = 0;
				}
			}
			if (t->health == SSR_HEALTH_UNKNOWN && p->ok_run > 0) {
				/* unknown counts as up: no weight changes */
				t->health = SSR_HEALTH_UP;
				h->st.marked_up++;
			}
			if (nv == RTE_DIM(v))
				continue;
			if (t->health != SSR_HEALTH_DOWN && p->fail_run >= hc->fall)
				v[nv++] = (struct verdict){ s, t->t.addr, SSR_HEALTH_DOWN };
			else if (t->health == SSR_HEALTH_DOWN && p->ok_run >= hc->rise)
				v[nv++] = (struct verdict){ s, t->t.addr, SSR_HEALTH_UP };
		}
	}
	/* relaxed: a switch for the workers' SAL stage; nothing rides on it */
	__atomic_store_n(&h->c->r->probes_on,
			any || h->n_free != SSR_HEALTH_MAX_PROBES, __ATOMIC_RELAXED);
	commit_verdicts(h, v, nv);
	sweep(h, now_ms);
}

/* The half-open flow the probe left on the target: reset it. */
static void
send_rst(struct ssr_health *h, struct rte_mbuf *req, const uint8_t *frame,
		const struct sal_pkt *sp)
{
	struct ssr_control *c = h->c;
	struct rte_mbuf *m = rte_pktmbuf_alloc(req->pool);
	uint8_t *buf;
	int len;

	if (m == NULL)
		return;
	buf = (uint8_t *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + SAL_RST_LEN);
	len = buf == NULL ? -ENOSPC : sal_build_rst(frame, sp, 64, h->ip_id++,
			buf + RTE_ETHER_HDR_LEN, SAL_RST_LEN);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	((struct rte_ether_hdr *)buf)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ssr_count(&c->stats, SSR_CNT_GENERATED, 1);
	ssr_control_route(c, m, sal_pkt_ip_src(frame, sp));
}

void
ssr_health_packet(void *arg, struct rte_mbuf *m, uint64_t now)
{
	struct ssr_health *h = arg;
	struct ssr_control *c = h->c;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct ssr_rule *rl;
	struct sal_pkt sp;
	uint32_t flowid, idx;
	unsigned int i;

	(void)now;
	if (sal_parse(&c->r->sal_conf, frame, rte_pktmbuf_data_len(m),
				sizeof(struct rte_ether_hdr), &sp) != SAL_DROP_NONE)
		goto stray;
	flowid = rte_be_to_cpu_32(sp.dst_flowid);
	idx = probe_index(flowid);
	if (h->p[idx].flowid != flowid ||
			rte_be_to_cpu_32(sal_pkt_ip_src(frame, &sp)) != h->p[idx].addr)
		goto stray;
	if (sp.ctrl_off == 0 || (sp.ctrl_flags & (SAL_CTRL_SYN | SAL_CTRL_ACK)) !=
				(SAL_CTRL_SYN | SAL_CTRL_ACK) ||
			sal_pkt_ackno(frame, &sp) != h->p[idx].verno + 1) {
		/* not an answer to our SYN (stray or forged: the flowID and the
		 * address are easy to guess, the verno is not); the probe stays
		 * out for the real answer */
		h->st.bad_ack++;
		ssr_drop(&c->stats, SSR_DROP_SAL_PROBE_BAD_ACK, 1);
		rte_pktmbuf_free(m);
		return;
	}
	rl = ssr_rules_at(h->m, h->p[idx].slot);
	for (i = 0; rl != NULL && i < rl->n; i++) {
		struct ssr_target *t = ssr_rules_target_mut(h->m, rl->slot, i);

		if (t->t.addr != h->p[idx].addr || t->probe.flowid != flowid)
			continue;
		t->probe.flowid = 0;
		t->probe.ok_run++;
		t->probe.fail_run = 0;
		t->probe.answered++;
		break;
	}
	probe_release(h, idx);
	h->st.answers++;
	ssr_count(&c->stats, SSR_CNT_HEALTH_ANSWERS, 1);
	ssr_count(&c->stats, SSR_CNT_CONSUMED, 1);
	send_rst(h, m, frame, &sp);
	rte_pktmbuf_free(m);
	return;
stray:
	h->st.late++;
	ssr_drop(&c->stats, SSR_DROP_SAL_PROBE_STRAY, 1);
	rte_pktmbuf_free(m);
}
