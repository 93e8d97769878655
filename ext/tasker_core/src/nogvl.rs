//! Runs blocking Rust work with the GVL released, so other Ruby threads keep running, and
//! turns a panic into an error instead of unwinding into Ruby's C frames.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use magnus::{Error, Ruby};
use tasker_orchestration::RuntimeError;

use crate::errors::{from_panic, from_runtime};

struct Call<F, R> {
    func: Option<F>,
    result: Option<std::thread::Result<R>>,
}

unsafe extern "C" fn trampoline<F: FnOnce() -> R, R>(data: *mut c_void) -> *mut c_void {
    // SAFETY: `data` is the `Call` owned by `nogvl`'s frame, which outlives this call.
    let call = unsafe { &mut *(data as *mut Call<F, R>) };
    if let Some(func) = call.func.take() {
        call.result = Some(catch_unwind(AssertUnwindSafe(func)));
    }
    std::ptr::null_mut()
}

/// Runs `func` without the GVL. `func` must not touch any Ruby object.
/// `Err` carries the panic message.
pub fn nogvl<F: FnOnce() -> R, R>(func: F) -> Result<R, String> {
    let mut call = Call { func: Some(func), result: None };
    unsafe {
        rb_sys::rb_thread_call_without_gvl(
            Some(trampoline::<F, R>),
            &mut call as *mut Call<F, R> as *mut c_void,
            None,
            std::ptr::null_mut(),
        );
    }
    match call.result {
        Some(Ok(value)) => Ok(value),
        Some(Err(panic)) => Err(panic_message(panic)),
        None => Err("native call did not run".to_owned()),
    }
}

/// Runs core work without the GVL and turns both failure kinds (an error, a panic) into
/// Ruby exceptions.
pub fn blocking<R>(ruby: &Ruby, f: impl FnOnce() -> Result<R, RuntimeError>) -> Result<R, Error> {
    nogvl(f).map_err(|panic| from_panic(ruby, &panic))?.map_err(|e| from_runtime(ruby, &e))
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}
