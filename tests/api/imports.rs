//! CSV import (docs/IMPORT.md): a 100,000-row file with errors sprinkled in previews exact
//! counts, confirming twice writes once, the same file again makes no duplicates; the file's
//! own faults are refused with nothing written. Exports are in `exports.rs`.

use crate::both;
use crate::crm_helpers::expect;
use crate::helpers::TestApp;
use roleta::model::Role;
use serde_json::Value;

/// Posts a CSV body (streamed in chunks of `chunk` rows' worth) to an import route.
pub async fn upload(app: &TestApp, kind: &str, body: Vec<u8>) -> reqwest::Response {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    app.http
        .post(format!("{}/api/v1/imports/{kind}", app.base))
        .bearer_auth(&app.manager)
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("request")
}

pub async fn preview(app: &TestApp, kind: &str, csv: &str) -> Value {
    expect(upload(app, kind, csv.as_bytes().to_vec()).await, 201).await
}

pub async fn confirm(app: &TestApp, id: i64) -> Value {
    let r = app
        .post(
            &format!("/api/v1/imports/{id}/confirm"),
            &app.manager,
            serde_json::json!({}),
        )
        .await;
    expect(r, 200).await
}

pub async fn broker_email(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar::<_, String>("SELECT email FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap()
}

const ROWS: usize = 100_000;

/// Row i of the big file: every 50 rows one bad phone, one unknown broker, one repeat of the
/// row before, one phone the agency already has; the rest valid, a third with broker A.
fn big_file(a_email: &str, existing: &[String]) -> Vec<u8> {
    let mut out = "nome;telefone;email;corretor;departamento;observacoes\n".to_string();
    for i in 0..ROWS {
        let phone = |n: usize| format!("(11) 9{:04}-{:04}", n / 10_000, n % 10_000);
        let (p, broker) = match i % 50 {
            7 => ("12-34".to_string(), String::new()),
            13 => (phone(i), "ninguem@nada.com".to_string()),
            21 => (phone(i - 1), String::new()),
            33 => (existing[i % existing.len()].clone(), String::new()),
            _ if i % 3 == 0 => (phone(i), a_email.to_string()),
            _ => (phone(i), String::new()),
        };
        out.push_str(&format!(
            "Cliente {i};{p};c{i}@exemplo.com.br;{broker};Vendas;importado\n"
        ));
    }
    out.into_bytes()
}

both!(
    a_hundred_thousand_rows_preview_exactly_and_import_once,
    |app| async move {
        let a = app.broker("Ana", &[app.sales]).await;
        let a_email = broker_email(app, a.id).await;
        let existing = ["(21) 99876-0001", "(21) 99876-0002", "(21) 99876-0003"];
        for (k, p) in existing.iter().enumerate() {
            app.lead(&format!("Antigo {k}"), p).await;
        }
        let before: i64 = app.scalar("SELECT COUNT(*) FROM clients").await;
        let existing: Vec<String> = existing.iter().map(|s| s.to_string()).collect();
        let file = big_file(&a_email, &existing);

        let p = expect(upload(app, "clients", file.clone()).await, 201).await;
        let per = (ROWS / 50) as i64;
        assert_eq!(p["status"], "ready");
        assert_eq!(p["separator"], ";");
        assert_eq!(p["rows"], ROWS as i64);
        assert_eq!(p["invalid"], 2 * per);
        assert_eq!(p["duplicates"], 2 * per);
        assert_eq!(p["valid"], ROWS as i64 - 4 * per);
        // Broker A gets the valid rows with i % 3 == 0.
        let with_a = (0..ROWS)
            .filter(|i| ![7, 13, 21, 33].contains(&(i % 50)) && i % 3 == 0)
            .count() as i64;
        let brokers = p["brokers"].as_array().unwrap();
        let a_rows = brokers.iter().find(|b| b["broker_id"] == a.id).unwrap();
        assert_eq!(a_rows["rows"], with_a);
        assert_eq!(a_rows["name"], "Ana");
        let none = brokers.iter().find(|b| b["broker_id"].is_null()).unwrap();
        assert_eq!(none["rows"], p["valid"].as_i64().unwrap() - with_a);
        // Nothing is written before the confirmation.
        assert_eq!(app.scalar("SELECT COUNT(*) FROM clients").await, before);

        // The invalid rows, with their reasons, in file order (line 1 is the header).
        let id = p["id"].as_i64().unwrap();
        let bad = expect(
            app.get(
                &format!("/api/v1/imports/{id}/rows?status=invalid&limit=2"),
                &app.manager,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(bad[0]["row"], 9);
        assert_eq!(bad[0]["problem"]["field"], "telefone");
        assert_eq!(bad[0]["problem"]["reason"], "phone_invalid");
        assert_eq!(bad[0]["problem"]["detail"], "12-34");
        assert_eq!(bad[1]["row"], 15);
        assert_eq!(bad[1]["problem"]["reason"], "broker_unknown");
        assert_eq!(bad[1]["problem"]["detail"], "ninguem@nada.com");
        let dups = expect(
            app.get(
                &format!("/api/v1/imports/{id}/rows?status=duplicate&limit=2"),
                &app.manager,
            )
            .await,
            200,
        )
        .await;
        assert_eq!(dups[0]["row"], 23);
        assert_eq!(dups[0]["duplicate_of"], 22);
        assert_eq!(dups[1]["row"], 35);
        assert!(dups[1]["duplicate_of"].is_null(), "already a client");

        let done = confirm(app, id).await;
        assert_eq!(done["status"], "confirmed");
        assert_eq!(done["created"], p["valid"]);
        assert_eq!(done["skipped"], 0);
        let after = app.scalar("SELECT COUNT(*) FROM clients").await;
        assert_eq!(after, before + p["valid"].as_i64().unwrap());
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM clients WHERE broker_id = {} AND department_id = {}",
                a.id, app.sales
            ))
            .await,
            with_a
        );
        assert_eq!(
            app.scalar(
                "SELECT COUNT(*) FROM clients WHERE search_key = 'cliente 0 c0@exemplo.com.br'"
            )
            .await,
            1
        );

        // A second confirmation answers the same and writes nothing.
        let again = confirm(app, id).await;
        assert_eq!(again["created"], done["created"]);
        assert_eq!(again["confirmed_at_ms"], done["confirmed_at_ms"]);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM clients").await, after);

        // The same file again: every phone is a client now.
        let second = expect(upload(app, "clients", file).await, 201).await;
        assert_eq!(second["valid"], 0);
        assert_eq!(second["invalid"], p["invalid"]);
        assert_eq!(second["duplicates"], ROWS as i64 - 2 * per);
        assert_eq!(second["same_file_as"], id);
        let none = confirm(app, second["id"].as_i64().unwrap()).await;
        assert_eq!(none["created"], 0);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM clients").await, after);
    }
);

