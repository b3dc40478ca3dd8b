CREATE TABLE items (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    quantity    integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
