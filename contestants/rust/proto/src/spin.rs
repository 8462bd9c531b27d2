//! spin.rs: burning a request's work_us of the serving thread's own CPU time.

#[allow(clippy::unnecessary_cast)] // time_t and c_long are i64 here, not everywhere
fn thread_cpu_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // CPU time, not wall time, so being preempted does not shorten the work
    // (as workload_spin in common/workload.c).
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

/// Blocks the calling worker thread for work_us of its CPU time: a CPU-bound
/// request stalls every task of that worker, which is what the suite measures.
pub fn spin(work_us: u32) {
    if work_us == 0 {
        return;
    }
    let until = thread_cpu_ns() + work_us as i64 * 1000;
    let mut sink = 0u64;
    // The clock read is a system call; a short inner loop keeps the overshoot
    // small without making the check dominate the work.
    while thread_cpu_ns() < until {
        for i in 0..256u64 {
            unsafe {
                let v = std::ptr::read_volatile(&sink);
                std::ptr::write_volatile(&mut sink, v.wrapping_add(i));
            }
        }
    }
}
