/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * servalctl: the command line over serval-sr's management socket.
 *
 * It turns its arguments into one protocol request (docs/management.md),
 * sends it, and prints the reply as tables (default) or as JSON (--json).
 * Validation of values (prefixes, addresses, ranges) is the server's: the
 * CLI only checks its own syntax, so there is one set of rules and one set
 * of messages.
 *
 * Exit status: 0 success; 1 the server refused the request; 2 usage error;
 * 3 the server could not be reached or refused the connection; 4 timeout or
 * a reply that does not follow the protocol.
 */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mgmt_proto.h"

enum {
	EX_OK = 0,
	EX_SERVER = 1,
	EX_USAGE = 2,
	EX_CONNECT = 3,
	EX_PROTO = 4,
};

#define REQ_ID 1

static const char *prog = "servalctl";

static struct {
	const char *socket;
	double timeout_s;
	bool json;
} opt = {
	.socket = SSR_MGMT_DEFAULT_SOCKET,
	.timeout_s = 5.0,
};

static void __attribute__((format(printf, 1, 2), noreturn))
usage_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	exit(EX_USAGE);
}

static void __attribute__((format(printf, 2, 3), noreturn))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
oom(void)
{
	die(EX_PROTO, "out of memory");
}

static void
help(void)
{
	printf(
"usage: %s [--socket PATH] [--timeout SECONDS] [--json] COMMAND [ARGS]\n"
"\n"
"Rules and targets:\n"
"  rules [PREFIX]                      list rules with their counters\n"
"  rule add PREFIX --action ACTION [--mode MODE] [--target T]...\n"
"           [--delay-queue N] [--delay-timeout MS]\n"
"           [--health] [--health-interval MS] [--health-timeout MS]\n"
"           [--health-fall N] [--health-rise N] [--health-on-down keep|reset]\n"
"                                      T is ADDR[:w=WEIGHT][:p=PRIORITY]\n"
"  rule replace PREFIX ...             as add; creates or replaces\n"
"  rule del PREFIX\n"
"  target add PREFIX ADDR [--weight N] [--priority N]\n"
"  target remove PREFIX ADDR\n"
"  target weight PREFIX ADDR N\n"
"  target priority PREFIX ADDR N\n"
"  target drain PREFIX ADDR            weight 0: no new flows\n"
"  batch [FILE|-]                      apply a JSON array of operations\n"
"                                      (or one per line) all or nothing\n"
"  register PREFIX ADDR --lease SECONDS [--weight N] [--priority N]\n"
"  refresh PREFIX ADDR [--lease SECONDS]\n"
"  unregister PREFIX ADDR\n"
"Queries:\n"
"  resolve SERVICEID [--client ADDR] [--flow-id N]\n"
"  flows [--limit N] [--prefix PREFIX] [--target ADDR]\n"
"  flow show ID | flow del ID\n"
"  stats                               counters per port, worker, rule, target\n"
"  metrics                             the same as OpenMetrics text\n"
"  version\n"
"Other:\n"
"  reload [PATH]                       reload the YAML service map\n"
"  watch [EVENT]... [--count N]        print events (delay_miss, rule, lease,\n"
"                                      health) until interrupted\n"
"  call OP [JSON]                      send any operation; JSON holds its\n"
"                                      arguments\n"
"\n"
"Options:\n"
"  -s, --socket PATH    management socket (default %s)\n"
"  -t, --timeout SEC    how long to wait for the reply (default 5)\n"
"  -j, --json           print the result as JSON, for scripts\n"
"\n"
"Exit status: 0 ok, 1 the server refused the request, 2 usage error,\n"
"3 cannot reach the server, 4 timeout or protocol error.\n",
		prog, SSR_MGMT_DEFAULT_SOCKET);
}

/* ---- argument handling ---- */

struct args {
	int n;
	char **v;
	bool *used;
};

/* `--name VALUE` or `--name=VALUE`; NULL if absent. */
static const char *
take_opt(struct args *a, const char *name)
{
	size_t len = strlen(name);
	const char *val = NULL;
	int i;

	for (i = 0; i < a->n; i++) {
		if (a->used[i] || strncmp(a->v[i], name, len) != 0)
			continue;
		if (a->v[i][len] == '=') {
			a->used[i] = true;
			val = a->v[i] + len + 1;
		} else if (a->v[i][len] == '\0') {
			if (i + 1 >= a->n)
				usage_fail("%s needs a value", name);
			a->used[i] = a->used[i + 1] = true;
			val = a->v[i + 1];
		} else {
			continue;
		}
		break;
	}
	return val;
}

static bool
take_flag(struct args *a, const char *name)
{
	int i;

	for (i = 0; i < a->n; i++) {
		if (!a->used[i] && strcmp(a->v[i], name) == 0) {
			a->used[i] = true;
			return true;
		}
	}
	return false;
}

/* Next unused argument that is not an option or an option's value (every
 * command option takes a value; the one flag, --json, is taken first). */
static const char *
take_pos(struct args *a)
{
	int i;

	for (i = 0; i < a->n; i++) {
		if (a->used[i])
			continue;
		if (a->v[i][0] == '-' && a->v[i][1] == '-') {
			if (strchr(a->v[i], '=') == NULL)
				i++; /* skip its value */
			continue;
		}
		a->used[i] = true;
		return a->v[i];
	}
	return NULL;
}

static const char *
need_pos(struct args *a, const char *what)
{
	const char *s = take_pos(a);

	if (s == NULL)
		usage_fail("missing %s", what);
	return s;
}

