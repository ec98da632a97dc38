//! The CGI handlers over std streams: [`CgiHandler`], [`IisCgiHandler`], and the std faces of
//! [`BaseCgiHandler`] and [`SimpleHandler`] (CPython's classes of the same names).
//!
//! All of them run the core handler (`wsgiref_core::handler`): the framing, the
//! `start_response` rules and the error page are the core's. What this module adds is the
//! process: stdin/stdout/stderr through [`StdIo`], the environment through
//! [`read_environ`], and memory sized to the environ it is given (a CGI environment can be
//! far larger than an HTTP request's).

use std::cell::Cell;
use std::io;

use wsgiref_core::app::{Application, Empty, StartResponse};
use wsgiref_core::environ::{Environ, EnvironError};
use wsgiref_core::handler::{HandlerConfig, OwnedMemory, RunReport, SimpleHandler as CoreHandler};
use wsgiref_core::proto::ProxyHeaderPolicy;
use wsgiref_core::stream::ErrorStream;
use wsgiref_core::AppError;

use crate::cgi::environ::read_environ;
use crate::errors::Stderr;
use crate::io::StdIo;
use crate::server::CatchPanic;

/// The settings of `CGIHandler` and `IISCGIHandler`: CGI framing, `wsgi.run_once` true,
/// `wsgi.multithread` false, `wsgi.multiprocess` true.
pub const CGI_RUN_ONCE: HandlerConfig = HandlerConfig {
    run_once: true,
    multithread: false,
    multiprocess: true,
    ..HandlerConfig::CGI
};

/// The streams, the request's environ and the optional `os_environ` base: what every handler
/// in this module holds between runs.
struct Parts<R, W, E> {
    stdin: R,
    stdout: W,
    stderr: E,
    environ: Result<Environ<'static>, EnvironError>,
    os_environ: Option<Environ<'static>>,
}

impl<R: io::Read, W: io::Write, E: ErrorStream> Parts<R, W, E> {
    /// Run `app` once with `config`: merge os_environ and the request's variables into a
    /// fresh environ, size the core handler's memory to it, and run.
    fn run<A: Application>(&mut self, app: &A, config: HandlerConfig) -> RunReport {
        let merged = match &self.environ {
            Ok(environ) => merge(self.os_environ.as_ref(), environ).map(|mut merged| {
                // httpoxy: the web server turned a client's `Proxy` header into HTTP_PROXY.
                if config.proxy_header == ProxyHeaderPolicy::Drop {
                    merged.remove("HTTP_PROXY");
                }
                merged
            }),
            Err(e) => Err(*e),
        };
        match merged {
            Ok(environ) => self.run_core(app, environ, config),
            Err(error) => {
                // The environment could not be stored: answer with the error page (and log
                // why) instead of running the application with a partial environ.
                let error = Cell::new(Some(error));
                let fail =
                    |_: &mut Environ<'_>, _: &mut StartResponse<'_>| -> Result<Empty, AppError> {
                        Err(match error.take() {
                            Some(e) => AppError::new(e),
                            None => AppError::msg("the CGI environment could not be read"),
                        })
                    };
                self.run_core(&fail, Environ::new(), config)
            }
        }
    }

    fn run_core<A: Application>(
        &mut self,
        app: &A,
        environ: Environ<'static>,
        config: HandlerConfig,
    ) -> RunReport {
        let mut memory = memory_for(&environ);
        let mut handler = CoreHandler::new(
            StdIo(&mut self.stdin),
            StdIo(&mut self.stdout),
            &self.stderr,
            environ,
            memory.memory(),
        );
        handler.config = config;
        if config.origin_server {
            handler.set_date(Some(crate::clock::http_date_now()));
        }
        // A panic is an application error here too (CPython's handlers catch every exception):
        // the error page, one log line on stderr, and the program exits normally.
        handler.run(&CatchPanic(ByRef(app)))
        // The core flushed stdout at the end of the response (or of the error page).
    }
}

