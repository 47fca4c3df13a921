-- specs/demo/billing-postgres.sql
--   The new billing system (PostgreSQL) after a migration that went wrong
--   in the ways migrations do. Comments say what the demo must find.
CREATE TABLE customers (
  customer_id integer PRIMARY KEY,
  name        text NOT NULL,
  email       text,
  country     char(2) NOT NULL,
  vip         boolean NOT NULL,
  created_at  timestamp(6) NOT NULL
);

INSERT INTO customers
SELECT g, 'Customer ' || g, CASE WHEN g % 11 = 0 THEN NULL ELSE 'c' || g || '@example.com' END,
       (ARRAY['DE', 'FR', 'US', 'JP', 'BR'])[1 + g % 5], g % 7 = 0,
       timestamp '2023-01-01 00:00:00' + g * interval '1 hour' + (g * 7919 % 1000000) * interval '1 microsecond'
FROM generate_series(1, 2000) g;          -- missing: customer 2001 was never migrated

UPDATE customers SET name = 'ZoÃ« Ã…ngstrÃ¶m' WHERE customer_id = 10;   -- changed: mojibake
UPDATE customers SET name = 'Anna Schmidt' WHERE customer_id = 20;        -- changed: trailing space lost
UPDATE customers SET name = 'O''Brien & Söhne' WHERE customer_id = 30;
-- undeleted: 4 of the 25 GDPR deletions never reached the new system.
DELETE FROM customers WHERE customer_id BETWEEN 1950 AND 1974 AND customer_id NOT IN (1951, 1960, 1966, 1973);

CREATE TABLE orders (
  id          bigint PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers,
  amount      numeric(14,4) NOT NULL,      -- prints 12.3400 where MariaDB prints 12.34: equal
  currency    char(3) NOT NULL,
  status      text NOT NULL,
  ordered_at  timestamp(6) NOT NULL
);

INSERT INTO orders
SELECT g, 1 + g % 1900, round((g * 7919 % 100000) / 100.0, 2), (ARRAY['EUR', 'USD', 'JPY'])[1 + g % 3],
       (ARRAY['open', 'paid', 'shipped', 'refunded'])[1 + g % 4],
       timestamp '2024-01-01 00:00:00' + g * interval '1 minute' + (g * 104729 % 1000000) * interval '1 microsecond'
FROM generate_series(1, 20000) g
WHERE g % 97 <> 0                               -- soft-deleted orders are not migrated...
   OR g IN (97, 970, 9700);                     -- extra: ...but these three came along anyway

DELETE FROM orders WHERE id IN (101, 2024, 5005, 9999, 12345, 17000, 19999);   -- missing: lost in the batch that failed
UPDATE orders SET amount = amount + 0.01 WHERE id IN (11, 222, 3333, 4444);     -- changed: rounding bug
UPDATE orders SET status = upper(status) WHERE id IN (15, 16, 17);              -- changed: status case
UPDATE orders SET ordered_at = ordered_at + interval '1 hour' WHERE id IN (500, 501);  -- changed: time zone bug
UPDATE orders SET customer_id = 1 WHERE id = 7777;                              -- changed: wrong customer
