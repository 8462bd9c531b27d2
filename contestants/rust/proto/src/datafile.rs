//! datafile.rs: the io=file data file: opened with O_DIRECT and checked at
//! start, read at a uniformly random 4 KiB-aligned offset into an aligned
//! buffer, so that every read waits on the device and never on the page cache.

use std::alloc::{self, Layout};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::time::{SystemTime, UNIX_EPOCH};

/// O_DIRECT wants the buffer, the offset and the length aligned to the
/// device's logical block; 4 KiB covers every common device.
pub const ALIGN: usize = 4096;
pub const MIN_SIZE: u64 = 1024 * 1024;

#[derive(Debug)]
pub struct DataFile {
    pub file: File,
    pub size: u64,
    pub path: String,
}

/// The filesystem holding path, by name where statfs's magic is a known one.
pub fn fs_name(path: &str) -> String {
    let c = match std::ffi::CString::new(std::path::Path::new(path).as_os_str().as_bytes()) {
        Ok(c) => c,
        Err(_) => return "unknown".to_string(),
    };
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return "unknown".to_string();
    }
    #[allow(clippy::unnecessary_cast)] // f_type's type differs between libcs
    let name = match st.f_type as i64 {
        0x0102_1994 => "tmpfs",
        0x8584_58f6 => "ramfs",
        0xEF53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x794c_7630 => "overlayfs",
        0x6969 => "nfs",
        0x2fc1_2fc1 => "zfs",
        0xF2F5_2010 => "f2fs",
        0x6573_5546 => "fuse",
        0x0102_1997 => "9p",
        0x6264_6576 => "devtmpfs",
        t => return format!("filesystem type 0x{:x}", t),
    };
    name.to_string()
}

fn refuse_direct(path: &str, what: &str, e: &io::Error) -> String {
    format!(
        "--data-file {path}: {what} with O_DIRECT failed on {} ({e}): this filesystem cannot \
         read around the page cache, so io=file would measure memory, not the device. Put \
         the data file on a disk filesystem (ext4, xfs, btrfs), not on tmpfs, /dev/shm or an \
         overlay",
        fs_name(path)
    )
}

/// Opens and checks the data file. Err: the message for a refusal to start
/// (exit 2), naming the file, the filesystem where it matters, and the fix.
pub fn open_checked(path: &str) -> Result<DataFile, String> {
    let fix = "create one of at least 1024 KiB of real data on a disk filesystem, e.g. \
               `head -c 64M /dev/urandom > FILE`";
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Err(format!("--data-file {path}: {e} ({fix})")),
    };
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_dir() {
            "a directory"
        } else if ft.is_block_device() {
            "a block device"
        } else {
            "not a regular file"
        };
        return Err(format!(
            "--data-file {path}: is {kind}, not a regular file ({fix})"
        ));
    }
    if meta.len() < MIN_SIZE {
        return Err(format!(
            "--data-file {path}: {} bytes, shorter than the 1024 KiB io=file needs ({fix})",
            meta.len()
        ));
    }
    // tmpfs has taken O_DIRECT since Linux 6.6, but its reads still come from
    // memory: refuse a memory filesystem by its type, whatever open() says.
    let fs = fs_name(path);
    if fs == "tmpfs" || fs == "ramfs" {
        return Err(format!(
            "--data-file {path}: on {fs}, a filesystem in memory: its reads never wait on \
             a device, with O_DIRECT or without, so io=file would measure memory. Put the \
             data file on a disk filesystem (ext4, xfs, btrfs), not on tmpfs or /dev/shm"
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) => refuse_direct(path, "open", &e),
            _ => format!("--data-file {path}: cannot open: {e}"),
        })?;
    // Some filesystems accept the flag at open and refuse the first read.
    let mut probe = AlignedBuf::new(ALIGN);
    match file.read_at(probe.as_mut_slice(), 0) {
        Ok(n) if n == ALIGN => {}
        Ok(n) => {
            return Err(format!(
                "--data-file {path}: a first read gave {n} bytes, not {ALIGN}"
            ))
        }
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            return Err(refuse_direct(path, "a first read", &e))
        }
        Err(e) => return Err(format!("--data-file {path}: a first read failed: {e}")),
    }
    Ok(DataFile {
        file,
        size: meta.len(),
        path: path.to_string(),
    })
}

