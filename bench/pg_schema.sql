-- pg_schema.sql -- owns the PostgreSQL side of the comparison: the same job c360 does (store the
-- raw events, keep one profile per customer with counts, first/last seen and traits, and an
-- identities table mapping (type, value) -> customer), done the way a careful engineer would do
-- it in PostgreSQL: per micro-batch, COPY the raw NDJSON into a temp table, then one set-based
-- function resolves identities, appends the events and upserts the profiles, all in one
-- transaction (synchronous_commit on, so a COMMIT is durable like a c360 acknowledgement).
--
-- Simplifications in PostgreSQL's favour (c360 does more): identifiers resolve through user_id
-- then anonymous_id only (emails/phones are stored as identities but not matched on); there are
-- no identity limits, blocked values or profile merges; traits are last-write-wins by arrival,
-- not by event time. For this data set (one anonymousId per customer copy, identify before any
-- userId-bearing event) the resulting profiles are the same, which bench/run checks.

CREATE TABLE identities (
    type        text        NOT NULL,
    value       text        NOT NULL,
    customer_id bigint      NOT NULL,
    first_seen  timestamptz NOT NULL,
    PRIMARY KEY (type, value)
);
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE profiles (
    customer_id bigint PRIMARY KEY,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    total       bigint      NOT NULL,
    by_type     jsonb       NOT NULL,
    by_event    jsonb       NOT NULL,
    traits      jsonb       NOT NULL
);

CREATE TABLE events (
    message_id  text        PRIMARY KEY,    -- deduplication, as c360's messageId window
    customer_id bigint      NOT NULL,
    ts          timestamptz NOT NULL,
    type        text        NOT NULL,
    event       text,
    body        jsonb       NOT NULL
);
CREATE INDEX events_timeline ON events (customer_id, ts);  -- the per-profile timeline

CREATE SEQUENCE customer_seq;

-- ids used by pgbench's lookup script (row n -> a userId); filled by bench/run
CREATE TABLE bench_ids (n int PRIMARY KEY, value text NOT NULL);

-- {"a":1} + {"a":2,"b":1} = {"a":3,"b":1}
CREATE FUNCTION add_counts(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_object_agg(k, s), '{}'::jsonb)
    FROM (SELECT k, sum(v::bigint) AS s
          FROM (SELECT key AS k, value AS v FROM jsonb_each_text(a)
                UNION ALL
                SELECT key, value FROM jsonb_each_text(b)) x
          GROUP BY k) y
$$;

-- Per session, before the first batch: the staging tables (temp, emptied at each COMMIT).
CREATE FUNCTION bench_session() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS stage (n int, j jsonb) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS parsed (
        n int, message_id text, type text, event text, anon text, uid text, email text, phone text,
        ts timestamptz, traits jsonb, body jsonb, key text, customer_id bigint) ON COMMIT DELETE ROWS;
END $$;

