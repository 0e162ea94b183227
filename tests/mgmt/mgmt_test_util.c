/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_ops.h"
#include "mgmt_test_util.h"

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void
tu_tmpdir(char dir[64], char path[128])
{
	snprintf(dir, 64, "/tmp/ssr-mgmt-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(path, 128, "%s/mgmt.sock", dir);
}

static void
rm_tree(const char *dir, int depth)
{
	struct dirent *d;
	DIR *dh = opendir(dir);
	char p[512];
	struct stat st;

	if (dh == NULL)
		return;
	while ((d = readdir(dh)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 2)
			rm_tree(p, depth + 1);
		else
			unlink(p);
	}
	closedir(dh);
	rmdir(dir);
}

void
tu_rmdir(const char *dir)
{
	rm_tree(dir, 0);
}

int
tu_connect(struct tclient *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		return -e;
	}
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->cap = 1 << 20;
	c->buf = malloc(c->cap);
	return c->buf == NULL ? -ENOMEM : 0;
}

void
tu_close(struct tclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

int
tu_send(struct ssr_mgmt *srv, struct tclient *c, const char *s, size_t len)
{
	long long deadline = mono_ms() + 5000;

	while (len > 0) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n > 0) {
			s += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (mono_ms() > deadline)
			return -ETIMEDOUT;
		if (srv != NULL)
			ssr_mgmt_poll(srv, 1);
		else
			usleep(1000);
	}
	return 0;
}

json_t *
tu_recv(struct ssr_mgmt *srv, struct tclient *c, int timeout_ms, bool *eof)
{
	long long deadline = mono_ms() + timeout_ms;

	if (eof != NULL)
		*eof = false;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl != NULL) {
			size_t l = nl - c->buf;
			json_t *j = json_loadb(c->buf, l, 0, NULL);

			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return j;
		}
		if (c->len == c->cap)
			return NULL;
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			c->len += n;
			continue;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			if (eof != NULL)
				*eof = true;
			return NULL;
		}
		if (mono_ms() > deadline)
			return NULL;
		if (srv != NULL) {
			ssr_mgmt_poll(srv, 1);
		} else {
			struct pollfd p = { .fd = c->fd, .events = POLLIN };

			poll(&p, 1, 10);
		}
	}
}

json_t *
tu_rpc(struct ssr_mgmt *srv, struct tclient *c, const char *req)
{
	size_t len = strlen(req);
	char *line = malloc(len + 1);
	int r;

	if (line == NULL)
		return NULL;
	memcpy(line, req, len);
	line[len] = '\n';
	r = tu_send(srv, c, line, len + 1);
	free(line);
	/* a server that refuses a connection writes one error line and
	 * closes: the send may fail, the line is still there to read */
	if (r != 0 && r != -EPIPE && r != -ECONNRESET)
		return NULL;
	return tu_recv(srv, c, 5000, NULL);
}

static const json_t *
walk(const json_t *o, const char *path)
{
	char key[64];

	while (o != NULL && *path != '\0') {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (json_is_array(o))
			o = json_array_get(o, strtoul(key, NULL, 10));
		else
			o = json_object_get(o, key);
		path += n + (dot != NULL);
	}
	return o;
}

const char *
tu_str(const json_t *o, const char *path)
{
	const char *s = json_string_value(walk(o, path));

	return s != NULL ? s : "";
}

long long
tu_int(const json_t *o, const char *path)
{
	const json_t *v = walk(o, path);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

struct ssr_mgmt *
tu_server(const char *path, void *fake, size_t max_request, size_t max_output,
		unsigned int stall_ms, unsigned int max_clients)
{
	struct ssr_cfg_mgmt access = { .enabled = true, .socket = (char *)path };
	struct ssr_mgmt_conf conf = {
		.access = &access,
		.ops = &fake_ops,
		.ctx = fake,
		.max_request = max_request,
		.max_output = max_output,
		.stall_timeout_ms = stall_ms,
		.max_clients = max_clients,
	};

	return ssr_mgmt_create(&conf);
}
