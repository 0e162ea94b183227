/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The management protocol without a socket: every operation parses into the
 * struct ssr_cmd it should, every kind of bad request is refused with the
 * right code, field and reason, and nothing invalid reaches the ops.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_ops.h"
#include "mgmt.h"
#include "mgmt_proto.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

/* Parse one line that must succeed. */
static void
parse_ok(const char *line, struct ssr_cmd *cmd)
{
	struct ssr_mgmt_error e;
	json_t *id = NULL;
	int r;

	memset(&e, 0, sizeof(e));
	r = ssr_mgmt_request_parse(line, strlen(line), &id, cmd, &e);
	if (r != 0)
		fail_msg("'%s' failed: %s", line, e.message);
	assert_non_null(id);
	json_decref(id);
	ssr_mgmt_error_clear(&e);
}

static void
prefix_is(const struct ssr_cmd_prefix *p, const char *text)
{
	char buf[SSR_MGMT_PREFIX_STRLEN];

	assert_string_equal(ssr_mgmt_prefix_str(&p->id, p->bits, buf, sizeof(buf)),
			text);
}

/* ---- every operation, valid ---- */

static void
test_rule_add_forward(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
			"\"forward\",\"mode\":\"gateway\",\"targets\":[{\"address\":"
			"\"192.0.2.10\",\"weight\":3,\"priority\":2},{\"address\":"
			"\"192.0.2.11\"}]}", &c);
	assert_int_equal(c.type, SSR_CMD_RULE_ADD);
	assert_int_equal(c.rule.prefix_bits, 16);
	assert_int_equal(c.rule.id.b[0], 0x40);
	assert_int_equal(c.rule.id.b[1], 0x01);
	assert_int_equal(c.rule.id.b[2], 0);
	assert_int_equal(c.rule.action, SSR_ACTION_FORWARD);
	assert_int_equal(c.rule.mode, SSR_MODE_GATEWAY);
	assert_int_equal(c.rule.n_targets, 2);
	assert_int_equal(c.rule.targets[0].addr, IP(192, 0, 2, 10));
	assert_int_equal(c.rule.targets[0].weight, 3);
	assert_int_equal(c.rule.targets[0].priority, 2);
	assert_int_equal(c.rule.targets[1].addr, IP(192, 0, 2, 11));
	assert_int_equal(c.rule.targets[1].weight, 1);   /* default */
	assert_int_equal(c.rule.targets[1].priority, 0); /* default */
	assert_int_equal(c.rule.line, 0);
	assert_false(c.rule.health.enabled);
	ssr_cmd_release(&c);
	assert_int_equal(c.type, 0);
	assert_null(c.rule.targets);

	parse_ok("{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
			"\"forward\",\"targets\":[{\"address\":\"192.0.2.10\"}],"
			"\"health\":{}}", &c);
	assert_true(c.rule.health.enabled);
	assert_int_equal(c.rule.health.interval_ms, SSR_CFG_HEALTH_DEFAULT_INTERVAL_MS);
	assert_int_equal(c.rule.health.timeout_ms, SSR_CFG_HEALTH_DEFAULT_TIMEOUT_MS);
	assert_int_equal(c.rule.health.fall, SSR_CFG_HEALTH_DEFAULT_FALL);
	assert_int_equal(c.rule.health.rise, SSR_CFG_HEALTH_DEFAULT_RISE);
	assert_int_equal(c.rule.health.on_down, SSR_HEALTH_KEEP);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
			"\"forward\",\"targets\":[{\"address\":\"192.0.2.10\"}],"
			"\"health\":{\"interval_ms\":200,\"timeout_ms\":50,\"fall\":1,"
			"\"rise\":4,\"on_down\":\"reset\"}}", &c);
	assert_int_equal(c.rule.health.interval_ms, 200);
	assert_int_equal(c.rule.health.timeout_ms, 50);
	assert_int_equal(c.rule.health.fall, 1);
	assert_int_equal(c.rule.health.rise, 4);
	assert_int_equal(c.rule.health.on_down, SSR_HEALTH_RESET);
	{
		json_t *j = ssr_mgmt_json_rule(&c.rule);
		char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

		assert_non_null(strstr(txt, "\"health\":{\"fall\":1,\"interval_ms\":200,"
					"\"on_down\":\"reset\",\"rise\":4,\"timeout_ms\":50}"));
		free(txt);
		json_decref(j);
	}
	ssr_cmd_release(&c);

	parse_ok("{\"id\":\"x\",\"op\":\"rule.replace\",\"prefix\":\"00/0\","
			"\"action\":\"forward\",\"targets\":[{\"address\":\"10.0.0.1\"}]}",
			&c);
	assert_int_equal(c.type, SSR_CMD_RULE_REPLACE);
	assert_int_equal(c.rule.prefix_bits, 0);
	assert_int_equal(c.rule.mode, SSR_MODE_RESOLVE); /* default */
	ssr_cmd_release(&c);
}

static void
test_rule_add_other_actions(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4002/16\",\"action\":"
			"\"delay\",\"delay\":{\"queue\":8,\"timeout_ms\":500}}", &c);
	assert_int_equal(c.rule.action, SSR_ACTION_DELAY);
	assert_int_equal(c.rule.delay_queue, 8);
	assert_int_equal(c.rule.delay_timeout_ms, 500);
	assert_null(c.rule.targets);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4002/16\",\"action\":"
			"\"delay\"}", &c);
	assert_int_equal(c.rule.delay_queue, SSR_MGMT_DELAY_DEFAULT_QUEUE);
	assert_int_equal(c.rule.delay_timeout_ms, SSR_MGMT_DELAY_DEFAULT_TIMEOUT_MS);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"ff/8\",\"action\":"
			"\"drop\"}", &c);
	assert_int_equal(c.rule.action, SSR_ACTION_DROP);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"00015b38/256\","
			"\"action\":\"local\"}", &c);
	assert_int_equal(c.rule.action, SSR_ACTION_LOCAL);
	assert_int_equal(c.rule.prefix_bits, 256);
	ssr_cmd_release(&c);
}

