-- specs/demo/legacy-mariadb.sql
--   The legacy billing system (MariaDB) before the cut-over.
CREATE TABLE customers (
  cust_no    INT PRIMARY KEY,
  name       VARCHAR(100) NOT NULL,
  email      VARCHAR(200) NULL,
  country    CHAR(2) NOT NULL,
  vip        TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO customers
SELECT seq, CONCAT('Customer ', seq), IF(seq % 11 = 0, NULL, CONCAT('c', seq, '@example.com')),
       ELT(1 + seq % 5, 'DE', 'FR', 'US', 'JP', 'BR'), seq % 7 = 0,
       TIMESTAMP('2023-01-01 00:00:00') + INTERVAL seq HOUR + INTERVAL (seq * 7919 % 1000000) MICROSECOND
FROM seq_1_to_2001;

UPDATE customers SET name = 'Zoë Ångström' WHERE cust_no = 10;
UPDATE customers SET name = 'Anna Schmidt ' WHERE cust_no = 20;
UPDATE customers SET name = 'O''Brien & Söhne' WHERE cust_no = 30;

-- GDPR deletion requests: these customers were deleted here.
CREATE TABLE deletion_requests (
  customer_id  INT PRIMARY KEY,
  requested_at DATETIME NOT NULL
) ENGINE=InnoDB;
INSERT INTO deletion_requests SELECT seq, '2024-05-01 09:00:00' FROM seq_1950_to_1974;
DELETE FROM customers WHERE cust_no BETWEEN 1950 AND 1974;

CREATE TABLE orders (
  id         BIGINT PRIMARY KEY,
  cust_no    INT NOT NULL,
  amount     DECIMAL(12,2) NOT NULL,
  currency   CHAR(3) NOT NULL,
  status     VARCHAR(20) NOT NULL,
  ordered_at DATETIME(6) NOT NULL,
  deleted    TINYINT(1) NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO orders
SELECT seq, 1 + seq % 1900, ROUND((seq * 7919 % 100000) / 100, 2), ELT(1 + seq % 3, 'EUR', 'USD', 'JPY'),
       ELT(1 + seq % 4, 'open', 'paid', 'shipped', 'refunded'),
       TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq MINUTE + INTERVAL (seq * 104729 % 1000000) MICROSECOND,
       seq % 97 = 0
FROM seq_1_to_20000;
