-- Comparison operators and btree/hash operator classes for the
-- extension's types.  Each type T has functions vpcflow.T_eq, _ne, _lt, _le,
-- _gt, _ge, _cmp, _hash and _hash_extended (defined beside the type); one
-- template turns them into the operator set, so all types behave alike.
DO $operators$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['awsid', 'flow_action', 'log_status', 'flow_direction', 'cloud_provider', 'flow_record'] LOOP
        EXECUTE format($sql$
            CREATE OPERATOR vpcflow.= (LEFTARG = vpcflow.%1$I, RIGHTARG = vpcflow.%1$I,
                PROCEDURE = vpcflow.%1$I_eq, COMMUTATOR = OPERATOR(vpcflow.=),
                NEGATOR = OPERATOR(vpcflow.<>), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
            CREATE OPERATOR vpcflow.<> (LEFTARG = vpcflow.%1$I, RIGHTARG = vpcflow.%1$I,
                PROCEDURE = vpcflow.%1$I_ne, COMMUTATOR = OPERATOR(vpcflow.<>),
                NEGATOR = OPERATOR(vpcflow.=), RESTRICT = neqsel, JOIN = neqjoinsel);
            CREATE OPERATOR vpcflow.< (LEFTARG = vpcflow.%1$I, RIGHTARG = vpcflow.%1$I,
                PROCEDURE = vpcflow.%1$I_lt, COMMUTATOR = OPERATOR(vpcflow.>),
                NEGATOR = OPERATOR(vpcflow.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
            CREATE OPERATOR vpcflow.<= (LEFTARG = vpcflow.%1$I, RIGHTARG = vpcflow.%1$I,
                PROCEDURE = vpcflow.%1$I_le, COMMUTATOR = OPERATOR(vpcflow.>=),
                NEGATOR = OPERATOR(vpcflow.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
            CREATE OPERATOR vpcflow.> (LEFTARG = vpcflow.%1$I, RIGHTARG = vpcflow.%1$I,
                PROCEDURE = vpcflow.%1$I_gt, COMMUTATOR = OPERATOR(vpcflow.<),
                NEGATOR = OPERATOR(vpcflow.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
            CREATE OPERATOR vpcflow.>= (LEFTARG = vpcflow.%1$I, RIGHTARG = vpcflow.%1$I,
                PROCEDURE = vpcflow.%1$I_ge, COMMUTATOR = OPERATOR(vpcflow.<=),
                NEGATOR = OPERATOR(vpcflow.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

            CREATE OPERATOR CLASS vpcflow.%1$I_ops DEFAULT FOR TYPE vpcflow.%1$I USING btree AS
                OPERATOR 1 vpcflow.<, OPERATOR 2 vpcflow.<=, OPERATOR 3 vpcflow.=,
                OPERATOR 4 vpcflow.>=, OPERATOR 5 vpcflow.>,
                FUNCTION 1 vpcflow.%1$I_cmp(vpcflow.%1$I, vpcflow.%1$I);
            CREATE OPERATOR CLASS vpcflow.%1$I_hash_ops DEFAULT FOR TYPE vpcflow.%1$I USING hash AS
                OPERATOR 1 vpcflow.=,
                FUNCTION 1 vpcflow.%1$I_hash(vpcflow.%1$I),
                FUNCTION 2 vpcflow.%1$I_hash_extended(vpcflow.%1$I, int8);
        $sql$, t);
    END LOOP;
END
$operators$;
