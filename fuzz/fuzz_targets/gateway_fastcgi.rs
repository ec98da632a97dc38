//! The fastcgi decoder (wsgiref_core::gateway::fastcgi) on fuzzer-chosen bytes cut at fuzzer-chosen
//! places: never a panic, the same events however the bytes are cut, and a valid request built
//! from fuzzer-chosen params and body decodes to exactly them (`wsgiref_fuzz::gateway_target`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsgiref_fuzz::gateway::Protocol;
use wsgiref_fuzz::gateway_target::{check, Input};

fuzz_target!(|input: Input<'_>| check(Protocol::FastCgi, input));
