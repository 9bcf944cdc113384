//! The install story from the command line: migrate, create the agency, serve (the start-up line
//! says where), the manager signs in with the one-time password, and a backup is taken while the
//! server runs.

use crate::{both, Site};
use serde_json::{json, Value};
use std::io::BufRead;
use std::process::{Child, Stdio};

/// A running `roleta serve`, stopped when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub ready_line: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `serve --no-demo --port 0` and waits for the line that says where it listens.
    pub fn start(site: &Site, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--no-demo", "--port", "0"];
        args.extend_from_slice(extra);
        let mut child = site
            .command(&args)
            .env("ROLETA__LOG__FILTER", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("Roleta is ready at ") {
                    let _ = tx.send(line);
                }
            }
        });
        let ready_line = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the server printed no ready line");
        let base = ready_line
            .split("Roleta is ready at ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        Server {
            child,
            base,
            ready_line,
        }
    }
}

both!(install_story_from_the_command_line, |site| async move {
    site.ok(&["migrate"]);
    let made = site.ok(&[
        "agency",
        "create",
        "--name",
        "Imobiliária Exemplo",
        "--manager-email",
        "gestora@exemplo.com.br",
    ]);
    let password = made.one_time_password();
    let server = Server::start(site, &[]);
    let db = match site.backend {
        crate::Backend::Sqlite => "SQLite",
        crate::Backend::Postgres => "PostgreSQL",
    };
    assert!(server.ready_line.contains(db), "{}", server.ready_line);
    assert!(
        server.ready_line.contains("single node"),
        "{}",
        server.ready_line
    );
    let http = reqwest::Client::new();
    // The pages come from inside the copied binary.
    let page = http.get(format!("{}/", server.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(page.text().await.unwrap().contains("/js/login.js?v="));
    let login = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "gestora@exemplo.com.br", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["user"]["must_change_password"], true, "{body}");
    assert_eq!(body["user"]["role"], "manager", "{body}");
    if site.backend == crate::Backend::Sqlite {
        let to = site.dir.path().join("enquanto-serve.db");
        site.ok(&["backup", "--to", to.to_str().unwrap()]);
        assert!(std::fs::metadata(&to).unwrap().len() > 0);
    }
});
