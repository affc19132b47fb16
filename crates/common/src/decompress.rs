//! Opening files whatever their compression: gzip (multi-member too) or zstd, recognised by
//! their first bytes, with a bound on how far they may expand (decompression bombs).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// Opens a file, decompressing gzip (including multi-member) or zstd when its first bytes say
/// so, whatever its name.
pub fn open_decompressed(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    decompress(File::open(path)?)
}

/// The default of [`ReadOptions::max_expansion`]. Zeek and web logs compress 5–15× with gzip
/// and rarely past 50× with zstd at its highest level; a decompression bomb expands thousands
/// of times (deflate up to 1032×, zstd without bound).
pub const DEFAULT_MAX_EXPANSION: u64 = 250;

/// Decompressed bytes always allowed, whatever the ratio: a small file of repetitive lines is
/// not a bomb, and judging a ratio on a few kilobytes would be noise.
const EXPANSION_GRACE: u64 = 64 << 20;

/// Wraps a byte stream in the decompressor its first bytes call for, expanding at most
/// [`DEFAULT_MAX_EXPANSION`] times.
pub fn decompress<R: Read + Send + 'static>(input: R) -> io::Result<Box<dyn Read + Send>> {
    decompress_bounded(input, DEFAULT_MAX_EXPANSION)
}

/// [`decompress`] with the expansion limit given (0: none). Past it, the reader fails with
/// `InvalidData` naming the ratio, which the file's reader reports as it does a truncated file:
/// what was read before stays.
pub fn decompress_bounded<R: Read + Send + 'static>(
    input: R,
    max_expansion: u64,
) -> io::Result<Box<dyn Read + Send>> {
    let consumed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Counted { inner: input, consumed: consumed.clone() };
    // A small buffer keeps the count of compressed bytes close to what the decoder has used.
    let mut file = BufReader::with_capacity(64 << 10, counted);
    let magic = {
        use std::io::BufRead;
        let buf = file.fill_buf()?;
        [buf.first().copied(), buf.get(1).copied(), buf.get(2).copied(), buf.get(3).copied()]
    };
    let decoder: Box<dyn Read + Send> = match magic {
        [Some(0x1f), Some(0x8b), _, _] => {
            Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(file)))
        }
        [Some(0x28), Some(0xb5), Some(0x2f), Some(0xfd)] => {
            Box::new(zstd::stream::read::Decoder::with_buffer(file)?)
        }
        _ => {
            // Plain text needs neither the count nor the small buffer: reading straight from
            // the file lets the reader fill its chunks without zeroing them first.
            let buffered = io::Cursor::new(file.buffer().to_vec());
            return Ok(Box::new(buffered.chain(file.into_inner().inner)));
        }
    };
    Ok(Box::new(ExpansionGuard { inner: decoder, consumed, produced: 0, max_expansion }))
}

/// Counts the compressed bytes a decoder has taken.
struct Counted<R> {
    inner: R,
    consumed: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Stops a decoder whose output outgrows its input by more than the limit.
struct ExpansionGuard {
    inner: Box<dyn Read + Send>,
    consumed: Arc<std::sync::atomic::AtomicU64>,
    produced: u64,
    max_expansion: u64,
}

impl Read for ExpansionGuard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let consumed = self.consumed.load(std::sync::atomic::Ordering::Relaxed).max(1);
        if self.max_expansion > 0
            && self.produced > EXPANSION_GRACE
            && self.produced / consumed > self.max_expansion
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "expands more than {}× ({} MiB from {} KiB): a decompression bomb? \
                     (--max-expansion sets the limit)",
                    self.max_expansion,
                    self.produced >> 20,
                    consumed >> 10
                ),
            ));
        }
        Ok(n)
    }
}
