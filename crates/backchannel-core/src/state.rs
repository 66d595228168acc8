//! The case state: a fold over verified acts.
