//! The `vertex-cancel` operator CLI.

fn main() {}
