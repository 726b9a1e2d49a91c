#!/usr/bin/env bash
# Prepares .devdeps/ (ignored by git) with the Debian packages the build needs and a GPU machine
# lacks (it has gcc, CMake, ninja, CUDA and Python, but no package registry), for
# scripts/gpu_proof.sh to unpack there into a private prefix. Run here, where apt-get works:
#   scripts/pack_devdeps.sh            # then carry ".devdeps" in the device call
# Checks that the packages unpack and work (protoc-c runs, pkg-config finds every library, the
# ONNX schema is there) and that the working tree plus .devdeps stay under the 64 MiB a device
# call may carry. Safe to run again: it starts from an empty .devdeps.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((64 * 1024 * 1024))

# protoc-c's own libraries are named after the protobuf ABI of this distribution (libprotoc32,
# libprotobuf32t64, ...): take them from its dependencies instead of hard-coding them.
protolibs=$(apt-cache depends protobuf-c-compiler 2>/dev/null |
  sed -n 's/^ *Depends: \(libproto[a-z]*[0-9][0-9a-z]*\)$/\1/p' | sort -u)
[ -n "$protolibs" ] || { echo "pack_devdeps: error: apt-cache knows no protobuf-c-compiler (apt-get update first?)" >&2; exit 1; }
# the ONNX schema (onnx.proto), protobuf-c, jansson, cmocka (the test programs), zlib, pkg-config
pkgs=(protobuf-c-compiler libprotobuf-c1 libprotobuf-c-dev $protolibs libjansson4 libjansson-dev
      libcmocka0 libcmocka-dev libonnx-dev zlib1g zlib1g-dev pkgconf pkgconf-bin libpkgconf3)

rm -rf .devdeps
mkdir -p .devdeps
(cd .devdeps && apt-get download "${pkgs[@]}") || {
  echo "pack_devdeps: error: apt-get download failed (try: apt-get update)" >&2
  exit 1
}

# the same checks gpu_proof.sh makes before building with them
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in .devdeps/*.deb; do dpkg-deb -x "$f" "$tmp"; done
lib=$tmp/usr/lib/x86_64-linux-gnu
env -i PATH="$tmp/usr/bin:/usr/bin:/bin" LD_LIBRARY_PATH="$lib" PKG_CONFIG_LIBDIR="$lib/pkgconfig:$tmp/usr/share/pkgconfig" \
  PKG_CONFIG_SYSROOT_DIR="$tmp" sh -c '
    set -e
    "$0/usr/bin/protoc-c" --version | head -1
    for m in libprotobuf-c jansson cmocka zlib; do printf "  %s %s\n" $m "$("$0/usr/bin/pkgconf" --modversion $m)"; done
    test -f "$0/usr/include/onnx/onnx.proto" && echo "  onnx.proto ok"' "$tmp"

debs=$(du -cb .devdeps/*.deb | tail -1 | cut -f1)
tree=$(git ls-files -z -co --exclude-standard | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" {s += $1} END {print s + 0}')
total=$((debs + tree))
awk -v n="$(ls .devdeps/*.deb | wc -l)" -v d="$debs" -v t="$tree" 'BEGIN {
  printf "pack_devdeps: %d packages, %.1f MiB; working tree %.1f MiB; together %.1f of 64 MiB\n",
         n, d / 1048576, t / 1048576, (d + t) / 1048576 }'
if ((total >= limit)); then
  echo "pack_devdeps: error: over the 64 MiB a device call carries" >&2
  exit 1
fi
echo 'pack_devdeps: ok; device call: run(command="scripts/gpu_proof.sh --out $OUT", carry=[".devdeps"])'
