//! Fuzzes the signed-act decoder: envelope JSON, payload JSON, version and signature. What
//! decodes must decode again, identically, from its own wire bytes.
#![no_main]

use backchannel_core::SignedAct;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(verified) = SignedAct::decode(data) {
        let again = SignedAct::decode(&verified.signed.to_bytes());
        assert_eq!(again.as_ref(), Ok(&verified));
    }
});
