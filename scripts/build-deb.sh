#!/bin/bash
# Builds agentos_<version>_<arch>.deb into OUTDIR (default ./dist) from a clean staging copy of the
# tracked sources, with packaging/debian as debian/. Prints the .deb's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist}")
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

src="$stage/agentos-$version"
mkdir -p "$src" "$out"
# Tracked files plus anything new not ignored, exactly as in the working tree.
git ls-files -z --cached --others --exclude-standard | grep -zv '^packaging/debian/' |
  xargs -0 cp --parents -t "$src"
cp -r packaging/debian "$src/debian"
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$stage/build.log" 2>&1) ||
  { tail -50 "$stage/build.log" >&2; exit 1; }
deb=$(ls "$stage"/agentos_"$version"_*.deb)
mv "$deb" "$out/"
echo "$out/$(basename "$deb")"
