//! The Ciputra client: the token, the calls of the API, and their answers.

use std::fmt;
use std::sync::Arc;

use gerbang_core::http::{Method, StatusCode};
use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::transport::{Bytes, Call, HttpRequest, HttpResponse};
use gerbang_core::{Error, ProviderId, Redactions};
use time::OffsetDateTime;

use crate::config::CiputraConfig;
use crate::confirm::{Answer, Confirmations};
use crate::request::{TransactionRequest, form};
use crate::token::{Fetched, Token, TokenCache, store_key, token_expiry};
use crate::wire::{self, RegistrationStatus, TransactionResult, TransactionStatus};

const PROVIDER: ProviderId = ProviderId::Ciputra;

/// The token call (`PROVIDERS.md` §5: the document's security scheme).
pub const TOKEN_PATH: &str = "/auth/token";
/// **Decision** (`PROVIDERS.md` §5): the transaction call (charge, cancel, registration). The
/// document names the operation but not its URL.
pub const TRANSACTION_PATH: &str = "/transaction";
/// **Decision** (`PROVIDERS.md` §5): the transaction status call.
pub const TRANSACTION_STATUS_PATH: &str = "/transaction/status";
/// **Decision** (`PROVIDERS.md` §5): the registration status call.
pub const REGISTRATION_STATUS_PATH: &str = "/registration/status";

/// **Decision** (`PROVIDERS.md` §5): the body type of the transaction and status calls. The
/// document does not say; a logged real call seen in public code posted the transaction form-encoded.
const FORM: &str = "application/x-www-form-urlencoded";

/// A Ciputra Life e-payment client. Cheap to clone: clones share the configuration, the
/// connection pool and **the bearer token**.
///
/// The token is fetched on the first call, cached, and replaced a minute before it expires (see
/// [`CiputraConfigBuilder::refresh_before_expiry`](crate::CiputraConfigBuilder::refresh_before_expiry));
/// however many calls need a new one at the same moment, one token request is made and every
/// call waits for it. Clients sharing a
/// [token store](crate::CiputraConfigBuilder::token_store) (every replica, through Redis) share
/// the token too: one of them fetches it, the others take it from the store. A call the gateway answers with 401 drops that token, fetches a new one and
/// is sent once more; a second 401 is [`Error::Unauthorized`].
///
/// ```no_run
/// use gerbang_ciputra::{CiputraClient, PayCode, PayType, TransactionRequest};
///
/// # async fn run() -> Result<(), gerbang_core::Error> {
/// let client = CiputraClient::from_env()?;
/// let charge = TransactionRequest::charge("POLIS-0001-2025-01", "Budi Santoso", 350_000, PayType::Va, PayCode::Bca);
/// let created = client.transaction(&charge).await?;
/// println!("pay into {:?} or at {:?}", created.virtual_account_number, created.shortlink);
/// let status = client.transaction_status("POLIS-0001-2025-01").await?;
/// println!("{:?}", status.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CiputraClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: CiputraConfig,
    tokens: TokenCache,
    /// The status calls confirming callbacks: single flight per `external_id`, and their budget.
    confirmations: Confirmations,
    /// The key and secret, scrubbed from anything the gateway answers before it becomes an
    /// error (each call adds its bearer token).
    redactions: Redactions,
}

impl CiputraClient {
    /// A client with this configuration.
    pub fn new(config: CiputraConfig) -> Self {
        let redactions = Redactions::new([config.api_key.clone(), config.api_secret.clone()]);
        let key = store_key(config.api_key.expose_secret(), config.base_url.as_str());
        let tokens = TokenCache::new(config.token_store.clone(), key);
        let confirmations = Confirmations::new(config.callback_checks);
        Self { inner: Arc::new(Inner { config, tokens, confirmations, redactions }) }
    }

