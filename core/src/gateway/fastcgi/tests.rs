//! Unit tests of the FastCGI decoder against hand-built records.

use std::vec::Vec;

use super::*;
use crate::gateway::{Error, ErrorKind, Limits, Place};

fn record(t: u8, id: u16, content: &[u8], padding: u8) -> Vec<u8> {
    let mut out = RecordHeader {
        record_type: t,
        request_id: id,
        content_length: content.len() as u16,
        padding_length: padding,
    }
    .encode()
    .to_vec();
    out.extend_from_slice(content);
    out.extend(core::iter::repeat_n(0xAA, usize::from(padding)));
    out
}

fn begin(id: u16, role: u16, flags: u8) -> Vec<u8> {
    let r = role.to_be_bytes();
    record(1, id, &[r[0], r[1], flags, 0, 0, 0, 0, 0], 0)
}

fn pair(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for len in [name.len(), value.len()] {
        if len < 128 {
            out.push(len as u8);
        } else {
            out.extend_from_slice(&(len as u32 | 0x8000_0000).to_be_bytes());
        }
    }
    out.extend_from_slice(name);
    out.extend_from_slice(value);
    out
}

/// Every event of `bytes` fed whole, as owned values; stops at the first error.
#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Params(Vec<(Vec<u8>, Vec<u8>)>),
    Body(Vec<u8>),
    End,
    Abort,
    Reply(Vec<u8>),
    Err(Error),
}

fn run(d: &mut Decoder<Vec<u8>>, bytes: &[u8]) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut input = bytes;
    loop {
        match d.feed(input) {
            Err(e) => {
                out.push(Ev::Err(e));
                return out;
            }
            Ok((used, event)) => {
                input = &input[used..];
                out.push(match event {
                    Event::NeedMore => return out,
                    Event::Params => Ev::Params(
                        d.params()
                            .unwrap()
                            .iter()
                            .map(|(n, v)| (n.to_vec(), v.to_vec()))
                            .collect(),
                    ),
                    Event::Body(b) => Ev::Body(b.to_vec()),
                    Event::End => Ev::End,
                    Event::Abort => Ev::Abort,
                    Event::Reply(r) => Ev::Reply(r.as_bytes().to_vec()),
                })
            }
        }
    }
}

fn decoder() -> Decoder<Vec<u8>> {
    Decoder::new(std::vec![0; 1024], Limits::DEFAULT, Config::DEFAULT)
}

fn owned(pairs: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect()
}

#[test]
fn params_split_across_records_and_a_padded_body_then_a_second_request() {
    let long = std::vec![b'v'; 300];
    let mut params = pair(b"REQUEST_METHOD", b"POST");
    params.extend(pair(b"HTTP_COOKIE", &long));
    let (a, b) = params.split_at(17); // inside the second pair's lengths
    let mut wire = begin(1, 1, FLAG_KEEP_CONN);
    wire.extend(record(4, 1, a, 7));
    wire.extend(record(4, 1, b, 0));
    wire.extend(record(4, 1, b"", 0));
    wire.extend(record(5, 1, b"hello ", 2));
    wire.extend(record(5, 1, b"world", 3));
    wire.extend(record(5, 1, b"", 0));
    let mut d = decoder();
    assert_eq!(
        run(&mut d, &wire),
        [
            Ev::Params(owned(&[
                (b"REQUEST_METHOD", b"POST"),
                (b"HTTP_COOKIE", &long)
            ])),
            Ev::Body(b"hello ".to_vec()),
            Ev::Body(b"world".to_vec()),
            Ev::End,
        ]
    );
    assert_eq!(d.request_id(), Some(1));
    assert!(d.keep_conn());
    let end = d.end_request(7).unwrap();
    assert_eq!(
        end.record,
        end_request(1, 7, ProtocolStatus::RequestComplete)
    );
    assert!(end.keep_conn);
    assert_eq!(d.end_request(0), None);
    assert_eq!(d.params(), None);

    // The next request on the same connection, without keep-conn this time.
    let mut wire = begin(2, 1, 0);
    wire.extend(record(4, 2, &pair(b"A", b"b"), 0));
    wire.extend(record(4, 2, b"", 0));
    wire.extend(record(5, 2, b"", 0));
    assert_eq!(
        run(&mut d, &wire),
        [Ev::Params(owned(&[(b"A", b"b")])), Ev::End]
    );
    assert!(!d.end_request(0).unwrap().keep_conn);
}

#[test]
fn other_roles_are_refused_and_their_records_ignored() {
    let mut wire = begin(3, 2, 0); // Authorizer
    wire.extend(record(4, 3, &pair(b"A", b"b"), 0));
    wire.extend(record(4, 3, b"", 0));
    wire.extend(record(5, 3, b"x", 0));
    let mut d = decoder();
    assert_eq!(
        run(&mut d, &wire),
        [Ev::Reply(
            end_request(3, 0, ProtocolStatus::UnknownRole).to_vec()
        )]
    );
    assert_eq!(d.request_id(), None);
}

