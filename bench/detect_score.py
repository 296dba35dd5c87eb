#!/usr/bin/env python3
"""detect_score.py - precision and recall of vpcflow.detections per kind.

  detect_score.py RESULTS.jsonl [...]

Each RESULTS.jsonl line is one evaluated data set:
  {"seed": N, "set": "base"|"hard", "truth": [truth records],
   "detections": [{"kind", "entity", "first_seen", "last_seen", "score", "evidence"}]}
(first_seen/last_seen in Unix seconds).  A detection matches a truth
record when the kinds correspond, their times overlap (the detection's
span, widened by 10 minutes, meets the anomaly's), and the evidence names
the same parties:

  exfiltration*  srcaddr and dstaddr         port_scan*  srcaddr and dstaddr
  beaconing*     srcaddr and dstaddr         reject_spike dstaddr and dstport
  horizontal_sweep srcaddr and dstport       new_port    srcaddr and port

Precision of a kind = its detections matching some truth record / its
detections; recall = truth records matched / truth records.  A new_port
or new_destination detection of an injected anomaly's own traffic (its
host and destination, while it lasts) counts as true.  Prints a
Markdown table per set (base: gen_flows.py's four kinds; hard: those of
detect_inject.py) and the detections of other kinds.
"""
import json
import sys

KIND_OF = {"exfiltration": "exfiltration", "exfiltration_small": "exfiltration",
           "port_scan": "port_scan", "port_scan_slow": "port_scan",
           "reject_spike": "reject_spike", "beaconing": "beaconing", "beaconing_slow": "beaconing",
           "horizontal_sweep": "horizontal_sweep", "new_port": "new_port"}
SLACK = 600


def parties(t, d):
    e = d.get("evidence") or {}
    k = t["kind"]
    if k.startswith("exfiltration") or k.startswith("beaconing") or k.startswith("port_scan"):
        return e.get("srcaddr") == t["srcaddr"] and e.get("dstaddr") == t["dstaddr"]
    if k == "reject_spike":
        return e.get("dstaddr") == t["dstaddr"] and int(e.get("dstport", -1)) == int(t["dstport"])
    if k == "horizontal_sweep":
        return e.get("srcaddr") == t["srcaddr"] and int(e.get("dstport", -1)) == int(t["dstport"])
    if k == "new_port":
        return e.get("srcaddr") == t["srcaddr"] and str(e.get("port", "")).split("/")[0] == str(t["dstport"])
    return False


def overlaps(t, d):
    return d["first_seen"] - SLACK <= t["end"] and d["last_seen"] + SLACK >= t["start"]


def match(t, d):
    return KIND_OF.get(t["kind"]) == d["kind"] and overlaps(t, d) and parties(t, d)


def incidental(t, d):
    """A new_port / new_destination detection of an injected anomaly's own
    traffic (its host, its destination, while it lasts) is true too."""
    e = d.get("evidence") or {}
    if d["kind"] not in ("new_port", "new_destination") or not overlaps(t, d):
        return False
    if e.get("srcaddr") != t.get("srcaddr"):
        return False
    return d["kind"] == "new_port" or e.get("dstaddr") == t.get("dstaddr")


def true_det(r, d):
    return any(match(t, d) or incidental(t, d) for t in r["truth"])


def main():
    rows = [json.loads(l) for f in sys.argv[1:] for l in open(f) if l.strip()]
    for name in ("base", "hard"):
        sets = [r for r in rows if r["set"] == name]
        if not sets:
            continue
        tkinds = sorted({t["kind"] for r in sets for t in r["truth"]})
        dkinds = {KIND_OF[k] for k in tkinds}
        seeds = ", ".join(str(r["seed"]) for r in sets)
        print("\n%s set (seeds %s)\n" % (name, seeds))
        print("| kind | injected | found | recall | detections | true | precision |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for k in tkinds:
            dk = KIND_OF[k]
            inj = found = 0
            for r in sets:
                for t in r["truth"]:
                    if t["kind"] == k:
                        inj += 1
                        found += any(match(t, d) for d in r["detections"])
            ndet = ntrue = 0
            for r in sets:
                for d in r["detections"]:
                    if d["kind"] == dk:
                        ndet += 1
                        ntrue += true_det(r, d)
            print("| %s | %d | %d | %.2f | %d | %d | %s |" % (
                k, inj, found, found / inj if inj else 0, ndet, ntrue,
                "%.2f" % (ntrue / ndet) if ndet else "-"))
        other = {}
        for r in sets:
            for d in r["detections"]:
                if d["kind"] not in dkinds:
                    n, ok = other.get(d["kind"], (0, 0))
                    other[d["kind"]] = (n + 1, ok + true_det(r, d))
        if other:
            print("\nother detections (no labels of their kind in this set; true = of an injected "
                  "anomaly's host and destination): " +
                  ", ".join("%s %d (%d true)" % (k, n, ok) for k, (n, ok) in sorted(other.items())))
        for r in sets:
            for t in r["truth"]:
                if not any(match(t, d) for d in r["detections"]):
                    print("MISSED seed %s: %s" % (r["seed"], json.dumps(t, sort_keys=True)))
            for d in r["detections"]:
                if not true_det(r, d):
                    print("FALSE seed %s: %s %s score %.1f: %s" % (
                        r["seed"], d["kind"], d["entity"], d["score"], (d.get("evidence") or {}).get("reason")))


if __name__ == "__main__":
    main()
