//! `TaskerCore::Native._prioritized_read_sql_private(queue, select)`: the core's prioritized
//! read, the one definition Ruby's workers mirror (spec/native checks that they agree).

use magnus::{function, Error, RModule, Ruby};
use tasker_orchestration::{prioritized_read_sql, QueueName};

use crate::errors::ruby_error;

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_prioritized_read_sql_private", function!(prioritized_read, 2))?;
    Ok(())
}

fn prioritized_read(ruby: &Ruby, queue: String, select: String) -> Result<String, Error> {
    let queue = QueueName::new(&queue).map_err(|e| ruby_error(ruby, "QueueNameError", &e.to_string()))?;
    Ok(prioritized_read_sql(&queue, &select))
}
