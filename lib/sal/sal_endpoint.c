/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sal.h"
#include "sal_build.h"
#include "sal_endpoint.h"
#include "sal_parse.h"

static const char *const sal_ep_state_names[SAL_EP_NB_STATES] = {
	[SAL_EP_CLOSED] = "CLOSED",
	[SAL_EP_SYN_RCVD] = "SYN_RCVD",
	[SAL_EP_ESTABLISHED] = "ESTABLISHED",
	[SAL_EP_CLOSE_WAIT] = "CLOSE_WAIT",
	[SAL_EP_LAST_ACK] = "LAST_ACK",
	[SAL_EP_FIN_WAIT1] = "FIN_WAIT1",
	[SAL_EP_FIN_WAIT2] = "FIN_WAIT2",
	[SAL_EP_CLOSING] = "CLOSING",
	[SAL_EP_TIME_WAIT] = "TIME_WAIT",
};

static const char *const sal_ep_drop_names[SAL_EP_DROP_MAX] = {
	[SAL_EP_DROP_NONE] = "NONE",
#define SAL_EP_DROP_NAME_(n, s) [SAL_EP_DROP_##n] = #n,
	SAL_EP_DROPS(SAL_EP_DROP_NAME_)
#undef SAL_EP_DROP_NAME_
};

const char *
sal_ep_state_name(enum sal_ep_state s)
{
	if ((unsigned int)s >= SAL_EP_NB_STATES)
		return "UNKNOWN";
	return sal_ep_state_names[s];
}

const char *
sal_ep_drop_name(enum sal_ep_drop d)
{
	if ((unsigned int)d >= SAL_EP_DROP_MAX)
		return "UNKNOWN";
	return sal_ep_drop_names[d];
}

void
sal_ep_init(struct sal_ep *ep, uint32_t local_flowid, uint32_t isn,
	const uint8_t nonce[SAL_NONCE_LEN])
{
	memset(ep, 0, sizeof(*ep));
	ep->state = SAL_EP_CLOSED;
	ep->local_flowid = local_flowid;
	ep->snd_una = isn;
	ep->snd_nxt = isn;
	memcpy(ep->local_nonce, nonce, SAL_NONCE_LEN);
}

int
sal_ep_rx_from_pkt(const uint8_t *frame, const struct sal_pkt *pkt, struct sal_ep_rx *rx)
{
	if (frame == NULL || pkt == NULL || rx == NULL || pkt->drop != SAL_DROP_NONE ||
			pkt->sal_off == 0)
		return -EINVAL;
	memset(rx, 0, sizeof(*rx));
	rx->src_flowid = pkt->src_flowid;
	rx->has_data = pkt->l4_len > 0;
	if (pkt->ctrl_off != 0) {
		rx->has_ctrl = 1;
		rx->flags = pkt->ctrl_flags;
		rx->verno = sal_pkt_verno(frame, pkt);
		rx->ackno = sal_pkt_ackno(frame, pkt);
		memcpy(rx->nonce, frame + pkt->ctrl_off + offsetof(struct sal_control_ext, nonce),
			SAL_NONCE_LEN);
	}
	return 0;
}

/* Serial-number comparison (RFC 1982 style): a after b. */
static inline int
seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static void
ep_send(struct sal_ep_out *out, uint8_t flags, uint32_t verno, uint32_t ackno)
{
	out->actions |= SAL_EP_A_SEND;
	out->send_flags = flags;
	out->verno = verno;
	out->ackno = ackno;
}

static enum sal_ep_state
ep_drop(struct sal_ep *ep, struct sal_ep_out *out, enum sal_ep_drop why)
{
	out->actions |= SAL_EP_A_DROP;
	out->drop = (uint8_t)why;
	return (enum sal_ep_state)ep->state;
}

static enum sal_ep_state
ep_set(struct sal_ep *ep, enum sal_ep_state s)
{
	ep->state = (uint8_t)s;
	return s;
}

