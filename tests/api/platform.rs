//! The platform API a CRM vendor drives (docs/PLATFORM.md): off without a token, a wrong token
//! refused and throttled, an agency created whole with a manager who must change the one-time
//! password, nothing written on a duplicate (feature switches: `platform_features.rs`).

use crate::both;
use crate::helpers::{spawn_app_with, Backend, TestApp, PLATFORM_TOKEN};
use roleta::settings::Secret;
use serde_json::{json, Value};

impl TestApp {
    pub async fn platform(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut r = self
            .http
            .request(method, format!("{}/api/v1/platform{path}", self.base))
            .bearer_auth(PLATFORM_TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.expect("request")
    }

    /// Creates an agency through the platform API: (agency id, the whole answer).
    pub async fn platform_agency(&self, name: &str, email: &str) -> (i64, Value) {
        let r = self
            .platform(
                reqwest::Method::POST,
                "/agencies",
                Some(json!({"name": name, "manager_email": email, "manager_name": "Gestora"})),
            )
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        let v: Value = r.json().await.unwrap();
        (v["agency"]["id"].as_i64().unwrap(), v)
    }

    /// Signs the new agency's manager in with the one-time password and sets their own, as
    /// they must before anything else; their session token.
    pub async fn first_sign_in(&self, email: &str, one_time_password: &str) -> String {
        let r = self.login(email, one_time_password).await;
        assert_eq!(r.status(), 200);
        let token: String = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .into();
        let body =
            json!({"current_password": one_time_password, "new_password": "senha-escolhida-1"});
        let r = self.put("/api/v1/me/password", &token, body).await;
        assert_eq!(r.status(), 204);
        token
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }
}

pub async fn error_of(r: reqwest::Response) -> Value {
    r.json::<Value>().await.unwrap()["error"].clone()
}

async fn platform_off(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.platform.token_sha256 = Secret::new("")).await;
    for (method, path) in [
        (reqwest::Method::GET, "/agencies"),
        (reqwest::Method::POST, "/agencies"),
        (reqwest::Method::GET, "/agencies/1"),
        (reqwest::Method::POST, "/agencies/1/suspend"),
        (reqwest::Method::PUT, "/agencies/1/features"),
    ] {
        let r = app.platform(method.clone(), path, Some(json!({}))).await;
        assert_eq!(r.status(), 404, "{method} {path}");
        assert_eq!(error_of(r).await["code"], "not_found");
        // Without any token too: nothing tells the platform API exists.
        let r = app
            .http
            .request(
                method.clone(),
                format!("{}/api/v1/platform{path}", app.base),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method} {path} without a token");
    }
    assert_eq!(app.state.store.count_agencies().await.unwrap(), 1);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_platform_token_every_platform_route_is_404_sqlite() {
    platform_off(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_platform_token_every_platform_route_is_404_postgres() {
    platform_off(Backend::Postgres).await;
}

async fn wrong_token(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.auth.token_failures_burst = 3).await;
    let url = format!("{}/api/v1/platform/agencies", app.base);
    let r = app.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401, "no token");
    for i in 0..3 {
        let r = app
            .http
            .get(&url)
            .bearer_auth("guess")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "wrong token {i}");
        assert_eq!(error_of(r).await["code"], "unauthorized");
    }
    // The address's budget of unknown tokens is spent: it waits, whatever it sends.
    let r = app
        .http
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = app
        .http
        .get(&url)
        .bearer_auth(PLATFORM_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "the right token waits too once the address is blocked"
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_platform_token_is_401_and_counts_towards_the_throttle_sqlite() {
    wrong_token(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_platform_token_is_401_and_counts_towards_the_throttle_postgres() {
    wrong_token(Backend::Postgres).await;
}

both!(
    a_created_agency_works_and_its_manager_must_change_the_one_time_password,
    |app| async move {
        let r = app
            .platform(
                reqwest::Method::POST,
                "/agencies",
                Some(json!({"name": " Imobiliária Exemplo ", "manager_email": "Gestora@Exemplo.com.br",
                    "manager_name": "Gestora Exemplo"})),
            )
            .await;
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let created: Value = r.json().await.unwrap();
        let agency = roleta::model::AgencyId(created["agency"]["id"].as_i64().unwrap());
        assert_eq!(created["agency"]["name"], "Imobiliária Exemplo");
        assert_eq!(
            created["agency"]["features"],
            json!({"roulette": true, "campaigns": true})
        );
        assert_eq!(created["agency"]["users"], 1);
        assert!(created["agency"]["suspended_at_ms"].is_null());
        assert_eq!(created["manager"]["email"], "gestora@exemplo.com.br");
        let otp = created["one_time_password"].as_str().unwrap().to_string();
        assert!(otp.len() >= 16, "{otp}");

        // The one-time password signs in, and says it must be changed.
        let r = app.login("gestora@exemplo.com.br", &otp).await;
        assert_eq!(r.status(), 200);
        let login: Value = r.json().await.unwrap();
        assert_eq!(login["user"]["must_change_password"], true);
        assert_eq!(login["user"]["role"], "manager");
        let token = login["token"].as_str().unwrap().to_string();
        // Nothing else until it is changed.
        let r = app.get("/api/v1/departments", &token).await;
        assert_eq!(r.status(), 403);
        assert_eq!(error_of(r).await["code"], "password_change_required");
        let r = app
            .put(
                "/api/v1/me/password",
                &token,
                json!({"current_password": otp, "new_password": "uma-senha-nova-1"}),
            )
            .await;
        assert_eq!(r.status(), 204);
        let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
        assert_eq!(me["user"]["must_change_password"], false);
        assert_eq!(me["features"], json!({"roulette": true, "campaigns": true}));
        assert_eq!(
            app.login("gestora@exemplo.com.br", &otp).await.status(),
            401
        );

        // Ready to work: a default department, the default pipeline, campaigns on, a source.
        let deps: Value = app
            .get("/api/v1/departments", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(deps.as_array().unwrap().len(), 1, "{deps}");
        assert_eq!(deps[0]["name"], "Vendas");
        assert_eq!(deps[0]["is_default"], 1);
        let types = app.get("/api/v1/lead-types", &token).await;
        assert_eq!(types.status(), 200);
        assert_eq!(
            types
                .json::<Value>()
                .await
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(app.get("/api/v1/campaigns", &token).await.status(), 200);
        let key = app.new_api_key(agency, "site").await;
        let r = app
            .http
            .post(format!("{}/api/v1/leads", app.base))
            .bearer_auth(&key)
            .json(&json!({"name": "Primeiro Cliente", "phone": "11987650101"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        assert_eq!(r.json::<Value>().await.unwrap()["state"], "waiting");

        // Listed and read back, beside the agency the tests start with.
        let list: Value = app
            .platform(reqwest::Method::GET, "/agencies", None)
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<roleta::model::AgencyId> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| roleta::model::AgencyId(a["id"].as_i64().unwrap()))
            .collect();
        assert_eq!(ids, vec![app.agency, agency]);
        let one = app
            .platform(reqwest::Method::GET, &format!("/agencies/{agency}"), None)
            .await;
        assert_eq!(one.status(), 200);
        assert_eq!(one.json::<Value>().await.unwrap()["active_users"], 1);
        let none = app
            .platform(reqwest::Method::GET, "/agencies/999999", None)
            .await;
        assert_eq!(none.status(), 404);
    }
);

both!(
    a_taken_email_or_name_is_409_and_writes_nothing,
    |app| async move {
        app.platform_agency("Primeira", "dona@primeira.com.br")
            .await;
        let count = |sql: &'static str| async move { app.scalar(sql).await };
        let before = (
            count("SELECT COUNT(*) FROM agencies").await,
            count("SELECT COUNT(*) FROM departments").await,
            count("SELECT COUNT(*) FROM lead_types").await,
            count("SELECT COUNT(*) FROM users").await,
        );
        for (body, what) in [
            (
                json!({"name": "Segunda", "manager_email": " DONA@primeira.com.br"}),
                "e-mail",
            ),
            (
                json!({"name": "primeira ", "manager_email": "outra@segunda.com.br"}),
                "nome",
            ),
        ] {
            let r = app
                .platform(reqwest::Method::POST, "/agencies", Some(body))
                .await;
            assert_eq!(r.status(), 409, "{what}");
            let e = error_of(r).await;
            assert_eq!(e["code"], "conflict");
            assert!(e["message"].as_str().unwrap().contains("já"), "{e}");
        }
        for (body, field) in [
            (json!({"name": "  ", "manager_email": "a@b.com.br"}), "name"),
            (
                json!({"name": "Terceira", "manager_email": "sem-arroba"}),
                "manager_email",
            ),
            (
                json!({"name": "x".repeat(201), "manager_email": "a@b.com.br"}),
                "name",
            ),
        ] {
            let r = app
                .platform(reqwest::Method::POST, "/agencies", Some(body))
                .await;
            assert_eq!(r.status(), 422, "{field}");
            assert_eq!(error_of(r).await["field"], field);
        }
        let after = (
            count("SELECT COUNT(*) FROM agencies").await,
            count("SELECT COUNT(*) FROM departments").await,
            count("SELECT COUNT(*) FROM lead_types").await,
            count("SELECT COUNT(*) FROM users").await,
        );
        assert_eq!(before, after, "nothing half-written");
    }
);
