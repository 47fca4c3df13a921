"""
tests/integration/scenario.py
  Seeded tables with a known set of differences, for both engines: rows
  are generated deterministically, written as SQL for PostgreSQL or
  MariaDB, and the differences injected on the target side are listed so
  tests can assert exactly what tally must find.
"""
from decimal import Decimal

N_ORDERS = 3000

CUSTOMERS = ["ACME", "acme", "Zoë", "Ünal", "O'Brien", "tab\there", "back\\slash",
             "emoji 😀", "semi;colon", "dollar $$ quote", "new\nline", "  padded  "]


def order_row(i):
    amount = (Decimal(i) * Decimal("1.5")).quantize(Decimal("0.01"))
    return {
        "id": i,
        "customer": CUSTOMERS[i % len(CUSTOMERS)],
        "amount": amount,
        "status": ["paid", "open", "shipped", "void"][i % 4],
        "created_at": "2024-%02d-%02d %02d:%02d:%02d.%06d" % (
            1 + i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60, (i * 7919) % 1000000),
        "paid": i % 3 == 0,
        "note": None if i % 10 == 0 else "" if i % 10 == 1 else
                f"note {i}" + (" " if i % 10 == 2 else ""),
        "ref": f"{i:08x}-0000-4000-8000-{i * 31:012x}",
        "payload": bytes([i % 256, 0, 0x5C, 0x27, (i * 13) % 256]),
    }


# What the target holds instead of the source (tests assert exactly these).
ORDERS_MISSING = [17, 1500, 2999]          # lost in the migration
ORDERS_EXTRA = [3001, 3002]                # should have been deleted / never existed
ORDERS_CHANGED = {
    5: ["amount"],
    42: ["status"],
    100: ["note"],          # NULL on the source, '' on the target
    102: ["note"],          # trailing space lost
    200: ["created_at"],    # one microsecond
    300: ["paid"],
    400: ["payload"],
    500: ["ref"],
    602: ["customer"],      # 'Zoë' became 'Zoe'
    700: ["amount", "status"],
}


def target_orders():
    rows = []
    for i in range(1, N_ORDERS + 3):
        if i in ORDERS_MISSING:
            continue
        if i > N_ORDERS and i not in ORDERS_EXTRA:
            continue
        r = order_row(i)
        if i == 5:
            r["amount"] += Decimal("0.01")
        elif i == 42:
            r["status"] = r["status"].upper()
        elif i == 100:
            assert r["note"] is None
            r["note"] = ""
        elif i == 102:
            assert r["note"].endswith(" ")
            r["note"] = r["note"].rstrip()
        elif i == 200:
            r["created_at"] = r["created_at"][:-6] + "%06d" % (int(r["created_at"][-6:]) + 1)
        elif i == 300:
            r["paid"] = not r["paid"]
        elif i == 400:
            r["payload"] = b"\x00changed"
        elif i == 500:
            r["ref"] = "ffffffff-0000-4000-8000-000000000000"
        elif i == 602:
            assert r["customer"] == "Zoë"
            r["customer"] = "Zoe"
        elif i == 700:
            r["amount"] = Decimal("0.00")
            r["status"] = "lost"
        rows.append(r)
    return rows


def source_orders():
    return [order_row(i) for i in range(1, N_ORDERS + 1)]


# ---- SQL writing -------------------------------------------------------

def pg_lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, Decimal)):
        # numeric keeps the scale it is given: write 1.5, not 1.50, so the
        # comparison by value is exercised against MariaDB's 1.50.
        s = format(v.normalize(), "f") if isinstance(v, Decimal) else str(v)
        return s
    if isinstance(v, bytes):
        return "'\\x" + v.hex() + "'::bytea"
    return "'" + str(v).replace("'", "''") + "'"


def my_lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, bytes):
        return "X'" + v.hex() + "'" if v else "''"
    # Hex is immune to sql_mode (backslashes, NO_BACKSLASH_ESCAPES).
    return "_utf8mb4 X'" + str(v).encode().hex() + "'" if v else "''"


def inserts(table, rows, lit, batch=500):
    if not rows:
        return ""
    cols = list(rows[0].keys())
    out = []
    for k in range(0, len(rows), batch):
        values = ",\n".join("(" + ", ".join(lit(r[c]) for c in cols) + ")" for r in rows[k:k + batch])
        out.append(f"INSERT INTO {table} ({', '.join(cols)}) VALUES\n{values};")
    return "\n".join(out) + "\n"


