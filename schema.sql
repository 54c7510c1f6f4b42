-- memreplay results schema (version 3).
-- The single source of truth: SwiftPM embeds this file in the program
-- (Sources/MemStore/schema.sql links here), and memreplay applies exactly
-- this text to every database it opens. Every statement is idempotent, so
-- applying it to an existing database of the same version changes nothing.
-- CREATE TABLE IF NOT EXISTS leaves an existing table alone: a change to a
-- table needs a migration step in Sources/MemStore/Migrations.swift and the
-- next number in the PRAGMA user_version line at the end.

-- One row per replay. status is 'running' while the replay writes, then 'ok'
-- or 'failed'; a replay that was killed stays 'running' (never 'ok').
CREATE TABLE IF NOT EXISTS runs (
    run_id        INTEGER PRIMARY KEY,
    label         TEXT,
    trace         TEXT NOT NULL,            -- path as given on the command line
    pmm           TEXT NOT NULL,            -- bitmap | stack | buddy | buddy-mobility | llfree
    config        TEXT NOT NULL,            -- every setting, as JSON
    comparison_id INTEGER,                  -- runs of one `compare` call share it
    sweep_job     TEXT,                     -- the job id of a `sweep` plan, if any
    started_at    TEXT NOT NULL,            -- UTC, ISO 8601
    finished_at   TEXT,
    events        INTEGER NOT NULL DEFAULT 0,
    ticks         INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
    error         TEXT,                     -- FILE:LINE: message for failed runs
    seconds       REAL                      -- wall-clock seconds of the replay (reading, model, writing rows)
);