both!(
    properties_are_created_then_updated_by_code,
    |app| async move {
        let a = app.broker("Ana", &[app.sales]).await;
        let a_email = broker_email(app, a.id).await;
        let csv = format!(
            "\u{feff}Código,Tipo,Transação,Preço,Bairro,Quartos,Vagas,Endereço,Captador\n\
         AP-1,Apartamento,Venda,\"R$ 850.000,00\",Pinheiros,3,2,\"Rua A, 1\",{a_email}\n\
         CA-2,casa,aluguel,6500,Centro,2,1,Rua B,\n\
         XX-3,castelo,venda,1,,,,,\n\
         XX-4,casa,venda,barato,,,,,\n\
         AP-1,Apartamento,Venda,1,,,,,\n\
         XX-5,casa,venda,1,,muitos,,,\n"
        );
        let p = preview(app, "properties", &csv).await;
        assert_eq!(p["separator"], ",");
        assert_eq!(
            (p["rows"].as_i64(), p["valid"].as_i64()),
            (Some(6), Some(2))
        );
        assert_eq!(
            (p["invalid"].as_i64(), p["duplicates"].as_i64()),
            (Some(3), Some(1))
        );
        let id = p["id"].as_i64().unwrap();
        let rows = expect(
            app.get(&format!("/api/v1/imports/{id}/rows"), &app.manager)
                .await,
            200,
        )
        .await;
        let reasons: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["problem"]["reason"].as_str())
            .collect();
        assert_eq!(reasons, ["kind_invalid", "price_invalid", "number_invalid"]);
        let done = confirm(app, id).await;
        assert_eq!(
            (done["created"].as_i64(), done["updated"].as_i64()),
            (Some(2), Some(0))
        );
        let price = app
            .scalar(&format!(
                "SELECT price_cents FROM properties WHERE code = 'AP-1' AND captador_id = {}",
                a.id
            ))
            .await;
        assert_eq!(price, 85_000_000);

        // Known codes update; an empty cell keeps what the property had.
        let p = preview(
            app,
            "properties",
            "codigo;tipo;transacao;preco\nAP-1;apartamento;venda;900000\nNV-9;terreno;venda;\n",
        )
        .await;
        assert_eq!(
            (p["valid"].as_i64(), p["updates"].as_i64()),
            (Some(2), Some(1))
        );
        let done = confirm(app, p["id"].as_i64().unwrap()).await;
        assert_eq!(
            (done["created"].as_i64(), done["updated"].as_i64()),
            (Some(1), Some(1))
        );
        assert_eq!(
            app.scalar("SELECT price_cents FROM properties WHERE code = 'AP-1'")
                .await,
            90_000_000
        );
        assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM properties WHERE code = 'AP-1' AND captador_id = {} AND bedrooms = 3", a.id))
            .await,
        1
    );

        // A client row names properties by code; an unknown code is the row's reason.
        let p = preview(
            app,
            "clients",
            "nome;telefone;imoveis\nBia;11 98888-0001;AP-1 | NV-9\nCaio;11 98888-0002;ZZ-0\n",
        )
        .await;
        assert_eq!(
            (p["valid"].as_i64(), p["invalid"].as_i64()),
            (Some(1), Some(1))
        );
        confirm(app, p["id"].as_i64().unwrap()).await;
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM client_properties").await,
            2
        );
    }
);

