//! Fuzzes the offline record verifier: record JSON, then every act's signature, chain and
//! rules, folded from genesis.
#![no_main]

use backchannel_core::record::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Record::verify(data);
});
