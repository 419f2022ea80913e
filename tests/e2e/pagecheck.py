"""Looking at a page as a user would: a screenshot, no sideways scrolling, labelled fields, axe-core.

axe-core comes from the registry package axe-playwright-python (it ships axe.min.js); critical and
serious violations fail, moderate and minor ones are reported beside the screenshots.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FAILING_IMPACTS = ("critical", "serious")

# Fields whose name comes only from aria-label or a placeholder have no label a sighted user sees.
UNLABELLED_FIELDS = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => el.type !== "hidden")
  .filter((el) => {
    const byLabel = Array.from(el.labels || []).some((label) => label.textContent.trim());
    const byIds = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
      .some((id) => (document.getElementById(id)?.textContent || "").trim());
    return !(byLabel || byIds);
  })
  .map((el) => el.outerHTML.slice(0, 200))"""

# The page's width against the window, and the outermost elements sticking out past its right edge.
OVERFLOW = """(width) => {
  const widest = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  const limit = Math.min(width, window.innerWidth);
  if (widest <= limit) return null;
  const out = (el) => el && el.getBoundingClientRect().right > limit + 0.5;
  const culprits = Array.from(document.body.querySelectorAll("*"))
    .filter((el) => out(el) && !out(el.parentElement))
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className
      === "string" ? "." + el.className.trim().replace(/\\s+/g, ".") : ""} (right ${Math.round(
      el.getBoundingClientRect().right)}px)`);
  return { widest, limit, culprits };
}"""


def _axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@dataclass
class Survey:
    """Walks pages and collects what is wrong with them; screenshots go to `folder`/<size>/."""

    folder: Path
    problems: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # moderate and minor axe findings, not failures
    pages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.axe = _axe()

    def checker(self, page, size: str, width: int) -> Callable[[str], None]:
        """`check(name)` for one tab at one window size."""
        return lambda name: self.check(page, name, size, width)

    def check(self, page, name: str, size: str, width: int, rules_off: tuple[str, ...] = ()) -> None:
        """Screenshot the page as it is now, then look for the problems a user would meet (`rules_off`: axe
        rules a caller has a stated reason to skip)."""
        where = f"{size}/{name} ({page.url})"
        self.pages.append(where)
        shot = self.folder / size / f"{len(self.pages):02d}-{name}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0, shot

        overflow = page.evaluate(OVERFLOW, width)
        if overflow:
            self.problems.append(f"{where}: scrolls sideways, {overflow['widest']}px wide in a "
                                 f"{overflow['limit']}px window; sticking out: {', '.join(overflow['culprits'])}")
        for html in page.evaluate(UNLABELLED_FIELDS):
            self.problems.append(f"{where}: form field without a label: {html}")

        options = {"resultTypes": ["violations"], "rules": {rule: {"enabled": False} for rule in rules_off}}
        results = self.axe.run(page, options=options).response
        assert results["passes"], f"{where}: axe-core checked nothing"
        for violation in results["violations"]:
            targets = "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:5])
            text = f"{where}: axe {violation['id']} ({violation['impact']}): {violation['help']} -> {targets}"
            (self.problems if violation["impact"] in FAILING_IMPACTS else self.remarks).append(text)

    def write_report(self) -> Path:
        report = self.folder / "report.json"
        report.write_text(json.dumps({"pages": self.pages, "problems": self.problems, "remarks": self.remarks},
                                     ensure_ascii=False, indent=2), encoding="utf-8")
        return report
