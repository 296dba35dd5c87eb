-- pgTAP: longest-prefix match, cache invalidation (this backend and
-- another, through dblink), the loaders, the enriched view and privileges.
BEGIN;
SET LOCAL search_path = vpcflow, public;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';

SELECT plan(30);

-- ---------------------------------------------------------------- another backend
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('tap_other', format('host=127.0.0.1 port=%s user=postgres dbname=%s',
                                          current_setting('port'), current_database()));
SELECT dblink_exec('tap_other', $$INSERT INTO vpcflow.prefixes (set_name, prefix, owner)
                                  VALUES ('tap_xb', '10.0.0.0/8', 'before')$$);
SELECT is(lpm_attr('tap_xb', '10.1.1.1', now(), 'owner'), 'before',
    'a set committed by another backend is seen');
SELECT dblink_exec('tap_other', $$UPDATE vpcflow.prefixes SET owner = 'after' WHERE set_name = 'tap_xb'$$);
SELECT is(lpm_attr('tap_xb', '10.1.1.1', now(), 'owner'), 'after',
    'an update committed by another backend invalidates this backend''s cached table');
SELECT dblink_exec('tap_other', $$INSERT INTO vpcflow.prefixes (set_name, prefix, owner)
                                  VALUES ('tap_xb', '10.1.0.0/16', 'more-specific')$$);
SELECT is(lpm_attr('tap_xb', '10.1.1.1', now(), 'owner'), 'more-specific',
    'an insert by another backend is seen at the next statement');
SELECT is((SELECT * FROM dblink('tap_other', $$SELECT vpcflow.lpm_attr('tap_xb', '10.1.1.1', now(), 'owner')$$) AS t(o text)),
    'more-specific', 'the other backend answers the same');
SELECT dblink_exec('tap_other', $$DELETE FROM vpcflow.prefixes WHERE set_name = 'tap_xb'$$);
SELECT is(lpm_attr('tap_xb', '10.1.1.1', now(), 'owner'), NULL, 'a delete by another backend is seen');
SELECT dblink_exec('tap_other', $$DELETE FROM vpcflow.prefix_sets WHERE set_name = 'tap_xb'$$);
SELECT dblink_disconnect('tap_other');

-- in this transaction: each statement sees its own changes
INSERT INTO prefixes (set_name, prefix, owner) VALUES ('tap_tx', '192.0.2.0/24', 'one');
SELECT is(lpm_attr('tap_tx', '192.0.2.9', now(), 'owner'), 'one', 'own insert seen');
SELECT cmp_ok((SELECT builds FROM lpm_cache() WHERE set_name = 'tap_tx'), '>=', 1::bigint,
    'lpm_cache() lists the compiled set');
CREATE TEMP TABLE tap_builds AS SELECT builds FROM lpm_cache() WHERE set_name = 'tap_tx';
SELECT is(lpm_attr('tap_tx', '192.0.2.9', now(), 'owner'), 'one', 'asked again');
SELECT is((SELECT builds FROM lpm_cache() WHERE set_name = 'tap_tx'), (SELECT builds FROM tap_builds),
    'an unchanged set is not rebuilt');
UPDATE prefixes SET owner = 'two' WHERE set_name = 'tap_tx';
SELECT is(lpm_attr('tap_tx', '192.0.2.9', now(), 'owner'), 'two', 'own update seen');
SELECT is((SELECT builds FROM lpm_cache() WHERE set_name = 'tap_tx'), (SELECT builds + 1 FROM tap_builds),
    'a changed set is rebuilt once');
SELECT is((SELECT count(DISTINCT o) FROM (SELECT lpm_attr('tap_tx', '192.0.2.9', now(), 'owner') o
                                          FROM generate_series(1, 1000)) s), 1::bigint,
    'per-row calls in one query give one answer');

