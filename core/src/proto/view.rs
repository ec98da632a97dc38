//! [`RequestView`]: a request's environ variables answered one key at a time, from the
//! parsed head and the server's base, without writing them out.
//!
//! The rules are [`fill_environ`]'s (CPython's `simple_server`); a property test checks that
//! every answer equals the written-out environ's.

use super::environ::{
    absolute_authority, fill_environ, is_cgi_name, key_byte, split_target, HeaderPolicy,
    ProxyHeaderPolicy, UnderscorePolicy, ENVIRON_FULL, UNDERSCORE,
};
use super::request::trim_ows;
use super::{ProtocolError, RequestHead};
use crate::environ::{Environ, Lookup, Source, SERVER_SOFTWARE};
use crate::storage::Table;

/// The request's variables answered one key at a time, straight from the parsed head: what
/// a deferred [`Environ`] gives `get` before (or instead of) writing every variable out.
///
/// Most answers are a slice of the head or of the base as it stands. The few that are not
/// (a `PATH_INFO` with `%`-escapes to decode, an `HTTP_*` key two header fields share and
/// [`fill_environ`] would join, a key that a header field shares with the base, a header
/// name that itself starts with `HTTP_`) come back as [`Lookup::Build`]: the caller then
/// writes the environ out and looks there. Either way the answer is [`fill_environ`]'s (a
/// property test compares them).
#[derive(Clone, Copy)]
pub(crate) struct RequestView<'a> {
    pub(crate) head: &'a RequestHead<'a>,
    pub(crate) base: &'a Table<'a>,
    pub(crate) policy: HeaderPolicy,
    pub(crate) server_software: Option<&'a str>,
}

/// The HTTP/1 side of the environ seam: a deferred environ asks the view.
impl<'a> Source<'a> for RequestView<'a> {
    #[inline]
    fn get(&self, key: &[u8]) -> Lookup<'a> {
        RequestView::get(self, key)
    }

    fn in_place(&self) -> Option<&RequestView<'a>> {
        Some(self)
    }

    fn fill(&self, environ: &mut Environ<'_>) {
        // The server checked that the variables fit (`RequestView::fits`); were they not to,
        // what fits is kept.
        let _ = RequestView::fill(self, environ);
    }
}

impl<'a> RequestView<'a> {
    /// Whether the written-out variables certainly fit a table of `bytes` and `slots`: an
    /// upper bound that counts every header field as a new `HTTP_*` key (joined or skipped
    /// fields take less). When it says no, the session refuses the request with 431 before
    /// the application runs, so that writing the environ out later cannot fail.
    ///
    /// The bound takes constant time, from the head's length rather than field by field (a
    /// loop over the fields cost ~150 instructions of a typical request): a field's line holds
    /// its name, a colon, its value and a line end, so the keys `HTTP_` + name with the value
    /// and a `,` for joining take at most the line's length plus 4, and all of them at most
    /// the field section plus 4 per field. A name too long for a key never gets this far:
    /// [`parse_head`](super::parse_head) refuses it (431).
    pub(crate) fn fits(&self, bytes: usize, slots: usize) -> bool {
        let head = self.head;
        let len = |v: Option<&[u8]>| v.map_or(0, <[u8]>::len);
        // The keys SERVER_PROTOCOL (15) with a version (8), REQUEST_METHOD (14), PATH_INFO
        // (9) and QUERY_STRING (12) whose values together are at most the target,
        // CONTENT_TYPE (12), CONTENT_LENGTH (14), SERVER_SOFTWARE (15).
        let fixed = self.base.bytes_used()
            + 15
            + 8
            + 14
            + head.method.len()
            + 9
            + 12
            + head.target.len()
            + 12
            + len(head.content_type)
            + 14
            + len(head.content_length)
            + self.server_software.map_or(0, |s| 15 + s.len());
        // The field section is the head after the request line and its line end (and any
        // empty lines before it): fewer than `head_len - request_line.len()` bytes.
        let fields = head.head_len.saturating_sub(head.request_line.len());
        // An absolute-form target's authority becomes HTTP_HOST (9): the value is part of the
        // target, counted above once for PATH_INFO and QUERY_STRING, which it is not part of.
        let absolute = usize::from(head.target.first() != Some(&b'/'));
        let need = fixed + fields + 4 * head.headers.len() + absolute * (9 + head.target.len());
        need <= bytes && self.base.len() + 7 + absolute + head.headers.len() <= slots
    }

    /// Write the variables out into `environ` (empty): the base's, the request's
    /// ([`fill_environ`]), then `SERVER_SOFTWARE` unless one of those set it, CPython's
    /// order. A full environ is `431`.
    pub(crate) fn fill(&self, environ: &mut Environ<'_>) -> Result<(), ProtocolError> {
        environ.copy_base(self.base).map_err(|_| ENVIRON_FULL)?;
        fill_environ(self.head, environ, self.policy)?;
        if let Some(software) = self.server_software {
            environ
                .setdefault_known(SERVER_SOFTWARE, software.as_bytes())
                .map_err(|_| ENVIRON_FULL)?;
        }
        Ok(())
    }

