/*
 * ipprefix.h
 *		vpcflow.ipprefix datum access, shared by ipprefix.c and lpm.c.
 */
#ifndef VPCFLOW_IPPREFIX_H
#define VPCFLOW_IPPREFIX_H

#include "postgres.h"

#include <sys/socket.h>		/* AF_INET, used by utils/inet.h */

#include "fmgr.h"
#include "utils/inet.h"

#include "lpmtrie.h"

StaticAssertDecl(sizeof(IpPrefix) == IPPREFIX_SIZE, "IpPrefix must be 18 bytes");

#define DatumGetIpPrefixP(d)	((IpPrefix *) DatumGetPointer(d))
#define IpPrefixPGetDatum(p)	PointerGetDatum(p)
#define PG_GETARG_IPPREFIX_P(n) DatumGetIpPrefixP(PG_GETARG_DATUM(n))
#define PG_RETURN_IPPREFIX_P(p) return IpPrefixPGetDatum(p)

/*
 * An inet/cidr value as a prefix of its mask length.  mask_host: clear the
 * bits after the mask (else they are kept, and the caller may check them).
 */
static inline void
inet_to_ipprefix(const inet *in, IpPrefix *out, bool mask_host)
{
	memset(out, 0, sizeof(IpPrefix));
	out->family = ip_family(in) == PGSQL_AF_INET ? 4 : 6;
	out->bits = ip_bits(in);
	memcpy(out->addr, ip_addr(in), ip_addrsize(in));
	if (mask_host)
		ip_clear_host_bits(out->addr, out->bits, 16);
}

#endif							/* VPCFLOW_IPPREFIX_H */
