//! The `sportello` command: one binary for the kiosk, the hub and the maintainer's tools.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use sportello::catalogue::{Agency, Catalogue};
use sportello::config::{self, HubConfig, KioskConfig};
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
    /// Check a kiosk.toml or hub.toml and report the first problem, naming the key.
    CheckConfig {
        /// Which kind of file it is.
        #[arg(value_enum)]
        kind: ConfigKind,
        /// The file to check.
        file: PathBuf,
    },
    /// Printer tools: virtual printer, sample bytes, test page and status on hardware.
    Printer {
        #[command(subcommand)]
        command: cli::printer::PrinterCommand,
    },
    /// The office hub: serve (no subcommand), or set up clerks, kiosks and bookings.
    Hub(cli::hub::HubArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ConfigKind {
    Kiosk,
    Hub,
}

fn main() -> ExitCode {
    sportello::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Catalogue { file, lang } => show_catalogue(file, lang),
        Command::Identity { code, scan, lang } => show_identity(&code, scan, lang),
        Command::CheckConfig { kind, file } => check_config(kind, &file),
        Command::Printer { command } => cli::printer::run(command),
        Command::Hub(args) => cli::hub::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sportello: {message}");
            ExitCode::FAILURE
        }
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

fn check_config(kind: ConfigKind, file: &std::path::Path) -> Result<(), String> {
    match kind {
        ConfigKind::Kiosk => config::load::<KioskConfig>(file).map(|_| ()),
        ConfigKind::Hub => config::load::<HubConfig>(file).map(|_| ()),
    }
    .map_err(|e| e.to_string())?;
    println!("{}: ok", file.display());
    Ok(())
}
