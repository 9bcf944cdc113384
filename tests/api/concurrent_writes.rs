//! Concurrent writes: eight workers hammer every write a manager, a broker and a lead source
//! make — lead edits, contact logs, status moves, pipeline fields, team and campaign saves,
//! settings, departments, users, client contacts, distributions — at once. None may answer a
//! server error ("database is locked" on SQLite), and every write must be visible afterwards.

use crate::both;
use crate::crm_helpers::*;
use crate::helpers::{Broker, TestApp};
use roleta::model::Role;
use serde_json::{json, Value};

const WORKERS: usize = 8;
const REQUESTS: usize = 60;
const OPS: usize = 20;

/// What one worker owns: its broker, a lead and client forwarded to them, a team, a campaign.
struct Own {
    w: usize,
    broker: Broker,
    lead: i64,
    client: i64,
    team: i64,
    supervisor: i64,
    campaign: i64,
}

async fn own(app: &TestApp, w: usize) -> Own {
    let broker = app.broker(&format!("Corretor {w}"), &[app.sales]).await;
    let phone = format!("(11) 97000-{w:04}");
    let r = app
        .post(
            "/api/v1/reception/clients",
            &app.manager,
            json!({"name": format!("Cliente {w}"), "phone": phone, "broker_id": broker.id}),
        )
        .await;
    let v = expect(r, 201).await;
    let (supervisor, _) = app.user(&format!("Supervisor {w}"), Role::Manager).await;
    let t =
        json!({"name": format!("Equipe {w}"), "supervisor_id": supervisor, "brokers": [broker.id]});
    let team = expect(app.post("/api/v1/teams", &app.manager, t).await, 201).await["id"]
        .as_i64()
        .unwrap();
    let campaign = campaign(app, &format!("Campanha {w}"), &[&broker]).await;
    Own {
        w,
        lead: v["lead_id"].as_i64().unwrap(),
        client: v["client_id"].as_i64().unwrap(),
        broker,
        team,
        supervisor,
        campaign,
    }
}

