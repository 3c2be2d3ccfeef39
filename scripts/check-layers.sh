#!/usr/bin/env bash
# Fails when a file under src/<layer>/ includes a header from a layer that comes later in
# DESIGN.md's list (lower layers never include higher ones).
set -euo pipefail
src=${1:-src}
layers=(common net http template config store router upstream filters plugins discovery observability gateway controller admin cli main)
rank() { local i; for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
bad=0
while IFS= read -r file; do
  rel=${file#"$src"/}
  layer=${rel%%/*}
  own=$(rank "$layer")
  [ "$own" -ge 0 ] || continue
  while IFS= read -r inc; do
    dep=${inc%%/*}
    r=$(rank "$dep")
    if [ "$r" -gt "$own" ]; then
      echo "layering: $rel includes \"$inc\" ($dep comes after $layer)"
      bad=1
    fi
  done < <(grep -oE '^#include "[a-z_]+/[^"]+"' "$file" | sed -E 's/#include "(.*)"/\1/')
done < <(find "$src" -name '*.h' -o -name '*.cc' -o -name '*.in')
exit $bad
