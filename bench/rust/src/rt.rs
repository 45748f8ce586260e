//! Task-runtime peers for bench/bench_rt.c (issue 15): tokio 1.24 from
//! Debian's librust-tokio-dev, used as its documentation shows. Every row
//! builds one multi-thread Runtime per benchmark run (weft_rs_rt_new, in
//! the C setup), with as many workers as weft's runtime, and the bench
//! thread waits with block_on. Inside, the work runs in one outer task
//! spawned on the runtime (so spawns and awaits happen on a worker, as weft
//! spawns and joins from a task). Declared in bench/peers/rust.h.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::mpsc;

/// A multi-thread runtime with `threads` workers and the time driver.
#[no_mangle]
pub extern "C" fn weft_rs_rt_new(threads: u32) -> *mut Runtime {
    let rt = Builder::new_multi_thread()
        .worker_threads(threads.max(1) as usize)
        .enable_time()
        .build()
        .expect("tokio runtime");
    Box::into_raw(Box::new(rt))
}

/// # Safety
/// rt comes from weft_rs_rt_new and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_rt_free(rt: *mut Runtime) {
    drop(Box::from_raw(rt));
}

/// Runs `f` as one task on the runtime's workers; the bench thread waits.
fn on_worker<F>(rt: &Runtime, f: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(rt.spawn(f)).expect("tokio task panicked")
}

/// n times: spawn an empty task from a task and await its JoinHandle.
/// # Safety
/// rt comes from weft_rs_rt_new and is not yet freed.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_rt_spawn_join(rt: *const Runtime, n: u64) {
    on_worker(&*rt, async move {
        for i in 0..n {
            let v = tokio::spawn(async move { i }).await.unwrap();
            std::hint::black_box(v);
        }
    });
}

/// n round trips between two tasks over tokio::sync::mpsc::channel(1) (one
/// channel each way; tokio has no capacity-0 channel, and a bounded(1)
/// mpsc channel is the closest reusable hand-off).
/// # Safety
/// As weft_rs_rt_spawn_join.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_rt_pingpong(rt: *const Runtime, n: u64) {
    on_worker(&*rt, async move {
        let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
        let ponger = tokio::spawn(async move {
            for _ in 0..n {
                let v = ping_rx.recv().await.unwrap();
                pong_tx.send(v).await.unwrap();
            }
        });
        let pinger = tokio::spawn(async move {
            for i in 0..n {
                ping_tx.send(i).await.unwrap();
                let v = pong_rx.recv().await.unwrap();
                debug_assert_eq!(v, i);
            }
        });
        pinger.await.unwrap();
        ponger.await.unwrap();
    });
}

/// Two tasks each calling tokio::task::yield_now() n times (run it on a
/// one-worker runtime: both tasks share the worker, so each yield is a
/// switch to the other task).
/// # Safety
/// As weft_rs_rt_spawn_join.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_rt_switch(rt: *const Runtime, n: u64) {
    on_worker(&*rt, async move {
        let a = tokio::spawn(async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
        });
        let b = tokio::spawn(async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
        });
        a.await.unwrap();
        b.await.unwrap();
    });
}

/// `tasks` concurrent tasks each awaiting tokio::time::sleep(sleep_ns),
/// spawned from one task which then awaits every JoinHandle. Returns the
/// ns from the first spawn until the last task was joined, and in
/// *most_asleep the most tasks asleep at once (as bench_rt.c counts them).
/// # Safety
/// As weft_rs_rt_spawn_join; most_asleep points to a u64.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_rt_sleepers(
    rt: *const Runtime,
    tasks: u64,
    sleep_ns: u64,
    most_asleep: *mut u64,
) -> u64 {
    let (done, most) = on_worker(&*rt, async move {
        let count = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        let t0 = Instant::now();
        let mut handles = Vec::with_capacity(tasks as usize);
        for _ in 0..tasks {
            let c = count.clone();
            handles.push(tokio::spawn(async move {
                let n = c.0.fetch_add(1, Ordering::Relaxed) + 1;
                c.1.fetch_max(n, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_nanos(sleep_ns)).await;
                c.0.fetch_sub(1, Ordering::Relaxed);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        (t0.elapsed().as_nanos() as u64, count.1.load(Ordering::Relaxed))
    });
    *most_asleep = most;
    done
}
