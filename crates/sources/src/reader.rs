//! Reading one file with every core while keeping memory flat: a reader thread decompresses and
//! cuts the stream into line-aligned chunks, worker threads parse chunks into Arrow batches, and
//! the caller receives the batches in file order. A fixed number of chunks is in flight at any
//! time, whatever the file size.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, Sender, bounded};
use lasthop_normalise::LogType;

use crate::batch::{BatchBuilder, RecordLimits, Row};
use crate::diagnostics::{Diagnostics, Reason};
use crate::discover::log_name_from_file_name;
use crate::web::W3cHeader;
use crate::web_json::WebJsonMap;
use crate::zeek_json::{JsonFields, JsonRecord};
use crate::zeek_tsv::{TsvHeader, short};
pub use lasthop_common::decompress::{
    DEFAULT_MAX_EXPANSION, decompress, decompress_bounded, open_decompressed,
};

/// Tunables of the reader.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Parser threads (the reader and the caller run beside them).
    pub threads: usize,
    /// Bytes of decompressed text per chunk handed to a parser.
    pub chunk_bytes: usize,
    /// Longest line accepted; longer ones are skipped and reported.
    pub max_line_bytes: usize,
    /// How many times its own size a compressed file may expand to (0: no limit); past it,
    /// reading stops with the file reported as a likely decompression bomb.
    pub max_expansion: u64,
    /// Bounds on one record's extra fields and set items.
    pub limits: RecordLimits,
    /// Where JSON access logs keep each web column.
    pub web_json: Arc<WebJsonMap>,
    /// Read one log type only, and of it only some fields (a query over the logs themselves);
    /// `None`: every record, every field.
    pub projection: Option<Projection>,
}

/// The records a reader is to produce: those of `log_type`, with only the schema fields
/// `wanted` marks (see [`BatchBuilder::with_projection`]). Records of other log types are passed
/// over without being parsed, and so are not counted or checked.
#[derive(Debug, Clone)]
pub struct Projection {
    pub log_type: LogType,
    /// Per field of the log type's schema.
    pub wanted: Arc<[bool]>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            chunk_bytes: 4 << 20,
            max_line_bytes: 16 << 20,
            max_expansion: DEFAULT_MAX_EXPANSION,
            limits: RecordLimits::default(),
            web_json: Arc::default(),
            projection: None,
        }
    }
}

/// What reading one file produced besides its batches.
#[derive(Debug, Default)]
pub struct FileSummary {
    pub records: u64,
    pub records_by_type: BTreeMap<LogType, u64>,
    /// Decompressed bytes read.
    pub bytes: u64,
    pub diagnostics: Diagnostics,
    /// The file changed while it was read (a live log): its batches must not be kept.
    pub changed_while_reading: bool,
}

/// Size and modification time, to tell whether a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
}

impl FileStamp {
    pub fn of(path: &Path) -> io::Result<FileStamp> {
        let m = std::fs::metadata(path)?;
        Ok(FileStamp { len: m.len(), modified: m.modified().ok() })
    }
}

#[derive(Clone)]
enum Format {
    Tsv(Arc<TsvHeader>),
    Json,
    /// Apache/Nginx combined or common access log.
    AccessLog,
    /// IIS W3C extended log, with the `#Fields:` in force.
    W3c(Arc<W3cHeader>),
}

struct Chunk {
    seq: u64,
    first_line: u64,
    /// Lines in `data`, counted once by the splitter.
    lines: u64,
    /// Where each `\n` of `data` is, found in the same pass that counted them (see [`LineEnds`]).
    line_ends: LineEnds,
    data: Vec<u8>,
    format: Format,
}

struct Parsed {
    seq: u64,
    batches: Vec<(LogType, RecordBatch)>,
    diagnostics: Diagnostics,
}

/// A file read from start to end, with the kernel asked to fetch what comes next while the
/// parsers work on what came before.
///
/// A log that is not in the page cache (just copied, or pushed out since it was written) was
/// read a piece at a time as the reader asked for it, each wait a pause in which parsers and
/// encoders could run out of work: profiled on an import, the reader spent 122 ms waiting on
/// the disk while the cores sat idle 380 ms in all.
struct ReadAhead {
    file: File,
    read_to: u64,
    advised_to: u64,
    window: u64,
}

/// How far ahead of the reader the kernel is asked to fetch.
const READ_AHEAD_BYTES: u64 = 32 << 20;

