/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "flowtable.h"
#include "local.h"
#include "neigh.h"
#include "sal_path.h"
#include "services.h"
#include "worker.h"

/* What stage 1 decided for a packet. */
enum ssr_class {
	SSR_C_DROP,
	SSR_C_ARP,
	SSR_C_LOCAL,
	SSR_C_SAL,
	SSR_C_FWD,
};

static void
tx_error_cb(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
	struct ssr_worker *w = userdata;

	ssr_drop(&w->stats, SSR_DROP_TX_FULL, count);
	rte_pktmbuf_free_bulk(unsent, count);
}

struct ssr_worker *
ssr_worker_create(struct ssr_router *r, unsigned int idx, unsigned int lcore)
{
	int socket = rte_lcore_to_socket_id(lcore);
	char name[RTE_RING_NAMESIZE];
	struct ssr_worker *w;
	unsigned int i, q;

	w = rte_zmalloc_socket("ssr_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	w->idx = idx;
	w->lcore = lcore;
	w->r = r;
	for (i = 0; i < r->n_ports; i++) {
		const struct ssr_port *p = &r->port[i];

		w->txq[i] = -1;
		for (q = 0; q < p->nb_queues; q++) {
			if (p->rxq_worker[q] == idx)
				w->rxq[w->n_rxq++] = (struct ssr_rxq){
					.port_id = p->port_id, .queue = q, .pidx = i };
			if (p->txq_owner[q] == idx)
				w->txq[i] = q;
		}
		w->tx_owner[i] = ssr_tx_owner(r, i, idx);
		w->txb[i] = rte_zmalloc_socket("ssr_txb",
				RTE_ETH_TX_BUFFER_SIZE(SSR_BURST), 0, socket);
		if (w->txb[i] == NULL)
			goto fail;
		rte_eth_tx_buffer_init(w->txb[i], SSR_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[i], tx_error_cb, w);
	}
	snprintf(name, sizeof(name), "ssr_inbox_%u", idx);
	w->inbox = rte_ring_create(name, SSR_INBOX_SIZE, socket, RING_F_SC_DEQ);
	if (w->inbox == NULL)
		goto fail;
	snprintf(name, sizeof(name), "ssr_cmd_%u", idx);
	w->cmd = rte_ring_create(name, SSR_CMD_RING_SIZE, socket,
			RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->cmd == NULL)
		goto fail;
	if (r->n_rule_slots != 0) {
		w->rule_ctr = rte_zmalloc_socket("ssr_rule_ctr",
				(size_t)r->n_rule_slots * sizeof(*w->rule_ctr),
				RTE_CACHE_LINE_SIZE, socket);
		if (w->rule_ctr == NULL)
			goto fail;
		w->n_rule_ctr = r->n_rule_slots;
	}
	if (r->n_tgt_ctr != 0) {
		w->tgt_ctr = rte_zmalloc_socket("ssr_tgt_ctr",
				(size_t)r->n_tgt_ctr * sizeof(*w->tgt_ctr),
				RTE_CACHE_LINE_SIZE, socket);
		if (w->tgt_ctr == NULL)
			goto fail;
		w->n_tgt_ctr = r->n_tgt_ctr;
	}
	w->local = ssr_local_create(socket);
	if (w->local == NULL)
		goto fail;
	w->qs_id = idx;
	return w;
fail:
	ssr_worker_free(w);
	if (rte_errno == 0)
		rte_errno = ENOMEM;
	return NULL;
}

void
ssr_worker_free(struct ssr_worker *w)
{
	unsigned int i;

	if (w == NULL)
		return;
	ssr_local_free(w->local);
	rte_ring_free(w->inbox);
	rte_ring_free(w->cmd);
	rte_free(w->rule_ctr);
	rte_free(w->tgt_ctr);
	for (i = 0; i < SSR_CFG_MAX_PORTS; i++)
		rte_free(w->txb[i]);
	rte_free(w);
}

void
ssr_worker_tx_flush(struct ssr_worker *w, unsigned int pidx)
{
	uint16_t sent = rte_eth_tx_buffer_flush(w->r->port[pidx].port_id, w->txq[pidx],
			w->txb[pidx]);

	if (sent != 0)
		ssr_count(&w->stats, SSR_CNT_TX, sent);
}

void
ssr_worker_tx_handoff(struct ssr_worker *w, unsigned int pidx, struct rte_mbuf *m)
{
	struct ssr_router *r = w->r;

	m->port = pidx;
	ssr_tag_set(m, SSR_TAG_TX, 0);
	if (unlikely(rte_ring_mp_enqueue(r->workers[w->tx_owner[pidx]]->inbox, m) != 0)) {
		ssr_drop(&w->stats, SSR_DROP_HANDOFF_FULL, 1);
		rte_pktmbuf_free(m);
		return;
	}
	ssr_count(&w->stats, SSR_CNT_HANDOFF_OUT, 1);
}

static void
flush_all(struct ssr_worker *w)
{
	unsigned int i;

	for (i = 0; i < w->r->n_ports; i++)
		if (w->txq[i] >= 0 && w->txb[i]->length != 0)
			ssr_worker_tx_flush(w, i);
}

/* Broadcast or multicast destinations are never forwarded. */
static bool
is_bcast_or_mcast(const struct ssr_router *r, rte_be32_t a)
{
	unsigned int i;

	if ((rte_be_to_cpu_32(a) >> 28) >= 0xe) /* 224/4 multicast, 240/4 class E */
		return true;
	for (i = 0; i < r->n_ports; i++)
		if (r->port[i].bcast == a && r->port[i].mask != RTE_BE32(0xffffffff))
			return true;
	return false;
}

/* A source no host can have: 0/8's zero address, multicast, class E,
 * loopback, a router address, or a connected subnet's directed broadcast
 * (RFC 1812 5.3.7). */
static bool
is_martian_src(const struct ssr_router *r, rte_be32_t a)
{
	uint32_t h = rte_be_to_cpu_32(a);
	unsigned int i;

	if (h == 0 || (h >> 28) >= 0xe || (h >> 24) == 127 || ssr_is_router_addr(r, a))
		return true;
	for (i = 0; i < r->n_ports; i++)
		if (r->port[i].bcast == a && r->port[i].mask != RTE_BE32(0xffffffff) &&
				r->port[i].mask != RTE_BE32(0xfffffffe))
			return true;
	return false;
}

/*
 * The sum over a valid header, its checksum included, is 0xffff. Headers
 * without options (nearly all) are summed as five 32-bit words with no loop:
 * rte_raw_cksum() goes 2 bytes a step. A ones' complement sum of wider
 * words is the same modulo 0xffff (RFC 1071; 2^16 = 1 modulo 0xffff), and
 * the folded sum is 0xffff exactly when that residue is 0 and some byte is
 * not: so the plain 64-bit sum is tested modulo 0xffff (a multiply) instead
 * of folded down to 16 bits (four dependent steps).
 */
static inline bool
ipv4_hdr_sum_ok(const struct rte_ipv4_hdr *ip, uint16_t hl)
{
	const uint8_t *p = (const uint8_t *)ip;
	uint32_t w[5];
	uint64_t s;

	if (unlikely(hl != sizeof(*ip)))
		return rte_raw_cksum(ip, hl) == 0xffff;
	memcpy(w, p, sizeof(w));
	s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	return s != 0 && s % 0xffff == 0;
}

/* Stage 1: L2 and IPv4 checks. Sets *reason for SSR_C_DROP. */
static enum ssr_class
classify(struct ssr_worker *w, const struct ssr_port *p, struct rte_mbuf *m,
		enum ssr_drop_reason *reason)
{
	const struct ssr_router *r = w->r;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	uint16_t len = rte_pktmbuf_data_len(m), hl, tot;
	bool bcast = false;

	if (unlikely(len < sizeof(*eth) || m->nb_segs != 1)) {
		*reason = SSR_DROP_RUNT;
		return SSR_C_DROP;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (!rte_is_same_ether_addr(&eth->dst_addr, &p->mac)) {
		if (rte_is_broadcast_ether_addr(&eth->dst_addr)) {
			bcast = true;
		} else if (rte_is_multicast_ether_addr(&eth->dst_addr)) {
			*reason = SSR_DROP_L2_MULTICAST;
			return SSR_C_DROP;
		} else {
			*reason = SSR_DROP_OTHER_HOST;
			return SSR_C_DROP;
		}
	}
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
		return SSR_C_ARP;
	if (unlikely(eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
		*reason = SSR_DROP_ETHERTYPE;
		return SSR_C_DROP;
	}
	if (unlikely(bcast)) {
		*reason = SSR_DROP_IP_BROADCAST;
		return SSR_C_DROP;
	}
	len -= sizeof(*eth);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	if (unlikely(len < sizeof(*ip))) {
		*reason = SSR_DROP_IP_MALFORMED;
		return SSR_C_DROP;
	}
	hl = (ip->version_ihl & 0x0f) * 4;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (unlikely((ip->version_ihl >> 4) != 4 || hl < sizeof(*ip) || hl > len ||
			tot < hl || tot > len)) {
		*reason = SSR_DROP_IP_MALFORMED;
		return SSR_C_DROP;
	}
	switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
	case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
		break;
	case RTE_MBUF_F_RX_IP_CKSUM_BAD:
		*reason = SSR_DROP_IP_CHECKSUM;
		return SSR_C_DROP;
	default:
		if (unlikely(!ipv4_hdr_sum_ok(ip, hl))) {
			*reason = SSR_DROP_IP_CHECKSUM;
			return SSR_C_DROP;
		}
	}
	/* Ethernet pads short frames: the IP datagram ends at total_length */
	if (tot < len)
		rte_pktmbuf_trim(m, len - tot);
	if (unlikely(is_martian_src(r, ip->src_addr))) {
		*reason = SSR_DROP_IP_MARTIAN;
		return SSR_C_DROP;
	}
	if (ssr_is_router_addr(r, ip->dst_addr)) {
		/* SAL to the router: a connection request to resolve, or a
		 * gateway-mode flow; fragments are the SAL parser's to refuse */
		if (ip->next_proto_id == r->sal_proto)
			return SSR_C_SAL;
		return SSR_C_LOCAL;
	}
	if (unlikely(is_bcast_or_mcast(r, ip->dst_addr))) {
		*reason = SSR_DROP_IP_BROADCAST;
		return SSR_C_DROP;
	}
	return SSR_C_FWD;
}

/* ICMP echo request to a router address: answer in place. */
static void
local_icmp(struct ssr_worker *w, unsigned int pidx, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t hl = (ip->version_ihl & 0x0f) * 4;
	uint16_t ilen = rte_be_to_cpu_16(ip->total_length) - hl;
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + hl);
	rte_be32_t a;

	if (unlikely(ilen < sizeof(*icmp) || rte_raw_cksum(icmp, ilen) != 0xffff)) {
		ssr_drop(&w->stats, SSR_DROP_ICMP_MALFORMED, 1);
		rte_pktmbuf_free(m);
		return;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		/* only echo is served; errors and replies to us end here */
		ssr_drop(&w->stats, SSR_DROP_LOCAL_PROTO, 1);
		rte_pktmbuf_free(m);
		return;
	}
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = ssr_cksum_adjust(icmp->icmp_cksum,
			RTE_BE16(RTE_IP_ICMP_ECHO_REQUEST << 8),
			RTE_BE16(RTE_IP_ICMP_ECHO_REPLY << 8));
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, hl);
	/* answer the L2 sender: the request came from it, no ARP needed */
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&w->r->port[pidx].mac, &eth->src_addr);
	ssr_count(&w->stats, SSR_CNT_ICMP_ECHO_REPLIED, 1);
	ssr_worker_tx(w, pidx, m);
}

