#!/bin/sh
# Installs what shardpack needs to build and test, from Debian 12 packages, if missing.
# Usage: scripts/deps.sh [build|test]   (test adds the tools the compatibility tests use)
set -eu

need="gcc make cmake pkg-config libjpeg62-turbo-dev libpng-dev libarchive-dev libinih-dev libxxhash-dev libcjson-dev"
if [ "${1:-build}" = test ]; then
  # cmocka for unit tests; Debian's python3 with Pillow and numpy, GNU tar and bsdtar for
  # the compatibility tests (they read our shards with the tools users have); the
  # Fashion-MNIST IDX files for the test of configs/fashion-mnist.ini on a real dataset;
  # groff and mandoc to lint the man page; g++ to compile the installed headers as C++;
  # and what `pkg-config --static --libs libarchive` names, so the install test can link
  # libshardpack.a the way shardpack.pc says (Debian's libarchive-dev leaves these out).
  need="$need libcmocka-dev python3 python3-pil python3-numpy tar libarchive-tools"
  need="$need dataset-fashion-mnist"
  # python-matplotlib-data: a real photograph (grace_hopper.jpg) for the colour checks.
  need="$need python-matplotlib-data"
  need="$need groff-base mandoc g++ libacl1-dev libzstd-dev liblz4-dev"
  # imbalanced-learn: the balance strategies are compared with its samplers.
  need="$need python3-imblearn"
  # OpenMPI for the test of `mpirun -n 2 shardpack build` (a separate -DSHARDPACK_MPI=ON build).
  need="$need libopenmpi-dev openmpi-bin"
  # strace: its fault injection kills a build at each rename and fsync (scale_killat).
  need="$need strace"
fi

missing=""
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "shardpack: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "shardpack: run as root: apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
