/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Management requests -> struct ssr_cmd, and the reply envelope.
 *
 * Every member of every request is looked up by name, type-checked and
 * range-checked here, and any member not listed for its operation is an
 * error. The walk stops at the first problem (unlike the YAML loader): a
 * request is one short line, and the reply has room for one exact reason.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_proto.h"

#define DIM(a) (sizeof(a) / sizeof((a)[0]))
#define PATH_LEN 128

/* Parse context: where in the request we are, and where errors go. */
struct pctx {
	struct ssr_mgmt_error *e;
	const char *base; /* "" at top level, "ops[3]" inside a batch */
};

static const char *const cmd_names[SSR_CMD_MAX] = {
#define SSR_CMD_NAME_(name, str) [SSR_CMD_##name] = str,
	SSR_CMD_LIST(SSR_CMD_NAME_)
#undef SSR_CMD_NAME_
};

static const char *const event_names[SSR_MGMT_EVENT_MAX] = {
#define SSR_EV_NAME_(name, str) [SSR_MGMT_EVENT_##name##_BIT] = str,
	SSR_MGMT_EVENT_LIST(SSR_EV_NAME_)
#undef SSR_EV_NAME_
};

const char *
ssr_cmd_name(enum ssr_cmd_type t)
{
	return (unsigned int)t < SSR_CMD_MAX ? cmd_names[t] : "?";
}

const char *
ssr_mgmt_event_name(unsigned int bit)
{
	return bit < SSR_MGMT_EVENT_MAX ? event_names[bit] : NULL;
}

/*
 * snprintf that may truncate by design (paths and messages are cut at their
 * buffer size rather than failing); the wrapper keeps -Wformat-truncation
 * for the places where truncation would be a bug.
 */
static void __attribute__((format(printf, 3, 4)))
strfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- errors ---- */

/*
 * Replace every byte that does not belong to a well-formed UTF-8 sequence
 * with '?': messages quote the client's bytes (and jansson's parse errors
 * cut a sequence in two), and a reply must still be valid JSON.
 */
static void
utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		unsigned int len, i;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			len = 2;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			len = 3;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			len = 4;
			cp = *p & 0x07;
		} else {
			*p++ = '?';
			continue;
		}
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* truncated, overlong, surrogate or beyond U+10FFFF: not UTF-8 */
		if (i < len || (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
				(len == 4 && cp < 0x10000) || cp > 0x10ffff ||
				(cp >= 0xd800 && cp <= 0xdfff)) {
			*p++ = '?';
			continue;
		}
		p += len;
	}
}

int
ssr_mgmt_error_set(struct ssr_mgmt_error *e, int err, const char *field,
		const char *fmt, ...)
{
	char reason[sizeof(e->message)];
	va_list ap;

	if (err < 0)
		err = -err;
	if (e == NULL || e->err != 0)
		return -err;
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (field != NULL && field[0] != '\0') {
		strfmt(e->field, sizeof(e->field), "%s", field);
		strfmt(e->message, sizeof(e->message), "%s: %s", field, reason);
	} else {
		e->field[0] = '\0';
		strfmt(e->message, sizeof(e->message), "%s", reason);
	}
	/* a cut at the buffer's end may split a sequence too */
	utf8_clean(e->field);
	utf8_clean(e->message);
	return -err;
}

void
ssr_mgmt_error_clear(struct ssr_mgmt_error *e)
{
	if (e == NULL)
		return;
	json_decref(e->details);
	memset(e, 0, sizeof(*e));
}

const char *
ssr_mgmt_error_code(int err)
{
	switch (err < 0 ? -err : err) {
	case EBADMSG:
		return "parse_error";
	case EPROTO:
		return "invalid_request";
	case EBADRQC:
		return "unknown_op";
	case EINVAL:
		return "invalid_argument";
	case EMSGSIZE:
		return "too_large";
	case ENOENT:
		return "not_found";
	case EEXIST:
		return "exists";
	case EBUSY:
		return "busy";
	case ENOSPC:
		return "no_space";
	case ENOMEM:
		return "no_memory";
	case EACCES:
	case EPERM:
		return "permission_denied";
	case ENOTSUP:
		return "unsupported";
	case ETIMEDOUT:
		return "timeout";
	default:
		return "failed";
	}
}

/* ---- field helpers ---- */

static const char *
jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

static const char *
fpath(char out[PATH_LEN], const struct pctx *p, const char *key)
{
	if (p->base[0] == '\0')
		strfmt(out, PATH_LEN, "%s", key);
	else
		strfmt(out, PATH_LEN, "%s.%s", p->base, key);
	return out;
}

