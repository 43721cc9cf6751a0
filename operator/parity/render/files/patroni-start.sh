#!/bin/sh
# The container's entry: run Patroni with the configuration the operator rendered. The pod runs
# as the postgres user of both Spilo and the local image (uid 101, gid 103), so there is no
# user to drop to: PostgreSQL refuses root, and the restricted Pod Security level refuses it too.
set -eu
config="$1"
exec patroni "$config"
