/*
 * lpm.c
 *		Time-aware longest-prefix match over the prefix sets of
 *		vpcflow.prefixes, backed by a compiled table (lpmtrie.c) cached per
 *		backend and per set.
 *
 * Cache validity: every change to vpcflow.prefixes bumps the set's row in
 * vpcflow.prefix_sets to a fresh value of a sequence (statement-level
 * triggers), so a version number names exactly one content of a set.  A
 * lookup reads the set's version through SPI with the caller's snapshot
 * and rebuilds the table when it differs from the cached one; the read is
 * skipped while the active snapshot is the one it was last checked under
 * (same transaction, command, xmin, xmax and running transactions), so a
 * query pays for it once, not once a row.  Answers are therefore those of
 * the statement's snapshot: never stale after an update, committed by this
 * backend or another.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/proc.h"
#include "utils/array.h"
/* arrayaccess.h's inline functions trip -Wsign-compare (-Wextra) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "utils/arrayaccess.h"
#pragma GCC diagnostic pop
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ipprefix.h"
#include "lpmtrie.h"

/* Attributes lpm_attr() can return, in the order of the load query. */
static const char *const lpm_attr_names[] = {
	"name", "owner", "kind", "region", "service", "asn", "country", "env"
};
#define LPM_NATTRS lengthof(lpm_attr_names)

typedef struct SnapFingerprint
{
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	bool		suboverflowed;
	CommandId	curcid;
	uint64		completions;
} SnapFingerprint;

typedef struct LpmSet
{
	struct LpmSet *next;
	char	   *name;
	int			namelen;
	MemoryContext cxt;			/* holds name, ids, attrs */
	Oid			sets_relid;		/* vpcflow.prefix_sets' oid (extension re-created?) */
	int64		version;
	LpmTable   *table;			/* malloc'd */
	int			nentries;
	int64	   *ids;			/* by entry, ascending */
	text	  **attrs;			/* nentries * LPM_NATTRS, or NULL until needed */
	bool		fp_valid;
	SnapFingerprint fp;
	int64		builds;
	double		build_ms;
} LpmSet;

static LpmSet *lpm_sets = NULL;

static bool
snapshot_fingerprint(SnapFingerprint *fp)
{
	Snapshot	s;

	if (!ActiveSnapshotSet())
		return false;
	s = GetActiveSnapshot();
	memset(fp, 0, sizeof(*fp));
	fp->lxid = MyProc->lxid;
	fp->xmin = s->xmin;
	fp->xmax = s->xmax;
	fp->xcnt = s->xcnt;
	fp->subxcnt = s->subxcnt;
	fp->suboverflowed = s->suboverflowed;
	fp->curcid = s->curcid;
	fp->completions = s->snapXactCompletionCount;
	return true;
}

static bool
fingerprint_equal(const SnapFingerprint *a, const SnapFingerprint *b)
{
	return a->lxid == b->lxid && a->xmin == b->xmin && a->xmax == b->xmax &&
		a->xcnt == b->xcnt && a->subxcnt == b->subxcnt &&
		a->suboverflowed == b->suboverflowed && a->curcid == b->curcid &&
		a->completions == b->completions;
}

/* The set's version and prefix_sets' oid as this snapshot sees them (0: no set). */
static int64
lpm_read_version(const char *name, int namelen, Oid *relid)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int64		version = 0;
	int			rc;

	args[0] = PointerGetDatum(cstring_to_text_with_len(name, namelen));
	rc = SPI_execute_with_args("SELECT s.version, s.tableoid FROM vpcflow.prefix_sets s "
							   "WHERE s.set_name = $1",
							   1, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	*relid = InvalidOid;
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			version = DatumGetInt64(d);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		if (!isnull)
			*relid = DatumGetObjectId(d);
	}
	return version;
}

/*
 * Load the set's entries (ordered by id) into a new table.  Runs inside
 * SPI; the result's memory context is a child of the caller's until the
 * caller adopts it.
 */