-- One row per closed tick. Counters (events … direct_reclaims) count what
-- happened during the tick; the other columns are the state at its close,
-- after kswapd_tick() ran.
CREATE TABLE IF NOT EXISTS tick_metrics (
    run_id                    INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    tick                      INTEGER NOT NULL,
    events                    INTEGER NOT NULL,
    free_pages                INTEGER NOT NULL,
    used_pages                INTEGER NOT NULL,
    usage_pct                 REAL    NOT NULL,  -- 100 * used / allocatable
    largest_free_block        INTEGER NOT NULL,  -- longest run of contiguous free frames
    frag_index                REAL    NOT NULL,  -- 1 - largest_free_block / free_pages (0 if none free)
    oom                       INTEGER NOT NULL,  -- allocations failed after direct reclaim
    -- free blocks per order when each free run is split into aligned power-of-two blocks
    free_o0  INTEGER NOT NULL, free_o1 INTEGER NOT NULL, free_o2 INTEGER NOT NULL,
    free_o3  INTEGER NOT NULL, free_o4 INTEGER NOT NULL, free_o5 INTEGER NOT NULL,
    free_o6  INTEGER NOT NULL, free_o7 INTEGER NOT NULL, free_o8 INTEGER NOT NULL,
    free_o9  INTEGER NOT NULL, free_o10 INTEGER NOT NULL,
    frames_allocated          INTEGER NOT NULL,
    frames_freed              INTEGER NOT NULL,
    processes                 INTEGER NOT NULL,  -- live address spaces, the kernel's included
    pagetable_pages           INTEGER NOT NULL,  -- frames holding page directories and tables
    tlb_lookups               INTEGER NOT NULL,
    tlb_hits                  INTEGER NOT NULL,
    tlb_misses                INTEGER NOT NULL,
    tlb_flushes               INTEGER NOT NULL,  -- CR3 loads
    tlb_invlpg                INTEGER NOT NULL,
    page_faults               INTEGER NOT NULL,  -- demand + cow + segv
    demand_faults             INTEGER NOT NULL,
    cow_faults                INTEGER NOT NULL,
    cow_copies                INTEGER NOT NULL,
    segv                      INTEGER NOT NULL,
    switches                  INTEGER NOT NULL,
    region_failures           INTEGER NOT NULL,
    slab_pages                INTEGER NOT NULL,
    slab_objects              INTEGER NOT NULL,
    slab_capacity             INTEGER NOT NULL,
    slab_waste_bytes          INTEGER NOT NULL,
    kmalloc_large_pages       INTEGER NOT NULL,
    pagecache_pages           INTEGER NOT NULL,
    pagecache_dirty           INTEGER NOT NULL,
    pagecache_hits            INTEGER NOT NULL,
    pagecache_misses          INTEGER NOT NULL,
    kswapd_active             INTEGER NOT NULL,  -- 1 if kswapd was awake in this tick's kswapd_tick()
    kswapd_wakeups            INTEGER NOT NULL,
    reclaimed_slab_pages      INTEGER NOT NULL,
    reclaimed_pagecache_pages INTEGER NOT NULL,
    direct_reclaims           INTEGER NOT NULL,
    -- Live kmalloc/salloc objects: bytes asked for, bytes the slab variant
    -- gave them (version 3; rows of older runs read 0).
    kmem_bytes_req            INTEGER NOT NULL DEFAULT 0,
    kmem_bytes_alloc          INTEGER NOT NULL DEFAULT 0,
    -- Version 4 (rows of older runs read 0). Fully free, aligned 2 MiB blocks
    -- (512 frames): free_o9 + 2 * free_o10.
    free_huge                 INTEGER NOT NULL DEFAULT 0,
    -- --pmm buddy-mobility: allocations served from another migrate type's
    -- free lists (mm_page_alloc_extfrag), those that took less than a
    -- pageblock (fragmenting=1), those that moved the pageblock's free pages
    -- (change_ownership=1), and pageblocks that changed type. 0 elsewhere.
    extfrag_fallbacks         INTEGER NOT NULL DEFAULT 0,
    extfrag_fragmenting       INTEGER NOT NULL DEFAULT 0,
    extfrag_steals            INTEGER NOT NULL DEFAULT 0,
    pageblock_claims          INTEGER NOT NULL DEFAULT 0,
    -- --compaction, named as /proc/vmstat names them (version 4; 0 when off):
    -- direct compaction attempts, and those after which the allocation
    -- succeeded or still failed; pages the migration and free scanners looked
    -- at, pages they isolated, pages moved; invlpgs the moves issued; proactive
    -- runs at tick close.
    compact_stall             INTEGER NOT NULL DEFAULT 0,
    compact_success           INTEGER NOT NULL DEFAULT 0,
    compact_fail              INTEGER NOT NULL DEFAULT 0,
    compact_migrate_scanned   INTEGER NOT NULL DEFAULT 0,
    compact_free_scanned      INTEGER NOT NULL DEFAULT 0,
    compact_isolated          INTEGER NOT NULL DEFAULT 0,
    pgmigrate_success         INTEGER NOT NULL DEFAULT 0,
    compact_tlb_invlpg        INTEGER NOT NULL DEFAULT 0,
    compact_proactive_runs    INTEGER NOT NULL DEFAULT 0,
    -- Schema version 5, with --l2tlb (0 without): the second-level TLB's
    -- hits and misses (its lookups are tlb_misses; its misses are walks).
    tlb_l2_hits               INTEGER NOT NULL DEFAULT 0,
    tlb_l2_misses             INTEGER NOT NULL DEFAULT 0,
    -- Schema version 6: page walks' memory references (a directory entry
    -- not in the PDE cache, and the PTE under a present one), and with
    -- --pde-cache the walks that found their directory entry there or not.
    walk_refs                 INTEGER NOT NULL DEFAULT 0,
    pde_cache_hits            INTEGER NOT NULL DEFAULT 0,
    pde_cache_misses          INTEGER NOT NULL DEFAULT 0,
    -- Also version 6: 4 MiB pages (mmap … huge): lookups that hit the
    -- large-page TLB (in tlb_hits too), demand faults that mapped a 4 MiB
    -- page, and faults that found no 1024 free aligned frames (a demand
    -- fault mapped 4 KiB instead; a COW copy failed).
    tlb_large_hits            INTEGER NOT NULL DEFAULT 0,
    huge_faults               INTEGER NOT NULL DEFAULT 0,
    huge_fallbacks            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, tick)
) WITHOUT ROWID;

-- /proc/pagetypeinfo at each tick close, per node, for allocators that group
-- by mobility (--pmm buddy-mobility): the blocks on each migrate type's free
-- list per order, and the pageblocks of that type (version 4).
CREATE TABLE IF NOT EXISTS pagetypeinfo (
    run_id      INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    tick        INTEGER NOT NULL,
    node        INTEGER NOT NULL,
    migratetype TEXT    NOT NULL,  -- Unmovable, Reclaimable, Movable, Reserve
    free_o0  INTEGER NOT NULL, free_o1 INTEGER NOT NULL, free_o2 INTEGER NOT NULL,
    free_o3  INTEGER NOT NULL, free_o4 INTEGER NOT NULL, free_o5 INTEGER NOT NULL,
    free_o6  INTEGER NOT NULL, free_o7 INTEGER NOT NULL, free_o8 INTEGER NOT NULL,
    free_o9  INTEGER NOT NULL, free_o10 INTEGER NOT NULL,
    pageblocks  INTEGER NOT NULL,
    PRIMARY KEY (run_id, tick, node, migratetype)
) WITHOUT ROWID;