impl ReadAhead {
    fn new(file: File) -> ReadAhead {
        ReadAhead::with_window(file, READ_AHEAD_BYTES)
    }

    fn with_window(file: File, window: u64) -> ReadAhead {
        advise(&file, 0, 0, Advice::Sequential);
        ReadAhead { file, read_to: 0, advised_to: 0, window }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read_to += n as u64;
        if n > 0 && self.read_to + self.window / 2 >= self.advised_to {
            let from = self.advised_to.max(self.read_to);
            advise(&self.file, from, self.window, Advice::WillNeed);
            self.advised_to = from + self.window;
        }
        Ok(n)
    }
}

enum Advice {
    Sequential,
    WillNeed,
}

/// Advice only: where the system takes none (or is not Linux), reading is as before.
#[cfg(target_os = "linux")]
fn advise(file: &File, offset: u64, len: u64, advice: Advice) {
    use std::os::fd::AsRawFd;
    let advice = match advice {
        Advice::Sequential => libc::POSIX_FADV_SEQUENTIAL,
        Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
    };
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else { return };
    // SAFETY: a plain syscall on a descriptor we own; the kernel reads no memory of ours.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), offset, len, advice);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_: &File, _: u64, _: u64, _: Advice) {}

/// Reads one Zeek log file (TSV or JSON lines, plain or compressed), handing each batch to
/// `on_batch` in file order. An error from `on_batch` stops reading and is returned.
pub fn read_file<E>(
    path: &Path,
    options: &ReadOptions,
    on_batch: impl FnMut(LogType, RecordBatch) -> Result<(), E>,
) -> Result<FileSummary, E> {
    let before = FileStamp::of(path).ok();
    let opened = File::open(path).map(ReadAhead::new);
    let input = match opened.and_then(|f| decompress_bounded(f, options.max_expansion)) {
        Ok(r) => r,
        Err(e) => {
            let mut summary = FileSummary::default();
            summary.diagnostics.warn(path, 0, Reason::ReadError, e.to_string());
            return Ok(summary);
        }
    };
    let mut summary = read_stream(path, input, options, on_batch)?;
    if before.is_some() && FileStamp::of(path).ok() != before {
        summary.changed_while_reading = true;
        summary.diagnostics.warn(
            path,
            0,
            Reason::StillBeingWritten,
            "changed while it was read; left for a later run".into(),
        );
    }
    Ok(summary)
}

/// Every batch of `bytes` read as if they were the file `name`, with the summary: for logs held in
/// memory (tests, samples).
pub fn read_bytes(name: &str, bytes: Vec<u8>) -> (Vec<(LogType, RecordBatch)>, FileSummary) {
    let mut batches = Vec::new();
    let input = Box::new(io::Cursor::new(bytes));
    let summary = read_stream(Path::new(name), input, &ReadOptions::default(), |t, b| {
        batches.push((t, b));
        Ok::<(), std::convert::Infallible>(())
    });
    let Ok(summary) = summary;
    (batches, summary)
}

/// Reads a decompressed stream as if it were the file `path` (which names it in messages and
/// gives the log type when the content does not).
pub fn read_stream<E>(
    path: &Path,
    mut input: Box<dyn Read + Send>,
    options: &ReadOptions,
    mut on_batch: impl FnMut(LogType, RecordBatch) -> Result<(), E>,
) -> Result<FileSummary, E> {
    let mut summary = FileSummary::default();
    let source: Arc<str> = path.display().to_string().into();
    let file_name_type: Option<String> = log_name_from_file_name(path).map(str::to_string);
    let threads = options.threads.max(1);
    let in_flight = threads * 3;
    let (chunk_tx, chunk_rx) = bounded::<Chunk>(in_flight);
    let (parsed_tx, parsed_rx) = bounded::<Parsed>(in_flight);
    let (token_tx, token_rx) = bounded::<()>(in_flight);
    // Parsed chunks' buffers go back to the reader: a fresh multi-megabyte buffer per chunk
    // would be paid for again in page faults.
    let (spare_tx, spare_rx) = bounded::<Vec<u8>>(in_flight);
    for _ in 0..in_flight {
        token_tx.send(()).expect("the channel has room for every token");
    }
    let mut result = Ok(());
    let reader_report = std::thread::scope(|scope| {
        let reader = {
            let path = path.to_path_buf();
            let file_name_type = file_name_type.clone();
            let options = options.clone();
            scope.spawn(move || {
                split_chunks(
                    &path,
                    &mut input,
                    &options,
                    file_name_type.as_deref(),
                    chunk_tx,
                    token_rx,
                    spare_rx,
                )
            })
        };
        for _ in 0..threads {
            let chunk_rx = chunk_rx.clone();
            let parsed_tx = parsed_tx.clone();
            let source = source.clone();
            let file_name_type = file_name_type.clone();
            let path = path.to_path_buf();
            let spare_tx = spare_tx.clone();
            let web_json = options.web_json.clone();
            let limits = options.limits;
            let projection = options.projection.clone();
            scope.spawn(move || {
                let mut json = JsonFields::new(web_json);
                for chunk in chunk_rx {
                    let names = (path.as_path(), source.as_ref(), file_name_type.as_deref());
                    let parsed = parse_chunk(names, &mut json, &chunk, limits, &projection);
                    let _ = spare_tx.try_send(chunk.data);
                    if parsed_tx.send(parsed).is_err() {
                        break;
                    }
                }
            });
        }
        drop(chunk_rx);
        drop(parsed_tx);

        let mut next = 0u64;
        let mut pending: BTreeMap<u64, Parsed> = BTreeMap::new();
        'receive: for parsed in &parsed_rx {
            pending.insert(parsed.seq, parsed);
            while let Some(parsed) = pending.remove(&next) {
                next += 1;
                summary.diagnostics.merge(parsed.diagnostics);
                for (log_type, batch) in parsed.batches {
                    let n = batch.num_rows() as u64;
                    summary.records += n;
                    *summary.records_by_type.entry(log_type).or_insert(0) += n;
                    if let Err(e) = on_batch(log_type, batch) {
                        result = Err(e);
                        break 'receive;
                    }
                }
                let _ = token_tx.send(());
            }
        }
        drop(parsed_rx);
        drop(token_tx);
        reader.join().unwrap_or_else(|_| ReaderReport {
            bytes: 0,
            diagnostics: {
                let mut d = Diagnostics::default();
                d.warn(path, 0, Reason::ReadError, "reader thread failed".into());
                d
            },
        })
    });
    result?;
    summary.bytes = reader_report.bytes;
    summary.diagnostics.merge(reader_report.diagnostics);
    Ok(summary)
}

