//! Restart recovery: pending offers and waiting leads come back from the store, timers re-armed.

use crate::helpers::*;
use serde_json::json;

async fn restart_recovers_open_offers_and_waiting_leads(backend: Backend) {
    let app = spawn_app(backend).await;
    app.settings(json!({"answer_seconds": 3, "retry_pause_seconds": 60}))
        .await;
    let a = app.broker("A", &[app.sales]).await;
    let b = app.broker("B", &[app.sales]).await;
    let mut wa = app.online(&a).await;
    let first = app.lead("Antes", "(11) 94444-0001").await;
    let offer = wa.offer().await;
    let second = app.lead("Esperando", "(11) 94444-0002").await; // A is busy: it waits
    drop(wa);
    let app = app.restart().await;
    // A reconnects: the toggle is remembered and the open offer is shown again.
    let mut wa = app.connect(&a).await;
    let again = wa.offer().await;
    assert_eq!(again["offer_id"], offer["offer_id"]);
    assert_eq!(again["lead"]["id"], first);
    // A says nothing: the re-armed timer expires it, and the waiting lead goes out to A.
    assert_eq!(wa.recv_type("offer_closed").await["outcome"], "expired");
    let next = wa.offer().await;
    assert_eq!(next["lead"]["id"], second);
    // B comes online and gets the first lead, which A let expire.
    let mut wb = app.online(&b).await;
    let moved = wb.offer().await;
    assert_eq!(moved["lead"]["id"], first);
    assert_eq!(wb.accept(&moved).await["type"], "assigned");
    assert_eq!(wa.accept(&next).await["type"], "assigned");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_recovers_open_offers_and_waiting_leads_sqlite() {
    restart_recovers_open_offers_and_waiting_leads(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_recovers_open_offers_and_waiting_leads_postgres() {
    restart_recovers_open_offers_and_waiting_leads(Backend::Postgres).await;
}

/// The single node's safety sweep: a lead whose hand-over to the dispatcher was lost after
/// its commit is still offered, within the sweep interval, not at the next restart.
async fn a_lost_handover_is_offered_by_the_sweep(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.dispatch.sweep_ms = 300).await;
    let a = app.broker("A", &[app.sales]).await;
    let mut wa = app.online(&a).await;
    app.state.dispatcher.lose_next_handovers(1);
    let lost = app.lead("Perdido", "(11) 94444-0101").await;
    // Committed (202) but never handed over: nothing reaches the broker at once…
    wa.silent_for(250).await;
    // …until the sweep finds it waiting (two sweeps late: 600 ms after its arrival).
    let offer = wa.offer().await;
    assert_eq!(offer["lead"]["id"], lost);
    assert_eq!(wa.accept(&offer).await["type"], "assigned");
    // The next lead goes through the ordinary hand-over.
    let next = app.lead("Seguinte", "(11) 94444-0102").await;
    assert_eq!(wa.offer().await["lead"]["id"], next);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_handover_is_offered_by_the_sweep_sqlite() {
    a_lost_handover_is_offered_by_the_sweep(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_handover_is_offered_by_the_sweep_postgres() {
    a_lost_handover_is_offered_by_the_sweep(Backend::Postgres).await;
}
