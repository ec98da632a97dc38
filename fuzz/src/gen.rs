//! Valid requests built from arbitrary parts, and what the application must see of them.
//!
//! [`Spec::from_parts`] maps any bytes into the grammar (so a fuzzer or a proptest strategy can
//! hand over raw material), [`Spec::encode`] writes the request, [`Spec::expected`] says what
//! the environ and `wsgi.input` must show.

use std::cell::RefCell;

use wsgiref_core::app::{app_fn, StartResponse};
use wsgiref_core::environ::Environ;
use wsgiref_core::proto::{chunk_header, CHUNK_END, LAST_CHUNK};
use wsgiref_core::{AppError, Application};

/// Bytes that may appear raw in the generated path; everything else is percent-encoded
/// (notably `/`, so the target never starts with `//`, which the server would collapse).
fn path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

const QUERY_ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~=&%+,;:@/!$'()*?";
const NAME_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
/// Field value bytes: visible ASCII and a space (never at either end after trimming).
const VALUE_ALPHABET: &[u8] = b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

fn pick(alphabet: &[u8], b: u8) -> u8 {
    alphabet[b as usize % alphabet.len()]
}

/// A valid HTTP/1.1 request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// A token of upper-case letters.
    pub method: String,
    /// The decoded path after its leading `/` (any bytes).
    pub path: Vec<u8>,
    /// Percent escapes in upper-case hex (`%2F`) or lower-case (`%2f`).
    pub upper_hex: bool,
    /// The raw query (without `?`); `None` sends no `?`.
    pub query: Option<Vec<u8>>,
    /// Extra header fields, each named `X-...`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// `Some(sizes)`: send the body chunked, in pieces of these sizes (cycled; 0 is skipped);
    /// `None`: with `Content-Length`.
    pub chunks: Option<Vec<usize>>,
}

/// Raw material for a [`Spec`]; any values are fine.
#[derive(Clone, Debug, Default)]
pub struct Parts {
    /// Method bytes (mapped to `A..Z`; empty means `GET`).
    pub method: Vec<u8>,
    /// Path bytes.
    pub path: Vec<u8>,
    /// Escape case.
    pub upper_hex: bool,
    /// Query bytes (mapped into a safe alphabet).
    pub query: Option<Vec<u8>>,
    /// Header names and values (mapped into their alphabets).
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Chunk sizes.
    pub chunks: Option<Vec<u16>>,
}

impl Spec {
    /// Most extra header fields.
    pub const MAX_HEADERS: usize = 24;
    /// Most body bytes.
    pub const MAX_BODY: usize = 4096;

    /// Map raw parts into a valid request, bounding every length.
    pub fn from_parts(parts: Parts) -> Spec {
        let mut method: String = parts
            .method
            .iter()
            .take(12)
            .map(|&b| char::from(b'A' + b % 26))
            .collect();
        if method.is_empty() {
            method.push_str("GET");
        }
        let headers = parts
            .headers
            .iter()
            .take(Self::MAX_HEADERS)
            .map(|(name, value)| {
                let mut n = String::from("X-");
                n.extend(
                    name.iter()
                        .take(24)
                        .map(|&b| char::from(pick(NAME_ALPHABET, b))),
                );
                let v: String = value
                    .iter()
                    .take(48)
                    .map(|&b| char::from(pick(VALUE_ALPHABET, b)))
                    .collect();
                (n, v.trim_matches(' ').to_string())
            })
            .collect();
        Spec {
            method,
            path: parts.path.into_iter().take(96).collect(),
            upper_hex: parts.upper_hex,
            query: parts.query.map(|q| {
                q.iter()
                    .take(64)
                    .map(|&b| pick(QUERY_ALPHABET, b))
                    .collect()
            }),
            headers,
            body: parts.body.into_iter().take(Self::MAX_BODY).collect(),
            chunks: parts
                .chunks
                .map(|c| c.into_iter().take(64).map(usize::from).collect()),
        }
    }

