//! Fuzzes the parser of the signed-request `Authorization` header. What parses must render
//! to a header that parses to the same value.
#![no_main]

use backchannel_core::auth::RequestAuth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(auth) = RequestAuth::parse(text) {
        assert_eq!(RequestAuth::parse(&auth.header_value()), Some(auth.clone()));
        // The signature check must not panic on whatever key and signature were parsed.
        let _ = auth.verify("POST", "/v1/cases", b"{}");
    }
});
