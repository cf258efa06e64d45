//! `sportello hub records import` as a maintainer runs it: the example exports load, a
//! file with bad rows is reported row by row (line, field, reason) and imports nothing.

mod common;

use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(name)
}

fn hub_toml(dir: &Path, db: &str) -> PathBuf {
    let file = dir.join(format!("{db}.toml"));
    std::fs::write(
        &file,
        format!(
            "database = \"{}\"\n",
            dir.join(format!("{db}.sqlite")).display()
        ),
    )
    .unwrap();
    file
}

fn import(config: &Path, file: &Path, extra: &[&str]) -> (bool, String, String) {
    let out = common::sportello_command()
        .args(["hub", "--config"])
        .arg(config)
        .args(["records", "import"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn counts(dir: &Path, db: &str) -> (i64, i64, i64) {
    let path = dir.join(format!("{db}.sqlite"));
    if !path.exists() {
        return (0, 0, 0);
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    let n = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    (
        n("record_applications"),
        n("record_employment"),
        n("record_contributions"),
    )
}

#[test]
fn the_examples_import_and_a_bad_file_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = hub_toml(dir.path(), "good");

    let (ok, out, err) = import(&good, &example("records.csv"), &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("would import 7 application, 3 employment and 4 contribution rows"),
        "{out}"
    );
    assert_eq!(
        counts(dir.path(), "good"),
        (0, 0, 0),
        "a dry run stores nothing"
    );

    let (ok, out, err) = import(&good, &example("records.csv"), &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains("imported 7 application, 3 employment and 4 contribution rows"),
        "{out}"
    );
    assert_eq!(counts(dir.path(), "good"), (7, 3, 4));
    // The JSON example holds the same rows: they replace themselves.
    let (ok, _, err) = import(&good, &example("records.json"), &[]);
    assert!(ok, "{err}");
    assert_eq!(counts(dir.path(), "good"), (7, 3, 4));

    // A file with a wrong check letter, an unknown status and a date in the future.
    let text = std::fs::read_to_string(example("records.csv")).unwrap();
    let bad = text
        .replace(
            "application,BNCMRC85S02F205A,isee,approved",
            "application,BNCMRC85S02F205B,isee,approved",
        )
        .replace("dis-coll,rejected,2026-09-18", "dis-coll,lost,2099-09-18");
    let bad_file = dir.path().join("bad.csv");
    std::fs::write(&bad_file, bad).unwrap();
    let fresh = hub_toml(dir.path(), "fresh");
    let (ok, out, err) = import(&fresh, &bad_file, &[]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("line 13, field `codice_fiscale`: the last letter"),
        "{err}"
    );
    assert!(err.contains("line 14, field `status`: `lost`"), "{err}");
    assert!(
        err.contains("line 14, field `last_change`: 2099-09-18 is in the future"),
        "{err}"
    );
    assert!(
        err.contains("3 rejected row(s): nothing was imported"),
        "{err}"
    );
    assert!(
        !err.contains("BNCMRC85S02F205B"),
        "no codice fiscale in the report: {err}"
    );
    assert_eq!(counts(dir.path(), "fresh"), (0, 0, 0));

    // --replace empties the records first.
    let only = dir.path().join("only.json");
    std::fs::write(
        &only,
        r#"[{"type":"employment","codice_fiscale":"DLLMNT92A41Z343O","employment_status":"employed","as_of":"2026-11-25"}]"#,
    )
    .unwrap();
    let (ok, _, err) = import(&good, &only, &["--replace"]);
    assert!(ok, "{err}");
    assert_eq!(counts(dir.path(), "good"), (0, 1, 0));

    // Not CSV or JSON by name.
    let (ok, _, err) = import(&good, &dir.path().join("x.xlsx"), &[]);
    assert!(!ok);
    assert!(err.contains(".csv or .json"), "{err}");
}
