//! Marks the container drills as ignored (counted as skipped, with the reason) when no Docker
//! engine answers on the machine that builds the tests.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_docker)");
    println!("cargo::rerun-if-env-changed=DOCKER_HOST");
    let answers = std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !answers {
        println!("cargo::rustc-cfg=no_docker");
        println!("cargo::warning=no Docker engine answers: the container drills are ignored");
    }
}
