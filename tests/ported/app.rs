// A small program written against Tokio's API, with no rawrt in it. `tests/tokio_port.rs`
// compiles this one file twice: once where `tokio` is Tokio, once under `use rawrt as
// tokio;`. Both must build and print the same transcript.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixStream};

/// Runs every scenario, returning one line each.
pub fn run(tag: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(scenarios(tag))
}

async fn scenarios(tag: &str) -> Vec<String> {
    let mut log = Vec::new();

    // A line server: owned halves, BufReader::lines, write_all, shutdown, read_to_string.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (rd, mut wr) = stream.into_split();
        let mut lines = BufReader::new(rd).lines();
        let mut n = 0;
        while let Some(line) = lines.next_line().await.unwrap() {
            wr.write_all(line.to_uppercase().as_bytes()).await.unwrap();
            wr.write_all(b"\n").await.unwrap();
            n += 1;
        }
        wr.shutdown().await.unwrap();
        n
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.set_nodelay(true).unwrap();
    client.write_all(b"hello\nworld\r\nlast").await.unwrap();
    client.shutdown().await.unwrap();
    let mut reply = String::new();
    client.read_to_string(&mut reply).await.unwrap();
    log.push(format!("lines: {reply:?} n={}", server.await.unwrap()));

    // Binary framing with the integer readers and writers.
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.write_u32(0xdead_beef).await.unwrap();
    a.write_u16_le(7).await.unwrap();
    a.write_i64(-5).await.unwrap();
    a.write_f64_le(1.5).await.unwrap();
    let (x, y, z, w) = (
        b.read_u32().await.unwrap(),
        b.read_u16_le().await.unwrap(),
        b.read_i64().await.unwrap(),
        b.read_f64_le().await.unwrap(),
    );
    log.push(format!("ints: {x:x} {y} {z} {w}"));

    // io::copy through an in-memory duplex pipe smaller than the payload.
    let (mut left, mut right) = tokio::io::duplex(64);
    let copier = tokio::spawn(async move {
        let mut src: &[u8] = &[7u8; 1000];
        let n = tokio::io::copy(&mut src, &mut left).await.unwrap();
        left.shutdown().await.unwrap();
        n
    });
    let mut got = Vec::new();
    right.read_to_end(&mut got).await.unwrap();
    log.push(format!("copy: {} bytes, all 7: {}", copier.await.unwrap(), got.iter().all(|&b| b == 7)));

    // read_exact at end of stream.
    let mut short: &[u8] = b"abc";
    let mut buf = [0u8; 4];
    let err = short.read_exact(&mut buf).await.unwrap_err();
    log.push(format!("read_exact: {:?}", err.kind()));

    // UDP.
    let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let v = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    u.send_to(b"datagram", v.local_addr().unwrap()).await.unwrap();
    let mut dbuf = [0u8; 32];
    let (n, from) = v.recv_from(&mut dbuf).await.unwrap();
    log.push(format!("udp: {:?} from u: {}", std::str::from_utf8(&dbuf[..n]).unwrap(), from == u.local_addr().unwrap()));

    // Files.
    let dir = std::env::temp_dir().join(format!("rawrt-port-{tag}-{}", std::process::id()));
    tokio::fs::create_dir_all(&dir).await.unwrap();
    let path = dir.join("notes.txt");
    tokio::fs::write(&path, b"one\ntwo\nthree\n").await.unwrap();
    let mut file = tokio::fs::OpenOptions::new().append(true).open(&path).await.unwrap();
    file.write_all(b"four\n").await.unwrap();
    file.flush().await.unwrap();
    drop(file);
    let file = tokio::fs::File::open(&path).await.unwrap();
    let mut lines = BufReader::new(file).lines();
    let mut count = 0;
    while lines.next_line().await.unwrap().is_some() {
        count += 1;
    }
    let mut file = tokio::fs::File::open(&path).await.unwrap();
    file.seek(std::io::SeekFrom::Start(4)).await.unwrap();
    let mut word = [0u8; 3];
    file.read_exact(&mut word).await.unwrap();
    let text = tokio::fs::read_to_string(&path).await.unwrap();
    let missing = tokio::fs::metadata(dir.join("nope")).await.unwrap_err();
    let mut entries = tokio::fs::read_dir(&dir).await.unwrap();
    let mut names = Vec::new();
    while let Some(e) = entries.next_entry().await.unwrap() {
        names.push(e.file_name().into_string().unwrap());
    }
    tokio::fs::remove_dir_all(&dir).await.unwrap();
    log.push(format!(
        "fs: {count} lines, word {:?}, {} bytes, missing {:?}, entries {names:?}",
        std::str::from_utf8(&word).unwrap(),
        text.len(),
        missing.kind()
    ));

    // A child process: output, status, piped stdin.
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("echo out; echo err >&2; exit 3")
        .output()
        .await
        .unwrap();
    log.push(format!(
        "process: {:?} {:?} {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    let mut cat = tokio::process::Command::new("cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = cat.stdin.take().unwrap();
    stdin.write_all(b"through cat").await.unwrap();
    drop(stdin);
    let mut echoed = String::new();
    cat.stdout.take().unwrap().read_to_string(&mut echoed).await.unwrap();
    log.push(format!("cat: {echoed:?} {}", cat.wait().await.unwrap().success()));

    // Timers, channels, the blocking pool.
    let (_keep, mut quiet) = UnixStream::pair().unwrap();
    let mut one = [0u8; 1];
    let timed_out = tokio::time::timeout(Duration::from_millis(20), quiet.read(&mut one)).await.is_err();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
    tokio::spawn(async move {
        for i in 0..5 {
            tx.send(i).await.unwrap();
        }
    });
    let mut sum = 0;
    while let Some(i) = rx.recv().await {
        sum += i;
    }
    let (otx, orx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move { otx.send("pong").unwrap() });
    let blocking = tokio::task::spawn_blocking(|| (1..=10u64).product::<u64>()).await.unwrap();
    log.push(format!("misc: timeout {timed_out}, sum {sum}, {:?}, {blocking}", orx.await.unwrap()));
    log
}
