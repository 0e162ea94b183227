/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/**
 * @file
 * The management socket: a Unix stream socket serving the protocol of
 * mgmt_proto.h (docs/management.md) to local clients such as servalctl.
 *
 * The server owns no thread. The control lcore calls ssr_mgmt_poll() from
 * its loop; every socket is non-blocking, so a slow, stuck or malicious
 * client can cost the loop at most a bounded amount of work per call:
 * - at most SSR_MGMT_POLL_BUDGET requests are handled per call (the rest
 *   wait for the next call, round robin over clients);
 * - a request line longer than the configured limit is answered with a
 *   "too_large" error and the connection is closed, having read no more
 *   than the limit;
 * - replies are queued in a per-client buffer bounded by max_output; while
 *   a client has more than half of it unread, its further requests are not
 *   read (back-pressure); a client that leaves output unread for
 *   stall_timeout_ms is disconnected and counted (stats.stalled);
 * - events that do not fit a subscriber's buffer are dropped and counted,
 *   and the subscriber is told how many it lost ({"event":"lost"}).
 *
 * Access: the socket file is created 0600 (wider only as the allow lists
 * need, see ssr_mgmt_create()), never through a symlink, and every peer's
 * credentials (SO_PEERCRED, SO_PEERGROUPS) are checked on accept. Root and
 * the server's own effective uid are always allowed.
 *
 * Commands are applied by the application through struct ssr_mgmt_ops; the
 * server itself answers only "version", "subscribe" and "unsubscribe", and
 * adds its own counters to the result of "stats".
 *
 * Threads: every function must be called from one thread (the control lcore
 * in serval-sr), except where noted.
 */

#ifndef SSR_MGMT_H
#define SSR_MGMT_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "config.h"
#include "mgmt_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ssr_mgmt;

/** Requests handled per ssr_mgmt_poll() call, over all clients. */
#define SSR_MGMT_POLL_BUDGET 64
/** Requests handled per client per ssr_mgmt_poll() call. */
#define SSR_MGMT_CLIENT_BUDGET 16
/** Default most clients connected at once. */
#define SSR_MGMT_DEFAULT_MAX_CLIENTS 32
/** Default per-client output buffer bound (bytes). */
#define SSR_MGMT_DEFAULT_MAX_OUTPUT (4u * 1024 * 1024)
/** Default time a client may leave output unread (milliseconds). */
#define SSR_MGMT_DEFAULT_STALL_TIMEOUT_MS 5000

/** Flags allowed in ssr_mgmt_conf.flags (none defined yet: must be 0). */
#define SSR_MGMT_F_ALL 0u

/** Who sent a request (from SO_PEERCRED at connect time). */
struct ssr_mgmt_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint64_t client; /**< connection number, unique for the server's life */
};

/**
 * What the application implements: the server calls it for every valid
 * command except VERSION, SUBSCRIBE and UNSUBSCRIBE.
 */
struct ssr_mgmt_ops {
	/**
	 * Apply one command (mandatory).
	 *
	 * Called from ssr_mgmt_poll(), so on the polling thread, one command
	 * at a time. Must not block. A command that changes tables must
	 * change all of it or nothing (a BATCH is one transaction); it must
	 * never report success for a change it did not make.
	 *
	 * @param ctx     ssr_mgmt_conf.ctx
	 * @param cmd     the validated command (read-only, valid for the call)
	 * @param peer    who asked (for logs and audit)
	 * @param result  an empty object to fill with the result, as
	 *                docs/management.md specifies per operation
	 * @param err     on failure, why: fill with ssr_mgmt_error_set()
	 *                (field and message; details for a failed reload)
	 * @return 0, or -errno (the server reports err; with err left empty it
	 *   reports strerror). -ENOTSUP for an operation not implemented.
	 */
	int (*apply)(void *ctx, const struct ssr_cmd *cmd,
			const struct ssr_mgmt_peer *peer, json_t *result,
			struct ssr_mgmt_error *err);
};

/** Server parameters for ssr_mgmt_create(). Zero limits take the defaults. */
struct ssr_mgmt_conf {
	/** Socket path and allow lists, as the service map's `management`
	 * section gives them (socket NULL: SSR_MGMT_DEFAULT_SOCKET). */
	const struct ssr_cfg_mgmt *access;
	const struct ssr_mgmt_ops *ops; /**< ops->apply must be set */
	void *ctx;                      /**< passed to the ops */
	const char *version;            /**< reported by "version"; NULL: build's */
	unsigned int max_clients;       /**< 0: SSR_MGMT_DEFAULT_MAX_CLIENTS */
	size_t max_request;             /**< bytes per line, newline excluded;
					  *   0: SSR_MGMT_DEFAULT_MAX_REQUEST */
	size_t max_output;              /**< per-client output bound, >= 4096;
					  *   0: SSR_MGMT_DEFAULT_MAX_OUTPUT. A
					  *   reply over half of it is replaced
					  *   by a "too_large" error */
	unsigned int stall_timeout_ms;  /**< 0: SSR_MGMT_DEFAULT_STALL_TIMEOUT_MS */
	uint32_t flags;                 /**< within SSR_MGMT_F_ALL */
};

