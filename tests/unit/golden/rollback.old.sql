-- tally rollback script for system 'old' (postgresql)
--
-- spec:       golden (golden.yaml)
-- reason:     Golden outputs (CO-1)
-- ticket:     INC-4711 | *urgent*
-- generated:  <time> by tally <version>
-- system:     postgresql://tally:***@db1/old
-- rows:       1 inserted, 2 updated, 1 deleted
--   check orders-back on public.orders: 1 inserted, 2 updated, 1 deleted
-- fires on the tables written:
--   public.orders: no triggers, no foreign keys from other tables
-- apply:      psql -X -v ON_ERROR_STOP=1 -h db1 -d old -U "${REPAIR_USER:?set it to a role allowed to write}" -f rollback.old.sql
-- safety:     one transaction. Every UPDATE and DELETE first checks that each row
--             still holds, in every column, the values tally read; every INSERT that
--             its key is still absent. On any mismatch the script stops with an error
--             naming the check and the key, and nothing is changed.
-- restores:   the rows the repair script changed, as tally read them; columns
--             the repair did not write are restored but not checked, because
--             triggers or ON UPDATE clauses may have changed them
-- body:       xxh128 3d3948dad1996624329ede327cff08bd
--             (check: cat rollback.old.sql | sed '1,/^-- end of tally header$/d' | xxhsum -H2)
-- end of tally header
\set ON_ERROR_STOP on
SET client_encoding = 'UTF8';
BEGIN;
SET LOCAL standard_conforming_strings = on;
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL TimeZone = 'UTC';
SET LOCAL IntervalStyle = 'iso_8601';

-- check orders-back: insert 1 row into public.orders
CREATE TEMP TABLE pg_temp."tally_6_a" ON COMMIT DROP AS SELECT "id", "status", "amount", "note" FROM "public"."orders" LIMIT 0;
INSERT INTO pg_temp."tally_6_a" VALUES
(3, 'open', 5, 'it''s');
DO $tally$
DECLARE
  n bigint;
  bad text;
BEGIN
  SELECT format('id=%L', s."id") INTO bad FROM pg_temp."tally_6_a" s WHERE EXISTS (SELECT 1 FROM "public"."orders" t WHERE t."id" = s."id") LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: a row of %s with key %s already exists; nothing was changed', 'orders-back', 'public.orders', bad), ERRCODE = 'P0001';
  END IF;
  INSERT INTO "public"."orders" ("id", "status", "amount", "note") SELECT s."id", s."status", s."amount", s."note" FROM pg_temp."tally_6_a" s;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: %s %s rows of %s, expected %s; nothing was changed', 'orders-back', 'inserted', n, 'public.orders', 1), ERRCODE = 'P0001';
  END IF;
END
$tally$;
DROP TABLE pg_temp."tally_6_a";

-- check orders-back: update 1 row of public.orders, setting status, amount, note
CREATE TEMP TABLE pg_temp."tally_5_a" ON COMMIT DROP AS SELECT "id", "status", "amount", "note" FROM "public"."orders" LIMIT 0;
CREATE TEMP TABLE pg_temp."tally_5_b" ON COMMIT DROP AS SELECT "id", "status" FROM "public"."orders" LIMIT 0;
INSERT INTO pg_temp."tally_5_a" VALUES
(2, 'paid', 20, 'x');
INSERT INTO pg_temp."tally_5_b" VALUES
(2, 'PAID');
DO $tally$
DECLARE
  n bigint;
  bad text;
BEGIN
  PERFORM 1 FROM "public"."orders" t JOIN pg_temp."tally_5_b" o ON t."id" = o."id" FOR UPDATE OF t;
  SELECT format('id=%L', o."id") INTO bad FROM pg_temp."tally_5_b" o
   WHERE NOT EXISTS (SELECT 1 FROM "public"."orders" t WHERE t."id" = o."id" AND t."id" IS NOT DISTINCT FROM o."id" AND t."status" COLLATE "C" IS NOT DISTINCT FROM o."status" COLLATE "C") LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: the row of %s with key %s no longer holds the values tally read; nothing was changed', 'orders-back', 'public.orders', bad), ERRCODE = 'P0001';
  END IF;
  UPDATE "public"."orders" t SET "status" = s."status", "amount" = s."amount", "note" = s."note" FROM pg_temp."tally_5_a" s WHERE t."id" = s."id";
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: %s %s rows of %s, expected %s; nothing was changed', 'orders-back', 'updated', n, 'public.orders', 1), ERRCODE = 'P0001';
  END IF;
