//! The Rust half of the CGI differential suite: a scripted application run by
//! [`CgiHandler`], exactly as `tests/cgi/cpython_cgi.py` runs the same script under CPython's
//! `wsgiref.handlers.CGIHandler`. `tests/cgi_differential.rs` runs both with the same
//! environment and stdin and compares their stdout byte for byte.
//!
//! Usage: `cgi_cases SCRIPT` (a CGI program: the request comes from the environment). The
//! script language is described in `tests/cgi/cpython_cgi.py`; in short, `;`-separated
//! operations such as `h:Content-Type=text/plain;start:200 OK;echo:PATH_INFO;ret:gen`, with
//! `%XX` for any byte in an argument.

use wsgiref::handlers::CgiHandler;
use wsgiref::util::{application_uri_string, request_uri_string, shift_path_info};
use wsgiref::{AppError, Body, Environ, StartResponse};

fn main() {
    let script = std::env::args_os()
        .nth(1)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ops: Vec<(String, Vec<u8>)> = script
        .split(';')
        .filter(|op| !op.is_empty())
        .map(|op| match op.split_once(':') {
            Some((name, arg)) => (name.to_owned(), arg.as_bytes().to_vec()),
            None => (op.to_owned(), Vec::new()),
        })
        .collect();
    let app = |environ: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
        run_script(&ops, environ, start_response)
    };
    CgiHandler::new().run(&app);
}

/// How the application hands its body back (Python: a list, a generator, or a generator
/// that raises).
#[derive(Clone, Copy)]
enum Return {
    List,
    Gen,
    GenFail(usize),
}

/// The body of a scripted run.
struct ScriptBody {
    chunks: Vec<Vec<u8>>,
    next: usize,
    kind: Return,
}

impl Body for ScriptBody {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if let Return::GenFail(limit) = self.kind {
            if self.next == limit.min(self.chunks.len()) {
                return Err(AppError::text(format!(
                    "generator failed after {limit} chunks"
                )));
            }
        }
        let i = self.next;
        self.next += 1;
        Ok(self.chunks.get(i).map(Vec::as_slice))
    }

    /// Python knows the length of a list only, and uses it only for one chunk.
    fn length(&self) -> Option<u64> {
        match (self.kind, self.chunks.len()) {
            (Return::List, 1) => Some(self.chunks[0].len() as u64),
            _ => None,
        }
    }
}

fn run_script(
    ops: &[(String, Vec<u8>)],
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<ScriptBody, AppError> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut kind = Return::List;
    for (name, arg) in ops {
        let arg = unescape(arg);
        let text = || String::from_utf8_lossy(&arg).into_owned();
        match name.as_str() {
            "h" => {
                let text = text();
                let (k, v) = text.split_once('=').unwrap_or((&text, ""));
                headers.push((k.to_owned(), v.to_owned()));
            }
            "start" | "start_exc" => {
                let list: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                if name == "start" {
                    start_response.start(&text(), &list)?;
                } else {
                    let replaced = AppError::msg("replaced by start_exc");
                    start_response.start_with_exc_info(&text(), &list, replaced)?;
                }
                headers.clear();
            }
            "write" => start_response.write(&arg)?,
            "chunk" => chunks.push(arg),
            "echo" => {
                let var = text();
                let mut line = var.clone().into_bytes();
                match environ.get(&var) {
                    Some(value) => {
                        line.push(b'=');
                        line.extend_from_slice(value);
                    }
                    None => line.extend_from_slice(b" absent"),
                }
                line.push(b'\n');
                chunks.push(line);
            }
            "wsgi" => {
                let w = environ.wsgi.ok_or(AppError::msg("no wsgi.* variables"))?;
                chunks.push(
                    format!(
                        "version={}.{} scheme={} multithread={} multiprocess={} run_once={}\n",
                        w.version.0,
                        w.version.1,
                        w.url_scheme,
                        py_bool(w.multithread),
                        py_bool(w.multiprocess),
                        py_bool(w.run_once)
                    )
                    .into_bytes(),
                );
            }
            "input" => {
                let declared = match environ.get_str("CONTENT_LENGTH").unwrap_or("") {
                    "" => 0,
                    n => n.parse::<usize>().map_err(AppError::new)?,
                };
                let mut body = vec![0; declared];
                let got = environ.input().read_full(&mut body)?;
                body.truncate(got);
                chunks.push(body);
            }
            "line" => {
                let mut line = vec![0; 64 * 1024];
                let got = environ.input().read_line(&mut line)?;
                line.truncate(got);
                chunks.push(line);
            }
            "shift" => {
                let segment = shift_path_info(environ)?;
                let mut line = b"shift=".to_vec();
                match segment {
                    Some(s) => {
                        line.push(b'\'');
                        line.extend_from_slice(&s);
                        line.push(b'\'');
                    }
                    None => line.extend_from_slice(b"None"),
                }
                line.extend_from_slice(b" SCRIPT_NAME=");
                line.extend_from_slice(environ.get("SCRIPT_NAME").unwrap_or(b""));
                line.extend_from_slice(b" PATH_INFO=");
                line.extend_from_slice(environ.get("PATH_INFO").unwrap_or(b""));
                line.push(b'\n');
                chunks.push(line);
            }
            "uri" => {
                let line = format!(
                    "request_uri={} application_uri={}\n",
                    request_uri_string(environ, true)?,
                    application_uri_string(environ)?
                );
                chunks.push(latin1(&line));
            }
            "fail" => return Err(AppError::text(text())),
            "ret" => {
                kind = match text().as_str() {
                    "list" => Return::List,
                    "gen" => Return::Gen,
                    other => match other.strip_prefix("genfail:").map(str::parse) {
                        Some(Ok(n)) => Return::GenFail(n),
                        _ => return Err(AppError::text(format!("unknown return kind {other}"))),
                    },
                };
            }
            other => return Err(AppError::text(format!("unknown operation {other}"))),
        }
    }
    Ok(ScriptBody {
        chunks,
        next: 0,
        kind,
    })
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A string of characters up to U+00FF (a PEP 3333 native string) as its latin-1 bytes.
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(c).unwrap_or(b'?')).collect()
}

/// `%XX` escapes to bytes, as `cpython_cgi.py`'s `unescape`.
fn unescape(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            if let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}
