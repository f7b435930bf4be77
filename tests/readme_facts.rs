//! The README's payer facts are the directory's: its "Getting credentials" table carries every answer of every
//! payer's `Registration`, word for word, so the two cannot drift apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

const README: &str = include_str!("../README.md");

#[test]
fn the_readme_credentials_table_says_what_the_directory_says() {
    let section = README
        .split("## Getting credentials")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Getting credentials section");
    for payer in patient_access::payers::directory() {
        let r = payer.registration;
        let row = section
            .lines()
            .find(|line| line.contains(r.portal))
            .unwrap_or_else(|| panic!("{}: no row with its portal {:?}", payer.key, r.portal));
        for answer in [r.process, r.redirect_uris, r.test_members, r.refresh] {
            assert!(
                row.contains(answer),
                "{}: the README row lacks {answer:?}",
                payer.key
            );
        }
    }
}
