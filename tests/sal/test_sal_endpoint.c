/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * SAL endpoint state machine: the real server of the upstream captures is
 * the oracle (our endpoint, given its flowID, ISN and nonce, must answer
 * the client's packets exactly as it did), then every transition and drop,
 * then random event sequences against invariants.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sal.h"
#include "sal_build.h"
#include "sal_endpoint.h"
#include "sal_parse.h"
#include "sal_priv.h"
#include "sal_test_util.h"
#include "sal_vectors.h"

#define ETH_LEN 14

static uint32_t
be32(uint32_t host)
{
	uint8_t x[4];
	uint32_t v;

	sal_put32(x, host);
	memcpy(&v, x, 4);
	return v;
}

/* --------------------------------------------------- capture replay */

/*
 * Replay a capture from the server's side: feed the client's packets to an
 * endpoint that has the server's flowID, ISN and nonce, issue a local CLOSE
 * right before the server's own FIN, and compare every CONTROL the server
 * sent with what the endpoint asked to send (flags, numbers, nonce bytes).
 */
static void
replay(const char *capname, const uint8_t server_ip[4], uint32_t flowid, uint32_t isn,
	const uint8_t nonce[8], uint32_t min_deliver)
{
	struct test_pcap cap;
	struct sal_parse_conf conf;
	struct sal_ep ep;
	struct sal_ep_out last = { 0 };
	uint32_t i, n_deliver = 0, n_ctrl_checked = 0;
	int have_pending = 0;

	assert_int_equal(sal_parse_conf_init(&conf, SAL_IPPROTO_DEFAULT, 0), 0);
	assert_int_equal(test_pcap_load_upstream(capname, &cap), 0);
	sal_ep_init(&ep, be32(flowid), isn, nonce);
	for (i = 0; i < cap.n; i++) {
		const uint8_t *f = cap.frames[i].data;
		struct sal_pkt p;
		struct sal_ep_rx rx;
		struct sal_ep_out out;

		assert_int_equal(sal_parse(&conf, f, cap.frames[i].len, ETH_LEN, &p), 0);
		assert_int_equal(sal_ep_rx_from_pkt(f, &p, &rx), 0);
		if (memcmp(f + ETH_LEN + 12, server_ip, 4) != 0) {
			/* from the client: step the machine */
			sal_ep_step(&ep, SAL_EP_EV_RX, &rx, &out);
			if (out.actions & SAL_EP_A_DROP)
				fail_msg("%s #%u dropped: %s", capname, i,
					sal_ep_drop_name(out.drop));
			assert_false(out.actions & SAL_EP_A_REPLY_RST);
			if (rx.has_data) {
				assert_true(out.actions & SAL_EP_A_DELIVER);
				n_deliver++;
			}
			if (out.actions & SAL_EP_A_SEND) {
				last = out;
				have_pending = 1;
			}
			continue;
		}
		/* from the server */
		if (!rx.has_ctrl)
			continue;
		if ((rx.flags & SAL_CTRL_FIN) && !have_pending) {
			struct sal_ep_out out;

			sal_ep_step(&ep, SAL_EP_EV_CLOSE, NULL, &out);
			assert_true(out.actions & SAL_EP_A_SEND);
			assert_true(out.actions & SAL_EP_A_TIMER_ARM);
			last = out;
			have_pending = 1;
		}
		if (!have_pending)
			fail_msg("%s #%u: the server sent a CONTROL we did not ask for", capname, i);
		assert_int_equal(last.send_flags, rx.flags);
		assert_int_equal(last.verno, rx.verno);
		assert_int_equal(last.ackno, rx.ackno);
		{
			/* the CONTROL bytes we would build are the server's */
			struct sal_msg m;
			struct sal_pkt q;
			uint8_t out_pkt[128];
			int n;

			sal_ep_fill_msg(&ep, &last, SAL_PROTO_TCP, &m);
			assert_int_equal(m.src_flowid, p.src_flowid);
			assert_int_equal(m.dst_flowid, p.dst_flowid);
			n = sal_build(&m, out_pkt, sizeof(out_pkt));
			assert_int_equal(n, 20 + 12 + 20);
			assert_int_equal(test_parse_l3(out_pkt, (uint32_t)n, &q), 0);
			assert_memory_equal(out_pkt + q.ctrl_off, f + p.ctrl_off, SAL_CONTROL_EXT_LEN);
		}
		n_ctrl_checked++;
		have_pending = 0;
	}
	/* The server closed first: after the client's FIN we linger. */
	assert_int_equal(ep.state, SAL_EP_TIME_WAIT);
	{
		struct sal_ep_out out;

		assert_int_equal(sal_ep_step(&ep, SAL_EP_EV_TIMEOUT, NULL, &out), SAL_EP_CLOSED);
		assert_int_equal(out.actions, SAL_EP_A_FREE);
	}
	assert_int_equal(n_ctrl_checked, 3); /* SYN+ACK, FIN, ACK of the client's FIN */
	assert_true(n_deliver >= min_deliver);
	test_pcap_free(&cap);
}

static void
test_replay_router_out(void **state)
{
	static const uint8_t nonce[8] = { 0x69, 0x40, 0xa4, 0xf4, 0x79, 0x39, 0x62, 0x7e };

	(void)state;
	replay("router-out.pcap", (const uint8_t[]){ 198, 18, 2, 2 }, 3, 0xf00a63f0, nonce, 18);
}

static void
test_replay_handshake_direct(void **state)
{
	static const uint8_t nonce[8] = { 0x59, 0x95, 0xb8, 0x42, 0x77, 0x99, 0x34, 0x8f };

	(void)state;
	replay("handshake-direct.pcap", (const uint8_t[]){ 198, 18, 0, 2 }, 3, 0x84c8d193,
		nonce, 6);
}

/* ------------------------------------------------------- transitions */

static const uint8_t our_nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t peer_nonce[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
#define ISN 1000u
#define PEER_ISN 5000u
#define PEER_FLOW 0x0a0b0c0du

static struct sal_ep_rx
mk_rx(uint8_t flags, uint32_t verno, uint32_t ackno, int data)
{
	struct sal_ep_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.src_flowid = PEER_FLOW;
	rx.has_ctrl = flags != 0;
	rx.flags = flags;
	rx.verno = verno;
	rx.ackno = ackno;
	rx.has_data = (uint8_t)data;
	if (flags)
		memcpy(rx.nonce, peer_nonce, 8);
	return rx;
}

static struct sal_ep_out
step_rx(struct sal_ep *ep, struct sal_ep_rx rx, enum sal_ep_state want)
{
	struct sal_ep_out out;
	enum sal_ep_state got = sal_ep_step(ep, SAL_EP_EV_RX, &rx, &out);

	if (got != want)
		fail_msg("want %s, got %s", sal_ep_state_name(want), sal_ep_state_name(got));
	assert_int_equal(ep->state, want);
	return out;
}

static struct sal_ep_out
step_ev(struct sal_ep *ep, enum sal_ep_event ev, enum sal_ep_state want)
{
	struct sal_ep_out out;
	enum sal_ep_state got = sal_ep_step(ep, ev, NULL, &out);

	if (got != want)
		fail_msg("want %s, got %s", sal_ep_state_name(want), sal_ep_state_name(got));
	return out;
}

static void
expect_send(const struct sal_ep_out *o, uint8_t flags, uint32_t verno, uint32_t ackno)
{
	assert_true(o->actions & SAL_EP_A_SEND);
	assert_int_equal(o->send_flags, flags);
	assert_int_equal(o->verno, verno);
	assert_int_equal(o->ackno, ackno);
}

static void
expect_drop(const struct sal_ep_out *o, enum sal_ep_drop why)
{
	assert_int_equal(o->actions, SAL_EP_A_DROP);
	if (o->drop != why)
		fail_msg("want drop %s, got %s", sal_ep_drop_name(why), sal_ep_drop_name(o->drop));
}

/* An endpoint through the handshake. */
static void
established(struct sal_ep *ep)
{
	struct sal_ep_out o;

	sal_ep_init(ep, be32(77), ISN, our_nonce);
	o = step_rx(ep, mk_rx(SAL_CTRL_SYN, PEER_ISN, 0, 1), SAL_EP_SYN_RCVD);
	expect_send(&o, SAL_CTRL_SYN | SAL_CTRL_ACK, ISN, PEER_ISN + 1);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_TIMER_ARM | SAL_EP_A_DELIVER);
	assert_int_equal(ep->peer_flowid, PEER_FLOW);
	assert_memory_equal(ep->peer_nonce, peer_nonce, 8);
	o = step_rx(ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 1, ISN + 1, 1), SAL_EP_ESTABLISHED);
	assert_int_equal(o.actions, SAL_EP_A_TIMER_STOP | SAL_EP_A_CONNECTED |
		SAL_EP_A_DELIVER);
}