static void
test_rule_delete_and_list(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001/16\"}", &c);
	assert_int_equal(c.type, SSR_CMD_RULE_DELETE);
	prefix_is(&c.prefix, "4001/16");
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"rules.list\"}", &c);
	assert_int_equal(c.type, SSR_CMD_RULES_LIST);
	assert_false(c.rules.has_prefix);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"rules.list\",\"prefix\":\"4001/16\"}", &c);
	assert_true(c.rules.has_prefix);
	prefix_is(&c.rules.prefix, "4001/16");
	ssr_cmd_release(&c);
}

static void
test_target_ops(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"target.add\",\"prefix\":\"4001/16\","
			"\"address\":\"192.0.2.12\",\"weight\":5}", &c);
	assert_int_equal(c.type, SSR_CMD_TARGET_ADD);
	prefix_is(&c.target.prefix, "4001/16");
	assert_int_equal(c.target.target.addr, IP(192, 0, 2, 12));
	assert_int_equal(c.target.target.weight, 5);
	assert_int_equal(c.target.target.priority, 0);
	assert_int_equal(c.target.set, SSR_CMD_SET_WEIGHT);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"target.remove\",\"prefix\":\"4001/16\","
			"\"address\":\"192.0.2.12\"}", &c);
	assert_int_equal(c.type, SSR_CMD_TARGET_REMOVE);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"target.set\",\"prefix\":\"4001/16\","
			"\"address\":\"192.0.2.12\",\"priority\":9}", &c);
	assert_int_equal(c.type, SSR_CMD_TARGET_SET);
	assert_int_equal(c.target.set, SSR_CMD_SET_PRIORITY);
	assert_int_equal(c.target.target.priority, 9);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"target.set\",\"prefix\":\"4001/16\","
			"\"address\":\"192.0.2.12\",\"priority\":1,\"weight\":0}", &c);
	assert_int_equal(c.target.set, SSR_CMD_SET_PRIORITY | SSR_CMD_SET_WEIGHT);
	assert_int_equal(c.target.target.weight, 0);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"target.drain\",\"prefix\":\"4001/16\","
			"\"address\":\"192.0.2.12\"}", &c);
	assert_int_equal(c.type, SSR_CMD_TARGET_SET);
	assert_int_equal(c.target.set, SSR_CMD_SET_WEIGHT);
	assert_int_equal(c.target.target.weight, 0);
	ssr_cmd_release(&c);
}

static void
test_queries(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"resolve\",\"service_id\":\"40010203\"}", &c);
	assert_int_equal(c.type, SSR_CMD_RESOLVE);
	assert_int_equal(c.resolve.id.b[3], 0x03);
	assert_false(c.resolve.has_client);
	assert_false(c.resolve.has_client_flow_id);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"resolve\",\"service_id\":\"4001\",\"client\":"
			"\"198.51.100.7\",\"client_flow_id\":4294967295}", &c);
	assert_true(c.resolve.has_client);
	assert_int_equal(c.resolve.client, IP(198, 51, 100, 7));
	assert_true(c.resolve.has_client_flow_id);
	assert_int_equal(c.resolve.client_flow_id, 0xffffffffu);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"flows.list\"}", &c);
	assert_int_equal(c.type, SSR_CMD_FLOWS_LIST);
	assert_int_equal(c.flows.limit, SSR_MGMT_FLOWS_DEFAULT_LIMIT);
	assert_false(c.flows.has_prefix);
	assert_false(c.flows.has_target);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"flows.list\",\"limit\":5,\"prefix\":\"4001/16\","
			"\"target\":\"192.0.2.10\"}", &c);
	assert_int_equal(c.flows.limit, 5);
	assert_true(c.flows.has_prefix);
	assert_true(c.flows.has_target);
	assert_int_equal(c.flows.target, IP(192, 0, 2, 10));
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"flows.show\",\"flow_id\":77}", &c);
	assert_int_equal(c.type, SSR_CMD_FLOWS_SHOW);
	assert_int_equal(c.flow.flow_id, 77);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"flows.delete\",\"flow_id\":78}", &c);
	assert_int_equal(c.type, SSR_CMD_FLOWS_DELETE);
	assert_int_equal(c.flow.flow_id, 78);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"stats\"}", &c);
	assert_int_equal(c.type, SSR_CMD_STATS);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"version\"}", &c);
	assert_int_equal(c.type, SSR_CMD_VERSION);
	ssr_cmd_release(&c);
}

static void
test_reload_subscribe(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"reload\"}", &c);
	assert_int_equal(c.type, SSR_CMD_RELOAD);
	assert_null(c.reload.path);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"reload\",\"path\":\"/etc/s.yaml\"}", &c);
	assert_string_equal(c.reload.path, "/etc/s.yaml");
	ssr_cmd_release(&c);
	assert_null(c.reload.path);

	parse_ok("{\"id\":1,\"op\":\"subscribe\"}", &c);
	assert_int_equal(c.type, SSR_CMD_SUBSCRIBE);
	assert_int_equal(c.subscribe.events, SSR_MGMT_EVENTS_ALL);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"subscribe\",\"events\":[\"delay_miss\","
			"\"health\"]}", &c);
	assert_int_equal(c.subscribe.events,
			(1u << SSR_MGMT_EVENT_DELAY_MISS_BIT) |
			(1u << SSR_MGMT_EVENT_HEALTH_BIT));
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"unsubscribe\",\"events\":[\"rule\"]}", &c);
	assert_int_equal(c.type, SSR_CMD_UNSUBSCRIBE);
	assert_int_equal(c.subscribe.events, 1u << SSR_MGMT_EVENT_RULE_BIT);
	ssr_cmd_release(&c);
}