-- One micro-batch: stage (n, j) -> identities, events, profiles. Returns events stored.
CREATE FUNCTION ingest_batch() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    stored int;
BEGIN
    INSERT INTO parsed (n, message_id, type, event, anon, uid, key, email, phone, ts, traits, body)
    SELECT n, j->>'messageId', j->>'type', j->>'event', j->>'anonymousId', j->>'userId',
           COALESCE('u:' || (j->>'userId'), 'a:' || (j->>'anonymousId')),
           lower(j->'traits'->>'email'),
           NULLIF(regexp_replace(j->'traits'->>'phone', '[^0-9]', '', 'g'), ''),
           COALESCE((j->>'timestamp')::timestamptz, now()),
           CASE WHEN jsonb_typeof(j->'traits') = 'object' THEN j->'traits' END,
           j
    FROM stage;

    -- deduplicate by messageId: against stored events, then within the batch (first wins)
    DELETE FROM parsed p USING events e WHERE e.message_id = p.message_id;
    DELETE FROM parsed p USING parsed q WHERE q.message_id = p.message_id AND q.n < p.n;

    -- the key that groups a batch's events by person: the userId; for an event without one, the
    -- userId that another event of this batch links to its anonymousId, else the anonymousId
    UPDATE parsed p SET key = l.k
    FROM (SELECT DISTINCT ON (anon) anon, 'u:' || uid AS k FROM parsed
          WHERE uid IS NOT NULL AND anon IS NOT NULL ORDER BY anon, n) l
    WHERE p.uid IS NULL AND p.anon = l.anon;

    -- known customers: by userId, then by anonymousId
    UPDATE parsed p SET customer_id = i.customer_id FROM identities i
    WHERE p.uid IS NOT NULL AND i.type = 'user_id' AND i.value = p.uid;
    UPDATE parsed p SET customer_id = i.customer_id FROM identities i
    WHERE p.customer_id IS NULL AND p.anon IS NOT NULL AND i.type = 'anonymous_id' AND i.value = p.anon;
    -- the rest of a resolved person's events, then new customers
    UPDATE parsed p SET customer_id = r.c
    FROM (SELECT key, min(customer_id) AS c FROM parsed WHERE customer_id IS NOT NULL GROUP BY key) r
    WHERE p.customer_id IS NULL AND p.key = r.key;
    -- (MATERIALIZED: nextval() must run once per key, not again at every rescan of a nested loop)
    WITH nc AS MATERIALIZED (
        SELECT key, nextval('customer_seq') AS c FROM (SELECT DISTINCT key FROM parsed WHERE customer_id IS NULL) k)
    UPDATE parsed p SET customer_id = nc.c FROM nc
    WHERE p.customer_id IS NULL AND p.key = nc.key;

    INSERT INTO identities (type, value, customer_id, first_seen)
    SELECT t, v, min(customer_id), min(ts) FROM (
        SELECT 'anonymous_id' AS t, anon AS v, customer_id, ts FROM parsed WHERE anon IS NOT NULL
        UNION ALL SELECT 'user_id', uid, customer_id, ts FROM parsed WHERE uid IS NOT NULL
        UNION ALL SELECT 'email', email, customer_id, ts FROM parsed WHERE email IS NOT NULL
        UNION ALL SELECT 'phone', phone, customer_id, ts FROM parsed WHERE phone IS NOT NULL) x
    GROUP BY t, v
    ON CONFLICT (type, value) DO NOTHING;

    INSERT INTO events (message_id, customer_id, ts, type, event, body)
    SELECT message_id, customer_id, ts, type, event, body FROM parsed
    ON CONFLICT (message_id) DO NOTHING;
    GET DIAGNOSTICS stored = ROW_COUNT;

    WITH t AS (SELECT customer_id, jsonb_object_agg(type, c) AS j
               FROM (SELECT customer_id, type, count(*) AS c FROM parsed GROUP BY 1, 2) x GROUP BY 1),
         e AS (SELECT customer_id, jsonb_object_agg(event, c) AS j
               FROM (SELECT customer_id, event, count(*) AS c FROM parsed WHERE event IS NOT NULL GROUP BY 1, 2) x GROUP BY 1),
         tr AS (SELECT customer_id, jsonb_object_agg(k, v) AS j
                FROM (SELECT DISTINCT ON (customer_id, k) customer_id, k, v
                      FROM parsed, jsonb_each(traits) AS kv(k, v)
                      WHERE traits IS NOT NULL ORDER BY customer_id, k, ts DESC, n DESC) x GROUP BY 1),
         b AS (SELECT customer_id, min(ts) AS f, max(ts) AS l, count(*) AS c FROM parsed GROUP BY 1)
    INSERT INTO profiles AS pr (customer_id, first_seen, last_seen, total, by_type, by_event, traits)
    SELECT b.customer_id, b.f, b.l, b.c, t.j, COALESCE(e.j, '{}'::jsonb), COALESCE(tr.j, '{}'::jsonb)
    FROM b JOIN t USING (customer_id) LEFT JOIN e USING (customer_id) LEFT JOIN tr USING (customer_id)
    ON CONFLICT (customer_id) DO UPDATE SET
        first_seen = least(pr.first_seen, excluded.first_seen),
        last_seen  = greatest(pr.last_seen, excluded.last_seen),
        total      = pr.total + excluded.total,
        by_type    = add_counts(pr.by_type, excluded.by_type),
        by_event   = add_counts(pr.by_event, excluded.by_event),
        traits     = pr.traits || excluded.traits;
    RETURN stored;
END $$;

-- Identifier -> the profile and its identities, as JSON (for people poking at the data; the
-- measured lookup is the same query as a prepared statement in bench/pg_lookup.sql, because a
-- SQL function's body is planned at every call).
CREATE FUNCTION profile_by(t text, v text) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', p.customer_id, 'first_seen', p.first_seen, 'last_seen', p.last_seen,
                             'traits', p.traits, 'counts', json_build_object('total', p.total, 'by_type', p.by_type,
                             'by_event', p.by_event),
                             'identities', (SELECT json_agg(json_build_object('type', x.type, 'value', x.value,
                                                                              'first_seen', x.first_seen))
                                            FROM identities x WHERE x.customer_id = p.customer_id))
    FROM identities i JOIN profiles p ON p.customer_id = i.customer_id
    WHERE i.type = t AND i.value = v
$$;
