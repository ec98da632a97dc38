//! [`SimpleHandler`] and [`BaseCgiHandler`]: run an application once over given streams and
//! a given environ, as CPython's classes of the same names do.
//!
//! They do not parse HTTP: the environ is supplied (by a CGI parent process, a test, or a
//! server that parsed the request itself). `SimpleHandler` frames the response as an origin
//! server (`HTTP/1.0 200 OK`, `Date`, `Server`); `BaseCgiHandler` with CGI's `Status:` line.

use core::cell::{Cell, RefCell};

use embedded_io::{Error as _, Read, Write};

use crate::app::{Application, Empty, StartResponse};
use crate::environ::{Environ, SERVER_SOFTWARE};
use crate::error::AppError;
use crate::handler::config::HandlerConfig;
use crate::handler::memory::Memory;
use crate::handler::output::Output;
use crate::handler::response::{Exchange, Response};
use crate::handler::run::{run_app, RunReport};
use crate::proto::{HttpDate, Version};
use crate::storage::Table;
use crate::stream::{ErrorStream, InputError, InputStream};
use crate::util::guess_scheme;

/// `wsgi.input` over a plain reader (CGI's stdin), limited to `CONTENT_LENGTH` bytes.
///
/// Without a valid `CONTENT_LENGTH` the body is empty: RFC 3875 says there is no body then,
/// and reading an open stdin would hang.
pub(crate) struct LimitedInput<R: Read> {
    reader: RefCell<R>,
    remaining: Cell<u64>,
}

impl<R: Read> LimitedInput<R> {
    pub(crate) fn new(reader: R, limit: u64) -> Self {
        LimitedInput {
            reader: RefCell::new(reader),
            remaining: Cell::new(limit),
        }
    }
}

impl<R: Read> InputStream for LimitedInput<R> {
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        let left = self.remaining.get();
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(left) as usize;
        let Ok(mut reader) = self.reader.try_borrow_mut() else {
            return Err(InputError::Io(embedded_io::ErrorKind::Other));
        };
        loop {
            match reader.read(&mut buf[..want]) {
                Ok(n) => {
                    // A short stream (CONTENT_LENGTH larger than what stdin holds) simply ends.
                    self.remaining.set(if n == 0 { 0 } else { left - n as u64 });
                    return Ok(n);
                }
                Err(e) if e.kind() == embedded_io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(InputError::Io(e.kind())),
            }
        }
    }
}

/// The CONTENT_LENGTH of an environ as a body limit: plain decimal digits, else 0.
pub(crate) fn content_length(environ: &Environ<'_>) -> u64 {
    match environ.get("CONTENT_LENGTH") {
        Some(v) if !v.is_empty() && v.len() <= 19 && v.iter().all(u8::is_ascii_digit) => {
            v.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
        }
        _ => 0,
    }
}

/// The protocol of the request (`SERVER_PROTOCOL`, case-insensitive as in CPython). A
/// missing or unknown value counts as HTTP/1.0.
pub(crate) fn request_version(environ: &Environ<'_>) -> Version {
    match environ.get("SERVER_PROTOCOL") {
        Some(p) if p.eq_ignore_ascii_case(b"HTTP/0.9") => Version::Http09,
        Some(p) if p.eq_ignore_ascii_case(b"HTTP/1.1") => Version::Http11,
        _ => Version::Http10,
    }
}

/// CPython's `setup_environ`: the base environ, the request's variables over it, then the
/// `wsgi.*` group and, for an origin server, a default `SERVER_SOFTWARE`.
pub(crate) fn setup_wsgi(
    environ: &mut Environ<'_>,
    config: &HandlerConfig,
) -> Result<(), AppError> {
    environ.wsgi = Some(config.wsgi_vars(guess_scheme(environ)));
    if let Some(software) = config.default_server_software() {
        environ.setdefault_known(SERVER_SOFTWARE, software.as_bytes())?;
    }
    Ok(())
}

/// Run an application once over a reader, a writer and an error stream. See the
/// [handler module docs](crate::handler).
///
/// ```
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::handler::{HandlerConfig, MemoryBuf, SimpleHandler};
/// use wsgiref_core::stream::NullErrors;
/// use wsgiref_core::{AppError, Environ};
///
/// let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///     sr.start("200 OK", &[("Content-Type", "text/plain")])?;
///     Ok::<_, AppError>(&b"Hello, world!"[..])
/// });
/// let mut env_buf = EnvironBuf::<512, 16>::new();
/// let mut environ = env_buf.environ();
/// environ.set("REQUEST_METHOD", "GET").unwrap();
/// environ.set("SERVER_PROTOCOL", "HTTP/1.0").unwrap();
/// let mut memory: MemoryBuf = MemoryBuf::new();
/// let mut out = [0u8; 256];
/// let mut stdout = &mut out[..];
/// let mut handler = SimpleHandler::new(&b""[..], &mut stdout, NullErrors, environ, memory.memory());
/// handler.run(&app);
/// let left = stdout.len();
/// let written = &out[..256 - left];
/// assert_eq!(
///     written,
///     b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
/// );
/// ```
pub struct SimpleHandler<'s, R: Read, W: Write, E: ErrorStream> {
    stdin: R,
    stdout: W,
    stderr: E,
    base: Environ<'s>,
    memory: Memory<'s>,
    /// The `os_environ`'s variables (a table: `Environ` itself is invariant in its lifetime,
    /// and an `Environ<'static>` must be accepted here).
    os_environ: Option<&'s Table<'s>>,
    date: Option<HttpDate>,
    /// The handler's settings (CPython's class attributes); public so they can be changed
    /// per instance, as Python allows.
    pub config: HandlerConfig,
}

