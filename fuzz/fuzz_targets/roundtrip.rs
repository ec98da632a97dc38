//! Generated valid requests (Content-Length or chunked) must reach the application intact:
//! method, percent-decoded path, query, `HTTP_*` headers and body exactly as generated.
#![no_main]

use std::cell::RefCell;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsgiref_core::handler::Step;
use wsgiref_fuzz::driver::drive;
use wsgiref_fuzz::gen::{recording_app, Parts, Spec};

#[derive(Arbitrary, Debug)]
struct Input {
    method: Vec<u8>,
    path: Vec<u8>,
    upper_hex: bool,
    query: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    chunks: Option<Vec<u16>>,
}

fuzz_target!(|input: Input| {
    let spec = Spec::from_parts(Parts {
        method: input.method,
        path: input.path,
        upper_hex: input.upper_hex,
        query: input.query,
        headers: input.headers,
        body: input.body,
        chunks: input.chunks,
    });
    let request = spec.encode();
    let seen = RefCell::new(Vec::new());
    let app = recording_app(&seen);
    let run = drive(&app, [&request[..]], 32 * 1024);
    drop(app);
    let steps = run.comparable_steps();
    assert!(
        matches!(&steps[..], [Step::Answered(log), Step::Close] if log.status == 204),
        "steps {steps:?} for {:?}",
        String::from_utf8_lossy(&request)
    );
    let seen = seen.into_inner();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0],
        spec.expected(),
        "request {:?}",
        String::from_utf8_lossy(&request)
    );
});
