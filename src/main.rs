fn main() {
    let _ = patchbaseline::error::exit::SUCCESS;
}