-- ---------------------------------------------------------------- loaders
SELECT is((SELECT ARRAY[inserted, closed, kept] FROM load_aws_ip_ranges($${
  "syncToken": "1", "createDate": "2024-01-01-00-00-00",
  "prefixes": [
    {"ip_prefix": "52.94.0.0/16", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
    {"ip_prefix": "52.94.0.0/16", "region": "us-east-1", "service": "DYNAMODB", "network_border_group": "us-east-1"},
    {"ip_prefix": "3.5.0.0/16", "region": "eu-west-1", "service": "S3", "network_border_group": "eu-west-1"}],
  "ipv6_prefixes": [
    {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}]
}$$::jsonb, 'tap_aws')), ARRAY[4, 0, 0]::bigint[], 'load_aws_ip_ranges loads v4 and v6 prefixes');
SELECT is(lpm_attr('tap_aws', '52.94.1.1', '2024-02-01', 'service'), 'DYNAMODB',
    'the specific service wins over AMAZON on the same prefix');
SELECT is(lpm_attr('tap_aws', '2600:1f18::5', '2024-02-01', 'region'), 'us-east-1', 'IPv6 ranges match');
SELECT is(lpm_attr('tap_aws', '52.94.1.1', '2023-12-01', 'service'), NULL, 'nothing before the document''s date');
SELECT is((SELECT ARRAY[inserted, closed, kept] FROM load_aws_ip_ranges($${
  "createDate": "2024-03-01-00-00-00",
  "prefixes": [
    {"ip_prefix": "52.94.0.0/16", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
    {"ip_prefix": "52.94.0.0/16", "region": "us-east-1", "service": "DYNAMODB", "network_border_group": "us-east-1"},
    {"ip_prefix": "3.5.0.0/16", "region": "eu-west-2", "service": "S3", "network_border_group": "eu-west-2"}]
}$$::jsonb, 'tap_aws')), ARRAY[1, 2, 2]::bigint[], 'a newer document closes what changed');
SELECT is(ARRAY[lpm_attr('tap_aws', '3.5.1.1', '2024-02-01', 'region'), lpm_attr('tap_aws', '3.5.1.1', '2024-04-01', 'region')],
    ARRAY['eu-west-1', 'eu-west-2'], 'the answer depends on the time: the owner at the flow''s time');
SELECT throws_ok($$SELECT * FROM vpcflow.load_aws_ip_ranges('{"x": 1}')$$, '22023',
    'not an AWS ip-ranges.json document: no "prefixes" array', 'a wrong document is refused');

SELECT is((SELECT inserted FROM load_asset_inventory(
$$prefix,owner,service,env,"cost center"
10.1.0.0/16,team-a,billing,prod,"CC-1, main"
10.2.0.0/16, team-b ,,dev,
$$, 'tap_inv', '2024-01-01')), 2::bigint, 'load_asset_inventory loads CSV');
SELECT is((SELECT attrs FROM prefixes WHERE set_name = 'tap_inv' AND owner = 'team-a'),
    '{"cost center": "CC-1, main"}'::jsonb, 'unknown columns go to attrs, quoted commas kept');
SELECT is(lpm_attr('tap_inv', '10.2.3.4', '2024-02-01', 'owner'), 'team-b', 'inventory owner found');
SELECT throws_like($$SELECT * FROM vpcflow.load_asset_inventory(E'prefix,owner\n10.0.0.1/8,x\n', 'tap_inv2')$$,
    'asset inventory line 2: invalid prefix "10.0.0.1/8"%', 'a bad prefix names its line');

SELECT is((SELECT ARRAY[inserted, closed] FROM load_network_interfaces($${"NetworkInterfaces": [
  {"NetworkInterfaceId": "eni-0a1b2c3d4e5f60718", "OwnerId": "111122223333", "VpcId": "vpc-0abc",
   "SubnetId": "subnet-0abc", "Attachment": {"InstanceId": "i-0123456789abcdef0"},
   "PrivateIpAddress": "10.1.2.3", "PrivateIpAddresses": [{"PrivateIpAddress": "10.1.2.3"}],
   "Ipv6Addresses": [{"Ipv6Address": "2600:1f18::10"}],
   "TagSet": [{"Key": "owner", "Value": "payments"}], "InterfaceType": "interface"}]}$$::jsonb,
   '2023-11-01', addr_set => 'interfaces')), ARRAY[1, 0]::bigint[], 'load_network_interfaces loads interfaces');
SELECT is((SELECT owner || ' ' || instance_id::text FROM interfaces WHERE interface_id::text = 'eni-0a1b2c3d4e5f60718'),
    'payments i-0123456789abcdef0', 'interface owner and instance kept');
SELECT is(lpm_attr('interfaces', '2600:1f18::10', now(), 'name'), 'eni-0a1b2c3d4e5f60718',
    'interface addresses become a prefix set');

-- ---------------------------------------------------------------- the enriched view
SELECT ensure_partitions('2023-11-14', '2023-11-16');
INSERT INTO flows SELECT * FROM parse(
$$2 111122223333 eni-0a1b2c3d4e5f60718 10.1.2.3 10.2.0.9 443 50123 6 12 3456 1700000000 1700000060 ACCEPT OK
2 111122223333 eni-0a1b2c3d4e5f60718 10.1.2.3 52.94.7.7 50124 443 6 12 3456 1700000000 1700000060 ACCEPT OK
2 111122223333 eni-0a1b2c3d4e5f60718 198.51.100.7 10.9.9.9 51515 22 6 1 40 1700000005 1700000065 REJECT OK$$);
INSERT INTO prefixes (set_name, prefix, owner, kind) SELECT 'inventory', prefix, owner, kind FROM prefixes WHERE set_name = 'tap_inv';
INSERT INTO prefixes (set_name, prefix, service, region) SELECT 'aws', prefix, service, region FROM prefixes WHERE set_name = 'tap_aws';
SELECT results_eq($$SELECT src_owner, dst_owner, remote_class, remote_aws_service FROM vpcflow.flows_enriched
                    WHERE interface_id::text = 'eni-0a1b2c3d4e5f60718' AND start_time < '2023-11-15' ORDER BY srcaddr, dstaddr$$,
    $$VALUES ('payments', 'team-b', 'internal', NULL::text), ('payments', NULL, 'aws', 'DYNAMODB'),
             (NULL, NULL, 'internet', NULL)$$,
    'flows_enriched: owners of both ends and the class of the remote side');
SELECT is((SELECT ratio FROM vpcflow.unattributed WHERE day = '2023-11-14'), 0.3333,
    'unattributed: the share of flows with no owner');

-- ---------------------------------------------------------------- privileges
CREATE ROLE tap_lpm_plain NOLOGIN;
CREATE ROLE tap_lpm_reader NOLOGIN IN ROLE vpcflow_reader;
SET LOCAL ROLE tap_lpm_plain;
SELECT throws_ok($$SELECT * FROM vpcflow.load_aws_ip_ranges('{"prefixes": []}')$$, '42501', NULL,
    'a plain role cannot run the loaders');
RESET ROLE;
SET LOCAL ROLE tap_lpm_reader;
SELECT is(vpcflow.lpm_attr('tap_inv', '10.2.3.4', '2024-02-01', 'owner'), 'team-b',
    'a vpcflow_reader member can look prefixes up');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
