//! The transaction's description, and how its nested object is sent in a form body.

/// The transaction's description: up to three lines (`description.text_1` … `text_3`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Description {
    /// First line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_1: Option<String>,
    /// Second line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_2: Option<String>,
    /// Third line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_3: Option<String>,
}

impl Description {
    /// A description of one line.
    pub fn new(text_1: impl Into<String>) -> Self {
        Self { text_1: Some(text_1.into()), text_2: None, text_3: None }
    }

    /// Sets the second line.
    pub fn text_2(mut self, text: impl Into<String>) -> Self {
        self.text_2 = Some(text.into());
        self
    }

    /// Sets the third line.
    pub fn text_3(mut self, text: impl Into<String>) -> Self {
        self.text_3 = Some(text.into());
        self
    }
}

/// **Decision** (`PROVIDERS.md` §5): how the nested `description` object is sent in a form body.
/// The document shows it as a JSON object; its token's issuer (`"iss":"lumen-jwt"` in the
/// example JWT of `seeds/004_627801bf8e050898.txt`) is a PHP Lumen application, which reads
/// `description[text_1]=…` as that same nested object. So each line is its own field, keyed in
/// PHP's bracket notation (the brackets percent-encoded, as every form encoder does).
pub const DESCRIPTION_FIELDS: [&str; 3] = ["description[text_1]", "description[text_2]", "description[text_3]"];
