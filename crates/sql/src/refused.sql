-- Statements Basalt cannot yet run exactly as MySQL 8.0 does, and so refuses
-- with an error instead of running them with another meaning (issue 20's
-- rule). Each line is `CODE statement`; `tests/refused.rs` runs every one
-- against a database holding `t (id INT PRIMARY KEY, a INT, b VARCHAR(20))`
-- and `u (id INT PRIMARY KEY)` and checks that it fails with CODE and changes
-- nothing. Supporting one means deleting its line here and adding a test of
-- its answer (a corpus record against MariaDB).
--
-- 1235: not supported yet. 1273: a collation Basalt does not have. 1286: unknown storage engine. 1294: ON UPDATE on
-- a column that is not DATETIME or TIMESTAMP. 1115: unknown
-- character set. 1064: syntax MySQL does not have (or Basalt cannot parse). 1051: DROP TEMPORARY of
-- a table that is not temporary.

-- Window functions and grouping modifiers.
1235 SELECT id, COUNT(*) OVER () FROM t
1235 SELECT SUM(a) OVER (ORDER BY id) FROM t
1235 SELECT id FROM t WINDOW w AS (ORDER BY id)
1235 SELECT a, COUNT(*) FROM t GROUP BY a WITH CUBE
1235 SELECT a, COUNT(*) FROM t GROUP BY a WITH TOTALS
1235 SELECT a FROM t HAVING a > 1

-- Aggregate clauses other than GROUP_CONCAT's ORDER BY and SEPARATOR.
1235 SELECT GROUP_CONCAT(b ORDER BY 1) FROM t
1235 SELECT AVG(a ORDER BY a) FROM t
1235 SELECT ABS(DISTINCT a) FROM t
1235 SELECT MAX(a) IGNORE NULLS FROM t

-- Query clauses MySQL has not, or that would be dropped.
1235 SELECT id FROM t ORDER BY id FETCH FIRST 1 ROWS ONLY
1235 SELECT id FROM t FOR JSON PATH
1235 SELECT a FROM t ORDER BY a NULLS LAST
1235 SELECT DISTINCT ON (a) id, a FROM t
1235 SELECT TOP 1 * FROM t
1235 SELECT id FROM t QUALIFY id > 1
1235 SELECT id FROM t CLUSTER BY a
1235 SELECT id FROM t SORT BY a
1235 SELECT id FROM t OFFSET 1
1235 SELECT id FROM t UNION ALL BY NAME SELECT id FROM t
1235 SELECT a FROM (SELECT id AS a, a AS b FROM t) AS dt (b, a)
1235 SELECT * FROM t AS x (c1, c2, c3)
1235 SELECT * FROM t PARTITION (p0)
1235 SELECT * FROM t TABLESAMPLE BERNOULLI (10)
1235 SELECT * FROM (t AS t1 JOIN t AS t2 USING (id)) AS j
1235 SELECT * FROM t AS t1 LEFT JOIN t AS t2
1235 SELECT /*+ SET_VAR(sql_mode='') */ id FROM t
1235 SELECT /*+ MAX_EXECUTION_TIME(1000) */ id FROM t

-- JSON comparisons Basalt cannot make as MySQL does: its JSON holds no
-- temporal scalars, and GREATEST/LEAST/FIELD and subqueries do not yet
-- compare JSON as JSON.
1235 SELECT id FROM t WHERE CAST('"2024-01-01"' AS JSON) = DATE '2024-01-01'
1235 SELECT GREATEST(CAST('1' AS JSON), a) FROM t
1235 SELECT FIELD(CAST('1' AS JSON), a) FROM t
1235 SELECT id FROM t WHERE CAST('1' AS JSON) IN (SELECT a FROM t)