static int
fail(const struct pctx *p, int err, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(const struct pctx *p, int err, const char *key, const char *fmt, ...)
{
	char path[PATH_LEN], reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (key == NULL)
		return ssr_mgmt_error_set(p->e, err, p->base, "%s", reason);
	return ssr_mgmt_error_set(p->e, err, fpath(path, p, key), "%s", reason);
}

/* Every member of @o must be in @allowed (or be "op", or "id" at top level). */
static int
check_keys(const struct pctx *p, const json_t *o, const char *op,
		const char *const allowed[], unsigned int n, bool top)
{
	const char *key;
	json_t *v;
	unsigned int i;

	json_object_foreach((json_t *)(uintptr_t)o, key, v) {
		bool ok = strcmp(key, "op") == 0 || (top && strcmp(key, "id") == 0);

		for (i = 0; !ok && i < n; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			char list[256] = "";
			size_t off = 0;

			for (i = 0; i < n && off < sizeof(list); i++)
				off += snprintf(list + off, sizeof(list) - off, "%s%s",
						i ? ", " : "", allowed[i]);
			return fail(p, EINVAL, key, "unknown member for %s (allowed: %s)",
					op, n ? list : "none");
		}
	}
	return 0;
}

static int
require(const struct pctx *p, const json_t *o, const char *key)
{
	if (json_object_get(o, key) == NULL)
		return fail(p, EINVAL, key, "missing (required)");
	return 0;
}

/* 1: present and valid, 0: absent, <0: error. */
static int
get_uint(const struct pctx *p, const json_t *o, const char *key,
		uint64_t min, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return fail(p, EINVAL, key, "expected an integer %" PRIu64 "..%" PRIu64
				", found %s", min, max, jtype(v));
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
		return fail(p, EINVAL, key, "%" JSON_INTEGER_FORMAT " is outside %"
				PRIu64 "..%" PRIu64, x, min, max);
	*out = (uint64_t)x;
	return 1;
}

static int
get_str(const struct pctx *p, const json_t *o, const char *key,
		const char *what, const char **out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fail(p, EINVAL, key, "expected %s (a string), found %s", what,
				jtype(v));
	/* jansson strings may hold "\u0000"; C code would see a shorter value */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(p, EINVAL, key, "contains a NUL character");
	if (json_string_length(v) == 0)
		return fail(p, EINVAL, key, "expected %s, found an empty string", what);
	*out = json_string_value(v);
	return 1;
}

static int
get_prefix(const struct pctx *p, const json_t *o, const char *key,
		struct ssr_cmd_prefix *out)
{
	struct sal_service_id sid;
	char why[SAL_ERRLEN];
	const char *s;
	uint16_t bits;
	int r;

	r = get_str(p, o, key, "a serviceID prefix HEX/BITS", &s);
	if (r <= 0)
		return r;
	if (strchr(s, '/') == NULL)
		return fail(p, EINVAL, key, "'%.80s' needs a length: HEX/BITS "
				"(e.g. 00004001/32)", s);
	if (sal_service_id_parse(s, &sid, &bits, why, sizeof(why)) != 0)
		return fail(p, EINVAL, key, "%s", why);
	out->id = sid;
	out->bits = bits;
	return 1;
}

static int
get_service_id(const struct pctx *p, const json_t *o, const char *key,
		struct sal_service_id *id)
{
	struct sal_service_id sid;
	char why[SAL_ERRLEN];
	const char *s;
	int r;

	r = get_str(p, o, key, "a serviceID (1..64 hex digits)", &s);
	if (r <= 0)
		return r;
	if (sal_service_id_parse(s, &sid, NULL, why, sizeof(why)) != 0)
		return fail(p, EINVAL, key, "%s", why);
	*id = sid;
	return 1;
}

static int
get_ipv4(const struct pctx *p, const json_t *o, const char *key, uint32_t *out)
{
	struct in_addr in;
	const char *s;
	int r;

	r = get_str(p, o, key, "an IPv4 address", &s);
	if (r <= 0)
		return r;
	if (inet_pton(AF_INET, s, &in) != 1)
		return fail(p, EINVAL, key, "'%.64s' is not an IPv4 address "
				"(dotted quad)", s);
	if (!ssr_ipv4_is_unicast(ntohl(in.s_addr)))
		return fail(p, EINVAL, key, "'%s' is not a unicast host address", s);
	*out = ntohl(in.s_addr);
	return 1;
}

static int
get_enum(const struct pctx *p, const json_t *o, const char *key,
		const char *(*name)(unsigned int), unsigned int n, const char *list,
		unsigned int *out)
{
	const char *s;
	unsigned int i;
	int r;

	r = get_str(p, o, key, list, &s);
	if (r <= 0)
		return r;
	for (i = 0; i < n; i++) {
		if (strcmp(s, name(i)) == 0) {
			*out = i;
			return 1;
		}
	}
	return fail(p, EINVAL, key, "'%.64s' is not one of: %s", s, list);
}

/* config.c owns the action and mode names; parse against them. */
static const char *
action_name(unsigned int a)
{
	return ssr_action_name((enum ssr_action)a);
}

static const char *
mode_name(unsigned int m)
{
	return ssr_mode_name((enum ssr_mode)m);
}

/* ---- operations ---- */

static int
parse_target_obj(const struct pctx *p, const json_t *t, const char *path,
		struct ssr_cfg_target *out)
{
	static const char *const keys[] = { "address", "weight", "priority" };
	struct pctx q = { .e = p->e, .base = path };
	uint64_t x;
	int r;

	if (!json_is_object(t))
		return fail(&q, EINVAL, NULL, "expected a target object, found %s",
				jtype(t));
	if ((r = check_keys(&q, t, "a target", keys, DIM(keys), false)) < 0 ||
			(r = require(&q, t, "address")) < 0 ||
			(r = get_ipv4(&q, t, "address", &out->addr)) < 0)
		return r;
	out->weight = 1;
	out->priority = 0;
	if ((r = get_uint(&q, t, "weight", 0, UINT16_MAX, &x)) < 0)
		return r;
	if (r > 0)
		out->weight = x;
	if ((r = get_uint(&q, t, "priority", 0, UINT16_MAX, &x)) < 0)
		return r;
	if (r > 0)
		out->priority = x;
	return 0;
}

static const char *
policy_name(unsigned int v)
{
	return ssr_health_policy_name((enum ssr_health_policy)v);
}

/* "health": {interval_ms?, timeout_ms?, fall?, rise?, on_down?} */
static int
parse_health(const struct pctx *p, const json_t *o, struct ssr_cfg_health *h)
{
	static const char *const hkeys[] = {
		"interval_ms", "timeout_ms", "fall", "rise", "on_down",
	};
	char path[PATH_LEN];
	json_t *hv = json_object_get(o, "health");
	struct pctx q = { .e = p->e, .base = fpath(path, p, "health") };
	unsigned int v = 0;
	uint64_t x;
	int r;

	if (!json_is_object(hv))
		return fail(p, EINVAL, "health", "expected an object {interval_ms, "
				"timeout_ms, fall, rise, on_down}, found %s", jtype(hv));
	if ((r = check_keys(&q, hv, "health", hkeys, DIM(hkeys), false)) < 0)
		return r;
	ssr_cfg_health_defaults(h);
	h->enabled = true;
	if ((r = get_uint(&q, hv, "interval_ms", SSR_CFG_HEALTH_MIN_INTERVAL_MS,
				SSR_CFG_HEALTH_MAX_INTERVAL_MS, &x)) < 0)
		return r;
	if (r > 0)
		h->interval_ms = x;
	if ((r = get_uint(&q, hv, "timeout_ms", SSR_CFG_HEALTH_MIN_TIMEOUT_MS,
				SSR_CFG_HEALTH_MAX_INTERVAL_MS, &x)) < 0)
		return r;
	if (r > 0)
		h->timeout_ms = x;
	if ((r = get_uint(&q, hv, "fall", 1, SSR_CFG_HEALTH_MAX_COUNT, &x)) < 0)
		return r;
	if (r > 0)
		h->fall = x;
	if ((r = get_uint(&q, hv, "rise", 1, SSR_CFG_HEALTH_MAX_COUNT, &x)) < 0)
		return r;
	if (r > 0)
		h->rise = x;
	if ((r = get_enum(&q, hv, "on_down", policy_name, SSR_HEALTH_RESET + 1,
				"keep, reset", &v)) < 0)
		return r;
	if (r > 0)
		h->on_down = v;
	if (h->timeout_ms > h->interval_ms)
		return fail(&q, EINVAL, "timeout_ms", "%" PRIu32 " is longer than "
				"interval_ms (%" PRIu32 ")", h->timeout_ms, h->interval_ms);
	return 0;
}

static int
parse_rule(const struct pctx *p, const json_t *o, bool top, struct ssr_cmd *c)
{
	static const char *const keys[] = {
		"prefix", "action", "mode", "targets", "delay", "health",
	};
	struct ssr_cfg_service *s = &c->rule;
	char path[PATH_LEN];
	json_t *targets, *delay;
	unsigned int v = 0, i, j;
	bool any_weight = false;
	uint64_t x;
	int r;

	if ((r = check_keys(p, o, ssr_cmd_name(c->type), keys, DIM(keys), top)) < 0 ||
			(r = require(p, o, "prefix")) < 0 ||
			(r = require(p, o, "action")) < 0)
		return r;
	{
		struct ssr_cmd_prefix pf;

		if ((r = get_prefix(p, o, "prefix", &pf)) < 0)
			return r;
		s->id = pf.id;
		s->prefix_bits = pf.bits;
	}
	if ((r = get_enum(p, o, "action", action_name, SSR_ACTION_DROP + 1,
				"forward, local, delay, drop", &v)) < 0)
		return r;
	s->action = v;
	s->mode = SSR_MODE_RESOLVE;
	s->delay_queue = SSR_CFG_DELAY_DEFAULT_QUEUE;
	s->delay_timeout_ms = SSR_CFG_DELAY_DEFAULT_TIMEOUT_MS;
	ssr_cfg_health_defaults(&s->health);

	if (json_object_get(o, "health") != NULL) {
		if (s->action != SSR_ACTION_FORWARD)
			return fail(p, EINVAL, "health", "only applies to action forward, "
					"not %s", ssr_action_name(s->action));
		if ((r = parse_health(p, o, &s->health)) < 0)
			return r;
	}

	if (json_object_get(o, "mode") != NULL) {
		if (s->action != SSR_ACTION_FORWARD)
			return fail(p, EINVAL, "mode", "only applies to action forward, "
					"not %s", ssr_action_name(s->action));
		if ((r = get_enum(p, o, "mode", mode_name, SSR_MODE_GATEWAY + 1,
					"resolve, gateway", &v)) < 0)
			return r;
		s->mode = v;
	}

	delay = json_object_get(o, "delay");
	if (delay != NULL) {
		static const char *const dkeys[] = { "queue", "timeout_ms" };
		struct pctx q = { .e = p->e, .base = fpath(path, p, "delay") };

		if (s->action != SSR_ACTION_DELAY)
			return fail(p, EINVAL, "delay", "only applies to action delay, "
					"not %s", ssr_action_name(s->action));
		if (!json_is_object(delay))
			return fail(p, EINVAL, "delay", "expected an object {queue, "
					"timeout_ms}, found %s", jtype(delay));
		if ((r = check_keys(&q, delay, "delay", dkeys, DIM(dkeys), false)) < 0)
			return r;
		if ((r = get_uint(&q, delay, "queue", 1, SSR_CFG_DELAY_MAX_QUEUE,
					&x)) < 0)
			return r;
		if (r > 0)
			s->delay_queue = x;
		if ((r = get_uint(&q, delay, "timeout_ms", 1,
					SSR_CFG_DELAY_MAX_TIMEOUT_MS, &x)) < 0)
			return r;
		if (r > 0)
			s->delay_timeout_ms = x;
	}

	targets = json_object_get(o, "targets");
	if (s->action != SSR_ACTION_FORWARD) {
		if (targets != NULL)
			return fail(p, EINVAL, "targets", "only allowed with action "
					"forward, not %s", ssr_action_name(s->action));
		return 0;
	}
	if (targets == NULL)
		return fail(p, EINVAL, "targets", "missing (action forward needs at "
				"least one target)");
	if (!json_is_array(targets))
		return fail(p, EINVAL, "targets", "expected an array of targets, "
				"found %s", jtype(targets));
	if (json_array_size(targets) == 0)
		return fail(p, EINVAL, "targets", "action forward needs at least one "
				"target");
	if (json_array_size(targets) > SSR_CFG_MAX_TARGETS)
		return fail(p, EINVAL, "targets", "%zu targets listed, at most %u",
				json_array_size(targets), SSR_CFG_MAX_TARGETS);
	s->targets = calloc(json_array_size(targets), sizeof(*s->targets));
	if (s->targets == NULL)
		return fail(p, ENOMEM, NULL, "out of memory");
	for (i = 0; i < json_array_size(targets); i++) {
		char tp[PATH_LEN], base[PATH_LEN];

		strfmt(base, sizeof(base), "%s[%u]", fpath(tp, p, "targets"), i);
		r = parse_target_obj(p, json_array_get(targets, i), base,
				&s->targets[i]);
		if (r < 0)
			return r;
		for (j = 0; j < i; j++) {
			if (s->targets[j].addr == s->targets[i].addr) {
				struct pctx q = { .e = p->e, .base = base };

				return fail(&q, EINVAL, "address", "duplicate target "
						"(same as targets[%u])", j);
			}
		}
		s->n_targets++;
		any_weight |= s->targets[i].weight > 0;
	}
	if (!any_weight)
		return fail(p, EINVAL, "targets", "every target has weight 0; at "
				"least one needs a weight > 0");
	return 0;
}

static int
parse_prefix_only(const struct pctx *p, const json_t *o, bool top,
		struct ssr_cmd *c)
{
	static const char *const keys[] = { "prefix" };
	int r;

	if ((r = check_keys(p, o, ssr_cmd_name(c->type), keys, 1, top)) < 0 ||
			(r = require(p, o, "prefix")) < 0 ||
			(r = get_prefix(p, o, "prefix", &c->prefix)) < 0)
		return r;
	return 0;
}

enum target_form {
	TF_ADD,        /* prefix, address, weight?, priority? */
	TF_ADDR_ONLY,  /* prefix, address */
	TF_SET,        /* prefix, address, weight? priority? (at least one) */
	TF_REGISTER,   /* prefix, address, lease_s, weight?, priority? */
	TF_REFRESH,    /* prefix, address, lease_s? */
};

static int
parse_target_cmd(const struct pctx *p, const json_t *o, bool top,
		const char *op, enum target_form form, struct ssr_cmd *c)
{
	static const char *const k_add[] = {
		"prefix", "address", "weight", "priority",
	};
	static const char *const k_addr[] = { "prefix", "address" };
	static const char *const k_reg[] = {
		"prefix", "address", "lease_s", "weight", "priority",
	};
	static const char *const k_ref[] = { "prefix", "address", "lease_s" };
	struct ssr_cmd_target *t = &c->target;
	const char *const *keys;
	unsigned int nkeys;
	uint64_t x;
	int r;

	switch (form) {
	case TF_ADD:
	case TF_SET:
		keys = k_add;
		nkeys = DIM(k_add);
		break;
	case TF_REGISTER:
		keys = k_reg;
		nkeys = DIM(k_reg);
		break;
	case TF_REFRESH:
		keys = k_ref;
		nkeys = DIM(k_ref);
		break;
	default:
		keys = k_addr;
		nkeys = DIM(k_addr);
		break;
	}
	if ((r = check_keys(p, o, op, keys, nkeys, top)) < 0 ||
			(r = require(p, o, "prefix")) < 0 ||
			(r = require(p, o, "address")) < 0 ||
			(form == TF_REGISTER && (r = require(p, o, "lease_s")) < 0) ||
			(r = get_prefix(p, o, "prefix", &t->prefix)) < 0 ||
			(r = get_ipv4(p, o, "address", &t->target.addr)) < 0)
		return r;
	t->target.weight = 1;
	t->target.priority = 0;
	if (form == TF_ADD || form == TF_SET || form == TF_REGISTER) {
		if ((r = get_uint(p, o, "weight", 0, UINT16_MAX, &x)) < 0)
			return r;
		if (r > 0) {
			t->target.weight = x;
			t->set |= SSR_CMD_SET_WEIGHT;
		}
		if ((r = get_uint(p, o, "priority", 0, UINT16_MAX, &x)) < 0)
			return r;
		if (r > 0) {
			t->target.priority = x;
			t->set |= SSR_CMD_SET_PRIORITY;
		}
	}
	if (form == TF_SET && t->set == 0)
		return fail(p, EINVAL, NULL, "%s needs weight or priority (or both)",
				op);
	if (form == TF_REGISTER || form == TF_REFRESH) {
		if ((r = get_uint(p, o, "lease_s", SSR_MGMT_LEASE_MIN_S,
					SSR_MGMT_LEASE_MAX_S, &x)) < 0)
			return r;
		if (r > 0) {
			t->lease_s = x;
			t->set |= SSR_CMD_SET_LEASE;
		}
	}
	return 0;
}

static int
parse_no_args(const struct pctx *p, const json_t *o, bool top,
		struct ssr_cmd *c)
{
	return check_keys(p, o, ssr_cmd_name(c->type), NULL, 0, top);
}

static int
parse_rules_list(const struct pctx *p, const json_t *o, bool top,
		struct ssr_cmd *c)
{
	static const char *const keys[] = { "prefix" };
	int r;

	if ((r = check_keys(p, o, "rules.list", keys, 1, top)) < 0 ||
			(r = get_prefix(p, o, "prefix", &c->rules.prefix)) < 0)
		return r;
	c->rules.has_prefix = r > 0;
	return 0;
}

static int
parse_resolve(const struct pctx *p, const json_t *o, bool top,
		struct ssr_cmd *c)
{
	static const char *const keys[] = {
		"service_id", "client", "client_flow_id",
	};
	struct ssr_cmd_resolve *rv = &c->resolve;
	uint64_t x;
	int r;

	if ((r = check_keys(p, o, "resolve", keys, DIM(keys), top)) < 0 ||
			(r = require(p, o, "service_id")) < 0 ||
			(r = get_service_id(p, o, "service_id", &rv->id)) < 0 ||
			(r = get_ipv4(p, o, "client", &rv->client)) < 0)
		return r;
	rv->has_client = r > 0;
	if ((r = get_uint(p, o, "client_flow_id", 1, UINT32_MAX, &x)) < 0)
		return r;
	if (r > 0) {
		rv->has_client_flow_id = true;
		rv->client_flow_id = x;
	}
	return 0;
}

static int
parse_flows_list(const struct pctx *p, const json_t *o, bool top,
		struct ssr_cmd *c)
{
	static const char *const keys[] = { "limit", "prefix", "target" };
	struct ssr_cmd_flows *f = &c->flows;
	uint64_t x;
	int r;

	if ((r = check_keys(p, o, "flows.list", keys, DIM(keys), top)) < 0 ||
			(r = get_uint(p, o, "limit", 1, SSR_MGMT_FLOWS_MAX_LIMIT, &x)) < 0)
		return r;
	f->limit = r > 0 ? x : SSR_MGMT_FLOWS_DEFAULT_LIMIT;
	if ((r = get_prefix(p, o, "prefix", &f->prefix)) < 0)
		return r;
	f->has_prefix = r > 0;
	if ((r = get_ipv4(p, o, "target", &f->target)) < 0)
		return r;
	f->has_target = r > 0;
	return 0;
}

static int
parse_flow(const struct pctx *p, const json_t *o, bool top, struct ssr_cmd *c)
{
	static const char *const keys[] = { "flow_id" };
	uint64_t x;
	int r;

	if ((r = check_keys(p, o, ssr_cmd_name(c->type), keys, 1, top)) < 0 ||
			(r = require(p, o, "flow_id")) < 0 ||
			(r = get_uint(p, o, "flow_id", 1, UINT32_MAX, &x)) < 0)
		return r;
	c->flow.flow_id = x;
	return 0;
}

static int
parse_reload(const struct pctx *p, const json_t *o, bool top, struct ssr_cmd *c)
{
	static const char *const keys[] = { "path" };
	const char *s;
	int r;

	if ((r = check_keys(p, o, "reload", keys, 1, top)) < 0 ||
			(r = get_str(p, o, "path", "an absolute file path", &s)) < 0)
		return r;
	if (r == 0)
		return 0;
	if (s[0] != '/')
		return fail(p, EINVAL, "path", "'%.80s' is not an absolute path", s);
	if (strlen(s) >= 4096)
		return fail(p, EINVAL, "path", "longer than 4095 bytes");
	c->reload.path = strdup(s);
	if (c->reload.path == NULL)
		return fail(p, ENOMEM, NULL, "out of memory");
	return 0;
}

static int
parse_subscribe(const struct pctx *p, const json_t *o, bool top,
		struct ssr_cmd *c)
{
	static const char *const keys[] = { "events" };
	char path[PATH_LEN];
	json_t *ev, *v;
	size_t i;
	unsigned int b;
	int r;

	if ((r = check_keys(p, o, ssr_cmd_name(c->type), keys, 1, top)) < 0)
		return r;
	ev = json_object_get(o, "events");
	if (ev == NULL) {
		c->subscribe.events = SSR_MGMT_EVENTS_ALL;
		return 0;
	}
	if (!json_is_array(ev))
		return fail(p, EINVAL, "events", "expected an array of event names, "
				"found %s", jtype(ev));
	if (json_array_size(ev) == 0)
		return fail(p, EINVAL, "events", "empty (leave it out for every event)");
	json_array_foreach(ev, i, v) {
		const char *s = json_string_value(v);

		snprintf(path, sizeof(path), "events[%zu]", i);
		if (s == NULL)
			return fail(p, EINVAL, path, "expected an event name, found %s",
					jtype(v));
		for (b = 0; b < SSR_MGMT_EVENT_MAX; b++)
			if (strcmp(s, event_names[b]) == 0)
				break;
		if (b == SSR_MGMT_EVENT_MAX)
			return fail(p, EINVAL, path, "'%.64s' is not one of: delay_miss, "
					"rule, lease, health", s);
		c->subscribe.events |= UINT32_C(1) << b;
	}
	return 0;
}

static int parse_op(const struct pctx *p, const json_t *o, bool top,
		bool in_batch, struct ssr_cmd *c);

static int
parse_batch(const struct pctx *p, const json_t *o, bool top, struct ssr_cmd *c)
{
	static const char *const keys[] = { "ops" };
	struct ssr_cmd_batch *b = &c->batch;
	json_t *ops;
	size_t i, n;
	int r;

	if ((r = check_keys(p, o, "batch", keys, 1, top)) < 0 ||
			(r = require(p, o, "ops")) < 0)
		return r;
	ops = json_object_get(o, "ops");
	if (!json_is_array(ops))
		return fail(p, EINVAL, "ops", "expected an array of operations, found %s",
				jtype(ops));
	n = json_array_size(ops);
	if (n == 0)
		return fail(p, EINVAL, "ops", "empty batch");
	if (n > SSR_MGMT_MAX_BATCH)
		return fail(p, EINVAL, "ops", "%zu operations, at most %u", n,
				SSR_MGMT_MAX_BATCH);
	b->cmds = calloc(n, sizeof(*b->cmds));
	if (b->cmds == NULL)
		return fail(p, ENOMEM, NULL, "out of memory");
	for (i = 0; i < n; i++) {
		char base[PATH_LEN], tmp[PATH_LEN];
		struct pctx q = { .e = p->e };
		json_t *e = json_array_get(ops, i);

		strfmt(base, sizeof(base), "%s[%zu]", fpath(tmp, p, "ops"), i);
		q.base = base;
		if (!json_is_object(e))
			return fail(&q, EINVAL, NULL, "expected an operation object, found %s",
					jtype(e));
		r = parse_op(&q, e, false, true, &b->cmds[i]);
		b->n = i + 1; /* the entry may own memory even when it failed */
		if (r < 0)
			return r;
	}
	return 0;
}

typedef int (*parse_fn)(const struct pctx *, const json_t *, bool,
		struct ssr_cmd *);

static int
parse_op(const struct pctx *p, const json_t *o, bool top, bool in_batch,
		struct ssr_cmd *c)
{
	static const parse_fn fns[SSR_CMD_MAX] = {
		[SSR_CMD_VERSION] = parse_no_args,
		[SSR_CMD_RULE_ADD] = parse_rule,
		[SSR_CMD_RULE_REPLACE] = parse_rule,
		[SSR_CMD_RULE_DELETE] = parse_prefix_only,
		[SSR_CMD_RULES_LIST] = parse_rules_list,
		[SSR_CMD_RESOLVE] = parse_resolve,
		[SSR_CMD_FLOWS_LIST] = parse_flows_list,
		[SSR_CMD_FLOWS_SHOW] = parse_flow,
		[SSR_CMD_FLOWS_DELETE] = parse_flow,
		[SSR_CMD_STATS] = parse_no_args,
		[SSR_CMD_RELOAD] = parse_reload,
		[SSR_CMD_SUBSCRIBE] = parse_subscribe,
		[SSR_CMD_UNSUBSCRIBE] = parse_subscribe,
		[SSR_CMD_BATCH] = parse_batch,
	};
	json_t *opv = json_object_get(o, "op");
	const char *op;
	unsigned int t;

	if (opv == NULL)
		return fail(p, EPROTO, "op", "missing (every request names an operation)");
	if (!json_is_string(opv))
		return fail(p, EPROTO, "op", "expected an operation name (a string), "
				"found %s", jtype(opv));
	op = json_string_value(opv);
	if (strcmp(op, "target.drain") == 0) {
		c->type = SSR_CMD_TARGET_SET;
	} else {
		for (t = 0; t < SSR_CMD_MAX; t++)
			if (strcmp(op, cmd_names[t]) == 0)
				break;
		if (t == SSR_CMD_MAX)
			return fail(p, EBADRQC, "op", "unknown operation '%.64s'", op);
		c->type = t;
	}
	if (in_batch) {
		switch (c->type) {
		case SSR_CMD_RULE_ADD:
		case SSR_CMD_RULE_REPLACE:
		case SSR_CMD_RULE_DELETE:
		case SSR_CMD_TARGET_ADD:
		case SSR_CMD_TARGET_REMOVE:
		case SSR_CMD_TARGET_SET:
			break;
		default:
			return fail(p, EINVAL, "op", "'%s' cannot be batched (only rule.add, "
					"rule.replace, rule.delete, target.add, target.remove, "
					"target.set, target.drain)", op);
		}
	}
	switch (c->type) {
	case SSR_CMD_TARGET_ADD:
		return parse_target_cmd(p, o, top, op, TF_ADD, c);
	case SSR_CMD_TARGET_REMOVE:
	case SSR_CMD_UNREGISTER:
		return parse_target_cmd(p, o, top, op, TF_ADDR_ONLY, c);
	case SSR_CMD_TARGET_SET:
		if (strcmp(op, "target.drain") == 0) {
			int r = parse_target_cmd(p, o, top, op, TF_ADDR_ONLY, c);

			c->target.target.weight = 0;
			c->target.set = SSR_CMD_SET_WEIGHT;
			return r;
		}
		return parse_target_cmd(p, o, top, op, TF_SET, c);
	case SSR_CMD_REGISTER:
		return parse_target_cmd(p, o, top, op, TF_REGISTER, c);
	case SSR_CMD_REFRESH:
		return parse_target_cmd(p, o, top, op, TF_REFRESH, c);
	default:
		return fns[c->type](p, o, top, c);
	}
}

void
ssr_cmd_release(struct ssr_cmd *cmd)
{
	unsigned int i;

	if (cmd == NULL)
		return;
	switch (cmd->type) {
	case SSR_CMD_RULE_ADD:
	case SSR_CMD_RULE_REPLACE:
		free(cmd->rule.targets);
		break;
	case SSR_CMD_RELOAD:
		free(cmd->reload.path);
		break;
	case SSR_CMD_BATCH:
		for (i = 0; i < cmd->batch.n; i++)
			ssr_cmd_release(&cmd->batch.cmds[i]);
		free(cmd->batch.cmds);
		break;
	default:
		break;
	}
	memset(cmd, 0, sizeof(*cmd));
}

int
ssr_cmd_parse(const json_t *req, struct ssr_cmd *cmd, struct ssr_mgmt_error *e)
{
	struct pctx p = { .e = e, .base = "" };
	int r;

	memset(cmd, 0, sizeof(*cmd));
	if (!json_is_object(req))
		return fail(&p, EPROTO, NULL, "request must be a JSON object, found %s",
				req == NULL ? "nothing" : jtype(req));
	r = parse_op(&p, req, true, false, cmd);
	if (r < 0) {
		/* the type decides what ssr_cmd_release() frees: keep it as parsed */
		ssr_cmd_release(cmd);
		/* an error may come from a nested helper with no errno recorded */
		if (e != NULL && e->err == 0)
			ssr_mgmt_error_set(e, -r, NULL, "%s", strerror(-r));
	}
	return r;
}

int
ssr_mgmt_request_parse(const char *line, size_t len, json_t **id,
		struct ssr_cmd *cmd, struct ssr_mgmt_error *e)
{
	struct pctx p = { .e = e, .base = "" };
	json_error_t jerr;
	json_t *req, *idv;
	int r;

	*id = NULL;
	memset(cmd, 0, sizeof(*cmd));
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req == NULL)
		return fail(&p, EBADMSG, NULL, "request is not valid JSON: %s (at byte %d)",
				jerr.text, jerr.position);
	if (!json_is_object(req)) {
		r = fail(&p, EPROTO, NULL, "request must be a JSON object, found %s",
				jtype(req));
		goto out;
	}
	idv = json_object_get(req, "id");
	if (idv == NULL) {
		r = fail(&p, EPROTO, "id", "missing (every request needs an id: an "
				"integer or a string)");
		goto out;
	}
	if (!(json_is_integer(idv) || (json_is_string(idv) &&
				json_string_length(idv) <= SSR_MGMT_MAX_ID_LEN))) {
		r = fail(&p, EPROTO, "id", "expected an integer or a string of at most "
				"%u bytes, found %s", SSR_MGMT_MAX_ID_LEN,
				json_is_string(idv) ? "a longer string" : jtype(idv));
		goto out;
	}
	*id = json_incref(idv);
	r = ssr_cmd_parse(req, cmd, e);
out:
	json_decref(req);
	return r;
}

