//! CSV exports: what a Brazilian spreadsheet opens (BOM, `;`, pt-BR headers, Brasília dates),
//! and an export imports back, every row read as it was written.

use crate::both;
use crate::crm_helpers::expect;
use crate::helpers::TestApp;
use crate::imports::{broker_email, confirm, preview, upload};
use roleta::model::Role;
use serde_json::Value;

async fn export(app: &TestApp, what: &str, token: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/exports/{what}"), token).await
}

async fn export_text(app: &TestApp, what: &str) -> (String, Vec<u8>) {
    let r = export(app, what, &app.manager).await;
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
    (ct, r.bytes().await.unwrap().to_vec())
}

/// Every row of an import's preview, all pages.
async fn all_rows(app: &TestApp, id: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = expect(
            app.get(
                &format!("/api/v1/imports/{id}/rows?after={after}&limit=500"),
                &app.manager,
            )
            .await,
            200,
        )
        .await;
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        after = last["row"].as_i64().unwrap();
        out.extend(page);
    }
    out
}

both!(
    an_export_of_clients_imports_back_as_it_was,
    |app| async move {
        let a = app.broker("Ana", &[app.sales]).await;
        let a_email = broker_email(app, a.id).await;
        let props = "codigo;tipo;transacao\nAP-1;apartamento;venda\nCA-2;casa;aluguel\n";
        let p = preview(app, "properties", props).await;
        confirm(app, p["id"].as_i64().unwrap()).await;
        // 1,500 clients: more than one page of the export.
        let mut csv = "nome;telefone;email;corretor;departamento;observacoes;imoveis\n".to_string();
        for i in 0..1500 {
            let broker = if i % 2 == 0 { a_email.as_str() } else { "" };
            csv.push_str(&format!(
            "José {i};(11) 97{:03}-{:04};jose{i}@exemplo.com;{broker};Locação;\"=1+1; nota, com vírgula\";AP-1 | CA-2\n",
            i / 1000,
            i % 10_000
        ));
        }
        let p = preview(app, "clients", &csv).await;
        assert_eq!(p["valid"], 1500, "{p}");
        confirm(app, p["id"].as_i64().unwrap()).await;
        app.lead("Lead Novo", "(31) 99999-1234").await;

        let (ct, body) = export_text(app, "clients.csv").await;
        assert_eq!(ct, "text/csv; charset=utf-8");
        assert!(
            body.starts_with(b"\xEF\xBB\xBF"),
            "a BOM for the spreadsheet"
        );
        let text = String::from_utf8(body.clone()).unwrap();
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(
        lines.next().unwrap(),
        "Nome;Telefone;E-mail;Corretor (e-mail);Nome do corretor;Departamento;Observações;Imóveis;Cadastrado em"
    );
        let first = lines.next().unwrap();
        assert!(
        first.starts_with(&format!("José 0;(11) 97000-0000;jose0@exemplo.com;{a_email};Ana;Locação;\"'=1+1; nota, com vírgula\";AP-1 | CA-2;")),
        "{first}"
    );
        let date = first.rsplit(';').next().unwrap();
        assert_eq!(date.len(), 16, "dd/mm/aaaa hh:mm: {date}");
        assert_eq!(text.lines().count(), 1 + 1501);

        // Back through the import: every row reads (none invalid) and is a client already.
        let back = expect(upload(app, "clients", body).await, 201).await;
        assert_eq!(back["rows"], 1501);
        assert_eq!(back["invalid"], 0, "{back}");
        assert_eq!(back["duplicates"], 1501);
        assert_eq!(
            back["ignored_columns"],
            serde_json::json!(["Nome do corretor", "Cadastrado em"])
        );
        let rows = all_rows(app, back["id"].as_i64().unwrap()).await;
        assert_eq!(rows[0]["label"], "José 0");
        assert_eq!(rows[0]["key"], "+5511970000000");
        assert_eq!(rows[1500]["key"], "+5531999991234");

        // With commas, for the rest of the world; the same rows.
        let (_, body) = export_text(app, "clients.csv?sep=,").await;
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains("Nome,Telefone,E-mail"), "{}", &text[..80]);
        let back = expect(upload(app, "clients", body).await, 201).await;
        assert_eq!(
            (back["separator"].as_str(), back["invalid"].as_i64()),
            (Some(","), Some(0))
        );
        expect(export(app, "clients.csv?sep=x", &app.manager).await, 422).await;
    }
);

both!(
    leads_export_with_their_client_and_import_as_clients,
    |app| async move {
        app.lead("Maria Lead", "(11) 98765-4321").await;
        app.lead("João Lead", "+55 21 99876-5432").await;
        let (_, body) = export_text(app, "leads.csv").await;
        let text = String::from_utf8(body.clone()).unwrap();
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(
        lines.next().unwrap(),
        "Número;Nome;Telefone;E-mail;Corretor (e-mail);Nome do corretor;Departamento;Origem;Canal;Status;Imóvel;Observações;Criado em"
    );
        let first = lines.next().unwrap();
        assert!(first.contains(";Maria Lead;(11) 98765-4321;"), "{first}");
        assert!(first.contains(";Vendas;portal;"), "{first}");
        assert!(first.contains(";Novo;"), "{first}");
        let back = expect(upload(app, "clients", body).await, 201).await;
        assert_eq!(
            (back["rows"].as_i64(), back["invalid"].as_i64()),
            (Some(2), Some(0))
        );
        assert_eq!(back["duplicates"], 2);
        // Managers only.
        let (_, reception) = app.user("recepcao", Role::Receptionist).await;
        expect(export(app, "leads.csv", &reception).await, 403).await;
        let b = app.broker("Bia", &[app.sales]).await;
        expect(export(app, "clients.csv", &b.token).await, 403).await;
    }
);
