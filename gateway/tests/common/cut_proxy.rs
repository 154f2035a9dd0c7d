//! A TCP proxy a test can cut: while down it closes every open connection and
//! refuses new ones, as a crashed or restarting database would look to the
//! gateway, without disturbing the real server other tests share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CutProxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    counter: AtomicU64,
}

impl CutProxy {
    pub async fn start(target: SocketAddr) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let down = Arc::new(AtomicBool::new(false));
        let (generation, watcher) = watch::channel(0u64);
        let accepting = down.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepting.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = watcher.clone();
                // Only cuts after this connection began count.
                cut.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        CutProxy {
            addr,
            down,
            generation,
            counter: AtomicU64::new(0),
        }
    }

    /// Closes every connection and refuses new ones until [`CutProxy::restore`].
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        let next = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.generation.send(next);
    }

    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}
