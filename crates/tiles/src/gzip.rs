//! Gzip for tiles, with one deflate state per thread.
//!
//! A deflate state holds a few hundred KiB of window and hash tables; allocating one per tile
//! (as `GzEncoder::new` does) made the allocator's per-thread heaps grow by tens of MiB over
//! the tens of thousands of tiles of a run. Each thread keeps one state and resets it; the
//! gzip framing around the raw deflate stream is RFC 1952's (10-byte header, CRC-32, length).

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use std::cell::RefCell;

thread_local! {
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), false));
}

/// `bytes` gzipped (RFC 1952, no name, no time).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    // Header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
    let mut out = Vec::with_capacity(bytes.len() / 2 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    DEFLATE.with(|d| -> std::io::Result<()> {
        let mut d = d.borrow_mut();
        d.reset();
        loop {
            let read = d.total_in() as usize;
            let status = d
                .compress_vec(&bytes[read..], &mut out, FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            match status {
                Status::StreamEnd => return Ok(()),
                Status::Ok | Status::BufError => out.reserve(out.capacity().max(1024)),
            }
        }
    })?;
    let mut crc = Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips_through_an_independent_decoder_and_reuses_its_state() {
        for input in [
            Vec::new(),
            b"tuilerie".to_vec(),
            (0..200_000u32)
                .flat_map(|i| (i % 251).to_le_bytes())
                .collect(),
        ] {
            for _ in 0..2 {
                let gz = gzip(&input).unwrap();
                let mut back = Vec::new();
                flate2::read::MultiGzDecoder::new(&gz[..])
                    .read_to_end(&mut back)
                    .unwrap();
                assert_eq!(back, input);
            }
        }
    }
}
