//! The store's one seam to its database: every statement the store (and the hub's tables built
//! on it) runs goes through [`Sql`], so the same statement text serves the embedded SQLite file
//! and a PostgreSQL server (the `kabinet-store-pg` crate implements [`Sql`] there).
//!
//! Why statements rather than a method per query: the rules live in the SQL (what a search
//! matches, what a worklist lists, how a projection row is written), and a method per query
//! per backend would spell each of them twice. The statements keep to what both databases read
//! alike: `?N` parameters (a PostgreSQL backend numbers them `$N`), `INSERT … ON CONFLICT`
//! upserts, `COALESCE`, `CAST(… AS BIGINT)`; the few places the two differ ask
//! [`Sql::dialect`]. Values cross the seam as the five kinds both share ([`ValueRef`]): the
//! schema stores ids as 16-byte blobs and times as RFC 3339 text on both.

use std::ops::ControlFlow;
use uuid::Uuid;

/// Which database a statement runs on, for the few statements spelled differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The function that answers where one text is found in another (1-based, 0 when it is not):
/// `instr(haystack, needle)` in SQLite, `strpos(haystack, needle)` in PostgreSQL.
pub fn position_function(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "instr",
        Dialect::Postgres => "strpos",
    }
}

/// A value as both databases hold it, borrowed from a parameter or a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl ValueRef<'_> {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "null",
            ValueRef::Integer(_) => "integer",
            ValueRef::Real(_) => "real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "blob",
        }
    }
}

/// What went wrong with a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlErrorKind {
    /// The database refused or failed the statement.
    Database,
    /// Another writer got in the way (a lock, a serialization failure, a deadlock): the whole
    /// transaction may be tried again.
    Retry,
    /// A unique key already held.
    Unique,
    /// A column held something the reader did not expect.
    Conversion,
    /// A statement expected to answer a row answered none.
    NoRow,
}

#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct SqlError {
    pub kind: SqlErrorKind,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl SqlError {
    pub fn new(
        kind: SqlErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> SqlError {
        SqlError {
            kind,
            source: source.into(),
        }
    }

    /// Column `column` held something that is not a `wanted`.
    pub fn conversion(column: usize, wanted: &str, found: impl std::fmt::Display) -> SqlError {
        SqlError::new(
            SqlErrorKind::Conversion,
            format!("column {column}: expected {wanted}, found {found}"),
        )
    }

    /// Worth trying the transaction again.
    pub fn is_retryable(&self) -> bool {
        self.kind == SqlErrorKind::Retry
    }
}

impl From<rusqlite::Error> for SqlError {
    fn from(e: rusqlite::Error) -> SqlError {
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    SqlErrorKind::Retry
                }
                rusqlite::ErrorCode::ConstraintViolation
                    if matches!(
                        f.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    ) =>
                {
                    SqlErrorKind::Unique
                }
                _ => SqlErrorKind::Database,
            },
            rusqlite::Error::QueryReturnedNoRows => SqlErrorKind::NoRow,
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => SqlErrorKind::Conversion,
            _ => SqlErrorKind::Database,
        };
        SqlError::new(kind, e)
    }
}

/// A parameter of a statement.
pub trait ToSql {
    fn to_sql(&self) -> ValueRef<'_>;
}

macro_rules! integer_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> ValueRef<'_> {
                ValueRef::Integer(i64::from(*self))
            }
        }
    )*};
}
integer_to_sql!(i64, i32, i16, u8, u16, u32, bool);

