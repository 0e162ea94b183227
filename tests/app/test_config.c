/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * app/config.c: shipped files load, every bad file fails with exactly the
 * expected file:line:column messages, and string cases pin defaults, ranges
 * and the serviceID prefix rules.
 */

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#ifndef SSR_SOURCE_ROOT
#error "SSR_SOURCE_ROOT must name the source tree"
#endif

#define DATA_DIR SSR_SOURCE_ROOT "/tests/data/config"
#define CONFIG_DIR SSR_SOURCE_ROOT "/config"

static uint32_t
ip(unsigned int a, unsigned int b, unsigned int c, unsigned int d)
{
	return a << 24 | b << 16 | c << 8 | d;
}

static struct ssr_config *
load_str(const char *text, struct ssr_config_errors *errs)
{
	return ssr_config_load_string(text, strlen(text), "t.yaml", errs);
}

/* Load @text expecting exactly one error, equal to @want. */
static void
expect_one_error(const char *text, const char *want)
{
	struct ssr_config_errors errs;
	struct ssr_config *cfg;

	cfg = load_str(text, &errs);
	if (cfg != NULL || errs.n != 1 || strcmp(errs.msgs[0], want) != 0) {
		unsigned int i;

		print_error("text:\n%s\nwant: %s\n", text, want);
		for (i = 0; i < errs.n; i++)
			print_error("got:  %s\n", errs.msgs[i]);
	}
	assert_null(cfg);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0], want);
	ssr_config_errors_free(&errs);
}

static struct ssr_config *
load_ok(const char *text)
{
	struct ssr_config_errors errs;
	struct ssr_config *cfg;
	unsigned int i;

	cfg = load_str(text, &errs);
	for (i = 0; i < errs.n; i++)
		print_error("unexpected: %s\n", errs.msgs[i]);
	assert_non_null(cfg);
	assert_int_equal(errs.n, 0);
	ssr_config_errors_free(&errs);
	return cfg;
}

#define PORT0 "ports: [{ port: 0, address: 192.0.2.1/24 }]\n"

/* ---- invalid arguments ---- */

static void
test_invalid_args(void **state)
{
	struct ssr_config_errors errs;

	(void)state;
	assert_null(ssr_config_load_string(NULL, 0, "x", &errs));
	assert_int_equal(errno, EINVAL);
	assert_null(ssr_config_load_string("", 0, NULL, &errs));
	assert_int_equal(errno, EINVAL);
	assert_null(ssr_config_load_file(NULL, &errs));
	assert_int_equal(errno, EINVAL);
	ssr_config_free(NULL);
	ssr_config_errors_free(NULL);

	assert_null(ssr_config_load_file(DATA_DIR "/no-such-file.yaml", &errs));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msgs[0], DATA_DIR
			"/no-such-file.yaml: cannot read: No such file or directory");
	ssr_config_errors_free(&errs);
	assert_int_equal(errs.n, 0);

	/* errs may be NULL: still fails with EINVAL */
	assert_null(load_str("ports: 1\n", NULL));
	assert_int_equal(errno, EINVAL);
}

/* ---- shipped files ---- */

static void
test_default_yaml(void **state)
{
	struct ssr_config_errors errs;
	struct ssr_config *cfg;
	const struct ssr_cfg_service *s;

	(void)state;
	cfg = ssr_config_load_file(CONFIG_DIR "/default.yaml", &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.n, 0);
	assert_int_equal(cfg->n_ports, 1);
	assert_int_equal(cfg->ports[0].port_id, 0);
	assert_int_equal(cfg->ports[0].addr, ip(192, 0, 2, 1));
	assert_int_equal(cfg->ports[0].prefix_len, 24);
	assert_true(cfg->ports[0].has_mac);
	assert_int_equal(cfg->ports[0].mac[5], 0x01);
	assert_true(cfg->has_gateway);
	assert_int_equal(cfg->gateway, ip(192, 0, 2, 254));
	assert_int_equal(cfg->n_neighbors, 2);
	assert_int_equal(cfg->neighbors[1].mac[5], 0x11);
	assert_int_equal(cfg->n_services, 4);
	s = &cfg->services[0];
	assert_int_equal(s->action, SSR_ACTION_FORWARD);
	assert_int_equal(s->mode, SSR_MODE_RESOLVE);
	assert_int_equal(s->prefix_bits, 32);
	assert_memory_equal(s->id.b, ((uint8_t[]){ 0x00, 0x01, 0x5b, 0x38, 0 }), 5);
	assert_int_equal(s->n_targets, 2);
	assert_int_equal(s->targets[0].weight, 3);
	assert_int_equal(s->targets[1].addr, ip(192, 0, 2, 11));
	assert_int_equal(cfg->services[1].action, SSR_ACTION_LOCAL);
	assert_int_equal(cfg->services[2].action, SSR_ACTION_DELAY);
	assert_int_equal(cfg->services[2].delay_queue, 32);
	assert_int_equal(cfg->services[2].delay_timeout_ms, 1000);
	assert_int_equal(cfg->services[3].action, SSR_ACTION_DROP);
	assert_int_equal(cfg->services[3].prefix_bits, 16);
	assert_false(cfg->mgmt.enabled);
	assert_false(cfg->registration.enabled);
	ssr_config_free(cfg);
}

