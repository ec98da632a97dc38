//! The core handler's cost per request, next to `httparse` parsing the same bytes alone.
//!
//! * `typical_get`: a 440-byte browser GET with 10 header fields through a [`Session`] on fixed
//!   memory: environ set up, hello application run, response framed into a reused buffer
//!   (`session_full_cycle`), and the same with an application that first reads four
//!   variables (`session_full_cycle_reading`); beside them `httparse` parsing the bytes
//!   alone (the anchor) and `floor`, httparse plus copying out the finished response;
//! * `minimal_get`: the same for `GET / HTTP/1.1` with only `Host`;
//! * `chunked_upload_1mib`: a 1 MiB chunked upload streamed through a [`Connection`] whose
//!   transport hands out 16 KiB reads, the application draining `wsgi.input`.
//!
//! Run with `cargo bench --bench handler`; the figures are recorded in BENCHMARKS.md.

use std::convert::Infallible;
use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use wsgiref_core::app::{app_fn, StartResponse};
use wsgiref_core::environ::{Environ, EnvironBuf};
use wsgiref_core::handler::{Connection, MemoryBuf, Served, ServerConfig, Session, Step};
use wsgiref_core::proto::{chunk_header, HttpDate, CHUNK_END, LAST_CHUNK};
use wsgiref_core::{AppError, Application};

mod common;
use common::{
    base_environ, floor_once, hello, hello_reading, one_response, BROWSER_GET, MINIMAL_GET,
};

/// httparse alone, then the full cycle, on the same bytes in the same group.
fn full_cycle(c: &mut Criterion, group_name: &str, request: &[u8]) {
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(1));

    group.bench_function("httparse", |b| {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        b.iter(|| {
            let mut req = httparse::Request::new(&mut headers);
            let status = req.parse(black_box(request)).unwrap();
            black_box((status.is_complete(), req.method, req.path));
        })
    });

    // The least any handler does: parse, then copy out the response the cycle writes (taken
    // from one real cycle). What lies between this and the cycle is the handler's own work.
    group.bench_function("floor", |b| {
        let response = one_response(request);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut out = heapless::Vec::<u8, 1024>::new();
        b.iter(|| floor_once(request, &response, &mut headers, &mut out))
    });

    session_cycle(&mut group, "session_full_cycle", hello(), request);
    session_cycle(
        &mut group,
        "session_full_cycle_reading",
        hello_reading(),
        request,
    );
    group.finish();
}

/// The full cycle through a [`Session`]: bytes in, `app` run, response framed.
fn session_cycle<A: Application>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    app: A,
    request: &[u8],
) {
    group.bench_function(name, |b| {
        let mut rx = [0u8; 2048];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut base_buf = EnvironBuf::<256, 8>::new();
        let base = base_environ(&mut base_buf);
        let mut session: Session<'_> =
            Session::new(&mut rx, memory.memory(), ServerConfig::default());
        let date = Some(HttpDate::from_unix(1_700_000_000));
        let mut out = heapless::Vec::<u8, 1024>::new();
        b.iter(|| {
            out.clear();
            session.feed(black_box(request));
            let step = session.process(&app, &base, date, &mut out);
            debug_assert!(matches!(step, Step::Answered(_)));
            black_box((&step, out.len()));
        })
    });
}

fn typical_get(c: &mut Criterion) {
    full_cycle(c, "typical_get", BROWSER_GET);
}

fn minimal_get(c: &mut Criterion) {
    full_cycle(c, "minimal_get", MINIMAL_GET);
}

/// A transport over a prepared request: reads hand out at most `piece` bytes; writes are
/// counted and dropped.
struct Upload<'a> {
    input: &'a [u8],
    piece: usize,
    written: usize,
}

impl embedded_io::ErrorType for Upload<'_> {
    type Error = Infallible;
}

impl embedded_io::Read for Upload<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.input.len()).min(self.piece);
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Upload<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

fn chunked_upload(c: &mut Criterion) {
    const BODY: usize = 1 << 20;
    const CHUNK: usize = 8192;
    let mut request =
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let data: Vec<u8> = (0..BODY).map(|i| (i % 251) as u8).collect();
    for chunk in data.chunks(CHUNK) {
        let mut buf = [0u8; 18];
        request.extend_from_slice(chunk_header(chunk.len(), &mut buf));
        request.extend_from_slice(chunk);
        request.extend_from_slice(CHUNK_END);
    }
    request.extend_from_slice(LAST_CHUNK);

    let drain = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut buf = [0u8; 16 * 1024];
        let mut total = 0usize;
        loop {
            let n = env
                .input()
                .read(&mut buf)
                .map_err(|_| AppError::msg("read failed"))?;
            if n == 0 {
                break;
            }
            total += n;
        }
        if total != BODY {
            return Err(AppError::msg("short body"));
        }
        sr.start("204 No Content", &[])?;
        Ok::<_, AppError>(&b""[..])
    });

    let mut group = c.benchmark_group("chunked_upload_1mib");
    group.throughput(Throughput::Bytes(BODY as u64));
    group.sample_size(30);
    let piece = 16 * 1024;
    group.bench_with_input(
        BenchmarkId::new("connection", "16KiB reads"),
        &piece,
        |b, &piece| {
            let mut rx = vec![0u8; 32 * 1024];
            let mut memory: MemoryBuf = MemoryBuf::new();
            let mut base_buf = EnvironBuf::<256, 8>::new();
            let base = base_environ(&mut base_buf);
            b.iter(|| {
                let transport = Upload {
                    input: &request,
                    piece,
                    written: 0,
                };
                let mut conn: Connection<'_, _> =
                    Connection::new(transport, &mut rx, memory.memory(), ServerConfig::default());
                let served = conn.serve_one(&drain, &base, None);
                assert!(
                    matches!(&served, Ok(Served::Request(log)) if log.status == 204),
                    "{served:?}"
                );
                black_box(conn.into_inner().written)
            })
        },
    );
    group.finish();
}

criterion_group!(benches, typical_get, minimal_get, chunked_upload);
criterion_main!(benches);
