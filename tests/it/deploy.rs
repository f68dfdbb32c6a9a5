//! The deploy recipes work as written (issue 24), as far as this machine
//! allows without a cluster: the Kubernetes manifest is checked for what
//! the API server and kubelet would refuse or trip on, and its container
//! command lines run here with the built binary; the SLURM script runs as a
//! full array and then as the retry of one task; the Dockerfile's pins are
//! checked statically (no docker here).

use super::{repo, tmpdir};
use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tenantsim_import::hpa::yaml::{parse_stream, Node, Value};

/// A ConfigMap's data may not exceed 1 MiB (the API server refuses it).
const CONFIGMAP_LIMIT: u64 = 1 << 20;

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

fn get<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    match &n.value {
        Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn at<'a>(n: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(n, |n, k| get(n, k))
}

fn text(n: &Node) -> Option<&str> {
    match &n.value {
        Value::Str { text, .. } => Some(text),
        _ => None,
    }
}

fn list(n: &Node) -> &[Node] {
    match &n.value {
        Value::Seq(items) => items,
        _ => &[],
    }
}

fn must<'a>(doc: &'a Node, path: &str, what: &str) -> &'a Node {
    at(doc, path).unwrap_or_else(|| panic!("{what}: `{path}` is missing"))
}

fn manifest() -> (String, Vec<Node>) {
    let text = std::fs::read_to_string(repo("deploy/k8s/sweep-job.yaml")).unwrap();
    let docs = parse_stream(&text).unwrap_or_else(|e| panic!("deploy/k8s/sweep-job.yaml: {e}"));
    (text, docs)
}

fn kind(doc: &Node) -> &str {
    text(must(doc, "kind", "a document")).unwrap()
}

fn name(doc: &Node) -> &str {
    text(must(doc, "metadata.name", kind(doc))).unwrap()
}

fn size_of(p: &Path) -> u64 {
    if p.is_dir() {
        std::fs::read_dir(p).unwrap().map(|e| size_of(&e.unwrap().path())).sum()
    } else {
        std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
    }
}

/// `COPY --from=build /src/X /opt/...` lines of the Dockerfile's final
/// stage: (path in the image, path in the repository).
fn baked_paths() -> Vec<(String, PathBuf)> {
    let text = std::fs::read_to_string(repo("deploy/Dockerfile")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("COPY --from=build /src/"))
        .filter_map(|rest| {
            let (from, to) = rest.split_once(' ')?;
            (!from.starts_with("target")).then(|| (to.trim().to_string(), repo(from)))
        })
        .collect()
}

