//! Lead sources with their own contract (docs/SOURCES.md): Grupo OLX after its public manual,
//! RD Station's conversion webhook, a mapped form — and L8, one lead per open deal, with each.

use crate::both;
use crate::helpers::*;
use base64::Engine as _;
use serde_json::{json, Value};

/// Creates an integration as the manager does on the integrations page: (path, key).
pub async fn integration(app: &TestApp, body: Value) -> (String, String) {
    let r = app.post("/api/v1/integrations", &app.manager, body).await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    let path = v["path"].as_str().unwrap().to_string();
    let key = v["key"].as_str().unwrap().to_string();
    assert!(
        v["integration"].get("key").is_none(),
        "the listing never holds the key"
    );
    (path, key)
}

/// The manual's example lead, with `originLeadId` and the phone chosen by the test.
pub fn olx_lead(origin_id: &str, phone: &str) -> Value {
    json!({
        "leadOrigin": "VivaReal",
        "timestamp": "2017-10-23T15:50:30.619Z",
        "originLeadId": origin_id,
        "originListingId": "87027856",
        "clientListingId": "a40171",
        "name": "Nome Consumidor",
        "email": "nome.consumidor@email.com",
        "ddd": "11",
        "phone": phone,
        "phoneNumber": format!("11{phone}"),
        "message": "Olá, tenho interesse neste imóvel. Aguardo o contato. Obrigado."
    })
}

/// Posts as Grupo OLX does: `Authorization: Basic base64(vivareal:<key>)`.
pub async fn olx_post(app: &TestApp, path: &str, key: &str, body: &Value) -> reqwest::Response {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("vivareal:{key}"));
    app.http
        .post(format!("{}{path}", app.base))
        .header("Authorization", format!("Basic {basic}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn property(app: &TestApp, code: &str) {
    let r = app
        .post(
            "/api/v1/properties",
            &app.manager,
            json!({"code": code, "kind": "apartment", "purpose": "sale", "price_cents": 85000000,
                "neighbourhood": "Pinheiros", "address": "Rua dos Pinheiros, 100", "bedrooms": 3,
                "parking_spaces": 2, "status": "available", "owner_client_id": null}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
}

both!(
    grupozap_the_manuals_example_is_one_lead_linked_to_the_listing_and_offered,
    |app| async move {
        property(app, "a40171").await;
        let ana = app.broker("Ana", &[app.sales]).await;
        let mut ws = app.online(&ana).await;
        let (path, key) = integration(app, json!({"kind": "grupozap"})).await;
        assert!(path.starts_with("/hooks/grupozap/"), "{path}");
        let r = olx_post(
            app,
            &path,
            &key,
            &olx_lead("59ee0fc6e4b043e1b2a6d863", "999999999"),
        )
        .await;
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        let out: Value = r.json().await.unwrap();
        let offer = ws.offer().await;
        assert_eq!(offer["lead"]["id"], out["lead_id"]);
        assert_eq!(offer["lead"]["channel"], "lp");
        let lead = app
            .get(&format!("/api/v1/leads/{}", out["lead_id"]), &app.manager)
            .await;
        let lead: Value = lead.json().await.unwrap();
        assert_eq!(lead["client_phone"], "+5511999999999");
        assert_eq!(lead["source"], "Grupo OLX");
        assert_eq!(lead["ad_campaign"], "VivaReal");
        // clientListingId is the agency's property code: the interest profile comes from it (A2).
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads l JOIN properties p ON p.id = l.property_id \
            WHERE p.code = 'a40171' AND l.interest_purpose = 'sale' AND l.interest_neighbourhood = 'Pinheiros' AND l.interest_bedrooms = 3").await, 1);
        let comment = lead["comment"].as_str().unwrap_or_default();
        assert!(
            comment.contains("tenho interesse") && comment.contains("VivaReal"),
            "{comment}"
        );
        // The manager's list counts it.
        let list: Value = app
            .get("/api/v1/integrations", &app.manager)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list[0]["leads"], 1, "{list}");
        assert_eq!(list[0]["name"], "Grupo OLX");
    }
);

both!(
    grupozap_a_retried_lead_five_times_some_at_once_is_one_lead,
    |app| async move {
        property(app, "a40171").await;
        let (path, key) = integration(app, json!({"kind": "grupozap"})).await;
        let body = olx_lead("retry-1", "988887777");
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (http, url, key, body) = (
                app.http.clone(),
                format!("{}{path}", app.base),
                key.clone(),
                body.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("zap:{key}"));
                http.post(url)
                    .header("Authorization", format!("Basic {basic}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap().as_u16());
        }
        for _ in 0..2 {
            statuses.push(olx_post(app, &path, &key, &body).await.status().as_u16());
        }
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 202),
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 202).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 1);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM clients").await, 1);
    }
);