static void
check_done(struct args *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (!a->used[i])
			usage_fail("unexpected argument '%s'", a->v[i]);
}

/* A whole decimal integer; ranges are the server's to check. */
static json_t *
num_arg(const char *what, const char *s)
{
	long long x;
	char *end;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0)
		usage_fail("%s: '%s' is not a whole number", what, s);
	return json_integer(x);
}

static void
set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		oom();
}

static void
set_opt_num(struct args *a, json_t *req, const char *opt_name, const char *key)
{
	const char *v = take_opt(a, opt_name);

	if (v != NULL)
		set(req, key, num_arg(opt_name, v));
}

/* ADDR[:w=N][:p=N] (also weight= / priority=) -> {"address", ...} */
static json_t *
target_spec(const char *spec)
{
	char *copy = strdup(spec), *tok, *save = NULL;
	json_t *t = json_object();
	bool first = true;

	if (copy == NULL || t == NULL)
		oom();
	for (tok = strtok_r(copy, ":", &save); tok != NULL;
			tok = strtok_r(NULL, ":", &save), first = false) {
		if (first) {
			set(t, "address", json_string(tok));
		} else if (strncmp(tok, "w=", 2) == 0) {
			set(t, "weight", num_arg("target weight", tok + 2));
		} else if (strncmp(tok, "weight=", 7) == 0) {
			set(t, "weight", num_arg("target weight", tok + 7));
		} else if (strncmp(tok, "p=", 2) == 0) {
			set(t, "priority", num_arg("target priority", tok + 2));
		} else if (strncmp(tok, "priority=", 9) == 0) {
			set(t, "priority", num_arg("target priority", tok + 9));
		} else {
			usage_fail("--target '%s': '%s' is not w=N or p=N", spec, tok);
		}
	}
	if (first)
		usage_fail("--target needs ADDR[:w=N][:p=N]");
	free(copy);
	return t;
}

/* ---- talking to the server ---- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Set by SIGINT / SIGTERM during watch: reads give up instead of retrying. */
static volatile sig_atomic_t stop;

struct conn {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
};

static void
conn_open(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv;

	if (strlen(opt.socket) >= sizeof(sa.sun_path))
		usage_fail("socket path '%s' is too long", opt.socket);
	memcpy(sa.sun_path, opt.socket, strlen(opt.socket));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die(EX_CONNECT, "socket: %s", strerror(errno));
	/* a full listen backlog makes connect() wait: bound it too */
	tv.tv_sec = (time_t)opt.timeout_s;
	tv.tv_usec = (suseconds_t)((opt.timeout_s - tv.tv_sec) * 1e6);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		if (e == ENOENT)
			die(EX_CONNECT, "cannot connect to %s: no such socket (is "
					"serval-sr running with a 'management' section?)",
					opt.socket);
		if (e == ECONNREFUSED)
			die(EX_CONNECT, "cannot connect to %s: connection refused "
					"(serval-sr is not running?)", opt.socket);
		if (e == EACCES || e == EPERM)
			die(EX_CONNECT, "cannot connect to %s: permission denied (run "
					"as root or a user in management.allow_uids/gids)",
					opt.socket);
		if (e == EAGAIN || e == ETIMEDOUT)
			die(EX_CONNECT, "cannot connect to %s: timed out", opt.socket);
		die(EX_CONNECT, "cannot connect to %s: %s", opt.socket, strerror(e));
	}
	c->cap = 65536;
	c->len = 0;
	c->buf = malloc(c->cap);
	if (c->buf == NULL)
		oom();
}

/* Write everything; false if the server hung up (its reason may be queued). */
static bool
conn_write(struct conn *c, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n > 0) {
			s += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die(EX_PROTO, "timed out sending the request to %s", opt.socket);
		die(EX_CONNECT, "sending to %s: %s", opt.socket, strerror(errno));
	}
	return true;
}

/*
 * Next line from the server, parsed. deadline < 0 waits forever. Returns
 * NULL at end of stream (the server closed).
 */
static json_t *
conn_read(struct conn *c, double deadline)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		json_error_t jerr;
		ssize_t n;
		int wait_ms = -1;

		if (nl != NULL) {
			size_t l = nl - c->buf;
			json_t *j = json_loadb(c->buf, l, 0, &jerr);

			if (j == NULL || !json_is_object(j))
				die(EX_PROTO, "the server sent something that is not a JSON "
						"object: %s", j == NULL ? jerr.text : "");
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return j;
		}
		if (c->len == c->cap) {
			char *b;

			c->cap *= 2;
			b = realloc(c->buf, c->cap);
			if (b == NULL)
				oom();
			c->buf = b;
		}
		if (deadline >= 0) {
			double left = deadline - now_s();

			if (left <= 0)
				die(EX_PROTO, "timed out after %g s waiting for %s",
						opt.timeout_s, opt.socket);
			wait_ms = (int)(left * 1000) + 1;
		}
		if (poll(&p, 1, wait_ms) < 0) {
			if (errno == EINTR && stop)
				return NULL;
			if (errno == EINTR)
				continue;
			die(EX_CONNECT, "poll: %s", strerror(errno));
		}
		if (p.revents == 0)
			continue;
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			c->len += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == ECONNRESET)
			return NULL;
		die(EX_CONNECT, "reading from %s: %s", opt.socket, strerror(errno));
	}
}

/* Report an error reply and exit. A reply with id null answers no request:
 * the server refused the connection or the line itself. */
