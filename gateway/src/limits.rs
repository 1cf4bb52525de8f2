//! Overload protection per caller: each authenticated caller (the token's subject) has a
//! bound on its calls in progress and a token bucket for its rate, and all callers together a
//! bound on calls in progress. Past a bound the call is refused at once with
//! `RESOURCE_EXHAUSTED` and a stable reason; nothing queues. One caller's calls never use
//! another's allowance, and the table of callers is bounded: idle callers (nothing in progress,
//! bucket full again) are forgotten, which loses nothing.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::body::Body;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower::{Layer, Service};
use wuye_kit::{Error, identity::Caller};

/// Reasons in the refusal's `ErrorInfo`.
pub const CALLER_CONCURRENCY_EXCEEDED: &str = "CALLER_CONCURRENCY_EXCEEDED";
pub const CALLER_RATE_EXCEEDED: &str = "CALLER_RATE_EXCEEDED";
pub const GATEWAY_BUSY: &str = "GATEWAY_BUSY";

/// How long a caller refused for concurrency is told to wait: about one call's time.
const CONCURRENCY_RETRY: Duration = Duration::from_millis(100);
/// How often the caller table is swept of idle callers.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// The least time between sweeps when the table is full: new callers arriving at a table full
/// of busy ones must not make every call pay for a sweep.
const FULL_SWEEP_GAP: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitSettings {
    /// Calls of one caller in progress at once (a stream counts until it ends).
    pub max_concurrent_per_caller: u32,
    /// Calls one caller may start per second, sustained.
    pub rate_per_caller: f64,
    /// Calls one caller may start at once after a pause (the bucket's size).
    pub burst_per_caller: u32,
    /// Calls in progress across all callers.
    pub max_concurrent: u32,
    /// Callers remembered at once; when full of active callers, a new one is refused.
    pub max_callers: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        // Far above what a person does, so that only runaway clients meet them; `wuye up
        // --demo` loads with 32 calls at once under one token.
        Self {
            max_concurrent_per_caller: 64,
            rate_per_caller: 2_000.0,
            burst_per_caller: 4_000,
            max_concurrent: 4_096,
            max_callers: 100_000,
        }
    }
}

impl LimitSettings {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.max_concurrent_per_caller >= 1
                && self.burst_per_caller >= 1
                && self.max_concurrent >= 1
                && self.max_callers >= 1,
            "limits: every bound must be at least 1"
        );
        anyhow::ensure!(
            self.rate_per_caller.is_finite() && self.rate_per_caller > 0.0,
            "limits.rate_per_caller must be a positive number of calls per second"
        );
        Ok(())
    }
}

/// One caller's allowance.
struct Allowance {
    in_progress: Arc<Semaphore>,
    /// Calls that may start now, refilled at the rate up to the burst.
    tokens: f64,
    refilled: Instant,
}

impl Allowance {
    fn refill(&mut self, settings: &LimitSettings, now: Instant) {
        let earned = now.duration_since(self.refilled).as_secs_f64() * settings.rate_per_caller;
        self.tokens = (self.tokens + earned).min(f64::from(settings.burst_per_caller));
        self.refilled = now;
    }

    fn is_idle(&self, settings: &LimitSettings) -> bool {
        self.in_progress.available_permits() == settings.max_concurrent_per_caller as usize
            && self.tokens >= f64::from(settings.burst_per_caller)
    }
}

/// The bounds and the callers' allowances.
pub struct Limiter {
    settings: LimitSettings,
    all: Arc<Semaphore>,
    table: Mutex<Table>,
}

struct Table {
    callers: HashMap<String, Allowance>,
    swept: Instant,
}

/// What a call admitted holds until its response ends.
pub struct Permits {
    _caller: OwnedSemaphorePermit,
    _all: OwnedSemaphorePermit,
}

