/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The management protocol: one JSON request per line in, one validated
 * struct ssr_cmd out; one JSON reply per line back.
 *
 * This layer owns the wire format (docs/management.md) and nothing else: no
 * socket, no table, no DPDK. A request that fails validation never becomes a
 * command, so whatever applies commands (struct ssr_mgmt_ops in mgmt.h) only
 * ever sees well-formed, range-checked values. Errors name the field at fault
 * as a JSON path ("ops[2].targets[0].weight") and the reason.
 *
 * Rules reuse the service map's own types (struct ssr_cfg_service and struct
 * ssr_cfg_target from app/config.h), so a rule from the socket and a rule
 * from the YAML file are the same C value. IPv4 addresses are host byte
 * order, as in config.h.
 *
 * Every function here keeps no global state and may be called from any
 * thread.
 */

#ifndef SSR_MGMT_PROTO_H
#define SSR_MGMT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "sal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Protocol version reported by the "version" operation. */
#define SSR_MGMT_PROTOCOL_VERSION 1
/** Default socket path: the service map's (config.h). */
#define SSR_MGMT_DEFAULT_SOCKET SSR_CFG_DEFAULT_SOCKET
/** Default largest request line, newline excluded (bytes). */
#define SSR_MGMT_DEFAULT_MAX_REQUEST (64u * 1024)
/** Most entries in one batch. */
#define SSR_MGMT_MAX_BATCH 1024
/** Longest string id a request may carry (bytes). */
#define SSR_MGMT_MAX_ID_LEN 128
/** Default and largest `limit` of flows.list. */
#define SSR_MGMT_FLOWS_DEFAULT_LIMIT 1000
#define SSR_MGMT_FLOWS_MAX_LIMIT 100000
/** Lease bounds for register / refresh (seconds). */
#define SSR_MGMT_LEASE_MIN_S 1
#define SSR_MGMT_LEASE_MAX_S 86400
/** Delay rule defaults and bounds: the service map's own (config.h). These
 * names are kept for existing users; new code uses SSR_CFG_DELAY_*. */
#define SSR_MGMT_DELAY_DEFAULT_QUEUE SSR_CFG_DELAY_DEFAULT_QUEUE
#define SSR_MGMT_DELAY_MAX_QUEUE SSR_CFG_DELAY_MAX_QUEUE
#define SSR_MGMT_DELAY_DEFAULT_TIMEOUT_MS SSR_CFG_DELAY_DEFAULT_TIMEOUT_MS
#define SSR_MGMT_DELAY_MAX_TIMEOUT_MS SSR_CFG_DELAY_MAX_TIMEOUT_MS

/**
 * Every operation: enum suffix, wire name. The wire name is what a request
 * puts in "op". "target.drain" is an alias that parses to SSR_CMD_TARGET_SET
 * with weight 0 and so has no entry of its own.
 */
#define SSR_CMD_LIST(_) \
	_(VERSION, "version") \
	_(RULE_ADD, "rule.add") \
	_(RULE_REPLACE, "rule.replace") \
	_(RULE_DELETE, "rule.delete") \
	_(TARGET_ADD, "target.add") \
	_(TARGET_REMOVE, "target.remove") \
	_(TARGET_SET, "target.set") \
	_(RULES_LIST, "rules.list") \
	_(RESOLVE, "resolve") \
	_(FLOWS_LIST, "flows.list") \
	_(FLOWS_SHOW, "flows.show") \
	_(FLOWS_DELETE, "flows.delete") \
	_(STATS, "stats") \
	_(RELOAD, "reload") \
	_(SUBSCRIBE, "subscribe") \
	_(UNSUBSCRIBE, "unsubscribe") \
	_(REGISTER, "register") \
	_(REFRESH, "refresh") \
	_(UNREGISTER, "unregister") \
	_(BATCH, "batch")

