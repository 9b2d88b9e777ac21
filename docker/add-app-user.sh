#!/bin/sh
# Creates the non-root user both runtime images run as (uid/gid 10001) and its working
# directory /app. One script, so the producer and consumer images cannot drift apart.
set -eu
groupadd --system --gid 10001 txpipe
useradd --uid 10001 --gid txpipe --home-dir /app --no-create-home --shell /usr/sbin/nologin txpipe
install -d -o txpipe -g txpipe /app
