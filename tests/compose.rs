//! `docker/compose.yaml` checked without docker: it parses as YAML, has the name server, the
//! SYNC_MASTER/SLAVE pair and the standalone service, every command is a binary the image of
//! `docker/Dockerfile` installs, and every `-c` file it names exists under `docker/compose/` and
//! loads into our name-server or broker config with no unknown key. (Where docker is present,
//! `compat-tests/surface/compose_check.sh` also runs `docker compose config`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use rocketmq_rs::config::properties;
use rocketmq_rs::config::table::ConfigValues;
use serde_yaml_ng::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Value {
    let text = std::fs::read_to_string(root().join("docker/compose.yaml")).unwrap();
    let mut v: Value = serde_yaml_ng::from_str(&text).expect("docker/compose.yaml is YAML");
    v.apply_merge().unwrap();
    v
}

/// The `-c` file of a service's command, mapped from the container path to `docker/compose/`.
fn conf_of(service: &Value) -> (String, Option<PathBuf>) {
    let cmd: Vec<String> = service["command"]
        .as_sequence()
        .expect("command is a list")
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    let conf = cmd.iter().position(|a| a == "-c").map(|i| {
        let p = cmd[i + 1]
            .strip_prefix("/home/rocketmq/compose/")
            .expect("conf under the mounted docker/compose");
        root().join("docker/compose").join(p)
    });
    (cmd[0].clone(), conf)
}

fn load(mut config: ConfigValues, path: &Path) -> ConfigValues {
    let text = std::fs::read_to_string(path).unwrap();
    for e in properties::parse(&text).unwrap() {
        config
            .set(&e.key, &e.value)
            .unwrap_or_else(|err| panic!("{}:{}: {err}", path.display(), e.line));
    }
    config
}

#[test]
fn compose_file_describes_a_name_server_a_sync_pair_and_the_standalone() {
    let v = compose();
    let services = v["services"].as_mapping().expect("services");
    let names: Vec<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(names, ["namesrv", "broker-a", "broker-a-s", "standalone"]);
    let dockerfile = std::fs::read_to_string(root().join("docker/Dockerfile")).unwrap();
    for (name, s) in services {
        assert_eq!(
            s["build"]["dockerfile"].as_str(),
            Some("docker/Dockerfile"),
            "{name:?}"
        );
        assert_eq!(s["image"].as_str(), Some("rocketmq-rs:local"), "{name:?}");
        let (bin, _) = conf_of(s);
        assert!(
            dockerfile.contains(&format!("/release/{bin} "))
                || dockerfile.contains(&format!("/release/{bin}\n")),
            "{bin} is not installed by docker/Dockerfile"
        );
    }

    let ns = load(
        rocketmq_rs::namesrv::config::defaults(),
        &conf_of(&v["services"]["namesrv"]).1.unwrap(),
    );
    assert_eq!(ns.get("listenPort"), "9876");
    let http = ns.get("addressServerPort").to_owned();
    let ports: Vec<&str> = v["services"]["namesrv"]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(ports, ["9876:9876".to_owned(), format!("{http}:{http}")]);

    let master = load(
        rocketmq_rs::broker::config::defaults(),
        &conf_of(&v["services"]["broker-a"]).1.unwrap(),
    );
    let slave = load(
        rocketmq_rs::broker::config::defaults(),
        &conf_of(&v["services"]["broker-a-s"]).1.unwrap(),
    );
    assert_eq!(master.get("brokerRole"), "SYNC_MASTER");
    assert_eq!(master.get("brokerId"), "0");
    assert_eq!(slave.get("brokerRole"), "SLAVE");
    assert_eq!(slave.get("brokerId"), "1");
    for b in [&master, &slave] {
        assert_eq!(b.get("brokerName"), "broker-a");
        assert_eq!(
            b.get("namesrvAddr"),
            "namesrv:9876",
            "the name server by service name"
        );
        assert_eq!(
            b.get("storePathRootDir"),
            "/home/rocketmq/store",
            "the service's volume"
        );
    }
    let standalone = &v["services"]["standalone"];
    assert_eq!(standalone["profiles"][0].as_str(), Some("standalone"));
}