#[test]
fn a_second_request_at_once_is_refused_and_the_first_goes_on() {
    let mut wire = begin(1, 1, FLAG_KEEP_CONN);
    wire.extend(begin(2, 1, 0));
    wire.extend(record(4, 2, b"", 0));
    wire.extend(record(4, 1, b"", 0));
    wire.extend(record(5, 1, b"", 0));
    assert_eq!(
        run(&mut decoder(), &wire),
        [
            Ev::Reply(end_request(2, 0, ProtocolStatus::CantMpxConn).to_vec()),
            Ev::Params(Vec::new()),
            Ev::End,
        ]
    );
}

#[test]
fn get_values_answers_what_it_knows_once() {
    let mut query = pair(b"FCGI_MPXS_CONNS", b"");
    query.extend(pair(b"FCGI_MAX_CONNS", b""));
    query.extend(pair(b"FCGI_MAX_CONNS", b""));
    query.extend(pair(b"FCGI_UNHEARD_OF", b""));
    query.extend(pair(b"FCGI_MAX_REQS", b""));
    let mut d = Decoder::new(
        std::vec![0; 64],
        Limits::DEFAULT,
        Config {
            max_conns: 4096,
            max_reqs: 7,
        },
    );
    let events = run(&mut d, &record(9, 0, &query, 3));
    let mut content = pair(b"FCGI_MAX_CONNS", b"4096");
    content.extend(pair(b"FCGI_MAX_REQS", b"7"));
    content.extend(pair(b"FCGI_MPXS_CONNS", b"0"));
    let pad = padding_for(content.len());
    let mut expected = record(10, 0, &content, 0);
    expected[6] = pad;
    expected.extend(core::iter::repeat_n(0, usize::from(pad)));
    assert_eq!(events, [Ev::Reply(expected)]);
    assert_eq!(decimal_check(u32::MAX), b"4294967295");
}

fn decimal_check(n: u32) -> Vec<u8> {
    let mut d = Decoder::new(
        std::vec![0; 64],
        Limits::DEFAULT,
        Config {
            max_conns: n,
            max_reqs: n,
        },
    );
    let mut q = pair(b"FCGI_MAX_CONNS", b"");
    q.extend(pair(b"FCGI_MAX_REQS", b""));
    q.extend(pair(b"FCGI_MPXS_CONNS", b""));
    let Ev::Reply(r) = run(&mut d, &record(9, 0, &q, 0)).remove(0) else {
        panic!("no reply")
    };
    // The largest reply fits: header + 69 bytes + 3 of padding.
    assert_eq!(r.len(), 80);
    r[8 + 2 + 14..8 + 2 + 14 + 10].to_vec()
}

#[test]
fn unknown_types_are_answered_and_skipped() {
    let mut wire = record(12, 0, b"whatever", 0);
    wire.extend(record(200, 5, b"", 4));
    wire.extend(record(0, 0, b"x", 0));
    assert_eq!(
        run(&mut decoder(), &wire),
        [
            Ev::Reply(record(11, 0, &[12, 0, 0, 0, 0, 0, 0, 0], 0)),
            Ev::Reply(record(11, 0, &[200, 0, 0, 0, 0, 0, 0, 0], 0)),
            Ev::Reply(record(11, 0, &[0, 0, 0, 0, 0, 0, 0, 0], 0)),
        ]
    );
}

#[test]
fn abort_of_the_active_request_and_ending_it_early() {
    let mut wire = begin(1, 1, FLAG_KEEP_CONN);
    wire.extend(record(4, 1, b"", 0));
    wire.extend(record(5, 1, b"part", 0));
    wire.extend(record(2, 1, b"", 0));
    wire.extend(record(2, 9, b"", 0)); // not active: ignored
    let mut d = decoder();
    assert_eq!(
        run(&mut d, &wire),
        [
            Ev::Params(Vec::new()),
            Ev::Body(b"part".to_vec()),
            Ev::Abort
        ]
    );
    // The application answered before reading the whole body: the rest is skipped.
    assert!(d.end_request(0).is_some());
    let mut wire = record(5, 1, b"rest", 0);
    wire.extend(record(5, 1, b"", 0));
    wire.extend(begin(1, 1, 0));
    wire.extend(record(4, 1, b"", 0));
    assert_eq!(run(&mut d, &wire), [Ev::Params(Vec::new())]);
}

