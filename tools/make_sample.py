#!/usr/bin/env python3
"""Write the small, synthetic AWS VPC Flow Logs sample in data/sample/.

Deterministic: a fixed-seed PRNG, fixed timestamps, gzip with mtime=0, so
running it again gives byte-identical files.  Python 3 standard library only.

    python3 tools/make_sample.py [OUTDIR]     (default: <repo>/data/sample)

Layout (as delivered to S3 by AWS):
  AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/
      <account>_vpcflowlogs_<region>_fl-<id>_YYYYMMDDTHHmmZ_<hash>.log.gz

Addresses come only from private and documentation ranges: 10.0.0.0/8,
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
"""

import gzip
import hashlib
import os
import random
import shutil
import sys
from datetime import datetime, timezone

DAY = datetime(2025, 3, 4, tzinfo=timezone.utc)
T0 = int(datetime(2025, 3, 4, 10, 0, tzinfo=timezone.utc).timestamp())
HOUR = 3600

V2_FIELDS = ("version account-id interface-id srcaddr dstaddr srcport dstport "
             "protocol packets bytes start end action log-status").split()
V5_FIELDS = V2_FIELDS + ("vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr "
                         "pkt-dstaddr region az-id flow-direction "
                         "traffic-path").split()

# Fields that stay filled in on NODATA / SKIPDATA records.
KEPT_ON_NODATA = {"version", "account-id", "interface-id", "start", "end", "log-status"}

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58

# Internet peers (documentation ranges only).
SCANNERS = ["203.0.113.%d" % i for i in (7, 19, 44, 66, 101, 150, 201, 250)] + \
           ["198.51.100.%d" % i for i in (9, 77, 180)]
SCAN_PORTS = [22, 23, 445, 3389, 1433, 5900, 8080, 6379, 3306, 25]
WEB_PEERS = ["192.0.2.%d" % i for i in (10, 20, 33, 80, 120)] + \
            ["198.51.100.%d" % i for i in (23, 54, 140)]
V6_PEERS = ["2001:db8:ffff::10", "2001:db8:ffff::53", "2001:db8:beef::443"]


def hexid(rng, n=17):
    return "%0*x" % (n, rng.getrandbits(4 * n))


class Eni:
    """One network interface: its ids, private address and role."""

    def __init__(self, rng, vpc, subnet, az, ip, ip6, role, instance=True):
        self.id = "eni-" + hexid(rng)
        self.vpc, self.subnet, self.az = vpc, subnet, az
        self.ip, self.ip6, self.role = ip, ip6, role
        self.instance = ("i-" + hexid(rng)) if instance else "-"


class FlowLog:
    """One flow log (one fl- id, one format) of one account and region."""

    def __init__(self, rng, account, region, az_prefix, net, fmt):
        self.rng = rng
        self.account, self.region, self.fmt = account, region, fmt
        self.id = "fl-" + hexid(rng)
        vpc = "vpc-" + hexid(rng)
        subnets = [("subnet-" + hexid(rng), "%s-az%d" % (az_prefix, k + 1))
                   for k in range(2)]
        roles = ["web", "web", "app", "app", "db", "cache", "bastion", "backup"]
        self.enis = []
        for k, role in enumerate(roles):
            sub, az = subnets[k % 2]
            ip = "%s.%d.%d" % (net, 1 + k % 2, 10 + 7 * k)
            ip6 = "2001:db8:%x:%x::%x" % (int(net.split(".")[1]) + 1, 1 + k % 2, 16 + k) \
                if role in ("web", "bastion") else None
            self.enis.append(Eni(rng, vpc, sub, az, ip, ip6, role))
        # A NAT gateway interface: no instance, and pkt-* addresses differ.
        sub, az = subnets[0]
        self.nat = Eni(rng, vpc, sub, az, "%s.0.5" % net, None, "nat", instance=False)
        self.enis.append(self.nat)

    def sibling(self, fmt):
        """A second flow log (own fl- id and format) on the same VPC."""
        other = FlowLog.__new__(FlowLog)
        other.__dict__.update(self.__dict__)
        other.id, other.fmt = "fl-" + hexid(self.rng), fmt
        return other

    def by_role(self, role):
        return [e for e in self.enis if e.role == role]


