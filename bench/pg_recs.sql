-- pg_recs.sql -- owns the step-by-step recommendation query on PostgreSQL (docs/FEATURES.md,
-- "Recommendations"), for the customer whose userId is bench_ids row :r: products of interest
-- (viewed or added after the last order) -> co-purchased candidates by count -> exclusions
-- (interest and the last order) -> top 10 (score desc, product_id asc), popular products fill
-- in (count desc, product_id asc) -> names from the catalogue. Run by pgbench as a prepared
-- statement (bench/run prepends the \set line) and by psql for the agreement check.
WITH c AS (SELECT i.customer_id AS id FROM identities i
           WHERE i.type = 'user_id' AND i.value = (SELECT value FROM bench_ids WHERE n = :r)),
 last_order AS (SELECT ev, ts FROM order_lines WHERE customer_id = (SELECT id FROM c)
                ORDER BY ts DESC, order_id DESC LIMIT 1),
 interest AS (SELECT DISTINCT e.body->'properties'->>'product_id' AS p FROM events e
              WHERE e.customer_id = (SELECT id FROM c) AND e.event IN ('Product Viewed', 'Product Added')
                AND e.ts > COALESCE((SELECT ts FROM last_order), '-infinity')
                AND e.body->'properties'->>'product_id' IS NOT NULL),
 excluded AS (SELECT p FROM interest UNION SELECT p FROM order_lines WHERE ev = (SELECT ev FROM last_order)),
 cand AS (SELECT b.p, count(*) AS score
          FROM interest i JOIN order_lines a ON a.p = i.p AND a.rk <= 50
                          JOIN order_lines b ON b.ev = a.ev AND b.rk <= 50 AND b.p <> a.p
          WHERE b.p NOT IN (SELECT p FROM excluded)
          GROUP BY b.p ORDER BY score DESC, b.p LIMIT 10),
 fill AS (SELECT p, n AS score FROM product_pop
          WHERE p NOT IN (SELECT p FROM excluded) AND p NOT IN (SELECT p FROM cand)
          ORDER BY n DESC, p LIMIT 10 - (SELECT count(*) FROM cand)),
 recs AS (SELECT p, score, 1 AS src FROM cand UNION ALL SELECT p, score, 2 FROM fill)
SELECT r.p, k.name, k.price, r.score, CASE r.src WHEN 1 THEN 'co_purchase' ELSE 'popular' END AS source
FROM recs r LEFT JOIN catalogue k ON k.p = r.p ORDER BY r.src, r.score DESC, r.p;
