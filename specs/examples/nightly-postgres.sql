-- specs/examples/nightly-postgres.sql
--   The shop's orders (PostgreSQL database shop, next to the products of
--   the migration example): 50 orders of 10 customers.
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (
  id          int           PRIMARY KEY,
  customer_id int           NOT NULL REFERENCES customers,
  status      text          NOT NULL,
  total       numeric(10,2) NOT NULL
);
INSERT INTO customers SELECT n, 'Customer ' || n FROM generate_series(1, 10) AS n;
INSERT INTO orders
SELECT n, n % 10 + 1, CASE WHEN n % 3 = 0 THEN 'shipped' ELSE 'paid' END, n * 10.50
FROM generate_series(1, 50) AS n;
-- Since the cache was last refreshed: customer 3 renamed herself (her five
-- orders are stale in the cache), order 16 shipped.
UPDATE customers SET name = 'Customer 3 (renamed)' WHERE id = 3;
UPDATE orders SET status = 'shipped' WHERE id = 16;
