//! The `serve` example's directory listing and redirects, through the running process: names
//! that try to disguise themselves, sizes and dates, symlinks, dotfiles (shown by default,
//! hidden and refused under `--no-dotfiles`), and a `Location` that cannot carry raw markup.

mod serve_support;

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use serve_support::Server;

/// `base/root` (served) and `base/outside.txt` next to it.
struct Site {
    base: PathBuf,
    root: PathBuf,
}

impl Site {
    fn new(tag: &str) -> Site {
        let base =
            std::env::temp_dir().join(format!("wsgiref-serve-list-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".private")).unwrap();
        std::fs::write(base.join("outside.txt"), "outside").unwrap();
        std::fs::write(root.join("sub/inner.txt"), "inner").unwrap();
        std::fs::write(root.join(".env"), "SECRET=1").unwrap();
        std::fs::write(root.join(".private/key"), "k").unwrap();
        Site { base, root }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn listing(server: &Server, path: &[u8]) -> String {
    let r = server.request("GET", path, &[]);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.head.contains("text/html"), "{}", r.head);
    r.text()
}

#[test]
fn bidi_and_invisible_characters_are_shown_escaped() {
    let site = Site::new("bidi");
    for name in [
        "invoice\u{202E}fdp.exe",
        "a\u{2066}b\u{2069}",
        "x\u{200F}y",
        "z\u{200B}w",
    ] {
        std::fs::write(site.root.join(name), "x").unwrap();
    }
    let server = Server::start(&site.root);
    let page = listing(&server, b"/");
    for c in ['\u{202E}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{200B}'] {
        assert!(!page.contains(c), "raw U+{:04X} in\n{page}", u32::from(c));
    }
    for shown in [
        "invoice<span class=\"cp\">U+202E</span>fdp.exe",
        "a<span class=\"cp\">U+2066</span>b<span class=\"cp\">U+2069</span>",
        "x<span class=\"cp\">U+200F</span>y",
        "z<span class=\"cp\">U+200B</span>w",
    ] {
        assert!(page.contains(shown), "no {shown:?} in\n{page}");
    }
    // The link still leads to the file itself.
    assert!(
        page.contains("href=\"./invoice%E2%80%AEfdp.exe\""),
        "{page}"
    );
    let r = server.request("GET", b"/invoice%E2%80%AEfdp.exe", &[]);
    assert_eq!(r.status, 200);
}

#[test]
fn entries_show_size_and_modification_time() {
    let site = Site::new("sizes");
    let file = site.root.join("data.bin");
    std::fs::write(&file, vec![7u8; 1234]).unwrap();
    let when = UNIX_EPOCH + Duration::from_secs(784_111_777);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let server = Server::start(&site.root);
    let page = listing(&server, b"/");
    let row = page
        .lines()
        .find(|l| l.contains("href=\"./data.bin\""))
        .unwrap_or_else(|| panic!("no row for data.bin in\n{page}"));
    assert!(row.contains(">1234<"), "{row}");
    assert!(row.contains("Sun, 06 Nov 1994 08:49:37 GMT"), "{row}");
    let row = page
        .lines()
        .find(|l| l.contains("href=\"./sub/\""))
        .unwrap();
    assert!(row.contains(">-<"), "a directory has no size: {row}");
}

#[cfg(unix)]
#[test]
fn symlinks_leading_outside_are_not_listed() {
    use std::os::unix::fs::symlink;
    let site = Site::new("links");
    symlink(site.base.join("outside.txt"), site.root.join("escape.txt")).unwrap();
    symlink(&site.base, site.root.join("escape-dir")).unwrap();
    symlink("missing", site.root.join("dangling")).unwrap();
    symlink("sub/inner.txt", site.root.join("inside.txt")).unwrap();
    symlink("sub", site.root.join("inside-dir")).unwrap();
    let server = Server::start(&site.root);
    let page = listing(&server, b"/");
    for gone in ["escape.txt", "escape-dir", "dangling"] {
        assert!(!page.contains(gone), "{gone} listed:\n{page}");
        let r = server.request("GET", format!("/{gone}").as_bytes(), &[]);
        assert_eq!(r.status, 404, "{gone}");
    }
    assert!(
        page.contains("<a href=\"./inside.txt\">inside.txt</a>"),
        "{page}"
    );
    // A link to a directory inside is listed as a directory.
    assert!(
        page.contains("<a href=\"./inside-dir/\">inside-dir/</a>"),
        "{page}"
    );
    assert_eq!(server.request("GET", b"/inside.txt", &[]).text(), "inner");
}

#[test]
fn dotfiles_are_listed_and_served_by_default() {
    let site = Site::new("dot-default");
    let server = Server::start(&site.root);
    let page = listing(&server, b"/");
    assert!(page.contains("<a href=\"./.env\">.env</a>"), "{page}");
    assert!(
        page.contains("<a href=\"./.private/\">.private/</a>"),
        "{page}"
    );
    assert_eq!(server.request("GET", b"/.env", &[]).text(), "SECRET=1");
    assert_eq!(server.request("GET", b"/.private/key", &[]).status, 200);
}

#[test]
fn no_dotfiles_hides_and_refuses_them() {
    let site = Site::new("dot-hidden");
    #[cfg(unix)]
    std::os::unix::fs::symlink(".env", site.root.join("env-link")).unwrap();
    let server = Server::start_with(&site.root, &["--no-dotfiles"]);
    let page = listing(&server, b"/");
    assert!(
        !page.contains(".env") && !page.contains(".private"),
        "{page}"
    );
    assert!(
        !page.contains("env-link"),
        "a link to a dotfile is hidden too:\n{page}"
    );
    assert!(page.contains("sub/"), "{page}");
    for path in [
        &b"/.env"[..],
        b"/.private/key",
        b"/.private/",
        b"/%2eenv",
        b"/env-link",
    ] {
        let r = server.request("GET", path, &[]);
        assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(path));
    }
    assert_eq!(server.request("GET", b"/sub/inner.txt", &[]).status, 200);
}

#[test]
fn redirect_location_percent_encodes_the_query() {
    let site = Site::new("location");
    let server = Server::start(&site.root);
    let r = server.request("GET", b"/sub?q=\"><script>&x=%20`{|}", &[]);
    assert_eq!(r.status, 301, "{}", r.head);
    assert_eq!(
        r.header("Location"),
        Some("/sub/?q=%22%3E%3Cscript%3E&x=%20%60%7B%7C%7D")
    );
    assert!(!r.text().contains('<'), "{}", r.text());
}
