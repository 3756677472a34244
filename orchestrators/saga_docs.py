"""Render the step table for the README, so the docs are generated from `ORDER_SAGA` and a
test fails when they drift apart. `python -m orchestrators.saga_docs` prints both blocks."""

from __future__ import annotations

from orchestrators.saga_steps import ORDER_SAGA, SagaStep, StepKind


def markdown_table(steps: tuple[SagaStep, ...] = ORDER_SAGA) -> str:
    rows = ["| # | step | kind | retry | does | undo (pushed before the step runs) |",
            "|---|------|------|-------|------|------|"]
    for number, step in enumerate(steps, start=1):
        undo = f"`{step.undo}`: {step.undoes}" if step.undo else "—"
        kind = f"**{step.kind.value}**" if step.kind is StepKind.PIVOT else step.kind.value
        retry = step.retry.value + (", timed" if step.timed else "")
        rows.append(f"| {number} | `{step.activity}` | {kind} | {retry} | {step.does} | {undo} |")
    return "\n".join(rows)


def mermaid_flow(steps: tuple[SagaStep, ...] = ORDER_SAGA) -> str:
    lines = ["flowchart LR"]
    for index, step in enumerate(steps):
        shape = f"{{{{{step.name}}}}}" if step.kind is StepKind.PIVOT else f"[{step.name}]"
        lines.append(f"  S{index}{shape}")
        if index:
            lines.append(f"  S{index - 1} --> S{index}")
    for index, step in enumerate(steps):
        if step.undo:
            lines.append(f"  S{index} -. on failure .-> U{index}([{step.undo}])")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
    print()
    print("```mermaid\n" + mermaid_flow() + "\n```")
