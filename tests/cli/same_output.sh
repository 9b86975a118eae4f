#!/bin/sh
# Two builds of the same inputs, config and seed must be byte-identical: every shard and
# the manifest. (Used for -j1 against -j2.)
set -eu
a=$1 b=$2
[ -f "$a/manifest.json" ] && [ -f "$b/manifest.json" ] || { echo "missing manifest"; exit 1; }
la=$(cd "$a" && ls *.tar manifest.json | sort)
lb=$(cd "$b" && ls *.tar manifest.json | sort)
[ "$la" = "$lb" ] || { echo "different file sets:"; echo "$la"; echo "--"; echo "$lb"; exit 1; }
n=0
for f in $la; do
  cmp "$a/$f" "$b/$f" || { echo "differs: $f"; exit 1; }
  n=$((n + 1))
done
echo "same_output: $n files byte-identical"
