//! The Application interface: PEP 3333 in Rust.
//!
//! | PEP 3333 / wsgiref | here |
//! |---|---|
//! | `app(environ, start_response)` | [`Application::call`]; any `Fn(&mut Environ, &mut StartResponse) -> Result<B, AppError>` is one |
//! | `start_response(status, headers)` | [`StartResponse::start`] |
//! | `start_response(status, headers, exc_info)` | [`StartResponse::start_with_exc_info`] |
//! | the legacy `write` it returns | [`Write`] (also [`StartResponse::write`]) |
//! | the iterable body, `len(result)`, `result.close()` | [`Body::next_chunk`], [`Body::length`], [`Body::close`] |
//! | raising an exception | returning `Err(`[`AppError`]`)` |
//!
//! The body is pulled one chunk at a time, so a large response never has to sit in memory; a
//! body that knows its exact length gets a `Content-Length` (and so keeps HTTP/1.1 connections
//! alive without chunking). The handler calls [`Body::close`] exactly once, on success, on
//! errors and on client disconnects alike.
//!
//! ```
//! use wsgiref_core::app::{app_fn, StartResponse};
//! use wsgiref_core::{AppError, Environ};
//!
//! let hello = app_fn(|_environ: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
//!     start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
//!     Ok::<_, AppError>(&b"Hello, world!"[..])
//! });
//! # let _ = hello;
//! ```

use core::fmt;

use crate::bytes::chars_at_least;
use crate::environ::Environ;
use crate::error::AppError;
use crate::headers::HeaderError;

/// A WSGI-style application. See the [module docs](self).
///
/// `call` takes `&self`, so one application value serves many requests (and, when it is
/// `Sync`, many threads). Functions and closures implement it; a closure passed straight to a
/// generic function such as `make_server` needs its parameter types written out
/// (`|environ: &mut Environ<'_>, start_response: &mut StartResponse<'_>|`), or it fails with
/// E0282 ("type annotations needed") or "implementation of `FnOnce` is not general enough":
/// Rust infers a closure's parameter types only from an
/// `Fn` bound on the parameter it is passed to, and `make_server` takes any `Application`.
/// Wrap it in [`app_fn`], which has that bound, and the types are inferred.
///
/// The body may be any [`IntoBody`]: every [`Body`], and with `alloc` the owned buffers
/// `Vec<u8>`, `String`, `Box<[u8]>`, `Box<str>`, `Cow<'static, [u8]>` and `Cow<'static, str>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a wsgiref application",
    label = "not an `Application`",
    note = "an application is a function or closure `(&mut Environ<'_>, &mut StartResponse<'_>) -> Result<B, AppError>` where `B` is a body (`&'static [u8]`, `&'static str`, `String`, `Vec<u8>`, `Once`, `Chunks`, `Empty`...), or a type implementing `Application`",
    note = "an unannotated closure: wrap it in `wsgiref::app::app_fn(|environ, start_response| ...)`, or write its parameter types"
)]
pub trait Application {
    /// The response body type.
    type Body: Body;

    /// Handle one request: inspect `environ`, call `start_response`, return the body.
    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError>;
}

impl<F, B> Application for F
where
    F: Fn(&mut Environ<'_>, &mut StartResponse<'_>) -> Result<B, AppError>,
    B: IntoBody,
{
    type Body = B::Body;

    #[inline]
    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<B::Body, AppError> {
        self(environ, start_response).map(IntoBody::into_body)
    }
}

/// Turn a closure into an [`Application`], fixing its parameter types so that Rust infers
/// them, and lifetimes that work for every request: an unannotated closure passed straight to
/// `make_server` fails with E0282 ("type annotations needed"), the same closure inside
/// `app_fn` compiles.
///
/// ```
/// use wsgiref_core::app::app_fn;
/// use wsgiref_core::AppError;
///
/// let hello = app_fn(|_environ, start_response| {
///     start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
///     Ok::<_, AppError>("Hello, world!")
/// });
/// # let _ = hello;
/// ```
pub fn app_fn<F, B>(f: F) -> F
where
    F: Fn(&mut Environ<'_>, &mut StartResponse<'_>) -> Result<B, AppError>,
    B: IntoBody,
{
    f
}

