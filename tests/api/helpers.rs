//! Test harness: a real Roleta on port 0 over a fresh database (its own SQLite file or its own
//! PostgreSQL database), plus HTTP and WebSocket clients that speak to it over real sockets.

use futures_util::{SinkExt, StreamExt};
use roleta::model::{AgencyId, BrokerId, Role};
use roleta::settings::Secret;
use roleta::state::AppState;
use roleta::{App, Settings};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const PASSWORD: &str = "senha-segura-1";
/// The bearer token `/metrics` asks for in tests (`metrics.token`).
pub const METRICS_TOKEN: &str = "metrics-test-token";
/// The platform API's bearer token in tests (`platform.token_sha256` holds its SHA-256).
pub const PLATFORM_TOKEN: &str = "platform-test-token";
const WAIT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the body once per backend with `app: &TestApp`, then checks the invariants:
/// `both!(name, |app| async move { … });`
#[macro_export]
macro_rules! both {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let owned = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await;
                {
                    let $app = &owned;
                    $body.await;
                }
                owned.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let owned = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await;
                {
                    let $app = &owned;
                    $body.await;
                }
                owned.finish().await;
            }
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub ws_url: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub agency: AgencyId,
    pub sales: i64,
    pub rentals: i64,
    pub api_key: String,
    pub manager: String,
    pub db_url: String,
    pub backend: Backend,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Debug)]
pub struct Broker {
    pub id: i64,
    pub token: String,
}

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(PASSWORD.as_bytes(), &salt)
            .expect("hash")
            .to_string()
    })
    .clone()
}

async fn fresh_database(backend: Backend) -> (String, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}/roleta.db?mode=rwc", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => (crate::pg::create_database("roleta_t_").await, None),
    }
}

pub fn settings_for(db_url: &str) -> Settings {
    let mut s = Settings::defaults().expect("defaults");
    s.server.port = 0;
    s.database.url = Secret::new(db_url);
    s.database.max_connections = 5;
    s.demo.seed = false;
    s.dispatch.actors = 2;
    s.server.shutdown_grace_seconds = 5;
    s.metrics.token = Secret::new(METRICS_TOKEN);
    s.platform.token_sha256 = Secret::new(roleta::auth::token_hash(PLATFORM_TOKEN));
    s
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with settings adjusted first (short idle timeouts, say).
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let (db_url, dir) = fresh_database(backend).await;
    let mut settings = settings_for(&db_url);
    adjust(&mut settings);
    let mut app = start_with(settings, backend, dir).await;
    let store = &app.state.store;
    let now = app.state.clock.now_ms();
    let agency = store
        .create_agency("Imobiliária Teste", now)
        .await
        .expect("agency");
    app.agency = agency;
    app.sales = store
        .create_department(agency, "Vendas", true, now)
        .await
        .expect("dept");
    app.rentals = store
        .create_department(agency, "Locação", false, now)
        .await
        .expect("dept");
    app.manager = app.user("gestor", Role::Manager).await.1;
    app.api_key = app.new_api_key(agency, "portal").await;
    app
}

pub async fn start(db_url: &str, backend: Backend, dir: Option<tempfile::TempDir>) -> TestApp {
    start_with(settings_for(db_url), backend, dir).await
}

async fn start_with(
    settings: Settings,
    backend: Backend,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    let db_url = settings.database.url.expose().to_string();
    let app = App::build(settings).await.expect("app builds");
    let port = app.port();
    let state = app.state();
    let stop = app.shutdown_token();
    let task = tokio::spawn(app.run_until_stopped());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        ws_url: format!("ws://127.0.0.1:{port}/ws"),
        state,
        http: reqwest::Client::new(),
        agency: AgencyId(0),
        sales: 0,
        rentals: 0,
        api_key: String::new(),
        manager: String::new(),
        db_url,
        backend,
        stop,
        task,
        _dir: dir,
    }
}

impl TestApp {
    /// Stops this app and starts another on the same database (a restart).
    pub async fn restart(mut self) -> TestApp {
        self.stop.cancel();
        let _ = (&mut self.task).await;
        let dir = self._dir.take();
        let mut next = start(&self.db_url, self.backend, dir).await;
        next.agency = self.agency;
        next.sales = self.sales;
        next.rentals = self.rentals;
        next.api_key = self.api_key.clone();
        next.manager = self.manager.clone();
        next
    }

