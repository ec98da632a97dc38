//! [`StaticFiles`]: the application that answers each request from the directory tree.
//!
//! | request | answer |
//! |---|---|
//! | method other than GET or HEAD | 405 with `Allow: GET, HEAD` |
//! | path refused by [`resolve`](super::resolve), or missing | 404 |
//! | a directory without the trailing slash | 301 to the same path with `/` |
//! | a directory with `index.html` | that file |
//! | a directory without one | an HTML listing ([`listing`](super::listing)) |
//! | a file, `If-Match`/`If-Unmodified-Since` failing | 412 ([`conditional`](super::conditional)) |
//! | a file, `If-None-Match`/`If-Modified-Since` showing the client's copy is current | 304 |
//! | a file, GET with a satisfiable single `Range` (and `If-Range`, if any, matching) | 206 with `Content-Range` |
//! | a file, GET with a `Range` past its end | 416 with `Content-Range: bytes */size` |
//! | a file | 200, the whole file |
//!
//! File responses carry `Content-Type`, an exact `Content-Length`, `ETag`, `Last-Modified`,
//! `Cache-Control: no-cache` and `Accept-Ranges: bytes`; their body is a [`FileBody`] over
//! the open file, limited to the requested range, which the server sends with `sendfile(2)`
//! on Linux (and reads in 256 KiB blocks elsewhere). The redirect's `Location` is rebuilt from
//! percent-encoded segments and a query with its unsafe bytes percent-encoded ([`url`]).
//!
//! [`url`]: super::url

use std::fs::File;
use std::path::{Path, PathBuf};

use wsgiref::app::{Either, Once};
use wsgiref::handlers::FileBody;
use wsgiref::{AppError, Application, Environ, StartResponse};

use super::conditional::{Conditions, Outcome, Validators, CACHE_CONTROL};
use super::range::RangeReply;
use super::resolve::{Dotfiles, Target};
use super::{conditional, listing, mime, range, resolve, url};

/// The body of every response: a file (or a range of one), or a short generated text (an
/// error message, a listing; empty for HEAD and 304).
pub type Reply = Either<FileBody, Once<Vec<u8>>>;

/// Serve the files under a root directory. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct StaticFiles {
    root: PathBuf,
    dotfiles: Dotfiles,
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
        Ok(StaticFiles {
            root,
            dotfiles: Dotfiles::default(),
        })
    }

    /// Whether names starting with `.` are listed and served (they are by default, as in
    /// `python3 -m http.server`; `serve --no-dotfiles` hides them).
    pub fn with_dotfiles(mut self, dotfiles: Dotfiles) -> Self {
        self.dotfiles = dotfiles;
        self
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
        match resolve::resolve(&self.root, path_info, self.dotfiles) {
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
                    location.push_str(&url::segment(segment));
                }
                location.push('/');
                if let Some(query) = environ.get("QUERY_STRING").filter(|q| !q.is_empty()) {
                    // The query is passed on, with what is not safe in a URL (`"`, `<`,
                    // spaces, non-ASCII...) percent-encoded.
                    location.push('?');
                    location.push_str(&url::query(query));
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
                            Ok(real)
                                if real.starts_with(&self.root)
                                    && self.dotfiles.allows_path(&self.root, &real) =>
                            {
                                serve_file(environ, sr, &real, &meta, b"index.html", head)
                            }
                            _ => not_found(sr, head),
                        }
                    }
                    _ => {
                        let Some(page) =
                            listing::render(&self.root, &path, path_info, self.dotfiles)
                        else {
                            return not_found(sr, head);
                        };
                        let length = page.len().to_string();
                        sr.start(
                            "200 OK",
                            &[
                                ("Content-Type", "text/html; charset=utf-8"),
                                ("Content-Length", &length),
                                ("Cache-Control", CACHE_CONTROL),
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

/// Answer for one regular file: 200, 206, 304, 412 or 416. `name` is the file name the
/// client asked for, which picks the content type (a symlink `latest.html -> v2` is HTML).
fn serve_file(
    environ: &Environ<'_>,
    sr: &mut StartResponse<'_>,
    path: &Path,
    meta: &std::fs::Metadata,
    name: &[u8],
    head: bool,
) -> Result<Reply, AppError> {
    let size = meta.len();
    let validators = Validators::of(meta);
    let content_type = mime::for_name(name);
    let conditions = Conditions {
        if_match: environ.get("HTTP_IF_MATCH"),
        if_none_match: environ.get("HTTP_IF_NONE_MATCH"),
        if_modified_since: environ.get("HTTP_IF_MODIFIED_SINCE"),
        if_unmodified_since: environ.get("HTTP_IF_UNMODIFIED_SINCE"),
    };
    // Only GET and HEAD reach here (the rest got 405).
    match conditional::evaluate(&conditions, &validators, true) {
        Outcome::Proceed => {}
        Outcome::NotModified => {
            // RFC 9110 §15.4.5: the validators and Cache-Control a 200 would have carried;
            // §8.6 allows Content-Length only as the 200's length.
            let length = size.to_string();
            sr.start(
                "304 Not Modified",
                &[
                    ("ETag", validators.etag.as_str()),
                    ("Last-Modified", validators.last_modified.as_str()),
                    ("Cache-Control", CACHE_CONTROL),
                    ("Content-Length", &length),
                ],
            )?;
            return Ok(Either::Right(Once::new(Vec::new())));
        }
        Outcome::Failed => {
            return text(
                sr,
                "412 Precondition Failed",
                &[("ETag", validators.etag.as_str())],
                "412 Precondition Failed\n",
                head,
            );
        }
    }

    // Range applies to GET only (RFC 9110 §14.2); an If-Range that does not match our
    // validators means "the copy I have is stale: send it all".
    let range_header = environ
        .get("HTTP_RANGE")
        .filter(|_| !head)
        .filter(|_| conditional::if_range_allows(environ.get("HTTP_IF_RANGE"), &validators));
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
        ("Content-Type", content_type.as_ref()),
        ("Content-Length", count_text.as_str()),
        ("ETag", validators.etag.as_str()),
        ("Last-Modified", validators.last_modified.as_str()),
        ("Cache-Control", CACHE_CONTROL),
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
