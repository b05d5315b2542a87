//! The client-side rate budget: spent calls are refused without reaching the gateway.

use gerbang_core::Error;
use httpmock::MockServer;

use crate::common::{builder, fixture};

#[tokio::test]
async fn the_call_over_the_budget_is_refused_without_being_sent_and_clones_share_it() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status");
            then.status(200).body(fixture("deposit_status_paid.json"));
        })
        .await;
    let client =
        gerbang_cuan10pay::Cuan10payClient::new(builder(&server.url("/api")).rate_budget_per_hour(3).build().unwrap());
    let clone = client.clone();

    client.deposit_status("CP-1").await.unwrap();
    clone.deposit_status("CP-1").await.unwrap();
    client.deposit_status("CP-1").await.unwrap();
    let err = clone.deposit_status("CP-1").await.expect_err("the fourth call is over the budget");
    match err {
        // 3 per hour: the next one is 20 minutes away.
        Error::RateLimited { retry_after: Some(wait) } => {
            assert!(wait.as_secs() > 19 * 60 && wait.as_secs() <= 20 * 60, "{wait:?}")
        }
        other => panic!("expected RateLimited with a wait, got {other:?}"),
    }
    assert_eq!(mock.calls_async().await, 3);
}

#[tokio::test]
async fn a_budget_given_to_two_configs_is_shared_between_their_clients() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/ppob_products");
            then.status(200).body(fixture("ppob_products.json"));
        })
        .await;
    let budget = gerbang_cuan10pay::RateBudget::per_hour(std::num::NonZeroU32::new(2).unwrap());
    let make = || {
        gerbang_cuan10pay::Cuan10payClient::new(
            builder(&server.url("/api")).rate_budget(budget.clone()).build().unwrap(),
        )
    };
    let (a, b) = (make(), make());
    a.ppob_products(None).await.unwrap();
    b.ppob_products(None).await.unwrap();
    assert!(matches!(a.ppob_products(None).await, Err(Error::RateLimited { retry_after: Some(_) })));
    assert_eq!(mock.calls_async().await, 2);
}

#[test]
fn a_zero_budget_is_a_config_error_and_the_default_is_the_gateways_limit() {
    assert!(matches!(builder("http://127.0.0.1:1/api").rate_budget_per_hour(0).build(), Err(Error::Config { .. })));
    let config = gerbang_cuan10pay::Cuan10payConfig::builder("k", "p").build().unwrap();
    assert_eq!(config.rate_budget().limit_per_hour(), Some(100));
    assert_eq!(builder("http://127.0.0.1:1/api").build().unwrap().rate_budget().limit_per_hour(), None);
}