static void
test_examples_load(void **state)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *d;

	(void)state;
	d = opendir(CONFIG_DIR "/examples");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct ssr_config_errors errs;
		struct ssr_config *cfg;
		char path[512];
		size_t len = strlen(de->d_name);
		unsigned int i;

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), CONFIG_DIR "/examples/%s", de->d_name);
		cfg = ssr_config_load_file(path, &errs);
		for (i = 0; i < errs.n; i++)
			print_error("%s\n", errs.msgs[i]);
		assert_non_null(cfg);
		assert_true(cfg->n_ports >= 1);
		ssr_config_errors_free(&errs);
		ssr_config_free(cfg);
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
}

static void
test_two_port_example(void **state)
{
	struct ssr_config *cfg;
	struct sal_service_id want = { .b = { 0x00, 0x00, 0x40, 0x01 } };

	(void)state;
	cfg = ssr_config_load_file(CONFIG_DIR "/examples/two-port.yaml", NULL);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_ports, 2);
	assert_int_equal(cfg->ports[1].port_id, 1);
	assert_int_equal(cfg->ports[0].addr, ip(198, 18, 1, 254));
	assert_int_equal(cfg->n_services, 1);
	assert_int_equal(cfg->services[0].prefix_bits, 256);
	assert_memory_equal(&cfg->services[0].id, &want, sizeof(want));
	assert_int_equal(cfg->services[0].targets[0].addr, ip(198, 18, 2, 2));
	assert_int_equal(cfg->services[0].targets[0].weight, 1);
	assert_int_equal(cfg->services[0].targets[0].priority, 0);
	assert_int_equal(cfg->sal_ip_protocol, 144);
	ssr_config_free(cfg);
}

/* ---- bad files: one defect each, exact messages ---- */

struct bad_file {
	const char *file;
	const char *msgs[8];
};

static const struct bad_file bad_files[] = {
	{ "bad-action.yaml", { "7:13: services[0].action: 'redirect' is not one of: "
		"forward, local, delay, drop" } },
	{ "bad-address.yaml", { "6:14: ports[0].address: '192.0.2.300' is not an "
		"IPv4 address (a.b.c.d)" } },
	{ "bad-delay-queue.yaml", { "8:21: services[0].delay.queue: 5000 is "
		"outside 1..4096" } },
	{ "bad-dup-key.yaml", { "8:5: services[0].action: duplicate key "
		"(first at line 7)" } },
	{ "bad-dup-port.yaml", { "7:11: ports[1].port: duplicate port 0 "
		"(first at line 5)" } },
	{ "bad-dup-prefix.yaml", { "10:13: services[2].prefix: duplicate prefix "
		"'00015B38/32' (first at line 6)" } },
	{ "bad-duration.yaml", { "6:20: flows.timeouts.syn: '5' needs a unit: "
		"ms, s, m or h" } },
	{ "bad-forward-no-targets.yaml", { "6:5: services[0]: action forward "
		"needs 'targets'" } },
	{ "bad-gateway.yaml", { "5:10: gateway: 198.51.100.1 is not in a "
		"connected subnet" } },
	{ "bad-many.yaml", {
		"5:11: ports[0].port: 40 is outside 0..31",
		"6:14: ports[0].address: prefix length '33' is outside 1..32",
		"8:13: services[0].prefix: serviceID \"zz/8\": 'z' at position 1 "
			"is not a hex digit",
		"10:46: services[0].targets[0].weight: 70000 is outside 0..65535",
		"12:13: services[1].action: 'jump' is not one of: forward, local, "
			"delay, drop",
		"13:21: sal.ip_protocol: 6 is ICMP, TCP or UDP, not a SAL protocol",
	} },
	{ "bad-mode-on-drop.yaml", { "8:5: services[0].mode: only applies to "
		"action forward" } },
	{ "bad-neighbor-mac.yaml", { "6:28: neighbors[0].mac: 01:00:5e:00:00:01 "
		"is not a unicast MAC address" } },
	{ "bad-no-ports.yaml", { "4:1: 'ports' is required" } },
	{ "bad-overlap.yaml", { "6:25: ports[1].address: subnet overlaps port 0's "
		"(line 5)" } },
	{ "bad-port-range.yaml", { "5:11: ports[0].port: 32 is outside 0..31" } },
	{ "bad-port-type.yaml", { "5:11: ports[0].port: expected an integer, got "
		"the quoted string \"0\"" } },
	{ "bad-prefix-bits.yaml", { "6:13: services[0].prefix: serviceID "
		"\"0001/257\": prefix length 257 is outside 0..256" } },
	{ "bad-prefix-hex.yaml", { "6:13: services[0].prefix: serviceID "
		"\"00xg/16\": 'x' at position 3 is not a hex digit" } },
	{ "bad-prefix-hostbits.yaml", { "6:13: services[0].prefix: serviceID "
		"\"00ff/4\": bit 8 is set beyond the prefix length 4" } },
	{ "bad-prefix-long.yaml", { "6:13: services[0].prefix: serviceID \"0000"
		"0000000000000000000000000000000000000000000000000000000000001/256\": "
		"more than 64 hex digits" } },
	{ "bad-priority-type.yaml", { "8:47: services[0].targets[0].priority: "
		"expected an integer, got 'high'" } },
	{ "bad-services-type.yaml", { "6:3: services: expected a sequence, got a "
		"mapping" } },
	{ "bad-syntax.yaml", { "6:9: YAML syntax error: did not find expected ',' "
		"or '}' while parsing a flow mapping (line 5, column 5)" } },
	{ "bad-targets-on-drop.yaml", { "8:5: services[0].targets: targets are only "
		"allowed with action forward, not drop" } },
	{ "bad-two-docs.yaml", { "5:1: only one YAML document is allowed" } },
	{ "bad-unknown-key.yaml", { "5:1: servics: unknown key (expected one of: "
		"ports, neighbors, gateway, sal, arp, flows, services, management, "
		"registration)" } },
	{ "bad-unknown-target-key.yaml", { "9:32: services[0].targets[0].wieght: "
		"unknown key (expected one of: address, weight, priority)" } },
	{ "bad-unreachable-target.yaml", { "8:26: services[0].targets[0].address: "
		"203.0.113.9 is not in a connected subnet and no gateway is set" } },
	{ "bad-weight.yaml", { "10:40: services[1].targets[0].weight: -1 is "
		"outside 0..65535" } },
};

