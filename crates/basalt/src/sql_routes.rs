//! The SQL node's own status routes, TiDB's debugging API: `/schema`,
//! `/schema/{db}`, `/schema/{db}/{table}`, `/regions/{id}` and
//! `/mvcc/key/{db}/{table}/{handle}`, answered by [`sql::status_api`]. The
//! status server starts before the SQL engine has loaded the catalog; until
//! then these routes answer 503.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use sql::SqlEngine;
use sql::status_api::ApiError;
use std::sync::{Arc, OnceLock};

/// Where the SQL engine is put once it is open.
pub type EngineSlot = Arc<OnceLock<Arc<SqlEngine>>>;

/// The routes, answering from the engine `slot` will hold.
pub fn routes(slot: EngineSlot) -> Router {
    Router::new()
        .route("/schema", get(schema))
        .route("/schema/{db}", get(schema_db))
        .route("/schema/{db}/{table}", get(schema_table))
        .route("/regions/{id}", get(region))
        .route("/mvcc/key/{db}/{table}/{handle}", get(mvcc))
        .with_state(slot)
}

/// Why a route has no answer: the status code and the message.
type Failure = (StatusCode, String);

fn engine(slot: &EngineSlot) -> Result<&Arc<SqlEngine>, Failure> {
    slot.get().ok_or_else(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the SQL engine is still loading the catalog".to_string(),
        )
    })
}

fn api(e: ApiError) -> Failure {
    let code = match e {
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (code, e.to_string())
}

/// A path number, or 400.
fn number<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, Failure> {
    text.parse().map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            format!("{what} must be an integer, not {text:?}"),
        )
    })
}

fn reply(result: Result<serde_json::Value, Failure>) -> Response {
    match result {
        Ok(value) => status::json(&value),
        Err((code, message)) => status::error(code, message),
    }
}

async fn schema(State(slot): State<EngineSlot>) -> Response {
    reply(engine(&slot).and_then(|e| e.schema_json(None, None).map_err(api)))
}

async fn schema_db(State(slot): State<EngineSlot>, Path(db): Path<String>) -> Response {
    reply(engine(&slot).and_then(|e| e.schema_json(Some(&db), None).map_err(api)))
}

async fn schema_table(
    State(slot): State<EngineSlot>,
    Path((db, table)): Path<(String, String)>,
) -> Response {
    reply(engine(&slot).and_then(|e| e.schema_json(Some(&db), Some(&table)).map_err(api)))
}

async fn region(State(slot): State<EngineSlot>, Path(id): Path<String>) -> Response {
    let answer = async {
        let id = number("a region id", &id)?;
        engine(&slot)?.region_json(id).await.map_err(api)
    };
    reply(answer.await)
}

async fn mvcc(
    State(slot): State<EngineSlot>,
    Path((db, table, handle)): Path<(String, String, String)>,
) -> Response {
    let answer = async {
        let handle = number("a handle", &handle)?;
        engine(&slot)?
            .mvcc_json(&db, &table, handle)
            .await
            .map_err(api)
    };
    reply(answer.await)
}
