//! `orchestrator report`: the HTML report of a segmentation and its fairness.

use super::Output;
use crate::client::{Client, JobResult};
use crate::render::commands::Reported;
use anyhow::Result;
use std::path::Path;
use wire::control::JobId;

/// Writes the report of job `id` (a kmeans job, or a fairness job with its segmentation)
/// into `out`.
pub async fn run(id: JobId, out: &Path, client: &Client) -> Result<Output> {
    let (kmeans, fairness) = match client.result(id).await? {
        JobResult::Kmeans(k) => (k, None),
        JobResult::Fairness(f) => {
            let segments: JobId = f.segments_job.parse().map_err(anyhow::Error::msg)?;
            (client.kmeans_result(segments).await?, Some(f))
        }
        _ => anyhow::bail!("job {id} is neither a kmeans nor a fairness job; a report shows segments"),
    };
    let page = crate::report::write(out, &kmeans, fairness.as_ref())?;
    Ok(Box::new(Reported { result: page.with_file_name("result.json"), report: page }))
}