static void
test_register_family(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"register\",\"prefix\":\"4001/32\",\"address\":"
			"\"192.0.2.20\",\"lease_s\":30}", &c);
	assert_int_equal(c.type, SSR_CMD_REGISTER);
	assert_int_equal(c.target.lease_s, 30);
	assert_int_equal(c.target.set, SSR_CMD_SET_LEASE);
	assert_int_equal(c.target.target.weight, 1);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"refresh\",\"prefix\":\"4001/32\",\"address\":"
			"\"192.0.2.20\"}", &c);
	assert_int_equal(c.type, SSR_CMD_REFRESH);
	assert_int_equal(c.target.lease_s, 0);
	assert_int_equal(c.target.set, 0);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"refresh\",\"prefix\":\"4001/32\",\"address\":"
			"\"192.0.2.20\",\"lease_s\":86400}", &c);
	assert_int_equal(c.target.lease_s, 86400);
	ssr_cmd_release(&c);

	parse_ok("{\"id\":1,\"op\":\"unregister\",\"prefix\":\"4001/32\",\"address\":"
			"\"192.0.2.20\"}", &c);
	assert_int_equal(c.type, SSR_CMD_UNREGISTER);
	ssr_cmd_release(&c);
}

static void
test_batch(void **state)
{
	struct ssr_cmd c;

	(void)state;
	parse_ok("{\"id\":1,\"op\":\"batch\",\"ops\":["
			"{\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"forward\","
			"\"targets\":[{\"address\":\"192.0.2.10\"}]},"
			"{\"op\":\"target.drain\",\"prefix\":\"4002/16\",\"address\":"
			"\"192.0.2.11\"},"
			"{\"op\":\"rule.delete\",\"prefix\":\"4003/16\"}]}", &c);
	assert_int_equal(c.type, SSR_CMD_BATCH);
	assert_int_equal(c.batch.n, 3);
	assert_int_equal(c.batch.cmds[0].type, SSR_CMD_RULE_ADD);
	assert_int_equal(c.batch.cmds[0].rule.n_targets, 1);
	assert_int_equal(c.batch.cmds[1].type, SSR_CMD_TARGET_SET);
	assert_int_equal(c.batch.cmds[1].target.target.weight, 0);
	assert_int_equal(c.batch.cmds[2].type, SSR_CMD_RULE_DELETE);
	prefix_is(&c.batch.cmds[2].prefix, "4003/16");
	ssr_cmd_release(&c);
}

/* ---- every error path ---- */

struct bad {
	const char *line;
	int err;              /* expected errno */
	const char *field;    /* expected field ("" = none) */
	const char *reason;   /* substring of the message */
};

#define RA "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":" \
	"\"forward\",\"targets\":"
#define TA "{\"id\":1,\"op\":\"target.add\",\"prefix\":\"4001/16\",\"address\":"
#define B "{\"id\":1,\"op\":\"batch\",\"ops\":"