static void
test_closed(void **state)
{
	struct sal_ep ep;
	struct sal_ep_out o;

	(void)state;
	sal_ep_init(&ep, be32(77), ISN, our_nonce);
	assert_int_equal(ep.state, SAL_EP_CLOSED);
	/* a data packet or a non-SYN control packet for nothing: RST reply */
	o = step_rx(&ep, mk_rx(0, 0, 0, 1), SAL_EP_CLOSED);
	assert_int_equal(o.actions, SAL_EP_A_REPLY_RST | SAL_EP_A_FREE);
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, 1, 2, 0), SAL_EP_CLOSED);
	assert_int_equal(o.actions, SAL_EP_A_REPLY_RST | SAL_EP_A_FREE);
	o = step_rx(&ep, mk_rx(SAL_CTRL_SYN | SAL_CTRL_ACK, 1, 2, 0), SAL_EP_CLOSED);
	assert_int_equal(o.actions, SAL_EP_A_REPLY_RST | SAL_EP_A_FREE);
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, 1, 2, 0), SAL_EP_CLOSED);
	assert_int_equal(o.actions, SAL_EP_A_REPLY_RST | SAL_EP_A_FREE);
	/* never a RST for a RST */
	o = step_rx(&ep, mk_rx(SAL_CTRL_RST, 1, 2, 0), SAL_EP_CLOSED);
	expect_drop(&o, SAL_EP_DROP_UNEXPECTED);
	/* events without a flow do nothing */
	o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_CLOSED);
	assert_int_equal(o.actions, 0);
	o = step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_CLOSED);
	assert_int_equal(o.actions, 0);
	o = step_ev(&ep, SAL_EP_EV_ABORT, SAL_EP_CLOSED);
	assert_int_equal(o.actions, 0);
	/* a SYN without data: no DELIVER */
	o = step_rx(&ep, mk_rx(SAL_CTRL_SYN, PEER_ISN, 0, 0), SAL_EP_SYN_RCVD);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_TIMER_ARM);
}

