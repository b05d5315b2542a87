//! What every gateway's commands share: create/status/cancel, and how results are printed.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use gerbang::ledger::Watched;
use gerbang::{Currency, Decimal, Error, Money, PaymentProvider, PaymentRequest};
use serde::Serialize;

/// `create`, `status` and `cancel`, the same for every gateway.
#[derive(Debug, Subcommand)]
pub(crate) enum PaymentCommand {
    /// Create a payment and print it as JSON.
    Create(CreateArgs),
    /// Print a payment's current state as JSON.
    Status {
        /// The id the gateway looks payments up by (see the gateway's docs).
        reference: String,
    },
    /// Cancel a payment, where the gateway allows it, and print it as JSON.
    Cancel {
        /// The id the gateway looks payments up by.
        reference: String,
    },
}

/// `create`'s flags: the request, and where to record it.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Record the payment in the ledger of this store (`redis://…` or `postgres://…`), for
    /// `gerbang webhook serve --store` to reconcile and `gerbang watched` to show. `memory`
    /// records nothing.
    #[arg(long, env = "GERBANG_STORE_URL", hide_env_values = true)]
    store: Option<String>,
    #[command(flatten)]
    request: RequestArgs,
}

/// The fields of `PaymentRequest`, as flags: the same for every gateway's `create` and for
/// `route create`.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The merchant's reference (order number), unique per payment.
    #[arg(long)]
    reference: String,
    /// The amount, as a decimal number (IDR: whole rupiah).
    #[arg(long)]
    amount: String,
    /// The currency code.
    #[arg(long, default_value = "IDR")]
    currency: String,
    /// qris, va:<bank>, ewallet:<name>, retail:<name>, card, crypto, or the gateway's own code.
    #[arg(long)]
    channel: Option<String>,
    /// The customer's name.
    #[arg(long)]
    customer_name: Option<String>,
    /// The customer's e-mail.
    #[arg(long)]
    customer_email: Option<String>,
    /// The customer's phone number.
    #[arg(long)]
    customer_phone: Option<String>,
    /// The merchant's id for the customer.
    #[arg(long)]
    customer_id: Option<String>,
    /// What is being paid for.
    #[arg(long)]
    description: Option<String>,
    /// Where the gateway sends its webhook.
    #[arg(long)]
    callback_url: Option<String>,
    /// Where the customer goes after paying.
    #[arg(long)]
    success_url: Option<String>,
    /// Where the customer goes after giving up.
    #[arg(long)]
    cancel_url: Option<String>,
    /// Where the customer goes back to, whatever the outcome.
    #[arg(long)]
    return_url: Option<String>,
    /// How long the customer has to pay: 90s, 30m, 2h, 1d.
    #[arg(long, value_parser = parse_duration)]
    expires_in: Option<Duration>,
}

impl RequestArgs {
    /// The request these flags describe, checked; a field refused is named by its flag.
    pub(crate) fn request(&self) -> Result<PaymentRequest, Error> {
        self.to_request().map_err(name_flags)
    }

    /// The request these flags describe, checked.
    fn to_request(&self) -> Result<PaymentRequest, Error> {
        let value = Decimal::from_str_exact(self.amount.trim())
            .map_err(|_| Error::validation("amount", "expected a decimal number such as 10000 or 12.50"))?;
        let mut builder = PaymentRequest::builder(&self.reference, Money::new(value, Currency::new(&self.currency)?)?);
        if let Some(channel) = &self.channel {
            builder = builder.channel(channel.parse()?);
        }
        if let Some(d) = self.expires_in {
            builder = builder.expires_in(d);
        }
        type Builder = gerbang::PaymentRequestBuilder;
        let set = |b: Builder, value: &Option<String>, setter: fn(Builder, String) -> Builder| match value {
            Some(v) => setter(b, v.clone()),
            None => b,
        };
        builder = set(builder, &self.customer_name, |b, v| b.customer_name(v));
        builder = set(builder, &self.customer_email, |b, v| b.customer_email(v));
        builder = set(builder, &self.customer_phone, |b, v| b.customer_phone(v));
        builder = set(builder, &self.customer_id, |b, v| b.customer_id(v));
        builder = set(builder, &self.description, |b, v| b.description(v));
        builder = set(builder, &self.callback_url, |b, v| b.callback_url(v));
        builder = set(builder, &self.success_url, |b, v| b.success_url(v));
        builder = set(builder, &self.cancel_url, |b, v| b.cancel_url(v));
        builder = set(builder, &self.return_url, |b, v| b.return_url(v));
        builder.build()
    }
}