static void
local_packet(struct ssr_worker *w, unsigned int pidx, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
			sizeof(struct rte_ether_hdr));

	if (unlikely(ip->fragment_offset &
				RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
		/* no reassembly at the router */
		ssr_drop(&w->stats, SSR_DROP_LOCAL_FRAGMENT, 1);
		rte_pktmbuf_free(m);
		return;
	}
	if (ip->next_proto_id == IPPROTO_ICMP)
		local_icmp(w, pidx, m);
	else {
		ssr_drop(&w->stats, SSR_DROP_LOCAL_PROTO, 1);
		rte_pktmbuf_free(m);
	}
}

void
ssr_worker_to_control(struct ssr_worker *w, struct rte_mbuf *m)
{
	if (unlikely(rte_ring_mp_enqueue(w->r->ctl_ring, m) != 0)) {
		ssr_drop(&w->stats, SSR_DROP_CONTROL_RING_FULL, 1);
		rte_pktmbuf_free(m);
		return;
	}
	ssr_count(&w->stats, SSR_CNT_TO_CONTROL, 1);
}

bool
ssr_worker_output(struct ssr_worker *w, struct rte_mbuf *m, rte_be32_t dst)
{
	rte_be32_t nh;
	int out;

	out = ssr_route(w->r, dst, &nh);
	if (unlikely(out < 0)) {
		ssr_drop(&w->stats, SSR_DROP_NO_ROUTE, 1);
		rte_pktmbuf_free(m);
		return false;
	}
	ssr_worker_output_via(w, m, (unsigned int)out, nh);
	return true;
}

