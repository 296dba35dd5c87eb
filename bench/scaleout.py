#!/usr/bin/env python3
"""Query part of bench/scaleout.sh (stdlib only): times Q1-Q8 and the
dashboard views on a single server and on a coordinator with two shards,
the fan-out forms of the aggregate queries, and what travels.

  scaleout.py PGBIN SINGLE_PORT COORD_PORT SHARD_PORTS(comma) META.json QUERIES.md LOADS.kv OUT.md

For every coordinator query: best-of-3 wall time (psql \\timing), the rows
the shards sent (actual rows of the Foreign Scan nodes, EXPLAIN ANALYZE),
whether they were flow rows or aggregates/states, and the time the shards
spent executing their Remote SQL (EXPLAIN ANALYZE of it on each shard,
the slowest shard counted, as they run concurrently).  The rest of the
coordinator's time is moving rows or states and merging them.
"""
import json
import re
import subprocess
import sys

PGBIN, SINGLE, COORD, SHARDS, META, QUERIES, LOADS, OUT = sys.argv[1:9]
SHARD_PORTS = SHARDS.split(',')
RUNS = 3
params = json.load(open(META))['params']


def psql(port, sql, timing=False, pre_extra=''):
    cmd = [PGBIN + '/psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', port,
           '-U', 'postgres', '-d', 'vpcflow']
    pre = "SET vpcflow_dashboard.now = '%s';\nSET search_path = vpcflow, public;\n" % params['DAY_END']
    pre += pre_extra
    if timing:
        pre += '\\timing on\n'
    r = subprocess.run(cmd, input=pre + sql + ';\n', capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('port %s: %s\n%s' % (port, sql[:200], r.stderr))
    return r.stdout


def best_ms(port, sql, pre_extra=''):
    """Best of RUNS in one session (the coordinator's connections to the
    shards are made by the first run and cached, as in an application)."""
    o = psql(port, ';\n'.join([sql] * RUNS), timing=True, pre_extra=pre_extra)
    times = [float(t) for t in re.findall(r'^Time: ([0-9.]+) ms', o, re.M)]
    body = [l for l in o.splitlines() if not l.startswith('Time: ')]
    return min(times[-RUNS:]), '\n'.join(body[:len(body) // RUNS])


def plan_nodes(plan):
    yield plan
    for p in plan.get('Plans', []):
        yield from plan_nodes(p)


def shipped(port, sql, pre_extra=''):
    """(rows sent by the shards, kinds, slowest shard's execution ms)"""
    o = psql(port, 'EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ' + sql, pre_extra=pre_extra)
    plan = json.loads(o)[0]['Plan']
    rows = 0
    kinds = set()
    per_server = {}
    for n in plan_nodes(plan):
        # Custom Scan ShardPartialAgg: partial aggregates of plain SQL on a shard
        if n.get('Node Type') not in ('Foreign Scan', 'Custom Scan'):
            continue
        rows += n.get('Actual Rows', 0) * n.get('Actual Loops', 1)
        rel = n.get('Relation Name') or n.get('Relations', '')
        if 'Aggregate on' in rel:
            kinds.add('aggregates')
        elif re.search(r'rollup|ingest_log|detections', rel):
            kinds.add('rollup states')
        else:
            kinds.add('flow rows')
        remote = n.get('Remote SQL')
        m = re.search(r'shard_(s\d+)|_(s\d+)\b', rel + ' ' + n.get('Alias', '') + ' ' + n.get('Server', ''))
        shard = (m.group(1) or m.group(2)) if m else None
        if remote and shard:
            per_server.setdefault(shard, []).append(remote)
    slowest = 0.0
    for shard, sqls in per_server.items():
        port_s = SHARD_PORTS[int(shard[1:]) - 1]
        total = 0.0
        for rs in sqls:
            if '$' in rs:
                return rows, '+'.join(sorted(kinds)), None   # parameterised: not re-runnable alone
            o = psql(port_s, 'EXPLAIN (ANALYZE, FORMAT JSON) ' + rs)
            total += json.loads(o)[0]['Execution Time']
        slowest = max(slowest, total)
    if not kinds:
        return None, 'inside a function', None
    return rows, '+'.join(sorted(kinds)), slowest


def queries():
    md = open(QUERIES).read()
    out = {}
    for m in re.finditer(r'^## (Q\d) ([^\n]*)\n(.*?)(?=^## |\Z)', md, re.S | re.M):
        b = re.search(r'```sql pg\n(.*?)```', m.group(3), re.S)
        sql = b.group(1)
        for k, v in params.items():
            sql = sql.replace('${%s}' % k, str(v))
        out[m.group(1)] = (m.group(2), sql.strip().rstrip(';'))
    return out


D0, D1 = params['DAY_START'], params['DAY_END']
FANOUT = {
    'Q1': ("SELECT srcaddr, sum(bytes) AS bytes FROM vpcflow.shard_fanout($q$SELECT srcaddr, sum(bytes) "
           "FROM {flows} WHERE start_time >= '%s' AND start_time < '%s' GROUP BY srcaddr$q$) "
           "AS t(srcaddr inet, bytes numeric) GROUP BY srcaddr ORDER BY bytes DESC NULLS LAST LIMIT 10"),
    'Q2': ("SELECT srcaddr, sum(bytes) AS bytes FROM vpcflow.shard_fanout($q$SELECT srcaddr, sum(bytes) "
           "FROM {flows} WHERE start_time >= '%s' AND start_time < '%s' GROUP BY srcaddr$q$) "
           "AS t(srcaddr inet, bytes numeric) GROUP BY srcaddr ORDER BY bytes DESC NULLS LAST LIMIT 10"),
    'Q3': ("SELECT interface_id, sum(n) AS flows, sum(r) AS rejects, round(sum(r)::numeric / sum(n), 4) "
           "FROM vpcflow.shard_fanout($q$SELECT interface_id, count(*), count(*) FILTER (WHERE action "
           "OPERATOR(vpcflow.=) 'REJECT'::vpcflow.flow_action) FROM {flows} WHERE start_time >= '%s' AND "
           "start_time < '%s' GROUP BY interface_id$q$) AS t(interface_id vpcflow.awsid, n bigint, r bigint) "
           "GROUP BY interface_id HAVING sum(n) >= 100 ORDER BY rejects DESC, interface_id::text LIMIT 20"),
    'Q7': ("SELECT bucket, sum(n) AS flows, sum(b) AS bytes FROM vpcflow.shard_fanout($q$SELECT "
           "date_bin('5 minutes', start_time, timestamptz '2000-01-01 00:00:00+00'), count(*), sum(bytes) "
           "FROM {flows} WHERE start_time >= '%s' AND start_time < '%s' GROUP BY 1$q$) "
           "AS t(bucket timestamptz, n bigint, b numeric) GROUP BY 1 ORDER BY 1"),
}
HOURS = {'Q2'}
DASH = ['exec_egress_cost_30d', 'exec_logging_coverage', 'oncall_ingest_health', 'oncall_silent_interfaces',
        'oncall_log_gaps', 'oncall_top_rejects', 'oncall_volume_spikes', 'debug_unattributed_24h', 'slis']
DASH_FN = {
    'top_talkers (day)': "SELECT * FROM vpcflow.top_talkers(NULL, '%s', '%s', 10)" % (D0, D1),
    'top_ports (day)': "SELECT * FROM vpcflow.top_ports(NULL, '%s', '%s', 10)" % (D0, D1),
}


def norm(s):
    return sorted(s.splitlines())


def main():
    loads = dict(l.strip().split('=', 1) for l in open(LOADS) if '=' in l)
    lines = []
    w = lines.append
    qs = queries()
    res = []
    os_of = {}
    for q, (title, sql) in qs.items():
        ts, os_ = best_ms(SINGLE, sql)
        tc, oc = best_ms(COORD, sql)
        rows, kind, shard_ms = shipped(COORD, sql)
        same = norm(os_) == norm(oc) if q not in ('Q5', 'Q8') else len(os_.splitlines()) == len(oc.splitlines())
        fan = None
        if q in FANOUT:
            lo, hi = (params['HOUR_START'], params['HOUR_END']) if q in HOURS else (D0, D1)
            fsql = FANOUT[q] % (lo, hi)
            tf, of = best_ms(COORD, fsql)
            inner = re.search(r'\$q\$(.*?)\$q\$', fsql, re.S).group(1)
            fsql_plan = psql(COORD, "SELECT vpcflow.shard_fanout_sql($q$%s$q$)" % inner).strip()
            frows, fkind, fshard = shipped(COORD, fsql_plan)
            fan = (tf, frows, fkind, fshard, norm(of) == norm(os_))
        res.append((q, title, ts, tc, rows, kind, shard_ms, same, fan))
        os_of[q] = os_
    dres = []
    for v in DASH:
        sql = 'SELECT * FROM vpcflow.%s' % v
        ts, os_ = best_ms(SINGLE, sql)
        tc, oc = best_ms(COORD, sql)
        rows, kind, shard_ms = shipped(COORD, sql)
        dres.append((v, ts, tc, rows, kind, shard_ms, norm(os_) == norm(oc)))
    for name, sql in DASH_FN.items():
        ts, os_ = best_ms(SINGLE, sql)
        tc, oc = best_ms(COORD, sql)
        rs = "SELECT * FROM vpcflow.rollup_1h WHERE bucket >= '%s' AND bucket < '%s'" % (D0, D1)
        rows, kind, shard_ms = shipped(COORD, rs)
        dres.append((name + ' [its rollup_1h read]', ts, tc, rows, kind, shard_ms, norm(os_) == norm(oc)))

    def move(tc, sm):
        return '%.0f%%' % (max(tc - sm, 0) / tc * 100) if sm is not None and tc else 'n/a'

    def num(v, fmt='%d'):
        return fmt % v if v is not None else 'n/a'
    w('| query | single ms | coordinator ms | ÷ single | rows the shards sent | kind | shards executing ms '
      '| outside the shards | same answer | fan-out ms | ÷ single | rows sent | outside the shards | fan-out same |')
    w('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for q, title, ts, tc, rows, kind, sm, same, fan in res:
        f = ('%.1f | %.2f | %d | %s | %s' % (fan[0], fan[0] / ts, fan[1], move(fan[0], fan[3]),
                                            'yes' if fan[4] else 'NO')) if fan else ' | | | | '
        w('| %s %s | %.1f | %.1f | %.2f | %s | %s | %s | %s | %s | %s |'
          % (q, title[:40], ts, tc, tc / ts, num(rows), kind, num(sm, '%.1f'), move(tc, sm),
             'yes' if same else 'NO', f))
    w('')
    # partial-aggregate pushdown (src/shard_pushdown.c): the same plain SQL with
    # it off (the plan before it: rows shipped) and on, same run
    w('Plain SQL, partial-aggregate pushdown off (before) and on (after), same run:')
    w('')
    w('| query | single ms | pushdown off ms | rows sent | kind | pushdown on ms | rows sent | kind | off ÷ on | on ÷ single | same answer |')
    w('|---|---|---|---|---|---|---|---|---|---|---|')
    off = 'SET vpcflow.partial_agg_pushdown = off;\n'
    for q, title, ts, tc, rows, kind, sm, same, fan in res:
        if q not in ('Q1', 'Q2', 'Q3', 'Q7'):
            continue
        sql = qs[q][1]
        t_off, o_off = best_ms(COORD, sql, off)
        r_off, k_off, _ = shipped(COORD, sql, off)
        w('| %s | %.1f | %.1f | %s | %s | %.1f | %s | %s | %.2f | %.2f | %s |'
          % (q, ts, t_off, num(r_off), k_off, tc, num(rows), kind, t_off / tc, tc / ts,
             'yes' if same and norm(o_off) == norm(os_of[q]) else 'NO'))
    w('')
    w('| dashboard | single ms | coordinator ms | ÷ single | rows the shards sent | kind | same answer |')
    w('|---|---|---|---|---|---|---|')
    for v, ts, tc, rows, kind, sm, same in dres:
        w('| %s | %.1f | %.1f | %.2f | %s | %s | %s |'
          % (v, ts, tc, tc / ts, num(rows), kind, 'yes' if same else 'NO (see notes)'))
    w('')
    w('Loads and refresh (seconds): ' + ', '.join('%s %s' % kv for kv in loads.items()))
    open(OUT, 'w').write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