/// What an application function may return as its body: every [`Body`], and (feature `alloc`)
/// the owned buffers `Vec<u8>`, `String`, `Box<[u8]>`, `Box<str>`, `Cow<'static, [u8]>` and
/// `Cow<'static, str>`, each sent as one chunk with a `Content-Length` (Python's one-element
/// list).
///
/// Why the owned buffers are not [`Body`] themselves: [`Body::next_chunk`] lends a chunk out
/// of `&mut self` and must answer `None` on the next call, so the body has to remember that
/// it has been sent. `&'static [u8]` remembers by becoming empty; an owned buffer cannot
/// become empty without freeing the bytes it just lent out, and has nowhere else to keep the
/// mark (the core forbids `unsafe`). [`Once`] is that buffer plus the mark, so each of these
/// converts into a `Once` of itself when the application returns it. Where a [`Body`] is
/// named directly (`Box<dyn Body>`, [`Either`]), wrap the buffer in [`Once::new`] yourself.
///
/// ```
/// use wsgiref_core::app::{app_fn, Body, IntoBody};
/// use wsgiref_core::AppError;
///
/// # #[cfg(feature = "alloc")] {
/// let mut body = String::from("hi").into_body();
/// assert_eq!(body.length(), Some(2));
/// assert_eq!(body.next_chunk().unwrap(), Some(&b"hi"[..]));
/// assert_eq!(body.next_chunk().unwrap(), None);
///
/// // An application returning a `Vec<u8>`.
/// let app = app_fn(|_environ, start_response| {
///     start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
///     Ok::<_, AppError>(b"built at run time".to_vec())
/// });
/// # let _ = app;
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a response body",
    label = "not a `Body`",
    note = "a body is `&'static [u8]`, `&'static str`, `Vec<u8>`, `String`, `Box<[u8]>`, `Cow<'static, [u8]>`, `Cow<'static, str>` (these with `alloc`), or one of `wsgiref::app::{{Once, Chunks, Empty, Either}}`",
    note = "an owned buffer of another type: `Once::new(buffer)` (any `AsRef<[u8]>`); several chunks: `Chunks::new(iterator)`"
)]
pub trait IntoBody {
    /// The body it becomes.
    type Body: Body;

    /// Convert; called once on the value the application returned.
    fn into_body(self) -> Self::Body;
}

impl<B: Body> IntoBody for B {
    type Body = B;

    #[inline]
    fn into_body(self) -> B {
        self
    }
}

#[cfg(feature = "alloc")]
mod owned {
    use alloc::borrow::Cow;
    use alloc::boxed::Box;
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::{IntoBody, Once};

    /// One `IntoBody` impl per owned buffer type: each becomes a `Once` of itself.
    macro_rules! once_body {
        ($($t:ty),*) => {$(
            impl IntoBody for $t {
                type Body = Once<$t>;

                #[inline]
                fn into_body(self) -> Once<$t> {
                    Once::new(self)
                }
            }
        )*};
    }

    once_body!(Vec<u8>, String, Box<[u8]>, Cow<'static, [u8]>);

    /// `Box<str>` is not `AsRef<[u8]>`; its bytes are the same allocation as a `Box<[u8]>`.
    impl IntoBody for Box<str> {
        type Body = Once<Box<[u8]>>;

        #[inline]
        fn into_body(self) -> Self::Body {
            Once::new(self.into_boxed_bytes())
        }
    }

    /// `Cow<str>` is not `AsRef<[u8]>`, so it travels as the `Cow<[u8]>` of its bytes.
    impl IntoBody for Cow<'static, str> {
        type Body = Once<Cow<'static, [u8]>>;

        #[inline]
        fn into_body(self) -> Self::Body {
            Once::new(match self {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            })
        }
    }
}

/// A response body, pulled one chunk at a time.
///
/// This is the iterable of PEP 3333. Implementations exist for `&'static [u8]`,
/// `&'static str`, [`Empty`], [`Once`] (one owned buffer), [`Chunks`] (any iterator of
/// byte buffers), [`Either`] (two body types, for routing without allocation),
/// [`FileWrapper`](crate::util::FileWrapper) and, with `alloc`, `Box<dyn Body>`. An
/// application function may also return `Vec<u8>`, `String`, `Box<[u8]>` or a `Cow` of
/// them: [`IntoBody`] turns those into a `Once` (and says why they are not `Body` directly).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a response body",
    label = "not a `Body`",
    note = "bodies: `&'static [u8]`, `&'static str`, `wsgiref::app::{{Once, Chunks, Empty, Either}}`, `FileWrapper`, `Box<dyn Body>`",
    note = "an owned buffer (`Vec<u8>`, `String`...): `Once::new(buffer)`; an application function may return it as it is"
)]
pub trait Body {
    /// The next chunk, `Ok(None)` at the end. Empty chunks are allowed and skipped.
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError>;

