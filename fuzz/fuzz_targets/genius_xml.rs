//! Fuzzes the GENIUS domain and utility-space parsers.
#![no_main]

use backchannel_formula::genius;
use libfuzzer_sys::fuzz_target;

const DOMAIN: &str = "<negotiation_template><utility_space><objective index=\"0\" name=\"root\">\
<issue index=\"1\" name=\"a\" etype=\"discrete\"><item index=\"1\" value=\"x\"/><item index=\"2\" value=\"y\"/></issue>\
<issue index=\"2\" name=\"n\" etype=\"integer\" lowerbound=\"0\" upperbound=\"3\"/>\
</objective></utility_space></negotiation_template>";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(domain) = genius::parse_domain(&text) {
        let _ = genius::parse_profile(&text, &domain);
    }
    if let Ok(domain) = genius::parse_domain(DOMAIN) {
        let _ = genius::parse_profile(&text, &domain);
    }
});
