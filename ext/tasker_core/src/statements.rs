//! `TaskerCore::Native._prioritized_read_sql_private(queue, before, select)`: the core's
//! prioritized read, and `_session_settings_private`: the settings of its sessions (JSON), the
//! definitions Ruby's workers mirror (spec/native checks that they agree).

use magnus::{function, Error, RModule, Ruby};
use tasker_orchestration::{prioritized_read_after_sql, QueueName, SESSION_SETTINGS};

use crate::errors::ruby_error;

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_prioritized_read_sql_private", function!(prioritized_read, 3))?;
    native.define_module_function("_session_settings_private", function!(session_settings, 0))?;
    Ok(())
}

fn session_settings() -> String {
    let settings: serde_json::Map<String, serde_json::Value> =
        SESSION_SETTINGS.iter().map(|(k, v)| ((*k).to_owned(), (*v).into())).collect();
    serde_json::Value::Object(settings).to_string()
}

fn prioritized_read(ruby: &Ruby, queue: String, before: String, select: String) -> Result<String, Error> {
    let queue = QueueName::new(&queue).map_err(|e| ruby_error(ruby, "QueueNameError", &e.to_string()))?;
    Ok(prioritized_read_after_sql(&queue, &before, &select))
}
