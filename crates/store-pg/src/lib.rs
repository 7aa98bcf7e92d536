//! The store on a PostgreSQL server: [`PgConnection`] runs the store's statements
//! ([`kabinet_store::sql::Sql`]) on a `postgres` client, and [`schema`] keeps the server's
//! tables at the version this build writes. The app and the devices never link this crate;
//! the hub does, for `--database postgres://…`.

pub mod schema;
#[cfg(feature = "test-server")]
pub mod test_server;

use bytes::BytesMut;
use kabinet_store::sql::{
    Database, Dialect, Row, Sql, SqlError, SqlErrorKind, SqlExt, SqlRow, ToSql, ValueRef,
};
use kabinet_store::{DeviceSettings, Store, StoreError};
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql as PgToSql, Type};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// One connection to the server, with the statements it has prepared.
pub struct PgConnection {
    /// How to connect again when the server cut the connection (restarted, failed over).
    config: postgres::Config,
    client: RefCell<postgres::Client>,
    /// Inside a transaction a lost connection is the transaction's end, not to be hidden by
    /// connecting again halfway.
    in_transaction: Cell<bool>,
    /// Prepared statements by the store's text: the same few dozen all day, each parsed and
    /// planned once per connection.
    statements: RefCell<HashMap<String, postgres::Statement>>,
    written: Cell<u64>,
}

impl std::fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgConnection")
    }
}

/// Why a store on a server could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the database URL is not one PostgreSQL reads: {0}")]
    Url(postgres::Error),
    #[error("cannot connect to the PostgreSQL server: {0}")]
    Connect(postgres::Error),
    #[error(
        "the PostgreSQL server {0} is on another machine, and the hub does not speak TLS to its database yet: use a Unix socket (?host=/run/postgresql) or a server on this machine"
    )]
    Remote(String),
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the store on the server at `url` (see [`PgConnection::connect`]), bringing its
/// tables to this build's version; an empty database gets `settings`.
pub fn open(url: &str, settings: &DeviceSettings) -> Result<Store, ConnectError> {
    let conn = PgConnection::connect(url)?;
    schema::migrate(&conn)?;
    let mut store = Store::on_database(Box::new(conn), PathBuf::from(describe(url)));
    store.init_settings(settings)?;
    store.catch_up_projections()?;
    Ok(store)
}

/// `url` as messages may show it: where and which database, never a password.
pub fn describe(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(dir) => dir.display().to_string(),
                })
                .collect();
            format!(
                "postgres database {} on {}",
                c.get_dbname().unwrap_or("(default)"),
                hosts.join(",")
            )
        }
        Err(_) => "postgres database (unreadable URL)".to_string(),
    }
}

impl PgConnection {
    /// Connects to `url`, libpq's syntax (`postgres://user@host/db`, or
    /// `postgres://user@/db?host=/run/postgresql` for a Unix socket). Only without TLS so far:
    /// a Unix socket or a server on this machine.
    pub fn connect(url: &str) -> Result<PgConnection, ConnectError> {
        let config: postgres::Config = url.parse().map_err(ConnectError::Url)?;
        // Health data never crosses a network unencrypted: without TLS to the server (not
        // there yet), only a Unix socket or this machine.
        for host in config.get_hosts() {
            if let postgres::config::Host::Tcp(name) = host
                && !matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1")
            {
                return Err(ConnectError::Remote(name.clone()));
            }
        }
        let client = config
            .connect(postgres::NoTls)
            .map_err(ConnectError::Connect)?;
        Ok(PgConnection {
            config,
            in_transaction: Cell::new(false),
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            written: Cell::new(0),
        })
    }

    /// Between transactions, a connection the server closed is made again (and its prepared
    /// statements with it): a restarted server costs the hub one failed request, not a
    /// restart of its own.
    fn reconnect_if_closed(&self) -> Result<(), SqlError> {
        if self.in_transaction.get() || !self.client.borrow().is_closed() {
            return Ok(());
        }
        let client = self
            .config
            .connect(postgres::NoTls)
            .map_err(|e| SqlError::new(SqlErrorKind::Retry, describe_error(&e)))?;
        tracing::warn!("connected to the PostgreSQL server again");
        *self.client.borrow_mut() = client;
        self.statements.borrow_mut().clear();
        Ok(())
    }

