//! Structured logs: one JSON object per line, the same shape Ruby's TaskerCore::Logging writes:
//! `{"ts":"…","level":"INFO","component":"orchestrator.results","msg":"…",…fields}`.
//! Every rendered value passes through `mask_credentials`, so credentials never reach a log.
//!
//! Lines go to stderr, or to a pipe a host opened with [`open_pipe`]: the Ruby side reads it
//! and writes each line to its own logger (Rails.logger), so no callback crosses into Ruby
//! from the core's threads.

use std::io::{PipeWriter, Write};
use std::os::fd::OwnedFd;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::masking::mask_credentials;

static INSTALLED: OnceLock<()> = OnceLock::new();
/// Where lines go when a host opened a pipe; stderr when None.
static PIPE: Mutex<Option<PipeWriter>> = Mutex::new(None);

/// Sends every later line to a new pipe and returns its read end (the host reads lines from
/// it until end of file). A previous pipe is closed, so its reader sees end of file.
pub fn open_pipe() -> std::io::Result<OwnedFd> {
    let (reader, writer) = std::io::pipe()?;
    *PIPE.lock().unwrap_or_else(|p| p.into_inner()) = Some(writer);
    Ok(reader.into())
}

/// Sends lines to stderr again; the pipe's reader sees end of file after the last line.
pub fn close_pipe() {
    PIPE.lock().unwrap_or_else(|p| p.into_inner()).take();
}

/// One write per line under the lock, so lines from the core's threads never interleave. A
/// line the pipe refuses (its reader is gone) goes to stderr rather than nowhere.
fn write_line(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let mut pipe = PIPE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(writer) = pipe.as_mut() {
        if writer.write_all(&bytes).is_ok() {
            return;
        }
        pipe.take();
    }
    drop(pipe);
    let _ = std::io::stderr().lock().write_all(&bytes);
}

/// Installs the JSON log layer as the global subscriber (first call wins; later calls are
/// no-ops, so an embedding process may call it on every start).
pub fn init(level: &str) {
    INSTALLED.get_or_init(|| {
        // sqlx logs every statement at DEBUG; only its warnings are worth a line.
        let filter = Targets::new().with_default(parse_level(level)).with_target("sqlx", LevelFilter::WARN);
        let subscriber = tracing_subscriber::registry().with(JsonLines.with_filter(filter));
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

fn parse_level(level: &str) -> LevelFilter {
    match level.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        "off" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

struct JsonLines;

impl<S: Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        write_line(&render(event));
    }
}

fn render(event: &Event<'_>) -> String {
    let mut fields = FieldCollector(Map::new());
    event.record(&mut fields);
    let mut fields = fields.0;
    let component = match fields.remove("component") {
        Some(Value::String(c)) => c,
        _ => component_from_target(event.metadata().target()),
    };
    let msg = fields.remove("message").unwrap_or(Value::String(String::new()));
    let mut line = Map::new();
    line.insert("ts".into(), Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
    line.insert("level".into(), Value::String(level_name(event.metadata().level()).into()));
    line.insert("component".into(), Value::String(component));
    line.insert("msg".into(), msg);
    line.extend(fields);
    Value::Object(line).to_string()
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

fn component_from_target(target: &str) -> String {
    target.trim_start_matches("tasker_orchestration::").replace("::", ".")
}

struct FieldCollector(Map<String, Value>);

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let rendered = mask_credentials(&format!("{value:?}"));
        self.0.insert(field.name().into(), Value::String(rendered));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let rendered = mask_credentials(value);
        self.0.insert(field.name().into(), Value::String(rendered));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::Bool(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_become_dotted_components() {
        assert_eq!(component_from_target("tasker_orchestration::runtime::loops"), "runtime.loops");
        assert_eq!(parse_level("DEBUG"), LevelFilter::DEBUG);
        assert_eq!(parse_level("bogus"), LevelFilter::INFO);
    }

    #[test]
    fn lines_go_through_the_pipe_until_it_is_closed() {
        use std::io::Read;
        let reader = open_pipe().unwrap();
        write_line(r#"{"msg":"one"}"#);
        write_line(r#"{"msg":"two"}"#);
        close_pipe();
        write_line(r#"{"msg":"to stderr"}"#);
        let mut text = String::new();
        std::fs::File::from(reader).read_to_string(&mut text).unwrap();
        assert_eq!(text, "{\"msg\":\"one\"}\n{\"msg\":\"two\"}\n");
    }
}
