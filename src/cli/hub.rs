//! `sportello hub ...`: run the office server and set it up.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use clap::{Args, Subcommand};

use sportello::config;
use sportello::config::hub::HubConfig;
use sportello::hub::{self, admin};

/// Arguments of `sportello hub`.
#[derive(Args)]
pub struct HubArgs {
    /// The hub's configuration file (hub.toml); built-in defaults when omitted.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The office a clerk, an enrollment token or bookings belong to (its code, as
    /// `office list` shows it); the office hub.toml describes (`default`) when omitted.
    #[arg(long, global = true, default_value = hub::offices::CONFIGURED_CODE)]
    office: String,
    #[command(subcommand)]
    command: Option<HubCommand>,
}

#[derive(Subcommand)]
enum HubCommand {
    /// The offices this hub's database holds (a region's hub; one office needs none:
    /// hub.toml describes it, as office `default`).
    Office {
        #[command(subcommand)]
        command: OfficeCommand,
    },
    /// Clerks who log in on the counter and fleet pages.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Kiosk enrollment.
    Kiosk {
        #[command(subcommand)]
        command: KioskCommand,
    },
    /// Software updates for the kiosks: signed bundles (scripts/bundle), rolled out in
    /// waves (docs/maintainer.md, "Updating the kiosks").
    Update {
        #[command(subcommand)]
        command: UpdateCommand,
    },
    /// Booked appointments.
    Appointments {
        #[command(subcommand)]
        command: AppointmentsCommand,
    },
    /// What the agencies' back-office systems export: application status, data for
    /// certificates.
    Records {
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// Brings the database to this hub's schema (as a starting hub does) and prints its
    /// version: run it once before starting the processes of a new version on a shared
    /// PostgreSQL database (docs/regional.md).
    Migrate,
}

#[derive(Subcommand)]
enum OfficeCommand {
    /// Adds an office: its kiosks, clerks and bookings are then made with `--office CODE`,
    /// and its board is /display?office=CODE.
    Add {
        /// A short code: lowercase letters, digits and `-` (e.g. `milano-nord`).
        code: String,
        /// Its name, on tickets, the board and certificates.
        #[arg(long)]
        name: String,
        /// The IANA time zone whose local midnight turns its day.
        #[arg(long, default_value = "Europe/Rome")]
        time_zone: String,
        /// A counter a clerk can choose (repeat for each).
        #[arg(long = "counter", required = true)]
        counters: Vec<String>,
        /// A service it offers, `code` or `code=LETTER` for its own letter on the
        /// numbers (repeat for each); the whole catalogue when omitted.
        #[arg(long = "service")]
        services: Vec<String>,
        /// The last time of day (HH:MM) it takes walk-in tickets; hub.toml's `[hours]`
        /// when neither this nor `--last-ticket-for` is given.
        #[arg(long)]
        last_ticket: Option<String>,
        /// A service's own last time, `code=HH:MM` (repeat for each).
        #[arg(long = "last-ticket-for")]
        last_ticket_for: Vec<String>,
    },
    /// Lists the offices.
    List,
}

#[derive(Subcommand)]
enum RecordsCommand {
    /// Imports a CSV or JSON export (by extension); every row is checked and, if any is
    /// rejected, the report lists them and nothing is imported.
    Import {
        /// The export file (`.csv` or `.json`).
        file: PathBuf,
        /// Empty the stored records first (the file is a full export).
        #[arg(long)]
        replace: bool,
        /// Check the file and report, without importing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Adds a clerk (or sets a new password, which also enables a disabled clerk); the
    /// password is read from the terminal or, when piped, from the first line of
    /// standard input.
    Add {
        /// Login name.
        name: String,
        /// `clerk`, `maintainer` (may also roll software out from the fleet page) or
        /// `manager` (may also read the office's reports, /reports).
        /// Unset: a new clerk is a clerk, an existing one keeps their role.
        #[arg(long)]
        role: Option<String>,
    },
    /// Disables a clerk: no more logins, open sessions end at once (`add` with a new
    /// password enables them again).
    Disable {
        /// Login name.
        name: String,
    },
    /// Removes a clerk; open sessions end at once.
    Remove {
        /// Login name.
        name: String,
    },
}

#[derive(Subcommand)]
enum KioskCommand {
    /// Prints a one-time token for kiosk.toml `[hub] enrollment_token` (valid 30 days).
    EnrollToken,
    /// Revokes an enrollment token not used yet (a card or printout lost before its
    /// kiosk started): it enrols nothing any more.
    RevokeToken {
        /// The token, as `enroll-token` printed it.
        token: String,
    },
    /// Removes a kiosk (lost, stolen, retired): its token stops working at once, also in
    /// the running hub. A kiosk that comes back needs a new enrollment token.
    Remove {
        /// The kiosk's id, as the fleet page shows it (`k-...`).
        id: String,
    },
}

#[derive(Subcommand)]
enum UpdateCommand {
    /// Adds a bundle made by scripts/bundle, under the version in its manifest.
    Add {
        /// The bundle file (`.raucb`).
        file: PathBuf,
        /// Its version, as scripts/bundle printed it.
        #[arg(long)]
        version: String,
    },
    /// Rolls a version out: the canary wave first, then the rest in waves, each opening
    /// when the waves before it are all updated and good; the first rollback stops it.
    Rollout {
        /// The version to roll out (added before with `update add`).
        version: String,
        /// Only these kiosks (ids or names, comma-separated); all when omitted.
        #[arg(long, value_delimiter = ',')]
        kiosks: Vec<String>,
        /// Kiosks in the first wave.
        #[arg(long, default_value_t = 1)]
        canary: usize,
        /// Each later wave: this percentage of the kiosks left after the canary.
        #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u8).range(1..=100))]
        wave_percent: u8,
    },
    /// Stops the running rollout: no kiosk is offered the update any more (those
    /// installing finish).
    Stop,
    /// Shows the latest rollout, kiosk by kiosk.
    Status,
}

#[derive(Subcommand)]
enum AppointmentsCommand {
    /// Imports a CSV of bookings: `code,time,service[,codice_fiscale]`.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The office day of the bookings (YYYY-MM-DD); today when omitted.
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
    },
}

/// Runs `sportello hub ...`.
pub fn run(args: HubArgs) -> Result<(), String> {
    let config: HubConfig = match &args.config {
        Some(path) => config::load(path).map_err(|e| e.to_string())?,
        None => HubConfig::default(),
    };
    let location = hub::store::Location::of(&config);
    let office = args.office;
    match args.command {
        None => serve(config),
        Some(HubCommand::Office {
            command:
                OfficeCommand::Add {
                    code,
                    name,
                    time_zone,
                    counters,
                    services,
                    last_ticket,
                    last_ticket_for,
                },
        }) => {
            let catalogue = hub::load_catalogue(&config).map_err(|e| e.to_string())?;
            let hours =
                hub::offices::hours_json(last_ticket.as_deref(), &last_ticket_for, &catalogue)?;
            let office = hub::offices::NewOffice {
                code: &code,
                name: &name,
                time_zone: &time_zone,
                counters: &counters,
                services: (!services.is_empty()).then_some(services.as_slice()),
                hours: hours.as_deref(),
            };
            let added =
                admin::add_office(&location, &office, &catalogue).map_err(|e| e.to_string())?;
            println!(
                "office {} added: {} ({}), counters: {}",
                added.code,
                added.name,
                added.time_zone,
                added.counters.join(", ")
            );
            Ok(())
        }
        Some(HubCommand::Office {
            command: OfficeCommand::List,
        }) => {
            admin::sync_configured_office(&location, &config).map_err(|e| e.to_string())?;
            for office in admin::list_offices(&location).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}\t{}",
                    office.code,
                    office.time_zone,
                    office.name,
                    office.counters.join(", ")
                );
            }
            Ok(())
        }
        Some(HubCommand::Migrate) => {
            let conn = hub::store::connect(&location).map_err(|e| e.to_string())?;
            let version = hub::store::schema_version(conn.sql()).map_err(|e| e.to_string())?;
            println!("database {}: schema version {version}", location.database);
            Ok(())
        }
        Some(HubCommand::Operator {
            command: OperatorCommand::Add { name, role },
        }) => {
            if let Some(role) = &role
                && hub::auth::Role::parse(role).is_none()
            {
                return Err(format!("no role `{role}`: clerk, maintainer or manager"));
            }
            add_operator(&location, &office, &name)?;
            if let Some(role) = role {
                admin::set_role(&location, &name, &role).map_err(|e| e.to_string())?;
                println!("operator {name}: role {role}");
            }
            Ok(())
        }
        Some(HubCommand::Operator {
            command: OperatorCommand::Disable { name },
        }) => {
            let ended = admin::disable_operator(&location, &name).map_err(|e| e.to_string())?;
            println!("operator {name} disabled, {ended} open session(s) ended");
            Ok(())
        }
        Some(HubCommand::Operator {
            command: OperatorCommand::Remove { name },
        }) => {
            let ended = admin::remove_operator(&location, &name).map_err(|e| e.to_string())?;
            println!("operator {name} removed, {ended} open session(s) ended");
            Ok(())
        }
        Some(HubCommand::Kiosk {
            command: KioskCommand::Remove { id },
        }) => {
            let name = admin::remove_kiosk(&location, &id).map_err(|e| e.to_string())?;
            println!("kiosk {id} ({name}) removed: its token no longer works");
            Ok(())
        }
        Some(HubCommand::Kiosk {
            command: KioskCommand::EnrollToken,
        }) => {
            let token =
                admin::create_enrollment_token_in(&location, &office).map_err(|e| e.to_string())?;
            println!("{token}");
            eprintln!("one-time enrollment token: put it in kiosk.toml as [hub] enrollment_token");
            Ok(())
        }
        Some(HubCommand::Kiosk {
            command: KioskCommand::RevokeToken { token },
        }) => {
            if admin::revoke_enrollment_token(&location, &token).map_err(|e| e.to_string())? {
                println!("enrollment token revoked");
                Ok(())
            } else {
                Err(
                    "no unused enrollment token matches (a used one is undone with `kiosk remove`)"
                        .into(),
                )
            }
        }
        Some(HubCommand::Update { command }) => update(&location, command),
        Some(HubCommand::Appointments {
            command: AppointmentsCommand::Import { file, day },
        }) => {
            let catalogue = hub::load_catalogue(&config).map_err(|e| e.to_string())?;
            let (n, day) =
                admin::import_appointments_in(&location, &office, &catalogue, &file, day)
                    .map_err(|e| e.to_string())?;
            println!("imported {n} appointments for {day}");
            Ok(())
        }
        Some(HubCommand::Records {
            command:
                RecordsCommand::Import {
                    file,
                    replace,
                    dry_run,
                },
        }) => import_records(&config, &file, replace, dry_run),
    }
}

