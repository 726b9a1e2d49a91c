#!/usr/bin/env bash
# The tree follows .clang-format: any C, C++ or CUDA source that clang-format would change fails
# this check, with the first differences shown. Apply with:
#   git ls-files '*.c' '*.h' '*.cpp' '*.cu' | xargs clang-format -i
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "check_format: clang-format is not installed (scripts/setup.sh installs it)"; exit 1; }
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" 2>/dev/null; then
    echo "check_format: $f differs from .clang-format:"
    clang-format "$f" | diff -u "$f" - | head -20 || true
    bad=$((bad + 1))
  fi
done < <(git ls-files '*.c' '*.h' '*.cpp' '*.cu')
if [ "$bad" -gt 0 ]; then
  echo "check_format: $bad file(s) not formatted"
  exit 1
fi
echo "check_format: every source follows .clang-format"