static void __attribute__((noreturn))
fail_reply(const json_t *reply, const char *what)
{
	const json_t *err = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	const json_t *details = json_object_get(err, "details");
	bool conn_level = json_is_null(json_object_get(reply, "id"));
	size_t i;

	if (code == NULL)
		code = "failed";
	if (opt.json) {
		char *s = json_dumps(reply, JSON_COMPACT);

		if (s != NULL)
			printf("%s\n", s);
		free(s);
	}
	fprintf(stderr, "%s: %s: %s [%s]\n", prog, what, msg ? msg : "(no message)",
			code);
	for (i = 0; i < json_array_size(details); i++)
		fprintf(stderr, "  %s\n", json_string_value(json_array_get(details, i)));
	if (conn_level && (strcmp(code, "permission_denied") == 0 ||
				strcmp(code, "busy") == 0))
		exit(EX_CONNECT);
	exit(EX_SERVER);
}

/* Send one request; return its result (the reply is kept in *reply). */
static json_t *
call(struct conn *c, json_t *req, json_t **reply)
{
	const char *what = json_string_value(json_object_get(req, "op"));
	double deadline = now_s() + opt.timeout_s;
	char *line;
	size_t len;
	bool sent;
	json_t *r;

	set(req, "id", json_integer(REQ_ID));
	line = json_dumps(req, JSON_COMPACT);
	if (line == NULL)
		oom();
	len = strlen(line);
	sent = conn_write(c, line, len) && conn_write(c, "\n", 1);
	free(line);
	for (;;) {
		r = conn_read(c, deadline);
		if (r == NULL)
			die(sent ? EX_PROTO : EX_CONNECT, "%s closed the connection "
					"without answering%s", opt.socket,
					sent ? "" : " (the request was not sent)");
		/* events do not answer requests: skip them */
		if (json_object_get(r, "event") != NULL) {
			json_decref(r);
			continue;
		}
		if (json_is_null(json_object_get(r, "id")) ||
				json_integer_value(json_object_get(r, "id")) == REQ_ID)
			break;
		json_decref(r);
	}
	*reply = r;
	if (!json_is_true(json_object_get(r, "ok")))
		fail_reply(r, what);
	if (!json_is_object(json_object_get(r, "result")))
		die(EX_PROTO, "%s: the reply has no result object", what);
	return json_object_get(r, "result");
}

/* ---- output helpers ---- */

static void
print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL)
		oom();
	printf("%s\n", s);
	free(s);
}

/* A cell's text for a scalar (strings as they are, null as "-"). */
static char *
cell_text(const json_t *v)
{
	char *s;

	if (v == NULL || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s != NULL ? s : strdup("?");
}

struct table {
	unsigned int ncol;
	unsigned int nrow;
	char **cells;      /* (nrow + 1) * ncol, row 0 the header */
	bool *right;       /* per column: right-align (numbers) */
};

static void
table_init(struct table *t, unsigned int ncol)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->cells = calloc(ncol, sizeof(char *));
	t->right = calloc(ncol, sizeof(bool));
	if (t->cells == NULL || t->right == NULL)
		oom();
}

static void
table_set(struct table *t, unsigned int row, unsigned int col, char *text)
{
	if (text == NULL)
		oom();
	if (row > t->nrow) {
		char **c = realloc(t->cells, (size_t)(row + 1) * t->ncol * sizeof(char *));

		if (c == NULL)
			oom();
		memset(c + (size_t)(t->nrow + 1) * t->ncol, 0,
				(size_t)(row - t->nrow) * t->ncol * sizeof(char *));
		t->cells = c;
		t->nrow = row;
	}
	free(t->cells[(size_t)row * t->ncol + col]);
	t->cells[(size_t)row * t->ncol + col] = text;
}

static char *
upper(const char *s)
{
	char *u = strdup(s), *p;

	if (u == NULL)
		oom();
	for (p = u; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	return u;
}

static void
table_print(struct table *t, const char *indent)
{
	size_t *w = calloc(t->ncol, sizeof(size_t));
	unsigned int r, c;

	if (w == NULL)
		oom();
	for (r = 0; r <= t->nrow; r++)
		for (c = 0; c < t->ncol; c++) {
			const char *s = t->cells[(size_t)r * t->ncol + c];
			size_t l = s != NULL ? strlen(s) : 1;

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r <= t->nrow; r++) {
		fputs(indent, stdout);
		for (c = 0; c < t->ncol; c++) {
			const char *s = t->cells[(size_t)r * t->ncol + c];
			bool last = c + 1 == t->ncol;

			if (s == NULL)
				s = "-";
			if (t->right[c])
				printf("%*s%s", (int)w[c], s, last ? "" : "  ");
			else if (last)
				printf("%s", s);
			else
				printf("%-*s  ", (int)w[c], s);
		}
		putchar('\n');
	}
	for (r = 0; r < (t->nrow + 1) * t->ncol; r++)
		free(t->cells[r]);
	free(t->cells);
	free(t->right);
	free(w);
}

/* Column names: every scalar member of the rows (first seen first), then
 * every member of each listed sub-object as "sub.key". */
struct cols {
	char **name;
	unsigned int n;
};

static void
cols_add(struct cols *cs, const char *name)
{
	unsigned int i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->name[i], name) == 0)
			return;
	cs->name = realloc(cs->name, (cs->n + 1) * sizeof(char *));
	if (cs->name == NULL || (cs->name[cs->n] = strdup(name)) == NULL)
		oom();
	cs->n++;
}

