#!/bin/sh
# Patroni runs this once, on the member that bootstraps the cluster, with a superuser
# connection URL as its only argument. It creates the application role and database, and the
# metrics exporter's role (pg_monitor, not a superuser) when the Secret has its credentials
# (an older Secret does not: then that file is not mounted).
# Passwords are read from the mounted Secret inside psql (never on a command line), and
# statement logging is off for the session so they cannot reach the server log.
set -eu
credentials=/etc/parity/postgres-credentials
with_monitor=false
[ -f "$credentials/monitor-password" ] && with_monitor=true
psql -X -q -v ON_ERROR_STOP=1 -v with_monitor="$with_monitor" -d "$1" <<'SQL'
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\set app_user `cat /etc/parity/postgres-credentials/app-username`
\set app_password `cat /etc/parity/postgres-credentials/app-password`
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'app_user')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'app_user', :'app_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = :'app_user')
\gexec
\if :with_monitor
\set monitor_user `cat /etc/parity/postgres-credentials/monitor-username`
\set monitor_password `cat /etc/parity/postgres-credentials/monitor-password`
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L IN ROLE pg_monitor',
              :'monitor_user', :'monitor_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :'monitor_user')
\gexec
\endif
SQL
