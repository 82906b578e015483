"""gcloud deployment derived from the topology: prints (or runs) the commands.

    python -m infra.deploy --project P [--region europe-west1] [--allow-non-eu] [--execute]

One runtime service account per service; secrets granted per secret to their
one owner; push subscriptions with OIDC identity, retry and dead-letter
policies; scheduler jobs with OIDC; every service deployed
--no-allow-unauthenticated except the API. Deployments default to
europe-west1; any region outside the EU needs --allow-non-eu (EU residency).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from shared.topology import Topology, load_topology

EU_REGIONS = {"europe-west1", "europe-west3", "europe-west4", "europe-west9", "europe-north1",
              "europe-central2", "europe-southwest1", "europe-west8", "europe-west10",
              "europe-west12"}


class ResidencyError(ValueError):
    pass


def commands(topology: Topology, project: str, region: str, allow_non_eu: bool) -> list[list[str]]:
    if region not in EU_REGIONS and not allow_non_eu:
        raise ResidencyError(f"region {region} is outside the EU; pass --allow-non-eu to override")
    cmds: list[list[str]] = []

    def sa(identity: str) -> str:
        return f"{topology.identities.get(identity, identity)}@{project}.iam.gserviceaccount.com"

    url = {name: f"https://{name}-{project}.{region}.run.app" for name in topology.services}
    for identity in [*topology.services, *topology.identities]:
        name = topology.identities.get(identity, identity)
        cmds.append(["gcloud", "iam", "service-accounts", "create", name, "--project", project])
    for secret in topology.secrets:
        cmds.append(["gcloud", "secrets", "create", secret, "--project", project,
                     "--replication-policy", "user-managed", "--locations", region])
        for owner in topology.secret_owners(secret):
            cmds.append(["gcloud", "secrets", "add-iam-policy-binding", secret, "--project",
                         project, "--member", f"serviceAccount:{sa(owner)}",
                         "--role", "roles/secretmanager.secretAccessor"])
    for name, service in topology.services.items():
        public = any(r.kind == "public" for r in service.routes)
        secrets = ",".join(f"/secrets/{s}={s}:latest" for s in service.secrets)
        deploy = ["gcloud", "run", "deploy", name, "--project", project, "--region", region,
                  "--image", f"{region}-docker.pkg.dev/{project}/coax/{name}",
                  "--service-account", sa(name),
                  "--set-env-vars", f"COAX_ENV=cloud,COAX_PUSH_AUDIENCE={url[name]}",
                  "--allow-unauthenticated" if public else "--no-allow-unauthenticated"]
        if secrets:
            deploy += ["--set-secrets", secrets]
        cmds.append(deploy)
        invokers = {"pubsub-push"} if topology.subscriptions_for(name) else set()
        invokers |= {"scheduler"} if any(s.service == name for s in
                                         topology.schedules.values()) else set()
        invokers |= set(service.callers)
        for invoker in sorted(invokers):
            cmds.append(["gcloud", "run", "services", "add-iam-policy-binding", name, "--project",
                         project, "--region", region, "--member", f"serviceAccount:{sa(invoker)}",
                         "--role", "roles/run.invoker"])
    for topic in [*topology.topics, *topology.dead_letter_topics()]:
        cmds.append(["gcloud", "pubsub", "topics", "create", topic, "--project", project,
                     "--message-storage-policy-allowed-regions", region])
    for topic in topology.topics:
        cmds.append(["gcloud", "pubsub", "subscriptions", "create", f"{topic}-dead-letter-sub",
                     "--project", project, "--topic", f"{topic}-dead-letter"])
    for name, sub in topology.subscriptions.items():
        cmds.append(["gcloud", "pubsub", "subscriptions", "create", name, "--project", project,
                     "--topic", sub.topic, "--push-endpoint", url[sub.service] + sub.path,
                     "--push-auth-service-account", sa("pubsub-push"),
                     "--push-auth-token-audience", url[sub.service],
                     "--ack-deadline", str(sub.ack_deadline_s),
                     "--min-retry-delay", f"{sub.retry.min_s}s",
                     "--max-retry-delay", f"{sub.retry.max_s}s",
                     "--dead-letter-topic", sub.dead_letter_topic,
                     "--max-delivery-attempts", str(sub.max_delivery_attempts)])
    for name, job in topology.schedules.items():
        cmds.append(["gcloud", "scheduler", "jobs", "create", "http", name, "--project", project,
                     "--location", region, "--schedule", job.cron, "--time-zone", job.time_zone,
                     "--uri", url[job.service] + job.path, "--http-method", "POST",
                     "--oidc-service-account-email", sa("scheduler"),
                     "--oidc-token-audience", url[job.service], "--attempt-deadline", "600s"])
    return cmds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", default=None)
    parser.add_argument("--allow-non-eu", action="store_true")
    parser.add_argument("--execute", action="store_true", help="run the commands (default: print)")
    args = parser.parse_args(argv)
    topology = load_topology()
    try:
        cmds = commands(topology, args.project, args.region or topology.region, args.allow_non_eu)
    except ResidencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for cmd in cmds:
        print(shlex.join(cmd))
        if args.execute:
            subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
