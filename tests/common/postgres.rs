//! A throwaway PostgreSQL server for one test binary: `initdb` into a temporary directory,
//! `pg_ctl start` on a free loopback port with fsync off, stopped and deleted on drop. From
//! Debian's server packages (scripts/test installs `postgresql`), no system service.
//!
//! Where the server binaries are missing, [`PostgresServer::start`] returns `None` after
//! saying so, and the PostgreSQL half of a test is skipped; with
//! `SPORTELLO_REQUIRE_POSTGRES=1` (set by scripts/test, so CI never skips) it panics.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

/// A running server; stopped when dropped.
pub struct PostgresServer {
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    port: u16,
    as_user: Option<&'static str>,
}

impl PostgresServer {
    /// Starts a server, or `None` (with a message) when PostgreSQL is not installed.
    pub fn start() -> Option<PostgresServer> {
        let Some(bin) = server_binaries() else {
            let why = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: \
                       the PostgreSQL half of this test is skipped (scripts/test installs \
                       the Debian package `postgresql`)";
            if std::env::var_os("SPORTELLO_REQUIRE_POSTGRES").is_some() {
                panic!("{why}, but SPORTELLO_REQUIRE_POSTGRES is set");
            }
            eprintln!("SKIPPED: {why}");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("sportello-pg")
            .tempdir()
            .expect("temporary directory");
        let data = dir.path().join("data");
        // initdb refuses to run as root: then the server runs as Debian's `postgres` user,
        // which owns the directory.
        let as_user = is_root().then_some("postgres");
        if let Some(user) = as_user {
            let status = Command::new("chown")
                .arg(user)
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown {user} {}", dir.path().display());
        }
        let port = free_port();
        let server = PostgresServer {
            bin,
            data,
            _dir: dir,
            port,
            as_user,
        };
        server.run(
            "initdb",
            &[
                "-D",
                &server.data.display().to_string(),
                "-U",
                "sportello",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        );
        server.restart();
        Some(server)
    }

    /// A URL for a database of its own (`CREATE DATABASE name`), so tests sharing one
    /// server do not see each other's rows.
    pub fn database(&self, name: &str) -> String {
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test server");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create the test database");
        self.url(name)
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://sportello@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the server at once (as a crash would), keeping its files.
    pub fn kill(&self) {
        self.run_quiet(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }

    /// Starts the server (again, after [`PostgresServer::kill`]). `fsync=off` spares the
    /// test machine's disk and only matters when the operating system crashes; a commit
    /// is still written before it is acknowledged, so it survives the server's own crash.
    pub fn restart(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200",
            self.port,
            self.data.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-o",
                &options,
                "-l",
                &self.data.join("server.log").display().to_string(),
                "-w",
                "start",
            ],
        );
    }

    /// Turns TLS on and refuses TCP connections without it (`hostssl` only), then
    /// restarts the server; returns the PEM of the authority that signed the server's
    /// certificate (for `127.0.0.1` and `localhost`). Create the databases first:
    /// [`PostgresServer::database`] connects without TLS.
    #[allow(dead_code)]
    pub fn require_tls(&self) -> String {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Sportello test authority");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let certificate = params.signed_by(&server_key, &ca).unwrap();
        let write = |name: &str, text: &str| {
            let path = self.data.join(name);
            std::fs::write(&path, text).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            if let Some(user) = self.as_user {
                let status = Command::new("chown").arg(user).arg(&path).status().unwrap();
                assert!(status.success(), "chown {user} {}", path.display());
            }
        };
        write("server.crt", &certificate.pem());
        write("server.key", &server_key.serialize_pem());
        write(
            "pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject\n",
        );
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).unwrap();
        self.kill();
        self.restart();
        ca.pem()
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        match self.as_user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program).args(args);
                command
            }
            None => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program, args)
            .output()
            .unwrap_or_else(|e| panic!("{program} cannot run: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn run_quiet(&self, program: &str, args: &[&str]) {
        let _ = self.command(program, args).output();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The newest installed server's `bin` directory (Debian: /usr/lib/postgresql/N/bin).
fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
