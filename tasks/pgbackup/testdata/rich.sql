-- A database that exercises what a backup must carry faithfully.
CREATE EXTENSION hstore;
CREATE EXTENSION citext;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION pgcrypto WITH SCHEMA public;

CREATE SCHEMA sales;
CREATE SCHEMA "Odd Schema";
COMMENT ON SCHEMA sales IS 'orders and customers';

CREATE TYPE sales.status AS ENUM ('new', 'paid', 'shipped', 'returned');
CREATE DOMAIN sales.positive_money AS numeric(14, 4) CHECK (VALUE > 0);
CREATE TYPE sales.address AS (street text, city text, zip text);

CREATE SEQUENCE sales.invoice_no START 1000 INCREMENT 7;

CREATE TABLE sales.customer (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       citext UNIQUE NOT NULL,
    name        text NOT NULL,
    address     sales.address,
    tags        text[] DEFAULT '{}',
    attrs       hstore,
    profile     jsonb,
    created_at  timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00'
);
COMMENT ON TABLE sales.customer IS 'who buys';
COMMENT ON COLUMN sales.customer.email IS 'case-insensitive, unique';
CREATE INDEX customer_profile_gin ON sales.customer USING gin (profile);
CREATE INDEX customer_name_trgm ON sales.customer USING gin (name gin_trgm_ops);

CREATE TABLE sales.orders (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES sales.customer (id) ON DELETE CASCADE,
    status      sales.status NOT NULL DEFAULT 'new',
    total       sales.positive_money NOT NULL,
    invoice     integer DEFAULT nextval('sales.invoice_no'),
    during      tstzrange,
    qty_range   int4range,
    placed_at   timestamptz NOT NULL,
    updated_at  timestamptz
);
CREATE INDEX orders_customer ON sales.orders (customer_id, placed_at DESC) WHERE status <> 'returned';

CREATE TABLE sales.audit (id serial PRIMARY KEY, order_id bigint, note text, at timestamptz DEFAULT '2026-01-01');

CREATE FUNCTION sales.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := '2026-06-01 12:00:00+00';
    INSERT INTO sales.audit (order_id, note) VALUES (NEW.id, 'touched ' || NEW.status);
    RETURN NEW;
END $$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON sales.orders FOR EACH ROW EXECUTE FUNCTION sales.touch();

CREATE FUNCTION sales.order_total(c bigint) RETURNS numeric LANGUAGE sql STABLE
    RETURN (SELECT coalesce(sum(total), 0) FROM sales.orders WHERE customer_id = c);

CREATE VIEW sales.customer_totals AS
    SELECT c.id, c.email, sales.order_total(c.id) AS total FROM sales.customer c;
CREATE MATERIALIZED VIEW sales.status_counts AS
    SELECT status, count(*) AS n FROM sales.orders GROUP BY status;

-- Partitioned by range, with a default partition.
CREATE TABLE public.measurement (
    at     timestamptz NOT NULL,
    sensor int NOT NULL,
    value  double precision,
    PRIMARY KEY (sensor, at)
) PARTITION BY RANGE (at);
CREATE TABLE public.measurement_2025 PARTITION OF public.measurement FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.measurement_2026 PARTITION OF public.measurement FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE public.measurement_other PARTITION OF public.measurement DEFAULT;

-- Every byte value, unicode, numeric precision, special floats.
CREATE TABLE public.blobs (id int PRIMARY KEY, data bytea, label text);
CREATE TABLE "Odd Schema"."Täble ""quoted"" name" ("Mixed Case" text, "with space" int);
CREATE TABLE public.numbers (
    id int PRIMARY KEY, big numeric, exact numeric(38, 18), f float8, r real, m money, iv interval, u uuid, ip inet, bits bit varying(16)
);
-- Plain inheritance: the parent's own rows are counted with ONLY.
CREATE TABLE public.base_event (id int, what text);
CREATE TABLE public.child_event (extra text) INHERITS (public.base_event);
CREATE UNLOGGED TABLE public.cache (k text PRIMARY KEY, v text);
CREATE TABLE public.empty_table (id int);

INSERT INTO sales.customer (email, name, address, tags, attrs, profile)
SELECT 'User' || g || '@Example.com', 'customer ' || g || ' ñandú 数据 🚀',
       ROW(g || ' Main St', 'Zürich', lpad(g::text, 5, '0'))::sales.address,
       ARRAY['t' || g, NULL, 'quote"d', 'comma,d'],
       hstore(ARRAY['k' || g, 'nested'], ARRAY['v' || g, NULL]),
       jsonb_build_object('n', g, 'ok', g % 2 = 0, 'list', jsonb_build_array(g, 'x', NULL), 'esc', E'tab\there\nnew line \\ back')
FROM generate_series(1, 300) g;

INSERT INTO sales.orders (customer_id, status, total, during, qty_range, placed_at)
SELECT 1 + g % 300, (ARRAY['new', 'paid', 'shipped', 'returned']::sales.status[])[1 + g % 4],
       round((g * 1.2345)::numeric, 4) + 0.0001,
       tstzrange('2026-01-01'::timestamptz + g * interval '1 hour', '2026-01-01'::timestamptz + (g + 2) * interval '1 hour', '[)'),
       int4range(g, g + 10), '2026-01-01 08:00:00.123456+02'::timestamptz + g * interval '1 minute'
FROM generate_series(1, 2000) g;
UPDATE sales.orders SET status = 'paid' WHERE id % 50 = 0;
SELECT nextval('sales.invoice_no') FROM generate_series(1, 5);
REFRESH MATERIALIZED VIEW sales.status_counts;

INSERT INTO public.measurement
SELECT '2025-06-01'::timestamptz + g * interval '3 days', g % 7, sqrt(g) FROM generate_series(1, 400) g;
INSERT INTO public.measurement VALUES ('2030-01-01', 1, 'NaN'), ('2030-01-02', 1, 'Infinity'), ('2030-01-03', 1, '-Infinity');

INSERT INTO public.blobs VALUES
    (1, (SELECT string_agg(set_byte('\x00'::bytea, 0, b), ''::bytea ORDER BY b) FROM generate_series(0, 255) b), 'every byte'),
    (2, '', 'empty'), (3, NULL, 'null'), (4, decode('deadbeef', 'hex'), 'hex');
INSERT INTO public.blobs
SELECT 100 + g, digest(g::text, 'sha256'), repeat('é', g) FROM generate_series(1, 50) g;

INSERT INTO "Odd Schema"."Täble ""quoted"" name" VALUES ('x', 1), (E'back\\slash\\.', 2), ('\.', 3), (NULL, NULL);
INSERT INTO public.numbers VALUES
    (1, 123456789012345678901234567890.123456789, 12345678901234567890.123456789012345678, 1e308, 3.4e38, 1234.56, '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2001:db8::1/64', B'1010'),
    (2, -0.000000000000000000000000000001, 0, -0.0, 'NaN', -1, '-3 hours', NULL, '10.0.0.1', B'');
INSERT INTO public.base_event VALUES (1, 'parent only');
INSERT INTO public.child_event VALUES (2, 'child', 'x'), (3, 'child', 'y');
INSERT INTO public.cache VALUES ('a', 'unlogged but dumped');

-- Large objects, one empty, one with every byte value.
SELECT lo_from_bytea(424242, (SELECT string_agg(set_byte('\x00'::bytea, 0, b), ''::bytea ORDER BY b) FROM generate_series(0, 255) b));
SELECT lo_from_bytea(424243, '');
COMMENT ON LARGE OBJECT 424242 IS 'every byte';
