/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The management socket server in-process, with the fake ops: creation
 * safety (symlinks, stale sockets, modes), request/reply over the socket,
 * concurrent forked clients, clients that misbehave (disconnect mid-line,
 * flood without reading, send 10 MB), budgets and events.
 */

#include <errno.h>
#include <fcntl.h>
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

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static struct ssr_mgmt_stats
stats_of(const struct ssr_mgmt *srv)
{
	struct ssr_mgmt_stats st;

	ssr_mgmt_get_stats(srv, &st);
	return st;
}

/* ---- creation ---- */

static struct ssr_mgmt *
create_at(const char *path, struct fake_state *f, const uid_t *uids,
		unsigned int nu, const gid_t *gids, unsigned int ng)
{
	struct ssr_cfg_mgmt access = {
		.enabled = true,
		.socket = (char *)path,
		.allow_uids = (uid_t *)uids,
		.n_allow_uids = nu,
		.allow_gids = (gid_t *)gids,
		.n_allow_gids = ng,
	};
	struct ssr_mgmt_conf conf = { .access = &access, .ops = &fake_ops, .ctx = f };

	return ssr_mgmt_create(&conf);
}

static void
test_create_args(void **state)
{
	struct ssr_cfg_mgmt access = { .enabled = true, .socket = "rel/path.sock" };
	struct ssr_mgmt_ops no_apply = { .apply = NULL };
	struct ssr_mgmt_conf conf = { .access = &access, .ops = &fake_ops };
	char longp[200];

	(void)state;
	errno = 0;
	assert_null(ssr_mgmt_create(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ssr_mgmt_create(&conf));   /* relative path */
	assert_int_equal(errno, EINVAL);
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	access.socket = longp;
	errno = 0;
	assert_null(ssr_mgmt_create(&conf));   /* longer than sun_path */
	assert_int_equal(errno, EINVAL);
	access.socket = "/tmp/x.sock";
	conf.ops = &no_apply;
	errno = 0;
	assert_null(ssr_mgmt_create(&conf));
	assert_int_equal(errno, EINVAL);
	conf.ops = NULL;
	assert_null(ssr_mgmt_create(&conf));
	conf.ops = &fake_ops;
	conf.flags = 1;
	assert_null(ssr_mgmt_create(&conf));
	conf.flags = 0;
	conf.max_output = 100;                 /* below 4096 */
	assert_null(ssr_mgmt_create(&conf));
	assert_int_equal(errno, EINVAL);
	conf.access = NULL;
	conf.max_output = 0;
	assert_null(ssr_mgmt_create(&conf));

	/* NULL handles are harmless */
	ssr_mgmt_destroy(NULL);
	assert_int_equal(ssr_mgmt_poll(NULL, 0), -EINVAL);
	assert_int_equal(ssr_mgmt_publish_event(NULL, NULL), -EINVAL);
	assert_int_equal(ssr_mgmt_subscribers(NULL, ~0u), 0);
}

static void
test_create_refuses_unsafe_paths(void **state)
{
	char dir[64], path[128], other[160], sub[160], subsock[200];
	struct fake_state f;
	struct stat st;
	int fd;

	(void)state;
	fake_init(&f);
	tu_tmpdir(dir, path);

	/* a symlink at the socket path is never followed nor removed */
	snprintf(other, sizeof(other), "%s/victim", dir);
	fd = open(other, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(symlink(other, path), 0);
	errno = 0;
	assert_null(create_at(path, &f, NULL, 0, NULL, 0));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_true(S_ISREG(st.st_mode));
	/* a dangling symlink too */
	unlink(other);
	errno = 0;
	assert_null(create_at(path, &f, NULL, 0, NULL, 0));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(other, F_OK), -1); /* nothing created through it */
	unlink(path);

	/* a regular file is left alone */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	errno = 0;
	assert_null(create_at(path, &f, NULL, 0, NULL, 0));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);

	/* the directory itself a symlink */
	snprintf(sub, sizeof(sub), "%s/real", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(other, sizeof(other), "%s/link", dir);
	assert_int_equal(symlink(sub, other), 0);
	snprintf(subsock, sizeof(subsock), "%s/s.sock", other);
	errno = 0;
	assert_null(create_at(subsock, &f, NULL, 0, NULL, 0));
	assert_int_equal(errno, ELOOP);

	/* a directory others can write to (not sticky) */
	assert_int_equal(chmod(sub, 0777), 0);
	snprintf(subsock, sizeof(subsock), "%s/s.sock", sub);
	errno = 0;
	assert_null(create_at(subsock, &f, NULL, 0, NULL, 0));
	assert_int_equal(errno, EPERM);
	/* sticky makes it acceptable (others cannot replace our entries) */
	assert_int_equal(chmod(sub, 01777), 0);
	{
		struct ssr_mgmt *srv = create_at(subsock, &f, NULL, 0, NULL, 0);

		assert_non_null(srv);
		ssr_mgmt_destroy(srv);
	}

	/* a missing directory is created, 0755, one level only */
	snprintf(sub, sizeof(sub), "%s/new", dir);
	snprintf(subsock, sizeof(subsock), "%s/s.sock", sub);
	{
		struct ssr_mgmt *srv = create_at(subsock, &f, NULL, 0, NULL, 0);

		assert_non_null(srv);
		assert_int_equal(lstat(sub, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0755);
		ssr_mgmt_destroy(srv);
	}
	snprintf(subsock, sizeof(subsock), "%s/a/b/s.sock", dir);
	errno = 0;
	assert_null(create_at(subsock, &f, NULL, 0, NULL, 0));
	assert_int_equal(errno, ENOENT);

	tu_rmdir(dir);
	fake_fini(&f);
}

static void
test_create_stale_live_and_modes(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[64], path[128];
	struct ssr_mgmt *srv, *srv2;
	struct fake_state f;
	struct stat st;
	struct tclient c;
	json_t *r;
	int fd;

	(void)state;
	fake_init(&f);
	tu_tmpdir(dir, path);

	/* a stale socket (bound, nobody listening) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	srv = create_at(path, &f, NULL, 0, NULL, 0);
	assert_non_null(srv);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_uid, geteuid());

	/* a live one is not */
	errno = 0;
	assert_null(create_at(path, &f, NULL, 0, NULL, 0));
	assert_int_equal(errno, EADDRINUSE);
	/* and the first server still works */
	assert_int_equal(tu_connect(&c, path), 0);
	r = tu_rpc(srv, &c, "{\"id\":1,\"op\":\"version\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	tu_close(&c);

	/* destroy removes the file ... */
	ssr_mgmt_destroy(srv);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* ... but not a file that replaced it meanwhile */
	srv = create_at(path, &f, NULL, 0, NULL, 0);
	assert_non_null(srv);
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ssr_mgmt_destroy(srv);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);

	/* modes follow the allow lists */
	{
		uid_t self[] = { 0, geteuid() };
		uid_t other[] = { 12345 };
		gid_t grp[] = { 4321, 99 };

		srv = create_at(path, &f, self, 2, NULL, 0);
		assert_non_null(srv);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		ssr_mgmt_destroy(srv);

		if (geteuid() == 0) { /* chown to a foreign group needs root */
			srv = create_at(path, &f, NULL, 0, grp, 2);
			assert_non_null(srv);
			assert_int_equal(lstat(path, &st), 0);
			assert_int_equal(st.st_mode & 0777, 0660);
			assert_int_equal(st.st_gid, 4321);
			ssr_mgmt_destroy(srv);
		}

		srv = create_at(path, &f, other, 1, NULL, 0);
		assert_non_null(srv);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0666);
		srv2 = srv;
		ssr_mgmt_destroy(srv2);
	}
	tu_rmdir(dir);
	fake_fini(&f);
}

/* ---- requests over the socket ---- */

struct fixture {
	char dir[64];
	char path[128];
	struct fake_state f;
	struct ssr_mgmt *srv;
};

static struct fixture *
fx_new(size_t max_request, size_t max_output, unsigned int stall_ms,
		unsigned int max_clients)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fake_init(&fx->f);
	tu_tmpdir(fx->dir, fx->path);
	fx->srv = tu_server(fx->path, &fx->f, max_request, max_output, stall_ms,
			max_clients);
	assert_non_null(fx->srv);
	return fx;
}

