#!/usr/bin/env bash
# mandoc -Tlint -Wstyle on every man page. Cross references (.Xr icapkit-scan 1) are looked up in a
# manual path: the pages are copied into a temporary one (indexed with makewhatis) ahead of the
# system's, so references between icapkit's own pages resolve without installing them.
# Usage: man_lint.sh SOURCE_DIR
set -u
src=$1
command -v mandoc >/dev/null || { echo "FAIL: mandoc not installed (scripts/deps installs it)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/icapkit-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man1"
cp "$src"/man/*.1 "$tmp/man1/"
makewhatis "$tmp" 2>/dev/null || true
system=$(manpath 2>/dev/null || echo /usr/share/man)
MANPATH="$tmp:$system" mandoc -Tlint -Wstyle "$src"/man/*.1
