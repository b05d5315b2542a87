//! The CLI in front of a gateway that misbehaves: a redirect is an error (exit 1) and nothing
//! follows it; a create whose answer is lost says the payment may exist and how to check.
#![allow(clippy::unwrap_used)] // Test code.

use std::process::Output;

use gerbang_testkit::{REDIRECTS, Redirecting};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn gerbang(base_url: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["--base-url", base_url])
        .args(args)
        .env("GERBANG_CUAN10PAY_API_KEY", "cli-api-key-1234")
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", "cli-private-key-1234")
        .env("GERBANG_CASHIN_CLIENT_ID", "cli-client")
        .env("GERBANG_CASHIN_SECRET_KEY", "cli-secret-key-1234")
        .output()
        .await
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_redirect_exits_1_naming_the_status_and_host_only() {
    for status in REDIRECTS {
        let redirecting = Redirecting::start(status).await;
        let output = gerbang(&redirecting.base_url("/api"), &["cuan10pay", "status", "CP-1"]).await;
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(&format!("redirect (HTTP {status} to host localhost)")), "{text}");
        assert!(!text.contains("stolen") && !text.contains("cli-api-key"), "{text}");
        redirecting.assert_target_untouched();
    }
}

#[tokio::test]
async fn a_create_whose_answer_is_cut_says_the_payment_may_exist_and_how_to_check() {
    // A "gateway" that reads the request, starts an answer and hangs up mid-body.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/pg/fo", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0_u8; 8192];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 200\r\n\r\n{\"message\":").await;
        }
    });
    let create = [
        "cashin",
        "create",
        "--reference",
        "ORDER-CUT-1",
        "--amount",
        "150000",
        "--customer-id",
        "CUST-1",
        "--customer-phone",
        "081234567890",
        "--success-url",
        "https://shop.example/paid",
        "--cancel-url",
        "https://shop.example/cart",
    ];
    let output = gerbang(&base, &create).await;
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("payment for ORDER-CUT-1: the request was sent but its answer was lost"), "{text}");
    assert!(text.contains("check with `status ORDER-CUT-1`"), "{text}");
    assert!(!text.contains("could not reach"), "{text}");
}

/// Store URLs a hand may get wrong, each holding the password `PW-s3cret`: none is a URL whose
/// scheme the CLI knows, and the error must not repeat any of them.
const MALFORMED_STORE_URLS: &[&str] = &[
    "redis:/:PW-s3cret@host:6379",
    "redis:PW-s3cret@host:6379",
    "host=db.internal user=gerbang password=PW-s3cret dbname=shop",
    "postgres:u:PW-s3cret@db.internal/shop",
    "postgres//u:PW-s3cret@db.internal/shop",
    "mongodb+srv://u:PW-s3cret@cluster.example/db",
    " PW-s3cret ",
];

#[tokio::test]
async fn a_malformed_store_url_is_refused_without_repeating_its_password() {
    for url in MALFORMED_STORE_URLS {
        // On the flag, for the receiver, and in the variable, for `watched`.
        let serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
            .args(["webhook", "serve", "--port", "0", "--store", url])
            .env("GERBANG_CUAN10PAY_API_KEY", "cli-api-key-1234")
            .env("GERBANG_CUAN10PAY_PRIVATE_KEY", "cli-private-key-1234")
            .output();
        let watched = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
            .arg("watched")
            .env("GERBANG_STORE_URL", url)
            .output();
        for (what, output) in [("webhook serve --store", serve.await.unwrap()), ("watched", watched.await.unwrap())] {
            let text = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{what} {url:?}: {text}");
            assert!(text.contains("kind of store"), "{what} {url:?}: {text}");
            assert!(!text.contains("PW-s3cret"), "{what} {url:?} printed the password: {text}");
            assert!(!text.contains("db.internal") && !text.contains("host:6379"), "{what} {url:?}: {text}");
        }
    }
}
