/*
 * envelope.h
 *		Flow-log records out of the JSON envelopes AWS wraps them in.
 *
 * Pure C99 with no PostgreSQL dependency, shared by the server's file
 * ingest and the libpq loader.  Nothing is allocated: the document stays
 * in the caller's buffer and each message is unescaped into the caller's
 * output buffer.  Whatever the bytes, nothing outside buf[0..len) is read.
 *
 * A document is a sequence of JSON values separated by optional whitespace
 * (so NDJSON and back-to-back objects are the same thing).  Each value is
 * an object, or an array of objects.  An object is either
 *   - a container: it has "logEvents" or "events", an array of event
 *     objects.  This covers CloudWatch Logs subscription payloads
 *     ({"messageType":"DATA_MESSAGE","logStream":...,"logEvents":[...]},
 *     a "CONTROL_MESSAGE" yields nothing) and filter-log-events output
 *     ({"events":[...],...}); or
 *   - an event: it has "message", a string: one flow-log record (the
 *     NDJSON {"message":...} wrap and the export / filter-log-events
 *     event shape).
 * Other keys are skipped whatever their value.  "logStream" or
 * "logStreamName" on the event, or else on its container, is the
 * record's log stream.
 */
#ifndef VPCFLOW_ENVELOPE_H
#define VPCFLOW_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "jsonscan.h"

/* Deepest nesting of arrays and objects accepted, counting from the top. */
#define FLOW_ENVELOPE_MAX_DEPTH		JSON_SCAN_MAX_DEPTH

/* Longest log stream name kept, in bytes (AWS allows 512 characters). */
#define FLOW_ENVELOPE_STREAM_MAX	1024

/* Private: what is known about the object being read. */
typedef struct FlowEnvelopeObject
{
	size_t		start;			/* offset of its '{' */
	size_t		end;			/* offset after its '}', once rest_known */
	size_t		stream_at;		/* offset of the log stream string's quote */
	size_t		message_at;		/* offset of the message string's quote */
	unsigned	seen;			/* keys met so far (KEY_* bits) */
	int			level;			/* its nesting level, 1 at the top */
	bool		control;		/* CONTROL_MESSAGE: yields nothing */
	bool		rest_known;		/* keys after the events were read ahead */
} FlowEnvelopeObject;

typedef struct FlowEnvelope
{
	/*
	 * Where we are, for messages.  After flow_envelope_next returns 1:
	 * the line of the message's opening quote and the 1-based ordinal of
	 * its event in the document.  After -1: the line of the error and the
	 * ordinal of the event being read (for an error between events, the
	 * last one read).  Lines are 1-based; only '\n' ends a line.
	 */
	size_t		line;
	size_t		event;

	/* Log stream of the record just returned, NUL-terminated; "" if none. */
	char		log_stream[FLOW_ENVELOPE_STREAM_MAX + 1];
	size_t		log_stream_len;

	/* Set when flow_envelope_next returns -1. */
	char		error[160];

	/* private */
	JsonScan	js;				/* the document; its errors are sticky */
	size_t		nevents;
	int			state;
	bool		in_array;		/* inside a top-level array */
	FlowEnvelopeObject top;		/* the current top-level object */
} FlowEnvelope;

/*
 * True when the first byte other than whitespace (after an optional UTF-8
 * byte order mark) is '{' or '[': the input is JSON, not flow-log text.
 */
extern bool flow_envelope_detect(const char *buf, size_t len);

/* Start reading the complete document buf[0..len); buf must outlive e. */
extern void flow_envelope_init(FlowEnvelope *e, const char *buf, size_t len);

/*
 * Next record.  Returns 1 with the unescaped message in out[0..*outlen)
 * followed by a NUL (so a message of outcap bytes or more is an error),
 * 0 at the end of the document, -1 on malformed input with e->error,
 * e->line and e->event set.  Messages are valid UTF-8 without NUL bytes;
 * they may contain newlines (an escaped "\n"), which the caller splits.
 * After 0 or -1, later calls return the same.
 */
extern int	flow_envelope_next(FlowEnvelope *e, char *out, size_t outcap,
							   size_t *outlen);

#endif							/* VPCFLOW_ENVELOPE_H */