    /// The value [`fill_environ`] over the base (then `SERVER_SOFTWARE` by default) gives
    /// `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Lookup<'a> {
        let head = &self.head;
        let base = || self.base.find(key).map(|i| self.base.value(i));
        Lookup::Found(match key {
            b"SERVER_PROTOCOL" => Some(head.version.as_str().as_bytes()),
            b"REQUEST_METHOD" => Some(head.method),
            b"PATH_INFO" => {
                let path = split_target(head.target).1;
                if path.contains(&b'%') {
                    return Lookup::Build;
                }
                Some(path)
            }
            b"QUERY_STRING" => Some(split_target(head.target).2),
            b"CONTENT_TYPE" => head.content_type.map(trim_ows).or_else(base),
            b"CONTENT_LENGTH" => head
                .content_length
                .map(trim_ows)
                .filter(|v| !v.is_empty())
                .or_else(base),
            b"SERVER_SOFTWARE" => base().or(self.server_software.map(str::as_bytes)),
            _ => match key.strip_prefix(b"HTTP_") {
                Some(bare) => return self.header_key(bare, base()),
                None => base(),
            },
        })
    }

    /// `HTTP_` + `bare`: the value of the one header field it comes from, or the base's.
    fn header_key(&self, bare: &[u8], base: Option<&'a [u8]>) -> Lookup<'a> {
        if bare.starts_with(b"HTTP_") {
            // Whether such a field is kept depends on the fields before it.
            return Lookup::Build;
        }
        if bare == b"HOST" {
            if let Some((authority, _)) = absolute_authority(self.head.target) {
                // An absolute-form target's authority, set over whatever the base held.
                return Lookup::Found(Some(authority));
            }
        }
        if is_cgi_name(bare) || self.base.find(bare).is_some() {
            // Fields for this key are skipped.
            return Lookup::Found(base);
        }
        if self.policy.proxy == ProxyHeaderPolicy::Drop && bare == b"PROXY" {
            return Lookup::Found(base);
        }
        let drop_underscores = self.policy.underscore == UnderscorePolicy::Drop;
        let mut fields =
            self.head
                .headers
                .iter()
                .filter(|f| match maps_to(f.name.as_bytes(), bare) {
                    Some(underscore) => !(drop_underscores && underscore),
                    None => false,
                });
        match (fields.next(), base) {
            (None, base) => Lookup::Found(base),
            // One field and nothing to join it with.
            (Some(field), None) if fields.next().is_none() => {
                Lookup::Found(Some(trim_ows(field.value)))
            }
            // Joined with `,`: only the written-out environ has the value.
            _ => Lookup::Build,
        }
    }
}

