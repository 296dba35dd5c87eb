-- Hostile binary input: crafted values of every vpcflow type that has a
-- binary receive function, fed through COPY ... (FORMAT binary) as a client
-- would send them.  Each must be rejected with a clear error (or read as the
-- value it encodes); none may crash the backend or read past the message.
SET search_path = vpcflow, public;
SET client_min_messages = warning;

-- COPY one crafted value of type typ in binary; its text, or the error.
CREATE FUNCTION pg_temp.recv(typ text, payload bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    f text := current_setting('data_directory') || '/vpcflow_hostile.bin';
    body bytea := '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
        || '\x0001'::bytea || int4send(length(payload)) || payload || '\xffff'::bytea;
    r text;
BEGIN
    EXECUTE format('COPY (SELECT translate(encode(%L::bytea, ''base64''), E''\n'', '''')) TO PROGRAM %L',
                   body, 'base64 -d > ' || f);
    DROP TABLE IF EXISTS pg_temp.recv_t;
    EXECUTE format('CREATE TEMP TABLE recv_t (v %s)', typ);
    EXECUTE format('COPY pg_temp.recv_t FROM %L (FORMAT binary)', f);
    SELECT v::text INTO r FROM pg_temp.recv_t;
    RETURN r;
EXCEPTION WHEN others THEN
    RETURN 'ERROR: ' || SQLERRM;
END $$;

-- the helper works: a valid value of each kind round-trips
SELECT pg_temp.recv('vpcflow.awsid', convert_to('eni-0a1b2c3d4e5f60718', 'UTF8')) AS awsid,
       pg_temp.recv('vpcflow.flow_action', convert_to('REJECT', 'UTF8')) AS action,
       pg_temp.recv('vpcflow.ipprefix', '\x0418c0000200'::bytea) AS ipprefix;

SELECT t, pg_temp.recv(t, p) AS result
FROM (VALUES
    -- flow_record: a version byte, then the text line
    ('vpcflow.flow_record', '\x01'::bytea || convert_to('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK', 'UTF8')),
    ('vpcflow.flow_record', '\x02'::bytea || convert_to('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK', 'UTF8')),
    ('vpcflow.flow_record', '\x01'),
    ('vpcflow.flow_record', ''),
    ('vpcflow.flow_record', '\x01ffff00'),
    ('vpcflow.flow_record', '\x01'::bytea || convert_to(repeat('x ', 40), 'UTF8')),
    ('vpcflow.flow_record', '\x01'::bytea || convert_to('2 123456789010 ' || repeat('a', 300) || ' 1.2.3.4 5.6.7.8 1 2 6 1 1 1418530010 1418530070 ACCEPT OK', 'UTF8')),
    -- awsid: the text form
    ('vpcflow.awsid', convert_to(repeat('a', 2000), 'UTF8')),
    ('vpcflow.awsid', '\xc3'),
    ('vpcflow.awsid', ''),
    -- labels
    ('vpcflow.flow_action', convert_to('MAYBE', 'UTF8')),
    ('vpcflow.log_status', '\x00'),
    -- ipprefix: family, mask length, address bytes
    ('vpcflow.ipprefix', '\x07180a000000'),
    ('vpcflow.ipprefix', '\x04210a000000'),
    ('vpcflow.ipprefix', '\x04180a0000ff'),
    ('vpcflow.ipprefix', '\x0418'),
    ('vpcflow.ipprefix', '\x06ff'),
    -- aggregate states: truncated, inconsistent and oversized
    ('vpcflow.flow_stats_state', '\x00'),
    ('vpcflow.flow_stats_state', decode(repeat('ff', 200), 'hex')),
    ('vpcflow.hll', '\x01'),
    ('vpcflow.hll', '\x0104020000'),
    ('vpcflow.hll', '\x01ff02'),
    ('vpcflow.hll', '\x0112' || decode(repeat('7f', 64), 'hex')),
    ('vpcflow.topk_state', '\x01'),
    ('vpcflow.topk_state', decode(repeat('ff', 64), 'hex'))
) AS c(t, p);

SELECT pg_temp.recv('int', '\x00000001') AS still_alive;
DO $$ BEGIN
    -- the program reads its input first: exiting unread would break the pipe
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
                   'cat > /dev/null; rm -f ' || current_setting('data_directory') || '/vpcflow_hostile.bin');
END $$;
