//! pgmq's SQL-only install as bootstrap does it, on databases of their own (not the shared
//! template): a fresh install, the upgrade of an older install through pgmq's own upgrade
//! scripts (while several processes start at once), a database newer than this build, and an
//! install whose version nobody recorded.

mod support;

use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};
use support::{admin_url, url_for};
use tasker_orchestration::db::{self, PgmqInstall, EMBEDDED_PGMQ_VERSION};
use tasker_orchestration::messaging::queues::{self, QueueName};

/// An empty database (no pgmq, no schema), dropped by `drop_db`.
struct EmptyDb {
    name: String,
    pool: PgPool,
}

impl EmptyDb {
    async fn new(tag: &str) -> Self {
        let name = format!("tasker_pgmq_{tag}_{}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let pool = db::connect(&url_for(&name), 8, support::CONNECT_TIMEOUT).await.unwrap();
        Self { name, pool }
    }

    async fn drop_db(self) {
        self.pool.close().await;
        let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin).await;
    }

    /// pgmq's record of the scripts it ran, in the order they ran.
    async fn recorded(&self) -> Vec<(String, String)> {
        sqlx::query_as("SELECT name, version FROM pgmq.__pgmq_migrations ORDER BY run_at, name").fetch_all(&self.pool).await.unwrap()
    }

