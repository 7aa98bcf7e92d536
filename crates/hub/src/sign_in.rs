//! What stands between a guesser and the web sign-in's password check. A try is counted
//! against its name before the password is checked (storage does it in one step, so fifty
//! tries at once are fifty counts, not fifty checks against the same count); names nobody has
//! are counted the same way, so a 429 or 423 says nothing about who exists; each address has
//! its own limit over all names; and only a few argon2 checks run at once, so a flood queues
//! instead of taking the hub's memory and cores.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Wrong sign-ins one address may make in [`ADDRESS_WINDOW`], over all names: enough for an
/// office of staff behind one router mistyping now and then, far too few to spray guesses.
pub const ADDRESS_FAILURES: u32 = 20;
/// The window an address's wrong sign-ins are counted in.
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// argon2 checks running at once; each takes ~19 MiB and a core for a while.
pub const CHECKS_AT_ONCE: usize = 2;
/// A check that cannot start within this time is answered "busy" rather than queued longer.
const CHECK_QUEUE: Duration = Duration::from_secs(20);

/// The address a request came from, when the server knows it (it does when it serves with
/// connection info, as `kabinet-hub serve` does).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Wrong sign-ins per address in a sliding window. Kept in memory: a restart forgets them,
/// which costs a guesser a restart they cannot cause.
struct AddressFailures {
    by_address: HashMap<Option<IpAddr>, Vec<Instant>>,
}

static ADDRESSES: Mutex<Option<AddressFailures>> = Mutex::new(None);

fn with_addresses<T>(f: impl FnOnce(&mut AddressFailures) -> T) -> T {
    let mut guard = ADDRESSES.lock().unwrap_or_else(|p| p.into_inner());
    let table = guard.get_or_insert_with(|| AddressFailures {
        by_address: HashMap::new(),
    });
    f(table)
}

/// Takes one sign-in try from `addr`'s allowance before anything is checked, in one step:
/// answers the try's stamp, or how long until `addr` may try again. Counting first means a
/// burst of parallel tries cannot all pass the check before any is counted; a right password
/// gives its try back ([`address_succeeded`]).
pub fn reserve_address(addr: Option<IpAddr>, now: Instant) -> Result<Instant, Duration> {
    with_addresses(|t| {
        // Addresses whose window has passed are forgotten, so the table stays small.
        if t.by_address.len() > 10_000 {
            t.by_address.retain(|_, f| {
                f.last()
                    .is_some_and(|at| now.duration_since(*at) < ADDRESS_WINDOW)
            });
        }
        let failures = t.by_address.entry(addr).or_default();
        failures.retain(|at| now.duration_since(*at) < ADDRESS_WINDOW);
        if failures.len() >= ADDRESS_FAILURES as usize {
            let oldest = failures.first().copied().unwrap_or(now);
            return Err(ADDRESS_WINDOW.saturating_sub(now.duration_since(oldest)));
        }
        failures.push(now);
        Ok(now)
    })
}

/// A right password: its try, reserved by [`reserve_address`], is not a wrong one.
pub fn address_succeeded(addr: Option<IpAddr>, stamp: Instant) {
    with_addresses(|t| {
        if let Some(failures) = t.by_address.get_mut(&addr)
            && let Some(i) = failures.iter().rposition(|at| *at == stamp)
        {
            failures.remove(i);
        }
    })
}

/// What one sign-in try may do, decided and counted in one step by storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInTry {
    /// Go on and check the password; the try already counts as wrong (`failures` in a row
    /// now) until the password proves right.
    Counted { failures: u32 },
    /// Too many wrong tries lately: not before this time.
    Wait { until: DateTime<Utc> },
    /// Locked until a hub admin resets the user.
    Locked,
}

static CHECKS: Semaphore = Semaphore::const_new(CHECKS_AT_ONCE);

/// Why a password could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("too many sign-ins are being checked; try again")]
    Busy,
    #[error("the password check stopped")]
    Failed,
}

/// Runs `check` (an argon2 verification) on a blocking thread, at most [`CHECKS_AT_ONCE`] at a
/// time.
pub async fn bounded_check(
    check: impl FnOnce() -> bool + Send + 'static,
) -> Result<bool, CheckError> {
    let permit = tokio::time::timeout(CHECK_QUEUE, CHECKS.acquire())
        .await
        .map_err(|_| CheckError::Busy)?
        .map_err(|_| CheckError::Failed)?;
    let ok = tokio::task::spawn_blocking(check)
        .await
        .map_err(|_| CheckError::Failed)?;
    drop(permit);
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_a_few_password_checks_run_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let checks: Vec<_> = (0..16)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(bounded_check(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    true
                }))
            })
            .collect();
        for c in checks {
            assert!(c.await.unwrap().unwrap());
        }
        assert_eq!(most.load(Ordering::SeqCst), CHECKS_AT_ONCE);
    }

    #[test]
    fn an_address_is_blocked_after_its_wrong_sign_ins_until_the_window_passes() {
        let addr = Some(IpAddr::from([192, 0, 2, 7]));
        let t0 = Instant::now();
        // A right password gives its try back.
        let stamp = reserve_address(addr, t0).unwrap();
        address_succeeded(addr, stamp);
        for i in 0..ADDRESS_FAILURES {
            assert!(reserve_address(addr, t0).is_ok(), "after {i}");
        }
        assert!(reserve_address(addr, t0).is_err());
        assert!(
            reserve_address(Some(IpAddr::from([192, 0, 2, 8])), t0).is_ok(),
            "other addresses are not held up"
        );
        assert!(reserve_address(addr, t0 + ADDRESS_WINDOW).is_ok());
    }

    #[test]
    fn parallel_tries_from_one_address_are_counted_before_any_is_checked() {
        let addr = Some(IpAddr::from([192, 0, 2, 9]));
        let t0 = Instant::now();
        let passed = std::thread::scope(|s| {
            let tries: Vec<_> = (0..200)
                .map(|_| s.spawn(move || reserve_address(addr, t0).is_ok()))
                .collect();
            tries
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|ok| *ok)
                .count()
        });
        assert_eq!(passed, ADDRESS_FAILURES as usize);
    }
}
