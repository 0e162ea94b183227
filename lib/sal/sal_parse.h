/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_PARSE_H
#define SAL_PARSE_H

/**
 * @file
 * Strict validation of IPv4 + SAL packets into a compact parsed view.
 *
 * The parser reads a contiguous frame (L2 header first, the IPv4 header at
 * a caller-given offset) and fills a struct sal_pkt of offsets and a few
 * decoded fields, without copying anything. The worker keeps one per
 * packet of a burst; the rewrite functions of sal_edit.h keep it current.
 *
 * Checksums (decided here, once):
 * - the IPv4 header checksum and the SAL checksum are verified by every
 *   parse: both are short (20..60 and 12..1020 bytes, 12 for data packets)
 *   and the edits update them incrementally, which is only correct on a
 *   valid starting value. SAL_PARSE_F_NO_IP_CSUM skips the IPv4 one when
 *   the NIC already checked it (RTE_MBUF_F_RX_IP_CKSUM_GOOD);
 *   SAL_PARSE_F_NO_SAL_CSUM exists for fuzzing and diagnostics.
 * - the TCP/UDP checksum covers the payload, so it is verified only on
 *   demand: SAL_PARSE_F_L4_CSUM, or sal_verify_l4_csum() later (the
 *   router's own endpoint does, a forwarding path need not).
 *
 * Thread safety: every function is reentrant; any thread.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Skip the IPv4 header checksum (the NIC verified it). */
#define SAL_PARSE_F_NO_IP_CSUM (1u << 0)
/** Skip the SAL header checksum (fuzzing, diagnostics). */
#define SAL_PARSE_F_NO_SAL_CSUM (1u << 1)
/** Also verify the TCP/UDP checksum with the IPv4 pseudo-header. */
#define SAL_PARSE_F_L4_CSUM (1u << 2)
/** Every parse flag. */
#define SAL_PARSE_F_ALL (SAL_PARSE_F_NO_IP_CSUM | SAL_PARSE_F_NO_SAL_CSUM | \
	SAL_PARSE_F_L4_CSUM)

/** Parser configuration; fill it with sal_parse_conf_init(). */
struct sal_parse_conf {
	uint8_t ip_proto; /**< IP protocol number carrying SAL (default 144) */
	uint8_t res[3];
	uint32_t flags;   /**< SAL_PARSE_F_* */
};

/**
 * Parsed view of one accepted packet. All offsets count bytes from the
 * frame start given to sal_parse(); an absent extension has offset 0 (no
 * extension can sit at 0: the IPv4 header comes first). Nothing here points
 * into the frame, so the view stays valid when the frame moves as long as
 * offsets are taken from the new start (sal_edit.h does this).
 */
struct sal_pkt {
	uint32_t src_flowid;  /**< base header src_flowid, network order */
	uint32_t dst_flowid;  /**< base header dst_flowid, network order */
	uint16_t l3_off;      /**< IPv4 header */
	uint16_t sal_off;     /**< SAL base header (l3_off + IHL * 4) */
	uint16_t l4_off;      /**< transport header = end of the SAL header */
	uint16_t l4_len;      /**< transport bytes up to the IP end; 0: none */
	uint16_t ip_len;      /**< IPv4 total length */
	uint16_t ctrl_off;    /**< CONTROL extension, 0 if none */
	uint16_t service_off[SAL_MAX_SERVICE_EXT]; /**< SERVICE extensions, wire order */
	uint16_t source_off;  /**< SOURCE extension, 0 if none */
	uint16_t ext_off[SAL_MAX_EXT]; /**< every extension (PAD too), wire order */
	uint8_t shl;          /**< SAL header length in words */
	uint8_t proto;        /**< SAL protocol field (transport) */
	uint8_t ctrl_flags;   /**< CONTROL flags (SAL_CTRL_*), 0 without CONTROL */
	uint8_t n_ext;        /**< number of extensions, PAD included */
	uint8_t n_service;    /**< SERVICE extensions: 0, 1 or 2 */
	uint8_t n_source;     /**< SOURCE addresses, 0 without SOURCE */
	uint8_t n_address;    /**< ADDRESS extensions */
	uint8_t drop;         /**< enum sal_drop_reason of the last parse/edit */
};

_Static_assert(sizeof(struct sal_pkt) <= 64, "parsed view fits one cache line");

/**
 * Fill a parser configuration.
 *
 * @param conf      out
 * @param ip_proto  IP protocol number for SAL: SAL_IPPROTO_DEFAULT (144)
 *                  or the operator's choice; 0, 255 (reserved) and 1, 6,
 *                  17 (ICMP, TCP, UDP, which would shadow plain traffic)
 *                  are refused
 * @param flags     SAL_PARSE_F_* bits
 * @return 0, or -EINVAL (NULL conf, refused protocol, unknown flags; conf
 *   is then untouched). Any thread.
 */
int sal_parse_conf_init(struct sal_parse_conf *conf, uint8_t ip_proto, uint32_t flags);

