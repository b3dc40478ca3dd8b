#!/usr/bin/env bash
# Run by the entrypoint with its exported POSTGRES_* variables, as the
# official image runs executable init scripts.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-c "CREATE ROLE from_shell_script LOGIN PASSWORD NULL"
