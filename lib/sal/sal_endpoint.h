/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_ENDPOINT_H
#define SAL_ENDPOINT_H

/**
 * @file
 * SAL endpoint state machine for flows the router terminates itself
 * (DEMUX rules, the `local` target): the passive side of the original
 * stack's SAL control protocol.
 *
 * sal_ep_step() is a pure function from (state, event) to (new state,
 * actions): it sends nothing, arms no timer and allocates nothing. The
 * caller owns timers (one per flow: retransmission or linger), packet
 * building (sal_ep_fill_msg() + sal_build()), randomness (the flowID, the
 * initial sequence number and the nonce given to sal_ep_init()) and the
 * transport carried in the same packets (TCP segments ride in the SAL
 * packets; SAL_EP_A_DELIVER hands them on).
 *
 * Sequence numbers are the original's: SYN, RSYN and FIN take one; every
 * CONTROL extension carries verno = the sender's next number and ackno =
 * the next number it expects; each side sends its own nonce, and a non-SYN
 * CONTROL with another nonce is invalid. A handshake as the captures show
 * it (c = client ISN, s = ours):
 *
 *     SYN      verno c              -> SYN_RCVD, send SYN+ACK verno s, ackno c+1
 *     ACK      verno c+1, ackno s+1 -> ESTABLISHED
 *     FIN      verno c+1            -> CLOSE_WAIT, send ACK ackno c+2
 *     (local close)                 -> LAST_ACK, send FIN verno s+1
 *     ACK      ackno s+2            -> CLOSED (free)
 *
 * Transport packets keep flowing after a SAL FIN (the original closes SAL
 * before TCP), so DELIVER is given in every state from ESTABLISHED until
 * the flow is gone. Migration (RSYN) is not supported yet: an RSYN is
 * dropped as SAL_EP_DROP_UNSUPPORTED.
 *
 * Thread safety: a struct sal_ep belongs to one thread at a time (the
 * worker owning the flow); the functions are reentrant.
 */

#include <stdint.h>

#include "sal.h"
#include "sal_build.h"
#include "sal_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Retransmissions of a SYN+ACK or FIN before the flow is reset. */
#define SAL_EP_MAX_RETRANS 5

/** Endpoint states (passive side only: the router never connects out). */
enum sal_ep_state {
	SAL_EP_CLOSED = 0,  /**< no flow: initialised and waiting for a SYN, or finished */
	SAL_EP_SYN_RCVD,    /**< SYN+ACK sent, waiting for its ACK */
	SAL_EP_ESTABLISHED, /**< handshake done */
	SAL_EP_CLOSE_WAIT,  /**< peer's FIN acknowledged, waiting for a local close */
	SAL_EP_LAST_ACK,    /**< our FIN sent after the peer's, waiting for its ACK */
	SAL_EP_FIN_WAIT1,   /**< our FIN sent first, not yet acknowledged */
	SAL_EP_FIN_WAIT2,   /**< our FIN acknowledged, waiting for the peer's */
	SAL_EP_CLOSING,     /**< FINs crossed, waiting for the ACK of ours */
	SAL_EP_TIME_WAIT,   /**< both FINs done; lingering to re-ACK a lost ACK */
	SAL_EP_NB_STATES
};

/** Events fed to sal_ep_step(). */
enum sal_ep_event {
	SAL_EP_EV_RX,      /**< a packet of this flow arrived (rx describes it) */
	SAL_EP_EV_TIMEOUT, /**< the timer the last actions armed fired */
	SAL_EP_EV_CLOSE,   /**< the local service closes the flow gracefully */
	SAL_EP_EV_ABORT,   /**< the local service aborts the flow (RST) */
};

/** Why a received packet was dropped (out->drop with SAL_EP_A_DROP). */
#define SAL_EP_DROPS(_) \
	_(BAD_FLOWID, "source flowID is not the peer's") \
	_(BAD_NONCE, "CONTROL nonce is not the peer's") \
	_(BAD_SEQ, "control sequence number out of order") \
	_(BAD_ACK, "acknowledges a control number never sent") \
	_(UNEXPECTED, "packet not valid in this state") \
	_(UNSUPPORTED, "RSYN (migration) is not supported")

enum sal_ep_drop {
	SAL_EP_DROP_NONE = 0,
#define SAL_EP_DROP_ENUM_(n, s) SAL_EP_DROP_##n,
	SAL_EP_DROPS(SAL_EP_DROP_ENUM_)
#undef SAL_EP_DROP_ENUM_
	SAL_EP_DROP_MAX
};