#[test]
fn the_kubernetes_manifest_is_complete_and_fits_the_api_limits() {
    let (source, docs) = manifest();
    assert_eq!(docs.len(), 3, "a claim, the sweep Job and the merge Job");
    for d in &docs {
        for key in ["apiVersion", "kind", "metadata.name"] {
            must(d, key, "every document");
        }
        assert_ne!(
            kind(d),
            "ConfigMap",
            "scenarios must not travel in a ConfigMap (1 MiB limit)"
        );
    }
    // The claim: ReadWriteMany, and the comment next to it says why.
    let claim = docs.iter().find(|d| kind(d) == "PersistentVolumeClaim").unwrap();
    let modes: Vec<&str> = list(must(claim, "spec.accessModes", "the claim"))
        .iter()
        .filter_map(text)
        .collect();
    assert_eq!(modes, ["ReadWriteMany"]);
    let before_modes = &source[..source.find("accessModes").unwrap()];
    let comment = &before_modes[before_modes.rfind("spec:").unwrap()..];
    assert!(comment.contains("ReadWriteMany is required"), "{comment}");
    // Any ConfigMap the instructions create must fit in 1 MiB.
    for l in source.lines().filter(|l| l.contains("create configmap")) {
        for arg in l.split_whitespace().filter_map(|w| w.strip_prefix("--from-file=")) {
            let size = size_of(&repo(arg));
            assert!(
                size <= CONFIGMAP_LIMIT,
                "{arg} is {size} bytes, over the 1 MiB ConfigMap limit"
            );
        }
    }
    let baked = baked_paths();
    for job in docs.iter().filter(|d| kind(d) == "Job") {
        let what = name(job);
        let pod = must(job, "spec.template.spec", what);
        let restart = text(must(pod, "restartPolicy", what)).unwrap();
        assert!(
            ["Never", "OnFailure"].contains(&restart),
            "{what}: restartPolicy {restart}"
        );
        let volumes: Vec<&str> = list(must(pod, "volumes", what))
            .iter()
            .map(|v| text(must(v, "name", what)).unwrap())
            .collect();
        for v in list(must(pod, "volumes", what)) {
            assert!(get(v, "configMap").is_none(), "{what}: a configMap volume");
            if let Some(claim_name) = at(v, "persistentVolumeClaim.claimName").and_then(text) {
                assert_eq!(
                    claim_name,
                    name(claim),
                    "{what}: the claim it mounts is not in the file"
                );
            }
        }
        for c in list(must(pod, "containers", what)) {
            let image = text(must(c, "image", what)).unwrap();
            let (_, tag) = image.rsplit_once(':').unwrap_or((image, ""));
            assert!(!tag.is_empty() && tag != "latest", "{what}: image {image}: pin a tag");
            assert_eq!(
                at(c, "imagePullPolicy").and_then(text),
                Some("IfNotPresent"),
                "{what}: a locally built image needs imagePullPolicy: IfNotPresent"
            );
            for m in list(must(c, "volumeMounts", what)) {
                let v = text(must(m, "name", what)).unwrap();
                assert!(volumes.contains(&v), "{what}: mounts {v}, which is not a volume");
            }
            // Every file under the image's /opt/tenantsim it names is baked in.
            let cmd = container_command(c);
            for word in cmd.split_whitespace().filter(|w| w.starts_with("/opt/")) {
                let (inside, host) = baked
                    .iter()
                    .find(|(inside, _)| word.starts_with(inside.as_str()))
                    .unwrap_or_else(|| panic!("{what}: {word} is not copied into the image"));
                let file = host.join(word[inside.len()..].trim_start_matches('/'));
                assert!(file.exists(), "{what}: {word} ← {} does not exist", file.display());
            }
        }
        if at(job, "spec.completionMode").and_then(text) == Some("Indexed") {
            let n = text(must(job, "spec.completions", what)).unwrap();
            let cmd = container_command(&list(must(pod, "containers", what))[0]);
            assert!(
                cmd.contains(&format!("--shards {n}")),
                "{what}: completions {n} ≠ --shards in `{cmd}`"
            );
        }
    }
}

/// The shell command a container runs: `command: [/bin/sh, -c]` and one arg.
fn container_command(c: &Node) -> String {
    let command: Vec<&str> = list(get(c, "command").expect("command"))
        .iter()
        .filter_map(text)
        .collect();
    assert_eq!(command, ["/bin/sh", "-c"]);
    let args = list(get(c, "args").expect("args"));
    assert_eq!(args.len(), 1);
    text(&args[0]).unwrap().to_string()
}

