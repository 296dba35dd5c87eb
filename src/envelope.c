/*
 * envelope.c
 *		Flow-log records out of CloudWatch / NDJSON envelopes (see envelope.h).
 *
 * Not a general JSON parser: it walks the few shapes AWS produces, and
 * validates everything else it steps over just enough to skip it exactly.
 * The iterator keeps its place between calls in a small state machine;
 * skipped values nest with an explicit bit stack instead of recursion, so
 * hostile input cannot exhaust the C stack.  Every read of buf checks the
 * offset against len first.
 */
#include "envelope.h"
#include "jsonscan.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Keys acted on; all others are skipped. */
#define KEY_MESSAGE		0x01
#define KEY_STREAM		0x02
#define KEY_TYPE		0x04
#define KEY_EVENTS		0x08

/* Where flow_envelope_next resumes. */
enum
{
	ST_TOP,						/* between top-level values */
	ST_ARRAY_FIRST,				/* after a top-level '[' */
	ST_ARRAY_NEXT,				/* after an element of that array */
	ST_EVENTS_FIRST,			/* after the '[' of a container's events */
	ST_EVENTS_NEXT,				/* after an event */
	ST_END
};

/* How members() treats an object's keys. */
typedef enum
{
	M_TOP,						/* top-level object: container or event */
	M_EVENT,					/* element of an events array */
	M_REST						/* read-ahead of a container's later keys */
} MemberMode;

/* Results of members() and friends, besides -1 for an error. */
#define R_DONE		0			/* object closed */
#define R_EVENTS	1			/* positioned inside its events array */
#define R_RECORD	2			/* object was an event: message in out */

static unsigned
classify(const char *key, size_t klen, MemberMode mode)
{
#define IS(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
	if (IS("message"))
		return KEY_MESSAGE;
	if (IS("logStream") || IS("logStreamName"))
		return KEY_STREAM;
	if (mode == M_EVENT)
		return 0;
	if (IS("messageType"))
		return KEY_TYPE;
	if (IS("logEvents") || IS("events"))
		return KEY_EVENTS;
	return 0;
#undef IS
}

/*
 * Read an object's members from e->js.pos (first: just after its '{') until
 * its '}' (R_DONE) or, for a container, into its events array (R_EVENTS).
 * A message goes to out, except in M_REST, which only validates and notes
 * messageType and the log stream.
 */