def record(fl, eni, start, **kw):
    """One flow record as a dict keyed by field name."""
    rng = fl.rng
    end = start + kw.pop("dur", rng.choice((55, 58, 59, 60)))
    r = {
        "version": "5" if fl.fmt == "v5" else "2",
        "account-id": fl.account,
        "interface-id": eni.id,
        "start": str(start),
        "end": str(end),
        "action": "ACCEPT",
        "log-status": "OK",
        "vpc-id": eni.vpc,
        "subnet-id": eni.subnet,
        "instance-id": eni.instance,
        "region": fl.region,
        "az-id": eni.az,
    }
    r.update({k: str(v) for k, v in kw.items()})
    if r["log-status"] != "OK":
        return {k: (r[k] if k in KEPT_ON_NODATA else "-") for k in V5_FIELDS}
    r.setdefault("type", "IPv6" if ":" in r["srcaddr"] else "IPv4")
    r.setdefault("pkt-srcaddr", r["srcaddr"])
    r.setdefault("pkt-dstaddr", r["dstaddr"])
    mine = r["srcaddr"] in (eni.ip, eni.ip6)
    r.setdefault("flow-direction", "egress" if mine else "ingress")
    if r["flow-direction"] == "egress":
        internal = r["dstaddr"].startswith("10.")
        r.setdefault("traffic-path", "1" if internal else "8")
    else:
        r.setdefault("traffic-path", "-")
    if "tcp-flags" not in r:
        r["tcp-flags"] = str(rng.choice((3, 19, 18, 27))) if r["protocol"] == str(TCP) else "0"
    return r


def sized(rng, lo_pkts, hi_pkts, lo_size=60, hi_size=1500):
    pk = rng.randint(lo_pkts, hi_pkts)
    return pk, pk * rng.randint(lo_size, hi_size)


