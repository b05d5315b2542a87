//! Request bodies, written exactly as sent, in JSON or as form fields.

use gerbang_core::Decimal;
use gerbang_core::secrecy::{ExposeSecret, SecretString};

use crate::config::BodyFormat;
use crate::request::CreateInvoiceRequest;

/// A field's value, as it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    /// Text: a JSON string, or a form value.
    Text(String),
    /// A number, as its exact decimal text: a JSON number written digit for digit, or a form
    /// value.
    Number(String),
}

/// **Decision** (`PROVIDERS.md` §4, `seeds/003_344fd773d4347651.txt`): decimals are sent as
/// JSON *numbers*, because the document types `price_amount` as "Decimal" and every example
/// sends numbers (`'price_amount' => 725`, `margin_ratio: 1.5`). The number is written from the
/// decimal's own text (`Decimal::to_string`, which never uses an exponent and keeps every
/// digit and the scale: `725.50` stays `725.50`), never through a float, so no digit is lost; in a
/// form body the same text is the value.
pub(crate) fn decimal(value: Decimal) -> Field {
    Field::Number(value.to_string())
}

/// **Decision** (`seeds/003_344fd773d4347651.txt`): `banned_coins` is typed "JSON" and both of the
/// document's examples send it as JSON *text* (PHP `json_encode(array(...))`, JavaScript
/// `JSON.stringify([...])`), so it is sent as a string holding a JSON array (`["BTC","USDT-ERC20"]`)
/// in JSON and form bodies alike.
pub(crate) fn banned_coins(request: &CreateInvoiceRequest) -> Field {
    let codes: Vec<serde_json::Value> =
        request.banned_coins.iter().map(|coin| serde_json::Value::String(coin.to_string())).collect();
    Field::Text(serde_json::Value::Array(codes).to_string())
}

/// A flag the document describes as "1, or null": `1` when on, left out when off.
fn flag(on: bool) -> Option<Field> {
    on.then(|| Field::Number("1".to_owned()))
}

/// `text` as a JSON string, escaped by serde_json, written straight into `out`.
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// A body: named fields in the document's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Body(Vec<(&'static str, Field)>);

impl Body {
    fn with_keys(public_key: &SecretString, private_key: &SecretString) -> Self {
        Self(vec![
            ("public_key", Field::Text(public_key.expose_secret().to_owned())),
            ("private_key", Field::Text(private_key.expose_secret().to_owned())),
        ])
    }

    fn push(&mut self, name: &'static str, field: Option<Field>) {
        if let Some(field) = field {
            self.0.push((name, field));
        }
    }

    /// The `create_invoice` body, fields in the order of the document's table. `test` is on
    /// when the request or the config's test mode asks for it.
    pub(crate) fn create_invoice(
        request: &CreateInvoiceRequest,
        public_key: &SecretString,
        private_key: &SecretString,
        test_mode: bool,
    ) -> Self {
        let text = |v: &Option<String>| v.clone().map(Field::Text);
        let mut body = Self::with_keys(public_key, private_key);
        body.push("test", flag(request.test || test_mode));
        body.push("email", text(&request.email));
        body.push("merchant_id", text(&request.merchant_id));
        body.push("order_id", text(&request.order_id));
        body.push("customer_id", request.customer_id.map(|id| Field::Number(id.to_string())));
        body.push("price_amount", Some(decimal(request.price_amount)));
        body.push("price_currency", request.price_currency.as_ref().map(|c| Field::Text(c.as_str().to_owned())));
        body.push("add_fee_to_price", flag(request.add_fee_to_price));
        body.push("title", text(&request.title));
        body.push("description", text(&request.description));
        body.push("banned_coins", (!request.banned_coins.is_empty()).then(|| banned_coins(request)));
        body.push("callback_url", text(&request.callback_url));
        body.push("cancel_url", text(&request.cancel_url));
        body.push("success_url", text(&request.success_url));
        body.push("expiration_date", request.expiration_hours.map(|h| Field::Number(h.to_string())));
        body.push("margin_ratio", request.margin_ratio.map(decimal));
        body.push("white_label", flag(request.white_label));
        body
    }

