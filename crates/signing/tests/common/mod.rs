//! Reads the vector files in `tests/fixtures/`, written once by `gen_vectors.py`.
//!
//! Format: `# comments`, `[name]` opens a vector, then `key = value` lines where the value is the
//! rest of the line (possibly empty). `body_file` names a file beside it holding the exact bytes.

#![allow(dead_code, unreachable_pub)] // each test crate uses a different part

use std::collections::BTreeMap;
use std::path::PathBuf;

pub struct Vector {
    pub name: String,
    fields: BTreeMap<String, String>,
}

impl Vector {
    /// The value of `key`; a missing key is a broken fixture, so the test fails saying which.
    pub fn get(&self, key: &str) -> &str {
        self.fields.get(key).unwrap_or_else(|| panic!("vector [{}] has no `{key}`", self.name))
    }

    pub fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// The request body: the file named by `body_file`, or the inline `body`.
    pub fn body(&self) -> Vec<u8> {
        match self.fields.get("body_file") {
            Some(file) => fixture_bytes(file),
            None => self.get("body").as_bytes().to_vec(),
        }
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

pub fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).unwrap_or_else(|_| panic!("{name} is not UTF-8"))
}

/// Every vector of a fixture file, in file order.
pub fn vectors(file: &str) -> Vec<Vector> {
    let mut vectors: Vec<Vector> = Vec::new();
    for (number, line) in fixture_text(file).lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            vectors.push(Vector { name: name.to_owned(), fields: BTreeMap::new() });
            continue;
        }
        let (key, value) = line.split_once(" =").unwrap_or_else(|| panic!("{file}:{}: not `key = value`", number + 1));
        let value = value.strip_prefix(' ').unwrap_or(value);
        let vector = vectors.last_mut().unwrap_or_else(|| panic!("{file}:{}: value before any [name]", number + 1));
        vector.fields.insert(key.to_owned(), value.to_owned());
    }
    assert!(!vectors.is_empty(), "{file} holds no vectors");
    vectors
}

/// The vector called `name` in `file`.
pub fn vector(file: &str, name: &str) -> Vector {
    vectors(file).into_iter().find(|vector| vector.name == name).unwrap_or_else(|| panic!("{file} has no [{name}]"))
}
