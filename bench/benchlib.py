#!/usr/bin/env python3
"""Helpers for bench/run.sh (stdlib only).

  benchlib.py meta-ok FILE ROWS SEED      exit 0 if FILE(.meta.json) is the v2
                                          header file gen_flows.py writes for
                                          --rows ROWS --seed SEED
  benchlib.py meta-get FILE KEY           print a meta.json value (a.b for nested)
  benchlib.py queries QUERIES_MD META DIR write DIR/Qn.sql (time) and DIR/Qn.check.sql
                                          (result check) for every `sql pg` block
  benchlib.py index-ddl STORE_SQL         print the CREATE INDEX statements on
                                          vpcflow.flows, retargeted to plain `flows`
  benchlib.py timings FILE                print the "Time: N ms" values of psql \\timing
  benchlib.py perf-summary SCRIPT SELF    summarise `perf script` stacks and a
                                          `perf report --no-children` (markdown)
  benchlib.py report KV                   print the markdown report from run.sh's
                                          key=value results file
"""
import json
import re
import statistics
import sys

V2_FIELDS = ["version", "account-id", "interface-id", "srcaddr", "dstaddr",
             "srcport", "dstport", "protocol", "packets", "bytes", "start",
             "end", "action", "log-status"]
COMMON_COLUMNS = ("version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, "
                  "protocol, packets, bytes, start_time, end_time, action, log_status")


def meta_ok(path, rows, seed):
    try:
        with open(path + ".meta.json") as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    return (m.get("rows") == rows and m.get("seed") == seed and m.get("format") == "v2"
            and m.get("header") is True and not m.get("gzip") and not m.get("anomalies")
            and m.get("fields") == V2_FIELDS and float(m.get("span_hours", 0)) == 24.0
            and m.get("start") == 1714521600 and isinstance(m.get("params"), dict))


def meta_get(path, key):
    with open(path + ".meta.json") as f:
        v = json.load(f)
    for k in key.split("."):
        v = v[k]
    return v


def extract_queries(md_path):
    """[(name, title, sql)] for every ```sql pg block, named by its ## heading."""
    out = []
    name = title = None
    block = None
    with open(md_path) as f:
        for line in f:
            m = re.match(r"^##\s+(Q\d+)\s+(.*)$", line)
            if m and block is None:
                name, title = m.group(1), m.group(2).strip()
                continue
            if block is None and line.strip() == "```sql pg":
                block = []
                continue
            if block is not None:
                if line.strip() == "```":
                    out.append((name, title, "".join(block).strip().rstrip(";")))
                    block = None
                else:
                    block.append(line)
    return out


def write_queries(md_path, meta_path, outdir):
    with open(meta_path) as f:
        params = json.load(f)["params"]
    names = []
    for name, title, sql in extract_queries(md_path):
        def sub(m):
            if m.group(1) not in params:
                sys.exit("benchlib: no parameter %s in %s" % (m.group(1), meta_path))
            return str(params[m.group(1)])
        sql = re.sub(r"\$\{([A-Z0-9_]+)\}", sub, sql)
        with open("%s/%s.sql" % (outdir, name), "w") as f:
            f.write(sql + ";\n")
        # vpcflow.flows has a column per flow-log field: compare SELECT *
        # results on the common schema's columns only.
        check = sql
        if re.match(r"(?is)^\s*SELECT\s+\*\s+FROM\b", sql):
            check = "SELECT %s FROM (\n%s\n) AS q" % (COMMON_COLUMNS, sql)
        with open("%s/%s.check.sql" % (outdir, name), "w") as f:
            f.write(check + ";\n")
        with open("%s/%s.title" % (outdir, name), "w") as f:
            f.write(title + "\n")
        names.append(name)
    if not names:
        sys.exit("benchlib: no ```sql pg blocks in %s" % md_path)
    print(" ".join(names))


def index_ddl(store_sql):
    text = open(store_sql).read()
    text = re.sub(r"--[^\n]*", "", text)
    for stmt in re.findall(r"(?is)\bCREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*;", text):
        if re.search(r"(?is)\bON\s+(?:ONLY\s+)?vpcflow\.flows\b", stmt):
            stmt = re.sub(r"(?is)\bON\s+(ONLY\s+)?vpcflow\.flows\b", r"ON \1flows", stmt)
            stmt = re.sub(r"(?is)\bINDEX\s+\w+\s+ON\b", "INDEX ON", stmt)  # default names
            print(" ".join(stmt.split()))


