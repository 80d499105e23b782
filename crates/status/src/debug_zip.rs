//! `/debug/zip?seconds=N`: everything a performance engineer would ask a
//! process for, in one download to attach to a report. The instant parts
//! (version, config, metrics, thread stacks, heap) are taken first, then the
//! CPU is profiled for N seconds (default 10).

use crate::profile::{self, ProfileError, Seconds};
use crate::{State, error};
use axum::extract::{Query, State as Shared};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::sync::Arc;

/// `/debug/zip`: `version.json`, `config.json`, `metrics.txt`,
/// `stacks.txt`, `heap.pb.gz`, `profile.pb.gz` and `flamegraph.svg`.
pub async fn debug_zip(Shared(state): Shared<Arc<State>>, Query(q): Query<Seconds>) -> Response {
    let duration = match q.duration() {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let stacks = match tokio::task::spawn_blocking(crate::stacks::dump).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("version.json", crate::pretty(&state.status()).into_bytes()),
        ("config.json", crate::pretty(&state.config).into_bytes()),
        (
            "metrics.txt",
            crate::metrics_text().unwrap_or_else(|e| e).into_bytes(),
        ),
        ("stacks.txt", stacks.into_bytes()),
    ];
    let cpu = async {
        files.push(("heap.pb.gz", profile::heap_profile().await?));
        let report = profile::sample(duration).await?;
        files.push(("profile.pb.gz", profile::encode(&report)?));
        files.push(("flamegraph.svg", profile::draw(&report)?));
        Ok::<_, ProfileError>(())
    };
    if let Err(e) = cpu.await {
        return e.into_response();
    }
    match archive(&files) {
        Ok(zip) => (
            [
                (header::CONTENT_TYPE, "application/zip"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"basalt-debug.zip\"",
                ),
            ],
            zip,
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `files` deflated into one zip archive.
fn archive(files: &[(&str, Vec<u8>)]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(*name, options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
