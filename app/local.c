/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "local.h"
#include "sal_build.h"
#include "sal_endpoint.h"
#include "sal_path.h"
#include "worker.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_HDR_LEN 20
/* Largest segment echoed: what fits in a default mbuf with our headers.
 * A longer one is a counted drop (sal_local_too_big): it is not
 * acknowledged, so the peer's TCP sends it again (or smaller). */
#define TCP_MAX_ECHO 1600
/* Buckets of the index of flows by peer (find_syn): a power of two, twice
 * the flows, so chains stay short. */
#define SYN_HASH_SIZE (2 * SSR_LOCAL_FLOWS)
#define SYN_HASH_NONE UINT16_MAX

_Static_assert((SYN_HASH_SIZE & (SYN_HASH_SIZE - 1)) == 0, "a power of two");
_Static_assert(SSR_LOCAL_FLOWS < SYN_HASH_NONE, "slot numbers fit below NONE");

/* One terminated flow. */
struct ssr_local_flow {
	struct sal_ep ep;         /* SAL control state (lib/sal) */
	uint64_t timer_tsc;       /* 0: no timer */
	rte_be32_t peer_ip;       /* client */
	rte_be32_t local_ip;      /* the router address it spoke to */
	uint32_t tcp_isn;         /* our TCP initial sequence number */
	uint32_t tcp_snd_nxt;
	uint32_t tcp_rcv_nxt;
	uint16_t tcp_sport;       /* client's port, network order */
	uint16_t tcp_dport;       /* our port, network order */
	uint32_t syn_flowid;      /* the SYN's src_flowid: with peer_ip, the
				   * key of the SYN index */
	uint16_t syn_next;        /* next slot in its SYN index chain */
	uint8_t gen;              /* generation of this slot's flowID */
	uint8_t in_use;
	uint8_t proto;            /* SAL protocol field of the flow */
	uint8_t tcp;              /* a TCP SYN opened the transport */
};

struct ssr_local {
	struct ssr_local_flow f[SSR_LOCAL_FLOWS];
	uint16_t free[SSR_LOCAL_FLOWS]; /* LIFO of free slots */
	unsigned int n_free;
	unsigned int n_active;
	uint64_t next_check;
	uint32_t syn_seed;        /* random: peers cannot aim at one chain */
	uint16_t ip_id;
	uint16_t syn_head[SYN_HASH_SIZE]; /* SYN index: first slot per bucket */
};

_Static_assert(SSR_LOCAL_FLOWS <= 65536, "16 slot bits in the flowID");
_Static_assert(SSR_MAX_WORKERS <= 256, "8 worker bits in the flowID");

struct ssr_local *
ssr_local_create(int socket)
{
	struct ssr_local *l;
	unsigned int i;

	l = rte_zmalloc_socket("ssr_local", sizeof(*l), RTE_CACHE_LINE_SIZE, socket);
	if (l == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < SSR_LOCAL_FLOWS; i++)
		l->free[l->n_free++] = SSR_LOCAL_FLOWS - 1 - i;
	for (i = 0; i < SYN_HASH_SIZE; i++)
		l->syn_head[i] = SYN_HASH_NONE;
	l->syn_seed = (uint32_t)rte_rand();
	return l;
}

void
ssr_local_free(struct ssr_local *l)
{
	rte_free(l);
}

static uint32_t
flow_id(const struct ssr_worker *w, const struct ssr_local *l,
		const struct ssr_local_flow *f)
{
	return (uint32_t)w->idx << 24 | (uint32_t)(f - l->f) << 8 | f->gen;
}

static inline uint32_t
syn_bucket(const struct ssr_local *l, rte_be32_t peer, uint32_t peer_flowid)
{
	uint32_t h = (peer ^ l->syn_seed) * 0x9e3779b1u;

	h = (h ^ peer_flowid ^ (h >> 15)) * 0x85ebca6bu;
	return (h ^ (h >> 13)) & (SYN_HASH_SIZE - 1);
}

static void
syn_index_add(struct ssr_local *l, struct ssr_local_flow *f)
{
	uint32_t b = syn_bucket(l, f->peer_ip, f->syn_flowid);

	f->syn_next = l->syn_head[b];
	l->syn_head[b] = f - l->f;
}

static void
syn_index_del(struct ssr_local *l, struct ssr_local_flow *f)
{
	uint16_t *p = &l->syn_head[syn_bucket(l, f->peer_ip, f->syn_flowid)];
	uint16_t slot = f - l->f;

	while (*p != SYN_HASH_NONE) {
		if (*p == slot) {
			*p = f->syn_next;
			return;
		}
		p = &l->f[*p].syn_next;
	}
}