-- /proc/slabinfo, sampled at tick close (every --slabinfo-every ticks).
CREATE TABLE IF NOT EXISTS slabinfo (
    run_id       INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    tick         INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    active_objs  INTEGER NOT NULL,
    num_objs     INTEGER NOT NULL,
    objsize      INTEGER NOT NULL,
    objperslab   INTEGER NOT NULL,
    pagesperslab INTEGER NOT NULL,
    num_slabs    INTEGER NOT NULL,
    -- slabdata's active_slabs and the tunables limit and batchcount
    -- (version 3; 0 in rows of older runs).
    active_slabs       INTEGER NOT NULL DEFAULT 0,
    tunable_limit      INTEGER NOT NULL DEFAULT 0,
    tunable_batchcount INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, tick, name)
) WITHOUT ROWID;

-- perf kmem stat --caller, per run: every call site's kmalloc and salloc
-- (site= in the trace; 0x0 gathers those without one). Bytes are summed over
-- all allocations, as perf sums bytes_req and bytes_alloc; frag_pct is
-- perf's Frag, 100 - 100 * bytes_req / bytes_alloc.
CREATE TABLE IF NOT EXISTS kmem_callsites (
    run_id      INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    call_site   TEXT    NOT NULL,  -- hexadecimal, 0x-prefixed
    allocs      INTEGER NOT NULL,
    frees       INTEGER NOT NULL,
    failures    INTEGER NOT NULL,
    bytes_req   INTEGER NOT NULL,
    bytes_alloc INTEGER NOT NULL,
    frag_pct    REAL    NOT NULL,
    PRIMARY KEY (run_id, call_site)
) WITHOUT ROWID;

-- perf kmem stat --page, per run: page-allocator calls by order (a run of N
-- frames is order ceil(log2 N)) and by what the frames were for.
CREATE TABLE IF NOT EXISTS kmem_pages (
    run_id     INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    page_order INTEGER NOT NULL,
    use        TEXT    NOT NULL,  -- palloc, anonymous, page_table, slab, page_cache, kmalloc_large, ...
    allocs     INTEGER NOT NULL,
    frees      INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    PRIMARY KEY (run_id, page_order, use)
) WITHOUT ROWID;

-- Miss-ratio curves (--mrc), per run (version 5): for each structure (tlb:
-- the data or only TLB; itlb; pagecache) and each LRU cache shape, the
-- lookups and misses that cache would have had on the run's reference
-- stream, from one pass of LRU stack distances (Mattson et al. 1970).
-- Shapes: fully associative (sets = 1) of 1 ... 4096 entries, and for a TLB
-- of S > 1 sets, S sets of 1, 2, ... ways up to 4096 entries.
CREATE TABLE IF NOT EXISTS mrc (
    run_id    INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    structure TEXT    NOT NULL,
    sets      INTEGER NOT NULL,
    entries   INTEGER NOT NULL,
    lookups   INTEGER NOT NULL,
    misses    INTEGER NOT NULL,
    PRIMARY KEY (run_id, structure, sets, entries)
) WITHOUT ROWID;

-- One row per process: at its exit, or at the end of the run (exited_tick NULL).
CREATE TABLE IF NOT EXISTS processes (
    run_id        INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    pid           INTEGER NOT NULL,
    parent        INTEGER,
    spawned_tick  INTEGER NOT NULL,
    exited_tick   INTEGER,
    peak_resident INTEGER NOT NULL,
    resident      INTEGER NOT NULL,   -- at exit or at the end of the run
    faults        INTEGER NOT NULL,
    cow_faults    INTEGER NOT NULL,
    segv          INTEGER NOT NULL
);

-- One row per tick and NUMA node (node 0 alone without NUMA). tick_metrics
-- keeps the machine-wide totals.
CREATE TABLE IF NOT EXISTS node_metrics (
    run_id               INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    tick                 INTEGER NOT NULL,
    node                 INTEGER NOT NULL,
    free_pages           INTEGER NOT NULL,
    used_pages           INTEGER NOT NULL,
    usage_pct            REAL    NOT NULL,  -- of the node's allocatable frames
    largest_free_block   INTEGER NOT NULL,
    frag_index           REAL    NOT NULL,
    fallback_allocations INTEGER NOT NULL,  -- served here though another node was tried first
    local_accesses       INTEGER NOT NULL,  -- by processes homed here, to frames here
    remote_accesses      INTEGER NOT NULL,  -- by processes homed here, to other nodes' frames
    reclaimed_pages      INTEGER NOT NULL,  -- by kswapd or direct reclaim, from this node
    kswapd_active        INTEGER NOT NULL,
    kswapd_wakeups       INTEGER NOT NULL,
    PRIMARY KEY (run_id, tick, node)
) WITHOUT ROWID;