static void
cols_free(struct cols *cs)
{
	unsigned int i;

	for (i = 0; i < cs->n; i++)
		free(cs->name[i]);
	free(cs->name);
	memset(cs, 0, sizeof(*cs));
}

static const json_t *
col_value(const json_t *row, const char *col)
{
	const char *dot = strchr(col, '.');
	char sub[64];

	if (dot == NULL)
		return json_object_get(row, col);
	snprintf(sub, sizeof(sub), "%.*s", (int)(dot - col), col);
	return json_object_get(json_object_get(row, sub), dot + 1);
}

/* A generic table over an array of objects. */
static void
print_rows(const json_t *rows, const char *const subs[], const char *indent)
{
	struct cols cs = { NULL, 0 };
	struct table t;
	const char *key;
	json_t *row, *v;
	size_t i;
	unsigned int c, s;

	json_array_foreach(rows, i, row) {
		json_object_foreach(row, key, v)
			if (!json_is_object(v) && !json_is_array(v))
				cols_add(&cs, key);
		for (s = 0; subs != NULL && subs[s] != NULL; s++) {
			char name[128];

			json_object_foreach(json_object_get(row, subs[s]), key, v) {
				/* drops are many and mostly zero: one total column */
				if (strcmp(subs[s], "drops") == 0) {
					cols_add(&cs, "drops");
					break;
				}
				snprintf(name, sizeof(name), "%s.%s", subs[s], key);
				cols_add(&cs, name);
			}
		}
	}
	if (cs.n == 0) {
		printf("%s(none)\n", indent);
		return;
	}
	table_init(&t, cs.n);
	for (c = 0; c < cs.n; c++) {
		const char *dot = strchr(cs.name[c], '.');

		table_set(&t, 0, c, upper(dot != NULL ? dot + 1 : cs.name[c]));
	}
	json_array_foreach(rows, i, row) {
		for (c = 0; c < cs.n; c++) {
			const json_t *val;

			if (strcmp(cs.name[c], "drops") == 0) {
				json_int_t sum = 0;

				json_t *total;

				json_object_foreach(json_object_get(row, "drops"), key, v)
					sum += json_integer_value(v);
				total = json_integer(sum);
				table_set(&t, i + 1, c, cell_text(total));
				json_decref(total);
				t.right[c] = true;
				continue;
			}
			val = col_value(row, cs.name[c]);
			table_set(&t, i + 1, c, cell_text(val));
			if (json_is_number(val))
				t.right[c] = true;
		}
	}
	table_print(&t, indent);
	cols_free(&cs);
}

static void
print_kv(const json_t *o, const char *indent)
{
	const char *key;
	size_t w = 0;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)o, key, v)
		if (strlen(key) > w)
			w = strlen(key);
	json_object_foreach((json_t *)(uintptr_t)o, key, v) {
		char *s = cell_text(v);

		printf("%s%-*s  %s\n", indent, (int)w, key, s);
		free(s);
	}
}

/* ---- commands ---- */

static void
out_done(const json_t *res)
{
	if (opt.json)
		print_json(res);
	else if (json_object_size(res) == 0)
		printf("ok\n");
	else
		print_kv(res, "");
}

static char *
targets_cell(const json_t *rule)
{
	const json_t *ts = json_object_get(rule, "targets");
	const json_t *d = json_object_get(rule, "delay");
	char *out = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		oom();
	if (d != NULL)
		fprintf(f, "queue=%lld timeout=%lldms",
				(long long)json_integer_value(json_object_get(d, "queue")),
				(long long)json_integer_value(json_object_get(d, "timeout_ms")));
	for (i = 0; i < json_array_size(ts); i++) {
		const json_t *t = json_array_get(ts, i);
		const json_t *lease = json_object_get(t, "lease_s");

		fprintf(f, "%s%s w=%lld p=%lld", i ? ", " : "",
				json_string_value(json_object_get(t, "address")),
				(long long)json_integer_value(json_object_get(t, "weight")),
				(long long)json_integer_value(json_object_get(t, "priority")));
		const json_t *health = json_object_get(t, "health");
		const json_t *origin = json_object_get(t, "origin");

		if (lease != NULL)
			fprintf(f, " lease=%llds", (long long)json_integer_value(lease));
		if (origin != NULL && lease == NULL)
			fprintf(f, " %s", json_string_value(origin));
		if (health != NULL)
			fprintf(f, " %s", json_string_value(health));
	}
	if (d == NULL && json_array_size(ts) == 0)
		fputc('-', f);
	fclose(f);
	return out;
}

static void
out_rules(const json_t *res)
{
	const json_t *rules = json_object_get(res, "rules");
	static const char *const fixed[] = { "prefix", "action", "mode" };
	struct cols counters = { NULL, 0 };
	struct table t;
	const char *key;
	json_t *r, *v;
	size_t i;
	unsigned int c;

	if (opt.json) {
		print_json(res);
		return;
	}
	if (json_array_size(rules) == 0) {
		printf("no rules\n");
		return;
	}
	json_array_foreach(rules, i, r)
		json_object_foreach(json_object_get(r, "counters"), key, v)
			cols_add(&counters, key);
	table_init(&t, 4 + counters.n);
	for (c = 0; c < 3; c++)
		table_set(&t, 0, c, upper(fixed[c]));
	table_set(&t, 0, 3, upper("targets"));
	for (c = 0; c < counters.n; c++) {
		table_set(&t, 0, 4 + c, upper(counters.name[c]));
		t.right[4 + c] = true;
	}
	json_array_foreach(rules, i, r) {
		for (c = 0; c < 3; c++)
			table_set(&t, i + 1, c, cell_text(json_object_get(r, fixed[c])));
		table_set(&t, i + 1, 3, targets_cell(r));
		for (c = 0; c < counters.n; c++)
			table_set(&t, i + 1, 4 + c, cell_text(json_object_get(
						json_object_get(r, "counters"), counters.name[c])));
	}
	table_print(&t, "");
	cols_free(&counters);
}

