//! The property every webhook verifier holds during a key rotation, shared by the gateways'
//! tests: a webhook verifies exactly when it was made with one of the configured keys, and the
//! event names that key.

use std::fmt::Debug;

use gerbang_core::{Error, KeyUsed};

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
