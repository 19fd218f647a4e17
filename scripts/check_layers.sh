#!/usr/bin/env bash
# The library's modules form layers, each using only those below it (ARCHITECTURE.md):
#   wire/proto/escape/code/filter_syntax <- outcome <- error <- name <- endpoint <- channel
#   <- retry <- auth <- client <- fake
# For every file under src/ this greps the `crate::<module>` paths it names (code, not comments)
# and fails on one that points to a higher layer. A new top-level module must be ranked here.
set -euo pipefail
cd "$(dirname "$0")/.."

rank() {
  case "$1" in
    wire | proto | escape | code | filter_syntax) echo 0 ;;
    outcome) echo 1 ;;
    error) echo 2 ;;
    name) echo 3 ;;
    endpoint) echo 4 ;;
    channel) echo 5 ;;
    retry) echo 6 ;;
    auth) echo 7 ;;
    client) echo 8 ;;
    fake) echo 9 ;;
    *) echo "" ;;
  esac
}

status=0
while IFS= read -r file; do
  [ "$file" = src/lib.rs ] && continue
  module=${file#src/}
  module=${module%%/*}
  module=${module%.rs}
  own=$(rank "$module")
  if [ -z "$own" ]; then
    echo "check_layers: $file: module '$module' has no layer in scripts/check_layers.sh" >&2
    status=1
    continue
  fi
  # Lines of code only: `//`, `//!` and `///` lines (doc links) are no dependency.
  while IFS=: read -r line used; do
    theirs=$(rank "$used")
    if [ -z "$theirs" ]; then
      echo "check_layers: $file:$line uses crate::$used, which has no layer" >&2
      status=1
    elif [ "$theirs" -gt "$own" ]; then
      echo "check_layers: $file:$line: $module (layer $own) uses crate::$used (layer $theirs)" >&2
      status=1
    fi
  done < <(grep -nE 'crate::[a-z_]+' "$file" | grep -vE '^[0-9]+:[[:space:]]*//' \
    | grep -oE '^[0-9]+:|[^$a-z_]crate::[a-z_]+' | awk '
        /^[0-9]+:$/ { line = substr($0, 1, length($0) - 1); next }
        { sub(/^.*crate::/, ""); print line ":" $0 }')
done < <(find src -name '*.rs' | sort)

if [ "$status" -ne 0 ]; then
  echo "check_layers: a lower layer imports a higher one (see above)" >&2
fi
exit "$status"