static void
test_syn_rcvd(void **state)
{
	struct sal_ep ep;
	struct sal_ep_out o;
	struct sal_ep_rx rx;
	int i;

	(void)state;
	sal_ep_init(&ep, be32(77), ISN, our_nonce);
	step_rx(&ep, mk_rx(SAL_CTRL_SYN, PEER_ISN, 0, 0), SAL_EP_SYN_RCVD);
	/* the client retransmits its SYN: SYN+ACK again, same numbers */
	o = step_rx(&ep, mk_rx(SAL_CTRL_SYN, PEER_ISN, 0, 1), SAL_EP_SYN_RCVD);
	expect_send(&o, SAL_CTRL_SYN | SAL_CTRL_ACK, ISN, PEER_ISN + 1);
	assert_true(o.actions & SAL_EP_A_DELIVER);
	/* a different SYN on this flow */
	o = step_rx(&ep, mk_rx(SAL_CTRL_SYN, PEER_ISN + 7, 0, 0), SAL_EP_SYN_RCVD);
	expect_drop(&o, SAL_EP_DROP_UNEXPECTED);
	/* data before the handshake ACK */
	o = step_rx(&ep, mk_rx(0, 0, 0, 1), SAL_EP_SYN_RCVD);
	expect_drop(&o, SAL_EP_DROP_UNEXPECTED);
	/* an ACK that does not acknowledge our SYN+ACK */
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 1, ISN, 0), SAL_EP_SYN_RCVD);
	expect_drop(&o, SAL_EP_DROP_UNEXPECTED);
	/* an ACK of something never sent */
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 1, ISN + 2, 0), SAL_EP_SYN_RCVD);
	expect_drop(&o, SAL_EP_DROP_BAD_ACK);
	/* wrong flowID, wrong nonce */
	rx = mk_rx(SAL_CTRL_ACK, PEER_ISN + 1, ISN + 1, 0);
	rx.src_flowid++;
	o = step_rx(&ep, rx, SAL_EP_SYN_RCVD);
	expect_drop(&o, SAL_EP_DROP_BAD_FLOWID);
	rx = mk_rx(SAL_CTRL_ACK, PEER_ISN + 1, ISN + 1, 0);
	rx.nonce[7] ^= 1;
	o = step_rx(&ep, rx, SAL_EP_SYN_RCVD);
	expect_drop(&o, SAL_EP_DROP_BAD_NONCE);
	/* right ACK, wrong verno */
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 9, ISN + 1, 0), SAL_EP_SYN_RCVD);
	expect_drop(&o, SAL_EP_DROP_BAD_SEQ);

	/* retransmission timer: SAL_EP_MAX_RETRANS resends, then RST */
	sal_ep_init(&ep, be32(77), ISN, our_nonce);
	step_rx(&ep, mk_rx(SAL_CTRL_SYN, PEER_ISN, 0, 0), SAL_EP_SYN_RCVD);
	for (i = 0; i < SAL_EP_MAX_RETRANS; i++) {
		o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_SYN_RCVD);
		expect_send(&o, SAL_CTRL_SYN | SAL_CTRL_ACK, ISN, PEER_ISN + 1);
		assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_TIMER_ARM);
	}
	o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_CLOSED);
	expect_send(&o, SAL_CTRL_RST, ISN + 1, PEER_ISN + 1);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_RESET | SAL_EP_A_TIMER_STOP |
		SAL_EP_A_FREE);

	/* a local close before the handshake completes aborts */
	sal_ep_init(&ep, be32(77), ISN, our_nonce);
	step_rx(&ep, mk_rx(SAL_CTRL_SYN, PEER_ISN, 0, 0), SAL_EP_SYN_RCVD);
	o = step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_CLOSED);
	expect_send(&o, SAL_CTRL_RST, ISN + 1, PEER_ISN + 1);
	assert_true(o.actions & SAL_EP_A_FREE);
}

