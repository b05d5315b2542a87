//! The `create_invoice` request, every parameter of the document typed and checked before
//! anything is sent.

use std::fmt;
use std::str::FromStr;

use gerbang_core::{Currency, Decimal, Error};

/// The shortest invoice life the gateway takes, in hours (`expiration_date`, "max 12" in
/// `seeds/003_344fd773d4347651.txt`; an hour is its unit, so one is the least).
pub const MIN_EXPIRATION_HOURS: u8 = 1;
/// The longest invoice life the gateway takes, in hours: "default 12, max 12".
pub const MAX_EXPIRATION_HOURS: u8 = 12;
/// The life of an invoice when `expiration_date` is left out: "default 12".
pub const DEFAULT_EXPIRATION_HOURS: u8 = 12;

/// A coin the customer may not pay with (`banned_coins`): a whole coin on every network
/// (`USDT`), or a coin on one network (`USDT-ERC20`), as the document's two examples show
/// (`["BTC","ETH","USDT-ERC20"]`, `["USDT","BNB"]`).
///
/// ```
/// use gerbang_crypto_invoice::BannedCoin;
///
/// let usdt_erc20: BannedCoin = "usdt-erc20".parse()?;
/// assert_eq!(usdt_erc20.coin(), "USDT");
/// assert_eq!(usdt_erc20.network(), Some("ERC20"));
/// assert_eq!(usdt_erc20.to_string(), "USDT-ERC20");
/// assert_eq!(BannedCoin::new("bnb")?.to_string(), "BNB");
/// assert!("USDT-".parse::<BannedCoin>().is_err());
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BannedCoin {
    coin: String,
    network: Option<String>,
}

impl BannedCoin {
    /// A whole coin, on every network (`USDT`): 1 to 16 letters or digits, upper-cased.
    pub fn new(coin: &str) -> Result<Self, Error> {
        Ok(Self { coin: code("coin", coin)?, network: None })
    }

    /// A coin on one network (`USDT` on `ERC20`).
    pub fn on_network(coin: &str, network: &str) -> Result<Self, Error> {
        Ok(Self { coin: code("coin", coin)?, network: Some(code("network", network)?) })
    }

    /// The coin (`USDT`).
    pub fn coin(&self) -> &str {
        &self.coin
    }

    /// The network, when only one is banned (`ERC20`).
    pub fn network(&self) -> Option<&str> {
        self.network.as_deref()
    }
}

fn code(what: &str, text: &str) -> Result<String, Error> {
    let text = text.trim();
    if (1..=16).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err(Error::validation(
            "banned_coins",
            format!(
                "a {what} code is 1 to 16 letters or digits; write a coin as BTC or a coin on a network as USDT-ERC20"
            ),
        ))
    }
}

impl FromStr for BannedCoin {
    type Err = Error;

    /// `COIN` or `COIN-NETWORK`, in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.split_once('-') {
            Some((coin, network)) => Self::on_network(coin, network),
            None => Self::new(s),
        }
    }
}

impl fmt::Display for BannedCoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.network {
            Some(network) => write!(f, "{}-{network}", self.coin),
            None => f.write_str(&self.coin),
        }
    }
}

/// A `create_invoice` request: every parameter of the document's table, typed.
///
/// Prices are [`Decimal`]s, written with their exact digits (never through a float). Optional
/// fields left unset are left out of the body; the flags (`test`, `add_fee_to_price`,
/// `white_label`) are sent as `1` when on and left out when off, as the document describes them
/// ("if the value is 1 …, if the value is null …").
///
/// ```
/// use gerbang_crypto_invoice::{BannedCoin, CreateInvoiceRequest};
/// use gerbang_core::{Currency, Decimal};
///
/// let request = CreateInvoiceRequest::new(Decimal::new(72_550, 2)) // 725.50
///     .price_currency(Currency::new("EUR")?)
///     .order_id("ORDER-1001")
///     .title("2 x Kopi Susu")
///     .ban_coin("USDT-ERC20".parse()?)
///     .ban_coin(BannedCoin::new("BNB")?)
///     .expiration_hours(2)
///     .margin_ratio(Decimal::new(15, 1)); // 1.5
/// assert!(request.validate().is_ok());
/// assert!(request.clone().expiration_hours(13).validate().is_err());
/// # Ok::<(), gerbang_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateInvoiceRequest {
    /// `price_amount`: the price, in [`price_currency`](Self::price_currency). Required.
    pub price_amount: Decimal,
    /// `price_currency`: the fiat currency of the price; left out, the gateway's default is USD.
    pub price_currency: Option<Currency>,
    /// `test`: a test invoice (also set for every invoice by the config's test mode).
    pub test: bool,
    /// `email`: the buyer's e-mail. Hidden by `Debug`.
    pub email: Option<String>,
    /// `merchant_id`: the merchant's id.
    pub merchant_id: Option<String>,
    /// `order_id`: the merchant's order id, by which
    /// [`get_invoices`](crate::CryptoInvoiceClient::get_invoices) looks invoices up.
    pub order_id: Option<String>,
    /// `customer_id`: the buyer's id (an integer in the document).
    pub customer_id: Option<u64>,
    /// `add_fee_to_price`: the gateway's fee is added to the price the customer pays.
    pub add_fee_to_price: bool,
    /// `title`: the invoice's title.
    pub title: Option<String>,
    /// `description`: the invoice's description.
    pub description: Option<String>,
    /// `banned_coins`: coins (or coins on a network) not offered to the customer.
    pub banned_coins: Vec<BannedCoin>,
    /// `callback_url`: where the gateway posts its callback when the invoice is paid.
    pub callback_url: Option<String>,
    /// `cancel_url`: where the customer goes after giving up.
    pub cancel_url: Option<String>,
    /// `success_url`: where the customer goes after paying.
    pub success_url: Option<String>,
    /// `expiration_date`: how long the invoice may be paid, in hours, from
    /// [`MIN_EXPIRATION_HOURS`] to [`MAX_EXPIRATION_HOURS`]; left out, the gateway's default
    /// ([`DEFAULT_EXPIRATION_HOURS`]).
    pub expiration_hours: Option<u8>,
    /// `margin_ratio`: how much, in the payment coin's USD value, a payment may fall short and
    /// still count as paid.
    pub margin_ratio: Option<Decimal>,
    /// `white_label`: the answer is the list of coins to pay with, for the merchant's own
    /// payment page, instead of an invoice URL.
    pub white_label: bool,
}

