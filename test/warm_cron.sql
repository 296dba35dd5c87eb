-- pgTAP: vpcflow.run_maintenance() scheduled with pg_cron, as the README
-- shows.  pg_cron is preloaded by the test cluster (tools/cluster.sh) and
-- lives in the database named by cron.database_name, so the job is made
-- there through dblink, for this database; the test then waits (at most
-- 100 s: pg_cron's schedule has one-minute resolution) until
-- cron.job_run_details and vpcflow.maintenance_log show a finished run,
-- and removes the job.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(4);

CREATE TEMP TABLE started AS SELECT clock_timestamp() AS at,
    (SELECT coalesce(max(log_id), 0) FROM vpcflow.maintenance_log) AS log_id;
SELECT dblink_connect('cron', format('host=127.0.0.1 port=%s dbname=%s user=%s',
                      current_setting('port'), current_setting('cron.database_name'), current_user));
SELECT dblink_exec('cron', 'CREATE EXTENSION IF NOT EXISTS pg_cron');
CREATE TEMP TABLE job AS
SELECT jobid FROM dblink('cron', format(
    $$SELECT cron.schedule_in_database('vpcflow-maintenance-test', '* * * * *',
                                       'CALL vpcflow.run_maintenance()', %L)$$,
    current_database())) AS t(jobid bigint);
SELECT ok((SELECT jobid FROM job) > 0, 'cron.schedule_in_database accepts the maintenance job');

DO $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '100 seconds';
BEGIN
    WHILE clock_timestamp() < deadline AND NOT EXISTS (
        SELECT 1 FROM vpcflow.maintenance_log
        WHERE log_id > (SELECT log_id FROM started) AND action = 'run' AND message = 'finished')
    LOOP
        PERFORM pg_sleep(0.5);
    END LOOP;
END
$$;

SELECT ok(EXISTS (SELECT 1 FROM vpcflow.maintenance_log
                  WHERE log_id > (SELECT log_id FROM started) AND action = 'run' AND message = 'finished'),
          'pg_cron ran vpcflow.run_maintenance() within 100 seconds');
SELECT is((SELECT count(*) FROM vpcflow.maintenance_log
           WHERE log_id > (SELECT log_id FROM started) AND status = 'error'), 0::bigint,
          'the scheduled pass logged no error');
SELECT ok((SELECT status FROM dblink('cron', format(
              $$SELECT status FROM cron.job_run_details WHERE jobid = %s ORDER BY runid DESC LIMIT 1$$,
              (SELECT jobid FROM job))) AS t(status text)) IN ('succeeded', 'running'),
          'cron.job_run_details records the run');

SELECT * FROM dblink('cron', format($$SELECT cron.unschedule(%s)::text$$, (SELECT jobid FROM job)))
    AS t(x text);
SELECT dblink_disconnect('cron');
SELECT * FROM finish();
