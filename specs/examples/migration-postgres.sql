-- specs/examples/migration-postgres.sql
--   The new shop's catalogue (PostgreSQL database shop) after the
--   migration: renamed key column, wider types, a real boolean, and four
--   mistakes for tally to find.
CREATE TABLE products (
  product_code text          PRIMARY KEY,
  title        text          NOT NULL,
  price        numeric(12,4) NOT NULL,
  active       boolean       NOT NULL,
  added_at     timestamp(0)  NOT NULL
);
INSERT INTO products
SELECT 'SKU-' || lpad(n::text, 4, '0'), 'Product ' || n, n * 1.25, n % 7 <> 0,
       timestamp '2025-01-01 00:00:00' + n * interval '1 hour'
FROM generate_series(1, 200) AS n;
-- A row the migration lost (missing), a test row created in the new
-- system only (extra), a price rounded wrongly and a flag inverted (changed).
DELETE FROM products WHERE product_code = 'SKU-0042';
INSERT INTO products VALUES ('SKU-9001', 'Test product, delete me', 0, false, '2026-01-01 00:00:00');
UPDATE products SET price = 125.01 WHERE product_code = 'SKU-0100';
UPDATE products SET active = true WHERE product_code = 'SKU-0140';