static void
fx_free(struct fixture *fx)
{
	ssr_mgmt_destroy(fx->srv);
	tu_rmdir(fx->dir);
	fake_fini(&fx->f);
	free(fx);
}

static void
test_basic_requests(void **state)
{
	struct fixture *fx = fx_new(0, 0, 0, 0);
	struct ssr_mgmt_stats st;
	struct tclient c;
	json_t *r;
	const char *pipelined =
		"{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":"
		"\"forward\",\"targets\":[{\"address\":\"192.0.2.10\",\"weight\":2}]}\n"
		"\n   \r\n"
		"{\"id\":2,\"op\":\"rules.list\"}\r\n"
		"{\"id\":3,\"op\":\"rule.add\",\"prefix\":\"4001/16\",\"action\":\"drop\"}\n";

	(void)state;
	assert_int_equal(tu_connect(&c, fx->path), 0);
	r = tu_rpc(fx->srv, &c, "{\"id\":\"v\",\"op\":\"version\"}");
	assert_string_equal(tu_str(r, "id"), "v");
	assert_string_equal(tu_str(r, "result.name"), "serval-sr");
	assert_int_equal(tu_int(r, "result.protocol"), SSR_MGMT_PROTOCOL_VERSION);
	json_decref(r);

	/* three requests in one write, blank lines and CRLF: three replies, in
	 * order */
	assert_int_equal(tu_send(fx->srv, &c, pipelined, strlen(pipelined)), 0);
	r = tu_recv(fx->srv, &c, 5000, NULL);
	assert_int_equal(tu_int(r, "id"), 1);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = tu_recv(fx->srv, &c, 5000, NULL);
	assert_int_equal(tu_int(r, "id"), 2);
	assert_string_equal(tu_str(r, "result.rules.0.prefix"), "4001/16");
	assert_string_equal(tu_str(r, "result.rules.0.targets.0.address"),
			"192.0.2.10");
	assert_int_equal(tu_int(r, "result.rules.0.targets.0.weight"), 2);
	json_decref(r);
	r = tu_recv(fx->srv, &c, 5000, NULL);
	assert_int_equal(tu_int(r, "id"), 3);
	assert_string_equal(tu_str(r, "error.code"), "exists");
	json_decref(r);

	/* the peer identity reaches the ops */
	assert_int_equal(fx->f.last_peer.uid, geteuid());
	assert_int_equal(fx->f.last_peer.pid, getpid());
	assert_int_equal(fx->f.last_peer.client, 1);

	/* stats carry the server's own counters */
	r = tu_rpc(fx->srv, &c, "{\"id\":4,\"op\":\"stats\"}");
	assert_int_equal(tu_int(r, "result.counters.rx"), 100);
	assert_int_equal(tu_int(r, "result.mgmt.gauges.clients"), 1);
	assert_int_equal(tu_int(r, "result.mgmt.counters.requests"), 4);
	assert_int_equal(tu_int(r, "result.mgmt.counters.errors"), 1);
	json_decref(r);

	/* a bad request gets an error and the connection stays usable */
	r = tu_rpc(fx->srv, &c, "{\"id\":5,\"op\":\"rule.add\"");
	assert_string_equal(tu_str(r, "error.code"), "parse_error");
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	r = tu_rpc(fx->srv, &c, "{\"id\":6,\"op\":\"version\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	tu_close(&c);
	while (ssr_mgmt_poll(fx->srv, 10) > 0 || stats_of(fx->srv).clients > 0)
		;
	st = stats_of(fx->srv);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.closed, 1);
	assert_int_equal(st.requests, 7);
	assert_int_equal(st.errors, 2);
	assert_int_equal(st.truncated, 0);
	fx_free(fx);
}