static void
release(struct ssr_local *l, struct ssr_local_flow *f)
{
	syn_index_del(l, f);
	f->in_use = 0;
	f->timer_tsc = 0;
	l->free[l->n_free++] = f - l->f;
	l->n_active--;
}

/* Build @p msg into a new mbuf and route it to @p dst. */
static void
send_msg(struct ssr_worker *w, struct sal_msg *msg, rte_be32_t dst)
{
	const struct ssr_router *r = w->r;
	struct rte_ether_hdr *eth;
	struct rte_mbuf *m;
	rte_be32_t nh;
	int out, len;

	ssr_count(&w->stats, SSR_CNT_GENERATED, 1);
	out = ssr_route(r, dst, &nh);
	if (out < 0) {
		ssr_drop(&w->stats, SSR_DROP_NO_ROUTE, 1);
		return;
	}
	m = rte_pktmbuf_alloc(r->port[out].pool);
	if (m == NULL) {
		ssr_drop(&w->stats, SSR_DROP_NOMBUF, 1);
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth));
	len = eth == NULL ? -ENOSPC : sal_build(msg, (uint8_t *)(eth + 1),
			rte_pktmbuf_tailroom(m));
	if (len < 0) {
		/* cannot happen for what this module builds */
		ssr_drop(&w->stats, SSR_DROP_SAL_TOO_BIG, 1);
		rte_pktmbuf_free(m);
		return;
	}
	rte_pktmbuf_append(m, len);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ssr_worker_output(w, m, dst);
}

static void
msg_ip(struct ssr_local *l, const struct ssr_router *r, struct sal_msg *msg,
		const struct ssr_local_flow *f)
{
	msg->ip_src = f->local_ip;
	msg->ip_dst = f->peer_ip;
	msg->ip_ttl = 64;
	msg->ip_id = ++l->ip_id;
	msg->ip_proto = r->sal_proto;
}

static void
tcp_hdr(uint8_t *t, const struct ssr_local_flow *f, uint32_t seq, uint32_t ack,
		uint8_t flags)
{
	uint32_t v;

	memset(t, 0, TCP_HDR_LEN);
	memcpy(t, &f->tcp_dport, 2);
	memcpy(t + 2, &f->tcp_sport, 2);
	v = rte_cpu_to_be_32(seq);
	memcpy(t + 4, &v, 4);
	v = rte_cpu_to_be_32(ack);
	memcpy(t + 8, &v, 4);
	t[12] = (TCP_HDR_LEN / 4) << 4;
	t[13] = flags;
	t[14] = 0xff; /* window 65535 */
	t[15] = 0xff;
	/* checksum: sal_build() computes it over the IPv4 pseudo-header */
}

/* A CONTROL packet the endpoint asked for; a SYN+ACK carries TCP's too. */
static void
send_ctrl(struct ssr_worker *w, struct ssr_local_flow *f, const struct sal_ep_out *out)
{
	struct ssr_local *l = w->local;
	uint8_t seg[TCP_HDR_LEN];
	struct sal_msg msg;

	sal_ep_fill_msg(&f->ep, out, f->proto, &msg);
	msg_ip(l, w->r, &msg, f);
	if ((out->send_flags & SAL_CTRL_SYN) && f->tcp) {
		tcp_hdr(seg, f, f->tcp_isn, f->tcp_rcv_nxt, TCP_SYN | TCP_ACK);
		msg.l4 = seg;
		msg.l4_len = sizeof(seg);
	}
	send_msg(w, &msg, f->peer_ip);
}

/* The transport of an accepted packet: echo in-order TCP data. False when
 * the segment is too long to echo (the caller drops it, counted). */