def gen_records(fl, t_from, t_to, n, heavy):
    """About n records with start in [t_from, t_to)."""
    rng = fl.rng
    out = []
    web, app, db = fl.by_role("web"), fl.by_role("app"), fl.by_role("db")
    cache, bastion, backup = fl.by_role("cache"), fl.by_role("bastion"), fl.by_role("backup")
    while len(out) < n:
        t = rng.randrange(t_from, t_to - 60)
        kind = rng.random()
        if kind < 0.30:
            # Internet clients to the web tier, and the replies.
            e = rng.choice(web)
            peer = rng.choice(WEB_PEERS)
            sport = rng.randint(32768, 60999)
            pk, by = sized(rng, 5, 60, 60, 900)
            out.append(record(fl, e, t, srcaddr=peer, dstaddr=e.ip, srcport=sport,
                              dstport=443, protocol=TCP, packets=pk, bytes=by))
            pk, by = sized(rng, 5, 120, 200, 1500)
            out.append(record(fl, e, t, srcaddr=e.ip, dstaddr=peer, srcport=443,
                              dstport=sport, protocol=TCP, packets=pk, bytes=by))
        elif kind < 0.55:
            # East-west: web -> app -> db / cache.
            src = rng.choice(web + app)
            dst, port = (rng.choice(app), 8080) if src.role == "web" else \
                rng.choice(((rng.choice(db), 5432), (rng.choice(cache), 6379)))
            pk, by = sized(rng, 3, 400, 80, 1400)
            out.append(record(fl, src, t, srcaddr=src.ip, dstaddr=dst.ip,
                              srcport=rng.randint(32768, 60999), dstport=port,
                              protocol=TCP, packets=pk, bytes=by))
        elif kind < 0.68:
            # Inbound scans from the internet: rejected by security groups.
            e = rng.choice(fl.enis[:-1])
            out.append(record(fl, e, t, srcaddr=rng.choice(SCANNERS), dstaddr=e.ip,
                              srcport=rng.randint(1024, 65535),
                              dstport=rng.choice(SCAN_PORTS), protocol=TCP,
                              packets=1, bytes=rng.choice((40, 44, 60)),
                              action="REJECT", **{"tcp-flags": 2}))
        elif kind < 0.78:
            # DNS to the VPC resolver.
            e = rng.choice(fl.enis[:-1])
            resolver = e.ip.rsplit(".", 2)[0] + ".0.2"
            pk, by = sized(rng, 1, 4, 60, 120)
            out.append(record(fl, e, t, srcaddr=e.ip, dstaddr=resolver,
                              srcport=rng.randint(32768, 60999), dstport=53,
                              protocol=UDP, packets=pk, bytes=by))
        elif kind < 0.84:
            # Egress through the NAT gateway (pkt-srcaddr is the instance).
            inner = rng.choice(app)
            pk, by = sized(rng, 10, 300, 200, 1500)
            out.append(record(fl, fl.nat, t, srcaddr=fl.nat.ip,
                              dstaddr=rng.choice(WEB_PEERS),
                              srcport=rng.randint(1024, 65535), dstport=443,
                              protocol=TCP, packets=pk, bytes=by,
                              **{"pkt-srcaddr": inner.ip, "traffic-path": 8}))
        elif kind < 0.89:
            # IPv6 web traffic.
            e = rng.choice([x for x in fl.enis if x.ip6])
            pk, by = sized(rng, 4, 80, 80, 1400)
            out.append(record(fl, e, t, srcaddr=rng.choice(V6_PEERS), dstaddr=e.ip6,
                              srcport=rng.randint(32768, 60999), dstport=443,
                              protocol=TCP, packets=pk, bytes=by))
            if rng.random() < 0.3:
                out.append(record(fl, e, t, srcaddr=e.ip6, dstaddr=rng.choice(V6_PEERS),
                                  srcport=0, dstport=0, protocol=ICMP6,
                                  packets=1, bytes=104))
        elif kind < 0.93:
            # SSH to the bastion; some from unknown addresses are rejected.
            e = bastion[0]
            ok = rng.random() < 0.5
            pk, by = sized(rng, 20, 900, 60, 400) if ok else (1, 60)
            out.append(record(fl, e, t, srcaddr="192.0.2.%d" % (200 if ok else rng.randint(1, 99)),
                              dstaddr=e.ip, srcport=rng.randint(32768, 60999), dstport=22,
                              protocol=TCP, packets=pk, bytes=by,
                              action="ACCEPT" if ok else "REJECT"))
        elif kind < 0.96:
            # ICMP pings, half of them from outside and rejected.
            e = rng.choice([x for x in fl.enis[:-1] if x.role != "bastion"])
            outside = rng.random() < 0.5
            out.append(record(fl, e, t, srcaddr=rng.choice(SCANNERS) if outside else bastion[0].ip,
                              dstaddr=e.ip, srcport=0, dstport=0, protocol=ICMP,
                              packets=rng.randint(1, 5), bytes=84 * rng.randint(1, 5),
                              action="REJECT" if outside else "ACCEPT"))
        else:
            # An idle or overloaded interface in this capture window.
            e = rng.choice(fl.enis)
            out.append(record(fl, e, t, **{"log-status":
                                           "SKIPDATA" if rng.random() < 0.25 else "NODATA"}))
    # Heavy talkers: a few long, very large flows.
    for src, dst, port in heavy:
        for _ in range(rng.randint(2, 4)):
            t = rng.randrange(t_from, t_to - 600)
            pk = rng.randint(200_000, 900_000)
            out.append(record(fl, src, t, dur=rng.randint(300, 600), srcaddr=src.ip,
                              dstaddr=dst if isinstance(dst, str) else dst.ip,
                              srcport=rng.randint(32768, 60999), dstport=port,
                              protocol=TCP, packets=pk, bytes=pk * rng.randint(1200, 1460)))
    out.sort(key=lambda r: (int(r["start"]), r["interface-id"]))
    return out