/** Server counters. Monotonic except clients and subscribers. */
struct ssr_mgmt_stats {
	uint64_t accepted;        /**< connections accepted and allowed */
	uint64_t refused_cred;    /**< refused: peer credentials not allowed */
	uint64_t refused_full;    /**< refused: max_clients connected */
	uint64_t closed;          /**< connections closed, any reason */
	uint64_t requests;        /**< request lines handled */
	uint64_t errors;          /**< of those, answered with an error */
	uint64_t oversized;       /**< lines over max_request (connection closed) */
	uint64_t truncated;       /**< peer closed in the middle of a line */
	uint64_t stalled;         /**< disconnected: output left unread */
	uint64_t io_errors;       /**< disconnected: socket error */
	uint64_t events_published; /**< ssr_mgmt_publish_event() calls accepted */
	uint64_t events_sent;     /**< event lines queued to subscribers */
	uint64_t events_dropped;  /**< event lines dropped: subscriber buffer full */
	uint64_t bytes_in;        /**< bytes read from clients */
	uint64_t bytes_out;       /**< bytes written to clients */
	unsigned int clients;     /**< connected now */
	unsigned int subscribers; /**< connected now with a subscription */
};

/**
 * Create the socket and start listening.
 *
 * The socket's directory is created (mode 0755, one level only) if it is
 * missing. It must be a real directory (not a symlink), owned by root or the
 * effective uid, and not writable by group or others unless sticky. An
 * existing entry at the path is removed only if it is a socket owned by the
 * effective uid that nobody listens on (a stale one); anything else is left
 * alone and creation fails.
 *
 * The socket file is created 0600 (owner: the effective uid). With
 * allow_gids, its group becomes allow_gids[0] and its mode 0660; with an
 * allowed uid other than root and the owner, its mode becomes 0666 and the
 * credential check is the only gate.
 *
 * @return the server, or NULL with errno: EINVAL (bad conf, relative or too
 *   long path), ELOOP (directory is a symlink), ENOTDIR, EPERM (directory
 *   owned by someone else or writable by others), EEXIST (the path exists
 *   and is not a stale socket of ours), EADDRINUSE (a server listens
 *   there), ENOMEM, or what mkdir/socket/bind/listen/chown/epoll failed
 *   with.
 */
struct ssr_mgmt *
ssr_mgmt_create(const struct ssr_mgmt_conf *conf);

/**
 * Close every connection, close the socket and remove its file (only if it
 * is still the one this server created). NULL is a no-op.
 */
void
ssr_mgmt_destroy(struct ssr_mgmt *srv);

/**
 * Serve: accept connections, read requests, apply them through the ops,
 * write replies, disconnect stalled clients. Bounded work per call (see the
 * file comment); one epoll_wait() system call when nothing is pending.
 *
 * @param timeout_ms  0 never blocks (the control lcore's choice); > 0 waits
 *                    up to that long for something to happen; -1 waits
 *                    indefinitely (tests, a dedicated thread)
 * @return requests handled (>= 0), or -errno if epoll failed.
 */
int
ssr_mgmt_poll(struct ssr_mgmt *srv, int timeout_ms);

/**
 * Send an event to every client subscribed to its kind.
 *
 * The kind is the event's "event" member (one of SSR_MGMT_EVENT_LIST's
 * wire names). The object is serialised once and queued; nothing blocks.
 * A subscriber whose buffer has no room loses the event (counted, and
 * reported to it later as {"event": "lost", "count": n}).
 *
 * @param event  a JSON object (borrowed: the caller keeps its reference)
 * @return subscribers it was queued to (>= 0), or -EINVAL (not an object,
 *   unknown or missing kind), -ENOMEM.
 */
int
ssr_mgmt_publish_event(struct ssr_mgmt *srv, const json_t *event);

/**
 * Clients subscribed to any kind in @p mask (bits 1 << SSR_MGMT_EVENT_*_BIT):
 * lets the application skip building events nobody wants.
 */
unsigned int
ssr_mgmt_subscribers(const struct ssr_mgmt *srv, uint32_t mask);

/** Copy the server's counters into @p st. */
void
ssr_mgmt_get_stats(const struct ssr_mgmt *srv, struct ssr_mgmt_stats *st);

/**
 * Build a reply line for one request line without a socket: what the server
 * would answer a client (VERSION, SUBSCRIBE and UNSUBSCRIBE are answered as
 * for a client that subscribes to nothing). For tests and fuzzing; any
 * thread, given ops that allow it.
 *
 * @return the reply object (new reference), or NULL on allocation failure.
 */
json_t *
ssr_mgmt_handle_line(const struct ssr_mgmt_ops *ops, void *ctx,
		const char *line, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SSR_MGMT_H */
