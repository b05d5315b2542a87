//! Reading a JSON request body field by field, so that each validation error names the field and
//! says what is accepted (a derived `Deserialize` would answer with serde's wording instead).

use serde_json::{Map, Value};

use super::Refusal;

/// A request body that parsed as a JSON object.
#[derive(Debug)]
pub(super) struct Fields(Map<String, Value>);

impl Fields {
    /// Parses the raw body; a 400 in Cuan10pay's shape when it is not a JSON object.
    pub(super) fn parse(body: &[u8]) -> Result<Self, Refusal> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(Refusal::bad_request("Invalid request body: expected a JSON object")),
            Err(_) => Err(Refusal::bad_request("Invalid JSON body")),
        }
    }

    /// A 400 naming every required field that is absent, null or an empty string.
    pub(super) fn require(&self, names: &[&str]) -> Result<(), Refusal> {
        let missing: Vec<&str> = names.iter().copied().filter(|name| self.is_blank(name)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            let plural = if missing.len() == 1 { "" } else { "s" };
            Err(Refusal::bad_request(format!("Missing required field{plural}: {}", missing.join(", "))))
        }
    }

    fn is_blank(&self, name: &str) -> bool {
        match self.0.get(name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        }
    }

    /// A string field; `None` when absent or null, a 400 when of another type.
    pub(super) fn string(&self, name: &str) -> Result<Option<&str>, Refusal> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Refusal::bad_request(format!("The {name} field must be a string"))),
        }
    }

    /// A whole-number field (`10000`, or `10000.0`); `None` when absent or null, a 400 when it is
    /// a string, a fraction or negative. The document types these as "number".
    pub(super) fn whole_number(&self, name: &str) -> Result<Option<u64>, Refusal> {
        let invalid = || Refusal::bad_request(format!("The {name} field must be a whole positive number"));
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(n) = n.as_u64() {
                    return Ok(Some(n));
                }
                match n.as_f64() {
                    // Exact for every amount the gateway accepts (far below 2^53).
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 9.0e15 => Ok(Some(f as u64)),
                    _ => Err(invalid()),
                }
            }
            Some(_) => Err(invalid()),
        }
    }

    /// A field whose absence is ruled out by [`require`](Self::require), as a string.
    pub(super) fn required_string(&self, name: &str) -> Result<&str, Refusal> {
        self.string(name)?.ok_or_else(|| Refusal::bad_request(format!("Missing required field: {name}")))
    }

    /// A field whose absence is ruled out by [`require`](Self::require), as a whole number.
    pub(super) fn required_number(&self, name: &str) -> Result<u64, Refusal> {
        self.whole_number(name)?.ok_or_else(|| Refusal::bad_request(format!("Missing required field: {name}")))
    }
}