/* Send our RST and forget the flow. */
static enum sal_ep_state
ep_reset(struct sal_ep *ep, struct sal_ep_out *out)
{
	ep_send(out, SAL_CTRL_RST, ep->snd_nxt, ep->rcv_nxt);
	out->actions |= SAL_EP_A_TIMER_STOP | SAL_EP_A_FREE;
	return ep_set(ep, SAL_EP_CLOSED);
}

/* Our FIN goes out and takes a sequence number. */
static void
ep_send_fin(struct sal_ep *ep, struct sal_ep_out *out)
{
	ep_send(out, SAL_CTRL_FIN, ep->snd_nxt, ep->rcv_nxt);
	ep->snd_nxt++;
	ep->retrans = 0;
	out->actions |= SAL_EP_A_TIMER_ARM;
}

static enum sal_ep_state
ep_timeout(struct sal_ep *ep, struct sal_ep_out *out)
{
	switch (ep->state) {
	case SAL_EP_SYN_RCVD:
	case SAL_EP_FIN_WAIT1:
	case SAL_EP_CLOSING:
	case SAL_EP_LAST_ACK:
		if (ep->retrans >= SAL_EP_MAX_RETRANS) {
			out->actions |= SAL_EP_A_RESET;
			return ep_reset(ep, out);
		}
		ep->retrans++;
		/* The pending control packet is the last number we used. */
		if (ep->state == SAL_EP_SYN_RCVD)
			ep_send(out, SAL_CTRL_SYN | SAL_CTRL_ACK, ep->snd_una, ep->rcv_nxt);
		else
			ep_send(out, SAL_CTRL_FIN, ep->snd_nxt - 1, ep->rcv_nxt);
		out->actions |= SAL_EP_A_TIMER_ARM;
		return (enum sal_ep_state)ep->state;
	case SAL_EP_TIME_WAIT:
		out->actions |= SAL_EP_A_FREE;
		return ep_set(ep, SAL_EP_CLOSED);
	default:
		return (enum sal_ep_state)ep->state; /* no timer of ours was armed */
	}
}

static enum sal_ep_state
ep_close(struct sal_ep *ep, struct sal_ep_out *out)
{
	switch (ep->state) {
	case SAL_EP_SYN_RCVD:
		/* Nothing was delivered yet: abort rather than close half-open. */
		return ep_reset(ep, out);
	case SAL_EP_ESTABLISHED:
		ep_send_fin(ep, out);
		return ep_set(ep, SAL_EP_FIN_WAIT1);
	case SAL_EP_CLOSE_WAIT:
		ep_send_fin(ep, out);
		return ep_set(ep, SAL_EP_LAST_ACK);
	default:
		return (enum sal_ep_state)ep->state; /* closed or closing already */
	}
}

/* A SYN for an endpoint waiting in CLOSED. */
static enum sal_ep_state
ep_rx_closed(struct sal_ep *ep, const struct sal_ep_rx *rx, struct sal_ep_out *out)
{
	if (!rx->has_ctrl || (rx->flags & (SAL_CTRL_SYN | SAL_CTRL_ACK | SAL_CTRL_RST |
			SAL_CTRL_RSYN)) != SAL_CTRL_SYN) {
		/* Never answer a RST; answer anything else with one (original). */
		if (rx->flags & SAL_CTRL_RST)
			return ep_drop(ep, out, SAL_EP_DROP_UNEXPECTED);
		out->actions |= SAL_EP_A_REPLY_RST | SAL_EP_A_FREE;
		return SAL_EP_CLOSED;
	}
	ep->peer_flowid = rx->src_flowid;
	memcpy(ep->peer_nonce, rx->nonce, SAL_NONCE_LEN);
	ep->rcv_nxt = rx->verno + 1;
	ep->snd_nxt = ep->snd_una + 1;
	ep->retrans = 0;
	ep_send(out, SAL_CTRL_SYN | SAL_CTRL_ACK, ep->snd_una, ep->rcv_nxt);
	out->actions |= SAL_EP_A_TIMER_ARM;
	if (rx->has_data)
		out->actions |= SAL_EP_A_DELIVER;
	return ep_set(ep, SAL_EP_SYN_RCVD);
}

