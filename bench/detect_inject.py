#!/usr/bin/env python3
"""detect_inject.py - add harder labelled anomalies to a gen_flows.py v2 file.

  detect_inject.py IN.log IN.log.meta.json OUT.log OUT.truth.jsonl [--seed N]

Copies IN.log to OUT.log and appends the records of five anomalies that are
harder than gen_flows.py's own, writing their ground truth (same JSON lines
as gen_flows.py --anomalies, kinds suffixed to tell them apart):

  exfiltration_small   one internal host sends 10x its usual client egress
                       (at least 10 kB/min) to a rare public IP for 30 minutes,
                       in 2 flows a minute (gen_flows.py's is 50x, 6 flows)
  beaconing_slow       one host -> a rare public IP:8443 every 300 s with
                       uniform jitter of +-30 s and 5 % of the beacons missing,
                       for 8 hours (gen_flows.py's: every 60 s, jitter <= 1 s)
  port_scan_slow       one public IP -> one internal host, 150 distinct ports
                       over 3 hours (one probe every 72 s), REJECTed
  horizontal_sweep     one public IP -> 200 internal hosts on 3389 in 20 min
  new_port             a host with a day of history connects 5 times to a
                       rare public IP on port 6667

Hosts are picked deterministically (--seed) among the internal addresses of
IN.log, from their own interface's records.  Stdlib only.
"""
import argparse
import json
import random
import shutil


def parse_hosts(path):
    """(interface_id, account, addr) -> client egress bytes, from the v2 file."""
    egress = {}
    first = {}
    with open(path) as f:
        header = f.readline().split()
        ix = {name: i for i, name in enumerate(header)}
        for line in f:
            p = line.split()
            if len(p) < len(header) or p[ix["srcaddr"]] == "-":
                continue
            src, dst = p[ix["srcaddr"]], p[ix["dstaddr"]]
            if not src.startswith("10.") or dst.startswith("10.") or ":" in dst:
                continue
            sport, dport = int(p[ix["srcport"]]), int(p[ix["dstport"]])
            if not (sport > dport and dport < 32768):
                continue
            key = (p[ix["interface-id"]], p[ix["account-id"]], src)
            egress[key] = egress.get(key, 0) + int(p[ix["bytes"]])
            first.setdefault(key, int(p[ix["start"]]))
    return egress, first


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("inp")
    ap.add_argument("meta")
    ap.add_argument("out")
    ap.add_argument("truth")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    meta = json.load(open(a.meta))
    t0, t1 = meta["start"], meta["end"]
    span = t1 - t0
    rng = random.Random(a.seed * 7717 + 3)
    egress, first = parse_hosts(a.inp)
    minutes = span / 60.0
    hosts = sorted(k for k, b in egress.items() if first[k] < t0 + 3600)
    # hosts whose usual client egress is modest (the small exfiltration must stand out from it)
    mid = [k for k in hosts if 300 <= egress[k] / minutes <= 3000]
    rng.shuffle(mid)
    rng.shuffle(hosts)

    def pub(a0):
        return "%d.%d.%d.%d" % (a0, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))

    recs, truth = [], []

    def rec(h, src, dst, sp, dp, pk, by, st, en, act):
        recs.append("2 %s %s %s %s %d %d 6 %d %d %d %d %s OK\n" % (h[1], h[0], src, dst, sp, dp, pk, by, st, en, act))

    # small exfiltration
    h = mid[0]
    usual = egress[h] / minutes
    per_min = max(10000, int(usual * 10))
    dst = pub(203)
    s = t0 + int(span * 0.40) // 60 * 60
    for m in range(30):
        for j in range(2):
            st = s + m * 60 + rng.randrange(55)
            by = per_min // 2
            rec(h, h[2], dst, 33000 + rng.randrange(28000), 443, max(1, by // 1400), by, st, st + 4, "ACCEPT")
    truth.append({"kind": "exfiltration_small", "entity": h[0], "srcaddr": h[2], "dstaddr": dst,
                  "start": s, "end": s + 1800, "bytes_per_min": per_min, "usual_bytes_per_min": int(usual)})
    # slow beacon with jitter and drops
    h = hosts[1]
    dst = pub(91)
    s = t0 + int(span * 0.45) // 60 * 60
    n = 8 * 3600 // 300
    for i in range(n):
        if rng.random() < 0.05:
            continue
        st = s + i * 300 + rng.randrange(-30, 31)
        rec(h, h[2], dst, 33000 + rng.randrange(28000), 8443, 4, 300 + rng.randrange(100), st, st + 1, "ACCEPT")
    truth.append({"kind": "beaconing_slow", "entity": h[0], "srcaddr": h[2], "dstaddr": dst,
                  "start": s, "end": s + n * 300, "period_s": 300, "jitter_s": 30, "drop": 0.05})
    # low-and-slow vertical scan
    h = hosts[2]
    src = pub(77)
    s = t0 + int(span * 0.80) // 60 * 60
    ports = rng.sample(range(1, 32768), 150)
    for i, port in enumerate(ports):
        st = s + i * 72
        recs.append("2 %s %s %s %s 41234 %d 6 1 44 %d %d REJECT OK\n" % (h[1], h[0], src, h[2], port, st, st))
    truth.append({"kind": "port_scan_slow", "entity": src, "srcaddr": src, "dstaddr": h[2],
                  "start": s, "end": s + 150 * 72, "distinct_ports": 150})
    # horizontal sweep
    src = pub(66)
    s = t0 + int(span * 0.20) // 60 * 60
    for i, v in enumerate(hosts[3:203]):
        st = s + i * 6
        recs.append("2 %s %s %s %s 52345 3389 6 1 44 %d %d %s OK\n"
                    % (v[1], v[0], src, v[2], st, st, "ACCEPT" if i % 17 == 0 else "REJECT"))
    truth.append({"kind": "horizontal_sweep", "entity": src, "srcaddr": src, "dstport": 3389,
                  "start": s, "end": s + 1200, "distinct_hosts": len(hosts[3:203])})
    # new remote port
    h = hosts[203]
    dst = pub(198)
    s = t0 + int(span * 0.85) // 60 * 60
    for i in range(5):
        st = s + i * 400
        rec(h, h[2], dst, 33000 + rng.randrange(28000), 6667, 6, 900, st, st + 30, "ACCEPT")
    truth.append({"kind": "new_port", "entity": h[0], "srcaddr": h[2], "dstaddr": dst, "dstport": 6667,
                  "start": s, "end": s + 2000})

    shutil.copyfile(a.inp, a.out)
    with open(a.out, "a") as f:
        f.writelines(recs)
    with open(a.truth, "w") as f:
        for t in truth:
            f.write(json.dumps(t, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