/// An application lent by reference, so that [`CatchPanic`] can own its wrapper (a blanket
/// `Application for &A` would overlap the one for closures).
struct ByRef<'a, A: ?Sized>(&'a A);

impl<A: Application + ?Sized> Application for ByRef<'_, A> {
    type Body = A::Body;

    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<A::Body, AppError> {
        self.0.call(environ, start_response)
    }
}

/// The os_environ copy first, then the request's variables over it (CPython's dict order).
fn merge(
    os_environ: Option<&Environ<'static>>,
    environ: &Environ<'static>,
) -> Result<Environ<'static>, EnvironError> {
    let mut merged = Environ::new();
    if let Some(os) = os_environ {
        merged.fill_from(os)?;
    }
    for (key, value) in environ.iter() {
        merged.set(key, value)?;
    }
    Ok(merged)
}

/// Handler memory with room for `environ` plus what an application adds to it (its own
/// variables, and a longer `SCRIPT_NAME` after `shift_path_info`: a shift can move all of a
/// long `PATH_INFO` into it, so twice the two paths' length on top of 8 KiB): at least the
/// core's defaults.
fn memory_for(environ: &Environ<'_>) -> OwnedMemory {
    let defaults = (16 * 1024, 256);
    let len = |key| environ.get(key).map_or(0, <[u8]>::len);
    let paths = len("SCRIPT_NAME") + len("PATH_INFO");
    OwnedMemory::new(
        (environ.bytes_used() + 8 * 1024 + 2 * paths).max(defaults.0),
        (environ.len() + 64).max(defaults.1),
        16 * 1024,
    )
}

/// CPython's `BaseCGIHandler` over std streams: CGI framing (`Status: 200 OK`) for a request
/// whose environ and streams you supply (a CGI-like protocol, a test, a FastCGI bridge).
///
/// Like CPython's, it lays a snapshot of the process environment (its `os_environ`, taken
/// by the constructor) under the request's variables; [`set_os_environ`](Self::set_os_environ)
/// replaces or removes it. [`CgiHandler`] is the ready-made CGI program handler.
///
/// ```
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::{AppError, Environ};
/// use wsgiref_std::cgi::BaseCgiHandler;
/// use wsgiref_std::errors::Captured;
///
/// let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///     sr.start("200 OK", &[("Content-Type", "text/plain")])?;
///     let mut body = Vec::new();
///     env.input().read_to_vec(1024).map(|b| body.extend(b))?;
///     Ok::<_, AppError>(wsgiref_core::app::Once::new(body))
/// });
/// let mut environ = Environ::new();
/// environ.set("REQUEST_METHOD", "POST").unwrap();
/// environ.set("CONTENT_LENGTH", "5").unwrap();
/// let mut handler =
///     BaseCgiHandler::new(&b"hello, and more"[..], Vec::new(), Captured::default(), environ, false, true);
/// handler.set_os_environ(None);
/// handler.run(&app);
/// let (_, stdout, _) = handler.into_parts();
/// assert_eq!(stdout, b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
/// ```
pub struct BaseCgiHandler<R, W, E> {
    parts: Parts<R, W, E>,
    /// The settings (CPython's class attributes): [`HandlerConfig::CGI`] with the flags given
    /// to [`new`](Self::new).
    pub config: HandlerConfig,
}

impl<R: io::Read, W: io::Write, E: ErrorStream> BaseCgiHandler<R, W, E> {
    /// A handler reading the body from `stdin` (at most `CONTENT_LENGTH` bytes), writing the
    /// response to `stdout` and diagnostics to `stderr`, for the request in `environ`.
    pub fn new(
        stdin: R,
        stdout: W,
        stderr: E,
        environ: Environ<'static>,
        multithread: bool,
        multiprocess: bool,
    ) -> Self {
        BaseCgiHandler {
            parts: Parts {
                stdin,
                stdout,
                stderr,
                environ: Ok(environ),
                os_environ: read_environ().ok(),
            },
            config: HandlerConfig {
                multithread,
                multiprocess,
                ..HandlerConfig::CGI
            },
        }
    }