impl ToSql for u64 {
    /// Sequence numbers and counts; one past `i64::MAX` is a bug, stored as the largest.
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToSql for usize {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl ToSql for str {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for String {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl<const N: usize> ToSql for [u8; N] {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

/// Ids are stored as their 16 bytes.
impl ToSql for Uuid {
    fn to_sql(&self) -> ValueRef<'_> {
        ValueRef::Blob(self.as_bytes())
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> ValueRef<'_> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> ValueRef<'_> {
        match self {
            Some(v) => v.to_sql(),
            None => ValueRef::Null,
        }
    }
}

/// A row as a backend hands it over: its columns by position.
pub trait SqlRow {
    fn value(&self, column: usize) -> Result<ValueRef<'_>, SqlError>;
    /// How many columns the row has.
    fn columns(&self) -> usize;
}

/// A row of an answer.
pub struct Row<'r> {
    inner: &'r dyn SqlRow,
}

impl<'r> Row<'r> {
    pub fn new(inner: &'r dyn SqlRow) -> Row<'r> {
        Row { inner }
    }

    /// Column `column` (from 0) as a `T`.
    pub fn get<T: FromSql>(&self, column: usize) -> Result<T, SqlError> {
        T::from_sql(self.inner.value(column)?, column)
    }

    /// Column `column` as the backend holds it.
    pub fn value(&self, column: usize) -> Result<ValueRef<'_>, SqlError> {
        self.inner.value(column)
    }

    /// How many columns the row has.
    pub fn len(&self) -> usize {
        self.inner.columns()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A value read from a column.
pub trait FromSql: Sized {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError>;
}

impl FromSql for i64 {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
        match value {
            ValueRef::Integer(i) => Ok(i),
            other => Err(SqlError::conversion(column, "integer", other.kind())),
        }
    }
}

macro_rules! narrow_from_sql {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
                let i = i64::from_sql(value, column)?;
                <$t>::try_from(i).map_err(|_| SqlError::conversion(column, stringify!($t), i))
            }
        }
    )*};
}
narrow_from_sql!(i32, i16, u8, u16, u32, u64, usize);

impl FromSql for bool {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
        Ok(i64::from_sql(value, column)? != 0)
    }
}

impl FromSql for f64 {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
        match value {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(SqlError::conversion(column, "real", other.kind())),
        }
    }
}

impl FromSql for String {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
        match value {
            ValueRef::Text(s) => Ok(s.to_string()),
            other => Err(SqlError::conversion(column, "text", other.kind())),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
        match value {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            other => Err(SqlError::conversion(column, "blob", other.kind())),
        }
    }
}

impl FromSql for Uuid {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
        match value {
            ValueRef::Blob(b) => {
                Uuid::from_slice(b).map_err(|_| SqlError::conversion(column, "id", b.len()))
            }
            other => Err(SqlError::conversion(column, "id", other.kind())),
        }
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(value: ValueRef<'_>, column: usize) -> Result<Self, SqlError> {
        match value {
            ValueRef::Null => Ok(None),
            other => T::from_sql(other, column).map(Some),
        }
    }
}

/// A connection (or the transaction open on it) that runs statements. Statements are
/// prepared once per connection and kept (they are the same few dozen texts all day).
pub trait Sql {
    fn dialect(&self) -> Dialect;

    /// Runs a statement that answers no rows; returns how many rows it changed.
    fn exec(&self, sql: &str, params: &[&dyn ToSql]) -> Result<usize, SqlError>;

    /// Runs a query and hands each row to `each`, in order, until it answers `Break` (the
    /// rest of the answer is not read) or fails.
    fn each_row(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        each: &mut dyn FnMut(&Row<'_>) -> Result<ControlFlow<()>, SqlError>,
    ) -> Result<(), SqlError>;

    /// Runs statements without parameters, one after another (schema changes).
    fn batch(&self, sql: &str) -> Result<(), SqlError>;

    /// Rows written (inserted, updated, deleted) on this connection since it opened.
    fn rows_written(&self) -> u64;
}

/// `Sql` for a type that runs its statements on another `Sql` (`$inner` from `&self`).
macro_rules! delegate_sql {
    ($ty:ty, |$this:ident| $inner:expr) => {
        impl Sql for $ty {
            fn dialect(&self) -> Dialect {
                let $this = self;
                $inner.dialect()
            }

            fn exec(&self, sql: &str, params: &[&dyn ToSql]) -> Result<usize, SqlError> {
                let $this = self;
                $inner.exec(sql, params)
            }

            fn each_row(
                &self,
                sql: &str,
                params: &[&dyn ToSql],
                each: &mut dyn FnMut(&Row<'_>) -> Result<ControlFlow<()>, SqlError>,
            ) -> Result<(), SqlError> {
                let $this = self;
                $inner.each_row(sql, params, each)
            }

            fn batch(&self, sql: &str) -> Result<(), SqlError> {
                let $this = self;
                $inner.batch(sql)
            }

            fn rows_written(&self) -> u64 {
                let $this = self;
                $inner.rows_written()
            }
        }
    };
}

/// A database the store lives in: statements, and the transactions its writes run in. One
/// connection; a store holds one (the hub keeps several stores for several connections).
pub trait Database: Sql + Send {
    /// Starts a transaction that will write (SQLite takes the write lock now, so the
    /// transaction never fails halfway for want of it).
    fn begin_write(&self) -> Result<(), SqlError>;
    fn commit(&self) -> Result<(), SqlError>;
    fn rollback(&self) -> Result<(), SqlError>;
    /// The SQLite connection underneath, for what only the embedded file has (its pragmas,
    /// rekeying, the replication tables' checkpoints); `None` on a server.
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        None
    }
}

impl Database for rusqlite::Connection {
    fn begin_write(&self) -> Result<(), SqlError> {
        Ok(self.execute_batch("BEGIN IMMEDIATE")?)
    }

