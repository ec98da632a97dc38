//! [`Environ`]: the CGI/WSGI variables of one request.
//!
//! PEP 3333 keeps request variables in a dict of "native strings" that really hold bytes
//! (latin-1 decoded). Here that is made honest: every CGI variable's value is a byte string
//! (`&[u8]`), with [`Environ::get_str`] as a `&str` view when the bytes are UTF-8. The `wsgi.*`
//! entries are not strings at all, so they are typed: [`WsgiVars`] for the scalar ones, and the
//! two streams ([`Environ::input`], [`Environ::errors`]) as trait objects.
//!
//! # Memory
//!
//! An `Environ` stores names and values in one arena (see [`crate::storage`]):
//!
//! * [`Environ::fixed`] uses memory the caller owns and never allocates; when it is full,
//!   [`EnvironError::Capacity`] says so and nothing changes;
//! * [`Environ::new`] (feature `alloc`) grows on demand up to [`Environ::DEFAULT_BYTE_LIMIT`].
//!
//! # A server's per-request environ is written out on demand
//!
//! The environ the sans-IO [`Session`](crate::handler::Session) (and so the std server's
//! event loop, the C API and the async driver) hands an application starts out *deferred*:
//! its variables stay where the wire machine left them (one small internal trait, `Source`,
//! is all the environ knows of that machine: it imports nothing from `proto` or `gateway`).
//! For HTTP/1 that is the parsed request head (which stays put in the receive buffer for
//! the whole exchange, the body buffered behind it) and the server's base. [`Environ::get`]
//! answers from there; the first operation that needs the variables as a table (iterating
//! them, counting them, changing one, or a value that must be joined or `%`-decoded) writes
//! them into the arena, in the order CPython's `simple_server` gives them. An application
//! that reads a few variables, or none, never pays for writing out twenty: that copy was most
//! of the core's per-request work (`bench/instructions.sh`, BENCHMARKS.md). The blocking
//! [`Connection`](crate::handler::Connection) writes the environ out at once, since it reads
//! the body into the buffer the head occupied.
//!
//! Because that write-out can happen behind a shared reference (`environ.iter()` on a
//! `&Environ`), `Environ` is invariant in its lifetime: use [`Environ::shorten`] where an
//! `Environ<'static>` must pass for a shorter-lived one. The session checks the storage
//! before the application runs (every header field counted as its own variable), so a
//! write-out never runs out of room; a request that might not fit is refused with 431.
//!
//! # Example
//!
//! ```
//! use wsgiref_core::environ::{Environ, EnvironBuf};
//!
//! let mut buf = EnvironBuf::<512, 16>::new();
//! let mut environ = buf.environ();
//! environ.set("REQUEST_METHOD", "GET")?;
//! environ.set("PATH_INFO", b"/caf\xe9")?; // latin-1 bytes are fine
//! assert_eq!(environ.get_str("REQUEST_METHOD"), Some("GET"));
//! assert_eq!(environ.get("PATH_INFO"), Some(&b"/caf\xe9"[..]));
//! assert_eq!(environ.get_str("PATH_INFO"), None); // not UTF-8
//! # Ok::<(), wsgiref_core::environ::EnvironError>(())
//! ```

use core::fmt;

use crate::storage::{name_bit, CapacityError, Slot, Table};
use crate::stream::{ErrorStream, Errors, Input, InputStream};

mod vars;
use vars::Vars;
pub(crate) use vars::{Deferred, Lookup, Source};

/// The URL scheme of a request, the typed `wsgi.url_scheme`.
///
/// Only `http` and `https` exist: they are the two values the validator accepts, and the only
/// ones [`guess_scheme`](crate::util::guess_scheme) can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UrlScheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTP over TLS.
    Https,
}

impl UrlScheme {
    /// The scheme as it appears in a URL: `"http"` or `"https"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            UrlScheme::Http => "http",
            UrlScheme::Https => "https",
        }
    }

    /// The port a URL of this scheme implies when it names none (`"80"` or `"443"`).
    pub const fn default_port(self) -> &'static str {
        match self {
            UrlScheme::Http => "80",
            UrlScheme::Https => "443",
        }
    }
}

