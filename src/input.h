/*
 * input.h
 *		Byte sources for ingest: a server file, or bytes sent by a client;
 *		plain or gzip.
 */
#ifndef VPCFLOW_INPUT_H
#define VPCFLOW_INPUT_H

typedef struct IngestInput IngestInput;

/* A server file, plain or gzip; closed by itself if the transaction aborts. */
extern IngestInput *input_open_file(const char *path, const char *name);

/* Bytes in memory (which must outlive the input): plain or gzip. */
extern IngestInput *input_open_memory(const char *data, size_t len, const char *name);

/*
 * Up to cap bytes of (decompressed) data; 0 at the end.  A corrupt or
 * truncated stream raises an ERROR naming the input.
 */
extern size_t input_read(IngestInput *in, char *buf, size_t cap);

extern bool input_plain_memory(IngestInput *in, const char **data, size_t *len);

extern void input_close(IngestInput *in);

#endif							/* VPCFLOW_INPUT_H */