    /// A client configured from the environment: see [`CiputraConfig::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        CiputraConfig::from_env().map(Self::new)
    }

    /// The configuration.
    pub fn config(&self) -> &CiputraConfig {
        &self.inner.config
    }

    /// When the cached token expires, if one is cached: for diagnostics.
    pub async fn token_expires_at(&self) -> Option<OffsetDateTime> {
        self.inner.tokens.expires_at().await
    }

    /// How many token requests this client (and its clones) made so far: for diagnostics. A token
    /// another client (or replica) fetched and shared through the
    /// [token store](crate::CiputraConfigBuilder::token_store) is not counted here.
    pub fn token_fetches(&self) -> u64 {
        self.inner.tokens.fetches()
    }

    /// `POST /transaction`: a charge, a cancellation or a registration, checked with
    /// [`TransactionRequest::validate`] before anything is sent (a paycode that is not a channel
    /// of the paytype is [`Error::Validation`]).
    ///
    /// Sent once, never retried after a timeout (check
    /// [`transaction_status`](Self::transaction_status) first); it is sent again only after a 401,
    /// which the gateway answers before doing anything.
    pub async fn transaction(&self, request: &TransactionRequest) -> Result<TransactionResult, Error> {
        self.transaction_with_raw(request).await.map(|(result, _)| result)
    }

    /// [`transaction`](Self::transaction), with the answer's `data` as JSON for `Payment::raw`.
    pub(crate) async fn transaction_with_raw(
        &self,
        request: &TransactionRequest,
    ) -> Result<(TransactionResult, gerbang_core::RawJson), Error> {
        request.validate()?;
        let operation = match request.action {
            crate::Action::Charge => "transaction_charge",
            crate::Action::Cancel => "transaction_cancel",
            crate::Action::Registration => "transaction_registration",
        };
        let redactions =
            self.inner.redactions.with(request.email.as_deref().into_iter().chain(request.phone.as_deref()));
        let call = Call::once(PROVIDER, operation);
        let response = self.post(call, TRANSACTION_PATH, request.to_form(), &redactions).await?;
        wire::parse_answer_with_raw(operation, &response)
    }

    /// `POST /transaction` with `action=cancel`: cancels the unpaid transaction `external_id`.
    pub async fn cancel_transaction(&self, external_id: &str) -> Result<TransactionResult, Error> {
        self.transaction(&TransactionRequest::cancel(external_id)).await
    }

    /// `POST /transaction/status` with `external_id`: the transaction's current state.
    pub async fn transaction_status(&self, external_id: &str) -> Result<TransactionStatus, Error> {
        self.transaction_status_with_raw(external_id).await.map(|(status, _)| status)
    }

    /// [`transaction_status`](Self::transaction_status), with the answer's `data` as JSON.
    pub(crate) async fn transaction_status_with_raw(
        &self,
        external_id: &str,
    ) -> Result<(TransactionStatus, gerbang_core::RawJson), Error> {
        let response = self.lookup("transaction_status", TRANSACTION_STATUS_PATH, external_id).await?;
        wire::parse_answer_with_raw("transaction_status", &response)
    }

    /// The status call that confirms a callback naming `external_id`: shared by every callback
    /// for it that arrives while it is out, and within the
    /// [callback budget](crate::CiputraConfigBuilder::callback_checks) ([`Error::BudgetSpent`]
    /// past it).
    ///
    /// The token is got first, apart: whatever its call answered, a token that cannot be had is
    /// the merchant's side failing, not the callback, so it is [`Error::Unauthorized`] (the
    /// receiver then asks the gateway to deliver the callback again, never refuses it).
    pub(crate) async fn confirming_status(&self, external_id: &str) -> Answer {
        self.inner
            .confirmations
            .confirm(external_id, || async {
                self.token().await.map_err(token_unavailable)?;
                self.transaction_status_with_raw(external_id).await
            })
            .await
    }

    /// `POST /registration/status` with `external_id`: an auto-debit registration's state.
    pub async fn registration_status(&self, external_id: &str) -> Result<RegistrationStatus, Error> {
        let response = self.lookup("registration_status", REGISTRATION_STATUS_PATH, external_id).await?;
        wire::parse_answer("registration_status", &response)
    }

    /// A status look-up by `external_id`: safe to repeat.
    async fn lookup(
        &self,
        operation: &'static str,
        path: &'static str,
        external_id: &str,
    ) -> Result<HttpResponse, Error> {
        if external_id.trim().is_empty() {
            return Err(Error::validation("external_id", "may not be empty"));
        }
        let body = form(&[("external_id", external_id.to_owned())]);
        self.post(Call::safe(PROVIDER, operation), path, body, &self.inner.redactions).await
    }

    /// Sends a form with the bearer token; on a 401, drops the token, fetches a new one and sends
    /// once more. A second 401 is [`Error::Unauthorized`], never a loop.
    async fn post(
        &self,
        call: Call,
        path: &'static str,
        body: String,
        redactions: &Redactions,
    ) -> Result<HttpResponse, Error> {
        // The gateway's paths hold no id: each is its own template.
        let call = call.at(path);
        let token = self.token().await?;
        let response = self.send_with(call, path, &body, &token, redactions).await?;
        if response.status != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        tracing::debug!(operation = call.operation, "the gateway refused the token: fetching a new one");
        self.inner.tokens.invalidate(&token).await;
        // The gateway refused a token it issued: a new one that cannot be had is our credentials
        // failing, whatever the token call answered (a confirming call must not pass it on as the
        // callback's fault).
        let token = self.token().await.map_err(token_unavailable)?;
        let response = self.send_with(call, path, &body, &token, redactions).await?;
        if response.status == StatusCode::UNAUTHORIZED {
            // Through the envelope reader, for the gateway's own message.
            return Err(match wire::check_envelope(call.operation, &response) {
                Err(e @ Error::Unauthorized { .. }) => e,
                _ => Error::Unauthorized { message: "the gateway refused a freshly issued token".to_owned() },
            });
        }
        Ok(response)
    }

    async fn send_with(
        &self,
        call: Call,
        path: &'static str,
        body: &str,
        token: &Token,
        redactions: &Redactions,
    ) -> Result<HttpResponse, Error> {
        let config = &self.inner.config;
        let url = config.base_url.endpoint(path)?;
        let redactions = redactions.with([token.secret.expose_secret()]);
        let body = Bytes::copy_from_slice(body.as_bytes());
        config
            .http
            .send(call, || {
                Ok(HttpRequest::new(Method::POST, url.clone())
                    .redacting(&redactions)
                    .header("accept", "application/json")?
                    .header_value("authorization", token.authorization.clone())
                    .body(FORM, body.clone()))
            })
            .await
    }

    /// A fresh token: the cached one, or one fetched for every call waiting at this moment.
    async fn token(&self) -> Result<Token, Error> {
        let config = &self.inner.config;
        let now = || config.clock.now();
        self.inner.tokens.get(now, config.refresh_before_expiry, || self.fetch_token()).await
    }

    /// `POST /auth/token` with the key and secret.
    async fn fetch_token(&self) -> Result<Fetched, Error> {
        let config = &self.inner.config;
        let url = config.base_url.endpoint(TOKEN_PATH)?;
        let response = config
            .http
            .send(Call::safe(PROVIDER, "token").at(TOKEN_PATH), || {
                let request = HttpRequest::new(Method::POST, url.clone())
                    .redacting(&self.inner.redactions)
                    .header("accept", "application/json")?;
                credential_headers(request, &config.api_key, &config.api_secret)
            })
            .await?;
        let answer = wire::parse_token(&response)?;
        let access_token = answer
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Error::decode("token answer: missing field `access_token`"))?;
        let expires_at = token_expiry(&access_token, answer.expires_in, config.clock.now());
        Ok(Fetched { secret: SecretString::from(access_token), expires_at })
    }
}