static const struct bad bad_requests[] = {
	/* envelope */
	{ "{\"id\":1,", EBADMSG, "", "not valid JSON" },
	{ "", EBADMSG, "", "not valid JSON" },
	{ "{\"id\":1,\"op\":\"stats\"} x", EBADMSG, "", "not valid JSON" },
	{ "{\"id\":1,\"op\":\"stats\"}{\"id\":2,\"op\":\"stats\"}", EBADMSG, "",
		"not valid JSON" },
	{ "{\"id\":1,\"id\":2,\"op\":\"stats\"}", EBADMSG, "", "duplicate" },
	{ "[1,2]", EPROTO, "", "must be a JSON object, found an array" },
	{ "\"stats\"", EPROTO, "", "found a string" },
	{ "42", EPROTO, "", "found an integer" },
	{ "{\"op\":\"stats\"}", EPROTO, "id", "missing" },
	{ "{\"id\":1.5,\"op\":\"stats\"}", EPROTO, "id", "found a real number" },
	{ "{\"id\":{},\"op\":\"stats\"}", EPROTO, "id", "found an object" },
	{ "{\"id\":null,\"op\":\"stats\"}", EPROTO, "id", "found null" },
	{ "{\"id\":\"" "0123456789012345678901234567890123456789012345678901234567890"
		"12345678901234567890123456789012345678901234567890123456789012345678"
		"9\",\"op\":\"stats\"}", EPROTO, "id", "a longer string" },
	{ "{\"id\":1}", EPROTO, "op", "missing" },
	{ "{\"id\":1,\"op\":7}", EPROTO, "op", "found an integer" },
	{ "{\"id\":1,\"op\":\"rule.frobnicate\"}", EBADRQC, "op",
		"unknown operation 'rule.frobnicate'" },
	{ "{\"id\":1,\"op\":\"stats\",\"verbose\":true}", EINVAL, "verbose",
		"unknown member for stats (allowed: none)" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001/16\",\"prefx\":1}",
		EINVAL, "prefx", "unknown member for rule.delete (allowed: prefix)" },
	/* serviceIDs and prefixes */
	{ "{\"id\":1,\"op\":\"rule.delete\"}", EINVAL, "prefix", "missing" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"zz/8\"}", EINVAL, "prefix",
		"not a hex digit" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001\"}", EINVAL, "prefix",
		"needs a length" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001/257\"}", EINVAL,
		"prefix", "outside 0..256" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001/-1\"}", EINVAL,
		"prefix", "prefix length" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001/\"}", EINVAL,
		"prefix", "prefix length" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001/8\"}", EINVAL,
		"prefix", "beyond the prefix length" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"/8\"}", EINVAL, "prefix",
		"hex digits" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"\"}", EINVAL, "prefix",
		"empty string" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":16}", EINVAL, "prefix",
		"found an integer" },
	/* jansson refuses NUL in strings outright (get_str checks anyway) */
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"40\\u00001/16\"}", EBADMSG,
		"", "is not allowed" },
	{ "{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"0000000000000000000000000"
		"00000000000000000000000000000000000000000/256\"}", EINVAL, "prefix",
		"more than 64 hex digits" },
	{ "{\"id\":1,\"op\":\"resolve\",\"service_id\":\"4001/16\"}", EINVAL,
		"service_id", "prefix length is not allowed" },
	{ "{\"id\":1,\"op\":\"resolve\",\"service_id\":\"0x4001\"}", EINVAL,
		"service_id", "not a hex digit" },
	{ "{\"id\":1,\"op\":\"resolve\"}", EINVAL, "service_id", "missing" },
	/* addresses */
	{ TA "\"192.0.2\"}", EINVAL, "address", "not an IPv4 address" },
	{ TA "\"256.0.2.1\"}", EINVAL, "address", "not an IPv4 address" },
	{ TA "\" 192.0.2.1\"}", EINVAL, "address", "not an IPv4 address" },
	{ TA "\"192.0.2.1x\"}", EINVAL, "address", "not an IPv4 address" },
	{ TA "\"127.0.0.1\"}", EINVAL, "address", "not a unicast host address" },
	{ TA "\"0.0.0.0\"}", EINVAL, "address", "not a unicast host address" },
	{ TA "\"224.0.0.1\"}", EINVAL, "address", "not a unicast host address" },
	{ TA "\"255.255.255.255\"}", EINVAL, "address", "not a unicast" },
	{ TA "3221225994}", EINVAL, "address", "found an integer" },
	{ "{\"id\":1,\"op\":\"target.add\",\"prefix\":\"4001/16\"}", EINVAL,
		"address", "missing" },
	{ "{\"id\":1,\"op\":\"resolve\",\"service_id\":\"4001\",\"client\":"
		"\"10.1.1\"}", EINVAL, "client", "not an IPv4 address" },
	/* weights, priorities and other numbers */
	{ TA "\"192.0.2.1\",\"weight\":65536}", EINVAL, "weight",
		"65536 is outside 0..65535" },
	{ TA "\"192.0.2.1\",\"weight\":-1}", EINVAL, "weight",
		"-1 is outside 0..65535" },
	{ TA "\"192.0.2.1\",\"weight\":1.5}", EINVAL, "weight",
		"expected an integer 0..65535, found a real number" },
	{ TA "\"192.0.2.1\",\"weight\":\"1\"}", EINVAL, "weight", "found a string" },
	{ TA "\"192.0.2.1\",\"weight\":true}", EINVAL, "weight", "found true" },
	{ TA "\"192.0.2.1\",\"weight\":null}", EINVAL, "weight", "found null" },
	{ TA "\"192.0.2.1\",\"priority\":70000}", EINVAL, "priority",
		"70000 is outside 0..65535" },
	{ TA "\"192.0.2.1\",\"weight\":99999999999999999999}", EBADMSG, "",
		"not valid JSON" },
	{ "{\"id\":1,\"op\":\"target.set\",\"prefix\":\"4001/16\",\"address\":"
		"\"192.0.2.1\"}", EINVAL, "", "needs weight or priority" },
	{ "{\"id\":1,\"op\":\"target.drain\",\"prefix\":\"4001/16\",\"address\":"
		"\"192.0.2.1\",\"weight\":3}", EINVAL, "weight", "unknown member" },
	{ "{\"id\":1,\"op\":\"resolve\",\"service_id\":\"4001\",\"client_flow_id\""
		":0}", EINVAL, "client_flow_id", "0 is outside 1..4294967295" },
	{ "{\"id\":1,\"op\":\"resolve\",\"service_id\":\"4001\",\"client_flow_id\""
		":4294967296}", EINVAL, "client_flow_id", "outside 1..4294967295" },
	{ "{\"id\":1,\"op\":\"flows.list\",\"limit\":0}", EINVAL, "limit",
		"outside 1..100000" },
	{ "{\"id\":1,\"op\":\"flows.list\",\"limit\":100001}", EINVAL, "limit",
		"outside 1..100000" },
	{ "{\"id\":1,\"op\":\"flows.show\"}", EINVAL, "flow_id", "missing" },
	{ "{\"id\":1,\"op\":\"flows.delete\",\"flow_id\":0}", EINVAL, "flow_id",
		"outside" },
	{ "{\"id\":1,\"op\":\"flows.show\",\"flow_id\":\"7\"}", EINVAL, "flow_id",
		"found a string" },
	/* rule shapes */
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\"}", EINVAL, "action",
		"missing" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
		"\"redirect\"}", EINVAL, "action",
		"'redirect' is not one of: forward, local, delay, drop" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
		"\"forward\"}", EINVAL, "targets", "missing" },
	{ RA "[]}", EINVAL, "targets", "at least one target" },
	{ RA "{}}", EINVAL, "targets", "found an object" },
	{ RA "[\"192.0.2.1\"]}", EINVAL, "targets[0]", "found a string" },
	{ RA "[{\"weight\":1}]}", EINVAL, "targets[0].address", "missing" },
	{ RA "[{\"address\":\"192.0.2.1\"},{\"address\":\"192.0.2.2\",\"weight\":"
		"70000}]}", EINVAL, "targets[1].weight", "70000 is outside 0..65535" },
	{ RA "[{\"address\":\"192.0.2.1\",\"port\":80}]}", EINVAL,
		"targets[0].port", "unknown member" },
	{ RA "[{\"address\":\"192.0.2.1\"},{\"address\":\"192.0.2.1\"}]}", EINVAL,
		"targets[1].address", "duplicate target (same as targets[0])" },
	{ RA "[{\"address\":\"192.0.2.1\",\"weight\":0}]}", EINVAL, "targets",
		"every target has weight 0" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"drop\","
		"\"mode\":\"gateway\"}", EINVAL, "mode", "only applies to action forward" },
	{ RA "[{\"address\":\"192.0.2.1\"}],\"mode\":\"tunnel\"}", EINVAL, "mode",
		"not one of: resolve, gateway" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"local\","
		"\"targets\":[{\"address\":\"192.0.2.1\"}]}", EINVAL, "targets",
		"only allowed with action forward, not local" },
	{ RA "[{\"address\":\"192.0.2.1\"}],\"delay\":{}}", EINVAL, "delay",
		"only applies to action delay" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"delay\","
		"\"delay\":{\"queue\":0}}", EINVAL, "delay.queue", "outside 1..4096" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"delay\","
		"\"delay\":{\"queue\":4097}}", EINVAL, "delay.queue", "outside 1..4096" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"delay\","
		"\"delay\":{\"timeout_ms\":0}}", EINVAL, "delay.timeout_ms",
		"outside 1..600000" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"delay\","
		"\"delay\":{\"timeout\":5}}", EINVAL, "delay.timeout", "unknown member" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"delay\","
		"\"delay\":5}", EINVAL, "delay", "found an integer" },
	/* health checks */
	{ RA "[{\"address\":\"192.0.2.1\"}],\"health\":true}", EINVAL, "health",
		"expected an object" },
	{ RA "[{\"address\":\"192.0.2.1\"}],\"health\":{\"interval_ms\":5}}",
		EINVAL, "health.interval_ms", "5 is outside 10..3600000" },
	{ RA "[{\"address\":\"192.0.2.1\"}],\"health\":{\"interval_ms\":100,"
		"\"timeout_ms\":101}}", EINVAL, "health.timeout_ms",
		"101 is longer than interval_ms (100)" },
	{ RA "[{\"address\":\"192.0.2.1\"}],\"health\":{\"fall\":0}}", EINVAL,
		"health.fall", "outside 1..100" },
	{ RA "[{\"address\":\"192.0.2.1\"}],\"health\":{\"on_down\":\"drop\"}}",
		EINVAL, "health.on_down", "'drop' is not one of: keep, reset" },
	{ RA "[{\"address\":\"192.0.2.1\"}],\"health\":{\"port\":80}}", EINVAL,
		"health.port", "unknown member" },
	{ "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"drop\","
		"\"health\":{}}", EINVAL, "health", "only applies to action forward" },
	{ B "[{\"op\":\"rule.add\",\"prefix\":\"4002/16\",\"action\":\"forward\","
		"\"targets\":[{\"address\":\"192.0.2.1\"}],\"health\":{\"rise\":101}}]}",
		EINVAL, "ops[0].health.rise", "outside 1..100" },
	/* reload, subscribe, register */
	{ "{\"id\":1,\"op\":\"reload\",\"path\":\"etc/s.yaml\"}", EINVAL, "path",
		"not an absolute path" },
	{ "{\"id\":1,\"op\":\"reload\",\"path\":[]}", EINVAL, "path",
		"found an array" },
	{ "{\"id\":1,\"op\":\"subscribe\",\"events\":[\"rules\"]}", EINVAL,
		"events[0]", "'rules' is not one of" },
	{ "{\"id\":1,\"op\":\"subscribe\",\"events\":[]}", EINVAL, "events", "empty" },
	{ "{\"id\":1,\"op\":\"subscribe\",\"events\":\"rule\"}", EINVAL, "events",
		"found a string" },
	{ "{\"id\":1,\"op\":\"subscribe\",\"events\":[\"rule\",3]}", EINVAL,
		"events[1]", "found an integer" },
	{ "{\"id\":1,\"op\":\"register\",\"prefix\":\"4001/32\",\"address\":"
		"\"192.0.2.20\"}", EINVAL, "lease_s", "missing" },
	{ "{\"id\":1,\"op\":\"register\",\"prefix\":\"4001/32\",\"address\":"
		"\"192.0.2.20\",\"lease_s\":0}", EINVAL, "lease_s", "outside 1..86400" },
	{ "{\"id\":1,\"op\":\"refresh\",\"prefix\":\"4001/32\",\"address\":"
		"\"192.0.2.20\",\"lease_s\":86401}", EINVAL, "lease_s", "outside" },
	{ "{\"id\":1,\"op\":\"unregister\",\"prefix\":\"4001/32\",\"address\":"
		"\"192.0.2.20\",\"lease_s\":5}", EINVAL, "lease_s", "unknown member" },
	/* batch */
	{ B "{}}", EINVAL, "ops", "expected an array of operations" },
	{ B "[]}", EINVAL, "ops", "empty batch" },
	{ "{\"id\":1,\"op\":\"batch\"}", EINVAL, "ops", "missing" },
	{ B "[7]}", EINVAL, "ops[0]", "expected an operation object" },
	{ B "[{\"prefix\":\"4001/16\"}]}", EPROTO, "ops[0].op", "missing" },
	{ B "[{\"op\":\"stats\"}]}", EINVAL, "ops[0].op", "cannot be batched" },
	{ B "[{\"op\":\"batch\",\"ops\":[]}]}", EINVAL, "ops[0].op",
		"cannot be batched" },
	{ B "[{\"op\":\"rule.delete\",\"prefix\":\"4001/16\",\"id\":3}]}", EINVAL,
		"ops[0].id", "unknown member" },
	{ B "[{\"op\":\"rule.delete\",\"prefix\":\"4001/16\"},{\"op\":\"rule.add\","
		"\"prefix\":\"4002/16\",\"action\":\"forward\",\"targets\":[{\"address\":"
		"\"192.0.2.1\",\"weight\":-4}]}]}", EINVAL, "ops[1].targets[0].weight",
		"-4 is outside 0..65535" },
};

