//! Job records written by earlier versions of the node, read into today's form: version 3
//! kept a finished job's output as names and positional parameters (`outputs`, `params`),
//! which become the typed [`OutputLayout`] of its kind. A record this cannot read is refused
//! as corrupt, like any unreadable record.

use super::JobRecord;
use serde_json::Value;
use thiserror::Error;
use wire::output::OutputLayout;

/// Why a stored job record cannot be read.
#[derive(Debug, Error)]
pub enum RecordError {
    /// Not a record in JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A record of version 3 without its job's specification.
    #[error("a record from an earlier version has no job specification")]
    NoSpec,
    /// A version 3 output whose parameters do not have the shape of its kind.
    #[error("the output of an earlier `{0}` job has parameters of the wrong shape")]
    Shape(String),
}

/// Parses a stored job record, upgrading an earlier layout of its output.
pub fn read_record(bytes: &[u8]) -> Result<JobRecord, RecordError> {
    let mut value: Value = serde_json::from_slice(bytes)?;
    upgrade_output(&mut value)?;
    Ok(serde_json::from_value(value)?)
}

/// Rewrites `output: {count, outputs, params, components}` as `output: {count, layout,
/// components}`; leaves any other record as it is.
fn upgrade_output(record: &mut Value) -> Result<(), RecordError> {
    let spec = record.get("spec").cloned().unwrap_or(Value::Null);
    let Some(output) = record.get_mut("output").and_then(Value::as_object_mut) else { return Ok(()) };
    if output.contains_key("layout") {
        return Ok(());
    }
    let (kind, fields) = spec.as_object().and_then(|s| s.iter().next()).ok_or(RecordError::NoSpec)?;
    let op = fields.get("op").and_then(Value::as_str);
    let names: Vec<String> = serde_json::from_value(output.remove("outputs").unwrap_or(Value::Null))?;
    let params: Vec<u64> = match output.remove("params") {
        Some(p) => serde_json::from_value(p)?,
        None => Vec::new(),
    };
    let layout =
        OutputLayout::from_v3(kind, op, names, &params).ok_or_else(|| RecordError::Shape(kind.clone()))?;
    output.insert("layout".into(), serde_json::to_value(layout).expect("layouts serialise"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::control::{JobId, JobSpec, JobState, StatsJob};
    use wire::output::StatsOutput;

    /// A finished stats job's record as version 3 wrote it, with `params`.
    fn v3(params: &[u64]) -> Vec<u8> {
        let record = JobRecord {
            id: JobId([1; 16]),
            spec: JobSpec::Stats(StatsJob {
                dataset: "d".into(),
                features: vec!["age".into()],
                epsilon: None,
            }),
            submitter: net::Fingerprint([0; 32]),
            state: JobState::Done,
            reason: None,
            progress: "done".into(),
            output: None,
            traffic: Default::default(),
            elapsed_ms: 1,
            steps: (0, 0),
            erased: None,
            audit_key: None,
        };
        let mut value = serde_json::to_value(record).unwrap();
        value["output"] =
            serde_json::json!({"count": 4, "outputs": ["age"], "params": params, "components": []});
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn a_record_of_version_3_reads_with_a_typed_layout() {
        let record = read_record(&v3(&[5])).unwrap();
        let output = record.output.clone().unwrap();
        assert_eq!(output.count, 4);
        assert_eq!(
            output.layout,
            OutputLayout::Stats(StatsOutput { features: vec!["age".into()], variance_scales: vec![5] })
        );
        // Written again, it reads as it is.
        let again = serde_json::to_vec(&record).unwrap();
        assert_eq!(read_record(&again).unwrap().output, Some(output));
    }

    #[test]
    fn a_record_of_version_3_with_parameters_of_the_wrong_shape_is_refused() {
        assert!(read_record(&v3(&[5, 6])).unwrap_err().to_string().contains("wrong shape"));
    }
}
