//! [`StaticFiles`]: the application that answers each request from the directory tree.
//!
//! | request | answer |
//! |---|---|
//! | method other than GET or HEAD | 405 with `Allow: GET, HEAD` |
//! | path refused by [`resolve`](super::resolve), or missing | 404 |
//! | a directory without the trailing slash | 301 to the same path with `/` |
//! | a directory with `index.html` | that file |
//! | a directory without one | an HTML listing ([`listing`](super::listing)) |
//! | a file, `If-Modified-Since` not older than its mtime | 304 |
//! | a file, GET with a satisfiable single `Range` | 206 with `Content-Range` |
//! | a file, GET with a `Range` past its end | 416 with `Content-Range: bytes */size` |
//! | a file | 200, the whole file |
//!
//! File responses carry `Content-Type`, an exact `Content-Length`, `Last-Modified` and
//! `Accept-Ranges: bytes`; their body is a [`FileBody`] over the open file, limited to the
//! requested range, which the server sends with `sendfile(2)` on Linux (and reads in
//! 256 KiB blocks elsewhere).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use wsgiref::{AppError, Application, Environ, StartResponse};
use wsgiref_core::app::{Either, Once};
use wsgiref_core::proto::HttpDate;
use wsgiref_std::file::FileBody;

use super::range::RangeReply;
use super::resolve::Target;
use super::{http_date, listing, mime, range, resolve};

/// The body of every response: a file (or a range of one), or a short generated text (an
/// error message, a listing; empty for HEAD and 304).
pub type Reply = Either<FileBody, Once<Vec<u8>>>;

/// Serve the files under a root directory. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct StaticFiles {
    root: PathBuf,
}

impl StaticFiles {
    /// Serve `root`, which is canonicalised here (so a symlinked root works and the
    /// containment check compares canonical paths).
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticFiles { root })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// A short text response with the given status and extra headers.
fn text(
    sr: &mut StartResponse<'_>,
    status: &str,
    extra: &[(&str, &str)],
    body: &str,
    head: bool,
) -> Result<Reply, AppError> {
    let length = body.len().to_string();
    let mut headers = vec![
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", length.as_str()),
    ];
    headers.extend_from_slice(extra);
    sr.start(status, &headers)?;
    let bytes = if head {
        Vec::new()
    } else {
        body.as_bytes().to_vec()
    };
    Ok(Either::Right(Once::new(bytes)))
}

fn not_found(sr: &mut StartResponse<'_>, head: bool) -> Result<Reply, AppError> {
    text(sr, "404 Not Found", &[], "404 Not Found\n", head)
}

impl Application for StaticFiles {
    type Body = Reply;

    fn call(
        &self,
        environ: &mut Environ<'_>,
        sr: &mut StartResponse<'_>,
    ) -> Result<Reply, AppError> {
        let method = environ.get("REQUEST_METHOD").unwrap_or(b"GET");
        let head = method == b"HEAD";
        if method != b"GET" && !head {
            return text(
                sr,
                "405 Method Not Allowed",
                &[("Allow", "GET, HEAD")],
                "405 Method Not Allowed\n",
                false,
            );
        }
        let path_info = environ.get("PATH_INFO").unwrap_or(b"");
        match resolve::resolve(&self.root, path_info) {
            Target::NotFound => not_found(sr, head),
            Target::AddSlash(segments) => {
                // Rebuilt from non-empty segments (the mount point's, then the clean ones of
                // the path), so the target starts with exactly one `/` and can never become a
                // protocol-relative `//other.host/` redirect.
                let script_name = environ.get("SCRIPT_NAME").unwrap_or(b"");
                let mount = script_name.split(|&b| b == b'/').filter(|s| !s.is_empty());
                let mut location = String::new();
                for segment in mount.chain(segments.iter().map(Vec::as_slice)) {
                    location.push('/');
                    location.push_str(&listing::percent_encode(segment));
                }
                location.push('/');
                if let Some(query) = environ.get_str("QUERY_STRING").filter(|q| !q.is_empty()) {
                    // The query is passed on as received; it is only allowed the bytes a
                    // request line may hold, which are safe in a header.
                    location.push('?');
                    location.push_str(query);
                }
                let body = format!("Moved to {location}\n");
                text(
                    sr,
                    "301 Moved Permanently",
                    &[("Location", location.as_str())],
                    &body,
                    head,
                )
            }
            Target::Dir { path } => {
                let index = path.join("index.html");
                match std::fs::metadata(&index) {
                    Ok(meta) if meta.is_file() => {
                        // index.html is a name we chose, not a client's: it may still be a
                        // symlink leading outside, so it goes through the same check.
                        match std::fs::canonicalize(&index) {
                            Ok(real) if real.starts_with(&self.root) => {
                                serve_file(environ, sr, &real, &meta, b"index.html", head)
                            }
                            _ => not_found(sr, head),
                        }
                    }
                    _ => {
                        let Some(page) = listing::render(&path, path_info) else {
                            return not_found(sr, head);
                        };
                        let length = page.len().to_string();
                        sr.start(
                            "200 OK",
                            &[
                                ("Content-Type", "text/html; charset=utf-8"),
                                ("Content-Length", &length),
                            ],
                        )?;
                        let bytes = if head { Vec::new() } else { page.into_bytes() };
                        Ok(Either::Right(Once::new(bytes)))
                    }
                }
            }
            Target::File { path, meta } => {
                let name = path_info.rsplit(|&b| b == b'/').next().unwrap_or(b"");
                serve_file(environ, sr, &path, &meta, name, head)
            }
        }
    }
}

