-- tally rollback script for system 'new' (mariadb)
--
-- spec:       golden (golden.yaml)
-- reason:     Golden outputs (CO-1)
-- ticket:     INC-4711 | *urgent*
-- generated:  <time> by tally <version>
-- system:     mariadb://tally:***@db2/new
-- rows:       2 inserted, 2 updated, 3 deleted
--   check orders on shop.orders: 1 inserted, 2 updated, 1 deleted
--   check customers on shop.customers: 1 inserted, 0 updated, 2 deleted
-- fires on the tables written:
--   shop.orders: no triggers, no foreign keys from other tables
--   shop.customers: foreign key orders_customer_fk from shop.orders, ON DELETE NO ACTION, ON UPDATE NO ACTION
-- apply:      mariadb --default-character-set=utf8mb4 --skip-force -h db2 -P 3306 -u OPERATOR -p -D new < rollback.new.sql
-- safety:     one transaction. Every UPDATE and DELETE first checks that each row
--             still holds, in every column, the values tally read; every INSERT that
--             its key is still absent. On any mismatch the script stops with an error
--             naming the check and the key, and nothing is changed.
-- restores:   the rows the repair script changed, as tally read them; columns
--             the repair did not write are restored but not checked, because
--             triggers or ON UPDATE clauses may have changed them
-- body:       xxh128 027296a79c943979e3629fb2f93a6602
--             (check: cat rollback.new.sql | sed '1,/^-- end of tally header$/d' | xxhsum -H2)
-- end of tally header
SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES');
START TRANSACTION;

-- check customers: insert 1 row into shop.customers
CREATE TEMPORARY TABLE `tally_10_a` AS SELECT `id`, `name` FROM `shop`.`customers` LIMIT 0;
INSERT INTO `tally_10_a` VALUES
(4, 'dan');
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE n BIGINT DEFAULT 0;
  SELECT CONCAT('id=', CONVERT(QUOTE(s.`id`) USING utf8mb4)) INTO bad FROM `tally_10_a` s
   WHERE EXISTS (SELECT 1 FROM `shop`.`customers` t WHERE t.`id` = s.`id`) LIMIT 1;
  IF bad IS NOT NULL THEN
    SET bad = LEFT(CONCAT('tally: check customers: row ', bad, ' of shop.customers already exists; nothing was changed'), 128);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;
  END IF;
  INSERT INTO `shop`.`customers` (`id`, `name`) SELECT s.`id`, s.`name` FROM `tally_10_a` s;
  IF ROW_COUNT() <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check customers: inserted a different number of rows than 1; nothing was changed';
  END IF;
END //
DELIMITER ;
DROP TEMPORARY TABLE `tally_10_a`;

-- check orders: insert 1 row into shop.orders
CREATE TEMPORARY TABLE `tally_3_a` AS SELECT `id`, `status`, `amount`, `note` FROM `shop`.`orders` LIMIT 0;
INSERT INTO `tally_3_a` VALUES
(4, 'open', 1, NULL);
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE n BIGINT DEFAULT 0;
  SELECT CONCAT('id=', CONVERT(QUOTE(s.`id`) USING utf8mb4)) INTO bad FROM `tally_3_a` s
   WHERE EXISTS (SELECT 1 FROM `shop`.`orders` t WHERE t.`id` = s.`id`) LIMIT 1;
  IF bad IS NOT NULL THEN
    SET bad = LEFT(CONCAT('tally: check orders: row ', bad, ' of shop.orders already exists; nothing was changed'), 128);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;
  END IF;
  INSERT INTO `shop`.`orders` (`id`, `status`, `amount`, `note`) SELECT s.`id`, s.`status`, s.`amount`, s.`note` FROM `tally_3_a` s;
  IF ROW_COUNT() <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check orders: inserted a different number of rows than 1; nothing was changed';
  END IF;
END //
DELIMITER ;
DROP TEMPORARY TABLE `tally_3_a`;

-- check orders: update 1 row of shop.orders, setting status, amount, note
CREATE TEMPORARY TABLE `tally_1_a` AS SELECT `id`, `status`, `amount`, `note` FROM `shop`.`orders` LIMIT 0;
CREATE TEMPORARY TABLE `tally_1_b` AS SELECT `id`, `status` FROM `shop`.`orders` LIMIT 0;
INSERT INTO `tally_1_a` VALUES
(2, 'PAID', 20, 'x');
INSERT INTO `tally_1_b` VALUES
(2, 'paid');
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE n BIGINT DEFAULT 0;
  SELECT COUNT(*) INTO n FROM `shop`.`orders` t JOIN `tally_1_b` o ON t.`id` = o.`id` FOR UPDATE;
  SELECT CONCAT('id=', CONVERT(QUOTE(o.`id`) USING utf8mb4)) INTO bad FROM `tally_1_b` o
   WHERE NOT EXISTS (SELECT 1 FROM `shop`.`orders` t WHERE t.`id` = o.`id` AND t.`id` <=> o.`id` AND BINARY t.`status` <=> BINARY o.`status`) LIMIT 1;
  IF bad IS NOT NULL THEN
    SET bad = LEFT(CONCAT('tally: check orders: row ', bad, ' of shop.orders changed since tally read it; nothing was changed'), 128);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;
  END IF;
  UPDATE `shop`.`orders` t JOIN `tally_1_a` s ON t.`id` = s.`id` SET t.`status` = s.`status`, t.`amount` = s.`amount`, t.`note` = s.`note`;
  IF ROW_COUNT() <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check orders: updated a different number of rows than 1; nothing was changed';
  END IF;
