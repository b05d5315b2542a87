//! Configuration: the builder, the environment, and what `Debug` shows.

use gerbang_core::Error;
use gerbang_crypto_invoice::{BodyFormat, CryptoInvoiceConfig, DEFAULT_BASE_URL};

use crate::common::{PRIVATE_KEY, PUBLIC_KEY};

#[test]
fn defaults_are_live_json_and_the_payid19_url() {
    let config = CryptoInvoiceConfig::builder(PUBLIC_KEY, PRIVATE_KEY).build().unwrap();
    assert_eq!(config.base_url().as_str(), DEFAULT_BASE_URL);
    assert!(!config.test_mode());
    assert_eq!(config.body_format(), BodyFormat::Json);
}

#[test]
fn debug_shows_test_mode_and_never_the_keys() {
    let config = CryptoInvoiceConfig::builder(PUBLIC_KEY, PRIVATE_KEY).test_mode(true).build().unwrap();
    let shown = format!("{config:?}");
    assert!(shown.contains("test_mode: true"), "{shown}");
    assert!(!shown.contains(PUBLIC_KEY) && !shown.contains(PRIVATE_KEY), "{shown}");
    let builder = format!("{:?}", CryptoInvoiceConfig::builder(PUBLIC_KEY, PRIVATE_KEY));
    assert!(!builder.contains(PUBLIC_KEY) && !builder.contains(PRIVATE_KEY), "{builder}");
}

#[test]
fn empty_keys_and_bad_urls_are_config_errors() {
    assert!(matches!(CryptoInvoiceConfig::builder(" ", PRIVATE_KEY).build(), Err(Error::Config { .. })));
    assert!(matches!(CryptoInvoiceConfig::builder(PUBLIC_KEY, "").build(), Err(Error::Config { .. })));
    let bad = CryptoInvoiceConfig::builder(PUBLIC_KEY, PRIVATE_KEY).base_url("ftp://x").build();
    assert!(matches!(bad, Err(Error::Config { .. })));
}

#[test]
fn the_body_format_parses_from_its_name() {
    assert_eq!("FORM".parse::<BodyFormat>().unwrap(), BodyFormat::Form);
    assert_eq!("json".parse::<BodyFormat>().unwrap(), BodyFormat::Json);
    assert!("xml".parse::<BodyFormat>().is_err());
}
