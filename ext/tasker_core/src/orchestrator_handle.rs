//! `TaskerCore::Native::OrchestratorHandle`: an embedded orchestrator. JSON in, JSON out;
//! the Ruby facade (`TaskerCore::Orchestrator`) offers the keyword API.

use std::sync::Mutex;
use std::time::Duration;

use magnus::{function, method, prelude::*, Error, RModule, Ruby};
use serde_json::json;
use tasker_orchestration::limits::{check_size, MAX_CONFIG_JSON_BYTES};
use tasker_orchestration::{CoreConfig, Orchestrator, RuntimeError};

use crate::nogvl::blocking;

#[magnus::wrap(class = "TaskerCore::Native::OrchestratorHandle", free_immediately, size)]
pub struct OrchestratorHandle {
    inner: Mutex<Option<Orchestrator>>,
}

pub fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("OrchestratorHandle", ruby.class_object())?;
    class.define_singleton_method("_start_private", function!(start, 1))?;
    class.define_method("_stop_private", method!(OrchestratorHandle::stop, 1))?;
    class.define_method("_status_private", method!(OrchestratorHandle::status, 0))?;
    class.define_method("_enqueue_private", method!(OrchestratorHandle::enqueue, 1))?;
    Ok(())
}

fn start(ruby: &Ruby, config_json: String) -> Result<OrchestratorHandle, Error> {
    let orchestrator = blocking(ruby, move || {
        check_size("config JSON", &config_json, MAX_CONFIG_JSON_BYTES)?;
        Orchestrator::start(CoreConfig::from_json(&config_json)?)
    })?;
    Ok(OrchestratorHandle { inner: Mutex::new(Some(orchestrator)) })
}

impl OrchestratorHandle {
    fn with<R>(&self, ruby: &Ruby, f: impl FnOnce(&mut Orchestrator) -> Result<R, RuntimeError>) -> Result<R, Error> {
        blocking(ruby, || {
            let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let orchestrator = guard.as_mut().ok_or(RuntimeError::NotRunning)?;
            f(orchestrator)
        })
    }

    fn stop(ruby: &Ruby, rb_self: &Self, timeout_ms: u64) -> Result<String, Error> {
        let report = rb_self.with(ruby, |o| o.stop(Duration::from_millis(timeout_ms)))?;
        Ok(report.to_string())
    }

    fn status(ruby: &Ruby, rb_self: &Self) -> Result<String, Error> {
        Ok(rb_self.with(ruby, |o| o.status())?.to_string())
    }

    fn enqueue(ruby: &Ruby, rb_self: &Self, request_json: String) -> Result<String, Error> {
        // Its size is checked by the core first (the payload limit plus the envelope).
        let uuid = rb_self.with(ruby, |o| o.enqueue(&request_json))?;
        Ok(json!({"task_uuid": uuid}).to_string())
    }
}
