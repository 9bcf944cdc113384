//! The scenarios: B1 durable ingest, B2 lead → offer latency, B3 idle brokers, and the push
//! yardstick of B0 and B6; each runs its clients in child processes (children.rs).

mod children;
mod idle;
mod ingest;
mod offer_latency;
mod push;

pub use idle::B3;
pub use ingest::B1;
pub use offer_latency::B2;
pub use push::PushBench;

/// A lead as a source posts it, numbered `n`, with a unique external id.
fn lead_body(n: u64) -> String {
    format!(
        r#"{{"name":"Lead {n}","phone":"+55119{}","external_id":"bench-{n}-{}","comment":"Quer visitar o apartamento no sábado de manhã, prefere contato por WhatsApp depois das 18h"}}"#,
        10_000_000 + n,
        crate::now_us()
    )
}
