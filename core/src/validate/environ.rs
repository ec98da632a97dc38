//! The server's side of the call: is the environ one an application may rely on?

use super::error::ValidationError;
use super::repr::{parse_int, Text};
use super::warning::{Warning, WarningSink};
use crate::environ::Environ;

/// The request methods CPython's validator knows; any other draws a warning.
const KNOWN_METHODS: [&[u8]; 8] = [
    b"GET", b"HEAD", b"POST", b"OPTIONS", b"PATCH", b"PUT", b"DELETE", b"TRACE",
];

/// Check `environ` in CPython's order (`check_environ`), sending warnings to `sink`.
///
/// Returns the body length `CONTENT_LENGTH` announces, when it gives one, for the
/// `wsgi.input` checks.
///
/// Deliberate differences from CPython, each for a reason:
/// * `wsgi.input` / `wsgi.errors` are not required: an environ without them reads an empty
///   body and drops diagnostics, which is what CPython's required `BytesIO()`/`StringIO()`
///   do;
/// * an absent `SCRIPT_NAME` or `PATH_INFO` is not an error by itself (CPython raises
///   `KeyError` because it formats its message eagerly; PEP 3333 lets a server omit an empty
///   variable). Both absent is still caught, by the "One of SCRIPT_NAME or PATH_INFO" check.
pub(crate) fn check_environ<S: WarningSink>(
    environ: &Environ<'_>,
    sink: &S,
) -> Result<Option<u64>, ValidationError> {
    for key in ["REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT"] {
        if !environ.contains(key) {
            return Err(ValidationError::MissingKey(key));
        }
    }
    // The wsgi.* scalars come as one typed group; its first key names it.
    if environ.wsgi.is_none() {
        return Err(ValidationError::MissingKey("wsgi.version"));
    }
    for key in ["HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"] {
        if environ.contains(key) {
            return Err(ValidationError::ForbiddenKey(key));
        }
    }
    if !environ.contains("QUERY_STRING") {
        sink.warn(&Warning::QueryStringMissing);
    }
    let method = environ.get("REQUEST_METHOD").unwrap_or_default();
    if !KNOWN_METHODS.contains(&method) {
        sink.warn(&Warning::UnknownRequestMethod(Text::repr_bytes(method)));
    }
    let script_name = environ.get("SCRIPT_NAME").unwrap_or_default();
    if !script_name.is_empty() && !script_name.starts_with(b"/") {
        return Err(ValidationError::ScriptNameNoSlash(Text::repr_bytes(
            script_name,
        )));
    }
    if let Some(path_info) = environ.get("PATH_INFO") {
        if !path_info.is_empty() && !path_info.starts_with(b"/") {
            return Err(ValidationError::PathInfoNoSlash(Text::repr_bytes(
                path_info,
            )));
        }
    }
    let content_length = match environ.get("CONTENT_LENGTH") {
        Some(v) if !v.is_empty() => match parse_int(v.iter().map(|&b| char::from(b))) {
            None => {
                return Err(ValidationError::ContentLengthNotInteger(Text::repr_bytes(
                    v,
                )))
            }
            Some((true, magnitude)) if magnitude > 0 => {
                return Err(ValidationError::ContentLengthNegative(Text::repr_bytes(v)))
            }
            Some((_, magnitude)) => Some(magnitude),
        },
        _ => None,
    };
    // CPython asks only that PATH_INFO be present (even empty) when SCRIPT_NAME is empty.
    if script_name.is_empty() && !environ.contains("PATH_INFO") {
        return Err(ValidationError::NoPath);
    }
    if script_name == b"/" {
        return Err(ValidationError::ScriptNameSlash);
    }
    Ok(content_length)
}