    /// Replace the base environ laid under each request's variables (`None`: none).
    pub fn set_os_environ(&mut self, os_environ: Option<Environ<'static>>) {
        self.parts.os_environ = os_environ;
    }

    /// Run `app` once and report what happened; the response is complete on `stdout` (and
    /// flushed) when this returns.
    pub fn run<A: Application>(&mut self, app: &A) -> RunReport {
        self.parts.run(app, self.config)
    }

    /// Take the streams back.
    pub fn into_parts(self) -> (R, W, E) {
        (self.parts.stdin, self.parts.stdout, self.parts.stderr)
    }
}

/// CPython's `SimpleHandler` over std streams: like [`BaseCgiHandler`], but framed as an
/// origin server (`HTTP/1.0 200 OK`, `Date`), with `multithread` and `multiprocess` as
/// given (CPython's defaults are true and false).
///
/// ```
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::{AppError, Environ};
/// use wsgiref_std::cgi::SimpleHandler;
/// use wsgiref_std::errors::Captured;
///
/// let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///     sr.start("200 OK", &[])?;
///     Ok::<_, AppError>(&b"hi"[..])
/// });
/// let mut environ = Environ::new();
/// environ.set("SERVER_PROTOCOL", "HTTP/1.0").unwrap();
/// let mut handler = SimpleHandler::new(&b""[..], Vec::new(), Captured::default(), environ, true, false);
/// handler.run(&app);
/// let (_, stdout, _) = handler.into_parts();
/// assert!(stdout.starts_with(b"HTTP/1.0 200 OK\r\nDate: "));
/// assert!(stdout.ends_with(b"\r\nContent-Length: 2\r\n\r\nhi"));
/// ```
pub struct SimpleHandler<R, W, E> {
    inner: BaseCgiHandler<R, W, E>,
}

impl<R: io::Read, W: io::Write, E: ErrorStream> SimpleHandler<R, W, E> {
    /// See [`BaseCgiHandler::new`]; the response is framed as an origin server's.
    pub fn new(
        stdin: R,
        stdout: W,
        stderr: E,
        environ: Environ<'static>,
        multithread: bool,
        multiprocess: bool,
    ) -> Self {
        let mut inner =
            BaseCgiHandler::new(stdin, stdout, stderr, environ, multithread, multiprocess);
        inner.config = HandlerConfig {
            multithread,
            multiprocess,
            ..HandlerConfig::SIMPLE
        };
        SimpleHandler { inner }
    }

    /// The settings ([`HandlerConfig::SIMPLE`] with the given flags unless changed).
    pub fn config_mut(&mut self) -> &mut HandlerConfig {
        &mut self.inner.config
    }

    /// See [`BaseCgiHandler::set_os_environ`].
    pub fn set_os_environ(&mut self, os_environ: Option<Environ<'static>>) {
        self.inner.set_os_environ(os_environ);
    }

    /// Run `app` once; see [`BaseCgiHandler::run`].
    pub fn run<A: Application>(&mut self, app: &A) -> RunReport {
        self.inner.run(app)
    }

    /// Take the streams back.
    pub fn into_parts(self) -> (R, W, E) {
        self.inner.into_parts()
    }
}

/// A CGI program's handler (CPython's `CGIHandler`): the request from the process
/// environment ([`read_environ`]), the body from stdin, the response to stdout,
/// diagnostics to stderr.
///
/// `wsgi.run_once` is true, `wsgi.multithread` false, `wsgi.multiprocess` true, and nothing
/// but the process environment is in the environ (CPython's `os_environ = {}`: no base
/// environ leaks into the request). Use [`BaseCgiHandler`] for other streams or settings.
///
/// ```no_run
/// use wsgiref_core::app::{app_fn, StartResponse};
/// use wsgiref_core::{AppError, Environ};
/// use wsgiref_std::cgi::CgiHandler;
///
/// fn main() {
///     let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
///         sr.start("200 OK", &[("Content-Type", "text/plain")])?;
///         Ok::<_, AppError>(&b"Hello from CGI\n"[..])
///     });
///     CgiHandler::new().run(&app);
/// }
/// ```
pub struct CgiHandler {
    environ: Result<Environ<'static>, EnvironError>,
    /// The settings; [`CGI_RUN_ONCE`] unless changed.
    pub config: HandlerConfig,
}

