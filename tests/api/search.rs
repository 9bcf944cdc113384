//! The client search campaigns and distribution select from: filters, folding, paging, scoping.

use crate::both;
use crate::crm_helpers::*;
use serde_json::{json, Value};

fn names(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect()
}

both!(
    the_client_search_filters_pages_and_stays_in_the_agency,
    |app| async move {
        let a = app.broker("Ana", &[app.sales]).await;
        client(app, "João Araújo", "(11) 97000-0001").await;
        client(app, "Joana Lima", "(11) 97000-0002").await;
        linked_client(app, "Jonas Prado", "(11) 97000-0003", &a).await;
        for i in 0..5 {
            client(app, &format!("Página {i}"), &format!("(11) 97000-010{i}")).await;
        }
        // Another agency's client with a matching name is never found.
        let now = app.state.clock.now_ms();
        let other = app.state.store.create_agency("Outra", now).await.unwrap();
        app.state
            .store
            .create_department(other, "Vendas", true, now)
            .await
            .unwrap();
        let key = app.new_api_key(other, "portal").await;
        let r = app
            .http
            .post(format!("{}/api/v1/leads", app.base))
            .bearer_auth(&key)
            .json(&json!({"name": "João de Fora", "phone": "(11) 97000-0009"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);

        // Accents and case are ignored, through the index (3+ characters) and without it.
        assert_eq!(
            names(&search(app, json!({"q": "JOAO"})).await),
            vec!["João Araújo"]
        );
        assert_eq!(
            names(&search(app, json!({"q": "araujo"})).await),
            vec!["João Araújo"]
        );
        let jo = names(&search(app, json!({"q": "jo"})).await);
        assert_eq!(
            jo,
            vec!["Jonas Prado", "Joana Lima", "João Araújo"],
            "newest first"
        );
        assert!(search(app, json!({"q": "100%"})).await.is_empty());
        // Phone typed any way; active clients; a broker's clients.
        assert_eq!(
            names(&search(app, json!({"phone": "+55 11 97000 0002"})).await),
            vec!["Joana Lima"]
        );
        assert_eq!(
            names(&search(app, json!({"has_broker": true})).await),
            vec!["Jonas Prado"]
        );
        assert_eq!(
            names(&search(app, json!({"broker_id": a.id})).await),
            vec!["Jonas Prado"]
        );
        assert_eq!(search(app, json!({"has_broker": false})).await.len(), 7);
        // Source and status come from the client's leads; created between.
        assert_eq!(search(app, json!({"source": "reception"})).await.len(), 1);
        assert_eq!(search(app, json!({"status": "Novo"})).await.len(), 8);
        assert!(search(app, json!({"created_to_ms": 1})).await.is_empty());
        assert_eq!(search(app, json!({"created_from_ms": 1})).await.len(), 8);

        // Keyset pages: three pages of 3, 3 and 2, none repeated.
        let mut seen = Vec::new();
        let mut before: Option<i64> = None;
        loop {
            let body = json!({"filter": {}, "limit": 3, "before": before});
            let page = expect(
                app.post("/api/v1/clients/search", &app.manager, body).await,
                200,
            )
            .await;
            seen.extend(names(page["clients"].as_array().unwrap()));
            match page["next_before"].as_i64() {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        assert_eq!(seen.len(), 8);
        seen.dedup();
        assert_eq!(seen.len(), 8);

        // Bad input is refused with the field named; brokers may not search.
        let bad = |body: Value, field: &'static str| async move {
            let e = expect(
                app.post("/api/v1/clients/search", &app.manager, body).await,
                422,
            )
            .await;
            assert_eq!(e["error"]["field"], field, "{e}");
        };
        bad(json!({"filter": {}, "limit": 0}), "limit").await;
        bad(json!({"filter": {"phone": "abc"}}), "phone").await;
        let r = app
            .post(
                "/api/v1/clients/search",
                &app.manager,
                json!({"filter": {"color": "azul"}}),
            )
            .await;
        expect(r, 422).await;
        expect(
            app.post("/api/v1/clients/search", &a.token, json!({}))
                .await,
            403,
        )
        .await;
    }
);