static void
test_bad_files(void **state)
{
	unsigned int i, j, n_files = 0;
	struct dirent *de;
	DIR *d;

	(void)state;
	for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad_file *b = &bad_files[i];
		struct ssr_config_errors errs;
		struct ssr_config *cfg;
		char path[512];
		unsigned int want_n = 0;

		snprintf(path, sizeof(path), DATA_DIR "/%s", b->file);
		while (want_n < 8 && b->msgs[want_n] != NULL)
			want_n++;
		cfg = ssr_config_load_file(path, &errs);
		assert_null(cfg);
		assert_int_equal(errno, EINVAL);
		if (errs.n != want_n)
			for (j = 0; j < errs.n; j++)
				print_error("%s: got %s\n", b->file, errs.msgs[j]);
		assert_int_equal(errs.n, want_n);
		for (j = 0; j < want_n; j++) {
			char want[1024];

			snprintf(want, sizeof(want), "%s:%s", path, b->msgs[j]);
			assert_string_equal(errs.msgs[j], want);
		}
		ssr_config_errors_free(&errs);
	}

	/* every bad file in the directory is covered by the table */
	d = opendir(DATA_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		bool found = false;

		if (strncmp(de->d_name, "bad-", 4) != 0)
			continue;
		for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++)
			found |= strcmp(bad_files[i].file, de->d_name) == 0;
		if (!found)
			print_error("%s has no expectation\n", de->d_name);
		assert_true(found);
		n_files++;
	}
	closedir(d);
	assert_true(n_files >= 15);
}

/* ---- strings: defaults and values ---- */

static void
test_defaults(void **state)
{
	struct ssr_config *cfg;

	(void)state;
	cfg = load_ok(PORT0);
	assert_int_equal(cfg->n_services, 0);
	assert_false(cfg->has_gateway);
	assert_int_equal(cfg->sal_ip_protocol, 144);
	assert_int_equal(cfg->ports[0].rx_desc, 512);
	assert_int_equal(cfg->ports[0].tx_desc, 512);
	assert_false(cfg->ports[0].has_mac);
	assert_int_equal(cfg->arp.queue, 16);
	assert_int_equal(cfg->arp.retry_ms, 1000);
	assert_int_equal(cfg->arp.lifetime_ms, 300000);
	assert_int_equal(cfg->flows.max, 65536);
	assert_int_equal(cfg->flows.syn_timeout_ms, 5000);
	assert_int_equal(cfg->flows.established_timeout_ms, 300000);
	assert_int_equal(cfg->flows.closing_timeout_ms, 10000);
	assert_false(cfg->mgmt.enabled);
	assert_null(cfg->mgmt.socket);
	assert_string_equal(cfg->source, "t.yaml");
	ssr_config_free(cfg);

	cfg = load_ok(PORT0 "services:\n  - { prefix: \"ab/8\", action: delay }\n"
			"  - { prefix: \"ac/8\", action: forward, "
			"targets: [{ address: 192.0.2.3 }] }\n");
	assert_int_equal(cfg->services[0].delay_queue, 64);
	assert_int_equal(cfg->services[0].delay_timeout_ms, 2000);
	assert_int_equal(cfg->services[1].mode, SSR_MODE_RESOLVE);
	assert_int_equal(cfg->services[1].targets[0].weight, 1);
	assert_int_equal(cfg->services[1].targets[0].priority, 0);
	assert_int_equal(cfg->services[1].line, 4);
	ssr_config_free(cfg);

	cfg = load_ok(PORT0 "management: {}\nregistration: { allow: [] }\n");
	assert_true(cfg->mgmt.enabled);
	assert_string_equal(cfg->mgmt.socket, "/run/serval-sr/serval-sr.sock");
	assert_int_equal(cfg->mgmt.n_allow_uids, 0);
	assert_true(cfg->registration.enabled);
	assert_int_equal(cfg->registration.n_allow, 0);
	ssr_config_free(cfg);
}