void
ssr_worker_neigh_miss(struct ssr_worker *w, struct rte_mbuf *m, unsigned int out,
		rte_be32_t nh)
{
	m->port = out;
	ssr_tag_set(m, SSR_TAG_MISS, nh);
	ssr_worker_to_control(w, m);
}

/*
 * Transit IPv4: decrement TTL, fix the checksum incrementally, route, fill
 * in the MACs, send. No ICMP errors are generated (time exceeded, net
 * unreachable): such packets are dropped and counted.
 */
static void
forward_burst(struct ssr_worker *w, struct rte_mbuf **pkts, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
				sizeof(struct rte_ether_hdr));
		uint16_t old, neww;
		uint8_t b[2];

		if (i + SSR_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + SSR_PREFETCH_OFFSET], void *));
		if (unlikely(ip->time_to_live <= 1)) {
			ssr_drop(&w->stats, SSR_DROP_TTL_EXPIRED, 1);
			rte_pktmbuf_free(m);
			continue;
		}
		/* TTL and protocol share a word; the new word is made in a
		 * register, as reading it back after a byte store stalls */
		memcpy(&old, &ip->time_to_live, sizeof(old));
		memcpy(b, &old, sizeof(b));
		b[0]--;
		memcpy(&neww, b, sizeof(neww));
		memcpy(&ip->time_to_live, &neww, sizeof(neww));
		ip->hdr_checksum = ssr_cksum_adjust(ip->hdr_checksum, old, neww);
		if (ssr_worker_output(w, m, ip->dst_addr))
			ssr_count(&w->stats, SSR_CNT_FORWARDED, 1);
	}
}