static int
members(FlowEnvelope *e, FlowEnvelopeObject *obj, MemberMode mode, bool first,
		char *out, size_t outcap, size_t *outlen)
{
	for (;;)
	{
		char		key[16];
		size_t		klen;
		size_t		at;
		size_t		n;
		unsigned	k;

		json_skip_ws(&e->js);
		if (e->js.pos < e->js.len && e->js.buf[e->js.pos] == '}')
		{
			e->js.pos++;
			return R_DONE;
		}
		if (!first)
		{
			if (e->js.pos >= e->js.len || e->js.buf[e->js.pos] != ',')
				return json_unexpected(&e->js, "',' or '}'");
			e->js.pos++;
		}
		first = false;
		if (json_read_key(&e->js, key, sizeof(key), &klen) < 0)
			return -1;
		at = e->js.pos;
		k = classify(key, klen, mode);
		if (k != 0 && (obj->seen & k))
			return json_fail(&e->js, at, "duplicate key \"%.*s\"", (int) klen, key);
		obj->seen |= k;
		if ((k == KEY_MESSAGE || k == KEY_EVENTS) &&
			(obj->seen & (KEY_MESSAGE | KEY_EVENTS)) == (KEY_MESSAGE | KEY_EVENTS))
			return json_fail(&e->js, at, "object has both \"message\" and an events array");
		if (k != 0 && k != KEY_EVENTS && (at >= e->js.len || e->js.buf[at] != '"'))
			return json_fail(&e->js, at, "\"%.*s\" is not a string", (int) klen, key);

		switch (k)
		{
			case KEY_MESSAGE:
				obj->message_at = at;
				if (mode == M_REST)
				{
					out = NULL;
					outcap = 0;
				}
				if (json_read_string(&e->js, &e->js.pos, out, outcap, &n, "message") < 0)
					return -1;
				if (out == NULL)
					break;
				if (n >= outcap)
					return json_fail(&e->js, at, "message is %zu bytes, longer than the %zu the buffer holds",
								n, outcap > 0 ? outcap - 1 : 0);
				out[n] = '\0';
				*outlen = n;
				break;

			case KEY_STREAM:
				obj->stream_at = at;
				if (json_read_string(&e->js, &e->js.pos, NULL, 0, &n, "a log stream name") < 0)
					return -1;
				if (n > FLOW_ENVELOPE_STREAM_MAX)
					return json_fail(&e->js, at, "log stream name is %zu bytes, longer than %d",
								n, FLOW_ENVELOPE_STREAM_MAX);
				break;

			case KEY_TYPE:
				{
					char		type[24];

					if (json_read_string(&e->js, &e->js.pos, type, sizeof(type), &n, NULL) < 0)
						return -1;
					if (n == 15 && memcmp(type, "CONTROL_MESSAGE", 15) == 0)
						obj->control = true;
					else if (!(n == 12 && memcmp(type, "DATA_MESSAGE", 12) == 0))
						return json_fail(&e->js, at, "messageType is neither DATA_MESSAGE nor CONTROL_MESSAGE");
					break;
				}

			case KEY_EVENTS:
				if (at >= e->js.len || e->js.buf[at] != '[')
					return json_fail(&e->js, at, "\"%.*s\" is not an array", (int) klen, key);

				/*
				 * Events are returned as they are read, so whether they are
				 * returned at all (CONTROL_MESSAGE) and under which log stream
				 * must be known first.  AWS writes those keys first; when
				 * they are not, read the rest of the object ahead once.
				 */
				if ((obj->seen & (KEY_TYPE | KEY_STREAM)) != (KEY_TYPE | KEY_STREAM))
				{
					if (json_skip_value(&e->js, obj->level) < 0 ||
						members(e, obj, M_REST, false, NULL, 0, NULL) < 0)
						return -1;
					obj->end = e->js.pos;
					obj->rest_known = true;
					e->js.pos = at;
				}
				if (!obj->control)
				{
					e->js.pos++;
					return R_EVENTS;
				}
				if (json_skip_value(&e->js, obj->level) < 0)
					return -1;
				if (obj->rest_known)
				{
					e->js.pos = obj->end;
					return R_DONE;
				}
				break;

			default:
				if (json_skip_value(&e->js, obj->level) < 0)
					return -1;
				break;
		}
	}
}

/* Fill in line and log stream for the record of obj, in container. */
static int
record_done(FlowEnvelope *e, const FlowEnvelopeObject *obj,
			const FlowEnvelopeObject *container)
{
	size_t		at = 0;
	size_t		n = 0;
	bool		has_stream = true;

	e->line = json_line_at(&e->js, obj->message_at);
	if (obj->seen & KEY_STREAM)
		at = obj->stream_at;
	else if (container != NULL && (container->seen & KEY_STREAM))
		at = container->stream_at;
	else
		has_stream = false;
	if (has_stream &&
		json_read_string(&e->js, &at, e->log_stream, FLOW_ENVELOPE_STREAM_MAX, &n, "a log stream name") < 0)
		return -1;
	e->log_stream[n] = '\0';
	e->log_stream_len = n;
	return R_RECORD;
}

/* Outcome of a top-level object whose members() returned r. */
static int
finish_top(FlowEnvelope *e, int r, size_t *outlen)
{
	FlowEnvelopeObject *obj = &e->top;

	if (r < 0)
		return -1;
	if (r == R_EVENTS)
	{
		/* a container, not an event itself */
		e->event = e->nevents;
		return R_EVENTS;
	}
	if (obj->seen & KEY_MESSAGE)
	{
		if (obj->control)
		{
			*outlen = 0;
			e->event = e->nevents;
			return R_DONE;
		}
		e->nevents++;
		return record_done(e, obj, NULL);
	}
	if ((obj->seen & KEY_EVENTS) || obj->control)
		return R_DONE;
	return json_fail(&e->js, obj->start, "object has no \"message\" or \"logEvents\"");
}

static int
top_object(FlowEnvelope *e, int level, char *out, size_t outcap, size_t *outlen)
{
	memset(&e->top, 0, sizeof(e->top));
	e->top.start = e->js.pos;
	e->top.level = level;
	/* the ordinal it will have if it is an event */
	e->event = e->nevents + 1;
	e->js.pos++;
	return finish_top(e, members(e, &e->top, M_TOP, true, out, outcap, outlen),
					  outlen);
}

