ALTER TABLE items ADD COLUMN note text NOT NULL DEFAULT '';
CREATE INDEX items_name ON items (name);