static void
out_resolve(const json_t *res)
{
	const json_t *rule = json_object_get(res, "rule");
	const json_t *tg = json_object_get(res, "target");

	if (opt.json) {
		print_json(res);
		return;
	}
	printf("service_id  %s\n", json_string_value(json_object_get(res,
					"service_id")));
	if (json_is_object(rule)) {
		const char *mode = json_string_value(json_object_get(rule, "mode"));

		printf("rule        %s %s%s%s\n",
				json_string_value(json_object_get(rule, "prefix")),
				json_string_value(json_object_get(rule, "action")),
				mode ? " " : "", mode ? mode : "");
	} else {
		printf("rule        - (no rule matches)\n");
	}
	if (json_is_object(tg))
		printf("target      %s (weight %lld, priority %lld)\n",
				json_string_value(json_object_get(tg, "address")),
				(long long)json_integer_value(json_object_get(tg, "weight")),
				(long long)json_integer_value(json_object_get(tg, "priority")));
	else
		printf("target      -\n");
	printf("verdict     %s\n", json_string_value(json_object_get(res, "verdict")));
}

static void
out_flow(const json_t *res)
{
	if (opt.json)
		print_json(res);
	else
		print_kv(json_object_get(res, "flow"), "");
}

static void
out_flows(const json_t *res)
{
	if (opt.json) {
		print_json(res);
		return;
	}
	if (json_array_size(json_object_get(res, "flows")) == 0)
		printf("no flows\n");
	else
		print_rows(json_object_get(res, "flows"), NULL, "");
	if (json_is_true(json_object_get(res, "truncated")))
		printf("(more flows than shown: raise --limit or filter with "
				"--prefix / --target)\n");
}

static void
out_stats(const json_t *res)
{
	static const char *const subs[] = { "counters", "gauges", "drops", NULL };
	const char *key;
	json_t *v;

	if (opt.json) {
		print_json(res);
		return;
	}
	json_object_foreach((json_t *)(uintptr_t)res, key, v) {
		printf("%s\n", key);
		if (json_is_array(v)) {
			print_rows(v, subs, "  ");
		} else if (json_is_object(v) && (json_object_get(v, "counters") ||
					json_object_get(v, "gauges"))) {
			const char *k2;
			json_t *v2;

			json_object_foreach(v, k2, v2)
				if (json_is_object(v2))
					print_kv(v2, "  ");
		} else if (json_is_object(v)) {
			print_kv(v, "  ");
		} else {
			char *s = cell_text(v);

			printf("  %s\n", s);
			free(s);
		}
	}
}

/* ---- metrics (OpenMetrics text from stats) ---- */

struct family {
	char *name;
	bool counter;
	char *samples;   /* lines */
	size_t len;
	FILE *f;
};

struct metrics {
	struct family **fam; /* pointers: open_memstream keeps &samples */
	unsigned int n;
};

static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
					(*s >= '0' && *s <= '9') || *s == '_'))
			*s = '_';
}

static struct family *
family(struct metrics *m, const char *prefix, const char *key, bool counter)
{
	char name[256];
	size_t l;
	unsigned int i;

	snprintf(name, sizeof(name), "serval_sr_%s%s%s", prefix,
			prefix[0] ? "_" : "", key);
	sanitize(name);
	/* a counter family is named without its _total suffix */
	l = strlen(name);
	if (counter && l > 6 && strcmp(name + l - 6, "_total") == 0)
		name[l - 6] = '\0';
	struct family *fm;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->fam[i]->name, name) == 0)
			return m->fam[i];
	m->fam = realloc(m->fam, (m->n + 1) * sizeof(*m->fam));
	fm = calloc(1, sizeof(*fm));
	if (m->fam == NULL || fm == NULL)
		oom();
	fm->name = strdup(name);
	fm->counter = counter;
	fm->f = open_memstream(&fm->samples, &fm->len);
	if (fm->name == NULL || fm->f == NULL)
		oom();
	m->fam[m->n++] = fm;
	return fm;
}

static void
label_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* labels: the scalar members of an entity, plus an optional extra one */
static void
sample(struct family *fm, const json_t *entity, const char *extra_k,
		const char *extra_v, const json_t *val)
{
	const char *key;
	json_t *v;
	bool any = false;

	fprintf(fm->f, "%s%s", fm->name, fm->counter ? "_total" : "");
	json_object_foreach((json_t *)(uintptr_t)entity, key, v) {
		char lname[128];
		char *text;

		if (!json_is_string(v) && !json_is_integer(v))
			continue;
		snprintf(lname, sizeof(lname), "%s", key);
		sanitize(lname);
		text = cell_text(v);
		fprintf(fm->f, "%s%s=\"", any ? "," : "{", lname);
		label_escaped(fm->f, text);
		fputc('"', fm->f);
		free(text);
		any = true;
	}
	if (extra_k != NULL) {
		fprintf(fm->f, "%s%s=\"", any ? "," : "{", extra_k);
		label_escaped(fm->f, extra_v);
		fputc('"', fm->f);
		any = true;
	}
	if (any)
		fputc('}', fm->f);
	if (json_is_integer(val))
		fprintf(fm->f, " %" JSON_INTEGER_FORMAT "\n", json_integer_value(val));
	else
		fprintf(fm->f, " %.17g\n", json_number_value(val));
}

