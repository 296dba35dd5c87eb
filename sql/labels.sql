-- One-byte label types.
SET search_path = vpcflow, public;

SELECT 'ACCEPT'::flow_action, 'REJECT'::flow_action,
       'OK'::log_status, 'NODATA'::log_status, 'SKIPDATA'::log_status,
       'ingress'::flow_direction, 'egress'::flow_direction;
SELECT pg_column_size('REJECT'::flow_action) AS bytes;
SELECT 'ACCEPT'::flow_action < 'REJECT'::flow_action AS ordered,
       'REJECT'::flow_action = 'REJECT' AS eq,
       'REJECT'::flow_action::text || '!' AS as_text;
SELECT a, count(*) FROM (VALUES ('REJECT'::flow_action), ('ACCEPT'), ('REJECT')) v(a)
GROUP BY a ORDER BY a;
-- bad labels name the type and the valid values
SELECT 'accept'::flow_action;
SELECT 'FAILED'::log_status;
SELECT ''::flow_direction;
