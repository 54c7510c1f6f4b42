#!/bin/bash
# The miss-ratio curves against separate replays, every size: for each
# trace, one `replay --mrc` gives the misses of every fully associative LRU
# TLB of 1 … 512 entries and of 4-way TLBs of 16 and 64 sets; 514 separate
# replays with those `--tlb`s must give the same misses, exactly.
#
#   swift build -c release && bash Tests/MRC/check-curves.sh [TRACE ...]
#
# Without arguments: every bundled trace with accesses (ls-lackey, basic,
# processes, reclaim, numa) and generated access and forkserver workloads
# of 200,000 events. Takes a few minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${MEMREPLAY:-$here/.build/release/memreplay}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
traces=("$@")
if [ ${#traces[@]} -eq 0 ]; then
    for t in ls-lackey.trace.zst basic.trace processes.trace reclaim.trace numa.trace; do traces+=("$here/traces/$t"); done
    for w in access forkserver; do
        "$bin" gen "$w" --events 200000 --seed 5 -o "$work/$w.trace" >/dev/null
        traces+=("$work/$w.trace")
    done
fi
misses() {  # TRACE DB ARGS...: the run's TLB misses
    local t=$1 db=$2; shift 2
    rm -f "$db"*
    "$bin" replay "$t" --db "$db" --slabinfo-every 0 "$@" >/dev/null
    sqlite3 "$db" "SELECT total(tlb_misses) FROM tick_metrics" | sed 's/\.0$//'
}
bad=0 points=0
for t in "${traces[@]}"; do
    name=$(basename "$t")
    for shape in 64:4 256:4; do
        rm -f "$work/c.db"*
        "$bin" replay "$t" --db "$work/c.db" --slabinfo-every 0 --mrc --tlb "$shape" >/dev/null
        sets=$(( ${shape%%:*} / 4 ))
        sqlite3 -separator ' ' "$work/c.db" "SELECT sets, entries, misses FROM mrc WHERE structure = 'tlb' AND (sets = 1 AND entries <= 512 OR sets = $sets AND entries = ${shape%%:*})" > "$work/curve.$shape"
    done
    if [ ! -s "$work/curve.64:4" ]; then
        echo "$name: no TLB lookups, no curve"
        continue
    fi
    while read -r sets entries curve; do
        if [ "$sets" = 1 ]; then spec="$entries:full:lru"; else spec="$entries:4:lru"; fi
        separate=$(misses "$t" "$work/s.db" --tlb "$spec")
        points=$((points + 1))
        if [ "$separate" != "$curve" ]; then
            echo "$name: --tlb $spec: the curve says $curve misses, a replay $separate" >&2
            bad=$((bad + 1))
        fi
    done < <(cat "$work/curve.64:4"; grep -v '^1 ' "$work/curve.256:4")
    echo "$name: $(( $(wc -l < "$work/curve.64:4") + 1 )) sizes checked (1 ... 512 fully associative, 4 ways of 16 and 64 sets)"
done
if [ $bad -ne 0 ]; then echo "curves: $bad of $points points differ from separate replays" >&2; exit 1; fi
echo "curves: all $points points equal separate replays"
