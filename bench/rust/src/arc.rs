//! std::sync::Arc for bench/bench_arc.c: "arc/clone_drop/rust_arc".
//! C holds one Arc (boxed, behind an opaque pointer) shared by every
//! benchmark thread; each thread clones it and drops the clone n times.

use std::ffi::c_void;
use std::sync::Arc;

/// A new shared Arc<u64>, boxed so C can hold it as a pointer.
#[no_mangle]
pub extern "C" fn weft_rs_arc_new() -> *mut c_void {
    Box::into_raw(Box::new(Arc::new(0u64))) as *mut c_void
}

/// Clone the shared Arc and drop the clone, n times (one item each).
///
/// # Safety
/// `shared` must come from weft_rs_arc_new and not be freed yet.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_arc_clone_drop(shared: *const c_void, n: u64) {
    let a = &*(shared as *const Arc<u64>);
    for _ in 0..n {
        // Arc::clone is a relaxed fetch_add (+ overflow check); drop a
        // release fetch_sub (+ acquire fence if last). LLVM does not merge
        // or remove atomic RMWs, so no black_box is needed (and none is
        // used: it would add a stack round trip C's loop does not have).
        let c = Arc::clone(a);
        drop(c);
    }
}

/// Free the shared Arc.
///
/// # Safety
/// `shared` must come from weft_rs_arc_new; no thread may use it after.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_arc_free(shared: *mut c_void) {
    drop(Box::from_raw(shared as *mut Arc<u64>));
}