/// **Decision** (`PROVIDERS.md` §5): how the key and secret reach the token call. The document
/// (`seeds/004_627801bf8e050898.txt`) lists `api-key` and `api-secret` as required strings of the
/// security scheme, in the same table layout as the `Authorization` header of the other calls,
/// with no request body: they are sent as the **headers** `api-key` and `api-secret`, on a POST
/// without a body.
fn credential_headers(
    request: HttpRequest,
    api_key: &SecretString,
    api_secret: &SecretString,
) -> Result<HttpRequest, Error> {
    request.header("api-key", api_key.expose_secret())?.header("api-secret", api_secret.expose_secret())
}

/// `Bearer <token>`: the document's `"token_type": "Bearer"`.
impl fmt::Debug for CiputraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config's own Debug redacts the key and secret; the token is never shown.
        f.debug_struct("CiputraClient").field("config", &self.inner.config).field("tokens", &self.inner.tokens).finish()
    }
}

/// A token that cannot be had, as [`Error::Unauthorized`] where the token call's own error would
/// read as a refusal of what was asked (a 400, an answer without a token): it is the merchant's
/// credentials or the gateway failing, never the request's fault, so a receiver confirming a
/// callback with it asks for a later delivery instead of refusing a genuine one. Transient errors
/// (a timeout, a 5xx) stay as they are.
fn token_unavailable(error: Error) -> Error {
    if error.is_verification_failure() {
        Error::Unauthorized { message: format!("no bearer token could be had: {error}") }
    } else {
        error
    }
}
