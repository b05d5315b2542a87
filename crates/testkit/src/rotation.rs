//! The property every webhook verifier holds during a key rotation, shared by the gateways'
//! tests: a webhook verifies exactly when it was made with one of the configured keys, and the
//! event names that key. The gateways' tests give the property their own way of making and
//! verifying a webhook ([`check_rotation_property`]); the rest is here.

use std::cell::RefCell;
use std::fmt::Debug;

use gerbang_core::{Error, KeyUsed, WebhookEvent};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Which key should verify a webhook made with `signer`, given the verifier's `current` and
/// `previous` keys: `None` when neither (the webhook must be refused). The current key wins
/// when both are the same.
pub fn expected_key<K: PartialEq>(current: &K, previous: Option<&K>, signer: &K) -> Option<KeyUsed> {
    if signer == current {
        Some(KeyUsed::Current)
    } else if previous == Some(signer) {
        Some(KeyUsed::Previous)
    } else {
        None
    }
}

/// Counts the outcomes of a rotation property test and checks each against [`expected_key`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationOutcomes {
    /// Webhooks verified with the current key.
    pub current: u64,
    /// Webhooks verified with the previous key.
    pub previous: u64,
    /// Webhooks refused (made with a key that is neither).
    pub refused: u64,
}

impl RotationOutcomes {
    /// Records one case: `verified` is what the verifier said (`Ok(key)` the event's key), and
    /// it must be what [`expected_key`] says; a refusal must be [`Error::InvalidSignature`].
    ///
    /// # Errors
    ///
    /// A message saying what was expected and what happened, for `TestCaseError::fail`.
    pub fn record<K: PartialEq + Debug>(
        &mut self,
        current: &K,
        previous: Option<&K>,
        signer: &K,
        verified: Result<Option<KeyUsed>, Error>,
    ) -> Result<(), String> {
        let expected = expected_key(current, previous, signer);
        match (expected, verified) {
            (Some(want), Ok(Some(got))) if want == got => {
                match got {
                    KeyUsed::Current => self.current += 1,
                    KeyUsed::Previous => self.previous += 1,
                }
                Ok(())
            }
            (None, Err(Error::InvalidSignature { .. })) => {
                self.refused += 1;
                Ok(())
            }
            (want, got) => Err(format!(
                "current {current:?}, previous {previous:?}, signed with {signer:?}: expected {want:?}, got {got:?}"
            )),
        }
    }

    /// All cases recorded.
    pub fn cases(&self) -> u64 {
        self.current + self.previous + self.refused
    }

    /// One line for the test's output.
    pub fn summary(&self, gateway: &str) -> String {
        format!(
            "{gateway} key rotation: {} cases: {} verified with the current key, {} with the previous key, {} made with another key refused",
            self.cases(),
            self.current,
            self.previous,
            self.refused
        )
    }
}

/// Keys as a merchant might paste them: any printable text, never blank.
pub fn pasted_key() -> impl Strategy<Value = String> {
    "[ -~]{1,48}".prop_filter("a key is not blank", |k| !k.trim().is_empty())
}

/// A rotation of [pasted](pasted_key) keys: any current key, any previous key or none, and the
/// key a webhook is made with: the current one, the previous one, or another (a third of the
/// cases each; without a previous key, another).
pub fn rotation_keys() -> impl Strategy<Value = (String, Option<String>, String)> {
    (pasted_key(), proptest::option::of(pasted_key()), pasted_key(), 0_u8..3).prop_map(
        |(current, previous, other, signer)| {
            let signer = match (signer, &previous) {
                (0, _) => current.clone(),
                (1, Some(previous)) => previous.clone(),
                _ => other,
            };
            (current, previous, signer)
        },
    )
}

