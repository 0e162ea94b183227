/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * servalctl against the in-process server with the fake ops: what it sends
 * (checked in the fake's state), what it prints (tables, --json, OpenMetrics)
 * and its exit status for every class of failure. The binary's path comes
 * from the SERVALCTL environment variable (set by meson).
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_ops.h"
#include "mgmt.h"
#include "mgmt_test_util.h"

static const char *ctl_path;

struct fx {
	char dir[64];
	char path[128];
	struct fake_state f;
	struct ssr_mgmt *srv;
	char out[65536];
	char err[16384];
	size_t out_len;
	size_t err_len;
};

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fake_init(&fx->f);
	tu_tmpdir(fx->dir, fx->path);
	fx->srv = tu_server(fx->path, &fx->f, 0, 0, 0, 0);
	if (fx->srv == NULL)
		return -1;
	fx->f.srv = fx->srv;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ssr_mgmt_destroy(fx->srv);
	tu_rmdir(fx->dir);
	fake_fini(&fx->f);
	free(fx);
	return 0;
}

static void
drain(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n;

	while (*len + 1 < cap && (n = read(fd, buf + *len, cap - 1 - *len)) > 0)
		*len += n;
	buf[*len] = '\0';
}

/*
 * Run servalctl with --socket (unless the arguments start with "--socket"),
 * feeding @stdin_text, polling the server meanwhile. @as_uid >= 0 runs it
 * as that uid (root only). @during, if set, is called once per loop turn.
 * Returns the exit status.
 */