/* ---- replies ---- */

json_t *
ssr_mgmt_reply_ok(json_t *id, json_t *result)
{
	if (result == NULL)
		result = json_object();
	if (result == NULL)
		return NULL;
	return json_pack("{s:O?, s:b, s:o}", "id", id, "ok", 1, "result", result);
}

json_t *
ssr_mgmt_reply_error(json_t *id, struct ssr_mgmt_error *e)
{
	const char *ename;
	json_t *err, *reply;
	int code = e->err != 0 ? e->err : EIO;

	ename = strerrorname_np(code);
	err = json_pack("{s:s, s:s, s:s}", "code", ssr_mgmt_error_code(code),
			"errno", ename != NULL ? ename : "EUNKNOWN",
			"message", e->message[0] != '\0' ? e->message : strerror(code));
	if (err == NULL)
		return NULL;
	if (e->field[0] != '\0' &&
			json_object_set_new(err, "field", json_string(e->field)) != 0)
		goto fail;
	if (e->details != NULL) {
		if (json_object_set_new(err, "details", e->details) != 0) {
			e->details = NULL;
			goto fail;
		}
		e->details = NULL;
	}
	reply = json_pack("{s:O?, s:b, s:o}", "id", id, "ok", 0, "error", err);
	return reply;
fail:
	json_decref(err);
	return NULL;
}