    fn commit(&self) -> Result<(), SqlError> {
        Ok(self.execute_batch("COMMIT")?)
    }

    fn rollback(&self) -> Result<(), SqlError> {
        Ok(self.execute_batch("ROLLBACK")?)
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }
}

// A store's database, boxed, runs statements as itself.
delegate_sql!(Box<dyn Database>, |b| &**b);

/// An open write transaction: committed by [`Tx::commit`], rolled back if dropped before
/// (an error or a panic halfway leaves nothing written).
pub struct Tx<'a> {
    db: &'a dyn Database,
    open: bool,
}

impl<'a> Tx<'a> {
    pub fn begin(db: &'a dyn Database) -> Result<Tx<'a>, SqlError> {
        db.begin_write()?;
        Ok(Tx { db, open: true })
    }

    /// Commits; if the commit fails, the transaction is rolled back as it is dropped (a
    /// database may keep it open after a failed commit, holding the write lock).
    pub fn commit(mut self) -> Result<(), SqlError> {
        self.db.commit()?;
        self.open = false;
        Ok(())
    }

    /// The database this transaction is open on.
    pub fn database(&self) -> &'a dyn Database {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.db.rollback()
        {
            tracing::warn!(error = %e, "rolling back an unfinished write failed");
        }
    }
}

delegate_sql!(Tx<'_>, |t| t.db);

/// The typed helpers every [`Sql`] has.
pub trait SqlExt: Sql {
    /// The first row of a query, read by `read`, or `None` when it answers none.
    fn row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        mut read: impl FnMut(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<Option<T>, SqlError> {
        let mut out = None;
        self.each_row(sql, params, &mut |r| {
            out = Some(read(r)?);
            Ok(ControlFlow::Break(()))
        })?;
        Ok(out)
    }

    /// The first row of a query that always answers one (an aggregate).
    fn one<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        read: impl FnMut(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        self.row(sql, params, read)?
            .ok_or_else(|| SqlError::new(SqlErrorKind::NoRow, format!("no row answered by: {sql}")))
    }

    /// Every row of a query, read by `read`, in order.
    fn rows<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        mut read: impl FnMut(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<Vec<T>, SqlError> {
        let mut out = Vec::new();
        self.each_row(sql, params, &mut |r| {
            out.push(read(r)?);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }
}

impl<S: Sql + ?Sized> SqlExt for S {}

struct SqliteParam<'a>(ValueRef<'a>);

impl rusqlite::ToSql for SqliteParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as V};
        Ok(ToSqlOutput::Borrowed(match self.0 {
            ValueRef::Null => V::Null,
            ValueRef::Integer(i) => V::Integer(i),
            ValueRef::Real(f) => V::Real(f),
            ValueRef::Text(s) => V::Text(s.as_bytes()),
            ValueRef::Blob(b) => V::Blob(b),
        }))
    }
}

/// The parameters as rusqlite binds them, without a list of their own (a save binds a few
/// dozen statements' parameters, an import hundreds of thousands).
fn sqlite_params<'a>(
    params: &'a [&'a dyn ToSql],
) -> rusqlite::ParamsFromIter<impl Iterator<Item = SqliteParam<'a>>> {
    rusqlite::params_from_iter(params.iter().map(|p| SqliteParam(p.to_sql())))
}

