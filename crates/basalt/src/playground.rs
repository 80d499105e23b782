//! `basalt playground --kv N`: a local cluster of separate processes (one
//! PD, N stores, one SQL node) on 127.0.0.1, children of this one.
//!
//! `DIR/playground.json` lists each process (role, pid, addresses, data
//! directory, log file, and the command that started it, so a test can kill
//! one and start it again). Children log to `DIR/<name>.log`. On SIGTERM or
//! Ctrl-C the children get SIGTERM, then SIGKILL after 10 s.

use anyhow::{Context, Result};
use serde::Serialize;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Settings of a local cluster.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where every process keeps its data and log.
    pub data_dir: PathBuf,
    /// The SQL node's host.
    pub host: String,
    /// The SQL node's MySQL port.
    pub port: u16,
    /// The SQL node's status port.
    pub status_port: u16,
    /// Stores.
    pub stores: usize,
    /// Flags passed to every store (split thresholds, intervals).
    pub kv_flags: Vec<String>,
    /// Flags passed to PD (max-store-down-time).
    pub pd_flags: Vec<String>,
}

/// One child process, as `playground.json` lists it.
#[derive(Serialize)]
struct Process {
    name: String,
    role: &'static str,
    pid: u32,
    addr: String,
    /// Its status HTTP address.
    status: String,
    data_dir: Option<PathBuf>,
    log: PathBuf,
    command: Vec<String>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    pd: &'a str,
    sql: String,
    processes: &'a [Process],
}

/// A port free on 127.0.0.1 now (the OS picks it), other than those in
/// `taken`: the SQL node's own ports, which it binds only once PD and the
/// stores are up, and which the OS may meanwhile hand out again (a test
/// that picked them the same way released them).
fn free_port(taken: &[u16]) -> Result<u16> {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
}

/// The cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Start a child process of the cluster. The processes of a playground
/// share one machine's cores, so each gets one worker thread per core
/// whatever its role: on 2 cores, with five processes and sysbench's 16
/// threads, that served 8-15% more queries than four per core for SQL.
fn spawn(dir: &Path, name: &str, mut args: Vec<String>) -> Result<(Child, PathBuf, Vec<String>)> {
    args.extend(["--workers".to_string(), cores().to_string()]);
    let exe = std::env::current_exe().context("finding the basalt binary")?;
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("opening {}", log.display()))?;
    let child = Command::new(&exe)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let mut command = vec![exe.display().to_string()];
    command.extend(args);
    Ok((child, log, command))
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid of our own child and a valid signal.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Run the cluster until `shutdown` completes.
pub async fn run(opts: Options, shutdown: impl Future<Output = ()>) -> Result<()> {
    let dir = &opts.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let taken = [opts.port, opts.status_port];
    let pd_addr = format!("127.0.0.1:{}", free_port(&taken)?);
    let mut children: Vec<Child> = Vec::new();
    let mut processes = Vec::new();
    let mut start = |name: String,
                     role: &'static str,
                     addr: String,
                     status: String,
                     data_dir: Option<PathBuf>,
                     args: Vec<String>|
     -> Result<()> {
        let (child, log, command) = spawn(dir, &name, args)?;
        processes.push(Process {
            name,
            role,
            pid: child.id(),
            addr,
            status,
            data_dir,
            log,
            command,
        });
        children.push(child);
        Ok(())
    };
    let pd_dir = dir.join("pd");
    let pd_status = format!("127.0.0.1:{}", free_port(&taken)?);
    let mut pd_args = vec![
        "pd".to_string(),
        "--data-dir".into(),
        pd_dir.display().to_string(),
        "--addr".into(),
        pd_addr.clone(),
        "--status-addr".into(),
        pd_status.clone(),
        "--max-replicas".into(),
        opts.stores.min(3).to_string(),
    ];
    pd_args.extend(opts.pd_flags.iter().cloned());
    start(
        "pd".into(),
        "pd",
        pd_addr.clone(),
        pd_status,
        Some(pd_dir),
        pd_args,
    )?;
    for i in 1..=opts.stores {
        let addr = format!("127.0.0.1:{}", free_port(&taken)?);
        let status = format!("127.0.0.1:{}", free_port(&taken)?);
        let kv_dir = dir.join(format!("kv{i}"));
        let mut args = vec![
            "kv".to_string(),
            "--pd".into(),
            pd_addr.clone(),
            "--addr".into(),
            addr.clone(),
            "--status-addr".into(),
            status.clone(),
            "--data-dir".into(),
            kv_dir.display().to_string(),
        ];
        args.extend(opts.kv_flags.iter().cloned());
        start(format!("kv{i}"), "kv", addr, status, Some(kv_dir), args)?;
    }
    let sql_addr = format!("{}:{}", opts.host, opts.port);
    let sql_status = format!("{}:{}", opts.host, opts.status_port);
    let sql_args = vec![
        "sql".to_string(),
        "--pd".into(),
        pd_addr.clone(),
        "--host".into(),
        opts.host.clone(),
        "--port".into(),
        opts.port.to_string(),
        "--status-port".into(),
        opts.status_port.to_string(),
        "--slow-log".into(),
        dir.join("slow.log").display().to_string(),
    ];
    start(
        "sql".into(),
        "sql",
        sql_addr.clone(),
        sql_status,
        None,
        sql_args,
    )?;
    let manifest = Manifest {
        pd: &pd_addr,
        sql: sql_addr.clone(),
        processes: &processes,
    };
    let path = dir.join("playground.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "basalt playground: PD on {pd_addr}, {} stores, MySQL protocol on {sql_addr}; processes in {}",
        opts.stores,
        path.display()
    );
    shutdown.await;
    for child in &children {
        signal(child.id(), libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for child in &mut children {
        while child.try_wait()?.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if child.try_wait()?.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    println!("basalt playground: stopped");
    Ok(())
}
