/*
 * tests/unit/test_run.c
 *   The run's pieces that need no server: the message when a worker
 *   thread cannot start.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "../../engine/run_int.h"

/* pthread_create() returns its error and leaves errno as it was: the message must take the code. */
static void test_worker_start_error(void **state)
{
	struct tally_err err;
	char want[256];

	(void)state;
	errno = 0;
	assert_int_equal(run_worker_start_error(&err, 2, EAGAIN), -1);
	snprintf(want, sizeof(want), "cannot start worker 2: %s", strerror(EAGAIN));
	assert_string_equal(err.msg, want);
	assert_int_equal(err.kind, ERR_INTERNAL);
	errno = ENOENT;
	run_worker_start_error(&err, 7, EPERM);
	snprintf(want, sizeof(want), "cannot start worker 7: %s", strerror(EPERM));
	assert_string_equal(err.msg, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_start_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