static void
lpm_build_set(LpmSet *set, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "vpcflow lpm set",
											  ALLOCSET_DEFAULT_SIZES);
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	Portal		portal;
	LpmEntry   *entries = NULL;
	int64	   *ids = NULL;
	size_t		n = 0,
				cap = 0;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	args[0] = PointerGetDatum(cstring_to_text_with_len(set->name, set->namelen));
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT p.id, p.prefix, p.valid_from, p.valid_to "
									   "FROM vpcflow.prefixes p WHERE p.set_name = $1 "
									   "ORDER BY p.id",
									   1, argtypes, args, NULL, true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 65536);
		if (SPI_processed == 0)
			break;
		if (n + SPI_processed > cap)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			cap = Max(cap * 2, n + SPI_processed);
			if (cap > MaxAllocHugeSize / sizeof(LpmEntry) || cap > INT32_MAX / 2)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("prefix set \"%.*s\" is too large", set->namelen, set->name)));
			entries = entries ? repalloc_huge(entries, cap * sizeof(LpmEntry)) :
				MemoryContextAllocHuge(cxt, cap * sizeof(LpmEntry));
			ids = ids ? repalloc_huge(ids, cap * sizeof(int64)) :
				MemoryContextAllocHuge(cxt, cap * sizeof(int64));
			MemoryContextSwitchTo(old);
		}
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			LpmEntry   *e = &entries[n];
			Datum		d;

			ids[n] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			d = SPI_getbinval(tup, desc, 2, &isnull);
			if (isnull)
				continue;
			e->prefix = *DatumGetIpPrefixP(d);
			d = SPI_getbinval(tup, desc, 3, &isnull);
			e->valid_from = isnull ? PG_INT64_MIN : DatumGetTimestampTz(d);
			d = SPI_getbinval(tup, desc, 4, &isnull);
			e->valid_to = isnull ? PG_INT64_MAX : DatumGetTimestampTz(d);
			e->id = ids[n];
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);

	set->table = lpm_build(entries, n);
	if (set->table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building the prefix table of set \"%.*s\"",
						set->namelen, set->name)));
	if (entries)
		pfree(entries);
	set->ids = ids;
	set->nentries = (int) n;
	set->attrs = NULL;
	set->cxt = cxt;
	set->builds++;
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	set->build_ms = INSTR_TIME_GET_MILLISEC(elapsed);
}

/* Load the attributes of the set's entries (same version, same id order). */
static void
lpm_load_attrs(LpmSet *set)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	Portal		portal;
	text	  **attrs;
	int64		n = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	attrs = MemoryContextAllocHuge(set->cxt, sizeof(text *) * LPM_NATTRS * Max(set->nentries, 1));
	args[0] = PointerGetDatum(cstring_to_text_with_len(set->name, set->namelen));
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT p.id, p.name, p.owner, p.kind, p.region, p.service, "
									   "p.asn::text, p.country, p.env "
									   "FROM vpcflow.prefixes p WHERE p.set_name = $1 "
									   "AND p.prefix IS NOT NULL ORDER BY p.id",
									   1, argtypes, args, NULL, true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 65536);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int			a;

			if (n >= set->nentries ||
				DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) != set->ids[n])
				elog(ERROR, "prefix set \"%.*s\" changed while its attributes were loaded",
					 set->namelen, set->name);
			for (a = 0; a < (int) LPM_NATTRS; a++)
			{
				Datum		d = SPI_getbinval(tup, desc, a + 2, &isnull);

				attrs[n * LPM_NATTRS + a] = NULL;
				if (!isnull)
				{
					text	   *t = DatumGetTextPP(d);
					text	   *c = MemoryContextAlloc(set->cxt, VARSIZE_ANY(t));

					memcpy(c, t, VARSIZE_ANY(t));
					attrs[n * LPM_NATTRS + a] = c;
				}
			}
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	if (n != set->nentries)
		elog(ERROR, "prefix set \"%.*s\" changed while its attributes were loaded",
			 set->namelen, set->name);
	set->attrs = attrs;
}

/*
 * The set named name[0..namelen), valid for the active snapshot.
 */
static LpmSet *
lpm_get_set(const char *name, int namelen)
{
	static LpmSet *last = NULL;
	LpmSet	   *set;
	SnapFingerprint fp;
	bool		have_fp = snapshot_fingerprint(&fp);
	int64		version;
	Oid			relid;

	if (last != NULL && have_fp && last->fp_valid &&
		last->namelen == namelen && memcmp(last->name, name, namelen) == 0 &&
		fingerprint_equal(&last->fp, &fp))
		return last;

	for (set = lpm_sets; set != NULL; set = set->next)
		if (set->namelen == namelen && memcmp(set->name, name, namelen) == 0)
			break;
	if (set == NULL)
	{
		set = MemoryContextAllocZero(TopMemoryContext, sizeof(LpmSet));
		set->name = MemoryContextAlloc(TopMemoryContext, namelen + 1);
		memcpy(set->name, name, namelen);
		set->name[namelen] = '\0';
		set->namelen = namelen;
		set->version = -1;
		set->next = lpm_sets;
		lpm_sets = set;
	}
	last = set;
	if (have_fp && set->fp_valid && fingerprint_equal(&set->fp, &fp))
		return set;

	set->fp_valid = false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	version = lpm_read_version(name, namelen, &relid);
	if (version != set->version || relid != set->sets_relid || set->table == NULL)
	{
		LpmSet		fresh;

		memset(&fresh, 0, sizeof(fresh));
		fresh.name = set->name;
		fresh.namelen = set->namelen;
		fresh.builds = set->builds;
		/* the new context hangs off the caller's until the build is done */
		lpm_build_set(&fresh, CurTransactionContext);
		MemoryContextSetParent(fresh.cxt, TopMemoryContext);
		lpm_free(set->table);
		if (set->cxt)
			MemoryContextDelete(set->cxt);
		set->table = fresh.table;
		set->ids = fresh.ids;
		set->nentries = fresh.nentries;
		set->attrs = NULL;
		set->cxt = fresh.cxt;
		set->builds = fresh.builds;
		set->build_ms = fresh.build_ms;
		set->version = version;
		set->sets_relid = relid;
	}
	SPI_finish();
	if (have_fp)
	{
		set->fp = fp;
		set->fp_valid = true;
	}
	return set;
}