END //
DELIMITER ;
DROP TEMPORARY TABLE `tally_1_a`;
DROP TEMPORARY TABLE `tally_1_b`;

-- check orders: update 1 row of shop.orders, setting status, amount, note
CREATE TEMPORARY TABLE `tally_4_a` AS SELECT `id`, `status`, `amount`, `note` FROM `shop`.`orders` LIMIT 0;
CREATE TEMPORARY TABLE `tally_4_b` AS SELECT `id`, `amount` FROM `shop`.`orders` LIMIT 0;
INSERT INTO `tally_4_a` VALUES
(5, 'void', 0.1, _utf8mb4 X'636166c3a9202271756f746564225c');
INSERT INTO `tally_4_b` VALUES
(5, 0);
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE n BIGINT DEFAULT 0;
  SELECT COUNT(*) INTO n FROM `shop`.`orders` t JOIN `tally_4_b` o ON t.`id` = o.`id` FOR UPDATE;
  SELECT CONCAT('id=', CONVERT(QUOTE(o.`id`) USING utf8mb4)) INTO bad FROM `tally_4_b` o
   WHERE NOT EXISTS (SELECT 1 FROM `shop`.`orders` t WHERE t.`id` = o.`id` AND t.`id` <=> o.`id` AND t.`amount` <=> o.`amount`) LIMIT 1;
  IF bad IS NOT NULL THEN
    SET bad = LEFT(CONCAT('tally: check orders: row ', bad, ' of shop.orders changed since tally read it; nothing was changed'), 128);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;
  END IF;
  UPDATE `shop`.`orders` t JOIN `tally_4_a` s ON t.`id` = s.`id` SET t.`status` = s.`status`, t.`amount` = s.`amount`, t.`note` = s.`note`;
  IF ROW_COUNT() <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check orders: updated a different number of rows than 1; nothing was changed';
  END IF;
END //
DELIMITER ;
DROP TEMPORARY TABLE `tally_4_a`;
DROP TEMPORARY TABLE `tally_4_b`;

-- check orders: delete 1 row from shop.orders
CREATE TEMPORARY TABLE `tally_2_b` AS SELECT `id`, `status`, `amount`, `note` FROM `shop`.`orders` LIMIT 0;
INSERT INTO `tally_2_b` VALUES
(3, 'open', 5, 'it''s');
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE n BIGINT DEFAULT 0;
  SELECT COUNT(*) INTO n FROM `shop`.`orders` t JOIN `tally_2_b` o ON t.`id` = o.`id` FOR UPDATE;
  SELECT CONCAT('id=', CONVERT(QUOTE(o.`id`) USING utf8mb4)) INTO bad FROM `tally_2_b` o
   WHERE NOT EXISTS (SELECT 1 FROM `shop`.`orders` t WHERE t.`id` = o.`id` AND t.`id` <=> o.`id` AND BINARY t.`status` <=> BINARY o.`status` AND t.`amount` <=> o.`amount` AND BINARY t.`note` <=> BINARY o.`note`) LIMIT 1;
  IF bad IS NOT NULL THEN
    SET bad = LEFT(CONCAT('tally: check orders: row ', bad, ' of shop.orders changed since tally read it; nothing was changed'), 128);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;
  END IF;
  DELETE t FROM `shop`.`orders` t JOIN `tally_2_b` o ON t.`id` = o.`id`;
  IF ROW_COUNT() <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check orders: deleted a different number of rows than 1; nothing was changed';
  END IF;
END //
DELIMITER ;
DROP TEMPORARY TABLE `tally_2_b`;

-- check customers: delete 2 rows from shop.customers
CREATE TEMPORARY TABLE `tally_9_b` AS SELECT `id`, `name` FROM `shop`.`customers` LIMIT 0;
INSERT INTO `tally_9_b` VALUES
(2, 'bob'),
(3, 'cy');
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE bad TEXT CHARACTER SET utf8mb4 DEFAULT NULL;
  DECLARE n BIGINT DEFAULT 0;
  SELECT COUNT(*) INTO n FROM `shop`.`customers` t JOIN `tally_9_b` o ON t.`id` = o.`id` FOR UPDATE;
  SELECT CONCAT('id=', CONVERT(QUOTE(o.`id`) USING utf8mb4)) INTO bad FROM `tally_9_b` o
   WHERE NOT EXISTS (SELECT 1 FROM `shop`.`customers` t WHERE t.`id` = o.`id` AND t.`id` <=> o.`id` AND BINARY t.`name` <=> BINARY o.`name`) LIMIT 1;
  IF bad IS NOT NULL THEN
    SET bad = LEFT(CONCAT('tally: check customers: row ', bad, ' of shop.customers changed since tally read it; nothing was changed'), 128);
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = bad;
  END IF;
  DELETE t FROM `shop`.`customers` t JOIN `tally_9_b` o ON t.`id` = o.`id`;
  IF ROW_COUNT() <> 2 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tally: check customers: deleted a different number of rows than 2; nothing was changed';
  END IF;
END //
DELIMITER ;
DROP TEMPORARY TABLE `tally_9_b`;

COMMIT;
SELECT 'tally: rollback rollback.new.sql applied: 7 rows (2 inserted, 2 updated, 3 deleted)' AS tally;