both!(
    grupozap_a_wrong_key_or_none_is_401_and_nothing_is_stored,
    |app| async move {
        let (path, key) = integration(app, json!({"kind": "grupozap"})).await;
        let body = olx_lead("x-1", "977776666");
        assert_eq!(
            olx_post(app, &path, "not-the-key", &body).await.status(),
            401
        );
        let bare = app
            .http
            .post(format!("{}{path}", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), 401);
        // The right key on another advertiser's URL is no key at all.
        assert_eq!(
            olx_post(app, "/hooks/grupozap/nobody", &key, &body)
                .await
                .status(),
            401
        );
        // A lead without its listing gets the 4xx the manual asks for, and is not kept.
        let mut no_listing = body.clone();
        no_listing
            .as_object_mut()
            .unwrap()
            .remove("clientListingId");
        let r = olx_post(app, &path, &key, &no_listing).await;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["field"], "clientListingId");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 0);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM clients").await, 0);
        // A new key replaces the old one at once.
        let id = app.scalar("SELECT id FROM integrations").await;
        let r = app
            .post(
                &format!("/api/v1/integrations/{id}/key"),
                &app.manager,
                json!({}),
            )
            .await;
        assert_eq!(r.status(), 200);
        let new_key = r.json::<Value>().await.unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(olx_post(app, &path, &key, &body).await.status(), 401);
        assert_eq!(olx_post(app, &path, &new_key, &body).await.status(), 202);
        // Switched off by the manager: 403, so the portal stops rather than fixes its key.
        let r = app
            .put(
                &format!("/api/v1/integrations/{id}"),
                &app.manager,
                json!({"active": false, "department_id": null}),
            )
            .await;
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        assert_eq!(
            olx_post(app, &path, &new_key, &olx_lead("x-2", "966665555"))
                .await
                .status(),
            403
        );
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 1);
    }
);

