//! The SQL layer behind the protocol: each connection gets a
//! [`sql::Session`] of one shared [`sql::SqlEngine`].

use crate::backend::{Backend, BackendFactory, ConnectInfo};
use codec::Datum;
use sql::{ColumnInfo, Outlet, Output, Prepared, Session, SqlEngine, SqlError};
use std::future::Future;
use std::sync::Arc;

/// Opens SQL sessions for new connections.
pub struct SqlBackendFactory {
    engine: Arc<SqlEngine>,
}

impl SqlBackendFactory {
    /// Serve connections from `engine`.
    pub fn new(engine: Arc<SqlEngine>) -> Self {
        Self { engine }
    }
}

impl BackendFactory for SqlBackendFactory {
    type Session = Session;

    async fn open(&self, info: &ConnectInfo<'_>) -> Result<Session, SqlError> {
        let mut session = self
            .engine
            .session(info.connection_id, info.user, info.host);
        session.client_collation(info.collation);
        if let Some(db) = info.database {
            session.use_database(db).await?;
        }
        Ok(session)
    }

    fn connection<W>(work: W) -> impl Future<Output = W::Output> + Send + 'static
    where
        W: Future + Send + 'static,
        W::Output: Send,
    {
        sql::session::connection(work)
    }

    fn statistics(&self) -> String {
        self.engine.statistics()
    }
}

impl Backend for Session {
    async fn query(
        &mut self,
        sql: &str,
        multi_statements: bool,
        out: &Outlet,
    ) -> Vec<Result<Output, SqlError>> {
        Session::query(self, sql, multi_statements, Some(out)).await
    }

    async fn use_database(&mut self, db: &str) -> Result<(), SqlError> {
        Session::use_database(self, db).await
    }

    async fn prepare(&mut self, sql: &str) -> Result<Prepared, SqlError> {
        Session::prepare(self, sql).await
    }

    async fn execute(
        &mut self,
        id: u32,
        params: Vec<Datum>,
        out: &Outlet,
    ) -> Result<Output, SqlError> {
        Session::execute(self, id, params, Some(out)).await
    }

    fn close_statement(&mut self, id: u32) {
        Session::close_statement(self, id)
    }

    async fn reset(&mut self) {
        Session::reset(self).await
    }

    async fn field_list(&mut self, table: &str) -> Result<Vec<ColumnInfo>, SqlError> {
        Session::field_list(self, table).await
    }

    fn status_flags(&self) -> u16 {
        Session::status_flags(self)
    }

    fn warning_count(&self) -> u16 {
        Session::warning_count(self)
    }

    async fn local_infile(&mut self, data: Option<Vec<u8>>) -> Result<Output, SqlError> {
        Session::local_infile(self, data).await
    }

    async fn killed(&self) {
        Session::killed(self).await
    }
}
