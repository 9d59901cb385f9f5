#!/usr/bin/env bash
# Memory check for the streaming MIME renderer.
#
# Usage: bash scripts/checks/mime_memory.sh PATH_TO_POSTHORN
#
# Renders a 1 KiB message and the same message with a 10 MiB random attachment through
# `posthorn send --dry-run` (stdout to /dev/null), takes the best (lowest) "Maximum resident set
# size" of 3 runs each from GNU time, and fails unless the attachment adds less than 25 MiB:
# attachments are read in chunks while rendering, so the file must never be held whole (let alone
# in several copies). Prints `1 passed, 0 failed` or `0 passed, 1 failed` last.
set -euo pipefail

limit_mib=25
runs=3

posthorn=${1:-}
if [[ -z $posthorn || ! -x $posthorn ]]; then
    echo "usage: bash $0 PATH_TO_POSTHORN (an executable)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

if [[ ! -x /usr/bin/time ]]; then
    echo "/usr/bin/time missing; installing GNU time" >&2
    if ! apt-get install -y time >/dev/null 2>&1; then
        apt-get update >/dev/null 2>&1 || true
        apt-get install -y time >/dev/null 2>&1 || true
    fi
    if [[ ! -x /usr/bin/time ]]; then
        echo "could not install /usr/bin/time" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/posthorn-mem.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

head -c $((10 * 1024 * 1024)) /dev/urandom >"$tmp/big.bin"
# 1 KiB of printable ASCII for the body (16 lines of 63 characters + LF).
head -c 768 /dev/urandom | base64 -w 63 | head -c 1024 >"$tmp/body.txt"
[[ $(stat -c %s "$tmp/big.bin") -eq 10485760 && $(stat -c %s "$tmp/body.txt") -eq 1024 ]] || {
    echo "could not create the input files" >&2
    echo "0 passed, 1 failed"
    exit 1
}

common=(send --dry-run --from 'Memory Check <mem@example.com>' --to rcpt@example.com
    --subject 'memory check' --body-file "$tmp/body.txt"
    --message-id '<memory-check@example.com>' --date 2026-11-25T10:00:00Z)

fail() {
    echo "$1" >&2
    echo "0 passed, 1 failed"
    exit 1
}

# best_rss LABEL ARGS... → prints the lowest max RSS (KiB) over $runs runs.
best_rss() {
    local label=$1 best='' i rss
    shift
    for ((i = 1; i <= runs; i++)); do
        if ! /usr/bin/time -v -o "$tmp/time.txt" "$posthorn" "$@" >/dev/null 2>"$tmp/stderr.txt"; then
            echo "$label run $i failed:" >&2
            cat "$tmp/stderr.txt" "$tmp/time.txt" >&2 2>/dev/null || true
            return 1
        fi
        rss=$(awk -F: '/Maximum resident set size \(kbytes\)/ { gsub(/[^0-9]/, "", $2); print $2 }' "$tmp/time.txt")
        [[ $rss =~ ^[0-9]+$ ]] || { echo "$label: no RSS figure in GNU time output" >&2; return 1; }
        if [[ -z $best || $rss -lt $best ]]; then best=$rss; fi
    done
    echo "$best"
}

# Sanity: the attachment run really carries the file (base64 of 10 MiB is ~13.8 MB).
out_bytes=$("$posthorn" "${common[@]}" --attach "$tmp/big.bin" 2>"$tmp/stderr.txt" | wc -c) ||
    fail "posthorn failed with the 10 MiB attachment: $(head -c 500 "$tmp/stderr.txt")"
((out_bytes > 14000000)) || fail "output with the 10 MiB attachment is only $out_bytes bytes"

small=$(best_rss "1 KiB message" "${common[@]}") || fail "could not measure the 1 KiB message"
large=$(best_rss "10 MiB attachment" "${common[@]}" --attach "$tmp/big.bin") ||
    fail "could not measure the 10 MiB attachment message"

delta_kib=$((large - small))
awk -v s="$small" -v l="$large" -v d="$delta_kib" 'BEGIN {
    printf "max RSS, 1 KiB message:          %8d KiB (%.2f MiB)\n", s, s / 1024
    printf "max RSS, with 10 MiB attachment: %8d KiB (%.2f MiB)\n", l, l / 1024
    printf "delta:                           %8d KiB (%.2f MiB)\n", d, d / 1024
}'

if ((delta_kib < limit_mib * 1024)); then
    echo "ok  10 MiB attachment adds less than $limit_mib MiB of resident memory"
    echo "1 passed, 0 failed"
else
    echo "FAIL 10 MiB attachment adds $((delta_kib / 1024)) MiB >= $limit_mib MiB of resident memory"
    echo "0 passed, 1 failed"
    exit 1
fi
