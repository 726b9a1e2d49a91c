#!/bin/sh
# cmake --install into a scratch prefix, then the sample application (samples/mtrt_app) built
# against the installed libmtrt both ways, find_package(mtrt) and pkg-config, and run on a bundle;
# then against the installed static libmtrt.a (mtrt::mtrt_static), which must need no libmtrt.so.
# usage: check_install.sh BUILD_DIR SOURCE_DIR BUNDLE
set -eu
build="$1"; src="$2"; bundle="$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/samples/mtrt_app" -B "$work/app" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/app" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib" "$work/app/mtrt_app" "$bundle" | grep 'on cpu'
libdir=$(ls -d "$work/prefix"/lib*/pkgconfig | head -1)
export PKG_CONFIG_PATH="$libdir"
cc -std=c17 -Wall -Werror $(pkg-config --cflags mtrt) "$src/samples/mtrt_app/main.c" \
   -o "$work/app_pc" $(pkg-config --libs mtrt)
LD_LIBRARY_PATH="$work/prefix/lib" "$work/app_pc" "$bundle" | grep 'on cpu'
cmake -S "$src/samples/mtrt_app" -B "$work/app_static" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DMTRT_APP_STATIC=ON >/dev/null
cmake --build "$work/app_static" >/dev/null
if ldd "$work/app_static/mtrt_app" | grep -q libmtrt; then
  echo "the static build still needs libmtrt.so"; exit 1
fi
"$work/app_static/mtrt_app" "$bundle" | grep 'on cpu'
# the Triton backend finds the installed libmtrt through its RUNPATH, no LD_LIBRARY_PATH
backend=$(find "$work/prefix" -name libtriton_mtrt.so | head -1)
[ -n "$backend" ] || { echo "libtriton_mtrt.so is not installed"; exit 1; }
ldd "$backend" | grep -q "libmtrt.so.1 => $work/prefix/" || {
  echo "installed $backend does not resolve the installed libmtrt:"; ldd "$backend"; exit 1; }
echo "installed package: find_package(mtrt) (shared and static) and pkg-config builds run; the Triton backend links the installed libmtrt"
