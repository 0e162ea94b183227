/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Helpers for socket tests: a private socket directory, clients that talk
 * to an in-process server (polling it while they wait, so one thread drives
 * both ends), and blocking clients for forked children.
 */

#ifndef MGMT_TEST_UTIL_H
#define MGMT_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "mgmt.h"

/* A client connection with its own receive buffer. */
struct tclient {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
};

/* mkdtemp under /tmp; fills dir and path (dir + "/mgmt.sock"). */
void tu_tmpdir(char dir[64], char path[128]);
/* rm -r of what tu_tmpdir made (socket, files, symlinks, one subdir level). */
void tu_rmdir(const char *dir);

/* Connect (blocking connect, then non-blocking I/O). -errno on failure. */
int tu_connect(struct tclient *c, const char *path);
void tu_close(struct tclient *c);

/* Send all of s, polling srv (may be NULL) while the socket is full.
 * Returns 0 or -errno (EPIPE, ECONNRESET). */
int tu_send(struct ssr_mgmt *srv, struct tclient *c, const char *s, size_t len);

/* Next line as JSON, polling srv (may be NULL) meanwhile; NULL on EOF,
 * error or timeout. *eof (may be NULL) says the peer closed. */
json_t *tu_recv(struct ssr_mgmt *srv, struct tclient *c, int timeout_ms,
		bool *eof);

/* Send one request line (newline added) and return the reply. */
json_t *tu_rpc(struct ssr_mgmt *srv, struct tclient *c, const char *req);

/* Member lookups that never return NULL for a missing member: "" / -1. */
const char *tu_str(const json_t *o, const char *path);
long long tu_int(const json_t *o, const char *path);

/* Create a server on path with the fake ops and the given limits. */
struct ssr_mgmt *tu_server(const char *path, void *fake, size_t max_request,
		size_t max_output, unsigned int stall_ms, unsigned int max_clients);

#endif /* MGMT_TEST_UTIL_H */
