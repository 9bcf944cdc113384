//! check-config: the effective settings with secrets hidden, and invalid ones refused by name —
//! by check-config and by serve alike, before anything listens or is written.

use crate::{Backend, Site};

#[tokio::test]
async fn check_config_prints_settings_without_secrets() {
    let site = Site::new(Backend::Sqlite).await;
    let run = site.run(&["check-config"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("[server]") && run.stdout.contains("[database]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("configuração válida"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("demo1234"),
        "a secret was printed:\n{}",
        run.stdout
    );
    let pg = Site {
        dir: tempfile::tempdir().unwrap(),
        db: "postgres://roleta:s3nh4-f0rte@127.0.0.1:5432/roleta".into(),
        backend: Backend::Postgres,
    };
    let run = pg.run(&["check-config"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("s3nh4-f0rte"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("postgres://roleta:[redacted]@127.0.0.1:5432/roleta"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn invalid_settings_are_refused_by_name() {
    let site = Site::new(Backend::Sqlite).await;
    let only_cert = site
        .command(&["check-config"])
        .env("ROLETA__SERVER__TLS_CERT", "/etc/roleta/cert.pem")
        .output()
        .unwrap();
    let run = crate::Run::from(only_cert);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("server.tls_key"), "{}", run.stderr);
    let bad_port = crate::Run::from(
        site.command(&["check-config"])
            .env("ROLETA__SERVER__PORT", "oitenta")
            .output()
            .unwrap(),
    );
    assert_eq!(bad_port.code, 2);
    assert!(
        bad_port.stderr.contains("configuração inválida"),
        "{}",
        bad_port.stderr
    );
    let file = site.dir.path().join("roleta.toml");
    std::fs::write(&file, "[platform]\ntoken_sha256 = \"curto\"\n").unwrap();
    site.refused(
        &["check-config", "--config", file.to_str().unwrap()],
        "platform.token_sha256",
    );
    let missing = site.dir.path().join("nao-existe.toml");
    site.refused(
        &["check-config", "--config", missing.to_str().unwrap()],
        "configuração inválida",
    );
    // serve refuses the same settings before it listens or touches the database.
    let serve = crate::Run::from(
        site.command(&["serve", "--no-demo", "--port", "0"])
            .env("ROLETA__SERVER__TLS_KEY", "/etc/roleta/key.pem")
            .output()
            .unwrap(),
    );
    assert_eq!(serve.code, 2, "{}", serve.stderr);
    assert!(serve.stderr.contains("server.tls_cert"), "{}", serve.stderr);
    assert!(
        !site.dir.path().join("roleta.db").exists(),
        "serve wrote the database anyway"
    );
}
