//! The `sportello` binary's maintainer commands, run as a maintainer would.

mod common;

use common::sportello;

#[test]
fn identity_decodes_and_masks() {
    let (ok, out, _) = sportello(&["identity", "RSSMRAQRCMNFNLRG"]);
    assert!(ok);
    assert!(out.contains("RSS************G"), "{out}");
    assert!(!out.contains("RSSMRAQRCMNFNLRG"));
    assert!(out.contains("1945-03-12") && out.contains("F205") && out.contains("omocode:    yes"));
}

#[test]
fn identity_errors_in_the_chosen_language() {
    let (ok, _, err) = sportello(&["identity", "RSSMRA45C12F2O5C", "--lang", "it"]);
    assert!(!ok);
    assert!(
        err.contains("il carattere 14 ('O') deve essere una cifra"),
        "{err}"
    );
    let (ok, _, err) = sportello(&["identity", "--scan", "*RSSMRA45C12F205D*", "--lang", "en"]);
    assert!(!ok);
    assert!(err.contains("not valid"), "{err}");
}

#[test]
fn catalogue_lists_both_agencies() {
    let (ok, out, _) = sportello(&["catalogue", "--lang", "en"]);
    assert!(ok);
    assert!(out.contains("INPS") && out.contains("Job centre"));
    assert!(out.contains("N  naspi"));
}

#[test]
fn check_config_names_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kiosk.toml");
    std::fs::write(&file, "[session]\nwarning_seconds = 5\n").unwrap();
    let (ok, _, err) = sportello(&["check-config", "kiosk", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("kiosk.toml") && err.contains("session.warning_seconds"),
        "{err}"
    );
    std::fs::write(&file, "kiosk_id = \"ufficio-1\"\n").unwrap();
    let (ok, out, _) = sportello(&["check-config", "kiosk", file.to_str().unwrap()]);
    assert!(ok, "{out}");
}

#[test]
fn shipped_config_templates_are_valid() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (ok, _, err) = sportello(&["check-config", "kiosk", &format!("{root}/board/kiosk.toml")]);
    assert!(ok, "{err}");
    let (ok, _, err) = sportello(&["check-config", "hub", &format!("{root}/board/hub.toml")]);
    assert!(ok, "{err}");
    let (ok, _, err) = sportello(&[
        "catalogue",
        "--file",
        &format!("{root}/data/catalogue.toml"),
    ]);
    assert!(ok, "{err}");
}