    /// The exact number of bytes the remaining chunks hold, if known. The handler then sends
    /// `Content-Length` (Python only knows this for a one-element list).
    fn length(&self) -> Option<u64> {
        None
    }

    /// Release resources. The handler calls it exactly once, whatever happened.
    fn close(&mut self) {}

    /// The region of an open file that the remaining body is, for zero-copy transmission
    /// (the seed's `wsgi.file_wrapper` + `BaseHandler.sendfile`). `None` (the default): the
    /// body is only readable through [`next_chunk`](Self::next_chunk).
    ///
    /// A driver that can send files (the std server, with `sendfile(2)` on Linux) recognises
    /// the file by downcasting [`FileRegion::file`]; any other driver ignores this and reads
    /// the chunks, so a body that returns a region must still produce the same bytes through
    /// `next_chunk`, and its [`length`](Self::length) must be the region's length.
    fn file_region(&self) -> Option<FileRegion<'_>> {
        None
    }
}

/// Part of an open file: what [`Body::file_region`] offers a driver that can transmit files
/// without copying them through user space.
///
/// The core never touches the file: `file` is the platform's file object (a
/// `std::fs::File` for the std server) as `Any`, so a driver can recognise it by downcasting
/// and no raw descriptor crosses the API.
#[derive(Clone, Copy)]
pub struct FileRegion<'a> {
    /// The open file.
    pub file: &'a dyn core::any::Any,
    /// Where the region starts, in bytes from the start of the file.
    pub offset: u64,
    /// How many bytes the region holds.
    pub len: u64,
}

impl core::fmt::Debug for FileRegion<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileRegion")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A sink that can transmit a [`FileRegion`] itself, for the handler to use in place of
/// reading the body (the seed's `BaseHandler.sendfile` hook). Drivers that have one answer
/// through [`Session::process_with_files`](crate::handler::Session::process_with_files).
pub trait FileSink {
    /// Send `region` after everything written to this sink so far (the response head).
    ///
    /// `Some(Ok(n))`: `n` bytes of the region went out (all of them, unless the file turned
    /// out shorter). `Some(Err(kind))`: the transport failed. `None`: this file cannot be sent
    /// this way (an unknown file type, an unsupported platform); the handler then reads the
    /// body as usual, as CPython does when `sendfile()` returns false.
    fn send_file(&mut self, region: &FileRegion<'_>)
        -> Option<Result<u64, embedded_io::ErrorKind>>;
}

impl<T: FileSink + ?Sized> FileSink for &mut T {
    fn send_file(
        &mut self,
        region: &FileRegion<'_>,
    ) -> Option<Result<u64, embedded_io::ErrorKind>> {
        (**self).send_file(region)
    }
}

/// The handler's view of a [`FileSink`] (a plain function, so sinks without the capability
/// pay nothing for it).
pub(crate) type SendFile<W> =
    fn(&mut W, &FileRegion<'_>) -> Option<Result<u64, embedded_io::ErrorKind>>;

/// [`SendFile`] for a handler whose sink is `&mut W` (how the sans-IO session holds its
/// caller's sink); the inner lifetime stays generic, so one function serves every call.
pub(crate) type SendFileRef<W> =
    fn(&mut &mut W, &FileRegion<'_>) -> Option<Result<u64, embedded_io::ErrorKind>>;

/// A [`SendFileRef`] for any [`FileSink`].
pub(crate) fn send_file_via<W: FileSink>(
    sink: &mut &mut W,
    region: &FileRegion<'_>,
) -> Option<Result<u64, embedded_io::ErrorKind>> {
    (**sink).send_file(region)
}

impl Body for &'static [u8] {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.is_empty() {
            return Ok(None);
        }
        Ok(Some(core::mem::take(self)))
    }

    fn length(&self) -> Option<u64> {
        Some(self.len() as u64)
    }
}

impl Body for &'static str {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.is_empty() {
            return Ok(None);
        }
        Ok(Some(core::mem::take(self).as_bytes()))
    }

    fn length(&self) -> Option<u64> {
        Some(self.len() as u64)
    }
}

/// An empty body (Python's `[]`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Empty;

impl Body for Empty {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        Ok(None)
    }

    fn length(&self) -> Option<u64> {
        Some(0)
    }
}

