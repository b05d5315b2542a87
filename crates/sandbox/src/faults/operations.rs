//! The names of each gateway's operations, as a [`Fault`](crate::Fault) names them, and how a
//! request is recognised as one: by its method and its path after the gateway's prefix (and, for
//! Ciputra's `POST /transaction`, the form's `action`).

use gerbang_core::ProviderId;

/// The operation every call of a gateway is, besides its own name.
pub(crate) const ANY_OPERATION: &str = "any";

/// How a call is recognised: method and path after the prefix; for Ciputra's `/transaction`,
/// also its form's `action` (`None`: any other action, or none: the document's default,
/// `charge`).
struct Operation {
    provider: ProviderId,
    name: &'static str,
    method: &'static str,
    path: &'static str,
    action: Option<&'static str>,
}

const fn op(provider: ProviderId, name: &'static str, method: &'static str, path: &'static str) -> Operation {
    Operation { provider, name, method, path, action: None }
}

const fn ciputra(name: &'static str, action: Option<&'static str>) -> Operation {
    Operation { provider: ProviderId::Ciputra, name, method: "POST", path: "/transaction", action }
}

/// Every operation of every gateway. The customer-facing pages (checkout, invoice, QR image) are
/// not operations: a fault never touches them.
const OPERATIONS: &[Operation] = &[
    op(ProviderId::Cuan10pay, "create", "POST", "/v1/deposit_create"),
    op(ProviderId::Cuan10pay, "status", "GET", "/v1/deposit_status"),
    op(ProviderId::Cuan10pay, "invoice_status", "GET", "/v1/invoice_status"),
    op(ProviderId::Cuan10pay, "ppob_products", "GET", "/v1/ppob_products"),
    op(ProviderId::Cuan10pay, "ppob_order", "POST", "/v1/ppob_order"),
    op(ProviderId::Cuan10pay, "smm_services", "GET", "/v1/smm_services"),
    op(ProviderId::Cuan10pay, "smm_order", "POST", "/v1/smm_order"),
    op(ProviderId::Cuan10pay, "voucher_products", "GET", "/v1/voucher_products"),
    op(ProviderId::Cuan10pay, "voucher_order", "POST", "/v1/voucher_order"),
    op(ProviderId::CashIn, "create", "POST", "/payment"),
    op(ProviderId::CashIn, "status", "POST", "/payment/status"),
    op(ProviderId::Qris, "create", "GET", "/api/v1/invoice/create"),
    op(ProviderId::Qris, "status", "GET", "/api/v1/invoice/status"),
    op(ProviderId::Qris, "cancel", "POST", "/api/v1/invoice/cancel"),
    op(ProviderId::Qris, "balance", "GET", "/api/v1/balance"),
    op(ProviderId::Qris, "withdraw", "POST", "/api/v1/withdraw/dana"),
    op(ProviderId::Qris, "withdraw_status", "GET", "/api/v1/withdraw/status"),
    op(ProviderId::Qris, "withdraw_history", "GET", "/api/v1/withdraw/history"),
    op(ProviderId::CryptoInvoice, "create", "POST", "/create_invoice"),
    op(ProviderId::CryptoInvoice, "status", "POST", "/get_invoices"),
    op(ProviderId::Ciputra, "token", "POST", "/auth/token"),
    ciputra("cancel", Some("cancel")),
    ciputra("registration", Some("registration")),
    ciputra("create", None),
    op(ProviderId::Ciputra, "status", "POST", "/transaction/status"),
    op(ProviderId::Ciputra, "registration_status", "POST", "/registration/status"),
];

/// The operations of `provider`, `any` first.
pub(crate) fn names(provider: ProviderId) -> Vec<&'static str> {
    let own = OPERATIONS.iter().filter(|o| o.provider == provider).map(|o| o.name);
    std::iter::once(ANY_OPERATION).chain(own).collect()
}

/// Whether `name` is an operation of `provider` (or `any`).
pub(crate) fn exists(provider: ProviderId, name: &str) -> bool {
    name == ANY_OPERATION || OPERATIONS.iter().any(|o| o.provider == provider && o.name == name)
}

/// Whether the request needs its body read to be told apart: Ciputra's `POST /transaction`.
pub(crate) fn needs_action(provider: ProviderId, method: &str, path: &str) -> bool {
    provider == ProviderId::Ciputra && method == "POST" && path == "/transaction"
}

/// The operation a request is, if any: `path` after the gateway's prefix, `action` the form
/// field of a Ciputra transaction (when [`needs_action`]).
pub(crate) fn of(provider: ProviderId, method: &str, path: &str, action: Option<&str>) -> Option<&'static str> {
    OPERATIONS
        .iter()
        .filter(|o| o.provider == provider && o.method == method && o.path == path)
        .find(|o| o.action.is_none() || o.action == action)
        .map(|o| o.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_by_method_path_and_ciputras_action() {
        assert_eq!(of(ProviderId::Cuan10pay, "POST", "/v1/deposit_create", None), Some("create"));
        assert_eq!(of(ProviderId::Cuan10pay, "GET", "/v1/deposit_create", None), None, "another method");
        assert_eq!(of(ProviderId::Qris, "GET", "/invoice/abc/qr.svg", None), None, "a page");
        assert_eq!(of(ProviderId::Ciputra, "POST", "/transaction", Some("cancel")), Some("cancel"));
        assert_eq!(of(ProviderId::Ciputra, "POST", "/transaction", Some("charge")), Some("create"));
        assert_eq!(of(ProviderId::Ciputra, "POST", "/transaction", None), Some("create"), "charge is the default");
        assert!(needs_action(ProviderId::Ciputra, "POST", "/transaction"));
        assert!(!needs_action(ProviderId::Ciputra, "POST", "/transaction/status"));
        assert_eq!(names(ProviderId::CashIn), ["any", "create", "status"]);
        assert!(exists(ProviderId::Qris, "withdraw") && exists(ProviderId::Qris, "any"));
        assert!(!exists(ProviderId::CashIn, "cancel"));
    }
}
