-- specs/examples/workflow-mariadb.sql
--   The search index (MariaDB database search): one entry per order users
--   can find. The interrupted cancel job removed orders 1-10 only.
CREATE TABLE search_index (
  order_id INT          NOT NULL PRIMARY KEY,
  title    VARCHAR(100) NOT NULL
);
INSERT INTO search_index
SELECT n, CONCAT('Order ', n)
FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 30) SELECT n FROM s) x
WHERE n > 10;