static void
test_established(void **state)
{
	struct sal_ep ep;
	struct sal_ep_out o;
	struct sal_ep_rx rx;

	(void)state;
	established(&ep);
	/* data: delivered, nothing else */
	o = step_rx(&ep, mk_rx(0, 0, 0, 1), SAL_EP_ESTABLISHED);
	assert_int_equal(o.actions, SAL_EP_A_DELIVER);
	/* a repeated handshake ACK with data */
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 1, ISN + 1, 1), SAL_EP_ESTABLISHED);
	assert_int_equal(o.actions, SAL_EP_A_DELIVER);
	/* timers: none armed */
	o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_ESTABLISHED);
	assert_int_equal(o.actions, 0);
	/* a late SYN, an RSYN, data from someone else */
	o = step_rx(&ep, mk_rx(SAL_CTRL_SYN, PEER_ISN, 0, 0), SAL_EP_ESTABLISHED);
	expect_drop(&o, SAL_EP_DROP_UNEXPECTED);
	o = step_rx(&ep, mk_rx(SAL_CTRL_RSYN, PEER_ISN + 1, ISN + 1, 0), SAL_EP_ESTABLISHED);
	expect_drop(&o, SAL_EP_DROP_UNSUPPORTED);
	rx = mk_rx(0, 0, 0, 1);
	rx.src_flowid = 1;
	o = step_rx(&ep, rx, SAL_EP_ESTABLISHED);
	expect_drop(&o, SAL_EP_DROP_BAD_FLOWID);
	/* a FIN out of order */
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, PEER_ISN + 3, ISN + 1, 0), SAL_EP_ESTABLISHED);
	expect_drop(&o, SAL_EP_DROP_BAD_SEQ);
	/* a RST with somebody else's nonce is ignored, with the peer's it ends */
	rx = mk_rx(SAL_CTRL_RST, 0, 0, 0);
	rx.nonce[0] = 0;
	o = step_rx(&ep, rx, SAL_EP_ESTABLISHED);
	expect_drop(&o, SAL_EP_DROP_BAD_NONCE);
	o = step_rx(&ep, mk_rx(SAL_CTRL_RST, 0, 0, 0), SAL_EP_CLOSED);
	assert_int_equal(o.actions, SAL_EP_A_RESET | SAL_EP_A_TIMER_STOP | SAL_EP_A_FREE);

	/* local abort */
	established(&ep);
	o = step_ev(&ep, SAL_EP_EV_ABORT, SAL_EP_CLOSED);
	expect_send(&o, SAL_CTRL_RST, ISN + 1, PEER_ISN + 1);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_TIMER_STOP | SAL_EP_A_FREE);
}

