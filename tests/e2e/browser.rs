//! A headless Chromium driven over the DevTools protocol (a websocket), to load
//! report pages from `file://` as a reader's browser would: console messages,
//! uncaught exceptions and every network request are recorded, and
//! screenshots are taken at a given viewport width.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Debian's Chromium, or `$CHROMIUM`.
pub fn chromium() -> Option<PathBuf> {
    let candidates =
        [std::env::var("CHROMIUM").ok(), Some("/usr/bin/chromium".into()), Some("/usr/bin/chromium-browser".into())];
    candidates.into_iter().flatten().map(PathBuf::from).find(|p| p.is_file())
}

/// Whether a missing browser fails the test (CI sets it) or skips it.
pub fn required() -> bool {
    std::env::var_os("DEVEX_BROWSER_TESTS").is_some_and(|v| v == "required")
}

/// What loading a page produced.
#[derive(Debug, Default)]
pub struct PageLoad {
    /// Console messages of level error or warning, uncaught exceptions and log entries of level error.
    pub errors: Vec<String>,
    /// Every URL the page requested (the page itself included).
    pub requests: Vec<String>,
}

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn launch(exe: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                    sent = true;
                }
            }
        });
        let browser_url = rx.recv_timeout(Duration::from_secs(30)).expect("chromium printed no DevTools address");
        let port: u16 = browser_url.trim_start_matches("ws://").split([':', '/']).nth(1).unwrap().parse().unwrap();
        let page_url = page_target(port);
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (ws, _) = tungstenite::client(page_url.as_str(), stream).expect("websocket to the page");
        let mut b = Browser { child, ws, next_id: 0, events: Vec::new(), _profile: profile };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            b.call(domain, json!({}));
        }
        b
    }

    /// Send a command and wait for its result; events that arrive meanwhile are kept.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).unwrap();
        loop {
            let v = self.read();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("devtools message") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("chromium closed the devtools connection"),
                _ => continue,
            }
        }
    }

    /// Set the viewport, load `file` and wait for its load event (and a moment for late messages).
    pub fn load(&mut self, file: &Path, width: u32, height: u32) -> PageLoad {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
        self.events.clear();
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.call("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.events.iter().any(|e| e["method"] == "Page.loadEventFired") {
            assert!(Instant::now() < deadline, "{url} did not load");
            let v = self.read();
            self.events.push(v);
        }
        // Drain what the page logged right after load.
        self.call(
            "Runtime.evaluate",
            json!({"expression": "new Promise(r => setTimeout(r, 200))", "awaitPromise": true}),
        );
        let mut load = PageLoad::default();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.consoleAPICalled"
                    if ["error", "warning", "assert"].contains(&p["type"].as_str().unwrap_or("")) =>
                {
                    load.errors.push(format!("console.{}: {}", p["type"], p["args"]))
                }
                "Runtime.exceptionThrown" => load.errors.push(format!("exception: {}", p["exceptionDetails"])),
                "Log.entryAdded" if matches!(p["entry"]["level"].as_str(), Some("error" | "warning")) => {
                    load.errors.push(format!("log: {}", p["entry"]))
                }
                "Network.requestWillBeSent" => {
                    load.requests.push(p["request"]["url"].as_str().unwrap_or("").to_string())
                }
                "Network.loadingFailed" => load.errors.push(format!("failed to load: {}", p)),
                _ => {}
            }
        }
        load
    }

    /// Evaluate a JavaScript expression in the page and return its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true}));
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// A PNG of the whole page at the current width.
    pub fn screenshot(&mut self, to: &Path) {
        let width = self.eval("document.documentElement.scrollWidth").as_f64().unwrap();
        let height = self.eval("document.documentElement.scrollHeight").as_f64().unwrap();
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
        );
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::write(to, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The websocket address of the first page target, from the DevTools HTTP endpoint.
fn page_target(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").unwrap();
        // Read the head, then exactly Content-Length bytes (the server may keep the connection open).
        let mut bytes = Vec::new();
        let mut buf = [0u8; 8192];
        let body = loop {
            let n = s.read(&mut buf).unwrap_or(0);
            bytes.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&bytes).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                });
                if n == 0 || len.is_some_and(|len| body.len() >= len) {
                    break body.to_string();
                }
            } else if n == 0 {
                break "[]".to_string();
            }
        };
        let targets: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
        if let Some(url) = targets.iter().find(|t| t["type"] == "page").and_then(|t| t["webSocketDebuggerUrl"].as_str())
        {
            return url.to_string();
        }
        assert!(Instant::now() < deadline, "chromium has no page target");
        std::thread::sleep(Duration::from_millis(100));
    }
}
