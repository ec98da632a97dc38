//! [`ValidationError`]: a broken contract, found by the validator.

use core::fmt;

use super::repr::Text;

/// A violation of the gateway contract that the validator found, on either side: the
/// server's (environ, `wsgi.input`, how the body is driven) or the application's
/// (`start_response`, `write`, the body).
///
/// CPython raises `AssertionError` for these; here they are returned as errors (an
/// [`AppError`](crate::AppError) whose [`kind_name`](crate::AppError::kind_name) is
/// `"AssertionError"`, so the handler's log line reads like CPython's). The `Display` text is
/// CPython's assertion message where CPython has one; values are shown with Python's `repr()`,
/// cut to [`TEXT_CAP`](super::TEXT_CAP) bytes. No variant needs an allocator.
///
/// ```
/// use wsgiref_core::validate::{Text, ValidationError};
/// let e = ValidationError::StatusCodeTooLow(99);
/// assert_eq!(e.to_string(), "Status code is invalid: 99");
/// let e = ValidationError::NoContentType(Text::repr_headers(&[("X", "y")]));
/// assert_eq!(e.to_string(), "No Content-Type header found in headers ([('X', 'y')])");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ValidationError {
    // --- the environ (server side) ---
    /// A required variable is absent: `REQUEST_METHOD`, `SERVER_NAME`, `SERVER_PORT`, or
    /// the `wsgi.*` group (reported as `'wsgi.version'`, its first key).
    MissingKey(&'static str),
    /// `HTTP_CONTENT_TYPE` or `HTTP_CONTENT_LENGTH` is present (the server must use the
    /// CGI names).
    ForbiddenKey(&'static str),
    /// `SCRIPT_NAME` is neither empty nor starts with `/`.
    ScriptNameNoSlash(Text),
    /// `PATH_INFO` is neither empty nor starts with `/`.
    PathInfoNoSlash(Text),
    /// `CONTENT_LENGTH` is not an integer by Python's `int()` rules (CPython's `ValueError`).
    ContentLengthNotInteger(Text),
    /// `CONTENT_LENGTH` is a negative integer.
    ContentLengthNegative(Text),
    /// Both `SCRIPT_NAME` and `PATH_INFO` are empty or absent.
    NoPath,
    /// `SCRIPT_NAME` is `/`.
    ScriptNameSlash,

    // --- start_response (application side) ---
    /// The status is empty or only whitespace (CPython fails with `IndexError` here).
    StatusEmpty,
    /// The status's first word is not three characters long.
    StatusCodeLength(Text),
    /// The status's first word is not an integer by `int()` rules (CPython's `ValueError`).
    StatusCodeNotInteger(Text),
    /// The status code is below 100.
    StatusCodeTooLow(i32),
    /// A `Status` header was given (CGI's way to set the status, not WSGI's). Holds its value.
    StatusHeader(Text),
    /// A header name contains `:` or a newline.
    HeaderNameColonOrNewline(Text),
    /// A header name does not match `^[a-zA-Z][a-zA-Z0-9\-_]*$`.
    BadHeaderName(Text),
    /// A header name ends in `-` or `_`.
    HeaderNameBadEnd(Text),
    /// A header value contains a control character (`\x00`..`\x1f`, TAB included).
    BadHeaderValue {
        /// The value.
        value: Text,
        /// The first offending byte.
        bad: u8,
    },
    /// A `204` or `304` response has a `Content-Type`.
    ContentTypeInEmptyResponse(u16),
    /// A response that may have content has no `Content-Type`. Holds the headers list.
    NoContentType(Text),
    /// `start_response` was called a second time without `exc_info`.
    HeadersAlreadySet,

    // --- write and the body ---
    /// `write()` was called before `start_response`.
    WriteBeforeStart,
    /// The server pulled a chunk of the body, but the application never called
    /// `start_response`.
    BodyBeforeStart,
    /// The server pulled a chunk of the body after closing it.
    ReadAfterClose,

    // --- wsgi.input (server side) ---
    /// The input stream claimed to read more bytes than the buffer it was given holds.
    InputOverRead {
        /// The buffer size.
        asked: usize,
        /// The count the stream returned.
        got: usize,
    },
    /// The input stream returned more bytes than `CONTENT_LENGTH` announced.
    InputPastContentLength(u64),
    /// The input stream's `read_line` returned bytes after a `\n`.
    InputLineOverrun,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ValidationError::*;
        match self {
            MissingKey(key) => write!(f, "Environment missing required key: '{key}'"),
            ForbiddenKey(key) => write!(
                f,
                "Environment should not have the key: {key} (use {} instead)",
                key.strip_prefix("HTTP_").unwrap_or(key)
            ),
            ScriptNameNoSlash(v) => write!(f, "SCRIPT_NAME doesn't start with /: {v}"),
            PathInfoNoSlash(v) => write!(f, "PATH_INFO doesn't start with /: {v}"),
            ContentLengthNotInteger(v) | StatusCodeNotInteger(v) => {
                write!(f, "invalid literal for int() with base 10: {v}")
            }
            ContentLengthNegative(v) => write!(f, "Invalid CONTENT_LENGTH: {v}"),
            NoPath => f.write_str(
                "One of SCRIPT_NAME or PATH_INFO are required (PATH_INFO should at least be '/' \
                 if SCRIPT_NAME is empty)",
            ),
            ScriptNameSlash => f.write_str(
                "SCRIPT_NAME cannot be '/'; it should instead be '', and PATH_INFO should be '/'",
            ),
            StatusEmpty => f.write_str("Status is empty; it must start with a three-digit code"),
            StatusCodeLength(v) => write!(f, "Status codes must be three characters: {v}"),
            StatusCodeTooLow(code) => write!(f, "Status code is invalid: {code}"),
            StatusHeader(v) => write!(
                f,
                "The Status header cannot be used; it conflicts with CGI script, and HTTP status \
                 is not given through headers (value: {v})."
            ),
            HeaderNameColonOrNewline(v) => {
                write!(f, "Header names may not contain ':' or '\\n': {v}")
            }
            BadHeaderName(v) => write!(f, "Bad header name: {v}"),
            HeaderNameBadEnd(v) => write!(f, "Names may not end in '-' or '_': {v}"),
            BadHeaderValue { value, bad } => {
                write!(f, "Bad header value: {value} (bad char: ")?;
                match bad {
                    b'\t' => f.write_str("'\\t'")?,
                    b'\n' => f.write_str("'\\n'")?,
                    b'\r' => f.write_str("'\\r'")?,
                    b => write!(f, "'\\x{b:02x}'")?,
                }
                f.write_str(")")
            }
            ContentTypeInEmptyResponse(code) => write!(
                f,
                "Content-Type header found in a {code} response, which must not return content."
            ),
            NoContentType(headers) => {
                write!(f, "No Content-Type header found in headers ({headers})")
            }
            HeadersAlreadySet => f.write_str("Headers already set!"),
            WriteBeforeStart => f.write_str("write() before start_response()"),
            BodyBeforeStart => f.write_str(
                "The application returns and we started iterating over its body, but \
                 start_response has not yet been called",
            ),
            ReadAfterClose => f.write_str("Iterator read after closed"),
            InputOverRead { asked, got } => write!(
                f,
                "wsgi.input returned {got} bytes for a read into {asked} bytes"
            ),
            InputPastContentLength(limit) => write!(
                f,
                "wsgi.input returned more bytes than CONTENT_LENGTH ({limit})"
            ),
            InputLineOverrun => f.write_str("wsgi.input returned bytes past the end of a line"),
        }
    }
}

impl core::error::Error for ValidationError {}
