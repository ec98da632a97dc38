/*
 * The floor for any uwsgi backend behind nginx on this machine: a responder that reads one
 * uwsgi packet (4-byte header, then its variables; no parsing of them), writes one constant
 * HTTP response and closes, on N threads blocked in accept(). No application, no environ, no
 * logging: what is left is the per-connection cost nginx's uwsgi_pass and the kernel impose
 * (nginx keeps no uwsgi connections, so every request is a new TCP connection).
 *
 * bench/gateway.sh builds and runs it for its `floor-uwsgi` row:
 *     cc -O2 -pthread -o uwsgi-canned bench/floor/uwsgi_canned.c && ./uwsgi-canned 2
 * It listens on a free port of 127.0.0.1 and prints `Serving uwsgi on port N...` first.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int listener;
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 12\r\n\r\nHello World!";

static void *serve(void *unused) {
    (void)unused;
    static __thread char buf[65536];
    for (;;) {
        int c = accept(listener, NULL, NULL);
        if (c < 0)
            continue;
        size_t got = 0, need = 4;
        while (got < need) {
            ssize_t n = read(c, buf + got, sizeof buf - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            if (got >= 4)
                need = 4 + ((size_t)(unsigned char)buf[1] | (size_t)(unsigned char)buf[2] << 8);
            if (need > sizeof buf)
                break;
        }
        if (got >= need && write(c, RESPONSE, sizeof RESPONSE - 1) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int one = 1;
    struct sockaddr_in address = {0};
    socklen_t length = sizeof address;
    listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(listener, 1024) < 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) < 0) {
        perror("uwsgi-canned: listen");
        return 1;
    }
    printf("Serving uwsgi on port %d...\n", ntohs(address.sin_port));
    fflush(stdout);
    for (int i = 1; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, serve, NULL) != 0) {
            perror("uwsgi-canned: thread");
            return 1;
        }
    }
    serve(NULL);
    return 0;
}
