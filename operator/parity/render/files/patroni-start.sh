#!/bin/sh
# The container's entry: run Patroni with the configuration the operator rendered, as the
# postgres user. Images whose default user is postgres (the local one) exec it directly;
# images that start as root (Spilo) drop to postgres first with util-linux's setpriv, since
# PostgreSQL refuses to run as root. The init container has already made the data volume
# postgres's own.
set -eu
config="$1"
if [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- patroni "$config"
fi
exec patroni "$config"