impl fmt::Display for UrlScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scalar `wsgi.*` entries of an environ.
///
/// A server sets all of them at once, so they live together: an environ either has the whole
/// group (`Some`) or none of it (`None`, as in an environ a test builds by hand before
/// [`setup_testing_defaults`](crate::util::setup_testing_defaults)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WsgiVars {
    /// `wsgi.version`: always `(1, 0)` for PEP 3333.
    pub version: (u8, u8),
    /// `wsgi.url_scheme`.
    pub url_scheme: UrlScheme,
    /// `wsgi.multithread`: other threads may run the application at the same time.
    pub multithread: bool,
    /// `wsgi.multiprocess`: other processes may run the application at the same time.
    pub multiprocess: bool,
    /// `wsgi.run_once`: the process will handle only this request (CGI).
    pub run_once: bool,
    /// `wsgi.file_wrapper`: the server turns a [`FileWrapper`](crate::util::FileWrapper) body
    /// into an efficient transfer (sendfile) when it can.
    pub file_wrapper: bool,
}

impl WsgiVars {
    /// The values [`setup_testing_defaults`](crate::util::setup_testing_defaults) uses:
    /// version 1.0, the given scheme, all flags false, a file wrapper available (CPython's
    /// sets no `wsgi.file_wrapper`; `setup_testing_defaults` says why this one does).
    pub const fn testing(url_scheme: UrlScheme) -> Self {
        WsgiVars {
            version: (1, 0),
            url_scheme,
            multithread: false,
            multiprocess: false,
            run_once: false,
            file_wrapper: true,
        }
    }
}

/// Why an environ operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnvironError {
    /// The environ's storage is full; the environ is unchanged.
    Capacity(CapacityError),
    /// `wsgi.*` names are typed fields ([`WsgiVars`], the streams), not string variables.
    ReservedKey,
    /// A key was empty or contained `=` or NUL, which no CGI variable name can.
    InvalidKey,
}

impl From<CapacityError> for EnvironError {
    fn from(e: CapacityError) -> Self {
        EnvironError::Capacity(e)
    }
}

impl fmt::Display for EnvironError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvironError::Capacity(e) => write!(f, "environ {e}"),
            EnvironError::ReservedKey => {
                f.write_str("wsgi.* keys are typed fields, not string variables")
            }
            EnvironError::InvalidKey => f.write_str("environ key is empty or contains '=' or NUL"),
        }
    }
}

impl core::error::Error for EnvironError {}

/// A variable name the crate sets or reads on every request (`REQUEST_METHOD`, `HTTPS`, ...),
/// with its Bloom-filter bits (`storage::name_bit`) computed at compile time: declare one as
/// a `const` and the per-request lookups skip hashing the name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KnownKey {
    name: &'static str,
    bits: u64,
}

impl KnownKey {
    pub(crate) const fn new(name: &'static str) -> KnownKey {
        KnownKey {
            name,
            bits: name_bit(name.as_bytes()),
        }
    }

    /// This key's value in `table`, if it holds one (the lookup skips hashing the name).
    #[inline]
    pub(crate) fn value_in<'t>(self, table: &'t Table<'_>) -> Option<&'t [u8]> {
        table
            .find_bits(self.name.as_bytes(), self.bits)
            .map(|i| table.value(i))
    }
}

/// The variable a handler sets by default for an origin server (and the server's view answers).
pub(crate) const SERVER_SOFTWARE: KnownKey = KnownKey::new("SERVER_SOFTWARE");

/// The variable the URL scheme is guessed from (`util::guess_scheme`, a server's
/// `wsgi.url_scheme`).
pub(crate) const HTTPS: KnownKey = KnownKey::new("HTTPS");

/// The CGI/WSGI variables of one request: PEP 3333's `environ` dict.
///
/// See the [module docs](self) for the memory model and for the deferred environ a server
/// hands its application. Keys are case-sensitive `&str`; values are bytes. Insertion order
/// is kept, and replacing a value keeps the key's position, as a Python dict does.
pub struct Environ<'a> {
    vars: Vars<'a>,
    /// The typed `wsgi.*` scalars; `None` until a server or
    /// [`setup_testing_defaults`](crate::util::setup_testing_defaults) sets them.
    pub wsgi: Option<WsgiVars>,
    input: Option<&'a dyn InputStream>,
    errors: Option<&'a dyn ErrorStream>,
}