static void
test_all_sections(void **state)
{
	struct ssr_config *cfg;

	(void)state;
	cfg = load_ok(
		"ports:\n"
		"  - port: 3\n"
		"    address: 10.0.0.1/8\n"
		"    mac: \"02:AA:bb:cc:dd:0e\"\n"
		"    rx_desc: 4096\n"
		"    tx_desc: 64\n"
		"  - { port: 31, address: 192.168.7.9/32 }\n"
		"neighbors: [{ ip: 10.2.3.4, mac: \"02:00:00:00:00:01\" }]\n"
		"gateway: 10.255.255.254\n"
		"sal: { ip_protocol: 253 }\n"
		"arp: { queue: 0, retry: 250ms, lifetime: 1h }\n"
		"flows: { max: 16777216, timeouts: { syn: 100ms, established: 24h, "
		"closing: 2m } }\n"
		"management: { socket: /tmp/x.sock, allow_uids: [0, 1000], "
		"allow_gids: [4294967294] }\n"
		"registration: { allow: [10.0.0.0/8, 0.0.0.0/0, 192.0.2.7/32] }\n"
		"services:\n"
		"  - prefix: 0/0\n"
		"    action: forward\n"
		"    mode: gateway\n"
		"    targets:\n"
		"      - { address: 10.0.0.2, weight: 0, priority: 65535 }\n"
		"      - { address: 198.51.100.1, weight: 65535 }\n");
	assert_int_equal(cfg->n_ports, 2);
	assert_int_equal(cfg->ports[0].port_id, 3);
	assert_true(cfg->ports[0].has_mac);
	assert_memory_equal(cfg->ports[0].mac,
			((uint8_t[]){ 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e }), 6);
	assert_int_equal(cfg->ports[0].rx_desc, 4096);
	assert_int_equal(cfg->ports[0].tx_desc, 64);
	assert_int_equal(cfg->ports[1].prefix_len, 32);
	assert_int_equal(cfg->neighbors[0].ip, ip(10, 2, 3, 4));
	assert_int_equal(cfg->gateway, ip(10, 255, 255, 254));
	assert_int_equal(cfg->sal_ip_protocol, 253);
	assert_int_equal(cfg->arp.queue, 0);
	assert_int_equal(cfg->arp.retry_ms, 250);
	assert_int_equal(cfg->arp.lifetime_ms, 3600000);
	assert_int_equal(cfg->flows.max, 1 << 24);
	assert_int_equal(cfg->flows.syn_timeout_ms, 100);
	assert_int_equal(cfg->flows.established_timeout_ms, 86400000);
	assert_int_equal(cfg->flows.closing_timeout_ms, 120000);
	assert_string_equal(cfg->mgmt.socket, "/tmp/x.sock");
	assert_int_equal(cfg->mgmt.n_allow_uids, 2);
	assert_int_equal(cfg->mgmt.allow_uids[1], 1000);
	assert_int_equal(cfg->mgmt.allow_gids[0], 4294967294u);
	assert_int_equal(cfg->registration.n_allow, 3);
	assert_int_equal(cfg->registration.allow[1].len, 0);
	assert_int_equal(cfg->registration.allow[2].addr, ip(192, 0, 2, 7));
	assert_int_equal(cfg->services[0].prefix_bits, 0);
	assert_int_equal(cfg->services[0].mode, SSR_MODE_GATEWAY);
	assert_int_equal(cfg->services[0].targets[0].weight, 0);
	assert_int_equal(cfg->services[0].targets[0].priority, 65535);
	ssr_config_free(cfg);
}

/* ---- strings: one defect each ---- */

