/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

/*
 * Peer credential checks: forked clients drop to another uid/gid and
 * connect. Needs root to switch identities: exits 77 (skipped) otherwise.
 */

#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_ops.h"
#include "mgmt.h"
#include "mgmt_test_util.h"

#define NOBODY 65534

enum { CHILD_ALLOWED = 0, CHILD_REFUSED = 1, CHILD_FS_DENIED = 2,
	CHILD_BROKEN = 3 };

/* Become uid/gid (+ one supplementary group), connect, ask for the version. */
static int
child(const char *path, uid_t uid, gid_t gid, gid_t supp)
{
	struct tclient c;
	json_t *r;
	int ret = CHILD_BROKEN, e;

	if (setgroups(supp ? 1 : 0, &supp) != 0 || setgid(gid) != 0 ||
			setuid(uid) != 0)
		return CHILD_BROKEN;
	e = tu_connect(&c, path);
	if (e == -EACCES)
		return CHILD_FS_DENIED;
	if (e != 0)
		return CHILD_BROKEN;
	r = tu_rpc(NULL, &c, "{\"id\":1,\"op\":\"version\"}");
	if (r != NULL && json_is_true(json_object_get(r, "ok")))
		ret = CHILD_ALLOWED;
	else if (r != NULL && strcmp(tu_str(r, "error.code"), "permission_denied") == 0
			&& json_is_null(json_object_get(r, "id")) &&
			strstr(tu_str(r, "error.message"), "uid 65534") != NULL)
		ret = CHILD_REFUSED;
	json_decref(r);
	tu_close(&c);
	return ret;
}

/* Run a child against a server with these lists; return its verdict. */
static int
run(const uid_t *uids, unsigned int nu, const gid_t *gids, unsigned int ng,
		uid_t uid, gid_t gid, gid_t supp, struct ssr_mgmt_stats *st)
{
	char dir[64], path[128];
	struct ssr_cfg_mgmt access = { .enabled = true };
	struct ssr_mgmt_conf conf = { .access = &access, .ops = &fake_ops };
	struct fake_state f;
	struct ssr_mgmt *srv;
	int status = -1, i;
	pid_t pid;

	fake_init(&f);
	conf.ctx = &f;
	tu_tmpdir(dir, path);
	/* others must be able to reach the socket through its directory */
	assert_int_equal(chmod(dir, 0755), 0);
	access.socket = path;
	access.allow_uids = (uid_t *)uids;
	access.n_allow_uids = nu;
	access.allow_gids = (gid_t *)gids;
	access.n_allow_gids = ng;
	srv = ssr_mgmt_create(&conf);
	assert_non_null(srv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child(path, uid, gid, supp));
	for (i = 0; i < 2000; i++) {
		ssr_mgmt_poll(srv, 5);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	assert_true(WIFEXITED(status));
	ssr_mgmt_get_stats(srv, st);
	assert_int_equal(f.applied, 0); /* version is answered by the server */
	ssr_mgmt_destroy(srv);
	tu_rmdir(dir);
	fake_fini(&f);
	return WEXITSTATUS(status);
}

static void
test_other_uid_refused(void **state)
{
	const uid_t someone[] = { 12345 };
	struct ssr_mgmt_stats st;

	(void)state;
	/* socket 0666 (an extra uid is allowed), so the kernel lets nobody
	 * connect and only SO_PEERCRED can refuse it */
	assert_int_equal(run(someone, 1, NULL, 0, NOBODY, NOBODY, 0, &st),
			CHILD_REFUSED);
	assert_int_equal(st.refused_cred, 1);
	assert_int_equal(st.accepted, 0);
}

static void
test_default_mode_keeps_others_out(void **state)
{
	struct ssr_mgmt_stats st;

	(void)state;
	/* no allow lists: 0600, the file system already says no */
	assert_int_equal(run(NULL, 0, NULL, 0, NOBODY, NOBODY, 0, &st),
			CHILD_FS_DENIED);
	assert_int_equal(st.accepted, 0);
}

static void
test_allowed_uid(void **state)
{
	const uid_t nobody[] = { NOBODY };
	struct ssr_mgmt_stats st;

	(void)state;
	assert_int_equal(run(nobody, 1, NULL, 0, NOBODY, NOBODY, 0, &st),
			CHILD_ALLOWED);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.refused_cred, 0);
}

static void
test_allowed_gid(void **state)
{
	const gid_t grp[] = { 4242 };
	struct ssr_mgmt_stats st;

	(void)state;
	/* primary group */
	assert_int_equal(run(NULL, 0, grp, 1, NOBODY, 4242, 0, &st), CHILD_ALLOWED);
	/* supplementary group (SO_PEERGROUPS) */
	assert_int_equal(run(NULL, 0, grp, 1, NOBODY, NOBODY, 4242, &st),
			CHILD_ALLOWED);
	/* neither: the 0660 file mode keeps it out */
	assert_int_equal(run(NULL, 0, grp, 1, NOBODY, NOBODY, 0, &st),
			CHILD_FS_DENIED);
}

static void
test_gid_checked_by_credentials(void **state)
{
	const uid_t someone[] = { 12345 };
	const gid_t grp[] = { 4242 };
	struct ssr_mgmt_stats st;

	(void)state;
	/* 0666 (extra uid) and a gid list: a peer in neither is refused by
	 * the credential check, a peer in the group is let in */
	assert_int_equal(run(someone, 1, grp, 1, NOBODY, NOBODY, 0, &st),
			CHILD_REFUSED);
	assert_int_equal(st.refused_cred, 1);
	assert_int_equal(run(someone, 1, grp, 1, NOBODY, NOBODY, 4242, &st),
			CHILD_ALLOWED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_uid_refused),
		cmocka_unit_test(test_default_mode_keeps_others_out),
		cmocka_unit_test(test_allowed_uid),
		cmocka_unit_test(test_allowed_gid),
		cmocka_unit_test(test_gid_checked_by_credentials),
	};

	if (geteuid() != 0) {
		printf("skipped: switching to another uid needs root\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
