-- vpcflow.awsid: resource ids (eni-, vpc-, subnet-, i-, account ids) in a
-- compact exact encoding.  Reads and prints as the original text.

CREATE TYPE vpcflow.awsid;

CREATE FUNCTION vpcflow.awsid_in(cstring) RETURNS vpcflow.awsid
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_out(vpcflow.awsid) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_recv(internal) RETURNS vpcflow.awsid
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_send(vpcflow.awsid) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE main lets short ids take a 1-byte header, and 1-byte-header
-- values are stored unaligned; ids never reach TOAST.
CREATE TYPE vpcflow.awsid (
    INPUT = vpcflow.awsid_in,
    OUTPUT = vpcflow.awsid_out,
    RECEIVE = vpcflow.awsid_recv,
    SEND = vpcflow.awsid_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = main,
    CATEGORY = 'S',
    COLLATABLE = false
);

CREATE FUNCTION vpcflow.awsid_to_text(vpcflow.awsid) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_from_text(text) RETURNS vpcflow.awsid
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Implicit to text: LIKE, string functions and text comparisons just work.
CREATE CAST (vpcflow.awsid AS text) WITH FUNCTION vpcflow.awsid_to_text(vpcflow.awsid) AS IMPLICIT;
CREATE CAST (text AS vpcflow.awsid) WITH FUNCTION vpcflow.awsid_from_text(text) AS ASSIGNMENT;
CREATE CAST (varchar AS vpcflow.awsid) WITH FUNCTION vpcflow.awsid_from_text(text) AS ASSIGNMENT;

CREATE FUNCTION vpcflow.awsid_eq(vpcflow.awsid, vpcflow.awsid) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.awsid_ne(vpcflow.awsid, vpcflow.awsid) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.awsid_lt(vpcflow.awsid, vpcflow.awsid) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_le(vpcflow.awsid, vpcflow.awsid) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_gt(vpcflow.awsid, vpcflow.awsid) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_ge(vpcflow.awsid, vpcflow.awsid) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_cmp(vpcflow.awsid, vpcflow.awsid) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_hash(vpcflow.awsid) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.awsid_hash_extended(vpcflow.awsid, int8) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
