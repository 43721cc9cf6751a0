#!/bin/sh
# The container's entry: make the data volume the postgres user's, then run Patroni as that
# user with the configuration the operator rendered. Starts as root only for the chown (a
# freshly provisioned volume belongs to root); any image with an OS user `postgres`, `patroni`
# on PATH and util-linux's setpriv satisfies it (Debian/Ubuntu-based Patroni images do).
set -eu
config="$1"
data_root="$2"
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$data_root"
  chmod 0700 "$data_root"
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- patroni "$config"
fi
exec patroni "$config"
