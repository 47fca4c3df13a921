-- specs/examples/workflow-postgres.sql
--   The order system (PostgreSQL database oms): 30 orders, two stock
--   reservations each. Cancelling an order runs three steps: set its status
--   to cancelled, delete its reservations, delete it from the search index
--   (MariaDB, workflow-mariadb.sql). Orders 1-20 were asked to be cancelled
--   on 2026-12-02; a bug stopped the job part way:
--     1-10   complete
--     11-13  stopped after order-cancelled (reservations and index left)
--     14-15  stopped after stock-released (index entry left)
--     16-19  never started
--     20     out of order: reservations gone, still 'paid', still indexed
--   Orders 21-30 were not asked to be cancelled.
CREATE TABLE orders (
  id                  int         PRIMARY KEY,
  status              text        NOT NULL,
  cancel_requested_at timestamptz
);
CREATE TABLE stock_reservations (
  order_id int  NOT NULL REFERENCES orders,
  sku      text NOT NULL,
  qty      int  NOT NULL,
  PRIMARY KEY (order_id, sku)
);
INSERT INTO orders
SELECT n, 'paid', CASE WHEN n <= 20 THEN timestamptz '2026-12-02 09:00:00+00' END
FROM generate_series(1, 30) AS n;
INSERT INTO stock_reservations
SELECT n, sku, n % 3 + 1 FROM generate_series(1, 30) AS n, (VALUES ('SKU-A'), ('SKU-B')) AS s(sku);
-- What the interrupted job did.
UPDATE orders SET status = 'cancelled' WHERE id BETWEEN 1 AND 15;
DELETE FROM stock_reservations WHERE order_id BETWEEN 1 AND 10 OR order_id IN (14, 15, 20);
