//! The clock is injected: no business rule reads the system time directly, so tests move
//! time instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until a test sets or advances it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = to;
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// The system clock, shifted by an offset that can be changed while services run: the
/// in-process launcher loads months of demo history with it set in the past, stepping forward
/// day by day, and returns it to real time before anyone is served. Time flows as usual from
/// wherever it is set.
#[derive(Debug, Clone, Default)]
pub struct ShiftedClock(Arc<Mutex<Duration>>);

impl ShiftedClock {
    /// A clock at real time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes it `at` now.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at - Utc::now();
    }

    /// Back to real time.
    pub fn reset(&self) {
        *self.0.lock().expect("clock lock") = Duration::zero();
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_runs_from_where_it_is_set_and_returns_to_real_time() {
        let clock = ShiftedClock::new();
        let past = Utc::now() - Duration::days(90);
        clock.set(past);
        let now = clock.now();
        assert!(
            now >= past && now - past < Duration::seconds(5),
            "{now} {past}"
        );
        clock.reset();
        assert!((clock.now() - Utc::now()).abs() < Duration::seconds(5));
    }
}
