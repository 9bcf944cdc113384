//! A lead source's `POST /api/v1/leads` body: JSON to `LeadIn`, then the lead's checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    roleta::fuzzing::lead_body(data);
});