/* An error quoting broken UTF-8 (jansson cuts a sequence in its message)
 * still makes a reply that is valid JSON. */
static void
test_error_messages_are_utf8(void **state)
{
	static const char line[] = "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"\\u0"
		"\xd0\x99" "9/8\",\"action\":\"drop\"}";
	struct ssr_mgmt_error e;
	struct ssr_cmd c;
	json_t *id = NULL, *reply;
	char *txt;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(ssr_mgmt_request_parse(line, strlen(line), &id, &c, &e),
			-EBADMSG);
	reply = ssr_mgmt_reply_error(id, &e);
	assert_non_null(reply);
	txt = json_dumps(reply, JSON_COMPACT);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "parse_error"));
	free(txt);
	json_decref(reply);
	ssr_mgmt_error_clear(&e);
	/* every kind of bad sequence becomes '?', good ones stay */
	memset(&e, 0, sizeof(e));
	ssr_mgmt_error_set(&e, EINVAL, "f\xff", "a\xc3\xa9" "b\xc3 \xe0\x80\x80 "
			"\xed\xa0\x80 \xf4\x90\x80\x80 \xf0\x9f\x98\x80");
	assert_string_equal(e.field, "f?");
	assert_string_equal(e.message, "f?: a\xc3\xa9" "b? ??? ??? ???? \xf0\x9f\x98\x80");
	ssr_mgmt_error_clear(&e);
}