bool
flow_envelope_detect(const char *buf, size_t len)
{
	size_t		p = json_first_value(buf, len);

	return p < len && (buf[p] == '{' || buf[p] == '[');
}

void
flow_envelope_init(FlowEnvelope *e, const char *buf, size_t len)
{
	memset(e, 0, sizeof(*e));
	json_scan_init(&e->js, buf, len);
	e->state = ST_TOP;
}

static int
next_record(FlowEnvelope *e, char *out, size_t outcap, size_t *outlen)
{
	if (e->js.failed)
		return -1;

	for (;;)
	{
		int			r;

		json_skip_ws(&e->js);
		switch (e->state)
		{
			case ST_END:
				return 0;

			case ST_TOP:
				if (e->js.pos >= e->js.len)
				{
					e->state = ST_END;
					return 0;
				}
				if (e->js.buf[e->js.pos] == '[')
				{
					e->js.pos++;
					e->in_array = true;
					e->state = ST_ARRAY_FIRST;
					continue;
				}
				if (e->js.buf[e->js.pos] != '{')
					return json_unexpected(&e->js, "'{' or '['");
				r = top_object(e, 1, out, outcap, outlen);
				break;

			case ST_ARRAY_FIRST:
			case ST_ARRAY_NEXT:
				if (e->js.pos < e->js.len && e->js.buf[e->js.pos] == ']')
				{
					e->js.pos++;
					e->in_array = false;
					e->state = ST_TOP;
					continue;
				}
				if (e->state == ST_ARRAY_NEXT)
				{
					if (e->js.pos >= e->js.len || e->js.buf[e->js.pos] != ',')
						return json_unexpected(&e->js, "',' or ']'");
					e->js.pos++;
					json_skip_ws(&e->js);
				}
				if (e->js.pos >= e->js.len || e->js.buf[e->js.pos] != '{')
					return json_unexpected(&e->js, "an object");
				r = top_object(e, 2, out, outcap, outlen);
				break;

			case ST_EVENTS_FIRST:
			case ST_EVENTS_NEXT:
				if (e->js.pos < e->js.len && e->js.buf[e->js.pos] == ']')
				{
					/* the container's keys after its events */
					e->js.pos++;
					if (e->top.rest_known)
					{
						e->js.pos = e->top.end;
						r = R_DONE;
					}
					else
						r = finish_top(e, members(e, &e->top, M_TOP, false,
												  out, outcap, outlen),
									   outlen);
					break;
				}
				if (e->state == ST_EVENTS_NEXT)
				{
					if (e->js.pos >= e->js.len || e->js.buf[e->js.pos] != ',')
						return json_unexpected(&e->js, "',' or ']'");
					e->js.pos++;
					json_skip_ws(&e->js);
				}
				if (e->js.pos >= e->js.len || e->js.buf[e->js.pos] != '{')
					return json_unexpected(&e->js, "an event object");
				{
					FlowEnvelopeObject ev;

					memset(&ev, 0, sizeof(ev));
					ev.start = e->js.pos;
					ev.level = e->top.level + 2;
					e->event = ++e->nevents;
					e->js.pos++;
					if (members(e, &ev, M_EVENT, true, out, outcap, outlen) < 0)
						return -1;
					if (!(ev.seen & KEY_MESSAGE))
						return json_fail(&e->js, ev.start, "event has no \"message\"");
					e->state = ST_EVENTS_NEXT;
					return record_done(e, &ev, &e->top) < 0 ? -1 : 1;
				}

			default:
				return json_fail(&e->js, e->js.pos, "internal error: bad state");
		}

		if (r < 0)
			return -1;
		if (r == R_EVENTS)
		{
			e->state = ST_EVENTS_FIRST;
			continue;
		}
		e->state = e->in_array ? ST_ARRAY_NEXT : ST_TOP;
		if (r == R_RECORD)
			return 1;
	}
}

int
flow_envelope_next(FlowEnvelope *e, char *out, size_t outcap, size_t *outlen)
{
	int			r;

	*outlen = 0;
	r = next_record(e, out, outcap, outlen);
	/* no half-read message is left for a caller that ignores r */
	if (r < 0)
	{
		/* the scanner's error and line are the envelope's */
		memcpy(e->error, e->js.error, sizeof(e->error));
		e->line = e->js.line;
	}
	if (r != 1)
	{
		*outlen = 0;
		if (outcap > 0)
			out[0] = '\0';
	}
	return r;
}
