//! A loopback TCP proxy that cuts connections at random byte offsets, to test that sync
//! survives a bad link.

use rand::Rng;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread;

pub struct CuttingProxy {
    pub addr: SocketAddr,
    /// Probability (in percent) that a connection is cut somewhere.
    pub cut_percent: Arc<AtomicU32>,
    pub cuts: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl CuttingProxy {
    /// Cuts a connection, if at all, within its first 1,500 bytes (most syncs fit in that).
    pub fn start(upstream: SocketAddr, cut_percent: u32) -> CuttingProxy {
        CuttingProxy::start_within(upstream, cut_percent, 1500)
    }

    /// Cuts a connection, if at all, within its first `within` bytes: for syncs of many
    /// exchanges on one kept-alive connection, to cut them anywhere.
    pub fn start_within(upstream: SocketAddr, cut_percent: u32, within: u64) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = CuttingProxy {
            addr,
            cut_percent: Arc::new(AtomicU32::new(cut_percent)),
            cuts: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (percent, cuts, stop) = (
            proxy.cut_percent.clone(),
            proxy.cuts.clone(),
            proxy.stop.clone(),
        );
        thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let mut rng = rand::rng();
                // Cut one direction after a random number of bytes, or not at all.
                let cut = rng.random_range(0..100) < percent.load(Ordering::Relaxed);
                let (up_limit, down_limit) = if !cut {
                    (u64::MAX, u64::MAX)
                } else if rng.random_bool(0.5) {
                    (rng.random_range(0..within), u64::MAX)
                } else {
                    (u64::MAX, rng.random_range(0..within))
                };
                let cuts = cuts.clone();
                pipe_pair(client, server, up_limit, down_limit, cuts);
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn pipe_pair(
    client: TcpStream,
    server: TcpStream,
    up_limit: u64,
    down_limit: u64,
    cuts: Arc<AtomicU64>,
) {
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let cuts2 = cuts.clone();
    thread::spawn(move || pipe(client, server, up_limit, cuts));
    thread::spawn(move || pipe(s2, c2, down_limit, cuts2));
}

/// Copies `from` → `to` until EOF or until `limit` bytes have passed; then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream, limit: u64, cuts: Arc<AtomicU64>) {
    let mut passed = 0u64;
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let allowed = (limit - passed).min(n as u64) as usize;
        if to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        passed += allowed as u64;
        if passed >= limit {
            cuts.fetch_add(1, Ordering::Relaxed);
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