static void
test_bad_requests(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
		const struct bad *b = &bad_requests[i];
		struct ssr_mgmt_error e;
		struct ssr_cmd c;
		json_t *id = NULL;
		int r;

		memset(&e, 0, sizeof(e));
		memset(&c, 0xa5, sizeof(c));
		r = ssr_mgmt_request_parse(b->line, strlen(b->line), &id, &c, &e);
		if (r != -b->err || e.err != b->err || strcmp(e.field, b->field) != 0 ||
				strstr(e.message, b->reason) == NULL)
			fail_msg("case %u '%s': got %d (%s) field '%s' message '%s'; "
					"want %d field '%s' reason '%s'", i, b->line, r,
					ssr_mgmt_error_code(e.err), e.field, e.message, -b->err,
					b->field, b->reason);
		/* the message leads with the field, so it reads alone */
		if (b->field[0] != '\0')
			assert_memory_equal(e.message, b->field, strlen(b->field));
		/* nothing left to release, nothing half-filled */
		assert_int_equal(c.type, 0);
		assert_null(c.rule.targets);
		json_decref(id);
		ssr_mgmt_error_clear(&e);
	}
}

/* Too many targets and too many batch entries (built, not typed). */
static void
test_limits(void **state)
{
	struct ssr_mgmt_error e;
	struct ssr_cmd c;
	json_t *req, *ts, *ops, *id;
	char *s;
	unsigned int i;

	(void)state;
	ts = json_array();
	for (i = 0; i <= SSR_CFG_MAX_TARGETS; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.%u.%u", i / 200, i % 200 + 1);
		json_array_append_new(ts, json_pack("{s:s}", "address", a));
	}
	req = json_pack("{s:i, s:s, s:s, s:s, s:o}", "id", 1, "op", "rule.add",
			"prefix", "4001/16", "action", "forward", "targets", ts);
	memset(&e, 0, sizeof(e));
	assert_int_equal(ssr_cmd_parse(req, &c, &e), -EINVAL);
	assert_string_equal(e.field, "targets");
	assert_non_null(strstr(e.message, "65 targets listed, at most 64"));
	ssr_mgmt_error_clear(&e);
	/* exactly the limit is fine */
	json_array_remove(ts, 0);
	assert_int_equal(ssr_cmd_parse(req, &c, &e), 0);
	assert_int_equal(c.rule.n_targets, SSR_CFG_MAX_TARGETS);
	ssr_cmd_release(&c);
	json_decref(req);

	ops = json_array();
	for (i = 0; i <= SSR_MGMT_MAX_BATCH; i++)
		json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "rule.delete",
					"prefix", "4001/16"));
	req = json_pack("{s:i, s:s, s:o}", "id", 1, "op", "batch", "ops", ops);
	s = json_dumps(req, JSON_COMPACT);
	assert_int_equal(ssr_mgmt_request_parse(s, strlen(s), &id, &c, &e), -EINVAL);
	assert_string_equal(e.field, "ops");
	assert_non_null(strstr(e.message, "1025 operations, at most 1024"));
	json_decref(id);
	free(s);
	ssr_mgmt_error_clear(&e);
	json_array_remove(ops, 0);
	assert_int_equal(ssr_cmd_parse(req, &c, &e), 0);
	assert_int_equal(c.batch.n, SSR_MGMT_MAX_BATCH);
	ssr_cmd_release(&c);
	json_decref(req);
}

