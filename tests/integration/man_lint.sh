#!/usr/bin/env bash
# mandoc -Tlint -Wstyle on every man page, then checks on the rendered pages (below). Cross
# references (.Xr icapkit-scan 1) are looked up in a manual path: the pages are copied into a
# temporary one (indexed with makewhatis) ahead of the system's, so references between icapkit's
# own pages resolve without installing them.
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
lint_rc=$?

# What a reader sees, as mandoc and groff (man-db's renderer) draw it: every SYNOPSIS starts with
# "icapkit SUBCOMMAND" (a bare .Nm draws only the first word of the NAME's .Nm under groff), and
# no text comes from an OS-name macro (a word such as Nx, Ox, Fx, Bx or Ux called by accident
# draws "NetBSD", "OpenBSD", ...). The first and last lines (page header and footer) are left out.
command -v groff >/dev/null || { echo "FAIL: groff not installed (scripts/deps installs groff-base)" >&2; exit 1; }
render_rc=0
os_words='(NetBSD|OpenBSD|FreeBSD|DragonFly|BSD/OS|BSDI|BSD|UNIX|AT&T)'
for page in "$src"/man/*.1; do
  base=$(basename "$page" .1)
  sub=${base#icapkit}
  sub=${sub#-}
  want="icapkit${sub:+ $sub}"
  for renderer in "mandoc -T ascii" "groff -mandoc -T ascii"; do
    # Bold and underline are drawn as "c BACKSPACE c" and "_ BACKSPACE c": keep the letter.
    text=$($renderer "$page" 2>/dev/null | LC_ALL=C sed 's/.\x08//g;1d;$d')
    synopsis=$(sed -n '/^SYNOPSIS/{n;p;q}' <<<"$text" | sed 's/^ *//')
    if [[ "$synopsis " != "$want "* ]]; then
      echo "FAIL: $base.1 ($renderer): SYNOPSIS starts '$synopsis', want '$want ...'" >&2
      render_rc=1
    fi
    if hits=$(grep -nwE "$os_words" <<<"$text"); then
      echo "FAIL: $base.1 ($renderer): OS-name macro text: $hits" >&2
      render_rc=1
    fi
  done
done
[ $lint_rc -eq 0 ] && [ $render_rc -eq 0 ]
