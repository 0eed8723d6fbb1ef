-- The role and database of spine-cds on PostgreSQL (13 or later). Run once, as a superuser:
--
--   sudo -u postgres psql -v password="$(cat /run/secrets/spine-cds-db-password)" -f deploy/postgres/setup.sql
--
-- The service creates and migrates its own tables at start-up (Alembic, under an advisory lock so
-- nodes starting together migrate once), so its role owns the database and nothing else: no
-- superuser, no CREATEDB, no CREATEROLE. Then allow the nodes in pg_hba.conf, e.g.
--   hostssl  spine_cds  spine_cds  10.0.0.0/24  scram-sha-256
\set ON_ERROR_STOP on

CREATE ROLE spine_cds LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
-- A transaction left open by a stuck worker must not hold locks for ever.
ALTER ROLE spine_cds SET idle_in_transaction_session_timeout = '60s';

CREATE DATABASE spine_cds OWNER spine_cds ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE spine_cds FROM PUBLIC;

\connect spine_cds
-- Only the service's role may create objects in its schema.
ALTER SCHEMA public OWNER TO spine_cds;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
