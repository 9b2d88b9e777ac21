#!/bin/bash
# The consumer image's HEALTHCHECK: healthy when GET /health/ready answers 200 (Kafka Streams
# RUNNING, the schema registry answering). Plain bash over /dev/tcp, so the JRE image needs no
# curl. The image turns the service on (TXPIPE_HTTP_PORT=8080); with TXPIPE_HTTP_PORT=0 there is
# nothing to ask and the container counts as healthy while it runs. The check speaks plain HTTP:
# with http.ssl.* in the client config (HTTPS), override the HEALTHCHECK.
port="${TXPIPE_HTTP_PORT:-0}"
[ "$port" = 0 ] && exit 0
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
IFS=' ' read -r -t 4 _ status _ <&3 || exit 1
[ "$status" = 200 ]
