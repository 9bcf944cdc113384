//! Time for the whole app: wall-clock milliseconds that advance with tokio's clock.
//!
//! Deadlines are stored as epoch milliseconds (so every node and the database agree), and the
//! timers that enforce them run on `tokio::time`. Deriving one from the other means that under
//! `tokio::time::pause()` stored deadlines and timers move together, and tests stay deterministic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The agencies' calendar: Brasília time (America/Sao_Paulo), UTC−3 with no daylight saving
/// since 2019. Dates a manager types (`2026-12-31`) are days of this calendar.
pub const AGENCY_UTC_OFFSET_SECONDS: i32 = -3 * 3600;

fn agency_offset() -> time::UtcOffset {
    time::UtcOffset::from_whole_seconds(AGENCY_UTC_OFFSET_SECONDS).unwrap_or(time::UtcOffset::UTC)
}

/// The moment (epoch ms) an agency day starts: its 00:00, Brasília time.
pub fn agency_day_start_ms(day: time::Date) -> i64 {
    let at = day.midnight().assume_offset(agency_offset());
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base_ms: i64,
    base: Instant,
}

impl Clock {
    pub fn new() -> Self {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            base_ms,
            base: Instant::now(),
        }
    }

    /// Epoch milliseconds now.
    pub fn now_ms(&self) -> i64 {
        self.base_ms + self.base.elapsed().as_millis() as i64
    }

    /// The tokio instant at which the wall clock will read `ms` (now, if already past).
    pub fn instant_at(&self, ms: i64) -> Instant {
        let offset = (ms - self.base_ms).max(0) as u64;
        let at = self.base + Duration::from_millis(offset);
        at.max(Instant::now())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