impl<'s, R: Read, W: Write, E: ErrorStream> SimpleHandler<'s, R, W, E> {
    /// A handler with [`HandlerConfig::SIMPLE`] (origin server, HTTP/1.0, multithread true,
    /// multiprocess false), reading the body from `stdin`, writing the response to `stdout`
    /// and diagnostics to `stderr`, for the request described by `environ`.
    pub fn new<'e: 's>(
        stdin: R,
        stdout: W,
        stderr: E,
        environ: Environ<'e>,
        memory: Memory<'s>,
    ) -> Self {
        SimpleHandler {
            stdin,
            stdout,
            stderr,
            base: environ.shorten(),
            memory,
            os_environ: None,
            date: None,
            config: HandlerConfig::SIMPLE,
        }
    }

    /// Set CPython's `multithread` / `multiprocess` constructor arguments.
    pub fn with_flags(mut self, multithread: bool, multiprocess: bool) -> Self {
        self.config.multithread = multithread;
        self.config.multiprocess = multiprocess;
        self
    }

    /// A base environ laid under the request's (CPython's `os_environ`); the request's own
    /// variables win.
    pub fn set_os_environ(&mut self, os_environ: &'s Environ<'_>) {
        self.os_environ = Some(os_environ.table());
    }

    /// The time for the `Date` header (origin servers). `None` (the default, for targets
    /// without a clock) sends no `Date`, which RFC 9110 allows for servers without a clock.
    pub fn set_date(&mut self, date: Option<HttpDate>) {
        self.date = date;
    }

    /// The environ given to the constructor.
    pub fn environ(&self) -> &Environ<'s> {
        &self.base
    }

    /// Run `app` once: build the environ, call the application, send its response (or the
    /// error page), and report what happened.
    pub fn run<A: Application>(&mut self, app: &A) -> RunReport {
        let input = LimitedInput::new(&mut self.stdin, content_length(&self.base));
        let mut environ = Environ::fixed(
            &mut *self.memory.environ_bytes,
            &mut *self.memory.environ_slots,
        );
        let built = build_environ(&mut environ, self.os_environ, &self.base, &self.config);
        environ.set_input(&input);
        environ.set_errors(&self.stderr);
        let exchange = Exchange {
            request_version: request_version(&environ),
            head_request: environ.get("REQUEST_METHOD") == Some(b"HEAD"),
            persistent: None,
        };
        let out = Output::new(&mut self.stdout, &mut *self.memory.output);
        let mut response = Response::new(&self.config, exchange, self.date, out, None);
        match built {
            Ok(()) => run_app(
                app,
                &mut environ,
                &mut response,
                &self.config,
                exchange.head_request,
            ),
            Err(error) => {
                // The environ did not fit its storage: answer with the error page through the
                // ordinary error path, which also logs the reason.
                let cell = Cell::new(Some(error));
                let fail = |_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
                    Err::<Empty, AppError>(
                        cell.take().unwrap_or(AppError::msg("environ setup failed")),
                    )
                };
                run_app(
                    &fail,
                    &mut environ,
                    &mut response,
                    &self.config,
                    exchange.head_request,
                )
            }
        }
    }

    /// Take the streams back.
    pub fn into_parts(self) -> (R, W, E) {
        (self.stdin, self.stdout, self.stderr)
    }
}

/// Fill the per-run environ: os_environ, then the request's variables, then wsgi.*.
fn build_environ(
    environ: &mut Environ<'_>,
    os_environ: Option<&Table<'_>>,
    base: &Environ<'_>,
    config: &HandlerConfig,
) -> Result<(), AppError> {
    // Same order as CPython's dict: the os_environ copy first, then the request's variables
    // (replacing in place, appending new ones).
    if let Some(os) = os_environ {
        environ.fill_from_table(os)?;
    }
    for (k, v) in base.iter() {
        environ.set(k, v)?;
    }
    setup_wsgi(environ, config)
}

