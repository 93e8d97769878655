//! The core's log lines for Ruby's logger: `TaskerCore::Native._open_log_pipe_private`
//! returns the read end of a pipe that every later core line is written to (Ruby's
//! `Logging::NativeLines` reads it on a thread and writes each line to `Logging.output`);
//! `_close_log_pipe_private` sends lines to stderr again.

use std::os::fd::IntoRawFd;

use magnus::{function, Error, RModule, Ruby};

use crate::errors::ruby_error;

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_open_log_pipe_private", function!(open, 0))?;
    native.define_module_function("_close_log_pipe_private", function!(close, 0))?;
    Ok(())
}

/// The read end's descriptor; Ruby owns it from here (IO.for_fd with autoclose).
fn open(ruby: &Ruby) -> Result<i32, Error> {
    let reader = tasker_orchestration::open_log_pipe().map_err(|e| ruby_error(ruby, "Error", &format!("log pipe: {e}")))?;
    Ok(reader.into_raw_fd())
}

fn close() {
    tasker_orchestration::close_log_pipe();
}