void
ssr_worker_process_burst(struct ssr_worker *w, unsigned int pidx,
		struct rte_mbuf **pkts, unsigned int n)
{
	const struct ssr_port *p = &w->r->port[pidx];
	struct rte_mbuf *fwd[SSR_BURST], *local[SSR_BURST], *drop[SSR_BURST];
	struct rte_mbuf *sal[SSR_BURST];
	unsigned int n_fwd = 0, n_local = 0, n_drop = 0, n_sal = 0, i;

	for (i = 0; i < n && i < SSR_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		enum ssr_drop_reason reason = SSR_DROP_MAX;
		struct rte_mbuf *m = pkts[i];

		if (i + SSR_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + SSR_PREFETCH_OFFSET], void *));
		switch (classify(w, p, m, &reason)) {
		case SSR_C_FWD:
			fwd[n_fwd++] = m;
			break;
		case SSR_C_LOCAL:
			local[n_local++] = m;
			break;
		case SSR_C_SAL:
			sal[n_sal++] = m;
			break;
		case SSR_C_ARP:
			m->port = pidx;
			ssr_tag_set(m, SSR_TAG_ARP, 0);
			ssr_worker_to_control(w, m);
			break;
		default:
			ssr_drop(&w->stats, reason, 1);
			drop[n_drop++] = m;
			break;
		}
	}
	if (n_drop != 0)
		rte_pktmbuf_free_bulk(drop, n_drop);
	if (n_sal != 0)
		ssr_sal_burst(w, sal, n_sal);
	for (i = 0; i < n_local; i++)
		local_packet(w, pidx, local[i]);
	if (n_fwd != 0)
		forward_burst(w, fwd, n_fwd);
}