/* ---- replies and the ops boundary (no socket) ---- */

static json_t *
handle(struct fake_state *st, const char *line)
{
	json_t *r = ssr_mgmt_handle_line(&fake_ops, st, line, strlen(line));

	assert_non_null(r);
	return r;
}

static void
test_reply_envelope(void **state)
{
	struct fake_state st;
	json_t *r, *err;

	(void)state;
	fake_init(&st);
	r = handle(&st, "{\"id\":\"abc\",\"op\":\"rule.delete\",\"prefix\":\"4001/16\"}");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "abc");
	assert_true(json_is_false(json_object_get(r, "ok")));
	err = json_object_get(r, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")),
			"not_found");
	assert_string_equal(json_string_value(json_object_get(err, "errno")), "ENOENT");
	assert_string_equal(json_string_value(json_object_get(err, "field")), "prefix");
	assert_string_equal(json_string_value(json_object_get(err, "message")),
			"prefix: no rule with prefix 4001/16");
	assert_null(json_object_get(r, "result"));
	json_decref(r);

	r = handle(&st, "{\"id\":9,\"op\":\"rule.add\",\"prefix\":\"4001/16\","
			"\"action\":\"drop\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_true(json_is_object(json_object_get(r, "result")));
	assert_null(json_object_get(r, "error"));
	json_decref(r);

	/* no usable id: the reply says null */
	r = handle(&st, "{\"id\":[1],\"op\":\"stats\"}");
	assert_true(json_is_null(json_object_get(r, "id")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
						"error"), "code")), "invalid_request");
	json_decref(r);
	r = handle(&st, "not json");
	assert_true(json_is_null(json_object_get(r, "id")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
						"error"), "code")), "parse_error");
	json_decref(r);
	/* a known id survives a later error */
	r = handle(&st, "{\"id\":5,\"op\":\"nope\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
						"error"), "code")), "unknown_op");
	json_decref(r);

	/* the server answers version itself */
	r = handle(&st, "{\"id\":1,\"op\":\"version\"}");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
						"result"), "name")), "serval-sr");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r,
						"result"), "protocol")), SSR_MGMT_PROTOCOL_VERSION);
	json_decref(r);
	assert_int_equal(st.applied, 2); /* rule.delete and rule.add only */

	/* reload errors carry details */
	r = handle(&st, "{\"id\":1,\"op\":\"reload\",\"path\":\"/tmp/bad.yaml\"}");
	err = json_object_get(r, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")),
			"invalid_argument");
	assert_int_equal(json_array_size(json_object_get(err, "details")), 2);
	json_decref(r);
	fake_fini(&st);
}

static void
test_invalid_changes_nothing(void **state)
{
	static const char *const bad[] = {
		"{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4002/16\",\"action\":"
			"\"forward\",\"targets\":[{\"address\":\"192.0.2.1\",\"weight\":"
			"65536}]}",
		"{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001\"}",
		"{\"id\":1,\"op\":\"target.drain\",\"prefix\":\"4001/16\"}",
		"{\"op\":\"rule.delete\",\"prefix\":\"4001/16\"}",
		"{\"id\":1,\"op\":\"rule.delete\",\"prefix\":\"4001/16\",\"force\":true}",
		/* a batch whose last entry is bad: the first two are not applied */
		"{\"id\":1,\"op\":\"batch\",\"ops\":["
			"{\"op\":\"rule.delete\",\"prefix\":\"4001/16\"},"
			"{\"op\":\"rule.add\",\"prefix\":\"4003/16\",\"action\":\"drop\"},"
			"{\"op\":\"target.add\",\"prefix\":\"4003/16\",\"address\":"
			"\"300.1.1.1\"}]}",
	};
	struct fake_state st;
	unsigned int i;
	json_t *r;

	(void)state;
	fake_init(&st);
	json_decref(handle(&st, "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\","
				"\"action\":\"forward\",\"targets\":[{\"address\":"
				"\"192.0.2.1\"}]}"));
	assert_int_equal(st.n_rules, 1);
	assert_int_equal(st.applied, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = handle(&st, bad[i]);
		assert_true(json_is_false(json_object_get(r, "ok")));
		json_decref(r);
	}
	/* nothing reached the ops, nothing changed */
	assert_int_equal(st.applied, 1);
	assert_int_equal(st.n_rules, 1);
	assert_int_equal(st.rules[0].targets[0].weight, 1);

	/* valid entries, one fails when applied: the ops undo the whole batch */
	r = handle(&st, "{\"id\":1,\"op\":\"batch\",\"ops\":["
			"{\"op\":\"rule.add\",\"prefix\":\"4003/16\",\"action\":\"drop\"},"
			"{\"op\":\"target.drain\",\"prefix\":\"4001/16\",\"address\":"
			"\"192.0.2.1\"},"
			"{\"op\":\"rule.delete\",\"prefix\":\"4009/16\"}]}");
	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
						"error"), "field")), "ops[2].prefix");
	json_decref(r);
	assert_int_equal(st.n_rules, 1);
	assert_int_equal(st.rules[0].targets[0].weight, 1);
	assert_int_equal(fake_find(&st, "4003/16"), -1);

	/* and the same batch without the bad entry applies entirely */
	r = handle(&st, "{\"id\":1,\"op\":\"batch\",\"ops\":["
			"{\"op\":\"rule.add\",\"prefix\":\"4003/16\",\"action\":\"drop\"},"
			"{\"op\":\"target.drain\",\"prefix\":\"4001/16\",\"address\":"
			"\"192.0.2.1\"}]}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	assert_int_equal(st.n_rules, 2);
	assert_int_equal(st.rules[fake_find(&st, "4001/16")].targets[0].weight, 0);
	fake_fini(&st);
}

