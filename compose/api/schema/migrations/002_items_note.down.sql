DROP INDEX items_name;
ALTER TABLE items DROP COLUMN note;
