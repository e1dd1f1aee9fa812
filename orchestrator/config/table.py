"""The README's configuration table, generated from the settings model so the two cannot drift.

`python -m orchestrator.config.table README.md` rewrites the table between its markers; a test fails when the
README is out of step.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from orchestrator.config.settings import Settings, env_var_for

__all__ = ["BEGIN", "END", "render_table", "update_readme"]

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"


def _default_text(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list):
        return "`[]`" if not value else f"`{value}`"
    return f"`{value}`"


def render_table() -> str:
    """Markdown table: setting path, environment variable, default, meaning."""
    rows = ["| Setting | Environment variable | Default | Meaning |", "|---|---|---|---|"]
    for group_name, group_field in Settings.model_fields.items():
        group_cls = group_field.annotation
        assert isinstance(group_cls, type) and issubclass(group_cls, BaseModel)
        for name, field in group_cls.model_fields.items():
            path = f"{group_name}.{name}"
            default = "unset" if group_name == "secrets" else _default_text(field.default)
            meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
            rows.append(f"| `{path}` | `{env_var_for(path)}` | {default} | {meaning} |")
    return "\n".join(rows)


def update_readme(readme: Path) -> bool:
    """Rewrite the table in `readme`; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{render_table()}\n{END}{tail}"
    if new == text:
        return False
    readme.write_text(new, encoding="utf-8")
    return True


if __name__ == "__main__":
    changed = update_readme(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    print("README table updated" if changed else "README table already up to date")
