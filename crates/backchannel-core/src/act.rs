//! Acts: the signed, hash-chained entries of the case log.