-- The content digest of a finished run, written by `memreplay merge`: the
-- SHA-256 of its runs row (all but run_id and comparison_id) and of every row
-- it owns, in key order. A merge skips a run whose digest the output holds,
-- so merging the same shard twice changes nothing.
CREATE TABLE IF NOT EXISTS run_digests (
    run_id INTEGER PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
    digest TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_digests_by_digest ON run_digests(digest);

CREATE INDEX IF NOT EXISTS runs_by_trace ON runs(trace, pmm);
CREATE INDEX IF NOT EXISTS runs_by_comparison ON runs(comparison_id) WHERE comparison_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS processes_by_run ON processes(run_id, pid);
CREATE INDEX IF NOT EXISTS runs_by_sweep_job ON runs(sweep_job) WHERE sweep_job IS NOT NULL;

-- Summary per run: the figures the command line prints after a replay or a
-- comparison. Rates are NULL when their denominator is zero.
CREATE VIEW IF NOT EXISTS run_summary AS
SELECT r.run_id, r.label, r.comparison_id, r.trace, r.pmm, r.status, r.events, r.ticks,
       MAX(t.usage_pct)                          AS peak_usage_pct,
       AVG(t.usage_pct)                          AS mean_usage_pct,
       MAX(t.frag_index)                         AS max_frag_index,
       AVG(t.frag_index)                         AS mean_frag_index,
       COALESCE(SUM(t.oom), 0)                   AS oom,
       COALESCE(SUM(t.reclaimed_slab_pages + t.reclaimed_pagecache_pages), 0) AS pages_reclaimed,
       COALESCE(SUM(t.kswapd_wakeups), 0)        AS kswapd_wakeups,
       CASE WHEN SUM(t.tlb_lookups) > 0
            THEN 1.0 * SUM(t.tlb_misses) / SUM(t.tlb_lookups) END AS tlb_miss_rate,
       MAX(t.pagetable_pages)                    AS peak_pagetable_pages,
       MAX(t.slab_waste_bytes)                   AS peak_slab_waste_bytes,
       COALESCE(SUM(t.page_faults), 0)           AS page_faults,
       COALESCE(SUM(t.cow_faults), 0)            AS cow_faults,
       COALESCE(SUM(t.segv), 0)                  AS segv,
       r.seconds                                 AS wall_seconds,
       CASE WHEN r.seconds > 0 THEN r.events / r.seconds END AS events_per_second
FROM runs r LEFT JOIN tick_metrics t ON t.run_id = r.run_id
GROUP BY r.run_id;

-- The variants of `memreplay compare` side by side: one row per run of a
-- comparison (select one with WHERE comparison_id = ?), in variant order.
CREATE VIEW IF NOT EXISTS comparison AS
SELECT comparison_id, run_id, label, trace, pmm, status, events, ticks,
       peak_usage_pct, mean_usage_pct, max_frag_index, mean_frag_index, oom,
       pages_reclaimed, kswapd_wakeups, tlb_miss_rate, peak_pagetable_pages,
       peak_slab_waste_bytes, wall_seconds, events_per_second
FROM run_summary
WHERE comparison_id IS NOT NULL;

-- Ticks in which kswapd was awake, with what it reclaimed.
CREATE VIEW IF NOT EXISTS kswapd_ticks AS
SELECT run_id, tick, usage_pct, kswapd_wakeups, reclaimed_slab_pages,
       reclaimed_pagecache_pages, pagecache_pages, pagecache_dirty, slab_pages
FROM tick_metrics WHERE kswapd_active = 1;

-- The ten most fragmented ticks of each run (by frag_index, earlier tick
-- first among equals); rank 1 is the worst.
CREATE VIEW IF NOT EXISTS most_fragmented_ticks AS
SELECT run_id, rank, tick, frag_index, usage_pct, free_pages, largest_free_block
FROM (SELECT run_id, tick, frag_index, usage_pct, free_pages, largest_free_block,
             ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY frag_index DESC, tick) AS rank
      FROM tick_metrics)
WHERE rank <= 10;