struct ReaderReport {
    bytes: u64,
    diagnostics: Diagnostics,
}

/// The reader thread: decompresses, recognises the format, applies TSV header lines itself and
/// sends line-aligned data chunks to the parsers.
fn split_chunks(
    path: &Path,
    input: &mut dyn Read,
    options: &ReadOptions,
    file_name_type: Option<&str>,
    chunks: Sender<Chunk>,
    tokens: Receiver<()>,
    spare: Receiver<Vec<u8>>,
) -> ReaderReport {
    let mut report = ReaderReport { bytes: 0, diagnostics: Diagnostics::default() };
    let mut splitter = Splitter {
        path,
        file_name_type,
        format: None,
        header: TsvHeader::default(),
        shared_header: None,
        line: 1,
        seq: 0,
        chunks,
        tokens,
        skipped_type_lines: HashMap::new(),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(options.chunk_bytes + 4096);
    // How much of a recycled buffer is the last chunk's unfinished line; the rest of it is room.
    let mut carried: Option<usize> = None;
    let mut discarding_long_line = false;
    let mut eof = false;
    while !eof {
        let start = carried.take().unwrap_or(buf.len());
        // What was read before an error is kept.
        match read_more(input, &mut buf, start, options.chunk_bytes) {
            Ok(n) => eof = n < options.chunk_bytes,
            Err(e) => {
                report.diagnostics.warn(
                    path,
                    splitter.line,
                    Reason::ReadError,
                    format!("{e}; the rest of the file is lost"),
                );
                eof = true;
            }
        }
        report.bytes += (buf.len() - start) as u64;
        if discarding_long_line {
            match memchr::memchr(b'\n', &buf) {
                Some(nl) => {
                    buf.drain(..=nl);
                    discarding_long_line = false;
                    splitter.line += 1;
                }
                None => {
                    buf.clear();
                    continue;
                }
            }
        }
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(nl) => nl + 1,
                None if buf.len() > options.max_line_bytes => {
                    report.diagnostics.warn(
                        path,
                        splitter.line,
                        Reason::LineTooLong,
                        format!("longer than {} bytes", options.max_line_bytes),
                    );
                    buf.clear();
                    discarding_long_line = true;
                    continue;
                }
                None => continue,
            }
        };
        if splitter.format.is_none() && !splitter.recognise(&buf[..cut], &mut report.diagnostics) {
            return report;
        }
        let mut rest = spare.try_recv().unwrap_or_default();
        let tail = buf.len() - cut;
        if rest.len() < tail {
            rest.resize(tail, 0);
        }
        rest[..tail].copy_from_slice(&buf[cut..]);
        carried = Some(tail);
        buf.truncate(cut);
        if !splitter.send(std::mem::take(&mut buf), &mut report.diagnostics) {
            return report;
        }
        buf = rest;
    }
    if splitter.format.is_none() {
        report.diagnostics.warn(path, 0, Reason::UnrecognisedFormat, "empty file".into());
    }
    for (name, n) in splitter.skipped_type_lines {
        report.diagnostics.count(Reason::UnsupportedLogType, n);
        *report.diagnostics.skipped_types.entry(name).or_insert(0) += n;
    }
    report
}

