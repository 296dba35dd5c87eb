/*
 * vpcflow.c
 *		Module entry point: the magic block and the extension's settings.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "vpcflow.h"

PG_MODULE_MAGIC;

char	   *vpcflow_ingest_directory = NULL;
int			vpcflow_max_line_length = 1024 * 1024;
int			vpcflow_max_partitions_per_load = 100;
int			vpcflow_debug_pause_after_hash = 0;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("vpcflow.ingest_directory",
							   "Directory from which vpcflow_writer members may ingest files.",
							   "Members of pg_read_server_files may ingest from anywhere; "
							   "vpcflow_writer members only from below this directory. "
							   "Empty: writers cannot ingest server files.",
							   &vpcflow_ingest_directory,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("vpcflow.max_line_length",
							"Longest input line ingest accepts, in bytes.",
							"Longer lines are errors (quarantined), so a corrupt file "
							"cannot make a backend buffer unbounded input.",
							&vpcflow_max_line_length,
							1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_USERSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("vpcflow.max_partitions_per_load",
							"Most partitions one file load may write to.",
							"Records beyond it are quarantined, so a file with scattered "
							"timestamps cannot create partitions and take locks without bound.",
							&vpcflow_max_partitions_per_load,
							100, 1, 10000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	/* a developer option, like pre_auth_delay: opens the window tests need */
	DefineCustomIntVariable("vpcflow.debug_pause_after_hash",
							"Pause after ingest_file hashes a file, before it parses it (tests).",
							NULL,
							&vpcflow_debug_pause_after_hash,
							0, 0, 60 * 1000,
							PGC_SUSET,
							GUC_UNIT_MS | GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL,
							NULL, NULL, NULL);
	shard_pushdown_init();
	warm_build_init();
	MarkGUCPrefixReserved("vpcflow");
}
