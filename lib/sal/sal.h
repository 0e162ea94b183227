/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef SAL_H
#define SAL_H

/**
 * @file
 * Serval Service Access Layer (SAL): wire format, identifiers, drop reasons.
 *
 * lib/sal is pure wire logic on byte buffers: no DPDK, no allocation, no
 * threads, no global state. Every function here is reentrant and may be
 * called from any thread (workers, control lcore, tests, fuzzers).
 *
 * The layout follows the original Serval stack exactly (docs/sal-wire.md):
 * a 12-byte base header, then extensions (each but PAD with a 2-byte generic
 * header: type in the high nibble of byte 0, whole length in byte 1) until
 * shl * 4 bytes, then the transport header, if any. Multi-byte wire fields
 * are in network byte order. The structs below are packed (alignment 1):
 * the SAL header sits at an arbitrary offset in a frame (2 mod 4 after a
 * 14-byte Ethernet header), so they may be overlaid on any byte.
 *
 * Related headers: sal_parse.h (validation into a parsed view),
 * sal_build.h (emit headers, RST replies), sal_edit.h (in-place router
 * edits), sal_endpoint.h (endpoint state machine).
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** IP protocol number the original Serval hosts use for SAL (now AGGFRAG at IANA). */
#define SAL_IPPROTO_DEFAULT 144
/** EtherType of SAL directly over Ethernet in the original stack (not routed here). */
#define SAL_ETHERTYPE 0x0809

/** Transport protocols named by the SAL protocol field. */
#define SAL_PROTO_TCP 6
#define SAL_PROTO_UDP 17

/** SAL base header length in bytes. */
#define SAL_BASE_LEN 12
/** Smallest valid shl (32-bit words): the base header alone. */
#define SAL_SHL_MIN 3
/** Largest shl the 8-bit field can carry: 1020 bytes of SAL header. */
#define SAL_SHL_MAX 255
/** The original receiver walks at most this many extensions, PAD included. */
#define SAL_MAX_EXT 10
/** At most two SERVICE extensions (destination, then the sender's own). */
#define SAL_MAX_SERVICE_EXT 2

/** Extension types: the high 4 bits of the first extension byte. */
enum sal_ext_type {
	SAL_EXT_PAD = 0,     /**< one byte, no length byte */
	SAL_EXT_CONTROL = 1, /**< exactly 20 bytes */
	SAL_EXT_SERVICE = 2, /**< exactly 36 bytes */
	SAL_EXT_ADDRESS = 3, /**< 12 + 4n bytes (parsed, never emitted by Serval hosts) */
	SAL_EXT_SOURCE = 4,  /**< 4 + 4n bytes, n = 2..20 */
};
/** Number of known extension types; 5..15 are rejected. */
#define SAL_EXT_NB_TYPES 5

/** Extension type from the first extension byte. */
#define SAL_EXT_TYPE(byte0) ((uint8_t)(byte0) >> 4)
/** First extension byte for a type (reserved low nibble zero). */
#define SAL_EXT_BYTE0(type) ((uint8_t)((type) << 4))

/** Fixed extension sizes and SOURCE limits. */
#define SAL_CONTROL_EXT_LEN 20
#define SAL_SERVICE_EXT_LEN 36
#define SAL_ADDRESS_EXT_MIN_LEN 12
#define SAL_SOURCE_EXT_HDR_LEN 4
#define SAL_SOURCE_MIN_ADDRS 2
#define SAL_SOURCE_MAX_ADDRS 20
/** Addresses an ADDRESS extension can hold at most (length byte <= 255). */
#define SAL_ADDRESS_MAX_ADDRS ((255 - SAL_ADDRESS_EXT_MIN_LEN) / 4)
/** Length of a SOURCE extension listing n addresses. */
#define SAL_SOURCE_EXT_LEN(n) (SAL_SOURCE_EXT_HDR_LEN + 4 * (n))

/** CONTROL flag bits (byte 2 of the CONTROL extension), MSB first. */
#define SAL_CTRL_SYN 0x80
#define SAL_CTRL_RSYN 0x40
#define SAL_CTRL_ACK 0x20
#define SAL_CTRL_NACK 0x10
#define SAL_CTRL_RST 0x08
#define SAL_CTRL_FIN 0x04
/** The low two flag bits are reserved; receivers ignore them. */
#define SAL_CTRL_RESERVED 0x03

/** Size of the handshake nonce in the CONTROL extension. */
#define SAL_NONCE_LEN 8

/**
 * serviceID: 256 bits, compared bit by bit from the MSB of byte 0.
 */
struct sal_service_id {
	uint8_t b[32];
};

