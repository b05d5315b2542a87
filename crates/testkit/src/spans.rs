//! A `tracing` layer that keeps every span's fields, as a `tracing-opentelemetry` layer would
//! see them (the fields at creation and each one recorded later), for tests of span attributes
//! without an exporter.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span: its id, name, parent and fields as text.
#[derive(Debug, Clone)]
pub struct SeenSpan {
    /// Its id (unique while it is open).
    pub id: u64,
    /// Its name (`gerbang.http.attempt`).
    pub name: &'static str,
    /// Its parent's id.
    pub parent: Option<u64>,
    /// Its fields: strings as they are, anything else as its `Debug`.
    pub fields: BTreeMap<String, String>,
}

impl SeenSpan {
    /// The field `name`, if it was recorded.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The layer, and what it saw. Clones share what is seen.
#[derive(Debug, Clone, Default)]
pub struct SpanCapture(Arc<Mutex<Vec<SeenSpan>>>);

impl SpanCapture {
    /// Every span seen so far, in the order they were created.
    pub fn spans(&self) -> Vec<SeenSpan> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The spans named `name`.
    pub fn named(&self, name: &str) -> Vec<SeenSpan> {
        self.spans().into_iter().filter(|s| s.name == name).collect()
    }

    /// Runs `f` to its end with a subscriber of this layer alone as the default on this thread
    /// (a current-thread runtime's tasks all run there), and returns what was seen.
    pub async fn run<F: std::future::Future>(f: F) -> (Self, F::Output) {
        let capture = Self::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        let output = f.await;
        (capture, output)
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for SpanCapture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = ctx.span(id).and_then(|span| span.parent()).map(|parent| parent.id().into_u64());
        let seen = SeenSpan { id: id.into_u64(), name: attrs.metadata().name(), parent, fields };
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(seen) = spans.iter_mut().rev().find(|s| s.id == id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}
