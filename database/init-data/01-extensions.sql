-- Runs once, when the db service starts on an empty volume.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