/** Action bits in struct sal_ep_out. */
#define SAL_EP_A_SEND (1u << 0)        /**< send a CONTROL packet (sal_ep_fill_msg()) */
#define SAL_EP_A_REPLY_RST (1u << 1)   /**< answer the packet with sal_build_rst() */
#define SAL_EP_A_DELIVER (1u << 2)     /**< hand the transport bytes to the service */
#define SAL_EP_A_TIMER_ARM (1u << 3)   /**< (re)arm the retransmission timer */
#define SAL_EP_A_TIMER_STOP (1u << 4)  /**< stop the timer */
#define SAL_EP_A_LINGER (1u << 5)      /**< arm the TIME_WAIT linger timer */
#define SAL_EP_A_CONNECTED (1u << 6)   /**< handshake complete */
#define SAL_EP_A_PEER_CLOSED (1u << 7) /**< the peer sent its FIN */
#define SAL_EP_A_RESET (1u << 8)       /**< flow reset (peer RST, retries exhausted) */
#define SAL_EP_A_FREE (1u << 9)        /**< flow over: the state may be freed */
#define SAL_EP_A_DROP (1u << 10)       /**< packet dropped; out->drop says why */

/** One endpoint; embed it in the flow entry. Fields are the caller's to read. */
struct sal_ep {
	uint32_t local_flowid;              /**< ours, network order */
	uint32_t peer_flowid;               /**< the peer's, network order */
	uint32_t snd_una;                   /**< oldest control number not acknowledged */
	uint32_t snd_nxt;                   /**< verno of our next control packet */
	uint32_t rcv_nxt;                   /**< next control number expected */
	uint8_t local_nonce[SAL_NONCE_LEN]; /**< ours, sent in every CONTROL */
	uint8_t peer_nonce[SAL_NONCE_LEN];  /**< learnt from the SYN */
	uint8_t state;                      /**< enum sal_ep_state */
	uint8_t retrans;                    /**< retransmissions of the pending packet */
};

/** A received packet as the state machine needs it. */
struct sal_ep_rx {
	uint32_t src_flowid;          /**< network order */
	uint32_t verno;               /**< host order; 0 without CONTROL */
	uint32_t ackno;               /**< host order; 0 without CONTROL */
	uint8_t flags;                /**< SAL_CTRL_*; 0 without CONTROL */
	uint8_t has_ctrl;             /**< CONTROL extension present */
	uint8_t has_data;             /**< transport bytes follow the SAL header */
	uint8_t nonce[SAL_NONCE_LEN]; /**< CONTROL nonce */
};

/** What the caller must do after a step. */
struct sal_ep_out {
	uint16_t actions;   /**< SAL_EP_A_* */
	uint8_t send_flags; /**< SAL_CTRL_* of the packet to send (SAL_EP_A_SEND) */
	uint8_t drop;       /**< enum sal_ep_drop (SAL_EP_A_DROP) */
	uint32_t verno;     /**< its verno, host order */
	uint32_t ackno;     /**< its ackno, host order */
};

/**
 * Prepare an endpoint for an incoming SYN: state CLOSED with our identity.
 * @param ep            out
 * @param local_flowid  our flowID for this flow, network order (non-zero)
 * @param isn           our initial control sequence number
 * @param nonce         our nonce (random, SAL_NONCE_LEN bytes)
 * Any thread.
 */
void sal_ep_init(struct sal_ep *ep, uint32_t local_flowid, uint32_t isn,
	const uint8_t nonce[SAL_NONCE_LEN]);

/**
 * Describe an accepted packet for sal_ep_step().
 * @return 0, or -EINVAL for a view that was not accepted. Any thread.
 */
int sal_ep_rx_from_pkt(const uint8_t *frame, const struct sal_pkt *pkt, struct sal_ep_rx *rx);

/**
 * Advance the state machine by one event.
 * @param ep   the endpoint (state updated)
 * @param ev   the event
 * @param rx   the packet for SAL_EP_EV_RX, else ignored (may be NULL)
 * @param out  out: actions for the caller
 * @return the new state. An event that makes no sense in a state (a
 *   timeout with no timer armed, SAL_EP_EV_RX with rx NULL) changes
 *   nothing and asks nothing. The owning thread only.
 */
enum sal_ep_state sal_ep_step(struct sal_ep *ep, enum sal_ep_event ev,
	const struct sal_ep_rx *rx, struct sal_ep_out *out);

/**
 * Fill the SAL part of the CONTROL packet a step asked for (SAL_EP_A_SEND):
 * flowIDs, protocol, one CONTROL extension with out's flags, numbers and
 * our nonce. The caller adds the IPv4 fields, a SOURCE extension (the
 * original's SYN+ACK echoes the request's with its own address appended)
 * and the transport bytes, then calls sal_build().
 * @param ep     the endpoint
 * @param out    the step's output
 * @param proto  SAL protocol field (the flow's transport, 6 or 17)
 * @param m      out: initialised with sal_msg_init() and filled
 * Any thread.
 */
void sal_ep_fill_msg(const struct sal_ep *ep, const struct sal_ep_out *out, uint8_t proto,
	struct sal_msg *m);

/** Name of a state ("ESTABLISHED"), "UNKNOWN" out of range. Any thread. */
const char *sal_ep_state_name(enum sal_ep_state s);

/** Name of an endpoint drop reason ("BAD_NONCE"), "UNKNOWN" out of range. Any thread. */
const char *sal_ep_drop_name(enum sal_ep_drop d);

#ifdef __cplusplus
}
#endif

#endif /* SAL_ENDPOINT_H */