/* The peer closes first (as the client did in the other direction). */
static void
test_passive_close(void **state)
{
	struct sal_ep ep;
	struct sal_ep_out o;
	int i;

	(void)state;
	established(&ep);
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, PEER_ISN + 1, ISN + 1, 0), SAL_EP_CLOSE_WAIT);
	expect_send(&o, SAL_CTRL_ACK, ISN + 1, PEER_ISN + 2);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_PEER_CLOSED);
	/* the FIN again (our ACK was lost): ACK again */
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, PEER_ISN + 1, ISN + 1, 0), SAL_EP_CLOSE_WAIT);
	expect_send(&o, SAL_CTRL_ACK, ISN + 1, PEER_ISN + 2);
	assert_int_equal(o.actions, SAL_EP_A_SEND);
	/* transport bytes still flow after the SAL FIN */
	o = step_rx(&ep, mk_rx(0, 0, 0, 1), SAL_EP_CLOSE_WAIT);
	assert_int_equal(o.actions, SAL_EP_A_DELIVER);
	/* a second, new FIN makes no sense */
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, PEER_ISN + 2, ISN + 1, 0), SAL_EP_CLOSE_WAIT);
	expect_drop(&o, SAL_EP_DROP_BAD_SEQ);
	/* local close: our FIN */
	o = step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_LAST_ACK);
	expect_send(&o, SAL_CTRL_FIN, ISN + 1, PEER_ISN + 2);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_TIMER_ARM);
	o = step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_LAST_ACK);
	assert_int_equal(o.actions, 0);
	for (i = 0; i < 2; i++) {
		o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_LAST_ACK);
		expect_send(&o, SAL_CTRL_FIN, ISN + 1, PEER_ISN + 2);
	}
	/* an ACK that does not cover our FIN changes nothing */
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 2, ISN + 1, 0), SAL_EP_LAST_ACK);
	assert_int_equal(o.actions, 0);
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 2, ISN + 2, 0), SAL_EP_CLOSED);
	assert_int_equal(o.actions, SAL_EP_A_TIMER_STOP | SAL_EP_A_FREE);
}

/* We close first; the peer's ACK and FIN come separately (the captures). */
static void
test_active_close(void **state)
{
	struct sal_ep ep;
	struct sal_ep_out o;
	int i;

	(void)state;
	established(&ep);
	o = step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_FIN_WAIT1);
	expect_send(&o, SAL_CTRL_FIN, ISN + 1, PEER_ISN + 1);
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 1, ISN + 2, 0), SAL_EP_FIN_WAIT2);
	assert_int_equal(o.actions, SAL_EP_A_TIMER_STOP);
	o = step_rx(&ep, mk_rx(0, 0, 0, 1), SAL_EP_FIN_WAIT2);
	assert_int_equal(o.actions, SAL_EP_A_DELIVER);
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, PEER_ISN + 1, ISN + 2, 0), SAL_EP_TIME_WAIT);
	expect_send(&o, SAL_CTRL_ACK, ISN + 2, PEER_ISN + 2);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_PEER_CLOSED |
		SAL_EP_A_TIMER_STOP | SAL_EP_A_LINGER);
	/* the FIN again: ACK again and linger anew */
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, PEER_ISN + 1, ISN + 2, 0), SAL_EP_TIME_WAIT);
	expect_send(&o, SAL_CTRL_ACK, ISN + 2, PEER_ISN + 2);
	assert_int_equal(o.actions, SAL_EP_A_SEND | SAL_EP_A_LINGER);
	o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_CLOSED);
	assert_int_equal(o.actions, SAL_EP_A_FREE);

	/* FIN+ACK acknowledging ours in one packet: straight to TIME_WAIT */
	established(&ep);
	step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_FIN_WAIT1);
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN | SAL_CTRL_ACK, PEER_ISN + 1, ISN + 2, 0),
		SAL_EP_TIME_WAIT);
	expect_send(&o, SAL_CTRL_ACK, ISN + 2, PEER_ISN + 2);

	/* FINs cross: CLOSING, then the ACK of ours */
	established(&ep);
	step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_FIN_WAIT1);
	o = step_rx(&ep, mk_rx(SAL_CTRL_FIN, PEER_ISN + 1, ISN + 1, 0), SAL_EP_CLOSING);
	expect_send(&o, SAL_CTRL_ACK, ISN + 2, PEER_ISN + 2);
	o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_CLOSING);
	expect_send(&o, SAL_CTRL_FIN, ISN + 1, PEER_ISN + 2);
	o = step_rx(&ep, mk_rx(SAL_CTRL_ACK, PEER_ISN + 2, ISN + 2, 0), SAL_EP_TIME_WAIT);
	assert_int_equal(o.actions, SAL_EP_A_TIMER_STOP | SAL_EP_A_LINGER);

	/* our FIN never acknowledged: resent, then reset */
	established(&ep);
	step_ev(&ep, SAL_EP_EV_CLOSE, SAL_EP_FIN_WAIT1);
	for (i = 0; i < SAL_EP_MAX_RETRANS; i++) {
		o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_FIN_WAIT1);
		expect_send(&o, SAL_CTRL_FIN, ISN + 1, PEER_ISN + 1);
	}
	o = step_ev(&ep, SAL_EP_EV_TIMEOUT, SAL_EP_CLOSED);
	expect_send(&o, SAL_CTRL_RST, ISN + 2, PEER_ISN + 1);
	assert_true(o.actions & SAL_EP_A_RESET);
	assert_true(o.actions & SAL_EP_A_FREE);
}

