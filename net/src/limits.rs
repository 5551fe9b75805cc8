//! What one QUIC connection may cost the side that accepts it, and why these numbers.
//!
//! A node accepts connections from its peers, its operators and its own owner command. What a
//! connection can make the node hold is bounded by three things together: how many streams
//! the other side may have open at once ([`MAX_STREAMS_PER_CONNECTION`]), how many bytes it may
//! have in flight that the node has not read yet ([`CONNECTION_RECEIVE_WINDOW`], shared by all
//! the connection's streams, at most [`STREAM_RECEIVE_WINDOW`] on one of them) and how many
//! bytes the node keeps for resending until they are acknowledged ([`SEND_WINDOW`]). The node
//! itself caps the connections of one certificate ([`MAX_CONNECTIONS_PER_IDENTITY`]).
//!
//! The stream count follows what the cluster uses: a connection carries the streams of its
//! dialling side only (the accepting side never opens streams on it, and no one uses
//! unidirectional streams). A peer's connection holds one long-lived stream for each job in
//! progress between the two nodes and one for each ingest it sends, plus short request
//! streams (commit, abort, ping, erase, job failed), each open for one request and its
//! answer. An operator's connection holds one stream per request in flight, usually one.

/// Streams the dialling side of a connection may have open at once (bidirectional; no
/// unidirectional streams are accepted). A peer running more jobs at once with this node than
/// this, less a few for requests, waits for a stream, and its job times out if none frees up.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 32;

/// Connections one certificate (a peer, an operator or the node's own owner command) may
/// have open to a node at once. A peer needs one (two for a moment when it reconnects); an
/// operator needs one per orchestrator command running. A connection beyond this is closed
/// at once with [`TOO_MANY_CONNECTIONS`] as its reason.
pub const MAX_CONNECTIONS_PER_IDENTITY: usize = 8;

/// Application close code of a connection refused because its certificate already has
/// [`MAX_CONNECTIONS_PER_IDENTITY`] open.
pub const TOO_MANY_CONNECTIONS_CODE: u32 = 2;

/// Close reason sent with [`TOO_MANY_CONNECTIONS_CODE`].
pub const TOO_MANY_CONNECTIONS: &str = "too many connections from this certificate (at most 8 at once): \
     close the ones you no longer use, or wait for idle ones to time out";

/// Bytes one stream may have in flight to the receiver before the receiver reads them. One
/// job message of a few megabytes passes in a few windows; on loopback or a LAN a window
/// takes well under a millisecond.
pub const STREAM_RECEIVE_WINDOW: u32 = 1 << 20;

/// Bytes all the streams of one connection together may have in flight unread: what the QUIC
/// stack buffers for one connection at most.
pub const CONNECTION_RECEIVE_WINDOW: u32 = 4 << 20;

/// Bytes sent on one connection and not yet acknowledged that are kept for resending.
pub const SEND_WINDOW: u64 = 4 << 20;

const _: () = assert!(STREAM_RECEIVE_WINDOW <= CONNECTION_RECEIVE_WINDOW);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_close_reason_states_the_cap() {
        assert!(TOO_MANY_CONNECTIONS.contains(&format!("at most {MAX_CONNECTIONS_PER_IDENTITY} at once")));
    }
}
