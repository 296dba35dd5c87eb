-- pgTAP: vpcflow.protect_relation, the call other parts use to protect
-- their relations: awsid and text account columns, a custom tenant test,
-- views, the writer modes, and the refusals (materialized views, foreign
-- tables, unknown columns and modes), plus that it is not for PUBLIC.
BEGIN;
SET LOCAL client_min_messages = warning;

CREATE ROLE tap_prot_a NOLOGIN IN ROLE vpcflow_reader;
CREATE ROLE tap_prot_w NOLOGIN IN ROLE vpcflow_writer;
INSERT INTO vpcflow.tenant_accounts (role_id, account_id) VALUES ('tap_prot_a', '111111111111');

CREATE TABLE vpcflow.tap_rollup_awsid (account_id vpcflow.awsid, n int);
CREATE TABLE vpcflow.tap_rollup_text (project text, n int);
CREATE TABLE vpcflow.tap_child (parent_account text, n int);
INSERT INTO vpcflow.tap_rollup_awsid VALUES ('111111111111', 1), ('222222222222', 2);
INSERT INTO vpcflow.tap_rollup_text VALUES ('111111111111', 1), ('222222222222', 2);
INSERT INTO vpcflow.tap_child VALUES ('111111111111', 1), ('222222222222', 2);
CREATE VIEW vpcflow.tap_view AS SELECT * FROM vpcflow.tap_rollup_awsid;
CREATE MATERIALIZED VIEW vpcflow.tap_mat AS SELECT 1 AS account_id;
GRANT SELECT ON vpcflow.tap_rollup_awsid, vpcflow.tap_rollup_text, vpcflow.tap_child, vpcflow.tap_view
    TO vpcflow_reader;
GRANT INSERT ON vpcflow.tap_rollup_awsid, vpcflow.tap_rollup_text TO vpcflow_writer;

CREATE FUNCTION pg_temp.sum_as(role name, rel text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    EXECUTE format('SELECT coalesce(sum(n), 0) FROM %s', rel) INTO n;
    RESET ROLE;
    RETURN n;
END $$;

SELECT plan(14);

SELECT lives_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_rollup_awsid')$$,
    'an awsid account_id column');
SELECT lives_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_rollup_text', 'project', writer => 'insert')$$,
    'a text account column under another name');
SELECT lives_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_child', tenant_using =>
    'parent_account IN (SELECT a::text FROM vpcflow.readable_accounts() a)', writer => 'none')$$,
    'a custom tenant test');
SELECT lives_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_view')$$, 'a view');

SELECT is(pg_temp.sum_as('tap_prot_a', 'vpcflow.tap_rollup_awsid'), 1::bigint,
    'awsid column: the tenant sees its row only');
SELECT is(pg_temp.sum_as('tap_prot_a', 'vpcflow.tap_rollup_text'), 1::bigint,
    'text column: the tenant sees its row only');
SELECT is(pg_temp.sum_as('tap_prot_a', 'vpcflow.tap_child'), 1::bigint,
    'custom test: the tenant sees its row only');
SELECT is(pg_temp.sum_as('tap_prot_a', 'vpcflow.tap_view'), 1::bigint,
    'the view is security_invoker: the tenant sees its row only through it');

SET LOCAL ROLE tap_prot_w;
SELECT lives_ok($$INSERT INTO vpcflow.tap_rollup_awsid VALUES ('999999999999', 9)$$,
    'writer => insert: a writer inserts any account''s row');
RESET ROLE;

SELECT throws_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_mat')$$, '42809', NULL,
    'a materialized view is refused (no row-level security possible)');
SELECT throws_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_rollup_text')$$, '42703',
    'protect_relation: vpcflow.tap_rollup_text has no column account_id',
    'an unknown account column is refused');
SELECT throws_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_rollup_awsid', writer => 'everything')$$,
    '22023', NULL, 'an unknown writer mode is refused');
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid = 'vpcflow.tap_rollup_awsid'::regclass),
    3::bigint, 'protecting again replaces the policies (three, not six)')
    FROM (SELECT vpcflow.protect_relation('vpcflow.tap_rollup_awsid')) s;

SET LOCAL ROLE tap_prot_a;
SELECT throws_ok($$SELECT vpcflow.protect_relation('vpcflow.tap_rollup_awsid', writer => 'all')$$,
    '42501', NULL, 'a reader cannot call protect_relation');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
