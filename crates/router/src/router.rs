//! The router: one [`PaymentProvider`] over several gateways.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use gerbang_core::{
    Capabilities, Error, LookupKey, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent, WebhookRequest,
    WebhookSupport, async_trait, metrics,
};

use crate::attempt::{Attempt, Outcome, RouteError, Routed};
use crate::circuit::{Admission, CircuitPolicy, CircuitStore, Health, MemoryCircuitStore};
use crate::classify::{Next, classify};
use crate::rule::Rule;

/// A [`PaymentProvider`] over several gateways that fails over only when the payment provably
/// does not exist at the gateway just tried. See the [crate docs](crate) for the rules.
///
/// Cheap to clone: clones share the gateways and the circuit store.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    order: Vec<ProviderId>,
    gateways: HashMap<ProviderId, Arc<dyn PaymentProvider>>,
    rules: Vec<Rule>,
    circuits: Arc<dyn CircuitStore>,
    policy: CircuitPolicy,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("gateways", &self.inner.order)
            .field("rules", &self.inner.rules)
            .field("circuits", &self.inner.circuits)
            .field("policy", &self.inner.policy)
            .finish()
    }
}

/// Builds a [`Router`]: [`Router::builder`].
#[derive(Default)]
pub struct RouterBuilder {
    gateways: Vec<Arc<dyn PaymentProvider>>,
    rules: Vec<Rule>,
    circuits: Option<Arc<dyn CircuitStore>>,
    policy: CircuitPolicy,
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<ProviderId> = self.gateways.iter().map(|g| g.id()).collect();
        f.debug_struct("RouterBuilder").field("gateways", &ids).field("rules", &self.rules).finish_non_exhaustive()
    }
}

impl RouterBuilder {
    /// Adds a gateway (one client per gateway). Without rules, requests go to the gateways in
    /// the order they were added.
    #[must_use]
    pub fn gateway(mut self, gateway: Arc<dyn PaymentProvider>) -> Self {
        self.gateways.push(gateway);
        self
    }

    /// Adds a rule; the first rule matching a request gives its candidates.
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Where circuits are kept; default [`MemoryCircuitStore`], this process only.
    #[must_use]
    pub fn circuit_store(mut self, store: Arc<dyn CircuitStore>) -> Self {
        self.circuits = Some(store);
        self
    }

    /// When circuits open and for how long; default [`CircuitPolicy::default`].
    #[must_use]
    pub fn circuit_policy(mut self, policy: CircuitPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The router; [`Error::Config`] without a gateway, with a gateway added twice, or with a
    /// rule naming a gateway that was not added.
    pub fn build(self) -> Result<Router, Error> {
        if self.gateways.is_empty() {
            return Err(Error::config("a router needs at least one gateway"));
        }
        let mut order = Vec::new();
        let mut gateways = HashMap::new();
        for gateway in self.gateways {
            let id = gateway.id();
            if gateways.insert(id, gateway).is_some() {
                return Err(Error::config(format!("gateway {id} was added to the router twice")));
            }
            order.push(id);
        }
        for rule in &self.rules {
            if let Some(missing) = rule.candidates().iter().find(|id| !gateways.contains_key(id)) {
                return Err(Error::config(format!("a routing rule names {missing}, which was not added")));
            }
        }
        let circuits = self.circuits.unwrap_or_else(|| Arc::new(MemoryCircuitStore::new()));
        Ok(Router { inner: Arc::new(Inner { order, gateways, rules: self.rules, circuits, policy: self.policy }) })
    }
}

impl Router {
    /// Starts a router.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// The gateways `request` may go to, in order: the first matching rule's ([`Rule::order`]:
    /// drawn by weight when it has weights), or every gateway in the order added when there are
    /// no rules. `None` when rules exist and none matches.
    pub fn candidates(&self, request: &PaymentRequest) -> Option<Vec<ProviderId>> {
        if self.inner.rules.is_empty() {
            return Some(self.inner.order.clone());
        }
        self.inner.rules.iter().find(|rule| rule.matches(request)).map(|rule| rule.order(&request.reference))
    }

    /// The gateway `id`, when it was added.
    pub fn gateway(&self, id: ProviderId) -> Option<&Arc<dyn PaymentProvider>> {
        self.inner.gateways.get(&id)
    }