impl fmt::Debug for Environ<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Vars<'t, 'a>(&'t Table<'a>);
        impl fmt::Debug for Vars<'_, '_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(
                        self.0
                            .iter()
                            .map(|(k, v)| (crate::bytes::Latin1(k), crate::bytes::Latin1(v))),
                    )
                    .finish()
            }
        }
        f.debug_struct("Environ")
            .field("vars", &Vars(self.vars.table()))
            .field("wsgi", &self.wsgi)
            .field("input", &self.input.is_some())
            .field("errors", &self.errors.is_some())
            .finish()
    }
}

fn check_key(key: &str) -> Result<(), EnvironError> {
    if key.starts_with("wsgi.") {
        return Err(EnvironError::ReservedKey);
    }
    if key.is_empty() || key.bytes().any(|b| b == b'=' || b == 0) {
        return Err(EnvironError::InvalidKey);
    }
    Ok(())
}

impl<'a> Environ<'a> {
    /// Byte limit of [`Environ::new`]: generous for any real request, finite for a hostile one.
    pub const DEFAULT_BYTE_LIMIT: usize = 1 << 20;
    /// Entry limit of [`Environ::new`].
    pub const DEFAULT_ENTRY_LIMIT: usize = 4096;

    /// An empty environ over caller-owned memory; it never allocates.
    ///
    /// `bytes` holds every key and value; `slots` holds one [`Slot`] per variable. A typical
    /// HTTP request with ten headers needs about 600 bytes and 25 slots.
    pub fn fixed(bytes: &'a mut [u8], slots: &'a mut [Slot]) -> Self {
        Environ {
            vars: Vars::ready(Table::fixed(bytes, slots)),
            wsgi: None,
            input: None,
            errors: None,
        }
    }

    /// An empty, growable environ (feature `alloc`), limited to
    /// [`DEFAULT_BYTE_LIMIT`](Self::DEFAULT_BYTE_LIMIT) bytes and
    /// [`DEFAULT_ENTRY_LIMIT`](Self::DEFAULT_ENTRY_LIMIT) entries.
    #[cfg(feature = "alloc")]
    pub fn new() -> Self {
        Self::with_limits(Self::DEFAULT_BYTE_LIMIT, Self::DEFAULT_ENTRY_LIMIT)
    }

    /// An empty, growable environ that never holds more than `max_bytes` of keys and values or
    /// more than `max_entries` variables (feature `alloc`).
    #[cfg(feature = "alloc")]
    pub fn with_limits(max_bytes: usize, max_entries: usize) -> Self {
        Environ {
            vars: Vars::ready(Table::growable(max_bytes, max_entries)),
            wsgi: None,
            input: None,
            errors: None,
        }
    }

