//! Figures from an HdrHistogram of microseconds.

use hdrhistogram::Histogram;

pub fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// `n=… p50=… p90=… p99=… p99.9=… max=…` in milliseconds.
pub fn line(h: &Histogram<u64>) -> String {
    format!(
        "n={} p50={} p90={} p99={} p99.9={} max={} (ms)",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max()),
    )
}