/**
 * Validate one packet and fill its parsed view.
 *
 * Checks, in order: IPv4 (length, version, IHL, total length, header
 * checksum, protocol, not a fragment), the SAL base header (length, shl,
 * checksum), every extension (the original receiver's rules exactly:
 * known type, fixed or well-formed length inside shl, at most 10
 * extensions, one CONTROL, two SERVICE, one SOURCE with 2..20 addresses,
 * nothing left over), then the transport header if bytes follow the SAL
 * header (TCP: 20 bytes and a data offset inside the packet; UDP: 8 bytes;
 * other protocols unchecked). Control-only packets (SAL FIN/ACK) carry
 * protocol 6 and no transport bytes at all: l4_len is then 0.
 * Bytes past the IPv4 total length (Ethernet padding) are ignored.
 *
 * @param conf       parser configuration (sal_parse_conf_init())
 * @param frame      frame start; read only
 * @param frame_len  bytes readable at frame
 * @param l3_off     offset of the IPv4 header in the frame
 * @param pkt        out: the view; pkt->drop set in every case, the other
 *                   fields meaningful only on acceptance
 * @return SAL_DROP_NONE (0) on acceptance, else the drop reason. A frame
 *   whose IP end lies past 65535 bytes from the frame start is refused as
 *   IP_BAD_TOTLEN (offsets are 16 bits). Any thread.
 */
enum sal_drop_reason sal_parse(const struct sal_parse_conf *conf,
	const uint8_t *frame, uint32_t frame_len, uint16_t l3_off,
	struct sal_pkt *pkt);

/**
 * Validate a burst: sal_parse() on each packet, without a call per packet.
 *
 * @param conf       parser configuration
 * @param frames     frame starts
 * @param frame_len  bytes readable at each frame
 * @param l3_off     IPv4 header offset in each frame
 * @param n          number of packets
 * @param pkts       out: one view per packet; pkts[i].drop is 0 when
 *                   packet i was accepted, else its drop reason
 * @return number of accepted packets. Any thread.
 */
uint32_t sal_parse_bulk(const struct sal_parse_conf *conf,
	const uint8_t *const frames[], const uint32_t frame_len[],
	const uint16_t l3_off[], uint32_t n, struct sal_pkt pkts[]);

/**
 * Verify the IPv4 header checksum of an accepted packet.
 * @return true when valid. Any thread.
 */
bool sal_verify_ip_csum(const uint8_t *frame, const struct sal_pkt *pkt);

/**
 * Verify the SAL header checksum of an accepted packet.
 * @return true when valid. Any thread.
 */
bool sal_verify_sal_csum(const uint8_t *frame, const struct sal_pkt *pkt);

/**
 * Verify the TCP/UDP checksum (IPv4 pseudo-header: addresses, protocol,
 * transport length, with the SAL header excluded) of an accepted packet.
 * A packet without transport bytes, a UDP checksum of 0 (none sent) and
 * protocols other than TCP and UDP pass.
 * @return true when valid or not applicable. Any thread.
 */
bool sal_verify_l4_csum(const uint8_t *frame, const struct sal_pkt *pkt);

/** true when the packet carries a CONTROL extension with SYN set. */
static inline bool
sal_pkt_is_syn(const struct sal_pkt *pkt)
{
	return (pkt->ctrl_flags & SAL_CTRL_SYN) != 0;
}

/** The i-th serviceID (0 = destination), or NULL. Alignment 1: safe anywhere. */
static inline const struct sal_service_id *
sal_pkt_service_id(const uint8_t *frame, const struct sal_pkt *pkt, unsigned int i)
{
	if (i >= pkt->n_service)
		return NULL;
	return (const struct sal_service_id *)(const void *)(frame + pkt->service_off[i] +
		offsetof(struct sal_service_ext, srvid));
}

/** Extension type of the i-th extension (i < pkt->n_ext). */
static inline enum sal_ext_type
sal_pkt_ext_type(const uint8_t *frame, const struct sal_pkt *pkt, unsigned int i)
{
	return (enum sal_ext_type)SAL_EXT_TYPE(frame[pkt->ext_off[i]]);
}

/** IPv4 source address, network order. */
static inline uint32_t
sal_pkt_ip_src(const uint8_t *frame, const struct sal_pkt *pkt)
{
	uint32_t a;

	memcpy(&a, frame + pkt->l3_off + 12, sizeof(a));
	return a;
}

/** IPv4 destination address, network order. */
static inline uint32_t
sal_pkt_ip_dst(const uint8_t *frame, const struct sal_pkt *pkt)
{
	uint32_t a;

	memcpy(&a, frame + pkt->l3_off + 16, sizeof(a));
	return a;
}

/** i-th SOURCE address (i < pkt->n_source), network order. */
static inline uint32_t
sal_pkt_source_addr(const uint8_t *frame, const struct sal_pkt *pkt, unsigned int i)
{
	uint32_t a;

	memcpy(&a, frame + pkt->source_off + SAL_SOURCE_EXT_HDR_LEN + 4 * i, sizeof(a));
	return a;
}

/** CONTROL verno in host order (0 without CONTROL). */
static inline uint32_t
sal_pkt_verno(const uint8_t *frame, const struct sal_pkt *pkt)
{
	const uint8_t *p = frame + pkt->ctrl_off + offsetof(struct sal_control_ext, verno);

	if (pkt->ctrl_off == 0)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** CONTROL ackno in host order (0 without CONTROL). */
static inline uint32_t
sal_pkt_ackno(const uint8_t *frame, const struct sal_pkt *pkt)
{
	const uint8_t *p = frame + pkt->ctrl_off + offsetof(struct sal_control_ext, ackno);

	if (pkt->ctrl_off == 0)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#ifdef __cplusplus
}
#endif

#endif /* SAL_PARSE_H */