PG_ORDERS_DDL = """
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer text NOT NULL,
  amount numeric NOT NULL,
  status varchar(20) NOT NULL,
  created_at timestamp(6) NOT NULL,
  paid boolean NOT NULL,
  note text,
  ref uuid,
  payload bytea
);
"""

MY_ORDERS_DDL = """
CREATE TABLE orders (
  id BIGINT PRIMARY KEY,
  customer VARCHAR(100) NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  status VARCHAR(20) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  paid TINYINT(1) NOT NULL,
  note TEXT NULL,
  ref UUID NULL,
  payload BLOB NULL
) ENGINE=InnoDB;
"""

# Text keys: case, accents, trailing space and tab, emoji; bytewise order
# differs from every linguistic collation.
TEXT_KEYS = ["Zebra", "apple", "Apple", "Äpfel", "éclair", "ß", "a", "a ", "a\t", "b",
             "😀", "zz", "", "0", "10", "9", "Ångström", "z\u0301"] + [f"k{i:04d}" for i in range(200)]
TEXT_MISSING = ["Äpfel", "a "]
TEXT_EXTRA = ["apple ", "Zz"]
TEXT_CHANGED = ["ß", "a\t", "k0150"]


def text_rows(side):
    rows = []
    for i, k in enumerate(TEXT_KEYS):
        if side == "target" and k in TEXT_MISSING:
            continue
        v = f"value {i}"
        if side == "target" and k in TEXT_CHANGED:
            v = v.upper()
        rows.append({"code": k, "label": v})
    if side == "target":
        rows += [{"code": k, "label": "extra"} for k in TEXT_EXTRA]
    return rows


PG_TEXT_DDL = "CREATE TABLE codes (code text COLLATE \"und-x-icu\" PRIMARY KEY, label text);\n"
MY_TEXT_DDL = ("CREATE TABLE codes (code VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin "
               "PRIMARY KEY, label TEXT);\n")

# Composite keys.
REGIONS = ["ap", "eu", "us"]
COMPOSITE_MISSING = [("eu", 5)]
COMPOSITE_EXTRA = [("us", 31)]
COMPOSITE_CHANGED = [("ap", 2)]


def composite_rows(side):
    rows = []
    for r in REGIONS:
        for s in range(1, 31):
            if side == "target" and (r, s) in COMPOSITE_MISSING:
                continue
            qty = s * 10
            if side == "target" and (r, s) in COMPOSITE_CHANGED:
                qty += 1
            rows.append({"region": r, "seq": s, "qty": qty})
    if side == "target":
        rows += [{"region": r, "seq": s, "qty": 0} for r, s in COMPOSITE_EXTRA]
    return rows


PG_COMPOSITE_DDL = "CREATE TABLE stock (region varchar(10), seq int, qty int, PRIMARY KEY (region, seq));\n"
MY_COMPOSITE_DDL = "CREATE TABLE stock (region VARCHAR(10), seq INT, qty INT, PRIMARY KEY (region, seq));\n"

PG_EVENTS_DDL = "CREATE TABLE events (id int PRIMARY KEY, what text);\n"
MY_EVENTS_DDL = "CREATE TABLE events (id INT PRIMARY KEY, what TEXT);\n"


def events_rows(side):
    return [] if side == "target" else [{"id": i, "what": f"e{i}"} for i in range(1, 11)]


def seed_sql(engine, side):
    """All tables of the scenario, for one engine and one side."""
    if engine == "pg":
        ddl = [PG_ORDERS_DDL, PG_TEXT_DDL, PG_COMPOSITE_DDL, PG_EVENTS_DDL]
        lit = pg_lit
    else:
        ddl = [MY_ORDERS_DDL, MY_TEXT_DDL, MY_COMPOSITE_DDL, MY_EVENTS_DDL]
        lit = my_lit
    orders = source_orders() if side == "source" else target_orders()
    sql = "".join(ddl)
    sql += inserts("orders", orders, lit)
    sql += inserts("codes", text_rows(side), lit)
    sql += inserts("stock", composite_rows(side), lit)
    sql += inserts("events", events_rows(side), lit)
    # The same rows on both sides: must compare equal.
    sql += ddl[0].replace("CREATE TABLE orders", "CREATE TABLE same_orders")
    sql += inserts("same_orders", source_orders()[:1000], lit)
    return sql
