/*
 * warm_archive.c
 *		vpcflow.write_gzip_lines(): the file writer behind archiving.
 *
 * Runs each query (one text column) and writes its rows as lines of one
 * gzip file, through a temporary name renamed into place at the end, so a
 * failed or repeated archive never leaves a partial file under the final
 * name.  Callers (vpcflow.archive_partition) build the queries; the
 * function itself is granted to vpcflow_admin only.
 */
#include "postgres.h"

#include <unistd.h>
#include <zlib.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "common/file_perm.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(vpcflow_write_gzip_lines);

Datum
vpcflow_write_gzip_lines(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *queries = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *qs;
	bool	   *qnulls;
	int			nq;
	char	   *tmp;
	gzFile		gz;
	int64		lines = 0;

	if (!is_absolute_path(path))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("archive path \"%s\" is not absolute", path)));
	deconstruct_array(queries, TEXTOID, -1, false, TYPALIGN_INT, &qs, &qnulls, &nq);
	{
		char	   *dir = pstrdup(path);

		get_parent_directory(dir);
		if (dir[0] != '\0' && pg_mkdir_p(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
			ereport(ERROR, (errcode_for_file_access(),
							errmsg("could not create archive directory \"%s\": %m", dir)));
	}
	tmp = psprintf("%s.tmp.%d", path, MyProcPid);
	gz = gzopen(tmp, "wb6");
	if (gz == NULL)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not create archive file \"%s\": %m", tmp)));
	PG_TRY();
	{
		SPI_connect();
		for (int q = 0; q < nq; q++)
		{
			Portal		portal;

			if (qnulls[q])
				continue;
			portal = SPI_cursor_open_with_args(NULL, TextDatumGetCString(qs[q]), 0, NULL, NULL,
											   NULL, true, 0);
			for (;;)
			{
				SPI_cursor_fetch(portal, true, 10000);
				if (SPI_processed == 0)
					break;
				for (uint64 r = 0; r < SPI_processed; r++)
				{
					char	   *s = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
					size_t		len = s ? strlen(s) : 0;

					if (s == NULL)
						ereport(ERROR, (errmsg("archive query returned a NULL line")));
					if ((len && gzwrite(gz, s, (unsigned) len) != (int) len) || gzputc(gz, '\n') < 0)
						ereport(ERROR, (errcode_for_file_access(),
										errmsg("could not write archive file \"%s\"", tmp)));
					pfree(s);
					lines++;
				}
				SPI_freetuptable(SPI_tuptable);
				CHECK_FOR_INTERRUPTS();
			}
			SPI_cursor_close(portal);
		}
		SPI_finish();
		if (gzclose(gz) != Z_OK)
		{
			gz = NULL;
			ereport(ERROR, (errcode_for_file_access(),
							errmsg("could not write archive file \"%s\"", tmp)));
		}
		gz = NULL;
		if (durable_rename(tmp, path, ERROR) != 0)
			ereport(ERROR, (errcode_for_file_access(),
							errmsg("could not rename \"%s\" to \"%s\": %m", tmp, path)));
	}
	PG_CATCH();
	{
		if (gz != NULL)
			gzclose(gz);
		unlink(tmp);
		PG_RE_THROW();
	}
	PG_END_TRY();
	PG_RETURN_INT64(lines);
}
