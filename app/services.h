/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The service rules as the control lcore knows them (the "model"), and the
 * one transaction path every change takes into the svctable.
 *
 * Every change (the YAML file at start, SIGHUP and `reload`, the management
 * socket's rule and target operations, leased and in-band registrations,
 * health-check verdicts) is staged in a struct ssr_rules_txn, validated
 * operation by operation against the staged view, and committed as one
 * svctable transaction: workers switch from the old rules to the new at one
 * instant (one release store in lib/svctable), and a change that fails
 * anywhere leaves both the model and the svctable exactly as they were.
 *
 * Rules have a **stable slot**: the slot of a prefix stays the same across
 * replaces and reloads for as long as the prefix has a rule. It is the
 * svctable rule id, so workers count per-rule packets in a plain per-worker
 * array indexed by it (struct ssr_rule_ctr), and per-rule counters survive
 * reloads keyed by prefix, never by position in the file. A freed slot is
 * reused only after an RCU grace period, and its counters are then read
 * relative to a baseline (workers never reset a counter).
 *
 * Per-target counters: each published version of a forward rule gets a
 * "run" of consecutive entries in the workers' target-counter arrays, one
 * per target in the published order (priority, highest first, then
 * address); the run's base index rides in the rule's user_flags
 * (SSR_RULE_RUN_SHIFT), so a worker counts the target svctable_pick()
 * returned with one array increment. A version keeps its predecessor's run
 * when the target layout did not change (weights did, say); otherwise the
 * old run's counts are folded into each target's total at publish time, the
 * remainder once the grace period is over, and the run is reused.
 *
 * Target addresses are their svctable ids (host byte order), so the
 * consistent choice of a flow's target does not depend on the order targets
 * are listed in, on which other rules changed, or on a restart: a reload
 * that keeps a target keeps its flows' choice.
 *
 * Threads: everything here is control lcore only ([C]), except
 * ssr_services_apply() and ssr_services_create() (any single thread before
 * workers run), and the worker-side inlines at the end (owning worker).
 */

#ifndef SSR_SERVICES_H
#define SSR_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct svctable;
struct ssr_router;

/** svctable rule user_flags: the forward rule is in gateway mode. */
#define SSR_RULE_F_GATEWAY 1u
/** user_flags bits above this hold the rule's target-counter run base. */
#define SSR_RULE_RUN_SHIFT 8
/** Largest run base (24 bits). */
#define SSR_RULE_RUN_MAX ((UINT32_C(1) << (32 - SSR_RULE_RUN_SHIFT)) - 1)

/** Rule slots at least (the table holds more rules than the file lists). */
#define SSR_RULE_MIN_SLOTS 65536
/** Target-counter entries per rule slot (runs are carved from them). */
#define SSR_TGT_CTR_PER_SLOT 4
/** Entries of run 0: a sink shared by versions that found no free run. */
#define SSR_TGT_SINK_RUN SSR_CFG_MAX_TARGETS

/** Per-rule counters: enum suffix, name, description. */
#define SSR_RULE_COUNTERS(_) \
	_(MATCHED, "matched", "connection requests that matched the rule") \
	_(FORWARDED, "forwarded", "requests sent toward a target") \
	_(DELAYED, "delayed", "requests handed to the delay queue") \
	_(LOCAL, "local", "requests served by the router's local endpoint") \
	_(DROPPED, "dropped", "requests dropped: drop rule or no target up")

#define SSR_RCNT_ENUM_(n, s, d) SSR_RCNT_##n,
/** Per-rule counter index. */
enum ssr_rule_counter {
	SSR_RULE_COUNTERS(SSR_RCNT_ENUM_)
	SSR_RCNT_MAX
};
#undef SSR_RCNT_ENUM_

/** One rule's counters in one worker. [W] owning worker; [C] reads. */
struct ssr_rule_ctr {
	uint64_t c[SSR_RCNT_MAX];
};

/** Name of a per-rule counter ("matched"); "?" out of range. Any thread. */
const char *
ssr_rule_counter_name(enum ssr_rule_counter c);

/** Where a target came from. */
enum ssr_target_origin {
	SSR_ORIGIN_CONFIG, /**< the service map, rule.add/replace, target.add */
	SSR_ORIGIN_LEASE,  /**< `register` over the management socket (leased) */
	SSR_ORIGIN_INBAND, /**< a SAL REGISTER datagram from a Serval host */
};

/** Name of an origin ("config", "lease", "inband"). Any thread. */
const char *
ssr_origin_name(enum ssr_target_origin o);

