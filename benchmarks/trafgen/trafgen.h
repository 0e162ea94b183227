/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#ifndef TRAFGEN_H
#define TRAFGEN_H

/**
 * @file
 * SAL traffic sets for benchmarks: a deterministic generator of Ethernet
 * frames carrying IPv4 + SAL, built with lib/sal's sal_build().
 *
 * The generator holds a model of the world a service router sees: a
 * service map (serviceID prefixes and what each rule does), the router's
 * ports and neighbours, a client network with many addresses (so RSS, which
 * hashes only the IPv4 addresses of protocol 144, spreads them), and a set
 * of flows. Each call to tg_next() draws one packet: first its kind by
 * weight (enum tg_kind), then a flow, then a size. Everything comes from
 * one seeded PRNG, so the same configuration and seed give the same bytes.
 *
 * Gateway-mode flows cannot be made up offline: their router flowIDs are
 * chosen by the router. They come from a flow map (struct tg_gwflow, file
 * format in tg_gwmap_load()) that `ssr-blast --handshake` writes after
 * running the handshakes through a live router.
 *
 * No DPDK, no global state. A struct tg, struct tg_svcmap or pcap handle is
 * used by one thread at a time; different handles are independent.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sal.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Packet kinds: name, text name, description. "Transit" kinds are
 * addressed past the router (it forwards them by IP, as after a
 * resolve-mode handshake); the others are addressed to a router address.
 */
#define TG_KINDS(_) \
	_(SYN, "syn", "connection request to the router, serviceID under a rule") \
	_(MISS, "miss", "connection request whose serviceID matches no rule") \
	_(ACK, "ack", "handshake completion: client ACK to the instance (transit)") \
	_(DATA_C2S, "data-c2s", "data, client to instance (transit)") \
	_(DATA_S2C, "data-s2c", "data, instance to client (transit)") \
	_(RSYN, "rsyn", "migration RSYN from a new client address to the instance (transit)") \
	_(GW_DATA_C2S, "gw-data-c2s", "gateway flow data, client to the router") \
	_(GW_DATA_S2C, "gw-data-s2c", "gateway flow data, instance to the router") \
	_(GW_RSYN, "gw-rsyn", "gateway flow migration: RSYN from a new client address")

/** Kind of a generated packet. */
enum tg_kind {
#define TG_KIND_ENUM_(n, s, d) TG_KIND_##n,
	TG_KINDS(TG_KIND_ENUM_)
#undef TG_KIND_ENUM_
	TG_KIND_MAX
};

/** Text name of a kind ("data-c2s"), "?" past the end. Any thread. */
const char *tg_kind_name(enum tg_kind k);

/** Description of a kind. Any thread. */
const char *tg_kind_desc(enum tg_kind k);

/** Kind from its text name. @return the kind, or -1. Any thread. */
int tg_kind_from_name(const char *s);

/** What a rule of the service map does (mirrors the router's actions). */
enum tg_rule_kind {
	TG_RULE_RESOLVE, /**< forward, resolve mode */
	TG_RULE_GATEWAY, /**< forward, gateway mode */
	TG_RULE_LOCAL,   /**< terminated at the router */
	TG_RULE_DELAY,   /**< held until a forward rule appears */
	TG_RULE_DROP,    /**< dropped */
	TG_RULE_KIND_MAX
};

/** Bit of a rule kind in tg_conf.syn_rules. */
#define TG_RULE_BIT(k) (1u << (k))
/** Every rule kind. */
#define TG_RULE_ALL ((1u << TG_RULE_KIND_MAX) - 1)

/** Text name of a rule kind ("resolve"). Any thread. */
const char *tg_rule_kind_name(enum tg_rule_kind k);

/* ------------------------------------------------------------------ PRNG */

/** xoshiro256** state; seed with tg_rng_seed(). */
struct tg_rng {
	uint64_t s[4];
};

