-- GCP and Azure flow logs in the store (docs/providers.md): the
-- deduplicated view over all providers, and where an Azure blob's records
-- end, so that a later, longer copy of the blob loads only what was added.

ALTER TABLE vpcflow.ingest_log
    ADD COLUMN resume_offset bigint,
    ADD COLUMN resume_sha256 bytea;
COMMENT ON COLUMN vpcflow.ingest_log.resume_offset IS
    'Azure blob (PT1H.json): byte offset just after its last record; a later copy of the same file name '
    'whose first resume_offset bytes have SHA-256 resume_sha256 skips those records.';
--
-- Double counting, and the rule that removes it:
--   * GCP logs a connection at each end whose VM has flow logs on: the
--     sender reports it (reporter SRC, stored as flow_direction egress) and
--     the receiver reports it (reporter DEST, ingress), with the same
--     5-tuple and overlapping [start_time, end_time].  The SRC report is
--     kept; a DEST report is dropped when a SRC report of the same 5-tuple
--     overlaps it in time.  A connection seen at one end only (the peer is
--     outside GCP, or its subnet does not log, or sampling missed it) keeps
--     its one report.
--   * Azure NSG flow logs and VNet flow logs enabled on the same NIC both
--     log its flows.  The VNet row is kept; an NSG row is dropped when a
--     VNet row of the same interface (MAC), 5-tuple and decision lies within
--     a minute of it with the same flow state (B, C, E; an NSG deny matches
--     a VNet D; v1 tuples have no state and match any).
-- security_invoker: readers see through the view what they may see of
-- vpcflow.flows itself (row-level security included).
CREATE VIEW vpcflow.flows_dedup WITH (security_invoker = true) AS
SELECT f.*
FROM vpcflow.flows f
WHERE NOT (f.provider OPERATOR(vpcflow.=) 'gcp'
           AND f.flow_direction OPERATOR(vpcflow.=) 'ingress'
           AND EXISTS (
    SELECT 1 FROM vpcflow.flows s
    WHERE s.provider OPERATOR(vpcflow.=) 'gcp'
      AND s.flow_direction OPERATOR(vpcflow.=) 'egress'
      AND s.srcaddr OPERATOR(pg_catalog.=) f.srcaddr
      AND s.dstaddr OPERATOR(pg_catalog.=) f.dstaddr
      AND s.protocol IS NOT DISTINCT FROM f.protocol
      AND s.srcport IS NOT DISTINCT FROM f.srcport
      AND s.dstport IS NOT DISTINCT FROM f.dstport
      AND s.start_time OPERATOR(pg_catalog.<=) COALESCE(f.end_time, f.start_time)
      AND COALESCE(s.end_time, s.start_time) OPERATOR(pg_catalog.>=) f.start_time))
  AND NOT (f.provider OPERATOR(vpcflow.=) 'azure-nsg' AND EXISTS (
    SELECT 1 FROM vpcflow.flows v
    WHERE v.provider OPERATOR(vpcflow.=) 'azure-vnet'
      AND v.interface_id OPERATOR(vpcflow.=) f.interface_id
      AND v.srcaddr OPERATOR(pg_catalog.=) f.srcaddr
      AND v.dstaddr OPERATOR(pg_catalog.=) f.dstaddr
      AND v.protocol OPERATOR(pg_catalog.=) f.protocol
      AND v.srcport IS NOT DISTINCT FROM f.srcport
      AND v.dstport IS NOT DISTINCT FROM f.dstport
      AND v.action OPERATOR(vpcflow.=) f.action
      AND v.start_time OPERATOR(pg_catalog.>=) (f.start_time OPERATOR(pg_catalog.-) interval '1 minute')
      AND v.start_time OPERATOR(pg_catalog.<=) (f.start_time OPERATOR(pg_catalog.+) interval '1 minute')
      AND (f.flow_state IS NULL
           OR v.flow_state OPERATOR(pg_catalog.=) f.flow_state
           OR (v.flow_state OPERATOR(pg_catalog.=) 'D' AND f.action OPERATOR(vpcflow.=) 'REJECT'))));

COMMENT ON VIEW vpcflow.flows_dedup IS
    'vpcflow.flows without the second report of a GCP connection (reporter DEST when SRC reported it) '
    'and without Azure NSG rows that a VNet flow log row repeats; see docs/providers.md.';

GRANT SELECT ON vpcflow.flows_dedup TO vpcflow_reader;
