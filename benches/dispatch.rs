//! Micro-benchmarks of the dispatch hot paths: picking the next broker and encoding an offer.
//! Run with `cargo bench --bench dispatch`; numbers go to BENCHMARKS.md.

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use roleta::dispatch::engine::{Decision, Engine, EngineSettings, LiveLead};
use roleta::dispatch::Event;
use roleta::model::{BrokerId, EveryoneRefused, LeadId, OfferId};
use roleta::store::{LeadSummary, OfferRecord};
use roleta::ws::protocol::ServerMsg;
use std::sync::Arc;

fn engine(brokers: i64, waiting: i64) -> Engine {
    let mut e = Engine::new(EngineSettings {
        everyone_refused: EveryoneRefused::Retry,
        retry_pause_ms: 0,
        fallback_broker: None,
    });
    for b in 1..=brokers {
        e.set_broker(BrokerId(b), true, [1]);
    }
    for l in 1..=waiting {
        e.add_lead(LiveLead {
            id: LeadId(l),
            department: 1,
            arrived_ms: l,
            owner: None,
            refused: vec![],
        });
    }
    e
}

fn pick_next_broker(c: &mut Criterion) {
    let mut g = c.benchmark_group("pick_next_broker");
    for brokers in [10i64, 100, 1000] {
        g.bench_with_input(BenchmarkId::from_parameter(brokers), &brokers, |b, &n| {
            let e = engine(n, 1);
            b.iter(|| match e.decide(black_box(0)) {
                Some(Decision::Offer { broker, .. }) => broker,
                _ => BrokerId(0),
            })
        });
    }
    g.finish();
}

fn offer_round_trip(c: &mut Criterion) {
    c.bench_function("offer_made_then_accepted_100_brokers", |b| {
        let mut e = engine(100, 0);
        let mut id = 0i64;
        b.iter(|| {
            id += 1;
            e.add_lead(LiveLead {
                id: LeadId(id),
                department: 1,
                arrived_ms: id,
                owner: None,
                refused: vec![],
            });
            if let Some(Decision::Offer {
                lead,
                broker,
                sticky,
                ..
            }) = e.decide(id)
            {
                e.offer_made(lead, broker, OfferId(id), sticky);
                e.offer_ended(OfferId(id), roleta::dispatch::engine::Ended::Accepted);
            }
        })
    });
}

fn encode_offer(c: &mut Criterion) {
    let lead = Arc::new(LeadSummary {
        id: LeadId(17),
        number: "L-2026-00017".into(),
        client_name: "Maria da Silva".into(),
        channel: "lp".into(),
        source: "portal".into(),
        department_id: 1,
        department: "Vendas".into(),
        property_code: Some("AP-101".into()),
        interest_kind: Some("apartment".into()),
        interest_purpose: Some("sale".into()),
        interest_price_cents: Some(85_000_000),
        interest_neighbourhood: Some("Pinheiros".into()),
        interest_bedrooms: Some(3),
        comment: Some("Quer visitar no sábado".into()),
    });
    let offer = OfferRecord {
        id: OfferId(42),
        lead_id: LeadId(17),
        broker_id: BrokerId(7),
        department_id: 1,
        epoch: 1,
        round: 0,
        offered_at_ms: 0,
        deadline_ms: 30_000,
    };
    let ev = Event::Offered { offer, lead };
    c.bench_function("encode_offer_message", |b| {
        b.iter(|| ServerMsg::from_event(black_box(&ev), 1_000).to_json())
    });
}

criterion_group!(benches, pick_next_broker, offer_round_trip, encode_offer);
criterion_main!(benches);
