//! A lead-number template with a year and a sequence number. Input layout: 4 bytes of year and
//! 8 bytes of sequence (little-endian), then the template as UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<12>() else {
        return;
    };
    let Ok(template) = std::str::from_utf8(rest) else {
        return;
    };
    let (year, seq) = head.split_at(4);
    let year = i32::from_le_bytes(year.try_into().unwrap_or_default());
    let seq = i64::from_le_bytes(seq.try_into().unwrap_or_default());
    roleta::fuzzing::lead_number(template, year, seq);
});
