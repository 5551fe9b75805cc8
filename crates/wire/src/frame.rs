//! Length-prefixed postcard frames over any async byte stream.

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A frame that could not be written or read.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The stream failed or ended in the middle of a frame.
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
    /// The stream ended cleanly before a frame started.
    #[error("the stream ended")]
    Eof,
    /// The announced frame is longer than the reader accepts.
    #[error("frame of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// The reader's limit.
        limit: usize,
    },
    /// The bytes are not a valid message.
    #[error("malformed message: {0}")]
    Decode(#[from] postcard::Error),
}

/// Encodes `msg` and writes it as one frame.
pub async fn write_frame<W, T>(w: &mut W, msg: &T) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin,
    T: Serialize + ?Sized,
{
    let body = postcard::to_stdvec(msg)?;
    let len = u32::try_from(body.len())
        .map_err(|_| FrameError::TooLarge { len: body.len(), limit: u32::MAX as usize })?;
    w.write_all(&len.to_le_bytes()).await?;
    w.write_all(&body).await?;
    Ok(())
}

/// Reads one frame of at most `limit` bytes and decodes it.
pub async fn read_frame<R, T>(r: &mut R, limit: usize) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    let len = read_len(r).await? as usize;
    if len > limit {
        return Err(FrameError::TooLarge { len, limit });
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(postcard::from_bytes(&body)?)
}

/// Writes raw bytes as one frame (for protocol messages, which encode themselves).
pub async fn write_raw<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> Result<(), FrameError> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| FrameError::TooLarge { len: bytes.len(), limit: u32::MAX as usize })?;
    w.write_all(&len.to_le_bytes()).await?;
    w.write_all(bytes).await?;
    Ok(())
}

/// Reads one raw frame of at most `limit` bytes.
pub async fn read_raw<R: AsyncRead + Unpin>(r: &mut R, limit: usize) -> Result<Vec<u8>, FrameError> {
    let len = read_len(r).await? as usize;
    if len > limit {
        return Err(FrameError::TooLarge { len, limit });
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(body)
}

/// Reads a frame's length prefix; [`FrameError::Eof`] if the stream ends before it starts.
async fn read_len<R: AsyncRead + Unpin>(r: &mut R) -> Result<u32, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..]).await?;
        if n == 0 {
            return Err(if got == 0 {
                FrameError::Eof
            } else {
                FrameError::Io(std::io::ErrorKind::UnexpectedEof.into())
            });
        }
        got += n;
    }
    Ok(u32::from_le_bytes(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Request, RequestBody};

    #[tokio::test]
    async fn frames_round_trip_and_enforce_limits() {
        let msg = Request::new(RequestBody::Ping);
        let mut buf = Vec::new();
        write_frame(&mut buf, &msg).await.unwrap();
        write_frame(&mut buf, &msg).await.unwrap();
        let mut r = buf.as_slice();
        let a: Request = read_frame(&mut r, 1024).await.unwrap();
        let b: Request = read_frame(&mut r, 1024).await.unwrap();
        assert_eq!((a, b), (msg.clone(), msg));
        assert!(matches!(read_frame::<_, Request>(&mut r, 1024).await, Err(FrameError::Eof)));

        let mut big = Vec::new();
        big.extend_from_slice(&(1u32 << 30).to_le_bytes());
        let err = read_frame::<_, Request>(&mut big.as_slice(), 1024).await.unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len: 1_073_741_824, limit: 1024 }));

        let truncated = &buf[..buf.len() / 2 - 1];
        assert!(matches!(read_frame::<_, Request>(&mut &truncated[..], 1024).await, Err(FrameError::Io(_))));
        let garbage = [2u8, 0, 0, 0, 0xff, 0xff];
        assert!(matches!(
            read_frame::<_, Request>(&mut &garbage[..], 1024).await,
            Err(FrameError::Decode(_))
        ));
    }
}