static int
run_as(struct fx *fx, int as_uid, const char *stdin_text,
		void (*during)(struct fx *), ...)
{
	const char *argv[40];
	int o[2], e[2], in[2], status = -1, n = 0;
	long long deadline = mono_ms() + 20000;
	const char *a;
	va_list ap;
	pid_t pid;

	argv[n++] = ctl_path;
	va_start(ap, during);
	a = va_arg(ap, const char *);
	if (a == NULL || strncmp(a, "--socket", 8) != 0) {
		argv[n++] = "--socket";
		argv[n++] = fx->path;
	}
	for (; a != NULL && n < 38; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;

	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(e), 0);
	assert_int_equal(pipe(in), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(in[1]);
		close(o[0]);
		close(e[0]);
		if (as_uid >= 0 && (setgroups(0, NULL) != 0 || setgid(as_uid) != 0 ||
					setuid(as_uid) != 0))
			_exit(99);
		execv(ctl_path, (char **)argv);
		_exit(98);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	if (stdin_text != NULL)
		assert_int_equal(write(in[1], stdin_text, strlen(stdin_text)),
				(ssize_t)strlen(stdin_text));
	close(in[1]);
	fcntl(o[0], F_SETFL, O_NONBLOCK);
	fcntl(e[0], F_SETFL, O_NONBLOCK);
	fx->out_len = fx->err_len = 0;
	while (mono_ms() < deadline) {
		ssr_mgmt_poll(fx->srv, 2);
		drain(o[0], fx->out, sizeof(fx->out), &fx->out_len);
		drain(e[0], fx->err, sizeof(fx->err), &fx->err_len);
		if (during != NULL)
			during(fx);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	if (!WIFEXITED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("servalctl did not finish: %s", fx->err);
	}
	fcntl(o[0], F_SETFL, 0);
	fcntl(e[0], F_SETFL, 0);
	drain(o[0], fx->out, sizeof(fx->out), &fx->out_len);
	drain(e[0], fx->err, sizeof(fx->err), &fx->err_len);
	close(o[0]);
	close(e[0]);
	return WEXITSTATUS(status);
}

#define run(fx, ...) run_as(fx, -1, NULL, NULL, __VA_ARGS__, NULL)
#define run_in(fx, text, ...) run_as(fx, -1, text, NULL, __VA_ARGS__, NULL)

static void
has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("expected '%s' in:\n%s", needle, hay);
}

/* ---- rules and targets ---- */

static void
test_rule_commands(void **state)
{
	struct fx *fx = *state;
	int i;
	json_t *j;

	assert_int_equal(run(fx, "rule", "add", "4001/16", "--action", "forward",
				"--target", "192.0.2.10:w=3:p=1", "--target", "192.0.2.11",
				"--mode", "gateway"), 0);
	assert_string_equal(fx->out, "ok\n");
	i = fake_find(&fx->f, "4001/16");
	assert_true(i >= 0);
	assert_int_equal(fx->f.rules[i].mode, SSR_MODE_GATEWAY);
	assert_int_equal(fx->f.rules[i].n_targets, 2);
	assert_int_equal(fx->f.rules[i].targets[0].weight, 3);
	assert_int_equal(fx->f.rules[i].targets[0].priority, 1);
	assert_int_equal(fx->f.rules[i].targets[1].weight, 1);

	/* options before the positional work too */
	assert_int_equal(run(fx, "rule", "add", "--action", "delay",
				"--delay-queue", "8", "--delay-timeout=250", "4002/16"), 0);
	i = fake_find(&fx->f, "4002/16");
	assert_true(i >= 0);
	assert_int_equal(fx->f.rules[i].delay_queue, 8);
	assert_int_equal(fx->f.rules[i].delay_timeout_ms, 250);

	/* health checks: --health alone takes the defaults, options set values */
	assert_int_equal(run(fx, "rule", "add", "4003/16", "--action", "forward",
				"--target", "192.0.2.20", "--health-interval", "200",
				"--health-timeout", "50", "--health-fall", "2",
				"--health-rise", "4", "--health-on-down", "reset"), 0);
	i = fake_find(&fx->f, "4003/16");
	assert_true(i >= 0);
	assert_true(fx->f.rules[i].health.enabled);
	assert_int_equal(fx->f.rules[i].health.interval_ms, 200);
	assert_int_equal(fx->f.rules[i].health.timeout_ms, 50);
	assert_int_equal(fx->f.rules[i].health.fall, 2);
	assert_int_equal(fx->f.rules[i].health.rise, 4);
	assert_int_equal(fx->f.rules[i].health.on_down, SSR_HEALTH_RESET);
	assert_int_equal(run(fx, "rule", "replace", "4003/16", "--action", "forward",
				"--target", "192.0.2.20", "--health"), 0);
	i = fake_find(&fx->f, "4003/16");
	assert_true(fx->f.rules[i].health.enabled);
	assert_int_equal(fx->f.rules[i].health.interval_ms,
			SSR_CFG_HEALTH_DEFAULT_INTERVAL_MS);
	assert_int_equal(run(fx, "rule", "replace", "4003/16", "--action", "forward",
				"--target", "192.0.2.20", "--health-on-down", "bounce"), 1);
	has(fx->err, "health.on_down: 'bounce' is not one of: keep, reset");
	assert_int_equal(run(fx, "rule", "del", "4003/16"), 0);

	/* the table */
	assert_int_equal(run(fx, "rules"), 0);
	has(fx->out, "PREFIX   ACTION   MODE     TARGETS");
	has(fx->out, "MATCHED  DROPPED");
	has(fx->out, "4001/16  forward  gateway  192.0.2.10 w=3 p=1, 192.0.2.11 w=1 p=0");
	has(fx->out, "4002/16  delay    -        queue=8 timeout=250ms");

	/* --json is the result, one line, parseable */
	assert_int_equal(run(fx, "--json", "rules", "4001/16"), 0);
	j = json_loads(fx->out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "rules")), 1);
	assert_string_equal(tu_str(j, "rules.0.targets.1.address"), "192.0.2.11");
	json_decref(j);

	/* targets */
	assert_int_equal(run(fx, "target", "add", "4001/16", "192.0.2.12",
				"--weight", "4"), 0);
	assert_int_equal(run(fx, "target", "weight", "4001/16", "192.0.2.12", "9"), 0);
	assert_int_equal(run(fx, "target", "priority", "4001/16", "192.0.2.12",
				"2"), 0);
	i = fake_find(&fx->f, "4001/16");
	assert_int_equal(fx->f.rules[i].n_targets, 3);
	assert_int_equal(fx->f.rules[i].targets[2].weight, 9);
	assert_int_equal(fx->f.rules[i].targets[2].priority, 2);
	assert_int_equal(run(fx, "target", "drain", "4001/16", "192.0.2.10"), 0);
	assert_int_equal(fx->f.rules[i].targets[0].weight, 0);
	assert_int_equal(run(fx, "target", "remove", "4001/16", "192.0.2.11"), 0);
	assert_int_equal(fx->f.rules[i].n_targets, 2);

	/* replace and delete */
	assert_int_equal(run(fx, "rule", "replace", "4001/16", "--action", "drop"), 0);
	assert_int_equal(fx->f.rules[fake_find(&fx->f, "4001/16")].action,
			SSR_ACTION_DROP);
	assert_int_equal(run(fx, "rule", "del", "4001/16"), 0);
	assert_int_equal(fake_find(&fx->f, "4001/16"), -1);

	/* register family */
	assert_int_equal(run(fx, "register", "4005/32", "192.0.2.30", "--lease",
				"30"), 0);
	assert_int_equal(run(fx, "refresh", "4005/32", "192.0.2.30", "--lease",
				"60"), 0);
	assert_int_equal(run(fx, "rules", "4005/32"), 0);
	has(fx->out, "192.0.2.30 w=1 p=0 lease=60s");
	assert_int_equal(run(fx, "unregister", "4005/32", "192.0.2.30"), 1);
	has(fx->err, "the last target of a rule"); /* the fake's own rule */
}