both!(
    a_file_that_cannot_be_imported_is_refused_and_nothing_is_kept,
    |app| async move {
        let r = upload(app, "clients", b"nome;email\nAna;a@b.com\n".to_vec()).await;
        let e = expect(r, 422).await;
        assert_eq!(e["error"]["field"], "telefone");
        let e = expect(
            upload(app, "clients", b"\xEF\xBB\xBF\n".to_vec()).await,
            422,
        )
        .await;
        assert_eq!(e["error"]["field"], "file");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM imports").await, 0);
        // Not a CSV body; not a manager.
        let r = app
            .post(
                "/api/v1/imports/clients",
                &app.manager,
                serde_json::json!({"nome": "Ana"}),
            )
            .await;
        expect(r, 415).await;
        let (_, reception) = app.user("recepcao", Role::Receptionist).await;
        let r = app
            .http
            .post(format!("{}/api/v1/imports/clients", app.base))
            .bearer_auth(&reception)
            .header("content-type", "text/csv")
            .body("nome;telefone\nAna;11 98765-4321\n")
            .send()
            .await
            .unwrap();
        expect(r, 403).await;
        // An import of another agency is not found; an unknown row filter is refused.
        let p = preview(app, "clients", "nome;telefone\nAna;11 98765-4321\n").await;
        let id = p["id"].as_i64().unwrap();
        let other = app.state.store.create_agency("Outra", 0).await.unwrap();
        let (_, stranger) = app.user_in(other, "gestora", Role::Manager).await;
        expect(
            app.get(&format!("/api/v1/imports/{id}"), &stranger).await,
            404,
        )
        .await;
        let r = app
            .post(
                &format!("/api/v1/imports/{id}/confirm"),
                &stranger,
                serde_json::json!({}),
            )
            .await;
        expect(r, 404).await;
        expect(
            app.get(&format!("/api/v1/imports/{id}/rows?status=x"), &app.manager)
                .await,
            422,
        )
        .await;
        let list = expect(app.get("/api/v1/imports", &app.manager).await, 200).await;
        assert_eq!(list[0]["id"], id);
    }
);

/// The limit holds however the body arrives; what was read of the file is marked failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_import_limit_is_refused() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, |s| {
        s.server.import_body_limit_bytes = 200_000;
    })
    .await;
    let mut csv = "nome;telefone\n".to_string();
    for i in 0..20_000 {
        csv.push_str(&format!(
            "Cliente {i};(11) 9{:04}-{:04}\n",
            i / 10_000,
            i % 10_000
        ));
    }
    expect(upload(&app, "clients", csv.into_bytes()).await, 413).await;
    let list = expect(app.get("/api/v1/imports", &app.manager).await, 200).await;
    assert_eq!(list[0]["status"], "failed");
    assert_eq!(list[0]["error"], "too_large");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM clients").await, 0);
    app.finish().await;
}
