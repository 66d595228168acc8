//! The docs' table of act kinds (docs/acts.md) is the core's table (`kinds::KINDS`), row for
//! row. After changing the table, rewrite the docs' copy with
//! `GOLDEN_UPDATE=1 cargo nextest run -p backchannel-core --test docs`.
#![allow(clippy::unwrap_used)]

use backchannel_core::KINDS;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/acts.md");
const BEGIN: &str = "<!-- kinds:begin -->\n";
const END: &str = "<!-- kinds:end -->";

fn rendered() -> String {
    let mut table = String::from(
        "| kind | who may post it | where | on the record | embeds | its rule also refuses |\n|---|---|---|---|---|---|\n",
    );
    for kind in KINDS {
        let embeds = if kind.embeds.is_empty() {
            "—".to_owned()
        } else {
            kind.embeds
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let refuses = if kind.refuses.is_empty() {
            "—".to_owned()
        } else {
            kind.refuses
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        table.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            kind.name,
            kind.who_words(),
            kind.place.word(),
            if kind.on_record { "yes" } else { "no" },
            embeds,
            refuses
        ));
    }
    table
}

#[test]
fn the_docs_table_of_act_kinds_is_the_cores() {
    let doc = std::fs::read_to_string(DOC).unwrap();
    let start = doc.find(BEGIN).unwrap() + BEGIN.len();
    let end = doc.find(END).unwrap();
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        let updated = format!("{}{}{}", &doc[..start], rendered(), &doc[end..]);
        std::fs::write(DOC, updated).unwrap();
        return;
    }
    assert_eq!(
        &doc[start..end],
        rendered(),
        "docs/acts.md differs from kinds::KINDS"
    );
}