#[test]
fn the_kubernetes_command_lines_run_shard_resume_and_merge() {
    let (_, docs) = manifest();
    let job = |n: &str| docs.iter().find(|d| kind(d) == "Job" && name(d) == n).unwrap();
    let containers = |j: &Node| list(must(j, "spec.template.spec.containers", "job")).to_vec();
    let sweep_cmd = container_command(&containers(job("tenantsim-sweep"))[0]);
    let merge_cmd = container_command(&containers(job("tenantsim-merge"))[0]);
    let shards: usize = text(must(job("tenantsim-sweep"), "spec.completions", "sweep"))
        .unwrap()
        .parse()
        .unwrap();
    // The pod's file system here: /opt/tenantsim is a copy of what the
    // Dockerfile bakes in (with the swept scenario shortened from 10 to
    // 1 simulated minute, so 60 points × 10 replications take seconds in
    // the debug build), /results a temporary folder, and `tenantsim` on
    // PATH is the binary under test.
    let root = tmpdir("k8s-pod");
    let opt = root.join("opt");
    for (inside, host) in baked_paths() {
        let dest = opt.join(inside.trim_start_matches("/opt/"));
        copy_dir(&host, &dest);
    }
    let scenario = opt.join("tenantsim/scenarios/examples/pool-exhaustion.toml");
    let text0 = std::fs::read_to_string(&scenario).unwrap();
    let short =
        text0
            .replacen("duration = \"10m\"", "duration = \"20s\"", 1)
            .replacen("warmup = \"1m\"", "warmup = \"5s\"", 1);
    assert_ne!(short, text0, "the scenario's duration moved: update this test");
    std::fs::write(&scenario, short).unwrap();
    let results = root.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let local = |cmd: &str| {
        cmd.replace("/opt/", &format!("{}/", opt.display()))
            .replace("/results", &results.display().to_string())
    };
    let bin_dir = assert_cmd::cargo::cargo_bin("tenantsim")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let pod = |cmd: &str, index: Option<usize>| {
        let mut c = std::process::Command::new("/bin/sh");
        c.arg("-c")
            .arg(local(cmd))
            .env("PATH", &path)
            .env_remove("SLURM_ARRAY_TASK_ID");
        if let Some(i) = index {
            c.env("JOB_COMPLETION_INDEX", i.to_string());
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "`{}` (index {index:?}): {}",
            local(cmd),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for i in 0..shards {
        pod(&sweep_cmd, Some(i));
    }
    // A pod retried by backoffLimitPerIndex: it resumes, keeping its points.
    let point = results.join("shard-2/points/p0000002.json");
    let before = std::fs::read(&point).unwrap();
    std::fs::remove_file(results.join("shard-2/points/p0000006.json")).unwrap();
    pod(&sweep_cmd, Some(2));
    assert_eq!(std::fs::read(&point).unwrap(), before);
    assert!(
        results.join("shard-2/points/p0000006.json").exists(),
        "the lost point ran again"
    );
    pod(&merge_cmd, None);
    let merged = std::fs::read_to_string(results.join("merged/results.csv")).unwrap();
    assert_eq!(merged.lines().count(), 1 + 15 * 4, "60 points and a header");
    assert!(results.join("merged/tiers.parquet").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

const SLURM_PARAMS: &str = "--param pool.size=2..8:2 --param instance.initial=1,2,3 --replications 2 \
                            --set simulation.duration=40s --set simulation.warmup=10s";

/// Run deploy/slurm/sweep.sh with the variables SLURM sets for array task
/// `id` of an array `min..=max`.
fn slurm_task(out: &Path, shards: &str, id: u32, min: u32, max: u32) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(repo("deploy/slurm/sweep.sh"))
        .env("TENANTSIM", assert_cmd::cargo::cargo_bin("tenantsim"))
        .env("SCENARIO", repo("scenarios/examples/pool-exhaustion.toml"))
        .env("PARAMS", SLURM_PARAMS)
        .env("OUT", out)
        .env("SHARDS", shards)
        .env("SLURM_ARRAY_TASK_ID", id.to_string())
        .env("SLURM_ARRAY_TASK_MIN", min.to_string())
        .env("SLURM_ARRAY_TASK_MAX", max.to_string())
        .env("SLURM_ARRAY_TASK_COUNT", (max - min + 1).to_string())
        .env("SLURM_CPUS_PER_TASK", "1")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap()
}

#[test]
fn a_slurm_array_runs_its_shards_and_a_retried_task_resumes() {
    let root = tmpdir("slurm");
    // sbatch --array=0-3: four tasks.
    for id in 0..4 {
        let o = slurm_task(&root, "4", id, 0, 3);
        assert!(o.status.success(), "task {id}: {}", String::from_utf8_lossy(&o.stderr));
    }
    // Task 2 was pre-empted after some points: `sbatch --array=2` re-runs
    // it alone — an array of one (COUNT 1, MIN = MAX = 2) — and it resumes.
    let kept = root.join("shard-2/points/p0000002.json");
    let before = std::fs::read(&kept).unwrap();
    std::fs::remove_file(root.join("shard-2/points/p0000006.json")).unwrap();
    let o = slurm_task(&root, "4", 2, 2, 2);
    assert!(o.status.success(), "retry: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&kept).unwrap(), before, "a finished point was recomputed");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("shard-2/sweep.json")).unwrap()).unwrap();
    assert_eq!(manifest["shard"], serde_json::json!({"index": 2, "count": 4}));
    // The merge job's command, then the same sweep unsharded: equal.
    let merged = root.join("merged");
    let shard_dirs: Vec<PathBuf> = (0..4).map(|i| root.join(format!("shard-{i}"))).collect();
    tenantsim()
        .arg("merge")
        .args(&shard_dirs)
        .args(["--out", merged.to_str().unwrap(), "--quiet", "--no-report"])
        .assert()
        .success();
    let whole = root.join("whole");
    tenantsim()
        .arg("sweep")
        .arg(repo("scenarios/examples/pool-exhaustion.toml"))
        .args(SLURM_PARAMS.split_whitespace())
        .args(["--out", whole.to_str().unwrap(), "--quiet", "--no-report"])
        .assert()
        .success();
    for f in ["results.csv", "tiers.csv"] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(whole.join(f)).unwrap(),
            "{f}"
        );
    }
    // A task id beyond SHARDS, and no SHARDS at all: refused, nothing run.
    let o = slurm_task(&root.join("bad"), "4", 4, 0, 4);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHARDS=4"));
    let o = slurm_task(&root.join("none"), "", 0, 0, 3);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("set SHARDS"));
    let o = slurm_task(&root.join("words"), "four", 0, 0, 3);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHARDS=four"));
    for d in ["bad", "none", "words"] {
        assert!(!root.join(d).exists(), "{d}: something was written");
    }
}

#[test]
fn the_dockerfile_pins_the_toolchain_and_runs_as_a_non_root_user() {
    let docker = std::fs::read_to_string(repo("deploy/Dockerfile")).unwrap();
    let froms: Vec<&str> = docker
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let rust = froms
        .iter()
        .find(|f| f.starts_with("rust:"))
        .expect("a rust build stage");
    let version = rust["rust:".len()..].split('-').next().unwrap();
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("{rust}: not an exact version")))
        .collect();
    assert_eq!(parts.len(), 3, "{rust}: pin major.minor.patch");
    // At least the workspace's rust-version.
    let cargo: toml::Table = toml::from_str(&std::fs::read_to_string(repo("Cargo.toml")).unwrap()).unwrap();
    let msrv = cargo["workspace"]["package"]["rust-version"].as_str().unwrap();
    let msrv: Vec<u32> = msrv.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(parts[..2] >= msrv[..2], "{rust} is older than rust-version {msrv:?}");
    assert!(docker.contains("--locked"), "the build uses Cargo.lock");
    // The final stage switches to a user that is not root.
    let final_stage = &docker[docker.rfind("\nFROM ").unwrap()..];
    let user = final_stage
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER in the final stage");
    let uid = user.split(':').next().unwrap().trim();
    assert!(uid != "root" && uid != "0", "USER {user}");
    // The Kubernetes pods' fsGroup is that user's group, so it can write /results.
    let (_, docs) = manifest();
    let gid = user.split(':').nth(1).unwrap_or(uid).trim();
    for job in docs.iter().filter(|d| kind(d) == "Job") {
        let fs_group = at(job, "spec.template.spec.securityContext.fsGroup").and_then(text);
        assert_eq!(fs_group, Some(gid), "{}: fsGroup", name(job));
    }
}