    /// Creates the payment at the first candidate that takes it, failing over to the next only
    /// when the payment provably does not exist at the one tried (see the [crate docs](crate)).
    ///
    /// Returns the payment and every attempt; on failure, the error of the gateway the route
    /// stopped at and every attempt. A [`RouteError`] holding [`Error::OutcomeUnknown`] means the
    /// payment may exist at the last gateway tried: look there before creating it anywhere.
    pub async fn route(&self, request: &PaymentRequest) -> Result<Routed, RouteError> {
        let mut attempts = Vec::new();
        let routed = self.try_candidates(request, &mut attempts).await;
        for attempt in &attempts {
            metrics::route_attempt(attempt.gateway, attempt.outcome.as_str());
        }
        match routed {
            Ok((payment, lookup)) => Ok(Routed { payment, attempts, lookup }),
            Err(error) => Err(RouteError { error, attempts }),
        }
    }

    /// [`route`](Self::route)'s work: the payment and the key its gateway looks it up by, or the
    /// error the route stopped with; every attempt is pushed onto `attempts`.
    async fn try_candidates(
        &self,
        request: &PaymentRequest,
        attempts: &mut Vec<Attempt>,
    ) -> Result<(Payment, LookupKey), Error> {
        let Some(candidates) = self.candidates(request) else {
            return Err(Error::validation("request", "no routing rule matches its channel, currency and amount"));
        };
        let mut last_error = None;
        for id in candidates {
            let Some(gateway) = self.inner.gateways.get(&id) else { continue };
            let caps = gateway.capabilities();
            let limits =
                if caps.create_payment { caps.limits.check(request) } else { Err("creates no payments".into()) };
            if let Err(reason) = limits {
                attempts.push(Attempt::new(id, Outcome::SkippedLimits, Some(reason)));
                continue;
            }
            let admission = self.inner.circuits.admit(id, self.inner.policy).await.unwrap_or_else(|error| {
                // A broken breaker must not stop payments: call as if closed.
                tracing::warn!(gateway = id.as_str(), %error, "circuit store failed; calling the gateway");
                Admission::Closed
            });
            if admission == Admission::Open {
                attempts.push(Attempt::new(id, Outcome::CircuitOpen, None));
                continue;
            }
            // One request serves every candidate: each is sent it without the fields it has no
            // place for (which it would refuse), and the attempt says which were left out.
            let (sent, left_out) = caps.limits.without_refused(request);
            let error = match gateway.create_payment(&sent).await {
                Ok(payment) => {
                    self.record(id, Health::Healthy).await;
                    attempts.push(Attempt { left_out, ..Attempt::new(id, Outcome::Created, None) });
                    return Ok((payment, caps.lookup));
                }
                Err(error) => error,
            };
            let (outcome, health, next) = classify(&error, &caps);
            self.record(id, health).await;
            attempts.push(Attempt { left_out, ..Attempt::new(id, outcome, Some(error.to_string())) });
            tracing::info!(gateway = id.as_str(), outcome = outcome.as_str(), "route attempt failed");
            match next {
                Next::FailOver => last_error = Some(error),
                Next::Stop => return Err(error),
                Next::LookUp if caps.lookup == LookupKey::Reference && caps.payment_status => {
                    match gateway.payment_status(&request.reference).await {
                        Ok(payment) => {
                            attempts.push(Attempt::new(id, Outcome::FoundByReference, None));
                            return Ok((payment, caps.lookup));
                        }
                        Err(not_found @ Error::NotFound { .. }) => {
                            attempts.push(Attempt::new(id, Outcome::NotFoundByReference, None));
                            last_error = Some(not_found);
                        }
                        Err(lookup_error) => {
                            // Still unknown: stop, with the create's error, which says how to check.
                            if matches!(lookup_error, Error::Transport { .. } | Error::Timeout { .. })
                                || matches!(lookup_error, Error::Api { status: Some(s), .. } if s >= 500)
                            {
                                self.record(id, Health::Unhealthy).await;
                            }
                            if let Some(last) = attempts.last_mut() {
                                last.detail = Some(format!("{error}; looking it up failed: {lookup_error}"));
                            }
                            return Err(error);
                        }
                    }
                }
                // It cannot be looked up by the merchant's reference: never a second gateway.
                Next::LookUp => return Err(error),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            if attempts.iter().any(|a| a.outcome == Outcome::CircuitOpen) {
                Error::Transport { message: "every candidate gateway was skipped: circuit open or limits".into() }
            } else {
                Error::validation("request", "no candidate gateway takes it (amount, currency, channel or fields)")
            }
        }))
    }

