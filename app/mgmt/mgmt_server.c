/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * The management socket server: epoll over non-blocking Unix stream
 * sockets, polled from the control lcore's loop.
 *
 * Each client has an input buffer (at most max_request + 1 bytes: one line
 * and its newline) and an output buffer (at most max_output bytes). Epoll is
 * level-triggered; a client's interest set follows its state: EPOLLIN unless
 * it is paused (too much unread output) or closing, EPOLLOUT while output is
 * queued. Work left over when a call's budget runs out is marked `pending`
 * and resumed on the next call, so no request waits for new socket activity.
 *
 * Epoll events carry (generation << 32 | slot + 1): a client closed earlier
 * in the same batch of events leaves a NULL slot or a new generation, so a
 * stale event is recognised and skipped instead of touching freed memory.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mgmt.h"

#ifndef SSR_MGMT_BUILD_VERSION
#define SSR_MGMT_BUILD_VERSION "unknown"
#endif

#define MGMT_EPOLL_EVENTS 32
#define MGMT_ACCEPT_BUDGET 16
#define MGMT_READS_PER_CALL 8
#define MGMT_IN_INITIAL 4096
/* Output buffers above this are freed once drained, so one large reply does
 * not pin memory for the life of a connection. */
#define MGMT_OUT_KEEP (64u * 1024)
#define MGMT_MIN_OUTPUT 4096u

struct mgmt_client {
	int fd;
	uint32_t gen;
	unsigned int slot;
	struct ssr_mgmt_peer peer;
	char *in;
	size_t in_len;
	size_t in_cap;
	char *out;
	size_t out_off;
	size_t out_len;
	size_t out_cap;
	uint32_t events;       /* subscription mask */
	uint64_t lost;         /* events dropped since the last "lost" notice */
	uint64_t progress_ms;  /* output became pending or was last written */
	uint32_t interest;     /* epoll events registered */
	bool paused;           /* back-pressure: not reading, not handling */
	bool closing;          /* no more input: close once output is drained */
	bool pending;          /* complete lines or unread input remain */
	uint64_t seq;          /* poll call of the last service */
	unsigned int served;   /* requests handled in that call */
};

struct ssr_mgmt {
	int lfd;
	int ep;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	uid_t euid;
	uid_t *allow_uids;
	unsigned int n_allow_uids;
	gid_t *allow_gids;
	unsigned int n_allow_gids;
	const struct ssr_mgmt_ops *ops;
	void *ctx;
	char *version;
	unsigned int max_clients;
	size_t max_request;
	size_t max_output;
	unsigned int stall_timeout_ms;
	struct mgmt_client **clients;
	uint32_t next_gen;
	uint64_t next_client;
	unsigned int rr;          /* round-robin start for pending clients */
	unsigned int n_pending;
	unsigned int n_outpending;
	int budget;               /* requests left in this poll call */
	uint64_t seq;             /* poll calls so far */
	struct ssr_mgmt_stats st;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- request handling (shared by the socket path and handle_line) ---- */

static json_t *
subscribe_result(uint32_t mask)
{
	json_t *arr = json_array();
	unsigned int b;

	for (b = 0; arr != NULL && b < SSR_MGMT_EVENT_MAX; b++)
		if ((mask & (UINT32_C(1) << b)) &&
				json_array_append_new(arr,
					json_string(ssr_mgmt_event_name(b))) != 0) {
			json_decref(arr);
			return NULL;
		}
	return arr == NULL ? NULL : json_pack("{s:o}", "events", arr);
}

static json_t *
stats_json(const struct ssr_mgmt_stats *st)
{
	return json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			"s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}}",
			"counters",
			"accepted", (json_int_t)st->accepted,
			"refused_cred", (json_int_t)st->refused_cred,
			"refused_full", (json_int_t)st->refused_full,
			"closed", (json_int_t)st->closed,
			"requests", (json_int_t)st->requests,
			"errors", (json_int_t)st->errors,
			"oversized", (json_int_t)st->oversized,
			"truncated", (json_int_t)st->truncated,
			"stalled", (json_int_t)st->stalled,
			"io_errors", (json_int_t)st->io_errors,
			"events_published", (json_int_t)st->events_published,
			"events_sent", (json_int_t)st->events_sent,
			"events_dropped", (json_int_t)st->events_dropped,
			"bytes_in", (json_int_t)st->bytes_in,
			"bytes_out", (json_int_t)st->bytes_out,
			"gauges",
			"clients", (json_int_t)st->clients,
			"subscribers", (json_int_t)st->subscribers);
}

