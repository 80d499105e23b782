//! Generate the message types and gRPC stubs with `protox`, a pure-Rust
//! protobuf compiler, so that building needs no `protoc` binary.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/kvrpc.proto",
        "proto/pdrpc.proto",
        "proto/raftpb.proto",
        "proto/service.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_transport(true)
        .compile_fds(descriptors)?;
    Ok(())
}