/* ---- JSON views of config types ---- */

char *
ssr_mgmt_prefix_str(const struct sal_service_id *id, uint16_t bits, char *buf,
		size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int nbytes, i;
	size_t off = 0;

	/* trailing zero bytes are implied by the text form: leave them out */
	for (i = sizeof(id->b); i > 1; i--)
		if (id->b[i - 1] != 0)
			break;
	nbytes = i;
	if (len == 0)
		return buf;
	for (i = 0; i < nbytes && off + 2 < len; i++) {
		buf[off++] = hex[id->b[i] >> 4];
		buf[off++] = hex[id->b[i] & 0xf];
	}
	snprintf(buf + off, len - off, "/%u", (unsigned int)bits);
	return buf;
}

json_t *
ssr_mgmt_json_ipv4(uint32_t addr)
{
	char s[INET_ADDRSTRLEN];

	snprintf(s, sizeof(s), "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
			(addr >> 8) & 0xff, addr & 0xff);
	return json_string(s);
}

json_t *
ssr_mgmt_json_target(const struct ssr_cfg_target *t)
{
	return json_pack("{s:o, s:i, s:i}", "address", ssr_mgmt_json_ipv4(t->addr),
			"weight", (int)t->weight, "priority", (int)t->priority);
}

json_t *
ssr_mgmt_json_rule(const struct ssr_cfg_service *rule)
{
	char pfx[SSR_MGMT_PREFIX_STRLEN];
	json_t *o, *ts;
	unsigned int i;

	o = json_pack("{s:s, s:s}", "prefix",
			ssr_mgmt_prefix_str(&rule->id, rule->prefix_bits, pfx, sizeof(pfx)),
			"action", ssr_action_name(rule->action));
	if (o == NULL)
		return NULL;
	if (rule->action == SSR_ACTION_FORWARD) {
		ts = json_array();
		if (ts == NULL || json_object_set_new(o, "mode",
					json_string(ssr_mode_name(rule->mode))) != 0 ||
				json_object_set_new(o, "targets", ts) != 0)
			goto fail;
		for (i = 0; i < rule->n_targets; i++)
			if (json_array_append_new(ts,
					ssr_mgmt_json_target(&rule->targets[i])) != 0)
				goto fail;
		if (rule->health.enabled && json_object_set_new(o, "health",
					json_pack("{s:I, s:I, s:i, s:i, s:s}",
					"interval_ms", (json_int_t)rule->health.interval_ms,
					"timeout_ms", (json_int_t)rule->health.timeout_ms,
					"fall", (int)rule->health.fall,
					"rise", (int)rule->health.rise,
					"on_down", ssr_health_policy_name(
						rule->health.on_down))) != 0)
			goto fail;
	} else if (rule->action == SSR_ACTION_DELAY) {
		if (json_object_set_new(o, "delay", json_pack("{s:i, s:I}",
					"queue", (int)rule->delay_queue, "timeout_ms",
					(json_int_t)rule->delay_timeout_ms)) != 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}