static void
test_string_errors(void **state)
{
	(void)state;
	expect_one_error("", "t.yaml:1:1: the configuration is empty; 'ports' is "
			"required");
	expect_one_error("# only a comment\n", "t.yaml:1:1: the configuration is "
			"empty; 'ports' is required");
	expect_one_error("- 1\n", "t.yaml:1:1: expected a mapping, got a sequence");
	expect_one_error("ports: []\n", "t.yaml:1:8: ports: at least one port is "
			"required");
	expect_one_error("ports:\n", "t.yaml:1:7: ports: expected a sequence, got "
			"nothing (null)");
	expect_one_error("ports: [{ address: 192.0.2.1/24 }]\n",
			"t.yaml:1:9: ports[0]: 'port' is required");
	expect_one_error("ports: [{ port: 0, address: 192.0.2.1 }]\n",
			"t.yaml:1:29: ports[0].address: '192.0.2.1' is not an IPv4 "
			"prefix (a.b.c.d/len)");
	expect_one_error("ports: [{ port: 0, address: 192.0.2.0/24 }]\n",
			"t.yaml:1:29: ports[0].address: 192.0.2.0/24 is the subnet's "
			"network or broadcast address");
	expect_one_error("ports: [{ port: 0, address: 224.0.0.1/24 }]\n",
			"t.yaml:1:29: ports[0].address: 224.0.0.1/24 is not a unicast "
			"host address");
	expect_one_error("ports: [{ port: 0, address: 192.0.2.01/24 }]\n",
			"t.yaml:1:29: ports[0].address: '192.0.2.01' is not an IPv4 "
			"address (a.b.c.d)");
	expect_one_error("ports: [{ port: 0, address: 192.0.2.1/0 }]\n",
			"t.yaml:1:29: ports[0].address: prefix length '0' is outside "
			"1..32");
	expect_one_error("ports: [{ port: 0x1, address: 192.0.2.1/24 }]\n",
			"t.yaml:1:17: ports[0].port: expected an integer, got '0x1'");
	expect_one_error("ports: [{ port: 99999999999999999999, address: "
			"192.0.2.1/24 }]\n",
			"t.yaml:1:17: ports[0].port: 99999999999999999999 is outside "
			"0..31");
	expect_one_error("ports: [{ port: 0, address: 192.0.2.1/24, rx_desc: 32 }]\n",
			"t.yaml:1:52: ports[0].rx_desc: 32 is outside 64..4096");
	expect_one_error(PORT0 "gateway: 192.0.2.1\n",
			"t.yaml:2:10: gateway: 192.0.2.1 is the router's own address");
	expect_one_error(PORT0 "gateway: [1]\n",
			"t.yaml:2:10: gateway: expected an IPv4 address, got a sequence");
	expect_one_error(PORT0 "neighbors: [{ ip: 192.0.2.1, mac: "
			"\"02:00:00:00:00:01\" }]\n",
			"t.yaml:2:19: neighbors[0].ip: 192.0.2.1 is the router's own "
			"address");
	expect_one_error(PORT0 "neighbors:\n"
			"  - { ip: 192.0.2.9, mac: \"02:00:00:00:00:01\" }\n"
			"  - { ip: 192.0.2.9, mac: \"02:00:00:00:00:02\" }\n",
			"t.yaml:4:11: neighbors[1].ip: duplicate neighbour 192.0.2.9");
	expect_one_error(PORT0 "neighbors: [{ ip: 192.0.2.9, mac: \"02:00:00:00:00\" "
			"}]\n",
			"t.yaml:2:35: neighbors[0].mac: '02:00:00:00:00' is not a MAC "
			"address (xx:xx:xx:xx:xx:xx)");
	expect_one_error(PORT0 "neighbors: [{ ip: 192.0.2.9, mac: "
			"\"00:00:00:00:00:00\" }]\n",
			"t.yaml:2:35: neighbors[0].mac: 00:00:00:00:00:00 is not a "
			"unicast MAC address");
	expect_one_error(PORT0 "sal: { ip_protocol: 0 }\n",
			"t.yaml:2:21: sal.ip_protocol: 0 is outside 1..254");
	expect_one_error(PORT0 "arp: { retry: 1s, retry: 2s }\n",
			"t.yaml:2:19: arp.retry: duplicate key (first at line 2)");
	expect_one_error(PORT0 "arp: { lifetime: 2d }\n",
			"t.yaml:2:18: arp.lifetime: '2d' needs a unit: ms, s, m or h");
	expect_one_error(PORT0 "arp: { retry: 2m }\n",
			"t.yaml:2:15: arp.retry: 2m is outside 10ms..60000ms");
	expect_one_error(PORT0 "arp: { retry: 99999999999999h }\n",
			"t.yaml:2:15: arp.retry: 99999999999999h is outside "
			"10ms..60000ms");
	expect_one_error(PORT0 "flows: { max: 0 }\n",
			"t.yaml:2:15: flows.max: 0 is outside 1..16777216");
	expect_one_error(PORT0 "flows: { timeouts: { idle: 5s } }\n",
			"t.yaml:2:22: flows.timeouts.idle: unknown key (expected one of: "
			"syn, established, closing)");
	expect_one_error(PORT0 "management: { socket: relative.sock }\n",
			"t.yaml:2:23: management.socket: 'relative.sock' must be an "
			"absolute path under 108 bytes");
	expect_one_error(PORT0 "management: { allow_uids: [-1] }\n",
			"t.yaml:2:28: management.allow_uids[0]: -1 is outside "
			"0..4294967294");
	expect_one_error(PORT0 "registration: {}\n",
			"t.yaml:2:15: registration: 'allow' is required");
	expect_one_error(PORT0 "registration: { allow: [10.0.0.1/8] }\n",
			"t.yaml:2:25: registration.allow[0]: 10.0.0.1/8 has bits set "
			"beyond /8");
	expect_one_error(PORT0 "services:\n  - { action: drop }\n",
			"t.yaml:3:5: services[0]: 'prefix' is required");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\" }\n",
			"t.yaml:3:5: services[0]: 'action' is required");
	expect_one_error(PORT0 "services:\n  - { prefix: [ab], action: drop }\n",
			"t.yaml:3:15: services[0].prefix: expected a serviceID prefix "
			"(HEX/BITS), got a sequence");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: forward, "
			"targets: [] }\n",
			"t.yaml:3:49: services[0].targets: action forward needs at least "
			"one target");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: forward, "
			"targets: [{ address: 192.0.2.1 }] }\n",
			"t.yaml:3:61: services[0].targets[0].address: 192.0.2.1 is the "
			"router's own address");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: forward, "
			"targets: [{ address: 255.255.255.255 }] }\n",
			"t.yaml:3:61: services[0].targets[0].address: 255.255.255.255 is "
			"not a unicast host address");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: forward, "
			"targets: [{ address: 192.0.2.5 }, { address: 192.0.2.5 }] }\n",
			"t.yaml:3:85: services[0].targets[1].address: duplicate target "
			"192.0.2.5");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: forward, "
			"targets: [{ address: 192.0.2.5, weight: 0 }] }\n",
			"t.yaml:3:49: services[0].targets: every target has weight 0; "
			"at least one needs a weight > 0");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: local, "
			"delay: { queue: 1 } }\n",
			"t.yaml:3:38: services[0].delay: only applies to action delay");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: delay, "
			"delay: { timeout_ms: 0 } }\n",
			"t.yaml:3:59: services[0].delay.timeout_ms: 0 is outside "
			"1..600000");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: forward, "
			"mode: tunnel, targets: [{ address: 192.0.2.5 }] }\n",
			"t.yaml:3:46: services[0].mode: 'tunnel' is not one of: resolve, "
			"gateway");
	expect_one_error(PORT0 "services:\n  - { prefix: \"ab/8\", action: 5 }\n",
			"t.yaml:3:31: services[0].action: '5' is not one of: forward, "
			"local, delay, drop");
	expect_one_error(PORT0 "? [a]\n: 1\n",
			"t.yaml:2:3: keys must be plain strings");
	expect_one_error(PORT0 "ports: []\n",
			"t.yaml:2:1: ports: duplicate key (first at line 1)");
	expect_one_error(PORT0 "\tservices: []\n",
			"t.yaml:2:1: YAML syntax error: found character that cannot "
			"start any token while scanning for the next token (line 2, "
			"column 1)");
}