impl Limiter {
    pub fn new(settings: LimitSettings) -> anyhow::Result<Self> {
        settings.check()?;
        Ok(Self {
            all: Arc::new(Semaphore::new(settings.max_concurrent as usize)),
            table: Mutex::new(Table {
                callers: HashMap::new(),
                swept: Instant::now(),
            }),
            settings,
        })
    }

    /// Admits a call of `caller` now or refuses it.
    pub fn admit(&self, caller: &str) -> Result<Permits, Error> {
        self.admit_at(caller, Instant::now())
    }

    fn admit_at(&self, caller: &str, now: Instant) -> Result<Permits, Error> {
        let settings = &self.settings;
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let since = now.saturating_duration_since(table.swept);
        if since >= SWEEP_EVERY
            || (since >= FULL_SWEEP_GAP
                && table.callers.len() >= settings.max_callers
                && !table.callers.contains_key(caller))
        {
            table.sweep(settings, now);
        }
        if table.callers.len() >= settings.max_callers && !table.callers.contains_key(caller) {
            return Err(Error::resource_exhausted(
                GATEWAY_BUSY,
                "the gateway serves as many callers as it may: try again later",
                Some(SWEEP_EVERY),
            ));
        }
        let allowance = table
            .callers
            .entry(caller.to_owned())
            .or_insert_with(|| Allowance {
                in_progress: Arc::new(Semaphore::new(settings.max_concurrent_per_caller as usize)),
                tokens: f64::from(settings.burst_per_caller),
                refilled: now,
            });
        allowance.refill(settings, now);
        if allowance.tokens < 1.0 {
            let wait = (1.0 - allowance.tokens) / settings.rate_per_caller;
            return Err(Error::resource_exhausted(
                CALLER_RATE_EXCEEDED,
                "too many calls: slow down",
                Some(
                    Duration::try_from_secs_f64(wait)
                        .unwrap_or(Duration::MAX)
                        .max(Duration::from_millis(1)),
                ),
            ));
        }
        let Ok(own) = allowance.in_progress.clone().try_acquire_owned() else {
            return Err(Error::resource_exhausted(
                CALLER_CONCURRENCY_EXCEEDED,
                "too many calls in progress: wait for one to finish",
                Some(CONCURRENCY_RETRY),
            ));
        };
        let Ok(all) = self.all.clone().try_acquire_owned() else {
            return Err(Error::resource_exhausted(
                GATEWAY_BUSY,
                "the gateway is at its limit of calls in progress: try again shortly",
                Some(CONCURRENCY_RETRY),
            ));
        };
        allowance.tokens -= 1.0;
        Ok(Permits {
            _caller: own,
            _all: all,
        })
    }

    /// Callers remembered now.
    pub fn callers(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .callers
            .len()
    }
}

impl Table {
    /// Forgets the idle callers: a new allowance is exactly what they would have again.
    fn sweep(&mut self, settings: &LimitSettings, now: Instant) {
        self.callers.retain(|_, allowance| {
            allowance.refill(settings, now);
            !allowance.is_idle(settings)
        });
        self.swept = now;
    }
}

/// Tower layer of the gateway, inside the gate: limits the calls of each verified caller.
/// Public calls (health, reflection) have no caller and pass.
#[derive(Clone)]
pub struct LimitLayer {
    limiter: Arc<Limiter>,
}

impl LimitLayer {
    pub fn new(limiter: Arc<Limiter>) -> Self {
        Self { limiter }
    }
}

impl<S> Layer<S> for LimitLayer {
    type Service = Limit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limit {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Limit<S> {
    inner: S,
    limiter: Arc<Limiter>,
}

impl<S, B> Service<http::Request<B>> for Limit<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let permits = match request.extensions().get::<Caller>() {
            None => None,
            Some(caller) => match self.limiter.admit(&caller.user_id) {
                Ok(permits) => Some(permits),
                Err(e) => {
                    tracing::info!(error = %e, "call refused by a limit");
                    let response = tonic::Status::from(e).into_http::<Body>();
                    return Box::pin(std::future::ready(Ok(response)));
                }
            },
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(match permits {
                // Held until the response, a stream's included, has ended or is dropped.
                Some(permits) => response.map(|body| {
                    Body::new(Holding {
                        inner: body,
                        _permits: permits,
                    })
                }),
                None => response,
            })
        })
    }
}