/* counters / gauges / drops of one entity (entity NULL: no labels) */
static void
entity_metrics(struct metrics *m, const char *prefix, const json_t *entity)
{
	const char *key;
	json_t *v;

	json_object_foreach(json_object_get(entity, "counters"), key, v)
		if (json_is_number(v))
			sample(family(m, prefix, key, true), entity, NULL, NULL, v);
	json_object_foreach(json_object_get(entity, "gauges"), key, v)
		if (json_is_number(v))
			sample(family(m, prefix, key, false), entity, NULL, NULL, v);
	json_object_foreach(json_object_get(entity, "drops"), key, v)
		if (json_is_number(v))
			sample(family(m, prefix, "drops", true), entity, "reason", key, v);
}

static void
out_metrics(const json_t *res)
{
	struct metrics m = { NULL, 0 };
	json_t *top = json_object();
	const char *key;
	json_t *v;
	unsigned int i;

	if (top == NULL)
		oom();
	/* the top-level counters / gauges / drops are the router's totals */
	json_object_foreach((json_t *)(uintptr_t)res, key, v)
		if (strcmp(key, "counters") == 0 || strcmp(key, "gauges") == 0 ||
				strcmp(key, "drops") == 0)
			set(top, key, json_incref(v));
	entity_metrics(&m, "", top);
	json_decref(top);
	json_object_foreach((json_t *)(uintptr_t)res, key, v) {
		char prefix[128];
		size_t l;

		snprintf(prefix, sizeof(prefix), "%s", key);
		if (json_is_array(v)) {
			const json_t *e;
			size_t k;

			/* "ports" -> port_..., "workers" -> worker_... */
			l = strlen(prefix);
			if (l > 1 && prefix[l - 1] == 's')
				prefix[l - 1] = '\0';
			json_array_foreach(v, k, e)
				entity_metrics(&m, prefix, e);
		} else if (json_is_object(v) && strcmp(key, "counters") != 0 &&
				strcmp(key, "gauges") != 0 && strcmp(key, "drops") != 0) {
			/* an unlabelled entity such as "flows" or "mgmt" */
			json_t *bare = json_object(), *sv;
			const char *sk;

			if (bare == NULL)
				oom();
			json_object_foreach(v, sk, sv)
				if (json_is_object(sv))
					set(bare, sk, json_incref(sv));
			entity_metrics(&m, prefix, bare);
			json_decref(bare);
		}
	}
	for (i = 0; i < m.n; i++) {
		fclose(m.fam[i]->f);
		printf("# TYPE %s %s\n%s", m.fam[i]->name,
				m.fam[i]->counter ? "counter" : "gauge", m.fam[i]->samples);
		free(m.fam[i]->samples);
		free(m.fam[i]->name);
		free(m.fam[i]);
	}
	printf("# EOF\n");
	free(m.fam);
}

/* ---- watch ---- */

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
watch(struct conn *c, struct args *a)
{
	const char *count_s = take_opt(a, "--count");
	long long count = -1, seen = 0;
	json_t *req = json_pack("{s:s}", "op", "subscribe"), *events = NULL;
	json_t *reply, *ev;
	const char *name;
	struct sigaction sa;

	if (req == NULL)
		oom();
	if (count_s != NULL) {
		json_t *n = num_arg("--count", count_s);

		count = json_integer_value(n);
		json_decref(n);
	}
	while ((name = take_pos(a)) != NULL) {
		if (events == NULL && (events = json_array()) == NULL)
			oom();
		json_array_append_new(events, json_string(name));
	}
	check_done(a);
	if (events != NULL)
		set(req, "events", events);
	call(c, req, &reply);
	json_decref(reply);
	json_decref(req);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fflush(stdout);
	while (!stop && (count < 0 || seen < count)) {
		ev = conn_read(c, -1);
		if (ev == NULL) {
			if (stop)
				break;
			die(EX_CONNECT, "%s closed the connection", opt.socket);
		}
		if (json_object_get(ev, "event") == NULL) {
			json_decref(ev);
			continue;
		}
		if (opt.json) {
			print_json(ev);
		} else {
			struct timespec ts;
			struct tm tm;
			const char *key;
			json_t *v;

			clock_gettime(CLOCK_REALTIME, &ts);
			localtime_r(&ts.tv_sec, &tm);
			printf("%02d:%02d:%02d.%03ld %s", tm.tm_hour, tm.tm_min, tm.tm_sec,
					ts.tv_nsec / 1000000,
					json_string_value(json_object_get(ev, "event")));
			json_object_foreach(ev, key, v) {
				char *s;

				if (strcmp(key, "event") == 0)
					continue;
				s = cell_text(v);
				printf(" %s=%s", key, s);
				free(s);
			}
			putchar('\n');
		}
		fflush(stdout);
		json_decref(ev);
		seen++;
	}
	return EX_OK;
}

/* ---- batch input ---- */