    /// Like [`TestApp::restart`], the next app's settings adjusted first (as `spawn_app_with`).
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        self.stop.cancel();
        let _ = (&mut self.task).await;
        let dir = self._dir.take();
        let mut settings = settings_for(&self.db_url);
        adjust(&mut settings);
        let mut next = start_with(settings, self.backend, dir).await;
        next.agency = self.agency;
        next.sales = self.sales;
        next.rentals = self.rentals;
        next.api_key = self.api_key.clone();
        next.manager = self.manager.clone();
        next
    }

    /// Takes the SQLite folder so it outlives this app (for a restart by hand).
    pub fn keep_dir(&mut self) -> Option<tempfile::TempDir> {
        self._dir.take()
    }

    /// Stops the app the way SIGTERM does and waits for it to drain.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        let r = (&mut self.task).await.expect("app task");
        assert!(r.is_ok(), "app stopped with an error: {r:?}");
    }

    /// Checks the invariants over the tables, then stops the app.
    pub async fn finish(self) {
        let c = crate::invariants::check(&self.state.store, self.state.clock.now_ms()).await;
        assert!(c.all_zero(), "invariants broken: {c:?}");
        self.stop.cancel();
        let _ = self.task.await;
    }

    pub async fn new_api_key(&self, agency: AgencyId, source: &str) -> String {
        let key = roleta::auth::new_token("rk_");
        let now = self.state.clock.now_ms();
        self.state
            .store
            .create_api_key(
                agency,
                source,
                &key[..10],
                &roleta::auth::token_hash(&key),
                now,
            )
            .await
            .expect("api key");
        key
    }

    /// Creates a user of this agency with a session token: (id, token).
    pub async fn user(&self, name: &str, role: Role) -> (i64, String) {
        self.user_in(self.agency, name, role).await
    }

    pub async fn user_in(&self, agency: AgencyId, name: &str, role: Role) -> (i64, String) {
        let store = &self.state.store;
        let now = self.state.clock.now_ms();
        // As the API stores it: in lower case.
        let email = format!(
            "{name}.{}@teste.roleta",
            roleta::auth::new_token("").get(..8).expect("t")
        )
        .to_lowercase();
        let id = store
            .create_user(agency, &email, name, role, &password_hash(), false, now)
            .await
            .expect("user");
        let token = roleta::auth::new_token("rs_");
        let u = store.user(agency, id).await.expect("user");
        store
            .create_session(
                &u,
                &roleta::auth::token_hash(&token),
                "session",
                None,
                now,
                None,
            )
            .await
            .expect("session");
        (id, token)
    }

    pub async fn broker(&self, name: &str, departments: &[i64]) -> Broker {
        let (id, token) = self.user(name, Role::Broker).await;
        self.state
            .store
            .set_broker_departments(self.agency, BrokerId(id), departments)
            .await
            .expect("departments");
        Broker { id, token }
    }

    pub async fn settings(&self, body: Value) {
        let r = self
            .put("/api/v1/settings/roulette", &self.manager, body)
            .await;
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    }

    pub async fn post_lead(&self, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/leads", self.base))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Posts a lead and returns its id, asserting it was accepted for the first time.
    pub async fn lead(&self, name: &str, phone: &str) -> i64 {
        let r = self
            .post_lead(json!({ "name": name, "phone": phone }))
            .await;
        assert_eq!(r.status(), 202);
        r.json::<Value>().await.expect("json")["lead_id"]
            .as_i64()
            .expect("id")
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http
            .put(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn pending(&self, b: &Broker) -> Vec<Value> {
        let r = self.get("/api/v1/attendances/pending", &b.token).await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }

    pub async fn connect(&self, b: &Broker) -> Ws {
        let mut req = self.ws_url.as_str().into_client_request().expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", b.token).parse().expect("header"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        let mut ws = Ws { stream };
        ws.recv_type("hello").await;
        ws
    }

    /// Connects and switches the broker's toggle on.
    pub async fn online(&self, b: &Broker) -> Ws {
        let mut ws = self.connect(b).await;
        ws.set_online(true).await;
        ws
    }

    /// A SQL scalar straight from the database, for assertions behind the API.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.state.store.pool())
            .await
            .expect("query")
    }

    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.state.store.pool())
            .await
            .expect("exec");
    }
}

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
    }

    /// The next JSON message (control frames skipped); panics after a generous wait.
    pub async fn recv(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a message within the wait")
                .expect("stream open")
                .expect("frame");
            match m {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json"),
                Message::Close(f) => panic!("closed: {f:?}"),
                _ => continue,
            }
        }
    }

    /// The next message of this type, skipping others (each skipped one is printed).
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == ty {
                return v;
            }
            eprintln!("skipped while waiting for {ty}: {v}");
        }
    }

    pub async fn set_online(&mut self, online: bool) {
        self.send(json!({"type": "set_online", "online": online}))
            .await;
        let p = self.recv_type("presence").await;
        assert_eq!(p["online"], online);
    }

    pub async fn offer(&mut self) -> Value {
        self.recv_type("offer").await
    }

    pub async fn accept(&mut self, offer: &Value) -> Value {
        self.send(json!({"type": "accept", "offer_id": offer["offer_id"]}))
            .await;
        self.recv().await
    }

    pub async fn refuse(&mut self, offer: &Value) -> Value {
        self.send(json!({"type": "refuse", "offer_id": offer["offer_id"]}))
            .await;
        self.recv_type("offer_closed").await
    }

    /// Asserts nothing but control frames arrive in `ms` (used only where the point is that
    /// an event must *not* happen, after every event that could cause it has been processed).
    pub async fn silent_for(&mut self, ms: u64) {
        if let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(ms), self.stream.next()).await
        {
            panic!("expected silence, got {t}");
        }
    }

    /// Waits for the server to close the connection and returns the close code.
    pub async fn close_code(&mut self) -> u16 {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("close within the wait")
            {
                Some(Ok(Message::Close(Some(f)))) => return f.code.into(),
                Some(Ok(Message::Close(None))) | None => return 1005,
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("error instead of close: {e}"),
            }
        }
    }
}
