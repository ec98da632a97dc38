//! From `PATH_INFO` to a file under the served root, and nowhere else.
//!
//! The server has already percent-decoded the path once (as CPython's `simple_server` does),
//! so `%2e%2e` arrives as `..` and `%2f` as `/`; we never decode again, so a double-encoded
//! `%252e%252e` stays a harmless literal name. Then:
//!
//! 1. the path must be empty or start with `/` (an absolute-form target such as
//!    `http://host/x` is refused);
//! 2. it is split on `/`; empty and `.` segments are dropped;
//! 3. a segment that is `..`, or holds a backslash or a NUL byte, refuses the whole request:
//!    nothing is "resolved" lexically, so there is no normalisation to get wrong;
//! 4. the joined path is canonicalised (symlinks followed) and must still lie under the
//!    canonical root, so a symlink leading outside is refused too;
//! 5. only regular files and directories are served: a FIFO or device node under the root
//!    would block or never end;
//! 6. with [`Dotfiles::Hide`] (`serve --no-dotfiles`), a name starting with `.`, asked for or
//!    reached through a symlink, is refused too. By default dotfiles are served, as
//!    `python3 -m http.server` serves them.
//!
//! Every refusal is a 404, the same answer as a missing file, so a client learns nothing
//! about what exists outside the root.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// Most path segments accepted; deeper paths are refused (no real site nests this deep, and
/// the bound keeps the work per request small).
pub const MAX_SEGMENTS: usize = 64;

/// Whether names starting with `.` are served and listed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dotfiles {
    /// Served and listed like any other name (the default, as in `python3 -m http.server`).
    #[default]
    Show,
    /// Neither listed nor served (404): `.git/`, `.env` and the like stay private.
    Hide,
}

impl Dotfiles {
    /// Whether a file name may be shown and served under this policy.
    pub fn allows(self, name: &[u8]) -> bool {
        self == Dotfiles::Show || !name.starts_with(b".")
    }

    /// Whether every component of `path` below `root` may be served.
    pub fn allows_path(self, root: &Path, path: &Path) -> bool {
        self == Dotfiles::Show
            || path.strip_prefix(root).is_ok_and(|rest| {
                rest.components()
                    .all(|c| self.allows(c.as_os_str().as_encoded_bytes()))
            })
    }
}

/// What a request path names.
#[derive(Debug)]
pub enum Target {
    /// A regular file under the root.
    File {
        /// Its canonical path.
        path: PathBuf,
        /// Its metadata (size, modification time).
        meta: Metadata,
    },
    /// A directory asked for with a trailing slash.
    Dir {
        /// Its canonical path.
        path: PathBuf,
    },
    /// A directory asked for without its trailing slash: the client must be redirected so
    /// that relative links inside it resolve (a browser resolves `a.css` in `/docs` against
    /// `/`, in `/docs/` against `/docs/`). Holds the clean segments of the path.
    AddSlash(Vec<Vec<u8>>),
    /// Missing, or refused by the rules above.
    NotFound,
}

/// Why a path was refused; the response is a 404 either way, the reason is for tests and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not empty and not starting with `/`.
    NotAbsolute,
    /// A `..` segment.
    DotDot,
    /// A backslash (a separator on Windows, and never in a legitimate URL path here).
    Backslash,
    /// A NUL byte (it would truncate the path in C APIs).
    Nul,
    /// More than [`MAX_SEGMENTS`] segments.
    TooDeep,
}

/// The clean segments of `path_info`, or why it is refused.
pub fn segments(path_info: &[u8]) -> Result<Vec<&[u8]>, Refusal> {
    if !path_info.is_empty() && path_info[0] != b'/' {
        return Err(Refusal::NotAbsolute);
    }
    let mut out = Vec::new();
    for segment in path_info.split(|&b| b == b'/') {
        if segment.is_empty() || segment == b"." {
            continue;
        }
        if segment == b".." {
            return Err(Refusal::DotDot);
        }
        if segment.contains(&b'\\') {
            return Err(Refusal::Backslash);
        }
        if segment.contains(&0) {
            return Err(Refusal::Nul);
        }
        if out.len() == MAX_SEGMENTS {
            return Err(Refusal::TooDeep);
        }
        out.push(segment);
    }
    Ok(out)
}

/// Resolve `path_info` against `root`, which must already be canonical
/// ([`std::fs::canonicalize`]).
pub fn resolve(root: &Path, path_info: &[u8], dotfiles: Dotfiles) -> Target {
    let Ok(segments) = segments(path_info) else {
        return Target::NotFound;
    };
    if !segments.iter().all(|s| dotfiles.allows(s)) {
        return Target::NotFound;
    }
    let mut joined = root.to_path_buf();
    for segment in &segments {
        match os_name(segment) {
            Some(name) => joined.push(name),
            None => return Target::NotFound,
        }
    }
    let Ok(path) = std::fs::canonicalize(&joined) else {
        return Target::NotFound;
    };
    // The canonical path is checked again for dotfiles: `link -> .env` is as hidden as `.env`.
    if !path.starts_with(root) || !dotfiles.allows_path(root, &path) {
        return Target::NotFound;
    }
    let Ok(meta) = std::fs::metadata(&path) else {
        return Target::NotFound;
    };
    if meta.is_dir() {
        // An empty PATH_INFO (an application mounted at SCRIPT_NAME `/files`, asked for
        // `/files`) needs the slash as much as `/files/docs` does.
        if path_info.ends_with(b"/") {
            Target::Dir { path }
        } else {
            Target::AddSlash(segments.iter().map(|s| s.to_vec()).collect())
        }
    } else if meta.is_file() {
        // A file asked for with a trailing slash does not exist as such (`/a.txt/`); the
        // kernel agrees (ENOTDIR) but canonicalize already stripped the slash.
        if path_info.ends_with(b"/") {
            Target::NotFound
        } else {
            Target::File { path, meta }
        }
    } else {
        Target::NotFound
    }
}

/// A path segment as a file name: its bytes as they are on Unix; elsewhere it must be UTF-8.
#[cfg(unix)]
fn os_name(segment: &[u8]) -> Option<&std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    Some(std::ffi::OsStr::from_bytes(segment))
}

#[cfg(not(unix))]
fn os_name(segment: &[u8]) -> Option<&std::ffi::OsStr> {
    std::str::from_utf8(segment).ok().map(std::ffi::OsStr::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_rules() {
        assert_eq!(segments(b"/a//./b/").unwrap(), [&b"a"[..], b"b"]);
        assert_eq!(segments(b"").unwrap(), Vec::<&[u8]>::new());
        assert_eq!(segments(b"/a/../b"), Err(Refusal::DotDot));
        assert_eq!(segments(b"/a\\..\\b"), Err(Refusal::Backslash));
        assert_eq!(segments(b"/a\0b"), Err(Refusal::Nul));
        assert_eq!(segments(b"http://x/y"), Err(Refusal::NotAbsolute));
        assert_eq!(segments(b"/...").unwrap(), [&b"..."[..]]);
    }

    #[test]
    fn dotfile_policy() {
        let root = Path::new("/srv");
        assert!(Dotfiles::Show.allows(b".env"));
        assert!(!Dotfiles::Hide.allows(b".env"));
        assert!(Dotfiles::Hide.allows(b"a.env"));
        assert!(Dotfiles::Hide.allows_path(root, Path::new("/srv/a/b.txt")));
        assert!(!Dotfiles::Hide.allows_path(root, Path::new("/srv/.git/config")));
        assert!(Dotfiles::Show.allows_path(root, Path::new("/srv/.git/config")));
    }
}
