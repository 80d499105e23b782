//! CPU profiles of the running process, as Go's `net/http/pprof` serves
//! them, so that `go tool pprof`, speedscope or a browser read them as is.
//!
//! A profile samples every thread's stack 99 times a second (pprof-rs,
//! driven by `SIGPROF`) for the seconds asked, then stops: nothing is
//! sampled between requests. One profile runs at a time; a second request
//! meanwhile is refused with 409 rather than queued behind it.

use crate::error;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::io::Write;
use std::time::Duration;

/// Samples per second: off the beat of 100 Hz timers, as TiKV samples.
const FREQUENCY: i32 = 99;

/// The longest profile a request may ask for.
const MAX_SECONDS: u64 = 300;

/// Libraries whose frames the sampler must not unwind from inside: the
/// signal may land in the middle of their own bookkeeping.
const BLOCKLIST: [&str; 4] = ["libc", "libgcc", "pthread", "vdso"];

/// What an idle process draws: the sampler's clock counts CPU time, so a
/// process that used none has no samples.
const NO_SAMPLES: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="40"><text x="10" y="25">No samples: the process used no CPU while it was profiled.</text></svg>"#;

/// `?seconds=N` (default 10).
#[derive(Deserialize)]
pub struct Seconds {
    seconds: Option<u64>,
}

impl Seconds {
    fn duration(&self) -> Result<Duration, Response> {
        match self.seconds.unwrap_or(10) {
            s @ 1..=MAX_SECONDS => Ok(Duration::from_secs(s)),
            s => Err(error(
                StatusCode::BAD_REQUEST,
                format!("seconds must be between 1 and {MAX_SECONDS}, not {s}"),
            )),
        }
    }
}

/// Why a profile could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Another request is profiling.
    #[error("a profile is already running")]
    Busy,
    /// The sampler failed.
    #[error("profiling failed: {0}")]
    Sampler(#[from] pprof::Error),
    /// The profile could not be encoded.
    #[error("encoding the profile failed: {0}")]
    Encode(String),
}

impl IntoResponse for ProfileError {
    fn into_response(self) -> Response {
        let code = match self {
            ProfileError::Busy => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error(code, self.to_string())
    }
}

/// Sample the process for `duration`, on a thread of its own (the sampler's
/// guard must stay on one thread, and sleeping there keeps the runtime's
/// workers free), and build the report.
async fn sample(duration: Duration) -> Result<pprof::Report, ProfileError> {
    tokio::task::spawn_blocking(move || {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY)
            .blocklist(&BLOCKLIST)
            .build()
            .map_err(|e| match e {
                pprof::Error::Running => ProfileError::Busy,
                e => ProfileError::Sampler(e),
            })?;
        std::thread::sleep(duration);
        Ok(guard.report().build()?)
    })
    .await
    .map_err(|e| ProfileError::Encode(e.to_string()))?
}

/// `/debug/pprof/profile`: a gzipped `perftools.profiles.Profile`.
pub async fn pprof(Query(q): Query<Seconds>) -> Response {
    let duration = match q.duration() {
        Ok(d) => d,
        Err(response) => return response,
    };
    let encoded = sample(duration).await.and_then(|report| {
        use pprof::protos::Message;
        let profile = report.pprof()?;
        let bytes = profile
            .write_to_bytes()
            .map_err(|e| ProfileError::Encode(e.to_string()))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bytes)
            .and_then(|()| gz.finish())
            .map_err(|e| ProfileError::Encode(e.to_string()))
    });
    match encoded {
        Ok(body) => ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `/debug/pprof/flamegraph`: the same samples drawn as an SVG flame graph.
pub async fn flamegraph(Query(q): Query<Seconds>) -> Response {
    let duration = match q.duration() {
        Ok(d) => d,
        Err(response) => return response,
    };
    let drawn = sample(duration).await.and_then(|report| {
        if report.data.is_empty() {
            return Ok(NO_SAMPLES.as_bytes().to_vec());
        }
        let mut svg = Vec::new();
        report.flamegraph(&mut svg)?;
        Ok(svg)
    });
    match drawn {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => e.into_response(),
    }
}
