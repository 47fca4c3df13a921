#!/usr/bin/env bash
# scripts/examples.sh
#   Runs the example specs of specs/examples/ on a pair of throwaway
#   servers, as scripts/demo.sh runs the demo: seeds a catalogue migrated
#   from MariaDB (shop_legacy) to PostgreSQL (shop), an order cache in
#   MariaDB (shop_cache) that drifted from the orders in PostgreSQL, and an
#   order-cancel job interrupted part way (PostgreSQL oms, MariaDB search),
#   runs migration.yaml, nightly.yaml and workflow.yaml, and shows each
#   summary and where the change order is. Outputs stay in tally-out/examples/<name>/latest/ (or
#   $TALLY_EXAMPLES_OUT/<name>/); the
#   servers are stopped at the end. Every example finds differences: exit
#   status 0 when each run ended with exit 1, as seeded.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ -z "${TALLY_PG_PORT:-}" ]; then
	scripts/deps.sh
	[ -f build/build.ninja ] || meson setup build >/dev/null
	ninja -C build >/dev/null
	exec scripts/servers.sh run "$0" "$@"
fi

my() {
	MYSQL_PWD=$TALLY_MY_ADMIN_PASSWORD mariadb --no-defaults -h 127.0.0.1 -P "$TALLY_MY_PORT" \
		-u "$TALLY_MY_ADMIN_USER" "$@"
}
pg() {
	PGPASSWORD=$TALLY_PG_ADMIN_PASSWORD "$TALLY_PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
		-p "$TALLY_PG_PORT" -U "$TALLY_PG_ADMIN_USER" "$@"
}

echo "== seeding shop_legacy, shop_cache, search (MariaDB), shop and oms (PostgreSQL)"
my -e 'CREATE DATABASE shop_legacy CHARACTER SET utf8mb4; CREATE DATABASE shop_cache CHARACTER SET utf8mb4'
my -e 'CREATE DATABASE search CHARACTER SET utf8mb4'
my -D shop_legacy < specs/examples/migration-mariadb.sql
my -D shop_cache < specs/examples/nightly-mariadb.sql
my -D search < specs/examples/workflow-mariadb.sql
pg -d postgres -c 'CREATE DATABASE shop'
pg -d postgres -c 'CREATE DATABASE oms'
pg -d shop -f specs/examples/migration-postgres.sql
pg -d shop -f specs/examples/nightly-postgres.sql
pg -d oms -f specs/examples/workflow-postgres.sql

out=${TALLY_EXAMPLES_OUT:-tally-out/examples}
tally=${TALLY:-build/tally}
failed=0
for name in migration nightly workflow; do
	echo
	echo "== tally check specs/examples/$name.yaml"
	status=0
	"$tally" check "specs/examples/$name.yaml" --out "$out/$name" || status=$?
	echo "(exit status $status: 0 consistent, 1 differences found, 2 trouble)"
	[ $status -eq 1 ] || failed=1
done
echo
echo "== the change order of the nightly run: $out/nightly/latest/change-order.md"
sed -n '1,/^## How to apply/p' "$out/nightly/latest/change-order.md"
echo
echo "== where the workflow's keys stopped: $out/workflow/latest/change-order.md"
sed -n '/^## Workflows/,/^## How to apply/p' "$out/workflow/latest/change-order.md"
exit $failed
