//! Conditional requests against the running `serve` example (RFC 9110 §13): the validators
//! it sends (`ETag`, `Last-Modified`, `Cache-Control`) and the preconditions in the order of
//! §13.2.2, each checked on the wire.

mod serve_support;

use std::path::PathBuf;

use serve_support::{Reply, Server};

struct Site(PathBuf);

impl Site {
    fn new(tag: &str) -> Site {
        let dir =
            std::env::temp_dir().join(format!("wsgiref-serve-cond-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("page.txt"), "0123456789").unwrap();
        Site(dir)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const OLD: &str = "Thu, 01 Jan 1970 00:00:01 GMT";
const FUTURE: &str = "Fri, 31 Dec 9999 23:59:59 GMT";

fn get(server: &Server, extra: &[&str]) -> Reply {
    server.request("GET", b"/page.txt", extra)
}

#[test]
fn files_carry_a_strong_etag_last_modified_and_cache_control() {
    let site = Site::new("validators");
    let server = Server::start(&site.0);
    let r = get(&server, &[]);
    assert_eq!(r.status, 200);
    let etag = r.header("ETag").expect("an ETag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
    assert!(r
        .header("Last-Modified")
        .is_some_and(|v| v.ends_with(" GMT")));
    assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    // The same file, the same tag; a changed file, another one.
    assert_eq!(get(&server, &[]).header("ETag"), Some(etag));
    std::fs::write(site.0.join("page.txt"), "changed, and longer").unwrap();
    let r2 = get(&server, &[]);
    assert_ne!(r2.header("ETag"), Some(etag));
    let stale = format!("If-None-Match: {etag}");
    assert_eq!(get(&server, &[&stale]).status, 200);
}

#[test]
fn if_match_and_if_unmodified_since_give_412() {
    let site = Site::new("412");
    let server = Server::start(&site.0);
    let etag = get(&server, &[]).header("ETag").unwrap().to_string();
    let weak = format!("If-Match: W/{etag}");
    let good = format!("If-Match: {etag}");
    let listed = format!("If-Match: \"x\", {etag}");
    for (extra, want) in [
        ("If-Match: \"nope\"", 412),
        ("If-Match: garbage", 412),
        (weak.as_str(), 412),
        (good.as_str(), 200),
        (listed.as_str(), 200),
        ("If-Match: *", 200),
    ] {
        let r = get(&server, &[extra]);
        assert_eq!(r.status, want, "{extra}: {}", r.head);
        if want == 412 {
            assert_eq!(r.text(), "412 Precondition Failed\n");
        }
    }
    let r = server.request("HEAD", b"/page.txt", &["If-Match: \"nope\""]);
    assert_eq!((r.status, r.body.len()), (412, 0));
    let old = format!("If-Unmodified-Since: {OLD}");
    let future = format!("If-Unmodified-Since: {FUTURE}");
    assert_eq!(get(&server, &[&old]).status, 412);
    assert_eq!(get(&server, &[&future]).status, 200);
    assert_eq!(
        get(&server, &["If-Unmodified-Since: not a date"]).status,
        200
    );
}

#[test]
fn if_none_match_gives_304_with_the_validators() {
    let site = Site::new("304");
    let server = Server::start(&site.0);
    let first = get(&server, &[]);
    let etag = first.header("ETag").unwrap();
    for value in [
        etag.to_string(),
        format!("W/{etag}"),
        format!("\"a\", {etag}"),
        "*".into(),
    ] {
        let r = get(&server, &[&format!("If-None-Match: {value}")]);
        assert_eq!((r.status, r.body.len()), (304, 0), "{value}");
        assert_eq!(r.header("ETag"), Some(etag));
        assert_eq!(r.header("Last-Modified"), first.header("Last-Modified"));
        assert_eq!(r.header("Cache-Control"), Some("no-cache"));
    }
    let r = get(&server, &["If-None-Match: \"other\""]);
    assert_eq!((r.status, r.text().as_str()), (200, "0123456789"));
}

#[test]
fn preconditions_follow_rfc_9110_13_2_2() {
    let site = Site::new("order");
    let server = Server::start(&site.0);
    let first = get(&server, &[]);
    let etag = first.header("ETag").unwrap();
    let lm = first.header("Last-Modified").unwrap();
    let inm = format!("If-None-Match: {etag}");
    let im = format!("If-Match: {etag}");
    let ims = format!("If-Modified-Since: {lm}");
    let ius_old = format!("If-Unmodified-Since: {OLD}");
    for (extra, want) in [
        // 1. If-Match first: failing, it wins over a matching If-None-Match.
        (vec!["If-Match: \"nope\"", &inm], 412),
        // 2. If-Unmodified-Since is looked at only without If-Match.
        (vec![&im, &ius_old], 200),
        (vec![&ius_old, &inm], 412),
        // 3. Then If-None-Match...
        (vec![&im, &inm], 304),
        // 4. ...which, when present, makes If-Modified-Since be ignored.
        (vec!["If-None-Match: \"other\"", &ims], 200),
        (vec![&ims], 304),
    ] {
        assert_eq!(get(&server, &extra).status, want, "{extra:?}");
    }
}

#[test]
fn if_range_with_an_etag() {
    let site = Site::new("ifrange");
    let server = Server::start(&site.0);
    let etag = get(&server, &[]).header("ETag").unwrap().to_string();
    let r = get(&server, &["Range: bytes=2-4", &format!("If-Range: {etag}")]);
    assert_eq!((r.status, r.text().as_str()), (206, "234"));
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
    for stale in ["\"other\"".to_string(), format!("W/{etag}")] {
        let r = get(
            &server,
            &["Range: bytes=2-4", &format!("If-Range: {stale}")],
        );
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "0123456789"),
            "{stale}"
        );
    }
}