#define SSR_CMD_ENUM_(name, str) SSR_CMD_##name,
/** Operation of a command. */
enum ssr_cmd_type {
	SSR_CMD_LIST(SSR_CMD_ENUM_)
	SSR_CMD_MAX
};
#undef SSR_CMD_ENUM_

/**
 * Event kinds a subscriber may ask for: enum suffix, wire name (the value of
 * an event's "event" member and of subscribe's "events" entries).
 */
#define SSR_MGMT_EVENT_LIST(_) \
	_(DELAY_MISS, "delay_miss") \
	_(RULE, "rule") \
	_(LEASE, "lease") \
	_(HEALTH, "health")

#define SSR_MGMT_EV_ENUM_(name, str) SSR_MGMT_EVENT_##name##_BIT,
/** Bit positions of the event kinds. */
enum ssr_mgmt_event_bit {
	SSR_MGMT_EVENT_LIST(SSR_MGMT_EV_ENUM_)
	SSR_MGMT_EVENT_MAX
};
#undef SSR_MGMT_EV_ENUM_

/** Mask with every event kind. */
#define SSR_MGMT_EVENTS_ALL ((UINT32_C(1) << SSR_MGMT_EVENT_MAX) - 1)

/** A serviceID prefix (same layout and rules as in struct ssr_cfg_service). */
struct ssr_cmd_prefix {
	struct sal_service_id id; /**< bits past @c bits are 0 */
	uint16_t bits;            /**< 0..256 */
};

/** struct ssr_cmd_target.set: the weight was given. */
#define SSR_CMD_SET_WEIGHT 0x1u
/** struct ssr_cmd_target.set: the priority was given. */
#define SSR_CMD_SET_PRIORITY 0x2u
/** struct ssr_cmd_target.set: the lease was given (refresh). */
#define SSR_CMD_SET_LEASE 0x4u

/**
 * One target of one rule: TARGET_ADD, TARGET_REMOVE, TARGET_SET, REGISTER,
 * REFRESH, UNREGISTER.
 */
struct ssr_cmd_target {
	struct ssr_cmd_prefix prefix;  /**< the rule */
	struct ssr_cfg_target target;  /**< address; weight and priority as given
					 *   or defaulted (1 and 0) */
	uint32_t set;                  /**< SSR_CMD_SET_* of the members given */
	uint32_t lease_s;              /**< REGISTER, REFRESH: lease in seconds
					 *   (REFRESH without SSR_CMD_SET_LEASE:
					 *   0, keep the registered lease) */
};

/** RULES_LIST: every rule, or the one with this exact prefix. */
struct ssr_cmd_rules {
	bool has_prefix;
	struct ssr_cmd_prefix prefix;
};

/** RESOLVE: what a SYN for @c id would get. */
struct ssr_cmd_resolve {
	struct sal_service_id id; /**< full serviceID */
	bool has_client;
	uint32_t client;          /**< client IPv4, host order */
	bool has_client_flow_id;
	uint32_t client_flow_id;  /**< the SYN's src_flowid as a number, 1..2^32-1 */
};

/** FLOWS_LIST filters. */
struct ssr_cmd_flows {
	uint32_t limit;           /**< 1..SSR_MGMT_FLOWS_MAX_LIMIT */
	bool has_prefix;
	struct ssr_cmd_prefix prefix; /**< flows of the rule with this prefix */
	bool has_target;
	uint32_t target;          /**< flows to this target, host order */
};

/** FLOWS_SHOW, FLOWS_DELETE: one gateway flow by router flowID (either side). */
struct ssr_cmd_flow {
	uint32_t flow_id; /**< 1..2^32-1, as a number (wire bytes big-endian) */
};

/** RELOAD. */
struct ssr_cmd_reload {
	char *path; /**< absolute path, or NULL for the running config's file */
};

/** SUBSCRIBE, UNSUBSCRIBE. */
struct ssr_cmd_subscribe {
	uint32_t events; /**< mask of (1 << SSR_MGMT_EVENT_*_BIT), never 0 */
};