/** Seed a PRNG (splitmix64 expansion; any seed, 0 included). Any thread. */
void tg_rng_seed(struct tg_rng *r, uint64_t seed);

/** Next 64 random bits. */
uint64_t tg_rng_next(struct tg_rng *r);

/** Uniform in [0, n); 0 when n is 0. */
uint32_t tg_rng_below(struct tg_rng *r, uint32_t n);

/* ----------------------------------------------------------- service map */

/** A target of a forward rule. */
struct tg_target {
	uint32_t addr;     /**< IPv4, network order */
	uint16_t weight;   /**< share within its priority set */
	uint16_t priority; /**< the highest set with a weight > 0 is used */
};

/** One rule of the service map. */
struct tg_rule {
	struct sal_service_id id; /**< bits past @p bits are zero */
	uint16_t bits;            /**< prefix length 0..256 */
	uint8_t kind;             /**< enum tg_rule_kind */
	uint32_t n_targets;       /**< forward rules: >= 1 */
	struct tg_target *targets; /**< owned by the map */
};

struct tg_svcmap;

/**
 * Create an empty service map. @return the map, or NULL with errno ENOMEM.
 */
struct tg_svcmap *tg_svcmap_create(void);

/** Free a map. NULL is a no-op. */
void tg_svcmap_free(struct tg_svcmap *m);

/**
 * Add a rule. The map copies @p targets.
 * @return the rule's index, or -EINVAL (bits > 256, bits set past the
 *   prefix, a forward rule without a target with weight > 0, unknown kind),
 *   -EEXIST (the same prefix again), -ENOMEM.
 */
int tg_svcmap_add(struct tg_svcmap *m, const struct sal_service_id *id, uint16_t bits,
	enum tg_rule_kind kind, const struct tg_target *targets, uint32_t n_targets);

/** Number of rules. */
uint32_t tg_svcmap_count(const struct tg_svcmap *m);

/** Rule @p i (i < count), or NULL. */
const struct tg_rule *tg_svcmap_rule(const struct tg_svcmap *m, uint32_t i);

/**
 * Longest-prefix match, as the router's service table does.
 * @return the matching rule's index, or -1 for no match.
 */
int tg_svcmap_lookup(const struct tg_svcmap *m, const struct sal_service_id *id);

/**
 * Draw a serviceID whose longest match is rule @p rule (random bits past
 * its prefix; rejected while a longer prefix inside it would win).
 * @return 0, or -ENOENT when 64 draws all fell under longer prefixes (the
 *   rule is (nearly) shadowed), -EINVAL for a bad index.
 */
int tg_svcmap_draw_hit(const struct tg_svcmap *m, uint32_t rule, struct tg_rng *r,
	struct sal_service_id *out);

/**
 * Draw a serviceID that matches no rule: half the draws are near misses (a
 * rule's prefix with one bit flipped), half uniform.
 * @return 0, or -ENOENT when 128 draws all matched (e.g. a 0/0 rule).
 */
int tg_svcmap_draw_miss(const struct tg_svcmap *m, struct tg_rng *r,
	struct sal_service_id *out);

/* -------------------------------------------------------------- topology */

/** Most router ports the generator models. */
#define TG_MAX_PORTS 8

/** A router port. */
struct tg_port {
	uint32_t addr;   /**< router address, network order */
	uint32_t mask;   /**< subnet mask, network order */
	uint8_t mac[6];  /**< L2 destination of frames sent to this port */
};

/** A static neighbour of the router (L2 source of its frames). */
struct tg_neigh {
	uint32_t ip;     /**< network order */
	uint8_t mac[6];
};

/** The router as the traffic sees it. */
struct tg_topo {
	uint32_t n_ports;                  /**< 1..TG_MAX_PORTS */
	struct tg_port port[TG_MAX_PORTS];
	bool has_gateway;
	uint32_t gateway;                  /**< network order */
	uint32_t n_neigh;
	const struct tg_neigh *neigh;      /**< not copied: keep it alive */
	uint8_t default_mac[6];            /**< L2 source without a neighbour entry */
	uint8_t sal_proto;                 /**< IP protocol of SAL (144) */
};

