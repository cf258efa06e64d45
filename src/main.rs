//! The `sportello` command: one binary for the kiosk, the hub and the maintainer's tools.
//!
//! Each subcommand exists only in the builds that carry its program: `kiosk`, `doctor`
//! and `printer` with the `kiosk` feature, `hub` with `hub`, `demo` with both.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use sportello::catalogue::{Agency, Catalogue};
#[cfg(any(feature = "kiosk", feature = "hub"))]
use sportello::config;
#[cfg(feature = "hub")]
use sportello::config::hub::HubConfig;
#[cfg(feature = "kiosk")]
use sportello::config::kiosk::KioskConfig;
use sportello::identity::{CodiceFiscale, Sex, parse_health_card_scan};
use sportello::lang::Lang;

/// Firmware for self-service kiosks in offices shared by INPS and the Centro per l'impiego.
#[derive(Parser)]
#[command(name = "sportello", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the services of a catalogue file (or the built-in one), after validating it.
    Catalogue {
        /// A catalogue TOML file; the built-in catalogue when omitted.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Language of names and descriptions.
        #[arg(long, default_value = "it")]
        lang: Lang,
    },
    /// Validate and decode a codice fiscale, as typed or as a scanner delivers it.
    Identity {
        /// The code, or the raw scanner text with --scan.
        code: String,
        /// Treat the input as a health-card barcode scan (`*` framing, prefixes, CR/LF).
        #[arg(long)]
        scan: bool,
        /// Language of error messages.
        #[arg(long, default_value = "it")]
        lang: Lang,
    },
    #[cfg(any(feature = "kiosk", feature = "hub"))]
    /// Check a kiosk.toml or hub.toml and report the first problem, naming the key.
    CheckConfig {
        /// Which kind of file it is.
        #[arg(value_enum)]
        kind: ConfigKind,
        /// The file to check.
        file: PathBuf,
    },
    #[cfg(feature = "kiosk")]
    /// Printer tools: virtual printer, sample bytes, test page and status on hardware.
    Printer {
        #[command(subcommand)]
        command: cli::printer::PrinterCommand,
    },
    #[cfg(feature = "hub")]
    /// The office hub: serve (no subcommand), or set up clerks, kiosks and bookings.
    Hub(cli::hub::HubArgs),
    #[cfg(feature = "kiosk")]
    /// The kiosk: touch UI, printer, board and sync with the hub.
    ///
    /// Under systemd (a `Type=notify` unit) it reports readiness and sends watchdog
    /// keep-alives, and an unusable config keeps it up out of service instead of exiting.
    Kiosk {
        /// The kiosk's configuration; built-in defaults when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run the kiosk's core (store, printer, board, sync with the hub) without the
        /// touch UI: for boards without a panel and for boot tests. Same as `[display]
        /// headless = true`.
        #[arg(long)]
        headless: bool,
    },
    #[cfg(feature = "kiosk")]
    /// Check a kiosk: disk, store and outbox, clock, hub, printer. Exits 1 on a failure.
    Doctor {
        /// The kiosk's configuration; built-in defaults when omitted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Ask the printer itself (only while the kiosk is stopped: it owns the port).
        #[arg(long)]
        printer: bool,
    },
    /// Is a printed certificate genuine? Checks its QR seal with the hub's public key
    /// (offline with --key) and the sealed text (--content, or the hub's copy with
    /// --key-url). Exit status: 0 genuine, 1 not genuine, 2 cannot tell, 3 signature
    /// valid but the text not compared (compare the printed text).
    Verify(cli::verify::VerifyArgs),
    #[cfg(all(feature = "kiosk", feature = "hub"))]
    /// The whole product on this computer: hub, kiosk window, virtual printer.
    Demo {
        /// Working directory of the demo (wiped at start).
        #[arg(long, default_value = "sportello-demo")]
        dir: PathBuf,
        /// Hub port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Do not open the counter page in a browser.
        #[arg(long)]
        no_browser: bool,
    },
}

#[cfg(any(feature = "kiosk", feature = "hub"))]
#[derive(Clone, Copy, clap::ValueEnum)]
enum ConfigKind {
    #[cfg(feature = "kiosk")]
    Kiosk,
    #[cfg(feature = "hub")]
    Hub,
}