/** What the health check says about a target. */
enum ssr_health_state {
	SSR_HEALTH_UNKNOWN, /**< not checked (yet): treated as up */
	SSR_HEALTH_UP,
	SSR_HEALTH_DOWN,    /**< published with weight 0: no new flows */
};

/** Name of a health state ("unknown", "up", "down"). Any thread. */
const char *
ssr_health_state_name(enum ssr_health_state s);

/** Probe bookkeeping of one target (app/health.c). [C] */
struct ssr_probe {
	uint64_t next_ms;      /**< when the next probe is due */
	uint64_t sent_ms;      /**< when the outstanding one left; 0: none */
	uint32_t flowid;       /**< its SAL flowID (host order); 0: none */
	uint16_t ok_run;       /**< answers in a row */
	uint16_t fail_run;     /**< misses in a row */
	uint64_t sent;         /**< probes sent */
	uint64_t answered;     /**< SYN-ACKs received in time */
};

/** One target of a rule in the model. [C] */
struct ssr_target {
	struct ssr_cfg_target t;  /**< address, weight and priority as set */
	uint8_t origin;           /**< enum ssr_target_origin */
	uint8_t health;           /**< enum ssr_health_state */
	uint16_t pos;             /**< position in the published target order */
	uint32_t lease_s;         /**< registered lease; 0: none (not leased) */
	uint64_t lease_until_ms;  /**< expiry (monotonic ms); 0: never */
	uint64_t selected_acc;    /**< selections folded from retired runs */
	struct ssr_probe probe;   /**< health-check state */
};

/** One rule in the model. [C] */
struct ssr_rule {
	struct ssr_cfg_service s; /**< prefix, action, mode, delay, health;
				   *   s.targets/n_targets unused (see tg) */
	bool base;                /**< configured (file or socket); false: it
				   *   exists only for registered targets */
	uint32_t slot;            /**< stable slot (svctable rule id) */
	uint32_t run;             /**< target-counter run base of the
				   *   published version */
	unsigned int n;           /**< targets */
	struct ssr_target *tg;    /**< n targets, in the order they were set */
};

/** Event kinds the model (and the control lcore) report. */
enum ssr_event_kind {
	SSR_EV_DELAY_MISS, /**< a request was held by a delay rule */
	SSR_EV_RULE,       /**< rules changed (change = operation) */
	SSR_EV_LEASE,      /**< registered / refreshed / expired / unregistered */
	SSR_EV_HEALTH,     /**< a target went up or down (change = state) */
};

/** One event, as ssr_rules_emit() hands it to the sink. */
struct ssr_event {
	enum ssr_event_kind kind;
	const char *change;          /**< operation, lease change or "up"/"down" */
	bool has_prefix;
	struct sal_service_id prefix; /**< the rule */
	uint16_t bits;
	struct sal_service_id service_id; /**< DELAY_MISS: the requested ID */
	uint32_t addr;               /**< LEASE/HEALTH: target; DELAY_MISS:
				      *   client (host order) */
	uint8_t origin;              /**< LEASE: enum ssr_target_origin */
};

/** Where events go (the management glue turns them into JSON). */
typedef void (*ssr_event_fn)(void *arg, const struct ssr_event *ev);
/** Called after a commit for an address no gateway-mode rule targets any
 * more, or a target marked down under on_down: reset. */
typedef void (*ssr_flows_gone_fn)(void *arg, uint32_t addr);

/** An error of a staged operation: errno, field at fault, one-line reason. */
struct ssr_err {
	int err;            /**< positive errno; 0 none */
	char field[96];     /**< e.g. "targets[2].address", "" if none */
	char msg[256];      /**< reason (without the field) */
};

/** Counters of the model itself (for stats). */
struct ssr_rules_stats {
	uint64_t commits;        /**< transactions committed */
	uint64_t commit_errors;  /**< commits refused by the svctable */
	uint64_t rules_added;
	uint64_t rules_removed;
	uint64_t run_exhausted;  /**< versions counted in the sink run */
	uint32_t rules;          /**< rules now */
	uint32_t leased;         /**< leased or in-band targets now */
	uint32_t retire_pending; /**< slots and runs waiting for a grace period */
};

struct ssr_rules;
struct ssr_rules_txn;

/**
 * Create the model over the router's svctable (empty: load rules with a
 * transaction). Allocates the baseline arrays sized r->n_rule_slots and
 * r->n_tgt_ctr. Main lcore, after the workers exist.
 *
 * @return the model, or NULL with errno (EINVAL, ENOMEM).
 */