/*
 * One request line -> one reply object. @events is the client's
 * subscription mask (NULL: no subscription state, as for handle_line).
 */
static json_t *
handle_request(const struct ssr_mgmt_ops *ops, void *ctx, const char *version,
		const struct ssr_mgmt_peer *peer, const char *line, size_t len,
		uint32_t *events, const struct ssr_mgmt_stats *st, bool *failed)
{
	struct ssr_mgmt_error e;
	struct ssr_cmd cmd;
	json_t *id = NULL, *result = NULL, *reply;
	uint32_t mask = 0;
	int r;

	memset(&e, 0, sizeof(e));
	r = ssr_mgmt_request_parse(line, len, &id, &cmd, &e);
	if (r < 0)
		goto out;
	switch (cmd.type) {
	case SSR_CMD_VERSION:
		result = json_pack("{s:s, s:s, s:i}", "name", "serval-sr",
				"version", version, "protocol", SSR_MGMT_PROTOCOL_VERSION);
		break;
	case SSR_CMD_SUBSCRIBE:
	case SSR_CMD_UNSUBSCRIBE:
		if (events != NULL) {
			if (cmd.type == SSR_CMD_SUBSCRIBE)
				*events |= cmd.subscribe.events;
			else
				*events &= ~cmd.subscribe.events;
			mask = *events;
		}
		result = subscribe_result(mask);
		break;
	default:
		result = json_object();
		if (result == NULL)
			break;
		r = ops->apply(ctx, &cmd, peer, result, &e);
		if (r > 0)
			r = 0;
		if (r < 0 && e.err == 0)
			ssr_mgmt_error_set(&e, r, NULL, "%s failed: %s",
					ssr_cmd_name(cmd.type), strerror(-r));
		if (r == 0 && cmd.type == SSR_CMD_STATS && st != NULL &&
				json_object_set_new(result, "mgmt", stats_json(st)) != 0)
			r = ssr_mgmt_error_set(&e, ENOMEM, NULL, "out of memory");
		break;
	}
	if (r == 0 && result == NULL)
		r = ssr_mgmt_error_set(&e, ENOMEM, NULL, "out of memory");
	ssr_cmd_release(&cmd);
out:
	if (r == 0) {
		reply = ssr_mgmt_reply_ok(id, result);
		*failed = false;
	} else {
		json_decref(result);
		reply = ssr_mgmt_reply_error(id, &e);
		*failed = true;
	}
	ssr_mgmt_error_clear(&e);
	json_decref(id);
	return reply;
}

json_t *
ssr_mgmt_handle_line(const struct ssr_mgmt_ops *ops, void *ctx,
		const char *line, size_t len)
{
	struct ssr_mgmt_peer peer = { .pid = getpid(), .uid = geteuid(),
		.gid = getegid() };
	bool failed;

	if (ops == NULL || ops->apply == NULL || line == NULL)
		return NULL;
	return handle_request(ops, ctx, SSR_MGMT_BUILD_VERSION, &peer, line, len,
			NULL, NULL, &failed);
}

/* ---- client bookkeeping ---- */