static bool
tcp_echo(struct ssr_worker *w, struct ssr_local_flow *f, const uint8_t *frame,
		const struct sal_pkt *sp)
{
	const uint8_t *t = frame + sp->l4_off;
	uint8_t seg[TCP_HDR_LEN + TCP_MAX_ECHO];
	uint32_t seq, plen, doff, ack_flags;
	struct sal_msg msg;
	bool fin;

	if (!f->tcp || sp->proto != SAL_PROTO_TCP || sp->l4_len < TCP_HDR_LEN)
		return true;
	doff = (t[12] >> 4) * 4;
	if (doff < TCP_HDR_LEN || doff > sp->l4_len || (t[13] & (TCP_SYN | TCP_RST)))
		return true;
	seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	plen = sp->l4_len - doff;
	fin = t[13] & TCP_FIN;
	if (plen == 0 && !fin)
		return true; /* a pure ACK */
	if (unlikely(plen > TCP_MAX_ECHO))
		return false; /* not acknowledged: the peer sends it again */
	sal_msg_init(&msg);
	msg.src_flowid = f->ep.local_flowid;
	msg.dst_flowid = f->ep.peer_flowid;
	msg.proto = SAL_PROTO_TCP;
	msg_ip(w->local, w->r, &msg, f);
	msg.l4 = seg;
	if (seq != f->tcp_rcv_nxt) {
		/* out of order or a retransmission: say what we expect */
		tcp_hdr(seg, f, f->tcp_snd_nxt, f->tcp_rcv_nxt, TCP_ACK);
		msg.l4_len = TCP_HDR_LEN;
		send_msg(w, &msg, f->peer_ip);
		return true;
	}
	f->tcp_rcv_nxt += plen + fin;
	ack_flags = TCP_ACK | (plen != 0 ? TCP_PSH : 0) | (fin ? TCP_FIN : 0);
	tcp_hdr(seg, f, f->tcp_snd_nxt, f->tcp_rcv_nxt, ack_flags);
	memcpy(seg + TCP_HDR_LEN, t + doff, plen);
	msg.l4_len = TCP_HDR_LEN + plen;
	f->tcp_snd_nxt += plen + fin;
	send_msg(w, &msg, f->peer_ip);
	return true;
}

static void
set_timers(struct ssr_worker *w, struct ssr_local_flow *f, uint16_t actions,
		uint64_t now)
{
	uint64_t ms = w->r->tsc_hz / 1000;

	if (actions & SAL_EP_A_TIMER_STOP)
		f->timer_tsc = 0;
	if (actions & SAL_EP_A_TIMER_ARM)
		f->timer_tsc = now + ms * SSR_LOCAL_RTO_MS;
	if (actions & SAL_EP_A_LINGER)
		f->timer_tsc = now + ms * SSR_LOCAL_LINGER_MS;
}

/* Carry out a step's actions other than those about the received packet. */
static void
apply(struct ssr_worker *w, struct ssr_local_flow *f, const struct sal_ep_out *out,
		uint64_t now)
{
	if (out->actions & SAL_EP_A_SEND)
		send_ctrl(w, f, out);
	set_timers(w, f, out->actions, now);
}

/* A received packet for flow f: step the endpoint, act, consume the mbuf. */
static void
handle_rx(struct ssr_worker *w, struct ssr_local_flow *f, struct rte_mbuf *m,
		const struct sal_pkt *sp)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint64_t now = rte_rdtsc();
	struct sal_ep_out out, close_out;
	struct sal_ep_rx rx;
	bool consumed = true;

	if (sal_ep_rx_from_pkt(frame, sp, &rx) != 0) {
		ssr_drop(&w->stats, SSR_DROP_SAL_MALFORMED, 1);
		rte_pktmbuf_free(m);
		return;
	}
	sal_ep_step(&f->ep, SAL_EP_EV_RX, &rx, &out);
	if (out.actions & SAL_EP_A_DROP) {
		ssr_drop(&w->stats, SSR_DROP_SAL_LOCAL_REJECTED, 1);
		rte_pktmbuf_free(m);
		if (f->ep.state == SAL_EP_CLOSED)
			release(w->local, f);
		return;
	}
	ssr_count(&w->stats, SSR_CNT_SAL_LOCAL, 1);
	if (out.actions & SAL_EP_A_REPLY_RST)
		ssr_sal_reply_rst(w, frame, sp);
	apply(w, f, &out, now);
	if ((out.actions & SAL_EP_A_DELIVER) && unlikely(!tcp_echo(w, f, frame, sp)))
		consumed = false;
	if (out.actions & SAL_EP_A_PEER_CLOSED) {
		/* an echo has nothing more to say once the peer is done */
		sal_ep_step(&f->ep, SAL_EP_EV_CLOSE, NULL, &close_out);
		apply(w, f, &close_out, now);
		out.actions |= close_out.actions & SAL_EP_A_FREE;
	}
	if (out.actions & SAL_EP_A_FREE)
		release(w->local, f);
	if (likely(consumed))
		ssr_count(&w->stats, SSR_CNT_CONSUMED, 1);
	else
		ssr_drop(&w->stats, SSR_DROP_SAL_LOCAL_TOO_BIG, 1);
	rte_pktmbuf_free(m);
}