fn main() -> ExitCode {
    sportello::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(args) => return cli::verify::run(args),
        Command::Catalogue { file, lang } => show_catalogue(file, lang),
        Command::Identity { code, scan, lang } => show_identity(&code, scan, lang),
        #[cfg(any(feature = "kiosk", feature = "hub"))]
        Command::CheckConfig { kind, file } => check_config(kind, &file),
        #[cfg(feature = "kiosk")]
        Command::Printer { command } => cli::printer::run(command),
        #[cfg(feature = "hub")]
        Command::Hub(args) => cli::hub::run(args),
        #[cfg(feature = "kiosk")]
        Command::Kiosk { config, headless } => {
            sportello::kiosk::service::run(config.as_deref(), headless)
        }
        #[cfg(feature = "kiosk")]
        Command::Doctor { config, printer } => doctor(config, printer),
        #[cfg(all(feature = "kiosk", feature = "hub"))]
        Command::Demo {
            dir,
            port,
            no_browser,
        } => sportello::demo::run(sportello::demo::DemoOptions {
            dir,
            port,
            no_browser,
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sportello: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "kiosk")]
fn kiosk_config(path: Option<PathBuf>) -> Result<KioskConfig, String> {
    match path {
        Some(path) => config::load::<KioskConfig>(&path).map_err(|e| e.to_string()),
        None => Ok(KioskConfig::default()),
    }
}

#[cfg(feature = "kiosk")]
fn doctor(config: Option<PathBuf>, probe_printer: bool) -> Result<(), String> {
    let config = match kiosk_config(config) {
        Ok(config) => {
            println!("ok    config    valid");
            config
        }
        Err(err) => {
            println!("FAIL  config    {err}");
            return Err("the configuration is invalid".into());
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let checks = runtime.block_on(sportello::kiosk::doctor::run_checks(&config, probe_printer));
    if sportello::kiosk::doctor::report(&checks) {
        Ok(())
    } else {
        Err("some checks failed".into())
    }
}

fn show_catalogue(file: Option<PathBuf>, lang: Lang) -> Result<(), String> {
    let catalogue = match file {
        Some(path) => Catalogue::load(&path).map_err(|e| e.to_string())?,
        None => Catalogue::builtin(),
    };
    for agency in [Agency::Inps, Agency::Cpi, Agency::Office] {
        println!("{}", agency.display_name(lang));
        for s in catalogue.by_agency(agency) {
            let flags = match (s.priority, s.identification) {
                (true, true) => "  [priority, identification]",
                (true, false) => "  [priority]",
                (false, true) => "  [identification]",
                (false, false) => "",
            };
            println!("  {}  {:<22} {}{flags}", s.prefix, s.code, s.name(lang));
            println!("      {}", s.description(lang));
        }
    }
    Ok(())
}

fn show_identity(input: &str, scan: bool, lang: Lang) -> Result<(), String> {
    let code: CodiceFiscale = if scan {
        parse_health_card_scan(input).map_err(|e| e.message(lang))?
    } else {
        input
            .parse()
            .map_err(|e: sportello::identity::CfError| e.message(lang))?
    };
    let sex = match code.sex() {
        Sex::Male => "M",
        Sex::Female => "F",
    };
    let birth = code
        .birth_date()
        .map_or_else(|| "not a calendar date".to_string(), |d| d.to_string());
    println!("valid:      {}", code.masked());
    println!("sex:        {sex}");
    println!("birth date: {birth}");
    println!("birthplace: {}", code.birthplace());
    println!(
        "omocode:    {}",
        if code.is_omocode() { "yes" } else { "no" }
    );
    Ok(())
}

#[cfg(any(feature = "kiosk", feature = "hub"))]
fn check_config(kind: ConfigKind, file: &std::path::Path) -> Result<(), String> {
    match kind {
        #[cfg(feature = "kiosk")]
        ConfigKind::Kiosk => config::load::<KioskConfig>(file).map(|_| ()),
        #[cfg(feature = "hub")]
        ConfigKind::Hub => config::load::<HubConfig>(file).map(|_| ()),
    }
    .map_err(|e| e.to_string())?;
    println!("{}: ok", file.display());
    Ok(())
}
