//! Roleta: a real-time lead roulette. A lead arrives, is committed, and is offered in turn to
//! the online brokers of its department until one accepts. See docs/ARCHITECTURE.md.

pub mod auth;
pub mod cli;
mod clock;
pub mod cluster;
pub mod demo;
pub mod dispatch;
pub mod error;
pub mod fuzzing;
pub mod http;
pub mod import;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod net_guard;
pub mod passwords;
pub mod phone;
pub mod presence;
pub mod push;
mod serve;
pub mod settings;
pub mod settings_check;
pub mod startup;
pub mod state;
pub mod store;
pub mod supervise;
pub mod throttle;
pub mod tls;
pub mod webhooks;
pub mod ws;

pub use clock::Clock;
pub use settings::Settings;
pub use startup::App;