impl DataFile {
    /// A uniformly random offset, a multiple of ALIGN, in [0, size - len].
    pub fn random_offset(&self, len: usize, rng: &mut Rng) -> u64 {
        let slots = (self.size - len as u64) / ALIGN as u64 + 1;
        rng.below(slots) * ALIGN as u64
    }

    /// Reads len bytes at off (from random_offset) into buf, replaced by a
    /// larger one when it is too small; blocking (pread). Returns the buffer,
    /// kept for the connection's next read, and why the read failed (the
    /// 500's body).
    pub fn read_into(
        &self,
        buf: Option<AlignedBuf>,
        len: usize,
        off: u64,
    ) -> (AlignedBuf, Result<(), String>) {
        let mut buf = match buf {
            Some(b) if b.len() >= len => b,
            _ => AlignedBuf::new(len),
        };
        let r = self
            .read_exact_at(&mut buf.as_mut_slice()[..len], off)
            .map_err(|e| format!("read of {len} bytes at offset {off} of {}: {e}", self.path));
        (buf, r)
    }

    /// Reads buf.len() bytes at off (pread). A short read is an error: the
    /// offset rule keeps every read inside the file.
    pub fn read_exact_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], off + done as u64) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("short read at offset {off}: the file shrank?"),
                    ))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A zeroed buffer aligned to ALIGN, as O_DIRECT requires; owned, Send.
pub struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
}

unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// len > 0, a multiple of ALIGN. Aborts on out of memory, as Vec does.
    pub fn new(len: usize) -> AlignedBuf {
        let layout = Layout::from_size_align(len.max(ALIGN), ALIGN).expect("buffer layout");
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            alloc::handle_alloc_error(layout);
        }
        AlignedBuf {
            ptr,
            len: layout.size(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn as_slice(&self) -> &[u8] {
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.len, ALIGN).expect("buffer layout");
        unsafe { alloc::dealloc(self.ptr, layout) };
    }
}

/// xorshift64*: enough for uniform offsets; one per connection, no locking.
pub struct Rng(u64);

impl Rng {
    pub fn new(salt: u64) -> Rng {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        // splitmix64 of the seed, so that close seeds give unrelated streams
        let mut z = t ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, n), n > 0 (rejection keeps it unbiased).
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_aligned_and_inside() {
        let f = DataFile {
            file: File::open("/dev/null").unwrap(),
            size: MIN_SIZE + 100,
            path: "x".into(),
        };
        let mut rng = Rng::new(1);
        let (mut lo, mut hi) = (u64::MAX, 0);
        for _ in 0..10_000 {
            let off = f.random_offset(8192, &mut rng);
            assert_eq!(off % ALIGN as u64, 0);
            assert!(off + 8192 <= f.size);
            lo = lo.min(off);
            hi = hi.max(off);
        }
        assert_eq!(lo, 0);
        assert_eq!(hi, (f.size - 8192) / 4096 * 4096);
        let whole = DataFile {
            size: MIN_SIZE,
            ..f
        };
        assert_eq!(whole.random_offset(MIN_SIZE as usize, &mut rng), 0);
    }

    #[test]
    fn aligned_buffer() {
        let mut b = AlignedBuf::new(8192);
        assert_eq!(b.as_mut_slice().as_ptr() as usize % ALIGN, 0);
        assert_eq!(b.len(), 8192);
    }

    #[test]
    fn refusals_name_the_file() {
        assert!(open_checked("/nonexistent/x")
            .unwrap_err()
            .contains("/nonexistent/x"));
        assert!(open_checked("/tmp").unwrap_err().contains("directory"));
        assert!(open_checked("/etc/hostname")
            .unwrap_err()
            .contains("shorter"));
    }
}