-- Writes with clauses MySQL has not.
1235 INSERT INTO t VALUES (100, 1, 'r') RETURNING id
1235 UPDATE t SET a = 1 WHERE id = 1 RETURNING id
1235 DELETE FROM t WHERE id = 1 RETURNING id
1235 INSERT INTO t VALUES (1, 1, 'c') ON CONFLICT DO NOTHING
1235 INSERT OR REPLACE INTO t VALUES (1, 1, 'o')
1235 INSERT INTO t PARTITION (p0) VALUES (103, 1, 'p')
1235 UPDATE t PARTITION (p0) SET a = 1 WHERE id = 1
1235 DELETE FROM t PARTITION (p0) WHERE id = 1

-- Tables that are not what MySQL would make.
1235 CREATE TEMPORARY TABLE tmp1 (id INT, FOREIGN KEY (id) REFERENCES u (id))
1235 CREATE TABLE ct3 AS SELECT NULL AS n
1051 DROP TEMPORARY TABLE t
1235 TRUNCATE TABLE t PARTITION (p0)
1235 CREATE TABLE k2 (id INT PRIMARY KEY, pid INT REFERENCES t (id))
1235 CREATE TABLE k4 (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES t (id) ON DELETE SET DEFAULT)
1235 CREATE TABLE k5 (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES t (id) MATCH FULL)
1235 CREATE TABLE c1 (b VARCHAR(10)) DEFAULT CHARSET=latin1
1235 CREATE TABLE c3 (b VARCHAR(10) CHARACTER SET latin1)
1235 CREATE TABLE e5 (id INT PRIMARY KEY) ENCRYPTION='Y'
1286 CREATE TABLE e1 (id INT) ENGINE=BLACKHOLE
1286 CREATE TABLE e2 (id INT) ENGINE=NoSuchEngine
1286 ALTER TABLE t ENGINE=MEMORY
1235 ALTER TABLE t DEFAULT CHARSET latin1
1235 CREATE DATABASE d1 CHARACTER SET latin1
1115 CREATE DATABASE d3 CHARACTER SET nosuchcharset
1115 CREATE TABLE c4 (b VARCHAR(10) CHARACTER SET nosuchcharset)
1235 ALTER DATABASE CHARACTER SET latin1
1235 ALTER DATABASE READ ONLY = 1
1235 ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
1273 CREATE DATABASE d2 COLLATE utf8mb4_unicode_ci
1294 CREATE TABLE o1 (id INT PRIMARY KEY, a INT ON UPDATE CURRENT_TIMESTAMP)

-- Transactions and session state.
1064 START TRANSACTION ISOLATION LEVEL SERIALIZABLE
1235 COMMIT AND CHAIN
1235 ROLLBACK AND CHAIN
1064 COMMIT RELEASE
1235 SET NAMES latin1
1273 SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci
1235 SET collation_connection = binary
1235 SET time_zone = '+08:00'
1235 SET sql_select_limit = 1
1235 SET sql_safe_updates = 1
1235 SET div_precision_increment = 10
1235 SET auto_increment_increment = 5
1235 SET auto_increment_offset = 2
1235 SET sql_auto_is_null = 1
1235 SET character_set_results = latin1
1235 SET sql_mode = 'ANSI_QUOTES'
1235 SET sql_mode = 'NO_BACKSLASH_ESCAPES'
1235 SET sql_mode = 'HIGH_NOT_PRECEDENCE'
1235 SET sql_mode = 'NO_UNSIGNED_SUBTRACTION'
1235 SET sql_mode = 'PAD_CHAR_TO_FULL_LENGTH'
1235 SET sql_mode = 'REAL_AS_FLOAT'
1235 SET sql_mode = 'ALLOW_INVALID_DATES'
1235 SET sql_mode = 'TIME_TRUNCATE_FRACTIONAL'
1235 SET sql_mode = 'IGNORE_SPACE'
1235 SET sql_mode = 'ANSI'
1064 SET @x = 1, 2

-- EXPLAIN formats Basalt does not print.
1235 EXPLAIN FORMAT=JSON SELECT * FROM t
1235 EXPLAIN FORMAT=TREE SELECT * FROM t