static void
update_interest(struct ssr_mgmt *srv, struct mgmt_client *c)
{
	struct epoll_event ev;
	uint32_t want = 0;

	if (!c->paused && !c->closing)
		want |= EPOLLIN;
	if (c->out_len > c->out_off)
		want |= EPOLLOUT;
	if (want == c->interest)
		return;
	ev.events = want;
	ev.data.u64 = ((uint64_t)c->gen << 32) | (c->slot + 1);
	/* cannot fail for a registered fd short of ENOMEM; the state stays
	 * consistent either way, the stall timer catches a silent client */
	if (epoll_ctl(srv->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->interest = want;
}

static void
set_pending(struct ssr_mgmt *srv, struct mgmt_client *c, bool on)
{
	if (c->pending == on)
		return;
	c->pending = on;
	if (on)
		srv->n_pending++;
	else
		srv->n_pending--;
}

static void
client_close(struct ssr_mgmt *srv, struct mgmt_client *c)
{
	set_pending(srv, c, false);
	if (c->out_len > c->out_off)
		srv->n_outpending--;
	if (c->events != 0)
		srv->st.subscribers--;
	epoll_ctl(srv->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	srv->clients[c->slot] = NULL;
	srv->st.clients--;
	srv->st.closed++;
	free(c->in);
	free(c->out);
	free(c);
}

/* Write what is queued. Returns false if the client was closed. */
static bool
client_flush(struct ssr_mgmt *srv, struct mgmt_client *c)
{
	while (c->out_len > c->out_off) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += n;
			srv->st.bytes_out += n;
			c->progress_ms = now_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EPIPE, ECONNRESET: the peer is gone, with whatever it missed */
		srv->st.io_errors++;
		client_close(srv, c);
		return false;
	}
	if (c->out_off == c->out_len && c->out_len != 0) {
		c->out_off = c->out_len = 0;
		srv->n_outpending--;
		if (c->out_cap > MGMT_OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	if (c->paused && c->out_len - c->out_off <= srv->max_output / 4) {
		c->paused = false;
		set_pending(srv, c, true);
	}
	if (c->closing && c->out_len == c->out_off) {
		client_close(srv, c);
		return false;
	}
	update_interest(srv, c);
	return true;
}

/* Append bytes plus a newline; false if they do not fit max_output. */
static bool
client_queue(struct ssr_mgmt *srv, struct mgmt_client *c, const char *s,
		size_t len)
{
	size_t used = c->out_len - c->out_off;

	if (used + len + 1 > srv->max_output)
		return false;
	if (c->out_off > 0 && c->out_len + len + 1 > c->out_cap) {
		memmove(c->out, c->out + c->out_off, used);
		c->out_off = 0;
		c->out_len = used;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + len + 1)
			cap *= 2;
		if (cap > srv->max_output)
			cap = srv->max_output;
		p = realloc(c->out, cap);
		if (p == NULL)
			return false;
		c->out = p;
		c->out_cap = cap;
	}
	if (used == 0) {
		srv->n_outpending++;
		c->progress_ms = now_ms();
	}
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return true;
}

static const char oom_reply[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":"
	"\"no_memory\",\"errno\":\"ENOMEM\",\"message\":\"out of memory\"}}";

/*
 * Queue a reply (consumed). Replies always fit: input is only handled while
 * less than half of max_output is queued, and a reply over half is replaced
 * by an error. Only a failed allocation can lose one; the connection is then
 * closed, so the client sees it end instead of waiting for an answer that
 * will never come.
 */
static void
client_reply(struct ssr_mgmt *srv, struct mgmt_client *c, json_t *reply)
{
	char *s = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t len = s != NULL ? strlen(s) : 0;

	if (s != NULL && len + 1 > srv->max_output / 2) {
		struct ssr_mgmt_error e;
		json_t *small;

		memset(&e, 0, sizeof(e));
		ssr_mgmt_error_set(&e, EMSGSIZE, NULL, "the reply is %zu bytes, more "
				"than this server sends at once (%zu); narrow the request "
				"(a prefix filter, a smaller limit)", len, srv->max_output / 2);
		small = ssr_mgmt_reply_error(json_object_get(reply, "id"), &e);
		free(s);
		s = small != NULL ? json_dumps(small, JSON_COMPACT) : NULL;
		len = s != NULL ? strlen(s) : 0;
		json_decref(small);
		srv->st.errors++;
	}
	if (s == NULL ? !client_queue(srv, c, oom_reply, sizeof(oom_reply) - 1) :
			!client_queue(srv, c, s, len)) {
		srv->st.io_errors++;
		c->closing = true;
	}
	free(s);
	json_decref(reply);
}

static void
client_error(struct ssr_mgmt *srv, struct mgmt_client *c, int err,
		const char *fmt, size_t arg)
{
	struct ssr_mgmt_error e;

	memset(&e, 0, sizeof(e));
	ssr_mgmt_error_set(&e, err, NULL, fmt, arg);
	srv->st.errors++;
	client_reply(srv, c, ssr_mgmt_reply_error(NULL, &e));
}

static bool
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/*
 * Handle complete lines, then read more, until the budget is spent, the
 * socket is dry, or the client must wait. Returns false if it was closed.
 */
static bool
client_service(struct ssr_mgmt *srv, struct mgmt_client *c)
{
	unsigned int budget, reads = 0;
	size_t start = 0;

	/* the per-client budget is per poll call, however often it is served */
	if (c->seq != srv->seq) {
		c->seq = srv->seq;
		c->served = 0;
	}
	budget = SSR_MGMT_CLIENT_BUDGET - c->served;
	set_pending(srv, c, false);
	for (;;) {
		char *nl;

		/* complete lines first */
		while (!c->paused && !c->closing && start < c->in_len &&
				(nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
			size_t len = nl - (c->in + start);
			bool failed;

			if (budget == 0 || srv->budget <= 0)
				goto more_later;
			if (len > 0 && c->in[start + len - 1] == '\r')
				len--;
			if (!blank(c->in + start, len)) {
				uint32_t was = c->events;
				json_t *reply = handle_request(srv->ops, srv->ctx,
						srv->version, &c->peer, c->in + start, len,
						&c->events, &srv->st, &failed);

				if (was == 0 && c->events != 0)
					srv->st.subscribers++;
				else if (was != 0 && c->events == 0)
					srv->st.subscribers--;

				budget--;
				c->served++;
				srv->budget--;
				srv->st.requests++;
				srv->st.errors += failed;
				client_reply(srv, c, reply);
				if (c->out_len - c->out_off >= srv->max_output / 2)
					c->paused = true;
			}
			start = nl - c->in + 1;
		}
		/* drop consumed bytes */
		if (start > 0) {
			memmove(c->in, c->in + start, c->in_len - start);
			c->in_len -= start;
			start = 0;
		}
		if (c->paused || c->closing)
			break;
		if (c->in_len > srv->max_request) {
			/* a full buffer without a newline: the line is too long */
			srv->st.oversized++;
			client_error(srv, c, EMSGSIZE, "request longer than %zu bytes; "
					"closing the connection", srv->max_request);
			c->closing = true;
			break;
		}
		if (reads++ == MGMT_READS_PER_CALL)
			goto more_later;
		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap ? c->in_cap * 2 : MGMT_IN_INITIAL;
			char *p;

			if (cap > srv->max_request + 1)
				cap = srv->max_request + 1;
			p = realloc(c->in, cap);
			if (p == NULL) {
				client_error(srv, c, ENOMEM, "out of memory reading a "
						"request (%zu bytes); closing", c->in_len);
				c->closing = true;
				break;
			}
			c->in = p;
			c->in_cap = cap;
		}
		{
			ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len,
					MSG_DONTWAIT);

			if (n > 0) {
				c->in_len += n;
				srv->st.bytes_in += n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0) {
				srv->st.io_errors++;
				client_close(srv, c);
				return false;
			}
			/* end of input: answer what was complete, then close */
			if (c->in_len > 0)
				srv->st.truncated++;
			c->in_len = 0;
			c->closing = true;
			break;
		}
	}
	return client_flush(srv, c);
more_later:
	if (start > 0) {
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
	}
	set_pending(srv, c, true);
	return client_flush(srv, c);
}

/* ---- accepting ---- */

static bool
gid_allowed(const struct ssr_mgmt *srv, gid_t g)
{
	unsigned int i;

	for (i = 0; i < srv->n_allow_gids; i++)
		if (srv->allow_gids[i] == g)
			return true;
	return false;
}

static bool
peer_allowed(const struct ssr_mgmt *srv, int fd, const struct ucred *cr)
{
	gid_t groups[64], *gl = groups;
	socklen_t glen = sizeof(groups);
	unsigned int i;
	bool ok = false;

	/* root can read this process's memory anyway: refusing it buys nothing */
	if (cr->uid == 0 || cr->uid == srv->euid)
		return true;
	for (i = 0; i < srv->n_allow_uids; i++)
		if (srv->allow_uids[i] == cr->uid)
			return true;
	if (srv->n_allow_gids == 0)
		return false;
	if (gid_allowed(srv, cr->gid))
		return true;
	/* supplementary groups, as the peer had them at connect() */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gl, &glen) != 0) {
		if (errno != ERANGE)
			return false;
		gl = malloc(glen);
		if (gl == NULL || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gl,
					&glen) != 0) {
			free(gl);
			return false;
		}
	}
	for (i = 0; !ok && i < glen / sizeof(gid_t); i++)
		ok = gid_allowed(srv, gl[i]);
	if (gl != groups)
		free(gl);
	return ok;
}

