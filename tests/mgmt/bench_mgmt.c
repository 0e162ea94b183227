/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * What the management plane costs the control lcore, each case against a
 * baseline measured in the same run:
 * - poll_idle: ssr_mgmt_poll(srv, 0) with nothing to do, vs a bare
 *   epoll_wait(timeout 0) on an empty epoll set (the floor: one syscall);
 * - parse_rule_add: ssr_mgmt_request_parse() of a 4-target rule.add, vs
 *   json_loadb() of the same line (the validation's overhead over decoding);
 * - rpc_version: one request and its reply through the socket with the
 *   server polled in the same thread, vs the same bytes through a
 *   socketpair echoed by hand (the server's overhead over raw I/O).
 *
 * Usage: bench_mgmt [--iters N] [--json]
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake_ops.h"
#include "mgmt.h"
#include "mgmt_test_util.h"

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static bool json_out;

static void
report(const char *name, unsigned long iters, double ns, double base_ns)
{
	double per = ns / iters, base = base_ns / iters;

	if (json_out)
		printf("{\"name\":\"%s\",\"iters\":%lu,\"rate\":%.0f,\"ns_per_op\":%.1f,"
				"\"baseline_ns_per_op\":%.1f,\"ratio\":%.3f}\n", name, iters,
				1e9 / per, per, base, per / base);
	else
		printf("%-16s %10lu %12.0f %12.1f %12.1f %8.2f\n", name, iters,
				1e9 / per, per, base, per / base);
}

static const char rule_line[] =
	"{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"00015b38/32\",\"action\":\"forward\","
	"\"mode\":\"gateway\",\"targets\":[{\"address\":\"192.0.2.10\",\"weight\":3},"
	"{\"address\":\"192.0.2.11\",\"weight\":1,\"priority\":1},{\"address\":"
	"\"192.0.2.12\"},{\"address\":\"192.0.2.13\",\"weight\":0}]}";

static void
bench_parse(unsigned long iters)
{
	struct ssr_mgmt_error e;
	struct ssr_cmd c;
	double t0, t1, b0, b1;
	unsigned long i;
	json_t *id;

	memset(&e, 0, sizeof(e));
	b0 = now_ns();
	for (i = 0; i < iters; i++)
		json_decref(json_loadb(rule_line, sizeof(rule_line) - 1, 0, NULL));
	b1 = now_ns();
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		if (ssr_mgmt_request_parse(rule_line, sizeof(rule_line) - 1, &id, &c,
					&e) != 0)
			abort();
		json_decref(id);
		ssr_cmd_release(&c);
	}
	t1 = now_ns();
	report("parse_rule_add", iters, t1 - t0, b1 - b0);
}

static void
bench_poll_idle(struct ssr_mgmt *srv, unsigned long iters)
{
	struct epoll_event ev;
	int ep = epoll_create1(0);
	double t0, t1, b0, b1;
	unsigned long i;

	/* warm up both paths first: the first case otherwise pays page faults */
	for (i = 0; i < iters / 10; i++) {
		epoll_wait(ep, &ev, 1, 0);
		ssr_mgmt_poll(srv, 0);
	}
	b0 = now_ns();
	for (i = 0; i < iters; i++)
		epoll_wait(ep, &ev, 1, 0);
	b1 = now_ns();
	close(ep);
	t0 = now_ns();
	for (i = 0; i < iters; i++)
		ssr_mgmt_poll(srv, 0);
	t1 = now_ns();
	report("poll_idle", iters, t1 - t0, b1 - b0);
}

static void
bench_rpc(struct ssr_mgmt *srv, const char *path, unsigned long iters)
{
	static const char req[] = "{\"id\":1,\"op\":\"version\"}\n";
	static const char rep[] = "{\"id\":1,\"ok\":true,\"result\":{\"name\":"
		"\"serval-sr\",\"version\":\"0.1.0\",\"protocol\":1}}\n";
	char buf[256];
	struct tclient c;
	double t0, t1, b0, b1;
	unsigned long i;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	b0 = now_ns();
	for (i = 0; i < iters; i++) {
		if (write(sv[0], req, sizeof(req) - 1) < 0 ||
				read(sv[1], buf, sizeof(buf)) <= 0 ||
				write(sv[1], rep, sizeof(rep) - 1) < 0 ||
				read(sv[0], buf, sizeof(buf)) <= 0)
			abort();
	}
	b1 = now_ns();
	close(sv[0]);
	close(sv[1]);
	if (tu_connect(&c, path) != 0)
		abort();
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		json_t *r = tu_rpc(srv, &c, "{\"id\":1,\"op\":\"version\"}");

		if (r == NULL)
			abort();
		json_decref(r);
	}
	t1 = now_ns();
	tu_close(&c);
	report("rpc_version", iters, t1 - t0, b1 - b0);
}

int
main(int argc, char **argv)
{
	unsigned long iters = 20000;
	char dir[64], path[128];
	struct fake_state f;
	struct ssr_mgmt *srv;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json_out = true;
		else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
			iters = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--iters N] [--json]\n", argv[0]);
			return 2;
		}
	}
	if (iters == 0)
		iters = 1;
	fake_init(&f);
	tu_tmpdir(dir, path);
	srv = tu_server(path, &f, 0, 0, 0, 0);
	if (srv == NULL) {
		perror("ssr_mgmt_create");
		return 1;
	}
	if (!json_out)
		printf("%-16s %10s %12s %12s %12s %8s\n", "case", "iters", "ops/s",
				"ns/op", "baseline ns", "ratio");
	bench_poll_idle(srv, iters);
	bench_parse(iters);
	bench_rpc(srv, path, iters / 4 + 1);
	ssr_mgmt_destroy(srv);
	tu_rmdir(dir);
	fake_fini(&f);
	return 0;
}