/// A body of one owned buffer: a `heapless::String`, a `heapless::Vec<u8, N>`, a `Vec<u8>`, a
/// `String`, an array... (Python's one-element list, so it gets a `Content-Length`).
///
/// ```
/// use wsgiref_core::app::{Body, Once};
/// let mut text = heapless::String::<32>::new();
/// text.push_str("hi").unwrap();
/// let mut body = Once::new(text);
/// assert_eq!(body.length(), Some(2));
/// assert_eq!(body.next_chunk().unwrap(), Some(&b"hi"[..]));
/// assert_eq!(body.next_chunk().unwrap(), None);
/// ```
#[derive(Clone, Debug)]
pub struct Once<T> {
    data: T,
    done: bool,
}

impl<T: AsRef<[u8]>> Once<T> {
    /// Wrap one buffer.
    pub fn new(data: T) -> Self {
        Once { data, done: false }
    }
}

impl<T: AsRef<[u8]>> Body for Once<T> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        Ok(Some(self.data.as_ref()))
    }

    fn length(&self) -> Option<u64> {
        Some(if self.done {
            0
        } else {
            self.data.as_ref().len() as u64
        })
    }
}

/// A body from an iterator of byte buffers; its length is unknown (Python's generator, or a
/// list of several chunks).
///
/// ```
/// use wsgiref_core::app::{Body, Chunks};
/// let mut body = Chunks::new(["a", "", "bc"].into_iter());
/// assert_eq!(body.length(), None);
/// assert_eq!(body.next_chunk().unwrap(), Some(&b"a"[..]));
/// ```
#[derive(Clone, Debug)]
pub struct Chunks<I: Iterator> {
    iter: I,
    current: Option<I::Item>,
}

impl<I> Chunks<I>
where
    I: Iterator,
    I::Item: AsRef<[u8]>,
{
    /// Wrap an iterator.
    pub fn new(iter: I) -> Self {
        Chunks {
            iter,
            current: None,
        }
    }
}

impl<I> Body for Chunks<I>
where
    I: Iterator,
    I::Item: AsRef<[u8]>,
{
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        self.current = self.iter.next();
        Ok(self.current.as_ref().map(|c| c.as_ref()))
    }
}

/// One of two body types: lets a router return different bodies without allocating.
#[derive(Clone, Debug)]
pub enum Either<A, B> {
    /// The first kind.
    Left(A),
    /// The second kind.
    Right(B),
}

impl<A: Body, B: Body> Body for Either<A, B> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        match self {
            Either::Left(a) => a.next_chunk(),
            Either::Right(b) => b.next_chunk(),
        }
    }

    fn length(&self) -> Option<u64> {
        match self {
            Either::Left(a) => a.length(),
            Either::Right(b) => b.length(),
        }
    }

    fn close(&mut self) {
        match self {
            Either::Left(a) => a.close(),
            Either::Right(b) => b.close(),
        }
    }

    fn file_region(&self) -> Option<FileRegion<'_>> {
        match self {
            Either::Left(a) => a.file_region(),
            Either::Right(b) => b.file_region(),
        }
    }
}

#[cfg(feature = "alloc")]
impl<B: Body + ?Sized> Body for alloc::boxed::Box<B> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        (**self).next_chunk()
    }

    fn length(&self) -> Option<u64> {
        (**self).length()
    }

    fn close(&mut self) {
        (**self).close()
    }

    fn file_region(&self) -> Option<FileRegion<'_>> {
        (**self).file_region()
    }
}

/// Why `start_response` refused a call. Messages match CPython's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StartResponseError {
    /// A second call without `exc_info`: "Headers already set!".
    HeadersAlreadySet,
    /// "Status must be at least 4 characters".
    StatusTooShort,
    /// "Status message must begin w/3-digit code".
    StatusNoCode,
    /// "Status message must have a space after code".
    StatusNoSpace,
    /// "Control characters are not allowed in status" (newest CPython).
    StatusControlCharacter,
    /// A hop-by-hop header (`Connection`, `Transfer-Encoding`...), which only the server may
    /// set: "Hop-by-hop header, 'name: value', not allowed". Holds `name: value`, truncated to
    /// fit.
    HopByHop(heapless::String<96>),
    /// A header name or value was refused, or the response head (status line, automatic
    /// headers and the application's) does not fit the handler's output buffer.
    Header(HeaderError),
    /// The [validator](crate::validate) found the call broke the contract.
    Validation(crate::validate::ValidationError),
}