static json_t *
read_batch(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	json_error_t jerr;
	json_t *doc, *ops;
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *mem;
	char buf[4096];
	size_t n;

	if (f == NULL)
		usage_fail("cannot open '%s': %s", path, strerror(errno));
	mem = open_memstream(&text, &len);
	if (mem == NULL)
		oom();
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(mem);
	if (f != stdin)
		fclose(f);
	doc = json_loadb(text, len, 0, &jerr);
	if (json_is_array(doc)) {
		free(text);
		return doc;
	}
	json_decref(doc);
	/* one operation object per line */
	ops = json_array();
	if (ops == NULL)
		oom();
	for (line = strtok_r(text, "\n", &save); line != NULL;
			line = strtok_r(NULL, "\n", &save)) {
		json_t *o;

		if (strspn(line, " \t\r") == strlen(line))
			continue;
		o = json_loads(line, 0, &jerr);
		if (!json_is_object(o))
			usage_fail("%s:%d: not a JSON operation object: %s", path,
					jerr.line, o == NULL ? jerr.text : "found another type");
		json_array_append_new(ops, o);
	}
	free(text);
	return ops;
}

/* ---- dispatch ---- */

static json_t *
req_new(const char *op)
{
	json_t *r = json_pack("{s:s}", "op", op);

	if (r == NULL)
		oom();
	return r;
}

static void
prefix_addr(struct args *a, json_t *req)
{
	set(req, "prefix", json_string(need_pos(a, "PREFIX")));
	set(req, "address", json_string(need_pos(a, "ADDR")));
}

/* Build the request for a command; *out selects the printer. */
static json_t *
build(const char *cmd, struct args *a, void (**out)(const json_t *))
{
	const char *sub, *v;
	json_t *req;

	*out = out_done;
	if (strcmp(cmd, "version") == 0) {
		return req_new("version");
	} else if (strcmp(cmd, "rules") == 0) {
		*out = out_rules;
		req = req_new("rules.list");
		if ((v = take_pos(a)) != NULL)
			set(req, "prefix", json_string(v));
		return req;
	} else if (strcmp(cmd, "rule") == 0) {
		sub = need_pos(a, "rule subcommand (add, replace, del, list)");
		if (strcmp(sub, "list") == 0)
			return build("rules", a, out);
		if (strcmp(sub, "del") == 0 || strcmp(sub, "delete") == 0) {
			req = req_new("rule.delete");
			set(req, "prefix", json_string(need_pos(a, "PREFIX")));
			return req;
		}
		if (strcmp(sub, "add") != 0 && strcmp(sub, "replace") != 0)
			usage_fail("unknown rule subcommand '%s'", sub);
		req = req_new(strcmp(sub, "add") == 0 ? "rule.add" : "rule.replace");
		set(req, "prefix", json_string(need_pos(a, "PREFIX")));
		if ((v = take_opt(a, "--action")) == NULL)
			usage_fail("rule %s needs --action (forward, local, delay, drop)",
					sub);
		set(req, "action", json_string(v));
		if ((v = take_opt(a, "--mode")) != NULL)
			set(req, "mode", json_string(v));
		while ((v = take_opt(a, "--target")) != NULL) {
			json_t *ts = json_object_get(req, "targets");

			if (ts == NULL) {
				ts = json_array();
				set(req, "targets", ts);
			}
			if (json_array_append_new(ts, target_spec(v)) != 0)
				oom();
		}
		{
			const char *q = take_opt(a, "--delay-queue");
			const char *t = take_opt(a, "--delay-timeout");

			if (q != NULL || t != NULL) {
				json_t *d = json_object();

				set(req, "delay", d);
				if (q != NULL)
					set(d, "queue", num_arg("--delay-queue", q));
				if (t != NULL)
					set(d, "timeout_ms", num_arg("--delay-timeout", t));
			}
		}
		{
			/* health checks: --health turns them on with the defaults,
			 * any --health-* option with its value */
			static const char *const hopt[][2] = {
				{ "--health-interval", "interval_ms" },
				{ "--health-timeout", "timeout_ms" },
				{ "--health-fall", "fall" },
				{ "--health-rise", "rise" },
			};
			json_t *h = NULL;
			unsigned int k;

			if (take_flag(a, "--health"))
				h = json_object();
			for (k = 0; k < sizeof(hopt) / sizeof(hopt[0]); k++) {
				if ((v = take_opt(a, hopt[k][0])) == NULL)
					continue;
				if (h == NULL)
					h = json_object();
				set(h, hopt[k][1], num_arg(hopt[k][0], v));
			}
			if ((v = take_opt(a, "--health-on-down")) != NULL) {
				if (h == NULL)
					h = json_object();
				set(h, "on_down", json_string(v));
			}
			if (h != NULL)
				set(req, "health", h);
		}
		return req;
	} else if (strcmp(cmd, "target") == 0) {
		sub = need_pos(a, "target subcommand (add, remove, weight, priority, "
				"drain)");
		if (strcmp(sub, "add") == 0) {
			req = req_new("target.add");
			prefix_addr(a, req);
			set_opt_num(a, req, "--weight", "weight");
			set_opt_num(a, req, "--priority", "priority");
		} else if (strcmp(sub, "remove") == 0 || strcmp(sub, "del") == 0) {
			req = req_new("target.remove");
			prefix_addr(a, req);
		} else if (strcmp(sub, "weight") == 0 || strcmp(sub, "priority") == 0) {
			req = req_new("target.set");
			prefix_addr(a, req);
			set(req, sub, num_arg(sub, need_pos(a, "N")));
		} else if (strcmp(sub, "drain") == 0) {
			req = req_new("target.drain");
			prefix_addr(a, req);
		} else {
			usage_fail("unknown target subcommand '%s'", sub);
		}
		return req;
	} else if (strcmp(cmd, "resolve") == 0) {
		*out = out_resolve;
		req = req_new("resolve");
		set(req, "service_id", json_string(need_pos(a, "SERVICEID")));
		if ((v = take_opt(a, "--client")) != NULL)
			set(req, "client", json_string(v));
		set_opt_num(a, req, "--flow-id", "client_flow_id");
		return req;
	} else if (strcmp(cmd, "flows") == 0 || strcmp(cmd, "flow") == 0) {
		sub = take_pos(a);
		if (sub != NULL && (strcmp(sub, "show") == 0 || strcmp(sub, "del") == 0 ||
					strcmp(sub, "delete") == 0)) {
			req = req_new(strcmp(sub, "show") == 0 ? "flows.show" :
					"flows.delete");
			set(req, "flow_id", num_arg("flow ID", need_pos(a, "flow ID")));
			if (strcmp(sub, "show") == 0)
				*out = out_flow;
			return req;
		}
		if (sub != NULL && strcmp(sub, "list") != 0)
			usage_fail("unknown flows subcommand '%s' (list, show, del)", sub);
		*out = out_flows;
		req = req_new("flows.list");
		set_opt_num(a, req, "--limit", "limit");
		if ((v = take_opt(a, "--prefix")) != NULL)
			set(req, "prefix", json_string(v));
		if ((v = take_opt(a, "--target")) != NULL)
			set(req, "target", json_string(v));
		return req;
	} else if (strcmp(cmd, "stats") == 0) {
		*out = out_stats;
		return req_new("stats");
	} else if (strcmp(cmd, "metrics") == 0) {
		*out = out_metrics;
		return req_new("stats");
	} else if (strcmp(cmd, "reload") == 0) {
		req = req_new("reload");
		if ((v = take_pos(a)) != NULL)
			set(req, "path", json_string(v));
		return req;
	} else if (strcmp(cmd, "register") == 0 || strcmp(cmd, "refresh") == 0) {
		req = req_new(cmd);
		prefix_addr(a, req);
		v = take_opt(a, "--lease");
		if (v == NULL && strcmp(cmd, "register") == 0)
			usage_fail("register needs --lease SECONDS");
		if (v != NULL)
			set(req, "lease_s", num_arg("--lease", v));
		if (strcmp(cmd, "register") == 0) {
			set_opt_num(a, req, "--weight", "weight");
			set_opt_num(a, req, "--priority", "priority");
		}
		return req;
	} else if (strcmp(cmd, "unregister") == 0) {
		req = req_new("unregister");
		prefix_addr(a, req);
		return req;
	} else if (strcmp(cmd, "batch") == 0) {
		v = take_pos(a);
		req = req_new("batch");
		set(req, "ops", read_batch(v != NULL ? v : "-"));
		return req;
	} else if (strcmp(cmd, "call") == 0) {
		json_error_t jerr;

		v = need_pos(a, "OP");
		sub = take_pos(a);
		if (sub != NULL) {
			req = json_loads(sub, 0, &jerr);
			if (!json_is_object(req))
				usage_fail("call %s: the arguments must be a JSON object: %s", v,
						req == NULL ? jerr.text : "found another type");
		} else {
			req = json_object();
		}
		set(req, "op", json_string(v));
		return req;
	}
	usage_fail("unknown command '%s'", cmd);
}