fn update(location: &hub::store::Location, command: UpdateCommand) -> Result<(), String> {
    use sportello::hub::updates;
    match command {
        UpdateCommand::Add { file, version } => {
            let sha256 =
                updates::add_bundle(location, &file, &version).map_err(|e| e.to_string())?;
            println!("bundle {version} added (sha256 {sha256})");
        }
        UpdateCommand::Rollout {
            version,
            kiosks,
            canary,
            wave_percent,
        } => {
            let waves = updates::Waves {
                canary,
                percent: wave_percent,
            };
            let (_, sizes) = updates::start_rollout(location, &version, &kiosks, waves)
                .map_err(|e| e.to_string())?;
            let described: Vec<String> = sizes.iter().map(usize::to_string).collect();
            println!(
                "rolling out {version} to {} kiosk(s) in waves of {}",
                sizes.iter().sum::<usize>(),
                described.join(", ")
            );
        }
        UpdateCommand::Stop => {
            if updates::stop_rollout(location, "stopped by a maintainer")
                .map_err(|e| e.to_string())?
            {
                println!("rollout stopped");
            } else {
                println!("no rollout was running");
            }
        }
        UpdateCommand::Status => {
            let conn = hub::store::connect(location).map_err(|e| e.to_string())?;
            match updates::latest(&conn).map_err(|e| e.to_string())? {
                None => println!("no rollout yet"),
                Some(rollout) => {
                    println!(
                        "{} {}{}",
                        rollout.version,
                        rollout.state,
                        rollout
                            .stop_reason
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                    for t in rollout.targets {
                        println!(
                            "  wave {} {} {} {}{}",
                            t.wave,
                            t.kiosk_id,
                            t.state,
                            t.booted_slot.unwrap_or_else(|| "-".into()),
                            t.detail.map(|d| format!(" ({d})")).unwrap_or_default()
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// The most rejected rows listed; the count says how many more there are.
const MAX_REPORTED: usize = 200;

fn import_records(
    config: &HubConfig,
    file: &Path,
    replace: bool,
    dry_run: bool,
) -> Result<(), String> {
    let tz: chrono_tz::Tz = config.time_zone.parse().map_err(|_| "bad time zone")?;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let location = hub::store::Location::of(config);
    match hub::records::import_file(&location, file, today, replace, dry_run) {
        Ok(summary) => {
            let verb = if dry_run { "would import" } else { "imported" };
            println!(
                "{}: {verb} {} application, {} employment and {} contribution rows",
                file.display(),
                summary.applications,
                summary.employment,
                summary.contributions
            );
            Ok(())
        }
        Err(hub::records::ImportError::Rejected(rejected)) => {
            eprintln!("{}: rejected rows:", file.display());
            for r in rejected.iter().take(MAX_REPORTED) {
                eprintln!("  {r}");
            }
            if rejected.len() > MAX_REPORTED {
                eprintln!("  ... and {} more", rejected.len() - MAX_REPORTED);
            }
            Err(format!(
                "{} rejected row(s): nothing was imported",
                rejected.len()
            ))
        }
        Err(e) => Err(format!("{}: {e}", file.display())),
    }
}

fn serve(config: HubConfig) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime
        .block_on(hub::run(config))
        .map_err(|e| e.to_string())
}

fn add_operator(location: &hub::store::Location, office: &str, name: &str) -> Result<(), String> {
    let password = if std::io::stdin().is_terminal() {
        let first = prompt_hidden(&format!("Password for {name}: "))?;
        let again = prompt_hidden("Again: ")?;
        if first != again {
            return Err("the two passwords differ".to_string());
        }
        first
    } else {
        read_line()?
    };
    let change =
        admin::add_operator_in(location, office, name, &password).map_err(|e| e.to_string())?;
    match change {
        admin::OperatorChange::Added => println!("operator {name} added"),
        admin::OperatorChange::PasswordChanged => {
            println!("operator {name}: password changed, open sessions ended")
        }
        admin::OperatorChange::Enabled => {
            println!("operator {name}: password changed, enabled again")
        }
    }
    Ok(())
}

fn read_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn stty(arg: &str) {
    let _ = Process::new("stty")
        .arg(arg)
        .stdin(Stdio::inherit())
        .status();
}

fn prompt_hidden(prompt: &str) -> Result<String, String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    stty("-echo");
    let line = read_line();
    stty("echo");
    eprintln!();
    line
}
