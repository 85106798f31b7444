"""Analyst command line: simulate, import panels, train, evaluate, list, activate, roll back, shadow, backtest."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from services.analytics import registry
from services.analytics.jobs import TrainRequest, run_training
from services.analytics.simulator import SimConfig
from services.common import topics
from services.common.months import month_shift
from services.common.settings import ScoringSettings


def _settings() -> ScoringSettings:
    return ScoringSettings()


def _simulate(args: argparse.Namespace) -> None:
    from services.analytics.history import write_simulation
    from services.analytics.publish import to_ingest, to_kafka

    start = args.start
    if start is None:  # offline: a fixed, reproducible history; sent to a live system: one that has already happened
        live = args.ingest_url or args.kafka
        start = month_shift(datetime.now(UTC).strftime("%Y-%m"), -args.months - 2) if live else "2025-01"
    config = SimConfig(households=args.households, seed=args.seed, start=start, months=args.months)
    if args.ingest_url:
        print(json.dumps(to_ingest(config, args.ingest_url, args.ingest_key, progress=True)))
    elif args.kafka:
        print(json.dumps(to_kafka(config, _settings().kafka_bootstrap_servers, progress=True)))
    else:
        counts = write_simulation(config, Path(args.out), Path(args.labels))
        print(json.dumps(counts))


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


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
        labels=args.labels,
        train_until=args.train_until,
        test_from=args.test_from,
        max_rejects=args.max_rejects,
        policy_dir=args.policy_dir,
        kinds=args.kinds.split(","),
        C=_floats(args.C),
        learning_rate=args.learning_rate,
        max_leaf_nodes=_ints(args.max_leaf_nodes),
        min_samples_leaf=args.min_samples_leaf,
        l2_regularization=args.l2_regularization,
        bootstrap=args.bootstrap,
    )
    started = time.perf_counter()
    manifest, report = run_training(request, _settings(), args.by, progress=True)
    print(f"registered {manifest.version} ({manifest.model_kind}) in {time.perf_counter() - started:.0f} s; "
          f"report: {report}")  # fmt: skip
    print(f"validation: {manifest.data_window}")
    print(json.dumps(manifest.metrics, indent=2))
    if args.test_from:
        folder = report.parent / "evaluations" / f"from-{args.test_from}"
        print(f"out of time from {args.test_from} (report: {folder / 'report.md'}):")
        print(json.dumps(json.loads((folder / "summary.json").read_text(encoding="utf-8"))["scorers"], indent=2))


def _evaluate(args: argparse.Namespace) -> None:
    from services.analytics.jobs import request_histories
    from services.analytics.labels import Labels, read_outcomes
    from services.analytics.out_of_time import evaluate_period, save_evaluation
    from services.analytics.training_set import later_cutoffs
    from services.common.policy import PolicyBook

    settings = _settings()
    labels = Labels(item for path in args.labels for item in read_outcomes(Path(path)))
    if args.at:
        cutoffs = sorted({date.fromisoformat(day.strip()) for part in args.at for day in part.split(",") if day})
    elif args.test_from:
        cutoffs = later_cutoffs(labels, args.test_from)
    else:
        raise ValueError("say when: --at DATE[,DATE…] (cut-offs) or --test-from DATE (every labelled cut-off after)")
    request = TrainRequest(events=args.events, from_kafka=args.from_kafka, kafka_topic=args.kafka_topic,
                           max_rejects=args.max_rejects)  # fmt: skip
    histories = request_histories(request, settings)
    policies = PolicyBook.load(Path(args.policy_dir) if args.policy_dir else settings.policy_dir)
    result = evaluate_period(settings.model_dir, args.model, histories, labels, cutoffs, policies, args.bootstrap)
    folder = Path(args.out) if args.out else settings.model_dir / args.model / "evaluations" / f"at-{cutoffs[0]}"
    found = save_evaluation(result, folder)
    print(json.dumps(found, indent=2, ensure_ascii=False))
    print(f"report: {folder / 'report.md'}")


def _import_panel(args: argparse.Namespace) -> None:
    from services.analytics.panel import PanelMapping, import_panel

    settings = _settings()
    counts = import_panel(
        Path(args.file), PanelMapping.load(Path(args.mapping)), Path(args.out), Path(args.labels),
        Path(args.policy_dir) if args.policy_dir else settings.policy_dir,
        Path(args.policy_out) if args.policy_out else None, args.max_rejects,
    )  # fmt: skip
    print(json.dumps(counts, indent=2))


def _labels(args: argparse.Namespace) -> None:
    from services.analytics.jobs import read_json_lines
    from services.analytics.labels import verdict_outcomes, write_outcomes
    from services.common.kafka import TopicToEnd

    if args.from_kafka:
        docs = [json.loads(raw) for raw in TopicToEnd(_settings().kafka_bootstrap_servers, args.kafka_topic)]
    elif args.verdicts:
        docs = read_json_lines(Path(args.verdicts))
    else:
        raise ValueError("convert what: --verdicts FILE or --from-kafka (alerts.changes)")
    print(json.dumps({"labels": write_outcomes(Path(args.out), verdict_outcomes(docs)), "out": args.out}))


def _dev_data(args: argparse.Namespace) -> None:
    from services.analytics.devdata import write_wage_panel

    print(json.dumps({"rows": write_wage_panel(Path(args.out)), "out": args.out}))


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


def _history_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--labels", action="append", default=[], help="labels file (CSV/JSONL); repeatable")
    command.add_argument("--max-rejects", type=int, default=0, help="invalid records that may be left out and listed")
    command.add_argument("--policy-dir", help="policy folder (default POLICY_DIR)")
    command.add_argument("--bootstrap", type=int, default=200, help="bootstrap rounds of the intervals")


def parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands)."""
    root = argparse.ArgumentParser(prog="python -m services.analytics.cli", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("simulate", help="simulate households: JSONL + truth, or to ingest / Kafka")
    sim.add_argument("--households", type=int, default=1000)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument(
        "--start", help="first month (default 2025-01; to ingest or Kafka: the --months months ended two months ago)"
    )
    sim.add_argument("--months", type=int, default=24)
    sim.add_argument("--out", default="events.jsonl")
    sim.add_argument("--labels", default="labels.csv", help="labels file (CSV or JSONL): below/above the line monthly")
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
    _history_options(tr)
    tr.add_argument("--truth", help="the simulator's former truth JSONL, read as labels")
    tr.add_argument("--verdicts", help="township verdicts JSONL {household_id, decided_at, verdict}, read as labels")
    tr.add_argument("--train-until", type=date.fromisoformat, help="learn only from outcomes up to this date")
    tr.add_argument("--test-from", type=date.fromisoformat, help="then evaluate out of time from this date")
    tr.add_argument("--kinds", default="logistic,boosting", help="model kinds that compete (comma-separated)")
    tr.add_argument("--C", default="0.01,0.1,1", help="logistic regression: inverse L2 strengths to compare")
    tr.add_argument("--learning-rate", type=float, default=0.05, help="boosting: shrinkage")
    tr.add_argument("--max-leaf-nodes", default="4,8", help="boosting: leaves per tree to compare")
    tr.add_argument("--min-samples-leaf", type=int, default=0, help="boosting: rows a leaf needs (0: 2%% of rows)")
    tr.add_argument("--l2-regularization", type=float, default=1.0, help="boosting: L2 penalty on leaf values")
    tr.add_argument("--version")
    tr.add_argument("--by", default="analyst.cli")
    tr.add_argument("--activate", action="store_true")
    tr.add_argument("--compare-active", action="store_true", help="evaluate the active model too (reads Kafka)")
    tr.add_argument("--max-iter", type=int, default=200, help="boosting: trees")
    tr.add_argument("--workers", type=int, default=2)
    tr.set_defaults(run=_train)
    ev = commands.add_parser("evaluate", help="score a later period with a version as the stream would; baselines")
    ev.add_argument("--model", required=True, help="the registered version")
    ev.add_argument("--events", help="history export (JSONL of CloudEvents or canonical messages)")
    ev.add_argument("--from-kafka", action="store_true", help="read the history from Kafka (kafka-python)")
    ev.add_argument("--kafka-topic", default=topics.CANONICAL)
    _history_options(ev)
    ev.add_argument("--at", action="append", help="cut-off date(s), YYYY-MM-DD, comma-separated or repeated")
    ev.add_argument("--test-from", type=date.fromisoformat, help="every labelled cut-off whose horizon starts then")
    ev.add_argument("--out", help="report folder (default: MODEL_DIR/VERSION/evaluations/at-FIRST-CUT-OFF)")
    ev.set_defaults(run=_evaluate)
    imp = commands.add_parser("import-panel", help="a household panel file → v1 events JSONL and labels")
    imp.add_argument("file", help="CSV, XLSX or JSONL: one row per household and period")
    imp.add_argument("--mapping", required=True, help="panel mapping TOML (deploy/mappings/panels/)")
    imp.add_argument("--out", default="events.jsonl")
    imp.add_argument("--labels", default="labels.csv")
    imp.add_argument("--policy-dir", help="policy folder in force (default POLICY_DIR)")
    imp.add_argument("--policy-out", help="write the mapping's [line] as a policy folder here, and label with it")
    imp.add_argument("--max-rejects", type=int, default=0, help="rows that may be rejected before the import stops")
    imp.set_defaults(run=_import_panel)
    lab = commands.add_parser("labels", help="township verdicts (JSONL or alerts.changes) → labels file")
    lab.add_argument("--verdicts", help="JSONL {household_id, decided_at, verdict}")
    lab.add_argument("--from-kafka", action="store_true", help="read confirm/dismiss changes from Kafka")
    lab.add_argument("--kafka-topic", default="alerts.changes")
    lab.add_argument("--out", default="verdicts.csv")
    lab.set_defaults(run=_labels)
    dev = commands.add_parser("dev-data", help="write a real development panel shipped by a package")
    dev.add_argument("name", choices=["wage-panel"], help="wage-panel: NLSY 1980-87 (linearmodels)")
    dev.add_argument("--out", default="wage_panel.csv")
    dev.set_defaults(run=_dev_data)
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
    except (registry.RegistryError, KeyError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