/// Does header name `name` map to the bare key `bare`, and if so, does it hold a `_` (which
/// the underscore policy may drop)? One pass through [`key_byte`], which flags `_` with
/// [`UNDERSCORE`] as it maps it, as [`fill_environ`] does.
fn maps_to(name: &[u8], bare: &[u8]) -> Option<bool> {
    if name.len() != bare.len() {
        return None;
    }
    let mut flags = 0u8;
    for (&b, &k) in name.iter().zip(bare) {
        let mapped = key_byte(b);
        if mapped & 0x7f != k {
            return None;
        }
        flags |= mapped;
    }
    Some(flags & UNDERSCORE != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::EnvironBuf;
    use crate::proto::{parse_head, Limits};
    use crate::storage::Slot;
    use proptest::prelude::*;
    use std::format;
    use std::string::String;
    use std::vec;
    use std::vec::Vec;

    /// Header names chosen to collide: case and `-`/`_` variants of one key, CGI names,
    /// names the base holds bare, `Http-*` names.
    const NAMES: &[&str] = &[
        "Host",
        "host",
        "X-Foo",
        "x-foo",
        "X_Foo",
        "Cookie",
        "Content-Type",
        "Content-Length",
        "Server-Name",
        "My-Var",
        "Http-Host",
        "A",
        "a",
        "Accept",
        "User-Agent",
        "Path-Info",
        "Proxy",
        "PROXY",
    ];
    const BASES: &[(&str, &str)] = &[
        ("SERVER_NAME", "srv"),
        ("SERVER_PORT", "80"),
        ("MY_VAR", "base"),
        ("CONTENT_TYPE", "base/type"),
        ("CONTENT_LENGTH", ""),
        ("SERVER_SOFTWARE", "base/1"),
        ("HTTP_X_FOO", "b"),
        ("SCRIPT_NAME", "/app"),
        ("HTTP_HOST", "base.example"),
        ("HTTP_PROXY", "base-proxy"),
    ];

    fn request() -> impl Strategy<Value = (String, Vec<(usize, String)>)> {
        let line = (
            prop::sample::select(vec!["GET", "POST", "HEAD"]),
            "(http://h(:1)?|HTTP://[a-z]{1,3})?(/|//)[a-z%2F0-9]{0,6}(\\?[a-z=&]{0,5})?",
            prop::sample::select(vec!["HTTP/1.0", "HTTP/1.1"]),
        )
            .prop_map(|(m, t, v)| format!("{m} {t} {v}"));
        let fields = prop::collection::vec((0..NAMES.len(), " ?[a-z0-9 ]{0,4}"), 0..12);
        (line, fields)
    }

    /// The tightest heads for [`RequestView::fits`]: many distinct fields, empty values,
    /// bare LF line ends. The least storage it accepts must still take the write-out.
    #[test]
    fn fits_bounds_a_head_of_many_short_fields() {
        for eol in ["\n", "\r\n"] {
            let mut text = format!("GET / HTTP/1.1{eol}");
            for i in 0..40 {
                text += &format!("a{i}:{eol}");
            }
            text += eol;
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let head = parse_head(text.as_bytes(), &mut headers, &Limits::DEFAULT)
                .unwrap()
                .unwrap();
            let mut base_buf = EnvironBuf::<64, 4>::new();
            let mut base = base_buf.environ();
            base.set("SERVER_NAME", "x").unwrap();
            let view = RequestView {
                head: &head,
                base: base.ready_table().unwrap(),
                policy: UnderscorePolicy::Drop.into(),
                server_software: None,
            };
            let (mut bytes, mut slots) = ([0u8; 1024], [Slot::EMPTY; 64]);
            let least = (0..=bytes.len())
                .find(|&b| view.fits(b, slots.len()))
                .unwrap();
            let mut tight = Environ::fixed(&mut bytes[..least], &mut slots);
            view.fill(&mut tight).unwrap();
            // The bound is close: a few bytes per field at most.
            assert!(
                least - tight.bytes_used() < 128,
                "{least} for {}",
                tight.bytes_used()
            );
        }
    }

    proptest! {
        /// A deferred environ answers every key as the eager build does, before and after
        /// it is written out, and writes out the same variables in the same order.
        #[cfg_attr(miri, ignore)]
        #[test]
        fn deferred_environ_matches_the_eager_build(
            (line, fields) in request(),
            base_keys in prop::collection::vec(0..BASES.len(), 0..5),
            merge in any::<bool>(),
            keep_proxy in any::<bool>(),
            software in any::<bool>(),
            bare_lf in any::<bool>(),
        ) {
            // Bare LF line ends make the head as short as it can be for its fields: the
            // tightest case for `fits`.
            let eol = if bare_lf { "\n" } else { "\r\n" };
            let mut text = line.clone() + eol;
            for (n, v) in &fields {
                text += &format!("{}:{}{eol}", NAMES[*n], v);
            }
            text += eol;
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let Ok(Some(head)) = parse_head(text.as_bytes(), &mut headers, &Limits::DEFAULT)
            else {
                return Ok(());
            };
            let mut base_buf = EnvironBuf::<512, 16>::new();
            let mut base = base_buf.environ();
            for &i in &base_keys {
                base.set(BASES[i].0, BASES[i].1).unwrap();
            }
            let policy = HeaderPolicy {
                underscore: if merge { UnderscorePolicy::Merge } else { UnderscorePolicy::Drop },
                proxy: if keep_proxy { ProxyHeaderPolicy::Keep } else { ProxyHeaderPolicy::Drop },
            };
            let view = RequestView {
                head: &head,
                base: base.ready_table().unwrap(),
                policy,
                server_software: software.then_some("sw/1"),
            };
            let mut eager_buf = EnvironBuf::<2048, 48>::new();
            let mut eager = eager_buf.environ();
            view.fill(&mut eager).unwrap();
            let mut bytes = [0u8; 2048];
            let mut slots = [Slot::EMPTY; 48];
            prop_assert!(view.fits(bytes.len(), slots.len()));
            // `fits` is an upper bound: with the least storage it accepts, the write-out
            // succeeds.
            let least_bytes = (0..=bytes.len()).find(|&b| view.fits(b, slots.len())).unwrap();
            let least_slots = (0..=slots.len()).find(|&n| view.fits(bytes.len(), n)).unwrap();
            for (b, n) in [(least_bytes, slots.len()), (bytes.len(), least_slots)] {
                let mut tight = Environ::fixed(&mut bytes[..b], &mut slots[..n]);
                prop_assert!(view.fill(&mut tight).is_ok(), "{} bytes, {} slots: {:?}", b, n, text);
            }
            let mut state = crate::environ::Deferred::new(&mut bytes, &mut slots, view);
            let deferred = Environ::deferred(&mut state);
            let mut probes: Vec<String> = eager.iter().map(|(k, _)| k.into()).collect();
            for name in NAMES {
                probes.push(format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_")));
                probes.push(name.to_ascii_uppercase().replace('-', "_"));
            }
            probes.extend(["HTTPS", "REMOTE_ADDR", "HTTP_", "PATH_INFO"].map(String::from));
            for key in &probes {
                prop_assert_eq!(deferred.get(key), eager.get(key), "{} in {:?}", key, text);
            }
            // Written out (by iterating), it is the eager environ, in the same order.
            let got: Vec<(&str, &[u8])> = deferred.iter().collect();
            let want: Vec<(&str, &[u8])> = eager.iter().collect();
            prop_assert_eq!(got, want);
            for key in &probes {
                prop_assert_eq!(deferred.get(key), eager.get(key));
            }
        }
    }
}
