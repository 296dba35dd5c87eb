#!/usr/bin/env python3
"""baseline_choice.py - median/MAD (vpcflow.baseline) against EWMA on real series.

  baseline_choice.py DBNAME [--metric exfiltration|reject_spike] [--hours 24]

Reads each entity's per-window series of a detection metric from a loaded
database (vpcflow.detection_metric_values, zero-filled), replays it in time
order, and scores every window against the entity's history before it with
  (a) robust: median and MAD of all earlier windows (spread: 1.4826 MAD, or
      1.2533 x mean absolute deviation when MAD is 0, floored as
      vpcflow.anomaly_score floors it), as vpcflow.baseline does;
  (b) EWMA: exponentially weighted mean and variance (alpha per window),
      z = (x - mean) / sd, with the same floor.
Both start scoring after 60 windows of history.  Prints, per method, the
background's score quantiles (p99.9: the threshold for 10 false alarms
per 10,000 windows) and the highest score of the entities named with
--anomalous (the injected anomaly's host or service), and their ratio:
how far above the background the anomaly stands.
Uses psql from VPCFLOW_PGBIN and PG* variables.
"""
import argparse
import bisect
import math
import os
import subprocess


def fetch(db, metric, hours):
    q = ("SELECT entity, extract(epoch FROM window_end)::bigint, value FROM "
         "vpcflow.detection_metric_values('%s', timestamptz '2024-05-01', "
         "timestamptz '2024-05-01' + interval '%d hours') ORDER BY 1, 2" % (metric, hours))
    psql = os.path.join(os.environ.get("VPCFLOW_PGBIN", "/usr/lib/postgresql/15/bin"), "psql")
    out = subprocess.run([psql, "-X", "-At", "-F", "\t", "-d", db, "-c", q],
                         check=True, capture_output=True, text=True).stdout
    series = {}
    for line in out.splitlines():
        e, t, v = line.split("\t")
        series.setdefault(e, {})[int(t)] = float(v)
    return series


def robust_scores(xs, floor, warm):
    hist = []
    out = []
    for i, x in enumerate(xs):
        if i >= warm:
            n = len(hist)
            med = (hist[(n - 1) // 2] + hist[n // 2]) / 2
            devs = sorted(abs(h - med) for h in hist)
            mad = (devs[(n - 1) // 2] + devs[n // 2]) / 2
            spread = 1.4826 * mad
            if spread <= 0:
                spread = 1.2533 * sum(devs) / n
            spread = max(spread, floor, 0.0905 * med)
            out.append((x - med) / spread)
        bisect.insort(hist, x)
    return out


def ewma_scores(xs, floor, warm, alpha):
    m, v = xs[0], 0.0
    out = []
    for i, x in enumerate(xs):
        if i >= warm:
            out.append((x - m) / max(math.sqrt(v), floor))
        d = x - m
        m += alpha * d
        v = (1 - alpha) * (v + alpha * d * d)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--metric", default="exfiltration")
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--floor", type=float, default=1000.0)
    ap.add_argument("--anomalous", nargs="*", default=[])
    ap.add_argument("--max-entities", type=int, default=400)
    a = ap.parse_args()
    series = fetch(a.db, a.metric, a.hours)
    t_all = sorted({t for s in series.values() for t in s})
    t0, t1 = t_all[0], t_all[-1]
    ends = list(range(t0, t1 + 60, 60))
    # the busiest entities (most non-zero windows) plus the anomalous ones
    names = sorted(series, key=lambda e: -len(series[e]))[:a.max_entities]
    names += [e for e in a.anomalous if e in series and e not in names]
    methods = {"median/MAD (vpcflow.baseline)": lambda xs: robust_scores(xs, a.floor, 60),
               "EWMA alpha=0.02": lambda xs: ewma_scores(xs, a.floor, 60, 0.02),
               "EWMA alpha=0.1": lambda xs: ewma_scores(xs, a.floor, 60, 0.1)}
    print("metric %s: %d entities, %d windows each (zero-filled)" % (a.metric, len(names), len(ends)))
    print("\n| method | background p99 | p99.9 | max | anomalous max score | anomalous / p99.9 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, fn in methods.items():
        bg = []
        an = []
        for e in names:
            sc = fn([series[e].get(t, 0.0) for t in ends])
            if e in a.anomalous:
                an.append(max(sc) if sc else 0.0)
            else:
                bg.extend(sc)
        bg.sort()
        q = lambda p: bg[min(len(bg) - 1, int(p * len(bg)))]
        print("| %s | %.1f | %.1f | %.1f | %s | %s |" % (
            name, q(0.99), q(0.999), bg[-1], ", ".join("%.1f" % x for x in an) or "-",
            ", ".join("%.1f" % (x / q(0.999)) for x in an) or "-"))

if __name__ == "__main__":
    main()