/// Answer for one regular file: 200, 206, 304 or 416. `name` is the file name the client
/// asked for, which picks the content type (a symlink `latest.html -> v2` is HTML).
fn serve_file(
    environ: &Environ<'_>,
    sr: &mut StartResponse<'_>,
    path: &Path,
    meta: &std::fs::Metadata,
    name: &[u8],
    head: bool,
) -> Result<Reply, AppError> {
    let size = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let last_modified = HttpDate::from_unix(mtime);
    let content_type = mime::for_name(name);

    // RFC 9110 §13.2.2: If-None-Match would take precedence; we send no ETags, so a client
    // that has one did not get it from us and the date is all we can judge by.
    if environ.get("HTTP_IF_NONE_MATCH").is_none() {
        let since = environ
            .get("HTTP_IF_MODIFIED_SINCE")
            .and_then(http_date::parse);
        if since.is_some_and(|since| mtime <= since) {
            // RFC 9110 §8.6 allows Content-Length on a 304 only as the 200's length.
            let length = size.to_string();
            sr.start(
                "304 Not Modified",
                &[
                    ("Last-Modified", last_modified.as_str()),
                    ("Content-Length", &length),
                ],
            )?;
            return Ok(Either::Right(Once::new(Vec::new())));
        }
    }

    // Range applies to GET only (RFC 9110 §14.2); If-Range with anything but our exact
    // Last-Modified means "the copy I have is stale: send it all".
    let range_header = environ.get("HTTP_RANGE").filter(|_| !head).filter(|_| {
        environ
            .get("HTTP_IF_RANGE")
            .is_none_or(|v| v.trim_ascii() == last_modified.as_bytes())
    });
    let (status, start, count, content_range) = match range::parse(range_header, size) {
        RangeReply::Full => ("200 OK", 0, size, None),
        RangeReply::Partial { start, end } => (
            "206 Partial Content",
            start,
            end - start + 1,
            Some(format!("bytes {start}-{end}/{size}")),
        ),
        RangeReply::Unsatisfiable => {
            let content_range = format!("bytes */{size}");
            return text(
                sr,
                "416 Range Not Satisfiable",
                &[("Content-Range", &content_range)],
                "416 Range Not Satisfiable\n",
                false,
            );
        }
    };

    let body = if head {
        None
    } else {
        // Opened after the checks; the open file is what is sent even if the name is replaced
        // meanwhile. A file that vanished since `resolve` is a 404.
        let Ok(file) = File::open(path) else {
            return not_found(sr, head);
        };
        // Sent with sendfile(2) by the server where it can, read in blocks elsewhere.
        Some(FileBody::range(file, start, count))
    };
    let count_text = count.to_string();
    let mut headers = vec![
        ("Content-Type", content_type),
        ("Content-Length", count_text.as_str()),
        ("Last-Modified", last_modified.as_str()),
        ("Accept-Ranges", "bytes"),
    ];
    if let Some(content_range) = &content_range {
        headers.push(("Content-Range", content_range));
    }
    sr.start(status, &headers)?;
    Ok(match body {
        Some(file) => Either::Left(file),
        None => Either::Right(Once::new(Vec::new())),
    })
}
