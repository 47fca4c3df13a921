-- specs/examples/migration-mariadb.sql
--   The legacy shop's product catalogue (MariaDB database shop_legacy), as
--   it was when the migration to PostgreSQL ran: 200 products.
CREATE TABLE products (
  sku       VARCHAR(20)   NOT NULL PRIMARY KEY,
  title     VARCHAR(100)  NOT NULL,
  price     DECIMAL(10,2) NOT NULL,
  active    TINYINT(1)    NOT NULL,
  added_at  DATETIME      NOT NULL
);
INSERT INTO products
SELECT CONCAT('SKU-', LPAD(n, 4, '0')), CONCAT('Product ', n), n * 1.25, n % 7 <> 0,
       TIMESTAMP('2025-01-01 00:00:00') + INTERVAL n HOUR
FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 200) SELECT n FROM s) x;