both!(
    l8_a_new_contact_on_an_open_lead_is_written_on_it_and_its_broker_told,
    |app| async move {
        property(app, "a40171").await;
        let ana = app.broker("Ana", &[app.sales]).await;
        let mut ws = app.online(&ana).await;
        let (olx, olx_key) = integration(app, json!({"kind": "grupozap"})).await;
        let (rd, rd_key) = integration(app, json!({"kind": "rdstation"})).await;
        let (form, form_key) = integration(app, json!({"kind": "form", "name": "Site"})).await;
        let first: Value = olx_post(app, &olx, &olx_key, &olx_lead("deal-1", "955554444"))
            .await
            .json()
            .await
            .unwrap();
        let offer = ws.offer().await;
        ws.accept(&offer).await;
        // The same person writes again through three other doors while the deal is open.
        let again = olx_post(app, &olx, &olx_key, &olx_lead("deal-2", "955554444")).await;
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["recontact"], true);
        assert_eq!(again["lead_id"], first["lead_id"]);
        let rd_body = json!({"event_type": "WEBHOOK.CONVERTED", "entity_type": "CONTACT", "event_identifier": "contato-site",
            "timestamp": "2026-12-03T10:00:00.000-03:00", "event_timestamp": "2026-12-03T09:59:58.000-03:00",
            "contact": {"uuid": "c2f3d2b3", "email": "nome.consumidor@email.com", "name": "Nome Consumidor", "mobile_phone": "11 95555-4444"}});
        let r = app
            .http
            .post(format!("{}{rd}?key={rd_key}", app.base))
            .json(&rd_body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        let r = app
            .http
            .post(format!("{}{form}", app.base))
            .header("X-Roleta-Key", &form_key)
            .form(&[
                ("nome", "Nome Consumidor"),
                ("telefone", "(11) 95555-4444"),
                ("mensagem", "Quero visitar"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        // A retry of a recontact is not a second entry.
        let r = olx_post(app, &olx, &olx_key, &olx_lead("deal-2", "955554444")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 1);
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM client_history WHERE kind = 'recontact'")
                .await,
            3
        );
        let notes: Value = app
            .get("/api/v1/notifications", &ana.token)
            .await
            .json()
            .await
            .unwrap();
        let told = notes["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["event"] == "lead_recontact")
            .count();
        assert_eq!(told, 3, "{notes}");
        let client = first["client_id"].as_i64().unwrap();
        let timeline: Value = app
            .get(&format!("/api/v1/clients/{client}/timeline"), &ana.token)
            .await
            .json()
            .await
            .unwrap();
        let recontacts: Vec<&Value> = timeline
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "recontact")
            .collect();
        assert_eq!(recontacts.len(), 3, "{timeline}");
        assert!(
            recontacts
                .iter()
                .any(|e| e["from"] == "Site" && e["to"] == "Quero visitar"),
            "{timeline}"
        );
        // Once the deal is won, the next contact is a new lead (and goes to its owner, R3).
        let lead = first["lead_id"].as_i64().unwrap();
        let r = app
            .post(
                &format!("/api/v1/leads/{lead}/status"),
                &ana.token,
                json!({"status": "Perdido"}),
            )
            .await;
        assert!(r.status().is_success(), "{:?}", r.text().await);
        let next = olx_post(app, &olx, &olx_key, &olx_lead("deal-3", "955554444")).await;
        assert_eq!(next.status(), 202);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 2);
    }
);

both!(
    rdstation_current_and_legacy_bodies_make_leads_and_a_retry_is_the_same,
    |app| async move {
        let (path, key) = integration(app, json!({"kind": "rdstation"})).await;
        let current = json!({"event_type": "WEBHOOK.CONVERTED", "entity_type": "CONTACT", "event_identifier": "ebook-imoveis",
            "timestamp": "2026-12-03T14:09:02.724-03:00", "event_timestamp": "2026-12-03T14:07:04.254-03:00",
            "contact": {"uuid": "c2f3d2b3-7250-4d27-97f4-eef38be32f7f", "email": "contato@exemplo.com.br", "name": "Contato Um",
                "personal_phone": "48 30252598", "mobile_phone": "48 99988-7766", "city": "Florianópolis",
                "funnel": {"origin": "Busca Paga | Google"}}});
        for expected in [202, 200] {
            let r = app
                .http
                .post(format!("{}{path}?key={key}", app.base))
                .json(&current)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), expected);
        }
        let legacy = json!({"leads": [{"id": "1", "uuid": "aa-bb", "email": "dois@exemplo.com.br", "name": "Contato Dois",
            "number_conversions": "3", "personal_phone": "48 999999999",
            "last_conversion": {"content": {"identificador": "webinar-abc"}, "created_at": "2012-06-04T15:31:35-03:00",
                "conversion_origin": {"campaign": "campanha 1"}}}]});
        let r = app
            .http
            .post(format!("{}{path}", app.base))
            .header("X-Roleta-Key", &key)
            .json(&legacy)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        let leads: Value = app
            .get("/api/v1/leads", &app.manager)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(leads.as_array().unwrap().len(), 2, "{leads}");
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM leads WHERE channel = 'ls' AND source = 'RD Station'")
                .await,
            2
        );
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM clients WHERE phone = '+5548999887766'")
                .await,
            1,
            "mobile first"
        );
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM leads WHERE ad_campaign = 'campanha 1'")
                .await,
            1
        );
        // No key, or RD's body without a contact: refused, nothing kept.
        let r = app
            .http
            .post(format!("{}{path}", app.base))
            .json(&current)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let r = app
            .http
            .post(format!("{}{path}?key={key}", app.base))
            .json(&json!({"event_type": "WEBHOOK.CONVERTED"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM leads").await, 2);
    }
);

both!(
    a_form_is_read_through_the_managers_mapping,
    |app| async move {
        property(app, "IM-77").await;
        let (path, key) = integration(app, json!({"kind": "form", "name": "Imovelweb", "channel": "lp",
            "department_id": app.rentals,
            "mapping": {"name": "contato.nome", "phone": "contato.fones.0", "email": "contato.email",
                "property_code": "imovel.codigo", "external_id": "id", "message": "mensagem"}})).await;
        let body = json!({"id": 991, "contato": {"nome": "Marta", "fones": ["(21) 98888-1111", "(21) 3333-2222"], "email": "marta@exemplo.com"},
            "imovel": {"codigo": "IM-77"}, "mensagem": "Ainda está disponível?"});
        let r = app
            .http
            .post(format!("{}{path}?key={key}", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        let r = app
            .http
            .post(format!("{}{path}?key={key}", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "the sender's id makes a retry the same lead"
        );
        assert_eq!(app.scalar(&format!(
            "SELECT COUNT(*) FROM leads WHERE source = 'Imovelweb' AND channel = 'lp' AND department_id = {} AND property_id IS NOT NULL", app.rentals)).await, 1);
        assert_eq!(
            app.scalar(
                "SELECT COUNT(*) FROM clients WHERE phone = '+5521988881111' AND name = 'Marta'"
            )
            .await,
            1
        );
        // A mapping naming what the body lacks: the phone's field is said, nothing kept.
        let r = app
            .http
            .post(format!("{}{path}?key={key}", app.base))
            .json(&json!({"contato": {"nome": "Sem Fone"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "phone");
        // The manager's mapping is checked.
        let r = app
            .post(
                "/api/v1/integrations",
                &app.manager,
                json!({"kind": "form", "name": "Outro", "mapping": {"nome": "a"}}),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["field"],
            "mapping.nome"
        );
        let r = app
            .post(
                "/api/v1/integrations",
                &app.manager,
                json!({"kind": "form"}),
            )
            .await;
        assert_eq!(r.status(), 422, "a form integration needs a name");
        let r = app
            .post(
                "/api/v1/integrations",
                &app.manager,
                json!({"kind": "form", "name": "Imovelweb"}),
            )
            .await;
        assert_eq!(r.status(), 409);
    }
);
