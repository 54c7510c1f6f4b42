-- memreplay results schema (version 1).
-- The single source of truth: memreplay applies exactly this text to every
-- database it writes (a test proves the copy compiled into the program is
-- identical). Every statement is idempotent, so applying it to an existing
-- database of the same version changes nothing.

-- One row per replay. status is 'running' while the replay writes, then 'ok'
-- or 'failed'; a replay that was killed stays 'running' (never 'ok').
CREATE TABLE IF NOT EXISTS runs (
    run_id        INTEGER PRIMARY KEY,
    label         TEXT,
    trace         TEXT NOT NULL,            -- path as given on the command line
    pmm           TEXT NOT NULL,            -- bitmap | stack | buddy
    config        TEXT NOT NULL,            -- every setting, as JSON
    comparison_id INTEGER,                  -- runs of one `compare` call share it
    sweep_job     TEXT,                     -- the job id of a `sweep` plan, if any
    started_at    TEXT NOT NULL,            -- UTC, ISO 8601
    finished_at   TEXT,
    events        INTEGER NOT NULL DEFAULT 0,
    ticks         INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
    error         TEXT                      -- FILE:LINE: message for failed runs
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
    PRIMARY KEY (run_id, tick)
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
    PRIMARY KEY (run_id, tick, name)
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

CREATE INDEX IF NOT EXISTS runs_by_trace ON runs(trace, pmm);
CREATE INDEX IF NOT EXISTS runs_by_comparison ON runs(comparison_id) WHERE comparison_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS processes_by_run ON processes(run_id, pid);
CREATE INDEX IF NOT EXISTS runs_by_sweep_job ON runs(sweep_job) WHERE sweep_job IS NOT NULL;

-- Summary per run: the figures the command line prints after a replay.
CREATE VIEW IF NOT EXISTS run_summary AS
SELECT r.run_id, r.label, r.trace, r.pmm, r.status, r.events, r.ticks,
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
       COALESCE(SUM(t.segv), 0)                  AS segv
FROM runs r LEFT JOIN tick_metrics t ON t.run_id = r.run_id
GROUP BY r.run_id;

-- Ticks in which kswapd was awake, with what it reclaimed.
CREATE VIEW IF NOT EXISTS kswapd_ticks AS
SELECT run_id, tick, usage_pct, kswapd_wakeups, reclaimed_slab_pages,
       reclaimed_pagecache_pages, pagecache_pages, pagecache_dirty, slab_pages
FROM tick_metrics WHERE kswapd_active = 1;

PRAGMA user_version = 1;