/// Runs a common command against any gateway.
pub(crate) async fn run_payment_command<P>(provider: &P, command: &PaymentCommand) -> Result<(), Error>
where
    P: PaymentProvider + Clone + 'static,
{
    let payment = match command {
        PaymentCommand::Create(args) => {
            let request = args.request.request()?;
            let ledger = match &args.store {
                Some(url) => crate::stores::ledger(url, true).await?,
                None => None,
            };
            match ledger {
                // Recorded before it is sent, then with the answer: see gerbang::ledger::Watched.
                Some(ledger) => Watched::new(Arc::new(provider.clone()), ledger).create_payment(&request).await,
                None => provider.create_payment(&request).await,
            }
            .map_err(name_flags)?
        }
        PaymentCommand::Status { reference } => provider.payment_status(reference).await?,
        PaymentCommand::Cancel { reference } => provider.cancel_payment(reference).await?,
    };
    print_json(&payment)
}

/// A create's validation error naming the flags (`--customer-id`) where the SDK names the
/// request's fields (`customer.id`).
pub(crate) fn name_flags(error: Error) -> Error {
    const FIELDS: [&str; 15] = [
        "reference",
        "amount",
        "currency",
        "channel",
        "customer.name",
        "customer.email",
        "customer.phone",
        "customer.id",
        "description",
        "callback_url",
        "success_url",
        "cancel_url",
        "return_url",
        "expires_in",
        "store",
    ];
    error.rename_fields(|field| FIELDS.contains(&field).then(|| format!("--{}", field.replace(['.', '_'], "-"))))
}

/// Why a command failed: the one line `main` prints on stderr after `error: `. Most commands
/// fail with an [`Error`]; `route create` says more than its error (where the route stopped).
#[derive(Debug)]
pub(crate) struct Failed(pub(crate) String);

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Self(error.to_string())
    }
}

/// One line on stderr, flushed at once (a newline inside it becomes a space): what a person
/// watching a long-running command, or a test reading its stderr, sees as it happens. With
/// `--log-format json`, the line is a JSON object holding it as `message`.
pub(crate) fn eprint_line(line: &str) {
    crate::logging::say(crate::logging::Level::Info, line);
}

/// A warning on stderr: `warning: …`, one line.
pub(crate) fn warn(message: &str) {
    crate::logging::say(crate::logging::Level::Warn, &format!("warning: {message}"));
}

/// Prints a result as pretty JSON on stdout.
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::decode(format!("result as JSON: {e}")))?;
    #[allow(clippy::print_stdout)] // printing the result is this program's job
    {
        println!("{text}");
    }
    Ok(())
}

/// `90s`, `30m`, `2h`, `1d`, or a bare number of seconds, at most [`MAX_DURATION_DAYS`] days.
///
/// The error is clap's: a flag given a bad duration is a usage error (exit 2), never a panic.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let too_long = || format!("`{text}` is too long: at most {MAX_DURATION_DAYS} days ({MAX_DURATION_DAYS}d)");
    let n: u64 = number.parse().map_err(|e: std::num::ParseIntError| match e.kind() {
        std::num::IntErrorKind::PosOverflow => too_long(),
        _ => format!("`{text}` is not a duration such as 90s, 30m, 2h or 1d"),
    })?;
    let unit_seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    match n.checked_mul(unit_seconds) {
        Some(seconds) if seconds <= MAX_DURATION_DAYS * 86_400 => Ok(Duration::from_secs(seconds)),
        _ => Err(too_long()),
    }
}

/// The longest duration a flag takes, in days (about a hundred years). Far beyond any payment's
/// expiry or any webhook's tolerance, and short enough that adding it to the current time, as
/// the gateways' clients and verifiers do, cannot overflow a date.
pub(crate) const MAX_DURATION_DAYS: u64 = 36_525;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3w").is_err());
    }

    #[test]
    fn durations_past_the_limit_are_refused_not_overflowed() {
        let limit = Duration::from_secs(MAX_DURATION_DAYS * 86_400);
        assert_eq!(parse_duration(&format!("{MAX_DURATION_DAYS}d")), Ok(limit));
        assert_eq!(parse_duration(&limit.as_secs().to_string()), Ok(limit));
        for text in [
            format!("{}d", MAX_DURATION_DAYS + 1),
            format!("{}", limit.as_secs() + 1),
            // u64::MAX / 86 400 + 1 days: the product overflows a u64.
            "213503982334602d".to_owned(),
            "18446744073709551615m".to_owned(),
            // More digits than a u64 holds.
            "99999999999999999999999s".to_owned(),
        ] {
            let error = parse_duration(&text).unwrap_err();
            assert!(error.contains("too long"), "{text}: {error}");
        }
    }
}
