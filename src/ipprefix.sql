-- vpcflow.ipprefix: an IPv4 or IPv6 CIDR prefix, 18 bytes fixed (family,
-- mask length, 16 address bytes with host bits zero).  Casts to and from
-- inet, cidr and text; containment (>>, >>=, <<, <<=), overlap (&&),
-- equality and order; btree, hash (platform-independent) and SP-GiST
-- operator classes.  Containment against inet needs no cast:
-- prefix >>= inet '10.1.2.3' and inet '10.1.2.3' <<= prefix use the index.

CREATE TYPE vpcflow.ipprefix;

CREATE FUNCTION vpcflow.ipprefix_in(cstring) RETURNS vpcflow.ipprefix
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.ipprefix_out(vpcflow.ipprefix) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.ipprefix_recv(internal) RETURNS vpcflow.ipprefix
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.ipprefix_send(vpcflow.ipprefix) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Category I (network address), like inet: an untyped literal beside an
-- ipprefix resolves to inet's operators when both fit.
CREATE TYPE vpcflow.ipprefix (
    INPUT = vpcflow.ipprefix_in,
    OUTPUT = vpcflow.ipprefix_out,
    RECEIVE = vpcflow.ipprefix_recv,
    SEND = vpcflow.ipprefix_send,
    INTERNALLENGTH = 18,
    ALIGNMENT = char,
    STORAGE = plain,
    CATEGORY = 'I'
);

COMMENT ON TYPE vpcflow.ipprefix IS
    'IPv4 or IPv6 CIDR prefix, 18 bytes fixed, host bits zero, stable hash';

-- Casts.  inet and cidr keep their mask length (host bits set: error, use
-- network()); an address without a mask becomes /32 or /128.
CREATE FUNCTION vpcflow.ipprefix(inet) RETURNS vpcflow.ipprefix
    AS 'MODULE_PATHNAME', 'ipprefix_from_inet' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.inet(vpcflow.ipprefix) RETURNS inet
    AS 'MODULE_PATHNAME', 'ipprefix_to_inet' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.cidr(vpcflow.ipprefix) RETURNS cidr
    AS 'MODULE_PATHNAME', 'ipprefix_to_inet' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.masklen(vpcflow.ipprefix) RETURNS integer
    AS 'MODULE_PATHNAME', 'ipprefix_masklen' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.family(vpcflow.ipprefix) RETURNS integer
    AS 'MODULE_PATHNAME', 'ipprefix_family' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE CAST (inet AS vpcflow.ipprefix) WITH FUNCTION vpcflow.ipprefix(inet) AS ASSIGNMENT;
CREATE CAST (cidr AS vpcflow.ipprefix) WITH FUNCTION vpcflow.ipprefix(inet) AS ASSIGNMENT;
-- Implicit to inet: inet's functions (host, masklen, family, abbrev, ...)
-- apply to a prefix directly.
CREATE CAST (vpcflow.ipprefix AS inet) WITH FUNCTION vpcflow.inet(vpcflow.ipprefix) AS IMPLICIT;
CREATE CAST (vpcflow.ipprefix AS cidr) WITH FUNCTION vpcflow.cidr(vpcflow.ipprefix) AS ASSIGNMENT;
CREATE CAST (vpcflow.ipprefix AS text) WITH INOUT AS ASSIGNMENT;
CREATE CAST (text AS vpcflow.ipprefix) WITH INOUT AS ASSIGNMENT;