/* Best effort: one error line to a connection being refused. */
static void
refuse(int fd, int err, const char *fmt, unsigned long a, unsigned long b)
{
	struct ssr_mgmt_error e;
	json_t *reply;
	char *s;

	memset(&e, 0, sizeof(e));
	ssr_mgmt_error_set(&e, err, NULL, fmt, a, b);
	reply = ssr_mgmt_reply_error(NULL, &e);
	s = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
	if (s != NULL) {
		size_t len = strlen(s);

		/* a fresh socket buffer holds a short line; if not, nothing lost */
		if (send(fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	free(s);
	json_decref(reply);
	close(fd);
}

static void
accept_clients(struct ssr_mgmt *srv)
{
	unsigned int k, slot;

	for (k = 0; k < MGMT_ACCEPT_BUDGET; k++) {
		struct epoll_event ev;
		struct mgmt_client *c;
		struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
		socklen_t crlen = sizeof(cr);
		int fd;

		fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN; or ECONNABORTED, EMFILE: try next call */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
				!peer_allowed(srv, fd, &cr)) {
			srv->st.refused_cred++;
			refuse(fd, EACCES, "uid %lu (gid %lu) may not use this management "
					"socket (see management.allow_uids / allow_gids)",
					(unsigned long)cr.uid, (unsigned long)cr.gid);
			continue;
		}
		for (slot = 0; slot < srv->max_clients; slot++)
			if (srv->clients[slot] == NULL)
				break;
		if (slot == srv->max_clients) {
			srv->st.refused_full++;
			refuse(fd, EBUSY, "too many clients (%lu connected, limit %lu); "
					"try again later", srv->max_clients, srv->max_clients);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->slot = slot;
		c->gen = ++srv->next_gen;
		c->peer.pid = cr.pid;
		c->peer.uid = cr.uid;
		c->peer.gid = cr.gid;
		c->peer.client = ++srv->next_client;
		c->interest = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.u64 = ((uint64_t)c->gen << 32) | (slot + 1);
		if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		srv->clients[slot] = c;
		srv->st.clients++;
		srv->st.accepted++;
	}
}

/* ---- polling ---- */

static void
check_stalls(struct ssr_mgmt *srv)
{
	uint64_t now = now_ms();
	unsigned int i;

	for (i = 0; i < srv->max_clients; i++) {
		struct mgmt_client *c = srv->clients[i];

		if (c != NULL && c->out_len > c->out_off &&
				now - c->progress_ms >= srv->stall_timeout_ms) {
			srv->st.stalled++;
			client_close(srv, c);
		}
	}
}

int
ssr_mgmt_poll(struct ssr_mgmt *srv, int timeout_ms)
{
	struct epoll_event evs[MGMT_EPOLL_EVENTS];
	int n, i, handled;
	unsigned int k;

	if (srv == NULL)
		return -EINVAL;
	srv->budget = SSR_MGMT_POLL_BUDGET;
	srv->seq++;
	if (srv->n_pending > 0) {
		for (k = 0; k < srv->max_clients && srv->budget > 0; k++) {
			unsigned int slot = (srv->rr + k) % srv->max_clients;
			struct mgmt_client *c = srv->clients[slot];

			if (c != NULL && c->pending)
				client_service(srv, c);
		}
		srv->rr = (srv->rr + 1) % srv->max_clients;
		timeout_ms = 0; /* work is waiting: do not sleep */
	}
	n = epoll_wait(srv->ep, evs, MGMT_EPOLL_EVENTS, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < n; i++) {
		uint64_t d = evs[i].data.u64;
		struct mgmt_client *c;
		unsigned int slot;

		if (d == 0) {
			accept_clients(srv);
			continue;
		}
		slot = (uint32_t)d - 1;
		c = slot < srv->max_clients ? srv->clients[slot] : NULL;
		if (c == NULL || c->gen != (uint32_t)(d >> 32))
			continue; /* closed earlier in this batch */
		if (evs[i].events & EPOLLOUT) {
			if (!client_flush(srv, c))
				continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
			if (c->paused || c->closing) {
				/* hang-up with output queued: nobody will read it */
				if (evs[i].events & (EPOLLHUP | EPOLLERR))
					client_close(srv, c);
				continue;
			}
			client_service(srv, c);
		}
	}
	if (srv->n_outpending > 0)
		check_stalls(srv);
	handled = SSR_MGMT_POLL_BUDGET - srv->budget;
	return handled;
}

/* ---- events ---- */

static int
event_bit(const json_t *event)
{
	const char *kind = json_string_value(json_object_get(event, "event"));
	unsigned int b;

	if (kind == NULL)
		return -EINVAL;
	for (b = 0; b < SSR_MGMT_EVENT_MAX; b++)
		if (strcmp(kind, ssr_mgmt_event_name(b)) == 0)
			return b;
	return -EINVAL;
}

int
ssr_mgmt_publish_event(struct ssr_mgmt *srv, const json_t *event)
{
	unsigned int i, sent = 0;
	uint32_t bit;
	size_t len;
	char *s;
	int b;

	if (srv == NULL || !json_is_object(event))
		return -EINVAL;
	b = event_bit(event);
	if (b < 0)
		return b;
	bit = UINT32_C(1) << b;
	srv->st.events_published++;
	if (ssr_mgmt_subscribers(srv, bit) == 0)
		return 0;
	s = json_dumps(event, JSON_COMPACT);
	if (s == NULL)
		return -ENOMEM;
	len = strlen(s);
	for (i = 0; i < srv->max_clients; i++) {
		struct mgmt_client *c = srv->clients[i];

		if (c == NULL || !(c->events & bit) || c->closing)
			continue;
		if (c->lost > 0) {
			char note[96];
			int nl = snprintf(note, sizeof(note),
					"{\"event\":\"lost\",\"count\":%llu}",
					(unsigned long long)c->lost);

			if (c->out_len - c->out_off + nl + len + 2 > srv->max_output ||
					!client_queue(srv, c, note, nl)) {
				c->lost++;
				srv->st.events_dropped++;
				continue;
			}
			c->lost = 0;
		}
		if (!client_queue(srv, c, s, len)) {
			c->lost++;
			srv->st.events_dropped++;
			continue;
		}
		srv->st.events_sent++;
		sent++;
		client_flush(srv, c);
	}
	free(s);
	return sent;
}

unsigned int
ssr_mgmt_subscribers(const struct ssr_mgmt *srv, uint32_t mask)
{
	unsigned int i, n = 0;

	if (srv == NULL || srv->st.subscribers == 0)
		return 0;
	for (i = 0; i < srv->max_clients; i++)
		if (srv->clients[i] != NULL && (srv->clients[i]->events & mask))
			n++;
	return n;
}

void
ssr_mgmt_get_stats(const struct ssr_mgmt *srv, struct ssr_mgmt_stats *st)
{
	if (srv == NULL || st == NULL)
		return;
	*st = srv->st;
}

/* ---- creating the socket ---- */

/* The socket's directory: create it if missing, then insist that only root
 * or we can change what is in it. */
static int
check_dir(const char *dir, uid_t euid)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT)
			return -errno;
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		if (lstat(dir, &st) != 0)
			return -errno;
	}
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != 0 && st.st_uid != euid)
		return -EPERM;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

