"""Dependencies point one way: dimse imports ris, ris never imports dimse."""

import ast
from pathlib import Path

RIS = Path(__file__).resolve().parent.parent / "ris"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_ris_never_imports_dimse():
    offenders = [
        str(path.relative_to(RIS.parent))
        for path in RIS.rglob("*.py")
        if any(m == "dimse" or m.startswith("dimse.") for m in imported_modules(path))
    ]
    assert offenders == []


def test_dicom_helpers_touch_no_database_and_no_domain():
    """ris/dicom is pure: model field and lookup definitions at most, no
    connections or transactions, and nothing of the domain apps."""
    for path in (RIS / "dicom").rglob("*.py"):
        for module in imported_modules(path):
            assert module == "django.db.models" or not module.startswith("django.db"), path
            assert not module.startswith("ris.") or module.startswith("ris.dicom"), path
            assert not (module + ".").startswith("dimse."), path
