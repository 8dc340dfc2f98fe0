//! A file system that fills up under an append, on a real tmpfs the test
//! mounts (it needs root, as `tests/tests/e2e/disk_full.rs` does). tmpfs
//! hands out whole pages, which makes the moment of failure exact: once a
//! ballast file has taken every free page, a write fits only into the
//! unused end of a page a file already has.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use spate_core::storage::Storage;

use super::*;

/// A tmpfs mounted on `dir` (which it creates), unmounted when dropped.
struct Tmpfs<'a>(&'a Path);

impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, size: &str) -> Tmpfs<'a> {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs and needs root (CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

/// Writes a file until the file system has no page left; returns its path.
fn take_every_page(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("ballast");
    let mut f = fs::File::create(&path).unwrap();
    let page = [0u8; 4096];
    while f.write_all(&page).is_ok() {}
    // Whatever part of a page a short write left is taken too.
    while f.write_all(&page[..1]).is_ok() {}
    path
}

#[test]
fn a_batch_whose_index_entry_does_not_fit_is_undone_and_fits_later() {
    let dir = TempDir::new("full");
    let _fs = Tmpfs::mount(dir.path(), "1m");
    let o = opts(1 << 20);
    let tp = tp();
    let mut s = open(&dir, &o);
    s.create_log(&tp, TOPIC_ID).unwrap();
    // Five batches of about 1,000 bytes: the log is into its second page,
    // and no index entry is due yet (one every 4,096 bytes of log), so the
    // index files have no page at all.
    let batches = fill(&mut s, &tp, 5, 1, 950, 0, 1);
    let logged: usize = batches.iter().map(|b| b.len()).sum();
    assert!((4097..7000).contains(&logged), "{logged} bytes of log");
    let log = log_dir(&dir).join("00000000000000000000.log");
    let index = log_dir(&dir).join("00000000000000000000.index");
    assert_eq!(fs::metadata(&index).unwrap().len(), 0, "no index entry yet");
    s.flush().unwrap();

    let ballast = take_every_page(dir.path());
    // The sixth batch fits into the log's second page, but it is the one
    // that gets the first index entry, and the index file gets no page.
    let (b, m) = batch(5, 1, 950, 10);
    assert!(
        s.append(&tp, b.clone(), m).is_err(),
        "the index entry fitted"
    );
    assert_eq!(s.end_offset(&tp), 5, "a refused batch moved the log end");
    assert_eq!(
        fs::metadata(&log).unwrap().len() as usize,
        logged,
        "a refused batch stayed in the log"
    );
    assert_eq!(fs::metadata(&index).unwrap().len(), 0);
    assert_eq!(
        concat(&s.read(&tp, 0, usize::MAX).unwrap()),
        concat(&batches)
    );

    // Room again: the same batch goes in at the same offset, with its entry.
    fs::remove_file(&ballast).unwrap();
    s.append(&tp, b.clone(), m).unwrap();
    s.flush().unwrap();
    assert_eq!(s.end_offset(&tp), 6);
    assert_eq!(fs::metadata(&index).unwrap().len(), 8, "one offset entry");
    drop(s);
    let s = open(&dir, &o);
    let mut all = batches;
    all.push(b);
    assert_eq!(s.end_offset(&tp), 6);
    assert_eq!(concat(&s.read(&tp, 0, usize::MAX).unwrap()), concat(&all));
}
