//! Messages between nodes.
//!
//! Ingest: the owner opens one bidirectional stream per node and writes a
//! [`MeshRequest::Prepare`] header, then [`DataFrame`]s carrying the components that node
//! holds, then [`DataFrame::End`]; the node stages them durably and answers
//! [`MeshResponse::Ok`]. Once every node staged, the owner sends [`MeshRequest::Commit`]
//! (or [`MeshRequest::Abort`]) on a new stream to each. Both the header and the commit say
//! whether the owner asked to replace its current contribution: a node that holds one
//! refuses a contribution that is not marked as a replacement, and keeps the replaced one
//! aside until [`MeshRequest::Restore`] brings it back or it stops being restorable.
//!
//! Jobs: the sending node opens one bidirectional stream per job and peer and writes a
//! [`MeshRequest::JobChannel`] header; the receiver answers [`MeshResponse::Ok`] once it
//! knows the job (so a sender learns at once that a cached connection went stale), then the
//! sender writes raw frames (see [`crate::frame`]) on its half.

use crate::U64s;
use crate::control::JobId;
use crate::schema::Schema;
use serde::{Deserialize, Serialize};

/// A node-to-node request, first frame of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshHeader {
    /// The sender's [`crate::PROTOCOL_VERSION`].
    pub version: u16,
    /// What the stream carries.
    pub request: MeshRequest,
}

/// What a node-to-node stream is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MeshRequest {
    /// Stage a contribution; share data follows.
    Prepare(ContributionHeader),
    /// Make a staged contribution part of its dataset.
    Commit {
        /// Dataset name.
        dataset: String,
        /// Contribution id.
        contribution: String,
        /// Whether it replaces the sender's current contribution (refused without it when
        /// there is one).
        replace: bool,
    },
    /// Drop a staged contribution.
    Abort {
        /// Dataset name.
        dataset: String,
        /// Contribution id.
        contribution: String,
    },
    /// The messages of `job` from party `from` follow.
    JobChannel {
        /// The job.
        job: JobId,
        /// The sender's party index.
        from: u16,
    },
    /// Are you there? (a link probe; answered with `Ok`)
    Ping,
    /// Erase shares of `dataset`: of one contribution, which only its owner may ask for (a
    /// company may always withdraw its records), or, with no contribution, of the whole
    /// dataset, which a node does only once its own policy's retention period for it has
    /// passed. A refused request changes nothing and is answered with the reason.
    Erase {
        /// The dataset.
        dataset: String,
        /// The contribution to erase, owned by the sender; `None` for the whole dataset.
        contribution: Option<String>,
    },
    /// The sender's part of `job` failed: stop yours, with this reason (honoured only from a
    /// party of a job that exists on the receiver and has not finished).
    JobFailed {
        /// The job.
        job: JobId,
        /// Why it failed on the sender.
        reason: String,
    },
    /// The sender owns `dropped`, its current contribution to `dataset`, which replaced
    /// `restored`: put `restored` back in its place and drop `dropped`. Honoured only for the
    /// sender's own contributions, and only while `restored` is restorable.
    Restore {
        /// Dataset name.
        dataset: String,
        /// The contribution to bring back.
        restored: String,
        /// The current contribution, dropped.
        dropped: String,
        /// `false`: only say whether the restore would be carried out; `true`: carry it out.
        apply: bool,
    },
}

/// Describes the share data that follows a [`MeshRequest::Prepare`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContributionHeader {
    /// Dataset name.
    pub dataset: String,
    /// Contribution id (random, chosen by the owner).
    pub contribution: String,
    /// The owner node's id.
    pub owner: String,
    /// Columns of the contribution.
    pub schema: Schema,
    /// Number of records.
    pub rows: u64,
    /// The components that follow (those the receiving node holds), in order.
    pub components: Vec<u16>,
    /// Whether it replaces the owner's current contribution to the dataset.
    pub replace: bool,
}

/// Share data of a contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DataFrame {
    /// Values `offset..offset + values.len()` of one column of one component.
    Chunk {
        /// Component index.
        component: u16,
        /// Column index in storage order.
        column: u32,
        /// First row.
        offset: u64,
        /// The values.
        values: U64s,
    },
    /// All data was sent.
    End,
}

/// A node's answer on a mesh stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MeshResponse {
    /// Done.
    Ok,
    /// Refused or failed.
    Error {
        /// Why.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erase_known_answer() {
        let erase = |contribution: Option<&str>| MeshHeader {
            version: crate::PROTOCOL_VERSION,
            request: MeshRequest::Erase { dataset: "d".into(), contribution: contribution.map(Into::into) },
        };
        // Version 5, variant 5 (Erase), "d", then Some("c") or None.
        assert_eq!(postcard::to_stdvec(&erase(Some("c"))).unwrap(), vec![5, 5, 1, b'd', 1, 1, b'c']);
        assert_eq!(postcard::to_stdvec(&erase(None)).unwrap(), vec![5, 5, 1, b'd', 0]);
    }
}