/**
 * flowID: 32 bits chosen by each endpoint for its own end of a flow, unique
 * only on that endpoint; 0 means "not yet known". lib/sal carries flowIDs as
 * a plain uint32_t holding the wire bytes (network byte order), so they can
 * be compared and hashed without conversion.
 */
struct sal_flow_id {
	uint32_t v; /**< network byte order */
};

/** SAL base header (12 bytes). */
struct sal_hdr {
	uint32_t src_flowid; /**< sender's flowID, network order */
	uint32_t dst_flowid; /**< receiver's flowID (0 in a connection request) */
	uint8_t shl;         /**< header length in 32-bit words, extensions included */
	uint8_t protocol;    /**< transport protocol that follows (6, 17) */
	uint16_t check;      /**< Internet checksum over shl * 4 bytes, no pseudo-header */
} __attribute__((packed));

/** Generic extension header (every extension but PAD). */
struct sal_ext_hdr {
	uint8_t type_res; /**< type << 4 | reserved nibble */
	uint8_t length;   /**< whole extension in bytes, this header included */
} __attribute__((packed));

/** PAD extension: a single byte. */
struct sal_pad_ext {
	uint8_t type_res;
} __attribute__((packed));

/** CONTROL extension (20 bytes). */
struct sal_control_ext {
	uint8_t type_res;
	uint8_t length;
	uint8_t flags;                 /**< SAL_CTRL_* */
	uint8_t res;
	uint32_t verno;                /**< SAL control sequence number, network order */
	uint32_t ackno;                /**< acknowledged verno, network order */
	uint8_t nonce[SAL_NONCE_LEN];  /**< handshake nonce, proves a later RSYN */
} __attribute__((packed));

/** SERVICE extension (36 bytes). */
struct sal_service_ext {
	uint8_t type_res;
	uint8_t length;
	uint16_t res;
	struct sal_service_id srvid;
} __attribute__((packed));

/** ADDRESS extension (12 + 4n bytes). */
struct sal_address_ext {
	uint8_t type_res;
	uint8_t length;
	uint16_t res;
	uint32_t verno;
	uint32_t ackno;
	uint32_t addr[]; /**< IPv4 addresses, network order */
} __attribute__((packed));

/** SOURCE extension (4 + 4n bytes, n = 2..20): the path a request took. */
struct sal_source_ext {
	uint8_t type_res;
	uint8_t length;
	uint16_t res;
	uint32_t addr[]; /**< IPv4 addresses, network order, oldest first */
} __attribute__((packed));

_Static_assert(sizeof(struct sal_service_id) == 32, "serviceID is 256 bits");
_Static_assert(sizeof(struct sal_flow_id) == 4, "flowID is 32 bits");
_Static_assert(sizeof(struct sal_hdr) == SAL_BASE_LEN, "SAL base header is 12 bytes");
_Static_assert(sizeof(struct sal_ext_hdr) == 2, "generic extension header is 2 bytes");
_Static_assert(sizeof(struct sal_pad_ext) == 1, "PAD is 1 byte");
_Static_assert(sizeof(struct sal_control_ext) == SAL_CONTROL_EXT_LEN, "CONTROL is 20 bytes");
_Static_assert(sizeof(struct sal_service_ext) == SAL_SERVICE_EXT_LEN, "SERVICE is 36 bytes");
_Static_assert(sizeof(struct sal_address_ext) == SAL_ADDRESS_EXT_MIN_LEN,
	"ADDRESS fixed part is 12 bytes");
_Static_assert(sizeof(struct sal_source_ext) == SAL_SOURCE_EXT_HDR_LEN,
	"SOURCE fixed part is 4 bytes");

/**
 * Drop reasons: one X-macro list yields the enum and the names. Each reason
 * has exactly one cause, so a counter per reason says what went wrong.
 * sal_parse() stops at the first failing check (IP, then the SAL base
 * header and its checksum, then each extension in wire order, then the
 * transport header); TTL_EXPIRED, SOURCE_LOOP and EDIT_* come from the
 * sal_edit.h functions only, L4_BAD_CSUM only when asked for.
 */
