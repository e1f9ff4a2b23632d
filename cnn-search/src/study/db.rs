//! One blocking connection to a study's database, SQLite or PostgreSQL, through sqlx's `Any`
//! driver, and the schema's migrations.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Connection};

use super::StudyError;

/// The schema, one migration per entry; a database records how many it has applied.
const MIGRATIONS: &[&str] = &["CREATE TABLE studies (
        name TEXT PRIMARY KEY,
        strategy TEXT NOT NULL,
        seed BIGINT NOT NULL,
        space TEXT NOT NULL,
        settings TEXT NOT NULL,
        strategy_state TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE trials (
        study TEXT NOT NULL,
        number BIGINT NOT NULL,
        genome TEXT NOT NULL,
        arch TEXT NOT NULL,
        state TEXT NOT NULL,
        worker TEXT,
        heartbeat DOUBLE PRECISION,
        attempts BIGINT NOT NULL,
        reward DOUBLE PRECISION,
        accuracy DOUBLE PRECISION,
        params BIGINT,
        macs BIGINT,
        epochs BIGINT NOT NULL,
        seconds DOUBLE PRECISION,
        overhead DOUBLE PRECISION NOT NULL,
        message TEXT,
        created DOUBLE PRECISION NOT NULL,
        finished DOUBLE PRECISION,
        PRIMARY KEY (study, number)
    );
    CREATE TABLE epochs (
        study TEXT NOT NULL,
        number BIGINT NOT NULL,
        epoch BIGINT NOT NULL,
        accuracy DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (study, number, epoch)
    );
    CREATE INDEX trials_by_state ON trials (study, state)"];

/// A connection and the runtime its calls block on.
pub(crate) struct Db {
    runtime: tokio::runtime::Runtime,
    conn: AnyConnection,
    postgres: bool,
}

impl Db {
    /// Opens `location`: a `postgres://` URL, or a SQLite file (created if missing).
    pub(crate) fn open(location: &str) -> Result<Self, StudyError> {
        sqlx::any::install_default_drivers();
        let postgres = location.starts_with("postgres://") || location.starts_with("postgresql://");
        let url = if postgres {
            postgres_url(location)
        } else {
            sqlite_url(Path::new(location))?
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StudyError::Database(format!("cannot start the database runtime: {e}")))?;
        let conn = runtime
            .block_on(AnyConnection::connect(&url))
            .map_err(|e| StudyError::Database(format!("cannot open {location}: {e}")))?;
        let mut db = Db {
            runtime,
            conn,
            postgres,
        };
        if !postgres {
            // Workers on one machine wait for each other's short transactions rather than fail.
            db.execute("PRAGMA busy_timeout = 60000", |q| q)?;
            db.execute("PRAGMA journal_mode = WAL", |q| q)?;
        }
        Ok(db)
    }

    /// Runs `f` in a transaction that holds the study's write lock: one worker at a time
    /// claims, proposes and records, so two never take the same trial. Rolled back if `f`
    /// fails.
    pub(crate) fn exclusive<T>(
        &mut self,
        f: impl FnOnce(&mut Db) -> Result<T, StudyError>,
    ) -> Result<T, StudyError> {
        if self.postgres {
            self.execute("BEGIN", |q| q)?;
            let locked = self.execute("SELECT pg_advisory_xact_lock(724631)::text", |q| q);
            if let Err(e) = locked {
                self.execute("ROLLBACK", |q| q).ok();
                return Err(e);
            }
        } else {
            self.execute("BEGIN IMMEDIATE", |q| q)?;
        }
        match f(self) {
            Ok(value) => {
                self.execute("COMMIT", |q| q)?;
                Ok(value)
            }
            Err(e) => {
                self.execute("ROLLBACK", |q| q).ok();
                Err(e)
            }
        }
    }

    /// Applies the migrations this database lacks (inside [`exclusive`](Self::exclusive)).
    pub(crate) fn migrate(&mut self) -> Result<(), StudyError> {
        self.execute(
            "CREATE TABLE IF NOT EXISTS cnn_migrations (version BIGINT PRIMARY KEY)",
            |q| q,
        )?;
        let applied = self
            .fetch_one("SELECT COUNT(*) FROM cnn_migrations", |q| q)?
            .map_or(Ok(0), |row| get::<i64>(&row, 0))? as usize;
        for (version, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
            for statement in migration.split(';').filter(|s| !s.trim().is_empty()) {
                self.execute(statement, |q| q)?;
            }
            self.execute("INSERT INTO cnn_migrations (version) VALUES (?)", |q| {
                q.bind(version as i64 + 1)
            })?;
        }
        Ok(())
    }

    pub(crate) fn execute<'q>(
        &mut self,
        sql: &'q str,
        bind: impl FnOnce(Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<u64, StudyError> {
        let sql = self.dialect(sql);
        let query = bind(sqlx::query(intern(sql)));
        let result = block(&self.runtime, query.execute(&mut self.conn))?;
        Ok(result.rows_affected())
    }

    pub(crate) fn fetch_all<'q>(
        &mut self,
        sql: &'q str,
        bind: impl FnOnce(Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<Vec<AnyRow>, StudyError> {
        let sql = self.dialect(sql);
        let query = bind(sqlx::query(intern(sql)));
        block(&self.runtime, query.fetch_all(&mut self.conn))
    }

    pub(crate) fn fetch_one<'q>(
        &mut self,
        sql: &'q str,
        bind: impl FnOnce(Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<Option<AnyRow>, StudyError> {
        Ok(self.fetch_all(sql, bind)?.into_iter().next())
    }

    /// `?` placeholders as PostgreSQL numbers them (`$1`, `$2`, ...); SQLite takes them as
    /// they are.
    fn dialect(&self, sql: &str) -> String {
        if !self.postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    }
}

fn block<T>(
    runtime: &tokio::runtime::Runtime,
    future: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StudyError> {
    let timed = async { tokio::time::timeout(Duration::from_secs(300), future).await };
    match runtime.block_on(timed) {
        Ok(result) => result.map_err(|e| StudyError::Database(e.to_string())),
        Err(_) => Err(StudyError::Database(
            "no answer from the database in 300 s".into(),
        )),
    }
}

/// sqlx's queries borrow their text for the connection's statement cache; the few distinct
/// statements a study runs are interned once each.
pub(crate) fn intern(sql: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(text) = texts.get(sql.as_str()) {
        return text;
    }
    let text: &'static str = Box::leak(sql.into_boxed_str());
    texts.insert(text);
    text
}

/// Column `index` of `row`, with the database's message if it does not decode.
pub(crate) fn get<'r, T>(row: &'r AnyRow, index: usize) -> Result<T, StudyError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    row.try_get(index)
        .map_err(|e| StudyError::Database(format!("column {index}: {e}")))
}

/// `location` without a statement cache: sqlx's `Any` driver types a NULL float as `real`,
/// and a statement cached with that type then rejects a `double precision` value.
fn postgres_url(location: &str) -> String {
    if location.contains("statement-cache-capacity") {
        return location.to_owned();
    }
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}statement-cache-capacity=0")
}

fn sqlite_url(path: &Path) -> Result<String, StudyError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StudyError::Database(format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let text = path
        .to_str()
        .ok_or_else(|| StudyError::Database(format!("{} is not a UTF-8 path", path.display())))?;
    Ok(format!("sqlite://{text}?mode=rwc"))
}
