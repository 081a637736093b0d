#!/usr/bin/env bash
# Two runs on one host never harm each other (the trust issue's acceptance 3).
#
#   scripts/check_concurrent_runs.sh [ROUNDS]
#
# Makes two clones of this checkout (each with its own venv), then, ROUNDS times (5 by
# default): runs `interlock run business` in both clones at once; then once more with
# each run in its own PID namespace (`unshare --pid --fork --mount-proc`, root only),
# both sharing /dev/shm and /tmp. Before the first round it plants a user's folder
# /tmp/interlock-notes and an unrelated folder in each clone's artifacts directory; both
# must survive every run. Prints one line per run and exits 1 if any run failed or any
# planted folder was touched. Everything it made is removed at the end, whatever happens.
set -u
rounds=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/concurrent-runs.XXXXXX)
notes=/tmp/interlock-notes
planted_notes=0
cleanup() {
    rm -rf "$work"
    if [ "$planted_notes" = 1 ]; then rm -rf "$notes"; fi
}
running=()
stop() {  # Ctrl-C or SIGTERM: the runs stop first (each tears its stack down), then we
    trap - INT TERM
    # TERM, not INT: background jobs of a script ignore SIGINT, and so would the runs
    for pid in "${running[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    wait
    exit 130
}
trap cleanup EXIT
trap stop INT TERM

for c in a b; do
    git clone -q "$here" "$work/$c"
    python3 -m venv "$work/$c/.venv"
    "$work/$c/.venv/bin/pip" install -q -e "$work/$c[dev]" -e "$work/$c/apps/wms[test]" \
        >"$work/$c.install.log" 2>&1 || { echo "install failed in clone $c"; exit 2; }
    mkdir -p "$work/$c/apps/wms/.interlock/runs/0-important"
    echo keep >"$work/$c/apps/wms/.interlock/runs/0-important/work.txt"
done
if [ ! -e "$notes" ]; then
    mkdir "$notes" && echo keep >"$notes/todo.txt" && planted_notes=1
fi

failed=0
survived() {
    for c in a b; do
        [ -f "$work/$c/apps/wms/.interlock/runs/0-important/work.txt" ] || {
            echo "clone $c: artifacts/0-important was deleted"; return 1; }
    done
    [ "$planted_notes" = 0 ] || [ -f "$notes/todo.txt" ] || {
        echo "$notes was deleted"; return 1; }
}
one_round() {  # $1: label, $2: prefix command (empty or unshare ...)
    local label=$1 prefix=$2 pids=() c
    for c in a b; do
        (cd "$work/$c" && exec $prefix "$work/$c/.venv/bin/interlock" --project apps/wms run business \
            >"$work/$c.$label.log" 2>&1) &
        pids+=($!)
    done
    running=("${pids[@]}")
    local i=0
    for c in a b; do
        if wait "${pids[$i]}"; then
            echo "$label clone $c: passed"
        else
            echo "$label clone $c: FAILED (exit $?), last lines:"; tail -15 "$work/$c.$label.log"
            failed=1
        fi
        i=$((i + 1))
    done
    running=()
    survived || failed=1
}
for r in $(seq "$rounds"); do one_round "round-$r" ""; done
for r in $(seq "$rounds"); do one_round "pidns-$r" "unshare --pid --fork --mount-proc"; done
[ "$failed" = 0 ] && echo "all runs passed; planted folders survived"
exit "$failed"
