//! crypto invoices for gerbang. (Being built: see the issue.)
#![forbid(unsafe_code)]
#![warn(missing_docs)]
