"""Python's http.client against a wsgiref-rs server: keep-alive, a POST echoed back, chunked
upload, HEAD, HTTP/1.0. Usage: http_client_check.py PORT. Exits non-zero with a message on the
first mismatch."""
import http.client
import sys


def check(condition, what):
    if not condition:
        sys.exit("http.client check failed: " + what)


def main():
    port = int(sys.argv[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    conn.request("GET", "/")
    r = conn.getresponse()
    body = r.read()
    check(r.status == 200, "GET / status %r" % r.status)
    check(body == b"Hello, world!", "GET / body %r" % body)
    check(r.getheader("Content-Length") == "13", "Content-Length %r" % r.getheader("Content-Length"))
    check(not r.will_close, "the server closed a keep-alive connection")
    sock = conn.sock

    conn.request("POST", "/echo", body=b"ping" * 1000, headers={"Content-Type": "application/x-test"})
    r = conn.getresponse()
    body = r.read()
    check(r.status == 200 and body == b"ping" * 1000, "POST echo %r %r" % (r.status, body[:20]))
    check(conn.sock is sock, "the connection was not reused")

    conn.request("POST", "/echo", body=iter([b"chunk-one,", b"chunk-two"]), encode_chunked=True)
    r = conn.getresponse()
    body = r.read()
    check(body == b"chunk-one,chunk-two", "chunked upload echo %r" % body)

    conn.request("HEAD", "/")
    r = conn.getresponse()
    check(r.status == 200 and r.read() == b"", "HEAD")
    check(r.getheader("Content-Length") == "13", "HEAD Content-Length")
    conn.close()

    old = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    old._http_vsn, old._http_vsn_str = 10, "HTTP/1.0"
    old.request("GET", "/x")
    r = old.getresponse()
    check(r.status == 200 and r.read() == b"Hello, world!", "HTTP/1.0 GET")
    # The server closes after an HTTP/1.0 exchange without keep-alive (http.client's
    # will_close looks only at the response, which says HTTP/1.1 without Connection: close).
    check(old.sock is None or old.sock.recv(1) == b"", "the HTTP/1.0 connection stayed open")
    old.close()
    print("ok")


main()
