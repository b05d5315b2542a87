//! `gerbang webhook verify <provider> --body FILE [--header 'Name: value']… [--method POST] [--path P]`

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gerbang::http::{HeaderMap, HeaderName, HeaderValue, Method};
use gerbang::{Error, ProviderId, WebhookEvent, WebhookRequest};

use crate::common::parse_duration;

/// Verify a webhook as the gateway sent it, and print the verified event as JSON.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The gateway that sent it.
    provider: ProviderId,
    /// A file holding the body exactly as received (`-` for standard input).
    #[arg(long)]
    body: PathBuf,
    /// A header as received, `Name: value`; repeat for each.
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The method it arrived with.
    #[arg(long, default_value = "POST")]
    method: Method,
    /// The path the webhook was sent to, which Cash In signs (default: Cash In's
    /// `/v1.0/debit/notify` for cashin, `/` for the others).
    #[arg(long)]
    path: Option<String>,
    /// How far the webhook's timestamp may be from now (default: the gateway's, 5 minutes).
    #[arg(long, value_parser = parse_duration)]
    tolerance: Option<Duration>,
}

impl VerifyArgs {
    /// `base_url`: for a gateway whose webhook is confirmed by asking it (Ciputra).
    pub(crate) async fn run(&self, base_url: Option<&str>) -> Result<WebhookEvent, Error> {
        let body = read_body(&self.body)?;
        let headers: HeaderMap = self.headers.iter().cloned().collect();
        let path = match (&self.path, self.provider) {
            (Some(path), _) => path.as_str(),
            (None, ProviderId::CashIn) => crate::providers::cashin::NOTIFY_PATH,
            (None, _) => "/",
        };
        let request = WebhookRequest::new(self.method.clone(), path, &headers, &body);
        crate::providers::verify_webhook(self.provider, &request, self.tolerance, base_url).await
    }
}

/// `gerbang webhook secret`: a fresh Standard Webhooks secret on stdout, alone on its line (for
/// `GERBANG_FORWARD_SECRET=$(gerbang webhook secret)`).
pub(crate) fn print_secret() -> Result<(), Error> {
    let secret = gerbang_signing::standard_webhooks::WebhookSecret::generate()
        .map_err(|e| Error::config(format!("cannot make a secret: {e}")))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", secret.as_str())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::config(format!("cannot write the secret on stdout: {e}")))
}

fn read_body(path: &PathBuf) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let limit = gerbang::MAX_WEBHOOK_BODY_BYTES as u64 + 1;
    let read = if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut body)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut body))
    };
    read.map_err(|e| Error::validation("body", format!("cannot read {}: {e}", path.display())))?;
    Ok(body)
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text.split_once(':').ok_or_else(|| "expected `Name: value`".to_owned())?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a header name", name.trim()))?;
    let value =
        HeaderValue::from_str(value.trim()).map_err(|_| "the value has characters a header cannot carry".to_owned())?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_with_or_without_spaces() {
        let (n, v) = parse_header("X-Signature:abc").unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-signature", "abc"));
        let (_, v) = parse_header("X-TIMESTAMP: 2024-11-04T10:00:00+07:00").unwrap();
        assert_eq!(v.to_str().unwrap(), "2024-11-04T10:00:00+07:00");
        assert!(parse_header("no colon").is_err());
    }
}