/// A response body that holds its call's permits.
struct Holding {
    inner: Body,
    _permits: Permits,
}

impl http_body::Body for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(concurrent: u32, rate: f64, burst: u32, callers: usize) -> Limiter {
        Limiter::new(LimitSettings {
            max_concurrent_per_caller: concurrent,
            rate_per_caller: rate,
            burst_per_caller: burst,
            max_concurrent: 100,
            max_callers: callers,
        })
        .unwrap()
    }

    fn reason(result: Result<Permits, Error>) -> &'static str {
        match result {
            Ok(_) => "admitted",
            Err(Error::ResourceExhausted { reason, .. }) => reason,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn bounds_calls_in_progress_per_caller() {
        let limiter = limiter(2, 1_000.0, 1_000, 10);
        let a1 = limiter.admit("a").unwrap();
        let _a2 = limiter.admit("a").unwrap();
        assert_eq!(reason(limiter.admit("a")), CALLER_CONCURRENCY_EXCEEDED);
        // Another caller is not held back by the first.
        let _b = limiter.admit("b").unwrap();
        drop(a1);
        assert_eq!(reason(limiter.admit("a")), "admitted");
    }

    #[test]
    fn bounds_the_rate_per_caller_and_says_when_to_retry() {
        let limiter = limiter(10, 0.5, 3, 10);
        for _ in 0..3 {
            drop(limiter.admit("a").unwrap());
        }
        match limiter.admit("a") {
            Err(Error::ResourceExhausted {
                reason,
                retry_after: Some(wait),
                ..
            }) => {
                assert_eq!(reason, CALLER_RATE_EXCEEDED);
                assert!(wait <= Duration::from_secs(2), "{wait:?}");
            }
            other => panic!("{:?}", other.err()),
        }
        assert_eq!(reason(limiter.admit("b")), "admitted");
    }

    #[test]
    fn the_caller_table_stays_bounded() {
        // A fast refill: callers are idle again as soon as their call ends.
        let limiter = limiter(1, 1_000.0, 1, 3);
        let mut now = Instant::now();
        for i in 0..1_000 {
            now += FULL_SWEEP_GAP;
            drop(limiter.admit_at(&format!("caller-{i}"), now).unwrap());
            assert!(limiter.callers() <= 3);
        }
        // Active callers are never forgotten; when they fill the table a new one waits.
        now += FULL_SWEEP_GAP;
        let held: Vec<_> = (0..3)
            .map(|i| limiter.admit_at(&format!("busy-{i}"), now).unwrap())
            .collect();
        now += FULL_SWEEP_GAP;
        assert_eq!(reason(limiter.admit_at("newcomer", now)), GATEWAY_BUSY);
        assert_eq!(
            reason(limiter.admit_at("busy-0", now)),
            CALLER_CONCURRENCY_EXCEEDED
        );
        drop(held);
        // Within the gap after a sweep, a full table is not swept again.
        assert_eq!(reason(limiter.admit_at("newcomer", now)), GATEWAY_BUSY);
        now += FULL_SWEEP_GAP;
        assert_eq!(reason(limiter.admit_at("newcomer", now)), "admitted");
    }

    #[test]
    fn refuses_senseless_settings() {
        let bad = |s: LimitSettings| Limiter::new(s).is_err();
        assert!(bad(LimitSettings {
            rate_per_caller: 0.0,
            ..Default::default()
        }));
        assert!(bad(LimitSettings {
            rate_per_caller: f64::NAN,
            ..Default::default()
        }));
        assert!(bad(LimitSettings {
            max_concurrent_per_caller: 0,
            ..Default::default()
        }));
        assert!(!bad(LimitSettings::default()));
    }
}