static inline long
lpm_lookup_inet(LpmSet *set, inet *addr, TimestampTz at)
{
	return lpm_lookup(set->table, ip_family(addr) == PGSQL_AF_INET ? 4 : 6,
					  ip_addr(addr), at);
}

/* lpm_id(set_name, addr, at): the id of the matching entry, or NULL */
PG_FUNCTION_INFO_V1(lpm_id);
Datum
lpm_id(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	inet	   *addr = PG_GETARG_INET_PP(1);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	LpmSet	   *set = lpm_get_set(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	long		i = lpm_lookup_inet(set, addr, at);

	if (i < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(set->ids[i]);
}

/* lpm_attr(set_name, addr, at, attr): one attribute of the matching entry */
PG_FUNCTION_INFO_V1(lpm_attr);
Datum
lpm_attr(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	inet	   *addr = PG_GETARG_INET_PP(1);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	text	   *attr = PG_GETARG_TEXT_PP(3);
	int		   *cached = (int *) fcinfo->flinfo->fn_extra;
	int			a;
	LpmSet	   *set;
	long		i;
	text	   *v;

	/* the attribute's index, remembered per call site */
	if (cached == NULL || cached[1] != (int) VARSIZE_ANY_EXHDR(attr) ||
		strncmp(lpm_attr_names[cached[0]], VARDATA_ANY(attr), cached[1]) != 0)
	{
		for (a = 0; a < (int) LPM_NATTRS; a++)
			if (strlen(lpm_attr_names[a]) == VARSIZE_ANY_EXHDR(attr) &&
				memcmp(lpm_attr_names[a], VARDATA_ANY(attr), VARSIZE_ANY_EXHDR(attr)) == 0)
				break;
		if (a == (int) LPM_NATTRS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown prefix attribute \"%s\"", text_to_cstring(attr)),
					 errhint("Use one of name, owner, kind, region, service, asn, country, env.")));
		if (cached == NULL)
			cached = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(int) * 2);
		cached[0] = a;
		cached[1] = (int) VARSIZE_ANY_EXHDR(attr);
		fcinfo->flinfo->fn_extra = cached;
	}
	a = cached[0];

	set = lpm_get_set(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	i = lpm_lookup_inet(set, addr, at);
	if (i < 0)
		PG_RETURN_NULL();
	if (set->attrs == NULL)
		lpm_load_attrs(set);
	v = set->attrs[i * LPM_NATTRS + a];
	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(DatumGetTextPCopy(PointerGetDatum(v)));
}

/*
 * lpm_ids(set_name, addrs inet[], ats timestamptz[]): ids for a batch; ats
 * has one element (for all) or one per address.  NULLs give NULL.
 *
 * The batch loop walks the address array in place (no deconstruct_array),
 * hands the table LPM_CHUNK probes at a time (lpm_lookup_batch overlaps
 * their cache misses), and writes the entry indexes straight into the
 * result array, which a second pass maps to ids (prefetching them) and
 * compacts around the NULLs.
 */
#define LPM_CHUNK 256
#define LPM_PREFETCH 16

