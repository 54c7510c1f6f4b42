#!/usr/bin/env bash
# Rows do not change by accident: replays every bundled trace and six
# generated workloads with the defaults and with every option value one at a
# time, and prints a checksum of each stored table. Compared against
# Tests/Rows/checksums.txt, recorded with the release before a change.
#
#   Tests/Rows/check.sh [MEMREPLAY]            compare (exit 1 on a difference)
#   Tests/Rows/check.sh --record [MEMREPLAY]   rewrite checksums.txt
#
# MEMREPLAY defaults to .build/release/memreplay. A change that alters rows on
# purpose re-records and says which rows changed and why in its commit.
set -euo pipefail
cd "$(dirname "$0")/../.."
record=0
if [ "${1:-}" = "--record" ]; then record=1; shift; fi
bin="$(realpath "${1:-.build/release/memreplay}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

configs=(
    "default|"
    "pmm-bitmap|--pmm bitmap"
    "pmm-buddy|--pmm buddy"
    "tlb-fifo|--tlb 64:4:fifo"
    "tlb-random|--tlb 64:4:random --seed 7"
    "tlb-full|--tlb 512:full"
    "tlb-direct|--tlb 16:1"
    "itlb|--itlb 32:4:fifo"
    "pagecache-fifo|--page-cache-policy fifo"
    "pagecache-clock|--page-cache-policy clock"
    "no-direct-reclaim|--no-direct-reclaim"
    "watermarks|--high 50 --low 20"
    "tick-every|--tick-every 500"
    "small-mem|--mem 1M --pmm buddy --page-cache-policy clock"
    "numa|--nodes 2 --numa-policy interleave"
    "slabinfo-every|--slabinfo-every 3"
    "slab-slub|--slab slub"
    "slab-slab|--slab slab"
    "slab-slob|--slab slob"
    "pmm-buddy-mobility|--pmm buddy-mobility"
    "mobility-64M|--pmm buddy-mobility --mem 64M"
    "pmm-llfree|--pmm llfree"
    "compaction-direct|--pmm buddy --compaction direct"
    "compaction-proactive|--pmm buddy-mobility --mem 64M --compaction proactive"
    "mrc|--mrc --tlb 32:2 --itlb 16:full"
    "l2tlb|--tlb l1d=32:4,l1i=16:4,l2=384:6"
    "pcid|--pcid --pcid-tags 6 --mrc --tlb l1d=32:4,l1i=16:4,l2=384:6"
    "pde-cache|--pde-cache 8:2 --tlb 32:4"
    "pde-cache-pcid|--pde-cache 4:full --pcid --pcid-tags 6"
)

