#!/usr/bin/env bash
# Stand-in for Kafka's bin/kafka-run-class.sh: the same environment variables (KAFKA_HEAP_OPTS,
# KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS) and defaults, on the jars in /opt/kafka/libs.
[[ $# -ge 1 ]] || { echo "USAGE: $0 classname [opts]" >&2; exit 1; }
# shellcheck disable=SC2086  # the *_OPTS variables hold several flags each
exec java ${KAFKA_HEAP_OPTS:--Xmx256M} \
  ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} \
  ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.yaml} ${KAFKA_OPTS:-} \
  -cp '/opt/kafka/libs/*' "$@"