static void
test_rx_from_pkt(void **state)
{
	struct sal_pkt p;
	struct sal_ep_rx rx;

	(void)state;
	assert_int_equal(test_parse_l3(vec_syn, sizeof(vec_syn), &p), 0);
	assert_int_equal(sal_ep_rx_from_pkt(vec_syn, &p, &rx), 0);
	assert_int_equal(rx.flags, SAL_CTRL_SYN);
	assert_true(rx.has_ctrl);
	assert_true(rx.has_data);
	assert_int_equal(rx.verno, 0xd62b4dda);
	assert_int_equal(rx.src_flowid, be32(2));
	assert_memory_equal(rx.nonce, vec_syn + 32 + 12, 8);
	assert_int_equal(test_parse_l3(vec_fin, sizeof(vec_fin), &p), 0);
	assert_int_equal(sal_ep_rx_from_pkt(vec_fin, &p, &rx), 0);
	assert_false(rx.has_data);
	assert_int_equal(rx.ackno, 0xd62b4ddb);
	assert_int_equal(test_parse_l3(vec_data, sizeof(vec_data), &p), 0);
	assert_int_equal(sal_ep_rx_from_pkt(vec_data, &p, &rx), 0);
	assert_false(rx.has_ctrl);
	assert_int_equal(rx.flags, 0);
	assert_int_equal(test_parse_l3(vec_data, 10, &p), SAL_DROP_IP_TRUNCATED);
	assert_int_equal(sal_ep_rx_from_pkt(vec_data, &p, &rx), -EINVAL);
	assert_int_equal(sal_ep_rx_from_pkt(NULL, &p, &rx), -EINVAL);
}

static void
test_names_and_bad_input(void **state)
{
	struct sal_ep ep;
	struct sal_ep_out o;
	int s;

	(void)state;
	for (s = 0; s < SAL_EP_NB_STATES; s++)
		assert_string_not_equal(sal_ep_state_name(s), "UNKNOWN");
	assert_string_equal(sal_ep_state_name(SAL_EP_NB_STATES), "UNKNOWN");
	assert_string_equal(sal_ep_drop_name(SAL_EP_DROP_BAD_NONCE), "BAD_NONCE");
	assert_string_equal(sal_ep_drop_name(SAL_EP_DROP_MAX), "UNKNOWN");
	established(&ep);
	/* RX without a packet, an unknown event, a corrupt state: nothing */
	assert_int_equal(sal_ep_step(&ep, SAL_EP_EV_RX, NULL, &o), SAL_EP_ESTABLISHED);
	assert_int_equal(o.actions, 0);
	assert_int_equal(sal_ep_step(&ep, (enum sal_ep_event)99, NULL, &o), SAL_EP_ESTABLISHED);
	assert_int_equal(o.actions, 0);
	ep.state = 200;
	assert_int_equal(sal_ep_step(&ep, SAL_EP_EV_CLOSE, NULL, &o), 200);
	assert_int_equal(o.actions, 0);
}

