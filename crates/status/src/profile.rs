//! CPU and heap profiles of the running process, as Go's `net/http/pprof` serves
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
    pub(crate) fn duration(&self) -> Result<Duration, ProfileError> {
        match self.seconds.unwrap_or(10) {
            s @ 1..=MAX_SECONDS => Ok(Duration::from_secs(s)),
            s => Err(ProfileError::BadSeconds(s)),
        }
    }
}

/// Why a profile could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// `?seconds=` out of range.
    #[error("seconds must be between 1 and {MAX_SECONDS}, not {0}")]
    BadSeconds(u64),
    /// Another request is profiling.
    #[error("a profile is already running")]
    Busy,
    /// The sampler failed.
    #[error("profiling failed: {0}")]
    Sampler(#[from] pprof::Error),
    /// The allocator was started without heap profiling.
    #[error("heap profiling is off (basalt --no-instrumentation, or MALLOC_CONF without prof_active)")]
    HeapOff,
    /// The profile could not be encoded.
    #[error("encoding the profile failed: {0}")]
    Encode(String),
}

impl IntoResponse for ProfileError {
    fn into_response(self) -> Response {
        let code = match self {
            ProfileError::BadSeconds(_) => StatusCode::BAD_REQUEST,
            ProfileError::Busy => StatusCode::CONFLICT,
            ProfileError::HeapOff => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error(code, self.to_string())
    }
}

/// Sample the process for `duration`, on a thread of its own (the sampler's
/// guard must stay on one thread, and sleeping there keeps the runtime's
/// workers free), and build the report.
pub(crate) async fn sample(duration: Duration) -> Result<pprof::Report, ProfileError> {
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

/// A report as a gzipped `perftools.profiles.Profile`.
pub(crate) fn encode(report: &pprof::Report) -> Result<Vec<u8>, ProfileError> {
    use pprof::protos::Message;
    let bytes = report
        .pprof()?
        .write_to_bytes()
        .map_err(|e| ProfileError::Encode(e.to_string()))?;
    gzip(&bytes).map_err(|e| ProfileError::Encode(e.to_string()))
}

/// `bytes` gzipped, as pprof files are stored.
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)?;
    gz.finish()
}

/// A report drawn as an SVG flame graph.
pub(crate) fn draw(report: &pprof::Report) -> Result<Vec<u8>, ProfileError> {
    if report.data.is_empty() {
        return Ok(NO_SAMPLES.as_bytes().to_vec());
    }
    let mut svg = Vec::new();
    report.flamegraph(&mut svg)?;
    Ok(svg)
}

/// `/debug/pprof/profile`: a gzipped `perftools.profiles.Profile`.
pub async fn pprof(Query(q): Query<Seconds>) -> Response {
    match async { encode(&sample(q.duration()?).await?) }.await {
        Ok(body) => ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `/debug/pprof/flamegraph`: the same samples drawn as an SVG flame graph.
pub async fn flamegraph(Query(q): Query<Seconds>) -> Response {
    match async { draw(&sample(q.duration()?).await?) }.await {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `/debug/pprof/heap`: the live heap as jemalloc's sampling profiler sees
/// it (one allocation sampled per 2 MiB allocated, always on), as a
/// gzipped pprof `Profile` of in-use bytes by allocating stack.
pub async fn heap() -> Response {
    match heap_profile().await {
        Ok(body) => ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Stop jemalloc sampling allocations (for `basalt --no-instrumentation`);
/// `/debug/pprof/heap` then answers 503.
pub fn stop_heap_sampling() {
    if let Some(ctl) = jemalloc_pprof::PROF_CTL.as_ref() {
        let _ = ctl.blocking_lock().deactivate();
    }
}

/// The heap profile, read off the async workers (jemalloc writes it to a
/// file that is then parsed).
pub(crate) async fn heap_profile() -> Result<Vec<u8>, ProfileError> {
    let ctl = jemalloc_pprof::PROF_CTL
        .as_ref()
        .ok_or(ProfileError::HeapOff)?
        .clone();
    tokio::task::spawn_blocking(move || {
        let mut ctl = ctl.blocking_lock();
        if !ctl.activated() {
            return Err(ProfileError::HeapOff);
        }
        ctl.dump_pprof()
            .map_err(|e| ProfileError::Encode(e.to_string()))
    })
    .await
    .map_err(|e| ProfileError::Encode(e.to_string()))?
}