/// Runs the rotation property over `cases` cases of `strategy`: each a rotation (current key,
/// previous key or none, the key the webhook is made with) and whatever else the gateway varies.
/// `verify` makes the webhook with the signer's key, verifies it with a verifier of the current
/// and previous keys, and returns the key the event names; each answer must be what
/// [`expected_key`] says. Prints the [summary](RotationOutcomes::summary) as `gateway`'s.
///
/// # Panics
///
/// On the first case that breaks the property (shrunk, with what was expected and what
/// happened), and when the cases never verified with the current key, with the previous key,
/// or never refused one: a strategy that tests less than it seems.
#[allow(clippy::print_stderr)] // The summary is the test's own output, shown with --nocapture.
pub fn check_rotation_property<K, X, S>(
    gateway: &str,
    cases: u32,
    strategy: S,
    verify: impl Fn(&K, Option<&K>, &K, X) -> Result<Option<KeyUsed>, Error>,
) -> RotationOutcomes
where
    K: PartialEq + Debug,
    X: Debug,
    S: Strategy<Value = ((K, Option<K>, K), X)>,
{
    let outcomes = RefCell::new(RotationOutcomes::default());
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let run = runner.run(&strategy, |((current, previous, signer), extra)| {
        let verified = verify(&current, previous.as_ref(), &signer, extra);
        outcomes.borrow_mut().record(&current, previous.as_ref(), &signer, verified).map_err(TestCaseError::fail)
    });
    if let Err(failure) = run {
        panic!("{gateway} key rotation: {failure}");
    }
    let outcomes = outcomes.into_inner();
    eprintln!("{}", outcomes.summary(gateway));
    assert_eq!(outcomes.cases(), u64::from(cases));
    assert!(outcomes.current > 0 && outcomes.previous > 0 && outcomes.refused > 0, "{outcomes:?}");
    outcomes
}

/// Adds what a verification shows to `shown`, for [`assert_nothing_leaks`](crate::assert_nothing_leaks):
/// the event's `Debug` and JSON, or the error's `Debug` and message; after checking that it
/// names the `expected` key (`None`: the webhook must be refused).
///
/// # Panics
///
/// When the verification named another key, or refused a webhook it should have verified.
pub fn show_verification(shown: &mut Vec<String>, verified: Result<WebhookEvent, Error>, expected: Option<KeyUsed>) {
    match verified {
        Ok(event) => {
            assert_eq!(event.verified_with, expected);
            shown.push(format!("{event:?}"));
            shown.push(serde_json::to_string(&event).unwrap_or_else(|e| panic!("the event serialises: {e}")));
        }
        Err(error) => {
            assert_eq!(expected, None, "refused: {error}");
            shown.push(format!("{error:?}"));
            shown.push(error.to_string());
        }
    }
}

/// The scenario of [`run_previous_key_scenarios`] whose child has a previous key configured.
pub const WITH_PREVIOUS: &str = "with-previous";

/// The scenario of [`run_previous_key_scenarios`] whose child has none (unset, or blank).
pub const WITHOUT_PREVIOUS: &str = "without-previous";

/// Runs `test` in child processes (see [`run_env_scenario`](crate::run_env_scenario)), each
/// with the variables in `remove` cleared and `keys` set: [`WITH_PREVIOUS`] with `previous`
/// (the variable of the previous key, and its value) set too, then [`WITHOUT_PREVIOUS`] twice,
/// without the previous variable and with it set to `blank` (a blank variable is no key).
///
/// # Panics
///
/// As [`run_env_scenario`](crate::run_env_scenario).
pub fn run_previous_key_scenarios(
    test: &str,
    remove: &[&str],
    keys: &[(&str, &str)],
    previous: (&str, &str),
    blank: &str,
) {
    let mut with = keys.to_vec();
    with.push(previous);
    crate::run_env_scenario(test, WITH_PREVIOUS, remove, &with);
    crate::run_env_scenario(test, WITHOUT_PREVIOUS, remove, keys);
    with.pop();
    with.push((previous.0, blank));
    crate::run_env_scenario(test, WITHOUT_PREVIOUS, remove, &with);
}
