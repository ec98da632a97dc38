"""The WSGI application that bench/load.sh runs under granian, waitress and gunicorn: the same
four routes as bench/wsgiref-app and bench/hyper-hello's hyper-sleep.

    /           "Hello world!"
    /sleep10    blocks its thread for 10 ms (a database query, say), then "slept"
    /sleep200   blocks its thread for 200 ms, then "slept"
    /demo       a 672-byte text body, the size of demo_app's answer to a small request
"""
import time


def _demo_body():
    lines = [b"Hello world!\n\n"]
    size, i = len(lines[0]), 0
    while size < 672:
        line = b"LINE_%03d = 'some environ value here'\n" % i
        lines.append(line)
        size += len(line)
        i += 1
    return b"".join(lines)[:671] + b"\n"


DEMO = _demo_body()
SLEEPS = {"/sleep10": 0.010, "/sleep200": 0.200}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path in SLEEPS:
        time.sleep(SLEEPS[path])
        body = b"slept"
    elif path == "/demo":
        body = DEMO
    else:
        body = b"Hello world!"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
