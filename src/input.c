/*
 * input.c
 *		Byte sources for ingest: a server file or bytes already in memory,
 *		either plain or gzip (concatenated members too), read in chunks.
 *
 * A truncated or corrupt compressed stream is an error at the point it is
 * found, so a load never commits part of a damaged file.
 */
#include "postgres.h"

#include <zlib.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "input.h"

struct IngestInput
{
	const char *name;			/* for messages */
	/* a file, through zlib's gz layer (which reads plain files as they are) */
	gzFile		gz;
	MemoryContextCallback closer;
	/* or memory */
	const uint8 *data;
	size_t		len;
	size_t		pos;
	bool		inflating;		/* memory holds gzip */
	bool		stream_end;		/* the current gzip member is complete */
	z_stream	zs;
};

/* If an error ends the load, the memory context reset closes the file. */
static void
close_gz(void *arg)
{
	IngestInput *in = (IngestInput *) arg;

	if (in->gz != NULL)
		gzclose(in->gz);
	in->gz = NULL;
}

IngestInput *
input_open_file(const char *path, const char *name)
{
	IngestInput *in = palloc0(sizeof(IngestInput));

	in->name = name;
	in->gz = gzopen(path, "rb");
	if (in->gz == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", name)));
	in->closer.func = close_gz;
	in->closer.arg = in;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &in->closer);
	gzbuffer(in->gz, 256 * 1024);
	return in;
}

static void
free_zstream(void *arg)
{
	IngestInput *in = (IngestInput *) arg;

	if (in->inflating)
		inflateEnd(&in->zs);
	in->inflating = false;
}

IngestInput *
input_open_memory(const char *data, size_t len, const char *name)
{
	IngestInput *in = palloc0(sizeof(IngestInput));

	in->name = name;
	in->data = (const uint8 *) data;
	in->len = len;
	if (len >= 2 && in->data[0] == 0x1f && in->data[1] == 0x8b)
	{
		/* 16 + MAX_WBITS: a gzip wrapper */
		if (inflateInit2(&in->zs, 16 + MAX_WBITS) != Z_OK)
			elog(ERROR, "could not initialize zlib");
		in->inflating = true;
		in->zs.next_in = (Bytef *) in->data;
		in->zs.avail_in = (uInt) Min(len, (size_t) UINT_MAX);
		in->pos = in->zs.avail_in;
		in->closer.func = free_zstream;
		in->closer.arg = in;
		MemoryContextRegisterResetCallback(CurrentMemoryContext, &in->closer);
	}
	return in;
}

static void
corrupt(IngestInput *in, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("could not decompress file \"%s\": %s", in->name, why),
			 errdetail("The input is truncated or corrupt; nothing was loaded from it.")));
}

static size_t
read_gz_file(IngestInput *in, char *buf, size_t cap)
{
	int			n = gzread(in->gz, buf, (unsigned) Min(cap, (size_t) INT_MAX));
	int			zerr;
	const char *msg;

	if (n > 0)
		return (size_t) n;
	msg = gzerror(in->gz, &zerr);
	if (n < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
		corrupt(in, msg);
	return 0;
}

static size_t
read_memory(IngestInput *in, char *buf, size_t cap)
{
	size_t		n;

	if (!in->inflating)
	{
		n = Min(cap, in->len - in->pos);
		memcpy(buf, in->data + in->pos, n);
		in->pos += n;
		return n;
	}
	for (;;)
	{
		int			rc;

		if (in->stream_end)
		{
			/* another gzip member may follow (concatenated objects) */
			if (in->zs.avail_in == 0 && in->pos >= in->len)
				return 0;
			if (in->zs.avail_in < 2 || in->zs.next_in[0] != 0x1f || in->zs.next_in[1] != 0x8b)
				corrupt(in, "trailing data after the gzip stream");
			if (inflateReset(&in->zs) != Z_OK)
				corrupt(in, "could not restart zlib");
			in->stream_end = false;
		}
		if (in->zs.avail_in == 0 && in->pos < in->len)
		{
			in->zs.next_in = (Bytef *) in->data + in->pos;
			in->zs.avail_in = (uInt) Min(in->len - in->pos, (size_t) UINT_MAX);
			in->pos += in->zs.avail_in;
		}
		in->zs.next_out = (Bytef *) buf;
		in->zs.avail_out = (uInt) Min(cap, (size_t) UINT_MAX);
		rc = inflate(&in->zs, Z_NO_FLUSH);
		n = Min(cap, (size_t) UINT_MAX) - in->zs.avail_out;
		if (rc == Z_STREAM_END)
			in->stream_end = true;
		else if (rc == Z_BUF_ERROR && in->zs.avail_in == 0 && in->pos >= in->len)
			corrupt(in, "unexpected end of the gzip stream");
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			corrupt(in, in->zs.msg ? in->zs.msg : "invalid gzip data");
		if (n > 0)
			return n;
	}
}

size_t
input_read(IngestInput *in, char *buf, size_t cap)
{
	CHECK_FOR_INTERRUPTS();
	return in->gz != NULL ? read_gz_file(in, buf, cap) : read_memory(in, buf, cap);
}

/*
 * Plain (not gzip) bytes in memory: the whole buffer, for a reader that
 * needs the document whole and can take it where it lies.  The input is
 * then consumed.  False for files and gzip.
 */
bool
input_plain_memory(IngestInput *in, const char **data, size_t *len)
{
	if (in->gz != NULL || in->inflating)
		return false;
	*data = (const char *) in->data;
	*len = in->len;
	in->pos = in->len;
	return true;
}

void
input_close(IngestInput *in)
{
	if (in->gz != NULL)
		close_gz(in);
	else
		free_zstream(in);
}
