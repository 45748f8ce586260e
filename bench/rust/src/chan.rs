//! Channel peers for bench/bench_chan.c: crossbeam-channel 0.5 and std's
//! mpsc, each used as its documentation shows (clone-free here: the C side
//! shares one handle between threads through an opaque pointer, which the
//! crossbeam Sender/Receiver and std's Sender/SyncSender allow, being Sync).
//! Elements are u64. A capacity of usize::MAX means unbounded.

use crossbeam_channel as cb;
use std::sync::mpsc;

pub struct CbChan {
    s: cb::Sender<u64>,
    r: cb::Receiver<u64>,
}

#[no_mangle]
pub extern "C" fn weft_rs_chan_cb_new(cap: usize) -> *mut CbChan {
    let (s, r) = if cap == usize::MAX {
        cb::unbounded()
    } else {
        cb::bounded(cap)
    };
    Box::into_raw(Box::new(CbChan { s, r }))
}

/// # Safety
/// c comes from weft_rs_chan_cb_new and is not yet freed.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_chan_cb_send(c: *const CbChan, v: u64) {
    (*c).s.send(v).unwrap();
}

/// # Safety
/// As weft_rs_chan_cb_send.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_chan_cb_recv(c: *const CbChan) -> u64 {
    (*c).r.recv().unwrap()
}

/// Receive from whichever of four channels is ready (crossbeam's select!).
/// # Safety
/// As weft_rs_chan_cb_send, for each of the four.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_chan_cb_select4(
    a: *const CbChan,
    b: *const CbChan,
    c: *const CbChan,
    d: *const CbChan,
) -> u64 {
    let (a, b, c, d) = (&(*a).r, &(*b).r, &(*c).r, &(*d).r);
    cb::select! {
        recv(a) -> v => v.unwrap(),
        recv(b) -> v => v.unwrap(),
        recv(c) -> v => v.unwrap(),
        recv(d) -> v => v.unwrap(),
    }
}

/// # Safety
/// c comes from weft_rs_chan_cb_new; no thread uses it any more.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_chan_cb_free(c: *mut CbChan) {
    drop(Box::from_raw(c));
}

/// std::sync::mpsc: channel() when unbounded, sync_channel(cap) otherwise.
/// The Receiver is not Sync: the benchmarks use it from one thread only
/// (single-consumer rows).
pub struct StdChan {
    tx: Option<mpsc::Sender<u64>>,
    stx: Option<mpsc::SyncSender<u64>>,
    rx: mpsc::Receiver<u64>,
}

#[no_mangle]
pub extern "C" fn weft_rs_chan_std_new(cap: usize) -> *mut StdChan {
    let c = if cap == usize::MAX {
        let (tx, rx) = mpsc::channel();
        StdChan { tx: Some(tx), stx: None, rx }
    } else {
        let (stx, rx) = mpsc::sync_channel(cap);
        StdChan { tx: None, stx: Some(stx), rx }
    };
    Box::into_raw(Box::new(c))
}

/// # Safety
/// c comes from weft_rs_chan_std_new and is not yet freed.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_chan_std_send(c: *const StdChan, v: u64) {
    match &(*c).tx {
        Some(tx) => tx.send(v).unwrap(),
        None => (*c).stx.as_ref().unwrap().send(v).unwrap(),
    }
}

/// # Safety
/// As weft_rs_chan_std_send; one receiving thread at a time.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_chan_std_recv(c: *const StdChan) -> u64 {
    (*c).rx.recv().unwrap()
}

/// # Safety
/// c comes from weft_rs_chan_std_new; no thread uses it any more.
#[no_mangle]
pub unsafe extern "C" fn weft_rs_chan_std_free(c: *mut StdChan) {
    drop(Box::from_raw(c));
}