#define SAL_DROP_REASONS(_) \
	_(IP_TRUNCATED, "IPv4 header or packet shorter than its length fields") \
	_(IP_BAD_VERSION, "IP version is not 4") \
	_(IP_BAD_IHL, "IPv4 IHL below 5 words") \
	_(IP_BAD_TOTLEN, "IPv4 total length below the header length") \
	_(IP_BAD_CSUM, "IPv4 header checksum wrong") \
	_(NOT_SAL, "IP protocol is not the configured SAL protocol") \
	_(IP_FRAGMENT, "IPv4 fragment (SAL packets are never fragmented)") \
	_(SAL_TRUNCATED, "IP payload shorter than the 12-byte SAL base header") \
	_(SHL_TOO_SMALL, "SAL shl below 3 words") \
	_(SHL_PAST_PACKET, "SAL shl runs past the IP payload") \
	_(SAL_BAD_CSUM, "SAL header checksum wrong") \
	_(EXT_TOO_MANY, "more than 10 SAL extensions") \
	_(EXT_UNKNOWN, "unknown SAL extension type (5..15)") \
	_(EXT_LEFTOVER, "byte left inside shl that holds no extension") \
	_(EXT_BAD_LEN, "SAL extension length does not fit its type") \
	_(EXT_PAST_SHL, "SAL extension runs past shl") \
	_(EXT_DUP_CONTROL, "more than one CONTROL extension") \
	_(EXT_TOO_MANY_SERVICE, "more than two SERVICE extensions") \
	_(EXT_DUP_SOURCE, "more than one SOURCE extension") \
	_(SOURCE_TOO_LONG, "SOURCE list longer than 20 addresses") \
	_(L4_BAD_HDR, "transport header shorter than its fixed part or bad TCP offset") \
	_(L4_BAD_CSUM, "TCP/UDP checksum wrong") \
	_(TTL_EXPIRED, "IPv4 TTL expired in transit") \
	_(SOURCE_LOOP, "address already listed in SOURCE (forwarding loop)") \
	_(EDIT_TOO_LONG, "edited packet would exceed shl 255 or IP length 65535") \
	_(EDIT_NO_ROOM, "no headroom or tailroom for the grown SAL header") \
	_(EDIT_BAD_ARG, "edit asked of a packet not accepted, or unknown edit flags")

/** Drop reason codes; 0 (SAL_DROP_NONE) means accepted. */
enum sal_drop_reason {
	SAL_DROP_NONE = 0,
#define SAL_DROP_ENUM_(n, s) SAL_DROP_##n,
	SAL_DROP_REASONS(SAL_DROP_ENUM_)
#undef SAL_DROP_ENUM_
	SAL_DROP_MAX /**< number of codes, SAL_DROP_NONE included */
};

/**
 * Human-readable description of a drop reason.
 *
 * @param r  a code; SAL_DROP_NONE gives "accepted"
 * @return a static string; "unknown drop reason" for codes >= SAL_DROP_MAX.
 *   Any thread.
 */
const char *sal_drop_reason_str(enum sal_drop_reason r);

/**
 * Short symbolic name of a drop reason ("EXT_BAD_LEN"), for counters and
 * JSON keys.
 *
 * @return a static string; "NONE" for SAL_DROP_NONE, "UNKNOWN" past the end.
 *   Any thread.
 */
const char *sal_drop_reason_name(enum sal_drop_reason r);

/** Buffer size for sal_service_id_format() with a prefix: 64 digits, "/256", NUL. */
#define SAL_SERVICE_ID_STRLEN 69
/** Suggested size of the error buffer given to sal_service_id_parse(). */
#define SAL_ERRLEN 128

/**
 * Parse a serviceID in text form.
 *
 * Accepted forms: 1..64 hex digits (either case), first byte first, missing
 * trailing digits zero ("4001" is 40 01 00 ... 00), optionally followed by
 * "/BITS" with BITS a decimal number 0..256. Nothing else: no "0x", no
 * spaces, no sign. Without "/BITS" the prefix length is 256.
 * Bits set beyond the prefix length are rejected rather than masked: a
 * prefix such as "00004001/16" is almost certainly a typo, and silently
 * masking it would route a different set of services than the operator
 * wrote.
 *
 * @param s            NUL-terminated text
 * @param id           out: the serviceID (zero-filled past the digits)
 * @param prefix_bits  out: the prefix length (256 without "/BITS"); may be
 *                     NULL, and then "/BITS" is rejected
 * @param err          out: on failure a one-line reason naming the input;
 *                     may be NULL
 * @param errlen       size of err
 * @return 0, or -EINVAL with err filled. Any thread; prints nothing.
 */
int sal_service_id_parse(const char *s, struct sal_service_id *id,
	uint16_t *prefix_bits, char *err, size_t errlen);

/**
 * Format a serviceID as 64 lower-case hex digits, optionally "/BITS".
 *
 * @param id           the serviceID
 * @param prefix_bits  0..256 to append "/BITS", or -1 for none
 * @param buf          out: NUL-terminated text
 * @param len          size of buf (SAL_SERVICE_ID_STRLEN is always enough)
 * @return the string length, -EINVAL for a prefix outside -1..256 or NULL
 *   arguments, -ENOSPC if buf is too small (buf then holds ""). Any thread.
 */
int sal_service_id_format(const struct sal_service_id *id, int prefix_bits,
	char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SAL_H */