traces=()
for t in traces/*.trace traces/*.trace.zst; do traces+=("$t"); done
for w in access forkserver filescan slabchurn fragmenter mixed; do
    "$bin" gen "$w" --events 20000 --seed 3 -o "$work/gen-$w.trace" >/dev/null
    traces+=("$work/gen-$w.trace")
done
"$bin" gen llfree-frag --mem 64M --iterations 20 --seed 3 -o "$work/gen-llfree-frag.trace" >/dev/null
traces+=("$work/gen-llfree-frag.trace")

added="'kmem_bytes_req', 'kmem_bytes_alloc', 'free_huge', 'extfrag_fallbacks', 'extfrag_fragmenting', 'extfrag_steals', 'pageblock_claims', 'compact_stall', 'compact_success', 'compact_fail', 'compact_migrate_scanned', 'compact_free_scanned', 'compact_isolated', 'pgmigrate_success', 'compact_tlb_invlpg', 'compact_proactive_runs', 'tlb_l2_hits', 'tlb_l2_misses', 'walk_refs', 'pde_cache_hits', 'pde_cache_misses', 'tlb_large_hits', 'huge_faults', 'huge_fallbacks'"
addedslab="'active_slabs', 'tunable_limit', 'tunable_batchcount'"
# The columns of TABLE in database DB but those listed (ADDED): the schema's,
# the same in every database, so read once.
columns_except() { sqlite3 "$1" "SELECT group_concat(name, ', ') FROM pragma_table_info('$2') WHERE name NOT IN ($3)"; }
old="" oldslab=""
out="$work/checksums.txt"
: > "$out"
for t in "${traces[@]}"; do
    name="$(basename "$t")"
    for c in "${configs[@]}"; do
        label="${c%%|*}"
        args="${c#*|}"
        db="$work/$name.$label.db"
        # shellcheck disable=SC2086
        if "$bin" replay --quiet --db "$db" $args "$t" >/dev/null 2>"$work/err"; then status=ok; else status="failed: $(tail -1 "$work/err" | sed "s|$work/||")"; fi
        sum() { sqlite3 "$db" "$1" 2>/dev/null | sha256sum | cut -c1-16; }
        printf '%s %s status %s\n' "$name" "$label" "$status" >> "$out"
        if [ -f "$db" ]; then
            # The columns of schema version 2, then those added since, so that
            # a new column leaves the older checksums comparable.
            [ -n "$old" ] || old="$(columns_except "$db" tick_metrics "$added")"
            printf '%s %s tick_metrics %s\n' "$name" "$label" "$(sum "SELECT $old FROM tick_metrics ORDER BY run_id, tick")" >> "$out"
            printf '%s %s tick_metrics_v3 %s\n' "$name" "$label" "$(sum 'SELECT run_id, tick, kmem_bytes_req, kmem_bytes_alloc FROM tick_metrics ORDER BY run_id, tick')" >> "$out"
            printf '%s %s tick_metrics_v4 %s\n' "$name" "$label" "$(sum 'SELECT run_id, tick, free_huge, extfrag_fallbacks, extfrag_fragmenting, extfrag_steals, pageblock_claims FROM tick_metrics ORDER BY run_id, tick')" >> "$out"
            printf '%s %s compaction %s\n' "$name" "$label" "$(sum 'SELECT run_id, tick, compact_stall, compact_success, compact_fail, compact_migrate_scanned, compact_free_scanned, compact_isolated, pgmigrate_success, compact_tlb_invlpg, compact_proactive_runs FROM tick_metrics ORDER BY run_id, tick')" >> "$out"
            printf '%s %s pagetypeinfo %s\n' "$name" "$label" "$(sum 'SELECT * FROM pagetypeinfo ORDER BY run_id, tick, node, migratetype')" >> "$out"
            printf '%s %s tlb_l2 %s\n' "$name" "$label" "$(sum 'SELECT run_id, tick, tlb_l2_hits, tlb_l2_misses FROM tick_metrics ORDER BY run_id, tick')" >> "$out"
            printf '%s %s walks %s\n' "$name" "$label" "$(sum 'SELECT run_id, tick, walk_refs, pde_cache_hits, pde_cache_misses FROM tick_metrics ORDER BY run_id, tick')" >> "$out"
            printf '%s %s huge %s\n' "$name" "$label" "$(sum 'SELECT run_id, tick, tlb_large_hits, huge_faults, huge_fallbacks FROM tick_metrics ORDER BY run_id, tick')" >> "$out"
            printf '%s %s mrc %s\n' "$name" "$label" "$(sum 'SELECT * FROM mrc ORDER BY run_id, structure, sets, entries')" >> "$out"
            printf '%s %s kmem_callsites %s\n' "$name" "$label" "$(sum 'SELECT * FROM kmem_callsites ORDER BY run_id, call_site')" >> "$out"
            printf '%s %s kmem_pages %s\n' "$name" "$label" "$(sum 'SELECT * FROM kmem_pages ORDER BY run_id, page_order, use')" >> "$out"
            printf '%s %s node_metrics %s\n' "$name" "$label" "$(sum 'SELECT * FROM node_metrics ORDER BY run_id, tick, node')" >> "$out"
            [ -n "$oldslab" ] || oldslab="$(columns_except "$db" slabinfo "$addedslab")"
            printf '%s %s slabinfo %s\n' "$name" "$label" "$(sum "SELECT $oldslab FROM slabinfo ORDER BY run_id, tick, name")" >> "$out"
            printf '%s %s slabinfo_v3 %s\n' "$name" "$label" "$(sum 'SELECT run_id, tick, name, active_slabs, tunable_limit, tunable_batchcount FROM slabinfo ORDER BY run_id, tick, name')" >> "$out"
            printf '%s %s processes %s\n' "$name" "$label" "$(sum 'SELECT * FROM processes ORDER BY run_id, pid')" >> "$out"
            printf '%s %s run %s\n' "$name" "$label" "$(sum 'SELECT events, ticks, status, error FROM runs ORDER BY run_id')" >> "$out"
        fi
    done
done

if [ $record = 1 ]; then
    cp "$out" Tests/Rows/checksums.txt
    echo "recorded $(wc -l < "$out") checksums"
elif diff -u Tests/Rows/checksums.txt "$out"; then
    echo "rows: $(wc -l < "$out") checksums equal the recorded ones"
else
    echo "rows differ from Tests/Rows/checksums.txt (lines above)"
    exit 1
fi