struct ssr_rules *
ssr_rules_create(struct ssr_router *r);

/** Free the model (not the svctable). NULL is a no-op. */
void
ssr_rules_free(struct ssr_rules *m);

/** Set the event sink and the flow-reset hook (either may be NULL). */
void
ssr_rules_set_hooks(struct ssr_rules *m, ssr_event_fn ev, ssr_flows_gone_fn gone,
		void *arg);

/** Hand an event to the sink (no-op without one). */
void
ssr_rules_emit(struct ssr_rules *m, const struct ssr_event *ev);

/**
 * Begin a transaction. @p change names it in the rule event ("rule.add",
 * "batch", "reload", ...; a static string). NULL with errno ENOMEM.
 */
struct ssr_rules_txn *
ssr_rules_begin(struct ssr_rules *m, const char *change);

/** Drop a transaction and everything staged. NULL is a no-op. */
void
ssr_rules_abort(struct ssr_rules_txn *txn);

/**
 * Validate everything staged against the svctable and apply it at one
 * instant; then emit the events and flow resets. The transaction is freed
 * in every case. On failure nothing changed.
 *
 * @return 0, or -errno with @p e filled: EBUSY (the svctable's reclaim
 *   queue is full: retry), ENOSPC (no free rule slot or svctable full),
 *   ENOMEM, or the svctable's error.
 */
int
ssr_rules_commit(struct ssr_rules_txn *txn, struct ssr_err *e);

/**
 * Stage a rule. @p must_be_new refuses an existing configured rule
 * (rule.add, EEXIST); otherwise the rule is replaced whole (rule.replace).
 * Registered targets of the prefix are kept. Targets must be routable and
 * not a router address (EINVAL, field "targets[i].address").
 *
 * @return 0 or -errno (EEXIST, EINVAL, ENOMEM) with @p e filled.
 */
int
ssr_rules_put(struct ssr_rules_txn *txn, const struct ssr_cfg_service *s,
		bool must_be_new, struct ssr_err *e);

/** Stage the deletion of a rule (and its registrations). -ENOENT. */
int
ssr_rules_delete(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, struct ssr_err *e);

/** Stage a new target of a forward rule: -ENOENT (no rule), -EINVAL (not
 * forward, unroutable), -EEXIST, -ENOSPC (SSR_CFG_MAX_TARGETS). */
int
ssr_rules_target_add(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, const struct ssr_cfg_target *t, struct ssr_err *e);

/** Stage a target's removal: -ENOENT, -EINVAL (the last target of a rule). */
int
ssr_rules_target_remove(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, struct ssr_err *e);

/** SSR_TARGET_SET_* for ssr_rules_target_set(). */
#define SSR_TARGET_SET_WEIGHT 0x1u
#define SSR_TARGET_SET_PRIORITY 0x2u

/** Stage a target's new weight and/or priority: -ENOENT. Weight 0 drains. */
int
ssr_rules_target_set(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, uint32_t set, uint16_t weight,
		uint16_t priority, struct ssr_err *e);

/**
 * Stage a registration: add @p t to the forward rule of the prefix (creating
 * a resolve-mode rule when there is none), or refresh it when it is
 * registered already (updating weight and priority). @p lease_s 0: no
 * lease. -EEXIST (a configured target), -EINVAL (the prefix has a rule that
 * is not forward; unroutable), -ENOSPC.
 */
int
ssr_rules_register(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, const struct ssr_cfg_target *t, uint32_t lease_s,
		enum ssr_target_origin origin, struct ssr_err *e);

/** Stage a lease extension (by @p lease_s, or the registered lease when 0):
 * -ENOENT when not registered. */
int
ssr_rules_refresh(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, uint32_t lease_s, struct ssr_err *e);

/** Stage an unregistration (@p change: "unregistered" or "expired"):
 * -ENOENT when not registered. A rule left with no target goes too. */
int
ssr_rules_unregister(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t addr, const char *change, struct ssr_err *e);

/**
 * Stage a re-registration after an address change (in-band flag 1):
 * registered target @p old_addr becomes @p new_addr. -ENOENT when not
 * registered, -EEXIST when @p new_addr is a target already.
 */
int
ssr_rules_readdress(struct ssr_rules_txn *txn, const struct sal_service_id *id,
		uint16_t bits, uint32_t old_addr, uint32_t new_addr, struct ssr_err *e);