END
$tally$;
DROP TABLE pg_temp."tally_5_a";
DROP TABLE pg_temp."tally_5_b";

-- check orders-back: update 1 row of public.orders, setting status, amount, note
CREATE TEMP TABLE pg_temp."tally_8_a" ON COMMIT DROP AS SELECT "id", "status", "amount", "note" FROM "public"."orders" LIMIT 0;
CREATE TEMP TABLE pg_temp."tally_8_b" ON COMMIT DROP AS SELECT "id", "amount" FROM "public"."orders" LIMIT 0;
INSERT INTO pg_temp."tally_8_a" VALUES
(5, 'void', 0, 'café "quoted"\');
INSERT INTO pg_temp."tally_8_b" VALUES
(5, 0.1);
DO $tally$
DECLARE
  n bigint;
  bad text;
BEGIN
  PERFORM 1 FROM "public"."orders" t JOIN pg_temp."tally_8_b" o ON t."id" = o."id" FOR UPDATE OF t;
  SELECT format('id=%L', o."id") INTO bad FROM pg_temp."tally_8_b" o
   WHERE NOT EXISTS (SELECT 1 FROM "public"."orders" t WHERE t."id" = o."id" AND t."id" IS NOT DISTINCT FROM o."id" AND t."amount" IS NOT DISTINCT FROM o."amount") LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: the row of %s with key %s no longer holds the values tally read; nothing was changed', 'orders-back', 'public.orders', bad), ERRCODE = 'P0001';
  END IF;
  UPDATE "public"."orders" t SET "status" = s."status", "amount" = s."amount", "note" = s."note" FROM pg_temp."tally_8_a" s WHERE t."id" = s."id";
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: %s %s rows of %s, expected %s; nothing was changed', 'orders-back', 'updated', n, 'public.orders', 1), ERRCODE = 'P0001';
  END IF;
END
$tally$;
DROP TABLE pg_temp."tally_8_a";
DROP TABLE pg_temp."tally_8_b";

-- check orders-back: delete 1 row from public.orders
CREATE TEMP TABLE pg_temp."tally_7_b" ON COMMIT DROP AS SELECT "id", "status", "amount", "note" FROM "public"."orders" LIMIT 0;
INSERT INTO pg_temp."tally_7_b" VALUES
(4, 'open', 1, NULL);
DO $tally$
DECLARE
  n bigint;
  bad text;
BEGIN
  PERFORM 1 FROM "public"."orders" t JOIN pg_temp."tally_7_b" o ON t."id" = o."id" FOR UPDATE OF t;
  SELECT format('id=%L', o."id") INTO bad FROM pg_temp."tally_7_b" o
   WHERE NOT EXISTS (SELECT 1 FROM "public"."orders" t WHERE t."id" = o."id" AND t."id" IS NOT DISTINCT FROM o."id" AND t."status" COLLATE "C" IS NOT DISTINCT FROM o."status" COLLATE "C" AND t."amount" IS NOT DISTINCT FROM o."amount" AND t."note" COLLATE "C" IS NOT DISTINCT FROM o."note" COLLATE "C") LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: the row of %s with key %s no longer holds the values tally read; nothing was changed', 'orders-back', 'public.orders', bad), ERRCODE = 'P0001';
  END IF;
  DELETE FROM "public"."orders" t USING pg_temp."tally_7_b" o WHERE t."id" = o."id";
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    RAISE EXCEPTION USING MESSAGE = format('tally: check %s: %s %s rows of %s, expected %s; nothing was changed', 'orders-back', 'deleted', n, 'public.orders', 1), ERRCODE = 'P0001';
  END IF;
END
$tally$;
DROP TABLE pg_temp."tally_7_b";

COMMIT;
\echo 'tally: rollback rollback.old.sql applied: 4 rows (1 inserted, 2 updated, 1 deleted)'