/**
 * Router port facing @p ip: the connected subnet holding it, else the port
 * holding the gateway. @return the port index, or -1 (unroutable).
 */
int tg_topo_facing(const struct tg_topo *t, uint32_t ip);

/* ------------------------------------------------------- gateway flow map */

/** One gateway-mode flow as a live router set it up. */
struct tg_gwflow {
	uint32_t client_ip;        /**< network order */
	uint32_t client_flowid;    /**< network order */
	uint32_t rfid;             /**< client-side router flowID (bit 0 clear), host order */
	uint32_t target;           /**< instance address, network order */
	uint32_t instance_flowid;  /**< network order */
	uint8_t nonce[SAL_NONCE_LEN]; /**< the client's handshake nonce */
};

/**
 * Load a flow map: text, '#' comments, one flow per line:
 * `client_ip client_flowid rfid target_ip instance_flowid nonce`, addresses
 * dotted, flowIDs as 8 hex digits (client/instance as on the wire, rfid as
 * a number), nonce 16 hex digits.
 * @param path  file
 * @param out   out: malloc'ed array (free()) ; NULL when empty
 * @param n     out: number of flows
 * @param err   out: "file:line: reason" on failure (may be NULL)
 * @return 0, -EINVAL (syntax; err says where), -errno from fopen, -ENOMEM.
 */
int tg_gwmap_load(const char *path, struct tg_gwflow **out, uint32_t *n, char *err,
	size_t errlen);

/** Write one flow-map line for @p f to @p fp. @return 0 or -EIO. */
int tg_gwmap_write(FILE *fp, const struct tg_gwflow *f);

/* -------------------------------------------------------------- generator */

/** Most distinct entries in a size list. */
#define TG_MAX_SIZES 16

/** Frame sizes to draw from (wire sizes: Ethernet FCS included). */
struct tg_sizes {
	uint32_t n;                   /**< 0: uniform in [lo, hi] */
	uint16_t size[TG_MAX_SIZES];  /**< 64..9018 */
	uint16_t weight[TG_MAX_SIZES];
	uint16_t lo, hi;              /**< n == 0: uniform range */
};

/**
 * Parse a size spec: "64", "64,128,1518" (equal weights), "64:7,570:4,1518"
 * (weights), "64-1518" (uniform) or "imix" (64:7,570:4,1518:1).
 * @return 0, or -EINVAL (sizes outside 64..9018, bad syntax, too many).
 */
int tg_sizes_parse(const char *s, struct tg_sizes *out);

/** Generator parameters; start from tg_conf_init(). */
struct tg_conf {
	uint64_t seed;
	uint32_t n_flows;      /**< resolve-world flows (>= 1) */
	uint32_t n_clients;    /**< distinct client addresses (>= 1) */
	uint32_t client_net;   /**< network order */
	uint8_t client_bits;   /**< prefix length of the client network, 1..30 */
	uint8_t transport;     /**< SAL_PROTO_TCP or SAL_PROTO_UDP */
	uint32_t syn_rules;    /**< TG_RULE_BIT()s: rules SYN packets target */
	uint32_t weight[TG_KIND_MAX]; /**< relative frequency of each kind */
	struct tg_sizes sizes;
	const struct tg_svcmap *map; /**< needed for SYN/MISS/ACK/DATA/RSYN */
	const struct tg_topo *topo;  /**< required */
	const struct tg_gwflow *gw;  /**< needed for the GW_* kinds; not copied */
	uint32_t n_gw;
	bool sequential;       /**< take flows in order (0, 1, ...) instead of at
	                        *   random: n packets of one kind over n flows
	                        *   then cover each flow once */
};