/* After the handshake: has the peer's FIN been taken already? */
static inline int
ep_peer_fin_seen(const struct sal_ep *ep)
{
	return ep->state == SAL_EP_CLOSE_WAIT || ep->state == SAL_EP_LAST_ACK ||
		ep->state == SAL_EP_CLOSING || ep->state == SAL_EP_TIME_WAIT;
}

/*
 * A packet of an existing flow. Every reason to drop it is found before
 * anything changes, so a dropped packet leaves the endpoint as it was.
 */
static enum sal_ep_state
ep_rx(struct sal_ep *ep, const struct sal_ep_rx *rx, struct sal_ep_out *out)
{
	uint32_t new_una = ep->snd_una;
	int fin_new = 0, fin_dup = 0, our_fin_acked;

	if (ep->state == SAL_EP_CLOSED)
		return ep_rx_closed(ep, rx, out);

	if (rx->src_flowid != ep->peer_flowid)
		return ep_drop(ep, out, SAL_EP_DROP_BAD_FLOWID);
	if (rx->has_ctrl && memcmp(rx->nonce, ep->peer_nonce, SAL_NONCE_LEN) != 0)
		return ep_drop(ep, out, SAL_EP_DROP_BAD_NONCE);
	if (rx->flags & SAL_CTRL_RST) {
		out->actions |= SAL_EP_A_RESET | SAL_EP_A_TIMER_STOP | SAL_EP_A_FREE;
		return ep_set(ep, SAL_EP_CLOSED);
	}
	if (rx->flags & SAL_CTRL_RSYN)
		return ep_drop(ep, out, SAL_EP_DROP_UNSUPPORTED);
	if (rx->flags & SAL_CTRL_SYN) {
		/* A retransmitted SYN: our SYN+ACK was lost; send it again. */
		if (ep->state != SAL_EP_SYN_RCVD || (rx->flags & SAL_CTRL_ACK) ||
				rx->verno + 1 != ep->rcv_nxt)
			return ep_drop(ep, out, SAL_EP_DROP_UNEXPECTED);
		ep_send(out, SAL_CTRL_SYN | SAL_CTRL_ACK, ep->snd_una, ep->rcv_nxt);
		if (rx->has_data)
			out->actions |= SAL_EP_A_DELIVER;
		return (enum sal_ep_state)ep->state;
	}
	if (rx->flags & SAL_CTRL_ACK) {
		if (seq_after(rx->ackno, ep->snd_nxt))
			return ep_drop(ep, out, SAL_EP_DROP_BAD_ACK);
		if (seq_after(rx->ackno, ep->snd_una))
			new_una = rx->ackno;
	}
	if (ep->state == SAL_EP_SYN_RCVD) {
		/* Only the ACK of our SYN+ACK moves on; data must wait for it. */
		if (!(rx->flags & SAL_CTRL_ACK) || new_una != ep->snd_nxt)
			return ep_drop(ep, out, SAL_EP_DROP_UNEXPECTED);
		if (rx->verno != ep->rcv_nxt)
			return ep_drop(ep, out, SAL_EP_DROP_BAD_SEQ);
	}
	if (rx->flags & SAL_CTRL_FIN) {
		/* After the peer's FIN only its retransmission may come. */
		if (ep_peer_fin_seen(ep))
			fin_dup = rx->verno + 1 == ep->rcv_nxt;
		else
			fin_new = rx->verno == ep->rcv_nxt;
		if (!fin_new && !fin_dup)
			return ep_drop(ep, out, SAL_EP_DROP_BAD_SEQ);
	}

	ep->snd_una = new_una;
	if (ep->state == SAL_EP_SYN_RCVD) {
		ep->retrans = 0;
		out->actions |= SAL_EP_A_TIMER_STOP | SAL_EP_A_CONNECTED;
		ep_set(ep, SAL_EP_ESTABLISHED);
	}
	if (rx->has_data)
		out->actions |= SAL_EP_A_DELIVER;
	our_fin_acked = ep->snd_una == ep->snd_nxt;

	if (fin_dup) {
		ep_send(out, SAL_CTRL_ACK, ep->snd_nxt, ep->rcv_nxt);
		if (ep->state == SAL_EP_TIME_WAIT)
			out->actions |= SAL_EP_A_LINGER;
		/* fall on to a possible ACK of our FIN (CLOSING, LAST_ACK) */
	}
	if (fin_new) {
		ep->rcv_nxt++;
		ep_send(out, SAL_CTRL_ACK, ep->snd_nxt, ep->rcv_nxt);
		out->actions |= SAL_EP_A_PEER_CLOSED;
		if (ep->state == SAL_EP_ESTABLISHED)
			return ep_set(ep, SAL_EP_CLOSE_WAIT);
		if (ep->state == SAL_EP_FIN_WAIT1 && !our_fin_acked)
			return ep_set(ep, SAL_EP_CLOSING);
		/* FIN_WAIT2, or FIN_WAIT1 whose FIN this same packet acknowledged */
		out->actions |= SAL_EP_A_TIMER_STOP | SAL_EP_A_LINGER;
		return ep_set(ep, SAL_EP_TIME_WAIT);
	}
	if (!our_fin_acked || !(rx->flags & SAL_CTRL_ACK))
		return (enum sal_ep_state)ep->state;
	switch (ep->state) {
	case SAL_EP_FIN_WAIT1:
		out->actions |= SAL_EP_A_TIMER_STOP;
		return ep_set(ep, SAL_EP_FIN_WAIT2);
	case SAL_EP_CLOSING:
		out->actions |= SAL_EP_A_TIMER_STOP | SAL_EP_A_LINGER;
		return ep_set(ep, SAL_EP_TIME_WAIT);
	case SAL_EP_LAST_ACK:
		out->actions |= SAL_EP_A_TIMER_STOP | SAL_EP_A_FREE;
		return ep_set(ep, SAL_EP_CLOSED);
	default:
		return (enum sal_ep_state)ep->state;
	}
}