    async fn truth(&self, sql: &str) -> bool {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

fn sql_install(version: &str) -> Option<PgmqInstall> {
    Some(PgmqInstall { version: version.into(), as_extension: false })
}

fn record(name: &str, version: &str) -> (String, String) {
    (name.into(), version.into())
}

/// Every pgmq function our SQL (Rust, Ruby, migrations) calls, by the signature the call
/// resolves to.
const FUNCTIONS_WE_CALL: &[&str] = &[
    "pgmq.create(text)",
    "pgmq.send(text,jsonb,jsonb,timestamptz)",
    "pgmq.send(text,jsonb,integer)",
    "pgmq.send_batch(text,jsonb[],integer)",
    "pgmq.read(text,integer,integer,jsonb)",
    "pgmq.read_with_poll(text,integer,integer,integer,integer,jsonb)",
    "pgmq.delete(text,bigint)",
    "pgmq.delete(text,bigint[])",
    "pgmq.archive(text,bigint)",
    "pgmq.purge_queue(text)",
    "pgmq.drop_queue(text)",
    "pgmq.metrics(text)",
    "pgmq.set_vt(text,bigint,integer)",
    "pgmq.format_table_name(text,text)",
];

/// The columns of pgmq's tables and record types that our SQL names.
const COLUMNS_WE_NAME: &[(&str, &[&str])] = &[
    ("pgmq.q_task_requests", &["msg_id", "read_ct", "enqueued_at", "last_read_at", "vt", "message", "headers"]),
    ("pgmq.a_task_requests", &["msg_id", "read_ct", "enqueued_at", "archived_at", "vt", "message"]),
    ("pgmq.meta", &["queue_name"]),
    ("pgmq.message_record", &["msg_id", "read_ct", "enqueued_at", "vt", "message"]),
    (
        "pgmq.metrics_result",
        &[
            "queue_name",
            "queue_length",
            "newest_msg_age_sec",
            "oldest_msg_age_sec",
            "total_messages",
            "scrape_time",
            "queue_visible_length",
        ],
    ),
];

async fn assert_our_pgmq_surface(db: &EmptyDb) {
    for signature in FUNCTIONS_WE_CALL {
        let exists = db.truth(&format!("SELECT to_regprocedure('{signature}') IS NOT NULL")).await;
        assert!(exists, "pgmq function {signature} is missing");
    }
    for (relation, columns) in COLUMNS_WE_NAME {
        for column in *columns {
            let exists = db
                .truth(&format!(
                    "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{relation}'::regclass
                     AND attname = '{column}' AND attnum > 0 AND NOT attisdropped)"
                ))
                .await;
            assert!(exists, "{relation}.{column} is missing");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_database_gets_the_embedded_pgmq_recorded_and_a_second_start_changes_nothing() {
    let db = EmptyDb::new("fresh").await;
    assert_eq!(db::installed_pgmq(&db.pool).await.unwrap(), None);
    assert!(!db.truth("SELECT to_regnamespace('pgmq') IS NOT NULL").await, "installed_pgmq only reads");

    let (a, b, c) = tokio::join!(db::bootstrap(&db.pool), db::bootstrap(&db.pool), db::bootstrap(&db.pool));
    a.unwrap();
    b.unwrap();
    c.unwrap();
    // If this fails after a pgmq crate bump, EMBEDDED_PGMQ_VERSION and ARCHITECTURE.md are stale.
    assert_eq!(db::installed_pgmq(&db.pool).await.unwrap(), sql_install(EMBEDDED_PGMQ_VERSION));
    let recorded = db.recorded().await;
    assert_eq!(recorded, vec![record("pgmq.sql", EMBEDDED_PGMQ_VERSION)], "installed once, by pgmq.sql");
    assert_our_pgmq_surface(&db).await;

    db::bootstrap(&db.pool).await.unwrap();
    assert_eq!(db.recorded().await, recorded);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_install_is_upgraded_by_pgmqs_own_scripts_once_keeping_queues_and_messages() {
    let db = EmptyDb::new("upgrade").await;
    db::bootstrap(&db.pool).await.unwrap();
    let requests = QueueName::new(queues::TASK_REQUESTS).unwrap();
    let kept = queues::send(&db.pool, &requests, &json!({"kind": "kept across the upgrade"}), 0.0).await.unwrap();

    // Turn the database into what pgmq 1.11.0's install leaves: its record says 1.11.0, and
    // the objects that pgmq--1.11.0--1.11.1.sql replaces or drops are in their old form.
    sqlx::raw_sql(
        "UPDATE pgmq.__pgmq_migrations SET version = '1.11.0' WHERE name = 'pgmq.sql';
         CREATE FUNCTION pgmq.enable_notify_insert(queue_name text) RETURNS void LANGUAGE sql AS 'SELECT';
         CREATE OR REPLACE FUNCTION pgmq.read_grouped_head(queue_name text, vt integer, qty integer)
           RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$ BEGIN RAISE 'pgmq 1.11.0'; END $$;
         CREATE OR REPLACE FUNCTION pgmq._ensure_pg_partman_installed()
           RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE 'pgmq 1.11.0'; END $$;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(db::installed_pgmq(&db.pool).await.unwrap(), sql_install("1.11.0"));

    // Several orchestrators of the newer build start at once.
    let (a, b, c) = tokio::join!(db::bootstrap(&db.pool), db::bootstrap(&db.pool), db::bootstrap(&db.pool));
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_eq!(db::installed_pgmq(&db.pool).await.unwrap(), sql_install(EMBEDDED_PGMQ_VERSION));
    assert_eq!(
        db.recorded().await,
        vec![record("pgmq.sql", "1.11.0"), record("pgmq--1.11.0--1.11.1.sql", "1.11.1")],
        "the upgrade script ran once; the fresh-install script did not run again"
    );
    assert!(!db.truth("SELECT to_regprocedure('pgmq.enable_notify_insert(text)') IS NOT NULL").await);
    assert!(
        !db.truth(
            "SELECT bool_or(prosrc LIKE '%pgmq 1.11.0%') FROM pg_proc
             WHERE oid IN ('pgmq.read_grouped_head(text,integer,integer)'::regprocedure,
                           'pgmq._ensure_pg_partman_installed()'::regprocedure)"
        )
        .await,
        "the upgrade replaced the old functions"
    );
    assert_our_pgmq_surface(&db).await;

    let messages = queues::read(&db.pool, &requests, 30, 10, 1024 * 1024).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].msg_id, kept);
    assert_eq!(messages[0].message, Some(json!({"kind": "kept across the upgrade"})));
    assert!(queues::delete(&db.pool, &requests, kept).await.unwrap());
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_with_a_newer_pgmq_than_this_build_is_left_as_it_is() {
    // What an older build finds after a newer one upgraded the database (rolling deploy,
    // rollback): the crate has no scripts from there on, so nothing runs.
    let db = EmptyDb::new("newer").await;
    db::bootstrap(&db.pool).await.unwrap();
    sqlx::query(
        "INSERT INTO pgmq.__pgmq_migrations (name, version)
         VALUES ('pgmq--1.11.1--1.12.0.sql', '1.12.0'), ('pgmq--1.12.0--1.13.0.sql', '1.13.0')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let recorded = db.recorded().await;
    db::bootstrap(&db.pool).await.unwrap();
    assert_eq!(db.recorded().await, recorded);
    assert_eq!(db::installed_pgmq(&db.pool).await.unwrap(), sql_install("1.13.0"), "versions compare as numbers");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_without_a_recorded_version_is_refused_untouched_until_its_version_is_recorded() {
    let db = EmptyDb::new("unrecorded").await;
    db::bootstrap(&db.pool).await.unwrap();
    sqlx::query("DROP TABLE pgmq.__pgmq_migrations").execute(&db.pool).await.unwrap();
    assert_eq!(db::installed_pgmq(&db.pool).await.unwrap(), None);

    let error = db::bootstrap(&db.pool).await.unwrap_err().to_string();
    assert!(error.contains("pgmq.__pgmq_migrations") && error.contains("INSERT INTO"), "{error}");
    assert!(!db.truth("SELECT to_regclass('pgmq.__pgmq_migrations') IS NOT NULL").await, "nothing was changed");
    assert!(db.truth("SELECT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = 'task_requests')").await);

    // The way out the error names.
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS pgmq.__pgmq_migrations (name text PRIMARY KEY, version text NOT NULL,
           run_at timestamptz NOT NULL DEFAULT clock_timestamp());
         INSERT INTO pgmq.__pgmq_migrations (name, version) VALUES ('pgmq.sql', '1.11.1');",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    db::bootstrap(&db.pool).await.unwrap();
    assert_eq!(db.recorded().await, vec![record("pgmq.sql", "1.11.1")]);
    db.drop_db().await;
}
