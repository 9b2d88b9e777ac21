#!/usr/bin/env bash
# Builds local stand-ins for the two service images of docker/docker-compose.yml, for machines that
# cannot pull them (no Docker Hub), from what the project already fetches from Maven Central:
#
#   localhost/txpipe-standin/kafka:4.2.2               ~ apache/kafka:4.2.2
#       Kafka's official 4.2.2 jars (.stack/kafka/libs), an entry point that turns KAFKA_* variables
#       into server.properties and formats storage with CLUSTER_ID through Kafka's own
#       kafka.docker.KafkaDockerWrapper (as upstream), and /opt/kafka/bin/ scripts for the
#       server and the tools the healthcheck and operators use (kafka-cluster.sh, kafka-topics.sh, ...).
#   localhost/txpipe-standin/apicurio-registry:3.3.3   ~ apicurio/apicurio-registry:3.3.3
#       Apicurio's own prebuilt Quarkus distribution (.stack/registry/app) in /deployments on a Java
#       runtime made with jlink from the JDK 21+ the local stack uses; configured, as upstream, by
#       environment variables (QUARKUS_HTTP_PORT, APICURIO_STORAGE_KIND, APICURIO_KAFKASQL_*, ...).
#
# Both sit on the JRE stand-in of tools/container/base-images.sh (Debian bookworm, host CA certificates).
# Kept when an image of the same inputs exists (label txpipe.standin.hash).
#
#   bash tools/container/service-images.sh                # ensure both, print their names
#   bash tools/container/service-images.sh --print-env    # KAFKA_IMAGE=... REGISTRY_IMAGE=... for compose
#
# Env: ENGINE (docker|podman, default docker), STANDIN_PREFIX (default localhost/txpipe-standin),
# TXPIPE_REGISTRY_JAVA_HOME (the JDK 21+ to jlink from; else the newest under /usr/lib/jvm).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo_root/tools/container"
engine="${ENGINE:-docker}"
prefix="${STANDIN_PREFIX:-localhost/txpipe-standin}"
kafka_version=4.2.2
apicurio_version=3.3.3
kafka_image="$prefix/kafka:$kafka_version"
registry_image="$prefix/apicurio-registry:$apicurio_version"

if [[ "${1:-}" == "--print-env" ]]; then
  echo "KAFKA_IMAGE=$kafka_image REGISTRY_IMAGE=$registry_image"
  exit 0
fi

log() { echo "service-images: $*" >&2; }
[[ "$engine" == docker ]] && never_pull=(--pull=false) || never_pull=(--pull=never)

kafka_libs="$repo_root/.stack/kafka/libs"
registry_app="$repo_root/.stack/registry/app"
if [[ ! -e "$kafka_libs/kafka_2.13-$kafka_version.jar" || ! -e "$registry_app/quarkus-run.jar" ]]; then
  log "fetching Kafka's jars and Apicurio's distribution (python -m txpipe_tools.local_stack install)"
  py="$repo_root/.venv/bin/python"; [[ -x "$py" ]] || py=python3
  PYTHONPATH="$repo_root/src" "$py" -m txpipe_tools.local_stack install >&2
fi

# The stand-in JRE base (Debian + host CA certificates), built or loaded by base-images.sh.
ENGINE="$engine" bash "$here/base-images.sh" >/dev/null
base="$prefix/jre:17"

java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'; }
registry_jdk() {
  local home
  for home in "${TXPIPE_REGISTRY_JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    home="${home%/}"
    [[ -n "$home" && -x "$home/bin/jlink" ]] || continue
    (( $(java_major "$home") >= 21 )) && { echo "$home"; return; }
  done
  return 1
}

