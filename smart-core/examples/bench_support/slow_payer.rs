//! The benchmarks' slow payer: a FHIR search endpoint that answers every request exactly 20 ms after it arrived,
//! run in a child process so that its CPU, threads and allocations are not counted against the client.
//!
//! It is plain `std`: a thread per connection reads a request, sleeps until its deadline and writes the page
//! itself. An async server would hand each answer from a timer thread to a runtime worker, and on a small
//! virtual machine that second wake-up adds up to a few milliseconds of noise that the client would be blamed
//! for.
//!
//! A member's patient id says what it has: `{name}-{pages}x{size}` is `pages` pages of `size` EOBs each, the
//! EOB being the published C4BB example `EOBProfessional1` with a fresh id per entry. Where the `next` link
//! goes is up to `name` (see [`page_for`]).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the payer waits before answering each request.
pub const LATENCY: Duration = Duration::from_millis(20);

const EOB: &str = include_str!("../../benches/data/eob-professional1.json");

/// The EOB page sizes the payer serves.
pub const PAGE_SIZES: [usize; 3] = [50, 10, 1];

/// The argument that turns the benchmark binary into the payer.
const SERVE: &str = "--serve-slow-payer";

/// The payer, running in a child process. Killed when dropped (and it exits by itself when this process
/// ends, because its stdin closes).
pub struct SlowPayer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl SlowPayer {
    /// Starts the current executable as the payer and waits for its port.
    pub fn start() -> SlowPayer {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .arg(SERVE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the slow payer");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the payer's port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the payer said {line:?}, not its port"));
        SlowPayer {
            child,
            _stdin: stdin,
            port,
        }
    }

    /// `http://127.0.0.1:{port}/fhir`.
    pub fn fhir_base(&self) -> String {
        format!("http://127.0.0.1:{}/fhir", self.port)
    }

    /// The most requests the payer was answering at once since the last call (it then starts counting anew).
    pub fn max_in_flight(&self) -> usize {
        let mut socket = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        socket
            .write_all(b"GET /stats HTTP/1.1\r\nHost: payer\r\nConnection: close\r\n\r\n")
            .expect("ask");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).expect("stats");
        answer
            .rsplit("\r\n\r\n")
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("the payer's stats were {answer:?}"))
    }
}

/// Requests being answered now, and the most at once since the last `/stats`.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MAX_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

impl Drop for SlowPayer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When this process was started as the payer, serves until its parent goes away and never returns.
/// Otherwise returns at once. Call it first thing in `main`.
pub fn serve_if_asked() {
    if std::env::args().nth(1).as_deref() != Some(SERVE) {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // The parent closes our stdin when it ends, whatever way it ends.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let pages: Arc<Vec<(usize, Vec<u8>)>> =
        Arc::new(PAGE_SIZES.iter().map(|&n| (n, entries(n))).collect());
    println!("port {port}");
    std::io::stdout().flush().expect("flush");
    for socket in listener.incoming().flatten() {
        let pages = pages.clone();
        std::thread::spawn(move || serve_connection(socket, &pages));
    }
    std::process::exit(0);
}

/// The `entry` array of a page of `n` EOBs (a JSON array).
pub fn entries(n: usize) -> Vec<u8> {
    assert!(EOB.contains(r#""id":"EOBProfessional1""#));
    let list: Vec<String> = (0..n)
        .map(|i| {
            let eob = EOB.trim().replacen(
                r#""id":"EOBProfessional1""#,
                &format!(r#""id":"eob-{i}""#),
                1,
            );
            format!(r#"{{"fullUrl":"urn:eob:{i}","resource":{eob},"search":{{"mode":"match"}}}}"#)
        })
        .collect();
    format!("[{}]", list.join(",")).into_bytes()
}

/// A whole searchset page of `n` EOBs with no `next` link.
pub fn page(n: usize) -> Vec<u8> {
    let mut page = br#"{"resourceType":"Bundle","type":"searchset","entry":"#.to_vec();
    page.extend_from_slice(&entries(n));
    page.push(b'}');
    page
}

/// Keep-alive: answers requests on one connection until the client closes it.
fn serve_connection(socket: TcpStream, pages: &[(usize, Vec<u8>)]) {
    let _ = socket.set_nodelay(true);
    let mut reader = BufReader::new(socket.try_clone().expect("clone socket"));
    let mut writer = socket;
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let arrived = Instant::now();
        // The headers, up to the blank line (GETs carry no body).
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) if header == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let target = request_line.split(' ').nth(1).unwrap_or_default();
        if target == "/stats" {
            let max = MAX_IN_FLIGHT.swap(0, Ordering::SeqCst);
            let _ = write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{max}",
                max.to_string().len()
            );
            return;
        }
        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
        let (head, entries, tail) = page_for(target, pages);
        std::thread::sleep(LATENCY.saturating_sub(arrived.elapsed()));
        let status = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n",
            head.len() + entries.len() + tail.len()
        );
        let written = writer
            .write_all(status.as_bytes())
            .and_then(|()| writer.write_all(head.as_bytes()))
            .and_then(|()| writer.write_all(entries));
        // Done before the last bytes go out, so that the client cannot have read them (and sent its next
        // request) before this answer stops counting.
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        let written = written.and_then(|()| writer.write_all(tail.as_bytes()));
        if written.is_err() {
            return;
        }
    }
}

/// The page a request asks for, in three parts: what comes before its entries, the entries, and what follows.
///
/// The `next` link (absent on the last page) is written before the entries, in the order the Bundle's
/// definition lists its elements, as HAPI FHIR and most servers write it; or after them when the member's name
/// contains `linklast`, the worst case for a client, which then has the whole page before it learns the next.
fn page_for<'a>(target: &str, pages: &'a [(usize, Vec<u8>)]) -> (String, &'a [u8], String) {
    let query = |key: &str| {
        target
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_owned())
    };
    let patient = query("patient").unwrap_or_default();
    let (name, (count, size)) = patient
        .rsplit_once('-')
        .and_then(|(name, spec)| Some((name, spec.split_once('x')?)))
        .and_then(|(name, (p, s))| {
            Some((name, (p.parse::<usize>().ok()?, s.parse::<usize>().ok()?)))
        })
        .unwrap_or_else(|| panic!("patient {patient:?} does not say `name-PAGESxSIZE`"));
    let page: usize = query("page").map_or(1, |p| p.parse().expect("page number"));
    let entries = &pages
        .iter()
        .find(|(s, _)| *s == size)
        .unwrap_or_else(|| panic!("no pages of {size}; sizes are {PAGE_SIZES:?}"))
        .1;
    let link = (page < count).then(|| {
        format!(
            r#""link":[{{"relation":"next","url":"ExplanationOfBenefit?patient={patient}&page={}"}}]"#,
            page + 1
        )
    });
    let start = r#"{"resourceType":"Bundle","type":"searchset","#;
    match link {
        Some(link) if name.contains("linklast") => {
            (format!(r#"{start}"entry":"#), entries, format!(",{link}}}"))
        }
        Some(link) => (
            format!(r#"{start}{link},"entry":"#),
            entries,
            "}".to_owned(),
        ),
        None => (format!(r#"{start}"entry":"#), entries, "}".to_owned()),
    }
}