int
main(int argc, char **argv)
{
	struct args a = { 0, NULL, NULL };
	void (*out)(const json_t *);
	json_t *req, *reply, *res;
	const char *cmd, *v;
	int i, rc = EX_OK;
	struct conn c;
	char *end;

	if (argc > 0 && strrchr(argv[0], '/') != NULL)
		prog = strrchr(argv[0], '/') + 1;
	a.n = argc - 1;
	a.v = argv + 1;
	a.used = calloc(argc, sizeof(bool));
	if (a.used == NULL)
		oom();
	for (i = 0; i < a.n; i++) {
		if (strcmp(a.v[i], "-h") == 0 || strcmp(a.v[i], "--help") == 0) {
			help();
			free(a.used);
			return EX_OK;
		}
		if (strcmp(a.v[i], "-j") == 0) {
			a.v[i] = "--json";
		} else if (strcmp(a.v[i], "-s") == 0) {
			a.v[i] = "--socket";
		} else if (strcmp(a.v[i], "-t") == 0) {
			a.v[i] = "--timeout";
		}
	}
	opt.json = take_flag(&a, "--json");
	if ((v = take_opt(&a, "--socket")) != NULL)
		opt.socket = v;
	if ((v = take_opt(&a, "--timeout")) != NULL) {
		errno = 0;
		opt.timeout_s = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno != 0 || !(opt.timeout_s > 0) ||
				opt.timeout_s > 86400)
			usage_fail("--timeout: '%s' is not a number of seconds in (0, 86400]",
					v);
	}
	cmd = take_pos(&a);
	if (cmd == NULL) {
		if (a.n > 0 && !a.used[0])
			usage_fail("unexpected argument '%s'", a.v[0]);
		usage_fail("no command given");
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(cmd, "watch") == 0) {
		conn_open(&c);
		rc = watch(&c, &a);
	} else {
		req = build(cmd, &a, &out);
		check_done(&a);
		conn_open(&c);
		res = call(&c, req, &reply);
		out(res);
		json_decref(reply);
		json_decref(req);
	}
	free(c.buf);
	close(c.fd);
	free(a.used);
	return rc;
}