#[test]
fn refusals_say_what_and_where() {
    let refuse = |wire: &[u8]| match run(&mut decoder(), wire).pop() {
        Some(Ev::Err(e)) => e,
        other => panic!("not refused: {other:?}"),
    };
    let at = |kind, n| Error::at(kind, n);
    let mut bad_version = begin(1, 1, 0);
    bad_version[0] = 2;
    assert_eq!(
        refuse(&bad_version),
        at(ErrorKind::UnsupportedVersion(2), 0)
    );
    let mut wire = begin(1, 1, 0);
    wire.extend(record(6, 1, b"out", 0));
    assert_eq!(refuse(&wire), at(ErrorKind::UnexpectedRecord(6), 16));
    assert_eq!(
        refuse(&record(1, 1, &[0, 1, 0, 0], 0)),
        at(ErrorKind::BadBeginRequest, 0)
    );
    assert_eq!(
        refuse(&record(1, 0, &[0, 1, 0, 0, 0, 0, 0, 0], 0)),
        at(ErrorKind::OutOfOrder(1), 0)
    );
    assert_eq!(
        refuse(&record(9, 1, b"", 0)),
        at(ErrorKind::OutOfOrder(9), 0)
    );
    assert_eq!(
        refuse(&record(9, 0, &[0; MAX_GET_VALUES + 1], 0)),
        at(ErrorKind::GetValuesTooLarge, 0)
    );
    let mut wire = begin(1, 1, 0);
    wire.extend(begin(1, 1, 0));
    assert_eq!(refuse(&wire), at(ErrorKind::DuplicateRequest, 32));
    let mut wire = begin(1, 1, 0);
    wire.extend(record(5, 1, b"x", 0));
    assert_eq!(refuse(&wire), at(ErrorKind::OutOfOrder(5), 16));
    let mut wire = begin(1, 1, 0);
    wire.extend(record(4, 1, b"", 0));
    wire.extend(record(4, 1, b"", 0));
    assert_eq!(refuse(&wire), at(ErrorKind::OutOfOrder(4), 24));
    // A pair that runs past the end of the params, placed in the params.
    let mut wire = begin(1, 1, 0);
    wire.extend(record(4, 1, &pair(b"A", b"b"), 0));
    wire.extend(record(4, 1, &[1, 9, b'B'], 0));
    wire.extend(record(4, 1, b"", 0));
    assert_eq!(
        refuse(&wire),
        Error {
            kind: ErrorKind::TruncatedPair,
            place: Place::Params(4)
        }
    );
    // More params than the buffer: refused at the header of the record that does not fit.
    let mut d = Decoder::new(std::vec![0; 8], Limits::DEFAULT, Config::DEFAULT);
    let mut wire = begin(1, 1, 0);
    wire.extend(record(4, 1, &pair(b"NAME", b"value"), 0));
    assert_eq!(
        run(&mut d, &wire).pop(),
        Some(Ev::Err(at(ErrorKind::ParamsTooLarge, 16)))
    );
    // Final until reset.
    assert_eq!(d.feed(b""), Err(at(ErrorKind::ParamsTooLarge, 16)));
    d.reset();
    assert_eq!(d.feed(&begin(1, 1, 0)).unwrap(), (16, Event::NeedMore));
    // The body limit counts STDIN bytes as their records announce them.
    let mut d = Decoder::new(
        std::vec![0; 8],
        Limits {
            max_body: 5,
            ..Limits::DEFAULT
        },
        Config::DEFAULT,
    );
    let mut wire = begin(1, 1, 0);
    wire.extend(record(4, 1, b"", 0));
    wire.extend(record(5, 1, b"abc", 0));
    wire.extend(record(5, 1, b"def", 0));
    assert_eq!(
        run(&mut d, &wire),
        [
            Ev::Params(Vec::new()),
            Ev::Body(b"abc".to_vec()),
            Ev::Err(at(ErrorKind::BodyTooLarge, 35))
        ]
    );
}

#[test]
fn one_byte_at_a_time_gives_the_same_events() {
    let mut wire = begin(1, 1, FLAG_KEEP_CONN);
    wire.extend(record(4, 1, &pair(b"QUERY_STRING", b"a=1"), 5));
    wire.extend(record(4, 1, b"", 0));
    wire.extend(record(9, 0, &pair(b"FCGI_MPXS_CONNS", b""), 0));
    wire.extend(record(5, 1, b"xyz", 1));
    wire.extend(record(5, 1, b"", 0));
    let whole = run(&mut decoder(), &wire);
    let mut d = decoder();
    let mut split = Vec::new();
    let mut body = Vec::new();
    for byte in &wire {
        for ev in run(&mut d, core::slice::from_ref(byte)) {
            match ev {
                Ev::Body(b) => body.extend(b),
                other => {
                    if !body.is_empty() {
                        split.push(Ev::Body(core::mem::take(&mut body)));
                    }
                    split.push(other)
                }
            }
        }
    }
    assert_eq!(whole, split);
    assert_eq!(whole.len(), 4);
}