impl SqlRow for rusqlite::Row<'_> {
    fn value(&self, column: usize) -> Result<ValueRef<'_>, SqlError> {
        use rusqlite::types::ValueRef as V;
        Ok(match self.get_ref(column)? {
            V::Null => ValueRef::Null,
            V::Integer(i) => ValueRef::Integer(i),
            V::Real(f) => ValueRef::Real(f),
            V::Text(t) => ValueRef::Text(
                std::str::from_utf8(t)
                    .map_err(|_| SqlError::conversion(column, "text", "bytes not UTF-8"))?,
            ),
            V::Blob(b) => ValueRef::Blob(b),
        })
    }

    fn columns(&self) -> usize {
        self.as_ref().column_count()
    }
}

impl Sql for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&self, sql: &str, params: &[&dyn ToSql]) -> Result<usize, SqlError> {
        Ok(self.prepare_cached(sql)?.execute(sqlite_params(params))?)
    }

    fn each_row(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        each: &mut dyn FnMut(&Row<'_>) -> Result<ControlFlow<()>, SqlError>,
    ) -> Result<(), SqlError> {
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt.query(sqlite_params(params))?;
        while let Some(row) = rows.next()? {
            if each(&Row::new(row))?.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<(), SqlError> {
        Ok(self.execute_batch(sql)?)
    }

    fn rows_written(&self) -> u64 {
        self.total_changes()
    }
}

// A transaction is its connection, for statements.
delegate_sql!(rusqlite::Transaction<'_>, |t| &**t);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cross_the_seam_as_they_went_in() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let db: &dyn Sql = &conn;
        db.batch("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n INTEGER)")
            .unwrap();
        let id = Uuid::from_u128(42);
        let written = db
            .exec(
                "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)",
                &[&-7i64, &1.5f64, &"Пенка", &id, &None::<i64>],
            )
            .unwrap();
        assert_eq!(written, 1);
        let row = db
            .row("SELECT i, r, s, b, n FROM t", &[], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<f64>(1)?,
                    r.get::<String>(2)?,
                    r.get::<Uuid>(3)?,
                    r.get::<Option<i64>>(4)?,
                ))
            })
            .unwrap();
        assert_eq!(row, Some((-7, 1.5, "Пенка".to_string(), id, None)));
        // A column of another kind is an error naming it, not a default.
        let wrong = db
            .one("SELECT s FROM t", &[], |r| r.get::<i64>(0))
            .unwrap_err();
        assert_eq!(wrong.kind, SqlErrorKind::Conversion);
        assert!(wrong.to_string().contains("column 0"), "{wrong}");
        // Out of range for the reader's type is an error too.
        let negative = db
            .one("SELECT i FROM t", &[], |r| r.get::<u32>(0))
            .unwrap_err();
        assert_eq!(negative.kind, SqlErrorKind::Conversion);
        assert_eq!(
            db.row("SELECT i FROM t WHERE i > 0", &[], |r| r.get::<i64>(0))
                .unwrap(),
            None
        );
        assert_eq!(
            db.one("SELECT i FROM t WHERE i > 0", &[], |r| r.get::<i64>(0))
                .unwrap_err()
                .kind,
            SqlErrorKind::NoRow
        );
    }

    #[test]
    fn a_second_row_with_the_same_key_is_a_unique_error() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.batch("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
        conn.exec("INSERT INTO t VALUES (?1)", &[&"a"]).unwrap();
        let again = conn.exec("INSERT INTO t VALUES (?1)", &[&"a"]).unwrap_err();
        assert_eq!(again.kind, SqlErrorKind::Unique);
        assert_eq!(
            conn.rows("SELECT k FROM t", &[], |r| r.get::<String>(0))
                .unwrap(),
            vec!["a".to_string()]
        );
    }
}