/* Every error is reported, in file order, and the list is capped. */
static void
test_many_errors(void **state)
{
	struct ssr_config_errors errs;
	char text[16384];
	size_t off;
	unsigned int i;

	(void)state;
	off = snprintf(text, sizeof(text), PORT0 "services:\n");
	for (i = 0; i < 100; i++)
		off += snprintf(text + off, sizeof(text) - off,
				"  - { prefix: \"%02x/4\", action: drop }\n", i + 1);
	assert_null(load_str(text, &errs));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(errs.n, SSR_CFG_MAX_ERRORS);
	assert_true(errs.truncated);
	assert_string_equal(errs.msgs[0], "t.yaml:3:15: services[0].prefix: "
			"serviceID \"01/4\": bit 7 is set beyond the prefix length 4");
	assert_string_equal(errs.msgs[1], "t.yaml:4:15: services[1].prefix: "
			"serviceID \"02/4\": bit 6 is set beyond the prefix length 4");
	ssr_config_errors_free(&errs);

	/* many duplicates: each later copy names the first */
	off = snprintf(text, sizeof(text), PORT0 "services:\n");
	for (i = 0; i < 5; i++)
		off += snprintf(text + off, sizeof(text) - off,
				"  - { prefix: \"ab/8\", action: drop }\n");
	assert_null(load_str(text, &errs));
	assert_int_equal(errs.n, 4);
	for (i = 0; i < 4; i++) {
		char want[128];

		snprintf(want, sizeof(want), "t.yaml:%u:15: services[%u].prefix: "
				"duplicate prefix 'ab/8' (first at line 3)", i + 4, i + 1);
		assert_string_equal(errs.msgs[i], want);
	}
	ssr_config_errors_free(&errs);
}

/* Anchors and aliases are plain YAML: they work. */
static void
test_aliases(void **state)
{
	struct ssr_config *cfg;

	(void)state;
	cfg = load_ok(PORT0 "services:\n"
			"  - prefix: \"ab/8\"\n"
			"    action: forward\n"
			"    targets: &pool [{ address: 192.0.2.5 }, { address: 192.0.2.6 }]\n"
			"  - { prefix: \"ac/8\", action: forward, targets: *pool }\n");
	assert_int_equal(cfg->services[1].n_targets, 2);
	assert_int_equal(cfg->services[1].targets[1].addr, ip(192, 0, 2, 6));
	ssr_config_free(cfg);
}