impl fmt::Display for StartResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartResponseError::HeadersAlreadySet => f.write_str("Headers already set!"),
            StartResponseError::StatusTooShort => {
                f.write_str("Status must be at least 4 characters")
            }
            StartResponseError::StatusNoCode => {
                f.write_str("Status message must begin w/3-digit code")
            }
            StartResponseError::StatusNoSpace => {
                f.write_str("Status message must have a space after code")
            }
            StartResponseError::StatusControlCharacter => {
                f.write_str("Control characters are not allowed in status")
            }
            StartResponseError::HopByHop(h) => write!(f, "Hop-by-hop header, '{h}', not allowed"),
            StartResponseError::Header(e) => fmt::Display::fmt(e, f),
            StartResponseError::Validation(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for StartResponseError {}

impl From<HeaderError> for StartResponseError {
    fn from(e: HeaderError) -> Self {
        StartResponseError::Header(e)
    }
}

/// Check a status line the way CPython's `start_response` does (newest CPython: control
/// characters first, then length, digits, space).
///
/// ```
/// use wsgiref_core::app::{check_status, StartResponseError};
/// assert_eq!(check_status("200 OK"), Ok(200));
/// assert_eq!(check_status("200"), Err(StartResponseError::StatusTooShort));
/// assert_eq!(check_status("20X OK"), Err(StartResponseError::StatusNoCode));
/// assert_eq!(check_status("200OK"), Err(StartResponseError::StatusNoSpace));
/// ```
pub fn check_status(status: &str) -> Result<u16, StartResponseError> {
    let b = status.as_bytes();
    let is_ctl = |&c: &u8| c < 0x20 || c == 0x7f;
    // The usual status, three ASCII digits and a space (so at least four characters), needs
    // only its reason phrase looked at for control characters: 70 instructions a response
    // fewer than checking every byte and counting characters first (`bench/instructions.sh`).
    if let [c0 @ b'0'..=b'9', c1 @ b'0'..=b'9', c2 @ b'0'..=b'9', b' ', ref reason @ ..] = *b {
        if reason.iter().any(is_ctl) {
            return Err(StartResponseError::StatusControlCharacter);
        }
        return Ok(u16::from(c0 - b'0') * 100 + u16::from(c1 - b'0') * 10 + u16::from(c2 - b'0'));
    }
    // Any other status is refused: say why, in CPython's order of checks.
    if b.iter().any(is_ctl) {
        return Err(StartResponseError::StatusControlCharacter);
    }
    // Count at most four chars, on bytes: decoding `chars()` links UTF-8 machinery (hundreds
    // of bytes of flash on a Cortex-M) for a question about four.
    if !chars_at_least(b, 4) {
        return Err(StartResponseError::StatusTooShort);
    }
    if !b[..3].iter().all(u8::is_ascii_digit) {
        return Err(StartResponseError::StatusNoCode);
    }
    Err(StartResponseError::StatusNoSpace)
}

/// The handler side of `start_response`: implemented by handlers (and by middleware such as
/// the validator, which wraps another `StartResponse`).
pub trait Respond {
    /// Record status and headers. `replace` is true for a call with `exc_info` before headers
    /// were sent (it replaces an earlier status and headers); false for a first call.
    fn start_response(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
        exc_info: bool,
    ) -> Result<(), StartResponseError>;

    /// The legacy `write(data)`: send headers if not yet sent, then `data`.
    fn write(&mut self, data: &[u8]) -> Result<(), AppError>;

    /// True once the response head has gone out (or started to).
    fn headers_sent(&self) -> bool;
}

/// The `start_response` callable handed to an application. See the [module docs](self).
pub struct StartResponse<'r> {
    inner: &'r mut dyn Respond,
}

impl<'r> StartResponse<'r> {
    /// Wrap a handler's (or middleware's) [`Respond`] implementation.
    pub fn new(inner: &'r mut dyn Respond) -> Self {
        StartResponse { inner }
    }

