//! migrate, agency, user and backup: what each prints, and each refusal leaving nothing behind.

use crate::{both, Backend, Site};

both!(
    migrate_applies_once_and_commands_wait_for_it,
    |site| async move {
        let before = site.run(&["agency", "list"]);
        assert_eq!(before.code, 1, "{}", before.stderr);
        assert!(
            before.stderr.contains("roleta migrate"),
            "{}",
            before.stderr
        );
        let first = site.ok(&["migrate"]);
        assert!(first.stdout.contains("aplicada 0001"), "{}", first.stdout);
        assert!(
            first.stdout.contains("Banco de dados atualizado"),
            "{}",
            first.stdout
        );
        let again = site.ok(&["migrate"]);
        assert!(
            again.stdout.contains("já estava atualizado"),
            "{}",
            again.stdout
        );
        let list = site.ok(&["agency", "list"]);
        assert!(
            list.stdout.contains("Nenhuma imobiliária"),
            "{}",
            list.stdout
        );
    }
);

both!(agency_create_list_suspend, |site| async move {
    site.ok(&["migrate"]);
    let made = site.ok(&[
        "agency",
        "create",
        "--name",
        "Imobiliária Exemplo",
        "--manager-email",
        "Gestora@Exemplo.com.br",
    ]);
    assert!(
        made.stdout
            .contains("Imobiliária criada: Imobiliária Exemplo"),
        "{}",
        made.stdout
    );
    assert!(
        made.stdout.contains("gestora@exemplo.com.br"),
        "{}",
        made.stdout
    );
    assert!(made.one_time_password().len() >= 12);
    // The same manager e-mail again: refused, and no second agency written.
    site.refused(
        &[
            "agency",
            "create",
            "--name",
            "Outra",
            "--manager-email",
            "gestora@exemplo.com.br",
        ],
        "já é usado",
    );
    site.refused(
        &[
            "agency",
            "create",
            "--name",
            " ",
            "--manager-email",
            "a@b.com",
        ],
        "nome",
    );
    site.refused(
        &[
            "agency",
            "create",
            "--name",
            "X",
            "--manager-email",
            "sem-arroba",
        ],
        "e-mail",
    );
    let list = site.ok(&["agency", "list"]);
    assert_eq!(list.stdout.lines().count(), 1, "{}", list.stdout);
    assert!(list.stdout.contains("ativa") && list.stdout.contains("Imobiliária Exemplo"));
    site.refused(
        &["agency", "suspend", "--agency", "Não Existe"],
        "não encontrada",
    );
    site.refused(&["agency", "suspend", "--agency", "999"], "não encontrada");
    site.ok(&["agency", "suspend", "--agency", "Imobiliária Exemplo"]);
    assert!(site.ok(&["agency", "list"]).stdout.contains("suspensa"));
    site.ok(&["agency", "reactivate", "--agency", "Imobiliária Exemplo"]);
    assert!(site.ok(&["agency", "list"]).stdout.contains("ativa"));
});

both!(user_create_reset_deactivate, |site| async move {
    site.ok(&["migrate"]);
    site.ok(&[
        "agency",
        "create",
        "--name",
        "Exemplo",
        "--manager-email",
        "g@exemplo.com.br",
    ]);
    let made = site.ok(&[
        "user",
        "create",
        "--agency",
        "Exemplo",
        "--email",
        "ana@exemplo.com.br",
        "--name",
        "Ana Corretora",
        "--role",
        "corretor",
    ]);
    assert!(
        made.stdout.contains("Ana Corretora <ana@exemplo.com.br>"),
        "{}",
        made.stdout
    );
    made.one_time_password();
    site.refused(
        &[
            "user",
            "create",
            "--agency",
            "Exemplo",
            "--email",
            "ana@exemplo.com.br",
            "--name",
            "Ana",
        ],
        "já é usado",
    );
    site.refused(
        &[
            "user",
            "create",
            "--agency",
            "Nenhuma",
            "--email",
            "b@exemplo.com.br",
            "--name",
            "B",
        ],
        "não encontrada",
    );
    let bad_role = site.run(&[
        "user",
        "create",
        "--agency",
        "Exemplo",
        "--email",
        "c@exemplo.com.br",
        "--name",
        "C",
        "--role",
        "chefe",
    ]);
    assert_eq!(bad_role.code, 2, "{}", bad_role.stderr);
    assert!(bad_role.stderr.contains("papel"), "{}", bad_role.stderr);
    site.refused(
        &[
            "user",
            "reset-password",
            "--agency",
            "Exemplo",
            "--email",
            "ninguem@exemplo.com.br",
        ],
        "nenhum usuário",
    );
    let reset = site.ok(&[
        "user",
        "reset-password",
        "--agency",
        "Exemplo",
        "--email",
        "ana@exemplo.com.br",
    ]);
    assert_ne!(reset.one_time_password(), made.one_time_password());
    site.ok(&[
        "user",
        "deactivate",
        "--agency",
        "Exemplo",
        "--email",
        "ana@exemplo.com.br",
    ]);
    site.ok(&[
        "user",
        "reactivate",
        "--agency",
        "Exemplo",
        "--email",
        "ana@exemplo.com.br",
    ]);
});

#[tokio::test]
async fn backup_copies_a_live_sqlite_database() {
    let site = Site::new(Backend::Sqlite).await;
    site.ok(&["migrate"]);
    site.ok(&[
        "agency",
        "create",
        "--name",
        "Backup Ltda",
        "--manager-email",
        "g@backup.com.br",
    ]);
    let to = site.dir.path().join("copia.db");
    let to_s = to.to_str().unwrap();
    let done = site.ok(&["backup", "--to", to_s]);
    assert!(done.stdout.contains("Backup gravado"), "{}", done.stdout);
    // The copy is a database of its own that the binary can read.
    let copy = Site {
        dir: tempfile::tempdir().unwrap(),
        db: format!("sqlite://{to_s}"),
        backend: Backend::Sqlite,
    };
    assert!(copy.ok(&["agency", "list"]).stdout.contains("Backup Ltda"));
    site.refused(&["backup", "--to", to_s], "já existe");
}

#[tokio::test]
async fn backup_on_postgres_points_to_pg_dump() {
    let site = Site::new(Backend::Postgres).await;
    site.ok(&["migrate"]);
    let to = site.dir.path().join("x.dump");
    site.refused(&["backup", "--to", to.to_str().unwrap()], "pg_dump");
    assert!(!to.exists());
}
