#!/usr/bin/env python3
"""The CPython half of the CGI differential suite (tests/cgi_differential.rs).

Run as a CGI program: `cpython_cgi.py SCRIPT`, with the request in the environment and the
body on stdin. It runs CPython's own wsgiref.handlers.CGIHandler with a scripted application;
examples/cgi_cases.rs runs the same script under our CgiHandler, and the Rust test compares
the two stdouts byte for byte.

SCRIPT is a list of operations separated by ';', each `name` or `name:argument`. In
arguments, %XX stands for the byte 0xXX (so ';', '%' and any byte can be written). The
operations run in order when the application is called:

  h:NAME=VALUE   add a header for the next start (ASCII)
  start:STATUS   start_response(STATUS, headers); the header list starts over
  start_exc:STATUS
                 start_response(STATUS, headers, exc_info) from inside an except block
  write:DATA     the legacy write(DATA)
  chunk:DATA     add DATA to the body the application returns
  echo:VAR       add "VAR=<value>\n" (the value's bytes), or "VAR absent\n"
  wsgi           add the wsgi.* flags as one line
  input          add the body: wsgi.input.read(int(CONTENT_LENGTH or 0))
  line           add one line of the body: wsgi.input.readline()
  shift          shift_path_info, and add what it returned and the new paths
  uri            add request_uri(environ) and application_uri(environ)
  fail:MESSAGE   raise an error now
  ret:list       return the body as a list (the default; one chunk gets Content-Length)
  ret:gen        return the body as a generator (never Content-Length)
  ret:genfail:N  a generator that raises after yielding N chunks
"""

import sys
from wsgiref.handlers import CGIHandler
from wsgiref.util import application_uri, request_uri, shift_path_info


def unescape(text):
    """%XX escapes to bytes; everything else is ASCII."""
    out = bytearray()
    i = 0
    raw = text.encode("ascii")
    hexdigits = b"0123456789abcdefABCDEF"
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw) and raw[i + 1] in hexdigits \
                and raw[i + 2] in hexdigits:
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def native(b):
    """PEP 3333 native string (latin-1) of some bytes."""
    return b.decode("latin-1")


class ScriptError(Exception):
    pass


def make_app(script):
    ops = [op for op in script.split(";") if op]

    def app(environ, start_response):
        headers = []
        chunks = []
        ret = "list"
        for op in ops:
            name, _, arg = op.partition(":")
            if name == "h":
                key, _, value = native(unescape(arg)).partition("=")
                headers.append((key, value))
            elif name == "start":
                start_response(native(unescape(arg)), headers)
                headers = []
            elif name == "start_exc":
                try:
                    raise ScriptError("replaced by start_exc")
                except ScriptError:
                    start_response(native(unescape(arg)), headers, sys.exc_info())
                headers = []
            elif name == "write":
                # The handler's write(), also before any start_response (which fails).
                start_response.__self__.write(unescape(arg))
            elif name == "chunk":
                chunks.append(unescape(arg))
            elif name == "echo":
                var = native(unescape(arg))
                if var in environ:
                    chunks.append(var.encode("ascii") + b"=" + environ[var].encode("latin-1") + b"\n")
                else:
                    chunks.append(var.encode("ascii") + b" absent\n")
            elif name == "wsgi":
                line = "version=%d.%d scheme=%s multithread=%s multiprocess=%s run_once=%s\n" % (
                    environ["wsgi.version"][0],
                    environ["wsgi.version"][1],
                    environ["wsgi.url_scheme"],
                    environ["wsgi.multithread"],
                    environ["wsgi.multiprocess"],
                    environ["wsgi.run_once"],
                )
                chunks.append(line.encode("ascii"))
            elif name == "input":
                n = int(environ.get("CONTENT_LENGTH") or 0)
                chunks.append(environ["wsgi.input"].read(n))
            elif name == "line":
                chunks.append(environ["wsgi.input"].readline())
            elif name == "shift":
                seg = shift_path_info(environ)
                seg = "None" if seg is None else "'" + seg + "'"
                chunks.append(
                    ("shift=%s SCRIPT_NAME=%s PATH_INFO=%s\n"
                     % (seg, environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")))
                    .encode("latin-1")
                )
            elif name == "uri":
                chunks.append(
                    ("request_uri=%s application_uri=%s\n"
                     % (request_uri(environ), application_uri(environ))).encode("latin-1")
                )
            elif name == "fail":
                raise ScriptError(native(unescape(arg)))
            elif name == "ret":
                ret = arg
            else:
                raise SystemExit("unknown operation %r" % op)
        if ret == "list":
            return chunks
        if ret == "gen":
            return (c for c in chunks)
        if ret.startswith("genfail:"):
            limit = int(ret.split(":")[1])

            def failing():
                for i, c in enumerate(chunks):
                    if i == limit:
                        break
                    yield c
                raise ScriptError("generator failed after %d chunks" % limit)

            return failing()
        raise SystemExit("unknown return kind %r" % ret)

    return app


if __name__ == "__main__":
    CGIHandler().run(make_app(sys.argv[1] if len(sys.argv) > 1 else ""))
