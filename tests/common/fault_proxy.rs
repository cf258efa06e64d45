//! A TCP proxy on loopback that breaks connections on purpose, between a kiosk and its
//! hub: refuses them, delays them, resets them in the middle of the answer (the hub has
//! applied the request, the kiosk never hears), or swallows them (black hole). Faults are
//! drawn per connection from a seeded random plan, or fixed, and counted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Forwarded untouched.
    Pass,
    /// Closed at once, before any byte.
    Refuse,
    /// Forwarded after a delay.
    Delay(Duration),
    /// The request reaches the hub; the answer is cut after a few bytes with a reset.
    ResetMidResponse,
    /// Accepted and never answered.
    BlackHole,
}

impl Fault {
    fn kind(self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Refuse => "refuse",
            Fault::Delay(_) => "delay",
            Fault::ResetMidResponse => "reset_mid_response",
            Fault::BlackHole => "black_hole",
        }
    }
}

/// How faults are chosen.
#[derive(Debug, Clone)]
pub enum Plan {
    /// The same for every connection.
    Always(Fault),
    /// Drawn per connection: percentages of refuse, delay, reset and black hole (the rest
    /// passes), and the longest delay.
    Random {
        refuse: u32,
        delay: u32,
        reset: u32,
        black_hole: u32,
        max_delay: Duration,
    },
}

struct Shared {
    plan: Mutex<Plan>,
    upstream: Mutex<SocketAddr>,
    rng: Mutex<rand::rngs::StdRng>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

/// A running proxy; dropping it stops accepting.
pub struct FaultProxy {
    /// Where kiosks connect.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on the current tokio runtime.
    pub async fn start(upstream: SocketAddr, plan: Plan, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            plan: Mutex::new(plan),
            upstream: Mutex::new(upstream),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
            counts: Mutex::new(BTreeMap::new()),
        });
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let fault = accept.choose();
                *accept
                    .counts
                    .lock()
                    .unwrap()
                    .entry(fault.kind())
                    .or_default() += 1;
                let upstream = *accept.upstream.lock().unwrap();
                tokio::spawn(handle(client, upstream, fault));
            }
        });
        FaultProxy { addr, shared, task }
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the plan for new connections.
    pub fn set_plan(&self, plan: Plan) {
        *self.shared.plan.lock().unwrap() = plan;
    }

    /// Points new connections at another upstream (a restarted hub on a new port).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock().unwrap() = upstream;
    }

    /// Connections seen, by fault.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.shared.counts.lock().unwrap().clone()
    }

    /// Connections that got a fault (anything but pass and delay).
    pub fn faults_injected(&self) -> u64 {
        self.counts()
            .iter()
            .filter(|(k, _)| !matches!(**k, "pass" | "delay"))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Shared {
    fn choose(&self) -> Fault {
        let plan = self.plan.lock().unwrap().clone();
        match plan {
            Plan::Always(fault) => fault,
            Plan::Random {
                refuse,
                delay,
                reset,
                black_hole,
                max_delay,
            } => {
                let mut rng = self.rng.lock().unwrap();
                let roll = rng.random_range(0..100);
                if roll < refuse {
                    Fault::Refuse
                } else if roll < refuse + delay {
                    let ms = rng.random_range(1..=max_delay.as_millis().max(2) as u64);
                    Fault::Delay(Duration::from_millis(ms))
                } else if roll < refuse + delay + reset {
                    Fault::ResetMidResponse
                } else if roll < refuse + delay + reset + black_hole {
                    Fault::BlackHole
                } else {
                    Fault::Pass
                }
            }
        }
    }
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, fault: Fault) {
    match fault {
        Fault::Refuse => drop(client),
        Fault::BlackHole => {
            let mut sink = [0u8; 4096];
            // Read and ignore until the client gives up.
            while let Ok(n) = client.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            pass(client, upstream).await;
        }
        Fault::Pass => pass(client, upstream).await,
        Fault::ResetMidResponse => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            // Forward the request: on loopback it arrives at once; stop after a pause.
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match tokio::time::timeout(Duration::from_millis(150), client.read(&mut buf)).await
                {
                    Ok(Ok(n)) if n > 0 => {
                        if server.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                    _ => break,
                }
            }
            // Wait for the hub's answer (it has applied the request), pass a few bytes of
            // it, then reset: the kiosk sees the answer break off.
            let mut first = [0u8; 12];
            if let Ok(n) = server.read(&mut first).await {
                let _ = client.write_all(&first[..n]).await;
            }
            let _ = client.set_zero_linger();
            drop(client);
        }
    }
}

async fn pass(client: TcpStream, upstream: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let mut client = client;
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
