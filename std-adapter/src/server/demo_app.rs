//! [`demo_app`]: the seed's demonstration application, "Hello world!" and the environ.

use std::fmt::Write as _;

use wsgiref_core::app::{Once, StartResponse};
use wsgiref_core::{AppError, Environ};

/// `wsgiref.simple_server.demo_app`: answers `200 OK` with `Hello world!`, an empty line, then
/// one `KEY = repr(value)` line per environ variable, sorted by key, the values written as
/// Python's `repr` of the Latin-1 decoded bytes (so the page reads as CPython's does).
///
/// The `wsgi.*` entries are listed too; the streams show as `<wsgi.input>` and
/// `<wsgi.errors>` since they have no Python repr.
///
/// ```
/// use wsgiref_core::app::{Body, Respond, StartResponse, StartResponseError};
/// use wsgiref_core::{AppError, Environ};
///
/// struct Record(String);
/// impl Respond for Record {
///     fn start_response(&mut self, status: &str, _: &[(&str, &str)], _: bool)
///         -> Result<(), StartResponseError> { self.0 = status.into(); Ok(()) }
///     fn write(&mut self, _: &[u8]) -> Result<(), AppError> { Ok(()) }
///     fn headers_sent(&self) -> bool { false }
/// }
/// let mut environ = Environ::new();
/// environ.set("PATH_INFO", "/it's").unwrap();
/// let mut record = Record(String::new());
/// let mut body = wsgiref_std::server::demo_app(&mut environ, &mut StartResponse::new(&mut record))?;
/// let text = String::from_utf8(body.next_chunk()?.unwrap().to_vec()).unwrap();
/// assert_eq!(record.0, "200 OK");
/// assert_eq!(text, "Hello world!\n\nPATH_INFO = \"/it's\"\n");
/// # Ok::<(), AppError>(())
/// ```
pub fn demo_app(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Once<Vec<u8>>, AppError> {
    let mut text = String::from("Hello world!\n\n");
    let mut items: Vec<(String, String)> = environ
        .iter()
        .map(|(k, v)| (k.to_owned(), py_repr(v)))
        .collect();
    if let Some(w) = environ.wsgi {
        let flag = |b: bool| if b { "True" } else { "False" }.to_owned();
        items.push((
            "wsgi.version".into(),
            format!("({}, {})", w.version.0, w.version.1),
        ));
        items.push((
            "wsgi.url_scheme".into(),
            py_repr(w.url_scheme.as_str().as_bytes()),
        ));
        items.push(("wsgi.multithread".into(), flag(w.multithread)));
        items.push(("wsgi.multiprocess".into(), flag(w.multiprocess)));
        items.push(("wsgi.run_once".into(), flag(w.run_once)));
    }
    if environ.has_input() {
        items.push(("wsgi.input".into(), "<wsgi.input>".into()));
    }
    if environ.has_errors() {
        items.push(("wsgi.errors".into(), "<wsgi.errors>".into()));
    }
    items.sort();
    for (key, value) in items {
        let _ = writeln!(text, "{key} = {value}");
    }
    start_response.start("200 OK", &[("Content-Type", "text/plain; charset=utf-8")])?;
    Ok(Once::new(text.into_bytes()))
}

/// Python's `repr()` of `bytes.decode("latin-1")`.
fn py_repr(value: &[u8]) -> String {
    let quote = if value.contains(&b'\'') && !value.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    for &b in value {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            // Not printable for Python: controls, DEL, C1 controls, NBSP and the soft hyphen.
            0x00..=0x1f | 0x7f..=0xa0 | 0xad => {
                let _ = write!(out, "\\x{b:02x}");
            }
            _ => out.push(char::from(b)),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::py_repr;

    #[test]
    fn repr_matches_python() {
        // Values checked against python3's repr().
        assert_eq!(py_repr(b"a'b"), "\"a'b\"");
        assert_eq!(py_repr(b"\"'"), "'\"\\''");
        assert_eq!(py_repr(b"\xa0\xad\xa1\x85"), "'\\xa0\\xad\u{a1}\\x85'");
        assert_eq!(py_repr(b"x\\y\n"), "'x\\\\y\\n'");
    }
}
