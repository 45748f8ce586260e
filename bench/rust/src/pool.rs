//! Pool peers for bench/bench_pool.c: rayon (a ThreadPool of N threads:
//! spawn from outside, join, par_iter) and the threadpool crate
//! (ThreadPool::new(N), execute, join). Declared in bench/peers/rust.h.
//! The work itself is C (bench/peers/pool_work.c), the same for every peer.

use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

// The work of the reduce and fib rows: the one out-of-line copy in
// bench/peers/pool_work.c that every peer calls (see bench/peers/pools.h),
// linked into weft_bench with this library.
extern "C" {
    fn bench_work(x: u64) -> u64;
    fn bench_fib_seq(n: u32) -> u64;
}

#[inline]
fn work(x: u64) -> u64 {
    unsafe { bench_work(x) }
}

fn fib_seq(n: u32) -> u64 {
    unsafe { bench_fib_seq(n) }
}

/// Counts tasks down; the last one wakes the waiter (no wait-for-all in
/// rayon's spawn API).
struct Countdown {
    left: AtomicU64,
    done: Mutex<bool>,
    cv: Condvar,
}

impl Countdown {
    fn new(n: u64) -> Arc<Self> {
        Arc::new(Countdown { left: AtomicU64::new(n), done: Mutex::new(n == 0), cv: Condvar::new() })
    }
    fn tick(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }
    fn wait(&self) {
        let mut d = self.done.lock().unwrap();
        while !*d {
            d = self.cv.wait(d).unwrap();
        }
    }
}

// ---------------------------------------------------------------- rayon

#[no_mangle]
pub extern "C" fn weft_rs_pool_rayon_create(threads: u32) -> *mut rayon::ThreadPool {
    let p = rayon::ThreadPoolBuilder::new().num_threads(threads as usize).build().unwrap();
    Box::into_raw(Box::new(p))
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_rayon_destroy(p: *mut rayon::ThreadPool) {
    unsafe { drop(Box::from_raw(p)) }
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_rayon_empty_tasks(p: *mut rayon::ThreadPool, n: u64) {
    let pool = unsafe { &*p };
    let c = Countdown::new(n);
    for _ in 0..n {
        let c = c.clone();
        pool.spawn(move || c.tick());
    }
    c.wait();
}

fn rayon_fib(n: u32, cutoff: u32) -> u64 {
    if n < cutoff {
        return fib_seq(n);
    }
    let (a, b) = rayon::join(|| rayon_fib(n - 1, cutoff), || rayon_fib(n - 2, cutoff));
    a + b
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_rayon_fib(p: *mut rayon::ThreadPool, n: u32, cutoff: u32) -> u64 {
    unsafe { &*p }.install(|| rayon_fib(n, cutoff))
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_rayon_reduce(p: *mut rayon::ThreadPool, n: u64, grain: u64) -> u64 {
    unsafe { &*p }.install(|| {
        (0..n as usize)
            .into_par_iter()
            .with_min_len(grain as usize)
            .map(|i| work(i as u64))
            .reduce(|| 0u64, |a, b| a.wrapping_add(b))
    })
}

/// Submit one task to the idle pool; ns from submit to the task's start.
#[no_mangle]
pub extern "C" fn weft_rs_pool_rayon_wakeup(p: *mut rayon::ThreadPool) -> u64 {
    let pool = unsafe { &*p };
    let (tx, rx) = channel();
    let t0 = Instant::now();
    pool.spawn(move || tx.send(Instant::now()).unwrap());
    let started = rx.recv().unwrap();
    started.duration_since(t0).as_nanos() as u64
}

// ---------------------------------------------------------------- threadpool

#[no_mangle]
pub extern "C" fn weft_rs_pool_threadpool_create(threads: u32) -> *mut threadpool::ThreadPool {
    Box::into_raw(Box::new(threadpool::ThreadPool::new(threads as usize)))
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_threadpool_destroy(p: *mut threadpool::ThreadPool) {
    let pool = unsafe { Box::from_raw(p) };
    pool.join();
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_threadpool_empty_tasks(p: *mut threadpool::ThreadPool, n: u64) {
    let pool = unsafe { &*p };
    for _ in 0..n {
        pool.execute(|| {});
    }
    pool.join();
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_threadpool_reduce(p: *mut threadpool::ThreadPool, n: u64, grain: u64) -> u64 {
    let pool = unsafe { &*p };
    let (tx, rx) = channel();
    let mut pieces = 0;
    let mut lo = 0;
    while lo < n {
        let hi = (lo + grain).min(n);
        let tx = tx.clone();
        pool.execute(move || {
            let mut s = 0u64;
            for i in lo..hi {
                s = s.wrapping_add(work(i));
            }
            tx.send(s).unwrap();
        });
        pieces += 1;
        lo = hi;
    }
    rx.iter().take(pieces).fold(0u64, |a, b| a.wrapping_add(b))
}

#[no_mangle]
pub extern "C" fn weft_rs_pool_threadpool_wakeup(p: *mut threadpool::ThreadPool) -> u64 {
    let pool = unsafe { &*p };
    let (tx, rx) = channel();
    let t0 = Instant::now();
    pool.execute(move || tx.send(Instant::now()).unwrap());
    let started = rx.recv().unwrap();
    started.duration_since(t0).as_nanos() as u64
}
