//! A phone number as a person types it, normalised to E.164.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = roleta::fuzzing::phone(text);
    }
});