/// Reads up to `want` bytes into `buf` after its first `start`, and cuts `buf` to what it then
/// holds; returns how many were read.
///
/// Whatever `buf` holds beyond `start` is written over, not cleared first: a reader that is not
/// a plain file (one wrapped for read-ahead or decompression) needs the room zeroed before it
/// may fill it, and zeroing each chunk's room was 1.3 % of an import. Recycled chunk buffers
/// come back full, so only what they lack is zeroed.
fn read_more(
    input: &mut dyn Read,
    buf: &mut Vec<u8>,
    start: usize,
    want: usize,
) -> io::Result<usize> {
    if buf.len() < start + want {
        buf.resize(start + want, 0);
    }
    let mut read = 0;
    let outcome = loop {
        if read == want {
            break Ok(read);
        }
        match input.read(&mut buf[start + read..start + want]) {
            Ok(0) => break Ok(read),
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buf.truncate(start + read);
    outcome
}

struct Splitter<'a> {
    path: &'a Path,
    file_name_type: Option<&'a str>,
    format: Option<Format>,
    header: TsvHeader,
    shared_header: Option<Arc<TsvHeader>>,
    /// Line number of the next byte to send.
    line: u64,
    seq: u64,
    chunks: Sender<Chunk>,
    tokens: Receiver<()>,
    skipped_type_lines: HashMap<String, u64>,
}

/// Lines of a file's start that may decide its format.
const RECOGNITION_LINES: usize = 16;

impl Splitter<'_> {
    /// Decides the format from the first bytes; false for a file that is not a log.
    fn recognise(&mut self, data: &[u8], diagnostics: &mut Diagnostics) -> bool {
        let text = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
        let first_line = || {
            let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
            let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
            String::from_utf8_lossy(&text[start..end]).trim_end_matches('\r').to_string()
        };
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            None => true,
            Some(b'#') if crate::web::looks_like_w3c(&first_line()) => {
                self.format = Some(Format::W3c(Arc::new(W3cHeader::default())));
                true
            }
            Some(b'#') => {
                self.format = Some(Format::Tsv(Arc::new(TsvHeader::default())));
                true
            }
            // Servers sometimes write an error-log line into the access log (Apache's
            // `AH00126: Invalid URI`): a few lines of a file decide, not only the first.
            Some(_)
                if String::from_utf8_lossy(&text[..text.len().min(64 << 10)])
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(RECOGNITION_LINES)
                    .any(|l| crate::web::looks_like_access_log(l.trim_end_matches('\r'))) =>
            {
                self.format = Some(Format::AccessLog);
                true
            }
            Some(b'{') => {
                self.format = Some(Format::Json);
                true
            }
            Some(_) => {
                let first = String::from_utf8_lossy(&text[..text.len().min(40)]).into_owned();
                diagnostics.warn(
                    self.path,
                    1,
                    Reason::UnrecognisedFormat,
                    format!(
                        "neither Zeek TSV/JSON nor a web access log: starts {:?}",
                        short(&first)
                    ),
                );
                false
            }
        }
    }

    /// Sends complete lines; TSV header lines are applied here so that every chunk carries the
    /// header in force for it. False when the parsers have gone (the caller stopped).
    fn send(&mut self, data: Vec<u8>, diagnostics: &mut Diagnostics) -> bool {
        if data.is_empty() {
            return true;
        }
        match &self.format {
            Some(Format::Tsv(_)) => {}
            Some(Format::W3c(_)) => return self.send_w3c(data, diagnostics),
            Some(Format::AccessLog) => return self.send_data(data, Format::AccessLog),
            _ => return self.send_data(data, Format::Json),
        }
        // The common case, a chunk of data lines under the header in force, goes out uncopied,
        // with the line ends that showed it has no header line.
        let line_ends = LineEnds::of(&data);
        if data[0] != b'#'
            && !line_ends.any_line_starts_with(&data, b'#')
            && let Some(Ok(_)) = self.header.log_type()
        {
            let format = self.current_format();
            return self.send_indexed(data, line_ends, format);
        }
        let mut rest: &[u8] = &data;
        while !rest.is_empty() {
            if rest[0] == b'#' {
                let end = memchr::memchr(b'\n', rest).map(|i| i + 1).unwrap_or(rest.len());
                let line = String::from_utf8_lossy(&rest[..end]);
                if let Err(e) = self.header.apply(&line, self.file_name_type) {
                    diagnostics.warn(self.path, self.line, Reason::BadHeader, e);
                }
                self.line += 1;
                rest = &rest[end..];
                continue;
            }
            let end = memchr::memmem::find(rest, b"\n#").map(|i| i + 1).unwrap_or(rest.len());
            let (block, after) = rest.split_at(end);
            rest = after;
            match self.header.log_type() {
                Some(Err(name)) => {
                    let lines = count_lines(block);
                    *self.skipped_type_lines.entry(name.to_string()).or_insert(0) += lines;
                    self.line += lines;
                }
                _ => {
                    let format = self.current_format();
                    if !self.send_data(block.to_vec(), format) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Like the TSV case: `#Fields:` lines change the header the following lines are read with.
    fn send_w3c(&mut self, data: Vec<u8>, diagnostics: &mut Diagnostics) -> bool {
        let Some(Format::W3c(current)) = &self.format else { return true };
        let mut header: W3cHeader = (**current).clone();
        let mut rest: &[u8] = &data;
        while !rest.is_empty() {
            if rest[0] == b'#' {
                let end = memchr::memchr(b'\n', rest).map(|i| i + 1).unwrap_or(rest.len());
                let line = String::from_utf8_lossy(&rest[..end]);
                header.apply(line.trim_end());
                self.format = Some(Format::W3c(Arc::new(header.clone())));
                self.line += 1;
                rest = &rest[end..];
                continue;
            }
            let end = memchr::memmem::find(rest, b"\n#").map(|i| i + 1).unwrap_or(rest.len());
            let (block, after) = rest.split_at(end);
            rest = after;
            if header.is_empty() {
                let lines = count_lines(block);
                diagnostics.warn(
                    self.path,
                    self.line,
                    Reason::NoHeader,
                    format!("{lines} line(s) before any #Fields: header"),
                );
                self.line += lines;
                continue;
            }
            let format = self.format.clone().expect("set above");
            if !self.send_data(block.to_vec(), format) {
                return false;
            }
        }
        true
    }

    /// The header in force, shared by every chunk until a header line changes it.
    fn current_format(&mut self) -> Format {
        if self.shared_header.as_ref().is_none_or(|h| **h != self.header) {
            self.shared_header = Some(Arc::new(self.header.clone()));
        }
        Format::Tsv(self.shared_header.clone().expect("set above"))
    }

    fn send_data(&mut self, data: Vec<u8>, format: Format) -> bool {
        let line_ends = LineEnds::of(&data);
        self.send_indexed(data, line_ends, format)
    }

    fn send_indexed(&mut self, data: Vec<u8>, line_ends: LineEnds, format: Format) -> bool {
        if self.tokens.recv().is_err() {
            return false;
        }
        let lines = match &line_ends {
            LineEnds::Indexed(ends) => lines_after_newlines(&data, ends.len() as u64),
            LineEnds::Unindexed => count_lines(&data),
        };
        let chunk = Chunk { seq: self.seq, first_line: self.line, lines, line_ends, data, format };
        self.seq += 1;
        self.line += lines;
        self.chunks.send(chunk).is_ok()
    }
}

/// Where each `\n` of a chunk is: the splitter counts lines and looks for header lines with it, a
/// parser cuts the lines with it, and the chunk is scanned once. A chunk of very short lines (a
/// file of blank lines) or too long for 32-bit offsets is not indexed, so that the index never
/// outweighs the data: its lines are found again where they are needed.
enum LineEnds {
    Indexed(Vec<u32>),
    Unindexed,
}

impl LineEnds {
    /// At most one entry per this many bytes: an index of at most a quarter of the data.
    const MIN_AVERAGE_LINE: usize = 16;

    fn of(data: &[u8]) -> LineEnds {
        if u32::try_from(data.len()).is_err() {
            return LineEnds::Unindexed;
        }
        let most = data.len() / Self::MIN_AVERAGE_LINE + 1;
        let mut ends = Vec::with_capacity((data.len() / 128 + 1).min(most));
        for end in memchr::memchr_iter(b'\n', data) {
            if ends.len() == most {
                return LineEnds::Unindexed;
            }
            ends.push(end as u32);
        }
        LineEnds::Indexed(ends)
    }

    /// Whether a line after the first starts with `byte`.
    fn any_line_starts_with(&self, data: &[u8], byte: u8) -> bool {
        match self {
            LineEnds::Indexed(ends) => {
                ends.iter().any(|&end| data.get(end as usize + 1) == Some(&byte))
            }
            LineEnds::Unindexed => memchr::memmem::find(data, &[b'\n', byte]).is_some(),
        }
    }
}

fn count_lines(data: &[u8]) -> u64 {
    lines_after_newlines(data, memchr::memchr_iter(b'\n', data).count() as u64)
}

/// Lines in `data` holding `newlines` of `\n`: a last line without one counts too.
fn lines_after_newlines(data: &[u8], newlines: u64) -> u64 {
    newlines + u64::from(!data.is_empty() && !data.ends_with(b"\n"))
}

/// A parser thread's work on one chunk.
fn parse_chunk(
    (path, source, file_name_type): (&Path, &str, Option<&str>),
    json: &mut JsonFields,
    chunk: &Chunk,
    limits: RecordLimits,
    projection: &Option<Projection>,
) -> Parsed {
    let mut diagnostics = Diagnostics::default();
    let wanted = |log_type: LogType| match projection {
        None => Some(None),
        Some(p) if p.log_type == log_type => Some(Some(p.wanted.clone())),
        Some(_) => None,
    };
    if let (Format::Tsv(header), Some(p)) = (&chunk.format, projection)
        && matches!(header.log_type(), Some(Ok(t)) if t != p.log_type)
    {
        return Parsed { seq: chunk.seq, batches: Vec::new(), diagnostics };
    }
    let mut builders: Vec<BatchBuilder> = Vec::new();
    // Validated once for the chunk; a line is then a slice of it, with no second check.
    // (simdutf8: std's check was a thirtieth of a raw-log query.)
    let chunk_text = simdutf8::basic::from_utf8(&chunk.data).ok();
    let path: PathBuf = path.to_path_buf();
    let mut bad_json_fields: Vec<String> = Vec::new();
    // A TSV chunk is nearly always one log type, one record a line: builders sized for it are
    // never regrown (and copied) on the way, up to a bound that a file of empty lines cannot
    // turn into hundreds of megabytes. Other formats may mix types in a chunk.
    let capacity = match chunk.format {
        Format::Tsv(_) => chunk.lines.clamp(1, 65_536) as usize,
        _ => 8192,
    };
    let mut tsv_lines: Vec<(u64, HeldLine)> = match chunk.format {
        Format::Tsv(_) => Vec::with_capacity(capacity),
        _ => Vec::new(),
    };
    for (this_line, raw) in (chunk.first_line..).zip(lines(&chunk.data, &chunk.line_ends)) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() || raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let offset = raw.as_ptr() as usize - chunk.data.as_ptr() as usize;
        let valid = chunk_text.map(|t| &t[offset..offset + raw.len()]);
        let repaired: Option<String> = match valid.is_some() || std::str::from_utf8(raw).is_ok() {
            true => None,
            false => {
                diagnostics.warn(
                    &path,
                    this_line,
                    Reason::InvalidUtf8,
                    "bytes replaced with U+FFFD".into(),
                );
                Some(String::from_utf8_lossy(raw).into_owned())
            }
        };
        let text = match (&repaired, valid) {
            (Some(text), _) => text.as_str(),
            (None, Some(text)) => text,
            (None, None) => std::str::from_utf8(raw).unwrap_or_default(),
        };
        match &chunk.format {
            Format::Tsv(header) => {
                if !matches!(header.log_type(), Some(Ok(_))) {
                    diagnostics.warn(&path, this_line, Reason::NoHeader, short(text));
                    continue;
                }
                // Converted together once every line is known (`TsvHeader::append_lines`).
                tsv_lines.push(match repaired {
                    Some(text) => (this_line, HeldLine::Repaired(text)),
                    None => (this_line, HeldLine::InChunk(offset, raw.len())),
                });
            }
            Format::AccessLog | Format::W3c(_) => {
                let mut row = Row::new(LogType::Web);
                let mut bad: Vec<&'static str> = Vec::new();
                let parsed = match &chunk.format {
                    Format::W3c(header) => header.parse_line(text, &mut row, &mut bad),
                    _ => crate::web::parse_access_line(text, &mut row, &mut bad),
                };
                match (parsed, wanted(LogType::Web)) {
                    (Ok(()), Some(fields)) => {
                        builder_for(&mut builders, LogType::Web, capacity, limits, fields)
                            .append(&row, source, this_line)
                    }
                    (Ok(()), None) => {}
                    (Err((reason, detail)), _) => {
                        diagnostics.warn(&path, this_line, reason, detail)
                    }
                }
                for f in bad {
                    diagnostics.warn(&path, this_line, Reason::BadValue, format!("field {f}"));
                }
            }
            Format::Json => {
                bad_json_fields.clear();
                match json.parse_line(text, file_name_type, &mut bad_json_fields) {
                    Ok(JsonRecord::Parsed(log_type, row)) => {
                        if let Some(fields) = wanted(log_type) {
                            builder_for(&mut builders, log_type, capacity, limits, fields)
                                .append(&row, source, this_line)
                        }
                    }
                    Ok(JsonRecord::Unsupported(name)) => {
                        diagnostics.count(Reason::UnsupportedLogType, 1);
                        *diagnostics.skipped_types.entry(name).or_insert(0) += 1;
                    }
                    Err((reason, detail)) => diagnostics.warn(&path, this_line, reason, detail),
                }
                for f in bad_json_fields.drain(..) {
                    diagnostics.warn(&path, this_line, Reason::BadValue, format!("field {f}"));
                }
            }
        }
    }
    if let Format::Tsv(header) = &chunk.format
        && let Some(Ok(log_type)) = header.log_type()
    {
        let lines: Vec<(u64, &str)> = tsv_lines
            .iter()
            .map(|(number, held)| {
                let text = match held {
                    HeldLine::Repaired(text) => text.as_str(),
                    HeldLine::InChunk(offset, len) => match chunk_text {
                        Some(text) => &text[*offset..offset + len],
                        // Checked valid when it was held.
                        None => std::str::from_utf8(&chunk.data[*offset..offset + len])
                            .unwrap_or_default(),
                    },
                };
                (*number, text)
            })
            .collect();
        let mut issues = Vec::new();
        let fields = wanted(log_type).flatten();
        let builder = builder_for(&mut builders, log_type, capacity, limits, fields);
        header.append_lines(&lines, builder, source, &mut issues);
        for (line, reason, detail) in issues {
            diagnostics.warn(&path, line, reason, detail);
        }
    }
    for builder in &mut builders {
        for (line, detail) in builder.take_trimmed() {
            diagnostics.warn(&path, line, Reason::Truncated, detail);
        }
    }
    let batches = builders.iter_mut().map(|b| (b.log_type(), b.finish())).collect();
    Parsed { seq: chunk.seq, batches, diagnostics }
}

/// A TSV line kept for conversion with the rest of its chunk.
enum HeldLine {
    /// Valid UTF-8 at (offset, length) in the chunk.
    InChunk(usize, usize),
    /// Made valid by replacing the bytes that were not.
    Repaired(String),
}

/// The lines of a chunk (without their `\n`), cut at its line ends; a final line without one is
/// included.
fn lines<'a>(data: &'a [u8], line_ends: &'a LineEnds) -> impl Iterator<Item = &'a [u8]> {
    let mut start = 0;
    let mut indexed = match line_ends {
        LineEnds::Indexed(ends) => Some(ends.iter()),
        LineEnds::Unindexed => None,
    };
    let mut found = memchr::memchr_iter(b'\n', if indexed.is_some() { &[] } else { data });
    std::iter::from_fn(move || {
        if start > data.len() {
            return None;
        }
        let cut = match &mut indexed {
            Some(ends) => ends.next().map(|&end| end as usize),
            None => found.next(),
        };
        let end = cut.unwrap_or(data.len());
        let line = &data[start..end];
        start = end + 1;
        Some(line)
    })
}

fn builder_for(
    builders: &mut Vec<BatchBuilder>,
    log_type: LogType,
    capacity: usize,
    limits: RecordLimits,
    wanted: Option<Arc<[bool]>>,
) -> &mut BatchBuilder {
    match builders.iter().position(|b| b.log_type() == log_type) {
        Some(i) => &mut builders[i],
        None => {
            builders.push(
                BatchBuilder::with_limits(log_type, capacity, limits).with_projection(wanted),
            );
            builders.last_mut().expect("just pushed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asking the kernel to read ahead leaves what is read alone: every byte, in order, across
    /// many windows and reads of uneven sizes.
    #[test]
    fn a_file_read_ahead_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conn.log");
        let written: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &written).unwrap();
        let mut reader = ReadAhead::with_window(File::open(&path).unwrap(), 4096);
        let mut read = Vec::new();
        let mut buf = vec![0u8; 3001];
        for size in [1usize, 17, 3001, 512].into_iter().cycle() {
            let n = reader.read(&mut buf[..size]).unwrap();
            if n == 0 {
                break;
            }
            read.extend_from_slice(&buf[..n]);
        }
        assert_eq!(read.len(), written.len());
        assert!(read == written, "the bytes differ");
        assert!(reader.advised_to >= written.len() as u64, "advice kept ahead of the reader");
    }

    /// Reading into a recycled buffer writes over its stale bytes: the buffer ends up holding
    /// its kept start and what was read, across short reads, at the end of the input, and up
    /// to an error.
    #[test]
    fn reading_more_overwrites_a_recycled_buffer_and_keeps_what_came_before_an_error() {
        /// Hands out at most 5 bytes a read, then fails once its input is used up.
        struct Trickle<'a>(&'a [u8], bool);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() && self.1 {
                    return Err(io::Error::other("disk gone"));
                }
                let n = out.len().min(5).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut buf = b"kept|stale stale stale stale stale".to_vec();
        let n = read_more(&mut Trickle(b"0123456789ab", false), &mut buf, 5, 8).unwrap();
        assert_eq!((n, buf.as_slice()), (8, &b"kept|01234567"[..]));
        let n = read_more(&mut Trickle(b"xyz", false), &mut buf, 5, 100).unwrap();
        assert_eq!((n, buf.as_slice()), (3, &b"kept|xyz"[..]));
        let failed = read_more(&mut Trickle(b"abcdefg", true), &mut buf, 2, 100).unwrap_err();
        assert_eq!(failed.to_string(), "disk gone");
        assert_eq!(buf, b"keabcdefg");
    }

    /// Indexed or not, a chunk yields the same lines (a last one without `\n` included) and the
    /// same header check; a chunk of blank lines is not indexed.
    #[test]
    fn lines_are_the_same_with_or_without_the_index() {
        let samples: [&[u8]; 6] = [
            b"a\tb\nc\td\n",
            b"a\tb\nc\td",
            b"\n\n\nx\n",
            b"",
            b"one\n#close\ttwo\nthree\r\n",
            &[b'\n'; 4096],
        ];
        for data in samples {
            let index = LineEnds::of(data);
            let unindexed: Vec<&[u8]> = lines(data, &LineEnds::Unindexed).collect();
            assert_eq!(lines(data, &index).collect::<Vec<_>>(), unindexed, "{data:?}");
            assert_eq!(
                index.any_line_starts_with(data, b'#'),
                LineEnds::Unindexed.any_line_starts_with(data, b'#'),
                "{data:?}"
            );
        }
        assert!(matches!(LineEnds::of(&[b'\n'; 4096]), LineEnds::Unindexed));
        let long = b"1700000000.000000\tCa\n1700000001.000000\tCb\n1700000002.000000\tCc\n";
        assert!(matches!(LineEnds::of(long), LineEnds::Indexed(ends) if ends == [20, 41, 62]));
        assert!(LineEnds::of(b"one\n#close\n").any_line_starts_with(b"one\n#close\n", b'#'));
    }
}
