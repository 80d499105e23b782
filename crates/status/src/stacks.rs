//! Every thread's stack now, as `pstack` prints them, without a debugger:
//! what each worker, Raft or engine thread is doing while a statement hangs.
//!
//! Each thread is asked in turn with a signal. Its handler walks its own
//! stack into one shared slot of atomics, taking no lock and allocating
//! nothing (the signal may land inside `malloc` or while a lock is held);
//! the asking thread names the frames afterwards. A thread stopped inside
//! the unwinder or the dynamic loader is not walked, since a nested walk
//! could corrupt their caches: its entry says so. A thread that blocks the
//! signal does not answer, and its entry says that instead.

use std::ffi::c_void;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Frames kept per thread; deeper stacks are cut (async code rarely nests
/// this deep below the runtime).
const MAX_FRAMES: usize = 128;

/// How long a thread has to answer before it is reported as silent.
const ANSWER_WAIT: Duration = Duration::from_millis(200);

/// No thread: the slot is free, or a late answer must be ignored.
const NOBODY: i32 = -1;

/// Where the signalled thread writes its stack. One walk at a time: the
/// asker holds [`DUMPING`] and names one thread in `target`; the thread's
/// handler claims the slot by swapping `target` to [`NOBODY`], so an answer
/// arriving after the asker gave up writes nothing.
struct Slot {
    target: AtomicI32,
    done: AtomicBool,
    pc: AtomicUsize,
    len: AtomicUsize,
    frames: [AtomicUsize; MAX_FRAMES],
}

static SLOT: Slot = Slot {
    target: AtomicI32::new(NOBODY),
    done: AtomicBool::new(false),
    pc: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    frames: [const { AtomicUsize::new(0) }; MAX_FRAMES],
};

/// Held while a dump runs; `Err` once a thread claimed the slot and never
/// finished, after which no further dump is attempted.
static DUMPING: Mutex<Result<(), String>> = Mutex::new(Ok(()));

/// Address ranges of the unwinder and the dynamic loader, which a handler
/// must not walk from.
static UNSAFE_CODE: OnceLock<Vec<(usize, usize)>> = OnceLock::new();

/// The signal that asks a thread for its stack: a real-time one, which no
/// library of ours uses (pprof-rs samples with `SIGPROF`).
fn signal() -> libc::c_int {
    libc::SIGRTMIN() + 1
}

/// Executable mappings of `libgcc_s` and `ld-linux`, from `/proc/self/maps`.
fn unsafe_code() -> Vec<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next()?, fields.next()?);
            let path = fields.nth(3)?;
            if !perms.contains('x') || !(path.contains("libgcc_s") || path.contains("/ld-linux")) {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect()
}

/// The instruction the signal interrupted.
fn interrupted_pc(context: *mut c_void) -> usize {
    let context = context.cast::<libc::ucontext_t>();
    if context.is_null() {
        return 0;
    }
    // SAFETY: the kernel passes a valid `ucontext_t` to an `SA_SIGINFO`
    // handler.
    #[cfg(target_arch = "x86_64")]
    let pc = unsafe { (*context).uc_mcontext.gregs[libc::REG_RIP as usize] as usize };
    #[cfg(target_arch = "aarch64")]
    let pc = unsafe { (*context).uc_mcontext.pc as usize };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let pc = 0;
    pc
}

extern "C" fn answer(_: libc::c_int, _: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    if SLOT
        .target
        .compare_exchange(me, NOBODY, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    let pc = interrupted_pc(context);
    SLOT.pc.store(pc, Ordering::Relaxed);
    let unsafe_code = UNSAFE_CODE.get().map_or(&[][..], Vec::as_slice);
    let mut n = 0;
    if !unsafe_code.iter().any(|&(s, e)| (s..e).contains(&pc)) {
        // SAFETY: no other walk runs on this thread (the slot is claimed
        // once per signal, and a thread inside the unwinder is not walked).
        unsafe {
            backtrace::trace_unsynchronized(|frame| {
                SLOT.frames[n].store(frame.ip() as usize, Ordering::Relaxed);
                n += 1;
                n < MAX_FRAMES
            });
        }
    }
    SLOT.len.store(n, Ordering::Relaxed);
    SLOT.done.store(true, Ordering::Release);
}

/// Install the handler once.
fn install() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    UNSAFE_CODE.get_or_init(unsafe_code);
    let installed = INSTALLED.get_or_init(|| {
        // SAFETY: the action is fully initialised, and the handler only
        // touches atomics and walks its own stack.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = answer as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signal(), &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        Ok(())
    });
    installed.map_err(std::io::Error::from_raw_os_error)
}