static void
test_server_errors_exit_1(void **state)
{
	struct fx *fx = *state;
	json_t *j;

	assert_int_equal(run(fx, "rule", "add", "4001/16", "--action", "drop"), 0);
	assert_int_equal(run(fx, "rule", "add", "4001/16", "--action", "drop"), 1);
	has(fx->err, "rule.add: prefix: a rule with this prefix exists");
	has(fx->err, "[exists]");
	assert_int_equal(fx->out_len, 0);

	/* the server's validation, reported with the field */
	assert_int_equal(run(fx, "rule", "add", "4003/16", "--action", "forward",
				"--target", "192.0.2.1:w=70000"), 1);
	has(fx->err, "targets[0].weight: 70000 is outside 0..65535");
	has(fx->err, "[invalid_argument]");
	assert_int_equal(run(fx, "rule", "del", "4001"), 1);
	has(fx->err, "prefix: '4001' needs a length");
	assert_int_equal(run(fx, "target", "add", "4001/16", "300.1.2.3"), 1);
	has(fx->err, "address: '300.1.2.3' is not an IPv4 address");

	/* --json: the whole error reply on stdout as well */
	assert_int_equal(run(fx, "--json", "rule", "del", "4009/16"), 1);
	j = json_loads(fx->out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(tu_str(j, "error.code"), "not_found");
	json_decref(j);

	/* details of a failed reload, one per line */
	assert_int_equal(run(fx, "reload", "/etc/bad.yaml"), 1);
	has(fx->err, "path: /etc/bad.yaml has 2 errors");
	has(fx->err, "\n  bad.yaml:3:13: services[0].prefix");
	has(fx->err, "\n  bad.yaml:9:7: services[1].action");
	assert_int_equal(run(fx, "reload"), 0);
	has(fx->out, "rules");

	assert_int_equal(run(fx, "call", "rules.frob"), 1);
	has(fx->err, "[unknown_op]");
	assert_int_equal(run(fx, "call", "rules.list", "{\"prefix\":\"4001/16\"}"), 0);
	assert_int_equal(run(fx, "flow", "show", "5"), 1);
	has(fx->err, "[not_found]");
	/* nothing invalid reached the ops as a change */
	assert_int_equal(fx->f.n_rules, 1);
}

static void
test_usage_errors_exit_2(void **state)
{
	struct fx *fx = *state;
	unsigned int applied = fx->f.applied;

	assert_int_equal(run(fx, "frobnicate"), 2);
	has(fx->err, "unknown command 'frobnicate'");
	assert_int_equal(run_as(fx, -1, NULL, NULL, NULL), 2);
	has(fx->err, "no command given");
	assert_int_equal(run(fx, "target", "weight", "4001/16", "192.0.2.1", "abc"), 2);
	has(fx->err, "'abc' is not a whole number");
	assert_int_equal(run(fx, "rule", "add", "4001/16"), 2);
	has(fx->err, "needs --action");
	assert_int_equal(run(fx, "rule", "add", "4001/16", "--action", "forward",
				"--target", "192.0.2.1:x=3"), 2);
	assert_int_equal(run(fx, "rules", "a", "b"), 2);
	has(fx->err, "unexpected argument 'b'");
	assert_int_equal(run(fx, "--timeout", "soon", "rules"), 2);
	assert_int_equal(run(fx, "register", "4001/16", "192.0.2.1"), 2);
	has(fx->err, "--lease");
	assert_int_equal(run(fx, "call", "stats", "[1]"), 2);
	assert_int_equal(run(fx, "rules", "--limit"), 2);
	assert_int_equal(fx->f.applied, applied); /* none reached the server */
	assert_int_equal(run(fx, "--help"), 0);
	has(fx->out, "usage: servalctl");
}

static void
test_connection_errors_exit_3_and_4(void **state)
{
	struct fx *fx = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char p[160];
	int fd;

	(void)fx;
	assert_int_equal(run(fx, "--socket", "/nonexistent/serval.sock", "rules"), 3);
	has(fx->err, "no such socket");
	/* a socket nobody listens on */
	snprintf(p, sizeof(p), "%s/dead.sock", fx->dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, p, strlen(p) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(run(fx, "--socket", p, "rules"), 3);
	has(fx->err, "connection refused");
	unlink(p);

	/* a listener that never answers: timeout */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(run(fx, "--socket", p, "--timeout", "0.3", "rules"), 4);
	has(fx->err, "timed out");
	close(fd);
	unlink(p);

	/* refused by the credential check (needs root to be someone else) */
	if (geteuid() == 0) {
		struct ssr_cfg_mgmt access = { .enabled = true };
		struct ssr_mgmt_conf conf = { .access = &access, .ops = &fake_ops,
			.ctx = &fx->f };
		uid_t other = 12345;
		struct ssr_mgmt *keep = fx->srv;

		snprintf(p, sizeof(p), "%s/cred.sock", fx->dir);
		access.socket = p;
		access.allow_uids = &other;
		access.n_allow_uids = 1;
		assert_int_equal(chmod(fx->dir, 0755), 0);
		fx->srv = ssr_mgmt_create(&conf);
		assert_non_null(fx->srv);
		assert_int_equal(run_as(fx, 65534, NULL, NULL, "--socket", p, "rules",
					NULL), 3);
		has(fx->err, "uid 65534");
		has(fx->err, "[permission_denied]");
		ssr_mgmt_destroy(fx->srv);
		fx->srv = keep;
	}
}

/* ---- queries ---- */

static void
test_queries_output(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(run(fx, "rule", "add", "4001/16", "--action", "forward",
				"--target", "192.0.2.10:p=5"), 0);
	assert_int_equal(run(fx, "resolve", "40010203", "--client", "198.51.100.7",
				"--flow-id", "77"), 0);
	has(fx->out, "service_id  4001020300");
	has(fx->out, "rule        4001/16 forward resolve\n");
	has(fx->out, "target      192.0.2.10 (weight 1, priority 5)\n");
	has(fx->out, "verdict     forward\n");
	assert_int_equal(run(fx, "resolve", "5001"), 0);
	has(fx->out, "verdict     no_match");

	fx->f.n_flows = 3;
	assert_int_equal(run(fx, "flows"), 0);
	has(fx->out, "FLOW_ID  CLIENT        CLIENT_FLOW_ID  TARGET");
	has(fx->out, "      3  198.51.100.7            1003  192.0.2.10");
	assert_int_equal(run(fx, "flows", "--limit", "2"), 0);
	has(fx->out, "more flows than shown");
	assert_int_equal(run(fx, "flow", "show", "2"), 0);
	has(fx->out, "client_flow_id    1002\n");
	assert_int_equal(run(fx, "flow", "del", "2"), 0);
	has(fx->out, "deleted  1");

	assert_int_equal(run(fx, "version"), 0);
	has(fx->out, "name      serval-sr");
	has(fx->out, "protocol  1");

	assert_int_equal(run(fx, "stats"), 0);
	has(fx->out, "counters\n  rx            100\n");
	has(fx->out, "ports\n  PORT  RX_PACKETS  TX_PACKETS\n     0          60"
			"          50\n");
	has(fx->out, "workers\n  WORKER  LCORE   RX  DROPS\n       0      1  100"
			"      3\n");
	has(fx->out, "mgmt\n");
}

/*
 * OpenMetrics text: every sample belongs to the family declared just
 * before it, no family is declared twice, counters end in _total, and the
 * exposition ends with # EOF.
 */
static void
check_openmetrics(const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;
	char fam[128] = "", seen[4096] = " ";
	bool counter = false, eof = false;
	unsigned int samples = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
			line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[16], key[140];
		size_t l;

		assert_false(eof);
		if (strcmp(line, "# EOF") == 0) {
			eof = true;
			continue;
		}
		if (sscanf(line, "# TYPE %127s %15s", name, type) == 2) {
			snprintf(key, sizeof(key), " %s ", name);
			if (strstr(seen, key) != NULL)
				fail_msg("family %s declared twice", name);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			snprintf(fam, sizeof(fam), "%s", name);
			counter = strcmp(type, "counter") == 0;
			assert_true(counter || strcmp(type, "gauge") == 0);
			continue;
		}
		assert_true(line[0] != '#');
		l = strcspn(line, "{ ");
		snprintf(name, sizeof(name), "%.*s", (int)l, line);
		snprintf(key, sizeof(key), "%s%s", fam, counter ? "_total" : "");
		if (strcmp(name, key) != 0)
			fail_msg("sample '%s' outside its family %s", line, fam);
		samples++;
	}
	assert_true(eof);
	assert_true(samples > 10);
	free(copy);
}

static void
test_metrics(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(run(fx, "rule", "add", "4001/16", "--action", "forward",
				"--target", "192.0.2.10", "--target", "192.0.2.11"), 0);
	assert_int_equal(run(fx, "metrics"), 0);
	check_openmetrics(fx->out);
	has(fx->out, "# TYPE serval_sr_rx counter\nserval_sr_rx_total 100\n");
	has(fx->out, "serval_sr_drops_total{reason=\"sal_no_service\"} 3\n");
	has(fx->out, "serval_sr_drops_total{reason=\"ttl_expired\"} 7\n");
	has(fx->out, "serval_sr_port_rx_packets_total{port=\"0\"} 60\n");
	has(fx->out, "serval_sr_port_rx_packets_total{port=\"1\"} 40\n");
	has(fx->out, "serval_sr_worker_drops_total{worker=\"0\",lcore=\"1\","
			"reason=\"sal_no_service\"} 3\n");
	has(fx->out, "serval_sr_rule_matched_total{prefix=\"4001/16\"} 7\n");
	has(fx->out, "serval_sr_target_selected_total{prefix=\"4001/16\","
			"address=\"192.0.2.11\"} 6\n");
	has(fx->out, "# TYPE serval_sr_flows_capacity gauge\n"
			"serval_sr_flows_capacity 65536\n");
	has(fx->out, "# TYPE serval_sr_mgmt_requests counter\n");
	has(fx->out, "# TYPE serval_sr_mgmt_clients gauge\nserval_sr_mgmt_clients 1\n");
	assert_int_equal(strcmp(fx->out + fx->out_len - 6, "# EOF\n"), 0);
}

/* ---- batch and watch ---- */

static void
test_batch(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(run_in(fx,
			"{\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"drop\"}\n"
			"\n"
			"{\"op\":\"rule.add\",\"prefix\":\"4002/16\",\"action\":\"local\"}\n",
			"batch"), 0);
	has(fx->out, "applied  2");
	assert_int_equal(fx->f.n_rules, 2);
	/* an array works too; one bad entry and nothing is applied */
	assert_int_equal(run_in(fx, "[{\"op\":\"rule.delete\",\"prefix\":\"4001/16\"},"
				"{\"op\":\"rule.add\",\"prefix\":\"4003/16\",\"action\":\"fly\"}]",
				"batch", "-"), 1);
	has(fx->err, "ops[1].action: 'fly' is not one of");
	assert_int_equal(fx->f.n_rules, 2);
	assert_int_equal(run_in(fx, "not json\n", "batch"), 2);
	has(fx->err, "not a JSON operation object");
}

static bool published;

static void
publish_when_subscribed(struct fx *fx)
{
	json_t *ev;

	if (published || ssr_mgmt_subscribers(fx->srv, SSR_MGMT_EVENTS_ALL) == 0)
		return;
	ev = json_pack("{s:s, s:s}", "event", "health", "address", "192.0.2.9");
	ssr_mgmt_publish_event(fx->srv, ev);
	json_decref(ev);
	ev = json_pack("{s:s, s:s, s:s}", "event", "rule", "change", "rule.add",
			"prefix", "4001/16");
	ssr_mgmt_publish_event(fx->srv, ev);
	json_decref(ev);
	published = true;
}

static void
test_watch(void **state)
{
	struct fx *fx = *state;
	json_t *j;

	published = false;
	assert_int_equal(run_as(fx, -1, NULL, publish_when_subscribed, "watch",
				"rule", "--count", "1", NULL), 0);
	assert_true(published);
	/* the health event was not asked for */
	assert_null(strstr(fx->out, "health"));
	has(fx->out, " rule change=rule.add prefix=4001/16\n");

	published = false;
	assert_int_equal(run_as(fx, -1, NULL, publish_when_subscribed, "--json",
				"watch", "--count", "2", NULL), 0);
	j = json_loads(strchr(fx->out, '\n') + 1, 0, NULL);
	assert_string_equal(tu_str(j, "event"), "rule");
	json_decref(j);
	has(fx->out, "{\"event\":\"health\",\"address\":\"192.0.2.9\"}\n");

	assert_int_equal(run(fx, "watch", "weather"), 1);
	has(fx->err, "events[0]: 'weather' is not one of");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rule_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_errors_exit_1, setup,
				teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors_exit_2, setup,
				teardown),
		cmocka_unit_test_setup_teardown(test_connection_errors_exit_3_and_4,
				setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
	};

	ctl_path = getenv("SERVALCTL");
	if (ctl_path == NULL || access(ctl_path, X_OK) != 0) {
		fprintf(stderr, "SERVALCTL must name the servalctl binary\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
