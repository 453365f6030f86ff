#!/bin/sh
# Makes a Debian base image on a Slipway-owned Docker engine, which no registry can feed:
# a minbase root file system from the Debian mirror (mmdebstrap), imported as one layer.
# Usage: scripts/docker-base-image.sh <engine socket> <image ref> [suite] [package,package...]
#   e.g. scripts/docker-base-image.sh /var/lib/slipway/docker/docker.sock debian:bookworm-slim
# Needs root, mmdebstrap and the docker client (both from Debian). About 35 s and 160 MB here.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 <engine socket> <image ref> [suite] [packages]" >&2; exit 2; }
socket=$1
ref=$2
suite=${3:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
include=${4:-}
[ -S "$socket" ] || { echo "no engine socket at $socket" >&2; exit 1; }
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase --format=tar \
  ${include:+--include="$include"} \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  "$suite" "$work/rootfs.tar" "$sources"
docker -H "unix://$socket" import --change 'CMD ["/bin/bash"]' "$work/rootfs.tar" "$ref"
