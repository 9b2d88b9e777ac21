#!/usr/bin/env bash
# Builds local stand-ins for the upstream base images of docker/Dockerfile, for machines that
# cannot pull from Docker Hub. Debian bookworm from the Debian mirror this machine's apt
# already uses (read from /etc/apt/sources.list*), rooted with debootstrap:
#
#   localhost/txpipe-standin/python:3.11   python3 (3.11) + pip + venv     ~ python:3.11-slim
#   localhost/txpipe-standin/jdk:17        openjdk-17-jdk-headless + maven ~ eclipse-temurin:17-jdk
#   localhost/txpipe-standin/jre:17        openjdk-17-jre-headless         ~ eclipse-temurin:17-jre
#
# (maven: bin/sbt fetches the sbt launcher with it; the Dockerfile apt-installs it when the
# base image lacks it, so the stand-in only saves that step.)
#
# The CA certificates in /usr/local/share/ca-certificates/ (e.g. an egress proxy's) are copied
# into the root and installed (system bundle, and Java's cacerts through ca-certificates-java),
# so pip, Maven and sbt in build steps trust the same TLS the host does.
#
# Cached: images that exist are kept; otherwise they are loaded from .stack/images/*-<hash>.tar
# (hash of this script), and only built (debootstrap, then podman build) when that is missing.
#
#   bash tools/container/base-images.sh           # ensure all three, print their names
#   bash tools/container/base-images.sh --force   # rebuild even if present
#   bash tools/container/base-images.sh --print-build-args   # --build-arg flags for docker/Dockerfile
#
# Env: ENGINE (podman|docker, default podman), DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR to
# override what is read from apt's sources, STANDIN_PREFIX (default localhost/txpipe-standin).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
script="$repo_root/tools/container/base-images.sh"
engine="${ENGINE:-podman}"
prefix="${STANDIN_PREFIX:-localhost/txpipe-standin}"
suite=bookworm
cache_dir="$repo_root/.stack/images"
hash="$(sha256sum "$script" | cut -c1-12)"

# podman and docker differ in a few flags.
if [[ "$engine" == docker ]]; then
  never_pull=(--pull=false); quiet=()
else
  never_pull=(--pull=never); quiet=(-q)
fi

declare -A image=(
  [python]="$prefix/python:3.11"
  [jdk]="$prefix/jdk:17"
  [jre]="$prefix/jre:17"
)
declare -A packages=(
  [python]="python3 python3-pip python3-venv python-is-python3"
  [jdk]="openjdk-17-jdk-headless maven"
  [jre]="openjdk-17-jre-headless"
)
declare -A build_arg=([python]=PYTHON_IMAGE [jdk]=JDK_IMAGE [jre]=JRE_IMAGE)

if [[ "${1:-}" == "--print-build-args" ]]; then
  for k in python jdk jre; do printf -- '--build-arg %s=%s ' "${build_arg[$k]}" "${image[$k]}"; done
  echo
  exit 0
fi
force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { echo "base-images: $*" >&2; }
now() { date +%s; }

# The first URI apt uses for a suite's main component (deb822 .sources and one-line .list files).
apt_mirror() {
  local want="$1" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    if [[ "$f" == *.sources ]]; then
      awk -v want="$want" '
        function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && enabled != "no" && uri != "") { print uri; found = 1; exit } types = suites = uri = ""; enabled = "yes" }
        BEGIN { enabled = "yes" }
        /^[[:space:]]*$/ { flush(); next }
        /^[[:space:]]*#/ { next }
        tolower($1) == "types:"   { $1 = ""; types = $0 }
        tolower($1) == "uris:"    { uri = $2 }
        tolower($1) == "suites:"  { $1 = ""; suites = $0 }
        tolower($1) == "enabled:" { enabled = tolower($2) }
        END { if (!found) flush() }' "$f"
    else
      awk -v want="$want" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == want) { print $i; exit } }' "$f"
    fi
  done | head -n 1
}

# An image counts only when built by this version of the script (label txpipe.standin.hash).
have_image() {
  [[ "$("$engine" image inspect --format '{{ index .Config.Labels "txpipe.standin.hash" }}' "$1" 2>/dev/null)" == "$hash" ]]
}

missing=()
for k in python jdk jre; do
  if ((! force)) && have_image "${image[$k]}" && [[ ! -s "$cache_dir/$k-$hash.tar" ]]; then
    # Present but not cached (e.g. .stack/ was wiped): keep a copy for machines that lose storage.
    mkdir -p "$cache_dir"
    "$engine" save "${quiet[@]}" -o "$cache_dir/.$k.tar.tmp" "${image[$k]}" && mv -f "$cache_dir/.$k.tar.tmp" "$cache_dir/$k-$hash.tar"
  fi
  if ((force)) || ! have_image "${image[$k]}"; then
    tarball="$cache_dir/$k-$hash.tar"
    if ((! force)) && [[ -s "$tarball" ]]; then
      log "loading ${image[$k]} from ${tarball#"$repo_root"/}"
      "$engine" load "${quiet[@]}" -i "$tarball" >/dev/null
      # podman load keeps the saved name; make sure the tag is the expected one.
      have_image "${image[$k]}" || { log "load did not restore ${image[$k]}"; missing+=("$k"); }
    else
      missing+=("$k")
    fi
  fi
done

