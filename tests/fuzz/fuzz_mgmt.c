/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * libFuzzer target for the management protocol parser (app/mgmt/
 * mgmt_proto.c). The input is what a client writes on the socket: it is cut
 * at newlines, as the server cuts it, and each line goes through
 * ssr_mgmt_request_parse(). Checked:
 * - no crash, no read outside the line, no leak, whatever the line;
 * - success and failure are consistent: 0 with no error recorded, or
 *   -err with an error code, a one-line message, and a command left zeroed;
 * - an accepted command holds only range-checked values (the appliers in
 *   mgmt.h rely on it), batches included;
 * - the reply built for the request (ok or error) is one line of JSON that
 *   parses back with the request's id;
 * - an accepted rule.add / rule.replace survives a round trip through
 *   ssr_mgmt_json_rule(): the JSON the router reports for a rule, sent back
 *   as a request, gives the same rule.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_checks.h"
#include "mgmt_proto.h"

/* Lines per input: the server has no limit, but a handful covers pipelining. */
#define MAX_LINES 8

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static bool
prefix_ok(const struct ssr_cmd_prefix *p)
{
	unsigned int i;

	if (p->bits > 256)
		return false;
	for (i = p->bits; i < 256; i++)
		if (p->id.b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static void
check_rule(const struct ssr_cfg_service *s)
{
	struct ssr_cmd_prefix p = { .id = s->id, .bits = s->prefix_bits };
	bool any = false;
	unsigned int i, j;

	check(prefix_ok(&p));
	check(s->line == 0);
	check_health(&s->health, s->action == SSR_ACTION_FORWARD);
	switch (s->action) {
	case SSR_ACTION_FORWARD:
		check(s->mode == SSR_MODE_RESOLVE || s->mode == SSR_MODE_GATEWAY);
		check(s->n_targets >= 1 && s->n_targets <= SSR_CFG_MAX_TARGETS);
		for (i = 0; i < s->n_targets; i++) {
			check(unicast(s->targets[i].addr));
			for (j = 0; j < i; j++)
				check(s->targets[j].addr != s->targets[i].addr);
			any |= s->targets[i].weight > 0;
		}
		check(any);
		break;
	case SSR_ACTION_DELAY:
		check(s->delay_queue >= 1 && s->delay_queue <= SSR_MGMT_DELAY_MAX_QUEUE);
		check(s->delay_timeout_ms >= 1 &&
			s->delay_timeout_ms <= SSR_MGMT_DELAY_MAX_TIMEOUT_MS);
		/* fall through */
	case SSR_ACTION_LOCAL:
	case SSR_ACTION_DROP:
		check(s->mode == SSR_MODE_RESOLVE);
		check(s->n_targets == 0 && s->targets == NULL);
		break;
	default:
		check(0);
	}
}

static void
check_cmd(const struct ssr_cmd *c, bool in_batch)
{
	unsigned int i;

	check((unsigned int)c->type < SSR_CMD_MAX);
	switch (c->type) {
	case SSR_CMD_RULE_ADD:
	case SSR_CMD_RULE_REPLACE:
		check_rule(&c->rule);
		break;
	case SSR_CMD_RULE_DELETE:
		check(prefix_ok(&c->prefix));
		break;
	case SSR_CMD_TARGET_ADD:
	case SSR_CMD_TARGET_REMOVE:
	case SSR_CMD_TARGET_SET:
	case SSR_CMD_REGISTER:
	case SSR_CMD_REFRESH:
	case SSR_CMD_UNREGISTER:
		check(prefix_ok(&c->target.prefix));
		check(unicast(c->target.target.addr));
		check((c->target.set & ~(SSR_CMD_SET_WEIGHT | SSR_CMD_SET_PRIORITY |
			SSR_CMD_SET_LEASE)) == 0);
		if (c->type == SSR_CMD_TARGET_SET)
			check(c->target.set != 0);
		if (c->type == SSR_CMD_REGISTER)
			check(c->target.set & SSR_CMD_SET_LEASE);
		if (c->target.set & SSR_CMD_SET_LEASE)
			check(c->target.lease_s >= SSR_MGMT_LEASE_MIN_S &&
				c->target.lease_s <= SSR_MGMT_LEASE_MAX_S);
		else
			check(c->target.lease_s == 0);
		break;
	case SSR_CMD_RULES_LIST:
		if (c->rules.has_prefix)
			check(prefix_ok(&c->rules.prefix));
		break;
	case SSR_CMD_RESOLVE:
		if (c->resolve.has_client)
			check(unicast(c->resolve.client));
		if (c->resolve.has_client_flow_id)
			check(c->resolve.client_flow_id != 0);
		break;
	case SSR_CMD_FLOWS_LIST:
		check(c->flows.limit >= 1 && c->flows.limit <= SSR_MGMT_FLOWS_MAX_LIMIT);
		if (c->flows.has_prefix)
			check(prefix_ok(&c->flows.prefix));
		if (c->flows.has_target)
			check(unicast(c->flows.target));
		break;
	case SSR_CMD_FLOWS_SHOW:
	case SSR_CMD_FLOWS_DELETE:
		check(c->flow.flow_id != 0);
		break;
	case SSR_CMD_RELOAD:
		if (c->reload.path != NULL)
			check(c->reload.path[0] == '/' && strlen(c->reload.path) < 4096);
		break;
	case SSR_CMD_SUBSCRIBE:
	case SSR_CMD_UNSUBSCRIBE:
		check(c->subscribe.events != 0 &&
			(c->subscribe.events & ~SSR_MGMT_EVENTS_ALL) == 0);
		break;
	case SSR_CMD_BATCH:
		check(!in_batch);
		check(c->batch.n >= 1 && c->batch.n <= SSR_MGMT_MAX_BATCH);
		for (i = 0; i < c->batch.n; i++) {
			const struct ssr_cmd *b = &c->batch.cmds[i];

			check(b->type == SSR_CMD_RULE_ADD || b->type == SSR_CMD_RULE_REPLACE ||
				b->type == SSR_CMD_RULE_DELETE ||
				b->type == SSR_CMD_TARGET_ADD ||
				b->type == SSR_CMD_TARGET_REMOVE ||
				b->type == SSR_CMD_TARGET_SET);
			check_cmd(b, true);
		}
		break;
	default:
		break;
	}
}

/* The reply is one line of JSON that parses back with the request's id. */
static void
check_reply(json_t *reply, json_t *id, bool ok)
{
	json_t *back, *bid;
	char *s;

	check(reply != NULL);
	s = json_dumps(reply, JSON_COMPACT);
	check(s != NULL && strchr(s, '\n') == NULL);
	back = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	check(back != NULL && json_is_object(back));
	check(json_is_boolean(json_object_get(back, "ok")) &&
		json_is_true(json_object_get(back, "ok")) == ok);
	bid = json_object_get(back, "id");
	check(bid != NULL);
	if (id == NULL)
		check(json_is_null(bid));
	else
		check(json_equal(bid, id));
	if (!ok) {
		json_t *err = json_object_get(back, "error");

		check(json_is_object(err));
		check(json_is_string(json_object_get(err, "code")));
		check(json_is_string(json_object_get(err, "message")));
		check(json_string_length(json_object_get(err, "message")) > 0);
	}
	json_decref(back);
	free(s);
}

/* ssr_mgmt_json_rule() -> request -> parse gives the same rule back. */
static void
rule_round_trip(const struct ssr_cmd *c)
{
	const struct ssr_cfg_service *a = &c->rule, *b;
	struct ssr_mgmt_error e;
	struct ssr_cmd again;
	json_t *o, *id = NULL;
	char *s;
	unsigned int i;
	int r;

	o = ssr_mgmt_json_rule(a);
	check(o != NULL);
	check(json_object_set_new(o, "id", json_integer(7)) == 0);
	check(json_object_set_new(o, "op", json_string(ssr_cmd_name(c->type))) == 0);
	s = json_dumps(o, JSON_COMPACT);
	check(s != NULL);
	memset(&e, 0, sizeof(e));
	r = ssr_mgmt_request_parse(s, strlen(s), &id, &again, &e);
	check(r == 0 && again.type == c->type);
	b = &again.rule;
	check(memcmp(&a->id, &b->id, sizeof(a->id)) == 0 && a->prefix_bits == b->prefix_bits);
	check(a->action == b->action && a->mode == b->mode && a->n_targets == b->n_targets);
	for (i = 0; i < a->n_targets; i++)
		check(memcmp(&a->targets[i], &b->targets[i], sizeof(a->targets[i])) == 0);
	if (a->action == SSR_ACTION_DELAY)
		check(a->delay_queue == b->delay_queue &&
			a->delay_timeout_ms == b->delay_timeout_ms);
	check(a->health.enabled == b->health.enabled);
	if (a->health.enabled)
		check(a->health.interval_ms == b->health.interval_ms &&
			a->health.timeout_ms == b->health.timeout_ms &&
			a->health.fall == b->health.fall && a->health.rise == b->health.rise &&
			a->health.on_down == b->health.on_down);
	ssr_cmd_release(&again);
	ssr_mgmt_error_clear(&e);
	json_decref(id);
	free(s);
	json_decref(o);
}

static void
one_line(const char *line, size_t len)
{
	struct ssr_mgmt_error e;
	struct ssr_cmd cmd;
	json_t *id = (json_t *)1, *reply;
	int r;

	memset(&e, 0, sizeof(e));
	r = ssr_mgmt_request_parse(line, len, &id, &cmd, &e);
	check(id != (json_t *)1);
	if (id != NULL)
		check(json_is_integer(id) || (json_is_string(id) &&
			json_string_length(id) <= SSR_MGMT_MAX_ID_LEN));
	if (r == 0) {
		check(e.err == 0 && e.details == NULL);
		check(id != NULL);
		check_cmd(&cmd, false);
		if (cmd.type == SSR_CMD_RULE_ADD || cmd.type == SSR_CMD_RULE_REPLACE)
			rule_round_trip(&cmd);
		reply = ssr_mgmt_reply_ok(id, NULL);
		check_reply(reply, id, true);
	} else {
		check(r < 0 && e.err == -r);
		check(e.message[0] != '\0' && memchr(e.message, '\0', sizeof(e.message)));
		check(memchr(e.field, '\0', sizeof(e.field)) != NULL);
		check(all_zero(&cmd, sizeof(cmd)));
		/* the errno values mgmt_proto.h documents for this call */
		check(e.err == EBADMSG || e.err == EPROTO || e.err == EBADRQC ||
			e.err == EINVAL || e.err == ENOMEM);
		reply = ssr_mgmt_reply_error(id, &e);
		check_reply(reply, id, false);
	}
	json_decref(reply);
	ssr_cmd_release(&cmd);
	check(all_zero(&cmd, sizeof(cmd)));
	ssr_mgmt_error_clear(&e);
	json_decref(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0, i;
	unsigned int lines = 0;

	for (i = 0; i <= size && lines < MAX_LINES; i++) {
		char *line;
		size_t len;

		if (i < size && data[i] != '\n')
			continue;
		len = i - start;
		/* an exact-size copy, no NUL: the parser gets (line, len) only */
		line = malloc(len == 0 ? 1 : len);
		check(line != NULL);
		memcpy(line, data + start, len);
		one_line(line, len);
		free(line);
		start = i + 1;
		lines++;
	}
	return 0;
}