    /// The request bytes.
    pub fn encode(&self) -> Vec<u8> {
        let hex: &[u8; 16] = if self.upper_hex {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let mut out = Vec::new();
        out.extend_from_slice(self.method.as_bytes());
        out.extend_from_slice(b" /");
        for &b in &self.path {
            if path_safe(b) {
                out.push(b);
            } else {
                out.extend_from_slice(&[b'%', hex[usize::from(b >> 4)], hex[usize::from(b & 15)]]);
            }
        }
        if let Some(q) = &self.query {
            out.push(b'?');
            out.extend_from_slice(q);
        }
        out.extend_from_slice(b" HTTP/1.1\r\nHost: fuzz\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match &self.chunks {
            None => {
                out.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes(),
                );
                out.extend_from_slice(&self.body);
            }
            Some(sizes) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &self.body[..];
                let mut sizes = sizes.iter().copied().filter(|&s| s > 0).cycle();
                while !rest.is_empty() {
                    let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
                    let mut buf = [0u8; 18];
                    out.extend_from_slice(chunk_header(n, &mut buf));
                    out.extend_from_slice(&rest[..n]);
                    out.extend_from_slice(CHUNK_END);
                    rest = &rest[n..];
                }
                out.extend_from_slice(LAST_CHUNK);
            }
        }
        out
    }

    /// What the application must see.
    pub fn expected(&self) -> Seen {
        let mut path = vec![b'/'];
        path.extend_from_slice(&self.path);
        let mut http: Vec<(String, Vec<u8>)> = Vec::new();
        for (name, value) in &self.headers {
            let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
            match http.iter_mut().find(|(k, _)| *k == key) {
                Some((_, joined)) => {
                    joined.push(b',');
                    joined.extend_from_slice(value.as_bytes());
                }
                None => http.push((key, value.as_bytes().to_vec())),
            }
        }
        http.sort();
        Seen {
            method: self.method.as_bytes().to_vec(),
            path,
            query: self.query.clone().unwrap_or_default(),
            host: b"fuzz".to_vec(),
            http,
            body: self.body.clone(),
        }
    }
}

/// What an application saw of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// `REQUEST_METHOD`.
    pub method: Vec<u8>,
    /// `PATH_INFO`.
    pub path: Vec<u8>,
    /// `QUERY_STRING`.
    pub query: Vec<u8>,
    /// `HTTP_HOST`.
    pub host: Vec<u8>,
    /// Every `HTTP_X_*` variable, sorted by key.
    pub http: Vec<(String, Vec<u8>)>,
    /// Everything `wsgi.input` returned.
    pub body: Vec<u8>,
}

/// An application that records what it sees into `seen` (one entry per request) and answers
/// `204 No Content`.
pub fn recording_app(seen: &RefCell<Vec<Seen>>) -> impl Application + '_ {
    app_fn(move |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let get = |k: &str| env.get(k).unwrap_or(b"").to_vec();
        let mut http: Vec<(String, Vec<u8>)> = env
            .iter()
            .filter(|(k, _)| k.starts_with("HTTP_X_"))
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        http.sort();
        let mut record = Seen {
            method: get("REQUEST_METHOD"),
            path: get("PATH_INFO"),
            query: get("QUERY_STRING"),
            host: get("HTTP_HOST"),
            http,
            body: Vec::new(),
        };
        let mut buf = [0u8; 61];
        loop {
            let n = env
                .input()
                .read(&mut buf)
                .map_err(|_| AppError::msg("wsgi.input failed"))?;
            if n == 0 {
                break;
            }
            record.body.extend_from_slice(&buf[..n]);
            if record.body.len() > Spec::MAX_BODY {
                return Err(AppError::msg("more body than was sent"));
            }
        }
        seen.borrow_mut().push(record);
        sr.start("204 No Content", &[])?;
        Ok::<_, AppError>(&b""[..])
    })
}
