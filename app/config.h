/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The serval-sr service map: YAML text in, a validated struct ssr_config out.
 *
 * This is the only module that sees YAML. Everything in struct ssr_config has
 * been range-checked and cross-checked (duplicates, subnets, rule shapes), so
 * the rest of the application never re-validates it. IPv4 addresses are kept
 * in host byte order here; the data path converts once when it builds its own
 * tables. config/README.md documents the format and every default.
 *
 * The module has no DPDK dependency: it is unit-tested without an EAL and may
 * be called from any thread (it keeps no global state).
 */

#ifndef SSR_CONFIG_H
#define SSR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Highest DPDK port id a config may name (RTE_MAX_ETHPORTS - 1 in main.c). */
#define SSR_CFG_MAX_PORT_ID 31
/** Most ports a config may list. */
#define SSR_CFG_MAX_PORTS (SSR_CFG_MAX_PORT_ID + 1)
/** Most targets one rule may list. */
#define SSR_CFG_MAX_TARGETS 64
/** Most services a config may list: the service table's limit (services.c checks). */
#define SSR_CFG_MAX_SERVICES (1u << 22)
/** Most errors collected before the loader gives up reporting more. */
#define SSR_CFG_MAX_ERRORS 64

/** Default management socket path (`management.socket`). */
#define SSR_CFG_DEFAULT_SOCKET "/run/serval-sr/serval-sr.sock"
/** Delay rules: default and largest queue (packets held per rule). */
#define SSR_CFG_DELAY_DEFAULT_QUEUE 64
#define SSR_CFG_DELAY_MAX_QUEUE 4096
/** Delay rules: default and largest hold time (milliseconds). */
#define SSR_CFG_DELAY_DEFAULT_TIMEOUT_MS 2000
#define SSR_CFG_DELAY_MAX_TIMEOUT_MS 600000

/** Health checks: defaults and bounds (see struct ssr_cfg_health). */
#define SSR_CFG_HEALTH_DEFAULT_INTERVAL_MS 1000
#define SSR_CFG_HEALTH_MIN_INTERVAL_MS 10
#define SSR_CFG_HEALTH_MAX_INTERVAL_MS 3600000
#define SSR_CFG_HEALTH_DEFAULT_TIMEOUT_MS 500
#define SSR_CFG_HEALTH_MIN_TIMEOUT_MS 1
#define SSR_CFG_HEALTH_DEFAULT_FALL 3
#define SSR_CFG_HEALTH_DEFAULT_RISE 2
#define SSR_CFG_HEALTH_MAX_COUNT 100

/** What a service rule does with a matching connection request. */
enum ssr_action {
	SSR_ACTION_FORWARD, /**< resolve to one of the targets */
	SSR_ACTION_LOCAL,   /**< terminate at the router (echo service) */
	SSR_ACTION_DELAY,   /**< hold until a forward rule appears */
	SSR_ACTION_DROP,    /**< drop, counted */
};

/** How a forward rule reaches its target. */
enum ssr_mode {
	SSR_MODE_RESOLVE, /**< rewrite the SYN and step out of the path */
	SSR_MODE_GATEWAY, /**< stay on the path, tracking flows */
};

/** One router interface: a DPDK port and the router's address on it. */
struct ssr_cfg_port {
	uint16_t port_id;   /**< DPDK port id, 0..SSR_CFG_MAX_PORT_ID */
	uint8_t prefix_len; /**< subnet length, 1..32 */
	uint32_t addr;      /**< router address, host byte order */
	bool has_mac;       /**< set the port's MAC to @p mac at start */
	uint8_t mac[6];     /**< unicast */
	uint16_t rx_desc;   /**< RX descriptors per queue (default 512) */
	uint16_t tx_desc;   /**< TX descriptors per queue (default 512) */
	unsigned int line;  /**< 1-based line of the entry, for later messages */
};

/** A static ARP entry. */
struct ssr_cfg_neighbor {
	uint32_t ip;    /**< host byte order, inside a connected subnet */
	uint8_t mac[6]; /**< unicast, not all zero */
};

/** What happens to a target's existing gateway-mode flows when its health
 * check marks it down (new flows never go to a target that is down). */
enum ssr_health_policy {
	SSR_HEALTH_KEEP,  /**< existing flows stay until they end */
	SSR_HEALTH_RESET, /**< existing flows are removed at once */
};

/**
 * Active health checks of a forward rule's targets: every interval_ms the
 * router sends each target a SAL SYN for the rule's serviceID and counts a
 * SYN-ACK within timeout_ms as alive; `fall` misses in a row mark it down,
 * `rise` answers in a row mark it up again.
 */
struct ssr_cfg_health {
	bool enabled;           /**< the rule has a `health` section */
	uint32_t interval_ms;   /**< SSR_CFG_HEALTH_MIN..MAX_INTERVAL_MS */
	uint32_t timeout_ms;    /**< 1..interval_ms */
	uint16_t fall;          /**< 1..SSR_CFG_HEALTH_MAX_COUNT */
	uint16_t rise;          /**< 1..SSR_CFG_HEALTH_MAX_COUNT */
	enum ssr_health_policy on_down;
};

/** One target of a forward rule. */
struct ssr_cfg_target {
	uint32_t addr;     /**< host byte order */
	uint16_t weight;   /**< share within its priority set; 0 = no new flows */
	uint16_t priority; /**< higher number is preferred */
};

