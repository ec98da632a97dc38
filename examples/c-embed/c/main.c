/* Serve HTTP requests with wsgiref-core from C: a server loop over one end of a socketpair,
 * a scripted client on the other end. The application is a C function. */
#define _GNU_SOURCE
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wsgiref.h"

/* Routes on PATH_INFO: / hello, /env parts of the environ, /echo the body, /fail an error. */
static int app(void *ctx, wsgiref_call *call) {
    int *served = ctx;
    ++*served;
    size_t len = 0;
    const uint8_t *path = wsgiref_call_environ(call, "PATH_INFO", &len);
    const wsgiref_header text[] = {{"Content-Type", "text/plain"}};
    char body[512];
    int n = 0;
    if (path && len == 1 && path[0] == '/') {
        n = snprintf(body, sizeof body, "Hello from C!\n");
    } else if (path && len == 4 && memcmp(path, "/env", 4) == 0) {
        const char *keys[] = {"REQUEST_METHOD", "QUERY_STRING", "REMOTE_ADDR", "HTTP_HOST"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            size_t vlen = 0;
            const uint8_t *v = wsgiref_call_environ(call, keys[i], &vlen);
            n += snprintf(body + n, sizeof body - n, "%s=%.*s\n", keys[i], v ? (int)vlen : 1,
                          v ? (const char *)v : "-");
        }
    } else if (path && len == 5 && memcmp(path, "/echo", 5) == 0) {
        uint8_t in[256];
        size_t got = 0;
        ssize_t r;
        while ((r = wsgiref_call_read(call, in + got, sizeof in - got)) > 0) got += (size_t)r;
        if (r < 0) return 1;
        n = snprintf(body, sizeof body, "echo %zu: %.*s\n", got, (int)got, (const char *)in);
    } else if (path && len == 5 && memcmp(path, "/fail", 5) == 0) {
        return 1; /* the client gets the 500 error page */
    } else {
        if (wsgiref_call_start(call, "404 Not Found", text, 1) != 0) return 1;
        return wsgiref_call_write(call, (const uint8_t *)"not found\n", 10);
    }
    if (wsgiref_call_start(call, "200 OK", text, 1) != 0) return 1;
    return wsgiref_call_write(call, (const uint8_t *)body, (size_t)n);
}

static int send_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The server loop for one connection: read, feed, process, send; until closed. */
static int serve(int fd, int *served) {
    size_t size = wsgiref_conn_size();
    void *memory = aligned_alloc(wsgiref_conn_align(), (size + wsgiref_conn_align() - 1) /
                                                           wsgiref_conn_align() * wsgiref_conn_align());
    if (!memory) return -1;
    wsgiref_conn *conn = wsgiref_conn_init(memory, size, app, served);
    if (!conn || wsgiref_conn_set_base(conn, "SERVER_NAME", "localhost") != 0 ||
        wsgiref_conn_set_base(conn, "SERVER_PORT", "80") != 0 ||
        wsgiref_conn_set_base(conn, "REMOTE_ADDR", "127.0.0.1") != 0) {
        free(memory);
        return -1;
    }
    uint8_t in[100], out[1024]; /* small reads: requests arrive in pieces */
    int open = 1, status = 0;
    for (int rounds = 0; open && rounds < 10000; rounds++) {
        ssize_t r = read(fd, in, sizeof in);
        if (r < 0) { status = -1; break; }
        if (r == 0) wsgiref_conn_eof(conn);
        size_t fed = 0;
        do {
            fed += wsgiref_conn_feed(conn, in + fed, (size_t)r - fed);
            int step;
            do {
                step = wsgiref_conn_process(conn);
                size_t n;
                while ((n = wsgiref_conn_take_output(conn, out, sizeof out)) > 0)
                    if (send_all(fd, out, n) != 0) { step = WSGIREF_CLOSED; status = -1; }
            } while (step == WSGIREF_ANSWERED);
            if (step == WSGIREF_REJECTED || step == WSGIREF_CLOSED || step < 0) open = 0;
        } while (open && fed < (size_t)r);
    }
    shutdown(fd, SHUT_WR);
    free(memory);
    return status;
}

/* One client connection: send `request` whole, then read the whole answer. */
static int exchange(const char *name, const char *request) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return -1;
    if (send_all(sv[0], (const uint8_t *)request, strlen(request)) != 0) return -1;
    shutdown(sv[0], SHUT_WR);
    int served = 0;
    int status = serve(sv[1], &served);
    close(sv[1]);
    char reply[8192];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof reply - 1 && (r = read(sv[0], reply + got, sizeof reply - 1 - got)) > 0)
        got += (size_t)r;
    reply[got] = 0;
    close(sv[0]);
    printf("--- %s (application called %d times)\n%s\n", name, served, reply);
    return status;
}

int main(void) {
    int failures = 0;
    failures += exchange("hello", "GET / HTTP/1.1\r\nHost: c.local\r\n\r\n") != 0;
    failures += exchange("environ and pipelining",
                         "GET /env?a=1 HTTP/1.1\r\nHost: c.local\r\n\r\n"
                         "GET /nowhere HTTP/1.1\r\nHost: c.local\r\nConnection: close\r\n\r\n") != 0;
    failures += exchange("chunked post",
                         "POST /echo HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "4\r\nfrom\r\n3\r\n C!\r\n0\r\n\r\n") != 0;
    failures += exchange("application error", "GET /fail HTTP/1.1\r\nHost: c\r\n\r\n") != 0;
    failures += exchange("malformed", "GET / HTTP/1.1\r\nHost: c\r\nno colon here\r\n\r\n") != 0;
    printf("connection memory: %zu bytes\n", wsgiref_conn_size());
    return failures ? 1 : 0;
}
