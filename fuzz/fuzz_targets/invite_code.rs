//! Fuzzes the invite-code decoder (text people paste). What decodes must encode to a code
//! that decodes to the same value.
#![no_main]

use backchannel_client::InviteCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(code) = InviteCode::decode(&text) {
        assert_eq!(InviteCode::decode(&code.encode()).ok(), Some(code));
    }
});