/* Forked clients: each adds its own rules and reads them back. */
static int
child_client(const char *path, int k, int n)
{
	struct tclient c;
	char req[256];
	int i;

	if (tu_connect(&c, path) != 0)
		return 10;
	for (i = 0; i < n; i++) {
		json_t *r;

		snprintf(req, sizeof(req), "{\"id\":%d,\"op\":\"rule.add\",\"prefix\":"
				"\"%02x%02x/16\",\"action\":\"drop\"}", i, k, i);
		r = tu_rpc(NULL, &c, req);
		if (r == NULL || !json_is_true(json_object_get(r, "ok")) ||
				tu_int(r, "id") != i)
			return 11;
		json_decref(r);
		snprintf(req, sizeof(req), "{\"id\":\"q%d\",\"op\":\"rules.list\","
				"\"prefix\":\"%02x%02x/16\"}", i, k, i);
		r = tu_rpc(NULL, &c, req);
		if (r == NULL || json_array_size(json_object_get(json_object_get(r,
							"result"), "rules")) != 1)
			return 12;
		json_decref(r);
	}
	tu_close(&c);
	return 0;
}

static void
test_concurrent_clients(void **state)
{
	enum { KIDS = 4, EACH = 12 };
	struct fixture *fx = fx_new(0, 0, 0, 0);
	pid_t pids[KIDS];
	int k, done = 0, status;
	long long deadline = mono_ms() + 30000;

	(void)state;
	for (k = 0; k < KIDS; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0)
			_exit(child_client(fx->path, k, EACH));
	}
	while (done < KIDS && mono_ms() < deadline) {
		pid_t p;

		ssr_mgmt_poll(fx->srv, 5);
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail_msg("client %d ended with status 0x%x", (int)p, status);
			done++;
		}
	}
	assert_int_equal(done, KIDS);
	assert_int_equal(fx->f.n_rules, KIDS * EACH);
	assert_int_equal(stats_of(fx->srv).accepted, KIDS);
	assert_int_equal(stats_of(fx->srv).requests, 2 * KIDS * EACH);
	fx_free(fx);
}

