//! Unit tests of the error plumbing, in whatever configuration the crate is built with
//! (`Repr::Validation` without `alloc`, a boxed error with it).

use super::*;
use crate::app::StartResponseError;

#[test]
fn validation_errors_read_like_cpython_assertions() {
    let e = AppError::from(ValidationError::StatusCodeTooLow(99));
    assert_eq!(e.kind_name(), "AssertionError");
    let mut line = heapless::String::<96>::new();
    e.write_chain(&mut line, None).unwrap();
    assert_eq!(
        line.as_str(),
        "AssertionError: Status code is invalid: 99\n"
    );
    assert_eq!(
        e.downcast_ref::<ValidationError>(),
        Some(&ValidationError::StatusCodeTooLow(99))
    );
}

#[test]
fn refused_start_response_keeps_the_message() {
    let v = ValidationError::HeadersAlreadySet;
    let e = AppError::from(StartResponseError::Validation(v.clone()));
    assert_eq!(e.kind_name(), "AssertionError");
    let mut text = heapless::String::<64>::new();
    core::fmt::write(&mut text, format_args!("{e}")).unwrap();
    assert_eq!(text.as_str(), "Headers already set!");
}

#[test]
fn errors_stay_small() {
    // Without an allocator an AppError holds a ValidationError inline; it must not make
    // every Result in the crate much larger than the typed errors it already held.
    assert!(core::mem::size_of::<ValidationError>() <= 112);
}
