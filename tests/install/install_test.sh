#!/bin/sh
# Installs the build into a temporary prefix and uses it as a stranger would: the headers
# compile alone (C and C++), the embed example builds against it through pkg-config and
# through find_package (shared and static each way), and every binary's output is read
# back and checked (check_embed.py).
#
#   install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR PYTHON CC [CXX]     (env CMAKE: cmake)
set -eu
build=$1 src=$2 work=$3 python=$4 cc=$5 cxx=${6:-}
cmake=${CMAKE:-cmake}
prefix=$work/prefix
step() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
# Keep what the caller may have set from leaking in.
unset PKG_CONFIG_PATH LD_LIBRARY_PATH CMAKE_PREFIX_PATH CFLAGS LDFLAGS || true

step "cmake --install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
# lib, lib64 or lib/<multiarch>: whatever GNUInstallDirs chose at configure time.
lib=$(find "$prefix" -name libshardpack.so -type l | head -n 1)
[ -n "$lib" ] || fail "libshardpack.so not installed"
libdir=$(dirname "$lib")
for f in include/shardpack/shardpack.h include/shardpack/stage.h include/shardpack/reader.h \
         include/shardpack/image.h include/shardpack/ops.h bin/shardpack share/man/man1/shardpack.1 \
         "${libdir#"$prefix"/}"/libshardpack.a "${libdir#"$prefix"/}"/pkgconfig/shardpack.pc \
         "${libdir#"$prefix"/}"/cmake/shardpack/shardpackConfig.cmake \
         "${libdir#"$prefix"/}"/cmake/shardpack/shardpackConfigVersion.cmake; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] && [ -e "$libdir/$soname" ] || fail "libshardpack.so: SONAME '$soname' not installed"
"$prefix/bin/shardpack" --version | grep -q '^shardpack [0-9]' || fail "installed CLI does not run"

step "each installed header compiles on its own"
for h in "$prefix"/include/shardpack/*.h; do
  name=shardpack/$(basename "$h")
  printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$name" "$name" >"$work/h.c"
  "$cc" -std=c11 -pedantic -Wall -Wextra -Wstrict-prototypes -Werror -I"$prefix/include" \
    -c "$work/h.c" -o "$work/h.o" || fail "$name does not compile alone as C11"
  if [ -n "$cxx" ]; then
    cp "$work/h.c" "$work/h.cpp"
    "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -I"$prefix/include" \
      -c "$work/h.cpp" -o "$work/h.o" || fail "$name does not compile alone as C++11"
  fi
done
[ -n "$cxx" ] || echo "no C++ compiler given: the C++ checks are skipped"
if [ -n "$cxx" ]; then
  # The extern "C" guards hold at link time: a C++ program calls the shared library.
  cat >"$work/cxx.cpp" <<'CXX'
#include <shardpack/shardpack.h>
#include <shardpack/reader.h>
#include <shardpack/stage.h>
#include <cstdio>
int main() {
    sp_ctx *ctx = nullptr;
    if (sp_ctx_new(&ctx) != SP_OK) return 1;
    std::printf("%s %s\n", SP_VERSION_STRING, sp_strerror(SP_E_CORRUPT));
    sp_ctx_free(&ctx);
    return ctx == nullptr ? 0 : 1;
}
CXX
  "$cxx" -std=c++11 -Wall -Wextra -Werror -I"$prefix/include" "$work/cxx.cpp" -o "$work/cxx" \
    -L"$libdir" -lshardpack || fail "a C++ program does not link"
  LD_LIBRARY_PATH=$libdir "$work/cxx" | grep -q ' corrupt$' || fail "the C++ program failed"
fi

step "pkg-config: shardpack.pc"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --validate shardpack || fail "shardpack.pc does not validate"
version=$("$prefix/bin/shardpack" --version | cut -d' ' -f2)
[ "$(pkg-config --modversion shardpack)" = "$version" ] || fail "shardpack.pc version != $version"
[ "$(cd "$(pkg-config --variable=libdir shardpack)" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ] ||
  fail "shardpack.pc's libdir is not $libdir"

step "embed through pkg-config (Makefile): shared and static"
mkdir -p "$work/pc"
cp "$src/examples/embed/embed.c" "$src/examples/embed/Makefile" "$work/pc/"
make -s -C "$work/pc" CC="$cc" CFLAGS="-O2 -Wall -Wextra -Werror" embed embed-static
unset PKG_CONFIG_PATH

step "embed through find_package (CMakeLists.txt): shared and static"
for kind in shared static; do
  static=OFF
  [ $kind = static ] && static=ON
  "$cmake" -S "$src/examples/embed" -B "$work/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" -DEMBED_STATIC=$static \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/cmake-$kind.log" ||
    { cat "$work/cmake-$kind.log"; fail "configuring the example ($kind)"; }
  dir=$(sed -n 's/^shardpack_DIR:PATH=//p' "$work/cmake-$kind/CMakeCache.txt")
  [ "$(cd "$dir" && pwd -P)" = "$(cd "$libdir" && pwd -P)/cmake/shardpack" ] ||
    fail "find_package found shardpack in $dir, not in $prefix"
  "$cmake" --build "$work/cmake-$kind" >"$work/cmake-$kind-build.log" ||
    { cat "$work/cmake-$kind-build.log"; fail "building the example ($kind)"; }
done

# Shared builds must load libshardpack.so; static ones must not need it at all.
for b in pc/embed cmake-shared/embed; do
  readelf -d "$work/$b" | grep -q "NEEDED.*\[$soname\]" || fail "$b does not use $soname"
done
for b in pc/embed-static cmake-static/embed; do
  readelf -d "$work/$b" | grep -q 'NEEDED.*libshardpack' && fail "$b needs libshardpack.so"
done

step "run every build on examples/data"
cd "$src" # the example's default DATASET, examples/data, is relative to here
LD_LIBRARY_PATH=$libdir "$work/pc/embed" "$work/out-pc" >"$work/pc.txt"
"$work/pc/embed-static" "$work/out-pc-static" "$src/examples/data" >"$work/pc-static.txt"
LD_LIBRARY_PATH=$libdir "$work/cmake-shared/embed" "$work/out-cmake" "$src/examples/data" >"$work/cmake.txt"
"$work/cmake-static/embed" "$work/out-cmake-static" >"$work/cmake-static.txt"
cat "$work/pc.txt"
records=$(sed -n 's/.*read back \([0-9][0-9]*\)$/\1/p' "$work/pc.txt")
[ -n "$records" ] && [ "$records" -gt 0 ] || fail "embed read back no records"
for o in pc-static cmake cmake-static; do
  cmp -s "$work/pc.txt" "$work/$o.txt" || fail "embed ($o) printed something else: $(cat "$work/$o.txt")"
  for f in "$work"/out-pc/swapped-*; do
    cmp "$f" "$work/out-$o/$(basename "$f")" || fail "out-$o differs from out-pc"
  done
done

step "read the shards back with tarfile and PIL"
"$python" "$src/tests/install/check_embed.py" "$work/out-pc" "$src/examples/data" "$records"
echo "install test passed"
