//! Arbitrary input into every parser of the core: an error or a value, never a panic.

use gerbang_core::{BaseUrl, Channel, Currency, Money, Payment, PaymentStatus, WebhookEvent};
use proptest::prelude::*;

fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn text_parsers_never_panic(s in ".{0,64}") {
        let _ = s.parse::<Channel>();
        let _ = Currency::new(&s);
        let _ = BaseUrl::parse(&s);
        let _ = serde_json::from_str::<PaymentStatus>(&format!("{s:?}"));
    }

    #[test]
    fn byte_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<Payment>(&bytes);
        let _ = serde_json::from_slice::<WebhookEvent>(&bytes);
        let _ = serde_json::from_slice::<Money>(&bytes);
    }

    #[test]
    fn json_parsers_never_panic(value in arbitrary_json()) {
        let _ = serde_json::from_value::<Payment>(value.clone());
        let _ = serde_json::from_value::<WebhookEvent>(value.clone());
        let _ = serde_json::from_value::<Money>(value);
    }

    #[test]
    fn money_round_trips_exactly(mantissa in any::<i64>(), scale in 0u32..=18, code in "[A-Z]{3,5}") {
        prop_assume!(code != "IDR");
        let money = Money::new(gerbang_core::Decimal::new(mantissa, scale), Currency::new(&code).unwrap()).unwrap();
        let back: Money = serde_json::from_str(&serde_json::to_string(&money).unwrap()).unwrap();
        prop_assert_eq!(back, money);
    }
}
