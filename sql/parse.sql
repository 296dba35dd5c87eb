-- vpcflow.parse(): the text format, headers, formats and errors.
SET search_path = vpcflow, public;

-- v2 default, NODATA, SKIPDATA, ICMP, IPv6; CRLF, runs of blanks, blank lines
SELECT version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol,
       packets, bytes, start_time, end_time, action, log_status
FROM parse(E'2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\r\n' ||
           E'\n   \n' ||
           E'2  123456789010\teni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n' ||
           E'2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA\n' ||
           E'2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK\n' ||
           E'2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 ::ffff:10.0.0.1 34892 22 6 54 8855 1477913708 1477913820 REJECT OK');

-- a header in another order, repeated mid-stream with a different order;
-- version not first; milliseconds; an unknown column kept in extra
SELECT version, account_id, srcaddr, dstport, tcp_flags, type, vpc_id, start_time, end_time, extra
FROM parse(E'account-id bytes dstaddr dstport end packets srcaddr srcport start tcp-flags type version vpc-id\n' ||
           E'000000000000 6392 172.18.160.93 47460 1568300425 10 172.18.160.68 443 1568300367 19 IPv4 3 vpc-0461a061\n' ||
           E'version vpc-id start end srcaddr dstaddr dstport flavour\n' ||
           E'4 vpc-0461a061 1512564058000 1512564059000 10.0.0.1 10.0.0.2 443 vanilla\n' ||
           E'4 vpc-0461a061 1512564058 1512564059 10.0.0.1 10.0.0.2 443 -');

-- explicit formats: presets, ${field} syntax, commas, underscores
SELECT interface_id, srcaddr, dstaddr FROM parse('2 eni-1235b8ca123456789 172.31.16.139 172.31.16.21',
                                                  '${version} ${interface-id} ${srcaddr} ${dstaddr}');
SELECT instance_id, pkt_dstaddr FROM parse('- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5',
                                           'instance_id,interface_id,srcaddr,dstaddr,pkt_srcaddr,pkt_dstaddr');
SELECT pkt_src_aws_service, flow_direction, traffic_path, az_id
FROM parse('5 123456789012 eni-1 52.95.128.179 10.0.0.71 80 34210 6 14 15044 1616729292 1616729349 ACCEPT OK vpc-1 subnet-1 i-1 19 IPv4 52.95.128.179 10.0.0.71 ap-southeast-2 apse2-az3 - - S3 - ingress 1', 'v5');
SELECT resource_type, tgw_id, tgw_src_eni, packets_lost_blackhole, region
FROM parse('6 VPC 123456789012 tgw-0abc tgw-attach-0abc 123456789012 123456789013 vpc-1 vpc-2 subnet-1 subnet-2 eni-1 eni-2 use1-az1 use1-az2 tgw-attach-0def 10.0.0.1 10.0.1.1 12345 443 6 10 1000 1700000000 1700000060 OK IPv4 0 3 0 0 2 us-east-1 ingress - -', 'tgw');
SELECT count(*) AS fields FROM fields();

-- the columns of parse() are the store's, so its rows insert as they are
SELECT ensure_partitions('2014-12-14', '2014-12-15');
INSERT INTO flows SELECT * FROM parse('2 123456789010 eni-0000000000000parse 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK');
SELECT count(*) FROM flows WHERE interface_id = 'eni-0000000000000parse';

-- errors name the line, field, column and value
SELECT * FROM parse(E'2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n' ||
                    E'2 123456789010 eni-1 172.31.16.139 172.31.16.21 70000 22 6 20 4249 1418530010 1418530070 ACCEPT OK');
SELECT * FROM parse('2 123456789010 eni-1 172.31.16.300 172.31.16.21 1 22 6 20 4249 1418530010 1418530070 ACCEPT OK');
SELECT * FROM parse('2 123456789010 eni-1 1.2.3.4 1.2.3.5 1 22 6 20 4249 1418530010 1418530070 ALLOW OK');
SELECT * FROM parse('2 123456789010 eni-1 1.2.3.4 1.2.3.5 1 22 6 20 4249 1418530010 1418530070 ACCEPT OK extra');
SELECT * FROM parse('2 123456789010 eni-1 1.2.3.4 1.2.3.5 1 22 6 20 4249 1418530010');
SELECT * FROM parse('2 123456789010 eni-1 1.2.3.4 1.2.3.5 1 22 6 20 -4249 1418530010 1418530070 ACCEPT OK');
SELECT * FROM parse(E'2 123456789010 eni-\x01 1.2.3.4 1.2.3.5 1 22 6 20 1 1418530010 1418530070 ACCEPT OK');
SELECT * FROM parse('Phony unsupported log format.');
SELECT * FROM parse('1 2', 'srcport srcport');
SELECT * FROM parse('1 2', '');