static void
test_disconnect_mid_request(void **state)
{
	struct fixture *fx = fx_new(0, 0, 0, 0);
	const char *half = "{\"id\":1,\"op\":\"rule.add\",\"prefix\":\"40";
	struct tclient c, d;
	json_t *r;
	int i;

	(void)state;
	assert_int_equal(tu_connect(&c, fx->path), 0);
	assert_int_equal(tu_send(fx->srv, &c, half, strlen(half)), 0);
	for (i = 0; i < 5; i++)
		ssr_mgmt_poll(fx->srv, 1);
	tu_close(&c);
	for (i = 0; i < 20 && stats_of(fx->srv).closed == 0; i++)
		ssr_mgmt_poll(fx->srv, 5);
	assert_int_equal(stats_of(fx->srv).truncated, 1);
	assert_int_equal(stats_of(fx->srv).clients, 0);
	assert_int_equal(stats_of(fx->srv).requests, 0);
	assert_int_equal(fx->f.applied, 0);

	/* a client that sends a whole request and closes without reading: the
	 * request is still applied, the reply is dropped, nothing breaks */
	assert_int_equal(tu_connect(&c, fx->path), 0);
	{
		const char *whole = "{\"id\":1,\"op\":\"rule.add\",\"prefix\":"
			"\"4001/16\",\"action\":\"drop\"}\n";

		assert_int_equal(tu_send(fx->srv, &c, whole, strlen(whole)), 0);
	}
	tu_close(&c);
	for (i = 0; i < 20 && stats_of(fx->srv).closed < 2; i++)
		ssr_mgmt_poll(fx->srv, 5);
	assert_int_equal(stats_of(fx->srv).closed, 2);
	assert_int_equal(fx->f.n_rules, 1);

	assert_int_equal(tu_connect(&d, fx->path), 0);
	r = tu_rpc(fx->srv, &d, "{\"id\":2,\"op\":\"version\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	tu_close(&d);
	fx_free(fx);
}

static void
test_flooding_client_disconnected(void **state)
{
	/* small output bound and a short stall timeout keep this quick */
	struct fixture *fx = fx_new(0, 64 * 1024, 300, 0);
	const char *req = "{\"id\":123456,\"op\":\"version\"}\n";
	size_t len = strlen(req);
	struct tclient flood, good;
	long long deadline = mono_ms() + 20000;
	unsigned int good_ok = 0;
	bool gone = false;
	char chunk[8192];
	size_t off;

	(void)state;
	for (off = 0; off + len <= sizeof(chunk); off += len)
		memcpy(chunk + off, req, len);
	assert_int_equal(tu_connect(&flood, fx->path), 0);
	assert_int_equal(tu_connect(&good, fx->path), 0);
	while (!gone && mono_ms() < deadline) {
		ssize_t n;
		json_t *r;

		/* the flooder writes as much as the socket takes, never reads */
		do {
			n = send(flood.fd, chunk, off, MSG_NOSIGNAL);
		} while (n > 0);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			gone = true;
		ssr_mgmt_poll(fx->srv, 0);
		/* the good client keeps being served meanwhile */
		r = tu_rpc(fx->srv, &good, "{\"id\":7,\"op\":\"version\"}");
		assert_non_null(r);
		assert_int_equal(tu_int(r, "id"), 7);
		json_decref(r);
		good_ok++;
	}
	assert_true(gone);
	assert_int_equal(stats_of(fx->srv).stalled, 1);
	assert_int_equal(stats_of(fx->srv).clients, 1);
	assert_true(good_ok > 0);
	tu_close(&flood);
	tu_close(&good);
	fx_free(fx);
}

/* 10 MB without a newline: one error reply, connection closed, bounded read. */
static void
test_huge_request(void **state)
{
	struct fixture *fx = fx_new(0, 0, 0, 0);
	size_t total = 10 * 1024 * 1024, sent = 0;
	struct tclient c, good;
	char *junk = malloc(1 << 16);
	long long deadline = mono_ms() + 20000;
	bool eof = false;
	json_t *r;

	(void)state;
	assert_non_null(junk);
	memset(junk, 'x', 1 << 16);
	junk[0] = '"';
	assert_int_equal(tu_connect(&c, fx->path), 0);
	while (sent < total && mono_ms() < deadline) {
		ssize_t n = send(c.fd, junk, 1 << 16, MSG_NOSIGNAL);

		if (n > 0) {
			sent += n;
			junk[0] = 'x';
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			break;
		ssr_mgmt_poll(fx->srv, 1);
	}
	assert_true(sent < total); /* the server hung up before taking it all */
	r = tu_recv(fx->srv, &c, 5000, &eof);
	assert_non_null(r);
	assert_true(json_is_null(json_object_get(r, "id")));
	assert_string_equal(tu_str(r, "error.code"), "too_large");
	assert_non_null(strstr(tu_str(r, "error.message"), "65536"));
	json_decref(r);
	r = tu_recv(fx->srv, &c, 2000, &eof);
	assert_null(r);
	assert_true(eof);
	tu_close(&c);
	assert_int_equal(stats_of(fx->srv).oversized, 1);
	/* it read the limit and a little more, not 10 MB */
	assert_true(stats_of(fx->srv).bytes_in <= SSR_MGMT_DEFAULT_MAX_REQUEST + 1);
	assert_int_equal(fx->f.applied, 0);

	assert_int_equal(tu_connect(&good, fx->path), 0);
	r = tu_rpc(fx->srv, &good, "{\"id\":1,\"op\":\"version\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	tu_close(&good);
	free(junk);
	fx_free(fx);
}

/* A line of exactly max_request bytes is served; one more byte is not. */
static void
test_request_limit_boundary(void **state)
{
	enum { LIMIT = 1024 };
	struct fixture *fx = fx_new(LIMIT, 0, 0, 0);
	char line[LIMIT + 2];
	const char *head = "{\"id\":1,\"op\":\"version\"}";
	struct tclient c;
	bool eof;
	json_t *r;

	(void)state;
	memset(line, ' ', sizeof(line));
	memcpy(line, head, strlen(head));
	line[LIMIT] = '\n'; /* LIMIT bytes, then the newline */
	assert_int_equal(tu_connect(&c, fx->path), 0);
	assert_int_equal(tu_send(fx->srv, &c, line, LIMIT + 1), 0);
	r = tu_recv(fx->srv, &c, 5000, NULL);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	line[LIMIT] = ' ';
	line[LIMIT + 1] = '\n'; /* LIMIT + 1 bytes */
	assert_int_equal(tu_send(fx->srv, &c, line, LIMIT + 2), 0);
	r = tu_recv(fx->srv, &c, 5000, &eof);
	assert_string_equal(tu_str(r, "error.code"), "too_large");
	json_decref(r);
	assert_null(tu_recv(fx->srv, &c, 2000, &eof));
	assert_true(eof);
	tu_close(&c);
	fx_free(fx);
}

/* 200 pipelined requests: bounded per call, finished without new I/O. */
static void
test_budgets(void **state)
{
	enum { N = 200 };
	struct fixture *fx = fx_new(0, 0, 0, 0);
	struct tclient c;
	char *all = malloc(N * 64);
	size_t off = 0;
	int i, got = 0, handled, calls = 0;

	(void)state;
	for (i = 0; i < N; i++)
		off += sprintf(all + off, "{\"id\":%d,\"op\":\"version\"}\n", i);
	assert_int_equal(tu_connect(&c, fx->path), 0);
	/* accept first, so the next poll only reads */
	ssr_mgmt_poll(fx->srv, 10);
	assert_int_equal(send(c.fd, all, off, 0), (ssize_t)off);
	while (got < N && calls < 1000) {
		handled = ssr_mgmt_poll(fx->srv, 0);
		calls++;
		assert_true(handled >= 0 && handled <= SSR_MGMT_CLIENT_BUDGET);
		got += handled;
	}
	assert_int_equal(got, N);
	assert_true(calls >= N / SSR_MGMT_CLIENT_BUDGET);
	for (i = 0; i < N; i++) {
		json_t *r = tu_recv(fx->srv, &c, 5000, NULL);

		assert_int_equal(tu_int(r, "id"), i);
		json_decref(r);
	}
	tu_close(&c);
	free(all);
	fx_free(fx);
}

static void
test_reply_too_large_and_max_clients(void **state)
{
	struct fixture *fx = fx_new(0, 64 * 1024, 0, 2);
	struct tclient a, b, c;
	bool eof;
	json_t *r;

	(void)state;
	fx->f.n_flows = 5000;
	assert_int_equal(tu_connect(&a, fx->path), 0);
	r = tu_rpc(fx->srv, &a, "{\"id\":1,\"op\":\"flows.list\",\"limit\":5000}");
	assert_int_equal(tu_int(r, "id"), 1);
	assert_string_equal(tu_str(r, "error.code"), "too_large");
	json_decref(r);
	r = tu_rpc(fx->srv, &a, "{\"id\":2,\"op\":\"flows.list\",\"limit\":3}");
	assert_int_equal(json_array_size(json_object_get(json_object_get(r,
						"result"), "flows")), 3);
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"),
					"truncated")));
	json_decref(r);

	assert_int_equal(tu_connect(&b, fx->path), 0);
	r = tu_rpc(fx->srv, &b, "{\"id\":1,\"op\":\"version\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* the third is told why and closed */
	assert_int_equal(tu_connect(&c, fx->path), 0);
	r = tu_recv(fx->srv, &c, 5000, &eof);
	assert_string_equal(tu_str(r, "error.code"), "busy");
	json_decref(r);
	assert_null(tu_recv(fx->srv, &c, 2000, &eof));
	assert_true(eof);
	assert_int_equal(stats_of(fx->srv).refused_full, 1);
	tu_close(&a);
	tu_close(&b);
	tu_close(&c);
	fx_free(fx);
}

/* ---- events ---- */

static void
test_events(void **state)
{
	struct fixture *fx = fx_new(0, 0, 0, 0);
	struct tclient sub, ctl;
	json_t *r, *ev;

	(void)state;
	fx->f.srv = fx->srv;
	assert_int_equal(tu_connect(&sub, fx->path), 0);
	assert_int_equal(tu_connect(&ctl, fx->path), 0);
	r = tu_rpc(fx->srv, &sub, "{\"id\":1,\"op\":\"subscribe\",\"events\":"
			"[\"rule\",\"delay_miss\"]}");
	assert_int_equal(json_array_size(json_object_get(json_object_get(r,
						"result"), "events")), 2);
	json_decref(r);
	assert_int_equal(ssr_mgmt_subscribers(fx->srv,
				1u << SSR_MGMT_EVENT_RULE_BIT), 1);
	assert_int_equal(ssr_mgmt_subscribers(fx->srv,
				1u << SSR_MGMT_EVENT_HEALTH_BIT), 0);
	assert_int_equal(stats_of(fx->srv).subscribers, 1);

	/* a change by another client reaches the subscriber */
	r = tu_rpc(fx->srv, &ctl, "{\"id\":1,\"op\":\"rule.add\",\"prefix\":"
			"\"4001/16\",\"action\":\"drop\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = tu_recv(fx->srv, &sub, 5000, NULL);
	assert_string_equal(tu_str(r, "event"), "rule");
	assert_string_equal(tu_str(r, "change"), "rule.add");
	assert_string_equal(tu_str(r, "prefix"), "4001/16");
	json_decref(r);

	/* only the kinds asked for */
	ev = json_pack("{s:s, s:s}", "event", "health", "state", "down");
	assert_int_equal(ssr_mgmt_publish_event(fx->srv, ev), 0);
	json_decref(ev);
	ev = json_pack("{s:s, s:s}", "event", "delay_miss", "service_id", "4001");
	assert_int_equal(ssr_mgmt_publish_event(fx->srv, ev), 1);
	assert_int_equal(ev->refcount, 1); /* borrowed, not stolen */
	json_decref(ev);
	r = tu_recv(fx->srv, &sub, 5000, NULL);
	assert_string_equal(tu_str(r, "event"), "delay_miss");
	json_decref(r);

	/* malformed events */
	ev = json_pack("{s:s}", "event", "weather");
	assert_int_equal(ssr_mgmt_publish_event(fx->srv, ev), -EINVAL);
	json_decref(ev);
	ev = json_pack("{s:i}", "x", 1);
	assert_int_equal(ssr_mgmt_publish_event(fx->srv, ev), -EINVAL);
	json_decref(ev);
	ev = json_array();
	assert_int_equal(ssr_mgmt_publish_event(fx->srv, ev), -EINVAL);
	json_decref(ev);

	/* unsubscribe from everything: nothing more arrives, replies still do */
	r = tu_rpc(fx->srv, &sub, "{\"id\":2,\"op\":\"unsubscribe\"}");
	assert_int_equal(json_array_size(json_object_get(json_object_get(r,
						"result"), "events")), 0);
	json_decref(r);
	assert_int_equal(stats_of(fx->srv).subscribers, 0);
	ev = json_pack("{s:s}", "event", "rule");
	assert_int_equal(ssr_mgmt_publish_event(fx->srv, ev), 0);
	json_decref(ev);
	r = tu_rpc(fx->srv, &sub, "{\"id\":3,\"op\":\"version\"}");
	assert_int_equal(tu_int(r, "id"), 3);
	json_decref(r);
	tu_close(&sub);
	tu_close(&ctl);
	fx_free(fx);
}

/* A subscriber that stops reading loses events (counted, then told). */
static void
test_slow_subscriber_loses_events(void **state)
{
	struct fixture *fx = fx_new(0, 8192, 60000, 0);
	struct tclient sub;
	unsigned int i, received = 0;
	long long lost = 0;
	char pad[200];
	json_t *r, *ev;

	(void)state;
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	assert_int_equal(tu_connect(&sub, fx->path), 0);
	/* a small receive buffer so the server's own buffer fills */
	{
		int sz = 4096;

		setsockopt(sub.fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	r = tu_rpc(fx->srv, &sub, "{\"id\":1,\"op\":\"subscribe\"}");
	json_decref(r);
	ev = json_pack("{s:s, s:s}", "event", "lease", "pad", pad);
	for (i = 0; i < 2000; i++)
		ssr_mgmt_publish_event(fx->srv, ev);
	assert_true(stats_of(fx->srv).events_dropped > 0);
	assert_int_equal(stats_of(fx->srv).events_sent +
			stats_of(fx->srv).events_dropped, 2000);
	/* drain, then one more event: preceded by the loss notice */
	while ((r = tu_recv(fx->srv, &sub, 200, NULL)) != NULL) {
		received++;
		json_decref(r);
	}
	assert_int_equal(received, stats_of(fx->srv).events_sent);
	assert_int_equal(ssr_mgmt_publish_event(fx->srv, ev), 1);
	r = tu_recv(fx->srv, &sub, 5000, NULL);
	assert_string_equal(tu_str(r, "event"), "lost");
	lost = tu_int(r, "count");
	assert_int_equal(lost, (long long)stats_of(fx->srv).events_dropped);
	json_decref(r);
	r = tu_recv(fx->srv, &sub, 5000, NULL);
	assert_string_equal(tu_str(r, "event"), "lease");
	json_decref(r);
	json_decref(ev);
	/* still connected: losing events is not a reason to hang up */
	assert_int_equal(stats_of(fx->srv).clients, 1);
	tu_close(&sub);
	fx_free(fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_args),
		cmocka_unit_test(test_create_refuses_unsafe_paths),
		cmocka_unit_test(test_create_stale_live_and_modes),
		cmocka_unit_test(test_basic_requests),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_disconnect_mid_request),
		cmocka_unit_test(test_flooding_client_disconnected),
		cmocka_unit_test(test_huge_request),
		cmocka_unit_test(test_request_limit_boundary),
		cmocka_unit_test(test_budgets),
		cmocka_unit_test(test_reply_too_large_and_max_clients),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_slow_subscriber_loses_events),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
