//! What every gateway's commands share: create/status/cancel, and how results are printed.

use std::time::Duration;

use clap::{Args, Subcommand};
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

/// The fields of `PaymentRequest`, as flags.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
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

impl CreateArgs {
    /// The request these flags describe, checked.
    pub(crate) fn to_request(&self) -> Result<PaymentRequest, Error> {
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
pub(crate) async fn run_payment_command(provider: &dyn PaymentProvider, command: &PaymentCommand) -> Result<(), Error> {
    let payment = match command {
        PaymentCommand::Create(args) => provider.create_payment(&args.to_request()?).await?,
        PaymentCommand::Status { reference } => provider.payment_status(reference).await?,
        PaymentCommand::Cancel { reference } => provider.cancel_payment(reference).await?,
    };
    print_json(&payment)
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

/// `90s`, `30m`, `2h`, `1d`, or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 90s, 30m, 2h or 1d"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    Ok(Duration::from_secs(seconds))
}

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
}