enum sal_ep_state
sal_ep_step(struct sal_ep *ep, enum sal_ep_event ev, const struct sal_ep_rx *rx,
	struct sal_ep_out *out)
{
	memset(out, 0, sizeof(*out));
	if (ep->state >= SAL_EP_NB_STATES)
		return (enum sal_ep_state)ep->state;
	switch (ev) {
	case SAL_EP_EV_RX:
		if (rx == NULL)
			return (enum sal_ep_state)ep->state;
		return ep_rx(ep, rx, out);
	case SAL_EP_EV_TIMEOUT:
		return ep_timeout(ep, out);
	case SAL_EP_EV_CLOSE:
		return ep_close(ep, out);
	case SAL_EP_EV_ABORT:
		if (ep->state == SAL_EP_CLOSED)
			return SAL_EP_CLOSED;
		return ep_reset(ep, out);
	default:
		return (enum sal_ep_state)ep->state;
	}
}

void
sal_ep_fill_msg(const struct sal_ep *ep, const struct sal_ep_out *out, uint8_t proto,
	struct sal_msg *m)
{
	struct sal_ext_spec *c;

	sal_msg_init(m);
	m->src_flowid = ep->local_flowid;
	m->dst_flowid = ep->peer_flowid;
	m->proto = proto;
	m->n_ext = 1;
	c = &m->ext[0];
	c->type = SAL_EXT_CONTROL;
	c->u.control.flags = out->send_flags;
	c->u.control.verno = out->verno;
	c->u.control.ackno = out->ackno;
	memcpy(c->u.control.nonce, ep->local_nonce, SAL_NONCE_LEN);
}