    async fn record(&self, id: ProviderId, health: Health) {
        if let Err(error) = self.inner.circuits.record(id, self.inner.policy, health).await {
            tracing::warn!(gateway = id.as_str(), %error, "circuit store failed to record a call");
        }
    }

    /// The status of `payment`, asked of the gateway that owns it ([`Payment::provider`]).
    pub async fn status_of(&self, payment: &Payment) -> Result<Payment, Error> {
        let gateway = self.owner(payment.provider)?;
        let id = payment
            .lookup_id(gateway.capabilities().lookup)
            .ok_or_else(|| Error::validation("payment", "lacks the id its gateway looks payments up by"))?;
        gateway.payment_status(id).await
    }

    fn owner(&self, id: ProviderId) -> Result<&Arc<dyn PaymentProvider>, Error> {
        self.inner
            .gateways
            .get(&id)
            .ok_or_else(|| Error::validation("gateway", format!("{id} is not one of this router's gateways")))
    }

    /// The gateway and the gateway's own id of a router id, `<gateway>:<id>` ([`Routed::lookup_id`]).
    fn split<'a>(&self, routed_id: &'a str) -> Result<(&Arc<dyn PaymentProvider>, &'a str), Error> {
        let (gateway, id) = routed_id
            .split_once(':')
            .ok_or_else(|| Error::validation("id", "a router takes `<gateway>:<id>`, as Routed::lookup_id gives"))?;
        let gateway: ProviderId = gateway.parse()?;
        Ok((self.owner(gateway)?, id))
    }
}

/// The router as a gateway. `create_payment` is [`Router::route`] without its attempts;
/// `payment_status` and `cancel_payment` take `<gateway>:<id>` ([`Routed::lookup_id`]) and ask
/// the gateway that owns the payment; `verify_webhook` gives the webhook to the gateway that
/// verifies it (signed gateways in order, then one that recognises it as its own). `id()` is the
/// first gateway added: a payment names its real gateway in [`Payment::provider`].
#[async_trait]
impl PaymentProvider for Router {
    fn id(&self) -> ProviderId {
        self.inner.order[0]
    }

    fn capabilities(&self) -> Capabilities {
        let all: Vec<Capabilities> = self.inner.order.iter().map(|id| self.inner.gateways[id].capabilities()).collect();
        let webhook = if all.iter().any(|c| c.webhook == WebhookSupport::Signed) {
            WebhookSupport::Signed
        } else if all.iter().any(|c| c.webhook == WebhookSupport::ConfirmedByStatus) {
            WebhookSupport::ConfirmedByStatus
        } else {
            WebhookSupport::None
        };
        let caps = Capabilities::new(webhook);
        if all.iter().any(|c| c.cancel_payment) { caps.with_cancel() } else { caps }
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        self.route(request).await.map(|routed| routed.payment).map_err(Error::from)
    }

    async fn payment_status(&self, routed_id: &str) -> Result<Payment, Error> {
        let (gateway, id) = self.split(routed_id)?;
        gateway.payment_status(id).await
    }

    async fn cancel_payment(&self, routed_id: &str) -> Result<Payment, Error> {
        let (gateway, id) = self.split(routed_id)?;
        gateway.cancel_payment(id).await
    }

    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        let mut refused = None;
        for id in &self.inner.order {
            let gateway = &self.inner.gateways[id];
            let take = match gateway.capabilities().webhook {
                WebhookSupport::Signed => true,
                // Confirmed by an authenticated status call: only a webhook it recognises.
                WebhookSupport::ConfirmedByStatus => gateway.webhook_claims(request).is_some(),
                _ => false,
            };
            if !take {
                continue;
            }
            match gateway.verify_webhook(request).await {
                Ok(event) => return Ok(event),
                // Not this gateway's failure alone: the gateway must deliver it again.
                Err(error) if !error.is_verification_failure() => return Err(error),
                // A body of another gateway's shape fails to decode here: the refusal of a gateway
                // that could read it (a bad signature, a stale timestamp) says more.
                Err(error) => {
                    if refused.as_ref().is_none_or(|kept| matches!(kept, Error::Decode { .. })) {
                        refused = Some(error);
                    }
                }
            }
        }
        Err(refused.unwrap_or_else(|| Error::invalid_signature("no gateway of this router verifies it")))
    }
}
