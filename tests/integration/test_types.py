#!/usr/bin/env python3
"""
tests/integration/test_types.py
  The type matrix on the real servers, one test case per cell: a column of
  one type on one engine against a column of another type on the same or
  the other engine.

  A comparable cell is a pair of tables (id, v) holding a pair of equal
  values (row 1), a pair of different values (row 2) and NULL on both
  sides (row 3). Two checks per cell run in one tally run: "<cell>" must
  find exactly key 2 changed, in column v, compared as the class the
  README's table gives; "<cell>-eq" (without row 2) must be consistent.
  Then the repair scripts are applied with the real clients and a second
  run must find every cell consistent: the literals tally writes for each
  type are exact.

  A refused cell must stop tally before any row is read, with exit 2 and
  a message naming both types.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import TallyCase  # noqa: E402

SRC_DB = "tally_it_types_src"
TGT_DB = "tally_it_types_tgt"

UUID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
UUID2 = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"

# (cell, source engine, source column, target engine, target column,
#  (equal source value, equal target value), (different source, different target),
#  class the report must name). Values are SQL literals of their engine.
CELLS = [
    # integers of every width and signedness
    ("my_int__pg_int", "my", "INT", "pg", "integer", ("5", "5"), ("6", "7"), "number"),
    ("my_tinyint__pg_smallint", "my", "TINYINT", "pg", "smallint", ("-128", "-128"), ("1", "-1"), "number"),
    ("my_ubigint__pg_numeric", "my", "BIGINT UNSIGNED", "pg", "numeric(20,0)",
     ("18446744073709551615", "18446744073709551615"), ("18446744073709551614", "18446744073709551615"),
     "number"),
    ("my_ubigint__pg_bigint", "my", "BIGINT UNSIGNED", "pg", "bigint",
     ("9223372036854775807", "9223372036854775807"), ("5", "6"), "number"),
    ("pg_bigint__my_mediumint", "pg", "bigint", "my", "MEDIUMINT", ("-8388608", "-8388608"), ("1", "2"),
     "number"),
    ("my_uint__pg_bigint", "my", "INT UNSIGNED", "pg", "bigint", ("4294967295", "4294967295"), ("0", "1"),
     "number"),
    ("pg_int__pg_bigint", "pg", "integer", "pg", "bigint", ("-2147483648", "-2147483648"), ("3", "4"), "number"),
    ("my_smallint__my_bigint", "my", "SMALLINT", "my", "BIGINT", ("-32768", "-32768"), ("3", "4"), "number"),
    ("my_year__pg_smallint", "my", "YEAR", "pg", "smallint", ("2024", "2024"), ("1999", "2000"), "number"),
    # decimals of different precision and scale
    ("my_dec12_2__pg_num14_4", "my", "DECIMAL(12,2)", "pg", "numeric(14,4)", ("871.09", "871.0900"),
     ("1.50", "1.5100"), "number"),
    ("pg_num__my_dec30_10", "pg", "numeric", "my", "DECIMAL(30,10)",
     ("12345678901234567890.0123456789", "12345678901234567890.0123456789"), ("0.5", "0.4999999999"),
     "number"),
    ("pg_num__pg_num5_2", "pg", "numeric", "pg", "numeric(5,2)", ("1.5", "1.50"), ("-0.01", "0.01"), "number"),
    ("my_dec__pg_int", "my", "DECIMAL(10,0)", "pg", "integer", ("42", "42"), ("42", "43"), "number"),
    # floating point
    ("my_float__pg_real", "my", "FLOAT", "pg", "real", ("0.1234567", "0.1234567"), ("0.5", "0.25"), "float32"),
    ("my_double__pg_double", "my", "DOUBLE", "pg", "double precision", ("0.1", "0.1"),
     ("1e300", "1.0000000000000002e300"), "float64"),
    ("my_float__pg_double", "my", "FLOAT", "pg", "double precision", ("0.1", "0.1"), ("0.5", "0.75"),
     "float32"),
    ("pg_real__pg_double", "pg", "real", "pg", "double precision", ("1.5", "1.5"), ("1.5", "1.25"), "float32"),
    ("pg_double__my_double", "pg", "double precision", "my", "DOUBLE", ("-0", "0"),
     ("1.7976931348623157e308", "-1.7976931348623157e308"), "float64"),
    # text: char(n) padding, collations, charsets, trailing spaces, empty strings
    ("pg_char5__my_char5", "pg", "char(5)", "my", "CHAR(5)", ("'ab'", "'ab'"), ("'ab'", "'abc'"), "text"),
    ("pg_char5__pg_varchar", "pg", "char(5)", "pg", "varchar(5)", ("'ab'", "'ab'"), ("'ab'", "'ab '"), "text"),
    ("my_varchar__pg_text", "my", "VARCHAR(40)", "pg", "text", ("'Ünïcødé 🎉'", "'Ünïcødé 🎉'"),
     ("'a'", "'A'"), "text"),
    ("my_varchar_ci__pg_text_icu", "my", "VARCHAR(40) COLLATE utf8mb4_general_ci", "pg",
     'text COLLATE "und-x-icu"', ("'abc'", "'abc'"), ("'abc'", "'ABC'"), "text"),
    ("my_latin1__pg_text", "my", "VARCHAR(20) CHARACTER SET latin1", "pg", "text", ("'café'", "'café'"),
     ("'é'", "'e'"), "text"),
    ("my_text__pg_varchar", "my", "TEXT", "pg", "varchar(10)", ("'a '", "'a '"), ("'a '", "'a'"), "text"),
    ("pg_text__my_longtext", "pg", "text", "my", "LONGTEXT", ("''", "''"), ("''", "'x'"), "text"),
    ("my_varchar_bin__my_varchar_ci", "my", "VARCHAR(10) COLLATE utf8mb4_bin", "my",
     "VARCHAR(10) COLLATE utf8mb4_general_ci", ("'x'", "'x'"), ("'x'", "'X'"), "text"),
    # enum and set
    ("my_enum__pg_enum", "my", "ENUM('open','closed')", "pg", "tally_state", ("'closed'", "'closed'"),
     ("'open'", "'closed'"), "text"),
    ("my_enum__pg_text", "my", "ENUM('open','closed')", "pg", "text", ("'open'", "'open'"),
     ("'open'", "'Open'"), "text"),
    ("my_set__pg_text", "my", "SET('a','b','c')", "pg", "text", ("'c,a'", "'a,c'"), ("'a'", "'a,c'"), "text"),
    ("pg_enum__my_varchar", "pg", "tally_state", "my", "VARCHAR(10)", ("'open'", "'open'"),
     ("'closed'", "'open'"), "text"),
    # booleans
    ("pg_bool__my_tinyint1", "pg", "boolean", "my", "TINYINT(1)", ("true", "1"), ("true", "0"), "boolean"),
    ("pg_bool__my_bit1", "pg", "boolean", "my", "BIT(1)", ("true", "b'1'"), ("false", "b'1'"), "boolean"),
    ("pg_bool__pg_int", "pg", "boolean", "pg", "integer", ("false", "0"), ("false", "2"), "boolean"),
    # bit strings
    ("pg_bit5__my_bit5", "pg", "bit(5)", "my", "BIT(5)", ("B'00101'", "b'00101'"), ("B'00101'", "b'00111'"),
     "bits"),
    ("pg_varbit__my_bit3", "pg", "varbit(8)", "my", "BIT(3)", ("B'101'", "b'101'"), ("B'011'", "b'111'"),
     "bits"),
    ("my_bit10__my_bit10", "my", "BIT(10)", "my", "BIT(10)", ("b'1000000001'", "b'1000000001'"),
     ("b'1'", "b'10'"), "bits"),
    ("pg_bit3__pg_bit3", "pg", "bit(3)", "pg", "bit(3)", ("B'110'", "B'110'"), ("B'110'", "B'011'"), "bits"),
    # binary
    ("pg_bytea__my_blob", "pg", "bytea", "my", "BLOB", ("'\\x00ff'", "X'00FF'"), ("'\\x00'", "X'0000'"),
     "binary"),
    ("my_varbinary__pg_bytea", "my", "VARBINARY(10)", "pg", "bytea", ("X'DEADBEEF'", "'\\xdeadbeef'"),
     ("X''", "'\\x00'"), "binary"),
    ("my_binary4__pg_bytea", "my", "BINARY(4)", "pg", "bytea", ("X'0102'", "'\\x01020000'"),
     ("X'01'", "'\\x01'"), "binary"),
    # uuids
    ("pg_uuid__my_uuid", "pg", "uuid", "my", "UUID", (f"'{UUID}'", f"'{UUID}'"), (f"'{UUID}'", f"'{UUID2}'"),
     "uuid"),
    ("pg_uuid__my_char36", "pg", "uuid", "my", "CHAR(36)", (f"'{UUID}'", f"'{UUID.upper()}'"),
     (f"'{UUID}'", f"'{UUID2}'"), "uuid"),
    ("pg_uuid__my_binary16", "pg", "uuid", "my", "BINARY(16)", (f"'{UUID}'", f"UNHEX('{UUID.replace('-', '')}')"),
     (f"'{UUID}'", f"UNHEX('{UUID2.replace('-', '')}')"), "uuid"),
    ("my_uuid__pg_text", "my", "UUID", "pg", "text", (f"'{UUID}'", f"'{UUID}'"), (f"'{UUID}'", f"'{UUID2}'"),
     "uuid"),
    ("my_char36__pg_uuid", "my", "CHAR(36)", "pg", "uuid", (f"'{UUID.upper()}'", f"'{UUID}'"),
     (f"'{UUID2}'", f"'{UUID}'"), "uuid"),
    # dates and times, precision 0 to 6
    ("my_date__pg_date", "my", "DATE", "pg", "date", ("'2024-02-29'", "'2024-02-29'"),
     ("'2024-02-29'", "'2024-03-01'"), "date"),
    ("my_time6__pg_time", "my", "TIME(6)", "pg", "time", ("'12:34:56.789012'", "'12:34:56.789012'"),
     ("'00:00:00'", "'00:00:00.000001'"), "time"),
    ("my_datetime0__pg_ts0", "my", "DATETIME", "pg", "timestamp(0)", ("'2024-01-02 03:04:05'",
     "'2024-01-02 03:04:05'"), ("'2024-01-02 03:04:05'", "'2024-01-02 03:04:06'"), "timestamp"),
    ("my_datetime6__pg_ts6", "my", "DATETIME(6)", "pg", "timestamp(6)", ("'2024-01-02 03:04:05.000001'",
     "'2024-01-02 03:04:05.000001'"), ("'2024-01-02 03:04:05.000001'", "'2024-01-02 03:04:05'"), "timestamp"),
    ("my_datetime3__pg_ts6", "my", "DATETIME(3)", "pg", "timestamp(6)", ("'2024-01-02 03:04:05.120'",
     "'2024-01-02 03:04:05.12'"), ("'2024-01-02 03:04:05.123'", "'2024-01-02 03:04:05.1234'"), "timestamp"),
    ("my_timestamp__pg_tstz", "my", "TIMESTAMP(6) NULL", "pg", "timestamptz",
     ("'2024-06-01 12:00:00.5'", "'2024-06-01 14:00:00.5+02'"), ("'2024-06-01 12:00:00'",
                                                                 "'2024-06-01 12:00:00+02'"), "timestamptz"),
    ("pg_tstz__pg_tstz", "pg", "timestamptz", "pg", "timestamptz", ("'2024-06-01 12:00:00+00'",
     "'2024-06-01 08:00:00-04'"), ("'infinity'", "'-infinity'"), "timestamptz"),
    ("my_zerodate__my_date", "my", "DATE", "my", "DATE", ("'0000-00-00'", "'0000-00-00'"),
     ("'0000-00-00'", "'2024-01-01'"), "date"),
    # a date is its day at 00:00:00 against a timestamp, both ways (issue 11)
    ("my_datetime__pg_date", "my", "DATETIME", "pg", "date", ("'2024-01-02 00:00:00'", "'2024-01-02'"),
     ("'2024-01-02 00:00:00'", "'2024-01-03'"), "timestamp"),
    ("pg_date__my_datetime", "pg", "date", "my", "DATETIME(3)", ("'2024-02-29'", "'2024-02-29 00:00:00'"),
     ("'2024-02-29'", "'2024-02-29 00:00:00.001'"), "timestamp"),
    # JSON by meaning
    ("pg_jsonb__my_json", "pg", "jsonb", "my", "JSON", ("'{\"a\": 1, \"b\": [1, 2]}'", "'{\"b\":[1,2.0],\"a\":1}'"),
     ("'{\"a\": 1}'", "'{\"a\": 2}'"), "json"),
    ("pg_json__pg_jsonb", "pg", "json", "pg", "jsonb", ("'{\"b\": \"\\u00e9\", \"a\": null}'",
     "'{\"a\": null, \"b\": \"é\"}'"), ("'[1, 2]'", "'[2, 1]'"), "json"),
    ("my_json__my_json", "my", "JSON", "my", "JSON", ("'{\"x\": {\"b\": 1, \"a\": 2}}'", "'{\"x\":{\"a\":2,\"b\":1}}'"),
     ("'\"1\"'", "'1'"), "json"),
    # addresses
    ("pg_inet__my_inet6", "pg", "inet", "my", "INET6", ("'2001:db8::1'", "'2001:DB8:0:0::1'"),
     ("'::1'", "'::2'"), "inet"),
    ("pg_inet__my_inet4", "pg", "inet", "my", "INET4", ("'10.0.0.1'", "'10.0.0.1'"), ("'10.0.0.1'", "'10.0.0.2'"),
     "inet"),
    ("pg_cidr__pg_inet", "pg", "cidr", "pg", "inet", ("'10.0.0.0/8'", "'10.0.0.0/8'"), ("'10.0.0.0/8'", "'10.0.0.0/16'"),
     "inet"),
    ("pg_inet__my_varchar", "pg", "inet", "my", "VARCHAR(45)", ("'192.168.0.1'", "'192.168.0.1'"),
     ("'192.168.0.1'", "'192.168.0.10'"), "inet"),
    # one engine, types without a cross-engine class: the server's exact text
    ("pg_interval__pg_interval", "pg", "interval", "pg", "interval", ("'1 day 02:00:00'", "'1 day 02:00'"),
     ("'1 day'", "'1 day 00:00:01'"), "text"),
    ("pg_intarray__pg_intarray", "pg", "integer[]", "pg", "integer[]", ("'{1,2,3}'", "'{1,2,3}'"),
     ("'{1,2}'", "'{2,1}'"), "text"),
    # generated columns compare by value; a repair writes the plain side only
    ("my_generated__pg_int", "my", "INT AS (NULLIF(id * 2, 6)) STORED", "pg", "integer", (None, "2"),
     (None, "5"), "number"),
]

# (cell, source engine, source column, target engine, target column, words the error must hold)
REFUSED = [
    ("pg_interval__my_time", "pg", "interval", "my", "TIME", ["interval in source (interval)",
                                                             "time in target (time)"]),
    ("pg_intarray__my_json", "pg", "integer[]", "my", "JSON", ["array in source (integer[])",
                                                              "json in target (longtext)", "as: json"]),
    ("pg_jsonb__my_text", "pg", "jsonb", "my", "TEXT", ["json in source (jsonb)", "text in target (text)",
                                                       "as: json"]),
    ("pg_ts__my_timestamp", "pg", "timestamp", "my", "TIMESTAMP NULL",
     ["timestamp in source (timestamp without time zone)", "timestamptz in target (timestamp)",
      "the column option `timezone: Europe/Berlin`", "(systems.NAME.timezone)"]),
    ("pg_double__my_decimal", "pg", "double precision", "my", "DECIMAL(10,2)",
     ["float in source (double precision)", "decimal in target (decimal(10,2))", "`scale: N`"]),
    ("pg_bit5__my_bit8", "pg", "bit(5)", "my", "BIT(8)", ["bit in source (bit(5))", "bit in target (bit(8))",
                                                        "5 and 8 bits"]),
    ("pg_bytea__pg_uuid", "pg", "bytea", "pg", "uuid", ["binary in source (bytea)", "uuid in target (uuid)",
                                                       "as: uuid"]),
    ("my_int__pg_text", "my", "INT", "pg", "text", ["integer in source (int(11))", "text in target (text)",
                                                   "map:"]),
    ("pg_inet__my_int", "pg", "inet", "my", "INT UNSIGNED", ["inet in source (inet)",
                                                            "integer in target (int(10) unsigned)"]),
    ("pg_intarray__pg_textarray", "pg", "integer[]", "pg", "text[]", ["array in source (integer[])",
                                                                      "array in target (text[])"]),
    ("my_date__pg_tstz", "my", "DATE", "pg", "timestamptz", ["date in source (date)",
                                                           "timestamptz in target (timestamp with time zone)"]),
]

# Keys that cannot identify rows, refused as keys.
REFUSED_KEYS = [
    ("key_float", "pg", "double precision", "my", "DOUBLE", ["key column cannot be compared",
                                                             "not exact enough to identify rows"]),
    ("key_json", "pg", "jsonb", "my", "JSON", ["key column cannot be compared", "do not identify rows"]),
]


# A repair that would lose information is refused, not written: (cell, source engine, source column,
# target engine, target column, source value, target value, column entry options, words of the reason).
LOSSY = [
    ("lossy_ubigint", "my", "BIGINT UNSIGNED", "pg", "bigint", "18446744073709551615", "1", "",
     "out of range"),
    ("lossy_scale", "pg", "numeric(12,4)", "my", "DECIMAL(10,2)", "1.2390", "1.30", ", scale: 1",
     "scale"),
    ("lossy_zero_date", "my", "DATE", "pg", "date", "'0000-00-00'", "'2024-01-01'", "",
     "a MariaDB zero date cannot be stored in PostgreSQL"),
    ("lossy_fraction", "pg", "timestamp(6)", "my", "DATETIME(3)", "'2024-01-02 03:04:05.123456'",
     "'2024-01-02 03:04:06'", ", precision: 0", "fractional"),
    ("lossy_time_range", "my", "TIME(6)", "pg", "time", "'25:00:00'", "'01:00:00'", "",
     "a time outside 00:00:00 to 24:00:00 cannot be stored"),
    ("lossy_datetime6_ts3", "my", "DATETIME(6)", "pg", "timestamp(3)", "'2024-01-01 00:00:00.123456'",
     "'2024-01-01 00:00:00.123'", "", "more than 3 fractional digits"),
    ("lossy_datetime_date", "my", "DATETIME", "pg", "date", "'2024-01-02 03:04:05'", "'2024-01-02'", "",
     "the timestamp has a time of day, which a date column would lose"),
    ("lossy_tinyint_bool", "my", "TINYINT(1)", "pg", "boolean", "2", "true", "",
     "only 0 and 1 can be stored as a boolean"),
    ("lossy_text_length", "my", "TEXT", "pg", "varchar(3)", "'abcd'", "'abc'", "",
     "text longer than 3 characters cannot be stored"),
    ("lossy_latin1", "pg", "text", "my", "VARCHAR(10) CHARACTER SET latin1", "'\u0133'", "'y'", "",
     "character set cannot hold"),
    # a double beyond single precision's range is not the real's infinity: changed, and unwritable
    ("lossy_double_real_range", "my", "DOUBLE", "pg", "real", "3.4e39", "'Infinity'", "", "out of range"),
    ("lossy_prefix_inet6", "pg", "inet", "my", "INET6", "'10.0.0.0/8'", "'10.0.0.0'", "",
     "an address with a prefix length cannot be stored"),
]


def ddl(engine, table, coldef, key_type=None):
    kt = key_type or ("integer" if engine == "pg" else "INT")
    if engine == "pg":
        return f'CREATE TABLE "{table}" (id {kt} PRIMARY KEY, v {coldef});\n'
    return f"CREATE TABLE `{table}` (id {kt} PRIMARY KEY, v {coldef});\n"


def rows(engine, table, eq, diff):
    q = (lambda t: f'"{t}"') if engine == "pg" else (lambda t: f"`{t}`")
    out = f"INSERT INTO {q(table)} (id, v) VALUES (1, {eq}), (3, NULL);\n"
    if diff is not None:
        out += f"INSERT INTO {q(table)} (id, v) VALUES (2, {diff});\n"
    else:
        out += f"INSERT INTO {q(table)} (id) VALUES (2);\n"
    return out


def generated(coldef):
    return " AS (" in coldef


class Servers:
    pg = my = None

    @classmethod
    def get(cls):
        if cls.pg is None:
            cls.pg, cls.my = harness.PG(), harness.MY()
        return cls.pg, cls.my


def seed():
    pg, my = Servers.get()
    sql = {("pg", SRC_DB): "", ("pg", TGT_DB): "", ("my", SRC_DB): "", ("my", TGT_DB): ""}
    for db in (SRC_DB, TGT_DB):
        pg.create_db(db)
        my.create_db(db)
        sql[("pg", db)] += "CREATE TYPE tally_state AS ENUM ('open', 'closed');\n"
        # Zero dates are a MariaDB session's choice: allow them for the seed;
        # TIMESTAMP literals are read in the session's zone: UTC.
        sql[("my", db)] += "SET SESSION sql_mode = ''; SET time_zone = '+00:00';\n"
    for cell, se, st, te, tt, eq, diff, _ in CELLS:
        for side, engine, db, coldef, i in (("s", se, SRC_DB, st, 0), ("t", te, TGT_DB, tt, 1)):
            sql[(engine, db)] += ddl(engine, cell, coldef)
            if generated(coldef):
                q = f'"{cell}"' if engine == "pg" else f"`{cell}`"
                sql[(engine, db)] += f"INSERT INTO {q} (id) VALUES (1), (2), (3);\n"
                continue
            sql[(engine, db)] += rows(engine, cell, eq[i], diff[i])
    for cell, se, st, te, tt, _ in REFUSED + REFUSED_KEYS:
        col = "k" if cell.startswith("key_") else "v"
        for engine, db, coldef in ((se, SRC_DB, st), (te, TGT_DB, tt)):
            q = f'"{cell}"' if engine == "pg" else f"`{cell}`"
            sql[(engine, db)] += f"CREATE TABLE {q} (id {'integer' if engine == 'pg' else 'INT'} PRIMARY KEY, " \
                                 f"{col} {coldef});\n"
    for cell, se, st, te, tt, sv, tv, _, _ in LOSSY:
        for engine, db, coldef, v in ((se, SRC_DB, st, sv), (te, TGT_DB, tt, tv)):
            q = f'"{cell}"' if engine == "pg" else f"`{cell}`"
            sql[(engine, db)] += (f"CREATE TABLE {q} (id {'integer' if engine == 'pg' else 'INT'} PRIMARY KEY, "
                                  f"v {coldef});\nINSERT INTO {q} VALUES (1, {v});\n")
    for (engine, db), text in sql.items():
        if engine == "pg":
            pg.psql(db, text)
        else:
            my.sql(db, text)


def system(engine, db):
    pg, my = Servers.get()
    if engine == "pg":
        return f'{{ driver: postgres, dsn: "{pg.dsn_env(db)}" }}'
    return f'{{ driver: mariadb, dsn: "{my.dsn_env(db)}" }}'


def spec_head():
    return ("version: 1\nname: it-types\nsystems:\n"
            f"  pg_src: {system('pg', SRC_DB)}\n  pg_tgt: {system('pg', TGT_DB)}\n"
            f"  my_src: {system('my', SRC_DB)}\n  my_tgt: {system('my', TGT_DB)}\nchecks:\n")


def check(name, cell, se, te, extra="", where=None):
    w = f', where: "{where}"' if where else ""
    return (f"  - name: {name}\n"
            f"    source: {{ system: {se}_src, table: {cell}{w} }}\n"
            f"    target: {{ system: {te}_tgt, table: {cell}{w} }}\n{extra}")


def matrix_spec():
    text = spec_head()
    for cell, se, _, te, _, _, _, _ in CELLS:
        name = cell.replace("__", "-").replace("_", "-")
        text += check(name, cell, se, te)
        text += check(name + "-eq", cell, se, te, extra="    repair: none\n", where="id <> 2")
    return text


def check_name(cell):
    return cell.replace("__", "-").replace("_", "-")


def apply(engine, db, path):
    pg, my = Servers.get()
    if engine == "pg":
        p = pg.run_file(db, path)
        return p.returncode, p.stderr
    p = my.run_file(db, path)
    return p.returncode, p.stderr.decode()


class Matrix(TallyCase):
    first = None        # the run before repair
    second = None       # the run after the repair scripts were applied
    repair_errors = None

    @classmethod
    def setUpClass(cls):
        seed()
        case = TallyCase()
        case.setUp()
        cls.case = case
        cls.first = case.tally(matrix_spec(), outdir=os.path.join(case.tmp, "first"))
        cls.repair_errors = []
        for engine in ("pg", "my"):
            path = os.path.join(cls.first.outdir, f"repair.{engine}_tgt.sql")
            if os.path.exists(path):
                rc, err = apply(engine, TGT_DB, path)
                if rc != 0:
                    cls.repair_errors.append(f"{engine}: {err}")
            else:
                cls.repair_errors.append(f"{engine}: no repair script")
        cls.second = case.tally(matrix_spec(), outdir=os.path.join(case.tmp, "second"))

    @classmethod
    def tearDownClass(cls):
        cls.case.tearDown()
        pg, my = Servers.get()
        for db in (SRC_DB, TGT_DB):
            pg.drop_db(db)
            my.drop_db(db)

    def test_first_run_finds_differences(self):
        self.assertEqual(self.first.code, 1, self.first.stderr)
        self.assertEqual(self.first.report["status"], "inconsistent")

    def test_readme_matrix_is_this_list(self):
        text = open(os.path.join(harness.REPO, "README.md")).read()
        table = text.split("<!-- type matrix:", 1)[1].split("\n\n", 1)[0]
        engines = {"MariaDB": "my", "PostgreSQL": "pg"}
        rows = []
        for line in table.splitlines()[3:]:
            src, tgt, cls = [c.strip() for c in line.strip("|").split(" | ")]
            se, st = src.split(" ", 1)
            te, tt = tgt.split(" ", 1)
            rows.append((engines[se], st.strip("`"), engines[te], tt.strip("`"), cls.split(":")[0]))
        want = [(c[1], c[2], c[3], c[4], c[7]) for c in CELLS]
        want += [(c[1], c[2], c[3], c[4], "refused as key" if c[0].startswith("key_") else "refused")
                 for c in REFUSED + REFUSED_KEYS]
        self.assertEqual(rows, want)

    def test_repair_scripts_apply_and_make_every_cell_equal(self):
        self.assertEqual(self.repair_errors, [])
        self.assertEqual(self.second.code, 0, self.second.stdout + self.second.stderr)


    def test_generated_target_column_is_counted_not_written(self):
        # PostgreSQL computes v: a row that differs only there gets no statement, and says so
        pg, my = Servers.get()
        my.sql(SRC_DB, "CREATE TABLE gen_t (id INT PRIMARY KEY, v INT, w INT);"
                       "INSERT INTO gen_t VALUES (1, 2, 1), (2, 5, 2), (3, 6, 9);")
        pg.psql(TGT_DB, "CREATE TABLE gen_t (id integer PRIMARY KEY, "
                        "v integer GENERATED ALWAYS AS (id * 2) STORED, w integer);"
                        "INSERT INTO gen_t (id, w) VALUES (1, 1), (2, 2), (3, 3);")
        spec = spec_head() + check("gen", "gen_t", "my", "pg")
        r = self.tally(spec, outdir=os.path.join(self.tmp, "gen1"))
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check("gen")
        self.assertEqual((c["changed"], c["repair"]["statements"]["update"], c["repair"]["generated_only"]),
                         (2, 1, 1))
        self.assertIn("note:     check 'gen': 1 changed row differs only in generated columns, "
                      "which a repair cannot set", r.stdout)
        script = open(os.path.join(r.outdir, "repair.pg_tgt.sql")).read()
        self.assertIn("--   check gen on public.gen_t: 0 inserted, 1 updated, 0 deleted; 1 changed only in "
                      "generated columns, which a repair cannot set", script)
        rc, err = apply("pg", TGT_DB, os.path.join(r.outdir, "repair.pg_tgt.sql"))
        self.assertEqual(rc, 0, err)
        again = self.tally(spec, outdir=os.path.join(self.tmp, "gen2"))
        self.assertEqual(again.check("gen")["changed"], 1)
        self.assertEqual(again.keys("gen", "changed"), [2])
        self.assertEqual(list(again.changed_columns("gen").values()), [["v"]])
        self.assertEqual(again.check("gen")["repair"]["none"],
                         "the rows differ only in generated columns, which a repair cannot set")

    def test_one_reason_per_system_without_a_script(self):
        # two checks that repair pg_tgt, both refused: one line for the system, naming the first
        spec = spec_head() + check("lossy-ubigint", "lossy_ubigint", "my", "pg") + \
            check("lossy-zero-date", "lossy_zero_date", "my", "pg")
        r = self.tally(spec)
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("repair:")]
        self.assertEqual(len(lines), 1, r.stdout)
        self.assertTrue(lines[0].startswith("repair:   none for system 'pg_tgt': check 'lossy-ubigint': "),
                        lines[0])
        self.assertTrue(r.check("lossy-zero-date")["repair"]["failed"])


def make_cell_test(cell, cls_name):
    def test(self):
        r = self.first
        self.assertIsNotNone(r.report, r.stderr)
        c = r.check(check_name(cell))
        self.assertEqual((c["missing"], c["extra"], c["changed"]), (0, 0, 1), c)
        self.assertEqual(r.keys(check_name(cell), "changed"), [2])
        self.assertEqual(list(r.changed_columns(check_name(cell)).values()), [["v"]])
        self.assertEqual([col["compared_as"] for col in c["columns"]], [cls_name])
        eq = r.check(check_name(cell) + "-eq")
        self.assertEqual(eq["status"], "consistent", eq)
        self.assertEqual((eq["source"]["rows"], eq["target"]["rows"]), (2, 2))
    return test


def make_refused_test(cell, se, te, words):
    def test(self):
        spec = spec_head() + check(check_name(cell), cell, se, te) + (
            "    key: [k]\n" if cell.startswith("key_") else "")
        r = self.tally(spec)
        self.assertEqual(r.code, 2, r.stdout + r.stderr)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertEqual(r.report["status"], "error")
        self.assertFalse(r.diff_exists)
    return test


def make_lossy_test(cell, se, te, opts, words):
    def test(self):
        spec = spec_head() + check(check_name(cell), cell, se, te) + (
            f"    columns:\n      - {{ name: v{opts} }}\n" if opts else "")
        r = self.tally(spec)
        self.assertEqual(r.code, 1, r.stdout + r.stderr)
        c = r.check(check_name(cell))
        self.assertEqual(c["changed"], 1)
        self.assertTrue(c["repair"]["failed"], c["repair"])
        self.assertIn("column 'v'", c["repair"]["none"])
        self.assertIn(words, c["repair"]["none"])
        self.assertIn(f"repair:   none for system '{te}_tgt'", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(r.outdir, f"repair.{te}_tgt.sql")))
    return test


for _cell, _se, _st, _te, _tt, _sv, _tv, _opts, _words in LOSSY:
    setattr(Matrix, f"test_{_cell}_is_refused_not_written", make_lossy_test(_cell, _se, _te, _opts, _words))

for _cell, *_rest in CELLS:
    setattr(Matrix, f"test_cell_{_cell}", make_cell_test(_cell, _rest[-1]))
for _cell, _se, _st, _te, _tt, _words in REFUSED + REFUSED_KEYS:
    setattr(Matrix, f"test_refused_{_cell}", make_refused_test(_cell, _se, _te, _words))


if __name__ == "__main__":
    harness.main()
