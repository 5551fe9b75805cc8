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
    let body = read_raw(r, limit).await?;
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
    read_body(r, len).await
}

/// The first allocation for a frame's body, before any of it has arrived.
const FIRST_CHUNK: usize = 8 << 10;

/// Reads a body of `len` bytes into a buffer that grows with what has arrived: it starts at
/// [`FIRST_CHUNK`] and at most doubles each time it fills, never past `len`. A sender that
/// announces a large frame and sends little makes the reader hold about what it sent, not
/// what it announced.
async fn read_body<R: AsyncRead + Unpin>(r: &mut R, len: usize) -> Result<Vec<u8>, FrameError> {
    let mut body: Vec<u8> = Vec::new();
    while body.len() < len {
        let missing = len - body.len();
        if body.len() == body.capacity() {
            body.reserve_exact(missing.min(body.len().max(FIRST_CHUNK)));
        }
        // `take` keeps the read inside this frame; `read_buf` fills spare capacity only.
        let n = (&mut *r).take(missing as u64).read_buf(&mut body).await?;
        if n == 0 {
            return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
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

    /// A reader that hands out `data` at most `step` bytes at a time and records the largest
    /// buffer the frame reader offered it: what the reader had allocated and not yet filled.
    struct Spy {
        data: Vec<u8>,
        at: usize,
        step: usize,
        largest_offer: usize,
    }

    impl Spy {
        fn new(data: Vec<u8>, step: usize) -> Self {
            Self { data, at: 0, step, largest_offer: 0 }
        }
    }

    impl AsyncRead for Spy {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.largest_offer = self.largest_offer.max(buf.remaining());
            let n = buf.remaining().min(self.step).min(self.data.len() - self.at);
            buf.put_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_frame_announcing_half_a_gigabyte_and_sending_a_few_bytes_holds_only_a_few_kilobytes() {
        let announced = crate::MAX_JOB_MESSAGE;
        let mut data = (announced as u32).to_le_bytes().to_vec();
        data.extend_from_slice(&[7u8; 100]);
        let mut spy = Spy::new(data, 4096);
        let err = read_raw(&mut spy, announced).await.unwrap_err();
        assert!(matches!(&err, FrameError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof), "{err}");
        assert!(spy.largest_offer <= FIRST_CHUNK, "the reader allocated {} bytes", spy.largest_offer);
    }

    #[tokio::test]
    async fn a_frame_arriving_in_small_pieces_grows_its_buffer_with_what_arrived() {
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut data = Vec::new();
        write_raw(&mut data, &body).await.unwrap();
        write_raw(&mut data, b"next").await.unwrap();
        let mut spy = Spy::new(data, 1500);
        let got = read_raw(&mut spy, body.len()).await.unwrap();
        assert_eq!(got, body);
        assert_eq!(got.capacity(), body.len(), "the buffer grew past the frame");
        // Growth doubles what arrived: never more than that is waiting to be filled.
        assert!(spy.largest_offer <= body.len() / 2 + 1, "offered {} bytes at once", spy.largest_offer);
        assert_eq!(read_raw(&mut spy, 16).await.unwrap(), b"next", "read past the end of the frame");
        assert!(matches!(read_raw(&mut spy, 16).await, Err(FrameError::Eof)));
    }
}