/** BATCH: rule and target changes, to be applied all or none. */
struct ssr_cmd_batch {
	struct ssr_cmd *cmds; /**< RULE_ADD/REPLACE/DELETE, TARGET_ADD/REMOVE/SET */
	unsigned int n;       /**< 1..SSR_MGMT_MAX_BATCH */
};

/**
 * A validated management command. Which member of the union is valid
 * follows from @c type (see each member). VERSION and STATS carry nothing.
 * Release with ssr_cmd_release().
 */
struct ssr_cmd {
	enum ssr_cmd_type type;
	union {
		/** RULE_ADD, RULE_REPLACE: the whole rule, validated as the
		 * service map validates it (except reachability of targets,
		 * which only the router can judge). targets is owned by the
		 * command; line is 0. */
		struct ssr_cfg_service rule;
		/** RULE_DELETE. */
		struct ssr_cmd_prefix prefix;
		struct ssr_cmd_rules rules;       /**< RULES_LIST */
		struct ssr_cmd_target target;     /**< TARGET_*, REGISTER, REFRESH,
						    *   UNREGISTER */
		struct ssr_cmd_resolve resolve;   /**< RESOLVE */
		struct ssr_cmd_flows flows;       /**< FLOWS_LIST */
		struct ssr_cmd_flow flow;         /**< FLOWS_SHOW, FLOWS_DELETE */
		struct ssr_cmd_reload reload;     /**< RELOAD */
		struct ssr_cmd_subscribe subscribe; /**< SUBSCRIBE, UNSUBSCRIBE */
		struct ssr_cmd_batch batch;       /**< BATCH */
	};
};

/**
 * Why a request failed. @c err is a positive errno that also selects the
 * wire error code (ssr_mgmt_error_code()):
 * EBADMSG "parse_error" (not JSON), EPROTO "invalid_request" (not an object,
 * bad or missing id/op), EBADRQC "unknown_op", EINVAL "invalid_argument",
 * EMSGSIZE "too_large", ENOENT "not_found", EEXIST "exists", EBUSY "busy",
 * ENOSPC "no_space", ENOMEM "no_memory", EACCES "permission_denied",
 * ENOTSUP "unsupported", ETIMEDOUT "timeout"; anything else "failed".
 */
struct ssr_mgmt_error {
	int err;            /**< positive errno; 0 = no error */
	char field[128];    /**< JSON path of the field at fault, "" if none */
	char message[512];  /**< one line, starts with the field when there is one */
	json_t *details;    /**< optional array of strings (e.g. every YAML error
			     *   of a failed reload); owned here, NULL if none */
};

/**
 * Record an error (the first one wins: a later call on an @p e that already
 * holds an error does nothing, so the innermost cause is kept).
 *
 * @param e      error to fill; NULL is a no-op
 * @param err    positive errno (a negative one is negated)
 * @param field  JSON path of the field at fault, or NULL
 * @param fmt    printf format of the reason; the message becomes
 *               "field: reason" when @p field is set
 * @return -err (negative), so callers can `return ssr_mgmt_error_set(...)`.
 */
