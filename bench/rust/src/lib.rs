//! weft_bench_rust: Rust peers for weft's benchmarks, called from C.
//! Each module exports `weft_rs_<area>_*` functions (see bench/peers/rust.h).

mod pool;

/// The toolchain this library was built with, for the result's context.
#[no_mangle]
pub extern "C" fn weft_rs_rustc_version() -> *const std::os::raw::c_char {
    concat!(env!("WEFT_RUSTC_VERSION"), "\0").as_ptr() as *const _
}

mod arc;
mod chan;
mod rt;
