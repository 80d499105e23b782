//! MySQL packet framing: a 3-byte little-endian payload length and a 1-byte
//! sequence id before each payload. A payload of 2^24-1 bytes or more is sent
//! as a run of 2^24-1-byte packets followed by a shorter one (possibly empty),
//! so the reader knows where a logical payload ends.
//!
//! Responses are encoded into an in-memory buffer and written with one
//! syscall per response ([`PacketStream::flush`]), not per packet; requests are
//! read through a buffered reader.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::error::Error;

/// Largest payload one packet carries.
pub(crate) const MAX_PAYLOAD: usize = 0xFF_FFFF;

/// Past this much buffered output, long result sets are written out before
/// the response is complete, so memory stays bounded.
const FLUSH_THRESHOLD: usize = 1 << 20;

/// One connection's packets in both directions, with the shared sequence id.
pub(crate) struct PacketStream<S> {
    stream: BufReader<S>,
    out: Vec<u8>,
    seq: u8,
    max_payload: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PacketStream<S> {
    /// `max_payload` is `max_allowed_packet`: longer requests are refused
    /// before they are buffered.
    pub(crate) fn new(stream: S, max_payload: usize) -> Self {
        PacketStream {
            stream: BufReader::new(stream),
            out: Vec::new(),
            seq: 0,
            max_payload,
        }
    }

    /// Starts a new command exchange: the client's next packet has id 0.
    pub(crate) fn reset_seq(&mut self) {
        self.seq = 0;
    }

    /// Reads one logical payload, joining continuation packets. The payload
    /// grows as bytes arrive, so a client that announces a large packet and
    /// sends nothing costs no memory.
    pub(crate) async fn read(&mut self) -> Result<Vec<u8>, Error> {
        let mut payload = Vec::new();
        loop {
            let mut header = [0u8; 4];
            self.stream
                .read_exact(&mut header)
                .await
                .map_err(eof_is_closed)?;
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            if header[3] != self.seq {
                return Err(Error::OutOfOrder {
                    got: header[3],
                    expected: self.seq,
                });
            }
            self.seq = self.seq.wrapping_add(1);
            let total = payload.len() + len;
            if total > self.max_payload {
                return Err(Error::TooLarge(total));
            }
            let got = (&mut self.stream)
                .take(len as u64)
                .read_to_end(&mut payload)
                .await?;
            if got < len {
                return Err(Error::Closed);
            }
            if len < MAX_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    /// Appends one packet whose payload `build` writes, splitting it if it
    /// reaches [`MAX_PAYLOAD`].
    pub(crate) fn write_with(&mut self, build: impl FnOnce(&mut Vec<u8>)) {
        let start = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        build(&mut self.out);
        self.finish_packet(start);
    }

    /// Like [`PacketStream::write_with`], but a failing `build` leaves no
    /// packet behind.
    pub(crate) fn try_write_with<E>(
        &mut self,
        build: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        if let Err(e) = build(&mut self.out) {
            self.out.truncate(start);
            return Err(e);
        }
        self.finish_packet(start);
        Ok(())
    }

    /// Fills in the header of the packet whose payload follows `start`.
    fn finish_packet(&mut self, start: usize) {
        let len = self.out.len() - start - 4;
        if len < MAX_PAYLOAD {
            self.out[start..start + 3].copy_from_slice(&(len as u32).to_le_bytes()[..3]);
            self.out[start + 3] = self.seq;
            self.seq = self.seq.wrapping_add(1);
        } else {
            let payload = self.out.split_off(start + 4);
            self.out.truncate(start);
            self.write_split(&payload);
        }
    }

    /// Appends one packet with the given payload.
    pub(crate) fn write(&mut self, payload: &[u8]) {
        if payload.len() < MAX_PAYLOAD {
            self.write_with(|out| out.extend_from_slice(payload));
        } else {
            self.write_split(payload);
        }
    }

    fn write_split(&mut self, mut payload: &[u8]) {
        loop {
            let n = payload.len().min(MAX_PAYLOAD);
            self.out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            self.out.push(self.seq);
            self.seq = self.seq.wrapping_add(1);
            self.out.extend_from_slice(&payload[..n]);
            payload = &payload[n..];
            if n < MAX_PAYLOAD {
                return;
            }
        }
    }

    /// Sends everything buffered.
    pub(crate) async fn flush(&mut self) -> Result<(), Error> {
        if !self.out.is_empty() {
            self.stream.get_mut().write_all(&self.out).await?;
            self.out.clear();
        }
        self.stream.get_mut().flush().await?;
        Ok(())
    }

    /// Sends the buffered part of a long response once it is large.
    pub(crate) async fn flush_if_large(&mut self) -> Result<(), Error> {
        if self.out.len() >= FLUSH_THRESHOLD {
            self.stream.get_mut().write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// After a fatal error has been flushed: stops sending, then reads and
    /// drops what the client is still sending for up to `grace`. Closing a
    /// socket with unread input makes the kernel reset the connection, and
    /// the client would lose our error packet.
    pub(crate) async fn close_gracefully(mut self, grace: std::time::Duration) {
        let _ = self.stream.get_mut().shutdown().await;
        let drain = async {
            let mut sink = [0u8; 8192];
            while matches!(self.stream.read(&mut sink).await, Ok(n) if n > 0) {}
        };
        let _ = tokio::time::timeout(grace, drain).await;
    }
}

fn eof_is_closed(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::Closed
    } else {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    fn frame(payload: &[u8], first_seq: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut seq = first_seq;
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_PAYLOAD);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            out.push(seq);
            seq = seq.wrapping_add(1);
            out.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if n < MAX_PAYLOAD {
                return out;
            }
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[tokio::test]
    async fn reads_single_and_multi_packet_payloads() {
        for len in [
            0,
            1,
            1000,
            MAX_PAYLOAD - 1,
            MAX_PAYLOAD,
            MAX_PAYLOAD + 1,
            2 * MAX_PAYLOAD,
            2 * MAX_PAYLOAD + 5,
        ] {
            let payload = pattern(len);
            let (mut client, server) = duplex(1 << 16);
            let bytes = frame(&payload, 0);
            let writer =
                tokio::spawn(async move { client.write_all(&bytes).await.map(|_| client) });
            let mut stream = PacketStream::new(server, 64 << 20);
            let got = stream.read().await.unwrap();
            assert!(got == payload, "payload of {len} bytes");
            writer.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn writes_split_payloads_with_trailing_empty_packet() {
        for len in [
            0,
            5,
            MAX_PAYLOAD - 1,
            MAX_PAYLOAD,
            MAX_PAYLOAD + 1,
            2 * MAX_PAYLOAD,
        ] {
            let payload = pattern(len);
            let (mut client, server) = duplex(1 << 16);
            let expected = frame(&payload, 3);
            let expected_len = expected.len();
            let reader = tokio::spawn(async move {
                let mut got = vec![0; expected_len];
                client.read_exact(&mut got).await.unwrap();
                got
            });
            let mut stream = PacketStream::new(server, 64 << 20);
            stream.seq = 3;
            stream.write(&payload);
            stream.flush().await.unwrap();
            assert!(reader.await.unwrap() == expected, "payload of {len} bytes");

            // Built in place, the same bytes come out.
            let (mut client, server) = duplex(1 << 16);
            let reader = tokio::spawn(async move {
                let mut got = vec![0; expected_len];
                client.read_exact(&mut got).await.unwrap();
                got
            });
            let mut stream = PacketStream::new(server, 64 << 20);
            stream.seq = 3;
            stream.write_with(|out| out.extend_from_slice(&payload));
            stream.flush().await.unwrap();
            assert!(
                reader.await.unwrap() == expected,
                "built payload of {len} bytes"
            );
        }
    }

    #[tokio::test]
    async fn sequence_continues_across_packets_and_wraps() {
        let (mut client, server) = duplex(1 << 16);
        let mut bytes = frame(b"a", 255);
        bytes.extend(frame(b"b", 0));
        client.write_all(&bytes).await.unwrap();
        let mut stream = PacketStream::new(server, 1024);
        stream.seq = 255;
        assert_eq!(stream.read().await.unwrap(), b"a");
        assert_eq!(stream.read().await.unwrap(), b"b");
    }

    #[tokio::test]
    async fn rejects_wrong_sequence_id() {
        let (mut client, server) = duplex(1024);
        client.write_all(&frame(b"x", 2)).await.unwrap();
        let mut stream = PacketStream::new(server, 1024);
        assert!(matches!(
            stream.read().await,
            Err(Error::OutOfOrder {
                got: 2,
                expected: 0
            })
        ));
    }

    #[tokio::test]
    async fn rejects_oversized_payload_from_its_header() {
        let (mut client, server) = duplex(1024);
        // Only the header is sent: the limit is checked before the body.
        client.write_all(&[0x01, 0x04, 0x00, 0x00]).await.unwrap();
        let mut stream = PacketStream::new(server, 1024);
        assert!(matches!(stream.read().await, Err(Error::TooLarge(1025))));
    }

    #[tokio::test]
    async fn eof_inside_header_or_body_is_closed() {
        for bytes in [&[][..], &[5, 0][..], &[5, 0, 0, 0, b'a', b'b'][..]] {
            let (mut client, server) = duplex(1024);
            client.write_all(bytes).await.unwrap();
            drop(client);
            let mut stream = PacketStream::new(server, 1024);
            assert!(
                matches!(stream.read().await, Err(Error::Closed)),
                "{bytes:?}"
            );
        }
    }
}
