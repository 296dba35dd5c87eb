# vpcflow: PGXS build.  make / make install / make installcheck (needs a
# running server: tools/test.sh starts a throwaway one and runs everything).

EXTENSION   = vpcflow
EXTVERSION  = 0.1.0
MODULE_big  = vpcflow

# Pure C modules with no PostgreSQL dependency (shared with the loader and
# the fuzz harness), then the server-side modules.
PURE_OBJS   = src/flowparse.o src/idcodec.o src/jsonscan.o src/envelope.o \
              src/cloudflow.o src/lpmtrie.o src/aggformat.o src/cryptopan.o \
              src/flowrec.o src/baseline.o src/cloudflow_gcp.o src/cloudflow_azure.o \
              src/warmcodec.o
OBJS        = $(PURE_OBJS) \
              src/vpcflow.o src/awsid.o src/labels.o src/flow_record.o \
              src/parse_funcs.o src/input.o src/store_writer.o src/ingest.o \
              src/ipprefix.o src/lpm.o \
              src/aggregates.o src/topk.o src/hll.o \
              src/anonymize.o src/anomaly.o src/warm_build.o src/warm_catchup.o src/warm_fdw.o \
              src/warm_archive.o
# partial aggregates on postgres_fdw shards (needs libpq-fe.h and libpq)
OBJS       += src/shard_pushdown.o src/shard_pushdown_exec.o

# The extension script is assembled from one SQL file per concern, in
# dependency order.
SQL_PARTS   = src/schema.sql src/awsid.sql src/labels.sql \
              src/parse_funcs.sql src/flow_record.sql src/operators.sql src/tenancy.sql \
              src/store.sql src/ipprefix.sql src/lpm.sql \
              src/aggregates.sql src/topk.sql src/hll.sql \
              src/ingest.sql src/providers.sql src/roles.sql src/anonymize.sql \
              src/security.sql src/anomaly.sql src/detections.sql src/warm.sql
# rollups (rollup.sql) and the dashboard views over them (dashboards.sql)
SQL_PARTS  += src/rollup.sql src/dashboards.sql
# bulk loads of many files per transaction (vpcflow-load)
SQL_PARTS  += src/bulk_load.sql
# the detection baselines' rollups, maintained by refresh_rollups
SQL_PARTS  += src/detection_rollup.sql
# scale-out: shard servers, shard map, foreign partitions, fan-out (shard.sql)
SQL_PARTS  += src/shard.sql
# partial aggregation pushed to the shards (shard_pushdown.c)
SQL_PARTS  += src/shard_pushdown.sql
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql

REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src
# -Wno-unused-parameter: PostgreSQL's own headers (ilist.h, bufpage.h) have
# inline functions with unused parameters.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter
# header dependencies: each src/*.o records the headers it read in src/*.d,
# so editing a header rebuilds what uses it (a stale object built against
# an older struct layout crashes the backend).  CFLAGS only: the LLVM
# bitcode rule does not use them, so its compile cannot overwrite the .d.
PG_CFLAGS  += -MMD -MP
SHLINK_LIBS = -lz
SHLIB_LINK  = -lz -lzstd
# shard_pushdown_exec.c reads postgres_fdw results with libpq
SHLIB_LINK += -L$(PG_LIBDIR) -lpq
PG_CPPFLAGS += -I$(shell $(PG_CONFIG) --includedir)

EXTRA_CLEAN = $(DATA_built) src/vpcflow-parsebench vpcflow-load src/*.d

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(wildcard src/*.d)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

# Parse-only benchmark driver: the pure parser, no server.
src/vpcflow-parsebench: bench/parsebench.c src/flowparse.c src/flowparse.h
	$(CC) -O2 -g -Wall -Wextra -Werror -Isrc -o $@ bench/parsebench.c src/flowparse.c

# vpcflow-load: the libpq bulk loader (loader/), sharing the pure-C parser.
LOADER_SRCS = loader/vpcflow-load.c src/flowparse.c src/jsonscan.c src/envelope.c src/cloudflow.c \
              src/cloudflow_gcp.c src/cloudflow_azure.c
PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)

all: vpcflow-load

vpcflow-load: $(LOADER_SRCS) src/flowparse.h src/jsonscan.h src/envelope.h src/cloudflow.h src/cloudflow_int.h
	$(CC) -O2 -g -Wall -Wextra -Werror -Isrc -I$(PG_INCLUDEDIR) -o $@ $(LOADER_SRCS) \
		-L$(PG_LIBDIR) -lpq -lz -lpthread

install: install-loader

install-loader: vpcflow-load
	$(INSTALL_PROGRAM) vpcflow-load '$(DESTDIR)$(bindir)/vpcflow-load'