    /// A session's per-request environ whose variables stay in the request head until
    /// something needs them written out (see [`vars`]).
    pub(crate) fn deferred<S: Source<'a>>(deferred: &'a mut Deferred<'a, S>) -> Self {
        Environ {
            vars: Vars::deferred(deferred),
            wsgi: None,
            input: None,
            errors: None,
        }
    }

    /// Copy `base`'s variables into this (empty) environ, in one move: the first half of
    /// [`fill_from`](Self::fill_from), on its own so that the per-request path does not link
    /// the merge loop an empty environ never needs (216 B of Cortex-M flash).
    pub(crate) fn copy_base(&mut self, base: &Table<'_>) -> Result<(), CapacityError> {
        self.vars.table_mut().copy_from(base)
    }

    /// The table behind a server's base environ (one built with `set`), without writing
    /// anything out: `None` only for a server's per-request environ not yet written out.
    ///
    /// The per-request path reads its base through this rather than `get`, so that firmware
    /// whose application never needs its environ written out does not link the code that
    /// writes it.
    pub(crate) fn ready_table(&self) -> Option<&Table<'a>> {
        self.vars.ready_table()
    }

    /// The same environ, typed with a shorter lifetime: how an `Environ<'static>` (say, from
    /// [`Environ::new`]) is handed to something that borrows memory for less long, such as a
    /// handler over stack buffers.
    ///
    /// Needed because `Environ` is invariant in its lifetime: a server's per-request environ
    /// writes its variables on first use, through a shared reference, which rules out the
    /// automatic shortening a covariant type gets.
    ///
    /// ```
    /// use wsgiref_core::environ::{Environ, EnvironBuf};
    ///
    /// // Wants the environ and a buffer of one lifetime, as handlers over caller memory do.
    /// fn takes_short<'s>(environ: Environ<'s>, scratch: &'s [u8]) -> usize {
    ///     environ.len() + scratch.len()
    /// }
    /// let mut buf = EnvironBuf::<64, 4>::new();
    /// let mut environ = buf.environ();
    /// environ.set("A", "1")?;
    /// let local = [0u8; 4]; // lives shorter than `buf`
    /// assert_eq!(takes_short(environ.shorten(), &local), 5);
    /// # Ok::<(), wsgiref_core::environ::EnvironError>(())
    /// ```
    pub fn shorten<'b>(self) -> Environ<'b>
    where
        'a: 'b,
    {
        Environ {
            vars: self.vars.shorten(),
            wsgi: self.wsgi,
            input: self.input,
            errors: self.errors,
        }
    }

    /// Number of CGI variables (the typed `wsgi.*` entries are not counted).
    pub fn len(&self) -> usize {
        self.vars.table().len()
    }

    /// True when there are no CGI variables.
    pub fn is_empty(&self) -> bool {
        self.vars.table().len() == 0
    }

    /// Bytes of keys and values stored: what a fixed arena must at least hold.
    pub fn bytes_used(&self) -> usize {
        self.vars.table().bytes_used()
    }

    fn index(&self, key: &str) -> Option<usize> {
        self.vars.table().find(key.as_bytes())
    }

    /// The value of `key`, or `None` when it is absent.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        if let Lookup::Found(value) = self.vars.lookup(key.as_bytes()) {
            return value;
        }
        self.index(key).map(|i| self.vars.table().value(i))
    }

    /// The value of `key` as `&str`: `None` when it is absent **or** not valid UTF-8 (use
    /// [`get`](Self::get) for the raw bytes).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// True when `key` is present (even with an empty value).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Set `key` to `value`, replacing an existing value in place (its position is kept) or
    /// appending a new variable.
    ///
    /// Fails without changing anything when the storage is full, for a `wsgi.*` key (those are
    /// typed fields), or for a key that is empty or contains `=` or NUL.
    pub fn set(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), EnvironError> {
        check_key(key)?;
        let value = value.as_ref();
        match self.index(key) {
            Some(i) => self.vars.table_mut().replace_value(i, value)?,
            None => {
                self.vars.table_mut().push(key.as_bytes(), value)?;
            }
        }
        Ok(())
    }

    /// [`set`](Self::set) for a key the crate itself names (a CGI variable such as
    /// `REQUEST_METHOD`): valid and not reserved, so the per-request path skips the checks,
    /// and its Bloom-filter bits come precomputed.
    pub(crate) fn set_known(&mut self, key: KnownKey, value: &[u8]) -> Result<(), EnvironError> {
        debug_assert!(check_key(key.name).is_ok());
        let name = key.name.as_bytes();
        match self.vars.table_mut().find_bits(name, key.bits) {
            Some(i) => self.vars.table_mut().replace_value(i, value)?,
            None => {
                self.vars.table_mut().push_bits(name, key.bits, value)?;
            }
        }
        Ok(())
    }

    /// [`setdefault`](Self::setdefault) for a key the crate itself names (see
    /// [`set_known`](Self::set_known)).
    pub(crate) fn setdefault_known(
        &mut self,
        key: KnownKey,
        value: &[u8],
    ) -> Result<(), EnvironError> {
        debug_assert!(check_key(key.name).is_ok());
        let name = key.name.as_bytes();
        if self.vars.table_mut().find_bits(name, key.bits).is_none() {
            self.vars.table_mut().push_bits(name, key.bits, value)?;
        }
        Ok(())
    }

    /// [`get`](Self::get) for a key the crate itself names.
    pub(crate) fn get_known(&self, key: KnownKey) -> Option<&[u8]> {
        if let Lookup::Found(value) = self.vars.lookup(key.name.as_bytes()) {
            return value;
        }
        key.value_in(self.vars.table())
    }

    /// Python's `environ.setdefault(key, value)`: set `key` only if it is absent, and return
    /// its value either way.
    pub fn setdefault(
        &mut self,
        key: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<&[u8], EnvironError> {
        check_key(key)?;
        let i = match self.index(key) {
            Some(i) => i,
            None => self.vars.table_mut().push(key.as_bytes(), value.as_ref())?,
        };
        Ok(self.vars.table_mut().value(i))
    }

    /// Append `sep` and `extra` to an existing value, or set it when absent. This is how a
    /// server joins repeated request headers (`HTTP_X = "a,b"`) without a temporary buffer.
    pub fn append(
        &mut self,
        key: &str,
        sep: &[u8],
        extra: impl AsRef<[u8]>,
    ) -> Result<(), EnvironError> {
        check_key(key)?;
        self.append_unchecked(key.as_bytes(), sep, extra.as_ref())
    }

    /// [`append`](Self::append) for a key the caller built from header-name bytes: an
    /// `HTTP_` prefix and token characters, so it is valid and not reserved. Skips the checks
    /// and the UTF-8 validation a `&str` key would need (the server's per-header hot path).
    pub(crate) fn append_header_key(
        &mut self,
        key: &[u8],
        sep: &[u8],
        extra: &[u8],
    ) -> Result<(), EnvironError> {
        debug_assert!(key.starts_with(b"HTTP_") && key.is_ascii());
        self.append_unchecked(key, sep, extra)
    }

    /// Push a variable the caller has proved absent, without looking (the server's path for
    /// a request header whose `HTTP_*` key `fill_environ` knows to be new).
    /// `bits` is the key's `storage::name_bit`, which the caller computed for its proof.
    pub(crate) fn push_new_header_key(
        &mut self,
        key: &[u8],
        bits: u64,
        value: &[u8],
    ) -> Result<(), EnvironError> {
        debug_assert!(key.starts_with(b"HTTP_") && key.is_ascii());
        debug_assert!(self.vars.table_mut().find(key).is_none());
        self.vars.table_mut().push_bits(key, bits, value)?;
        Ok(())
    }

    /// The body of both appends, once the key is known to be valid.
    fn append_unchecked(
        &mut self,
        key: &[u8],
        sep: &[u8],
        extra: &[u8],
    ) -> Result<(), EnvironError> {
        match self.vars.table_mut().find(key) {
            Some(i) => self.vars.table_mut().extend_value(i, sep, extra)?,
            None => {
                self.vars.table_mut().push(key, extra)?;
            }
        }
        Ok(())
    }

    /// The Bloom-filter bits of the keys present (`storage::name_bit` of each): a key whose
    /// bits are not all set is certainly absent.
    pub(crate) fn key_bits(&self) -> u64 {
        self.vars.table().names_seen()
    }

    /// True when a variable named by these bytes is present.
    pub(crate) fn contains_bytes(&self, key: &[u8]) -> bool {
        self.vars.table().find(key).is_some()
    }

    /// Remove `key`; returns whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.index(key) {
            Some(i) => {
                self.vars.table_mut().remove(i);
                true
            }
            None => false,
        }
    }

    /// Remove every variable and the `wsgi.*` group; the streams stay attached.
    pub fn clear(&mut self) {
        self.vars.table_mut().clear();
        self.wsgi = None;
    }

    /// All CGI variables in insertion order, as `(key, value)`.
    ///
    /// Keys are `&str` because [`set`](Self::set) only takes `&str` keys.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.vars
            .table()
            .iter()
            .map(|(k, v)| (core::str::from_utf8(k).unwrap_or(""), v))
    }

    /// Copy every variable of `other` that this environ lacks (`setdefault` for each), in
    /// `other`'s order. Handlers use it to lay an `os_environ` base under the request's own
    /// variables.
    pub fn fill_from(&mut self, other: &Environ<'_>) -> Result<(), EnvironError> {
        self.fill_from_table(other.vars.table())
    }

    /// [`fill_from`](Self::fill_from) with the other environ's table.
    pub(crate) fn fill_from_table(&mut self, other: &Table<'_>) -> Result<(), EnvironError> {
        if self.is_empty() {
            // Nothing to collide with (a server's per-request environ starts this way): copy
            // the whole arena at once, without looking each key up. (`other` was built by
            // `set`, so it holds no duplicates.)
            self.copy_base(other)?;
            return Ok(());
        }
        for (k, v) in other.iter() {
            if !self.contains_bytes(k) {
                self.vars.table_mut().push(k, v)?;
            }
        }
        Ok(())
    }

    /// The variables as a table (written out first if they were deferred).
    pub(crate) fn table(&self) -> &Table<'a> {
        self.vars.table()
    }

    /// The `wsgi.url_scheme`, when the `wsgi.*` group is set.
    pub fn url_scheme(&self) -> Option<UrlScheme> {
        self.wsgi.map(|w| w.url_scheme)
    }

    /// Change `wsgi.url_scheme`, as middleware behind a TLS-terminating proxy must (Werkzeug's
    /// `ProxyFix` assigns `environ["wsgi.url_scheme"]`). Returns the scheme it replaced.
    ///
    /// The scheme belongs to the `wsgi.*` group ([`WsgiVars`]), which a server sets as a
    /// whole: an environ without the group (one built by hand, before
    /// [`setup_testing_defaults`](crate::util::setup_testing_defaults)) is left unchanged and
    /// `None` is returned, rather than inventing the group's other values.
    ///
    /// ```
    /// use wsgiref_core::environ::{Environ, EnvironBuf, UrlScheme, WsgiVars};
    ///
    /// let mut buf = EnvironBuf::<64, 4>::new();
    /// let mut environ = buf.environ();
    /// assert_eq!(environ.set_url_scheme(UrlScheme::Https), None); // no wsgi.* group yet
    /// environ.wsgi = Some(WsgiVars::testing(UrlScheme::Http));
    /// assert_eq!(environ.set_url_scheme(UrlScheme::Https), Some(UrlScheme::Http));
    /// assert_eq!(environ.url_scheme(), Some(UrlScheme::Https));
    /// ```
    pub fn set_url_scheme(&mut self, scheme: UrlScheme) -> Option<UrlScheme> {
        let wsgi = self.wsgi.as_mut()?;
        Some(core::mem::replace(&mut wsgi.url_scheme, scheme))
    }

    /// Attach `wsgi.input`: the request body stream.
    pub fn set_input(&mut self, input: &'a dyn InputStream) {
        self.input = Some(input);
    }

    /// Attach `wsgi.errors`: where applications and the handler write diagnostics.
    pub fn set_errors(&mut self, errors: &'a dyn ErrorStream) {
        self.errors = Some(errors);
    }

    /// The attached `wsgi.input` stream itself, for middleware that wraps it (see
    /// [`with_input`](Self::with_input)).
    pub fn input_stream(&self) -> Option<&'a dyn InputStream> {
        self.input
    }

    /// The attached `wsgi.errors` stream itself: a server lays a connection's base environ
    /// (with its errors stream) under each request's environ.
    pub fn errors_stream(&self) -> Option<&'a dyn ErrorStream> {
        self.errors
    }

    /// Run `f` on this environ with `input` as its `wsgi.input`: how middleware (the
    /// validator) wraps the stream for one application call.
    ///
    /// `input` may live shorter than the environ, so `f` gets the same variables and `wsgi.*`
    /// group as an `Environ` of a shorter lifetime. Whatever `f` changes in them is kept;
    /// afterwards the original stream is attached again (streams `f` attaches are dropped).
    ///
    /// ```
    /// use wsgiref_core::environ::EnvironBuf;
    /// use wsgiref_core::stream::SliceInput;
    ///
    /// let mut buf = EnvironBuf::<256, 8>::new();
    /// let mut environ = buf.environ();
    /// let body = SliceInput::new(b"wrapped");
    /// let n = environ.with_input(&body, |env| {
    ///     env.set("SEEN", "yes").unwrap();
    ///     env.input().drain().unwrap()
    /// });
    /// assert_eq!(n, 7);
    /// assert_eq!(environ.get_str("SEEN"), Some("yes"));
    /// assert!(!environ.has_input());
    /// ```
    pub fn with_input<R>(
        &mut self,
        input: &dyn InputStream,
        f: impl FnOnce(&mut Environ<'_>) -> R,
    ) -> R {
        let mut scoped = Environ {
            vars: Vars::ready(self.vars.table_mut().lend()),
            wsgi: self.wsgi,
            input: Some(input),
            errors: self.errors,
        };
        let result = f(&mut scoped);
        let Environ { vars, wsgi, .. } = scoped;
        self.wsgi = wsgi;
        let returned = vars.into_table().give_back();
        self.vars.table_mut().take_back(returned);
        result
    }

    /// True when a `wsgi.input` stream is attached.
    pub fn has_input(&self) -> bool {
        self.input.is_some()
    }

    /// True when a `wsgi.errors` stream is attached.
    pub fn has_errors(&self) -> bool {
        self.errors.is_some()
    }

    /// `wsgi.input`: read the request body. With no stream attached it reads as empty, like
    /// the `BytesIO()` that `setup_testing_defaults` installs.
    pub fn input(&self) -> Input<'_> {
        Input::new(self.input)
    }

    /// `wsgi.errors`: a text sink for diagnostics (`write!(environ.errors(), ...)`). With no
    /// stream attached, what is written is dropped.
    pub fn errors(&self) -> Errors<'_> {
        Errors::new(self.errors)
    }
}

