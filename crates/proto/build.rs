//! Generate the message types with `protox`, a pure-Rust protobuf compiler, so
//! that building needs no `protoc` binary.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/kvrpc.proto",
        "proto/pdrpc.proto",
        "proto/raftpb.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
