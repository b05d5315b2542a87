//! The names of each gateway's operations, as a [`Fault`](crate::Fault) names them, and how a
//! request is recognised as one: by its method and its path after the gateway's prefix (and,
//! where one path serves several, the form's `action`). Each gateway declares its own
//! ([`EmulatedGateway::operations`](crate::emulated::EmulatedGateway::operations)).

use gerbang_core::ProviderId;

use crate::emulated::{self, Operation};

/// The operation every call of a gateway is, besides its own name.
pub(crate) const ANY_OPERATION: &str = "any";

/// The operations `provider` declares; none for a gateway not emulated.
fn declared(provider: ProviderId) -> &'static [Operation] {
    emulated::of(provider).map_or(&[], |gateway| gateway.operations())
}

/// The operations of `provider`, `any` first.
pub(crate) fn names(provider: ProviderId) -> Vec<&'static str> {
    let own = declared(provider).iter().map(|o| o.name);
    std::iter::once(ANY_OPERATION).chain(own).collect()
}

/// Whether `name` is an operation of `provider` (or `any`).
pub(crate) fn exists(provider: ProviderId, name: &str) -> bool {
    name == ANY_OPERATION || declared(provider).iter().any(|o| o.name == name)
}

/// Whether the request needs its body read to be told apart: a path that serves several
/// operations by the form's `action` (Ciputra's `POST /transaction`).
pub(crate) fn needs_action(provider: ProviderId, method: &str, path: &str) -> bool {
    declared(provider).iter().any(|o| o.method == method && o.path == path && o.action.is_some())
}

/// The operation a request is, if any: `path` after the gateway's prefix, `action` the form
/// field (when [`needs_action`]).
pub(crate) fn of(provider: ProviderId, method: &str, path: &str, action: Option<&str>) -> Option<&'static str> {
    declared(provider)
        .iter()
        .filter(|o| o.method == method && o.path == path)
        .find(|o| o.action.is_none() || o.action == action)
        .map(|o| o.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_operation_is_recognised_by_its_method_path_and_action() {
        for gateway in emulated::all() {
            let provider = gateway.provider();
            let operations = gateway.operations();
            assert!(!operations.is_empty(), "{provider} declares its operations");
            for op in operations {
                assert_eq!(of(provider, op.method, op.path, op.action), Some(op.name), "{provider} {}", op.name);
                assert!(exists(provider, op.name), "{provider} {}", op.name);
                assert_eq!(
                    needs_action(provider, op.method, op.path),
                    operations.iter().any(|o| { o.method == op.method && o.path == op.path && o.action.is_some() })
                );
                let other = if op.method == "GET" { "DELETE" } else { "GET" };
                assert_eq!(of(provider, other, op.path, op.action), None, "{provider} {}: another method", op.name);
            }
            assert_eq!(names(provider)[0], ANY_OPERATION);
            assert_eq!(names(provider).len(), operations.len() + 1);
            assert!(exists(provider, ANY_OPERATION) && !exists(provider, "no_such_operation"));
            assert_eq!(of(provider, "GET", "/no/such/path", None), None);
        }
    }
}
