/*
 * wsgiref.h: a C API over wsgiref-core, the no_std core of wsgiref for Rust.
 *
 * The library is a sans-IO HTTP/1.x server connection. You own the memory and the socket:
 * copy received bytes in (wsgiref_conn_feed), let it answer every complete request
 * (wsgiref_conn_process, which calls your application), and send what it produced
 * (wsgiref_conn_take_output). It never blocks, allocates nothing and never reads a clock.
 *
 * Behind the calls is the same handler as in Rust: request parsing with limits, the CGI/WSGI
 * environ by Python's simple_server rules, start_response's rules, Content-Length, keep-alive
 * and pipelining, 400/413/431 refusals, and a 500 error page when the application fails.
 *
 * Sizes (fixed in this build): a request (head and body) up to 4096 bytes, a response up to
 * 4096 bytes, a response body up to 1024 bytes, 16 response headers, 32 request headers.
 * A connection needs wsgiref_conn_size() bytes (about 16 KiB).
 *
 * Strings are NUL-terminated UTF-8. No function keeps a pointer you pass, except
 * wsgiref_conn_init's memory and ctx.
 */
#ifndef WSGIREF_H
#define WSGIREF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A connection, living in memory you provide. */
typedef struct WsgirefConn wsgiref_conn;
/* One application call; valid only while your application function runs. */
typedef struct WsgirefCall wsgiref_call;

typedef struct {
    const char *name;
    const char *value;
} wsgiref_header;

/* Your application: called once per request with the ctx given to wsgiref_conn_init.
 * Read the request with wsgiref_call_environ / wsgiref_call_read, answer it with
 * wsgiref_call_start then wsgiref_call_write. Return 0; anything else (or a failed
 * wsgiref_call_* call) sends the 500 error page instead. */
typedef int (*wsgiref_app)(void *ctx, wsgiref_call *call);

/* Return codes of wsgiref_conn_process. */
#define WSGIREF_NEED_INPUT 0     /* no complete request buffered: feed more */
#define WSGIREF_ANSWERED 1       /* a response is in the output: take it, then process again */
#define WSGIREF_REJECTED 2       /* a bad request was answered with an error; connection over */
#define WSGIREF_CLOSED 3         /* connection over: send the remaining output, then close */
#define WSGIREF_OUTPUT_PENDING (-1) /* take the previous output first */
#define WSGIREF_INVALID (-2)     /* not a connection made by wsgiref_conn_init */

/* Memory a connection needs, and its alignment. */
size_t wsgiref_conn_size(void);
size_t wsgiref_conn_align(void);

/* Set up a connection in memory[0..len) and return it; NULL when the memory is too small or
 * misaligned. The memory must stay valid and untouched while the connection is used; there
 * is nothing to free (reuse or release the memory when done). */
wsgiref_conn *wsgiref_conn_init(void *memory, size_t len, wsgiref_app app, void *ctx);

/* Set a server variable under every request's environ: SERVER_NAME, SERVER_PORT,
 * REMOTE_ADDR, SCRIPT_NAME... 0 on success, -1 when it does not fit (512 bytes, 16 entries). */
int wsgiref_conn_set_base(wsgiref_conn *conn, const char *key, const char *value);

/* Copy received bytes in; returns how many fitted (process, then feed the rest). */
size_t wsgiref_conn_feed(wsgiref_conn *conn, const uint8_t *data, size_t len);

/* The peer closed its sending side. */
void wsgiref_conn_eof(wsgiref_conn *conn);

/* Answer the next complete buffered request, if any: a WSGIREF_* code. */
int wsgiref_conn_process(wsgiref_conn *conn);

/* Move up to cap bytes of output into buf; returns how many (0: nothing left). */
size_t wsgiref_conn_take_output(wsgiref_conn *conn, uint8_t *buf, size_t cap);

/* Inside the application: an environ variable's bytes (not NUL-terminated, *len set), or
 * NULL when it is not set. Valid until the application returns. */
const uint8_t *wsgiref_call_environ(const wsgiref_call *call, const char *key, size_t *len);

/* Inside the application: read up to cap bytes of the request body; 0 at its end, -1 on a
 * body that could not be read. */
ssize_t wsgiref_call_read(wsgiref_call *call, uint8_t *buf, size_t cap);

/* Inside the application: start the response ("200 OK" and count headers). 0, or -1 when
 * the status or a header is refused (then the call fails). */
int wsgiref_call_start(wsgiref_call *call, const char *status, const wsgiref_header *headers,
                       size_t count);

/* Inside the application: append body bytes (1024 in all). 0, or -1 when they do not fit. */
int wsgiref_call_write(wsgiref_call *call, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WSGIREF_H */