/// CPython's `BaseCGIHandler`: a [`SimpleHandler`] with CGI framing (`Status: 200 OK`, no
/// `Date`/`Server`), for CGI-like protocols over arbitrary streams.
///
/// ```
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::handler::{BaseCgiHandler, MemoryBuf};
/// use wsgiref_core::stream::NullErrors;
/// use wsgiref_core::{AppError, Environ};
///
/// let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///     sr.start("200 OK", &[])?;
///     Ok::<_, AppError>(&b"http"[..])
/// });
/// let mut env_buf = EnvironBuf::<512, 16>::new();
/// let mut memory: MemoryBuf = MemoryBuf::new();
/// let mut out = [0u8; 128];
/// let mut stdout = &mut out[..];
/// let mut handler =
///     BaseCgiHandler::new(&b""[..], &mut stdout, NullErrors, env_buf.environ(), memory.memory());
/// handler.run(&app);
/// let n = 128 - stdout.len();
/// assert_eq!(&out[..n], b"Status: 200 OK\r\nContent-Length: 4\r\n\r\nhttp");
/// ```
pub struct BaseCgiHandler<'s, R: Read, W: Write, E: ErrorStream> {
    inner: SimpleHandler<'s, R, W, E>,
}

impl<'s, R: Read, W: Write, E: ErrorStream> BaseCgiHandler<'s, R, W, E> {
    /// A CGI-framing handler ([`HandlerConfig::CGI`]) over the given streams and environ.
    pub fn new<'e: 's>(
        stdin: R,
        stdout: W,
        stderr: E,
        environ: Environ<'e>,
        memory: Memory<'s>,
    ) -> Self {
        let mut inner = SimpleHandler::new(stdin, stdout, stderr, environ, memory);
        inner.config = HandlerConfig::CGI;
        BaseCgiHandler { inner }
    }

    /// Set CPython's `multithread` / `multiprocess` constructor arguments.
    pub fn with_flags(self, multithread: bool, multiprocess: bool) -> Self {
        BaseCgiHandler {
            inner: self.inner.with_flags(multithread, multiprocess),
        }
    }

    /// The settings (CGI framing unless changed).
    pub fn config_mut(&mut self) -> &mut HandlerConfig {
        &mut self.inner.config
    }

    /// See [`SimpleHandler::set_os_environ`].
    pub fn set_os_environ(&mut self, os_environ: &'s Environ<'_>) {
        self.inner.set_os_environ(os_environ);
    }

    /// Run `app` once; see [`SimpleHandler::run`].
    pub fn run<A: Application>(&mut self, app: &A) -> RunReport {
        self.inner.run(app)
    }

    /// Take the streams back.
    pub fn into_parts(self) -> (R, W, E) {
        self.inner.into_parts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `os_environ` typed `Environ<'static>` (as `Environ::new` or a CGI adapter makes
    /// it) is laid under a handler over shorter-lived memory: `Environ` is invariant in its
    /// lifetime, so the handler keeps the os environ's table rather than the environ.
    #[cfg(feature = "alloc")]
    #[test]
    fn a_static_os_environ_serves_a_shorter_handler() {
        use crate::app::app_fn;
        use crate::environ::EnvironBuf;
        use crate::handler::MemoryBuf;
        use crate::stream::NullErrors;

        let mut os: Environ<'static> = Environ::new();
        os.set("OS_VAR", "from-os").unwrap();
        os.set("REQUEST_METHOD", "POST").unwrap();
        let mut env_buf = EnvironBuf::<256, 8>::new();
        let mut environ = env_buf.environ();
        environ.set("REQUEST_METHOD", "GET").unwrap();
        environ.set("SERVER_PROTOCOL", "HTTP/1.0").unwrap();
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut out = [0u8; 256];
        let mut stdout = &mut out[..];
        let seen = core::cell::RefCell::new((None, None));
        let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            *seen.borrow_mut() = (
                env.get("OS_VAR").map(<[u8]>::to_vec),
                env.get("REQUEST_METHOD").map(<[u8]>::to_vec),
            );
            sr.start("200 OK", &[])?;
            Ok::<_, AppError>(&b""[..])
        });
        let mut handler =
            SimpleHandler::new(&b""[..], &mut stdout, NullErrors, environ, memory.memory());
        handler.set_os_environ(&os);
        handler.run(&app);
        let (os_var, method) = seen.into_inner();
        assert_eq!(os_var.as_deref(), Some(&b"from-os"[..]));
        // The request's own variables win over the os environ's.
        assert_eq!(method.as_deref(), Some(&b"GET"[..]));
    }

    #[test]
    fn server_software_defaults_only_when_named() {
        for (software, origin, expected) in [
            (Some("FooBar/1.0"), true, Some(&b"FooBar/1.0"[..])),
            // CPython skips an empty server_software (found by tests/handlers_cpython.rs).
            (Some(""), true, None),
            (None, true, None),
            (Some("FooBar/1.0"), false, None),
        ] {
            let mut bytes = [0u8; 256];
            let mut slots = [crate::storage::Slot::EMPTY; 8];
            let mut environ = Environ::fixed(&mut bytes, &mut slots);
            let mut config = HandlerConfig::SIMPLE;
            config.server_software = software;
            config.origin_server = origin;
            setup_wsgi(&mut environ, &config).unwrap();
            assert_eq!(
                environ.get("SERVER_SOFTWARE"),
                expected,
                "{software:?} {origin}"
            );
        }
    }
}