    fn statement(&self, sql: &str) -> Result<postgres::Statement, SqlError> {
        self.reconnect_if_closed()?;
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let prepared = self
            .client
            .borrow_mut()
            .prepare(&numbered(sql))
            .map_err(pg_error_in(sql))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }
}

/// The store's `?N` parameters as PostgreSQL's `$N`. Quoted text and names are left alone.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) => out.push('$'),
            None => out.push(c),
        }
    }
    out
}

/// The server's error, with the statement it answered (a message that names the statement is
/// one an operator can act on).
fn pg_error_in(sql: &str) -> impl Fn(postgres::Error) -> SqlError + '_ {
    move |e| {
        let kind = error_kind(e.code());
        let text: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let shown: String = text.chars().take(300).collect();
        SqlError::new(kind, format!("{}; in: {shown}", describe_error(&e)))
    }
}

/// The server's own message where it sent one.
fn describe_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Which errors a caller may retry or tell apart.
fn error_kind(code: Option<&SqlState>) -> SqlErrorKind {
    match code {
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => SqlErrorKind::Retry,
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED => SqlErrorKind::Retry,
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => SqlErrorKind::Unique,
        _ => SqlErrorKind::Database,
    }
}

/// A parameter, written as the type the server asks for in its place (the store's five kinds
/// of value against PostgreSQL's stricter types: an integer may fill an `int4`, a `bool`…).
#[derive(Debug)]
struct PgParam<'a>(ValueRef<'a>);

impl postgres::types::ToSql for PgParam<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let mismatch = || -> Box<dyn std::error::Error + Sync + Send> {
            format!("a parameter {:?} cannot fill a {ty}", self.0).into()
        };
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Integer(i) => match *ty {
                Type::INT8 => PgToSql::to_sql(&i, ty, out),
                Type::INT4 => PgToSql::to_sql(&i32::try_from(i)?, ty, out),
                Type::INT2 => PgToSql::to_sql(&i16::try_from(i)?, ty, out),
                Type::BOOL => PgToSql::to_sql(&(i != 0), ty, out),
                Type::FLOAT8 => PgToSql::to_sql(&(i as f64), ty, out),
                _ => Err(mismatch()),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT8 => PgToSql::to_sql(&f, ty, out),
                Type::FLOAT4 => PgToSql::to_sql(&(f as f32), ty, out),
                _ => Err(mismatch()),
            },
            ValueRef::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    PgToSql::to_sql(&s, ty, out)
                }
                _ => Err(mismatch()),
            },
            ValueRef::Blob(b) => match *ty {
                Type::BYTEA => PgToSql::to_sql(&b, ty, out),
                _ => Err(mismatch()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A row of an answer, read as the store's five kinds of value.
struct PgRow<'r>(&'r postgres::Row);

impl SqlRow for PgRow<'_> {
    fn value(&self, column: usize) -> Result<ValueRef<'_>, SqlError> {
        let row = self.0;
        let ty = row
            .columns()
            .get(column)
            .ok_or_else(|| SqlError::conversion(column, "a column", "none"))?
            .type_();
        let get_err = |e: postgres::Error| SqlError::new(SqlErrorKind::Conversion, e);
        let int = |v: Option<i64>| v.map_or(ValueRef::Null, ValueRef::Integer);
        Ok(match *ty {
            Type::INT8 => int(row.try_get::<_, Option<i64>>(column).map_err(get_err)?),
            Type::INT4 => int(row
                .try_get::<_, Option<i32>>(column)
                .map_err(get_err)?
                .map(i64::from)),
            Type::INT2 => int(row
                .try_get::<_, Option<i16>>(column)
                .map_err(get_err)?
                .map(i64::from)),
            Type::BOOL => int(row
                .try_get::<_, Option<bool>>(column)
                .map_err(get_err)?
                .map(i64::from)),
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(column)
                .map_err(get_err)?
                .map_or(ValueRef::Null, ValueRef::Real),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
                .try_get::<_, Option<&str>>(column)
                .map_err(get_err)?
                .map_or(ValueRef::Null, ValueRef::Text),
            Type::BYTEA => row
                .try_get::<_, Option<&[u8]>>(column)
                .map_err(get_err)?
                .map_or(ValueRef::Null, ValueRef::Blob),
            // A sum of bigints is a numeric in PostgreSQL: the store's statements cast
            // aggregates they read as numbers (`CAST(SUM(x) AS BIGINT)`).
            ref other => {
                return Err(SqlError::conversion(
                    column,
                    "integer, real, text or bytes",
                    other,
                ));
            }
        })
    }

    fn columns(&self) -> usize {
        self.0.len()
    }
}

