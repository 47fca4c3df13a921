/*
 * tests/link/link_engine.c
 *   The program tests/link/nogroup.sh links with every object of
 *   engine_lib, then connectors_lib, then base_lib, in that order and
 *   without a linker group (meson puts every static library of a target
 *   in one group, which would hide a dependency from a lower library on a
 *   higher one). Loads a spec naming every driver, so that the engine's
 *   loader works from the connectors' registry. One TAP case.
 */
#include <stdio.h>
#include <string.h>

#include "engine/spec.h"

int main(void)
{
	static const char text[] =
		"version: 1\n"
		"name: link\n"
		"systems:\n"
		"  a: { driver: postgres, dsn: \"postgresql://u:pw@h/db\" }\n"
		"  b: { driver: mariadb, dsn: \"mariadb://u:pw@h/db\" }\n"
		"  c: { driver: snapshot, path: /tmp/c.snap }\n"
		"checks:\n"
		"  - { name: t, source: { system: a, table: t }, target: { system: b, table: t } }\n";
	struct spec s;
	struct tally_err err;
	int ok = spec_load_string("t.yaml", text, sizeof(text) - 1, &s, &err) == 0 && s.nsystems == 3 &&
	         strcmp(s.systems[0].dsn_shown, "postgresql://u:***@h/db") == 0 &&
	         strcmp(s.systems[1].dsn_shown, "mariadb://u:***@h/db") == 0 &&
	         strcmp(s.systems[2].dsn_shown, "/tmp/c.snap") == 0;

	printf("1..1\n%s 1 - engine, connectors, base link in that order without a group\n", ok ? "ok" : "not ok");
	if (!ok)
		printf("# %s\n", err.msg);
	spec_release(&s);
	return 0;
}
