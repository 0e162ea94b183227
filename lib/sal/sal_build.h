/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_BUILD_H
#define SAL_BUILD_H

/**
 * @file
 * Emit IPv4 + SAL (+ transport) packets from a value description, decode an
 * accepted packet back into one, and build the SAL RST reply.
 *
 * A struct sal_msg describes every byte of a packet the parser accepts
 * (reserved fields and PAD included), so build(decode(parse(bytes))) gives
 * the bytes back, and the builder refuses (-EINVAL) exactly what the parser
 * would reject. Used by tests, by the router's own SAL endpoint and by
 * health checks; not on the forwarding fast path (see sal_edit.h).
 *
 * Thread safety: every function is reentrant; any thread.
 */

#include <stdint.h>

#include "sal.h"
#include "sal_parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One extension as values. */
struct sal_ext_spec {
	uint8_t type;      /**< enum sal_ext_type */
	uint8_t res4;      /**< reserved low nibble of byte 0 (send 0) */
	uint16_t res;      /**< reserved bytes after the generic header (send 0):
	                    *   CONTROL byte 3 in the low 8 bits; SERVICE,
	                    *   ADDRESS, SOURCE bytes 2..3 (host order) */
	union {
		struct {
			uint8_t flags;  /**< SAL_CTRL_* */
			uint32_t verno; /**< host order */
			uint32_t ackno; /**< host order */
			uint8_t nonce[SAL_NONCE_LEN];
		} control;
		struct sal_service_id service;
		struct {
			uint32_t verno;   /**< host order */
			uint32_t ackno;   /**< host order */
			uint8_t n_addr;   /**< 0..SAL_ADDRESS_MAX_ADDRS */
			const void *addr; /**< n_addr IPv4 addresses, network order */
		} address;
		struct {
			uint8_t n_addr;   /**< SAL_SOURCE_MIN_ADDRS..SAL_SOURCE_MAX_ADDRS */
			const void *addr; /**< n_addr IPv4 addresses, network order */
		} source;
	} u;
};

/** Recompute nothing in the transport bytes: copy l4 exactly as given. */
#define SAL_BUILD_F_RAW_L4 (1u << 0)
/** Every build flag. */
#define SAL_BUILD_F_ALL SAL_BUILD_F_RAW_L4

/** A whole packet (from the IPv4 header on) as values. */
struct sal_msg {
	/* IPv4 */
	uint32_t ip_src;        /**< network order */
	uint32_t ip_dst;        /**< network order */
	uint16_t ip_id;         /**< host order */
	uint16_t ip_frag;       /**< flags and offset, host order; only DF (0x4000)
	                         *   and the reserved bit may be set */
	uint8_t ip_tos;
	uint8_t ip_ttl;
	uint8_t ip_proto;       /**< SAL's IP protocol number (default 144) */
	uint8_t ip_opt_len;     /**< IPv4 option bytes: 0..40, a multiple of 4 */
	const uint8_t *ip_opt;  /**< the option bytes, copied verbatim */
	/* SAL */
	uint32_t src_flowid;    /**< network order */
	uint32_t dst_flowid;    /**< network order */
	uint8_t proto;          /**< transport: SAL_PROTO_TCP, SAL_PROTO_UDP, ... */
	uint8_t n_ext;          /**< 0..SAL_MAX_EXT */
	struct sal_ext_spec ext[SAL_MAX_EXT]; /**< wire order */
	/* transport */
	const uint8_t *l4;      /**< transport header and payload; NULL if l4_len 0 */
	uint32_t l4_len;        /**< 0 for control-only packets (SAL FIN/ACK) */
	uint32_t flags;         /**< SAL_BUILD_F_* */
};

/**
 * Initialise a message: everything zero, TTL 64, IP protocol 144.
 * @param m  out. Any thread.
 */
void sal_msg_init(struct sal_msg *m);

/**
 * IPv4 total length the message would have.
 * @return the length, or -EINVAL when the message is invalid (see
 *   sal_build()). Any thread.
 */
int sal_build_len(const struct sal_msg *m);

/**
 * Emit a message: IPv4 header (IHL from the options, total length, header
 * checksum), SAL header (shl, checksum), transport bytes with their TCP/UDP
 * checksum recomputed over the IPv4 pseudo-header unless SAL_BUILD_F_RAW_L4
 * (UDP: a computed 0 is sent as 0xffff; other protocols are copied as is).
 * No L2 header: buf receives the IPv4 packet.
 *
 * @param m    the message
 * @param buf  out; must not overlap the bytes the message points to
 * @param cap  bytes writable at buf
 * @return bytes written (the IPv4 total length); -EINVAL for an invalid
 *   message (unknown flags or extension type, options not 0..40 in words,
 *   a fragment, more than 10 extensions, two CONTROL, three SERVICE, two
 *   SOURCE, SOURCE outside 2..20 or ADDRESS over 60 addresses, a NULL
 *   address list, a SAL header not a multiple of 4 bytes or over 1020, a
 *   packet over 65535 bytes, a transport header the parser would reject);
 *   -ENOSPC when cap is too small (buf untouched). Any thread.
 */
int sal_build(const struct sal_msg *m, uint8_t *buf, uint32_t cap);

/**
 * Decode an accepted packet into a message. Address lists, options and the
 * transport bytes point into frame (valid while the frame is); the message
 * keeps SAL_BUILD_F_RAW_L4 clear, so sal_build() recomputes checksums that
 * were valid and therefore reproduces the bytes.
 *
 * @param frame  the frame given to sal_parse()
 * @param pkt    its accepted view (pkt->drop == 0)
 * @param m      out
 * @return 0, or -EINVAL for a view that was not accepted. Any thread.
 */
int sal_msg_from_pkt(const uint8_t *frame, const struct sal_pkt *pkt, struct sal_msg *m);

/**
 * Build the SAL RST the original stack sends for a packet that matches no
 * flow: IPv4 from the packet's destination to its source, flowIDs swapped,
 * the packet's SAL protocol, one CONTROL extension with RST and the
 * packet's nonce; if the packet carried ACK, verno = its ackno, else ACK
 * with ackno = its verno + 1 for SYN + 1 for FIN. No transport header.
 *
 * @param frame   the offending frame
 * @param pkt     its accepted view
 * @param ttl     IPv4 TTL of the reply (64 in the original)
 * @param ip_id   IPv4 ID of the reply (host order)
 * @param buf     out: the IPv4 packet (52 bytes)
 * @param cap     bytes writable at buf
 * @return bytes written; -EINVAL when pkt was not accepted or is itself a
 *   RST (never answer a RST); -ENOSPC when cap < 52. Any thread.
 */
int sal_build_rst(const uint8_t *frame, const struct sal_pkt *pkt, uint8_t ttl,
	uint16_t ip_id, uint8_t *buf, uint32_t cap);

/** Length of the reply sal_build_rst() writes. */
#define SAL_RST_LEN (20 + SAL_BASE_LEN + SAL_CONTROL_EXT_LEN)

#ifdef __cplusplus
}
#endif

#endif /* SAL_BUILD_H */