#[cfg(feature = "alloc")]
impl Default for Environ<'static> {
    fn default() -> Self {
        Environ::new()
    }
}

/// Fixed storage for an [`Environ`] of up to `BYTES` bytes and `SLOTS` variables, in one value
/// that can live in a `static`, on the stack or inside a connection struct.
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// let mut buf = EnvironBuf::<1024, 32>::new();
/// let environ = buf.environ();
/// assert!(environ.is_empty());
/// ```
pub struct EnvironBuf<const BYTES: usize, const SLOTS: usize> {
    bytes: [u8; BYTES],
    slots: [Slot; SLOTS],
}

impl<const BYTES: usize, const SLOTS: usize> EnvironBuf<BYTES, SLOTS> {
    /// Zeroed storage; `const` so it can initialise a `static`.
    pub const fn new() -> Self {
        EnvironBuf {
            bytes: [0; BYTES],
            slots: [Slot::EMPTY; SLOTS],
        }
    }

    /// An empty environ over this storage.
    pub fn environ(&mut self) -> Environ<'_> {
        Environ::fixed(&mut self.bytes, &mut self.slots)
    }
}

impl<const BYTES: usize, const SLOTS: usize> Default for EnvironBuf<BYTES, SLOTS> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_position_and_get_views() {
        let mut buf = EnvironBuf::<256, 8>::new();
        let mut env = buf.environ();
        env.set("A", "1").unwrap();
        env.set("B", "2").unwrap();
        env.set("A", "one").unwrap();
        {
            let keys: heapless::Vec<&str, 8> = env.iter().map(|(k, _)| k).collect();
            assert_eq!(keys[..], ["A", "B"]);
        }
        assert_eq!(env.get("A"), Some(&b"one"[..]));
        assert_eq!(env.setdefault("A", "x").unwrap(), b"one");
        assert_eq!(env.setdefault("C", "3").unwrap(), b"3");
        assert!(env.remove("B"));
        assert!(!env.remove("B"));
        assert_eq!(env.len(), 2);
    }

    #[test]
    fn reserved_and_invalid_keys_are_refused() {
        let mut buf = EnvironBuf::<64, 4>::new();
        let mut env = buf.environ();
        assert_eq!(env.set("wsgi.input", "x"), Err(EnvironError::ReservedKey));
        assert_eq!(env.set("", "x"), Err(EnvironError::InvalidKey));
        assert_eq!(env.set("A=B", "x"), Err(EnvironError::InvalidKey));
        assert!(env.is_empty());
    }

    #[test]
    fn full_storage_is_an_error_and_changes_nothing() {
        let mut buf = EnvironBuf::<8, 4>::new();
        let mut env = buf.environ();
        env.set("AB", "cd").unwrap();
        let err = env.set("EF", "ghijk").unwrap_err();
        assert!(matches!(err, EnvironError::Capacity(_)));
        assert_eq!(env.len(), 1);
        assert_eq!(env.get("AB"), Some(&b"cd"[..]));
    }

    #[test]
    fn append_joins_repeated_values() {
        let mut buf = EnvironBuf::<64, 4>::new();
        let mut env = buf.environ();
        env.append("HTTP_X", b",", "a").unwrap();
        env.set("Y", "y").unwrap();
        env.append("HTTP_X", b",", "b").unwrap();
        assert_eq!(env.get("HTTP_X"), Some(&b"a,b"[..]));
        assert_eq!(env.get("Y"), Some(&b"y"[..]));
    }
}
