#!/usr/bin/env python3
"""gen_multicloud.py: the same deterministic flows as AWS, GCP and Azure logs.

    bench/gen_multicloud.py --flows N --seed S --out DIR

Writes into DIR, for N flows on one day (2024-03-01, one partition):
  aws.log          AWS v2 text with its header line
  gcp.ndjson       GCP Cloud Logging LogEntry lines (compute.googleapis.com
                   vpc_flows), reporter SRC or DEST, the reporter's instance
                   and VPC objects, the peer's instance and VPC (internal
                   peers) or a location object (external peers), rtt_msec
  azure-nsg.json   an Azure NSG v2 blob ({"records": [...]}), records of
                   256 tuples under one rule and MAC, states B / C / E
  azure-vnet.json  an Azure VNet v4 blob, the same flows with ms times
  plain.csv        the shared columns, for the plain COPY baseline
Every file holds the same N flows (5-tuple, counters, start time), so the
loads compare like with like.  Output is a pure function of N and S.
"""
import argparse
import json
import os
import random

DAY = 1709251200  # 2024-03-01 00:00:00 UTC


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    vms = ["vm-%03d" % i for i in range(64)]
    flows = []
    for i in range(a.flows):
        internal = rnd.random() < 0.6
        src = "10.%d.%d.%d" % (rnd.randrange(4), rnd.randrange(256), rnd.randrange(1, 255))
        dst = ("10.%d.%d.%d" % (rnd.randrange(4), rnd.randrange(256), rnd.randrange(1, 255)) if internal
               else "%d.%d.%d.%d" % (rnd.choice([34, 52, 104, 142, 151, 198]), rnd.randrange(256),
                                     rnd.randrange(256), rnd.randrange(1, 255)))
        proto = rnd.choice([6, 6, 6, 17, 1])
        sport = 0 if proto == 1 else rnd.randrange(1024, 65536)
        dport = 0 if proto == 1 else rnd.choice([443, 443, 80, 53, 5432, 22, 8080])
        packets = rnd.randrange(1, 400)
        nbytes = packets * rnd.randrange(40, 1500)
        start = DAY + rnd.randrange(0, 86000)
        flows.append((internal, src, dst, proto, sport, dport, packets, nbytes, start,
                       rnd.randrange(1, 60), rnd.choice(vms), rnd.choice(vms), rnd.random() < 0.5))

    with open(os.path.join(a.out, "aws.log"), "w") as out:
        out.write("version account-id interface-id srcaddr dstaddr srcport dstport protocol "
                  "packets bytes start end action log-status\n")
        for i, (internal, src, dst, proto, sport, dport, packets, nbytes, start, dur, _, _, rej) in enumerate(flows):
            out.write("2 123456789012 eni-%017x %s %s %d %d %d %d %d %d %d %s OK\n" % (
                i % 4096, src, dst, sport, dport, proto, packets, nbytes, start, start + dur,
                "REJECT" if rej and not internal else "ACCEPT"))

    with open(os.path.join(a.out, "plain.csv"), "w") as out:
        for internal, src, dst, proto, sport, dport, packets, nbytes, start, dur, _, _, rej in flows:
            out.write("%s,%s,%s,%s,%d,%d,%d,%d,%d\n" % (src, dst, sport if proto != 1 else "",
                      dport if proto != 1 else "", proto, packets, nbytes, start, start + dur))

    def ts(t, frac):
        return "2024-03-01T%02d:%02d:%02d.%09dZ" % ((t - DAY) // 3600, (t - DAY) // 60 % 60, (t - DAY) % 60, frac)

    with open(os.path.join(a.out, "gcp.ndjson"), "w") as out:
        for i, (internal, src, dst, proto, sport, dport, packets, nbytes, start, dur, vm, peer, _) in enumerate(flows):
            reporter = "SRC" if (i % 3 != 0 or not internal) else "DEST"
            conn = {"src_ip": src, "dest_ip": dst, "protocol": proto}
            if proto != 1:
                conn["src_port"] = sport
                conn["dest_port"] = dport
            local_inst = {"project_id": "bench-project", "region": "europe-west1", "vm_name": vm,
                          "zone": "europe-west1-b"}
            local_vpc = {"project_id": "bench-project", "subnetwork_name": "sub-%s" % vm[-1],
                         "vpc_name": "bench-net"}
            payload = {"bytes_sent": str(nbytes), "connection": conn,
                       "end_time": ts(start + dur, i * 7919 % 10**9), "packets_sent": str(packets),
                       "reporter": reporter, "rtt_msec": str(i % 97),
                       "start_time": ts(start, i * 104729 % 10**9)}
            mine, theirs = ("src", "dest") if reporter == "SRC" else ("dest", "src")
            payload[mine + "_instance"] = local_inst
            payload[mine + "_vpc"] = local_vpc
            if internal:
                payload[theirs + "_instance"] = dict(local_inst, vm_name=peer)
                payload[theirs + "_vpc"] = dict(local_vpc, subnetwork_name="sub-%s" % peer[-1])
            else:
                payload[theirs + "_location"] = {"asn": 15169 + i % 7, "continent": "America", "country": "usa"}
            entry = {"insertId": "%013x" % i, "jsonPayload": payload,
                     "logName": "projects/bench-project/logs/compute.googleapis.com%2Fvpc_flows",
                     "receiveTimestamp": ts(start + dur + 30, 0),
                     "resource": {"labels": {"location": "europe-west1-b", "project_id": "bench-project",
                                             "subnetwork_id": "1234567890", "subnetwork_name": "sub"},
                                  "type": "gce_subnetwork"},
                     "timestamp": ts(start + dur + 30, 0)}
            out.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def blob(path, vnet):
        recs = []
        for r in range(0, len(flows), 256):
            tuples = []
            for i in range(r, min(r + 256, len(flows))):
                internal, src, dst, proto, sport, dport, packets, nbytes, start, dur, _, _, rej = flows[i]
                deny = rej and not internal
                state = "B" if i % 5 == 0 else "C" if i % 5 < 3 else "E"
                half_p, half_b = packets // 2, nbytes // 2
                sp = "" if proto == 1 else str(sport)
                dp = "" if proto == 1 else str(dport)
                if vnet:
                    st = "D" if deny else state
                    cnt = "0,0,0,0" if st in "BD" else "%d,%d,%d,%d" % (packets - half_p, nbytes - half_b, half_p, half_b)
                    tuples.append("%d,%s,%s,%s,%s,%d,O,%s,NX,%s" % (start * 1000 + i % 1000, src, dst, sp, dp, proto, st, cnt))
                else:
                    p = "T" if proto == 6 else "U"
                    if proto == 1:
                        p = "U"
                    cnt = ",,," if state == "B" else "%d,%d,%d,%d" % (packets - half_p, nbytes - half_b, half_p, half_b)
                    tuples.append("%d,%s,%s,%s,%s,%s,O,%s,%s,%s" % (start, src, dst, sp, dp, p,
                                                                     "D" if deny else "A", state, cnt))
            mac = "000D3A%06X" % (r // 256 % 4096)
            sub = "11111111-2222-3333-4444-555555555555"
            if vnet:
                recs.append({"time": "2024-03-01T10:00:00.0000000Z", "flowLogVersion": 4,
                             "flowLogGUID": "abcdef01-2345-6789-0abc-def012345678", "macAddress": mac,
                             "category": "FlowLogFlowEvent",
                             "flowLogResourceID": "/SUBSCRIPTIONS/%s/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/FLOWLOGS/FL" % sub,
                             "targetResourceID": "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1" % sub,
                             "operationName": "FlowLogFlowEvent",
                             "flowRecords": {"flows": [{"aclID": "00000000-1234-abcd-ef00-c1c2c3c4c5c6",
                                                        "flowGroups": [{"rule": "DefaultRule_AllowInternetOutBound",
                                                                        "flowTuples": tuples}]}]}})
            else:
                recs.append({"time": "2024-03-01T10:00:00.0000000Z", "systemId": "a0fca5ce-022c-47b1-9735-89943b42f2fa",
                             "category": "NetworkSecurityGroupFlowEvent",
                             "resourceId": "/SUBSCRIPTIONS/%s/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1" % sub,
                             "operationName": "NetworkSecurityGroupFlowEvents",
                             "properties": {"Version": 2, "flows": [{"rule": "DefaultRule_AllowInternetOutBound",
                                                                     "flows": [{"mac": mac, "flowTuples": tuples}]}]}})
        with open(path, "w") as out:
            json.dump({"records": recs}, out, separators=(",", ":"))

    blob(os.path.join(a.out, "azure-nsg.json"), False)
    blob(os.path.join(a.out, "azure-vnet.json"), True)


if __name__ == "__main__":
    main()