impl CgiHandler {
    /// Read the request from the process environment. A failure to read it (an environment
    /// over [`Environ::new`]'s limits) is kept and answered by [`run`](Self::run) with the
    /// error page.
    pub fn new() -> Self {
        CgiHandler {
            environ: read_environ(),
            config: CGI_RUN_ONCE,
        }
    }

    /// The request environ read by [`new`](Self::new) (`Err` if it could not be read).
    pub fn environ(&self) -> Result<&Environ<'static>, EnvironError> {
        self.environ.as_ref().map_err(|e| *e)
    }

    /// Run `app` once over the process's stdin, stdout and stderr; the whole response has been
    /// written to stdout and flushed when this returns, so `main` can simply return.
    pub fn run<A: Application>(&mut self, app: &A) -> RunReport {
        let environ = std::mem::replace(&mut self.environ, Ok(Environ::new()));
        let mut parts = Parts {
            stdin: io::stdin().lock(),
            stdout: io::stdout().lock(),
            stderr: Stderr,
            environ,
            os_environ: None,
        };
        let report = parts.run(app, self.config);
        self.environ = parts.environ;
        report
    }
}

impl Default for CgiHandler {
    fn default() -> Self {
        Self::new()
    }
}

/// CPython's `IISCGIHandler`: a [`CgiHandler`] for IIS, which (unless configured with
/// `allowPathInfo`) puts the script's path at the front of `PATH_INFO`; see
/// [`strip_iis_script_name`] for the exact rule.
pub struct IisCgiHandler {
    inner: CgiHandler,
}

impl IisCgiHandler {
    /// Read the request from the process environment and undo IIS's `PATH_INFO`.
    pub fn new() -> Self {
        let mut inner = CgiHandler::new();
        if let Ok(environ) = &mut inner.environ {
            if let Err(e) = strip_iis_script_name(environ) {
                inner.environ = Err(e);
            }
        }
        IisCgiHandler { inner }
    }

    /// The request environ, after the `PATH_INFO` fix.
    pub fn environ(&self) -> Result<&Environ<'static>, EnvironError> {
        self.inner.environ()
    }

    /// The settings; [`CGI_RUN_ONCE`] unless changed.
    pub fn config_mut(&mut self) -> &mut HandlerConfig {
        &mut self.inner.config
    }

    /// Run `app` once; see [`CgiHandler::run`].
    pub fn run<A: Application>(&mut self, app: &A) -> RunReport {
        self.inner.run(app)
    }
}

impl Default for IisCgiHandler {
    fn default() -> Self {
        Self::new()
    }
}