static void
drain_inbox(struct ssr_worker *w)
{
	struct rte_mbuf *pkts[SSR_BURST], *again[SSR_BURST];
	unsigned int n, i, n_again = 0;

	n = rte_ring_sc_dequeue_burst(w->inbox, (void **)pkts, SSR_BURST, NULL);
	if (n == 0)
		return;
	ssr_count(&w->stats, SSR_CNT_HANDOFF_IN, n);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t pidx = m->port;

		if (m->hash.fdir.hi == SSR_TAG_REINJECT) {
			again[n_again++] = m;
			continue;
		}
		if (m->hash.fdir.hi == SSR_TAG_ROUTE) {
			/* built by the control lcore: it has no TX queue of its own */
			ssr_worker_output(w, m, m->hash.fdir.lo);
			continue;
		}
		if (unlikely(pidx >= w->r->n_ports || w->txq[pidx] < 0)) {
			/* cannot happen: senders pick the owner of a queue */
			ssr_drop(&w->stats, SSR_DROP_HANDOFF_FULL, 1);
			rte_pktmbuf_free(m);
			continue;
		}
		ssr_worker_tx(w, pidx, m);
	}
	if (n_again != 0)
		ssr_sal_burst(w, again, n_again);
}

/* Run the mailbox command, as the flow's owner. */
static int32_t
mbox_run(struct ssr_worker *w, uint32_t op, uint32_t arg)
{
	switch (op) {
	case SSR_MBOX_FLOW_DELETE:
		return w->r->ft != NULL ? flowtable_delete(w->r->ft, w->idx, arg) : -ENOENT;
	default:
		return -ENOTSUP;
	}
}

