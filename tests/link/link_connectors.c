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
	const char *const *names = conn_driver_names();
	int ok = conn_driver("postgres") && conn_driver("mariadb") && conn_driver("snapshot") && names &&
	         conn_driver("mysql") == conn_driver("mariadb") &&
	         names[0] && strcmp(names[0], "postgres") == 0 && names[1] && strcmp(names[1], "mariadb") == 0 &&
	         names[2] && strcmp(names[2], "snapshot") == 0 && names[3] && strcmp(names[3], "mysql") == 0 &&
	         !names[4];

	printf("1..1\n%s 1 - connectors_lib links with base_lib alone (drivers: %s, %s, %s)\n", ok ? "ok" : "not ok",
	       names && names[0] ? names[0] : "none", names && names[1] ? names[1] : "none",
	       names && names[2] ? names[2] : "none");
	return 0;
}
