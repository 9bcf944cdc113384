//! Lead ingest: durable before the answer (I1), never twice (I4), linked by phone (L2).

use crate::both;
use crate::helpers::*;
use serde_json::{json, Value};

async fn post_with_key(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/leads", app.base))
        .bearer_auth(&app.api_key)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

both!(
    a_retry_with_the_same_idempotency_key_makes_no_second_lead,
    |app| async move {
        let body = json!({"name": "Carlos", "phone": "(11) 95555-0001"});
        let first = post_with_key(app, "k-1", body.clone()).await;
        assert_eq!(first.status(), 202);
        let first: Value = first.json().await.unwrap();
        for _ in 0..3 {
            let again = post_with_key(app, "k-1", body.clone()).await;
            assert_eq!(again.status(), 200);
            let again: Value = again.json().await.unwrap();
            assert_eq!(again["lead_id"], first["lead_id"]);
            assert_eq!(again["replayed"], true);
        }
        let other = post_with_key(
            app,
            "k-1",
            json!({"name": "Outro", "phone": "(11) 95555-0002"}),
        )
        .await;
        assert_eq!(other.status(), 409, "same key, different body");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 1);
    }
);

both!(
    the_same_source_event_delivered_five_times_is_one_lead,
    |app| async move {
        let body = json!({"name": "Dora", "phone": "(11) 95555-0101", "external_id": "portal-777"});
        let mut handles = Vec::new();
        for _ in 0..5 {
            let (http, base, key, body) = (
                app.http.clone(),
                app.base.clone(),
                app.api_key.clone(),
                body.clone(),
            );
            handles.push(tokio::spawn(async move {
                http.post(format!("{base}/api/v1/leads"))
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let mut created = 0;
        for h in handles {
            let s = h.await.unwrap();
            assert!(s == 202 || s == 200, "{s}");
            created += usize::from(s == 202);
        }
        assert_eq!(created, 1);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 1);
        // Another source may use the same id for its own, different lead (another client's:
        // the same client's would be written on their open lead, L8).
        let other = app.new_api_key(app.agency, "site").await;
        let r = app
            .http
            .post(format!("{}/api/v1/leads", app.base))
            .bearer_auth(other)
            .json(&json!({"name": "Dora", "phone": "(11) 95555-0102", "external_id": "portal-777"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
);

both!(
    a_phone_matching_a_client_links_the_lead_to_that_client,
    |app| async move {
        let a = app.lead("Eva", "(11) 95555-0201").await;
        let r = app
            .post_lead(json!({"name": "Eva Silva", "phone": "+55 11 95555-0201"}))
            .await;
        let second: Value = r.json().await.unwrap();
        assert_eq!(second["linked_existing_client"], true);
        let first: Value = app
            .get(&format!("/api/v1/leads/{a}"), &app.manager)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(first["client_id"], second["client_id"]);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM clients").await, 1);
    }
);

both!(lead_numbers_follow_the_agency_template, |app| async move {
    app.settings(json!({"lead_number_template": "IMB-{seq:04}"}))
        .await;
    let r = app
        .post_lead(json!({"name": "F", "phone": "(11) 95555-0301"}))
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["number"], "IMB-0001");
    let r = app
        .post_lead(json!({"name": "G", "phone": "(11) 95555-0302"}))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["number"], "IMB-0002");
});

both!(
    a_revoked_key_is_refused_and_metrics_are_served,
    |app| async move {
        let keys: Vec<Value> = app
            .get("/api/v1/api-keys", &app.manager)
            .await
            .json()
            .await
            .unwrap();
        let id = keys[0]["id"].as_i64().unwrap();
        let r = app
            .http
            .delete(format!("{}/api/v1/api-keys/{id}", app.base))
            .bearer_auth(&app.manager)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let r = app
            .post_lead(json!({"name": "H", "phone": "(11) 95555-0401"}))
            .await;
        assert_eq!(r.status(), 401);
        let text = app
            .http
            .get(format!("{}/metrics", app.base))
            .bearer_auth(crate::helpers::METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for name in [
            "roleta_brokers_online",
            "roleta_leads_waiting",
            "roleta_ws_connections",
        ] {
            assert!(text.contains(name), "{name} missing from /metrics");
        }
        let doc: Value = app
            .http
            .get(format!("{}/api/openapi.json", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["paths"]["/api/v1/leads"]["post"].is_object());
        // The CRM's endpoints are documented too.
        for (path, method) in [
            ("/api/v1/campaigns/{id}/preview", "post"),
            ("/api/v1/campaigns/{id}/next", "post"),
            ("/api/v1/distributions", "post"),
            ("/api/v1/clients/search", "post"),
            ("/api/v1/leads/{id}/status", "post"),
            ("/api/v1/reports/marketing", "get"),
            ("/api/v1/settings/notifications", "put"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} missing from the OpenAPI document"
            );
        }
    }
);

both!(
    login_sets_a_session_that_opens_the_socket_only_from_allowed_origins,
    |app| async move {
        let r = app.post("/api/v1/users", &app.manager, json!({
        "email": "bia@teste.roleta", "name": "Bia", "role": "broker", "password": "uma-senha-boa",
        "departments": [app.sales]
    })).await;
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        let r = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"email": "bia@teste.roleta", "password": "errada"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"email": "BIA@teste.roleta", "password": "uma-senha-boa"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(cookie.starts_with("roleta_session="));
        // A password a manager set is provisional: chosen anew before anything else.
        let r = app
            .http
            .put(format!("{}/api/v1/me/password", app.base))
            .header("cookie", &cookie)
            .json(&json!({"current_password": "uma-senha-boa", "new_password": "a-senha-da-bia"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let open = |origin: &'static str| {
            let mut req = app.ws_url.as_str().into_client_request().unwrap();
            req.headers_mut().insert("cookie", cookie.parse().unwrap());
            req.headers_mut().insert("origin", origin.parse().unwrap());
            tokio_tungstenite::connect_async(req)
        };
        let evil = open("http://evil.example").await;
        assert!(evil.is_err(), "a foreign origin must not open the socket");
        let port = app.base.rsplit(':').next().unwrap().to_string();
        let mut req = app.ws_url.as_str().into_client_request().unwrap();
        req.headers_mut().insert("cookie", cookie.parse().unwrap());
        req.headers_mut().insert(
            "origin",
            format!("http://127.0.0.1:{port}").parse().unwrap(),
        );
        assert!(tokio_tungstenite::connect_async(req).await.is_ok());
        let r = app
            .http
            .post(format!("{}/api/v1/auth/logout", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let r = app
            .http
            .get(format!("{}/api/v1/me", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
);

both!(
    concurrent_ingests_race_on_keys_phones_and_numbers_without_duplicates,
    |app| async move {
        let post = |key: String, body: Value| {
            let (http, base, api_key) = (app.http.clone(), app.base.clone(), app.api_key.clone());
            tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/api/v1/leads"))
                    .bearer_auth(api_key)
                    .header("Idempotency-Key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            })
        };
        // Five retries of one submission at once: one lead, the others replay it.
        let body = json!({"name": "Eva", "phone": "(11) 95555-0301"});
        let same: Vec<_> = (0..5)
            .map(|_| post("race-1".into(), body.clone()))
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        let mut answered = Vec::new();
        for h in same {
            let (status, v) = h.await.unwrap();
            assert!(status == 202 || status == 200, "{status} {v}");
            ids.insert(v["lead_id"].as_i64().unwrap());
            answered.push((status, v["lead_id"].as_i64().unwrap()));
        }
        assert_eq!(ids.len(), 1, "one lead for one submission");
        // Five different contacts of one new client at once: one client and, L8, one lead —
        // the first opens it, the others are written on it.
        let phone: Vec<_> = (0..5)
            .map(|i| {
                post(
                    format!("phone-{i}"),
                    json!({"name": "Fábio", "phone": "(11) 95555-0302"}),
                )
            })
            .collect();
        let mut clients = std::collections::BTreeSet::new();
        let mut leads = std::collections::BTreeSet::new();
        let mut opened = 0;
        for h in phone {
            let (status, v) = h.await.unwrap();
            assert!(
                status == 202 || (status == 200 && v["recontact"] == true),
                "{status} {v}"
            );
            opened += usize::from(status == 202);
            leads.insert(v["lead_id"].as_i64().unwrap());
            clients.insert(v["client_id"].as_i64().unwrap());
        }
        assert_eq!(
            (clients.len(), leads.len(), opened),
            (1, 1, 1),
            "one client, one lead"
        );
        answered.push((202, *leads.first().unwrap()));
        // Twenty leads at once: twenty distinct numbers.
        let many: Vec<_> = (0..20)
            .map(|i| {
                post(
                    format!("many-{i}"),
                    json!({"name": format!("Cliente {i}"), "phone": format!("(11) 95556-{i:04}")}),
                )
            })
            .collect();
        let mut numbers = std::collections::BTreeSet::new();
        for h in many {
            let (status, v) = h.await.unwrap();
            assert_eq!(status, 202, "{v}");
            answered.push((status, v["lead_id"].as_i64().unwrap()));
            numbers.insert(v["number"].as_str().unwrap().to_string());
        }
        assert_eq!(numbers.len(), 20, "{numbers:?}");
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM leads ORDER BY id")
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
        assert_eq!(
            ids.len(),
            22,
            "leads in the store: {ids:?}; answered: {answered:?}"
        );
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM clients WHERE phone = '+5511955550302'")
                .await,
            1
        );
    }
);

both!(
    a_batch_of_leads_commits_together_and_each_lead_fails_or_replays_alone,
    |app| async move {
        use roleta::model::{Channel, ClientRole, LeadState};
        use roleta::store::{NewLead, StoreError};
        let lead = |phone: &str, key: Option<(&str, &str)>| NewLead {
            agency_id: app.agency,
            source: "site".into(),
            external_id: None,
            idempotency: key.map(|(k, h)| (k.to_string(), h.to_string())),
            name: "Cliente".into(),
            phone: phone.into(),
            email: None,
            client_role: ClientRole::Buyer,
            department_id: app.sales,
            channel: Channel::Ls,
            property_code: None,
            interest: Default::default(),
            appraisal_address: None,
            condominium: None,
            comment: None,
            state: LeadState::Waiting,
            assign_to: None,
            created_by: None,
            crm: Default::default(),
        };
        let store = &app.state.store;
        let now = app.state.clock.now_ms();
        let batch = vec![
            lead("+5511955550401", Some(("b-1", "h1"))),
            lead("+5511955550402", Some(("b-1", "h1"))), // same key and hash: replays the first
            lead("+5511955550403", Some(("b-1", "other"))), // same key, another body: refused
            lead("+5511955550401", None), // same phone as the first, its lead open: L8
            lead("+5511955550404", None),
        ];
        let r = store.ingest_batch(&batch, now).await;
        assert_eq!(r.len(), 5);
        let first = r[0].as_ref().unwrap();
        assert!(!first.replayed);
        let again = r[1].as_ref().unwrap();
        assert!(again.replayed);
        assert_eq!(again.lead_id, first.lead_id);
        assert!(matches!(r[2], Err(StoreError::Conflict(_))), "{:?}", r[2]);
        // L8: the client's first lead is still open, so this contact is written on it.
        let linked = r[3].as_ref().unwrap();
        assert!(linked.linked_existing_client && linked.recontact);
        assert_eq!(linked.client_id, first.client_id);
        assert_eq!(linked.lead_id, first.lead_id);
        assert!(r[4].is_ok());
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 2);
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM client_history WHERE kind = 'recontact'")
                .await,
            1
        );
        // The refused, replayed and recontact ones left no number behind: the numbers run on.
        let numbers: Vec<String> = sqlx::query_scalar("SELECT number FROM leads ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert_eq!(numbers.len(), 2);
        let seq = |n: &str| -> i64 {
            n.rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert_eq!(seq(&numbers[1]) - seq(&numbers[0]), 1, "{numbers:?}");
    }
);
