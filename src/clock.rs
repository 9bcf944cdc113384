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

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio_util::time::DelayQueue;

    /// What the actor relies on: a deadline stored as epoch ms and the timer armed for it with
    /// `instant_at` fire together under paused time, however far the clock jumps.
    #[tokio::test(start_paused = true)]
    async fn stored_deadlines_and_timers_move_together_under_paused_time() {
        let clock = Clock::new();
        let start = clock.now_ms();
        let mut timers = DelayQueue::new();
        // Offers with answer times of 30 s and 10 s, as the actor arms them.
        timers.insert_at("30 s offer", clock.instant_at(start + 30_000));
        timers.insert_at("10 s offer", clock.instant_at(start + 10_000));
        // A deadline already past fires at once instead of never.
        timers.insert_at("overdue", clock.instant_at(start - 5_000));

        let first = timers.next().await.map(|e| e.into_inner());
        assert_eq!(first, Some("overdue"));
        assert_eq!(clock.now_ms(), start, "nothing waited for a past deadline");

        let second = timers.next().await.map(|e| e.into_inner());
        assert_eq!(second, Some("10 s offer"));
        assert_eq!(
            clock.now_ms(),
            start + 10_000,
            "the wall clock moved with the timer"
        );

        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(clock.now_ms(), start + 15_000);
        let third = timers.next().await.map(|e| e.into_inner());
        assert_eq!(third, Some("30 s offer"));
        assert_eq!(clock.now_ms(), start + 30_000);
        assert!(timers.is_empty());
    }
}
