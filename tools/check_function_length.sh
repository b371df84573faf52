#!/usr/bin/env bash
# Fails (exit 1, naming file, function and length) when a function in the
# given C files is longer than MAX lines (default 80), counted from the line
# that opens its body to the closing brace in column 0.
# usage: tools/check_function_length.sh [MAX] FILE...
set -uo pipefail
max=80
case "${1:-}" in ''|*[!0-9]*) ;; *) max=$1; shift ;; esac
awk -v max="$max" '
  FNR == 1 { start = 0 }
  /^[A-Za-z].*\(/ && !/;[[:space:]]*$/ { sig = $0; sigline = FNR }
  /^{|[^;]{[[:space:]]*$/ && start == 0 && sigline == FNR - (/^{/ ? 1 : 0) && sig != "" { start = FNR; name = sig }
  /^}/ && start > 0 {
    len = FNR - start + 1
    if (len > max) { printf "%s:%d: %d lines: %s\n", FILENAME, start, len, name; bad = 1 }
    start = 0; sig = ""
  }
  END { exit bad }
' "$@"
