//! `rmqstore`: offline tool for a broker store directory (ours or a Java broker's).
//!
//! - `inspect <root>`: files, offsets, per-queue ranges, message count;
//! - `verify <root>`: CRC and structure check; exit code 1 on damage;
//! - `dump <root> [--topic T] [--queue N] [--raw]`: messages as JSON lines (sorted keys; `--raw`
//!   adds `propertiesString`, the stored properties text in stored order);
//! - `diff <a> <b>`: CommitLogs of two stores (a master and its slave) compared byte for byte;
//! - `rebuild <root> <out>`: ConsumeQueue and index files rebuilt from the CommitLog into `out`;
//! - `append <root> --count N [--sync] [--size B]`: appends test messages, printing one line per
//!   acknowledged message (used by crash tests and benches).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rocketmq_rs::store::consume_queue::{CQ_UNIT_SIZE, ConsumeQueue, CqUnit};
use rocketmq_rs::store::dispatch::{SCHEDULE_TOPIC, build_index};
use rocketmq_rs::store::record::{
    MessageRecord, TRANSACTION_MASK, TRANSACTION_PREPARED, TRANSACTION_ROLLBACK, tags_code,
};
use rocketmq_rs::store::tool::walk;
use rocketmq_rs::store::{FlushDiskType, MessageStore, PutMessage, StoreConfig};

#[derive(Debug, Parser)]
#[command(
    name = "rmqstore",
    about = "Inspect, verify and dump RocketMQ store directories"
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Files, offsets, per-queue ranges and message count.
    Inspect { root: PathBuf },
    /// CRC and structure check of every record; non-zero exit on damage.
    Verify { root: PathBuf },
    /// Messages as JSON lines.
    Dump {
        root: PathBuf,
        #[arg(long)]
        topic: Option<String>,
        #[arg(long)]
        queue: Option<i32>,
        /// Also print the stored properties text as is (`propertiesString`).
        #[arg(long)]
        raw: bool,
    },
    /// Compare two stores' CommitLogs byte for byte (a master and its slave); non-zero exit on
    /// any difference.
    Diff { a: PathBuf, b: PathBuf },
    /// Rebuild ConsumeQueue and index files from the CommitLog into OUT.
    Rebuild {
        root: PathBuf,
        out: PathBuf,
        #[arg(long, default_value_t = 300_000 * 20)]
        cq_file_size: usize,
        #[arg(long, default_value_t = 5_000_000)]
        hash_slots: usize,
        #[arg(long, default_value_t = 20_000_000)]
        index_num: usize,
    },
    /// Append test messages through the store, printing each acknowledged one.
    Append {
        root: PathBuf,
        #[arg(long, default_value_t = 1000)]
        count: u64,
        #[arg(long)]
        sync: bool,
        #[arg(long, default_value_t = 1024)]
        size: usize,
        #[arg(long, default_value_t = 1024 * 1024 * 1024)]
        commit_log_size: usize,
        #[arg(long, default_value_t = 4)]
        queues: i32,
        #[arg(long, default_value = "CrashTopic")]
        topic: String,
    },
}

fn main() -> ExitCode {
    rocketmq_rs::cli::init_logging(
        "warn",
        rocketmq_rs::cli::Console::Stderr,
        rocketmq_rs::cli::Server::Broker,
    );
    let args = Args::parse();
    let result = match args.cmd {
        Cmd::Inspect { root } => inspect(&root),
        Cmd::Verify { root } => verify(&root),
        Cmd::Dump {
            root,
            topic,
            queue,
            raw,
        } => dump(&root, topic.as_deref(), queue, raw),
        Cmd::Diff { a, b } => diff(&a, &b),
        Cmd::Rebuild {
            root,
            out,
            cq_file_size,
            hash_slots,
            index_num,
        } => rebuild(&root, &out, cq_file_size, hash_slots, index_num),
        Cmd::Append {
            root,
            count,
            sync,
            size,
            commit_log_size,
            queues,
            topic,
        } => append(&root, count, sync, size, commit_log_size, queues, &topic),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rmqstore: {e}");
            ExitCode::from(2)
        }
    }
}

type Res = Result<ExitCode, Box<dyn std::error::Error>>;

fn inspect(root: &Path) -> Res {
    let mut queues: BTreeMap<(String, i32), (i64, i64, usize)> = BTreeMap::new();
    let reports = walk(&root.join("commitlog"), false, |rec| {
        let e = queues
            .entry((rec.topic.clone(), rec.queue_id))
            .or_insert((i64::MAX, i64::MIN, 0));
        e.0 = e.0.min(rec.queue_offset);
        e.1 = e.1.max(rec.queue_offset);
        e.2 += 1;
    })?;
    let mut out = std::io::stdout().lock();
    let mut total = 0;
    for r in &reports {
        total += r.records;
        writeln!(
            out,
            "file {} start={} size={} records={} end={}{}{}",
            r.file.path.display(),
            r.file.start,
            r.file.len,
            r.records,
            r.file.start + r.end as u64,
            if r.blank_end { " blank-filler" } else { "" },
            r.problem
                .as_ref()
                .map(|p| format!(" PROBLEM: {p}"))
                .unwrap_or_default()
        )?;
    }
    for ((topic, qid), (min, max, n)) in &queues {
        writeln!(
            out,
            "queue {topic}/{qid} offsets {min}..={max} messages={n}"
        )?;
    }
    writeln!(out, "messages={total} files={}", reports.len())?;
    Ok(ExitCode::SUCCESS)
}