inputs_hash() {  # what an image is made of: this script, its files, the versions
  { sha256sum "$here/service-images.sh" "$here"/kafka/* "$here"/registry/* | cut -c1-64
    echo "$kafka_version $apicurio_version $("$engine" image inspect --format '{{.Id}}' "$base")"
  } | sha256sum | cut -c1-12
}
hash="$(inputs_hash)"
have_image() { [[ "$("$engine" image inspect --format '{{ index .Config.Labels "txpipe.standin.hash" }}' "$1" 2>/dev/null)" == "$hash" ]]; }

work="$(mktemp -d "${TMPDIR:-/var/tmp}/txpipe-service-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT

build() {  # name, context
  local t0 previous; t0=$(date +%s)
  previous="$("$engine" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)"
  log "building $1"
  "$engine" build --network host "${never_pull[@]}" -t "$1" -f "$2/Containerfile" "$2" >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; log "building $1 failed"; exit 1; }
  # The image this name pointed to before (other inputs) is now unnamed: drop it if unused.
  [[ -z "$previous" || "$previous" == "$("$engine" image inspect --format '{{.Id}}' "$1")" ]] \
    || "$engine" rmi "$previous" >/dev/null 2>&1 || true
  log "$1 built in $(( $(date +%s) - t0 ))s"
}

if ! have_image "$kafka_image"; then
  ctx="$work/kafka"; mkdir -p "$ctx/libs"
  cp "$here"/kafka/* "$ctx/"
  cp "$kafka_libs"/*.jar "$ctx/libs/"
  cat > "$ctx/Containerfile" <<CF
FROM $base
LABEL txpipe.standin.hash="$hash" \\
      org.opencontainers.image.description="txpipe stand-in for apache/kafka:$kafka_version (official jars from Maven Central)"
COPY libs/ /opt/kafka/libs/
COPY run /etc/kafka/docker/run
COPY server.properties log4j2.yaml tools-log4j2.yaml /etc/kafka/docker/
COPY kafka-run-class.sh kafka-server-start.sh /opt/kafka/bin/
# The tools, each the class its upstream script runs.
RUN set -e; cd /opt/kafka/bin; for pair in \\
      kafka-storage:kafka.tools.StorageTool kafka-cluster:org.apache.kafka.tools.ClusterTool \\
      kafka-topics:org.apache.kafka.tools.TopicCommand kafka-configs:kafka.admin.ConfigCommand \\
      kafka-console-consumer:org.apache.kafka.tools.consumer.ConsoleConsumer \\
      kafka-console-producer:org.apache.kafka.tools.ConsoleProducer \\
      kafka-consumer-groups:org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \\
      kafka-metadata-quorum:org.apache.kafka.tools.MetadataQuorumCommand \\
      kafka-transactions:org.apache.kafka.tools.TransactionsCommand; do \\
      printf '#!/usr/bin/env bash\nexec /opt/kafka/bin/kafka-run-class.sh %s "\$@"\n' "\${pair#*:}" > "\${pair%%:*}.sh"; \\
    done; chmod 755 /opt/kafka/bin/*.sh /etc/kafka/docker/run; \\
    useradd --uid 1000 --user-group --no-create-home --home-dir /opt/kafka appuser; \\
    mkdir -p /opt/kafka/config /mnt/shared/config /tmp/kraft-combined-logs; \\
    chown appuser:appuser /opt/kafka/config /mnt/shared/config /tmp/kraft-combined-logs
USER appuser
WORKDIR /opt/kafka
EXPOSE 9092
CMD ["/etc/kafka/docker/run"]
CF
  build "$kafka_image" "$ctx"
fi

if ! have_image "$registry_image"; then
  jdk="$(registry_jdk)" || { log "no JDK 21+ with jlink found (set TXPIPE_REGISTRY_JAVA_HOME)"; exit 1; }
  ctx="$work/registry"; mkdir -p "$ctx"
  log "Java runtime for the registry: jlink from $jdk"
  # Every module of that JDK but jlink itself and jpackage (a JDK 24+ without jmods/ links from its
  # own run-time image, which cannot hold jdk.jlink).
  modules="$("$jdk/bin/java" --list-modules | sed 's/@.*//' | grep -vxE 'jdk.jlink|jdk.jpackage' | paste -sd, -)"
  "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=zip-6 --output "$ctx/java" 2>&1 | grep -v 'incubator modules' >&2 || true
  [[ -x "$ctx/java/bin/java" ]] || { log "jlink from $jdk failed"; exit 1; }
  cp -r "$registry_app" "$ctx/deployments"
  rm -f "$ctx/deployments"/.installed-*
  cp "$here"/registry/* "$ctx/"
  cat > "$ctx/Containerfile" <<CF
FROM $base
LABEL txpipe.standin.hash="$hash" \\
      org.opencontainers.image.description="txpipe stand-in for apicurio/apicurio-registry:$apicurio_version (Apicurio's distribution from Maven Central)"
COPY java/ /opt/java/
COPY deployments/ /deployments/
COPY run-registry /usr/local/bin/run-registry
# Java's trust store: the base image's cacerts, which hold the host's CA certificates.
RUN ln -sf /etc/ssl/certs/java/cacerts /opt/java/lib/security/cacerts \\
 && chmod 755 /usr/local/bin/run-registry \\
 && useradd --uid 1001 --gid 0 --no-create-home --home-dir /deployments registry
USER 1001
WORKDIR /deployments
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/run-registry"]
CF
  build "$registry_image" "$ctx"
fi

echo "$kafka_image"
echo "$registry_image"
