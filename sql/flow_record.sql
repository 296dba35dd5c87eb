-- vpcflow.flow_record: text -> record -> text, accessors, equality, hashing.
SET search_path = vpcflow, public;

-- round trip of canonical lines (v2 default, NODATA, IPv6, v5 29 fields)
SELECT line, line::flow_record::text = line AS round_trip
FROM (VALUES
  ('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK'),
  ('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA'),
  ('2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8::1 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK'),
  ('5 123456789012 eni-1235b8ca123456789 52.95.128.179 10.0.0.71 80 34210 6 14 15044 1616729292 1616729349 ACCEPT OK vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b 19 IPv4 52.95.128.179 10.0.0.71 ap-southeast-2 apse2-az3 - - S3 - ingress 2')
) t(line);

SELECT pg_column_size('2 1 eni-1 1.2.3.4 1.2.3.5 1 2 6 1 1 1 2 ACCEPT OK'::flow_record) AS bytes;

-- accessors are typed like the store's columns
SELECT srcaddr(r), dstaddr(r), srcport(r), dstport(r), protocol(r), packets(r), bytes(r),
       start_time(r), end_time(r), action(r), log_status(r), account_id(r), interface_id(r),
       pg_typeof(action(r)) AS action_type, pg_typeof(interface_id(r)) AS id_type
FROM parse_record('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 REJECT OK') r;

-- custom format, ms timestamps, missing fields are NULL
SELECT r, vpc_id(r), start_time(r), srcport(r) IS NULL AS no_port
FROM parse_record('vpc-0461a061 1.2.3.4 5.6.7.8 1568300367000 1568300425500',
                  'vpc-id srcaddr dstaddr start end') r;

-- equality ignores spacing; hashing agrees (dedupe)
SELECT count(*) AS records, count(DISTINCT r) AS distinct_records
FROM (VALUES (parse_record('2 1 eni-1 1.2.3.4 1.2.3.5 1 2 6 1 1 1000000000 1000000060 ACCEPT OK')),
             (parse_record('2  1  eni-1 1.2.3.4 1.2.3.5 1 2 6 1 1 1000000000 1000000060 ACCEPT OK')),
             (parse_record('2 1 eni-1 1.2.3.4 1.2.3.5 1 2 6 1 1 1000000000 1000000061 ACCEPT OK'))) v(r);
SELECT flow_record_hash(parse_record('2 1 eni-1 1.2.3.4 1.2.3.5 1 2 6 1 1 1000000000 1000000060 ACCEPT OK'))
     = flow_record_hash('2 1 eni-1 1.2.3.4 1.2.3.5 1 2 6 1 1 1000000000 1000000060 ACCEPT OK') AS same_hash;

-- binary send/recv round trip through a COPY BINARY file
CREATE TEMP TABLE recs (r flow_record);
INSERT INTO recs VALUES ('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK'),
                        ('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA');
CREATE TEMP TABLE recs2 (r flow_record);
DO $$
BEGIN
    EXECUTE format('COPY recs TO %L (FORMAT binary)', current_setting('data_directory') || '/regress_flow_record.bin');
    EXECUTE format('COPY recs2 FROM %L (FORMAT binary)', current_setting('data_directory') || '/regress_flow_record.bin');
END $$;
SELECT count(*) AS same FROM recs JOIN recs2 USING (r);

-- errors: bad field, fields beyond v5, a header, wrong field count
SELECT '2 1 eni-1 1.2.3.4 1.2.3.5 1 99999 6 1 1 1 2 ACCEPT OK'::flow_record;
SELECT parse_record('x 1', 'ecs-task-id version');
SELECT parse_record('version srcaddr');
SELECT '2 1 eni-1 1.2.3.4'::flow_record;