/// IIS's duplicated `SCRIPT_NAME` removed from the front of `PATH_INFO`, by CPython's rule:
/// when `PATH_INFO + "/"` starts with `SCRIPT_NAME + "/"` (a missing variable counts as
/// empty), `PATH_INFO` becomes what follows `SCRIPT_NAME`. Matching is byte-exact (so
/// case-sensitive) and stops at a segment boundary; when both are missing the rule matches
/// and `PATH_INFO` is *added*, empty.
///
/// | `SCRIPT_NAME` | `PATH_INFO` | new `PATH_INFO` |
/// |---|---|---|
/// | `/app` | `/app/x` | `/x` |
/// | `/app` | `/app` | (empty) |
/// | `/app` | `/application` | unchanged |
/// | `/app` | `/APP/x` | unchanged |
/// | (missing) | (missing) | (empty, added) |
///
/// ```
/// use wsgiref_core::Environ;
/// use wsgiref_std::cgi::strip_iis_script_name;
/// let mut environ = Environ::new();
/// environ.set("SCRIPT_NAME", "/app").unwrap();
/// environ.set("PATH_INFO", "/app/x").unwrap();
/// strip_iis_script_name(&mut environ).unwrap();
/// assert_eq!(environ.get("PATH_INFO"), Some(&b"/x"[..]));
/// ```
pub fn strip_iis_script_name(environ: &mut Environ<'_>) -> Result<(), EnvironError> {
    let path = environ.get("PATH_INFO").unwrap_or(b"");
    let script = environ.get("SCRIPT_NAME").unwrap_or(b"");
    // (path + "/").startswith(script + "/"), without building either string.
    let matches =
        path.starts_with(script) && (path.len() == script.len() || path[script.len()] == b'/');
    if matches {
        let rest = path[script.len()..].to_vec();
        environ.set("PATH_INFO", rest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Captured;
    use wsgiref_core::app::app_fn;

    fn environ(vars: &[(&str, &[u8])]) -> Environ<'static> {
        let mut environ = Environ::new();
        for (k, v) in vars {
            environ.set(k, v).unwrap();
        }
        environ
    }

    /// A variable that may be missing.
    type Var = Option<&'static [u8]>;

    #[test]
    fn iis_rule_matches_cpython_examples() {
        // (SCRIPT_NAME, PATH_INFO, PATH_INFO afterwards), checked against CPython's
        // IISCGIHandler.
        let cases: [(Var, Var, Var); 11] = [
            (Some(b"/app"), Some(b"/app/x"), Some(b"/x")),
            (Some(b"/app"), Some(b"/app"), Some(b"")),
            (Some(b"/app"), Some(b"/application"), Some(b"/application")),
            (Some(b"/app"), Some(b"/APP/x"), Some(b"/APP/x")),
            (None, None, Some(b"")),
            (Some(b""), None, Some(b"")),
            (None, Some(b"/x"), Some(b"/x")),
            (None, Some(b"x"), Some(b"x")),
            (Some(b"/app"), None, None),
            (Some(b"/a\xe9"), Some(b"/a\xe9/b\xff"), Some(b"/b\xff")),
            (Some(b"/app/"), Some(b"/app//x"), Some(b"/x")),
        ];
        for (script, path, want) in cases {
            let mut env = Environ::new();
            if let Some(s) = script {
                env.set("SCRIPT_NAME", s).unwrap();
            }
            if let Some(p) = path {
                env.set("PATH_INFO", p).unwrap();
            }
            strip_iis_script_name(&mut env).unwrap();
            assert_eq!(env.get("PATH_INFO"), want, "{script:?} {path:?}");
        }
    }

    #[test]
    fn base_cgi_handler_reads_at_most_content_length_and_sets_flags() {
        let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            let w = env.wsgi.unwrap();
            let body = env.input().read_to_vec(100)?;
            let text = format!(
                "{} {} {} {}",
                w.multithread,
                w.multiprocess,
                w.run_once,
                String::from_utf8_lossy(&body)
            );
            sr.start("200 OK", &[])?;
            Ok::<_, AppError>(wsgiref_core::app::Once::new(text))
        });
        let env = environ(&[("CONTENT_LENGTH", b"3"), ("REQUEST_METHOD", b"POST")]);
        let mut handler = BaseCgiHandler::new(
            &b"abcdef"[..],
            Vec::new(),
            Captured::default(),
            env,
            true,
            false,
        );
        handler.set_os_environ(None);
        let report = handler.run(&app);
        assert_eq!(report.status, 200);
        let (_, out, errors) = handler.into_parts();
        assert_eq!(
            out,
            b"Status: 200 OK\r\nContent-Length: 20\r\n\r\ntrue false false abc"
        );
        assert_eq!(errors.take(), "");
    }

    /// httpoxy (CVE-2016-5385): the web server made the client's `Proxy` header `HTTP_PROXY`, in
    /// the request's variables and in the process environment laid under them; by default
    /// the application sees it in neither, and `ProxyHeaderPolicy::Keep` gives it back.
    #[test]
    fn http_proxy_is_dropped_from_the_cgi_environ_unless_kept() {
        let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            let text = format!(
                "{:?} {:?}",
                env.get_str("HTTP_PROXY"),
                env.get_str("HTTP_HOST")
            );
            sr.start("200 OK", &[])?;
            Ok::<_, AppError>(wsgiref_core::app::Once::new(text))
        });
        let run = |keep: bool| {
            let mut handler = BaseCgiHandler::new(
                &b""[..],
                Vec::new(),
                Captured::default(),
                environ(&[("HTTP_PROXY", b"http://attacker:1"), ("HTTP_HOST", b"h")]),
                false,
                true,
            );
            handler.set_os_environ(Some(environ(&[("HTTP_PROXY", b"http://attacker:1")])));
            if keep {
                handler.config.proxy_header = ProxyHeaderPolicy::Keep;
            }
            handler.run(&app);
            let (_, out, _) = handler.into_parts();
            String::from_utf8(out).unwrap()
        };
        assert!(
            run(false).ends_with("\r\n\r\nNone Some(\"h\")"),
            "{}",
            run(false)
        );
        assert!(
            run(true).ends_with("\r\n\r\nSome(\"http://attacker:1\") Some(\"h\")"),
            "{}",
            run(true)
        );
    }

    #[test]
    fn os_environ_lies_under_the_request() {
        let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            let mut text = Vec::new();
            for (k, v) in env.iter() {
                text.extend_from_slice(k.as_bytes());
                text.push(b'=');
                text.extend_from_slice(v);
                text.push(b'\n');
            }
            sr.start("200 OK", &[])?;
            Ok::<_, AppError>(wsgiref_core::app::Once::new(text))
        });
        let mut handler = BaseCgiHandler::new(
            &b""[..],
            Vec::new(),
            Captured::default(),
            environ(&[("B", b"request"), ("C", b"3")]),
            false,
            true,
        );
        handler.set_os_environ(Some(environ(&[("A", b"1"), ("B", b"os")])));
        handler.run(&app);
        let (_, out, _) = handler.into_parts();
        assert!(out.ends_with(b"\r\n\r\nA=1\nB=request\nC=3\n"), "{out:?}");
    }

    #[test]
    fn a_panicking_application_gets_the_error_page_and_one_log_entry() {
        let app = app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
            if true {
                panic!("cgi-panic-marker");
            }
            Ok::<_, AppError>(&b"never"[..])
        });
        let mut handler = BaseCgiHandler::new(
            &b""[..],
            Vec::new(),
            Captured::default(),
            environ(&[]),
            false,
            true,
        );
        let report = handler.run(&app);
        assert_eq!(report.status, 500);
        let (_, out, errors) = handler.into_parts();
        assert!(out.starts_with(b"Status: 500 Internal Server Error\r\n"));
        let errors = errors.take();
        assert_eq!(errors.matches("cgi-panic-marker").count(), 1, "{errors}");
        assert!(
            errors.starts_with("Error: application panicked at "),
            "{errors}"
        );
    }

    #[test]
    fn an_environ_too_large_for_its_limits_gets_the_error_page() {
        let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start("200 OK", &[])?;
            Ok::<_, AppError>(&b"never"[..])
        });
        // Each half fits Environ::new's limit; together they do not.
        let half = vec![b'x'; Environ::DEFAULT_BYTE_LIMIT / 2 + 16];
        let mut handler = BaseCgiHandler::new(
            &b""[..],
            Vec::new(),
            Captured::default(),
            environ(&[("REQ", &half)]),
            false,
            true,
        );
        handler.set_os_environ(Some(environ(&[("OS", &half)])));
        let report = handler.run(&app);
        assert_eq!(report.status, 500);
        let (_, out, errors) = handler.into_parts();
        assert!(out.starts_with(b"Status: 500 Internal Server Error\r\n"));
        assert!(out.ends_with(HandlerConfig::ERROR_BODY));
        assert!(errors.take().contains("environ"));
    }
}
