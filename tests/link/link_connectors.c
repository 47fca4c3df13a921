/*
 * tests/link/link_connectors.c
 *   Links every object of connectors_lib with base_lib, and nothing of
 *   the engine: a connector that needs an engine symbol fails the build.
 *   One TAP case, so that the check is counted.
 */
#include <stdio.h>
#include <string.h>

#include "connectors/connector.h"

int main(void)
{
	const char *names = conn_driver_names();
	int ok = conn_driver("postgres") && conn_driver("mariadb") && conn_driver("snapshot") &&
	         names && strstr(names, "postgres");

	printf("1..1\n%s 1 - connectors_lib links with base_lib alone (drivers: %s)\n", ok ? "ok" : "not ok",
	       names ? names : "none");
	return 0;
}
