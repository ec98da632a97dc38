//! docs/guide.md names every function, class, method and attribute that Python's wsgiref
//! documentation (the project's seed) documents, so a Python user finds each one.
//!
//! The list is the seed's `.. function::`, `.. class::`, `.. method::` and `.. attribute::`
//! entries (45 names). A name counts as covered when the guide shows its last component in
//! code (a backtick, then the name).

const SEED_NAMES: &[&str] = &[
    "BaseCGIHandler",
    "BaseHandler",
    "BaseHandler._flush",
    "BaseHandler._write",
    "BaseHandler.add_cgi_vars",
    "BaseHandler.error_body",
    "BaseHandler.error_headers",
    "BaseHandler.error_output",
    "BaseHandler.error_status",
    "BaseHandler.get_scheme",
    "BaseHandler.get_stderr",
    "BaseHandler.get_stdin",
    "BaseHandler.http_version",
    "BaseHandler.log_exception",
    "BaseHandler.origin_server",
    "BaseHandler.os_environ",
    "BaseHandler.run",
    "BaseHandler.sendfile",
    "BaseHandler.server_software",
    "BaseHandler.setup_environ",
    "BaseHandler.traceback_limit",
    "BaseHandler.wsgi_file_wrapper",
    "BaseHandler.wsgi_multiprocess",
    "BaseHandler.wsgi_multithread",
    "BaseHandler.wsgi_run_once",
    "CGIHandler",
    "FileWrapper",
    "Headers",
    "Headers.add_header",
    "Headers.get_all",
    "IISCGIHandler",
    "SimpleHandler",
    "WSGIRequestHandler",
    "WSGIRequestHandler.get_environ",
    "WSGIRequestHandler.get_stderr",
    "WSGIRequestHandler.handle",
    "WSGIServer",
    "WSGIServer.get_app",
    "WSGIServer.set_app",
    "application_uri",
    "demo_app",
    "guess_scheme",
    "is_hop_by_hop",
    "make_server",
    "read_environ",
    "request_uri",
    "setup_testing_defaults",
    "shift_path_info",
    "validator",
];

#[test]
fn the_guide_names_every_seed_name() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/guide.md"))
        .expect("docs/guide.md");
    let missing: Vec<&str> = SEED_NAMES
        .iter()
        .copied()
        .filter(|name| {
            let last = name.rsplit('.').next().unwrap_or(name);
            !guide.contains(&format!("`{last}"))
                && !guide.contains(&format!(".{last}"))
                && !guide.contains(&format!(" {last}("))
        })
        .collect();
    assert!(missing.is_empty(), "not in docs/guide.md: {missing:?}");
}

#[test]
fn the_guide_shows_each_seed_example() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/guide.md"))
        .expect("docs/guide.md");
    // The seed's worked examples, by the application or call each one is about.
    for needle in [
        "fn simple_app",                     // setup_testing_defaults + make_server
        "FileWrapper::with_blksize",         // FileWrapper over a buffer, blksize 5
        "filename",                          // Headers.add_header content-disposition
        "make_server(\"\", 8000, demo_app)", // demo_app, serve_forever / handle_request
        "validator(simple_app)",             // the validator example
        "fn hello_world_app",                // the closing Hello World
        "--example serve",                   // the directory server
    ] {
        assert!(
            guide.contains(needle),
            "the guide lacks the example with {needle:?}"
        );
    }
}