def timings(path):
    for line in open(path):
        m = re.match(r"^Time: ([0-9.]+) ms", line)
        if m:
            print(m.group(1))


# ---------- perf ----------

# Stages of vpcflow.ingest_file.  A sample goes to the first stage in this
# list that any frame of its call stack (from `perf script`, dwarf
# unwinding) names; the stages do not nest, except index builds, which run
# under the partition DDL and so are tested before it.
PERF_STAGES = [
    ("ixbuild", "index build when a new partition is attached (index_build)", ["index_build"], None),
    ("ixins", "index insert, row by row: ExecInsertIndexTuples", ["ExecInsertIndexTuples"], None),
    ("heap", "heap insert: heap_multi_insert", ["heap_multi_insert"], None),
    ("parse", "parse: flow_parse_line", ["flow_parse_line"], None),
    ("fill", "datums + tuple forming: flow_fill_tuple, heap_form_tuple", ["flow_fill_tuple", "flow_row_to_datums", "heap_form_tuple"], None),
    ("sha256", "file SHA-256 for exactly-once (hash_file)", ["hash_file", "pg_cryptohash_update"], "libcrypto"),
    ("read", "file read + zlib (gzread)", ["gzread", "gz_read", "gz_fetch"], "libz"),
    ("ddl", "other SQL via SPI: partition create/attach DDL, ingest_log", ["SPI_execute_with_args", "SPI_execute_plan", "SPI_execute"], None),
    ("commit", "commit (CommitTransaction: WAL flush, etc.)", ["CommitTransaction", "XLogFlush"], None),
]
INDEX_AMS = [("btinsert", "btree"), ("brininsert", "BRIN"), ("gistinsert", "GiST"), ("spginsert", "SP-GiST"),
             ("btbuild", "btree"), ("brinbuild", "BRIN"), ("gistbuild", "GiST"), ("spgbuild", "SP-GiST")]