/* ---- serviceID prefixes through the config (lib/sal's text rules) ---- */

static struct ssr_config *
load_prefix(const char *prefix, struct ssr_config_errors *errs)
{
	char text[512];

	snprintf(text, sizeof(text), PORT0 "services:\n  - { prefix: \"%s\", "
			"action: drop }\n", prefix);
	return load_str(text, errs);
}

static void
test_prefixes(void **state)
{
	static const struct {
		const char *text;
		uint16_t bits;
		uint8_t b0, b1, b31;
	} good[] = {
		{ "0/0", 0, 0, 0, 0 },
		{ "AbC/12", 12, 0xab, 0xc0, 0 },
		{ "00015b38/32", 32, 0x00, 0x01, 0 },
		{ "8/1", 1, 0x80, 0, 0 },
		{ "8/200", 200, 0x80, 0, 0 },
		{ "4001", 256, 0x40, 0x01, 0 },    /* no length: the full 256 bits */
		{ "00000000000000000000000000000000000000000000000000000000000000ff/256",
			256, 0, 0, 0xff },
	};
	static const char *const bad[] = {
		"c/1", "12 /8", "12/8 ", "12/+8", "12/8/8", "12/99999999999999999999",
		"12/", "/8", "0x12/8",
		"00000000000000000000000000000000000000000000000000000000000000ff/255",
		"00000000000000000000000000000000000000000000000000000000000000000/256",
	};
	struct ssr_config_errors errs;
	struct ssr_config *cfg;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cfg = load_prefix(good[i].text, &errs);
		if (cfg == NULL)
			print_error("%s: %s\n", good[i].text, errs.n ? errs.msgs[0] : "?");
		assert_non_null(cfg);
		assert_int_equal(cfg->services[0].prefix_bits, good[i].bits);
		assert_int_equal(cfg->services[0].id.b[0], good[i].b0);
		assert_int_equal(cfg->services[0].id.b[1], good[i].b1);
		assert_int_equal(cfg->services[0].id.b[31], good[i].b31);
		ssr_config_free(cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = load_prefix(bad[i], &errs);
		if (cfg != NULL)
			print_error("%s accepted\n", bad[i]);
		assert_null(cfg);
		assert_int_equal(errs.n, 1);
		assert_non_null(strstr(errs.msgs[0], "t.yaml:3:15: services[0].prefix: "
					"serviceID \""));
		ssr_config_errors_free(&errs);
	}
}

/*
 * Robustness: mutated and truncated copies of the shipped demo file must
 * either load or fail with well-formed messages, never crash or leak (the
 * sanitizer build runs this too).
 */
static void
test_mutations(void **state)
{
	static const char junk[] = "\t\n :-[]{}#&*!|>'\"%@`,?0aZ/.\xff";
	struct ssr_config_errors errs;
	struct ssr_config *cfg;
	char *orig, *buf;
	size_t len = 0, cap = 1 << 16, i;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned int round, loaded = 0, failed = 0;
	FILE *f;

	(void)state;
	f = fopen(CONFIG_DIR "/default.yaml", "r");
	assert_non_null(f);
	orig = malloc(cap);
	buf = malloc(cap);
	assert_non_null(orig);
	assert_non_null(buf);
	len = fread(orig, 1, cap, f);
	fclose(f);
	assert_true(len > 100 && len < cap);
	for (round = 0; round < 3000; round++) {
		size_t n = len, edits;

		memcpy(buf, orig, len);
		/* xorshift: deterministic, so a failure can be replayed */
		for (edits = 1 + round % 4; edits > 0; edits--) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			i = x % n;
			switch (x >> 60 & 3) {
			case 0: /* replace a byte */
				buf[i] = junk[(x >> 32) % (sizeof(junk) - 1)];
				break;
			case 1: /* truncate */
				n = i + 1;
				break;
			case 2: /* delete a byte */
				memmove(buf + i, buf + i + 1, n - i - 1);
				n--;
				break;
			default: /* duplicate a line fragment */
				if (n + 16 < cap) {
					memmove(buf + i + 16, buf + i, n - i);
					n += 16;
				}
				break;
			}
		}
		cfg = ssr_config_load_string(buf, n, "m.yaml", &errs);
		if (cfg != NULL) {
			loaded++;
			assert_int_equal(errs.n, 0);
			assert_true(cfg->n_ports >= 1);
			ssr_config_free(cfg);
			continue;
		}
		failed++;
		assert_int_equal(errno, EINVAL);
		assert_true(errs.n >= 1 && errs.n <= SSR_CFG_MAX_ERRORS);
		for (i = 0; i < errs.n; i++) {
			unsigned int line, col;
			char rest[2];

			/* every message starts file:line:column: */
			assert_int_equal(sscanf(errs.msgs[i], "m.yaml:%u:%u:%1s", &line, &col,
						rest), 3);
			assert_true(line >= 1 && col >= 1);
		}
		ssr_config_errors_free(&errs);
	}
	print_message("%u mutations loaded, %u refused\n", loaded, failed);
	assert_true(failed > 0);
	free(orig);
	free(buf);
}