/**
 * Defaults: seed 1, 4096 flows, 1024 clients in 100.64.0.0/10, TCP, SYNs to
 * every rule kind, all weights 0, sizes "64".
 */
void tg_conf_init(struct tg_conf *c);

/** What tg_next() produced. */
struct tg_meta {
	uint8_t kind;     /**< enum tg_kind */
	uint8_t port;     /**< router port the frame enters (topology index) */
	int32_t rule;     /**< SYN: the rule the serviceID falls under; else -1 */
	uint32_t flow;    /**< flow index (gateway kinds: index in the map) */
	uint32_t len;     /**< frame length written (no FCS) */
};

struct tg;

/**
 * Create a generator. Flows are drawn here (in a fixed order from the
 * seed).
 * @return the generator, or NULL with errno: EINVAL (no kind with a weight,
 *   a kind whose inputs are missing: no map, no rule of the SYN kinds, no
 *   forward rule with targets for transit kinds, no gateway flows for GW_*,
 *   a client network too small, an unroutable client or target, more
 *   clients than addresses), ENOENT (no serviceID can miss every rule),
 *   ENOMEM. A message saying which is available from tg_last_error().
 */
struct tg *tg_create(const struct tg_conf *c);

/** Reason for the last tg_create() failure in this thread ("" if none). */
const char *tg_last_error(void);

/** Free a generator. NULL is a no-op. */
void tg_free(struct tg *g);

/** Largest frame tg_next() writes (9018-byte jumbo without FCS, rounded). */
#define TG_FRAME_MAX 9216

/**
 * Write the next frame (Ethernet, no FCS) into @p buf.
 * @param cap  bytes at buf (TG_FRAME_MAX always suffices)
 * @return the frame length, or -ENOSPC (cap too small; the draw is
 *   consumed). The sequence depends only on the configuration and seed.
 */
int tg_next(struct tg *g, uint8_t *buf, uint32_t cap, struct tg_meta *meta);

/**
 * After the last tg_next(): the RSYNs that move every migrated gateway flow
 * back to its first address, so a looped replay stays consistent. Call
 * until it returns 0.
 * @return the frame length, 0 when none is left, or -ENOSPC.
 */
int tg_finish(struct tg *g, uint8_t *buf, uint32_t cap, struct tg_meta *meta);

/* ------------------------------------------------------------------ pcap */

/** A pcap file being written (classic format, microseconds, Ethernet). */
struct tg_pcap_writer;

/**
 * Create @p path (truncate) and write the file header. The byte order is
 * little-endian regardless of the host, so files are identical everywhere.
 * @return the writer, or NULL with errno.
 */
struct tg_pcap_writer *tg_pcap_open(const char *path);

/**
 * Append a frame stamped @p ts_us microseconds after the epoch.
 * @return 0 or -EIO.
 */
int tg_pcap_write(struct tg_pcap_writer *w, const uint8_t *frame, uint32_t len,
	uint64_t ts_us);

/** Flush and close. @return 0, or -EIO if any write failed. NULL: 0. */
int tg_pcap_close(struct tg_pcap_writer *w);

/** One frame read from a pcap file. */
struct tg_frame {
	uint8_t *data;
	uint32_t len;
};

/** A whole pcap file in memory. */
struct tg_capture {
	struct tg_frame *frames;
	uint32_t n;
	uint8_t *store; /**< every frame's bytes, back to back */
};

/**
 * Load a classic pcap file (either byte order, micro- or nanosecond stamps,
 * link type Ethernet). Truncated records (caplen < len) are refused.
 * @return 0, -EINVAL (bad magic, link type, record), -errno, -ENOMEM.
 */
int tg_pcap_load(const char *path, struct tg_capture *out);

/** Free a loaded capture. */
void tg_capture_free(struct tg_capture *c);

#ifdef __cplusplus
}
#endif

#endif /* TRAFGEN_H */