-- Linux's per-order fragmentation indices (mm/vmstat.c), one row per run,
-- tick and order 0..10, x1000 as integers, with the kernel's integer
-- arithmetic (SQLite's integer division truncates like C's on these
-- non-negative operands). For order k, from the free blocks per order:
--   free_pages   = sum over o of free_o{o} << o
--   total        = sum over o of free_o{o}
--   suitable     = sum over o >= k of free_o{o} << (o - k)
--                  (computed as (sum over o >= k of free_o{o} << o) >> k: exact,
--                  every term is a multiple of 2^k)
--   unusable_index = 1000 if free_pages = 0,
--                    else (free_pages - (suitable << k)) * 1000 / free_pages
--   extfrag_index  = 0 if total = 0; -1000 if suitable > 0 (the allocation
--                    would succeed); else 1000 - (1000 + free_pages * 1000 / 2^k) / total
-- MemModel's FragmentationIndex computes the same; a test proves they agree.
CREATE VIEW IF NOT EXISTS fragmentation AS
WITH orders(k) AS (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10)),
info AS (
    SELECT t.run_id, t.tick, o.k,
           CASE o.k WHEN 0 THEN free_o0 WHEN 1 THEN free_o1 WHEN 2 THEN free_o2
                    WHEN 3 THEN free_o3 WHEN 4 THEN free_o4 WHEN 5 THEN free_o5
                    WHEN 6 THEN free_o6 WHEN 7 THEN free_o7 WHEN 8 THEN free_o8
                    WHEN 9 THEN free_o9 WHEN 10 THEN free_o10 END AS free_blocks,
           free_o0 + (free_o1 << 1) + (free_o2 << 2) + (free_o3 << 3)
             + (free_o4 << 4) + (free_o5 << 5) + (free_o6 << 6) + (free_o7 << 7)
             + (free_o8 << 8) + (free_o9 << 9) + (free_o10 << 10) AS free_pages,
           free_o0 + free_o1 + free_o2 + free_o3 + free_o4 + free_o5
             + free_o6 + free_o7 + free_o8 + free_o9 + free_o10 AS total,
           ((o.k <= 0) * free_o0 + (o.k <= 1) * (free_o1 << 1)
             + (o.k <= 2) * (free_o2 << 2) + (o.k <= 3) * (free_o3 << 3)
             + (o.k <= 4) * (free_o4 << 4) + (o.k <= 5) * (free_o5 << 5)
             + (o.k <= 6) * (free_o6 << 6) + (o.k <= 7) * (free_o7 << 7)
             + (o.k <= 8) * (free_o8 << 8) + (o.k <= 9) * (free_o9 << 9)
             + (o.k <= 10) * (free_o10 << 10)) >> o.k AS suitable
    FROM tick_metrics t CROSS JOIN orders o
)
SELECT run_id, tick, k AS "order", free_blocks,
       CASE WHEN free_pages = 0 THEN 1000
            ELSE (free_pages - (suitable << k)) * 1000 / free_pages END AS unusable_index,
       CASE WHEN total = 0 THEN 0
            WHEN suitable > 0 THEN -1000
            ELSE 1000 - (1000 + free_pages * 1000 / (1 << k)) / total END AS extfrag_index
FROM info;

-- For each trace, the variant (run label) with the fewest OOMs, the lowest
-- mean frag_index and the lowest TLB miss rate among its finished runs.
CREATE VIEW IF NOT EXISTS sweep_summary AS
WITH s AS (SELECT * FROM run_summary WHERE status = 'ok')
SELECT t.trace,
       (SELECT count(*) FROM s WHERE s.trace = t.trace) AS runs,
       (SELECT label FROM s WHERE s.trace = t.trace ORDER BY oom, run_id LIMIT 1) AS fewest_oom_variant,
       (SELECT MIN(oom) FROM s WHERE s.trace = t.trace) AS fewest_oom,
       (SELECT label FROM s WHERE s.trace = t.trace ORDER BY mean_frag_index, run_id LIMIT 1) AS lowest_frag_variant,
       (SELECT MIN(mean_frag_index) FROM s WHERE s.trace = t.trace) AS lowest_mean_frag_index,
       (SELECT label FROM s WHERE s.trace = t.trace AND tlb_miss_rate IS NOT NULL
        ORDER BY tlb_miss_rate, run_id LIMIT 1) AS lowest_tlb_miss_variant,
       (SELECT MIN(tlb_miss_rate) FROM s WHERE s.trace = t.trace) AS lowest_tlb_miss_rate
FROM (SELECT DISTINCT trace FROM s) t;

PRAGMA user_version = 6;
