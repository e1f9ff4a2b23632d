//! Datasets downloaded from their publishers, verified, and put where the loaders look.
//!
//! Each file goes to `NAME.part` first, resumes from there after an interruption (an HTTP
//! range request), and takes its real name only once its checksum matches the one kept here,
//! so an interrupted or corrupted fetch never leaves a file that looks complete. MNIST's
//! publisher gives no checksums and its mirrors recompress the files, so MNIST and
//! Fashion-MNIST are checked by the SHA-256 of their decompressed contents; CIFAR's archives by
//! the MD5 its publisher gives. Archives are unpacked into a temporary folder that takes the
//! real name when complete.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

/// A dataset as its publisher serves it.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: &'static str,
    /// Where the loaders look, under the data root.
    pub folder: &'static str,
    /// The publisher's location; a mirror replaces it.
    pub base: &'static str,
    pub files: &'static [Remote],
    /// The files are `.tar.gz` archives that unpack into `folder`.
    pub archive: bool,
}

/// One file of a [`Source`] and how to know it is the right one.
#[derive(Debug, Clone)]
pub struct Remote {
    pub name: &'static str,
    pub check: Check,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// SHA-256 of the file's gunzipped contents (hex).
    ContentSha256(&'static str),
    /// MD5 of the file as served (hex), where the publisher gives only that.
    Md5(&'static str),
}

const IDX: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// `IDX[i]` checked by the SHA-256 of its contents.
const fn idx(i: usize, sha256: &'static str) -> Remote {
    Remote {
        name: IDX[i],
        check: Check::ContentSha256(sha256),
    }
}

/// The datasets `fetch` knows.
pub const SOURCES: [Source; 4] = [
    Source {
        name: "mnist",
        folder: super::mnist::FOLDER,
        base: "https://yann.lecun.com/exdb/mnist/",
        files: &[
            idx(
                0,
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            idx(
                1,
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
            idx(
                2,
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            idx(
                3,
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        ],
        archive: false,
    },
    Source {
        name: "fashion-mnist",
        folder: super::fashion_mnist::FOLDER,
        base: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        files: &[
            idx(
                0,
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
            idx(
                1,
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
            idx(
                2,
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
            idx(
                3,
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        ],
        archive: false,
    },
    Source {
        name: "cifar10",
        folder: super::cifar10::FOLDER,
        base: "https://www.cs.toronto.edu/~kriz/",
        files: &[Remote {
            name: "cifar-10-binary.tar.gz",
            check: Check::Md5("c32a1d4ab5d03f1284b67883e8d87530"),
        }],
        archive: true,
    },
    Source {
        name: "cifar100",
        folder: super::cifar100::FOLDER,
        base: "https://www.cs.toronto.edu/~kriz/",
        files: &[Remote {
            name: "cifar-100-binary.tar.gz",
            check: Check::Md5("03b5dce01913d631647c71ecec9e9cb8"),
        }],
        archive: true,
    },
];

/// Where FER2013 comes from: it has no public direct download.
pub const FER2013_HOWTO: &str = "FER2013 has no public direct download: sign in to Kaggle, \
    download fer2013.csv from the \"Challenges in Representation Learning: Facial Expression \
    Recognition Challenge\" competition's data page, and put it (or fer2013.csv.gz) in";

/// The source named `name` (`mnist`, `fashion-mnist`, `cifar10`, `cifar100`).
pub fn source(name: &str) -> Result<&'static Source, FetchError> {
    SOURCES.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = SOURCES.iter().map(|s| s.name).collect();
        FetchError::Unknown {
            name: name.to_owned(),
            known: known.join(", "),
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no dataset `{name}` to fetch; known: {known}, and fer2013 (by hand)")]
    Unknown { name: String, known: String },
    #[error("{url}: the server answered {status} {reason}")]
    Status {
        url: String,
        status: u16,
        reason: String,
    },
    #[error("{url}: {message}; fetch again to resume")]
    Transport { url: String, message: String },
    #[error("{url}: the connection closed after {got} of {expected} bytes; fetch again to resume")]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
    },
    #[error(
        "{}: {kind} {found} does not match the expected {expected}; the file was removed",
        path.display()
    )]
    Checksum {
        path: PathBuf,
        kind: &'static str,
        expected: String,
        found: String,
    },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// How to fetch: where to, from where, and how long to wait for a server.
pub struct Fetch<'a> {
    /// The data root: the dataset goes to `root/folder`.
    pub root: PathBuf,
    /// A base URL that replaces the publisher's.
    pub mirror: Option<String>,
    /// The longest wait for a connection, and between two reads.
    pub timeout: Duration,
    /// Called as bytes arrive: the file, bytes so far, and the total where known.
    pub progress: &'a mut dyn FnMut(&str, u64, Option<u64>),
}

impl Fetch<'_> {
    /// Fetches, verifies and unpacks `source`; its folder. Files already there and verified
    /// are kept.
    pub fn run(&mut self, source: &Source) -> Result<PathBuf, FetchError> {
        let folder = self.root.join(source.folder);
        let downloads = if source.archive { &self.root } else { &folder };
        let downloads = downloads.clone();
        create_dir(&downloads)?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(self.timeout)
            .timeout_read(self.timeout)
            .build();
        for remote in source.files {
            let path = downloads.join(remote.name);
            if path.is_file() && verify(&path, remote.check).is_ok() {
                continue;
            }
            let base = self.mirror.as_deref().unwrap_or(source.base);
            let url = format!("{}/{}", base.trim_end_matches('/'), remote.name);
            let part = downloads.join(format!("{}.part", remote.name));
            download(&agent, &url, &part, &mut *self.progress)?;
            if let Err(error) = verify(&part, remote.check) {
                let _ = std::fs::remove_file(&part);
                return Err(error);
            }
            rename(&part, &path)?;
            if source.archive {
                unpack(&path, &self.root, source.folder)?;
            }
        }
        Ok(folder)
    }
}

/// Whether each file of `source` is under `root` and verified.
pub fn status(source: &Source, root: &Path) -> Vec<(&'static str, Result<(), FetchError>)> {
    let downloads = match source.archive {
        true => root.to_owned(),
        false => root.join(source.folder),
    };
    source
        .files
        .iter()
        .map(|remote| {
            (
                remote.name,
                verify(&downloads.join(remote.name), remote.check),
            )
        })
        .collect()
}

/// Downloads `url` into `part`, continuing from what `part` already holds.
fn download(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> Result<(), FetchError> {
    let have = part.metadata().map_or(0, |m| m.len());
    let mut request = agent.get(url);
    if have > 0 {
        request = request.set("Range", &format!("bytes={have}-"));
    }
    let response = match request.call() {
        Ok(response) => response,
        // Everything is there already.
        Err(ureq::Error::Status(416, _)) if have > 0 => return Ok(()),
        Err(ureq::Error::Status(status, response)) => {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status,
                reason: response.status_text().to_owned(),
            });
        }
        Err(ureq::Error::Transport(transport)) => {
            return Err(FetchError::Transport {
                url: url.to_owned(),
                message: transport.to_string(),
            });
        }
    };
    let resumed = response.status() == 206;
    let start = if resumed { have } else { 0 };
    let length: Option<u64> = response
        .header("Content-Length")
        .and_then(|n| n.parse().ok());
    let total = length.map(|n| n + start);
    let io = |source| FetchError::Io {
        path: part.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(part)
        .map_err(io)?;
    let name = part
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let name = name.trim_end_matches(".part");
    let mut reader = response.into_reader();
    let mut buffer = vec![0u8; 1 << 16];
    let mut done = start;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) => {
                return Err(FetchError::Transport {
                    url: url.to_owned(),
                    message: format!("reading stopped after {done} bytes: {error}"),
                });
            }
        };
        file.write_all(&buffer[..n]).map_err(io)?;
        done += n as u64;
        progress(name, done, total);
    }
    file.sync_all().map_err(io)?;
    match total {
        Some(expected) if done < expected => Err(FetchError::Truncated {
            url: url.to_owned(),
            got: done,
            expected,
        }),
        _ => Ok(()),
    }
}

/// Checks `path` against `check`.
fn verify(path: &Path, check: Check) -> Result<(), FetchError> {
    let io = |source| FetchError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let (kind, expected, found) = match check {
        Check::ContentSha256(expected) => {
            let mut contents = flate2::read::GzDecoder::new(file);
            (
                "SHA-256 of the contents",
                expected,
                hash::<Sha256>(&mut contents).map_err(io)?,
            )
        }
        Check::Md5(expected) => ("MD5", expected, hash::<Md5>(&mut { file }).map_err(io)?),
    };
    if found == expected {
        return Ok(());
    }
    Err(FetchError::Checksum {
        path: path.to_owned(),
        kind,
        expected: expected.to_owned(),
        found,
    })
}

/// The hex digest of everything `reader` gives.
fn hash<D: Digest + Write>(reader: &mut impl Read) -> io::Result<String> {
    let mut digest = D::new();
    io::copy(reader, &mut digest)?;
    Ok(digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Unpacks the archive at `path` into `root`, where it makes `folder`: through a temporary
/// folder, so that a half-unpacked archive never has the real name.
fn unpack(path: &Path, root: &Path, folder: &str) -> Result<(), FetchError> {
    let staging = root.join(format!(".{folder}.unpacking"));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| FetchError::Io { path, source }
    };
    let _ = std::fs::remove_dir_all(&staging);
    create_dir(&staging)?;
    let file = File::open(path).map_err(io(path))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(&staging)
        .map_err(io(path))?;
    let target = root.join(folder);
    let _ = std::fs::remove_dir_all(&target);
    rename(&staging.join(folder), &target)?;
    std::fs::remove_dir_all(&staging).map_err(io(&staging))
}

fn create_dir(dir: &Path) -> Result<(), FetchError> {
    std::fs::create_dir_all(dir).map_err(|source| FetchError::Io {
        path: dir.to_owned(),
        source,
    })
}

fn rename(from: &Path, to: &Path) -> Result<(), FetchError> {
    std::fs::rename(from, to).map_err(|source| FetchError::Io {
        path: from.to_owned(),
        source,
    })
}