/* ---- helpers ---- */

static void
test_helpers(void **state)
{
	struct ssr_mgmt_error e;
	struct sal_service_id id;
	char buf[SSR_MGMT_PREFIX_STRLEN];
	struct ssr_cmd c, c2;
	json_t *j, *req;
	uint16_t bits;

	(void)state;
	/* the first error wins: the innermost cause is kept */
	memset(&e, 0, sizeof(e));
	assert_int_equal(ssr_mgmt_error_set(&e, ENOENT, "a", "first"), -ENOENT);
	assert_int_equal(ssr_mgmt_error_set(&e, -EINVAL, "b", "second"), -EINVAL);
	assert_string_equal(e.message, "a: first");
	assert_int_equal(e.err, ENOENT);
	ssr_mgmt_error_clear(&e);
	assert_int_equal(e.err, 0);

	assert_string_equal(ssr_mgmt_error_code(EINVAL), "invalid_argument");
	assert_string_equal(ssr_mgmt_error_code(-EEXIST), "exists");
	assert_string_equal(ssr_mgmt_error_code(EXDEV), "failed");
	assert_string_equal(ssr_cmd_name(SSR_CMD_TARGET_SET), "target.set");
	assert_string_equal(ssr_cmd_name(SSR_CMD_MAX), "?");
	assert_string_equal(ssr_mgmt_event_name(SSR_MGMT_EVENT_LEASE_BIT), "lease");
	assert_null(ssr_mgmt_event_name(SSR_MGMT_EVENT_MAX));

	/* prefix text: covered bytes or up to the last non-zero one */
	assert_int_equal(sal_service_id_parse("4001", &id, NULL, NULL, 0), 0);
	assert_string_equal(ssr_mgmt_prefix_str(&id, 16, buf, sizeof(buf)), "4001/16");
	assert_string_equal(ssr_mgmt_prefix_str(&id, 256, buf, sizeof(buf)),
			"4001/256");
	assert_string_equal(ssr_mgmt_prefix_str(&id, 17, buf, sizeof(buf)),
			"4001/17");
	memset(&id, 0, sizeof(id));
	assert_string_equal(ssr_mgmt_prefix_str(&id, 0, buf, sizeof(buf)), "00/0");
	memset(&id, 0xff, sizeof(id));
	ssr_mgmt_prefix_str(&id, 256, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 64 + 4);
	assert_int_equal(sal_service_id_parse(buf, &id, &bits, NULL, 0), 0);
	assert_int_equal(bits, 256);

	/* a rule's JSON parses back into the same rule */
	memset(&e, 0, sizeof(e));
	req = json_loads("{\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
			"\"forward\",\"mode\":\"gateway\",\"targets\":[{\"address\":"
			"\"192.0.2.10\",\"weight\":3,\"priority\":2}]}", 0, NULL);
	assert_int_equal(ssr_cmd_parse(req, &c, &e), 0);
	json_decref(req);
	j = ssr_mgmt_json_rule(&c.rule);
	json_object_set_new(j, "op", json_string("rule.add"));
	assert_int_equal(ssr_cmd_parse(j, &c2, &e), 0);
	assert_memory_equal(&c2.rule.id, &c.rule.id, sizeof(c.rule.id));
	assert_int_equal(c2.rule.prefix_bits, 16);
	assert_int_equal(c2.rule.mode, SSR_MODE_GATEWAY);
	assert_int_equal(c2.rule.n_targets, 1);
	assert_memory_equal(&c2.rule.targets[0], &c.rule.targets[0],
			sizeof(c.rule.targets[0]));
	json_decref(j);
	ssr_cmd_release(&c);
	ssr_cmd_release(&c2);

	req = json_loads("{\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
			"\"delay\",\"delay\":{\"queue\":3,\"timeout_ms\":40}}", 0, NULL);
	assert_int_equal(ssr_cmd_parse(req, &c, &e), 0);
	json_decref(req);
	j = ssr_mgmt_json_rule(&c.rule);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
						"delay"), "queue")), 3);
	assert_null(json_object_get(j, "targets"));
	assert_null(json_object_get(j, "mode"));
	json_decref(j);
	ssr_cmd_release(&c);

	j = ssr_mgmt_json_ipv4(IP(10, 1, 255, 3));
	assert_string_equal(json_string_value(j), "10.1.255.3");
	json_decref(j);

	/* NULL-safe */
	ssr_cmd_release(NULL);
	ssr_mgmt_error_clear(NULL);
	assert_null(ssr_mgmt_handle_line(NULL, NULL, "{}", 2));
	assert_int_equal(ssr_cmd_parse(NULL, &c, &e), -EPROTO);
	ssr_mgmt_error_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_error_messages_are_utf8),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_rule_add_forward),
		cmocka_unit_test(test_rule_add_other_actions),
		cmocka_unit_test(test_rule_delete_and_list),
		cmocka_unit_test(test_target_ops),
		cmocka_unit_test(test_queries),
		cmocka_unit_test(test_reload_subscribe),
		cmocka_unit_test(test_register_family),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_reply_envelope),
		cmocka_unit_test(test_invalid_changes_nothing),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
