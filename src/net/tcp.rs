//! TCP's split halves: [`ReadHalf`]/[`WriteHalf`] from
//! [`TcpStream::split`](super::TcpStream::split) and [`OwnedReadHalf`]/[`OwnedWriteHalf`]
//! from [`TcpStream::into_split`](super::TcpStream::into_split).

use std::net::SocketAddr;

use super::TcpStream;

super::split::split_halves!(
    TcpStream,
    SocketAddr,
    "Borrowing halves: both directions in one task, no allocation.\n\n\
     ```\n\
     # let rt = rawrt::Runtime::new()?;\n\
     # rt.block_on(async {\n\
     use rawrt::io::AsyncWriteExt;\n\
     # let listener = rawrt::net::TcpListener::bind(\"127.0.0.1:0\").await?;\n\
     let mut stream = rawrt::net::TcpStream::connect(listener.local_addr()?).await?;\n\
     # let (_peer, _) = listener.accept().await?;\n\
     let (_rd, mut wr) = stream.split();\n\
     wr.write_all(b\"ping\").await?;\n\
     # Ok::<_, std::io::Error>(()) })?;\n\
     # Ok::<_, std::io::Error>(())\n\
     ```"
);
