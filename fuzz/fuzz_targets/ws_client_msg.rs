//! A broker client's WebSocket text frame: `ClientMsg` from JSON and the answer built from it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The socket only hands text frames that are valid UTF-8 to the parser.
    if let Ok(text) = std::str::from_utf8(data) {
        roleta::fuzzing::ws_client_text(text);
    }
});
