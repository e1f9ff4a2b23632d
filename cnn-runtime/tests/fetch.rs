//! `data::fetch` against a local HTTP server on 127.0.0.1 that this test starts: a good fetch,
//! a wrong checksum, a connection cut halfway and resumed, a 404, a server that never answers,
//! an archive, and the real MNIST files with the checksums kept in the code. Nothing here
//! reaches beyond this machine; the server stops by itself after a bounded time.
#![cfg(feature = "fetch")]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cnn_runtime::data::fetch::{self, Check, Fetch, FetchError, Remote, Source};
use cnn_runtime::data::mnist;
use sha2::{Digest, Sha256};

#[path = "data/dir.rs"]
mod dir;

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/mnist-small");

/// How the server treats a path's first segment: `/good/`, `/cut/` (its first answer stops
/// halfway), `/missing/` (404), `/silent/` (reads the request, never answers).
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cut = Arc::new(Mutex::new(false));
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut connections = 0;
        while Instant::now() < deadline && connections < 100 {
            match listener.accept() {
                Ok((stream, _)) => {
                    connections += 1;
                    let (files, cut) = (files.clone(), Arc::clone(&cut));
                    std::thread::spawn(move || answer(stream, &files, &cut));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    base
}

fn answer(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>, cut: &Mutex<bool>) {
    stream.set_nonblocking(false).unwrap();
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        request.push(byte[0]);
    }
    let request = String::from_utf8_lossy(&request).into_owned();
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (mode, name) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", ""));
    let from: usize = request
        .lines()
        .find_map(|l| l.strip_prefix("Range: bytes="))
        .and_then(|r| r.trim_end_matches('-').parse().ok())
        .unwrap_or(0);
    let Some(body) = files.get(name).filter(|_| mode != "missing") else {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if mode == "silent" {
        std::thread::sleep(Duration::from_secs(5));
        return;
    }
    let status = if from > 0 {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    let rest = &body[from..];
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n",
        rest.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let first_cut = mode == "cut" && !std::mem::replace(&mut *cut.lock().unwrap(), true);
    let sent = if first_cut {
        &rest[..rest.len() / 2]
    } else {
        rest
    };
    let _ = stream.write_all(sent);
}

/// The embedded MNIST files, by name.
fn assets() -> HashMap<String, Vec<u8>> {
    std::fs::read_dir(ASSETS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// A source of the embedded MNIST files, checked by the SHA-256 of their contents, or with
/// `wrong` by a hash that does not match.
fn small_mnist(base: &str, wrong: bool) -> Source {
    let files: Vec<Remote> = assets()
        .into_iter()
        .map(|(name, bytes)| {
            let mut contents = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut contents)
                .unwrap();
            let sha = match wrong {
                true => "0".repeat(64),
                false => format!("{:x}", Sha256::digest(&contents)),
            };
            Remote {
                name: leak(name),
                check: Check::ContentSha256(leak(sha)),
            }
        })
        .collect();
    Source {
        name: "mnist-small",
        folder: "mnist-small",
        base: leak(base.to_owned()),
        files: Box::leak(files.into_boxed_slice()),
        archive: false,
    }
}

fn fetch_into(root: &Path, source: &Source, timeout: Duration) -> Result<PathBuf, FetchError> {
    let mut progress = |_: &str, _: u64, _: Option<u64>| {};
    Fetch {
        root: root.to_owned(),
        mirror: None,
        timeout,
        progress: &mut progress,
    }
    .run(source)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The loader reads in `folder` the images and labels of the embedded subset.
fn same_as_embedded(folder: &Path) {
    let (loaded, embedded) = (mnist::load(folder).unwrap(), mnist::embedded());
    assert_eq!((loaded.train, loaded.test), (embedded.train, embedded.test));
}

#[test]
fn a_good_fetch_gives_the_files_the_loader_reads() {
    let base = serve(assets());
    let root = tempfile::tempdir().unwrap();
    let source = small_mnist(&format!("{base}/good"), false);
    let folder = fetch_into(root.path(), &source, Duration::from_secs(10)).unwrap();
    assert_eq!(files_in(&folder).len(), 4, "{:?}", files_in(&folder));
    same_as_embedded(&folder);
    assert!(
        fetch::status(&source, root.path())
            .iter()
            .all(|(_, s)| s.is_ok())
    );
}

#[test]
fn a_wrong_checksum_removes_the_file_and_names_both_hashes() {
    let base = serve(assets());
    let root = tempfile::tempdir().unwrap();
    let source = small_mnist(&format!("{base}/good"), true);
    let error = fetch_into(root.path(), &source, Duration::from_secs(10)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, FetchError::Checksum { .. }), "{message}");
    assert!(message.contains(&"0".repeat(64)), "{message}");
    let found = match &error {
        FetchError::Checksum { found, .. } => found.clone(),
        _ => unreachable!(),
    };
    assert!(found.len() == 64 && message.contains(&found), "{message}");
    assert!(files_in(&root.path().join("mnist-small")).is_empty());
}

#[test]
fn a_connection_cut_halfway_resumes_on_the_next_fetch() {
    let base = serve(assets());
    let root = tempfile::tempdir().unwrap();
    let source = small_mnist(&format!("{base}/cut"), false);
    let error = fetch_into(root.path(), &source, Duration::from_secs(10)).unwrap_err();
    assert!(
        error.to_string().contains("fetch again to resume"),
        "{error}"
    );
    let folder = root.path().join("mnist-small");
    let parts: Vec<String> = files_in(&folder);
    assert_eq!(parts.len(), 1, "{parts:?}");
    assert!(
        parts[0].ends_with(".part"),
        "only a partial file: {parts:?}"
    );
    let folder = fetch_into(root.path(), &source, Duration::from_secs(10)).unwrap();
    assert!(files_in(&folder).iter().all(|f| !f.ends_with(".part")));
    same_as_embedded(&folder);
}

#[test]
fn a_missing_file_is_an_error_with_the_status() {
    let base = serve(assets());
    let root = tempfile::tempdir().unwrap();
    let source = small_mnist(&format!("{base}/missing"), false);
    let error = fetch_into(root.path(), &source, Duration::from_secs(10)).unwrap_err();
    assert!(
        matches!(error, FetchError::Status { status: 404, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("answered 404"), "{error}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let base = serve(assets());
    let root = tempfile::tempdir().unwrap();
    let source = small_mnist(&format!("{base}/silent"), false);
    let started = Instant::now();
    let error = fetch_into(root.path(), &source, Duration::from_millis(500)).unwrap_err();
    assert!(matches!(error, FetchError::Transport { .. }), "{error}");
    assert!(
        error.to_string().to_lowercase().contains("timed out"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// An archive is checked by its MD5 and unpacked into its folder, with no staging folder left.
#[test]
fn an_archive_is_checked_and_unpacked() {
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let records = vec![7u8; 3073 * 2];
    let mut header = tar::Header::new_gnu();
    header.set_size(records.len() as u64);
    header.set_mode(0o644);
    archive
        .append_data(&mut header, "batches/test_batch.bin", &records[..])
        .unwrap();
    let bytes = archive.into_inner().unwrap().finish().unwrap();
    let md5 = format!("{:x}", md5::Md5::digest(&bytes));
    let base = serve(HashMap::from([("batches.tar.gz".to_owned(), bytes)]));
    let source = Source {
        name: "batches",
        folder: "batches",
        base: leak(format!("{base}/good")),
        files: Box::leak(Box::new([Remote {
            name: "batches.tar.gz",
            check: Check::Md5(leak(md5)),
        }])),
        archive: true,
    };
    let root = tempfile::tempdir().unwrap();
    let folder = fetch_into(root.path(), &source, Duration::from_secs(10)).unwrap();
    assert_eq!(
        std::fs::read(folder.join("test_batch.bin")).unwrap(),
        records
    );
    assert_eq!(files_in(root.path()), ["batches", "batches.tar.gz"]);
}

/// The real MNIST files, served locally, pass the SHA-256s kept in the code for them.
#[test]
fn the_real_mnist_files_pass_the_checksums_in_the_code() {
    let Some(dir) = dir::data_dir("mnist") else {
        return;
    };
    let files: HashMap<String, Vec<u8>> = fetch::source("mnist")
        .unwrap()
        .files
        .iter()
        .map(|r| (r.name.to_owned(), std::fs::read(dir.join(r.name)).unwrap()))
        .collect();
    let base = serve(files);
    let root = tempfile::tempdir().unwrap();
    let mut progress = |_: &str, _: u64, _: Option<u64>| {};
    let folder = Fetch {
        root: root.path().to_owned(),
        mirror: Some(format!("{base}/good/")),
        timeout: Duration::from_secs(10),
        progress: &mut progress,
    }
    .run(fetch::source("mnist").unwrap())
    .unwrap();
    assert_eq!(mnist::load(&folder).unwrap().train.len(), 60_000);
}