/** Stage a health verdict for target @p addr of the rule in @p slot. */
int
ssr_rules_set_health(struct ssr_rules_txn *txn, uint32_t slot, uint32_t addr,
		enum ssr_health_state st, struct ssr_err *e);

/**
 * Stage the replacement of every configured rule by @p cfg's services
 * (reload, and the first load): rules the file does not list go, unless
 * they carry registered targets (which survive a reload). Configured
 * targets keep their health state and counters when the file keeps them.
 */
int
ssr_rules_replace_all(struct ssr_rules_txn *txn, const struct ssr_config *cfg,
		struct ssr_err *e);

/** The committed rule with exactly this prefix, or NULL. */
const struct ssr_rule *
ssr_rules_get(const struct ssr_rules *m, const struct sal_service_id *id,
		uint16_t bits);

/** The committed rule in @p slot, or NULL. */
const struct ssr_rule *
ssr_rules_at(const struct ssr_rules *m, uint32_t slot);

/**
 * Longest-prefix match of a serviceID as a worker would see it now: the
 * model's rule, and (when @p target is not NULL) the target a SYN from
 * client @p client_ip with flowID @p flowid (both host order) would get,
 * through the same svctable_pick() the worker calls (NULL: no active target,
 * or not a forward rule). @p use_pick false leaves *target NULL.
 */
const struct ssr_rule *
ssr_rules_resolve(const struct ssr_rules *m, const struct sal_service_id *sid,
		bool use_pick, uint32_t client_ip, uint32_t flowid,
		const struct ssr_target **target);

/** Slots below this have been used (walk them with ssr_rules_at()). */
uint32_t
ssr_rules_slots_used(const struct ssr_rules *m);

/**
 * Target @p i of the committed rule in @p slot, for state that is not
 * published to workers (probe bookkeeping, a health state going from
 * unknown to up, which changes no weight). NULL when out of range.
 */
struct ssr_target *
ssr_rules_target_mut(struct ssr_rules *m, uint32_t slot, unsigned int i);

/** Callback of ssr_rules_walk(): non-zero stops the walk. */
typedef int (*ssr_rules_walk_fn)(const struct ssr_rule *rule, void *arg);

/** Visit every committed rule in prefix order. */
int
ssr_rules_walk(const struct ssr_rules *m, ssr_rules_walk_fn fn, void *arg);

/** A rule's counters, summed over the workers. */
void
ssr_rules_counters(const struct ssr_rules *m, const struct ssr_rule *rule,
		uint64_t out[SSR_RCNT_MAX]);

/** How often target @p i of @p rule was chosen for a new flow. */
uint64_t
ssr_rules_selected(const struct ssr_rules *m, const struct ssr_rule *rule,
		unsigned int i);

/** Whether some committed gateway-mode rule targets @p addr. */
bool
ssr_rules_gateway_target(const struct ssr_rules *m, uint32_t addr);

/**
 * Housekeeping, every control pass: finish grace periods (fold the last
 * counts of retired runs, free slots and runs) and expire leases (each a
 * transaction of its own, with a lease event). @p now_ms: monotonic ms.
 */
void
ssr_rules_poll(struct ssr_rules *m, uint64_t now_ms);

/** Model counters. */
void
ssr_rules_get_stats(const struct ssr_rules *m, struct ssr_rules_stats *st);

/** The monotonic clock the model's lease times use, in milliseconds. */
uint64_t
ssr_now_ms(void);

/**
 * Replace every rule of @p t by the services of @p cfg, at one instant (a
 * single transaction: clear, then add each). On failure the table is
 * unchanged. Rule ids are config indexes and no counter runs are assigned:
 * for harnesses and benchmarks that drive the data path without the model.
 * Any single thread (control lcore).
 *
 * @param err
 *   On failure, a one-line reason naming the rule (file:line).
 * @return
 *   0, or -errno from svctable (EINVAL, ENOSPC, ENOMEM, EAGAIN, E2BIG).
 */
int
ssr_services_apply(struct svctable *t, const struct ssr_config *cfg,
		char *err, size_t errlen);

/**
 * Create a table sized for @p cfg (and later additions): at least
 * SSR_RULE_MIN_SLOTS rules. NULL with rte_errno on failure.
 */
struct svctable *
ssr_services_create(const struct ssr_config *cfg, int socket);

/** Rule slots a router loading @p cfg needs (svctable max_rules). */
uint32_t
ssr_services_slots(const struct ssr_config *cfg);

#ifdef __cplusplus
}
#endif

#endif /* SSR_SERVICES_H */
