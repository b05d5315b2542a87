//! Reading a JSON object field by field, leniently and exactly.
//!
//! Cash In's document (`seeds/001_3ab17dd2bbbc66f1.txt`) types amounts loosely: the status
//! answer's `amount` is a number written `4000.00`, the notification's `amount.value` is typed
//! "String" but its example sends `1000`. Each field is kept as its raw JSON text until it is
//! read, so a number becomes a [`Decimal`] from its exact spelling (never through a float), and
//! either a number or a string is accepted where the document is unsure. Fields no one reads are
//! kept, as JSON, for the types' `extra`.

pub(crate) use gerbang_core::de::RawObject as Object;
