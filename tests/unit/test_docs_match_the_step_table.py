from pathlib import Path

from orchestrators.saga_docs import markdown_table, mermaid_flow

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_shows_the_step_table_the_orchestrator_runs() -> None:
    text = README.read_text()
    block = text[text.index("<!-- saga-table:start -->"):text.index("<!-- saga-table:end -->")]
    assert markdown_table() in block, "regenerate with: python -m orchestrators.saga_docs"
    assert mermaid_flow() in block
