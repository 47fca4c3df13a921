#!/usr/bin/env bash
# scripts/demo.sh
#   The README's first command: installs what is missing, builds tally,
#   starts a throwaway MariaDB (the legacy billing system) and PostgreSQL
#   (the new one) on 127.0.0.1, seeds a cut-over that went wrong
#   (specs/demo/*.sql), runs `tally check specs/demo.yaml`, and shows the
#   summary, the report and the first differences, and names report.html. The servers are stopped
#   at the end; the outputs stay in tally-out/demo/<run>/ (tally-out/demo/latest).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ -z "${TALLY_PG_PORT:-}" ]; then
	scripts/deps.sh
	[ -f build/build.ninja ] || meson setup build >/dev/null
	ninja -C build >/dev/null
fi

# Run the rest inside a pair of throwaway servers, their env exported.
if [ -z "${TALLY_PG_PORT:-}" ]; then
	exec scripts/servers.sh run "$0" "$@"
fi

echo "== seeding legacy (MariaDB) and billing (PostgreSQL)"
MYSQL_PWD=$TALLY_MY_ADMIN_PASSWORD mariadb --no-defaults -h 127.0.0.1 -P "$TALLY_MY_PORT" \
	-u "$TALLY_MY_ADMIN_USER" -e 'CREATE DATABASE legacy CHARACTER SET utf8mb4'
MYSQL_PWD=$TALLY_MY_ADMIN_PASSWORD mariadb --no-defaults -h 127.0.0.1 -P "$TALLY_MY_PORT" \
	-u "$TALLY_MY_ADMIN_USER" -D legacy < specs/demo/legacy-mariadb.sql
PGPASSWORD=$TALLY_PG_ADMIN_PASSWORD "$TALLY_PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$TALLY_PG_PORT" \
	-U "$TALLY_PG_ADMIN_USER" -d postgres -c 'CREATE DATABASE billing'
PGPASSWORD=$TALLY_PG_ADMIN_PASSWORD "$TALLY_PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
	-p "$TALLY_PG_PORT" -U "$TALLY_PG_ADMIN_USER" -d billing -f specs/demo/billing-postgres.sql

echo "== tally check specs/demo.yaml"
status=0
build/tally check specs/demo.yaml --out tally-out/demo || status=$?
echo "(exit status $status: 0 consistent, 1 differences found, 2 trouble)"
[ $status -ne 2 ] || exit 2

echo
echo "== first differences (zstdcat tally-out/demo/latest/diff.ndjson.zst)"
# head stops reading early: zstdcat's SIGPIPE is not a failure (pipefail).
zstdcat tally-out/demo/latest/diff.ndjson.zst | head -n 8 || true
echo "..."
echo
echo "== per check, from tally-out/demo/latest/report.json"
python3 - <<'PY'
import json
r = json.load(open("tally-out/demo/latest/report.json"))
for c in r["checks"]:
    print(f'{c["name"]:16} {c["status"]:13} missing {c["missing"]:>3}  extra {c["extra"]:>3}  '
          f'changed {c["changed"]:>3}   ({c["source"]["table"]} -> {c["target"]["table"]})')
PY
echo
echo "== the change order for billing (tally-out/demo/latest/repair.billing.sql), its header and first step"
sed -n '1,/^-- end of tally header$/p' tally-out/demo/latest/repair.billing.sql
awk '/^-- check /{n++} n==1' tally-out/demo/latest/repair.billing.sql | head -n 12
echo "..."
echo "(review it, then apply it as its header says; rollback.billing.sql undoes it)"
echo
echo "== for the ticket: tally-out/demo/latest/change-order.md"
echo "(why, the rows that change per table, the script's xxh128, the command that applies it and"
echo " the line it prints on success, how to verify and how to roll back)"
echo
echo "== for a reviewer: tally-out/demo/latest/report.html"
echo "(open it in any browser: one self-contained page, the summary, where the differences sit,"
echo " the differing rows side by side, the schema findings and the script's header)"
# The seeded cut-over has differences: exit 1 is the expected outcome.
[ $status -eq 1 ]