PG_FUNCTION_INFO_V1(lpm_ids);
Datum
lpm_ids(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	ArrayType  *addrs = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *ats = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *tv;
	bool	   *tn;
	int			na,
				nt,
				i;
	LpmSet	   *set;
	const LpmTable *table;
	ArrayType  *result;
	Size		off_nulls,
				off_nonulls;
	int64	   *res;
	int64		nnull = 0,
				w;
	array_iter	it;
	bits8	   *bitmap;
	uint8		c_fam[LPM_CHUNK];
	const uint8 *c_addr[LPM_CHUNK];
	int64		c_at[LPM_CHUNK];
	int			c_pos[LPM_CHUNK];
	long		c_out[LPM_CHUNK];

	if (ARR_NDIM(addrs) > 1 || ARR_NDIM(ats) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("lpm_ids takes one-dimensional arrays")));
	if (ARR_ELEMTYPE(addrs) != INETOID)
		elog(ERROR, "lpm_ids: addrs is not an inet[]");
	na = ArrayGetNItems(ARR_NDIM(addrs), ARR_DIMS(addrs));
	deconstruct_array(ats, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &tv, &tn, &nt);
	if (nt != 1 && nt != na)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ats must have one element or as many as addrs (%d, not %d)", na, nt)));

	set = lpm_get_set(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
	if (na == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT8OID));
	table = set->table;

	/* the result, laid out for NULLs; moved down at the end if there are none */
	off_nulls = ARR_OVERHEAD_WITHNULLS(1, na);
	off_nonulls = ARR_OVERHEAD_NONULLS(1);
	if ((Size) na > (MaxAllocHugeSize - off_nulls) / sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("array of %d addresses is too large", na)));
	result = (ArrayType *) palloc_extended(off_nulls + sizeof(int64) * (Size) na,
										   MCXT_ALLOC_HUGE);
	memset(result, 0, off_nulls);
	res = (int64 *) ((char *) result + off_nulls);

	/* pass 1: entry indexes (-1: NULL or no match) */
	array_iter_setup(&it, (AnyArrayType *) addrs);
	for (i = 0; i < na; i += LPM_CHUNK)
	{
		int			cn = Min(LPM_CHUNK, na - i);
		int			m = 0;
		int			j;

		for (j = 0; j < cn; j++)
		{
			bool		isnull;
			Datum		d = array_iter_next(&it, &isnull, i + j, -1, false, TYPALIGN_INT);
			int			t = nt == 1 ? 0 : i + j;

			res[i + j] = -1;
			if (!isnull && !tn[t])
			{
				inet	   *a = DatumGetInetPP(d);

				c_fam[m] = ip_family(a) == PGSQL_AF_INET ? 4 : 6;
				c_addr[m] = ip_addr(a);
				c_at[m] = DatumGetTimestampTz(tv[t]);
				c_pos[m] = j;
				m++;
			}
		}
		lpm_lookup_batch(table, (size_t) m, c_fam, c_addr, c_at, c_out);
		for (j = 0; j < m; j++)
			res[i + c_pos[j]] = c_out[j];
	}

	/*
	 * pass 2: indexes to ids, NULLs out of the data, the null bitmap (it
	 * lies in the header, zeroed above, where ARR_NULLBITMAP will find it)
	 */
	result->ndim = 1;
	result->elemtype = INT8OID;
	ARR_DIMS(result)[0] = na;
	ARR_LBOUND(result)[0] = 1;
	bitmap = (bits8 *) (ARR_DIMS(result) + 2);
	w = 0;
	for (i = 0; i < na; i++)
	{
		int64		k = res[i];

		if (i + LPM_PREFETCH < na && res[i + LPM_PREFETCH] >= 0)
			__builtin_prefetch(&set->ids[res[i + LPM_PREFETCH]]);
		if (k < 0)
			nnull++;
		else
		{
			res[w++] = set->ids[k];
			bitmap[i / 8] |= (bits8) (1 << (i % 8));
		}
	}
	if (nnull == 0)
	{
		memmove((char *) result + off_nonulls, res, sizeof(int64) * (Size) na);
		result->dataoffset = 0;
		SET_VARSIZE(result, off_nonulls + sizeof(int64) * (Size) na);
	}
	else
	{
		result->dataoffset = (int32) off_nulls;
		SET_VARSIZE(result, off_nulls + sizeof(int64) * (Size) w);
		Assert(ARR_NULLBITMAP(result) == bitmap);
	}
	PG_RETURN_ARRAYTYPE_P(result);
}

/* lpm_cache(): this backend's compiled sets */
PG_FUNCTION_INFO_V1(lpm_cache);
Datum
lpm_cache(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LpmSet	   *set;

	InitMaterializedSRF(fcinfo, 0);
	for (set = lpm_sets; set != NULL; set = set->next)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		if (set->table == NULL)
			continue;
		values[0] = PointerGetDatum(cstring_to_text_with_len(set->name, set->namelen));
		values[1] = Int64GetDatum(set->version);
		values[2] = Int32GetDatum(set->nentries);
		values[3] = Int64GetDatum((int64) (lpm_memory(set->table) +
										   MemoryContextMemAllocated(set->cxt, true)));
		values[4] = Int64GetDatum(set->builds);
		values[5] = Float8GetDatum(set->build_ms);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
