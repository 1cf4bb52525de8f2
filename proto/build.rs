//! Compiles the contracts with protox (pure Rust, no system protoc) and keeps the descriptor
//! set for gRPC reflection and for the gateway's policy check.

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=wuye");
    let mut files = Vec::new();
    collect(PathBuf::from("wuye"), &mut files)?;
    files.sort();

    let fds = protox::compile(&files, ["."])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("wuye_descriptor.bin"), fds.encode_to_vec())?;
    // Decode errors are the sender's bad input (src/codec.rs).
    tonic_prost_build::configure()
        .codec_path("crate::codec::WuyeCodec")
        .compile_fds(fds)?;
    Ok(())
}

fn collect(dir: PathBuf, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
