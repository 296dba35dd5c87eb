#!/usr/bin/env python3
"""spike_attempts.py LOG TRUTH: what each labelled REJECT spike gave a detector.

For every reject_spike label in TRUTH (gen_flows.py --anomalies), counts
the connection attempts from internal (10/8) clients to the labelled
service (address, port) in the labelled window of LOG (gen_flows.py v2
text): distinct (source address, source port) pairs, REJECTed when any
record of the pair is REJECT.  It also counts, over the whole day, the
15-minute windows of any internal service (ports 5432, 3306, 6379, 9092,
8080) outside the label that look the same or worse: at least as many
REJECTed attempts and no accepted one.  A spike with fewer REJECTs than
the detector's floor, or with look-alikes elsewhere, cannot be told apart.
"""
import collections
import json
import sys

PORTS = {5432, 3306, 6379, 9092, 8080}


def main(log, truth):
    spikes = [t for t in map(json.loads, open(truth)) if t["kind"] == "reject_spike"]
    conns = collections.defaultdict(dict)   # (dst, port) -> {(src, sport): [minute, rejected]}
    with open(log) as f:
        for line in f:
            p = line.split()
            if len(p) < 14 or p[3] == "-" or not p[5].isdigit():
                continue
            if not (p[3].startswith("10.") and p[4].startswith("10.")) or int(p[6]) not in PORTS:
                continue
            c = conns[(p[4], int(p[6]))].setdefault((p[3], p[5]), [int(p[10]) // 60, False])
            c[0] = min(c[0], int(p[10]) // 60)
            c[1] = c[1] or p[12] == "REJECT"
    per_svc = {}                            # (dst, port) -> {minute: [rejected, accepted]}
    for svc, d in conns.items():
        mins = per_svc[svc] = collections.defaultdict(lambda: [0, 0])
        for minute, rejected in d.values():
            mins[minute][0 if rejected else 1] += 1
    for s in spikes:
        lo, hi = s["start"] // 60, s["end"] // 60
        key = (s["dstaddr"], s["dstport"])
        mine = per_svc.get(key, {})
        rej = sum(mine[m][0] for m in range(lo, hi) if m in mine)
        acc = sum(mine[m][1] for m in range(lo, hi) if m in mine)
        floor = max(rej, 1)
        alike = 0
        for svc, mins in per_svc.items():
            quarters = set()
            for end in {m + k for m in mins for k in range(15)}:
                if svc == key and lo <= end < hi + 15:
                    continue                # windows that overlap the label
                r = a = 0
                for m in range(end - 14, end + 1):
                    if m in mins:
                        r += mins[m][0]
                        a += mins[m][1]
                if r >= floor and a == 0:
                    quarters.add(end // 15)
            alike += len(quarters)
        print(f"reject_spike at {key[0]}:{key[1]}: its window holds {rej} REJECTed and {acc} accepted "
              f"attempts from internal clients; quarter-hours elsewhere with >= {floor} REJECTed "
              f"and none accepted: {alike}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