/* The per-rule `health` section: defaults, every field, errors. */
static void
test_health(void **state)
{
	static const char fwd[] = PORT0 "services:\n"
		"  - prefix: \"4001/16\"\n"
		"    action: forward\n"
		"    targets: [{ address: 192.0.2.10 }]\n";
	struct ssr_config_errors errs;
	struct ssr_config *cfg;
	char text[1024];

	(void)state;
	/* absent: disabled, defaults kept for when a controller enables it */
	cfg = load_str(fwd, &errs);
	assert_non_null(cfg);
	assert_false(cfg->services[0].health.enabled);
	assert_int_equal(cfg->services[0].health.interval_ms,
			SSR_CFG_HEALTH_DEFAULT_INTERVAL_MS);
	ssr_config_free(cfg);
	ssr_config_errors_free(&errs);

	snprintf(text, sizeof(text), "%s    health: {}\n", fwd);
	cfg = load_str(text, &errs);
	assert_non_null(cfg);
	assert_true(cfg->services[0].health.enabled);
	assert_int_equal(cfg->services[0].health.interval_ms, 1000);
	assert_int_equal(cfg->services[0].health.timeout_ms, 500);
	assert_int_equal(cfg->services[0].health.fall, 3);
	assert_int_equal(cfg->services[0].health.rise, 2);
	assert_int_equal(cfg->services[0].health.on_down, SSR_HEALTH_KEEP);
	ssr_config_free(cfg);
	ssr_config_errors_free(&errs);

	snprintf(text, sizeof(text), "%s    health: { interval_ms: 250, timeout_ms: 100, "
			"fall: 1, rise: 5, on_down: reset }\n", fwd);
	cfg = load_str(text, &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->services[0].health.interval_ms, 250);
	assert_int_equal(cfg->services[0].health.timeout_ms, 100);
	assert_int_equal(cfg->services[0].health.fall, 1);
	assert_int_equal(cfg->services[0].health.rise, 5);
	assert_int_equal(cfg->services[0].health.on_down, SSR_HEALTH_RESET);
	ssr_config_free(cfg);
	ssr_config_errors_free(&errs);

	snprintf(text, sizeof(text), "%s    health: { interval_ms: 5 }\n", fwd);
	expect_one_error(text, "t.yaml:6:28: services[0].health.interval_ms: 5 is "
			"outside 10..3600000");
	snprintf(text, sizeof(text), "%s    health: { interval_ms: 100, timeout_ms: 200 }\n",
			fwd);
	expect_one_error(text, "t.yaml:6:45: services[0].health.timeout_ms: 200 is "
			"longer than interval_ms (100)");
	snprintf(text, sizeof(text), "%s    health: { on_down: drop }\n", fwd);
	expect_one_error(text, "t.yaml:6:24: services[0].health.on_down: 'drop' is "
			"not one of: keep, reset");
	snprintf(text, sizeof(text), "%s    health: { rise: 0 }\n", fwd);
	expect_one_error(text, "t.yaml:6:21: services[0].health.rise: 0 is outside "
			"1..100");
	snprintf(text, sizeof(text), "%s    health: { every: 1s }\n", fwd);
	expect_one_error(text, "t.yaml:6:15: services[0].health.every: unknown key "
			"(expected one of: interval_ms, timeout_ms, fall, rise, on_down)");
	expect_one_error(PORT0 "services:\n"
			"  - { prefix: \"4001/16\", action: drop, health: {} }\n",
			"t.yaml:3:40: services[0].health: only applies to action forward");
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(ssr_action_name(SSR_ACTION_FORWARD), "forward");
	assert_string_equal(ssr_action_name(SSR_ACTION_DROP), "drop");
	assert_string_equal(ssr_action_name((enum ssr_action)42), "?");
	assert_string_equal(ssr_mode_name(SSR_MODE_GATEWAY), "gateway");
	assert_string_equal(ssr_health_policy_name(SSR_HEALTH_RESET), "reset");
	assert_string_equal(ssr_health_policy_name((enum ssr_health_policy)9), "?");
	assert_true(ssr_ipv4_is_unicast(ip(192, 0, 2, 1)));
	assert_false(ssr_ipv4_is_unicast(ip(0, 1, 2, 3)));
	assert_false(ssr_ipv4_is_unicast(ip(127, 0, 0, 1)));
	assert_false(ssr_ipv4_is_unicast(ip(224, 0, 0, 1)));
	assert_false(ssr_ipv4_is_unicast(ip(255, 255, 255, 255)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_default_yaml),
		cmocka_unit_test(test_examples_load),
		cmocka_unit_test(test_two_port_example),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_sections),
		cmocka_unit_test(test_string_errors),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
