//! Headless Chromium loads the test site in `tests/browser/` from the `serve` example and the
//! dumped DOM shows that the page's script ran, its stylesheet applied and its image decoded:
//! three more requests, three content types a browser is strict about.
//!
//! Chromium is required (Debian package `chromium`, installed by `.ci/run`); the test fails,
//! loudly, when it is missing rather than passing without having run.

mod serve_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serve_support::{run_with_timeout, Server};

/// Long enough for a cold Chromium start on a loaded CI machine.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

fn chromium() -> &'static str {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return candidate;
        }
    }
    panic!(
        "Chromium is not installed (tried chromium, chromium-browser, google-chrome); \
         `apt-get install chromium` (.ci/run does this)"
    );
}

/// The DOM Chromium builds for `url` (`--dump-dom`), with a throw-away profile named by `tag`.
fn dump_dom(browser: &str, url: &str, tag: &str) -> Result<String, String> {
    let profile = std::env::temp_dir().join(format!(
        "wsgiref-serve-chromium-{tag}-{}",
        std::process::id()
    ));
    let dom = run_with_timeout(
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(url),
        CHROMIUM_TIMEOUT,
    );
    let _ = std::fs::remove_dir_all(&profile);
    dom
}

#[test]
fn chromium_renders_the_test_site() {
    let browser = chromium();
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let server = Server::start(&site);
    let dom = dump_dom(browser, &server.url("/"), "site");
    let log = server.stop();
    let dom = dom.unwrap_or_else(|e| panic!("{e}\nserver log:\n{log}"));
    assert!(
        dom.contains("script-ran color=rgb(1, 2, 3) image=3x2"),
        "the DOM does not show the script's report:\n{dom}\nserver log:\n{log}"
    );
    assert!(dom.contains("<h1 id=\"title\">Loaded</h1>"), "{dom}");
    for path in ["/static/style.css", "/static/app.js", "/static/pixel.png"] {
        assert!(
            log.contains(path),
            "no request for {path} in the log:\n{log}"
        );
    }
}

#[test]
fn chromium_renders_a_listing_with_escaped_names_sizes_and_dates() {
    let browser = chromium();
    let site = std::env::temp_dir().join(format!(
        "wsgiref-serve-chromium-listing-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&site);
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(site.join("invoice\u{202E}fdp.exe"), "MZ").unwrap();
    std::fs::write(site.join("notes.txt"), vec![b'n'; 1234]).unwrap();
    let server = Server::start(&site);
    let dom = dump_dom(browser, &server.url("/"), "listing");
    let log = server.stop();
    let _ = std::fs::remove_dir_all(&site);
    let dom = dom.unwrap_or_else(|e| panic!("{e}\nserver log:\n{log}"));
    // The browser parsed the table, kept the override out of the text and shows it boxed.
    assert!(dom.contains("<tbody>"), "{dom}");
    assert!(!dom.contains('\u{202E}'), "{dom}");
    assert!(
        dom.contains("invoice<span class=\"cp\">U+202E</span>fdp.exe"),
        "{dom}"
    );
    let row = dom
        .lines()
        .find(|l| l.contains("notes.txt"))
        .unwrap_or_else(|| panic!("no notes.txt row in\n{dom}"));
    assert!(row.contains("<td class=\"size\">1234</td>"), "{row}");
    assert!(row.contains(" GMT</td>"), "{row}");
    assert!(dom.contains("<a href=\"./docs/\">docs/</a>"), "{dom}");
}
