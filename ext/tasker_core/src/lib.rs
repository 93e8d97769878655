//! The native extension: a thin magnus adapter over `tasker_orchestration`. Everything that
//! crosses is a JSON string; blocking work runs without the GVL; errors and panics become
//! exceptions of the `TaskerCore::Error` hierarchy (classes defined in Ruby).

mod errors;
mod limits;
mod log_pipe;
mod nogvl;
mod operator_handle;
mod orchestrator_handle;
mod settings;
mod statements;
mod templates;

use magnus::{prelude::*, Error, Ruby};

#[magnus::init]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let native = ruby.define_module("TaskerCore")?.define_module("Native")?;
    orchestrator_handle::define(ruby, native)?;
    operator_handle::define(ruby, native)?;
    templates::define(native)?;
    limits::define(native)?;
    log_pipe::define(native)?;
    settings::define(native)?;
    statements::define(native)?;
    Ok(())
}
