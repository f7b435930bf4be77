//! Running the built example binaries from the examples tests: where they are, and a child process whose stdout
//! lines can be awaited while it runs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// Generous: the machine may be a loaded 2-core CI runner.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// `target/<profile>/examples/<name>`, next to this test binary's `target/<profile>/deps/`. `cargo test` builds
/// the examples before running tests; `cargo test --test <this>` alone does not, hence the message.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --examples` first",
        path.display()
    );
    path
}

/// A unique, empty folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "patient-access-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a finished example printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics with everything the example printed unless it exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout and stderr together, for "never printed" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A running example: stdout lines arrive on a channel as they are printed; stderr is collected.
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts `name` with no input.
    pub fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(name, args, env, false)
    }

    /// Starts `name` with a stdin that [`type_line`](Self::type_line) writes to.
    pub fn start_interactive(name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(name, args, env, true)
    }

    /// Starts `name` with no input, in the working directory `dir`.
    pub fn start_in(name: &str, args: &[&str], env: &[(&str, &str)], dir: &Path) -> Self {
        Self::spawn_in(name, args, env, false, Some(dir))
    }

    /// Kills the example (one that serves until stopped) and returns what it printed.
    pub fn stop(mut self) -> Output {
        self.kill_and_collect()
    }

    /// Types `line` and Enter on the example's stdin.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("started with start_interactive");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn spawn(name: &str, args: &[&str], env: &[(&str, &str)], interactive: bool) -> Self {
        Self::spawn_in(name, args, env, interactive, None)
    }

    fn spawn_in(
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        interactive: bool,
        dir: Option<&Path>,
    ) -> Self {
        let mut command = Command::new(example(name));
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        command
            .args(args)
            .stdin(if interactive {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Never a real browser, whatever the developer's desktop has; nor their log settings.
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("RUST_LOG");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::unbounded_channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out_pipe = child.stdout.take().unwrap();
        let err_pipe = child.stderr.take().unwrap();
        let readers = vec![
            {
                let stdout = stdout.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(out_pipe).lines() {
                        let Ok(line) = line else { break };
                        stdout.lock().unwrap().push_str(&format!("{line}\n"));
                        let _ = tx.send(line);
                    }
                })
            },
            {
                let stderr = stderr.clone();
                std::thread::spawn(move || {
                    let mut text = String::new();
                    let _ = BufReader::new(err_pipe).read_to_string(&mut text);
                    stderr.lock().unwrap().push_str(&text);
                })
            },
        ];
        Self {
            child,
            stdin,
            lines,
            stdout,
            stderr,
            readers,
        }
    }

    /// The first stdout line starting with `prefix`, without the prefix.
    pub async fn line_starting_with(&mut self, prefix: &str) -> String {
        let found = tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = self.lines.recv().await {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Some(rest.to_owned());
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(rest)) => rest,
            _ => {
                let output = self.kill_and_collect();
                panic!("no stdout line starting with {prefix:?}\n{output:#?}");
            }
        }
    }

    /// Waits for the example to exit (killing it after [`TIMEOUT`]) and returns what it printed.
    pub async fn finish(mut self) -> Output {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return self.collect(status);
            }
            if started.elapsed() > TIMEOUT {
                let output = self.kill_and_collect();
                panic!("the example did not finish within {TIMEOUT:?}\n{output:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn kill_and_collect(&mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.collect(status)
    }

    fn collect(&mut self, status: ExitStatus) -> Output {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Output {
            status,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

/// Runs an example to the end.
pub async fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Running::start(name, args, env).finish().await
}

/// A loopback port nobody listens on right now (the OS picks it; the example binds it moments later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
