#!/usr/bin/env bash
# Makes Docker Engine and Docker Compose v2 usable on a Debian machine with no systemd (CI, a sandbox):
#
#   bash tools/container/setup-docker.sh          # install / start / build what is missing
#   bash tools/container/setup-docker.sh --stop   # stop the dockerd this script started (by its PID)
#
# - Docker Engine: Debian's docker.io package (Engine 20.10), installed with apt-get when dockerd is
#   missing (needs root). When no engine answers `docker info`, dockerd is started in the background;
#   its PID goes to .stack/docker/dockerd.pid and its log to .stack/docker/dockerd.log.
# - Docker Compose v2: not packaged by Debian, so the plugin is built from Compose's own Go module
#   (`go mod download` of github.com/docker/compose/v5 at $COMPOSE_VERSION, then `go build ./cmd` in
#   its folder: about 3 minutes on 2 cores; a plain `go install` refuses the module because its go.mod
#   has exclude directives). The binary is cached in .stack/docker/compose-<version>/ and copied to
#   the CLI plugin folder (/usr/local/lib/docker/cli-plugins as root, else ~/.docker/cli-plugins).
#   Nothing is built when `docker compose version` already answers.
#
# Exits 0 once `docker info` and `docker compose version` both answer; otherwise 1 with the reason,
# so a caller can fall back to podman (tools/container/setup-podman.sh).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state_dir="$repo_root/.stack/docker"
pid_file="$state_dir/dockerd.pid"
compose_version="${COMPOSE_VERSION:-v5.6.0}"
compose_module="github.com/docker/compose/v5"

log() { echo "setup-docker: $*" >&2; }
engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

if [[ "${1:-}" == "--stop" ]]; then
  [[ -s "$pid_file" ]] || { log "no dockerd started by this script (no $pid_file)"; exit 0; }
  pid="$(cat "$pid_file")"
  if kill -0 "$pid" 2>/dev/null && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]]; then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && { log "dockerd (pid $pid) still running after 60 s"; exit 1; }
  fi
  rm -f "$pid_file"
  exit 0
fi

mkdir -p "$state_dir"
[[ -f "$repo_root/.stack/.gitignore" ]] || printf '*\n' > "$repo_root/.stack/.gitignore"

# 1. The engine.
if ! command -v dockerd >/dev/null 2>&1 && [[ ! -x /usr/sbin/dockerd ]]; then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "dockerd is missing and cannot be installed here (needs root and apt-get: apt-get install docker.io)"
    exit 1
  fi
  log "installing docker.io (Docker Engine) with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi
# debootstrap builds the stand-in base images (tools/container/base-images.sh) on machines without Docker Hub.
if ! command -v debootstrap >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  log "installing debootstrap (stand-in base images)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi
if ! engine_answers; then
  [[ $(id -u) -eq 0 ]] || { log "no Docker engine answers and starting dockerd needs root"; exit 1; }
  dockerd_bin="$(command -v dockerd || echo /usr/sbin/dockerd)"
  log "no Docker engine answers: starting $dockerd_bin in the background (log: ${state_dir#"$repo_root"/}/dockerd.log)"
  # setsid: its own session, so the caller's Ctrl-C or exit does not take it down half-way.
  setsid "$dockerd_bin" >"$state_dir/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$pid_file"
  for _ in $(seq 1 60); do
    engine_answers && break
    kill -0 "$(cat "$pid_file")" 2>/dev/null || { tail -n 30 "$state_dir/dockerd.log" >&2; log "dockerd exited"; rm -f "$pid_file"; exit 1; }
    sleep 1
  done
  engine_answers || { tail -n 30 "$state_dir/dockerd.log" >&2; log "dockerd did not answer within 60 s"; exit 1; }
  log "dockerd is up (pid $(cat "$pid_file")); stop it with: bash tools/container/setup-docker.sh --stop"
fi

# 2. The Compose v2 plugin.
if ! docker compose version >/dev/null 2>&1; then
  cached="$state_dir/compose-$compose_version/docker-compose"
  if [[ ! -x "$cached" ]]; then
    command -v go >/dev/null || { log "Go is needed to build Docker Compose (go build of $compose_module@$compose_version)"; exit 1; }
    t0=$(date +%s)
    log "building Docker Compose $compose_version from its Go module (a few minutes)"
    dir="$(cd "$state_dir" && go mod download -json "$compose_module@$compose_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [[ -n "$dir" && -d "$dir" ]] || { log "go mod download of $compose_module@$compose_version gave no folder"; exit 1; }
    mkdir -p "$(dirname "$cached")"
    (cd "$dir" && GOFLAGS=-buildvcs=false go build -trimpath \
        -ldflags "-s -w -X $compose_module/internal.Version=$compose_version" -o "$cached.tmp" ./cmd)
    mv -f "$cached.tmp" "$cached"
    log "Docker Compose $compose_version built in $(( $(date +%s) - t0 ))s (cached in ${cached#"$repo_root"/})"
  fi
  if [[ $(id -u) -eq 0 ]]; then plugins=/usr/local/lib/docker/cli-plugins; else plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"; fi
  mkdir -p "$plugins"
  # A copy, not a link: the plugin must outlive this clone's .stack/.
  cp -f "$cached" "$plugins/docker-compose"
  docker compose version >/dev/null 2>&1 || { log "docker compose does not answer after installing $plugins/docker-compose"; exit 1; }
fi

log "$(docker version --format 'Docker Engine {{.Server.Version}}' 2>/dev/null), $(docker compose version 2>/dev/null)"
