//! Prints the Markdown table of supported payers and the quirks each adapter handles (for the README).
//!
//! `cargo run -p payer-quirks --example payer_table`

fn main() {
    print!("{}", payer_quirks::markdown_table());
}
