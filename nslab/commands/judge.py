"""`invoke judge`: a run judged again from its artifacts alone; exits 0 / 1 like `up`, 2 when evidence
changed. With `mutate`, every passed check must also turn to fail on mutated copies of its evidence
(else 1). `invoke up --prove` proves its run with `prove` and `write_judgement` below."""
from __future__ import annotations

from ..errors import ConfigError
from ..paths import artifacts_dir
from .common import console, log


def execute(run: str | None = None, write: bool = False, mutate: bool = False) -> int:
    from ..judge.run import judge_run
    from ..report.compare import resolve_runs
    from ..report.table import print_outcomes
    from ..run.layout import RunView

    specs = [run] if run else []
    paths = resolve_runs(specs, artifacts_dir())
    if len(paths) != 1:
        raise ConfigError(f"'{run}' holds {len(paths)} runs: name one of them")
    try:
        judgement = judge_run(paths[0])
    except ConfigError:
        # Unreadable (a damaged scenario copy, say): still name what changed since the run.
        for problem in RunView(paths[0]).verify().problems():
            console.print(f"[bold red]evidence changed[/] {problem}", soft_wrap=True)
        raise
    print_outcomes(console, judgement.steps, f"{judgement.view.scenario_name}: judged again from "
                                            f"{judgement.view.run_id}")
    for problem in judgement.integrity.problems():
        console.print(f"[bold red]evidence changed[/] {problem}", soft_wrap=True)
    for step in judgement.disagreements:
        where = f"{step.ref.machine} {step.ref.mode}/{step.number:02d}-{step.ref.step_id}"
        for problem in step.attempt_problems or [f"recorded {step.recorded_status}, judged {step.status} "
                                                 f"from the evidence now"]:
            log(f"disagrees with the run: {where}: {problem}")
    if judgement.integrity.ok and not judgement.disagreements:
        log(f"run {judgement.view.run_id}: {judgement.status}; every verdict agrees with the run's own")
    code = judgement.exit_code
    proof = prove(judgement) if mutate else None
    if proof is not None and proof.unshown:
        code = max(code, 1)
    if write:
        write_judgement(judgement, proof)
    return code


def prove(judgement):
    """Mutation proof of a judged run, printed per lab; every check that stayed green named."""
    from ..judge.prove import prove_run

    proof = prove_run(judgement)
    for machine, (tried, shown) in proof.per_machine().items():
        log(f"{judgement.view.scenario_name} on {machine}: {tried} checks tried, {shown} shown able to fail")
    for step, check in proof.unshown:
        console.print(f"[bold red]cannot fail[/] {step.machine} {step.mode}/{step.number:02d}-{step.ref.step_id}: "
                      f"{check.check}: {check.why_not()}", soft_wrap=True)
    return proof


def write_judgement(judgement, proof=None) -> None:
    from ..judge import judgement_file

    log(f"wrote {judgement_file.write_judgement(judgement, proof)}")