fn verify(root: &Path) -> Res {
    let reports = walk(&root.join("commitlog"), true, |_| {})?;
    let mut bad = 0;
    let last = reports.len().saturating_sub(1);
    for (i, r) in reports.iter().enumerate() {
        // Only the last file may end without a blank filler; a problem anywhere is damage.
        let unfinished = i < last && !r.blank_end;
        if let Some(p) = &r.problem {
            println!("DAMAGED {}: {p}", r.file.path.display());
            bad += 1;
        } else if unfinished {
            println!(
                "DAMAGED {}: valid data ends at {} without the end-of-file blank",
                r.file.path.display(),
                r.end
            );
            bad += 1;
        }
    }
    let total: usize = reports.iter().map(|r| r.records).sum();
    println!(
        "verified {total} records in {} files: {}",
        reports.len(),
        if bad == 0 { "OK" } else { "DAMAGED" }
    );
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn json_line(rec: &MessageRecord, raw: bool) -> String {
    let mut props = serde_json::Map::new();
    for seg in rec.properties.split('\u{2}') {
        if let Some((k, v)) = seg.split_once('\u{1}')
            && !k.is_empty()
        {
            let _ = props.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
    }
    props.sort_keys();
    let mut m = serde_json::Map::new();
    let _ = m.insert("body".into(), base64(&rec.body).into());
    let _ = m.insert("bornTimestamp".into(), rec.born_timestamp.into());
    let _ = m.insert("flag".into(), rec.flag.into());
    let _ = m.insert("msgId".into(), rec.msg_id().into());
    let _ = m.insert("physicalOffset".into(), rec.physical_offset.into());
    let _ = m.insert("properties".into(), serde_json::Value::Object(props));
    if raw {
        let _ = m.insert("propertiesString".into(), rec.properties.clone().into());
    }
    let _ = m.insert("queueId".into(), rec.queue_id.into());
    let _ = m.insert("queueOffset".into(), rec.queue_offset.into());
    let _ = m.insert("reconsumeTimes".into(), rec.reconsume_times.into());
    let _ = m.insert("storeTimestamp".into(), rec.store_timestamp.into());
    let _ = m.insert("sysFlag".into(), rec.sys_flag.into());
    let _ = m.insert("topic".into(), rec.topic.clone().into());
    serde_json::Value::Object(m).to_string()
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4u32 {
            if usize::try_from(i).unwrap_or(0) <= chunk.len() {
                let sextet = usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0);
                out.push(char::from(T.get(sextet).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn dump(root: &Path, topic: Option<&str>, queue: Option<i32>, raw: bool) -> Res {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut err = None;
    let _ = walk(&root.join("commitlog"), false, |rec| {
        if topic.is_some_and(|t| t != rec.topic) || queue.is_some_and(|q| q != rec.queue_id) {
            return;
        }
        if let Err(e) = writeln!(out, "{}", json_line(rec, raw)) {
            err = Some(e);
        }
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The CommitLog files of a store root, sorted by name.
fn commit_log_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v = std::fs::read_dir(root.join("commitlog"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    v.sort();
    Ok(v)
}

/// Drops trailing files that hold only zeros: Java's `AllocateMappedFileService` creates the next
/// CommitLog file before it is needed, so a Java broker has one more (empty) file than its peer.
fn without_preallocated(mut files: Vec<PathBuf>) -> std::io::Result<(Vec<PathBuf>, usize)> {
    let mut dropped = 0;
    while let Some(last) = files.last() {
        if std::fs::read(last)?.iter().any(|b| *b != 0) {
            break;
        }
        let _ = files.pop();
        dropped += 1;
    }
    Ok((files, dropped))
}

fn diff(a: &Path, b: &Path) -> Res {
    let (fa, za) = without_preallocated(commit_log_files(a)?)?;
    let (fb, zb) = without_preallocated(commit_log_files(b)?)?;
    let names = |v: &[PathBuf]| -> Vec<String> {
        v.iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    };
    if names(&fa) != names(&fb) {
        println!("different files: {:?} vs {:?}", names(&fa), names(&fb));
        return Ok(ExitCode::FAILURE);
    }
    let mut bytes = 0usize;
    for (x, y) in fa.iter().zip(&fb) {
        let (dx, dy) = (std::fs::read(x)?, std::fs::read(y)?);
        if dx != dy {
            let at = dx.iter().zip(&dy).position(|(p, q)| p != q);
            println!(
                "{} differs at byte {} (sizes {} and {})",
                x.display(),
                at.map_or_else(|| "end".to_owned(), |p| p.to_string()),
                dx.len(),
                dy.len()
            );
            return Ok(ExitCode::FAILURE);
        }
        bytes += dx.len();
    }
    println!(
        "identical: {} CommitLog files, {bytes} bytes (empty preallocated files ignored: {za} and {zb})",
        fa.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn rebuild(root: &Path, out: &Path, cq_file_size: usize, slots: usize, nums: usize) -> Res {
    let cq_root = out.join("consumequeue");
    let index_dir = out.join("index");
    let mut queues: BTreeMap<(String, i32), ConsumeQueue> = BTreeMap::new();
    let mut index = Vec::new();
    let mut failure: Option<String> = None;
    let delays = StoreConfig::new(root);
    let _ = walk(&root.join("commitlog"), false, |rec| {
        if failure.is_some() {
            return;
        }
        let tx = rec.sys_flag & TRANSACTION_MASK;
        if tx != TRANSACTION_PREPARED && tx != TRANSACTION_ROLLBACK {
            let key = (rec.topic.clone(), rec.queue_id);
            if !queues.contains_key(&key) {
                match ConsumeQueue::load(&cq_root, &rec.topic, rec.queue_id, cq_file_size) {
                    Ok(q) => {
                        let _ = queues.insert(key.clone(), q);
                    }
                    Err(e) => failure = Some(e.to_string()),
                }
            }
            let size = rec.encoded_len();
            let code = if rec.topic == SCHEDULE_TOPIC {
                let level = rec
                    .property("DELAY")
                    .and_then(|d| d.parse::<usize>().ok())
                    .unwrap_or(0);
                rec.store_timestamp + delays.delay_millis(level).unwrap_or(0)
            } else {
                tags_code(rec.property("TAGS"))
            };
            let unit = CqUnit {
                commit_log_offset: rec.physical_offset,
                size: i32::try_from(size).unwrap_or(0),
                tags_code: code,
            };
            if let Some(q) = queues.get(&key)
                && let Err(e) = q.put(u64::try_from(rec.queue_offset).unwrap_or(0), unit)
            {
                failure = Some(e.to_string());
            }
        }
        if tx != TRANSACTION_ROLLBACK
            && let Err(e) = build_index(&mut index, &index_dir, slots, nums, rec)
        {
            failure = Some(e.to_string());
        }
    })?;
    if let Some(f) = failure {
        return Err(f.into());
    }
    for q in queues.values() {
        q.flush()?;
    }
    for f in &index {
        f.flush()?;
    }
    println!(
        "rebuilt {} queues ({} bytes/unit) and {} index files into {}",
        queues.len(),
        CQ_UNIT_SIZE,
        index.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn append(
    root: &Path,
    count: u64,
    sync: bool,
    size: usize,
    commit_log_size: usize,
    queues: i32,
    topic: &str,
) -> Res {
    let mut cfg = StoreConfig::new(root);
    cfg.commit_log_file_size = commit_log_size;
    // A crash test counts every acknowledged message: on a disk above
    // `diskSpaceCleanForciblyRatio` (85 %) the clean service would delete the files it checks.
    cfg.clean_file_forcibly_enable = false;
    cfg.flush_disk_type = if sync {
        FlushDiskType::SyncFlush
    } else {
        FlushDiskType::AsyncFlush
    };
    let store = MessageStore::open(cfg)?;
    let start = Instant::now();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let host = "127.0.0.1:10911".parse()?;
    for i in 0..count {
        let body = format!("{i:016}")
            .into_bytes()
            .into_iter()
            .cycle()
            .take(size.max(16))
            .collect::<Vec<u8>>();
        let msg = PutMessage {
            topic: topic.to_owned(),
            queue_id: i32::try_from(i % u64::try_from(queues.max(1)).unwrap_or(1)).unwrap_or(0),
            flag: 0,
            body: body.into(),
            properties: format!("KEYS\u{1}k{i}\u{2}UNIQ_KEY\u{1}U{i:016}\u{2}"),
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        let r = store.put(std::slice::from_ref(&msg))?;
        if sync && !store.wait_flushed_blocking(r.end_offset(), Duration::from_secs(5)) {
            return Err("FLUSH_DISK_TIMEOUT".into());
        }
        writeln!(out, "ACK {i} {} {}", r.wrote_offset, r.queue_offset)?;
        if sync {
            out.flush()?;
        }
    }
    out.flush()?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "appended {count} x {size} B in {secs:.3} s = {:.0} msg/s",
        count as f64 / secs
    );
    store.shutdown()?;
    Ok(ExitCode::SUCCESS)
}
