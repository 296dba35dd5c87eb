-- bench/lpm.sh: enrich the stored flows, source and destination (1 core).
-- A new backend: compile the set first (timed on its own), then enrich.
SELECT bench_record('enrich: compile the set in this backend', 1,
    $q$SELECT vpcflow.lpm_attr('big', '10.0.0.1', now(), 'owner')$q$);
SELECT bench_record('scan of vpcflow.flows alone (for reference)', (SELECT count(*) FROM vpcflow.flows),
    $q$SELECT count(srcaddr), count(dstaddr) FROM vpcflow.flows$q$);
SELECT bench_record('enrich flows: lpm_id of srcaddr and dstaddr', (SELECT count(*) FROM vpcflow.flows),
    $q$SELECT count(vpcflow.lpm_id('big', srcaddr, start_time)), count(vpcflow.lpm_id('big', dstaddr, start_time))
       FROM vpcflow.flows$q$);
SELECT bench_record('enrich flows: lpm_attr owner of srcaddr and dstaddr', (SELECT count(*) FROM vpcflow.flows),
    $q$SELECT count(vpcflow.lpm_attr('big', srcaddr, start_time, 'owner')),
              count(vpcflow.lpm_attr('big', dstaddr, start_time, 'owner'))
       FROM vpcflow.flows$q$);
SELECT bench_record('enrich flows: join on lpm_id, owners of both ends', (SELECT count(*) FROM vpcflow.flows),
    $q$SELECT count(s.owner), count(d.owner) FROM vpcflow.flows f
       LEFT JOIN vpcflow.prefixes s ON s.id = vpcflow.lpm_id('big', f.srcaddr, f.start_time)
       LEFT JOIN vpcflow.prefixes d ON d.id = vpcflow.lpm_id('big', f.dstaddr, f.start_time)$q$);
SELECT bench_record('vpcflow.flows_enriched, all columns (sets interfaces, inventory, aws empty)',
    (SELECT count(*) FROM vpcflow.flows),
    $q$SELECT count(src_owner), count(remote_class) FROM vpcflow.flows_enriched$q$);
