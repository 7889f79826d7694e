#!/bin/sh
# Copies Sluice's runtime out of a built checkout into a directory of its own, for the image's
# final stage: `stage-runtime.sh <checkout> <target>`. The checkout must be built (npm run build)
# and then installed with `npm ci --omit=dev`, so its node_modules holds production
# dependencies only (esbuild stays: `sluice run` and `submit` bundle jobs with it).
#
# The target gets every workspace package under packages/ (package.json, README, dist without
# build caches, the CLI's bin/) and node_modules with the links npm made to them; the links to
# the examples, bench and test workspaces are dropped, as those stay out of the image.
set -eu

src=${1:?usage: stage-runtime.sh <built checkout> <target directory>}
dst=${2:?usage: stage-runtime.sh <built checkout> <target directory>}

for tool in typescript vitest turbo; do
  if [ -e "$src/node_modules/$tool" ]; then
    echo "stage-runtime.sh: $src/node_modules/$tool exists: install with 'npm ci --omit=dev' first" >&2
    exit 1
  fi
done

mkdir -p "$dst/packages"
version=$(node -p "require('$src/packages/cli/package.json').version")
printf '{\n  "name": "sluice-runtime",\n  "version": "%s",\n  "private": true,\n  "type": "module"\n}\n' "$version" > "$dst/package.json"

for dir in "$src"/packages/*/; do
  name=$(basename "$dir")
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/dist" ]; then
    echo "stage-runtime.sh: $dir/dist is missing: run 'npm run build' first" >&2
    exit 1
  fi
  mkdir -p "$dst/packages/$name"
  cp "$dir/package.json" "$dst/packages/$name/"
  [ -f "$dir/README.md" ] && cp "$dir/README.md" "$dst/packages/$name/"
  [ -d "$dir/bin" ] && cp -R "$dir/bin" "$dst/packages/$name/"
  cp -R "$dir/dist" "$dst/packages/$name/"
done
find "$dst/packages" -name '*.tsbuildinfo' -delete

cp -R "$src/node_modules" "$dst/node_modules"
rm -f "$dst/node_modules/@sluice/examples" "$dst/node_modules/@sluice/bench" "$dst/node_modules/@sluice/tests"
# Every remaining link must resolve inside the target (a dangling one would mean a workspace left out).
find "$dst/node_modules" -type l ! -exec test -e {} \; -print | {
  dangling=$(cat)
  if [ -n "$dangling" ]; then
    echo "stage-runtime.sh: dangling links in $dst/node_modules:" >&2
    echo "$dangling" >&2
    exit 1
  fi
}

chmod 755 "$dst/packages/cli/bin/sluice.js" "$dst/packages/mesos-executor/dist/executor-main.js"
echo "stage-runtime.sh: Sluice $version staged in $dst ($(du -sh "$dst" | cut -f1))"