    /// The `get_invoices` body: the keys and the order id.
    pub(crate) fn get_invoices(public_key: &SecretString, private_key: &SecretString, order_id: &str) -> Self {
        let mut body = Self::with_keys(public_key, private_key);
        body.push("order_id", Some(Field::Text(order_id.to_owned())));
        body
    }

    /// The bytes to send in `format`.
    pub(crate) fn encode(&self, format: BodyFormat) -> String {
        match format {
            BodyFormat::Json => self.json(),
            BodyFormat::Form => self.form(),
        }
    }

    /// A JSON object, written by hand so that numbers keep their exact digits.
    fn json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        out.push(b'{');
        for (i, (name, field)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(&mut out, name);
            out.push(b':');
            match field {
                Field::Text(text) => write_json_string(&mut out, text),
                // Decimal and integer text is a valid JSON number as it is: digits, at most one
                // `.`, an optional leading `-`, never an exponent.
                Field::Number(digits) => out.extend_from_slice(digits.as_bytes()),
            }
        }
        out.push(b'}');
        // Only UTF-8 went in: the names and values are `str`, the rest is ASCII.
        String::from_utf8(out).unwrap_or_default()
    }

    /// `application/x-www-form-urlencoded`, as PHP's `http_build_query` writes it.
    fn form(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, field) in &self.0 {
            match field {
                Field::Text(value) | Field::Number(value) => form.append_pair(name, value),
            };
        }
        form.finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::value::RawValue;

    use super::*;

    fn keys() -> (SecretString, SecretString) {
        (SecretString::from("pub"), SecretString::from("priv"))
    }

    /// Any decimal with 0 to 18 fractional digits and up to 28 significant digits, positive.
    fn decimals() -> impl Strategy<Value = Decimal> {
        (1u128..10u128.pow(28), 0u32..=18)
            .prop_map(|(mantissa, scale)| Decimal::from_i128_with_scale(i128::try_from(mantissa).unwrap(), scale))
    }

    proptest! {
        #[test]
        fn every_decimal_survives_json_and_form_bodies_digit_for_digit(price in decimals(), margin in decimals()) {
            let (public, private) = keys();
            let request = CreateInvoiceRequest::new(price).margin_ratio(margin);
            let body = Body::create_invoice(&request, &public, &private, false);

            // JSON: the raw number text reads back as the very same decimal, scale included.
            let json = body.encode(BodyFormat::Json);
            let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&json).unwrap();
            let price_text = fields["price_amount"].get();
            prop_assert!(!price_text.starts_with('"'), "a JSON number, not a string: {}", price_text);
            let read = Decimal::from_str_exact(price_text).unwrap();
            prop_assert_eq!(read, price);
            prop_assert_eq!(read.scale(), price.scale());
            prop_assert_eq!(Decimal::from_str_exact(fields["margin_ratio"].get()).unwrap(), margin);

            // Form: the same text.
            let form = body.encode(BodyFormat::Form);
            let pairs: BTreeMap<String, String> = url::form_urlencoded::parse(form.as_bytes()).into_owned().collect();
            prop_assert_eq!(&pairs["price_amount"], &price.to_string());
            prop_assert_eq!(Decimal::from_str_exact(&pairs["margin_ratio"]).unwrap(), margin);
        }
    }

    #[test]
    fn flags_are_one_or_absent_and_test_mode_sets_test() {
        let (public, private) = keys();
        let request = CreateInvoiceRequest::new(Decimal::ONE);
        let live = Body::create_invoice(&request, &public, &private, false).encode(BodyFormat::Json);
        assert_eq!(live, r#"{"public_key":"pub","private_key":"priv","price_amount":1}"#);
        let test = Body::create_invoice(&request, &public, &private, true).encode(BodyFormat::Json);
        assert_eq!(test, r#"{"public_key":"pub","private_key":"priv","test":1,"price_amount":1}"#);
    }
}
