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

CREATE OPERATOR vpcflow.= (LEFTARG = vpcflow.awsid, RIGHTARG = vpcflow.awsid,
    PROCEDURE = vpcflow.awsid_eq, COMMUTATOR = OPERATOR(vpcflow.=),
    NEGATOR = OPERATOR(vpcflow.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR vpcflow.<> (LEFTARG = vpcflow.awsid, RIGHTARG = vpcflow.awsid,
    PROCEDURE = vpcflow.awsid_ne, COMMUTATOR = OPERATOR(vpcflow.<>),
    NEGATOR = OPERATOR(vpcflow.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR vpcflow.< (LEFTARG = vpcflow.awsid, RIGHTARG = vpcflow.awsid,
    PROCEDURE = vpcflow.awsid_lt, COMMUTATOR = OPERATOR(vpcflow.>),
    NEGATOR = OPERATOR(vpcflow.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR vpcflow.<= (LEFTARG = vpcflow.awsid, RIGHTARG = vpcflow.awsid,
    PROCEDURE = vpcflow.awsid_le, COMMUTATOR = OPERATOR(vpcflow.>=),
    NEGATOR = OPERATOR(vpcflow.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR vpcflow.> (LEFTARG = vpcflow.awsid, RIGHTARG = vpcflow.awsid,
    PROCEDURE = vpcflow.awsid_gt, COMMUTATOR = OPERATOR(vpcflow.<),
    NEGATOR = OPERATOR(vpcflow.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR vpcflow.>= (LEFTARG = vpcflow.awsid, RIGHTARG = vpcflow.awsid,
    PROCEDURE = vpcflow.awsid_ge, COMMUTATOR = OPERATOR(vpcflow.<=),
    NEGATOR = OPERATOR(vpcflow.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS vpcflow.awsid_ops DEFAULT FOR TYPE vpcflow.awsid USING btree AS
    OPERATOR 1 vpcflow.<, OPERATOR 2 vpcflow.<=, OPERATOR 3 vpcflow.=,
    OPERATOR 4 vpcflow.>=, OPERATOR 5 vpcflow.>,
    FUNCTION 1 vpcflow.awsid_cmp(vpcflow.awsid, vpcflow.awsid);
CREATE OPERATOR CLASS vpcflow.awsid_hash_ops DEFAULT FOR TYPE vpcflow.awsid USING hash AS
    OPERATOR 1 vpcflow.=,
    FUNCTION 1 vpcflow.awsid_hash(vpcflow.awsid),
    FUNCTION 2 vpcflow.awsid_hash_extended(vpcflow.awsid, int8);