def render(fl, recs):
    fields = V5_FIELDS if fl.fmt == "v5" else V2_FIELDS
    lines = [" ".join(fields)]
    lines += [" ".join(r[f] for f in fields) for r in recs]
    return ("\n".join(lines) + "\n").encode("ascii")


def write_file(outdir, fl, stamp, data):
    ymd = DAY.strftime("%Y/%m/%d")
    d = os.path.join(outdir, "AWSLogs", fl.account, "vpcflowlogs", fl.region, ymd)
    os.makedirs(d, exist_ok=True)
    h = hashlib.sha256(data).hexdigest()[:8]
    name = "%s_vpcflowlogs_%s_%s_%s_%s.log.gz" % (fl.account, fl.region, fl.id, stamp, h)
    with open(os.path.join(d, name), "wb") as f:
        f.write(gzip.compress(data, compresslevel=9, mtime=0))
    return os.path.join(d, name)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "data", "sample")
    # Regenerate from scratch so stale files never linger; keep nothing else.
    if os.path.isdir(os.path.join(outdir, "AWSLogs")):
        shutil.rmtree(os.path.join(outdir, "AWSLogs"))

    rng = random.Random(20250304)
    a1, a2 = "123456789012", "444455556666"
    # (account, region, az prefix, /16, format); one FlowLog per fl- id.
    fl_a_use1 = FlowLog(rng, a1, "us-east-1", "use1", "10.0", "v2")
    fl_a_euw1 = FlowLog(rng, a1, "eu-west-1", "euw1", "10.1", "v5")
    fl_b_use1 = FlowLog(rng, a2, "us-east-1", "use1", "10.20", "v5")
    fl_b_euw1_v2 = FlowLog(rng, a2, "eu-west-1", "euw1", "10.21", "v2")
    fl_b_euw1_v5 = fl_b_euw1_v2.sibling("v5")

    def backup_heavy(fl):
        return [(fl.by_role("backup")[0], fl.by_role("db")[0], 9000)]

    plan = [
        # flow log, hour offset from 10:00, hours, records, heavy talkers
        (fl_a_use1, 0, 1, 500, backup_heavy(fl_a_use1)),
        (fl_a_use1, 1, 1, 500, backup_heavy(fl_a_use1) +
         [(fl_a_use1.by_role("app")[0], "198.51.100.23", 443)]),
        (fl_a_euw1, 0, 2, 520, []),
        (fl_b_use1, 0, 2, 520, [(fl_b_use1.by_role("db")[0],
                                 fl_b_use1.by_role("backup")[0], 5432)]),
        (fl_b_euw1_v2, 0, 1, 470, []),
        (fl_b_euw1_v5, 1, 1, 470, [(fl_b_euw1_v5.by_role("app")[1],
                                    fl_b_euw1_v5.by_role("db")[0], 5432)]),
    ]
    total = 0
    for fl, off, hours, n, heavy in plan:
        t_from = T0 + off * HOUR
        recs = gen_records(fl, t_from, t_from + hours * HOUR, n, heavy)
        end = datetime.fromtimestamp(t_from + hours * HOUR, timezone.utc)
        path = write_file(outdir, fl, end.strftime("%Y%m%dT%H%MZ"), render(fl, recs))
        total += len(recs)
        print("%6d records  %s" % (len(recs), os.path.relpath(path, outdir)))
    print("%6d records in %d files under %s" % (total, len(plan), outdir))


if __name__ == "__main__":
    main()
