# Functions of infra/docker/build.sh (sourced; expects ROOT_DIR, BUILD_DIR, REPOSITORY, TAG,
# ARCHIVE). The base image for buildah is made by base-image.sh.
# shellcheck shell=bash

die() {
  echo "build.sh: $*" >&2
  exit 1
}

SUDO=()
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else "${SUDO[@]}" "$@"; fi
}

# Installs the Debian packages that are missing (apt-get, as root or through sudo).
install_packages() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "installing ${missing[*]} needs root; run as root or install sudo"
    SUDO=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "${missing[*]} missing and no apt-get to install them: install them by hand"
  echo "build.sh: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Mount points below build/ (what a killed debootstrap or buildah run could leave), deepest first.
mounts_below() {
  awk -v dir="$1/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_below() {
  local m
  for m in $(mounts_below "$1"); do as_root umount -l "$m" 2>/dev/null || true; done
}

check_no_mounts() {
  local left
  left=$(mounts_below "$BUILD_DIR")
  [ -z "$left" ] || die "mounts left below $BUILD_DIR: $left"
}

# `repositories` names the image as skopeo normalised it (docker.io/<repository>, or
# docker.io/library/<name> for a single-component name); Mesos looks up the bare repository the
# task names, so the key is rewritten to it. The archive is written again with every other entry
# as it was, in the same order (GNU tar's --delete corrupts the archives skopeo writes).
rewrite_repositories() {
  local tar=$1 work
  work=$(mktemp -d "$BUILD_DIR/image/.rewrite.XXXXXX")
  tar -tf "$tar" >"$work.list"
  tar -xpf "$tar" -C "$work" --numeric-owner
  chmod u+w "$work/repositories"
  sed -i -e "s#\"docker\\.io/library/$REPOSITORY\"#\"$REPOSITORY\"#" -e "s#\"docker\\.io/$REPOSITORY\"#\"$REPOSITORY\"#" "$work/repositories"
  grep -q "^{\"$REPOSITORY\":{\"$TAG\":\"[0-9a-f]\{64\}\"}}" "$work/repositories" ||
    die "unexpected 'repositories' in the exported archive: $(cat "$work/repositories")"
  tar -cf "$tar.new" -C "$work" --numeric-owner --no-recursion -T "$work.list"
  mv -f "$tar.new" "$tar"
  rm -rf "$work" "$work.list"
}

# skopeo copy <source reference>: writes the archive under a name without ':' (skopeo cannot
# take one), rewrites `repositories`, then renames it to <repository>:<tag>.tar.
export_archive() {
  local source=$1 tmp
  mkdir -p "$(dirname "$ARCHIVE")"
  tmp="$BUILD_DIR/image/.export-$$.tar"
  rm -f "$tmp"
  skopeo copy --quiet "$source" "docker-archive:$tmp:$REPOSITORY:$TAG"
  rewrite_repositories "$tmp"
  mv -f "$tmp" "$ARCHIVE"
}

# The CA bundle npm trusts here (SLUICE_BUILD_CA_FILE, NODE_EXTRA_CA_CERTS or npm's cafile), for
# a network behind a TLS-intercepting proxy: passed to the build as the secret `npm_ca`.
ca_secret_args() {
  local file=${SLUICE_BUILD_CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}
  if [ -z "$file" ] && command -v npm >/dev/null 2>&1; then file=$(npm config get cafile 2>/dev/null || true); fi
  if [ -n "$file" ] && [ -s "$file" ]; then
    echo "build.sh: npm in the build trusts the CA bundle $file (build secret npm_ca)" >&2
    printf '%s\n' --secret "id=npm_ca,src=$file"
  fi
}

build_with_docker() {
  install_packages skopeo
  local secret
  mapfile -t secret < <(ca_secret_args)
  DOCKER_BUILDKIT=1 docker build "${secret[@]}" -f infra/docker/Dockerfile -t "$REPOSITORY:$TAG" .
  export_archive "docker-daemon:$REPOSITORY:$TAG"
}

# buildah with its own storage under build/containers (never the system's /var/lib/containers).
STORAGE_ROOT="$BUILD_DIR/containers/storage"
STORAGE_RUNROOT="$BUILD_DIR/containers/run"
bah() {
  buildah --root "$STORAGE_ROOT" --runroot "$STORAGE_RUNROOT" --storage-driver vfs "$@"
}

cleanup_buildah() {
  bah rm --all >/dev/null 2>&1 || true
  unmount_below "$BUILD_DIR"
}

build_with_buildah() {
  [ "$(id -u)" -eq 0 ] || die "the buildah build needs root (debootstrap, chroot isolation): run 'sudo bash infra/docker/build.sh', or use --builder docker"
  [ "$(dpkg --print-architecture)" = amd64 ] || die "the buildah build makes an amd64 base only; on $(dpkg --print-architecture) use --builder docker"
  install_packages buildah skopeo debootstrap debian-archive-keyring
  trap cleanup_buildah EXIT
  . infra/docker/base-image.sh
  local base
  base=$(ensure_base_image)
  local image="localhost/$REPOSITORY:$TAG" secret
  mapfile -t secret < <(ca_secret_args)
  echo "build.sh: building infra/docker/Dockerfile on $base"
  BUILDAH_ISOLATION=chroot bah bud --pull=never --format docker --layers=false "${secret[@]}" \
    --build-arg "BASE_IMAGE=$base" -f infra/docker/Dockerfile -t "$image" .
  export_archive "containers-storage:[vfs@$STORAGE_ROOT+$STORAGE_RUNROOT]$image"
  # Only the base stays in the private storage; the image itself lives on in the archive.
  bah rmi "$image" >/dev/null
  bah rmi --prune >/dev/null 2>&1 || true
}
