/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_EDIT_H
#define SAL_EDIT_H

/**
 * @file
 * In-place router edits on accepted packets (the forwarding fast path).
 *
 * Designed for packets held in DPDK mbufs without depending on DPDK: the
 * frame is contiguous (one segment), starts at f->data with the IPv4
 * header at pkt->l3_off, and the caller says how many bytes it may write
 * before the frame (mbuf headroom, 128 bytes by default) and after it
 * (tailroom). An edit that grows the SAL header moves the short part: the
 * L2 + IPv4 + SAL headers toward the front into the headroom (about 100
 * bytes for a SYN), or, without headroom, the transport part toward the
 * tail. The mbuf adapter then does:
 *
 *     if (res.prepended) rte_pktmbuf_prepend(m, res.prepended);
 *     if (res.appended)  rte_pktmbuf_append(m, res.appended);
 *
 * Every edit either completes or leaves the frame and the view untouched
 * (all checks come first). Offsets in the view stay relative to the frame
 * start, which sal_edit_forward() may move (f->data is updated).
 *
 * Checksums: IPv4 header and TCP/UDP checksums are updated incrementally
 * (RFC 1624 eqn. 3, which for a valid starting checksum gives exactly the
 * full recomputation). This relies on the packet having passed sal_parse()
 * with its checksum checks (or NIC verification of the IPv4 one): an
 * incremental update keeps a corrupt packet corrupt instead of blessing it.
 * A UDP checksum of 0 (none sent) stays 0. Protocols other than TCP and UDP
 * have no known checksum position and their transport bytes are left
 * alone.
 *
 * Thread safety: reentrant; the caller owns the frame (one worker).
 */

#include <stdint.h>

#include "sal.h"
#include "sal_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A contiguous frame and the room around it. */
struct sal_frame {
	uint8_t *data;     /**< frame start (L2 header); moves on a prepend */
	uint32_t len;      /**< frame length in bytes */
	uint32_t headroom; /**< writable bytes before data */
	uint32_t tailroom; /**< writable bytes after data + len */
};

/** What an edit did to the frame size. */
struct sal_edit_res {
	uint16_t prepended; /**< bytes the frame start moved toward the front */
	uint16_t appended;  /**< bytes the frame grew at its tail */
};

/** Leave the TTL alone (e.g. the gateway's own re-encapsulation). */
#define SAL_FWD_F_KEEP_TTL (1u << 0)
/** Do not add or extend the SOURCE extension. */
#define SAL_FWD_F_NO_SOURCE (1u << 1)
/** Every forward flag. */
#define SAL_FWD_F_ALL (SAL_FWD_F_KEEP_TTL | SAL_FWD_F_NO_SOURCE)

/**
 * Forward a resolved connection request to a target, as the original
 * service router does:
 * - TTL: dropped as TTL_EXPIRED when <= 1, else decremented;
 * - SOURCE: without one, add [IP source, IP destination] after all other
 *   extensions (12 bytes; EXT_TOO_MANY if there are already 10); with one,
 *   append the pre-rewrite IP destination (4 bytes), dropping as
 *   SOURCE_LOOP if it is already listed and SOURCE_TOO_LONG past 20;
 * - IPv4 destination := target; IPv4 source and ID kept;
 * - shl, IPv4 total length, IPv4 checksum (incremental), SAL checksum
 *   (recomputed over the new header, at most 1020 bytes and only on this
 *   request path), TCP/UDP checksum (incremental: adding SOURCE changes
 *   neither the transport bytes nor the pseudo-header, but the new IPv4
 *   destination is in the pseudo-header; that is why the original's
 *   forwarded SYN carries a new TCP checksum).
 *
 * @param f        the frame; data/len/headroom/tailroom updated on success
 * @param pkt      its accepted view; updated to describe the new frame
 * @param new_dst  target IPv4 address, network order
 * @param flags    SAL_FWD_F_*
 * @param res      out: bytes to prepend/append on the mbuf (zero on failure)
 * @return SAL_DROP_NONE, or TTL_EXPIRED, SOURCE_LOOP, SOURCE_TOO_LONG,
 *   EXT_TOO_MANY, EDIT_TOO_LONG (shl over 255 words, IPv4 over 65535 bytes,
 *   or the IP end past the 16-bit offsets of the view), EDIT_NO_ROOM (neither headroom nor
 *   tailroom can take the growth), EDIT_BAD_ARG for unknown flags or a view
 *   that was not accepted. pkt->drop is set to the result. The caller's
 *   worker thread only.
 */
enum sal_drop_reason sal_edit_forward(struct sal_frame *f, struct sal_pkt *pkt,
	uint32_t new_dst, uint32_t flags, struct sal_edit_res *res);

/**
 * Decrement the IPv4 TTL with an incremental header checksum update
 * (transit forwarding by IP).
 * @return SAL_DROP_NONE, or SAL_DROP_TTL_EXPIRED (frame untouched) when the
 *   TTL is <= 1. The caller's worker thread only.
 */
enum sal_drop_reason sal_edit_dec_ttl(uint8_t *frame, const struct sal_pkt *pkt);

/**
 * Rewrite both IPv4 addresses (gateway mode, migration), updating the IPv4
 * checksum and the TCP/UDP checksum (pseudo-header) incrementally. Pass the
 * current value for an address that stays.
 * @param frame    frame start
 * @param pkt      its accepted view
 * @param new_src  network order
 * @param new_dst  network order
 * The caller's worker thread only.
 */
void sal_edit_set_ip_addrs(uint8_t *frame, const struct sal_pkt *pkt, uint32_t new_src,
	uint32_t new_dst);

/**
 * Rewrite the flowIDs of the base header (gateway mode), updating the SAL
 * checksum incrementally and the view. Pass the current value for a
 * flowID that stays. The transport checksum does not cover the SAL header.
 * @param frame       frame start
 * @param pkt         its accepted view; src_flowid/dst_flowid updated
 * @param src_flowid  network order
 * @param dst_flowid  network order
 * The caller's worker thread only.
 */
void sal_edit_set_flowids(uint8_t *frame, struct sal_pkt *pkt, uint32_t src_flowid,
	uint32_t dst_flowid);

/**
 * A gateway's relay of one packet in one pass: decrement the TTL, rewrite
 * both IPv4 addresses and both flowIDs, with one incremental update of
 * each checksum (IPv4, transport, SAL). The same bytes as
 * sal_edit_dec_ttl(), sal_edit_set_ip_addrs() and sal_edit_set_flowids()
 * one after the other, for less work per packet.
 * @param frame       frame start
 * @param pkt         its accepted view; src_flowid/dst_flowid updated
 * @param new_src     IPv4 source, network order
 * @param new_dst     IPv4 destination, network order
 * @param src_flowid  network order
 * @param dst_flowid  network order
 * @return SAL_DROP_NONE, or SAL_DROP_TTL_EXPIRED (frame and view untouched)
 *   when the TTL is <= 1. The caller's worker thread only.
 */
enum sal_drop_reason sal_edit_relay(uint8_t *frame, struct sal_pkt *pkt, uint32_t new_src,
	uint32_t new_dst, uint32_t src_flowid, uint32_t dst_flowid);

#ifdef __cplusplus
}
#endif

#endif /* SAL_EDIT_H */