/* An entry already at the path: remove it only if it is our stale socket. */
static int
clear_stale(const char *path, uid_t euid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != euid)
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path));
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r == 0)
		r = -EADDRINUSE;
	else if (errno == ECONNREFUSED)
		r = unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
	else
		r = errno == ENOENT ? 0 : -EEXIST;
	close(fd);
	return r;
}

static mode_t
socket_mode(const struct ssr_cfg_mgmt *a, uid_t euid)
{
	unsigned int i;

	for (i = 0; i < a->n_allow_uids; i++)
		if (a->allow_uids[i] != 0 && a->allow_uids[i] != euid)
			return 0666;
	return a->n_allow_gids > 0 ? 0660 : 0600;
}

static int
open_socket(struct ssr_mgmt *srv, const struct ssr_cfg_mgmt *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	mode_t mode = socket_mode(a, srv->euid);
	struct stat st;
	char *slash;
	int r;

	snprintf(dir, sizeof(dir), "%s", srv->path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	r = check_dir(dir, srv->euid);
	if (r < 0)
		return r;
	r = clear_stale(srv->path, srv->euid);
	if (r < 0)
		return r;
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0)
		return -errno;
	/* Linux creates the socket file with the socket inode's mode (less the
	 * umask): set it first, so the file never exists with a wider mode. */
	if (fchmod(srv->lfd, 0600) != 0)
		return -errno;
	memcpy(sa.sun_path, srv->path, strlen(srv->path));
	if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	if (lstat(srv->path, &st) != 0)
		return -errno;
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	if (a->n_allow_gids > 0 &&
			fchownat(AT_FDCWD, srv->path, (uid_t)-1, a->allow_gids[0],
				AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	/* the directory is ours alone, and the inode was checked above */
	if ((st.st_mode & 0777) != mode && chmod(srv->path, mode) != 0)
		return -errno;
	if (listen(srv->lfd, 64) != 0)
		return -errno;
	return 0;
}

struct ssr_mgmt *
ssr_mgmt_create(const struct ssr_mgmt_conf *conf)
{
	const struct ssr_cfg_mgmt *a;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	struct ssr_mgmt *srv;
	const char *path;
	int r;

	if (conf == NULL || conf->access == NULL || conf->ops == NULL ||
			conf->ops->apply == NULL || (conf->flags & ~SSR_MGMT_F_ALL) ||
			(conf->max_output != 0 && conf->max_output < MGMT_MIN_OUTPUT) ||
			conf->max_request > SIZE_MAX / 4) {
		errno = EINVAL;
		return NULL;
	}
	a = conf->access;
	path = a->socket != NULL ? a->socket : SSR_MGMT_DEFAULT_SOCKET;
	if (path[0] != '/' || strlen(path) >= sizeof(srv->path) ||
			(a->n_allow_uids > 0 && a->allow_uids == NULL) ||
			(a->n_allow_gids > 0 && a->allow_gids == NULL)) {
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	srv->lfd = -1;
	srv->ep = -1;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	srv->euid = geteuid();
	srv->ops = conf->ops;
	srv->ctx = conf->ctx;
	srv->max_clients = conf->max_clients ? conf->max_clients :
		SSR_MGMT_DEFAULT_MAX_CLIENTS;
	srv->max_request = conf->max_request ? conf->max_request :
		SSR_MGMT_DEFAULT_MAX_REQUEST;
	srv->max_output = conf->max_output ? conf->max_output :
		SSR_MGMT_DEFAULT_MAX_OUTPUT;
	srv->stall_timeout_ms = conf->stall_timeout_ms ? conf->stall_timeout_ms :
		SSR_MGMT_DEFAULT_STALL_TIMEOUT_MS;
	r = -ENOMEM;
	srv->version = strdup(conf->version ? conf->version : SSR_MGMT_BUILD_VERSION);
	srv->clients = calloc(srv->max_clients, sizeof(*srv->clients));
	if (srv->version == NULL || srv->clients == NULL)
		goto fail;
	if (a->n_allow_uids > 0) {
		srv->allow_uids = malloc(a->n_allow_uids * sizeof(uid_t));
		if (srv->allow_uids == NULL)
			goto fail;
		memcpy(srv->allow_uids, a->allow_uids, a->n_allow_uids * sizeof(uid_t));
		srv->n_allow_uids = a->n_allow_uids;
	}
	if (a->n_allow_gids > 0) {
		srv->allow_gids = malloc(a->n_allow_gids * sizeof(gid_t));
		if (srv->allow_gids == NULL)
			goto fail;
		memcpy(srv->allow_gids, a->allow_gids, a->n_allow_gids * sizeof(gid_t));
		srv->n_allow_gids = a->n_allow_gids;
	}
	r = open_socket(srv, a);
	if (r < 0)
		goto fail;
	srv->ep = epoll_create1(EPOLL_CLOEXEC);
	if (srv->ep < 0 || epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->lfd, &ev) != 0) {
		r = -errno;
		goto fail;
	}
	return srv;
fail:
	ssr_mgmt_destroy(srv);
	errno = -r;
	return NULL;
}

void
ssr_mgmt_destroy(struct ssr_mgmt *srv)
{
	struct stat st;
	unsigned int i;

	if (srv == NULL)
		return;
	for (i = 0; srv->clients != NULL && i < srv->max_clients; i++)
		if (srv->clients[i] != NULL)
			client_close(srv, srv->clients[i]);
	if (srv->ep >= 0)
		close(srv->ep);
	if (srv->lfd >= 0) {
		close(srv->lfd);
		/* remove the file only if it is still the socket we bound */
		if (srv->ino != 0 && lstat(srv->path, &st) == 0 &&
				st.st_dev == srv->dev && st.st_ino == srv->ino)
			unlink(srv->path);
	}
	free(srv->clients);
	free(srv->allow_uids);
	free(srv->allow_gids);
	free(srv->version);
	free(srv);
}
