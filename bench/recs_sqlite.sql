-- recs_sqlite.sql -- owns the independent check of c360's recommendations in the quality
-- benchmark (bench/recs-quality): the documented query (docs/FEATURES.md, "Recommendations")
-- computed step by step in SQLite from the very events c360 was given, for a sample of cases.
-- Expects the tables raw(j) (the replayed NDJSON plus the reveal events) and sample(cust) (userIds);
-- prints 'userId TAB p1 TAB p2 ...' (top 10) per sampled customer, sorted by userId.
-- Like c360, co-purchase pairs are counted among the first 50 distinct products of an order
-- (array order); popularity counts every distinct product of an order.
CREATE TABLE ev AS
    SELECT json_extract(j, '$.messageId') AS ev, json_extract(j, '$.userId') AS cust,
           json_extract(j, '$.timestamp') AS ts, json_extract(j, '$.event') AS name, j
    FROM raw WHERE json_extract(j, '$.userId') IS NOT NULL;
CREATE TABLE orders AS
    SELECT ev, cust, ts, json_extract(j, '$.properties.order_id') AS order_id FROM ev WHERE name = 'Order Completed';
CREATE TABLE lines AS
    SELECT ev, cust, p, ROW_NUMBER() OVER (PARTITION BY ev ORDER BY pos) AS rk
    FROM (SELECT e.ev, e.cust, json_extract(x.value, '$.product_id') AS p, MIN(x.key) AS pos
          FROM ev e, json_each(e.j, '$.properties.products') x
          WHERE e.name = 'Order Completed' GROUP BY e.ev, e.cust, p);
CREATE INDEX lines_p ON lines (p, rk);
CREATE INDEX lines_ev ON lines (ev, rk);
CREATE INDEX orders_cust ON orders (cust, ts);
CREATE INDEX ev_cust ON ev (cust, ts);
CREATE TABLE pop AS SELECT p, COUNT(*) AS n FROM lines GROUP BY p;

CREATE TABLE interest AS
    SELECT DISTINCT s.cust, json_extract(e.j, '$.properties.product_id') AS p
    FROM sample s JOIN ev e ON e.cust = s.cust
    WHERE e.name IN ('Product Viewed', 'Product Added')
      AND e.ts > COALESCE((SELECT MAX(ts) FROM orders o WHERE o.cust = s.cust), '');
CREATE TABLE excluded AS
    SELECT cust, p FROM interest
    UNION
    SELECT s.cust, l.p FROM sample s
    JOIN lines l ON l.ev = (SELECT ev FROM orders o WHERE o.cust = s.cust ORDER BY ts DESC, order_id DESC LIMIT 1);
CREATE INDEX excluded_cp ON excluded (cust, p);
CREATE TABLE top AS
    SELECT cust, p, r FROM (
        SELECT cust, p, ROW_NUMBER() OVER (PARTITION BY cust ORDER BY score DESC, p) AS r
        FROM (SELECT i.cust, b.p, COUNT(*) AS score
              FROM interest i JOIN lines a ON a.p = i.p AND a.rk <= 50
                              JOIN lines b ON b.ev = a.ev AND b.rk <= 50 AND b.p <> a.p
              GROUP BY i.cust, b.p) c
        WHERE NOT EXISTS (SELECT 1 FROM excluded x WHERE x.cust = c.cust AND x.p = c.p))
    WHERE r <= 10;
CREATE INDEX top_cp ON top (cust, p);
CREATE TABLE ntop AS SELECT s.cust, (SELECT COUNT(*) FROM top t WHERE t.cust = s.cust) AS n FROM sample s;
CREATE TABLE fill AS
    SELECT cust, p, r FROM (
        SELECT s.cust, pop.p, s.n + ROW_NUMBER() OVER (PARTITION BY s.cust ORDER BY pop.n DESC, pop.p) AS r
        FROM ntop s, pop
        WHERE NOT EXISTS (SELECT 1 FROM excluded x WHERE x.cust = s.cust AND x.p = pop.p)
          AND NOT EXISTS (SELECT 1 FROM top t WHERE t.cust = s.cust AND t.p = pop.p))
    WHERE r <= 10;
SELECT cust || char(9) || group_concat(p, char(9))
FROM (SELECT cust, p, r FROM top UNION ALL SELECT cust, p, r FROM fill ORDER BY cust, r)
GROUP BY cust ORDER BY cust;