/** One service rule. */
struct ssr_cfg_service {
	struct sal_service_id id;           /**< bits past prefix_bits are 0 */
	uint16_t prefix_bits;               /**< 0..256 */
	enum ssr_action action;
	enum ssr_mode mode;                 /**< meaningful for forward only */
	struct ssr_cfg_target *targets;     /**< forward only, n_targets >= 1 */
	unsigned int n_targets;
	uint16_t delay_queue;       /**< delay only: packets held, 1..4096 */
	uint32_t delay_timeout_ms;  /**< delay only: hold time, 1..600000 */
	struct ssr_cfg_health health; /**< forward only (enabled false otherwise) */
	unsigned int line;          /**< 1-based line of the entry */
};

/** Neighbour (ARP) behaviour. */
struct ssr_cfg_arp {
	uint16_t queue;        /**< packets held per unresolved next hop */
	uint32_t retry_ms;     /**< minimum gap between requests per next hop */
	uint32_t lifetime_ms;  /**< learned entries are refreshed after this */
};

/** Flow table sizing and timeouts (gateway mode). */
struct ssr_cfg_flows {
	uint32_t max;
	uint32_t syn_timeout_ms;
	uint32_t established_timeout_ms;
	uint32_t closing_timeout_ms;
};

/** Management socket. */
struct ssr_cfg_mgmt {
	bool enabled;       /**< the `management` key was present */
	char *socket;       /**< absolute path */
	uid_t *allow_uids;
	unsigned int n_allow_uids;
	gid_t *allow_gids;
	unsigned int n_allow_gids;
};

/** An IPv4 prefix, host byte order, no bits past len. */
struct ssr_cfg_ipv4_prefix {
	uint32_t addr;
	uint8_t len;
};

/** In-band registration (REGISTER / UNREGISTER over SAL). */
struct ssr_cfg_registration {
	bool enabled;                       /**< the `registration` key was present */
	struct ssr_cfg_ipv4_prefix *allow;  /**< hosts allowed to register */
	unsigned int n_allow;
};

/** A whole, validated service map. */
struct ssr_config {
	char *source;                     /**< name used in messages */
	struct ssr_cfg_port *ports;       /**< n_ports >= 1 */
	unsigned int n_ports;
	struct ssr_cfg_neighbor *neighbors;
	unsigned int n_neighbors;
	bool has_gateway;
	uint32_t gateway;                 /**< host byte order, if has_gateway */
	uint8_t sal_ip_protocol;          /**< default 144 */
	struct ssr_cfg_arp arp;
	struct ssr_cfg_flows flows;
	struct ssr_cfg_service *services;
	unsigned int n_services;
	struct ssr_cfg_mgmt mgmt;
	struct ssr_cfg_registration registration;
};

/**
 * Error messages from one load, each `file:line:column: path: message`
 * (or `file:line:column: message` for a YAML syntax error), in file order.
 */
struct ssr_config_errors {
	char **msgs;
	unsigned int n;
	bool truncated; /**< more than SSR_CFG_MAX_ERRORS were found */
};

/**
 * Load and validate a service map from a file.
 *
 * Any thread; no global state.
 *
 * @param path
 *   File to read; also the name used in messages.
 * @param errs
 *   Cleared, then filled with every error found (may be NULL to discard).
 *   Release with ssr_config_errors_free().
 * @return
 *   The config, or NULL with errno set: EINVAL (the file has errors, listed
 *   in @p errs), ENOENT/EACCES/... (cannot open, one message in @p errs),
 *   ENOMEM.
 */
struct ssr_config *
ssr_config_load_file(const char *path, struct ssr_config_errors *errs);

/**
 * Load and validate a service map from memory.
 *
 * Any thread; no global state.
 *
 * @param text
 *   YAML text (need not be NUL-terminated).
 * @param len
 *   Bytes in @p text.
 * @param name
 *   Name used as the file part of messages.
 * @param errs
 *   As for ssr_config_load_file().
 * @return
 *   The config, or NULL with errno EINVAL (errors in @p errs) or ENOMEM.
 */
struct ssr_config *
ssr_config_load_string(const char *text, size_t len, const char *name,
		struct ssr_config_errors *errs);

/**
 * Release a config. NULL is a no-op.
 */
void
ssr_config_free(struct ssr_config *cfg);

/**
 * Release the messages in @p errs and clear it. NULL is a no-op.
 */
void
ssr_config_errors_free(struct ssr_config_errors *errs);

/** Name of an action ("forward", ...). */
const char *
ssr_action_name(enum ssr_action a);

/** Name of a mode ("resolve", "gateway"). */
const char *
ssr_mode_name(enum ssr_mode m);

/** Name of a health policy ("keep", "reset"). */
const char *
ssr_health_policy_name(enum ssr_health_policy p);

/** Health-check settings with every default filled in (enabled false). */
void
ssr_cfg_health_defaults(struct ssr_cfg_health *h);

/**
 * Whether @p a (host byte order) may be a host's address: not 0/8,
 * 127/8, multicast or class E. The service map and the management protocol
 * apply this one rule to every target, neighbour and client address. Any
 * thread.
 */
static inline bool
ssr_ipv4_is_unicast(uint32_t a)
{
	uint8_t first = a >> 24;

	return first != 0 && first != 127 && first < 224;
}

#ifdef __cplusplus
}
#endif

#endif /* SSR_CONFIG_H */
