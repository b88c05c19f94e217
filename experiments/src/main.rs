//! The `distillery` command.
fn main() {
    println!("distillery: the command line arrives with its issue; see README.md");
}
