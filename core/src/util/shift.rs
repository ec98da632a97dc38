//! `shift_path_info`: move one path segment from `PATH_INFO` to `SCRIPT_NAME`, the way a
//! router descends into a sub-application.
//!
//! The new values are built in a scratch buffer and then stored into the environ; the scratch
//! is bounded, so a path too long for it is an error, never an allocation or a panic.

use core::fmt;
use core::ops::{Deref, Range};

use super::UtilError;
use crate::environ::Environ;

/// Bytes of stack scratch [`shift_path_info`] uses: it must hold the new `SCRIPT_NAME`, the
/// new `PATH_INFO` and the segment, which is at most
/// `len(SCRIPT_NAME) + len(PATH_INFO) + 2 * len(segment) + 2` bytes. Longer paths need
/// [`shift_path_info_in`] with a larger buffer.
pub const SHIFT_SCRATCH: usize = 1024;

/// A path segment returned by [`shift_path_info`], owned so that the environ is free again
/// as soon as the call returns.
///
/// It dereferences to `[u8]`, so a router can match on it directly:
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::util::shift_path_info;
///
/// let mut buf = EnvironBuf::<256, 8>::new();
/// let mut environ = buf.environ();
/// environ.set("PATH_INFO", "/users/42")?;
/// let page = match shift_path_info(&mut environ)?.as_deref() {
///     Some(b"users") => "users",
///     Some(b"") | None => "index",
///     Some(_) => "not found",
/// };
/// assert_eq!(page, "users");
/// let id = shift_path_info(&mut environ)?.unwrap();
/// assert_eq!(id.as_str(), Some("42"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    len: u8,
    bytes: [u8; Segment::CAPACITY],
}

impl Segment {
    /// The longest segment a `Segment` holds, in bytes.
    pub const CAPACITY: usize = 255;

    fn new(bytes: &[u8]) -> Result<Self, UtilError> {
        let len = u8::try_from(bytes.len())
            .map_err(|_| UtilError::SegmentTooLong { len: bytes.len() })?;
        let mut segment = Segment {
            len,
            bytes: [0; Segment::CAPACITY],
        };
        segment.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(segment)
    }

    /// The segment's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The segment as `&str`, when it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }
}