/// What one thread answered.
enum Walk {
    Frames(Vec<usize>),
    /// Stopped in the unwinder or loader, at this instruction.
    Unwalkable(usize),
    Silent,
}

/// Ask thread `tid` for its stack. `Err` if it claimed the slot and did not
/// finish in time (the slot cannot be reused).
fn ask(tid: i32) -> Result<Walk, String> {
    SLOT.done.store(false, Ordering::Relaxed);
    SLOT.target.store(tid, Ordering::Release);
    // SAFETY: tgkill with our own pid and a thread id read from /proc.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            libc::pid_t::from(tid),
            signal(),
        )
    };
    if sent != 0 {
        // The thread ended since it was listed.
        SLOT.target.store(NOBODY, Ordering::Release);
        return Ok(Walk::Silent);
    }
    let asked = Instant::now();
    while !SLOT.done.load(Ordering::Acquire) {
        if asked.elapsed() > ANSWER_WAIT {
            if SLOT
                .target
                .compare_exchange(tid, NOBODY, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Ok(Walk::Silent);
            }
            if asked.elapsed() > ANSWER_WAIT * 10 {
                return Err(format!(
                    "thread {tid} began its stack walk and never finished"
                ));
            }
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    let len = SLOT.len.load(Ordering::Relaxed);
    if len == 0 {
        return Ok(Walk::Unwalkable(SLOT.pc.load(Ordering::Relaxed)));
    }
    let frames: Vec<usize> = SLOT.frames[..len]
        .iter()
        .map(|f| f.load(Ordering::Relaxed))
        .collect();
    // The walk starts in the handler; the thread's own stack starts at the
    // instruction the signal interrupted.
    let pc = SLOT.pc.load(Ordering::Relaxed);
    let start = frames.iter().position(|&ip| ip == pc).unwrap_or(0);
    Ok(Walk::Frames(frames[start..].to_vec()))
}

/// One thread's line of `/proc/self/task/<tid>/stat`: its state letter.
fn state(tid: i32) -> char {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next())
        })
        .unwrap_or('?')
}

/// Every thread's stack as text: a header per thread (id, name, state),
/// then one line per frame, inlined functions included. Blocks for up to
/// [`ANSWER_WAIT`] per silent thread; run it off the async workers.
pub fn dump() -> Result<String, String> {
    install().map_err(|e| format!("installing the stack signal handler: {e}"))?;
    let mut dumping = DUMPING.lock().unwrap_or_else(|p| p.into_inner());
    dumping.clone()?;
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    let mut tids: Vec<i32> = std::fs::read_dir("/proc/self/task")
        .map_err(|e| format!("listing threads: {e}"))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    let mut out = String::new();
    for tid in tids {
        let name =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
        let _ = writeln!(
            out,
            "Thread {tid} \"{}\" ({}):",
            name.trim_end(),
            state(tid)
        );
        let walk = if tid == me {
            let mut frames = Vec::new();
            backtrace::trace(|frame| {
                frames.push(frame.ip() as usize);
                frames.len() < MAX_FRAMES
            });
            Walk::Frames(frames)
        } else {
            match ask(tid) {
                Ok(walk) => walk,
                Err(e) => {
                    *dumping = Err(e.clone());
                    return Err(e);
                }
            }
        };
        match walk {
            Walk::Frames(frames) => frames
                .into_iter()
                .filter(|&ip| ip != 0)
                .for_each(|ip| name_frame(&mut out, ip)),
            Walk::Unwalkable(pc) => {
                let _ = writeln!(out, "  {pc:#x} (in the unwinder or loader: not walked)");
            }
            Walk::Silent => {
                let _ = writeln!(out, "  (no answer: the thread blocks the signal or ended)");
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// Append the functions at `ip` (innermost inlined one first).
fn name_frame(out: &mut String, ip: usize) {
    let mut named = false;
    backtrace::resolve(ip as *mut c_void, |symbol| {
        named = true;
        let name = symbol
            .name()
            .map_or_else(|| "?".to_string(), |n| format!("{n:#}"));
        let _ = write!(out, "  {ip:#x} {name}");
        if let (Some(file), Some(line)) = (symbol.filename(), symbol.lineno()) {
            let _ = write!(out, " at {}:{line}", file.display());
        }
        out.push('\n');
    });
    if !named {
        let _ = writeln!(out, "  {ip:#x} ?");
    }
}
