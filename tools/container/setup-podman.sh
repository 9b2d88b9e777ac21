#!/usr/bin/env bash
# Makes podman usable as the container engine on a CI machine or a sandbox without Docker:
#   bash tools/container/setup-podman.sh
#
# - installs podman (+ debootstrap for the stand-in base images) from the machine's own apt
#   sources when missing (needs root; does nothing when podman is already there);
# - writes /etc/containers/containers.conf: OCI runtime runc, cgroupfs cgroup manager (no
#   systemd in the sandbox), no default ulimits (the sandbox refuses raising NOFILE/NPROC),
#   host networking by default (the only network here is loopback + the package registries);
# - writes /etc/containers/storage.conf: native overlay when the kernel allows mounting it,
#   else overlay through fuse-overlayfs, else vfs (slow, copies every layer, but always works).
#
# Files it did not write itself (no marker line) are left alone. Idempotent.
# Env: TXPIPE_PODMAN_STORAGE=overlay|fuse-overlayfs|vfs forces a storage driver choice.
set -euo pipefail

marker="# written by txpipe tools/container/setup-podman.sh"
conf_dir=/etc/containers

need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v fuse-overlayfs >/dev/null || need+=(fuse-overlayfs)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "setup-podman: missing ${need[*]} and cannot apt-get install them (need root on Debian/Ubuntu)" >&2
    exit 1
  fi
  echo "setup-podman: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # With the recommended packages (conmon, CNI plugins, catatonit, ...): what was tested.
  apt-get install -y -qq "${need[@]}" uidmap slirp4netns >/dev/null
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-podman: not root; leaving $conf_dir alone (rootless podman uses ~/.config/containers)" >&2
  podman info >/dev/null
  exit 0
fi

mkdir -p "$conf_dir"

writable() {  # true when the file is absent or was written by this script
  [[ ! -e "$1" ]] || grep -qxF "$marker" "$1"
}

if writable "$conf_dir/containers.conf"; then
  cat > "$conf_dir/containers.conf" <<CONF
$marker
[containers]
# The sandbox refuses raising NOFILE/NPROC: start containers with the limits they inherit.
default_ulimits = []
# Only loopback exists here: containers share the host's network (the local stack is on 127.0.0.1).
netns = "host"

[engine]
runtime = "runc"
# No systemd to delegate cgroups to.
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

pick_storage() {
  if [[ -n "${TXPIPE_PODMAN_STORAGE:-}" ]]; then echo "$TXPIPE_PODMAN_STORAGE"; return; fi
  local d; d="$(mktemp -d)"
  mkdir -p "$d"/{l,u,w,m}
  if mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then
    umount "$d/m"; rm -rf "$d"; echo overlay; return
  fi
  rm -rf "$d"
  if command -v fuse-overlayfs >/dev/null && [[ -e /dev/fuse ]]; then echo fuse-overlayfs; return; fi
  echo vfs
}

if writable "$conf_dir/storage.conf"; then
  choice="$(pick_storage)"
  driver=$choice; options=""
  case "$choice" in
    overlay) ;;
    fuse-overlayfs) driver=overlay; options=$'[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"' ;;
    vfs) ;;
    *) echo "setup-podman: unknown storage choice $choice" >&2; exit 1 ;;
  esac
  current=""
  [[ -f "$conf_dir/storage.conf" ]] && current="$(sed -n 's/^# choice: //p' "$conf_dir/storage.conf")"
  if [[ "$current" != "$choice" ]]; then
    if [[ -n "$current" ]]; then
      # Switching drivers with images stored under the old one makes podman refuse to start.
      echo "setup-podman: storage driver changes from $current to $choice: resetting podman storage" >&2
      podman system reset --force >/dev/null 2>&1 || true
    fi
    cat > "$conf_dir/storage.conf" <<CONF
$marker
# choice: $choice
[storage]
driver = "$driver"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
$options
CONF
  fi
fi

podman info --format 'podman {{.Version.Version}}: storage {{.Store.GraphDriverName}}, runtime {{.Host.OCIRuntime.Name}}, cgroups {{.Host.CgroupManager}}' >&2
