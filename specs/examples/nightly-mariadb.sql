-- specs/examples/nightly-mariadb.sql
--   The order cache (MariaDB database shop_cache): one denormalized row per
--   order, with the customer's name, refreshed by a job that sometimes
--   misses a change. As of its last refresh.
CREATE TABLE order_cache (
  order_id      INT           NOT NULL PRIMARY KEY,
  customer_name VARCHAR(100)  NOT NULL,
  status        VARCHAR(20)   NOT NULL,
  total         DECIMAL(10,2) NOT NULL
);
INSERT INTO order_cache
SELECT n, CONCAT('Customer ', n % 10 + 1), CASE WHEN n % 3 = 0 THEN 'shipped' ELSE 'paid' END, n * 10.50
FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 50) SELECT n FROM s) x;
-- The refresh job missed order 7 and never removed order 999, cancelled long ago.
DELETE FROM order_cache WHERE order_id = 7;
INSERT INTO order_cache VALUES (999, 'Customer 1', 'cancelled', 0);