if ((${#missing[@]} == 0)); then
  for k in python jdk jre; do echo "${image[$k]}"; done
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { log "debootstrap needs root"; exit 1; }
command -v debootstrap >/dev/null || { log "debootstrap missing: run tools/container/setup-podman.sh"; exit 1; }

mirror="${DEBIAN_MIRROR:-$(apt_mirror "$suite")}"
security="${DEBIAN_SECURITY_MIRROR:-$(apt_mirror "$suite-security")}"
[[ -n "$mirror" ]] || { log "no apt source for $suite found in /etc/apt/sources.list*; set DEBIAN_MIRROR"; exit 1; }
log "mirror $mirror${security:+, security $security}"

mkdir -p "$cache_dir"
[[ -f "$repo_root/.stack/.gitignore" ]] || printf '*\n' > "$repo_root/.stack/.gitignore"
# Scratch space outside the work tree; only finished tarballs land in the cache dir.
work="$(mktemp -d "${TMPDIR:-/var/tmp}/txpipe-standin.XXXXXX")"
cleanup() {
  # debootstrap leaves /proc mounted in the root when it fails: unmount before deleting.
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# 1. The shared root: debootstrap minbase + CA certificates (cached as a tarball).
base_tar="$cache_dir/rootfs-$suite-$hash.tar"
if ((force)) || [[ ! -s "$base_tar" ]]; then
  t0=$(now)
  root="$work/root"
  log "debootstrap $suite (minbase) into $root"
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    [[ -n "$security" ]] && echo "deb $security $suite-security main"
  } > "$root/etc/apt/sources.list"
  shopt -s nullglob
  certs=(/usr/local/share/ca-certificates/*.crt)
  shopt -u nullglob
  if ((${#certs[@]})); then
    mkdir -p "$root/usr/local/share/ca-certificates/host"
    cp "${certs[@]}" "$root/usr/local/share/ca-certificates/host/"
    chroot "$root" update-ca-certificates >/dev/null
    log "installed ${#certs[@]} host CA certificate(s)"
  fi
  # Keep images small: no package cache, lists, docs or man pages (as the slim upstream images).
  cat > "$root/etc/dpkg/dpkg.cfg.d/01-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  echo 'APT::Install-Recommends "false"; APT::Install-Suggests "false";' > "$root/etc/apt/apt.conf.d/01-no-recommends"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
  tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
  mkdir -p "$cache_dir"
  mv -f "$work/rootfs.tar" "$base_tar"
  rm -rf "$root"
  log "debootstrap done in $(( $(now) - t0 ))s ($(du -h "$base_tar" | cut -f1))"
fi

base_image="$prefix/debian:$suite"
"$engine" import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$base_tar" "$base_image" >"$work/import.log" 2>&1 \
  || { cat "$work/import.log" >&2; exit 1; }

# 2. One image per role, on top of it, with apt inside (host networking: the build's only network).
for k in "${missing[@]}"; do
  t0=$(now)
  ctx="$work/$k"
  mkdir -p "$ctx"
  cat > "$ctx/Containerfile" <<CF
FROM $base_image
LABEL txpipe.standin.hash="$hash" org.opencontainers.image.description="txpipe stand-in for docker/Dockerfile's ${build_arg[$k]} (Debian $suite: ${packages[$k]})"
RUN export DEBIAN_FRONTEND=noninteractive \\
 && apt-get update -qq \\
 && apt-get upgrade -y -qq \\
 && mkdir -p /usr/share/man/man1 \\
 && apt-get install -y -qq --no-install-recommends ${packages[$k]} \\
 && update-ca-certificates \\
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log
CF
  if [[ $k == jdk || $k == jre ]]; then
    # Check the host CA made it into Java's trust store (that is what Maven and sbt use).
    cat >> "$ctx/Containerfile" <<'CF'
RUN for c in /usr/local/share/ca-certificates/host/*.crt; do [ -e "$c" ] || continue; \
      fp=$(openssl x509 -in "$c" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2); \
      [ -z "$fp" ] || keytool -list -cacerts -storepass changeit | grep -qi "$fp" \
        || { echo "CA $c missing from Java cacerts" >&2; exit 1; }; done
CF
  fi
  log "building ${image[$k]} (${packages[$k]})"
  previous="$("$engine" image inspect --format '{{.Id}}' "${image[$k]}" 2>/dev/null || true)"
  # (openjdk's postinst registers man pages with update-alternatives: man1/ must exist.)
  "$engine" build --network host "${never_pull[@]}" -t "${image[$k]}" -f "$ctx/Containerfile" "$ctx" >"$work/$k.log" 2>&1 \
    || { tail -n 40 "$work/$k.log" >&2; log "building ${image[$k]} failed"; exit 1; }
  mkdir -p "$cache_dir"
  rm -f "$cache_dir/$k-"*.tar
  "$engine" save "${quiet[@]}" -o "$work/$k.tar" "${image[$k]}"
  mv -f "$work/$k.tar" "$cache_dir/$k-$hash.tar"
  # The image this tag pointed to before (an older stand-in) is now unnamed: drop it if unused.
  if [[ -n "$previous" && "$previous" != "$("$engine" image inspect --format '{{.Id}}' "${image[$k]}")" ]]; then
    "$engine" rmi "$previous" >/dev/null 2>&1 || true
  fi
  log "${image[$k]} built in $(( $(now) - t0 ))s"
done

# Old cache generations (another hash) are dead weight.
find "$cache_dir" -maxdepth 1 -name '*.tar' ! -name "*-$hash.tar" -delete
for k in python jdk jre; do echo "${image[$k]}"; done