/* Random event storms: the invariants hold whatever arrives. */
static void
test_random_sequences(void **state)
{
	struct test_rng rng;
	uint32_t run, seen = 0;

	(void)state;
	test_rng_seed(&rng, 4242);
	for (run = 0; run < 3000; run++) {
		struct sal_ep ep;
		uint32_t k;

		sal_ep_init(&ep, be32(77), (uint32_t)test_rng_next(&rng), our_nonce);
		for (k = 0; k < 40; k++) {
			struct sal_ep_out o;
			struct sal_ep_rx rx;
			enum sal_ep_event ev = (enum sal_ep_event)test_rng_below(&rng, 4);
			uint8_t before = ep.state;
			uint32_t una = ep.snd_una;
			enum sal_ep_state st;

			static const uint8_t flag_sets[] = {
				0, SAL_CTRL_ACK, SAL_CTRL_ACK, SAL_CTRL_FIN, SAL_CTRL_FIN | SAL_CTRL_ACK,
				SAL_CTRL_SYN, SAL_CTRL_RST, SAL_CTRL_RSYN, 0xff,
			};
			uint8_t fl = flag_sets[test_rng_below(&rng, sizeof(flag_sets))];

			if (fl == 0xff)
				fl = (uint8_t)(test_rng_next(&rng) & 0xfc);
			/* mostly plausible packets: numbers near the expected ones */
			rx = mk_rx(fl,
				ep.rcv_nxt + test_rng_below(&rng, 3) - 1,
				ep.snd_nxt + test_rng_below(&rng, 3) - 1,
				(int)test_rng_below(&rng, 2));
			if (ep.state == SAL_EP_CLOSED && test_rng_below(&rng, 2))
				rx = mk_rx(SAL_CTRL_SYN, (uint32_t)test_rng_next(&rng), 0, 1);
			if (test_rng_below(&rng, 4) == 0)
				ev = SAL_EP_EV_RX;
			st = sal_ep_step(&ep, ev, &rx, &o);
			seen |= 1u << st;
			assert_int_equal(st, ep.state);
			assert_true(st < SAL_EP_NB_STATES);
			/* FREE exactly when a flow ends in CLOSED */
			if (o.actions & SAL_EP_A_FREE)
				assert_int_equal(st, SAL_EP_CLOSED);
			else if (before != SAL_EP_CLOSED)
				assert_int_not_equal(st, SAL_EP_CLOSED);
			/* a dropped packet changes nothing */
			if (o.actions & SAL_EP_A_DROP) {
				assert_int_equal(o.actions, SAL_EP_A_DROP);
				assert_int_equal(st, before);
				assert_int_equal(ep.snd_una, una);
			}
			/* we never acknowledge beyond what we sent */
			assert_true((int32_t)(ep.snd_nxt - ep.snd_una) >= 0);
			if (o.actions & SAL_EP_A_SEND) {
				assert_int_equal(o.send_flags & ~(SAL_CTRL_SYN | SAL_CTRL_ACK |
					SAL_CTRL_FIN | SAL_CTRL_RST), 0);
				assert_int_equal(o.ackno, ep.rcv_nxt);
			}
			/* a timer is armed only where a control packet is pending */
			if (o.actions & SAL_EP_A_TIMER_ARM)
				assert_true(st == SAL_EP_SYN_RCVD || st == SAL_EP_FIN_WAIT1 ||
					st == SAL_EP_CLOSING || st == SAL_EP_LAST_ACK);
			if (st == SAL_EP_CLOSED && before == SAL_EP_CLOSED)
				sal_ep_init(&ep, be32(77), (uint32_t)test_rng_next(&rng), our_nonce);
		}
	}
	/* every state was reached */
	assert_int_equal(seen, (1u << SAL_EP_NB_STATES) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_router_out),
		cmocka_unit_test(test_replay_handshake_direct),
		cmocka_unit_test(test_closed),
		cmocka_unit_test(test_syn_rcvd),
		cmocka_unit_test(test_established),
		cmocka_unit_test(test_passive_close),
		cmocka_unit_test(test_active_close),
		cmocka_unit_test(test_rx_from_pkt),
		cmocka_unit_test(test_names_and_bad_input),
		cmocka_unit_test(test_random_sequences),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
