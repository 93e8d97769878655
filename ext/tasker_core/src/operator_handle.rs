//! `TaskerCore::Native::OperatorHandle`: operator actions (cancel, retry, resolve a step,
//! requeue or discard a dead letter), each naming its actor, from any process. JSON strings in and out; the Ruby facade is `TaskerCore::Operator`.

use magnus::{function, method, prelude::*, Error, RModule, Ruby};
use tasker_orchestration::limits::{check_size, MAX_CONFIG_JSON_BYTES};
use tasker_orchestration::{CoreConfig, Operator};

use crate::nogvl::blocking;

#[magnus::wrap(class = "TaskerCore::Native::OperatorHandle", free_immediately, size)]
pub struct OperatorHandle {
    operator: Operator,
}

pub fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("OperatorHandle", ruby.class_object())?;
    class.define_singleton_method("_connect_private", function!(connect, 1))?;
    class.define_method("_install_schema_private", method!(OperatorHandle::install_schema, 0))?;
    class.define_method("_cancel_private", method!(OperatorHandle::cancel, 2))?;
    class.define_method("_retry_private", method!(OperatorHandle::retry, 2))?;
    class.define_method("_resolve_step_private", method!(OperatorHandle::resolve_step, 4))?;
    class.define_method("_requeue_dead_letter_private", method!(OperatorHandle::requeue_dead_letter, 2))?;
    class.define_method("_discard_dead_letter_private", method!(OperatorHandle::discard_dead_letter, 2))?;
    Ok(())
}

fn connect(ruby: &Ruby, config_json: String) -> Result<OperatorHandle, Error> {
    let operator = blocking(ruby, move || {
        check_size("config JSON", &config_json, MAX_CONFIG_JSON_BYTES)?;
        Operator::connect(&CoreConfig::from_json(&config_json)?)
    })?;
    Ok(OperatorHandle { operator })
}

impl OperatorHandle {
    fn install_schema(ruby: &Ruby, rb_self: &Self) -> Result<bool, Error> {
        blocking(ruby, || rb_self.operator.install_schema())?;
        Ok(true)
    }

    fn cancel(ruby: &Ruby, rb_self: &Self, task_uuid: String, actor: String) -> Result<String, Error> {
        Ok(blocking(ruby, || rb_self.operator.cancel(&task_uuid, &actor))?.to_string())
    }

    fn retry(ruby: &Ruby, rb_self: &Self, task_uuid: String, actor: String) -> Result<String, Error> {
        Ok(blocking(ruby, || rb_self.operator.retry(&task_uuid, &actor))?.to_string())
    }

    fn resolve_step(
        ruby: &Ruby,
        rb_self: &Self,
        task_uuid: String,
        step_name: String,
        results_json: String,
        actor: String,
    ) -> Result<String, Error> {
        Ok(blocking(ruby, || rb_self.operator.resolve_step(&task_uuid, &step_name, &results_json, &actor))?.to_string())
    }

    fn requeue_dead_letter(ruby: &Ruby, rb_self: &Self, id: String, actor: String) -> Result<String, Error> {
        Ok(blocking(ruby, || rb_self.operator.requeue_dead_letter(&id, &actor))?.to_string())
    }

    fn discard_dead_letter(ruby: &Ruby, rb_self: &Self, id: String, actor: String) -> Result<String, Error> {
        Ok(blocking(ruby, || rb_self.operator.discard_dead_letter(&id, &actor))?.to_string())
    }
}