impl Deref for Segment {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Segment {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq<[u8]> for Segment {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for Segment {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialEq<str> for Segment {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Segment {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&crate::bytes::Latin1(self.as_bytes()), f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Segment {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Segment({=[u8]})", self.as_bytes());
    }
}

/// Shift one segment from `PATH_INFO` to `SCRIPT_NAME` and return it, using
/// [`SHIFT_SCRATCH`] bytes of stack.
///
/// This is CPython's algorithm exactly:
///
/// 1. An absent or empty `PATH_INFO` returns `None` and changes nothing.
/// 2. `PATH_INFO` is split on `/`. Empty and `.` elements between the first and the last are
///    dropped (`..` is kept); the element after the first is the segment. A non-empty
///    `PATH_INFO` without `/` is [`UtilError::PathWithoutSlash`] (CPython's `IndexError`).
/// 3. The new `SCRIPT_NAME` is `posixpath.normpath(SCRIPT_NAME + "/" + segment)` (so `..`
///    climbs, and exactly two leading slashes are kept), minus one trailing `/`, plus a `/`
///    again when the segment is empty. The new `PATH_INFO` is the remaining elements joined
///    with `/`. Both keys are set.
/// 4. The segment is returned, except that `.` returns `None` (the environ is still
///    updated).
///
/// | `SCRIPT_NAME` | `PATH_INFO` | returns | new `SCRIPT_NAME` | new `PATH_INFO` |
/// |---|---|---|---|---|
/// | `/a` | `/x/y` | `x` | `/a/x` | `/y` |
/// | `/a/b` | `/../y` | `..` | `/a` | `/y` |
/// | `/a/b` | `///` | (empty) | `/a/b/` | (empty) |
/// | `/a/b` | `/.` | `None` | `/a/b` | (empty) |
/// | `/` | `/x` | `x` | `//x` | (empty) |
///
/// Errors leave the environ unchanged: besides `PathWithoutSlash`,
/// [`UtilError::ScratchTooSmall`] (see [`SHIFT_SCRATCH`]), [`UtilError::SegmentTooLong`]
/// (over [`Segment::CAPACITY`]) and [`UtilError::Environ`] when the environ's storage cannot
/// take the longer `SCRIPT_NAME`.
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::util::shift_path_info;
///
/// let mut buf = EnvironBuf::<256, 8>::new();
/// let mut environ = buf.environ();
/// environ.set("SCRIPT_NAME", "/a")?;
/// environ.set("PATH_INFO", "/x/y")?;
/// assert_eq!(shift_path_info(&mut environ)?.unwrap(), "x");
/// assert_eq!(environ.get("SCRIPT_NAME"), Some(&b"/a/x"[..]));
/// assert_eq!(environ.get("PATH_INFO"), Some(&b"/y"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn shift_path_info(environ: &mut Environ<'_>) -> Result<Option<Segment>, UtilError> {
    let mut scratch = [0u8; SHIFT_SCRATCH];
    match shift(environ, &mut scratch, Segment::CAPACITY)? {
        Some(range) => Segment::new(&scratch[range]).map(Some),
        None => Ok(None),
    }
}

/// [`shift_path_info`] with a scratch buffer you provide, for paths longer than
/// [`SHIFT_SCRATCH`] allows or for a tight stack; the segment is returned inside `scratch`,
/// so it stays readable while the environ is used again.
///
/// `scratch` needs at most `len(SCRIPT_NAME) + len(PATH_INFO) + 2 * len(segment) + 2` bytes;
/// a smaller one gives [`UtilError::ScratchTooSmall`] with the environ unchanged.
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::util::shift_path_info_in;
///
/// let mut buf = EnvironBuf::<256, 8>::new();
/// let mut environ = buf.environ();
/// environ.set("PATH_INFO", "/static/app.css")?;
/// let mut scratch = [0u8; 64];
/// let segment = shift_path_info_in(&mut environ, &mut scratch)?;
/// assert_eq!(segment, Some(&b"static"[..]));
/// assert_eq!(environ.get("SCRIPT_NAME"), Some(&b"/static"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn shift_path_info_in<'s>(
    environ: &mut Environ<'_>,
    scratch: &'s mut [u8],
) -> Result<Option<&'s [u8]>, UtilError> {
    let range = shift(environ, scratch, usize::MAX)?;
    Ok(range.map(|r| &scratch[r]))
}

/// A bounds-checked writer over the scratch buffer.
struct Cursor<'s> {
    buf: &'s mut [u8],
    len: usize,
}

impl Cursor<'_> {
    fn push(&mut self, bytes: &[u8]) -> Result<(), UtilError> {
        let end = self.len + bytes.len();
        let capacity = self.buf.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(UtilError::ScratchTooSmall {
                needed: end,
                capacity,
            })?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What a shift will store, laid out in the scratch buffer.
struct Plan {
    script_name: Range<usize>,
    path_info: Range<usize>,
    /// The segment, or `None` when it is `.`.
    segment: Option<Range<usize>>,
}

/// The shared body of both entry points: returns where the segment lies in `scratch`.
fn shift(
    environ: &mut Environ<'_>,
    scratch: &mut [u8],
    max_segment: usize,
) -> Result<Option<Range<usize>>, UtilError> {
    let Some(plan) = plan(environ, scratch, max_segment)? else {
        return Ok(None);
    };
    // SCRIPT_NAME first: it may grow, and a failed `set` changes nothing. PATH_INFO can only
    // shrink (the segment and a `/` leave it), and shrinking an existing value cannot run out
    // of storage, so the second `set` does not fail after the first succeeded.
    environ.set("SCRIPT_NAME", &scratch[plan.script_name])?;
    environ.set("PATH_INFO", &scratch[plan.path_info])?;
    Ok(plan.segment)
}

/// Compute the new `SCRIPT_NAME`, `PATH_INFO` and the segment into `scratch` without touching
/// the environ; `None` when `PATH_INFO` is absent or empty.
fn plan(
    environ: &Environ<'_>,
    scratch: &mut [u8],
    max_segment: usize,
) -> Result<Option<Plan>, UtilError> {
    let path_info = environ.get("PATH_INFO").unwrap_or(b"");
    if path_info.is_empty() {
        return Ok(None);
    }
    let script_name = environ.get("SCRIPT_NAME").unwrap_or(b"");
    let first_slash = path_info
        .iter()
        .position(|&b| b == b'/')
        .ok_or(UtilError::PathWithoutSlash)?;
    let last_slash = path_info
        .iter()
        .rposition(|&b| b == b'/')
        .unwrap_or(first_slash);
    let first = &path_info[..first_slash];
    let last = &path_info[last_slash + 1..];
    // The elements strictly between the first and the last; there are none when the path
    // has a single `/`.
    let interior = (last_slash > first_slash).then(|| &path_info[first_slash + 1..last_slash]);
    let mut kept = interior
        .into_iter()
        .flat_map(|region| region.split(|&b| b == b'/'))
        .filter(|element| !element.is_empty() && *element != b".");
    let (segment, segment_was_last) = match kept.next() {
        Some(element) => (element, false),
        None => (last, true),
    };
    if segment.len() > max_segment {
        return Err(UtilError::SegmentTooLong { len: segment.len() });
    }

    let needed = script_name.len() + path_info.len() + 2 * segment.len() + 2;
    if needed > scratch.len() {
        return Err(UtilError::ScratchTooSmall {
            needed,
            capacity: scratch.len(),
        });
    }
    let mut out = Cursor {
        buf: scratch,
        len: 0,
    };

    normpath_join(script_name, segment, &mut out)?;
    if out.written().ends_with(b"/") {
        out.len -= 1;
    }
    if segment.is_empty() && !out.written().ends_with(b"/") {
        out.push(b"/")?;
    }
    let script_name_range = 0..out.len;

    out.push(first)?;
    for element in kept {
        out.push(b"/")?;
        out.push(element)?;
    }
    if !segment_was_last {
        out.push(b"/")?;
        out.push(last)?;
    }
    let path_info_range = script_name_range.end..out.len;

    let segment_range = if segment == b"." {
        None
    } else {
        let start = out.len;
        out.push(segment)?;
        Some(start..out.len)
    };
    Ok(Some(Plan {
        script_name: script_name_range,
        path_info: path_info_range,
        segment: segment_range,
    }))
}

/// Write `posixpath.normpath(base + "/" + name)` where `name` holds no `/`, without building
/// the joined string first.
fn normpath_join(base: &[u8], name: &[u8], out: &mut Cursor<'_>) -> Result<(), UtilError> {
    // Byte `i` of the joined string.
    let joined_at = |i: usize| match i.cmp(&base.len()) {
        core::cmp::Ordering::Less => base.get(i).copied(),
        core::cmp::Ordering::Equal => Some(b'/'),
        core::cmp::Ordering::Greater => name.get(i - base.len() - 1).copied(),
    };
    // POSIX keeps exactly two leading slashes; one, or three and more, become one.
    let leading = (0..3).take_while(|&i| joined_at(i) == Some(b'/')).count();
    let initial_slashes = match leading {
        0 => 0,
        2 => 2,
        _ => 1,
    };
    out.push(&b"//"[..initial_slashes])?;
    let comps_start = out.len;

    let components = base
        .split(|&b| b == b'/')
        .chain(core::iter::once(name))
        .filter(|c| !c.is_empty() && *c != b".");
    for component in components {
        let kept = &out.written()[comps_start..];
        let have_any = !kept.is_empty();
        let last_is_dotdot = kept == b".." || kept.ends_with(b"/..");
        if component != b".." || (initial_slashes == 0 && !have_any) || last_is_dotdot {
            if have_any {
                out.push(b"/")?;
            }
            out.push(component)?;
        } else if have_any {
            // `..` removes the previous component.
            out.len = match kept.iter().rposition(|&b| b == b'/') {
                Some(slash) => comps_start + slash,
                None => comps_start,
            };
        }
        // Otherwise `..` at an absolute root is dropped.
    }
    if out.len == 0 {
        out.push(b".")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::EnvironBuf;

    fn normpath(base: &str, name: &str) -> heapless::String<64> {
        let mut buf = [0u8; 64];
        let mut out = Cursor {
            buf: &mut buf,
            len: 0,
        };
        normpath_join(base.as_bytes(), name.as_bytes(), &mut out).unwrap();
        let mut s = heapless::String::new();
        s.push_str(core::str::from_utf8(out.written()).unwrap())
            .unwrap();
        s
    }

    #[test]
    fn normpath_matches_posixpath() {
        assert_eq!(normpath("", "x"), "/x");
        assert_eq!(normpath("/", "x"), "//x");
        assert_eq!(normpath("//", "x"), "/x");
        assert_eq!(normpath("a", ".."), ".");
        assert_eq!(normpath("a/b/../..", ".."), "..");
        assert_eq!(normpath("../a", ".."), "..");
        assert_eq!(normpath("..", ".."), "../..");
        assert_eq!(normpath("/..", ".."), "/");
        assert_eq!(normpath("//a", ".."), "//");
        assert_eq!(normpath("/a/./b//", ""), "/a/b");
    }

    fn shifted(
        sn: Option<&str>,
        pi: Option<&str>,
    ) -> (
        Result<Option<Segment>, UtilError>,
        [Option<heapless::String<32>>; 2],
    ) {
        let mut buf = EnvironBuf::<256, 8>::new();
        let mut env = buf.environ();
        if let Some(sn) = sn {
            env.set("SCRIPT_NAME", sn).unwrap();
        }
        if let Some(pi) = pi {
            env.set("PATH_INFO", pi).unwrap();
        }
        let result = shift_path_info(&mut env);
        let read = |k| {
            env.get_str(k)
                .map(|v| heapless::String::try_from(v).unwrap())
        };
        (result, [read("SCRIPT_NAME"), read("PATH_INFO")])
    }

    #[test]
    fn first_element_is_never_shifted() {
        let (r, [sn, pi]) = shifted(Some(""), Some("a/b/c"));
        assert_eq!(r.unwrap().unwrap(), "b");
        assert_eq!(
            (sn.unwrap(), pi.unwrap()),
            ("/b".try_into().unwrap(), "a/c".try_into().unwrap())
        );
    }

    #[test]
    fn errors_and_empty_paths_change_nothing() {
        let (r, [sn, pi]) = shifted(None, None);
        assert_eq!(r, Ok(None));
        assert_eq!((sn, pi), (None, None));
        let (r, [sn, pi]) = shifted(None, Some("abc"));
        assert_eq!(r, Err(UtilError::PathWithoutSlash));
        assert_eq!(sn, None);
        assert_eq!(pi.unwrap(), "abc");
    }

    #[test]
    fn small_scratch_is_an_error_not_a_panic() {
        let mut buf = EnvironBuf::<256, 8>::new();
        let mut env = buf.environ();
        env.set("SCRIPT_NAME", "/app").unwrap();
        env.set("PATH_INFO", "/abc/def").unwrap();
        let mut scratch = [0u8; 8];
        assert_eq!(
            shift_path_info_in(&mut env, &mut scratch),
            Err(UtilError::ScratchTooSmall {
                needed: 20,
                capacity: 8
            })
        );
        assert_eq!(env.get("SCRIPT_NAME"), Some(&b"/app"[..]));
        assert_eq!(env.get("PATH_INFO"), Some(&b"/abc/def"[..]));
        let mut scratch = [0u8; 20];
        assert_eq!(
            shift_path_info_in(&mut env, &mut scratch),
            Ok(Some(&b"abc"[..]))
        );
    }

    #[test]
    fn long_segments_are_refused_before_any_change() {
        let mut buf = EnvironBuf::<1024, 8>::new();
        let mut env = buf.environ();
        let mut path = [b'x'; 300];
        path[0] = b'/';
        env.set("PATH_INFO", path).unwrap();
        assert_eq!(
            shift_path_info(&mut env),
            Err(UtilError::SegmentTooLong { len: 299 })
        );
        assert!(!env.contains("SCRIPT_NAME"));
        let mut scratch = [0u8; 900];
        let segment = shift_path_info_in(&mut env, &mut scratch).unwrap().unwrap();
        assert_eq!(segment.len(), 299);
    }

    #[test]
    fn full_environ_is_an_error_and_changes_nothing() {
        let mut buf = EnvironBuf::<24, 8>::new();
        let mut env = buf.environ();
        env.set("PATH_INFO", "/abcdefghijk").unwrap();
        assert!(matches!(
            shift_path_info(&mut env),
            Err(UtilError::Environ(_))
        ));
        assert_eq!(env.get("PATH_INFO"), Some(&b"/abcdefghijk"[..]));
        assert!(!env.contains("SCRIPT_NAME"));
    }
}