fn pg_params<'a>(params: &'a [&'a dyn ToSql]) -> Vec<PgParam<'a>> {
    params.iter().map(|p| PgParam(p.to_sql())).collect()
}

fn pg_args<'a>(params: &'a [PgParam<'a>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl Sql for PgConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn exec(&self, sql: &str, params: &[&dyn ToSql]) -> Result<usize, SqlError> {
        let statement = self.statement(sql)?;
        let params = pg_params(params);
        let n = self
            .client
            .borrow_mut()
            .execute(&statement, &pg_args(&params))
            .map_err(pg_error_in(sql))?;
        self.written.set(self.written.get() + n);
        Ok(n as usize)
    }

    fn each_row(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        each: &mut dyn FnMut(&Row<'_>) -> Result<ControlFlow<()>, SqlError>,
    ) -> Result<(), SqlError> {
        let statement = self.statement(sql)?;
        let params = pg_params(params);
        let args = pg_args(&params);
        // The whole answer first, then the rows one by one: `each` may run statements of its
        // own on this connection, which one connection cannot do while an answer streams in.
        let rows = self
            .client
            .borrow_mut()
            .query(&statement, &args)
            .map_err(pg_error_in(sql))?;
        for row in &rows {
            if each(&Row::new(&PgRow(row)))?.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<(), SqlError> {
        self.reconnect_if_closed()?;
        self.client
            .borrow_mut()
            .batch_execute(sql)
            .map_err(pg_error_in(sql))
    }

    fn rows_written(&self) -> u64 {
        self.written.get()
    }
}

/// Key of the advisory lock every write transaction takes first.
const WRITE_LOCK: i64 = 0x6b61_6269_6e65_7400;

impl Database for PgConnection {
    /// One writer at a time over the whole database, as on SQLite (`BEGIN IMMEDIATE`), for
    /// every process sharing it: the store numbers its changes (`MAX(change_seq) + 1`), its
    /// referral codes and its audit chain by reading what the last writer left, and the relay
    /// log's sequence must be committed in the order it is handed out, or a device that pulled
    /// past a later number would never see an earlier one committed after. Reads never wait.
    fn begin_write(&self) -> Result<(), SqlError> {
        // Read committed whatever the server's default: each statement then sees what the
        // writer before committed, once the lock below is ours (a snapshot taken at the
        // transaction's start, before the wait, would not).
        self.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        self.in_transaction.set(true);
        // Read as a query, not counted as a written row.
        if let Err(e) = self.one("SELECT pg_advisory_xact_lock(?1)", &[&WRITE_LOCK], |_| {
            Ok(())
        }) {
            let _ = self.rollback();
            return Err(e);
        }
        Ok(())
    }

    fn commit(&self) -> Result<(), SqlError> {
        let done = self.batch("COMMIT");
        self.in_transaction.set(false);
        done
    }

    fn rollback(&self) -> Result<(), SqlError> {
        self.in_transaction.set(false);
        if self.client.borrow().is_closed() {
            return Ok(()); // the server ended it with the connection
        }
        self.batch("ROLLBACK")
    }
}

/// A session-level advisory lock, held on a connection of its own for as long as this value
/// lives (the server releases it when the connection ends, however the process ends).
pub struct SessionLock {
    _conn: PgConnection,
}

/// Takes the advisory lock `key` on the server at `url`, shared or exclusive, without
/// waiting: `None` when another session holds it in a way that excludes this one.
pub fn try_session_lock(
    url: &str,
    key: i64,
    shared: bool,
) -> Result<Option<SessionLock>, ConnectError> {
    let conn = PgConnection::connect(url)?;
    let function = match shared {
        true => "pg_try_advisory_lock_shared",
        false => "pg_try_advisory_lock",
    };
    let taken: i64 = conn
        .one(
            &format!("SELECT CASE WHEN {function}(?1) THEN 1 ELSE 0 END"),
            &[&key],
            |r| r.get(0),
        )
        .map_err(StoreError::from)?;
    Ok((taken == 1).then_some(SessionLock { _conn: conn }))
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn parameters_are_numbered_outside_quotes() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND \"d?3\" = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND \"d?3\" = $12"
        );
        // A bare `?` (no number) is not the store's and is left as it is.
        assert_eq!(numbered("SELECT ?"), "SELECT ?");
    }
}
