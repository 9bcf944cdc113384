#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Roleta's integration tests: one binary, each scenario against a real server on port 0, over
//! real sockets, once on SQLite and once on PostgreSQL, with the invariants checked after each.

mod helpers;
mod invariants;
#[path = "../common/pg.rs"]
mod pg;

mod attendance;
mod auth_limits;
mod availability;
mod bad_input;
mod campaign_calls;
mod campaigns;
mod client_record;
mod crm_helpers;
mod departments;
mod exports;
mod https;
mod https_nginx;
mod https_reload;
mod imports;
mod ingest;
mod lifecycle;
mod malformed;
mod notifications;
mod openapi;
mod pages;
mod password_reset;
mod pipeline;
mod platform;
mod platform_features;
mod platform_suspension;
mod push;
mod push_guard;
mod recovery;
mod roulette;
mod search;
mod serving;
mod silent_cases;
mod sources;
mod sources_meta;
mod teams;
mod tenant_isolation;
mod tls_helpers;
mod tokens;
mod user_lifecycle;
mod wallboard;
mod webhook_receiver;
mod webhooks;
mod webhooks_manage;
mod ws_protocol;

mod concurrent_writes;
mod leaks;
mod nul_input;