macro_rules! text_setters {
    ($($(#[$meta:meta])* $name:ident;)+) => {
        $(
            $(#[$meta])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.$name = Some(value.into());
                self
            }
        )+
    };
}

impl CreateInvoiceRequest {
    /// An invoice for `price_amount` (in USD unless [`price_currency`](Self::price_currency) says
    /// otherwise); every other field unset.
    pub fn new(price_amount: Decimal) -> Self {
        Self {
            price_amount,
            price_currency: None,
            test: false,
            email: None,
            merchant_id: None,
            order_id: None,
            customer_id: None,
            add_fee_to_price: false,
            title: None,
            description: None,
            banned_coins: Vec::new(),
            callback_url: None,
            cancel_url: None,
            success_url: None,
            expiration_hours: None,
            margin_ratio: None,
            white_label: false,
        }
    }

    text_setters! {
        /// Sets `email`.
        email;
        /// Sets `merchant_id`.
        merchant_id;
        /// Sets `order_id`.
        order_id;
        /// Sets `title`.
        title;
        /// Sets `description`.
        description;
        /// Sets `callback_url`.
        callback_url;
        /// Sets `cancel_url`.
        cancel_url;
        /// Sets `success_url`.
        success_url;
    }

    /// Sets `price_currency`.
    pub fn price_currency(mut self, currency: Currency) -> Self {
        self.price_currency = Some(currency);
        self
    }

    /// Asks for a test invoice (`test=1`).
    pub fn test(mut self, on: bool) -> Self {
        self.test = on;
        self
    }

    /// Sets `customer_id`.
    pub fn customer_id(mut self, id: u64) -> Self {
        self.customer_id = Some(id);
        self
    }

    /// Sets `add_fee_to_price`.
    pub fn add_fee_to_price(mut self, on: bool) -> Self {
        self.add_fee_to_price = on;
        self
    }

    /// Adds a coin to `banned_coins`.
    pub fn ban_coin(mut self, coin: BannedCoin) -> Self {
        self.banned_coins.push(coin);
        self
    }

    /// Sets `expiration_date`, in hours (1 to 12).
    pub fn expiration_hours(mut self, hours: u8) -> Self {
        self.expiration_hours = Some(hours);
        self
    }

    /// Sets `margin_ratio`.
    pub fn margin_ratio(mut self, ratio: Decimal) -> Self {
        self.margin_ratio = Some(ratio);
        self
    }

    /// Sets `white_label`.
    pub fn white_label(mut self, on: bool) -> Self {
        self.white_label = on;
        self
    }

    /// Checks what the document constrains, so that a bad value is refused before it is sent:
    /// a positive price (whole rupiah in IDR), an expiry of 1 to 12 hours, a margin that is not
    /// negative, absolute http(s) URLs, a non-empty order id. [`Error::Validation`] names the
    /// document's field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.price_amount <= Decimal::ZERO {
            return Err(Error::validation("price_amount", "must be more than zero"));
        }
        if self.price_currency.as_ref() == Some(&Currency::IDR) && !self.price_amount.fract().is_zero() {
            return Err(Error::validation("price_amount", "IDR prices are whole rupiah; fractions are not accepted"));
        }
        if let Some(hours) = self.expiration_hours
            && !(MIN_EXPIRATION_HOURS..=MAX_EXPIRATION_HOURS).contains(&hours)
        {
            return Err(Error::validation(
                "expiration_date",
                format!("is in hours, from {MIN_EXPIRATION_HOURS} to {MAX_EXPIRATION_HOURS}; {hours} is outside"),
            ));
        }
        if self.margin_ratio.is_some_and(|m| m.is_sign_negative() && !m.is_zero()) {
            return Err(Error::validation("margin_ratio", "may not be negative"));
        }
        if self.order_id.as_ref().is_some_and(|id| id.trim().is_empty()) {
            return Err(Error::validation("order_id", "may not be empty; leave it out instead"));
        }
        for (field, url) in
            [("callback_url", &self.callback_url), ("cancel_url", &self.cancel_url), ("success_url", &self.success_url)]
        {
            if let Some(url) = url {
                match url::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
                    _ => return Err(Error::validation(field, "expected an absolute http:// or https:// URL")),
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for CreateInvoiceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateInvoiceRequest")
            .field("price_amount", &self.price_amount)
            .field("price_currency", &self.price_currency)
            .field("test", &self.test)
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("merchant_id", &self.merchant_id)
            .field("order_id", &self.order_id)
            .field("customer_id", &self.customer_id)
            .field("add_fee_to_price", &self.add_fee_to_price)
            .field("title", &self.title)
            .field("description", &self.description)
            .field("banned_coins", &self.banned_coins)
            .field("callback_url", &self.callback_url)
            .field("cancel_url", &self.cancel_url)
            .field("success_url", &self.success_url)
            .field("expiration_hours", &self.expiration_hours)
            .field("margin_ratio", &self.margin_ratio)
            .field("white_label", &self.white_label)
            .finish()
    }
}