-- Comparison, containment and hashing.
CREATE FUNCTION vpcflow.ipprefix_eq(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_ne(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_lt(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_le(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_gt(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_ge(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_cmp(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS int4
    AS 'MODULE_PATHNAME', 'ipprefix_cmp_fn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_hash(vpcflow.ipprefix) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_hash_extended(vpcflow.ipprefix, int8) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_contains(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME', 'ipprefix_contains_fn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_contains_strict(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_contained(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_contained_strict(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_overlaps(vpcflow.ipprefix, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME', 'ipprefix_overlaps_fn' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_contains_inet(vpcflow.ipprefix, inet) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.ipprefix_contains_strict_inet(vpcflow.ipprefix, inet) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.inet_contained_by_ipprefix(inet, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION vpcflow.inet_contained_strict_by_ipprefix(inet, vpcflow.ipprefix) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR vpcflow.= (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_eq, COMMUTATOR = OPERATOR(vpcflow.=),
    NEGATOR = OPERATOR(vpcflow.<>), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR vpcflow.<> (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_ne, COMMUTATOR = OPERATOR(vpcflow.<>),
    NEGATOR = OPERATOR(vpcflow.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR vpcflow.< (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_lt, COMMUTATOR = OPERATOR(vpcflow.>),
    NEGATOR = OPERATOR(vpcflow.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR vpcflow.<= (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_le, COMMUTATOR = OPERATOR(vpcflow.>=),
    NEGATOR = OPERATOR(vpcflow.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR vpcflow.> (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_gt, COMMUTATOR = OPERATOR(vpcflow.<),
    NEGATOR = OPERATOR(vpcflow.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR vpcflow.>= (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_ge, COMMUTATOR = OPERATOR(vpcflow.<=),
    NEGATOR = OPERATOR(vpcflow.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR vpcflow.>>= (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_contains, COMMUTATOR = OPERATOR(vpcflow.<<=),
    RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR vpcflow.>> (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_contains_strict, COMMUTATOR = OPERATOR(vpcflow.<<),
    RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR vpcflow.<<= (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_contained, COMMUTATOR = OPERATOR(vpcflow.>>=),
    RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR vpcflow.<< (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_contained_strict, COMMUTATOR = OPERATOR(vpcflow.>>),
    RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR vpcflow.&& (LEFTARG = vpcflow.ipprefix, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.ipprefix_overlaps, COMMUTATOR = OPERATOR(vpcflow.&&),
    RESTRICT = contsel, JOIN = contjoinsel);

CREATE OPERATOR vpcflow.>>= (LEFTARG = vpcflow.ipprefix, RIGHTARG = inet,
    PROCEDURE = vpcflow.ipprefix_contains_inet, COMMUTATOR = OPERATOR(vpcflow.<<=),
    RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR vpcflow.>> (LEFTARG = vpcflow.ipprefix, RIGHTARG = inet,
    PROCEDURE = vpcflow.ipprefix_contains_strict_inet, COMMUTATOR = OPERATOR(vpcflow.<<),
    RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR vpcflow.<<= (LEFTARG = inet, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.inet_contained_by_ipprefix, COMMUTATOR = OPERATOR(vpcflow.>>=),
    RESTRICT = contsel, JOIN = contjoinsel);
CREATE OPERATOR vpcflow.<< (LEFTARG = inet, RIGHTARG = vpcflow.ipprefix,
    PROCEDURE = vpcflow.inet_contained_strict_by_ipprefix, COMMUTATOR = OPERATOR(vpcflow.>>),
    RESTRICT = contsel, JOIN = contjoinsel);

CREATE OPERATOR CLASS vpcflow.ipprefix_ops DEFAULT FOR TYPE vpcflow.ipprefix USING btree AS
    OPERATOR 1 vpcflow.<, OPERATOR 2 vpcflow.<=, OPERATOR 3 vpcflow.=,
    OPERATOR 4 vpcflow.>=, OPERATOR 5 vpcflow.>,
    FUNCTION 1 vpcflow.ipprefix_cmp(vpcflow.ipprefix, vpcflow.ipprefix);
CREATE OPERATOR CLASS vpcflow.ipprefix_hash_ops DEFAULT FOR TYPE vpcflow.ipprefix USING hash AS
    OPERATOR 1 vpcflow.=,
    FUNCTION 1 vpcflow.ipprefix_hash(vpcflow.ipprefix),
    FUNCTION 2 vpcflow.ipprefix_hash_extended(vpcflow.ipprefix, int8);

-- SP-GiST: a radix tree on the address bits (see ipprefix.c).
CREATE FUNCTION vpcflow.ipprefix_spg_config(internal, internal) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.ipprefix_spg_choose(internal, internal) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.ipprefix_spg_picksplit(internal, internal) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.ipprefix_spg_inner_consistent(internal, internal) RETURNS void
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vpcflow.ipprefix_spg_leaf_consistent(internal, internal) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS vpcflow.ipprefix_spgist_ops DEFAULT FOR TYPE vpcflow.ipprefix USING spgist AS
    OPERATOR 3 vpcflow.&& (vpcflow.ipprefix, vpcflow.ipprefix),
    OPERATOR 18 vpcflow.= (vpcflow.ipprefix, vpcflow.ipprefix),
    OPERATOR 24 vpcflow.<< (vpcflow.ipprefix, vpcflow.ipprefix),
    OPERATOR 25 vpcflow.<<= (vpcflow.ipprefix, vpcflow.ipprefix),
    OPERATOR 26 vpcflow.>> (vpcflow.ipprefix, vpcflow.ipprefix),
    OPERATOR 27 vpcflow.>>= (vpcflow.ipprefix, vpcflow.ipprefix),
    OPERATOR 26 vpcflow.>> (vpcflow.ipprefix, inet),
    OPERATOR 27 vpcflow.>>= (vpcflow.ipprefix, inet),
    FUNCTION 1 vpcflow.ipprefix_spg_config(internal, internal),
    FUNCTION 2 vpcflow.ipprefix_spg_choose(internal, internal),
    FUNCTION 3 vpcflow.ipprefix_spg_picksplit(internal, internal),
    FUNCTION 4 vpcflow.ipprefix_spg_inner_consistent(internal, internal),
    FUNCTION 5 vpcflow.ipprefix_spg_leaf_consistent(internal, internal);