    /// `start_response(status, headers)`: set the status (`"200 OK"`) and headers.
    ///
    /// A second call is refused with [`StartResponseError::HeadersAlreadySet`]; so are an
    /// invalid status and hop-by-hop headers. The crate's handlers write the head into their
    /// output buffer here (sent with the first body byte), so a head larger than that buffer
    /// is refused too ([`StartResponseError::Header`] with a capacity error); after any
    /// refusal, returning a body leads to the error page. Returns the legacy [`Write`].
    pub fn start(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
    ) -> Result<Write<'_>, StartResponseError> {
        self.inner.start_response(status, headers, false)?;
        Ok(Write {
            inner: &mut *self.inner,
        })
    }

    /// `start_response(status, headers, exc_info)`: called from an error path with the
    /// error being handled.
    ///
    /// Before any header was sent it replaces the earlier status and headers (the error is
    /// dropped, as CPython drops `exc_info`); after that it "re-raises": `Err(error)` comes
    /// back and the application should return it.
    pub fn start_with_exc_info(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
        error: AppError,
    ) -> Result<Write<'_>, AppError> {
        if self.inner.headers_sent() {
            return Err(error);
        }
        self.inner.start_response(status, headers, true)?;
        Ok(Write {
            inner: &mut *self.inner,
        })
    }

    /// The legacy `write(data)`, without keeping the [`Write`] handle around.
    pub fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.inner.write(data)
    }

    /// True once the response head has been sent.
    pub fn headers_sent(&self) -> bool {
        self.inner.headers_sent()
    }
}

/// The legacy `write` callable that `start_response` returns: unbuffered body output for
/// applications ported from pre-WSGI code. Prefer returning a [`Body`].
pub struct Write<'s> {
    inner: &'s mut dyn Respond,
}

impl Write<'_> {
    /// Send `data` as body bytes (headers first, if not yet sent).
    pub fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.inner.write(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every owned buffer becomes one chunk with its exact length, then the end.
    #[cfg(feature = "alloc")]
    #[test]
    fn owned_buffers_are_bodies_of_known_length() {
        use alloc::borrow::Cow;
        use alloc::boxed::Box;
        use alloc::string::String;
        use alloc::vec::Vec;

        fn check<B: IntoBody>(value: B) {
            let mut body = value.into_body();
            assert_eq!(body.length(), Some(5));
            assert_eq!(body.next_chunk().unwrap(), Some(&b"hello"[..]));
            assert_eq!(body.length(), Some(0));
            assert_eq!(body.next_chunk().unwrap(), None);
        }
        check(Vec::from(&b"hello"[..]));
        check(String::from("hello"));
        check(Box::<[u8]>::from(&b"hello"[..]));
        check(Box::<str>::from("hello"));
        check(Cow::<'static, [u8]>::Borrowed(b"hello"));
        check(Cow::<'static, [u8]>::Owned(b"hello".to_vec()));
        check(Cow::<'static, str>::Borrowed("hello"));
        check(Cow::<'static, str>::Owned(String::from("hello")));
        // Bodies pass through unchanged.
        check(&b"hello"[..]);
    }

    #[test]
    fn status_rules() {
        assert_eq!(check_status("000 x"), Ok(0));
        assert_eq!(check_status("999 x"), Ok(999));
        assert_eq!(
            check_status("200\tOK"),
            Err(StartResponseError::StatusControlCharacter)
        );
        // A control character anywhere, in a status that is valid otherwise or not (CPython
        // checks for them first).
        for bad in [
            "200 O\x01K",
            "200 OK\x7f",
            "200 \n",
            "2\x000 OK",
            "\r",
            "20\t",
        ] {
            assert_eq!(
                check_status(bad),
                Err(StartResponseError::StatusControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(check_status("200 "), Ok(200));
        assert_eq!(check_status("200 \u{e9}"), Ok(200));
        assert_eq!(check_status("2000"), Err(StartResponseError::StatusNoSpace));
        assert_eq!(
            check_status("200\u{e9}"),
            Err(StartResponseError::StatusNoSpace)
        );
        assert_eq!(check_status("20 x"), Err(StartResponseError::StatusNoCode));
        assert_eq!(
            check_status("\u{e9}\u{e9}"),
            Err(StartResponseError::StatusTooShort)
        );
        assert_eq!(check_status("é00 x"), Err(StartResponseError::StatusNoCode));
        assert_eq!(check_status(""), Err(StartResponseError::StatusTooShort));
    }

    #[test]
    fn bodies_report_lengths() {
        let mut b: &'static [u8] = b"abc";
        assert_eq!(b.length(), Some(3));
        assert_eq!(b.next_chunk().unwrap(), Some(&b"abc"[..]));
        assert_eq!(b.next_chunk().unwrap(), None);
        let mut e: Either<Empty, &'static str> = Either::Right("xy");
        assert_eq!(e.length(), Some(2));
        assert_eq!(e.next_chunk().unwrap(), Some(&b"xy"[..]));
    }
}
