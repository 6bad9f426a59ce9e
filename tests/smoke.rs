//! Smoke tests.
use rawrt::net::{TcpListener, TcpStream};

#[test]
fn spawn_and_join() {
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let v = rt.block_on(async { rawrt::spawn(async { 5 }).await.unwrap() });
    assert_eq!(v, 5);
}

#[test]
fn echo_once() {
    let rt = rawrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        eprintln!("bound {addr}");
        let srv = rawrt::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            eprintln!("accepted");
            let mut b = [0u8; 4];
            s.read_exact(&mut b).await.unwrap();
            eprintln!("server read");
            s.write_all(&b).await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        eprintln!("connected");
        c.write_all(b"ping").await.unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"ping");
        srv.await.unwrap();
    });
}
