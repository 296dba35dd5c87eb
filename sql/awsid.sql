-- vpcflow.awsid: exact text round trip, compact storage, text-like order.
SET search_path = vpcflow, public;

SELECT v, v::awsid::text = v AS round_trip, pg_column_size(v::awsid) AS bytes
FROM (VALUES ('eni-1235b8ca123456789'), ('vpc-abcdefab012345678'),
             ('subnet-aaaaaaaa012345678'), ('i-01234567890123456'),
             ('tgw-attach-0abc12345def67890'), ('123456789010'), ('000000000000'),
             ('12345678910'), ('unknown'), ('eni-069xxxxxb7a490'), ('eni-ABCDEF'),
             ('nat-0c50d5961bcb2d47b'), ('7'), ('')) t(v);

-- order and equality agree with text in the C collation
WITH ids(v) AS (VALUES ('eni-0a'), ('eni-0b'), ('eni-1'), ('eni-10'), ('eni-x'),
                       ('vpc-1'), ('123'), ('0123'), ('unknown'), ('eni-0A'))
SELECT bool_and((a.v::awsid < b.v::awsid) = (a.v < b.v COLLATE "C")) AS lt_agrees,
       bool_and((a.v::awsid = b.v::awsid) = (a.v = b.v)) AS eq_agrees,
       bool_and((vpcflow.awsid_hash(a.v::awsid) = vpcflow.awsid_hash(b.v::awsid)) OR a.v <> b.v) AS hash_agrees
FROM ids a, ids b;

-- implicit cast to text: string functions and LIKE
SELECT 'eni-1235b8ca123456789'::awsid LIKE 'eni-%' AS like_works,
       upper('eni-0a'::awsid) AS upper_works,
       length('subnet-aaaaaaaa012345678'::awsid) AS length_works;

-- binary I/O is the text
SELECT awsid_send('eni-0abc'::awsid) = convert_to('eni-0abc', 'UTF8') AS send_is_text;

-- too long
SELECT repeat('x', 2000)::awsid;