/* The live flow a (retransmitted) SYN from peer's peer_flowid started. */
static struct ssr_local_flow *
find_syn(struct ssr_local *l, rte_be32_t peer, uint32_t peer_flowid)
{
	uint16_t i = l->syn_head[syn_bucket(l, peer, peer_flowid)];

	while (i != SYN_HASH_NONE) {
		struct ssr_local_flow *f = &l->f[i];

		if (f->peer_ip == peer && f->syn_flowid == peer_flowid)
			return f;
		i = f->syn_next;
	}
	return NULL;
}

void
ssr_local_request(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp)
{
	struct ssr_local *l = w->local;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	rte_be32_t peer = sal_pkt_ip_src(frame, sp);
	struct ssr_local_flow *f;
	uint8_t nonce[SAL_NONCE_LEN];
	uint64_t rnd;

	if (!sal_pkt_is_syn(sp)) {
		/* a datagram: no flow to answer on */
		ssr_drop(&w->stats, SSR_DROP_SAL_LOCAL_UNSUPPORTED, 1);
		rte_pktmbuf_free(m);
		return;
	}
	f = find_syn(l, peer, sp->src_flowid);
	if (f == NULL) {
		if (l->n_free == 0) {
			ssr_drop(&w->stats, SSR_DROP_SAL_FLOW_FULL, 1);
			rte_pktmbuf_free(m);
			return;
		}
		f = &l->f[l->free[--l->n_free]];
		l->n_active++;
		f->in_use = 1;
		f->gen = f->gen == UINT8_MAX ? 1 : f->gen + 1; /* never 0 */
		f->timer_tsc = 0;
		f->peer_ip = peer;
		f->syn_flowid = sp->src_flowid;
		syn_index_add(l, f);
		f->local_ip = sal_pkt_ip_dst(frame, sp);
		f->proto = sp->proto;
		f->tcp = 0;
		rnd = rte_rand();
		memcpy(nonce, &rnd, sizeof(nonce));
		sal_ep_init(&f->ep, rte_cpu_to_be_32(flow_id(w, l, f)), (uint32_t)rte_rand(),
				nonce);
		if (sp->proto == SAL_PROTO_TCP && sp->l4_len >= TCP_HDR_LEN &&
				(frame[sp->l4_off + 13] & TCP_SYN)) {
			const uint8_t *t = frame + sp->l4_off;

			f->tcp = 1;
			memcpy(&f->tcp_sport, t, 2);
			memcpy(&f->tcp_dport, t + 2, 2);
			f->tcp_rcv_nxt = ((uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 |
					(uint32_t)t[6] << 8 | t[7]) + 1;
			f->tcp_isn = (uint32_t)rte_rand();
			f->tcp_snd_nxt = f->tcp_isn + 1;
		}
	}
	handle_rx(w, f, m, sp);
}

bool
ssr_local_packet(struct ssr_worker *w, struct rte_mbuf *m, struct sal_pkt *sp)
{
	struct ssr_local *l = w->local;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t id = rte_be_to_cpu_32(sp->dst_flowid);
	uint32_t slot = (id >> 8) & 0xffff;
	struct ssr_local_flow *f;

	if (id >> 24 != w->idx || slot >= SSR_LOCAL_FLOWS)
		return false;
	f = &l->f[slot];
	if (!f->in_use || f->gen != (id & 0xff) || f->ep.peer_flowid != sp->src_flowid ||
			f->peer_ip != sal_pkt_ip_src(frame, sp))
		return false;
	handle_rx(w, f, m, sp);
	return true;
}

void
ssr_local_timers(struct ssr_worker *w, uint64_t now)
{
	struct ssr_local *l = w->local;
	unsigned int i, seen = 0;

	if (l->n_active == 0 || now < l->next_check)
		return;
	l->next_check = now + w->r->tsc_hz / 1000;
	for (i = 0; i < SSR_LOCAL_FLOWS && seen < l->n_active; i++) {
		struct ssr_local_flow *f = &l->f[i];
		struct sal_ep_out out;

		if (!f->in_use)
			continue;
		seen++;
		if (f->timer_tsc == 0 || f->timer_tsc > now)
			continue;
		f->timer_tsc = 0;
		sal_ep_step(&f->ep, SAL_EP_EV_TIMEOUT, NULL, &out);
		apply(w, f, &out, now);
		if (out.actions & SAL_EP_A_FREE)
			release(l, f);
	}
}
