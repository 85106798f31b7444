"""Analyst command line: simulate, train, list, activate, roll back, shadow-compare and backtest models."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from services.analytics import registry
from services.analytics.jobs import TrainRequest, run_training
from services.analytics.simulator import SimConfig
from services.common import topics
from services.common.settings import ScoringSettings


def _settings() -> ScoringSettings:
    return ScoringSettings()


def _simulate(args: argparse.Namespace) -> None:
    from services.analytics.history import write_simulation
    from services.analytics.publish import to_ingest, to_kafka

    config = SimConfig(households=args.households, seed=args.seed, start=args.start, months=args.months)
    if args.ingest_url:
        print(json.dumps(to_ingest(config, args.ingest_url, args.ingest_key, progress=True)))
    elif args.kafka:
        print(json.dumps(to_kafka(config, _settings().kafka_bootstrap_servers, progress=True)))
    else:
        counts = write_simulation(config, Path(args.out), Path(args.truth))
        print(json.dumps(counts))


def _train(args: argparse.Namespace) -> None:
    request = TrainRequest(
        households=args.households,
        seed=args.seed,
        events=args.events,
        truth=args.truth,
        verdicts=args.verdicts,
        from_kafka=args.from_kafka,
        kafka_topic=args.kafka_topic,
        version=args.version,
        activate=args.activate,
        compare_active=args.compare_active,
        max_iter=args.max_iter,
        workers=args.workers,
    )
    started = time.perf_counter()
    manifest, report = run_training(request, _settings(), args.by, progress=True)
    print(f"registered {manifest.version} in {time.perf_counter() - started:.0f} s; report: {report}")
    print(json.dumps(manifest.metrics, indent=2))


def _list(args: argparse.Namespace) -> None:
    settings = _settings()
    history = registry.activations(settings.kafka_bootstrap_servers)
    print(json.dumps(registry.listing(settings.model_dir, history), indent=2, ensure_ascii=False))


def _activate(args: argparse.Namespace) -> None:
    settings = _settings()
    done = registry.activate(settings.kafka_bootstrap_servers, settings.model_dir, args.version, args.by)
    print(done.model_dump_json())


def _rollback(args: argparse.Namespace) -> None:
    settings = _settings()
    print(registry.rollback(settings.kafka_bootstrap_servers, settings.model_dir, args.by).model_dump_json())


def _shadow(args: argparse.Namespace) -> None:
    from services.analytics.backtest import shadow

    config = SimConfig(households=args.households, seed=args.seed)
    print(json.dumps(shadow(_settings().model_dir, args.candidate, args.against, config), indent=2))


def _shadow_live(args: argparse.Namespace) -> None:
    from services.analytics.shadow import live_report

    settings = _settings()
    if args.action == "on":
        done = registry.start_shadow(settings.kafka_bootstrap_servers, settings.model_dir, args.version, args.by)
        print(done.model_dump_json())
    elif args.action == "off":
        print(registry.stop_shadow(settings.kafka_bootstrap_servers, args.by).model_dump_json())
    else:
        shadow = registry.active(registry.activations(settings.kafka_bootstrap_servers), "shadow")
        version = args.version or (shadow.version if shadow else None)
        if version is None:
            raise ValueError("no model is in shadow: name the candidate")
        print(json.dumps(live_report(settings.kafka_bootstrap_servers, version), indent=2))


def _backtest(args: argparse.Namespace) -> None:
    from services.analytics.backtest import backtest

    config = SimConfig(households=args.households, seed=args.seed)
    result = backtest(_settings().model_dir, args.model, Path(args.policy_dir), config, args.start, args.end)
    print(json.dumps(result, indent=2))


def parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands)."""
    root = argparse.ArgumentParser(prog="python -m services.analytics.cli", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("simulate", help="simulate households: JSONL + truth, or to ingest / Kafka")
    sim.add_argument("--households", type=int, default=1000)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--start", default="2025-01")
    sim.add_argument("--months", type=int, default=24)
    sim.add_argument("--out", default="events.jsonl")
    sim.add_argument("--truth", default="truth.jsonl")
    sim.add_argument("--ingest-url", help="POST batches to this ingest instead of writing a file")
    sim.add_argument("--ingest-key", default="")
    sim.add_argument("--kafka", action="store_true", help="produce to events.inbound (KAFKA_BOOTSTRAP_SERVERS)")
    sim.set_defaults(run=_simulate)
    tr = commands.add_parser("train", help="build the point-in-time training set, train, evaluate, register")
    tr.add_argument("--households", type=int, default=5000, help="simulate this many (when no --events)")
    tr.add_argument("--seed", type=int, default=7)
    tr.add_argument("--events", help="history export (JSONL of CloudEvents or canonical messages)")
    tr.add_argument("--from-kafka", action="store_true", help="read the history from Kafka (kafka-python)")
    tr.add_argument("--kafka-topic", default=topics.CANONICAL, help="the topic --from-kafka reads")
    tr.add_argument("--truth", help="ground truth JSONL (labels); required with --events / --from-kafka")
    tr.add_argument("--verdicts", help="township verdicts JSONL {household_id, decided_at, verdict}")
    tr.add_argument("--version")
    tr.add_argument("--by", default="analyst.cli")
    tr.add_argument("--activate", action="store_true")
    tr.add_argument("--compare-active", action="store_true", help="evaluate the active model too (reads Kafka)")
    tr.add_argument("--max-iter", type=int, default=200)
    tr.add_argument("--workers", type=int, default=2)
    tr.set_defaults(run=_train)
    commands.add_parser("list", help="registered versions and the active one").set_defaults(run=_list)
    act = commands.add_parser("activate", help="publish an activation of VERSION")
    act.add_argument("version")
    act.add_argument("--by", default="analyst.cli")
    act.set_defaults(run=_activate)
    back = commands.add_parser("rollback", help="re-activate the version active before the current one")
    back.add_argument("--by", default="analyst.cli")
    back.set_defaults(run=_rollback)
    sh = commands.add_parser("shadow", help="score a simulated history with a candidate and the active model")
    sh.add_argument("candidate")
    sh.add_argument("--against", help="version to compare with (default: the active one)")
    sh.add_argument("--households", type=int, default=2000)
    sh.add_argument("--seed", type=int, default=11)
    sh.set_defaults(run=_shadow)
    live = commands.add_parser("shadow-live", help="run a candidate next to the active model in the stream")
    live.add_argument("action", choices=["on", "off", "report"], help="start, stop, or compare from scores.shadow")
    live.add_argument("version", nargs="?", help="the candidate (on; report: default the one in shadow)")
    live.add_argument("--by", default="analyst.cli")
    live.set_defaults(run=_shadow_live)
    bt = commands.add_parser("backtest", help="replay a period with a policy folder and a model version")
    bt.add_argument("--model", required=True)
    bt.add_argument("--policy-dir", default=str(ScoringSettings().policy_dir))
    bt.add_argument("--households", type=int, default=2000)
    bt.add_argument("--seed", type=int, default=11)
    bt.add_argument("--start", default="2025-03")
    bt.add_argument("--end", default="2025-12")
    bt.set_defaults(run=_backtest)
    return root


def main(argv: list[str] | None = None) -> None:
    """Run one command."""
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (registry.RegistryError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