static void
take_mbox(struct ssr_worker *w)
{
	struct ssr_mailbox *mb = &w->mbox;
	uint32_t expect = SSR_MBOX_POSTED;

	/* acquire: op and arg were written before the control lcore's release
	 * store of POSTED; the CAS decides between us and its withdrawal */
	if (!__atomic_compare_exchange_n(&mb->state, &expect, SSR_MBOX_TAKEN, false,
				__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	mb->result = mbox_run(w, mb->op, mb->arg);
	/* release: the result is written before the control lcore sees DONE */
	__atomic_store_n(&mb->state, SSR_MBOX_DONE, __ATOMIC_RELEASE);
}

static void
take_commands(struct ssr_worker *w)
{
	void *cmds[SSR_CMD_BUDGET];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(w->cmd, cmds, SSR_CMD_BUDGET, NULL);
	for (i = 0; i < n; i++)
		/* a flow may have ended since: ENOENT is fine */
		flowtable_delete(w->r->ft, w->idx, (uint32_t)(uintptr_t)cmds[i]);
}

int
ssr_worker_post_delete(struct ssr_worker *w, uint32_t rfid)
{
	if (w->r->ft == NULL)
		return 0;
	return rte_ring_sp_enqueue(w->cmd, (void *)(uintptr_t)rfid) == 0 ? 0 : -ENOBUFS;
}

int
ssr_worker_call(struct ssr_worker *w, enum ssr_mbox_op op, uint32_t arg,
		unsigned int timeout_us, int32_t *result)
{
	struct ssr_mailbox *mb = &w->mbox;
	uint64_t deadline;
	uint32_t st;

	if (w->lcore == rte_lcore_id()) {
		/* one lcore: the worker loop is not running while we are */
		*result = mbox_run(w, op, arg);
		return 0;
	}
	/* relaxed: only this lcore moves the box out of DONE or IDLE */
	if (__atomic_load_n(&mb->state, __ATOMIC_RELAXED) != SSR_MBOX_IDLE)
		return -EBUSY;
	mb->op = op;
	mb->arg = arg;
	/* release: op and arg are visible before the worker sees POSTED */
	__atomic_store_n(&mb->state, SSR_MBOX_POSTED, __ATOMIC_RELEASE);
	deadline = rte_rdtsc() + rte_get_tsc_hz() / 1000000 * timeout_us;
	for (;;) {
		/* acquire: pairs with the worker's release of DONE (result) */
		st = __atomic_load_n(&mb->state, __ATOMIC_ACQUIRE);
		if (st == SSR_MBOX_DONE)
			break;
		if (st == SSR_MBOX_POSTED && rte_rdtsc() > deadline) {
			uint32_t expect = SSR_MBOX_POSTED;

			/* relaxed: withdrawing publishes nothing */
			if (__atomic_compare_exchange_n(&mb->state, &expect,
						SSR_MBOX_IDLE, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
				return -ETIMEDOUT;
			continue; /* the worker took it just now: wait for DONE */
		}
		rte_pause();
	}
	*result = mb->result;
	/* relaxed: the worker never touches an IDLE box */
	__atomic_store_n(&mb->state, SSR_MBOX_IDLE, __ATOMIC_RELAXED);
	return 0;
}

unsigned int
ssr_worker_poll(struct ssr_worker *w)
{
	struct rte_mbuf *pkts[SSR_BURST];
	unsigned int i, total = 0;
	uint64_t now;

	for (i = 0; i < w->n_rxq; i++) {
		const struct ssr_rxq *q = &w->rxq[i];
		uint16_t n = rte_eth_rx_burst(q->port_id, q->queue, pkts, SSR_BURST);

		if (n == 0)
			continue;
		ssr_count(&w->stats, SSR_CNT_RX, n);
		ssr_worker_process_burst(w, q->pidx, pkts, n);
		total += n;
	}
	drain_inbox(w);
	/* relaxed: a hint; take_mbox() re-checks with an acquiring CAS */
	if (unlikely(__atomic_load_n(&w->mbox.state, __ATOMIC_RELAXED) == SSR_MBOX_POSTED))
		take_mbox(w);
	if (unlikely(!rte_ring_empty(w->cmd)))
		take_commands(w);
	now = rte_rdtsc();
	if (total == 0 || now - w->last_drain > w->r->drain_tsc) {
		flush_all(w);
		w->last_drain = now;
	}
	ssr_sal_expire(w, now);
	ssr_local_timers(w, now);
	/* bottom of the loop: no table pointer survives this line */
	rte_rcu_qsbr_quiescent(w->r->qsv, w->qs_id);
	return total;
}

int
ssr_worker_main(void *arg)
{
	struct ssr_worker *w = arg;

	rte_rcu_qsbr_thread_online(w->r->qsv, w->qs_id);
	while (likely(!ssr_stop_requested()))
		ssr_worker_poll(w);
	rte_rcu_qsbr_thread_offline(w->r->qsv, w->qs_id);
	return 0;
}

unsigned int
ssr_worker_finish(struct ssr_worker *w)
{
	unsigned int rounds;

	for (rounds = 0; rounds < SSR_INBOX_SIZE && rte_ring_count(w->inbox) != 0;
			rounds++)
		drain_inbox(w);
	flush_all(w);
	return rte_ring_count(w->inbox);
}