int
ssr_mgmt_error_set(struct ssr_mgmt_error *e, int err, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Release @p e's details and clear it. NULL is a no-op. */
void
ssr_mgmt_error_clear(struct ssr_mgmt_error *e);

/** Wire code of a positive errno ("invalid_argument", ...); never NULL. */
const char *
ssr_mgmt_error_code(int err);

/** Wire name of a command type ("rule.add", ...), "?" if out of range. */
const char *
ssr_cmd_name(enum ssr_cmd_type t);

/** Wire name of an event bit ("delay_miss", ...), NULL if out of range. */
const char *
ssr_mgmt_event_name(unsigned int bit);

/**
 * Parse one request object into a command (the "op" member and its
 * arguments; "id" is the caller's business and is ignored here).
 *
 * Unknown members are errors, never ignored: a mistyped optional member
 * would otherwise silently take its default.
 *
 * @param req  the request object
 * @param cmd  out: the command; left zeroed (nothing to release) on failure
 * @param e    out: why it failed
 * @return 0, or -EPROTO (no "op" / not a string), -EBADRQC (unknown op),
 *   -EINVAL (a field is wrong), -ENOMEM; @p e says which field and why.
 */
int
ssr_cmd_parse(const json_t *req, struct ssr_cmd *cmd, struct ssr_mgmt_error *e);

/** Release what a parsed command owns and zero it. NULL is a no-op. */
void
ssr_cmd_release(struct ssr_cmd *cmd);

/**
 * Decode one request line: JSON text, an object, a valid "id", then
 * ssr_cmd_parse().
 *
 * @param line  the line without its newline (need not be NUL-terminated)
 * @param len   bytes in @p line
 * @param id    out: a new reference to the request's id, or NULL when it has
 *              none usable (reply with id null); set even on failure
 * @param cmd   out: as for ssr_cmd_parse()
 * @param e     out: why it failed
 * The caller enforces the length limit (the server rejects a longer line
 * before it gets here).
 *
 * @return 0, or -EBADMSG (not JSON), -EPROTO (not an object, bad id or op),
 *   or as ssr_cmd_parse().
 */
int
ssr_mgmt_request_parse(const char *line, size_t len, json_t **id,
		struct ssr_cmd *cmd, struct ssr_mgmt_error *e);

/**
 * Build a success reply {"id": id, "ok": true, "result": result}.
 *
 * @param id      request id (borrowed; NULL gives null)
 * @param result  result object (reference stolen; NULL gives {})
 * @return the reply, or NULL on allocation failure.
 */
json_t *
ssr_mgmt_reply_ok(json_t *id, json_t *result);

/**
 * Build an error reply {"id": id, "ok": false, "error": {"code", "errno",
 * "message"[, "field"][, "details"]}}.
 *
 * @param id  request id (borrowed; NULL gives null)
 * @param e   the error (its details are moved into the reply; e->err 0 is
 *            reported as EIO "failed")
 * @return the reply, or NULL on allocation failure.
 */
json_t *
ssr_mgmt_reply_error(json_t *id, struct ssr_mgmt_error *e);

/**
 * Text form of a prefix: hex digits of the bytes up to the last non-zero
 * one (at least one byte; the missing trailing digits are zero by the text
 * form's definition), "/", bits: "00004001/32", "4001/256", "00/0". Every
 * serviceID parser (sal_service_id_parse, the service map) reads it back.
 *
 * @param buf  out, at least SSR_MGMT_PREFIX_STRLEN bytes
 * @return @p buf
 */
char *
ssr_mgmt_prefix_str(const struct sal_service_id *id, uint16_t bits, char *buf,
		size_t len);

/** Buffer size for ssr_mgmt_prefix_str(): 64 digits, "/256", NUL. */
#define SSR_MGMT_PREFIX_STRLEN 69

/**
 * JSON for a rule, as rules.list and resolve report it: {"prefix",
 * "action"[, "mode", "targets": [{"address", "weight", "priority"}]
 * [, "health": {"interval_ms", "timeout_ms", "fall", "rise", "on_down"}]]
 * [, "delay": {"queue", "timeout_ms"}]}. The caller adds its own members
 * (counters, lease times) to what is returned.
 *
 * @return a new object, or NULL on allocation failure.
 */
json_t *
ssr_mgmt_json_rule(const struct ssr_cfg_service *rule);

/**
 * JSON for one target: {"address", "weight", "priority"}.
 *
 * @return a new object, or NULL on allocation failure.
 */
json_t *
ssr_mgmt_json_target(const struct ssr_cfg_target *t);

/**
 * JSON string of an IPv4 address given in host byte order.
 *
 * @return a new string, or NULL on allocation failure.
 */
json_t *
ssr_mgmt_json_ipv4(uint32_t addr);

#ifdef __cplusplus
}
#endif

#endif /* SSR_MGMT_PROTO_H */