def perf_stacks(path):
    """Yield each sample's frames [(symbol, dso)], leaf first, from `perf script -F ip,sym,dso`."""
    frames = []
    for line in open(path, errors="replace"):
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        m = re.match(r"^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
            frames.append((sym, m.group(2).rsplit("/", 1)[-1]))
    if frames:
        yield frames


def perf_summary(script_path, self_path):
    total = 0
    stage_n = {}
    stage_wal = {}
    am_n = {}
    wal_total = 0
    in_fn = 0
    for frames in perf_stacks(script_path):
        total += 1
        syms = [f[0] for f in frames]
        inside = "vpcflow_ingest_file" in syms
        in_fn += inside
        wal = any(s in ("XLogInsert", "XLogInsertRecord") for s in syms)
        wal_total += wal
        stage = None
        symset = set(syms)
        dsos = [f[1] for f in frames]
        for key, _, names, dso_prefix in PERF_STAGES:
            if any(n in symset for n in names) or \
                    (dso_prefix and any(d.startswith(dso_prefix) for d in dsos)):
                stage = key
                break
        if stage is None:
            stage = "loop" if inside else "other"
        stage_n[stage] = stage_n.get(stage, 0) + 1
        stage_wal[stage] = stage_wal.get(stage, 0) + wal
        if stage in ("ixins", "ixbuild"):
            for fn, am in INDEX_AMS:
                if fn in symset:
                    am_n[(stage, am)] = am_n.get((stage, am), 0) + 1
                    break
    if total == 0:
        print("(no samples)")
        return
    pct = lambda n: "%.1f" % (100.0 * n / total)
    labels = [(k, l) for k, l, _, _ in PERF_STAGES] + [
        ("loop", "rest of ingest_file (line splitting in read_lines/handle_line, slots, memory resets)"),
        ("other", "outside ingest_file (protocol, executor start/end)")]
    lines = ["%d backend samples, %s%% inside vpcflow_ingest_file; %s%% of all samples are under "
             "XLogInsert (WAL record assembly, across stages)." % (total, pct(in_fn), pct(wal_total)),
             "",
             "| stage (first in this list that the sample's stack names) | % of samples | of which under XLogInsert |",
             "|---|---|---|"]
    for key, label in labels:
        n = stage_n.get(key, 0)
        lines.append("| %s | %s | %s |" % (label, pct(n), pct(stage_wal.get(key, 0))))
        for (st, am), c in sorted(am_n.items(), key=lambda kv: -kv[1]):
            if st == key:
                lines.append("| &nbsp;&nbsp;&nbsp;&nbsp;%s | %s | |" % (am, pct(c)))
    se = parse_perf_report(self_path)
    lines += ["", "Top self-time symbols (no inlining resolution: static functions count in their caller):", "",
              "| self % | symbol | object |", "|---|---|---|"]
    namer = static_namer()
    for sym, (s, _, obj) in sorted(se.items(), key=lambda kv: -kv[1][0])[:25]:
        lines.append("| %.1f | `%s` | %s |" % (s, namer(sym, obj), obj))
    print("\n".join(lines))


def static_namer():
    """Name unresolved postgres addresses (static functions of a stripped
    binary) by the exported symbols around them: their source file's region."""
    import bisect
    import os
    import subprocess
    binary = os.environ.get("PG_BINARY")
    if not binary:
        return lambda sym, obj: sym
    try:
        out = subprocess.run(["nm", "-D", "--defined-only", binary], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return lambda sym, obj: sym
    syms = sorted((int(p[0], 16), p[2]) for p in (l.split() for l in out.splitlines()) if len(p) >= 3)
    addrs = [a for a, _ in syms]

    def name(sym, obj):
        if obj != os.path.basename(binary) or not re.match(r"^0x[0-9a-f]+$", sym):
            return sym
        i = bisect.bisect_right(addrs, int(sym, 16)) - 1
        if i < 0 or i + 1 >= len(syms):
            return sym
        return "%s (static, between %s and %s)" % (sym, syms[i][1], syms[i + 1][1])
    return name


def parse_perf_report(path):
    """{symbol: (children%, self%, dso)} from `perf report --stdio -g none --sort dso,symbol`
    (with or without --children)."""
    out = {}
    for line in open(path, errors="replace"):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"^\s*([0-9.]+)%\s+(?:([0-9.]+)%\s+)?(\S+)\s+\[[.k]\]\s+(.*?)(?:\s{2,}-\s+-)?\s*$", line)
        if not m:
            continue
        a = float(m.group(1))
        b = float(m.group(2)) if m.group(2) else a
        sym = m.group(4)
        if sym not in out:
            out[sym] = (a, b, m.group(3))
    return out


# ---------- report ----------

def fnum(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:,.{d}f}".format(v, d=digits)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return "%.2f" % (a / b)


def report(kv_path):
    import os

    def find(path):
        # a report re-rendered from bench/out/last-run finds its files there
        if os.path.exists(path):
            return path
        return os.path.join(os.path.dirname(os.path.abspath(kv_path)), os.path.basename(path))

    kv = {}
    for line in open(kv_path):
        line = line.rstrip("\n")
        if "=" in line:
            k, v = line.split("=", 1)
            kv[k] = v

    def f(k):
        v = kv.get(k)
        try:
            return float(v) if v not in (None, "") else None
        except ValueError:
            return None

    out = []
    w = out.append
    rows = int(kv["rows"])
    w("# vpcflow core benchmark, %s" % kv["date"])
    w("")
    w("- commit `%s`%s; host %s, %s cores, %s GB RAM, %s" % (
        kv["commit"], kv.get("dirty", ""), kv["host"], kv["ncpu"], kv["mem_gb"], kv["cpu_model"]))
    w("- %s; data: `%s` (%s rows, %s bytes; `gen_flows.py --rows %s --seed %s`, v2 with header)" % (
        kv["pg_version"], kv["data"], fnum(rows), fnum(f("data_bytes")), rows, kv["seed"]))
    w("- one run, one throwaway cluster; the baselines are measured in the same run and "
      "cluster, so compare ratios, not absolute figures across runs")
    w("- machine load: load average %s at start, %s at end; other busy processes at start: %s" % (
        kv["loadavg_start"], kv["loadavg_end"], kv.get("busy_at_start") or "none"))
    w("")

    # headline ratios
    def cpu_rate(key):
        cpu, n = f("%s_backend_cpu_s" % key), f("%s_rows" % key)
        return n / cpu if cpu and n else None
    qs_all = kv.get("queries", "").split()
    qr = [f("vpc_%s_ms" % q) / f("p1_%s_ms" % q) for q in qs_all
          if f("vpc_%s_ms" % q) and f("p1_%s_ms" % q)]
    qr2 = [f("vpc_%s_ms" % q) / f("p2_%s_ms" % q) for q in qs_all
           if f("vpc_%s_ms" % q) and f("p2_%s_ms" % q)]
    gmean = lambda xs: (2.718281828459045 ** (sum(__import__("math").log(x) for x in xs) / len(xs))) if xs else None
    mism_all = [q for q in qs_all if kv.get("vpc_%s_md5" % q) != kv.get("p1_%s_md5" % q)]
    w("## Summary: vpcflow against plain PostgreSQL, same run")
    w("")
    w("| comparison | ratio | better when |")
    w("|---|---|---|")
    w("| ingest into an empty day, rows/s: vpcflow A ÷ P2-late (same index set, built after the fill) | %s | > 1 |"
      % ratio(f("vpca_rows_per_s"), f("p2l_rows_per_s")))
    w("| ingest into a populated day, rows/s: vpcflow B ÷ P2 second load | %s | > 1 |"
      % ratio(f("vpcb_rows_per_s"), f("p2b_rows_per_s")))
    w("| same two, rows per backend CPU-second (less sensitive to other load) | %s, %s | > 1 |"
      % (ratio(cpu_rate("vpca"), cpu_rate("p2l")), ratio(cpu_rate("vpcb"), cpu_rate("p2b"))))
    w("| ingest against the reference baseline P1 (indexes in place, GiST): A ÷ P1, B ÷ P1 | %s, %s | > 1 |"
      % (ratio(f("vpca_rows_per_s"), f("p1_rows_per_s")), ratio(f("vpcb_rows_per_s"), f("p1_rows_per_s"))))
    w("| bytes/flow, table+indexes: vpcflow A ÷ P1, ÷ P2 | %s, %s | < 1 |"
      % (ratio(f("vpca_bytes_per_flow"), f("p1_bytes_per_flow")), ratio(f("vpca_bytes_per_flow"), f("p2_bytes_per_flow"))))
    w("| bytes/flow, table only: vpcflow A ÷ P1 | %s | < 1 |"
      % ratio(f("vpca_table_per_flow"), f("p1_table_per_flow")))
    w("| query time, geometric mean over %s queries: vpcflow ÷ P1, ÷ P2 (range ÷ P1: %s-%s) | %s, %s | < 1 |"
      % (len(qr), "%.2f" % min(qr) if qr else "-", "%.2f" % max(qr) if qr else "-",
         "%.2f" % gmean(qr) if qr else "-", "%.2f" % gmean(qr2) if qr2 else "-"))
    w("| queries whose result differs from P1 | %s | none |" % (", ".join(mism_all) if mism_all else "none"))
    w("| vpcflow A ingest rate as a share of the parse-only rate (1 core) | %s | |"
      % (("%.0f %%" % (100 * f("vpca_rows_per_s") / f("parse_lines_per_s"))) if f("vpca_rows_per_s") and f("parse_lines_per_s") else "-"))
    w("")

    # ingest and size
    p1_rate = f("p1_rows_per_s")
    p2_rate = f("p2_rows_per_s")
    p1_bpf = f("p1_bytes_per_flow")
    p2_bpf = f("p2_bytes_per_flow")
    loads = [
        ("vpca", "**vpcflow** `ingest_file`, run A: empty store (creates the day partition)"),
        ("vpcb", "**vpcflow** `ingest_file`, run B: same rows again into the populated, indexed partition"),
        ("p1", "plain P1: COPY to text staging + INSERT..SELECT into day partitions with "
               "BRIN(start_time) + btree(srcaddr) + GiST(dstaddr inet_ops) (reference set)"),
        ("p2", "plain P2: same, vpcflow's index set: %s" % kv.get("p2_index_set", "?")),
        ("p2l", "plain P2-late: same as P2 but the indexes created after the INSERT "
                "(same transaction, maintenance_work_mem 256MB)"),
        ("p2b", "plain P2, second load: the same rows again into the populated P2 partition"),
    ]
    w("## Load (2 cores; higher rows/s is better)")
    w("")
    p2l_rate = f("p2l_rows_per_s")
    w("| system | rows/s | ÷ P1 | ÷ P2 | ÷ P2-late | wall s | backend CPU s | rows per backend CPU-s | backend waited for a CPU, s | others' CPU, cores of %s |" % kv["ncpu"])
    w("|---|---|---|---|---|---|---|---|---|---|")
    w("| parse only: `flow_parse_line`, in memory, 1 core, best of 3 | %s | %s | %s | %s | %s | | | | %s |" % (
        fnum(f("parse_lines_per_s")), ratio(f("parse_lines_per_s"), p1_rate),
        ratio(f("parse_lines_per_s"), p2_rate), ratio(f("parse_lines_per_s"), p2l_rate),
        fnum(rows / f("parse_lines_per_s"), 3) if f("parse_lines_per_s") else "-", fnum(f("parse_others"), 2)))
    w("| split-only ceiling: memchr + atoi, 1 core, best of 3 | %s | %s | %s | %s | %s | | | | %s |" % (
        fnum(f("split_lines_per_s")), ratio(f("split_lines_per_s"), p1_rate),
        ratio(f("split_lines_per_s"), p2_rate), ratio(f("split_lines_per_s"), p2l_rate),
        fnum(rows / f("split_lines_per_s"), 3) if f("split_lines_per_s") else "-", fnum(f("parse_others"), 2)))
    for key, label in loads:
        if f("%s_rows_per_s" % key) is None:
            continue
        cpu = f("%s_backend_cpu_s" % key)
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, fnum(f("%s_rows_per_s" % key)),
            ratio(f("%s_rows_per_s" % key), p1_rate), ratio(f("%s_rows_per_s" % key), p2_rate),
            ratio(f("%s_rows_per_s" % key), p2l_rate),
            fnum(f("%s_s" % key), 2), fnum(cpu, 2),
            fnum(f("%s_rows" % key) / cpu) if cpu and f("%s_rows" % key) else "-",
            fnum(f("%s_runq_wait_s" % key), 2), fnum(f("%s_others" % key), 2)))
    w("")
    w("rows/s: wall time around one client call, commit included (vpcflow: "
      "`SELECT * FROM vpcflow.ingest_file(file)`, which also SHA-256-hashes the file for "
      "exactly-once; plain: `COPY` + `INSERT..SELECT` [+ `CREATE INDEX`] in one transaction). "
      "Backend CPU and run-queue wait come from the backend's `/proc/self/schedstat`; "
      "\"others' CPU\" is the machine's non-idle CPU during the step minus what this cluster "
      "used (for the parser rows: minus the benchmark process's own CPU). Near 0 the step had "
      "the machine to itself; near 1 another process held a core.")
    w("")
    w("Details: vpcflow A: ingest_file's own `seconds` %s, cluster CPU %s s; B: %s, %s s. "
      "P1: COPY %s s + INSERT %s s, cluster CPU %s s. P2: COPY %s s + INSERT %s s, %s s. "
      "P2-late: COPY %s s + INSERT %s s + CREATE INDEX %s s, %s s. "
      "P2 second load: COPY %s s + INSERT %s s, %s s. Cluster CPU = all the "
      "cluster's processes (backend, parallel workers, walwriter, checkpointer, `tail`). "
      "Parser checksum %s over %s records." % (
          fnum(f("vpca_fn_s"), 2), fnum(f("vpca_cluster_cpu_s"), 2),
          fnum(f("vpcb_fn_s"), 2), fnum(f("vpcb_cluster_cpu_s"), 2),
          fnum(f("p1_copy_s"), 2), fnum(f("p1_insert_s"), 2), fnum(f("p1_cluster_cpu_s"), 2),
          fnum(f("p2_copy_s"), 2), fnum(f("p2_insert_s"), 2), fnum(f("p2_cluster_cpu_s"), 2),
          fnum(f("p2l_copy_s"), 2), fnum(f("p2l_insert_s"), 2), fnum(f("p2l_index_s"), 2),
          fnum(f("p2l_cluster_cpu_s"), 2),
          fnum(f("p2b_copy_s"), 2), fnum(f("p2b_insert_s"), 2), fnum(f("p2b_cluster_cpu_s"), 2),
          kv.get("parse_checksum"), fnum(f("parse_records"))))
    w("")
    w("Run A and the P1/P2 baselines differ by design: the baselines insert into partitions "
      "that already have their indexes, while `ingest_file` creates a missing partition itself "
      "and builds its indexes after filling it; P2-late is the plain equivalent of that. Run B "
      "(existing, indexed partition) is the steady state of a store that receives many files per "
      "day, and compares with P2's second load (and, less exactly, with P1/P2's first load into an empty partition).")
    w("")
    w("## Size (after `VACUUM ANALYZE`; lower is better)")
    w("")
    w("| system | rows | partitions | bytes/flow table+indexes | table | indexes | ÷ P1 | ÷ P2 |")
    w("|---|---|---|---|---|---|---|---|")
    for key, label in loads:
        bpf = f("%s_bytes_per_flow" % key)
        if bpf is None:
            continue
        w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label.split(":")[0], fnum(f("%s_nrows" % key)), kv.get("%s_partitions" % key, "-"),
            fnum(bpf, 1), fnum(f("%s_table_per_flow" % key), 1), fnum(f("%s_index_per_flow" % key), 1),
            ratio(bpf, p1_bpf), ratio(bpf, p2_bpf)))
    w("")
    w("Summed over each store's partitions: table = `pg_table_size` (heap, TOAST, FSM, VM), "
      "indexes = `pg_indexes_size`. vpcflow after run B and P2 after its second load hold both loads.")
    w("")

    # queries
    qs = kv.get("queries", "").split()
    if qs:
        systems = [("vpc", "vpcflow"), ("p1", "plain P1 (GiST dstaddr)"), ("p2", "plain P2 (btree dstaddr)")]
        w("## Queries (ms, median of %s after 1 warm-up, client-side psql \\timing)" % kv["runs"])
        w("")
        w("| system | " + " | ".join(qs) + " |")
        w("|---|" + "---|" * len(qs))
        for key, label in systems:
            w("| %s | %s |" % (label, " | ".join(fnum(f("%s_%s_ms" % (key, q)), 1) for q in qs)))
        w("| **vpcflow ÷ P1** | %s |" % " | ".join(ratio(f("vpc_%s_ms" % q), f("p1_%s_ms" % q)) for q in qs))
        w("| vpcflow ÷ P2 | %s |" % " | ".join(ratio(f("vpc_%s_ms" % q), f("p2_%s_ms" % q)) for q in qs))
        w("| result rows (vpcflow / P1 / P2) | %s |" % " | ".join(
            "%s/%s/%s" % (kv.get("vpc_%s_nrows" % q, "?"), kv.get("p1_%s_nrows" % q, "?"), kv.get("p2_%s_nrows" % q, "?"))
            for q in qs))
        w("| same result as P1 (md5 of sorted text) | %s |" % " | ".join(
            ("yes" if kv.get("vpc_%s_md5" % q) == kv.get("p1_%s_md5" % q) else "**MISMATCH**") +
            ("" if kv.get("p2_%s_md5" % q) == kv.get("p1_%s_md5" % q) else " (P2 differs!)")
            for q in qs))
        w("")
        w("Spread (min-max ms over the timed runs):")
        w("")
        w("| system | " + " | ".join(qs) + " |")
        w("|---|" + "---|" * len(qs))
        for key, label in systems:
            w("| %s | %s |" % (label, " | ".join(
                "%s-%s" % (fnum(f("%s_%s_min" % (key, q)), 1), fnum(f("%s_%s_max" % (key, q)), 1)) for q in qs)))
        w("")
        for q in qs:
            if kv.get("%s_title" % q):
                w("- %s: %s" % (q, kv["%s_title" % q]))
        w("")
        w("vpcflow runs the text of `queries.md` unchanged with `SET search_path = vpcflow, public`. "
          "`SELECT *` queries (Q5, Q8) return all of vpcflow.flows' columns when timed; the result "
          "check compares the common schema's 14 columns.")
        mism = [q for q in qs if kv.get("vpc_%s_md5" % q) != kv.get("p1_%s_md5" % q)]
        if mism:
            w("")
            w("**Result mismatches: %s** (outputs kept under bench/out/last-run/results/)." % ", ".join(mism))
        w("")

    w("## PostgreSQL settings")
    w("")
    w("Server started with: `%s`" % kv["server_opts"])
    w("")
    w("Settings not at their built-in default (from `pg_settings`):")
    w("")
    w("```")
    w(open(find(kv["settings_file"])).read().rstrip())
    w("```")
    w("")
    if kv.get("perf_file"):
        w("## Where vpcflow's ingest spends its time (perf)")
        w("")
        w(kv.get("perf_note", ""))
        w("")
        w(open(find(kv["perf_file"])).read().rstrip())
        w("")
    print("\n".join(out))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    a = sys.argv[2:]
    if cmd == "meta-ok":
        sys.exit(0 if meta_ok(a[0], int(a[1]), int(a[2])) else 1)
    elif cmd == "meta-get":
        print(meta_get(a[0], a[1]))
    elif cmd == "queries":
        write_queries(a[0], a[1], a[2])
    elif cmd == "index-ddl":
        index_ddl(a[0])
    elif cmd == "timings":
        timings(a[0])
    elif cmd == "stats":
        # values on stdin -> "median min max"
        vals = [float(x) for x in sys.stdin.read().split()]
        print("%.3f %.3f %.3f" % (statistics.median(vals), min(vals), max(vals)))
    elif cmd == "perf-summary":
        perf_summary(a[0], a[1])
    elif cmd == "report":
        report(a[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