async fn send(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> (u16, String) {
    let url = format!("{}{path}", app.base);
    let req = match method {
        "PATCH" => app.http.patch(url),
        "PUT" => app.http.put(url),
        _ => app.http.post(url),
    };
    let r = req.bearer_auth(token).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Request `i` of worker `o`: (method, path, token, body, the statuses it may answer).
fn op(app: &TestApp, o: &Own, i: usize) -> (&'static str, String, String, Value, Vec<u16>) {
    let (w, m, b) = (o.w, app.manager.clone(), o.broker.token.clone());
    let tag = format!("w{w} i{i}");
    let lead = o.lead;
    match i % OPS {
        0 => (
            "PATCH",
            format!("/api/v1/leads/{lead}"),
            b,
            json!({"comment": tag}),
            vec![200],
        ),
        1 => {
            let body = json!({"kind": "call", "note": tag});
            (
                "POST",
                format!("/api/v1/leads/{lead}/contacts"),
                b,
                body,
                vec![201],
            )
        }
        2 => {
            // Novo → Em atendimento, then back and forth with Proposta.
            let to = if (i / OPS) % 2 == 0 {
                "Em atendimento"
            } else {
                "Proposta"
            };
            let body = json!({ "status": to });
            (
                "POST",
                format!("/api/v1/leads/{lead}/status"),
                m,
                body,
                vec![200],
            )
        }
        3 => {
            let body = json!({ "location": tag });
            (
                "POST",
                format!("/api/v1/leads/{lead}/pipeline"),
                m,
                body,
                vec![200],
            )
        }
        4 => {
            let body = json!({"name": format!("Equipe {w} {tag}"), "supervisor_id": o.supervisor, "brokers": [o.broker.id]});
            (
                "PUT",
                format!("/api/v1/teams/{}", o.team),
                m,
                body,
                vec![200],
            )
        }
        5 => {
            let body = json!({"name": format!("Campanha {w}"), "expires_at": day(30),
                "brokers": [o.broker.id], "description": tag});
            (
                "PUT",
                format!("/api/v1/campaigns/{}", o.campaign),
                m,
                body,
                vec![200],
            )
        }
        6 => {
            let body = json!({ "answer_seconds": 30 + w });
            (
                "PUT",
                "/api/v1/settings/roulette".into(),
                m,
                body,
                vec![200],
            )
        }
        7 => {
            let body = json!({"active_offer_enabled": true, "quarantine_days": 10 + w});
            ("PUT", "/api/v1/settings/crm".into(), m, body, vec![200])
        }
        8 => {
            let body = json!({ "name": format!("Depto {tag}") });
            ("POST", "/api/v1/departments".into(), m, body, vec![201])
        }
        9 => {
            let path = format!("/api/v1/users/{}/departments", o.broker.id);
            let body = json!({ "departments": [app.sales, app.rentals] });
            ("PUT", path, m, body, vec![204])
        }
        10 => {
            let body = json!({"outcome": "no_answer", "comment": tag});
            (
                "POST",
                format!("/api/v1/clients/{}/contacts", o.client),
                b,
                body,
                vec![201],
            )
        }
        11 => {
            let body = json!({"name": format!("Balcão {tag}"), "phone": format!("(11) 96{w}{i:02}-{i:04}"), "broker_id": o.broker.id});
            (
                "POST",
                "/api/v1/reception/clients".into(),
                m,
                body,
                vec![201],
            )
        }
        12 => {
            let body = json!({"name": format!("Portal {tag}"), "phone": format!("(21) 95{w}{i:02}-{i:04}")});
            (
                "POST",
                "/api/v1/leads".into(),
                app.api_key.clone(),
                body,
                vec![202],
            )
        }
        13 => (
            "POST",
            "/api/v1/notifications/read".into(),
            b,
            json!({}),
            vec![204],
        ),
        14 => {
            let body = json!({"rules": [{"event": "lead_created", "recipient": "managers"}]});
            (
                "PUT",
                "/api/v1/settings/notifications".into(),
                m,
                body,
                vec![200],
            )
        }
        15 => {
            let body = json!({"client_ids": [o.client], "worked": (i / OPS) % 2 == 0});
            ("POST", "/api/v1/clients/worked".into(), m, body, vec![200])
        }
        16 => {
            let body = json!({"limit": 1, "team_id": o.team});
            ("POST", "/api/v1/distributions".into(), m, body, vec![201])
        }
        17 => {
            let body = json!({"code": format!("IM-{w}-{i}"), "kind": "casa", "purpose": "venda", "status": "available"});
            ("POST", "/api/v1/properties".into(), m, body, vec![201])
        }
        18 => {
            let body = json!({"name": format!("Tipo {tag}"), "initial_status": "A",
                "statuses": [{"name": "A"}, {"name": "B"}], "transitions": [{"from": "A", "to": "B"}]});
            ("POST", "/api/v1/lead-types".into(), m, body, vec![201])
        }
        _ => {
            let body = json!({"email": format!("novo.{w}.{i}@teste.roleta"), "name": format!("Novo {tag}"),
                "role": "broker", "password": "senha-forte-1", "departments": [app.sales]});
            ("POST", "/api/v1/users".into(), m, body, vec![201])
        }
    }
}

/// Runs one worker's requests in order; returns the server errors and unexpected answers.
async fn work(app: &TestApp, o: &Own) -> (Vec<String>, Vec<String>) {
    let (mut errors, mut odd) = (Vec::new(), Vec::new());
    for i in 0..REQUESTS {
        let (method, path, token, body, ok) = op(app, o, i);
        let (status, text) = send(app, method, &path, &token, body).await;
        if status >= 500 {
            errors.push(format!("{method} {path}: {status} {text}"));
        } else if !ok.contains(&status) {
            odd.push(format!("{method} {path}: {status} {text}"));
        }
    }
    (errors, odd)
}

async fn count(app: &TestApp, sql: &str) -> usize {
    usize::try_from(app.scalar(sql).await).unwrap()
}

both!(
    concurrent_writes_never_fail_and_all_take_effect,
    |app| async move {
        enable_campaigns(app).await;
        let mut owned = Vec::new();
        for w in 0..WORKERS {
            owned.push(own(app, w).await);
        }
        let before_leads = count(app, "SELECT COUNT(*) FROM leads").await;
        let before_users = count(app, "SELECT COUNT(*) FROM users").await;
        let results = futures_util::future::join_all(owned.iter().map(|o| work(app, o))).await;
        let errors: Vec<&String> = results.iter().flat_map(|r| &r.0).collect();
        let odd: Vec<&String> = results.iter().flat_map(|r| &r.1).collect();
        assert!(
            errors.is_empty(),
            "{} of {} writes answered a server error, first: {:?}",
            errors.len(),
            WORKERS * REQUESTS,
            &errors[..errors.len().min(5)]
        );
        assert!(odd.is_empty(), "unexpected answers: {odd:?}");

        // Every write is visible: each worker's last value, and one row per accepted insert.
        let each = REQUESTS / OPS;
        for o in &owned {
            let last = |k: usize| format!("w{} i{}", o.w, (each - 1) * OPS + k);
            let v = expect(
                app.get(&format!("/api/v1/leads/{}", o.lead), &app.manager)
                    .await,
                200,
            )
            .await;
            assert_eq!(v["comment"], last(0));
            assert_eq!(v["location"], last(3));
            assert_eq!(v["status"], "Em atendimento");
            let logs = format!(
                "SELECT COUNT(*) FROM contact_logs WHERE lead_id = {}",
                o.lead
            );
            assert_eq!(count(app, &logs).await, each);
            let c = format!(
                "SELECT COUNT(*) FROM client_contacts WHERE client_id = {}",
                o.client
            );
            assert_eq!(count(app, &c).await, each);
            let t = format!(
                "SELECT COUNT(*) FROM teams WHERE id = {} AND name = 'Equipe {} {}'",
                o.team,
                o.w,
                last(4)
            );
            assert_eq!(count(app, &t).await, 1, "team {} saved last", o.team);
            let k = format!(
                "SELECT COUNT(*) FROM campaigns WHERE id = {} AND description = '{}'",
                o.campaign,
                last(5)
            );
            assert_eq!(
                count(app, &k).await,
                1,
                "campaign {} saved last",
                o.campaign
            );
        }
        let n = WORKERS * each;
        let new_leads = count(app, "SELECT COUNT(*) FROM leads").await - before_leads;
        assert_eq!(
            new_leads,
            2 * n,
            "every forwarded and posted lead is stored"
        );
        assert_eq!(
            count(app, "SELECT COUNT(*) FROM users").await - before_users,
            n
        );
        assert_eq!(
            count(
                app,
                "SELECT COUNT(*) FROM departments WHERE name LIKE 'Depto %'"
            )
            .await,
            n
        );
        assert_eq!(
            count(
                app,
                "SELECT COUNT(*) FROM properties WHERE code LIKE 'IM-%'"
            )
            .await,
            n
        );
        assert_eq!(
            count(
                app,
                "SELECT COUNT(*) FROM lead_types WHERE name LIKE 'Tipo %'"
            )
            .await,
            n
        );
    }
);
